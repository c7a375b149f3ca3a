/*
 * The MTU booking engine (see engine.h for the contract).
 *
 * Every search is the same funnel, run in a fixed order over candidates:
 *
 *   day (ascending) -> start time on the rules' grid (ascending) -> therapist (preferred first,
 *   then by id) -> room (preferred first, then by id)
 *
 * and each candidate passes stages in order: 1 school day (weekday allowed, not a closure, the
 * MTU open), 2 therapist within working hours, 3 child free (no IEP block, no appointment of
 * the child), 4 therapist free, 5 a suitable room free. The first candidate through all stages
 * wins; when none does, the deepest stage any candidate reached names what blocked the search
 * (stage_reason[]), which is the reason the daemon puts on a waitlist decision.
 *
 * A request first builds an index in the caller's arena: therapist and room indices sorted by
 * id (so the input order never changes the answer), and the snapshot's appointments resolved to
 * indices and sorted by (day, start), so a candidate only looks at its own day's appointments.
 * ccs_sched_check_slot() is deliberately the naive version of the same checks (a linear scan,
 * no index) so the tests and the fuzzer can hold the searches against it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/err.h"

const ccs_sched_rules ccs_sched_rules_default = {
	.version = "mtp-sched-2025.1",
	.slot_minutes = 15,
	.eval_minutes = 60,
	.eval_target_days = 30,
	.target_policy = CCS_SCHED_TARGET_STRICT,
	.horizon_days = 90,
	.lead_days = 1,
	.notice_days = 1,
	.conference_minutes = 60,
	.plan_change_notice_days = 5,
	.plan_change_business_days = 0,
	.school_days = 0x1f,
	.max_series_weeks = 104,
	.evaluator_min_pct = 75,
};

const ccs_sched_wl_policy ccs_sched_wl_policy_default = {
	.version = "mtp-waitlist-2025.1",
	.tiers = {CCS_SCHED_WL_AT_RISK_INFANT, CCS_SCHED_WL_POST_SURGICAL, CCS_SCHED_WL_AGING_OUT},
	.n_tiers = 3,
	.aging_out_months = 6,
};

/* Sane bounds that keep all date arithmetic far from overflow: years 0000..9999. */
#define DAY_MIN (-719528)
#define DAY_MAX 2932896
#define MAX_SPAN_DAYS 3660
/* Upper bound of a series' feasibility matrix (therapists x weeks x 7 x grid starts). */
#define SERIES_MAX_CELLS ((size_t)8 * 1024 * 1024)

static const char *const reason_names[] = {
	[CCS_SCHED_OK] = "OK",
	[CCS_SCHED_R_WINDOW_EMPTY] = "WINDOW_EMPTY",
	[CCS_SCHED_R_NO_SCHOOL_DAY] = "NO_SCHOOL_DAY",
	[CCS_SCHED_R_NO_THERAPIST_HOURS] = "NO_THERAPIST_HOURS",
	[CCS_SCHED_R_CHILD_UNAVAILABLE] = "CHILD_UNAVAILABLE",
	[CCS_SCHED_R_THERAPIST_BUSY] = "THERAPIST_BUSY",
	[CCS_SCHED_R_NO_ROOM] = "NO_ROOM",
	[CCS_SCHED_R_PHYSICIAN_BUSY] = "PHYSICIAN_BUSY",
	[CCS_SCHED_R_NO_WAITLIST_MATCH] = "NO_WAITLIST_MATCH",
};

/* The funnel's stages and what it means when the search stopped before the next one. */
enum { ST_NONE, ST_DAY, ST_HOURS, ST_CHILD, ST_THERAPIST, ST_ROOM };
static const ccs_sched_reason stage_reason[] = {
	[ST_NONE] = CCS_SCHED_R_NO_SCHOOL_DAY,
	[ST_DAY] = CCS_SCHED_R_NO_THERAPIST_HOURS,
	[ST_HOURS] = CCS_SCHED_R_CHILD_UNAVAILABLE,
	[ST_CHILD] = CCS_SCHED_R_THERAPIST_BUSY,
	[ST_THERAPIST] = CCS_SCHED_R_NO_ROOM,
	[ST_ROOM] = CCS_SCHED_OK,
};

const char *ccs_sched_reason_name(ccs_sched_reason r)
{
	if ((unsigned)r < sizeof(reason_names) / sizeof(reason_names[0]) && reason_names[r])
		return reason_names[r];
	return "UNKNOWN";
}

const char *ccs_sched_discipline_name(int discipline)
{
	switch (discipline) {
	case CCS_SCHED_PT:
		return "PT";
	case CCS_SCHED_OT:
		return "OT";
	case CCS_SCHED_CONFERENCE:
		return "CONFERENCE";
	default:
		return "?";
	}
}

void ccs_sched_format_local(ccs_date day, int minute, char buf[17])
{
	char tmp[64];
	int y, m, d;

	ccs_date_to_ymd(day, &y, &m, &d);
	if (minute < 0 || minute > CCS_SCHED_MINUTES_PER_DAY)
		minute = 0;
	if (y < 0 || y > 9999)
		y = 0;
	/* via a wide buffer: the compiler cannot see that every field fits its width */
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d", y, m, d, minute / 60, minute % 60);
	memcpy(buf, tmp, 16);
	buf[16] = '\0';
}

static int two_digits(const char *p)
{
	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return -1;
	return (p[0] - '0') * 10 + (p[1] - '0');
}

int ccs_sched_parse_local(const char *s, ccs_date *day, int *minute)
{
	char date[11];
	int hh, mm;

	if (!s || strlen(s) != 16 || s[10] != 'T' || s[13] != ':')
		return -EINVAL;
	memcpy(date, s, 10);
	date[10] = '\0';
	hh = two_digits(s + 11);
	mm = two_digits(s + 14);
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59)
		return -EINVAL;
	ccs_date d = ccs_date_parse(date);
	if (d == CCS_DATE_INVALID)
		return -EINVAL;
	*day = d;
	*minute = hh * 60 + mm;
	return 0;
}

ccs_date ccs_sched_change_effective(const ccs_sched_rules *r, ccs_date notice_on)
{
	int n = r->plan_change_notice_days;
	ccs_date d = notice_on;

	if (!r->plan_change_business_days)
		return notice_on + n;
	/* Business days: each counted day is a Monday-Friday after the notice date. */
	while (n > 0) {
		d++;
		if (ccs_date_weekday(d) < 5)
			n--;
	}
	return d;
}

/* ---- the per-request index ------------------------------------------------------------------ */

