/*
 * Booking: the one loop that turns a plan into appointments, and the plans it runs.
 *
 * Double booking. A plan picks slots from a snapshot loaded in this transaction, but another
 * instance (another partition: children of one MTU arrive keyed by their own case ids) may book
 * the same therapist or room concurrently. The EXCLUDE constraints stand in the way of the
 * second insert (PostgreSQL makes it wait for the first transaction; if that one committed,
 * the insert, ON CONFLICT DO NOTHING, inserts nothing). ccs_sched__book then plans again on a
 * fresh snapshot: the next statement sees the committed booking (READ COMMITTED), so the retry
 * picks another slot without throwing away the rest of the batch. A booking of one row (an
 * evaluation, a session: the hot path) has nothing to undo; several rows (a series) or an
 * `after` step (a conference's physician) take a savepoint before the inserts and roll back
 * to it. After booking.retries conflicts in a row (a hot MTU under heavy contention) the
 * message is treated as transient: the batch rolls back and is retried from PostgreSQL's
 * offset, which is always correct, only slower.
 *
 * Appointment ids are UUIDv5 of the input and "appointment.<kind>[.<n>]", so a replay books
 * byte-identical appointments.
 */
#include <stdint.h>
#include <string.h>

#include "ccs/log.h"
#include "sched_internal.h"

static int sp(req *q, ccs_sched_store_sp op)
{
	return ccs_sched_store_savepoint(q->tx, "book", op, q->err);
}

/* ---- the batch's snapshots (ccs_sched_batch) -------------------------------------------------- */

struct ccs_sched_snap {
	ccs_date from, to;     /* the window read; bookings added since may fall anywhere */
	ccs_sched_store_mtu m; /* m.snap.appts is appts */
	ccs_sched_appt *appts;
	size_t cap;
};

static struct ccs_sched_snap *snap_find(ccs_sched_batch *b, const char *mtu_id)
{
	for (size_t i = 0; i < b->n_snaps; i++)
		if (strcmp(b->snaps[i].m.mtu_id, mtu_id) == 0)
			return &b->snaps[i];
	return NULL;
}

void ccs_sched__snap_drop(req *q, const char *mtu_id)
{
	if (!q->b)
		return;
	if (!mtu_id) {
		q->b->n_snaps = 0;
		return;
	}
	struct ccs_sched_snap *e = snap_find(q->b, mtu_id);
	if (e)
		*e = q->b->snaps[--q->b->n_snaps];
}

/* The MTU as this transaction sees it, covering [from, to]: the batch's copy, else read (in
 * the batch arena: it lives as long as the batch). */
static int snap_get(req *q, const char *mtu_id, ccs_date from, ccs_date to, ccs_sched_store_mtu *m,
		    int *found)
{
	ccs_sched_batch *b = q->b;
	struct ccs_sched_snap *e = snap_find(b, mtu_id);
	int rc;

	*found = 1;
	if (e && e->from <= from && e->to >= to) {
		*m = e->m;
		return 0;
	}
	if (e) { /* a wider window: read the union again */
		from = e->from < from ? e->from : from;
		to = e->to > to ? e->to : to;
		ccs_sched__snap_drop(q, mtu_id);
	}
	if ((rc = ccs_sched_store_load_mtu(q->tx, q->a, mtu_id, NULL, NULL, from, to, m, found, q->err)) !=
		    0 ||
	    !*found)
		return rc;
	if (b->n_snaps == b->cap_snaps) {
		size_t cap = b->cap_snaps ? 2 * b->cap_snaps : 16;
		struct ccs_sched_snap *n = ccs_arena_alloc(q->a, cap * sizeof(*n));
		if (b->n_snaps)
			memcpy(n, b->snaps, b->n_snaps * sizeof(*n));
		b->snaps = n;
		b->cap_snaps = cap;
	}
	e = &b->snaps[b->n_snaps++];
	*e = (struct ccs_sched_snap){from, to, *m, (ccs_sched_appt *)(uintptr_t)m->snap.appts,
				     m->snap.n_appts};
	return 0;
}

