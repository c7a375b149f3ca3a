/*
 * The waitlist: children waiting for an evaluation, a series, or a single session that lost
 * its slot (closure, therapist hours, IEP block), per MTU and discipline (mtu_id NULL: the
 * county has no MTU). Order is the engine's policy (ccs_sched_wl_policy: at-risk infants,
 * post-surgical, aging out, then first come); waitlisted_ms comes from the input's time, so
 * the order is the same on a replay. PostgreSQL applies the same order (scheduling_store.c,
 * WL_TIER) to count the entries ahead of a new one and to hand out only the first few.
 */
#include <string.h>

#include "sched_internal.h"

/* In the message's scratch: entries and rows live until the next message. PostgreSQL picks the
 * first `max`; the engine's own order is applied again to what came (the rule's authority). */
int ccs_sched__waitlist_load(req *q, const char *mtu_id, const char *county, int discipline, int singles_only,
			     size_t max, int with_iep, ccs_sched_waitlist_entry **entries,
			     ccs_sched_store_wl_row **rows, size_t *n)
{
	ccs_sched_waitlist_entry *e;
	ccs_sched_store_wl_row *w;
	size_t cnt;
	int rc;

	if ((rc = ccs_sched_store_wl_load(q->tx, q->scratch, mtu_id, county, discipline, &q->s->policy,
					  q->asof, singles_only, max, &e, &w, &cnt, q->err)) != 0)
		return rc;
	size_t *order = ccs_arena_alloc(q->scratch, (cnt + 1) * sizeof(*order));
	ccs_sched_waitlist_order(&q->s->policy, q->asof, e, cnt, order);
	ccs_sched_waitlist_entry *se = ccs_arena_alloc(q->scratch, (cnt + 1) * sizeof(*se));
	ccs_sched_store_wl_row *sw = ccs_arena_alloc(q->scratch, (cnt + 1) * sizeof(*sw));
	ccs_sched_child **ch = ccs_arena_alloc(q->scratch, (cnt + 1) * sizeof(*ch));
	for (size_t i = 0; i < cnt; i++) {
		se[i] = e[order[i]];
		sw[i] = w[order[i]];
		ch[i] = &se[i].child;
	}
	if (with_iep && (rc = ccs_sched_store_load_ieps(q->tx, q->scratch, ch, cnt, q->err)) != 0)
		return rc;
	*entries = se;
	*rows = sw;
	*n = cnt;
	return 0;
}

/* Put a child on the waitlist and publish Waitlisted with the position the policy gives. */
int ccs_sched__waitlist_add(req *q, const ccs_sched_wl_add *a)
{
	char entry[CCS_UUID_STRLEN];
	size_t ahead;
	int rc;

	ccs_tx_decision_id(q->tx, ccs_arena_printf(q->a, "waitlist.%s", a->decision_kind), entry);
	ccs_sched_waitlist_entry ne = {entry,         {a->case_id, NULL, 0},
				       a->discipline, a->minutes,
				       a->flags,      a->age_out,
				       q->at_ms,      CCS_DATE_INVALID};
	ccs_sched_store_wl_row nw = {a->kind,   a->prescription_id, a->case_id,
				     a->county, a->appointment_id,  a->mtu_id};
	if ((rc = ccs_sched_store_wl_insert(q->tx, entry, &ne, &nw, a->reason, q->event_id, q->err)) != 0 ||
	    (rc = ccs_sched_store_wl_ahead(q->tx, a->mtu_id, a->county, &q->s->policy, q->asof, &ne, &ahead,
					   q->err)) != 0)
		return rc;
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__Waitlisted *wl = ccs_arena_alloc(q->a, sizeof(*wl));
	ccs__mtp__v1__waitlisted__init(wl);
	wl->position = (uint32_t)(ahead + 1);
	wl->reason_code = (char *)(uintptr_t)a->reason;
	wl->priority = (uint32_t)ccs_sched_waitlist_tier(&q->s->policy, q->asof, &ne);
	wl->prescription_id = (char *)(uintptr_t)(a->prescription_id ? a->prescription_id : "");
	wl->appointment_id = (char *)(uintptr_t)(a->appointment_id ? a->appointment_id : "");
	wl->discipline = (Ccs__Mtp__V1__Discipline)a->discipline;
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_WAITLISTED;
	d.waitlisted = wl;
	return ccs_sched__emit(q, a->case_id, a->mtu_id, a->decision_kind, &d, "waitlisted");
}

