/*
 * Unit tests for ccs_hdrs: the exact wire layout, round trips of awkward headers (empty,
 * binary, long), and rejection of every kind of truncated blob.
 */
#include "ccs/hdrs.h"

#include <string.h>

#include "ccs_test.h"

#define MAXH 64

typedef struct seen {
	size_t n;
	size_t nlen[MAXH], vlen[MAXH];
	char name[MAXH][300];
	uint8_t val[MAXH][5000];
	int stop_at; /* return 7 at this index, or -1 */
} seen;

static int collect(void *ctx, const char *name, size_t nlen, const uint8_t *val, size_t vlen)
{
	seen *s = ctx;
	if (s->n < MAXH) {
		s->nlen[s->n] = nlen;
		s->vlen[s->n] = vlen;
		memcpy(s->name[s->n], name, nlen < 300 ? nlen : 300);
		memcpy(s->val[s->n], val, vlen < 5000 ? vlen : 5000);
	}
	if ((int)s->n++ == s->stop_at)
		return 7;
	return 0;
}

static void seen_init(seen *s)
{
	memset(s, 0, sizeof(*s));
	s->stop_at = -1;
}

CCS_TEST(wire_layout_is_big_endian)
{
	ccs_arena a;
	ccs_hdrs h;
	ccs_arena_init(&a, 4096);
	ccs_hdrs_init(&h, &a);
	ccs_hdrs_add_str(&h, "ce_id", "ab");
	static const uint8_t want[] = {0, 5, 'c', 'e', '_', 'i', 'd', 0, 0, 0, 2, 'a', 'b'};
	CCS_EQ_INT(h.len, sizeof(want));
	CCS_TRUE(memcmp(h.buf, want, sizeof(want)) == 0);
	ccs_arena_destroy(&a);
}

CCS_TEST(round_trip_awkward_headers)
{
	ccs_arena a;
	ccs_hdrs h;
	seen *s = calloc(1, sizeof(*s));
	uint8_t big[4000];
	static const uint8_t bin[] = {0, 0xff, '\n', 0, 0x80};

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31 + 7);
	ccs_arena_init(&a, 1024);
	ccs_hdrs_init(&h, &a);
	ccs_hdrs_add_str(&h, "ce_type", "ccs.mtp.v1.ReferralSubmitted");
	ccs_hdrs_add_str(&h, "empty", "");
	ccs_hdrs_add_str(&h, "null", NULL);        /* a NULL value is stored empty */
	ccs_hdrs_add(&h, "bin\0ary", 7, bin, sizeof(bin)); /* names are lengths, not C strings */
	ccs_hdrs_add(&h, "", 0, "v", 1);
	ccs_hdrs_add(&h, "big", 3, big, sizeof(big)); /* grows past the initial 512 bytes */
	ccs_hdrs_add_str(&h, "ce_type", "again"); /* repeated names survive, in order */
	seen_init(s);
	CCS_EQ_INT(ccs_hdrs_parse(h.buf, h.len, collect, s), 0);
	CCS_EQ_INT(s->n, 7);
	CCS_EQ_INT(s->nlen[0], 7);
	CCS_TRUE(memcmp(s->name[0], "ce_type", 7) == 0);
	CCS_EQ_INT(s->vlen[0], strlen("ccs.mtp.v1.ReferralSubmitted"));
	CCS_TRUE(memcmp(s->val[0], "ccs.mtp.v1.ReferralSubmitted", s->vlen[0]) == 0);
	CCS_EQ_INT(s->vlen[1], 0);
	CCS_EQ_INT(s->vlen[2], 0);
	CCS_EQ_INT(s->nlen[3], 7);
	CCS_TRUE(memcmp(s->name[3], "bin\0ary", 7) == 0);
	CCS_EQ_INT(s->vlen[3], sizeof(bin));
	CCS_TRUE(memcmp(s->val[3], bin, sizeof(bin)) == 0);
	CCS_EQ_INT(s->nlen[4], 0);
	CCS_EQ_INT(s->vlen[4], 1);
	CCS_EQ_INT(s->vlen[5], sizeof(big));
	CCS_TRUE(memcmp(s->val[5], big, sizeof(big)) == 0);
	CCS_TRUE(memcmp(s->val[6], "again", 5) == 0);
	free(s);
	ccs_arena_destroy(&a);
}

CCS_TEST(empty_blob_is_valid)
{
	seen s;
	seen_init(&s);
	CCS_EQ_INT(ccs_hdrs_parse((const uint8_t *)"", 0, collect, &s), 0);
	CCS_EQ_INT(s.n, 0);
}

