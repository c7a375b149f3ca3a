/*
 * Micro-benchmark of the eligibility rules engine: ccs_elig_evaluate() on two typical cases
 * (a school-age child with cerebral palsy asking for therapy and equipment, and an infant with
 * at-risk findings), plus the due-work timers it derives.
 */
#include <stdlib.h>

#include "bench.h"
#include "rules.h"

struct ctx {
	const ccs_elig_ruleset *rs;
	ccs_elig_facts cp, infant;
	ccs_date as_of;
};

static ccs_date D(const char *s)
{
	ccs_date d = ccs_date_parse(s);

	if (d == CCS_DATE_INVALID)
		ccs_bench_fail("bad date in the sample facts");
	return d;
}

static void cp_case(ccs_elig_facts *f)
{
	ccs_elig_facts_init(f);
	f->birth_date = D("2017-06-15");
	f->county_model = CCS_ELIG_COUNTY_INDEPENDENT;
	f->residency.verified = true;
	f->residency.state_resident = true;
	f->residency.same_county = true;
	f->referral_date = D("2026-01-05");
	f->application_sent = D("2026-01-07");
	f->application_received = D("2026-01-20");
	f->medical.present = true;
	f->medical.reviewer = CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT;
	f->medical.findings = CCS_ELIG_F_CP_RIGIDITY_SPASTICITY;
	f->medical.exam_date = D("2026-02-10");
	if (ccs_elig_facts_add_code(f, "G80.1") != 0)
		ccs_bench_fail("add code");
	f->financial.present = true;
	f->financial.documents_complete = true;
	f->financial.medi_cal = CCS_ELIG_MEDI_CAL_NONE;
	f->financial.agi_cents = 3000000;
	f->financial.expected_oop_cents = 100000;
	f->financial.info_received = D("2026-02-01");
	f->lines_requested = CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY) |
			     CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_EQUIPMENT);
}

static void infant_case(ccs_elig_facts *f)
{
	cp_case(f);
	f->birth_date = D("2025-09-01");
	f->medical.ncodes = 0;
	f->medical.findings = CCS_ELIG_F_AR_PRIMITIVE_REFLEXES | CCS_ELIG_F_AR_DTR_3_PLUS;
	f->lines_requested = CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY);
}

static void run(const struct ctx *c, const ccs_elig_facts *f, uint64_t iters, int timers)
{
	ccs_elig_result r;
	ccs_elig_deadline dl[CCS_ELIG_DL_COUNT];

	for (uint64_t i = 0; i < iters; i++) {
		if (ccs_elig_evaluate(f, c->rs, c->as_of, &r) != 0)
			ccs_bench_fail("evaluate failed");
		ccs_bench_sink += (uint64_t)r.outcome + r.reasons;
		if (timers)
			ccs_bench_sink += (uint64_t)ccs_elig_next_timers(&r, dl, CCS_ELIG_DL_COUNT);
	}
}

static void b_cp(void *p, uint64_t iters)
{
	struct ctx *c = p;

	run(c, &c->cp, iters, 0);
}

static void b_infant(void *p, uint64_t iters)
{
	struct ctx *c = p;

	run(c, &c->infant, iters, 0);
}

static void b_cp_timers(void *p, uint64_t iters)
{
	struct ctx *c = p;

	run(c, &c->cp, iters, 1);
}

int main(void)
{
	static struct ctx c;
	ccs_elig_result r;
	char err[256];

	ccs_bench_begin("bench_eligibility");
	c.rs = ccs_elig_ruleset_default();
	c.as_of = D("2026-02-12");
	cp_case(&c.cp);
	infant_case(&c.infant);
	/* Preconditions: the two cases decide as the domain says (else the figures mean nothing). */
	if (ccs_elig_evaluate_ex(&c.cp, c.rs, c.as_of, &r, err, sizeof(err)) != 0)
		ccs_bench_fail(err);
	if (!ccs_elig_result_has(&r, CCS_ELIG_R_ELIGIBLE_MTP_CP))
		ccs_bench_fail("cerebral palsy case is not ELIGIBLE_MTP_CP");
	if (ccs_elig_evaluate_ex(&c.infant, c.rs, c.as_of, &r, err, sizeof(err)) != 0)
		ccs_bench_fail(err);
	if (!ccs_elig_result_has(&r, CCS_ELIG_R_AT_RISK_UNDER_3))
		ccs_bench_fail("infant case is not AT_RISK_UNDER_3");

	ccs_bench_run("elig.evaluate(cp,2 lines)", b_cp, &c);
	ccs_bench_run("elig.evaluate(at-risk infant)", b_infant, &c);
	ccs_bench_run("elig.evaluate+next_timers(cp)", b_cp_timers, &c);
	return 0;
}
