/*
 * ccsctl: the operator's and integrator's tool for the CCS MTP pipeline's Kafka topics.
 *
 *   ccsctl [common options] COMMAND [options] [args]
 *
 * Like kcat it talks to librdkafka directly and passes every -X key=value straight to
 * rd_kafka_conf_set, so TLS and SASL work against any cluster without ccsctl knowing them.
 * Message values are the protobuf contracts; ccsctl reads and prints them as proto3 JSON
 * through ccs_pbjson, choosing the message type from the topic name.
 *
 * This file: the command table, the common options, the librdkafka configuration and small
 * helpers the command files share (ccsctl.h).
 */
#include "ccsctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccs/mem.h"
#include "ccs/pbjson.h"

#ifndef CCS_VERSION
#define CCS_VERSION "0.0.0"
#endif

volatile sig_atomic_t ccsctl_stop;

static const struct {
	const char *name;
	int (*fn)(struct ccsctl_common *o, int argc, char **argv);
	const char *summary;
} commands[] = {
	{"submit", ccsctl_cmd_submit, "produce JSON lines to a topic as protobuf with CloudEvents headers"},
	{"tail", ccsctl_cmd_tail, "print a topic's messages as JSON lines"},
	{"topics", ccsctl_cmd_topics, "create or list topics"},
	{"dlq", ccsctl_cmd_dlq, "list or replay dead letters"},
	{"lag", ccsctl_cmd_lag, "a consumer group's committed offsets against the end offsets"},
	{"trace", ccsctl_cmd_trace, "one referral's path through every topic, with the daemons"},
	{"status", ccsctl_cmd_status, "every daemon's readiness, lag, outbox and dead letters"},
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: ccsctl [common options] COMMAND [options]\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'ccsctl COMMAND --help' for a command's options.\n\n" CCSCTL_COMMON_HELP
		   "\nKnown topics (a TOPIC.dlq topic carries its base topic's type):\n");
	for (i = 0; ccs_pbjson_topic_name(i); i++)
		fprintf(f, "  %-28s %s\n", ccs_pbjson_topic_name(i),
			ccs_pbjson_topic_descriptor(ccs_pbjson_topic_name(i))->name);
	fprintf(f, "\nExit status: 0 done, 1 failed, 2 usage error.\n");
}

static void version(void)
{
	printf("ccsctl %s (librdkafka %s)\n", CCS_VERSION, rd_kafka_version_str());
}

void ccsctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("ccsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ccsctl_common_opt(struct ccsctl_common *o, int opt, const char *arg, const char *help,
		      int *exit_now)
{
	switch (opt) {
	case 'b':
		o->bootstrap = arg;
		return 1;
	case 'X':
		if (!strchr(arg, '=') || arg[0] == '=') {
			ccsctl_err("-X wants KEY=VALUE, got '%s'", arg);
			*exit_now = CCSCTL_EXIT_USAGE;
			return 1;
		}
		o->props = ccs_xrealloc(o->props, (o->nprops + 1) * sizeof(*o->props));
		o->props[o->nprops++] = arg;
		return 1;
	case 'h':
		if (help)
			fputs(help, stdout);
		else
			usage(stdout);
		*exit_now = CCSCTL_EXIT_OK;
		return 1;
	case 'V':
		version();
		*exit_now = CCSCTL_EXIT_OK;
		return 1;
	}
	return 0;
}

void ccsctl_common_free(struct ccsctl_common *o)
{
	free(o->props);
	o->props = NULL;
	o->nprops = 0;
}

int ccsctl_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
{
	char err[512];

	if (rd_kafka_conf_set(conf, key, val, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		ccsctl_err("%s", err);
		return -1;
	}
	return 0;
}

int ccsctl_user_set(const struct ccsctl_common *o, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < o->nprops; i++)
		if (strncmp(o->props[i], key, n) == 0 && o->props[i][n] == '=')
			return 1;
	return 0;
}

/* librdkafka's error callback: print; fatal errors stop the command (see ccsctl_read). */
static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[512];
		rd_kafka_fatal_error(rk, why, sizeof(why));
		ccsctl_err("fatal kafka error: %s", why);
		if (!ccsctl_stop)
			ccsctl_stop = 1;
		return;
	}
	ccsctl_err("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

rd_kafka_conf_t *ccsctl_conf_new(const struct ccsctl_common *o, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	size_t i;

	rd_kafka_conf_set_error_cb(conf, error_cb);
	if (rd_kafka_conf_set(conf, "client.id", "ccsctl", errbuf, errlen) != RD_KAFKA_CONF_OK ||
	    rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, errbuf, errlen) !=
		    RD_KAFKA_CONF_OK)
		goto fail;
	for (i = 0; i < o->nprops; i++) {
		const char *eq = strchr(o->props[i], '=');
		char *key = ccs_xstrndup(o->props[i], (size_t)(eq - o->props[i]));
		rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, eq + 1, errbuf, errlen);
		free(key);
		if (res != RD_KAFKA_CONF_OK)
			goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

int ccsctl_parse_num(const char *s, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

int64_t ccsctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *ccsctl_json_text(const void *p, size_t n)
{
	/* json_stringn validates UTF-8; a NUL inside is legal JSON ("\u0000"). */
	return json_stringn(p ? p : "", p ? n : 0);
}

char *ccsctl_base64(const void *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = p;
	char *out = ccs_xmalloc((n + 2) / 3 * 4 + 1);
	size_t i, o = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* The first signal asks for a clean finish; a second one also abandons waiting (flushes). */
static void on_signal(int sig)
{
	(void)sig;
	if (ccsctl_stop < 2)
		ccsctl_stop++;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {CCSCTL_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
	struct ccsctl_common o = {0};
	struct sigaction sa;
	int opt, rc = CCSCTL_EXIT_USAGE, exit_now = -1;
	size_t i;

	/* No SA_RESTART: a blocking read of stdin in `submit` returns so the command can flush. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	o.bootstrap = getenv("CCS_KAFKA_BOOTSTRAP");
	if (!o.bootstrap || !*o.bootstrap)
		o.bootstrap = "127.0.0.1:9092";

	/* "+": stop at the command name; the command parses the rest (common options too). */
	while ((opt = getopt_long(argc, argv, "+" CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (ccsctl_common_opt(&o, opt, optarg, NULL, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
			continue;
		}
		usage(stderr);
		goto out;
	}
	if (optind >= argc) {
		usage(stderr);
		goto out;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			char **sub = argv + optind;
			int subc = argc - optind;
			optind = 0; /* glibc: 0 re-initialises getopt for the command's argv */
			rc = commands[i].fn(&o, subc, sub);
			goto out;
		}
	}
	ccsctl_err("unknown command '%s'", argv[optind]);
	usage(stderr);
out:
	ccsctl_common_free(&o);
	return rc;
}
