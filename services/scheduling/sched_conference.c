/*
 * Medical Therapy Conferences (DOMAIN.md section 1.4): the child and family, a therapist of
 * each discipline the child actually receives (a PT-only child needs no OT) and the MTC
 * physician, with optional participants invited where available; at least yearly, every 6
 * months where the plan says so.
 *
 * - A request books the earliest slot where everyone needed is free (the physician's time is
 *   guarded by the conferences table's EXCLUDE constraint), or publishes ConferenceUnscheduled
 *   with the reason: no one waits in a list for a conference.
 * - A child who is not eligible gets a refusal; a child with no therapy booked gets one too.
 * - The conference-due timer fires conference.lead_days before the due date: with the
 *   physician of the child's last conference it proposes a booking (ConferenceScheduled,
 *   proposed), else it publishes ConferenceDue for staff to request one.
 * - An outcome feeds plan changes into the series (each a prescription: the 5-day rule
 *   applies), ends disciplines after the written notice, and turns equipment recommendations
 *   into an EquipmentRecommended decision: evidence for the MTP equipment service line.
 */
#include <string.h>

#include "sched_internal.h"

int ccs_sched__arm_conference_due(req *q, const char *case_id, ccs_date last)
{
	ccs_sched_store_child c;
	int rc, found;
	if ((rc = ccs_sched__child_get(q, case_id, 0, &c, &found)) != 0)
		return rc;
	int months = c.conference_months ? c.conference_months : q->s->conference_interval_months;
	ccs_date due = ccs_sched_policy_conference_due(last, months);
	ccs_date fire = due - q->s->conference_lead_days;
	if (fire <= q->asof)
		fire = q->asof + 1;
	if ((rc = ccs_tx_unschedule(q->tx, "conference.due", case_id)) != 0)
		return rc;
	return ccs_tx_schedule(q->tx, "conference.due", case_id, fire, ccs_sched__date(q, due));
}

static Ccs__Mtp__V1__Participant *participant(req *q, int role, const char *id)
{
	Ccs__Mtp__V1__Participant *p = ccs_arena_alloc(q->a, sizeof(*p));
	ccs__mtp__v1__participant__init(p);
	p->role = (Ccs__Mtp__V1__ParticipantRole)role;
	p->participant_id = (char *)(uintptr_t)(id ? id : "");
	return p;
}

struct conf_arg {
	const char *case_id;
	const char *conference_id;
	const char *physician_id;
	const char *mtu_id;
	ccs_sched_child child;
	ccs_date earliest, latest;
	const char *pt, *ot;
	unsigned need;
	int proposed;
	ccs_sched_conference_result res;
	const char *room;
	const char *therapist[2];
};

static int plan_conference(req *q, void *arg, const ccs_sched_store_mtu *m, ccs_sched_booked *out)
{
	struct conf_arg *x = arg;
	ccs_sched_interval *busy;
	size_t nb;
	char errbuf[256];
	int rc;

	ccs_date from = q->asof,
		 to = x->latest != CCS_DATE_INVALID ? x->latest : q->asof + q->s->rules.horizon_days;
	if ((rc = ccs_sched_store_conf_physician_busy(q->tx, x->physician_id, from, to, &busy, &nb,
						      q->err)) != 0)
		return rc;
	ccs_sched_conference_request cq = {x->child, q->asof, x->earliest, x->latest, x->pt,
					   x->ot,    NULL,    busy,        nb,        x->need};
	if (ccs_sched_find_conference(&q->s->rules, &m->snap, &cq, q->scratch, &x->res, errbuf,
				      sizeof(errbuf)) != 0)
		return ccs_svc_poison(q->err, "validation", "conference search: %s", errbuf);
	if (!x->res.found) {
		out->reason = x->res.reason;
		return 0;
	}
	x->room = x->res.room >= 0 ? m->snap.rooms[x->res.room].id : NULL;
	ccs_sched_store_appt *ap = ccs_arena_alloc(q->a, 2 * sizeof(*ap));
	size_t n = 0;
	int idx[2] = {x->res.pt, x->res.ot};
	for (int k = 0; k < 2; k++) {
		x->therapist[k] = NULL;
		if (idx[k] < 0)
			continue;
		char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
		ccs_tx_decision_id(q->tx,
				   ccs_arena_printf(q->a, "appointment.conference.%s", k ? "ot" : "pt"), id);
		x->therapist[k] = m->snap.therapists[idx[k]].id;
		/* The first row carries the child and the room. */
		ap[n] = (ccs_sched_store_appt){id,
					       n ? NULL : x->case_id,
					       x->mtu_id,
					       x->therapist[k],
					       n ? NULL : x->room,
					       k ? CCS_SCHED_OT : CCS_SCHED_PT,
					       "conference",
					       NULL,
					       x->conference_id,
					       x->res.day,
					       x->res.start_min,
					       x->res.end_min};
		n++;
	}
	out->found = 1;
	out->appts = ap;
	out->n = n;
	out->starts_on = x->res.day;
	return 0;
}

