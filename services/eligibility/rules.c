/*
 * The eligibility rules engine: generic evaluation over a data rule set (see rules.h for the
 * model and ruleset.c for the rules themselves).
 *
 * How a decision is built
 * -----------------------
 * Each layer is evaluated in full and contributes its reasons, so a decision lists every
 * reason that applied, even when an earlier gate already decides the outcome:
 *   1. gates: age, residency, application                    -> gate outcome
 *   2. medical: codes routed through the code table, each condition's documented findings;
 *      with no qualifying code, the at-risk rule (group B)    -> medical outcome
 *   3. financial: exemptions and tests, once, for the lines that need it
 *   4. MTU evaluation: medical necessity of therapy, plan changes
 *   5. per line, a fixed precedence: gate (not eligible, transfer, pending), then medical
 *      (pending, physician review, not eligible), then MTU, then financial, then eligible
 *   6. overall: gates, then a non-eligible medical outcome, then the lines (any line
 *      eligible: eligible; any pending: pending; else not eligible)
 *   7. deadlines, appeal routing and continuation of services.
 * No branch names a diagnosis code, an amount or a number of days: those come from the rule
 * set. The engine never allocates, logs or reads the clock.
 */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ccs/err.h"

/* Dates the engine accepts: anything a child's case can contain, with room for +21 years. */
#define DATE_MIN_Y 1900
#define DATE_MAX_Y 2199
/* Amounts beyond this are data errors, and would overflow the percentage test. */
#define AMOUNT_MAX_CENTS 1000000000000000LL
#define GA_MIN_WEEKS 20
#define GA_MAX_WEEKS 44
#define CODE_NORM_LEN 8 /* 7 characters and a NUL */

/* ---- strings ---- */

static const char *const reason_names[CCS_ELIG_R_COUNT] = {
	[CCS_ELIG_R_NONE] = "NONE",
	[CCS_ELIG_R_NOT_ELIGIBLE_AGE] = "NOT_ELIGIBLE_AGE",
	[CCS_ELIG_R_NOT_ELIGIBLE_RESIDENCY_STATE] = "NOT_ELIGIBLE_RESIDENCY_STATE",
	[CCS_ELIG_R_TRANSFER_COUNTY] = "TRANSFER_COUNTY",
	[CCS_ELIG_R_PENDING_APPLICATION] = "PENDING_APPLICATION",
	[CCS_ELIG_R_PENDING_RECORDS] = "PENDING_RECORDS",
	[CCS_ELIG_R_PENDING_RESIDENCY] = "PENDING_RESIDENCY",
	[CCS_ELIG_R_NOT_ELIGIBLE_APPLICATION_NOT_RETURNED] = "NOT_ELIGIBLE_APPLICATION_NOT_RETURNED",
	[CCS_ELIG_R_ELIGIBLE_MTP_CP] = "ELIGIBLE_MTP_CP",
	[CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR] = "ELIGIBLE_MTP_NEUROMUSCULAR",
	[CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL] = "ELIGIBLE_MTP_MUSCULOSKELETAL",
	[CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS] = "ELIGIBLE_MTP_OTHER_CNS",
	[CCS_ELIG_R_AT_RISK_UNDER_3] = "AT_RISK_UNDER_3",
	[CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS] =
		"NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS",
	[CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE] = "NOT_ELIGIBLE_AT_RISK_AGE",
	[CCS_ELIG_R_NOT_ELIGIBLE_CONDITION] = "NOT_ELIGIBLE_CONDITION",
	[CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW] = "REQUIRES_PHYSICIAN_REVIEW",
	[CCS_ELIG_R_ELIGIBLE_CCS_CONDITION] = "ELIGIBLE_CCS_CONDITION",
	[CCS_ELIG_R_ELIGIBLE_APPEAL_OVERTURNED] = "ELIGIBLE_APPEAL_OVERTURNED",
	[CCS_ELIG_R_FIN_EXEMPT_MTP_ONLY] = "FIN_EXEMPT_MTP_ONLY",
	[CCS_ELIG_R_FIN_EXEMPT_DIAGNOSTIC] = "FIN_EXEMPT_DIAGNOSTIC",
	[CCS_ELIG_R_FIN_EXEMPT_ADOPTED_KNOWN_CONDITION] = "FIN_EXEMPT_ADOPTED_KNOWN_CONDITION",
	[CCS_ELIG_R_FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC] =
		"FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC",
	[CCS_ELIG_R_FIN_ELIGIBLE_AGI_UNDER_40K] = "FIN_ELIGIBLE_AGI_UNDER_40K",
	[CCS_ELIG_R_FIN_ELIGIBLE_OOP_OVER_20PCT] = "FIN_ELIGIBLE_OOP_OVER_20PCT",
	[CCS_ELIG_R_PENDING_FINANCIAL_DOCS] = "PENDING_FINANCIAL_DOCS",
	[CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL] = "NOT_ELIGIBLE_FINANCIAL",
	[CCS_ELIG_R_NOT_MEDICALLY_NECESSARY] = "NOT_MEDICALLY_NECESSARY",
	[CCS_ELIG_R_REFER_LEA_EDUCATIONAL] = "REFER_LEA_EDUCATIONAL",
	[CCS_ELIG_R_THERAPY_PLAN_CHANGE] = "THERAPY_PLAN_CHANGE",
};

static const char *const outcome_names[] = {
	[CCS_ELIG_OUTCOME_NONE] = "NONE",
	[CCS_ELIG_OUTCOME_ELIGIBLE] = "ELIGIBLE",
	[CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE] = "AT_RISK_ELIGIBLE",
	[CCS_ELIG_OUTCOME_NOT_ELIGIBLE] = "NOT_ELIGIBLE",
	[CCS_ELIG_OUTCOME_PENDING] = "PENDING",
	[CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW] = "REQUIRES_PHYSICIAN_REVIEW",
	[CCS_ELIG_OUTCOME_TRANSFER] = "TRANSFER",
};

static const char *const line_names[] = {
	[0] = "?",
	[CCS_ELIG_LINE_MTP_THERAPY] = "MTP_THERAPY",
	[CCS_ELIG_LINE_MTP_EQUIPMENT] = "MTP_EQUIPMENT",
	[CCS_ELIG_LINE_CCS_TREATMENT] = "CCS_TREATMENT",
	[CCS_ELIG_LINE_DIAGNOSTIC] = "DIAGNOSTIC",
};

static const char *const group_names[CCS_ELIG_GROUP_COUNT] = {
	[CCS_ELIG_GROUP_NONE] = "NONE",
	[CCS_ELIG_GROUP_CP] = "CP",
	[CCS_ELIG_GROUP_NEUROMUSCULAR] = "NEUROMUSCULAR",
	[CCS_ELIG_GROUP_MUSCULOSKELETAL] = "MUSCULOSKELETAL",
	[CCS_ELIG_GROUP_OTHER_CNS] = "OTHER_CNS",
	[CCS_ELIG_GROUP_AT_RISK] = "AT_RISK",
	[CCS_ELIG_GROUP_CCS] = "CCS",
};

/* Timer kinds: name, and whether the date is derived from the birth date (never logged). */
static const struct {
	const char *name;
	bool from_birth_date;
} deadline_info[CCS_ELIG_DL_COUNT] = {
	[CCS_ELIG_DL_NONE] = {"NONE", false},
	[CCS_ELIG_DL_NOA_DUE] = {"NOA_DUE", false},
	[CCS_ELIG_DL_APPEAL_WINDOW_CLOSES] = {"APPEAL_WINDOW_CLOSES", false},
	[CCS_ELIG_DL_APPEAL_RESPONSE_DUE] = {"APPEAL_RESPONSE_DUE", false},
	[CCS_ELIG_DL_FAIR_HEARING_WINDOW_CLOSES] = {"FAIR_HEARING_WINDOW_CLOSES", false},
	[CCS_ELIG_DL_AT_RISK_REASSESS_DUE] = {"AT_RISK_REASSESS_DUE", true},
	[CCS_ELIG_DL_AGE_OUT] = {"AGE_OUT", true},
	[CCS_ELIG_DL_ANNUAL_REDETERMINATION_DUE] = {"ANNUAL_REDETERMINATION_DUE", false},
	[CCS_ELIG_DL_ANNUAL_REDETERMINATION_NOTICE_DUE] = {"ANNUAL_REDETERMINATION_NOTICE_DUE", false},
	[CCS_ELIG_DL_APPLICATION_SEND_DUE] = {"APPLICATION_SEND_DUE", false},
	[CCS_ELIG_DL_APPLICATION_RETURN_DUE] = {"APPLICATION_RETURN_DUE", false},
	[CCS_ELIG_DL_FINANCIAL_DETERMINATION_DUE] = {"FINANCIAL_DETERMINATION_DUE", false},
	[CCS_ELIG_DL_RESIDENCY_DETERMINATION_DUE] = {"RESIDENCY_DETERMINATION_DUE", false},
	[CCS_ELIG_DL_THERAPY_PLAN_NOTICE_DUE] = {"THERAPY_PLAN_NOTICE_DUE", false},
	[CCS_ELIG_DL_AT_RISK_AGE_LIMIT] = {"AT_RISK_AGE_LIMIT", true},
	[CCS_ELIG_DL_HYPOTONIA_AGE_LIMIT] = {"HYPOTONIA_AGE_LIMIT", true},
	[CCS_ELIG_DL_PHYSICIAN_REVIEW_DUE] = {"PHYSICIAN_REVIEW_DUE", false},
	[CCS_ELIG_DL_APPLICATION_CLOSURE_DUE] = {"APPLICATION_CLOSURE_DUE", false},
};

