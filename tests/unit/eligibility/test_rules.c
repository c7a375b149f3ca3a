/*
 * Unit tests for the eligibility rules engine (services/eligibility/rules.c, ruleset.c).
 *
 * Most tests start from base(): a 5-year-old with confirmed cerebral palsy and a documented
 * CP finding, a verified same-county California resident, a signed application, complete
 * financial documents with an AGI of $30,000, asking for MTP therapy. Each case changes what
 * it is about and checks the outcome, the reasons that must and must not be there, and the
 * dates. Every reason code of docs/domain.md is asserted by at least one case.
 */
#include "rules.h"

#include <errno.h>
#include <string.h>

#include "ccs_test.h"

#define D(s) ccs_date_parse(s)
#define R(x) CCS_ELIG_RBIT(CCS_ELIG_R_##x)
#define LB(x) CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_##x)

static const ccs_date AS_OF_DEFAULT = 20514; /* 2026-03-02, checked in base_dates_are_sane */

static void base(ccs_elig_facts *f)
{
	ccs_elig_facts_init(f);
	f->birth_date = D("2020-06-15");
	f->county_model = CCS_ELIG_COUNTY_INDEPENDENT;
	f->residency.verified = true;
	f->residency.state_resident = CCS_ELIG_TRI_YES;
	f->residency.same_county = true;
	f->referral_date = D("2026-01-05");
	f->application_sent = D("2026-01-07");
	f->application_received = D("2026-01-20");
	f->medical.present = true;
	f->medical.reviewer = CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT;
	f->medical.findings = CCS_ELIG_F_CP_RIGIDITY_SPASTICITY;
	f->medical.exam_date = D("2026-02-10");
	if (ccs_elig_facts_add_code(f, "G80.1") != 0)
		abort();
	f->financial.present = true;
	f->financial.documents_complete = true;
	f->financial.medi_cal = CCS_ELIG_MEDI_CAL_NONE;
	f->financial.agi_cents = 3000000;
	f->financial.expected_oop_cents = 100000;
	f->financial.info_received = D("2026-02-01");
	f->lines_requested = LB(MTP_THERAPY);
}

/* An infant or toddler without a diagnosis, for the at-risk rules. */
static void toddler(ccs_elig_facts *f, const char *dob, uint32_t findings)
{
	base(f);
	f->birth_date = D(dob);
	f->medical.ncodes = 0;
	f->medical.findings = findings;
}

static const ccs_elig_ruleset *rs_default(void)
{
	return ccs_elig_ruleset_default();
}

static const ccs_elig_ruleset *rs_inclusive(void)
{
	return ccs_elig_ruleset_find("2026.2-at-risk-36");
}

static ccs_elig_result eval_at(const ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of)
{
	ccs_elig_result r;
	char err[128] = "";
	int rc = ccs_elig_evaluate_ex(f, rs, as_of, &r, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "  evaluate failed: %d %s\n", rc, err);
	CCS_EQ_INT(rc, 0);
	return r;
}

static ccs_elig_result eval(const ccs_elig_facts *f)
{
	return eval_at(f, rs_default(), AS_OF_DEFAULT);
}

/* Names the table row under test in failure messages. */
static char g_row[64];

/* Print which reasons are missing/unexpected, so a failure says more than "false". */
static void check_reasons(const char *what, ccs_elig_reason_set have, ccs_elig_reason_set must,
			  ccs_elig_reason_set must_not)
{
	for (int c = 1; c < CCS_ELIG_R_COUNT; c++) {
		if ((must & CCS_ELIG_RBIT(c)) && !(have & CCS_ELIG_RBIT(c)))
			CCS_FAIL_("%s%s: missing %s", g_row, what,
				  ccs_elig_reason_str((ccs_elig_reason)c));
		if ((must_not & CCS_ELIG_RBIT(c)) && (have & CCS_ELIG_RBIT(c)))
			CCS_FAIL_("%s%s: unexpected %s", g_row, what,
				  ccs_elig_reason_str((ccs_elig_reason)c));
	}
}

#define CHECK(r, outc, must, must_not)                                                      \
	do {                                                                                \
		CCS_EQ_STR(ccs_elig_outcome_str((r).outcome), ccs_elig_outcome_str(outc));   \
		check_reasons("overall", (r).reasons, (must), (must_not));                  \
	} while (0)

#define CHECK_LINE(r, l, outc, must, must_not)                                              \
	do {                                                                                \
		const ccs_elig_line_result *lr_ = ccs_elig_result_line(&(r), CCS_ELIG_LINE_##l); \
		CCS_EQ_STR(ccs_elig_outcome_str(lr_->outcome), ccs_elig_outcome_str(outc));  \
		check_reasons(#l, lr_->reasons, (must), (must_not));                        \
	} while (0)

/* Without a physician's determination the rules only recommend a medical denial: the case
 * waits for the physician (no NOA), and the recommendation says what the rules found. */
#define CHECK_REC(r, rec)                                                                   \
	do {                                                                                \
		CCS_EQ_STR(ccs_elig_outcome_str((r).outcome),                               \
			   ccs_elig_outcome_str(CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW));   \
		CCS_EQ_STR(ccs_elig_reason_str((r).recommendation), ccs_elig_reason_str(rec)); \
		check_reasons("recommendation", (r).reasons, R(REQUIRES_PHYSICIAN_REVIEW),  \
			      R(NOT_ELIGIBLE_CONDITION) | R(NOT_ELIGIBLE_AT_RISK_AGE) |       \
				      R(NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS));       \
		CCS_TRUE(!(r).noa_required && (r).awaiting_physician);                     \
	} while (0)

/* The medical consultant's determination for both bases. */
static void physician(ccs_elig_facts *f, bool eligible, ccs_elig_group g)
{
	for (int b = 0; b < CCS_ELIG_NBASES; b++) {
		f->physician[b].present = true;
		f->physician[b].eligible = eligible;
		f->physician[b].group = g;
		f->physician[b].determined = D("2026-02-20");
	}
}

#define DEADLINE(r, k) ccs_elig_result_deadline(&(r), CCS_ELIG_DL_##k)

CCS_TEST(base_dates_are_sane)
{
	CCS_EQ_INT(AS_OF_DEFAULT, D("2026-03-02"));
	ccs_elig_facts f;
	base(&f);
	char err[128];
	CCS_EQ_INT(ccs_elig_facts_validate(&f, AS_OF_DEFAULT, err, sizeof(err)), 0);
}

/* ---- medical: group A ---- */

CCS_TEST(cp_with_documented_finding_is_eligible)
{
	ccs_elig_facts f;
	base(&f);
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_MTP_CP) | R(FIN_EXEMPT_MTP_ONLY),
	      R(REQUIRES_PHYSICIAN_REVIEW) | R(NOT_ELIGIBLE_CONDITION));
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_MTP_CP), 0);
	CCS_EQ_STR(r.ruleset_version, "2026.2");
	CCS_TRUE(!r.noa_required);
	CCS_EQ_INT(r.groups_mask, 1u << CCS_ELIG_GROUP_CP);
	/* each reason carries its citation from the rule set */
	CCS_TRUE(r.nreasons >= 2);
	for (unsigned i = 0; i < r.nreasons; i++)
		CCS_TRUE(r.reason_list[i].citation && r.reason_list[i].citation[0]);
	CCS_EQ_STR(r.reason_list[0].citation, rs_default()->citation[r.reason_list[0].code]);
}

CCS_TEST(each_cp_finding_alone_qualifies)
{
	static const uint32_t findings[] = {
		CCS_ELIG_F_CP_RIGIDITY_SPASTICITY, CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE,
		CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS, CCS_ELIG_F_CP_ATAXIA};
	for (size_t i = 0; i < sizeof(findings) / sizeof(findings[0]); i++) {
		ccs_elig_facts f;
		base(&f);
		f.medical.findings = findings[i];
		f.medical.reviewer = CCS_ELIG_REVIEWER_NURSE; /* CP needs the finding, not a physician */
		ccs_elig_result r = eval(&f);
		CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_MTP_CP), 0);
	}
}

CCS_TEST(diagnosis_code_alone_requires_physician_review)
{
	ccs_elig_facts f;
	base(&f);
	f.medical.findings = 0;
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, R(REQUIRES_PHYSICIAN_REVIEW),
	      R(ELIGIBLE_MTP_CP) | R(NOT_ELIGIBLE_CONDITION));
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		   R(REQUIRES_PHYSICIAN_REVIEW), 0);
	CCS_TRUE(!r.noa_required);
	/* at-risk findings do not rescue a code without its findings */
	f.medical.findings = CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING;
	f.birth_date = D("2025-01-10");
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, R(REQUIRES_PHYSICIAN_REVIEW),
	      R(AT_RISK_UNDER_3));
}

/* Table: code, reviewer, findings -> outcome and reason. Every group A rule approves on its
 * documented findings whoever recorded them; without them the physician reviews (the old
 * rule set approved on the reviewer's role instead: a physician's review with no findings
 * approved spina bifida, a nurse's review of Duchenne with weakness and atrophy could not). */
