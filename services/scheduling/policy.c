/*
 * Scheduling policy (see policy.h). Protobuf enum values are used by number here so that this
 * file needs no generated code; the numbers are frozen by the contract (never renumbered).
 */
#include "policy.h"

#include <string.h>

/* EligibilityOutcome values (proto/ccs/mtp/v1/eligibility.proto). */
enum {
	OUTCOME_UNSPECIFIED = 0,
	OUTCOME_ELIGIBLE = 1,
	OUTCOME_AT_RISK_ELIGIBLE = 2,
	OUTCOME_NOT_ELIGIBLE = 3,
};
/* ParticipantRole values (scheduling.proto). */
enum { ROLE_FAMILY = 1, ROLE_PT = 2, ROLE_OT = 3, ROLE_PHYSICIAN = 4 };
/* ReleaseScope values. */
enum { SCOPE_IDENTITY = 1, SCOPE_SUMMARY = 2 };

static const struct {
	const char *name;
	const char *refusal;
	const char *end_reason;
} status_table[] = {
	[CCS_SCHED_ELIG_NEVER_DECIDED] = {"NEVER_DECIDED", "NOT_ELIGIBLE_NEVER_DECIDED", NULL},
	[CCS_SCHED_ELIG_ELIGIBLE] = {"ELIGIBLE", NULL, NULL},
	[CCS_SCHED_ELIG_PENDING] = {"PENDING", "NOT_ELIGIBLE_PENDING", NULL},
	[CCS_SCHED_ELIG_DENIED] = {"DENIED", "NOT_ELIGIBLE_DENIED", "NOT_ELIGIBLE"},
	[CCS_SCHED_ELIG_AGED_OUT] = {"AGED_OUT", "NOT_ELIGIBLE_AGED_OUT", "AGED_OUT"},
	[CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY] = {"NOT_MEDICALLY_NECESSARY", "NOT_MEDICALLY_NECESSARY",
						    "NOT_MEDICALLY_NECESSARY"},
};
#define N_STATUS (sizeof(status_table) / sizeof(status_table[0]))

ccs_sched_elig_status ccs_sched_policy_status(const ccs_sched_elig_facts *f, ccs_date asof)
{
	/* The 21st birthday ends eligibility whatever the last decision said. */
	if (f->reason_age || (f->age_out_on != CCS_DATE_INVALID && asof >= f->age_out_on))
		return CCS_SCHED_ELIG_AGED_OUT;
	if (f->reason_nmn)
		return CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY;
	switch (f->outcome) {
	case OUTCOME_ELIGIBLE:
	case OUTCOME_AT_RISK_ELIGIBLE:
		return CCS_SCHED_ELIG_ELIGIBLE;
	case OUTCOME_NOT_ELIGIBLE:
		return CCS_SCHED_ELIG_DENIED;
	case OUTCOME_UNSPECIFIED:
		return CCS_SCHED_ELIG_NEVER_DECIDED;
	default: /* pending, physician review, transfer, exempt on the therapy line */
		return CCS_SCHED_ELIG_PENDING;
	}
}

const char *ccs_sched_policy_status_name(ccs_sched_elig_status s)
{
	return (unsigned)s < N_STATUS ? status_table[s].name : "NEVER_DECIDED";
}

ccs_sched_elig_status ccs_sched_policy_status_parse(const char *name)
{
	for (size_t i = 0; name && i < N_STATUS; i++)
		if (strcmp(status_table[i].name, name) == 0)
			return (ccs_sched_elig_status)i;
	return CCS_SCHED_ELIG_NEVER_DECIDED;
}

const char *ccs_sched_policy_refusal(ccs_sched_elig_status s)
{
	return (unsigned)s < N_STATUS ? status_table[s].refusal : "NOT_ELIGIBLE_NEVER_DECIDED";
}

int ccs_sched_policy_ends_services(ccs_sched_elig_status s, int appeal_continues)
{
	if ((unsigned)s >= N_STATUS || !status_table[s].end_reason)
		return 0;
	/* 22 CCR 42321: authorized services continue during an appeal; age-out is not appealable. */
	return s == CCS_SCHED_ELIG_AGED_OUT || !appeal_continues;
}

const char *ccs_sched_policy_end_reason(ccs_sched_elig_status s)
{
	return (unsigned)s < N_STATUS && status_table[s].end_reason ? status_table[s].end_reason
								    : "NOT_ELIGIBLE";
}

void ccs_sched_policy_end_dates(const ccs_sched_rules *r, ccs_sched_elig_status s, ccs_date asof,
				ccs_date age_out_on, ccs_date *therapy_from, ccs_date *evaluations_from)
{
	*evaluations_from = asof + 1;
	if (s == CCS_SCHED_ELIG_AGED_OUT && age_out_on != CCS_DATE_INVALID)
		*therapy_from = age_out_on > asof ? age_out_on : asof + 1;
	else
		*therapy_from = ccs_sched_change_effective(r, asof);
}

