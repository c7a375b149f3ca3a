/*
 * The compiled-in eligibility rule sets (data only; the evaluation is in rules.c).
 *
 * "2026.1" is the default. "2026.1-inclusive" differs ONLY in the two open policy settings of
 * DOMAIN.md (at-risk age "<= 36 months" instead of "< 36", AGI "<= $40,000" instead of "<"),
 * so a what-if can show which decisions the open questions decide. Note: HSC 123870(a)(1)
 * reads "$40,000 or less", which favours the inclusive reading; the default stays exclusive
 * until the program confirms it.
 *
 * Documented findings (a code alone never approves), per condition row below:
 *   - cerebral palsy: at least one of the four CP findings, whoever reviewed;
 *   - intracranial / degenerative CNS conditions (TBI, ataxias: "other conditions showing
 *     the CP findings"): a physician consultant's review AND at least one CP finding;
 *   - every other group A condition (neuromuscular, musculoskeletal, spina bifida, spinal
 *     cord and brachial plexus injuries): the code confirmed by a physician consultant's
 *     review (a nurse's or therapist's review alone routes to physician review).
 * Codes and groups marked [K] in DOMAIN.md are best knowledge, kept here so that a new
 * version, not a code change, corrects them. Citations marked OPEN likewise.
 */
#include "rules.h"

#include <string.h>

#define PHYS CCS_ELIG_F_PHYSICIAN_CONFIRMED
#define CP_ANY CCS_ELIG_F_CP_ALL

#define CP CCS_ELIG_GROUP_CP
#define NM CCS_ELIG_GROUP_NEUROMUSCULAR
#define MS CCS_ELIG_GROUP_MUSCULOSKELETAL
#define CNS CCS_ELIG_GROUP_OTHER_CNS

/* DOMAIN.md section 3 table. lo/hi without the dot, same length. */
static const ccs_elig_code_rule codes_2026_1[] = {
	{"G800", "G804", CP, "cerebral_palsy", 0, CP_ANY},
	{"G808", "G809", CP, "cerebral_palsy", 0, CP_ANY},
	{"Q050", "Q059", CNS, "spina_bifida", PHYS, 0},
	{"Q0701", "Q0701", CNS, "spina_bifida", PHYS, 0},
	{"Q0703", "Q0703", CNS, "spina_bifida", PHYS, 0},
	{"G710", "G710", NM, "muscular_dystrophy", PHYS, 0},
	{"G7111", "G7111", NM, "muscular_dystrophy", PHYS, 0},
	{"G12", "G12", NM, "sma_hereditary_neuropathy", PHYS, 0},
	{"G600", "G600", NM, "sma_hereditary_neuropathy", PHYS, 0},
	{"M08", "M08", MS, "juvenile_rheumatoid_arthritis", PHYS, 0},
	{"M05", "M06", MS, "juvenile_rheumatoid_arthritis", PHYS, 0},
	{"S140", "S141", CNS, "spinal_cord_injury", PHYS, 0},
	{"S240", "S241", CNS, "spinal_cord_injury", PHYS, 0},
	{"S340", "S341", CNS, "spinal_cord_injury", PHYS, 0},
	{"G822", "G822", CNS, "spinal_cord_injury", PHYS, 0},
	{"G825", "G825", CNS, "spinal_cord_injury", PHYS, 0},
	{"Q743", "Q743", MS, "arthrogryposis", PHYS, 0},
	{"Q780", "Q780", MS, "osteogenesis_imperfecta", PHYS, 0},
	{"S06", "S06", CNS, "head_injury_tbi", PHYS, CP_ANY},
	{"G931", "G931", CNS, "head_injury_tbi", PHYS, CP_ANY},
	{"A80", "A80", NM, "poliomyelitis", PHYS, 0},
	{"B91", "B91", NM, "poliomyelitis", PHYS, 0},
	{"G7000", "G7001", NM, "myasthenia", PHYS, 0},
	{"G702", "G702", NM, "myasthenia", PHYS, 0},
	{"G73", "G73", NM, "myasthenia", PHYS, 0},
	{"Z89", "Z89", MS, "amputation", PHYS, 0},
	{"Q71", "Q73", MS, "amputation", PHYS, 0},
	{"S48", "S48", MS, "amputation", PHYS, 0},
	{"S58", "S58", MS, "amputation", PHYS, 0},
	{"S68", "S68", MS, "amputation", PHYS, 0},
	{"S78", "S78", MS, "amputation", PHYS, 0},
	{"S88", "S88", MS, "amputation", PHYS, 0},
	{"S98", "S98", MS, "amputation", PHYS, 0},
	{"L905", "L905", MS, "burn_contracture", PHYS, 0},
	{"T95", "T95", MS, "burn_contracture", PHYS, 0},
	{"M245", "M245", MS, "burn_contracture", PHYS, 0},
	{"P140", "P141", CNS, "brachial_plexus_injury", PHYS, 0},
	{"P143", "P143", CNS, "brachial_plexus_injury", PHYS, 0},
	{"S143", "S143", CNS, "brachial_plexus_injury", PHYS, 0},
	{"G11", "G11", CNS, "ataxia_degenerative_cns", PHYS, CP_ANY},
	{"G31", "G31", CNS, "ataxia_degenerative_cns", PHYS, CP_ANY},
};

