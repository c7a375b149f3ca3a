/* Unit tests for ccs_base: dates, uuids, arena. */
#include "ccs/date.h"
#include "ccs/mem.h"
#include "ccs/uuid.h"
#include "ccs_test.h"

CCS_TEST(date_roundtrip)
{
	char buf[11];
	ccs_date d = ccs_date_parse("2024-02-29");
	CCS_TRUE(d != CCS_DATE_INVALID);
	ccs_date_format(d, buf);
	CCS_EQ_STR(buf, "2024-02-29");
	CCS_EQ_INT(ccs_date_parse("1970-01-01"), 0);
	CCS_EQ_INT(ccs_date_parse("2023-02-29"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_date_parse("2023-1-01"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_date_parse("2023-01-01x"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_date_weekday(ccs_date_parse("2026-11-23")), 0); /* a Monday */
}

CCS_TEST(date_ages)
{
	ccs_date dob = ccs_date_parse("2005-06-15");
	CCS_EQ_INT(ccs_date_age_years(dob, ccs_date_parse("2026-06-14")), 20);
	CCS_EQ_INT(ccs_date_age_years(dob, ccs_date_parse("2026-06-15")), 21);
	CCS_EQ_INT(ccs_date_age_months(dob, ccs_date_parse("2005-07-14")), 0);
	CCS_EQ_INT(ccs_date_age_months(dob, ccs_date_parse("2005-07-15")), 1);
	ccs_date leap = ccs_date_parse("2024-02-29");
	CCS_EQ_INT(ccs_date_add_years(leap, 1), ccs_date_parse("2025-03-01"));
	CCS_EQ_INT(ccs_date_add_years(leap, 4), ccs_date_parse("2028-02-29"));
	CCS_EQ_INT(ccs_date_age_years(leap, ccs_date_parse("2025-02-28")), 0);
	CCS_EQ_INT(ccs_date_age_years(leap, ccs_date_parse("2025-03-01")), 1);
	CCS_EQ_INT(ccs_date_add_months(ccs_date_parse("2024-12-15"), 2), ccs_date_parse("2025-02-15"));
}

CCS_TEST(sha1_vectors)
{
	uint8_t d[20];
	ccs_sha1("abc", 3, d);
	CCS_EQ_INT(d[0], 0xa9);
	CCS_EQ_INT(d[19], 0x9d);
	/* 56-byte message straddles the padding boundary. */
	ccs_sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, d);
	CCS_EQ_INT(d[0], 0x84);
	CCS_EQ_INT(d[19], 0xf1);
}

CCS_TEST(uuid_v5_deterministic)
{
	char a[CCS_UUID_STRLEN], b[CCS_UUID_STRLEN], c[CCS_UUID_STRLEN];
	ccs_uuid u;
	ccs_uuid_decision_id(a, "3b0c5f1e-0000-4000-8000-000000000001", "referral.accepted");
	ccs_uuid_decision_id(b, "3b0c5f1e-0000-4000-8000-000000000001", "referral.accepted");
	ccs_uuid_decision_id(c, "3b0c5f1e-0000-4000-8000-000000000001", "referral.rejected");
	CCS_EQ_STR(a, b);
	CCS_TRUE(strcmp(a, c) != 0);
	CCS_EQ_INT(a[14], '5');
	CCS_EQ_INT(ccs_uuid_parse(a, &u), 0);
	ccs_uuid_format(&u, c);
	CCS_EQ_STR(a, c);
	CCS_EQ_INT(ccs_uuid_parse("not-a-uuid", &u), -1);
}

CCS_TEST(arena_reuse)
{
	ccs_arena a;
	ccs_arena_init(&a, 128);
	char *s = ccs_arena_printf(&a, "%s-%d", "x", 42);
	CCS_EQ_STR(s, "x-42");
	for (int i = 0; i < 100; i++)
		(void)ccs_arena_alloc(&a, 100);
	ccs_arena_reset(&a);
	s = ccs_arena_strdup(&a, "after reset");
	CCS_EQ_STR(s, "after reset");
	ccs_arena_destroy(&a);
}

CCS_TEST_MAIN()
