/*
 * Scheduling requests: prescriptions, cancellations, IEP schedules, MTU calendars, releases,
 * evaluation requests and IEP meeting requests (conferences are in sched_conference.c).
 *
 * The calendar follows the world: a new calendar (closures, therapist hours, a therapist gone)
 * or a new IEP schedule is stored first, then every booked session it leaves standing on a
 * closed day, outside its therapist's hours or over an IEP block is moved (ccs_sched__move_
 * sessions: rebooked with the same therapist where possible, else the child waits with the
 * reason), never left where it cannot happen. Moves forced by an IEP change are a change of
 * services: the new times start no sooner than the written notice allows (5 days).
 */
#include <string.h>

#include "ccs/instant.h"
#include "sched_internal.h"

/* ---- moving sessions ------------------------------------------------------------------------ */

int ccs_sched__move_sessions(req *q, ccs_sched_store_booked_appt *appts, size_t n, const char *reason,
			     ccs_date from, ccs_sched_moved **moved)
{
	ccs_sched_moved *mv = ccs_arena_alloc(q->a, (n + 1) * sizeof(*mv));
	ccs_sched_rules rr = q->s->rules;
	int rc;

	rr.target_policy = CCS_SCHED_TARGET_REPORT;
	for (size_t i = 0; i < n; i++) {
		const ccs_sched_store_appt *o = &appts[i].a;
		int eval = strcmp(o->kind, "evaluation") == 0;
		mv[i].old = &appts[i];
		mv[i].to = NULL;
		if ((rc = ccs_sched__appt_cancel(q, o->mtu_id, o->appointment_id, NULL, reason)) != 0)
			return rc;
		const char *kind = ccs_arena_printf(q->a, "moved.%s", o->appointment_id);
		/* A therapy session stays in its own week where it can (from its Monday on); the
		 * change never takes effect before `from`. */
		ccs_date week = o->day - ccs_date_weekday(o->day);
		ccs_date not_before = from;
		if (!eval && week > not_before)
			not_before = week;
		if (not_before <= q->asof + rr.notice_days)
			not_before = CCS_DATE_INVALID;
		ccs_date base = o->day > from ? o->day : from;
		ccs_sched_single sg = {o->case_id,
				       o->mtu_id,
				       o->discipline,
				       o->end_min - o->start_min,
				       o->kind,
				       o->prescription_id,
				       q->asof,
				       not_before,
				       eval ? CCS_DATE_INVALID : base + q->s->rebook_window_days,
				       o->therapist_id,
				       &rr,
				       kind,
				       0};
		ccs_sched_booked b;
		if ((rc = ccs_sched__book_single(q, &sg, &b)) != 0)
			return rc;
		Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
		Ccs__Mtp__V1__Cancelled *cd = ccs_arena_alloc(q->a, sizeof(*cd));
		ccs__mtp__v1__cancelled__init(cd);
		cd->appointment_id = (char *)(uintptr_t)o->appointment_id;
		cd->reason_code = (char *)(uintptr_t)reason;
		if (b.found) {
			mv[i].to = &b.appts[0];
			cd->rebooked_appointment = ccs_sched__appt_msg(q, &b.appts[0]);
		}
		d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CANCELLED;
		d.cancelled = cd;
		if ((rc = ccs_sched__emit(q, o->case_id, o->mtu_id, kind, &d,
					  b.found ? "moved" : "moved_waitlisted")) != 0)
			return rc;
		if (b.found)
			continue;
		const char *county;
		int found;
		if ((rc = ccs_sched_store_mtu_county(q->tx, o->mtu_id, &county, &found, q->err)) != 0)
			return rc;
		ccs_sched_wl_add wa = {o->case_id,
				       o->mtu_id,
				       county,
				       o->discipline,
				       eval ? "evaluation" : "session",
				       o->prescription_id,
				       o->appointment_id,
				       o->end_min - o->start_min,
				       0,
				       CCS_DATE_INVALID,
				       ccs_arena_printf(q->a, "%s_NO_SLOT_%s", reason,
							ccs_sched_reason_name(b.reason)),
				       ccs_arena_printf(q->a, "%s.waitlisted", kind)};
		if ((rc = ccs_sched__waitlist_add(q, &wa)) != 0)
			return rc;
	}
	*moved = mv;
	return 0;
}

static Ccs__Mtp__V1__IepCoordinationNotice *moved_notice(req *q, const ccs_sched_moved *mv, size_t n)
{
	Ccs__Mtp__V1__IepCoordinationNotice *nt = ccs_sched__notice_new(q);
	nt->moved = ccs_arena_alloc(q->a, (n + 1) * sizeof(*nt->moved));
	for (size_t i = 0; i < n; i++) {
		Ccs__Mtp__V1__MovedSession *m = ccs_arena_alloc(q->a, sizeof(*m));
		ccs__mtp__v1__moved_session__init(m);
		m->appointment_id = (char *)(uintptr_t)mv[i].old->a.appointment_id;
		m->rebooked = mv[i].to ? ccs_sched__appt_msg(q, mv[i].to) : NULL;
		nt->moved[nt->n_moved++] = m;
	}
	return nt;
}

/* ---- eligibility gate ----------------------------------------------------------------------- */

