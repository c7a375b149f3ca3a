/*
 * Unit tests of the MTU directory: the shipped sample loads and answers lookups, and every
 * kind of operator mistake is refused with the right line number.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ccs_test.h"
#include "mtu_directory.h"

CCS_TEST_MAIN()

#define HDR "ccs-mtu-directory\t1\n"
#define MTU_A "mtu\tA\tFresno\tHost School A\tPT,OT\tMon-Fri 08:00-16:00\n"

static int parse(const char *text, ccs_sched_mtu_dir **d, char *err, size_t errlen)
{
	return ccs_sched_mtu_dir_parse(text, strlen(text), "t.tsv", d, err, errlen);
}

CCS_TEST(sample_directory_loads)
{
	ccs_sched_mtu_dir *d = NULL;
	char err[256] = "";
	int rc = ccs_sched_mtu_dir_load(CCS_SCHED_SAMPLE_DIRECTORY, &d, err, sizeof(err));

	if (rc)
		fprintf(stderr, "  %s\n", err);
	CCS_EQ_INT(rc, 0);
	if (!d)
		return;
	CCS_TRUE(d->n_mtus >= 10);
	/* every MTU is usable: hours, at least one therapist and room, both disciplines staffed */
	for (size_t i = 0; i < d->n_mtus; i++) {
		const ccs_sched_mtu *m = &d->mtus[i];
		unsigned staffed = 0;
		CCS_TRUE(m->n_therapists > 0);
		CCS_TRUE(m->n_rooms > 0);
		CCS_TRUE(m->n_districts > 0);
		CCS_TRUE(m->open[0].end_min > m->open[0].start_min);
		CCS_EQ_INT(m->open[5].end_min, 0); /* closed on Saturdays */
		for (size_t k = 0; k < m->n_therapists; k++)
			staffed |= (unsigned)m->therapists[k].discipline;
		CCS_EQ_INT(staffed, m->disciplines);
	}
	const ccs_sched_mtu *m = ccs_sched_mtu_find(d, "LA-LOKRANTZ");
	CCS_TRUE(m != NULL);
	if (m) {
		CCS_EQ_STR(m->county, "Los Angeles");
		CCS_EQ_INT(m->open[0].start_min, 7 * 60 + 30);
		CCS_EQ_INT(m->open[0].end_min, 16 * 60);
	}
	const ccs_sched_mtu *av = ccs_sched_mtu_find(d, "LA-ANTELOPE");
	CCS_TRUE(av != NULL);
	if (av) /* "Mon-Thu 07:30-16:30; Fri 07:30-12:30" */
		CCS_EQ_INT(av->open[4].end_min, 12 * 60 + 30);
	ccs_sched_mtu_dir_free(d);
}

struct lookup_case {
	const char *county, *district, *want;
};

CCS_TEST(mtu_for_district_first_then_county)
{
	static const struct lookup_case cases[] = {
		{"Los Angeles", "Long Beach Unified", "LA-LONGBEACH"},
		{"los angeles", "LONG BEACH UNIFIED", "LA-LONGBEACH"}, /* case-insensitive */
		{"Los Angeles County", "Long Beach Unified School District", "LA-LONGBEACH"},
		{"Fresno county", "Clovis Unified School District", "FR-CLOVIS"},
		{"Fresno Count", "Clovis Unified", "(none)"},   /* a suffix, not a prefix match */
		{"Fresno", "Clovis", "FR-CENTRAL"},            /* the district is not a stem */
		{"Los Angeles", "Pomona Unified", "LA-POMONA"},
		{"Los Angeles", "Los Angeles Unified", "LA-LOKRANTZ"}, /* first in file order */
		{"Los Angeles", "Some Other District", "LA-LOKRANTZ"},  /* county fallback */
		{"Los Angeles", NULL, "LA-LOKRANTZ"},
		{"San Diego", "Vista Unified", "SD-NORTHCOUNTY"},
		{"San Diego", "Chula Vista Elementary", "SD-SOUTHBAY"},
		{"Fresno", "Clovis Unified", "FR-CLOVIS"},
		{"Sacramento", "Elk Grove Unified", "SA-SOUTH"},
		{"Imperial", "Calexico Unified", "IM-ELCENTRO"},
		/* a district of another county does not pull the child across counties */
		{"Fresno", "Long Beach Unified", "FR-CENTRAL"},
		{"Alpine", "Alpine County Unified", "ED-MTU"}, /* no MTU: the neighbour serving it */
		{NULL, "Long Beach Unified", NULL},
	};
	ccs_sched_mtu_dir *d = NULL;
	char err[256];

	CCS_EQ_INT(ccs_sched_mtu_dir_load(CCS_SCHED_SAMPLE_DIRECTORY, &d, err, sizeof(err)), 0);
	if (!d)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const ccs_sched_mtu *m = ccs_sched_mtu_for(d, cases[i].county, cases[i].district);
		const char *got = m ? m->mtu_id : "(none)";
		CCS_EQ_STR(got, cases[i].want ? cases[i].want : "(none)");
	}
	ccs_sched_mtu_dir_free(d);
}

