/*
 * Unit tests for ccs_cfg: the order of sources (defaults < file < environment < -X), the file
 * syntax, kafka.* passthrough, validation errors that name their source, reload of reloadable
 * keys only, and --print-config masking.
 *
 * Keys use the "t." prefix so that the environment of a CI run (CCS_PG_URL and friends) cannot
 * leak into these tests; each test clears the CCS_T_* variables it sets.
 */
#include "ccs/cfg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs_test.h"

static const ccs_cfg_def table_a[] = {
	{"t.name", CCS_CFG_STR, "alpha", 0, 0, 0, "a string"},
	{"t.num", CCS_CFG_INT, "10", 0, 1, 1000, "an integer in [1, 1000]"},
	{"t.neg", CCS_CFG_INT, "-1", 0, -1, 10, "may be -1"},
	{"t.flag", CCS_CFG_BOOL, "true", 0, 0, 0, "a boolean"},
	{"t.level", CCS_CFG_STR, "info", CCS_CFG_RELOAD, 0, 0, "reloadable"},
	{"t.url", CCS_CFG_STR, "", 0, 0, 0, "a connection URL"},
	{"kafka.bootstrap", CCS_CFG_STR, "127.0.0.1:9092", 0, 0, 0, "a table key under kafka."},
	{NULL, 0, NULL, 0, 0, 0, NULL},
};

static const ccs_cfg_def table_b[] = {
	{"t.secret", CCS_CFG_STR, "", CCS_CFG_SECRET, 0, 0, "a secret"},
	{"t.max-age", CCS_CFG_INT, "5", CCS_CFG_RELOAD, 0, 100, "dash in the key"},
	{NULL, 0, NULL, 0, 0, 0, NULL},
};

static const char *const env_vars[] = {"CCS_T_NAME",  "CCS_T_NUM",    "CCS_T_NEG",    "CCS_T_FLAG",
				       "CCS_T_LEVEL", "CCS_T_URL",    "CCS_T_SECRET", "CCS_T_MAX_AGE",
				       "CCS_KAFKA_BOOTSTRAP"};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

/* A fresh config over both tables, with `text` (or no file when NULL) as its file. */
static void setup(ccs_cfg *c, char *path, size_t plen, const char *text)
{
	const ccs_cfg_def *const tables[2] = {table_a, table_b};
	clear_env();
	ccs_cfg_init(c, tables, 2);
	if (!text)
		return;
	snprintf(path, plen, "/tmp/ccs_test_cfg_XXXXXX");
	int fd = mkstemp(path);
	CCS_TRUE(fd >= 0);
	size_t n = strlen(text);
	CCS_EQ_INT(write(fd, text, n), (long long)n);
	close(fd);
	c->file = strdup(path);
}

static void rewrite(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CCS_TRUE(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void teardown(ccs_cfg *c, const char *path)
{
	ccs_cfg_free(c);
	if (path && *path)
		unlink(path);
	clear_env();
}

/* Render ccs_cfg_print into a malloc'd string. */
static char *printed(const ccs_cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ccs_cfg_print(c, f);
	fclose(f);
	return buf;
}

static const char *kafka_get(const ccs_cfg *c, const char *key)
{
	for (size_t i = 0; i < c->nkafka; i++)
		if (strcmp(c->kafka[i].key, key) == 0)
			return c->kafka[i].value;
	return NULL;
}

CCS_TEST(defaults_without_file)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64] = "";
	setup(&c, path, sizeof(path), NULL);
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_INT(c.ndefs, 9);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.name"), "alpha");
	CCS_EQ_INT(ccs_cfg_int(&c, "t.num"), 10);
	CCS_EQ_INT(ccs_cfg_int(&c, "t.neg"), -1);
	CCS_EQ_INT(ccs_cfg_bool(&c, "t.flag"), 1);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.url"), "");
	CCS_EQ_INT(ccs_cfg_int(&c, "t.max-age"), 5); /* second table */
	CCS_EQ_INT(c.nkafka, 0);
	teardown(&c, path);
}

