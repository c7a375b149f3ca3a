/*
 * Unit tests for the eligibility fold (services/eligibility/eligibility_fold.c): case facts
 * rebuilt from a case row and an evidence log, then evaluated by the rules engine.
 *
 * What is checked, table by table:
 *   - order independence: each scenario's log folds to the same facts, result and signature
 *     in every shuffled order (with redelivered steps: test_eligibility_fold_regressions.c);
 *   - each evidence kind lands in the facts where the rules expect it (and changes the
 *     decision the way docs/domain.md says);
 *   - fold-level behaviour: no evidence, evidence before the referral date, `until` and `at`,
 *     authorization carried forward, the adverse-decision date pinned, financial lapse;
 *   - ccs_elig_fold_instant_date on the instants a producer may send;
 *   - ccs_elig_fold_check_evidence accepting each valid shape and rejecting each invalid one
 *     with a message naming the field (and never echoing the value);
 *   - ccs_elig_fold_signature: equal decisions, equal strings; any buffer size is safe.
 * The defects these tests found (redelivered steps, same-day order, out-of-range dates,
 * offsets) have their regression tests in test_eligibility_fold_regressions.c.
 */
#include "eligibility_fold.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccs_test.h"
#include "fold_scenarios.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SIG_LEN 256


/* Fold under the default rule set; prints the error when it fails. */
static int fold_ex(const ccs_elig_fold_case *c, ccs_elig_fold_step *st, size_t n, ccs_date until, ccs_date at,
		   ccs_elig_fold_out *out)
{
	char err[160] = "";
	int rc = ccs_elig_fold(c, st, n, ccs_elig_ruleset_default(), until, at, out, err, sizeof(err));
	if (rc)
		fprintf(stderr, "  fold failed: %d %s\n", rc, err);
	return rc;
}

static int fold(const ccs_elig_fold_case *c, ccs_elig_fold_step *st, size_t n, ccs_elig_fold_out *out)
{
	return fold_ex(c, st, n, CCS_DATE_INVALID, CCS_DATE_INVALID, out);
}

static bool has(const ccs_elig_fold_out *o, ccs_elig_reason_set want)
{
	return (o->result.reasons & want) == want;
}

static const ccs_elig_line_result *line(const ccs_elig_fold_out *o, ccs_elig_line l)
{
	return &o->result.lines[l - 1];
}

/* ---------------------------------------------------------------- order independence */

static const struct {
	const char *name;
	void (*build)(scenario *s);
	ccs_elig_outcome outcome;
	ccs_elig_reason_set must;
} scenarios[] = {
	{"base", sc_base, O(ELIGIBLE), R(ELIGIBLE_MTP_CP) | R(FIN_EXEMPT_MTP_ONLY)},
	{"appeal", sc_appeal, O(NOT_ELIGIBLE), R(NOT_MEDICALLY_NECESSARY) | R(REFER_LEA_EDUCATIONAL)},
	{"transfer", sc_transfer, O(TRANSFER), R(TRANSFER_COUNTY)},
	{"at_risk", sc_at_risk, O(AT_RISK_ELIGIBLE), R(AT_RISK_UNDER_3)},
	{"two_reviews", sc_two_reviews, O(ELIGIBLE), R(ELIGIBLE_MTP_CP)},
	{"two_appeals", sc_two_appeals, O(ELIGIBLE), R(ELIGIBLE_MTP_CP) | R(THERAPY_PLAN_CHANGE)},
};

static void expect_same(const char *name, const ccs_elig_fold_out *ref, const char *ref_sig,
			const ccs_elig_fold_out *got)
{
	char sig[SIG_LEN];
	ccs_elig_fold_signature(&got->result, sig, sizeof(sig));
	if (strcmp(sig, ref_sig) != 0 || !ccs_elig_result_equal(&ref->result, &got->result) ||
	    memcmp(&ref->facts, &got->facts, sizeof(ref->facts)) != 0 || ref->as_of != got->as_of)
		CCS_FAIL_("scenario %s: a reordered log folds differently (%s vs %s, result equal %d, facts equal %d)",
			  name, sig, ref_sig, ccs_elig_result_equal(&ref->result, &got->result),
			  memcmp(&ref->facts, &got->facts, sizeof(ref->facts)) == 0);
}

CCS_TEST(scenarios_decide_as_expected)
{
	for (size_t i = 0; i < NELEMS(scenarios); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		scenarios[i].build(&s);
		for (size_t k = 0; k < s.n; k++)
			CCS_EQ_INT(ccs_elig_fold_check_evidence(s.st[k].ev, NULL, 0), 0);
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		if (out.result.outcome != scenarios[i].outcome || !has(&out, scenarios[i].must))
			CCS_FAIL_("scenario %s: outcome %s, reasons %llx", scenarios[i].name,
				  ccs_elig_outcome_str(out.result.outcome), (unsigned long long)out.result.reasons);
		CCS_EQ_INT(out.applied, s.n);
	}
}

CCS_TEST(order_independent_over_permutations)
{
	for (size_t i = 0; i < NELEMS(scenarios); i++) {
		static scenario s;
		ccs_elig_fold_step work[MAX_STEPS];
		ccs_elig_fold_out ref, got;
		char ref_sig[SIG_LEN];
		uint32_t seed = 12345u + (uint32_t)i;

		scenarios[i].build(&s);
		memcpy(work, s.st, s.n * sizeof(work[0]));
		CCS_EQ_INT(fold(&s.c, work, s.n, &ref), 0);
		ccs_elig_fold_signature(&ref.result, ref_sig, sizeof(ref_sig));
		/* the input order is shuffled 200 times, including the fully reversed order */
		for (int round = 0; round < 200; round++) {
			memcpy(work, s.st, s.n * sizeof(work[0]));
			if (round == 0)
				for (size_t a = 0, b = s.n - 1; a < b; a++, b--) {
					ccs_elig_fold_step t = work[a];
					work[a] = work[b];
					work[b] = t;
				}
			else
				shuffle(work, s.n, &seed);
			CCS_EQ_INT(fold(&s.c, work, s.n, &got), 0);
			expect_same(scenarios[i].name, &ref, ref_sig, &got);
			CCS_EQ_INT(got.applied, ref.applied);
		}
	}
}

/* The fold sorts its input in place by (date, event id). */
CCS_TEST(steps_sorted_in_place)
{
	static scenario s;
	ccs_elig_fold_out out;
	uint32_t seed = 99;
	sc_at_risk(&s);
	shuffle(s.st, s.n, &seed);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	for (size_t k = 1; k < s.n; k++)
		CCS_TRUE(s.st[k - 1].on < s.st[k].on ||
			 (s.st[k - 1].on == s.st[k].on && strcmp(s.st[k - 1].event_id, s.st[k].event_id) < 0));
}

/* ---------------------------------------------------------------- fold-level behaviour */

CCS_TEST(no_evidence_is_pending_application_and_residency)
{
	ccs_elig_fold_case c = fx_case();
	ccs_elig_fold_out out;
	CCS_EQ_INT(fold(&c, NULL, 0, &out), 0);
	CCS_EQ_INT(out.applied, 0);
	CCS_EQ_INT(out.as_of, c.opened_on);
	CCS_EQ_INT(out.result.as_of, c.opened_on);
	CCS_EQ_INT(out.result.outcome, O(PENDING));
	CCS_TRUE(has(&out, R(PENDING_APPLICATION) | R(PENDING_RESIDENCY)));
	CCS_EQ_INT(out.facts.birth_date, c.birth_date);
	CCS_EQ_INT(out.facts.referral_date, c.referral_date);
	CCS_EQ_INT(out.facts.county_model, c.county_model);
	CCS_EQ_INT(out.facts.lines_requested, c.lines);
	CCS_TRUE(!out.facts.medical.present && !out.facts.financial.present);
}

