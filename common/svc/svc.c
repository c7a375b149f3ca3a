/*
 * The service engine (see ccs/svc.h for the processing model).
 *
 * Threading: one libuv loop thread does everything; PostgreSQL calls block it briefly. That
 * keeps the transaction, the consumer position and the relay strictly ordered without locks,
 * and a batch's work is done by the time any other callback runs.
 *
 * Partition state: each assigned partition has the next offset and owner epoch read from
 * PostgreSQL in the rebalance callback. A partition is READY (its messages are processed),
 * PENDING (its position must be re-read from PostgreSQL after a failure: paused until then) or
 * FENCED (another instance took it over: paused until the next rebalance).
 *
 * Drain order on SIGTERM/SIGINT (fixed, written down): stop consuming and timers; close the
 * consumer (revokes the assignment); flush the relay until the outbox is empty or
 * drain.timeout.ms passes; destroy producer; close the database; close handles; exit 0. A second
 * signal during the drain terminates at once (the default disposition is back in place).
 */
#include "ccs/svc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "ccs/http.h"
#include "ccs/log.h"
#include "ccs/hdrs.h"

extern const ccs_migration ccs_runtime_migrations[];

enum { PART_READY, PART_PENDING, PART_FENCED };

typedef struct part {
	char *topic;
	int32_t partition;
	int64_t next_offset; /* -2: nothing processed yet, start at the beginning */
	int64_t epoch;
	int state;
} part;

struct ccs_tx {
	ccs_svc *svc;
	PGconn *pg;
	ccs_arena *arena;
	const char *input_id;
	const char *input_time;
	const char *correlation_id;
};

struct ccs_svc {
	const ccs_svc_def *def;
	ccs_cfg cfg;
	uv_loop_t *loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t poll_timer, relay_timer, dr_timer, due_timer, backoff_timer, stats_timer;
	uv_poll_t kq_poll;
	int kq_pipe[2];
	ccs_http http;
	rd_kafka_t *consumer, *producer;
	rd_kafka_queue_t *cq;
	PGconn *pg;
	ccs_metrics *metrics;
	ccs_arena arena;
	part *parts;
	size_t nparts;
	rd_kafka_message_t **batch;
	char group_id[256];
	char instance_id[256];
	char source[128];
	const char *prefix;  /* topics.prefix, prepended to every topic name */
	char **topics;       /* input topics with the prefix, NULL-terminated */
	/* relay */
	int relay_leader;
	size_t inflight;
	int64_t *delivered;
	size_t ndelivered, delivered_cap;
	size_t relay_failed;
	int relay_full;
	/* state */
	int pg_ok, kafka_ok, assigned, paused, draining;
	long backoff_ms;
	ccs_date today_override;
	/* metrics */
	ccs_metric *m_processed, *m_duplicate, *m_stale, *m_dead, *m_commit, *m_rollback, *m_fenced;
	ccs_metric *m_published, *m_pub_err, *m_backlog, *m_backlog_age, *m_batch, *m_txtime;
	ccs_metric *m_age, *m_ready, *m_transient_pg, *m_transient_kafka, *m_assigned;
};

/* ---------------------------------------------------------------- errors and helpers */

int ccs_svc_poison(ccs_svc_err *err, const char *cls, const char *fmt, ...)
{
	va_list ap;
	snprintf(err->cls, sizeof(err->cls), "%s", cls);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return CCS_SVC_POISON;
}

int ccs_svc_pg_error(PGconn *c, const PGresult *r, ccs_svc_err *err)
{
	ccs_pg_errmsg(c, r, err->msg, sizeof(err->msg));
	if (ccs_pg_classify(c, r) == CCS_PG_TRANSIENT) {
		snprintf(err->cls, sizeof(err->cls), "transient");
		return CCS_SVC_TRANSIENT;
	}
	snprintf(err->cls, sizeof(err->cls), "data");
	return CCS_SVC_POISON;
}

const ccs_cfg *ccs_svc_cfg(const ccs_svc *svc)
{
	return &svc->cfg;
}

ccs_metrics *ccs_svc_metrics(ccs_svc *svc)
{
	return svc->metrics;
}

PGconn *ccs_svc_conn(ccs_svc *svc)
{
	return svc->pg;
}

ccs_date ccs_svc_today(const ccs_svc *svc)
{
	return svc->today_override != CCS_DATE_INVALID ? svc->today_override : ccs_date_today();
}

static void *pb_arena_alloc(void *data, size_t size)
{
	return ccs_arena_alloc(data, size);
}

static void pb_arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* released with the arena */
}

ProtobufCAllocator ccs_svc_arena_allocator(ccs_arena *a)
{
	ProtobufCAllocator alloc = {pb_arena_alloc, pb_arena_free, a};
	return alloc;
}

PGconn *ccs_tx_conn(ccs_tx *tx)
{
	return tx->pg;
}

ccs_arena *ccs_tx_arena(ccs_tx *tx)
{
	return tx->arena;
}

const char *ccs_tx_input_id(ccs_tx *tx)
{
	return tx->input_id;
}

const char *ccs_tx_input_time(ccs_tx *tx)
{
	return tx->input_time;
}

void ccs_tx_decision_id(ccs_tx *tx, const char *kind, char out[CCS_UUID_STRLEN])
{
	ccs_uuid_decision_id(out, tx->input_id, kind);
}

PGresult *ccs_tx_query(ccs_tx *tx, const char *sql, int nparams, const char *const *params,
		       int *rc, ccs_svc_err *err)
{
	PGresult *r = PQexecParams(tx->pg, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*rc = 0;
		return r;
	}
	*rc = ccs_svc_pg_error(tx->pg, r, err);
	PQclear(r);
	return NULL;
}

void ccs_tx_count_decision(ccs_tx *tx, const char *kind, const char *outcome)
{
	char labels[256];
	snprintf(labels, sizeof(labels), "kind=\"%s\",outcome=\"%s\"", kind, outcome);
	ccs_metrics_inc(tx->svc->metrics, "decisions_total", labels, 1);
}

/* Run a command on the engine's connection; CCS_PG_* code. */
static int exec_simple(ccs_svc *s, const char *sql)
{
	char err[512];
	int rc = ccs_pg_exec(s->pg, sql, err, sizeof(err));
	if (rc)
		CCS_LOG_WARN("statement failed", "sql", CCS_LOG_S(sql), "error", CCS_LOG_S(err));
	return rc;
}

/* ---------------------------------------------------------------- emit */

int ccs_tx_emit(ccs_tx *tx, const char *topic, const char *key, const char *kind,
		const ProtobufCMessage *msg)
{
	return ccs_tx_emit_tagged(tx, topic, key, kind, msg, NULL);
}

int ccs_tx_emit_tagged(ccs_tx *tx, const char *topic, const char *key, const char *kind,
		       const ProtobufCMessage *msg, const char *const *tags)
{
	ccs_svc *s = tx->svc;
	char id[CCS_UUID_STRLEN];
	ccs_hdrs h;
	int rc = 0;

	ccs_tx_decision_id(tx, kind, id);
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *payload = ccs_arena_alloc(tx->arena, len ? len : 1);
	protobuf_c_message_pack(msg, payload);

	ccs_hdrs_init(&h, tx->arena);
	ccs_hdrs_add_str(&h, "ce_id", id);
	ccs_hdrs_add_str(&h, "ce_source", s->source);
	ccs_hdrs_add_str(&h, "ce_type", msg->descriptor->name);
	ccs_hdrs_add_str(&h, "ce_specversion", "1.0");
	ccs_hdrs_add_str(&h, "ce_time", tx->input_time);
	ccs_hdrs_add_str(&h, "content-type", "application/protobuf");
	ccs_hdrs_add_str(&h, "ccs_correlation_id", tx->correlation_id ? tx->correlation_id : tx->input_id);
	ccs_hdrs_add_str(&h, "ccs_causation_id", tx->input_id);
	ccs_hdrs_add_str(&h, "ccs_decision_kind", kind);
	for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2)
		ccs_hdrs_add_str(&h, tags[i], tags[i + 1]);

	const char *full = *s->prefix ? ccs_arena_printf(tx->arena, "%s%s", s->prefix, topic) : topic;
	const char *params[4] = {full, key, (const char *)payload, (const char *)h.buf};
	int lens[4] = {0, key ? (int)strlen(key) : 0, (int)len, (int)h.len};
	int fmts[4] = {0, 1, 1, 1};
	PGresult *r = PQexecParams(tx->pg,
				   "INSERT INTO outbox(topic, key, payload, headers) VALUES ($1, $2, $3, $4)",
				   4, NULL, params, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ccs_svc_err e;
		rc = ccs_svc_pg_error(tx->pg, r, &e);
		CCS_LOG_WARN("outbox insert failed", "error", CCS_LOG_S(e.msg));
	}
	PQclear(r);
	return rc;
}

