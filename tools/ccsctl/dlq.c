/*
 * ccsctl dlq: look at and replay dead letters.
 *
 * A daemon dead-letters a poison message to "<topic>.dlq" with the original key, value and
 * headers plus dlq_* headers naming where it came from and why it failed (common/svc):
 * dlq_original_topic, dlq_original_partition, dlq_original_offset, dlq_original_timestamp,
 * dlq_consumer_group, dlq_service, dlq_error_class, dlq_error_message.
 *
 * `list` prints them like tail, plus a "dlq" object built from those headers. `replay`
 * re-produces the original key, value and headers (every dlq_* header removed) to the topic
 * named in dlq_original_topic, once someone has fixed the cause. The original ce_id travels
 * with it: the daemons roll a poison message's inbox row back with its failed handling, so the
 * replay is processed afresh, and a second replay of a letter that then succeeded is skipped
 * as a duplicate.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"
#include "ccsctl.h"

#define DLQ_SUFFIX ".dlq"
#define DLQ_HEADER_PREFIX "dlq_"

static const char dlq_help[] =
	"Usage: ccsctl dlq list -t TOPIC.dlq [options] [common options]\n"
	"       ccsctl dlq replay -t TOPIC.dlq [options] [common options]\n"
	"\n"
	"list    print the dead letters as JSON lines, like tail, with a \"dlq\" object made of\n"
	"        the dead-letter headers: original_topic, original_partition, original_offset,\n"
	"        original_timestamp, consumer_group, service, error_class, error_message.\n"
	"        Reads from the oldest message to the end offsets seen at start, then exits.\n"
	"replay  re-produce each dead letter's original key, value and headers (without the\n"
	"        dlq_* headers) to the topic named by its dlq_original_topic header, with an\n"
	"        idempotent producer; prints one JSON line per message replayed.\n"
	"\n"
	"Options:\n"
	"  -t, --topic TOPIC.dlq   dead-letter topic\n"
	"  -p, --partition P       only partition P\n"
	"  -o, --offset N          only the message at offset N (with -p: in that partition;\n"
	"                          else at offset N of every partition)\n"
	"  -n, --count N           at most N messages\n"
	"      --follow            list: keep waiting for new dead letters (until a signal,\n"
	"                          --count or --idle-exit)\n"
	"      --idle-exit SECONDS list --follow: exit after SECONDS without a message\n"
	"      --dry-run           replay: print what would be replayed, produce nothing\n"
	"\n" CCSCTL_COMMON_HELP;

/* The dlq_* header -> "dlq" object member table; numeric ones print as JSON numbers. */
static const struct {
	const char *header, *member;
	int numeric;
} dlq_fields[] = {
	{"dlq_original_topic", "original_topic", 0},
	{"dlq_original_partition", "original_partition", 1},
	{"dlq_original_offset", "original_offset", 1},
	{"dlq_original_timestamp", "original_timestamp", 1},
	{"dlq_consumer_group", "consumer_group", 0},
	{"dlq_service", "service", 0},
	{"dlq_error_class", "error_class", 0},
	{"dlq_error_message", "error_message", 0},
};

/* Last value of header `name` as a NUL-terminated malloc'd string, or NULL. */
static char *header_dup(const rd_kafka_message_t *m, const char *name)
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t n;

	if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
	    rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
		return NULL;
	return ccs_xstrndup(v, n);
}

static int list_message(void *ctx, const rd_kafka_message_t *m)
{
	json_t *o = ccsctl_message_json(m), *dlq = json_object();
	size_t i;
	int rc;

	(void)ctx;
	for (i = 0; i < sizeof(dlq_fields) / sizeof(dlq_fields[0]); i++) {
		char *s = header_dup(m, dlq_fields[i].header);
		int64_t num;
		json_t *v;
		if (!s)
			continue;
		if (dlq_fields[i].numeric && ccsctl_parse_num(s, INT64_MAX, &num) == 0)
			v = json_integer(num);
		else
			v = json_string(s); /* NULL if not UTF-8: then the member is left out */
		if (v)
			json_object_set_new(dlq, dlq_fields[i].member, v);
		free(s);
	}
	json_object_set_new(o, "dlq", dlq);
	rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		ccsctl_err("dlq list: writing to standard output failed");
		return -1;
	}
	return 0;
}

