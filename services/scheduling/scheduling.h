/*
 * schedulingd's handler: turns eligibility decisions and scheduling requests into bookings,
 * waitlist entries and IEP coordination notices inside the engine's transaction (ccs/svc.h).
 *
 * Where and when is decided by the pure booking engine (engine.h) over a snapshot loaded from
 * PostgreSQL in the same transaction; the database's EXCLUDE constraints are the last word on
 * double booking (see migrations/0001_scheduling.sql). The MTU directory file is loaded into
 * the database at start (ccs_scheduling_start); MtuCalendar requests replace an MTU's capacity.
 *
 * Every input has exactly one row in `inputs` (its outcome and the decision ids it produced);
 * decision ids are UUIDv5(input event id, kind) with the kinds listed in scheduling.c. The parts
 * of the daemon and what each holds are listed in sched_internal.h.
 */
#ifndef CCS_SCHEDULING_H
#define CCS_SCHEDULING_H

#include "ccs/cfg.h"
#include "ccs/svc.h"

#define CCS_SCHEDULING_TOPIC_ELIGIBILITY "ccs.eligibility.decided.v1"
#define CCS_SCHEDULING_TOPIC_REQUESTS "ccs.scheduling.requests.v1"
#define CCS_SCHEDULING_TOPIC_OUT "ccs.scheduling.decided.v1"

/* The daemon's settings (rules as data): mtu.directory, service.target_days, ... */
extern const ccs_cfg_def ccs_scheduling_cfg[];

/* Opaque per-process state: the rules built from the settings. */
typedef struct ccs_scheduling ccs_scheduling;

ccs_scheduling *ccs_scheduling_new(void);
void ccs_scheduling_free(ccs_scheduling *s);

/* Build the rules from the settings and load the MTU directory file into the database. */
int ccs_scheduling_start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));
/* The input table's handlers: eligibility decisions and scheduling requests. */
int ccs_scheduling_on_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				  ccs_svc_err *err);
int ccs_scheduling_on_request(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
			      ccs_svc_err *err);
/* The first phase of a batch of eligibility decisions (ccs_svc_prepare_fn): its children and
 * their IEP blocks in two statements; the handlers then share them and each MTU's snapshot. */
int ccs_scheduling_prepare_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b,
				       void **state, ccs_svc_err *err);
/* Its last phase (ccs_svc_finish_fn): the children and inputs rows the batch wrote, multi-row. */
int ccs_scheduling_finish_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err);
/* Time-driven work: the conference-due timer. */
int ccs_scheduling_due(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_due *d, ccs_svc_err *err);

#endif
