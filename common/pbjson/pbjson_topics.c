/*
 * The topic -> message type table of the pipeline (docs/contracts.md: every topic's value is
 * one protobuf message). Kept apart from pbjson.c because it is the only part that needs the
 * generated contracts; the codec itself works on any descriptor.
 */
#include "ccs/pbjson.h"

#include <string.h>

#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "ccs/mtp/v1/referral.pb-c.h"
#include "ccs/mtp/v1/scheduling.pb-c.h"

static const struct {
	const char *topic;
	const ProtobufCMessageDescriptor *desc;
} topics[] = {
	{"ccs.referral.submitted.v1", &ccs__mtp__v1__referral_submitted__descriptor},
	{"ccs.referral.decided.v1", &ccs__mtp__v1__referral_decision__descriptor},
	{"ccs.eligibility.evidence.v1", &ccs__mtp__v1__eligibility_evidence__descriptor},
	{"ccs.eligibility.decided.v1", &ccs__mtp__v1__eligibility_decision__descriptor},
	{"ccs.scheduling.requests.v1", &ccs__mtp__v1__scheduling_request__descriptor},
	{"ccs.scheduling.decided.v1", &ccs__mtp__v1__scheduling_decision__descriptor},
};

#define DLQ_SUFFIX ".dlq"

/* ".office.<name>" or ".county.<name>": a daemon's copy of its topic for one office or county. */
static int is_stream(const char *rest, size_t len)
{
	static const char *const kinds[] = {".office.", ".county."};
	for (size_t k = 0; k < 2; k++) {
		size_t kl = strlen(kinds[k]);
		if (len > kl && strncmp(rest, kinds[k], kl) == 0 && !memchr(rest + kl, '.', len - kl))
			return 1;
	}
	return 0;
}

const ProtobufCMessageDescriptor *ccs_pbjson_topic_descriptor(const char *topic)
{
	size_t n = strlen(topic), sl = strlen(DLQ_SUFFIX), i;

	/* A dead-letter topic carries the failed message unchanged: same type as its base. */
	if (n > sl && strcmp(topic + n - sl, DLQ_SUFFIX) == 0)
		n -= sl;
	/*
	 * Deployments may prefix every topic name (the daemons' topics.prefix, for shared clusters
	 * and test runs), and a daemon's own streams append to it (an office's copy of the
	 * decisions, "<topic>.office.<office>"): a name matches a known topic found in it that is
	 * followed by its end or by such a stream's suffix.
	 */
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
		size_t tl = strlen(topics[i].topic);
		for (size_t at = 0; at + tl <= n; at++) {
			if (strncmp(topics[i].topic, topic + at, tl) != 0)
				continue;
			if (at + tl == n || is_stream(topic + at + tl, n - at - tl))
				return topics[i].desc;
		}
	}
	return NULL;
}

const char *ccs_pbjson_topic_name(size_t i)
{
	return i < sizeof(topics) / sizeof(topics[0]) ? topics[i].topic : NULL;
}
