/*
 * The CCS Medical Therapy Program eligibility rules engine (DOMAIN.md sections 2-5 and 8).
 *
 * Design
 * ------
 * - A rule set (ccs_elig_ruleset) is DATA: a version string, the ICD-10-CM code table that
 *   routes a code to a condition group, what each group needs documented, the at-risk
 *   findings, the age, financial and deadline parameters, the open-policy settings and the
 *   regulation cited per reason. Rule sets are compiled in (ruleset.c) and looked up by version,
 *   so a what-if can evaluate the same facts under two versions and diff the results.
 * - Case facts (ccs_elig_facts) are a plain struct with fixed-size arrays: the daemon fills
 *   it from its database, the engine never allocates and never reads the clock.
 * - ccs_elig_evaluate() is a pure function of (facts, rule set, as_of). as_of is the decision
 *   date: the triggering event's date, or a timer's due date, never the wall clock, so a replay
 *   gives a byte-identical result.
 * - The result lists EVERY reason that applied (not just the first gate that failed), a
 *   per-service-line outcome, the deadlines the decision starts, the appeal routing and
 *   whether services continue during an appeal. ccs_elig_next_timers() turns the deadlines
 *   into due-work items.
 *
 * Enum values that also exist in proto/ccs/mtp/v1 (outcome, service line, county model,
 * Medi-Cal status, appeal result, reviewer role) use the same numbers as the proto enums.
 *
 * Nothing here logs. ccs_elig_result_to_json() renders ids, codes and non-identifying dates
 * only: deadlines derived from the birth date (age-out, at-risk) are rendered without a date.
 */
#ifndef CCS_ELIGIBILITY_RULES_H
#define CCS_ELIGIBILITY_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccs/date.h"

#define CCS_ELIG_WUR __attribute__((warn_unused_result))

/* ---- Outcomes (numbers as in EligibilityOutcome of eligibility.proto) ---- */
typedef enum {
	CCS_ELIG_OUTCOME_NONE = 0, /* line not requested */
	CCS_ELIG_OUTCOME_ELIGIBLE = 1,
	CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE = 2,
	CCS_ELIG_OUTCOME_NOT_ELIGIBLE = 3,
	CCS_ELIG_OUTCOME_PENDING = 4,
	CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW = 5,
	CCS_ELIG_OUTCOME_TRANSFER = 6,
} ccs_elig_outcome;
#define CCS_ELIG_OUTCOME_MAX CCS_ELIG_OUTCOME_TRANSFER

/* ---- Reason codes: DOMAIN.md section 8 verbatim (strings via ccs_elig_reason_str) ---- */
typedef enum {
	CCS_ELIG_R_NONE = 0,
	/* hard gates */
	CCS_ELIG_R_NOT_ELIGIBLE_AGE,
	CCS_ELIG_R_NOT_ELIGIBLE_RESIDENCY_STATE,
	CCS_ELIG_R_TRANSFER_COUNTY,
	CCS_ELIG_R_PENDING_APPLICATION,
	CCS_ELIG_R_PENDING_RECORDS,
	/* extension to section 8: residency not yet verified (22 CCR 41610, 30-day clock) */
	CCS_ELIG_R_PENDING_RESIDENCY,
	/* medical */
	CCS_ELIG_R_ELIGIBLE_MTP_CP,
	CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR,
	CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL,
	CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS,
	CCS_ELIG_R_AT_RISK_UNDER_3,
	CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS,
	CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE,
	CCS_ELIG_R_NOT_ELIGIBLE_CONDITION,
	CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW,
	/* financial, per service line */
	CCS_ELIG_R_FIN_EXEMPT_MTP_ONLY,
	CCS_ELIG_R_FIN_EXEMPT_DIAGNOSTIC,
	CCS_ELIG_R_FIN_EXEMPT_ADOPTED_KNOWN_CONDITION,
	CCS_ELIG_R_FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC,
	CCS_ELIG_R_FIN_ELIGIBLE_AGI_UNDER_40K,
	CCS_ELIG_R_FIN_ELIGIBLE_OOP_OVER_20PCT,
	CCS_ELIG_R_PENDING_FINANCIAL_DOCS,
	CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL,
	/* after the MTU evaluation */
	CCS_ELIG_R_NOT_MEDICALLY_NECESSARY,
	CCS_ELIG_R_REFER_LEA_EDUCATIONAL,
	CCS_ELIG_R_THERAPY_PLAN_CHANGE,
	CCS_ELIG_R_COUNT
} ccs_elig_reason;

