/*
 * ccs-bench-pipe: the project's own baseline for the daemon benchmarks. The smallest honest
 * consume -> transaction -> produce pipe, against the same PostgreSQL and Kafka, so every daemon
 * figure can also be read as a ratio to "what this machine does with no engine at all".
 *
 *   ccs-bench-pipe --mode per-event|batched -b BOOTSTRAP -t IN_TOPIC -o OUT_TOPIC -g GROUP
 *                  -d PG_URL -T TABLE_PREFIX -n N [--batch 100] [--timeout-s 600]
 *
 * For each input event (its id is the `ce_id` header, as ccsctl and the daemons set it):
 *   - one row in <prefix>_inbox keyed by the event id (the de-duplication a real consumer needs),
 *   - one row in <prefix>_outbox (the output's topic, key and payload: an outbox-like row),
 *   - one output record on OUT_TOPIC (key and value copied from the input, header
 *     ccs_causation_id = the input's ce_id), produced after the COMMIT by an idempotent producer,
 *   - the input's offset stored for Kafka's auto commit only after the COMMIT.
 *
 * per-event: BEGIN, INSERT inbox, INSERT outbox, COMMIT per event, each its own round trip
 *   (PQexec / PQexecParams): four round trips and one commit flush per input, the way a plain
 *   consumer written without batching behaves.
 * batched: libpq pipeline mode; up to --batch events (whatever the consumer has ready, never
 *   waiting to fill a batch) in one transaction: BEGIN, one multi-row INSERT into the inbox, one
 *   into the outbox, COMMIT, sync: one round trip and one commit flush per batch.
 *
 * What it leaves out on purpose (the daemons do these, the baseline does not): a relay that
 * deletes outbox rows once Kafka acknowledged them, a consumer-offsets row in PostgreSQL, savepoints,
 * decoding and validating, any domain state. The ratio daemon/baseline is the price of those.
 *
 * It prints "READY" once partitions are assigned (the driver paces steady runs from then on) and
 * one "PIPE key=value ..." line at the end: inputs/s between the first and the last output
 * (the figure the driver compares with the daemons' first-to-last decision), start to done, and
 * latency percentiles = output's CreateTime (set here at produce time) minus the input's Kafka
 * timestamp. Exit 0 only when N events were processed and every output was acknowledged.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#define MAX_BATCH 1000

typedef struct {
	const char *mode, *bootstrap, *in, *out, *group, *pg, *prefix;
	long n;
	int batch;
	int timeout_s;
} pipe_opts;

typedef struct {
	pipe_opts o;
	int batched;
	PGconn *db;
	rd_kafka_t *cons, *prod;
	char sql_inbox1[512], sql_outbox1[512];
	char inbox_tab[128], outbox_tab[128];
	int64_t *lat_ms;
	long done, transactions, delivery_failed;
	double t_start, t_first_in, t_first_out, t_last_out;
} pipe_run;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	pipe_run *r = opaque;
	(void)rk;
	if (m->err && r->delivery_failed++ == 0)
		fprintf(stderr, "pipe: delivery failed: %s (further failures only counted)\n",
			rd_kafka_err2str(m->err));
}

/* Eager (range) assignment; READY tells the driver that pacing may start. */
static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	(void)opaque;
	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		rd_kafka_assign(rk, parts);
		printf("READY %d partitions\n", parts->cnt);
		fflush(stdout);
	} else {
		rd_kafka_assign(rk, NULL);
	}
}

static int conf_set(rd_kafka_conf_t *c, const char *k, const char *v)
{
	char err[256];
	if (rd_kafka_conf_set(c, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "pipe: %s=%s: %s\n", k, v, err);
		return -1;
	}
	return 0;
}

static int pg_ok(PGresult *res, ExecStatusType want, const char *what, PGconn *db)
{
	int ok = res && PQresultStatus(res) == want;
	if (!ok)
		fprintf(stderr, "pipe: %s: %s\n", what, res ? PQresultErrorMessage(res) : PQerrorMessage(db));
	PQclear(res);
	return ok ? 0 : -1;
}

