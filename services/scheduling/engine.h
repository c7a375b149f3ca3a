/*
 * The MTU booking engine: decides WHERE and WHEN, never stores anything.
 *
 * Pure functions over an in-memory snapshot of one Medical Therapy Unit (therapists, rooms,
 * closures, existing appointments) plus the child's IEP blocks and the rules, which are data
 * (ccs_sched_rules, ccs_sched_wl_policy). The daemon loads the snapshot from PostgreSQL, calls
 * the engine, and inserts what it returns; an EXCLUDE USING gist constraint there is the last
 * guard against double booking, so the engine only has to be right and deterministic.
 *
 * Determinism: the search order is fixed (day, then start time, then therapist with the
 * preferred one first and the others by id, then room by id), so the same snapshot and request
 * give the same slot whatever the order of the input arrays. Nothing reads the wall clock:
 * "today" is the request's `asof`.
 *
 * Times are MTU local: a day (ccs_date) plus minutes after local midnight; intervals are
 * half-open [start, end), so back-to-back appointments touch without overlapping.
 * Weekdays are 0 = Monday ... 6 = Sunday as in ccs_date_weekday() (the protobuf contract uses
 * ISO 1..7: subtract one).
 *
 * Memory: results go into caller-provided structs and arrays with capacities; the engine's
 * working index (appointments sorted by day, ids resolved) comes from the caller's arena,
 * which the caller resets after the request. Errors: 0 or a negative errno value with a
 * message in errbuf; "no slot" is not an error, it is a result with found = 0 and a reason.
 */
#ifndef CCS_SCHED_ENGINE_H
#define CCS_SCHED_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "ccs/date.h"
#include "ccs/mem.h"

#define CCS_SCHED_WUR __attribute__((warn_unused_result))

/* Disciplines and room uses are bits, so a room or an MTU can hold several.
 * PT and OT have the values of the protobuf enum Discipline. */
enum {
	CCS_SCHED_PT = 1,
	CCS_SCHED_OT = 2,
	CCS_SCHED_CONFERENCE = 4, /* room use only: a room fit for a Medical Therapy Conference */
};

#define CCS_SCHED_MINUTES_PER_DAY 1440

/* One interval of a weekday, minutes after midnight; start == end means none that day. */
typedef struct ccs_sched_hours {
	int start_min;
	int end_min;
} ccs_sched_hours;

typedef struct ccs_sched_therapist {
	const char *id;          /* staff id, never a name */
	int discipline;          /* CCS_SCHED_PT or CCS_SCHED_OT */
	ccs_sched_hours hours[7]; /* weekly working hours, [0] = Monday */
} ccs_sched_therapist;

typedef struct ccs_sched_room {
	const char *id;
	unsigned uses; /* CCS_SCHED_PT | CCS_SCHED_OT | CCS_SCHED_CONFERENCE; 0 = any use */
} ccs_sched_room;

/* The MTU (its host school) is closed from first to last, inclusive. */
typedef struct ccs_sched_closure {
	ccs_date first;
	ccs_date last;
} ccs_sched_closure;

/* A booked interval. A therapist's leave or meeting is an appointment with no child and no
 * room; any id may be NULL. Ids that match no therapist/room of the snapshot still block the
 * child (an appointment at another MTU). */
typedef struct ccs_sched_appt {
	const char *therapist_id;
	const char *room_id;
	const char *child_id;
	ccs_date day;
	int start_min;
	int end_min;
} ccs_sched_appt;

/* One MTU's state at decision time. Borrowed, never freed by the engine. */
typedef struct ccs_sched_snapshot {
	ccs_sched_hours open[7]; /* MTU opening hours, [0] = Monday */
	const ccs_sched_therapist *therapists;
	size_t n_therapists;
	const ccs_sched_room *rooms;
	size_t n_rooms;
	const ccs_sched_closure *closures;
	size_t n_closures;
	const ccs_sched_appt *appts;
	size_t n_appts;
} ccs_sched_snapshot;

/* A weekly block of the child's school day given to IEP services; never booked over. The
 * optional validity lets one request carry the schedules before and after an IEP change
 * (IepScheduleBlocks.effective_date); zero-initialised blocks apply on every day. */
typedef struct ccs_sched_iep_block {
	int weekday; /* 0 = Monday */
	int start_min;
	int end_min;
	ccs_date from_day;  /* first day it applies; 0 = no lower bound */
	ccs_date until_day; /* last day it applies, inclusive; 0 = no upper bound */
} ccs_sched_iep_block;

/* The child as the engine sees it: an id (to find the child's appointments) and IEP blocks.
 * Ids compare byte for byte, so the caller gives each id one spelling (schedulingd: canonical
 * lower-case UUIDs, as PostgreSQL writes them; an input's capitals are lowered at the input). */
