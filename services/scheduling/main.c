/*
 * ccs-schedulingd: Medical Therapy Unit scheduling for the CCS Medical Therapy Program.
 * Consumes ccs.eligibility.decided.v1 and ccs.scheduling.requests.v1, owns database
 * ccs_scheduling, publishes ccs.scheduling.decided.v1. Everything but the handler is the shared
 * engine (ccs/svc.h).
 */
#include "ccs/pbjson.h"
#include "ccs/svc.h"
#include "scheduling.h"

extern const ccs_migration ccs_scheduling_migrations[];

static const ccs_svc_input inputs[] = {
	{CCS_SCHEDULING_TOPIC_ELIGIBILITY, ccs_scheduling_on_eligibility},
	{CCS_SCHEDULING_TOPIC_REQUESTS, ccs_scheduling_on_request},
	{NULL, NULL},
};
static const char *const topics_out[] = {CCS_SCHEDULING_TOPIC_OUT, NULL};

int main(int argc, char **argv)
{
	ccs_scheduling *s = ccs_scheduling_new();
	const ccs_svc_def def = {
		.name = "scheduling",
		.version = CCS_VERSION,
		.inputs = inputs,
		.contract = ccs_pbjson_topic_descriptor,
		.output_topics = topics_out,
		.migrations = ccs_scheduling_migrations,
		.cfg = ccs_scheduling_cfg,
		.default_http = "127.0.0.1:9103",
		.ctx = s,
		.start = ccs_scheduling_start,
		.due = ccs_scheduling_due,
	};
	int rc = ccs_svc_main(&def, argc, argv);
	ccs_scheduling_free(s);
	return rc;
}