/* The reasons that deny (make a line NOT_ELIGIBLE); an overturned appeal lifts them. */
#define DENIALS                                                                             \
	(CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_AGE) |                                       \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_RESIDENCY_STATE) |                           \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_APPLICATION_NOT_RETURNED) |                  \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS) |             \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE) |                               \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_CONDITION) |                                 \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL) |                                 \
	 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_MEDICALLY_NECESSARY))

ccs_elig_reason_set ccs_elig_denial_reasons(void)
{
	return DENIALS;
}

static const char *const appeal_to_names[] = {
	[CCS_ELIG_APPEAL_TO_UNKNOWN] = "UNKNOWN",
	[CCS_ELIG_APPEAL_TO_COUNTY_DIRECTOR] = "COUNTY_DIRECTOR",
	[CCS_ELIG_APPEAL_TO_REGIONAL_OFFICE] = "REGIONAL_OFFICE",
};

/* Where an appeal goes, per county model (22 CCR 42160). */
static const ccs_elig_appeal_to appeal_route[] = {
	[CCS_ELIG_COUNTY_UNKNOWN] = CCS_ELIG_APPEAL_TO_UNKNOWN,
	[CCS_ELIG_COUNTY_INDEPENDENT] = CCS_ELIG_APPEAL_TO_COUNTY_DIRECTOR,
	[CCS_ELIG_COUNTY_DEPENDENT] = CCS_ELIG_APPEAL_TO_REGIONAL_OFFICE,
};

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *ccs_elig_reason_str(ccs_elig_reason r)
{
	return (unsigned)r < CCS_ELIG_R_COUNT ? reason_names[r] : "?";
}

ccs_elig_reason ccs_elig_reason_from_str(const char *s)
{
	if (!s)
		return CCS_ELIG_R_NONE;
	for (int r = 1; r < CCS_ELIG_R_COUNT; r++)
		if (strcmp(reason_names[r], s) == 0)
			return (ccs_elig_reason)r;
	return CCS_ELIG_R_NONE;
}

const char *ccs_elig_outcome_str(ccs_elig_outcome o)
{
	return (unsigned)o < NELEMS(outcome_names) ? outcome_names[o] : "?";
}

ccs_elig_outcome ccs_elig_outcome_from_str(const char *s)
{
	if (!s)
		return CCS_ELIG_OUTCOME_NONE;
	for (unsigned o = 1; o < NELEMS(outcome_names); o++)
		if (strcmp(outcome_names[o], s) == 0)
			return (ccs_elig_outcome)o;
	return CCS_ELIG_OUTCOME_NONE;
}

const char *ccs_elig_line_str(ccs_elig_line l)
{
	return (unsigned)l < NELEMS(line_names) ? line_names[l] : "?";
}

const char *ccs_elig_group_str(ccs_elig_group g)
{
	return (unsigned)g < CCS_ELIG_GROUP_COUNT ? group_names[g] : "?";
}

ccs_elig_group ccs_elig_group_from_str(const char *s)
{
	for (int g = 1; s && g < CCS_ELIG_GROUP_COUNT; g++)
		if (strcmp(group_names[g], s) == 0)
			return (ccs_elig_group)g;
	return CCS_ELIG_GROUP_NONE;
}

ccs_elig_deadline_kind ccs_elig_deadline_from_str(const char *s)
{
	for (int k = 1; s && k < CCS_ELIG_DL_COUNT; k++)
		if (strcmp(deadline_info[k].name, s) == 0)
			return (ccs_elig_deadline_kind)k;
	return CCS_ELIG_DL_NONE;
}

const char *ccs_elig_deadline_str(ccs_elig_deadline_kind k)
{
	return (unsigned)k < CCS_ELIG_DL_COUNT ? deadline_info[k].name : "?";
}

bool ccs_elig_deadline_reveals_birth_date(ccs_elig_deadline_kind k)
{
	return (unsigned)k < CCS_ELIG_DL_COUNT && deadline_info[k].from_birth_date;
}

const char *ccs_elig_appeal_to_str(ccs_elig_appeal_to a)
{
	return (unsigned)a < NELEMS(appeal_to_names) ? appeal_to_names[a] : "?";
}

/* ---- small helpers ---- */

static bool date_in_range(ccs_date d)
{
	return d >= ccs_date_from_ymd(DATE_MIN_Y, 1, 1) && d <= ccs_date_from_ymd(DATE_MAX_Y, 12, 31);
}

