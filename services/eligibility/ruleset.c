/*
 * Rule sets as operator data (deploy/data/eligibility/rulesets, one .rules file per set): the parser, the
 * registry that holds the loaded sets, and the built-in copy of the shipped files.
 *
 * Why data: the code table, the findings each condition needs, the open policy settings and
 * the citations change with the program, not with the code (docs/domain.md: "rules in data"). The
 * shipped files are embedded at build time (ruleset_builtin.c, generated from the same files),
 * so tests and a daemon without `rules.dir` use exactly what is shipped; a daemon with
 * `rules.dir` loads that directory instead and refuses to start on a bad file, naming the line.
 *
 * Format: UTF-8 text, one record per line, fields separated by ONE tab; '#' lines and blank
 * lines are ignored; a trailing '\r' is dropped.
 *
 *   ccs-eligibility-rules <TAB> 1        first record: format and version
 *   version <TAB> 2026.2                 required, unique in a directory
 *   description <TAB> text               one line, for listings
 *   default <TAB> yes                    exactly one set in a directory is the default
 *   extends <TAB> 2026.2                 start from another set (its codes, lines, settings,
 *                                        citations); later records override
 *   set <TAB> name <TAB> value           a setting (table `settings` below)
 *   findings <TAB> NAME <TAB> F1,F2      a named finding set, usable wherever findings go
 *   group <TAB> GROUP <TAB> REASON       the reason a condition group gives when met
 *   code <TAB> lo <TAB> hi <TAB> GROUP <TAB> condition <TAB> all_of <TAB> any_of
 *                                        ICD-10-CM range (with or without the dot), the
 *                                        findings needed ("-" for none)
 *   line <TAB> LINE <TAB> financial <TAB> exemption <TAB> mtu <TAB> suspected_ok <TAB> basis
 *   cite <TAB> REASON <TAB> regulation
 *
 * The finished set must pass ccs_elig_ruleset_validate() (every reason cited, code rows well
 * formed, an MTP row needs findings, every line has a medical basis).
 */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/err.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_FIELDS 8
#define MAX_LINE 1024
#define MAX_NAMED 32
#define MAX_SETS 32
#define MAX_CODES 512

/* The embedded shipped files (ruleset_builtin.c, generated). */
extern const struct ccs_elig_rules_file {
	const char *name;
	const char *text;
} ccs_elig_rules_builtin[];

/* ---- one set while it is built, and the registry ---- */

typedef struct owned_set {
	ccs_elig_ruleset rs;
	char *strings;          /* every string the set points at, in one block list */
	ccs_elig_code_rule *codes;
	ccs_elig_group_rule groups[CCS_ELIG_GROUP_COUNT];
	bool is_default;
	bool codes_owned;       /* false: shared with the set it extends */
} owned_set;

struct ccs_elig_rules {
	owned_set *sets[MAX_SETS];
	size_t n;
	/* every string allocated for any set; freed together */
	char **blocks;
	size_t nblocks, capblocks;
};

static char *keep(ccs_elig_rules *reg, const char *s, size_t n)
{
	char *p = calloc(1, n + 1);
	if (!p)
		abort();
	if (s)
		memcpy(p, s, n);
	if (reg->nblocks == reg->capblocks) {
		reg->capblocks = reg->capblocks ? reg->capblocks * 2 : 64;
		reg->blocks = realloc(reg->blocks, reg->capblocks * sizeof(*reg->blocks));
		if (!reg->blocks)
			abort();
	}
	reg->blocks[reg->nblocks++] = p;
	return p;
}

void ccs_elig_rules_free(ccs_elig_rules *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->sets[i]->codes_owned)
			free(reg->sets[i]->codes);
		free(reg->sets[i]);
	}
	for (size_t i = 0; i < reg->nblocks; i++)
		free(reg->blocks[i]);
	free(reg->blocks);
	free(reg);
}

ccs_elig_rules *ccs_elig_rules_new(void)
{
	ccs_elig_rules *reg = calloc(1, sizeof(*reg));
	if (!reg)
		abort();
	return reg;
}

