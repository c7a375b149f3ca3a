/*
 * ccs_pg against a real PostgreSQL (label integration): the SQLSTATE classification table,
 * connection loss, and ccs_pg_migrate (in order, once; idempotent; concurrent instances apply
 * once under the advisory lock; a failing migration rolls back alone; a newer schema refused).
 *
 * The server comes from $CCS_PG_URL, else from deploy/dev/pg.sh url; none reachable: exit 77
 * (skipped). Each run creates a throwaway database ccs_test_pg_<pid> and drops it at the end.
 */
#include "ccs/pg.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ccs/log.h"
#include "ccs_test.h"

static char admin_url[1024];
static char db_name[64];
static char *db_conninfo; /* key=value conninfo of the throwaway database */

/* Append key='value' with libpq's quoting. */
static void conninfo_add(char *buf, size_t len, const char *key, const char *val)
{
	size_t pos = strlen(buf);
	pos += (size_t)snprintf(buf + pos, len - pos, "%s%s='", pos ? " " : "", key);
	for (; *val && pos + 3 < len; val++) {
		if (*val == '\'' || *val == '\\')
			buf[pos++] = '\\';
		buf[pos++] = *val;
	}
	snprintf(buf + pos, len - pos, "'");
}

static int find_admin_url(void)
{
	const char *env = getenv("CCS_PG_URL");
	if (env && *env) {
		snprintf(admin_url, sizeof(admin_url), "%s", env);
		return 0;
	}
	const char *src = getenv("CCS_SOURCE_DIR");
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "%s/deploy/dev/pg.sh url 2>/dev/null", src && *src ? src : ".");
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	int ok = fgets(admin_url, sizeof(admin_url), p) != NULL;
	int rc = pclose(p);
	admin_url[strcspn(admin_url, "\n")] = '\0';
	return ok && rc == 0 && *admin_url ? 0 : -1;
}

static PGconn *connect_db(void)
{
	char err[512];
	PGconn *c = ccs_pg_connect(db_conninfo, err, sizeof(err));
	if (!c)
		fprintf(stderr, "  %s\n", err);
	return c;
}

/* The first cell of a one-row query, copied into out ("" when no row). */
static void query1(PGconn *c, const char *sql, char *out, size_t len)
{
	PGresult *r = PQexec(c, sql);
	out[0] = '\0';
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fprintf(stderr, "  query failed: %s: %s", sql, PQerrorMessage(c));
	else if (PQntuples(r) > 0)
		snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
}

/* Runs first (constructors register in source order): find the server or skip the binary. */
CCS_TEST(aa_server_and_throwaway_database)
{
	char err[512], sql[128];
	if (find_admin_url() != 0) {
		printf("no PostgreSQL (set CCS_PG_URL): skipped\n");
		exit(77);
	}
	PGconn *admin = ccs_pg_connect(admin_url, err, sizeof(err));
	if (!admin) {
		printf("%s: skipped\n", err);
		exit(77);
	}
	snprintf(db_name, sizeof(db_name), "ccs_test_pg_%d", (int)getpid());
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db_name);
	CCS_EQ_INT(ccs_pg_exec(admin, sql, err, sizeof(err)), CCS_PG_OK);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db_name);
	CCS_EQ_INT(ccs_pg_exec(admin, sql, err, sizeof(err)), CCS_PG_OK);
	PQfinish(admin);

	/* Same server and credentials, other database. */
	PQconninfoOption *opts = PQconninfoParse(admin_url, NULL);
	CCS_TRUE(opts != NULL);
	db_conninfo = calloc(1, 4096);
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (o->val && *o->val && strcmp(o->keyword, "dbname") != 0)
			conninfo_add(db_conninfo, 4096, o->keyword, o->val);
	conninfo_add(db_conninfo, 4096, "dbname", db_name);
	PQconninfoFree(opts);
}