static const ccs_elig_group_rule groups_2026_1[] = {
	{CP, CCS_ELIG_R_ELIGIBLE_MTP_CP},
	{NM, CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR},
	{MS, CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL},
	{CNS, CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS},
};

#define MTP_MEDICAL "22 CCR 41832 (former); 22 CCR 41515.1-41518.9 (OPEN: section)"
#define FINANCIAL "HSC 123870; 22 CCR 41670"

/* Everything but the version and the two open settings. */
#define RULESET_2026_1_COMMON                                                               \
	.codes = codes_2026_1,                                                              \
	.ncodes = sizeof(codes_2026_1) / sizeof(codes_2026_1[0]),                           \
	.groups = groups_2026_1,                                                            \
	.ngroups = sizeof(groups_2026_1) / sizeof(groups_2026_1[0]),                        \
	.lines = {                                                                          \
		{CCS_ELIG_LINE_MTP_THERAPY, false, CCS_ELIG_R_FIN_EXEMPT_MTP_ONLY, true, false}, \
		{CCS_ELIG_LINE_MTP_EQUIPMENT, true, CCS_ELIG_R_NONE, false, false},         \
		{CCS_ELIG_LINE_CCS_TREATMENT, true, CCS_ELIG_R_NONE, false, false},         \
		{CCS_ELIG_LINE_DIAGNOSTIC, false, CCS_ELIG_R_FIN_EXEMPT_DIAGNOSTIC, false, true}, \
	},                                                                                  \
	.review_without_code = CCS_ELIG_F_CP_ALL,                                           \
	.age_limit_years = 21,                                                              \
	.at_risk_limit_months = 36,                                                         \
	.at_risk_findings = CCS_ELIG_F_AR_ALL,                                              \
	.at_risk_min_findings = 2,                                                          \
	.age_limited_finding = CCS_ELIG_F_AR_HYPOTONICITY,                                  \
	.age_limited_finding_max_months = 12,                                               \
	.age_limited_finding_corrected_age = true,                                          \
	.prematurity_correction = true,                                                     \
	.term_weeks = 40,                                                                   \
	.preterm_below_weeks = 37,                                                          \
	.correction_until_months = 24,                                                      \
	.at_risk_reassess_lead_days = 30,                                                   \
	.agi_threshold_cents = 4000000,                                                     \
	.oop_percent_of_agi = 20,                                                           \
	.noa_days = 7,                                                                      \
	.appeal_window_days = 30,                                                           \
	.appeal_response_days = 21,                                                         \
	.fair_hearing_days = 14,                                                            \
	.redetermination_notice_days = 30,                                                  \
	.redetermination_years = 1,                                                         \
	.financial_determination_days = 30,                                                 \
	.residency_determination_days = 30,                                                 \
	.application_send_days = 5,                                                         \
	.application_return_days = 20,                                                      \
	.therapy_plan_notice_days = 5,                                                      \
	.citation = {                                                                       \
		[CCS_ELIG_R_NONE] = "",                                                     \
		[CCS_ELIG_R_NOT_ELIGIBLE_AGE] = "HSC 123805",                               \
		[CCS_ELIG_R_NOT_ELIGIBLE_RESIDENCY_STATE] = "22 CCR 41519",                 \
		[CCS_ELIG_R_TRANSFER_COUNTY] = "22 CCR 41519",                              \
		[CCS_ELIG_R_PENDING_APPLICATION] = "22 CCR 41514",                          \
		[CCS_ELIG_R_PENDING_RECORDS] = MTP_MEDICAL,                                 \
		[CCS_ELIG_R_PENDING_RESIDENCY] = "22 CCR 41519; 22 CCR 41610",              \
		[CCS_ELIG_R_ELIGIBLE_MTP_CP] = MTP_MEDICAL,                                 \
		[CCS_ELIG_R_ELIGIBLE_MTP_NEUROMUSCULAR] = MTP_MEDICAL,                      \
		[CCS_ELIG_R_ELIGIBLE_MTP_MUSCULOSKELETAL] = MTP_MEDICAL,                    \
		[CCS_ELIG_R_ELIGIBLE_MTP_OTHER_CNS] = MTP_MEDICAL,                          \
		[CCS_ELIG_R_AT_RISK_UNDER_3] = MTP_MEDICAL,                                 \
		[CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS] = MTP_MEDICAL,      \
		[CCS_ELIG_R_NOT_ELIGIBLE_AT_RISK_AGE] = MTP_MEDICAL,                        \
		[CCS_ELIG_R_NOT_ELIGIBLE_CONDITION] = MTP_MEDICAL,                          \
		[CCS_ELIG_R_REQUIRES_PHYSICIAN_REVIEW] = MTP_MEDICAL,                       \
		[CCS_ELIG_R_FIN_EXEMPT_MTP_ONLY] = FINANCIAL,                               \
		[CCS_ELIG_R_FIN_EXEMPT_DIAGNOSTIC] = FINANCIAL,                             \
		[CCS_ELIG_R_FIN_EXEMPT_ADOPTED_KNOWN_CONDITION] = FINANCIAL,                \
		[CCS_ELIG_R_FIN_ELIGIBLE_MEDI_CAL_FULL_SCOPE_NO_SOC] = FINANCIAL,           \
		[CCS_ELIG_R_FIN_ELIGIBLE_AGI_UNDER_40K] = "HSC 123870(a)(1)",               \
		[CCS_ELIG_R_FIN_ELIGIBLE_OOP_OVER_20PCT] = "HSC 123870(a)(1)",              \
		[CCS_ELIG_R_PENDING_FINANCIAL_DOCS] = "22 CCR 41610; 22 CCR 41670",         \
		[CCS_ELIG_R_NOT_ELIGIBLE_FINANCIAL] = FINANCIAL,                            \
		[CCS_ELIG_R_NOT_MEDICALLY_NECESSARY] = MTP_MEDICAL,                         \
		[CCS_ELIG_R_REFER_LEA_EDUCATIONAL] = "Gov. Code 7575 (AB 1467)",            \
		[CCS_ELIG_R_THERAPY_PLAN_CHANGE] = "Gov. Code 7575; 5-day written notice",  \
	}

