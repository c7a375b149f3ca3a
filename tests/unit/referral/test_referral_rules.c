/*
 * Unit tests of services/referral/referral_rules.c: validation codes and their boundaries
 * (table-driven: one mutation of a valid referral, exactly one expected reason), identifiers,
 * matching keys, the shipped county table (deploy/data/counties.tsv) and routing, the
 * application clock and its settings, linking decisions, the facts a valid referral yields.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ccs_test.h"
#include "referral_rules.h"

CCS_TEST_MAIN()

/* The daemon's rule set: the shipped county table, loaded before any test runs. */
static ccs_county_table *counties;
static const ccs_ref_rules default_rules_template = {NULL, 5, 20};

static void install_default_rules(void)
{
	ccs_ref_rules r = default_rules_template;
	r.counties = counties;
	if (ccs_ref_rules_set(&r) != 0)
		abort();
}

__attribute__((constructor(101))) static void load_counties(void)
{
	char err[256];

	if (ccs_county_load(CCS_COUNTIES_TSV, &counties, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	install_default_rules();
}

#define TODAY ccs_date_from_ymd(2024, 6, 1)
#define NDX 70 /* more than CCS_REF_DIAGNOSES_MAX */

/* A valid referral, built in static-lifetime storage the mutations can point into. */
struct fixture {
	Ccs__Mtp__V1__ReferralSubmitted r;
	Ccs__Mtp__V1__Child child;
	Ccs__Mtp__V1__Guardian guardian;
	Ccs__Mtp__V1__Diagnosis dx[NDX];
	Ccs__Mtp__V1__Diagnosis *dxp[NDX];
	Ccs__Mtp__V1__ServiceLine services[2];
	char codes[NDX][8];
};

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	ccs__mtp__v1__referral_submitted__init(&f->r);
	ccs__mtp__v1__child__init(&f->child);
	ccs__mtp__v1__guardian__init(&f->guardian);
	f->r.referral_id = "0b7e2f4e-6a51-4c1e-9d55-3f1f2d7a9c01";
	f->r.submitted_at = "2024-05-01T17:03:00Z";
	f->r.referral_date = "2024-05-01";
	f->r.source = CCS__MTP__V1__REFERRAL_SOURCE__REFERRAL_SOURCE_PHYSICIAN;
	f->r.referrer_organization = "Valley Pediatrics";
	f->r.referrer_name = "Dr. A. Example";
	f->r.coverage = CCS__MTP__V1__COVERAGE__COVERAGE_MEDI_CAL_FULL_SCOPE;
	f->r.requested_program = CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_MTP;
	f->r.notes = "line one\nline two";
	f->child.first_name = "Maria";
	f->child.last_name = "Garc\xc3\xad" "a-L\xc3\xb3pez";
	f->child.birth_date = "2019-03-14";
	f->child.sex = CCS__MTP__V1__SEX__SEX_FEMALE;
	f->child.county_of_residence = "Los Angeles";
	f->child.preferred_language = "es";
	f->child.address_line1 = "1 Main St";
	f->child.city = "Pasadena";
	f->child.zip = "91101";
	f->child.school_district = "Pasadena Unified";
	f->child.medi_cal_cin = "91234567A";
	f->guardian.name = "Ana L\xc3\xb3pez";
	f->guardian.relationship = "mother";
	f->guardian.phone = "(626) 555-0100";
	f->child.guardian = &f->guardian;
	f->r.child = &f->child;
	for (int i = 0; i < NDX; i++) {
		ccs__mtp__v1__diagnosis__init(&f->dx[i]);
		snprintf(f->codes[i], sizeof(f->codes[i]), "Q%02d.1", i);
		f->dx[i].icd10_code = f->codes[i];
		f->dx[i].description = "referred diagnosis";
		f->dxp[i] = &f->dx[i];
	}
	f->dx[0].icd10_code = "G80.1";
	f->dx[0].description = "spastic diplegic cerebral palsy";
	f->r.diagnoses = f->dxp;
	f->r.n_diagnoses = 2;
	f->services[0] = CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_THERAPY;
	f->services[1] = CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_EQUIPMENT;
	f->r.requested_services = f->services;
	f->r.n_requested_services = 2;
}

/* What a table row changes. */
enum target {
	T_NONE,
	T_REFERRAL_ID,
	T_SUBMITTED_AT,
	T_REFERRAL_DATE,
	T_SOURCE,
	T_COVERAGE,
	T_FIRST,
	T_LAST,
	T_MIDDLE,
	T_DOB,
	T_SEX,
	T_COUNTY,
	T_ZIP,
	T_CIN,
	T_PHONE,
	T_GUARDIAN_NAME,
	T_GUARDIAN_NULL,
	T_CITY,
	T_SCHOOL,
	T_NOTES,
	T_REFERRER,
	T_DX0_CODE,
	T_DX1_CODE,
	T_DX0_DESC,
	T_DX1_NULL,
	T_N_DX,
	T_PROGRAM,
	T_SERVICE1,
	T_CHILD_NULL,
};

struct mutation {
	enum target t;
	char *s;
	int i;
};

static void apply(struct fixture *f, struct mutation m)
{
	switch (m.t) {
	case T_NONE: break;
	case T_REFERRAL_ID: f->r.referral_id = m.s; break;
	case T_SUBMITTED_AT: f->r.submitted_at = m.s; break;
	case T_REFERRAL_DATE: f->r.referral_date = m.s; break;
	case T_SOURCE: f->r.source = (Ccs__Mtp__V1__ReferralSource)m.i; break;
	case T_COVERAGE: f->r.coverage = (Ccs__Mtp__V1__Coverage)m.i; break;
	case T_FIRST: f->child.first_name = m.s; break;
	case T_LAST: f->child.last_name = m.s; break;
	case T_MIDDLE: f->child.middle_name = m.s; break;
	case T_DOB: f->child.birth_date = m.s; break;
	case T_SEX: f->child.sex = (Ccs__Mtp__V1__Sex)m.i; break;
	case T_COUNTY: f->child.county_of_residence = m.s; break;
	case T_ZIP: f->child.zip = m.s; break;
	case T_CIN: f->child.medi_cal_cin = m.s; break;
	case T_PHONE: f->guardian.phone = m.s; break;
	case T_GUARDIAN_NAME: f->guardian.name = m.s; break;
	case T_GUARDIAN_NULL: f->child.guardian = NULL; break;
	case T_CITY: f->child.city = m.s; break;
	case T_SCHOOL: f->child.school_district = m.s; break;
	case T_NOTES: f->r.notes = m.s; break;
	case T_REFERRER: f->r.referrer_name = m.s; break;
	case T_DX0_CODE: f->dx[0].icd10_code = m.s; break;
	case T_DX1_CODE: f->dx[1].icd10_code = m.s; break;
	case T_DX0_DESC: f->dx[0].description = m.s; break;
	case T_DX1_NULL: f->dxp[1] = NULL; break;
	case T_N_DX: f->r.n_diagnoses = (size_t)m.i; break;
	case T_PROGRAM: f->r.requested_program = (Ccs__Mtp__V1__RequestedProgram)m.i; break;
	case T_SERVICE1: f->services[1] = (Ccs__Mtp__V1__ServiceLine)m.i; break;
	case T_CHILD_NULL: f->r.child = NULL; break;
	}
}

static char long_name[CCS_REF_NAME_MAX + 2];
static char max_name[CCS_REF_NAME_MAX + 1];
static char long_text[CCS_REF_TEXT_MAX + 2];
static char long_notes[CCS_REF_NOTES_MAX + 2];

__attribute__((constructor)) static void init_long_strings(void)
{
	memset(long_name, 'a', sizeof(long_name) - 1);
	memset(max_name, 'a', sizeof(max_name) - 1);
	memset(long_text, 'b', sizeof(long_text) - 1);
	memset(long_notes, 'c', sizeof(long_notes) - 1);
}

/* One row: up to two mutations of the valid fixture, then the one reason expected ("" = valid). */
static const struct row {
	const char *name;
	struct mutation m1, m2;
	const char *code;
	const char *field;
} rows[] = {
	{"baseline is valid", {T_NONE, NULL, 0}, {T_NONE, NULL, 0}, "", ""},
	/* referral id */
	{"referral id empty", {T_REFERRAL_ID, "", 0}, {T_NONE, NULL, 0}, "REFERRAL_ID_MISSING", "referral_id"},
	{"referral id null", {T_REFERRAL_ID, NULL, 0}, {T_NONE, NULL, 0}, "REFERRAL_ID_MISSING", "referral_id"},
	{"referral id not uuid", {T_REFERRAL_ID, "ref-42", 0}, {T_NONE, NULL, 0}, "REFERRAL_ID_INVALID", "referral_id"},
	{"referral id nil uuid", {T_REFERRAL_ID, "00000000-0000-0000-0000-000000000000", 0}, {T_NONE, NULL, 0},
	 "REFERRAL_ID_INVALID", "referral_id"},
	{"referral id trailing garbage", {T_REFERRAL_ID, "0b7e2f4e-6a51-4c1e-9d55-3f1f2d7a9c01x", 0},
	 {T_NONE, NULL, 0}, "REFERRAL_ID_INVALID", "referral_id"},
	{"referral id upper case ok", {T_REFERRAL_ID, "0B7E2F4E-6A51-4C1E-9D55-3F1F2D7A9C01", 0},
	 {T_NONE, NULL, 0}, "", ""},
	/* submitted_at */
	{"submitted_at empty", {T_SUBMITTED_AT, "", 0}, {T_NONE, NULL, 0}, "SUBMITTED_AT_MISSING", "submitted_at"},
	{"submitted_at date only", {T_SUBMITTED_AT, "2024-05-01", 0}, {T_NONE, NULL, 0}, "SUBMITTED_AT_INVALID",
	 "submitted_at"},
	/* an offset names the same instant as Z: one RFC 3339 grammar for every service */
	{"submitted_at offset ok", {T_SUBMITTED_AT, "2024-05-01T10:03:00-07:00", 0}, {T_NONE, NULL, 0}, "", ""},
	{"submitted_at no zone", {T_SUBMITTED_AT, "2024-05-01T10:03:00", 0}, {T_NONE, NULL, 0},
	 "SUBMITTED_AT_INVALID", "submitted_at"},
	{"submitted_at space", {T_SUBMITTED_AT, "2024-05-01 17:03:00Z", 0}, {T_NONE, NULL, 0},
	 "SUBMITTED_AT_INVALID", "submitted_at"},
	{"submitted_at fraction ok", {T_SUBMITTED_AT, "2024-05-01T17:03:00.123456Z", 0}, {T_NONE, NULL, 0}, "", ""},
	/* referral date */
	{"referral date empty", {T_REFERRAL_DATE, "", 0}, {T_NONE, NULL, 0}, "REFERRAL_DATE_MISSING", "referral_date"},
	{"referral date impossible", {T_REFERRAL_DATE, "2023-02-29", 0}, {T_NONE, NULL, 0}, "REFERRAL_DATE_INVALID",
	 "referral_date"},
	{"referral date slashes", {T_REFERRAL_DATE, "2024/05/01", 0}, {T_NONE, NULL, 0}, "REFERRAL_DATE_INVALID",
	 "referral_date"},
	{"referral date today ok", {T_REFERRAL_DATE, "2024-06-01", 0}, {T_NONE, NULL, 0}, "", ""},
	{"referral date tomorrow", {T_REFERRAL_DATE, "2024-06-02", 0}, {T_NONE, NULL, 0}, "REFERRAL_DATE_IN_FUTURE",
	 "referral_date"},
	{"referral date before birth", {T_REFERRAL_DATE, "2024-05-01", 0}, {T_DOB, "2024-05-10", 0},
	 "REFERRAL_DATE_BEFORE_BIRTH_DATE", "referral_date"},
	{"referral on day of birth ok", {T_REFERRAL_DATE, "2024-05-10", 0}, {T_DOB, "2024-05-10", 0}, "", ""},
	/* birth date and the age limit */
	{"dob empty", {T_DOB, "", 0}, {T_NONE, NULL, 0}, "BIRTH_DATE_MISSING", "child.birth_date"},
	{"dob impossible", {T_DOB, "2019-13-01", 0}, {T_NONE, NULL, 0}, "BIRTH_DATE_INVALID", "child.birth_date"},
	{"dob tomorrow", {T_DOB, "2024-06-02", 0}, {T_NONE, NULL, 0}, "BIRTH_DATE_IN_FUTURE", "child.birth_date"},
	{"dob today ok", {T_DOB, "2024-06-01", 0}, {T_REFERRAL_DATE, "2024-06-01", 0}, "", ""},
	{"21st birthday on referral date", {T_DOB, "2003-05-01", 0}, {T_NONE, NULL, 0}, "AGE_21_OR_OVER",
	 "child.birth_date"},
	{"21st birthday day after referral ok", {T_DOB, "2003-05-02", 0}, {T_NONE, NULL, 0}, "", ""},
	{"leap dob: 21 on 1 March", {T_DOB, "2000-02-29", 0}, {T_REFERRAL_DATE, "2021-03-01", 0},
	 "AGE_21_OR_OVER", "child.birth_date"},
	{"leap dob: 20 on 28 February", {T_DOB, "2000-02-29", 0}, {T_REFERRAL_DATE, "2021-02-28", 0}, "", ""},
	{"bad referral date: under 21 today", {T_DOB, "2003-06-02", 0},
	 {T_REFERRAL_DATE, "garbage", 0}, "REFERRAL_DATE_INVALID", "referral_date"},
	/* source, coverage, sex: enums */
	{"source unspecified", {T_SOURCE, NULL, 0}, {T_NONE, NULL, 0}, "SOURCE_UNSPECIFIED", "source"},
	{"source unknown value", {T_SOURCE, NULL, 99}, {T_NONE, NULL, 0}, "SOURCE_INVALID", "source"},
	{"source other ok", {T_SOURCE, NULL, CCS__MTP__V1__REFERRAL_SOURCE__REFERRAL_SOURCE_OTHER},
	 {T_NONE, NULL, 0}, "", ""},
	{"coverage unknown value", {T_COVERAGE, NULL, 42}, {T_NONE, NULL, 0}, "COVERAGE_INVALID", "coverage"},
	{"coverage unspecified ok", {T_COVERAGE, NULL, 0}, {T_NONE, NULL, 0}, "", ""},
	{"sex unknown value", {T_SEX, NULL, -3}, {T_NONE, NULL, 0}, "SEX_INVALID", "child.sex"},
	{"sex unspecified ok", {T_SEX, NULL, 0}, {T_NONE, NULL, 0}, "", ""},
	/* names */
	{"first name empty", {T_FIRST, "", 0}, {T_NONE, NULL, 0}, "FIRST_NAME_MISSING", "child.first_name"},
	{"first name blank", {T_FIRST, "   ", 0}, {T_NONE, NULL, 0}, "FIRST_NAME_MISSING", "child.first_name"},
	{"first name null", {T_FIRST, NULL, 0}, {T_NONE, NULL, 0}, "FIRST_NAME_MISSING", "child.first_name"},
	{"first name digits", {T_FIRST, "R2D2", 0}, {T_NONE, NULL, 0}, "FIRST_NAME_INVALID_CHARACTERS",
	 "child.first_name"},
	{"first name punctuation only", {T_FIRST, "-'.", 0}, {T_NONE, NULL, 0}, "FIRST_NAME_INVALID_CHARACTERS",
	 "child.first_name"},
	{"first name bad utf8", {T_FIRST, "Mar\xc3", 0}, {T_NONE, NULL, 0}, "FIRST_NAME_INVALID_CHARACTERS",
	 "child.first_name"},
	{"first name overlong utf8", {T_FIRST, "\xc0\xa1" "a", 0}, {T_NONE, NULL, 0},
	 "FIRST_NAME_INVALID_CHARACTERS", "child.first_name"},
	{"first name tab", {T_FIRST, "Ma\tria", 0}, {T_NONE, NULL, 0}, "FIRST_NAME_INVALID_CHARACTERS",
	 "child.first_name"},
	{"first name emoji", {T_FIRST, "Maria\xf0\x9f\x98\x80", 0}, {T_NONE, NULL, 0},
	 "FIRST_NAME_INVALID_CHARACTERS", "child.first_name"},
	{"first name too long", {T_FIRST, long_name, 0}, {T_NONE, NULL, 0}, "FIRST_NAME_TOO_LONG",
	 "child.first_name"},
	{"first name at max ok", {T_FIRST, max_name, 0}, {T_NONE, NULL, 0}, "", ""},
	{"first name accented ok", {T_FIRST, "Jos\xc3\xa9 Mar\xc3\xad" "a", 0}, {T_NONE, NULL, 0}, "", ""},
	{"first name cjk ok", {T_FIRST, "\xe7\x8e\x8b", 0}, {T_NONE, NULL, 0}, "", ""},
	{"last name apostrophe hyphen ok", {T_LAST, "O'Brien-Smith Jr.", 0}, {T_NONE, NULL, 0}, "", ""},
	{"last name curly apostrophe ok", {T_LAST, "O\xe2\x80\x99" "Brien", 0}, {T_NONE, NULL, 0}, "", ""},
	{"last name no-break space ok", {T_LAST, "Garc\xc3\xad" "a\xc2\xa0L\xc3\xb3pez", 0}, {T_NONE, NULL, 0}, "", ""},
	{"last name other latin-1 symbol", {T_LAST, "Smith\xc2\xa9", 0}, {T_NONE, NULL, 0},
	 "LAST_NAME_INVALID_CHARACTERS", "child.last_name"},
	{"last name empty", {T_LAST, "", 0}, {T_NONE, NULL, 0}, "LAST_NAME_MISSING", "child.last_name"},
	{"last name symbols", {T_LAST, "Smith & Co", 0}, {T_NONE, NULL, 0}, "LAST_NAME_INVALID_CHARACTERS",
	 "child.last_name"},
	{"last name too long", {T_LAST, long_name, 0}, {T_NONE, NULL, 0}, "LAST_NAME_TOO_LONG", "child.last_name"},
	{"middle name empty ok", {T_MIDDLE, "", 0}, {T_NONE, NULL, 0}, "", ""},
	{"middle name digits", {T_MIDDLE, "3rd", 0}, {T_NONE, NULL, 0}, "MIDDLE_NAME_INVALID_CHARACTERS",
	 "child.middle_name"},
	{"middle name too long", {T_MIDDLE, long_name, 0}, {T_NONE, NULL, 0}, "MIDDLE_NAME_TOO_LONG",
	 "child.middle_name"},
	/* county */
	{"county empty", {T_COUNTY, "", 0}, {T_NONE, NULL, 0}, "COUNTY_MISSING", "child.county_of_residence"},
	{"county unknown", {T_COUNTY, "Los Angles", 0}, {T_NONE, NULL, 0}, "COUNTY_UNKNOWN",
	 "child.county_of_residence"},
	{"county out of state", {T_COUNTY, "Clark", 0}, {T_NONE, NULL, 0}, "COUNTY_UNKNOWN",
	 "child.county_of_residence"},
	{"county case and suffix ok", {T_COUNTY, "  LOS angeles   County ", 0}, {T_NONE, NULL, 0}, "", ""},
	{"county dependent ok", {T_COUNTY, "alpine", 0}, {T_NONE, NULL, 0}, "", ""},
	/* zip, CIN, phone */
	{"zip 4 digits", {T_ZIP, "9110", 0}, {T_NONE, NULL, 0}, "ZIP_INVALID", "child.zip"},
	{"zip letters", {T_ZIP, "9110A", 0}, {T_NONE, NULL, 0}, "ZIP_INVALID", "child.zip"},
	{"zip+4 ok", {T_ZIP, "91101-1234", 0}, {T_NONE, NULL, 0}, "", ""},
	{"zip+3", {T_ZIP, "91101-123", 0}, {T_NONE, NULL, 0}, "ZIP_INVALID", "child.zip"},
	{"zip empty ok", {T_ZIP, "", 0}, {T_NONE, NULL, 0}, "", ""},
	{"cin empty ok", {T_CIN, "", 0}, {T_NONE, NULL, 0}, "", ""},
	{"cin lower case spaced ok", {T_CIN, "9123 4567-a", 0}, {T_NONE, NULL, 0}, "", ""},
	{"cin 7 digits", {T_CIN, "9123456A", 0}, {T_NONE, NULL, 0}, "MEDI_CAL_CIN_INVALID", "child.medi_cal_cin"},
	{"cin 9 digits", {T_CIN, "912345678", 0}, {T_NONE, NULL, 0}, "MEDI_CAL_CIN_INVALID", "child.medi_cal_cin"},
	{"cin two letters", {T_CIN, "91234567AB", 0}, {T_NONE, NULL, 0}, "MEDI_CAL_CIN_INVALID",
	 "child.medi_cal_cin"},
	{"phone short", {T_PHONE, "555-0100", 0}, {T_NONE, NULL, 0}, "GUARDIAN_PHONE_INVALID",
	 "child.guardian.phone"},
	{"phone letters", {T_PHONE, "626-555-CALL", 0}, {T_NONE, NULL, 0}, "GUARDIAN_PHONE_INVALID",
	 "child.guardian.phone"},
	{"phone international ok", {T_PHONE, "+1 626.555.0100", 0}, {T_NONE, NULL, 0}, "", ""},
	{"guardian absent ok", {T_GUARDIAN_NULL, NULL, 0}, {T_NONE, NULL, 0}, "", ""},
	/* free text */
	{"city too long", {T_CITY, long_text, 0}, {T_NONE, NULL, 0}, "TEXT_TOO_LONG", "child.city"},
	{"city control char", {T_CITY, "Pasa\x01" "dena", 0}, {T_NONE, NULL, 0}, "TEXT_INVALID_CHARACTERS",
	 "child.city"},
	{"city newline", {T_CITY, "Pasa\ndena", 0}, {T_NONE, NULL, 0}, "TEXT_INVALID_CHARACTERS", "child.city"},
	{"guardian name bad utf8", {T_GUARDIAN_NAME, "\xff", 0}, {T_NONE, NULL, 0}, "TEXT_INVALID_CHARACTERS",
	 "child.guardian.name"},
	{"referrer surrogate", {T_REFERRER, "\xed\xa0\x80", 0}, {T_NONE, NULL, 0}, "TEXT_INVALID_CHARACTERS",
	 "referrer_name"},
	{"notes too long", {T_NOTES, long_notes, 0}, {T_NONE, NULL, 0}, "TEXT_TOO_LONG", "notes"},
	{"notes long text ok", {T_NOTES, long_text, 0}, {T_NONE, NULL, 0}, "", ""},
	{"diagnosis description too long", {T_DX0_DESC, long_text, 0}, {T_NONE, NULL, 0}, "TEXT_TOO_LONG",
	 "diagnoses[0].description"},
	/* diagnoses */
	{"icd10 without dot ok", {T_DX0_CODE, "g801", 0}, {T_NONE, NULL, 0}, "", ""},
	{"icd10 seven chars ok", {T_DX0_CODE, "S06.0X1A", 0}, {T_NONE, NULL, 0}, "", ""},
	{"icd10 category only ok", {T_DX0_CODE, "G80", 0}, {T_NONE, NULL, 0}, "", ""},
	{"icd10 empty", {T_DX0_CODE, "", 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_CODE_MISSING", "diagnoses[0].icd10_code"},
	{"icd10 dangling dot", {T_DX0_CODE, "G80.", 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_CODE_INVALID",
	 "diagnoses[0].icd10_code"},
	{"icd10 digit first", {T_DX1_CODE, "880.1", 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_CODE_INVALID",
	 "diagnoses[1].icd10_code"},
	{"icd10 letter second", {T_DX0_CODE, "GA0.1", 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_CODE_INVALID",
	 "diagnoses[0].icd10_code"},
	{"icd10 five after dot", {T_DX0_CODE, "S06.0X1AB", 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_CODE_INVALID",
	 "diagnoses[0].icd10_code"},
	{"icd10 hyphen", {T_DX0_CODE, "G80-1", 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_CODE_INVALID",
	 "diagnoses[0].icd10_code"},
	{"icd10 duplicate after normalising", {T_DX0_CODE, "G80.1", 0}, {T_DX1_CODE, "g801", 0},
	 "DIAGNOSIS_DUPLICATE", "diagnoses[1].icd10_code"},
	{"diagnosis entry null", {T_DX1_NULL, NULL, 0}, {T_NONE, NULL, 0}, "DIAGNOSIS_MISSING", "diagnoses[1]"},
	{"no diagnoses ok", {T_N_DX, NULL, 0}, {T_NONE, NULL, 0}, "", ""},
	{"64 diagnoses ok", {T_N_DX, NULL, CCS_REF_DIAGNOSES_MAX}, {T_NONE, NULL, 0}, "", ""},
	{"65 diagnoses", {T_N_DX, NULL, CCS_REF_DIAGNOSES_MAX + 1}, {T_NONE, NULL, 0}, "DIAGNOSES_TOO_MANY",
	 "diagnoses"},
	/* request */
	{"program unspecified", {T_PROGRAM, NULL, 0}, {T_NONE, NULL, 0}, "REQUESTED_PROGRAM_UNSPECIFIED",
	 "requested_program"},
	{"program unknown", {T_PROGRAM, NULL, 77}, {T_NONE, NULL, 0}, "REQUESTED_PROGRAM_INVALID",
	 "requested_program"},
	{"service unspecified", {T_SERVICE1, NULL, 0}, {T_NONE, NULL, 0}, "REQUESTED_SERVICE_INVALID",
	 "requested_services[1]"},
	{"service unknown", {T_SERVICE1, NULL, 1000}, {T_NONE, NULL, 0}, "REQUESTED_SERVICE_INVALID",
	 "requested_services[1]"},
	{"service duplicate", {T_SERVICE1, NULL, CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_THERAPY},
	 {T_NONE, NULL, 0}, "REQUESTED_SERVICE_DUPLICATE", "requested_services[1]"},
	{"child missing", {T_CHILD_NULL, NULL, 0}, {T_NONE, NULL, 0}, "CHILD_MISSING", "child"},
};

static void dump(const char *name, const ccs_ref_reasons *rs)
{
	fprintf(stderr, "  row \"%s\": %zu reasons (+%zu dropped)\n", name, rs->n, rs->dropped);
	for (size_t i = 0; i < rs->n; i++)
		fprintf(stderr, "    %s %s\n", rs->v[i].code, rs->v[i].field);
}

CCS_TEST(validate_table)
{
	static struct fixture f;
	ccs_ref_reasons rs;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		fixture_init(&f);
		apply(&f, w->m1);
		apply(&f, w->m2);
		int n = ccs_ref_validate(&f.r, TODAY, &rs);
		int before = ccs_test_failed_now;
		if (!*w->code) {
			CCS_EQ_INT(n, 0);
		} else {
			CCS_EQ_INT(n, 1);
			CCS_EQ_INT(rs.n, 1);
			if (rs.n >= 1) {
				CCS_EQ_STR(rs.v[0].code, w->code);
				CCS_EQ_STR(rs.v[0].field, w->field);
				CCS_TRUE(rs.v[0].message && *rs.v[0].message);
			}
		}
		if (ccs_test_failed_now && !before)
			dump(w->name, &rs);
	}
}

/* The table must exercise every code the module can give. */
CCS_TEST(validate_table_covers_every_code)
{
	static const char *const all[] = {
		"REFERRAL_ID_MISSING", "REFERRAL_ID_INVALID", "SUBMITTED_AT_MISSING",
		"SUBMITTED_AT_INVALID", "REFERRAL_DATE_MISSING", "REFERRAL_DATE_INVALID",
		"REFERRAL_DATE_IN_FUTURE", "REFERRAL_DATE_BEFORE_BIRTH_DATE", "SOURCE_UNSPECIFIED",
		"SOURCE_INVALID", "CHILD_MISSING", "FIRST_NAME_MISSING", "FIRST_NAME_TOO_LONG",
		"FIRST_NAME_INVALID_CHARACTERS", "LAST_NAME_MISSING", "LAST_NAME_TOO_LONG",
		"LAST_NAME_INVALID_CHARACTERS", "MIDDLE_NAME_TOO_LONG",
		"MIDDLE_NAME_INVALID_CHARACTERS", "BIRTH_DATE_MISSING", "BIRTH_DATE_INVALID",
		"BIRTH_DATE_IN_FUTURE", "AGE_21_OR_OVER", "SEX_INVALID", "COUNTY_MISSING",
		"COUNTY_UNKNOWN", "ZIP_INVALID", "MEDI_CAL_CIN_INVALID", "GUARDIAN_PHONE_INVALID",
		"COVERAGE_INVALID", "DIAGNOSES_TOO_MANY", "DIAGNOSIS_MISSING",
		"DIAGNOSIS_CODE_MISSING", "DIAGNOSIS_CODE_INVALID", "DIAGNOSIS_DUPLICATE",
		"REQUESTED_PROGRAM_UNSPECIFIED", "REQUESTED_PROGRAM_INVALID",
		"REQUESTED_SERVICE_INVALID", "REQUESTED_SERVICE_DUPLICATE", "TEXT_TOO_LONG",
		"TEXT_INVALID_CHARACTERS",
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		int found = 0;
		for (size_t j = 0; j < sizeof(rows) / sizeof(rows[0]); j++)
			found |= strcmp(rows[j].code, all[i]) == 0;
		if (!found)
			fprintf(stderr, "  no row for %s\n", all[i]);
		CCS_TRUE(found);
	}
}

/* Without a usable referral date, the age limit is judged on `today`. */
CCS_TEST(validate_age_falls_back_to_today)
{
	static struct fixture f;
	ccs_ref_reasons rs;

	fixture_init(&f);
	f.r.referral_date = "2024-06-31";
	f.child.birth_date = "2003-06-01"; /* 21 today */
	CCS_EQ_INT(ccs_ref_validate(&f.r, TODAY, &rs), 2);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REFERRAL_DATE_INVALID"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "AGE_21_OR_OVER"));
	f.r.referral_date = "2024-06-02"; /* in the future: judged on today too */
	CCS_EQ_INT(ccs_ref_validate(&f.r, TODAY, &rs), 2);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REFERRAL_DATE_IN_FUTURE"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "AGE_21_OR_OVER"));
}

CCS_TEST(validate_null_referral)
{
	ccs_ref_reasons rs;
	CCS_EQ_INT(ccs_ref_validate(NULL, TODAY, &rs), 1);
	CCS_EQ_STR(rs.v[0].code, "REFERRAL_MISSING");
}

/* An empty message: every required field reported at once, not just the first. */
CCS_TEST(validate_collects_all_problems)
{
	Ccs__Mtp__V1__ReferralSubmitted r;
	ccs_ref_reasons rs;

	ccs__mtp__v1__referral_submitted__init(&r);
	CCS_EQ_INT(ccs_ref_validate(&r, TODAY, &rs), 6);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REFERRAL_ID_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "SUBMITTED_AT_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REFERRAL_DATE_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "SOURCE_UNSPECIFIED"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "CHILD_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REQUESTED_PROGRAM_UNSPECIFIED"));
	CCS_TRUE(!ccs_ref_reasons_has(&rs, "COUNTY_MISSING"));

	/* With an empty child: the child's required fields join in. */
	Ccs__Mtp__V1__Child c;
	ccs__mtp__v1__child__init(&c);
	r.child = &c;
	CCS_EQ_INT(ccs_ref_validate(&r, TODAY, &rs), 9);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "FIRST_NAME_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "LAST_NAME_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "BIRTH_DATE_MISSING"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "COUNTY_MISSING"));
	CCS_TRUE(!ccs_ref_reasons_has(&rs, "CHILD_MISSING"));
}

CCS_TEST(validate_overflow_counts_dropped)
{
	static struct fixture f;
	ccs_ref_reasons rs;

	fixture_init(&f);
	for (int i = 0; i < NDX; i++)
		f.dx[i].icd10_code = "nope";
	f.r.n_diagnoses = CCS_REF_DIAGNOSES_MAX; /* 64 invalid codes */
	f.r.referral_id = "x";                   /* and one more problem first */
	int n = ccs_ref_validate(&f.r, TODAY, &rs);
	CCS_EQ_INT(n, 65);
	CCS_EQ_INT(rs.n, CCS_REF_MAX_REASONS);
	CCS_EQ_INT(rs.dropped, 65 - CCS_REF_MAX_REASONS);
	CCS_EQ_STR(rs.v[0].code, "REFERRAL_ID_INVALID");
	CCS_EQ_STR(rs.v[31].field, "diagnoses[30].icd10_code");
	/* A reused struct is reset. */
	fixture_init(&f);
	CCS_EQ_INT(ccs_ref_validate(&f.r, TODAY, &rs), 0);
	CCS_EQ_INT(rs.n, 0);
	CCS_EQ_INT(rs.dropped, 0);
}

/* Reasons name fields, never values: no name, birth date or diagnosis leaks into them. */
CCS_TEST(validate_reasons_carry_no_phi)
{
	static struct fixture f;
	ccs_ref_reasons rs;
	static const char *const phi[] = {"Zebulon", "Quixote", "2031-01-02", "Z99.9", "Nowhere"};

	fixture_init(&f);
	f.child.first_name = "Zebulon1";
	f.child.last_name = "Quixote!";
	f.child.birth_date = "2031-01-02";
	f.dx[0].icd10_code = "Z99.9.";
	f.child.county_of_residence = "Nowhere";
	CCS_TRUE(ccs_ref_validate(&f.r, TODAY, &rs) >= 5);
	for (size_t i = 0; i < rs.n; i++)
		for (size_t j = 0; j < sizeof(phi) / sizeof(phi[0]); j++) {
			CCS_TRUE(strstr(rs.v[i].message, phi[j]) == NULL);
			CCS_TRUE(strstr(rs.v[i].field, phi[j]) == NULL);
		}
}

CCS_TEST(instant_date)
{
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T17:03:00Z"), ccs_date_from_ymd(2024, 5, 1));
	CCS_EQ_INT(ccs_ref_instant_date("2024-12-31T23:59:60.5Z"), ccs_date_from_ymd(2024, 12, 31));
	/* midnight UTC is 17:00 PDT the day before: the date is California's */
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01t00:00:00z"), ccs_date_from_ymd(2024, 4, 30));
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01t07:00:00z"), ccs_date_from_ymd(2024, 5, 1));
	CCS_EQ_INT(ccs_ref_instant_date("2026-11-20T07:30:00Z"), ccs_date_from_ymd(2026, 11, 19));
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T10:03:00-07:00"), ccs_date_from_ymd(2024, 5, 1));
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T24:00:00Z"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T23:60:00Z"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_ref_instant_date("2023-02-29T00:00:00Z"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T00:00:00"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T00:00:00.Z"), CCS_DATE_INVALID);
	/* RFC 3339 puts no bound on fraction digits: ten are an instant like any other */
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T17:00:00.1234567890Z"), ccs_date_from_ymd(2024, 5, 1));
	CCS_EQ_INT(ccs_ref_instant_date("2024-05-01T00:00:00Zx"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_ref_instant_date("2024-05"), CCS_DATE_INVALID);
	CCS_EQ_INT(ccs_ref_instant_date(NULL), CCS_DATE_INVALID);
}

/* Every referral date is a California date: "today" comes from the input, dated in California. */
CCS_TEST(judged_on_california)
{
	static const struct {
		const char *submitted_at, *ce_time;
		long long ts_ms;
		const char *day; /* NULL: no date */
	} t[] = {
		{"2024-05-02T03:00:00Z", NULL, 0, "2024-05-01"},        /* 20:00 PDT the day before */
		{"2024-05-02T07:00:00Z", NULL, 0, "2024-05-02"},        /* midnight PDT */
		{"2024-12-01T07:59:59Z", NULL, 0, "2024-11-30"},        /* PST: UTC-8 */
		{"2024-05-01T23:30:00-07:00", NULL, 0, "2024-05-01"},
		{"", "2024-05-02T03:00:00Z", 0, "2024-05-01"},          /* falls back to ce_time */
		{"nonsense", "2024-05-02T03:00:00Z", 0, "2024-05-01"},
		{NULL, NULL, 1714618800000LL, "2024-05-01"},            /* Kafka time 2024-05-02T03:00Z */
		{"2024-05-02T12:00:00Z", NULL, 1714618800000LL, "2024-05-02"},
		{NULL, "bad", 0, NULL},
		{NULL, NULL, -5, NULL},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ccs_date d = ccs_ref_judged_on(t[i].submitted_at, t[i].ce_time, t[i].ts_ms);
		CCS_EQ_INT(d, t[i].day ? ccs_date_parse(t[i].day) : CCS_DATE_INVALID);
	}
	/* Submitted at 20:00 PDT on 1 May: a referral dated 2 May is in the future in California. */
	{
		static struct fixture f;
		ccs_ref_reasons rs;
		fixture_init(&f);
		f.r.submitted_at = "2024-05-02T03:00:00Z";
		f.r.referral_date = "2024-05-02";
		CCS_EQ_INT(ccs_ref_validate(&f.r, ccs_ref_judged_on(f.r.submitted_at, NULL, 0), &rs), 1);
		CCS_TRUE(ccs_ref_reasons_has(&rs, "REFERRAL_DATE_IN_FUTURE"));
		f.r.referral_date = "2024-05-01";
		CCS_EQ_INT(ccs_ref_validate(&f.r, ccs_ref_judged_on(f.r.submitted_at, NULL, 0), &rs), 0);
	}
}

CCS_TEST(normalise_cin)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{"91234567A", "91234567A"}, {"91234567a", "91234567A"}, {" 9123-4567 a ", "91234567A"},
		{"9123456A", NULL},         {"912345678", NULL},        {"91234567AB", NULL},
		{"A1234567A", NULL},        {"", NULL},                 {"91234567\xc3\x81", NULL},
		{"912345670A", NULL},
	};
	char out[CCS_REF_CIN_LEN + 1];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = ccs_ref_normalise_cin(t[i].in, out);
		CCS_EQ_INT(rc, t[i].out ? 0 : -EINVAL);
		CCS_EQ_STR(out, t[i].out ? t[i].out : "");
	}
	CCS_EQ_INT(ccs_ref_normalise_cin(NULL, out), -EINVAL);
}

CCS_TEST(normalise_icd10)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{"G80.1", "G80.1"},     {"g801", "G80.1"},       {"G80", "G80"},
		{"S06.0X1A", "S06.0X1A"}, {"s060x1a", "S06.0X1A"}, {" G80.1 ", "G80.1"},
		{"Q05.9", "Q05.9"},     {"G80.", NULL},          {"G8", NULL},
		{"880.1", NULL},        {"GA0.1", NULL},         {"G80..1", NULL},
		{"G80.12345", NULL},    {"G8012345", NULL},      {"G80-1", NULL},
		{"G80 1", NULL},        {"", NULL},              {".G80", NULL},
	};
	char out[CCS_REF_ICD10_MAX];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = ccs_ref_normalise_icd10(t[i].in, out);
		if (rc != (t[i].out ? 0 : -EINVAL))
			fprintf(stderr, "  input \"%s\"\n", t[i].in);
		CCS_EQ_INT(rc, t[i].out ? 0 : -EINVAL);
		CCS_EQ_STR(out, t[i].out ? t[i].out : "");
	}
}

