/*
 * The transaction API (see svc_internal.h): what handlers call inside a batch (ccs_tx_*), the
 * outbox buffer, named prepared statements, pipelines and binary array parameters. The
 * bottom of the engine: consume, relay and due work call it; it calls nothing above it.
 *
 * Round trips are the cost of this design (each one a loopback wake-up on both sides), so:
 * every statement that goes through ccs_tx_query or the engine is prepared once per connection
 * and executed by name; writes whose results the handler does not read (ccs_tx_write) are
 * queued in the pipeline and sent with the next read; outbox rows are buffered and written by
 * one multi-row insert per transaction; fixed sequences (BEGIN + offset + inbox, outbox +
 * COMMIT) go as one pipeline.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/hdrs.h"
#include "ccs/log.h"
#include "svc_internal.h"

/* ---------------------------------------------------------------- binary array parameters */

static void pgarr_reserve(pgarr *a, size_t more)
{
	if (a->len + more <= a->cap)
		return;
	size_t cap = (a->len + more) * 2;
	uint8_t *nb = ccs_arena_alloc(a->arena, cap);
	memcpy(nb, a->buf, a->len);
	a->buf = nb;
	a->cap = cap;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A one-dimensional array in PostgreSQL's binary format: ndim, hasnull, element type, size,
 * lower bound, then each element as a length (-1: NULL) and its bytes. */
void ccs__pgarr_init(pgarr *a, ccs_arena *arena, uint32_t elemoid)
{
	a->arena = arena;
	a->cap = 256;
	a->buf = ccs_arena_alloc(arena, a->cap);
	a->len = 20;
	a->n = 0;
	a->hasnull = 0;
	put32(a->buf, 1);
	put32(a->buf + 4, 0);
	put32(a->buf + 8, elemoid);
	put32(a->buf + 12, 0);
	put32(a->buf + 16, 1);
}

void ccs__pgarr_add(pgarr *a, const void *v, int32_t len)
{
	pgarr_reserve(a, 4 + (len > 0 ? (size_t)len : 0));
	put32(a->buf + a->len, (uint32_t)len);
	a->len += 4;
	if (len > 0) {
		memcpy(a->buf + a->len, v, (size_t)len);
		a->len += (size_t)len;
	}
	if (len < 0)
		a->hasnull = 1;
	a->n++;
}

void ccs__pgarr_add_int(pgarr *a, int64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)((uint64_t)v >> (8 * (bytes - 1 - i)));
	ccs__pgarr_add(a, b, bytes);
}

void ccs__pgarr_finish(pgarr *a)
{
	put32(a->buf + 4, (uint32_t)a->hasnull);
	put32(a->buf + 12, a->n);
}

/* ---------------------------------------------------------------- the session */

/*
 * Session settings of the engine's connection, after every (re)connect. A transaction left
 * open by a stalled instance (SIGSTOP, a frozen VM) would hold its partition's row lock, and the
 * instance that took the partition over would block on it with its one loop thread: PostgreSQL
 * ends such a session after pg.idle.tx.timeout.ms (below the group session timeout, so it is
 * gone by the time its partitions move), and a lock wait longer than pg.lock.timeout.ms (a
 * minute: instances of a daemon legitimately wait on each other's batches, and a short limit
 * turned that waiting into a storm of rolled-back batches under load) fails as a transient
 * error instead of freezing the loop.
 *
 * Statements are prepared (parsed once) but planned for each execution: the daemons' tables
 * start empty and grow fast, and a generic plan cached while a table was small kept a useless
 * index for good (referrald's CIN lookup read every open case; found by the benchmark).
 */
