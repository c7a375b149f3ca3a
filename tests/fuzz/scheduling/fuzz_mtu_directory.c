/*
 * Fuzzer for the MTU directory loader, the decoder of an operator-supplied file. Besides "no
 * crash, no leak, no UB", a directory that loads must hold what the loader promises: ids
 * unique per MTU, therapist hours inside MTU hours, closures ordered, every lookup answering
 * an MTU of the county asked for, and a snapshot the engine accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mtu_directory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

/* County names match with or without a trailing " County" (mtu_directory.h). */
static int same_county(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 7 && strcasecmp(a + la - 7, " county") == 0)
		la -= 7;
	if (lb > 7 && strcasecmp(b + lb - 7, " county") == 0)
		lb -= 7;
	return la == lb && strncasecmp(a, b, la) == 0;
}

static void check_mtu(const ccs_sched_mtu_dir *d, const ccs_sched_mtu *m)
{
	check(m->disciplines != 0 && (m->disciplines & ~3u) == 0);
	for (int wd = 0; wd < 7; wd++)
		check(m->open[wd].start_min <= m->open[wd].end_min && m->open[wd].end_min <= 1440);
	for (size_t i = 0; i < m->n_therapists; i++) {
		const ccs_sched_therapist *t = &m->therapists[i];
		check(t->discipline & (int)m->disciplines);
		for (size_t k = i + 1; k < m->n_therapists; k++)
			check(strcmp(t->id, m->therapists[k].id) != 0);
		for (int wd = 0; wd < 7; wd++)
			if (t->hours[wd].start_min < t->hours[wd].end_min)
				check(t->hours[wd].start_min >= m->open[wd].start_min &&
				      t->hours[wd].end_min <= m->open[wd].end_min);
	}
	for (size_t i = 0; i < m->n_closures; i++)
		check(m->closures[i].first <= m->closures[i].last);
	for (size_t i = 0; i < m->n_districts; i++) {
		const ccs_sched_mtu *got = ccs_sched_mtu_for(d, m->county, m->districts[i]);
		check(got != NULL && same_county(got->county, m->county));
	}
	check(ccs_sched_mtu_find(d, m->mtu_id) == m);
	/* a served county has no MTU of its own and finds this one as its neighbour */
	for (size_t i = 0; i < m->n_serves; i++) {
		ccs_sched_mtu_how how;
		const ccs_sched_mtu *got = ccs_sched_mtu_select(d, m->serves[i], NULL, 0, &how);
		check(got == m && how == CCS_SCHED_MTU_NEIGHBOUR);
		check(!same_county(m->serves[i], m->county));
	}

	/* the engine accepts what the loader accepts */
	ccs_sched_snapshot s;
	ccs_arena a;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};
	ccs_sched_rules r = ccs_sched_rules_default;
	char err[128];

	r.horizon_days = 14;
	ccs_sched_mtu_snapshot(m, &s);
	ccs_arena_init(&a, 0);
	q.child.child_id = "C1";
	q.discipline = (m->disciplines & CCS_SCHED_PT) ? CCS_SCHED_PT : CCS_SCHED_OT;
	q.eligible_on = q.asof = ccs_date_from_ymd(2025, 12, 15);
	q.not_before = CCS_DATE_INVALID;
	check(ccs_sched_find_evaluation(&r, &s, &q, &a, &res, err, sizeof(err)) == 0);
	if (res.found)
		check(ccs_sched_check_slot(&r, &s, &q.child, q.discipline, &res.slot) == CCS_SCHED_OK);
	ccs_arena_destroy(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ccs_sched_mtu_dir *d = NULL;
	char err[256];

	err[0] = '\0';
	int rc = ccs_sched_mtu_dir_parse((const char *)data, size, "fuzz", &d, err, sizeof(err));
	if (rc != 0) {
		check(d == NULL && strncmp(err, "fuzz:", 5) == 0);
		return 0;
	}
	check(d != NULL);
	for (size_t i = 0; i < d->n_mtus; i++)
		check_mtu(d, &d->mtus[i]);
	ccs_sched_mtu_dir_free(d);
	return 0;
}