int ccs_tx_schedule(ccs_tx *tx, const char *kind, const char *subject, ccs_date due,
		    const char *payload)
{
	char d[11];
	ccs_svc_err e;
	int rc;
	ccs_date_format(due, d);
	const char *p[6] = {kind, subject, d, payload, tx->input_id, tx->correlation_id};
	PGresult *r = ccs_tx_query(tx,
				   "INSERT INTO due_work(kind, subject, due_date, payload, source_event_id,"
				   " correlation_id) VALUES ($1, $2, $3, $4, $5, $6)"
				   " ON CONFLICT (kind, subject, due_date) DO NOTHING",
				   6, p, &rc, &e);
	if (r)
		PQclear(r);
	else
		CCS_LOG_WARN("due work insert failed", "error", CCS_LOG_S(e.msg));
	return rc;
}

int ccs_tx_unschedule(ccs_tx *tx, const char *kind, const char *subject)
{
	ccs_svc_err e;
	int rc;
	const char *p[2] = {kind, subject};
	PGresult *r = ccs_tx_query(tx, "DELETE FROM due_work WHERE kind = $1 AND subject = $2", 2, p,
				   &rc, &e);
	if (r)
		PQclear(r);
	return rc;
}

/* ---------------------------------------------------------------- partitions */

static part *part_find(ccs_svc *s, const char *topic, int32_t partition)
{
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i].partition == partition && strcmp(s->parts[i].topic, topic) == 0)
			return &s->parts[i];
	return NULL;
}

static void parts_clear(ccs_svc *s)
{
	for (size_t i = 0; i < s->nparts; i++)
		free(s->parts[i].topic);
	free(s->parts);
	s->parts = NULL;
	s->nparts = 0;
}

static size_t parts_fenced(const ccs_svc *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nparts; i++)
		n += s->parts[i].state == PART_FENCED;
	return n;
}

/* Ready: both servers reachable, partitions assigned, processing, and none of them fenced. */
static int is_ready(const ccs_svc *s)
{
	return s->pg_ok && s->kafka_ok && s->assigned && !s->paused && !s->draining && parts_fenced(s) == 0;
}

static void set_ready_metric(ccs_svc *s)
{
	ccs_metric_set(s->m_ready, is_ready(s) ? 1 : 0);
	ccs_metric_set(s->m_assigned, (double)s->nparts);
}

static void start_backoff(ccs_svc *s);

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
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque)
{
	ccs_svc *s = opaque;
	int failed = 0;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		parts_clear(s);
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
		rd_kafka_topic_partition_list_t *pending = parts_list(s, PART_PENDING);
		if (pending->cnt > 0) {
			rd_kafka_pause_partitions(rk, pending);
			if (!s->paused)
				start_backoff(s);
		}
		rd_kafka_topic_partition_list_destroy(pending);
	} else {
		CCS_LOG_INFO("partitions revoked", "count", CCS_LOG_I(parts->cnt));
		rd_kafka_assign(rk, NULL);
		parts_clear(s);
		s->assigned = 0;
	}
	set_ready_metric(s);
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
	if (ti >= 0 && s->def->expected_types && s->def->expected_types[ti]) {
		if (!m->ce_type)
			return ccs_svc_poison(err, "envelope", "missing ce_type header");
		if (strcmp(m->ce_type, s->def->expected_types[ti]) != 0)
			return ccs_svc_poison(err, "envelope", "ce_type %.100s is not %s on this topic",
					      m->ce_type, s->def->expected_types[ti]);
	}
	if (m->ce_time && strlen(m->ce_time) > 64)
		return ccs_svc_poison(err, "envelope", "ce_time header too long");
	return 0;
}

/* Queue a dead letter: the original key, value and headers plus the context of the failure. */
static int dead_letter(ccs_svc *s, ccs_tx *tx, rd_kafka_message_t *rkm, const ccs_svc_err *err)
{
	ccs_hdrs h;
	rd_kafka_headers_t *orig = NULL;
	char buf[64];
	const char *name;
	const void *val;
	size_t vlen;
	int rc = 0;
	const char *topic = rd_kafka_topic_name(rkm->rkt);

	ccs_hdrs_init(&h, tx->arena);
	if (rd_kafka_message_headers(rkm, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR)
		for (size_t i = 0; rd_kafka_header_get_all(orig, i, &name, &val, &vlen) == 0; i++)
			ccs_hdrs_add(&h, name, strlen(name), val, val ? vlen : 0);
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

	char *dlq = ccs_arena_printf(tx->arena, "%s.dlq", topic);
	const char *params[4] = {dlq, rkm->key, rkm->payload ? rkm->payload : "", (const char *)h.buf};
	int lens[4] = {0, (int)rkm->key_len, (int)rkm->len, (int)h.len};
	int fmts[4] = {0, 1, 1, 1};
	PGresult *r = PQexecParams(tx->pg,
				   "INSERT INTO outbox(topic, key, payload, headers) VALUES ($1, $2, $3, $4)",
				   4, NULL, params, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		ccs_svc_err e;
		rc = ccs_svc_pg_error(tx->pg, r, &e);
		/* A dead letter that cannot be stored must not be dropped: retry the batch. */
		rc = CCS_SVC_TRANSIENT;
		CCS_LOG_WARN("dead letter insert failed", "error", CCS_LOG_S(e.msg));
	}
	PQclear(r);
	if (rc == 0) {
		char labels[96];
		snprintf(labels, sizeof(labels), "error_class=\"%s\"", err->cls);
		ccs_metrics_inc(s->metrics, "dead_letters_total", labels, 1);
		ccs_metric_add(s->m_dead, 1);
		CCS_LOG_MSG(CCS_LOG_WARN_L, "dead letter", topic, rkm->partition, rkm->offset, "error_class",
			    CCS_LOG_S(err->cls), "error", CCS_LOG_S(err->msg));
	}
	return rc;
}

/*
 * A savepoint per message lets one poison message roll back alone. Savepoint commands fail
 * only when the connection or the transaction is broken, so a failure is always transient.
 */
static int savepoint(ccs_svc *s, const char *sql, ccs_svc_err *err)
{
	PGresult *r = PQexec(s->pg, sql);
	int rc = 0;
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		(void)ccs_svc_pg_error(s->pg, r, err);
		rc = CCS_SVC_TRANSIENT;
	}
	PQclear(r);
	return rc;
}

/*
 * Apply one message inside the batch transaction. Returns 0 (applied, skipped as duplicate, or
 * dead-lettered) or CCS_SVC_TRANSIENT.
 */
