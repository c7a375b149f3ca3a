/*
 * One input's context and what every part of schedulingd emits: decisions (UUIDv5 of the
 * input and a kind), the input's one `inputs` row, refusals and IEP coordination notices.
 *
 * Notices and the release. A notice always carries the case id, the reason and the sentence
 * that CCS therapy does not replace the district's own educationally necessary OT/PT (Gov.
 * Code 7575, AB 1467). The student's identity at the district is added only while a release is
 * on file, effective, not expired and not revoked; the therapy summary only when the release's
 * scope includes it (policy.h). Checked at the moment of each notice, so a revocation or an
 * expiry stops identification at once.
 */
#include <stdio.h>
#include <string.h>

#include "ccs/log.h"
#include "sched_internal.h"

void ccs_sched__req_init(req *q, void *ctx, ccs_tx *tx, ccs_svc_err *err)
{
	memset(q, 0, sizeof(*q));
	q->s = ctx;
	q->tx = tx;
	q->a = ccs_tx_arena(tx);
	ccs_arena_reset(&q->s->scratch);
	q->scratch = &q->s->scratch;
	q->err = err;
	q->event_id = ccs_tx_input_id(tx);
	q->request_id = q->event_id;
	q->b = ccs_tx_batch_state(tx);
	q->memo = q->b ? &q->b->memo : &q->own_memo;
}

/* ---- the children rows of this message */

struct ccs_sched_child_memo {
	ccs_sched_store_child c;
	int found;
	int locked;         /* read FOR UPDATE, or written: this transaction holds the row */
	const char *put_by; /* in a batch: changed by this input, written at the batch's end */
};

/* Case ids are canonical here (ccs_sched__canon_uuid at the input), as PostgreSQL writes them. */
static struct ccs_sched_child_memo *memo_find(const ccs_sched_memo *mm, const char *case_id)
{
	for (size_t i = 0; i < mm->n; i++)
		if (strcmp(mm->e[i].c.case_id, case_id) == 0)
			return &mm->e[i];
	return NULL;
}

/* The memo slot of case_id, a new one when absent (a message touches a handful of children:
 * its own, and those a freed slot is offered to; a batch, its decisions' children). */
static struct ccs_sched_child_memo *memo_slot(ccs_sched_memo *mm, ccs_arena *a, const char *case_id)
{
	struct ccs_sched_child_memo *m = memo_find(mm, case_id);
	if (m)
		return m;
	if (mm->n == mm->cap) {
		size_t cap = mm->cap ? 2 * mm->cap : 4;
		struct ccs_sched_child_memo *n = ccs_arena_alloc(a, cap * sizeof(*n));
		if (mm->n)
			memcpy(n, mm->e, mm->n * sizeof(*n));
		mm->e = n;
		mm->cap = cap;
	}
	m = &mm->e[mm->n++];
	memset(m, 0, sizeof(*m));
	ccs_sched_store_child_init(&m->c, ccs_arena_strdup(a, case_id));
	return m;
}

int ccs_sched__child_get(req *q, const char *case_id, int for_update, ccs_sched_store_child *c, int *found)
{
	struct ccs_sched_child_memo *m = memo_find(q->memo, case_id);
	if (m && (m->locked || !for_update)) {
		*c = m->c;
		*found = m->found;
		return 0;
	}
	int rc = ccs_sched_store_child_get(q->tx, case_id, for_update, c, found, q->err);
	if (rc)
		return rc;
	m = memo_slot(q->memo, q->a, case_id);
	const char *id = m->c.case_id;
	m->c = *c;
	m->c.case_id = id;
	m->found = *found;
	m->locked = for_update;
	return 0;
}