int ccs__svc_pg_session(ccs_svc *s, char *errbuf, size_t errlen)
{
	char sql[1024];
	const char *mode = ccs_cfg_str(&s->cfg, "pg.plan.cache.mode");
	if (strcmp(mode, "auto") != 0 && strcmp(mode, "force_custom_plan") != 0 && strcmp(mode, "force_generic_plan") != 0) {
		snprintf(errbuf, errlen, "pg.plan.cache.mode: '%s' is not auto, force_custom_plan or force_generic_plan",
			 mode);
		return CCS_PG_DATA;
	}
	/* application_name: pg_stat_activity names the instance behind each session (which one
	 * holds the relay lock, which one waits). */
	char *app = PQescapeLiteral(s->pg, s->instance_id, strlen(s->instance_id));
	if (!app) {
		snprintf(errbuf, errlen, "%s", PQerrorMessage(s->pg));
		return CCS_PG_TRANSIENT;
	}
	snprintf(sql, sizeof(sql),
		 "SET TIME ZONE 'UTC'; SET client_min_messages = warning; SET plan_cache_mode = %s;"
		 " SET idle_in_transaction_session_timeout = %ld; SET idle_session_timeout = %ld;"
		 " SET lock_timeout = %ld; SET application_name = %s",
		 mode, ccs_cfg_int(&s->cfg, "pg.idle.tx.timeout.ms"), ccs_cfg_int(&s->cfg, "pg.idle.session.timeout.ms"),
		 ccs_cfg_int(&s->cfg, "pg.lock.timeout.ms"), app);
	PQfreemem(app);
	return ccs_pg_exec(s->pg, sql, errbuf, errlen);
}

/* ---------------------------------------------------------------- prepared statements */

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/*
 * The name of `sql` prepared on the engine's connection, preparing it on first use. NULL when
 * the cache is full (the caller runs the text unprepared) or when preparing failed: then *fail
 * holds the error result (the transaction is aborted as by the statement itself).
 */
const char *ccs__svc_stmt(ccs_svc *s, const char *sql, PGresult **fail)
{
	uint64_t h = fnv1a(sql);
	*fail = NULL;
	for (size_t i = 0; i < s->nstmts; i++)
		if (s->stmts[i].hash == h && strcmp(s->stmts[i].sql, sql) == 0)
			return s->stmts[i].name;
	if (s->nstmts == CCS_SVC_MAX_STMTS)
		return NULL;
	stmt *st = &s->stmts[s->nstmts];
	snprintf(st->name, sizeof(st->name), "ccs_%zu", s->nstmts);
	PGresult *r = PQprepare(s->pg, st->name, sql, 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*fail = r;
		return NULL;
	}
	PQclear(r);
	st->hash = h;
	st->sql = ccs_xstrdup(sql);
	s->nstmts++;
	return st->name;
}

/* Forget the prepared statements: the connection was reset and they went with it. */
void ccs__svc_stmts_reset(ccs_svc *s)
{
	ccs__svc_flush_reset(s);
	for (size_t i = 0; i < s->nstmts; i++)
		free(s->stmts[i].sql);
	s->nstmts = 0;
}

/* ---------------------------------------------------------------- pipelines */

