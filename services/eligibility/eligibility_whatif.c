/*
 * What-if report (see eligibility_whatif.h). Case ids are kept in small growable lists, one
 * per outcome transition and per reason added/removed; the report is sorted by count, then
 * name, so two runs over the same data print the same text.
 */
#include "eligibility_whatif.h"

#include <stdlib.h>
#include <string.h>

#include "ccs/mem.h"
#include "ccs/uuid.h"

#define NOUT (CCS_ELIG_OUTCOME_MAX + 1)

typedef struct idlist {
	char (*ids)[CCS_UUID_STRLEN];
	size_t n, cap;
} idlist;

typedef struct change {
	char case_id[CCS_UUID_STRLEN];
	char diff[512];
} change;

struct ccs_elig_whatif {
	const ccs_elig_ruleset *cur, *cand;
	ccs_date as_of;
	size_t cases, changed, errors;
	idlist transitions[NOUT][NOUT];
	idlist added[CCS_ELIG_R_COUNT], removed[CCS_ELIG_R_COUNT];
	change *changes;
	size_t nchanges, capchanges;
};

static void idlist_add(idlist *l, const char *id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->ids = ccs_xrealloc(l->ids, l->cap * sizeof(*l->ids));
	}
	snprintf(l->ids[l->n++], CCS_UUID_STRLEN, "%s", id);
}

ccs_elig_whatif *ccs_elig_whatif_new(const ccs_elig_ruleset *current, const ccs_elig_ruleset *candidate,
				     ccs_date as_of)
{
	ccs_elig_whatif *w = ccs_xcalloc(1, sizeof(*w));
	w->cur = current;
	w->cand = candidate;
	w->as_of = as_of;
	return w;
}

void ccs_elig_whatif_add(ccs_elig_whatif *w, const char *case_id, const ccs_elig_fold_case *c,
			 ccs_elig_fold_step *steps, size_t n)
{
	ccs_elig_fold_out a, b;
	ccs_elig_diff d;
	char eb[128];

	w->cases++;
	if (ccs_elig_fold(c, steps, n, w->cur, CCS_DATE_INVALID, w->as_of, &a, eb, sizeof(eb)) != 0 ||
	    ccs_elig_fold(c, steps, n, w->cand, CCS_DATE_INVALID, w->as_of, &b, eb, sizeof(eb)) != 0) {
		w->errors++;
		return;
	}
	if (ccs_elig_result_equal(&a.result, &b.result))
		return;
	w->changed++;
	ccs_elig_result_diff(&a.result, &b.result, &d);
	idlist_add(&w->transitions[a.result.outcome][b.result.outcome], case_id);
	for (int r = 1; r < CCS_ELIG_R_COUNT; r++) {
		if (d.overall.added & CCS_ELIG_RBIT(r))
			idlist_add(&w->added[r], case_id);
		if (d.overall.removed & CCS_ELIG_RBIT(r))
			idlist_add(&w->removed[r], case_id);
	}
	if (w->nchanges == w->capchanges) {
		w->capchanges = w->capchanges ? w->capchanges * 2 : 16;
		w->changes = ccs_xrealloc(w->changes, w->capchanges * sizeof(*w->changes));
	}
	change *ch = &w->changes[w->nchanges++];
	snprintf(ch->case_id, sizeof(ch->case_id), "%s", case_id);
	if (ccs_elig_diff_render(&d, ch->diff, sizeof(ch->diff)) < 0)
		ch->diff[sizeof(ch->diff) - 1] = '\0'; /* truncated, still terminated */
}

size_t ccs_elig_whatif_cases(const ccs_elig_whatif *w)
{
	return w->cases;
}

size_t ccs_elig_whatif_changed(const ccs_elig_whatif *w)
{
	return w->changed;
}

size_t ccs_elig_whatif_errors(const ccs_elig_whatif *w)
{
	return w->errors;
}

/* One row of the report: a label and the list behind it. */
typedef struct row {
	char label[96];
	const idlist *l;
} row;

static int row_cmp(const void *x, const void *y)
{
	const row *a = x, *b = y;
	if (a->l->n != b->l->n)
		return a->l->n > b->l->n ? -1 : 1;
	return strcmp(a->label, b->label);
}

static int id_cmp(const void *x, const void *y)
{
	return strcmp(x, y);
}

