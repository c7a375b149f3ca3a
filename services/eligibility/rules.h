/*
 * The CCS Medical Therapy Program eligibility rules engine (docs/domain.md).
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

/* ---- Reason codes: docs/domain.md verbatim (strings via ccs_elig_reason_str) ---- */
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
	/* extension: the signed application never came back (closure with a notice) */
	CCS_ELIG_R_NOT_ELIGIBLE_APPLICATION_NOT_RETURNED,
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
	/* extension: a CCS-eligible condition (CCS treatment and diagnostic lines) */
	CCS_ELIG_R_ELIGIBLE_CCS_CONDITION,
	/* extension: a first-level appeal overturned the denial (services resume) */
	CCS_ELIG_R_ELIGIBLE_APPEAL_OVERTURNED,
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
	CCS_ELIG_GROUP_AT_RISK, /* group B (MTP only); a physician determination may name it */
	CCS_ELIG_GROUP_CCS,     /* a CCS condition that is not an MTP condition */
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
	CCS_ELIG_DL_PHYSICIAN_REVIEW_DUE,     /* awaiting physician review + service target (OPEN) */
	CCS_ELIG_DL_APPLICATION_CLOSURE_DUE,  /* return due + closure days: closed with a notice */
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

/* A fact that may be unstated: proto3 cannot tell false from absent, so "no" must be said. */
typedef enum {
	CCS_ELIG_TRI_UNKNOWN = 0,
	CCS_ELIG_TRI_YES = 1,
	CCS_ELIG_TRI_NO = 2,
} ccs_elig_tri;

/* Which program's medical rules a line is judged by. */
typedef enum {
	CCS_ELIG_BASIS_MTP = 0, /* MTP therapy, MTP equipment: groups A and B */
	CCS_ELIG_BASIS_CCS = 1, /* CCS treatment, diagnostic: CCS conditions (no at-risk rule) */
	CCS_ELIG_NBASES = 2,
} ccs_elig_basis;

/* Who decided a medical outcome (numbers as in DeterminedBy of eligibility.proto). */
typedef enum {
	CCS_ELIG_BY_NONE = 0,
	CCS_ELIG_BY_RULE = 1,
	CCS_ELIG_BY_PHYSICIAN = 2,
	CCS_ELIG_BY_PENDING = 3,
	CCS_ELIG_BY_APPEAL = 4,
} ccs_elig_determined_by;

/* Notice action (numbers as in NoticeActionKind). */
typedef enum {
	CCS_ELIG_NOTICE_NONE = 0,
	CCS_ELIG_NOTICE_DENIAL = 1,
	CCS_ELIG_NOTICE_REDUCTION = 2,
	CCS_ELIG_NOTICE_TERMINATION = 3,
} ccs_elig_notice_action;

/* Appeal status (numbers as in AppealStatus). */
typedef enum {
	CCS_ELIG_APPEAL_STATUS_NONE = 0,
	CCS_ELIG_APPEAL_STATUS_OPEN_TIMELY = 1,
	CCS_ELIG_APPEAL_STATUS_LATE = 2,
	CCS_ELIG_APPEAL_STATUS_UPHELD = 3,
	CCS_ELIG_APPEAL_STATUS_OVERTURNED = 4,
} ccs_elig_appeal_status;

typedef enum {
	CCS_ELIG_APPEAL_TO_UNKNOWN = 0,       /* county model not known */
	CCS_ELIG_APPEAL_TO_COUNTY_DIRECTOR = 1, /* independent county */
	CCS_ELIG_APPEAL_TO_REGIONAL_OFFICE = 2, /* dependent county: State CCS regional office */
} ccs_elig_appeal_to;

