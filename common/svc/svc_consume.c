/*
 * Consuming (see svc_internal.h): partitions claimed in PostgreSQL with an owner epoch, one
 * transaction per partition batch with a savepoint per message, dead letters in the same
 * transaction, and the pause-backoff-resync path after a transient failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ccs/failpoint.h"
#include "ccs/hdrs.h"
#include "ccs/instant.h"
#include "ccs/log.h"
#include "ccs/pbutf8.h"
#include "svc_internal.h"

/* ---------------------------------------------------------------- partitions */

part *ccs__svc_part_find(ccs_svc *s, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i].partition == partition && strcmp(s->parts[i].topic, topic) == 0)
			return &s->parts[i];
	return NULL;
}

void ccs__svc_parts_clear(ccs_svc *s)
{
	for (size_t i = 0; i < s->nparts; i++)
		free(s->parts[i].topic);
	free(s->parts);
	s->parts = NULL;
	s->nparts = 0;
}

size_t ccs__svc_parts_fenced(const ccs_svc *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nparts; i++)
		n += s->parts[i].state == PART_FENCED;
	return n;
}


/*
 * Take ownership of a partition in PostgreSQL: bump owner_epoch (fencing the previous owner)
 * and read the next offset. Returns a CCS_PG_* code.
 */
static int part_claim(ccs_svc *s, part *p)
{
	char pbuf[16];
	int rc = CCS_PG_OK;
	snprintf(pbuf, sizeof(pbuf), "%d", p->partition);
	const char *params[4] = {s->group_id, p->topic, pbuf, s->instance_id};
	PGresult *r = PQexecParams(
		s->pg,
		"INSERT INTO consumer_offsets AS o (group_id, topic, partition, next_offset, owner_epoch, owner)"
		" VALUES ($1, $2, $3, -2, 1, $4)"
		" ON CONFLICT (group_id, topic, partition) DO UPDATE"
		" SET owner_epoch = o.owner_epoch + 1, owner = EXCLUDED.owner, updated_at = now()"
		" RETURNING next_offset, owner_epoch",
		4, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		char err[512];
		rc = ccs_pg_classify(s->pg, r);
		ccs_pg_errmsg(s->pg, r, err, sizeof(err));
		CCS_LOG_WARN("claiming partition failed", "topic", CCS_LOG_S(p->topic), "partition",
			     CCS_LOG_I(p->partition), "error", CCS_LOG_S(err));
		goto out;
	}
	p->next_offset = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	p->epoch = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	p->state = PART_READY;
out:
	PQclear(r);
	return rc;
}

/* Re-read a partition's position after a failure, keeping our epoch; detects fencing. */
static int part_resync(ccs_svc *s, part *p)
{
	char pbuf[16];
	int rc = CCS_PG_OK;
	snprintf(pbuf, sizeof(pbuf), "%d", p->partition);
	const char *params[3] = {s->group_id, p->topic, pbuf};
	PGresult *r = PQexecParams(s->pg,
				   "SELECT next_offset, owner_epoch FROM consumer_offsets"
				   " WHERE group_id = $1 AND topic = $2 AND partition = $3",
				   3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = ccs_pg_classify(s->pg, r);
		goto out;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		return part_claim(s, p);
	}
	p->next_offset = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	if (p->epoch == 0) {
		/* never claimed (the claim in the rebalance callback failed) */
		PQclear(r);
		return part_claim(s, p);
	}
	p->state = strtoll(PQgetvalue(r, 0, 1), NULL, 10) == p->epoch ? PART_READY : PART_FENCED;
out:
	PQclear(r);
	return rc;
}

static rd_kafka_topic_partition_list_t *parts_list(ccs_svc *s, int state)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)s->nparts + 1);
	for (size_t i = 0; i < s->nparts; i++)
		if (state < 0 || s->parts[i].state == state)
			rd_kafka_topic_partition_list_add(l, s->parts[i].topic, s->parts[i].partition);
	return l;
}

/*
 * Rebalance: on assignment, claim each partition in PostgreSQL and start it at the stored
 * offset (PostgreSQL, not Kafka's committed offset, is the source of truth). A partition whose
 * claim fails is assigned paused and re-synced by the backoff path.
 */