const ccs_elig_ruleset *ccs_elig_rules_find(const ccs_elig_rules *reg, const char *version)
{
	for (size_t i = 0; reg && version && i < reg->n; i++)
		if (strcmp(reg->sets[i]->rs.version, version) == 0)
			return &reg->sets[i]->rs;
	return NULL;
}

const ccs_elig_ruleset *ccs_elig_rules_default(const ccs_elig_rules *reg)
{
	for (size_t i = 0; reg && i < reg->n; i++)
		if (reg->sets[i]->is_default)
			return &reg->sets[i]->rs;
	return NULL;
}

size_t ccs_elig_rules_count(const ccs_elig_rules *reg)
{
	return reg ? reg->n : 0;
}

const ccs_elig_ruleset *ccs_elig_rules_at(const ccs_elig_rules *reg, size_t i)
{
	return reg && i < reg->n ? &reg->sets[i]->rs : NULL;
}

/* ---- vocabularies ---- */

static const struct {
	const char *name;
	uint32_t bit;
} finding_names[] = {
	{"CP_RIGIDITY_SPASTICITY", CCS_ELIG_F_CP_RIGIDITY_SPASTICITY},
	{"CP_HYPOTONIA_DTR_PRIMITIVE", CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE},
	{"CP_INVOLUNTARY_MOVEMENTS", CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS},
	{"CP_ATAXIA", CCS_ELIG_F_CP_ATAXIA},
	{"NM_WEAKNESS", CCS_ELIG_F_NM_WEAKNESS},
	{"NM_ATROPHY", CCS_ELIG_F_NM_ATROPHY},
	{"MS_DEFORMITY", CCS_ELIG_F_MS_DEFORMITY},
	{"MS_CONTRACTURE", CCS_ELIG_F_MS_CONTRACTURE},
	{"MS_LIMITATION", CCS_ELIG_F_MS_LIMITATION},
	{"AR_PRIMITIVE_REFLEXES", CCS_ELIG_F_AR_PRIMITIVE_REFLEXES},
	{"AR_DTR_3_PLUS", CCS_ELIG_F_AR_DTR_3_PLUS},
	{"AR_ABNORMAL_POSTURING", CCS_ELIG_F_AR_ABNORMAL_POSTURING},
	{"AR_HYPOTONICITY", CCS_ELIG_F_AR_HYPOTONICITY},
	{"AR_MOTOR_ASYMMETRY", CCS_ELIG_F_AR_MOTOR_ASYMMETRY},
};

enum stype { S_INT, S_BOOL, S_CENTS, S_FINDINGS };

/* Every setting a file may give: name, type, where it goes, and the smallest value allowed. */
static const struct {
	const char *name;
	enum stype type;
	size_t off;
} settings[] = {
#define SET(n, t) {#n, t, offsetof(ccs_elig_ruleset, n)}
	SET(mtp_groups_are_ccs_conditions, S_BOOL),
	SET(physician_review_target_days, S_INT),
	SET(application_closure_days, S_INT),
	SET(age_limit_years, S_INT),
	SET(at_risk_limit_months, S_INT),
	SET(at_risk_age_inclusive, S_BOOL),
	SET(at_risk_findings, S_FINDINGS),
	SET(at_risk_min_findings, S_INT),
	SET(age_limited_finding, S_FINDINGS),
	SET(age_limited_finding_max_months, S_INT),
	SET(age_limited_finding_corrected_age, S_BOOL),
	SET(prematurity_correction, S_BOOL),
	SET(term_weeks, S_INT),
	SET(preterm_below_weeks, S_INT),
	SET(correction_until_months, S_INT),
	SET(at_risk_reassess_lead_days, S_INT),
	SET(agi_threshold_cents, S_CENTS),
	SET(agi_threshold_inclusive, S_BOOL),
	SET(oop_percent_of_agi, S_INT),
	SET(noa_days, S_INT),
	SET(appeal_window_days, S_INT),
	SET(appeal_response_days, S_INT),
	SET(fair_hearing_days, S_INT),
	SET(redetermination_notice_days, S_INT),
	SET(redetermination_years, S_INT),
	SET(financial_determination_days, S_INT),
	SET(residency_determination_days, S_INT),
	SET(application_send_days, S_INT),
	SET(application_return_days, S_INT),
	SET(therapy_plan_notice_days, S_INT),
#undef SET
};

