/*
 * schedulingd's handler (see scheduling.h).
 *
 * One input, one effect: every input event gets one `inputs` row naming what it did and the
 * decisions it produced. Decision kinds (the UUIDv5 names, stable forever):
 *
 *   evaluation.booked / evaluation.waitlisted    an eligibility decision made the child MTP eligible
 *   series.booked / series.waitlisted            a therapy prescription
 *   cancelled                                    a cancellation or no-show
 *   reoffer.<waitlist entry id>                  a freed or new slot given to a waitlisted child
 *                                                (a second decision of the same input, keyed by
 *                                                that child's case id)
 *   conference.scheduled / conference.unscheduled
 *   iep.refer_lea / iep.schedule_change          IEP coordination notices
 *
 * Appointment ids are derived the same way ("appointment.<decision kind>.<n>"), so a replay of
 * an input books byte-identical appointments.
 *
 * Double booking. The engine picks a slot from a snapshot loaded in this transaction, but
 * another instance (another partition: children of one MTU arrive keyed by their own case ids)
 * may book the same therapist or room concurrently. The EXCLUDE constraints refuse the second
 * insert (PostgreSQL makes it wait for the first transaction, then fails it with 23P01 if that
 * one committed). We roll back to a savepoint taken before the snapshot and search again: the
 * next statement sees the committed booking (READ COMMITTED), so the retry picks another slot
 * without throwing away the rest of the batch. After booking.retries conflicts in a row (a hot
 * MTU under heavy contention) the message is treated as transient: the batch rolls back and is
 * retried from PostgreSQL's offset, which is always correct, only slower.
 *
 * Rules are data: the engine's ccs_sched_rules built from the settings (service target,
 * horizon, evaluation length, notice days...) and its waitlist policy.
 */
#include "scheduling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs/instant.h"
#include "ccs/log.h"
#include "ccs/metrics.h"
#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "ccs/mtp/v1/scheduling.pb-c.h"
#include "engine.h"
#include "mtu_directory.h"
#include "scheduling_store.h"

#ifndef CCS_SCHED_DIRECTORY_SOURCE
#define CCS_SCHED_DIRECTORY_SOURCE "deploy/data/mtu_directory.tsv"
#endif
#ifndef CCS_SCHED_DIRECTORY_INSTALLED
#define CCS_SCHED_DIRECTORY_INSTALLED "/usr/local/share/ccs/mtu_directory.tsv"
#endif


const ccs_cfg_def ccs_scheduling_cfg[] = {
	{"mtu.directory", CCS_CFG_STR, "", 0, 0, 0,
	 "MTU directory file (empty: the installed sample, else the source tree's sample)"},
	{"service.target_days", CCS_CFG_INT, "30", 0, 1, 365,
	 "book the evaluation within N days of eligibility, else waitlist"},
	{"horizon.days", CCS_CFG_INT, "90", 0, 7, 730, "never book later than N days ahead"},
	{"evaluation.minutes", CCS_CFG_INT, "60", 0, 15, 480, "length of a PT/OT evaluation"},
	{"evaluation.discipline", CCS_CFG_STR, "PT", 0, 0, 0, "discipline of the first evaluation (PT or OT)"},
	{"evaluation.lead_days", CCS_CFG_INT, "1", 0, 0, 60, "first evaluation day >= eligibility + N days"},
	{"booking.notice_days", CCS_CFG_INT, "1", 0, 0, 60, "any booking >= request date + N days"},
	{"slot.minutes", CCS_CFG_INT, "15", 0, 5, 120, "start times fall on this grid"},
	{"conference.minutes", CCS_CFG_INT, "60", 0, 15, 480, "Medical Therapy Conference length"},
	{"plan_change.notice_days", CCS_CFG_INT, "5", 0, 0, 60,
	 "a therapy plan change takes effect >= notice + N days"},
	{"school_day.start_minute", CCS_CFG_INT, "480", 0, 0, 1440, "school day start (minutes after midnight)"},
	{"school_day.end_minute", CCS_CFG_INT, "900", 0, 0, 1440, "school day end (minutes after midnight)"},
	{"booking.retries", CCS_CFG_INT, "3", 0, 1, 50,
	 "searches per message after exclusion conflicts before the batch is retried"},
	{"reoffer.max", CCS_CFG_INT, "20", 0, 1, 1000, "waitlisted children tried per freed capacity"},
	{"waitlist.aging_out_months", CCS_CFG_INT, "6", 0, 0, 60, "aging-out priority window"},
	{NULL, CCS_CFG_STR, NULL, 0, 0, 0, NULL},
};

struct ccs_scheduling {
	ccs_sched_rules rules;
	ccs_sched_wl_policy policy;
	int eval_discipline;
	int school_start;
	int school_end;
	int retries;
	int reoffer_max;
	ccs_metric *m_conflicts; /* bookings refused by an EXCLUDE constraint, then searched again */
};

/* Everything about the input being handled. */
typedef struct req {
	ccs_scheduling *s;
	ccs_tx *tx;
	ccs_arena *a;
	ccs_svc_err *err;
	const char *event_id;
	const char *request_id;
	const char *decided_at;
	ccs_date asof;
	int64_t at_ms;
	char **ids; /* decision ids emitted, for the inputs row */
	size_t n_ids;
	size_t cap_ids;
} req;

ccs_scheduling *ccs_scheduling_new(void)
{
	ccs_scheduling *s = ccs_xcalloc(1, sizeof(*s));
	s->rules = ccs_sched_rules_default;
	s->policy = ccs_sched_wl_policy_default;
	s->eval_discipline = CCS_SCHED_PT;
	return s;
}

void ccs_scheduling_free(ccs_scheduling *s)
{
	free(s);
}

/* ---------------------------------------------------------------- small helpers */

/* An RFC 3339 instant as epoch milliseconds, by the project's one parser (ccs/instant.h);
 * negative when malformed (or before 1970, which no request is). */
static int64_t instant_ms(const char *s)
{
	int64_t t;
	int32_t ns;
	if (ccs_instant_parse(s, &t, &ns) != 0)
		return -1;
	return t * 1000 + ns / 1000000;
}

/* The California date of an instant: what "today" is for the request's rules. */
static ccs_date instant_date(const char *s)
{
	return ccs_instant_date_ca(s);
}

static int valid_uuid(const char *s)
{
	ccs_uuid u;
	return s && ccs_uuid_parse(s, &u) == 0;
}

static const char *fmt_date(ccs_arena *a, ccs_date d)
{
	char *b = ccs_arena_alloc(a, 11);
	ccs_date_format(d, b);
	return b;
}

static const char *fmt_int(ccs_arena *a, long v)
{
	return ccs_arena_printf(a, "%ld", v);
}

static int sp(req *q, const char *sql)
{
	return ccs_sched_store_exec(q->tx, sql, 0, NULL, q->err);
}

static int discipline_from_name(const char *s)
{
	if (strcmp(s, "PT") == 0)
		return CCS_SCHED_PT;
	if (strcmp(s, "OT") == 0)
		return CCS_SCHED_OT;
	return 0;
}

/* ---------------------------------------------------------------- decisions */

/* Fill the common fields, publish on commit, remember the id for the inputs row. */
static int emit(req *q, const char *case_id, const char *mtu_id, const char *kind,
		Ccs__Mtp__V1__SchedulingDecision *d, const char *metric_outcome)
{
	char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
	ccs_tx_decision_id(q->tx, kind, id);
	d->decision_id = id;
	d->case_id = (char *)(uintptr_t)(case_id ? case_id : "");
	d->decided_at = (char *)(uintptr_t)q->decided_at;
	d->mtu_id = (char *)(uintptr_t)(mtu_id ? mtu_id : "");
	d->request_id = (char *)(uintptr_t)q->request_id;
	int rc = ccs_tx_emit(q->tx, CCS_SCHEDULING_TOPIC_OUT, case_id, kind, &d->base);
	if (rc)
		return rc;
	if (q->n_ids == q->cap_ids) {
		size_t cap = q->cap_ids ? 2 * q->cap_ids : 8;
		char **n = ccs_arena_alloc(q->a, cap * sizeof(*n));
		if (q->n_ids)
			memcpy(n, q->ids, q->n_ids * sizeof(*n));
		q->ids = n;
		q->cap_ids = cap;
	}
	q->ids[q->n_ids++] = id;
	ccs_tx_count_decision(q->tx, "scheduling", metric_outcome);
	CCS_LOG_DBG("scheduling decision", "event_id", CCS_LOG_S(q->event_id), "decision_id", CCS_LOG_S(id),
		    "case_id", CCS_LOG_S(case_id ? case_id : ""), "kind", CCS_LOG_S(kind));
	return 0;
}

/* The one row per input: what it did and which decisions it produced. */
static int record_input(req *q, const char *source, const char *kind, const char *case_id, const char *outcome)
{
	size_t cap = 3;
	for (size_t i = 0; i < q->n_ids; i++)
		cap += strlen(q->ids[i]) + 1;
	char *arr = ccs_arena_alloc(q->a, cap);
	size_t pos = 0;
	arr[pos++] = '{';
	for (size_t i = 0; i < q->n_ids; i++)
		pos += (size_t)snprintf(arr + pos, cap - pos, "%s%s", i ? "," : "", q->ids[i]);
	arr[pos++] = '}';
	arr[pos] = '\0';
	const char *p[6] = {q->event_id, source, kind, case_id, outcome, arr};
	return ccs_sched_store_exec(q->tx,
				    "INSERT INTO inputs(event_id, source, request_kind, case_id, outcome, decision_ids)"
				    " VALUES ($1, $2, $3, $4, $5, $6)",
				    6, p, q->err);
}

static Ccs__Mtp__V1__Appointment *appt_msg(ccs_arena *a, const ccs_sched_store_appt *x)
{
	Ccs__Mtp__V1__Appointment *m = ccs_arena_alloc(a, sizeof(*m));
	ccs__mtp__v1__appointment__init(m);
	m->appointment_id = (char *)(uintptr_t)x->appointment_id;
	m->therapist_id = (char *)(uintptr_t)x->therapist_id;
	m->room_id = (char *)(uintptr_t)(x->room_id ? x->room_id : "");
	m->discipline = (Ccs__Mtp__V1__Discipline)x->discipline;
	m->date = (char *)(uintptr_t)fmt_date(a, x->day);
	m->start_minute = (uint32_t)x->start_min;
	m->duration_minutes = (uint32_t)(x->end_min - x->start_min);
	return m;
}