/* The child's status for new bookings: the stored one, aged out once the 21st birthday came. */
static int child_status(req *q, const char *case_id, ccs_sched_store_child *c, ccs_sched_elig_status *st)
{
	int found;
	int rc = ccs_sched__child_get(q, case_id, 1, c, &found);
	if (rc)
		return rc;
	*st = ccs_sched_policy_status_parse(c->status);
	if (*st == CCS_SCHED_ELIG_ELIGIBLE && c->age_out_on != CCS_DATE_INVALID && q->asof >= c->age_out_on)
		*st = CCS_SCHED_ELIG_AGED_OUT;
	return 0;
}

/* Refuse (decision "refused") when the child may not be booked; *refused tells. */
static int gate(req *q, const char *case_id, const char *kind, ccs_sched_store_child *c, int *refused,
		const char **outcome)
{
	ccs_sched_elig_status st;
	int rc = child_status(q, case_id, c, &st);
	*refused = 0;
	if (rc)
		return rc;
	const char *why = ccs_sched_policy_refusal(st);
	if (!why)
		return 0;
	*refused = 1;
	*outcome = ccs_arena_printf(q->a, "refused:%s", why);
	return ccs_sched__refuse(q, case_id, kind, why, ccs_sched_policy_status_name(st));
}

/*
 * The evaluation disciplines are now `want` (stated by the referral or a prescription): future
 * evaluations booked by default in a discipline no longer wanted are cancelled (their slots
 * re-offered), and the missing ones booked.
 */
static int restate_evaluations(req *q, ccs_sched_store_child *c, unsigned want, const char **outcome)
{
	int rc;
	unsigned before = c->eval_disciplines;
	c->eval_disciplines = want;
	if ((rc = ccs_sched__child_put(q, c)) != 0)
		return rc;
	if (ccs_sched_policy_status_parse(c->status) != CCS_SCHED_ELIG_ELIGIBLE)
		return 0;
	if (!before) {
		ccs_sched_store_booked_appt *ap;
		size_t n;
		unsigned drop = (CCS_SCHED_PT | CCS_SCHED_OT) & ~want;
		if (drop && (rc = ccs_sched_store_appts_booked(q->tx, c->case_id, NULL, q->asof + 1,
							       "evaluation", drop, &ap, &n, q->err)) != 0)
			return rc;
		for (size_t i = 0; drop && i < n; i++) {
			int nb;
			if ((rc = ccs_sched__appt_cancel(q, ap[i].a.mtu_id, ap[i].a.appointment_id, NULL,
							 "DISCIPLINE_NOT_REQUESTED")) != 0 ||
			    (rc = ccs_sched__reoffer_freed(q, &ap[i], &nb)) != 0)
				return rc;
		}
		if (drop && (rc = ccs_sched_store_wl_remove_case(q->tx, c->case_id, "evaluation", drop,
								 q->event_id, q->err)) != 0)
			return rc;
	}
	return ccs_sched__book_evaluations(q, c, 0, 0, outcome);
}

/* ---- prescriptions -------------------------------------------------------------------------- */

/* The MTU of the child: stated, known, else the one serving its district/county. */
static const char *child_mtu_for(req *q, const ccs_sched_store_child *c, const char *stated, int discipline)
{
	if (stated && *stated)
		return stated;
	if (c->mtu_id)
		return c->mtu_id;
	const ccs_sched_mtu *m = ccs_sched_mtu_select_spread(q->s->dir, c->county, c->district,
							     (unsigned)discipline, c->case_id, NULL);
	return m ? m->mtu_id : NULL;
}

/*
 * A prescription becomes a series. A second prescription of the same discipline while a plan
 * runs is a plan change: it takes effect no sooner than notice + plan_change.notice_days (the
 * engine moves the start), the old plan's sessions from then on are cancelled, and an IEP
 * notice goes out: a reduction when the plan gives fewer minutes a week, a schedule change when
 * the new sessions fall in the school day. If the new series cannot be booked at all the old
 * plan is kept (savepoint) and the prescription waits. The first therapy booked in school
 * hours is noticed to the IEP side once.
 */