/* ---- the parser ---- */

struct parse {
	ccs_elig_rules *reg;
	owned_set *set;
	size_t ncodes, capcodes;
	struct {
		char name[40];
		uint32_t bits;
	} named[MAX_NAMED];
	size_t nnamed;
	const char *source;
	int line;
	char *errbuf;
	size_t errlen;
};

/* "<source>:<line>: <reason>"; `what` fills the reason's one %s (names from the file). */
static int fail(struct parse *p, const char *reason, const char *what)
{
	const char *pct = strstr(reason, "%");
	const char *after = pct ? strchr(pct, 's') : NULL;
	int prec = pct && pct[1] == '.' ? (int)strtol(pct + 2, NULL, 10) : 200;

	if (!pct || !after) {
		ccs_errf(p->errbuf, p->errlen, "%s:%d: %s", p->source, p->line, reason);
	} else {
		ccs_errf(p->errbuf, p->errlen, "%s:%d: %.*s%.*s%s", p->source, p->line, (int)(pct - reason), reason,
			 prec, what ? what : "", after + 1);
	}
	return -EINVAL;
}

static int parse_long(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;
	if (!*s || ((*s < '0' || *s > '9') && *s != '-'))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (strcmp(s, "yes") == 0)
		*out = true;
	else if (strcmp(s, "no") == 0)
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* "-" or comma-separated finding names or named sets. */
static int parse_findings(struct parse *p, const char *s, uint32_t *out)
{
	char tok[48];
	*out = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	while (*s) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		size_t i;
		bool found = false;
		if (n == 0 || n >= sizeof(tok))
			return fail(p, "empty or overlong finding name", NULL);
		memcpy(tok, s, n);
		tok[n] = '\0';
		for (i = 0; i < NELEMS(finding_names) && !found; i++)
			if (strcmp(finding_names[i].name, tok) == 0) {
				*out |= finding_names[i].bit;
				found = true;
			}
		for (i = 0; i < p->nnamed && !found; i++)
			if (strcmp(p->named[i].name, tok) == 0) {
				*out |= p->named[i].bits;
				found = true;
			}
		if (!found)
			return fail(p, "unknown finding \"%.40s\"", tok);
		s += n + (c ? 1 : 0);
		if (c && !*s)
			return fail(p, "trailing comma in findings", NULL);
	}
	return 0;
}

static int rec_set(struct parse *p, char **f, int nf)
{
	ccs_elig_ruleset *rs = &p->set->rs;
	long long v;
	for (size_t i = 0; nf == 3 && i < NELEMS(settings); i++) {
		char *at = (char *)rs + settings[i].off;
		if (strcmp(settings[i].name, f[1]) != 0)
			continue;
		switch (settings[i].type) {
		case S_INT:
			if (parse_long(f[2], 0, 100000, &v))
				return fail(p, "setting %s: not a count 0..100000", f[1]);
			*(int *)(void *)at = (int)v;
			return 0;
		case S_CENTS:
			if (parse_long(f[2], 1, 1000000000000LL, &v))
				return fail(p, "setting %s: not an amount in cents", f[1]);
			*(int64_t *)(void *)at = v;
			return 0;
		case S_BOOL:
			if (parse_bool(f[2], (bool *)(void *)at))
				return fail(p, "setting %s: yes or no", f[1]);
			return 0;
		case S_FINDINGS:
			return parse_findings(p, f[2], (uint32_t *)(void *)at);
		}
	}
	return nf == 3 ? fail(p, "unknown setting \"%.40s\"", f[1]) : fail(p, "set needs a name and a value", NULL);
}

static ccs_elig_group group_of(const char *s)
{
	ccs_elig_group g = ccs_elig_group_from_str(s);
	return g == CCS_ELIG_GROUP_AT_RISK ? CCS_ELIG_GROUP_NONE : g;
}

static int rec_group(struct parse *p, char **f, int nf)
{
	ccs_elig_group g;
	ccs_elig_reason r;
	if (nf != 3)
		return fail(p, "group needs a group and a reason", NULL);
	g = group_of(f[1]);
	r = ccs_elig_reason_from_str(f[2]);
	if (g == CCS_ELIG_GROUP_NONE)
		return fail(p, "unknown group \"%.40s\"", f[1]);
	if (r == CCS_ELIG_R_NONE)
		return fail(p, "unknown reason \"%.60s\"", f[2]);
	p->set->groups[g] = (ccs_elig_group_rule){g, r};
	return 0;
}