/* An IEP coordination notice. The student is identified only while a release is on file. */
static int emit_notice(req *q, const char *case_id, const char *mtu_id, Ccs__Mtp__V1__IepNoticeKind kind,
		       ccs_date effective, const char *decision_kind)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__IepCoordinationNotice *n = ccs_arena_alloc(q->a, sizeof(*n));
	Ccs__Mtp__V1__StudentIdentification *st = ccs_arena_alloc(q->a, sizeof(*st));
	int rc, on_file = 0;

	ccs__mtp__v1__iep_coordination_notice__init(n);
	ccs__mtp__v1__student_identification__init(st);
	const char *p[2] = {case_id, fmt_date(q->a, q->asof)};
	PGresult *r = ccs_tx_query(q->tx,
				   "SELECT school_district, student_id FROM releases WHERE case_id = $1"
				   " AND status = 'on_file' AND (effective_date IS NULL OR effective_date <= $2)",
				   2, p, &rc, q->err);
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		on_file = 1;
		st->school_district = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 0));
		st->student_id_at_district = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	n->kind = kind;
	n->release_on_file = on_file;
	n->student = on_file ? st : NULL;
	n->effective_date = (char *)(uintptr_t)(effective != CCS_DATE_INVALID ? fmt_date(q->a, effective) : "");
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_IEP_NOTICE;
	d.iep_notice = n;
	rc = emit(q, case_id, mtu_id, decision_kind, &d, on_file ? "iep_notice_identified" : "iep_notice_release_missing");
	if (rc)
		return rc;
	const ProtobufCEnumValue *kv =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__iep_notice_kind__descriptor, (int)kind);
	const char *p2[6] = {d.decision_id, case_id, kv ? kv->name : "?", on_file ? "true" : "false",
			     *n->effective_date ? n->effective_date : NULL, q->event_id};
	return ccs_sched_store_exec(q->tx,
				    "INSERT INTO notices(decision_id, case_id, kind, release_on_file, effective_date,"
				    " event_id) VALUES ($1, $2, $3, $4, $5, $6)",
				    6, p2, q->err);
}

/* ---------------------------------------------------------------- waitlist */

typedef struct wl_row {
	const char *kind;            /* "evaluation" or "series" */
	const char *prescription_id;
	const char *case_id;
	const char *county;
} wl_row;

/*
 * The waiting entries of one MTU (or, with mtu_id NULL, of one county without an MTU) and a
 * discipline (0 = any), in policy order. Entries are what the engine compares; rows carry the
 * rest. IEP blocks are loaded for the first `with_iep` entries only (those a re-offer tries).
 */
static int load_waitlist(req *q, const char *mtu_id, const char *county, int discipline, size_t with_iep,
			 ccs_sched_waitlist_entry **entries, wl_row **rows, size_t *n)
{
	int rc;
	const char *p[3] = {mtu_id, county, discipline ? fmt_int(q->a, discipline) : NULL};
	PGresult *r = ccs_tx_query(q->tx,
				   "SELECT entry_id, case_id, discipline, minutes, flags, age_out_on, waitlisted_ms,"
				   " not_before, kind, prescription_id, county FROM waitlist"
				   " WHERE status = 'waiting' AND mtu_id IS NOT DISTINCT FROM $1"
				   " AND ($1 IS NOT NULL OR lower(county) = lower($2))"
				   " AND ($3::int IS NULL OR discipline = $3::int)",
				   3, p, &rc, q->err);
	if (!r)
		return rc;
	size_t cnt = (size_t)PQntuples(r);
	ccs_sched_waitlist_entry *e = ccs_arena_alloc(q->a, (cnt + 1) * sizeof(*e));
	wl_row *w = ccs_arena_alloc(q->a, (cnt + 1) * sizeof(*w));
	for (size_t i = 0; i < cnt; i++) {
		int row = (int)i;
		memset(&e[i], 0, sizeof(e[i]));
		e[i].entry_id = ccs_arena_strdup(q->a, PQgetvalue(r, row, 0));
		e[i].child.child_id = ccs_arena_strdup(q->a, PQgetvalue(r, row, 1));
		e[i].discipline = (int)strtol(PQgetvalue(r, row, 2), NULL, 10);
		e[i].minutes = (int)strtol(PQgetvalue(r, row, 3), NULL, 10);
		e[i].flags = (unsigned)strtoul(PQgetvalue(r, row, 4), NULL, 10);
		e[i].age_out_on = PQgetisnull(r, row, 5) ? CCS_DATE_INVALID : ccs_date_parse(PQgetvalue(r, row, 5));
		e[i].waitlisted_at = strtoll(PQgetvalue(r, row, 6), NULL, 10);
		e[i].not_before = PQgetisnull(r, row, 7) ? CCS_DATE_INVALID : ccs_date_parse(PQgetvalue(r, row, 7));
		w[i].kind = ccs_arena_strdup(q->a, PQgetvalue(r, row, 8));
		w[i].prescription_id = PQgetisnull(r, row, 9) ? NULL : ccs_arena_strdup(q->a, PQgetvalue(r, row, 9));
		w[i].case_id = e[i].child.child_id;
		w[i].county = ccs_arena_strdup(q->a, PQgetvalue(r, row, 10));
	}
	PQclear(r);
	/* Sort both arrays into policy order. */
	size_t *order = ccs_arena_alloc(q->a, (cnt + 1) * sizeof(*order));
	ccs_sched_waitlist_order(&q->s->policy, q->asof, e, cnt, order);
	ccs_sched_waitlist_entry *se = ccs_arena_alloc(q->a, (cnt + 1) * sizeof(*se));
	wl_row *sw = ccs_arena_alloc(q->a, (cnt + 1) * sizeof(*sw));
	for (size_t i = 0; i < cnt; i++) {
		se[i] = e[order[i]];
		sw[i] = w[order[i]];
	}
	for (size_t i = 0; i < cnt && i < with_iep; i++)
		if ((rc = ccs_sched_store_load_iep(q->tx, &se[i].child, q->err)) != 0)
			return rc;
	*entries = se;
	*rows = sw;
	*n = cnt;
	return 0;
}

/* Put a child on the waitlist and publish Waitlisted with the position the policy gives. */
static int waitlist_add(req *q, const char *case_id, const char *mtu_id, const char *county, int discipline,
			const char *kind, const char *prescription_id, int minutes, unsigned flags,
			ccs_date age_out, const char *reason, const char *decision_kind)
{
	char entry[CCS_UUID_STRLEN];
	ccs_sched_waitlist_entry *e;
	wl_row *w;
	size_t n, pos = 0;
	int rc;

	ccs_tx_decision_id(q->tx, ccs_arena_printf(q->a, "waitlist.%s", decision_kind), entry);
	const char *p[13] = {entry, case_id, mtu_id, county, fmt_int(q->a, discipline), kind, prescription_id,
			     fmt_int(q->a, minutes), fmt_int(q->a, (long)flags),
			     age_out != CCS_DATE_INVALID ? fmt_date(q->a, age_out) : NULL,
			     ccs_arena_printf(q->a, "%lld", (long long)q->at_ms), reason, q->event_id};
	rc = ccs_sched_store_exec(q->tx,
				  "INSERT INTO waitlist(entry_id, case_id, mtu_id, county, discipline, kind,"
				  " prescription_id, minutes, flags, age_out_on, waitlisted_ms, reason, event_id)"
				  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
				  13, p, q->err);
	if (rc)
		return rc;
	rc = load_waitlist(q, mtu_id, county, discipline, 0, &e, &w, &n);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].entry_id, entry) == 0)
			pos = i;
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__Waitlisted *wl = ccs_arena_alloc(q->a, sizeof(*wl));
	ccs__mtp__v1__waitlisted__init(wl);
	wl->position = (uint32_t)(pos + 1);
	wl->reason_code = (char *)(uintptr_t)reason;
	wl->priority = n ? (uint32_t)ccs_sched_waitlist_tier(&q->s->policy, q->asof, &e[pos]) : 0;
	wl->prescription_id = (char *)(uintptr_t)(prescription_id ? prescription_id : "");
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_WAITLISTED;
	d.waitlisted = wl;
	return emit(q, case_id, mtu_id, decision_kind, &d, "waitlisted");
}

static int waitlist_resolve(req *q, const char *entry_id, const char *status)
{
	const char *p[3] = {entry_id, status, q->event_id};
	return ccs_sched_store_exec(q->tx,
				    "UPDATE waitlist SET status = $2, resolved_event = $3 WHERE entry_id = $1", 3, p,
				    q->err);
}

/* ---------------------------------------------------------------- booking */

/* The outcome of a booking attempt. */
typedef struct booked {
	int found;
	ccs_sched_reason reason;
	ccs_sched_store_appt *appts;
	size_t n;
	ccs_date starts_on;
} booked;

static const char *case_array(req *q, const char *case_id)
{
	return ccs_arena_printf(q->a, "{%s}", case_id);
}

/*
 * Find and insert an evaluation for the child at the MTU, retrying after exclusion conflicts
 * (see the note atop this file). appt_kind names the appointment ids.
 */
