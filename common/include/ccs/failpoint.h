/*
 * Failpoints: named places where a test can make the process die as kill -9 would, so that
 * each crash window of the processing model (after COMMIT before the offset store, after a
 * publish before the outbox delete, between two messages of a batch) is tested on purpose,
 * not by luck.
 *
 * Armed only through the environment, read once at start:
 *
 *   CCS_FAILPOINTS="batch.after_commit@3,relay.after_publish@1"
 *
 * arms each named point to fire on its Nth hit (default 1): the process then sends itself
 * SIGKILL, so no atexit handler, flush or destructor runs. Unarmed, a failpoint costs one
 * load and branch. The names in use are listed in common/failpoint/README.md.
 */
#ifndef CCS_FAILPOINT_H
#define CCS_FAILPOINT_H

#include <stddef.h>

extern int ccs_failpoints_armed;

/* Parse CCS_FAILPOINTS (called once by the engine; safe to call again in tests). Returns 0,
 * or -1 with errbuf filled when the variable is malformed. */
int ccs_failpoint_init(char *errbuf, size_t errlen);
/* Count a hit of `name`; die with SIGKILL when it is the armed hit. */
void ccs_failpoint_hit(const char *name);

#define CCS_FAILPOINT(name)                       \
	do {                                      \
		if (ccs_failpoints_armed)         \
			ccs_failpoint_hit(name);  \
	} while (0)

#endif
