/*
 * Unit tests of the booking engine: table-driven cases over a small MTU fixture whose week
 * starts on Monday 2026-10-05 (day offset 0). Minutes: 480 = 08:00, 960 = 16:00.
 */
#include <errno.h>
#include <string.h>

#include "ccs_test.h"
#include "engine.h"

CCS_TEST_MAIN()

#define MON 0
#define TUE 1
#define WED 2
#define THU 3
#define FRI 4

static ccs_date d0(void)
{
	return ccs_date_from_ymd(2026, 10, 5);
}

struct appt_row {
	const char *therapist, *room, *child;
	int day_off, start, end; /* end == 0 ends a list */
};

struct iep_row {
	int wd, start, end; /* end == 0 ends a list */
};

struct fx {
	ccs_sched_rules r;
	ccs_sched_therapist t[8];
	size_t nt;
	ccs_sched_room rooms[8];
	size_t nr;
	ccs_sched_closure cl[8];
	size_t ncl;
	ccs_sched_appt ap[256];
	size_t nap;
	ccs_sched_iep_block iep[16];
	size_t niep;
	ccs_sched_snapshot s;
	ccs_arena arena;
	char err[256];
};

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->r = ccs_sched_rules_default;
	f->r.lead_days = 0;
	f->r.notice_days = 0;
	for (int wd = 0; wd < 5; wd++)
		f->s.open[wd] = (ccs_sched_hours){480, 960};
	ccs_arena_init(&f->arena, 0);
}