/* A code bound without its dot, upper case; the validator checks its shape. */
static char *code_bound(struct parse *p, const char *s)
{
	char buf[16];
	size_t n = 0;
	for (; *s && n < sizeof(buf) - 1; s++) {
		if (*s == '.')
			continue;
		buf[n++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s);
	}
	if (*s)
		return NULL;
	return keep(p->reg, buf, n);
}

static int rec_code(struct parse *p, char **f, int nf)
{
	ccs_elig_code_rule c;
	if (nf != 7)
		return fail(p, "code needs lo, hi, group, condition, all_of, any_of", NULL);
	if (!p->set->codes_owned && p->set->codes)
		return fail(p, "a set that extends another cannot add codes", NULL);
	memset(&c, 0, sizeof(c));
	c.lo = code_bound(p, f[1]);
	c.hi = code_bound(p, f[2]);
	if (!c.lo || !c.hi)
		return fail(p, "code bound too long", NULL);
	c.group = group_of(f[3]);
	if (c.group == CCS_ELIG_GROUP_NONE)
		return fail(p, "unknown group \"%.40s\"", f[3]);
	if (!*f[4])
		return fail(p, "code row without a condition id", NULL);
	c.condition = keep(p->reg, f[4], strlen(f[4]));
	if (parse_findings(p, f[5], &c.all_of) || parse_findings(p, f[6], &c.any_of))
		return -EINVAL;
	if (p->ncodes >= MAX_CODES)
		return fail(p, "too many code rows", NULL);
	if (p->ncodes == p->capcodes) {
		p->capcodes = p->capcodes ? p->capcodes * 2 : 64;
		p->set->codes = realloc(p->set->codes, p->capcodes * sizeof(*p->set->codes));
		if (!p->set->codes)
			abort();
	}
	p->set->codes_owned = true;
	p->set->codes[p->ncodes++] = c;
	return 0;
}

static int rec_line(struct parse *p, char **f, int nf)
{
	static const char *const lines[] = {"MTP_THERAPY", "MTP_EQUIPMENT", "CCS_TREATMENT", "DIAGNOSTIC"};
	ccs_elig_line_rule lr;
	int l = -1;
	if (nf != 7)
		return fail(p, "line needs line, financial, exemption, mtu, suspected_ok, basis", NULL);
	for (int i = 0; i < CCS_ELIG_NLINES; i++)
		if (strcmp(lines[i], f[1]) == 0)
			l = i;
	if (l < 0)
		return fail(p, "unknown line \"%.40s\"", f[1]);
	memset(&lr, 0, sizeof(lr));
	lr.line = (ccs_elig_line)(l + 1);
	if (parse_bool(f[2], &lr.needs_financial) || parse_bool(f[4], &lr.mtu_applies) ||
	    parse_bool(f[5], &lr.suspected_condition_ok))
		return fail(p, "line flags are yes or no", NULL);
	lr.exemption = strcmp(f[3], "-") == 0 ? CCS_ELIG_R_NONE : ccs_elig_reason_from_str(f[3]);
	if (strcmp(f[3], "-") != 0 && lr.exemption == CCS_ELIG_R_NONE)
		return fail(p, "unknown exemption reason \"%.60s\"", f[3]);
	if (strcmp(f[6], "MTP") == 0)
		lr.basis = CCS_ELIG_BASIS_MTP;
	else if (strcmp(f[6], "CCS") == 0)
		lr.basis = CCS_ELIG_BASIS_CCS;
	else
		return fail(p, "basis is MTP or CCS, not \"%.20s\"", f[6]);
	p->set->rs.lines[l] = lr;
	return 0;
}

static int rec_cite(struct parse *p, char **f, int nf)
{
	ccs_elig_reason r;
	if (nf != 3 || !*f[2])
		return fail(p, "cite needs a reason and a regulation", NULL);
	r = ccs_elig_reason_from_str(f[1]);
	if (r == CCS_ELIG_R_NONE)
		return fail(p, "unknown reason \"%.60s\"", f[1]);
	p->set->rs.citation[r] = keep(p->reg, f[2], strlen(f[2]));
	return 0;
}