CCS_TEST(match_key)
{
	char a[CCS_REF_MATCH_KEY_MAX], b[CCS_REF_MATCH_KEY_MAX];

	CCS_EQ_INT(ccs_ref_match_key_name("Garc\xc3\xad" "a-L\xc3\xb3pez", "Mar\xc3\xad" "a",
					  "2019-03-14", "Los Angeles", a, sizeof(a)), 0);
	CCS_EQ_STR(a, "garcialopez|maria|2019-03-14|losangeles");
	/* Same child spelled by another referrer. */
	CCS_EQ_INT(ccs_ref_match_key_name("GARCIA LOPEZ", " maria ", "2019-03-14",
					  "los angeles county", b, sizeof(b)), 0);
	CCS_EQ_STR(b, a);
	/* No-break space and a pasted hyphen fold away like ASCII punctuation. */
	CCS_EQ_INT(ccs_ref_match_key_name("Garcia\xc2\xa0L\xc3\xb3pez", "MARIA", "2019-03-14",
					  "Los Angeles", b, sizeof(b)), 0);
	CCS_EQ_STR(b, a);
	/* Decomposed accents (NFD) fold the same. */
	CCS_EQ_INT(ccs_ref_match_key_name("Garci\xcc\x81" "a L\xc3\xb3pez", "Maria", "2019-03-14",
					  "LOS ANGELES", b, sizeof(b)), 0);
	CCS_EQ_STR(b, a);
	/* A different birth date or county is a different child. */
	CCS_EQ_INT(ccs_ref_match_key_name("Garcia Lopez", "Maria", "2019-03-15", "Los Angeles", b,
					  sizeof(b)), 0);
	CCS_TRUE(strcmp(a, b) != 0);
	CCS_EQ_INT(ccs_ref_match_key_name("Garcia Lopez", "Maria", "2019-03-14", "Orange", b,
					  sizeof(b)), 0);
	CCS_EQ_STR(b, "garcialopez|maria|2019-03-14|orange");
	/* Letters without decomposition, apostrophes, other scripts. */
	CCS_EQ_INT(ccs_ref_match_key_name("O\xe2\x80\x99" "Stra\xc3\x9f" "e", "\xc3\x86sa \xc3\x98rn",
					  "2020-01-31", "San Luis Obispo", b, sizeof(b)), 0);
	CCS_EQ_STR(b, "ostrasse|aesaorn|2020-01-31|sanluisobispo");
	CCS_EQ_INT(ccs_ref_match_key_name("\xe7\x8e\x8b", "Li", "2020-01-31", "Alameda", b,
					  sizeof(b)), 0);
	CCS_EQ_STR(b, "\xe7\x8e\x8b|li|2020-01-31|alameda");
	/* Errors. */
	CCS_EQ_INT(ccs_ref_match_key_name("", "Maria", "2019-03-14", "Orange", b, sizeof(b)), -EINVAL);
	CCS_EQ_STR(b, "");
	CCS_EQ_INT(ccs_ref_match_key_name("Lopez", "--", "2019-03-14", "Orange", b, sizeof(b)),
		   -EINVAL);
	CCS_EQ_INT(ccs_ref_match_key_name("Lopez", "Maria", "2019-02-30", "Orange", b, sizeof(b)),
		   -EINVAL);
	CCS_EQ_INT(ccs_ref_match_key_name("Lopez", "Maria", "2019-03-14", "Gotham", b, sizeof(b)),
		   -EINVAL);
	CCS_EQ_INT(ccs_ref_match_key_name("Lop\xc3", "Maria", "2019-03-14", "Orange", b, sizeof(b)),
		   -EINVAL);
	CCS_EQ_INT(ccs_ref_match_key_name(NULL, "Maria", "2019-03-14", "Orange", b, sizeof(b)),
		   -EINVAL);
	/* "lopez|maria|2019-03-14|orange" is 29 bytes: 30 fits, 29 does not. */
	CCS_EQ_INT(ccs_ref_match_key_name("Lopez", "Maria", "2019-03-14", "Orange", b, 30), 0);
	CCS_EQ_INT(ccs_ref_match_key_name("Lopez", "Maria", "2019-03-14", "Orange", b, 29), -ENOSPC);
	CCS_EQ_STR(b, "");
}