static void snap_push(req *q, struct ccs_sched_snap *e, const ccs_sched_appt *x)
{
	if (e->m.snap.n_appts == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 16;
		ccs_sched_appt *n = ccs_arena_alloc(q->a, cap * sizeof(*n));
		if (e->m.snap.n_appts)
			memcpy(n, e->appts, e->m.snap.n_appts * sizeof(*n));
		e->appts = n;
		e->cap = cap;
		e->m.snap.appts = n;
	}
	e->appts[e->m.snap.n_appts++] = *x;
}

/* A booking of this transaction joins the snapshot of its MTU, and those of the other MTUs
 * that list its therapist (a shared therapist is busy everywhere). */
static void snap_add(req *q, const ccs_sched_store_appt *a)
{
	if (!q->b)
		return;
	ccs_sched_appt x = {a->therapist_id, a->room_id, a->case_id, a->day, a->start_min, a->end_min};
	for (size_t i = 0; i < q->b->n_snaps; i++) {
		struct ccs_sched_snap *e = &q->b->snaps[i];
		if (strcmp(e->m.mtu_id, a->mtu_id) == 0) {
			snap_push(q, e, &x);
			continue;
		}
		for (size_t t = 0; t < e->m.snap.n_therapists; t++)
			if (strcmp(e->m.snap.therapists[t].id, a->therapist_id) == 0) {
				ccs_sched_appt y = {a->therapist_id, NULL,         a->case_id,
						    a->day,          a->start_min, a->end_min};
				snap_push(q, e, &y);
				break;
			}
	}
}

/* The IEP blocks the batch read for child_id; NULL when it is not one of the batch's. */
static const ccs_sched_child *batch_iep(const ccs_sched_batch *b, const char *child_id)
{
	for (size_t i = 0; i < b->n_iep; i++)
		if (strcmp(b->iep[i].child_id, child_id) == 0)
			return &b->iep[i];
	return NULL;
}

/* The snapshot for one attempt: the batch's copy of the MTU when the booking's only child is
 * booked nowhere yet (its IEP blocks read with the batch), else read in full. */
static int snapshot(req *q, const ccs_sched_booking *bk, ccs_sched_store_mtu *m, int *found)
{
	const ccs_sched_child *ch = q->b && bk->child_new && bk->child ? batch_iep(q->b, bk->child->child_id)
								       : NULL;
	int rc;

	if (ch) {
		if ((rc = snap_get(q, bk->mtu_id, bk->from, bk->to, m, found)) != 0)
			return rc;
		m->iep = ch->iep;
		m->n_iep = ch->n_iep;
		return 0;
	}
	return ccs_sched_store_load_mtu(q->tx, q->scratch, bk->mtu_id, bk->case_ids,
					bk->child ? bk->child->child_id : NULL, bk->from, bk->to, m, found,
					q->err);
}

