/*
 * Fuzzer for the booking engine's invariants. The input bytes build a small MTU (therapists,
 * rooms, closures, appointments, the child's IEP blocks, rules) over two weeks; then:
 *
 *  - a returned slot never overlaps a busy interval of its therapist, room or child, nor an
 *    IEP block, and lies inside working hours on an open school day (ccs_sched_check_slot, the
 *    naive linear version, plus a direct overlap scan here);
 *  - the evaluation is the EARLIEST feasible (day, start): a brute-force search over every
 *    day, start, therapist and room finds nothing sooner, and finds something iff the engine
 *    does;
 *  - series sessions of one week are on distinct days, and each is feasible;
 *  - conference and re-offer slots are feasible for everyone involved;
 *  - the same input twice, or with the snapshot's arrays reversed, gives the same answers
 *    (determinism).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned byte(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* A minute of the day on a 5-minute grid, biased to the working day. */
static int minute(struct in *in)
{
	return 360 + (int)(byte(in) % 144) * 5; /* 06:00 .. 17:55 */
}

static void check(int ok)
{
	if (!ok)
		abort();
}

static const char *const ids[] = {"T0", "T1", "T2", "T3", "R0", "R1", "R2", "C0", "C1", "C2"};

struct world {
	ccs_sched_rules r;
	ccs_sched_therapist t[4];
	ccs_sched_room rm[3];
	ccs_sched_closure cl[2];
	ccs_sched_appt ap[40];
	ccs_sched_iep_block iep[6];
	ccs_sched_interval phys[4];
	ccs_sched_snapshot s;
	ccs_sched_child child;
	ccs_date base;
};

static void build(struct world *w, struct in *in)
{
	static const int grids[] = {5, 10, 15, 30};
	size_t nt, nr, ncl, nap, niep;

	memset(w, 0, sizeof(*w));
	w->base = ccs_date_from_ymd(2026, 10, 5) + (int)(byte(in) % 7);
	w->r = ccs_sched_rules_default;
	w->r.slot_minutes = grids[byte(in) % 4];
	w->r.eval_minutes = 15 + (int)(byte(in) % 8) * 15;
	w->r.conference_minutes = 30 + (int)(byte(in) % 3) * 15;
	w->r.lead_days = (int)(byte(in) % 3);
	w->r.notice_days = (int)(byte(in) % 2);
	w->r.eval_target_days = (int)(byte(in) % 14);
	w->r.horizon_days = 13;
	w->r.target_policy = byte(in) & 1 ? CCS_SCHED_TARGET_REPORT : CCS_SCHED_TARGET_STRICT;
	w->r.school_days = 0x1f | ((byte(in) & 1) ? 0x20u : 0);
	for (int wd = 0; wd < 7; wd++) {
		int a = minute(in), b = minute(in);
		if (byte(in) % 8 == 0 || a == b)
			continue;
		w->s.open[wd] = (ccs_sched_hours){a < b ? a : b, a < b ? b : a};
	}
	nt = 1 + byte(in) % 4;
	for (size_t i = 0; i < nt; i++) {
		w->t[i].id = ids[i];
		w->t[i].discipline = byte(in) & 1 ? CCS_SCHED_OT : CCS_SCHED_PT;
		for (int wd = 0; wd < 7; wd++) {
			int a = minute(in), b = minute(in);
			if (byte(in) % 4 == 0 || a == b)
				continue;
			w->t[i].hours[wd] = (ccs_sched_hours){a < b ? a : b, a < b ? b : a};
		}
	}
	nr = 1 + byte(in) % 3;
	for (size_t i = 0; i < nr; i++)
		w->rm[i] = (ccs_sched_room){ids[4 + i], byte(in) % 8};
	ncl = byte(in) % 3;
	for (size_t i = 0; i < ncl; i++) {
		ccs_date a = w->base + (int)(byte(in) % 16);
		w->cl[i] = (ccs_sched_closure){a, a + (int)(byte(in) % 3)};
	}
	nap = byte(in) % 41;
	for (size_t i = 0; i < nap; i++) {
		unsigned who = byte(in);
		int a = minute(in), len = 5 + (int)(byte(in) % 36) * 5;
		if (a + len > 1440)
			len = 1440 - a;
		w->ap[i] = (ccs_sched_appt){
			who & 1 ? ids[(who >> 1) % 5] : NULL, /* "T4"-like unknown ids too */
			who & 8 ? ids[4 + (who >> 4) % 3] : NULL,
			who & 64 ? ids[7 + (who >> 6) % 3] : NULL,
			w->base + (int)(byte(in) % 16),
			a,
			a + len,
		};
	}
	niep = byte(in) % 7;
	for (size_t i = 0; i < niep; i++) {
		int a = minute(in), len = 15 + (int)(byte(in) % 16) * 15;
		if (a + len > 1440)
			len = 1440 - a;
		unsigned v = byte(in);
		w->iep[i] = (ccs_sched_iep_block){
			.weekday = (int)(byte(in) % 7),
			.start_min = a,
			.end_min = a + len,
			/* some blocks start or stop applying inside the two weeks */
			.from_day = v & 1 ? w->base + (int)(v >> 1) % 16 : 0,
			.until_day = v & 2 ? w->base + (int)(v >> 2) % 16 : 0,
		};
	}
	for (size_t i = 0; i < 4; i++) {
		int a = minute(in);
		w->phys[i] = (ccs_sched_interval){w->base + (int)(byte(in) % 16), a, a + 60};
	}
	w->s.therapists = w->t;
	w->s.n_therapists = nt;
	w->s.rooms = w->rm;
	w->s.n_rooms = nr;
	w->s.closures = w->cl;
	w->s.n_closures = ncl;
	w->s.appts = w->ap;
	w->s.n_appts = nap;
	w->child = (ccs_sched_child){"C0", w->iep, niep};
}

