/*
 * Time-driven work (see svc_internal.h): due_work rows fired through the same
 * transaction-plus-outbox path as messages.
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
#include "ccs/pg.h"
#include "svc_internal.h"

/* ---------------------------------------------------------------- time-driven work */

/*
 * Run the selected due rows in the open transaction. Without `careful`, no savepoints: work
 * the daemon refuses sends the tick round again (1) with a savepoint per row, so that work
 * which can never succeed is logged and dropped alone, never retried forever. Each row's id
 * goes into ids[] for the one DELETE of the tick. Returns 0, 1 or CCS_SVC_TRANSIENT.
 */
static int due_rows(ccs_svc *s, PGresult *r, int careful, const char **ids, ccs_svc_err *err)
{
	int rc = 0;
	for (int i = 0; i < PQntuples(r); i++) {
		ccs_due d;
		d.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		d.kind = PQgetvalue(r, i, 1);
		d.subject = PQgetvalue(r, i, 2);
		d.due_date = ccs_date_parse(PQgetvalue(r, i, 3));
		d.payload = PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4);
		d.correlation_id = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
		char *input = ccs_arena_printf(&s->arena, "due:%s:%s:%s", d.kind, d.subject, PQgetvalue(r, i, 3));
		char *when = ccs_arena_printf(&s->arena, "%sT00:00:00Z", PQgetvalue(r, i, 3));
		ccs_tx tx = {s, s->pg, &s->arena, input, when, d.correlation_id,
			     ccs__svc_trace_id(&s->arena, NULL, d.correlation_id), NULL};
		size_t mark = s->nob;
		ids[i] = PQgetvalue(r, i, 0);
		if (careful && (rc = ccs__svc_savepoint(s, "SAVEPOINT due", err)) != 0)
			return rc;
		rc = s->def->due(s, s->def->ctx, &tx, &d, err);
		if (rc == 0 && careful)
			rc = ccs__svc_flush(s, err); /* its queued writes, before its RELEASE */
		if (rc && s->pend_failed)
			*err = s->pend_err;
		if (rc == CCS_SVC_TRANSIENT)
			return rc;
		if (rc) {
			if (!careful)
				return 1;
			CCS_LOG_ERROR("due work failed", "kind", CCS_LOG_S(d.kind), "subject", CCS_LOG_S(d.subject),
				      "error_class", CCS_LOG_S(err->cls), "error", CCS_LOG_S(err->msg));
			ccs_metrics_inc(s->metrics, "due_work_failed_total", "", 1);
			if ((rc = ccs__svc_savepoint(s, "ROLLBACK TO SAVEPOINT due", err)) != 0)
				return rc;
			s->nob = mark; /* its outbox rows go with its writes */
		}
		if (careful && (rc = ccs__svc_savepoint(s, "RELEASE SAVEPOINT due", err)) != 0)
			return rc;
		char labels[96];
		snprintf(labels, sizeof(labels), "kind=\"%s\"", d.kind);
		ccs_metrics_inc(s->metrics, "due_work_fired_total", labels, 1);
	}
	return 0;
}

/*
 * Fire due work whose date has come, in one transaction per tick: lock the rows (SKIP LOCKED,
 * so several instances share the work), call the daemon, delete the rows with one statement,
 * commit. The input id is derived from (kind, subject, due date), so the decision ids are the
 * same on a replay.
 */
void ccs__svc_due_timer_cb(uv_timer_t *t)
{
	ccs_svc *s = t->data;
	char today[11], lim[16];
	PGresult *r = NULL;
	int rc = 0, in_tx = 0, rows = 0;
	ccs_svc_err err = {{0}, {0}};

	if (s->draining || s->paused || !s->pg_ok || !s->def->due)
		return;
	ccs_date_format(ccs_svc_today(s), today);
	snprintf(lim, sizeof(lim), "%ld", ccs_cfg_int(&s->cfg, "due.batch"));
	const char *params[2] = {today, lim};
	for (int careful = 0; careful < 2; careful++) {
		PQclear(r);
		r = NULL;
		s->nob = 0;
		if (ccs__svc_exec_simple(s, "BEGIN") != CCS_PG_OK) {
			rc = CCS_SVC_TRANSIENT;
			goto out;
		}
		in_tx = 1;
		r = PQexecParams(s->pg,
				 "SELECT id, kind, subject, due_date, payload, correlation_id FROM due_work"
				 " WHERE due_date <= $1 ORDER BY due_date, id LIMIT $2 FOR UPDATE SKIP LOCKED",
				 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK) {
			rc = ccs_svc_pg_error(s->pg, r, &err);
			goto out;
		}
		rows = PQntuples(r);
		if (rows == 0)
			goto out;
		const char **ids = ccs_arena_alloc(&s->arena, (size_t)rows * sizeof(*ids));
		rc = due_rows(s, r, careful, ids, &err);
		if (rc == 0) {
			const char *dp[1] = {ccs_pg_text_array(&s->arena, ids, (size_t)rows)};
			ccs_tx tx = {s, s->pg, &s->arena, "due", NULL, NULL, NULL, NULL};
			rc = ccs_tx_write(&tx, "DELETE FROM due_work WHERE id = ANY($1::bigint[])", 1, dp, &err);
			if (rc == 0 && (rc = ccs__svc_flush(s, &err)) != 0 && rc != CCS_SVC_TRANSIENT)
				rc = careful ? CCS_SVC_TRANSIENT : 1;
		}
		if (rc != 1)
			break;
		ccs_metrics_inc(s->metrics, "due_ticks_retried_total", "", 1);
		if (ccs__svc_exec_simple(s, "ROLLBACK") != CCS_PG_OK) {
			rc = CCS_SVC_TRANSIENT;
			goto out;
		}
		in_tx = 0;
	}
	if (rc)
		goto out;
	if (ccs__svc_outbox_flush(s, &err) != 0) {
		rc = CCS_SVC_TRANSIENT;
		goto out;
	}
	if (ccs__svc_exec_simple(s, "COMMIT") != CCS_PG_OK)
		rc = CCS_SVC_TRANSIENT;
	in_tx = 0;
	if (rc == 0)
		CCS_FAILPOINT("due.after_commit");
	ccs__svc_committed(s);
	if (rows == (int)ccs_cfg_int(&s->cfg, "due.batch"))
		uv_timer_start(&s->due_timer, ccs__svc_due_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "due.interval.ms"));
out:
	PQclear(r);
	s->nob = 0;
	if (in_tx && ccs__svc_exec_simple(s, "ROLLBACK") != CCS_PG_OK)
		rc = CCS_SVC_TRANSIENT;
	ccs_arena_reset(&s->arena);
	if (rc == CCS_SVC_TRANSIENT)
		ccs__svc_go_transient(s, "due work rolled back");
}