CCS_TEST(file_syntax_comments_quotes_spaces)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path),
	      "# a comment\n"
	      "; another comment style\n"
	      "\n"
	      "   \t\n"
	      "  t.name   =   \"two words \"  \n"
	      "t.num=42\n"
	      "t.flag = off\r\n"
	      "t.url = postgresql://h/db?sslmode=require&application_name=x\n"
	      "t.level = \"\"\n"
	      "t.secret = \"#not a comment\"\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_STR(err, "");
	CCS_EQ_STR(ccs_cfg_str(&c, "t.name"), "two words "); /* quotes keep the inner spaces */
	CCS_EQ_INT(ccs_cfg_int(&c, "t.num"), 42);
	CCS_EQ_INT(ccs_cfg_bool(&c, "t.flag"), 0); /* CRLF line endings are tolerated */
	/* Only the first '=' separates key and value. */
	CCS_EQ_STR(ccs_cfg_str(&c, "t.url"), "postgresql://h/db?sslmode=require&application_name=x");
	CCS_EQ_STR(ccs_cfg_str(&c, "t.level"), "");
	CCS_EQ_STR(ccs_cfg_str(&c, "t.secret"), "#not a comment");
	teardown(&c, path);
}

CCS_TEST(file_values_keep_hash_and_lone_quote)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	/* No inline comments: a '#' after the value is part of the value (passwords may hold it),
	 * and a single '"' is not a quoted string. */
	setup(&c, path, sizeof(path), "t.name = a#b # c\nt.url = \"\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.name"), "a#b # c");
	CCS_EQ_STR(ccs_cfg_str(&c, "t.url"), "\"");
	teardown(&c, path);
}

CCS_TEST(environment_wins_over_file)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.name = from-file\nt.num = 3\nt.max-age = 9\n");
	setenv("CCS_T_NAME", "from-env", 1);
	setenv("CCS_T_MAX_AGE", "11", 1); /* '.' and '-' both become '_' */
	setenv("CCS_KAFKA_BOOTSTRAP", "broker:9093", 1);
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.name"), "from-env");
	CCS_EQ_INT(ccs_cfg_int(&c, "t.num"), 3); /* no env: file value stays */
	CCS_EQ_INT(ccs_cfg_int(&c, "t.max-age"), 11);
	CCS_EQ_STR(ccs_cfg_str(&c, "kafka.bootstrap"), "broker:9093");
	CCS_EQ_INT(c.nkafka, 0); /* a table key under kafka. is not a passthrough */
	teardown(&c, path);
}

CCS_TEST(overrides_win_over_environment_and_file)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.name = from-file\nt.num = 3\n");
	setenv("CCS_T_NAME", "from-env", 1);
	setenv("CCS_T_NUM", "4", 1);
	CCS_EQ_INT(ccs_cfg_add_override(&c, "t.name = from-x", err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_cfg_add_override(&c, "t.num=5", err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_cfg_add_override(&c, "t.num=6", err, sizeof(err)), 0); /* last -X wins */
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.name"), "from-x");
	CCS_EQ_INT(ccs_cfg_int(&c, "t.num"), 6);
	teardown(&c, path);
}

CCS_TEST(override_without_equals_is_refused)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64] = "";
	setup(&c, path, sizeof(path), NULL);
	CCS_TRUE(ccs_cfg_add_override(&c, "t.name", err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "t.name") != NULL);
	CCS_EQ_INT(c.noverrides, 0);
	teardown(&c, path);
}

