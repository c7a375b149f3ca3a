/*
 * schedulingd's PostgreSQL side: load what the booking engine needs into its structs (an MTU
 * snapshot, a child's IEP blocks, the waitlist), write what it decided (appointments), and load
 * the MTU directory file into the database.
 *
 * Everything runs inside the engine's transaction through ccs_tx_query(); memory comes from the
 * batch arena (ccs_tx_arena), so nothing here is freed by the caller. Errors are CCS_SVC_*
 * codes with err filled, as the handler returns them.
 */
#ifndef CCS_SCHED_STORE_H
#define CCS_SCHED_STORE_H

#include <libpq-fe.h>

#include "ccs/svc.h"
#include "engine.h"
#include "mtu_directory.h"

#define CCS_SCHED_STORE_WUR __attribute__((warn_unused_result))

/* One MTU's state for the engine, and the facts the decisions cite. */
typedef struct ccs_sched_store_mtu {
	const char *mtu_id;
	const char *county;
	unsigned disciplines;
	ccs_sched_snapshot snap;
} ccs_sched_store_mtu;

/* Run a statement, discard the result; CCS_SVC_* on failure. */
int ccs_sched_store_exec(ccs_tx *tx, const char *sql, int n, const char *const *p, ccs_svc_err *err)
	CCS_SCHED_STORE_WUR;

/* The MTU serving a county (district preferred, then file order) that offers `discipline`;
 * *mtu_id = NULL when none. */
int ccs_sched_store_mtu_for(ccs_tx *tx, const char *county, const char *district, int discipline,
			    const char **mtu_id, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/*
 * Load MTU `mtu_id` with the booked appointments of [from, to] that can matter: the MTU's own,
 * its therapists' anywhere, and those of the children in case_ids (a PostgreSQL uuid array
 * literal, or NULL) anywhere; rooms of other MTUs' appointments are dropped so that equal room
 * names do not collide. *found = 0 when the MTU is unknown.
 */
int ccs_sched_store_load_mtu(ccs_tx *tx, const char *mtu_id, const char *case_ids, ccs_date from,
			     ccs_date to, ccs_sched_store_mtu *out, int *found,
			     ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* The child's IEP blocks (all validity windows) into ch (child_id must already be set). */
int ccs_sched_store_load_iep(ccs_tx *tx, ccs_sched_child *ch, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

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
 * Insert an appointment. When an EXCLUDE constraint refuses it (SQLSTATE 23P01: another
 * transaction booked the therapist, room or child meanwhile) *conflict is set and 0 returned:
 * the transaction is then aborted up to the caller's savepoint, which the caller rolls back to.
 */
int ccs_sched_store_insert_appt(ccs_tx *tx, const ccs_sched_store_appt *a, const char *event_id,
				int *conflict, ccs_svc_err *err) CCS_SCHED_STORE_WUR;

/* Upsert the directory's MTUs (hours, districts); therapists, rooms and closures only for MTUs
 * whose calendar still comes from the directory. One transaction on the service connection. */
int ccs_sched_store_sync_directory(PGconn *c, const ccs_sched_mtu_dir *d, char *errbuf, size_t errlen)
	CCS_SCHED_STORE_WUR;

/* "{a,b,...}" of 14 integers: [start,end] for Monday..Sunday. */
void ccs_sched_store_hours_literal(const ccs_sched_hours h[7], char out[128]);

#endif