static int apply_one(ccs_svc *s, rd_kafka_message_t *rkm)
{
	ccs_svc_err err = {{0}, {0}};
	rd_kafka_headers_t *h = NULL;
	ccs_msg m;
	ccs_tx tx = {s, s->pg, &s->arena, NULL, NULL, NULL};
	int rc;

	memset(&m, 0, sizeof(m));
	m.topic = rd_kafka_topic_name(rkm->rkt);
	m.partition = rkm->partition;
	m.offset = rkm->offset;
	m.timestamp_ms = rd_kafka_message_timestamp(rkm, NULL);
	m.key = rkm->key;
	m.key_len = rkm->key_len;
	m.value = rkm->payload;
	m.len = rkm->len;
	if (rd_kafka_message_headers(rkm, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		m.ce_id = header_str(h, "ce_id", &s->arena);
		m.ce_type = header_str(h, "ce_type", &s->arena);
		m.ce_time = header_str(h, "ce_time", &s->arena);
		m.correlation_id = header_str(h, "ccs_correlation_id", &s->arena);
	}
	if (!m.correlation_id)
		m.correlation_id = m.ce_id;
	if (m.timestamp_ms > 0) {
		double age = (double)time(NULL) - (double)m.timestamp_ms / 1000.0;
		ccs_metric_observe(s->m_age, age > 0 ? age : 0);
	}

	rc = savepoint(s, "SAVEPOINT msg", &err);
	if (rc)
		return rc;
	rc = check_envelope(s, &m, &err);
	if (rc == 0) {
		char pbuf[16], obuf[24];
		snprintf(pbuf, sizeof(pbuf), "%d", m.partition);
		snprintf(obuf, sizeof(obuf), "%lld", (long long)m.offset);
		const char *p[4] = {m.ce_id, m.topic, pbuf, obuf};
		PGresult *r = ccs_tx_query(&tx,
					   "INSERT INTO inbox(event_id, topic, partition, \"offset\")"
					   " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
					   4, p, &rc, &err);
		if (r) {
			int dup = PQntuples(r) == 0;
			PQclear(r);
			if (dup) {
				ccs_metric_add(s->m_duplicate, 1);
				CCS_LOG_MSG(CCS_LOG_INFO_L, "duplicate event skipped", m.topic, m.partition,
					    m.offset, "event_id", CCS_LOG_S(m.ce_id));
				return savepoint(s, "RELEASE SAVEPOINT msg", &err);
			}
		}
	}
	if (rc == 0) {
		tx.input_id = m.ce_id;
		tx.input_time = m.ce_time ? m.ce_time : "1970-01-01T00:00:00Z";
		tx.correlation_id = m.correlation_id;
		rc = s->def->handle(s, s->def->ctx, &tx, &m, &err);
	}
	if (rc == CCS_SVC_TRANSIENT) {
		CCS_LOG_MSG(CCS_LOG_WARN_L, "transient failure", m.topic, m.partition, m.offset, "error",
			    CCS_LOG_S(err.msg));
		return rc;
	}
	if (rc != 0) {
		if (!err.cls[0])
			snprintf(err.cls, sizeof(err.cls), "handler");
		rc = savepoint(s, "ROLLBACK TO SAVEPOINT msg", &err);
		if (rc == 0)
			rc = dead_letter(s, &tx, rkm, &err);
		if (rc)
			return rc;
	} else {
		ccs_metric_add(s->m_processed, 1);
	}
	return savepoint(s, "RELEASE SAVEPOINT msg", &err);
}

/* ---------------------------------------------------------------- batches */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void relay_kick(ccs_svc *s);
static void poll_soon(ccs_svc *s);

/*
 * One transaction for the messages of one partition. Returns 0, or CCS_SVC_TRANSIENT after
 * rolling back (the caller pauses and backs off).
 */
static int process_partition(ccs_svc *s, part *p, rd_kafka_message_t **msgs, size_t n)
{
	ccs_svc_err err = {{0}, {0}};
	int64_t last = -1;
	int rc = 0, in_tx = 0;
	double t0 = now_seconds();
	size_t applied = 0;

	if (exec_simple(s, "BEGIN") != CCS_PG_OK) {
		rc = CCS_SVC_TRANSIENT;
		goto out;
	}
	in_tx = 1;
	for (size_t i = 0; i < n; i++) {
		if (msgs[i]->offset < p->next_offset) {
			ccs_metric_add(s->m_stale, 1);
			continue;
		}
		rc = apply_one(s, msgs[i]);
		if (rc)
			goto out;
		last = msgs[i]->offset;
		applied++;
	}
	if (last < 0)
		goto out; /* nothing new: the empty transaction is rolled back below */
	char obuf[24], pbuf[16], ebuf[24];
	snprintf(obuf, sizeof(obuf), "%lld", (long long)(last + 1));
	snprintf(pbuf, sizeof(pbuf), "%d", p->partition);
	snprintf(ebuf, sizeof(ebuf), "%lld", (long long)p->epoch);
	const char *params[5] = {obuf, s->group_id, p->topic, pbuf, ebuf};
	PGresult *r = PQexecParams(s->pg,
				   "UPDATE consumer_offsets SET next_offset = $1, updated_at = now()"
				   " WHERE group_id = $2 AND topic = $3 AND partition = $4 AND owner_epoch = $5",
				   5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		(void)ccs_svc_pg_error(s->pg, r, &err);
		rc = CCS_SVC_TRANSIENT;
		PQclear(r);
		goto out;
	}
	long updated = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if (updated != 1) {
		/* Another instance claimed the partition since we did: write nothing. */
		CCS_LOG_WARN("fenced: partition owned by another instance", "topic", CCS_LOG_S(p->topic),
			     "partition", CCS_LOG_I(p->partition), "epoch", CCS_LOG_I(p->epoch));
		ccs_metric_add(s->m_fenced, 1);
		p->state = PART_FENCED;
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
		rd_kafka_pause_partitions(s->consumer, l);
		rd_kafka_topic_partition_list_destroy(l);
		last = -1;
		goto out;
	}
	if (exec_simple(s, "COMMIT") != CCS_PG_OK) {
		/* Unknown outcome: the position in PostgreSQL tells after reconnecting. */
		rc = CCS_SVC_TRANSIENT;
		in_tx = 0;
		goto out;
	}
	in_tx = 0;
	p->next_offset = last + 1;
	ccs_metric_add(s->m_commit, 1);
	ccs_metric_observe(s->m_batch, (double)applied);
	ccs_metric_observe(s->m_txtime, now_seconds() - t0);
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = last + 1;
	rd_kafka_offsets_store(s->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
out:
	if (in_tx) {
		if (exec_simple(s, "ROLLBACK") != CCS_PG_OK)
			rc = CCS_SVC_TRANSIENT;
		if (last >= 0 || rc)
			ccs_metric_add(s->m_rollback, 1);
	}
	return rc;
}

static void go_transient(ccs_svc *s, const char *why)
{
	CCS_LOG_WARN("pausing after a transient failure", "reason", CCS_LOG_S(why));
	if (PQstatus(s->pg) != CONNECTION_OK)
		s->pg_ok = 0;
	ccs_metric_add(s->m_transient_pg, 1);
	for (size_t i = 0; i < s->nparts; i++)
		if (s->parts[i].state == PART_READY)
			s->parts[i].state = PART_PENDING;
	rd_kafka_topic_partition_list_t *l = parts_list(s, -1);
	if (l->cnt)
		rd_kafka_pause_partitions(s->consumer, l);
	rd_kafka_topic_partition_list_destroy(l);
	if (!s->paused)
		start_backoff(s);
}

/*
 * Poll what the consumer has ready (without blocking), up to batch.max messages, and process
 * them partition by partition. Runs from the io-event bridge and the safety poll timer.
 */
static void consume(ccs_svc *s)
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
			if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
				CCS_LOG_WARN("consumer error", "error", CCS_LOG_S(rd_kafka_message_errstr(m)));
			rd_kafka_message_destroy(m);
			continue;
		}
		s->kafka_ok = 1;
		s->batch[n++] = m;
	}
	again = n == max;
	/* Group by partition, keeping each partition's order. */
	for (size_t i = 0; i < n && !s->paused; i++) {
		if (!s->batch[i])
			continue;
		const char *topic = rd_kafka_topic_name(s->batch[i]->rkt);
		int32_t partition = s->batch[i]->partition;
		part *p = part_find(s, topic, partition);
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
			go_transient(s, "batch rolled back");
		for (size_t j = 0; j < k; j++)
			rd_kafka_message_destroy(group[j]);
	}
	for (size_t i = 0; i < n; i++)
		if (s->batch[i])
			rd_kafka_message_destroy(s->batch[i]);
	ccs_arena_reset(&s->arena);
	set_ready_metric(s);
	relay_kick(s);
	if (again && !s->paused)
		poll_soon(s);
}

/* ---------------------------------------------------------------- recovery */

static void backoff_cb(uv_timer_t *t);

