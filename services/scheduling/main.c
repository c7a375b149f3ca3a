/*
 * ccs-schedulingd: Medical Therapy Unit scheduling for the CCS Medical Therapy Program.
 * Consumes ccs.eligibility.decided.v1 and ccs.scheduling.requests.v1, owns database
 * ccs_scheduling, publishes ccs.scheduling.decided.v1. Everything but the handler is the shared
 * engine (ccs/svc.h).
 */
#include "ccs/svc.h"
#include "scheduling.h"

extern const ccs_migration ccs_scheduling_migrations[];

static const char *const topics_in[] = {CCS_SCHEDULING_TOPIC_ELIGIBILITY, CCS_SCHEDULING_TOPIC_REQUESTS, NULL};
static const char *const types_in[] = {"ccs.mtp.v1.EligibilityDecision", "ccs.mtp.v1.SchedulingRequest", NULL};
static const char *const topics_out[] = {CCS_SCHEDULING_TOPIC_OUT, NULL};

int main(int argc, char **argv)
{
	ccs_scheduling *s = ccs_scheduling_new();
	const ccs_svc_def def = {
		.name = "scheduling",
		.version = CCS_VERSION,
		.topics = topics_in,
		.expected_types = types_in,
		.output_topics = topics_out,
		.migrations = ccs_scheduling_migrations,
		.cfg = ccs_scheduling_cfg,
		.default_http = "127.0.0.1:9103",
		.ctx = s,
		.start = ccs_scheduling_start,
		.handle = ccs_scheduling_handle,
	};
	int rc = ccs_svc_main(&def, argc, argv);
	ccs_scheduling_free(s);
	return rc;
}