static ccs_sched_therapist *fx_therapist(struct fx *f, const char *id, int disc)
{
	ccs_sched_therapist *t = &f->t[f->nt++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->discipline = disc;
	for (int wd = 0; wd < 5; wd++)
		t->hours[wd] = (ccs_sched_hours){480, 960};
	return t;
}

static void fx_room(struct fx *f, const char *id, unsigned uses)
{
	f->rooms[f->nr++] = (ccs_sched_room){id, uses};
}

static void fx_closure(struct fx *f, int first_off, int last_off)
{
	f->cl[f->ncl++] = (ccs_sched_closure){d0() + first_off, d0() + last_off};
}

static void fx_appt(struct fx *f, const char *therapist, const char *room, const char *child,
		    int day_off, int start, int end)
{
	f->ap[f->nap++] = (ccs_sched_appt){therapist, room, child, d0() + day_off, start, end};
}

static void fx_appts(struct fx *f, const struct appt_row *rows)
{
	for (; rows->end; rows++)
		fx_appt(f, rows->therapist, rows->room, rows->child, rows->day_off, rows->start,
			rows->end);
}

static void fx_iep(struct fx *f, const struct iep_row *rows)
{
	for (; rows->end; rows++)
		f->iep[f->niep++] = (ccs_sched_iep_block){
			.weekday = rows->wd, .start_min = rows->start, .end_min = rows->end};
}

static void fx_snap(struct fx *f)
{
	f->s.therapists = f->t;
	f->s.n_therapists = f->nt;
	f->s.rooms = f->rooms;
	f->s.n_rooms = f->nr;
	f->s.closures = f->cl;
	f->s.n_closures = f->ncl;
	f->s.appts = f->ap;
	f->s.n_appts = f->nap;
}

static ccs_sched_child fx_child(struct fx *f)
{
	return (ccs_sched_child){"C1", f->iep, f->niep};
}

static int eval(struct fx *f, const ccs_sched_eval_request *q, ccs_sched_eval_result *res)
{
	ccs_arena_reset(&f->arena);
	return ccs_sched_find_evaluation(&f->r, &f->s, q, &f->arena, res, f->err, sizeof(f->err));
}

static int conference(struct fx *f, const ccs_sched_conference_request *q,
		      ccs_sched_conference_result *res)
{
	ccs_arena_reset(&f->arena);
	return ccs_sched_find_conference(&f->r, &f->s, q, &f->arena, res, f->err, sizeof(f->err));
}

/* Re-offer with the default policy, asof the Sunday before the fixture's week. */
static int reoffer(struct fx *f, const ccs_sched_slot *freed, const ccs_sched_waitlist_entry *e,
		   ccs_sched_reoffer_result *res)
{
	ccs_arena_reset(&f->arena);
	return ccs_sched_reoffer(&f->r, &f->s, &ccs_sched_wl_policy_default, d0() - 1, freed, e, 6,
				 &f->arena, res, f->err, sizeof(f->err));
}

static const char *tid(const struct fx *f, int i)
{
	return i >= 0 && (size_t)i < f->nt ? f->t[i].id : "(none)";
}

static const char *rid(const struct fx *f, int i)
{
	return i >= 0 && (size_t)i < f->nr ? f->rooms[i].id : "(none)";
}

/* ---- evaluation: conflicts, boundaries, closures, weekends, IEP blocks ------------------------ */

struct eval_case {
	const char *name;
	int asof_off;          /* eligibility decided on asof + eligible_delta */
	int eligible_delta;
	int target_days;       /* 0 = default */
	int has_closure, closure_first, closure_last;
	struct appt_row appts[4];
	struct iep_row iep[6];
	/* expected */
	int found, day_off, start;
	const char *therapist, *room;
	ccs_sched_reason reason;
};

/* One PT (PT-A), one OT (OT-A), one room for both (R1); asof = Sunday before the week. */
static const struct eval_case eval_cases[] = {
	{"first_slot", -1, 0, 0, 0, 0, 0, {{0}}, {{0}}, 1, MON, 480, "PT-A", "R1", CCS_SCHED_OK},
	{"therapist_busy_moves_start", -1, 0, 0, 0, 0, 0,
	 {{"PT-A", NULL, "C9", MON, 480, 540}}, {{0}}, 1, MON, 540, "PT-A", "R1", CCS_SCHED_OK},
	{"back_to_back_after_busy", -1, 0, 0, 0, 0, 0,
	 {{"PT-A", NULL, "C9", MON, 420, 480}}, {{0}}, 1, MON, 480, "PT-A", "R1", CCS_SCHED_OK},
	{"back_to_back_before_busy", -1, 0, 0, 0, 0, 0,
	 {{"PT-A", NULL, "C9", MON, 540, 600}}, {{0}}, 1, MON, 480, "PT-A", "R1", CCS_SCHED_OK},
	{"overlap_one_minute_before_refused", -1, 0, 0, 0, 0, 0,
	 {{"PT-A", NULL, "C9", MON, 539, 600}}, {{0}}, 1, MON, 600, "PT-A", "R1", CCS_SCHED_OK},
	{"overlap_one_minute_after_refused", -1, 0, 0, 0, 0, 0,
	 {{"PT-A", NULL, "C9", MON, 420, 481}}, {{0}}, 1, MON, 495, "PT-A", "R1", CCS_SCHED_OK},
	{"room_busy", -1, 0, 0, 0, 0, 0, {{"OT-A", "R1", "C9", MON, 480, 720}}, {{0}}, 1, MON, 720,
	 "PT-A", "R1", CCS_SCHED_OK},
	{"child_busy_elsewhere", -1, 0, 0, 0, 0, 0, {{"OTHER-MTU-T", "OTHER-R", "C1", MON, 480, 600}},
	 {{0}}, 1, MON, 600, "PT-A", "R1", CCS_SCHED_OK},
	{"other_child_elsewhere_no_block", -1, 0, 0, 0, 0, 0,
	 {{"OTHER-MTU-T", "OTHER-R", "C9", MON, 480, 960}}, {{0}}, 1, MON, 480, "PT-A", "R1",
	 CCS_SCHED_OK},
	{"therapist_leave_without_child", -1, 0, 0, 0, 0, 0, {{"PT-A", NULL, NULL, MON, 480, 960}},
	 {{0}}, 1, TUE, 480, "PT-A", "R1", CCS_SCHED_OK},
	{"iep_block_skipped", -1, 0, 0, 0, 0, 0, {{0}}, {{MON, 480, 690}}, 1, MON, 690, "PT-A", "R1",
	 CCS_SCHED_OK},
	{"iep_block_other_weekday_ignored", -1, 0, 0, 0, 0, 0, {{0}}, {{TUE, 480, 960}}, 1, MON, 480,
	 "PT-A", "R1", CCS_SCHED_OK},
	{"iep_block_two_minutes", -1, 0, 0, 0, 0, 0, {{0}}, {{MON, 539, 541}}, 1, MON, 555, "PT-A",
	 "R1", CCS_SCHED_OK},
	{"iep_back_to_back", -1, 0, 0, 0, 0, 0, {{0}}, {{MON, 540, 600}}, 1, MON, 480, "PT-A", "R1",
	 CCS_SCHED_OK},
	{"closure_skipped", -1, 0, 0, 1, MON, TUE, {{0}}, {{0}}, 1, WED, 480, "PT-A", "R1",
	 CCS_SCHED_OK},
	{"weekend_skipped", 5, 0, 0, 0, 0, 0, {{0}}, {{0}}, 1, 7, 480, "PT-A", "R1", CCS_SCHED_OK},
	{"friday_after_full_week", -1, 0, 0, 0, 0, 0, {{0}},
	 {{MON, 480, 960}, {TUE, 480, 960}, {WED, 480, 960}, {THU, 480, 960}}, 1, FRI, 480, "PT-A",
	 "R1", CCS_SCHED_OK},
	/* nothing: the reason says what blocked */
	{"iep_every_day_none", -1, 0, 0, 0, 0, 0, {{0}},
	 {{MON, 480, 960}, {TUE, 480, 960}, {WED, 480, 960}, {THU, 480, 960}, {FRI, 480, 960}}, 0, 0,
	 0, NULL, NULL, CCS_SCHED_R_CHILD_UNAVAILABLE},
	{"therapist_busy_reason", MON, 0, -1, 0, 0, 0, {{"PT-A", NULL, "C9", MON, 480, 960}}, {{0}},
	 0, 0, 0, NULL, NULL, CCS_SCHED_R_THERAPIST_BUSY},
	{"room_busy_reason", MON, 0, -1, 0, 0, 0, {{"OT-A", "R1", "C9", MON, 480, 960}}, {{0}}, 0, 0,
	 0, NULL, NULL, CCS_SCHED_R_NO_ROOM},
	{"closure_reason", MON, 0, -1, 1, MON, MON, {{0}}, {{0}}, 0, 0, 0, NULL, NULL,
	 CCS_SCHED_R_NO_SCHOOL_DAY},
	{"weekend_reason", 5, 0, 1, 0, 0, 0, {{0}}, {{0}}, 0, 0, 0, NULL, NULL,
	 CCS_SCHED_R_NO_SCHOOL_DAY},
	{"target_passed_window_empty", MON, -40, 0, 0, 0, 0, {{0}}, {{0}}, 0, 0, 0, NULL, NULL,
	 CCS_SCHED_R_WINDOW_EMPTY},
};

static void run_eval_case(const struct eval_case *c, int discipline, int *failed)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q;

	fx_init(&f);
	if (c->target_days > 0)
		f.r.eval_target_days = c->target_days;
	else if (c->target_days < 0)
		f.r.eval_target_days = 0;
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_therapist(&f, "OT-A", CCS_SCHED_OT);
	fx_room(&f, "R1", CCS_SCHED_PT | CCS_SCHED_OT);
	if (c->has_closure)
		fx_closure(&f, c->closure_first, c->closure_last);
	fx_appts(&f, c->appts);
	fx_iep(&f, c->iep);
	fx_snap(&f);
	memset(&q, 0, sizeof(q));
	q.child = fx_child(&f);
	q.discipline = discipline;
	q.asof = d0() + c->asof_off;
	q.eligible_on = q.asof + c->eligible_delta;
	q.not_before = CCS_DATE_INVALID;
	int before = ccs_test_failed_now;
	ccs_test_failed_now = 0;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, c->found);
	CCS_EQ_STR(ccs_sched_reason_name(res.reason), ccs_sched_reason_name(c->reason));
	if (c->found && res.found) {
		CCS_EQ_INT(res.slot.day - d0(), c->day_off);
		CCS_EQ_INT(res.slot.start_min, c->start);
		CCS_EQ_INT(res.slot.end_min, c->start + f.r.eval_minutes);
		/* the swap of PT-A/OT-A is the same test for OT */
		CCS_EQ_STR(tid(&f, res.slot.therapist),
			   discipline == CCS_SCHED_PT ? c->therapist
			   : strcmp(c->therapist, "PT-A") == 0 ? "OT-A"
							       : c->therapist);
		CCS_EQ_STR(rid(&f, res.slot.room), c->room);
		ccs_sched_child ch = fx_child(&f);
		CCS_EQ_INT(ccs_sched_check_slot(&f.r, &f.s, &ch, discipline, &res.slot), CCS_SCHED_OK);
	}
	if (ccs_test_failed_now) {
		fprintf(stderr, "  ^ case %s (%s)\n", c->name, ccs_sched_discipline_name(discipline));
		(*failed)++;
	}
	ccs_test_failed_now = before || ccs_test_failed_now;
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(evaluation_table_pt)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++)
		run_eval_case(&eval_cases[i], CCS_SCHED_PT, &failed);
	CCS_EQ_INT(failed, 0);
}

/* The cases are symmetric in discipline when the busy therapist is swapped too; only those
 * without a therapist-specific appointment are replayed for OT. */
