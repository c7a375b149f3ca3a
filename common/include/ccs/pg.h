/*
 * PostgreSQL access: connection, versioned migrations under an advisory lock, and the one
 * place that decides whether an error is transient (retry later: connection loss, serialization
 * failure, deadlock, shutdown) or caused by the data (never retried).
 */
#ifndef CCS_PG_H
#define CCS_PG_H

#include <stddef.h>

#include <libpq-fe.h>

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
/* Classify a failed result (or a NULL result on a broken connection). */
int ccs_pg_classify(PGconn *c, const PGresult *r);
/* Fill errbuf with "sqlstate: primary message" of a failed result. */
void ccs_pg_errmsg(PGconn *c, const PGresult *r, char *errbuf, size_t errlen);
/*
 * Apply the missing migrations of `component` in order, each in its own transaction, under a
 * session advisory lock so that concurrent instances apply them once. Refuses (returns
 * CCS_PG_DATA) when the database has a newer version than this binary knows.
 */
int ccs_pg_migrate(PGconn *c, const char *component, const ccs_migration *migs, char *errbuf,
		   size_t errlen) __attribute__((warn_unused_result));

#endif