/* A set of reasons: bit (1 << code). */
typedef uint64_t ccs_elig_reason_set;
#define CCS_ELIG_RBIT(r) ((ccs_elig_reason_set)1 << (r))

/* ---- Service lines (numbers as in ServiceLine of common.proto) ---- */
typedef enum {
	CCS_ELIG_LINE_MTP_THERAPY = 1,
	CCS_ELIG_LINE_MTP_EQUIPMENT = 2,
	CCS_ELIG_LINE_CCS_TREATMENT = 3,
	CCS_ELIG_LINE_DIAGNOSTIC = 4,
} ccs_elig_line;
#define CCS_ELIG_NLINES 4
#define CCS_ELIG_LINE_BIT(l) (1u << (l))
#define CCS_ELIG_LINES_ALL                                                                  \
	(CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY) |                                     \
	 CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_EQUIPMENT) |                                   \
	 CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_CCS_TREATMENT) |                                   \
	 CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_DIAGNOSTIC))

/* ---- Condition groups of section 3 ---- */
typedef enum {
	CCS_ELIG_GROUP_NONE = 0,
	CCS_ELIG_GROUP_CP,
	CCS_ELIG_GROUP_NEUROMUSCULAR,
	CCS_ELIG_GROUP_MUSCULOSKELETAL,
	CCS_ELIG_GROUP_OTHER_CNS,
	CCS_ELIG_GROUP_COUNT
} ccs_elig_group;

/* ---- Deadlines / timer kinds (the section 8 timer codes, plus the pending clocks) ---- */
typedef enum {
	CCS_ELIG_DL_NONE = 0,
	CCS_ELIG_DL_NOA_DUE,                  /* decision + 7 d (22 CCR 42132) */
	CCS_ELIG_DL_APPEAL_WINDOW_CLOSES,     /* NOA + 30 d (42160) */
	CCS_ELIG_DL_APPEAL_RESPONSE_DUE,      /* appeal receipt + 21 d (42160) */
	CCS_ELIG_DL_FAIR_HEARING_WINDOW_CLOSES, /* appeal decision + 14 d (42180) */
	CCS_ELIG_DL_AT_RISK_REASSESS_DUE,     /* before the third birthday */
	CCS_ELIG_DL_AGE_OUT,                  /* 21st birthday */
	CCS_ELIG_DL_ANNUAL_REDETERMINATION_DUE, /* determination + 1 year (41610) */
	CCS_ELIG_DL_ANNUAL_REDETERMINATION_NOTICE_DUE, /* 30 d before the redetermination */
	CCS_ELIG_DL_APPLICATION_SEND_DUE,     /* referral + 5 d (41514) */
	CCS_ELIG_DL_APPLICATION_RETURN_DUE,   /* referral + 20 d keeps the referral date (41514) */
	CCS_ELIG_DL_FINANCIAL_DETERMINATION_DUE, /* info received + 30 d (41670) */
	CCS_ELIG_DL_RESIDENCY_DETERMINATION_DUE, /* info received + 30 d (41610) */
	CCS_ELIG_DL_THERAPY_PLAN_NOTICE_DUE,  /* plan change effective - 5 d */
	CCS_ELIG_DL_AT_RISK_AGE_LIMIT,        /* the at-risk age window ends: re-evaluate */
	CCS_ELIG_DL_HYPOTONIA_AGE_LIMIT,      /* hypotonia stops counting and the count drops */
	CCS_ELIG_DL_COUNT
} ccs_elig_deadline_kind;

/* ---- Input enums (numbers as in the protos) ---- */
typedef enum {
	CCS_ELIG_COUNTY_UNKNOWN = 0,
	CCS_ELIG_COUNTY_INDEPENDENT = 1,
	CCS_ELIG_COUNTY_DEPENDENT = 2,
} ccs_elig_county_model;

typedef enum {
	CCS_ELIG_MEDI_CAL_UNKNOWN = 0,
	CCS_ELIG_MEDI_CAL_NONE = 1,
	CCS_ELIG_MEDI_CAL_FULL_SCOPE_NO_SOC = 2,
	CCS_ELIG_MEDI_CAL_FULL_SCOPE_WITH_SOC = 3,
	CCS_ELIG_MEDI_CAL_RESTRICTED = 4,
} ccs_elig_medi_cal;

