/*
 * ccs-schedulingd: Medical Therapy Unit scheduling for the CCS Medical Therapy Program.
 * Consumes ccs.eligibility.decided.v1 and ccs.scheduling.requests.v1, owns database
 * ccs_scheduling, publishes ccs.scheduling.decided.v1. Everything but the handler is the shared
 * engine (ccs/svc.h).
 */
#include <stdio.h>
#include <string.h>

#include "ccs/county.h"
#include "ccs/pbjson.h"
#include "ccs/svc.h"
#include "scheduling.h"

extern const ccs_migration ccs_scheduling_migrations[];

static const ccs_svc_input inputs[] = {
	{CCS_SCHEDULING_TOPIC_ELIGIBILITY, ccs_scheduling_on_eligibility, ccs_scheduling_prepare_eligibility,
	 ccs_scheduling_finish_eligibility},
	{CCS_SCHEDULING_TOPIC_REQUESTS, ccs_scheduling_on_request, NULL, NULL},
	{NULL, NULL, NULL, NULL},
};
static const char *const topics_out[] = {CCS_SCHEDULING_TOPIC_OUT, NULL};

/*
 * ccs_svc_streams_fn: an IEP coordination notice also goes to its county's stream,
 * ccs.scheduling.decided.v1.county.<county>, so a county's coordinators read their own
 * children's notices only (Kafka ACLs, deploy/kafka/acl/). Other decisions carry no county tag.
 */
static size_t streams(void *ctx, const char *topic, const char *const *tags, const char **out, size_t max)
{
	static char buf[96];
	char s[80];
	(void)ctx;
	if (max < 1 || strcmp(topic, CCS_SCHEDULING_TOPIC_OUT) != 0)
		return 0;
	for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2) {
		if (strcmp(tags[i], "ccs_county") != 0)
			continue;
		ccs_county_slug(tags[i + 1], s, sizeof(s));
		if (!*s)
			return 0;
		snprintf(buf, sizeof(buf), "county.%s", s);
		out[0] = buf;
		return 1;
	}
	return 0;
}

/*
 * Program gauges, refreshed by the engine between batches (never on the hot path): children
 * waiting per MTU and the oldest wait in days, from the waitlist; every MTU of the directory
 * has a series, so an emptied waitlist reads 0. MTU ids only, no child data.
 */
static int gauges(ccs_svc *svc, void *ctx, PGconn *pg)
{
	ccs_metrics *mx = ccs_svc_metrics(svc);
	char labels[160], now[24];
	(void)ctx;
	snprintf(now, sizeof(now), "%lld", (long long)ccs_svc_today(svc) * 86400000LL);
	const char *p[1] = {now};
	PGresult *r = PQexecParams(pg,
				   "SELECT m.mtu_id, count(w.entry_id),"
				   " coalesce(greatest(($1::bigint - min(w.waitlisted_ms)) / 86400000.0, 0), 0)"
				   " FROM mtus m LEFT JOIN waitlist w ON w.mtu_id = m.mtu_id AND w.status = 'waiting'"
				   " GROUP BY 1",
				   1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		snprintf(labels, sizeof(labels), "mtu=\"%.60s\"", PQgetvalue(r, i, 0));
		ccs_metric_set(ccs_metrics_series(mx, "waitlist_children", labels), strtod(PQgetvalue(r, i, 1), NULL));
		ccs_metric_set(ccs_metrics_series(mx, "waitlist_oldest_wait_days", labels),
			       strtod(PQgetvalue(r, i, 2), NULL));
	}
	PQclear(r);
	return 0;
}

/* The daemon's start, then one output topic per county stream of the county table. */
static int start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen)
{
	ccs_county_table *t = NULL;
	int rc = ccs_scheduling_start(svc, ctx, errbuf, errlen);
	ccs_metrics_family(ccs_svc_metrics(svc), "waitlist_children", CCS_METRIC_GAUGE,
			   "children waiting for a slot, by MTU", NULL, 0);
	ccs_metrics_family(ccs_svc_metrics(svc), "waitlist_oldest_wait_days", CCS_METRIC_GAUGE,
			   "days the longest-waiting child has waited, by MTU", NULL, 0);
	if (rc != 0 || ccs_county_load(ccs_county_path(NULL), &t, errbuf, errlen) != 0)
		return rc; /* no table: notices still name their streams; the operator creates them */
	for (size_t i = 0; i < ccs_county_count(t); i++) {
		char s[80], topic[160];
		ccs_county_slug(ccs_county_at(t, i)->name, s, sizeof(s));
		snprintf(topic, sizeof(topic), "%s.county.%s", CCS_SCHEDULING_TOPIC_OUT, s);
		ccs_svc_add_output_topic(svc, topic);
	}
	ccs_county_free(t);
	return 0;
}

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
		.start = start,
		.streams = streams,
		.gauges = gauges,
		.due = ccs_scheduling_due,
	};
	int rc = ccs_svc_main(&def, argc, argv);
	ccs_scheduling_free(s);
	return rc;
}