static bool opt_date_ok(ccs_date d)
{
	return d == CCS_DATE_INVALID || date_in_range(d);
}

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char upcase(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/*
 * ICD-10-CM shape: a letter, a digit, an alphanumeric, then up to four alphanumerics, with an
 * optional dot after the third character. Writes the upper-case form without the dot.
 */
static int normalise_code(const char *in, size_t inlen, char out[CODE_NORM_LEN])
{
	size_t n = 0;

	for (size_t i = 0; i < inlen && in[i] != '\0'; i++) {
		char c = upcase(in[i]);
		if (c == '.') {
			if (n != 3 || (i > 0 && in[i - 1] == '.'))
				return -EINVAL;
			continue;
		}
		if (!is_upper(c) && !is_digit(c))
			return -EINVAL;
		if (n == 0 && !is_upper(c))
			return -EINVAL;
		if (n == 1 && !is_digit(c))
			return -EINVAL;
		if (n >= CODE_NORM_LEN - 1)
			return -EINVAL;
		out[n++] = c;
	}
	if (n < 3)
		return -EINVAL;
	out[n] = '\0';
	return 0;
}

static const ccs_elig_code_rule *find_code_rule(const ccs_elig_ruleset *rs, const char *norm)
{
	size_t len = strlen(norm);

	for (size_t i = 0; i < rs->ncodes; i++) {
		const ccs_elig_code_rule *c = &rs->codes[i];
		size_t n = strlen(c->lo);
		if (len < n)
			continue;
		if (strncmp(norm, c->lo, n) >= 0 && strncmp(norm, c->hi, n) <= 0)
			return c;
	}
	return NULL;
}

ccs_elig_group ccs_elig_code_group(const ccs_elig_ruleset *rs, const char *code,
				   const char **condition)
{
	char norm[CODE_NORM_LEN];
	const ccs_elig_code_rule *c;

	if (condition)
		*condition = NULL;
	if (!rs || !code || normalise_code(code, strlen(code), norm) != 0)
		return CCS_ELIG_GROUP_NONE;
	c = find_code_rule(rs, norm);
	if (!c)
		return CCS_ELIG_GROUP_NONE;
	if (condition)
		*condition = c->condition;
	return c->group;
}

static ccs_elig_reason group_reason(const ccs_elig_ruleset *rs, ccs_elig_group g)
{
	for (size_t i = 0; i < rs->ngroups; i++)
		if (rs->groups[i].group == g)
			return rs->groups[i].eligible_reason;
	return CCS_ELIG_R_NONE;
}

static int popcount32(uint32_t x)
{
	int n = 0;
	for (; x; x &= x - 1)
		n++;
	return n;
}

/* ---- rule sets ---- */

int ccs_elig_ruleset_validate(const ccs_elig_ruleset *rs, char *errbuf, size_t errlen)
{
	int rc = -EINVAL;

	if (!rs || !rs->version || !rs->version[0] ||
	    strlen(rs->version) >= CCS_ELIG_VERSION_LEN) {
		ccs_errf(errbuf, errlen, "rule set: missing or overlong version");
		goto out;
	}
	for (size_t i = 0; i < rs->ncodes; i++) {
		const ccs_elig_code_rule *c = &rs->codes[i];
		char lo[CODE_NORM_LEN], hi[CODE_NORM_LEN];
		if (!c->lo || !c->hi || strlen(c->lo) != strlen(c->hi) ||
		    normalise_code(c->lo, strlen(c->lo), lo) != 0 || strcmp(lo, c->lo) != 0 ||
		    normalise_code(c->hi, strlen(c->hi), hi) != 0 || strcmp(hi, c->hi) != 0 ||
		    strcmp(c->lo, c->hi) > 0) {
			ccs_errf(errbuf, errlen, "rule set %s: code row %zu malformed", rs->version, i);
			goto out;
		}
		if (c->group <= CCS_ELIG_GROUP_NONE || c->group >= CCS_ELIG_GROUP_COUNT ||
		    c->group == CCS_ELIG_GROUP_AT_RISK ||
		    group_reason(rs, c->group) == CCS_ELIG_R_NONE || !c->condition) {
			ccs_errf(errbuf, errlen, "rule set %s: code row %zu has no group rule",
			       rs->version, i);
			goto out;
		}
		if ((c->all_of | c->any_of) == 0 && c->group != CCS_ELIG_GROUP_CCS) {
			/* a code alone never approves an MTP group */
			ccs_errf(errbuf, errlen, "rule set %s: code row %zu requires no findings",
			       rs->version, i);
			goto out;
		}
	}
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		if (rs->lines[l].line != (ccs_elig_line)(l + 1)) {
			ccs_errf(errbuf, errlen, "rule set %s: line rules out of order", rs->version);
			goto out;
		}
		if ((unsigned)rs->lines[l].basis >= CCS_ELIG_NBASES) {
			ccs_errf(errbuf, errlen, "rule set %s: line %d has no medical basis", rs->version,
				 l + 1);
			goto out;
		}
		if (!rs->lines[l].needs_financial && rs->lines[l].exemption == CCS_ELIG_R_NONE) {
			ccs_errf(errbuf, errlen, "rule set %s: line %d exempt without a reason",
			       rs->version, l + 1);
			goto out;
		}
	}
	for (int r = 1; r < CCS_ELIG_R_COUNT; r++) {
		if (!rs->citation[r] || !rs->citation[r][0]) {
			ccs_errf(errbuf, errlen, "rule set %s: no citation for %s", rs->version,
			       reason_names[r]);
			goto out;
		}
	}
	if (rs->age_limit_years <= 0 || rs->at_risk_limit_months <= 0 ||
	    rs->at_risk_min_findings <= 0 || rs->term_weeks <= 0 || rs->agi_threshold_cents <= 0 ||
	    rs->oop_percent_of_agi <= 0 || rs->redetermination_years <= 0 ||
	    rs->physician_review_target_days <= 0 || rs->application_closure_days < 0 ||
	    rs->noa_days <= 0 || rs->appeal_window_days <= 0 || rs->appeal_response_days <= 0 ||
	    rs->fair_hearing_days <= 0 || rs->application_return_days <= 0 ||
	    rs->application_send_days <= 0) {
		ccs_errf(errbuf, errlen, "rule set %s: non-positive limit", rs->version);
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* ---- facts ---- */

void ccs_elig_facts_init(ccs_elig_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->birth_date = CCS_DATE_INVALID;
	f->residency.info_received = CCS_DATE_INVALID;
	f->referral_date = CCS_DATE_INVALID;
	f->application_sent = CCS_DATE_INVALID;
	f->application_received = CCS_DATE_INVALID;
	f->medical.exam_date = CCS_DATE_INVALID;
	f->financial.info_received = CCS_DATE_INVALID;
	f->financial.determined_on = CCS_DATE_INVALID;
	f->appeal.decision_date = CCS_DATE_INVALID;
	f->appeal.noa_sent = CCS_DATE_INVALID;
	f->appeal.filed = CCS_DATE_INVALID;
	f->appeal.decided = CCS_DATE_INVALID;
	f->mtu.evaluated_date = CCS_DATE_INVALID;
	f->mtu.plan_change_effective = CCS_DATE_INVALID;
	f->appeal.postmarked = CCS_DATE_INVALID;
	f->physician[CCS_ELIG_BASIS_MTP].determined = CCS_DATE_INVALID;
	f->physician[CCS_ELIG_BASIS_CCS].determined = CCS_DATE_INVALID;
	f->review_since = CCS_DATE_INVALID;
}

int ccs_elig_facts_add_code(ccs_elig_facts *f, const char *code)
{
	char norm[CODE_NORM_LEN];
	size_t len;

	if (!f || !code)
		return -EINVAL;
	len = strnlen(code, CCS_ELIG_CODE_LEN);
	if (len >= CCS_ELIG_CODE_LEN || normalise_code(code, len, norm) != 0)
		return -EINVAL;
	if (f->medical.ncodes >= CCS_ELIG_MAX_CODES)
		return -ENOSPC;
	memcpy(f->medical.codes[f->medical.ncodes], code, len);
	f->medical.codes[f->medical.ncodes][len] = '\0';
	f->medical.ncodes++;
	return 0;
}

int ccs_elig_facts_validate(const ccs_elig_facts *f, ccs_date as_of, char *errbuf, size_t errlen)
{
	int rc = -EINVAL;
	const struct {
		ccs_date d;
		const char *name;
	} dates[] = {
		{f ? f->residency.info_received : 0, "residency.info_received"},
		{f ? f->referral_date : 0, "referral_date"},
		{f ? f->application_sent : 0, "application_sent"},
		{f ? f->application_received : 0, "application_received"},
		{f ? f->medical.exam_date : 0, "medical.exam_date"},
		{f ? f->financial.info_received : 0, "financial.info_received"},
		{f ? f->financial.determined_on : 0, "financial.determined_on"},
		{f ? f->appeal.decision_date : 0, "appeal.decision_date"},
		{f ? f->appeal.noa_sent : 0, "appeal.noa_sent"},
		{f ? f->appeal.filed : 0, "appeal.filed"},
		{f ? f->appeal.decided : 0, "appeal.decided"},
		{f ? f->mtu.evaluated_date : 0, "mtu.evaluated_date"},
		{f ? f->mtu.plan_change_effective : 0, "mtu.plan_change_effective"},
		{f ? f->appeal.postmarked : 0, "appeal.postmarked"},
		{f ? f->physician[0].determined : 0, "physician.determined"},
		{f ? f->physician[1].determined : 0, "physician.determined"},
		{f ? f->review_since : 0, "review_since"},
	};

	if (!f) {
		ccs_errf(errbuf, errlen, "no facts");
		goto out;
	}
	if (!date_in_range(as_of)) {
		ccs_errf(errbuf, errlen, "as_of out of range");
		goto out;
	}
	if (!date_in_range(f->birth_date) || f->birth_date > as_of) {
		ccs_errf(errbuf, errlen, "birth date missing, out of range or after as_of");
		goto out;
	}
	for (size_t i = 0; i < NELEMS(dates); i++) {
		if (!opt_date_ok(dates[i].d)) {
			ccs_errf(errbuf, errlen, "%s out of range", dates[i].name);
			goto out;
		}
	}
	if ((unsigned)f->county_model > CCS_ELIG_COUNTY_DEPENDENT ||
	    (unsigned)f->financial.medi_cal > CCS_ELIG_MEDI_CAL_RESTRICTED ||
	    (unsigned)f->medical.reviewer > CCS_ELIG_REVIEWER_THERAPY_SUPERVISOR ||
	    (unsigned)f->appeal.result > CCS_ELIG_APPEAL_OVERTURNED ||
	    (unsigned)f->residency.state_resident > CCS_ELIG_TRI_NO ||
	    (unsigned)f->mtu.medically_necessary > CCS_ELIG_TRI_NO ||
	    (unsigned)f->physician[0].group >= CCS_ELIG_GROUP_COUNT ||
	    (unsigned)f->physician[1].group >= CCS_ELIG_GROUP_COUNT ||
	    (f->appeal.overturned & ~(uint64_t)DENIALS) != 0) {
		ccs_errf(errbuf, errlen, "enum value out of range");
		goto out;
	}
	if (f->lines_requested == 0 || (f->lines_requested & ~(unsigned)CCS_ELIG_LINES_ALL) != 0) {
		ccs_errf(errbuf, errlen, "no service line requested, or an unknown line");
		goto out;
	}
	if (f->medical.ncodes > CCS_ELIG_MAX_CODES) {
		ccs_errf(errbuf, errlen, "too many diagnosis codes");
		goto out;
	}
	for (unsigned i = 0; i < f->medical.ncodes; i++) {
		char norm[CODE_NORM_LEN];
		size_t len = strnlen(f->medical.codes[i], CCS_ELIG_CODE_LEN);
		if (len >= CCS_ELIG_CODE_LEN || normalise_code(f->medical.codes[i], len, norm) != 0) {
			ccs_errf(errbuf, errlen, "medical.codes[%u] is not an ICD-10-CM code", i);
			goto out;
		}
	}
	if ((f->medical.findings & ~(uint32_t)CCS_ELIG_F_INPUT_ALL) != 0 ||
	    (f->physician[0].findings & ~(uint32_t)CCS_ELIG_F_INPUT_ALL) != 0 ||
	    (f->physician[1].findings & ~(uint32_t)CCS_ELIG_F_INPUT_ALL) != 0) {
		ccs_errf(errbuf, errlen, "unknown medical finding bits");
		goto out;
	}
	if (f->medical.gestational_weeks != 0 && (f->medical.gestational_weeks < GA_MIN_WEEKS ||
						  f->medical.gestational_weeks > GA_MAX_WEEKS)) {
		ccs_errf(errbuf, errlen, "gestational age out of range");
		goto out;
	}
	if (f->financial.agi_cents > AMOUNT_MAX_CENTS || f->financial.agi_cents < -AMOUNT_MAX_CENTS ||
	    f->financial.expected_oop_cents < 0 ||
	    f->financial.expected_oop_cents > AMOUNT_MAX_CENTS) {
		ccs_errf(errbuf, errlen, "financial amount out of range");
		goto out;
	}
	if ((f->appeal.result != CCS_ELIG_APPEAL_NONE) != (f->appeal.decided != CCS_DATE_INVALID)) {
		ccs_errf(errbuf, errlen, "appeal result and decided date must come together");
		goto out;
	}
	if (f->mtu.plan_change && f->mtu.plan_change_effective == CCS_DATE_INVALID) {
		ccs_errf(errbuf, errlen, "therapy plan change without an effective date");
		goto out;
	}
	rc = 0;
out:
	return rc;
}

/* ---- evaluation ---- */

/* One basis's medical outcome, and who decided it. */
struct med {
	ccs_elig_reason_set r;
	ccs_elig_outcome o;
	ccs_elig_determined_by by;
	const char *rule;
	ccs_elig_reason recommendation; /* while awaiting a physician */
	bool at_risk_basis;             /* at-risk findings were the basis */
};

/* Per-layer state while a decision is built. */
struct eval {
	const ccs_elig_facts *f;
	const ccs_elig_ruleset *rs;
	ccs_date as_of;

	ccs_elig_reason_set gate_r;
	ccs_elig_outcome gate_o; /* NONE when every gate passes */
	struct med med[CCS_ELIG_NBASES];
	ccs_elig_reason_set fin_r;
	ccs_elig_outcome fin_o;
	ccs_elig_reason_set mtu_r;
	ccs_elig_outcome mtu_o; /* NONE unless therapy is found not medically necessary */

	uint32_t groups_mask;
	bool hypotonia_decisive;  /* at risk only because hypotonicity still counts */
	ccs_date hypotonia_limit; /* the day it stops counting */
	ccs_date closure;         /* application closure date, or INVALID */
};

static bool is_eligible(ccs_elig_outcome o)
{
	return o == CCS_ELIG_OUTCOME_ELIGIBLE || o == CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE;
}

/*
 * A layer that denies on reasons an appeal overturned denies no more: the overturned reasons
 * are dropped and the layer passes, saying why. Denials the appeal did not cover still apply.
 */
static void overturn(const struct eval *e, ccs_elig_reason_set *r, ccs_elig_outcome *o,
		     ccs_elig_outcome passed)
{
	ccs_elig_reason_set ov = e->f->appeal.overturned;
	ccs_elig_reason_set denials = *r & DENIALS;

	if (*o != CCS_ELIG_OUTCOME_NOT_ELIGIBLE || !denials || (denials & ~ov))
		return;
	*r &= ~(denials | CCS_ELIG_RBIT(CCS_ELIG_R_REFER_LEA_EDUCATIONAL));
	*r |= CCS_ELIG_RBIT(CCS_ELIG_R_ELIGIBLE_APPEAL_OVERTURNED);
	*o = passed;
}

static void eval_gates(struct eval *e)
{
	const ccs_elig_facts *f = e->f;
	const ccs_elig_ruleset *rs = e->rs;

	e->closure = CCS_DATE_INVALID;
	if (ccs_date_age_years(f->birth_date, e->as_of) >= rs->age_limit_years)
		e->gate_r |= CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_AGE);
	/* residency: only a stated "not a resident" denies; unknown stays pending */
	if (!f->residency.verified || f->residency.state_resident == CCS_ELIG_TRI_UNKNOWN)
		e->gate_r |= CCS_ELIG_RBIT(CCS_ELIG_R_PENDING_RESIDENCY);
	else if (f->residency.state_resident == CCS_ELIG_TRI_NO)
		e->gate_r |= CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_RESIDENCY_STATE);
	else if (!f->residency.same_county)
		e->gate_r |= CCS_ELIG_RBIT(CCS_ELIG_R_TRANSFER_COUNTY);
	if (f->application_received == CCS_DATE_INVALID) {
		if (f->referral_date != CCS_DATE_INVALID && rs->application_closure_days > 0)
			e->closure = f->referral_date + rs->application_return_days +
				     rs->application_closure_days;
		if (e->closure != CCS_DATE_INVALID && e->as_of >= e->closure)
			e->gate_r |= CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_APPLICATION_NOT_RETURNED);
		else
			e->gate_r |= CCS_ELIG_RBIT(CCS_ELIG_R_PENDING_APPLICATION);
	}

	if (e->gate_r & (CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_AGE) |
			 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_RESIDENCY_STATE) |
			 CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_APPLICATION_NOT_RETURNED)))
		e->gate_o = CCS_ELIG_OUTCOME_NOT_ELIGIBLE;
	else if (e->gate_r & CCS_ELIG_RBIT(CCS_ELIG_R_TRANSFER_COUNTY))
		e->gate_o = CCS_ELIG_OUTCOME_TRANSFER;
	else if (e->gate_r)
		e->gate_o = CCS_ELIG_OUTCOME_PENDING;
	else
		e->gate_o = CCS_ELIG_OUTCOME_NONE;
	overturn(e, &e->gate_r, &e->gate_o, CCS_ELIG_OUTCOME_NONE);
	if (e->gate_o == CCS_ELIG_OUTCOME_NONE &&
	    (e->gate_r & ~CCS_ELIG_RBIT(CCS_ELIG_R_ELIGIBLE_APPEAL_OVERTURNED)))
		e->gate_o = CCS_ELIG_OUTCOME_PENDING; /* what the appeal did not cover */
}