/* Evidence may be dated before the referral (records gathered earlier): it is folded, and the
 * decision is never dated before the case was opened. */
CCS_TEST(evidence_before_referral_date)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	s.st[0].on = D("2025-12-01");
	s.st[1].on = D("2025-12-02");
	s.st[2].on = D("2025-12-03");
	s.st[3].on = D("2025-12-04");
	s.box[0].app.received_date = (char *)"2025-11-30";
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.applied, 4);
	CCS_EQ_INT(out.as_of, s.c.opened_on);
	CCS_EQ_INT(out.result.as_of, s.c.opened_on);
	CCS_EQ_INT(out.result.outcome, O(ELIGIBLE));
	CCS_EQ_INT(out.facts.application_received, D("2025-11-30"));
	CCS_EQ_INT(out.facts.financial.info_received, D("2025-12-03"));
	CCS_EQ_INT(out.facts.residency.info_received, D("2025-12-02"));
	/* a signed application before the referral still keeps the referral date */
	CCS_EQ_INT(out.result.effective_application_date, s.c.referral_date);
}

/* As-of only moves forward: late evidence dated in the past is judged as of the newest date. */
CCS_TEST(as_of_never_moves_back)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	add(&s, "e-late", "2026-01-10", fx_lines(nb(&s), "ev-late", (const int[]){SL(DIAGNOSTIC), 0}));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.as_of, D("2026-02-10"));
	CCS_TRUE(out.facts.lines_requested & LB(DIAGNOSTIC));
}

CCS_TEST(until_excludes_later_evidence)
{
	static const struct {
		const char *until;
		size_t applied;
		bool medical;
		ccs_elig_outcome outcome;
	} rows[] = {
		{"2026-01-05", 0, false, O(PENDING)},  {"2026-01-20", 1, false, O(PENDING)},
		{"2026-02-09", 3, false, O(REQUIRES_PHYSICIAN_REVIEW)},  {"2026-02-10", 4, true, O(ELIGIBLE)},
		{"2030-01-01", 4, true, O(ELIGIBLE)},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, D(rows[i].until), CCS_DATE_INVALID, &out), 0);
		CCS_EQ_INT(out.applied, rows[i].applied);
		CCS_EQ_INT(out.facts.medical.present, rows[i].medical);
		CCS_EQ_INT(out.result.outcome, rows[i].outcome);
	}
}

CCS_TEST(at_moves_as_of_forward_only)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2026-06-01"), &out), 0);
	CCS_EQ_INT(out.as_of, D("2026-06-01"));
	CCS_EQ_INT(out.result.as_of, D("2026-06-01"));
	sc_base(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2026-01-01"), &out), 0);
	CCS_EQ_INT(out.as_of, D("2026-02-10"));
	/* the 21st birthday passes: the same log, judged later, ages out */
	sc_base(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2041-06-15"), &out), 0);
	CCS_EQ_INT(out.result.outcome, O(NOT_ELIGIBLE));
	CCS_TRUE(has(&out, R(NOT_ELIGIBLE_AGE)));
	sc_base(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2041-06-14"), &out), 0);
	CCS_TRUE(!has(&out, R(NOT_ELIGIBLE_AGE)));
}

/* An earlier eligible step authorizes services; a later denial keeps them during an appeal
 * (22 CCR 42321), and the NOA deadline stays pinned at the first adverse decision. */
CCS_TEST(authorization_and_adverse_date_carry_forward)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	add(&s, "e-mtu", "2026-03-01", fx_mtu(nb(&s), "ev-mtu", false, "2026-02-27", false, ""));
	add(&s, "e-fin2", "2026-03-15", fx_financial(nb(&s), "ev-fin2", 2000000, 0, MC(NONE), true, false));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.result.outcome, O(NOT_ELIGIBLE));
	CCS_TRUE(out.facts.services_authorized);
	CCS_TRUE(out.result.noa_required);
	CCS_TRUE(out.result.services_continue_during_appeal);
	CCS_EQ_INT(out.facts.appeal.decision_date, D("2026-03-01"));
	CCS_EQ_INT(ccs_elig_result_deadline(&out.result, CCS_ELIG_DL_NOA_DUE), D("2026-03-08"));
	CCS_EQ_INT(out.as_of, D("2026-03-15"));
}

/* Never eligible: nothing was authorized, so nothing continues. */
CCS_TEST(never_eligible_never_authorized)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	/* the first review already says "not medically necessary" after the MTU evaluation,
	 * which comes before the review: never an eligible step */
	s.st[3].on = D("2026-03-02");
	add(&s, "e-mtu", "2026-01-21", fx_mtu(nb(&s), "ev-mtu", false, "2026-01-21", false, ""));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.result.outcome, O(NOT_ELIGIBLE));
	CCS_TRUE(!out.facts.services_authorized);
	CCS_TRUE(!out.result.services_continue_during_appeal);
}

/* A financial determination lapses a year after it was made (22 CCR 41610). */
CCS_TEST(financial_determination_lapses_after_a_year)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	s.c.lines = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2027-01-31"), &out), 0);
	CCS_EQ_INT(line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->outcome, O(ELIGIBLE));
	CCS_EQ_INT(out.facts.financial.determined_on, D("2026-02-01"));
	sc_base(&s);
	s.c.lines = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2027-02-01"), &out), 0);
	CCS_TRUE(!out.facts.financial.documents_complete);
	CCS_EQ_INT(out.facts.financial.determined_on, CCS_DATE_INVALID);
	CCS_EQ_INT(line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->outcome, O(PENDING));
	CCS_TRUE(line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->reasons & R(PENDING_FINANCIAL_DOCS));
	/* therapy needs no financial test: still eligible */
	CCS_EQ_INT(line(&out, CCS_ELIG_LINE_MTP_THERAPY)->outcome, O(ELIGIBLE));
}

CCS_TEST(unevaluable_case_is_einval_with_message)
{
	ccs_elig_fold_case c = fx_case();
	ccs_elig_fold_out out;
	char err[128] = "";
	c.birth_date = CCS_DATE_INVALID;
	CCS_EQ_INT(ccs_elig_fold(&c, NULL, 0, ccs_elig_ruleset_default(), CCS_DATE_INVALID, CCS_DATE_INVALID, &out,
				 err, sizeof(err)),
		   -EINVAL);
	CCS_TRUE(err[0] != '\0');
	c = fx_case();
	c.lines = 0;
	CCS_EQ_INT(ccs_elig_fold(&c, NULL, 0, ccs_elig_ruleset_default(), CCS_DATE_INVALID, CCS_DATE_INVALID, &out,
				 NULL, 0),
		   -EINVAL);
}

/* ---------------------------------------------------------------- kinds -> facts */

