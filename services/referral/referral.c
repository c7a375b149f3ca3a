/*
 * referrald's handler (see referral.h).
 *
 * One input, one effect, one decision:
 *   - undecodable bytes -> CCS_SVC_POISON (dead-letter topic, no decision);
 *   - invalid referral  -> a `referrals` row (rejected) and a ReferralRejected listing every reason;
 *   - the same child already has an open case (same Medi-Cal CIN, or same normalised name, birth
 *     date and county with no conflicting CIN) -> a `referrals` row linked to it and a
 *     ReferralLinked decision;
 *   - else a new case -> `cases` + `referrals` rows and a ReferralAccepted decision, routed to
 *     the reviewing office from the county table.
 * A valid referral_id seen before (resubmitted under a new event id) has no second effect.
 *
 * A linked referral's diagnoses, requested program and services, coverage and school district
 * travel in ReferralLinked so eligibility merges them into the case; the CIN it carries is
 * recorded on a name-matched case that had none, and its school district on the case.
 * The county table and the application clock are the installed rule set (ccs_referral_start:
 * data.counties, application.send_days, application.return_days).
 *
 * Everything a decision contains is derived from the input (ids are UUIDv5 of the event id,
 * decided_at is the referral's submitted_at), so a replay is byte-identical. Concurrent
 * referrals of one child (they arrive keyed by different referral ids, so possibly on different
 * partitions and instances) are serialised by transaction-scoped advisory locks on the CIN and
 * the match key.
 */
#include "referral.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ccs/instant.h"
#include "ccs/log.h"
#include "referral_batch.h"
#include "referral_rules.h"

#define TYPE_DECISION "ccs.mtp.v1.ReferralDecision"

const ccs_cfg_def ccs_referral_cfg[] = {
	{"data.counties", CCS_CFG_STR, "", 0, 0, 0,
	 "county table (empty: the installed deploy/data/counties.tsv, else the source tree's); a bad file "
	 "refuses start"},
	{"application.send_days", CCS_CFG_INT, "5", 0, 0, 365,
	 "the county sends the application within N days of the referral date (22 CCR 41514)"},
	{"application.return_days", CCS_CFG_INT, "20", 0, 0, 365,
	 "a signed application back within N days of the referral date keeps the referral date "
	 "(22 CCR 41514); >= application.send_days"},
	{NULL, CCS_CFG_STR, NULL, 0, 0, 0, NULL},
};

int ccs_referral_start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen)
{
	ccs_referral *rf = ctx;
	const ccs_cfg *c = ccs_svc_cfg(svc);
	const char *path = ccs_county_path(ccs_cfg_str(c, "data.counties"));
	ccs_ref_rules rules;
	int rc;

	rc = ccs_county_load(path, &rf->counties, errbuf, errlen);
	if (rc)
		goto out;
	rules.counties = rf->counties;
	rules.application_send_days = (int)ccs_cfg_int(c, "application.send_days");
	rules.application_return_days = (int)ccs_cfg_int(c, "application.return_days");
	rc = ccs_ref_rules_set(&rules);
	if (rc) {
		snprintf(errbuf, errlen, "application.return_days must be >= application.send_days");
		goto out;
	}
	CCS_LOG_INFO("county table loaded", "path", CCS_LOG_S(path), "counties",
		     CCS_LOG_I(ccs_county_count(rf->counties)), "application_send_days",
		     CCS_LOG_I(rules.application_send_days), "application_return_days",
		     CCS_LOG_I(rules.application_return_days));
out:
	return rc;
}

void ccs_referral_stop(ccs_svc *svc, void *ctx)
{
	ccs_referral *rf = ctx;
	static const ccs_ref_rules none = {NULL, CCS_REF_APPLICATION_SEND_DAYS, CCS_REF_APPLICATION_RETURN_DAYS};
	(void)svc;

	if (ccs_ref_rules_set(&none) != 0) /* nothing may keep pointing at the freed table */
		return;
	ccs_county_free(rf->counties);
	rf->counties = NULL;
}