/* Read up to the result of a pipeline's sync point (PGRES_PIPELINE_SYNC). */
static void read_sync(ccs_svc *s)
{
	for (int guard = 0; guard < 4; guard++) {
		PGresult *r = PQgetResult(s->pg);
		if (!r)
			continue;
		int sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
}

/*
 * Send `n` statements in one pipeline (libpq pipeline mode: one round trip) and collect one
 * result per statement into res[] (the caller PQclear()s each; NULL when none came, e.g. the
 * connection broke). After a failing statement the server skips the rest until the sync
 * point: those come back as PGRES_PIPELINE_ABORTED. Returns 0 when every statement
 * succeeded, else -1 (res[] still filled). Statements are prepared (and named) first.
 */
int ccs__svc_pipeline(ccs_svc *s, const pq_step *st, size_t n, PGresult **res)
{
	const char *names[8];
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		res[i] = NULL;
	if (n > 8)
		return -1;
	if (s->npend) {
		ccs_svc_err e = {{0}, {0}};
		if (ccs__svc_flush(s, &e) != 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		PGresult *fail = NULL;
		names[i] = st[i].nparams >= 0 ? ccs__svc_stmt(s, st[i].sql, &fail) : NULL;
		if (fail) {
			res[i] = fail;
			return -1;
		}
	}
	if (!PQenterPipelineMode(s->pg))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int np = st[i].nparams > 0 ? st[i].nparams : 0, ok;
		if (names[i])
			ok = PQsendQueryPrepared(s->pg, names[i], np, st[i].values, st[i].lengths, st[i].formats, 0);
		else
			ok = PQsendQueryParams(s->pg, st[i].sql, np, NULL, st[i].values, st[i].lengths, st[i].formats,
					       0);
		if (!ok) {
			rc = -1;
			n = i; /* read what was sent */
			break;
		}
	}
	if (!PQpipelineSync(s->pg))
		rc = -1;
	for (size_t i = 0; i < n; i++) {
		PGresult *r = PQgetResult(s->pg);
		if (!r) {
			rc = -1;
			break;
		}
		res[i] = r;
		ExecStatusType t = PQresultStatus(r);
		if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
			rc = -1;
		while ((r = PQgetResult(s->pg)) != NULL)
			PQclear(r); /* the NULL that ends this statement's results */
	}
	read_sync(s); /* the sync point's own result, then back to normal mode */
	if (!PQexitPipelineMode(s->pg))
		rc = -1;
	return rc;
}

/* ---------------------------------------------------------------- queued writes */

/*
 * Writes go out in pipeline mode and their results are read only at the next point where the
 * handler needs an answer (a read, the end of a message in careful mode, the commit): one round
 * trip for a whole run of them. Their results are small (BindComplete + CommandComplete, about
 * 20 bytes), so the server never blocks writing them while we are still sending; the queue is
 * bounded anyway so that neither side's socket buffer can fill.
 */
#define PEND_MAX 512

/* Read the results of the queued statements (and of `last`, sent after them, into *last). */
static int pend_collect(ccs_svc *s, PGresult **last, ccs_svc_err *err)
{
	size_t want = s->npend + (last ? 1 : 0);
	int rc = 0, broken = 0;

	if (last)
		*last = NULL;
	if (!PQpipelineSync(s->pg))
		broken = 1;
	for (size_t i = 0; !broken && i < want; i++) {
		PGresult *r = PQgetResult(s->pg);
		if (!r) {
			broken = 1;
			break;
		}
		ExecStatusType t = PQresultStatus(r);
		if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK && t != PGRES_PIPELINE_ABORTED && !rc) {
			rc = ccs_svc_pg_error(s->pg, r, err);
			/* A queued write's failure belongs to the batch; the read's own failure is the
			 * handler's to handle, as without a queue. */
			if (!(last && i == want - 1)) {
				s->pend_failed = 1;
				s->pend_err = *err;
			}
		}
		if (last && i == want - 1 && (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK) && !rc)
			*last = r;
		else
			PQclear(r);
		while ((r = PQgetResult(s->pg)) != NULL)
			PQclear(r); /* the NULL that ends this statement's results */
	}
	if (!broken)
		read_sync(s);
	s->npend = 0;
	if (!PQexitPipelineMode(s->pg) || broken) {
		if (!rc) {
			snprintf(err->msg, sizeof(err->msg), "pipeline failed: %s", PQerrorMessage(s->pg));
			snprintf(err->cls, sizeof(err->cls), "transient");
			rc = CCS_SVC_TRANSIENT;
		}
		if (last && *last) {
			PQclear(*last);
			*last = NULL;
		}
	}
	return rc;
}

/* The CCS_SVC_* code of an error ccs_svc_pg_error classified (by its class). */
int ccs__svc_err_rc(const ccs_svc_err *err)
{
	return strcmp(err->cls, "transient") == 0 || strcmp(err->cls, "config") == 0 ? CCS_SVC_TRANSIENT
											: CCS_SVC_POISON;
}

