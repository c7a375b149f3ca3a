/*
 * ccsctl tail, and the consumer loop that `dlq list` and `dlq replay` share.
 *
 * By default the loop joins no consumer group: it reads the topic's partitions from metadata
 * and assigns them all, so looking at a topic never commits offsets and never triggers a
 * rebalance of the daemons' groups. With -g it subscribes under that group instead (still
 * without committing), which shows what the group would be given.
 *
 * Stop conditions, any of which ends the loop: --count messages printed, --idle-exit seconds
 * without a message, --until-end (the end offsets read when the loop started have all been
 * reached), or a signal.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ccs/mem.h"
#include "ccs/pbjson.h"
#include "ccs/uuid.h"
#include "ccsctl.h"

static const char tail_help[] =
	"Usage: ccsctl tail -t TOPIC [options] [common options]\n"
	"\n"
	"Print TOPIC's messages, one JSON object per line:\n"
	"  {\"topic\",\"partition\",\"offset\",\"timestamp\",\"key\",\"headers\":{...},\"value\":{...}}\n"
	"The value is decoded as the topic's message type (a TOPIC.dlq topic as its base topic's\n"
	"type) and printed in proto3 JSON. A value that does not decode, or a topic without a\n"
	"known type, is printed as \"value_base64\" (with \"value_error\" saying why). A key or\n"
	"header that is not UTF-8 is printed as {\"base64\":...}.\n"
	"Without -g no consumer group is used and nothing is committed. A topic that does not\n"
	"exist yet is waited for (within --idle-exit); with --until-end it reads as empty.\n"
	"\n"
	"Options:\n"
	"  -t, --topic TOPIC       topic to read\n"
	"      --from-beginning    start at the oldest message (default: only new messages)\n"
	"  -n, --count N           exit after N messages\n"
	"      --idle-exit SECONDS exit after SECONDS without a message (decimals allowed)\n"
	"      --until-end         exit once the end offsets seen at start are reached\n"
	"  -p, --partition P       read only partition P\n"
	"  -o, --offset N          start at offset N (with -p: that partition; else every one)\n"
	"  -g, --group GROUP       subscribe as consumer group GROUP (no commits); joining a\n"
	"                          daemon's group makes it rebalance: use a group of your own\n"
	"\n" CCSCTL_COMMON_HELP;

/* Progress of one assigned partition, for --until-end. */
struct part {
	int32_t id;
	int64_t end; /* high watermark at start */
	int done;
};

json_t *ccsctl_message_json(const rd_kafka_message_t *m)
{
	const char *topic = rd_kafka_topic_name(m->rkt);
	const ProtobufCMessageDescriptor *d = ccs_pbjson_topic_descriptor(topic);
	rd_kafka_headers_t *hdrs = NULL;
	json_t *o = json_object(), *h = json_object(), *v = NULL;
	rd_kafka_timestamp_type_t tstype;
	int64_t ts = rd_kafka_message_timestamp(m, &tstype);
	const char *name, *why = NULL;
	const void *val;
	size_t vlen, i;

	json_object_set_new(o, "topic", json_string(topic));
	json_object_set_new(o, "partition", json_integer(m->partition));
	json_object_set_new(o, "offset", json_integer(m->offset));
	if (tstype != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE)
		json_object_set_new(o, "timestamp", json_integer(ts));
	if (!m->key) {
		json_object_set_new(o, "key", json_null());
	} else if ((v = ccsctl_json_text(m->key, m->key_len)) != NULL) {
		json_object_set_new(o, "key", v);
	} else {
		char *b = ccsctl_base64(m->key, m->key_len);
		json_object_set_new(o, "key", json_pack("{s:s}", "base64", b));
		free(b);
	}
	if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &vlen) ==
			    RD_KAFKA_RESP_ERR_NO_ERROR;
		     i++) {
			json_t *hv = val ? ccsctl_json_text(val, vlen) : json_null();
			if (!hv) {
				char *b = ccsctl_base64(val, vlen);
				hv = json_pack("{s:s}", "base64", b);
				free(b);
			}
			/* A repeated header name keeps its last value, as the daemons read it. */
			json_object_set_new(h, name, hv);
		}
	}
	json_object_set_new(o, "headers", h);

	v = NULL;
	if (!d) {
		why = "no message type known for this topic";
	} else {
		ProtobufCMessage *msg =
			protobuf_c_message_unpack(d, NULL, m->len, m->payload ? m->payload : "");
		if (!msg) {
			why = "value does not decode as the topic's message type";
		} else {
			v = ccs_pbjson_to_jansson(msg, NULL, 0);
			protobuf_c_message_free_unpacked(msg, NULL);
			if (!v)
				why = "value holds a string that is not valid UTF-8";
		}
	}
	if (v) {
		json_object_set_new(o, "value", v);
	} else {
		char *b = ccsctl_base64(m->payload, m->payload ? m->len : 0);
		json_object_set_new(o, "value_base64", json_string(b));
		json_object_set_new(o, "value_error", json_string(why));
		free(b);
	}
	return o;
}

