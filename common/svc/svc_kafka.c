/*
 * Kafka plumbing (see svc_internal.h): configuration with operator pass-through, error, log and
 * statistics callbacks, topic creation, and the consumer queue's io-event bridge into libuv.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ccs/hdrs.h"
#include "ccs/log.h"
#include "svc_internal.h"

/* ---------------------------------------------------------------- kafka */

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	ccs_svc *s = opaque;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		s->kafka_ok = 0;
		ccs__svc_set_ready_metric(s);
	}
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char buf[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
		CCS_LOG_ERROR("kafka fatal error", "client", CCS_LOG_S(rd_kafka_name(rk)), "error",
			      CCS_LOG_S(rd_kafka_err2str(orig)), "reason", CCS_LOG_S(buf));
		/* A fatally failed client never recovers by itself. The callback runs inside a
		 * poll of that very client, so it is only flagged here and replaced from the loop
		 * (ccs__svc_consumer_check; the producer in the stats timer). */
		if (rk == s->consumer)
			s->consumer_fatal = 1;
		return;
	}
	CCS_LOG_WARN("kafka error", "client", CCS_LOG_S(rd_kafka_name(rk)), "error",
		     CCS_LOG_S(rd_kafka_err2str((rd_kafka_resp_err_t)err)), "reason", CCS_LOG_S(reason));
}

/* librdkafka's own log lines, as JSON lines like ours (syslog levels: 0 emerg .. 7 debug). */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	ccs_log_level l = level <= 3 ? CCS_LOG_ERROR_L : level <= 5 ? CCS_LOG_WARN_L : level == 6 ? CCS_LOG_INFO_L : CCS_LOG_DEBUG;
	CCS_LOG_AT_(l, "librdkafka", "client", CCS_LOG_S(rd_kafka_name(rk)), "facility", CCS_LOG_S(fac),
		    "detail", CCS_LOG_S(buf));
}

/* Consumer lag per partition, from librdkafka's statistics JSON. */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
	ccs_svc *s = opaque;
	json_error_t je;
	(void)rk;
	json_t *root = json_loadb(json, len, 0, &je);
	json_t *topics = root ? json_object_get(root, "topics") : NULL;
	const char *tname;
	json_t *t;
	json_object_foreach(topics, tname, t)
	{
		const char *pname;
		json_t *p;
		json_object_foreach(json_object_get(t, "partitions"), pname, p)
		{
			json_t *lag = json_object_get(p, "consumer_lag");
			if (!json_is_integer(lag) || strcmp(pname, "-1") == 0 || json_integer_value(lag) < 0)
				continue;
			char labels[256];
			snprintf(labels, sizeof(labels), "topic=\"%s\",partition=\"%s\"", tname, pname);
			ccs_metric_set(ccs_metrics_series(s->metrics, "consumer_lag", labels),
				       (double)json_integer_value(lag));
		}
	}
	json_decref(root);
	return 0;
}

static rd_kafka_conf_t *kafka_conf(ccs_svc *s, int consumer, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	char stats[24];
	struct kv {
		const char *k, *v;
	};
	char session[24];
	snprintf(stats, sizeof(stats), "%ld", ccs_cfg_int(&s->cfg, "stats.interval.ms"));
	snprintf(session, sizeof(session), "%ld", ccs_cfg_int(&s->cfg, "group.session.timeout.ms"));
	const struct kv common[] = {
		{"bootstrap.servers", ccs_cfg_str(&s->cfg, "kafka.bootstrap")},
		{"client.id", s->instance_id},
	};
	const struct kv cons[] = {
		{"group.id", s->group_id},
		{"partition.assignment.strategy", "range"},
		/* PostgreSQL owns the offsets: Kafka's copy is committed by us, after COMMIT, for
		 * lag tools only (ccs__svc_commit_offsets), never by a background timer that could
		 * commit with a stale member id and get the static member fenced. */
		{"enable.auto.commit", "false"},
		{"enable.auto.offset.store", "false"},
		{"auto.offset.reset", "earliest"},
		{"session.timeout.ms", session},
		{"statistics.interval.ms", stats},
		{"enable.partition.eof", "false"},
		/* A subscribed topic created after start is noticed within this, not librdkafka's
		 * default five minutes. */
		{"topic.metadata.refresh.interval.ms", "10000"},
		/* Read-ahead: librdkafka's defaults (64 MiB, 100,000 messages) are most of a
		 * daemon's memory in a backlog (schedulingd peaked at 32.7 MiB with 20,000 queued
		 * inputs, 22.6 MiB with these) and buy nothing: a batch is batch.max (200) messages,
		 * 1,000 is five batches ahead. kafka.queued.* overrides them. */
		{"queued.max.messages.kbytes", "2048"},
		{"queued.min.messages", "1000"},
	};
	const struct kv prod[] = {
		{"enable.idempotence", "true"},
		{"linger.ms", "5"},
		{"compression.type", "lz4"},
	};
	const struct kv *sets[2] = {common, consumer ? cons : prod};
	size_t lens[2] = {2, consumer ? sizeof(cons) / sizeof(cons[0]) : sizeof(prod) / sizeof(prod[0])};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < lens[k]; i++)
			if (rd_kafka_conf_set(c, sets[k][i].k, sets[k][i].v, errbuf, errlen) != RD_KAFKA_CONF_OK)
				goto fail;
	/* Static membership (group.static): a restarted instance gets its partitions back
	 * without a rebalance, but a stopped one keeps them until the session times out, because
	 * librdkafka 2.0.2 sends no LeaveGroup for a static member (docs/ and svc/README.md). */
	if (consumer && ccs_cfg_bool(&s->cfg, "group.static") &&
	    rd_kafka_conf_set(c, "group.instance.id", s->instance_id, errbuf, errlen) != RD_KAFKA_CONF_OK)
		goto fail;
	/* Operator settings last, so they win over our defaults. */
	for (size_t i = 0; i < s->cfg.nkafka; i++) {
		const char *k = s->cfg.kafka[i].key;
		if (rd_kafka_conf_set(c, k, s->cfg.kafka[i].value, errbuf, errlen) != RD_KAFKA_CONF_OK)
			goto fail;
	}
	rd_kafka_conf_set_opaque(c, s);
	rd_kafka_conf_set_error_cb(c, error_cb);
	rd_kafka_conf_set_log_cb(c, log_cb);
	if (consumer) {
		rd_kafka_conf_set_rebalance_cb(c, ccs__svc_rebalance_cb);
		rd_kafka_conf_set_stats_cb(c, stats_cb);
	} else {
		rd_kafka_conf_set_dr_msg_cb(c, ccs__svc_dr_cb);
	}
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