CCS_TEST(evaluation_table_ot)
{
	int failed = 0;
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		const struct eval_case *c = &eval_cases[i];
		if (c->appts[0].therapist && strcmp(c->appts[0].therapist, "PT-A") == 0)
			continue;
		if (c->appts[0].therapist && strcmp(c->appts[0].therapist, "OT-A") == 0)
			continue;
		run_eval_case(c, CCS_SCHED_OT, &failed);
	}
	CCS_EQ_INT(failed, 0);
}

CCS_TEST(evaluation_target_report_policy_books_late)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	f.r.target_policy = CCS_SCHED_TARGET_REPORT;
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.asof = d0();
	q.eligible_on = d0() - 40;
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 1);
	CCS_EQ_INT(res.target_met, 0);
	CCS_EQ_INT(res.slot.day, d0());
	CCS_EQ_INT(res.target_day, d0() - 10);

	/* strict (the default) never books past the target */
	f.r.target_policy = CCS_SCHED_TARGET_STRICT;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 0);
	CCS_EQ_INT(res.reason, CCS_SCHED_R_WINDOW_EMPTY);
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(evaluation_window_rules)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	f.r.lead_days = 3;   /* eligibility on Monday: Thursday at the earliest */
	f.r.notice_days = 1; /* asof Tuesday: Wednesday at the earliest */
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = d0();
	q.asof = d0() + TUE;
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.slot.day - d0(), THU);
	CCS_EQ_INT(res.first_day - d0(), THU);
	CCS_EQ_INT(res.target_met, 1);

	q.not_before = d0() + 8; /* the family asks for next Tuesday or later */
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.slot.day - d0(), 8);

	/* horizon shorter than the target bounds the window */
	q.not_before = CCS_DATE_INVALID;
	f.r.horizon_days = 1; /* asof Tue + 1 = Wed, before Thursday */
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 0);
	CCS_EQ_INT(res.reason, CCS_SCHED_R_WINDOW_EMPTY);
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(evaluation_no_therapist_of_discipline)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	fx_therapist(&f, "OT-A", CCS_SCHED_OT);
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = q.asof = d0();
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 0);
	CCS_EQ_STR(ccs_sched_reason_name(res.reason), "NO_THERAPIST_HOURS");
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(evaluation_room_must_fit_discipline)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "CONF", CCS_SCHED_CONFERENCE);
	fx_room(&f, "OT-ROOM", CCS_SCHED_OT);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = q.asof = d0();
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 0);
	CCS_EQ_INT(res.reason, CCS_SCHED_R_NO_ROOM);
	fx_room(&f, "GYM", CCS_SCHED_PT);
	fx_snap(&f);
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 1);
	CCS_EQ_STR(rid(&f, res.slot.room), "GYM");
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(evaluation_therapist_hours_and_mtu_hours)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	ccs_sched_therapist *t = fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	t->hours[MON] = (ccs_sched_hours){0, 0};             /* not on Mondays */
	t->hours[TUE] = (ccs_sched_hours){420, 1020};        /* 07:00-17:00, MTU 08:00-16:00 */
	f.s.open[TUE] = (ccs_sched_hours){600, 960};         /* the MTU opens at 10:00 Tuesdays */
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = q.asof = d0();
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.slot.day - d0(), TUE);
	CCS_EQ_INT(res.slot.start_min, 600);
	ccs_arena_destroy(&f.arena);
}

/* ---- preference and determinism ------------------------------------------------------------- */

CCS_TEST(evaluation_preferred_therapist_then_id_order)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	fx_therapist(&f, "PT-B", CCS_SCHED_PT);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "R2", 0);
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = q.asof = d0();
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_STR(tid(&f, res.slot.therapist), "PT-A"); /* by id, not input order */
	CCS_EQ_STR(rid(&f, res.slot.room), "R1");
	q.preferred_therapist_id = "PT-B";
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_STR(tid(&f, res.slot.therapist), "PT-B");
	/* the preference never delays: busy PT-B at 08:00 gives PT-A at 08:00, not PT-B at 09:00 */
	fx_appt(&f, "PT-B", NULL, NULL, MON, 480, 540);
	fx_snap(&f);
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_STR(tid(&f, res.slot.therapist), "PT-A");
	CCS_EQ_INT(res.slot.start_min, 480);
	ccs_arena_destroy(&f.arena);
}

/* The same inputs in any order give the same slot (compared by ids). */
CCS_TEST(evaluation_deterministic_under_permutation)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};
	char first[64] = "";
	unsigned seed = 12345;

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_therapist(&f, "PT-B", CCS_SCHED_PT);
	fx_therapist(&f, "PT-C", CCS_SCHED_PT);
	fx_therapist(&f, "OT-A", CCS_SCHED_OT);
	fx_room(&f, "R1", CCS_SCHED_PT);
	fx_room(&f, "R2", CCS_SCHED_PT);
	fx_room(&f, "R3", 0);
	/* a busy Monday morning leaving one combination free at 10:00 */
	fx_appt(&f, "PT-A", "R1", "C7", MON, 480, 660);
	fx_appt(&f, "PT-B", "R2", "C8", MON, 480, 720);
	fx_appt(&f, "PT-C", "R3", "C9", MON, 480, 600);
	fx_appt(&f, NULL, "R3", NULL, MON, 600, 700);
	for (int round = 0; round < 50; round++) {
		/* Fisher-Yates on each array with a fixed LCG */
		for (size_t i = f.nt - 1; i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 16) % (i + 1);
			ccs_sched_therapist tmp = f.t[i];
			f.t[i] = f.t[j];
			f.t[j] = tmp;
		}
		for (size_t i = f.nr - 1; i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 16) % (i + 1);
			ccs_sched_room tmp = f.rooms[i];
			f.rooms[i] = f.rooms[j];
			f.rooms[j] = tmp;
		}
		for (size_t i = f.nap - 1; i > 0; i--) {
			seed = seed * 1103515245u + 12345u;
			size_t j = (seed >> 16) % (i + 1);
			ccs_sched_appt tmp = f.ap[i];
			f.ap[i] = f.ap[j];
			f.ap[j] = tmp;
		}
		fx_snap(&f);
		q.child = fx_child(&f);
		q.discipline = CCS_SCHED_PT;
		q.eligible_on = q.asof = d0();
		q.not_before = CCS_DATE_INVALID;
		CCS_EQ_INT(ccs_sched_find_evaluation(&f.r, &f.s, &q, &f.arena, &res, f.err,
						     sizeof(f.err)),
			   0);
		char got[64];
		snprintf(got, sizeof(got), "%d %d %s %s", (int)(res.slot.day - d0()),
			 res.slot.start_min, tid(&f, res.slot.therapist), rid(&f, res.slot.room));
		if (round == 0)
			memcpy(first, got, sizeof(first));
		CCS_EQ_STR(got, first);
		ccs_arena_reset(&f.arena);
	}
	/* PT-C is free from 10:00 but every room is busy until 11:00, when PT-A and R1 free up */
	CCS_EQ_STR(first, "0 660 PT-A R1");
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(invalid_inputs_rejected)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = q.asof = d0();
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res),
		   -EINVAL);
	CCS_TRUE(strstr(f.err, "duplicate therapist") != NULL);
	f.nt = 1;
	fx_appt(&f, "PT-A", NULL, NULL, MON, 600, 600); /* empty interval */
	fx_snap(&f);
	CCS_EQ_INT(eval(&f, &q, &res),
		   -EINVAL);
	f.nap = 0;
	fx_snap(&f);
	q.discipline = 3;
	CCS_EQ_INT(eval(&f, &q, &res),
		   -EINVAL);
	q.discipline = CCS_SCHED_PT;
	f.r.slot_minutes = 0;
	CCS_EQ_INT(eval(&f, &q, &res),
		   -EINVAL);
	ccs_arena_destroy(&f.arena);
}

