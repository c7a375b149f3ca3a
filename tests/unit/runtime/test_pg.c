/*
 * ccs_pg against a real PostgreSQL (label integration): the SQLSTATE classification table
 * (configuration faults are transient), connection loss, ccs_pg_migrate (in order, once;
 * idempotent; concurrent instances apply once under the advisory lock; a failing migration rolls
 * back alone; a newer schema refused), ccs_pg_schema_check, and a role without CREATE: it passes
 * a current schema (no DDL runs) and is told to migrate as the owner otherwise.
 *
 * The server comes from $CCS_PG_URL, else from deploy/dev/pg.sh url; none reachable: exit 77
 * (skipped). Each run creates a throwaway database ccs_test_pg_<pid> and a role
 * ccs_test_pg_<pid>_rt, and drops both at the end.
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
static char role_name[80];
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
	snprintf(role_name, sizeof(role_name), "%s_rt", db_name);
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

/* ccs_pg_text_array: what the server reads back is each element as given, NULL as NULL. */
CCS_TEST(text_array_round_trip)
{
	static const char *const v[] = {"plain", "a \"quote\"", "back\\slash", "comma, {brace}", "", NULL,
					"NULL", "Mu\xc3\xb1oz", " spaced "};
	const size_t n = sizeof(v) / sizeof(v[0]);
	ccs_arena a;
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	ccs_arena_init(&a, 1024);
	const char *p[1] = {ccs_pg_text_array(&a, v, n)};
	PGresult *r = PQexecParams(c, "SELECT x, x IS NULL FROM unnest($1::text[]) WITH ORDINALITY AS u(x, k) ORDER BY k",
				   1, NULL, p, NULL, NULL, 0);
	CCS_TRUE(PQresultStatus(r) == PGRES_TUPLES_OK);
	CCS_TRUE(PQntuples(r) == (int)n);
	for (int i = 0; i < PQntuples(r) && i < (int)n; i++) {
		if (v[i])
			CCS_EQ_STR(PQgetvalue(r, i, 0), v[i]);
		CCS_EQ_STR(PQgetvalue(r, i, 1), v[i] ? "f" : "t");
	}
	PQclear(r);
	p[0] = ccs_pg_text_array(&a, v, 0);
	r = PQexecParams(c, "SELECT cardinality($1::text[])", 1, NULL, p, NULL, NULL, 0);
	CCS_EQ_STR(PQgetvalue(r, 0, 0), "0");
	PQclear(r);
	ccs_arena_destroy(&a);
	PQfinish(c);
}