static int book_eval_at(req *q, const ccs_sched_rules *rules, const char *case_id, const char *mtu_id,
			int discipline, ccs_date eligible_on, const char *appt_kind, booked *out)
{
	ccs_sched_child child = {case_id, NULL, 0};
	ccs_sched_store_mtu m;
	char errbuf[256];
	int rc, found;

	memset(out, 0, sizeof(*out));
	rc = ccs_sched_store_load_iep(q->tx, &child, q->err);
	if (rc)
		return rc;
	for (int attempt = 0; attempt < q->s->retries; attempt++) {
		if ((rc = sp(q, "SAVEPOINT book")) != 0)
			return rc;
		rc = ccs_sched_store_load_mtu(q->tx, mtu_id, case_array(q, case_id), q->asof,
					      q->asof + rules->horizon_days, &m, &found, q->err);
		if (rc)
			return rc;
		if (!found)
			return ccs_svc_poison(q->err, "validation", "unknown mtu %s", mtu_id);
		ccs_sched_eval_request er = {child, discipline, eligible_on, q->asof, CCS_DATE_INVALID, NULL};
		ccs_sched_eval_result res;
		if (ccs_sched_find_evaluation(rules, &m.snap, &er, q->a, &res, errbuf, sizeof(errbuf)) != 0)
			return ccs_svc_poison(q->err, "validation", "evaluation search: %s", errbuf);
		if (!res.found) {
			out->reason = res.reason;
			return sp(q, "RELEASE SAVEPOINT book");
		}
		ccs_sched_store_appt *a = ccs_arena_alloc(q->a, sizeof(*a));
		char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
		ccs_tx_decision_id(q->tx, ccs_arena_printf(q->a, "appointment.%s", appt_kind), id);
		*a = (ccs_sched_store_appt){id, case_id, mtu_id, m.snap.therapists[res.slot.therapist].id,
					    res.slot.room >= 0 ? m.snap.rooms[res.slot.room].id : NULL,
					    discipline, "evaluation", NULL, NULL, res.slot.day,
					    res.slot.start_min, res.slot.end_min};
		int conflict;
		rc = ccs_sched_store_insert_appt(q->tx, a, q->event_id, &conflict, q->err);
		if (rc)
			return rc;
		if (conflict) {
			ccs_metric_add(q->s->m_conflicts, 1);
			CCS_LOG_INFO("booking conflict, searching again", "event_id", CCS_LOG_S(q->event_id),
				     "mtu_id", CCS_LOG_S(mtu_id), "attempt", CCS_LOG_I(attempt + 1));
			if ((rc = sp(q, "ROLLBACK TO SAVEPOINT book")) != 0 ||
			    (rc = sp(q, "RELEASE SAVEPOINT book")) != 0)
				return rc;
			continue;
		}
		out->found = 1;
		out->appts = a;
		out->n = 1;
		out->starts_on = res.slot.day;
		return sp(q, "RELEASE SAVEPOINT book");
	}
	snprintf(q->err->cls, sizeof(q->err->cls), "transient");
	snprintf(q->err->msg, sizeof(q->err->msg), "booking conflicts at mtu %s after %d searches", mtu_id,
		 q->s->retries);
	return CCS_SVC_TRANSIENT;
}

typedef struct series_req {
	const char *case_id;
	const char *mtu_id;
	const char *prescription_id;
	int discipline;
	int per_week;
	int weeks;
	int minutes;
	ccs_date start_on;
	ccs_date notice_on;
	const char *evaluator_id;
} series_req;

/* Plan and insert a therapy series (weeks that cannot hold all their sessions book none). */
static int book_series_at(req *q, const series_req *sr, const char *appt_kind, booked *out)
{
	const ccs_sched_rules *rules = &q->s->rules;
	ccs_sched_child child = {sr->case_id, NULL, 0};
	ccs_sched_store_mtu m;
	char errbuf[256];
	int rc, found;

	memset(out, 0, sizeof(*out));
	rc = ccs_sched_store_load_iep(q->tx, &child, q->err);
	if (rc)
		return rc;
	size_t nslots = (size_t)sr->per_week * (size_t)sr->weeks;
	ccs_date from = q->asof;
	ccs_date to = (sr->start_on > q->asof ? sr->start_on : q->asof) + 7 * sr->weeks +
		      rules->plan_change_notice_days * 2 + 14;
	for (int attempt = 0; attempt < q->s->retries; attempt++) {
		if ((rc = sp(q, "SAVEPOINT book")) != 0)
			return rc;
		rc = ccs_sched_store_load_mtu(q->tx, sr->mtu_id, case_array(q, sr->case_id), from, to, &m, &found,
					      q->err);
		if (rc)
			return rc;
		if (!found)
			return ccs_svc_poison(q->err, "validation", "unknown mtu %s", sr->mtu_id);
		ccs_sched_series_request rq = {child, sr->discipline, sr->per_week, sr->weeks, sr->minutes,
					       sr->start_on, q->asof, sr->notice_on, sr->evaluator_id};
		ccs_sched_series_result res;
		memset(&res, 0, sizeof(res));
		res.slots = ccs_arena_alloc(q->a, (nslots + 1) * sizeof(*res.slots));
		res.slots_cap = nslots;
		res.weeks = ccs_arena_alloc(q->a, ((size_t)sr->weeks + 1) * sizeof(*res.weeks));
		res.weeks_cap = (size_t)sr->weeks;
		if (ccs_sched_plan_series(rules, &m.snap, &rq, q->a, &res, errbuf, sizeof(errbuf)) != 0)
			return ccs_svc_poison(q->err, "validation", "series planning: %s", errbuf);
		if (res.weeks_booked == 0) {
			out->reason = res.n_weeks ? res.weeks[0].status : CCS_SCHED_R_WINDOW_EMPTY;
			return sp(q, "RELEASE SAVEPOINT book");
		}
		ccs_sched_store_appt *ap = ccs_arena_alloc(q->a, (res.n_slots + 1) * sizeof(*ap));
		int conflict = 0;
		for (size_t i = 0; i < res.n_slots && !conflict; i++) {
			const ccs_sched_slot *sl = &res.slots[i];
			char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
			ccs_tx_decision_id(q->tx, ccs_arena_printf(q->a, "appointment.%s.%zu", appt_kind, i), id);
			ap[i] = (ccs_sched_store_appt){id, sr->case_id, sr->mtu_id, m.snap.therapists[sl->therapist].id,
						       sl->room >= 0 ? m.snap.rooms[sl->room].id : NULL,
						       sr->discipline, "therapy", sr->prescription_id, NULL, sl->day,
						       sl->start_min, sl->end_min};
			rc = ccs_sched_store_insert_appt(q->tx, &ap[i], q->event_id, &conflict, q->err);
			if (rc)
				return rc;
		}
		if (conflict) {
			ccs_metric_add(q->s->m_conflicts, 1);
			if ((rc = sp(q, "ROLLBACK TO SAVEPOINT book")) != 0 ||
			    (rc = sp(q, "RELEASE SAVEPOINT book")) != 0)
				return rc;
			continue;
		}
		out->found = 1;
		out->appts = ap;
		out->n = res.n_slots;
		out->starts_on = res.starts_on;
		return sp(q, "RELEASE SAVEPOINT book");
	}
	snprintf(q->err->cls, sizeof(q->err->cls), "transient");
	snprintf(q->err->msg, sizeof(q->err->msg), "booking conflicts at mtu %s after %d searches", sr->mtu_id,
		 q->s->retries);
	return CCS_SVC_TRANSIENT;
}

static int emit_evaluation(req *q, const char *case_id, const char *mtu_id, const booked *b, const char *kind)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__EvaluationBooked *eb = ccs_arena_alloc(q->a, sizeof(*eb));
	ccs__mtp__v1__evaluation_booked__init(eb);
	eb->appointment = appt_msg(q->a, &b->appts[0]);
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_EVALUATION_BOOKED;
	d.evaluation_booked = eb;
	return emit(q, case_id, mtu_id, kind, &d, "evaluation_booked");
}

static int emit_series(req *q, const char *case_id, const char *mtu_id, const char *rx_id, const booked *b,
		       const char *kind)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__SeriesBooked *sb = ccs_arena_alloc(q->a, sizeof(*sb));
	ccs__mtp__v1__series_booked__init(sb);
	sb->prescription_id = (char *)(uintptr_t)rx_id;
	sb->n_appointments = b->n;
	sb->appointments = ccs_arena_alloc(q->a, (b->n + 1) * sizeof(*sb->appointments));
	for (size_t i = 0; i < b->n; i++)
		sb->appointments[i] = appt_msg(q->a, &b->appts[i]);
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_SERIES_BOOKED;
	d.series_booked = sb;
	return emit(q, case_id, mtu_id, kind, &d, "series_booked");
}

/* Rules for a re-offer: the child already waited past the service target, so search to the
 * horizon instead of cutting at the target. */
static ccs_sched_rules reoffer_rules(const ccs_scheduling *s)
{
	ccs_sched_rules r = s->rules;
	r.target_policy = CCS_SCHED_TARGET_REPORT;
	return r;
}

static int child_eligible_on(req *q, const char *case_id, ccs_date *out)
{
	int rc;
	const char *p[1] = {case_id};
	*out = q->asof;
	PGresult *r = ccs_tx_query(q->tx, "SELECT eligible_on FROM children WHERE case_id = $1", 1, p, &rc, q->err);
	if (!r)
		return rc;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*out = ccs_date_parse(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int prescription_of(req *q, const char *rx_id, series_req *sr)
{
	int rc;
	const char *p[1] = {rx_id};
	PGresult *r = ccs_tx_query(q->tx,
				   "SELECT case_id, mtu_id, discipline, sessions_per_week, weeks, minutes, start_date"
				   " FROM prescriptions WHERE prescription_id = $1",
				   1, p, &rc, q->err);
	if (!r)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return ccs_svc_poison(q->err, "data", "waitlisted prescription %s is missing", rx_id);
	}
	memset(sr, 0, sizeof(*sr));
	sr->case_id = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 0));
	sr->mtu_id = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 1));
	sr->prescription_id = ccs_arena_strdup(q->a, rx_id);
	sr->discipline = (int)strtol(PQgetvalue(r, 0, 2), NULL, 10);
	sr->per_week = (int)strtol(PQgetvalue(r, 0, 3), NULL, 10);
	sr->weeks = (int)strtol(PQgetvalue(r, 0, 4), NULL, 10);
	sr->minutes = (int)strtol(PQgetvalue(r, 0, 5), NULL, 10);
	sr->start_on = ccs_date_parse(PQgetvalue(r, 0, 6));
	sr->notice_on = CCS_DATE_INVALID;
	PQclear(r);
	return 0;
}

/*
 * New capacity at an MTU (a calendar change): try the waiting children in policy order, at
 * most reoffer.max of them, each with a full search (evaluation or series). Every booking is a
 * decision of this input, kind reoffer.<entry id>.
 */