/* The directory feeds the engine directly. */
CCS_TEST(snapshot_from_directory_books_evaluation)
{
	ccs_sched_mtu_dir *d = NULL;
	char err[256];
	ccs_sched_snapshot s;
	ccs_arena a;
	ccs_sched_eval_result res;
	ccs_sched_eval_request q = {0};

	CCS_EQ_INT(ccs_sched_mtu_dir_load(CCS_SCHED_SAMPLE_DIRECTORY, &d, err, sizeof(err)), 0);
	if (!d)
		return;
	const ccs_sched_mtu *m = ccs_sched_mtu_for(d, "Fresno", "Clovis Unified");
	CCS_TRUE(m != NULL);
	if (!m)
		goto out;
	ccs_sched_mtu_snapshot(m, &s);
	ccs_arena_init(&a, 0);
	q.child.child_id = "C1";
	q.discipline = CCS_SCHED_OT;
	/* decided Friday 2025-12-19: winter break 12-22..01-02, lead and notice 1 day, and the
	 * Clovis OT works Mon, Tue, Thu: Monday 2026-01-05 08:00 */
	q.eligible_on = q.asof = ccs_date_parse("2025-12-19");
	q.not_before = CCS_DATE_INVALID;
	CCS_EQ_INT(ccs_sched_find_evaluation(&ccs_sched_rules_default, &s, &q, &a, &res, err,
					     sizeof(err)),
		   0);
	CCS_EQ_INT(res.found, 1);
	char when[17];
	ccs_sched_format_local(res.slot.day, res.slot.start_min, when);
	CCS_EQ_STR(when, "2026-01-05T08:00");
	CCS_EQ_STR(s.therapists[res.slot.therapist].id, "FR-CL-OT01");
	ccs_arena_destroy(&a);
out:
	ccs_sched_mtu_dir_free(d);
}

struct bad_case {
	const char *name;
	const char *text;
	const char *want; /* substring of the message, which starts with "t.tsv:<line>:" */
};