/* Send and check the queued writes now; 0 or a CCS_SVC_* code. */
int ccs__svc_flush(ccs_svc *s, ccs_svc_err *err)
{
	if (!s->npend)
		return 0;
	return pend_collect(s, NULL, err);
}

/* After a reconnect or at the end of a transaction: nothing queued, nothing failed. */
void ccs__svc_flush_reset(ccs_svc *s)
{
	s->npend = 0;
	s->pend_failed = 0;
	memset(&s->pend_err, 0, sizeof(s->pend_err));
}

/* The prepared name of sql for a pipelined send: preparing is synchronous, so a statement not
 * prepared yet first sends what is queued. NULL with *rc set on failure. */
static const char *pend_stmt(ccs_svc *s, const char *sql, int *rc, ccs_svc_err *err)
{
	PGresult *fail = NULL;

	*rc = 0;
	if (s->npend) {
		uint64_t h = fnv1a(sql);
		for (size_t i = 0; i < s->nstmts; i++)
			if (s->stmts[i].hash == h && strcmp(s->stmts[i].sql, sql) == 0)
				return s->stmts[i].name;
		if ((*rc = ccs__svc_flush(s, err)) != 0)
			return NULL;
	}
	const char *name = ccs__svc_stmt(s, sql, &fail);
	if (!name) {
		if (fail) {
			*rc = ccs_svc_pg_error(s->pg, fail, err);
			PQclear(fail);
		} else {
			snprintf(err->msg, sizeof(err->msg), "statement cache full");
			snprintf(err->cls, sizeof(err->cls), "data");
			*rc = CCS_SVC_POISON;
		}
	}
	return name;
}

/* Queue one prepared statement; 0 or a CCS_SVC_* code. */
static int pend_send(ccs_svc *s, const char *name, int nparams, const char *const *params, const int *lengths,
		     const int *formats, ccs_svc_err *err)
{
	if (!PQenterPipelineMode(s->pg) ||
	    !PQsendQueryPrepared(s->pg, name, nparams, params, lengths, formats, 0)) {
		snprintf(err->msg, sizeof(err->msg), "pipeline send failed: %s", PQerrorMessage(s->pg));
		snprintf(err->cls, sizeof(err->cls), "transient");
		if (PQpipelineStatus(s->pg) != PQ_PIPELINE_OFF)
			(void)pend_collect(s, NULL, &(ccs_svc_err){{0}, {0}});
		return CCS_SVC_TRANSIENT;
	}
	s->npend++;
	return 0;
}

int ccs_tx_write_params(ccs_tx *tx, const char *sql, int nparams, const char *const *params, const int *lengths,
			const int *formats, ccs_svc_err *err)
{
	ccs_svc *s = tx->svc;
	int rc;

	if (s->pend_failed) {
		*err = s->pend_err;
		return ccs__svc_err_rc(err);
	}
	if (s->npend >= PEND_MAX && (rc = ccs__svc_flush(s, err)) != 0)
		return rc;
	const char *name = pend_stmt(s, sql, &rc, err);
	if (!name)
		return rc;
	return pend_send(s, name, nparams, params, lengths, formats, err);
}

int ccs_tx_write(ccs_tx *tx, const char *sql, int nparams, const char *const *params, ccs_svc_err *err)
{
	return ccs_tx_write_params(tx, sql, nparams, params, NULL, NULL, err);
}

/*
 * A ccs__svc_savepoint per message lets one poison message roll back alone. Savepoint commands fail
 * only when the connection or the transaction is broken, so a failure is always transient.
 */
int ccs__svc_savepoint(ccs_svc *s, const char *sql, ccs_svc_err *err)
{
	int rc = 0;
	if (strncmp(sql, "ROLLBACK", 8) == 0) {
		(void)ccs__svc_flush(s, &(ccs_svc_err){{0}, {0}}); /* discarded with the savepoint */
		ccs__svc_flush_reset(s);
	} else if ((rc = ccs__svc_flush(s, err)) != 0) {
		return rc;
	}
	PGresult *r = PQexec(s->pg, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		(void)ccs_svc_pg_error(s->pg, r, err);
		rc = CCS_SVC_TRANSIENT;
	}
	PQclear(r);
	return rc;
}

