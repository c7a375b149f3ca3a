/*
 * libFuzzer target: bytes -> EligibilityEvidence -> ccs_elig_fold_check_evidence -> the fold.
 *
 * Undecodable input is dropped. Decoded input must validate without crashes or undefined
 * behaviour whatever it holds; a refusal is -EINVAL with a non-empty message. Evidence the
 * validator accepts is folded, as the daemon would, on top of two fixed cases with their prior
 * logs (see prior_log), and the fold must then:
 *   - succeed: what intake accepts, the rules engine can evaluate (else the case is stuck);
 *   - be deterministic: folding the same log twice gives the same facts, result, signature;
 *   - be order independent: the reversed and rotated logs fold to the same;
 *   - respect `until`: with the new evidence after `until`, it is as if it were absent;
 *   - keep the as-of date at or after the case's opening and after every folded date;
 *   - survive time passing (an `at` a year and more later).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eligibility_fold.h"
#include "fold_scenarios.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SIG_LEN 256

/* An invariant that must hold; says which one broke, so crashes triage themselves. */
#define CHECK(cond, why)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "invariant broken: %s\n", why);     \
			abort();                                             \
		}                                                            \
	} while (0)

struct folded {
	int rc;
	char err[160];
	ccs_elig_fold_out out;
	char sig[SIG_LEN];
};

static void fold_into(const ccs_elig_fold_case *c, const ccs_elig_fold_step *steps, size_t n, ccs_date until,
		      ccs_date at, struct folded *f)
{
	ccs_elig_fold_step work[MAX_STEPS];
	char *err = f->err;

	memcpy(work, steps, n * sizeof(work[0]));
	memset(f->err, 'x', sizeof(f->err));
	f->rc = ccs_elig_fold(c, work, n, ccs_elig_ruleset_default(), until, at, &f->out, f->err, sizeof(f->err));
	CHECK(f->rc == 0 || (f->rc == -EINVAL && memchr(err, '\0', sizeof(f->err)) && err[0]),
	      "fold fails with -EINVAL and a message");
	f->sig[0] = '\0';
	if (f->rc == 0) {
		memset(f->sig, 'x', sizeof(f->sig));
		ccs_elig_fold_signature(&f->out.result, f->sig, sizeof(f->sig));
		CHECK(memchr(f->sig, '\0', sizeof(f->sig)) && f->sig[0], "signature fits");
	}
}

static void same_or_abort(const struct folded *a, const struct folded *b)
{
	CHECK(a->rc == b->rc, "same return code");
	if (a->rc != 0)
		return;
	CHECK(strcmp(a->sig, b->sig) == 0, "same signature");
	CHECK(ccs_elig_result_equal(&a->out.result, &b->out.result), "same result");
	CHECK(memcmp(&a->out.facts, &b->out.facts, sizeof(a->out.facts)) == 0, "same facts");
	CHECK(a->out.as_of == b->out.as_of && a->out.applied == b->out.applied, "same as_of and count");
}

/*
 * The prior logs. 0: the base scenario (a 5-year-old with CP, eligible) plus an appeal filed
 * before the new evidence. 1: a 13-month-old in a dependent county asking for every line, with
 * two at-risk findings and a Medi-Cal verification, so the at-risk, hypotonia and per-line
 * financial rules see the new evidence too.
 */
static void prior_log(scenario *s, int which)
{
	if (which == 0) {
		sc_base(s);
		add(s, "e-af", "2026-02-12", fx_appeal_filed(nb(s), "ev-af", "A1", "2026-02-12", ""));
		return;
	}
	sc_at_risk(s);
	s->c.county_model = CCS_ELIG_COUNTY_DEPENDENT;
	s->c.lines = CCS_ELIG_LINES_ALL;
}

static void fold_checked(const Ccs__Mtp__V1__EligibilityEvidence *ev, int which)
{
	static scenario s;
	struct folded a, b;
	ccs_elig_fold_step rev[MAX_STEPS], rot[MAX_STEPS];
	ccs_date newest, later;
	size_t n;

	prior_log(&s, which);
	/* the daemon's received date: the evidence's own instant, else the envelope's time */
	ccs_date on = ccs_elig_fold_instant_date(ev->received_at);
	if (on == CCS_DATE_INVALID)
		on = D("2026-02-15");
	s.st[s.n].event_id = "e-fuzz";
	s.st[s.n].on = on;
	s.st[s.n].ev = ev;
	n = ++s.n;

	fold_into(&s.c, s.st, n, CCS_DATE_INVALID, CCS_DATE_INVALID, &a);
	/* accepted at intake, so it must fold */
	if (a.rc != 0)
		fprintf(stderr, "fold: %s\n", a.err);
	CHECK(a.rc == 0, "accepted at intake, so it folds");
	CHECK(a.out.applied == n, "every step folded");
	CHECK(a.out.as_of >= s.c.opened_on && a.out.as_of >= on && a.out.result.as_of == a.out.as_of,
	      "as_of is the newest date");
	newest = a.out.as_of;

	/* deterministic */
	fold_into(&s.c, s.st, n, CCS_DATE_INVALID, CCS_DATE_INVALID, &b);
	same_or_abort(&a, &b);

	/* order independent: reversed, and rotated by one */
	for (size_t i = 0; i < n; i++) {
		rev[i] = s.st[n - 1 - i];
		rot[i] = s.st[(i + 1) % n];
	}
	fold_into(&s.c, rev, n, CCS_DATE_INVALID, CCS_DATE_INVALID, &b);
	same_or_abort(&a, &b);
	fold_into(&s.c, rot, n, CCS_DATE_INVALID, CCS_DATE_INVALID, &b);
	same_or_abort(&a, &b);

	/* `until` the day before the new evidence: as if it had never come */
	{
		fold_into(&s.c, s.st, n, on - 1, CCS_DATE_INVALID, &a);
		fold_into(&s.c, s.st, n - 1, on - 1, CCS_DATE_INVALID, &b);
		same_or_abort(&a, &b);
	}

	/* time passes: the annual redetermination and the deadlines behind it (while the date
	 * stays inside the engine's range, which ends with 2199); as-of never moves back */
	later = on + 400 > newest ? on + 400 : newest;
	if (later <= ccs_date_from_ymd(2199, 12, 31)) {
		fold_into(&s.c, s.st, n, CCS_DATE_INVALID, on + 400, &b);
		CHECK(b.rc == 0 && b.out.as_of == later, "time passes");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ccs__Mtp__V1__EligibilityEvidence *ev;
	char err[160];
	int rc;

	ev = ccs__mtp__v1__eligibility_evidence__unpack(NULL, size, data);
	if (!ev)
		return 0;
	memset(err, 'x', sizeof(err));
	rc = ccs_elig_fold_check_evidence(ev, err, sizeof(err));
	CHECK(rc == 0 || (rc == -EINVAL && memchr(err, '\0', sizeof(err)) && err[0]),
	      "check_evidence refuses with -EINVAL and a message");
	/* the verdict does not depend on having somewhere to write the message */
	CHECK(ccs_elig_fold_check_evidence(ev, NULL, 0) == rc, "verdict independent of the buffer");
	(void)ccs_elig_fold_instant_date(ev->received_at);
	if (rc == 0)
		for (int which = 0; which < 2; which++)
			fold_checked(ev, which);
	ccs__mtp__v1__eligibility_evidence__free_unpacked(ev, NULL);
	return 0;
}
