/*
 * Unit tests of the scheduling policy (services/scheduling/policy.h): one test per rule of the
 * calendar following eligibility and the world.
 */
#include <string.h>

#include "ccs_test.h"
#include "policy.h"

CCS_TEST_MAIN()

#define D(s) ccs_date_parse(s)

static ccs_sched_elig_facts facts(int outcome)
{
	ccs_sched_elig_facts f = {outcome, 0, 0, CCS_DATE_INVALID, 0};
	return f;
}

/* Never decided, pending, denied, aged out, not medically necessary: refused with a reason. */
CCS_TEST(refusal_for_every_not_eligible_status)
{
	ccs_date asof = D("2026-11-02");
	ccs_sched_elig_facts f = facts(0);
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_NEVER_DECIDED);
	CCS_EQ_STR(ccs_sched_policy_refusal(CCS_SCHED_ELIG_NEVER_DECIDED), "NOT_ELIGIBLE_NEVER_DECIDED");
	f = facts(1);
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_ELIGIBLE);
	CCS_TRUE(ccs_sched_policy_refusal(CCS_SCHED_ELIG_ELIGIBLE) == NULL);
	f = facts(2); /* at risk */
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_ELIGIBLE);
	for (int o = 4; o <= 6; o++) { /* pending, physician review, transfer */
		f = facts(o);
		CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_PENDING);
	}
	CCS_EQ_STR(ccs_sched_policy_refusal(CCS_SCHED_ELIG_PENDING), "NOT_ELIGIBLE_PENDING");
	f = facts(3);
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_DENIED);
	CCS_EQ_STR(ccs_sched_policy_refusal(CCS_SCHED_ELIG_DENIED), "NOT_ELIGIBLE_DENIED");
	f = facts(3);
	f.reason_age = 1;
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_AGED_OUT);
	CCS_EQ_STR(ccs_sched_policy_refusal(CCS_SCHED_ELIG_AGED_OUT), "NOT_ELIGIBLE_AGED_OUT");
	/* the 21st birthday ends eligibility even when the last decision said eligible */
	f = facts(1);
	f.age_out_on = D("2026-11-02");
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_AGED_OUT);
	f.age_out_on = D("2026-11-03");
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_ELIGIBLE);
	f = facts(3);
	f.reason_nmn = 1;
	CCS_EQ_INT(ccs_sched_policy_status(&f, asof), CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY);
	CCS_EQ_STR(ccs_sched_policy_refusal(CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY),
		   "NOT_MEDICALLY_NECESSARY");
	for (int s = 0; s <= 5; s++)
		CCS_EQ_INT(ccs_sched_policy_status_parse(
				   ccs_sched_policy_status_name((ccs_sched_elig_status)s)),
			   s);
}

/* Denial, age-out and not medically necessary cancel booked services; pending does not; an
 * appeal keeps them (22 CCR 42321) except at age-out. */
CCS_TEST(cancellation_on_denial)
{
	CCS_TRUE(ccs_sched_policy_ends_services(CCS_SCHED_ELIG_DENIED, 0));
	CCS_TRUE(ccs_sched_policy_ends_services(CCS_SCHED_ELIG_AGED_OUT, 0));
	CCS_TRUE(ccs_sched_policy_ends_services(CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY, 0));
	CCS_TRUE(!ccs_sched_policy_ends_services(CCS_SCHED_ELIG_PENDING, 0));
	CCS_TRUE(!ccs_sched_policy_ends_services(CCS_SCHED_ELIG_ELIGIBLE, 0));
	CCS_TRUE(!ccs_sched_policy_ends_services(CCS_SCHED_ELIG_NEVER_DECIDED, 0));
	CCS_TRUE(!ccs_sched_policy_ends_services(CCS_SCHED_ELIG_DENIED, 1));
	CCS_TRUE(ccs_sched_policy_ends_services(CCS_SCHED_ELIG_AGED_OUT, 1));
	CCS_EQ_STR(ccs_sched_policy_end_reason(CCS_SCHED_ELIG_DENIED), "NOT_ELIGIBLE");
	CCS_EQ_STR(ccs_sched_policy_end_reason(CCS_SCHED_ELIG_AGED_OUT), "AGED_OUT");
	CCS_EQ_STR(ccs_sched_policy_end_reason(CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY),
		   "NOT_MEDICALLY_NECESSARY");
}