void ccs__svc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	ccs_svc *s = opaque;
	int failed = 0;

	s->pg_fault = 0; /* the failing partition may have moved to another instance */
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		ccs__svc_parts_clear(s);
		s->parts = ccs_xcalloc((size_t)parts->cnt + 1, sizeof(part));
		for (int i = 0; i < parts->cnt; i++) {
			part *p = &s->parts[s->nparts++];
			p->topic = ccs_xstrdup(parts->elems[i].topic);
			p->partition = parts->elems[i].partition;
			p->state = PART_PENDING;
			if (!failed && s->pg_ok && part_claim(s, p) != CCS_PG_OK)
				failed = 1;
			parts->elems[i].offset = p->state != PART_READY ? RD_KAFKA_OFFSET_INVALID
					       : p->next_offset >= 0 ? p->next_offset
								     : RD_KAFKA_OFFSET_BEGINNING;
			CCS_LOG_INFO("partition assigned", "topic", CCS_LOG_S(p->topic), "partition",
				     CCS_LOG_I(p->partition), "next_offset", CCS_LOG_I(p->next_offset),
				     "epoch", CCS_LOG_I(p->epoch));
		}
		rd_kafka_assign(rk, parts);
		s->assigned = 1;
		s->kafka_ok = 1;
		/* librdkafka keeps a partition paused by the application across a revoke and a new
		 * assign: one paused by a transient failure just before a rebalance would never be
		 * fetched again (found by the membership chaos test: ready, six partitions, no
		 * progress). What is ready is resumed explicitly. */
		rd_kafka_topic_partition_list_t *ready = parts_list(s, PART_READY);
		if (ready->cnt > 0)
			rd_kafka_resume_partitions(rk, ready);
		rd_kafka_topic_partition_list_destroy(ready);
		rd_kafka_topic_partition_list_t *pending = parts_list(s, PART_PENDING);
		if (pending->cnt > 0) {
			rd_kafka_pause_partitions(rk, pending);
			if (!s->paused)
				ccs__svc_start_backoff(s);
		}
		rd_kafka_topic_partition_list_destroy(pending);
	} else {
		CCS_LOG_INFO("partitions revoked", "count", CCS_LOG_I(parts->cnt));
		rd_kafka_assign(rk, NULL);
		ccs__svc_parts_clear(s);
		s->assigned = 0;
	}
	ccs__svc_set_ready_metric(s);
}

/* ---------------------------------------------------------------- one message */

/* Copy a header's last value as a NUL-terminated arena string, or NULL. */
static const char *header_str(rd_kafka_headers_t *h, const char *name, ccs_arena *a)
{
	const void *v;
	size_t len;
	if (!h || rd_kafka_header_get_last(h, name, &v, &len) != RD_KAFKA_RESP_ERR_NO_ERROR || !v)
		return NULL;
	return ccs_arena_strndup(a, v, len);
}

static long topic_index(const ccs_svc *s, const char *topic)
{
	for (long i = 0; s->topics[i]; i++)
		if (strcmp(s->topics[i], topic) == 0)
			return i;
	return -1;
}

/* Envelope checks the engine owns: a CloudEvents id and, when declared, the expected type. */
static int check_envelope(ccs_svc *s, const ccs_msg *m, ccs_svc_err *err)
{
	ccs_uuid u;
	if (!m->ce_id)
		return ccs_svc_poison(err, "envelope", "missing ce_id header");
	if (ccs_uuid_parse(m->ce_id, &u) != 0)
		return ccs_svc_poison(err, "envelope", "ce_id header is not a UUID");
	long ti = topic_index(s, m->topic);
	if (ti < 0)
		return ccs_svc_poison(err, "envelope", "not an input topic of this service");
	if (!m->ce_type)
		return ccs_svc_poison(err, "envelope", "missing ce_type header");
	if (strcmp(m->ce_type, s->types[ti]->name) != 0)
		return ccs_svc_poison(err, "envelope", "ce_type %.100s is not %s on this topic", m->ce_type,
				      s->types[ti]->name);
	/* ce_time is copied into every decision's header: it must be an RFC 3339 instant. */
	int64_t t;
	int32_t ns;
	if (m->ce_time && (strlen(m->ce_time) > 64 || ccs_instant_parse(m->ce_time, &t, &ns) != 0))
		return ccs_svc_poison(err, "envelope", "ce_time header is not an RFC 3339 date-time");
	if (m->len > (size_t)ccs_cfg_int(&s->cfg, "input.max.bytes"))
		return ccs_svc_poison(err, "envelope", "value of %zu bytes exceeds input.max.bytes (%ld)", m->len,
				      ccs_cfg_int(&s->cfg, "input.max.bytes"));
	return 0;
}

/*
 * Keep the original of a dead letter too large to publish whole: its bytes go to
 * dead_letter_originals in the same transaction, and *ref / *sha256 name them for the bounded
 * record. Returns 0 or a ccs_svc_pg_error() class.
 */
