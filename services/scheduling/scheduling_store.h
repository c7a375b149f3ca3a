/*
 * schedulingd's PostgreSQL side: load what the booking engine needs into its structs (an MTU
 * snapshot, a child's IEP blocks, the waitlist), write what it decided (appointments), and load
 * the MTU directory file into the database.
 *
 * Everything runs inside the engine's transaction: reads and the writes whose outcome the
 * handler uses (an appointment's insert, a conference's) through ccs_tx_query(), every other
 * write queued with ccs_tx_write() (no round trip of its own; a failure surfaces at the next
 * read or the commit, and the engine's careful run dead-letters the message that caused it).
 * Memory comes from the batch arena (ccs_tx_arena), so nothing here is freed by the caller.
 * Errors are CCS_SVC_* codes with err filled, as the handler returns them.
 */
#ifndef CCS_SCHED_STORE_H
#define CCS_SCHED_STORE_H

#include <libpq-fe.h>

#include "ccs/svc.h"
#include "engine.h"
#include "mtu_directory.h"
#include "policy.h"

#define CCS_SCHED_STORE_WUR __attribute__((warn_unused_result))

/* One MTU's state for the engine, and the facts the decisions cite. */
typedef struct ccs_sched_store_mtu {
	const char *mtu_id;
	const char *county;
	unsigned disciplines;
	ccs_sched_snapshot snap;
	const ccs_sched_iep_block *iep; /* the IEP blocks of iep_case (all validity windows) */
	size_t n_iep;
} ccs_sched_store_mtu;

/* Queue a write whose result nobody reads (ccs_tx_write); CCS_SVC_* when an earlier queued
 * statement had to be checked here and failed. */
int ccs_sched_store_exec(ccs_tx *tx, const char *sql, int n, const char *const *p, ccs_svc_err *err)
	CCS_SCHED_STORE_WUR;

/*
 * Load MTU `mtu_id` with the booked appointments of [from, to] that can matter: the MTU's own,
 * its therapists' anywhere, and those of the children in case_ids (a PostgreSQL uuid array
 * literal, or NULL) anywhere; rooms of other MTUs' appointments are dropped so that equal room
 * names do not collide; and the IEP blocks of iep_case (NULL: none). One statement. *found = 0
 * when the MTU is unknown. Memory from `a` (NULL: the batch arena).
 */