CCS_TEST(group_a_documented_findings_table)
{
	const uint32_t NM = CCS_ELIG_F_NM_WEAKNESS | CCS_ELIG_F_NM_ATROPHY;
	static const struct {
		const char *code;
		ccs_elig_reviewer reviewer;
		uint32_t findings;
		ccs_elig_outcome outcome;
		ccs_elig_reason reason;
	} cases[] = {
		/* neuromuscular: weakness and atrophy */
		{"G71.01", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_NM_WEAKNESS | CCS_ELIG_F_NM_ATROPHY,
		 CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR},
		{"G71.01", CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT, 0, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		 CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		{"G71.01", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_NM_WEAKNESS,
		 CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		{"G12.1", CCS_ELIG_REVIEWER_THERAPY_SUPERVISOR, CCS_ELIG_F_NM_WEAKNESS | CCS_ELIG_F_NM_ATROPHY,
		 CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR},
		{"G70.01", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_NM_WEAKNESS | CCS_ELIG_F_NM_ATROPHY,
		 CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR},
		/* musculoskeletal: any of deformity, contracture, limitation */
		{"Q78.0", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_MS_DEFORMITY, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL},
		{"Q78.0", CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT, 0, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		 CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		{"M08.00", CCS_ELIG_REVIEWER_THERAPY_SUPERVISOR, CCS_ELIG_F_MS_LIMITATION, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL},
		{"L90.5", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_MS_CONTRACTURE, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL},
		{"Q74.3", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_NM_WEAKNESS, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		 CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		/* other CNS: the CP findings */
		{"Q05.4", CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT, 0, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		 CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		{"Q05.4", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_CP_RIGIDITY_SPASTICITY, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS},
		{"S06.2X0A", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_CP_ATAXIA, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS},
		{"S06.2X0A", CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT, 0,
		 CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		{"G11.1", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS},
		{"P14.0", CCS_ELIG_REVIEWER_NURSE, CCS_ELIG_F_MS_LIMITATION, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		 CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
		/* outside the tables: the physician, never a denial by the rules */
		{"J45.909", CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT, 0, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW,
		 CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW},
	};
	(void)NM;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ccs_elig_facts f;
		base(&f);
		f.medical.ncodes = 0;
		CCS_EQ_INT(ccs_elig_facts_add_code(&f, cases[i].code), 0);
		f.medical.reviewer = cases[i].reviewer;
		f.medical.findings = cases[i].findings;
		ccs_elig_result r = eval(&f);
		if (r.outcome != cases[i].outcome || !ccs_elig_result_has(&r, cases[i].reason))
			fprintf(stderr, "  case %zu (%s)\n", i, cases[i].code);
		CCS_EQ_STR(ccs_elig_outcome_str(r.outcome), ccs_elig_outcome_str(cases[i].outcome));
		CCS_TRUE(ccs_elig_result_has(&r, cases[i].reason));
		CCS_TRUE(!r.noa_required);
		CCS_EQ_INT(r.determined_by, r.outcome == CCS_ELIG_OUTCOME_ELIGIBLE ? CCS_ELIG_BY_RULE : CCS_ELIG_BY_PENDING);
	}
}

/* The physician determines: approves beyond the table, and is the only medical denial. */
CCS_TEST(physician_determination_table)
{
	static const struct {
		const char *code;       /* or NULL */
		uint32_t findings;
		const char *dob;
		bool eligible;
		ccs_elig_group group;
		ccs_elig_outcome outcome;
		ccs_elig_reason reason;
	} cases[] = {
		/* a condition the table does not list ("not limited to") */
		{"G35", 0, "2020-06-15", true, CCS_ELIG_GROUP_OTHER_CNS, CCS_ELIG_OUTCOME_ELIGIBLE,
		 CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS},
		/* an 8-year-old with asthma: NOT_ELIGIBLE_CONDITION only */
		{"J45.909", 0, "2018-01-10", false, CCS_ELIG_GROUP_NONE, CCS_ELIG_OUTCOME_NOT_ELIGIBLE,
		 CCS_ELIG_R_NOT_ELIGIBLE_CONDITION},
		/* at-risk findings the basis: the at-risk reasons */
		{NULL, CCS_ELIG_F_AR_DTR_3_PLUS, "2024-06-15", false, CCS_ELIG_GROUP_AT_RISK,
		 CCS_ELIG_OUTCOME_NOT_ELIGIBLE, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS},
		{NULL, CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING, "2020-06-15", false,
		 CCS_ELIG_GROUP_NONE, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE},
		/* the physician's at-risk approval inside the window */
		{NULL, CCS_ELIG_F_AR_DTR_3_PLUS, "2024-06-15", true, CCS_ELIG_GROUP_AT_RISK,
		 CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, CCS_ELIG_R_AT_RISK_UNDER_3},
		/* a physician's denial stands over a nurse's findings */
		{"G80.1", CCS_ELIG_F_CP_ATAXIA, "2020-06-15", false, CCS_ELIG_GROUP_NONE,
		 CCS_ELIG_OUTCOME_NOT_ELIGIBLE, CCS_ELIG_R_NOT_ELIGIBLE_CONDITION},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ccs_elig_facts f;
		base(&f);
		f.birth_date = D(cases[i].dob);
		f.medical.ncodes = 0;
		f.medical.reviewer = CCS_ELIG_REVIEWER_NURSE;
		f.medical.findings = cases[i].findings;
		if (cases[i].code)
			CCS_EQ_INT(ccs_elig_facts_add_code(&f, cases[i].code), 0);
		ccs_elig_result r = eval(&f);
		CCS_EQ_INT(r.outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE, 0); /* never denied by the rules */
		physician(&f, cases[i].eligible, cases[i].group);
		r = eval(&f);
		if (r.outcome != cases[i].outcome || !ccs_elig_result_has(&r, cases[i].reason))
			fprintf(stderr, "  case %zu\n", i);
		CCS_EQ_STR(ccs_elig_outcome_str(r.outcome), ccs_elig_outcome_str(cases[i].outcome));
		CCS_TRUE(ccs_elig_result_has(&r, cases[i].reason));
		CCS_EQ_INT(r.determined_by, CCS_ELIG_BY_PHYSICIAN);
		CCS_EQ_STR(r.rule, "physician_determination");
		CCS_EQ_INT(r.noa_required, cases[i].outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE);
		if (cases[i].reason == CCS_ELIG_R_NOT_ELIGIBLE_CONDITION)
			CCS_TRUE(!ccs_elig_result_has(&r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE));
	}
}

/* Who waits for the physician: a worklist with a service target. */
CCS_TEST(physician_review_worklist_deadline)
{
	ccs_elig_facts f;
	base(&f);
	f.medical.findings = 0;
	ccs_elig_result r = eval(&f);
	CCS_TRUE(r.awaiting_physician);
	CCS_EQ_INT(DEADLINE(r, PHYSICIAN_REVIEW_DUE), AS_OF_DEFAULT + 30);
	f.review_since = D("2026-02-20"); /* the wait started earlier: the target stays pinned */
	r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, PHYSICIAN_REVIEW_DUE), D("2026-03-22"));
	physician(&f, true, CCS_ELIG_GROUP_CP);
	r = eval(&f);
	CCS_TRUE(!r.awaiting_physician);
	CCS_EQ_INT(DEADLINE(r, PHYSICIAN_REVIEW_DUE), CCS_DATE_INVALID);
}

/* Each service line by its own criteria: CCS treatment has CCS conditions; at risk is MTP's. */
CCS_TEST(service_lines_by_their_own_medical_basis)
{
	ccs_elig_facts f;
	/* cystic fibrosis asking for CCS treatment: eligible (the old engine denied it with an NOA) */
	base(&f);
	f.medical.ncodes = 0;
	f.medical.findings = 0;
	CCS_EQ_INT(ccs_elig_facts_add_code(&f, "E84.0"), 0);
	f.lines_requested = LB(CCS_TREATMENT);
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_CCS_CONDITION) | R(FIN_ELIGIBLE_AGI_UNDER_40K),
	      R(NOT_ELIGIBLE_CONDITION) | R(REQUIRES_PHYSICIAN_REVIEW));
	CCS_TRUE(!r.noa_required);
	CCS_EQ_STR(r.rule, "cystic_fibrosis");
	/* the same child asking for MTP therapy: not an MTP condition, the physician decides */
	f.lines_requested = LB(MTP_THERAPY) | LB(CCS_TREATMENT);
	r = eval(&f);
	CHECK_LINE(r, CCS_TREATMENT, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_CCS_CONDITION), 0);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, R(REQUIRES_PHYSICIAN_REVIEW), 0);
	/* an at-risk infant: at risk for MTP, not a CCS treatment condition */
	toddler(&f, "2025-06-15", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING);
	f.lines_requested = LB(MTP_THERAPY) | LB(CCS_TREATMENT);
	r = eval(&f);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	CHECK_LINE(r, CCS_TREATMENT, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, R(REQUIRES_PHYSICIAN_REVIEW),
		   R(AT_RISK_UNDER_3));
	/* CP (an MTP condition) is a CCS condition too */
	base(&f);
	f.lines_requested = LB(CCS_TREATMENT);
	r = eval(&f);
	CHECK_LINE(r, CCS_TREATMENT, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_CCS_CONDITION), 0);
	/* a CCS-scope physician's denial denies the treatment line only */
	base(&f);
	f.medical.ncodes = 0;
	CCS_EQ_INT(ccs_elig_facts_add_code(&f, "J45.909"), 0);
	f.lines_requested = LB(CCS_TREATMENT) | LB(MTP_THERAPY);
	f.physician[CCS_ELIG_BASIS_CCS].present = true;
	r = eval(&f);
	CHECK_LINE(r, CCS_TREATMENT, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_CONDITION), 0);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, R(REQUIRES_PHYSICIAN_REVIEW),
		   R(NOT_ELIGIBLE_CONDITION));
	CCS_TRUE(r.noa_required);
}