/*
 * Assign the topic's partitions (all, or r->partition) at their start offsets. Returns 0, -1 on
 * error, 1 when the topic does not exist and there is nothing to read.
 */
static int assign_all(rd_kafka_t *rk, const struct ccsctl_read *r, struct part **parts,
		      int *nparts)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_partition_list_t *list = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, r->topic, NULL);
	rd_kafka_resp_err_t err;
	int i, rc = -1;

	int64_t t0 = ccsctl_now_ms();
	int noted = 0;

	/*
	 * A topic that does not exist yet (a daemon creates its outputs when it starts) is waited
	 * for, within --idle-exit; with --until-end it is simply empty.
	 */
	for (;;) {
		rd_kafka_resp_err_t terr;
		struct timespec pause = {0, 500 * 1000 * 1000};

		err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
		if (err) {
			ccsctl_err("metadata for %s: %s", r->topic, rd_kafka_err2str(err));
			goto out;
		}
		terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
		if (terr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0)
			break;
		rd_kafka_metadata_destroy(md);
		md = NULL;
		if (terr != RD_KAFKA_RESP_ERR_NO_ERROR &&
		    terr != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
		    terr != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE) {
			ccsctl_err("topic %s: %s", r->topic, rd_kafka_err2str(terr));
			goto out;
		}
		if (r->until_end) {
			ccsctl_err("topic %s does not exist: nothing to read", r->topic);
			rc = 1;
			goto out;
		}
		if (!noted++)
			ccsctl_err("topic %s does not exist yet; waiting for it", r->topic);
		if (ccsctl_stop || (r->idle_ms > 0 && ccsctl_now_ms() - t0 >= r->idle_ms)) {
			rc = 1;
			goto out;
		}
		nanosleep(&pause, NULL);
	}
	*parts = ccs_xcalloc((size_t)md->topics[0].partition_cnt + 1, sizeof(**parts));
	*nparts = 0;
	list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
	for (i = 0; i < md->topics[0].partition_cnt; i++) {
		int32_t p = md->topics[0].partitions[i].id;
		struct part *pp;
		int64_t lo = 0, hi = 0, start;
		if (r->partition >= 0 && p != r->partition)
			continue;
		if (r->until_end) {
			err = rd_kafka_query_watermark_offsets(rk, r->topic, p, &lo, &hi, 10000);
			if (err) {
				ccsctl_err("offsets of %s [%d]: %s", r->topic, p,
					   rd_kafka_err2str(err));
				goto out;
			}
		}
		start = r->offset >= 0 ? r->offset
			: r->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
		pp = &(*parts)[(*nparts)++];
		pp->id = p;
		pp->end = hi;
		/* Nothing to read in [start, hi): this partition is already at its end. */
		pp->done = r->until_end && (start == RD_KAFKA_OFFSET_END ? 1
					    : start == RD_KAFKA_OFFSET_BEGINNING ? lo >= hi
										: start >= hi);
		rd_kafka_topic_partition_list_add(list, r->topic, p)->offset = start;
	}
	if (*nparts == 0) {
		ccsctl_err("topic %s has no partition %d", r->topic, r->partition);
		goto out;
	}
	err = rd_kafka_assign(rk, list);
	if (err) {
		ccsctl_err("assign: %s", rd_kafka_err2str(err));
		goto out;
	}
	rc = 0;
out:
	if (list)
		rd_kafka_topic_partition_list_destroy(list);
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(rkt);
	return rc;
}

