/*
 * Civil-date arithmetic (see ccs/date.h). The day-count conversion is the well-known
 * era-based algorithm for the proleptic Gregorian calendar.
 */
#include "ccs/date.h"

#include <time.h>

#include "ccs/instant.h"

ccs_date ccs_date_from_ymd(int y, int m, int d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (ccs_date)(era * 146097 + (int)doe - 719468);
}

void ccs_date_to_ymd(ccs_date z, int *y, int *m, int *d)
{
	int zz = z + 719468;
	const int era = (zz >= 0 ? zz : zz - 146096) / 146097;
	const unsigned doe = (unsigned)(zz - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int yy = (int)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
	const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (mm <= 2);
	*m = (int)mm;
	*d = (int)dd;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

int ccs_date_valid_ymd(int y, int m, int d)
{
	return y >= 1800 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= month_days(y, m);
}

ccs_date ccs_date_parse(const char *s)
{
	int v[3] = {0, 0, 0};
	const int width[3] = {4, 2, 2};

	if (!s)
		return CCS_DATE_INVALID;
	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < width[f]; i++, s++) {
			if (*s < '0' || *s > '9')
				return CCS_DATE_INVALID;
			v[f] = v[f] * 10 + (*s - '0');
		}
		if (f < 2 && *s++ != '-')
			return CCS_DATE_INVALID;
	}
	if (*s != '\0' || !ccs_date_valid_ymd(v[0], v[1], v[2]))
		return CCS_DATE_INVALID;
	return ccs_date_from_ymd(v[0], v[1], v[2]);
}

void ccs_date_format(ccs_date day, char buf[11])
{
	int y, m, d;
	ccs_date_to_ymd(day, &y, &m, &d);
	unsigned yy = (unsigned)(y < 0 ? 0 : y % 10000), mm = (unsigned)m % 100, dd = (unsigned)d % 100;
	buf[0] = (char)('0' + yy / 1000);
	buf[1] = (char)('0' + yy / 100 % 10);
	buf[2] = (char)('0' + yy / 10 % 10);
	buf[3] = (char)('0' + yy % 10);
	buf[4] = '-';
	buf[5] = (char)('0' + mm / 10);
	buf[6] = (char)('0' + mm % 10);
	buf[7] = '-';
	buf[8] = (char)('0' + dd / 10);
	buf[9] = (char)('0' + dd % 10);
	buf[10] = '\0';
}

/* y/m/d with d possibly past the month's end: overflow into the next month. */
static ccs_date normalise(int y, int m, int d)
{
	int md = month_days(y, m);
	if (d > md)
		return ccs_date_from_ymd(y, m, md) + (d - md);
	return ccs_date_from_ymd(y, m, d);
}

ccs_date ccs_date_add_years(ccs_date day, int years)
{
	int y, m, d;
	ccs_date_to_ymd(day, &y, &m, &d);
	return normalise(y + years, m, d);
}

ccs_date ccs_date_add_months(ccs_date day, int months)
{
	int y, m, d;
	ccs_date_to_ymd(day, &y, &m, &d);
	int total = y * 12 + (m - 1) + months;
	int ny = total >= 0 ? total / 12 : (total - 11) / 12;
	return normalise(ny, total - ny * 12 + 1, d);
}

int ccs_date_age_years(ccs_date dob, ccs_date asof)
{
	int y1, m1, d1, y2, m2, d2;
	if (asof < dob)
		return 0;
	ccs_date_to_ymd(dob, &y1, &m1, &d1);
	ccs_date_to_ymd(asof, &y2, &m2, &d2);
	int age = y2 - y1;
	if (ccs_date_add_years(dob, age) > asof)
		age--;
	return age;
}

int ccs_date_age_months(ccs_date dob, ccs_date asof)
{
	int y1, m1, d1, y2, m2, d2;
	if (asof < dob)
		return 0;
	ccs_date_to_ymd(dob, &y1, &m1, &d1);
	ccs_date_to_ymd(asof, &y2, &m2, &d2);
	int months = (y2 - y1) * 12 + (m2 - m1);
	if (ccs_date_add_months(dob, months) > asof)
		months--;
	return months;
}

int ccs_date_weekday(ccs_date day)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	int w = (day + 3) % 7;
	return w < 0 ? w + 7 : w;
}

ccs_date ccs_date_today(void)
{
	/* Today is a California date, like every date the rules compare it with. Without tzdata
	 * (which ccs_tz_init refuses at startup) the UTC date is still better than no date. */
	time_t now = time(NULL);
	ccs_date d = ccs_instant_ca_date((int64_t)now);
	return d != CCS_DATE_INVALID ? d : (ccs_date)(now / 86400);
}