struct busy {
	ccs_date day;
	int start, end;
	int therapist;        /* snapshot index or -1 */
	int room;             /* snapshot index or -1 */
	const char *child_id; /* NULL when it blocks no child */
	size_t seq;           /* input position: makes the sort a total order */
};

struct ctx {
	const ccs_sched_rules *r;
	const ccs_sched_snapshot *s;
	int *t_order; /* therapist indices sorted by id */
	int *r_order; /* room indices sorted by id */
	struct busy *busy;
	size_t n_busy;
};

/* The appointments of one day: busy[lo, hi). */
struct day_slice {
	ccs_date day;
	int wd;
	size_t lo, hi;
};

static int hours_ok(const ccs_sched_hours *h)
{
	return h->start_min >= 0 && h->start_min <= h->end_min &&
	       h->end_min <= CCS_SCHED_MINUTES_PER_DAY;
}

static int interval_ok(int start, int end)
{
	return start >= 0 && start < end && end <= CCS_SCHED_MINUTES_PER_DAY;
}

static int day_ok(ccs_date d)
{
	return d >= DAY_MIN && d <= DAY_MAX;
}

static int overlaps(int a_start, int a_end, int b_start, int b_end)
{
	return a_start < b_end && b_start < a_end;
}

static int rules_valid(const ccs_sched_rules *r, char *errbuf, size_t errlen)
{
	if (!r || r->slot_minutes < 1 || r->slot_minutes > CCS_SCHED_MINUTES_PER_DAY ||
	    r->eval_minutes < 1 || r->eval_minutes > CCS_SCHED_MINUTES_PER_DAY ||
	    r->conference_minutes < 1 || r->conference_minutes > CCS_SCHED_MINUTES_PER_DAY ||
	    r->eval_target_days < 0 || r->eval_target_days > MAX_SPAN_DAYS ||
	    r->horizon_days < 0 || r->horizon_days > MAX_SPAN_DAYS || r->lead_days < 0 ||
	    r->lead_days > MAX_SPAN_DAYS || r->notice_days < 0 || r->notice_days > MAX_SPAN_DAYS ||
	    r->plan_change_notice_days < 0 || r->plan_change_notice_days > 366 ||
	    (r->school_days & 0x7fu) == 0 || (r->school_days & ~0x7fu) != 0 ||
	    r->max_series_weeks < 1 || r->max_series_weeks > 520 || r->evaluator_min_pct < 0 ||
	    r->evaluator_min_pct > 100) {
		ccs_errf(errbuf, errlen, "invalid scheduling rules");
		return 0;
	}
	return 1;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

/* qsort has no context argument portable to all libcs; the index sorts use qsort_r (glibc). */
static int cmp_therapist_idx(const void *a, const void *b, void *arg)
{
	const ccs_sched_therapist *t = arg;
	return cmp_str(t[*(const int *)a].id, t[*(const int *)b].id);
}

static int cmp_room_idx(const void *a, const void *b, void *arg)
{
	const ccs_sched_room *rm = arg;
	return cmp_str(rm[*(const int *)a].id, rm[*(const int *)b].id);
}

static int cmp_busy(const void *pa, const void *pb)
{
	const struct busy *a = pa, *b = pb;

	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static int find_therapist(const struct ctx *c, const char *id)
{
	size_t lo = 0, hi = c->s->n_therapists;

	if (!id)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = c->t_order[mid];
		int d = strcmp(id, c->s->therapists[k].id);
		if (d == 0)
			return k;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static int find_room(const struct ctx *c, const char *id)
{
	size_t lo = 0, hi = c->s->n_rooms;

	if (!id)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int k = c->r_order[mid];
		int d = strcmp(id, c->s->rooms[k].id);
		if (d == 0)
			return k;
		if (d < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Validates the snapshot and builds the index in the arena. */
static int ctx_build(struct ctx *c, const ccs_sched_rules *r, const ccs_sched_snapshot *s,
		     ccs_arena *a, char *errbuf, size_t errlen)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->r = r;
	c->s = s;
	if (!rules_valid(r, errbuf, errlen))
		return -EINVAL;
	if (!s || !a || (s->n_therapists && !s->therapists) || (s->n_rooms && !s->rooms) ||
	    (s->n_closures && !s->closures) || (s->n_appts && !s->appts) ||
	    s->n_therapists > 30000 || s->n_rooms > 30000) {
		ccs_errf(errbuf, errlen, "invalid snapshot");
		return -EINVAL;
	}
	for (int wd = 0; wd < 7; wd++) {
		if (!hours_ok(&s->open[wd])) {
			ccs_errf(errbuf, errlen, "invalid MTU hours on weekday %d", wd);
			return -EINVAL;
		}
	}
	for (i = 0; i < s->n_therapists; i++) {
		const ccs_sched_therapist *t = &s->therapists[i];
		if (!t->id || (t->discipline != CCS_SCHED_PT && t->discipline != CCS_SCHED_OT)) {
			ccs_errf(errbuf, errlen, "therapist %zu: missing id or bad discipline", i);
			return -EINVAL;
		}
		for (int wd = 0; wd < 7; wd++) {
			if (!hours_ok(&t->hours[wd])) {
				ccs_errf(errbuf, errlen, "therapist %s: invalid hours", t->id);
				return -EINVAL;
			}
		}
	}
	for (i = 0; i < s->n_rooms; i++) {
		if (!s->rooms[i].id) {
			ccs_errf(errbuf, errlen, "room %zu: missing id", i);
			return -EINVAL;
		}
	}
	for (i = 0; i < s->n_closures; i++) {
		const ccs_sched_closure *cl = &s->closures[i];
		if (!day_ok(cl->first) || !day_ok(cl->last) || cl->first > cl->last) {
			ccs_errf(errbuf, errlen, "closure %zu: invalid dates", i);
			return -EINVAL;
		}
	}

	c->t_order = ccs_arena_alloc(a, (s->n_therapists + 1) * sizeof(int));
	c->r_order = ccs_arena_alloc(a, (s->n_rooms + 1) * sizeof(int));
	for (i = 0; i < s->n_therapists; i++)
		c->t_order[i] = (int)i;
	for (i = 0; i < s->n_rooms; i++)
		c->r_order[i] = (int)i;
	qsort_r(c->t_order, s->n_therapists, sizeof(int), cmp_therapist_idx,
		(void *)(uintptr_t)s->therapists);
	qsort_r(c->r_order, s->n_rooms, sizeof(int), cmp_room_idx, (void *)(uintptr_t)s->rooms);
	/* Duplicate ids would make "by id" ambiguous, hence the answer order-dependent. */
	for (i = 1; i < s->n_therapists; i++) {
		if (strcmp(s->therapists[c->t_order[i - 1]].id, s->therapists[c->t_order[i]].id) ==
		    0) {
			ccs_errf(errbuf, errlen, "duplicate therapist id %s",
			       s->therapists[c->t_order[i]].id);
			return -EINVAL;
		}
	}
	for (i = 1; i < s->n_rooms; i++) {
		if (strcmp(s->rooms[c->r_order[i - 1]].id, s->rooms[c->r_order[i]].id) == 0) {
			ccs_errf(errbuf, errlen, "duplicate room id %s", s->rooms[c->r_order[i]].id);
			return -EINVAL;
		}
	}

	c->busy = ccs_arena_alloc(a, (s->n_appts + 1) * sizeof(struct busy));
	for (i = 0; i < s->n_appts; i++) {
		const ccs_sched_appt *ap = &s->appts[i];
		struct busy b;
		if (!day_ok(ap->day) || !interval_ok(ap->start_min, ap->end_min)) {
			ccs_errf(errbuf, errlen, "appointment %zu: invalid day or interval", i);
			return -EINVAL;
		}
		b.day = ap->day;
		b.start = ap->start_min;
		b.end = ap->end_min;
		b.therapist = find_therapist(c, ap->therapist_id);
		b.room = find_room(c, ap->room_id);
		b.child_id = ap->child_id;
		b.seq = i;
		if (b.therapist < 0 && b.room < 0 && !b.child_id)
			continue; /* blocks nobody we know of */
		c->busy[c->n_busy++] = b;
	}
	qsort(c->busy, c->n_busy, sizeof(struct busy), cmp_busy);
	return 0;
}

static void slice_for(const struct ctx *c, ccs_date day, struct day_slice *sl)
{
	size_t lo = 0, hi = c->n_busy;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->busy[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	sl->day = day;
	sl->wd = ccs_date_weekday(day);
	sl->lo = lo;
	for (hi = lo; hi < c->n_busy && c->busy[hi].day == day;)
		hi++;
	sl->hi = hi;
}

static int closed_on(const ccs_sched_snapshot *s, ccs_date day)
{
	for (size_t i = 0; i < s->n_closures; i++)
		if (day >= s->closures[i].first && day <= s->closures[i].last)
			return 1;
	return 0;
}

/* Stage 1: a bookable weekday, the MTU open, no closure. */
static int day_open(const ccs_sched_rules *r, const ccs_sched_snapshot *s, ccs_date day)
{
	int wd = ccs_date_weekday(day);

	if (!(r->school_days & (1u << wd)))
		return 0;
	if (s->open[wd].start_min >= s->open[wd].end_min)
		return 0;
	return !closed_on(s, day);
}

static int within(const ccs_sched_hours *h, int start, int end)
{
	return h->start_min <= start && end <= h->end_min;
}

/* Stage 2: inside both the therapist's hours and the MTU's. */
static int in_hours(const ccs_sched_snapshot *s, int t, int wd, int start, int end)
{
	return within(&s->open[wd], start, end) && within(&s->therapists[t].hours[wd], start, end);
}

/* An IEP block applies on a day of its weekday within its validity (0 = unbounded). */
static int iep_applies(const ccs_sched_iep_block *b, ccs_date day, int wd)
{
	return b->weekday == wd && (b->from_day == 0 || day >= b->from_day) &&
	       (b->until_day == 0 || day <= b->until_day);
}

/* Stage 3: no IEP block of that weekday, no appointment of the child. */
static int child_free(const struct ctx *c, const ccs_sched_child *ch, const struct day_slice *sl,
		      int start, int end)
{
	if (!ch)
		return 1;
	for (size_t i = 0; i < ch->n_iep; i++) {
		const ccs_sched_iep_block *b = &ch->iep[i];
		if (iep_applies(b, sl->day, sl->wd) &&
		    overlaps(start, end, b->start_min, b->end_min))
			return 0;
	}
	if (!ch->child_id)
		return 1;
	for (size_t i = sl->lo; i < sl->hi; i++) {
		const struct busy *b = &c->busy[i];
		if (b->child_id && overlaps(start, end, b->start, b->end) &&
		    strcmp(b->child_id, ch->child_id) == 0)
			return 0;
	}
	return 1;
}

/* Stage 4. */
static int therapist_free(const struct ctx *c, const struct day_slice *sl, int t, int start,
			  int end)
{
	for (size_t i = sl->lo; i < sl->hi; i++) {
		const struct busy *b = &c->busy[i];
		if (b->therapist == t && overlaps(start, end, b->start, b->end))
			return 0;
	}
	return 1;
}

static int room_fits(const ccs_sched_room *rm, unsigned use)
{
	return rm->uses == 0 || (rm->uses & use) == use;
}

static int room_free(const struct ctx *c, const struct day_slice *sl, int room, int start,
		     int end)
{
	for (size_t i = sl->lo; i < sl->hi; i++) {
		const struct busy *b = &c->busy[i];
		if (b->room == room && overlaps(start, end, b->start, b->end))
			return 0;
	}
	return 1;
}

/* Stage 5: the preferred room if it fits and is free, else the first by id; -1 if none. */
static int pick_room(const struct ctx *c, const struct day_slice *sl, unsigned use, int start,
		     int end, int preferred)
{
	const ccs_sched_snapshot *s = c->s;

	if (preferred >= 0 && room_fits(&s->rooms[preferred], use) &&
	    room_free(c, sl, preferred, start, end))
		return preferred;
	for (size_t i = 0; i < s->n_rooms; i++) {
		int rm = c->r_order[i];
		if (room_fits(&s->rooms[rm], use) && room_free(c, sl, rm, start, end))
			return rm;
	}
	return -1;
}

/* Runs stages 2-5 for one therapist at one time; *stage keeps the deepest stage reached.
 * room_only >= 0 restricts the room to that one (a freed slot's room). Returns the room or -1. */
static int try_therapist(const struct ctx *c, const struct day_slice *sl,
			 const ccs_sched_child *ch, int t, int start, int end, int room_only,
			 int *stage)
{
	int rm;

	if (!in_hours(c->s, t, sl->wd, start, end))
		return -1;
	if (*stage < ST_HOURS)
		*stage = ST_HOURS;
	if (!child_free(c, ch, sl, start, end))
		return -1;
	if (*stage < ST_CHILD)
		*stage = ST_CHILD;
	if (!therapist_free(c, sl, t, start, end))
		return -1;
	if (*stage < ST_THERAPIST)
		*stage = ST_THERAPIST;
	unsigned use = (unsigned)c->s->therapists[t].discipline;
	if (room_only >= 0)
		rm = room_fits(&c->s->rooms[room_only], use) &&
				     room_free(c, sl, room_only, start, end)
			     ? room_only
			     : -1;
	else
		rm = pick_room(c, sl, use, start, end, -1);
	if (rm < 0)
		return -1;
	*stage = ST_ROOM;
	return rm;
}

/* First grid start >= from. The grid runs from midnight so every start is a multiple. */
static int grid_ceil(int from, int slot)
{
	return ((from + slot - 1) / slot) * slot;
}

static ccs_date max_date(ccs_date a, ccs_date b)
{
	return a > b ? a : b;
}

static int child_valid(const ccs_sched_child *ch)
{
	if (ch->n_iep && !ch->iep)
		return 0;
	for (size_t i = 0; i < ch->n_iep; i++) {
		const ccs_sched_iep_block *b = &ch->iep[i];
		if (b->weekday < 0 || b->weekday > 6 || !interval_ok(b->start_min, b->end_min))
			return 0;
		if ((b->from_day && !day_ok(b->from_day)) ||
		    (b->until_day && !day_ok(b->until_day)))
			return 0;
	}
	return 1;
}

/* ---- evaluation ------------------------------------------------------------------------------ */

int ccs_sched_find_evaluation(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
			      const ccs_sched_eval_request *q, ccs_arena *scratch,
			      ccs_sched_eval_result *res, char *errbuf, size_t errlen)
{
	struct ctx c;
	int rc, stage = ST_NONE, pref;
	ccs_date day;

	memset(res, 0, sizeof(*res));
	res->slot.therapist = res->slot.room = -1;
	rc = ctx_build(&c, r, s, scratch, errbuf, errlen);
	if (rc)
		goto out;
	if (!q || (q->discipline != CCS_SCHED_PT && q->discipline != CCS_SCHED_OT) ||
	    !day_ok(q->eligible_on) || !day_ok(q->asof) ||
	    (q->not_before != CCS_DATE_INVALID && !day_ok(q->not_before)) ||
	    !child_valid(&q->child)) {
		ccs_errf(errbuf, errlen, "invalid evaluation request");
		rc = -EINVAL;
		goto out;
	}
	res->target_day = q->eligible_on + r->eval_target_days;
	res->first_day = max_date(q->eligible_on + r->lead_days, q->asof + r->notice_days);
	if (q->not_before != CCS_DATE_INVALID)
		res->first_day = max_date(res->first_day, q->not_before);
	res->last_day = q->asof + r->horizon_days;
	if (r->target_policy == CCS_SCHED_TARGET_STRICT && res->target_day < res->last_day)
		res->last_day = res->target_day;
	res->reason = CCS_SCHED_R_WINDOW_EMPTY;
	if (res->first_day > res->last_day)
		goto out;

	pref = find_therapist(&c, q->preferred_therapist_id);
	for (day = res->first_day; day <= res->last_day; day++) {
		struct day_slice sl;
		if (!day_open(r, s, day))
			continue;
		if (stage < ST_DAY)
			stage = ST_DAY;
		slice_for(&c, day, &sl);
		const ccs_sched_hours *open = &s->open[sl.wd];
		for (int st = grid_ceil(open->start_min, r->slot_minutes);
		     st + r->eval_minutes <= open->end_min; st += r->slot_minutes) {
			int end = st + r->eval_minutes;
			for (long k = -1; k < (long)s->n_therapists; k++) {
				int t = k < 0 ? pref : c.t_order[k];
				if (t < 0 || (k >= 0 && t == pref))
					continue;
				if (s->therapists[t].discipline != q->discipline)
					continue;
				int rm = try_therapist(&c, &sl, &q->child, t, st, end, -1, &stage);
				if (rm < 0)
					continue;
				res->found = 1;
				res->slot = (ccs_sched_slot){day, st, end, t, rm};
				res->target_met = day <= res->target_day;
				res->reason = CCS_SCHED_OK;
				goto out;
			}
		}
	}
	res->reason = stage_reason[stage];
out:
	return rc;
}

/* ---- therapy series -------------------------------------------------------------------------- */

static int popcount7(unsigned m)
{
	int n = 0;
	for (int i = 0; i < 7; i++)
		n += (m >> i) & 1u;
	return n;
}

/* Smallest gap between consecutive sessions, around the week: the spread of a pattern. */
static int min_cyclic_gap(unsigned m)
{
	int first = -1, prev = -1, gap = 7;

	for (int d = 0; d < 7; d++) {
		if (!(m & (1u << d)))
			continue;
		if (first < 0)
			first = d;
		else if (d - prev < gap)
			gap = d - prev;
		prev = d;
	}
	if (first >= 0 && first != prev && 7 - prev + first < gap)
		gap = 7 - prev + first;
	return gap;
}

/* Patterns by spread (widest first), then earliest days first. */
static int cmp_pattern(const void *pa, const void *pb)
{
	unsigned a = *(const unsigned *)pa, b = *(const unsigned *)pb;
	int ga = min_cyclic_gap(a), gb = min_cyclic_gap(b);

	if (ga != gb)
		return gb - ga;
	for (int d = 0; d < 7; d++) {
		unsigned ba = a & (1u << d), bb = b & (1u << d);
		if (ba != bb)
			return ba ? -1 : 1;
	}
	return 0;
}

static size_t make_patterns(unsigned school_days, int n, unsigned out[128])
{
	size_t k = 0;

	for (unsigned m = 1; m < 128; m++)
		if ((m & ~school_days) == 0 && popcount7(m) == n)
			out[k++] = m;
	qsort(out, k, sizeof(unsigned), cmp_pattern);
	return k;
}

/* Working state of one series: for candidate therapist ti (index into cand[]), week w,
 * weekday wd and grid start si, feas[] holds room + 1 when feasible, 0 when not. */
struct series {
	const struct ctx *c;
	const ccs_sched_series_request *q;
	int *cand;      /* therapists of the discipline, by id */
	int n_cand;
	int weeks;
	int smin;       /* first grid start */
	int ns;         /* grid starts */
	int16_t *feas;
	uint8_t *depth; /* [w * 7 + wd]: deepest stage reached that day */
	ccs_date first; /* starts_on */
};

static int16_t *feas_at(const struct series *z, int ti, int w, int wd)
{
	return &z->feas[(((size_t)ti * (size_t)z->weeks + (size_t)w) * 7 + (size_t)wd) *
			(size_t)z->ns];
}

/* The date of weekday wd in week w's window. */
static ccs_date week_day(const struct series *z, int w, int wd)
{
	ccs_date first = z->first + 7 * w;
	return first + (wd - ccs_date_weekday(first) + 7) % 7;
}

/* One therapist's day: feasibility (room + 1, or 0) of every grid start. */
static void fill_day(const struct series *z, const struct day_slice *sl, int ti, int16_t *f,
		     int minutes, int *stage)
{
	for (int si = 0; si < z->ns; si++) {
		int st = z->smin + si * z->c->r->slot_minutes;
		int rm = try_therapist(z->c, sl, &z->q->child, z->cand[ti], st, st + minutes, -1,
				       stage);
		f[si] = (int16_t)(rm + 1);
	}
}

static void series_fill(struct series *z, int minutes)
{
	const struct ctx *c = z->c;

	for (int w = 0; w < z->weeks; w++) {
		for (int wd = 0; wd < 7; wd++) {
			ccs_date day = week_day(z, w, wd);
			struct day_slice sl;
			int stage = ST_NONE;
			if (!day_open(c->r, c->s, day)) {
				z->depth[w * 7 + wd] = ST_NONE;
				continue;
			}
			stage = ST_DAY;
			slice_for(c, day, &sl);
			for (int ti = 0; ti < z->n_cand; ti++)
				fill_day(z, &sl, ti, feas_at(z, ti, w, wd), minutes, &stage);
			z->depth[w * 7 + wd] = (uint8_t)stage;
		}
	}
}

/* Earliest feasible start index of therapist ti on (w, wd), or -1. */
static int first_start(const struct series *z, int ti, int w, int wd)
{
	const int16_t *f = feas_at(z, ti, w, wd);
	for (int si = 0; si < z->ns; si++)
		if (f[si])
			return si;
	return -1;
}

/* Weeks that therapist ti alone can take (on any days and times). */
static int therapist_weeks(const struct series *z, int ti, int per_week)
{
	int n = 0;
	for (int w = 0; w < z->weeks; w++) {
		int days = 0;
		for (int wd = 0; wd < 7; wd++)
			days += first_start(z, ti, w, wd) >= 0;
		n += days >= per_week;
	}
	return n;
}

static int pattern_fits(const struct series *z, int ti, int w, unsigned pat, int si)
{
	for (int wd = 0; wd < 7; wd++)
		if ((pat & (1u << wd)) && !feas_at(z, ti, w, wd)[si])
			return 0;
	return 1;
}

/* A week whose school days are all open (no closure): the weeks a pattern is chosen on. */
static int week_regular(const struct series *z, int w, unsigned school_days)
{
	for (int wd = 0; wd < 7; wd++)
		if ((school_days & (1u << wd)) && z->depth[w * 7 + wd] < ST_DAY)
			return 0;
	return 1;
}

/* Why a week failed: the first stage fewer than per_week days got through. */
static ccs_sched_reason week_reason(const struct series *z, int w, int per_week)
{
	for (int stage = ST_DAY; stage <= ST_ROOM; stage++) {
		int days = 0;
		for (int wd = 0; wd < 7; wd++)
			days += z->depth[w * 7 + wd] >= stage;
		if (days < per_week)
			return stage_reason[stage - 1];
	}
	return CCS_SCHED_R_THERAPIST_BUSY; /* not reached: enough days means a pattern fits */
}

static void add_slot(ccs_sched_series_result *res, const struct series *z, int w, int wd, int ti,
		     int si, int minutes)
{
	int st = z->smin + si * z->c->r->slot_minutes;
	res->slots[res->n_slots++] = (ccs_sched_slot){
		week_day(z, w, wd), st, st + minutes, z->cand[ti],
		feas_at(z, ti, w, wd)[si] - 1,
	};
}

int ccs_sched_plan_series(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
			  const ccs_sched_series_request *q, ccs_arena *scratch,
			  ccs_sched_series_result *res, char *errbuf, size_t errlen)
{
	struct ctx c;
	struct series z;
	unsigned patterns[128];
	size_t n_pat;
	int rc, main_ti = -1, main_pat = -1, main_si = -1, best, spw;
	int *score = NULL, *order = NULL;

	rc = ctx_build(&c, r, s, scratch, errbuf, errlen);
	if (rc)
		goto out;
	if (!q || !res || (q->discipline != CCS_SCHED_PT && q->discipline != CCS_SCHED_OT) ||
	    q->sessions_per_week < 1 || q->sessions_per_week > popcount7(r->school_days) ||
	    q->weeks < 1 || q->weeks > r->max_series_weeks || q->minutes < 1 ||
	    q->minutes > CCS_SCHED_MINUTES_PER_DAY || !day_ok(q->start_on) || !day_ok(q->asof) ||
	    (q->notice_on != CCS_DATE_INVALID && !day_ok(q->notice_on)) ||
	    !child_valid(&q->child)) {
		ccs_errf(errbuf, errlen, "invalid series request");
		rc = -EINVAL;
		goto out;
	}
	spw = q->sessions_per_week;
	if ((!res->slots && res->slots_cap) || (!res->weeks && res->weeks_cap) ||
	    res->slots_cap < (size_t)spw * (size_t)q->weeks || res->weeks_cap < (size_t)q->weeks) {
		ccs_errf(errbuf, errlen, "series needs %d slots and %d weeks of room", spw * q->weeks,
		       q->weeks);
		rc = -ENOSPC;
		goto out;
	}
	res->n_slots = res->n_weeks = 0;
	res->therapist = -1;
	res->pattern_days = 0;
	res->pattern_start_min = -1;
	res->weeks_booked = res->weeks_consistent = 0;
	res->starts_on = max_date(q->start_on, q->asof + r->notice_days);
	if (q->notice_on != CCS_DATE_INVALID)
		res->starts_on =
			max_date(res->starts_on, ccs_sched_change_effective(r, q->notice_on));

	memset(&z, 0, sizeof(z));
	z.c = &c;
	z.q = q;
	z.weeks = q->weeks;
	z.first = res->starts_on;
	z.cand = ccs_arena_alloc(scratch, (s->n_therapists + 1) * sizeof(int));
	for (size_t i = 0; i < s->n_therapists; i++)
		if (s->therapists[c.t_order[i]].discipline == q->discipline)
			z.cand[z.n_cand++] = c.t_order[i];
	/* The grid spans the MTU's widest day; in_hours() trims each day. */
	int open_min = CCS_SCHED_MINUTES_PER_DAY, open_max = 0;
	for (int wd = 0; wd < 7; wd++) {
		if (s->open[wd].start_min >= s->open[wd].end_min)
			continue;
		if (s->open[wd].start_min < open_min)
			open_min = s->open[wd].start_min;
		if (s->open[wd].end_min > open_max)
			open_max = s->open[wd].end_min;
	}
	z.smin = grid_ceil(open_min, r->slot_minutes);
	z.ns = 0;
	if (z.smin + q->minutes <= open_max)
		z.ns = (open_max - q->minutes - z.smin) / r->slot_minutes + 1;
	/* Bounded so that a pathological request (1-minute grid, ten years) cannot eat memory. */
	size_t cells = (size_t)z.n_cand * (size_t)z.weeks * 7 * (size_t)z.ns;
	if (cells > SERIES_MAX_CELLS) {
		ccs_errf(errbuf, errlen, "series search too large (%zu cells)", cells);
		rc = -E2BIG;
		goto out;
	}
	z.feas = ccs_arena_alloc(scratch, (cells + 1) * sizeof(int16_t));
	z.depth = ccs_arena_alloc(scratch, (size_t)z.weeks * 7);
	memset(z.feas, 0, (cells + 1) * sizeof(int16_t)); /* closed days stay "not feasible" */
	memset(z.depth, 0, (size_t)z.weeks * 7);
	series_fill(&z, q->minutes);

	/* Main therapist: the evaluator when able to take enough of the weeks, for continuity of
	 * care; else the therapist able to take the most. */
	score = ccs_arena_alloc(scratch, ((size_t)z.n_cand + 1) * sizeof(int));
	best = -1;
	for (int ti = 0; ti < z.n_cand; ti++) {
		score[ti] = therapist_weeks(&z, ti, spw);
		if (score[ti] > best) {
			best = score[ti];
			main_ti = ti;
		}
	}
	int ev = find_therapist(&c, q->evaluator_id);
	for (int ti = 0; ti < z.n_cand; ti++)
		if (z.cand[ti] == ev && score[ti] > 0 &&
		    (long)score[ti] * 100 >= (long)best * r->evaluator_min_pct)
			main_ti = ti;

	/* Main pattern: the widest-spread weekdays at one time, covering the most regular weeks.
	 * Holiday weeks do not vote: a Monday holiday must not turn Mon/Thu into Tue/Thu. */
	n_pat = make_patterns(r->school_days, spw, patterns);
	best = 0;
	for (size_t p = 0; main_ti >= 0 && p < n_pat; p++) {
		for (int si = 0; si < z.ns; si++) {
			int n = 0;
			for (int w = 0; w < z.weeks; w++)
				n += week_regular(&z, w, r->school_days) &&
				     pattern_fits(&z, main_ti, w, patterns[p], si);
			if (n > best) {
				best = n;
				main_pat = (int)p;
				main_si = si;
			}
		}
	}
	if (main_ti >= 0)
		res->therapist = z.cand[main_ti];
	if (main_pat >= 0) {
		res->pattern_days = patterns[main_pat];
		res->pattern_start_min = z.smin + main_si * r->slot_minutes;
	}

	/* Fallback order for the other therapists: most weeks first, then by id. */
	order = ccs_arena_alloc(scratch, ((size_t)z.n_cand + 1) * sizeof(int));
	int n_order = 0;
	for (int ti = 0; ti < z.n_cand; ti++)
		if (ti != main_ti)
			order[n_order++] = ti;
	for (int i = 1; i < n_order; i++) /* insertion sort: stable, n is a handful */
		for (int j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
			int tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}

	for (int w = 0; w < z.weeks; w++) {
		ccs_sched_series_week *wk = &res->weeks[res->n_weeks++];
		wk->first_day = z.first + 7 * w;
		wk->status = CCS_SCHED_OK;
		wk->n_sessions = 0;
		wk->consistent = 0;
		if (main_pat >= 0 && pattern_fits(&z, main_ti, w, patterns[main_pat], main_si)) {
			for (int off = 0; off < 7; off++) {
				int wd = ccs_date_weekday(wk->first_day + off);
				if (patterns[main_pat] & (1u << wd))
					add_slot(res, &z, w, wd, main_ti, main_si, q->minutes);
			}
			wk->n_sessions = spw;
			wk->consistent = 1;
			res->weeks_booked++;
			res->weeks_consistent++;
			continue;
		}
		/* Per weekday, the best option: the main therapist at the main time, then the main
		 * therapist at its earliest time, then the others in order. */
		int opt_ti[7], opt_si[7], opt_q[7];
		for (int wd = 0; wd < 7; wd++) {
			opt_ti[wd] = opt_si[wd] = -1;
			opt_q[wd] = 0;
			if (main_ti < 0)
				continue;
			if (main_si >= 0 && feas_at(&z, main_ti, w, wd)[main_si]) {
				opt_ti[wd] = main_ti;
				opt_si[wd] = main_si;
				opt_q[wd] = 3;
				continue;
			}
			int si = first_start(&z, main_ti, w, wd);
			if (si >= 0) {
				opt_ti[wd] = main_ti;
				opt_si[wd] = si;
				opt_q[wd] = 2;
				continue;
			}
			for (int i = 0; i < n_order; i++) {
				si = first_start(&z, order[i], w, wd);
				if (si >= 0) {
					opt_ti[wd] = order[i];
					opt_si[wd] = si;
					opt_q[wd] = 1;
					break;
				}
			}
		}
		/* The pattern with the most main-therapist sessions; ties: the wider spread. */
		int pick = -1, pick_q = 0;
		for (size_t p = 0; p < n_pat; p++) {
			int qsum = 0, ok = 1;
			for (int wd = 0; wd < 7 && ok; wd++)
				if (patterns[p] & (1u << wd)) {
					ok = opt_q[wd] > 0;
					qsum += opt_q[wd];
				}
			if (ok && qsum > pick_q) {
				pick = (int)p;
				pick_q = qsum;
			}
		}
		if (pick < 0) {
			wk->status = week_reason(&z, w, spw);
			continue;
		}
		for (int off = 0; off < 7; off++) {
			int wd = ccs_date_weekday(wk->first_day + off);
			if (patterns[pick] & (1u << wd))
				add_slot(res, &z, w, wd, opt_ti[wd], opt_si[wd], q->minutes);
		}
		wk->n_sessions = spw;
		res->weeks_booked++;
	}
out:
	return rc;
}

/* ---- conference ------------------------------------------------------------------------------ */

static int physician_free(const ccs_sched_conference_request *q, const ccs_sched_hours *hours,
			  ccs_date day, int wd, int start, int end)
{
	if (!within(&hours[wd], start, end))
		return 0;
	for (size_t i = 0; i < q->n_physician_busy; i++) {
		const ccs_sched_interval *b = &q->physician_busy[i];
		if (b->day == day && overlaps(start, end, b->start_min, b->end_min))
			return 0;
	}
	return 1;
}

/* The preferred therapist of the discipline if free, else the first free by id; -1 if none. */
static int free_therapist(const struct ctx *c, const struct day_slice *sl, int disc, int pref,
			  int start, int end)
{
	for (long k = -1; k < (long)c->s->n_therapists; k++) {
		int t = k < 0 ? pref : c->t_order[k];
		if (t < 0 || (k >= 0 && t == pref) || c->s->therapists[t].discipline != disc)
			continue;
		if (in_hours(c->s, t, sl->wd, start, end) && therapist_free(c, sl, t, start, end))
			return t;
	}
	return -1;
}

int ccs_sched_find_conference(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
			      const ccs_sched_conference_request *q, ccs_arena *scratch,
			      ccs_sched_conference_result *res, char *errbuf, size_t errlen)
{
	/* Stages: day open, physician, child, PT, OT, room. */
	static const ccs_sched_reason why[] = {
		CCS_SCHED_R_NO_SCHOOL_DAY,     CCS_SCHED_R_PHYSICIAN_BUSY,
		CCS_SCHED_R_CHILD_UNAVAILABLE, CCS_SCHED_R_THERAPIST_BUSY,
		CCS_SCHED_R_THERAPIST_BUSY,    CCS_SCHED_R_NO_ROOM,
	};
	struct ctx c;
	int rc, stage = 0;
	ccs_date first, last;

	memset(res, 0, sizeof(*res));
	res->pt = res->ot = res->room = -1;
	rc = ctx_build(&c, r, s, scratch, errbuf, errlen);
	if (rc)
		goto out;
	if (!q || !day_ok(q->asof) || (q->earliest != CCS_DATE_INVALID && !day_ok(q->earliest)) ||
	    (q->latest != CCS_DATE_INVALID && !day_ok(q->latest)) || !child_valid(&q->child) ||
	    (q->n_physician_busy && !q->physician_busy)) {
		ccs_errf(errbuf, errlen, "invalid conference request");
		rc = -EINVAL;
		goto out;
	}
	const ccs_sched_hours *ph = q->physician_hours ? q->physician_hours : s->open;
	for (int wd = 0; wd < 7; wd++) {
		if (!hours_ok(&ph[wd])) {
			ccs_errf(errbuf, errlen, "invalid physician hours");
			rc = -EINVAL;
			goto out;
		}
	}
	first = q->asof + r->notice_days;
	if (q->earliest != CCS_DATE_INVALID)
		first = max_date(first, q->earliest);
	last = q->latest != CCS_DATE_INVALID ? q->latest : q->asof + r->horizon_days;
	if (last - first > MAX_SPAN_DAYS)
		last = first + MAX_SPAN_DAYS;
	res->reason = CCS_SCHED_R_WINDOW_EMPTY;
	if (first > last)
		goto out;
	int pt_pref = find_therapist(&c, q->pt_id), ot_pref = find_therapist(&c, q->ot_id);
	unsigned need = q->disciplines & (CCS_SCHED_PT | CCS_SCHED_OT);
	if (!need)
		need = CCS_SCHED_PT | CCS_SCHED_OT;
	for (ccs_date day = first; day <= last; day++) {
		struct day_slice sl;
		if (!day_open(r, s, day))
			continue;
		if (stage < 1)
			stage = 1;
		slice_for(&c, day, &sl);
		const ccs_sched_hours *open = &s->open[sl.wd];
		for (int st = grid_ceil(open->start_min, r->slot_minutes);
		     st + r->conference_minutes <= open->end_min; st += r->slot_minutes) {
			int end = st + r->conference_minutes, pt, ot, rm;
			if (!physician_free(q, ph, day, sl.wd, st, end))
				continue;
			if (stage < 2)
				stage = 2;
			if (!child_free(&c, &q->child, &sl, st, end))
				continue;
			if (stage < 3)
				stage = 3;
			pt = need & CCS_SCHED_PT ? free_therapist(&c, &sl, CCS_SCHED_PT, pt_pref, st, end) : -1;
			if ((need & CCS_SCHED_PT) && pt < 0)
				continue;
			if (stage < 4)
				stage = 4;
			ot = need & CCS_SCHED_OT ? free_therapist(&c, &sl, CCS_SCHED_OT, ot_pref, st, end) : -1;
			if ((need & CCS_SCHED_OT) && ot < 0)
				continue;
			if (stage < 5)
				stage = 5;
			if ((rm = pick_room(&c, &sl, CCS_SCHED_CONFERENCE, st, end, -1)) < 0)
				continue;
			res->found = 1;
			res->day = day;
			res->start_min = st;
			res->end_min = end;
			res->pt = pt;
			res->ot = ot;
			res->room = rm;
			res->reason = CCS_SCHED_OK;
			goto out;
		}
	}
	res->reason = why[stage];
out:
	return rc;
}

/* ---- waitlist -------------------------------------------------------------------------------- */

static int meets(const ccs_sched_wl_policy *p, ccs_date asof, const ccs_sched_waitlist_entry *e,
		 ccs_sched_wl_criterion crit)
{
	switch (crit) {
	case CCS_SCHED_WL_AT_RISK_INFANT:
		return (e->flags & CCS_SCHED_WLF_AT_RISK_INFANT) != 0;
	case CCS_SCHED_WL_POST_SURGICAL:
		return (e->flags & CCS_SCHED_WLF_POST_SURGICAL) != 0;
	case CCS_SCHED_WL_AGING_OUT:
		return e->age_out_on != CCS_DATE_INVALID && day_ok(asof) &&
		       e->age_out_on <= ccs_date_add_months(asof, p->aging_out_months);
	}
	return 0;
}

int ccs_sched_waitlist_tier(const ccs_sched_wl_policy *p, ccs_date asof,
			    const ccs_sched_waitlist_entry *e)
{
	size_t n = p->n_tiers < CCS_SCHED_WL_MAX_TIERS ? p->n_tiers : CCS_SCHED_WL_MAX_TIERS;

	for (size_t i = 0; i < n; i++)
		if (meets(p, asof, e, p->tiers[i]))
			return (int)i;
	return (int)n;
}

int ccs_sched_waitlist_cmp(const ccs_sched_wl_policy *p, ccs_date asof,
			   const ccs_sched_waitlist_entry *a, const ccs_sched_waitlist_entry *b)
{
	int ta = ccs_sched_waitlist_tier(p, asof, a), tb = ccs_sched_waitlist_tier(p, asof, b);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if (a->waitlisted_at != b->waitlisted_at)
		return a->waitlisted_at < b->waitlisted_at ? -1 : 1;
	return cmp_str(a->entry_id, b->entry_id);
}

struct wl_sort {
	const ccs_sched_wl_policy *p;
	ccs_date asof;
	const ccs_sched_waitlist_entry *e;
};

static int cmp_wl_idx(const void *a, const void *b, void *arg)
{
	const struct wl_sort *w = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int d = ccs_sched_waitlist_cmp(w->p, w->asof, &w->e[ia], &w->e[ib]);

	if (d == 0 && ia != ib) /* equal ids too: input order, so the order stays total */
		return ia < ib ? -1 : 1;
	return d;
}

void ccs_sched_waitlist_order(const ccs_sched_wl_policy *p, ccs_date asof,
			      const ccs_sched_waitlist_entry *e, size_t n, size_t *order)
{
	struct wl_sort w = {p, asof, e};

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(size_t), cmp_wl_idx, &w);
}

int ccs_sched_reoffer(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
		      const ccs_sched_wl_policy *p, ccs_date asof, const ccs_sched_slot *freed,
		      const ccs_sched_waitlist_entry *wl, size_t n, ccs_arena *scratch,
		      ccs_sched_reoffer_result *res, char *errbuf, size_t errlen)
{
	struct ctx c;
	struct day_slice sl;
	int rc, have = 0;

	memset(res, 0, sizeof(*res));
	res->slot.therapist = res->slot.room = -1;
	res->reason = CCS_SCHED_R_NO_WAITLIST_MATCH;
	rc = ctx_build(&c, r, s, scratch, errbuf, errlen);
	if (rc)
		goto out;
	if (!p || !freed || (n && !wl) || !day_ok(asof) || !day_ok(freed->day) ||
	    !interval_ok(freed->start_min, freed->end_min) || freed->therapist < 0 ||
	    (size_t)freed->therapist >= s->n_therapists || freed->room < -1 ||
	    (freed->room >= 0 && (size_t)freed->room >= s->n_rooms)) {
		ccs_errf(errbuf, errlen, "invalid freed slot");
		rc = -EINVAL;
		goto out;
	}
	if (freed->day < asof + r->notice_days || !day_open(r, s, freed->day))
		goto out;
	slice_for(&c, freed->day, &sl);
	for (size_t i = 0; i < n; i++) {
		const ccs_sched_waitlist_entry *e = &wl[i];
		int stage = ST_DAY;
		if (e->discipline != s->therapists[freed->therapist].discipline || e->minutes < 1 ||
		    !child_valid(&e->child))
			continue;
		if (e->not_before != CCS_DATE_INVALID && freed->day < e->not_before)
			continue;
		if (have && ccs_sched_waitlist_cmp(p, asof, e, &wl[res->entry]) >= 0)
			continue; /* cannot beat the current pick: skip the search */
		for (int st = grid_ceil(freed->start_min, r->slot_minutes);
		     st + e->minutes <= freed->end_min; st += r->slot_minutes) {
			int rm = try_therapist(&c, &sl, &e->child, freed->therapist, st,
					       st + e->minutes, freed->room, &stage);
			if (rm < 0)
				continue;
			have = 1;
			res->entry = i;
			res->slot = (ccs_sched_slot){freed->day, st, st + e->minutes,
						     freed->therapist, rm};
			break;
		}
	}
	if (have) {
		res->found = 1;
		res->reason = CCS_SCHED_OK;
	}
out:
	return rc;
}

/* ---- the naive check ------------------------------------------------------------------------- */

ccs_sched_reason ccs_sched_check_slot(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
				      const ccs_sched_child *child, int discipline,
				      const ccs_sched_slot *slot)
{
	int wd;

	if (!interval_ok(slot->start_min, slot->end_min) || !day_ok(slot->day))
		return CCS_SCHED_R_WINDOW_EMPTY;
	wd = ccs_date_weekday(slot->day);
	if (!day_open(r, s, slot->day))
		return CCS_SCHED_R_NO_SCHOOL_DAY;
	if (!within(&s->open[wd], slot->start_min, slot->end_min))
		return CCS_SCHED_R_NO_THERAPIST_HOURS;
	const ccs_sched_therapist *t = NULL;
	if (slot->therapist >= 0) {
		if ((size_t)slot->therapist >= s->n_therapists)
			return CCS_SCHED_R_NO_THERAPIST_HOURS;
		t = &s->therapists[slot->therapist];
		if (t->discipline != discipline ||
		    !within(&t->hours[wd], slot->start_min, slot->end_min))
			return CCS_SCHED_R_NO_THERAPIST_HOURS;
	}
	if (child) {
		for (size_t i = 0; i < child->n_iep; i++)
			if (iep_applies(&child->iep[i], slot->day, wd) &&
			    overlaps(slot->start_min, slot->end_min, child->iep[i].start_min,
				     child->iep[i].end_min))
				return CCS_SCHED_R_CHILD_UNAVAILABLE;
	}
	const ccs_sched_room *rm = NULL;
	if (slot->room >= 0) {
		if ((size_t)slot->room >= s->n_rooms)
			return CCS_SCHED_R_NO_ROOM;
		rm = &s->rooms[slot->room];
		if (!room_fits(rm, (unsigned)discipline))
			return CCS_SCHED_R_NO_ROOM;
	}
	for (size_t i = 0; i < s->n_appts; i++) {
		const ccs_sched_appt *a = &s->appts[i];
		if (a->day != slot->day ||
		    !overlaps(slot->start_min, slot->end_min, a->start_min, a->end_min))
			continue;
		if (child && child->child_id && a->child_id &&
		    strcmp(child->child_id, a->child_id) == 0)
			return CCS_SCHED_R_CHILD_UNAVAILABLE;
		if (t && a->therapist_id && strcmp(t->id, a->therapist_id) == 0)
			return CCS_SCHED_R_THERAPIST_BUSY;
		if (rm && a->room_id && strcmp(rm->id, a->room_id) == 0)
			return CCS_SCHED_R_NO_ROOM;
	}
	return CCS_SCHED_OK;
}