/*
 * The shipped table's shape: 58 counties with their codes in alphabetical order, every row
 * saying where it comes from. Which model a county has is the file's fact, not checked against
 * its population (the 200,000 threshold is a rule of thumb, not a rule).
 */
CCS_TEST(county_table_shape)
{
	int independent = 0, dependent = 0, sourced = 0;

	CCS_EQ_INT(ccs_county_count(counties), 58);
	for (size_t i = 0; i < ccs_county_count(counties); i++) {
		const ccs_county *c = ccs_county_at(counties, i);
		char code[24];
		snprintf(code, sizeof(code), "%02zu", i + 1);
		CCS_EQ_STR(c->code, code); /* codes are the alphabetical position */
		if (i > 0)
			CCS_TRUE(strcmp(ccs_county_at(counties, i - 1)->name, c->name) < 0);
		CCS_TRUE(ccs_ref_county_find(c->name) == c);
		CCS_TRUE(c->source && strlen(c->source) > 10);
		sourced += c->sourced;
		if (c->model == CCS_COUNTY_INDEPENDENT) {
			independent++;
			CCS_EQ_INT(c->office, CCS_COUNTY_OFFICE_COUNTY);
		} else {
			dependent++;
			CCS_EQ_INT(c->model, CCS_COUNTY_DEPENDENT);
			CCS_TRUE(c->office != CCS_COUNTY_OFFICE_COUNTY);
		}
	}
	CCS_EQ_INT(independent + dependent, 58);
	CCS_TRUE(independent > 0 && dependent > 0);
	/* Only Imperial's office is sourced (the Imperial County MTP page). */
	CCS_EQ_INT(sourced, 1);
	CCS_TRUE(ccs_ref_county_find("Imperial")->sourced);
}

