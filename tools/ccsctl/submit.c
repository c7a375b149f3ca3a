/*
 * ccsctl submit: JSON lines in, protobuf messages with CloudEvents Kafka binary-mode headers out.
 *
 * Each non-blank input line is one JSON object: either the message itself in proto3 JSON, or
 * an envelope {"id", "key", "correlation_id", "causation_id", "data": {message}} when the
 * caller wants to choose the event id (replays, tests) or the key. Lines are produced as they
 * are read, so thousands can be piped; the first bad line stops the input (what was already
 * produced is flushed) and is named with its number and reason. The producer is idempotent,
 * so librdkafka's retries never duplicate or reorder a line within a partition.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccs/mem.h"
#include "ccs/pbjson.h"
#include "ccs/uuid.h"
#include "ccsctl.h"

static const char submit_help[] =
	"Usage: ccsctl submit -t TOPIC [-f FILE|-] [-H KEY=VALUE]... [common options]\n"
	"\n"
	"Read JSON documents, one per line, encode each as TOPIC's protobuf message and produce\n"
	"it with CloudEvents binary-mode headers (ce_id, ce_source=ccsctl, ce_type=<message\n"
	"full name>, ce_specversion=1.0, ce_time, content-type=application/protobuf,\n"
	"ccs_correlation_id, ccs_causation_id).\n"
	"\n"
	"A line is either the message in proto3 JSON (lowerCamelCase or proto field names, enum\n"
	"names, int64 as string or number, bytes as base64), or an envelope:\n"
	"  {\"id\":\"<uuid>\",\"key\":\"...\",\"correlation_id\":\"...\",\"causation_id\":\"...\","
	"\"data\":{...}}\n"
	"where every member but data is optional. Defaults: id = a new UUID v4; correlation and\n"
	"causation ids = the id; key = the message's case_id, else referral_id, else mtu_id\n"
	"(looked up at the top level, then inside the oneof member that is set).\n"
	"Blank lines are skipped. The first invalid line stops the input: lines before it are\n"
	"produced and flushed, and the exit status is 1. So it is after SIGINT/SIGTERM (input\n"
	"stops, what was produced is flushed; a second signal stops waiting for deliveries).\n"
	"\n"
	"Options:\n"
	"  -t, --topic TOPIC   topic to produce to (one of the known topics, see ccsctl --help)\n"
	"  -f, --file FILE     read FILE instead of standard input ('-' = standard input)\n"
	"  -H, --header K=V    add header K with value V to every message; replaces the\n"
	"                      header ccsctl would set under that name (repeatable)\n"
	"\n" CCSCTL_COMMON_HELP;

/* Fields that carry the partitioning key, in order of preference (docs/contracts.md). */
static const char *const key_fields[] = {"case_id", "referral_id", "mtu_id"};

/* Envelope members; anything else in an object makes it a plain message. */
static const char *const envelope_members[] = {"id", "key", "correlation_id", "correlationId",
					       "causation_id", "causationId", "data"};

/* Extra headers from -H, as "name=value" strings. */
struct extra_headers {
	const char **kv;
	size_t n;
};

struct submit_state {
	long produced;     /* accepted by librdkafka */
	long delivered;    /* acknowledged by the brokers */
	long failed;       /* delivery failed */
	long first_failed_line;
	char first_error[256];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct submit_state *st = opaque;

	(void)rk;
	if (m->err) {
		if (st->failed++ == 0) {
			st->first_failed_line = (long)(intptr_t)m->_private;
			snprintf(st->first_error, sizeof(st->first_error), "%s",
				 rd_kafka_err2str(m->err));
		}
	} else {
		st->delivered++;
	}
}

/* A non-empty string field `name` of m, or NULL. */
static const char *string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	const char *s;

	if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
	    *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
		return NULL;
	s = *(char *const *)((const char *)m + f->offset);
	return s && *s ? s : NULL;
}

/* The default key: a key field at the top level, else inside the set oneof member message. */
static const char *find_key(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t i;
	unsigned f;

	for (i = 0; i < sizeof(key_fields) / sizeof(key_fields[0]); i++) {
		const char *s = string_field(m, key_fields[i]);
		if (s)
			return s;
	}
	for (f = 0; f < d->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[f];
		const ProtobufCMessage *sub;
		if (!(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || fd->type != PROTOBUF_C_TYPE_MESSAGE ||
		    *(const uint32_t *)((const char *)m + fd->quantifier_offset) != fd->id)
			continue;
		sub = *(ProtobufCMessage *const *)((const char *)m + fd->offset);
		for (i = 0; sub && i < sizeof(key_fields) / sizeof(key_fields[0]); i++) {
			const char *s = string_field(sub, key_fields[i]);
			if (s)
				return s;
		}
	}
	return NULL;
}

/* Is this object an envelope? It has an object "data" and nothing but envelope members. */
static int is_envelope(json_t *o)
{
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(json_object_get(o, "data")))
		return 0;
	json_object_foreach(o, k, v) {
		int known = 0;
		for (i = 0; i < sizeof(envelope_members) / sizeof(envelope_members[0]); i++)
			known |= strcmp(k, envelope_members[i]) == 0;
		if (!known)
			return 0;
	}
	return 1;
}

