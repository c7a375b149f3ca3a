/*
 * Regression tests for four defects these tests and the fold fuzzer found in
 * services/eligibility/eligibility_fold.c (fixed in 4b52179). Each test failed before the fix:
 *
 *   1. redelivery_is_idempotent: a step folded twice (same event id, date and body) changed
 *      facts.services_authorized and, with an appeal open, the decision itself.
 *   2. checked_evidence_always_folds: check_evidence accepted dates the rules engine refuses
 *      (outside 1900..2199), so one accepted event made every later fold of its case fail (and
 *      held evidence made the accepted referral that opens the case a poison message).
 *   3. same_day_order_follows_the_instant: steps of one day were ordered by event id (random),
 *      not by time, so "the later review replaces the earlier one" held only by chance.
 *   4. instant_date_honours_the_offset: the offset was ignored (the date was the written
 *      one), and any text after the 'T' was accepted. Instants are now dated in California
 *      (ccs/instant.h), so the expected dates are California's, not UTC's.
 */
#include "eligibility_fold.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccs_test.h"
#include "fold_scenarios.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define SIG_LEN 256

static int fold_rc(const ccs_elig_fold_case *c, ccs_elig_fold_step *st, size_t n, ccs_elig_fold_out *out,
		   char *err, size_t errlen)
{
	return ccs_elig_fold(c, st, n, ccs_elig_ruleset_default(), CCS_DATE_INVALID, CCS_DATE_INVALID, out, err,
			     errlen);
}

/* ---------------------------------------------------------------- 1. duplicates */

/* An appeal filed against an earlier pending decision, then the review that makes the child
 * eligible. Folded once: nothing was authorized before the last step, so nothing continues.
 * With the last step folded twice, the second pass sees "authorized" and continues services. */
static void sc_appeal_then_eligible(scenario *s)
{
	sc_base(s);
	add(s, "e-af", "2026-02-05", fx_appeal_filed(nb(s), "ev-af", "A1", "2026-02-05", ""));
}

static const struct {
	const char *name;
	void (*build)(scenario *s);
} dup_scenarios[] = {
	{"base", sc_base},
	{"appeal", sc_appeal},
	{"transfer", sc_transfer},
	{"at_risk", sc_at_risk},
	{"two_reviews", sc_two_reviews},
	{"two_appeals", sc_two_appeals},
	{"appeal_then_eligible", sc_appeal_then_eligible},
};

/* Fixed by folding a step once however often it is in the log (duplicates are adjacent
 * after the sort). */
CCS_TEST(redelivery_is_idempotent)
{
	for (size_t i = 0; i < NELEMS(dup_scenarios); i++) {
		static scenario s;
		ccs_elig_fold_step work[2 * MAX_STEPS];
		ccs_elig_fold_out ref, got;
		char ref_sig[SIG_LEN], sig[SIG_LEN], err[160] = "";
		uint32_t seed = 777u + (uint32_t)i;
		int bad = 0;

		dup_scenarios[i].build(&s);
		memcpy(work, s.st, s.n * sizeof(work[0]));
		CCS_EQ_INT(fold_rc(&s.c, work, s.n, &ref, err, sizeof(err)), 0);
		ccs_elig_fold_signature(&ref.result, ref_sig, sizeof(ref_sig));
		for (int round = 0; round < 100; round++) {
			size_t n = s.n, dups = 1 + lcg(&seed) % s.n;
			memcpy(work, s.st, s.n * sizeof(work[0]));
			/* round 0: the newest step twice, the case the scenario above is about */
			if (round == 0) {
				size_t newest = 0;
				for (size_t k = 1; k < s.n; k++)
					if (s.st[k].on > s.st[newest].on)
						newest = k;
				work[n++] = s.st[newest];
			} else {
				for (size_t d = 0; d < dups; d++)
					work[n++] = s.st[lcg(&seed) % s.n];
			}
			shuffle(work, n, &seed);
			CCS_EQ_INT(fold_rc(&s.c, work, n, &got, err, sizeof(err)), 0);
			ccs_elig_fold_signature(&got.result, sig, sizeof(sig));
			if (strcmp(sig, ref_sig) != 0 || !ccs_elig_result_equal(&ref.result, &got.result) ||
			    memcmp(&ref.facts, &got.facts, sizeof(ref.facts)) != 0)
				bad++;
			if (round == 0 && strcmp(sig, ref_sig) != 0)
				CCS_FAIL_("scenario %s: the newest step twice decides differently: %s vs %s",
					  dup_scenarios[i].name, sig, ref_sig);
		}
		if (bad)
			CCS_FAIL_("scenario %s: %d of 100 logs with redelivered steps fold differently "
				  "(services_authorized %d vs %d)",
				  dup_scenarios[i].name, bad, got.facts.services_authorized,
				  ref.facts.services_authorized);
	}
}

/* ---------------------------------------------------------------- 2. date ranges */