CCS_TEST(county_find)
{
	static const struct {
		const char *in, *name;
	} t[] = {
		{"Los Angeles", "Los Angeles"},   {"los angeles", "Los Angeles"},
		{"LOS ANGELES", "Los Angeles"},   {" Los\t Angeles  ", "Los Angeles"},
		{"Los Angeles County", "Los Angeles"}, {"los angeles county ", "Los Angeles"},
		{"Nevada County", "Nevada"},      {"San Luis Obispo", "San Luis Obispo"},
		{"Yuba", "Yuba"},                 {"alameda", "Alameda"},
		{"LosAngeles", NULL},             {"Los Angeles Cty", NULL},
		{"County", NULL},                 {" county", NULL},
		{"", NULL},                       {"Los Angeles County County", NULL},
		{"San", NULL},                    {"Santa", NULL},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const ccs_county *c = ccs_ref_county_find(t[i].in);
		if (t[i].name) {
			CCS_TRUE(c != NULL);
			if (c)
				CCS_EQ_STR(c->name, t[i].name);
		} else {
			if (c)
				fprintf(stderr, "  \"%s\" found %s\n", t[i].in, c->name);
			CCS_TRUE(c == NULL);
		}
	}
	CCS_TRUE(ccs_ref_county_find(NULL) == NULL);
}