CCS_TEST(application_maps_to_facts)
{
	static const struct {
		const char *sent, *received;
		bool is_signed;
		ccs_date want_sent, want_received;
		bool pending;
	} rows[] = {
		{"2026-01-07", "2026-01-20", true, 20460, 20473, false},
		{"", "", true, CCS_DATE_INVALID, 20475, false}, /* no date: the step's date */
		{"2026-01-07", "2026-01-20", false, 20460, CCS_DATE_INVALID, true},
		{"", "", false, CCS_DATE_INVALID, CCS_DATE_INVALID, true},
	};
	CCS_EQ_INT(D("2026-01-07"), 20460);
	CCS_EQ_INT(D("2026-01-20"), 20473);
	CCS_EQ_INT(D("2026-01-22"), 20475);
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		s.box[0].app.sent_date = FX_STR(rows[i].sent);
		s.box[0].app.received_date = FX_STR(rows[i].received);
		s.box[0].app.application_signed = rows[i].is_signed;
		s.st[0].on = D("2026-01-22");
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_EQ_INT(out.facts.application_sent, rows[i].want_sent);
		CCS_EQ_INT(out.facts.application_received, rows[i].want_received);
		CCS_EQ_INT(has(&out, R(PENDING_APPLICATION)), rows[i].pending);
		CCS_EQ_INT(out.result.outcome, rows[i].pending ? O(PENDING) : O(ELIGIBLE));
	}
}

/* Signed late (after the 20 days): the application date is the day it came back. */
CCS_TEST(application_returned_late_moves_application_date)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	s.box[0].app.received_date = (char *)"2026-01-26";
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.result.effective_application_date, D("2026-01-26"));
	sc_base(&s);
	s.box[0].app.received_date = (char *)"2026-01-25";
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.result.effective_application_date, s.c.referral_date);
}

CCS_TEST(medical_review_maps_to_facts)
{
	static const char *const codes[] = {"G80.1", "q05.9", "M08.00", NULL};
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	fx_medical(&s.box[3], "ev-med", codes, CCS_ELIG_F_CP_ALL | CCS_ELIG_F_AR_ALL, "2026-02-09", 33,
		   ROLE(THERAPY_SUPERVISOR), false);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_TRUE(out.facts.medical.present);
	CCS_TRUE(!out.facts.medical.records_pending);
	CCS_EQ_INT(out.facts.medical.findings, CCS_ELIG_F_CP_ALL | CCS_ELIG_F_AR_ALL);
	CCS_EQ_INT(out.facts.medical.reviewer, CCS_ELIG_REVIEWER_THERAPY_SUPERVISOR);
	CCS_EQ_INT(out.facts.medical.exam_date, D("2026-02-09"));
	CCS_EQ_INT(out.facts.medical.gestational_weeks, 33);
	CCS_EQ_INT(out.facts.medical.ncodes, 3);
	CCS_EQ_STR(out.facts.medical.codes[0], "G80.1");
	CCS_TRUE(has(&out, R(ELIGIBLE_MTP_CP)));
}

/* Each finding flag of the proto sets exactly its own bit. */
CCS_TEST(medical_each_finding_maps_to_its_bit)
{
	static const uint32_t bits[] = {
		CCS_ELIG_F_CP_RIGIDITY_SPASTICITY, CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE,
		CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS, CCS_ELIG_F_CP_ATAXIA,
		CCS_ELIG_F_AR_PRIMITIVE_REFLEXES, CCS_ELIG_F_AR_DTR_3_PLUS,
		CCS_ELIG_F_AR_ABNORMAL_POSTURING, CCS_ELIG_F_AR_HYPOTONICITY,
		CCS_ELIG_F_AR_MOTOR_ASYMMETRY,
	};
	for (size_t i = 0; i < NELEMS(bits); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		fx_medical(&s.box[3], "ev-med", FX_CP_CODES, bits[i], "", 0, ROLE(NURSE), false);
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_EQ_INT(out.facts.medical.findings, bits[i]);
		/* a CP finding with the G80.1 code approves; an at-risk finding alone does not */
		CCS_EQ_INT(has(&out, R(ELIGIBLE_MTP_CP)), (bits[i] & CCS_ELIG_F_CP_ALL) != 0);
		CCS_EQ_INT(out.facts.medical.exam_date, CCS_DATE_INVALID);
	}
}

CCS_TEST(medical_at_risk_findings_decide_by_count_and_age)
{
	static const struct {
		const char *birth;
		uint32_t findings;
		ccs_elig_outcome outcome;
		ccs_elig_reason_set must;
	} rows[] = {
		{"2025-01-10", CCS_ELIG_F_AR_PRIMITIVE_REFLEXES | CCS_ELIG_F_AR_MOTOR_ASYMMETRY,
		 O(AT_RISK_ELIGIBLE), R(AT_RISK_UNDER_3)},
		/* the rules' "no" is only a recommendation: the physician decides (no NOA) */
		{"2025-01-10", CCS_ELIG_F_AR_ABNORMAL_POSTURING, O(REQUIRES_PHYSICIAN_REVIEW),
		 R(REQUIRES_PHYSICIAN_REVIEW)},
		/* over 3: the at-risk group no longer applies */
		{"2022-06-01", CCS_ELIG_F_AR_PRIMITIVE_REFLEXES | CCS_ELIG_F_AR_MOTOR_ASYMMETRY,
		 O(REQUIRES_PHYSICIAN_REVIEW), R(REQUIRES_PHYSICIAN_REVIEW)},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		s.c.birth_date = D(rows[i].birth);
		fx_medical(&s.box[3], "ev-med", NULL, rows[i].findings, "2026-02-09", 0, ROLE(PHYSICIAN_CONSULTANT),
			   false);
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_EQ_INT(out.facts.medical.findings, rows[i].findings);
		CCS_EQ_INT(out.facts.medical.ncodes, 0);
		CCS_EQ_INT(out.result.outcome, rows[i].outcome);
		if (!has(&out, rows[i].must))
			CCS_FAIL_("row %zu: reasons %llx", i, (unsigned long long)out.result.reasons);
	}
}

CCS_TEST(medical_records_requested_is_pending_records)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	s.box[3].med.records_requested = true;
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_TRUE(out.facts.medical.records_pending);
	CCS_EQ_INT(out.result.outcome, O(PENDING));
	CCS_TRUE(has(&out, R(PENDING_RECORDS)));
}

/* A later review replaces the earlier one wholesale: codes and findings do not accumulate. */
CCS_TEST(medical_later_review_replaces_earlier)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_two_reviews(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_TRUE(!out.facts.medical.records_pending);
	CCS_EQ_INT(out.facts.medical.findings, CCS_ELIG_F_CP_ATAXIA);
	CCS_EQ_INT(out.facts.medical.ncodes, 1);
	CCS_EQ_INT(out.facts.medical.exam_date, D("2026-03-01"));

	/* and the other way round: the later review withdraws the code */
	sc_base(&s);
	add(&s, "e-med2", "2026-03-02",
	    fx_medical(nb(&s), "ev-med2", NULL, 0, "2026-03-01", 0, ROLE(NURSE), true));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.facts.medical.ncodes, 0);
	CCS_EQ_INT(out.facts.medical.findings, 0);
	CCS_TRUE(out.facts.medical.records_pending);
	CCS_EQ_INT(out.facts.medical.reviewer, CCS_ELIG_REVIEWER_NURSE);
}

/* A code routes to a rule, but without a documented finding a physician must review. */
CCS_TEST(medical_code_without_finding_requires_physician)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	fx_medical(&s.box[3], "ev-med", FX_CP_CODES, 0, "2026-02-09", 0, ROLE(NURSE), false);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.result.outcome, O(REQUIRES_PHYSICIAN_REVIEW));
	CCS_TRUE(has(&out, R(REQUIRES_PHYSICIAN_REVIEW)));
	CCS_TRUE(!out.result.noa_required);
}

