/*
 * Unit tests for the rule-set data files (services/eligibility/ruleset.c) and the reason-text
 * catalog (reason_texts.c): the shipped directory loads and equals the built-in copy, every
 * reason has English and Spanish text, and each kind of bad file is refused with its line.
 */
#include "reason_texts.h"
#include "rules.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ccs_test.h"

CCS_TEST(shipped_directory_loads)
{
	ccs_elig_rules *reg = NULL;
	char eb[256] = "";
	int rc = ccs_elig_rules_load_dir(CCS_ELIG_DATA_DIR "/rulesets", &reg, eb, sizeof(eb));
	if (rc)
		fprintf(stderr, "  %s\n", eb);
	CCS_EQ_INT(rc, 0);
	const ccs_elig_ruleset *d = ccs_elig_rules_default(reg);
	CCS_TRUE(d != NULL);
	CCS_EQ_STR(d->version, "2026.2");
	CCS_EQ_STR(ccs_elig_ruleset_default()->version, "2026.2");
	CCS_EQ_INT((int)ccs_elig_rules_count(reg), (int)ccs_elig_ruleset_count());
	/* the AGI reading: "$40,000 or less" by default, the other reading a rule set */
	CCS_TRUE(d->agi_threshold_inclusive);
	CCS_TRUE(!ccs_elig_rules_find(reg, "2026.2-agi-under")->agi_threshold_inclusive);
	CCS_TRUE(ccs_elig_rules_find(reg, "2026.2-at-risk-36")->at_risk_age_inclusive);
	/* an extension shares the base's codes */
	CCS_EQ_INT((int)ccs_elig_rules_find(reg, "2026.2-agi-under")->ncodes, (int)d->ncodes);
	CCS_EQ_INT(d->physician_review_target_days, 30);
	CCS_EQ_INT(d->application_closure_days, 30);
	CCS_EQ_INT(d->application_return_days, 20);
	ccs_elig_rules_free(reg);
}

CCS_TEST(shipped_texts_cover_every_reason)
{
	ccs_elig_texts *t = NULL;
	char eb[256] = "";
	const char *en, *es;
	CCS_EQ_INT(ccs_elig_texts_load(CCS_ELIG_DATA_DIR "/reason_texts.tsv", &t, eb, sizeof(eb)), 0);
	CCS_EQ_INT(ccs_elig_texts_check(t, eb, sizeof(eb)), 0);
	CCS_TRUE(ccs_elig_texts_get(t, "NOT_ELIGIBLE_FINANCIAL", &en, &es));
	CCS_TRUE(strstr(en, "income") != NULL && strstr(es, "ingresos") != NULL);
	CCS_TRUE(!ccs_elig_texts_get(t, "NOPE", &en, &es) && !*en && !*es);
	ccs_elig_texts_free(t);
	CCS_TRUE(ccs_elig_texts_builtin_get() != NULL);
}

#define HDR "ccs-eligibility-rules\t1\n"

static const struct {
	const char *name;
	const char *text;
	const char *want; /* substring of the message; NULL: loads */
} rule_cases[] = {
	{"minimal extension", HDR "version\tx\nextends\t2026.2\nset\tagi_threshold_inclusive\tno\n", NULL},
	{"no header", "version\tx\n", "fuzz:1: first record"},
	{"empty", "", "fuzz:1: empty file"},
	{"unknown record", HDR "version\tx\nfrobnicate\t1\n", "fuzz:3: unknown record"},
	{"version late", HDR "set\tnoa_days\t7\n", "fuzz:2: the version record comes first"},
	{"bad setting value", HDR "version\tx\nextends\t2026.2\nset\tnoa_days\tseven\n", "fuzz:4: setting noa_days"},
	{"unknown setting", HDR "version\tx\nextends\t2026.2\nset\tnoa_dayz\t7\n", "fuzz:4: unknown setting"},
	{"bad bool", HDR "version\tx\nextends\t2026.2\nset\tagi_threshold_inclusive\tmaybe\n", "fuzz:4: setting"},
	{"unknown finding", HDR "version\tx\ncode\tG80.0\tG80.4\tCP\tcp\t-\tCP_NOPE\n", "fuzz:3: unknown finding"},
	{"unknown group", HDR "version\tx\ncode\tG80.0\tG80.4\tXX\tcp\t-\t-\n", "fuzz:3: unknown group"},
	{"short code row", HDR "version\tx\ncode\tG80.0\tG80.4\tCP\n", "fuzz:3: code needs"},
	{"unknown base", HDR "version\tx\nextends\tnope\n", "fuzz:3: extends an unknown"},
	{"duplicate version", HDR "version\t2026.2\n", "fuzz:2: rule set \"2026.2\" already"},
	{"unknown reason", HDR "version\tx\nextends\t2026.2\ncite\tNOPE\t22 CCR\n", "fuzz:4: unknown reason"},
	{"bad basis", HDR "version\tx\nextends\t2026.2\nline\tMTP_THERAPY\tno\tFIN_EXEMPT_MTP_ONLY\tyes\tno\tXX\n",
	 "fuzz:4: basis"},
	/* validation of the finished set: an MTP code row needs findings */
	{"MTP row without findings", HDR "version\tx\ngroup\tCP\tELIGIBLE_MTP_CP\ncode\tG80.0\tG80.4\tCP\tcp\t-\t-\n",
	 "requires no findings"},
	{"zero target", HDR "version\tx\nextends\t2026.2\nset\tphysician_review_target_days\t0\n", "non-positive"},
	{"NUL byte", HDR "version\tx\0y\n", "fuzz:2: NUL"},
};

