/*
 * Case facts rebuilt from what eligibilityd stored: the case row (from the accepted referral)
 * and the evidence log. Pure: no database, no clock, no logging.
 *
 * Why a fold and not a mutable "current facts" row: evidence arrives on its own topic, so it
 * can come before its case, out of order, or twice. Rebuilding the facts from the log, sorted
 * by (received date, event id), gives the same facts whatever the arrival order, and the same
 * decisions on a replay. The fold also evaluates every intermediate step, which yields two
 * facts no single event carries:
 *   - services_authorized: some earlier step was eligible (22 CCR 42321 continuation);
 *   - appeal.decision_date: the first day of the current run of adverse decisions, so the
 *     NOA and appeal-window deadlines stay pinned while later evidence arrives.
 * As-of dates only move forward along the fold: a decision is never dated before a fact it
 * already knows (late evidence dated in the past is judged as of the newest evidence date).
 */
#ifndef CCS_ELIGIBILITY_FOLD_H
#define CCS_ELIGIBILITY_FOLD_H

#include <stddef.h>

#include "ccs/date.h"
#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "rules.h"

#define CCS_ELIG_FOLD_COUNTY_LEN 64

/* The case row: what the accepted referral said. */
typedef struct ccs_elig_fold_case {
	ccs_date birth_date;
	ccs_date referral_date;
	ccs_date opened_on; /* the referral decision's date: the first as-of */
	ccs_elig_county_model county_model;
	char county[CCS_ELIG_FOLD_COUNTY_LEN];
	unsigned lines; /* CCS_ELIG_LINE_BIT()s requested at referral */
} ccs_elig_fold_case;

/* One stored evidence event, decoded. */
typedef struct ccs_elig_fold_step {
	const char *event_id;
	ccs_date on; /* received date (received_at, else the event's ce_time) */
	const Ccs__Mtp__V1__EligibilityEvidence *ev;
} ccs_elig_fold_step;

/* The evidence in force, by part of the case: event ids (pointing into the steps). */
enum {
	CCS_ELIG_SRC_APPLICATION,
	CCS_ELIG_SRC_RESIDENCY,
	CCS_ELIG_SRC_MEDICAL,
	CCS_ELIG_SRC_PHYSICIAN,
	CCS_ELIG_SRC_FINANCIAL,
	CCS_ELIG_SRC_MTU,
	CCS_ELIG_SRC_NOTICE,
	CCS_ELIG_SRC_APPEAL,
	CCS_ELIG_NSRC
};

typedef struct ccs_elig_fold_out {
	ccs_elig_facts facts;   /* as used by the final evaluation */
	ccs_elig_result result; /* the final evaluation */
	ccs_date as_of;
	size_t applied;         /* evidence steps folded (after the `until` filter) */
	const char *src[CCS_ELIG_NSRC]; /* event id of the evidence in force, or NULL */
	/* who decided medically: the reviewer of the evidence the decision rests on */
	ccs_elig_reviewer reviewer_role;
	const char *reviewer_id;         /* staff id, or "" */
	const char *rationale_code;      /* the physician's, or "" */
	char residency_county[CCS_ELIG_FOLD_COUNTY_LEN]; /* county the verification named */
	ccs_date noa_mailed;             /* the current notice's mailing date, or INVALID */
} ccs_elig_fold_out;

/*
 * How the fold compares the county a residency verification names with the case's county:
 * true when they are the same county. The default (NULL) compares names after normalisation
 * (case, surrounding and repeated spaces, a trailing " County"); the daemon passes the county
 * table's lookup when it has one.
 */
typedef bool (*ccs_elig_fold_same_county_fn)(const char *a, const char *b);
void ccs_elig_fold_set_county_compare(ccs_elig_fold_same_county_fn fn);
bool ccs_elig_fold_same_county(const char *a, const char *b);

/*
 * Fold the case and its evidence under rule set `rs`. `steps` is sorted in place by
 * (on, event_id). With `until` valid, only evidence received on or before it is folded.
 * With `at` valid, a final "time passes" step evaluates as of max(at, last as-of) (timers,
 * what-if). Returns 0, or -EINVAL with errbuf set when the facts cannot be evaluated.
 */
int ccs_elig_fold(const ccs_elig_fold_case *c, ccs_elig_fold_step *steps, size_t n,
		  const ccs_elig_ruleset *rs, ccs_date until, ccs_date at, ccs_elig_fold_out *out,
		  char *errbuf, size_t errlen) __attribute__((warn_unused_result));

/*
 * Check one evidence message before it is stored: a case id that is a UUID, exactly one kind,
 * parseable dates, valid codes and amounts. 0 or -EINVAL with a short message (no PHI).
 */
int ccs_elig_fold_check_evidence(const Ccs__Mtp__V1__EligibilityEvidence *ev, char *errbuf,
				 size_t errlen) __attribute__((warn_unused_result));

/* California date of an RFC 3339 instant ("2026-11-02T16:00:00Z" -> 2026-11-02, but
 * "2026-11-03T07:30:00Z", 23:30 PST, -> 2026-11-02), or CCS_DATE_INVALID (ccs/instant.h). */
ccs_date ccs_elig_fold_instant_date(const char *s);

/* Service lines a requested program implies when the referral listed none (a data table). */
unsigned ccs_elig_fold_program_lines(int requested_program);

/* A compact text of what a decision decides (outcome, reasons, lines, NOA, continuation),
 * without dates: two results with the same signature decide the same thing. */
void ccs_elig_fold_signature(const ccs_elig_result *r, char *buf, size_t len);

#endif
