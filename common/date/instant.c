/*
 * RFC 3339 instants and their California dates (see ccs/instant.h).
 *
 * Why one parser: the three daemons each had their own, with three sets of rules (one
 * ignored the offset, one accepted a date alone, one a space for the T), so the same input
 * could be valid for one service and dead-lettered by the next, or dated differently.
 */
#include "ccs/instant.h"

#include <errno.h>

#include "ccs/tz.h"

/* Bound on epochs given to ccs_instant_ca_date: far beyond any real date, small enough that
 * the day count fits a ccs_date. */
#define EPOCH_BOUND (INT64_C(1) << 45)

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* `n` decimal digits at *p into *v, advancing *p; -1 if any is not a digit. */
static int fixed(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* Expect the character c (or its lower-case form lc) at *p. */
static int sep(const char **p, char c, char lc)
{
	if (**p != c && **p != lc)
		return -1;
	(*p)++;
	return 0;
}

int ccs_instant_parse(const char *s, int64_t *epoch_s, int32_t *nanos)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, nd = 0;
	int32_t ns = 0;
	int64_t t;

	if (!s)
		return -EINVAL;
	if (fixed(&s, 4, &y) || sep(&s, '-', '-') || fixed(&s, 2, &mo) || sep(&s, '-', '-') ||
	    fixed(&s, 2, &d) || sep(&s, 'T', 't') || fixed(&s, 2, &h) || sep(&s, ':', ':') ||
	    fixed(&s, 2, &mi) || sep(&s, ':', ':') || fixed(&s, 2, &sec))
		return -EINVAL;
	if (y < 1900 || !ccs_date_valid_ymd(y, mo, d) || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nd++)
			if (nd < 9)
				ns = ns * 10 + (*s - '0');
		if (nd == 0)
			return -EINVAL;
		for (int i = nd; i < 9; i++)
			ns *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (fixed(&s, 2, &oh) || sep(&s, ':', ':') || fixed(&s, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL; /* RFC 3339 has no local time without an offset */
	}
	if (*s != '\0')
		return -EINVAL;
	t = (int64_t)ccs_date_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	if (sec == 60) {
		/* Only 23:59:60 UTC can be a leap second; it computes as the next midnight. */
		if (floor_div(t, 86400) * 86400 != t)
			return -EINVAL;
		t -= 1;
		ns = 999999999;
	}
	if (t < CCS_INSTANT_MIN || t > CCS_INSTANT_MAX)
		return -EINVAL;
	*epoch_s = t;
	if (nanos)
		*nanos = ns;
	return 0;
}

static char *put(char *p, unsigned v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + width;
}

int ccs_instant_format(int64_t epoch_s, int32_t nanos, char buf[CCS_INSTANT_STRLEN])
{
	int y, mo, d;
	char *p = buf;

	buf[0] = '\0';
	if (epoch_s < CCS_INSTANT_MIN || epoch_s > CCS_INSTANT_MAX || nanos < 0 || nanos > 999999999)
		return -ERANGE;
	int64_t day = floor_div(epoch_s, 86400);
	unsigned sod = (unsigned)(epoch_s - day * 86400);
	ccs_date_to_ymd((ccs_date)day, &y, &mo, &d);
	p = put(p, (unsigned)y, 4);
	*p++ = '-';
	p = put(p, (unsigned)mo, 2);
	*p++ = '-';
	p = put(p, (unsigned)d, 2);
	*p++ = 'T';
	p = put(p, sod / 3600, 2);
	*p++ = ':';
	p = put(p, sod / 60 % 60, 2);
	*p++ = ':';
	p = put(p, sod % 60, 2);
	if (nanos) {
		int w = 9;
		unsigned f = (unsigned)nanos;
		while (f % 10 == 0) {
			f /= 10;
			w--;
		}
		*p++ = '.';
		p = put(p, f, w);
	}
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

ccs_date ccs_instant_ca_date(int64_t epoch_s)
{
	const ccs_tz *ca = ccs_tz_california();
	if (!ca || epoch_s < -EPOCH_BOUND || epoch_s > EPOCH_BOUND)
		return CCS_DATE_INVALID;
	return (ccs_date)floor_div(epoch_s + ccs_tz_offset(ca, epoch_s), 86400);
}

ccs_date ccs_instant_date_ca(const char *rfc3339)
{
	int64_t t;
	if (ccs_instant_parse(rfc3339, &t, NULL) != 0)
		return CCS_DATE_INVALID;
	return ccs_instant_ca_date(t);
}