int ccs_sched__child_put(req *q, const ccs_sched_store_child *c)
{
	int rc = q->b ? 0 : ccs_sched_store_child_put(q->tx, c, q->event_id, q->err);
	if (rc)
		return rc;
	struct ccs_sched_child_memo *m = memo_slot(q->memo, q->a, c->case_id);
	ccs_date kept = m->found ? m->c.eligible_on : CCS_DATE_INVALID;
	int months = m->found ? m->c.conference_months : c->conference_months;
	const char *id = m->c.case_id;
	m->c = *c;
	m->c.case_id = id;
	/* What the upsert keeps of the row rather than takes from c. */
	if (!m->c.county)
		m->c.county = "";
	if (kept != CCS_DATE_INVALID)
		m->c.eligible_on = kept;
	m->c.conference_months = months;
	m->found = 1;
	m->locked = 1;
	if (q->b)
		m->put_by = q->event_id;
	return 0;
}

int ccs_sched__child_conference_months(req *q, const char *case_id, int months)
{
	struct ccs_sched_child_memo *m = memo_find(q->memo, case_id);
	int rc;
	/* The UPDATE needs the row: a write the batch still holds goes first. */
	if (m && m->put_by) {
		if ((rc = ccs_sched_store_child_put(q->tx, &m->c, m->put_by, q->err)) != 0)
			return rc;
		m->put_by = NULL;
	}
	rc = ccs_sched_store_child_conference_months(q->tx, case_id, months, q->err);
	if (!rc && m && m->found)
		m->c.conference_months = months;
	return rc;
}

/* One statement for the children of the batch (locked, as each message's own read would), one
 * for their IEP blocks; a child without a row is remembered as such. */
int ccs_sched__batch_prepare(ccs_tx *tx, const char *const *case_ids, size_t n, ccs_sched_batch **out,
			     ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	ccs_sched_batch *b = ccs_arena_alloc(a, sizeof(*b));
	ccs_sched_store_child *rows;
	size_t nrows;
	int rc;

	memset(b, 0, sizeof(*b));
	*out = NULL;
	if ((rc = ccs_sched_store_children_lock(tx, case_ids, n, &rows, &nrows, err)) != 0)
		return rc;
	ccs_sched_child **ch = ccs_arena_alloc(a, (n + 1) * sizeof(*ch));
	b->iep = ccs_arena_alloc(a, (n + 1) * sizeof(*b->iep));
	for (size_t i = 0; i < n; i++) {
		struct ccs_sched_child_memo *m = memo_slot(&b->memo, a, case_ids[i]);
		m->locked = 1;
		b->iep[b->n_iep] = (ccs_sched_child){m->c.case_id, NULL, 0};
		ch[b->n_iep] = &b->iep[b->n_iep];
		b->n_iep++;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct ccs_sched_child_memo *m = memo_find(&b->memo, rows[i].case_id);
		if (!m)
			continue;
		const char *id = m->c.case_id;
		m->c = rows[i];
		m->c.case_id = id;
		m->found = 1;
	}
	if ((rc = ccs_sched_store_load_ieps(tx, a, ch, b->n_iep, err)) != 0)
		return rc;
	*out = b;
	return 0;
}

int ccs_sched__batch_finish(ccs_tx *tx, ccs_sched_batch *b, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const ccs_sched_store_child **c = ccs_arena_alloc(a, (b->memo.n + 1) * sizeof(*c));
	const char **by = ccs_arena_alloc(a, (b->memo.n + 1) * sizeof(*by));
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < b->memo.n; i++)
		if (b->memo.e[i].put_by) {
			c[n] = &b->memo.e[i].c;
			by[n++] = b->memo.e[i].put_by;
		}
	if ((rc = ccs_sched_store_children_put(tx, c, by, n, err)) != 0)
		return rc;
	return ccs_sched_store_inputs(tx, b->inputs, b->n_inputs, err);
}

int ccs_sched__appt_cancel(req *q, const char *mtu_id, const char *appointment_id, const char *conference_id,
			   const char *reason)
{
	ccs_sched__snap_drop(q, mtu_id);
	return ccs_sched_store_appt_cancel(q->tx, appointment_id, conference_id, reason, q->event_id, q->err);
}