CCS_TEST(route)
{
	static const struct {
		const char *county;
		Ccs__Mtp__V1__CountyModel model;
		Ccs__Mtp__V1__ReviewingOffice office;
	} t[] = {
		{"Los Angeles", CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_INDEPENDENT,
		 CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY},
		{"San Diego", CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_INDEPENDENT,
		 CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY},
		{"imperial", CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_DEPENDENT,
		 CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SOUTHERN_CALIFORNIA},
		{"Alpine", CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_DEPENDENT,
		 CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SACRAMENTO},
		{"Napa", CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_DEPENDENT,
		 CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SAN_FRANCISCO},
	};
	ccs_ref_route_result r;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		CCS_EQ_INT(ccs_ref_route(t[i].county, &r), 0);
		CCS_TRUE(r.county != NULL);
		CCS_EQ_INT(r.model, t[i].model);
		CCS_EQ_INT(r.office, t[i].office);
	}
	CCS_EQ_INT(ccs_ref_route("Gotham", &r), -ENOENT);
	CCS_TRUE(r.county == NULL);
	CCS_EQ_INT(r.model, CCS__MTP__V1__COUNTY_MODEL__COUNTY_MODEL_UNSPECIFIED);
	CCS_EQ_INT(r.office, CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_UNSPECIFIED);
}

