/*
 * The calendar follows eligibility.
 *
 * An eligibility decision sets what scheduling holds about the child (policy.h status). An
 * MTP-eligible child gets its evaluations, one per discipline the referral or a prescription
 * asked for (the evaluation.discipline setting when none did), at the MTU serving its school
 * district, else its county, else the neighbour that serves the county. A child who becomes not
 * eligible, ages out or is found not medically necessary loses its future evaluations at once
 * and its therapy from the end date the written-notice rule gives (policy.h), with a
 * ServicesEnded decision and an IEP notice; every freed slot is re-offered to the waitlist.
 * Pending (and physician review, transfer) keeps what is booked but books nothing new.
 */
#include <string.h>

#include "ccs/instant.h"
#include "sched_internal.h"

static int has_code(Ccs__Mtp__V1__Reason **rs, size_t n, const char *code)
{
	for (size_t i = 0; i < n; i++)
		if (rs[i] && rs[i]->code && strcmp(rs[i]->code, code) == 0)
			return 1;
	return 0;
}

static const char *outcome_name(Ccs__Mtp__V1__EligibilityOutcome o)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__eligibility_outcome__descriptor, (int)o);
	return v ? v->name + strlen("ELIGIBILITY_OUTCOME_") : "UNKNOWN";
}

/*
 * The decision's school_district, read by name through the descriptor: the field is being
 * added to EligibilityDecision by the eligibility side (carried from the referral), and this
 * works with or without it in the generated code. NULL when absent or empty.
 */
static const char *decision_district(const ProtobufCMessage *m)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "school_district");
	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	const char *v = *(const char *const *)(const void *)((const char *)m + f->offset);
	return v && *v ? v : NULL;
}

static unsigned bits_count(unsigned m)
{
	unsigned n = 0;
	for (; m; m &= m - 1)
		n++;
	return n;
}

int ccs_sched__book_evaluations(req *q, ccs_sched_store_child *cp, int unstored, int is_new,
				const char **outcome)
{
	ccs_sched_store_child c = *cp;
	const char *case_id = c.case_id;
	unsigned open = 0;
	int rc, booked = 0, waiting = 0;

	unsigned want = c.eval_disciplines ? c.eval_disciplines : q->s->eval_disciplines;
	if (!is_new && (rc = ccs_sched_store_evaluations_open(q->tx, case_id, &open, q->err)) != 0)
		return rc;
	unsigned missing = want & ~open;
	const char *mtu_id = c.mtu_id;
	if (missing && !mtu_id) {
		const ccs_sched_mtu *m = ccs_sched_mtu_select_spread(q->s->dir, c.county, c.district, missing,
								     case_id, NULL);
		if (!m)
			m = ccs_sched_mtu_select_spread(q->s->dir, c.county, c.district, 0, case_id, NULL);
		if (m) {
			mtu_id = m->mtu_id;
			c.mtu_id = mtu_id;
			unstored = 1;
		}
	}
	/* One write of the child for the whole message: its new facts and the MTU chosen. */
	if (unstored && (rc = ccs_sched__child_put(q, &c)) != 0)
		return rc;
	*cp = c;
	if (!missing) {
		*outcome = "evaluation_already_open";
		return 0;
	}
	unsigned flags = c.at_risk ? CCS_SCHED_WLF_AT_RISK_INFANT : 0;
	int single = bits_count(want) == 1;
	for (int disc = CCS_SCHED_PT; disc <= CCS_SCHED_OT; disc <<= 1) {
		if (!(missing & (unsigned)disc))
			continue;
		const char *sfx = single ? "" : ccs_arena_printf(q->a, ".%s", ccs_sched__disc_name(disc));
		ccs_sched_wl_add wa = {case_id,
				       mtu_id,
				       c.county,
				       disc,
				       "evaluation",
				       NULL,
				       NULL,
				       q->s->rules.eval_minutes,
				       flags,
				       c.age_out_on,
				       "NO_MTU_FOR_COUNTY",
				       ccs_arena_printf(q->a, "evaluation.waitlisted%s", sfx)};
		if (mtu_id) {
			const char *kind = ccs_arena_printf(q->a, "evaluation.booked%s", sfx);
			ccs_sched_single sg = {case_id,
					       mtu_id,
					       disc,
					       q->s->rules.eval_minutes,
					       "evaluation",
					       NULL,
					       c.eligible_on != CCS_DATE_INVALID ? c.eligible_on : q->asof,
					       CCS_DATE_INVALID,
					       CCS_DATE_INVALID,
					       NULL,
					       NULL,
					       kind,
					       is_new};
			ccs_sched_booked b;
			if ((rc = ccs_sched__book_single(q, &sg, &b)) != 0)
				return rc;
			if (b.found) {
				if ((rc = ccs_sched__emit_evaluation(q, case_id, mtu_id, &b, kind)) != 0)
					return rc;
				ccs_sched__observe_first_evaluation(
					q, c.eligible_on != CCS_DATE_INVALID ? c.eligible_on : q->asof, &b);
				booked++;
				continue;
			}
			wa.reason = ccs_arena_printf(q->a, "NO_CAPACITY_%s", ccs_sched_reason_name(b.reason));
		}
		if ((rc = ccs_sched__waitlist_add(q, &wa)) != 0)
			return rc;
		waiting++;
	}
	*outcome = !waiting  ? "evaluation_booked"
		   : !booked ? "evaluation_waitlisted"
			     : "evaluation_booked_and_waitlisted";
	return 0;
}

