/*
 * The reason-text catalog: each reason code in plain words, English and Spanish, for the
 * Notice of Action the family receives (22 CCR 42132), and the appeal-rights paragraph. Data,
 * not code: deploy/data/eligibility/reason_texts.tsv, embedded as the built-in copy and
 * replaceable with `texts.file`.
 *
 * Format: UTF-8, fields separated by ONE tab, '#' and blank lines ignored, trailing '\r'
 * dropped:
 *   ccs-reason-texts <TAB> 1                 first record
 *   CODE <TAB> english <TAB> spanish         CODE is a reason code or APPEAL_RIGHTS
 * Every reason code and APPEAL_RIGHTS must have a row (ccs_elig_texts_check); a code given
 * twice, an unknown code, an empty text or invalid UTF-8 refuses the file, naming the line.
 */
#ifndef CCS_ELIGIBILITY_REASON_TEXTS_H
#define CCS_ELIGIBILITY_REASON_TEXTS_H

#include <stddef.h>

#include "rules.h"

#define CCS_ELIG_TEXTS_APPEAL_RIGHTS "APPEAL_RIGHTS"
#define CCS_ELIG_TEXTS_MAX_BYTES (1024u * 1024u)

typedef struct ccs_elig_texts ccs_elig_texts;

/* 0 with *out set, or -EINVAL / -EFBIG with "<source>:<line>: <reason>" in errbuf. */
int ccs_elig_texts_parse(const char *data, size_t len, const char *source, ccs_elig_texts **out,
			 char *errbuf, size_t errlen) CCS_ELIG_WUR;
int ccs_elig_texts_load(const char *path, ccs_elig_texts **out, char *errbuf, size_t errlen) CCS_ELIG_WUR;
void ccs_elig_texts_free(ccs_elig_texts *t);
/* Every reason code and APPEAL_RIGHTS has a text: 0, or -EINVAL naming the first missing. */
int ccs_elig_texts_check(const ccs_elig_texts *t, char *errbuf, size_t errlen) CCS_ELIG_WUR;
/* The texts of a code; false (and "" for both) when the catalog has none. */
_Bool ccs_elig_texts_get(const ccs_elig_texts *t, const char *code, const char **en, const char **es);
/* The shipped catalog, embedded (parsed once; aborts if invalid: the unit tests check it). */
const ccs_elig_texts *ccs_elig_texts_builtin_get(void);

#endif