static const char *office_name(Ccs__Mtp__V1__ReviewingOffice o)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__reviewing_office__descriptor, (int)o);
	return v ? v->name : "REVIEWING_OFFICE_UNSPECIFIED";
}

static const char *model_name(Ccs__Mtp__V1__CountyModel m)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__county_model__descriptor, (int)m);
	return v ? v->name : "COUNTY_MODEL_UNSPECIFIED";
}

static const char *source_name(Ccs__Mtp__V1__ReferralSource s)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__referral_source__descriptor, (int)s);
	return v ? v->name : "REFERRAL_SOURCE_UNKNOWN_VALUE";
}

/* Human-readable, stable case number: county code, referral year, 8 base32 chars of the id. */
static void case_number(char out[32], const char *county_code, ccs_date referral_date, const char *case_id)
{
	static const char b32[] = "ABCDEFGHJKMNPQRSTVWXYZ0123456789";
	uint8_t h[20];
	int y, mo, d;
	ccs_sha1(case_id, strlen(case_id), h);
	ccs_date_to_ymd(referral_date, &y, &mo, &d);
	char tail[9];
	for (int i = 0; i < 8; i++)
		tail[i] = b32[h[i] & 31];
	tail[8] = '\0';
	snprintf(out, 32, "%s-%04d-%s", county_code, y % 10000, tail);
}

/* The date the referral is judged on: when it was submitted, from the input alone. */
static ccs_date judged_on(const Ccs__Mtp__V1__ReferralSubmitted *r, const ccs_msg *m)
{
	return ccs_ref_judged_on(r->submitted_at, m->ce_time, (long long)m->timestamp_ms);
}

/*
 * Concurrent referrals of one child meet on these locks, CIN first, then the match key; one
 * queued statement (the lookup that follows goes in the same round trip, after it: a lock and a
 * read in one statement would read with the snapshot taken before the lock).
 */
static int lock_keys(ccs_tx *tx, const ccs_ref_facts *f, ccs_svc_err *err)
{
	const char *p[2] = {*f->cin ? f->cin : NULL, f->match_key};
	return ccs_tx_write(tx,
			    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
			    " FROM unnest(ARRAY[$1::text, $2::text]) WITH ORDINALITY AS u(k, n)"
			    " WHERE k IS NOT NULL ORDER BY n",
			    2, p, err);
}

typedef struct match {
	ccs_refb_case *bc;                 /* the case in the batch's view, when there is one */
	char case_id[CCS_UUID_STRLEN];
	char case_number[32];
	char school[CCS_REF_TEXT_MAX + 1]; /* the matched case's school district, "" when none */
	ccs_ref_link link;
	int decided;                       /* the referral_id already has a decision */
} match;

/* Row `i` of the lookup as (case_id, case_number, medi_cal_cin, school_district). */
static void take_case(PGresult *r, int i, match *m, char *cin)
{
	snprintf(m->case_id, CCS_UUID_STRLEN, "%s", PQgetvalue(r, i, 1));
	snprintf(m->case_number, sizeof(m->case_number), "%s", PQgetvalue(r, i, 2));
	snprintf(cin, CCS_REF_CIN_LEN + 1, "%s", PQgetvalue(r, i, 3));
	snprintf(m->school, sizeof(m->school), "%s", PQgetvalue(r, i, 4));
}

/* find_case on the batch's view (referral_batch.h): the same rules, no statement. */
static void find_case_batch(ccs_refb *b, const ccs_ref_facts *f, const char *referral_id, match *m)
{
	ccs_ref_candidates found = {0, 0, NULL};
	ccs_refb_case *c = ccs_refb_by_cin(b, f->cin);

	memset(m, 0, sizeof(*m));
	m->decided = ccs_refb_decided(b, referral_id);
	if (c) {
		found.by_cin = 1;
	} else if ((c = ccs_refb_by_name(b, f->match_key, f->cin)) != NULL) {
		found.by_name = 1;
		found.name_cin = c->cin;
	}
	found.name_cin = found.name_cin ? found.name_cin : "";
	if (c) {
		m->bc = c;
		snprintf(m->case_id, sizeof(m->case_id), "%s", c->case_id);
		snprintf(m->case_number, sizeof(m->case_number), "%s", c->case_number);
		snprintf(m->school, sizeof(m->school), "%s", c->school);
	}
	m->link = ccs_ref_link_decide(f->cin, &found);
}

