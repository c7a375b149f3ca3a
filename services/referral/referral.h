/*
 * referrald's handler: turns one ReferralSubmitted into exactly one ReferralDecision inside the
 * engine's transaction (see ccs/svc.h). Validation, matching keys, routing and the application
 * clock are pure functions in referral_rules.h; this module adds the database and the decision.
 */
#ifndef CCS_REFERRAL_H
#define CCS_REFERRAL_H

#include "ccs/svc.h"

#define CCS_REFERRAL_TOPIC_IN "ccs.referral.submitted.v1"
#define CCS_REFERRAL_TOPIC_OUT "ccs.referral.decided.v1"

int ccs_referral_handle(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
			ccs_svc_err *err);

#endif