CCS_TEST(callback_can_stop_the_walk)
{
	ccs_arena a;
	ccs_hdrs h;
	seen s;
	ccs_arena_init(&a, 4096);
	ccs_hdrs_init(&h, &a);
	for (int i = 0; i < 5; i++)
		ccs_hdrs_add_str(&h, "k", "v");
	seen_init(&s);
	s.stop_at = 2;
	CCS_EQ_INT(ccs_hdrs_parse(h.buf, h.len, collect, &s), 7);
	CCS_EQ_INT(s.n, 3);
	ccs_arena_destroy(&a);
}

/* Every strict prefix of a valid blob that does not end on a header boundary is malformed. */
CCS_TEST(truncated_blobs_rejected)
{
	ccs_arena a;
	ccs_hdrs h;
	seen s;
	ccs_arena_init(&a, 4096);
	ccs_hdrs_init(&h, &a);
	ccs_hdrs_add_str(&h, "ce_id", "0b7e3c7a-8f3e-4b8e-9c55-0d4cfe4d8f10");
	size_t first = h.len;
	ccs_hdrs_add_str(&h, "ccs_correlation_id", "x");
	for (size_t cut = 1; cut < h.len; cut++) {
		seen_init(&s);
		int rc = ccs_hdrs_parse(h.buf, cut, collect, &s);
		if (cut == first) {
			CCS_EQ_INT(rc, 0);
			CCS_EQ_INT(s.n, 1);
			continue;
		}
		if (rc != -1)
			fprintf(stderr, "  cut at %zu accepted\n", cut);
		CCS_EQ_INT(rc, -1);
		CCS_EQ_INT(s.n, cut < first ? 0 : 1); /* complete headers before the damage were seen */
	}
	ccs_arena_destroy(&a);
}

CCS_TEST(lengths_past_the_end_rejected)
{
	seen s;
	/* A single byte: not even a name length. */
	static const uint8_t one[] = {0};
	/* Name length 10, only 3 bytes of name. */
	static const uint8_t name_past[] = {0, 10, 'a', 'b', 'c'};
	/* Name fits, value length field cut short. */
	static const uint8_t vlen_short[] = {0, 1, 'a', 0, 0};
	/* Value length 0xffffffff (would overflow a 32-bit size check). */
	static const uint8_t vlen_huge[] = {0, 1, 'a', 0xff, 0xff, 0xff, 0xff, 'x'};
	/* Value length 4, 3 bytes present. */
	static const uint8_t val_past[] = {0, 1, 'a', 0, 0, 0, 4, 'x', 'y', 'z'};
	/* Name length 0xffff with almost nothing behind it. */
	static const uint8_t name_huge[] = {0xff, 0xff, 0, 0, 0, 0};
	static const struct {
		const uint8_t *b;
		size_t n;
	} cases[] = {
		{one, sizeof(one)},           {name_past, sizeof(name_past)}, {vlen_short, sizeof(vlen_short)},
		{vlen_huge, sizeof(vlen_huge)}, {val_past, sizeof(val_past)}, {name_huge, sizeof(name_huge)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		seen_init(&s);
		CCS_EQ_INT(ccs_hdrs_parse(cases[i].b, cases[i].n, collect, &s), -1);
		CCS_EQ_INT(s.n, 0);
	}
	/* A valid header followed by one stray byte. */
	static const uint8_t trailing[] = {0, 1, 'a', 0, 0, 0, 1, 'x', 0};
	seen_init(&s);
	CCS_EQ_INT(ccs_hdrs_parse(trailing, sizeof(trailing), collect, &s), -1);
	CCS_EQ_INT(s.n, 1);
}

CCS_TEST(overlong_name_is_clamped_not_corrupting)
{
	ccs_arena a;
	ccs_hdrs h;
	seen *s = calloc(1, sizeof(*s));
	size_t n = 70000;
	char *name = malloc(n);
	memset(name, 'n', n);
	ccs_arena_init(&a, 4096);
	ccs_hdrs_init(&h, &a);
	ccs_hdrs_add(&h, name, n, "v", 1);
	ccs_hdrs_add_str(&h, "after", "ok");
	seen_init(s);
	CCS_EQ_INT(ccs_hdrs_parse(h.buf, h.len, collect, s), 0);
	CCS_EQ_INT(s->n, 2);
	CCS_EQ_INT(s->nlen[0], 0xffff);
	CCS_TRUE(memcmp(s->name[1], "after", 5) == 0);
	free(name);
	free(s);
	ccs_arena_destroy(&a);
}

CCS_TEST_MAIN()