typedef enum {
	CCS_ELIG_REVIEWER_UNKNOWN = 0,
	CCS_ELIG_REVIEWER_NURSE = 1,
	CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT = 2,
	CCS_ELIG_REVIEWER_THERAPY_SUPERVISOR = 3,
} ccs_elig_reviewer;

typedef enum {
	CCS_ELIG_APPEAL_NONE = 0, /* not decided */
	CCS_ELIG_APPEAL_UPHELD = 1,
	CCS_ELIG_APPEAL_OVERTURNED = 2,
} ccs_elig_appeal_result;

typedef enum {
	CCS_ELIG_APPEAL_TO_UNKNOWN = 0,       /* county model not known */
	CCS_ELIG_APPEAL_TO_COUNTY_DIRECTOR = 1, /* independent county */
	CCS_ELIG_APPEAL_TO_REGIONAL_OFFICE = 2, /* dependent county: State CCS regional office */
} ccs_elig_appeal_to;

/* ---- Medical findings, one bit each (DOMAIN.md section 3) ---- */
enum {
	/* cerebral palsy findings (group A.1): any one qualifies */
	CCS_ELIG_F_CP_RIGIDITY_SPASTICITY = 1u << 0,
	CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE = 1u << 1,
	CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS = 1u << 2,
	CCS_ELIG_F_CP_ATAXIA = 1u << 3,
	/* at-risk findings (group B): two or more distinct ones */
	CCS_ELIG_F_AR_PRIMITIVE_REFLEXES = 1u << 8,
	CCS_ELIG_F_AR_DTR_3_PLUS = 1u << 9,
	CCS_ELIG_F_AR_ABNORMAL_POSTURING = 1u << 10,
	CCS_ELIG_F_AR_HYPOTONICITY = 1u << 11,
	CCS_ELIG_F_AR_MOTOR_ASYMMETRY = 1u << 12,
	/* derived by the engine, never set by callers: the review was a physician consultant's */
	CCS_ELIG_F_PHYSICIAN_CONFIRMED = 1u << 16,
};
#define CCS_ELIG_F_CP_ALL                                                                   \
	(CCS_ELIG_F_CP_RIGIDITY_SPASTICITY | CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE |        \
	 CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS | CCS_ELIG_F_CP_ATAXIA)
#define CCS_ELIG_F_AR_ALL                                                                   \
	(CCS_ELIG_F_AR_PRIMITIVE_REFLEXES | CCS_ELIG_F_AR_DTR_3_PLUS |                      \
	 CCS_ELIG_F_AR_ABNORMAL_POSTURING | CCS_ELIG_F_AR_HYPOTONICITY |                    \
	 CCS_ELIG_F_AR_MOTOR_ASYMMETRY)
#define CCS_ELIG_F_INPUT_ALL (CCS_ELIG_F_CP_ALL | CCS_ELIG_F_AR_ALL)

/* ---- The rule set (data; see ruleset.c) ---- */

/* ICD-10-CM codes compare without the dot, upper case. A code matches when its first
 * strlen(lo) characters lie in [lo, hi] (lo and hi have the same length), so "G800".."G804"
 * is G80.0-G80.4 with any extension and "S48".."S48" is the S48 category.
 *
 * Each row also says what must be documented besides the code (a code alone never
 * approves): every bit of all_of, and at least one bit of any_of when any_of is not 0.
 * Without them the outcome is REQUIRES_PHYSICIAN_REVIEW. */
typedef struct {
	const char *lo;
	const char *hi;
	ccs_elig_group group;
	const char *condition; /* stable id, e.g. "cerebral_palsy" */
	uint32_t all_of;
	uint32_t any_of;
} ccs_elig_code_rule;

/* The reason a group gives when one of its conditions is met. */
typedef struct {
	ccs_elig_group group;
	ccs_elig_reason eligible_reason;
} ccs_elig_group_rule;