CCS_TEST(financial_maps_to_facts)
{
	static const struct {
		int64_t agi, oop;
		Ccs__Mtp__V1__MediCalStatus mc;
		bool complete, adopted;
		bool determined; /* determined_on == the step date */
		ccs_elig_outcome equipment;
		ccs_elig_reason_set must;
	} rows[] = {
		{3000000, 0, MC(NONE), true, false, true, O(ELIGIBLE), R(FIN_ELIGIBLE_AGI_UNDER_40K)},
		{5000000, 1500000, MC(NONE), true, false, true, O(ELIGIBLE), R(FIN_ELIGIBLE_OOP_OVER_20PCT)},
		{5000000, 100, MC(NONE), true, false, true, O(NOT_ELIGIBLE), R(NOT_ELIGIBLE_FINANCIAL)},
		{3000000, 0, MC(NONE), false, false, false, O(PENDING), R(PENDING_FINANCIAL_DOCS)},
		{0, 0, MC(FULL_SCOPE_NO_SOC), false, false, true, O(ELIGIBLE),
		 R(FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC)},
		{9000000, 0, MC(FULL_SCOPE_WITH_SOC), true, true, true, O(ELIGIBLE),
		 R(FIN_EXEMPT_ADOPTED_KNOWN_CONDITION)},
		{-500000, 0, MC(RESTRICTED), true, false, true, O(ELIGIBLE), R(FIN_ELIGIBLE_AGI_UNDER_40K)},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		s.c.lines = LB(MTP_THERAPY) | LB(MTP_EQUIPMENT);
		fx_financial(&s.box[2], "ev-fin", rows[i].agi, rows[i].oop, rows[i].mc, rows[i].complete,
			     rows[i].adopted);
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_TRUE(out.facts.financial.present);
		CCS_EQ_INT(out.facts.financial.agi_cents, rows[i].agi);
		CCS_EQ_INT(out.facts.financial.expected_oop_cents, rows[i].oop);
		CCS_EQ_INT(out.facts.financial.medi_cal, (int)rows[i].mc);
		CCS_EQ_INT(out.facts.financial.documents_complete, rows[i].complete);
		CCS_EQ_INT(out.facts.financial.adopted_known_condition, rows[i].adopted);
		CCS_EQ_INT(out.facts.financial.info_received, D("2026-02-01"));
		CCS_EQ_INT(out.facts.financial.determined_on, rows[i].determined ? D("2026-02-01") : CCS_DATE_INVALID);
		if (line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->outcome != rows[i].equipment ||
		    (line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->reasons & rows[i].must) != rows[i].must)
			CCS_FAIL_("row %zu: equipment %s reasons %llx", i,
				  ccs_elig_outcome_str(line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->outcome),
				  (unsigned long long)line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->reasons);
		/* MTP therapy has no financial test, whatever the family's finances */
		CCS_EQ_INT(line(&out, CCS_ELIG_LINE_MTP_THERAPY)->outcome, O(ELIGIBLE));
		CCS_TRUE(line(&out, CCS_ELIG_LINE_MTP_THERAPY)->reasons & R(FIN_EXEMPT_MTP_ONLY));
	}
}

/* New financial information replaces the old file (a later incomplete file re-opens it). */
CCS_TEST(financial_later_information_replaces_earlier)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	s.c.lines = LB(MTP_EQUIPMENT);
	add(&s, "e-fin2", "2026-02-20", fx_financial(nb(&s), "ev-fin2", 4500000, 0, MC(NONE), false, false));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.facts.financial.agi_cents, 4500000);
	CCS_TRUE(!out.facts.financial.documents_complete);
	CCS_EQ_INT(out.facts.financial.info_received, D("2026-02-20"));
	CCS_EQ_INT(out.facts.financial.determined_on, CCS_DATE_INVALID);
	CCS_EQ_INT(line(&out, CCS_ELIG_LINE_MTP_EQUIPMENT)->outcome, O(PENDING));
}

CCS_TEST(residency_maps_to_facts)
{
	static const struct {
		const char *county;
		bool verified, state;
		bool same;
		ccs_elig_outcome outcome;
		ccs_elig_reason_set must;
		bool noa;
	} rows[] = {
		{FX_COUNTY, true, true, true, O(ELIGIBLE), 0, false},
		{"LOS ANGELES", true, true, true, O(ELIGIBLE), 0, false},
		{"", true, true, true, O(ELIGIBLE), 0, false},
		/* another California county: a transfer, not a denial, and no NOA */
		{"San Diego", true, true, false, O(TRANSFER), R(TRANSFER_COUNTY), false},
		/* the county table's spelling: "Los Angeles County" is Los Angeles */
		{"Los Angeles County", true, true, true, O(ELIGIBLE), 0, false},
		{"  los  angeles ", true, true, true, O(ELIGIBLE), 0, false},
		{FX_COUNTY, false, true, true, O(PENDING), R(PENDING_RESIDENCY), false},
		{"San Diego", false, true, false, O(PENDING), R(PENDING_RESIDENCY), false},
		{FX_COUNTY, true, false, true, O(NOT_ELIGIBLE), R(NOT_ELIGIBLE_RESIDENCY_STATE), true},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		fx_residency(&s.box[1], "ev-res", rows[i].county, rows[i].verified, rows[i].state);
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_EQ_INT(out.facts.residency.verified, rows[i].verified);
		CCS_EQ_INT(out.facts.residency.state_resident, rows[i].state ? CCS_ELIG_TRI_YES : CCS_ELIG_TRI_NO);
		CCS_EQ_INT(out.facts.residency.same_county, rows[i].same);
		CCS_EQ_INT(out.facts.residency.info_received, D("2026-01-22"));
		if (out.result.outcome != rows[i].outcome || !has(&out, rows[i].must) ||
		    out.result.noa_required != rows[i].noa)
			CCS_FAIL_("row %zu (%s): outcome %s reasons %llx noa %d", i, rows[i].county,
				  ccs_elig_outcome_str(out.result.outcome), (unsigned long long)out.result.reasons,
				  out.result.noa_required);
	}
}

/* A family that moved back: the latest verification wins. */
CCS_TEST(residency_latest_verification_wins)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_transfer(&s);
	add(&s, "e-res2", "2026-02-15", fx_residency(nb(&s), "ev-res2", FX_COUNTY, true, true));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_TRUE(out.facts.residency.same_county);
	CCS_EQ_INT(out.facts.residency.info_received, D("2026-02-15"));
	CCS_EQ_INT(out.result.outcome, O(ELIGIBLE));
}

CCS_TEST(service_lines_accumulate)
{
	static const struct {
		int a[4], b[4];
		unsigned want;
	} rows[] = {
		{{0}, {0}, LB(MTP_THERAPY)},
		{{SL(MTP_EQUIPMENT), 0}, {0}, LB(MTP_THERAPY) | LB(MTP_EQUIPMENT)},
		{{SL(DIAGNOSTIC), SL(DIAGNOSTIC), 0}, {SL(CCS_TREATMENT), 0}, LB(MTP_THERAPY) | LB(DIAGNOSTIC) |
										   LB(CCS_TREATMENT)},
		{{SL(MTP_THERAPY), 0}, {SL(MTP_THERAPY), 0}, LB(MTP_THERAPY)},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		add(&s, "e-l1", "2026-02-11", fx_lines(nb(&s), "ev-l1", rows[i].a));
		add(&s, "e-l2", "2026-02-12", fx_lines(nb(&s), "ev-l2", rows[i].b));
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_EQ_INT(out.facts.lines_requested, rows[i].want);
		for (int l = CCS_ELIG_LINE_MTP_THERAPY; l <= CCS_ELIG_LINE_DIAGNOSTIC; l++)
			CCS_EQ_INT(line(&out, (ccs_elig_line)l)->requested, (rows[i].want & CCS_ELIG_LINE_BIT(l)) != 0);
	}
}