int ccs__svc_producer_create(ccs_svc *s, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *c = kafka_conf(s, 0, errbuf, errlen);
	if (!c)
		return -1;
	s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, c, errbuf, errlen);
	if (!s->producer) {
		rd_kafka_conf_destroy(c);
		return -1;
	}
	return 0;
}

/*
 * Create the topics this daemon reads and writes (their .dlq too, and the streams the daemon
 * added at start), tolerating existing ones. One admin request; names live in the arena.
 */
int ccs__svc_ensure_topics(ccs_svc *s, char *errbuf, size_t errlen)
{
	size_t cap = 2, n = 0;
	int rc = 0;
	for (size_t i = 0; s->topics[i]; i++)
		cap += 2;
	for (size_t i = 0; s->def->output_topics && s->def->output_topics[i]; i++)
		cap++;
	cap += s->nextra_out;
	const char **names = ccs_arena_alloc(&s->arena, cap * sizeof(*names));
	rd_kafka_NewTopic_t **nt = ccs_arena_alloc(&s->arena, cap * sizeof(*nt));

	for (size_t i = 0; s->topics[i]; i++) {
		names[n++] = s->topics[i];
		names[n++] = ccs_arena_printf(&s->arena, "%s.dlq", s->topics[i]);
	}
	for (size_t i = 0; s->def->output_topics && s->def->output_topics[i]; i++)
		names[n++] = ccs_arena_printf(&s->arena, "%s%s", s->prefix, s->def->output_topics[i]);
	for (size_t i = 0; i < s->nextra_out; i++)
		names[n++] = ccs_arena_printf(&s->arena, "%s%s", s->prefix, s->extra_out[i]);

	for (size_t i = 0; i < n; i++)
		nt[i] = rd_kafka_NewTopic_new(names[i], (int)ccs_cfg_int(&s->cfg, "topics.partitions"),
					     (int)ccs_cfg_int(&s->cfg, "topics.replication"), NULL, 0);
	rd_kafka_queue_t *q = rd_kafka_queue_new(s->producer);
	rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(s->producer, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	rd_kafka_AdminOptions_set_operation_timeout(o, 10000, NULL, 0);
	rd_kafka_CreateTopics(s->producer, nt, n, o, q);
	rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 20000);
	if (!ev || rd_kafka_event_error(ev)) {
		snprintf(errbuf, errlen, "creating topics failed: %s",
			 ev ? rd_kafka_event_error_string(ev) : "timed out waiting for the broker");
		rc = -1;
		goto out;
	}
	size_t cnt;
	const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(
		rd_kafka_event_CreateTopics_result(ev), &cnt);
	for (size_t i = 0; i < cnt; i++) {
		rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
		if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			snprintf(errbuf, errlen, "creating topic %s failed: %s", rd_kafka_topic_result_name(res[i]),
				 rd_kafka_topic_result_error_string(res[i]));
			rc = -1;
			goto out;
		}
	}
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_AdminOptions_destroy(o);
	rd_kafka_queue_destroy(q);
	for (size_t i = 0; i < n; i++)
		rd_kafka_NewTopic_destroy(nt[i]);
	ccs_arena_reset(&s->arena);
	return rc;
}

void ccs__svc_poll_timer_cb(uv_timer_t *t)
{
	ccs__svc_consume(t->data);
}

static void more_cb(uv_idle_t *h)
{
	ccs_svc *s = h->data;
	uv_idle_stop(h);
	ccs__svc_consume(s);
}