CCS_TEST(connect_sets_utc)
{
	char v[64];
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	query1(c, "SHOW TimeZone", v, sizeof(v));
	CCS_EQ_STR(v, "UTC");
	PQfinish(c);
}

/* RAISE ... USING ERRCODE makes the server send any SQLSTATE, so the whole table is checked. */
CCS_TEST(sqlstate_classification)
{
	static const struct {
		const char *state;
		int want;
	} cases[] = {
		{"40001", CCS_PG_TRANSIENT}, /* serialization_failure */
		{"40P01", CCS_PG_TRANSIENT}, /* deadlock_detected */
		{"08006", CCS_PG_TRANSIENT}, /* connection_failure */
		{"53300", CCS_PG_TRANSIENT}, /* too_many_connections */
		{"53100", CCS_PG_TRANSIENT}, /* disk_full */
		{"57P01", CCS_PG_TRANSIENT}, /* admin_shutdown */
		{"57014", CCS_PG_TRANSIENT}, /* query_canceled */
		{"58030", CCS_PG_TRANSIENT}, /* io_error */
		{"55P03", CCS_PG_TRANSIENT}, /* lock_not_available */
		{"55006", CCS_PG_DATA},      /* object_in_use: same class, not in the list */
		{"23505", CCS_PG_DATA},      /* unique_violation */
		{"23P01", CCS_PG_DATA},      /* exclusion_violation (double booking) */
		{"22012", CCS_PG_DATA},      /* division_by_zero */
		{"42P01", CCS_PG_DATA},      /* undefined_table */
		{"P0001", CCS_PG_DATA},      /* raise_exception */
		{"XX000", CCS_PG_DATA},      /* internal_error */
	};
	char err[512], sql[256];
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(sql, sizeof(sql), "DO $$BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = '%s'; END$$",
			 cases[i].state);
		int rc = ccs_pg_exec(c, sql, err, sizeof(err));
		if (rc != cases[i].want)
			fprintf(stderr, "  %s classified %d\n", cases[i].state, rc);
		CCS_EQ_INT(rc, cases[i].want);
		char want[64];
		snprintf(want, sizeof(want), "%s: forced", cases[i].state);
		CCS_EQ_STR(err, want);
		CCS_EQ_INT(PQstatus(c), CONNECTION_OK);
	}
	PQfinish(c);
}

CCS_TEST(real_errors_classified)
{
	char err[512];
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	CCS_EQ_INT(ccs_pg_exec(c, "CREATE TEMP TABLE u (k int PRIMARY KEY); INSERT INTO u VALUES (1)", err,
			       sizeof(err)), CCS_PG_OK);
	CCS_EQ_INT(ccs_pg_exec(c, "INSERT INTO u VALUES (1)", err, sizeof(err)), CCS_PG_DATA);
	CCS_TRUE(strncmp(err, "23505: ", 7) == 0);
	CCS_EQ_INT(ccs_pg_exec(c, "SELECT 'x'::int", err, sizeof(err)), CCS_PG_DATA);
	CCS_TRUE(strncmp(err, "22P02: ", 7) == 0);
	CCS_EQ_INT(ccs_pg_exec(c, "SET statement_timeout = 50; SELECT pg_sleep(2)", err, sizeof(err)),
		   CCS_PG_TRANSIENT);
	CCS_TRUE(strncmp(err, "57014: ", 7) == 0);
	CCS_EQ_INT(ccs_pg_exec(c, "RESET statement_timeout", err, sizeof(err)), CCS_PG_OK);
	/* Our own backend terminated: the connection is gone, everything after is transient. */
	CCS_EQ_INT(ccs_pg_exec(c, "SELECT pg_terminate_backend(pg_backend_pid())", err, sizeof(err)),
		   CCS_PG_TRANSIENT);
	CCS_TRUE(PQstatus(c) != CONNECTION_OK);
	CCS_EQ_INT(ccs_pg_exec(c, "SELECT 1", err, sizeof(err)), CCS_PG_TRANSIENT);
	CCS_EQ_INT(ccs_pg_classify(c, NULL), CCS_PG_TRANSIENT);
	PQfinish(c);
}