static const struct bad_case bad_cases[] = {
	{"empty", "", "t.tsv:0: empty directory"},
	{"comments_only", "# nothing\n\n", "t.tsv:2: empty directory"},
	{"no_header", MTU_A, "t.tsv:1: expected the header"},
	{"future_version", "ccs-mtu-directory\t2\n", "t.tsv:1: unsupported format version \"2\""},
	{"unknown_kind", HDR MTU_A "teacher\tA\tX\n", "t.tsv:3: unknown record kind \"teacher\""},
	{"too_few_fields", HDR "mtu\tA\tFresno\tSchool\tPT,OT\n",
	 "t.tsv:2: mtu: expected 6 tab-separated fields, got 5"},
	{"too_many_fields", HDR MTU_A "district\tA\tFresno Unified\textra\n",
	 "t.tsv:3: district: expected 3"},
	{"empty_field", HDR "mtu\tA\t\tSchool\tPT,OT\tMon-Fri 08:00-16:00\n",
	 "t.tsv:2: field 3 is empty"},
	{"spaces_around_field", HDR "mtu\tA\tFresno \tSchool\tPT,OT\tMon-Fri 08:00-16:00\n",
	 "t.tsv:2: field 3 has leading or trailing spaces"},
	{"control_char", HDR "mtu\tA\tFres\x01no\tSchool\tPT,OT\tMon-Fri 08:00-16:00\n",
	 "t.tsv:2: field 3 has a control character"},
	{"duplicate_mtu", HDR MTU_A "# again\n" MTU_A, "t.tsv:4: duplicate mtu \"A\""},
	{"record_before_mtu", HDR "district\tA\tFresno Unified\n" MTU_A,
	 "t.tsv:2: unknown mtu \"A\""},
	{"bad_discipline", HDR "mtu\tA\tFresno\tSchool\tPT,ST\tMon-Fri 08:00-16:00\n",
	 "t.tsv:2: unknown discipline \"ST\""},
	{"discipline_twice", HDR "mtu\tA\tFresno\tSchool\tPT,PT\tMon-Fri 08:00-16:00\n",
	 "t.tsv:2: \"PT\" given twice"},
	{"bad_weekday", HDR "mtu\tA\tFresno\tSchool\tPT\tMonday 08:00-16:00\n",
	 "t.tsv:2: mtu hours: expected a space after the weekdays"},
	{"bad_weekday_name", HDR "mtu\tA\tFresno\tSchool\tPT\tXyz 08:00-16:00\n",
	 "t.tsv:2: mtu hours: expected a weekday"},
	{"reversed_range", HDR "mtu\tA\tFresno\tSchool\tPT\tFri-Mon 08:00-16:00\n",
	 "t.tsv:2: mtu hours: bad weekday range"},
	{"bad_time", HDR "mtu\tA\tFresno\tSchool\tPT\tMon-Fri 8:00-16:00\n",
	 "t.tsv:2: mtu hours: expected HH:MM-HH:MM"},
	{"minute_60", HDR "mtu\tA\tFresno\tSchool\tPT\tMon-Fri 08:60-16:00\n",
	 "t.tsv:2: mtu hours: expected HH:MM-HH:MM"},
	{"start_after_end", HDR "mtu\tA\tFresno\tSchool\tPT\tMon-Fri 16:00-08:00\n",
	 "t.tsv:2: mtu hours: start must be before end"},
	{"weekday_twice", HDR "mtu\tA\tFresno\tSchool\tPT\tMon-Fri 08:00-12:00; Fri 13:00-16:00\n",
	 "t.tsv:2: mtu hours: a weekday is given twice"},
	{"trailing_junk", HDR "mtu\tA\tFresno\tSchool\tPT\tMon-Fri 08:00-16:00 x\n",
	 "t.tsv:2: mtu hours: unexpected \"x\""},
	{"therapist_two_disciplines", HDR MTU_A "therapist\tA\tT1\tPT,OT\tMon 08:00-16:00\n",
	 "t.tsv:3: a therapist has exactly one discipline"},
	{"therapist_discipline_not_offered",
	 HDR "mtu\tA\tFresno\tSchool\tPT\tMon-Fri 08:00-16:00\ntherapist\tA\tT1\tOT\tMon 08:00-16:00\n",
	 "t.tsv:3: mtu A does not offer OT"},
	{"therapist_outside_hours", HDR MTU_A "therapist\tA\tT1\tPT\tMon-Fri 07:00-16:00\n",
	 "t.tsv:3: therapist T1 works outside the hours of mtu A on Mon"},
	{"therapist_on_saturday", HDR MTU_A "therapist\tA\tT1\tPT\tSat 09:00-12:00\n",
	 "on Sat"},
	{"duplicate_therapist",
	 HDR MTU_A "therapist\tA\tT1\tPT\tMon 08:00-16:00\ntherapist\tA\tT1\tOT\tMon 08:00-16:00\n",
	 "t.tsv:4: duplicate therapist \"T1\""},
	{"duplicate_district", HDR MTU_A "district\tA\tFresno Unified\ndistrict\tA\tFRESNO UNIFIED\n",
	 "t.tsv:4: district \"FRESNO UNIFIED\" listed twice"},
	{"duplicate_district_suffix",
	 HDR MTU_A "district\tA\tFresno Unified\ndistrict\tA\tFresno Unified School District\n",
	 "t.tsv:4: district \"Fresno Unified School District\" listed twice"},
	{"duplicate_room", HDR MTU_A "room\tA\tR1\tPT\nroom\tA\tR1\tOT\n",
	 "t.tsv:4: duplicate room \"R1\""},
	{"bad_room_use", HDR MTU_A "room\tA\tR1\tGYM\n", "t.tsv:3: unknown room use \"GYM\""},
	{"bad_closure_date", HDR MTU_A "closure\tA\t2025-13-01\t2025-12-02\tx\n",
	 "t.tsv:3: closure: dates must be YYYY-MM-DD"},
	{"closure_reversed", HDR MTU_A "closure\tA\t2025-12-02\t2025-12-01\tx\n",
	 "t.tsv:3: closure: first day 2025-12-02 is after last day 2025-12-01"},
	{"crlf_line_numbers", "ccs-mtu-directory\t1\r\n\r\n# c\r\nbogus\r\n",
	 "t.tsv:4: unknown record kind"},
	{"nul_byte", HDR "mtu\tA\0", "t.tsv:2: NUL byte"},
};

