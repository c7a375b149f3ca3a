/*
 * The California county table as data: how each county runs CCS (independent or dependent)
 * and who does its medical review (the county itself or a State CCS Regional Office).
 *
 * The table is operator data, shipped as deploy/data/counties.tsv and replaceable without a
 * rebuild (docs/domain.md: no official list of dependent counties was found, so it must
 * never be compiled in). Format, one record per line, fields separated by ONE tab:
 *
 *   ccs-counties <TAB> 1                                  first record: format and version
 *   name code model office population basis source        one row per county
 *
 *   name        canonical spelling, "Los Angeles" (letters, spaces, '.', '-', '\'')
 *   code        2-digit California county code, "19"
 *   model       INDEPENDENT | DEPENDENT
 *   office      COUNTY | SACRAMENTO | SAN_FRANCISCO | SOUTHERN_CALIFORNIA
 *               (an INDEPENDENT county is reviewed by COUNTY, a DEPENDENT one by a regional
 *               office: anything else is refused)
 *   population  a count, for information only: no rule reads it
 *   basis       SOURCED | BEST_KNOWLEDGE: whether the row's model and office come from a
 *               public source or from best knowledge
 *   source      where the row comes from (free text, required)
 *
 * Lines starting with '#' and blank lines are ignored; a trailing '\r' (CRLF) is dropped.
 * A bad file is refused as a whole with "<path>:<line>: <reason>" in the caller's buffer.
 *
 * Names compare after normalisation: case-insensitive, surrounding whitespace ignored, runs of
 * inner whitespace equal to one space, an optional trailing " County" dropped, so
 * "Los Angeles County", "  los   angeles " and "Los Angeles" are the same county.
 *
 * Memory: the table owns everything; rows stay valid until ccs_county_free(). Lookups are
 * read-only, so a loaded table may be shared by any number of readers.
 */
#ifndef CCS_COUNTY_H
#define CCS_COUNTY_H

#include <stddef.h>

#define CCS_COUNTY_FORMAT_VERSION 1
/* Files larger than this are refused (58 rows are a few KB). */
#define CCS_COUNTY_MAX_BYTES (1024u * 1024u)
/* Longest name accepted in the file and by ccs_county_find (bytes). */
#define CCS_COUNTY_NAME_MAX 64

/* How a county runs CCS. Values equal the contract's CountyModel numbers. */
typedef enum ccs_county_model {
	CCS_COUNTY_MODEL_UNSPECIFIED = 0,
	CCS_COUNTY_INDEPENDENT = 1,
	CCS_COUNTY_DEPENDENT = 2,
} ccs_county_model;

/* Who reviews a county's cases. Values equal the contract's ReviewingOffice numbers. */
typedef enum ccs_county_office {
	CCS_COUNTY_OFFICE_UNSPECIFIED = 0,
	CCS_COUNTY_OFFICE_COUNTY = 1,
	CCS_COUNTY_OFFICE_SACRAMENTO = 2,
	CCS_COUNTY_OFFICE_SAN_FRANCISCO = 3,
	CCS_COUNTY_OFFICE_SOUTHERN_CALIFORNIA = 4,
} ccs_county_office;

typedef struct ccs_county {
	const char *name;          /* canonical, "Los Angeles" */
	const char *code;          /* "19" */
	ccs_county_model model;
	ccs_county_office office;
	long population;           /* informational */
	int sourced;               /* 1: basis SOURCED, 0: BEST_KNOWLEDGE */
	const char *source;        /* the row's source note */
	int line;                  /* line in the file, for messages */
} ccs_county;

typedef struct ccs_county_table ccs_county_table;

/*
 * Parse a table held in memory; `source` names the input in messages ("<source>:<line>: ...").
 * Returns 0 with *out set, or a negative errno (-EINVAL for a bad line, -EFBIG for a file over
 * CCS_COUNTY_MAX_BYTES) with *out NULL and the reason in errbuf.
 */
int ccs_county_parse(const char *data, size_t len, const char *source, ccs_county_table **out,
		     char *errbuf, size_t errlen) __attribute__((warn_unused_result));

/* Read and parse a file (as ccs_county_parse; -errno when it cannot be read). */
int ccs_county_load(const char *path, ccs_county_table **out, char *errbuf, size_t errlen)
	__attribute__((warn_unused_result));

void ccs_county_free(ccs_county_table *t);

/*
 * The table a daemon reads: `configured` when set (the data.counties setting), else the
 * installed copy (<datadir>/ccs/data/counties.tsv) when it exists at run time, else the source
 * tree's deploy/data/counties.tsv (development, tests, the deploy/dev scripts). One rule for
 * every daemon, so they always agree on the counties.
 */
const char *ccs_county_path(const char *configured);

/* A name as it appears in stream topic names: "San Luis Obispo" -> "san-luis-obispo" (ASCII
 * letters and digits lower-cased, every other run of characters one '-', none at the ends). */
void ccs_county_slug(const char *name, char *out, size_t len);

/* Rows in file order. */
size_t ccs_county_count(const ccs_county_table *t);
const ccs_county *ccs_county_at(const ccs_county_table *t, size_t i);

/* The row for a name (normalised as above), or NULL when unknown, or t or name is NULL. */
const ccs_county *ccs_county_find(const ccs_county_table *t, const char *name);

/* True when both names are known and name the same county ("Fresno County" = "fresno"). */
int ccs_county_same(const ccs_county_table *t, const char *a, const char *b);

/* "INDEPENDENT", "SOUTHERN_CALIFORNIA", ...: the file's words; "UNSPECIFIED" otherwise. */
const char *ccs_county_model_name(ccs_county_model m);
const char *ccs_county_office_name(ccs_county_office o);

#endif