typedef struct ccs_sched_child {
	const char *child_id;
	const ccs_sched_iep_block *iep;
	size_t n_iep;
} ccs_sched_child;

/* What to do when the evaluation cannot happen within the service target. */
enum ccs_sched_target_policy {
	CCS_SCHED_TARGET_STRICT = 0, /* search only up to the target; none -> waitlist */
	CCS_SCHED_TARGET_REPORT = 1, /* search up to the horizon; flag target_met = 0 */
};

/* The scheduling rules, as data with a version that decisions cite. */
typedef struct ccs_sched_rules {
	const char *version;
	int slot_minutes;            /* start times fall on this grid from midnight (15) */
	int eval_minutes;            /* evaluation length (60) */
	int eval_target_days;        /* evaluation within N days of eligibility (30) */
	enum ccs_sched_target_policy target_policy;
	int horizon_days;            /* book no later than asof + N days (90) */
	int lead_days;               /* first evaluation day >= eligibility + N days (1) */
	int notice_days;             /* any booking >= asof + N days (1) */
	int conference_minutes;      /* Medical Therapy Conference length (60) */
	int plan_change_notice_days; /* a plan change takes effect >= notice + N days (5) */
	int plan_change_business_days; /* 1: count N in Mon-Fri days; 0: calendar days */
	unsigned school_days;        /* bit w set = weekday w (0 = Monday) is bookable (0x1f) */
	int max_series_weeks;        /* refuse longer series (104) */
	/* The evaluator stays a series' therapist when able to take at least this share (%) of
	 * the weeks the most able therapist can take (75). */
	int evaluator_min_pct;
} ccs_sched_rules;

extern const ccs_sched_rules ccs_sched_rules_default;

/* Why there is no slot: the furthest stage any candidate reached tells what blocked it. */
typedef enum ccs_sched_reason {
	CCS_SCHED_OK = 0,
	CCS_SCHED_R_WINDOW_EMPTY,        /* earliest allowed day is after the last allowed day */
	CCS_SCHED_R_NO_SCHOOL_DAY,       /* weekends and closures fill the window */
	CCS_SCHED_R_NO_THERAPIST_HOURS,  /* no therapist of the discipline works then */
	CCS_SCHED_R_CHILD_UNAVAILABLE,   /* IEP blocks or the child's appointments */
	CCS_SCHED_R_THERAPIST_BUSY,      /* therapists fully booked */
	CCS_SCHED_R_NO_ROOM,             /* no suitable room free */
	CCS_SCHED_R_PHYSICIAN_BUSY,      /* conference: the physician is never free then */
	CCS_SCHED_R_NO_WAITLIST_MATCH,   /* re-offer: no waitlisted child fits the freed slot */
} ccs_sched_reason;

/* "WINDOW_EMPTY", "THERAPIST_BUSY", ...; "OK" for CCS_SCHED_OK. */
const char *ccs_sched_reason_name(ccs_sched_reason r);
/* "PT", "OT", "CONFERENCE"; "?" otherwise. */
const char *ccs_sched_discipline_name(int discipline);

/* A chosen slot. therapist and room index the snapshot's arrays (-1 = none). */
typedef struct ccs_sched_slot {
	ccs_date day;
	int start_min;
	int end_min;
	int therapist;
	int room;
} ccs_sched_slot;

/* Write "YYYY-MM-DDTHH:MM" (MTU local time, no offset) into buf. */
void ccs_sched_format_local(ccs_date day, int minute, char buf[17]);
/* Parse "YYYY-MM-DDTHH:MM"; 0 or -EINVAL. */
int ccs_sched_parse_local(const char *s, ccs_date *day, int *minute) CCS_SCHED_WUR;

/* ---- the evaluation ---------------------------------------------------------------------- */

typedef struct ccs_sched_eval_request {
	ccs_sched_child child;
	int discipline;          /* CCS_SCHED_PT or CCS_SCHED_OT */
	ccs_date eligible_on;    /* eligibility decision date: the service-target clock starts */
	ccs_date asof;           /* the request's date (from the event, never the wall clock) */
	ccs_date not_before;     /* family's earliest date, or CCS_DATE_INVALID */
	const char *preferred_therapist_id; /* tried first at each time; may be NULL */
} ccs_sched_eval_request;

typedef struct ccs_sched_eval_result {
	int found;
	ccs_sched_slot slot;
	int target_met;          /* slot.day <= target_day */
	ccs_date target_day;     /* eligible_on + eval_target_days */
	ccs_date first_day;      /* the window searched: [first_day, last_day] */
	ccs_date last_day;
	ccs_sched_reason reason; /* when !found */
} ccs_sched_eval_result;