static int keep_original(ccs_tx *tx, rd_kafka_message_t *rkm, const ccs_hdrs *orig, char **ref,
			 char **sha256, ccs_svc_err *err)
{
	char pbuf[16], obuf[24];
	int rc = 0;
	snprintf(pbuf, sizeof(pbuf), "%d", rkm->partition);
	snprintf(obuf, sizeof(obuf), "%lld", (long long)rkm->offset);
	const char *params[6] = {rd_kafka_topic_name(rkm->rkt), pbuf, obuf, rkm->key,
				 rkm->payload ? rkm->payload : "", (const char *)orig->buf};
	int lens[6] = {0, 0, 0, (int)rkm->key_len, (int)rkm->len, (int)orig->len};
	int fmts[6] = {0, 0, 0, 1, 1, 1};
	/* A redelivery of the same offset (after a crash) finds the row already there. */
	PGresult *r = ccs_tx_query_params(
		tx,
		"INSERT INTO dead_letter_originals AS d (topic, partition, \"offset\", key, payload, headers)"
		" VALUES ($1, $2, $3, $4, $5, $6)"
		" ON CONFLICT (topic, partition, \"offset\") DO UPDATE SET payload = EXCLUDED.payload"
		" RETURNING d.id, encode(sha256(d.payload), 'hex')",
		6, params, lens, fmts, &rc, err);
	if (!r)
		goto out;
	if (PQntuples(r) != 1) {
		rc = ccs_svc_poison(err, "data", "dead_letter_originals: no row returned");
		goto out;
	}
	*ref = ccs_arena_printf(tx->arena, "dead_letter_originals/%s", PQgetvalue(r, 0, 0));
	*sha256 = ccs_arena_strndup(tx->arena, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
out:
	PQclear(r);
	return rc;
}

/*
 * Queue a dead letter: the original key, value and headers plus the context of the failure.
 * One larger than dlq.max.bytes (the broker would refuse it and jam the relay) is published
 * as a bounded record instead: no payload, the original headers only if they are small, the
 * original's size and SHA-256, and dlq_original_ref naming the row of dead_letter_originals
 * that keeps the bytes (the input topic keeps them too, until its retention).
 */
static int dead_letter(ccs_svc *s, ccs_tx *tx, rd_kafka_message_t *rkm, const ccs_svc_err *err)
{
	ccs_hdrs orig_h, h;
	rd_kafka_headers_t *orig = NULL;
	char buf[64];
	const char *name;
	const void *val;
	size_t vlen;
	int rc = 0, bounded = 0;
	const char *topic = rd_kafka_topic_name(rkm->rkt);
	const void *key = rkm->key, *payload = rkm->payload;
	size_t keylen = rkm->key_len, len = rkm->len;
	char *ref = NULL, *sha = NULL;
	ccs_svc_err e;

	ccs_hdrs_init(&orig_h, tx->arena);
	if (rd_kafka_message_headers(rkm, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR)
		for (size_t i = 0; rd_kafka_header_get_all(orig, i, &name, &val, &vlen) == 0; i++)
			ccs_hdrs_add(&orig_h, name, strlen(name), val, val ? vlen : 0);
	/* 4 KiB for our own headers and the record's framing. */
	if (rkm->key_len + rkm->len + orig_h.len + 4096 > (size_t)ccs_cfg_int(&s->cfg, "dlq.max.bytes")) {
		bounded = 1;
		if (keep_original(tx, rkm, &orig_h, &ref, &sha, &e) != 0) {
			CCS_LOG_WARN("dead letter original insert failed", "error", CCS_LOG_S(e.msg));
			return CCS_SVC_TRANSIENT;
		}
		payload = NULL;
		len = 0;
		if (keylen > 1024) {
			key = NULL;
			keylen = 0;
		}
	}
	ccs_hdrs_init(&h, tx->arena);
	if (!bounded || orig_h.len <= 16384)
		ccs_hdrs_add_blob(&h, &orig_h);
	ccs_hdrs_add_str(&h, "dlq_original_topic", topic);
	snprintf(buf, sizeof(buf), "%d", rkm->partition);
	ccs_hdrs_add_str(&h, "dlq_original_partition", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)rkm->offset);
	ccs_hdrs_add_str(&h, "dlq_original_offset", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)rd_kafka_message_timestamp(rkm, NULL));
	ccs_hdrs_add_str(&h, "dlq_original_timestamp", buf);
	ccs_hdrs_add_str(&h, "dlq_consumer_group", s->group_id);
	ccs_hdrs_add_str(&h, "dlq_service", s->def->name);
	ccs_hdrs_add_str(&h, "dlq_error_class", err->cls);
	ccs_hdrs_add_str(&h, "dlq_error_message", err->msg);
	if (bounded) {
		snprintf(buf, sizeof(buf), "%zu", rkm->len);
		ccs_hdrs_add_str(&h, "dlq_original_size", buf);
		ccs_hdrs_add_str(&h, "dlq_original_sha256", sha);
		ccs_hdrs_add_str(&h, "dlq_original_ref", ref);
		ccs_hdrs_add_str(&h, "dlq_omitted", orig_h.len <= 16384 ? "payload" : "payload,headers");
	}

	char *dlq = ccs_arena_printf(tx->arena, "%s.dlq", topic);
	if (ccs__svc_outbox_insert(tx, dlq, key, keylen, payload, len, &h, &e) != 0) {
		/* A dead letter that cannot be stored must not be dropped: retry the batch. */
		rc = CCS_SVC_TRANSIENT;
		CCS_LOG_WARN("dead letter insert failed", "error", CCS_LOG_S(e.msg));
	}
	if (rc == 0) {
		char labels[96];
		snprintf(labels, sizeof(labels), "error_class=\"%s\"", err->cls);
		ccs_metrics_inc(s->metrics, "dead_letters_total", labels, 1);
		ccs_metric_add(s->m_dead, 1);
		if (bounded)
			ccs_metrics_inc(s->metrics, "dead_letters_bounded_total", "", 1);
		CCS_LOG_MSG(CCS_LOG_WARN_L, "dead letter", topic, rkm->partition, rkm->offset, "event_id",
			    CCS_LOG_S(tx->input_id), "trace_id", CCS_LOG_S(tx->trace_id), "error_class",
			    CCS_LOG_S(err->cls), "error", CCS_LOG_S(err->msg), "bounded", CCS_LOG_I(bounded));
	}
	return rc;
}

