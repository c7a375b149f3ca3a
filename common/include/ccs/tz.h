/*
 * Time zones from the system's tzdata (TZif files, RFC 8536), read without touching the
 * process's TZ or localtime(): a zone is an immutable value, safe to share between threads.
 *
 * Every deadline and age in the program is a California calendar date, so the one zone the
 * daemons need is America/Los_Angeles (ccs_tz_california). The rules come from the system's
 * tzdata, never from offsets written here: the file's 64-bit transitions, then its POSIX TZ
 * footer ("PST8PDT,M3.2.0,M11.1.0") for instants after the last transition.
 *
 * Where the files are: $CCS_TZDIR, else $TZDIR, else /usr/share/zoneinfo (Debian: tzdata).
 */
#ifndef CCS_TZ_H
#define CCS_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct ccs_tz ccs_tz;

/* The zone named `name` ("America/Los_Angeles") under the tzdata directory above; or, when
 * `name` starts with '/', that file. On failure *out is NULL and errbuf says why. */
__attribute__((warn_unused_result)) int ccs_tz_load(const char *name, ccs_tz **out, char *errbuf,
						      size_t errlen);
void ccs_tz_free(ccs_tz *tz);

/* Seconds east of UTC in force at `epoch_s` (-28800 for PST, -25200 for PDT). */
int32_t ccs_tz_offset(const ccs_tz *tz, int64_t epoch_s);

/* Load America/Los_Angeles once for the process. Daemons call it at startup so that missing
 * tzdata is a clear error there, not a wrong date later. Thread-safe; repeats the first
 * outcome on every call. */
__attribute__((warn_unused_result)) int ccs_tz_init(char *errbuf, size_t errlen);

/* The zone loaded by ccs_tz_init (which it calls if needed); NULL when it could not be loaded. */
const ccs_tz *ccs_tz_california(void);

#endif