static void print_ids(const idlist *l, bool json, FILE *out)
{
	qsort(l->ids, l->n, sizeof(*l->ids), id_cmp);
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, json ? "%s\"%s\"" : "%s%s", i ? (json ? "," : " ") : "", l->ids[i]);
}

/* Print rows (sorted) as a JSON array of {key: label, count, case_ids} or as text lines. */
static void print_rows(row *rows, size_t n, const char *key, bool json, FILE *out)
{
	qsort(rows, n, sizeof(*rows), row_cmp);
	if (json)
		fputc('[', out);
	for (size_t i = 0; i < n; i++) {
		if (json) {
			fprintf(out, "%s{\"%s\":\"%s\",\"count\":%zu,\"case_ids\":[", i ? "," : "", key, rows[i].label,
				rows[i].l->n);
			print_ids(rows[i].l, true, out);
			fputs("]}", out);
		} else {
			fprintf(out, "  %-50s %6zu  ", rows[i].label, rows[i].l->n);
			print_ids(rows[i].l, false, out);
			fputc('\n', out);
		}
	}
	if (json)
		fputc(']', out);
}

void ccs_elig_whatif_print(const ccs_elig_whatif *w, bool json, FILE *out)
{
	row rows[NOUT * NOUT + CCS_ELIG_R_COUNT];
	size_t n = 0;
	char day[11];

	ccs_date_format(w->as_of, day);
	if (json)
		fprintf(out,
			"{\"current\":\"%s\",\"candidate\":\"%s\",\"as_of\":\"%s\",\"cases\":%zu,\"changed\":%zu,"
			"\"unchanged\":%zu,\"errors\":%zu,\"transitions\":",
			w->cur->version, w->cand->version, day, w->cases, w->changed, w->cases - w->changed - w->errors,
			w->errors);
	else
		fprintf(out,
			"what-if: rule set %s -> %s as of %s\n  cases %zu, decisions that would change %zu,"
			" unchanged %zu, not evaluable %zu\n\noutcome transitions:\n",
			w->cur->version, w->cand->version, day, w->cases, w->changed, w->cases - w->changed - w->errors,
			w->errors);
	for (int a = 0; a < NOUT; a++)
		for (int b = 0; b < NOUT; b++)
			if (w->transitions[a][b].n) {
				snprintf(rows[n].label, sizeof(rows[n].label), "%s -> %s",
					 ccs_elig_outcome_str((ccs_elig_outcome)a), ccs_elig_outcome_str((ccs_elig_outcome)b));
				rows[n++].l = &w->transitions[a][b];
			}
	print_rows(rows, n, "transition", json, out);
	for (int pass = 0; pass < 2; pass++) {
		const idlist *lists = pass ? w->removed : w->added;
		n = 0;
		for (int r = 1; r < CCS_ELIG_R_COUNT; r++)
			if (lists[r].n) {
				snprintf(rows[n].label, sizeof(rows[n].label), "%s", ccs_elig_reason_str((ccs_elig_reason)r));
				rows[n++].l = &lists[r];
			}
		if (json)
			fprintf(out, ",\"%s\":", pass ? "reasons_removed" : "reasons_added");
		else
			fprintf(out, "\nreasons %s:\n", pass ? "removed" : "added");
		print_rows(rows, n, "reason", json, out);
	}
	if (json)
		fputs(",\"changes\":[", out);
	else
		fputs("\nchanged decisions:\n", out);
	for (size_t i = 0; i < w->nchanges; i++) {
		if (json)
			fprintf(out, "%s{\"case_id\":\"%s\",\"diff\":\"%s\"}", i ? "," : "", w->changes[i].case_id,
				w->changes[i].diff);
		else
			fprintf(out, "  %s  %s\n", w->changes[i].case_id, w->changes[i].diff);
	}
	fputs(json ? "]}\n" : "", out);
}

void ccs_elig_whatif_free(ccs_elig_whatif *w)
{
	if (!w)
		return;
	for (int a = 0; a < NOUT; a++)
		for (int b = 0; b < NOUT; b++)
			free(w->transitions[a][b].ids);
	for (int r = 0; r < CCS_ELIG_R_COUNT; r++) {
		free(w->added[r].ids);
		free(w->removed[r].ids);
	}
	free(w->changes);
	free(w);
}
