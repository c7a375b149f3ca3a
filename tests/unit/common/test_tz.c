/*
 * Unit tests for ccs/tz.h. The reference is glibc's localtime_r (with TZ set in this test
 * process only; the module itself never touches TZ): the real America/Los_Angeles file over
 * 1901-2100, and synthetic zone files that hold nothing but a footer rule, so the POSIX rule
 * evaluator is checked against glibc's on rules California does not use (southern
 * hemisphere, negative DST, half-hour zones, Julian days).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ccs/instant.h"
#include "ccs/tz.h"
#include "ccs_test.h"

static char tmpdir[] = "/tmp/ccs_tz_test.XXXXXX";

static const char *scratch(void)
{
	static int made;
	if (!made && mkdtemp(tmpdir))
		made = 1;
	return tmpdir;
}

static void put32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	fwrite(b, 1, 4, f);
}

/* A version 2 TZif with no transitions, one type of offset `utoff`, and `footer`. */
static void write_rule_zone(const char *path, int32_t utoff, const char *footer)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return;
	for (int block = 0; block < 2; block++) {
		fwrite("TZif2", 1, 5, f);
		for (int i = 0; i < 15; i++)
			fputc(0, f);
		/* isut isstd leap time type chars */
		put32(f, 0);
		put32(f, 0);
		put32(f, 0);
		put32(f, 0);
		put32(f, 1);
		put32(f, 4);
		put32(f, (uint32_t)utoff);
		fputc(0, f);
		fputc(0, f);
		fwrite("STD", 1, 4, f);
	}
	fprintf(f, "\n%s\n", footer);
	fclose(f);
}

/* Compare ccs_tz_offset with glibc for TZ=tzenv at every `step` seconds of [from, to) and
 * every minute of the days on which glibc's offset changes. Returns the mismatches. */
static int compare_with_glibc(const ccs_tz *tz, const char *tzenv, int64_t from, int64_t to, int64_t step)
{
	int bad = 0;
	long prev = 0;
	setenv("TZ", tzenv, 1);
	tzset();
	for (int64_t t = from; t < to && bad < 5; t += step) {
		time_t tt = (time_t)t;
		struct tm tm;
		if (!localtime_r(&tt, &tm))
			continue;
		if (t != from && tm.tm_gmtoff != prev) {
			/* an offset change in (t - step, t]: check each minute around it */
			for (int64_t u = t - step; u <= t && bad < 5; u += 60) {
				time_t uu = (time_t)u;
				struct tm um;
				localtime_r(&uu, &um);
				if (ccs_tz_offset(tz, u) != um.tm_gmtoff) {
					fprintf(stderr, "  %s at %lld: %d != glibc %ld\n", tzenv, (long long)u,
						ccs_tz_offset(tz, u), um.tm_gmtoff);
					bad++;
				}
			}
		}
		prev = tm.tm_gmtoff;
		if (ccs_tz_offset(tz, t) != tm.tm_gmtoff) {
			fprintf(stderr, "  %s at %lld: %d != glibc %ld\n", tzenv, (long long)t,
				ccs_tz_offset(tz, t), tm.tm_gmtoff);
			bad++;
		}
	}
	unsetenv("TZ");
	tzset();
	return bad;
}

CCS_TEST(california_matches_glibc_1901_2100)
{
	char err[512] = "";
	CCS_EQ_INT(ccs_tz_init(err, sizeof(err)), 0);
	const ccs_tz *ca = ccs_tz_california();
	CCS_TRUE(ca != NULL);
	if (!ca)
		return;
	int64_t from = (int64_t)ccs_date_from_ymd(1901, 1, 1) * 86400;
	int64_t to = (int64_t)ccs_date_from_ymd(2101, 1, 1) * 86400;
	CCS_EQ_INT(compare_with_glibc(ca, ":America/Los_Angeles", from, to, 3 * 3600 + 7), 0);

	/* and the dates: every 23:30 and 00:30 local, 1970-2100, against localtime_r */
	setenv("TZ", ":America/Los_Angeles", 1);
	tzset();
	int bad = 0;
	for (int64_t t = 0; t < to && bad < 5; t += 1800 * 13) {
		time_t tt = (time_t)t;
		struct tm tm;
		localtime_r(&tt, &tm);
		ccs_date want = ccs_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		if (ccs_instant_ca_date(t) != want) {
			fprintf(stderr, "  date at %lld\n", (long long)t);
			bad++;
		}
	}
	unsetenv("TZ");
	tzset();
	CCS_EQ_INT(bad, 0);
}

