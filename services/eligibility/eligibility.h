/*
 * eligibilityd's handlers: referral decisions and evidence in, eligibility decisions out,
 * inside the engine's transaction (ccs/svc.h); time-driven re-evaluations from due_work; and
 * the what-if command. The rules are the pure engine in rules.h; the facts come from the
 * fold in eligibility_fold.h; this module adds the database, the decision message and timers.
 */
#ifndef CCS_ELIGIBILITY_H
#define CCS_ELIGIBILITY_H

#include <stdio.h>

#include "ccs/svc.h"
#include "rules.h"

#define CCS_ELIGIBILITY_TOPIC_REFERRALS "ccs.referral.decided.v1"
#define CCS_ELIGIBILITY_TOPIC_EVIDENCE "ccs.eligibility.evidence.v1"
#define CCS_ELIGIBILITY_TOPIC_OUT "ccs.eligibility.decided.v1"

struct ccs_elig_texts;

/* Daemon state: the rule sets loaded (rules.dir, else the built-in shipped copy), the one in
 * force (rules.version), and the reason texts for notices; all checked at start. */
typedef struct ccs_eligibility {
	const ccs_elig_ruleset *rs;
	const ccs_elig_rules *rules;
	ccs_elig_rules *rules_owned; /* when loaded from rules.dir */
	const struct ccs_elig_texts *texts;
} ccs_eligibility;

/* The daemon's settings (rules.version). */
extern const ccs_cfg_def ccs_eligibility_cfg[];

int ccs_eligibility_start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen);
/* Program gauges (the worklists), refreshed by the engine between batches. */
int ccs_eligibility_gauges(ccs_svc *svc, void *ctx, PGconn *pg);

/* The input table's handlers: referral decisions and evidence. */
int ccs_eligibility_on_referral(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				ccs_svc_err *err);
int ccs_eligibility_on_evidence(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				ccs_svc_err *err);
/* Evidence batches in two phases: prepare takes the locks, stores the events and reads every
 * case at once (the handler works on what it kept; in careful runs it reads for itself);
 * finish writes the batch's decisions and deadlines, one multi-row insert each. */
int ccs_eligibility_prepare_evidence(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b, void **state,
				     ccs_svc_err *err);
int ccs_eligibility_finish_evidence(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err);
/* Referral decisions in two phases, the same way: prepare takes the locks, opens the batch's
 * accepted cases and reads every case of the batch with its links and evidence at once; finish
 * writes the referral records, decisions and deadlines, one multi-row insert each. */
int ccs_eligibility_prepare_referral(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b, void **state,
				     ccs_svc_err *err);
int ccs_eligibility_finish_referral(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err);
int ccs_eligibility_due(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_due *d, ccs_svc_err *err);
/* `what-if --rule-set VERSION [--json]`: exit code, or -1 when argv[0] is not ours. */
int ccs_eligibility_command(ccs_svc *svc, void *ctx, int argc, char **argv);

#endif