int ccs_sched__prescription(req *q, const char *case_id, const Ccs__Mtp__V1__TherapyPrescription *rx,
			    const char *kp, const char **outcome)
{
	const ccs_sched_rules *rules = &q->s->rules;
	ccs_sched_store_child c;
	int rc, found, refused;

	if (!*rx->prescription_id)
		return ccs_svc_poison(q->err, "validation", "prescription_id is empty");
	int disc = (int)rx->discipline;
	if (disc != CCS_SCHED_PT && disc != CCS_SCHED_OT)
		return ccs_svc_poison(q->err, "validation", "discipline must be PT or OT");
	if (rx->sessions_per_week < 1 || rx->sessions_per_week > 5 || rx->weeks < 1 ||
	    rx->weeks > (uint32_t)rules->max_series_weeks || rx->minutes_per_session < 15 ||
	    rx->minutes_per_session > 480)
		return ccs_svc_poison(q->err, "validation",
				      "sessions_per_week, weeks or minutes out of range");
	ccs_date start = ccs_date_parse(rx->start_date);
	if (start == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "start_date is not a date");
	if (rx->conference_interval_months > 12)
		return ccs_svc_poison(q->err, "validation", "conference_interval_months must be 0..12");

	ccs_sched_store_rx old;
	if ((rc = ccs_sched_store_rx_get(q->tx, rx->prescription_id, &old, &found, q->err)) != 0)
		return rc;
	if (found) {
		*outcome = "duplicate_prescription";
		return 0;
	}
	if ((rc = gate(q, case_id, "prescription", &c, &refused, outcome)) != 0 || refused)
		return rc;
	/* No session on or after the 21st birthday: the series is cut to the weeks before it. */
	int weeks = (int)rx->weeks;
	if (c.age_out_on != CCS_DATE_INVALID && start + 7 * weeks > c.age_out_on) {
		weeks = c.age_out_on > start ? (int)((c.age_out_on - start) / 7) : 0;
		if (weeks < 1) {
			*outcome = "refused:AGES_OUT_BEFORE_SERIES";
			return ccs_sched__refuse(q, case_id, "prescription", "AGES_OUT_BEFORE_SERIES",
						 c.status);
		}
	}
	const char *mtu_id = child_mtu_for(q, &c, rx->mtu_id, disc);
	if (!mtu_id)
		return ccs_svc_poison(q->err, "validation", "no mtu_id and no MTU serves the case");
	const char *county;
	if ((rc = ccs_sched_store_mtu_county(q->tx, mtu_id, &county, &found, q->err)) != 0)
		return rc;
	if (!found)
		return ccs_svc_poison(q->err, "validation", "unknown mtu %s", mtu_id);
	if (rx->conference_interval_months &&
	    (rc = ccs_sched__child_conference_months(q, case_id, (int)rx->conference_interval_months)) != 0)
		return rc;

	/* The first evaluation is in the prescribed discipline. */
	const char *eval_outcome = NULL;
	if (!(c.eval_disciplines & (unsigned)disc) &&
	    (rc = restate_evaluations(q, &c, c.eval_disciplines | (unsigned)disc, &eval_outcome)) != 0)
		return rc;

	/* A running plan of the same discipline with sessions still ahead: a plan change. */
	ccs_sched_store_booked_appt *running;
	size_t n_running;
	unsigned received_before;
	if ((rc = ccs_sched_store_appts_booked(q->tx, case_id, NULL, q->asof, "therapy", (unsigned)disc,
					       &running, &n_running, q->err)) != 0 ||
	    (rc = ccs_sched_store_disciplines_received(q->tx, case_id, 0, &received_before, q->err)) != 0)
		return rc;
	int change = n_running > 0;
	int old_weekly = 0;
	if (change) {
		ccs_sched_store_rx o;
		if ((rc = ccs_sched_store_rx_get(q->tx, running[0].a.prescription_id, &o, &found, q->err)) !=
		    0)
			return rc;
		old_weekly = found ? o.per_week * o.minutes : 0;
	}
	const char *evaluator;
	if ((rc = ccs_sched_store_child_therapist(q->tx, case_id, NULL, disc, 1, &evaluator, q->err)) != 0)
		return rc;

	if ((rc = ccs_sched_store_savepoint(q->tx, "rx", CCS_SCHED_SP_TAKE, q->err)) != 0)
		return rc;
	ccs_date eff = ccs_sched_change_effective(rules, q->asof);
	if (change) {
		ccs_date cut = start > eff ? start : eff;
		for (size_t i = 0; i < n_running; i++)
			if (running[i].a.day >= cut &&
			    (rc = ccs_sched__appt_cancel(q, running[i].a.mtu_id, running[i].a.appointment_id,
							 NULL, "PLAN_CHANGE")) != 0)
				return rc;
	}
	ccs_sched_series_req sr = {case_id,
				   mtu_id,
				   rx->prescription_id,
				   disc,
				   (int)rx->sessions_per_week,
				   weeks,
				   (int)rx->minutes_per_session,
				   start,
				   change ? q->asof : CCS_DATE_INVALID,
				   evaluator};
	ccs_sched_booked b;
	const char *k_booked = ccs_arena_printf(q->a, "%sseries.booked", kp);
	if ((rc = ccs_sched__book_series(q, &sr, k_booked, &b)) != 0)
		return rc;
	if (!b.found && (rc = ccs_sched_store_savepoint(q->tx, "rx", CCS_SCHED_SP_ROLLBACK, q->err)) != 0)
		return rc; /* keep the running plan */
	if ((rc = ccs_sched_store_savepoint(q->tx, "rx", CCS_SCHED_SP_RELEASE, q->err)) != 0)
		return rc;
	ccs_sched_store_rx nrx = {rx->prescription_id,
				  case_id,
				  mtu_id,
				  disc,
				  (int)rx->sessions_per_week,
				  weeks,
				  (int)rx->minutes_per_session,
				  start,
				  rx->post_surgical,
				  b.found ? "booked" : "waitlisted"};
	if (b.found && change &&
	    (rc = ccs_sched_store_rx_supersede(q->tx, case_id, (unsigned)disc, NULL, q->err)) != 0)
		return rc;
	if ((rc = ccs_sched_store_rx_insert(q->tx, &nrx, q->event_id, q->err)) != 0)
		return rc;
	if (!b.found) {
		*outcome = "series_waitlisted";
		ccs_sched_wl_add wa = {case_id,
				       mtu_id,
				       county,
				       disc,
				       "series",
				       rx->prescription_id,
				       NULL,
				       (int)rx->minutes_per_session,
				       rx->post_surgical ? CCS_SCHED_WLF_POST_SURGICAL : 0u,
				       c.age_out_on,
				       ccs_arena_printf(q->a, "NO_CAPACITY_%s",
							ccs_sched_reason_name(b.reason)),
				       ccs_arena_printf(q->a, "%sseries.waitlisted", kp)};
		return ccs_sched__waitlist_add(q, &wa);
	}
	if ((rc = ccs_sched__emit_series(q, case_id, mtu_id, rx->prescription_id, &b, k_booked)) != 0)
		return rc;
	*outcome = change ? "series_booked_plan_change" : "series_booked";
	int school = 0;
	for (size_t i = 0; i < b.n; i++)
		school |= ccs_sched_policy_in_school_day(b.appts[i].day, b.appts[i].start_min,
							 b.appts[i].end_min, q->s->school_start,
							 q->s->school_end);
	if (!received_before && (rc = ccs_sched__arm_conference_due(q, case_id, b.starts_on)) != 0)
		return rc;
	Ccs__Mtp__V1__Discipline *dl = ccs_arena_alloc(q->a, sizeof(*dl));
	*dl = (Ccs__Mtp__V1__Discipline)disc;
	if (change && (int)(rx->sessions_per_week * rx->minutes_per_session) < old_weekly) {
		Ccs__Mtp__V1__IepCoordinationNotice *nt = ccs_sched__notice_new(q);
		nt->n_disciplines = 1;
		nt->disciplines = dl;
		if ((rc = ccs_sched__notice(q, case_id, mtu_id,
					    CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SERVICES_REDUCED,
					    b.starts_on, "PLAN_CHANGE", nt,
					    ccs_arena_printf(q->a, "%siep.services_reduced", kp))) != 0)
			return rc;
	}
	if (change && school)
		return ccs_sched__notice(
			q, case_id, mtu_id,
			CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SCHEDULE_CHANGE_SCHOOL_DAY,
			b.starts_on, "PLAN_CHANGE", NULL,
			ccs_arena_printf(q->a, "%siep.schedule_change", kp));
	if (school && !c.school_noticed) {
		ccs_sched_store_child c2;
		if ((rc = ccs_sched__child_get(q, case_id, 0, &c2, &found)) != 0)
			return rc;
		c2.school_noticed = 1;
		if ((rc = ccs_sched__child_put(q, &c2)) != 0)
			return rc;
		Ccs__Mtp__V1__IepCoordinationNotice *nt = ccs_sched__notice_new(q);
		nt->n_disciplines = 1;
		nt->disciplines = dl;
		return ccs_sched__notice(
			q, case_id, mtu_id,
			CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_THERAPY_SCHEDULED_SCHOOL_HOURS,
			b.starts_on, "FIRST_SCHEDULED", nt,
			ccs_arena_printf(q->a, "%siep.first_scheduled", kp));
	}
	return 0;
}