static int rec_findings(struct parse *p, char **f, int nf)
{
	uint32_t bits;
	if (nf != 3 || strlen(f[1]) >= sizeof(p->named[0].name))
		return fail(p, "findings needs a name (under 40 characters) and a list", NULL);
	if (p->nnamed >= MAX_NAMED)
		return fail(p, "too many named finding sets", NULL);
	if (parse_findings(p, f[2], &bits))
		return -EINVAL;
	snprintf(p->named[p->nnamed].name, sizeof(p->named[0].name), "%s", f[1]);
	p->named[p->nnamed++].bits = bits;
	return 0;
}

static int rec_extends(struct parse *p, char **f, int nf)
{
	const ccs_elig_ruleset *base;
	owned_set *s = p->set;
	const char *version = s->rs.version, *desc = s->rs.description;
	if (nf != 2)
		return fail(p, "extends needs a version", NULL);
	if (p->ncodes)
		return fail(p, "extends must come before any code row", NULL);
	base = ccs_elig_rules_find(p->reg, f[1]);
	if (!base)
		return fail(p, "extends an unknown rule set \"%.40s\" (load it first)", f[1]);
	s->rs = *base;
	s->rs.version = version;
	s->rs.description = desc;
	s->rs.groups = s->groups;
	for (size_t i = 0; i < base->ngroups; i++)
		s->groups[base->groups[i].group] = base->groups[i];
	s->codes = (ccs_elig_code_rule *)(uintptr_t)base->codes; /* shared, not owned */
	s->codes_owned = false;
	return 0;
}

/* Split a line on tabs in place. */
static int split(char *s, char **f)
{
	int n = 0;
	f[n++] = s;
	for (; *s; s++) {
		if (*s != '\t')
			continue;
		*s = '\0';
		if (n == MAX_FIELDS)
			return -1;
		f[n++] = s + 1;
	}
	return n;
}

/* Finish a set: group table, validation. */
static int finish(struct parse *p)
{
	owned_set *s = p->set;
	size_t ng = 0;
	ccs_elig_group_rule tmp[CCS_ELIG_GROUP_COUNT];
	char eb[200];

	if (!s->rs.version)
		return fail(p, "no version record", NULL);
	if (s->codes_owned)
		s->rs.ncodes = p->ncodes;
	s->rs.codes = s->codes;
	for (int g = 1; g < CCS_ELIG_GROUP_COUNT; g++)
		if (s->groups[g].group != CCS_ELIG_GROUP_NONE)
			tmp[ng++] = s->groups[g];
	memcpy(s->groups, tmp, ng * sizeof(tmp[0]));
	s->rs.groups = s->groups;
	s->rs.ngroups = ng;
	if (!s->rs.description)
		s->rs.description = "";
	if (ccs_elig_ruleset_validate(&s->rs, eb, sizeof(eb)) != 0) {
		ccs_errf(p->errbuf, p->errlen, "%s: %s", p->source, eb);
		return -EINVAL;
	}
	return 0;
}

