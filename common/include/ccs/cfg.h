/*
 * Configuration: one table per daemon drives parsing, --print-config, reload and --help, so
 * they cannot drift (PgBouncer's habit).
 *
 * Sources, later wins: the table's defaults, the config file (`key = value` lines, `#`
 * comments), environment variables (CCS_ + key upper-cased with '.' -> '_', for example
 * pg.url -> CCS_PG_URL), and command-line `-X key=value`. Keys `kafka.<name>` that are not in
 * the table are passed verbatim to librdkafka's rd_kafka_conf_set (TLS, SASL, tuning).
 * Secret values are never printed.
 */
#ifndef CCS_CFG_H
#define CCS_CFG_H

#include <stddef.h>
#include <stdio.h>

typedef enum ccs_cfg_type {
	CCS_CFG_STR,
	CCS_CFG_INT,
	CCS_CFG_BOOL,
} ccs_cfg_type;

#define CCS_CFG_RELOAD 1u /* may change on SIGHUP */
#define CCS_CFG_SECRET 2u /* never printed */

typedef struct ccs_cfg_def {
	const char *key;
	ccs_cfg_type type;
	const char *def;     /* default, as text */
	unsigned flags;
	long min, max;       /* for CCS_CFG_INT */
	const char *help;
} ccs_cfg_def;

/* A passthrough librdkafka setting. */
typedef struct ccs_cfg_kv {
	char *key;
	char *value;
} ccs_cfg_kv;

typedef struct ccs_cfg {
	const ccs_cfg_def *defs; /* terminated by a NULL key */
	size_t ndefs;
	ccs_cfg_def *owned_defs;  /* the same array, for freeing */
	char **values;           /* current text value per def */
	ccs_cfg_kv *kafka;       /* passthrough kafka.* settings, key without "kafka." */
	size_t nkafka;
	char *file;              /* config file path or NULL */
	char **overrides;        /* -X key=value given on the command line, re-applied on reload */
	size_t noverrides;
} ccs_cfg;

/* Two tables (the runtime's and the daemon's) are concatenated into one. */
void ccs_cfg_init(ccs_cfg *c, const ccs_cfg_def *const *tables, size_t ntables);
void ccs_cfg_free(ccs_cfg *c);
/* Load defaults, file, environment and overrides; reload=1 only updates CCS_CFG_RELOAD keys. */
int ccs_cfg_load(ccs_cfg *c, int reload, char *errbuf, size_t errlen) __attribute__((warn_unused_result));
/* Record a -X key=value override (applied by ccs_cfg_load). */
int ccs_cfg_add_override(ccs_cfg *c, const char *kv, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));
const char *ccs_cfg_str(const ccs_cfg *c, const char *key);
long ccs_cfg_int(const ccs_cfg *c, const char *key);
int ccs_cfg_bool(const ccs_cfg *c, const char *key);
/* Print effective configuration, secrets masked (URL passwords included). */
void ccs_cfg_print(const ccs_cfg *c, FILE *out);
void ccs_cfg_help(const ccs_cfg *c, FILE *out);

#endif