/* ---------------------------------------------------------------- migrations */

/* Every migration logs itself into `applied`; none is idempotent, so a second run would fail. */
static const ccs_migration migs_v2[] = {
	{1, "0001_first", "CREATE TABLE applied (v int, at timestamptz DEFAULT clock_timestamp());"
			  "CREATE TABLE t1 (id int PRIMARY KEY); INSERT INTO applied(v) VALUES (1);"
			  "SELECT pg_sleep(0.3)"},
	{2, "0002_second", "CREATE TABLE t2 (id int); INSERT INTO applied(v) VALUES (2)"},
	{0, NULL, NULL},
};
static const ccs_migration migs_v3[] = {
	{1, "0001_first", "this SQL is never run again"},
	{2, "0002_second", "neither is this"},
	{3, "0003_third", "ALTER TABLE t2 ADD COLUMN note text; INSERT INTO applied(v) VALUES (3)"},
	{0, NULL, NULL},
};
static const ccs_migration migs_bad[] = {
	{1, "0001_first", "-"},
	{2, "0002_second", "-"},
	{3, "0003_third", "-"},
	{4, "0004_bad", "CREATE TABLE t4 (id int); INSERT INTO applied(v) VALUES (4); SELECT 1/0"},
	{0, NULL, NULL},
};

/* The same shape under other names, for the concurrency test's own component. */
static const ccs_migration migs_gamma[] = {
	{1, "0001_first", "CREATE TABLE g_applied (v int); INSERT INTO g_applied VALUES (1); SELECT pg_sleep(0.3)"},
	{2, "0002_second", "CREATE TABLE g2 (id int); INSERT INTO g_applied VALUES (2)"},
	{0, NULL, NULL},
};

static void applied_list(PGconn *c, const char *component, char *out, size_t len)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
		 "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations"
		 " WHERE component = '%s'", component);
	query1(c, sql, out, len);
}

CCS_TEST(migrate_applies_in_order_once)
{
	char err[512] = "", v[256];
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	CCS_EQ_INT(ccs_pg_migrate(c, "alpha", migs_v2, err, sizeof(err)), CCS_PG_OK);
	CCS_EQ_STR(err, "");
	query1(c, "SELECT string_agg(v::text, ',' ORDER BY at) FROM applied", v, sizeof(v));
	CCS_EQ_STR(v, "1,2");
	applied_list(c, "alpha", v, sizeof(v));
	CCS_EQ_STR(v, "1:0001_first,2:0002_second");

	/* Second run: a no-op. */
	CCS_EQ_INT(ccs_pg_migrate(c, "alpha", migs_v2, err, sizeof(err)), CCS_PG_OK);
	query1(c, "SELECT count(*) FROM applied", v, sizeof(v));
	CCS_EQ_STR(v, "2");

	/* A newer binary applies only what is missing. */
	CCS_EQ_INT(ccs_pg_migrate(c, "alpha", migs_v3, err, sizeof(err)), CCS_PG_OK);
	query1(c, "SELECT string_agg(v::text, ',' ORDER BY at) FROM applied", v, sizeof(v));
	CCS_EQ_STR(v, "1,2,3");
	applied_list(c, "alpha", v, sizeof(v));
	CCS_EQ_STR(v, "1:0001_first,2:0002_second,3:0003_third");
	PQfinish(c);
}

