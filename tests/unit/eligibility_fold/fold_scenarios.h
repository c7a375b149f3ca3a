/*
 * Evidence-log scenarios for the eligibility fold tests and fuzzer: a case plus a log, kept in
 * one struct so the messages never move. The base log makes the standard child (fx_case())
 * eligible for MTP therapy; the others add to it or change one thing.
 */
#ifndef CCS_TEST_FOLD_SCENARIOS_H
#define CCS_TEST_FOLD_SCENARIOS_H

#include <stdlib.h>

#include "fold_fixture.h"

#define D(s) ccs_date_parse(s)
#define R(x) CCS_ELIG_RBIT(CCS_ELIG_R_##x)
#define LB(x) CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_##x)
#define O(x) CCS_ELIG_OUTCOME_##x
#define ROLE(x) CCS__MTP__V1__REVIEWER_ROLE__REVIEWER_ROLE_##x
#define MC(x) CCS__MTP__V1__MEDI_CAL_STATUS__MEDI_CAL_STATUS_##x
#define ARES(x) CCS__MTP__V1__APPEAL_RESULT__APPEAL_RESULT_##x
#define SL(x) CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_##x

#define MAX_STEPS 16

static const char *const FX_CP_CODES[] = {"G80.1", NULL};


/*
 * A scenario is a case plus an evidence log. The base log makes the standard child eligible
 * for MTP therapy (CP confirmed with a finding, signed application, verified LA residency,
 * complete financial file); the others add to it.
 */
typedef struct {
	ccs_elig_fold_case c;
	ev_box box[MAX_STEPS];
	ccs_elig_fold_step st[MAX_STEPS];
	size_t n;
} scenario;

static inline void add(scenario *s, const char *event_id, const char *on, const Ccs__Mtp__V1__EligibilityEvidence *ev)
{
	if (s->n >= MAX_STEPS)
		abort();
	s->st[s->n++] = fx_step(event_id, on, ev);
}

/* The next free box; the builder fills it and add() records the step. */
static inline ev_box *nb(scenario *s)
{
	return &s->box[s->n];
}

static inline void sc_base(scenario *s)
{
	memset(s, 0, sizeof(*s));
	s->c = fx_case();
	add(s, "e-app", "2026-01-20", fx_application(nb(s), "ev-app", "2026-01-07", "2026-01-20", true));
	add(s, "e-res", "2026-01-22", fx_residency(nb(s), "ev-res", FX_COUNTY, true, true));
	add(s, "e-fin", "2026-02-01", fx_financial(nb(s), "ev-fin", 3000000, 100000, MC(NONE), true, false));
	add(s, "e-med", "2026-02-10",
	    fx_medical(nb(s), "ev-med", FX_CP_CODES, CCS_ELIG_F_CP_RIGIDITY_SPASTICITY, "2026-02-09", 0,
		       ROLE(PHYSICIAN_CONSULTANT), false));
}

/* MTU finds no medical necessity; the family appeals, the appeal is upheld. */
static inline void sc_appeal(scenario *s)
{
	sc_base(s);
	add(s, "e-mtu", "2026-03-01", fx_mtu(nb(s), "ev-mtu", false, "2026-02-27", false, ""));
	add(s, "e-af", "2026-03-10", fx_appeal_filed(nb(s), "ev-af", "A1", "2026-03-10", "2026-03-08"));
	add(s, "e-ad", "2026-03-25", fx_appeal_decided(nb(s), "ev-ad", "A1", ARES(UPHELD), "2026-03-24"));
}

/* The family lives in another county: transfer. */
static inline void sc_transfer(scenario *s)
{
	sc_base(s);
	s->box[1].res.county = (char *)"San Diego";
}

/* A 13-month-old without a diagnosis and two at-risk findings; more lines asked for later,
 * several pieces of evidence on the same day (the tie is broken by event id). */
static inline void sc_at_risk(scenario *s)
{
	static const int more[] = {SL(DIAGNOSTIC), SL(MTP_EQUIPMENT), 0};
	static const int eq[] = {SL(MTP_EQUIPMENT), 0};
	memset(s, 0, sizeof(*s));
	s->c = fx_case();
	s->c.birth_date = D("2025-01-10");
	add(s, "e-1", "2026-02-01", fx_application(nb(s), "ev-1", "", "2026-01-30", true));
	add(s, "e-2", "2026-02-01", fx_residency(nb(s), "ev-2", "", true, true));
	add(s, "e-3", "2026-02-01", fx_lines(nb(s), "ev-3", more));
	add(s, "e-4", "2026-02-12",
	    fx_medical(nb(s), "ev-4", NULL, CCS_ELIG_F_AR_PRIMITIVE_REFLEXES | CCS_ELIG_F_AR_DTR_3_PLUS, "2026-02-11",
		       32, ROLE(NURSE), false));
	add(s, "e-5", "2026-02-12", fx_financial(nb(s), "ev-5", 0, 0, MC(FULL_SCOPE_NO_SOC), false, false));
	add(s, "e-6", "2026-02-20", fx_lines(nb(s), "ev-6", eq));
}

/* Two reviews: the first asks for records, the second (later) decides. */
static inline void sc_two_reviews(scenario *s)
{
	sc_base(s);
	s->box[3].med.records_requested = true;
	s->box[3].med.n_confirmed_icd10_codes = 0;
	add(s, "e-med2", "2026-03-02",
	    fx_medical(nb(s), "ev-med2", FX_CP_CODES, CCS_ELIG_F_CP_ATAXIA, "2026-03-01", 0, ROLE(PHYSICIAN_CONSULTANT),
		       false));
}

/* Eligible, then an appeal of a later plan change is filed, decided, and a second filed. */
static inline void sc_two_appeals(scenario *s)
{
	sc_base(s);
	add(s, "e-mtu", "2026-03-01", fx_mtu(nb(s), "ev-mtu", true, "2026-02-28", true, "2026-03-20"));
	add(s, "e-af1", "2026-03-05", fx_appeal_filed(nb(s), "ev-af1", "A1", "", ""));
	add(s, "e-ad1", "2026-03-15", fx_appeal_decided(nb(s), "ev-ad1", "A1", ARES(OVERTURNED), ""));
	add(s, "e-ad0", "2026-03-16", fx_appeal_decided(nb(s), "ev-ad0", "A0", ARES(UPHELD), "2026-03-16"));
	add(s, "e-af2", "2026-04-01", fx_appeal_filed(nb(s), "ev-af2", "A2", "2026-03-31", ""));
}

/* Deterministic shuffles: the same sequence on every run. */
static inline uint32_t lcg(uint32_t *state)
{
	*state = *state * 1664525u + 1013904223u;
	return *state >> 8;
}

static inline void shuffle(ccs_elig_fold_step *st, size_t n, uint32_t *seed)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = lcg(seed) % i;
		ccs_elig_fold_step t = st[i - 1];
		st[i - 1] = st[j];
		st[j] = t;
	}
}


#endif
