/*
 * schedulingd's parts, shared between its files (names ccs_sched__*: internal to the daemon).
 *
 *   scheduling.c      settings, start, the input table's handlers, the due-work callback
 *   sched_decide.c    one input's context, decisions (emit), the inputs row, IEP notices
 *   sched_booking.c   the one booking-with-retry loop and the plans it runs (evaluation,
 *                     single session, series, re-offer of a freed slot, conference)
 *   sched_waitlist.c  waitlist entries in policy order, re-offers of new capacity
 *   sched_eligibility.c eligibility decisions: evaluations, refusals' facts, end of services
 *   sched_requests.c  prescriptions, cancellations, IEP schedules, calendars, releases,
 *                     evaluation requests; sessions moved off closures, hours and IEP blocks
 *   sched_conference.c conferences: requests, outcomes, the yearly due timer
 *   scheduling_store.c every SQL statement
 *   policy.c, engine.c, mtu_directory.c  pure rules, searches and the directory parser
 */
#ifndef CCS_SCHED_INTERNAL_H
#define CCS_SCHED_INTERNAL_H

#include "ccs/metrics.h"
#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "ccs/mtp/v1/scheduling.pb-c.h"
#include "ccs/svc.h"
#include "engine.h"
#include "mtu_directory.h"
#include "policy.h"
#include "scheduling.h"
#include "scheduling_store.h"

struct ccs_scheduling {
	ccs_sched_rules rules;
	ccs_sched_wl_policy policy;
	unsigned eval_disciplines; /* evaluation disciplines when nothing states them */
	int school_start;
	int school_end;
	int retries;
	int reoffer_max;
	int rebook_window_days;  /* a moved session is rebooked within N days after its day */
	unsigned rebook_reasons; /* CancellationReason bits that always rebook the child */
	int release_max_months;
	int conference_interval_months;
	int conference_lead_days;
	const char *statement;   /* the sentence every IEP notice carries */
	ccs_sched_mtu_dir *dir;  /* MTU selection (county, district, neighbour) */
	ccs_metric *m_conflicts; /* bookings refused by an EXCLUDE constraint, then searched again */
	ccs_metric *m_eval_days; /* days from eligibility to the first evaluation */
	/* Per-message scratch for MTU snapshots and the engine's indexes: reset when the next
	 * message starts, so a batch of 200 bookings at a busy MTU does not hold 200 snapshots in
	 * the batch arena (the daemon's peak RSS). Nothing in it outlives its message: decisions
	 * are serialized into the outbox by ccs_tx_emit before the handler returns. */
	ccs_arena scratch;
};

/* Children rows read or written (ccs_sched__child_get/put): the same row is not read twice. */
typedef struct ccs_sched_memo {
	struct ccs_sched_child_memo *e;
	size_t n;
	size_t cap;
} ccs_sched_memo;

/*
 * What a batch of eligibility decisions shares (the input's `prepare`, ccs_tx_batch_state): on
 * the engine's fast path only, which runs the batch in one transaction without savepoints, so
 * nothing written in it is undone but the whole; in a careful run there is none and every
 * message reads for itself.
 *
 *   memo   the children of every decision of the batch, read (FOR UPDATE) in one statement, and
 *          what the batch's messages wrote since, written at its end (`finish`) in one statement
 *   inputs the batch's `inputs` rows, written at its end in one statement
 *   iep    their IEP blocks, read in one statement
 *   snaps  each MTU's snapshot as this transaction sees it: read once, then kept current with
 *          the transaction's own bookings (added) and cancellations (dropped: read again). What
 *          other instances book meanwhile is what the EXCLUDE constraints are for: a conflict
 *          drops the snapshot and the booking searches again on a fresh one.
 */
typedef struct ccs_sched_batch {
	ccs_sched_memo memo;
	ccs_sched_store_input *inputs;
	size_t n_inputs;
	size_t cap_inputs;
	ccs_sched_child *iep;
	size_t n_iep;
	struct ccs_sched_snap *snaps;
	size_t n_snaps;
	size_t cap_snaps;
} ccs_sched_batch;