static void start_backoff(ccs_svc *s)
{
	long min = ccs_cfg_int(&s->cfg, "backoff.min.ms"), max = ccs_cfg_int(&s->cfg, "backoff.max.ms");
	s->paused = 1;
	s->backoff_ms = s->backoff_ms <= 0 ? min : s->backoff_ms * 2;
	if (s->backoff_ms > max)
		s->backoff_ms = max;
	/* Full jitter in [backoff/2, backoff]: instances that failed together retry apart. */
	long delay = s->backoff_ms / 2 + (long)((unsigned long)rand() % (unsigned long)(s->backoff_ms / 2 + 1));
	uv_timer_start(&s->backoff_timer, backoff_cb, (uint64_t)delay, 0);
	set_ready_metric(s);
}

/* Reconnect if needed, re-read positions from PostgreSQL, seek, resume. */
static void backoff_cb(uv_timer_t *t)
{
	ccs_svc *s = t->data;
	char err[512];

	if (s->draining)
		return;
	if (PQstatus(s->pg) != CONNECTION_OK || ccs_pg_exec(s->pg, "SELECT 1", err, sizeof(err)) != 0) {
		PQreset(s->pg);
		s->relay_leader = 0; /* the session's advisory lock went with the old connection */
		if (PQstatus(s->pg) != CONNECTION_OK) {
			s->pg_ok = 0;
			CCS_LOG_WARN("postgresql unreachable, retrying", "backoff_ms", CCS_LOG_I(s->backoff_ms));
			start_backoff(s);
			return;
		}
		if (ccs_pg_exec(s->pg, "SET TIME ZONE 'UTC'; SET client_min_messages = warning", err, sizeof(err)) != CCS_PG_OK) {
			start_backoff(s);
			return;
		}
	}
	s->pg_ok = 1;
	rd_kafka_topic_partition_list_t *seek = rd_kafka_topic_partition_list_new((int)s->nparts + 1);
	for (size_t i = 0; i < s->nparts; i++) {
		part *p = &s->parts[i];
		if (p->state != PART_PENDING)
			continue;
		if (part_resync(s, p) != CCS_PG_OK) {
			rd_kafka_topic_partition_list_destroy(seek);
			start_backoff(s);
			return;
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
				part *p = part_find(s, seek->elems[i].topic, seek->elems[i].partition);
				if (p)
					p->state = PART_PENDING;
			}
			rd_kafka_topic_partition_list_destroy(seek);
			ccs_metric_add(s->m_transient_kafka, 1);
			start_backoff(s);
			return;
		}
		rd_kafka_resume_partitions(s->consumer, seek);
	}
	rd_kafka_topic_partition_list_destroy(seek);
	s->paused = 0;
	s->backoff_ms = 0;
	CCS_LOG_INFO("resumed after transient failure", "partitions", CCS_LOG_I(s->nparts));
	set_ready_metric(s);
	poll_soon(s);
	relay_kick(s);
}

/* ---------------------------------------------------------------- outbox relay */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	ccs_svc *s = opaque;
	(void)rk;
	if (s->inflight)
		s->inflight--;
	if (m->err) {
		s->relay_failed++;
		ccs_metric_add(s->m_pub_err, 1);
		CCS_LOG_WARN("publish failed, will retry", "topic", CCS_LOG_S(rd_kafka_topic_name(m->rkt)),
			     "error", CCS_LOG_S(rd_kafka_err2str(m->err)));
		return;
	}
	s->kafka_ok = 1;
	if (s->ndelivered == s->delivered_cap) {
		s->delivered_cap = s->delivered_cap ? s->delivered_cap * 2 : 1024;
		s->delivered = ccs_xrealloc(s->delivered, s->delivered_cap * sizeof(int64_t));
	}
	s->delivered[s->ndelivered++] = (int64_t)(intptr_t)m->_private;
	ccs_metric_add(s->m_published, 1);
}

/* Delete what Kafka acknowledged. Returns a CCS_PG_* code; on failure rows are re-sent later. */
static int relay_delete(ccs_svc *s)
{
	if (!s->ndelivered)
		return CCS_PG_OK;
	size_t cap = s->ndelivered * 21 + 3, pos = 0;
	char *arr = ccs_xmalloc(cap);
	arr[pos++] = '{';
	for (size_t i = 0; i < s->ndelivered; i++)
		pos += (size_t)snprintf(arr + pos, cap - pos, "%s%lld", i ? "," : "", (long long)s->delivered[i]);
	arr[pos++] = '}';
	arr[pos] = '\0';
	const char *params[1] = {arr};
	PGresult *r = PQexecParams(s->pg, "DELETE FROM outbox WHERE id = ANY($1::bigint[])", 1, NULL,
				   params, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? CCS_PG_OK : ccs_pg_classify(s->pg, r);
	PQclear(r);
	free(arr);
	if (rc == CCS_PG_OK)
		s->ndelivered = 0;
	return rc;
}

typedef struct hdr_ctx {
	rd_kafka_headers_t *h;
} hdr_ctx;

static int add_header(void *ctx, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	hdr_ctx *c = ctx;
	rd_kafka_header_add(c->h, name, (ssize_t)nlen, val, (ssize_t)vlen);
	return 0;
}

static void dr_timer_cb(uv_timer_t *t);

/*
 * Publish the oldest outbox rows, in id order. Only one round is in flight at a time and only
 * the instance holding the relay advisory lock publishes, so rows are not sent twice by two
 * live instances; after a crash, rows published but not yet deleted are sent again (consumers
 * de-duplicate on ce_id).
 */
static void relay_run(ccs_svc *s)
{
	char lim[16];
	PGresult *r = NULL;

	if (s->inflight || !s->pg_ok || !s->producer || s->paused)
		goto out;
	/* Acknowledged rows whose delete failed (connection lost) are deleted first. */
	if (s->ndelivered && relay_delete(s) != CCS_PG_OK)
		goto out;
	if (!s->relay_leader) {
		r = PQexec(s->pg, "SELECT pg_try_advisory_lock(hashtext('ccs.outbox.relay'))");
		s->relay_leader = PQresultStatus(r) == PGRES_TUPLES_OK && PQgetvalue(r, 0, 0)[0] == 't';
		PQclear(r);
		r = NULL;
		if (!s->relay_leader)
			goto out;
	}
	snprintf(lim, sizeof(lim), "%ld", ccs_cfg_int(&s->cfg, "relay.batch"));
	const char *params[1] = {lim};
	r = PQexecParams(s->pg, "SELECT id, topic, key, payload, headers FROM outbox ORDER BY id LIMIT $1",
			 1, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		if (PQstatus(s->pg) != CONNECTION_OK) {
			s->relay_leader = 0;
			go_transient(s, "outbox read failed");
		}
		goto out;
	}
	int rows = PQntuples(r);
	s->relay_full = rows == (int)ccs_cfg_int(&s->cfg, "relay.batch");
	s->relay_failed = 0;
	for (int i = 0; i < rows; i++) {
		const uint8_t *idb = (const uint8_t *)PQgetvalue(r, i, 0);
		int64_t id = 0;
		for (int k = 0; k < 8; k++)
			id = id << 8 | idb[k];
		rd_kafka_headers_t *h = rd_kafka_headers_new(12);
		hdr_ctx hc = {h};
		if (ccs_hdrs_parse((const uint8_t *)PQgetvalue(r, i, 4), (size_t)PQgetlength(r, i, 4),
				   add_header, &hc) != 0)
			CCS_LOG_ERROR("outbox row has malformed headers", "id", CCS_LOG_I(id));
		const char *topic = PQgetvalue(r, i, 1);
		int has_key = !PQgetisnull(r, i, 2);
		rd_kafka_resp_err_t err = rd_kafka_producev(
			s->producer, RD_KAFKA_V_TOPIC(topic),
			RD_KAFKA_V_KEY((has_key ? PQgetvalue(r, i, 2) : NULL),
				       has_key ? (size_t)PQgetlength(r, i, 2) : 0),
			RD_KAFKA_V_VALUE(PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3)),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
			RD_KAFKA_V_OPAQUE((void *)(intptr_t)id), RD_KAFKA_V_END);
		if (err) {
			rd_kafka_headers_destroy(h);
			CCS_LOG_WARN("produce refused, will retry", "error", CCS_LOG_S(rd_kafka_err2str(err)));
			s->relay_full = 1;
			break;
		}
		s->inflight++;
	}
	if (s->inflight)
		uv_timer_start(&s->dr_timer, dr_timer_cb, 2, 2);
out:
	PQclear(r);
}

