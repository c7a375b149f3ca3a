/*
 * Unit tests for ccs/instant.h: the RFC 3339 grammar (accepts and rejects), the canonical
 * format, and California dating at 23:30 in both seasons and on both daylight-saving days.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "ccs/instant.h"
#include "ccs/tz.h"
#include "ccs_test.h"

static int64_t epoch_of(int y, int mo, int d, int h, int mi, int s)
{
	return (int64_t)ccs_date_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static ccs_date ymd(int y, int m, int d)
{
	return ccs_date_from_ymd(y, m, d);
}

CCS_TEST(parse_utc_and_offsets)
{
	int64_t t = 0;
	int32_t ns = -1;
	CCS_EQ_INT(ccs_instant_parse("2026-11-20T07:30:00Z", &t, &ns), 0);
	CCS_EQ_INT(t, epoch_of(2026, 11, 20, 7, 30, 0));
	CCS_EQ_INT(ns, 0);
	CCS_EQ_INT(ccs_instant_parse("2026-11-19T23:30:00-08:00", &t, NULL), 0);
	CCS_EQ_INT(t, epoch_of(2026, 11, 20, 7, 30, 0));
	CCS_EQ_INT(ccs_instant_parse("2026-11-20T13:00:00+05:30", &t, NULL), 0);
	CCS_EQ_INT(t, epoch_of(2026, 11, 20, 7, 30, 0));
	/* lower case t and z (RFC 3339 5.6 NOTE), and "-00:00" (offset unknown) is UTC */
	CCS_EQ_INT(ccs_instant_parse("2026-11-20t07:30:00z", &t, NULL), 0);
	CCS_EQ_INT(t, epoch_of(2026, 11, 20, 7, 30, 0));
	CCS_EQ_INT(ccs_instant_parse("2026-11-20T07:30:00-00:00", &t, NULL), 0);
	CCS_EQ_INT(t, epoch_of(2026, 11, 20, 7, 30, 0));
	/* the offset may carry the instant into another UTC day, month and year */
	CCS_EQ_INT(ccs_instant_parse("2026-12-31T20:00:00.5-05:00", &t, &ns), 0);
	CCS_EQ_INT(t, epoch_of(2027, 1, 1, 1, 0, 0));
	CCS_EQ_INT(ns, 500000000);
	CCS_EQ_INT(ccs_instant_parse("1970-01-01T00:00:00Z", &t, NULL), 0);
	CCS_EQ_INT(t, 0);
	CCS_EQ_INT(ccs_instant_parse("1969-12-31T23:59:59.999Z", &t, &ns), 0);
	CCS_EQ_INT(t, -1);
	CCS_EQ_INT(ns, 999000000);
}

CCS_TEST(parse_fractions)
{
	int64_t t = 0;
	int32_t ns = -1;
	CCS_EQ_INT(ccs_instant_parse("2026-02-10T09:30:00.1Z", &t, &ns), 0);
	CCS_EQ_INT(ns, 100000000);
	CCS_EQ_INT(ccs_instant_parse("2026-02-10T09:30:00.123Z", &t, &ns), 0);
	CCS_EQ_INT(ns, 123000000);
	CCS_EQ_INT(ccs_instant_parse("2026-02-10T09:30:00.000001Z", &t, &ns), 0);
	CCS_EQ_INT(ns, 1000);
	CCS_EQ_INT(ccs_instant_parse("2026-02-10T09:30:00.123456789Z", &t, &ns), 0);
	CCS_EQ_INT(ns, 123456789);
	/* more than nine digits: valid RFC 3339, truncated to the nanosecond */
	CCS_EQ_INT(ccs_instant_parse("2026-02-10T09:30:00.1234567899999+01:00", &t, &ns), 0);
	CCS_EQ_INT(ns, 123456789);
	CCS_EQ_INT(t, epoch_of(2026, 2, 10, 8, 30, 0));
}