/*
 * Everything the decision needs from the database, in one statement (one round trip with the
 * queued locks before it): the open case with the referral's CIN, the oldest open case with
 * its match key whose CIN does not contradict it, and whether the referral_id was already
 * decided. ccs_ref_link_decide() judges what was found: the CIN's case first, else the name's.
 * The CIN branch repeats the predicate of the partial unique index cases_open_cin word for
 * word (with "= $1" alone the planner chose the match-key index and read every open case;
 * found by the benchmark). Returns 0 (m filled) or a CCS_SVC_* error.
 */
static int find_case(ccs_tx *tx, const ccs_ref_facts *f, const char *referral_id, match *m, ccs_svc_err *err)
{
	ccs_ref_candidates found = {0, 0, NULL};
	char name_cin[CCS_REF_CIN_LEN + 1] = "", cin_cin[CCS_REF_CIN_LEN + 1];
	match by_name;
	int rc = 0;
	const char *p[3] = {*f->cin ? f->cin : NULL, f->match_key, referral_id};

	memset(m, 0, sizeof(*m));
	memset(&by_name, 0, sizeof(by_name));
	PGresult *r = ccs_tx_query(tx,
				   "SELECT 'c', case_id, case_number, coalesce(medi_cal_cin, ''),"
				   " coalesce(school_district, '') FROM cases"
				   " WHERE $1::text IS NOT NULL AND status = 'open' AND medi_cal_cin IS NOT NULL"
				   " AND medi_cal_cin = $1"
				   " UNION ALL (SELECT 'n', case_id, case_number, coalesce(medi_cal_cin, ''),"
				   " coalesce(school_district, '') FROM cases"
				   " WHERE status = 'open' AND match_key = $2"
				   " AND (medi_cal_cin IS NULL OR $1::text IS NULL OR medi_cal_cin = $1)"
				   " ORDER BY opened_at, case_id LIMIT 1)"
				   " UNION ALL SELECT 'd', NULL, NULL, NULL, NULL FROM referrals"
				   " WHERE referral_id = $3 AND outcome <> 'rejected'",
				   3, p, &rc, err);
	if (!r)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		char how = PQgetvalue(r, i, 0)[0];
		if (how == 'c' && !found.by_cin) {
			take_case(r, i, m, cin_cin);
			found.by_cin = 1;
		} else if (how == 'n' && !found.by_name) {
			take_case(r, i, &by_name, name_cin);
			found.by_name = 1;
		} else if (how == 'd') {
			m->decided = 1;
		}
	}
	PQclear(r);
	if (found.by_cin)
		found.by_name = 0; /* the CIN's case wins: the name's is not a candidate */
	if (!found.by_cin && found.by_name) {
		int decided = m->decided;
		*m = by_name;
		m->decided = decided;
	}
	found.name_cin = name_cin;
	m->link = ccs_ref_link_decide(f->cin, &found);
	return 0;
}

/*
 * Record the referral (queued). A valid referral_id was checked undecided by find_case under the
 * child's locks; should another instance have decided it since (a resubmission with different
 * child details takes other locks), the unique index refuses the insert, the batch runs again
 * carefully and find_case then sees the decision. Rejected referrals may lack a usable id and
 * are not in that index.
 */
