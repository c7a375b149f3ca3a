/*
 * Unit tests for the parts of ccs_pg that need no server: a broken or absent connection is
 * always transient, connection errors never echo the password, and error text is formatted
 * from the connection when there is no result. The SQLSTATE table itself is checked against
 * a real server in test_pg.c (integration), since libpq offers no way to forge error fields.
 */
#include "ccs/pg.h"

#include <string.h>

#include "ccs_test.h"

/* Port 1 on loopback: nothing listens, the connection is refused at once. */
#define DEAD_URL "postgresql://ccs:t0pS3cret@127.0.0.1:1/ccs_referral?connect_timeout=2"

CCS_TEST(no_connection_is_transient)
{
	CCS_EQ_INT(ccs_pg_classify(NULL, NULL), CCS_PG_TRANSIENT);
}

CCS_TEST(failed_connect_hides_password)
{
	char err[512] = "";
	PGconn *c = ccs_pg_connect(DEAD_URL, err, sizeof(err));
	CCS_TRUE(c == NULL);
	CCS_TRUE(strncmp(err, "connection to postgresql failed: ", 33) == 0);
	CCS_TRUE(strstr(err, "t0pS3cret") == NULL);
	CCS_TRUE(strchr(err, '\n') == NULL); /* one line: it goes into a JSON log field */
}

CCS_TEST(broken_connection_results_are_transient)
{
	char err[512] = "";
	PGconn *c = PQconnectdb(DEAD_URL);
	CCS_TRUE(PQstatus(c) == CONNECTION_BAD);
	CCS_EQ_INT(ccs_pg_classify(c, NULL), CCS_PG_TRANSIENT);
	/* Even a result that claims a data error: the connection state decides first. */
	PGresult *r = PQmakeEmptyPGresult(c, PGRES_FATAL_ERROR);
	CCS_EQ_INT(ccs_pg_classify(c, r), CCS_PG_TRANSIENT);
	PQclear(r);
	CCS_EQ_INT(ccs_pg_exec(c, "SELECT 1", err, sizeof(err)), CCS_PG_TRANSIENT);
	CCS_TRUE(strlen(err) > 0);
	CCS_TRUE(strstr(err, "t0pS3cret") == NULL);
	ccs_pg_errmsg(c, NULL, err, sizeof(err));
	CCS_TRUE(strncmp(err, "connection: ", 12) == 0);
	CCS_TRUE(strchr(err, '\n') == NULL);
	ccs_pg_errmsg(NULL, NULL, err, sizeof(err));
	CCS_EQ_STR(err, "connection: no connection");
	PQfinish(c);
}

CCS_TEST(migrate_on_a_dead_connection_fails_transient)
{
	static const ccs_migration migs[] = {{1, "0001_x", "SELECT 1"}, {0, NULL, NULL}};
	char err[512] = "";
	PGconn *c = PQconnectdb(DEAD_URL);
	CCS_EQ_INT(ccs_pg_migrate(c, "test", migs, err, sizeof(err)), CCS_PG_TRANSIENT);
	CCS_TRUE(strlen(err) > 0);
	PQfinish(c);
}

CCS_TEST_MAIN()