/* ---------------------------------------------------------------- the handlers' API */

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
	ccs_svc_err e = {{0}, {0}};
	/* A failure is kept in pend_err: the handler's next statement fails on the aborted
	 * transaction and the engine reports the first error. */
	(void)ccs__svc_flush(tx->svc, &e);
	return tx->pg;
}

ccs_arena *ccs_tx_arena(ccs_tx *tx)
{
	return tx->arena;
}

void *ccs_tx_batch_state(ccs_tx *tx)
{
	return tx->batch_state;
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

PGresult *ccs_tx_query_params(ccs_tx *tx, const char *sql, int nparams, const char *const *params,
			      const int *lengths, const int *formats, int *rc, ccs_svc_err *err)
{
	ccs_svc *s = tx->svc;
	PGresult *r = NULL;

	if (s->pend_failed) {
		*err = s->pend_err;
		*rc = ccs__svc_err_rc(err);
		return NULL;
	}
	if (s->npend) {
		/* The read goes in the same round trip as the writes queued before it. */
		const char *pname = pend_stmt(s, sql, rc, err);
		if (!pname)
			return NULL;
		if (s->npend) {
			if ((*rc = pend_send(s, pname, nparams, params, lengths, formats, err)) != 0)
				return NULL;
			s->npend--; /* collected as `last` */
			*rc = pend_collect(s, &r, err);
			return *rc ? NULL : r;
		}
	}
	const char *name = ccs__svc_stmt(s, sql, &r);
	if (name)
		r = PQexecPrepared(tx->pg, name, nparams, params, lengths, formats, 0);
	else if (!r)
		r = PQexecParams(tx->pg, sql, nparams, NULL, params, lengths, formats, 0);
	ExecStatusType st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*rc = 0;
		return r;
	}
	*rc = ccs_svc_pg_error(tx->pg, r, err);
	PQclear(r);
	return NULL;
}

PGresult *ccs_tx_query(ccs_tx *tx, const char *sql, int nparams, const char *const *params,
		       int *rc, ccs_svc_err *err)
{
	return ccs_tx_query_params(tx, sql, nparams, params, NULL, NULL, rc, err);
}

void ccs_tx_count_decision(ccs_tx *tx, const char *kind, const char *outcome)
{
	char labels[256];
	snprintf(labels, sizeof(labels), "kind=\"%s\",outcome=\"%s\"", kind, outcome);
	ccs_metrics_inc(tx->svc->metrics, "decisions_total", labels, 1);
}

/* Run a command on the engine's connection; CCS_PG_* code. Queued writes go first (a
 * ROLLBACK discards them, anything else fails with them). */