struct replay {
	rd_kafka_t *rk; /* NULL on --dry-run */
	long produced, delivered, failed, skipped;
	char first_error[256];
};

static void replay_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct replay *st = opaque;

	(void)rk;
	if (m->err) {
		if (st->failed++ == 0)
			snprintf(st->first_error, sizeof(st->first_error), "%s",
				 rd_kafka_err2str(m->err));
	} else {
		st->delivered++;
	}
}

/* Re-produce one dead letter to its original topic. A letter without an origin is skipped. */
static int replay_message(void *ctx, const rd_kafka_message_t *m)
{
	struct replay *st = ctx;
	rd_kafka_headers_t *in = NULL, *out = NULL;
	char *to = header_dup(m, "dlq_original_topic");
	const char *name;
	const void *val;
	size_t vlen, i, tl;
	rd_kafka_resp_err_t err;
	json_t *line;
	int rc = 0;

	tl = to ? strlen(to) : 0;
	if (!to || tl == 0 || (tl >= strlen(DLQ_SUFFIX) &&
			       strcmp(to + tl - strlen(DLQ_SUFFIX), DLQ_SUFFIX) == 0)) {
		ccsctl_err("dlq replay: %s [%d] offset %lld: %s; skipped",
			   rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset,
			   to ? "dlq_original_topic names a dead-letter topic"
			      : "no dlq_original_topic header");
		st->skipped++;
		goto out;
	}
	out = rd_kafka_headers_new(8);
	if (rd_kafka_message_headers(m, &in) == RD_KAFKA_RESP_ERR_NO_ERROR)
		for (i = 0; rd_kafka_header_get_all(in, i, &name, &val, &vlen) ==
			    RD_KAFKA_RESP_ERR_NO_ERROR;
		     i++)
			if (strncmp(name, DLQ_HEADER_PREFIX, strlen(DLQ_HEADER_PREFIX)) != 0)
				rd_kafka_header_add(out, name, -1, val, val ? (ssize_t)vlen : 0);

	line = json_pack("{s:{s:s,s:i,s:I},s:s}", st->rk ? "replayed" : "would_replay", "topic",
			 rd_kafka_topic_name(m->rkt), "partition", (int)m->partition, "offset",
			 (json_int_t)m->offset, "to", to);
	if (!st->rk) {
		rd_kafka_headers_destroy(out);
		out = NULL;
	} else {
		for (;;) {
			err = rd_kafka_producev(st->rk, RD_KAFKA_V_TOPIC(to),
						RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
						RD_KAFKA_V_VALUE(m->payload, m->len),
						RD_KAFKA_V_KEY(m->key, m->key_len),
						RD_KAFKA_V_HEADERS(out), RD_KAFKA_V_END);
			if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
				break;
			rd_kafka_poll(st->rk, 100);
		}
		if (err) {
			ccsctl_err("dlq replay: produce to %s: %s", to, rd_kafka_err2str(err));
			json_decref(line);
			rc = -1;
			goto out;
		}
		out = NULL; /* owned by librdkafka */
		st->produced++;
		rd_kafka_poll(st->rk, 0);
	}
	if (line) {
		json_dumpf(line, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(line);
	}
out:
	if (out)
		rd_kafka_headers_destroy(out);
	free(to);
	return rc;
}

static int do_replay(struct ccsctl_common *o, struct ccsctl_read *r, int dry_run)
{
	struct replay st = {0};
	rd_kafka_conf_t *conf = NULL;
	char err[512];
	int rc = CCSCTL_EXIT_FAIL;

	if (!dry_run) {
		conf = ccsctl_conf_new(o, err, sizeof(err));
		if (!conf) {
			ccsctl_err("%s", err);
			return CCSCTL_EXIT_USAGE;
		}
		rd_kafka_conf_set_opaque(conf, &st);
		rd_kafka_conf_set_dr_msg_cb(conf, replay_dr);
		if (ccsctl_conf_set(conf, "enable.idempotence", "true") ||
		    (!ccsctl_user_set(o, "message.timeout.ms") &&
		     ccsctl_conf_set(conf, "message.timeout.ms", "60000"))) {
			rd_kafka_conf_destroy(conf);
			return CCSCTL_EXIT_USAGE;
		}
		st.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
		if (!st.rk) {
			rd_kafka_conf_destroy(conf);
			ccsctl_err("%s", err);
			return CCSCTL_EXIT_FAIL;
		}
	}
	r->fn = replay_message;
	r->ctx = &st;
	rc = ccsctl_read(o, r);
	if (st.rk) {
		while (rd_kafka_outq_len(st.rk) > 0 && !rd_kafka_fatal_error(st.rk, NULL, 0) &&
		       ccsctl_stop < 2)
			rd_kafka_flush(st.rk, 1000);
		rd_kafka_poll(st.rk, 0);
		if (st.failed)
			ccsctl_err("dlq replay: %ld message(s) not delivered: %s", st.failed,
				   st.first_error);
		if (st.failed || st.delivered != st.produced)
			rc = CCSCTL_EXIT_FAIL;
		rd_kafka_destroy(st.rk);
	}
	fprintf(stderr, "ccsctl: dlq replay: %ld replayed, %ld delivered, %ld skipped%s\n",
		st.produced, st.delivered, st.skipped, dry_run ? " (dry run)" : "");
	if (st.skipped)
		rc = CCSCTL_EXIT_FAIL;
	return rc;
}

int ccsctl_cmd_dlq(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"topic", required_argument, NULL, 't'},
		{"partition", required_argument, NULL, 'p'},
		{"offset", required_argument, NULL, 'o'},
		{"count", required_argument, NULL, 'n'},
		{"idle-exit", required_argument, NULL, 'I'},
		{"follow", no_argument, NULL, 'F'},
		{"dry-run", no_argument, NULL, 'D'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct ccsctl_read r = {.partition = -1, .offset = -1, .from_beginning = 1, .until_end = 1};
	const char *sub;
	int opt, exit_now = -1, rc, follow = 0, dry_run = 0, replay;
	size_t tl;

	if (argc < 2 || argv[1][0] == '-') {
		/* Only --help / --version make sense without a subcommand. */
		while ((opt = getopt_long(argc, argv, CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) != -1)
			if (ccsctl_common_opt(o, opt, optarg, dlq_help, &exit_now) && exit_now >= 0)
				return exit_now;
		fputs(dlq_help, stderr);
		return CCSCTL_EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "list") != 0 && strcmp(sub, "replay") != 0) {
		ccsctl_err("dlq: unknown subcommand '%s' (list or replay)", sub);
		return CCSCTL_EXIT_USAGE;
	}
	replay = strcmp(sub, "replay") == 0;
	argc--;
	argv++;
	while ((opt = getopt_long(argc, argv, "t:p:o:n:" CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) !=
	       -1) {
		if (opt == 'F') {
			follow = 1;
			continue;
		}
		if (opt == 'D') {
			dry_run = 1;
			continue;
		}
		rc = ccsctl_read_opt(&r, opt, optarg);
		if (rc > 0)
			return rc;
		if (rc == 0)
			continue;
		if (ccsctl_common_opt(o, opt, optarg, dlq_help, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		fputs(dlq_help, stderr);
		return CCSCTL_EXIT_USAGE;
	}
	if (optind != argc) {
		ccsctl_err("dlq %s: unexpected argument '%s'", sub, argv[optind]);
		return CCSCTL_EXIT_USAGE;
	}
	rc = ccsctl_read_check(&r, "dlq");
	if (rc)
		return rc;
	tl = strlen(r.topic);
	if (tl <= strlen(DLQ_SUFFIX) || strcmp(r.topic + tl - strlen(DLQ_SUFFIX), DLQ_SUFFIX) != 0) {
		ccsctl_err("dlq %s: %s is not a dead-letter topic (TOPIC%s)", sub, r.topic,
			   DLQ_SUFFIX);
		return CCSCTL_EXIT_USAGE;
	}
	if ((replay && follow) || (!replay && dry_run)) {
		ccsctl_err("dlq %s: %s does not apply", sub, replay ? "--follow" : "--dry-run");
		return CCSCTL_EXIT_USAGE;
	}
	if (follow)
		r.until_end = 0;
	r.single = r.offset >= 0;
	if (replay)
		return do_replay(o, &r, dry_run);
	r.fn = list_message;
	return ccsctl_read(o, &r);
}
