/*
 * Unit tests of common/county/county.c: a good table loads with every field, each kind of bad
 * line is refused naming the line and the reason, names are found however they are written,
 * and the shipped deploy/data/counties.tsv loads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs/county.h"
#include "ccs_test.h"

CCS_TEST_MAIN()

#define HDR "ccs-counties\t1\n"
#define SRC "\tBEST_KNOWLEDGE\tgeography\n"

static const char good[] =
	"# a comment\n"
	"\n" HDR
	"Los Angeles\t19\tINDEPENDENT\tCOUNTY\t10014009" SRC
	"Imperial\t13\tDEPENDENT\tSOUTHERN_CALIFORNIA\t179702\tSOURCED\tImperial County MTP page\r\n"
	"San Luis Obispo\t40\tINDEPENDENT\tCOUNTY\t282424" SRC
	"Del Norte\t08\tDEPENDENT\tSAN_FRANCISCO\t27743" SRC
	"Alpine\t02\tDEPENDENT\tSACRAMENTO\t0" SRC;

static ccs_county_table *parse(const char *text, char *err, size_t errlen, int *rc)
{
	ccs_county_table *t = NULL;

	*rc = ccs_county_parse(text, strlen(text), "counties.tsv", &t, err, errlen);
	return t;
}

CCS_TEST(good_table)
{
	char err[256] = "";
	int rc;
	ccs_county_table *t = parse(good, err, sizeof(err), &rc);

	CCS_EQ_INT(rc, 0);
	CCS_EQ_STR(err, "");
	CCS_EQ_INT(ccs_county_count(t), 5);
	const ccs_county *c = ccs_county_at(t, 1);
	CCS_EQ_STR(c->name, "Imperial");
	CCS_EQ_STR(c->code, "13");
	CCS_EQ_INT(c->model, CCS_COUNTY_DEPENDENT);
	CCS_EQ_INT(c->office, CCS_COUNTY_OFFICE_SOUTHERN_CALIFORNIA);
	CCS_EQ_INT(c->population, 179702);
	CCS_EQ_INT(c->sourced, 1);
	CCS_EQ_STR(c->source, "Imperial County MTP page"); /* CR of a CRLF line dropped */
	CCS_EQ_INT(c->line, 5);
	c = ccs_county_at(t, 0);
	CCS_EQ_INT(c->model, CCS_COUNTY_INDEPENDENT);
	CCS_EQ_INT(c->office, CCS_COUNTY_OFFICE_COUNTY);
	CCS_EQ_INT(c->sourced, 0);
	CCS_EQ_STR(c->source, "geography");
	CCS_TRUE(ccs_county_at(t, 5) == NULL);
	CCS_EQ_STR(ccs_county_model_name(c->model), "INDEPENDENT");
	CCS_EQ_STR(ccs_county_office_name(CCS_COUNTY_OFFICE_SAN_FRANCISCO), "SAN_FRANCISCO");
	CCS_EQ_STR(ccs_county_office_name((ccs_county_office)99), "UNSPECIFIED");
	ccs_county_free(t);
}