/*
 * 22 CCR 41514: send within 5 days, signed application back within 20 days OF THE REFERRAL.
 * The return date used to be send + 20 = referral + 25 (the bug: eligibility said + 20).
 */
CCS_TEST(application_clock)
{
	static const struct {
		int send_days, return_days;
		const char *ref, *send, *ret;
	} t[] = {
		{5, 20, "2024-05-01", "2024-05-06", "2024-05-21"},
		{5, 20, "2024-12-30", "2025-01-04", "2025-01-19"},
		{5, 20, "2024-02-25", "2024-03-01", "2024-03-16"}, /* leap year */
		{5, 20, "2023-02-25", "2023-03-02", "2023-03-17"},
		{3, 30, "2024-05-01", "2024-05-04", "2024-05-31"}, /* settings, not constants */
		{0, 0, "2024-05-01", "2024-05-01", "2024-05-01"},
		{10, 10, "2024-05-01", "2024-05-11", "2024-05-11"},
	};
	ccs_date send, ret;
	char buf[11];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ccs_ref_rules r = {counties, t[i].send_days, t[i].return_days};
		CCS_EQ_INT(ccs_ref_rules_set(&r), 0);
		CCS_EQ_INT(ccs_ref_application_clock(ccs_date_parse(t[i].ref), &send, &ret), 0);
		ccs_date_format(send, buf);
		CCS_EQ_STR(buf, t[i].send);
		ccs_date_format(ret, buf);
		CCS_EQ_STR(buf, t[i].ret);
	}
	install_default_rules();
	CCS_EQ_INT(ccs_ref_application_clock(CCS_DATE_INVALID, &send, &ret), -EINVAL);
}