const char *ccs_sched__date(req *q, ccs_date d)
{
	if (d == CCS_DATE_INVALID)
		return NULL;
	char *b = ccs_arena_alloc(q->a, 11);
	ccs_date_format(d, b);
	return b;
}

const char *ccs_sched__int(req *q, long v)
{
	return ccs_arena_printf(q->a, "%ld", v);
}

const char *ccs_sched__canon_uuid(ccs_arena *a, const char *s)
{
	ccs_uuid u;
	if (!s || ccs_uuid_parse(s, &u) != 0)
		return NULL;
	char *out = ccs_arena_alloc(a, CCS_UUID_STRLEN);
	ccs_uuid_format(&u, out);
	return out;
}

const char *ccs_sched__disc_name(int d)
{
	return ccs_sched_discipline_name(d);
}

int ccs_sched__transient(req *q, const char *what, const char *mtu_id)
{
	snprintf(q->err->cls, sizeof(q->err->cls), "transient");
	snprintf(q->err->msg, sizeof(q->err->msg), "%s at mtu %s after %d searches", what,
		 mtu_id ? mtu_id : "-", q->s->retries);
	return CCS_SVC_TRANSIENT;
}

/* Fill the common fields, publish on commit, remember the id for the inputs row. */
int ccs_sched__emit(req *q, const char *case_id, const char *mtu_id, const char *kind,
		    Ccs__Mtp__V1__SchedulingDecision *d, const char *metric_outcome)
{
	return ccs_sched__emit_tagged(q, case_id, mtu_id, kind, d, metric_outcome, NULL);
}

/* As ccs_sched__emit, with routing tags (ccs_county: the county's own stream of IEP notices). */
int ccs_sched__emit_tagged(req *q, const char *case_id, const char *mtu_id, const char *kind,
			   Ccs__Mtp__V1__SchedulingDecision *d, const char *metric_outcome, const char *const *tags)
{
	char *id = ccs_arena_alloc(q->a, CCS_UUID_STRLEN);
	ccs_tx_decision_id(q->tx, kind, id);
	d->decision_id = id;
	d->case_id = (char *)(uintptr_t)(case_id ? case_id : "");
	d->decided_at = (char *)(uintptr_t)q->decided_at;
	d->mtu_id = (char *)(uintptr_t)(mtu_id ? mtu_id : "");
	d->request_id = (char *)(uintptr_t)q->request_id;
	int rc = ccs_tx_emit_tagged(q->tx, CCS_SCHEDULING_TOPIC_OUT, case_id, kind, &d->base, tags);
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

int ccs_sched__record_input(req *q, const char *source, const char *kind, const char *case_id,
			    const char *outcome)
{
	ccs_sched_store_input in = {q->event_id, source, kind, case_id, outcome, (const char *const *)q->ids,
				    q->n_ids};
	ccs_sched_batch *b = q->b;
	if (!b)
		return ccs_sched_store_inputs(q->tx, &in, 1, q->err);
	if (b->n_inputs == b->cap_inputs) {
		size_t cap = b->cap_inputs ? 2 * b->cap_inputs : 64;
		ccs_sched_store_input *n = ccs_arena_alloc(q->a, cap * sizeof(*n));
		if (b->n_inputs)
			memcpy(n, b->inputs, b->n_inputs * sizeof(*n));
		b->inputs = n;
		b->cap_inputs = cap;
	}
	b->inputs[b->n_inputs++] = in;
	return 0;
}

Ccs__Mtp__V1__Appointment *ccs_sched__appt_msg(req *q, const ccs_sched_store_appt *x)
{
	Ccs__Mtp__V1__Appointment *m = ccs_arena_alloc(q->a, sizeof(*m));
	ccs__mtp__v1__appointment__init(m);
	m->appointment_id = (char *)(uintptr_t)x->appointment_id;
	m->therapist_id = (char *)(uintptr_t)x->therapist_id;
	m->room_id = (char *)(uintptr_t)(x->room_id ? x->room_id : "");
	m->discipline = (Ccs__Mtp__V1__Discipline)x->discipline;
	m->date = (char *)(uintptr_t)ccs_sched__date(q, x->day);
	m->start_minute = (uint32_t)x->start_min;
	m->duration_minutes = (uint32_t)(x->end_min - x->start_min);
	return m;
}

int ccs_sched__refuse(req *q, const char *case_id, const char *request_kind, const char *reason,
		      const char *eligibility)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	Ccs__Mtp__V1__RequestRefused *r = ccs_arena_alloc(q->a, sizeof(*r));
	ccs__mtp__v1__request_refused__init(r);
	r->reason_code = (char *)(uintptr_t)reason;
	r->request_kind = (char *)(uintptr_t)request_kind;
	r->eligibility = (char *)(uintptr_t)(eligibility ? eligibility : "");
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_REFUSED;
	d.refused = r;
	return ccs_sched__emit(q, case_id, NULL, "refused", &d, "refused");
}

