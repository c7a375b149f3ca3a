/*
 * TZif reader (RFC 8536) and POSIX TZ rule evaluator (see ccs/tz.h).
 *
 * Why not localtime_r with TZ=America/Los_Angeles: TZ is process-global state that setenv
 * races with, and a daemon should not depend on its environment for the date a deadline
 * falls on. Reading the file ourselves gives an immutable table shared by every thread.
 *
 * What is read: for version 2+ files the 64-bit block only (the 32-bit one is skipped), the
 * transition times with their type indices, each type's UTC offset, and the footer TZ string,
 * which governs every instant after the last transition (Debian's "slim" files stop at 2007
 * and leave the rest to the footer). Files with leap-second records ("right/" zones) are
 * refused: their transition times are not POSIX times.
 */
#include "ccs/tz.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/date.h"
#include "ccs/err.h"
#include "ccs/mem.h"

#define TZ_FILE_MAX (1u << 20) /* the largest real zone file is a few KiB */
#define TZ_COUNT_MAX (1u << 16)
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_CALIFORNIA "America/Los_Angeles"

/* A POSIX rule date: Mm.w.d, Jn (1..365, no 29 Feb) or n (0..365). */
enum rule_kind { RULE_MONTH, RULE_JULIAN1, RULE_JULIAN0 };

struct rule_change {
	enum rule_kind kind;
	int month, week, wday, day;
	int32_t secs; /* local time of day of the change, may be < 0 or > 24 h */
};

struct rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	int has_dst;
	struct rule_change start, end;
};

struct ccs_tz {
	size_t n;         /* transitions */
	int64_t *at;      /* ascending transition instants */
	uint8_t *type;    /* type index in force from at[i] */
	size_t ntypes;
	int32_t *utoff;   /* per type, seconds east of UTC */
	int has_rule;     /* a footer with a rule */
	struct rule rule;
};

/* ---- the footer: a POSIX TZ string ---------------------------------------------------- */