static void dr_timer_cb(uv_timer_t *t)
{
	ccs_svc *s = t->data;
	rd_kafka_poll(s->producer, 0);
	if (s->inflight)
		return;
	uv_timer_stop(&s->dr_timer);
	if (relay_delete(s) != CCS_PG_OK) {
		go_transient(s, "outbox delete failed");
		return;
	}
	if (s->relay_full && !s->relay_failed && !s->draining)
		relay_run(s);
}

static void relay_kick(ccs_svc *s)
{
	if (!s->draining)
		relay_run(s);
}

static void relay_timer_cb(uv_timer_t *t)
{
	relay_kick(t->data);
}

/* ---------------------------------------------------------------- time-driven work */

/*
 * Fire due work whose date has come, in one transaction per tick: lock the rows (SKIP LOCKED,
 * so several instances share the work), call the daemon, delete the rows, commit. The input id
 * is derived from (kind, subject, due date), so the decision ids are the same on a replay.
 */
static void due_timer_cb(uv_timer_t *t)
{
	ccs_svc *s = t->data;
	char today[11], lim[16];
	PGresult *r = NULL;
	int rc = 0, in_tx = 0;
	ccs_svc_err err = {{0}, {0}};

	if (s->draining || s->paused || !s->pg_ok || !s->def->due)
		return;
	ccs_date_format(ccs_svc_today(s), today);
	snprintf(lim, sizeof(lim), "%ld", ccs_cfg_int(&s->cfg, "due.batch"));
	if (exec_simple(s, "BEGIN") != CCS_PG_OK) {
		rc = CCS_SVC_TRANSIENT;
		goto out;
	}
	in_tx = 1;
	const char *params[2] = {today, lim};
	r = PQexecParams(s->pg,
			 "SELECT id, kind, subject, due_date, payload, correlation_id FROM due_work"
			 " WHERE due_date <= $1 ORDER BY due_date, id LIMIT $2 FOR UPDATE SKIP LOCKED",
			 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = ccs_svc_pg_error(s->pg, r, &err);
		goto out;
	}
	int rows = PQntuples(r);
	if (rows == 0)
		goto out;
	for (int i = 0; i < rows; i++) {
		ccs_due d;
		d.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		d.kind = PQgetvalue(r, i, 1);
		d.subject = PQgetvalue(r, i, 2);
		d.due_date = ccs_date_parse(PQgetvalue(r, i, 3));
		d.payload = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4);
		d.correlation_id = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
		char *input = ccs_arena_printf(&s->arena, "due:%s:%s:%s", d.kind, d.subject, PQgetvalue(r, i, 3));
		char *when = ccs_arena_printf(&s->arena, "%sT00:00:00Z", PQgetvalue(r, i, 3));
		ccs_tx tx = {s, s->pg, &s->arena, input, when, d.correlation_id};
		rc = savepoint(s, "SAVEPOINT due", &err);
		if (rc)
			goto out;
		rc = s->def->due(s, s->def->ctx, &tx, &d, &err);
		if (rc == CCS_SVC_TRANSIENT)
			goto out;
		if (rc) {
			/* Work that can never succeed is logged and dropped, never retried forever. */
			CCS_LOG_ERROR("due work failed", "kind", CCS_LOG_S(d.kind), "subject", CCS_LOG_S(d.subject),
				      "error_class", CCS_LOG_S(err.cls), "error", CCS_LOG_S(err.msg));
			ccs_metrics_inc(s->metrics, "due_work_failed_total", "", 1);
			rc = savepoint(s, "ROLLBACK TO SAVEPOINT due", &err);
			if (rc)
				goto out;
		}
		rc = savepoint(s, "RELEASE SAVEPOINT due", &err);
		if (rc)
			goto out;
		const char *dp[1] = {PQgetvalue(r, i, 0)};
		PGresult *dr = PQexecParams(s->pg, "DELETE FROM due_work WHERE id = $1", 1, NULL, dp, NULL, NULL, 0);
		if (PQresultStatus(dr) != PGRES_COMMAND_OK) {
			rc = CCS_SVC_TRANSIENT;
			PQclear(dr);
			goto out;
		}
		PQclear(dr);
		char labels[96];
		snprintf(labels, sizeof(labels), "kind=\"%s\"", d.kind);
		ccs_metrics_inc(s->metrics, "due_work_fired_total", labels, 1);
	}
	if (exec_simple(s, "COMMIT") != CCS_PG_OK)
		rc = CCS_SVC_TRANSIENT;
	in_tx = 0;
	relay_kick(s);
	if (rows == (int)ccs_cfg_int(&s->cfg, "due.batch"))
		uv_timer_start(&s->due_timer, due_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "due.interval.ms"));
out:
	PQclear(r);
	if (in_tx && exec_simple(s, "ROLLBACK") != CCS_PG_OK)
		rc = CCS_SVC_TRANSIENT;
	ccs_arena_reset(&s->arena);
	if (rc == CCS_SVC_TRANSIENT)
		go_transient(s, "due work rolled back");
}

/* ---------------------------------------------------------------- kafka */

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	ccs_svc *s = opaque;
	if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
		s->kafka_ok = 0;
		set_ready_metric(s);
	}
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char buf[512];
		rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
		CCS_LOG_ERROR("kafka fatal error", "client", CCS_LOG_S(rd_kafka_name(rk)), "error",
			      CCS_LOG_S(rd_kafka_err2str(orig)), "reason", CCS_LOG_S(buf));
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
	snprintf(stats, sizeof(stats), "%ld", ccs_cfg_int(&s->cfg, "stats.interval.ms"));
	const struct kv common[] = {
		{"bootstrap.servers", ccs_cfg_str(&s->cfg, "kafka.bootstrap")},
		{"client.id", s->instance_id},
	};
	const struct kv cons[] = {
		{"group.id", s->group_id},
		{"group.instance.id", s->instance_id},
		{"partition.assignment.strategy", "range"},
		{"enable.auto.commit", "true"},
		{"enable.auto.offset.store", "false"},
		{"auto.offset.reset", "earliest"},
		{"session.timeout.ms", "10000"},
		{"statistics.interval.ms", stats},
		{"enable.partition.eof", "false"},
		/* A subscribed topic created after start is noticed within this, not librdkafka's
		 * default five minutes. */
		{"topic.metadata.refresh.interval.ms", "10000"},
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
		rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
		rd_kafka_conf_set_stats_cb(c, stats_cb);
	} else {
		rd_kafka_conf_set_dr_msg_cb(c, dr_cb);
	}
	return c;
fail:
	rd_kafka_conf_destroy(c);
	return NULL;
}

static int producer_create(ccs_svc *s, char *errbuf, size_t errlen)
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

/* Create the topics this daemon reads and writes (and their .dlq), tolerating existing ones. */
static int ensure_topics(ccs_svc *s, char *errbuf, size_t errlen)
{
	const char *names[64];
	size_t n = 0;
	int rc = 0;
	char dlq[64][256];

	for (size_t i = 0; s->topics[i] && n < 32; i++) {
		names[n++] = s->topics[i];
		snprintf(dlq[i], sizeof(dlq[i]), "%s.dlq", s->topics[i]);
		names[n++] = dlq[i];
	}
	char outs[32][256];
	for (size_t i = 0; s->def->output_topics && s->def->output_topics[i] && n < 64 && i < 32; i++) {
		snprintf(outs[i], sizeof(outs[i]), "%s%s", s->prefix, s->def->output_topics[i]);
		names[n++] = outs[i];
	}

	rd_kafka_NewTopic_t *nt[64];
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
	return rc;
}

static void poll_timer_cb(uv_timer_t *t)
{
	consume(t->data);
}

static void poll_soon(ccs_svc *s)
{
	uv_timer_start(&s->poll_timer, poll_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "poll.interval.ms"));
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
	consume(s);
}