int ccs_sched__end_services(req *q, const char *case_id, ccs_sched_elig_status st, unsigned disciplines,
			    const char *kind_prefix)
{
	ccs_sched_store_child c;
	ccs_sched_store_booked_appt *ap, *cf;
	size_t n, ncf;
	ccs_date therapy_from, eval_from;
	int rc, found;
	const char *reason = st == CCS_SCHED_ELIG_ELIGIBLE ? "PLAN_ENDED" : ccs_sched_policy_end_reason(st);

	if ((rc = ccs_sched__child_get(q, case_id, 0, &c, &found)) != 0)
		return rc;
	ccs_sched_policy_end_dates(&q->s->rules, st, q->asof, c.age_out_on, &therapy_from, &eval_from);
	if ((rc = ccs_sched_store_appts_booked(q->tx, case_id, NULL, eval_from, NULL, disciplines, &ap, &n,
					       q->err)) != 0)
		return rc;
	const char **ids = ccs_arena_alloc(q->a, (n + 2) * sizeof(*ids));
	ccs_sched_store_booked_appt **freed = ccs_arena_alloc(q->a, (n + 1) * sizeof(*freed));
	size_t nids = 0;
	const char *mtu_id = c.mtu_id;
	for (size_t i = 0; i < n; i++) {
		int eval = strcmp(ap[i].a.kind, "evaluation") == 0;
		/* A plan ended by a conference keeps its evaluation history; eligibility lost
		 * cancels the evaluations still ahead. */
		if (eval && st == CCS_SCHED_ELIG_ELIGIBLE)
			continue;
		if (!eval && ap[i].a.day < therapy_from)
			continue;
		if ((rc = ccs_sched__appt_cancel(q, ap[i].a.mtu_id, ap[i].a.appointment_id, NULL, reason)) !=
		    0)
			return rc;
		freed[nids] = &ap[i];
		ids[nids++] = ap[i].a.appointment_id;
		mtu_id = ap[i].a.mtu_id;
	}
	/* Conferences go with all the services (not with one discipline). */
	unsigned all = CCS_SCHED_PT | CCS_SCHED_OT;
	if ((disciplines & all) == all || !disciplines) {
		if ((rc = ccs_sched_store_appts_booked(q->tx, case_id, NULL, therapy_from, "conference", 0,
						       &cf, &ncf, q->err)) != 0)
			return rc;
		for (size_t i = 0; i < ncf; i++)
			if ((rc = ccs_sched__appt_cancel(q, cf[i].a.mtu_id, cf[i].a.appointment_id,
							 cf[i].a.conference_id, reason)) != 0 ||
			    (rc = ccs_sched_store_conf_delete(q->tx, cf[i].a.conference_id, q->err)) != 0)
				return rc;
		if (st != CCS_SCHED_ELIG_ELIGIBLE &&
		    (rc = ccs_tx_unschedule(q->tx, "conference.due", case_id)) != 0)
			return rc;
	}
	/* Nothing of the ended disciplines waits any more (evaluations, series, lost sessions). */
	if ((rc = ccs_sched_store_wl_remove_case(q->tx, case_id, NULL, disciplines, q->event_id, q->err)) !=
	    0)
		return rc;
	if ((rc = ccs_sched_store_rx_supersede(q->tx, case_id, disciplines ? disciplines : all, NULL,
					       q->err)) != 0)
		return rc;
	if (nids == 0)
		return 0;

	unsigned remaining = 0;
	if (st == CCS_SCHED_ELIG_ELIGIBLE &&
	    (rc = ccs_sched_store_disciplines_received(q->tx, case_id, q->asof, &remaining, q->err)) != 0)
		return rc;
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__ServicesEnded *se = ccs_arena_alloc(q->a, sizeof(*se));
	ccs__mtp__v1__services_ended__init(se);
	se->reason_code = (char *)(uintptr_t)reason;
	se->effective_date = (char *)(uintptr_t)ccs_sched__date(q, therapy_from);
	se->n_cancelled_appointment_ids = nids;
	se->cancelled_appointment_ids = (char **)(uintptr_t)ids;
	Ccs__Mtp__V1__Discipline *dl = ccs_arena_alloc(q->a, 2 * sizeof(*dl));
	for (int x = CCS_SCHED_PT; x <= CCS_SCHED_OT; x <<= 1)
		if (disciplines & (unsigned)x)
			dl[se->n_disciplines++] = (Ccs__Mtp__V1__Discipline)x;
	se->disciplines = dl;
	se->reduction = remaining != 0;
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_SERVICES_ENDED;
	d.services_ended = se;
	if ((rc = ccs_sched__emit(q, case_id, mtu_id, ccs_arena_printf(q->a, "%sservices_ended", kind_prefix),
				  &d, "services_ended")) != 0)
		return rc;

	Ccs__Mtp__V1__IepCoordinationNotice *nt = ccs_sched__notice_new(q);
	nt->moved = ccs_arena_alloc(q->a, (nids + 1) * sizeof(*nt->moved));
	for (size_t i = 0; i < nids; i++) {
		Ccs__Mtp__V1__MovedSession *mv = ccs_arena_alloc(q->a, sizeof(*mv));
		ccs__mtp__v1__moved_session__init(mv);
		mv->appointment_id = (char *)(uintptr_t)ids[i];
		nt->moved[nt->n_moved++] = mv;
	}
	nt->n_disciplines = se->n_disciplines;
	nt->disciplines = dl;
	if ((rc = ccs_sched__notice(q, case_id, mtu_id,
				    se->reduction
					    ? CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SERVICES_REDUCED
					    : CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SERVICES_ENDED,
				    therapy_from, reason, nt,
				    ccs_arena_printf(q->a, "%siep.services_ended", kind_prefix))) != 0)
		return rc;
	for (size_t i = 0; i < nids; i++) {
		int nb;
		if ((rc = ccs_sched__reoffer_freed(q, freed[i], &nb)) != 0)
			return rc;
	}
	return 0;
}

