/*
 * Internal interface of the service engine, shared by its files (not for daemons: they use
 * ccs/svc.h). Names with the ccs__svc_ prefix are engine-internal, in the libuv manner.
 *
 *   svc.c          the hub: the daemon's life (command line, configuration, metrics, HTTP,
 *                  signals and drain), readiness and liveness, transient faults and backoff,
 *                  what follows a commit (ccs__svc_committed)
 *   svc_consume.c  partitions and their fencing, one message, one batch (two-phase inputs),
 *                  pausing and resuming partitions for the hub's recovery
 *   svc_relay.c    the outbox relay: publish in id order, delete what Kafka acknowledged
 *   svc_due.c      time-driven work from the due_work table
 *   svc_kafka.c    librdkafka configuration, callbacks, topic creation, the io-event bridge
 *   svc_tx.c       the bottom: the handlers' transaction API, queued writes, savepoints, the
 *                  outbox buffer, prepared statements, pipelines, binary array parameters
 *
 * The spokes (consume, relay, due, kafka) call the hub and the bottom; the one pair that still
 * calls each other is consume and kafka (the io-event bridge triggers consume, consume stores
 * offsets and re-polls through the consumer it shares with kafka).
 */
#ifndef CCS_SVC_INTERNAL_H
#define CCS_SVC_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <uv.h>

#include "ccs/hdrs.h"
#include "ccs/http.h"
#include "ccs/svc.h"

/*
 * Partition state: each assigned partition has the next offset and owner epoch read from
 * PostgreSQL in the rebalance callback. A partition is READY (its messages are processed),
 * PENDING (its position must be re-read from PostgreSQL after a failure: paused until then) or
 * FENCED (another instance took it over: paused until the next rebalance).
 */
enum { PART_READY, PART_PENDING, PART_FENCED };

typedef struct part {
	char *topic;
	int32_t partition;
	int64_t next_offset; /* -2: nothing processed yet, start at the beginning */
	int64_t epoch;
	int state;
} part;

/* An outbox row buffered until the transaction's multi-row insert (svc_tx.c). */
typedef struct obrow {
	const char *topic;
	const void *key;
	size_t keylen;
	const void *payload;
	size_t len;
	const uint8_t *hdrs;
	size_t hlen;
} obrow;

/* A named prepared statement of the engine's connection. */
typedef struct stmt {
	uint64_t hash;
	char *sql;
	char name[16];
} stmt;

#define CCS_SVC_MAX_STMTS 256

/* A one-dimensional array parameter in PostgreSQL's binary format, built in an arena. */
typedef struct pgarr {
	ccs_arena *arena;
	uint8_t *buf;
	size_t len, cap;
	uint32_t n;
	int hasnull;
} pgarr;

#define PGARR_BYTEA 17u
#define PGARR_INT8 20u
#define PGARR_INT4 23u
#define PGARR_TEXT 25u

/* One statement of a pipeline: nparams < 0 sends it unprepared (BEGIN, COMMIT). */
typedef struct pq_step {
	const char *sql;
	int nparams;
	const char *const *values;
	const int *lengths;
	const int *formats;
} pq_step;

struct ccs_tx {
	ccs_svc *svc;
	PGconn *pg;
	ccs_arena *arena;
	const char *input_id;
	const char *input_time;
	const char *correlation_id;
	const char *trace_id;  /* W3C trace id, 32 lowercase hex digits, or NULL */
	void *batch_state;     /* the input's prepare state for this batch, or NULL */
};

struct ccs_svc {
	const ccs_svc_def *def;
	ccs_cfg cfg;
	uv_loop_t *loop;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t poll_timer, relay_timer, dr_timer, due_timer, backoff_timer, stats_timer;
	uv_poll_t kq_poll;
	uv_idle_t more;      /* consume again after a full batch, once I/O was polled */
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
	char **extra_out;    /* output topics added by the daemon at start (per-office streams) */
	size_t nextra_out;
	const ProtobufCMessageDescriptor **types; /* each input topic's contract type */
	/* transaction in flight */
	size_t chunk_max;    /* messages per transaction now: shrinks after a deadlock, grows back */
	obrow *ob;           /* buffered outbox rows */
	size_t nob, ob_cap;
	stmt stmts[CCS_SVC_MAX_STMTS];
	size_t nstmts;
	/* ccs_tx_write: statements sent in pipeline mode whose results are not read yet */
	size_t npend;
	int pend_failed;      /* one of them failed: the transaction is aborted */
	ccs_svc_err pend_err; /* its error, for the message's dead letter */
	/* relay */
	int relay_leader;
	size_t inflight;
	int64_t *delivered;
	size_t ndelivered, delivered_cap;
	size_t relay_failed;
	struct {
		int64_t id;
		rd_kafka_resp_err_t err;
	} *parked;           /* rows Kafka refused for good, to move to outbox_parked */
	size_t nparked, parked_cap;
	int relay_full;
	int relay_again;     /* kicked while a round was in flight: run again when it ends */
	/* state */
	int pg_ok, kafka_ok, assigned, paused, draining;
	/* A configuration fault (a missing grant or table, ccs_pg_config_fault) met while
	 * processing: not ready until a batch commits again or the assignment changes, so the
	 * short resumes between retries do not report ready. */
	int pg_fault;
	char pg_fault_msg[512];
	int consumer_fatal;  /* the consumer hit a fatal error: recreate it from the loop */
	uint64_t consumer_dead_since; /* loop time of the fatal error or failed recreation, 0: alive */
	int commit_pending;  /* offsets stored since the last commit to Kafka (for lag tools) */
	uint64_t last_commit;
	long backoff_ms;
	ccs_date today_override;
	/* metrics */
	ccs_metric *m_processed, *m_duplicate, *m_stale, *m_dead, *m_commit, *m_rollback, *m_fenced;
	ccs_metric *m_published, *m_pub_err, *m_backlog, *m_backlog_age, *m_batch, *m_txtime;
	ccs_metric *m_age, *m_ready, *m_transient_pg, *m_transient_kafka, *m_assigned;
	ccs_metric *m_consumer_recreated, *m_parked;
};