/* Everything about the input being handled. */
typedef struct ccs_sched_req {
	ccs_scheduling *s;
	ccs_tx *tx;
	ccs_arena *a;       /* the batch arena: what decisions and rows point into */
	ccs_arena *scratch; /* this message's snapshots (ccs_scheduling.scratch) */
	ccs_svc_err *err;
	const char *event_id;
	const char *request_id;
	const char *decided_at;
	ccs_date asof;
	int64_t at_ms;
	char **ids; /* decision ids emitted, for the inputs row */
	size_t n_ids;
	size_t cap_ids;
	ccs_sched_batch *b;   /* the batch's shared reads, or NULL (careful run, requests, timers) */
	ccs_sched_memo *memo; /* the batch's memo, else own_memo */
	ccs_sched_memo own_memo;
} ccs_sched_req;
typedef ccs_sched_req req;

/* ---- sched_decide.c */
void ccs_sched__req_init(req *q, void *ctx, ccs_tx *tx, ccs_svc_err *err);
/* The children row through the message's memo: read once (FOR UPDATE when asked: a row read
 * without the lock is read again with it), the memo follows what this message writes. */
int ccs_sched__child_get(req *q, const char *case_id, int for_update, ccs_sched_store_child *c,
			 int *found) CCS_SCHED_STORE_WUR;