CCS_TEST(appeal_filed_and_decided_map_to_facts)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_appeal(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, D("2026-03-20"), CCS_DATE_INVALID, &out), 0);
	CCS_EQ_INT(out.facts.appeal.filed, D("2026-03-10"));
	CCS_EQ_INT(out.facts.appeal.decided, CCS_DATE_INVALID);
	CCS_EQ_INT(out.facts.appeal.result, CCS_ELIG_APPEAL_NONE);
	CCS_EQ_INT(ccs_elig_result_deadline(&out.result, CCS_ELIG_DL_APPEAL_RESPONSE_DUE), D("2026-03-31"));
	CCS_TRUE(out.result.services_continue_during_appeal);

	sc_appeal(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.facts.appeal.filed, D("2026-03-10"));
	CCS_EQ_INT(out.facts.appeal.decided, D("2026-03-24"));
	CCS_EQ_INT(out.facts.appeal.result, CCS_ELIG_APPEAL_UPHELD);
	CCS_EQ_INT(ccs_elig_result_deadline(&out.result, CCS_ELIG_DL_FAIR_HEARING_WINDOW_CLOSES), D("2026-04-07"));
	/* decided: nothing continues any more */
	CCS_TRUE(!out.result.services_continue_during_appeal);
}

/* Dates default to the step's date; a result for another appeal does not decide the open one;
 * a new appeal re-opens. */
CCS_TEST(appeal_matching_by_id)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_two_appeals(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, D("2026-03-05"), CCS_DATE_INVALID, &out), 0);
	CCS_EQ_INT(out.facts.appeal.filed, D("2026-03-05"));
	CCS_EQ_INT(out.facts.appeal.decided, CCS_DATE_INVALID);

	sc_two_appeals(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, D("2026-03-16"), CCS_DATE_INVALID, &out), 0);
	/* A1 decided on the step date; A0's result does not overwrite it */
	CCS_EQ_INT(out.facts.appeal.decided, D("2026-03-15"));
	CCS_EQ_INT(out.facts.appeal.result, CCS_ELIG_APPEAL_OVERTURNED);

	sc_two_appeals(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.facts.appeal.filed, D("2026-03-31"));
	CCS_EQ_INT(out.facts.appeal.decided, CCS_DATE_INVALID);
	CCS_EQ_INT(out.facts.appeal.result, CCS_ELIG_APPEAL_NONE);
}

/* A result before any filing (the filing is still in transit) is kept. */
CCS_TEST(appeal_decided_without_filed)
{
	static scenario s;
	ccs_elig_fold_out out;
	sc_base(&s);
	add(&s, "e-ad", "2026-03-01", fx_appeal_decided(nb(&s), "ev-ad", "A9", ARES(OVERTURNED), "2026-02-28"));
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	CCS_EQ_INT(out.facts.appeal.filed, CCS_DATE_INVALID);
	CCS_EQ_INT(out.facts.appeal.decided, D("2026-02-28"));
	CCS_EQ_INT(out.facts.appeal.result, CCS_ELIG_APPEAL_OVERTURNED);
}

CCS_TEST(mtu_evaluation_maps_to_facts)
{
	static const struct {
		bool necessary;
		const char *evaluated;
		bool change;
		const char *effective;
		ccs_date want_eval, want_effective;
		ccs_elig_reason_set must, must_not;
		bool noa;
	} rows[] = {
		{true, "2026-02-27", false, "", 20511, CCS_DATE_INVALID, 0,
		 R(NOT_MEDICALLY_NECESSARY) | R(THERAPY_PLAN_CHANGE), false},
		{false, "2026-02-27", false, "", 20511, CCS_DATE_INVALID,
		 R(NOT_MEDICALLY_NECESSARY) | R(REFER_LEA_EDUCATIONAL), 0, true},
		{false, "", false, "", 20513, CCS_DATE_INVALID, R(NOT_MEDICALLY_NECESSARY), 0, true},
		{true, "2026-02-27", true, "2026-03-20", 20511, 20532, R(THERAPY_PLAN_CHANGE), 0, true},
		/* a change with no effective date takes effect on the evaluation date */
		{true, "2026-02-27", true, "", 20511, 20511, R(THERAPY_PLAN_CHANGE), 0, true},
		/* an effective date without a change means nothing */
		{true, "2026-02-27", false, "2026-03-20", 20511, CCS_DATE_INVALID, 0, R(THERAPY_PLAN_CHANGE), false},
	};
	CCS_EQ_INT(D("2026-02-27"), 20511);
	CCS_EQ_INT(D("2026-03-01"), 20513);
	CCS_EQ_INT(D("2026-03-20"), 20532);
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		add(&s, "e-mtu", "2026-03-01",
		    fx_mtu(nb(&s), "ev-mtu", rows[i].necessary, rows[i].evaluated, rows[i].change, rows[i].effective));
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
		CCS_TRUE(out.facts.mtu.evaluated);
		CCS_EQ_INT(out.facts.mtu.medically_necessary, rows[i].necessary ? CCS_ELIG_TRI_YES : CCS_ELIG_TRI_NO);
		CCS_EQ_INT(out.facts.mtu.evaluated_date, rows[i].want_eval);
		CCS_EQ_INT(out.facts.mtu.plan_change, rows[i].change);
		CCS_EQ_INT(out.facts.mtu.plan_change_effective, rows[i].want_effective);
		if (!has(&out, rows[i].must) || (out.result.reasons & rows[i].must_not) ||
		    out.result.noa_required != rows[i].noa)
			CCS_FAIL_("row %zu: reasons %llx noa %d", i, (unsigned long long)out.result.reasons,
				  out.result.noa_required);
	}
}

/* Unknown kinds (a newer producer) are skipped by the fold, not fatal. */
CCS_TEST(kindless_step_is_skipped)
{
	static scenario s;
	ccs_elig_fold_out a, b;
	sc_base(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &a), 0);
	sc_base(&s);
	fx_reset(nb(&s), "ev-none");
	add(&s, "e-none", "2026-02-05", &s.box[s.n].ev);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &b), 0);
	CCS_TRUE(ccs_elig_result_equal(&a.result, &b.result));
	CCS_EQ_INT(b.applied, a.applied + 1);
}

/* ---------------------------------------------------------------- program lines */

CCS_TEST(program_lines_table)
{
	static const struct {
		int program;
		unsigned lines;
	} rows[] = {
		{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_UNSPECIFIED, LB(MTP_THERAPY)},
		{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_MTP, LB(MTP_THERAPY)},
		{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_CCS_TREATMENT, LB(CCS_TREATMENT)},
		{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_DIAGNOSTIC, LB(DIAGNOSTIC)},
		{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_MTP_AND_CCS_TREATMENT,
		 LB(MTP_THERAPY) | LB(CCS_TREATMENT)},
		{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_OTHER, LB(MTP_THERAPY)},
		{99, LB(MTP_THERAPY)},
		{-1, LB(MTP_THERAPY)},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		unsigned got = ccs_elig_fold_program_lines(rows[i].program);
		CCS_EQ_INT(got, rows[i].lines);
		/* every answer is a non-empty set of known lines: the case is evaluable */
		CCS_TRUE(got != 0 && (got & ~(unsigned)CCS_ELIG_LINES_ALL) == 0);
	}
}

