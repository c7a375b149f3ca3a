/*
 * The MTU directory loader (format in mtu_directory.h).
 *
 * The input is operator-supplied, so the parser trusts nothing: every line is split into
 * exactly the fields its record kind declares (the record table below), every field is checked
 * (no control characters, bounded length, no duplicate ids), and the first problem stops the
 * load with "source:line: message". A half-loaded directory is never returned: the caller keeps
 * the previous one on error (reload is all-or-nothing).
 */
#include "mtu_directory.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 8
#define MAX_FIELD_LEN 200

struct parser {
	ccs_sched_mtu_dir *d;
	const char *source;
	int line;
	char *errbuf;
	size_t errlen;
	size_t cap_mtus;
	/* growth capacities of the current MTU arrays, parallel to d->mtus */
	struct caps {
		size_t districts, therapists, rooms, closures, serves;
	} *caps;
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->errbuf && p->errlen) {
		n = snprintf(p->errbuf, p->errlen, "%s:%d: ", p->source, p->line);
		if (n >= 0 && (size_t)n < p->errlen) {
			va_start(ap, fmt);
			vsnprintf(p->errbuf + n, p->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

/* Doubles *cap as needed so that n + 1 elements fit. */
static void *grow(void *arr, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 4;
	return ccs_xrealloc(arr, *cap * elem);
}

static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

static int parse_day(const char **pp)
{
	for (int i = 0; i < 7; i++) {
		if (strncasecmp(*pp, day_names[i], 3) == 0) {
			*pp += 3;
			return i;
		}
	}
	return -1;
}

/* "HH:MM", 00:00 .. 24:00. */
static int parse_hhmm(const char **pp)
{
	const char *s = *pp;
	int hh, mm;

	for (int i = 0; i < 5; i++)
		if (i == 2 ? s[i] != ':' : (s[i] < '0' || s[i] > '9'))
			return -1;
	hh = (s[0] - '0') * 10 + (s[1] - '0');
	mm = (s[3] - '0') * 10 + (s[4] - '0');
	if (mm > 59 || hh > 24 || (hh == 24 && mm != 0))
		return -1;
	*pp = s + 5;
	return hh * 60 + mm;
}

static void skip_spaces(const char **pp)
{
	while (**pp == ' ')
		(*pp)++;
}

/* Weekly hours: segments "DAYS HH:MM-HH:MM" separated by ';'. */
static int parse_hours(struct parser *p, const char *field, const char *what,
		       ccs_sched_hours out[7])
{
	const char *s = field;
	int seen = 0;

	memset(out, 0, 7 * sizeof(out[0]));
	for (;;) {
		int days = 0, start, end;
		skip_spaces(&s);
		for (;;) {
			int a = parse_day(&s), b;
			if (a < 0)
				return fail(p, "%s: expected a weekday (Mon..Sun) at \"%.20s\"",
					    what, s);
			b = a;
			if (*s == '-') {
				s++;
				b = parse_day(&s);
				if (b < a)
					return fail(p, "%s: bad weekday range", what);
			}
			for (int d = a; d <= b; d++)
				days |= 1 << d;
			if (*s != ',')
				break;
			s++;
		}
		if (*s != ' ')
			return fail(p, "%s: expected a space after the weekdays", what);
		skip_spaces(&s);
		start = parse_hhmm(&s);
		if (start < 0 || *s != '-')
			return fail(p, "%s: expected HH:MM-HH:MM", what);
		s++;
		end = parse_hhmm(&s);
		if (end < 0)
			return fail(p, "%s: expected HH:MM-HH:MM", what);
		if (start >= end)
			return fail(p, "%s: start must be before end", what);
		if (days & seen)
			return fail(p, "%s: a weekday is given twice", what);
		seen |= days;
		for (int d = 0; d < 7; d++)
			if (days & (1 << d))
				out[d] = (ccs_sched_hours){start, end};
		skip_spaces(&s);
		if (*s == '\0')
			return 0;
		if (*s != ';')
			return fail(p, "%s: unexpected \"%.20s\"", what, s);
		s++;
	}
}

/* Comma-separated names from the table; '*' = 0 (any) when allowed. */
static int parse_uses(struct parser *p, const char *field, int allow_conf, unsigned *out)
{
	static const struct {
		const char *name;
		unsigned bit;
	} uses[] = {{"PT", CCS_SCHED_PT}, {"OT", CCS_SCHED_OT}, {"CONF", CCS_SCHED_CONFERENCE}};
	const char *s = field;

	*out = 0;
	if (allow_conf && strcmp(field, "*") == 0)
		return 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		size_t i;
		for (i = 0; i < sizeof(uses) / sizeof(uses[0]); i++)
			if (strlen(uses[i].name) == n && strncasecmp(s, uses[i].name, n) == 0)
				break;
		if (i == sizeof(uses) / sizeof(uses[0]) ||
		    (!allow_conf && uses[i].bit == CCS_SCHED_CONFERENCE))
			return fail(p, "unknown %s \"%.*s\"",
				    allow_conf ? "room use" : "discipline", (int)(n > 20 ? 20 : n),
				    s);
		if (*out & uses[i].bit)
			return fail(p, "\"%.*s\" given twice", (int)n, s);
		*out |= uses[i].bit;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

/* Length of name without a trailing " <suffix>" (case-insensitive), e.g. "Fresno County". */
static size_t stem_len(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n > k + 1 && name[n - k - 1] == ' ' && strcasecmp(name + n - k, suffix) == 0)
		return n - k - 1;
	return n;
}

/* Names as people write them: case-insensitive, with or without the suffix, so that
 * "Los Angeles County" finds "Los Angeles" and "Clovis Unified School District" finds
 * "Clovis Unified". */
static int same_name(const char *a, const char *b, const char *suffix)
{
	size_t la = stem_len(a, suffix), lb = stem_len(b, suffix);

	return la == lb && strncasecmp(a, b, la) == 0;
}

static ccs_sched_mtu *mtu_by_id(const ccs_sched_mtu_dir *d, const char *id, size_t *idx)
{
	for (size_t i = 0; i < d->n_mtus; i++) {
		if (strcmp(d->mtus[i].mtu_id, id) == 0) {
			if (idx)
				*idx = i;
			return &d->mtus[i];
		}
	}
	return NULL;
}

static int owner(struct parser *p, const char *id, ccs_sched_mtu **m, size_t *idx)
{
	*m = mtu_by_id(p->d, id, idx);
	if (!*m)
		return fail(p, "unknown mtu \"%s\" (an mtu record must come first)", id);
	return 0;
}

static int rec_mtu(struct parser *p, char **f)
{
	ccs_sched_mtu_dir *d = p->d;
	ccs_sched_mtu *m;
	ccs_sched_hours open[7];
	unsigned disc;
	int rc;

	if (mtu_by_id(d, f[1], NULL))
		return fail(p, "duplicate mtu \"%s\"", f[1]);
	if ((rc = parse_uses(p, f[4], 0, &disc)) != 0)
		return rc;
	if ((rc = parse_hours(p, f[5], "mtu hours", open)) != 0)
		return rc;
	size_t before = p->cap_mtus;
	d->mtus = grow(d->mtus, d->n_mtus, &p->cap_mtus, sizeof(*d->mtus));
	if (p->cap_mtus != before) {
		p->caps = ccs_xrealloc(p->caps, p->cap_mtus * sizeof(*p->caps));
	}
	memset(&p->caps[d->n_mtus], 0, sizeof(*p->caps));
	m = &d->mtus[d->n_mtus++];
	memset(m, 0, sizeof(*m));
	m->mtu_id = ccs_arena_strdup(&d->arena, f[1]);
	m->county = ccs_arena_strdup(&d->arena, f[2]);
	m->school = ccs_arena_strdup(&d->arena, f[3]);
	m->disciplines = disc;
	memcpy(m->open, open, sizeof(open));
	m->line = p->line;
	return 0;
}

static int rec_district(struct parser *p, char **f)
{
	ccs_sched_mtu *m;
	size_t i;
	int rc;

	if ((rc = owner(p, f[1], &m, &i)) != 0)
		return rc;
	for (size_t k = 0; k < m->n_districts; k++)
		if (same_name(m->districts[k], f[2], "school district"))
			return fail(p, "district \"%s\" listed twice for mtu %s", f[2], m->mtu_id);
	m->districts = grow(m->districts, m->n_districts, &p->caps[i].districts,
			    sizeof(*m->districts));
	m->districts[m->n_districts++] = ccs_arena_strdup(&p->d->arena, f[2]);
	return 0;
}

/* A county without its own MTU is served by a named neighbour's MTU. A county with an MTU of
 * its own cannot be "served" by another (the county's own MTU wins anyway, so the record would
 * be a mistake); that is checked once the whole file is read. */
static int rec_serves(struct parser *p, char **f)
{
	ccs_sched_mtu *m;
	size_t i;
	int rc;

	if ((rc = owner(p, f[1], &m, &i)) != 0)
		return rc;
	if (same_name(m->county, f[2], "county"))
		return fail(p, "serves: mtu %s is in %s already", m->mtu_id, f[2]);
	for (size_t k = 0; k < p->d->n_mtus; k++)
		for (size_t j = 0; j < p->d->mtus[k].n_serves; j++)
			if (same_name(p->d->mtus[k].serves[j], f[2], "county"))
				return fail(p, "serves: county \"%s\" is already served by mtu %s", f[2],
					    p->d->mtus[k].mtu_id);
	m->serves = grow(m->serves, m->n_serves, &p->caps[i].serves, sizeof(*m->serves));
	m->serves[m->n_serves++] = ccs_arena_strdup(&p->d->arena, f[2]);
	return 0;
}

static int rec_therapist(struct parser *p, char **f)
{
	ccs_sched_mtu *m;
	ccs_sched_therapist t;
	unsigned disc;
	size_t i;
	int rc;

	if ((rc = owner(p, f[1], &m, &i)) != 0)
		return rc;
	for (size_t k = 0; k < m->n_therapists; k++)
		if (strcmp(m->therapists[k].id, f[2]) == 0)
			return fail(p, "duplicate therapist \"%s\" in mtu %s", f[2], m->mtu_id);
	if ((rc = parse_uses(p, f[3], 0, &disc)) != 0)
		return rc;
	if (disc != CCS_SCHED_PT && disc != CCS_SCHED_OT)
		return fail(p, "a therapist has exactly one discipline (PT or OT)");
	if (!(m->disciplines & disc))
		return fail(p, "mtu %s does not offer %s", m->mtu_id,
			    ccs_sched_discipline_name((int)disc));
	if ((rc = parse_hours(p, f[4], "therapist hours", t.hours)) != 0)
		return rc;
	for (int wd = 0; wd < 7; wd++) {
		const ccs_sched_hours *h = &t.hours[wd], *o = &m->open[wd];
		if (h->start_min < h->end_min &&
		    (h->start_min < o->start_min || h->end_min > o->end_min))
			return fail(p, "therapist %s works outside the hours of mtu %s on %s", f[2],
				    m->mtu_id, day_names[wd]);
	}
	t.id = ccs_arena_strdup(&p->d->arena, f[2]);
	t.discipline = (int)disc;
	m->therapists = grow(m->therapists, m->n_therapists, &p->caps[i].therapists,
			     sizeof(*m->therapists));
	m->therapists[m->n_therapists++] = t;
	return 0;
}

static int rec_room(struct parser *p, char **f)
{
	ccs_sched_mtu *m;
	unsigned uses;
	size_t i;
	int rc;

	if ((rc = owner(p, f[1], &m, &i)) != 0)
		return rc;
	for (size_t k = 0; k < m->n_rooms; k++)
		if (strcmp(m->rooms[k].id, f[2]) == 0)
			return fail(p, "duplicate room \"%s\" in mtu %s", f[2], m->mtu_id);
	if ((rc = parse_uses(p, f[3], 1, &uses)) != 0)
		return rc;
	m->rooms = grow(m->rooms, m->n_rooms, &p->caps[i].rooms, sizeof(*m->rooms));
	m->rooms[m->n_rooms++] = (ccs_sched_room){ccs_arena_strdup(&p->d->arena, f[2]), uses};
	return 0;
}

static int rec_closure(struct parser *p, char **f)
{
	ccs_sched_mtu *m;
	ccs_date first, last;
	size_t i;
	int rc;

	if ((rc = owner(p, f[1], &m, &i)) != 0)
		return rc;
	first = ccs_date_parse(f[2]);
	last = ccs_date_parse(f[3]);
	if (first == CCS_DATE_INVALID || last == CCS_DATE_INVALID)
		return fail(p, "closure: dates must be YYYY-MM-DD");
	if (first > last)
		return fail(p, "closure: first day %s is after last day %s", f[2], f[3]);
	m->closures = grow(m->closures, m->n_closures, &p->caps[i].closures,
			   sizeof(*m->closures));
	m->closures[m->n_closures++] = (ccs_sched_closure){first, last};
	return 0;
}

/* The record kinds: the first field names one, which fixes the field count. */
static const struct record {
	const char *kind;
	int fields;
	int (*fn)(struct parser *p, char **f);
} records[] = {
	{"mtu", 6, rec_mtu},
	{"district", 3, rec_district},
	{"therapist", 5, rec_therapist},
	{"room", 4, rec_room},
	{"closure", 5, rec_closure},
	{"serves", 3, rec_serves},
};

/* Splits line (NUL-terminated, modified in place) at tabs. Returns the field count, or -1 when
 * there are more than max. */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;

	for (;;) {
		if (n == max)
			return -1;
		f[n++] = line;
		char *tab = strchr(line, '\t');
		if (!tab)
			return n;
		*tab = '\0';
		line = tab + 1;
	}
}

static int check_field(struct parser *p, const char *f, int idx)
{
	size_t n = strlen(f);

	if (n == 0)
		return fail(p, "field %d is empty", idx + 1);
	if (n > MAX_FIELD_LEN)
		return fail(p, "field %d is longer than %d bytes", idx + 1, MAX_FIELD_LEN);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)f[i] < 0x20 || f[i] == 0x7f)
			return fail(p, "field %d has a control character", idx + 1);
	if (f[0] == ' ' || f[n - 1] == ' ')
		return fail(p, "field %d has leading or trailing spaces", idx + 1);
	return 0;
}