CCS_TEST(bad_directories_name_the_line)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		ccs_sched_mtu_dir *d = (ccs_sched_mtu_dir *)1;
		char err[256] = "";
		size_t len = strlen(c->text);
		if (strcmp(c->name, "nul_byte") == 0)
			len = sizeof(HDR "mtu\tA\0") - 1;
		int rc = ccs_sched_mtu_dir_parse(c->text, len, "t.tsv", &d, err, sizeof(err));
		CCS_EQ_INT(rc, -EINVAL);
		CCS_TRUE(d == NULL);
		if (!strstr(err, c->want))
			fprintf(stderr, "  case %s: \"%s\" lacks \"%s\"\n", c->name, err, c->want);
		CCS_TRUE(strstr(err, c->want) != NULL);
	}
}

CCS_TEST(good_small_directory)
{
	static const char text[] =
		"# a comment\r\n" HDR "\n" MTU_A "district\tA\tFresno Unified\n"
		"therapist\tA\tT1\tPT\tMon,Wed 08:00-12:00; Tue,Thu-Fri 12:30-16:00\n"
		"therapist\tA\tT2\tOT\tmon-fri 08:00-16:00\n"
		"room\tA\tR1\t*\nroom\tA\tCONF\tCONF,PT\n"
		"closure\tA\t2025-12-22\t2026-01-02\tWinter break\n"
		"mtu\tB\tFresno\tHost School B\tOT\tMon-Fri 08:00-24:00";
	ccs_sched_mtu_dir *d = NULL;
	char err[256] = "";

	CCS_EQ_INT(parse(text, &d, err, sizeof(err)), 0);
	if (!d) {
		fprintf(stderr, "  %s\n", err);
		return;
	}
	CCS_EQ_INT(d->n_mtus, 2);
	const ccs_sched_mtu *a = &d->mtus[0];
	CCS_EQ_INT(a->line, 4);
	CCS_EQ_INT(a->n_therapists, 2);
	CCS_EQ_INT(a->therapists[0].hours[0].start_min, 480);
	CCS_EQ_INT(a->therapists[0].hours[0].end_min, 720);
	CCS_EQ_INT(a->therapists[0].hours[1].start_min, 750);
	CCS_EQ_INT(a->therapists[0].hours[2].end_min, 720);
	CCS_EQ_INT(a->therapists[0].hours[3].start_min, 750);
	CCS_EQ_INT(a->therapists[0].hours[4].end_min, 960);
	CCS_EQ_INT(a->therapists[0].hours[5].end_min, 0);
	CCS_EQ_INT(a->therapists[1].discipline, CCS_SCHED_OT);
	CCS_EQ_INT(a->rooms[0].uses, 0);
	CCS_EQ_INT(a->rooms[1].uses, CCS_SCHED_CONFERENCE | CCS_SCHED_PT);
	CCS_EQ_INT(a->n_closures, 1);
	CCS_EQ_INT(a->closures[0].last - a->closures[0].first, 11);
	CCS_EQ_INT(d->mtus[1].open[0].end_min, 1440);
	CCS_EQ_INT(d->mtus[1].disciplines, CCS_SCHED_OT);
	/* B serves no district: the county fallback finds A first */
	CCS_EQ_STR(ccs_sched_mtu_for(d, "Fresno", "Clovis Unified")->mtu_id, "A");
	ccs_sched_mtu_dir_free(d);
}