CCS_TEST(two_qualifying_codes_list_both_groups)
{
	ccs_elig_facts f;
	base(&f);
	f.medical.findings |= CCS_ELIG_F_MS_DEFORMITY;
	CCS_EQ_INT(ccs_elig_facts_add_code(&f, "Q78.0"), 0);
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_MTP_CP) | R(ELIGIBLE_MTP_MUSCULOSKELETAL), 0);
	/* one met, one not: eligible, no review needed */
	f.medical.findings = CCS_ELIG_F_CP_ATAXIA;
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_MTP_CP),
	      R(ELIGIBLE_MTP_MUSCULOSKELETAL) | R(REQUIRES_PHYSICIAN_REVIEW));
}

CCS_TEST(code_table_routes_every_domain_row)
{
	static const struct {
		const char *code;
		ccs_elig_group group;
	} rows[] = {
		{"G80.0", CCS_ELIG_GROUP_CP}, {"G80.4", CCS_ELIG_GROUP_CP},
		{"G80.5", CCS_ELIG_GROUP_NONE}, {"G80.8", CCS_ELIG_GROUP_CP},
		{"G80.9", CCS_ELIG_GROUP_CP}, {"g80.1", CCS_ELIG_GROUP_CP}, {"G801", CCS_ELIG_GROUP_CP},
		{"Q05.0", CCS_ELIG_GROUP_OTHER_CNS}, {"Q05.9", CCS_ELIG_GROUP_OTHER_CNS},
		{"Q07.01", CCS_ELIG_GROUP_OTHER_CNS}, {"Q07.03", CCS_ELIG_GROUP_OTHER_CNS},
		{"Q07.02", CCS_ELIG_GROUP_NONE}, {"G71.01", CCS_ELIG_GROUP_NEUROMUSCULAR},
		{"G71.09", CCS_ELIG_GROUP_NEUROMUSCULAR}, {"G71.11", CCS_ELIG_GROUP_NEUROMUSCULAR},
		{"G71.12", CCS_ELIG_GROUP_NONE}, {"G71.2", CCS_ELIG_GROUP_NONE},
		{"G12.1", CCS_ELIG_GROUP_NEUROMUSCULAR}, {"G60.0", CCS_ELIG_GROUP_NEUROMUSCULAR},
		{"G60.1", CCS_ELIG_GROUP_NONE}, {"M08.00", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"M05.9", CCS_ELIG_GROUP_MUSCULOSKELETAL}, {"M06.9", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"M07.60", CCS_ELIG_GROUP_NONE}, {"S14.0XXA", CCS_ELIG_GROUP_OTHER_CNS},
		{"S14.109A", CCS_ELIG_GROUP_OTHER_CNS}, {"S14.2XXA", CCS_ELIG_GROUP_NONE},
		{"S24.1", CCS_ELIG_GROUP_OTHER_CNS}, {"S34.0", CCS_ELIG_GROUP_OTHER_CNS},
		{"S34.2", CCS_ELIG_GROUP_NONE}, {"G82.21", CCS_ELIG_GROUP_OTHER_CNS},
		{"G82.50", CCS_ELIG_GROUP_OTHER_CNS}, {"G82.4", CCS_ELIG_GROUP_NONE},
		{"Q74.3", CCS_ELIG_GROUP_MUSCULOSKELETAL}, {"Q74.0", CCS_ELIG_GROUP_NONE},
		{"Q78.0", CCS_ELIG_GROUP_MUSCULOSKELETAL}, {"Q78.1", CCS_ELIG_GROUP_NONE},
		{"S06.0X0A", CCS_ELIG_GROUP_OTHER_CNS}, {"G93.1", CCS_ELIG_GROUP_OTHER_CNS},
		{"A80.9", CCS_ELIG_GROUP_NEUROMUSCULAR}, {"B91", CCS_ELIG_GROUP_NEUROMUSCULAR},
		{"G70.00", CCS_ELIG_GROUP_NEUROMUSCULAR}, {"G70.01", CCS_ELIG_GROUP_NEUROMUSCULAR},
		{"G70.1", CCS_ELIG_GROUP_NONE}, {"G70.2", CCS_ELIG_GROUP_NEUROMUSCULAR},
		{"G73.3", CCS_ELIG_GROUP_NEUROMUSCULAR}, {"Z89.411", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"Q71.0", CCS_ELIG_GROUP_MUSCULOSKELETAL}, {"Q73.8", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"S48.011A", CCS_ELIG_GROUP_MUSCULOSKELETAL}, {"S98.0", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"S49.0", CCS_ELIG_GROUP_NONE}, {"L90.5", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"L90.4", CCS_ELIG_GROUP_NONE}, {"T95.0", CCS_ELIG_GROUP_MUSCULOSKELETAL},
		{"M24.50", CCS_ELIG_GROUP_MUSCULOSKELETAL}, {"P14.0", CCS_ELIG_GROUP_OTHER_CNS},
		{"P14.1", CCS_ELIG_GROUP_OTHER_CNS}, {"P14.2", CCS_ELIG_GROUP_NONE},
		{"P14.3", CCS_ELIG_GROUP_OTHER_CNS}, {"S14.3XXA", CCS_ELIG_GROUP_OTHER_CNS},
		{"G11.1", CCS_ELIG_GROUP_OTHER_CNS}, {"G31.09", CCS_ELIG_GROUP_OTHER_CNS},
		{"J45.909", CCS_ELIG_GROUP_NONE}, {"G8", CCS_ELIG_GROUP_NONE},
		{"G80..1", CCS_ELIG_GROUP_NONE}, {"180.1", CCS_ELIG_GROUP_NONE},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *cond = NULL;
		ccs_elig_group g = ccs_elig_code_group(rs_default(), rows[i].code, &cond);
		if (g != rows[i].group)
			fprintf(stderr, "  code %s\n", rows[i].code);
		CCS_EQ_STR(ccs_elig_group_str(g), ccs_elig_group_str(rows[i].group));
		CCS_TRUE((g == CCS_ELIG_GROUP_NONE) == (cond == NULL));
	}
}

/* ---- medical: group B, at risk ---- */

CCS_TEST(at_risk_two_findings_vs_one)
{
	ccs_elig_facts f;
	toddler(&f, "2024-06-15", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING);
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3),
	      R(NOT_ELIGIBLE_CONDITION) | R(NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS));
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	/* re-determination before the third birthday (lead 30 days), and the window's end */
	CCS_EQ_INT(DEADLINE(r, AT_RISK_REASSESS_DUE), D("2027-05-16"));
	CCS_EQ_INT(DEADLINE(r, AT_RISK_AGE_LIMIT), D("2027-06-15"));
	CCS_EQ_INT(DEADLINE(r, HYPOTONIA_AGE_LIMIT), CCS_DATE_INVALID);

	f.medical.findings = CCS_ELIG_F_AR_DTR_3_PLUS;
	r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
	physician(&f, false, CCS_ELIG_GROUP_AT_RISK);
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS),
	      R(AT_RISK_UNDER_3) | R(NOT_ELIGIBLE_AT_RISK_AGE) | R(NOT_ELIGIBLE_CONDITION));
	CCS_TRUE(r.noa_required);
	f.physician[0].present = f.physician[1].present = false;
	CCS_EQ_INT(DEADLINE(r, AT_RISK_REASSESS_DUE), CCS_DATE_INVALID);

	f.medical.findings = CCS_ELIG_F_AR_ALL;
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);

	/* no finding at all: the at-risk rule was not the basis */
	f.medical.findings = 0;
	r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_CONDITION);
}