static int all_done(const struct part *parts, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!parts[i].done)
			return 0;
	return 1;
}

int ccsctl_read(const struct ccsctl_common *o, const struct ccsctl_read *r)
{
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk = NULL;
	struct part *parts = NULL;
	int nparts = 0, rc = CCSCTL_EXIT_FAIL, i;
	int64_t seen = 0, last = ccsctl_now_ms();
	char err[512], group[256];

	conf = ccsctl_conf_new(o, err, sizeof(err));
	if (!conf) {
		ccsctl_err("%s", err);
		return CCSCTL_EXIT_USAGE;
	}
	/*
	 * librdkafka 2.0 wants a group.id even to assign(): without -g use a throwaway one, which
	 * is never joined (no subscribe) and never committed to.
	 */
	if (r->group) {
		snprintf(group, sizeof(group), "%s", r->group);
	} else {
		ccs_uuid u;
		char us[CCS_UUID_STRLEN];
		ccs_uuid_v4(&u);
		ccs_uuid_format(&u, us);
		snprintf(group, sizeof(group), "ccsctl-%s", us);
	}
	if (ccsctl_conf_set(conf, "enable.auto.commit", "false") ||
	    ccsctl_conf_set(conf, "enable.auto.offset.store", "false") ||
	    ccsctl_conf_set(conf, "auto.offset.reset", r->from_beginning ? "earliest" : "latest") ||
	    ccsctl_conf_set(conf, "group.id", group)) {
		rd_kafka_conf_destroy(conf);
		return CCSCTL_EXIT_USAGE;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		ccsctl_err("%s", err);
		return CCSCTL_EXIT_FAIL;
	}
	rd_kafka_poll_set_consumer(rk);

	if (r->group) {
		rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
		rd_kafka_resp_err_t e;
		rd_kafka_topic_partition_list_add(sub, r->topic, RD_KAFKA_PARTITION_UA);
		e = rd_kafka_subscribe(rk, sub);
		rd_kafka_topic_partition_list_destroy(sub);
		if (e) {
			ccsctl_err("subscribe: %s", rd_kafka_err2str(e));
			goto out;
		}
	} else {
		int ar = assign_all(rk, r, &parts, &nparts);
		if (ar != 0) {
			rc = ar > 0 ? CCSCTL_EXIT_OK : CCSCTL_EXIT_FAIL;
			goto out;
		}
	}

	rc = CCSCTL_EXIT_OK;
	while (!ccsctl_stop) {
		rd_kafka_message_t *m;
		int stop = 0;

		if (r->until_end && !r->group && all_done(parts, nparts))
			break;
		m = rd_kafka_consumer_poll(rk, 100);
		if (!m) {
			if (r->idle_ms > 0 && ccsctl_now_ms() - last >= r->idle_ms)
				break;
			continue;
		}
		if (m->err) {
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				ccsctl_err("consume: %s", rd_kafka_message_errstr(m));
				/* A topic or partition that is gone, or a fatal error, ends the read. */
				if (m->err == RD_KAFKA_RESP_ERR__FATAL ||
				    m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
				    m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
				    m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
					rc = CCSCTL_EXIT_FAIL;
					stop = 1;
				}
			}
			rd_kafka_message_destroy(m);
			if (stop)
				break;
			continue;
		}
		last = ccsctl_now_ms();
		{
			int skip = 0;
			for (i = 0; i < nparts; i++) {
				if (parts[i].id != m->partition)
					continue;
				/* --offset in single mode: that one message (if it still exists). */
				if (r->single && (parts[i].done || m->offset != r->offset))
					skip = 1;
				if (r->single || m->offset + 1 >= parts[i].end)
					parts[i].done = 1;
			}
			if (skip) {
				rd_kafka_message_destroy(m);
				continue;
			}
		}
		seen++;
		{
			int fr = r->fn(r->ctx, m);
			if (fr < 0) {
				rc = CCSCTL_EXIT_FAIL;
				stop = 1;
			} else if (fr > 0) {
				stop = 1;
			}
		}
		rd_kafka_message_destroy(m);
		if (stop || (r->count > 0 && seen >= r->count))
			break;
	}
	if (rd_kafka_fatal_error(rk, NULL, 0))
		rc = CCSCTL_EXIT_FAIL;