CCS_TEST(footer_rules_match_glibc)
{
	static const struct {
		int32_t utoff;
		const char *rule;
	} v[] = {
		{-8 * 3600, "PST8PDT,M3.2.0,M11.1.0"},
		{-5 * 3600, "EST5EDT,M3.2.0,M11.1.0"},
		{10 * 3600, "AEST-10AEDT,M10.1.0,M4.1.0/3"},        /* southern hemisphere */
		{3600, "IST-1GMT0,M10.5.0,M3.5.0/1"},                /* Dublin: negative DST */
		{37800, "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},     /* Lord Howe: half-hour DST */
		{-3 * 3600, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1"},     /* Greenland: negative times */
		{2 * 3600, "EET-2EEST,M3.5.4/24,M10.5.5/1"},         /* Jordan-style 24:00 */
		{-5 * 3600, "EST5EDT,J60/2,J300/2"},                 /* Julian, no 29 Feb */
		{-5 * 3600, "EST5EDT,59/2,299/2"},                   /* zero-based, with 29 Feb */
		{19800, "IST-5:30"},                                 /* no DST at all */
		{0, "<+00>0<+01>,0/0,J365/25"},                      /* DST all year */
	};
	char path[256], err[512];
	int64_t from = (int64_t)ccs_date_from_ymd(1970, 1, 1) * 86400;
	int64_t to = (int64_t)ccs_date_from_ymd(2060, 1, 1) * 86400;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ccs_tz *tz = NULL;
		snprintf(path, sizeof(path), "%s/rule%zu", scratch(), i);
		write_rule_zone(path, v[i].utoff, v[i].rule);
		if (ccs_tz_load(path, &tz, err, sizeof(err)) != 0) {
			CCS_FAIL_("%s: %s", v[i].rule, err);
			continue;
		}
		if (compare_with_glibc(tz, v[i].rule, from, to, 5 * 3600 + 11) != 0)
			CCS_FAIL_("%s differs from glibc", v[i].rule);
		ccs_tz_free(tz);
		unlink(path);
	}
}

CCS_TEST(zone_directory_is_overridable)
{
	char dir[256], path[300], err[512] = "";
	ccs_tz *tz = NULL;
	snprintf(dir, sizeof(dir), "%s/zi", scratch());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/America", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/America/Los_Angeles", dir);
	/* a fake zone: always UTC-3, to tell it apart from the real one */
	write_rule_zone(path, -3 * 3600, "<-03>3");
	setenv("CCS_TZDIR", dir, 1);
	CCS_EQ_INT(ccs_tz_load("America/Los_Angeles", &tz, err, sizeof(err)), 0);
	unsetenv("CCS_TZDIR");
	CCS_TRUE(tz != NULL);
	if (tz)
		CCS_EQ_INT(ccs_tz_offset(tz, 0), -3 * 3600);
	ccs_tz_free(tz);
	unlink(path);
}

CCS_TEST(missing_tzdata_is_a_clear_startup_error)
{
	char err[512] = "";
	ccs_tz *tz = (ccs_tz *)1;
	setenv("CCS_TZDIR", "/nonexistent/zoneinfo", 1);
	CCS_EQ_INT(ccs_tz_load("America/Los_Angeles", &tz, err, sizeof(err)), -ENOENT);
	CCS_TRUE(tz == NULL);
	CCS_TRUE(strstr(err, "/nonexistent/zoneinfo/America/Los_Angeles") != NULL);
	CCS_TRUE(strstr(err, "tzdata") != NULL);
	/* ccs_tz_init loads once per process (and this one has loaded it): see it fail in a
	 * fresh process, this binary running only init_without_tzdata */
	pid_t pid = fork();
	if (pid == 0) {
		setenv("CCS_TZ_TEST_CHILD", "1", 1);
		execl("/proc/self/exe", "test_common_tz", "init_without_tzdata", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	unsetenv("CCS_TZDIR");
	CCS_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CCS_EQ_INT(ccs_tz_load("../etc/passwd", &tz, err, sizeof(err)), -EINVAL);
}

/* Run in a child by the test above, with CCS_TZDIR naming no directory. */
CCS_TEST(init_without_tzdata)
{
	char e[512] = "";
	if (!getenv("CCS_TZ_TEST_CHILD"))
		return;
	CCS_EQ_INT(ccs_tz_init(e, sizeof(e)), -ENOENT);
	CCS_TRUE(strstr(e, "cannot open time zone /nonexistent/zoneinfo/America/Los_Angeles") != NULL);
	CCS_TRUE(strstr(e, "tzdata") != NULL);
	CCS_TRUE(ccs_tz_california() == NULL);
	CCS_EQ_INT(ccs_instant_date_ca("2026-11-20T07:30:00Z"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_tz_init(NULL, 0), -ENOENT); /* the same answer every time */
	fprintf(stderr, "  (child) %s\n", e);
}

/* Every truncation and a few corruptions of the real file are refused, not misread. */
CCS_TEST(damaged_files_are_refused)
{
	const char *dir = getenv("TZDIR");
	char src[512], path[256], err[512];
	snprintf(src, sizeof(src), "%s/America/Los_Angeles", dir && *dir ? dir : "/usr/share/zoneinfo");
	FILE *f = fopen(src, "rb");
	CCS_TRUE(f != NULL);
	if (!f)
		return;
	static uint8_t buf[1 << 16];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/damaged", scratch());
	for (size_t cut = 0; cut < len; cut++) {
		ccs_tz *tz = NULL;
		FILE *o = fopen(path, "wb");
		fwrite(buf, 1, cut, o);
		fclose(o);
		if (ccs_tz_load(path, &tz, err, sizeof(err)) == 0) {
			CCS_FAIL_("accepted the first %zu of %zu bytes", cut, len);
			ccs_tz_free(tz);
			break;
		}
	}
	/* a footer rule we cannot read */
	write_rule_zone(path, 0, "PST8PDT");
	ccs_tz *tz = NULL;
	CCS_TRUE(ccs_tz_load(path, &tz, err, sizeof(err)) != 0);
	CCS_TRUE(strstr(err, "footer") != NULL);
	write_rule_zone(path, 0, "PST8PDT,M13.1.0,M11.1.0");
	CCS_TRUE(ccs_tz_load(path, &tz, err, sizeof(err)) != 0);
	unlink(path);
}

CCS_TEST(zz_cleanup)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/zi/America", scratch());
	rmdir(path);
	snprintf(path, sizeof(path), "%s/zi", scratch());
	rmdir(path);
	rmdir(scratch());
}

CCS_TEST_MAIN()