CCS_TEST(third_birthday_boundary_under_both_settings)
{
	static const struct {
		const char *as_of;
		bool inclusive;
		ccs_elig_outcome outcome;
	} cases[] = {
		{"2026-03-01", false, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE}, /* day before 3 */
		{"2026-03-02", false, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW}, /* 3rd birthday */
		{"2026-03-01", true, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE},
		{"2026-03-02", true, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE},  /* 36 months: <= 36 */
		{"2026-04-01", true, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE},  /* still 36 months */
		{"2026-04-02", true, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW}, /* 37 months */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ccs_elig_facts f;
		toddler(&f, "2023-03-02", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_MOTOR_ASYMMETRY);
		ccs_elig_result r = eval_at(&f, cases[i].inclusive ? rs_inclusive() : rs_default(),
					    D(cases[i].as_of));
		if (r.outcome != cases[i].outcome)
			fprintf(stderr, "  case %zu\n", i);
		CCS_EQ_STR(ccs_elig_outcome_str(r.outcome), ccs_elig_outcome_str(cases[i].outcome));
		if (cases[i].outcome == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW)
			CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE);
	}
	/* the at-risk age window ends one month later under the inclusive setting */
	ccs_elig_facts f;
	toddler(&f, "2023-03-02", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_MOTOR_ASYMMETRY);
	ccs_elig_result r = eval_at(&f, rs_inclusive(), D("2026-01-10"));
	CCS_EQ_INT(DEADLINE(r, AT_RISK_AGE_LIMIT), D("2026-04-02"));
	r = eval_at(&f, rs_default(), D("2026-01-10"));
	CCS_EQ_INT(DEADLINE(r, AT_RISK_AGE_LIMIT), D("2026-03-02"));
}

CCS_TEST(three_or_older_without_diagnosis_is_at_risk_age)
{
	ccs_elig_facts f;
	toddler(&f, "2020-06-15", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING);
	ccs_elig_result r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE);
}

CCS_TEST(cp_findings_without_code_go_to_physician_not_denial)
{
	ccs_elig_facts f;
	toddler(&f, "2020-06-15", CCS_ELIG_F_CP_RIGIDITY_SPASTICITY);
	ccs_elig_result r = eval(&f);
	/* no at-risk finding: the at-risk reasons do not apply at all */
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_CONDITION);
}

CCS_TEST(hypotonia_counts_only_under_12_months)
{
	const uint32_t two = CCS_ELIG_F_AR_HYPOTONICITY | CCS_ELIG_F_AR_DTR_3_PLUS;
	ccs_elig_facts f;
	/* 11 months on 2026-03-02 */
	toddler(&f, "2025-03-20", two);
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	/* hypotonia is decisive: the day it stops counting is a timer */
	CCS_EQ_INT(DEADLINE(r, HYPOTONIA_AGE_LIMIT), D("2026-03-20"));
	/* 13 months */
	toddler(&f, "2025-01-20", two);
	r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
	/* 13 months with two other findings: hypotonia is irrelevant */
	f.medical.findings = two | CCS_ELIG_F_AR_MOTOR_ASYMMETRY;
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	/* exactly 12 months: no longer "under 12" */
	toddler(&f, "2025-03-02", two);
	r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
	r = eval_at(&f, rs_default(), D("2026-03-01"));
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
}

CCS_TEST(prematurity_correction_for_hypotonia)
{
	const uint32_t two = CCS_ELIG_F_AR_HYPOTONICITY | CCS_ELIG_F_AR_DTR_3_PLUS;
	ccs_elig_facts f;
	/* 13 months chronological; born at 28 weeks: corrected by 12 weeks to about 10 months */
	toddler(&f, "2025-01-20", two);
	f.medical.gestational_weeks = 28;
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	/* corrected birth date 2025-04-14 (+84 days): stops counting 12 months after it */
	CCS_EQ_INT(DEADLINE(r, HYPOTONIA_AGE_LIMIT), D("2026-04-14"));
	r = eval_at(&f, rs_default(), D("2026-04-13"));
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	r = eval_at(&f, rs_default(), D("2026-04-14"));
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);

	/* 37 weeks is not preterm: no correction */
	f.medical.gestational_weeks = 37;
	r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
	/* 36 weeks is: 4 weeks, 13 months - 4 weeks is still 12 months -> not counted */
	f.medical.gestational_weeks = 36;
	r = eval(&f);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);

	/* a rule set without the correction */
	ccs_elig_ruleset rs = *rs_default();
	rs.prematurity_correction = false;
	f.medical.gestational_weeks = 28;
	r = eval_at(&f, &rs, AS_OF_DEFAULT);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
	/* ... or applying it to chronological age for hypotonia */
	rs = *rs_default();
	rs.age_limited_finding_corrected_age = false;
	r = eval_at(&f, &rs, AS_OF_DEFAULT);
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
}

CCS_TEST(prematurity_correction_stops_at_24_months)
{
	ccs_elig_ruleset rs = *rs_default();
	ccs_elig_facts f;
	/* a finding limited at 30 months so that the 24-month cut-off is observable */
	rs.age_limited_finding_max_months = 30;
	toddler(&f, "2023-09-01", CCS_ELIG_F_AR_HYPOTONICITY | CCS_ELIG_F_AR_DTR_3_PLUS);
	f.medical.gestational_weeks = 24; /* 16 weeks early */
	/* 23 months chronological: corrected about 19 months, counts */
	ccs_elig_result r = eval_at(&f, &rs, D("2025-08-15"));
	CHECK(r, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE, R(AT_RISK_UNDER_3), 0);
	/* 30 months chronological: no correction any more, 30 >= 30 */
	r = eval_at(&f, &rs, D("2026-03-02"));
	CHECK_REC(r, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS);
}

/* ---- hard gates ---- */

CCS_TEST(twenty_first_birthday_boundary)
{
	ccs_elig_facts f;
	base(&f);
	f.birth_date = D("2005-03-02");
	ccs_elig_result r = eval_at(&f, rs_default(), D("2026-03-01"));
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(ELIGIBLE_MTP_CP), R(NOT_ELIGIBLE_AGE));
	CCS_EQ_INT(DEADLINE(r, AGE_OUT), D("2026-03-02"));
	r = eval_at(&f, rs_default(), D("2026-03-02"));
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_AGE) | R(ELIGIBLE_MTP_CP), 0);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_AGE), 0);
	CCS_TRUE(r.noa_required);
	CCS_EQ_INT(DEADLINE(r, AGE_OUT), CCS_DATE_INVALID);
	CCS_EQ_INT(DEADLINE(r, NOA_DUE), D("2026-03-09"));
}

CCS_TEST(residency_gates)
{
	ccs_elig_facts f;
	base(&f);
	f.residency.state_resident = CCS_ELIG_TRI_NO;
	f.residency.same_county = false;
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_RESIDENCY_STATE), R(TRANSFER_COUNTY));
	CCS_TRUE(r.noa_required);

	base(&f);
	f.residency.same_county = false;
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_TRANSFER, R(TRANSFER_COUNTY) | R(ELIGIBLE_MTP_CP),
	      R(NOT_ELIGIBLE_RESIDENCY_STATE));
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_TRANSFER, R(TRANSFER_COUNTY), 0);
	CCS_TRUE(!r.noa_required); /* a transfer is not a denial */
	CCS_EQ_INT(DEADLINE(r, NOA_DUE), CCS_DATE_INVALID);

	/* age beats transfer */
	f.birth_date = D("2004-01-01");
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_AGE) | R(TRANSFER_COUNTY), 0);

	base(&f);
	f.residency.verified = false;
	f.residency.info_received = D("2026-02-20");
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_PENDING, R(PENDING_RESIDENCY), R(TRANSFER_COUNTY));
	CCS_EQ_INT(DEADLINE(r, RESIDENCY_DETERMINATION_DUE), D("2026-03-22"));
}

CCS_TEST(pending_application_and_clocks)
{
	ccs_elig_facts f;
	base(&f);
	f.application_received = CCS_DATE_INVALID;
	f.application_sent = CCS_DATE_INVALID;
	ccs_elig_result r = eval_at(&f, rs_default(), D("2026-01-06"));
	CHECK(r, CCS_ELIG_OUTCOME_PENDING, R(PENDING_APPLICATION) | R(ELIGIBLE_MTP_CP), 0);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_PENDING, R(PENDING_APPLICATION), 0);
	CCS_EQ_INT(DEADLINE(r, APPLICATION_SEND_DUE), D("2026-01-10"));
	CCS_EQ_INT(DEADLINE(r, APPLICATION_RETURN_DUE), D("2026-01-25"));
	CCS_EQ_INT(r.effective_application_date, CCS_DATE_INVALID);
	CCS_TRUE(!r.noa_required);
	/* sent: only the return clock remains */
	f.application_sent = D("2026-01-08");
	r = eval_at(&f, rs_default(), D("2026-01-09"));
	CCS_EQ_INT(DEADLINE(r, APPLICATION_SEND_DUE), CCS_DATE_INVALID);
	CCS_EQ_INT(DEADLINE(r, APPLICATION_RETURN_DUE), D("2026-01-25"));
	/* returned in 20 days: the referral date is the application date; later: receipt */
	f.application_received = D("2026-01-25");
	r = eval(&f);
	CCS_EQ_INT(r.effective_application_date, D("2026-01-05"));
	CCS_EQ_INT(DEADLINE(r, APPLICATION_RETURN_DUE), CCS_DATE_INVALID);
	f.application_received = D("2026-01-26");
	r = eval(&f);
	CCS_EQ_INT(r.effective_application_date, D("2026-01-26"));
}

