/*
 * Instants: the one RFC 3339 parser of the project, and the California date of an instant.
 *
 * The contracts carry times as RFC 3339 date-times (submitted_at, received_at, decided_at,
 * the ce_time header). Rules are stated in calendar days in California, so an instant is
 * dated in America/Los_Angeles: 23:30 on a November evening in Sacramento is that day, not
 * the next one as its UTC date would say.
 *
 * Accepted, exactly (RFC 3339 section 5.6 date-time):
 *     YYYY-MM-DD ("T"|"t") HH:MM:SS [ "." 1*DIGIT ] ("Z"|"z"|("+"|"-") HH:MM)
 * with years 1900..9999 (before and after conversion to UTC), real calendar dates, hours
 * 00..23, offsets up to 23:59 ("-00:00", "unknown local offset", is UTC). Everything else is
 * refused: a space instead of T, a missing zone, 24:00, a date alone, trailing text.
 * Fractions may have any number of digits; the first nine are kept (truncated, not rounded).
 * A leap second (second 60) is accepted only where one can occur, 23:59:60 in UTC, and is
 * counted as the last nanosecond of 23:59:59 (POSIX time has no leap seconds, and the date
 * it falls on must not change).
 */
#ifndef CCS_INSTANT_H
#define CCS_INSTANT_H

#include <stdint.h>

#include "ccs/date.h"

#define CCS_INSTANT_MIN (-2208988800LL) /* 1900-01-01T00:00:00Z */
#define CCS_INSTANT_MAX 253402300799LL  /* 9999-12-31T23:59:59Z */
/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" and its NUL. */
#define CCS_INSTANT_STRLEN 31

/* Parse an RFC 3339 date-time into seconds since the epoch and nanoseconds (nanos may be
 * NULL). 0, or -EINVAL with both outputs left unchanged. */
__attribute__((warn_unused_result)) int ccs_instant_parse(const char *s, int64_t *epoch_s, int32_t *nanos);

/* Write the canonical UTC form: "YYYY-MM-DDTHH:MM:SS[.f]Z", the fraction without trailing
 * zeros and absent when nanos is 0. 0, or -ERANGE outside CCS_INSTANT_MIN..MAX or nanos
 * outside 0..999999999 (buf then holds ""). */
int ccs_instant_format(int64_t epoch_s, int32_t nanos, char buf[CCS_INSTANT_STRLEN]);

/* The America/Los_Angeles calendar date of an instant (daylight saving from the system's
 * tzdata, see ccs/tz.h). CCS_DATE_INVALID when the zone cannot be loaded, which
 * ccs_tz_init reports at startup. */
ccs_date ccs_instant_ca_date(int64_t epoch_s);

/* ccs_instant_parse then ccs_instant_ca_date; CCS_DATE_INVALID on any bad input. */
ccs_date ccs_instant_date_ca(const char *rfc3339);

#endif
