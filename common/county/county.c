/*
 * The county table loader and lookup (format and rules in ccs/county.h, design in README.md).
 *
 * The parser copies the input once into the table's arena, cuts it into lines and fields in
 * place and checks every field before a row is kept, so a table either loads whole or not at
 * all. Each row also keeps its normalised name, the key every lookup compares with; lookups
 * are a linear scan, which for 58 rows costs less than a hash of the name would.
 */
#include "ccs/county.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs/mem.h"

#define NFIELDS 7

struct row {
	ccs_county c;
	char key[CCS_COUNTY_NAME_MAX + 1]; /* normalised name */
};

struct ccs_county_table {
	struct row *rows;
	size_t n, cap;
	ccs_arena arena; /* the text of the file, cut into fields */
};

struct parser {
	const char *source;
	int line;
	char *errbuf;
	size_t errlen;
};

/* The file's words for the enums, indexed by the enum value. */
static const char *const model_words[] = {
	[CCS_COUNTY_MODEL_UNSPECIFIED] = "UNSPECIFIED",
	[CCS_COUNTY_INDEPENDENT] = "INDEPENDENT",
	[CCS_COUNTY_DEPENDENT] = "DEPENDENT",
};
static const char *const office_words[] = {
	[CCS_COUNTY_OFFICE_UNSPECIFIED] = "UNSPECIFIED",
	[CCS_COUNTY_OFFICE_COUNTY] = "COUNTY",
	[CCS_COUNTY_OFFICE_SACRAMENTO] = "SACRAMENTO",
	[CCS_COUNTY_OFFICE_SAN_FRANCISCO] = "SAN_FRANCISCO",
	[CCS_COUNTY_OFFICE_SOUTHERN_CALIFORNIA] = "SOUTHERN_CALIFORNIA",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errbuf && p->errlen) {
		if (p->line > 0)
			snprintf(p->errbuf, p->errlen, "%s:%d: %s", p->source, p->line, msg);
		else
			snprintf(p->errbuf, p->errlen, "%s: %s", p->source, msg);
	}
	return -EINVAL;
}

/* Locale-independent on purpose: the table and the wire are ASCII-cased. */
static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * The lookup key of a name: lower case, trimmed, inner whitespace runs as one space, a
 * trailing " county" dropped when something precedes it. Returns its length, or -1 when the
 * name is NULL, its key is longer than CCS_COUNTY_NAME_MAX or empty.
 */
static int normalise(const char *s, char out[CCS_COUNTY_NAME_MAX + 1])
{
	static const char suffix[] = " county";
	const size_t slen = sizeof(suffix) - 1;
	char buf[CCS_COUNTY_NAME_MAX + sizeof(suffix)]; /* room for the suffix it may drop */
	size_t n = 0;
	int pending_space = 0;

	if (!s)
		return -1;
	for (; *s; s++) {
		if (is_space((unsigned char)*s)) {
			pending_space = n > 0;
			continue;
		}
		if (n + (size_t)pending_space + 1 >= sizeof(buf))
			return -1;
		if (pending_space)
			buf[n++] = ' ';
		pending_space = 0;
		buf[n++] = (char)to_lower((unsigned char)*s);
	}
	if (n > slen && memcmp(buf + n - slen, suffix, slen) == 0)
		n -= slen;
	if (n == 0 || n > CCS_COUNTY_NAME_MAX)
		return -1;
	memcpy(out, buf, n);
	out[n] = '\0';
	return (int)n;
}

static int word_index(const char *const *words, size_t n, const char *w)
{
	for (size_t i = 1; i < n; i++) /* 0 is UNSPECIFIED: never a valid word in the file */
		if (strcmp(words[i], w) == 0)
			return (int)i;
	return 0;
}

/* A canonical name: letters, single inner spaces, '.', '-', '\'', no " County" suffix. */
static int check_name(struct parser *p, const char *name, char key[CCS_COUNTY_NAME_MAX + 1])
{
	size_t len = strlen(name);
	int letters = 0;

	if (len == 0)
		return fail(p, "county name is empty");
	if (len > CCS_COUNTY_NAME_MAX)
		return fail(p, "county name longer than %d bytes", CCS_COUNTY_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (is_alpha(c)) {
			letters++;
			continue;
		}
		if (c == ' ' && i > 0 && i + 1 < len && name[i + 1] != ' ')
			continue;
		if (c == '.' || c == '-' || c == '\'')
			continue;
		return fail(p, "county name \"%s\" may hold only letters, single inner spaces, '.', '-' and '''",
			    name);
	}
	if (!letters)
		return fail(p, "county name \"%s\" has no letter", name);
	if (normalise(name, key) < 0 || strlen(key) != len)
		return fail(p, "county name \"%s\" must be given without the word County", name);
	return 0;
}