CCS_TEST(kafka_passthrough_collected)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path),
	      "kafka.security.protocol = SASL_SSL\n"
	      "kafka.sasl.mechanisms = SCRAM-SHA-512\n"
	      "kafka.sasl.password = from-file\n");
	CCS_EQ_INT(ccs_cfg_add_override(&c, "kafka.sasl.password=from-x", err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_cfg_add_override(&c, "kafka.linger.ms=7", err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_INT(c.nkafka, 4); /* the -X replaced the file's value, no duplicate */
	CCS_EQ_STR(kafka_get(&c, "security.protocol"), "SASL_SSL");
	CCS_EQ_STR(kafka_get(&c, "sasl.mechanisms"), "SCRAM-SHA-512");
	CCS_EQ_STR(kafka_get(&c, "sasl.password"), "from-x");
	CCS_EQ_STR(kafka_get(&c, "linger.ms"), "7");
	CCS_TRUE(kafka_get(&c, "bootstrap") == NULL);
	/* A second full load starts from scratch: no accumulation across loads. */
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_INT(c.nkafka, 4);
	teardown(&c, path);
}

CCS_TEST(unknown_keys_rejected_with_source)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.name = x\n\nt.nmae = typo\n");
	CCS_TRUE(ccs_cfg_load(&c, 0, err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "t.nmae") != NULL);
	char where[96];
	snprintf(where, sizeof(where), "%s:3", path);
	CCS_TRUE(strstr(err, where) != NULL);
	teardown(&c, path);

	/* "kafka." with nothing after it is not a librdkafka property. */
	setup(&c, path, sizeof(path), NULL);
	CCS_EQ_INT(ccs_cfg_add_override(&c, "kafka.=1", err, sizeof(err)), 0);
	CCS_TRUE(ccs_cfg_load(&c, 0, err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "-X") != NULL);
	teardown(&c, path);
}

CCS_TEST(line_without_equals_is_an_error)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.name = x\nt.num 5\n");
	CCS_TRUE(ccs_cfg_load(&c, 0, err, sizeof(err)) < 0);
	char where[96];
	snprintf(where, sizeof(where), "%s:2", path);
	CCS_TRUE(strstr(err, where) != NULL);
	teardown(&c, path);
}

CCS_TEST(missing_file_is_an_error)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64] = "";
	setup(&c, path, sizeof(path), NULL);
	c.file = strdup("/nonexistent/ccs/test.conf");
	CCS_TRUE(ccs_cfg_load(&c, 0, err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "/nonexistent/ccs/test.conf") != NULL);
	teardown(&c, path);
}

/* Each bad value must fail, and the message must name the key and where the value came from. */
CCS_TEST(int_and_bool_validation_names_source)
{
	static const struct {
		const char *line;
		const char *key;
	} bad_file[] = {
		{"t.num = 0\n", "t.num"},        {"t.num = 1001\n", "t.num"},
		{"t.num = 12abc\n", "t.num"},    {"t.num = \n", "t.num"},
		{"t.num = 1e3\n", "t.num"},      {"t.num = 99999999999999999999\n", "t.num"},
		{"t.neg = -2\n", "t.neg"},       {"t.flag = maybe\n", "t.flag"},
		{"t.flag = \n", "t.flag"},       {"t.flag = 2\n", "t.flag"},
	};
	for (size_t i = 0; i < sizeof(bad_file) / sizeof(bad_file[0]); i++) {
		ccs_cfg c;
		char err[256] = "";
		char path[64], where[96];
		setup(&c, path, sizeof(path), bad_file[i].line);
		int rc = ccs_cfg_load(&c, 0, err, sizeof(err));
		if (rc >= 0)
			fprintf(stderr, "  accepted: %s", bad_file[i].line);
		CCS_TRUE(rc < 0);
		CCS_TRUE(strstr(err, bad_file[i].key) != NULL);
		snprintf(where, sizeof(where), "%s:1", path);
		CCS_TRUE(strstr(err, where) != NULL);
		teardown(&c, path);
	}

	ccs_cfg c;
	char err[256] = "";
	char path[64] = "";
	setup(&c, path, sizeof(path), NULL);
	setenv("CCS_T_NUM", "5000", 1);
	CCS_TRUE(ccs_cfg_load(&c, 0, err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "t.num") != NULL);
	CCS_TRUE(strstr(err, "CCS_T_NUM") != NULL);
	CCS_TRUE(strstr(err, "[1, 1000]") != NULL);
	teardown(&c, path);

	setup(&c, path, sizeof(path), NULL);
	CCS_EQ_INT(ccs_cfg_add_override(&c, "t.flag=perhaps", err, sizeof(err)), 0);
	CCS_TRUE(ccs_cfg_load(&c, 0, err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "t.flag") != NULL);
	CCS_TRUE(strstr(err, "-X") != NULL);
	teardown(&c, path);
}

