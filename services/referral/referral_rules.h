/*
 * Referral intake rules: pure functions, no Kafka, no PostgreSQL, no allocation.
 *
 * - ccs_ref_validate() judges one ReferralSubmitted and lists EVERY problem found as a
 *   machine-readable reason {code, field, message}. Codes and messages are static strings;
 *   messages name fields, never the child's data, so reasons may be logged and published.
 * - The county table (counties.c) maps the 58 California counties to their CCS model and, for
 *   dependent counties, the State regional office that reviews (DOMAIN.md section 5).
 * - Matching keys and normalised Medi-Cal CINs let referrald link a second referral of the
 *   same child to the existing case instead of opening a duplicate.
 * - The application clock of 22 CCR 41514 (DOMAIN.md section 1).
 *
 * Replays must be byte-identical, so nothing here reads the wall clock: callers pass `today`
 * derived from the input (ccs_ref_instant_date(submitted_at)), not from ccs_date_today().
 *
 * Errors are 0 or a negative errno value (-EINVAL, -ENOENT, -ENOSPC).
 */
#ifndef CCS_REFERRAL_RULES_H
#define CCS_REFERRAL_RULES_H

#include <stddef.h>

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

/* ---- counties and routing ---------------------------------------------------------------- */

typedef struct ccs_ref_county {
	const char *name;                       /* canonical, e.g. "Los Angeles" */
	const char *code;                       /* 2-digit California county code, "19" */
	long population;                        /* 2020 census, for the 200,000 threshold */
	Ccs__Mtp__V1__CountyModel model;        /* INDEPENDENT or DEPENDENT */
	Ccs__Mtp__V1__ReviewingOffice office;   /* COUNTY for independent, else the regional office */
} ccs_ref_county;

/* The table (counties.c), alphabetical by name. */
extern const ccs_ref_county ccs_ref_counties[];
extern const size_t ccs_ref_counties_count;

/*
 * Find a county by name: case-insensitive, surrounding whitespace and runs of inner
 * whitespace ignored, an optional trailing " County" accepted. NULL if unknown.
 */
const ccs_ref_county *ccs_ref_county_find(const char *name);

typedef struct ccs_ref_route_result {
	const ccs_ref_county *county;         /* the table row */
	Ccs__Mtp__V1__CountyModel model;      /* copy of county->model */
	Ccs__Mtp__V1__ReviewingOffice office; /* who reviews and receives first-level appeals */
} ccs_ref_route_result;

/* Route a county of residence. Returns 0, or -ENOENT (out zeroed) for an unknown county. */
int ccs_ref_route(const char *county, ccs_ref_route_result *out) __attribute__((warn_unused_result));

/* ---- the application clock (22 CCR 41514) ------------------------------------------------ */

#define CCS_REF_APPLICATION_SEND_DAYS 5    /* county sends the application within 5 days */
#define CCS_REF_APPLICATION_RETURN_DAYS 20 /* then 20 days for the signed application */

/*
 * send_due = referral_date + 5 days; return_due = send_due + 20 days (a signed application
 * returned by then keeps the referral date as the application date). Returns 0 or -EINVAL
 * when referral_date is CCS_DATE_INVALID.
 */
int ccs_ref_application_clock(ccs_date referral_date, ccs_date *send_due, ccs_date *return_due)
	__attribute__((warn_unused_result));

#endif