/* An end of services takes effect after the 5-day written notice; at age-out on the birthday. */
CCS_TEST(end_of_services_five_day_rule)
{
	ccs_sched_rules r = ccs_sched_rules_default;
	ccs_date asof = D("2026-11-02"), th, ev;
	ccs_sched_policy_end_dates(&r, CCS_SCHED_ELIG_DENIED, asof, CCS_DATE_INVALID, &th, &ev);
	CCS_EQ_INT(th, D("2026-11-07"));
	CCS_EQ_INT(ev, D("2026-11-03"));
	ccs_sched_policy_end_dates(&r, CCS_SCHED_ELIG_NOT_MEDICALLY_NECESSARY, asof, D("2030-01-01"), &th,
				   &ev);
	CCS_EQ_INT(th, D("2026-11-07"));
	ccs_sched_policy_end_dates(&r, CCS_SCHED_ELIG_AGED_OUT, asof, D("2026-11-20"), &th, &ev);
	CCS_EQ_INT(th, D("2026-11-20"));
	ccs_sched_policy_end_dates(&r, CCS_SCHED_ELIG_AGED_OUT, asof, D("2026-10-01"), &th, &ev);
	CCS_EQ_INT(th, D("2026-11-03"));
	r.plan_change_business_days = 1; /* Friday + 5 business days = Friday */
	ccs_sched_policy_end_dates(&r, CCS_SCHED_ELIG_DENIED, D("2026-11-06"), CCS_DATE_INVALID, &th, &ev);
	CCS_EQ_INT(th, ccs_sched_change_effective(&r, D("2026-11-06")));
	CCS_TRUE(th >= D("2026-11-11"));
}

/* A therapist's or the school's cancellation rebooks the child; the family's only on request. */
CCS_TEST(cancellation_rebooks_same_child)
{
	unsigned def = CCS_SCHED_REBOOK_DEFAULT;
	CCS_TRUE(!ccs_sched_policy_rebook(1, 0, def)); /* family */
	CCS_TRUE(ccs_sched_policy_rebook(1, 1, def));
	CCS_TRUE(ccs_sched_policy_rebook(2, 0, def));  /* therapist */
	CCS_TRUE(!ccs_sched_policy_rebook(3, 0, def)); /* no-show */
	CCS_TRUE(ccs_sched_policy_rebook(4, 0, def));  /* school closure */
	CCS_TRUE(!ccs_sched_policy_rebook(2, 0, 0));
	CCS_TRUE(!ccs_sched_policy_rebook(0, 0, ~0u));
}

static const ccs_sched_therapist therapists[] = {
	{"PT1", CCS_SCHED_PT, {{480, 960}, {480, 960}, {480, 960}, {480, 960}, {480, 720}, {0, 0}, {0, 0}}},
};
static const ccs_sched_closure closures[] = {{0, 0}};

/* Closures and therapist hours: which booked sessions a new calendar leaves standing. */
CCS_TEST(closures_and_hours)
{
	ccs_sched_rules r = ccs_sched_rules_default;
	ccs_sched_closure cl[1] = {{D("2026-11-26"), D("2026-11-27")}};
	ccs_sched_snapshot s = {{{480, 960}, {480, 960}, {480, 960}, {480, 960}, {480, 960}, {0, 0}, {0, 0}},
				therapists,
				1,
				NULL,
				0,
				cl,
				1,
				NULL,
				0};
	(void)closures;
	/* 2026-11-26 is a Thursday: closed */
	CCS_EQ_INT(ccs_sched_policy_session_fits(&r, &s, "PT1", D("2026-11-26"), 540, 600),
		   CCS_SCHED_R_NO_SCHOOL_DAY);
	CCS_EQ_STR(ccs_sched_policy_move_reason(CCS_SCHED_R_NO_SCHOOL_DAY), "CLOSURE");
	CCS_EQ_INT(ccs_sched_policy_session_fits(&r, &s, "PT1", D("2026-11-25"), 540, 600), CCS_SCHED_OK);
	/* Friday: the therapist's hours end at 12:00 */
	CCS_EQ_INT(ccs_sched_policy_session_fits(&r, &s, "PT1", D("2026-11-20"), 720, 780),
		   CCS_SCHED_R_NO_THERAPIST_HOURS);
	CCS_EQ_STR(ccs_sched_policy_move_reason(CCS_SCHED_R_NO_THERAPIST_HOURS), "THERAPIST_HOURS");
	/* a therapist who left */
	CCS_EQ_INT(ccs_sched_policy_session_fits(&r, &s, "PT9", D("2026-11-25"), 540, 600),
		   CCS_SCHED_R_NO_THERAPIST_HOURS);
	/* a weekend, or outside the MTU's hours */
	CCS_EQ_INT(ccs_sched_policy_session_fits(&r, &s, "PT1", D("2026-11-21"), 540, 600),
		   CCS_SCHED_R_NO_SCHOOL_DAY);
	CCS_EQ_INT(ccs_sched_policy_session_fits(&r, &s, "PT1", D("2026-11-24"), 930, 990),
		   CCS_SCHED_R_NO_SCHOOL_DAY);
}