CCS_TEST(failing_migration_rolls_back_alone)
{
	char err[512] = "", v[256];
	PGconn *c = connect_db();
	PGconn *other = connect_db();
	CCS_TRUE(c && other);
	if (!c || !other)
		return;
	CCS_EQ_INT(ccs_pg_migrate(c, "alpha", migs_bad, err, sizeof(err)), CCS_PG_DATA);
	CCS_TRUE(strstr(err, "22012") != NULL);
	CCS_TRUE(strstr(err, "(migration 0004_bad)") != NULL);
	applied_list(c, "alpha", v, sizeof(v));
	CCS_EQ_STR(v, "1:0001_first,2:0002_second,3:0003_third");
	query1(c, "SELECT count(*) FROM pg_tables WHERE tablename = 't4'", v, sizeof(v));
	CCS_EQ_STR(v, "0");
	query1(c, "SELECT count(*) FROM applied", v, sizeof(v));
	CCS_EQ_STR(v, "3");
	/* The session is usable (not left inside an aborted transaction) ... */
	query1(c, "SELECT 1", v, sizeof(v));
	CCS_EQ_STR(v, "1");
	/* ... and the advisory lock was released: another session takes it at once. */
	query1(other, "SELECT pg_try_advisory_lock(hashtext('ccs.schema_migrations'))", v, sizeof(v));
	CCS_EQ_STR(v, "t");
	query1(other, "SELECT pg_advisory_unlock(hashtext('ccs.schema_migrations'))", v, sizeof(v));
	CCS_EQ_STR(v, "t");
	PQfinish(other);
	PQfinish(c);
}

CCS_TEST(newer_database_is_refused)
{
	char err[512] = "", v[256];
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	CCS_EQ_INT(ccs_pg_exec(c, "INSERT INTO schema_migrations(component, version, name) VALUES ('alpha', 7, '0007_future')",
			       err, sizeof(err)), CCS_PG_OK);
	CCS_EQ_INT(ccs_pg_migrate(c, "alpha", migs_v3, err, sizeof(err)), CCS_PG_DATA);
	CCS_TRUE(strstr(err, "version 7") != NULL);
	CCS_TRUE(strstr(err, "newer") != NULL);
	query1(c, "SELECT count(*) FROM applied", v, sizeof(v));
	CCS_EQ_STR(v, "3");
	/* Another component in the same database is not affected. */
	static const ccs_migration beta[] = {{1, "0001_beta", "CREATE TABLE beta_t (x int)"}, {0, NULL, NULL}};
	CCS_EQ_INT(ccs_pg_migrate(c, "beta", beta, err, sizeof(err)), CCS_PG_OK);
	applied_list(c, "beta", v, sizeof(v));
	CCS_EQ_STR(v, "1:0001_beta");
	PQfinish(c);
}

/* Several instances starting at once against an empty schema: each migration runs once. */
CCS_TEST(concurrent_migrations_apply_once)
{
	enum { N = 4 };
	pid_t pids[N];
	char v[256];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char err[512];
			ccs_log_set_level(CCS_LOG_WARN_L);
			PGconn *c = connect_db();
			int rc = c ? ccs_pg_migrate(c, "gamma", migs_gamma, err, sizeof(err)) : -1;
			if (rc)
				fprintf(stderr, "  child %d: %s\n", i, c ? err : "no connection");
			PQfinish(c);
			_exit(rc == 0 ? 0 : 1);
		}
		CCS_TRUE(pids[i] > 0);
	}
	for (int i = 0; i < N; i++) {
		int st = 0;
		CCS_EQ_INT(waitpid(pids[i], &st, 0), pids[i]);
		CCS_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	applied_list(c, "gamma", v, sizeof(v));
	CCS_EQ_STR(v, "1:0001_first,2:0002_second");
	query1(c, "SELECT string_agg(v::text, ',') FROM g_applied", v, sizeof(v));
	CCS_EQ_STR(v, "1,2");
	PQfinish(c);
}

CCS_TEST(zz_drop_throwaway_database)
{
	char err[512], sql[128];
	PGconn *admin = ccs_pg_connect(admin_url, err, sizeof(err));
	CCS_TRUE(admin != NULL);
	if (!admin)
		return;
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db_name);
	CCS_EQ_INT(ccs_pg_exec(admin, sql, err, sizeof(err)), CCS_PG_OK);
	PQfinish(admin);
	free(db_conninfo);
}

CCS_TEST_MAIN()