/* ---- Medical findings, one bit each (docs/domain.md) ---- */
enum {
	/* cerebral palsy findings (group A.1): any one qualifies */
	CCS_ELIG_F_CP_RIGIDITY_SPASTICITY = 1u << 0,
	CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE = 1u << 1,
	CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS = 1u << 2,
	CCS_ELIG_F_CP_ATAXIA = 1u << 3,
	/* neuromuscular findings (group A.2) */
	CCS_ELIG_F_NM_WEAKNESS = 1u << 4,
	CCS_ELIG_F_NM_ATROPHY = 1u << 5,
	/* musculoskeletal / connective-tissue findings (group A.3): any one qualifies */
	CCS_ELIG_F_MS_DEFORMITY = 1u << 6,
	CCS_ELIG_F_MS_CONTRACTURE = 1u << 7,
	CCS_ELIG_F_MS_LIMITATION = 1u << 13,
	/* at-risk findings (group B): two or more distinct ones */
	CCS_ELIG_F_AR_PRIMITIVE_REFLEXES = 1u << 8,
	CCS_ELIG_F_AR_DTR_3_PLUS = 1u << 9,
	CCS_ELIG_F_AR_ABNORMAL_POSTURING = 1u << 10,
	CCS_ELIG_F_AR_HYPOTONICITY = 1u << 11,
	CCS_ELIG_F_AR_MOTOR_ASYMMETRY = 1u << 12,
};
#define CCS_ELIG_F_NM_ALL (CCS_ELIG_F_NM_WEAKNESS | CCS_ELIG_F_NM_ATROPHY)
#define CCS_ELIG_F_MS_ALL (CCS_ELIG_F_MS_DEFORMITY | CCS_ELIG_F_MS_CONTRACTURE | CCS_ELIG_F_MS_LIMITATION)
#define CCS_ELIG_F_CP_ALL                                                                   \
	(CCS_ELIG_F_CP_RIGIDITY_SPASTICITY | CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE |        \
	 CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS | CCS_ELIG_F_CP_ATAXIA)
#define CCS_ELIG_F_AR_ALL                                                                   \
	(CCS_ELIG_F_AR_PRIMITIVE_REFLEXES | CCS_ELIG_F_AR_DTR_3_PLUS |                      \
	 CCS_ELIG_F_AR_ABNORMAL_POSTURING | CCS_ELIG_F_AR_HYPOTONICITY |                    \
	 CCS_ELIG_F_AR_MOTOR_ASYMMETRY)
#define CCS_ELIG_F_INPUT_ALL                                                                \
	(CCS_ELIG_F_CP_ALL | CCS_ELIG_F_AR_ALL | CCS_ELIG_F_NM_ALL | CCS_ELIG_F_MS_ALL)

/* ---- The rule set (data; see ruleset.c) ---- */

/* ICD-10-CM codes compare without the dot, upper case. A code matches when its first
 * strlen(lo) characters lie in [lo, hi] (lo and hi have the same length), so "G800".."G804"
 * is G80.0-G80.4 with any extension and "S48".."S48" is the S48 category.
 *
 * Each row also says what must be documented besides the code (a code alone never
 * approves an MTP group): every bit of all_of, and at least one bit of any_of when any_of is
 * not 0, whoever recorded them. Without them the outcome is REQUIRES_PHYSICIAN_REVIEW. Rows of
 * group CCS (CCS conditions for the treatment and diagnostic lines) may require nothing more
 * than the code confirmed by a medical review. */
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
	ccs_elig_basis basis;        /* whose medical rules decide the line */
} ccs_elig_line_rule;

typedef struct {
	const char *version;     /* e.g. "2026.1" */
	const char *description; /* one line, for listings */

	const ccs_elig_code_rule *codes;
	size_t ncodes;
	const ccs_elig_group_rule *groups;
	size_t ngroups;
	ccs_elig_line_rule lines[CCS_ELIG_NLINES];

	/* An MTP condition met (groups A) is also a CCS condition for the treatment and
	 * diagnostic lines. */
	bool mtp_groups_are_ccs_conditions;
	/* OPEN: no legal deadline for the physician's review was found; a service target */
	int physician_review_target_days; /* 30 */
	/* closure when the signed application never returns: days after the return date;
	 * 0 = never close */
	int application_closure_days; /* 30 */

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
	bool agi_threshold_inclusive; /* HSC 123870(a)(1) "or less": true; false "< 40,000" */
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
	ccs_elig_tri state_resident; /* permanent California resident; UNKNOWN: pending */
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

/* The medical consultant's determination, per basis (the fold files it by its scope). */
typedef struct {
	bool present;
	bool eligible;            /* false: not eligible (the only medical denial) */
	ccs_elig_group group;     /* relied on; NONE allowed only when not eligible */
	uint32_t findings;        /* relied on */
	ccs_date determined;      /* or INVALID */
} ccs_elig_physician;

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
	ccs_date postmarked;    /* or INVALID (hand-delivered: judged on filed) */
	/* denial reasons a first-level appeal overturned; they no longer deny */
	uint64_t overturned;
} ccs_elig_appeal;

