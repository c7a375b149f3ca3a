/*
 * Referral intake rules (see referral_rules.h).
 *
 * Validation is a sequence of small checks, each appending reasons to a fixed-capacity list so
 * that the submitter learns every problem at once. The checks that repeat a pattern (free-text
 * limits, names) are driven by tables of field descriptions; enum checks ask the protobuf-c
 * descriptor, so a value added to the contract is accepted without touching this file.
 *
 * Strings from the wire are untrusted bytes: every check tolerates NULL, non-UTF-8 and
 * arbitrary lengths, and nothing here allocates, so the fuzzer can hammer it.
 */
#include "referral_rules.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ccs/instant.h"
#include "ccs/uuid.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

typedef Ccs__Mtp__V1__ReferralSubmitted referral_t;
typedef Ccs__Mtp__V1__Child child_t;
typedef Ccs__Mtp__V1__Guardian guardian_t;

/* ---- small character helpers (locale-independent on purpose) --------------------------- */

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(int c)
{
	return is_digit(c) || is_alpha(c);
}

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int to_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/*
 * Decode one UTF-8 code point at *p, advancing *p. Strict (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF. Returns 0, or -1 leaving *p unchanged.
 */
static int utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	uint32_t c = s[0], min;
	int n;

	if (c < 0x80) {
		*cp = c;
		*p = s + 1;
		return 0;
	}
	if ((c & 0xE0) == 0xC0) {
		n = 1;
		c &= 0x1F;
		min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		n = 2;
		c &= 0x0F;
		min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return -1;
	}
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
			return -1;
		c = c << 6 | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	*p = s + n + 1;
	return 0;
}

/* ---- reasons ------------------------------------------------------------------------------ */

/*
 * Every code this module can give, with its message. Messages name the field's meaning, never
 * its value (no PHI).
 */
enum code {
	C_REFERRAL_MISSING,
	C_REFERRAL_ID_MISSING,
	C_REFERRAL_ID_INVALID,
	C_SUBMITTED_AT_MISSING,
	C_SUBMITTED_AT_INVALID,
	C_REFERRAL_DATE_MISSING,
	C_REFERRAL_DATE_INVALID,
	C_REFERRAL_DATE_IN_FUTURE,
	C_REFERRAL_DATE_BEFORE_BIRTH_DATE,
	C_SOURCE_UNSPECIFIED,
	C_SOURCE_INVALID,
	C_CHILD_MISSING,
	C_FIRST_NAME_MISSING,
	C_FIRST_NAME_TOO_LONG,
	C_FIRST_NAME_INVALID_CHARACTERS,
	C_LAST_NAME_MISSING,
	C_LAST_NAME_TOO_LONG,
	C_LAST_NAME_INVALID_CHARACTERS,
	C_MIDDLE_NAME_TOO_LONG,
	C_MIDDLE_NAME_INVALID_CHARACTERS,
	C_BIRTH_DATE_MISSING,
	C_BIRTH_DATE_INVALID,
	C_BIRTH_DATE_IN_FUTURE,
	C_AGE_21_OR_OVER,
	C_SEX_INVALID,
	C_COUNTY_MISSING,
	C_COUNTY_UNKNOWN,
	C_ZIP_INVALID,
	C_MEDI_CAL_CIN_INVALID,
	C_GUARDIAN_PHONE_INVALID,
	C_COVERAGE_INVALID,
	C_DIAGNOSES_TOO_MANY,
	C_DIAGNOSIS_MISSING,
	C_DIAGNOSIS_CODE_MISSING,
	C_DIAGNOSIS_CODE_INVALID,
	C_DIAGNOSIS_DUPLICATE,
	C_REQUESTED_PROGRAM_UNSPECIFIED,
	C_REQUESTED_PROGRAM_INVALID,
	C_REQUESTED_SERVICE_INVALID,
	C_REQUESTED_SERVICE_DUPLICATE,
	C_TEXT_TOO_LONG,
	C_TEXT_INVALID_CHARACTERS,
	C__COUNT
};