/* How one service line is decided. */
typedef struct {
	ccs_elig_line line;
	bool needs_financial;        /* the financial test applies (equipment, treatment) */
	ccs_elig_reason exemption;   /* reason given when it does not (or CCS_ELIG_R_NONE) */
	bool mtu_applies;            /* the MTU evaluation decides medical necessity */
	bool suspected_condition_ok; /* diagnostic: goes ahead while the medical decision is
				      * pending or with the physician; a decided one applies */
} ccs_elig_line_rule;

typedef struct {
	const char *version;     /* e.g. "2026.1" */
	const char *description; /* one line, for listings */

	const ccs_elig_code_rule *codes;
	size_t ncodes;
	const ccs_elig_group_rule *groups;
	size_t ngroups;
	ccs_elig_line_rule lines[CCS_ELIG_NLINES];

	/* With no qualifying code these findings mean the records point at a qualifying
	 * condition without a diagnosis: physician review instead of a denial. */
	uint32_t review_without_code;

	/* ages */
	int age_limit_years;          /* 21: NOT_ELIGIBLE_AGE from the 21st birthday */
	int at_risk_limit_months;     /* 36 */
	bool at_risk_age_inclusive;   /* OPEN: false "< 36 months", true "<= 36 months" */
	uint32_t at_risk_findings;    /* the five findings */
	int at_risk_min_findings;     /* 2 */
	uint32_t age_limited_finding; /* hypotonicity */
	int age_limited_finding_max_months;       /* 12: counts only under this */
	bool age_limited_finding_corrected_age;   /* use corrected age for it */
	bool prematurity_correction;              /* corrected = chrono - (term - GA) weeks */
	int term_weeks;                           /* 40 */
	int preterm_below_weeks;                  /* 37: applied when GA < this */
	int correction_until_months;              /* 24: applied while chrono age < this */
	int at_risk_reassess_lead_days;           /* reassess this many days before the
						   * at_risk_limit_months birthday (age 3) */

	/* financial */
	int64_t agi_threshold_cents;  /* 4,000,000 */
	bool agi_threshold_inclusive; /* OPEN: false "< 40,000", true "<= 40,000" */
	int oop_percent_of_agi;       /* 20: OOP strictly above this percent of AGI */

	/* deadlines, calendar days */
	int noa_days;                   /* 7 */
	int appeal_window_days;         /* 30 */
	int appeal_response_days;       /* 21 */
	int fair_hearing_days;          /* 14 */
	int redetermination_notice_days; /* 30 */
	int redetermination_years;      /* 1 */
	int financial_determination_days; /* 30 */
	int residency_determination_days; /* 30 */
	int application_send_days;      /* 5 */
	int application_return_days;    /* 20 */
	int therapy_plan_notice_days;   /* 5 */

	/* regulation cited per reason ("" when none) */
	const char *citation[CCS_ELIG_R_COUNT];
} ccs_elig_ruleset;

/* ---- Case facts ---- */
#define CCS_ELIG_MAX_CODES 16
#define CCS_ELIG_CODE_LEN 12 /* "S14.109A" and a NUL fit with room */

typedef struct {
	bool verified;       /* false: residency pending */
	bool state_resident; /* permanent California resident */
	bool same_county;    /* resident of the county that has the case */
	ccs_date info_received; /* residency information received, or CCS_DATE_INVALID */
} ccs_elig_residency;

typedef struct {
	bool present;          /* a medical record review exists */
	bool records_pending;  /* the reviewer requested records not yet received */
	ccs_elig_reviewer reviewer;
	uint8_t ncodes;
	char codes[CCS_ELIG_MAX_CODES][CCS_ELIG_CODE_LEN]; /* confirmed ICD-10-CM, "G80.1" */
	uint32_t findings;     /* CCS_ELIG_F_CP_* | CCS_ELIG_F_AR_* */
	ccs_date exam_date;    /* or CCS_DATE_INVALID */
	uint8_t gestational_weeks; /* 0 = unknown (treated as term); else 20..44 */
} ccs_elig_medical;

typedef struct {
	bool present;          /* any financial information on file */
	bool documents_complete;
	bool adopted_known_condition;
	ccs_elig_medi_cal medi_cal;
	int64_t agi_cents;
	int64_t expected_oop_cents; /* per year */
	ccs_date info_received;     /* or CCS_DATE_INVALID */
	ccs_date determined_on;     /* date of the financial determination in force, or INVALID
				     * (then this evaluation is the determination) */
} ccs_elig_financial;