/* ---- local time strings and the 5-day rule ----------------------------------------------------- */

CCS_TEST(local_time_format_and_parse)
{
	char buf[17];
	ccs_date day;
	int minute;

	ccs_sched_format_local(d0(), 8 * 60 + 5, buf);
	CCS_EQ_STR(buf, "2026-10-05T08:05");
	ccs_sched_format_local(d0() + 1, 23 * 60 + 59, buf);
	CCS_EQ_STR(buf, "2026-10-06T23:59");
	CCS_EQ_INT(ccs_sched_parse_local("2026-10-05T13:45", &day, &minute), 0);
	CCS_EQ_INT(day, d0());
	CCS_EQ_INT(minute, 13 * 60 + 45);
	CCS_EQ_INT(ccs_sched_parse_local("2026-10-05 13:45", &day, &minute), -EINVAL);
	CCS_EQ_INT(ccs_sched_parse_local("2026-10-05T24:00", &day, &minute), -EINVAL);
	CCS_EQ_INT(ccs_sched_parse_local("2026-02-30T10:00", &day, &minute), -EINVAL);
	CCS_EQ_INT(ccs_sched_parse_local("2026-10-05T10:0", &day, &minute), -EINVAL);
}

CCS_TEST(five_day_rule)
{
	ccs_sched_rules r = ccs_sched_rules_default;

	CCS_EQ_INT(r.plan_change_notice_days, 5);
	/* calendar days: notice on Monday -> Saturday */
	CCS_EQ_INT(ccs_sched_change_effective(&r, d0()) - d0(), 5);
	/* business days: notice on Monday -> next Monday; on Thursday -> next Thursday */
	r.plan_change_business_days = 1;
	CCS_EQ_INT(ccs_sched_change_effective(&r, d0()) - d0(), 7);
	CCS_EQ_INT(ccs_sched_change_effective(&r, d0() + THU) - d0(), THU + 7);
	/* notice on Saturday: Mon..Fri count, so the change takes effect on Friday */
	CCS_EQ_INT(ccs_sched_change_effective(&r, d0() + 5) - d0(), 11);
	r.plan_change_notice_days = 10;
	r.plan_change_business_days = 0;
	CCS_EQ_INT(ccs_sched_change_effective(&r, d0()) - d0(), 10);
}

/* ---- therapy series ---------------------------------------------------------------------------- */

struct series_fx {
	struct fx f;
	ccs_sched_slot slots[128];
	ccs_sched_series_week weeks[32];
	ccs_sched_series_result res;
	ccs_sched_series_request q;
};

static void series_init(struct series_fx *z)
{
	fx_init(&z->f);
	fx_therapist(&z->f, "PT-A", CCS_SCHED_PT);
	fx_therapist(&z->f, "PT-B", CCS_SCHED_PT);
	fx_therapist(&z->f, "OT-A", CCS_SCHED_OT);
	fx_room(&z->f, "R1", CCS_SCHED_PT | CCS_SCHED_OT);
	fx_room(&z->f, "R2", CCS_SCHED_PT | CCS_SCHED_OT);
	memset(&z->q, 0, sizeof(z->q));
	z->q.discipline = CCS_SCHED_PT;
	z->q.sessions_per_week = 2;
	z->q.weeks = 4;
	z->q.minutes = 45;
	z->q.start_on = d0();
	z->q.asof = d0() - 7;
	z->q.notice_on = CCS_DATE_INVALID;
}

static int series_run(struct series_fx *z)
{
	fx_snap(&z->f);
	z->q.child = fx_child(&z->f);
	memset(&z->res, 0, sizeof(z->res));
	z->res.slots = z->slots;
	z->res.slots_cap = 128;
	z->res.weeks = z->weeks;
	z->res.weeks_cap = 32;
	ccs_arena_reset(&z->f.arena);
	return ccs_sched_plan_series(&z->f.r, &z->f.s, &z->q, &z->f.arena, &z->res, z->f.err,
				     sizeof(z->f.err));
}

/* Every booked session passes the naive check, sessions of a week are on distinct days
 * inside that week's window, and the counts add up. */
static void series_invariants(struct series_fx *z)
{
	size_t k = 0;
	ccs_sched_child ch = fx_child(&z->f);
	int booked = 0;

	CCS_EQ_INT(z->res.n_weeks, z->q.weeks);
	for (size_t w = 0; w < z->res.n_weeks; w++) {
		const ccs_sched_series_week *wk = &z->res.weeks[w];
		CCS_EQ_INT(wk->first_day, z->res.starts_on + 7 * (ccs_date)w);
		if (wk->status != CCS_SCHED_OK) {
			CCS_EQ_INT(wk->n_sessions, 0);
			continue;
		}
		booked++;
		CCS_EQ_INT(wk->n_sessions, z->q.sessions_per_week);
		ccs_date prev = wk->first_day - 1;
		for (int i = 0; i < wk->n_sessions; i++, k++) {
			const ccs_sched_slot *s = &z->res.slots[k];
			CCS_TRUE(s->day > prev); /* distinct days, in time order */
			CCS_TRUE(s->day <= wk->first_day + 6);
			prev = s->day;
			CCS_EQ_INT(s->end_min - s->start_min, z->q.minutes);
			CCS_EQ_INT(ccs_sched_check_slot(&z->f.r, &z->f.s, &ch, z->q.discipline, s),
				   CCS_SCHED_OK);
		}
	}
	CCS_EQ_INT(k, z->res.n_slots);
	CCS_EQ_INT(booked, z->res.weeks_booked);
}