static const struct {
	const char *code;
	const char *message;
} codes[C__COUNT] = {
	[C_REFERRAL_MISSING] = {"REFERRAL_MISSING", "no referral message"},
	[C_REFERRAL_ID_MISSING] = {"REFERRAL_ID_MISSING", "referral id is required"},
	[C_REFERRAL_ID_INVALID] = {"REFERRAL_ID_INVALID",
				   "referral id must be a non-nil UUID (8-4-4-4-12 hex)"},
	[C_SUBMITTED_AT_MISSING] = {"SUBMITTED_AT_MISSING", "submission time is required"},
	[C_SUBMITTED_AT_INVALID] = {"SUBMITTED_AT_INVALID",
				    "submission time must be an RFC 3339 instant (YYYY-MM-DDTHH:MM:SSZ)"},
	[C_REFERRAL_DATE_MISSING] = {"REFERRAL_DATE_MISSING", "referral date is required"},
	[C_REFERRAL_DATE_INVALID] = {"REFERRAL_DATE_INVALID",
				     "referral date must be a valid YYYY-MM-DD date"},
	[C_REFERRAL_DATE_IN_FUTURE] = {"REFERRAL_DATE_IN_FUTURE", "referral date is in the future"},
	[C_REFERRAL_DATE_BEFORE_BIRTH_DATE] = {"REFERRAL_DATE_BEFORE_BIRTH_DATE",
					       "referral date precedes the birth date"},
	[C_SOURCE_UNSPECIFIED] = {"SOURCE_UNSPECIFIED", "referral source is required"},
	[C_SOURCE_INVALID] = {"SOURCE_INVALID", "referral source is not a known value"},
	[C_CHILD_MISSING] = {"CHILD_MISSING", "child details are required"},
	[C_FIRST_NAME_MISSING] = {"FIRST_NAME_MISSING", "first name is required"},
	[C_FIRST_NAME_TOO_LONG] = {"FIRST_NAME_TOO_LONG", "first name is too long"},
	[C_FIRST_NAME_INVALID_CHARACTERS] = {"FIRST_NAME_INVALID_CHARACTERS",
					     "first name has characters not allowed in a name"},
	[C_LAST_NAME_MISSING] = {"LAST_NAME_MISSING", "last name is required"},
	[C_LAST_NAME_TOO_LONG] = {"LAST_NAME_TOO_LONG", "last name is too long"},
	[C_LAST_NAME_INVALID_CHARACTERS] = {"LAST_NAME_INVALID_CHARACTERS",
					    "last name has characters not allowed in a name"},
	[C_MIDDLE_NAME_TOO_LONG] = {"MIDDLE_NAME_TOO_LONG", "middle name is too long"},
	[C_MIDDLE_NAME_INVALID_CHARACTERS] = {"MIDDLE_NAME_INVALID_CHARACTERS",
					      "middle name has characters not allowed in a name"},
	[C_BIRTH_DATE_MISSING] = {"BIRTH_DATE_MISSING", "birth date is required"},
	[C_BIRTH_DATE_INVALID] = {"BIRTH_DATE_INVALID", "birth date must be a valid YYYY-MM-DD date"},
	[C_BIRTH_DATE_IN_FUTURE] = {"BIRTH_DATE_IN_FUTURE", "birth date is in the future"},
	[C_AGE_21_OR_OVER] = {"AGE_21_OR_OVER",
			      "child must be under 21 on the referral date"},
	[C_SEX_INVALID] = {"SEX_INVALID", "sex is not a known value"},
	[C_COUNTY_MISSING] = {"COUNTY_MISSING", "county of residence is required"},
	[C_COUNTY_UNKNOWN] = {"COUNTY_UNKNOWN",
			      "county of residence is not one of the 58 California counties"},
	[C_ZIP_INVALID] = {"ZIP_INVALID", "zip code must be 5 digits or ZIP+4"},
	[C_MEDI_CAL_CIN_INVALID] = {"MEDI_CAL_CIN_INVALID",
				    "Medi-Cal CIN must be 8 digits followed by a letter"},
	[C_GUARDIAN_PHONE_INVALID] = {"GUARDIAN_PHONE_INVALID",
				      "guardian phone must hold 10 to 15 digits"},
	[C_COVERAGE_INVALID] = {"COVERAGE_INVALID", "coverage is not a known value"},
	[C_DIAGNOSES_TOO_MANY] = {"DIAGNOSES_TOO_MANY", "too many diagnoses (at most 64)"},
	[C_DIAGNOSIS_MISSING] = {"DIAGNOSIS_MISSING", "empty diagnosis entry"},
	[C_DIAGNOSIS_CODE_MISSING] = {"DIAGNOSIS_CODE_MISSING", "diagnosis code is required"},
	[C_DIAGNOSIS_CODE_INVALID] = {"DIAGNOSIS_CODE_INVALID",
				      "diagnosis code is not ICD-10-CM syntax (e.g. G80.1)"},
	[C_DIAGNOSIS_DUPLICATE] = {"DIAGNOSIS_DUPLICATE", "diagnosis code listed twice"},
	[C_REQUESTED_PROGRAM_UNSPECIFIED] = {"REQUESTED_PROGRAM_UNSPECIFIED",
					     "requested program is required"},
	[C_REQUESTED_PROGRAM_INVALID] = {"REQUESTED_PROGRAM_INVALID",
					 "requested program is not a known value"},
	[C_REQUESTED_SERVICE_INVALID] = {"REQUESTED_SERVICE_INVALID",
					 "requested service is unspecified or not a known value"},
	[C_REQUESTED_SERVICE_DUPLICATE] = {"REQUESTED_SERVICE_DUPLICATE",
					   "requested service listed twice"},
	[C_TEXT_TOO_LONG] = {"TEXT_TOO_LONG", "text field is too long"},
	[C_TEXT_INVALID_CHARACTERS] = {"TEXT_INVALID_CHARACTERS",
				       "text field is not valid UTF-8 or has control characters"},
};

/* Append one reason; `field` is a plain path or a printf format with one int (an index). */
static void add(ccs_ref_reasons *out, enum code c, const char *field)
{
	if (out->n >= CCS_REF_MAX_REASONS) {
		out->dropped++;
		return;
	}
	ccs_ref_reason *r = &out->v[out->n++];
	r->code = codes[c].code;
	r->message = codes[c].message;
	snprintf(r->field, sizeof(r->field), "%s", field);
}