int ccs__svc_exec_simple(ccs_svc *s, const char *sql);
int ccs__svc_savepoint(ccs_svc *s, const char *sql, ccs_svc_err *err);
void ccs__svc_set_ready_metric(ccs_svc *s);
void ccs__svc_parts_clear(ccs_svc *s);
size_t ccs__svc_parts_fenced(const ccs_svc *s);
int ccs__svc_is_ready(const ccs_svc *s);
void ccs__svc_go_transient(ccs_svc *s, const char *why);
void ccs__svc_config_fault(ccs_svc *s, const ccs_svc_err *err);
void ccs__svc_start_backoff(ccs_svc *s);
void ccs__svc_poll_soon(ccs_svc *s);
void ccs__svc_consume(ccs_svc *s);
void ccs__svc_parts_pause(ccs_svc *s);
int ccs__svc_parts_resume(ccs_svc *s);
void ccs__svc_committed(ccs_svc *s);
void ccs__svc_relay_run(ccs_svc *s);
void ccs__svc_relay_kick(ccs_svc *s);
int ccs__svc_relay_delete(ccs_svc *s);
void ccs__svc_relay_timer_cb(uv_timer_t *t);
void ccs__svc_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
void ccs__svc_due_timer_cb(uv_timer_t *t);
void ccs__svc_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
			 rd_kafka_topic_partition_list_t *parts, void *opaque);
int ccs__svc_producer_create(ccs_svc *s, char *errbuf, size_t errlen);
int ccs__svc_ensure_topics(ccs_svc *s, char *errbuf, size_t errlen);
int ccs__svc_consumer_create(ccs_svc *s, char *errbuf, size_t errlen);
void ccs__svc_consumer_check(ccs_svc *s);
void ccs__svc_commit_offsets(ccs_svc *s, int force);
int ccs__svc_is_live(const ccs_svc *s, char *why, size_t len);
void ccs__svc_poll_timer_cb(uv_timer_t *t);
part *ccs__svc_part_find(ccs_svc *s, const char *topic, int32_t partition);
/* svc_tx.c: the bottom of the engine */
const char *ccs__svc_trace_id(ccs_arena *a, const char *traceparent, const char *correlation_id);
extern const char ccs__svc_outbox_sql[];
void ccs__pgarr_init(pgarr *a, ccs_arena *arena, uint32_t elemoid);
void ccs__pgarr_add(pgarr *a, const void *v, int32_t len);
void ccs__pgarr_add_int(pgarr *a, int64_t v, int bytes);
void ccs__pgarr_finish(pgarr *a);
const char *ccs__svc_stmt(ccs_svc *s, const char *sql, PGresult **fail);
void ccs__svc_stmts_reset(ccs_svc *s);
int ccs__svc_pg_session(ccs_svc *s, char *errbuf, size_t errlen);
int ccs__svc_pipeline(ccs_svc *s, const pq_step *st, size_t n, PGresult **res);
int ccs__svc_flush(ccs_svc *s, ccs_svc_err *err);
int ccs__svc_err_rc(const ccs_svc_err *err);
void ccs__svc_flush_reset(ccs_svc *s);
void ccs__svc_outbox_params(ccs_svc *s, const char *vals[4], int lens[4]);
int ccs__svc_outbox_flush(ccs_svc *s, ccs_svc_err *err);
int ccs__svc_outbox_insert(ccs_tx *tx, const char *topic, const void *key, size_t keylen,
			   const void *payload, size_t len, const ccs_hdrs *h, ccs_svc_err *err);

#endif