static int reoffer_capacity(req *q, const char *mtu_id, int *n_booked)
{
	ccs_sched_waitlist_entry *e;
	wl_row *w;
	size_t n;
	int rc;

	*n_booked = 0;
	rc = load_waitlist(q, mtu_id, NULL, 0, 0, &e, &w, &n);
	if (rc)
		return rc;
	ccs_sched_rules rr = reoffer_rules(q->s);
	for (size_t i = 0; i < n && i < (size_t)q->s->reoffer_max; i++) {
		const char *kind = ccs_arena_printf(q->a, "reoffer.%s", e[i].entry_id);
		booked b;
		if (strcmp(w[i].kind, "evaluation") == 0) {
			ccs_date eligible_on;
			if ((rc = child_eligible_on(q, w[i].case_id, &eligible_on)) != 0)
				return rc;
			rc = book_eval_at(q, &rr, w[i].case_id, mtu_id, e[i].discipline, eligible_on, kind, &b);
			if (rc)
				return rc;
			if (b.found && (rc = emit_evaluation(q, w[i].case_id, mtu_id, &b, kind)) != 0)
				return rc;
		} else {
			series_req sr;
			if ((rc = prescription_of(q, w[i].prescription_id, &sr)) != 0)
				return rc;
			rc = book_series_at(q, &sr, kind, &b);
			if (rc)
				return rc;
			if (b.found) {
				const char *p[2] = {sr.prescription_id, q->event_id};
				if ((rc = ccs_sched_store_exec(q->tx,
							       "UPDATE prescriptions SET status = 'booked' WHERE prescription_id = $1",
							       1, p, q->err)) != 0 ||
				    (rc = emit_series(q, w[i].case_id, mtu_id, sr.prescription_id, &b, kind)) != 0)
					return rc;
			}
		}
		if (b.found) {
			if ((rc = waitlist_resolve(q, e[i].entry_id, "booked")) != 0)
				return rc;
			(*n_booked)++;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- eligibility decisions */

static int has_code(Ccs__Mtp__V1__Reason **rs, size_t n, const char *code)
{
	for (size_t i = 0; i < n; i++)
		if (rs[i] && rs[i]->code && strcmp(rs[i]->code, code) == 0)
			return 1;
	return 0;
}

static int is_eligible(Ccs__Mtp__V1__EligibilityOutcome o)
{
	return o == CCS__MTP__V1__ELIGIBILITY_OUTCOME__ELIGIBILITY_OUTCOME_ELIGIBLE ||
	       o == CCS__MTP__V1__ELIGIBILITY_OUTCOME__ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE;
}

static const char *outcome_name(Ccs__Mtp__V1__EligibilityOutcome o)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__eligibility_outcome__descriptor, (int)o);
	return v ? v->name + strlen("ELIGIBILITY_OUTCOME_") : "UNKNOWN";
}

/*
 * MTP eligibility decides the evaluation: the MTP therapy line's outcome when the decision
 * has lines (MTP therapy has no financial test, so the line can be eligible while another
 * line is pending), else the overall outcome.
 */
static int on_eligibility(req *q, const ccs_msg *m, Ccs__Mtp__V1__EligibilityDecision *ed)
{
	const char *outcome = NULL;
	int rc;

	if (!valid_uuid(ed->case_id))
		return ccs_svc_poison(q->err, "validation", "case_id is not a UUID");
	if (!*ed->county)
		return ccs_svc_poison(q->err, "validation", "county is empty");
	q->decided_at = *ed->decided_at ? ed->decided_at : ccs_tx_input_time(q->tx);
	q->asof = ccs_date_parse(ed->as_of_date);
	if (q->asof == CCS_DATE_INVALID)
		q->asof = instant_date(q->decided_at);
	if (q->asof == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "neither as_of_date nor decided_at is a date");
	q->at_ms = instant_ms(q->decided_at);
	if (q->at_ms < 0)
		q->at_ms = (int64_t)q->asof * 86400000;

	Ccs__Mtp__V1__EligibilityOutcome mtp = ed->outcome;
	Ccs__Mtp__V1__ServiceLineDecision *line = NULL;
	for (size_t i = 0; i < ed->n_service_lines; i++)
		if (ed->service_lines[i] &&
		    ed->service_lines[i]->service_line == CCS__MTP__V1__SERVICE_LINE__SERVICE_LINE_MTP_THERAPY)
			line = ed->service_lines[i];
	if (ed->n_service_lines)
		mtp = line ? line->outcome : CCS__MTP__V1__ELIGIBILITY_OUTCOME__ELIGIBILITY_OUTCOME_UNSPECIFIED;
	int eligible = is_eligible(mtp);
	int at_risk = mtp == CCS__MTP__V1__ELIGIBILITY_OUTCOME__ELIGIBILITY_OUTCOME_AT_RISK_ELIGIBLE;
	int refer_lea = has_code(ed->reasons, ed->n_reasons, "REFER_LEA_EDUCATIONAL") ||
			has_code(ed->reasons, ed->n_reasons, "NOT_MEDICALLY_NECESSARY") ||
			(line && (has_code(line->reasons, line->n_reasons, "REFER_LEA_EDUCATIONAL") ||
				  has_code(line->reasons, line->n_reasons, "NOT_MEDICALLY_NECESSARY")));
	ccs_date age_out = ccs_date_parse(ed->age_out_date);

	/* The child's previous state: was a LEA referral already noticed, known district. */
	const char *case_id = ed->case_id;
	const char *p1[1] = {case_id};
	PGresult *r = ccs_tx_query(q->tx, "SELECT lea_referred, school_district, mtp_eligible FROM children"
					  " WHERE case_id = $1 FOR UPDATE", 1, p1, &rc, q->err);
	if (!r)
		return rc;
	int known = PQntuples(r) == 1;
	int lea_before = known && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	const char *district = known && !PQgetisnull(r, 0, 1) ? ccs_arena_strdup(q->a, PQgetvalue(r, 0, 1)) : NULL;
	int was_eligible = known && strcmp(PQgetvalue(r, 0, 2), "t") == 0;
	PQclear(r);

	int lea_now = eligible ? 0 : (lea_before || refer_lea);
	const char *p2[9] = {case_id, ed->county, outcome_name(ed->outcome), eligible ? "true" : "false",
			     at_risk ? "true" : "false",
			     age_out != CCS_DATE_INVALID ? fmt_date(q->a, age_out) : NULL,
			     eligible && !was_eligible ? fmt_date(q->a, q->asof) : NULL, lea_now ? "true" : "false",
			     ccs_tx_input_id(q->tx)};
	rc = ccs_sched_store_exec(q->tx,
				  "INSERT INTO children(case_id, county, eligibility, mtp_eligible, at_risk, age_out_on,"
				  " eligible_on, lea_referred, last_decision_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
				  " ON CONFLICT (case_id) DO UPDATE SET county = $2, eligibility = $3, mtp_eligible = $4,"
				  " at_risk = $5, age_out_on = $6, eligible_on = COALESCE($7, children.eligible_on),"
				  " lea_referred = $8, last_decision_id = $9, updated_at = now()",
				  9, p2, q->err);
	if (rc)
		return rc;

	if (refer_lea && !lea_before) {
		rc = emit_notice(q, case_id, NULL, CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_REFER_LEA_EDUCATIONAL,
				 q->asof, "iep.refer_lea");
		if (rc)
			return rc;
	}
	if (!eligible) {
		/* No longer (or not yet) eligible: the child stops waiting for an evaluation. */
		rc = ccs_sched_store_exec(q->tx,
					  "UPDATE waitlist SET status = 'removed', resolved_event = $2"
					  " WHERE case_id = $1 AND status = 'waiting' AND kind = 'evaluation'",
					  2, (const char *const[]){case_id, q->event_id}, q->err);
		if (rc)
			return rc;
		outcome = ccs_arena_printf(q->a, "%s%s", refer_lea && !lea_before ? "refer_lea:" : "not_eligible:",
					   outcome_name(mtp));
		goto record;
	}

	r = ccs_tx_query(q->tx,
			 "SELECT EXISTS (SELECT 1 FROM appointments WHERE case_id = $1 AND kind = 'evaluation'"
			 "  AND status = 'booked')"
			 " OR EXISTS (SELECT 1 FROM waitlist WHERE case_id = $1 AND kind = 'evaluation'"
			 "  AND status = 'waiting')",
			 1, p1, &rc, q->err);
	if (!r)
		return rc;
	int open = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (open) {
		outcome = "evaluation_already_open";
		goto record;
	}

	const char *mtu_id;
	int disc = q->s->eval_discipline;
	rc = ccs_sched_store_mtu_for(q->tx, ed->county, district, disc, &mtu_id, q->err);
	if (rc)
		return rc;
	unsigned flags = at_risk ? CCS_SCHED_WLF_AT_RISK_INFANT : 0;
	if (!mtu_id) {
		rc = waitlist_add(q, case_id, NULL, ed->county, disc, "evaluation", NULL, q->s->rules.eval_minutes,
				  flags, age_out, "NO_MTU_FOR_COUNTY", "evaluation.waitlisted");
		outcome = "evaluation_waitlisted";
		if (rc)
			return rc;
		goto record;
	}
	if ((rc = ccs_sched_store_exec(q->tx, "UPDATE children SET mtu_id = $2 WHERE case_id = $1", 2,
				       (const char *const[]){case_id, mtu_id}, q->err)) != 0)
		return rc;
	booked b;
	rc = book_eval_at(q, &q->s->rules, case_id, mtu_id, disc, q->asof, "evaluation.booked", &b);
	if (rc)
		return rc;
	if (b.found) {
		rc = emit_evaluation(q, case_id, mtu_id, &b, "evaluation.booked");
		outcome = "evaluation_booked";
	} else {
		const char *reason = ccs_arena_printf(q->a, "NO_CAPACITY_%s", ccs_sched_reason_name(b.reason));
		rc = waitlist_add(q, case_id, mtu_id, ed->county, disc, "evaluation", NULL, q->s->rules.eval_minutes,
				  flags, age_out, reason, "evaluation.waitlisted");
		outcome = "evaluation_waitlisted";
	}
	if (rc)
		return rc;
record:
	return record_input(q, "eligibility", "eligibility_decision", case_id, outcome);
}

/* ---------------------------------------------------------------- scheduling requests */

/* The child's MTU as scheduling knows it (from the evaluation booking), or NULL. */
static int child_mtu(req *q, const char *case_id, const char **mtu_id)
{
	int rc;
	const char *p[1] = {case_id};
	*mtu_id = NULL;
	PGresult *r = ccs_tx_query(q->tx, "SELECT mtu_id FROM children WHERE case_id = $1 AND mtu_id IS NOT NULL",
				   1, p, &rc, q->err);
	if (!r)
		return rc;
	if (PQntuples(r) == 1)
		*mtu_id = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int mtu_exists(req *q, const char *mtu_id, int *exists)
{
	int rc;
	const char *p[1] = {mtu_id};
	PGresult *r = ccs_tx_query(q->tx, "SELECT 1 FROM mtus WHERE mtu_id = $1", 1, p, &rc, q->err);
	if (!r)
		return rc;
	*exists = PQntuples(r) == 1;
	PQclear(r);
	return 0;
}

static int in_school_day(const ccs_scheduling *s, const ccs_sched_store_appt *a)
{
	int wd = ccs_date_weekday(a->day);
	return wd < 5 && a->start_min < s->school_end && a->end_min > s->school_start;
}

/*
 * A prescription becomes a series. A second prescription of the same discipline while a plan
 * runs is a plan change: it takes effect no sooner than notice + plan_change.notice_days (the
 * engine moves the start), the old plan's sessions from then on are cancelled, and an IEP
 * notice goes out when the new sessions fall in the school day. If the new series cannot be
 * booked at all the old plan is kept (savepoint) and the prescription waits.
 */
static int on_prescription(req *q, const char *case_id, const Ccs__Mtp__V1__TherapyPrescription *rx,
			   const char **outcome)
{
	const ccs_sched_rules *rules = &q->s->rules;
	int rc, exists;

	if (!*rx->prescription_id)
		return ccs_svc_poison(q->err, "validation", "prescription_id is empty");
	int disc = (int)rx->discipline;
	if (disc != CCS_SCHED_PT && disc != CCS_SCHED_OT)
		return ccs_svc_poison(q->err, "validation", "discipline must be PT or OT");
	if (rx->sessions_per_week < 1 || rx->sessions_per_week > 5 || rx->weeks < 1 ||
	    rx->weeks > (uint32_t)rules->max_series_weeks || rx->minutes_per_session < 15 ||
	    rx->minutes_per_session > 480)
		return ccs_svc_poison(q->err, "validation", "sessions_per_week, weeks or minutes out of range");
	ccs_date start = ccs_date_parse(rx->start_date);
	if (start == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "start_date is not a date");

	const char *p1[1] = {rx->prescription_id};
	PGresult *r = ccs_tx_query(q->tx, "SELECT 1 FROM prescriptions WHERE prescription_id = $1", 1, p1, &rc,
				   q->err);
	if (!r)
		return rc;
	int dup = PQntuples(r) > 0;
	PQclear(r);
	if (dup) {
		*outcome = "duplicate_prescription";
		return 0;
	}
	const char *mtu_id = *rx->mtu_id ? rx->mtu_id : NULL;
	if (!mtu_id && (rc = child_mtu(q, case_id, &mtu_id)) != 0)
		return rc;
	if (!mtu_id)
		return ccs_svc_poison(q->err, "validation", "no mtu_id and the case has no MTU");
	if ((rc = mtu_exists(q, mtu_id, &exists)) != 0)
		return rc;
	if (!exists)
		return ccs_svc_poison(q->err, "validation", "unknown mtu %s", mtu_id);

	/* A running plan of the same discipline with sessions still ahead: a plan change. */
	const char *disc_s = fmt_int(q->a, disc);
	const char *p2[3] = {case_id, disc_s, fmt_date(q->a, q->asof)};
	r = ccs_tx_query(q->tx,
			 "SELECT DISTINCT prescription_id FROM appointments WHERE case_id = $1 AND discipline = $2"
			 " AND kind = 'therapy' AND status = 'booked' AND day >= $3",
			 3, p2, &rc, q->err);
	if (!r)
		return rc;
	int change = PQntuples(r) > 0;
	PQclear(r);
	r = ccs_tx_query(q->tx,
			 "SELECT therapist_id FROM appointments WHERE case_id = $1 AND discipline = $2"
			 " AND kind = 'evaluation' AND status = 'booked' ORDER BY day DESC LIMIT 1",
			 2, p2, &rc, q->err);
	if (!r)
		return rc;
	const char *evaluator = PQntuples(r) ? ccs_arena_strdup(q->a, PQgetvalue(r, 0, 0)) : NULL;
	PQclear(r);

	if ((rc = sp(q, "SAVEPOINT rx")) != 0)
		return rc;
	if (change) {
		ccs_date eff = ccs_sched_change_effective(rules, q->asof);
		ccs_date cut = start > eff ? start : eff;
		const char *p3[5] = {case_id, disc_s, fmt_date(q->a, cut), q->event_id, NULL};
		rc = ccs_sched_store_exec(q->tx,
					  "UPDATE appointments SET status = 'cancelled', cancel_reason = 'PLAN_CHANGE',"
					  " cancel_event_id = $4 WHERE case_id = $1 AND discipline = $2 AND kind = 'therapy'"
					  " AND status = 'booked' AND day >= $3",
					  4, p3, q->err);
		if (rc)
			return rc;
	}
	series_req sr = {case_id, mtu_id, rx->prescription_id, disc, (int)rx->sessions_per_week, (int)rx->weeks,
			 (int)rx->minutes_per_session, start, change ? q->asof : CCS_DATE_INVALID, evaluator};
	booked b;
	rc = book_series_at(q, &sr, "series.booked", &b);
	if (rc)
		return rc;
	if (!b.found && (rc = sp(q, "ROLLBACK TO SAVEPOINT rx")) != 0)
		return rc; /* keep the running plan */
	if ((rc = sp(q, "RELEASE SAVEPOINT rx")) != 0)
		return rc;
	const char *p4[11] = {rx->prescription_id, case_id, mtu_id, disc_s, fmt_int(q->a, rx->sessions_per_week),
			      fmt_int(q->a, rx->weeks), fmt_int(q->a, rx->minutes_per_session), rx->start_date,
			      rx->post_surgical ? "true" : "false", b.found ? "booked" : "waitlisted", q->event_id};
	rc = ccs_sched_store_exec(q->tx,
				  "INSERT INTO prescriptions(prescription_id, case_id, mtu_id, discipline,"
				  " sessions_per_week, weeks, minutes, start_date, post_surgical, status, event_id)"
				  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
				  11, p4, q->err);
	if (rc)
		return rc;
	if (b.found && change) {
		rc = ccs_sched_store_exec(q->tx,
					  "UPDATE prescriptions SET status = 'superseded' WHERE case_id = $1"
					  " AND discipline = $2 AND status = 'booked' AND prescription_id <> $3",
					  3, (const char *const[]){case_id, disc_s, rx->prescription_id}, q->err);
		if (rc)
			return rc;
	}
	if (!b.found) {
		const char *county = "";
		r = ccs_tx_query(q->tx, "SELECT county FROM mtus WHERE mtu_id = $1", 1,
				 (const char *const[]){mtu_id}, &rc, q->err);
		if (!r)
			return rc;
		if (PQntuples(r))
			county = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 0));
		PQclear(r);
		unsigned flags = rx->post_surgical ? CCS_SCHED_WLF_POST_SURGICAL : 0;
		const char *reason = ccs_arena_printf(q->a, "NO_CAPACITY_%s", ccs_sched_reason_name(b.reason));
		*outcome = "series_waitlisted";
		return waitlist_add(q, case_id, mtu_id, county, disc, "series", rx->prescription_id,
				    (int)rx->minutes_per_session, flags, CCS_DATE_INVALID, reason, "series.waitlisted");
	}
	if ((rc = emit_series(q, case_id, mtu_id, rx->prescription_id, &b, "series.booked")) != 0)
		return rc;
	*outcome = change ? "series_booked_plan_change" : "series_booked";
	int school = 0;
	for (size_t i = 0; i < b.n; i++)
		school |= in_school_day(q->s, &b.appts[i]);
	if (change && school)
		return emit_notice(q, case_id, mtu_id,
				   CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SCHEDULE_CHANGE_SCHOOL_DAY, b.starts_on,
				   "iep.schedule_change");
	return 0;
}