/* Birth date as the age-limited finding sees it: shifted by the weeks born early, when the
 * rule set corrects for prematurity and the child is still young enough for it. */
static ccs_date corrected_birth_date(const struct eval *e)
{
	const ccs_elig_ruleset *rs = e->rs;
	int ga = e->f->medical.gestational_weeks;

	if (!rs->prematurity_correction || ga == 0 || ga >= rs->preterm_below_weeks ||
	    ga >= rs->term_weeks)
		return e->f->birth_date;
	if (ccs_date_age_months(e->f->birth_date, e->as_of) >= rs->correction_until_months)
		return e->f->birth_date;
	return e->f->birth_date + (rs->term_weeks - ga) * 7;
}

static bool in_at_risk_window(const struct eval *e)
{
	int months = ccs_date_age_months(e->f->birth_date, e->as_of);
	return e->rs->at_risk_age_inclusive ? months <= e->rs->at_risk_limit_months
					    : months < e->rs->at_risk_limit_months;
}

static void med_set(struct med *m, ccs_elig_outcome o, ccs_elig_reason r, ccs_elig_determined_by by,
		    const char *rule)
{
	m->o = o;
	m->r |= CCS_ELIG_RBIT(r);
	m->by = by;
	m->rule = rule;
}

/* Nobody may deny on medical grounds but the physician: the rules' "no" is a recommendation. */
static void awaiting_physician(struct med *m, ccs_elig_reason recommendation, const char *rule)
{
	med_set(m, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW,
		CCS_ELIG_BY_PENDING, rule);
	m->recommendation = recommendation;
}

/*
 * Group B: no qualifying code, at-risk findings documented. Two or more distinct ones inside
 * the age window approve; anything else goes to the physician with the reason the rules would
 * give. Returns false when no at-risk finding is documented (the rule does not apply).
 */
static bool eval_at_risk(struct eval *e, struct med *m, uint32_t findings)
{
	const ccs_elig_ruleset *rs = e->rs;
	bool in_window = in_at_risk_window(e);
	uint32_t ar = findings & rs->at_risk_findings;

	if (!ar)
		return false;
	m->at_risk_basis = true;
	if (ar & rs->age_limited_finding) {
		ccs_date dob = rs->age_limited_finding_corrected_age ? corrected_birth_date(e)
								     : e->f->birth_date;
		int age = ccs_date_age_months(dob, e->as_of); /* 0 before the corrected date */
		if (age >= rs->age_limited_finding_max_months) {
			ar &= ~rs->age_limited_finding;
		} else if (popcount32(ar) == rs->at_risk_min_findings) {
			/* dropping it would fall below the minimum: the day it stops counting
			 * is a date the decision changes on */
			e->hypotonia_decisive = true;
			e->hypotonia_limit =
				ccs_date_add_months(dob, rs->age_limited_finding_max_months);
		}
	}
	if (in_window && popcount32(ar) >= rs->at_risk_min_findings) {
		med_set(m, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, CCS_ELIG_R_AT_RISK_UNDER_3,
			CCS_ELIG_BY_RULE, "at_risk");
		return true;
	}
	e->hypotonia_decisive = false;
	awaiting_physician(m, in_window ? CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS
					: CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE,
			   "at_risk");
	return true;
}