CCS_TEST(rules_settings_checked)
{
	static const struct {
		int send_days, return_days, rc;
	} t[] = {
		{5, 20, 0}, {0, 0, 0}, {20, 20, 0}, {-1, 20, -EINVAL}, {5, 4, -EINVAL}, {5, -1, -EINVAL},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ccs_ref_rules r = {counties, t[i].send_days, t[i].return_days};
		CCS_EQ_INT(ccs_ref_rules_set(&r), t[i].rc);
	}
	CCS_EQ_INT(ccs_ref_rules_set(NULL), -EINVAL);
	install_default_rules();
	CCS_EQ_INT(ccs_ref_rules_get()->application_return_days, 20);
	/* Without a table every county is unknown: validation says so, nothing crashes. */
	{
		ccs_ref_rules none = {NULL, 5, 20};
		ccs_ref_route_result route;
		CCS_EQ_INT(ccs_ref_rules_set(&none), 0);
		CCS_TRUE(ccs_ref_county_find("Los Angeles") == NULL);
		CCS_EQ_INT(ccs_ref_route("Los Angeles", &route), -ENOENT);
		install_default_rules();
		CCS_EQ_INT(ccs_ref_route("Los Angeles", &route), 0);
	}
}

/*
 * Same child, second referral (22 CCR 41514 referrals come from anyone: school and physician).
 * The CIN's case wins; else the name + birth date + county case unless both CINs are given and
 * differ; a CIN arriving on a name match is recorded on the case that had none.
 */