CCS_TEST(missing_file)
{
	ccs_sched_mtu_dir *d = NULL;
	char err[256] = "";

	CCS_EQ_INT(ccs_sched_mtu_dir_load("/nonexistent/mtu.tsv", &d, err, sizeof(err)), -ENOENT);
	CCS_TRUE(strstr(err, "/nonexistent/mtu.tsv") != NULL);
	CCS_TRUE(d == NULL);
}

/* Every county of the county table (deploy/data/counties.tsv) has a serving MTU (its own or a named
 * neighbour's); the facts the seeds give hold. */
CCS_TEST(sample_directory_serves_every_county)
{
	ccs_sched_mtu_dir *d = NULL;
	char err[256], line[256];
	size_t counties = 0, la = 0;

	CCS_EQ_INT(ccs_sched_mtu_dir_load(CCS_SCHED_SAMPLE_DIRECTORY, &d, err, sizeof(err)), 0);
	FILE *f = fopen(CCS_REF_COUNTIES_SOURCE, "r");
	CCS_TRUE(f != NULL);
	if (!d || !f)
		goto out;
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		if (line[0] == '#' || strncmp(line, "ccs-counties", 12) == 0 || sscanf(line, "%63[^\t\n]\t", name) != 1)
			continue;
		counties++;
		ccs_sched_mtu_how how;
		const ccs_sched_mtu *m = ccs_sched_mtu_select(d, name, NULL, CCS_SCHED_PT | CCS_SCHED_OT, &how);
		if (!m)
			fprintf(stderr, "  county %s has no serving MTU\n", name);
		CCS_TRUE(m != NULL);
		CCS_TRUE(how == CCS_SCHED_MTU_COUNTY || how == CCS_SCHED_MTU_NEIGHBOUR);
	}
	CCS_EQ_INT((int)counties, 58);
	for (size_t i = 0; i < d->n_mtus; i++)
		la += strcmp(d->mtus[i].county, "Los Angeles") == 0;
	CCS_EQ_INT((int)la, 22);
	const ccs_sched_mtu *im = ccs_sched_mtu_select(d, "Imperial", NULL, 0, NULL);
	CCS_TRUE(im && strstr(im->school, "El Centro") && strstr(im->school, "Exceptional Children"));
out:
	if (f)
		fclose(f);
	ccs_sched_mtu_dir_free(d);
}