static void add_indexed(ccs_ref_reasons *out, enum code c, const char *array, size_t i,
			const char *member)
{
	char field[CCS_REF_FIELD_MAX];

	if (member)
		snprintf(field, sizeof(field), "%s[%zu].%s", array, i, member);
	else
		snprintf(field, sizeof(field), "%s[%zu]", array, i);
	add(out, c, field);
}

int ccs_ref_reasons_has(const ccs_ref_reasons *rs, const char *code)
{
	for (size_t i = 0; rs && code && i < rs->n; i++)
		if (strcmp(rs->v[i].code, code) == 0)
			return 1;
	return 0;
}

/* ---- identifiers and syntax ----------------------------------------------------------------- */

/* The project's one RFC 3339 parser, dated in California (ccs/instant.h). */
ccs_date ccs_ref_instant_date(const char *s)
{
	return ccs_instant_date_ca(s);
}

ccs_date ccs_ref_judged_on(const char *submitted_at, const char *ce_time, long long timestamp_ms)
{
	ccs_date d = ccs_ref_instant_date(submitted_at);

	if (d == CCS_DATE_INVALID)
		d = ccs_ref_instant_date(ce_time);
	if (d == CCS_DATE_INVALID && timestamp_ms > 0)
		d = ccs_instant_ca_date((int64_t)(timestamp_ms / 1000));
	return d;
}

int ccs_ref_normalise_cin(const char *in, char out[CCS_REF_CIN_LEN + 1])
{
	size_t n = 0;
	int rc = -EINVAL;

	out[0] = '\0';
	if (!in)
		goto out;
	for (const char *p = in; *p; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (n >= CCS_REF_CIN_LEN)
			goto out;
		if (n < 8 ? !is_digit(*p) : !is_alpha(*p))
			goto out;
		out[n++] = (char)to_upper(*p);
	}
	if (n != CCS_REF_CIN_LEN)
		goto out;
	out[n] = '\0';
	rc = 0;
out:
	if (rc)
		out[0] = '\0';
	return rc;
}

int ccs_ref_normalise_icd10(const char *in, char out[CCS_REF_ICD10_MAX])
{
	const char *p = in;
	size_t n = 0, ext = 0;
	int rc = -EINVAL;

	out[0] = '\0';
	if (!p)
		goto out;
	while (is_space(*p))
		p++;
	/* Category: letter, digit, alphanumeric. */
	if (!is_alpha(p[0]) || !is_digit(p[1]) || !is_alnum(p[2]))
		goto out;
	for (int i = 0; i < 3; i++)
		out[n++] = (char)to_upper(p[i]);
	p += 3;
	/* Optional extension of 1-4 alphanumerics, with or without the dot. */
	if (*p == '.') {
		p++;
		if (!is_alnum(*p))
			goto out;
	}
	if (is_alnum(*p))
		out[n++] = '.';
	while (is_alnum(*p)) {
		if (++ext > 4)
			goto out;
		out[n++] = (char)to_upper(*p++);
	}
	while (is_space(*p))
		p++;
	if (*p != '\0')
		goto out;
	out[n] = '\0';
	rc = 0;
out:
	if (rc)
		out[0] = '\0';
	return rc;
}

static int valid_uuid(const char *s)
{
	static const ccs_uuid nil;
	ccs_uuid u;

	if (ccs_uuid_parse(s, &u) != 0)
		return 0;
	return memcmp(&u, &nil, sizeof(u)) != 0;
}

/* "12345" or "12345-6789". */
static int valid_zip(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (!is_digit(s[i]))
			return 0;
	if (s[5] == '\0')
		return 1;
	if (s[5] != '-')
		return 0;
	for (int i = 6; i < 10; i++)
		if (!is_digit(s[i]))
			return 0;
	return s[10] == '\0';
}

/* 10-15 digits, with the usual separators: "(626) 555-0100", "+1 626.555.0100". */
static int valid_phone(const char *s)
{
	size_t digits = 0;

	for (; *s; s++) {
		if (is_digit(*s))
			digits++;
		else if (!strchr(" ()+-.", *s))
			return 0;
	}
	return digits >= 10 && digits <= 15;
}

/* True when an enum value is one the contract defines (and not the zero value if !allow0). */
static int enum_known(const ProtobufCEnumDescriptor *d, int value, int allow_unspecified)
{
	if (value == 0)
		return allow_unspecified;
	return protobuf_c_enum_descriptor_get_value(d, value) != NULL;
}

/* ---- text and names --------------------------------------------------------------------- */

enum text_verdict { TEXT_OK, TEXT_LONG, TEXT_BAD };

/*
 * Judge a free-text field: valid UTF-8, at most `max` bytes, no control characters except
 * newline and tab when `multiline`.
 */