/* ---- cancellations -------------------------------------------------------------------------- */

static const char *cancel_reason_name(Ccs__Mtp__V1__CancellationReason c)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__cancellation_reason__descriptor, (int)c);
	return v ? v->name + strlen("CANCELLATION_REASON_") : "UNKNOWN";
}

/*
 * A cancellation: the appointment (or every row of a conference) is cancelled; the child is
 * rebooked when the request asks or the reason says so (policy), from the next day on with the
 * same therapist where possible; then the freed slot is re-offered to the waitlist.
 */
static int on_cancellation(req *q, const char *case_id, const Ccs__Mtp__V1__Cancellation *c,
			   const char **outcome)
{
	ccs_sched_store_booked_appt x;
	int rc, found;

	const char *appt = ccs_sched__canon_uuid(q->a, c->appointment_id);
	if (!appt)
		return ccs_svc_poison(q->err, "validation", "appointment_id is not a UUID");
	if ((rc = ccs_sched_store_appt_get(q->tx, appt, &x, &found, q->err)) != 0)
		return rc;
	if (!found)
		return ccs_svc_poison(q->err, "validation", "unknown appointment %s", appt);
	const char *conf = x.a.conference_id;
	if ((!x.a.case_id || strcmp(x.a.case_id, case_id) != 0) && !conf)
		return ccs_svc_poison(q->err, "validation", "appointment belongs to another case");
	if (x.cancelled) {
		*outcome = "already_cancelled";
		return 0;
	}
	const char *why = cancel_reason_name(c->reason);
	if ((rc = ccs_sched__appt_cancel(q, x.a.mtu_id, appt, conf, why)) != 0)
		return rc;
	if (conf && (rc = ccs_sched_store_conf_delete(q->tx, conf, q->err)) != 0)
		return rc;
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__Cancelled *cd = ccs_arena_alloc(q->a, sizeof(*cd));
	ccs__mtp__v1__cancelled__init(cd);
	cd->appointment_id = (char *)(uintptr_t)appt;
	cd->reason_code = (char *)(uintptr_t)why;
	int rebooked = 0;
	if (!conf && ccs_sched_policy_rebook((int)c->reason, c->rebook, q->s->rebook_reasons)) {
		ccs_sched_store_child ch;
		ccs_sched_elig_status st;
		if ((rc = child_status(q, case_id, &ch, &st)) != 0)
			return rc;
		if (st == CCS_SCHED_ELIG_ELIGIBLE) {
			int eval = strcmp(x.a.kind, "evaluation") == 0;
			ccs_sched_rules rr = q->s->rules;
			rr.target_policy = CCS_SCHED_TARGET_REPORT;
			ccs_sched_single sg = {case_id,
					       x.a.mtu_id,
					       x.a.discipline,
					       x.a.end_min - x.a.start_min,
					       x.a.kind,
					       x.a.prescription_id,
					       q->asof,
					       x.a.day + 1,
					       eval ? CCS_DATE_INVALID
						    : x.a.day + 1 + q->s->rebook_window_days,
					       x.a.therapist_id,
					       &rr,
					       "rebooked",
					       0};
			ccs_sched_booked b;
			if ((rc = ccs_sched__book_single(q, &sg, &b)) != 0)
				return rc;
			if (b.found) {
				cd->rebooked_appointment = ccs_sched__appt_msg(q, &b.appts[0]);
				rebooked = 1;
			}
		}
	}
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CANCELLED;
	d.cancelled = cd;
	if ((rc = ccs_sched__emit(q, case_id, x.a.mtu_id, "cancelled", &d,
				  rebooked ? "cancelled_rebooked" : "cancelled")) != 0)
		return rc;
	int n = 0;
	if ((rc = ccs_sched__reoffer_freed(q, &x, &n)) != 0)
		return rc;
	*outcome = ccs_arena_printf(q->a, "cancelled%s%s", rebooked ? "_rebooked" : "",
				    n ? "_reoffered" : "");
	return 0;
}

