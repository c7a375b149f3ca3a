/*
 * PostgreSQL access: connection, versioned migrations under an advisory lock, a read-only schema
 * check for roles that may not migrate, and the one place that decides whether an error is
 * transient (retry later: connection loss, serialization failure, deadlock, shutdown, and
 * configuration faults such as a missing grant) or caused by the data (never retried).
 */
#ifndef CCS_PG_H
#define CCS_PG_H

#include <stddef.h>

#include <libpq-fe.h>

#include "ccs/mem.h"

typedef struct ccs_migration {
	int version;       /* from the file name NNNN_name.sql; 0 ends the array */
	const char *name;
	const char *sql;
} ccs_migration;

#define CCS_PG_OK 0
#define CCS_PG_TRANSIENT (-1001)
#define CCS_PG_DATA (-1002)

/* Connect; returns NULL with the reason in errbuf (the URL's password is never echoed). */
PGconn *ccs_pg_connect(const char *url, char *errbuf, size_t errlen);
/* Run a statement without parameters; CCS_PG_OK, CCS_PG_TRANSIENT or CCS_PG_DATA. */
int ccs_pg_exec(PGconn *c, const char *sql, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));
/*
 * Classify a failed result (or a NULL result on a broken connection). Configuration faults
 * (SQLSTATE classes 42, 28, 3D, 3F: a revoked grant, a missing table) are CCS_PG_TRANSIENT:
 * no input can cause or cure them, so they must never reach a dead-letter topic.
 */
int ccs_pg_classify(PGconn *c, const PGresult *r);
/* 1 when a failed result is a configuration fault (see ccs_pg_classify), for reporting it
 * apart from an outage: an operator has to act; 0 otherwise (NULL included). */
int ccs_pg_config_fault(const PGresult *r);
/* Fill errbuf with "sqlstate: primary message" of a failed result. */
void ccs_pg_errmsg(PGconn *c, const PGresult *r, char *errbuf, size_t errlen);
/* A text[] literal of v[0..n) for a parameter such as "= ANY($1::text[])": every element
 * double-quoted with '"' and '\\' escaped, NULL elements as NULL. In the arena. */
char *ccs_pg_text_array(ccs_arena *a, const char *const *v, size_t n);
/*
 * Apply the missing migrations of `component` in order, each in its own transaction, under a
 * session advisory lock so that concurrent instances apply them once. The version is read
 * first: a current schema runs no DDL at all (schema_migrations is created only when
 * migrating). Refuses (CCS_PG_DATA) when the database has a newer version than this binary
 * knows, and when it is behind but the role may not create tables (a runtime role).
 */
int ccs_pg_migrate(PGconn *c, const char *component, const ccs_migration *migs, char *errbuf,
		   size_t errlen) __attribute__((warn_unused_result));
/*
 * Read-only: 0 when the schema of `component` is exactly what `migs` describes. Behind or
 * missing: CCS_PG_DATA with "schema of <component> is at version N, this binary needs M: run
 * <program> --migrate-only as the owner role" (`program` may be NULL). Newer: the same refusal
 * as ccs_pg_migrate. A failed query returns its class (a missing grant is transient).
 */
int ccs_pg_schema_check(PGconn *c, const char *component, const ccs_migration *migs,
			const char *program, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));

#endif