/* The physician's determination for one basis. False when there is none that applies. */
static bool eval_physician(struct eval *e, ccs_elig_basis b, struct med *m)
{
	const ccs_elig_physician *p = &e->f->physician[b];

	if (!p->present)
		return false;
	if (p->eligible) {
		if (p->group == CCS_ELIG_GROUP_AT_RISK) {
			/* at risk is an MTP rule, and only inside its age window */
			if (b != CCS_ELIG_BASIS_MTP || !in_at_risk_window(e))
				return false;
			m->at_risk_basis = true;
			med_set(m, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, CCS_ELIG_R_AT_RISK_UNDER_3,
				CCS_ELIG_BY_PHYSICIAN, "physician_determination");
			return true;
		}
		if (b == CCS_ELIG_BASIS_CCS) {
			med_set(m, CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_ELIGIBLE_CCS_CONDITION,
				CCS_ELIG_BY_PHYSICIAN, "physician_determination");
			return true;
		}
		if (p->group == CCS_ELIG_GROUP_CCS || group_reason(e->rs, p->group) == CCS_ELIG_R_NONE)
			return false; /* not an MTP condition: the MTP rules still apply */
		med_set(m, CCS_ELIG_OUTCOME_ELIGIBLE, group_reason(e->rs, p->group),
			CCS_ELIG_BY_PHYSICIAN, "physician_determination");
		return true;
	}
	/* the only medical denial; the at-risk reasons only where at-risk findings were the
	 * basis, NOT_ELIGIBLE_CONDITION otherwise */
	if (b == CCS_ELIG_BASIS_MTP &&
	    (p->group == CCS_ELIG_GROUP_AT_RISK || m->at_risk_basis ||
	     ((p->findings | e->f->medical.findings) & e->rs->at_risk_findings))) {
		m->at_risk_basis = true;
		med_set(m, CCS_ELIG_OUTCOME_NOT_ELIGIBLE,
			in_at_risk_window(e) ? CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS
					     : CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE,
			CCS_ELIG_BY_PHYSICIAN, "physician_determination");
	} else {
		med_set(m, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, CCS_ELIG_R_NOT_ELIGIBLE_CONDITION,
			CCS_ELIG_BY_PHYSICIAN, "physician_determination");
	}
	return true;
}

/*
 * Medical eligibility for both bases. A confirmed code routes to a condition row, which names
 * the findings it needs, whoever documented them (a recommendation that meets a rule
 * approves). The medical consultant's determination decides beyond the table and is the only
 * way to a medical denial: without it the rules' "no" is REQUIRES_PHYSICIAN_REVIEW.
 */
static void eval_medical(struct eval *e)
{
	const ccs_elig_medical *md = &e->f->medical;
	struct med *mtp = &e->med[CCS_ELIG_BASIS_MTP], *ccs = &e->med[CCS_ELIG_BASIS_CCS];
	uint32_t findings = md->findings & CCS_ELIG_F_INPUT_ALL;
	const char *mtp_rule = NULL, *ccs_rule = NULL, *routed_rule = NULL;
	ccs_elig_reason_set rule_r = 0;
	bool routed = false;

	memset(e->med, 0, sizeof(e->med));
	if (md->records_pending) {
		for (int b = 0; b < CCS_ELIG_NBASES; b++)
			med_set(&e->med[b], CCS_ELIG_OUTCOME_PENDING, CCS_ELIG_R_PENDING_RECORDS,
				CCS_ELIG_BY_PENDING, "");
		return;
	}
	for (unsigned i = 0; md->present && i < md->ncodes && i < CCS_ELIG_MAX_CODES; i++) {
		char norm[CODE_NORM_LEN];
		const ccs_elig_code_rule *c;
		if (normalise_code(md->codes[i], strnlen(md->codes[i], CCS_ELIG_CODE_LEN), norm) != 0)
			continue;
		c = find_code_rule(e->rs, norm);
		if (!c)
			continue;
		e->groups_mask |= 1u << c->group;
		bool met = (findings & c->all_of) == c->all_of &&
			   (c->any_of == 0 || (findings & c->any_of));
		if (c->group == CCS_ELIG_GROUP_CCS) {
			if (met && !ccs_rule)
				ccs_rule = c->condition;
			continue;
		}
		routed = true;
		if (!routed_rule)
			routed_rule = c->condition;
		if (met) {
			rule_r |= CCS_ELIG_RBIT(group_reason(e->rs, c->group));
			if (!mtp_rule)
				mtp_rule = c->condition;
		}
	}

	/* MTP: the physician's determination, else the rules */
	if (!eval_physician(e, CCS_ELIG_BASIS_MTP, mtp)) {
		if (!md->present)
			awaiting_physician(mtp, CCS_ELIG_R_NONE, "");
		else if (mtp_rule) {
			med_set(mtp, CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_NONE, CCS_ELIG_BY_RULE, mtp_rule);
			mtp->r |= rule_r;
		}
		else if (routed) /* a diagnosis code alone never approves */
			awaiting_physician(mtp, CCS_ELIG_R_NONE, routed_rule);
		else if (!eval_at_risk(e, mtp, findings))
			awaiting_physician(mtp, CCS_ELIG_R_NOT_ELIGIBLE_CONDITION, "");
	}
	mtp->r &= ~CCS_ELIG_RBIT(CCS_ELIG_R_NONE);

	/* CCS treatment and diagnostic: CCS conditions; at risk is not one */
	if (!eval_physician(e, CCS_ELIG_BASIS_CCS, ccs)) {
		bool mtp_counts = e->rs->mtp_groups_are_ccs_conditions &&
				  mtp->o == CCS_ELIG_OUTCOME_ELIGIBLE;
		if (!md->present && !mtp_counts)
			awaiting_physician(ccs, CCS_ELIG_R_NONE, "");
		else if (ccs_rule)
			med_set(ccs, CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_ELIGIBLE_CCS_CONDITION,
				CCS_ELIG_BY_RULE, ccs_rule);
		else if (mtp_counts)
			med_set(ccs, CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_ELIGIBLE_CCS_CONDITION, mtp->by,
				mtp->rule);
		else
			awaiting_physician(ccs, routed ? CCS_ELIG_R_NONE : CCS_ELIG_R_NOT_ELIGIBLE_CONDITION,
					   routed_rule ? routed_rule : "");
	}
	for (int b = 0; b < CCS_ELIG_NBASES; b++) {
		struct med *m = &e->med[b];
		if (m->o == CCS_ELIG_OUTCOME_NOT_ELIGIBLE) {
			overturn(e, &m->r, &m->o, CCS_ELIG_OUTCOME_ELIGIBLE);
			if (m->o == CCS_ELIG_OUTCOME_ELIGIBLE) {
				m->by = CCS_ELIG_BY_APPEAL;
				m->rule = "appeal_overturned";
			}
		}
		if (!m->rule)
			m->rule = "";
	}
}

/* The financial test, for the lines that need one. Every qualifying basis is listed. */
static void eval_financial(struct eval *e)
{
	const ccs_elig_financial *fi = &e->f->financial;
	const ccs_elig_ruleset *rs = e->rs;

	if (!fi->present) {
		e->fin_r = CCS_ELIG_RBIT(CCS_ELIG_R_PENDING_FINANCIAL_DOCS);
		e->fin_o = CCS_ELIG_OUTCOME_PENDING;
		return;
	}
	if (fi->adopted_known_condition) {
		e->fin_r = CCS_ELIG_RBIT(CCS_ELIG_R_FIN_EXEMPT_ADOPTED_KNOWN_CONDITION);
		e->fin_o = CCS_ELIG_OUTCOME_ELIGIBLE;
		return;
	}
	/* Medi-Cal status is verified from the Medi-Cal system, not the family's documents */
	if (fi->medi_cal == CCS_ELIG_MEDI_CAL_FULL_SCOPE_NO_SOC)
		e->fin_r |= CCS_ELIG_RBIT(CCS_ELIG_R_FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC);
	if (fi->documents_complete) {
		bool under = rs->agi_threshold_inclusive ? fi->agi_cents <= rs->agi_threshold_cents
							 : fi->agi_cents < rs->agi_threshold_cents;
		if (under)
			e->fin_r |= CCS_ELIG_RBIT(CCS_ELIG_R_FIN_ELIGIBLE_AGI_UNDER_40K);
		/* amounts are bounded by validation, so the products cannot overflow */
		if (fi->expected_oop_cents * 100 > fi->agi_cents * rs->oop_percent_of_agi)
			e->fin_r |= CCS_ELIG_RBIT(CCS_ELIG_R_FIN_ELIGIBLE_OOP_OVER_20PCT);
	}
	if (e->fin_r) {
		e->fin_o = CCS_ELIG_OUTCOME_ELIGIBLE;
	} else if (!fi->documents_complete) {
		e->fin_r = CCS_ELIG_RBIT(CCS_ELIG_R_PENDING_FINANCIAL_DOCS);
		e->fin_o = CCS_ELIG_OUTCOME_PENDING;
	} else {
		e->fin_r = CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL);
		e->fin_o = CCS_ELIG_OUTCOME_NOT_ELIGIBLE;
		overturn(e, &e->fin_r, &e->fin_o, CCS_ELIG_OUTCOME_ELIGIBLE);
	}
}