static int overlaps(int a, int b, int c, int d)
{
	return a < d && c < b;
}

/* The direct statement of the invariant, independent of both engine paths. */
static void never_overlaps(const struct world *w, const ccs_sched_child *ch, ccs_date day,
			   int start, int end, int therapist, int room)
{
	check(start >= 0 && start < end && end <= 1440);
	for (size_t i = 0; i < w->s.n_appts; i++) {
		const ccs_sched_appt *a = &w->s.appts[i];
		if (a->day != day || !overlaps(start, end, a->start_min, a->end_min))
			continue;
		check(!(therapist >= 0 && a->therapist_id &&
			strcmp(a->therapist_id, w->t[therapist].id) == 0));
		check(!(room >= 0 && a->room_id && strcmp(a->room_id, w->rm[room].id) == 0));
		check(!(ch && a->child_id && strcmp(a->child_id, ch->child_id) == 0));
	}
	if (ch)
		for (size_t i = 0; i < ch->n_iep; i++)
			check(!(ch->iep[i].weekday == ccs_date_weekday(day) &&
				(!ch->iep[i].from_day || day >= ch->iep[i].from_day) &&
				(!ch->iep[i].until_day || day <= ch->iep[i].until_day) &&
				overlaps(start, end, ch->iep[i].start_min, ch->iep[i].end_min)));
}

static void fuzz_evaluation(const struct world *w, ccs_arena *a, int disc)
{
	ccs_sched_eval_request q = {0};
	ccs_sched_eval_result res, again;
	char err[128];

	q.child = w->child;
	q.discipline = disc;
	q.asof = w->base;
	q.eligible_on = w->base;
	q.not_before = CCS_DATE_INVALID;
	check(ccs_sched_find_evaluation(&w->r, &w->s, &q, a, &res, err, sizeof(err)) == 0);
	check(ccs_sched_find_evaluation(&w->r, &w->s, &q, a, &again, err, sizeof(err)) == 0);
	check(memcmp(&res.slot, &again.slot, sizeof(res.slot)) == 0 && res.found == again.found &&
	      res.reason == again.reason);

	/* brute force: the earliest feasible (day, start) over everything in the window */
	int bf_found = 0;
	ccs_date bf_day = 0;
	int bf_start = 0;
	for (ccs_date day = res.first_day; day <= res.last_day && !bf_found; day++) {
		for (int st = 0; st + w->r.eval_minutes <= 1440 && !bf_found;
		     st += w->r.slot_minutes) {
			for (size_t t = 0; t < w->s.n_therapists && !bf_found; t++) {
				for (size_t rm = 0; rm < w->s.n_rooms && !bf_found; rm++) {
					ccs_sched_slot s = {day, st, st + w->r.eval_minutes, (int)t,
							    (int)rm};
					if (ccs_sched_check_slot(&w->r, &w->s, &w->child, disc, &s) ==
					    CCS_SCHED_OK) {
						bf_found = 1;
						bf_day = day;
						bf_start = st;
					}
				}
			}
		}
	}
	check(bf_found == res.found);
	if (!res.found) {
		check(res.reason != CCS_SCHED_OK);
		return;
	}
	check(res.reason == CCS_SCHED_OK);
	check(res.slot.day == bf_day && res.slot.start_min == bf_start);
	check(res.slot.day >= res.first_day && res.slot.day <= res.last_day);
	check(ccs_sched_check_slot(&w->r, &w->s, &w->child, disc, &res.slot) == CCS_SCHED_OK);
	never_overlaps(w, &w->child, res.slot.day, res.slot.start_min, res.slot.end_min,
		       res.slot.therapist, res.slot.room);
}