int ccs_sched__book(req *q, const ccs_sched_booking *bk, ccs_sched_booked *out)
{
	ccs_sched_store_mtu m;
	int rc, found;

	for (int attempt = 0; attempt < q->s->retries; attempt++) {
		memset(out, 0, sizeof(*out));
		if ((rc = snapshot(q, bk, &m, &found)) != 0)
			return rc;
		if (!found)
			return ccs_svc_poison(q->err, "validation", "unknown mtu %s", bk->mtu_id);
		if (bk->child) {
			bk->child->iep = m.iep;
			bk->child->n_iep = m.n_iep;
		}
		if ((rc = bk->plan(q, bk->arg, &m, out)) != 0)
			return rc;
		if (!out->found)
			return 0;
		int undo = out->n > 1 || bk->after, conflict = 0;
		if (undo && (rc = sp(q, CCS_SCHED_SP_TAKE)) != 0)
			return rc;
		for (size_t i = 0; i < out->n && !conflict; i++)
			if ((rc = ccs_sched_store_insert_appt(q->tx, &out->appts[i], q->event_id, &conflict,
							      q->err)) != 0)
				return rc;
		if (!conflict && bk->after && (rc = bk->after(q, bk->arg, out, &conflict)) != 0)
			return rc;
		if (!conflict) {
			for (size_t i = 0; i < out->n; i++)
				snap_add(q, &out->appts[i]);
			return undo ? sp(q, CCS_SCHED_SP_RELEASE) : 0;
		}
		/* Another transaction booked there meanwhile: the batch's copy is out of date. */
		ccs_sched__snap_drop(q, bk->mtu_id);
		ccs_metric_add(q->s->m_conflicts, 1);
		CCS_LOG_INFO("booking conflict, searching again", "event_id", CCS_LOG_S(q->event_id),
			     "mtu_id", CCS_LOG_S(bk->mtu_id), "attempt", CCS_LOG_I(attempt + 1));
		if (undo &&
		    ((rc = sp(q, CCS_SCHED_SP_ROLLBACK)) != 0 || (rc = sp(q, CCS_SCHED_SP_RELEASE)) != 0))
			return rc;
	}
	memset(out, 0, sizeof(*out));
	return ccs_sched__transient(q, "booking conflicts", bk->mtu_id);
}

static const char *case_array(req *q, const char *case_id)
{
	return ccs_arena_printf(q->a, "{%s}", case_id);
}

static const char *appt_id(req *q, const char *kind)
{
	char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
	ccs_tx_decision_id(q->tx, ccs_arena_printf(q->a, "appointment.%s", kind), id);
	return id;
}

/* ---- one session ---------------------------------------------------------------------------- */

struct single_arg {
	const ccs_sched_single *sg;
	ccs_sched_child child;
	ccs_sched_rules rules;
};

/* The evaluation search finds any single session: the length and window come from the rules. */
static int plan_single(req *q, void *arg, const ccs_sched_store_mtu *m, ccs_sched_booked *out)
{
	struct single_arg *x = arg;
	const ccs_sched_single *sg = x->sg;
	ccs_sched_eval_result res;
	char errbuf[256];
	ccs_sched_snapshot one = m->snap;

	memset(&res, 0, sizeof(res));
	/* Same therapist where possible: a search with only that therapist first. */
	for (int pass = sg->same_therapist ? 0 : 1; pass < 2 && !res.found; pass++) {
		const ccs_sched_snapshot *s = &m->snap;
		if (pass == 0) {
			one.n_therapists = 0;
			for (size_t i = 0; i < m->snap.n_therapists; i++)
				if (strcmp(m->snap.therapists[i].id, sg->same_therapist) == 0) {
					one.therapists = &m->snap.therapists[i];
					one.n_therapists = 1;
				}
			if (!one.n_therapists)
				continue;
			s = &one;
		}
		ccs_sched_eval_request er = {x->child, sg->discipline, sg->eligible_on,
					     q->asof,  sg->not_before, NULL};
		if (ccs_sched_find_evaluation(&x->rules, s, &er, q->scratch, &res, errbuf, sizeof(errbuf)) !=
		    0)
			return ccs_svc_poison(q->err, "validation", "session search: %s", errbuf);
		if (res.found) {
			ccs_sched_store_appt *a = ccs_arena_alloc(q->a, sizeof(*a));
			*a = (ccs_sched_store_appt){appt_id(q, sg->appt_kind),
						    sg->case_id,
						    sg->mtu_id,
						    s->therapists[res.slot.therapist].id,
						    res.slot.room >= 0 ? m->snap.rooms[res.slot.room].id
								       : NULL,
						    sg->discipline,
						    sg->kind,
						    sg->prescription_id,
						    NULL,
						    res.slot.day,
						    res.slot.start_min,
						    res.slot.end_min};
			out->found = 1;
			out->appts = a;
			out->n = 1;
			out->starts_on = res.slot.day;
			return 0;
		}
	}
	out->reason = res.reason;
	return 0;
}

