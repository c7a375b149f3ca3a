/*
 * The service engine: everything a CCS daemon does that is not its domain.
 *
 * A daemon fills a ccs_svc_def (its name, input topics, migrations, config table and handler
 * callbacks) and calls ccs_svc_main(). The engine owns the libuv loop, the Kafka consumer and
 * the outbox relay's producer, the PostgreSQL connection, the HTTP endpoint and the metrics,
 * and implements the processing model of docs/architecture.md:
 *
 *   for each batch of one partition:  BEGIN;
 *     per message: SAVEPOINT; inbox insert (duplicate event id -> skipped); handler;
 *                  poison -> ROLLBACK TO SAVEPOINT and a dead letter into the outbox;
 *     advance consumer_offsets.next_offset WHERE owner_epoch = ours (else fenced: ROLLBACK);
 *   COMMIT; rd_kafka_offsets_store(); kick the relay.
 *
 * The handler runs inside that transaction. It reads and writes its own tables through
 * ccs_tx_conn() and publishes decisions with ccs_tx_emit(), which only inserts outbox rows:
 * nothing reaches Kafka unless the transaction commits, and the relay publishes what committed.
 * Decision ids are UUIDv5(input event id, decision kind), so a replay is byte-identical.
 *
 * Handler return values: 0; CCS_SVC_POISON (the message can never succeed: it goes to the
 * dead-letter topic with err->cls and err->msg); CCS_SVC_TRANSIENT (roll back the batch, pause,
 * reconnect with backoff, resume from PostgreSQL's offset). A PostgreSQL error seen by a
 * handler is classified with ccs_svc_pg_error().
 */
#ifndef CCS_SVC_H
#define CCS_SVC_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "ccs/cfg.h"
#include "ccs/date.h"
#include "ccs/mem.h"
#include "ccs/metrics.h"
#include "ccs/pg.h"
#include "ccs/uuid.h"

#define CCS_SVC_POISON (-2001)
#define CCS_SVC_TRANSIENT (-2002)

typedef struct ccs_svc ccs_svc;
typedef struct ccs_tx ccs_tx;

/* Why a message failed: a short class ("decode", "validation", "envelope", "data") and text. */
typedef struct ccs_svc_err {
	char cls[32];
	char msg[512];
} ccs_svc_err;

/* One input message as the handler sees it. Strings are NUL-terminated copies, or NULL. */
typedef struct ccs_msg {
	const char *topic;
	int32_t partition;
	int64_t offset;
	int64_t timestamp_ms;
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t len;
	const char *ce_id;          /* required; a UUID */
	const char *ce_type;
	const char *ce_time;        /* RFC 3339; decisions copy it so replays are identical */
	const char *correlation_id; /* defaults to ce_id */
} ccs_msg;

/* A unit of time-driven work from the due_work table. */
typedef struct ccs_due {
	int64_t id;
	const char *kind;
	const char *subject;   /* usually the case id */
	ccs_date due_date;
	const char *payload;   /* optional text the scheduler stored */
	const char *correlation_id;
} ccs_due;

/*
 * The handler of one input topic. `pb` is the input's value, unpacked by the engine as the
 * topic's contract type into the batch arena and checked (every string well-formed UTF-8
 * without NUL bytes): the handler casts it to its type and never decodes by itself.
 */
typedef int (*ccs_svc_handler)(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m,
			       ProtobufCMessage *pb, ccs_svc_err *err);

/* The messages of one input topic in a batch that its handler will be called for, in order. */
typedef struct ccs_svc_batch {
	size_t n;
	const ccs_msg *const *msgs;
	ProtobufCMessage *const *pbs;
} ccs_svc_batch;

/*
 * Two-phase handling of a batch (optional). `prepare` runs before the handlers: it reads what
 * all the batch's messages need in as few statements as possible (the locks of every key
 * queued at once, one lookup for every key) and returns in *state what the handlers then find
 * through ccs_tx_batch_state() instead of reading per message. `finish` runs after the last
 * handler of the batch and writes what the handlers buffered in the state (multi-row). Both
 * run only on the fast path: in a careful run (a savepoint per message, after a refusal) the
 * state is NULL and each handler reads and writes for itself, so a handler must work both ways.
 * They return 0 or a CCS_SVC_* code; a refusal sends the batch to the careful run.
 */