int ccs_sched__child_put(req *q, const ccs_sched_store_child *c) CCS_SCHED_STORE_WUR;
int ccs_sched__child_conference_months(req *q, const char *case_id, int months) CCS_SCHED_STORE_WUR;
/* The first phase of a batch of eligibility decisions: its children and their IEP blocks. */
int ccs_sched__batch_prepare(ccs_tx *tx, const char *const *case_ids, size_t n, ccs_sched_batch **out,
			     ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Its last phase: the children its messages wrote and its inputs rows, a statement each. */
int ccs_sched__batch_finish(ccs_tx *tx, ccs_sched_batch *b, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Cancel one appointment (and, conference_id set, every row of that conference) at mtu_id. */
int ccs_sched__appt_cancel(req *q, const char *mtu_id, const char *appointment_id, const char *conference_id,
			   const char *reason) CCS_SCHED_STORE_WUR;
const char *ccs_sched__date(req *q, ccs_date d); /* NULL for CCS_DATE_INVALID */
const char *ccs_sched__int(req *q, long v);
/*
 * A uuid id from an input (a case id, an appointment id) in its canonical form: lower case, as
 * PostgreSQL writes uuid columns back; NULL when s is not a UUID. RFC 4122 UUIDs are
 * case-insensitive on input, but scheduling compares ids byte for byte in C with what the
 * database returns (the engine's child ids, the children memo, an appointment's case, timer
 * subjects), so every handler takes its input's ids through this once and passes on only the
 * canonical form, which the decisions, their keys and the inputs row then carry. Decision ids
 * do not depend on it: they are UUIDv5 of the input event id and a kind (no case id in a kind).
 */
const char *ccs_sched__canon_uuid(ccs_arena *a, const char *s);
const char *ccs_sched__disc_name(int d);
int ccs_sched__emit(req *q, const char *case_id, const char *mtu_id, const char *kind,
		    Ccs__Mtp__V1__SchedulingDecision *d, const char *metric_outcome) CCS_SCHED_STORE_WUR;
int ccs_sched__emit_tagged(req *q, const char *case_id, const char *mtu_id, const char *kind,
			   Ccs__Mtp__V1__SchedulingDecision *d, const char *metric_outcome, const char *const *tags);
int ccs_sched__record_input(req *q, const char *source, const char *kind, const char *case_id,
			    const char *outcome) CCS_SCHED_STORE_WUR;
Ccs__Mtp__V1__Appointment *ccs_sched__appt_msg(req *q, const ccs_sched_store_appt *x);
int ccs_sched__transient(req *q, const char *what, const char *mtu_id);
/* A RequestRefused decision (kind "refused"). */
int ccs_sched__refuse(req *q, const char *case_id, const char *request_kind, const char *reason,
		      const char *eligibility) CCS_SCHED_STORE_WUR;

/* An IEP coordination notice: the sentence, the release's identification and summary when
 * its scope allows, and whatever the caller filled in n (moved sessions, staff...). */
int ccs_sched__notice(req *q, const char *case_id, const char *mtu_id, Ccs__Mtp__V1__IepNoticeKind kind,
		      ccs_date effective, const char *reason_code, Ccs__Mtp__V1__IepCoordinationNotice *n,
		      const char *decision_kind) CCS_SCHED_STORE_WUR;
Ccs__Mtp__V1__IepCoordinationNotice *ccs_sched__notice_new(req *q);

/* ---- sched_booking.c */
typedef struct ccs_sched_booked {
	int found;
	ccs_sched_reason reason;
	ccs_sched_store_appt *appts;
	size_t n;
	ccs_date starts_on;
} ccs_sched_booked;

/*
 * One booking: plan on a fresh snapshot, insert, retry after an exclusion conflict (see
 * sched_booking.c). `plan` fills out (found = 0 with a reason when there is no slot); `after`
 * (optional) inserts what else the booking holds (a conference's physician) and may report a
 * conflict too.
 */
typedef struct ccs_sched_booking {
	const char *mtu_id;
	const char *case_ids; /* uuid array literal of the children whose appointments matter */
	ccs_date from, to;    /* snapshot window */
	int (*plan)(req *q, void *arg, const ccs_sched_store_mtu *m, ccs_sched_booked *out);
	int (*after)(req *q, void *arg, const ccs_sched_booked *b, int *conflict);
	void *arg;
	ccs_sched_child *child; /* optional: its IEP blocks come with each snapshot, before `plan` */
	int child_new;          /* case_ids is that child alone, booked nowhere: the batch's snapshot of
				 * the MTU is all the booking needs */
} ccs_sched_booking;
int ccs_sched__book(req *q, const ccs_sched_booking *bk, ccs_sched_booked *out) CCS_SCHED_STORE_WUR;
/* The batch's snapshot of mtu_id is out of date (a cancellation): read it again when needed.
 * NULL: every MTU's. Nothing without a batch. */
void ccs_sched__snap_drop(req *q, const char *mtu_id);

/* One session (an evaluation, a therapy session or a moved one) for a child. */
typedef struct ccs_sched_single {
	const char *case_id;
	const char *mtu_id;
	int discipline;
	int minutes;
	const char *kind;             /* "evaluation" or "therapy" */
	const char *prescription_id;  /* therapy */
	ccs_date eligible_on;         /* the service-target clock (evaluations) */
	ccs_date not_before;          /* or CCS_DATE_INVALID */
	ccs_date not_after;           /* or CCS_DATE_INVALID: the rules' window */
	const char *same_therapist;   /* tried alone first; may be NULL */
	const ccs_sched_rules *rules; /* NULL: the daemon's */
	const char *appt_kind;        /* names the appointment id */
	int child_new; /* no row before this input: booked nowhere (the batch's snapshots do) */
} ccs_sched_single;
int ccs_sched__book_single(req *q, const ccs_sched_single *sg, ccs_sched_booked *out) CCS_SCHED_STORE_WUR;

typedef struct ccs_sched_series_req {
	const char *case_id;
	const char *mtu_id;
	const char *prescription_id;
	int discipline;
	int per_week;
	int weeks;
	int minutes;
	ccs_date start_on;
	ccs_date notice_on;
	const char *evaluator_id;
} ccs_sched_series_req;
int ccs_sched__book_series(req *q, const ccs_sched_series_req *sr, const char *appt_kind,
			   ccs_sched_booked *out) CCS_SCHED_STORE_WUR;
void ccs_sched__observe_first_evaluation(req *q, ccs_date eligible_on, const ccs_sched_booked *b);
int ccs_sched__emit_evaluation(req *q, const char *case_id, const char *mtu_id, const ccs_sched_booked *b,
			       const char *kind) CCS_SCHED_STORE_WUR;
int ccs_sched__emit_series(req *q, const char *case_id, const char *mtu_id, const char *rx_id,
			   const ccs_sched_booked *b, const char *kind) CCS_SCHED_STORE_WUR;
/* A freed slot to the first waitlisted child who can use it; *n_booked 0 or 1. */
int ccs_sched__reoffer_freed(req *q, const ccs_sched_store_booked_appt *freed,
			     int *n_booked) CCS_SCHED_STORE_WUR;

/* ---- sched_waitlist.c */
typedef struct ccs_sched_wl_add {
	const char *case_id;
	const char *mtu_id; /* NULL: the county has no MTU */
	const char *county;
	int discipline;
	const char *kind; /* "evaluation", "series", "session" */
	const char *prescription_id;
	const char *appointment_id; /* "session": the lost session */
	int minutes;
	unsigned flags;
	ccs_date age_out;
	const char *reason;
	const char *decision_kind;
} ccs_sched_wl_add;
int ccs_sched__waitlist_add(req *q, const ccs_sched_wl_add *w) CCS_SCHED_STORE_WUR;
/* New capacity at an MTU: the waiting children in policy order, each a full search. */
int ccs_sched__reoffer_capacity(req *q, const char *mtu_id, int *n_booked) CCS_SCHED_STORE_WUR;
/* The first `max` waiting entries (0: all; single sessions only when singles_only) in policy
 * order, with their IEP blocks when with_iep; in the message's scratch. */
int ccs_sched__waitlist_load(req *q, const char *mtu_id, const char *county, int discipline, int singles_only,
			     size_t max, int with_iep, ccs_sched_waitlist_entry **entries,
			     ccs_sched_store_wl_row **rows, size_t *n) CCS_SCHED_STORE_WUR;

/* ---- sched_requests.c */
/* Move booked sessions that lost their slot (closure, hours, IEP block, lost eligibility...):
 * rebook each (same therapist first, from `from` on), else waitlist it; every move is a
 * Cancelled decision keyed by the child (kind "moved.<appointment id>"); the moves are
 * returned for the notices. */
typedef struct ccs_sched_moved {
	const ccs_sched_store_booked_appt *old;
	ccs_sched_store_appt *to; /* NULL: waitlisted */
} ccs_sched_moved;
int ccs_sched__move_sessions(req *q, ccs_sched_store_booked_appt *appts, size_t n, const char *reason,
			     ccs_date from, ccs_sched_moved **moved) CCS_SCHED_STORE_WUR;
int ccs_sched__on_request(req *q, Ccs__Mtp__V1__SchedulingRequest *sr) CCS_SCHED_STORE_WUR;
/* An MTU's calendar changed (a request, or the directory file at start): move the booked
 * sessions on closures or outside their therapist's hours, then re-offer new capacity. */
int ccs_sched__calendar_recheck(req *q, const char *mtu_id, int *moved, int *n_reoffered) CCS_SCHED_STORE_WUR;
/* The prescription handler, also used by a conference outcome's plan changes. */
int ccs_sched__prescription(req *q, const char *case_id, const Ccs__Mtp__V1__TherapyPrescription *rx,
			    const char *kind_prefix, const char **outcome) CCS_SCHED_STORE_WUR;
/* ---- sched_eligibility.c */
/* Book the evaluations a child still lacks, in its disciplines, at its MTU. c is the child as
 * this message holds it (read FOR UPDATE); `unstored`: c has changes not written yet, written
 * here once with the MTU chosen; `is_new`: the child had no row before this message, so no
 * evaluation can be open (nothing is booked or waiting for a child scheduling never knew). */
int ccs_sched__book_evaluations(req *q, ccs_sched_store_child *c, int unstored, int is_new,
				const char **outcome) CCS_SCHED_STORE_WUR;
/* End services of the child from the dates the policy gives; notices; re-offers. */
int ccs_sched__end_services(req *q, const char *case_id, ccs_sched_elig_status st, unsigned disciplines,
			    const char *kind_prefix) CCS_SCHED_STORE_WUR;

int ccs_sched__on_eligibility(req *q, Ccs__Mtp__V1__EligibilityDecision *ed) CCS_SCHED_STORE_WUR;

/* ---- sched_conference.c */
int ccs_sched__on_conference(req *q, const char *case_id, const Ccs__Mtp__V1__ConferenceRequest *cr,
			     const char **outcome) CCS_SCHED_STORE_WUR;
int ccs_sched__on_conference_outcome(req *q, const char *case_id, const Ccs__Mtp__V1__ConferenceOutcome *co,
				     const char **outcome) CCS_SCHED_STORE_WUR;
/* (Re)arm the conference-due timer of a child in therapy. */
int ccs_sched__arm_conference_due(req *q, const char *case_id, ccs_date last) CCS_SCHED_STORE_WUR;
int ccs_sched__conference_due(req *q, const char *case_id, ccs_date due) CCS_SCHED_STORE_WUR;

#endif