CCS_TEST(link_decide)
{
	enum { NEW = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_UNSPECIFIED,
	       CIN = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_MEDI_CAL_CIN,
	       NAME = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_NAME_DOB_COUNTY };
	static const struct {
		const char *what, *cin;
		ccs_ref_candidates found;
		int rule, record_cin;
	} t[] = {
		{"nothing found, no CIN", "", {0, 0, NULL}, NEW, 0},
		{"nothing found, CIN", "91234567A", {0, 0, NULL}, NEW, 0},
		{"CIN's case", "91234567A", {1, 0, NULL}, CIN, 0},
		{"CIN's case wins over a name match", "91234567A", {1, 1, ""}, CIN, 0},
		{"school without CIN, then physician with CIN", "91234567A", {0, 1, ""}, NAME, 1},
		{"case CIN NULL counts as none", "91234567A", {0, 1, NULL}, NAME, 1},
		{"physician with CIN, then school without", "", {0, 1, "91234567A"}, NAME, 0},
		{"both without CIN", "", {0, 1, ""}, NAME, 0},
		{"same CIN on the name match", "91234567A", {0, 1, "91234567A"}, NAME, 0},
		{"different CINs: different children", "91234567A", {0, 1, "98765432B"}, NEW, 0},
		{"CIN candidate ignored without a CIN", "", {1, 0, NULL}, NEW, 0},
		{"NULL CIN is none", NULL, {0, 1, "91234567A"}, NAME, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ccs_ref_link l = ccs_ref_link_decide(t[i].cin, &t[i].found);
		if ((int)l.rule != t[i].rule || l.record_cin != t[i].record_cin)
			fprintf(stderr, "  case: %s\n", t[i].what);
		CCS_EQ_INT(l.rule, t[i].rule);
		CCS_EQ_INT(l.record_cin, t[i].record_cin);
	}
	CCS_EQ_INT(ccs_ref_link_decide("91234567A", NULL).rule, NEW);
}

/* What a valid referral brings to its case and decision (accepted or linked). */
CCS_TEST(facts_of)
{
	static struct fixture fx;
	static ccs_ref_facts f;
	static const struct {
		const char *what;
		struct mutation m;
		const char *cin, *school, *county, *ret;
		int office;
	} t[] = {
		{"as referred", {T_NONE, NULL, 0}, "91234567A", "Pasadena Unified", "Los Angeles", "2024-05-21",
		 CCS_COUNTY_OFFICE_COUNTY},
		{"no CIN", {T_CIN, "", 0}, "", "Pasadena Unified", "Los Angeles", "2024-05-21",
		 CCS_COUNTY_OFFICE_COUNTY},
		{"CIN normalised", {T_CIN, "9123-4567 a", 0}, "91234567A", "Pasadena Unified", "Los Angeles",
		 "2024-05-21", CCS_COUNTY_OFFICE_COUNTY},
		{"school district trimmed", {T_SCHOOL, "  Clovis Unified  ", 0}, "91234567A", "Clovis Unified",
		 "Los Angeles", "2024-05-21", CCS_COUNTY_OFFICE_COUNTY},
		{"no school district", {T_SCHOOL, "", 0}, "91234567A", "", "Los Angeles", "2024-05-21",
		 CCS_COUNTY_OFFICE_COUNTY},
		{"school district NULL", {T_SCHOOL, NULL, 0}, "91234567A", "", "Los Angeles", "2024-05-21",
		 CCS_COUNTY_OFFICE_COUNTY},
		{"county canonical", {T_COUNTY, " imperial county ", 0}, "91234567A", "Pasadena Unified",
		 "Imperial", "2024-05-21", CCS_COUNTY_OFFICE_SOUTHERN_CALIFORNIA},
		{"referral date drives the clock", {T_REFERRAL_DATE, "2024-02-25", 0}, "91234567A",
		 "Pasadena Unified", "Los Angeles", "2024-03-16", CCS_COUNTY_OFFICE_COUNTY},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ccs_ref_reasons rs;
		fixture_init(&fx);
		apply(&fx, t[i].m);
		if (ccs_ref_validate(&fx.r, TODAY, &rs) != 0)
			fprintf(stderr, "  case: %s: %s\n", t[i].what, rs.v[0].code);
		CCS_EQ_INT(rs.n, 0);
		CCS_EQ_INT(ccs_ref_facts_of(&fx.r, &f), 0);
		CCS_EQ_STR(f.cin, t[i].cin);
		CCS_EQ_STR(f.school_district, t[i].school);
		CCS_TRUE(f.county != NULL);
		if (f.county)
			CCS_EQ_STR(f.county->name, t[i].county);
		CCS_EQ_INT(f.office, t[i].office);
		CCS_EQ_STR(f.application_return_due, t[i].ret);
		CCS_EQ_STR(f.birth_date, "2019-03-14");
		CCS_EQ_INT(f.n_diagnosis_codes, 2);
		CCS_EQ_STR(f.diagnosis_codes[0], "G80.1");
		CCS_EQ_STR(f.diagnosis_codes[1], "Q01.1");
		CCS_TRUE(strncmp(f.match_key, "garcialopez|maria|2019-03-14|", 29) == 0);
	}
	/* Diagnoses normalised as eligibility expects them. */
	fixture_init(&fx);
	fx.dx[0].icd10_code = " g801 ";
	CCS_EQ_INT(ccs_ref_facts_of(&fx.r, &f), 0);
	CCS_EQ_STR(f.diagnosis_codes[0], "G80.1");
	CCS_EQ_STR(f.application_send_due, "2024-05-06");
	/* What validation refuses yields no facts. */
	fixture_init(&fx);
	fx.child.county_of_residence = "Gotham";
	CCS_EQ_INT(ccs_ref_facts_of(&fx.r, &f), -EINVAL);
	CCS_EQ_STR(f.match_key, "");
	CCS_EQ_INT(ccs_ref_facts_of(NULL, &f), -EINVAL);
}

/* Decode a corpus file (encoded by protoc from the .proto) and validate it on its own date. */
static int validate_corpus_file(const char *name, ccs_ref_reasons *rs)
{
	char path[512];
	uint8_t buf[4096];
	size_t n;
	FILE *f;
	Ccs__Mtp__V1__ReferralSubmitted *r;
	int problems;

	snprintf(path, sizeof(path), "%s/%s", CCS_REFERRAL_CORPUS_DIR, name);
	f = fopen(path, "rb");
	CCS_TRUE(f != NULL);
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	r = ccs__mtp__v1__referral_submitted__unpack(NULL, n, buf);
	CCS_TRUE(r != NULL);
	if (!r)
		return -1;
	problems = ccs_ref_validate(r, ccs_ref_instant_date(r->submitted_at), rs);
	ccs__mtp__v1__referral_submitted__free_unpacked(r, NULL);
	return problems;
}

CCS_TEST(corpus_decodes_and_validates)
{
	ccs_ref_reasons rs;

	CCS_EQ_INT(validate_corpus_file("valid_physician_la.bin", &rs), 0);
	CCS_EQ_INT(validate_corpus_file("valid_minimal_dependent.bin", &rs), 0);
	CCS_EQ_INT(validate_corpus_file("invalid_age_21.bin", &rs), 1);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "AGE_21_OR_OVER"));
	CCS_EQ_INT(validate_corpus_file("invalid_enums.bin", &rs), 5);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "SOURCE_INVALID"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "COVERAGE_INVALID"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "SEX_INVALID"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REQUESTED_PROGRAM_INVALID"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REQUESTED_SERVICE_INVALID"));
	CCS_TRUE(validate_corpus_file("invalid_many.bin", &rs) >= 15);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "BIRTH_DATE_IN_FUTURE"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "DIAGNOSIS_DUPLICATE"));
	CCS_TRUE(ccs_ref_reasons_has(&rs, "REQUESTED_SERVICE_DUPLICATE"));
	CCS_TRUE(validate_corpus_file("invalid_utf8_name.bin", &rs) > 0);
	CCS_TRUE(ccs_ref_reasons_has(&rs, "FIRST_NAME_INVALID_CHARACTERS"));
}
