/*
 * schedulingd (see scheduling.h): the settings, start, the input table's handlers and the
 * due-work callback. The work is done by the parts listed in sched_internal.h; every SQL
 * statement is in scheduling_store.c.
 *
 * One input, one effect: every input event gets one `inputs` row naming what it did and the
 * decisions it produced. Decision kinds (the UUIDv5 names, stable forever):
 *
 *   evaluation.booked[.PT|.OT] / evaluation.waitlisted[.PT|.OT]   an MTP-eligible child's
 *                                                evaluations (the suffix when two disciplines)
 *   series.booked / series.waitlisted            a therapy prescription
 *   refused                                      a request for a child who may not be booked
 *   cancelled                                    a cancellation (rebooked when asked/required)
 *   moved.<appointment id>[.waitlisted]          a session moved off a closure, lost therapist
 *                                                hours or an IEP block (keyed by its child)
 *   services_ended / iep.services_ended          eligibility lost, aged out, not medically
 *                                                necessary: sessions cancelled, notice
 *   reoffer.<waitlist entry id>                  a freed or new slot given to a waitlisted child
 *                                                (keyed by that child's case id)
 *   conference.scheduled / conference.unscheduled / conference.due
 *   equipment.recommended                        a conference's equipment: evidence for the
 *                                                MTP equipment line
 *   plan.<n>.<kind>                              a conference outcome's plan changes
 *   iep.refer_lea / iep.schedule_change / iep.first_scheduled / iep.services_reduced /
 *   iep.attendance                               IEP coordination notices
 *
 * Appointment ids are derived the same way ("appointment.<decision kind>[.<n>]"), so a replay
 * of an input books byte-identical appointments.
 *
 * Rules are data: the engine's ccs_sched_rules built from the settings (service target,
 * horizon, evaluation length, notice days...), its waitlist policy, and policy.h.
 */
#include "scheduling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ccs/log.h"
#include "sched_internal.h"

#ifndef CCS_SCHED_DIRECTORY_SOURCE
#define CCS_SCHED_DIRECTORY_SOURCE "deploy/data/mtu_directory.tsv"
#endif
#ifndef CCS_SCHED_DIRECTORY_INSTALLED
#define CCS_SCHED_DIRECTORY_INSTALLED "/usr/local/share/ccs/mtu_directory.tsv"
#endif

#define STATEMENT_DEFAULT                                                                                  \
	"CCS Medical Therapy Program therapy is medically necessary therapy; it does not replace the "    \
	"school district's own educationally necessary occupational and physical therapy under the IEP "  \
	"(Gov. Code 7575, AB 1467)."

const ccs_cfg_def ccs_scheduling_cfg[] = {
	{"mtu.directory", CCS_CFG_STR, "", 0, 0, 0,
	 "MTU directory file (empty: the installed sample, else the source tree's sample)"},
	{"service.target_days", CCS_CFG_INT, "30", 0, 1, 365,
	 "book the evaluation within N days of eligibility, else waitlist"},
	{"horizon.days", CCS_CFG_INT, "90", 0, 7, 730, "never book later than N days ahead"},
	{"evaluation.minutes", CCS_CFG_INT, "60", 0, 15, 480, "length of a PT/OT evaluation"},
	{"evaluation.discipline", CCS_CFG_STR, "PT", 0, 0, 0,
	 "evaluation discipline(s) when neither the referral nor a prescription states any (PT, OT or PT,OT)"},
	{"evaluation.lead_days", CCS_CFG_INT, "1", 0, 0, 60, "first evaluation day >= eligibility + N days"},
	{"booking.notice_days", CCS_CFG_INT, "1", 0, 0, 60, "any booking >= request date + N days"},
	{"slot.minutes", CCS_CFG_INT, "15", 0, 5, 120, "start times fall on this grid"},
	{"conference.minutes", CCS_CFG_INT, "60", 0, 15, 480, "Medical Therapy Conference length"},
	{"conference.interval_months", CCS_CFG_INT, "12", 0, 1, 12,
	 "a conference is due every N months (a plan may say 6)"},
	{"conference.lead_days", CCS_CFG_INT, "30", 0, 1, 120, "the due timer proposes the conference N days ahead"},
	{"plan_change.notice_days", CCS_CFG_INT, "5", 0, 0, 60,
	 "a change, reduction or end of services takes effect >= notice + N days"},
	{"school_day.start_minute", CCS_CFG_INT, "480", 0, 0, 1440, "school day start (minutes after midnight)"},
	{"school_day.end_minute", CCS_CFG_INT, "900", 0, 0, 1440, "school day end (minutes after midnight)"},
	{"booking.retries", CCS_CFG_INT, "3", 0, 1, 50,
	 "searches per message after exclusion conflicts before the batch is retried"},
	{"reoffer.max", CCS_CFG_INT, "20", 0, 1, 1000, "waitlisted children tried per freed capacity"},
	{"rebook.window_days", CCS_CFG_INT, "7", 0, 0, 60,
	 "a moved or cancelled therapy session is rebooked within N days after its day, else waits"},
	{"cancellation.rebook_reasons", CCS_CFG_STR, "THERAPIST,SCHOOL_CLOSURE", 0, 0, 0,
	 "cancellation reasons that rebook the child even unasked (FAMILY, THERAPIST, NO_SHOW, SCHOOL_CLOSURE)"},
	{"release.max_months", CCS_CFG_INT, "12", 0, 1, 120,
	 "a release without an expiry date expires N months after it takes effect"},
	{"notice.statement", CCS_CFG_STR, STATEMENT_DEFAULT, 0, 0, 0,
	 "sentence on every IEP notice: CCS therapy does not replace the district's educational OT/PT"},
	{"waitlist.aging_out_months", CCS_CFG_INT, "6", 0, 0, 60, "aging-out priority window"},
	{NULL, CCS_CFG_STR, NULL, 0, 0, 0, NULL},
};

