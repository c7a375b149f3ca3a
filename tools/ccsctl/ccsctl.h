/*
 * ccsctl internals shared by its command files (main.c, submit.c, tail.c, topics.c, dlq.c,
 * lag.c, trace.c, status.c).
 * Not a library: nothing outside tools/ccsctl includes this.
 *
 * Exit codes of every command: 0 done, 1 failed (Kafka, input or I/O error), 2 usage error.
 */
#ifndef CCS_CCSCTL_H
#define CCS_CCSCTL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define CCSCTL_EXIT_OK 0
#define CCSCTL_EXIT_FAIL 1
#define CCSCTL_EXIT_USAGE 2

/* Options every command takes: the bootstrap servers and raw librdkafka properties. */
struct ccsctl_common {
	const char *bootstrap;
	const char **props; /* "key=value", applied in order after our defaults */
	size_t nprops;
};

/* Counts SIGINT/SIGTERM (up to 2): at 1 commands finish what is in flight and exit; at 2 they
 * stop waiting for deliveries too. A fatal librdkafka error sets 1. */
extern volatile sig_atomic_t ccsctl_stop;

/* The long options every command accepts, for the commands' own getopt_long tables. */
#define CCSCTL_COMMON_LONGOPTS                                   \
	{"bootstrap", required_argument, NULL, 'b'},             \
	{"property", required_argument, NULL, 'X'},              \
	{"help", no_argument, NULL, 'h'},                        \
	{"version", no_argument, NULL, 'V'}
#define CCSCTL_COMMON_SHORTOPTS "b:X:hV"
#define CCSCTL_COMMON_HELP                                                                 \
	"Common options:\n"                                                                \
	"  -b, --bootstrap HOST:PORT  Kafka bootstrap servers (default: $CCS_KAFKA_BOOTSTRAP,\n" \
	"                             else 127.0.0.1:9092)\n"                               \
	"  -X, --property KEY=VALUE   librdkafka property, passed to rd_kafka_conf_set\n"   \
	"                             (repeatable; e.g. -X security.protocol=SASL_SSL)\n"   \
	"  -h, --help                 show this help\n"                                     \
	"  -V, --version              show the version\n"

/*
 * Handle a common option seen by a command's getopt loop. Returns 1 if `opt` was a common
 * option (handled; for -h/-V *exit_now is set to the exit code), 0 if not.
 */
int ccsctl_common_opt(struct ccsctl_common *o, int opt, const char *arg, const char *help,
		      int *exit_now);
void ccsctl_common_free(struct ccsctl_common *o);

/* A librdkafka configuration: our defaults, the bootstrap, then every -X in order. */
rd_kafka_conf_t *ccsctl_conf_new(const struct ccsctl_common *o, char *errbuf, size_t errlen);
/* Set one property on conf, with "ccsctl: " errors on stderr. Returns 0 or -1. */
int ccsctl_conf_set(rd_kafka_conf_t *conf, const char *key, const char *val)
	__attribute__((warn_unused_result));
/* Is `key` set by one of the -X options (so our default must not override it)? */
int ccsctl_user_set(const struct ccsctl_common *o, const char *key);

/* Print "ccsctl: <msg>\n" on stderr. */
void ccsctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a whole non-negative decimal number within [0, max]; 0 or -1. */
int ccsctl_parse_num(const char *s, int64_t max, int64_t *out) __attribute__((warn_unused_result));

/* Milliseconds on the monotonic clock. */
int64_t ccsctl_now_ms(void);

/* A JSON string for bytes: the text when it is valid UTF-8, else NULL. */
json_t *ccsctl_json_text(const void *p, size_t n);
/* Standard padded base64 of bytes, malloc'd. */
char *ccsctl_base64(const void *p, size_t n);

/* The commands. argv[0] is the command name. */
int ccsctl_cmd_submit(struct ccsctl_common *o, int argc, char **argv);
int ccsctl_cmd_tail(struct ccsctl_common *o, int argc, char **argv);
int ccsctl_cmd_topics(struct ccsctl_common *o, int argc, char **argv);
int ccsctl_cmd_dlq(struct ccsctl_common *o, int argc, char **argv);
int ccsctl_cmd_lag(struct ccsctl_common *o, int argc, char **argv);
int ccsctl_cmd_trace(struct ccsctl_common *o, int argc, char **argv);
int ccsctl_cmd_status(struct ccsctl_common *o, int argc, char **argv);

/*
 * The consumer loop shared by `tail`, `dlq list` and `dlq replay`: reads `topic` and calls
 * `fn` for each message until a stop condition holds. Returns an exit code.
 */
struct ccsctl_read {
	const char *topic;
	const char *group;    /* NULL: assign every partition, no group; else subscribe */
	int from_beginning;
	int until_end;        /* stop at the end offsets seen at start (assign mode only) */
	int64_t count;        /* stop after this many messages; 0 = no limit */
	int64_t idle_ms;      /* stop after this long without a message; 0 = never */
	int32_t partition;    /* -1: all partitions */
	int64_t offset;       /* -1: start per from_beginning; else start at this offset */
	int single;           /* with offset: only the message at that offset, per partition */
	/* Returns 0 to go on, 1 to stop (done), negative to fail. */
	int (*fn)(void *ctx, const rd_kafka_message_t *m);
	void *ctx;
};
int ccsctl_read(const struct ccsctl_common *o, const struct ccsctl_read *r);

/*
 * Options of the read loop, shared by tail and the dlq commands (short letters: t topic,
 * B --from-beginning, E --until-end, g group, n count, p partition, o offset, I --idle-exit).
 * Returns -1 if `opt` is not one of them, 0 when taken, or a usage exit code.
 */
int ccsctl_read_opt(struct ccsctl_read *r, int opt, const char *arg);
/* Checks after option parsing: 0 or a usage exit code. */
int ccsctl_read_check(const struct ccsctl_read *r, const char *cmd);

/* The JSON object `tail` prints for one message (caller owns the reference). */
json_t *ccsctl_message_json(const rd_kafka_message_t *m);

#endif /* CCS_CCSCTL_H */