Ccs__Mtp__V1__IepCoordinationNotice *ccs_sched__notice_new(req *q)
{
	Ccs__Mtp__V1__IepCoordinationNotice *n = ccs_arena_alloc(q->a, sizeof(*n));
	ccs__mtp__v1__iep_coordination_notice__init(n);
	return n;
}

/* The therapy summary: the current plans, their weekly times and dates, the next conference. */
static int summary(req *q, const char *case_id, Ccs__Mtp__V1__TherapySummary **out)
{
	ccs_sched_store_rx *rx;
	ccs_sched_store_booked_appt *ap;
	size_t nrx, nap;
	ccs_date next;
	const char *phys;
	int rc;

	if ((rc = ccs_sched_store_rx_current(q->tx, case_id, &rx, &nrx, q->err)) != 0 ||
	    (rc = ccs_sched_store_appts_booked(q->tx, case_id, NULL, q->asof, "therapy", 0, &ap, &nap,
					       q->err)) != 0 ||
	    (rc = ccs_sched_store_conf_next(q->tx, case_id, q->asof, &next, &phys, q->err)) != 0)
		return rc;
	Ccs__Mtp__V1__TherapySummary *s = ccs_arena_alloc(q->a, sizeof(*s));
	ccs__mtp__v1__therapy_summary__init(s);
	s->lines = ccs_arena_alloc(q->a, (nrx + 1) * sizeof(*s->lines));
	for (size_t i = 0; i < nrx; i++) {
		Ccs__Mtp__V1__TherapyLine *l = ccs_arena_alloc(q->a, sizeof(*l));
		ccs__mtp__v1__therapy_line__init(l);
		l->discipline = (Ccs__Mtp__V1__Discipline)rx[i].discipline;
		l->sessions_per_week = (uint32_t)rx[i].per_week;
		l->weeks = (uint32_t)rx[i].weeks;
		l->minutes_per_session = (uint32_t)rx[i].minutes;
		l->schedule = ccs_arena_alloc(q->a, (nap + 1) * sizeof(*l->schedule));
		ccs_date first = CCS_DATE_INVALID, last = CCS_DATE_INVALID;
		for (size_t k = 0; k < nap; k++) {
			const ccs_sched_store_appt *a = &ap[k].a;
			if (!a->prescription_id || strcmp(a->prescription_id, rx[i].prescription_id) != 0)
				continue;
			if (first == CCS_DATE_INVALID)
				first = a->day;
			last = a->day;
			uint32_t wd = (uint32_t)ccs_date_weekday(a->day) + 1;
			int dup = 0;
			for (size_t j = 0; j < l->n_schedule; j++)
				dup |= l->schedule[j]->weekday == wd &&
				       l->schedule[j]->start_minute == (uint32_t)a->start_min;
			if (dup)
				continue;
			Ccs__Mtp__V1__SessionTime *t = ccs_arena_alloc(q->a, sizeof(*t));
			ccs__mtp__v1__session_time__init(t);
			t->weekday = wd;
			t->start_minute = (uint32_t)a->start_min;
			t->duration_minutes = (uint32_t)(a->end_min - a->start_min);
			t->in_school_day = ccs_sched_policy_in_school_day(a->day, a->start_min, a->end_min,
									  q->s->school_start,
									  q->s->school_end);
			l->schedule[l->n_schedule++] = t;
		}
		l->first_date = (char *)(uintptr_t)(first != CCS_DATE_INVALID ? ccs_sched__date(q, first)
									      : "");
		l->last_date = (char *)(uintptr_t)(last != CCS_DATE_INVALID ? ccs_sched__date(q, last) : "");
		s->lines[s->n_lines++] = l;
	}
	s->next_conference_date = (char *)(uintptr_t)(next != CCS_DATE_INVALID ? ccs_sched__date(q, next)
									       : "");
	*out = s;
	return 0;
}