/* ---- IEP schedules -------------------------------------------------------------------------- */

/* Blocks of the new schedule apply from its effective date; the earlier ones stop the day before.
 * Booked sessions over the new blocks move, no sooner than the written notice allows. */
static int on_iep(req *q, const char *case_id, const Ccs__Mtp__V1__IepScheduleBlocks *ie,
		  const char **outcome)
{
	int rc;
	ccs_date eff = *ie->effective_date ? ccs_date_parse(ie->effective_date) : q->asof;
	if (eff == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "effective_date is not a date");
	ccs_sched_iep_block *bl = ccs_arena_alloc(q->a, (ie->n_blocks + 1) * sizeof(*bl));
	const char **svc = ccs_arena_alloc(q->a, (ie->n_blocks + 1) * sizeof(*svc));
	for (size_t i = 0; i < ie->n_blocks; i++) {
		const Ccs__Mtp__V1__IepBlock *b = ie->blocks[i];
		if (!b || b->weekday < 1 || b->weekday > 7 || b->start_minute >= b->end_minute ||
		    b->end_minute > 1440)
			return ccs_svc_poison(q->err, "validation",
					      "IEP block %zu: weekday 1..7 and start < end <= 1440", i);
		bl[i] = (ccs_sched_iep_block){(int)b->weekday - 1, (int)b->start_minute, (int)b->end_minute,
					      eff, 0};
		svc[i] = b->service;
	}
	if ((rc = ccs_sched_store_iep_replace(q->tx, case_id, ie->school_id, bl, svc, ie->n_blocks, eff,
					      q->err)) != 0)
		return rc;
	ccs_sched_store_booked_appt *ap;
	size_t n, nc = 0;
	ccs_date from = eff > q->asof + 1 ? eff : q->asof + 1;
	if ((rc = ccs_sched_store_appts_booked(q->tx, case_id, NULL, from, NULL, 0, &ap, &n, q->err)) != 0)
		return rc;
	ccs_sched_store_booked_appt *hit = ccs_arena_alloc(q->a, (n + 1) * sizeof(*hit));
	for (size_t i = 0; i < n; i++)
		if (ccs_sched_policy_iep_collides(bl, ie->n_blocks, ap[i].a.day, ap[i].a.start_min,
						  ap[i].a.end_min))
			hit[nc++] = ap[i];
	*outcome = nc ? "iep_stored_sessions_moved" : "iep_stored";
	if (!nc)
		return 0;
	ccs_date notice_eff = ccs_sched_change_effective(&q->s->rules, q->asof);
	ccs_sched_moved *mv;
	if ((rc = ccs_sched__move_sessions(q, hit, nc, "IEP_BLOCK", notice_eff, &mv)) != 0)
		return rc;
	return ccs_sched__notice(q, case_id, hit[0].a.mtu_id,
				 CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SCHEDULE_CHANGE_SCHOOL_DAY,
				 eff > notice_eff ? eff : notice_eff, "IEP_BLOCK", moved_notice(q, mv, nc),
				 "iep.schedule_change");
}

/* ---- MTU calendars -------------------------------------------------------------------------- */

/* ISO weekday hours into the engine's [0] = Monday array; one interval per weekday. */
static int hours_from_msg(Ccs__Mtp__V1__WorkingHours **wh, size_t n, ccs_sched_hours h[7])
{
	memset(h, 0, 7 * sizeof(*h));
	for (size_t i = 0; i < n; i++) {
		const Ccs__Mtp__V1__WorkingHours *x = wh[i];
		if (!x || x->weekday < 1 || x->weekday > 7 || x->start_minute >= x->end_minute ||
		    x->end_minute > 1440)
			return -1;
		ccs_sched_hours *d = &h[x->weekday - 1];
		if (d->end_min > d->start_min)
			return -1;
		*d = (ccs_sched_hours){(int)x->start_minute, (int)x->end_minute};
	}
	return 0;
}

/*
 * A calendar replaces the MTU's therapists, rooms and closures. Booked sessions on a new
 * closure or outside their therapist's new hours (or of a therapist who left) move; then the
 * waitlist gets the new capacity.
 */