static enum text_verdict check_text(const char *s, size_t max, int multiline)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	while (*p) {
		if ((size_t)(p - (const unsigned char *)s) >= max)
			return TEXT_LONG;
		if (utf8_next(&p, &cp) != 0)
			return TEXT_BAD;
		if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
			if (!(multiline && (cp == '\n' || cp == '\t' || cp == '\r')))
				return TEXT_BAD;
		}
	}
	return TEXT_OK;
}

/*
 * Code points a personal name may contain: ASCII letters, space, hyphen, apostrophes, period,
 * and letters outside ASCII. Without Unicode tables we cannot tell letters from symbols
 * everywhere, so the blocks known to hold only symbols, punctuation, controls, private use or
 * emoji are refused and the rest accepted. Returns 1 for a letter, 2 for allowed punctuation,
 * 0 for refused.
 */
static int name_char_class(uint32_t cp)
{
	if (cp < 0x80) {
		if (is_alpha((int)cp))
			return 1;
		return strchr(" -'.", (int)cp) && cp != 0 ? 2 : 0;
	}
	/* No-break space (pasted from documents), right single quote, Unicode hyphens. */
	if (cp == 0xA0 || cp == 0x2019 || cp == 0x2010 || cp == 0x2011)
		return 2;
	if (cp < 0xC0 || cp == 0xD7 || cp == 0xF7)
		return 0;
	if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
	    (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xFE00 && cp <= 0xFE0F) || cp >= 0xFFF0)
		return 0;
	if (cp >= 0x0300 && cp <= 0x036F) /* combining accents (decomposed input) */
		return 2;
	return 1;
}

enum name_verdict { NAME_OK, NAME_EMPTY, NAME_LONG, NAME_BAD };

static enum name_verdict check_name(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s);
	int letters = 0, nonblank = 0;
	uint32_t cp;

	if (len > CCS_REF_NAME_MAX)
		return NAME_LONG;
	while (*p) {
		if (utf8_next(&p, &cp) != 0)
			return NAME_BAD;
		int cls = name_char_class(cp);
		if (cls == 0)
			return NAME_BAD;
		if (cls == 1)
			letters++;
		if (cp != ' ')
			nonblank++;
	}
	if (!nonblank)
		return NAME_EMPTY;
	return letters ? NAME_OK : NAME_BAD;
}

/* The child's name fields, as data: path, where the string lives, required?, codes. */
static const struct name_rule {
	const char *field;
	size_t offset; /* of the char * inside Ccs__Mtp__V1__Child */
	int required;
	enum code missing, too_long, invalid;
} name_rules[] = {
	{"child.first_name", offsetof(child_t, first_name), 1, C_FIRST_NAME_MISSING,
	 C_FIRST_NAME_TOO_LONG, C_FIRST_NAME_INVALID_CHARACTERS},
	{"child.last_name", offsetof(child_t, last_name), 1, C_LAST_NAME_MISSING,
	 C_LAST_NAME_TOO_LONG, C_LAST_NAME_INVALID_CHARACTERS},
	{"child.middle_name", offsetof(child_t, middle_name), 0, C__COUNT,
	 C_MIDDLE_NAME_TOO_LONG, C_MIDDLE_NAME_INVALID_CHARACTERS},
};

/* Which struct a free-text field lives in. */
enum owner { IN_REFERRAL, IN_CHILD, IN_GUARDIAN };

/* Free-text fields and their limits. Syntax rules (zip, phone, CIN) come separately. */
static const struct text_rule {
	const char *field;
	enum owner owner;
	size_t offset;
	size_t max;
	int multiline;
} text_rules[] = {
	{"referrer_organization", IN_REFERRAL, offsetof(referral_t, referrer_organization),
	 CCS_REF_TEXT_MAX, 0},
	{"referrer_name", IN_REFERRAL, offsetof(referral_t, referrer_name), CCS_REF_TEXT_MAX, 0},
	{"commercial_plan", IN_REFERRAL, offsetof(referral_t, commercial_plan), CCS_REF_TEXT_MAX, 0},
	{"notes", IN_REFERRAL, offsetof(referral_t, notes), CCS_REF_NOTES_MAX, 1},
	{"child.preferred_language", IN_CHILD, offsetof(child_t, preferred_language),
	 CCS_REF_TEXT_MAX, 0},
	{"child.address_line1", IN_CHILD, offsetof(child_t, address_line1), CCS_REF_TEXT_MAX, 0},
	{"child.address_line2", IN_CHILD, offsetof(child_t, address_line2), CCS_REF_TEXT_MAX, 0},
	{"child.city", IN_CHILD, offsetof(child_t, city), CCS_REF_TEXT_MAX, 0},
	{"child.school_district", IN_CHILD, offsetof(child_t, school_district), CCS_REF_TEXT_MAX, 0},
	{"child.guardian.name", IN_GUARDIAN, offsetof(guardian_t, name), CCS_REF_TEXT_MAX, 0},
	{"child.guardian.relationship", IN_GUARDIAN, offsetof(guardian_t, relationship),
	 CCS_REF_TEXT_MAX, 0},
};

static const char *field_at(const void *base, size_t offset)
{
	const char *const *slot = (const char *const *)(const void *)((const char *)base + offset);
	return str_or_empty(*slot);
}

