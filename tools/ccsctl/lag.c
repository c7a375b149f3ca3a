/*
 * ccsctl lag: a consumer group's committed offsets against the partitions' end offsets.
 *
 * The daemons keep their offsets in PostgreSQL but mirror them into Kafka after every commit
 * (docs/architecture.md, processing model) precisely so that this kind of tool sees their progress. The
 * command only reads: it never joins the group (rd_kafka_committed needs no membership).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"
#include "ccs/pbjson.h"
#include "ccsctl.h"

#define LAG_TIMEOUT_MS 10000

static const char lag_help[] =
	"Usage: ccsctl lag -g GROUP [-t TOPIC]... [--prefix P] [common options]\n"
	"\n"
	"Print, one JSON object per partition, GROUP's committed offset, the partition's end\n"
	"offset and the difference:\n"
	"  {\"group\",\"topic\",\"partition\",\"committed\",\"end\",\"lag\"}\n"
	"A partition without a committed offset has \"committed\":null and a lag counted from\n"
	"the oldest retained message. Topics that do not exist are skipped with a note.\n"
	"Nothing is committed and the group is not joined.\n"
	"\n"
	"Options:\n"
	"  -g, --group GROUP   consumer group (e.g. ccs-referral)\n"
	"  -t, --topic TOPIC   topic to report (repeatable; default: every known topic)\n"
	"      --prefix P      prepend P to the default topic names (the daemons' topics.prefix)\n"
	"\n" CCSCTL_COMMON_HELP;

/* Report one topic's partitions; 0, or -1 on a Kafka error. A missing topic is noted. */
static int lag_topic(rd_kafka_t *rk, const char *group, const char *topic)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *list = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t err;
	int i, rc = -1;

	err = rd_kafka_metadata(rk, 0, rkt, &md, LAG_TIMEOUT_MS);
	if (err) {
		ccsctl_err("lag: metadata for %s: %s", topic, rd_kafka_err2str(err));
		goto out;
	}
	if (md->topic_cnt != 1 || md->topics[0].err) {
		ccsctl_err("lag: %s: %s; skipped", topic,
			   md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
		rc = 0;
		goto out;
	}
	list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (i = 0; i < md->topics[0].partition_cnt; i++)
		rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[i].id);
	err = rd_kafka_committed(rk, list, LAG_TIMEOUT_MS);
	if (err) {
		ccsctl_err("lag: committed offsets of %s for %s: %s", group, topic,
			   rd_kafka_err2str(err));
		goto out;
	}
	for (i = 0; i < list->cnt; i++) {
		rd_kafka_topic_partition_t *tp = &list->elems[i];
		int64_t lo, hi, from;
		json_t *o;
		err = rd_kafka_query_watermark_offsets(rk, topic, tp->partition, &lo, &hi,
						       LAG_TIMEOUT_MS);
		if (err) {
			ccsctl_err("lag: offsets of %s [%d]: %s", topic, tp->partition,
				   rd_kafka_err2str(err));
			goto out;
		}
		from = tp->offset >= 0 ? tp->offset : lo;
		o = json_pack("{s:s,s:s,s:i,s:o,s:I,s:I}", "group", group, "topic", topic,
			      "partition", (int)tp->partition, "committed",
			      tp->offset >= 0 ? json_integer(tp->offset) : json_null(), "end",
			      (json_int_t)hi, "lag", (json_int_t)(hi > from ? hi - from : 0));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	}
	rc = fflush(stdout) == 0 ? 0 : -1;
out:
	if (list)
		rd_kafka_topic_partition_list_destroy(list);
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return rc;
}

int ccsctl_cmd_lag(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"group", required_argument, NULL, 'g'},
		{"topic", required_argument, NULL, 't'},
		{"prefix", required_argument, NULL, 'P'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	const char *group = NULL, *prefix = "";
	const char **topics = NULL;
	size_t ntopics = 0, i;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	char err[512];
	int opt, exit_now = -1, rc = CCSCTL_EXIT_USAGE;

	while ((opt = getopt_long(argc, argv, "g:t:" CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) !=
	       -1) {
		if (opt == 'g') {
			group = optarg;
		} else if (opt == 't') {
			topics = ccs_xrealloc(topics, (ntopics + 1) * sizeof(*topics));
			topics[ntopics++] = optarg;
		} else if (opt == 'P') {
			prefix = optarg;
		} else if (ccsctl_common_opt(o, opt, optarg, lag_help, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
		} else {
			fputs(lag_help, stderr);
			goto out;
		}
	}
	if (!group || optind != argc) {
		ccsctl_err("lag: %s", !group ? "-g GROUP is required" : "unexpected argument");
		goto out;
	}
	conf = ccsctl_conf_new(o, err, sizeof(err));
	if (!conf || ccsctl_conf_set(conf, "group.id", group) ||
	    ccsctl_conf_set(conf, "enable.auto.commit", "false")) {
		if (!conf)
			ccsctl_err("%s", err);
		goto out;
	}
	rc = CCSCTL_EXIT_FAIL;
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		ccsctl_err("%s", err);
		goto out;
	}
	conf = NULL;
	rc = CCSCTL_EXIT_OK;
	if (ntopics) {
		for (i = 0; i < ntopics && !ccsctl_stop; i++)
			if (lag_topic(rk, group, topics[i]) != 0)
				rc = CCSCTL_EXIT_FAIL;
	} else {
		for (i = 0; ccs_pbjson_topic_name(i) && !ccsctl_stop; i++) {
			size_t n = strlen(prefix) + strlen(ccs_pbjson_topic_name(i)) + 1;
			char *t = ccs_xmalloc(n);
			snprintf(t, n, "%s%s", prefix, ccs_pbjson_topic_name(i));
			if (lag_topic(rk, group, t) != 0)
				rc = CCSCTL_EXIT_FAIL;
			free(t);
		}
	}
out:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (rk)
		rd_kafka_destroy(rk);
	free(topics);
	return rc;
}