int ccs_sched_policy_rebook(int reason, int requested, unsigned always_mask)
{
	if (requested)
		return 1;
	return reason > 0 && reason < 32 && (always_mask & (1u << reason)) != 0;
}

ccs_sched_reason ccs_sched_policy_session_fits(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
					       const char *therapist_id, ccs_date day, int start_min,
					       int end_min)
{
	int wd = ccs_date_weekday(day);

	for (size_t i = 0; i < s->n_closures; i++)
		if (day >= s->closures[i].first && day <= s->closures[i].last)
			return CCS_SCHED_R_NO_SCHOOL_DAY;
	if (!(r->school_days & (1u << wd)) || start_min < s->open[wd].start_min ||
	    end_min > s->open[wd].end_min)
		return CCS_SCHED_R_NO_SCHOOL_DAY;
	for (size_t i = 0; i < s->n_therapists; i++) {
		const ccs_sched_therapist *t = &s->therapists[i];
		if (therapist_id && strcmp(t->id, therapist_id) == 0)
			return start_min >= t->hours[wd].start_min && end_min <= t->hours[wd].end_min
				       ? CCS_SCHED_OK
				       : CCS_SCHED_R_NO_THERAPIST_HOURS;
	}
	return CCS_SCHED_R_NO_THERAPIST_HOURS;
}

const char *ccs_sched_policy_move_reason(ccs_sched_reason r)
{
	return r == CCS_SCHED_R_NO_SCHOOL_DAY ? "CLOSURE" : "THERAPIST_HOURS";
}

int ccs_sched_policy_iep_collides(const ccs_sched_iep_block *b, size_t n, ccs_date day, int start_min,
				  int end_min)
{
	int wd = ccs_date_weekday(day);

	for (size_t i = 0; i < n; i++) {
		if (b[i].weekday != wd || (b[i].from_day && day < b[i].from_day) ||
		    (b[i].until_day && day > b[i].until_day))
			continue;
		if (start_min < b[i].end_min && b[i].start_min < end_min)
			return 1;
	}
	return 0;
}

int ccs_sched_policy_in_school_day(ccs_date day, int start_min, int end_min, int school_start, int school_end)
{
	return ccs_date_weekday(day) < 5 && start_min < school_end && end_min > school_start;
}

size_t ccs_sched_policy_conference_roles(unsigned disciplines, int roles[4])
{
	size_t n = 0;
	roles[n++] = ROLE_FAMILY;
	if (disciplines & CCS_SCHED_PT)
		roles[n++] = ROLE_PT;
	if (disciplines & CCS_SCHED_OT)
		roles[n++] = ROLE_OT;
	roles[n++] = ROLE_PHYSICIAN;
	return n;
}

ccs_date ccs_sched_policy_conference_due(ccs_date last, int interval_months)
{
	if (interval_months < 1 || interval_months > 12)
		interval_months = 12;
	return ccs_date_add_months(last, interval_months);
}

unsigned ccs_sched_policy_release_allows(const ccs_sched_release *r, ccs_date asof)
{
	if (!r || !r->on_file)
		return 0;
	if (r->effective != CCS_DATE_INVALID && asof < r->effective)
		return 0;
	if (r->expiry != CCS_DATE_INVALID && asof > r->expiry)
		return 0;
	unsigned s = r->scopes ? r->scopes : CCS_SCHED_SHARE_IDENTITY;
	/* A summary names the student: sharing it implies identification. */
	if (s & CCS_SCHED_SHARE_SUMMARY)
		s |= CCS_SCHED_SHARE_IDENTITY;
	return s;
}

ccs_date ccs_sched_policy_release_expiry(ccs_date effective, ccs_date received, ccs_date stated,
					 int max_months)
{
	if (stated != CCS_DATE_INVALID)
		return stated;
	ccs_date from = effective != CCS_DATE_INVALID ? effective : received;
	if (from == CCS_DATE_INVALID || max_months <= 0)
		return CCS_DATE_INVALID;
	return ccs_date_add_months(from, max_months) - 1;
}

unsigned ccs_sched_policy_release_scopes(const int *scopes, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++) {
		if (scopes[i] == SCOPE_IDENTITY)
			s |= CCS_SCHED_SHARE_IDENTITY;
		else if (scopes[i] == SCOPE_SUMMARY)
			s |= CCS_SCHED_SHARE_SUMMARY | CCS_SCHED_SHARE_IDENTITY;
	}
	return s ? s : CCS_SCHED_SHARE_IDENTITY;
}