/* The earliest feasible evaluation slot: a therapist of the discipline within hours and free,
 * a free room fit for the discipline, the child free and outside IEP blocks, a school day
 * (rules.school_days) that is not a closure, inside MTU hours. Window: from
 * max(eligible_on + lead_days, asof + notice_days, not_before) to asof + horizon_days, cut at
 * the target day under CCS_SCHED_TARGET_STRICT. */
int ccs_sched_find_evaluation(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
			      const ccs_sched_eval_request *q, ccs_arena *scratch,
			      ccs_sched_eval_result *res, char *errbuf,
			      size_t errlen) CCS_SCHED_WUR;

/* ---- therapy series and the 5-day rule ------------------------------------------------------- */

/* First day a therapy plan change noticed on notice_on may take effect (notice + N days,
 * calendar or Mon-Fri days as the rules say). */
ccs_date ccs_sched_change_effective(const ccs_sched_rules *r, ccs_date notice_on);

typedef struct ccs_sched_series_request {
	ccs_sched_child child;
	int discipline;
	int sessions_per_week;   /* 1 .. number of school days in a week */
	int weeks;               /* 1 .. rules.max_series_weeks */
	int minutes;             /* per session */
	ccs_date start_on;       /* first day wanted */
	ccs_date asof;           /* sessions never before asof + notice_days */
	/* A change to a running plan: the notice date, which moves the start to
	 * ccs_sched_change_effective(); CCS_DATE_INVALID for a new plan. */
	ccs_date notice_on;
	const char *evaluator_id; /* the therapist who did the evaluation; may be NULL */
} ccs_sched_series_request;

/* Week k of a series is the 7-day window [start + 7k, start + 7k + 6], so every window holds
 * each weekday once and a weekly pattern applies to all of them. */
typedef struct ccs_sched_series_week {
	ccs_date first_day;
	ccs_sched_reason status; /* CCS_SCHED_OK: all sessions of the week booked; else none */
	int n_sessions;          /* sessions_per_week or 0 */
	int consistent;          /* 1: the main therapist, pattern and time */
} ccs_sched_series_week;

typedef struct ccs_sched_series_result {
	/* in: caller's arrays; out: counts. Slots come week by week in time order. */
	ccs_sched_slot *slots;
	size_t slots_cap;
	size_t n_slots;
	ccs_sched_series_week *weeks;
	size_t weeks_cap;
	size_t n_weeks;
	/* out */
	ccs_date starts_on;      /* effective first day (after the 5-day rule and notice) */
	int therapist;           /* main therapist (snapshot index) or -1 */
	unsigned pattern_days;   /* main weekly pattern: bit w = weekday w; 0 if none */
	int pattern_start_min;   /* main start time, -1 if none */
	int weeks_booked;
	int weeks_consistent;
} ccs_sched_series_result;

/* Plans a prescription as concrete sessions. The main therapist is the evaluator when able to
 * take evaluator_min_pct of the weeks the most able therapist can, else the most able one (by
 * id on ties). The main pattern is the set of weekdays and one start time that fits the most
 * regular weeks (weeks without closures) for the main therapist, the widest spread first, then
 * the earliest time. Other weeks keep the main therapist and time where they can, on the
 * widest-spread days left, then take other therapists; all-or-nothing per week: a week that
 * cannot hold all its sessions books none and says why. -ENOSPC if the arrays are short
 * (need sessions_per_week * weeks slots and weeks entries). */
int ccs_sched_plan_series(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
			  const ccs_sched_series_request *q, ccs_arena *scratch,
			  ccs_sched_series_result *res, char *errbuf, size_t errlen) CCS_SCHED_WUR;

/* ---- Medical Therapy Conference ---------------------------------------------------------- */

/* A busy interval of someone who is not in the snapshot (the MTC physician). */
typedef struct ccs_sched_interval {
	ccs_date day;
	int start_min;
	int end_min;
} ccs_sched_interval;

typedef struct ccs_sched_conference_request {
	ccs_sched_child child;
	ccs_date asof;
	ccs_date earliest;       /* or CCS_DATE_INVALID: asof + notice_days */
	ccs_date latest;         /* or CCS_DATE_INVALID: asof + horizon_days */
	const char *pt_id;       /* the child's PT and OT, tried first; may be NULL */
	const char *ot_id;
	const ccs_sched_hours *physician_hours; /* 7 entries ([0] = Monday); NULL = MTU hours */
	const ccs_sched_interval *physician_busy;
	size_t n_physician_busy;
	/* Therapists the conference needs: CCS_SCHED_PT | CCS_SCHED_OT bits, the disciplines the
	 * child receives (a PT-only child needs no OT); 0 = both. */
	unsigned disciplines;
} ccs_sched_conference_request;

typedef struct ccs_sched_conference_result {
	int found;
	ccs_date day;
	int start_min;
	int end_min;
	int pt;                  /* snapshot indices */
	int ot;
	int room;
	ccs_sched_reason reason;
} ccs_sched_conference_result;

