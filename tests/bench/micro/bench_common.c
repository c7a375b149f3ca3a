/*
 * Micro-benchmarks of the engine's per-decision helpers: the deterministic decision id
 * (UUIDv5 = SHA-1 of "<event id>/<kind>", formatted) and the outbox header blob (the eight
 * headers ccs_tx_emit() writes, then the relay's parse of them back into Kafka headers).
 */
#include <string.h>

#include "bench.h"
#include "ccs/hdrs.h"
#include "ccs/mem.h"
#include "ccs/uuid.h"

#define INPUT_ID "d1836279-18bc-4101-9cbd-08423b57115b"

static void b_decision_id(void *p, uint64_t iters)
{
	char out[CCS_UUID_STRLEN];

	(void)p;
	for (uint64_t i = 0; i < iters; i++) {
		ccs_uuid_decision_id(out, INPUT_ID, "referral.accepted");
		ccs_bench_sink += (uint64_t)(unsigned char)out[i % 36];
	}
}

/* The headers of one decision, as ccs_tx_emit() adds them. */
static void add_decision_headers(ccs_hdrs *h)
{
	ccs_hdrs_add_str(h, "ce_id", "5b0d8f3e-2a41-5c6e-9f10-3c2d1e0f4a5b");
	ccs_hdrs_add_str(h, "ce_source", "ccs-referrald");
	ccs_hdrs_add_str(h, "ce_type", "ccs.mtp.v1.ReferralDecision");
	ccs_hdrs_add_str(h, "ce_specversion", "1.0");
	ccs_hdrs_add_str(h, "ce_time", "2026-11-02T16:00:00.000Z");
	ccs_hdrs_add_str(h, "content-type", "application/protobuf");
	ccs_hdrs_add_str(h, "ccs_correlation_id", INPUT_ID);
	ccs_hdrs_add_str(h, "ccs_causation_id", INPUT_ID);
}

static int count_cb(void *ctx, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	size_t *n = ctx;

	*n += 1 + (nlen ^ vlen) + (size_t)name[0] + val[0];
	return 0;
}

static void b_hdrs(void *p, uint64_t iters)
{
	ccs_arena *a = p;

	for (uint64_t i = 0; i < iters; i++) {
		ccs_hdrs h;
		size_t n = 0;

		if (i % 500 == 0)
			ccs_arena_reset(a);
		ccs_hdrs_init(&h, a);
		add_decision_headers(&h);
		if (ccs_hdrs_parse(h.buf, h.len, count_cb, &n) != 0)
			ccs_bench_fail("header blob does not parse");
		ccs_bench_sink += n;
	}
}

static int count_only(void *ctx, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	(void)name;
	(void)nlen;
	(void)val;
	(void)vlen;
	++*(size_t *)ctx;
	return 0;
}

int main(void)
{
	char a[CCS_UUID_STRLEN], b[CCS_UUID_STRLEN];
	ccs_arena arena;
	ccs_hdrs h;
	size_t n = 0;

	ccs_bench_begin("bench_common");
	/* Preconditions: ids are deterministic, differ by kind; the blob round-trips 8 headers. */
	ccs_uuid_decision_id(a, INPUT_ID, "referral.accepted");
	ccs_uuid_decision_id(b, INPUT_ID, "referral.accepted");
	if (strcmp(a, b) != 0)
		ccs_bench_fail("decision id is not deterministic");
	ccs_uuid_decision_id(b, INPUT_ID, "referral.rejected");
	if (strcmp(a, b) == 0)
		ccs_bench_fail("decision id ignores the kind");
	ccs_arena_init(&arena, 64 * 1024);
	ccs_hdrs_init(&h, &arena);
	add_decision_headers(&h);
	if (ccs_hdrs_parse(h.buf, h.len, count_only, &n) != 0 || n != 8)
		ccs_bench_fail("header blob does not hold the 8 headers");

	ccs_bench_run("uuid.decision_id", b_decision_id, NULL);
	ccs_bench_run("hdrs.add8+parse", b_hdrs, &arena);
	ccs_arena_destroy(&arena);
	return 0;
}