int ccs_sched__book_single(req *q, const ccs_sched_single *sg, ccs_sched_booked *out)
{
	struct single_arg x = {sg, {sg->case_id, NULL, 0}, sg->rules ? *sg->rules : q->s->rules};
	x.rules.eval_minutes = sg->minutes > 0 ? sg->minutes : x.rules.eval_minutes;
	ccs_date to = q->asof + x.rules.horizon_days;
	if (sg->not_after != CCS_DATE_INVALID) {
		/* A window that ends on not_after, searched in full (no service-target cut). */
		x.rules.target_policy = CCS_SCHED_TARGET_REPORT;
		x.rules.horizon_days = (int)(sg->not_after - q->asof);
		if (x.rules.horizon_days < 0)
			x.rules.horizon_days = 0;
		to = sg->not_after;
	}
	ccs_sched_booking bk = {sg->mtu_id,   case_array(q, sg->case_id),
				q->asof,      to,
				plan_single,  NULL,
				&x,           &x.child,
				sg->child_new};
	return ccs_sched__book(q, &bk, out);
}

/* ---- a series ------------------------------------------------------------------------------- */

struct series_arg {
	const ccs_sched_series_req *sr;
	const char *appt_kind;
	ccs_sched_child child;
};

/* Weeks that cannot hold all their sessions book none. */
static int plan_series(req *q, void *arg, const ccs_sched_store_mtu *m, ccs_sched_booked *out)
{
	struct series_arg *x = arg;
	const ccs_sched_series_req *sr = x->sr;
	size_t nslots = (size_t)sr->per_week * (size_t)sr->weeks;
	char errbuf[256];

	ccs_sched_series_request rq = {x->child,  sr->discipline, sr->per_week,
				       sr->weeks, sr->minutes,    sr->start_on,
				       q->asof,   sr->notice_on,  sr->evaluator_id};
	ccs_sched_series_result res;
	memset(&res, 0, sizeof(res));
	res.slots = ccs_arena_alloc(q->a, (nslots + 1) * sizeof(*res.slots));
	res.slots_cap = nslots;
	res.weeks = ccs_arena_alloc(q->a, ((size_t)sr->weeks + 1) * sizeof(*res.weeks));
	res.weeks_cap = (size_t)sr->weeks;
	if (ccs_sched_plan_series(&q->s->rules, &m->snap, &rq, q->scratch, &res, errbuf, sizeof(errbuf)) != 0)
		return ccs_svc_poison(q->err, "validation", "series planning: %s", errbuf);
	if (res.weeks_booked == 0) {
		out->reason = res.n_weeks ? res.weeks[0].status : CCS_SCHED_R_WINDOW_EMPTY;
		return 0;
	}
	ccs_sched_store_appt *ap = ccs_arena_alloc(q->a, (res.n_slots + 1) * sizeof(*ap));
	for (size_t i = 0; i < res.n_slots; i++) {
		const ccs_sched_slot *sl = &res.slots[i];
		ap[i] = (ccs_sched_store_appt){appt_id(q, ccs_arena_printf(q->a, "%s.%zu", x->appt_kind, i)),
					       sr->case_id,
					       sr->mtu_id,
					       m->snap.therapists[sl->therapist].id,
					       sl->room >= 0 ? m->snap.rooms[sl->room].id : NULL,
					       sr->discipline,
					       "therapy",
					       sr->prescription_id,
					       NULL,
					       sl->day,
					       sl->start_min,
					       sl->end_min};
	}
	out->found = 1;
	out->appts = ap;
	out->n = res.n_slots;
	out->starts_on = res.starts_on;
	return 0;
}

int ccs_sched__book_series(req *q, const ccs_sched_series_req *sr, const char *appt_kind,
			   ccs_sched_booked *out)
{
	struct series_arg x = {sr, appt_kind, {sr->case_id, NULL, 0}};
	ccs_date to = (sr->start_on > q->asof ? sr->start_on : q->asof) + 7 * sr->weeks +
		      q->s->rules.plan_change_notice_days * 2 + 14;
	ccs_sched_booking bk = {
		sr->mtu_id, case_array(q, sr->case_id), q->asof, to, plan_series, NULL, &x, &x.child, 0};
	return ccs_sched__book(q, &bk, out);
}