CCS_TEST(series_spread_consistent_time)
{
	struct series_fx z;

	series_init(&z);
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.n_slots, 8);
	CCS_EQ_INT(z.res.weeks_booked, 4);
	CCS_EQ_INT(z.res.weeks_consistent, 4);
	/* two sessions a week: Monday and Thursday (3 and 4 days apart), 08:00 */
	CCS_EQ_INT(z.res.pattern_days, (1u << MON) | (1u << THU));
	CCS_EQ_INT(z.res.pattern_start_min, 480);
	CCS_EQ_STR(tid(&z.f, z.res.therapist), "PT-A");
	for (size_t i = 0; i < z.res.n_slots; i++) {
		CCS_EQ_INT(z.slots[i].start_min, 480);
		CCS_EQ_STR(tid(&z.f, z.slots[i].therapist), "PT-A");
		CCS_EQ_INT(ccs_date_weekday(z.slots[i].day), i % 2 ? THU : MON);
	}
	/* three a week: Mon, Wed, Fri */
	z.q.sessions_per_week = 3;
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.pattern_days, (1u << MON) | (1u << WED) | (1u << FRI));
	ccs_arena_destroy(&z.f.arena);
}

CCS_TEST(series_prefers_evaluator)
{
	struct series_fx z;

	series_init(&z);
	z.q.evaluator_id = "PT-B";
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_STR(tid(&z.f, z.res.therapist), "PT-B");
	for (size_t i = 0; i < z.res.n_slots; i++)
		CCS_EQ_STR(tid(&z.f, z.slots[i].therapist), "PT-B");
	ccs_arena_destroy(&z.f.arena);
}

/* The evaluator can take only Mondays: the one able to take every week wins. */
CCS_TEST(series_most_capable_therapist_when_evaluator_cannot)
{
	struct series_fx z;

	series_init(&z);
	for (int wd = TUE; wd <= FRI; wd++)
		z.f.t[1].hours[wd] = (ccs_sched_hours){0, 0}; /* PT-B: Mondays only */
	z.q.evaluator_id = "PT-B";
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_STR(tid(&z.f, z.res.therapist), "PT-A");
	CCS_EQ_INT(z.res.weeks_booked, 4);
	ccs_arena_destroy(&z.f.arena);
}

/* IEP blocks on Monday and Thursday mornings move the consistent time, not the days. */
CCS_TEST(series_consistent_time_around_iep)
{
	struct series_fx z;
	static const struct iep_row iep[] = {{MON, 480, 540}, {THU, 480, 600}, {0}};

	series_init(&z);
	fx_iep(&z.f, iep);
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.pattern_days, (1u << MON) | (1u << THU));
	CCS_EQ_INT(z.res.pattern_start_min, 600);
	CCS_EQ_INT(z.res.weeks_consistent, 4);
	ccs_arena_destroy(&z.f.arena);
}

/* Closures: a closed Monday moves that week's sessions; a closed week books nothing there. */
CCS_TEST(series_closures_per_week)
{
	struct series_fx z;

	series_init(&z);
	fx_closure(&z.f, 7 + MON, 7 + MON);  /* week 1: Monday holiday */
	fx_closure(&z.f, 14 + MON, 14 + FRI); /* week 2: Thanksgiving-style week */
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.weeks_booked, 3);
	CCS_EQ_INT(z.res.weeks_consistent, 2);
	CCS_EQ_INT(z.weeks[1].status, CCS_SCHED_OK);
	CCS_EQ_INT(z.weeks[1].consistent, 0);
	CCS_EQ_STR(ccs_sched_reason_name(z.weeks[2].status), "NO_SCHOOL_DAY");
	CCS_EQ_INT(z.weeks[2].n_sessions, 0);
	CCS_EQ_INT(z.res.n_slots, 6);
	/* week 1 keeps 08:00 with PT-A on the widest pattern left: Tuesday and Friday */
	CCS_EQ_INT(ccs_date_weekday(z.slots[2].day), TUE);
	CCS_EQ_INT(ccs_date_weekday(z.slots[3].day), FRI);
	CCS_EQ_INT(z.slots[2].start_min, 480);
	/* four a week with a Monday-Tuesday closure: all-or-nothing, so none */
	ccs_arena_destroy(&z.f.arena);
	series_init(&z);
	z.q.sessions_per_week = 4;
	z.q.weeks = 1;
	fx_closure(&z.f, MON, TUE);
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.n_slots, 0);
	CCS_EQ_STR(ccs_sched_reason_name(z.weeks[0].status), "NO_SCHOOL_DAY");
	ccs_arena_destroy(&z.f.arena);
}

/* When the main therapist is away one week, another takes it; when all are, the reason says
 * so and that week books nothing. */
CCS_TEST(series_fallback_therapist_and_busy_reason)
{
	struct series_fx z;

	series_init(&z);
	for (int wd = MON; wd <= FRI; wd++)
		fx_appt(&z.f, "PT-A", NULL, NULL, 7 + wd, 480, 960); /* PT-A on leave in week 1 */
	/* without an evaluator, PT-B (able to take all four weeks) gets the series */
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_STR(tid(&z.f, z.res.therapist), "PT-B");
	CCS_EQ_INT(z.res.weeks_consistent, 4);
	/* the evaluator PT-A, able to take 3 of 4 weeks (75 %), keeps it */
	z.q.evaluator_id = "PT-A";
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_STR(tid(&z.f, z.res.therapist), "PT-A");
	CCS_EQ_INT(z.res.weeks_booked, 4);
	CCS_EQ_STR(tid(&z.f, z.slots[2].therapist), "PT-B");
	CCS_EQ_STR(tid(&z.f, z.slots[3].therapist), "PT-B");
	CCS_EQ_INT(z.weeks[1].consistent, 0);
	for (int wd = MON; wd <= FRI; wd++)
		fx_appt(&z.f, "PT-B", NULL, NULL, 7 + wd, 480, 960);
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.weeks_booked, 3);
	CCS_EQ_STR(ccs_sched_reason_name(z.weeks[1].status), "THERAPIST_BUSY");
	ccs_arena_destroy(&z.f.arena);
}

CCS_TEST(series_child_unavailable_reason)
{
	struct series_fx z;
	static const struct iep_row iep[] = {{MON, 480, 960}, {TUE, 480, 960}, {WED, 480, 960},
					     {THU, 480, 960}, {0}};

	series_init(&z);
	fx_iep(&z.f, iep);
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.weeks_booked, 0);
	CCS_EQ_INT(z.res.n_slots, 0);
	CCS_EQ_STR(ccs_sched_reason_name(z.weeks[0].status), "CHILD_UNAVAILABLE");
	/* one session a week fits on Fridays */
	z.q.sessions_per_week = 1;
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.weeks_booked, 4);
	CCS_EQ_INT(z.res.pattern_days, 1u << FRI);
	ccs_arena_destroy(&z.f.arena);
}

/* A plan change noticed on Monday takes effect on Saturday at the earliest (5 calendar days),
 * so its first week runs Saturday to Friday. */
