/* Unit tests for ccs/pbutf8.h: the UTF-8 validator and the descriptor walk. */
#include "ccs/mtp/v1/referral.pb-c.h"
#include "ccs/pbutf8.h"
#include "ccs_test.h"

CCS_TEST(utf8_sequences)
{
	static const struct {
		const char *s;
		int ok;
	} rows[] = {
		{"", 1},
		{"plain ascii", 1},
		{"Jos\xc3\xa9", 1},                  /* é */
		{"\xe6\x97\xa5\xe6\x9c\xac", 1},     /* 日本 */
		{"\xf0\x9f\x98\x80", 1},             /* U+1F600 */
		{"\xff", 0},                         /* never valid */
		{"\xc3", 0},                         /* truncated */
		{"\xc0\xaf", 0},                     /* overlong '/' */
		{"\xe0\x80\xaf", 0},                 /* overlong, 3 bytes */
		{"\xed\xa0\x80", 0},                 /* surrogate U+D800 */
		{"\xf4\x90\x80\x80", 0},             /* > U+10FFFF */
		{"ok\x80", 0},                       /* stray continuation */
		{"\xe2\x82", 0},                     /* truncated 3-byte */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (ccs_utf8_valid(rows[i].s, strlen(rows[i].s)) != rows[i].ok)
			CCS_FAIL_("row %zu: expected %d", i, rows[i].ok);
	}
}

CCS_TEST(walk_names_the_field)
{
	Ccs__Mtp__V1__ReferralSubmitted r;
	Ccs__Mtp__V1__Child c;
	Ccs__Mtp__V1__Guardian g;
	Ccs__Mtp__V1__Diagnosis d0, d1, *ds[2] = {&d0, &d1};
	char field[128];

	ccs__mtp__v1__referral_submitted__init(&r);
	ccs__mtp__v1__child__init(&c);
	ccs__mtp__v1__guardian__init(&g);
	ccs__mtp__v1__diagnosis__init(&d0);
	ccs__mtp__v1__diagnosis__init(&d1);
	r.child = &c;
	c.guardian = &g;
	r.n_diagnoses = 2;
	r.diagnoses = ds;
	c.first_name = "Jos\xc3\xa9";
	d0.icd10_code = "G80.1";
	d1.icd10_code = "G80.2";
	CCS_EQ_INT(ccs_pb_check_utf8(&r.base, field, sizeof(field)), 0);
	CCS_EQ_STR(field, "");

	g.name = "bad\xff";
	CCS_EQ_INT(ccs_pb_check_utf8(&r.base, field, sizeof(field)), -1);
	CCS_EQ_STR(field, "child.guardian.name");
	g.name = "ok";

	d1.description = "\xc0\xaf";
	CCS_EQ_INT(ccs_pb_check_utf8(&r.base, field, sizeof(field)), -1);
	CCS_EQ_STR(field, "diagnoses[1].description");
	d1.description = "";

	r.notes = "\xed\xa0\x80";
	CCS_EQ_INT(ccs_pb_check_utf8(&r.base, field, sizeof(field)), -1);
	CCS_EQ_STR(field, "notes");
}

CCS_TEST(walk_follows_the_set_oneof_only)
{
	Ccs__Mtp__V1__ReferralDecision d;
	Ccs__Mtp__V1__ReferralLinked l;
	char field[128];

	ccs__mtp__v1__referral_decision__init(&d);
	ccs__mtp__v1__referral_linked__init(&l);
	l.existing_case_id = "\xff";
	d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_LINKED;
	d.linked = &l;
	CCS_EQ_INT(ccs_pb_check_utf8(&d.base, field, sizeof(field)), -1);
	CCS_EQ_STR(field, "linked.existing_case_id");
	l.existing_case_id = "fine";
	CCS_EQ_INT(ccs_pb_check_utf8(&d.base, field, sizeof(field)), 0);
}

CCS_TEST_MAIN()