static void check_text_field(ccs_ref_reasons *out, const char *s, const char *field, size_t max,
			     int multiline)
{
	switch (check_text(s, max, multiline)) {
	case TEXT_LONG:
		add(out, C_TEXT_TOO_LONG, field);
		break;
	case TEXT_BAD:
		add(out, C_TEXT_INVALID_CHARACTERS, field);
		break;
	case TEXT_OK:
		break;
	}
}

/* ---- the rule set, counties and routing ----------------------------------------------------- */

/* The daemon is one loop thread: the rule set is installed once at start, before any input. */
static ccs_ref_rules installed = {NULL, CCS_REF_APPLICATION_SEND_DAYS, CCS_REF_APPLICATION_RETURN_DAYS};

int ccs_ref_rules_set(const ccs_ref_rules *r)
{
	if (!r || r->application_send_days < 0 || r->application_return_days < r->application_send_days)
		return -EINVAL;
	installed = *r;
	return 0;
}

const ccs_ref_rules *ccs_ref_rules_get(void)
{
	return &installed;
}

const ccs_county *ccs_ref_county_find(const char *name)
{
	return ccs_county_find(installed.counties, name);
}

/* The county module's enums carry the contract's numbers (ccs/county.h): a cast, checked here. */
_Static_assert((int)CCS_COUNTY_INDEPENDENT == (int)CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_INDEPENDENT &&
		       (int)CCS_COUNTY_DEPENDENT == (int)CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_DEPENDENT,
	       "county model numbers");
_Static_assert((int)CCS_COUNTY_OFFICE_COUNTY == (int)CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY &&
		       (int)CCS_COUNTY_OFFICE_SACRAMENTO ==
			       (int)CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SACRAMENTO &&
		       (int)CCS_COUNTY_OFFICE_SAN_FRANCISCO ==
			       (int)CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SAN_FRANCISCO &&
		       (int)CCS_COUNTY_OFFICE_SOUTHERN_CALIFORNIA ==
			       (int)CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SOUTHERN_CALIFORNIA,
	       "reviewing office numbers");

int ccs_ref_route(const char *county, ccs_ref_route_result *out)
{
	const ccs_county *c = ccs_ref_county_find(county);

	memset(out, 0, sizeof(*out));
	if (!c)
		return -ENOENT;
	out->county = c;
	out->model = (Ccs__Mtp__V1__CountyModel)c->model;
	out->office = (Ccs__Mtp__V1__ReviewingOffice)c->office;
	return 0;
}

/* ---- the application clock --------------------------------------------------------------- */

/*
 * Both dates count from the referral date: 22 CCR 41514 gives the family 20 days from the
 * referral, not 20 days after the county's 5 (a return due on day 25 was a bug: eligibility
 * counted 20 and the two decisions disagreed).
 */
int ccs_ref_application_clock(ccs_date referral_date, ccs_date *send_due, ccs_date *return_due)
{
	if (referral_date == CCS_DATE_INVALID)
		return -EINVAL;
	*send_due = referral_date + installed.application_send_days;
	*return_due = referral_date + installed.application_return_days;
	return 0;
}

/* ---- linking ------------------------------------------------------------------------------- */

ccs_ref_link ccs_ref_link_decide(const char *cin, const ccs_ref_candidates *found)
{
	ccs_ref_link l = {CCS__MTP__V1__MATCH_RULE__MATCH_RULE_UNSPECIFIED, 0};
	const char *mine = str_or_empty(cin), *theirs;

	if (!found)
		return l;
	theirs = str_or_empty(found->name_cin);
	if (*mine && found->by_cin) {
		l.rule = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_MEDI_CAL_CIN;
	} else if (found->by_name && (!*mine || !*theirs || strcmp(mine, theirs) == 0)) {
		l.rule = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_NAME_DOB_COUNTY;
		l.record_cin = *mine && !*theirs;
	}
	return l;
}

/* ---- matching keys --------------------------------------------------------------------------- */

/*
 * ASCII spellings of U+00C0..U+017F (Latin-1 Supplement letters and Latin Extended-A), lower
 * case, accents removed; "" drops the character (x and / signs). Generated from Unicode NFKD
 * decompositions plus the letters that have none (ß, æ, ø, œ, ð, þ, ł, đ, ħ, ı, ŋ, ŧ).
 */