static int consumer_create(ccs_svc *s, char *errbuf, size_t errlen)
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
	if (pipe2(s->kq_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	s->cq = rd_kafka_queue_get_consumer(s->consumer);
	rd_kafka_queue_io_event_enable(s->cq, s->kq_pipe[1], "1", 1);
	uv_poll_init(s->loop, &s->kq_poll, s->kq_pipe[0]);
	s->kq_poll.data = s;
	uv_poll_start(&s->kq_poll, UV_READABLE, kq_cb);
	rc = 0;
out:
	return rc;
}

/* ---------------------------------------------------------------- periodic stats */

static void refresh_backlog(ccs_svc *s)
{
	if (!s->pg_ok || s->paused)
		return;
	PGresult *r = PQexec(s->pg, "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
				    " FROM outbox");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		ccs_metric_set(s->m_backlog, strtod(PQgetvalue(r, 0, 0), NULL));
		ccs_metric_set(s->m_backlog_age, strtod(PQgetvalue(r, 0, 1), NULL));
	}
	PQclear(r);
}

static void stats_timer_cb(uv_timer_t *t)
{
	ccs_svc *s = t->data;
	char err[512];

	/* A fatal idempotent-producer error means recreating it; unsent rows stay in the outbox. */
	if (s->producer && rd_kafka_fatal_error(s->producer, err, sizeof(err)) && !s->inflight) {
		CCS_LOG_WARN("recreating producer after fatal error", "error", CCS_LOG_S(err));
		rd_kafka_destroy(s->producer);
		s->producer = NULL;
		if (producer_create(s, err, sizeof(err)) != 0)
			CCS_LOG_ERROR("producer create failed", "error", CCS_LOG_S(err));
	}
	refresh_backlog(s);
	/* After "all brokers down" nothing says they are back until traffic flows; ask. */
	if (!s->kafka_ok && s->producer) {
		const struct rd_kafka_metadata *md = NULL;
		if (rd_kafka_metadata(s->producer, 0, NULL, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
			s->kafka_ok = 1;
			rd_kafka_metadata_destroy(md);
		}
	}
	set_ready_metric(s);
	static uint64_t last_log;
	uint64_t now = uv_now(s->loop);
	if (now - last_log >= (uint64_t)ccs_cfg_int(&s->cfg, "stats.interval.ms")) {
		last_log = now;
		CCS_LOG_INFO("stats", "processed", CCS_LOG_I(ccs_metric_value(s->m_processed)), "duplicates",
			     CCS_LOG_I(ccs_metric_value(s->m_duplicate)), "dead_letters",
			     CCS_LOG_I(ccs_metric_value(s->m_dead)), "published",
			     CCS_LOG_I(ccs_metric_value(s->m_published)), "outbox_backlog",
			     CCS_LOG_I(ccs_metric_value(s->m_backlog)), "partitions", CCS_LOG_I(s->nparts),
			     "ready", CCS_LOG_I(ccs_metric_value(s->m_ready)));
	}
	if (!s->paused && s->pg_ok)
		relay_kick(s);
}

/* ---------------------------------------------------------------- http */

static int http_handler(void *ctx, const char *path, char **body, size_t *len, const char **ctype)
{
	ccs_svc *s = ctx;
	if (strcmp(path, "/metrics") == 0) {
		*body = ccs_metrics_render(s->metrics, len);
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		return 200;
	}
	if (strcmp(path, "/livez") == 0) {
		*body = ccs_xstrdup("ok\n");
		*len = 3;
		return 200;
	}
	if (strcmp(path, "/readyz") == 0) {
		int ready = is_ready(s);
		char buf[256];
		snprintf(buf, sizeof(buf),
			 "%s\npostgresql %s\nkafka %s\npartitions %s (%zu, %zu fenced)\nprocessing %s\n",
			 ready ? "ready" : "not ready", s->pg_ok ? "ok" : "down", s->kafka_ok ? "ok" : "down",
			 s->assigned ? "assigned" : "none", s->nparts, parts_fenced(s),
			 s->draining ? "draining" : s->paused ? "paused" : "running");
		*body = ccs_xstrdup(buf);
		*len = strlen(buf);
		return ready ? 200 : 503;
	}
	*body = ccs_xstrdup("not found\n");
	*len = strlen(*body);
	return 404;
}

/* ---------------------------------------------------------------- systemd */

/* sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_state(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	(void)!sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
	close(fd);
}

/* ---------------------------------------------------------------- signals and drain */

static void close_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (h->loop && !uv_is_closing(h))
		uv_close(h, NULL);
}

static void drain(ccs_svc *s)
{
	uint64_t deadline = uv_now(s->loop) + (uint64_t)ccs_cfg_int(&s->cfg, "drain.timeout.ms");
	s->draining = 1;
	sd_notify_state("STOPPING=1");
	CCS_LOG_INFO("draining");
	/* Let a second signal take the default action: terminate at once. */
	uv_signal_stop(&s->sig_term);
	uv_signal_stop(&s->sig_int);
	uv_timer_stop(&s->poll_timer);
	uv_timer_stop(&s->due_timer);
	uv_timer_stop(&s->backoff_timer);
	if (s->consumer) {
		uv_poll_stop(&s->kq_poll);
		rd_kafka_consumer_close(s->consumer);
	}
	/* Flush the relay: publish and delete until the outbox is empty or time is up. */
	s->draining = 0;
	s->paused = 0;
	while (s->producer && s->pg_ok && uv_now(s->loop) < deadline) {
		uv_update_time(s->loop);
		if (!s->inflight && !s->ndelivered) {
			relay_run(s);
			if (!s->inflight)
				break;
		}
		rd_kafka_poll(s->producer, 20);
		if (!s->inflight && relay_delete(s) != CCS_PG_OK)
			break;
	}
	s->draining = 1;
	if (s->producer)
		rd_kafka_flush(s->producer, 2000);
	refresh_backlog(s);
	CCS_LOG_INFO("drained", "outbox_backlog", CCS_LOG_I(ccs_metric_value(s->m_backlog)), "inflight",
		     CCS_LOG_I(s->inflight));
	uv_timer_stop(&s->dr_timer);
	uv_timer_stop(&s->relay_timer);
	uv_timer_stop(&s->stats_timer);
	ccs_http_stop(&s->http);
	uv_walk(s->loop, close_handle, NULL);
}

static void signal_cb(uv_signal_t *h, int signum)
{
	ccs_svc *s = h->data;
	if (signum == SIGHUP) {
		char err[512];
		ccs_log_level lvl;
		if (ccs_cfg_load(&s->cfg, 1, err, sizeof(err)) != 0) {
			CCS_LOG_ERROR("reload failed, keeping the old settings", "error", CCS_LOG_S(err));
			return;
		}
		if (ccs_log_parse_level(ccs_cfg_str(&s->cfg, "log.level"), &lvl) == 0)
			ccs_log_set_level(lvl);
		const char *today = ccs_cfg_str(&s->cfg, "clock.today");
		ccs_date d = *today ? ccs_date_parse(today) : CCS_DATE_INVALID;
		if (!*today || d != CCS_DATE_INVALID)
			s->today_override = d;
		CCS_LOG_INFO("configuration reloaded", "log_level", CCS_LOG_S(ccs_cfg_str(&s->cfg, "log.level")));
		return;
	}
	CCS_LOG_INFO("signal received", "signal", CCS_LOG_I(signum));
	drain(s);
}

/* ---------------------------------------------------------------- configuration */

