/*
 * Fuzz the reason-text catalog parser: any bytes either load (every row retrievable, texts
 * non-empty) or are refused with a message naming the source.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reason_texts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ccs_elig_texts *t = NULL;
	char eb[256] = "";
	const char *en, *es;

	if (ccs_elig_texts_parse((const char *)data, size, "fuzz", &t, eb, sizeof(eb)) == 0) {
		if (!t)
			abort();
		if (ccs_elig_texts_get(t, "APPEAL_RIGHTS", &en, &es) && (!*en || !*es))
			abort();
		if (ccs_elig_texts_check(t, eb, sizeof(eb)) != 0 && !eb[0])
			abort();
		ccs_elig_texts_free(t);
	} else if (t || strncmp(eb, "fuzz", 4) != 0) {
		abort();
	}
	return 0;
}
