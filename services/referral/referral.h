/*
 * referrald's handler: turns one ReferralSubmitted into exactly one ReferralDecision inside the
 * engine's transaction (see ccs/svc.h). Validation, matching keys, routing and the application
 * clock are pure functions in referral_rules.h; this module adds the database and the decision.
 */
#ifndef CCS_REFERRAL_H
#define CCS_REFERRAL_H

#include "ccs/county.h"
#include "ccs/svc.h"

#define CCS_REFERRAL_TOPIC_IN "ccs.referral.submitted.v1"
#define CCS_REFERRAL_TOPIC_OUT "ccs.referral.decided.v1"

/* The daemon's state: the county table it loaded at start. */
typedef struct ccs_referral {
	ccs_county_table *counties;
} ccs_referral;

/* Settings: data.counties, application.send_days, application.return_days. */
extern const ccs_cfg_def ccs_referral_cfg[];


/* Load the county table and install the rule set; a bad file refuses start, naming the line. */
int ccs_referral_start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen);
void ccs_referral_stop(ccs_svc *svc, void *ctx);

int ccs_referral_handle(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
			ccs_svc_err *err);

#endif