int ccs_sched_store_load_mtu(ccs_tx *tx, ccs_arena *a, const char *mtu_id, const char *case_ids,
			     const char *iep_case, ccs_date from, ccs_date to, ccs_sched_store_mtu *out,
			     int *found, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* The child's IEP blocks (all validity windows) into ch (child_id must already be set). */
int ccs_sched_store_load_iep(ccs_tx *tx, ccs_sched_child *ch, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* The same for n children in one statement; memory from `a`. */
int ccs_sched_store_load_ieps(ccs_tx *tx, ccs_arena *a, ccs_sched_child *const *ch, size_t n,
			      ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* A booked appointment to insert. */
typedef struct ccs_sched_store_appt {
	const char *appointment_id;
	const char *case_id;  /* NULL for a conference's second therapist */
	const char *mtu_id;
	const char *therapist_id;
	const char *room_id;  /* may be NULL */
	int discipline;
	const char *kind;     /* "evaluation", "therapy", "conference" */
	const char *prescription_id;
	const char *conference_id;
	ccs_date day;
	int start_min;
	int end_min;
} ccs_sched_store_appt;

/*
 * Insert an appointment. When an EXCLUDE constraint stands in the way (another transaction
 * booked the therapist, room or child meanwhile) nothing is inserted, *conflict is set and 0
 * returned; the transaction goes on. A duplicate key is poison ("data"), as before.
 */
int ccs_sched_store_insert_appt(ccs_tx *tx, const ccs_sched_store_appt *a, const char *event_id,
				int *conflict, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Savepoints around a booking attempt (name: an identifier of the caller's). */
typedef enum ccs_sched_store_sp { CCS_SCHED_SP_TAKE, CCS_SCHED_SP_RELEASE, CCS_SCHED_SP_ROLLBACK } ccs_sched_store_sp;
int ccs_sched_store_savepoint(ccs_tx *tx, const char *name, ccs_sched_store_sp op, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* ---- rows the handlers read and write (all SQL of the daemon lives in this file) */

/* A booked (or cancelled) appointment as stored. */
typedef struct ccs_sched_store_booked_appt {
	ccs_sched_store_appt a;
	int cancelled;
} ccs_sched_store_booked_appt;

/* The rest of a waitlist row (the engine compares ccs_sched_waitlist_entry). */
typedef struct ccs_sched_store_wl_row {
	const char *kind; /* "evaluation", "series", "session" */
	const char *prescription_id;
	const char *case_id;
	const char *county;
	const char *appointment_id;
	const char *mtu_id;
} ccs_sched_store_wl_row;

/* A child as scheduling knows it. */
typedef struct ccs_sched_store_child {
	const char *case_id;
	const char *county;        /* "" before any eligibility decision */
	const char *district;      /* or NULL */
	const char *mtu_id;        /* or NULL */
	const char *eligibility;   /* latest overall outcome name */
	const char *status;        /* ccs_sched_policy_status_name() */
	int at_risk;
	int appeal_continues;
	ccs_date age_out_on;
	ccs_date eligible_on;
	int lea_referred;
	unsigned eval_disciplines; /* stated (evaluation request, prescriptions); 0 = not stated */
	int school_noticed;        /* the "first scheduled in school hours" notice went out */
	int conference_months;     /* the plan's conference interval; 0 = the setting */
} ccs_sched_store_child;

/* A child scheduling does not know: no county, never decided. */
void ccs_sched_store_child_init(ccs_sched_store_child *c, const char *case_id);
int ccs_sched_store_child_get(ccs_tx *tx, const char *case_id, int for_update, ccs_sched_store_child *c,
			      int *found, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* The rows of the children of case_ids that exist, locked (FOR UPDATE), in one statement. */
int ccs_sched_store_children_lock(ccs_tx *tx, const char *const *case_ids, size_t n,
				  ccs_sched_store_child **out, size_t *nout,
				  ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Insert or update every field (eligible_on is kept once set). */
int ccs_sched_store_child_put(ccs_tx *tx, const ccs_sched_store_child *c, const char *decision_id,
			      ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* The same for n children (distinct) in one statement, each with the decision that wrote it. */
int ccs_sched_store_children_put(ccs_tx *tx, const ccs_sched_store_child *const *c,
				 const char *const *decision_ids, size_t n,
				 ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* An input's one `inputs` row. */
typedef struct ccs_sched_store_input {
	const char *event_id;
	const char *source; /* "eligibility", "request", "timer" */
	const char *kind;
	const char *case_id; /* or NULL */
	const char *outcome;
	const char *const *ids; /* the decision ids it produced */
	size_t n_ids;
} ccs_sched_store_input;
/* n inputs rows in one statement. */
int ccs_sched_store_inputs(ccs_tx *tx, const ccs_sched_store_input *in, size_t n,
			   ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_notice(ccs_tx *tx, const char *decision_id, const char *case_id, const char *kind,
			   int identified, ccs_date effective, const char *event_id,
			   ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* The release on file (any state); *found = 0 when none. */
int ccs_sched_store_release_get(ccs_tx *tx, const char *case_id, ccs_sched_release *rel, const char **district,
				const char **student_id, int *found, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_release_put(ccs_tx *tx, const char *case_id, const char *release_id, int on_file,
				ccs_date effective, ccs_date expiry, unsigned scopes, const char *district,
				const char *student_id, const char *event_id, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Waitlist. */
int ccs_sched_store_wl_insert(ccs_tx *tx, const char *entry_id, const ccs_sched_waitlist_entry *e,
			      const ccs_sched_store_wl_row *w, const char *reason, const char *event_id,
			      ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Waiting entries of an MTU (or, mtu_id NULL, of a county without one), discipline 0 = any,
 * only single sessions (not series) when singles_only, the first `max` (0: all) in the order of
 * the policy as of asof; memory from `a` (NULL: the batch arena). */
int ccs_sched_store_wl_load(ccs_tx *tx, ccs_arena *a, const char *mtu_id, const char *county, int discipline,
			    const ccs_sched_wl_policy *pol, ccs_date asof, int singles_only, size_t max,
			    ccs_sched_waitlist_entry **e, ccs_sched_store_wl_row **w, size_t *n,
			    ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* How many waiting entries of e's list (MTU or county, e's discipline) come before e in the
 * policy's order as of asof: its position is *ahead + 1. */
int ccs_sched_store_wl_ahead(ccs_tx *tx, const char *mtu_id, const char *county,
			     const ccs_sched_wl_policy *pol, ccs_date asof, const ccs_sched_waitlist_entry *e,
			     size_t *ahead, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_wl_resolve(ccs_tx *tx, const char *entry_id, const char *status, const char *event_id,
			       ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Remove the child's waiting entries of `kind` (NULL: all) and disciplines (0: all). */
int ccs_sched_store_wl_remove_case(ccs_tx *tx, const char *case_id, const char *kind, unsigned disciplines,
				   const char *event_id, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Appointments. */
int ccs_sched_store_appt_get(ccs_tx *tx, const char *appointment_id, ccs_sched_store_booked_appt *out,
			     int *found, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Booked appointments of a child (case_id) or an MTU (mtu_id), on days >= from, of `kind`
 * (NULL: evaluation and therapy) and disciplines (0: all), in time order. */
int ccs_sched_store_appts_booked(ccs_tx *tx, const char *case_id, const char *mtu_id, ccs_date from,
				 const char *kind, unsigned disciplines, ccs_sched_store_booked_appt **out,
				 size_t *n, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Cancel one appointment (and, conference_id set, every row of that conference). */
int ccs_sched_store_appt_cancel(ccs_tx *tx, const char *appointment_id, const char *conference_id,
				const char *reason, const char *event_id, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Disciplines (bits) with an evaluation booked (any day) or waiting. */
int ccs_sched_store_evaluations_open(ccs_tx *tx, const char *case_id, unsigned *disciplines,
				     ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Disciplines (bits) the child receives: therapy booked on days >= from, or a current plan
 * (a prescription booked and neither superseded nor ended). */
int ccs_sched_store_disciplines_received(ccs_tx *tx, const char *case_id, ccs_date from, unsigned *disciplines,
					 ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* The therapist who last evaluated (or, kind "any", last saw) the child in a discipline. */
int ccs_sched_store_child_therapist(ccs_tx *tx, const char *case_id, const char *mtu_id, int discipline,
				    int evaluation_only, const char **therapist_id,
				    ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Prescriptions. */
typedef struct ccs_sched_store_rx {
	const char *prescription_id;
	const char *case_id;
	const char *mtu_id;
	int discipline;
	int per_week;
	int weeks;
	int minutes;
	ccs_date start_on;
	int post_surgical;
	const char *status;
} ccs_sched_store_rx;
int ccs_sched_store_rx_get(ccs_tx *tx, const char *prescription_id, ccs_sched_store_rx *rx, int *found,
			   ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_rx_insert(ccs_tx *tx, const ccs_sched_store_rx *rx, const char *event_id,
			      ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_rx_set_status(ccs_tx *tx, const char *prescription_id, const char *status,
				  ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Other booked prescriptions of the disciplines (bits) become superseded. */
int ccs_sched_store_rx_supersede(ccs_tx *tx, const char *case_id, unsigned disciplines, const char *keep,
				 ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* The child's current plans (status booked), discipline order. */
int ccs_sched_store_rx_current(ccs_tx *tx, const char *case_id, ccs_sched_store_rx **out, size_t *n,
			       ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* IEP blocks: the new schedule applies from eff; earlier ones stop the day before. */
int ccs_sched_store_iep_replace(ccs_tx *tx, const char *case_id, const char *school_id,
				const ccs_sched_iep_block *b, const char *const *services, size_t n, ccs_date eff,
				ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* MTUs and calendars. */
int ccs_sched_store_mtu_county(ccs_tx *tx, const char *mtu_id, const char **county, int *found,
			       ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Replace an MTU's therapists, rooms and closures (calendar_source = 'request'). */
int ccs_sched_store_calendar_replace(ccs_tx *tx, const char *mtu_id, const ccs_sched_therapist *t, size_t nt,
				     const char *const *rooms, size_t nr, const ccs_sched_closure *cl,
				     const char *const *reasons, size_t nc, const char *event_id,
				     ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Conferences. */
int ccs_sched_store_conf_exists(ccs_tx *tx, const char *conference_id, int *exists,
				ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_conf_physician_busy(ccs_tx *tx, const char *physician_id, ccs_date from, ccs_date to,
					ccs_sched_interval **busy, size_t *n, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Insert; *conflict when the physician is busy then (23P01). */
int ccs_sched_store_conf_insert(ccs_tx *tx, const char *conference_id, const char *case_id, const char *mtu_id,
				const char *physician_id, ccs_date day, int start_min, int end_min,
				unsigned disciplines, int proposed, const char *event_id, int *conflict,
				ccs_svc_err *err) CCS_SCHED_STORE_WUR;
int ccs_sched_store_conf_delete(ccs_tx *tx, const char *conference_id, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* The child's next conference on or after `from` (day CCS_DATE_INVALID when none), and the
 * physician of the latest one (NULL when none). */
int ccs_sched_store_conf_next(ccs_tx *tx, const char *case_id, ccs_date from, ccs_date *day,
			      const char **last_physician, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* Set the conference interval of the child's plan. */
int ccs_sched_store_child_conference_months(ccs_tx *tx, const char *case_id, int months,
					    ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* IEP meetings: record the request and the staff assigned (ids, comma-separated, or NULL). */
int ccs_sched_store_iep_meeting(ccs_tx *tx, const char *meeting_id, const char *case_id, ccs_date day,
				const char *staff, const char *event_id, ccs_svc_err *err) CCS_SCHED_STORE_WUR;
/* MTP staff of an MTU free on `day` over [start, end) (start 0: working that day), ids. */
int ccs_sched_store_staff_free(ccs_tx *tx, const char *mtu_id, ccs_date day, int start_min, int end_min,
			       const char ***ids, size_t *n, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Upsert the directory's MTUs (hours, districts); therapists, rooms and closures only for MTUs
 * whose calendar still comes from the directory; an MTU whose calendar the file changed since
 * the last start is due for a calendar.recheck on `today` (sessions a new closure or changed
 * hours leave standing are moved by the timer, in the engine's transaction). One transaction on
 * the service connection. */
int ccs_sched_store_sync_directory(PGconn *c, const ccs_sched_mtu_dir *d, ccs_date today, char *errbuf,
				   size_t errlen) CCS_SCHED_STORE_WUR;

/* "{a,b,...}" of 14 integers: [start,end] for Monday..Sunday. */
void ccs_sched_store_hours_literal(const ccs_sched_hours h[7], char out[128]);

#endif