CCS_TEST(pending_records_and_missing_review)
{
	ccs_elig_facts f;
	base(&f);
	f.medical.records_pending = true;
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_PENDING, R(PENDING_RECORDS), R(ELIGIBLE_MTP_CP));
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_PENDING, R(PENDING_RECORDS), 0);

	base(&f);
	f.medical.present = false;
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW, R(REQUIRES_PHYSICIAN_REVIEW),
	      R(ELIGIBLE_MTP_CP));
}

/* ---- financial, per service line ---- */

enum fin_state { FIN_AGI_UNDER, FIN_OVER, FIN_DOCS_MISSING, FIN_MEDI_CAL, FIN_OOP, FIN_OOP_EXACT,
		 FIN_ADOPTED, FIN_ABSENT, FIN_NSTATES };

static void set_fin(ccs_elig_facts *f, enum fin_state s)
{
	f->financial.agi_cents = 5000000;
	f->financial.expected_oop_cents = 100000;
	switch (s) {
	case FIN_AGI_UNDER:
		f->financial.agi_cents = 3999999;
		break;
	case FIN_OVER:
		break;
	case FIN_DOCS_MISSING:
		f->financial.documents_complete = false;
		break;
	case FIN_MEDI_CAL:
		f->financial.documents_complete = false;
		f->financial.medi_cal = CCS_ELIG_MEDI_CAL_FULL_SCOPE_NO_SOC;
		break;
	case FIN_OOP:
		f->financial.expected_oop_cents = 1000001; /* just over 20% of $50,000 */
		break;
	case FIN_OOP_EXACT:
		f->financial.expected_oop_cents = 1000000; /* exactly 20%: not over */
		break;
	case FIN_ADOPTED:
		f->financial.adopted_known_condition = true;
		f->financial.documents_complete = false;
		break;
	case FIN_ABSENT:
		f->financial.present = false;
		break;
	case FIN_NSTATES:
		break;
	}
}

CCS_TEST(service_lines_under_each_financial_outcome)
{
	static const struct {
		ccs_elig_outcome outcome; /* for equipment and treatment */
		ccs_elig_reason reason;
	} expect[FIN_NSTATES] = {
		[FIN_AGI_UNDER] = {CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_FIN_ELIGIBLE_AGI_UNDER_40K},
		[FIN_OVER] = {CCS_ELIG_OUTCOME_NOT_ELIGIBLE, CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL},
		[FIN_DOCS_MISSING] = {CCS_ELIG_OUTCOME_PENDING, CCS_ELIG_R_PENDING_FINANCIAL_DOCS},
		[FIN_MEDI_CAL] = {CCS_ELIG_OUTCOME_ELIGIBLE,
				  CCS_ELIG_R_FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC},
		[FIN_OOP] = {CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_R_FIN_ELIGIBLE_OOP_OVER_20PCT},
		[FIN_OOP_EXACT] = {CCS_ELIG_OUTCOME_NOT_ELIGIBLE, CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL},
		[FIN_ADOPTED] = {CCS_ELIG_OUTCOME_ELIGIBLE,
				 CCS_ELIG_R_FIN_EXEMPT_ADOPTED_KNOWN_CONDITION},
		[FIN_ABSENT] = {CCS_ELIG_OUTCOME_PENDING, CCS_ELIG_R_PENDING_FINANCIAL_DOCS},
	};
	const ccs_elig_reason_set fin_any =
		R(FIN_EXEMPT_ADOPTED_KNOWN_CONDITION) | R(FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC) |
		R(FIN_ELIGIBLE_AGI_UNDER_40K) | R(FIN_ELIGIBLE_OOP_OVER_20PCT) |
		R(PENDING_FINANCIAL_DOCS) | R(NOT_ELIGIBLE_FINANCIAL);

	for (int s = 0; s < FIN_NSTATES; s++) {
		ccs_elig_facts f;
		base(&f);
		f.lines_requested = CCS_ELIG_LINES_ALL;
		set_fin(&f, (enum fin_state)s);
		ccs_elig_result r = eval(&f);
		snprintf(g_row, sizeof(g_row), "financial state %d: ", s);
		/* MTP therapy and diagnostic: never a financial test */
		CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_ELIGIBLE, R(FIN_EXEMPT_MTP_ONLY), fin_any);
		CHECK_LINE(r, DIAGNOSTIC, CCS_ELIG_OUTCOME_ELIGIBLE, R(FIN_EXEMPT_DIAGNOSTIC), fin_any);
		CHECK_LINE(r, MTP_EQUIPMENT, expect[s].outcome, CCS_ELIG_RBIT(expect[s].reason),
			   R(FIN_EXEMPT_MTP_ONLY));
		CHECK_LINE(r, CCS_TREATMENT, expect[s].outcome, CCS_ELIG_RBIT(expect[s].reason),
			   R(FIN_EXEMPT_MTP_ONLY));
		/* therapy stays eligible, so the case does */
		CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, CCS_ELIG_RBIT(expect[s].reason), 0);
		CCS_EQ_INT(r.noa_required, expect[s].outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE);
	}
	g_row[0] = '\0';
}

CCS_TEST(all_qualifying_financial_bases_are_listed)
{
	ccs_elig_facts f;
	base(&f);
	f.lines_requested = LB(MTP_EQUIPMENT);
	f.financial.medi_cal = CCS_ELIG_MEDI_CAL_FULL_SCOPE_NO_SOC;
	f.financial.expected_oop_cents = 700000; /* > 20% of $30,000 */
	ccs_elig_result r = eval(&f);
	CHECK_LINE(r, MTP_EQUIPMENT, CCS_ELIG_OUTCOME_ELIGIBLE,
		   R(FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC) | R(FIN_ELIGIBLE_AGI_UNDER_40K) |
			   R(FIN_ELIGIBLE_OOP_OVER_20PCT),
		   R(NOT_ELIGIBLE_FINANCIAL) | R(PENDING_FINANCIAL_DOCS));
	/* share of cost Medi-Cal is no basis on its own */
	f.financial.medi_cal = CCS_ELIG_MEDI_CAL_FULL_SCOPE_WITH_SOC;
	f.financial.agi_cents = 9000000;
	f.financial.expected_oop_cents = 0;
	r = eval(&f);
	CHECK_LINE(r, MTP_EQUIPMENT, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_FINANCIAL), 0);
}

CCS_TEST(agi_exactly_at_threshold_under_both_settings)
{
	ccs_elig_facts f;
	base(&f);
	f.lines_requested = LB(CCS_TREATMENT);
	f.financial.agi_cents = 4000000;
	f.financial.expected_oop_cents = 0;
	/* HSC 123870(a)(1): "$40,000 or less" -- the default rule set is inclusive (the old
	 * default, "under", was the bug); the other reading stays a rule set */
	const ccs_elig_ruleset *under = ccs_elig_ruleset_find("2026.2-agi-under");
	ccs_elig_result r = eval_at(&f, under, AS_OF_DEFAULT);
	CHECK_LINE(r, CCS_TREATMENT, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_FINANCIAL),
		   R(FIN_ELIGIBLE_AGI_UNDER_40K));
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_FINANCIAL), 0);
	ccs_elig_result ri = eval_at(&f, rs_default(), AS_OF_DEFAULT);
	CHECK_LINE(ri, CCS_TREATMENT, CCS_ELIG_OUTCOME_ELIGIBLE, R(FIN_ELIGIBLE_AGI_UNDER_40K),
		   R(NOT_ELIGIBLE_FINANCIAL));
	CCS_EQ_STR(ri.ruleset_version, "2026.2");
	/* one cent over: not eligible under both */
	f.financial.agi_cents = 4000001;
	CCS_EQ_INT(eval_at(&f, rs_default(), AS_OF_DEFAULT).outcome, CCS_ELIG_OUTCOME_NOT_ELIGIBLE);
	/* one cent under: eligible under both */
	f.financial.agi_cents = 3999999;
	CCS_EQ_INT(eval_at(&f, rs_default(), AS_OF_DEFAULT).outcome, CCS_ELIG_OUTCOME_ELIGIBLE);
}