static int parse_line(struct parser *p, char *line, int *have_header)
{
	char *f[MAX_FIELDS];
	int n, rc;

	n = split_tabs(line, f, MAX_FIELDS);
	if (n < 0)
		return fail(p, "too many fields");
	for (int i = 0; i < n; i++)
		if ((rc = check_field(p, f[i], i)) != 0)
			return rc;
	if (!*have_header) {
		if (n != 2 || strcmp(f[0], "ccs-mtu-directory") != 0)
			return fail(p, "expected the header \"ccs-mtu-directory<TAB>%d\"",
				    CCS_SCHED_MTU_FORMAT_VERSION);
		if (strcmp(f[1], "1") != 0)
			return fail(p, "unsupported format version \"%s\" (this build reads %d)",
				    f[1], CCS_SCHED_MTU_FORMAT_VERSION);
		*have_header = 1;
		return 0;
	}
	for (size_t k = 0; k < sizeof(records) / sizeof(records[0]); k++) {
		if (strcmp(f[0], records[k].kind) != 0)
			continue;
		if (n != records[k].fields)
			return fail(p, "%s: expected %d tab-separated fields, got %d", f[0],
				    records[k].fields, n);
		return records[k].fn(p, f);
	}
	return fail(p, "unknown record kind \"%s\"", f[0]);
}