/* District first, then the county, then the neighbour; a discipline the MTU lacks skips it. */
CCS_TEST(mtu_select_district_county_neighbour)
{
	static const char text[] = HDR
		"mtu\tF1\tFresno\tS1\tPT\tMon-Fri 08:00-16:00\n"
		"district\tF1\tFresno Unified\n"
		"mtu\tF2\tFresno\tS2\tPT,OT\tMon-Fri 08:00-16:00\n"
		"district\tF2\tClovis Unified\n"
		"serves\tF2\tMono\n";
	ccs_sched_mtu_dir *d = NULL;
	ccs_sched_mtu_how how;
	char err[256];

	CCS_EQ_INT(parse(text, &d, err, sizeof(err)), 0);
	if (!d)
		return;
	CCS_EQ_STR(ccs_sched_mtu_select(d, "Fresno", "Clovis Unified", 0, &how)->mtu_id, "F2");
	CCS_EQ_INT(how, CCS_SCHED_MTU_DISTRICT);
	CCS_EQ_STR(ccs_sched_mtu_select(d, "Fresno", "Fresno Unified", CCS_SCHED_PT, &how)->mtu_id, "F1");
	/* F1 has no OT: an OT evaluation goes to the county's MTU that has one */
	CCS_EQ_STR(ccs_sched_mtu_select(d, "Fresno", "Fresno Unified", CCS_SCHED_OT, &how)->mtu_id, "F2");
	CCS_EQ_INT(how, CCS_SCHED_MTU_COUNTY);
	CCS_EQ_STR(ccs_sched_mtu_select(d, "Fresno", "Unknown Unified", 0, &how)->mtu_id, "F1");
	CCS_EQ_INT(how, CCS_SCHED_MTU_COUNTY);
	CCS_EQ_STR(ccs_sched_mtu_select(d, "Mono County", NULL, 0, &how)->mtu_id, "F2");
	CCS_EQ_INT(how, CCS_SCHED_MTU_NEIGHBOUR);
	CCS_TRUE(ccs_sched_mtu_select(d, "Inyo", "Fresno Unified", 0, &how) == NULL);
	CCS_EQ_INT(how, CCS_SCHED_MTU_NONE);
	CCS_EQ_STR(ccs_sched_mtu_how_name(CCS_SCHED_MTU_NEIGHBOUR), "NEIGHBOUR");
	/* a county fallback spreads children over the county's MTUs, deterministically by case id;
	 * a district match never spreads */
	int seen1 = 0, seen2 = 0;
	for (int i = 0; i < 64; i++) {
		char key[16];
		snprintf(key, sizeof(key), "case-%d", i);
		const ccs_sched_mtu *m = ccs_sched_mtu_select_spread(d, "Fresno", "Unknown Unified", 0, key, &how);
		CCS_EQ_INT(how, CCS_SCHED_MTU_COUNTY);
		CCS_TRUE(m == ccs_sched_mtu_select_spread(d, "Fresno", NULL, 0, key, NULL));
		seen1 += strcmp(m->mtu_id, "F1") == 0;
		seen2 += strcmp(m->mtu_id, "F2") == 0;
		CCS_EQ_STR(ccs_sched_mtu_select_spread(d, "Fresno", "Fresno Unified", 0, key, NULL)->mtu_id, "F1");
		CCS_EQ_STR(ccs_sched_mtu_select_spread(d, "Fresno", NULL, CCS_SCHED_OT, key, NULL)->mtu_id, "F2");
		CCS_EQ_STR(ccs_sched_mtu_select_spread(d, "Mono", NULL, 0, key, NULL)->mtu_id, "F2");
	}
	CCS_TRUE(seen1 > 0 && seen2 > 0 && seen1 + seen2 == 64);
	ccs_sched_mtu_dir_free(d);
}

CCS_TEST(serves_mistakes_refused)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{HDR MTU_A "serves\tA\tFresno County\n", "t.tsv:3: serves: mtu A is in Fresno County already"},
		{HDR MTU_A "serves\tA\tMono\nserves\tA\tMono\n", "t.tsv:4: serves: county \"Mono\" is already served by mtu A"},
		{HDR MTU_A "serves\tA\tMadera\nmtu\tB\tMadera\tS\tPT\tMon-Fri 08:00-16:00\n",
		 "t.tsv:2: serves: county \"Madera\" has its own mtu B"},
		{HDR "serves\tZ\tMono\n", "t.tsv:2: unknown mtu \"Z\" (an mtu record must come first)"},
		{HDR MTU_A "serves\tA\n", "t.tsv:3: serves: expected 3 tab-separated fields, got 2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ccs_sched_mtu_dir *d = NULL;
		char err[256] = "";
		CCS_EQ_INT(parse(cases[i].text, &d, err, sizeof(err)), -EINVAL);
		CCS_EQ_STR(err, cases[i].msg);
		CCS_TRUE(d == NULL);
	}
}