/* ---------------------------------------------------------------- instants */

CCS_TEST(instant_date_table)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: CCS_DATE_INVALID */
	} rows[] = {
		{"2026-11-02T16:00:00Z", "2026-11-02"},
		{"2026-11-02T16:00:00.123Z", "2026-11-02"},
		{"2026-11-02T16:00:00.123456789Z", "2026-11-02"},
		{"2026-11-02t16:00:00z", "2026-11-02"},
		{"2026-11-02T23:59:59.999Z", "2026-11-02"},
		/* California dates: midnight UTC is 16:00 PST the day before; 23:30 PST is its day */
		{"2026-11-02T00:00:00Z", "2026-11-01"},
		{"2026-11-03T07:30:00Z", "2026-11-02"},
		{"2026-11-02T23:30:00-08:00", "2026-11-02"},
		/* one RFC 3339 grammar for every service (ccs/instant.h): no space for the T, no
		 * time without an offset (is it UTC or Pacific?), no bare date */
		{"2026-11-02 16:00:00Z", NULL},
		{"2026-11-02T16:00:00", NULL},
		{"2026-11-02", NULL},
		{"2024-02-29T12:00:00Z", "2024-02-29"},
		{"2000-02-29T12:00:00Z", "2000-02-29"},
		{"1970-01-01T00:00:00Z", "1969-12-31"},
		{"1970-01-01T08:00:00Z", "1970-01-01"},
		{"2025-02-29T12:00:00Z", NULL},
		{"1900-02-29T12:00:00Z", NULL},
		{"2026-02-30T00:00:00Z", NULL},
		{"2026-04-31T00:00:00Z", NULL},
		{"2026-13-01T00:00:00Z", NULL},
		{"2026-00-10T00:00:00Z", NULL},
		{"2026-11-00T00:00:00Z", NULL},
		{"2026-11-2T16:00:00Z", NULL},
		{"26-11-02T16:00:00Z", NULL},
		{"2026/11/02T16:00:00Z", NULL},
		{"20261102T160000Z", NULL},
		{"2026-11-02X16:00:00Z", NULL},
		{"2026-11-02Z", NULL},
		{" 2026-11-02T16:00:00Z", NULL},
		{"+2026-11-02T16:00:00Z", NULL},
		{"2026-11-0", NULL},
		{"", NULL},
		{"yesterday", NULL},
		{NULL, NULL},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		ccs_date got = ccs_elig_fold_instant_date(rows[i].in);
		ccs_date want = rows[i].want ? D(rows[i].want) : CCS_DATE_INVALID;
		if (got != want)
			CCS_FAIL_("instant \"%s\": %d, want %d", rows[i].in ? rows[i].in : "(null)", got, want);
	}
}

/* ---------------------------------------------------------------- check_evidence */

/* Each row starts from a valid evidence of a kind and breaks (or stretches) one thing. */
typedef void (*mutator)(ev_box *b);

static char long_str[80];

static void m_none(ev_box *b)
{
	(void)b;
}
static void m_case_empty(ev_box *b)
{
	b->ev.case_id = (char *)"";
}
static void m_case_null(ev_box *b)
{
	b->ev.case_id = NULL;
}
static void m_case_not_uuid(ev_box *b)
{
	b->ev.case_id = (char *)"case-42";
}
static void m_case_uuid_trailing(ev_box *b)
{
	b->ev.case_id = (char *)FX_CASE_ID "x";
}
static void m_evid_empty(ev_box *b)
{
	b->ev.evidence_id = (char *)"";
}
static void m_evid_null(ev_box *b)
{
	b->ev.evidence_id = NULL;
}
static void m_evid_64(ev_box *b)
{
	memset(long_str, 'e', 64);
	long_str[64] = '\0';
	b->ev.evidence_id = long_str;
}
static void m_evid_65(ev_box *b)
{
	memset(long_str, 'e', 65);
	long_str[65] = '\0';
	b->ev.evidence_id = long_str;
}
static void m_received_ok(ev_box *b)
{
	b->ev.received_at = (char *)"2026-02-10T09:30:00.5Z";
}
static void m_received_bad(ev_box *b)
{
	b->ev.received_at = (char *)"10 Feb 2026";
}
static void m_received_bad_day(ev_box *b)
{
	b->ev.received_at = (char *)"2026-02-30T09:30:00Z";
}
static void m_no_kind(ev_box *b)
{
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND__NOT_SET;
}
static void m_unknown_kind(ev_box *b)
{
	b->ev.kind_case = (Ccs__Mtp__V1__EligibilityEvidence__KindCase)42;
}
static void m_app_sent_bad(ev_box *b)
{
	b->app.sent_date = (char *)"2026-1-7";
}
static void m_app_received_bad(ev_box *b)
{
	b->app.received_date = (char *)"2026-02-30";
}
static void m_med_exam_bad(ev_box *b)
{
	b->med.exam_date = (char *)"2026-02-09T00:00:00Z";
}
static void m_med_ga_19(ev_box *b)
{
	b->med.gestational_age_weeks = 19;
}
static void m_med_ga_20(ev_box *b)
{
	b->med.gestational_age_weeks = 20;
}
static void m_med_ga_44(ev_box *b)
{
	b->med.gestational_age_weeks = 44;
}
static void m_med_ga_45(ev_box *b)
{
	b->med.gestational_age_weeks = 45;
}
static void m_med_ga_huge(ev_box *b)
{
	b->med.gestational_age_weeks = 0x80000000u + 30;
}
static void m_med_role_4(ev_box *b)
{
	b->med.reviewer_role = (Ccs__Mtp__V1__ReviewerRole)4;
}
static void m_med_role_neg(ev_box *b)
{
	b->med.reviewer_role = (Ccs__Mtp__V1__ReviewerRole)-1;
}
static void m_med_code_bad(ev_box *b)
{
	b->codes[0] = (char *)"XYZ";
}
static void m_med_code_empty(ev_box *b)
{
	b->codes[0] = (char *)"";
}
static void m_med_codes_16(ev_box *b)
{
	for (int i = 0; i < CCS_ELIG_MAX_CODES; i++)
		b->codes[i] = (char *)"G80.1";
	b->med.n_confirmed_icd10_codes = CCS_ELIG_MAX_CODES;
}
static void m_med_codes_17(ev_box *b)
{
	for (int i = 0; i <= CCS_ELIG_MAX_CODES; i++)
		b->codes[i] = (char *)"G80.1";
	b->med.n_confirmed_icd10_codes = CCS_ELIG_MAX_CODES + 1;
}
static void m_fin_agi_neg(ev_box *b)
{
	b->fin.agi_cents = -100;
}
static void m_fin_agi_max(ev_box *b)
{
	b->fin.agi_cents = 1000000000000000LL;
}
static void m_fin_agi_over(ev_box *b)
{
	b->fin.agi_cents = 1000000000000001LL;
}
static void m_fin_agi_min_over(ev_box *b)
{
	b->fin.agi_cents = INT64_MIN;
}
static void m_fin_oop_neg(ev_box *b)
{
	b->fin.expected_oop_cents = -1;
}
static void m_fin_oop_over(ev_box *b)
{
	b->fin.expected_oop_cents = INT64_MAX;
}
static void m_fin_soc_neg(ev_box *b)
{
	b->fin.share_of_cost_cents = -1;
}
static void m_fin_mc_5(ev_box *b)
{
	b->fin.medi_cal_status = (Ccs__Mtp__V1__MediCalStatus)5;
}
static void m_res_county_63(ev_box *b)
{
	memset(long_str, 'c', 63);
	long_str[63] = '\0';
	b->res.county = long_str;
}
static void m_res_county_64(ev_box *b)
{
	memset(long_str, 'c', 64);
	long_str[64] = '\0';
	b->res.county = long_str;
}
static void m_lines_zero(ev_box *b)
{
	b->line_v[1] = SL(UNSPECIFIED);
}
static void m_lines_5(ev_box *b)
{
	b->line_v[0] = (Ccs__Mtp__V1__ServiceLine)5;
}
static void m_lines_empty(ev_box *b)
{
	b->lines.n_service_lines = 0;
}
static void m_af_no_id(ev_box *b)
{
	b->af.appeal_id = (char *)"";
}
static void m_af_filed_bad(ev_box *b)
{
	b->af.filed_date = (char *)"03/10/2026";
}
static void m_af_postmark_bad(ev_box *b)
{
	b->af.postmarked_date = (char *)"2026-03-32";
}
static void m_ad_no_id(ev_box *b)
{
	b->ad.appeal_id = (char *)"";
}
static void m_ad_no_result(ev_box *b)
{
	b->ad.result = ARES(UNSPECIFIED);
}
static void m_ad_result_3(ev_box *b)
{
	b->ad.result = (Ccs__Mtp__V1__AppealResult)3;
}
static void m_ad_decided_bad(ev_box *b)
{
	b->ad.decided_date = (char *)"tomorrow";
}
static void m_mtu_eval_bad(ev_box *b)
{
	b->mtu.evaluated_date = (char *)"2026-02-27 ";
}
static void m_mtu_eff_bad(ev_box *b)
{
	b->mtu.effective_date = (char *)"2026-3-20";
}