static void b_exam_1899(ev_box *b)
{
	fx_medical(b, "ev", FX_CP_CODES, CCS_ELIG_F_CP_ATAXIA, "1899-12-31", 0, ROLE(NURSE), false);
}
static void b_app_2200(ev_box *b)
{
	fx_application(b, "ev", "2026-01-07", "2200-01-01", true);
}
static void b_app_sent_0001(ev_box *b)
{
	fx_application(b, "ev", "0001-01-01", "2026-01-20", true);
}
static void b_filed_0001(ev_box *b)
{
	fx_appeal_filed(b, "ev", "A1", "0001-01-01", "");
}
static void b_decided_9999(ev_box *b)
{
	fx_appeal_decided(b, "ev", "A1", ARES(UPHELD), "9999-12-31");
}
static void b_mtu_eval_1800(ev_box *b)
{
	fx_mtu(b, "ev", true, "1800-01-01", false, "");
}
static void b_mtu_effective_2999(ev_box *b)
{
	fx_mtu(b, "ev", true, "2026-02-27", true, "2999-01-01");
}
static void b_received_2200(ev_box *b)
{
	fx_residency(b, "ev", FX_COUNTY, true, true);
	b->ev.received_at = FX_STR("2200-01-01T00:00:00Z");
}

/* Fixed by checking every date against the engine's range (1900..2199) at intake. */
CCS_TEST(checked_evidence_always_folds)
{
	static const struct {
		const char *name;
		void (*build)(ev_box *b);
	} rows[] = {
		{"exam date 1899", b_exam_1899},
		{"application received 2200", b_app_2200},
		{"application sent 0001", b_app_sent_0001},
		{"appeal filed 0001", b_filed_0001},
		{"appeal decided 9999", b_decided_9999},
		{"mtu evaluated 1800", b_mtu_eval_1800},
		{"mtu effective 2999", b_mtu_effective_2999},
		{"received_at 2200", b_received_2200},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		static scenario s;
		ccs_elig_fold_out out;
		char err[160] = "";
		sc_base(&s);
		rows[i].build(nb(&s));
		Ccs__Mtp__V1__EligibilityEvidence *ev = &s.box[s.n].ev;
		if (ccs_elig_fold_check_evidence(ev, NULL, 0) != 0)
			continue; /* rejected at intake: fine */
		/* the daemon's received date: received_at's date when present */
		ccs_date on = *ev->received_at ? ccs_elig_fold_instant_date(ev->received_at) : D("2026-02-15");
		add(&s, "e-x", "2026-02-15", ev);
		s.st[s.n - 1].on = on;
		int rc = fold_rc(&s.c, s.st, s.n, &out, err, sizeof(err));
		if (rc != 0)
			CCS_FAIL_("%s: accepted by check_evidence, then the case cannot be folded: %s", rows[i].name,
				  err);
	}
}

/* ---------------------------------------------------------------- 3. same-day order */

/* Fixed by ordering a day's steps by received_at's instant before the event id.
 * Evidence without received_at is dated from its envelope's ce_time, which the fold does not
 * see; carrying the stored received_at column in ccs_elig_fold_step would cover it too. */
CCS_TEST(same_day_order_follows_the_instant)
{
	static scenario s;
	ccs_elig_fold_out out;
	char err[160] = "";
	sc_base(&s);
	/* the morning review asks for records; the afternoon review (a smaller event id) decides */
	s.box[3].med.records_requested = true;
	s.box[3].ev.received_at = FX_STR("2026-02-10T09:00:00Z");
	s.st[3].event_id = "e-z";
	add(&s, "e-a", "2026-02-10",
	    fx_medical(nb(&s), "ev-med2", FX_CP_CODES, CCS_ELIG_F_CP_RIGIDITY_SPASTICITY, "2026-02-10", 0,
		       ROLE(PHYSICIAN_CONSULTANT), false));
	s.box[s.n - 1].ev.received_at = FX_STR("2026-02-10T15:00:00Z");
	CCS_EQ_INT(fold_rc(&s.c, s.st, s.n, &out, err, sizeof(err)), 0);
	CCS_TRUE(!out.facts.medical.records_pending);
	CCS_EQ_INT(out.result.outcome, O(ELIGIBLE));
}

/* ---------------------------------------------------------------- 4. offsets */

/* Fixed by parsing the time and offset, and anything else after the 'T' invalid. The date is
 * California's: 23:30 PST is its own day, although UTC is past midnight. */
CCS_TEST(instant_date_honours_the_offset)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: invalid */
	} rows[] = {
		{"2026-11-02T23:30:00-08:00", "2026-11-02"},
		{"2026-11-03T07:30:00+00:00", "2026-11-02"},
		{"2026-11-03T01:00:00+05:00", "2026-11-02"},
		{"2026-11-03T13:00:00+05:30", "2026-11-02"}, /* 23:30 PST */
		{"2026-11-02T16:00:00+00:00", "2026-11-02"},
		{"2026-12-31T20:00:00.5-05:00", "2026-12-31"},
		{"2027-01-01T08:00:00.5Z", "2027-01-01"},
		{"2026-11-02Tnonsense", NULL},
		{"2026-11-02T25:00:00Z", NULL},
		{"2026-11-02T", NULL},
	};
	for (size_t i = 0; i < NELEMS(rows); i++) {
		ccs_date got = ccs_elig_fold_instant_date(rows[i].in);
		ccs_date want = rows[i].want ? D(rows[i].want) : CCS_DATE_INVALID;
		if (got != want)
			CCS_FAIL_("instant \"%s\": %d, want %d", rows[i].in, got, want);
	}
	/* and so check_evidence refuses a received_at that is no instant */
	static ev_box b;
	fx_residency(&b, "ev", FX_COUNTY, true, true);
	b.ev.received_at = FX_STR("2026-11-02Tnonsense");
	CCS_EQ_INT(ccs_elig_fold_check_evidence(&b.ev, NULL, 0), -EINVAL);
}

CCS_TEST_MAIN()