static void fuzz_series(const struct world *w, ccs_arena *a, struct in *in)
{
	ccs_sched_slot slots[5 * 3];
	ccs_sched_series_week weeks[3];
	ccs_sched_series_result res = {0};
	ccs_sched_series_request q = {0};
	char err[128];

	q.child = w->child;
	q.discipline = byte(in) & 1 ? CCS_SCHED_OT : CCS_SCHED_PT;
	q.sessions_per_week = 1 + (int)(byte(in) % 3);
	q.weeks = 1 + (int)(byte(in) % 3);
	q.minutes = 15 + (int)(byte(in) % 6) * 15;
	q.start_on = w->base + (int)(byte(in) % 3);
	q.asof = w->base;
	q.notice_on = byte(in) & 1 ? w->base : CCS_DATE_INVALID;
	q.evaluator_id = ids[byte(in) % 4];
	res.slots = slots;
	res.slots_cap = 15;
	res.weeks = weeks;
	res.weeks_cap = 3;
	check(ccs_sched_plan_series(&w->r, &w->s, &q, a, &res, err, sizeof(err)) == 0);
	check(res.n_weeks == (size_t)q.weeks);
	size_t k = 0;
	for (size_t i = 0; i < res.n_weeks; i++) {
		const ccs_sched_series_week *wk = &weeks[i];
		check(wk->status == CCS_SCHED_OK ? wk->n_sessions == q.sessions_per_week
						 : wk->n_sessions == 0);
		ccs_date prev = wk->first_day - 1;
		for (int s = 0; s < wk->n_sessions; s++, k++) {
			check(k < res.n_slots);
			check(slots[k].day > prev && slots[k].day <= wk->first_day + 6);
			check(slots[k].day >= res.starts_on);
			prev = slots[k].day;
			check(ccs_sched_check_slot(&w->r, &w->s, &w->child, q.discipline, &slots[k]) ==
			      CCS_SCHED_OK);
			never_overlaps(w, &w->child, slots[k].day, slots[k].start_min,
				       slots[k].end_min, slots[k].therapist, slots[k].room);
		}
	}
	check(k == res.n_slots);
}

