/*
 * PostgreSQL helpers (see ccs/pg.h).
 */
#include "ccs/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/log.h"

PGconn *ccs_pg_connect(const char *url, char *errbuf, size_t errlen)
{
	PGconn *c = PQconnectdb(url);
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		size_t n = strcspn(m, "\n");
		snprintf(errbuf, errlen, "connection to postgresql failed: %.*s", (int)n, m);
		PQfinish(c);
		return NULL;
	}
	/* Decisions are computed from event data, never from the session's time zone; server
	 * notices ("already exists, skipping") are noise on a daemon's stderr. */
	PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
	PQclear(r);
	return c;
}

/*
 * SQLSTATE classes that say the deployment is wrong, not the input: 42 (insufficient privilege,
 * undefined table or column: a revoked grant, a skipped migration), 28 (authorization), 3D (no
 * such database), 3F (no such schema). No input can fix them and an operator can, so they are
 * retried like an outage and reported, never dead-lettered.
 */
static int config_state(const char *st)
{
	return !strncmp(st, "42", 2) || !strncmp(st, "28", 2) || !strncmp(st, "3D", 2) ||
	       !strncmp(st, "3F", 2);
}

int ccs_pg_classify(PGconn *c, const PGresult *r)
{
	if (!c || PQstatus(c) != CONNECTION_OK || !r)
		return CCS_PG_TRANSIENT;
	const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (!st)
		return CCS_PG_TRANSIENT;
	/* 08 connection, 40 serialization/deadlock, 53 resources, 57 operator intervention
	 * (shutdown, cancel), 58 system error, 55P03 lock not available. */
	if (!strncmp(st, "08", 2) || !strncmp(st, "40", 2) || !strncmp(st, "53", 2) ||
	    !strncmp(st, "57", 2) || !strncmp(st, "58", 2) || !strcmp(st, "55P03"))
		return CCS_PG_TRANSIENT;
	if (config_state(st))
		return CCS_PG_TRANSIENT;
	return CCS_PG_DATA;
}

int ccs_pg_config_fault(const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	return st && config_state(st);
}

void ccs_pg_errmsg(PGconn *c, const PGresult *r, char *errbuf, size_t errlen)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (!m) {
		m = c ? PQerrorMessage(c) : "no connection";
		snprintf(errbuf, errlen, "%s: %.*s", st ? st : "connection", (int)strcspn(m, "\n"), m);
		return;
	}
	snprintf(errbuf, errlen, "%s: %s", st ? st : "?????", m);
}

int ccs_pg_exec(PGconn *c, const char *sql, char *errbuf, size_t errlen)
{
	PGresult *r = PQexec(c, sql);
	int rc = CCS_PG_OK;
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = ccs_pg_classify(c, r);
		ccs_pg_errmsg(c, r, errbuf, errlen);
	}
	PQclear(r);
	return rc;
}

/* Run a parameterised statement returning at most one integer cell (or -1 when none). */
static int query_int(PGconn *c, const char *sql, int nparams, const char *const *params,
		     long *out, char *errbuf, size_t errlen)
{
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	int rc = CCS_PG_OK;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = ccs_pg_classify(c, r);
		ccs_pg_errmsg(c, r, errbuf, errlen);
		goto out;
	}
	*out = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
out:
	PQclear(r);
	return rc;
}

/* The highest known version in `migs` (0 when the array is empty). */
static int known_version(const ccs_migration *migs)
{
	int known = 0;
	for (const ccs_migration *m = migs; m->version; m++)
		if (m->version > known)
			known = m->version;
	return known;
}

/*
 * The applied version of `component`, read-only: 0 when nothing is applied, including when
 * schema_migrations does not exist yet (a runtime role must be able to ask without DDL).
 */
static int applied_version(PGconn *c, const char *component, long *current, char *errbuf,
			   size_t errlen)
{
	long exists = -1;
	int rc = query_int(c, "SELECT 1 WHERE to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
			   &exists, errbuf, errlen);
	*current = 0;
	if (rc || exists != 1)
		goto out;
	const char *p[1] = {component};
	rc = query_int(c, "SELECT COALESCE(max(version), 0) FROM schema_migrations WHERE component = $1",
		       1, p, current, errbuf, errlen);
out:
	if (rc) {
		size_t n = strlen(errbuf);
		snprintf(errbuf + n, errlen > n ? errlen - n : 0, " (reading the schema version of %s)",
			 component);
	}
	return rc;
}

/* The refusal shared by the check and the migration: a newer binary wrote this schema. */
static int refuse_newer(const char *component, long current, int known, char *errbuf, size_t errlen)
{
	snprintf(errbuf, errlen,
		 "database schema of %s is at version %ld, newer than this binary's %d: refusing to start",
		 component, current, known);
	return CCS_PG_DATA;
}