static int after_conference(req *q, void *arg, const ccs_sched_booked *b, int *conflict)
{
	struct conf_arg *x = arg;
	(void)b;
	return ccs_sched_store_conf_insert(q->tx, x->conference_id, x->case_id, x->mtu_id, x->physician_id,
					   x->res.day, x->res.start_min, x->res.end_min, x->need, x->proposed,
					   q->event_id, conflict, q->err);
}

/* Book a conference (request or timer); *outcome says what happened. */
static int book_conference(req *q, struct conf_arg *x, Ccs__Mtp__V1__Participant **optional,
			   size_t n_optional, ccs_date due, const char **outcome)
{
	int rc;

	if ((rc = ccs_sched_store_child_therapist(q->tx, x->case_id, x->mtu_id, CCS_SCHED_PT, 0, &x->pt,
						  q->err)) != 0 ||
	    (rc = ccs_sched_store_child_therapist(q->tx, x->case_id, x->mtu_id, CCS_SCHED_OT, 0, &x->ot,
						  q->err)) != 0)
		return rc;
	ccs_date to = x->latest != CCS_DATE_INVALID ? x->latest : q->asof + q->s->rules.horizon_days;
	ccs_sched_booking bk = {x->mtu_id,
				ccs_arena_printf(q->a, "{%s}", x->case_id),
				q->asof,
				to,
				plan_conference,
				after_conference,
				x,
				&x->child,
				0};
	ccs_sched_booked b;
	if ((rc = ccs_sched__book(q, &bk, &b)) != 0)
		return rc;
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__Discipline *dl = ccs_arena_alloc(q->a, 2 * sizeof(*dl));
	size_t nd = 0;
	for (int k = CCS_SCHED_PT; k <= CCS_SCHED_OT; k <<= 1)
		if (x->need & (unsigned)k)
			dl[nd++] = (Ccs__Mtp__V1__Discipline)k;
	if (!b.found) {
		Ccs__Mtp__V1__ConferenceUnscheduled *cu = ccs_arena_alloc(q->a, sizeof(*cu));
		ccs__mtp__v1__conference_unscheduled__init(cu);
		cu->conference_id = (char *)(uintptr_t)x->conference_id;
		cu->reason_code = ccs_arena_printf(q->a, "NO_CONFERENCE_SLOT_%s",
						   ccs_sched_reason_name(b.reason));
		ccs_date first = q->asof + q->s->rules.notice_days;
		if (x->earliest != CCS_DATE_INVALID && x->earliest > first)
			first = x->earliest;
		cu->earliest_date = (char *)(uintptr_t)ccs_sched__date(q, first);
		cu->latest_date = (char *)(uintptr_t)ccs_sched__date(q, to);
		cu->n_required_disciplines = nd;
		cu->required_disciplines = dl;
		d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CONFERENCE_UNSCHEDULED;
		d.conference_unscheduled = cu;
		*outcome = "conference_unscheduled";
		return ccs_sched__emit(q, x->case_id, x->mtu_id, "conference.unscheduled", &d,
				       "conference_unscheduled");
	}
	Ccs__Mtp__V1__ConferenceScheduled *cs = ccs_arena_alloc(q->a, sizeof(*cs));
	ccs__mtp__v1__conference_scheduled__init(cs);
	cs->conference_id = (char *)(uintptr_t)x->conference_id;
	cs->date = (char *)(uintptr_t)ccs_sched__date(q, x->res.day);
	cs->start_minute = (uint32_t)x->res.start_min;
	cs->duration_minutes = (uint32_t)(x->res.end_min - x->res.start_min);
	cs->room_id = (char *)(uintptr_t)(x->room ? x->room : "");
	cs->proposed = x->proposed;
	cs->due_date = (char *)(uintptr_t)(due != CCS_DATE_INVALID ? ccs_sched__date(q, due) : "");
	int roles[4];
	size_t nr = ccs_sched_policy_conference_roles(x->need, roles);
	cs->participants = ccs_arena_alloc(q->a, (nr + n_optional + 1) * sizeof(*cs->participants));
	for (size_t i = 0; i < nr; i++) {
		const char *who =
			roles[i] == CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_PHYSICAL_THERAPIST
				? x->therapist[0]
			: roles[i] == CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_OCCUPATIONAL_THERAPIST
				? x->therapist[1]
			: roles[i] == CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_MTC_PHYSICIAN
				? x->physician_id
				: "";
		cs->participants[cs->n_participants++] = participant(q, roles[i], who);
	}
	/* Optional participants are invited (listed); their time is not reserved here. */
	for (size_t i = 0; i < n_optional; i++)
		if (optional[i] && *optional[i]->participant_id)
			cs->participants[cs->n_participants++] = optional[i];
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CONFERENCE_SCHEDULED;
	d.conference_scheduled = cs;
	*outcome = x->proposed ? "conference_proposed" : "conference_scheduled";
	if ((rc = ccs_sched__emit(q, x->case_id, x->mtu_id, "conference.scheduled", &d, *outcome)) != 0)
		return rc;
	return ccs_sched__arm_conference_due(q, x->case_id, x->res.day);
}