static int check_code(struct parser *p, const char *code)
{
	if (!(code[0] >= '0' && code[0] <= '9' && code[1] >= '0' && code[1] <= '9' && !code[2]) ||
	    strcmp(code, "00") == 0)
		return fail(p, "county code \"%s\" must be 2 digits, 01 to 99", code);
	return 0;
}

static int parse_population(struct parser *p, const char *s, long *out)
{
	size_t n = strlen(s);

	if (n == 0 || n > 9 || strspn(s, "0123456789") != n)
		return fail(p, "population \"%s\" must be a count of at most 9 digits", s);
	*out = strtol(s, NULL, 10);
	return 0;
}

/* Split a line in place on single tabs; returns the number of fields (max + 1 = too many). */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;

	for (;;) {
		if (n == max)
			return max + 1;
		f[n++] = line;
		char *t = strchr(line, '\t');
		if (!t)
			return n;
		*t = '\0';
		line = t + 1;
	}
}

static void table_push(ccs_county_table *t, const struct row *r)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->rows = ccs_xrealloc(t->rows, t->cap * sizeof(*t->rows));
	}
	t->rows[t->n++] = *r;
}

static int parse_row(struct parser *p, ccs_county_table *t, char *line)
{
	char *f[NFIELDS];
	struct row r;
	int n = split_tabs(line, f, NFIELDS), rc;

	if (n != NFIELDS)
		return fail(p, "expected %d tab-separated fields (name code model office population basis "
			       "source), found %s%d",
			    NFIELDS, n > NFIELDS ? "more than " : "", n > NFIELDS ? NFIELDS : n);
	memset(&r, 0, sizeof(r));
	if ((rc = check_name(p, f[0], r.key)) != 0 || (rc = check_code(p, f[1])) != 0)
		return rc;
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->rows[i].key, r.key) == 0)
			return fail(p, "county \"%s\" listed twice (first on line %d)", f[0],
				    t->rows[i].c.line);
		if (strcmp(t->rows[i].c.code, f[1]) == 0)
			return fail(p, "county code %s listed twice (first on line %d)", f[1],
				    t->rows[i].c.line);
	}
	r.c.model = (ccs_county_model)word_index(model_words, ARRAY_LEN(model_words), f[2]);
	if (!r.c.model)
		return fail(p, "model \"%s\" must be INDEPENDENT or DEPENDENT", f[2]);
	r.c.office = (ccs_county_office)word_index(office_words, ARRAY_LEN(office_words), f[3]);
	if (!r.c.office)
		return fail(p, "office \"%s\" must be COUNTY, SACRAMENTO, SAN_FRANCISCO or "
			       "SOUTHERN_CALIFORNIA",
			    f[3]);
	/* An independent county reviews its own cases; a dependent one is reviewed by the State. */
	if (r.c.model == CCS_COUNTY_INDEPENDENT && r.c.office != CCS_COUNTY_OFFICE_COUNTY)
		return fail(p, "an INDEPENDENT county is reviewed by COUNTY, not %s", f[3]);
	if (r.c.model == CCS_COUNTY_DEPENDENT && r.c.office == CCS_COUNTY_OFFICE_COUNTY)
		return fail(p, "a DEPENDENT county is reviewed by a regional office, not COUNTY");
	if ((rc = parse_population(p, f[4], &r.c.population)) != 0)
		return rc;
	if (strcmp(f[5], "SOURCED") == 0)
		r.c.sourced = 1;
	else if (strcmp(f[5], "BEST_KNOWLEDGE") != 0)
		return fail(p, "basis \"%s\" must be SOURCED or BEST_KNOWLEDGE", f[5]);
	if (strspn(f[6], " ") == strlen(f[6]))
		return fail(p, "source is empty: say where the row comes from");
	r.c.name = f[0];
	r.c.code = f[1];
	r.c.source = f[6];
	r.c.line = p->line;
	table_push(t, &r);
	return 0;
}

/* The first record: "ccs-counties<TAB>1". */
static int parse_header(struct parser *p, char *line)
{
	char *f[2];
	int n = split_tabs(line, f, 2);

	if (n != 2 || strcmp(f[0], "ccs-counties") != 0)
		return fail(p, "first record must be \"ccs-counties<TAB>%d\"", CCS_COUNTY_FORMAT_VERSION);
	if (strcmp(f[1], "1") != 0)
		return fail(p, "format version \"%s\" is not supported (this build reads %d)", f[1],
			    CCS_COUNTY_FORMAT_VERSION);
	return 0;
}