/*
 * MTP eligibility decides: the MTP therapy line's outcome when the decision has lines (MTP
 * therapy has no financial test, so the line can be eligible while another line is pending),
 * else the overall outcome.
 */
int ccs_sched__on_eligibility(req *q, Ccs__Mtp__V1__EligibilityDecision *ed)
{
	const char *outcome = NULL;
	int rc, known;

	const char *case_id = ccs_sched__canon_uuid(q->a, ed->case_id);
	if (!case_id)
		return ccs_svc_poison(q->err, "validation", "case_id is not a UUID");
	if (!*ed->county)
		return ccs_svc_poison(q->err, "validation", "county is empty");
	q->decided_at = *ed->decided_at ? ed->decided_at : ccs_tx_input_time(q->tx);
	q->asof = ccs_date_parse(ed->as_of_date);
	if (q->asof == CCS_DATE_INVALID)
		q->asof = ccs_instant_date_ca(q->decided_at);
	if (q->asof == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "neither as_of_date nor decided_at is a date");
	int64_t t;
	int32_t ns;
	q->at_ms = ccs_instant_parse(q->decided_at, &t, &ns) == 0 ? t * 1000 + ns / 1000000
								  : (int64_t)q->asof * 86400000;

	Ccs__Mtp__V1__EligibilityOutcome mtp = ed->outcome;
	Ccs__Mtp__V1__ServiceLineDecision *line = NULL;
	for (size_t i = 0; i < ed->n_service_lines; i++)
		if (ed->service_lines[i] && ed->service_lines[i]->service_line ==
						    CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_THERAPY)
			line = ed->service_lines[i];
	if (ed->n_service_lines)
		mtp = line ? line->outcome
			   : CCS__MTP__V1__ELIGIBILITY_OUTCOME__ELIGIBILITY_OUTCOME_UNSPECIFIED;
#define ANY_CODE(code)                                                                                       \
	(has_code(ed->reasons, ed->n_reasons, code) ||                                                       \
	 (line && has_code(line->reasons, line->n_reasons, code)))
	ccs_sched_elig_facts f = {(int)mtp, ANY_CODE("NOT_ELIGIBLE_AGE"),
				  ANY_CODE("NOT_MEDICALLY_NECESSARY") || ANY_CODE("REFER_LEA_EDUCATIONAL"),
				  ccs_date_parse(ed->age_out_date), ed->services_continue_during_appeal};
#undef ANY_CODE
	ccs_sched_elig_status st = ccs_sched_policy_status(&f, q->asof);
	int eligible = st == CCS_SCHED_ELIG_ELIGIBLE;

	ccs_sched_store_child c;
	if ((rc = ccs_sched__child_get(q, case_id, 1, &c, &known)) != 0)
		return rc;
	int lea_before = c.lea_referred;
	c.county = ed->county;
	c.eligibility = outcome_name(ed->outcome);
	c.status = ccs_sched_policy_status_name(st);
	c.at_risk = mtp == CCS__MTP__V1__ELIGIBILITY_OUTCOME__ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE;
	c.age_out_on = f.age_out_on;
	c.appeal_continues = f.appeal_continues;
	if (eligible && c.eligible_on == CCS_DATE_INVALID)
		c.eligible_on = q->asof;
	c.lea_referred = eligible ? 0 : (lea_before || f.reason_nmn);
	const char *district = decision_district(&ed->base);
	if (district)
		c.district = district;
	/* An eligible child is written once, with the MTU its evaluations go to (below). */
	int notice = f.reason_nmn && !lea_before, deferred = eligible && !notice;
	if (!deferred && (rc = ccs_sched__child_put(q, &c)) != 0)
		return rc;

	if (notice) {
		rc = ccs_sched__notice(q, case_id, c.mtu_id,
				       CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_REFER_LEA_EDUCATIONAL,
				       q->asof, "NOT_MEDICALLY_NECESSARY", NULL, "iep.refer_lea");
		if (rc)
			return rc;
	}
	/* A child scheduling did not know has nothing booked, waiting or prescribed: the ends below
	 * would change nothing. */
	if (eligible) {
		if ((rc = ccs_sched__book_evaluations(q, &c, deferred, !known, &outcome)) != 0)
			return rc;
	} else if (ccs_sched_policy_ends_services(st, f.appeal_continues)) {
		if (known && (rc = ccs_sched__end_services(q, case_id, st, 0, "")) != 0)
			return rc;
		outcome = ccs_arena_printf(q->a, "%s%s",
					   f.reason_nmn && !lea_before ? "refer_lea:" : "not_eligible:",
					   ccs_sched_policy_status_name(st));
	} else {
		/* Not yet eligible: the child stops waiting for an evaluation; bookings stay. */
		if (known && (rc = ccs_sched_store_wl_remove_case(q->tx, case_id, "evaluation", 0,
								  q->event_id, q->err)) != 0)
			return rc;
		outcome = ccs_arena_printf(q->a, "not_eligible:%s", outcome_name(mtp));
	}
	return ccs_sched__record_input(q, "eligibility", "eligibility_decision", case_id, outcome);
}
