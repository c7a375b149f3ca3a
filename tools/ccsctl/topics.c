/*
 * ccsctl topics: create topics with the admin API (an existing topic is not an error, so the
 * command is safe in setup scripts) and list the cluster's topics with their message types.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"
#include "ccs/pbjson.h"
#include "ccsctl.h"

#define ADMIN_TIMEOUT_MS 30000

static const char topics_help[] =
	"Usage: ccsctl topics create [--partitions N] [--replication-factor R]\n"
	"                            [--config KEY=VALUE]... TOPIC... [common options]\n"
	"       ccsctl topics list [--all] [common options]\n"
	"\n"
	"create  create each TOPIC with the admin API; a topic that already exists is reported\n"
	"        and is not an error. Exits 1 if any other creation fails.\n"
	"list    print the cluster's topics, one per line: name, partition count, and the message\n"
	"        type ccsctl decodes it as ('-' if none). Internal topics (__*) only with --all.\n"
	"\n"
	"Options:\n"
	"      --partitions N          partitions per topic (default: the broker's num.partitions)\n"
	"      --replication-factor R  replicas per partition (default: the broker's\n"
	"                              default.replication.factor)\n"
	"      --config KEY=VALUE      topic configuration, e.g. retention.ms=604800000\n"
	"                              (repeatable)\n"
	"      --all                   list: include internal topics\n"
	"\n" CCSCTL_COMMON_HELP;

/*
 * An admin-capable handle (a producer handle serves the admin API). On failure *rc is the exit
 * code: a usage error for a bad -X, else a failure.
 */
static rd_kafka_t *admin_new(const struct ccsctl_common *o, int *rc)
{
	char err[512];
	rd_kafka_conf_t *conf = ccsctl_conf_new(o, err, sizeof(err));
	rd_kafka_t *rk;

	if (!conf) {
		ccsctl_err("%s", err);
		*rc = CCSCTL_EXIT_USAGE;
		return NULL;
	}
	*rc = CCSCTL_EXIT_FAIL;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		ccsctl_err("%s", err);
	}
	return rk;
}

static int topics_create(const struct ccsctl_common *o, char **names, int n, int partitions,
			 int rf, const char **configs, size_t nconfigs)
{
	rd_kafka_t *rk = NULL;
	rd_kafka_NewTopic_t **nt = ccs_xcalloc((size_t)n, sizeof(*nt));
	rd_kafka_AdminOptions_t *opts = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	char err[512];
	size_t cnt, i;
	int rc = CCSCTL_EXIT_FAIL;

	for (i = 0; i < (size_t)n; i++) {
		size_t c;
		nt[i] = rd_kafka_NewTopic_new(names[i], partitions, rf, err, sizeof(err));
		if (!nt[i]) {
			ccsctl_err("topics create: %s: %s", names[i], err);
			rc = CCSCTL_EXIT_USAGE;
			goto out;
		}
		for (c = 0; c < nconfigs; c++) {
			const char *eq = strchr(configs[c], '=');
			char *key = ccs_xstrndup(configs[c], (size_t)(eq - configs[c]));
			rd_kafka_resp_err_t e = rd_kafka_NewTopic_set_config(nt[i], key, eq + 1);
			free(key);
			if (e) {
				ccsctl_err("topics create: --config %s: %s", configs[c],
					   rd_kafka_err2str(e));
				rc = CCSCTL_EXIT_USAGE;
				goto out;
			}
		}
	}
	rk = admin_new(o, &rc);
	if (!rk)
		goto out;
	opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	if (rd_kafka_AdminOptions_set_operation_timeout(opts, ADMIN_TIMEOUT_MS, err,
							 sizeof(err)) ||
	    rd_kafka_AdminOptions_set_request_timeout(opts, ADMIN_TIMEOUT_MS, err, sizeof(err))) {
		ccsctl_err("topics create: %s", err);
		goto out;
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, nt, (size_t)n, opts, q);
	ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
	if (!ev) {
		ccsctl_err("topics create: no answer from the cluster");
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		ccsctl_err("topics create: %s", rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
	rc = CCSCTL_EXIT_OK;
	for (i = 0; i < cnt; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
		const char *name = rd_kafka_topic_result_name(tr[i]);
		if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "ccsctl: topics create: %s: created\n", name);
		} else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			fprintf(stderr, "ccsctl: topics create: %s: already exists\n", name);
		} else {
			const char *es = rd_kafka_topic_result_error_string(tr[i]);
			ccsctl_err("topics create: %s: %s", name, es ? es : rd_kafka_err2str(e));
			rc = CCSCTL_EXIT_FAIL;
		}
	}
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	if (q)
		rd_kafka_queue_destroy(q);
	if (opts)
		rd_kafka_AdminOptions_destroy(opts);
	for (i = 0; i < (size_t)n; i++)
		if (nt[i])
			rd_kafka_NewTopic_destroy(nt[i]);
	free(nt);
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
}

