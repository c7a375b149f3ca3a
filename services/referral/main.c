/*
 * ccs-referrald: referral intake for the CCS Medical Therapy Program.
 * Consumes ccs.referral.submitted.v1, owns database ccs_referral, publishes
 * ccs.referral.decided.v1. Everything but the handler is the shared engine (ccs/svc.h).
 */
#include "ccs/pbjson.h"
#include "ccs/svc.h"
#include "referral.h"
#include "referral_batch.h"

extern const ccs_migration ccs_referral_migrations[];

static const ccs_svc_input inputs[] = {
	{CCS_REFERRAL_TOPIC_IN, ccs_referral_handle, ccs_refb_prepare, ccs_refb_finish},
	{NULL, NULL, NULL, NULL},
};
static const char *const topics_out[] = {CCS_REFERRAL_TOPIC_OUT, NULL};

int main(int argc, char **argv)
{
	ccs_referral rf = {NULL};
	const ccs_svc_def def = {
		.name = "referral",
		.version = CCS_VERSION,
		.inputs = inputs,
		.contract = ccs_pbjson_topic_descriptor,
		.output_topics = topics_out,
		.migrations = ccs_referral_migrations,
		.cfg = ccs_referral_cfg,
		.default_http = "127.0.0.1:9101",
		.ctx = &rf,
		.start = ccs_referral_start,
		.stop = ccs_referral_stop,
	};
	return ccs_svc_main(&def, argc, argv);
}