CCS_TEST(financial_denial_never_blocks_mtp_therapy)
{
	ccs_elig_facts f;
	base(&f);
	f.lines_requested = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
	f.financial.agi_cents = 9000000;
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(NOT_ELIGIBLE_FINANCIAL) | R(FIN_EXEMPT_MTP_ONLY), 0);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_ELIGIBLE, 0, R(NOT_ELIGIBLE_FINANCIAL));
	CHECK_LINE(r, MTP_EQUIPMENT, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_FINANCIAL), 0);
	CHECK_LINE(r, CCS_TREATMENT, CCS_ELIG_OUTCOME_NONE, 0, ~(ccs_elig_reason_set)0);
	CCS_TRUE(r.noa_required); /* a service is denied */
	/* equipment alone: the whole request is denied */
	f.lines_requested = LB(MTP_EQUIPMENT);
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_FINANCIAL), R(FIN_EXEMPT_MTP_ONLY));
	/* docs missing, equipment alone: pending */
	f.financial.documents_complete = false;
	f.financial.info_received = D("2026-02-10");
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_PENDING, R(PENDING_FINANCIAL_DOCS), 0);
	CCS_EQ_INT(DEADLINE(r, FINANCIAL_DETERMINATION_DUE), D("2026-03-12"));
	CCS_TRUE(!r.noa_required);
}

CCS_TEST(diagnostic_line_follows_ruled_out_condition_only)
{
	ccs_elig_facts f;
	base(&f);
	f.lines_requested = LB(DIAGNOSTIC);
	f.medical.findings = 0; /* physician review pending: diagnostics may go ahead */
	ccs_elig_result r = eval(&f);
	CHECK_LINE(r, DIAGNOSTIC, CCS_ELIG_OUTCOME_ELIGIBLE, R(FIN_EXEMPT_DIAGNOSTIC),
		   R(REQUIRES_PHYSICIAN_REVIEW));
	CCS_EQ_INT(r.outcome, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW);
	f.medical.ncodes = 0; /* reviewed, no condition: still the physician's to rule out */
	r = eval(&f);
	CHECK_LINE(r, DIAGNOSTIC, CCS_ELIG_OUTCOME_ELIGIBLE, R(FIN_EXEMPT_DIAGNOSTIC), R(NOT_ELIGIBLE_CONDITION));
	physician(&f, false, CCS_ELIG_GROUP_NONE); /* the physician rules it out */
	r = eval(&f);
	CHECK_LINE(r, DIAGNOSTIC, CCS_ELIG_OUTCOME_NOT_ELIGIBLE, R(NOT_ELIGIBLE_CONDITION), 0);
}

CCS_TEST(annual_redetermination_for_financially_eligible_treatment)
{
	ccs_elig_facts f;
	base(&f);
	f.lines_requested = LB(MTP_THERAPY) | LB(CCS_TREATMENT);
	f.financial.determined_on = D("2026-02-01");
	ccs_elig_result r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, ANNUAL_REDETERMINATION_DUE), D("2027-02-01"));
	CCS_EQ_INT(DEADLINE(r, ANNUAL_REDETERMINATION_NOTICE_DUE), D("2027-01-02"));
	/* this evaluation is the determination when none is on file */
	f.financial.determined_on = CCS_DATE_INVALID;
	r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, ANNUAL_REDETERMINATION_DUE), D("2027-03-02"));
	/* no financial test, no redetermination */
	f.financial.adopted_known_condition = true;
	r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, ANNUAL_REDETERMINATION_DUE), CCS_DATE_INVALID);
	base(&f);
	r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, ANNUAL_REDETERMINATION_DUE), CCS_DATE_INVALID);
}

/* ---- after the MTU evaluation ---- */

CCS_TEST(mtu_not_medically_necessary_refers_to_lea)
{
	ccs_elig_facts f;
	base(&f);
	f.mtu.evaluated = true;
	f.mtu.medically_necessary = CCS_ELIG_TRI_NO;
	f.mtu.evaluated_date = D("2026-02-25");
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_NOT_ELIGIBLE,
	      R(NOT_MEDICALLY_NECESSARY) | R(REFER_LEA_EDUCATIONAL) | R(ELIGIBLE_MTP_CP), 0);
	CHECK_LINE(r, MTP_THERAPY, CCS_ELIG_OUTCOME_NOT_ELIGIBLE,
		   R(NOT_MEDICALLY_NECESSARY) | R(REFER_LEA_EDUCATIONAL), 0);
	CCS_TRUE(r.noa_required);
	/* equipment is not decided by the therapy evaluation */
	f.lines_requested = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
	r = eval(&f);
	CHECK_LINE(r, MTP_EQUIPMENT, CCS_ELIG_OUTCOME_ELIGIBLE, 0, R(NOT_MEDICALLY_NECESSARY));
	CCS_EQ_INT(r.outcome, CCS_ELIG_OUTCOME_ELIGIBLE);
	/* necessary: nothing added */
	f.mtu.medically_necessary = CCS_ELIG_TRI_YES;
	r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, 0, R(NOT_MEDICALLY_NECESSARY) | R(REFER_LEA_EDUCATIONAL));
}

CCS_TEST(therapy_plan_change_needs_five_days_notice)
{
	ccs_elig_facts f;
	base(&f);
	f.mtu.evaluated = true;
	f.mtu.medically_necessary = CCS_ELIG_TRI_YES;
	f.mtu.plan_change = true;
	f.mtu.plan_change_effective = D("2026-03-16");
	ccs_elig_result r = eval(&f);
	CHECK(r, CCS_ELIG_OUTCOME_ELIGIBLE, R(THERAPY_PLAN_CHANGE), 0);
	CCS_EQ_INT(DEADLINE(r, THERAPY_PLAN_NOTICE_DUE), D("2026-03-11"));
	CCS_TRUE(r.noa_required);
	CCS_EQ_INT(DEADLINE(r, NOA_DUE), D("2026-03-09"));
}

/* ---- notices and appeals ---- */

CCS_TEST(noa_and_appeal_deadlines)
{
	ccs_elig_facts f;
	base(&f);
	f.residency.state_resident = CCS_ELIG_TRI_NO; /* a denial */
	ccs_elig_result r = eval(&f);
	CCS_TRUE(r.noa_required);
	CCS_EQ_INT(DEADLINE(r, NOA_DUE), D("2026-03-09"));
	CCS_EQ_INT(DEADLINE(r, APPEAL_WINDOW_CLOSES), D("2026-04-08")); /* latest NOA + 30 */
	CCS_EQ_INT(DEADLINE(r, APPEAL_RESPONSE_DUE), CCS_DATE_INVALID);

	/* the standing decision's date, not as_of, starts the NOA clock */
	f.appeal.decision_date = D("2026-02-27");
	r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, NOA_DUE), D("2026-03-06"));

	/* NOA sent: the window runs from it */
	f.appeal.noa_sent = D("2026-03-04");
	r = eval(&f);
	CCS_EQ_INT(DEADLINE(r, NOA_DUE), CCS_DATE_INVALID);
	CCS_EQ_INT(DEADLINE(r, APPEAL_WINDOW_CLOSES), D("2026-04-03"));

	/* appeal filed: response due in 21 days, window closed */
	f.appeal.filed = D("2026-03-20");
	r = eval_at(&f, rs_default(), D("2026-03-20"));
	CCS_EQ_INT(DEADLINE(r, APPEAL_WINDOW_CLOSES), CCS_DATE_INVALID);
	CCS_EQ_INT(DEADLINE(r, APPEAL_RESPONSE_DUE), D("2026-04-10"));
	CCS_EQ_INT(DEADLINE(r, FAIR_HEARING_WINDOW_CLOSES), CCS_DATE_INVALID);

	/* upheld: 14 days to ask for a fair hearing; overturned: nothing to ask */
	f.appeal.decided = D("2026-04-08");
	f.appeal.result = CCS_ELIG_APPEAL_UPHELD;
	r = eval_at(&f, rs_default(), D("2026-04-08"));
	CCS_EQ_INT(DEADLINE(r, APPEAL_RESPONSE_DUE), CCS_DATE_INVALID);
	CCS_EQ_INT(DEADLINE(r, FAIR_HEARING_WINDOW_CLOSES), D("2026-04-22"));
	f.appeal.result = CCS_ELIG_APPEAL_OVERTURNED;
	r = eval_at(&f, rs_default(), D("2026-04-08"));
	CCS_EQ_INT(DEADLINE(r, FAIR_HEARING_WINDOW_CLOSES), CCS_DATE_INVALID);
}

CCS_TEST(appeal_routing_by_county_model)
{
	static const struct {
		ccs_elig_county_model model;
		ccs_elig_appeal_to to;
	} rows[] = {
		{CCS_ELIG_COUNTY_INDEPENDENT, CCS_ELIG_APPEAL_TO_COUNTY_DIRECTOR},
		{CCS_ELIG_COUNTY_DEPENDENT, CCS_ELIG_APPEAL_TO_REGIONAL_OFFICE},
		{CCS_ELIG_COUNTY_UNKNOWN, CCS_ELIG_APPEAL_TO_UNKNOWN},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ccs_elig_facts f;
		base(&f);
		f.county_model = rows[i].model;
		ccs_elig_result r = eval(&f);
		CCS_EQ_STR(ccs_elig_appeal_to_str(r.appeal_to), ccs_elig_appeal_to_str(rows[i].to));
	}
}

