/*
 * The service engine (see ccs/svc.h for the processing model).
 *
 * Threading: one libuv loop thread does everything; PostgreSQL calls block it briefly. That
 * keeps the transaction, the consumer position and the relay strictly ordered without locks,
 * and a batch's work is done by the time any other callback runs.
 *
 * This file holds the daemon's life (command line, configuration, metrics, HTTP, signals,
 * drain) and the transaction API handed to handlers; svc_internal.h maps the other files.
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

#include "ccs/failpoint.h"
#include "ccs/http.h"
#include "ccs/log.h"
#include "ccs/hdrs.h"
#include "ccs/tz.h"
#include "svc_internal.h"

extern const ccs_migration ccs_runtime_migrations[];

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
		/* "config": a grant or table is missing; retried like an outage, reported apart. */
		snprintf(err->cls, sizeof(err->cls), "%s", ccs_pg_config_fault(r) ? "config" : "transient");
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

/* ---------------------------------------------------------------- periodic stats */

/* Pending clocks by kind: due within due.soon.days (about to expire) and already past due. */
static void refresh_clocks(ccs_svc *s)
{
	char today[11], soon[11], labels[96];
	ccs_date t = ccs_svc_today(s);
	ccs_date_format(t, today);
	ccs_date_format(t + (ccs_date)ccs_cfg_int(&s->cfg, "due.soon.days"), soon);
	const char *p[2] = {today, soon};
	PGresult *r = PQexecParams(s->pg,
				   "SELECT kind, count(*) FILTER (WHERE due_date <= $2::date),"
				   " count(*) FILTER (WHERE due_date < $1::date) FROM due_work GROUP BY kind",
				   2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		for (int i = 0; i < PQntuples(r); i++) {
			snprintf(labels, sizeof(labels), "kind=\"%.60s\"", PQgetvalue(r, i, 0));
			ccs_metric_set(ccs_metrics_series(s->metrics, "clocks_due_soon", labels),
				       strtod(PQgetvalue(r, i, 1), NULL));
			ccs_metric_set(ccs_metrics_series(s->metrics, "clocks_past_due", labels),
				       strtod(PQgetvalue(r, i, 2), NULL));
		}
	PQclear(r);
}

static void refresh_backlog(ccs_svc *s)
{
	if (!s->pg_ok || s->paused)
		return;
	refresh_clocks(s);
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
		if (ccs__svc_producer_create(s, err, sizeof(err)) != 0)
			CCS_LOG_ERROR("producer create failed", "error", CCS_LOG_S(err));
	}
	ccs__svc_consumer_check(s);
	refresh_backlog(s);
	if (s->def->gauges && s->pg_ok && !s->paused && s->def->gauges(s, s->def->ctx, s->pg) != 0)
		CCS_LOG_DBG("program gauges not refreshed", "error", CCS_LOG_S(PQerrorMessage(s->pg)));
	/* After "all brokers down" nothing says they are back until traffic flows; ask. */
	if (!s->kafka_ok && s->producer) {
		const struct rd_kafka_metadata *md = NULL;
		if (rd_kafka_metadata(s->producer, 0, NULL, &md, 500) == RD_KAFKA_RESP_ERR_NO_ERROR) {
			s->kafka_ok = 1;
			rd_kafka_metadata_destroy(md);
		}
	}
	ccs__svc_set_ready_metric(s);
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
		ccs__svc_relay_kick(s);
}

/* ---------------------------------------------------------------- http */

/* The endpoint's own counters, copied into the registry when /metrics is rendered. */
static void http_stats_export(ccs_svc *s)
{
	static const struct {
		const char *labels;
		size_t off;
	} rows[] = {
		{"event=\"accepted\"", offsetof(ccs_http_stats, accepted)},
		{"event=\"bad_request\"", offsetof(ccs_http_stats, bad_requests)},
		{"event=\"timeout\"", offsetof(ccs_http_stats, timeouts)},
		{"event=\"evicted\"", offsetof(ccs_http_stats, evicted)},
		{"event=\"refused\"", offsetof(ccs_http_stats, refused)},
		{"event=\"accept_error\"", offsetof(ccs_http_stats, accept_errors)},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *base = (const char *)&s->http.stats + rows[i].off;
		ccs_metric_set(ccs_metrics_series(s->metrics, "http_connections_total", rows[i].labels),
			       (double)*(const uint64_t *)(const void *)base);
	}
	ccs_metric_set(ccs_metrics_series(s->metrics, "http_connections_open", ""), (double)s->http.stats.open);
}