enum kind { K_APP, K_MED, K_FIN, K_RES, K_LINES, K_AF, K_AD, K_MTU };

static void build_kind(ev_box *b, enum kind k)
{
	static const char *const codes[] = {"G80.1", "M08.0", NULL};
	static const int lines[] = {SL(MTP_THERAPY), SL(DIAGNOSTIC), 0};
	switch (k) {
	case K_APP:
		fx_application(b, "ev", "2026-01-07", "2026-01-20", true);
		break;
	case K_MED:
		fx_medical(b, "ev", codes, CCS_ELIG_F_CP_ATAXIA, "2026-02-09", 0, ROLE(NURSE), false);
		break;
	case K_FIN:
		fx_financial(b, "ev", 3000000, 0, MC(NONE), true, false);
		break;
	case K_RES:
		fx_residency(b, "ev", FX_COUNTY, true, true);
		break;
	case K_LINES:
		fx_lines(b, "ev", lines);
		break;
	case K_AF:
		fx_appeal_filed(b, "ev", "A1", "2026-03-10", "2026-03-08");
		break;
	case K_AD:
		fx_appeal_decided(b, "ev", "A1", ARES(UPHELD), "2026-03-24");
		break;
	case K_MTU:
		fx_mtu(b, "ev", true, "2026-02-27", true, "2026-03-20");
		break;
	}
}

CCS_TEST(check_evidence_table)
{
	static const struct {
		const char *name;
		enum kind kind;
		mutator m;
		const char *err; /* NULL: valid; else a substring of the message */
	} rows[] = {
		{"valid application", K_APP, m_none, NULL},
		{"valid medical", K_MED, m_none, NULL},
		{"valid financial", K_FIN, m_none, NULL},
		{"valid residency", K_RES, m_none, NULL},
		{"valid lines", K_LINES, m_none, NULL},
		{"valid appeal filed", K_AF, m_none, NULL},
		{"valid appeal decided", K_AD, m_none, NULL},
		{"valid mtu", K_MTU, m_none, NULL},
		{"empty case id", K_APP, m_case_empty, "case_id"},
		{"null case id", K_FIN, m_case_null, "case_id"},
		{"case id not a uuid", K_RES, m_case_not_uuid, "case_id"},
		{"case id trailing junk", K_MED, m_case_uuid_trailing, "case_id"},
		{"empty evidence id", K_APP, m_evid_empty, "evidence_id"},
		{"null evidence id", K_APP, m_evid_null, "evidence_id"},
		{"evidence id 64", K_APP, m_evid_64, NULL},
		{"evidence id 65", K_APP, m_evid_65, "evidence_id"},
		{"received_at fractional", K_FIN, m_received_ok, NULL},
		{"received_at prose", K_FIN, m_received_bad, "received_at"},
		{"received_at 30 Feb", K_FIN, m_received_bad_day, "received_at"},
		{"no kind", K_APP, m_no_kind, "no kind"},
		{"unknown kind", K_APP, m_unknown_kind, "no kind"},
		{"application sent date", K_APP, m_app_sent_bad, "application_received.sent_date"},
		{"application received date", K_APP, m_app_received_bad, "application_received.received_date"},
		{"exam date is an instant", K_MED, m_med_exam_bad, "medical_review.exam_date"},
		{"ga 19", K_MED, m_med_ga_19, "gestational_age_weeks"},
		{"ga 20", K_MED, m_med_ga_20, NULL},
		{"ga 44", K_MED, m_med_ga_44, NULL},
		{"ga 45", K_MED, m_med_ga_45, "gestational_age_weeks"},
		{"ga past int", K_MED, m_med_ga_huge, "gestational_age_weeks"},
		{"reviewer 4", K_MED, m_med_role_4, "reviewer_role"},
		{"reviewer -1", K_MED, m_med_role_neg, "reviewer_role"},
		{"code malformed", K_MED, m_med_code_bad, "confirmed code 0"},
		{"code empty", K_MED, m_med_code_empty, "confirmed code 0"},
		{"16 codes", K_MED, m_med_codes_16, NULL},
		{"17 codes", K_MED, m_med_codes_17, "too many"},
		{"negative agi", K_FIN, m_fin_agi_neg, NULL},
		{"agi at the cap", K_FIN, m_fin_agi_max, NULL},
		{"agi over the cap", K_FIN, m_fin_agi_over, "amount"},
		{"agi INT64_MIN", K_FIN, m_fin_agi_min_over, "amount"},
		{"negative oop", K_FIN, m_fin_oop_neg, "amount"},
		{"oop INT64_MAX", K_FIN, m_fin_oop_over, "amount"},
		{"negative share of cost", K_FIN, m_fin_soc_neg, "amount"},
		{"medi-cal 5", K_FIN, m_fin_mc_5, "medi_cal_status"},
		{"county 63", K_RES, m_res_county_63, NULL},
		{"county 64", K_RES, m_res_county_64, "county"},
		{"line unspecified", K_LINES, m_lines_zero, "service_lines_requested[1]"},
		{"line 5", K_LINES, m_lines_5, "service_lines_requested[0]"},
		{"no lines", K_LINES, m_lines_empty, NULL},
		{"appeal filed without id", K_AF, m_af_no_id, "appeal_id"},
		{"appeal filed date", K_AF, m_af_filed_bad, "appeal_filed.filed_date"},
		{"appeal postmark date", K_AF, m_af_postmark_bad, "appeal_filed.postmarked_date"},
		{"appeal decided without id", K_AD, m_ad_no_id, "appeal_id"},
		{"appeal decided without result", K_AD, m_ad_no_result, "result"},
		{"appeal result 3", K_AD, m_ad_result_3, "result"},
		{"appeal decided date", K_AD, m_ad_decided_bad, "appeal_decided.decided_date"},
		{"mtu evaluated date", K_MTU, m_mtu_eval_bad, "mtu_evaluation.evaluated_date"},
		{"mtu effective date", K_MTU, m_mtu_eff_bad, "mtu_evaluation.effective_date"},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static ev_box b;
		char err[160] = "";
		build_kind(&b, rows[i].kind);
		rows[i].m(&b);
		int rc = ccs_elig_fold_check_evidence(&b.ev, err, sizeof(err));
		if (rows[i].err == NULL) {
			if (rc != 0)
				CCS_FAIL_("%s: rejected (%s)", rows[i].name, err);
		} else if (rc != -EINVAL || !strstr(err, rows[i].err)) {
			CCS_FAIL_("%s: rc %d, message \"%s\", want -EINVAL and \"%s\"", rows[i].name, rc, err,
				  rows[i].err);
		}
		/* no buffer: the same verdict, no crash */
		CCS_EQ_INT(ccs_elig_fold_check_evidence(&b.ev, NULL, 0), rc);
		/* a tiny buffer is cut, never overrun */
		char tiny[4] = {'x', 'x', 'x', 'x'};
		CCS_EQ_INT(ccs_elig_fold_check_evidence(&b.ev, tiny, 3), rc);
		if (rc)
			CCS_TRUE(tiny[2] == '\0' && tiny[3] == 'x');
	}
}