CCS_TEST(services_continue_during_appeal_only_when_authorized)
{
	ccs_elig_facts f;
	base(&f);
	f.birth_date = D("2005-01-01"); /* aged out: services end, appealable */
	f.services_authorized = true;
	ccs_elig_result r = eval(&f);
	CCS_TRUE(r.services_continue_during_appeal);
	f.appeal.noa_sent = D("2026-03-03");
	f.appeal.filed = D("2026-03-10");
	r = eval_at(&f, rs_default(), D("2026-03-10"));
	CCS_TRUE(r.services_continue_during_appeal);
	/* decided: the appeal is over */
	f.appeal.decided = D("2026-03-25");
	f.appeal.result = CCS_ELIG_APPEAL_UPHELD;
	r = eval_at(&f, rs_default(), D("2026-03-25"));
	CCS_TRUE(!r.services_continue_during_appeal);
	/* a pending applicant has nothing to continue */
	f.appeal.decided = CCS_DATE_INVALID;
	f.appeal.result = CCS_ELIG_APPEAL_NONE;
	f.services_authorized = false;
	r = eval_at(&f, rs_default(), D("2026-03-10"));
	CCS_TRUE(!r.services_continue_during_appeal);
	f.services_authorized = true;
	f.application_received = CCS_DATE_INVALID;
	r = eval_at(&f, rs_default(), D("2026-03-10"));
	CCS_TRUE(!r.services_continue_during_appeal);
}

/* ---- timers ---- */

CCS_TEST(next_timers_sorted_and_strictly_after_as_of)
{
	ccs_elig_facts f;
	ccs_elig_deadline t[CCS_ELIG_DL_COUNT];
	toddler(&f, "2024-06-15", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING);
	f.lines_requested = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
	f.financial.agi_cents = 9000000; /* equipment denied: NOA and appeal window */
	ccs_elig_result r = eval(&f);
	int n = ccs_elig_next_timers(&r, t, CCS_ELIG_DL_COUNT);
	CCS_EQ_INT(n, 5);
	if (n == 5) {
		CCS_EQ_STR(ccs_elig_deadline_str(t[0].kind), "NOA_DUE");
		CCS_EQ_INT(t[0].due, D("2026-03-09"));
		CCS_EQ_STR(ccs_elig_deadline_str(t[1].kind), "APPEAL_WINDOW_CLOSES");
		CCS_EQ_STR(ccs_elig_deadline_str(t[2].kind), "AT_RISK_REASSESS_DUE");
		CCS_EQ_STR(ccs_elig_deadline_str(t[3].kind), "AT_RISK_AGE_LIMIT");
		CCS_EQ_STR(ccs_elig_deadline_str(t[4].kind), "AGE_OUT");
		for (int i = 1; i < n; i++)
			CCS_TRUE(t[i - 1].due <= t[i].due);
	}
	CCS_EQ_INT(ccs_elig_next_timers(&r, t, 2), -ENOSPC);
	/* a deadline already due at as_of is not a new timer */
	f.appeal.noa_sent = D("2026-02-01");
	r = eval_at(&f, rs_default(), D("2026-03-03"));
	CCS_EQ_INT(DEADLINE(r, APPEAL_WINDOW_CLOSES), D("2026-03-03"));
	n = ccs_elig_next_timers(&r, t, CCS_ELIG_DL_COUNT);
	for (int i = 0; i < n; i++)
		CCS_TRUE(t[i].kind != CCS_ELIG_DL_APPEAL_WINDOW_CLOSES && t[i].due > r.as_of);
}

CCS_TEST(timer_replay_is_identical)
{
	ccs_elig_facts f;
	char a[2048], b[2048];
	toddler(&f, "2024-06-15", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_ABNORMAL_POSTURING);
	f.lines_requested = CCS_ELIG_LINES_ALL;
	ccs_elig_result r1 = eval_at(&f, rs_default(), D("2027-05-16"));
	ccs_elig_result r2 = eval_at(&f, rs_default(), D("2027-05-16"));
	CCS_TRUE(ccs_elig_result_equal(&r1, &r2));
	CCS_TRUE(ccs_elig_result_to_json(&r1, a, sizeof(a)) > 0);
	CCS_TRUE(ccs_elig_result_to_json(&r2, b, sizeof(b)) > 0);
	CCS_EQ_STR(a, b);
	/* firing the at-risk age limit timer: the decision changes on that day */
	ccs_elig_result before = eval_at(&f, rs_default(), D("2027-06-14"));
	ccs_elig_result after = eval_at(&f, rs_default(), D("2027-06-15"));
	CCS_EQ_INT(before.outcome, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE);
	/* at three the rules can only recommend: the physician re-determines */
	CCS_EQ_INT(after.outcome, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW);
	CCS_EQ_INT(after.recommendation, CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE);
}

/* ---- what-if ---- */

CCS_TEST(what_if_diff_between_rule_sets)
{
	ccs_elig_facts f;
	char buf[512];
	toddler(&f, "2023-03-02", CCS_ELIG_F_AR_DTR_3_PLUS | CCS_ELIG_F_AR_MOTOR_ASYMMETRY);
	ccs_elig_result a = eval_at(&f, rs_default(), D("2026-03-02"));
	ccs_elig_result b = eval_at(&f, rs_inclusive(), D("2026-03-02"));
	ccs_elig_diff d;
	CCS_TRUE(!ccs_elig_result_equal(&a, &b));
	ccs_elig_result_diff(&a, &b, &d);
	CCS_TRUE(d.any && d.version_differs && d.overall.changed && !d.noa_differs);
	CCS_EQ_INT(d.overall.before, CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW);
	CCS_EQ_INT(d.overall.after, CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE);
	CCS_EQ_INT(d.overall.added, R(AT_RISK_UNDER_3));
	CCS_EQ_INT(d.overall.removed, R(REQUIRES_PHYSICIAN_REVIEW));
	CCS_TRUE(d.lines[CCS_ELIG_LINE_MTP_THERAPY - 1].changed);
	CCS_TRUE(!d.lines[CCS_ELIG_LINE_DIAGNOSTIC - 1].changed);
	int n = ccs_elig_diff_render(&d, buf, sizeof(buf));
	CCS_TRUE(n > 0);
	CCS_TRUE(strstr(buf, "outcome REQUIRES_PHYSICIAN_REVIEW -> AT_RISK_ELIGIBLE:") == buf);
	CCS_TRUE(strstr(buf, "+AT_RISK_UNDER_3") != NULL);
	CCS_TRUE(strstr(buf, "-REQUIRES_PHYSICIAN_REVIEW") != NULL);
	CCS_TRUE(strstr(buf, "MTP_THERAPY REQUIRES_PHYSICIAN_REVIEW -> AT_RISK_ELIGIBLE") != NULL);
	CCS_EQ_INT(ccs_elig_diff_render(&d, buf, 10), -ENOSPC);
	CCS_EQ_INT(strlen(buf), 9);

	/* same decision under both versions: equal, "no change" */
	base(&f);
	a = eval_at(&f, rs_default(), AS_OF_DEFAULT);
	b = eval_at(&f, rs_inclusive(), AS_OF_DEFAULT);
	CCS_TRUE(ccs_elig_result_equal(&a, &b));
	ccs_elig_result_diff(&a, &b, &d);
	CCS_TRUE(d.version_differs && !d.any);
	CCS_TRUE(ccs_elig_diff_render(&d, buf, sizeof(buf)) > 0);
	CCS_EQ_STR(buf, "no change");
}

/* ---- rule sets, strings, rendering, validation ---- */

CCS_TEST(rule_sets_are_valid_and_differ_only_in_open_settings)
{
	char err[128];
	CCS_TRUE(ccs_elig_ruleset_count() >= 2);
	for (size_t i = 0; i < ccs_elig_ruleset_count(); i++) {
		int rc = ccs_elig_ruleset_validate(ccs_elig_ruleset_at(i), err, sizeof(err));
		if (rc)
			fprintf(stderr, "  %s\n", err);
		CCS_EQ_INT(rc, 0);
	}
	CCS_TRUE(ccs_elig_ruleset_at(ccs_elig_ruleset_count()) == NULL);
	CCS_TRUE(ccs_elig_ruleset_find("1999.9") == NULL);
	CCS_TRUE(ccs_elig_ruleset_find(NULL) == NULL);
	CCS_EQ_STR(ccs_elig_ruleset_find("2026.2")->version, "2026.2");
	ccs_elig_ruleset a = *rs_default(), b = *rs_inclusive();
	CCS_TRUE(!a.at_risk_age_inclusive && a.agi_threshold_inclusive);
	CCS_TRUE(b.at_risk_age_inclusive && b.agi_threshold_inclusive);
	a.version = b.version;
	a.description = b.description;
	a.at_risk_age_inclusive = b.at_risk_age_inclusive;
	a.agi_threshold_inclusive = b.agi_threshold_inclusive;
	a.groups = b.groups; /* each set owns a copy of the group table */
	CCS_TRUE(memcmp(&a, &b, sizeof(a)) == 0);

	/* a code row that needs no findings would let a code approve on its own */
	static const ccs_elig_code_rule bad[] = {{"G80", "G80", CCS_ELIG_GROUP_CP, "cp", 0, 0}};
	a = *rs_default();
	a.codes = bad;
	a.ncodes = 1;
	CCS_EQ_INT(ccs_elig_ruleset_validate(&a, err, sizeof(err)), -EINVAL);
	static const ccs_elig_code_rule bad2[] = {
		{"G80", "G8", CCS_ELIG_GROUP_CP, "cp", 0, CCS_ELIG_F_CP_ALL}};
	a.codes = bad2;
	CCS_EQ_INT(ccs_elig_ruleset_validate(&a, err, sizeof(err)), -EINVAL);
	a = *rs_default();
	a.citation[CCS_ELIG_R_NOT_ELIGIBLE_AGE] = NULL;
	CCS_EQ_INT(ccs_elig_ruleset_validate(&a, err, sizeof(err)), -EINVAL);
}