static void fuzz_conference(const struct world *w, ccs_arena *a, unsigned need)
{
	ccs_sched_conference_request q = {0};
	ccs_sched_conference_result res;
	char err[128];

	q.child = w->child;
	q.asof = w->base;
	q.earliest = q.latest = CCS_DATE_INVALID;
	q.physician_busy = w->phys;
	q.n_physician_busy = 4;
	q.pt_id = "T1";
	q.disciplines = need; /* 0 = both; else only the disciplines the child receives */
	unsigned want = need ? need : CCS_SCHED_PT | CCS_SCHED_OT;
	check(ccs_sched_find_conference(&w->r, &w->s, &q, a, &res, err, sizeof(err)) == 0);
	if (!res.found)
		return;
	check((res.pt >= 0) == !!(want & CCS_SCHED_PT) && (res.ot >= 0) == !!(want & CCS_SCHED_OT));
	check(res.pt < 0 || w->t[res.pt].discipline == CCS_SCHED_PT);
	check(res.ot < 0 || w->t[res.ot].discipline == CCS_SCHED_OT);
	ccs_sched_slot pt = {res.day, res.start_min, res.end_min, res.pt, -1};
	ccs_sched_slot ot = {res.day, res.start_min, res.end_min, res.ot, -1};
	ccs_sched_slot rm = {res.day, res.start_min, res.end_min, -1, res.room};
	check(res.pt < 0 || ccs_sched_check_slot(&w->r, &w->s, &w->child, CCS_SCHED_PT, &pt) == CCS_SCHED_OK);
	check(res.ot < 0 || ccs_sched_check_slot(&w->r, &w->s, &w->child, CCS_SCHED_OT, &ot) == CCS_SCHED_OK);
	check(ccs_sched_check_slot(&w->r, &w->s, &w->child, CCS_SCHED_CONFERENCE, &rm) ==
	      CCS_SCHED_OK);
	for (size_t i = 0; i < 4; i++)
		check(!(w->phys[i].day == res.day &&
			overlaps(res.start_min, res.end_min, w->phys[i].start_min,
				 w->phys[i].end_min)));
	if (res.pt >= 0)
		never_overlaps(w, &w->child, res.day, res.start_min, res.end_min, res.pt, res.room);
	if (res.ot >= 0)
		never_overlaps(w, res.pt >= 0 ? NULL : &w->child, res.day, res.start_min, res.end_min, res.ot,
			       res.pt >= 0 ? -1 : res.room);
}

static void fuzz_reoffer(const struct world *w, ccs_arena *a, struct in *in)
{
	ccs_sched_waitlist_entry e[3];
	ccs_sched_reoffer_result res;
	char err[128];

	memset(e, 0, sizeof(e));
	for (size_t i = 0; i < 3; i++) {
		e[i].entry_id = ids[7 + i];
		e[i].child = (ccs_sched_child){ids[7 + i], i == 0 ? w->iep : NULL,
					       i == 0 ? w->child.n_iep : 0};
		e[i].discipline = byte(in) & 1 ? CCS_SCHED_OT : CCS_SCHED_PT;
		e[i].minutes = 15 + (int)(byte(in) % 4) * 15;
		e[i].flags = byte(in) % 4;
		e[i].waitlisted_at = byte(in);
		e[i].age_out_on = CCS_DATE_INVALID;
		e[i].not_before = CCS_DATE_INVALID;
	}
	int st = minute(in);
	ccs_sched_slot freed = {w->base + 1 + (int)(byte(in) % 10), st, st + 60,
				(int)(byte(in) % w->s.n_therapists),
				(int)(byte(in) % (w->s.n_rooms + 1)) - 1};
	check(ccs_sched_reoffer(&w->r, &w->s, &ccs_sched_wl_policy_default, w->base, &freed, e, 3,
				a, &res, err, sizeof(err)) == 0);
	if (!res.found)
		return;
	const ccs_sched_waitlist_entry *got = &e[res.entry];
	check(res.slot.start_min >= freed.start_min && res.slot.end_min <= freed.end_min);
	check(res.slot.end_min - res.slot.start_min == got->minutes);
	check(ccs_sched_check_slot(&w->r, &w->s, &got->child, got->discipline, &res.slot) ==
	      CCS_SCHED_OK);
	/* nobody ahead of the pick was skipped while feasible at the first start of the freed
	 * slot on the rules' grid */
	int first = (freed.start_min + w->r.slot_minutes - 1) / w->r.slot_minutes * w->r.slot_minutes;
	for (size_t i = 0; i < 3; i++) {
		if (ccs_sched_waitlist_cmp(&ccs_sched_wl_policy_default, w->base, &e[i], got) >= 0)
			continue;
		ccs_sched_slot s = {freed.day, first, first + e[i].minutes, freed.therapist,
				    freed.room};
		if (s.end_min <= freed.end_min && freed.room >= 0 &&
		    e[i].discipline == w->t[freed.therapist].discipline)
			check(ccs_sched_check_slot(&w->r, &w->s, &e[i].child, e[i].discipline, &s) !=
			      CCS_SCHED_OK);
	}
}

/* The answer must not depend on the order of the snapshot's arrays: reverse them all and
 * compare by ids. */
