/*
 * ccs-eligibilityd: eligibility review for the CCS Medical Therapy Program.
 * Consumes ccs.referral.decided.v1 and ccs.eligibility.evidence.v1, owns database
 * ccs_eligibility, publishes ccs.eligibility.decided.v1 (keyed by case id; each decision names
 * the county and reviewing office so regional offices can filter). Everything but the handlers
 * is the shared engine (ccs/svc.h); the rules are the pure engine in rules.h.
 */
#include "ccs/pbjson.h"
#include "ccs/svc.h"
#include "eligibility.h"

extern const ccs_migration ccs_eligibility_migrations[];

static const ccs_svc_input inputs[] = {
	{CCS_ELIGIBILITY_TOPIC_REFERRALS, ccs_eligibility_on_referral},
	{CCS_ELIGIBILITY_TOPIC_EVIDENCE, ccs_eligibility_on_evidence},
	{NULL, NULL},
};
static const char *const topics_out[] = {CCS_ELIGIBILITY_TOPIC_OUT, NULL};

int main(int argc, char **argv)
{
	static ccs_eligibility state;
	const ccs_svc_def def = {
		.name = "eligibility",
		.version = CCS_VERSION,
		.inputs = inputs,
		.contract = ccs_pbjson_topic_descriptor,
		.output_topics = topics_out,
		.migrations = ccs_eligibility_migrations,
		.cfg = ccs_eligibility_cfg,
		.default_http = "127.0.0.1:9102",
		.ctx = &state,
		.start = ccs_eligibility_start,
		.due = ccs_eligibility_due,
		.command = ccs_eligibility_command,
	};
	return ccs_svc_main(&def, argc, argv);
}
