/*
 * What-if: "what would change if the rule set changed?" Every stored case is folded under the
 * rule set in force and under a candidate, as of one date; the report counts the cases whose
 * decision would differ, by overall outcome transition and by reason added or removed, with the
 * case ids, plus one rendered diff per changed case. Pure aggregation: the caller loads the
 * cases (eligibility.c) and nothing is published or stored.
 */
#ifndef CCS_ELIGIBILITY_WHATIF_H
#define CCS_ELIGIBILITY_WHATIF_H

#include <stdbool.h>
#include <stdio.h>

#include "eligibility_fold.h"
#include "rules.h"

typedef struct ccs_elig_whatif ccs_elig_whatif;

ccs_elig_whatif *ccs_elig_whatif_new(const ccs_elig_ruleset *current, const ccs_elig_ruleset *candidate,
				     ccs_date as_of);
/* Compare one case under both rule sets (steps are sorted in place). */
void ccs_elig_whatif_add(ccs_elig_whatif *w, const char *case_id, const ccs_elig_fold_case *c,
			 ccs_elig_fold_step *steps, size_t n);
/* Cases compared / changed / that could not be evaluated. */
size_t ccs_elig_whatif_cases(const ccs_elig_whatif *w);
size_t ccs_elig_whatif_changed(const ccs_elig_whatif *w);
size_t ccs_elig_whatif_errors(const ccs_elig_whatif *w);
/* The report: one JSON object, or text for people. Ids and codes only. */
void ccs_elig_whatif_print(const ccs_elig_whatif *w, bool json, FILE *out);
void ccs_elig_whatif_free(ccs_elig_whatif *w);

#endif
