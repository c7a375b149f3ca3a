/*
 * ccs-mockbroker: a development Kafka "cluster" in its own process, and a probe.
 *
 * Serve mode wraps librdkafka's mock cluster (rdkafka_mock.h): N in-process brokers on
 * ephemeral loopback ports that speak enough of the protocol for producers (idempotent and
 * transactional), low-level and group consumers, offset commits and topic auto-creation.
 * It runs in a process of its own so that a daemon killed by a chaos test does not take
 * the broker with it, and it is also a fault injector: a broker can go down and come back
 * on a timer or on SIGUSR2, and per-API request errors can be queued at start or on SIGUSR1.
 *
 * Limits to remember: the mock keeps at most 5 MiB per partition (older segments are
 * dropped; this is hard-coded in librdkafka 2.0.2) and keeps everything in memory, so all
 * data is lost when the process stops. Volume, retention and restart tests need the real
 * broker (deploy/dev/kafka.sh).
 *
 * Probe mode (--probe BOOTSTRAP) is a client: it exits 0 as soon as the cluster answers a
 * metadata request, 1 when it did not within --timeout. With --roundtrip TOPIC it also
 * creates the topic if needed, produces one record with acks=all and reads that very
 * record back, which proves the broker can store and serve data, not merely answer.
 *
 * The file is self-contained (librdkafka and libc only) so that scripts can build it with
 * one `cc` command when no CMake build tree exists yet.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Fallible functions: a status that is dropped is a bug. */
#define MB_MUST_CHECK __attribute__((warn_unused_result))

#define MB_MAX_TOPICS 32
#define MB_MAX_ERRSPECS 16
#define MB_MAX_ERRS 64

/* Kafka API keys by name, for --request-errors. Numbers from the Kafka protocol guide. */
static const struct {
	const char *name;
	int16_t key;
} api_keys[] = {
	{"Produce", 0},		{"Fetch", 1},		    {"ListOffsets", 2},
	{"Metadata", 3},	{"OffsetCommit", 8},	    {"OffsetFetch", 9},
	{"FindCoordinator", 10}, {"JoinGroup", 11},	    {"Heartbeat", 12},
	{"LeaveGroup", 13},	{"SyncGroup", 14},	    {"DescribeGroups", 15},
	{"ListGroups", 16},	{"ApiVersions", 18},	    {"CreateTopics", 19},
	{"DeleteTopics", 20},	{"InitProducerId", 22},	    {"OffsetForLeaderEpoch", 23},
	{"AddPartitionsToTxn", 24}, {"AddOffsetsToTxn", 25}, {"EndTxn", 26},
	{"TxnOffsetCommit", 28},
};

struct topic_spec {
	const char *name;
	int partitions;
};

struct err_spec {
	int16_t api;
	size_t cnt;
	rd_kafka_resp_err_t errs[MB_MAX_ERRS];
};