/* Program histogram: days from eligibility to the first evaluation's date (ids-free). */
void ccs_sched__observe_first_evaluation(req *q, ccs_date eligible_on, const ccs_sched_booked *b)
{
	if (!b->found || !b->n || eligible_on == CCS_DATE_INVALID || b->appts[0].day == CCS_DATE_INVALID)
		return;
	if (q->s->m_eval_days)
		ccs_metric_observe(q->s->m_eval_days, (double)(b->appts[0].day - eligible_on));
}

int ccs_sched__emit_evaluation(req *q, const char *case_id, const char *mtu_id, const ccs_sched_booked *b,
			       const char *kind)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__EvaluationBooked *eb = ccs_arena_alloc(q->a, sizeof(*eb));
	ccs__mtp__v1__evaluation_booked__init(eb);
	eb->appointment = ccs_sched__appt_msg(q, &b->appts[0]);
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_EVALUATION_BOOKED;
	d.evaluation_booked = eb;
	return ccs_sched__emit(q, case_id, mtu_id, kind, &d, "evaluation_booked");
}

int ccs_sched__emit_series(req *q, const char *case_id, const char *mtu_id, const char *rx_id,
			   const ccs_sched_booked *b, const char *kind)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__SeriesBooked *sb = ccs_arena_alloc(q->a, sizeof(*sb));
	ccs__mtp__v1__series_booked__init(sb);
	sb->prescription_id = (char *)(uintptr_t)rx_id;
	sb->n_appointments = b->n;
	sb->appointments = ccs_arena_alloc(q->a, (b->n + 1) * sizeof(*sb->appointments));
	for (size_t i = 0; i < b->n; i++)
		sb->appointments[i] = ccs_sched__appt_msg(q, &b->appts[i]);
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_SERIES_BOOKED;
	d.series_booked = sb;
	return ccs_sched__emit(q, case_id, mtu_id, kind, &d, "series_booked");
}

/* ---- a freed slot --------------------------------------------------------------------------- */