int ccs__svc_exec_simple(ccs_svc *s, const char *sql)
{
	char err[512];
	ccs_svc_err e = {{0}, {0}};
	int rollback = strncmp(sql, "ROLLBACK", 8) == 0;
	if (ccs__svc_flush(s, &e) != 0 && !rollback)
		return CCS_PG_TRANSIENT;
	if (rollback)
		ccs__svc_flush_reset(s);
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

/* 1 when s starts with n lowercase hex digits. */
static int hex_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* 1 when s starts with n lowercase hex digits, not all zero (a valid W3C trace or span id). */
static int hex_id(const char *s, size_t n)
{
	if (!hex_chars(s, n))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0')
			return 1;
	return 0;
}

/*
 * The trace an input belongs to: the trace id of its W3C `traceparent` header when it has a
 * valid one ("00-<32 hex>-<16 hex>-<2 hex>"), else one derived from its correlation id (the
 * referral's event id, a UUID: its 32 hex digits), so a whole referral shares one trace id
 * across the three daemons even when producers send no trace context. NULL when neither.
 */
const char *ccs__svc_trace_id(ccs_arena *a, const char *tp, const char *correlation_id)
{
	if (tp && strlen(tp) == 55 && tp[2] == '-' && tp[35] == '-' && tp[52] == '-' && hex_chars(tp, 2) &&
	    strncmp(tp, "ff", 2) != 0 && hex_id(tp + 3, 32) && hex_id(tp + 36, 16) && hex_chars(tp + 53, 2))
		return ccs_arena_strndup(a, tp + 3, 32);
	ccs_uuid u;
	if (correlation_id && ccs_uuid_parse(correlation_id, &u) == 0) {
		char *t = ccs_arena_alloc(a, 33);
		size_t k = 0;
		for (const char *c = correlation_id; *c && k < 32; c++)
			if (*c != '-')
				t[k++] = (char)((*c >= 'A' && *c <= 'F') ? *c - 'A' + 'a' : *c);
		t[k] = '\0';
		return k == 32 && hex_id(t, 32) ? t : NULL;
	}
	return NULL;
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
	if (tx->trace_id) {
		/* A child span of the input's trace; its id comes from the decision id, so a replay
		 * writes the same header. */
		char tp[56], span[17];
		size_t k = 0;
		for (const char *c = id; *c && k < 16; c++)
			if (*c != '-')
				span[k++] = *c;
		span[k] = '\0';
		snprintf(tp, sizeof(tp), "00-%s-%s-01", tx->trace_id, span);
		ccs_hdrs_add_str(&h, "traceparent", tp);
	}
	for (size_t i = 0; tags && tags[i] && tags[i + 1]; i += 2)
		ccs_hdrs_add_str(&h, tags[i], tags[i + 1]);

	/* The record goes to the topic and, when the daemon routes it to streams of their own
	 * (a reviewing office's), to each of those too: the same record, the same transaction. */
	const char *streams[8];
	size_t nstreams = s->def->streams && ccs_cfg_bool(&s->cfg, "streams.enabled")
				  ? s->def->streams(s->def->ctx, topic, tags, streams, 8)
				  : 0;
	ccs_svc_err e;
	for (size_t i = 0; i <= nstreams && rc == 0; i++) {
		const char *full = i == 0 ? ccs_arena_printf(tx->arena, "%s%s", s->prefix, topic)
					  : ccs_arena_printf(tx->arena, "%s%s.%s", s->prefix, topic, streams[i - 1]);
		rc = ccs__svc_outbox_insert(tx, full, key, key ? strlen(key) : 0, payload, len, &h, &e);
	}
	if (rc)
		CCS_LOG_WARN("outbox insert failed", "error", CCS_LOG_S(e.msg));
	return rc;
}

void ccs_svc_add_output_topic(ccs_svc *s, const char *topic)
{
	if (!ccs_cfg_bool(&s->cfg, "streams.enabled"))
		return;
	for (size_t i = 0; i < s->nextra_out; i++)
		if (strcmp(s->extra_out[i], topic) == 0)
			return; /* several counties share a regional office's stream */
	s->extra_out = ccs_xrealloc(s->extra_out, (s->nextra_out + 1) * sizeof(*s->extra_out));
	s->extra_out[s->nextra_out++] = ccs_xstrdup(topic);
}

/*
 * One outbox row (decision or dead letter; `topic` already prefixed), buffered until the
 * transaction's one multi-row insert (ccs__svc_outbox_flush). Topic and key are copied; payload
 * and headers must live until then (the arena, or the batch's messages for dead letters).
 * Never fails: the insert reports.
 */
int ccs__svc_outbox_insert(ccs_tx *tx, const char *topic, const void *key, size_t keylen,
			   const void *payload, size_t len, const ccs_hdrs *h, ccs_svc_err *err)
{
	ccs_svc *s = tx->svc;
	(void)err;
	if (s->nob == s->ob_cap) {
		s->ob_cap = s->ob_cap ? s->ob_cap * 2 : 256;
		s->ob = ccs_xrealloc(s->ob, s->ob_cap * sizeof(*s->ob));
	}
	obrow *o = &s->ob[s->nob++];
	/* Topic and key often point into a handler's stack or a PGresult: copy them. */
	o->topic = ccs_arena_strndup(tx->arena, topic, strlen(topic));
	if (key) {
		void *k = ccs_arena_alloc(tx->arena, keylen ? keylen : 1);
		memcpy(k, key, keylen);
		key = k;
	}
	o->key = key;
	o->keylen = keylen;
	o->payload = payload;
	o->len = len;
	o->hdrs = h->buf;
	o->hlen = h->len;
	return 0;
}

/* The statement that writes the buffered rows: one round trip, ids in emission order. */
const char ccs__svc_outbox_sql[] =
	"INSERT INTO outbox (topic, key, payload, headers)"
	" SELECT t, k, p, h FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[])"
	" WITH ORDINALITY AS u(t, k, p, h, n) ORDER BY n";

/* Build the four array parameters of ccs__svc_outbox_sql (binary format) in the arena. */
void ccs__svc_outbox_params(ccs_svc *s, const char *vals[4], int lens[4])
{
	pgarr a[4];
	static const uint32_t oids[4] = {PGARR_TEXT, PGARR_BYTEA, PGARR_BYTEA, PGARR_BYTEA};
	for (int i = 0; i < 4; i++)
		ccs__pgarr_init(&a[i], &s->arena, oids[i]);
	for (size_t i = 0; i < s->nob; i++) {
		const obrow *o = &s->ob[i];
		ccs__pgarr_add(&a[0], o->topic, (int32_t)strlen(o->topic));
		ccs__pgarr_add(&a[1], o->key, o->key ? (int32_t)o->keylen : -1);
		ccs__pgarr_add(&a[2], o->payload ? o->payload : "", (int32_t)o->len);
		ccs__pgarr_add(&a[3], o->hdrs, (int32_t)o->hlen);
	}
	for (int i = 0; i < 4; i++) {
		ccs__pgarr_finish(&a[i]);
		vals[i] = (const char *)a[i].buf;
		lens[i] = (int)a[i].len;
	}
}

/* Write the buffered outbox rows now (time-driven work; batches pipeline it with COMMIT). */
int ccs__svc_outbox_flush(ccs_svc *s, ccs_svc_err *err)
{
	const char *vals[4];
	int lens[4], rc = 0;
	static const int fmts[4] = {1, 1, 1, 1};
	PGresult *r = NULL;

	if (!s->nob)
		return 0;
	ccs__svc_outbox_params(s, vals, lens);
	const char *name = ccs__svc_stmt(s, ccs__svc_outbox_sql, &r);
	if (name)
		r = PQexecPrepared(s->pg, name, 4, vals, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = ccs_svc_pg_error(s->pg, r, err);
	else
		s->nob = 0;
	PQclear(r);
	return rc;
}

int ccs_tx_schedule(ccs_tx *tx, const char *kind, const char *subject, ccs_date due,
		    const char *payload)
{
	char d[11];
	ccs_svc_err e = {{0}, {0}};
	ccs_date_format(due, d);
	const char *p[6] = {kind, subject, d, payload, tx->input_id, tx->correlation_id};
	int rc = ccs_tx_write(tx,
			      "INSERT INTO due_work(kind, subject, due_date, payload, source_event_id,"
			      " correlation_id) VALUES ($1, $2, $3, $4, $5, $6)"
			      " ON CONFLICT (kind, subject, due_date) DO NOTHING",
			      6, p, &e);
	if (rc)
		CCS_LOG_WARN("due work insert failed", "error", CCS_LOG_S(e.msg));
	return rc;
}

int ccs_tx_unschedule(ccs_tx *tx, const char *kind, const char *subject)
{
	ccs_svc_err e = {{0}, {0}};
	const char *p[2] = {kind, subject};
	return ccs_tx_write(tx, "DELETE FROM due_work WHERE kind = $1 AND subject = $2", 2, p, &e);
}
