/*
 * Fuzzer for ccs_instant (the one RFC 3339 parser: every submitted_at, received_at, decided_at
 * and ce_time header goes through it). Properties:
 *   1. ccs_instant_parse never reads past the string's NUL, whatever the bytes (ASan checks),
 *      and leaves its outputs alone when it fails;
 *   2. an accepted instant lies in CCS_INSTANT_MIN..MAX with nanoseconds below 10^9, within
 *      a day of the date written in the string (offsets are under 24 hours);
 *   3. its California date is its UTC date or the day before (California is west of
 *      Greenwich, less than a day), and ccs_instant_date_ca agrees with parse + ca_date;
 *   4. formatting round trips: parse(format(t, ns)) == (t, ns), for accepted instants and for
 *      instants made from the raw bytes alike, and the canonical form formats to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/instant.h"
#include "ccs/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static void round_trip(int64_t t, int32_t ns)
{
	char buf[CCS_INSTANT_STRLEN], again[CCS_INSTANT_STRLEN];
	int64_t t2 = 0;
	int32_t ns2 = 0;
	if (ccs_instant_format(t, ns, buf) != 0 || strlen(buf) >= CCS_INSTANT_STRLEN)
		abort();
	if (ccs_instant_parse(buf, &t2, &ns2) != 0 || t2 != t || ns2 != ns)
		abort();
	if (ccs_instant_format(t2, ns2, again) != 0 || strcmp(buf, again) != 0)
		abort();
}

static void check_accepted(const char *s, int64_t t, int32_t ns)
{
	if (t < CCS_INSTANT_MIN || t > CCS_INSTANT_MAX || ns < 0 || ns > 999999999)
		abort();
	/* Property 2: the written date (the first ten bytes) is within a day of UTC. */
	char day[11];
	memcpy(day, s, 10);
	day[10] = '\0';
	ccs_date written = ccs_date_parse(day), utc = (ccs_date)floor_div(t, 86400);
	if (written == CCS_DATE_INVALID || written < utc - 1 || written > utc + 1)
		abort();
	/* Property 3. */
	ccs_date ca = ccs_instant_ca_date(t);
	if (ca != utc && ca != utc - 1)
		abort();
	if (ccs_instant_date_ca(s) != ca)
		abort();
	round_trip(t, ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char err[512];
	int64_t t = 7;
	int32_t ns = 7;

	if (!ready) {
		if (ccs_tz_init(err, sizeof(err)) != 0)
			abort(); /* no tzdata: nothing to fuzz against */
		ready = 1;
	}
	/* Property 1 on a private, exactly sized copy. */
	char *s = malloc(size + 1);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	if (ccs_instant_parse(s, &t, &ns) == 0)
		check_accepted(s, t, ns);
	else if (t != 7 || ns != 7 || ccs_instant_date_ca(s) != CCS_DATE_INVALID)
		abort();
	free(s);

	/* Property 4 on an instant made from the first twelve bytes. */
	if (size >= 12) {
		uint64_t a = 0;
		uint32_t b = 0;
		memcpy(&a, data, 8);
		memcpy(&b, data + 8, 4);
		int64_t span = CCS_INSTANT_MAX - CCS_INSTANT_MIN + 1;
		round_trip(CCS_INSTANT_MIN + (int64_t)(a % (uint64_t)span), (int32_t)(b % 1000000000u));
	}
	return 0;
}