static void eval_mtu(struct eval *e)
{
	const ccs_elig_mtu *m = &e->f->mtu;

	e->mtu_o = CCS_ELIG_OUTCOME_NONE;
	/* only a stated "not necessary" counts; an unstated one has no effect */
	if (m->evaluated && m->medically_necessary == CCS_ELIG_TRI_NO) {
		/* the district must still assess educational need (AB 1467) */
		e->mtu_r |= CCS_ELIG_RBIT(CCS_ELIG_R_NOT_MEDICALLY_NECESSARY) |
			    CCS_ELIG_RBIT(CCS_ELIG_R_REFER_LEA_EDUCATIONAL);
		e->mtu_o = CCS_ELIG_OUTCOME_NOT_ELIGIBLE;
		overturn(e, &e->mtu_r, &e->mtu_o, CCS_ELIG_OUTCOME_NONE);
	}
	if (m->plan_change)
		e->mtu_r |= CCS_ELIG_RBIT(CCS_ELIG_R_THERAPY_PLAN_CHANGE);
}

/* One line: every layer's reasons, and the first layer (in fixed precedence) that decides. */
static void eval_line(const struct eval *e, const ccs_elig_line_rule *lr, ccs_elig_line_result *out)
{
	const struct med *med = &e->med[lr->basis];
	ccs_elig_reason_set r = e->gate_r;
	ccs_elig_outcome o;
	/* a diagnostic line goes ahead while the medical decision is still open (its purpose
	 * is to establish the condition); only a decided medical outcome applies to it */
	bool medical_open = med->o == CCS_ELIG_OUTCOME_PENDING ||
			    med->o == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW;
	bool medical_decides = !lr->suspected_condition_ok || !medical_open;

	if (medical_decides)
		r |= med->r;
	if (lr->needs_financial)
		r |= e->fin_r;
	else
		r |= CCS_ELIG_RBIT(lr->exemption);
	if (lr->mtu_applies)
		r |= e->mtu_r;

	if (e->gate_o != CCS_ELIG_OUTCOME_NONE)
		o = e->gate_o;
	else if (medical_decides && !is_eligible(med->o))
		o = med->o;
	else if (lr->mtu_applies && e->mtu_o == CCS_ELIG_OUTCOME_NOT_ELIGIBLE)
		o = e->mtu_o;
	else if (lr->needs_financial && !is_eligible(e->fin_o))
		o = e->fin_o;
	else if (medical_decides && med->o == CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE)
		o = CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE;
	else
		o = CCS_ELIG_OUTCOME_ELIGIBLE;

	out->line = lr->line;
	out->requested = true;
	out->outcome = o;
	out->reasons = r & ~CCS_ELIG_RBIT(CCS_ELIG_R_NONE);
}

static void add_deadline(ccs_elig_result *r, ccs_elig_deadline_kind k, ccs_date due)
{
	/* kinds are added in kind order and at most once, so the array stays sorted by kind */
	if (r->ndeadlines < CCS_ELIG_DL_COUNT)
		r->deadlines[r->ndeadlines++] = (ccs_elig_deadline){k, due};
}

/* The basis the decision as a whole rests on: MTP when an MTP line is asked for. */
static ccs_elig_basis primary_basis(const struct eval *e)
{
	for (int l = 0; l < CCS_ELIG_NLINES; l++)
		if ((e->f->lines_requested & CCS_ELIG_LINE_BIT(l + 1)) &&
		    e->rs->lines[l].basis == CCS_ELIG_BASIS_MTP)
			return CCS_ELIG_BASIS_MTP;
	return CCS_ELIG_BASIS_CCS;
}

/* A first-level appeal: timely when postmarked (else filed) within the window from the day
 * the notice was mailed; before a notice is mailed the window has not started. */
static ccs_elig_appeal_status appeal_status(const struct eval *e)
{
	const ccs_elig_appeal *ap = &e->f->appeal;
	ccs_date mark = ap->postmarked != CCS_DATE_INVALID ? ap->postmarked : ap->filed;

	if (ap->decided != CCS_DATE_INVALID)
		return ap->result == CCS_ELIG_APPEAL_OVERTURNED ? CCS_ELIG_APPEAL_STATUS_OVERTURNED
								 : CCS_ELIG_APPEAL_STATUS_UPHELD;
	if (ap->filed == CCS_DATE_INVALID)
		return CCS_ELIG_APPEAL_STATUS_NONE;
	if (ap->noa_sent != CCS_DATE_INVALID && mark > ap->noa_sent + e->rs->appeal_window_days)
		return CCS_ELIG_APPEAL_STATUS_LATE;
	return CCS_ELIG_APPEAL_STATUS_OPEN_TIMELY;
}

static void eval_deadlines(const struct eval *e, ccs_elig_result *r)
{
	const ccs_elig_facts *f = e->f;
	const ccs_elig_ruleset *rs = e->rs;
	const ccs_elig_appeal *ap = &f->appeal;
	ccs_date decision = ap->decision_date != CCS_DATE_INVALID ? ap->decision_date : e->as_of;
	ccs_date noa = ap->noa_sent != CCS_DATE_INVALID ? ap->noa_sent : decision + rs->noa_days;
	bool active = r->outcome != CCS_ELIG_OUTCOME_NOT_ELIGIBLE &&
		      r->outcome != CCS_ELIG_OUTCOME_TRANSFER;
	bool at_risk = e->med[CCS_ELIG_BASIS_MTP].o == CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE &&
		       (f->lines_requested & (CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY) |
					      CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_EQUIPMENT))) &&
		       e->gate_o != CCS_ELIG_OUTCOME_NOT_ELIGIBLE &&
		       e->gate_o != CCS_ELIG_OUTCOME_TRANSFER;
	bool fin_tested = false, fin_pending = false;
	ccs_date redet = CCS_DATE_INVALID;

	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		const ccs_elig_line_result *lr = &r->lines[l];
		if (!lr->requested || !rs->lines[l].needs_financial)
			continue;
		if (e->fin_o == CCS_ELIG_OUTCOME_PENDING)
			fin_pending = true;
		if (is_eligible(lr->outcome) &&
		    !(e->fin_r & CCS_ELIG_RBIT(CCS_ELIG_R_FIN_EXEMPT_ADOPTED_KNOWN_CONDITION)))
			fin_tested = true;
	}
	if (fin_tested) {
		ccs_date base = f->financial.determined_on != CCS_DATE_INVALID
					? f->financial.determined_on
					: e->as_of;
		redet = ccs_date_add_years(base, rs->redetermination_years);
	}

	if (r->noa_required && ap->noa_sent == CCS_DATE_INVALID)
		add_deadline(r, CCS_ELIG_DL_NOA_DUE, decision + rs->noa_days);
	if (r->noa_required && ap->filed == CCS_DATE_INVALID)
		add_deadline(r, CCS_ELIG_DL_APPEAL_WINDOW_CLOSES, noa + rs->appeal_window_days);
	/* a late appeal is recorded and routed for good-cause review: no response clock */
	if (r->appeal_status == CCS_ELIG_APPEAL_STATUS_OPEN_TIMELY)
		add_deadline(r, CCS_ELIG_DL_APPEAL_RESPONSE_DUE, ap->filed + rs->appeal_response_days);
	if (r->appeal_status == CCS_ELIG_APPEAL_STATUS_UPHELD)
		add_deadline(r, CCS_ELIG_DL_FAIR_HEARING_WINDOW_CLOSES,
			     ap->decided + rs->fair_hearing_days);
	if (at_risk)
		add_deadline(r, CCS_ELIG_DL_AT_RISK_REASSESS_DUE,
			     ccs_date_add_months(f->birth_date, rs->at_risk_limit_months) -
				     rs->at_risk_reassess_lead_days);
	if (active && !(e->gate_r & CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_AGE)))
		add_deadline(r, CCS_ELIG_DL_AGE_OUT,
			     ccs_date_add_years(f->birth_date, rs->age_limit_years));
	if (redet != CCS_DATE_INVALID) {
		add_deadline(r, CCS_ELIG_DL_ANNUAL_REDETERMINATION_DUE, redet);
		add_deadline(r, CCS_ELIG_DL_ANNUAL_REDETERMINATION_NOTICE_DUE,
			     redet - rs->redetermination_notice_days);
	}
	if (f->referral_date != CCS_DATE_INVALID && f->application_received == CCS_DATE_INVALID &&
	    !(e->gate_r & CCS_ELIG_RBIT(CCS_ELIG_R_NOT_ELIGIBLE_APPLICATION_NOT_RETURNED))) {
		if (f->application_sent == CCS_DATE_INVALID)
			add_deadline(r, CCS_ELIG_DL_APPLICATION_SEND_DUE, r->application_send_due);
		add_deadline(r, CCS_ELIG_DL_APPLICATION_RETURN_DUE, r->application_return_due);
	}
	if (fin_pending && f->financial.info_received != CCS_DATE_INVALID)
		add_deadline(r, CCS_ELIG_DL_FINANCIAL_DETERMINATION_DUE,
			     f->financial.info_received + rs->financial_determination_days);
	if ((e->gate_r & CCS_ELIG_RBIT(CCS_ELIG_R_PENDING_RESIDENCY)) &&
	    f->residency.info_received != CCS_DATE_INVALID)
		add_deadline(r, CCS_ELIG_DL_RESIDENCY_DETERMINATION_DUE,
			     f->residency.info_received + rs->residency_determination_days);
	if ((r->reasons & CCS_ELIG_RBIT(CCS_ELIG_R_THERAPY_PLAN_CHANGE)) &&
	    f->mtu.plan_change_effective != CCS_DATE_INVALID)
		add_deadline(r, CCS_ELIG_DL_THERAPY_PLAN_NOTICE_DUE,
			     f->mtu.plan_change_effective - rs->therapy_plan_notice_days);
	if (at_risk)
		add_deadline(r, CCS_ELIG_DL_AT_RISK_AGE_LIMIT,
			     ccs_date_add_months(f->birth_date, rs->at_risk_limit_months +
								(rs->at_risk_age_inclusive ? 1 : 0)));
	if (at_risk && e->hypotonia_decisive)
		add_deadline(r, CCS_ELIG_DL_HYPOTONIA_AGE_LIMIT, e->hypotonia_limit);
	if (r->awaiting_physician)
		add_deadline(r, CCS_ELIG_DL_PHYSICIAN_REVIEW_DUE,
			     (f->review_since != CCS_DATE_INVALID ? f->review_since : e->as_of) +
				     rs->physician_review_target_days);
	if (e->closure != CCS_DATE_INVALID &&
	    (e->gate_r & CCS_ELIG_RBIT(CCS_ELIG_R_PENDING_APPLICATION)))
		add_deadline(r, CCS_ELIG_DL_APPLICATION_CLOSURE_DUE, e->closure);
}