int ccs_elig_rules_parse(ccs_elig_rules *reg, const char *data, size_t len, const char *source,
			 char *errbuf, size_t errlen)
{
	struct parse p;
	char buf[MAX_LINE + 2];
	size_t pos = 0;
	bool header = false;
	int rc = -EINVAL;

	memset(&p, 0, sizeof(p));
	p.reg = reg;
	p.source = source ? source : "rules";
	p.errbuf = errbuf;
	p.errlen = errlen;
	p.set = calloc(1, sizeof(*p.set));
	if (!p.set)
		abort();
	p.set->codes_owned = true;
	if (reg->n >= MAX_SETS) {
		ccs_errf(errbuf, errlen, "%s: too many rule sets", p.source);
		goto out;
	}
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;
		char *f[MAX_FIELDS];
		int nf;
		p.line++;
		if (n > MAX_LINE) {
			fail(&p, "line longer than 1024 bytes", NULL);
			goto out;
		}
		memcpy(buf, data + pos, n);
		buf[n] = '\0';
		pos += n + (nl ? 1 : 0);
		if (n && buf[n - 1] == '\r')
			buf[--n] = '\0';
		if (memchr(buf, '\0', n)) {
			fail(&p, "NUL byte", NULL);
			goto out;
		}
		if (n == 0 || buf[0] == '#')
			continue;
		nf = split(buf, f);
		if (nf < 0) {
			fail(&p, "too many fields", NULL);
			goto out;
		}
		if (!header) {
			if (nf != 2 || strcmp(f[0], "ccs-eligibility-rules") != 0 || strcmp(f[1], "1") != 0) {
				fail(&p, "first record must be \"ccs-eligibility-rules<TAB>1\"", NULL);
				goto out;
			}
			header = true;
			continue;
		}
		if (strcmp(f[0], "version") == 0) {
			if (nf != 2 || !*f[1] || strlen(f[1]) >= CCS_ELIG_VERSION_LEN || p.set->rs.version) {
				fail(&p, "one version of 1..31 characters", NULL);
				goto out;
			}
			for (const char *c = f[1]; *c; c++)
				if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				      *c == '.' || *c == '-' || *c == '_')) {
					fail(&p, "version may hold letters, digits, '.', '-', '_'", NULL);
					goto out;
				}
			if (ccs_elig_rules_find(reg, f[1])) {
				fail(&p, "rule set \"%.31s\" already loaded", f[1]);
				goto out;
			}
			p.set->rs.version = keep(reg, f[1], strlen(f[1]));
			continue;
		}
		if (!p.set->rs.version) {
			fail(&p, "the version record comes first", NULL);
			goto out;
		}
		rc = 0;
		if (strcmp(f[0], "description") == 0 && nf == 2)
			p.set->rs.description = keep(reg, f[1], strlen(f[1]));
		else if (strcmp(f[0], "default") == 0 && nf == 2 && strcmp(f[1], "yes") == 0)
			p.set->is_default = true;
		else if (strcmp(f[0], "extends") == 0)
			rc = rec_extends(&p, f, nf);
		else if (strcmp(f[0], "set") == 0)
			rc = rec_set(&p, f, nf);
		else if (strcmp(f[0], "findings") == 0)
			rc = rec_findings(&p, f, nf);
		else if (strcmp(f[0], "group") == 0)
			rc = rec_group(&p, f, nf);
		else if (strcmp(f[0], "code") == 0)
			rc = rec_code(&p, f, nf);
		else if (strcmp(f[0], "line") == 0)
			rc = rec_line(&p, f, nf);
		else if (strcmp(f[0], "cite") == 0)
			rc = rec_cite(&p, f, nf);
		else
			rc = fail(&p, "unknown record \"%.40s\"", f[0]);
		if (rc)
			goto out;
		rc = -EINVAL;
	}
	if (!header) {
		p.line = 1;
		fail(&p, "empty file", NULL);
		goto out;
	}
	if (finish(&p) != 0)
		goto out;
	if (p.set->is_default && ccs_elig_rules_default(reg)) {
		ccs_errf(errbuf, errlen, "%s: a second default rule set", p.source);
		goto out;
	}
	reg->sets[reg->n++] = p.set;
	p.set = NULL;
	rc = 0;
out:
	if (p.set) {
		if (p.set->codes_owned)
			free(p.set->codes);
		free(p.set);
	}
	return rc;
}

/* ---- directories ---- */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n > m && strcmp(s + n - m, suf) == 0;
}

/* Parse files whose `extends` names a set not yet loaded after the others: keep passing over
 * the remaining files while each pass loads at least one. */