static const char *cancel_reason_name(Ccs__Mtp__V1__CancellationReason c)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__cancellation_reason__descriptor, (int)c);
	return v ? v->name + strlen("CANCELLATION_REASON_") : "UNKNOWN";
}

static int index_of_therapist(const ccs_sched_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n_therapists; i++)
		if (strcmp(s->therapists[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int index_of_room(const ccs_sched_snapshot *s, const char *id)
{
	for (size_t i = 0; id && i < s->n_rooms; i++)
		if (strcmp(s->rooms[i].id, id) == 0)
			return (int)i;
	return -1;
}

/*
 * The freed slot goes to the first waitlisted child (policy order) who can use it: the engine's
 * re-offer over the waiting evaluations of that MTU and discipline. Series entries need more
 * than one slot and are retried on calendar changes instead.
 */
static int reoffer_freed(req *q, const char *mtu_id, int discipline, const char *therapist_id,
			 const char *room_id, ccs_date day, int start_min, int end_min, int *n_booked)
{
	ccs_sched_waitlist_entry *e, *ev;
	wl_row *w, *wv;
	size_t n, nv = 0;
	char errbuf[256];
	int rc, found;

	*n_booked = 0;
	rc = load_waitlist(q, mtu_id, NULL, discipline, (size_t)q->s->reoffer_max * 4, &e, &w, &n);
	if (rc)
		return rc;
	ev = ccs_arena_alloc(q->a, (n + 1) * sizeof(*ev));
	wv = ccs_arena_alloc(q->a, (n + 1) * sizeof(*wv));
	size_t cap = 3;
	for (size_t i = 0; i < n && nv < (size_t)q->s->reoffer_max; i++)
		if (strcmp(w[i].kind, "evaluation") == 0) {
			ev[nv] = e[i];
			wv[nv++] = w[i];
			cap += strlen(w[i].case_id) + 1;
		}
	if (nv == 0)
		return 0;
	char *ids = ccs_arena_alloc(q->a, cap);
	size_t pos = 0;
	ids[pos++] = '{';
	for (size_t i = 0; i < nv; i++)
		pos += (size_t)snprintf(ids + pos, cap - pos, "%s%s", i ? "," : "", wv[i].case_id);
	snprintf(ids + pos, cap - pos, "}");

	for (int attempt = 0; attempt < q->s->retries; attempt++) {
		ccs_sched_store_mtu m;
		if ((rc = sp(q, "SAVEPOINT book")) != 0)
			return rc;
		rc = ccs_sched_store_load_mtu(q->tx, mtu_id, ids, q->asof, day + 1, &m, &found, q->err);
		if (rc)
			return rc;
		int ti = found ? index_of_therapist(&m.snap, therapist_id) : -1;
		if (ti < 0) /* the therapist left the MTU's calendar: nothing to offer */
			return sp(q, "RELEASE SAVEPOINT book");
		ccs_sched_slot freed = {day, start_min, end_min, ti, index_of_room(&m.snap, room_id)};
		ccs_sched_reoffer_result res;
		if (ccs_sched_reoffer(&q->s->rules, &m.snap, &q->s->policy, q->asof, &freed, ev, nv, q->a, &res,
				      errbuf, sizeof(errbuf)) != 0)
			return ccs_svc_poison(q->err, "validation", "re-offer: %s", errbuf);
		if (!res.found)
			return sp(q, "RELEASE SAVEPOINT book");
		const ccs_sched_waitlist_entry *x = &ev[res.entry];
		const char *kind = ccs_arena_printf(q->a, "reoffer.%s", x->entry_id);
		ccs_sched_store_appt *a = ccs_arena_alloc(q->a, sizeof(*a));
		char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
		ccs_tx_decision_id(q->tx, ccs_arena_printf(q->a, "appointment.%s", kind), id);
		*a = (ccs_sched_store_appt){id, wv[res.entry].case_id, mtu_id, therapist_id,
					    res.slot.room >= 0 ? m.snap.rooms[res.slot.room].id : NULL, discipline,
					    "evaluation", NULL, NULL, res.slot.day, res.slot.start_min, res.slot.end_min};
		int conflict;
		if ((rc = ccs_sched_store_insert_appt(q->tx, a, q->event_id, &conflict, q->err)) != 0)
			return rc;
		if (conflict) {
			ccs_metric_add(q->s->m_conflicts, 1);
			if ((rc = sp(q, "ROLLBACK TO SAVEPOINT book")) != 0 ||
			    (rc = sp(q, "RELEASE SAVEPOINT book")) != 0)
				return rc;
			continue;
		}
		if ((rc = sp(q, "RELEASE SAVEPOINT book")) != 0 ||
		    (rc = waitlist_resolve(q, x->entry_id, "booked")) != 0 ||
		    (rc = ccs_sched_store_exec(q->tx, "UPDATE children SET mtu_id = $2 WHERE case_id = $1", 2,
					       (const char *const[]){wv[res.entry].case_id, mtu_id}, q->err)) != 0)
			return rc;
		booked b = {1, CCS_SCHED_OK, a, 1, a->day};
		*n_booked = 1;
		return emit_evaluation(q, wv[res.entry].case_id, mtu_id, &b, kind);
	}
	snprintf(q->err->cls, sizeof(q->err->cls), "transient");
	snprintf(q->err->msg, sizeof(q->err->msg), "re-offer conflicts at mtu %s", mtu_id);
	return CCS_SVC_TRANSIENT;
}

static int on_cancellation(req *q, const char *case_id, const Ccs__Mtp__V1__Cancellation *c, const char **outcome)
{
	int rc;

	if (!valid_uuid(c->appointment_id))
		return ccs_svc_poison(q->err, "validation", "appointment_id is not a UUID");
	const char *p[1] = {c->appointment_id};
	PGresult *r = ccs_tx_query(q->tx,
				   "SELECT case_id, mtu_id, therapist_id, room_id, discipline, kind, day, start_min,"
				   " end_min, status, conference_id FROM appointments WHERE appointment_id = $1 FOR UPDATE",
				   1, p, &rc, q->err);
	if (!r)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return ccs_svc_poison(q->err, "validation", "unknown appointment %s", c->appointment_id);
	}
	const char *a_case = PQgetisnull(r, 0, 0) ? "" : ccs_arena_strdup(q->a, PQgetvalue(r, 0, 0));
	const char *mtu_id = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 1));
	const char *therapist = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 2));
	const char *room = PQgetisnull(r, 0, 3) ? NULL : ccs_arena_strdup(q->a, PQgetvalue(r, 0, 3));
	int disc = (int)strtol(PQgetvalue(r, 0, 4), NULL, 10);
	const char *kind = ccs_arena_strdup(q->a, PQgetvalue(r, 0, 5));
	ccs_date day = ccs_date_parse(PQgetvalue(r, 0, 6));
	int st = (int)strtol(PQgetvalue(r, 0, 7), NULL, 10), en = (int)strtol(PQgetvalue(r, 0, 8), NULL, 10);
	int cancelled = strcmp(PQgetvalue(r, 0, 9), "cancelled") == 0;
	const char *conf = PQgetisnull(r, 0, 10) ? NULL : ccs_arena_strdup(q->a, PQgetvalue(r, 0, 10));
	PQclear(r);
	if (strcmp(a_case, case_id) != 0 && !conf)
		return ccs_svc_poison(q->err, "validation", "appointment belongs to another case");
	if (cancelled) {
		*outcome = "already_cancelled";
		return 0;
	}
	const char *p2[4] = {c->appointment_id, cancel_reason_name(c->reason), q->event_id, conf};
	rc = ccs_sched_store_exec(q->tx,
				  "UPDATE appointments SET status = 'cancelled', cancel_reason = $2, cancel_event_id = $3"
				  " WHERE status = 'booked' AND (appointment_id = $1 OR conference_id = $4)",
				  4, p2, q->err);
	if (rc)
		return rc;
	if (conf && (rc = ccs_sched_store_exec(q->tx, "DELETE FROM conferences WHERE conference_id = $1", 1,
					       (const char *const[]){conf}, q->err)) != 0)
		return rc;
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__Cancelled *cd = ccs_arena_alloc(q->a, sizeof(*cd));
	ccs__mtp__v1__cancelled__init(cd);
	cd->appointment_id = c->appointment_id;
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CANCELLED;
	d.cancelled = cd;
	if ((rc = emit(q, case_id, mtu_id, "cancelled", &d, "cancelled")) != 0)
		return rc;
	int n = 0;
	if (strcmp(kind, "conference") != 0 &&
	    (rc = reoffer_freed(q, mtu_id, disc, therapist, room, day, st, en, &n)) != 0)
		return rc;
	*outcome = n ? "cancelled_reoffered" : "cancelled";
	return 0;
}

