/*
 * Referral intake rules: pure functions, no Kafka, no PostgreSQL, no allocation.
 *
 * - ccs_ref_validate() judges one ReferralSubmitted and lists EVERY problem found as a
 *   machine-readable reason {code, field, message}. Codes and messages are static strings;
 *   messages name fields, never the child's data, so reasons may be logged and published.
 * - The county table (data: deploy/data/counties.tsv, common/county) maps the 58 California
 *   counties to their CCS model and, for dependent counties, the State regional office that
 *   reviews (docs/domain.md). It and the application clock form the installed rule set.
 * - Matching keys, normalised Medi-Cal CINs and ccs_ref_link_decide() let referrald link a
 *   second referral of the same child to the existing case instead of opening a duplicate.
 * - The application clock of 22 CCR 41514 (docs/domain.md).
 *
 * Replays must be byte-identical, so nothing here reads the wall clock: callers pass `today`
 * derived from the input (ccs_ref_instant_date(submitted_at)), not from ccs_date_today().
 *
 * Errors are 0 or a negative errno value (-EINVAL, -ENOENT, -ENOSPC).
 */
#ifndef CCS_REFERRAL_RULES_H
#define CCS_REFERRAL_RULES_H

#include <stddef.h>

#include "ccs/county.h"
#include "ccs/date.h"
#include "ccs/mtp/v1/referral.pb-c.h"

/* ---- validation ---------------------------------------------------------------------- */

#define CCS_REF_MAX_REASONS 32 /* reasons kept per referral; more are counted in `dropped` */
#define CCS_REF_FIELD_MAX 48   /* longest field path, e.g. "diagnoses[63].icd10_code" */

/* Limits a referral must respect (bytes of UTF-8). */
#define CCS_REF_NAME_MAX 100
#define CCS_REF_TEXT_MAX 200   /* short free text: referrer, address, language, district ... */
#define CCS_REF_NOTES_MAX 4000
#define CCS_REF_DIAGNOSES_MAX 64
#define CCS_REF_AGE_LIMIT_YEARS 21 /* CCS serves children under 21 */

typedef struct ccs_ref_reason {
	const char *code;              /* static, e.g. "BIRTH_DATE_IN_FUTURE" */
	const char *message;           /* static, lower case, names no PHI */
	char field[CCS_REF_FIELD_MAX]; /* field path in ReferralSubmitted, e.g. "child.birth_date" */
} ccs_ref_reason;

typedef struct ccs_ref_reasons {
	size_t n;       /* reasons stored in v[0..n) */
	size_t dropped; /* further reasons found once v was full */
	ccs_ref_reason v[CCS_REF_MAX_REASONS];
} ccs_ref_reasons;

/*
 * Validate a submitted referral as of `today`. Resets *out, then appends every problem found.
 * Returns the number of problems found (n + dropped): 0 means the referral is valid.
 * r == NULL is reported as one problem ("REFERRAL_MISSING").
 */
int ccs_ref_validate(const Ccs__Mtp__V1__ReferralSubmitted *r, ccs_date today,
		     ccs_ref_reasons *out) __attribute__((warn_unused_result));

/* True when reasons contain `code` (for tests and callers that branch on one code). */
int ccs_ref_reasons_has(const ccs_ref_reasons *rs, const char *code);

/*
 * The California calendar date of an RFC 3339 instant (ccs_instant_date_ca: any offset, 23:30
 * PST is that day, not the next). CCS_DATE_INVALID on anything else.
 */
ccs_date ccs_ref_instant_date(const char *rfc3339);

/*
 * The California date a referral is judged on ("today" for validation), from the input alone so
 * replays agree: its submitted_at, else the event's ce_time, else the Kafka timestamp (ms since
 * the epoch, ignored when <= 0). CCS_DATE_INVALID when none is usable.
 */
ccs_date ccs_ref_judged_on(const char *submitted_at, const char *ce_time, long long timestamp_ms);

/* ---- identifiers ----------------------------------------------------------------------- */

#define CCS_REF_CIN_LEN 9   /* 8 digits + 1 letter */
#define CCS_REF_ICD10_MAX 9 /* "A00.0000" + NUL */

/*
 * Normalise a Medi-Cal CIN: drop spaces and hyphens, upper-case the letter, then require
 * 8 digits followed by a letter. out receives the 9 characters and a NUL.
 * Returns 0, or -EINVAL (out then holds "").
 */
int ccs_ref_normalise_cin(const char *in, char out[CCS_REF_CIN_LEN + 1])
	__attribute__((warn_unused_result));

/*
 * Normalise an ICD-10-CM code to upper case with the dot after the category ("g801" ->
 * "G80.1"). Syntax: letter, digit, alphanumeric, then optionally '.' and 1-4 alphanumerics
 * (the dot may be omitted). Returns 0 or -EINVAL (out then holds "").
 */
int ccs_ref_normalise_icd10(const char *in, char out[CCS_REF_ICD10_MAX])
	__attribute__((warn_unused_result));

/* ---- matching -------------------------------------------------------------------------- */

#define CCS_REF_MATCH_KEY_MAX 512

/*
 * The key under which referrals of the same child meet: "last|first|YYYY-MM-DD|county".
 * Names are case-folded, Latin accents removed (é -> e, ß -> ss, ø -> o), and everything that
 * is not a letter or digit (spaces, hyphens, apostrophes, dots) dropped; letters of other
 * scripts are kept as they are. The county is its canonical table name, folded the same way.
 * Writes a NUL-terminated key into out. Returns 0; -EINVAL when a name folds to nothing, the
 * birth date is invalid, the county is unknown or a string is not UTF-8; -ENOSPC when outlen
 * is too small. The key is PHI: store it, never log it.
 */