struct opts {
	int brokers;
	int down_broker;
	double down_after; /* seconds; < 0 = never */
	double up_after;   /* seconds after going down; < 0 = stays down */
	int rtt_ms;
	const char *bootstrap_file;
	struct topic_spec topics[MB_MAX_TOPICS];
	int ntopics;
	struct err_spec errspecs[MB_MAX_ERRSPECS];
	int nerrspecs;
	const char *probe;
	const char *roundtrip_topic;
	int timeout_ms;
	int verbose;
};

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_usr1;
static volatile sig_atomic_t got_usr2;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGUSR2)
		got_usr2 = 1;
	else
		got_stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fputs("usage: ccs-mockbroker [serve options]\n"
	      "       ccs-mockbroker --probe BOOTSTRAP [--roundtrip TOPIC] [--timeout MS]\n"
	      "\n"
	      "Serve mode runs librdkafka's mock Kafka cluster in this process until SIGTERM or\n"
	      "SIGINT, and prints its bootstrap servers (host:port,...) on the first line of stdout.\n"
	      "It keeps at most 5 MiB per partition and everything is lost when it stops: use the\n"
	      "real broker (deploy/dev/kafka.sh) for volume and restart tests.\n"
	      "\n"
	      "  -b, --brokers N            number of brokers, ids 1..N (default 1)\n"
	      "  -t, --topic NAME[:PARTS]   create a topic at start (default 3 partitions); repeatable.\n"
	      "                             Unknown topics are also auto-created on first use.\n"
	      "  -f, --bootstrap-file PATH  also write the bootstrap servers to PATH (atomically)\n"
	      "      --broker-down-after S  take a broker down S seconds after start\n"
	      "      --broker-up-after S    bring it back S seconds after it went down\n"
	      "      --down-broker ID       which broker --broker-down-after/SIGUSR2 affect (default 1)\n"
	      "      --rtt MS               add MS of round-trip latency to every broker\n"
	      "  -e, --request-errors API:ERR[,ERR...]\n"
	      "                             queue errors returned to the next requests of API, one per\n"
	      "                             request in order, e.g. Produce:NOT_LEADER_FOR_PARTITION,\n"
	      "                             REQUEST_TIMED_OUT. API is a name (Produce, Fetch, Metadata,\n"
	      "                             OffsetCommit, JoinGroup, InitProducerId, ...) or a number;\n"
	      "                             ERR is a librdkafka error name without RD_KAFKA_RESP_ERR_,\n"
	      "                             or a number. Repeatable.\n"
	      "  -v, --verbose              log librdkafka debug output and fault events to stderr\n"
	      "  -h, --help                 this text\n"
	      "\n"
	      "Signals in serve mode: SIGUSR1 queues the --request-errors again; SIGUSR2 toggles the\n"
	      "--down-broker down/up; SIGTERM/SIGINT stop (exit 0).\n"
	      "\n"
	      "Probe mode is a client: exit 0 when BOOTSTRAP answers a metadata request within\n"
	      "--timeout MS (default 10000), 1 otherwise. --roundtrip TOPIC also creates TOPIC if\n"
	      "missing (3 partitions, replication 1), produces one record with acks=all and reads\n"
	      "the same record back.\n",
	      f);
}

/* Parse a non-negative number of seconds; -1 on error. */
static double parse_secs(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0)
		return -1;
	return v;
}

/* Parse an int in [lo, hi] into *out; 0 on success, -1 otherwise. */
MB_MUST_CHECK static int parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

MB_MUST_CHECK static int parse_api(const char *s, size_t len, int16_t *out)
{
	char buf[64];
	int v;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	for (size_t i = 0; i < sizeof(api_keys) / sizeof(api_keys[0]); i++) {
		if (strcasecmp(buf, api_keys[i].name) == 0) {
			*out = api_keys[i].key;
			return 0;
		}
	}
	if (parse_int(buf, 0, 32767, &v) < 0)
		return -1;
	*out = (int16_t)v;
	return 0;
}

/* An error by librdkafka name (with or without the RD_KAFKA_RESP_ERR_ prefix) or number. */
MB_MUST_CHECK static int parse_err(const char *s, size_t len, rd_kafka_resp_err_t *out)
{
	static const char prefix[] = "RD_KAFKA_RESP_ERR_";
	const struct rd_kafka_err_desc *descs;
	size_t n;
	char buf[96];
	int v;

	if (len >= sizeof(prefix) - 1 && strncasecmp(s, prefix, sizeof(prefix) - 1) == 0) {
		s += sizeof(prefix) - 1;
		len -= sizeof(prefix) - 1;
	}
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	rd_kafka_get_err_descs(&descs, &n);
	for (size_t i = 0; i < n; i++) {
		if (descs[i].name && strcasecmp(descs[i].name, buf) == 0) {
			*out = descs[i].code;
			return 0;
		}
	}
	if (parse_int(buf, -200, 32767, &v) < 0)
		return -1;
	*out = (rd_kafka_resp_err_t)v;
	return 0;
}