/*
 * Decode the value as its topic's contract type. The strings are checked on the encoded bytes
 * first (UTF-8, no NUL: protobuf-c would cut "Gar\0cia" to "Gar"), so handlers see only clean
 * text. Returns the message, or NULL with a poison err naming the field.
 */
static ProtobufCMessage *decode(ccs_svc *s, const ccs_msg *m, ccs_svc_err *err)
{
	const ProtobufCMessageDescriptor *type = s->types[topic_index(s, m->topic)];
	char bad[160];

	if (ccs_pb_check_wire(type, m->value, m->len, bad, sizeof(bad)) != 0) {
		(void)ccs_svc_poison(err, "validation", "field %s", bad);
		return NULL;
	}
	ProtobufCAllocator alloc = ccs_svc_arena_allocator(&s->arena);
	ProtobufCMessage *pb = protobuf_c_message_unpack(type, &alloc, m->len, m->value ? m->value : (const uint8_t *)"");
	if (!pb)
		(void)ccs_svc_poison(err, "decode", "value is not a valid %s", type->name);
	return pb;
}

/* One input of a batch: the message as handlers see it, and what the envelope check and the
 * inbox said about it. */
typedef struct item {
	rd_kafka_message_t *rkm;
	ccs_msg m;
	int env_rc;        /* the envelope check: 0 or CCS_SVC_POISON (env_err says why) */
	ccs_svc_err env_err;
	int dup;           /* its event id was applied before (or earlier in this batch) */
	ProtobufCMessage *pb; /* decoded (batch_decode), or NULL with dec_err saying why */
	ccs_svc_err dec_err;
	const char *traceparent;
	const char *trace_id;
} item;

