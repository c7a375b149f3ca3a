/*
 * Test fixtures for the eligibility fold (services/eligibility/eligibility_fold.c): evidence
 * messages built in place, without the heap, and a standard case.
 *
 * An ev_box holds one EligibilityEvidence and every sub-message it could point at, so a test
 * keeps an array of boxes and the messages never move. Builders fill one kind each and set
 * the ids; the step (event id, received date) is made by step_of().
 */
#ifndef CCS_TEST_FOLD_FIXTURE_H
#define CCS_TEST_FOLD_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "eligibility_fold.h"

#define FX_CASE_ID "6f1d3c1e-2b7a-4c55-9a51-0d2f7f1c9e01"
#define FX_COUNTY "Los Angeles"
#define FX_MAX_CODES 20
/* protobuf-c strings are char *; the fixtures point them at constant text they never write */
#define FX_STR(s) ((char *)(uintptr_t)(s))

typedef struct ev_box {
	Ccs__Mtp__V1__EligibilityEvidence ev;
	Ccs__Mtp__V1__ApplicationReceived app;
	Ccs__Mtp__V1__MedicalReviewFindings med;
	Ccs__Mtp__V1__CerebralPalsyFindings cp;
	Ccs__Mtp__V1__AtRiskFindings ar;
	Ccs__Mtp__V1__FinancialInformation fin;
	Ccs__Mtp__V1__ResidencyVerification res;
	Ccs__Mtp__V1__ServiceLinesRequested lines;
	Ccs__Mtp__V1__ServiceLine line_v[8];
	Ccs__Mtp__V1__AppealFiled af;
	Ccs__Mtp__V1__AppealDecided ad;
	Ccs__Mtp__V1__MtuEvaluationResult mtu;
	char *codes[FX_MAX_CODES];
	char event_id[40];
} ev_box;

/* Reset a box: every message at its INIT value, the fixed case id, an evidence id. */
static inline void fx_reset(ev_box *b, const char *evidence_id)
{
	/* the generated init functions, not the INIT macros: those cast away const, which
	 * clang's -Wcast-qual refuses in this file */
	memset(b, 0, sizeof(*b));
	ccs__mtp__v1__eligibility_evidence__init(&b->ev);
	ccs__mtp__v1__application_received__init(&b->app);
	ccs__mtp__v1__medical_review_findings__init(&b->med);
	ccs__mtp__v1__cerebral_palsy_findings__init(&b->cp);
	ccs__mtp__v1__at_risk_findings__init(&b->ar);
	ccs__mtp__v1__financial_information__init(&b->fin);
	ccs__mtp__v1__residency_verification__init(&b->res);
	ccs__mtp__v1__service_lines_requested__init(&b->lines);
	ccs__mtp__v1__appeal_filed__init(&b->af);
	ccs__mtp__v1__appeal_decided__init(&b->ad);
	ccs__mtp__v1__mtu_evaluation_result__init(&b->mtu);
	b->ev.case_id = FX_STR(FX_CASE_ID);
	b->ev.evidence_id = FX_STR(evidence_id);
}

static inline Ccs__Mtp__V1__EligibilityEvidence *fx_application(ev_box *b, const char *id, const char *sent,
								 const char *received, bool is_signed)
{
	fx_reset(b, id);
	b->app.sent_date = FX_STR(sent);
	b->app.received_date = FX_STR(received);
	b->app.application_signed = is_signed;
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPLICATION_RECEIVED;
	b->ev.application_received = &b->app;
	return &b->ev;
}

/* A medical review; `codes` is NULL-terminated (or NULL); cp/ar are finding bit masks
 * (CCS_ELIG_F_*), and a message is attached only when its mask is not 0. */
static inline Ccs__Mtp__V1__EligibilityEvidence *fx_medical(ev_box *b, const char *id, const char *const *codes,
							     uint32_t findings, const char *exam_date,
							     uint32_t ga_weeks,
							     Ccs__Mtp__V1__ReviewerRole role, bool records)
{
	fx_reset(b, id);
	for (size_t i = 0; codes && codes[i] && i < FX_MAX_CODES; i++) {
		b->codes[i] = FX_STR(codes[i]);
		b->med.n_confirmed_icd10_codes = i + 1;
	}
	b->med.confirmed_icd10_codes = b->codes;
	if (findings & CCS_ELIG_F_CP_ALL) {
		b->cp.rigidity_or_spasticity = !!(findings & CCS_ELIG_F_CP_RIGIDITY_SPASTICITY);
		b->cp.hypotonia_with_normal_or_increased_dtr_and_primitive_reflexes =
			!!(findings & CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE);
		b->cp.involuntary_movements = !!(findings & CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS);
		b->cp.ataxia = !!(findings & CCS_ELIG_F_CP_ATAXIA);
		b->med.cerebral_palsy = &b->cp;
	}
	if (findings & CCS_ELIG_F_AR_ALL) {
		b->ar.persistent_primitive_reflexes = !!(findings & CCS_ELIG_F_AR_PRIMITIVE_REFLEXES);
		b->ar.dtr_3_plus = !!(findings & CCS_ELIG_F_AR_DTR_3_PLUS);
		b->ar.abnormal_posturing = !!(findings & CCS_ELIG_F_AR_ABNORMAL_POSTURING);
		b->ar.hypotonicity_normal_or_increased_dtr = !!(findings & CCS_ELIG_F_AR_HYPOTONICITY);
		b->ar.motor_asymmetry = !!(findings & CCS_ELIG_F_AR_MOTOR_ASYMMETRY);
		b->med.at_risk = &b->ar;
	}
	b->med.exam_date = FX_STR(exam_date);
	b->med.gestational_age_weeks = ga_weeks;
	b->med.reviewer_role = role;
	b->med.records_requested = records;
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MEDICAL_REVIEW;
	b->ev.medical_review = &b->med;
	return &b->ev;
}