/* The facts every conference needs: eligible, an MTU, disciplines received. */
static int conference_facts(req *q, const char *case_id, const char *kind, ccs_sched_store_child *c,
			    unsigned *need, int *refused, const char **outcome)
{
	int rc, found;
	*refused = 0;
	if ((rc = ccs_sched__child_get(q, case_id, 0, c, &found)) != 0)
		return rc;
	ccs_sched_elig_status st = ccs_sched_policy_status_parse(c->status);
	if (st == CCS_SCHED_ELIG_ELIGIBLE && c->age_out_on != CCS_DATE_INVALID && q->asof >= c->age_out_on)
		st = CCS_SCHED_ELIG_AGED_OUT;
	const char *why = ccs_sched_policy_refusal(st);
	if (!why && !c->mtu_id)
		why = "NO_MTU";
	if (!why) {
		if ((rc = ccs_sched_store_disciplines_received(q->tx, case_id, q->asof, need, q->err)) != 0)
			return rc;
		if (!*need) /* evaluated, no therapy yet: the evaluated disciplines */
			if ((rc = ccs_sched_store_evaluations_open(q->tx, case_id, need, q->err)) != 0)
				return rc;
		if (!*need)
			why = "NO_THERAPY";
	}
	if (!why)
		return 0;
	*refused = 1;
	*outcome = ccs_arena_printf(q->a, "refused:%s", why);
	return ccs_sched__refuse(q, case_id, kind, why, ccs_sched_policy_status_name(st));
}