CCS_TEST(parse_rejects)
{
	static const char *bad[] = {
		"",
		"yesterday",
		"yesterday')",
		"2026-11-19",                      /* a date is not an instant */
		"2026-11-19T23:30:00",             /* no zone */
		"2026-11-19T23:30",                /* no seconds */
		"2026-11-19T23:30Z",
		"2026-11-19 23:30:00Z",            /* space for T */
		"2026-11-19_23:30:00Z",
		"2026-11-19T24:00:00Z",            /* 24:00 */
		"2026-11-19T23:60:00Z",
		"2026-11-19T23:30:61Z",
		"2026-02-30T10:00:00Z",            /* 30 February */
		"2026-02-29T10:00:00Z",            /* not a leap year */
		"2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-1-19T23:30:00Z",
		"26-11-19T23:30:00Z",
		"+2026-11-19T23:30:00Z",
		" 2026-11-19T23:30:00Z",
		"2026-11-19T23:30:00Z ",
		"2026-11-19T23:30:00Zx",
		"2026-11-19T23:30:00ZZ",
		"2026-11-19T23:30:00.Z",           /* a dot needs digits */
		"2026-11-19T23:30:00,5Z",          /* ISO 8601's comma is not RFC 3339 */
		"2026-11-19T23:30:00+0800",
		"2026-11-19T23:30:00+08",
		"2026-11-19T23:30:00+8:00",
		"2026-11-19T23:30:00+24:00",
		"2026-11-19T23:30:00+08:60",
		"2026-11-19T23:30:00+08:00Z",
		"2026-11-19T23:30:00UTC",
		"2026-11-19T23:30:00 Z",
		"2026-11-19T23:30:00\n",
		"1899-12-31T23:59:59Z",            /* before the supported range */
		"1900-01-01T00:00:00+00:01",       /* in range locally, 1899 in UTC */
		"9999-12-31T23:59:59-00:01",       /* 10000 in UTC */
		"10000-01-01T00:00:00Z",
		"2026-06-30T12:00:60Z",            /* a leap second can only be 23:59:60 UTC */
		"2026-06-30T23:59:60+01:00",
		"２026-11-19T23:30:00Z",
	};
	int64_t t = 42;
	int32_t ns = 42;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ccs_instant_parse(bad[i], &t, &ns) != -EINVAL)
			CCS_FAIL_("accepted \"%s\"", bad[i]);
		if (ccs_instant_date_ca(bad[i]) != CCS_DATE_INVALID)
			CCS_FAIL_("dated \"%s\"", bad[i]);
	}
	CCS_EQ_INT(t, 42); /* outputs untouched on failure */
	CCS_EQ_INT(ns, 42);
	CCS_EQ_INT(ccs_instant_parse(NULL, &t, &ns), -EINVAL);
	CCS_EQ_INT(ccs_instant_date_ca(NULL), CCS_DATE_INVALID);
}

CCS_TEST(parse_range_ends_and_leap_seconds)
{
	int64_t t = 0;
	int32_t ns = 0;
	CCS_EQ_INT(ccs_instant_parse("1900-01-01T00:00:00Z", &t, NULL), 0);
	CCS_EQ_INT(t, CCS_INSTANT_MIN);
	CCS_EQ_INT(ccs_instant_parse("9999-12-31T23:59:59Z", &t, NULL), 0);
	CCS_EQ_INT(t, CCS_INSTANT_MAX);
	/* 23:59:60 UTC: the last nanosecond of 23:59:59, on the same day */
	CCS_EQ_INT(ccs_instant_parse("2016-12-31T23:59:60Z", &t, &ns), 0);
	CCS_EQ_INT(t, epoch_of(2016, 12, 31, 23, 59, 59));
	CCS_EQ_INT(ns, 999999999);
	CCS_EQ_INT(ccs_instant_parse("2016-12-31T15:59:60.25-08:00", &t, &ns), 0);
	CCS_EQ_INT(t, epoch_of(2016, 12, 31, 23, 59, 59));
	CCS_EQ_INT(ccs_instant_date_ca("2016-12-31T15:59:60-08:00"), ymd(2016, 12, 31));
}

CCS_TEST(format_canonical_and_round_trip)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{"2026-11-20T07:30:00Z", "2026-11-20T07:30:00Z"},
		{"2026-11-19t23:30:00-08:00", "2026-11-20T07:30:00Z"},
		{"2026-02-10T09:30:00.500Z", "2026-02-10T09:30:00.5Z"},
		{"2026-02-10T09:30:00.000000001Z", "2026-02-10T09:30:00.000000001Z"},
		{"2026-12-31T20:00:00.5-05:00", "2027-01-01T01:00:00.5Z"},
		{"1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z"},
		{"1969-12-31T23:59:59.9Z", "1969-12-31T23:59:59.9Z"},
		{"9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z"},
	};
	char buf[CCS_INSTANT_STRLEN];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t t = 0, t2 = 0;
		int32_t ns = 0, ns2 = 0;
		CCS_EQ_INT(ccs_instant_parse(v[i].in, &t, &ns), 0);
		CCS_EQ_INT(ccs_instant_format(t, ns, buf), 0);
		CCS_EQ_STR(buf, v[i].out);
		CCS_EQ_INT(ccs_instant_parse(buf, &t2, &ns2), 0);
		CCS_EQ_INT(t2, t);
		CCS_EQ_INT(ns2, ns);
	}
	CCS_EQ_INT(ccs_instant_format(CCS_INSTANT_MIN - 1, 0, buf), -ERANGE);
	CCS_EQ_STR(buf, "");
	CCS_EQ_INT(ccs_instant_format(CCS_INSTANT_MAX + 1, 0, buf), -ERANGE);
	CCS_EQ_INT(ccs_instant_format(0, 1000000000, buf), -ERANGE);
	CCS_EQ_INT(ccs_instant_format(0, -1, buf), -ERANGE);
}