static int index_of_therapist(const ccs_sched_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n_therapists; i++)
		if (strcmp(s->therapists[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int index_of_room(const ccs_sched_snapshot *s, const char *id)
{
	for (size_t i = 0; id && i < s->n_rooms; i++)
		if (strcmp(s->rooms[i].id, id) == 0)
			return (int)i;
	return -1;
}

struct reoffer_arg {
	const ccs_sched_store_appt *freed;
	ccs_sched_waitlist_entry *ev;
	ccs_sched_store_wl_row *wv;
	size_t nv;
	size_t chosen;
};

static int plan_reoffer(req *q, void *arg, const ccs_sched_store_mtu *m, ccs_sched_booked *out)
{
	struct reoffer_arg *x = arg;
	const ccs_sched_store_appt *f = x->freed;
	ccs_sched_reoffer_result res;
	char errbuf[256];

	int ti = index_of_therapist(&m->snap, f->therapist_id);
	if (ti < 0) /* the therapist left the MTU's calendar: nothing to offer */
		return 0;
	ccs_sched_slot freed = {f->day, f->start_min, f->end_min, ti, index_of_room(&m->snap, f->room_id)};
	if (ccs_sched_reoffer(&q->s->rules, &m->snap, &q->s->policy, q->asof, &freed, x->ev, x->nv,
			      q->scratch, &res, errbuf, sizeof(errbuf)) != 0)
		return ccs_svc_poison(q->err, "validation", "re-offer: %s", errbuf);
	if (!res.found)
		return 0;
	const ccs_sched_waitlist_entry *e = &x->ev[res.entry];
	const ccs_sched_store_wl_row *w = &x->wv[res.entry];
	int session = strcmp(w->kind, "session") == 0;
	ccs_sched_store_appt *a = ccs_arena_alloc(q->a, sizeof(*a));
	*a = (ccs_sched_store_appt){appt_id(q, ccs_arena_printf(q->a, "reoffer.%s", e->entry_id)),
				    w->case_id,
				    f->mtu_id,
				    f->therapist_id,
				    res.slot.room >= 0 ? m->snap.rooms[res.slot.room].id : NULL,
				    e->discipline,
				    session ? "therapy" : "evaluation",
				    session ? w->prescription_id : NULL,
				    NULL,
				    res.slot.day,
				    res.slot.start_min,
				    res.slot.end_min};
	x->chosen = res.entry;
	out->found = 1;
	out->appts = a;
	out->n = 1;
	out->starts_on = a->day;
	return 0;
}

/*
 * The freed slot goes to the first waitlisted child (policy order) who can use it: the engine's
 * re-offer over the single-slot entries (evaluations and sessions that lost their slot) of that
 * MTU and discipline. Series entries need more than one slot and are retried on calendar
 * changes instead. The re-offer is a decision of this input, kind reoffer.<entry id>.
 */
int ccs_sched__reoffer_freed(req *q, const ccs_sched_store_booked_appt *fa, int *n_booked)
{
	const ccs_sched_store_appt *freed = &fa->a;
	ccs_sched_waitlist_entry *e;
	ccs_sched_store_wl_row *w;
	size_t n;
	int rc;

	*n_booked = 0;
	if (strcmp(freed->kind, "conference") == 0)
		return 0;
	/* Series entries need more than one slot: they are retried on calendar changes instead. */
	rc = ccs_sched__waitlist_load(q, freed->mtu_id, NULL, freed->discipline, 1, (size_t)q->s->reoffer_max,
				      1, &e, &w, &n);
	if (rc || n == 0)
		return rc;
	struct reoffer_arg x = {freed, e, w, n, 0};
	size_t cap = 3;
	for (size_t i = 0; i < x.nv; i++)
		cap += strlen(w[i].case_id) + 1;
	char *ids = ccs_arena_alloc(q->a, cap);
	size_t pos = 0;
	ids[pos++] = '{';
	for (size_t i = 0; i < x.nv; i++)
		pos += (size_t)snprintf(ids + pos, cap - pos, "%s%s", i ? "," : "", x.wv[i].case_id);
	snprintf(ids + pos, cap - pos, "}");

	ccs_sched_booking bk = {freed->mtu_id, ids, q->asof, freed->day + 1, plan_reoffer, NULL, &x, NULL, 0};
	ccs_sched_booked b;
	if ((rc = ccs_sched__book(q, &bk, &b)) != 0 || !b.found)
		return rc;
	const ccs_sched_waitlist_entry *xe = &x.ev[x.chosen];
	const ccs_sched_store_wl_row *xw = &x.wv[x.chosen];
	const char *kind = ccs_arena_printf(q->a, "reoffer.%s", xe->entry_id);
	if ((rc = ccs_sched_store_wl_resolve(q->tx, xe->entry_id, "booked", q->event_id, q->err)) != 0)
		return rc;
	*n_booked = 1;
	if (strcmp(xw->kind, "session") == 0) {
		Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
		Ccs__Mtp__V1__Cancelled *cd = ccs_arena_alloc(q->a, sizeof(*cd));
		ccs__mtp__v1__cancelled__init(cd);
		cd->appointment_id = (char *)(uintptr_t)(xw->appointment_id ? xw->appointment_id : "");
		cd->rebooked_appointment = ccs_sched__appt_msg(q, &b.appts[0]);
		cd->reason_code = "REOFFER";
		d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CANCELLED;
		d.cancelled = cd;
		return ccs_sched__emit(q, xw->case_id, freed->mtu_id, kind, &d, "rebooked");
	}
	return ccs_sched__emit_evaluation(q, xw->case_id, freed->mtu_id, &b, kind);
}