static const char *const latin_fold[0x180 - 0xC0] = {
	"a", "a", "a", "a", "a", "a", "ae", "c", /* U+00C0 */
	"e", "e", "e", "e", "i", "i", "i", "i", /* U+00C8 */
	"d", "n", "o", "o", "o", "o", "o", "", /* U+00D0 */
	"o", "u", "u", "u", "u", "y", "th", "ss", /* U+00D8 */
	"a", "a", "a", "a", "a", "a", "ae", "c", /* U+00E0 */
	"e", "e", "e", "e", "i", "i", "i", "i", /* U+00E8 */
	"d", "n", "o", "o", "o", "o", "o", "", /* U+00F0 */
	"o", "u", "u", "u", "u", "y", "th", "y", /* U+00F8 */
	"a", "a", "a", "a", "a", "a", "c", "c", /* U+0100 */
	"c", "c", "c", "c", "c", "c", "d", "d", /* U+0108 */
	"d", "d", "e", "e", "e", "e", "e", "e", /* U+0110 */
	"e", "e", "e", "e", "g", "g", "g", "g", /* U+0118 */
	"g", "g", "g", "g", "h", "h", "h", "h", /* U+0120 */
	"i", "i", "i", "i", "i", "i", "i", "i", /* U+0128 */
	"i", "i", "ij", "ij", "j", "j", "k", "k", /* U+0130 */
	"k", "l", "l", "l", "l", "l", "l", "l", /* U+0138 */
	"l", "l", "l", "n", "n", "n", "n", "n", /* U+0140 */
	"n", "n", "n", "n", "o", "o", "o", "o", /* U+0148 */
	"o", "o", "oe", "oe", "r", "r", "r", "r", /* U+0150 */
	"r", "r", "s", "s", "s", "s", "s", "s", /* U+0158 */
	"s", "s", "t", "t", "t", "t", "t", "t", /* U+0160 */
	"u", "u", "u", "u", "u", "u", "u", "u", /* U+0168 */
	"u", "u", "u", "u", "w", "w", "y", "y", /* U+0170 */
	"y", "z", "z", "z", "z", "z", "z", "s", /* U+0178 */
};

/* Bounded appender: keeps track of overflow so callers check once at the end. */
struct sink {
	char *buf;
	size_t cap, len;
	int overflow;
};