int ccs_ref_match_key_name(const char *last_name, const char *first_name, const char *birth_date,
			   const char *county, char *out, size_t outlen)
	__attribute__((warn_unused_result));

/* ---- the rule set: county table and application clock ----------------------------------- */

/* 22 CCR 41514: the county sends the family an application within 5 days of the referral, and
 * a signed application returned within 20 days of the referral keeps the referral date as the
 * application date. Both are settings of ccs-referrald (application.send_days,
 * application.return_days); eligibility's rule set carries the same two numbers. */
#define CCS_REF_APPLICATION_SEND_DAYS 5
#define CCS_REF_APPLICATION_RETURN_DAYS 20

/*
 * The rule set every function in this module applies. The county table is data
 * (deploy/data/counties.tsv, loaded with ccs_county_load); the daemon installs the rule set
 * once at start, tests and fuzzers before they call anything. Until a table is installed every
 * county is unknown.
 */
typedef struct ccs_ref_rules {
	const ccs_county_table *counties; /* borrowed: must outlive its use */
	int application_send_days;        /* referral date + N: the county sends the application */
	int application_return_days;      /* referral date + N: the signed application is back */
} ccs_ref_rules;

/* Install a copy of *r (the table stays borrowed). Returns 0, or -EINVAL for negative days or
 * a return period shorter than the send period. */
int ccs_ref_rules_set(const ccs_ref_rules *r) __attribute__((warn_unused_result));
/* The installed rule set ({NULL, 5, 20} until set). */
const ccs_ref_rules *ccs_ref_rules_get(void);

/* Find a county of residence in the installed table (ccs_county_find). NULL if unknown. */
const ccs_county *ccs_ref_county_find(const char *name);

typedef struct ccs_ref_route_result {
	const ccs_county *county;             /* the table row */
	Ccs__Mtp__V1__CountyModel model;      /* the row's model as the contract's enum */
	Ccs__Mtp__V1__ReviewingOffice office; /* who reviews and receives first-level appeals */
} ccs_ref_route_result;

/* Route a county of residence. Returns 0, or -ENOENT (out zeroed) for an unknown county. */
int ccs_ref_route(const char *county, ccs_ref_route_result *out) __attribute__((warn_unused_result));

/*
 * send_due = referral_date + application_send_days; return_due = referral_date +
 * application_return_days (both counted from the referral date, as eligibility counts them).
 * Returns 0 or -EINVAL when referral_date is CCS_DATE_INVALID.
 */
int ccs_ref_application_clock(ccs_date referral_date, ccs_date *send_due, ccs_date *return_due)
	__attribute__((warn_unused_result));

/* ---- linking a referral to the child's open case ------------------------------------------ */

/*
 * What referral.c found in the database for a valid referral: the open case holding the
 * referral's CIN (looked up only when the referral carries one), and the oldest open case with
 * the referral's match key whose CIN does not contradict the referral's.
 */
typedef struct ccs_ref_candidates {
	int by_cin;            /* an open case has the referral's CIN */
	int by_name;           /* an open case has the same name, birth date and county */
	const char *name_cin;  /* that case's CIN, "" or NULL when it has none */
} ccs_ref_candidates;

typedef struct ccs_ref_link {
	Ccs__Mtp__V1__MatchRule rule; /* UNSPECIFIED: open a new case */
	int record_cin;               /* store the referral's CIN on the name-matched case */
} ccs_ref_link;

/*
 * Decide how a referral with normalised CIN `cin` ("" when none) joins the child's case:
 * the CIN's case first; else the name + birth date + county case unless both carry different
 * CINs (then they are different children), recording the CIN on a case that had none (a school
 * referral without CIN followed by a physician's with CIN is one case); else a new case.
 */
ccs_ref_link ccs_ref_link_decide(const char *cin, const ccs_ref_candidates *found);

/* ---- what a valid referral contributes to its case ----------------------------------------- */

#define CCS_REF_DATE_LEN 11 /* "YYYY-MM-DD" + NUL */

/*
 * Everything referral.c derives from a valid referral before it touches the database, as
 * text ready for SQL and the decision. Large (a few KB): allocate it, do not put it on a small
 * stack.
 */
typedef struct ccs_ref_facts {
	const ccs_county *county;                      /* the county of residence's row */
	Ccs__Mtp__V1__CountyModel model;
	Ccs__Mtp__V1__ReviewingOffice office;
	char cin[CCS_REF_CIN_LEN + 1];                 /* normalised, "" when none */
	char match_key[CCS_REF_MATCH_KEY_MAX];         /* PHI: store, never log */
	char birth_date[CCS_REF_DATE_LEN];
	char referral_date[CCS_REF_DATE_LEN];
	char application_send_due[CCS_REF_DATE_LEN];   /* referral date + send days */
	char application_return_due[CCS_REF_DATE_LEN]; /* referral date + return days */
	ccs_date referral_day;
	char school_district[CCS_REF_TEXT_MAX + 1];    /* trimmed, "" when not given */
	size_t n_diagnosis_codes;                      /* normalised ICD-10-CM, in input order */
	char diagnosis_codes[CCS_REF_DIAGNOSES_MAX][CCS_REF_ICD10_MAX];
} ccs_ref_facts;

/*
 * Derive the facts of a referral that ccs_ref_validate() accepted under the installed rule
 * set. Returns 0, or -EINVAL when the referral does not hold what validation guarantees.
 */
int ccs_ref_facts_of(const Ccs__Mtp__V1__ReferralSubmitted *r, ccs_ref_facts *out)
	__attribute__((warn_unused_result));

#endif