CCS_TEST(bool_spellings_and_int_bounds_accepted)
{
	static const struct {
		const char *v;
		int want;
	} bools[] = {{"true", 1}, {"TRUE", 1}, {"yes", 1}, {"On", 1},  {"1", 1},
		     {"false", 0}, {"No", 0}, {"off", 0}, {"0", 0}};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		ccs_cfg c;
		char err[256] = "", kv[64];
		char path[64] = "";
		setup(&c, path, sizeof(path), NULL);
		snprintf(kv, sizeof(kv), "t.flag=%s", bools[i].v);
		CCS_EQ_INT(ccs_cfg_add_override(&c, kv, err, sizeof(err)), 0);
		CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
		CCS_EQ_INT(ccs_cfg_bool(&c, "t.flag"), bools[i].want);
		teardown(&c, path);
	}
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.num = 1000\nt.neg = -1\nt.max-age = 0\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_cfg_int(&c, "t.num"), 1000);
	CCS_EQ_INT(ccs_cfg_int(&c, "t.neg"), -1);
	CCS_EQ_INT(ccs_cfg_int(&c, "t.max-age"), 0);
	teardown(&c, path);
}

CCS_TEST(reload_touches_only_reloadable_keys)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path),
	      "t.name = first\nt.level = info\nt.max-age = 1\nkafka.linger.ms = 5\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	rewrite(path, "t.name = second\nt.level = debug\nt.max-age = 2\n"
		      "kafka.linger.ms = 50\nkafka.acks = 1\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 1, err, sizeof(err)), 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.name"), "first");  /* not reloadable */
	CCS_EQ_STR(ccs_cfg_str(&c, "t.level"), "debug"); /* reloadable */
	CCS_EQ_INT(ccs_cfg_int(&c, "t.max-age"), 2);     /* reloadable, second table */
	CCS_EQ_INT(c.nkafka, 1);                         /* librdkafka settings need a restart */
	CCS_EQ_STR(kafka_get(&c, "linger.ms"), "5");
	/* The environment is read again on reload, and -X still wins over it. */
	setenv("CCS_T_LEVEL", "warn", 1);
	CCS_EQ_INT(ccs_cfg_load(&c, 1, err, sizeof(err)), 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.level"), "warn");
	CCS_EQ_INT(ccs_cfg_add_override(&c, "t.level=error", err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_cfg_load(&c, 1, err, sizeof(err)), 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.level"), "error");
	teardown(&c, path);
}

CCS_TEST(reload_validates_reloadable_values)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.max-age = 1\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	rewrite(path, "t.max-age = 500\n");
	CCS_TRUE(ccs_cfg_load(&c, 1, err, sizeof(err)) < 0);
	CCS_TRUE(strstr(err, "t.max-age") != NULL);
	CCS_EQ_INT(ccs_cfg_int(&c, "t.max-age"), 1);
	teardown(&c, path);
}

/*
 * svc.c logs "reload failed, keeping the old settings" when ccs_cfg_load(reload=1) fails, so a
 * failed reload must not leave the valid keys before the bad line applied.
 */
CCS_TEST(failed_reload_keeps_old_settings)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path), "t.level = info\nt.max-age = 1\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	rewrite(path, "t.level = debug\nt.max-age = 500\n");
	CCS_TRUE(ccs_cfg_load(&c, 1, err, sizeof(err)) < 0);
	CCS_EQ_STR(ccs_cfg_str(&c, "t.level"), "info");
	CCS_EQ_INT(ccs_cfg_int(&c, "t.max-age"), 1);
	teardown(&c, path);
}