/*
 * Consume again on the next loop iteration. An idle handle, not a zero timer: libuv runs a
 * re-armed zero timer again before polling for I/O, so a backlog would starve /livez, signals
 * and the relay until it was gone. With an idle handle every batch is followed by one
 * non-blocking I/O poll.
 */
void ccs__svc_poll_soon(ccs_svc *s)
{
	uv_idle_start(&s->more, more_cb);
}

/* The consumer queue wrote to our pipe: it became non-empty. Drain the pipe, then consume. */
static void kq_cb(uv_poll_t *h, int status, int events)
{
	ccs_svc *s = h->data;
	char buf[64];
	(void)status;
	(void)events;
	while (read(s->kq_pipe[0], buf, sizeof(buf)) > 0)
		;
	ccs__svc_consume(s);
}

/* A new consumer client subscribed to the input topics, its queue bridged to our pipe. */
static int consumer_new(ccs_svc *s, char *errbuf, size_t errlen)
{
	rd_kafka_conf_t *c = kafka_conf(s, 1, errbuf, errlen);
	int rc = -1;
	if (!c)
		return -1;
	s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, c, errbuf, errlen);
	if (!s->consumer) {
		rd_kafka_conf_destroy(c);
		return -1;
	}
	rd_kafka_poll_set_consumer(s->consumer);
	size_t ntopics = 0;
	while (s->topics[ntopics])
		ntopics++;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)ntopics);
	for (size_t i = 0; i < ntopics; i++)
		rd_kafka_topic_partition_list_add(l, s->topics[i], RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t err = rd_kafka_subscribe(s->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		snprintf(errbuf, errlen, "subscribe failed: %s", rd_kafka_err2str(err));
		goto out;
	}
	/* The io-event bridge: librdkafka writes a byte when the queue goes from empty to
	 * non-empty; a short safety poll timer covers the case where that edge is missed. */
	s->cq = rd_kafka_queue_get_consumer(s->consumer);
	rd_kafka_queue_io_event_enable(s->cq, s->kq_pipe[1], "1", 1);
	rc = 0;
out:
	return rc;
}

/* Destroy the consumer without the group protocol (it is fenced or being replaced). */
static void consumer_drop(ccs_svc *s)
{
	if (s->cq) {
		rd_kafka_queue_io_event_enable(s->cq, -1, NULL, 0);
		rd_kafka_queue_destroy(s->cq);
		s->cq = NULL;
	}
	if (s->consumer) {
		rd_kafka_destroy_flags(s->consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
		s->consumer = NULL;
	}
	ccs__svc_parts_clear(s);
	s->assigned = 0;
	s->commit_pending = 0;
}

int ccs__svc_consumer_create(ccs_svc *s, char *errbuf, size_t errlen)
{
	if (pipe2(s->kq_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (consumer_new(s, errbuf, errlen) != 0)
		return -1;
	uv_poll_init(s->loop, &s->kq_poll, s->kq_pipe[0]);
	s->kq_poll.data = s;
	uv_poll_start(&s->kq_poll, UV_READABLE, kq_cb);
	return 0;
}

/*
 * Replace a consumer that hit a fatal error (typically a static member fenced after a broker
 * outage near the session timeout): destroy it and subscribe a new one. The rebalance
 * callback then claims the partitions again and starts them at PostgreSQL's offsets, so
 * nothing is lost or applied twice. While no working consumer exists, /livez fails, so a
 * supervisor restarts a process that cannot recover by itself.
 */
void ccs__svc_consumer_check(ccs_svc *s)
{
	char err[512];

	if (s->draining || (!s->consumer_fatal && s->consumer))
		return;
	if (!s->consumer_dead_since)
		s->consumer_dead_since = uv_now(s->loop) ? uv_now(s->loop) : 1;
	CCS_LOG_WARN("recreating the consumer", "reason",
		     CCS_LOG_S(s->consumer_fatal ? "fatal error" : "no consumer"));
	consumer_drop(s);
	s->consumer_fatal = 0;
	ccs_metric_add(s->m_consumer_recreated, 1);
	if (consumer_new(s, err, sizeof(err)) != 0) {
		CCS_LOG_ERROR("consumer create failed, will retry", "error", CCS_LOG_S(err));
		consumer_drop(s);
		return;
	}
	s->consumer_dead_since = 0;
	ccs__svc_set_ready_metric(s);
}

/*
 * Mirror the offsets stored after each COMMIT into Kafka's group offsets (lag tools read
 * those), at most once a second unless forced. Asynchronous: its outcome never matters for
 * correctness, since PostgreSQL's offsets are the ones the rebalance callback uses.
 */
void ccs__svc_commit_offsets(ccs_svc *s, int force)
{
	uint64_t now = uv_now(s->loop);
	if (!s->consumer || !s->commit_pending || !s->assigned || (!force && now - s->last_commit < 1000))
		return;
	rd_kafka_resp_err_t err = rd_kafka_commit(s->consumer, NULL, force ? 0 : 1);
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		CCS_LOG_DBG("offset commit to kafka failed", "error", CCS_LOG_S(rd_kafka_err2str(err)));
	s->commit_pending = 0;
	s->last_commit = now;
}