typedef int (*ccs_svc_prepare_fn)(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b, void **state,
				  ccs_svc_err *err);
typedef int (*ccs_svc_finish_fn)(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err);

/* One row of a daemon's input table: a {word, handler} table in the PgBouncer manner. */
typedef struct ccs_svc_input {
	const char *topic;       /* without topics.prefix */
	ccs_svc_handler handle;
	ccs_svc_prepare_fn prepare; /* optional */
	ccs_svc_finish_fn finish;   /* optional */
} ccs_svc_input;

/* The contract of a topic: its message type, or NULL (ccs_pbjson_topic_descriptor). */
typedef const ProtobufCMessageDescriptor *(*ccs_svc_contract_fn)(const char *topic);

/*
 * Streams of their own for a decision (per-office topics): given the output topic and the
 * emit's tags, write up to `max` suffixes into out[]; the record is also written, unchanged and
 * in the same transaction, to "<topic>.<suffix>" for each. Returns how many.
 */
typedef size_t (*ccs_svc_streams_fn)(void *ctx, const char *topic, const char *const *tags, const char **out,
				     size_t max);

typedef struct ccs_svc_def {
	const char *name;                /* "referral": metrics prefix ccs_referral_, group ccs-referral */
	const char *version;
	const ccs_svc_input *inputs;     /* input topics and their handlers, {NULL}-terminated */
	ccs_svc_contract_fn contract;    /* the shared topic -> message type table */
	const char *const *output_topics;  /* created at start when topics.create is on */
	const ccs_migration *migrations; /* the daemon's own schema */
	const ccs_cfg_def *cfg;          /* the daemon's settings (may be NULL) */
	const char *default_http;        /* e.g. "127.0.0.1:9101" */
	void *ctx;
	/* After config, database and migrations, before consuming: load reference data. */
	int (*start)(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen);
	int (*due)(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_due *d, ccs_svc_err *err);
	void (*stop)(ccs_svc *svc, void *ctx);
	ccs_svc_streams_fn streams;      /* optional: per-office copies of decisions */
	/* Optional: refresh program gauges (queues, worklists) from the daemon's tables; called
	 * by the stats timer between batches, outside any transaction, never on the hot path. */
	int (*gauges)(ccs_svc *svc, void *ctx, PGconn *pg);
	/* Extra command-line subcommands (e.g. "what-if"); return -1 when not handled. */
	int (*command)(ccs_svc *svc, void *ctx, int argc, char **argv);
} ccs_svc_def;

/* From `start`: one more output topic (without topics.prefix) to create with the others. */
void ccs_svc_add_output_topic(ccs_svc *svc, const char *topic);

/* Parse the command line, run the daemon until drained; returns the process exit code. */
int ccs_svc_main(const ccs_svc_def *def, int argc, char **argv);

const ccs_cfg *ccs_svc_cfg(const ccs_svc *svc);
ccs_metrics *ccs_svc_metrics(ccs_svc *svc);
/* The connection for commands run outside the loop (what-if); NULL before start. */
PGconn *ccs_svc_conn(ccs_svc *svc);
/* Today as the rules see it: the `clock.today` setting when set (tests), else the UTC date. */
ccs_date ccs_svc_today(const ccs_svc *svc);

/*
 * A protobuf-c allocator over `a`: unpacked messages live until the arena is reset (after the
 * batch), so handlers never free them and the hot path does no malloc per message.
 */
ProtobufCAllocator ccs_svc_arena_allocator(ccs_arena *a);

/* Inside a transaction. The connection, with the queued writes (ccs_tx_write) sent and checked
 * first: prefer ccs_tx_query, which sends a read together with them. */