static ccs_elig_outcome overall_outcome(const struct eval *e, const ccs_elig_result *r)
{
	ccs_elig_outcome med = e->med[primary_basis(e)].o;
	bool any_pending = false;

	if (e->gate_o != CCS_ELIG_OUTCOME_NONE)
		return e->gate_o;
	if (!is_eligible(med))
		return med;
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		if (!r->lines[l].requested)
			continue;
		if (is_eligible(r->lines[l].outcome))
			return med;
		if (r->lines[l].outcome == CCS_ELIG_OUTCOME_PENDING ||
		    r->lines[l].outcome == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW)
			any_pending = true;
	}
	return any_pending ? CCS_ELIG_OUTCOME_PENDING : CCS_ELIG_OUTCOME_NOT_ELIGIBLE;
}

/* The action a notice announces: a therapy plan change reduces; a denial of what was never
 * authorized denies; ending what was authorized terminates. */
static void eval_notice(const struct eval *e, ccs_elig_result *out)
{
	bool denied = out->outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE;

	for (int l = 0; l < CCS_ELIG_NLINES; l++)
		if (out->lines[l].requested && out->lines[l].outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE)
			denied = true;
	out->notice_action = CCS_ELIG_NOTICE_NONE;
	out->notice_effective = CCS_DATE_INVALID;
	if (!out->noa_required)
		return;
	if (denied) {
		/* eligibility that ends terminates; a requested line refused beside lines that
		 * stay is a denial of that service */
		out->notice_action = e->f->services_authorized && out->outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE
					     ? CCS_ELIG_NOTICE_TERMINATION
					     : CCS_ELIG_NOTICE_DENIAL;
		out->notice_effective = e->f->appeal.decision_date != CCS_DATE_INVALID
						? e->f->appeal.decision_date
						: e->as_of;
	} else {
		out->notice_action = CCS_ELIG_NOTICE_REDUCTION;
		out->notice_effective = e->f->mtu.plan_change_effective;
	}
}

int ccs_elig_evaluate_ex(const ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of,
			 ccs_elig_result *out, char *errbuf, size_t errlen)
{
	struct eval e;
	const struct med *pm;
	int rc = -EINVAL;

	if (!out) {
		ccs_errf(errbuf, errlen, "no result buffer");
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (!rs || !rs->version || strlen(rs->version) >= CCS_ELIG_VERSION_LEN) {
		ccs_errf(errbuf, errlen, "no rule set");
		goto out;
	}
	rc = ccs_elig_facts_validate(f, as_of, errbuf, errlen);
	if (rc)
		goto out;

	memset(&e, 0, sizeof(e));
	e.f = f;
	e.rs = rs;
	e.as_of = as_of;
	eval_gates(&e);
	eval_medical(&e);
	eval_financial(&e);
	eval_mtu(&e);

	memcpy(out->ruleset_version, rs->version, strlen(rs->version) + 1);
	out->as_of = as_of;
	out->groups_mask = e.groups_mask;
	out->reasons = e.gate_r | e.med[primary_basis(&e)].r;
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		out->lines[l].line = (ccs_elig_line)(l + 1);
		if (!(f->lines_requested & CCS_ELIG_LINE_BIT(l + 1)))
			continue;
		eval_line(&e, &rs->lines[l], &out->lines[l]);
		out->reasons |= out->lines[l].reasons;
		if (out->lines[l].outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE)
			out->noa_required = true;
		if (out->lines[l].outcome == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW)
			out->awaiting_physician = true;
	}
	out->outcome = overall_outcome(&e, out);
	if (out->outcome == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW)
		out->awaiting_physician = true;
	/* NOA: a denial of eligibility or of a service, or a change of the therapy plan */
	if (out->outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE ||
	    (out->reasons & CCS_ELIG_RBIT(CCS_ELIG_R_THERAPY_PLAN_CHANGE)))
		out->noa_required = true;
	if (out->outcome == CCS_ELIG_OUTCOME_TRANSFER)
		out->noa_required = false;

	for (int c = 1; c < CCS_ELIG_R_COUNT; c++) {
		if (!(out->reasons & CCS_ELIG_RBIT(c)))
			continue;
		out->reason_list[out->nreasons].code = (ccs_elig_reason)c;
		out->reason_list[out->nreasons].citation = rs->citation[c] ? rs->citation[c] : "";
		out->nreasons++;
	}

	pm = &e.med[primary_basis(&e)];
	out->determined_by = pm->by;
	out->rule = pm->rule ? pm->rule : "";
	out->recommendation = pm->o == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW ? pm->recommendation
										 : CCS_ELIG_R_NONE;
	out->appeal_status = appeal_status(&e);
	out->appeal_to = appeal_route[f->county_model];
	/* 22 CCR 42321: authorized services continue while a timely appeal is open; a pending
	 * applicant has nothing authorized to continue */
	out->services_continue_during_appeal =
		f->services_authorized && f->application_received != CCS_DATE_INVALID &&
		f->appeal.decided == CCS_DATE_INVALID &&
		out->appeal_status != CCS_ELIG_APPEAL_STATUS_LATE &&
		(f->appeal.filed != CCS_DATE_INVALID || out->noa_required);
	if (f->application_received != CCS_DATE_INVALID) {
		bool in_time = f->referral_date != CCS_DATE_INVALID &&
			       f->application_received <= f->referral_date + rs->application_return_days;
		out->effective_application_date = in_time ? f->referral_date : f->application_received;
	} else {
		out->effective_application_date = CCS_DATE_INVALID;
	}
	out->application_send_due = out->application_return_due = CCS_DATE_INVALID;
	if (f->referral_date != CCS_DATE_INVALID) {
		/* 22 CCR 41514: both clocks run from the referral date */
		out->application_send_due = f->referral_date + rs->application_send_days;
		out->application_return_due = f->referral_date + rs->application_return_days;
	}
	eval_notice(&e, out);
	eval_deadlines(&e, out);
	rc = 0;
out:
	return rc;
}

int ccs_elig_evaluate(const ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of,
		      ccs_elig_result *out)
{
	return ccs_elig_evaluate_ex(f, rs, as_of, out, NULL, 0);
}

/* ---- timers and queries ---- */

int ccs_elig_next_timers(const ccs_elig_result *r, ccs_elig_deadline *out, size_t cap)
{
	size_t n = 0;

	if (!r || (!out && cap))
		return -EINVAL;
	for (unsigned i = 0; i < r->ndeadlines && i < CCS_ELIG_DL_COUNT; i++) {
		ccs_elig_deadline d = r->deadlines[i];
		size_t j;
		if (d.due <= r->as_of)
			continue;
		if (n >= cap)
			return -ENOSPC;
		/* insertion sort by (due, kind): at most CCS_ELIG_DL_COUNT items */
		for (j = n; j > 0 && (out[j - 1].due > d.due ||
				      (out[j - 1].due == d.due && out[j - 1].kind > d.kind));
		     j--)
			out[j] = out[j - 1];
		out[j] = d;
		n++;
	}
	return (int)n;
}

const ccs_elig_line_result *ccs_elig_result_line(const ccs_elig_result *r, ccs_elig_line line)
{
	if (!r || line < CCS_ELIG_LINE_MTP_THERAPY || line > CCS_ELIG_LINE_DIAGNOSTIC)
		return NULL;
	return &r->lines[line - 1];
}