static void reversed(const struct world *w, struct world *v)
{
	*v = *w;
	for (size_t i = 0; i < w->s.n_therapists; i++)
		v->t[i] = w->t[w->s.n_therapists - 1 - i];
	for (size_t i = 0; i < w->s.n_rooms; i++)
		v->rm[i] = w->rm[w->s.n_rooms - 1 - i];
	for (size_t i = 0; i < w->s.n_appts; i++)
		v->ap[i] = w->ap[w->s.n_appts - 1 - i];
	v->s.therapists = v->t;
	v->s.rooms = v->rm;
	v->s.appts = v->ap;
	v->child.iep = v->iep;
}

static void fuzz_permutation(const struct world *w, ccs_arena *a, int disc)
{
	static struct world v;
	ccs_sched_eval_request q = {0};
	ccs_sched_eval_result r1, r2;
	char err[128];

	reversed(w, &v);
	q.child = w->child;
	q.discipline = disc;
	q.asof = q.eligible_on = w->base;
	q.not_before = CCS_DATE_INVALID;
	q.preferred_therapist_id = "T2";
	check(ccs_sched_find_evaluation(&w->r, &w->s, &q, a, &r1, err, sizeof(err)) == 0);
	q.child = v.child;
	check(ccs_sched_find_evaluation(&v.r, &v.s, &q, a, &r2, err, sizeof(err)) == 0);
	check(r1.found == r2.found && r1.reason == r2.reason);
	if (r1.found) {
		check(r1.slot.day == r2.slot.day && r1.slot.start_min == r2.slot.start_min);
		check(strcmp(w->t[r1.slot.therapist].id, v.t[r2.slot.therapist].id) == 0);
		check(strcmp(w->rm[r1.slot.room].id, v.rm[r2.slot.room].id) == 0);
	}

	ccs_sched_slot s1[10], s2[10];
	ccs_sched_series_week w1[2], w2[2];
	ccs_sched_series_result a1 = {.slots = s1, .slots_cap = 10, .weeks = w1, .weeks_cap = 2};
	ccs_sched_series_result a2 = {.slots = s2, .slots_cap = 10, .weeks = w2, .weeks_cap = 2};
	ccs_sched_series_request sq = {0};
	sq.child = w->child;
	sq.discipline = disc;
	sq.sessions_per_week = 2;
	sq.weeks = 2;
	sq.minutes = 45;
	sq.start_on = sq.asof = w->base;
	sq.notice_on = CCS_DATE_INVALID;
	sq.evaluator_id = "T1";
	check(ccs_sched_plan_series(&w->r, &w->s, &sq, a, &a1, err, sizeof(err)) == 0);
	sq.child = v.child;
	check(ccs_sched_plan_series(&v.r, &v.s, &sq, a, &a2, err, sizeof(err)) == 0);
	check(a1.n_slots == a2.n_slots && a1.pattern_days == a2.pattern_days &&
	      a1.pattern_start_min == a2.pattern_start_min);
	for (size_t i = 0; i < a1.n_slots; i++) {
		check(s1[i].day == s2[i].day && s1[i].start_min == s2[i].start_min);
		check(strcmp(w->t[s1[i].therapist].id, v.t[s2[i].therapist].id) == 0);
		check(strcmp(w->rm[s1[i].room].id, v.rm[s2[i].room].id) == 0);
	}
	for (size_t i = 0; i < 2; i++)
		check(w1[i].status == w2[i].status && w1[i].consistent == w2[i].consistent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct world w;
	ccs_arena a;

	build(&w, &in);
	ccs_arena_init(&a, 0);
	fuzz_evaluation(&w, &a, CCS_SCHED_PT);
	ccs_arena_reset(&a);
	fuzz_evaluation(&w, &a, CCS_SCHED_OT);
	ccs_arena_reset(&a);
	fuzz_permutation(&w, &a, CCS_SCHED_PT);
	ccs_arena_reset(&a);
	fuzz_series(&w, &a, &in);
	ccs_arena_reset(&a);
	fuzz_conference(&w, &a, byte(&in) % 4);
	ccs_arena_reset(&a);
	fuzz_reoffer(&w, &a, &in);
	ccs_arena_destroy(&a);
	return 0;
}
