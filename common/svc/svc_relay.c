/*
 * The outbox relay (see svc_internal.h): rows are published in id order by the instance holding
 * the relay advisory lock, and deleted once Kafka acknowledged them.
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
#include "ccs/log.h"
#include "svc_internal.h"

/* ---------------------------------------------------------------- outbox relay */

/*
 * Errors after which Kafka will never take this record as it is, however often it is sent:
 * retrying would block every row behind it (the relay publishes in id order).
 */
static int refused_for_good(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_INVALID_MSG:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return 1;
	default:
		return 0;
	}
}

/*
 * Move a row Kafka refused for good into outbox_parked, with the reason, so that the rows
 * behind it flow. Counted (outbox_parked_total) and alerted on; an operator can inspect it and
 * put it back. Returns a CCS_PG_* code.
 */
static int relay_park(ccs_svc *s, int64_t id, rd_kafka_resp_err_t why)
{
	char idb[24];
	snprintf(idb, sizeof(idb), "%lld", (long long)id);
	const char *params[2] = {idb, rd_kafka_err2str(why)};
	PGresult *r = PQexecParams(s->pg,
				   "WITH moved AS (DELETE FROM outbox WHERE id = $1"
				   " RETURNING id, topic, key, payload, headers, created_at)"
				   " INSERT INTO outbox_parked (id, topic, key, payload, headers, created_at, reason)"
				   " SELECT id, topic, key, payload, headers, created_at, $2 FROM moved"
				   " ON CONFLICT (id) DO NOTHING",
				   2, NULL, params, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? CCS_PG_OK : ccs_pg_classify(s->pg, r);
	PQclear(r);
	if (rc == CCS_PG_OK) {
		ccs_metric_add(s->m_parked, 1);
		CCS_LOG_ERROR("outbox row refused by kafka for good, parked", "id", CCS_LOG_I(id), "error",
			      CCS_LOG_S(rd_kafka_err2str(why)));
	}
	return rc;
}

/* Park what the last round collected; rows whose park failed are retried next round. */
static int relay_park_all(ccs_svc *s)
{
	size_t kept = 0;
	int rc = CCS_PG_OK;
	for (size_t i = 0; i < s->nparked; i++) {
		if (rc == CCS_PG_OK)
			rc = relay_park(s, s->parked[i].id, s->parked[i].err);
		if (rc != CCS_PG_OK)
			s->parked[kept++] = s->parked[i];
	}
	s->nparked = kept;
	return rc;
}

static void park_later(ccs_svc *s, int64_t id, rd_kafka_resp_err_t err)
{
	if (s->nparked == s->parked_cap) {
		s->parked_cap = s->parked_cap ? s->parked_cap * 2 : 16;
		s->parked = ccs_xrealloc(s->parked, s->parked_cap * sizeof(*s->parked));
	}
	s->parked[s->nparked].id = id;
	s->parked[s->nparked].err = err;
	s->nparked++;
}

void ccs__svc_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	ccs_svc *s = opaque;
	(void)rk;
	if (s->inflight)
		s->inflight--;
	if (m->err && refused_for_good(m->err)) {
		park_later(s, (int64_t)(intptr_t)m->_private, m->err);
		return;
	}
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
int ccs__svc_relay_delete(ccs_svc *s)
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
void ccs__svc_relay_run(ccs_svc *s)
{
	char lim[16];
	PGresult *r = NULL;

	if (s->inflight || !s->pg_ok || !s->producer || s->paused)
		goto out;
	/* Acknowledged rows whose delete failed (connection lost) are deleted first. */
	if (s->ndelivered && ccs__svc_relay_delete(s) != CCS_PG_OK)
		goto out;
	if (s->nparked && relay_park_all(s) != CCS_PG_OK)
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
			ccs__svc_go_transient(s, "outbox read failed");
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
			if (refused_for_good(err)) {
				/* Not this row's turn to block the others: park it, go on. */
				park_later(s, id, err);
				s->relay_again = 1;
				continue;
			}
			CCS_LOG_WARN("produce refused, will retry", "error", CCS_LOG_S(rd_kafka_err2str(err)));
			s->relay_full = 1;
			break;
		}
		s->inflight++;
	}
	if (s->inflight)
		uv_timer_start(&s->dr_timer, dr_timer_cb, 2, 2);
	else if (s->nparked && relay_park_all(s) != CCS_PG_OK && PQstatus(s->pg) != CONNECTION_OK)
		ccs__svc_go_transient(s, "outbox park failed");
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
	if (s->ndelivered)
		CCS_FAILPOINT("relay.after_publish");
	if (ccs__svc_relay_delete(s) != CCS_PG_OK || relay_park_all(s) != CCS_PG_OK) {
		ccs__svc_go_transient(s, "outbox delete failed");
		return;
	}
	int again = s->relay_again;
	s->relay_again = 0;
	if ((s->relay_full || again) && !s->relay_failed && !s->draining)
		ccs__svc_relay_run(s);
}

/* Publish what committed; a kick during a round in flight is remembered, not dropped. */
void ccs__svc_relay_kick(ccs_svc *s)
{
	if (s->draining)
		return;
	if (s->inflight) {
		s->relay_again = 1;
		return;
	}
	ccs__svc_relay_run(s);
}

void ccs__svc_relay_timer_cb(uv_timer_t *t)
{
	ccs__svc_relay_kick(t->data);
}