/* Blocks of the new schedule apply from its effective date; the earlier ones stop the day before. */
static int on_iep(req *q, const char *case_id, const Ccs__Mtp__V1__IepScheduleBlocks *ie, const char **outcome)
{
	int rc;
	ccs_date eff = *ie->effective_date ? ccs_date_parse(ie->effective_date) : q->asof;
	if (eff == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "effective_date is not a date");
	for (size_t i = 0; i < ie->n_blocks; i++) {
		const Ccs__Mtp__V1__IepBlock *b = ie->blocks[i];
		if (!b || b->weekday < 1 || b->weekday > 7 || b->start_minute >= b->end_minute || b->end_minute > 1440)
			return ccs_svc_poison(q->err, "validation", "IEP block %zu: weekday 1..7 and start < end <= 1440", i);
	}
	const char *effs = fmt_date(q->a, eff);
	const char *prev = fmt_date(q->a, eff - 1);
	if ((rc = ccs_sched_store_exec(q->tx, "DELETE FROM iep_blocks WHERE case_id = $1 AND effective_date >= $2", 2,
				       (const char *const[]){case_id, effs}, q->err)) != 0 ||
	    (rc = ccs_sched_store_exec(q->tx,
				       "UPDATE iep_blocks SET until_date = $3 WHERE case_id = $1"
				       " AND (until_date IS NULL OR until_date >= $2)",
				       3, (const char *const[]){case_id, effs, prev}, q->err)) != 0)
		return rc;
	for (size_t i = 0; i < ie->n_blocks; i++) {
		const Ccs__Mtp__V1__IepBlock *b = ie->blocks[i];
		const char *p[7] = {case_id, ie->school_id, fmt_int(q->a, (long)b->weekday - 1),
				    fmt_int(q->a, b->start_minute), fmt_int(q->a, b->end_minute), b->service, effs};
		rc = ccs_sched_store_exec(q->tx,
					  "INSERT INTO iep_blocks(case_id, school_id, weekday, start_min, end_min, service,"
					  " effective_date) VALUES ($1, $2, $3, $4, $5, $6, $7)",
					  7, p, q->err);
		if (rc)
			return rc;
	}
	/* Booked sessions the new school-day schedule collides with: tell IEP coordination. */
	const char *p2[2] = {case_id, effs};
	PGresult *r = ccs_tx_query(q->tx,
				   "SELECT day, start_min, end_min, mtu_id FROM appointments WHERE case_id = $1"
				   " AND status = 'booked' AND day >= $2",
				   2, p2, &rc, q->err);
	if (!r)
		return rc;
	int conflicts = 0;
	const char *mtu_id = NULL;
	for (int i = 0; i < PQntuples(r); i++) {
		ccs_date day = ccs_date_parse(PQgetvalue(r, i, 0));
		int st = (int)strtol(PQgetvalue(r, i, 1), NULL, 10), en = (int)strtol(PQgetvalue(r, i, 2), NULL, 10);
		for (size_t k = 0; k < ie->n_blocks; k++) {
			const Ccs__Mtp__V1__IepBlock *b = ie->blocks[k];
			if ((int)b->weekday - 1 == ccs_date_weekday(day) && st < (int)b->end_minute &&
			    en > (int)b->start_minute) {
				conflicts++;
				mtu_id = ccs_arena_strdup(q->a, PQgetvalue(r, i, 3));
				break;
			}
		}
	}
	PQclear(r);
	*outcome = conflicts ? "iep_stored_conflicts_noticed" : "iep_stored";
	if (!conflicts)
		return 0;
	ccs_date notice_eff = ccs_sched_change_effective(&q->s->rules, q->asof);
	return emit_notice(q, case_id, mtu_id, CCS__MTP__V1__IEP_NOTICE_KIND__IEP_NOTICE_KIND_SCHEDULE_CHANGE_SCHOOL_DAY,
			   eff > notice_eff ? eff : notice_eff, "iep.schedule_change");
}

/* ISO weekday hours into the engine's [0] = Monday array; one interval per weekday. */
static int hours_from_msg(Ccs__Mtp__V1__WorkingHours **wh, size_t n, ccs_sched_hours h[7])
{
	memset(h, 0, 7 * sizeof(*h));
	for (size_t i = 0; i < n; i++) {
		const Ccs__Mtp__V1__WorkingHours *x = wh[i];
		if (!x || x->weekday < 1 || x->weekday > 7 || x->start_minute >= x->end_minute || x->end_minute > 1440)
			return -1;
		ccs_sched_hours *d = &h[x->weekday - 1];
		if (d->end_min > d->start_min)
			return -1;
		*d = (ccs_sched_hours){(int)x->start_minute, (int)x->end_minute};
	}
	return 0;
}