void ccs_sched_mtu_dir_free(ccs_sched_mtu_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_mtus; i++) {
		free(d->mtus[i].districts);
		free(d->mtus[i].therapists);
		free(d->mtus[i].rooms);
		free(d->mtus[i].closures);
		free(d->mtus[i].serves);
	}
	free(d->mtus);
	ccs_arena_destroy(&d->arena);
	free(d);
}

int ccs_sched_mtu_dir_parse(const char *data, size_t len, const char *source,
			    ccs_sched_mtu_dir **out, char *errbuf, size_t errlen)
{
	struct parser p;
	char *line = NULL;
	size_t pos = 0;
	int rc = 0, have_header = 0;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.source = source ? source : "mtu directory";
	p.errbuf = errbuf;
	p.errlen = errlen;
	p.d = ccs_xcalloc(1, sizeof(*p.d));
	ccs_arena_init(&p.d->arena, 16 * 1024);
	if (len > CCS_SCHED_MTU_MAX_BYTES) {
		rc = fail(&p, "larger than %u bytes", CCS_SCHED_MTU_MAX_BYTES);
		goto out;
	}
	line = ccs_xmalloc(len + 1);
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		p.line++;
		memcpy(line, data + pos, n);
		line[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (memchr(line, '\0', n)) {
			rc = fail(&p, "NUL byte in line");
			goto out;
		}
		if (n == 0 || line[0] == '#')
			continue;
		rc = parse_line(&p, line, &have_header);
		if (rc)
			goto out;
	}
	if (!have_header) {
		rc = fail(&p, "empty directory (no header)");
		goto out;
	}
	for (size_t i = 0; i < p.d->n_mtus; i++)
		for (size_t k = 0; k < p.d->mtus[i].n_serves; k++)
			for (size_t j = 0; j < p.d->n_mtus; j++)
				if (same_name(p.d->mtus[j].county, p.d->mtus[i].serves[k], "county")) {
					p.line = p.d->mtus[i].line;
					rc = fail(&p, "serves: county \"%s\" has its own mtu %s",
						  p.d->mtus[i].serves[k], p.d->mtus[j].mtu_id);
					goto out;
				}
	*out = p.d;
	p.d = NULL;
out:
	free(line);
	free(p.caps);
	ccs_sched_mtu_dir_free(p.d);
	return rc;
}

