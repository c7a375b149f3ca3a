/*
 * libFuzzer target: bytes -> ccs_county_parse. Any input either loads or is refused with a
 * message naming the source; never a crash, leak or undefined behaviour. A loaded table keeps
 * the loader's promises: every row is found by its own name however it is written (upper case,
 * a trailing " County", surrounding spaces), independent rows are reviewed by the county and
 * dependent rows by a regional office, codes and names are unique.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/county.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_row(const ccs_county_table *t, const ccs_county *c)
{
	char alt[CCS_COUNTY_NAME_MAX + 16];
	size_t n = strlen(c->name);

	if (ccs_county_find(t, c->name) != c)
		abort();
	snprintf(alt, sizeof(alt), "  %s County ", c->name);
	if (ccs_county_find(t, alt) != c || !ccs_county_same(t, alt, c->name))
		abort();
	for (size_t i = 0; i < n; i++)
		alt[i] = (char)(c->name[i] >= 'a' && c->name[i] <= 'z' ? c->name[i] - 32 : c->name[i]);
	alt[n] = '\0';
	if (ccs_county_find(t, alt) != c)
		abort();
	if ((c->model == CCS_COUNTY_INDEPENDENT) != (c->office == CCS_COUNTY_OFFICE_COUNTY))
		abort();
	if (c->model != CCS_COUNTY_INDEPENDENT && c->model != CCS_COUNTY_DEPENDENT)
		abort();
	if (strlen(c->code) != 2 || !*c->source || c->population < 0 || c->line < 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ccs_county_table *t = NULL;
	char err[256] = "";
	int rc = ccs_county_parse((const char *)data, size, "fuzz.tsv", &t, err, sizeof(err));

	if (rc != 0) {
		if (t || strncmp(err, "fuzz.tsv", 8) != 0)
			abort();
		return 0;
	}
	if (!t || ccs_county_count(t) == 0)
		abort();
	for (size_t i = 0; i < ccs_county_count(t); i++) {
		const ccs_county *c = ccs_county_at(t, i);
		check_row(t, c);
		for (size_t j = 0; j < i; j++)
			if (strcmp(ccs_county_at(t, j)->code, c->code) == 0)
				abort();
	}
	ccs_county_free(t);
	return 0;
}