static const ccs_elig_ruleset rulesets[] = {
	{
		.version = "2026.1",
		.description = "default: at-risk under 36 months, AGI under $40,000",
		.at_risk_age_inclusive = false,
		.agi_threshold_inclusive = false,
		RULESET_2026_1_COMMON,
	},
	{
		.version = "2026.1-inclusive",
		.description = "open settings inclusive: at-risk to 36 months, AGI to $40,000",
		.at_risk_age_inclusive = true,
		.agi_threshold_inclusive = true,
		RULESET_2026_1_COMMON,
	},
};

const ccs_elig_ruleset *ccs_elig_ruleset_default(void)
{
	return &rulesets[0];
}

size_t ccs_elig_ruleset_count(void)
{
	return sizeof(rulesets) / sizeof(rulesets[0]);
}

const ccs_elig_ruleset *ccs_elig_ruleset_at(size_t i)
{
	return i < ccs_elig_ruleset_count() ? &rulesets[i] : NULL;
}

const ccs_elig_ruleset *ccs_elig_ruleset_find(const char *version)
{
	if (!version)
		return NULL;
	for (size_t i = 0; i < ccs_elig_ruleset_count(); i++)
		if (strcmp(rulesets[i].version, version) == 0)
			return &rulesets[i];
	return NULL;
}