static inline Ccs__Mtp__V1__EligibilityEvidence *fx_financial(ev_box *b, const char *id, int64_t agi,
							       int64_t oop, Ccs__Mtp__V1__MediCalStatus mc,
							       bool complete, bool adopted)
{
	fx_reset(b, id);
	b->fin.agi_cents = agi;
	b->fin.expected_oop_cents = oop;
	b->fin.medi_cal_status = mc;
	b->fin.documents_complete = complete;
	b->fin.adopted_with_known_condition = adopted;
	b->fin.household_size = 4;
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_FINANCIAL;
	b->ev.financial = &b->fin;
	return &b->ev;
}

static inline Ccs__Mtp__V1__EligibilityEvidence *fx_residency(ev_box *b, const char *id, const char *county,
							       bool verified, bool state_resident)
{
	fx_reset(b, id);
	b->res.county = FX_STR(county);
	b->res.verified = verified;
	/* a stated answer: the enum (an absent one is "not stated", see the fold tests) */
	b->res.state_resident = state_resident;
	b->res.state_residency = state_resident ? CCS__MTP__V1__STATE_RESIDENCY__STATE_RESIDENCY_RESIDENT
						: CCS__MTP__V1__STATE_RESIDENCY__STATE_RESIDENCY_NOT_RESIDENT;
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_RESIDENCY;
	b->ev.residency = &b->res;
	return &b->ev;
}

/* Service lines: `lines` is 0-terminated. */
static inline Ccs__Mtp__V1__EligibilityEvidence *fx_lines(ev_box *b, const char *id, const int *lines)
{
	fx_reset(b, id);
	for (size_t i = 0; lines[i] && i < 8; i++) {
		b->line_v[i] = (Ccs__Mtp__V1__ServiceLine)lines[i];
		b->lines.n_service_lines = i + 1;
	}
	b->lines.service_lines = b->line_v;
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_SERVICE_LINES_REQUESTED;
	b->ev.service_lines_requested = &b->lines;
	return &b->ev;
}

static inline Ccs__Mtp__V1__EligibilityEvidence *fx_appeal_filed(ev_box *b, const char *id, const char *appeal_id,
								  const char *filed, const char *postmarked)
{
	fx_reset(b, id);
	b->af.appeal_id = FX_STR(appeal_id);
	b->af.filed_date = FX_STR(filed);
	b->af.postmarked_date = FX_STR(postmarked);
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_FILED;
	b->ev.appeal_filed = &b->af;
	return &b->ev;
}

static inline Ccs__Mtp__V1__EligibilityEvidence *fx_appeal_decided(ev_box *b, const char *id,
								    const char *appeal_id,
								    Ccs__Mtp__V1__AppealResult result,
								    const char *decided)
{
	fx_reset(b, id);
	b->ad.appeal_id = FX_STR(appeal_id);
	b->ad.result = result;
	b->ad.decided_date = FX_STR(decided);
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_DECIDED;
	b->ev.appeal_decided = &b->ad;
	return &b->ev;
}

static inline Ccs__Mtp__V1__EligibilityEvidence *fx_mtu(ev_box *b, const char *id, bool necessary,
							 const char *evaluated, bool plan_change,
							 const char *effective)
{
	fx_reset(b, id);
	b->mtu.medically_necessary = necessary;
	b->mtu.medical_necessity = necessary ? CCS__MTP__V1__MEDICAL_NECESSITY__MEDICAL_NECESSITY_NECESSARY
					     : CCS__MTP__V1__MEDICAL_NECESSITY__MEDICAL_NECESSITY_NOT_NECESSARY;
	b->mtu.discipline = CCS__MTP__V1__DISCIPLINE__DISCIPLINE_PT;
	b->mtu.evaluated_date = FX_STR(evaluated);
	b->mtu.therapy_plan_change = plan_change;
	b->mtu.effective_date = FX_STR(effective);
	b->ev.kind_case = CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MTU_EVALUATION;
	b->ev.mtu_evaluation = &b->mtu;
	return &b->ev;
}

/* A 5-year-old referred in Los Angeles (independent) for MTP therapy. */
static inline ccs_elig_fold_case fx_case(void)
{
	ccs_elig_fold_case c;
	memset(&c, 0, sizeof(c));
	c.birth_date = ccs_date_parse("2020-06-15");
	c.referral_date = ccs_date_parse("2026-01-05");
	c.opened_on = ccs_date_parse("2026-01-06");
	c.county_model = CCS_ELIG_COUNTY_INDEPENDENT;
	memcpy(c.county, FX_COUNTY, sizeof(FX_COUNTY));
	c.lines = CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY);
	return c;
}

static inline ccs_elig_fold_step fx_step(const char *event_id, const char *on,
					 const Ccs__Mtp__V1__EligibilityEvidence *ev)
{
	ccs_elig_fold_step s;
	s.event_id = event_id;
	s.on = ccs_date_parse(on);
	s.ev = ev;
	return s;
}

#endif