/* Rules for a re-offer: the child already waited past the service target, so search to the
 * horizon instead of cutting at the target. */
static ccs_sched_rules reoffer_rules(const ccs_scheduling *s)
{
	ccs_sched_rules r = s->rules;
	r.target_policy = CCS_SCHED_TARGET_REPORT;
	return r;
}

/* One waiting entry, a full search; *booked 1 when it found room. */
static int reoffer_one(req *q, const char *mtu_id, const ccs_sched_waitlist_entry *e,
		       const ccs_sched_store_wl_row *w, const ccs_sched_rules *rr, int *booked)
{
	const char *kind = ccs_arena_printf(q->a, "reoffer.%s", e->entry_id);
	ccs_sched_booked b;
	int rc;

	*booked = 0;
	if (strcmp(w->kind, "series") == 0) {
		ccs_sched_store_rx rx;
		int found;
		if ((rc = ccs_sched_store_rx_get(q->tx, w->prescription_id, &rx, &found, q->err)) != 0)
			return rc;
		if (!found)
			return ccs_svc_poison(q->err, "data", "waitlisted prescription %s is missing",
					      w->prescription_id);
		ccs_sched_series_req sr = {rx.case_id,       mtu_id,   rx.prescription_id, rx.discipline,
					   rx.per_week,      rx.weeks, rx.minutes,         rx.start_on,
					   CCS_DATE_INVALID, NULL};
		if ((rc = ccs_sched__book_series(q, &sr, kind, &b)) != 0)
			return rc;
		if (b.found &&
		    ((rc = ccs_sched_store_rx_set_status(q->tx, rx.prescription_id, "booked", q->err)) != 0 ||
		     (rc = ccs_sched__emit_series(q, w->case_id, mtu_id, rx.prescription_id, &b, kind)) != 0))
			return rc;
	} else {
		int session = strcmp(w->kind, "session") == 0;
		ccs_sched_store_child c;
		int found;
		if ((rc = ccs_sched__child_get(q, w->case_id, 0, &c, &found)) != 0)
			return rc;
		ccs_sched_single sg = {w->case_id,
				       mtu_id,
				       e->discipline,
				       e->minutes,
				       session ? "therapy" : "evaluation",
				       w->prescription_id,
				       c.eligible_on != CCS_DATE_INVALID ? c.eligible_on : q->asof,
				       e->not_before,
				       CCS_DATE_INVALID,
				       NULL,
				       rr,
				       kind,
				       0};
		if ((rc = ccs_sched__book_single(q, &sg, &b)) != 0)
			return rc;
		if (b.found && !session &&
		    (rc = ccs_sched__emit_evaluation(q, w->case_id, mtu_id, &b, kind)) != 0)
			return rc;
		if (b.found && session) {
			Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
			Ccs__Mtp__V1__Cancelled *cd = ccs_arena_alloc(q->a, sizeof(*cd));
			ccs__mtp__v1__cancelled__init(cd);
			cd->appointment_id = (char *)(uintptr_t)(w->appointment_id ? w->appointment_id : "");
			cd->rebooked_appointment = ccs_sched__appt_msg(q, &b.appts[0]);
			cd->reason_code = "REOFFER";
			d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CANCELLED;
			d.cancelled = cd;
			if ((rc = ccs_sched__emit(q, w->case_id, mtu_id, kind, &d, "rebooked")) != 0)
				return rc;
		}
	}
	if (b.found &&
	    (rc = ccs_sched_store_wl_resolve(q->tx, e->entry_id, "booked", q->event_id, q->err)) != 0)
		return rc;
	*booked = b.found;
	return 0;
}

int ccs_sched__reoffer_capacity(req *q, const char *mtu_id, int *n_booked)
{
	ccs_sched_waitlist_entry *e;
	ccs_sched_store_wl_row *w;
	size_t n;
	int rc;

	*n_booked = 0;
	if ((rc = ccs_sched__waitlist_load(q, mtu_id, NULL, 0, 0, (size_t)q->s->reoffer_max, 0, &e, &w,
					   &n)) != 0)
		return rc;
	ccs_sched_rules rr = reoffer_rules(q->s);
	for (size_t i = 0; i < n; i++) {
		int booked;
		if ((rc = reoffer_one(q, mtu_id, &e[i], &w[i], &rr, &booked)) != 0)
			return rc;
		*n_booked += booked;
	}
	return 0;
}