typedef struct {
	bool evaluated;
	ccs_elig_tri medically_necessary; /* UNKNOWN: not stated, no effect */
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
	ccs_elig_physician physician[CCS_ELIG_NBASES]; /* index = ccs_elig_basis */
	ccs_date review_since; /* first day of the current wait for physician review, or INVALID
				* (then as_of) */
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

	/* who decided the medical outcome the decision rests on (the MTP basis when an MTP
	 * line is requested, else the CCS basis) */
	ccs_elig_determined_by determined_by;
	const char *rule;              /* condition id, "at_risk", ...; static storage; never NULL */
	ccs_elig_reason recommendation; /* while awaiting a physician: what the rules suggest */
	bool awaiting_physician;       /* some requested line waits for physician review */
	ccs_elig_notice_action notice_action;
	ccs_date notice_effective;     /* or INVALID */
	ccs_elig_appeal_status appeal_status;
	ccs_date application_send_due, application_return_due; /* or INVALID (no referral date) */
} ccs_elig_result;

/* ---- Rule sets: data files (ruleset.c describes the format) ---- */
typedef struct ccs_elig_rules ccs_elig_rules; /* a loaded collection of rule sets */
ccs_elig_rules *ccs_elig_rules_new(void);
void ccs_elig_rules_free(ccs_elig_rules *reg);
/* Parse one file held in memory into reg; `source` names it in messages. 0, or -EINVAL with
 * "<source>:<line>: <reason>" in errbuf (reg is unchanged then). */
int ccs_elig_rules_parse(ccs_elig_rules *reg, const char *data, size_t len, const char *source,
			 char *errbuf, size_t errlen) CCS_ELIG_WUR;
/* Every *.rules file of a directory (a set that extends another may come in any order);
 * exactly one must be the default. */
int ccs_elig_rules_load_dir(const char *dir, ccs_elig_rules **out, char *errbuf,
			    size_t errlen) CCS_ELIG_WUR;
const ccs_elig_ruleset *ccs_elig_rules_find(const ccs_elig_rules *reg, const char *version);
const ccs_elig_ruleset *ccs_elig_rules_default(const ccs_elig_rules *reg);
size_t ccs_elig_rules_count(const ccs_elig_rules *reg);
const ccs_elig_ruleset *ccs_elig_rules_at(const ccs_elig_rules *reg, size_t i);
/* The shipped files, embedded at build time (parsed once; aborts if they are invalid). */
const ccs_elig_rules *ccs_elig_rules_builtin_get(void);

/* The built-in registry's sets. */
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
ccs_elig_group ccs_elig_group_from_str(const char *s); /* NONE if unknown */
ccs_elig_deadline_kind ccs_elig_deadline_from_str(const char *s); /* NONE if unknown */
/* Denial reasons: the codes that make a line NOT_ELIGIBLE (an appeal can overturn them). */
ccs_elig_reason_set ccs_elig_denial_reasons(void);
const char *ccs_elig_deadline_str(ccs_elig_deadline_kind k); /* "NOA_DUE" */
const char *ccs_elig_appeal_to_str(ccs_elig_appeal_to a); /* "COUNTY_DIRECTOR" */
/* True for kinds whose date reveals the birth date (age-out, at-risk limits). */
bool ccs_elig_deadline_reveals_birth_date(ccs_elig_deadline_kind k);
/* Compact JSON, one line, codes and ids only. Length written, or -ENOSPC (truncated). */
int ccs_elig_result_to_json(const ccs_elig_result *r, char *buf, size_t len) CCS_ELIG_WUR;

#endif