int ccs_pg_schema_check(PGconn *c, const char *component, const ccs_migration *migs,
			const char *program, char *errbuf, size_t errlen)
{
	long current;
	int known = known_version(migs);
	int rc = applied_version(c, component, &current, errbuf, errlen);
	if (rc)
		goto out;
	if (current > known) {
		rc = refuse_newer(component, current, known, errbuf, errlen);
	} else if (current < known) {
		snprintf(errbuf, errlen,
			 "schema of %s is at version %ld, this binary needs %d: run %s --migrate-only as the owner role",
			 component, current, known, program && *program ? program : "the daemon");
		rc = CCS_PG_DATA;
	}
out:
	return rc;
}

/* Apply one migration and its schema_migrations row in one transaction. */
static int apply_one(PGconn *c, const char *component, const ccs_migration *m, char *errbuf,
		     size_t errlen)
{
	char ver[16];
	int rc = ccs_pg_exec(c, "BEGIN", errbuf, errlen);
	if (rc)
		goto out;
	rc = ccs_pg_exec(c, m->sql, errbuf, errlen);
	if (rc == CCS_PG_OK) {
		snprintf(ver, sizeof(ver), "%d", m->version);
		const char *ip[3] = {component, ver, m->name};
		PGresult *r = PQexecParams(c,
					   "INSERT INTO schema_migrations(component, version, name)"
					   " VALUES ($1, $2, $3)",
					   3, NULL, ip, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			rc = ccs_pg_classify(c, r);
			ccs_pg_errmsg(c, r, errbuf, errlen);
		}
		PQclear(r);
	}
	if (rc) {
		char ign[64];
		if (ccs_pg_exec(c, "ROLLBACK", ign, sizeof(ign)) != CCS_PG_OK)
			CCS_LOG_WARN("rollback failed", "error", CCS_LOG_S(ign));
		size_t n = strlen(errbuf);
		snprintf(errbuf + n, errlen > n ? errlen - n : 0, " (migration %s)", m->name);
		goto out;
	}
	rc = ccs_pg_exec(c, "COMMIT", errbuf, errlen);
	if (rc)
		goto out;
	CCS_LOG_INFO("migration applied", "component", CCS_LOG_S(component), "version",
		     CCS_LOG_I(m->version), "name", CCS_LOG_S(m->name));
out:
	return rc;
}

int ccs_pg_migrate(PGconn *c, const char *component, const ccs_migration *migs, char *errbuf,
		   size_t errlen)
{
	int rc, locked = 0, known = known_version(migs);
	long current = 0, can_create = -1;

	rc = ccs_pg_exec(c, "SELECT pg_advisory_lock(hashtext('ccs.schema_migrations'))", errbuf, errlen);
	if (rc)
		goto out;
	locked = 1;
	/* Read first, under the lock: an up-to-date schema needs no DDL, so a runtime role
	 * without CREATE passes through here as long as the owner migrated. */
	rc = applied_version(c, component, &current, errbuf, errlen);
	if (rc)
		goto out;
	if (current > known) {
		rc = refuse_newer(component, current, known, errbuf, errlen);
		goto out;
	}
	if (current == known)
		goto out;
	/* Behind. A role that may not create tables would fail on the first statement with a
	 * bare "permission denied"; say what to do instead. */
	rc = query_int(c, "SELECT 1 WHERE has_schema_privilege(current_schema(), 'CREATE')", 0, NULL,
		       &can_create, errbuf, errlen);
	if (rc)
		goto out;
	if (can_create != 1) {
		snprintf(errbuf, errlen,
			 "schema of %s is at version %ld, this binary needs %d, and this role may not change"
			 " the schema: run --migrate-only as the owner role",
			 component, current, known);
		rc = CCS_PG_DATA;
		goto out;
	}
	rc = ccs_pg_exec(c,
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 " component text NOT NULL, version integer NOT NULL, name text NOT NULL,"
			 " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))",
			 errbuf, errlen);
	if (rc)
		goto out;
	for (const ccs_migration *m = migs; m->version; m++) {
		if (m->version <= current)
			continue;
		rc = apply_one(c, component, m, errbuf, errlen);
		if (rc)
			goto out;
	}
out:
	if (locked) {
		char ign[64];
		if (ccs_pg_exec(c, "SELECT pg_advisory_unlock(hashtext('ccs.schema_migrations'))", ign,
				sizeof(ign)) != CCS_PG_OK)
			CCS_LOG_WARN("advisory unlock failed", "error", CCS_LOG_S(ign));
	}
	return rc;
}

char *ccs_pg_text_array(ccs_arena *a, const char *const *v, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += (v[i] ? 2 * strlen(v[i]) + 3 : 5);
	char *out = ccs_arena_alloc(a, cap), *p = out;
	*p++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		if (!v[i]) {
			memcpy(p, "NULL", 4);
			p += 4;
			continue;
		}
		*p++ = '"';
		for (const char *c = v[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*p++ = '\\';
			*p++ = *c;
		}
		*p++ = '"';
	}
	*p++ = '}';
	*p = '\0';
	return out;
}
