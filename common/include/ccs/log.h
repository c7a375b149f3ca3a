/*
 * Logs: one JSON object per line on stderr, leveled. Ids only: callers pass event ids, case
 * ids, topic/partition/offset, never names, birth dates or diagnoses. Messages are fixed
 * strings; variable data goes into key/value fields so the line stays machine-readable.
 *
 *   CCS_LOG_INFO("batch committed", "partition", CCS_LOG_I(p), "events", CCS_LOG_I(n));
 *
 * Macros test the level before formatting anything.
 */
#ifndef CCS_LOG_H
#define CCS_LOG_H

#include <stdint.h>

typedef enum ccs_log_level {
	CCS_LOG_DEBUG = 0,
	CCS_LOG_INFO_L = 1,
	CCS_LOG_WARN_L = 2,
	CCS_LOG_ERROR_L = 3,
	CCS_LOG_FATAL_L = 4,
} ccs_log_level;

/* A field value: a string or an integer. */
typedef struct ccs_log_val {
	int is_int;
	int64_t i;
	const char *s;
} ccs_log_val;

#define CCS_LOG_I(v) ((ccs_log_val){1, (int64_t)(v), 0})
#define CCS_LOG_S(v) ((ccs_log_val){0, 0, (v)})

extern int ccs_log_threshold;

void ccs_log_init(const char *service, ccs_log_level level);
int ccs_log_parse_level(const char *name, ccs_log_level *out) __attribute__((warn_unused_result));
void ccs_log_set_level(ccs_log_level level);
const char *ccs_log_level_name(ccs_log_level level);
/* Fields come as (const char *key, ccs_log_val value) pairs, ended by a NULL key. */
void ccs_log_write(ccs_log_level level, const char *msg, ...);

#define CCS_LOG_AT_(lvl, msg, ...)                                   \
	do {                                                         \
		if ((int)(lvl) >= ccs_log_threshold)                 \
			ccs_log_write((lvl), (msg), ##__VA_ARGS__, (const char *)0); \
	} while (0)

#define CCS_LOG_DEBUG_(msg, ...) CCS_LOG_AT_(CCS_LOG_DEBUG, msg, ##__VA_ARGS__)
#define CCS_LOG_INFO(msg, ...) CCS_LOG_AT_(CCS_LOG_INFO_L, msg, ##__VA_ARGS__)
#define CCS_LOG_WARN(msg, ...) CCS_LOG_AT_(CCS_LOG_WARN_L, msg, ##__VA_ARGS__)
#define CCS_LOG_ERROR(msg, ...) CCS_LOG_AT_(CCS_LOG_ERROR_L, msg, ##__VA_ARGS__)
#define CCS_LOG_FATAL(msg, ...) CCS_LOG_AT_(CCS_LOG_FATAL_L, msg, ##__VA_ARGS__)
#define CCS_LOG_DBG(msg, ...) CCS_LOG_AT_(CCS_LOG_DEBUG, msg, ##__VA_ARGS__)

/* Scoped variant: adds topic/partition/offset of the message being handled. */
#define CCS_LOG_MSG(lvl, msg, topic, partition, offset, ...)                     \
	CCS_LOG_AT_(lvl, msg, "topic", CCS_LOG_S(topic), "partition", CCS_LOG_I(partition), \
		    "offset", CCS_LOG_I(offset), ##__VA_ARGS__)

#endif