CCS_TEST(series_plan_change_waits_five_days)
{
	struct series_fx z;

	series_init(&z);
	z.q.asof = d0();
	z.q.notice_on = d0();
	z.q.start_on = d0() + 1; /* asked for Tuesday: too early */
	CCS_EQ_INT(series_run(&z), 0);
	series_invariants(&z);
	CCS_EQ_INT(z.res.starts_on - d0(), 5);
	for (size_t i = 0; i < z.res.n_slots; i++)
		CCS_TRUE(z.slots[i].day >= d0() + 5);
	CCS_EQ_INT(z.slots[0].day - d0(), 7); /* Monday of the next week */
	/* a start later than the rule keeps the asked date */
	z.q.start_on = d0() + 14;
	CCS_EQ_INT(series_run(&z), 0);
	CCS_EQ_INT(z.res.starts_on - d0(), 14);
	/* a new plan (no notice) may start at once */
	z.q.notice_on = CCS_DATE_INVALID;
	z.q.start_on = d0() + 1;
	CCS_EQ_INT(series_run(&z), 0);
	CCS_EQ_INT(z.res.starts_on - d0(), 1);
	ccs_arena_destroy(&z.f.arena);
}

CCS_TEST(series_capacity_and_validation)
{
	struct series_fx z;

	series_init(&z);
	z.q.weeks = 65; /* 130 slots > 128 */
	CCS_EQ_INT(series_run(&z), -ENOSPC);
	z.q.weeks = 4;
	z.q.sessions_per_week = 6; /* only five school days */
	CCS_EQ_INT(series_run(&z), -EINVAL);
	z.q.sessions_per_week = 2;
	z.q.minutes = 0;
	CCS_EQ_INT(series_run(&z), -EINVAL);
	ccs_arena_destroy(&z.f.arena);
}

/* ---- conference -------------------------------------------------------------------------------- */

struct conf_case {
	const char *name;
	struct appt_row appts[4];
	struct iep_row iep[4];
	ccs_sched_interval phys_busy[3]; /* day is an offset here */
	int phys_wednesday_afternoons;   /* physician hours: Wednesdays 13:00-16:00 only */
	int no_conf_room;
	int found, day_off, start;
	const char *pt, *ot;
	ccs_sched_reason reason;
};

static const struct conf_case conf_cases[] = {
	{"all_free", {{0}}, {{0}}, {{0}}, 0, 0, 1, MON, 480, "PT-A", "OT-A", CCS_SCHED_OK},
	{"physician_busy_morning", {{0}}, {{0}}, {{MON, 480, 720}}, 0, 0, 1, MON, 720, "PT-A", "OT-A",
	 CCS_SCHED_OK},
	{"physician_clinic_day", {{0}}, {{0}}, {{0}}, 1, 0, 1, WED, 780, "PT-A", "OT-A",
	 CCS_SCHED_OK},
	{"ot_busy_at_clinic", {{"OT-A", NULL, "C9", WED, 780, 840}}, {{0}}, {{0}}, 1, 0, 1, WED, 840,
	 "PT-A", "OT-A", CCS_SCHED_OK},
	{"pt_a_busy_pt_b_joins", {{"PT-A", NULL, "C9", WED, 780, 840}}, {{0}}, {{0}}, 1, 0, 1, WED,
	 780, "PT-B", "OT-A", CCS_SCHED_OK},
	{"child_iep_at_clinic", {{0}}, {{WED, 780, 900}}, {{0}}, 1, 0, 1, WED, 900, "PT-A", "OT-A",
	 CCS_SCHED_OK},
	{"conf_room_busy", {{NULL, "CONF", NULL, WED, 780, 900}}, {{0}}, {{0}}, 1, 0, 1, WED, 900,
	 "PT-A", "OT-A", CCS_SCHED_OK},
	{"no_conf_room", {{0}}, {{0}}, {{0}}, 0, 1, 0, 0, 0, NULL, NULL, CCS_SCHED_R_NO_ROOM},
	{"child_never_free_with_physician", {{0}}, {{WED, 780, 960}}, {{0}}, 1, 0, 0, 0, 0, NULL,
	 NULL, CCS_SCHED_R_CHILD_UNAVAILABLE},
	{"physician_always_busy", {{0}}, {{0}},
	 {{WED, 0, 1440}, {WED + 7, 0, 1440}, {WED + 14, 0, 1440}}, 1, 0, 0, 0, 0, NULL, NULL,
	 CCS_SCHED_R_PHYSICIAN_BUSY},
};

CCS_TEST(conference_table)
{
	for (size_t i = 0; i < sizeof(conf_cases) / sizeof(conf_cases[0]); i++) {
		const struct conf_case *c = &conf_cases[i];
		struct fx f;
		ccs_sched_conference_request q = {0};
		ccs_sched_conference_result res;
		ccs_sched_hours ph[7] = {{0, 0}};
		ccs_sched_interval busy[3];
		size_t nb = 0;
		int before = ccs_test_failed_now;

		ccs_test_failed_now = 0;
		fx_init(&f);
		fx_therapist(&f, "PT-B", CCS_SCHED_PT);
		fx_therapist(&f, "OT-A", CCS_SCHED_OT);
		fx_therapist(&f, "PT-A", CCS_SCHED_PT);
		fx_room(&f, "R1", CCS_SCHED_PT | CCS_SCHED_OT);
		if (!c->no_conf_room)
			fx_room(&f, "CONF", CCS_SCHED_CONFERENCE);
		fx_appts(&f, c->appts);
		fx_iep(&f, c->iep);
		fx_snap(&f);
		for (; nb < 3 && c->phys_busy[nb].end_min; nb++)
			busy[nb] = (ccs_sched_interval){d0() + c->phys_busy[nb].day,
							c->phys_busy[nb].start_min,
							c->phys_busy[nb].end_min};
		ph[WED] = (ccs_sched_hours){780, 960};
		q.child = fx_child(&f);
		q.asof = d0() - 1;
		q.earliest = CCS_DATE_INVALID;
		q.latest = d0() + 20; /* three weeks */
		q.physician_hours = c->phys_wednesday_afternoons ? ph : NULL;
		q.physician_busy = busy;
		q.n_physician_busy = nb;
		CCS_EQ_INT(ccs_sched_find_conference(&f.r, &f.s, &q, &f.arena, &res, f.err,
						     sizeof(f.err)),
			   0);
		CCS_EQ_INT(res.found, c->found);
		CCS_EQ_STR(ccs_sched_reason_name(res.reason), ccs_sched_reason_name(c->reason));
		if (c->found && res.found) {
			CCS_EQ_INT(res.day - d0(), c->day_off);
			CCS_EQ_INT(res.start_min, c->start);
			CCS_EQ_INT(res.end_min - res.start_min, f.r.conference_minutes);
			CCS_EQ_STR(tid(&f, res.pt), c->pt);
			CCS_EQ_STR(tid(&f, res.ot), c->ot);
			CCS_EQ_STR(rid(&f, res.room), "CONF");
		}
		if (ccs_test_failed_now)
			fprintf(stderr, "  ^ case %s\n", c->name);
		ccs_test_failed_now = before || ccs_test_failed_now;
		ccs_arena_destroy(&f.arena);
	}
}