int ccs_sched__on_conference(req *q, const char *case_id, const Ccs__Mtp__V1__ConferenceRequest *cr,
			     const char **outcome)
{
	ccs_sched_store_child c;
	unsigned need = 0;
	int rc, dup, refused;

	if (!*cr->conference_id || !*cr->physician_id)
		return ccs_svc_poison(q->err, "validation", "conference_id and physician_id are required");
	ccs_date earliest = *cr->earliest_date ? ccs_date_parse(cr->earliest_date) : CCS_DATE_INVALID;
	ccs_date latest = *cr->latest_date ? ccs_date_parse(cr->latest_date) : CCS_DATE_INVALID;
	if ((*cr->earliest_date && earliest == CCS_DATE_INVALID) ||
	    (*cr->latest_date && latest == CCS_DATE_INVALID))
		return ccs_svc_poison(q->err, "validation", "earliest_date or latest_date is not a date");
	if ((rc = ccs_sched_store_conf_exists(q->tx, cr->conference_id, &dup, q->err)) != 0)
		return rc;
	if (dup) {
		*outcome = "duplicate_conference";
		return 0;
	}
	if ((rc = conference_facts(q, case_id, "conference_request", &c, &need, &refused, outcome)) != 0 ||
	    refused)
		return rc;
	struct conf_arg x;
	memset(&x, 0, sizeof(x));
	x = (struct conf_arg){.case_id = case_id,
			      .conference_id = cr->conference_id,
			      .physician_id = cr->physician_id,
			      .mtu_id = c.mtu_id,
			      .child = {case_id, NULL, 0},
			      .earliest = earliest,
			      .latest = latest,
			      .need = need};
	return book_conference(q, &x, cr->optional_participants, cr->n_optional_participants,
			       CCS_DATE_INVALID, outcome);
}

int ccs_sched__conference_due(req *q, const char *case_id, ccs_date due)
{
	ccs_sched_store_child c;
	const char *outcome = "conference_due_skipped", *phys;
	unsigned need = 0;
	ccs_date next;
	int rc, found;

	if ((rc = ccs_sched__child_get(q, case_id, 0, &c, &found)) != 0)
		return rc;
	if (ccs_sched_policy_status_parse(c.status) != CCS_SCHED_ELIG_ELIGIBLE || !c.mtu_id)
		goto record;
	if ((rc = ccs_sched_store_disciplines_received(q->tx, case_id, q->asof, &need, q->err)) != 0)
		return rc;
	if (!need)
		goto record;
	if ((rc = ccs_sched_store_conf_next(q->tx, case_id, q->asof, &next, &phys, q->err)) != 0)
		return rc;
	if (next != CCS_DATE_INVALID && next <= due) {
		outcome = "conference_already_booked";
		goto record;
	}
	if (phys) {
		struct conf_arg x = {.case_id = case_id,
				     .conference_id = ccs_arena_printf(q->a, "due-%s", q->event_id),
				     .physician_id = phys,
				     .mtu_id = c.mtu_id,
				     .child = {case_id, NULL, 0},
				     .earliest = CCS_DATE_INVALID,
				     .latest = due,
				     .need = need,
				     .proposed = 1};
		if ((rc = book_conference(q, &x, NULL, 0, due, &outcome)) != 0)
			return rc;
		goto record;
	}
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__ConferenceDue *cd = ccs_arena_alloc(q->a, sizeof(*cd));
	ccs__mtp__v1__conference_due__init(cd);
	cd->due_date = (char *)(uintptr_t)ccs_sched__date(q, due);
	int roles[4];
	size_t nr = ccs_sched_policy_conference_roles(need, roles);
	cd->required_participants = ccs_arena_alloc(q->a, (nr + 1) * sizeof(*cd->required_participants));
	for (size_t i = 0; i < nr; i++) {
		const char *who = NULL;
		int disc =
			roles[i] == CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_PHYSICAL_THERAPIST
				? CCS_SCHED_PT
			: roles[i] == CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_OCCUPATIONAL_THERAPIST
				? CCS_SCHED_OT
				: 0;
		if (disc && (rc = ccs_sched_store_child_therapist(q->tx, case_id, c.mtu_id, disc, 0, &who,
								  q->err)) != 0)
			return rc;
		cd->required_participants[cd->n_required_participants++] = participant(q, roles[i], who);
	}
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CONFERENCE_DUE;
	d.conference_due = cd;
	if ((rc = ccs_sched__emit(q, case_id, c.mtu_id, "conference.due", &d, "conference_due")) != 0)
		return rc;
	outcome = "conference_due_proposed";
	/* The next cycle counts from this due date until a conference is held. */
	if ((rc = ccs_sched__arm_conference_due(q, case_id, due)) != 0)
		return rc;
record:
	return ccs_sched__record_input(q, "timer", "conference_due", case_id, outcome);
}