/* The earliest slot where a therapist of each needed discipline and the physician are all
 * free, with a conference room free and the child free outside IEP blocks; pt/ot are -1 for a
 * discipline not needed. */
int ccs_sched_find_conference(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
			      const ccs_sched_conference_request *q, ccs_arena *scratch,
			      ccs_sched_conference_result *res, char *errbuf,
			      size_t errlen) CCS_SCHED_WUR;

/* ---- waitlist ------------------------------------------------------------------------------ */

enum {
	CCS_SCHED_WLF_AT_RISK_INFANT = 1u << 0, /* eligible as "at risk", under 3 */
	CCS_SCHED_WLF_POST_SURGICAL = 1u << 1,
};

/* Priority criteria, applied in the policy's order: an entry's tier is the first one it
 * meets; entries meeting none come after all tiers. */
typedef enum ccs_sched_wl_criterion {
	CCS_SCHED_WL_AT_RISK_INFANT = 1,
	CCS_SCHED_WL_POST_SURGICAL = 2,
	CCS_SCHED_WL_AGING_OUT = 3, /* age_out_on within aging_out_months of asof */
} ccs_sched_wl_criterion;

#define CCS_SCHED_WL_MAX_TIERS 8

typedef struct ccs_sched_wl_policy {
	const char *version;
	ccs_sched_wl_criterion tiers[CCS_SCHED_WL_MAX_TIERS];
	size_t n_tiers;
	int aging_out_months;
} ccs_sched_wl_policy;

/* at-risk infants, then post-surgical, then aging out within 6 months, then FIFO. */
extern const ccs_sched_wl_policy ccs_sched_wl_policy_default;

typedef struct ccs_sched_waitlist_entry {
	const char *entry_id;    /* stable id: the last tie-break */
	ccs_sched_child child;
	int discipline;
	int minutes;             /* session length wanted */
	unsigned flags;          /* CCS_SCHED_WLF_* */
	ccs_date age_out_on;     /* 21st birthday, or CCS_DATE_INVALID */
	int64_t waitlisted_at;   /* when it joined the list (any monotonic unit, e.g. epoch ms) */
	ccs_date not_before;     /* or CCS_DATE_INVALID */
} ccs_sched_waitlist_entry;

/* 0-based tier of an entry (n_tiers when it meets no criterion). */
int ccs_sched_waitlist_tier(const ccs_sched_wl_policy *p, ccs_date asof,
			    const ccs_sched_waitlist_entry *e);
/* Total order: tier, then waitlisted_at, then entry_id. <0 when a goes first. */
int ccs_sched_waitlist_cmp(const ccs_sched_wl_policy *p, ccs_date asof,
			   const ccs_sched_waitlist_entry *a, const ccs_sched_waitlist_entry *b);
/* Fill order[0..n) with entry indices, highest priority first. */
void ccs_sched_waitlist_order(const ccs_sched_wl_policy *p, ccs_date asof,
			      const ccs_sched_waitlist_entry *e, size_t n, size_t *order);

typedef struct ccs_sched_reoffer_result {
	int found;
	size_t entry;            /* index into the waitlist */
	ccs_sched_slot slot;     /* inside the freed slot, entry's minutes long */
	ccs_sched_reason reason;
} ccs_sched_reoffer_result;

/* A slot was freed (cancellation, new therapist hours): offer it to the first waitlisted
 * child, in policy order, for whom some start inside it is feasible with the freed slot's
 * therapist (freed->therapist, required) and room (freed->room, or any when -1). The snapshot
 * must already be without the cancelled appointment. A long freed window (new hours) can hold
 * several sessions: add the offered one to the snapshot, drop the entry, and call again. */
int ccs_sched_reoffer(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
		      const ccs_sched_wl_policy *p, ccs_date asof, const ccs_sched_slot *freed,
		      const ccs_sched_waitlist_entry *wl, size_t n, ccs_arena *scratch,
		      ccs_sched_reoffer_result *res, char *errbuf, size_t errlen) CCS_SCHED_WUR;

/* ---- checks the daemon and the tests share -------------------------------------------------- */

/* CCS_SCHED_OK if the slot is feasible for the child (may be NULL) against the snapshot, else
 * the reason. slot->therapist or slot->room -1 skips that party (a conference room is checked
 * with discipline CCS_SCHED_CONFERENCE and therapist -1). A naive linear scan, independent of
 * the searches: the daemon may re-validate a slot before its insert, the tests and the fuzzer
 * hold the searches against it. */
ccs_sched_reason ccs_sched_check_slot(const ccs_sched_rules *r, const ccs_sched_snapshot *s,
				      const ccs_sched_child *child, int discipline,
				      const ccs_sched_slot *slot);

#endif
