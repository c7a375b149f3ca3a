/*
 * Micro-benchmarks of referrald's pure hot path, per input: protobuf unpack of a typical
 * ReferralSubmitted into a per-batch arena (as referral.c does: no frees, one reset per batch),
 * ccs_ref_validate(), and the linking keys (county route, CIN, name/DOB/county key).
 *
 * The referral is built here with the generated structs and packed once, so the bytes are what
 * ccsctl submit would produce for the JSON that tests/lib/ccs_samples.py generates.
 */
#include <stdio.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "bench.h"
#include "ccs/mem.h"
#include "ccs/mtp/v1/referral.pb-c.h"
#include "referral_rules.h"

/* Messages per arena reset, like a consumer batch (batch.max defaults to 500). */
#define BATCH 500

struct ctx {
	uint8_t buf[2048];
	size_t len;
	ccs_arena arena;
	ProtobufCAllocator alloc;
	ccs_date today;
	Ccs__Mtp__V1__ReferralSubmitted *decoded;
};

static void *arena_alloc(void *data, size_t size)
{
	return ccs_arena_alloc(data, size);
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p; /* released with the arena */
}

/* A typical referral: one diagnosis, one service line, a guardian, Medi-Cal CIN. */
static void build(struct ctx *c)
{
	static Ccs__Mtp__V1__Guardian g = CCS__MTP__V1__GUARDIAN__INIT;
	static Ccs__Mtp__V1__Child ch = CCS__MTP__V1__CHILD__INIT;
	static Ccs__Mtp__V1__Diagnosis dx = CCS__MTP__V1__DIAGNOSIS__INIT;
	static Ccs__Mtp__V1__Diagnosis *dxs[1] = {&dx};
	static Ccs__Mtp__V1__ServiceLine lines[1] = {CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_THERAPY};
	Ccs__Mtp__V1__ReferralSubmitted r = CCS__MTP__V1__REFERRAL_SUBMITTED__INIT;

	g.name = "Guardian Example";
	g.relationship = "mother";
	g.phone = "(559) 555-0100";
	ch.first_name = "Sofiacbd";
	ch.last_name = "Hernandez";
	ch.birth_date = "2019-04-17";
	ch.sex = CCS__MTP__V1__SEX__SEX_FEMALE;
	ch.county_of_residence = "Fresno";
	ch.preferred_language = "es";
	ch.city = "Springfield";
	ch.zip = "93701";
	ch.school_district = "Example Unified";
	ch.medi_cal_cin = "91234567A";
	ch.guardian = &g;
	dx.icd10_code = "G80.1";
	dx.description = "as referred";
	r.referral_id = "0f8e7d6c-5b4a-4932-8171-605f4e3d2c1b";
	r.submitted_at = "2026-11-02T16:00:00Z";
	r.referral_date = "2026-11-02";
	r.source = CCS__MTP__V1__REFERRAL_SOURCE__REFERRAL_SOURCE_PHYSICIAN;
	r.referrer_organization = "Example Clinic";
	r.child = &ch;
	r.coverage = CCS__MTP__V1__COVERAGE__COVERAGE_MEDI_CAL_FULL_SCOPE;
	r.n_diagnoses = 1;
	r.diagnoses = dxs;
	r.requested_program = CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_MTP;
	r.n_requested_services = 1;
	r.requested_services = lines;
	if (ccs__mtp__v1__referral_submitted__get_packed_size(&r) > sizeof(c->buf))
		ccs_bench_fail("sample referral larger than the buffer");
	c->len = ccs__mtp__v1__referral_submitted__pack(&r, c->buf);
	c->today = ccs_ref_instant_date(r.submitted_at);
}

static Ccs__Mtp__V1__ReferralSubmitted *unpack(struct ctx *c)
{
	return ccs__mtp__v1__referral_submitted__unpack(&c->alloc, c->len, c->buf);
}

static void b_unpack(void *p, uint64_t iters)
{
	struct ctx *c = p;

	for (uint64_t i = 0; i < iters; i++) {
		if (i % BATCH == 0)
			ccs_arena_reset(&c->arena);
		ccs_bench_sink += (uintptr_t)unpack(c);
	}
}