int ccs_sched_mtu_dir_load(const char *path, ccs_sched_mtu_dir **out, char *errbuf,
			   size_t errlen)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 64 * 1024;
	int rc = 0;

	*out = NULL;
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
		if (len > CCS_SCHED_MTU_MAX_BYTES) {
			if (errbuf && errlen)
				snprintf(errbuf, errlen, "%s: larger than %u bytes", path,
					 CCS_SCHED_MTU_MAX_BYTES);
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
	rc = ccs_sched_mtu_dir_parse(buf, len, path, out, errbuf, errlen);
out:
	free(buf);
	if (f)
		fclose(f);
	return rc;
}

const ccs_sched_mtu *ccs_sched_mtu_find(const ccs_sched_mtu_dir *d, const char *mtu_id)
{
	if (!d || !mtu_id)
		return NULL;
	return mtu_by_id(d, mtu_id, NULL);
}

const ccs_sched_mtu *ccs_sched_mtu_for(const ccs_sched_mtu_dir *d, const char *county,
				       const char *school_district)
{
	return ccs_sched_mtu_select(d, county, school_district, 0, NULL);
}

static int lists_district(const ccs_sched_mtu *m, const char *district)
{
	for (size_t k = 0; k < m->n_districts; k++)
		if (same_name(m->districts[k], district, "school district"))
			return 1;
	return 0;
}