static int on_calendar(req *q, const Ccs__Mtp__V1__MtuCalendar *cal, const char **outcome)
{
	int rc, found;

	if (!*cal->mtu_id)
		return ccs_svc_poison(q->err, "validation", "mtu_id is empty");
	const char *county;
	if ((rc = ccs_sched_store_mtu_county(q->tx, cal->mtu_id, &county, &found, q->err)) != 0)
		return rc;
	if (!found)
		return ccs_svc_poison(q->err, "validation", "unknown mtu %s (not in the MTU directory)",
				      cal->mtu_id);
	ccs_sched_therapist *th = ccs_arena_alloc(q->a, (cal->n_therapists + 1) * sizeof(*th));
	for (size_t i = 0; i < cal->n_therapists; i++) {
		const Ccs__Mtp__V1__Therapist *t = cal->therapists[i];
		if (!t || !*t->therapist_id ||
		    (t->discipline != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_PT &&
		     t->discipline != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_OT) ||
		    hours_from_msg(t->hours, t->n_hours, th[i].hours) != 0)
			return ccs_svc_poison(
				q->err, "validation",
				"therapist %zu: id, PT/OT and one interval per weekday (1..7) needed", i);
		th[i].id = t->therapist_id;
		th[i].discipline = (int)t->discipline;
	}
	const char **rooms = ccs_arena_alloc(q->a, (cal->n_rooms + 1) * sizeof(*rooms));
	for (size_t i = 0; i < cal->n_rooms; i++) {
		if (!cal->rooms[i] || !*cal->rooms[i]->room_id)
			return ccs_svc_poison(q->err, "validation", "room %zu has no id", i);
		rooms[i] = cal->rooms[i]->room_id;
	}
	ccs_sched_closure *cl = ccs_arena_alloc(q->a, (cal->n_closures + 1) * sizeof(*cl));
	const char **why = ccs_arena_alloc(q->a, (cal->n_closures + 1) * sizeof(*why));
	for (size_t i = 0; i < cal->n_closures; i++) {
		ccs_date d = cal->closures[i] ? ccs_date_parse(cal->closures[i]->date) : CCS_DATE_INVALID;
		if (d == CCS_DATE_INVALID)
			return ccs_svc_poison(q->err, "validation", "closure %zu: date is not a date", i);
		cl[i] = (ccs_sched_closure){d, d};
		why[i] = cal->closures[i]->reason;
	}
	ccs_sched__snap_drop(q, cal->mtu_id);
	if ((rc = ccs_sched_store_calendar_replace(q->tx, cal->mtu_id, th, cal->n_therapists, rooms,
						   cal->n_rooms, cl, why, cal->n_closures, q->event_id,
						   q->err)) != 0)
		return rc;
	int moved, nb;
	if ((rc = ccs_sched__calendar_recheck(q, cal->mtu_id, &moved, &nb)) != 0)
		return rc;
	*outcome = ccs_arena_printf(q->a, "calendar_replaced%s%s", moved ? "_moved" : "",
				    nb ? ccs_arena_printf(q->a, "_reoffered_%d", nb) : "");
	return 0;
}

int ccs_sched__calendar_recheck(req *q, const char *mtu_id, int *moved, int *n_reoffered)
{
	ccs_sched_store_mtu m;
	ccs_sched_store_booked_appt *ap;
	size_t n;
	int rc, found;

	*moved = *n_reoffered = 0;
	if ((rc = ccs_sched_store_appts_booked(q->tx, NULL, mtu_id, q->asof + 1, NULL, 0, &ap, &n, q->err)) !=
	    0)
		return rc;
	ccs_date last = n ? ap[n - 1].a.day : q->asof + 1;
	if ((rc = ccs_sched_store_load_mtu(q->tx, q->scratch, mtu_id, NULL, NULL, q->asof + 1, last, &m,
					   &found, q->err)) != 0)
		return rc;
	if (!found)
		return 0;
	ccs_sched_store_booked_appt *lost[2];
	size_t nl[2] = {0, 0};
	lost[0] = ccs_arena_alloc(q->a, (n + 1) * sizeof(*lost[0]));
	lost[1] = ccs_arena_alloc(q->a, (n + 1) * sizeof(*lost[1]));
	for (size_t i = 0; i < n; i++) {
		ccs_sched_reason r = ccs_sched_policy_session_fits(&q->s->rules, &m.snap,
								   ap[i].a.therapist_id, ap[i].a.day,
								   ap[i].a.start_min, ap[i].a.end_min);
		if (r == CCS_SCHED_OK)
			continue;
		int k = r == CCS_SCHED_R_NO_SCHOOL_DAY ? 0 : 1;
		lost[k][nl[k]++] = ap[i];
	}
	ccs_sched_moved *mv;
	for (int k = 0; k < 2; k++)
		if (nl[k] &&
		    (rc = ccs_sched__move_sessions(q, lost[k], nl[k], k ? "THERAPIST_HOURS" : "CLOSURE",
						   q->asof + q->s->rules.notice_days, &mv)) != 0)
			return rc;
	*moved = (int)(nl[0] + nl[1]);
	return ccs_sched__reoffer_capacity(q, mtu_id, n_reoffered);
}

/* ---- releases ------------------------------------------------------------------------------- */

