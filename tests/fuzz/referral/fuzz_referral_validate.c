/*
 * libFuzzer target: bytes -> ReferralSubmitted -> every referral rule. Undecodable input is
 * simply rejected; decoded input must validate without crashes, leaks or undefined behaviour,
 * whatever its strings hold. A few invariants of the rules are asserted on the way. The rules
 * apply the shipped county table (deploy/data/counties.tsv), loaded before the first input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "referral_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_invariants(const Ccs__Mtp__V1__ReferralSubmitted *r, const ccs_ref_reasons *rs,
			     int problems)
{
	char key[CCS_REF_MATCH_KEY_MAX];
	char cin[CCS_REF_CIN_LEN + 1];
	ccs_ref_route_result route;

	if (problems != (int)(rs->n + rs->dropped) || rs->n > CCS_REF_MAX_REASONS)
		abort();
	for (size_t i = 0; i < rs->n; i++)
		if (!rs->v[i].code || !rs->v[i].message || memchr(rs->v[i].field, 0, CCS_REF_FIELD_MAX) == NULL)
			abort();
	if (!r->child)
		return;
	/* A normalised CIN is always 9 characters, and normalising it again is a no-op. */
	if (ccs_ref_normalise_cin(r->child->medi_cal_cin, cin) == 0) {
		char again[CCS_REF_CIN_LEN + 1];
		if (strlen(cin) != CCS_REF_CIN_LEN || ccs_ref_normalise_cin(cin, again) != 0 ||
		    strcmp(cin, again) != 0)
			abort();
	}
	if (ccs_ref_match_key_name(r->child->last_name, r->child->first_name, r->child->birth_date,
				   r->child->county_of_residence, key, sizeof(key)) == 0 &&
	    strlen(key) >= sizeof(key))
		abort();
	if (ccs_ref_route(r->child->county_of_residence, &route) == 0 && route.county == NULL)
		abort();
	/* A valid referral must route and must produce a match key. */
	if (problems == 0 &&
	    (ccs_ref_route(r->child->county_of_residence, &route) != 0 ||
	     ccs_ref_match_key_name(r->child->last_name, r->child->first_name,
				    r->child->birth_date, r->child->county_of_residence, key,
				    sizeof(key)) != 0))
		abort();
	/* ... and yield its facts: both clock dates counted from the referral date. */
	if (problems == 0) {
		static ccs_ref_facts f;
		ccs_date ref;
		if (ccs_ref_facts_of(r, &f) != 0)
			abort();
		ref = ccs_date_parse(f.referral_date);
		if (ccs_date_parse(f.application_send_due) != ref + CCS_REF_APPLICATION_SEND_DAYS ||
		    ccs_date_parse(f.application_return_due) != ref + CCS_REF_APPLICATION_RETURN_DAYS ||
		    f.n_diagnosis_codes != r->n_diagnoses || strlen(f.school_district) > CCS_REF_TEXT_MAX)
			abort();
	}
	for (size_t i = 0; i < r->n_diagnoses; i++) {
		char icd[CCS_REF_ICD10_MAX];
		if (r->diagnoses[i] && ccs_ref_normalise_icd10(r->diagnoses[i]->icd10_code, icd) == 0) {
			char again[CCS_REF_ICD10_MAX];
			if (ccs_ref_normalise_icd10(icd, again) != 0 || strcmp(icd, again) != 0)
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ccs__Mtp__V1__ReferralSubmitted *r;
	ccs_ref_reasons rs;
	int problems;

	static ccs_county_table *counties;
	if (!counties) {
		char err[256];
		ccs_ref_rules rules = {NULL, CCS_REF_APPLICATION_SEND_DAYS, CCS_REF_APPLICATION_RETURN_DAYS};
		if (ccs_county_load(CCS_COUNTIES_TSV, &counties, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
		rules.counties = counties;
		if (ccs_ref_rules_set(&rules) != 0)
			abort();
	}
	r = ccs__mtp__v1__referral_submitted__unpack(NULL, size, data);
	if (!r)
		return 0;
	/* A fixed "today" keeps runs reproducible; also judge on the submission's own date. */
	problems = ccs_ref_validate(r, ccs_date_from_ymd(2024, 6, 1), &rs);
	check_invariants(r, &rs, problems);
	ccs_date sub = ccs_ref_instant_date(r->submitted_at);
	if (sub != CCS_DATE_INVALID) {
		problems = ccs_ref_validate(r, sub, &rs);
		check_invariants(r, &rs, problems);
	}
	ccs__mtp__v1__referral_submitted__free_unpacked(r, NULL);
	return 0;
}