static const ccs_cfg_def runtime_cfg[] = {
	{"pg.url", CCS_CFG_STR, "", 0, 0, 0,
	 "PostgreSQL connection URL of the daemon's own database (default postgresql://127.0.0.1:5432/ccs_<service>)"},
	{"kafka.bootstrap", CCS_CFG_STR, "127.0.0.1:9092", 0, 0, 0, "Kafka bootstrap servers"},
	{"group.id", CCS_CFG_STR, "", 0, 0, 0, "consumer group (default ccs-<service>)"},
	{"instance.id", CCS_CFG_STR, "", 0, 0, 0,
	 "static group membership id, unique per instance (default <service>-<hostname>)"},
	{"topics.prefix", CCS_CFG_STR, "", 0, 0, 0,
	 "prepended to every topic name (environments sharing a cluster, tests)"},
	{"topics.create", CCS_CFG_BOOL, "true", 0, 0, 0, "create missing topics at start"},
	{"topics.partitions", CCS_CFG_INT, "3", 0, 1, 1000, "partitions for created topics"},
	{"topics.replication", CCS_CFG_INT, "-1", 0, -1, 10, "replication factor for created topics (-1: broker default)"},
	{"http.listen", CCS_CFG_STR, "", 0, 0, 0, "host:port of /metrics, /livez, /readyz"},
	{"log.level", CCS_CFG_STR, "info", CCS_CFG_RELOAD, 0, 0, "debug, info, warn, error"},
	{"batch.max", CCS_CFG_INT, "500", 0, 1, 100000, "messages per poll round"},
	{"poll.interval.ms", CCS_CFG_INT, "50", 0, 1, 10000, "safety poll of the consumer queue"},
	{"relay.batch", CCS_CFG_INT, "1000", 0, 1, 100000, "outbox rows published per round"},
	{"relay.interval.ms", CCS_CFG_INT, "200", 0, 10, 60000, "outbox scan interval when idle"},
	{"due.interval.ms", CCS_CFG_INT, "1000", 0, 10, 3600000, "how often due work is checked"},
	{"due.batch", CCS_CFG_INT, "100", 0, 1, 10000, "due work items per transaction"},
	{"drain.timeout.ms", CCS_CFG_INT, "10000", 0, 0, 600000, "bound on the shutdown flush"},
	{"backoff.min.ms", CCS_CFG_INT, "100", 0, 1, 600000, "first retry delay after a transient failure"},
	{"backoff.max.ms", CCS_CFG_INT, "10000", 0, 1, 3600000, "longest retry delay"},
	{"stats.interval.ms", CCS_CFG_INT, "30000", 0, 1000, 3600000, "stats log line and consumer lag refresh"},
	{"clock.today", CCS_CFG_STR, "", CCS_CFG_RELOAD, 0, 0,
	 "YYYY-MM-DD overriding today's date for time-driven work (tests, replays); empty: the UTC date"},
	{NULL, 0, NULL, 0, 0, 0, NULL},
};