PGconn *ccs_tx_conn(ccs_tx *tx);
ccs_arena *ccs_tx_arena(ccs_tx *tx);
/* What the input's `prepare` kept for the current batch; NULL without one (careful runs). */
void *ccs_tx_batch_state(ccs_tx *tx);
/* The deterministic decision id for `kind` of the current input. */
void ccs_tx_decision_id(ccs_tx *tx, const char *kind, char out[CCS_UUID_STRLEN]);
/* The input's id (event id, or "due:<id>" for timer work) and time. */
const char *ccs_tx_input_id(ccs_tx *tx);
const char *ccs_tx_input_time(ccs_tx *tx);
/*
 * Publish `msg` on `topic` (without topics.prefix: the engine adds it) with key `key` once the
 * transaction commits. ce_id is the decision id
 * of `kind`; ce_type the message's full name; ce_time the input's time; causation the input id;
 * correlation carried over from the input.
 */
int ccs_tx_emit(ccs_tx *tx, const char *topic, const char *key, const char *kind,
		const ProtobufCMessage *msg) __attribute__((warn_unused_result));
/*
 * As ccs_tx_emit, plus routing headers for consumers that filter without decoding (a regional
 * office subscribing to its counties): `tags` holds name, value pairs, NULL-terminated. Tags
 * carry ids and codes only, never personal data.
 */
int ccs_tx_emit_tagged(ccs_tx *tx, const char *topic, const char *key, const char *kind,
		       const ProtobufCMessage *msg, const char *const *tags)
	__attribute__((warn_unused_result));
/* Schedule time-driven work; (kind, subject, due_date) is unique, a second insert is a no-op. */
int ccs_tx_schedule(ccs_tx *tx, const char *kind, const char *subject, ccs_date due,
		    const char *payload) __attribute__((warn_unused_result));
/* Remove scheduled work of `kind` for `subject` (all dates), e.g. when a case closes. */
int ccs_tx_unschedule(ccs_tx *tx, const char *kind, const char *subject)
	__attribute__((warn_unused_result));
/*
 * Run a parameterised statement in the transaction (text parameters). Returns the result on
 * success (caller PQclear()s) or NULL with *rc set to CCS_SVC_TRANSIENT or CCS_SVC_POISON and
 * err filled.
 */
PGresult *ccs_tx_query(ccs_tx *tx, const char *sql, int nparams, const char *const *params,
		       int *rc, ccs_svc_err *err);
/* ccs_tx_query with per-parameter lengths and formats (1: binary, e.g. a bytea). */
PGresult *ccs_tx_query_params(ccs_tx *tx, const char *sql, int nparams, const char *const *params,
			      const int *lengths, const int *formats, int *rc, ccs_svc_err *err);
/*
 * A statement whose rows the handler does not read and whose failure is not expected: an
 * INSERT, UPDATE or DELETE of the daemon's own rows, an advisory lock. It is queued in the
 * connection's pipeline and goes to the server with the next ccs_tx_query or the commit, so a
 * run of writes costs no round trip of its own. Its failure surfaces there, possibly during a
 * later message of the batch; the engine then runs the batch again with a savepoint per message
 * and each message's writes checked before its RELEASE, so the message that caused it is the
 * one dead-lettered. A write whose row count or RETURNING the handler uses, or whose failure
 * the handler handles (a booking conflict), must go through ccs_tx_query. Returns 0, or a
 * CCS_SVC_* code when an earlier queued statement had to be checked here and failed.
 */
int ccs_tx_write(ccs_tx *tx, const char *sql, int nparams, const char *const *params, ccs_svc_err *err)
	__attribute__((warn_unused_result));
int ccs_tx_write_params(ccs_tx *tx, const char *sql, int nparams, const char *const *params,
			const int *lengths, const int *formats, ccs_svc_err *err) __attribute__((warn_unused_result));
/* Count a decision for /metrics: decisions_total{kind,outcome}. */
void ccs_tx_count_decision(ccs_tx *tx, const char *kind, const char *outcome);

/* Map a failed PostgreSQL result to CCS_SVC_TRANSIENT or CCS_SVC_POISON (class "data"). */
int ccs_svc_pg_error(PGconn *c, const PGresult *r, ccs_svc_err *err);
/* Fill err and return CCS_SVC_POISON: for decode and validation failures. */
int ccs_svc_poison(ccs_svc_err *err, const char *cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