static void b_validate(void *p, uint64_t iters)
{
	struct ctx *c = p;
	ccs_ref_reasons rs;

	for (uint64_t i = 0; i < iters; i++)
		ccs_bench_sink += (uint64_t)ccs_ref_validate(c->decoded, c->today, &rs);
}

static void b_unpack_validate(void *p, uint64_t iters)
{
	struct ctx *c = p;
	ccs_ref_reasons rs;

	for (uint64_t i = 0; i < iters; i++) {
		if (i % BATCH == 0)
			ccs_arena_reset(&c->arena);
		ccs_bench_sink += (uint64_t)ccs_ref_validate(unpack(c), c->today, &rs);
	}
}

/* The keys referral.c derives for a valid referral before it touches the database. */
static void b_keys(void *p, uint64_t iters)
{
	struct ctx *c = p;
	const Ccs__Mtp__V1__Child *ch = c->decoded->child;
	ccs_ref_route_result route;
	char cin[CCS_REF_CIN_LEN + 1], key[CCS_REF_MATCH_KEY_MAX], code[CCS_REF_ICD10_MAX];

	for (uint64_t i = 0; i < iters; i++) {
		int rc = ccs_ref_route(ch->county_of_residence, &route);

		rc |= ccs_ref_normalise_cin(ch->medi_cal_cin, cin);
		rc |= ccs_ref_match_key_name(ch->last_name, ch->first_name, ch->birth_date,
					     ch->county_of_residence, key, sizeof(key));
		rc |= ccs_ref_normalise_icd10(c->decoded->diagnoses[0]->icd10_code, code);
		ccs_bench_sink += (uint64_t)rc + (uint64_t)key[0] + (uint64_t)route.office;
	}
}

int main(void)
{
	static struct ctx c;
	ccs_ref_reasons rs;
	ccs_ref_route_result route;
	char key[CCS_REF_MATCH_KEY_MAX];

	ccs_bench_begin("bench_referral_path");
	ccs_arena_init(&c.arena, 64 * 1024);
	c.alloc.alloc = arena_alloc;
	c.alloc.free = arena_free;
	c.alloc.allocator_data = &c.arena;
	build(&c);

	/* Preconditions: the sample decodes, is valid and has keys (else the figures mean nothing). */
	c.decoded = unpack(&c);
	if (!c.decoded)
		ccs_bench_fail("sample referral does not decode");
	if (ccs_ref_validate(c.decoded, c.today, &rs) != 0)
		ccs_bench_fail(rs.n ? rs.v[0].code : "sample referral is not valid");
	if (ccs_ref_route(c.decoded->child->county_of_residence, &route) != 0 ||
	    ccs_ref_match_key_name(c.decoded->child->last_name, c.decoded->child->first_name,
				   c.decoded->child->birth_date, c.decoded->child->county_of_residence, key,
				   sizeof(key)) != 0)
		ccs_bench_fail("sample referral has no route or match key");
	printf("# typical ReferralSubmitted: %zu bytes encoded\n", c.len);

	/* b_validate and b_keys read c.decoded, which lives in a separate arena-free copy. */
	static ccs_arena keep;
	ccs_arena_init(&keep, 64 * 1024);
	ProtobufCAllocator keep_alloc = {arena_alloc, arena_free, &keep};
	c.decoded = ccs__mtp__v1__referral_submitted__unpack(&keep_alloc, c.len, c.buf);
	if (!c.decoded)
		ccs_bench_fail("sample referral does not decode");

	ccs_bench_run("referral.unpack", b_unpack, &c);
	ccs_bench_run("referral.validate", b_validate, &c);
	ccs_bench_run("referral.unpack+validate", b_unpack_validate, &c);
	ccs_bench_run("referral.keys(route,cin,match,icd10)", b_keys, &c);
	ccs_arena_destroy(&c.arena);
	ccs_arena_destroy(&keep);
	return 0;
}