int ccs_sched__notice(req *q, const char *case_id, const char *mtu_id, Ccs__Mtp__V1__IepNoticeKind kind,
		      ccs_date effective, const char *reason_code, Ccs__Mtp__V1__IepCoordinationNotice *n,
		      const char *decision_kind)
{
	Ccs__Mtp__V1__SchedulingDecision d = CCS__MTP__V1__SCHEDULING_DECISION__INIT;
	ccs_sched_release rel;
	const char *district, *student;
	int rc, found;

	if (!n)
		n = ccs_sched__notice_new(q);
	rc = ccs_sched_store_release_get(q->tx, case_id, &rel, &district, &student, &found, q->err);
	if (rc)
		return rc;
	unsigned share = found ? ccs_sched_policy_release_allows(&rel, q->asof) : 0;
	if (share & CCS_SCHED_SHARE_IDENTITY) {
		Ccs__Mtp__V1__StudentIdentification *st = ccs_arena_alloc(q->a, sizeof(*st));
		ccs__mtp__v1__student_identification__init(st);
		st->school_district = (char *)(uintptr_t)(district ? district : "");
		st->student_id_at_district = (char *)(uintptr_t)(student ? student : "");
		n->student = st;
		n->release_on_file = 1;
	} else {
		n->student = NULL;
		n->release_on_file = 0;
	}
	if ((share & CCS_SCHED_SHARE_SUMMARY) && !n->summary && (rc = summary(q, case_id, &n->summary)) != 0)
		return rc;
	if (!(share & CCS_SCHED_SHARE_SUMMARY))
		n->summary = NULL;
	n->kind = kind;
	n->effective_date = (char *)(uintptr_t)(effective != CCS_DATE_INVALID ? ccs_sched__date(q, effective)
									      : "");
	n->reason_code = (char *)(uintptr_t)(reason_code ? reason_code : "");
	n->statement = (char *)(uintptr_t)q->s->statement;
	d.kind_case = CCS__MTP__V1__SCHEDULING_DECISION__KIND_IEP_NOTICE;
	d.iep_notice = n;
	/* IEP coordination reaches only the county it concerns: the notice also goes to the
	 * county's own stream (main.c), which its coordinators alone may read. */
	ccs_sched_store_child child;
	int have_child = 0;
	if ((rc = ccs_sched__child_get(q, case_id, 0, &child, &have_child)) != 0)
		return rc;
	const char *tags[] = {"ccs_county", have_child && child.county ? child.county : "", NULL};
	rc = ccs_sched__emit_tagged(q, case_id, mtu_id, decision_kind, &d,
				    n->release_on_file ? "iep_notice_identified" : "iep_notice_release_missing", tags);
	if (rc)
		return rc;
	const ProtobufCEnumValue *kv =
		protobuf_c_enum_descriptor_get_value(&ccs__mtp__v1__iep_notice_kind__descriptor, (int)kind);
	return ccs_sched_store_notice(q->tx, d.decision_id, case_id, kv ? kv->name : "?", n->release_on_file,
				      effective, q->event_id, q->err);
}