static int serves_county(const ccs_sched_mtu *m, const char *county)
{
	for (size_t k = 0; k < m->n_serves; k++)
		if (same_name(m->serves[k], county, "county"))
			return 1;
	return 0;
}

/*
 * Selection in three passes, each in file order, each only over MTUs offering every discipline
 * asked for: 1 the county's MTU listing the district, 2 the county's first MTU, 3 the neighbour
 * named by a serves record. A district listed only by another county's MTU does not pull the
 * child across the county line (the county of residence decides who serves the child; a
 * mismatch is more likely a data error). Disciplines 0 = any.
 */
const ccs_sched_mtu *ccs_sched_mtu_select(const ccs_sched_mtu_dir *d, const char *county,
					  const char *school_district, unsigned disciplines,
					  ccs_sched_mtu_how *how)
{
	int have_district = school_district && *school_district;

	if (how)
		*how = CCS_SCHED_MTU_NONE;
	if (!d || !county)
		return NULL;
	for (int pass = 1; pass <= 3; pass++) {
		if (pass == 1 && !have_district)
			continue;
		for (size_t i = 0; i < d->n_mtus; i++) {
			const ccs_sched_mtu *m = &d->mtus[i];
			int in_county = same_name(m->county, county, "county");
			if ((m->disciplines & disciplines) != disciplines)
				continue;
			if ((pass == 1 && in_county && lists_district(m, school_district)) || (pass == 2 && in_county) ||
			    (pass == 3 && serves_county(m, county))) {
				if (how)
					*how = pass == 1 ? CCS_SCHED_MTU_DISTRICT
						: pass == 2 ? CCS_SCHED_MTU_COUNTY : CCS_SCHED_MTU_NEIGHBOUR;
				return m;
			}
		}
	}
	return NULL;
}