static void declare_metrics(ccs_svc *s)
{
	static const double batch_b[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
	static const double time_b[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
	static const double age_b[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600};
	ccs_metrics *m = s->metrics;
	ccs_metrics_family(m, "build_info", CCS_METRIC_GAUGE, "build information", NULL, 0);
	ccs_metrics_family(m, "ready", CCS_METRIC_GAUGE, "1 when /readyz would answer 200", NULL, 0);
	ccs_metrics_family(m, "assigned_partitions", CCS_METRIC_GAUGE, "partitions assigned", NULL, 0);
	ccs_metrics_family(m, "messages_total", CCS_METRIC_COUNTER, "input messages by result", NULL, 0);
	ccs_metrics_family(m, "dead_letters_total", CCS_METRIC_COUNTER, "messages sent to the dead-letter topic", NULL, 0);
	ccs_metrics_family(m, "decisions_total", CCS_METRIC_COUNTER, "decisions by kind and outcome", NULL, 0);
	ccs_metrics_family(m, "transactions_total", CCS_METRIC_COUNTER, "batch transactions by result", NULL, 0);
	ccs_metrics_family(m, "transient_errors_total", CCS_METRIC_COUNTER, "transient failures by source", NULL, 0);
	ccs_metrics_family(m, "outbox_published_total", CCS_METRIC_COUNTER, "outbox rows acknowledged by Kafka", NULL, 0);
	ccs_metrics_family(m, "outbox_publish_errors_total", CCS_METRIC_COUNTER, "failed deliveries (retried)", NULL, 0);
	ccs_metrics_family(m, "outbox_backlog", CCS_METRIC_GAUGE, "rows waiting in the outbox", NULL, 0);
	ccs_metrics_family(m, "outbox_oldest_age_seconds", CCS_METRIC_GAUGE, "age of the oldest outbox row", NULL, 0);
	ccs_metrics_family(m, "due_work_fired_total", CCS_METRIC_COUNTER, "time-driven work fired", NULL, 0);
	ccs_metrics_family(m, "due_work_failed_total", CCS_METRIC_COUNTER, "time-driven work dropped as failed", NULL, 0);
	ccs_metrics_family(m, "consumer_lag", CCS_METRIC_GAUGE, "consumer lag per partition (librdkafka statistics)", NULL, 0);
	ccs_metrics_family(m, "batch_size", CCS_METRIC_HISTOGRAM, "messages per committed transaction", batch_b, 10);
	ccs_metrics_family(m, "transaction_seconds", CCS_METRIC_HISTOGRAM, "batch transaction time", time_b, 12);
	ccs_metrics_family(m, "event_age_seconds", CCS_METRIC_HISTOGRAM, "time from produce to processing", age_b, 11);
	char labels[128];
	snprintf(labels, sizeof(labels), "version=\"%s\"", s->def->version);
	ccs_metric_set(ccs_metrics_series(m, "build_info", labels), 1);
	s->m_ready = ccs_metrics_series(m, "ready", "");
	s->m_assigned = ccs_metrics_series(m, "assigned_partitions", "");
	s->m_processed = ccs_metrics_series(m, "messages_total", "result=\"processed\"");
	s->m_duplicate = ccs_metrics_series(m, "messages_total", "result=\"duplicate\"");
	s->m_stale = ccs_metrics_series(m, "messages_total", "result=\"stale\"");
	s->m_dead = ccs_metrics_series(m, "messages_total", "result=\"dead_letter\"");
	s->m_commit = ccs_metrics_series(m, "transactions_total", "result=\"commit\"");
	s->m_rollback = ccs_metrics_series(m, "transactions_total", "result=\"rollback\"");
	s->m_fenced = ccs_metrics_series(m, "transactions_total", "result=\"fenced\"");
	s->m_transient_pg = ccs_metrics_series(m, "transient_errors_total", "source=\"postgresql\"");
	s->m_transient_kafka = ccs_metrics_series(m, "transient_errors_total", "source=\"kafka\"");
	s->m_published = ccs_metrics_series(m, "outbox_published_total", "");
	s->m_pub_err = ccs_metrics_series(m, "outbox_publish_errors_total", "");
	s->m_backlog = ccs_metrics_series(m, "outbox_backlog", "");
	s->m_backlog_age = ccs_metrics_series(m, "outbox_oldest_age_seconds", "");
	s->m_batch = ccs_metrics_series(m, "batch_size", "");
	s->m_txtime = ccs_metrics_series(m, "transaction_seconds", "");
	s->m_age = ccs_metrics_series(m, "event_age_seconds", "");
}

static void usage(const ccs_svc *s, FILE *out)
{
	fprintf(out,
		"usage: ccs-%sd [options] [command]\n\n"
		"The CCS Medical Therapy Program %s daemon.\n\n"
		"options:\n"
		"  -c, --config FILE   configuration file (key = value lines)\n"
		"  -X key=value        set any setting, including kafka.<librdkafka property>\n"
		"  --print-config      print the effective configuration (secrets masked) and exit\n"
		"  --migrate-only      apply database migrations and exit\n"
		"  --version           print the version and exit\n"
		"  -h, --help          this help\n\n"
		"settings (environment variables win over the file, -X over both):\n",
		s->def->name, s->def->name);
	ccs_cfg_help(&s->cfg, out);
}

/* Connect at start, retrying for a while: the database may be starting alongside us. */
static int connect_pg(ccs_svc *s, char *err, size_t errlen)
{
	const char *url = ccs_cfg_str(&s->cfg, "pg.url");
	char def[256];
	if (!*url) {
		snprintf(def, sizeof(def), "postgresql://127.0.0.1:5432/ccs_%s", s->def->name);
		url = def;
	}
	for (int attempt = 0; attempt < 30; attempt++) {
		s->pg = ccs_pg_connect(url, err, errlen);
		if (s->pg)
			return 0;
		CCS_LOG_WARN("waiting for postgresql", "error", CCS_LOG_S(err), "attempt", CCS_LOG_I(attempt + 1));
		sleep(1);
	}
	return -1;
}

int ccs_svc_main(const ccs_svc_def *def, int argc, char **argv)
{
	ccs_svc *s = ccs_xcalloc(1, sizeof(*s));
	char err[1024], host[128];
	int rc = 1, print_config = 0, migrate_only = 0, argi;
	const ccs_cfg_def *tables[2] = {runtime_cfg, def->cfg};
	ccs_log_level lvl;

	s->def = def;
	ccs_cfg_init(&s->cfg, tables, def->cfg ? 2 : 1);
	ccs_log_init(def->name, CCS_LOG_INFO_L);
	for (argi = 1; argi < argc; argi++) {
		const char *a = argv[argi];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(s, stdout);
			rc = 0;
			goto out;
		} else if (!strcmp(a, "--version")) {
			printf("ccs-%sd %s\n", def->name, def->version);
			rc = 0;
			goto out;
		} else if (!strcmp(a, "--print-config")) {
			print_config = 1;
		} else if (!strcmp(a, "--migrate-only")) {
			migrate_only = 1;
		} else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && argi + 1 < argc) {
			free(s->cfg.file);
			s->cfg.file = ccs_xstrdup(argv[++argi]);
		} else if (!strcmp(a, "-X") && argi + 1 < argc) {
			if (ccs_cfg_add_override(&s->cfg, argv[++argi], err, sizeof(err)) != 0)
				goto usage_err;
		} else if (a[0] == '-') {
			snprintf(err, sizeof(err), "unknown option %s (see --help)", a);
			goto usage_err;
		} else {
			break; /* a command */
		}
	}
	if (ccs_cfg_load(&s->cfg, 0, err, sizeof(err)) != 0)
		goto usage_err;
	if (ccs_log_parse_level(ccs_cfg_str(&s->cfg, "log.level"), &lvl) != 0) {
		snprintf(err, sizeof(err), "invalid log.level \"%s\"", ccs_cfg_str(&s->cfg, "log.level"));
		goto usage_err;
	}
	ccs_log_set_level(lvl);
	s->today_override = CCS_DATE_INVALID;
	if (*ccs_cfg_str(&s->cfg, "clock.today")) {
		s->today_override = ccs_date_parse(ccs_cfg_str(&s->cfg, "clock.today"));
		if (s->today_override == CCS_DATE_INVALID) {
			snprintf(err, sizeof(err), "invalid clock.today (expected YYYY-MM-DD)");
			goto usage_err;
		}
	}
	if (print_config) {
		ccs_cfg_print(&s->cfg, stdout);
		rc = 0;
		goto out;
	}
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (*ccs_cfg_str(&s->cfg, "group.id"))
		snprintf(s->group_id, sizeof(s->group_id), "%s", ccs_cfg_str(&s->cfg, "group.id"));
	else
		snprintf(s->group_id, sizeof(s->group_id), "ccs-%s", def->name);
	if (*ccs_cfg_str(&s->cfg, "instance.id"))
		snprintf(s->instance_id, sizeof(s->instance_id), "%s", ccs_cfg_str(&s->cfg, "instance.id"));
	else
		snprintf(s->instance_id, sizeof(s->instance_id), "%s-%s", def->name, host);
	snprintf(s->source, sizeof(s->source), "urn:ccs:mtp:%s", def->name);
	s->prefix = ccs_cfg_str(&s->cfg, "topics.prefix");
	size_t nt = 0;
	while (def->topics[nt])
		nt++;
	s->topics = ccs_xcalloc(nt + 1, sizeof(char *));
	for (size_t i = 0; i < nt; i++) {
		size_t tl = strlen(s->prefix) + strlen(def->topics[i]) + 1;
		s->topics[i] = ccs_xmalloc(tl);
		snprintf(s->topics[i], tl, "%s%s", s->prefix, def->topics[i]);
	}
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	s->metrics = ccs_metrics_new(def->name);
	declare_metrics(s);
	ccs_arena_init(&s->arena, 256 * 1024);
	s->batch = ccs_xcalloc((size_t)ccs_cfg_int(&s->cfg, "batch.max"), sizeof(*s->batch));

	if (connect_pg(s, err, sizeof(err)) != 0)
		goto fatal;
	if (ccs_pg_migrate(s->pg, "runtime", ccs_runtime_migrations, err, sizeof(err)) != 0 ||
	    ccs_pg_migrate(s->pg, def->name, def->migrations, err, sizeof(err)) != 0)
		goto fatal;
	s->pg_ok = 1;
	if (migrate_only) {
		rc = 0;
		goto out;
	}
	if (def->start && def->start(s, def->ctx, err, sizeof(err)) != 0)
		goto fatal;
	if (argi < argc) {
		if (!def->command || (rc = def->command(s, def->ctx, argc - argi, argv + argi)) < 0) {
			snprintf(err, sizeof(err), "unknown command %s (see --help)", argv[argi]);
			goto usage_err;
		}
		goto out;
	}

	s->loop = uv_default_loop();
	if (producer_create(s, err, sizeof(err)) != 0)
		goto fatal;
	if (ccs_cfg_bool(&s->cfg, "topics.create") && ensure_topics(s, err, sizeof(err)) != 0)
		goto fatal;
	if (consumer_create(s, err, sizeof(err)) != 0)
		goto fatal;
	uv_timer_t *timers[] = {&s->poll_timer, &s->relay_timer, &s->dr_timer,
				&s->due_timer,  &s->backoff_timer, &s->stats_timer};
	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
		uv_timer_init(s->loop, timers[i]);
		timers[i]->data = s;
	}
	uv_signal_t *sigs[] = {&s->sig_term, &s->sig_int, &s->sig_hup};
	int signums[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		uv_signal_init(s->loop, sigs[i]);
		sigs[i]->data = s;
		uv_signal_start(sigs[i], signal_cb, signums[i]);
	}
	const char *listen = *ccs_cfg_str(&s->cfg, "http.listen") ? ccs_cfg_str(&s->cfg, "http.listen")
								   : def->default_http;
	if (ccs_http_start(&s->http, s->loop, listen, http_handler, s, err, sizeof(err)) != 0)
		goto fatal;
	uv_timer_start(&s->poll_timer, poll_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "poll.interval.ms"));
	uv_timer_start(&s->relay_timer, relay_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "relay.interval.ms"));
	uv_timer_start(&s->due_timer, due_timer_cb, 100, (uint64_t)ccs_cfg_int(&s->cfg, "due.interval.ms"));
	uv_timer_start(&s->stats_timer, stats_timer_cb, 1000, 5000);
	CCS_LOG_INFO("started", "version", CCS_LOG_S(def->version), "group", CCS_LOG_S(s->group_id), "instance",
		     CCS_LOG_S(s->instance_id), "http", CCS_LOG_S(listen));
	sd_notify_state("READY=1");
	uv_run(s->loop, UV_RUN_DEFAULT);
	rc = 0;
	goto out;

usage_err:
	fprintf(stderr, "ccs-%sd: %s\n", def->name, err);
	rc = 2;
	goto out;
fatal:
	CCS_LOG_FATAL("cannot start", "error", CCS_LOG_S(err));
	rc = 1;
out:
	if (def->stop)
		def->stop(s, def->ctx);
	if (s->consumer) {
		if (s->cq)
			rd_kafka_queue_destroy(s->cq);
		rd_kafka_destroy(s->consumer);
	}
	if (s->producer)
		rd_kafka_destroy(s->producer);
	if (s->loop) {
		uv_walk(s->loop, close_handle, NULL);
		uv_run(s->loop, UV_RUN_DEFAULT);
		uv_loop_close(s->loop);
	}
	if (s->kq_pipe[0] > 0) {
		close(s->kq_pipe[0]);
		close(s->kq_pipe[1]);
	}
	if (s->pg)
		PQfinish(s->pg);
	parts_clear(s);
	for (size_t i = 0; s->topics && s->topics[i]; i++)
		free(s->topics[i]);
	free(s->topics);
	free(s->delivered);
	free(s->batch);
	ccs_arena_destroy(&s->arena);
	ccs_metrics_free(s->metrics);
	ccs_cfg_free(&s->cfg);
	free(s);
	return rc;
}
