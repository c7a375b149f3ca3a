/* Failpoints (see ccs/failpoint.h). A fixed table: a handful of points armed per process. */
#include "ccs/failpoint.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs/err.h"
#include "ccs/log.h"

#define FP_MAX 8
#define FP_NAME 48

typedef struct fp {
	char name[FP_NAME];
	long fire_at; /* the hit that kills */
	long hits;
} fp;

int ccs_failpoints_armed;
static fp points[FP_MAX];
static size_t npoints;

int ccs_failpoint_init(char *errbuf, size_t errlen)
{
	const char *env = getenv("CCS_FAILPOINTS");
	char buf[512];
	int rc = 0;

	npoints = 0;
	ccs_failpoints_armed = 0;
	if (!env || !*env)
		goto out;
	if (strlen(env) >= sizeof(buf)) {
		ccs_errf(errbuf, errlen, "CCS_FAILPOINTS is too long");
		rc = -1;
		goto out;
	}
	memcpy(buf, env, strlen(env) + 1);
	for (char *tok = buf, *next; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		char *at = strchr(tok, '@');
		long n = 1;
		if (at) {
			char *end;
			*at = '\0';
			n = strtol(at + 1, &end, 10);
			if (*end || n < 1) {
				ccs_errf(errbuf, errlen, "CCS_FAILPOINTS: bad hit count for %s", tok);
				rc = -1;
				goto out;
			}
		}
		if (npoints == FP_MAX || !*tok || strlen(tok) >= FP_NAME) {
			ccs_errf(errbuf, errlen, "CCS_FAILPOINTS: too many points or a bad name");
			rc = -1;
			goto out;
		}
		memcpy(points[npoints].name, tok, strlen(tok) + 1);
		points[npoints].fire_at = n;
		points[npoints].hits = 0;
		npoints++;
	}
	ccs_failpoints_armed = npoints > 0;
out:
	if (rc)
		npoints = 0;
	return rc;
}

void ccs_failpoint_hit(const char *name)
{
	for (size_t i = 0; i < npoints; i++) {
		if (strcmp(points[i].name, name) != 0)
			continue;
		if (++points[i].hits == points[i].fire_at) {
			CCS_LOG_WARN("failpoint fired: killing the process", "failpoint", CCS_LOG_S(name),
				     "hit", CCS_LOG_I(points[i].hits));
			kill(getpid(), SIGKILL);
			_exit(137); /* not reached */
		}
	}
}