static int setup_db(pipe_run *r)
{
	char sql[1024];
	int rc = -1;

	r->db = PQconnectdb(r->o.pg);
	if (PQstatus(r->db) != CONNECTION_OK) {
		fprintf(stderr, "pipe: connect: %s\n", PQerrorMessage(r->db));
		goto out;
	}
	snprintf(r->inbox_tab, sizeof(r->inbox_tab), "%s_inbox", r->o.prefix);
	snprintf(r->outbox_tab, sizeof(r->outbox_tab), "%s_outbox", r->o.prefix);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE IF NOT EXISTS %s (event_id uuid PRIMARY KEY, topic text NOT NULL,"
		 " kafka_partition int NOT NULL, kafka_offset bigint NOT NULL,"
		 " received_at timestamptz NOT NULL DEFAULT now());"
		 "CREATE TABLE IF NOT EXISTS %s (id bigserial PRIMARY KEY, event_id uuid NOT NULL,"
		 " topic text NOT NULL, key text, payload bytea NOT NULL,"
		 " created_at timestamptz NOT NULL DEFAULT now())",
		 r->inbox_tab, r->outbox_tab);
	if (pg_ok(PQexec(r->db, sql), PGRES_COMMAND_OK, "create tables", r->db))
		goto out;
	snprintf(r->sql_inbox1, sizeof(r->sql_inbox1),
		 "INSERT INTO %s (event_id, topic, kafka_partition, kafka_offset) VALUES ($1, $2, $3, $4)",
		 r->inbox_tab);
	snprintf(r->sql_outbox1, sizeof(r->sql_outbox1),
		 "INSERT INTO %s (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)", r->outbox_tab);
	if (r->batched && PQenterPipelineMode(r->db) != 1) {
		fprintf(stderr, "pipe: pipeline mode: %s\n", PQerrorMessage(r->db));
		goto out;
	}
	rc = 0;
out:
	return rc;
}