static int on_release(req *q, const char *case_id, const Ccs__Mtp__V1__ReleaseOfInformation *rl,
		      const char **outcome)
{
	int on_file, rc, found;
	if (rl->status == CCS__MTP__V1__RELEASE_STATUS__RELEASE_STATUS_ON_FILE)
		on_file = 1;
	else if (rl->status == CCS__MTP__V1__RELEASE_STATUS__RELEASE_STATUS_REVOKED)
		on_file = 0;
	else
		return ccs_svc_poison(q->err, "validation", "release status must be ON_FILE or REVOKED");
	if (!*rl->release_id)
		return ccs_svc_poison(q->err, "validation", "release_id is empty");
	ccs_date eff = *rl->effective_date ? ccs_date_parse(rl->effective_date) : CCS_DATE_INVALID;
	ccs_date exp = *rl->expiry_date ? ccs_date_parse(rl->expiry_date) : CCS_DATE_INVALID;
	if ((*rl->effective_date && eff == CCS_DATE_INVALID) || (*rl->expiry_date && exp == CCS_DATE_INVALID))
		return ccs_svc_poison(q->err, "validation", "effective_date or expiry_date is not a date");
	if (on_file && (!*rl->school_district || !*rl->student_id_at_district))
		return ccs_svc_poison(q->err, "validation",
				      "a release on file names the district and the student id");
	int *sc = ccs_arena_alloc(q->a, (rl->n_scopes + 1) * sizeof(*sc));
	for (size_t i = 0; i < rl->n_scopes; i++)
		sc[i] = (int)rl->scopes[i];
	unsigned scopes = ccs_sched_policy_release_scopes(sc, rl->n_scopes);
	exp = ccs_sched_policy_release_expiry(eff, q->asof, exp, q->s->release_max_months);
	if ((rc = ccs_sched_store_release_put(q->tx, case_id, rl->release_id, on_file, eff, exp, scopes,
					      *rl->school_district ? rl->school_district : NULL,
					      rl->student_id_at_district, q->event_id, q->err)) != 0)
		return rc;
	/* The district also routes the child to the MTU that serves it. */
	ccs_sched_store_child c;
	if ((rc = ccs_sched__child_get(q, case_id, 1, &c, &found)) != 0)
		return rc;
	if (found && *rl->school_district && (!c.district || strcmp(c.district, rl->school_district) != 0)) {
		c.district = rl->school_district;
		if ((rc = ccs_sched__child_put(q, &c)) != 0)
			return rc;
	}
	*outcome = on_file ? "release_on_file" : "release_revoked";
	/* A release that lets the IEP team see the therapy: the summary goes out now. */
	ccs_sched_release rel = {on_file, eff, exp, scopes};
	ccs_sched_store_rx *cur;
	size_t ncur;
	if (!(ccs_sched_policy_release_allows(&rel, q->asof) & CCS_SCHED_SHARE_SUMMARY))
		return 0;
	if ((rc = ccs_sched_store_rx_current(q->tx, case_id, &cur, &ncur, q->err)) != 0 || !ncur)
		return rc;
	*outcome = "release_on_file_summary_sent";
	return ccs_sched__notice(q, case_id, found ? c.mtu_id : NULL,
				 CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_THERAPY_SUMMARY, q->asof,
				 "RELEASE_ON_FILE", NULL, "iep.summary");
}

/* ---- evaluation requests -------------------------------------------------------------------- */

static int on_evaluation_request(req *q, const char *case_id, const Ccs__Mtp__V1__EvaluationRequest *er,
				 const char **outcome)
{
	ccs_sched_store_child c;
	unsigned want = 0;
	int rc, found;

	for (size_t i = 0; i < er->n_disciplines; i++) {
		if (er->disciplines[i] != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_PT &&
		    er->disciplines[i] != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_OT)
			return ccs_svc_poison(q->err, "validation", "disciplines must be PT or OT");
		want |= (unsigned)er->disciplines[i];
	}
	if ((rc = ccs_sched__child_get(q, case_id, 1, &c, &found)) != 0)
		return rc;
	if (*er->school_district)
		c.district = er->school_district;
	*outcome = "evaluation_request_stored";
	if (!want)
		return ccs_sched__child_put(q, &c);
	const char *eo = NULL;
	if ((rc = restate_evaluations(q, &c, want, &eo)) != 0)
		return rc;
	if (eo)
		*outcome = eo;
	return 0;
}

/* ---- IEP meeting requests ------------------------------------------------------------------- */

