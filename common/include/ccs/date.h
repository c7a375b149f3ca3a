/*
 * Civil dates as days since 1970-01-01 (proleptic Gregorian), and the age arithmetic the
 * program's rules need. Pure functions; no time zone is involved because every rule in the
 * domain is stated in calendar days (an instant becomes a California date in ccs/instant.h).
 *
 * Anniversaries of 29 February fall on 1 March in common years (the person has not yet lived
 * the full number of years on 28 February).
 */
#ifndef CCS_DATE_H
#define CCS_DATE_H

#include <stdint.h>

typedef int32_t ccs_date; /* days since 1970-01-01 */

#define CCS_DATE_INVALID INT32_MIN

ccs_date ccs_date_from_ymd(int y, int m, int d);
void ccs_date_to_ymd(ccs_date day, int *y, int *m, int *d);
/* Parse "YYYY-MM-DD" exactly; returns CCS_DATE_INVALID on any other input or impossible date. */
ccs_date ccs_date_parse(const char *s);
/* Write "YYYY-MM-DD" into buf (at least 11 bytes). */
void ccs_date_format(ccs_date day, char buf[11]);
int ccs_date_valid_ymd(int y, int m, int d);
/* Same month/day, `years` later (29 Feb -> 1 Mar when needed). */
ccs_date ccs_date_add_years(ccs_date day, int years);
/* Same day-of-month `months` later, clamped to the month's end... except 29-31 overflow to the
 * first of the next month, consistent with ccs_date_add_years. */
ccs_date ccs_date_add_months(ccs_date day, int months);
/* Completed years / months of age on `asof` (0 if asof precedes dob). */
int ccs_date_age_years(ccs_date dob, ccs_date asof);
int ccs_date_age_months(ccs_date dob, ccs_date asof);
/* Day of week: 0 = Monday ... 6 = Sunday. */
int ccs_date_weekday(ccs_date day);
/* Today in California (America/Los_Angeles) from the wall clock (only for defaults and the
 * timers' day; rules take `asof`). Instants are dated with ccs/instant.h. */
ccs_date ccs_date_today(void);

#endif