static void sink_put(struct sink *k, const char *s, size_t n)
{
	if (k->len + n >= k->cap) {
		k->overflow = 1;
		return;
	}
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

/*
 * Fold one name for matching (see ccs_ref_match_key_name). Returns the number of characters
 * kept, or -1 on invalid UTF-8.
 */
static int fold_name(struct sink *k, const char *s)
{
	const unsigned char *p = (const unsigned char *)str_or_empty(s);
	int kept = 0;
	uint32_t cp;

	while (*p) {
		const unsigned char *start = p;
		if (utf8_next(&p, &cp) != 0)
			return -1;
		if (cp < 0x80) {
			if (is_alnum((int)cp)) {
				char c = (char)to_lower((int)cp);
				sink_put(k, &c, 1);
				kept++;
			}
		} else if (cp >= 0xC0 && cp < 0x180) {
			const char *f = latin_fold[cp - 0xC0];
			sink_put(k, f, strlen(f));
			kept += f[0] != '\0';
		} else if (cp < 0xC0 || (cp >= 0x0300 && cp <= 0x036F) ||
			   (cp >= 0x2000 && cp <= 0x206F)) {
			/* Latin-1 symbols, combining accents, general punctuation: dropped. */
		} else {
			/* Another script: kept verbatim (no case folding without Unicode tables). */
			sink_put(k, (const char *)start, (size_t)(p - start));
			kept++;
		}
	}
	return kept;
}

int ccs_ref_match_key_name(const char *last_name, const char *first_name, const char *birth_date,
			   const char *county, char *out, size_t outlen)
{
	struct sink k = {out, outlen, 0, 0};
	const ccs_county *c;
	ccs_date dob;
	char day[11];
	int rc = -EINVAL;

	if (!out || outlen == 0)
		return -ENOSPC;
	out[0] = '\0';
	dob = ccs_date_parse(birth_date);
	c = ccs_ref_county_find(county);
	if (dob == CCS_DATE_INVALID || !c)
		goto out;
	if (fold_name(&k, last_name) <= 0)
		goto out;
	sink_put(&k, "|", 1);
	if (fold_name(&k, first_name) <= 0)
		goto out;
	sink_put(&k, "|", 1);
	ccs_date_format(dob, day);
	sink_put(&k, day, 10);
	sink_put(&k, "|", 1);
	if (fold_name(&k, c->name) <= 0)
		goto out;
	rc = k.overflow ? -ENOSPC : 0;
out:
	if (rc)
		out[0] = '\0';
	return rc;
}

/* ---- facts of a valid referral -------------------------------------------------------------- */

/* Copy s without surrounding whitespace into out (cap bytes with the NUL). */
static void copy_trimmed(char *out, size_t cap, const char *s)
{
	size_t b = 0, e;

	s = str_or_empty(s);
	e = strlen(s);
	while (b < e && is_space((unsigned char)s[b]))
		b++;
	while (e > b && is_space((unsigned char)s[e - 1]))
		e--;
	if (e - b >= cap)
		e = b + cap - 1;
	memcpy(out, s + b, e - b);
	out[e - b] = '\0';
}

int ccs_ref_facts_of(const Ccs__Mtp__V1__ReferralSubmitted *r, ccs_ref_facts *out)
{
	const child_t *ch;
	ccs_ref_route_result route;
	ccs_date ref, dob, send, ret;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!r || !(ch = r->child) || r->n_diagnoses > CCS_REF_DIAGNOSES_MAX)
		goto out;
	if (ccs_ref_route(ch->county_of_residence, &route) != 0)
		goto out;
	out->county = route.county;
	out->model = route.model;
	out->office = route.office;
	if (*str_or_empty(ch->medi_cal_cin) && ccs_ref_normalise_cin(ch->medi_cal_cin, out->cin) != 0)
		goto out;
	if (ccs_ref_match_key_name(ch->last_name, ch->first_name, ch->birth_date,
				   ch->county_of_residence, out->match_key, sizeof(out->match_key)) != 0)
		goto out;
	ref = ccs_date_parse(r->referral_date);
	dob = ccs_date_parse(ch->birth_date);
	if (dob == CCS_DATE_INVALID || ccs_ref_application_clock(ref, &send, &ret) != 0)
		goto out;
	out->referral_day = ref;
	ccs_date_format(ref, out->referral_date);
	ccs_date_format(dob, out->birth_date);
	ccs_date_format(send, out->application_send_due);
	ccs_date_format(ret, out->application_return_due);
	copy_trimmed(out->school_district, sizeof(out->school_district), ch->school_district);
	for (size_t i = 0; i < r->n_diagnoses; i++) {
		if (!r->diagnoses[i] ||
		    ccs_ref_normalise_icd10(r->diagnoses[i]->icd10_code, out->diagnosis_codes[i]) != 0)
			goto out;
	}
	out->n_diagnosis_codes = r->n_diagnoses;
	rc = 0;
out:
	if (rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* ---- validation -------------------------------------------------------------------------- */

/* A required date field: parsed value, or CCS_DATE_INVALID after reporting why. */
static ccs_date check_date(ccs_ref_reasons *out, const char *s, const char *field,
			   enum code missing, enum code invalid)
{
	ccs_date d;

	if (!s || !*s) {
		add(out, missing, field);
		return CCS_DATE_INVALID;
	}
	d = ccs_date_parse(s);
	if (d == CCS_DATE_INVALID)
		add(out, invalid, field);
	return d;
}

static void check_envelope(const referral_t *r, ccs_ref_reasons *out)
{
	const char *id = str_or_empty(r->referral_id);
	const char *at = str_or_empty(r->submitted_at);

	if (!*id)
		add(out, C_REFERRAL_ID_MISSING, "referral_id");
	else if (!valid_uuid(id))
		add(out, C_REFERRAL_ID_INVALID, "referral_id");
	if (!*at)
		add(out, C_SUBMITTED_AT_MISSING, "submitted_at");
	else if (ccs_ref_instant_date(at) == CCS_DATE_INVALID)
		add(out, C_SUBMITTED_AT_INVALID, "submitted_at");
	if (r->source == 0)
		add(out, C_SOURCE_UNSPECIFIED, "source");
	else if (!enum_known(&ccs__mtp__v1__referral_source__descriptor, (int)r->source, 0))
		add(out, C_SOURCE_INVALID, "source");
	if (!enum_known(&ccs__mtp__v1__coverage__descriptor, (int)r->coverage, 1))
		add(out, C_COVERAGE_INVALID, "coverage");
	for (size_t i = 0; i < ARRAY_LEN(text_rules); i++) {
		const struct text_rule *t = &text_rules[i];
		if (t->owner == IN_REFERRAL)
			check_text_field(out, field_at(r, t->offset), t->field, t->max, t->multiline);
	}
}

/* Birth date, referral date and the age limit, which depend on each other. */
static void check_dates(const referral_t *r, ccs_date today, ccs_ref_reasons *out)
{
	const child_t *c = r->child;
	ccs_date ref, dob = CCS_DATE_INVALID;

	ref = check_date(out, r->referral_date, "referral_date", C_REFERRAL_DATE_MISSING,
			 C_REFERRAL_DATE_INVALID);
	if (ref != CCS_DATE_INVALID && ref > today) {
		add(out, C_REFERRAL_DATE_IN_FUTURE, "referral_date");
		ref = CCS_DATE_INVALID; /* judge the age on today instead */
	}
	if (c) {
		dob = check_date(out, c->birth_date, "child.birth_date", C_BIRTH_DATE_MISSING,
				 C_BIRTH_DATE_INVALID);
		if (dob != CCS_DATE_INVALID && dob > today) {
			add(out, C_BIRTH_DATE_IN_FUTURE, "child.birth_date");
			dob = CCS_DATE_INVALID;
		}
	}
	if (dob == CCS_DATE_INVALID)
		return;
	if (ref != CCS_DATE_INVALID && ref < dob)
		add(out, C_REFERRAL_DATE_BEFORE_BIRTH_DATE, "referral_date");
	/* Under 21 on the referral date: the 21st birthday itself is too late. */
	if (ccs_date_age_years(dob, ref != CCS_DATE_INVALID ? ref : today) >=
	    CCS_REF_AGE_LIMIT_YEARS)
		add(out, C_AGE_21_OR_OVER, "child.birth_date");
}

static void check_child(const child_t *c, ccs_ref_reasons *out)
{
	const char *county, *zip, *cin;
	char norm[CCS_REF_CIN_LEN + 1];

	for (size_t i = 0; i < ARRAY_LEN(name_rules); i++) {
		const struct name_rule *n = &name_rules[i];
		switch (check_name(field_at(c, n->offset))) {
		case NAME_EMPTY:
			if (n->required)
				add(out, n->missing, n->field);
			break;
		case NAME_LONG:
			add(out, n->too_long, n->field);
			break;
		case NAME_BAD:
			add(out, n->invalid, n->field);
			break;
		case NAME_OK:
			break;
		}
	}
	if (!enum_known(&ccs__mtp__v1__sex__descriptor, (int)c->sex, 1))
		add(out, C_SEX_INVALID, "child.sex");
	county = str_or_empty(c->county_of_residence);
	if (!*county)
		add(out, C_COUNTY_MISSING, "child.county_of_residence");
	else if (!ccs_ref_county_find(county))
		add(out, C_COUNTY_UNKNOWN, "child.county_of_residence");
	zip = str_or_empty(c->zip);
	if (*zip && !valid_zip(zip))
		add(out, C_ZIP_INVALID, "child.zip");
	cin = str_or_empty(c->medi_cal_cin);
	if (*cin && ccs_ref_normalise_cin(cin, norm) != 0)
		add(out, C_MEDI_CAL_CIN_INVALID, "child.medi_cal_cin");
	for (size_t i = 0; i < ARRAY_LEN(text_rules); i++) {
		const struct text_rule *t = &text_rules[i];
		if (t->owner == IN_CHILD)
			check_text_field(out, field_at(c, t->offset), t->field, t->max, t->multiline);
		else if (t->owner == IN_GUARDIAN && c->guardian)
			check_text_field(out, field_at(c->guardian, t->offset), t->field, t->max,
					 t->multiline);
	}
	if (c->guardian && *str_or_empty(c->guardian->phone) &&
	    !valid_phone(c->guardian->phone))
		add(out, C_GUARDIAN_PHONE_INVALID, "child.guardian.phone");
}

static void check_diagnoses(const referral_t *r, ccs_ref_reasons *out)
{
	char seen[CCS_REF_DIAGNOSES_MAX][CCS_REF_ICD10_MAX];
	size_t n = r->n_diagnoses, nseen = 0;

	if (n > CCS_REF_DIAGNOSES_MAX) {
		add(out, C_DIAGNOSES_TOO_MANY, "diagnoses");
		n = CCS_REF_DIAGNOSES_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		const Ccs__Mtp__V1__Diagnosis *d = r->diagnoses ? r->diagnoses[i] : NULL;
		const char *code;
		char norm[CCS_REF_ICD10_MAX];
		char field[CCS_REF_FIELD_MAX];

		if (!d) {
			add_indexed(out, C_DIAGNOSIS_MISSING, "diagnoses", i, NULL);
			continue;
		}
		code = str_or_empty(d->icd10_code);
		if (!*code) {
			add_indexed(out, C_DIAGNOSIS_CODE_MISSING, "diagnoses", i, "icd10_code");
		} else if (ccs_ref_normalise_icd10(code, norm) != 0) {
			add_indexed(out, C_DIAGNOSIS_CODE_INVALID, "diagnoses", i, "icd10_code");
		} else {
			size_t j = 0;
			while (j < nseen && strcmp(seen[j], norm) != 0)
				j++;
			if (j < nseen)
				add_indexed(out, C_DIAGNOSIS_DUPLICATE, "diagnoses", i, "icd10_code");
			else
				memcpy(seen[nseen++], norm, sizeof(norm));
		}
		snprintf(field, sizeof(field), "diagnoses[%zu].description", i);
		check_text_field(out, str_or_empty(d->description), field, CCS_REF_TEXT_MAX, 0);
	}
}

static void check_request(const referral_t *r, ccs_ref_reasons *out)
{
	unsigned long long seen = 0; /* bit per known service line value below 64 */

	if (r->requested_program == 0)
		add(out, C_REQUESTED_PROGRAM_UNSPECIFIED, "requested_program");
	else if (!enum_known(&ccs__mtp__v1__requested_program__descriptor,
			     (int)r->requested_program, 0))
		add(out, C_REQUESTED_PROGRAM_INVALID, "requested_program");
	for (size_t i = 0; i < r->n_requested_services; i++) {
		int v = (int)r->requested_services[i];
		if (!enum_known(&ccs__mtp__v1__service_line__descriptor, v, 0) || v < 0 || v >= 64) {
			add_indexed(out, C_REQUESTED_SERVICE_INVALID, "requested_services", i, NULL);
			continue;
		}
		if (seen & (1ULL << v))
			add_indexed(out, C_REQUESTED_SERVICE_DUPLICATE, "requested_services", i, NULL);
		seen |= 1ULL << v;
	}
}

int ccs_ref_validate(const Ccs__Mtp__V1__ReferralSubmitted *r, ccs_date today,
		     ccs_ref_reasons *out)
{
	out->n = 0;
	out->dropped = 0;
	if (!r) {
		add(out, C_REFERRAL_MISSING, "");
		goto out;
	}
	check_envelope(r, out);
	check_dates(r, today, out);
	if (r->child)
		check_child(r->child, out);
	else
		add(out, C_CHILD_MISSING, "child");
	check_diagnoses(r, out);
	check_request(r, out);
out:
	return (int)(out->n + out->dropped);
}