typedef struct {
	ccs_date decision_date; /* date of the standing adverse decision the NOA is for, or
				 * INVALID (then as_of is the decision date) */
	ccs_date noa_sent;      /* or INVALID */
	ccs_date filed;         /* first-level appeal received, or INVALID */
	ccs_date decided;       /* or INVALID */
	ccs_elig_appeal_result result;
} ccs_elig_appeal;

typedef struct {
	bool evaluated;
	bool medically_necessary;
	ccs_date evaluated_date;
	bool plan_change;
	ccs_date plan_change_effective; /* or INVALID */
} ccs_elig_mtu;

typedef struct {
	ccs_date birth_date; /* required */
	ccs_elig_county_model county_model;
	ccs_elig_residency residency;
	ccs_date referral_date;        /* or INVALID */
	ccs_date application_sent;     /* or INVALID */
	ccs_date application_received; /* signed application received, or INVALID */
	ccs_elig_medical medical;
	ccs_elig_financial financial;
	unsigned lines_requested; /* CCS_ELIG_LINE_BIT(...) of the lines asked for; not 0 */
	bool services_authorized; /* services currently authorized (an enrolled client) */
	ccs_elig_appeal appeal;
	ccs_elig_mtu mtu;
} ccs_elig_facts;

/* ---- The result ---- */
#define CCS_ELIG_VERSION_LEN 32

typedef struct {
	ccs_elig_reason code;
	const char *citation; /* points into the rule set (static storage); never NULL */
} ccs_elig_reason_entry;

typedef struct {
	ccs_elig_line line;
	bool requested;
	ccs_elig_outcome outcome; /* NONE when not requested */
	ccs_elig_reason_set reasons;
} ccs_elig_line_result;

typedef struct {
	ccs_elig_deadline_kind kind;
	ccs_date due;
} ccs_elig_deadline;

typedef struct {
	char ruleset_version[CCS_ELIG_VERSION_LEN];
	ccs_date as_of;
	ccs_elig_outcome outcome;
	ccs_elig_reason_set reasons; /* every reason that applied */
	uint8_t nreasons;
	ccs_elig_reason_entry reason_list[CCS_ELIG_R_COUNT]; /* the same, in code order */
	ccs_elig_line_result lines[CCS_ELIG_NLINES];         /* index = line - 1 */
	uint8_t ndeadlines;
	ccs_elig_deadline deadlines[CCS_ELIG_DL_COUNT]; /* by kind order; each kind at most once */
	/* a denial of eligibility or of a requested line, or a therapy plan change (42132);
	 * never for a transfer, a pending case or a physician review */
	bool noa_required;
	ccs_elig_appeal_to appeal_to; /* from facts.county_model */
	/* 42321: the child has authorized services, is not a pending applicant, and an appeal
	 * is open or this decision can be appealed (noa_required); false once decided */
	bool services_continue_during_appeal;
	ccs_date effective_application_date; /* referral date if returned in 20 d; or INVALID */
	uint32_t groups_mask; /* bit (1 << group) per group a confirmed code routed to */
} ccs_elig_result;

/* ---- Rule sets ---- */
const ccs_elig_ruleset *ccs_elig_ruleset_default(void);
/* NULL when no compiled-in rule set has this version. */
const ccs_elig_ruleset *ccs_elig_ruleset_find(const char *version);
size_t ccs_elig_ruleset_count(void);
const ccs_elig_ruleset *ccs_elig_ruleset_at(size_t i);
/* Checks a rule set's tables (code ranges well formed, groups known, citations present). */
int ccs_elig_ruleset_validate(const ccs_elig_ruleset *rs, char *errbuf, size_t errlen) CCS_ELIG_WUR;

/* ---- Facts ---- */
/* Zero everything and set every optional date to CCS_DATE_INVALID. */
void ccs_elig_facts_init(ccs_elig_facts *f);
/* Adds a confirmed code (copied, bounded); -ENOSPC when full, -EINVAL when malformed. */
int ccs_elig_facts_add_code(ccs_elig_facts *f, const char *code) CCS_ELIG_WUR;
/* 0, or -EINVAL with a short message: dates out of range, birth after as_of, unknown enum
 * values, malformed codes, no line requested. */
int ccs_elig_facts_validate(const ccs_elig_facts *f, ccs_date as_of, char *errbuf,
			    size_t errlen) CCS_ELIG_WUR;