const ccs_sched_mtu *ccs_sched_mtu_select_spread(const ccs_sched_mtu_dir *d, const char *county,
						 const char *school_district, unsigned disciplines,
						 const char *key, ccs_sched_mtu_how *how)
{
	ccs_sched_mtu_how h;
	const ccs_sched_mtu *m = ccs_sched_mtu_select(d, county, school_district, disciplines, &h);
	if (how)
		*how = h;
	if (!m || h != CCS_SCHED_MTU_COUNTY || !key)
		return m;
	size_t n = 0;
	for (size_t i = 0; i < d->n_mtus; i++)
		n += same_name(d->mtus[i].county, county, "county") &&
		     (d->mtus[i].disciplines & disciplines) == disciplines;
	uint32_t hash = 2166136261u; /* FNV-1a 32 */
	for (const char *p = key; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	size_t pick = n ? hash % n : 0;
	for (size_t i = 0; i < d->n_mtus; i++)
		if (same_name(d->mtus[i].county, county, "county") &&
		    (d->mtus[i].disciplines & disciplines) == disciplines && pick-- == 0)
			return &d->mtus[i];
	return m;
}

const char *ccs_sched_mtu_how_name(ccs_sched_mtu_how how)
{
	static const char *const names[] = {"NONE", "DISTRICT", "COUNTY", "NEIGHBOUR"};
	return (unsigned)how < sizeof(names) / sizeof(names[0]) ? names[how] : "NONE";
}

void ccs_sched_mtu_snapshot(const ccs_sched_mtu *m, ccs_sched_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->open, m->open, sizeof(s->open));
	s->therapists = m->therapists;
	s->n_therapists = m->n_therapists;
	s->rooms = m->rooms;
	s->n_rooms = m->n_rooms;
	s->closures = m->closures;
	s->n_closures = m->n_closures;
}