int ccs_sched__on_conference_outcome(req *q, const char *case_id, const Ccs__Mtp__V1__ConferenceOutcome *co,
				     const char **outcome)
{
	ccs_sched_store_child c;
	unsigned ended = 0;
	int rc, refused;
	unsigned need;

	if (!*co->conference_id)
		return ccs_svc_poison(q->err, "validation", "conference_id is required");
	if (co->next_conference_months > 12)
		return ccs_svc_poison(q->err, "validation", "next_conference_months must be 0..12");
	for (size_t i = 0; i < co->n_ended; i++) {
		if (!co->ended[i] || (co->ended[i]->discipline != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_PT &&
				      co->ended[i]->discipline != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_OT))
			return ccs_svc_poison(q->err, "validation", "ended discipline %zu must be PT or OT",
					      i);
		ended |= (unsigned)co->ended[i]->discipline;
	}
	if ((rc = conference_facts(q, case_id, "conference_outcome", &c, &need, &refused, outcome)) != 0 ||
	    refused)
		return rc;
	const char *parts[8];
	size_t np = 0;
	if (co->next_conference_months &&
	    (rc = ccs_sched__child_conference_months(q, case_id, (int)co->next_conference_months)) != 0)
		return rc;
	for (size_t i = 0; i < co->n_plan_changes; i++) {
		const char *o = NULL;
		if ((rc = ccs_sched__prescription(q, case_id, co->plan_changes[i],
						  ccs_arena_printf(q->a, "plan.%zu.", i), &o)) != 0)
			return rc;
		if (np < 4)
			parts[np++] = o;
	}
	if (ended && (rc = ccs_sched__end_services(q, case_id, CCS_SCHED_ELIG_ELIGIBLE, ended, "plan.")) != 0)
		return rc;
	if (ended)
		parts[np++] = "disciplines_ended";
	if (co->n_equipment) {
		Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
		Ccs__Mtp__V1__EquipmentRecommended *er = ccs_arena_alloc(q->a, sizeof(*er));
		ccs__mtp__v1__equipment_recommended__init(er);
		er->conference_id = co->conference_id;
		er->service_line = CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_EQUIPMENT;
		er->n_items = co->n_equipment;
		er->items = co->equipment;
		d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_EQUIPMENT_RECOMMENDED;
		d.equipment_recommended = er;
		if ((rc = ccs_sched__emit(q, case_id, c.mtu_id, "equipment.recommended", &d,
					  "equipment_recommended")) != 0)
			return rc;
		parts[np++] = "equipment_recommended";
	}
	/* The next conference counts from this one (or the request date). */
	if ((rc = ccs_sched__arm_conference_due(q, case_id, q->asof)) != 0)
		return rc;
	*outcome = "conference_outcome";
	for (size_t i = 0; i < np; i++)
		*outcome = ccs_arena_printf(q->a, "%s:%s", *outcome, parts[i]);
	return 0;
}