static void item_init(ccs_svc *s, item *it, rd_kafka_message_t *rkm)
{
	rd_kafka_headers_t *h = NULL;
	ccs_msg *m = &it->m;

	memset(it, 0, sizeof(*it));
	it->rkm = rkm;
	m->topic = rd_kafka_topic_name(rkm->rkt);
	m->partition = rkm->partition;
	m->offset = rkm->offset;
	m->timestamp_ms = rd_kafka_message_timestamp(rkm, NULL);
	m->key = rkm->key;
	m->key_len = rkm->key_len;
	m->value = rkm->payload;
	m->len = rkm->len;
	if (rd_kafka_message_headers(rkm, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		m->ce_id = header_str(h, "ce_id", &s->arena);
		m->ce_type = header_str(h, "ce_type", &s->arena);
		m->ce_time = header_str(h, "ce_time", &s->arena);
		m->correlation_id = header_str(h, "ccs_correlation_id", &s->arena);
		it->traceparent = header_str(h, "traceparent", &s->arena);
	}
	if (!m->correlation_id)
		m->correlation_id = m->ce_id;
	if (m->timestamp_ms > 0) {
		double age = (double)time(NULL) - (double)m->timestamp_ms / 1000.0;
		ccs_metric_observe(s->m_age, age > 0 ? age : 0);
	}
	it->env_rc = check_envelope(s, m, &it->env_err);
	it->trace_id = ccs__svc_trace_id(&s->arena, it->traceparent, m->correlation_id);
}

/* ---------------------------------------------------------------- batches */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define RETRY_CAREFUL 1 /* a handler failed in a batch without savepoints: run it again with them */

static const char offset_sql[] = "UPDATE consumer_offsets SET next_offset = $1, updated_at = now()"
				 " WHERE group_id = $2 AND topic = $3 AND partition = $4 AND owner_epoch = $5";
static const char inbox_sql[] = "INSERT INTO inbox (event_id, topic, partition, \"offset\")"
				" SELECT * FROM unnest($1::text[], $2::text[], $3::int4[], $4::int8[])"
				" ON CONFLICT DO NOTHING RETURNING event_id";

/*
 * First round trip of a batch, one pipeline: BEGIN; move the partition's offset past the batch
 * with a compare-and-set on our owner epoch (0 rows: another instance owns it); insert every
 * well-formed event id into the inbox at once. Ids the inbox did not return were applied
 * before: those items, and repeats within the batch, are duplicates. Returns 0, 1 when fenced,
 * or CCS_SVC_TRANSIENT.
 */
static int batch_open(ccs_svc *s, part *p, item *its, size_t n, int64_t next, ccs_svc_err *err)
{
	char obuf[24], pbuf[16], ebuf[24];
	pgarr a[4];
	static const uint32_t oids[4] = {PGARR_TEXT, PGARR_TEXT, PGARR_INT4, PGARR_INT8};
	const char *ivals[4];
	int ilens[4], rc = 0;
	static const int bin[4] = {1, 1, 1, 1};
	PGresult *res[3];
	size_t ni = 0;

	snprintf(obuf, sizeof(obuf), "%lld", (long long)next);
	snprintf(pbuf, sizeof(pbuf), "%d", p->partition);
	snprintf(ebuf, sizeof(ebuf), "%lld", (long long)p->epoch);
	const char *ovals[5] = {obuf, s->group_id, p->topic, pbuf, ebuf};
	for (int k = 0; k < 4; k++)
		ccs__pgarr_init(&a[k], &s->arena, oids[k]);
	for (size_t i = 0; i < n; i++) {
		if (its[i].env_rc)
			continue;
		ccs__pgarr_add(&a[0], its[i].m.ce_id, (int32_t)strlen(its[i].m.ce_id));
		ccs__pgarr_add(&a[1], its[i].m.topic, (int32_t)strlen(its[i].m.topic));
		ccs__pgarr_add_int(&a[2], its[i].m.partition, 4);
		ccs__pgarr_add_int(&a[3], its[i].m.offset, 8);
		ni++;
	}
	for (int k = 0; k < 4; k++) {
		ccs__pgarr_finish(&a[k]);
		ivals[k] = (const char *)a[k].buf;
		ilens[k] = (int)a[k].len;
	}
	const pq_step steps[3] = {
		{"BEGIN", -1, NULL, NULL, NULL},
		{offset_sql, 5, ovals, NULL, NULL},
		{inbox_sql, 4, ivals, ilens, bin},
	};
	size_t nsteps = ni ? 3 : 2;
	if (ccs__svc_pipeline(s, steps, nsteps, res) != 0) {
		for (size_t k = 0; k < nsteps; k++)
			if (res[k] && PQresultStatus(res[k]) != PGRES_PIPELINE_ABORTED &&
			    PQresultStatus(res[k]) != PGRES_COMMAND_OK && PQresultStatus(res[k]) != PGRES_TUPLES_OK) {
				(void)ccs_svc_pg_error(s->pg, res[k], err);
				break;
			}
		if (!err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "pipeline failed: %s", PQerrorMessage(s->pg));
		ccs__svc_config_fault(s, err);
		rc = CCS_SVC_TRANSIENT;
		goto out;
	}
	if (strtol(PQcmdTuples(res[1]), NULL, 10) != 1) {
		rc = 1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		its[i].dup = !its[i].env_rc;
	/* Returned ids are new; each marks its first occurrence in the batch as new. */
	for (int r = 0; ni && r < PQntuples(res[2]); r++) {
		const char *id = PQgetvalue(res[2], r, 0);
		for (size_t i = 0; i < n; i++)
			if (its[i].dup && !its[i].env_rc && strcmp(its[i].m.ce_id, id) == 0) {
				its[i].dup = 0;
				break;
			}
	}
out:
	for (size_t k = 0; k < nsteps; k++)
		PQclear(res[k]);
	return rc;
}

/* Last round trip of a batch, one pipeline: the buffered outbox rows and COMMIT. */
static int batch_commit(ccs_svc *s, ccs_svc_err *err)
{
	const char *vals[4];
	int lens[4], rc = 0;
	static const int bin[4] = {1, 1, 1, 1};
	PGresult *res[2] = {NULL, NULL};
	pq_step steps[2];
	size_t n = 0;

	if (s->nob) {
		ccs__svc_outbox_params(s, vals, lens);
		steps[n++] = (pq_step){ccs__svc_outbox_sql, 4, vals, lens, bin};
	}
	steps[n++] = (pq_step){"COMMIT", -1, NULL, NULL, NULL};
	if (ccs__svc_pipeline(s, steps, n, res) != 0 || strcmp(PQcmdStatus(res[n - 1]), "COMMIT") != 0) {
		for (size_t k = 0; k < n; k++)
			if (res[k] && PQresultStatus(res[k]) == PGRES_FATAL_ERROR) {
				(void)ccs_svc_pg_error(s->pg, res[k], err);
				break;
			}
		if (!err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "commit failed: %s", PQerrorMessage(s->pg));
		ccs__svc_config_fault(s, err);
		rc = CCS_SVC_TRANSIENT;
	}
	for (size_t k = 0; k < n; k++)
		PQclear(res[k]);
	s->nob = 0;
	return rc;
}

/* Decode every message the handlers will see (the envelope passed, not a duplicate). */
static void batch_decode(ccs_svc *s, item *its, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		item *it = &its[i];
		it->pb = NULL;
		memset(&it->dec_err, 0, sizeof(it->dec_err));
		if (!it->env_rc && !it->dup)
			it->pb = decode(s, &it->m, &it->dec_err);
	}
}

/*
 * The first phase of two-phase inputs: each input with a `prepare` sees its decoded messages of
 * the batch at once and keeps its state in states[topic index]. 0, or a CCS_SVC_* code.
 */
static int batch_prepare(ccs_svc *s, item *its, size_t n, void **states, ccs_svc_err *err)
{
	const ccs_svc_input *in = s->def->inputs;
	for (size_t t = 0; in[t].topic; t++) {
		if (!in[t].prepare)
			continue;
		size_t k = 0;
		const ccs_msg **msgs = ccs_arena_alloc(&s->arena, (n ? n : 1) * sizeof(*msgs));
		ProtobufCMessage **pbs = ccs_arena_alloc(&s->arena, (n ? n : 1) * sizeof(*pbs));
		for (size_t i = 0; i < n; i++)
			if (its[i].pb && topic_index(s, its[i].m.topic) == (long)t) {
				msgs[k] = &its[i].m;
				pbs[k++] = its[i].pb;
			}
		if (!k)
			continue;
		ccs_svc_batch b = {k, msgs, pbs};
		ccs_tx tx = {s, s->pg, &s->arena, NULL, NULL, NULL, NULL, NULL};
		int rc = in[t].prepare(s, s->def->ctx, &tx, &b, &states[t], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The second phase: each prepared input writes what its handlers buffered. */
static int batch_finish(ccs_svc *s, void **states, ccs_svc_err *err)
{
	const ccs_svc_input *in = s->def->inputs;
	for (size_t t = 0; in[t].topic; t++) {
		if (!in[t].finish || !states[t])
			continue;
		ccs_tx tx = {s, s->pg, &s->arena, NULL, NULL, NULL, NULL, states[t]};
		int rc = in[t].finish(s, s->def->ctx, &tx, states[t], err);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Apply the items of one batch inside its transaction. Without `careful`, no savepoints: a
 * message the handler refuses (its writes may be half done) sends the whole batch back as
 * RETRY_CAREFUL, to be run again with a savepoint per message so that the poison costs only
 * itself. Envelope and decode failures need no savepoint: nothing was written for them yet.
 */
static int batch_apply(ccs_svc *s, item *its, size_t n, int careful, void **states, size_t *applied,
		       ccs_svc_err *err)
{
	int rc = 0;

	batch_decode(s, its, n);
	if (!careful && (rc = batch_prepare(s, its, n, states, err)) != 0)
		return rc == CCS_SVC_TRANSIENT ? rc : RETRY_CAREFUL;
	for (size_t i = 0; i < n; i++) {
		item *it = &its[i];
		ccs_tx tx = {s, s->pg, &s->arena, it->m.ce_id, NULL, it->m.correlation_id, it->trace_id, NULL};
		ccs_svc_err e = {{0}, {0}};

		if (i)
			CCS_FAILPOINT("batch.between_messages");
		if (it->env_rc) {
			if ((rc = dead_letter(s, &tx, it->rkm, &it->env_err)) != 0)
				return rc;
			continue;
		}
		if (it->dup) {
			ccs_metric_add(s->m_duplicate, 1);
			CCS_LOG_MSG(CCS_LOG_INFO_L, "duplicate event skipped", it->m.topic, it->m.partition,
				    it->m.offset, "event_id", CCS_LOG_S(it->m.ce_id), "trace_id", CCS_LOG_S(it->trace_id));
			continue;
		}
		tx.input_time = it->m.ce_time ? it->m.ce_time : "1970-01-01T00:00:00Z";
		ProtobufCMessage *pb = it->pb;
		if (!pb) {
			if ((rc = dead_letter(s, &tx, it->rkm, &it->dec_err)) != 0)
				return rc;
			continue;
		}
		size_t mark = s->nob;
		if (careful && (rc = ccs__svc_savepoint(s, "SAVEPOINT msg", err)) != 0)
			return rc;
		long t = topic_index(s, it->m.topic);
		tx.batch_state = states[t];
		rc = s->def->inputs[t].handle(s, s->def->ctx, &tx, &it->m, pb, &e);
		/* In careful mode the message's queued writes are checked before its RELEASE, so a
		 * failing one is charged to the message that wrote it. */
		if (rc == 0 && careful)
			rc = ccs__svc_flush(s, &e);
		if (rc && s->pend_failed)
			e = s->pend_err; /* the first error, not "transaction is aborted" after it */
		if (rc == CCS_SVC_TRANSIENT) {
			CCS_LOG_MSG(CCS_LOG_WARN_L, "transient failure", it->m.topic, it->m.partition, it->m.offset,
				    "trace_id", CCS_LOG_S(it->trace_id), "error", CCS_LOG_S(e.msg));
			ccs__svc_config_fault(s, &e);
			*err = e;
			return rc;
		}
		if (rc == 0) {
			ccs_metric_add(s->m_processed, 1);
			(*applied)++;
			if (careful && (rc = ccs__svc_savepoint(s, "RELEASE SAVEPOINT msg", err)) != 0)
				return rc;
			continue;
		}
		if (!careful)
			return RETRY_CAREFUL;
		if (!e.cls[0])
			snprintf(e.cls, sizeof(e.cls), "handler");
		if ((rc = ccs__svc_savepoint(s, "ROLLBACK TO SAVEPOINT msg", err)) != 0)
			return rc;
		s->nob = mark; /* the refused message's outbox rows go with its writes */
		if ((rc = dead_letter(s, &tx, it->rkm, &e)) != 0 ||
		    (rc = ccs__svc_savepoint(s, "RELEASE SAVEPOINT msg", err)) != 0)
			return rc;
	}
	return 0;
}

/* After a deadlock or a serialization failure (SQLSTATE class 40), smaller transactions. */
static void shrink_on_conflict(ccs_svc *s, const ccs_svc_err *err)
{
	if (strncmp(err->msg, "40", 2) != 0)
		return;
	s->chunk_max = s->chunk_max > 4 ? s->chunk_max / 4 : 1;
	ccs_metrics_inc(s->metrics, "conflict_retries_total", "", 1);
}

/* Pause a partition another instance took over: it writes nothing until the next rebalance. */
static void part_fence(ccs_svc *s, part *p)
{
	CCS_LOG_WARN("fenced: partition owned by another instance", "topic", CCS_LOG_S(p->topic), "partition",
		     CCS_LOG_I(p->partition), "epoch", CCS_LOG_I(p->epoch));
	ccs_metric_add(s->m_fenced, 1);
	p->state = PART_FENCED;
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
	rd_kafka_pause_partitions(s->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/*
 * One transaction for the messages of one partition, in as few round trips as the handlers
 * allow: [BEGIN, offset compare-and-set, inbox] as one pipeline, the handlers' own statements
 * (prepared), [outbox rows, COMMIT] as one pipeline. Returns 0, or CCS_SVC_TRANSIENT after
 * rolling back (the caller pauses and backs off).
 */
static int process_chunk(ccs_svc *s, part *p, rd_kafka_message_t **msgs, size_t n)
{
	ccs_svc_err err = {{0}, {0}};
	int rc = 0;
	double t0 = now_seconds();
	size_t k = 0, applied = 0;
	item *its = ccs_arena_alloc(&s->arena, (n ? n : 1) * sizeof(*its));

	for (size_t i = 0; i < n; i++) {
		if (msgs[i]->offset < p->next_offset) {
			ccs_metric_add(s->m_stale, 1);
			continue;
		}
		item_init(s, &its[k++], msgs[i]);
	}
	if (!k)
		return 0;
	int64_t next = its[k - 1].m.offset + 1;
	size_t ninputs = 0;
	while (s->def->inputs[ninputs].topic)
		ninputs++;
	void **states = ccs_arena_alloc(&s->arena, (ninputs + 1) * sizeof(*states));
	for (int careful = 0; careful < 2; careful++) {
		s->nob = 0;
		applied = 0;
		memset(states, 0, (ninputs + 1) * sizeof(*states));
		rc = batch_open(s, p, its, k, next, &err);
		if (rc == 1) {
			part_fence(s, p);
			rc = 0;
			goto rollback;
		}
		if (rc == 0)
			rc = batch_apply(s, its, k, careful, states, &applied, &err);
		if (rc == 0 && !careful && (rc = batch_finish(s, states, &err)) != 0 && rc != CCS_SVC_TRANSIENT)
			rc = RETRY_CAREFUL;
		/* Queued writes of the last messages: a failure that is not transient belongs to one
		 * message, which the careful run finds. */
		if (rc == 0 && ccs__svc_flush(s, &err) != 0)
			rc = ccs__svc_err_rc(&err) == CCS_SVC_TRANSIENT || careful ? CCS_SVC_TRANSIENT : RETRY_CAREFUL;
		if (rc != RETRY_CAREFUL)
			break;
		ccs_metrics_inc(s->metrics, "batches_retried_total", "", 1);
		if (ccs__svc_exec_simple(s, "ROLLBACK") != CCS_PG_OK) {
			rc = CCS_SVC_TRANSIENT;
			goto rollback;
		}
	}
	if (rc)
		goto rollback;
	CCS_FAILPOINT("batch.before_commit");
	if ((rc = batch_commit(s, &err)) != 0) {
		/* Unknown outcome: the position in PostgreSQL tells after reconnecting. */
		ccs_metric_add(s->m_rollback, 1);
		shrink_on_conflict(s, &err);
		return rc;
	}
	CCS_FAILPOINT("batch.after_commit");
	s->pg_fault = 0; /* whatever was missing is back */
	if (s->chunk_max < (size_t)ccs_cfg_int(&s->cfg, "batch.max"))
		s->chunk_max *= 2;
	p->next_offset = next;
	ccs_metric_add(s->m_commit, 1);
	ccs_metric_observe(s->m_batch, (double)applied);
	ccs_metric_observe(s->m_txtime, now_seconds() - t0);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = next;
	rd_kafka_offsets_store(s->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	s->commit_pending = 1;
	return 0;
rollback:
	s->nob = 0;
	if (err.msg[0])
		CCS_LOG_WARN("batch rolled back", "topic", CCS_LOG_S(p->topic), "partition", CCS_LOG_I(p->partition),
			     "error_class", CCS_LOG_S(err.cls), "error", CCS_LOG_S(err.msg));
	ccs__svc_config_fault(s, &err); /* a queued write may have met it (at finish or the last flush) */
	if (PQtransactionStatus(s->pg) != PQTRANS_IDLE && ccs__svc_exec_simple(s, "ROLLBACK") != CCS_PG_OK)
		rc = CCS_SVC_TRANSIENT;
	ccs_metric_add(s->m_rollback, 1);
	shrink_on_conflict(s, &err);
	return rc;
}

/*
 * One partition's messages, in transactions of at most chunk_max messages each. Instances of a
 * daemon that touch the same rows (one MTU's calendar, one case) can deadlock with each other;
 * a deadlock or serialization failure rolls the whole transaction back, and the same large
 * batches retried together would deadlock again and again. So after such a failure the next
 * transactions are a quarter of the size (down to one message), and each commit doubles the
 * size again up to batch.max.
 */
static int process_partition(ccs_svc *s, part *p, rd_kafka_message_t **msgs, size_t n)
{
	size_t max = (size_t)ccs_cfg_int(&s->cfg, "batch.max");
	if (s->chunk_max == 0 || s->chunk_max > max)
		s->chunk_max = max;
	for (size_t at = 0; at < n;) {
		size_t k = n - at < s->chunk_max ? n - at : s->chunk_max;
		int rc = process_chunk(s, p, msgs + at, k);
		if (rc || p->state != PART_READY)
			return rc;
		at += k;
	}
	return 0;
}

/*
 * Note a configuration fault (err->cls "config", from ccs_svc_pg_error): the batch is retried
 * like any transient failure, but readiness stays down until a batch commits, and the first
 * occurrence is logged as an error: an operator has to grant or migrate.
 */
/*
 * Poll what the consumer has ready (without blocking), up to batch.max messages, and process
 * them partition by partition. Runs from the io-event bridge and the safety poll timer.
 */
void ccs__svc_consume(ccs_svc *s)
{
	size_t max = (size_t)ccs_cfg_int(&s->cfg, "batch.max"), n = 0;
	int again = 0;

	if (s->draining || !s->consumer)
		return;
	while (n < max) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 0);
		if (!m)
			break;
		if (m->err) {
			if (m->err == RD_KAFKA_RESP_ERR__FATAL)
				s->consumer_fatal = 1;
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				CCS_LOG_WARN("consumer error", "error", CCS_LOG_S(rd_kafka_message_errstr(m)));
			rd_kafka_message_destroy(m);
			if (s->consumer_fatal)
				break;
			continue;
		}
		s->kafka_ok = 1;
		s->batch[n++] = m;
	}
	if (s->consumer_fatal) {
		/* What a fenced consumer fetched is dropped unprocessed: the new consumer re-reads
		 * it from PostgreSQL's offsets. */
		for (size_t i = 0; i < n; i++)
			rd_kafka_message_destroy(s->batch[i]);
		ccs__svc_consumer_check(s);
		return;
	}
	again = n == max;
	/* Group by partition, keeping each partition's order. */
	for (size_t i = 0; i < n && !s->paused; i++) {
		if (!s->batch[i])
			continue;
		const char *topic = rd_kafka_topic_name(s->batch[i]->rkt);
		int32_t partition = s->batch[i]->partition;
		part *p = ccs__svc_part_find(s, topic, partition);
		size_t k = 0;
		rd_kafka_message_t **group = ccs_arena_alloc(&s->arena, (n - i) * sizeof(*group));
		for (size_t j = i; j < n; j++) {
			if (s->batch[j] && s->batch[j]->partition == partition &&
			    strcmp(rd_kafka_topic_name(s->batch[j]->rkt), topic) == 0) {
				group[k++] = s->batch[j];
				s->batch[j] = NULL;
			}
		}
		if (p && p->state == PART_READY && process_partition(s, p, group, k) != 0)
			ccs__svc_go_transient(s, "batch rolled back");
		for (size_t j = 0; j < k; j++)
			rd_kafka_message_destroy(group[j]);
	}
	for (size_t i = 0; i < n; i++)
		if (s->batch[i])
			rd_kafka_message_destroy(s->batch[i]);
	ccs_arena_reset(&s->arena);
	ccs__svc_set_ready_metric(s);
	ccs__svc_commit_offsets(s, 0);
	ccs__svc_committed(s);
	if (again && !s->paused)
		ccs__svc_poll_soon(s);
}

/* ---------------------------------------------------------------- recovery (for the hub) */

/* After a transient failure: every processing partition waits to be re-read from PostgreSQL. */
void ccs__svc_parts_pause(ccs_svc *s)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i].state == PART_READY)
			s->parts[i].state = PART_PENDING;
	rd_kafka_topic_partition_list_t *l = parts_list(s, -1);
	if (l->cnt)
		rd_kafka_pause_partitions(s->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
}

/* Re-read the waiting partitions' positions from PostgreSQL, seek and resume them. 0, or -1
 * (PostgreSQL or the seek failed: the hub backs off again). */
int ccs__svc_parts_resume(ccs_svc *s)
{
	rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new((int)s->nparts + 1);
	int rc = 0;
	for (size_t i = 0; i < s->nparts; i++) {
		part *p = &s->parts[i];
		if (p->state != PART_PENDING)
			continue;
		if (part_resync(s, p) != CCS_PG_OK) {
			rc = -1;
			goto out;
		}
		if (p->state == PART_READY)
			rd_kafka_topic_partition_list_add(seek, p->topic, p->partition)->offset =
				p->next_offset >= 0 ? p->next_offset : RD_KAFKA_OFFSET_BEGINNING;
	}
	if (seek->cnt) {
		rd_kafka_error_t *e = rd_kafka_seek_partitions(s->consumer, seek, 5000);
		if (e) {
			CCS_LOG_WARN("seek failed, retrying", "error", CCS_LOG_S(rd_kafka_error_string(e)));
			rd_kafka_error_destroy(e);
			for (int i = 0; i < seek->cnt; i++) {
				part *p = ccs__svc_part_find(s, seek->elems[i].topic, seek->elems[i].partition);
				if (p)
					p->state = PART_PENDING;
			}
			ccs_metric_add(s->m_transient_kafka, 1);
			rc = -1;
			goto out;
		}
		rd_kafka_resume_partitions(s->consumer, seek);
	}
out:
	rd_kafka_topic_partition_list_destroy(seek);
	return rc;
}