ccs_scheduling *ccs_scheduling_new(void)
{
	ccs_scheduling *s = ccs_xcalloc(1, sizeof(*s));
	s->rules = ccs_sched_rules_default;
	s->policy = ccs_sched_wl_policy_default;
	s->eval_disciplines = CCS_SCHED_PT;
	s->statement = STATEMENT_DEFAULT;
	s->rebook_reasons = CCS_SCHED_REBOOK_DEFAULT;
	ccs_arena_init(&s->scratch, 256 * 1024);
	return s;
}

void ccs_scheduling_free(ccs_scheduling *s)
{
	if (!s)
		return;
	ccs_sched_mtu_dir_free(s->dir);
	ccs_arena_destroy(&s->scratch);
	free(s);
}

int ccs_scheduling_on_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				  ccs_svc_err *err)
{
	req q;
	(void)svc;
	(void)m;
	ccs_sched__req_init(&q, ctx, tx, err);
	return ccs_sched__on_eligibility(&q, (Ccs__Mtp__V1__EligibilityDecision *)pb);
}

int ccs_scheduling_prepare_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b,
				       void **state, ccs_svc_err *err)
{
	ccs_sched_batch *sb;
	const char **ids = ccs_arena_alloc(ccs_tx_arena(tx), (b->n + 1) * sizeof(*ids));
	size_t n = 0;
	(void)svc;
	(void)ctx;
	/* A decision whose case id is no UUID is refused by its handler; the others as the
	 * handler will see them (canonical). */
	for (size_t i = 0; i < b->n; i++) {
		const Ccs__Mtp__V1__EligibilityDecision *ed =
			(const Ccs__Mtp__V1__EligibilityDecision *)b->pbs[i];
		const char *id = ccs_sched__canon_uuid(ccs_tx_arena(tx), ed->case_id);
		if (id)
			ids[n++] = id;
	}
	int rc = ccs_sched__batch_prepare(tx, ids, n, &sb, err);
	*state = rc ? NULL : sb;
	return rc;
}

int ccs_scheduling_finish_eligibility(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err)
{
	(void)svc;
	(void)ctx;
	return ccs_sched__batch_finish(tx, state, err);
}

int ccs_scheduling_on_request(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
			      ccs_svc_err *err)
{
	req q;
	(void)svc;
	(void)m;
	ccs_sched__req_init(&q, ctx, tx, err);
	return ccs_sched__on_request(&q, (Ccs__Mtp__V1__SchedulingRequest *)pb);
}

/* Time-driven work: the conference-due timer (kind conference.due, subject the case id,
 * payload the due date) and the calendar recheck the directory file schedules at start for its
 * MTUs (kind calendar.recheck, subject the MTU id). Unknown kinds are dropped as failed work. */