CCS_TEST(california_at_2330)
{
	char err[512] = "";
	CCS_EQ_INT(ccs_tz_init(err, sizeof(err)), 0);
	/* 23:30 PST on 19 November is the 20th in UTC */
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-20T07:30:00Z"), ymd(2026, 11, 19));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-19T23:30:00-08:00"), ymd(2026, 11, 19));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-20T13:00:00+05:30"), ymd(2026, 11, 19));
	/* 23:30 PDT on 30 June is 1 July in UTC */
	CCS_EQ_INT(ccs_instant_date_ca("2026-07-01T06:30:00Z"), ymd(2026, 6, 30));
	CCS_EQ_INT(ccs_instant_date_ca("2026-06-30T23:30:00-07:00"), ymd(2026, 6, 30));
	/* midnight in California, both seasons */
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-20T07:59:59.999999999Z"), ymd(2026, 11, 19));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-20T08:00:00Z"), ymd(2026, 11, 20));
	CCS_EQ_INT(ccs_instant_date_ca("2026-07-01T06:59:59Z"), ymd(2026, 6, 30));
	CCS_EQ_INT(ccs_instant_date_ca("2026-07-01T07:00:00Z"), ymd(2026, 7, 1));
	/* New Year's Eve crosses the year */
	CCS_EQ_INT(ccs_instant_date_ca("2027-01-01T07:30:00Z"), ymd(2026, 12, 31));
	/* before 1970 (time_t negative) */
	CCS_EQ_INT(ccs_instant_date_ca("1960-01-01T07:30:00Z"), ymd(1959, 12, 31));
	/* far past the zone file's last transition: the footer rule */
	CCS_EQ_INT(ccs_instant_date_ca("2099-07-01T06:30:00Z"), ymd(2099, 6, 30));
	CCS_EQ_INT(ccs_instant_date_ca("2099-11-20T07:30:00Z"), ymd(2099, 11, 19));
}

/* 8 March 2026: at 02:00 PST the clocks go to 03:00 PDT (10:00 UTC); a 23-hour day. */
CCS_TEST(california_spring_forward)
{
	const ccs_tz *ca = ccs_tz_california();
	CCS_TRUE(ca != NULL);
	if (!ca)
		return;
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-08T07:59:59Z"), ymd(2026, 3, 7)); /* 23:59:59 PST */
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-08T08:00:00Z"), ymd(2026, 3, 8)); /* 00:00 PST */
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-08T01:00:00-08:00"), ymd(2026, 3, 8));
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 3, 8, 9, 0, 0)), -8 * 3600);  /* 01:00 PST */
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 3, 8, 9, 59, 59)), -8 * 3600); /* 01:59:59 PST */
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 3, 8, 10, 0, 0)), -7 * 3600); /* 03:00 PDT */
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 3, 8, 11, 0, 0)), -7 * 3600);
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-08T03:00:00-07:00"), ymd(2026, 3, 8));
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-09T06:59:59Z"), ymd(2026, 3, 8)); /* 23:59:59 PDT */
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-09T07:00:00Z"), ymd(2026, 3, 9));
	/* the day before the change is still PST at 23:30 */
	CCS_EQ_INT(ccs_instant_date_ca("2026-03-08T07:30:00Z"), ymd(2026, 3, 7));
}

/* 1 November 2026: at 02:00 PDT the clocks go back to 01:00 PST (09:00 UTC); 01:00-01:59
 * happens twice, and the day has 25 hours. */
CCS_TEST(california_fall_back)
{
	const ccs_tz *ca = ccs_tz_california();
	CCS_TRUE(ca != NULL);
	if (!ca)
		return;
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-01T06:59:59Z"), ymd(2026, 10, 31)); /* 23:59:59 PDT */
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-01T07:00:00Z"), ymd(2026, 11, 1));
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 11, 1, 8, 30, 0)), -7 * 3600);  /* 01:30 PDT */
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 11, 1, 8, 59, 59)), -7 * 3600);
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 11, 1, 9, 0, 0)), -8 * 3600);   /* 01:00 PST */
	CCS_EQ_INT(ccs_tz_offset(ca, epoch_of(2026, 11, 1, 9, 30, 0)), -8 * 3600);  /* 01:30 PST */
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-01T01:30:00-07:00"), ymd(2026, 11, 1));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-01T01:30:00-08:00"), ymd(2026, 11, 1));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-01T03:00:00-08:00"), ymd(2026, 11, 1));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-02T07:30:00Z"), ymd(2026, 11, 1)); /* 23:30 PST */
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-02T07:59:59Z"), ymd(2026, 11, 1));
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-02T08:00:00Z"), ymd(2026, 11, 2));
	/* the day before the change is still PDT at 23:30 */
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-01T06:30:00Z"), ymd(2026, 10, 31));
}

CCS_TEST(today_is_californian)
{
	/* ccs_date_today is the California date of now: within a day of the UTC date, never
	 * after it (California is west of Greenwich). */
	ccs_date utc = (ccs_date)(time(NULL) / 86400), today = ccs_date_today();
	CCS_TRUE(today == utc || today == utc - 1);
}

CCS_TEST_MAIN()
