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
 * Everything a decision contains is derived from the input (ids are UUIDv5 of the event id,
 * decided_at is the referral's submitted_at), so a replay is byte-identical. Concurrent
 * referrals of one child (they arrive keyed by different referral ids, so possibly on different
 * partitions and instances) are serialised by transaction-scoped advisory locks on the CIN and
 * the match key.
 */
#include "referral.h"

#include <stdio.h>
#include <string.h>

#include "ccs/instant.h"
#include "ccs/log.h"
#include "referral_rules.h"

#define TYPE_DECISION "ccs.mtp.v1.ReferralDecision"

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
	ccs_date d = ccs_ref_instant_date(r->submitted_at);
	if (d == CCS_DATE_INVALID && m->ce_time)
		d = ccs_ref_instant_date(m->ce_time);
	if (d == CCS_DATE_INVALID && m->timestamp_ms > 0)
		d = ccs_instant_ca_date(m->timestamp_ms / 1000);
	return d;
}

static int lock_key(ccs_tx *tx, const char *key, ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {key};
	PGresult *r = ccs_tx_query(tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, p, &rc, err);
	PQclear(r);
	return rc;
}

typedef struct match {
	char case_id[CCS_UUID_STRLEN];
	char case_number[32];
	Ccs__Mtp__V1__MatchRule rule;
} match;