static int on_calendar(req *q, const Ccs__Mtp__V1__MtuCalendar *cal, const char **outcome)
{
	char hours[128];
	int rc, exists;

	if (!*cal->mtu_id)
		return ccs_svc_poison(q->err, "validation", "mtu_id is empty");
	if ((rc = mtu_exists(q, cal->mtu_id, &exists)) != 0)
		return rc;
	if (!exists)
		return ccs_svc_poison(q->err, "validation", "unknown mtu %s (not in the MTU directory)", cal->mtu_id);
	const char *p1[2] = {cal->mtu_id, q->event_id};
	if ((rc = ccs_sched_store_exec(q->tx, "DELETE FROM therapists WHERE mtu_id = $1", 1, p1, q->err)) != 0 ||
	    (rc = ccs_sched_store_exec(q->tx, "DELETE FROM rooms WHERE mtu_id = $1", 1, p1, q->err)) != 0 ||
	    (rc = ccs_sched_store_exec(q->tx, "DELETE FROM closures WHERE mtu_id = $1", 1, p1, q->err)) != 0 ||
	    (rc = ccs_sched_store_exec(q->tx,
				       "UPDATE mtus SET calendar_source = 'request', calendar_event = $2 WHERE mtu_id = $1",
				       2, p1, q->err)) != 0)
		return rc;
	for (size_t i = 0; i < cal->n_therapists; i++) {
		const Ccs__Mtp__V1__Therapist *t = cal->therapists[i];
		ccs_sched_hours h[7];
		if (!t || !*t->therapist_id ||
		    (t->discipline != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_PT &&
		     t->discipline != CCS__MTP__V1__DISCIPLINE__DISCIPLINE_OT) ||
		    hours_from_msg(t->hours, t->n_hours, h) != 0)
			return ccs_svc_poison(q->err, "validation",
					      "therapist %zu: id, PT/OT and one interval per weekday (1..7) needed", i);
		ccs_sched_store_hours_literal(h, hours);
		const char *p[4] = {cal->mtu_id, t->therapist_id, fmt_int(q->a, t->discipline), hours};
		rc = ccs_sched_store_exec(q->tx, "INSERT INTO therapists VALUES ($1, $2, $3, $4)", 4, p, q->err);
		if (rc)
			return rc; /* a repeated therapist id is a unique violation: poison "data" */
	}
	for (size_t i = 0; i < cal->n_rooms; i++) {
		if (!cal->rooms[i] || !*cal->rooms[i]->room_id)
			return ccs_svc_poison(q->err, "validation", "room %zu has no id", i);
		const char *p[2] = {cal->mtu_id, cal->rooms[i]->room_id};
		if ((rc = ccs_sched_store_exec(q->tx, "INSERT INTO rooms(mtu_id, room_id) VALUES ($1, $2)", 2, p,
					       q->err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < cal->n_closures; i++) {
		if (!cal->closures[i] || ccs_date_parse(cal->closures[i]->date) == CCS_DATE_INVALID)
			return ccs_svc_poison(q->err, "validation", "closure %zu: date is not a date", i);
		const char *p[3] = {cal->mtu_id, cal->closures[i]->date, cal->closures[i]->reason};
		if ((rc = ccs_sched_store_exec(q->tx,
					       "INSERT INTO closures(mtu_id, first_day, last_day, reason) VALUES ($1, $2, $2, $3)",
					       3, p, q->err)) != 0)
			return rc;
	}
	int n;
	if ((rc = reoffer_capacity(q, cal->mtu_id, &n)) != 0)
		return rc;
	*outcome = n ? ccs_arena_printf(q->a, "calendar_replaced_reoffered_%d", n) : "calendar_replaced";
	return 0;
}

static int on_conference(req *q, const char *case_id, const Ccs__Mtp__V1__ConferenceRequest *cr,
			 const char **outcome)
{
	ccs_sched_rules rules = q->s->rules;
	char errbuf[256];
	int rc, found;

	if (!*cr->conference_id || !*cr->physician_id)
		return ccs_svc_poison(q->err, "validation", "conference_id and physician_id are required");
	ccs_date earliest = *cr->earliest_date ? ccs_date_parse(cr->earliest_date) : CCS_DATE_INVALID;
	ccs_date latest = *cr->latest_date ? ccs_date_parse(cr->latest_date) : CCS_DATE_INVALID;
	if ((*cr->earliest_date && earliest == CCS_DATE_INVALID) || (*cr->latest_date && latest == CCS_DATE_INVALID))
		return ccs_svc_poison(q->err, "validation", "earliest_date or latest_date is not a date");
	const char *p0[1] = {cr->conference_id};
	PGresult *r = ccs_tx_query(q->tx, "SELECT 1 FROM conferences WHERE conference_id = $1", 1, p0, &rc, q->err);
	if (!r)
		return rc;
	int dup = PQntuples(r) > 0;
	PQclear(r);
	if (dup) {
		*outcome = "duplicate_conference";
		return 0;
	}
	const char *mtu_id;
	if ((rc = child_mtu(q, case_id, &mtu_id)) != 0)
		return rc;
	if (!mtu_id)
		return ccs_svc_poison(q->err, "validation", "case has no MTU (no evaluation booked)");

	/* The child's own therapists are tried first. */
	const char *pt = NULL, *ot = NULL;
	r = ccs_tx_query(q->tx,
			 "SELECT DISTINCT ON (discipline) discipline, therapist_id FROM appointments"
			 " WHERE case_id = $1 AND mtu_id = $2 AND kind IN ('evaluation', 'therapy') AND status = 'booked'"
			 " ORDER BY discipline, day DESC, start_min DESC",
			 2, (const char *const[]){case_id, mtu_id}, &rc, q->err);
	if (!r)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *t = ccs_arena_strdup(q->a, PQgetvalue(r, i, 1));
		if (strtol(PQgetvalue(r, i, 0), NULL, 10) == CCS_SCHED_PT)
			pt = t;
		else
			ot = t;
	}
	PQclear(r);

	ccs_sched_child child = {case_id, NULL, 0};
	if ((rc = ccs_sched_store_load_iep(q->tx, &child, q->err)) != 0)
		return rc;
	ccs_date from = q->asof;
	ccs_date to = latest != CCS_DATE_INVALID ? latest : q->asof + rules.horizon_days;
	for (int attempt = 0; attempt < q->s->retries; attempt++) {
		ccs_sched_store_mtu m;
		if ((rc = sp(q, "SAVEPOINT book")) != 0)
			return rc;
		rc = ccs_sched_store_load_mtu(q->tx, mtu_id, case_array(q, case_id), from, to, &m, &found, q->err);
		if (rc)
			return rc;
		r = ccs_tx_query(q->tx,
				 "SELECT day, start_min, end_min FROM conferences WHERE physician_id = $1"
				 " AND day BETWEEN $2 AND $3",
				 3, (const char *const[]){cr->physician_id, fmt_date(q->a, from), fmt_date(q->a, to)},
				 &rc, q->err);
		if (!r)
			return rc;
		size_t nb = (size_t)PQntuples(r);
		ccs_sched_interval *busy = ccs_arena_alloc(q->a, (nb + 1) * sizeof(*busy));
		for (size_t i = 0; i < nb; i++)
			busy[i] = (ccs_sched_interval){ccs_date_parse(PQgetvalue(r, (int)i, 0)),
						       (int)strtol(PQgetvalue(r, (int)i, 1), NULL, 10),
						       (int)strtol(PQgetvalue(r, (int)i, 2), NULL, 10)};
		PQclear(r);
		ccs_sched_conference_request cq = {child, q->asof, earliest, latest, pt, ot, NULL, busy, nb};
		ccs_sched_conference_result res;
		if (ccs_sched_find_conference(&rules, &m.snap, &cq, q->a, &res, errbuf, sizeof(errbuf)) != 0)
			return ccs_svc_poison(q->err, "validation", "conference search: %s", errbuf);
		Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
		if (!res.found) {
			if ((rc = sp(q, "RELEASE SAVEPOINT book")) != 0)
				return rc;
			/* The contract has no "not scheduled" kind: Waitlisted with position 0 (no
			 * automatic list for conferences) and the reason. */
			Ccs__Mtp__V1__Waitlisted *wl = ccs_arena_alloc(q->a, sizeof(*wl));
			ccs__mtp__v1__waitlisted__init(wl);
			wl->reason_code = ccs_arena_printf(q->a, "NO_CONFERENCE_SLOT_%s", ccs_sched_reason_name(res.reason));
			d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_WAITLISTED;
			d.waitlisted = wl;
			*outcome = "conference_unscheduled";
			return emit(q, case_id, mtu_id, "conference.unscheduled", &d, "conference_unscheduled");
		}
		char *id1 = ccs_arena_alloc(q->a, CCS_UUID_STRLEN), *id2 = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
		ccs_tx_decision_id(q->tx, "appointment.conference.pt", id1);
		ccs_tx_decision_id(q->tx, "appointment.conference.ot", id2);
		const char *room = res.room >= 0 ? m.snap.rooms[res.room].id : NULL;
		ccs_sched_store_appt a1 = {id1, case_id, mtu_id, m.snap.therapists[res.pt].id, room, CCS_SCHED_PT,
					   "conference", NULL, cr->conference_id, res.day, res.start_min, res.end_min};
		ccs_sched_store_appt a2 = {id2, NULL, mtu_id, m.snap.therapists[res.ot].id, NULL, CCS_SCHED_OT,
					   "conference", NULL, cr->conference_id, res.day, res.start_min, res.end_min};
		int conflict = 0;
		if ((rc = ccs_sched_store_insert_appt(q->tx, &a1, q->event_id, &conflict, q->err)) != 0)
			return rc;
		if (!conflict && (rc = ccs_sched_store_insert_appt(q->tx, &a2, q->event_id, &conflict, q->err)) != 0)
			return rc;
		if (!conflict) {
			const char *p[8] = {cr->conference_id, case_id, mtu_id, cr->physician_id, fmt_date(q->a, res.day),
					    fmt_int(q->a, res.start_min), fmt_int(q->a, res.end_min), q->event_id};
			PGresult *ir = PQexecParams(ccs_tx_conn(q->tx),
						    "INSERT INTO conferences VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8,
						    NULL, p, NULL, NULL, 0);
			if (PQresultStatus(ir) != PGRES_COMMAND_OK) {
				const char *state = PQresultErrorField(ir, PG_DIAG_SQLSTATE);
				if (state && strcmp(state, "23P01") == 0) {
					conflict = 1;
				} else {
					rc = ccs_svc_pg_error(ccs_tx_conn(q->tx), ir, q->err);
					PQclear(ir);
					return rc;
				}
			}
			PQclear(ir);
		}
		if (conflict) {
			ccs_metric_add(q->s->m_conflicts, 1);
			if ((rc = sp(q, "ROLLBACK TO SAVEPOINT book")) != 0 ||
			    (rc = sp(q, "RELEASE SAVEPOINT book")) != 0)
				return rc;
			continue;
		}
		if ((rc = sp(q, "RELEASE SAVEPOINT book")) != 0)
			return rc;
		Ccs__Mtp__V1__ConferenceScheduled *cs = ccs_arena_alloc(q->a, sizeof(*cs));
		ccs__mtp__v1__conference_scheduled__init(cs);
		cs->conference_id = cr->conference_id;
		cs->date = (char *)(uintptr_t)fmt_date(q->a, res.day);
		cs->start_minute = (uint32_t)res.start_min;
		cs->duration_minutes = (uint32_t)(res.end_min - res.start_min);
		cs->room_id = (char *)(uintptr_t)(room ? room : "");
		static const Ccs__Mtp__V1__ParticipantRole roles[4] = {
			CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_CHILD_AND_FAMILY,
			CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_PHYSICAL_THERAPIST,
			CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_OCCUPATIONAL_THERAPIST,
			CCS__MTP__V1__PARTICIPANT_ROLE__PARTICIPANT_ROLE_MTC_PHYSICIAN,
		};
		const char *who[4] = {"", a1.therapist_id, a2.therapist_id, cr->physician_id};
		cs->n_participants = 4;
		cs->participants = ccs_arena_alloc(q->a, 4 * sizeof(*cs->participants));
		for (int i = 0; i < 4; i++) {
			Ccs__Mtp__V1__Participant *pp = ccs_arena_alloc(q->a, sizeof(*pp));
			ccs__mtp__v1__participant__init(pp);
			pp->role = roles[i];
			pp->participant_id = (char *)(uintptr_t)who[i];
			cs->participants[i] = pp;
		}
		d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_CONFERENCE_SCHEDULED;
		d.conference_scheduled = cs;
		*outcome = "conference_scheduled";
		return emit(q, case_id, mtu_id, "conference.scheduled", &d, "conference_scheduled");
	}
	snprintf(q->err->cls, sizeof(q->err->cls), "transient");
	snprintf(q->err->msg, sizeof(q->err->msg), "conference conflicts at mtu %s", mtu_id);
	return CCS_SVC_TRANSIENT;
}

static int on_release(req *q, const char *case_id, const Ccs__Mtp__V1__ReleaseOfInformation *rl,
		      const char **outcome)
{
	const char *status;
	if (rl->status == CCS__MTP__V1__RELEASE_STATUS__RELEASE_STATUS_ON_FILE)
		status = "on_file";
	else if (rl->status == CCS__MTP__V1__RELEASE_STATUS__RELEASE_STATUS_REVOKED)
		status = "revoked";
	else
		return ccs_svc_poison(q->err, "validation", "release status must be ON_FILE or REVOKED");
	if (!*rl->release_id)
		return ccs_svc_poison(q->err, "validation", "release_id is empty");
	ccs_date eff = *rl->effective_date ? ccs_date_parse(rl->effective_date) : CCS_DATE_INVALID;
	if (*rl->effective_date && eff == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "effective_date is not a date");
	if (strcmp(status, "on_file") == 0 && (!*rl->school_district || !*rl->student_id_at_district))
		return ccs_svc_poison(q->err, "validation", "a release on file names the district and the student id");
	const char *p[7] = {case_id, rl->release_id, status, *rl->effective_date ? rl->effective_date : NULL,
			    *rl->school_district ? rl->school_district : NULL,
			    *rl->student_id_at_district ? rl->student_id_at_district : NULL, q->event_id};
	int rc = ccs_sched_store_exec(q->tx,
				      "INSERT INTO releases VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id)"
				      " DO UPDATE SET release_id = $2, status = $3, effective_date = $4,"
				      " school_district = COALESCE($5, releases.school_district),"
				      " student_id = CASE WHEN $3 = 'revoked' THEN NULL ELSE $6 END, event_id = $7",
				      7, p, q->err);
	if (rc)
		return rc;
	/* The district also routes the child to the MTU that serves it. */
	if (*rl->school_district &&
	    (rc = ccs_sched_store_exec(q->tx, "UPDATE children SET school_district = $2 WHERE case_id = $1", 2,
				       (const char *const[]){case_id, rl->school_district}, q->err)) != 0)
		return rc;
	*outcome = strcmp(status, "on_file") == 0 ? "release_on_file" : "release_revoked";
	return 0;
}

static int on_request(req *q, const ccs_msg *m, Ccs__Mtp__V1__SchedulingRequest *sr)
{
	const char *outcome = "?", *kind;
	int rc;

	q->request_id = *sr->request_id ? sr->request_id : q->event_id;
	q->decided_at = *sr->received_at ? sr->received_at : ccs_tx_input_time(q->tx);
	q->asof = instant_date(q->decided_at);
	if (q->asof == CCS_DATE_INVALID)
		return ccs_svc_poison(q->err, "validation", "received_at is not an RFC 3339 instant");
	q->at_ms = instant_ms(q->decided_at);
	const char *case_id = sr->case_id;
	if (sr->kind_case != CCS__MTP__V1__SCHEDULING_REQUEST__KIND_MTU_CALENDAR && !valid_uuid(case_id))
		return ccs_svc_poison(q->err, "validation", "case_id is not a UUID");

	switch (sr->kind_case) {
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_PRESCRIPTION:
		kind = "prescription";
		rc = on_prescription(q, case_id, sr->prescription, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_CANCELLATION:
		kind = "cancellation";
		rc = on_cancellation(q, case_id, sr->cancellation, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_IEP_SCHEDULE:
		kind = "iep_schedule";
		rc = on_iep(q, case_id, sr->iep_schedule, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_MTU_CALENDAR:
		kind = "mtu_calendar";
		case_id = NULL;
		rc = on_calendar(q, sr->mtu_calendar, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_CONFERENCE_REQUEST:
		kind = "conference_request";
		rc = on_conference(q, case_id, sr->conference_request, &outcome);
		break;
	case CCS__MTP__V1__SCHEDULING_REQUEST__KIND_RELEASE:
		kind = "release";
		rc = on_release(q, case_id, sr->release, &outcome);
		break;
	default:
		return ccs_svc_poison(q->err, "validation", "request has no kind");
	}
	if (rc)
		return rc;
	return record_input(q, "request", kind, case_id, outcome);
}

/* A request's context, shared by the input table's two handlers. */
static void req_init(req *q, void *ctx, ccs_tx *tx, ccs_svc_err *err)
{
	memset(q, 0, sizeof(*q));
	q->s = ctx;
	q->tx = tx;
	q->a = ccs_tx_arena(tx);
	q->err = err;
	q->event_id = ccs_tx_input_id(tx);
	q->request_id = q->event_id;
}

int ccs_scheduling_on_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				  ccs_svc_err *err)
{
	req q;
	(void)svc;
	req_init(&q, ctx, tx, err);
	return on_eligibility(&q, m, (Ccs__Mtp__V1__EligibilityDecision *)pb);
}

int ccs_scheduling_on_request(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
			      ccs_svc_err *err)
{
	req q;
	(void)svc;
	req_init(&q, ctx, tx, err);
	return on_request(&q, m, (Ccs__Mtp__V1__SchedulingRequest *)pb);
}

/* ---------------------------------------------------------------- start */

/* The settings as engine rules; the MTU directory file into the database. */
int ccs_scheduling_start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen)
{
	ccs_scheduling *s = ctx;
	const ccs_cfg *c = ccs_svc_cfg(svc);
	ccs_sched_mtu_dir *dir = NULL;
	int rc = -1;

	s->rules = ccs_sched_rules_default;
	s->rules.eval_target_days = (int)ccs_cfg_int(c, "service.target_days");
	s->rules.horizon_days = (int)ccs_cfg_int(c, "horizon.days");
	s->rules.eval_minutes = (int)ccs_cfg_int(c, "evaluation.minutes");
	s->rules.lead_days = (int)ccs_cfg_int(c, "evaluation.lead_days");
	s->rules.notice_days = (int)ccs_cfg_int(c, "booking.notice_days");
	s->rules.slot_minutes = (int)ccs_cfg_int(c, "slot.minutes");
	s->rules.conference_minutes = (int)ccs_cfg_int(c, "conference.minutes");
	s->rules.plan_change_notice_days = (int)ccs_cfg_int(c, "plan_change.notice_days");
	s->policy = ccs_sched_wl_policy_default;
	s->policy.aging_out_months = (int)ccs_cfg_int(c, "waitlist.aging_out_months");
	s->school_start = (int)ccs_cfg_int(c, "school_day.start_minute");
	s->school_end = (int)ccs_cfg_int(c, "school_day.end_minute");
	s->retries = (int)ccs_cfg_int(c, "booking.retries");
	s->reoffer_max = (int)ccs_cfg_int(c, "reoffer.max");
	s->eval_discipline = discipline_from_name(ccs_cfg_str(c, "evaluation.discipline"));
	ccs_metrics_family(ccs_svc_metrics(svc), "booking_conflicts_total", CCS_METRIC_COUNTER,
			   "bookings refused by an exclusion constraint (concurrent booking), then searched again",
			   NULL, 0);
	s->m_conflicts = ccs_metrics_series(ccs_svc_metrics(svc), "booking_conflicts_total", "");
	if (!s->eval_discipline) {
		snprintf(errbuf, errlen, "evaluation.discipline must be PT or OT");
		goto out;
	}
	if (s->rules.horizon_days < s->rules.eval_target_days) {
		snprintf(errbuf, errlen, "horizon.days must be >= service.target_days");
		goto out;
	}
	const char *path = ccs_cfg_str(c, "mtu.directory");
	if (!path || !*path)
		path = access(CCS_SCHED_DIRECTORY_INSTALLED, R_OK) == 0 ? CCS_SCHED_DIRECTORY_INSTALLED
									 : CCS_SCHED_DIRECTORY_SOURCE;
	rc = ccs_sched_mtu_dir_load(path, &dir, errbuf, errlen);
	if (rc)
		goto out;
	rc = ccs_sched_store_sync_directory(ccs_svc_conn(svc), dir, errbuf, errlen);
	if (rc)
		goto out;
	CCS_LOG_INFO("mtu directory loaded", "path", CCS_LOG_S(path), "mtus", CCS_LOG_I(dir->n_mtus),
		     "rules", CCS_LOG_S(s->rules.version), "waitlist_policy", CCS_LOG_S(s->policy.version));
out:
	if (dir)
		ccs_sched_mtu_dir_free(dir);
	return rc;
}