/* An optional string member of the envelope: 0 (set or absent), -1 when not a string. */
static int envelope_str(json_t *o, const char *name, const char *alt, const char **out,
			char *err, size_t errlen)
{
	json_t *v = json_object_get(o, name);

	if (!v && alt)
		v = json_object_get(o, alt);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "envelope member '%s': expected a non-empty string", name);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* RFC 3339 UTC with milliseconds: "2024-05-01T17:03:00.123Z". */
static void rfc3339_now(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%s.%03dZ", base, (int)(ts.tv_nsec / 1000000 % 1000));
}

/*
 * Encode one line and hand it to librdkafka. Returns 0, or -1 with the reason in err (nothing
 * was produced then).
 */
/* Add header name=val unless -H supplies that name. */
static void add_header(rd_kafka_headers_t *h, const struct extra_headers *x, const char *name,
		       const char *val)
{
	size_t i, n = strlen(name);

	for (i = 0; i < x->n; i++)
		if (strncmp(x->kv[i], name, n) == 0 && x->kv[i][n] == '=')
			return;
	rd_kafka_header_add(h, name, -1, val, -1);
}

static int submit_line(rd_kafka_t *rk, const char *topic, const ProtobufCMessageDescriptor *d,
		       const struct extra_headers *x, const char *line, size_t len, long lineno,
		       char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL, *data;
	ProtobufCMessage *msg = NULL;
	rd_kafka_headers_t *hdrs = NULL;
	const char *id = NULL, *key = NULL, *corr = NULL, *caus = NULL;
	char idbuf[CCS_UUID_STRLEN], now[32], perr[256];
	uint8_t *buf = NULL;
	char *keycopy = NULL;
	size_t n;
	rd_kafka_resp_err_t kerr;
	int rc = -1;

	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "invalid JSON (at character %d): %s", jerr.position, jerr.text);
		goto out;
	}
	data = root;
	if (json_is_object(root) && is_envelope(root)) {
		data = json_object_get(root, "data");
		if (envelope_str(root, "id", NULL, &id, err, errlen) ||
		    envelope_str(root, "key", NULL, &key, err, errlen) ||
		    envelope_str(root, "correlation_id", "correlationId", &corr, err, errlen) ||
		    envelope_str(root, "causation_id", "causationId", &caus, err, errlen))
			goto out;
	}
	if (ccs_pbjson_from_jansson(d, data, &msg, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "%s", perr);
		goto out;
	}
	if (!id) {
		ccs_uuid u;
		ccs_uuid_v4(&u);
		ccs_uuid_format(&u, idbuf);
		id = idbuf;
	} else {
		ccs_uuid u;
		if (ccs_uuid_parse(id, &u) != 0)
			ccsctl_err("line %ld: warning: id is not a UUID; the daemons will dead-letter it",
				   lineno);
	}
	if (!key)
		key = find_key(msg);
	/* RD_KAFKA_V_KEY takes a non-const pointer (the bytes are copied, never written). */
	keycopy = key ? ccs_xstrdup(key) : NULL;
	n = protobuf_c_message_get_packed_size(msg);
	buf = ccs_xmalloc(n ? n : 1);
	protobuf_c_message_pack(msg, buf);
	rfc3339_now(now);

	hdrs = rd_kafka_headers_new(8 + x->n);
	add_header(hdrs, x, "ce_id", id);
	add_header(hdrs, x, "ce_source", "ccsctl");
	add_header(hdrs, x, "ce_type", d->name);
	add_header(hdrs, x, "ce_specversion", "1.0");
	add_header(hdrs, x, "ce_time", now);
	add_header(hdrs, x, "content-type", "application/protobuf");
	add_header(hdrs, x, "ccs_correlation_id", corr ? corr : id);
	add_header(hdrs, x, "ccs_causation_id", caus ? caus : id);
	for (size_t i = 0; i < x->n; i++) {
		const char *eq = strchr(x->kv[i], '=');
		rd_kafka_header_add(hdrs, x->kv[i], eq - x->kv[i], eq + 1, -1);
	}

	for (;;) {
		kerr = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
					 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
					 RD_KAFKA_V_VALUE(buf, n),
					 RD_KAFKA_V_KEY(keycopy, keycopy ? strlen(keycopy) : 0),
					 RD_KAFKA_V_HEADERS(hdrs),
					 RD_KAFKA_V_OPAQUE((void *)(intptr_t)lineno), RD_KAFKA_V_END);
		if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			break;
		/* Back-pressure: serve delivery reports until the queue has room. */
		rd_kafka_poll(rk, 100);
	}
	if (kerr) {
		snprintf(err, errlen, "produce failed: %s", rd_kafka_err2str(kerr));
		goto out;
	}
	hdrs = NULL; /* owned by librdkafka now */
	rc = 0;