/* Look for the child's open case. Returns 0 (m->rule set when found) or a CCS_SVC_* error. */
static int find_case(ccs_tx *tx, const char *cin, const char *key, match *m, ccs_svc_err *err)
{
	int rc = 0;
	PGresult *r;
	m->rule = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_UNSPECIFIED;
	if (*cin) {
		const char *p[1] = {cin};
		r = ccs_tx_query(tx, "SELECT case_id, case_number FROM cases WHERE status = 'open' AND medi_cal_cin = $1",
				 1, p, &rc, err);
		if (!r)
			return rc;
		if (PQntuples(r) > 0)
			m->rule = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_MEDI_CAL_CIN;
		goto found;
	}
	const char *p[2] = {key, *cin ? cin : NULL};
	/* Same name, birth date and county, unless both carry different CINs (different children). */
	r = ccs_tx_query(tx,
			 "SELECT case_id, case_number FROM cases WHERE status = 'open' AND match_key = $1"
			 " AND (medi_cal_cin IS NULL OR $2::text IS NULL OR medi_cal_cin = $2)"
			 " ORDER BY opened_at, case_id LIMIT 1",
			 2, p, &rc, err);
	if (!r)
		return rc;
	if (PQntuples(r) > 0)
		m->rule = CCS__MTP__V1__MATCH_RULE__MATCH_RULE_NAME_DOB_COUNTY;
found:
	if (m->rule) {
		snprintf(m->case_id, sizeof(m->case_id), "%s", PQgetvalue(r, 0, 0));
		snprintf(m->case_number, sizeof(m->case_number), "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

/* Record the referral; returns 1 when the referral_id was already decided (no effect). */
static int record_referral(ccs_tx *tx, const ccs_msg *msg, const char *referral_id, const char *decision_id,
			   const char *outcome, const char *case_id, const char *rule, const char *source,
			   const char *referral_date, const char *reasons, ccs_svc_err *err, int *rc)
{
	const char *p[10] = {msg->ce_id, referral_id, decision_id, outcome, case_id, rule, source,
			     referral_date, reasons, (const char *)msg->value};
	int lens[10] = {0};
	int fmts[10] = {0};
	lens[9] = (int)msg->len;
	fmts[9] = 1;
	if (!msg->value)
		p[9] = "";
	PGresult *r = PQexecParams(ccs_tx_conn(tx),
				   "INSERT INTO referrals(event_id, referral_id, decision_id, outcome, case_id,"
				   " match_rule, source, referral_date, reasons, submitted)"
				   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
				   " ON CONFLICT (referral_id) WHERE outcome <> 'rejected' DO NOTHING",
				   10, NULL, p, lens, fmts, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		*rc = ccs_svc_pg_error(ccs_tx_conn(tx), r, err);
		PQclear(r);
		return 0;
	}
	*rc = 0;
	int dup = strcmp(PQcmdTuples(r), "0") == 0;
	PQclear(r);
	return dup;
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
	const ccs_ref_county *c = ccs_ref_county_find(d.county);
	if (c) {
		d.county = (char *)(uintptr_t)c->name;
		d.reviewing_office = c->office;
		d.county_model = c->model;
	}
	d.decided_at = r->submitted_at;
	d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_REJECTED;
	d.rejected = &rej;

	const char *rid = *r->referral_id ? r->referral_id : msg->ce_id;
	ccs_date rd = ccs_date_parse(r->referral_date);
	char rds[11];
	if (rd != CCS_DATE_INVALID)
		ccs_date_format(rd, rds);
	(void)record_referral(tx, msg, rid, id, "rejected", NULL, NULL, source_name(r->source),
			      rd != CCS_DATE_INVALID ? rds : NULL, reasons_array(a, rs), err, &rc);
	if (rc)
		return rc;
	rc = ccs_tx_emit(tx, CCS_REFERRAL_TOPIC_OUT, rid, "referral.rejected", &d.base);
	if (rc == 0)
		ccs_tx_count_decision(tx, "referral", "rejected");
	CCS_LOG_INFO("referral rejected", "event_id", CCS_LOG_S(msg->ce_id), "decision_id", CCS_LOG_S(id),
		     "reasons", CCS_LOG_I(rs->n + rs->dropped), "first_reason", CCS_LOG_S(rs->v[0].code));
	return rc;
}

int ccs_referral_handle(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *msg, ProtobufCMessage *pb,
			ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	ccs_ref_reasons *rs = ccs_arena_alloc(a, sizeof(*rs));
	Ccs__Mtp__V1__ReferralDecision d = CCS__MTP__V1__REFERRAL_DECISION__INIT;
	Ccs__Mtp__V1__ReferralAccepted acc = CCS__MTP__V1__REFERRAL_ACCEPTED__INIT;
	Ccs__Mtp__V1__ReferralLinked lnk = CCS__MTP__V1__REFERRAL_LINKED__INIT;
	ccs_ref_route_result route;
	char id[CCS_UUID_STRLEN], cin[CCS_REF_CIN_LEN + 1] = "", key[CCS_REF_MATCH_KEY_MAX];
	char rds[11], send[11], ret[11], dob[11];
	ccs_date send_due, return_due;
	match m;
	int rc;
	(void)svc;
	(void)ctx;

	Ccs__Mtp__V1__ReferralSubmitted *r = (Ccs__Mtp__V1__ReferralSubmitted *)pb;
	if (ccs_ref_validate(r, judged_on(r, msg), rs) > 0)
		return reject(tx, msg, r, rs, err);

	/* Valid: every field used below has been checked by ccs_ref_validate. */
	const Ccs__Mtp__V1__Child *ch = r->child;
	if (ccs_ref_route(ch->county_of_residence, &route) != 0 ||
	    (*ch->medi_cal_cin && ccs_ref_normalise_cin(ch->medi_cal_cin, cin) != 0) ||
	    ccs_ref_match_key_name(ch->last_name, ch->first_name, ch->birth_date, ch->county_of_residence, key,
				   sizeof(key)) != 0)
		return ccs_svc_poison(err, "validation", "referral passed validation but cannot be keyed");
	ccs_date ref_date = ccs_date_parse(r->referral_date);
	if (ccs_ref_application_clock(ref_date, &send_due, &return_due) != 0)
		return ccs_svc_poison(err, "validation", "invalid referral_date");
	ccs_date_format(ref_date, rds);
	ccs_date_format(send_due, send);
	ccs_date_format(return_due, ret);
	ccs_date_format(ccs_date_parse(ch->birth_date), dob);

	if (*cin && (rc = lock_key(tx, cin, err)) != 0)
		return rc;
	if ((rc = lock_key(tx, key, err)) != 0)
		return rc;
	if ((rc = find_case(tx, cin, key, &m, err)) != 0)
		return rc;

	d.referral_id = r->referral_id;
	d.county = (char *)(uintptr_t)route.county->name;
	d.reviewing_office = route.office;
	d.county_model = route.model;
	d.decided_at = r->submitted_at;
	const char *kind, *outcome;
	if (m.rule) {
		kind = "referral.linked";
		outcome = "linked";
		ccs_tx_decision_id(tx, kind, id);
		lnk.existing_case_id = m.case_id;
		lnk.existing_case_number = m.case_number;
		lnk.match_rule = m.rule;
		d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_LINKED;
		d.linked = &lnk;
	} else {
		kind = "referral.accepted";
		outcome = "accepted";
		ccs_tx_decision_id(tx, kind, id);
		ccs_tx_decision_id(tx, "case", m.case_id);
		case_number(m.case_number, route.county->code, ref_date, m.case_id);
		const char *p[15] = {m.case_id, m.case_number, route.county->name, model_name(route.model),
				     office_name(route.office), *cin ? cin : NULL, key, ch->first_name,
				     ch->last_name, dob, rds, send, ret, r->referral_id, NULL};
		PGresult *res = ccs_tx_query(tx,
					     "INSERT INTO cases(case_id, case_number, county, county_model,"
					     " reviewing_office, medi_cal_cin, match_key, first_name, last_name,"
					     " birth_date, referral_date, application_send_due,"
					     " application_return_due, opened_by_referral)"
					     " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
					     14, p, &rc, err);
		if (!res)
			return rc;
		PQclear(res);
		acc.birth_date = dob;
		acc.county = d.county;
		acc.n_diagnosis_codes = r->n_diagnoses;
		acc.diagnosis_codes = ccs_arena_alloc(a, (r->n_diagnoses + 1) * sizeof(char *));
		for (size_t i = 0; i < r->n_diagnoses; i++) {
			char *code = ccs_arena_alloc(a, CCS_REF_ICD10_MAX);
			if (ccs_ref_normalise_icd10(r->diagnoses[i]->icd10_code, code) != 0)
				return ccs_svc_poison(err, "validation", "diagnosis code failed normalisation");
			acc.diagnosis_codes[i] = code;
		}
		acc.requested_program = r->requested_program;
		acc.n_requested_services = r->n_requested_services;
		acc.requested_services = r->requested_services;
		acc.referral_date = rds;
		acc.application_send_due = send;
		acc.application_return_due = ret;
		acc.coverage = r->coverage;
		d.outcome_case = CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_ACCEPTED;
		d.accepted = &acc;
	}
	d.decision_id = id;
	d.case_id = m.case_id;
	d.case_number = m.case_number;

	const ProtobufCEnumValue *rule = protobuf_c_enum_descriptor_get_value(
		&ccs__mtp__v1__match_rule__descriptor, (int)m.rule);
	int dup = record_referral(tx, msg, r->referral_id, id, outcome, m.case_id,
				  m.rule && rule ? rule->name : NULL, source_name(r->source), rds, NULL, err, &rc);
	if (rc)
		return rc;
	if (dup) {
		/* A resubmission of a decided referral: its decision is already out. Undo the new
		 * case, if one was opened, by failing into the savepoint would lose the inbox row;
		 * instead nothing was emitted and the case insert is rolled back explicitly. */
		if (!m.rule) {
			const char *p[1] = {m.case_id};
			PGresult *res = ccs_tx_query(tx, "DELETE FROM cases WHERE case_id = $1", 1, p, &rc, err);
			if (!res)
				return rc;
			PQclear(res);
		}
		CCS_LOG_INFO("referral already decided, no effect", "event_id", CCS_LOG_S(msg->ce_id));
		ccs_tx_count_decision(tx, "referral", "resubmitted");
		return 0;
	}
	rc = ccs_tx_emit(tx, CCS_REFERRAL_TOPIC_OUT, m.case_id, kind, &d.base);
	if (rc == 0)
		ccs_tx_count_decision(tx, "referral", outcome);
	CCS_LOG_DBG("referral decided", "event_id", CCS_LOG_S(msg->ce_id), "decision_id", CCS_LOG_S(id),
		    "case_id", CCS_LOG_S(m.case_id), "outcome", CCS_LOG_S(outcome));
	return rc;
}