/* IEP blocks: a session collides when it overlaps a block of its weekday that applies that day. */
CCS_TEST(iep_collisions)
{
	ccs_sched_iep_block b[2] = {{0, 600, 660, D("2026-11-09"), 0}, {2, 480, 540, 0, D("2026-11-30")}};
	CCS_TRUE(ccs_sched_policy_iep_collides(b, 2, D("2026-11-09"), 630, 690));  /* Monday, overlaps */
	CCS_TRUE(!ccs_sched_policy_iep_collides(b, 2, D("2026-11-09"), 660, 720)); /* touches the end */
	CCS_TRUE(!ccs_sched_policy_iep_collides(b, 2, D("2026-11-02"), 630, 690)); /* before it applies */
	CCS_TRUE(ccs_sched_policy_iep_collides(b, 2, D("2026-11-04"), 500, 560));  /* Wednesday */
	CCS_TRUE(!ccs_sched_policy_iep_collides(b, 2, D("2026-12-02"), 500, 560)); /* after it ended */
	CCS_TRUE(!ccs_sched_policy_iep_collides(b, 2, D("2026-11-10"), 600, 660)); /* Tuesday */
	CCS_TRUE(ccs_sched_policy_in_school_day(D("2026-11-09"), 840, 900, 480, 900));
	CCS_TRUE(!ccs_sched_policy_in_school_day(D("2026-11-09"), 900, 960, 480, 900));
	CCS_TRUE(!ccs_sched_policy_in_school_day(D("2026-11-14"), 600, 660, 480, 900)); /* Saturday */
}

/* The conference needs the disciplines the child receives plus the physician. */
CCS_TEST(conference_participants)
{
	int roles[4];
	CCS_EQ_INT((int)ccs_sched_policy_conference_roles(CCS_SCHED_PT, roles), 3);
	CCS_EQ_INT(roles[0], 1);
	CCS_EQ_INT(roles[1], 2);
	CCS_EQ_INT(roles[2], 4);
	CCS_EQ_INT((int)ccs_sched_policy_conference_roles(CCS_SCHED_OT, roles), 3);
	CCS_EQ_INT(roles[1], 3);
	CCS_EQ_INT((int)ccs_sched_policy_conference_roles(CCS_SCHED_PT | CCS_SCHED_OT, roles), 4);
	CCS_EQ_INT(ccs_sched_policy_conference_due(D("2026-01-15"), 0), D("2027-01-15"));
	CCS_EQ_INT(ccs_sched_policy_conference_due(D("2026-01-15"), 6), D("2026-07-15"));
	CCS_EQ_INT(ccs_sched_policy_conference_due(D("2026-01-15"), 13), D("2027-01-15"));
}

/* A release shares only within its scope, from its effective date to its expiry; revoked or
 * expired: nothing, at once. */
CCS_TEST(release_scope_and_expiry)
{
	ccs_sched_release r = {1, D("2026-10-01"), D("2027-09-30"), CCS_SCHED_SHARE_IDENTITY};
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2026-11-02")), CCS_SCHED_SHARE_IDENTITY);
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2026-09-30")), 0);
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2027-09-30")), CCS_SCHED_SHARE_IDENTITY);
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2027-10-01")), 0);
	r.scopes = CCS_SCHED_SHARE_SUMMARY;
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2026-11-02")),
		   CCS_SCHED_SHARE_IDENTITY | CCS_SCHED_SHARE_SUMMARY);
	r.scopes = 0;
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2026-11-02")), CCS_SCHED_SHARE_IDENTITY);
	r.on_file = 0;
	CCS_EQ_INT(ccs_sched_policy_release_allows(&r, D("2026-11-02")), 0);
	CCS_EQ_INT(ccs_sched_policy_release_allows(NULL, D("2026-11-02")), 0);
	/* expiry: stated, else effective (or received) + max months */
	CCS_EQ_INT(ccs_sched_policy_release_expiry(D("2026-10-01"), D("2026-11-02"), D("2027-01-31"), 12),
		   D("2027-01-31"));
	CCS_EQ_INT(ccs_sched_policy_release_expiry(D("2026-10-01"), D("2026-11-02"), CCS_DATE_INVALID, 12),
		   D("2027-09-30"));
	CCS_EQ_INT(ccs_sched_policy_release_expiry(CCS_DATE_INVALID, D("2026-11-02"), CCS_DATE_INVALID, 6),
		   D("2027-05-01"));
	int sc[2] = {1, 2};
	CCS_EQ_INT(ccs_sched_policy_release_scopes(sc, 1), CCS_SCHED_SHARE_IDENTITY);
	CCS_EQ_INT(ccs_sched_policy_release_scopes(sc, 2),
		   CCS_SCHED_SHARE_IDENTITY | CCS_SCHED_SHARE_SUMMARY);
	CCS_EQ_INT(ccs_sched_policy_release_scopes(NULL, 0), CCS_SCHED_SHARE_IDENTITY);
}

/* The 5-day rule on each change: plan changes, IEP moves and ends share ccs_sched_change_effective. */
CCS_TEST(five_day_rule_on_each_change)
{
	ccs_sched_rules r = ccs_sched_rules_default;
	CCS_EQ_INT(r.plan_change_notice_days, 5);
	CCS_EQ_INT(ccs_sched_change_effective(&r, D("2026-11-02")), D("2026-11-07"));
	r.plan_change_notice_days = 0;
	CCS_EQ_INT(ccs_sched_change_effective(&r, D("2026-11-02")), D("2026-11-02"));
}