static int record_referral(ccs_tx *tx, const ccs_msg *msg, const char *referral_id, const char *decision_id,
			   const char *outcome, const char *case_id, const char *rule, const char *source,
			   const char *referral_date, const char *reasons, ccs_svc_err *err)
{
	const char *p[10] = {msg->ce_id, referral_id, decision_id, outcome, case_id, rule, source,
			     referral_date, reasons, (const char *)msg->value};
	ccs_refb *b = ccs_tx_batch_state(tx);
	if (b) {
		ccs_refb_record(b, p, msg->value, msg->len);
		return 0;
	}
	int lens[10] = {0};
	int fmts[10] = {0};
	lens[9] = (int)msg->len;
	fmts[9] = 1;
	if (!msg->value)
		p[9] = "";
	return ccs_tx_write_params(tx,
				   "INSERT INTO referrals(event_id, referral_id, decision_id, outcome, case_id,"
				   " match_rule, source, referral_date, reasons, submitted)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
				   10, p, lens, fmts, err);
}

/* Postgres array literal of reason codes, e.g. {BIRTH_DATE_IN_FUTURE,COUNTY_UNKNOWN}. */
static char *reasons_array(ccs_arena *a, const ccs_ref_reasons *rs)
{
	size_t cap = 3;
	for (size_t i = 0; i < rs->n; i++)
		cap += strlen(rs->v[i].code) + strlen(rs->v[i].field) + 4;
	char *s = ccs_arena_alloc(a, cap);
	size_t pos = 0;
	s[pos++] = '{';
	for (size_t i = 0; i < rs->n; i++)
		pos += (size_t)snprintf(s + pos, cap - pos, "%s\"%s:%s\"", i ? "," : "", rs->v[i].code, rs->v[i].field);
	s[pos++] = '}';
	s[pos] = '\0';
	return s;
}

static int reject(ccs_tx *tx, const ccs_msg *msg, const Ccs__Mtp__V1__ReferralSubmitted *r,
		  const ccs_ref_reasons *rs, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	Ccs__Mtp__V1__ReferralDecision d = CCS__MTP__V1__REFERRAL_DECISION__INIT;
	Ccs__Mtp__V1__ReferralRejected rej = CCS__MTP__V1__REFERRAL_REJECTED__INIT;
	char id[CCS_UUID_STRLEN];
	int rc;

	ccs_tx_decision_id(tx, "referral.rejected", id);
	rej.n_reasons = rs->n;
	rej.reasons = ccs_arena_alloc(a, (rs->n + 1) * sizeof(*rej.reasons));
	for (size_t i = 0; i < rs->n; i++) {
		Ccs__Mtp__V1__RejectionReason *x = ccs_arena_alloc(a, sizeof(*x));
		ccs__mtp__v1__rejection_reason__init(x);
		x->code = (char *)(uintptr_t)rs->v[i].code;
		x->field = ccs_arena_strdup(a, rs->v[i].field);
		x->message = (char *)(uintptr_t)rs->v[i].message;
		rej.reasons[i] = x;
	}
	d.decision_id = id;
	d.referral_id = r->referral_id;
	d.county = r->child && r->child->county_of_residence ? r->child->county_of_residence : "";
	ccs_ref_route_result route;
	if (ccs_ref_route(d.county, &route) == 0) {
		d.county = (char *)(uintptr_t)route.county->name;
		d.reviewing_office = route.office;
		d.county_model = route.model;
	}
	d.decided_at = r->submitted_at;
	d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_REJECTED;
	d.rejected = &rej;

	const char *rid = *r->referral_id ? r->referral_id : msg->ce_id;
	ccs_date rd = ccs_date_parse(r->referral_date);
	char rds[11];
	if (rd != CCS_DATE_INVALID)
		ccs_date_format(rd, rds);
	if ((rc = record_referral(tx, msg, rid, id, "rejected", NULL, NULL, source_name(r->source),
				  rd != CCS_DATE_INVALID ? rds : NULL, reasons_array(a, rs), err)) != 0)
		return rc;
	rc = ccs_tx_emit(tx, CCS_REFERRAL_TOPIC_OUT, rid, "referral.rejected", &d.base);
	if (rc == 0)
		ccs_tx_count_decision(tx, "referral", "rejected");
	CCS_LOG_INFO("referral rejected", "event_id", CCS_LOG_S(msg->ce_id), "decision_id", CCS_LOG_S(id),
		     "reasons", CCS_LOG_I(rs->n + rs->dropped), "first_reason", CCS_LOG_S(rs->v[0].code));
	return rc;
}