/* Routes one ICD-10-CM code ("G80.1" or "G801") through the rule set: the group, or NONE. */
ccs_elig_group ccs_elig_code_group(const ccs_elig_ruleset *rs, const char *code,
				   const char **condition);

/* ---- Evaluation ---- */
/* Pure: same inputs, same result. 0, or -EINVAL (facts invalid: errbuf says why; *out is
 * then zeroed). */
int ccs_elig_evaluate(const ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of,
		      ccs_elig_result *out) CCS_ELIG_WUR;
int ccs_elig_evaluate_ex(const ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of,
			 ccs_elig_result *out, char *errbuf, size_t errlen) CCS_ELIG_WUR;

/* The due-work items a case needs after this decision: every deadline strictly after
 * r->as_of, sorted by date then kind. Returns the count, or -ENOSPC if cap is too small
 * (cap >= CCS_ELIG_DL_COUNT always suffices). */
int ccs_elig_next_timers(const ccs_elig_result *r, ccs_elig_deadline *out, size_t cap) CCS_ELIG_WUR;

/* ---- Queries on a result ---- */
const ccs_elig_line_result *ccs_elig_result_line(const ccs_elig_result *r, ccs_elig_line line);
bool ccs_elig_result_has(const ccs_elig_result *r, ccs_elig_reason code);
/* CCS_DATE_INVALID when the result has no deadline of that kind. */
ccs_date ccs_elig_result_deadline(const ccs_elig_result *r, ccs_elig_deadline_kind kind);

/* ---- What-if ---- */
typedef struct {
	bool changed; /* outcome or reasons differ */
	ccs_elig_outcome before, after;
	ccs_elig_reason_set added, removed;
} ccs_elig_change;

typedef struct {
	bool any;               /* anything at all differs (version aside) */
	bool version_differs;
	ccs_elig_change overall;
	ccs_elig_change lines[CCS_ELIG_NLINES];
	bool deadlines_differ;
	bool noa_differs;
	bool continuation_differs;
} ccs_elig_diff;

/* Equal decisions: outcome, reasons, lines, deadlines, NOA, routing, continuation. The
 * rule-set version is NOT compared (a what-if asks whether the decision changes). */
bool ccs_elig_result_equal(const ccs_elig_result *a, const ccs_elig_result *b);
void ccs_elig_result_diff(const ccs_elig_result *before, const ccs_elig_result *after,
			  ccs_elig_diff *out);
/* "outcome NOT_ELIGIBLE -> AT_RISK_ELIGIBLE; +AT_RISK_UNDER_3 -NOT_ELIGIBLE_..." into buf.
 * Returns the length written (excluding NUL), or -ENOSPC if it did not fit (buf then holds a
 * truncated, NUL-terminated prefix). */
int ccs_elig_diff_render(const ccs_elig_diff *d, char *buf, size_t len) CCS_ELIG_WUR;

/* ---- Strings and rendering ---- */
const char *ccs_elig_reason_str(ccs_elig_reason r);   /* "ELIGIBLE_MTP_CP"; "?" if unknown */
ccs_elig_reason ccs_elig_reason_from_str(const char *s); /* CCS_ELIG_R_NONE if unknown */
const char *ccs_elig_outcome_str(ccs_elig_outcome o); /* "AT_RISK_ELIGIBLE", "NONE" */
ccs_elig_outcome ccs_elig_outcome_from_str(const char *s); /* NONE if unknown */
const char *ccs_elig_line_str(ccs_elig_line l);       /* "MTP_THERAPY" */
const char *ccs_elig_group_str(ccs_elig_group g);     /* "CP", "NEUROMUSCULAR" */
const char *ccs_elig_deadline_str(ccs_elig_deadline_kind k); /* "NOA_DUE" */
const char *ccs_elig_appeal_to_str(ccs_elig_appeal_to a); /* "COUNTY_DIRECTOR" */
/* True for kinds whose date reveals the birth date (age-out, at-risk limits). */
bool ccs_elig_deadline_reveals_birth_date(ccs_elig_deadline_kind k);
/* Compact JSON, one line, codes and ids only. Length written, or -ENOSPC (truncated). */
int ccs_elig_result_to_json(const ccs_elig_result *r, char *buf, size_t len) CCS_ELIG_WUR;

#endif
