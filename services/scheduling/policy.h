/*
 * Scheduling policy: the rules of issue "the calendar follows eligibility and the world" as
 * small pure functions over plain facts, so unit tests can call them without Kafka or
 * PostgreSQL and the daemon (scheduling.c and its sched_*.c parts) stays thin.
 *
 *   - eligibility: what scheduling may do for a child (book, refuse with which reason, end
 *     services from which date);
 *   - the 5-day written notice (DOMAIN.md section 5: "CCS must give 5 days' written notice
 *     before changing services") on every reduction, end or move of services;
 *   - which booked sessions a new calendar (closures, therapist hours) or a new IEP schedule
 *     leaves standing;
 *   - whether a cancellation rebooks the same child;
 *   - the participants a Medical Therapy Conference needs;
 *   - what a release of information lets us share, and until when.
 */
#ifndef CCS_SCHED_POLICY_H
#define CCS_SCHED_POLICY_H

#include "ccs/date.h"
#include "engine.h"

/* What scheduling holds about the child's MTP eligibility (from the latest decision). */
typedef enum ccs_sched_elig_status {
	CCS_SCHED_ELIG_NEVER_DECIDED = 0,       /* no eligibility decision has reached scheduling */
	CCS_SCHED_ELIG_ELIGIBLE,                /* eligible or at-risk eligible for MTP therapy */
	CCS_SCHED_ELIG_PENDING,                 /* pending, physician review, transfer: not yet */
	CCS_SCHED_ELIG_DENIED,                  /* not eligible */
	CCS_SCHED_ELIG_AGED_OUT,                /* 21 or older */
	CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY, /* found by the MTU evaluation */
} ccs_sched_elig_status;

/* The facts of one eligibility decision, as scheduling reads them. */
typedef struct ccs_sched_elig_facts {
	int outcome;          /* EligibilityOutcome of the MTP therapy line (protobuf value) */
	int reason_age;       /* NOT_ELIGIBLE_AGE among the reasons */
	int reason_nmn;       /* NOT_MEDICALLY_NECESSARY or REFER_LEA_EDUCATIONAL */
	ccs_date age_out_on;  /* 21st birthday or CCS_DATE_INVALID */
	int appeal_continues; /* services_continue_during_appeal (22 CCR 42321) */
} ccs_sched_elig_facts;

ccs_sched_elig_status ccs_sched_policy_status(const ccs_sched_elig_facts *f, ccs_date asof);
/* "ELIGIBLE", "NEVER_DECIDED", "PENDING", "DENIED", "AGED_OUT", "NOT_MEDICALLY_NECESSARY". */
const char *ccs_sched_policy_status_name(ccs_sched_elig_status s);
/* The status back from its name (unknown names: NEVER_DECIDED). */
ccs_sched_elig_status ccs_sched_policy_status_parse(const char *name);
/* Why a prescription or conference request is refused: "NOT_ELIGIBLE_PENDING", ...,
 * "NOT_MEDICALLY_NECESSARY"; NULL when the child may be booked. */
const char *ccs_sched_policy_refusal(ccs_sched_elig_status s);
/* Whether the status ends the services already booked: denied, aged out, not medically
 * necessary, unless services continue during an appeal. Pending keeps what is booked. */
int ccs_sched_policy_ends_services(ccs_sched_elig_status s, int appeal_continues);
/* The reason code a cancellation for this status carries: "NOT_ELIGIBLE", "AGED_OUT",
 * "NOT_MEDICALLY_NECESSARY". */
const char *ccs_sched_policy_end_reason(ccs_sched_elig_status s);

/*
 * First day without the services when they end on `asof`: after the written notice
 * (ccs_sched_change_effective: notice + plan_change_notice_days), except at age-out, where
 * eligibility itself ends on the 21st birthday (never before asof + 1: what happened cannot be
 * cancelled). Evaluations are not a service being reduced: they are cancelled from the next
 * day on (evaluations_from).
 */
void ccs_sched_policy_end_dates(const ccs_sched_rules *r, ccs_sched_elig_status s, ccs_date asof,
				ccs_date age_out_on, ccs_date *therapy_from, ccs_date *evaluations_from);

/* A cancellation reason (protobuf CancellationReason value) and the request's `rebook` flag:
 * is the same child booked again? `always_mask` has bit (1 << reason) for reasons that rebook
 * whatever the flag says (default: therapist and school closure: the child did nothing). */
int ccs_sched_policy_rebook(int reason, int requested, unsigned always_mask);
#define CCS_SCHED_REBOOK_DEFAULT ((1u << 2) | (1u << 4))

/* Why a booked session no longer fits a new calendar: CCS_SCHED_OK when it does, else
 * CCS_SCHED_R_NO_SCHOOL_DAY (closure, or the MTU closed that weekday/time) or
 * CCS_SCHED_R_NO_THERAPIST_HOURS (the therapist left, or no longer works then). */
ccs_sched_reason ccs_sched_policy_session_fits(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
					       const char *therapist_id, ccs_date day, int start_min,
					       int end_min);
/* "CLOSURE" or "THERAPIST_HOURS" for a reason of ccs_sched_policy_session_fits. */
const char *ccs_sched_policy_move_reason(ccs_sched_reason r);

/* 1 when the session collides with one of the child's IEP blocks that applies on `day`. */
int ccs_sched_policy_iep_collides(const ccs_sched_iep_block *b, size_t n, ccs_date day, int start_min,
				  int end_min);

/* 1 when the session falls (partly) in the school day: Mon-Fri and overlapping
 * [school_start, school_end). */
int ccs_sched_policy_in_school_day(ccs_date day, int start_min, int end_min, int school_start,
				   int school_end);

/* Conference participants (protobuf ParticipantRole values) the conference needs: the child
 * and family, a therapist of each discipline the child receives (CCS_SCHED_PT/OT bits) and the
 * MTC physician, in that order; returns the count (<= 4). */
size_t ccs_sched_policy_conference_roles(unsigned disciplines, int roles[4]);
/* The next conference due date: the last one (or the start of therapy) + interval months
 * (12 by default, 6 where the plan says so); an interval outside 1..12 means 12. */
ccs_date ccs_sched_policy_conference_due(ccs_date last, int interval_months);

/* Release of information. */
enum {
	CCS_SCHED_SHARE_IDENTITY = 1u << 0, /* district and student id on notices */
	CCS_SCHED_SHARE_SUMMARY = 1u << 1,  /* the therapy summary */
};
typedef struct ccs_sched_release {
	int on_file;        /* 0: none or revoked */
	ccs_date effective; /* or CCS_DATE_INVALID: from receipt */
	ccs_date expiry;    /* last valid day, or CCS_DATE_INVALID: never stated */
	unsigned scopes;    /* CCS_SCHED_SHARE_* */
} ccs_sched_release;
/* What may be shared on `asof`: nothing when revoked, not yet effective or expired. */
unsigned ccs_sched_policy_release_allows(const ccs_sched_release *r, ccs_date asof);
/* The expiry a release gets: the stated one, else effective (or received) + max_months. */
ccs_date ccs_sched_policy_release_expiry(ccs_date effective, ccs_date received, ccs_date stated,
					 int max_months);
/* Protobuf ReleaseScope values into CCS_SCHED_SHARE_* bits; none = identity only. */
unsigned ccs_sched_policy_release_scopes(const int *scopes, size_t n);

#endif