out:
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	free(parts);
	return rc;
}

/* Print one message as a JSON line; flushed so that pipes see each message at once. */
static int print_message(void *ctx, const rd_kafka_message_t *m)
{
	json_t *o = ccsctl_message_json(m);
	int rc = json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);

	(void)ctx;
	json_decref(o);
	if (rc != 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
		ccsctl_err("tail: writing to standard output failed");
		return -1;
	}
	return 0;
}

int ccsctl_read_opt(struct ccsctl_read *r, int opt, const char *arg)
{
	int64_t v;

	switch (opt) {
	case 't':
		r->topic = arg;
		return 0;
	case 'B':
		r->from_beginning = 1;
		return 0;
	case 'E':
		r->until_end = 1;
		return 0;
	case 'g':
		r->group = arg;
		return 0;
	case 'n':
		if (ccsctl_parse_num(arg, INT64_MAX, &v) != 0 || v == 0) {
			ccsctl_err("--count wants a positive number, got '%s'", arg);
			return CCSCTL_EXIT_USAGE;
		}
		r->count = v;
		return 0;
	case 'p':
		if (ccsctl_parse_num(arg, INT32_MAX, &v) != 0) {
			ccsctl_err("--partition wants a partition number, got '%s'", arg);
			return CCSCTL_EXIT_USAGE;
		}
		r->partition = (int32_t)v;
		return 0;
	case 'o':
		if (ccsctl_parse_num(arg, INT64_MAX, &v) != 0) {
			ccsctl_err("--offset wants an offset, got '%s'", arg);
			return CCSCTL_EXIT_USAGE;
		}
		r->offset = v;
		return 0;
	case 'I': {
		char *end;
		double s = strtod(arg, &end);
		if (*arg == '\0' || *end || !(s > 0) || s > 1e9) {
			ccsctl_err("--idle-exit wants a number of seconds, got '%s'", arg);
			return CCSCTL_EXIT_USAGE;
		}
		r->idle_ms = (int64_t)(s * 1000);
		if (r->idle_ms == 0)
			r->idle_ms = 1;
		return 0;
	}
	}
	return -1;
}

int ccsctl_read_check(const struct ccsctl_read *r, const char *cmd)
{
	if (!r->topic) {
		ccsctl_err("%s: -t TOPIC is required", cmd);
		return CCSCTL_EXIT_USAGE;
	}
	if (r->group && (r->until_end || r->partition >= 0 || r->offset >= 0)) {
		ccsctl_err("%s: -g cannot be combined with --until-end, --partition or --offset",
			   cmd);
		return CCSCTL_EXIT_USAGE;
	}
	return 0;
}

int ccsctl_cmd_tail(struct ccsctl_common *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"topic", required_argument, NULL, 't'},
		{"from-beginning", no_argument, NULL, 'B'},
		{"count", required_argument, NULL, 'n'},
		{"idle-exit", required_argument, NULL, 'I'},
		{"until-end", no_argument, NULL, 'E'},
		{"partition", required_argument, NULL, 'p'},
		{"offset", required_argument, NULL, 'o'},
		{"group", required_argument, NULL, 'g'},
		CCSCTL_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	struct ccsctl_read r = {.partition = -1, .offset = -1, .fn = print_message};
	int opt, exit_now = -1, rc;

	while ((opt = getopt_long(argc, argv, "t:n:p:o:g:" CCSCTL_COMMON_SHORTOPTS, longopts,
				  NULL)) != -1) {
		rc = ccsctl_read_opt(&r, opt, optarg);
		if (rc > 0)
			return rc;
		if (rc == 0)
			continue;
		if (ccsctl_common_opt(o, opt, optarg, tail_help, &exit_now)) {
			if (exit_now >= 0)
				return exit_now;
			continue;
		}
		fputs(tail_help, stderr);
		return CCSCTL_EXIT_USAGE;
	}
	if (optind != argc) {
		ccsctl_err("tail: unexpected argument '%s'", argv[optind]);
		return CCSCTL_EXIT_USAGE;
	}
	rc = ccsctl_read_check(&r, "tail");
	if (rc)
		return rc;
	return ccsctl_read(o, &r);
}