CCS_TEST(conference_prefers_childs_therapists)
{
	struct fx f;
	ccs_sched_conference_request q = {0};
	ccs_sched_conference_result res;

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_therapist(&f, "PT-B", CCS_SCHED_PT);
	fx_therapist(&f, "OT-A", CCS_SCHED_OT);
	fx_therapist(&f, "OT-B", CCS_SCHED_OT);
	fx_room(&f, "CONF", CCS_SCHED_CONFERENCE);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.asof = d0() - 1;
	q.earliest = q.latest = CCS_DATE_INVALID;
	q.pt_id = "PT-B";
	q.ot_id = "OT-B";
	CCS_EQ_INT(conference(&f, &q, &res), 0);
	CCS_EQ_STR(tid(&f, res.pt), "PT-B");
	CCS_EQ_STR(tid(&f, res.ot), "OT-B");
	/* a wrong-discipline preference is ignored */
	q.pt_id = "OT-B";
	CCS_EQ_INT(conference(&f, &q, &res), 0);
	CCS_EQ_STR(tid(&f, res.pt), "PT-A");
	ccs_arena_destroy(&f.arena);
}

/* A conference needs the disciplines the child receives: a PT-only child needs no OT, so an MTU
 * whose OT is away still holds it; the same MTU cannot hold a PT-and-OT conference. */
CCS_TEST(conference_needs_only_disciplines_received)
{
	struct fx f;
	ccs_sched_conference_request q = {0};
	ccs_sched_conference_result res;

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "CONF", CCS_SCHED_CONFERENCE);
	fx_snap(&f);
	q.child = fx_child(&f);
	q.asof = d0() - 1;
	q.earliest = q.latest = CCS_DATE_INVALID;
	q.disciplines = CCS_SCHED_PT;
	CCS_EQ_INT(conference(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 1);
	CCS_EQ_STR(tid(&f, res.pt), "PT-A");
	CCS_EQ_INT(res.ot, -1);
	q.disciplines = CCS_SCHED_PT | CCS_SCHED_OT;
	CCS_EQ_INT(conference(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 0);
	CCS_EQ_STR(ccs_sched_reason_name(res.reason), "THERAPIST_BUSY");
	q.disciplines = CCS_SCHED_OT;
	CCS_EQ_INT(conference(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 0);
	ccs_arena_destroy(&f.arena);
}

/* ---- waitlist ---------------------------------------------------------------------------------- */

static void wl_fill(ccs_sched_waitlist_entry *e, ccs_date asof)
{
	/* E1 plain t=100; E2 post-surgical t=300; E3 at-risk infant t=400; E4 ages out in 3
	 * months t=200; E5 ages out in a year t=50; E6 plain t=100 (ties E1, id decides). */
	static const struct {
		const char *id;
		unsigned flags;
		int age_out_months;
		int64_t at;
	} rows[] = {
		{"E1", 0, 0, 100},
		{"E2", CCS_SCHED_WLF_POST_SURGICAL, 0, 300},
		{"E3", CCS_SCHED_WLF_AT_RISK_INFANT, 0, 400},
		{"E4", 0, 3, 200},
		{"E5", 0, 12, 50},
		{"E6", 0, 0, 100},
	};
	for (size_t i = 0; i < 6; i++) {
		memset(&e[i], 0, sizeof(e[i]));
		e[i].entry_id = rows[i].id;
		e[i].discipline = CCS_SCHED_PT;
		e[i].minutes = 60;
		e[i].flags = rows[i].flags;
		e[i].waitlisted_at = rows[i].at;
		e[i].age_out_on = rows[i].age_out_months
					  ? ccs_date_add_months(asof, rows[i].age_out_months)
					  : CCS_DATE_INVALID;
		e[i].not_before = CCS_DATE_INVALID;
	}
}

static void order_str(const ccs_sched_wl_policy *p, ccs_date asof,
		      const ccs_sched_waitlist_entry *e, size_t n, char *out, size_t cap)
{
	size_t order[16], len = 0;

	ccs_sched_waitlist_order(p, asof, e, n, order);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? " " : "",
					e[order[i]].entry_id);
}

CCS_TEST(waitlist_priority_default_policy)
{
	ccs_sched_waitlist_entry e[6];
	char got[128];
	const ccs_sched_wl_policy *p = &ccs_sched_wl_policy_default;

	wl_fill(e, d0());
	order_str(p, d0(), e, 6, got, sizeof(got));
	CCS_EQ_STR(got, "E3 E2 E4 E5 E1 E6");
	CCS_EQ_INT(ccs_sched_waitlist_tier(p, d0(), &e[2]), 0);
	CCS_EQ_INT(ccs_sched_waitlist_tier(p, d0(), &e[1]), 1);
	CCS_EQ_INT(ccs_sched_waitlist_tier(p, d0(), &e[3]), 2);
	CCS_EQ_INT(ccs_sched_waitlist_tier(p, d0(), &e[4]), 3);
	CCS_TRUE(ccs_sched_waitlist_cmp(p, d0(), &e[0], &e[5]) < 0);
	CCS_TRUE(ccs_sched_waitlist_cmp(p, d0(), &e[5], &e[0]) > 0);
	CCS_EQ_INT(ccs_sched_waitlist_cmp(p, d0(), &e[0], &e[0]), 0);
	/* six months later E5 is within 6 months of aging out too, and waited longer than E4 */
	order_str(p, ccs_date_add_months(d0(), 6), e, 6, got, sizeof(got));
	CCS_EQ_STR(got, "E3 E2 E5 E4 E1 E6");
	CCS_EQ_INT(ccs_sched_waitlist_tier(p, ccs_date_add_months(d0(), 6), &e[4]), 2);
	/* the input order does not matter */
	ccs_sched_waitlist_entry r[6];
	for (size_t i = 0; i < 6; i++)
		r[i] = e[5 - i];
	order_str(p, d0(), r, 6, got, sizeof(got));
	CCS_EQ_STR(got, "E3 E2 E4 E5 E1 E6");
}

CCS_TEST(waitlist_policy_is_data)
{
	ccs_sched_waitlist_entry e[6];
	char got[128];
	ccs_sched_wl_policy p = {
		.version = "test",
		.tiers = {CCS_SCHED_WL_AGING_OUT, CCS_SCHED_WL_AT_RISK_INFANT},
		.n_tiers = 2,
		.aging_out_months = 12,
	};

	wl_fill(e, d0());
	order_str(&p, d0(), e, 6, got, sizeof(got));
	/* aging out within a year (E5 t=50, E4 t=200), at-risk E3, then FIFO incl. post-surgical */
	CCS_EQ_STR(got, "E5 E4 E3 E1 E6 E2");
	p.n_tiers = 0; /* pure FIFO */
	order_str(&p, d0(), e, 6, got, sizeof(got));
	CCS_EQ_STR(got, "E5 E1 E6 E4 E2 E3");
}

CCS_TEST(reoffer_first_feasible_in_priority_order)
{
	struct fx f;
	ccs_sched_waitlist_entry e[6];
	ccs_sched_reoffer_result res;
	static const ccs_sched_iep_block e3_iep[] = {
		{.weekday = MON, .start_min = 600, .end_min = 630}};
	static const ccs_sched_iep_block e2_iep[] = {
		{.weekday = MON, .start_min = 570, .end_min = 610}};

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_therapist(&f, "OT-A", CCS_SCHED_OT);
	fx_room(&f, "R1", 0);
	fx_appt(&f, NULL, NULL, "C-E4", MON, 640, 700); /* E4 has another appointment */
	fx_snap(&f);
	wl_fill(e, d0());
	for (size_t i = 0; i < 6; i++)
		e[i].child.child_id = e[i].entry_id[1] == '4' ? "C-E4" : e[i].entry_id;
	/* freed: PT-A Monday 10:00-11:00. E3 (first) has an IEP block 10:00-10:30 and wants 60
	 * minutes: no. E2 blocked 09:30-10:10: no. E4 busy 10:40: no. E5 fits. */
	e[2].child.iep = e3_iep;
	e[2].child.n_iep = 1;
	e[1].child.iep = e2_iep;
	e[1].child.n_iep = 1;
	ccs_sched_slot freed = {d0(), 600, 660, 0, 0};
	CCS_EQ_INT(reoffer(&f, &freed, e, &res),
		   0);
	CCS_EQ_INT(res.found, 1);
	CCS_EQ_STR(e[res.entry].entry_id, "E5");
	CCS_EQ_INT(res.slot.start_min, 600);
	CCS_EQ_INT(res.slot.end_min, 660);

	/* E3 wanting 30 minutes fits after its IEP block: 10:30-11:00 */
	e[2].minutes = 30;
	CCS_EQ_INT(reoffer(&f, &freed, e, &res),
		   0);
	CCS_EQ_STR(e[res.entry].entry_id, "E3");
	CCS_EQ_INT(res.slot.start_min, 630);
	CCS_EQ_INT(res.slot.end_min, 660);
	ccs_sched_child ch = e[2].child;
	CCS_EQ_INT(ccs_sched_check_slot(&f.r, &f.s, &ch, CCS_SCHED_PT, &res.slot), CCS_SCHED_OK);

	/* not before the family's date; wrong discipline never matches */
	e[2].not_before = d0() + 1;
	for (size_t i = 0; i < 6; i++)
		if (i != 2)
			e[i].discipline = CCS_SCHED_OT;
	CCS_EQ_INT(reoffer(&f, &freed, e, &res),
		   0);
	CCS_EQ_INT(res.found, 0);
	CCS_EQ_STR(ccs_sched_reason_name(res.reason), "NO_WAITLIST_MATCH");
	ccs_arena_destroy(&f.arena);
}

CCS_TEST(reoffer_respects_closures_and_room)
{
	struct fx f;
	ccs_sched_waitlist_entry e[6];
	ccs_sched_reoffer_result res;

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "R1", 0);
	fx_room(&f, "R2", 0);
	fx_appt(&f, NULL, "R1", "C-X", MON, 600, 660);
	fx_snap(&f);
	wl_fill(e, d0());
	ccs_sched_slot freed = {d0(), 600, 660, 0, 0}; /* R1 was re-used meanwhile */
	CCS_EQ_INT(reoffer(&f, &freed, e, &res),
		   0);
	CCS_EQ_INT(res.found, 0);
	freed.room = -1; /* any room: R2 */
	CCS_EQ_INT(reoffer(&f, &freed, e, &res),
		   0);
	CCS_EQ_INT(res.found, 1);
	CCS_EQ_STR(rid(&f, res.slot.room), "R2");
	CCS_EQ_STR(e[res.entry].entry_id, "E3");
	fx_closure(&f, MON, MON);
	fx_snap(&f);
	CCS_EQ_INT(reoffer(&f, &freed, e, &res),
		   0);
	CCS_EQ_INT(res.found, 0);
	ccs_arena_destroy(&f.arena);
}