/* RAISE ... USING ERRCODE makes the server send any SQLSTATE, so the whole table is checked. */
CCS_TEST(sqlstate_classification)
{
	static const struct {
		const char *state;
		int want;
		int config; /* ccs_pg_config_fault() */
	} cases[] = {
		{"40001", CCS_PG_TRANSIENT, 0}, /* serialization_failure */
		{"40P01", CCS_PG_TRANSIENT, 0}, /* deadlock_detected */
		{"08006", CCS_PG_TRANSIENT, 0}, /* connection_failure */
		{"53300", CCS_PG_TRANSIENT, 0}, /* too_many_connections */
		{"53100", CCS_PG_TRANSIENT, 0}, /* disk_full */
		{"57P01", CCS_PG_TRANSIENT, 0}, /* admin_shutdown */
		{"57014", CCS_PG_TRANSIENT, 0}, /* query_canceled */
		{"58030", CCS_PG_TRANSIENT, 0}, /* io_error */
		{"55P03", CCS_PG_TRANSIENT, 0}, /* lock_not_available */
		{"42P01", CCS_PG_TRANSIENT, 1}, /* undefined_table: a skipped migration */
		{"42501", CCS_PG_TRANSIENT, 1}, /* insufficient_privilege: a missing grant */
		{"42703", CCS_PG_TRANSIENT, 1}, /* undefined_column */
		{"28000", CCS_PG_TRANSIENT, 1}, /* invalid_authorization_specification */
		{"28P01", CCS_PG_TRANSIENT, 1}, /* invalid_password */
		{"3D000", CCS_PG_TRANSIENT, 1}, /* invalid_catalog_name: no such database */
		{"3F000", CCS_PG_TRANSIENT, 1}, /* invalid_schema_name */
		{"55006", CCS_PG_DATA, 0},      /* object_in_use: same class, not in the list */
		{"23505", CCS_PG_DATA, 0},      /* unique_violation */
		{"23P01", CCS_PG_DATA, 0},      /* exclusion_violation (double booking) */
		{"22012", CCS_PG_DATA, 0},      /* division_by_zero */
		{"P0001", CCS_PG_DATA, 0},      /* raise_exception */
		{"XX000", CCS_PG_DATA, 0},      /* internal_error */
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
		/* Configuration faults are transient, and told apart for reporting. */
		PGresult *r = PQexec(c, sql);
		if (ccs_pg_config_fault(r) != cases[i].config)
			fprintf(stderr, "  %s config fault %d\n", cases[i].state, ccs_pg_config_fault(r));
		CCS_EQ_INT(ccs_pg_config_fault(r), cases[i].config);
		PQclear(r);
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

/* Runs before any migration: the check reads without creating schema_migrations. */
CCS_TEST(schema_check_without_schema_migrations)
{
	char err[512] = "", v[64];
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	CCS_EQ_INT(ccs_pg_schema_check(c, "alpha", migs_v2, "ccs-alphad", err, sizeof(err)), CCS_PG_DATA);
	CCS_EQ_STR(err, "schema of alpha is at version 0, this binary needs 2:"
			" run ccs-alphad --migrate-only as the owner role");
	query1(c, "SELECT to_regclass('schema_migrations') IS NULL", v, sizeof(v));
	CCS_EQ_STR(v, "t");
	PQfinish(c);
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

static const ccs_migration migs_v4[] = {
	{1, "0001_first", "-"}, {2, "0002_second", "-"}, {3, "0003_third", "-"}, {4, "0004_fourth", "-"},
	{0, NULL, NULL},
};

CCS_TEST(schema_check_current_behind_newer)
{
	char err[512] = "";
	PGconn *c = connect_db();
	CCS_TRUE(c != NULL);
	if (!c)
		return;
	/* alpha is at 3 after migrate_applies_in_order_once */
	CCS_EQ_INT(ccs_pg_schema_check(c, "alpha", migs_v3, "ccs-alphad", err, sizeof(err)), CCS_PG_OK);
	CCS_EQ_INT(ccs_pg_schema_check(c, "alpha", migs_v4, NULL, err, sizeof(err)), CCS_PG_DATA);
	CCS_EQ_STR(err, "schema of alpha is at version 3, this binary needs 4:"
			" run the daemon --migrate-only as the owner role");
	CCS_EQ_INT(ccs_pg_schema_check(c, "alpha", migs_v2, "ccs-alphad", err, sizeof(err)), CCS_PG_DATA);
	CCS_EQ_STR(err, "database schema of alpha is at version 3, newer than this binary's 2: refusing to start");
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

/* Connect to the throwaway database as `role_name` (trust or a .pgpass entry); NULL if refused. */
static PGconn *connect_as_role(void)
{
	char err[512], info[4200];
	snprintf(info, sizeof(info), "%s", db_conninfo);
	conninfo_add(info, sizeof(info), "user", role_name);
	PGconn *c = ccs_pg_connect(info, err, sizeof(err));
	if (!c)
		fprintf(stderr, "  as %s: %s\n", role_name, err);
	return c;
}

/*
 * A runtime role: SELECT on schema_migrations and DML on the tables, no CREATE. On a current
 * schema ccs_pg_migrate passes (so it ran no DDL); behind, it refuses with the way out; the
 * faults it meets later (a missing grant, no CREATE) are transient configuration faults.
 */
CCS_TEST(role_without_create)
{
	char err[512] = "", v[64], sql[1024];
	PGconn *admin = connect_db();
	CCS_TRUE(admin != NULL);
	if (!admin)
		return;
	snprintf(sql, sizeof(sql),
		 "CREATE ROLE %s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;"
		 " REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT USAGE ON SCHEMA public TO %s;"
		 " GRANT SELECT ON schema_migrations TO %s; GRANT SELECT, INSERT ON g_applied TO %s",
		 role_name, role_name, role_name, role_name);
	CCS_EQ_INT(ccs_pg_exec(admin, sql, err, sizeof(err)), CCS_PG_OK);
	PGconn *c = connect_as_role();
	CCS_TRUE(c != NULL);
	if (!c)
		goto out;
	CCS_EQ_INT(ccs_pg_migrate(c, "gamma", migs_gamma, err, sizeof(err)), CCS_PG_OK);
	CCS_EQ_INT(ccs_pg_schema_check(c, "gamma", migs_gamma, "ccs-gammad", err, sizeof(err)), CCS_PG_OK);
	CCS_EQ_INT(ccs_pg_exec(c, "INSERT INTO g_applied VALUES (9)", err, sizeof(err)), CCS_PG_OK);

	static const ccs_migration delta[] = {{1, "0001_delta", "CREATE TABLE delta_t (x int)"}, {0, NULL, NULL}};
	CCS_EQ_INT(ccs_pg_migrate(c, "delta", delta, err, sizeof(err)), CCS_PG_DATA);
	CCS_TRUE(strstr(err, "schema of delta is at version 0, this binary needs 1") != NULL);
	CCS_TRUE(strstr(err, "--migrate-only as the owner role") != NULL);
	CCS_EQ_INT(ccs_pg_schema_check(c, "delta", delta, "ccs-deltad", err, sizeof(err)), CCS_PG_DATA);
	CCS_EQ_STR(err, "schema of delta is at version 0, this binary needs 1:"
			" run ccs-deltad --migrate-only as the owner role");
	query1(admin, "SELECT (to_regclass('delta_t') IS NULL) AND NOT EXISTS"
		      " (SELECT 1 FROM schema_migrations WHERE component = 'delta')", v, sizeof(v));
	CCS_EQ_STR(v, "t");
	/* The session is still usable and the advisory lock released. */
	query1(c, "SELECT pg_try_advisory_lock(hashtext('ccs.schema_migrations'))", v, sizeof(v));
	CCS_EQ_STR(v, "t");
	query1(c, "SELECT pg_advisory_unlock(hashtext('ccs.schema_migrations'))", v, sizeof(v));

	/* Missing grants are configuration faults: transient, never data. */
	CCS_EQ_INT(ccs_pg_exec(c, "CREATE TABLE nope (x int)", err, sizeof(err)), CCS_PG_TRANSIENT);
	CCS_TRUE(strncmp(err, "42501: ", 7) == 0);
	CCS_EQ_INT(ccs_pg_exec(c, "DELETE FROM g_applied", err, sizeof(err)), CCS_PG_TRANSIENT);
	CCS_TRUE(strncmp(err, "42501: ", 7) == 0);
	CCS_EQ_INT(ccs_pg_exec(c, "INSERT INTO schema_migrations VALUES ('gamma', 9, 'forged')", err,
			       sizeof(err)), CCS_PG_TRANSIENT);
	PGresult *r = PQexec(c, "SELECT * FROM no_such_table");
	CCS_EQ_INT(ccs_pg_classify(c, r), CCS_PG_TRANSIENT);
	CCS_EQ_INT(ccs_pg_config_fault(r), 1);
	PQclear(r);
	PQfinish(c);
out:
	snprintf(sql, sizeof(sql), "DROP OWNED BY %s; DROP ROLE %s", role_name, role_name);
	CCS_EQ_INT(ccs_pg_exec(admin, sql, err, sizeof(err)), CCS_PG_OK);
	PQfinish(admin);
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
	/* Left behind only when role_without_create failed half-way. */
	snprintf(sql, sizeof(sql), "DROP ROLE IF EXISTS %s", role_name);
	CCS_EQ_INT(ccs_pg_exec(admin, sql, err, sizeof(err)), CCS_PG_OK);
	PQfinish(admin);
	free(db_conninfo);
}

CCS_TEST_MAIN()