out:
	if (hdrs)
		rd_kafka_headers_destroy(hdrs);
	free(keycopy);
	free(buf);
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
	json_decref(root);
	return rc;
}

static int blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

int ccsctl_cmd_submit(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"topic", required_argument, NULL, 't'},
		{"file", required_argument, NULL, 'f'},
		{"header", required_argument, NULL, 'H'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	const char *topic = NULL, *file = "-";
	const ProtobufCMessageDescriptor *d;
	struct submit_state st = {0};
	struct extra_headers x = {0};
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	FILE *in = NULL;
	char *line = NULL, err[512];
	size_t cap = 0;
	ssize_t len;
	long lineno = 0, bad_line = 0;
	int opt, exit_now = -1, rc = CCSCTL_EXIT_USAGE;

	while ((opt = getopt_long(argc, argv, "t:f:H:" CCSCTL_COMMON_SHORTOPTS, longopts, NULL)) !=
	       -1) {
		if (opt == 't') {
			topic = optarg;
		} else if (opt == 'f') {
			file = optarg;
		} else if (opt == 'H') {
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				ccsctl_err("submit: --header wants KEY=VALUE, got '%s'", optarg);
				goto out;
			}
			x.kv = ccs_xrealloc(x.kv, (x.n + 1) * sizeof(*x.kv));
			x.kv[x.n++] = optarg;
		} else if (ccsctl_common_opt(o, opt, optarg, submit_help, &exit_now)) {
			if (exit_now >= 0) {
				rc = exit_now;
				goto out;
			}
		} else {
			fputs(submit_help, stderr);
			goto out;
		}
	}
	if (!topic || optind != argc) {
		ccsctl_err("submit: %s", !topic ? "-t TOPIC is required" : "unexpected argument");
		goto out;
	}
	d = ccs_pbjson_topic_descriptor(topic);
	if (!d) {
		ccsctl_err("submit: unknown topic '%s' (see ccsctl --help for the known topics)",
			   topic);
		goto out;
	}

	rc = CCSCTL_EXIT_FAIL;
	in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (!in) {
		ccsctl_err("submit: %s: %s", file, strerror(errno));
		goto out;
	}
	conf = ccsctl_conf_new(o, err, sizeof(err));
	if (!conf) {
		ccsctl_err("%s", err);
		rc = CCSCTL_EXIT_USAGE;
		goto out;
	}
	rd_kafka_conf_set_opaque(conf, &st);
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	/* Our defaults, unless the user chose otherwise with -X. */
	if (ccsctl_conf_set(conf, "enable.idempotence", "true") ||
	    (!ccsctl_user_set(o, "message.timeout.ms") &&
	     ccsctl_conf_set(conf, "message.timeout.ms", "60000")) ||
	    (!ccsctl_user_set(o, "linger.ms") && ccsctl_conf_set(conf, "linger.ms", "5")))
		goto out;
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!rk) {
		ccsctl_err("%s", err);
		goto out;
	}
	conf = NULL;

	while (!ccsctl_stop && (len = getline(&line, &cap, in)) >= 0) {
		lineno++;
		if (blank(line, (size_t)len))
			continue;
		if (submit_line(rk, topic, d, &x, line, (size_t)len, lineno, err, sizeof(err)) !=
		    0) {
			ccsctl_err("submit: line %ld: %s", lineno, err);
			bad_line = lineno;
			break;
		}
		st.produced++;
		rd_kafka_poll(rk, 0);
	}
	if (!bad_line && ferror(in) && !ccsctl_stop)
		ccsctl_err("submit: reading %s: %s", file, strerror(errno));

	/* Flush even after a bad line or a signal: what was produced must be delivered. */
	while (rd_kafka_outq_len(rk) > 0) {
		rd_kafka_resp_err_t ferr = rd_kafka_flush(rk, 1000);
		if (ferr == RD_KAFKA_RESP_ERR_NO_ERROR)
			break;
		if (rd_kafka_fatal_error(rk, NULL, 0) || ccsctl_stop >= 2)
			break;
	}
	rd_kafka_poll(rk, 0);
	if (st.failed)
		ccsctl_err("submit: %ld message(s) not delivered; first at line %ld: %s", st.failed,
			   st.first_failed_line, st.first_error);
	fprintf(stderr, "ccsctl: submit: %ld produced, %ld delivered to %s%s\n", st.produced,
		st.delivered, topic, ccsctl_stop ? " (interrupted)" : "");
	/* Interrupted input counts as a failure: the caller's lines were not all produced. */
	if (!bad_line && !ccsctl_stop && !st.failed && st.delivered == st.produced && !ferror(in) &&
	    !rd_kafka_fatal_error(rk, NULL, 0))
		rc = CCSCTL_EXIT_OK;
out:
	free(x.kv);
	free(line);
	if (in && in != stdin)
		fclose(in);
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (rk)
		rd_kafka_destroy(rk);
	return rc;
}