/* "API:ERR[,ERR...]" into one err_spec. */
MB_MUST_CHECK static int parse_errspec(const char *s, struct err_spec *es)
{
	const char *colon = strchr(s, ':');
	const char *p;

	if (!colon || parse_api(s, (size_t)(colon - s), &es->api) < 0)
		return -1;
	es->cnt = 0;
	p = colon + 1;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (es->cnt == MB_MAX_ERRS || parse_err(p, len, &es->errs[es->cnt]) < 0)
			return -1;
		es->cnt++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

MB_MUST_CHECK static int parse_topic(char *s, struct topic_spec *ts)
{
	char *colon = strchr(s, ':');

	ts->partitions = 3;
	if (colon) {
		*colon = '\0';
		if (parse_int(colon + 1, 1, 10000, &ts->partitions) < 0)
			return -1;
	}
	if (!*s)
		return -1;
	ts->name = s;
	return 0;
}

enum {
	OPT_DOWN_AFTER = 256,
	OPT_UP_AFTER,
	OPT_DOWN_BROKER,
	OPT_RTT,
	OPT_PROBE,
	OPT_ROUNDTRIP,
	OPT_TIMEOUT,
};

/* Fill *o from argv; 0 to go on, 1 to exit 0 (help), -1 on a usage error. */
MB_MUST_CHECK static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{"brokers", required_argument, 0, 'b'},
		{"topic", required_argument, 0, 't'},
		{"bootstrap-file", required_argument, 0, 'f'},
		{"broker-down-after", required_argument, 0, OPT_DOWN_AFTER},
		{"broker-up-after", required_argument, 0, OPT_UP_AFTER},
		{"down-broker", required_argument, 0, OPT_DOWN_BROKER},
		{"rtt", required_argument, 0, OPT_RTT},
		{"request-errors", required_argument, 0, 'e'},
		{"probe", required_argument, 0, OPT_PROBE},
		{"roundtrip", required_argument, 0, OPT_ROUNDTRIP},
		{"timeout", required_argument, 0, OPT_TIMEOUT},
		{"verbose", no_argument, 0, 'v'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->brokers = 1;
	o->down_broker = 1;
	o->down_after = -1;
	o->up_after = -1;
	o->timeout_ms = 10000;
	while ((c = getopt_long(argc, argv, "b:t:f:e:vh", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_int(optarg, 1, 16, &o->brokers) < 0)
				goto bad;
			break;
		case 't':
			if (o->ntopics == MB_MAX_TOPICS ||
			    parse_topic(optarg, &o->topics[o->ntopics]) < 0)
				goto bad;
			o->ntopics++;
			break;
		case 'f':
			o->bootstrap_file = optarg;
			break;
		case OPT_DOWN_AFTER:
			if ((o->down_after = parse_secs(optarg)) < 0)
				goto bad;
			break;
		case OPT_UP_AFTER:
			if ((o->up_after = parse_secs(optarg)) < 0)
				goto bad;
			break;
		case OPT_DOWN_BROKER:
			if (parse_int(optarg, 1, 16, &o->down_broker) < 0)
				goto bad;
			break;
		case OPT_RTT:
			if (parse_int(optarg, 0, 600000, &o->rtt_ms) < 0)
				goto bad;
			break;
		case 'e':
			if (o->nerrspecs == MB_MAX_ERRSPECS ||
			    parse_errspec(optarg, &o->errspecs[o->nerrspecs]) < 0)
				goto bad;
			o->nerrspecs++;
			break;
		case OPT_PROBE:
			o->probe = optarg;
			break;
		case OPT_ROUNDTRIP:
			o->roundtrip_topic = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_int(optarg, 1, 3600000, &o->timeout_ms) < 0)
				goto bad;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ccs-mockbroker: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->down_broker > o->brokers) {
		fprintf(stderr, "ccs-mockbroker: --down-broker %d but only %d broker(s)\n",
			o->down_broker, o->brokers);
		return -1;
	}
	if (o->roundtrip_topic && !o->probe) {
		fprintf(stderr, "ccs-mockbroker: --roundtrip needs --probe\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "ccs-mockbroker: bad option value '%s'\n", optarg);
	return -1;
}

/* librdkafka's own log lines are noise for a dev tool unless asked for. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

MB_MUST_CHECK static int conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
	char errstr[256];

	if (rd_kafka_conf_set(conf, k, v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		fprintf(stderr, "ccs-mockbroker: %s=%s: %s\n", k, v, errstr);
		return -1;
	}
	return 0;
}

static rd_kafka_conf_t *base_conf(const struct opts *o)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (!o->verbose)
		rd_kafka_conf_set_log_cb(conf, quiet_log);
	else if (conf_set(conf, "debug", o->probe ? "broker,topic,metadata,admin,msg"
						  : "mock,broker") < 0)
		fprintf(stderr, "ccs-mockbroker: going on without librdkafka debug output\n");
	return conf;
}

/* Write the bootstrap list to path via a temporary file and rename, so a reader polling
 * for the file never sees half a line. */
MB_MUST_CHECK static int write_bootstrap_file(const char *path, const char *bootstraps)
{
	char tmp[4096];
	FILE *f;
	int n, rc = -1;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		goto out;
	f = fopen(tmp, "w");
	if (!f)
		goto out;
	fprintf(f, "%s\n", bootstraps);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		fprintf(stderr, "ccs-mockbroker: cannot write %s: %s\n", path, strerror(errno));
	return rc;
}

static void push_errors(rd_kafka_mock_cluster_t *mc, const struct opts *o)
{
	for (int i = 0; i < o->nerrspecs; i++) {
		const struct err_spec *es = &o->errspecs[i];

		rd_kafka_mock_push_request_errors_array(mc, es->api, es->cnt, es->errs);
		if (o->verbose)
			fprintf(stderr, "ccs-mockbroker: queued %zu error(s) for api %d\n",
				es->cnt, es->api);
	}
}

static void set_broker(rd_kafka_mock_cluster_t *mc, int id, int up, int verbose)
{
	rd_kafka_resp_err_t err = up ? rd_kafka_mock_broker_set_up(mc, id)
				     : rd_kafka_mock_broker_set_down(mc, id);

	if (err)
		fprintf(stderr, "ccs-mockbroker: broker %d %s: %s\n", id, up ? "up" : "down",
			rd_kafka_err2str(err));
	else if (verbose)
		fprintf(stderr, "ccs-mockbroker: broker %d %s\n", id, up ? "up" : "down");
}

/* Serve until SIGTERM/SIGINT, firing the timed and signalled faults from a 50 ms tick. */
MB_MUST_CHECK static int serve(const struct opts *o)
{
	char errstr[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk = NULL;
	rd_kafka_mock_cluster_t *mc = NULL;
	const char *bootstraps;
	double start, down_at = -1;
	int down = 0, rc = 1;

	conf = base_conf(o);
	/* The handle only hosts the cluster's threads; it never talks to a broker itself. */
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "ccs-mockbroker: rd_kafka_new: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	mc = rd_kafka_mock_cluster_new(rk, o->brokers);
	if (!mc) {
		fprintf(stderr, "ccs-mockbroker: cannot create the mock cluster\n");
		goto out;
	}
	for (int i = 0; i < o->ntopics; i++) {
		rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
			mc, o->topics[i].name, o->topics[i].partitions,
			o->brokers < 3 ? o->brokers : 3);
		if (err) {
			fprintf(stderr, "ccs-mockbroker: topic %s: %s\n", o->topics[i].name,
				rd_kafka_err2str(err));
			goto out;
		}
	}
	for (int id = 1; o->rtt_ms > 0 && id <= o->brokers; id++)
		rd_kafka_mock_broker_set_rtt(mc, id, o->rtt_ms);
	push_errors(mc, o);

	bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
	if (o->bootstrap_file && write_bootstrap_file(o->bootstrap_file, bootstraps) < 0)
		goto out;
	printf("%s\n", bootstraps);
	fflush(stdout);

	start = now_s();
	while (!got_stop) {
		struct timespec tick = {0, 50 * 1000 * 1000};
		double t = now_s() - start;

		if (o->down_after >= 0 && !down && down_at < 0 && t >= o->down_after) {
			set_broker(mc, o->down_broker, 0, o->verbose);
			down = 1;
			down_at = t;
		}
		if (down && o->up_after >= 0 && down_at >= 0 && t >= down_at + o->up_after) {
			set_broker(mc, o->down_broker, 1, o->verbose);
			down = 0;
		}
		if (got_usr1) {
			got_usr1 = 0;
			push_errors(mc, o);
		}
		if (got_usr2) {
			got_usr2 = 0;
			down = !down;
			set_broker(mc, o->down_broker, !down, o->verbose);
		}
		nanosleep(&tick, NULL);
	}
	rc = 0;
out:
	if (mc)
		rd_kafka_mock_cluster_destroy(mc);
	if (rk)
		rd_kafka_destroy(rk);
	if (o->bootstrap_file && rc == 0)
		unlink(o->bootstrap_file);
	return rc;
}

static int remaining_ms(double deadline)
{
	double r = (deadline - now_s()) * 1000.0;

	return r < 1 ? 0 : (int)r;
}

/* Wait for a metadata answer listing at least one broker, retrying until the deadline
 * (the first attempts fail with transport errors while a broker is still starting). */
MB_MUST_CHECK static int probe_metadata(rd_kafka_t *rk, double deadline, int verbose)
{
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;

	while (remaining_ms(deadline) > 0) {
		const struct rd_kafka_metadata *md = NULL;
		int ms = remaining_ms(deadline);

		err = rd_kafka_metadata(rk, 0, NULL, &md, ms < 2000 ? ms : 2000);
		if (!err) {
			int nb = md->broker_cnt;

			rd_kafka_metadata_destroy(md);
			if (nb > 0)
				return 0;
			err = RD_KAFKA_RESP_ERR__TRANSPORT;
		}
		if (verbose)
			fprintf(stderr, "ccs-mockbroker: metadata: %s\n", rd_kafka_err2str(err));
		if (remaining_ms(deadline) > 0) {
			struct timespec pause = {0, 200 * 1000 * 1000};
			nanosleep(&pause, NULL);
		}
	}
	fprintf(stderr, "ccs-mockbroker: no metadata answer: %s\n", rd_kafka_err2str(err));
	return -1;
}

/* Does the topic exist with at least one partition? A metadata request naming the topic
 * also auto-creates it where the broker allows that (the mock cluster does). */
MB_MUST_CHECK static int topic_exists(rd_kafka_t *rk, const char *topic, double deadline)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	int ms = remaining_ms(deadline), yes = 0;

	if (!rkt)
		return 0;
	/* A freshly auto-created topic may first be reported without a leader. */
	for (int attempt = 0; attempt < 3 && !yes && ms > 0; attempt++) {
		struct timespec pause = {0, 300 * 1000 * 1000};

		if (attempt)
			nanosleep(&pause, NULL);
		ms = remaining_ms(deadline);
		if (rd_kafka_metadata(rk, 0, rkt, &md, ms < 5000 ? ms : 5000) != 0)
			continue;
		yes = md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0;
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_topic_destroy(rkt);
	return yes;
}

/* Create the topic with the Admin API unless it exists (the mock cluster has no
 * CreateTopics handler, but auto-creates on the metadata request). */
MB_MUST_CHECK static int ensure_topic(rd_kafka_t *rk, const char *topic, double deadline)
{
	char errstr[256];
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t n;
	int rc = -1;

	if (topic_exists(rk, topic, deadline))
		return 0;
	nt = rd_kafka_NewTopic_new(topic, 3, 1, errstr, sizeof(errstr));
	if (!nt) {
		fprintf(stderr, "ccs-mockbroker: topic %s: %s\n", topic, errstr);
		return -1;
	}
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	ev = rd_kafka_queue_poll(q, remaining_ms(deadline));
	if (!ev) {
		fprintf(stderr, "ccs-mockbroker: CreateTopics timed out\n");
		goto out;
	}
	if (rd_kafka_event_error(ev)) {
		fprintf(stderr, "ccs-mockbroker: CreateTopics: %s\n",
			rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &n);
	if (n == 1 && rd_kafka_topic_result_error(tr[0]) &&
	    rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		fprintf(stderr, "ccs-mockbroker: CreateTopics %s: %s\n", topic,
			rd_kafka_topic_result_error_string(tr[0]));
		goto out;
	}
	rc = 0;
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

struct delivery {
	int done;
	rd_kafka_resp_err_t err;
	int32_t partition;
	int64_t offset;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct delivery *d = m->_private;

	(void)rk;
	(void)opaque;
	d->done = 1;
	d->err = m->err;
	d->partition = m->partition;
	d->offset = m->offset;
}

/* Produce one unique record and read it back from the partition and offset the delivery
 * report named. The topic is created first because brokers may refuse auto-creation. */
MB_MUST_CHECK static int roundtrip(const struct opts *o, double deadline)
{
	char errstr[256], payload[128];
	rd_kafka_conf_t *conf;
	rd_kafka_t *prod = NULL, *cons = NULL;
	rd_kafka_topic_partition_list_t *tpl = NULL;
	struct delivery d = {0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1};
	rd_kafka_resp_err_t err;
	struct timespec ts;
	int rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(payload, sizeof(payload), "ccs-probe %ld %lld.%09ld", (long)getpid(),
		 (long long)ts.tv_sec, ts.tv_nsec);

	conf = base_conf(o);
	if (conf_set(conf, "bootstrap.servers", o->probe) < 0 ||
	    conf_set(conf, "acks", "all") < 0 || conf_set(conf, "enable.idempotence", "true") < 0) {
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	prod = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!prod) {
		fprintf(stderr, "ccs-mockbroker: producer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	if (probe_metadata(prod, deadline, o->verbose) < 0 ||
	    ensure_topic(prod, o->roundtrip_topic, deadline) < 0)
		goto out;
	err = rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(o->roundtrip_topic),
				RD_KAFKA_V_KEY("probe", 5),
				RD_KAFKA_V_VALUE(payload, strlen(payload)),
				RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
	if (err) {
		fprintf(stderr, "ccs-mockbroker: produce: %s\n", rd_kafka_err2str(err));
		goto out;
	}
	while (!d.done && remaining_ms(deadline) > 0)
		rd_kafka_poll(prod, 100);
	if (!d.done || d.err) {
		fprintf(stderr, "ccs-mockbroker: delivery: %s\n",
			d.done ? rd_kafka_err2str(d.err) : "timed out");
		goto out;
	}

	conf = base_conf(o);
	if (conf_set(conf, "bootstrap.servers", o->probe) < 0 ||
	    conf_set(conf, "enable.auto.commit", "false") < 0 ||
	    conf_set(conf, "group.id", "ccs-mockbroker-probe") < 0) {
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	cons = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	if (!cons) {
		fprintf(stderr, "ccs-mockbroker: consumer: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		goto out;
	}
	rd_kafka_poll_set_consumer(cons);
	tpl = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(tpl, o->roundtrip_topic, d.partition)->offset = d.offset;
	err = rd_kafka_assign(cons, tpl);
	if (err) {
		fprintf(stderr, "ccs-mockbroker: assign: %s\n", rd_kafka_err2str(err));
		goto out;
	}
	while (rc < 0 && remaining_ms(deadline) > 0) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(cons, 200);

		if (!m)
			continue;
		if (m->err) {
			if (o->verbose)
				fprintf(stderr, "ccs-mockbroker: consume: %s\n",
					rd_kafka_message_errstr(m));
		} else if (m->offset == d.offset && m->len == strlen(payload) &&
			   memcmp(m->payload, payload, m->len) == 0) {
			printf("roundtrip ok: %s [%" PRId32 "] @ %" PRId64 "\n",
			       o->roundtrip_topic, d.partition, d.offset);
			rc = 0;
		} else {
			fprintf(stderr, "ccs-mockbroker: read back a different record at %" PRId64 "\n",
				m->offset);
			rd_kafka_message_destroy(m);
			goto out;
		}
		rd_kafka_message_destroy(m);
	}
	if (rc < 0)
		fprintf(stderr, "ccs-mockbroker: record not read back before the timeout\n");
out:
	if (tpl)
		rd_kafka_topic_partition_list_destroy(tpl);
	if (cons) {
		rd_kafka_consumer_close(cons);
		rd_kafka_destroy(cons);
	}
	if (prod)
		rd_kafka_destroy(prod);
	return rc;
}

MB_MUST_CHECK static int probe(const struct opts *o)
{
	char errstr[256];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	double deadline = now_s() + o->timeout_ms / 1000.0;
	int rc;

	if (o->roundtrip_topic)
		return roundtrip(o, deadline) == 0 ? 0 : 1;
	conf = base_conf(o);
	if (conf_set(conf, "bootstrap.servers", o->probe) < 0) {
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!rk) {
		fprintf(stderr, "ccs-mockbroker: %s\n", errstr);
		rd_kafka_conf_destroy(conf);
		return 1;
	}
	rc = probe_metadata(rk, deadline, o->verbose);
	rd_kafka_destroy(rk);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct sigaction sa;
	int r;

	r = parse_args(argc, argv, &o);
	if (r != 0) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	if (o.probe)
		return probe(&o);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return serve(&o);
}