static int digits(const char **p, int maxdigits, int *v)
{
	int n = 0;
	*v = 0;
	while (n < maxdigits && **p >= '0' && **p <= '9') {
		*v = *v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n ? 0 : -1;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; seconds into *secs. */
static int hms(const char **p, int max_h, int32_t *secs)
{
	int sign = 1, h, m = 0, s = 0;
	if (**p == '+' || **p == '-')
		sign = *(*p)++ == '-' ? -1 : 1;
	if (digits(p, 3, &h) || h > max_h)
		return -1;
	if (**p == ':') {
		(*p)++;
		if (digits(p, 2, &m) || m > 59)
			return -1;
		if (**p == ':') {
			(*p)++;
			if (digits(p, 2, &s) || s > 59)
				return -1;
		}
	}
	*secs = sign * (h * 3600 + m * 60 + s);
	return 0;
}

/* A zone abbreviation: three or more letters, or <...> with letters, digits, + and -. */
static int abbrev(const char **p)
{
	const char *s = *p;
	size_t n = 0;
	if (*s == '<') {
		for (s++; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
			  (*s >= '0' && *s <= '9') || *s == '+' || *s == '-';
		     s++)
			n++;
		if (*s != '>' || n < 3)
			return -1;
		*p = s + 1;
		return 0;
	}
	for (; (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'); s++)
		n++;
	if (n < 3)
		return -1;
	*p = s;
	return 0;
}

static int rule_change(const char **p, struct rule_change *c)
{
	memset(c, 0, sizeof(*c));
	if (**p == 'M') {
		(*p)++;
		c->kind = RULE_MONTH;
		if (digits(p, 2, &c->month) || c->month < 1 || c->month > 12 || *(*p)++ != '.' ||
		    digits(p, 1, &c->week) || c->week < 1 || c->week > 5 || *(*p)++ != '.' ||
		    digits(p, 1, &c->wday) || c->wday > 6)
			return -1;
	} else if (**p == 'J') {
		(*p)++;
		c->kind = RULE_JULIAN1;
		if (digits(p, 3, &c->day) || c->day < 1 || c->day > 365)
			return -1;
	} else {
		c->kind = RULE_JULIAN0;
		if (digits(p, 3, &c->day) || c->day > 365)
			return -1;
	}
	c->secs = 2 * 3600; /* POSIX default: 02:00 */
	if (**p == '/') {
		(*p)++;
		/* RFC 8536 3.3.1 lets the time range over -167..167 hours. */
		if (hms(p, 167, &c->secs))
			return -1;
	}
	return 0;
}

/* "STDoff[DST[off],start[/time],end[/time]]". Offsets in the string are west-positive. */
static int parse_footer(const char *s, struct ccs_tz *tz)
{
	struct rule *r = &tz->rule;
	int32_t off;

	if (!*s)
		return 0; /* no footer rule: the last transition's type holds forever */
	if (abbrev(&s) || hms(&s, 24, &off))
		return -1;
	r->std_off = -off;
	r->dst_off = r->std_off + 3600;
	if (*s) {
		if (abbrev(&s))
			return -1;
		if (*s != ',') {
			if (hms(&s, 24, &off))
				return -1;
			r->dst_off = -off;
		}
		/* A DST name without a rule leaves the dates to the implementation: refuse. */
		if (*s++ != ',' || rule_change(&s, &r->start) || *s++ != ',' || rule_change(&s, &r->end))
			return -1;
		r->has_dst = 1;
	}
	if (*s)
		return -1;
	tz->has_rule = 1;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The local day of a rule change in year y. */
static ccs_date change_day(int y, const struct rule_change *c)
{
	ccs_date jan1 = ccs_date_from_ymd(y, 1, 1);
	if (c->kind == RULE_JULIAN1)
		return jan1 + c->day - 1 + (is_leap(y) && c->day >= 60);
	if (c->kind == RULE_JULIAN0)
		return jan1 + c->day;
	ccs_date first = ccs_date_from_ymd(y, c->month, 1);
	ccs_date next = c->month == 12 ? ccs_date_from_ymd(y + 1, 1, 1) : ccs_date_from_ymd(y, c->month + 1, 1);
	int first_wday = (ccs_date_weekday(first) + 1) % 7; /* Sunday = 0 as in POSIX */
	ccs_date d = first + (c->wday - first_wday + 7) % 7 + 7 * (c->week - 1);
	while (d >= next) /* week 5 means the last such weekday */
		d -= 7;
	return d;
}

static int32_t rule_offset(const struct rule *r, int64_t t)
{
	int y, m, d;
	if (!r->has_dst)
		return r->std_off;
	ccs_date_to_ymd((ccs_date)floor_div(t + r->std_off, 86400), &y, &m, &d);
	/* The start is stated in standard time, the end in daylight time. */
	int64_t start = (int64_t)change_day(y, &r->start) * 86400 + r->start.secs - r->std_off;
	int64_t end = (int64_t)change_day(y, &r->end) * 86400 + r->end.secs - r->dst_off;
	int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
	return dst ? r->dst_off : r->std_off;
}

int32_t ccs_tz_offset(const ccs_tz *tz, int64_t t)
{
	size_t lo = 0, hi;
	if (tz->n == 0 || t >= tz->at[tz->n - 1]) {
		if (tz->has_rule)
			return rule_offset(&tz->rule, t);
		return tz->n ? tz->utoff[tz->type[tz->n - 1]] : tz->utoff[0];
	}
	if (t < tz->at[0])
		return tz->utoff[0]; /* RFC 8536: type 0 before the first transition */
	/* The last transition at or before t: at[lo] <= t < at[hi]. */
	hi = tz->n - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return tz->utoff[tz->type[lo]];
}

/* ---- the TZif file -------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct hdr {
	int version;
	uint32_t isut, isstd, leap, time, type, chars;
};

static int read_hdr(const uint8_t *p, size_t len, struct hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->isut > TZ_COUNT_MAX || h->isstd > TZ_COUNT_MAX || h->leap > TZ_COUNT_MAX ||
	    h->time > TZ_COUNT_MAX || h->type > 256 || h->chars > TZ_COUNT_MAX)
		return -1;
	return 0;
}

/* Size of the data block after a header whose times take `tsize` bytes. */
static size_t block_len(const struct hdr *h, size_t tsize)
{
	return (size_t)h->time * (tsize + 1) + (size_t)h->type * 6 + h->chars +
	       (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* Parse the zone in buf; fills tz. 0, or -1 with why in errbuf. */
static int parse_tzif(const uint8_t *buf, size_t len, struct ccs_tz *tz, char *errbuf, size_t errlen)
{
	struct hdr h;
	size_t tsize = 4, off = 0;
	int rc = -1;

	if (read_hdr(buf, len, &h)) {
		ccs_errf(errbuf, errlen, "not a TZif file");
		goto out;
	}
	if (h.version >= '2') {
		/* Skip the 32-bit block; the 64-bit header and block follow. */
		off = 44 + block_len(&h, 4);
		tsize = 8;
		if (off > len || read_hdr(buf + off, len - off, &h)) {
			ccs_errf(errbuf, errlen, "truncated TZif file (no 64-bit header)");
			goto out;
		}
	}
	off += 44;
	if (h.type == 0 || block_len(&h, tsize) > len - off) {
		ccs_errf(errbuf, errlen, "truncated TZif file");
		goto out;
	}
	if (h.leap) {
		ccs_errf(errbuf, errlen, "zone carries leap seconds (a right/ zone), not POSIX time");
		goto out;
	}
	const uint8_t *times = buf + off, *idx = times + (size_t)h.time * tsize, *types = idx + h.time;
	tz->n = h.time;
	tz->ntypes = h.type;
	tz->at = ccs_xcalloc(h.time ? h.time : 1, sizeof(*tz->at));
	tz->type = ccs_xcalloc(h.time ? h.time : 1, 1);
	tz->utoff = ccs_xcalloc(h.type, sizeof(*tz->utoff));
	for (size_t i = 0; i < h.time; i++) {
		tz->at[i] = tsize == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
		tz->type[i] = idx[i];
		if (idx[i] >= h.type || (i && tz->at[i] <= tz->at[i - 1])) {
			ccs_errf(errbuf, errlen, "bad transition %zu", i);
			goto out;
		}
	}
	for (size_t i = 0; i < h.type; i++) {
		int32_t u = (int32_t)be32(types + i * 6);
		if (u < -25 * 3600 || u > 26 * 3600) {
			ccs_errf(errbuf, errlen, "bad UTC offset in type %zu", i);
			goto out;
		}
		tz->utoff[i] = u;
	}
	off += block_len(&h, tsize);
	if (tsize == 8) {
		/* Footer: "\n" TZ string "\n". */
		const char *f = (const char *)buf + off, *nl;
		char tzs[128];
		if (off >= len || *f != '\n' || !(nl = memchr(f + 1, '\n', len - off - 1)) ||
		    (size_t)(nl - f - 1) >= sizeof(tzs)) {
			ccs_errf(errbuf, errlen, "missing TZ string footer");
			goto out;
		}
		memcpy(tzs, f + 1, (size_t)(nl - f - 1));
		tzs[nl - f - 1] = '\0';
		if (parse_footer(tzs, tz)) {
			ccs_errf(errbuf, errlen, "unsupported TZ string footer \"%s\"", tzs);
			goto out;
		}
	}
	rc = 0;
out:
	return rc;
}

static const char *tz_dir(void)
{
	const char *d = getenv("CCS_TZDIR");
	if (!d || !*d)
		d = getenv("TZDIR");
	return d && *d ? d : TZ_DEFAULT_DIR;
}

int ccs_tz_load(const char *name, ccs_tz **out, char *errbuf, size_t errlen)
{
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	ccs_tz *tz = NULL;
	char why[160];
	int rc = -EINVAL;

	*out = NULL;
	if (!name || !*name || strstr(name, "..")) {
		ccs_errf(errbuf, errlen, "bad zone name");
		goto out;
	}
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else if (snprintf(path, sizeof(path), "%s/%s", tz_dir(), name) >= (int)sizeof(path)) {
		ccs_errf(errbuf, errlen, "zone path too long");
		goto out;
	}
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		ccs_errf(errbuf, errlen, "cannot open time zone %s: %s (install tzdata or set CCS_TZDIR)",
			 path, strerror(errno));
		goto out;
	}
	buf = ccs_xmalloc(TZ_FILE_MAX);
	len = fread(buf, 1, TZ_FILE_MAX, f);
	if (ferror(f) || len == TZ_FILE_MAX) {
		ccs_errf(errbuf, errlen, "cannot read time zone %s: %s", path,
			 ferror(f) ? "read error" : "file too large");
		goto out;
	}
	tz = ccs_xcalloc(1, sizeof(*tz));
	if (parse_tzif(buf, len, tz, why, sizeof(why))) {
		ccs_errf(errbuf, errlen, "time zone %s: %s", path, why);
		goto out;
	}
	*out = tz;
	tz = NULL;
	rc = 0;
out:
	ccs_tz_free(tz);
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

void ccs_tz_free(ccs_tz *tz)
{
	if (!tz)
		return;
	free(tz->at);
	free(tz->type);
	free(tz->utoff);
	free(tz);
}

/* ---- the process's California zone ---------------------------------------------------- */

static pthread_once_t ca_once = PTHREAD_ONCE_INIT;
static ccs_tz *ca_zone;
static int ca_rc;
static char ca_err[512];

static void ca_load(void)
{
	ca_rc = ccs_tz_load(TZ_CALIFORNIA, &ca_zone, ca_err, sizeof(ca_err));
}

int ccs_tz_init(char *errbuf, size_t errlen)
{
	pthread_once(&ca_once, ca_load);
	if (ca_rc)
		ccs_errf(errbuf, errlen, "%s", ca_err);
	return ca_rc;
}

const ccs_tz *ccs_tz_california(void)
{
	pthread_once(&ca_once, ca_load);
	return ca_zone;
}