/* Error messages name the field, never the value: codes and county names are health and
 * location information, and the case id is not needed in a dead letter's reason. */
CCS_TEST(check_evidence_messages_carry_no_values)
{
	static ev_box b;
	char err[160] = "";
	build_kind(&b, K_MED);
	b.codes[1] = (char *)"G80.1ZZZZZZZZZZ";
	CCS_EQ_INT(ccs_elig_fold_check_evidence(&b.ev, err, sizeof(err)), -EINVAL);
	CCS_TRUE(strstr(err, "confirmed code 1") != NULL);
	CCS_TRUE(strstr(err, "G80") == NULL);
	build_kind(&b, K_APP);
	b.ev.case_id = (char *)"Jane-Doe-2019-03-04";
	CCS_EQ_INT(ccs_elig_fold_check_evidence(&b.ev, err, sizeof(err)), -EINVAL);
	CCS_TRUE(strstr(err, "Jane") == NULL && strstr(err, "2019") == NULL);
}

/* Everything check_evidence accepts folds: every valid shape of every kind, one at a time, on
 * top of the base log. */
CCS_TEST(checked_evidence_folds)
{
	for (enum kind k = K_APP; k <= K_MTU; k++) {
		static scenario s;
		ccs_elig_fold_out out;
		sc_base(&s);
		build_kind(nb(&s), k);
		CCS_EQ_INT(ccs_elig_fold_check_evidence(&s.box[s.n].ev, NULL, 0), 0);
		add(&s, "e-k", "2026-02-15", &s.box[s.n].ev);
		CCS_EQ_INT(fold(&s.c, s.st, s.n, &out), 0);
	}
}

/* ---------------------------------------------------------------- signature */

CCS_TEST(signature_equal_iff_decision_equal)
{
	static scenario s;
	ccs_elig_fold_out a, b, c;
	char sa[SIG_LEN], sb[SIG_LEN], sc[SIG_LEN];

	sc_base(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &a), 0);
	/* the same decision judged 10 days later: dates differ, the signature does not */
	sc_base(&s);
	CCS_EQ_INT(fold_ex(&s.c, s.st, s.n, CCS_DATE_INVALID, D("2026-02-20"), &b), 0);
	sc_appeal(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &c), 0);
	ccs_elig_fold_signature(&a.result, sa, sizeof(sa));
	ccs_elig_fold_signature(&b.result, sb, sizeof(sb));
	ccs_elig_fold_signature(&c.result, sc, sizeof(sc));
	CCS_TRUE(a.result.as_of != b.result.as_of);
	CCS_EQ_STR(sa, sb);
	CCS_TRUE(strcmp(sa, sc) != 0);
	/* outcome, reasons, one line each: four lines, a bar before each */
	size_t bars = 0;
	for (const char *p = sa; *p; p++)
		bars += *p == '|';
	CCS_EQ_INT(bars, CCS_ELIG_NLINES);

	/* each component alone changes it */
	ccs_elig_result r = a.result;
	char s2[SIG_LEN];
	r.noa_required = !r.noa_required;
	ccs_elig_fold_signature(&r, s2, sizeof(s2));
	CCS_TRUE(strcmp(sa, s2) != 0);
	r = a.result;
	r.services_continue_during_appeal = !r.services_continue_during_appeal;
	ccs_elig_fold_signature(&r, s2, sizeof(s2));
	CCS_TRUE(strcmp(sa, s2) != 0);
	r = a.result;
	r.lines[CCS_ELIG_NLINES - 1].reasons ^= R(FIN_EXEMPT_DIAGNOSTIC);
	ccs_elig_fold_signature(&r, s2, sizeof(s2));
	CCS_TRUE(strcmp(sa, s2) != 0);
	r = a.result;
	r.reasons ^= (ccs_elig_reason_set)1 << 40;
	ccs_elig_fold_signature(&r, s2, sizeof(s2));
	CCS_TRUE(strcmp(sa, s2) != 0);
}

CCS_TEST(signature_any_buffer_size_is_safe)
{
	static scenario s;
	ccs_elig_fold_out o;
	char full[SIG_LEN];
	sc_appeal(&s);
	CCS_EQ_INT(fold(&s.c, s.st, s.n, &o), 0);
	/* the longest possible: every bit of every set */
	o.result.reasons = ~(ccs_elig_reason_set)0;
	o.result.outcome = (ccs_elig_outcome)-1;
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		o.result.lines[l].reasons = ~(ccs_elig_reason_set)0;
		o.result.lines[l].outcome = (ccs_elig_outcome)-1;
	}
	ccs_elig_fold_signature(&o.result, full, sizeof(full));
	size_t flen = strlen(full);
	CCS_TRUE(flen > 80 && flen < sizeof(full) - 1);
	ccs_elig_fold_signature(&o.result, NULL, 0);
	for (size_t len = 1; len <= flen + 1; len++) {
		char buf[SIG_LEN + 8];
		memset(buf, 'Z', sizeof(buf));
		ccs_elig_fold_signature(&o.result, buf, len);
		/* NUL-terminated inside the buffer, a prefix of the full text, nothing past len */
		CCS_TRUE(memchr(buf, '\0', len) != NULL);
		CCS_TRUE(strncmp(buf, full, strlen(buf)) == 0);
		CCS_EQ_INT(strlen(buf), len - 1 < flen ? len - 1 : flen);
		CCS_TRUE(buf[len] == 'Z');
	}
}

CCS_TEST_MAIN()
