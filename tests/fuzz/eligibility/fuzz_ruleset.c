/*
 * Fuzz the rule-set file parser: any bytes either load a set that validates and evaluates a
 * fixed case without failing, or are refused with a message naming the source and a line.
 * (The registry starts empty, so `extends` inputs exercise the unknown-base refusal.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ccs_elig_rules *reg = ccs_elig_rules_new();
	char eb[256] = "";
	if (ccs_elig_rules_parse(reg, (const char *)data, size, "fuzz", eb, sizeof(eb)) == 0) {
		const ccs_elig_ruleset *rs = ccs_elig_rules_at(reg, ccs_elig_rules_count(reg) - 1);
		ccs_elig_facts f;
		ccs_elig_result r;
		char e2[160];
		if (!rs || ccs_elig_ruleset_validate(rs, e2, sizeof(e2)) != 0)
			abort();
		ccs_elig_facts_init(&f);
		f.birth_date = ccs_date_from_ymd(2020, 6, 15);
		f.lines_requested = CCS_ELIG_LINES_ALL;
		f.medical.present = true;
		f.medical.findings = CCS_ELIG_F_CP_ATAXIA;
		if (ccs_elig_facts_add_code(&f, "G80.1") != 0 ||
		    ccs_elig_evaluate(&f, rs, ccs_date_from_ymd(2026, 3, 2), &r) != 0)
			abort();
	} else if (strncmp(eb, "fuzz", 4) != 0) {
		abort(); /* a refusal names its source */
	}
	ccs_elig_rules_free(reg);
	return 0;
}