/* One bad line each: refused as a whole, the message names the line and the reason. */
CCS_TEST(bad_lines)
{
	static const struct {
		const char *what, *text, *expect; /* expect: a substring of the message */
	} t[] = {
		{"no header", "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC,
		 "counties.tsv:1: first record must be"},
		{"header version", "ccs-counties\t2\n", "counties.tsv:1: format version \"2\" is not supported"},
		{"header fields", "ccs-counties\n", "counties.tsv:1: first record must be"},
		{"empty file", "", "counties.tsv: empty"},
		{"only comments", "# nothing\n\n", "counties.tsv: empty"},
		{"no rows", HDR "# none\n", "counties.tsv: no county rows"},
		{"too few fields", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204\n",
		 "counties.tsv:2: expected 7 tab-separated fields"},
		{"too many fields", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204\tSOURCED\tx\ty\n",
		 "found more than 7"},
		{"spaces for tabs", HDR "Alpine 02 DEPENDENT SACRAMENTO 1204 SOURCED x\n", "found 1"},
		{"empty name", HDR "\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC, "counties.tsv:2: county name is empty"},
		{"name with digit", HDR "Alpine2\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC, "may hold only letters"},
		{"name double space", HDR "San  Diego\t37\tINDEPENDENT\tCOUNTY\t1" SRC, "may hold only letters"},
		{"name leading space", HDR " Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC, "may hold only letters"},
		{"name with County", HDR "Alpine County\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC,
		 "without the word County"},
		{"name no letter", HDR "-.\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC, "has no letter"},
		{"name too long",
		 HDR "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\t02\tDEPENDENT\tSACRAMENTO\t1" SRC,
		 "longer than 64 bytes"},
		{"duplicate name", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC "ALPINE\t03\tDEPENDENT\tSACRAMENTO\t1" SRC,
		 "counties.tsv:3: county \"ALPINE\" listed twice (first on line 2)"},
		{"code one digit", HDR "Alpine\t2\tDEPENDENT\tSACRAMENTO\t1204" SRC, "county code \"2\" must be 2 digits"},
		{"code 00", HDR "Alpine\t00\tDEPENDENT\tSACRAMENTO\t1204" SRC, "must be 2 digits, 01 to 99"},
		{"code letters", HDR "Alpine\tAB\tDEPENDENT\tSACRAMENTO\t1204" SRC, "must be 2 digits"},
		{"duplicate code", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC "Amador\t02\tDEPENDENT\tSACRAMENTO\t1" SRC,
		 "counties.tsv:3: county code 02 listed twice (first on line 2)"},
		{"model unknown", HDR "Alpine\t02\tdependent\tSACRAMENTO\t1204" SRC,
		 "model \"dependent\" must be INDEPENDENT or DEPENDENT"},
		{"model UNSPECIFIED", HDR "Alpine\t02\tUNSPECIFIED\tSACRAMENTO\t1204" SRC, "must be INDEPENDENT"},
		{"office unknown", HDR "Alpine\t02\tDEPENDENT\tLOS_ANGELES\t1204" SRC, "office \"LOS_ANGELES\" must be"},
		{"independent with regional office", HDR "Orange\t30\tINDEPENDENT\tSACRAMENTO\t3186989" SRC,
		 "an INDEPENDENT county is reviewed by COUNTY, not SACRAMENTO"},
		{"dependent reviewing itself", HDR "Alpine\t02\tDEPENDENT\tCOUNTY\t1204" SRC,
		 "a DEPENDENT county is reviewed by a regional office"},
		{"population negative", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t-1" SRC, "population \"-1\" must be a count"},
		{"population empty", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t" SRC, "population \"\" must be a count"},
		{"population separators", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1,204" SRC, "must be a count"},
		{"population too long", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1234567890" SRC, "at most 9 digits"},
		{"basis unknown", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204\tGUESS\tx\n",
		 "basis \"GUESS\" must be SOURCED or BEST_KNOWLEDGE"},
		{"source empty", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204\tSOURCED\t\n", "source is empty"},
		{"source blank", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204\tSOURCED\t   \n", "source is empty"},
		{"bad line after good ones", HDR "Alpine\t02\tDEPENDENT\tSACRAMENTO\t1204" SRC "# c\n\nAmador\t03\tX\tY\t1" SRC,
		 "counties.tsv:5: model \"X\""},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char err[256] = "";
		int rc;
		ccs_county_table *tb = parse(t[i].text, err, sizeof(err), &rc);
		if (rc != -EINVAL || !strstr(err, t[i].expect))
			fprintf(stderr, "  case %s: rc %d, \"%s\"\n", t[i].what, rc, err);
		CCS_EQ_INT(rc, -EINVAL);
		CCS_TRUE(tb == NULL);
		CCS_TRUE(strstr(err, t[i].expect) != NULL);
	}
}

CCS_TEST(bad_bytes)
{
	char err[256] = "";
	ccs_county_table *t = NULL;
	static const char nul[] = HDR "Alpine\t02\tDEP\0ENDENT\tSACRAMENTO\t1" SRC;

	CCS_EQ_INT(ccs_county_parse(nul, sizeof(nul) - 1, "counties.tsv", &t, err, sizeof(err)), -EINVAL);
	CCS_EQ_STR(err, "counties.tsv:2: NUL byte");
	CCS_TRUE(t == NULL);
	size_t big = CCS_COUNTY_MAX_BYTES + 1;
	char *buf = calloc(1, big);
	memset(buf, '#', big);
	CCS_EQ_INT(ccs_county_parse(buf, big, "counties.tsv", &t, err, sizeof(err)), -EFBIG);
	CCS_TRUE(strstr(err, "larger than") != NULL);
	free(buf);
	/* A NULL error buffer is allowed. */
	CCS_EQ_INT(ccs_county_parse("x", 1, "counties.tsv", &t, NULL, 0), -EINVAL);
}

CCS_TEST(find_normalises)
{
	static const struct {
		const char *in, *name;
	} t[] = {
		{"Los Angeles", "Los Angeles"},        {"los angeles", "Los Angeles"},
		{"LOS ANGELES", "Los Angeles"},        {" Los\t Angeles  ", "Los Angeles"},
		{"Los Angeles County", "Los Angeles"}, {"los angeles county ", "Los Angeles"},
		{"Los Angeles  COUNTY", "Los Angeles"}, {"\tImperial\n", "Imperial"},
		{"san luis obispo county", "San Luis Obispo"}, {"Del Norte", "Del Norte"},
		{"LosAngeles", NULL},                  {"Los Angeles Cty", NULL},
		{"County", NULL},                      {" county", NULL},
		{"", NULL},                            {"   ", NULL},
		{"Los Angeles County County", NULL},   {"San", NULL},
		{"Los Angeles CountyX", NULL},         {"Alpine2", NULL},
		{"Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL},
	};
	char err[256];
	int rc;
	ccs_county_table *tb = parse(good, err, sizeof(err), &rc);

	CCS_EQ_INT(rc, 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const ccs_county *c = ccs_county_find(tb, t[i].in);
		if (!!c != !!t[i].name)
			fprintf(stderr, "  \"%s\" -> %s\n", t[i].in, c ? c->name : "(none)");
		CCS_TRUE(!!c == !!t[i].name);
		if (c && t[i].name)
			CCS_EQ_STR(c->name, t[i].name);
	}
	/* A name of the longest length is still found with " County" after it (fuzzer finding). */
	{
		static const char longest[] = HDR "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\t01\tINDEPENDENT\tCOUNTY\t1" SRC;
		ccs_county_table *lt = parse(longest, err, sizeof(err), &rc);
		CCS_EQ_INT(rc, 0);
		CCS_EQ_INT(strlen(ccs_county_at(lt, 0)->name), CCS_COUNTY_NAME_MAX);
		CCS_TRUE(ccs_county_find(lt, " Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  County ") ==
			 ccs_county_at(lt, 0));
		ccs_county_free(lt);
	}
	CCS_TRUE(ccs_county_find(tb, NULL) == NULL);
	CCS_TRUE(ccs_county_find(NULL, "Imperial") == NULL);
	/* What eligibility compares residency with. */
	CCS_TRUE(ccs_county_same(tb, "Los Angeles County", "los angeles"));
	CCS_TRUE(ccs_county_same(tb, "Imperial", " IMPERIAL county"));
	CCS_TRUE(!ccs_county_same(tb, "Imperial", "Los Angeles"));
	CCS_TRUE(!ccs_county_same(tb, "Gotham", "Gotham")); /* unknown is never the same */
	CCS_TRUE(!ccs_county_same(tb, NULL, NULL));
	ccs_county_free(tb);
	ccs_county_free(NULL);
}

CCS_TEST(load_files)
{
	char err[256] = "", path[] = "/tmp/ccs_county_test_XXXXXX";
	ccs_county_table *t = NULL;

	CCS_EQ_INT(ccs_county_load(CCS_COUNTIES_TSV, &t, err, sizeof(err)), 0);
	CCS_EQ_INT(ccs_county_count(t), 58);
	CCS_EQ_STR(ccs_county_find(t, "Imperial County")->code, "13");
	ccs_county_free(t);

	CCS_EQ_INT(ccs_county_load("/nonexistent/counties.tsv", &t, err, sizeof(err)), -ENOENT);
	CCS_EQ_STR(err, "/nonexistent/counties.tsv: No such file or directory");
	CCS_EQ_INT(ccs_county_load("", &t, err, sizeof(err)), -EINVAL);
	CCS_EQ_INT(ccs_county_load(NULL, &t, err, sizeof(err)), -EINVAL);

	/* A bad file on disk names its path and line. */
	int fd = mkstemp(path);
	CCS_TRUE(fd >= 0);
	static const char bad[] = HDR "Alpine\t02\tDEPENDENT\tCOUNTY\t1204" SRC;
	CCS_EQ_INT(write(fd, bad, sizeof(bad) - 1), (long)(sizeof(bad) - 1));
	close(fd);
	CCS_EQ_INT(ccs_county_load(path, &t, err, sizeof(err)), -EINVAL);
	char expect[128];
	snprintf(expect, sizeof(expect), "%s:2: a DEPENDENT county", path);
	CCS_TRUE(strncmp(err, expect, strlen(expect)) == 0);
	CCS_TRUE(t == NULL);
	unlink(path);
}

/* Stream topic names (office and county streams) spell a name one way. */
CCS_TEST(slug)
{
	static const struct {
		const char *in, *want;
		size_t len;
	} cases[] = {
		{"Los Angeles", "los-angeles", 64},
		{"San Luis Obispo", "san-luis-obispo", 64},
		{"SOUTHERN_CALIFORNIA", "southern-california", 64},
		{"  Contra  Costa. ", "contra-costa", 64},
		{"---", "", 64},
		{"", "", 64},
		{"Los Angeles", "los", 5}, /* cut to the buffer, never ending in '-' */
	};
	char out[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ccs_county_slug(cases[i].in, out, cases[i].len);
		CCS_EQ_STR(out, cases[i].want);
	}
}