CCS_TEST(reason_strings_are_section_8_verbatim)
{
	static const char *const expected[CCS_ELIG_R_COUNT] = {
		"NONE", "NOT_ELIGIBLE_AGE", "NOT_ELIGIBLE_RESIDENCY_STATE", "TRANSFER_COUNTY",
		"PENDING_APPLICATION", "PENDING_RECORDS", "PENDING_RESIDENCY",
		"NOT_ELIGIBLE_APPLICATION_NOT_RETURNED", "ELIGIBLE_MTP_CP",
		"ELIGIBLE_MTP_NEUROMUSCULAR", "ELIGIBLE_MTP_MUSCULOSKELETAL", "ELIGIBLE_MTP_OTHER_CNS",
		"AT_RISK_UNDER_3", "NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS",
		"NOT_ELIGIBLE_AT_RISK_AGE", "NOT_ELIGIBLE_CONDITION", "REQUIRES_PHYSICIAN_REVIEW",
		"ELIGIBLE_CCS_CONDITION", "ELIGIBLE_APPEAL_OVERTURNED",
		"FIN_EXEMPT_MTP_ONLY", "FIN_EXEMPT_DIAGNOSTIC", "FIN_EXEMPT_ADOPTED_KNOWN_CONDITION",
		"FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC", "FIN_ELIGIBLE_AGI_UNDER_40K",
		"FIN_ELIGIBLE_OOP_OVER_20PCT", "PENDING_FINANCIAL_DOCS", "NOT_ELIGIBLE_FINANCIAL",
		"NOT_MEDICALLY_NECESSARY", "REFER_LEA_EDUCATIONAL", "THERAPY_PLAN_CHANGE",
	};
	for (int c = 0; c < CCS_ELIG_R_COUNT; c++) {
		CCS_EQ_STR(ccs_elig_reason_str((ccs_elig_reason)c), expected[c]);
		if (c > 0)
			CCS_EQ_INT(ccs_elig_reason_from_str(expected[c]), c);
	}
	CCS_EQ_STR(ccs_elig_reason_str(CCS_ELIG_R_COUNT), "?");
	CCS_EQ_INT(ccs_elig_reason_from_str("ELIGIBLE"), CCS_ELIG_R_NONE);
	static const char *const timers[] = {
		"NOA_DUE", "APPEAL_WINDOW_CLOSES", "APPEAL_RESPONSE_DUE", "FAIR_HEARING_WINDOW_CLOSES",
		"AT_RISK_REASSESS_DUE", "AGE_OUT", "ANNUAL_REDETERMINATION_DUE"};
	for (int k = 0; k < 7; k++)
		CCS_EQ_STR(ccs_elig_deadline_str((ccs_elig_deadline_kind)(k + 1)), timers[k]);
	for (int o = 1; o <= CCS_ELIG_OUTCOME_MAX; o++)
		CCS_EQ_INT(ccs_elig_outcome_from_str(ccs_elig_outcome_str((ccs_elig_outcome)o)), o);
	CCS_EQ_STR(ccs_elig_outcome_str(CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW),
		   "REQUIRES_PHYSICIAN_REVIEW");
	CCS_EQ_STR(ccs_elig_line_str(CCS_ELIG_LINE_MTP_EQUIPMENT), "MTP_EQUIPMENT");
	CCS_EQ_STR(ccs_elig_group_str(CCS_ELIG_GROUP_OTHER_CNS), "OTHER_CNS");
}

CCS_TEST(json_rendering_has_codes_and_no_birth_date)
{
	ccs_elig_facts f;
	char buf[2048];
	base(&f);
	f.lines_requested = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
	f.financial.agi_cents = 9000000;
	ccs_elig_result r = eval(&f);
	int n = ccs_elig_result_to_json(&r, buf, sizeof(buf));
	CCS_TRUE(n > 0);
	CCS_EQ_INT(n, strlen(buf));
	CCS_TRUE(strstr(buf, "{\"rule_set_version\":\"2026.2\",\"as_of\":\"2026-03-02\","
			     "\"outcome\":\"ELIGIBLE\",") == buf);
	CCS_TRUE(strstr(buf, "{\"line\":\"MTP_EQUIPMENT\",\"outcome\":\"NOT_ELIGIBLE\"") != NULL);
	CCS_TRUE(strstr(buf, "\"NOT_ELIGIBLE_FINANCIAL\"") != NULL);
	CCS_TRUE(strstr(buf, "{\"kind\":\"NOA_DUE\",\"due\":\"2026-03-09\"}") != NULL);
	CCS_TRUE(strstr(buf, "{\"kind\":\"AGE_OUT\"}") != NULL); /* no date: it is the birthday */
	CCS_TRUE(strstr(buf, "2041-06-15") == NULL);
	CCS_TRUE(strstr(buf, "2020-06-15") == NULL);
	CCS_TRUE(strstr(buf, "G80") == NULL); /* no diagnosis code */
	CCS_TRUE(strstr(buf, "\"appeal_to\":\"COUNTY_DIRECTOR\"") != NULL);
	CCS_TRUE(buf[n - 1] == '}');
	CCS_EQ_INT(ccs_elig_result_to_json(&r, buf, 40), -ENOSPC);
	CCS_EQ_INT(strlen(buf), 39);
}

CCS_TEST(invalid_facts_are_rejected)
{
	ccs_elig_facts f;
	ccs_elig_result r;
	char err[128];

	base(&f);
	f.birth_date = D("2026-03-03");
	CCS_EQ_INT(ccs_elig_evaluate_ex(&f, rs_default(), AS_OF_DEFAULT, &r, err, sizeof(err)), -EINVAL);
	CCS_TRUE(strstr(err, "birth") != NULL);
	CCS_EQ_INT(r.outcome, CCS_ELIG_OUTCOME_NONE); /* zeroed on error */
	base(&f);
	f.birth_date = CCS_DATE_INVALID;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.lines_requested = 0;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.lines_requested = 1; /* bit 0 is no line */
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	memcpy(f.medical.codes[0], "G80;1", 6);
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	memset(f.medical.codes[0], 'A', CCS_ELIG_CODE_LEN); /* no NUL */
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.medical.ncodes = CCS_ELIG_MAX_CODES + 1;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.medical.findings |= 1u << 20; /* not a finding */
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.medical.gestational_weeks = 10;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.financial.expected_oop_cents = -1;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.financial.agi_cents = INT64_MAX;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.appeal.result = CCS_ELIG_APPEAL_UPHELD; /* no decided date */
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.mtu.plan_change = true;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.county_model = (ccs_elig_county_model)7;
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	f.referral_date = D("1850-01-01");
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);
	base(&f);
	CCS_EQ_INT(ccs_elig_evaluate(&f, NULL, AS_OF_DEFAULT, &r), -EINVAL);
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), CCS_DATE_INVALID, &r), -EINVAL);
	CCS_EQ_INT(ccs_elig_evaluate(NULL, rs_default(), AS_OF_DEFAULT, &r), -EINVAL);

	/* add_code: bounded and checked */
	base(&f);
	CCS_EQ_INT(ccs_elig_facts_add_code(&f, "not a code"), -EINVAL);
	CCS_EQ_INT(ccs_elig_facts_add_code(&f, "S14.109AXXXX"), -EINVAL);
	for (int i = f.medical.ncodes; i < CCS_ELIG_MAX_CODES; i++)
		CCS_EQ_INT(ccs_elig_facts_add_code(&f, "J45.909"), 0);
	CCS_EQ_INT(ccs_elig_facts_add_code(&f, "J45.909"), -ENOSPC);
	CCS_EQ_INT(ccs_elig_evaluate(&f, rs_default(), AS_OF_DEFAULT, &r), 0);
	CCS_EQ_INT(r.outcome, CCS_ELIG_OUTCOME_ELIGIBLE); /* the G80.1 is still first */
}

CCS_TEST_MAIN()