bool ccs_elig_result_has(const ccs_elig_result *r, ccs_elig_reason code)
{
	return r && (unsigned)code < CCS_ELIG_R_COUNT && (r->reasons & CCS_ELIG_RBIT(code));
}

ccs_date ccs_elig_result_deadline(const ccs_elig_result *r, ccs_elig_deadline_kind kind)
{
	for (unsigned i = 0; r && i < r->ndeadlines && i < CCS_ELIG_DL_COUNT; i++)
		if (r->deadlines[i].kind == kind)
			return r->deadlines[i].due;
	return CCS_DATE_INVALID;
}

/* ---- what-if ---- */

static bool deadlines_equal(const ccs_elig_result *a, const ccs_elig_result *b)
{
	if (a->ndeadlines != b->ndeadlines)
		return false;
	for (unsigned i = 0; i < a->ndeadlines && i < CCS_ELIG_DL_COUNT; i++)
		if (a->deadlines[i].kind != b->deadlines[i].kind ||
		    a->deadlines[i].due != b->deadlines[i].due)
			return false;
	return true;
}

static void change_of(ccs_elig_change *c, ccs_elig_outcome ob, ccs_elig_outcome oa,
		      ccs_elig_reason_set rb, ccs_elig_reason_set ra)
{
	c->before = ob;
	c->after = oa;
	c->added = ra & ~rb;
	c->removed = rb & ~ra;
	c->changed = ob != oa || rb != ra;
}

void ccs_elig_result_diff(const ccs_elig_result *before, const ccs_elig_result *after,
			  ccs_elig_diff *out)
{
	memset(out, 0, sizeof(*out));
	out->version_differs = strcmp(before->ruleset_version, after->ruleset_version) != 0;
	change_of(&out->overall, before->outcome, after->outcome, before->reasons, after->reasons);
	out->any = out->overall.changed;
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		change_of(&out->lines[l], before->lines[l].outcome, after->lines[l].outcome,
			  before->lines[l].reasons, after->lines[l].reasons);
		out->any |= out->lines[l].changed;
	}
	out->deadlines_differ = !deadlines_equal(before, after);
	out->noa_differs = before->noa_required != after->noa_required;
	out->continuation_differs =
		before->services_continue_during_appeal != after->services_continue_during_appeal;
	out->any |= out->deadlines_differ || out->noa_differs || out->continuation_differs ||
		    before->appeal_to != after->appeal_to || before->as_of != after->as_of ||
		    before->effective_application_date != after->effective_application_date ||
		    before->groups_mask != after->groups_mask;
}

bool ccs_elig_result_equal(const ccs_elig_result *a, const ccs_elig_result *b)
{
	ccs_elig_diff d;

	ccs_elig_result_diff(a, b, &d);
	return !d.any;
}

/* ---- rendering ---- */

/* A bounded string builder: appends until full, then remembers that it overflowed. */
struct sbuf {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void sb_init(struct sbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->overflow = cap == 0;
	if (cap)
		p[0] = '\0';
}

static void sb_put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->overflow)
		return;
	if (b->len + n + 1 > b->cap) {
		n = b->cap - b->len - 1;
		b->overflow = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_date(struct sbuf *b, ccs_date d)
{
	char buf[11];

	ccs_date_format(d, buf);
	sb_put(b, buf);
}

static int sb_done(const struct sbuf *b)
{
	return b->overflow ? -ENOSPC : (int)b->len;
}

/* JSON array of reason names; every name is [A-Z0-9_], so no escaping is needed. */
static void sb_reasons(struct sbuf *b, ccs_elig_reason_set set)
{
	bool first = true;

	sb_put(b, "[");
	for (int c = 1; c < CCS_ELIG_R_COUNT; c++) {
		if (!(set & CCS_ELIG_RBIT(c)))
			continue;
		sb_put(b, first ? "\"" : ",\"");
		sb_put(b, reason_names[c]);
		sb_put(b, "\"");
		first = false;
	}
	sb_put(b, "]");
}

int ccs_elig_result_to_json(const ccs_elig_result *r, char *buf, size_t len)
{
	struct sbuf b;
	bool first = true;
	char version[CCS_ELIG_VERSION_LEN];
	size_t vn = 0;

	sb_init(&b, buf, len);
	/* the version comes from a rule set; keep only safe characters */
	for (size_t i = 0; i < CCS_ELIG_VERSION_LEN - 1 && r->ruleset_version[i]; i++) {
		char c = r->ruleset_version[i];
		if (c >= ' ' && c != '"' && c != '\\' && c < 0x7f)
			version[vn++] = c;
	}
	version[vn] = '\0';
	sb_put(&b, "{\"rule_set_version\":\"");
	sb_put(&b, version);
	sb_put(&b, "\",\"as_of\":\"");
	sb_date(&b, r->as_of);
	sb_put(&b, "\",\"outcome\":\"");
	sb_put(&b, ccs_elig_outcome_str(r->outcome));
	sb_put(&b, "\",\"reasons\":");
	sb_reasons(&b, r->reasons);
	sb_put(&b, ",\"lines\":[");
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		if (!r->lines[l].requested)
			continue;
		sb_put(&b, first ? "{\"line\":\"" : ",{\"line\":\"");
		sb_put(&b, ccs_elig_line_str(r->lines[l].line));
		sb_put(&b, "\",\"outcome\":\"");
		sb_put(&b, ccs_elig_outcome_str(r->lines[l].outcome));
		sb_put(&b, "\",\"reasons\":");
		sb_reasons(&b, r->lines[l].reasons);
		sb_put(&b, "}");
		first = false;
	}
	sb_put(&b, "],\"deadlines\":[");
	for (unsigned i = 0; i < r->ndeadlines && i < CCS_ELIG_DL_COUNT; i++) {
		sb_put(&b, i ? ",{\"kind\":\"" : "{\"kind\":\"");
		sb_put(&b, ccs_elig_deadline_str(r->deadlines[i].kind));
		sb_put(&b, "\"");
		/* dates derived from the birth date would reveal it */
		if (!ccs_elig_deadline_reveals_birth_date(r->deadlines[i].kind)) {
			sb_put(&b, ",\"due\":\"");
			sb_date(&b, r->deadlines[i].due);
			sb_put(&b, "\"");
		}
		sb_put(&b, "}");
	}
	sb_put(&b, "],\"noa_required\":");
	sb_put(&b, r->noa_required ? "true" : "false");
	sb_put(&b, ",\"appeal_to\":\"");
	sb_put(&b, ccs_elig_appeal_to_str(r->appeal_to));
	sb_put(&b, "\",\"services_continue_during_appeal\":");
	sb_put(&b, r->services_continue_during_appeal ? "true" : "false");
	sb_put(&b, "}");
	return sb_done(&b);
}

static void sb_set_delta(struct sbuf *b, ccs_elig_reason_set added, ccs_elig_reason_set removed)
{
	for (int c = 1; c < CCS_ELIG_R_COUNT; c++) {
		if (added & CCS_ELIG_RBIT(c)) {
			sb_put(b, " +");
			sb_put(b, reason_names[c]);
		}
	}
	for (int c = 1; c < CCS_ELIG_R_COUNT; c++) {
		if (removed & CCS_ELIG_RBIT(c)) {
			sb_put(b, " -");
			sb_put(b, reason_names[c]);
		}
	}
}

static void sb_change(struct sbuf *b, const char *what, const ccs_elig_change *c)
{
	sb_put(b, what);
	sb_put(b, " ");
	sb_put(b, ccs_elig_outcome_str(c->before));
	if (c->before != c->after) {
		sb_put(b, " -> ");
		sb_put(b, ccs_elig_outcome_str(c->after));
	}
	sb_put(b, ":");
	sb_set_delta(b, c->added, c->removed);
}

int ccs_elig_diff_render(const ccs_elig_diff *d, char *buf, size_t len)
{
	struct sbuf b;
	const char *sep = "";

	sb_init(&b, buf, len);
	if (!d->any) {
		sb_put(&b, "no change");
		return sb_done(&b);
	}
	if (d->overall.changed) {
		sb_change(&b, "outcome", &d->overall);
		sep = "; ";
	}
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		if (!d->lines[l].changed)
			continue;
		sb_put(&b, sep);
		sb_change(&b, ccs_elig_line_str((ccs_elig_line)(l + 1)), &d->lines[l]);
		sep = "; ";
	}
	if (d->noa_differs) {
		sb_put(&b, sep);
		sb_put(&b, "noa_required changed");
		sep = "; ";
	}
	if (d->continuation_differs) {
		sb_put(&b, sep);
		sb_put(&b, "services_continue_during_appeal changed");
		sep = "; ";
	}
	if (d->deadlines_differ) {
		sb_put(&b, sep);
		sb_put(&b, "deadlines changed");
		sep = "; ";
	}
	if (!sep[0])
		sb_put(&b, "routing or dates changed");
	return sb_done(&b);
}