static int setup_kafka(pipe_run *r)
{
	char err[512];
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	rd_kafka_conf_t *p = rd_kafka_conf_new();
	int rc = -1;

	if (conf_set(c, "bootstrap.servers", r->o.bootstrap) || conf_set(c, "group.id", r->o.group) ||
	    conf_set(c, "auto.offset.reset", "earliest") || conf_set(c, "enable.auto.offset.store", "false") ||
	    conf_set(c, "enable.partition.eof", "false") ||
	    conf_set(c, "partition.assignment.strategy", "range"))
		goto out;
	rd_kafka_conf_set_rebalance_cb(c, rebalance_cb);
	r->cons = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
	c = NULL;
	if (!r->cons) {
		fprintf(stderr, "pipe: consumer: %s\n", err);
		goto out;
	}
	rd_kafka_poll_set_consumer(r->cons);
	rd_kafka_topic_partition_list_t *t = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(t, r->o.in, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(r->cons, t);
	rd_kafka_topic_partition_list_destroy(t);
	if (e) {
		fprintf(stderr, "pipe: subscribe: %s\n", rd_kafka_err2str(e));
		goto out;
	}
	if (conf_set(p, "bootstrap.servers", r->o.bootstrap) || conf_set(p, "enable.idempotence", "true"))
		goto out;
	rd_kafka_conf_set_dr_msg_cb(p, dr_cb);
	rd_kafka_conf_set_opaque(p, r);
	r->prod = rd_kafka_new(RD_KAFKA_PRODUCER, p, err, sizeof(err));
	p = NULL;
	if (!r->prod) {
		fprintf(stderr, "pipe: producer: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	if (c)
		rd_kafka_conf_destroy(c);
	if (p)
		rd_kafka_conf_destroy(p);
	return rc;
}

/* The input's ce_id header, NUL-terminated into buf; -1 when missing or not a UUID-sized string. */
static int event_id(const rd_kafka_message_t *m, char buf[64])
{
	rd_kafka_headers_t *h = NULL;
	const void *v;
	size_t len;
	if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, "ce_id", &v, &len) || len >= 64) {
		fprintf(stderr, "pipe: input without a ce_id header at %" PRId32 "/%" PRId64 "\n", m->partition,
			m->offset);
		return -1;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	return 0;
}

static int produce_one(pipe_run *r, const rd_kafka_message_t *m, const char *id)
{
	int64_t ts = (int64_t)(now_s() * 1000.0);
	rd_kafka_headers_t *h = rd_kafka_headers_new(1);
	rd_kafka_resp_err_t e;

	rd_kafka_header_add(h, "ccs_causation_id", -1, id, -1);
	do {
		e = rd_kafka_producev(r->prod, RD_KAFKA_V_TOPIC(r->o.out), RD_KAFKA_V_KEY(m->key, m->key_len),
				      RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				      RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
		if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
			rd_kafka_poll(r->prod, 10);
	} while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
	if (e) {
		rd_kafka_headers_destroy(h);
		fprintf(stderr, "pipe: produce: %s\n", rd_kafka_err2str(e));
		return -1;
	}
	rd_kafka_timestamp_type_t tt;
	int64_t in_ts = rd_kafka_message_timestamp(m, &tt);
	if (r->done < r->o.n)
		r->lat_ms[r->done] = in_ts >= 0 ? ts - in_ts : -1;
	if (r->t_first_out == 0)
		r->t_first_out = now_s();
	r->t_last_out = now_s();
	r->done++;
	rd_kafka_topic_partition_list_t *off = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(off, rd_kafka_topic_name(m->rkt), m->partition)->offset = m->offset + 1;
	rd_kafka_offsets_store(r->cons, off);
	rd_kafka_topic_partition_list_destroy(off);
	return 0;
}

static int per_event(pipe_run *r, rd_kafka_message_t *m)
{
	char id[64], part[16], off[24];
	const char *in_p[4], *out_p[4];
	int lens[4] = {0, 0, 0, (int)m->len}, fmts[4] = {0, 0, 0, 1};
	char *key = NULL;
	int rc = -1;

	if (event_id(m, id))
		goto out;
	snprintf(part, sizeof(part), "%" PRId32, m->partition);
	snprintf(off, sizeof(off), "%" PRId64, m->offset);
	key = m->key ? strndup(m->key, m->key_len) : NULL;
	in_p[0] = id, in_p[1] = r->o.in, in_p[2] = part, in_p[3] = off;
	out_p[0] = id, out_p[1] = r->o.out, out_p[2] = key, out_p[3] = m->payload;
	if (pg_ok(PQexec(r->db, "BEGIN"), PGRES_COMMAND_OK, "BEGIN", r->db) ||
	    pg_ok(PQexecParams(r->db, r->sql_inbox1, 4, NULL, in_p, NULL, NULL, 0), PGRES_COMMAND_OK, "inbox",
		  r->db) ||
	    pg_ok(PQexecParams(r->db, r->sql_outbox1, 4, NULL, out_p, lens, fmts, 0), PGRES_COMMAND_OK, "outbox",
		  r->db) ||
	    pg_ok(PQexec(r->db, "COMMIT"), PGRES_COMMAND_OK, "COMMIT", r->db))
		goto out;
	r->transactions++;
	rc = produce_one(r, m, id);
out:
	free(key);
	return rc;
}

/* Reads one query's results in pipeline mode: the result, then the NULL that ends it. */
static int pipe_result(pipe_run *r, const char *what)
{
	PGresult *res = PQgetResult(r->db);
	int rc = pg_ok(res, PGRES_COMMAND_OK, what, r->db);
	while ((res = PQgetResult(r->db)) != NULL)
		PQclear(res);
	return rc;
}

/* One pipelined transaction for msgs[0..k): one round trip. */
static int batched(pipe_run *r, rd_kafka_message_t **msgs, int k)
{
	static char ids[MAX_BATCH][64], parts[MAX_BATCH][16], offs[MAX_BATCH][24];
	static char *keys[MAX_BATCH];
	static const char *in_p[4 * MAX_BATCH], *out_p[4 * MAX_BATCH];
	static int lens[4 * MAX_BATCH], fmts[4 * MAX_BATCH];
	static char sql_in[64 * MAX_BATCH + 256], sql_out[64 * MAX_BATCH + 256];
	size_t li, lo;
	int rc = -1;

	memset(keys, 0, sizeof(keys));
	li = (size_t)snprintf(sql_in, sizeof(sql_in),
			      "INSERT INTO %s (event_id, topic, kafka_partition, kafka_offset) VALUES", r->inbox_tab);
	lo = (size_t)snprintf(sql_out, sizeof(sql_out), "INSERT INTO %s (event_id, topic, key, payload) VALUES",
			      r->outbox_tab);
	for (int i = 0; i < k; i++) {
		rd_kafka_message_t *m = msgs[i];
		if (event_id(m, ids[i]))
			goto out;
		snprintf(parts[i], sizeof(parts[i]), "%" PRId32, m->partition);
		snprintf(offs[i], sizeof(offs[i]), "%" PRId64, m->offset);
		keys[i] = m->key ? strndup(m->key, m->key_len) : NULL;
		int b = 4 * i;
		in_p[b] = ids[i], in_p[b + 1] = r->o.in, in_p[b + 2] = parts[i], in_p[b + 3] = offs[i];
		out_p[b] = ids[i], out_p[b + 1] = r->o.out, out_p[b + 2] = keys[i], out_p[b + 3] = m->payload;
		lens[b] = lens[b + 1] = lens[b + 2] = 0, lens[b + 3] = (int)m->len;
		fmts[b] = fmts[b + 1] = fmts[b + 2] = 0, fmts[b + 3] = 1;
		li += (size_t)snprintf(sql_in + li, sizeof(sql_in) - li, "%s($%d, $%d, $%d, $%d)", i ? ", " : " ",
				       b + 1, b + 2, b + 3, b + 4);
		lo += (size_t)snprintf(sql_out + lo, sizeof(sql_out) - lo, "%s($%d, $%d, $%d, $%d)", i ? ", " : " ",
				       b + 1, b + 2, b + 3, b + 4);
	}
	if (!PQsendQueryParams(r->db, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryParams(r->db, sql_in, 4 * k, NULL, in_p, NULL, NULL, 0) ||
	    !PQsendQueryParams(r->db, sql_out, 4 * k, NULL, out_p, lens, fmts, 0) ||
	    !PQsendQueryParams(r->db, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(r->db)) {
		fprintf(stderr, "pipe: send: %s\n", PQerrorMessage(r->db));
		goto out;
	}
	int bad = pipe_result(r, "BEGIN");
	bad |= pipe_result(r, "inbox");
	bad |= pipe_result(r, "outbox");
	bad |= pipe_result(r, "COMMIT");
	PGresult *sync = PQgetResult(r->db);
	if (!sync || PQresultStatus(sync) != PGRES_PIPELINE_SYNC) {
		fprintf(stderr, "pipe: expected the pipeline sync\n");
		bad = 1;
	}
	PQclear(sync);
	if (bad)
		goto out;
	r->transactions++;
	for (int i = 0; i < k; i++)
		if (produce_one(r, msgs[i], ids[i]))
			goto out;
	rc = 0;
out:
	for (int i = 0; i < k; i++)
		free(keys[i]);
	return rc;
}

/* utime+stime of the PostgreSQL backend serving this pipe (same machine), -1 when unreadable:
 * the driver cannot read it after the pipe exits, because the backend exits with it. */
static double backend_cpu_s(PGconn *db)
{
	char path[64], buf[1024];
	double cpu = -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", PQbackendPID(db));
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long ut, st;
	/* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
		cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return cpu;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, long n, double p)
{
	if (n <= 0)
		return -1;
	long k = (long)(p / 100.0 * (double)n + 0.5) - 1;
	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

static void usage(void)
{
	fprintf(stderr, "usage: ccs-bench-pipe --mode per-event|batched -b BOOTSTRAP -t IN_TOPIC -o OUT_TOPIC"
			" -g GROUP -d PG_URL -T TABLE_PREFIX -n N [--batch 100] [--timeout-s 600]\n");
}

static int parse_opts(int argc, char **argv, pipe_opts *o)
{
	static const struct option lo[] = {{"mode", required_argument, NULL, 'm'},
					   {"batch", required_argument, NULL, 'B'},
					   {"timeout-s", required_argument, NULL, 'S'},
					   {NULL, 0, NULL, 0}};
	int c;
	memset(o, 0, sizeof(*o));
	o->batch = 100;
	o->timeout_s = 600;
	while ((c = getopt_long(argc, argv, "b:t:o:g:d:T:n:", lo, NULL)) != -1) {
		switch (c) {
		case 'm': o->mode = optarg; break;
		case 'B': o->batch = (int)strtol(optarg, NULL, 10); break;
		case 'S': o->timeout_s = (int)strtol(optarg, NULL, 10); break;
		case 'b': o->bootstrap = optarg; break;
		case 't': o->in = optarg; break;
		case 'o': o->out = optarg; break;
		case 'g': o->group = optarg; break;
		case 'd': o->pg = optarg; break;
		case 'T': o->prefix = optarg; break;
		case 'n': o->n = strtol(optarg, NULL, 10); break;
		default: return -1;
		}
	}
	if (!o->mode || (strcmp(o->mode, "per-event") && strcmp(o->mode, "batched")) || !o->bootstrap || !o->in ||
	    !o->out || !o->group || !o->pg || !o->prefix || o->n <= 0 || o->batch < 1 || o->batch > MAX_BATCH)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static rd_kafka_message_t *msgs[MAX_BATCH];
	pipe_run r;
	int rc = 1, k = 0;

	memset(&r, 0, sizeof(r));
	if (parse_opts(argc, argv, &r.o)) {
		usage();
		return 2;
	}
	r.t_start = now_s();
	r.batched = strcmp(r.o.mode, "batched") == 0;
	r.lat_ms = calloc((size_t)r.o.n, sizeof(int64_t));
	if (!r.lat_ms || setup_db(&r) || setup_kafka(&r))
		goto out;
	double deadline = r.t_start + r.o.timeout_s;
	while (r.done < r.o.n) {
		if (now_s() > deadline) {
			fprintf(stderr, "pipe: timeout after %d s with %ld of %ld events\n", r.o.timeout_s, r.done,
				r.o.n);
			goto out;
		}
		/* Batched: take what is ready now (never wait to fill a batch), at most --batch. */
		int want = r.batched ? r.o.batch : 1;
		if (want > r.o.n - r.done)
			want = (int)(r.o.n - r.done);
		k = 0;
		while (k < want) {
			rd_kafka_message_t *m = rd_kafka_consumer_poll(r.cons, k ? 0 : 100);
			if (!m)
				break;
			if (m->err) {
				if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
					fprintf(stderr, "pipe: consume: %s\n", rd_kafka_message_errstr(m));
				rd_kafka_message_destroy(m);
				continue;
			}
			if (r.t_first_in == 0)
				r.t_first_in = now_s();
			msgs[k++] = m;
		}
		rd_kafka_poll(r.prod, 0);
		if (k == 0)
			continue;
		int bad = r.batched ? batched(&r, msgs, k) : per_event(&r, msgs[0]);
		for (int i = 0; i < k; i++)
			rd_kafka_message_destroy(msgs[i]);
		k = 0;
		if (bad)
			goto out;
	}
	rd_kafka_flush(r.prod, 60000);
	double t_done = now_s();
	if (rd_kafka_outq_len(r.prod) > 0 || r.delivery_failed) {
		fprintf(stderr, "pipe: %d outputs unacknowledged, %ld failed\n", rd_kafka_outq_len(r.prod),
			r.delivery_failed);
		goto out;
	}
	qsort(r.lat_ms, (size_t)r.done, sizeof(int64_t), cmp_i64);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     (double)ru.ru_stime.tv_usec / 1e6;
	double span = r.t_last_out - r.t_first_out;
	printf("PIPE mode=%s n=%ld transactions=%ld first_to_last_s=%.3f inputs_per_s=%.1f start_to_done_s=%.3f"
	       " first_in_after_s=%.3f lat_p50_ms=%" PRId64 " lat_p90_ms=%" PRId64 " lat_p99_ms=%" PRId64
	       " lat_max_ms=%" PRId64 " cpu_s=%.3f maxrss_kib=%ld pg_backend_cpu_s=%.3f\n",
	       r.o.mode, r.done, r.transactions, span, span > 0 ? (double)(r.done - 1) / span : 0.0,
	       t_done - r.t_start, r.t_first_in - r.t_start, pct(r.lat_ms, r.done, 50), pct(r.lat_ms, r.done, 90),
	       pct(r.lat_ms, r.done, 99), pct(r.lat_ms, r.done, 100), cpu, ru.ru_maxrss, backend_cpu_s(r.db));
	fflush(stdout);
	rc = 0;
out:
	if (r.cons) {
		rd_kafka_consumer_close(r.cons);
		rd_kafka_destroy(r.cons);
	}
	if (r.prod)
		rd_kafka_destroy(r.prod);
	if (r.db)
		PQfinish(r.db);
	free(r.lat_ms);
	return rc;
}