/* The diagnosis codes of the facts as a protobuf repeated string (pointers into f). */
static char **codes_of(ccs_arena *a, ccs_ref_facts *f)
{
	char **v = ccs_arena_alloc(a, (f->n_diagnosis_codes + 1) * sizeof(*v));
	for (size_t i = 0; i < f->n_diagnosis_codes; i++)
		v[i] = f->diagnosis_codes[i];
	return v;
}

/* Open a new case for the facts; m->case_id and m->case_number are derived from the input. */
static int open_case(ccs_tx *tx, const Ccs__Mtp__V1__ReferralSubmitted *r, const ccs_ref_facts *f, match *m,
		     ccs_svc_err *err)
{
	const Ccs__Mtp__V1__Child *ch = r->child;

	ccs_tx_decision_id(tx, "case", m->case_id);
	case_number(m->case_number, f->county->code, f->referral_day, m->case_id);
	const char *p[15] = {m->case_id, m->case_number, f->county->name, model_name(f->model),
			     office_name(f->office), *f->cin ? f->cin : NULL, f->match_key, ch->first_name,
			     ch->last_name, f->birth_date, f->referral_date, f->application_send_due,
			     f->application_return_due, r->referral_id,
			     *f->school_district ? f->school_district : NULL};
	ccs_refb *b = ccs_tx_batch_state(tx);
	if (b) {
		ccs_refb_open(b, p);
		m->bc = NULL;
		return 0;
	}
	/* Queued: the referral row that follows is read back in the same round trip. */
	return ccs_tx_write(tx,
			    "INSERT INTO cases(case_id, case_number, county, county_model,"
			    " reviewing_office, medi_cal_cin, match_key, first_name, last_name,"
			    " birth_date, referral_date, application_send_due,"
			    " application_return_due, opened_by_referral, school_district)"
			    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
			    15, p, err);
}

/*
 * What a linked referral adds to its case (queued): the CIN when the case had none (the
 * physician's referral after the school's), and the school district when this referral names
 * one, which then is the case's school district (m->school).
 */
static int update_case(ccs_tx *tx, const ccs_ref_facts *f, match *m, ccs_svc_err *err)
{
	const char *p[3] = {m->case_id, m->link.record_cin ? f->cin : NULL,
			    *f->school_district ? f->school_district : NULL};
	if (*f->school_district)
		snprintf(m->school, sizeof(m->school), "%s", f->school_district);
	ccs_refb *b = ccs_tx_batch_state(tx);
	if (b && m->bc) {
		ccs_refb_update(b, m->bc, m->link.record_cin ? f->cin : NULL, f->school_district);
		return 0;
	}
	return ccs_tx_write(tx,
			    "UPDATE cases SET medi_cal_cin = coalesce(medi_cal_cin, $2),"
			    " school_district = coalesce($3, school_district) WHERE case_id = $1",
			    3, p, err);
}

