/*
 * ccs-eligibilityd: eligibility review for the CCS Medical Therapy Program.
 * Consumes ccs.referral.decided.v1 and ccs.eligibility.evidence.v1, owns database
 * ccs_eligibility, publishes ccs.eligibility.decided.v1 (keyed by case id; each decision names
 * the county and reviewing office so regional offices can filter). Everything but the handlers
 * is the shared engine (ccs/svc.h); the rules are the pure engine in rules.h.
 *
 * Office streams (minimum necessary): each decision is also written, in the same transaction,
 * to ccs.eligibility.decided.v1.office.<office>, the stream of the office that reviews the
 * county: the county itself when it runs CCS independently ("office.los-angeles"), else its
 * State regional office ("office.region-southern-california"). Kafka ACLs then let each office
 * read its own stream only (deploy/kafka/acl/); the integration bus reads the whole topic.
 */
#include <stdio.h>
#include <string.h>

#include "ccs/county.h"
#include "ccs/pbjson.h"
#include "ccs/svc.h"
#include "eligibility.h"

extern const ccs_migration ccs_eligibility_migrations[];

static const ccs_svc_input inputs[] = {
	{CCS_ELIGIBILITY_TOPIC_REFERRALS, ccs_eligibility_on_referral, ccs_eligibility_prepare_referral,
	 ccs_eligibility_finish_referral},
	{CCS_ELIGIBILITY_TOPIC_EVIDENCE, ccs_eligibility_on_evidence, ccs_eligibility_prepare_evidence,
	 ccs_eligibility_finish_evidence},
	{NULL, NULL, NULL, NULL},
};
static const char *const topics_out[] = {CCS_ELIGIBILITY_TOPIC_OUT, NULL};

#define OFFICE_PREFIX "REVIEWING_OFFICE_"

/* The office stream of a county and its reviewing office (the words of the contract's enum,
 * with or without its prefix); 0, or -1 when either is unknown. */
static int office_stream(const char *county, const char *office, char *out, size_t len)
{
	char s[80];
	if (!county || !*county || !office)
		return -1;
	if (!strncmp(office, OFFICE_PREFIX, strlen(OFFICE_PREFIX)))
		office += strlen(OFFICE_PREFIX);
	if (!*office || !strcmp(office, "UNSPECIFIED"))
		return -1;
	if (!strcmp(office, "COUNTY"))
		ccs_county_slug(county, s, sizeof(s));
	else {
		char o[64];
		ccs_county_slug(office, o, sizeof(o));
		snprintf(s, sizeof(s), "region-%s", o);
	}
	if (!*s)
		return -1;
	snprintf(out, len, "office.%s", s);
	return 0;
}

/* ccs_svc_streams_fn: a decision's office stream, from the tags the handler sets. */
static size_t streams(void *ctx, const char *topic, const char *const *tags, const char **out, size_t max)
{
	static char buf[96];
	const char *county = NULL, *office = NULL;
	(void)ctx;
	if (max < 1 || strcmp(topic, CCS_ELIGIBILITY_TOPIC_OUT) != 0)
		return 0;
	for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2) {
		if (!strcmp(tags[i], "ccs_county"))
			county = tags[i + 1];
		else if (!strcmp(tags[i], "ccs_reviewing_office"))
			office = tags[i + 1];
	}
	if (office_stream(county, office, buf, sizeof(buf)) != 0)
		return 0;
	/* The loop thread emits one decision at a time, and the engine copies the name before
	 * the next call. */
	out[0] = buf;
	return 1;
}

/* The daemon's start, then one output topic per office stream of the county table, so every
 * stream exists before a decision is written to it. */
static int start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen)
{
	ccs_county_table *t = NULL;
	const char *path = ccs_county_path(ccs_cfg_str(ccs_svc_cfg(svc), "data.counties"));
	int rc = ccs_eligibility_start(svc, ctx, errbuf, errlen);
	if (rc != 0)
		return rc;
	if (ccs_county_load(path, &t, errbuf, errlen) != 0)
		return 0; /* no table: decisions still name their streams; the operator creates them */
	for (size_t i = 0; i < ccs_county_count(t); i++) {
		const ccs_county *c = ccs_county_at(t, i);
		char s[96], topic[160];
		if (office_stream(c->name, ccs_county_office_name(c->office), s, sizeof(s)) != 0)
			continue;
		snprintf(topic, sizeof(topic), "%s.%s", CCS_ELIGIBILITY_TOPIC_OUT, s);
		ccs_svc_add_output_topic(svc, topic);
	}
	ccs_county_free(t);
	return 0;
}

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
		.start = start,
		.due = ccs_eligibility_due,
		.command = ccs_eligibility_command,
		.streams = streams,
		.gauges = ccs_eligibility_gauges,
	};
	return ccs_svc_main(&def, argc, argv);
}