static int contains(const char **ids, size_t n, const char *id)
{
	for (size_t i = 0; id && i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return 1;
	return 0;
}

/*
 * MTP staff attend IEP meetings on request: the child's own therapists when they are free at
 * the meeting, else a free therapist of the same discipline at the child's MTU; the notice
 * names them, or says that none is available, before the meeting.
 */
static int on_iep_meeting(req *q, const char *case_id, const Ccs__Mtp__V1__IepMeetingRequest *im,
			  const char **outcome)
{
	ccs_sched_store_child c;
	int rc, found;

	ccs_date day = ccs_date_parse(im->meeting_date);
	if (!*im->meeting_id || day == CCS_DATE_INVALID || im->start_minute >= 1440)
		return ccs_svc_poison(q->err, "validation",
				      "meeting_id and meeting_date (YYYY-MM-DD) are required");
	if ((rc = ccs_sched__child_get(q, case_id, 0, &c, &found)) != 0)
		return rc;
	const char **staff = ccs_arena_alloc(q->a, 3 * sizeof(*staff));
	size_t ns = 0;
	const char *why = "NO_STAFF_AVAILABLE";
	if (day <= q->asof) {
		why = "MEETING_DATE_PASSED";
	} else if (c.mtu_id) {
		const char **free_ids;
		size_t nf;
		int st = (int)im->start_minute,
		    en = im->start_minute ? st + q->s->rules.conference_minutes : 0;
		if ((rc = ccs_sched_store_staff_free(q->tx, c.mtu_id, day, st, en, &free_ids, &nf, q->err)) !=
		    0)
			return rc;
		unsigned need = c.eval_disciplines ? c.eval_disciplines : q->s->eval_disciplines;
		unsigned recv;
		if ((rc = ccs_sched_store_disciplines_received(q->tx, case_id, q->asof, &recv, q->err)) != 0)
			return rc;
		need |= recv;
		for (int d = CCS_SCHED_PT; d <= CCS_SCHED_OT; d <<= 1) {
			if (!(need & (unsigned)d))
				continue;
			const char *own;
			if ((rc = ccs_sched_store_child_therapist(q->tx, case_id, c.mtu_id, d, 0, &own,
								  q->err)) != 0)
				return rc;
			if (contains(free_ids, nf, own)) {
				staff[ns++] = own;
				continue;
			}
			/* staff_free orders by discipline: the first of d's. */
			ccs_sched_store_mtu m;
			if ((rc = ccs_sched_store_load_mtu(q->tx, q->scratch, c.mtu_id, NULL, NULL, day, day,
							   &m, &found, q->err)) != 0)
				return rc;
			for (size_t i = 0; i < nf; i++) {
				int pick = 0;
				for (size_t t = 0; t < m.snap.n_therapists; t++)
					pick |= strcmp(m.snap.therapists[t].id, free_ids[i]) == 0 &&
						m.snap.therapists[t].discipline == d;
				if (pick) {
					staff[ns++] = free_ids[i];
					break;
				}
			}
		}
		if (ns)
			why = "STAFF_ASSIGNED";
	}
	char *joined = NULL;
	if (ns)
		joined = ns == 1 ? ccs_arena_strdup(q->a, staff[0])
				 : ccs_arena_printf(q->a, "%s,%s", staff[0], staff[1]);
	if ((rc = ccs_sched_store_iep_meeting(q->tx, im->meeting_id, case_id, day, joined, q->event_id,
					      q->err)) != 0)
		return rc;
	Ccs__Mtp__V1__IepCoordinationNotice *nt = ccs_sched__notice_new(q);
	nt->n_assigned_staff_ids = ns;
	nt->assigned_staff_ids = (char **)(uintptr_t)staff;
	nt->meeting_id = im->meeting_id;
	nt->meeting_date = im->meeting_date;
	*outcome = ns ? "iep_meeting_staff_assigned" : "iep_meeting_no_staff";
	return ccs_sched__notice(q, case_id, c.mtu_id,
				 CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_ATTENDANCE_REQUESTED, day,
				 why, nt, "iep.attendance");
}

/* ---- dispatch ------------------------------------------------------------------------------- */

int ccs_sched__on_request(req *q, Ccs__Mtp__V1__SchedulingRequest *sr)
{
	const char *outcome = "?", *kind;
	int rc;

	q->request_id = *sr->request_id ? sr->request_id : q->event_id;
	q->decided_at = *sr->received_at ? sr->received_at : ccs_tx_input_time(q->tx);
	q->asof = ccs_instant_date_ca(q->decided_at);
	if (q->asof == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "received_at is not an RFC 3339 instant");
	int64_t t;
	int32_t ns;
	q->at_ms = ccs_instant_parse(q->decided_at, &t, &ns) == 0 ? t * 1000 + ns / 1000000 : -1;
	const char *case_id = ccs_sched__canon_uuid(q->a, sr->case_id);
	if (sr->kind_case != CCS__MTP__V1__SCHEDULING_REQUEST__KIND_MTU_CALENDAR && !case_id)
		return ccs_svc_poison(q->err, "validation", "case_id is not a UUID");

	switch (sr->kind_case) {
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_PRESCRIPTION:
		kind = "prescription";
		rc = ccs_sched__prescription(q, case_id, sr->prescription, "", &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_CANCELLATION:
		kind = "cancellation";
		rc = on_cancellation(q, case_id, sr->cancellation, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_IEP_SCHEDULE:
		kind = "iep_schedule";
		rc = on_iep(q, case_id, sr->iep_schedule, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_MTU_CALENDAR:
		kind = "mtu_calendar";
		case_id = NULL;
		rc = on_calendar(q, sr->mtu_calendar, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_CONFERENCE_REQUEST:
		kind = "conference_request";
		rc = ccs_sched__on_conference(q, case_id, sr->conference_request, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_RELEASE:
		kind = "release";
		rc = on_release(q, case_id, sr->release, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_EVALUATION_REQUEST:
		kind = "evaluation_request";
		rc = on_evaluation_request(q, case_id, sr->evaluation_request, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_IEP_MEETING:
		kind = "iep_meeting";
		rc = on_iep_meeting(q, case_id, sr->iep_meeting, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_CONFERENCE_OUTCOME:
		kind = "conference_outcome";
		rc = ccs_sched__on_conference_outcome(q, case_id, sr->conference_outcome, &outcome);
		break;
	default:
		return ccs_svc_poison(q->err, "validation", "request has no kind");
	}
	if (rc)
		return rc;
	return ccs_sched__record_input(q, "request", kind, case_id, outcome);
}