CCS_TEST(print_config_masks_secrets)
{
	ccs_cfg c;
	char err[256] = "";
	char path[64];
	setup(&c, path, sizeof(path),
	      "t.secret = hunter2\n"
	      "t.url = postgresql://ccs:s3cr3t@db.example:5432/ccs_referral\n"
	      "t.name = ftp://anonymous@host/x\n"
	      "kafka.sasl.password = kpass1\n"
	      "kafka.ssl.key.password = kpass2\n"
	      "kafka.ssl.key.pem = PEMDATA\n"
	      "kafka.sasl.oauthbearer.client.secret = kpass3\n"
	      "kafka.sasl.username = ccs-referral\n");
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	char *out = printed(&c);
	CCS_TRUE(out != NULL);
	if (!out)
		return;
	static const char *const hidden[] = {"hunter2", "s3cr3t", "kpass1", "kpass2", "PEMDATA", "kpass3"};
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		if (strstr(out, hidden[i]))
			fprintf(stderr, "  printed: %s\n", hidden[i]);
		CCS_TRUE(strstr(out, hidden[i]) == NULL);
	}
	CCS_TRUE(strstr(out, "t.secret = ********\n") != NULL);
	CCS_TRUE(strstr(out, "t.url = postgresql://ccs:********@db.example:5432/ccs_referral\n") != NULL);
	CCS_TRUE(strstr(out, "t.name = ftp://anonymous@host/x\n") != NULL); /* no password: as is */
	CCS_TRUE(strstr(out, "kafka.sasl.username = ccs-referral\n") != NULL);
	CCS_TRUE(strstr(out, "t.num = 10\n") != NULL);
	CCS_TRUE(strstr(out, "kafka.bootstrap = 127.0.0.1:9092\n") != NULL);
	free(out);
	teardown(&c, path);

	/* An unset secret prints empty, so an operator can tell "unset" from "set". */
	setup(&c, path, sizeof(path), NULL);
	CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
	out = printed(&c);
	CCS_TRUE(out && strstr(out, "t.secret = \n") != NULL);
	free(out);
	teardown(&c, path);
}

/*
 * libpq also takes the password as a URL query parameter (postgresql://h/db?password=x) and
 * in key=value connection strings; --print-config must not show either.
 */
CCS_TEST(print_config_masks_password_parameters)
{
	static const char *const urls[] = {
		"postgresql://ccs@db.example/ccs_referral?sslmode=require&password=qp4ss",
		"host=db.example dbname=ccs_referral user=ccs password=qp4ss",
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		ccs_cfg c;
		char err[256] = "", kv[256];
		char path[64] = "";
		setup(&c, path, sizeof(path), NULL);
		snprintf(kv, sizeof(kv), "t.url=%s", urls[i]);
		CCS_EQ_INT(ccs_cfg_add_override(&c, kv, err, sizeof(err)), 0);
		CCS_EQ_INT(ccs_cfg_load(&c, 0, err, sizeof(err)), 0);
		char *out = printed(&c);
		CCS_TRUE(out != NULL);
		if (out && strstr(out, "qp4ss"))
			fprintf(stderr, "  printed: %s\n", urls[i]);
		CCS_TRUE(out && strstr(out, "qp4ss") == NULL);
		CCS_TRUE(out && strstr(out, "db.example") != NULL);
		free(out);
		teardown(&c, path);
	}
}

CCS_TEST(help_lists_every_key_with_env_name)
{
	ccs_cfg c;
	char path[64] = "";
	char *buf = NULL;
	size_t len = 0;
	setup(&c, path, sizeof(path), NULL);
	FILE *f = open_memstream(&buf, &len);
	ccs_cfg_help(&c, f);
	fclose(f);
	for (size_t i = 0; i < c.ndefs; i++)
		CCS_TRUE(strstr(buf, c.defs[i].key) != NULL);
	CCS_TRUE(strstr(buf, "CCS_T_MAX_AGE") != NULL);
	CCS_TRUE(strstr(buf, "CCS_KAFKA_BOOTSTRAP") != NULL);
	CCS_TRUE(strstr(buf, "reloadable") != NULL);
	CCS_TRUE(strstr(buf, "kafka.<property>") != NULL);
	free(buf);
	teardown(&c, path);
}

CCS_TEST_MAIN()