int ccs_county_parse(const char *data, size_t len, const char *source, ccs_county_table **out,
		     char *errbuf, size_t errlen)
{
	struct parser p = {source ? source : "counties", 0, errbuf, errlen};
	ccs_county_table *t = NULL;
	int rc = 0, have_header = 0;
	char *text, *line, *next;

	*out = NULL;
	if (len > CCS_COUNTY_MAX_BYTES) {
		fail(&p, "larger than %u bytes", CCS_COUNTY_MAX_BYTES);
		rc = -EFBIG;
		goto out;
	}
	if (data == NULL && len > 0) {
		rc = fail(&p, "no data");
		goto out;
	}
	if (len > 0 && memchr(data, '\0', len)) {
		p.line = 1;
		for (const char *q = data; *q; q++)
			p.line += *q == '\n';
		rc = fail(&p, "NUL byte");
		goto out;
	}
	t = ccs_xcalloc(1, sizeof(*t));
	ccs_arena_init(&t->arena, len + 64);
	text = ccs_arena_alloc(&t->arena, len + 1);
	if (len > 0)
		memcpy(text, data, len);
	text[len] = '\0';
	for (line = text; line; line = next) {
		size_t l;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p.line++;
		l = strlen(line);
		if (l > 0 && line[l - 1] == '\r')
			line[--l] = '\0';
		if (l == 0 || line[0] == '#')
			continue;
		if (!have_header) {
			if ((rc = parse_header(&p, line)) != 0)
				goto out;
			have_header = 1;
			continue;
		}
		if ((rc = parse_row(&p, t, line)) != 0)
			goto out;
	}
	p.line = 0;
	if (!have_header) {
		rc = fail(&p, "empty: no \"ccs-counties<TAB>%d\" record", CCS_COUNTY_FORMAT_VERSION);
		goto out;
	}
	if (t->n == 0) {
		rc = fail(&p, "no county rows");
		goto out;
	}
	*out = t;
	t = NULL;
out:
	ccs_county_free(t);
	return rc;
}

int ccs_county_load(const char *path, ccs_county_table **out, char *errbuf, size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 16 * 1024;
	int rc = 0;

	*out = NULL;
	if (!path || !*path) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "county table: no file given");
		rc = -EINVAL;
		goto out;
	}
	f = fopen(path, "rb");
	if (!f) {
		rc = -errno;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	buf = ccs_xmalloc(cap);
	for (;;) {
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
		if (len > CCS_COUNTY_MAX_BYTES) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "%s: larger than %u bytes", path, CCS_COUNTY_MAX_BYTES);
			rc = -EFBIG;
			goto out;
		}
		if (len == cap) {
			cap *= 2;
			buf = ccs_xrealloc(buf, cap);
		}
	}
	if (ferror(f)) {
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "%s: read error", path);
		rc = -EIO;
		goto out;
	}
	rc = ccs_county_parse(buf, len, path, out, errbuf, errlen);
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

void ccs_county_free(ccs_county_table *t)
{
	if (!t)
		return;
	free(t->rows);
	ccs_arena_destroy(&t->arena);
	free(t);
}

size_t ccs_county_count(const ccs_county_table *t)
{
	return t ? t->n : 0;
}

const ccs_county *ccs_county_at(const ccs_county_table *t, size_t i)
{
	return t && i < t->n ? &t->rows[i].c : NULL;
}

const ccs_county *ccs_county_find(const ccs_county_table *t, const char *name)
{
	char key[CCS_COUNTY_NAME_MAX + 1];

	if (!t || normalise(name, key) < 0)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->rows[i].key, key) == 0)
			return &t->rows[i].c;
	return NULL;
}

int ccs_county_same(const ccs_county_table *t, const char *a, const char *b)
{
	const ccs_county *ca = ccs_county_find(t, a);

	return ca != NULL && ca == ccs_county_find(t, b);
}

const char *ccs_county_model_name(ccs_county_model m)
{
	return (size_t)m < ARRAY_LEN(model_words) ? model_words[m] : "UNSPECIFIED";
}

const char *ccs_county_office_name(ccs_county_office o)
{
	return (size_t)o < ARRAY_LEN(office_words) ? office_words[o] : "UNSPECIFIED";
}

const char *ccs_county_path(const char *configured)
{
	if (configured && *configured)
		return configured;
	return access(CCS_COUNTIES_INSTALLED, R_OK) == 0 ? CCS_COUNTIES_INSTALLED : CCS_COUNTIES_SOURCE;
}

void ccs_county_slug(const char *in, char *out, size_t len)
{
	size_t k = 0;
	if (!len)
		return;
	for (; *in && k + 1 < len; in++) {
		unsigned char c = (unsigned char)*in;
		if (isalnum(c))
			out[k++] = (char)tolower(c);
		else if (k && out[k - 1] != '-')
			out[k++] = '-';
	}
	while (k && out[k - 1] == '-')
		k--;
	out[k] = '\0';
}
