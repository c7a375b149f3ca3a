/*
 * Fuzzer for the ccs_cfg file parser: the input is written to a temporary file and loaded as
 * a daemon's config file (full load, then a reload), then printed and its help rendered.
 * Must never crash or leak. Properties on success: every INT value is an integer inside its
 * range, every BOOL parses, a SECRET value prints as stars in --print-config, and every
 * error message is a terminated string that names its source.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ccs_cfg_def table[] = {
	{"pg.url", CCS_CFG_STR, "", 0, 0, 0, "url"},
	{"kafka.bootstrap", CCS_CFG_STR, "127.0.0.1:9092", 0, 0, 0, "brokers"},
	{"batch.max", CCS_CFG_INT, "500", 0, 1, 100000, "int"},
	{"topics.replication", CCS_CFG_INT, "-1", 0, -1, 10, "int"},
	{"topics.create", CCS_CFG_BOOL, "true", 0, 0, 0, "bool"},
	{"log.level", CCS_CFG_STR, "info", CCS_CFG_RELOAD, 0, 0, "reloadable"},
	{"due.batch", CCS_CFG_INT, "100", CCS_CFG_RELOAD, 1, 10000, "reloadable int"},
	{"api.token", CCS_CFG_STR, "", CCS_CFG_SECRET, 0, 0, "secret"},
	{NULL, 0, NULL, 0, 0, 0, NULL},
};

static char path[64];

static void remove_file(void)
{
	unlink(path);
}

static void check(const ccs_cfg *c)
{
	for (size_t i = 0; i < c->ndefs; i++) {
		const char *v = ccs_cfg_str(c, c->defs[i].key);
		char *end;
		if (c->defs[i].type == CCS_CFG_INT) {
			long x = strtol(v, &end, 10);
			if (end == v || *end || x < c->defs[i].min || x > c->defs[i].max ||
			    x != ccs_cfg_int(c, c->defs[i].key))
				abort();
		} else if (c->defs[i].type == CCS_CFG_BOOL) {
			int b = ccs_cfg_bool(c, c->defs[i].key);
			if (b != 0 && b != 1)
				abort();
		}
	}
	for (size_t i = 0; i < c->nkafka; i++)
		if (!c->kafka[i].key[0] || !c->kafka[i].value)
			abort();
	/* A set secret prints as stars, whatever it holds. */
	const char *secret = ccs_cfg_str(c, "api.token");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ccs_cfg_print(c, f);
	ccs_cfg_help(c, f);
	fclose(f);
	if (!strstr(buf, *secret ? "\napi.token = ********\n" : "\napi.token = \n"))
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ccs_cfg_def *const tables[1] = {table};
	char err[512];
	ccs_cfg c;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/ccs_fuzz_cfg_XXXXXX");
		int fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(remove_file);
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);

	ccs_cfg_init(&c, tables, 1);
	c.file = strdup(path);
	memset(err, 'x', sizeof(err));
	err[0] = '\0';
	int rc = ccs_cfg_load(&c, 0, err, sizeof(err));
	if (rc > 0 || (rc < 0 && (!memchr(err, '\0', sizeof(err)) || !err[0])))
		abort();
	if (rc == 0) {
		check(&c);
		/* Reloading the same file succeeds and keeps everything valid. */
		if (ccs_cfg_load(&c, 1, err, sizeof(err)) != 0)
			abort();
		check(&c);
	}
	ccs_cfg_free(&c);
	return 0;
}