CCS_TEST(rule_files_refused_with_line)
{
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		ccs_elig_rules *reg = ccs_elig_rules_new();
		const ccs_elig_ruleset *base = ccs_elig_ruleset_default();
		char eb[256] = "";
		size_t len = strlen(rule_cases[i].text);
		if (strcmp(rule_cases[i].name, "NUL byte") == 0)
			len = strlen(HDR) + 12;
		/* the base for `extends`: the shipped default, parsed into this registry */
		(void)base;
		{
			ccs_elig_rules *tmp = NULL;
			char e2[256];
			if (ccs_elig_rules_load_dir(CCS_ELIG_DATA_DIR "/rulesets", &tmp, e2, sizeof(e2)) != 0)
				abort();
			ccs_elig_rules_free(reg);
			reg = tmp;
		}
		int rc = ccs_elig_rules_parse(reg, rule_cases[i].text, len, "fuzz", eb, sizeof(eb));
		fprintf(stderr, "  %-26s rc=%d %s\n", rule_cases[i].name, rc, eb);
		if (!rule_cases[i].want) {
			CCS_EQ_INT(rc, 0);
			CCS_TRUE(ccs_elig_rules_find(reg, "x") != NULL);
		} else {
			CCS_EQ_INT(rc, -EINVAL);
			CCS_TRUE(strstr(eb, rule_cases[i].want) != NULL);
		}
		ccs_elig_rules_free(reg);
	}
}

#define THDR "ccs-reason-texts\t1\n"

static const struct {
	const char *name;
	const char *text;
	const char *want;
} text_cases[] = {
	{"one row", THDR "NOT_ELIGIBLE_AGE\tToo old.\tDemasiado mayor.\n", NULL},
	{"crlf", THDR "NOT_ELIGIBLE_AGE\tToo old.\tDemasiado mayor.\r\n", NULL},
	{"no header", "NOT_ELIGIBLE_AGE\ta\tb\n", "t:1: first record"},
	{"unknown code", THDR "NOT_ELIGIBLE_AGES\ta\tb\n", "t:2: unknown reason code"},
	{"two fields", THDR "NOT_ELIGIBLE_AGE\ta\n", "t:2: want CODE"},
	{"empty text", THDR "NOT_ELIGIBLE_AGE\t\tb\n", "t:2: NOT_ELIGIBLE_AGE: empty"},
	{"twice", THDR "NOT_ELIGIBLE_AGE\ta\tb\nNOT_ELIGIBLE_AGE\ta\tb\n", "t:3: NOT_ELIGIBLE_AGE given twice"},
	{"bad utf8", THDR "NOT_ELIGIBLE_AGE\ta\xff\tb\n", "t:2: NOT_ELIGIBLE_AGE: empty text or not UTF-8"},
};

CCS_TEST(text_files_refused_with_line)
{
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		ccs_elig_texts *t = NULL;
		char eb[256] = "";
		int rc = ccs_elig_texts_parse(text_cases[i].text, strlen(text_cases[i].text), "t", &t, eb, sizeof(eb));
		fprintf(stderr, "  %-14s rc=%d %s\n", text_cases[i].name, rc, eb);
		if (!text_cases[i].want) {
			const char *en, *es;
			CCS_EQ_INT(rc, 0);
			CCS_TRUE(ccs_elig_texts_get(t, "NOT_ELIGIBLE_AGE", &en, &es));
			CCS_EQ_STR(en, "Too old.");
			/* one row is not a whole catalog */
			CCS_EQ_INT(ccs_elig_texts_check(t, eb, sizeof(eb)), -EINVAL);
		} else {
			CCS_EQ_INT(rc, -EINVAL);
			CCS_TRUE(strstr(eb, text_cases[i].want) != NULL);
		}
		ccs_elig_texts_free(t);
	}
}

CCS_TEST_MAIN()