static int http_handler(void *ctx, const char *path, char **body, size_t *len, const char **ctype)
{
	ccs_svc *s = ctx;
	if (strcmp(path, "/metrics") == 0) {
		http_stats_export(s);
		*body = ccs_metrics_render(s->metrics, len);
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		return 200;
	}
	if (strcmp(path, "/livez") == 0) {
		char why[128];
		int live = ccs__svc_is_live(s, why, sizeof(why));
		size_t wl = strlen(why);
		*body = ccs_xmalloc(wl + 2);
		memcpy(*body, why, wl);
		(*body)[wl] = '\n';
		(*body)[wl + 1] = '\0';
		*len = strlen(*body);
		return live ? 200 : 503;
	}
	if (strcmp(path, "/readyz") == 0) {
		int ready = ccs__svc_is_ready(s);
		char buf[1024];
		snprintf(buf, sizeof(buf),
			 "%s\npostgresql %s%s\nkafka %s\npartitions %s (%zu, %zu fenced)\nprocessing %s\n",
			 ready ? "ready" : "not ready",
			 !s->pg_ok ? "down" : s->pg_fault ? "configuration fault: " : "ok",
			 s->pg_ok && s->pg_fault ? s->pg_fault_msg : "", s->kafka_ok ? "ok" : "down",
			 s->assigned ? "assigned" : "none", s->nparts, ccs__svc_parts_fenced(s),
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
	uv_idle_stop(&s->more);
	uv_timer_stop(&s->due_timer);
	uv_timer_stop(&s->backoff_timer);
	if (s->consumer) {
		uv_poll_stop(&s->kq_poll);
		ccs__svc_commit_offsets(s, 1);
		rd_kafka_consumer_close(s->consumer);
	}
	/* Flush the relay: publish and delete until the outbox is empty or time is up. */
	s->draining = 0;
	s->paused = 0;
	while (s->producer && s->pg_ok && uv_now(s->loop) < deadline) {
		uv_update_time(s->loop);
		if (!s->inflight && !s->ndelivered) {
			ccs__svc_relay_run(s);
			if (!s->inflight)
				break;
		}
		rd_kafka_poll(s->producer, 20);
		if (!s->inflight && ccs__svc_relay_delete(s) != CCS_PG_OK)
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

/* ---------------------------------------------------------------- readiness, transient faults, backoff */

/* Ready: both servers reachable, no configuration fault pending, partitions assigned,
 * processing, and none of them fenced. */
int ccs__svc_is_ready(const ccs_svc *s)
{
	return s->pg_ok && !s->pg_fault && s->kafka_ok && s->consumer && !s->consumer_fatal &&
	       s->assigned && !s->paused && !s->draining && ccs__svc_parts_fenced(s) == 0;
}

/*
 * Live: the loop runs (it answers) and no Kafka client is in a state it cannot leave by
 * itself. A consumer that could not be recreated for live.grace.ms, or a producer that could
 * not be recreated, fails /livez so that the supervisor restarts the process. Dependencies
 * being down is not a liveness failure (/readyz says that).
 */
int ccs__svc_is_live(const ccs_svc *s, char *why, size_t len)
{
	uint64_t grace = (uint64_t)ccs_cfg_int(&s->cfg, "live.grace.ms");
	if (s->consumer_dead_since && uv_now(s->loop) - s->consumer_dead_since > grace) {
		snprintf(why, len, "consumer failed and could not be recreated");
		return 0;
	}
	if (!s->producer) {
		snprintf(why, len, "producer could not be recreated");
		return 0;
	}
	snprintf(why, len, "ok");
	return 1;
}

void ccs__svc_set_ready_metric(ccs_svc *s)
{
	ccs_metric_set(s->m_ready, ccs__svc_is_ready(s) ? 1 : 0);
	ccs_metric_set(s->m_assigned, (double)s->nparts);
}

void ccs__svc_config_fault(ccs_svc *s, const ccs_svc_err *err)
{
	if (strcmp(err->cls, "config") != 0)
		return;
	if (!s->pg_fault)
		CCS_LOG_ERROR("postgresql configuration fault: processing waits for an operator",
			      "error", CCS_LOG_S(err->msg));
	s->pg_fault = 1;
	snprintf(s->pg_fault_msg, sizeof(s->pg_fault_msg), "%s", err->msg);
}

void ccs__svc_go_transient(ccs_svc *s, const char *why)
{
	CCS_LOG_WARN("pausing after a transient failure", "reason", CCS_LOG_S(why));
	if (PQstatus(s->pg) != CONNECTION_OK)
		s->pg_ok = 0;
	ccs_metric_add(s->m_transient_pg, 1);
	ccs__svc_parts_pause(s);
	if (!s->paused)
		ccs__svc_start_backoff(s);
}

static void backoff_cb(uv_timer_t *t);

void ccs__svc_start_backoff(ccs_svc *s)
{
	long min = ccs_cfg_int(&s->cfg, "backoff.min.ms"), max = ccs_cfg_int(&s->cfg, "backoff.max.ms");
	s->paused = 1;
	s->backoff_ms = s->backoff_ms <= 0 ? min : s->backoff_ms * 2;
	if (s->backoff_ms > max)
		s->backoff_ms = max;
	/* Full jitter in [backoff/2, backoff]: instances that failed together retry apart. */
	long delay = s->backoff_ms / 2 + (long)((unsigned long)rand() % (unsigned long)(s->backoff_ms / 2 + 1));
	uv_timer_start(&s->backoff_timer, backoff_cb, (uint64_t)delay, 0);
	ccs__svc_set_ready_metric(s);
}

/* Reconnect if needed, re-read positions from PostgreSQL, seek, resume. */
static void backoff_cb(uv_timer_t *t)
{
	ccs_svc *s = t->data;
	char err[512];

	if (s->draining)
		return;
	if (PQstatus(s->pg) != CONNECTION_OK || PQpipelineStatus(s->pg) != PQ_PIPELINE_OFF ||
	    ccs_pg_exec(s->pg, "SELECT 1", err, sizeof(err)) != 0) {
		PQreset(s->pg);
		ccs__svc_stmts_reset(s); /* they went with the old session */
		s->relay_leader = 0; /* the session's advisory lock went with the old connection */
		if (PQstatus(s->pg) != CONNECTION_OK) {
			s->pg_ok = 0;
			CCS_LOG_WARN("postgresql unreachable, retrying", "backoff_ms", CCS_LOG_I(s->backoff_ms));
			ccs__svc_start_backoff(s);
			return;
		}
		if (ccs__svc_pg_session(s, err, sizeof(err)) != CCS_PG_OK) {
			ccs__svc_start_backoff(s);
			return;
		}
	}
	s->pg_ok = 1;
	if (ccs__svc_parts_resume(s) != 0) {
		ccs__svc_start_backoff(s);
		return;
	}
	s->paused = 0;
	s->backoff_ms = 0;
	CCS_LOG_INFO("resumed after transient failure", "partitions", CCS_LOG_I(s->nparts));
	ccs__svc_set_ready_metric(s);
	ccs__svc_poll_soon(s);
	ccs__svc_committed(s);
}

/* A transaction committed (a batch or due work): its decisions wait in the outbox. */
void ccs__svc_committed(ccs_svc *s)
{
	ccs__svc_relay_kick(s);
}

/* ---------------------------------------------------------------- configuration */

static const ccs_cfg_def runtime_cfg[] = {
	{"pg.url", CCS_CFG_STR, "", 0, 0, 0,
	 "PostgreSQL connection URL of the daemon's own database (default postgresql://127.0.0.1:5432/ccs_<service>)"},
	{"pg.migrate", CCS_CFG_BOOL, "false", 0, 0, 0,
	 "apply missing migrations at start (needs the database owner role); false: only check that"
	 " the schema is current and refuse to start otherwise (run --migrate-only as the owner)"},
	{"pg.idle.tx.timeout.ms", CCS_CFG_INT, "10000", 0, 1000, 3600000,
	 "PostgreSQL ends a transaction left idle this long (a stalled instance's), so the instance"
	 " that takes its partitions over does not wait on it; keep it below group.session.timeout.ms"},
	{"pg.idle.session.timeout.ms", CCS_CFG_INT, "20000", 0, 0, 3600000,
	 "PostgreSQL ends a session idle this long outside a transaction: a stopped instance's, whose"
	 " session lock on the outbox relay would otherwise keep every other instance from publishing."
	 " A live daemon touches its session every relay.interval.ms; 0: never"},
	{"pg.lock.timeout.ms", CCS_CFG_INT, "60000", 0, 0, 3600000,
	 "a lock wait longer than this is a transient failure (retried), not a frozen loop; 0: no limit."
	 " Keep it well above a busy batch: instances of one daemon wait on each other's batches"},
	{"pg.plan.cache.mode", CCS_CFG_STR, "force_custom_plan", 0, 0, 0,
	 "PostgreSQL plan_cache_mode of the daemon's session: force_custom_plan plans every execution"
	 " for its parameters (tables start empty and grow, and a generic plan chosen on an empty"
	 " table can keep a useless index), auto lets PostgreSQL reuse generic plans"},
	{"kafka.bootstrap", CCS_CFG_STR, "127.0.0.1:9092", 0, 0, 0, "Kafka bootstrap servers"},
	{"group.id", CCS_CFG_STR, "", 0, 0, 0, "consumer group (default ccs-<service>)"},
	{"group.static", CCS_CFG_BOOL, "true", 0, 0, 0,
	 "static membership (instance.id): a restart keeps the partitions without a rebalance,"
	 " but a stopped instance's partitions move only after group.session.timeout.ms"},
	{"group.session.timeout.ms", CCS_CFG_INT, "30000", 0, 6000, 300000,
	 "consumer session timeout: longer than a broker restart, shorter than a tolerable scale-in pause"},
	{"live.grace.ms", CCS_CFG_INT, "30000", 0, 0, 3600000,
	 "how long a failed consumer may stay unrecreated before /livez fails"},
	{"instance.id", CCS_CFG_STR, "", 0, 0, 0,
	 "static group membership id, unique per instance (default <service>-<hostname>)"},
	{"topics.prefix", CCS_CFG_STR, "", 0, 0, 0,
	 "prepended to every topic name (environments sharing a cluster, tests)"},
	{"topics.create", CCS_CFG_BOOL, "true", 0, 0, 0, "create missing topics at start"},
	{"streams.enabled", CCS_CFG_BOOL, "true", 0, 0, 0,
	 "write each decision also to the stream of the office or county it concerns (eligibility:"
	 " <topic>.office.<office>; scheduling IEP notices: <topic>.county.<county>), topics created at start"},
	{"topics.partitions", CCS_CFG_INT, "3", 0, 1, 1000, "partitions for created topics"},
	{"topics.replication", CCS_CFG_INT, "-1", 0, -1, 10, "replication factor for created topics (-1: broker default)"},
	{"http.listen", CCS_CFG_STR, "", 0, 0, 0, "host:port of /metrics, /livez, /readyz"},
	{"http.header.timeout.ms", CCS_CFG_INT, "5000", 0, 100, 600000,
	 "a request head must arrive within this, else the connection is closed"},
	{"http.write.timeout.ms", CCS_CFG_INT, "30000", 0, 100, 600000, "a response must be read within this"},
	{"http.max.connections", CCS_CFG_INT, "64", 0, 1, 10000,
	 "open HTTP connections; the oldest idle one is closed to make room, so probes get through"},
	{"log.level", CCS_CFG_STR, "info", CCS_CFG_RELOAD, 0, 0, "debug, info, warn, error"},
	{"batch.max", CCS_CFG_INT, "200", 0, 1, 100000,
	 "messages per poll round (the loop serves HTTP and signals between rounds)"},
	{"poll.interval.ms", CCS_CFG_INT, "50", 0, 1, 10000, "safety poll of the consumer queue"},
	{"relay.batch", CCS_CFG_INT, "1000", 0, 1, 100000, "outbox rows published per round"},
	{"relay.interval.ms", CCS_CFG_INT, "200", 0, 10, 60000, "outbox scan interval when idle"},
	{"due.interval.ms", CCS_CFG_INT, "1000", 0, 10, 3600000, "how often due work is checked"},
	{"due.soon.days", CCS_CFG_INT, "7", 0, 0, 365, "the clocks_due_soon gauge counts work due within this many days"},
	{"due.batch", CCS_CFG_INT, "100", 0, 1, 10000, "due work items per transaction"},
	{"input.max.bytes", CCS_CFG_INT, "1048576", 0, 1024, 1073741824,
	 "an input value larger than this is dead-lettered unread (envelope error)"},
	{"dlq.max.bytes", CCS_CFG_INT, "900000", 0, 16384, 1073741824,
	 "a dead letter larger than this is published without its payload (kept in dead_letter_originals);"
	 " keep it below the producer's and the topics' message size limits"},
	{"drain.timeout.ms", CCS_CFG_INT, "10000", 0, 0, 600000, "bound on the shutdown flush"},
	{"backoff.min.ms", CCS_CFG_INT, "100", 0, 1, 600000, "first retry delay after a transient failure"},
	{"backoff.max.ms", CCS_CFG_INT, "10000", 0, 1, 3600000, "longest retry delay"},
	{"stats.interval.ms", CCS_CFG_INT, "30000", 0, 1000, 3600000, "stats log line and consumer lag refresh"},
	{"clock.today", CCS_CFG_STR, "", CCS_CFG_RELOAD, 0, 0,
	 "YYYY-MM-DD overriding today's date for time-driven work (tests, replays); empty: today in California"},
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
	ccs_metrics_family(m, "dead_letters_bounded_total", CCS_METRIC_COUNTER,
			   "dead letters published without their payload (too large)", NULL, 0);
	ccs_metrics_family(m, "http_connections_total", CCS_METRIC_COUNTER,
			   "HTTP endpoint connections by event (accepted, bad_request, timeout, evicted, refused)", NULL, 0);
	ccs_metrics_family(m, "http_connections_open", CCS_METRIC_GAUGE, "HTTP connections open now", NULL, 0);
	ccs_metrics_family(m, "clocks_due_soon", CCS_METRIC_GAUGE,
			   "time-driven work (deadlines, reminders) due within due.soon.days, by kind", NULL, 0);
	ccs_metrics_family(m, "clocks_past_due", CCS_METRIC_GAUGE,
			   "time-driven work past its due date and not yet fired, by kind", NULL, 0);
	ccs_metrics_family(m, "conflict_retries_total", CCS_METRIC_COUNTER,
			   "transactions rolled back by a deadlock or serialization failure (the next ones are smaller)",
			   NULL, 0);
	ccs_metrics_family(m, "batches_retried_total", CCS_METRIC_COUNTER,
			   "batches run again with a savepoint per message after a handler refused one", NULL, 0);
	ccs_metrics_family(m, "consumer_recreated_total", CCS_METRIC_COUNTER, "consumers replaced after a fatal error", NULL, 0);
	ccs_metrics_family(m, "outbox_parked_total", CCS_METRIC_COUNTER,
			   "outbox rows Kafka refused for good, moved to outbox_parked", NULL, 0);
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
	s->m_consumer_recreated = ccs_metrics_series(m, "consumer_recreated_total", "");
	s->m_parked = ccs_metrics_series(m, "outbox_parked_total", "");
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
	while (def->inputs[nt].topic)
		nt++;
	s->topics = ccs_xcalloc(nt + 1, sizeof(char *));
	s->types = ccs_xcalloc(nt + 1, sizeof(*s->types));
	for (size_t i = 0; i < nt; i++) {
		size_t tl = strlen(s->prefix) + strlen(def->inputs[i].topic) + 1;
		s->topics[i] = ccs_xmalloc(tl);
		snprintf(s->topics[i], tl, "%s%s", s->prefix, def->inputs[i].topic);
		s->types[i] = def->contract(def->inputs[i].topic);
		if (!s->types[i]) {
			snprintf(err, sizeof(err), "input topic %s has no contract", def->inputs[i].topic);
			goto usage_err;
		}
	}
	if (ccs_failpoint_init(err, sizeof(err)) != 0)
		goto usage_err;
	if (ccs_failpoints_armed)
		CCS_LOG_WARN("failpoints armed (tests only)", "failpoints", CCS_LOG_S(getenv("CCS_FAILPOINTS")));
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	s->metrics = ccs_metrics_new(def->name);
	declare_metrics(s);
	ccs_arena_init(&s->arena, 256 * 1024);
	s->batch = ccs_xcalloc((size_t)ccs_cfg_int(&s->cfg, "batch.max"), sizeof(*s->batch));

	/* Every deadline is a California date: without the zone rules the daemon cannot date. */
	if (ccs_tz_init(err, sizeof(err)) != 0)
		goto fatal;
	if (connect_pg(s, err, sizeof(err)) != 0 || ccs__svc_pg_session(s, err, sizeof(err)) != 0)
		goto fatal;
	/* The runtime role may not change the schema: unless asked to migrate, only check it, so
	 * an unmigrated or older database is refused with the way out instead of a bare
	 * "permission denied". Exit 1, not 2: it heals once the owner migrates. */
	if (migrate_only || ccs_cfg_bool(&s->cfg, "pg.migrate")) {
		if (ccs_pg_migrate(s->pg, "runtime", ccs_runtime_migrations, err, sizeof(err)) != 0 ||
		    ccs_pg_migrate(s->pg, def->name, def->migrations, err, sizeof(err)) != 0)
			goto fatal;
	} else {
		char prog[64];
		snprintf(prog, sizeof(prog), "ccs-%sd", def->name);
		if (ccs_pg_schema_check(s->pg, "runtime", ccs_runtime_migrations, prog, err, sizeof(err)) != 0 ||
		    ccs_pg_schema_check(s->pg, def->name, def->migrations, prog, err, sizeof(err)) != 0)
			goto fatal;
	}
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
	if (ccs__svc_producer_create(s, err, sizeof(err)) != 0)
		goto fatal;
	if (ccs_cfg_bool(&s->cfg, "topics.create") && ccs__svc_ensure_topics(s, err, sizeof(err)) != 0)
		goto fatal;
	if (ccs__svc_consumer_create(s, err, sizeof(err)) != 0)
		goto fatal;
	uv_timer_t *timers[] = {&s->poll_timer, &s->relay_timer, &s->dr_timer,
				&s->due_timer,  &s->backoff_timer, &s->stats_timer};
	for (size_t i = 0; i < sizeof(timers) / sizeof(timers[0]); i++) {
		uv_timer_init(s->loop, timers[i]);
		timers[i]->data = s;
	}
	uv_idle_init(s->loop, &s->more);
	s->more.data = s;
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
	s->http.header_timeout_ms = (unsigned)ccs_cfg_int(&s->cfg, "http.header.timeout.ms");
	s->http.write_timeout_ms = (unsigned)ccs_cfg_int(&s->cfg, "http.write.timeout.ms");
	s->http.max_conns = (unsigned)ccs_cfg_int(&s->cfg, "http.max.connections");
	uv_timer_start(&s->poll_timer, ccs__svc_poll_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "poll.interval.ms"));
	uv_timer_start(&s->relay_timer, ccs__svc_relay_timer_cb, 0, (uint64_t)ccs_cfg_int(&s->cfg, "relay.interval.ms"));
	uv_timer_start(&s->due_timer, ccs__svc_due_timer_cb, 100, (uint64_t)ccs_cfg_int(&s->cfg, "due.interval.ms"));
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
	if (s->loop)
		ccs_http_stop(&s->http);
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
	ccs__svc_parts_clear(s);
	for (size_t i = 0; s->topics && s->topics[i]; i++)
		free(s->topics[i]);
	free(s->topics);
	free(s->types);
	for (size_t i = 0; i < s->nextra_out; i++)
		free(s->extra_out[i]);
	free(s->extra_out);
	free(s->delivered);
	free(s->parked);
	free(s->ob);
	ccs__svc_stmts_reset(s);
	free(s->batch);
	ccs_arena_destroy(&s->arena);
	ccs_metrics_free(s->metrics);
	ccs_cfg_free(&s->cfg);
	free(s);
	return rc;
}