static int parse_all(ccs_elig_rules *reg, size_t n, const char *const *names, const char *const *texts,
		     const size_t *lens, char *errbuf, size_t errlen)
{
	bool *done = calloc(n + 1, sizeof(*done));
	size_t left = n;
	int rc = 0;
	if (!done)
		abort();
	while (left && rc == 0) {
		size_t before = left;
		char first_err[256] = "";
		for (size_t i = 0; i < n; i++) {
			char eb[256];
			if (done[i])
				continue;
			if (ccs_elig_rules_parse(reg, texts[i], lens[i], names[i], eb, sizeof(eb)) == 0) {
				done[i] = true;
				left--;
			} else if (!first_err[0]) {
				snprintf(first_err, sizeof(first_err), "%s", eb);
			}
		}
		if (left == before) {
			ccs_errf(errbuf, errlen, "%s", first_err);
			rc = -EINVAL;
		}
	}
	if (rc == 0 && n && !ccs_elig_rules_default(reg)) {
		ccs_errf(errbuf, errlen, "no rule set says \"default<TAB>yes\"");
		rc = -EINVAL;
	}
	free(done);
	return rc;
}

int ccs_elig_rules_load_dir(const char *dir, ccs_elig_rules **out, char *errbuf, size_t errlen)
{
	DIR *d = NULL;
	struct dirent *de;
	char *names[MAX_SETS], *texts[MAX_SETS];
	size_t lens[MAX_SETS], n = 0;
	ccs_elig_rules *reg = ccs_elig_rules_new();
	int rc = -EINVAL;

	*out = NULL;
	d = opendir(dir);
	if (!d) {
		ccs_errf(errbuf, errlen, "%s: cannot open rule-set directory: %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".rules"))
			continue;
		if (n == MAX_SETS) {
			ccs_errf(errbuf, errlen, "%s: more than %d rule sets", dir, MAX_SETS);
			goto out;
		}
		names[n] = keep(reg, de->d_name, strlen(de->d_name));
		texts[n] = NULL;
		n++;
	}
	if (n == 0) {
		ccs_errf(errbuf, errlen, "%s: no *.rules file", dir);
		goto out;
	}
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		FILE *fp;
		long sz;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fp = fopen(path, "rb");
		if (!fp || fseek(fp, 0, SEEK_END) != 0 || (sz = ftell(fp)) < 0 || sz > 1024 * 1024 ||
		    fseek(fp, 0, SEEK_SET) != 0) {
			ccs_errf(errbuf, errlen, "%s: cannot read (or larger than 1 MiB)", path);
			if (fp)
				fclose(fp);
			goto out;
		}
		texts[i] = keep(reg, NULL, (size_t)sz);
		lens[i] = fread(texts[i], 1, (size_t)sz, fp);
		fclose(fp);
		names[i] = keep(reg, path, strlen(path));
	}
	rc = parse_all(reg, n, (const char *const *)names, (const char *const *)texts, lens, errbuf, errlen);
out:
	if (d)
		closedir(d);
	if (rc)
		ccs_elig_rules_free(reg);
	else
		*out = reg;
	return rc;
}

/* ---- the built-in registry: the shipped files, embedded ---- */

static ccs_elig_rules *builtin;

const ccs_elig_rules *ccs_elig_rules_builtin_get(void)
{
	const char *names[MAX_SETS], *texts[MAX_SETS];
	size_t lens[MAX_SETS], n = 0;
	char eb[256];

	if (builtin)
		return builtin;
	builtin = ccs_elig_rules_new();
	for (; ccs_elig_rules_builtin[n].name && n < MAX_SETS; n++) {
		names[n] = ccs_elig_rules_builtin[n].name;
		texts[n] = ccs_elig_rules_builtin[n].text;
		lens[n] = strlen(texts[n]);
	}
	if (parse_all(builtin, n, names, texts, lens, eb, sizeof(eb)) != 0) {
		/* the shipped files are checked by the unit tests; this is a build defect */
		fprintf(stderr, "built-in eligibility rule sets invalid: %s\n", eb);
		abort();
	}
	return builtin;
}

const ccs_elig_ruleset *ccs_elig_ruleset_default(void)
{
	return ccs_elig_rules_default(ccs_elig_rules_builtin_get());
}

size_t ccs_elig_ruleset_count(void)
{
	return ccs_elig_rules_count(ccs_elig_rules_builtin_get());
}

const ccs_elig_ruleset *ccs_elig_ruleset_at(size_t i)
{
	return ccs_elig_rules_at(ccs_elig_rules_builtin_get(), i);
}

const ccs_elig_ruleset *ccs_elig_ruleset_find(const char *version)
{
	return ccs_elig_rules_find(ccs_elig_rules_builtin_get(), version);
}