int ccs_scheduling_due(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_due *d, ccs_svc_err *err)
{
	req q;
	(void)svc;
	ccs_sched__req_init(&q, ctx, tx, err);
	q.decided_at = ccs_tx_input_time(tx);
	q.asof = d->due_date;
	q.at_ms = (int64_t)d->due_date * 86400000;
	if (strcmp(d->kind, "calendar.recheck") == 0) {
		int moved, nb, rc = ccs_sched__calendar_recheck(&q, d->subject, &moved, &nb);
		if (rc || (!moved && !nb)) /* a recheck that changes nothing leaves no trace */
			return rc;
		return ccs_sched__record_input(&q, "timer", "calendar_recheck", NULL,
					       ccs_arena_printf(q.a, "calendar_rechecked_moved_%d_reoffered_%d", moved, nb));
	}
	/* Subjects are written canonical; one armed before that may not be. */
	const char *case_id = ccs_sched__canon_uuid(q.a, d->subject);
	if (strcmp(d->kind, "conference.due") != 0 || !case_id)
		return ccs_svc_poison(err, "validation", "unknown due work %s", d->kind);
	ccs_date due = d->payload ? ccs_date_parse(d->payload) : CCS_DATE_INVALID;
	if (due == CCS_DATE_INVALID)
		due = d->due_date + q.s->conference_lead_days;
	return ccs_sched__conference_due(&q, case_id, due);
}

/* "PT", "OT", "PT,OT" into discipline bits; 0 when malformed. */
static unsigned disciplines_from(const char *s)
{
	unsigned m = 0;
	for (const char *p = s; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == 2 && strncmp(p, "PT", 2) == 0)
			m |= CCS_SCHED_PT;
		else if (n == 2 && strncmp(p, "OT", 2) == 0)
			m |= CCS_SCHED_OT;
		else
			return 0;
		p += n + (p[n] == ',');
	}
	return m;
}

/* Cancellation reason names into policy bits (CancellationReason values); -1 when malformed. */
static long reasons_from(const char *s)
{
	unsigned m = 0;
	for (const char *p = s; p && *p;) {
		size_t n = strcspn(p, ",");
		char name[64];
		if (n == 0 || n >= sizeof(name) - 24)
			return -1;
		snprintf(name, sizeof(name), "CANCELLATION_REASON_%.*s", (int)n, p);
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value_by_name(&ccs__mtp__v1__cancellation_reason__descriptor, name);
		if (!v || v->value <= 0)
			return -1;
		m |= 1u << v->value;
		p += n + (p[n] == ',');
	}
	return (long)m;
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
	s->eval_disciplines = disciplines_from(ccs_cfg_str(c, "evaluation.discipline"));
	s->rebook_window_days = (int)ccs_cfg_int(c, "rebook.window_days");
	s->release_max_months = (int)ccs_cfg_int(c, "release.max_months");
	s->conference_interval_months = (int)ccs_cfg_int(c, "conference.interval_months");
	s->conference_lead_days = (int)ccs_cfg_int(c, "conference.lead_days");
	s->statement = ccs_cfg_str(c, "notice.statement");
	long rr = reasons_from(ccs_cfg_str(c, "cancellation.rebook_reasons"));
	ccs_metrics_family(ccs_svc_metrics(svc), "booking_conflicts_total", CCS_METRIC_COUNTER,
			   "bookings refused by an exclusion constraint (concurrent booking), then searched again",
			   NULL, 0);
	s->m_conflicts = ccs_metrics_series(ccs_svc_metrics(svc), "booking_conflicts_total", "");
	static const double days_b[] = {1, 3, 7, 14, 21, 30, 45, 60, 90, 180};
	ccs_metrics_family(ccs_svc_metrics(svc), "eligibility_to_evaluation_days", CCS_METRIC_HISTOGRAM,
			   "days from MTP eligibility to the first evaluation's date", days_b, 10);
	s->m_eval_days = ccs_metrics_series(ccs_svc_metrics(svc), "eligibility_to_evaluation_days", "");
	if (!s->eval_disciplines) {
		snprintf(errbuf, errlen, "evaluation.discipline must be PT, OT or PT,OT");
		goto out;
	}
	if (rr < 0) {
		snprintf(errbuf, errlen, "cancellation.rebook_reasons: FAMILY, THERAPIST, NO_SHOW or SCHOOL_CLOSURE");
		goto out;
	}
	s->rebook_reasons = (unsigned)rr;
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
	rc = ccs_sched_store_sync_directory(ccs_svc_conn(svc), dir, ccs_svc_today(svc), errbuf, errlen);
	if (rc)
		goto out;
	/* The directory stays in memory: MTU selection (district, county, neighbour) reads it. */
	ccs_sched_mtu_dir_free(s->dir);
	s->dir = dir;
	dir = NULL;
	CCS_LOG_INFO("mtu directory loaded", "path", CCS_LOG_S(path), "mtus", CCS_LOG_I(s->dir->n_mtus),
		     "rules", CCS_LOG_S(s->rules.version), "waitlist_policy", CCS_LOG_S(s->policy.version));
out:
	if (dir)
		ccs_sched_mtu_dir_free(dir);
	return rc;
}