/* A new IEP schedule effective mid-window: the old blocks stop, the new ones start. */
CCS_TEST(iep_block_validity)
{
	struct fx f;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	fx_init(&f);
	fx_therapist(&f, "PT-A", CCS_SCHED_PT);
	fx_room(&f, "R1", 0);
	fx_snap(&f);
	/* old schedule: whole days this week (until Sunday d0+6); new: mornings from d0+7 */
	for (int wd = MON; wd <= FRI; wd++) {
		f.iep[f.niep++] = (ccs_sched_iep_block){.weekday = wd, .start_min = 480,
							.end_min = 960, .until_day = d0() + 6};
		f.iep[f.niep++] = (ccs_sched_iep_block){.weekday = wd, .start_min = 480,
							.end_min = 720, .from_day = d0() + 7};
	}
	q.child = fx_child(&f);
	q.discipline = CCS_SCHED_PT;
	q.eligible_on = q.asof = d0();
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(eval(&f, &q, &res), 0);
	CCS_EQ_INT(res.found, 1);
	CCS_EQ_INT(res.slot.day - d0(), 7);
	CCS_EQ_INT(res.slot.start_min, 720);
	CCS_EQ_INT(ccs_sched_check_slot(&f.r, &f.s, &q.child, CCS_SCHED_PT, &res.slot), CCS_SCHED_OK);
	/* the naive check agrees that the old block still holds on d0 and the new one on d0+7 */
	ccs_sched_slot early = {d0(), 720, 780, 0, 0}, morning = {d0() + 7, 480, 540, 0, 0};
	CCS_EQ_INT(ccs_sched_check_slot(&f.r, &f.s, &q.child, CCS_SCHED_PT, &early),
		   CCS_SCHED_R_CHILD_UNAVAILABLE);
	CCS_EQ_INT(ccs_sched_check_slot(&f.r, &f.s, &q.child, CCS_SCHED_PT, &morning),
		   CCS_SCHED_R_CHILD_UNAVAILABLE);
	ccs_arena_destroy(&f.arena);
}