int ccs_referral_handle(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *msg, ProtobufCMessage *pb,
			ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	ccs_ref_reasons *rs = ccs_arena_alloc(a, sizeof(*rs));
	ccs_ref_facts *f = ccs_arena_alloc(a, sizeof(*f));
	Ccs__Mtp__V1__ReferralDecision d = CCS__MTP__V1__REFERRAL_DECISION__INIT;
	Ccs__Mtp__V1__ReferralAccepted acc = CCS__MTP__V1__REFERRAL_ACCEPTED__INIT;
	Ccs__Mtp__V1__ReferralLinked lnk = CCS__MTP__V1__REFERRAL_LINKED__INIT;
	char id[CCS_UUID_STRLEN];
	const char *kind, *outcome;
	match *m = ccs_arena_alloc(a, sizeof(*m));
	int rc;
	(void)svc;
	(void)ctx;

	Ccs__Mtp__V1__ReferralSubmitted *r = (Ccs__Mtp__V1__ReferralSubmitted *)pb;
	if (ccs_ref_validate(r, judged_on(r, msg), rs) > 0)
		return reject(tx, msg, r, rs, err);
	/* Valid: every fact derived below has been checked by ccs_ref_validate. */
	if (ccs_ref_facts_of(r, f) != 0)
		return ccs_svc_poison(err, "validation", "referral passed validation but cannot be keyed");

	ccs_refb *b = ccs_tx_batch_state(tx);
	if (b)
		find_case_batch(b, f, r->referral_id, m); /* locked and read for the whole batch */
	else if ((rc = lock_keys(tx, f, err)) != 0 || (rc = find_case(tx, f, r->referral_id, m, err)) != 0)
		return rc;
	if (m->decided) {
		/* A resubmission of a decided referral: its decision is already out, and it must not
		 * change the case. */
		CCS_LOG_INFO("referral already decided, no effect", "event_id", CCS_LOG_S(msg->ce_id));
		ccs_tx_count_decision(tx, "referral", "resubmitted");
		return 0;
	}

	d.referral_id = r->referral_id;
	d.county = (char *)(uintptr_t)f->county->name;
	d.reviewing_office = f->office;
	d.county_model = f->model;
	d.decided_at = r->submitted_at;
	if (m->link.rule) {
		kind = "referral.linked";
		outcome = "linked";
		lnk.existing_case_id = m->case_id;
		lnk.existing_case_number = m->case_number;
		lnk.match_rule = m->link.rule;
		lnk.n_diagnosis_codes = f->n_diagnosis_codes;
		lnk.diagnosis_codes = codes_of(a, f);
		lnk.requested_program = r->requested_program;
		lnk.n_requested_services = r->n_requested_services;
		lnk.requested_services = r->requested_services;
		lnk.coverage = r->coverage;
		lnk.school_district = m->school;
		d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_LINKED;
		d.linked = &lnk;
	} else {
		kind = "referral.accepted";
		outcome = "accepted";
		if ((rc = open_case(tx, r, f, m, err)) != 0)
			return rc;
		acc.birth_date = f->birth_date;
		acc.county = d.county;
		acc.n_diagnosis_codes = f->n_diagnosis_codes;
		acc.diagnosis_codes = codes_of(a, f);
		acc.requested_program = r->requested_program;
		acc.n_requested_services = r->n_requested_services;
		acc.requested_services = r->requested_services;
		acc.referral_date = f->referral_date;
		acc.application_send_due = f->application_send_due;
		acc.application_return_due = f->application_return_due;
		acc.coverage = r->coverage;
		acc.school_district = f->school_district;
		d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_ACCEPTED;
		d.accepted = &acc;
	}
	ccs_tx_decision_id(tx, kind, id);
	d.decision_id = id;
	d.case_id = m->case_id;
	d.case_number = m->case_number;

	const ProtobufCEnumValue *rule = protobuf_c_enum_descriptor_get_value(
		&ccs__mtp__v1__match_rule__descriptor, (int)m->link.rule);
	if ((rc = record_referral(tx, msg, r->referral_id, id, outcome, m->case_id,
				  m->link.rule && rule ? rule->name : NULL, source_name(r->source), f->referral_date,
				  NULL, err)) != 0)
		return rc;
	if (m->link.rule && (rc = update_case(tx, f, m, err)) != 0)
		return rc;
	rc = ccs_tx_emit(tx, CCS_REFERRAL_TOPIC_OUT, m->case_id, kind, &d.base);
	if (rc == 0)
		ccs_tx_count_decision(tx, "referral", outcome);
	CCS_LOG_DBG("referral decided", "event_id", CCS_LOG_S(msg->ce_id), "decision_id", CCS_LOG_S(id),
		    "case_id", CCS_LOG_S(m->case_id), "outcome", CCS_LOG_S(outcome), "cin_recorded",
		    CCS_LOG_I(m->link.record_cin));
	return rc;
}