static int cmp_topic(const void *a, const void *b)
{
	const rd_kafka_metadata_topic_t *x = a, *y = b;
	return strcmp(x->topic, y->topic);
}

static int topics_list(const struct ccsctl_common *o, int all)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_metadata_topic_t *sorted = NULL;
	rd_kafka_resp_err_t err;
	int i, rc = CCSCTL_EXIT_FAIL;
	rd_kafka_t *rk = admin_new(o, &rc);

	if (!rk)
		return rc;
	err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
	if (err) {
		ccsctl_err("topics list: %s", rd_kafka_err2str(err));
		goto out;
	}
	sorted = ccs_xcalloc((size_t)md->topic_cnt + 1, sizeof(*sorted));
	if (md->topic_cnt)
		memcpy(sorted, md->topics, (size_t)md->topic_cnt * sizeof(*sorted));
	qsort(sorted, (size_t)md->topic_cnt, sizeof(*sorted), cmp_topic);
	for (i = 0; i < md->topic_cnt; i++) {
		const ProtobufCMessageDescriptor *d = ccs_pbjson_topic_descriptor(sorted[i].topic);
		if (!all && strncmp(sorted[i].topic, "__", 2) == 0)
			continue;
		printf("%s\t%d\t%s\n", sorted[i].topic, sorted[i].partition_cnt, d ? d->name : "-");
	}
	rc = fflush(stdout) == 0 ? CCSCTL_EXIT_OK : CCSCTL_EXIT_FAIL;
out:
	free(sorted);
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_destroy(rk);
	return rc;
}

int ccsctl_cmd_topics(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"partitions", required_argument, NULL, 'P'},
		{"replication-factor", required_argument, NULL, 'R'},
		{"config", required_argument, NULL, 'C'},
		{"all", no_argument, NULL, 'A'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	const char **configs = NULL;
	size_t nconfigs = 0;
	int64_t v;
	int opt, exit_now = -1, partitions = -1, rf = -1, all = 0, rc = CCSCTL_EXIT_USAGE;
	const char *sub;

	if (argc < 2 || argv[1][0] == '-') {
		while ((opt = getopt_long(argc, argv, CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) != -1)
			if (ccsctl_common_opt(o, opt, optarg, topics_help, &exit_now) &&
			    exit_now >= 0)
				return exit_now;
		fputs(topics_help, stderr);
		return CCSCTL_EXIT_USAGE;
	}
	sub = argv[1];
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		switch (opt) {
		case 'P':
			if (ccsctl_parse_num(optarg, INT32_MAX, &v) != 0 || v == 0) {
				ccsctl_err("--partitions wants a positive number, got '%s'", optarg);
				goto out;
			}
			partitions = (int)v;
			continue;
		case 'R':
			if (ccsctl_parse_num(optarg, INT16_MAX, &v) != 0 || v == 0) {
				ccsctl_err("--replication-factor wants a positive number, got '%s'",
					   optarg);
				goto out;
			}
			rf = (int)v;
			continue;
		case 'C':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				ccsctl_err("--config wants KEY=VALUE, got '%s'", optarg);
				goto out;
			}
			configs = ccs_xrealloc(configs, (nconfigs + 1) * sizeof(*configs));
			configs[nconfigs++] = optarg;
			continue;
		case 'A':
			all = 1;
			continue;
		}
		if (ccsctl_common_opt(o, opt, optarg, topics_help, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		fputs(topics_help, stderr);
		goto out;
	}
	if (strcmp(sub, "create") == 0) {
		if (optind >= argc || all) {
			ccsctl_err("topics create: %s",
				   all ? "--all applies to list" : "name at least one TOPIC");
			goto out;
		}
		rc = topics_create(o, argv + optind, argc - optind, partitions, rf, configs,
				   nconfigs);
	} else if (strcmp(sub, "list") == 0) {
		if (optind != argc || partitions != -1 || rf != -1 || nconfigs) {
			ccsctl_err("topics list: takes no arguments but --all");
			goto out;
		}
		rc = topics_list(o, all);
	} else {
		ccsctl_err("topics: unknown subcommand '%s' (create or list)", sub);
	}
out:
	free(configs);
	return rc;
}
