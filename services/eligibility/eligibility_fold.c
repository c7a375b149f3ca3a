/*
 * Case facts from the case row and the evidence log (see eligibility_fold.h for the why).
 *
 * Each evidence kind has one apply function; the table `appliers` maps the oneof case to it.
 * A later piece of evidence of the same kind replaces the earlier one (a new medical review
 * supersedes the previous review, new financial information the old), except service lines,
 * which accumulate, and appeals, which are matched by appeal id.
 */
#include "eligibility_fold.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccs/err.h"
#include "ccs/instant.h"
#include "ccs/uuid.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define AMOUNT_MAX_CENTS 1000000000000000LL

/* The project's one RFC 3339 parser, dated in California (ccs/instant.h). */
ccs_date ccs_elig_fold_instant_date(const char *s)
{
	return ccs_instant_date_ca(s);
}

/* The rules engine's date range (rules.c DATE_MIN_Y..DATE_MAX_Y). */
static bool in_engine_range(ccs_date d)
{
	return d >= ccs_date_from_ymd(1900, 1, 1) && d <= ccs_date_from_ymd(2199, 12, 31);
}

/* An optional "YYYY-MM-DD": empty is absent (INVALID), anything else must parse. */
static int opt_date(const char *s, ccs_date *out)
{
	*out = CCS_DATE_INVALID;
	if (!s || !*s)
		return 0;
	*out = ccs_date_parse(s);
	return *out == CCS_DATE_INVALID || !in_engine_range(*out) ? -EINVAL : 0;
}

static ccs_date date_or(const char *s, ccs_date def)
{
	ccs_date d;
	return opt_date(s, &d) == 0 && d != CCS_DATE_INVALID ? d : def;
}

/* Program -> lines, used only when the referral listed no service lines. */
static const struct {
	int program;
	unsigned lines;
} program_lines[] = {
	{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_MTP, CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY)},
	{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_CCS_TREATMENT,
	 CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_CCS_TREATMENT)},
	{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_DIAGNOSTIC, CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_DIAGNOSTIC)},
	{CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_MTP_AND_CCS_TREATMENT,
	 CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY) | CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_CCS_TREATMENT)},
};

unsigned ccs_elig_fold_program_lines(int requested_program)
{
	for (size_t i = 0; i < NELEMS(program_lines); i++)
		if (program_lines[i].program == requested_program)
			return program_lines[i].lines;
	/* unspecified or "other": the Medical Therapy Program is what this pipeline serves */
	return CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY);
}

/* ---- evidence -> facts ---- */

/* Fold state beyond the facts: the appeal the facts describe, the evidence in force. */
struct fold {
	ccs_elig_facts *f;
	const ccs_elig_fold_case *c;
	const char *appeal_id; /* points into the decoded evidence */
	ccs_elig_fold_out *out; /* src[], reviewer, the previous step's result */
};

/* ---- county names ---- */

/* A county name without case, surrounding or repeated spaces, or a trailing " County". */
static void county_norm(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	bool space = false;
	for (; *in && n + 1 < cap; in++) {
		char ch = *in;
		if (ch == ' ' || ch == '\t') {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < cap)
			out[n++] = ' ';
		space = false;
		out[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
	}
	out[n] = '\0';
	if (n > 7 && strcmp(out + n - 7, " county") == 0)
		out[n - 7] = '\0';
}

static bool county_same_default(const char *a, const char *b)
{
	char x[CCS_ELIG_FOLD_COUNTY_LEN + 8], y[CCS_ELIG_FOLD_COUNTY_LEN + 8];
	county_norm(a, x, sizeof(x));
	county_norm(b, y, sizeof(y));
	return strcmp(x, y) == 0;
}

static ccs_elig_fold_same_county_fn county_cmp = county_same_default;

void ccs_elig_fold_set_county_compare(ccs_elig_fold_same_county_fn fn)
{
	county_cmp = fn ? fn : county_same_default;
}

bool ccs_elig_fold_same_county(const char *a, const char *b)
{
	return county_cmp(a, b);
}

static void apply_application(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__ApplicationReceived *a = st->ev->application_received;
	ccs_date sent = date_or(a->sent_date, CCS_DATE_INVALID);
	if (sent != CCS_DATE_INVALID)
		s->f->application_sent = sent;
	/* only a signed application counts as returned (22 CCR 41514) */
	if (a->application_signed) {
		s->f->application_received = date_or(a->received_date, st->on);
		s->out->src[CCS_ELIG_SRC_APPLICATION] = st->event_id;
	}
}

/* A finding flag: the offset of its bool in CerebralPalsyFindings / AtRiskFindings. */
struct finding_bit {
	size_t offset;
	uint32_t bit;
};

static const struct finding_bit cp_bits[] = {
	{offsetof(Ccs__Mtp__V1__CerebralPalsyFindings, rigidity_or_spasticity), CCS_ELIG_F_CP_RIGIDITY_SPASTICITY},
	{offsetof(Ccs__Mtp__V1__CerebralPalsyFindings, hypotonia_with_normal_or_increased_dtr_and_primitive_reflexes),
	 CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE},
	{offsetof(Ccs__Mtp__V1__CerebralPalsyFindings, involuntary_movements), CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS},
	{offsetof(Ccs__Mtp__V1__CerebralPalsyFindings, ataxia), CCS_ELIG_F_CP_ATAXIA},
};

static const struct finding_bit ar_bits[] = {
	{offsetof(Ccs__Mtp__V1__AtRiskFindings, persistent_primitive_reflexes), CCS_ELIG_F_AR_PRIMITIVE_REFLEXES},
	{offsetof(Ccs__Mtp__V1__AtRiskFindings, dtr_3_plus), CCS_ELIG_F_AR_DTR_3_PLUS},
	{offsetof(Ccs__Mtp__V1__AtRiskFindings, abnormal_posturing), CCS_ELIG_F_AR_ABNORMAL_POSTURING},
	{offsetof(Ccs__Mtp__V1__AtRiskFindings, hypotonicity_normal_or_increased_dtr), CCS_ELIG_F_AR_HYPOTONICITY},
	{offsetof(Ccs__Mtp__V1__AtRiskFindings, motor_asymmetry), CCS_ELIG_F_AR_MOTOR_ASYMMETRY},
};

static const struct finding_bit nm_bits[] = {
	{offsetof(Ccs__Mtp__V1__NeuromuscularFindings, weakness), CCS_ELIG_F_NM_WEAKNESS},
	{offsetof(Ccs__Mtp__V1__NeuromuscularFindings, atrophy), CCS_ELIG_F_NM_ATROPHY},
};

static const struct finding_bit ms_bits[] = {
	{offsetof(Ccs__Mtp__V1__MusculoskeletalFindings, deformity), CCS_ELIG_F_MS_DEFORMITY},
	{offsetof(Ccs__Mtp__V1__MusculoskeletalFindings, contracture), CCS_ELIG_F_MS_CONTRACTURE},
	{offsetof(Ccs__Mtp__V1__MusculoskeletalFindings, limitation_of_motion_or_function), CCS_ELIG_F_MS_LIMITATION},
};

/* MedicalFinding enum value -> finding bit (index = enum value). */
static const uint32_t finding_of_enum[] = {
	0,
	CCS_ELIG_F_CP_RIGIDITY_SPASTICITY,
	CCS_ELIG_F_CP_HYPOTONIA_DTR_PRIMITIVE,
	CCS_ELIG_F_CP_INVOLUNTARY_MOVEMENTS,
	CCS_ELIG_F_CP_ATAXIA,
	CCS_ELIG_F_AR_PRIMITIVE_REFLEXES,
	CCS_ELIG_F_AR_DTR_3_PLUS,
	CCS_ELIG_F_AR_ABNORMAL_POSTURING,
	CCS_ELIG_F_AR_HYPOTONICITY,
	CCS_ELIG_F_AR_MOTOR_ASYMMETRY,
	CCS_ELIG_F_NM_WEAKNESS,
	CCS_ELIG_F_NM_ATROPHY,
	CCS_ELIG_F_MS_DEFORMITY,
	CCS_ELIG_F_MS_CONTRACTURE,
	CCS_ELIG_F_MS_LIMITATION,
};

/* ConditionGroup enum value -> engine group (index = enum value). */
static const ccs_elig_group group_of_enum[] = {
	CCS_ELIG_GROUP_NONE, CCS_ELIG_GROUP_CP, CCS_ELIG_GROUP_NEUROMUSCULAR, CCS_ELIG_GROUP_MUSCULOSKELETAL,
	CCS_ELIG_GROUP_OTHER_CNS, CCS_ELIG_GROUP_AT_RISK, CCS_ELIG_GROUP_CCS,
};

static uint32_t bits_of(const void *msg, const struct finding_bit *t, size_t n)
{
	uint32_t out = 0;
	if (!msg)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (*(const protobuf_c_boolean *)((const char *)msg + t[i].offset))
			out |= t[i].bit;
	return out;
}

/* A new review replaces the previous one: the reviewer states the whole picture. */
static void apply_medical(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__MedicalReviewFindings *m = st->ev->medical_review;
	ccs_elig_medical *md = &s->f->medical;

	memset(md, 0, sizeof(*md));
	md->present = true;
	md->records_pending = m->records_requested;
	md->reviewer = (ccs_elig_reviewer)m->reviewer_role;
	md->exam_date = date_or(m->exam_date, CCS_DATE_INVALID);
	md->gestational_weeks = (uint8_t)m->gestational_age_weeks;
	md->findings = bits_of(m->cerebral_palsy, cp_bits, NELEMS(cp_bits)) |
		       bits_of(m->at_risk, ar_bits, NELEMS(ar_bits)) |
		       bits_of(m->neuromuscular, nm_bits, NELEMS(nm_bits)) |
		       bits_of(m->musculoskeletal, ms_bits, NELEMS(ms_bits));
	s->out->src[CCS_ELIG_SRC_MEDICAL] = st->event_id;
	for (size_t i = 0; i < m->n_confirmed_icd10_codes; i++)
		if (ccs_elig_facts_add_code(s->f, m->confirmed_icd10_codes[i]) != 0)
			break; /* checked at intake; cannot happen for stored evidence */
}

/* The medical consultant's determination, filed by its scope; a later one replaces it. */
static void apply_physician(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__PhysicianDetermination *p = st->ev->physician_determination;
	ccs_elig_physician ph;

	memset(&ph, 0, sizeof(ph));
	ph.present = true;
	ph.eligible = p->result == CCS__MTP__V1__PHYSICIAN_RESULT__PHYSICIAN_RESULT_ELIGIBLE;
	ph.group = (unsigned)p->condition_group < NELEMS(group_of_enum) ? group_of_enum[p->condition_group]
									 : CCS_ELIG_GROUP_NONE;
	for (size_t i = 0; i < p->n_findings; i++)
		if ((unsigned)p->findings[i] < NELEMS(finding_of_enum))
			ph.findings |= finding_of_enum[p->findings[i]];
	ph.determined = date_or(p->determined_date, st->on);
	if (p->scope != CCS__MTP__V1__MEDICAL_SCOPE__MEDICAL_SCOPE_CCS)
		s->f->physician[CCS_ELIG_BASIS_MTP] = ph;
	if (p->scope != CCS__MTP__V1__MEDICAL_SCOPE__MEDICAL_SCOPE_MTP)
		s->f->physician[CCS_ELIG_BASIS_CCS] = ph;
	s->out->src[CCS_ELIG_SRC_PHYSICIAN] = st->event_id;
}

/* The notice of the current adverse run was mailed: the appeal window counts from then. */
static void apply_notice_mailed(struct fold *s, const ccs_elig_fold_step *st)
{
	s->f->appeal.noa_sent = date_or(st->ev->notice_mailed->mailed_date, st->on);
	s->out->src[CCS_ELIG_SRC_NOTICE] = st->event_id;
}

static void apply_financial(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__FinancialInformation *fi = st->ev->financial;
	ccs_elig_financial *f = &s->f->financial;

	f->present = true;
	f->documents_complete = fi->documents_complete;
	f->adopted_known_condition = fi->adopted_with_known_condition;
	f->medi_cal = (ccs_elig_medi_cal)fi->medi_cal_status;
	f->agi_cents = fi->agi_cents;
	f->expected_oop_cents = fi->expected_oop_cents;
	f->info_received = st->on;
	s->out->src[CCS_ELIG_SRC_FINANCIAL] = st->event_id;
	/* a complete file (or a Medi-Cal verification) is a determination: the annual
	 * redetermination counts from it */
	f->determined_on = fi->documents_complete ||
					   f->medi_cal == CCS_ELIG_MEDI_CAL_FULL_SCOPE_NO_SOC
				   ? st->on
				   : CCS_DATE_INVALID;
}

static void apply_residency(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__ResidencyVerification *r = st->ev->residency;
	ccs_elig_residency *rd = &s->f->residency;

	rd->verified = r->verified;
	/* the enum when stated; the old bool only says "yes" (false cannot be told from absent) */
	if (r->state_residency == CCS__MTP__V1__STATE_RESIDENCY__STATE_RESIDENCY_RESIDENT)
		rd->state_resident = CCS_ELIG_TRI_YES;
	else if (r->state_residency == CCS__MTP__V1__STATE_RESIDENCY__STATE_RESIDENCY_NOT_RESIDENT)
		rd->state_resident = CCS_ELIG_TRI_NO;
	else
		rd->state_resident = r->state_resident ? CCS_ELIG_TRI_YES : CCS_ELIG_TRI_UNKNOWN;
	/* no county named: the verification is of the county that has the case */
	rd->same_county = !*r->county || ccs_elig_fold_same_county(r->county, s->c->county);
	snprintf(s->out->residency_county, sizeof(s->out->residency_county), "%s", r->county);
	rd->info_received = st->on;
	s->out->src[CCS_ELIG_SRC_RESIDENCY] = st->event_id;
}

static void apply_lines(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__ServiceLinesRequested *l = st->ev->service_lines_requested;
	for (size_t i = 0; i < l->n_service_lines; i++) {
		int line = (int)l->service_lines[i];
		if (line >= CCS_ELIG_LINE_MTP_THERAPY && line <= CCS_ELIG_LINE_DIAGNOSTIC)
			s->f->lines_requested |= CCS_ELIG_LINE_BIT(line);
	}
}

/* A new appeal replaces a decided one; the facts describe the latest appeal. */
static void apply_appeal_filed(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__AppealFiled *a = st->ev->appeal_filed;
	ccs_elig_appeal *ap = &s->f->appeal;

	s->appeal_id = a->appeal_id;
	ap->filed = date_or(a->filed_date, st->on);
	ap->postmarked = date_or(a->postmarked_date, CCS_DATE_INVALID);
	ap->decided = CCS_DATE_INVALID;
	ap->result = CCS_ELIG_APPEAL_NONE;
	s->out->src[CCS_ELIG_SRC_APPEAL] = st->event_id;
}

static void apply_appeal_decided(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__AppealDecided *a = st->ev->appeal_decided;
	ccs_elig_appeal *ap = &s->f->appeal;

	/* a result for another (older) appeal does not decide the open one */
	if (s->appeal_id && strcmp(s->appeal_id, a->appeal_id) != 0)
		return;
	s->appeal_id = a->appeal_id;
	ap->decided = date_or(a->decided_date, st->on);
	ap->result = (ccs_elig_appeal_result)a->result;
	/* overturned: the denials in force when it was decided deny no more (services resume) */
	if (ap->result == CCS_ELIG_APPEAL_OVERTURNED)
		ap->overturned |= s->out->result.reasons & ccs_elig_denial_reasons();
	s->out->src[CCS_ELIG_SRC_APPEAL] = st->event_id;
}

static void apply_mtu(struct fold *s, const ccs_elig_fold_step *st)
{
	const Ccs__Mtp__V1__MtuEvaluationResult *m = st->ev->mtu_evaluation;
	ccs_elig_mtu *mt = &s->f->mtu;

	mt->evaluated = true;
	/* the enum when stated; the old bool only says "yes" (false cannot be told from absent) */
	if (m->medical_necessity == CCS__MTP__V1__MEDICAL_NECESSITY__MEDICAL_NECESSITY_NECESSARY)
		mt->medically_necessary = CCS_ELIG_TRI_YES;
	else if (m->medical_necessity == CCS__MTP__V1__MEDICAL_NECESSITY__MEDICAL_NECESSITY_NOT_NECESSARY)
		mt->medically_necessary = CCS_ELIG_TRI_NO;
	else
		mt->medically_necessary = m->medically_necessary ? CCS_ELIG_TRI_YES : CCS_ELIG_TRI_UNKNOWN;
	s->out->src[CCS_ELIG_SRC_MTU] = st->event_id;
	mt->evaluated_date = date_or(m->evaluated_date, st->on);
	mt->plan_change = m->therapy_plan_change;
	mt->plan_change_effective = mt->plan_change ? date_or(m->effective_date, mt->evaluated_date) : CCS_DATE_INVALID;
}

static const struct {
	Ccs__Mtp__V1__EligibilityEvidence__KindCase kind;
	void (*apply)(struct fold *s, const ccs_elig_fold_step *st);
} appliers[] = {
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPLICATION_RECEIVED, apply_application},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MEDICAL_REVIEW, apply_medical},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_FINANCIAL, apply_financial},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_RESIDENCY, apply_residency},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_SERVICE_LINES_REQUESTED, apply_lines},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_FILED, apply_appeal_filed},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_DECIDED, apply_appeal_decided},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MTU_EVALUATION, apply_mtu},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_PHYSICIAN_DETERMINATION, apply_physician},
	{CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_NOTICE_MAILED, apply_notice_mailed},
};

static void apply_step(struct fold *s, const ccs_elig_fold_step *st)
{
	for (size_t i = 0; i < NELEMS(appliers); i++)
		if (appliers[i].kind == st->ev->kind_case)
			appliers[i].apply(s, st);
}

/* received_at as a point in time, for ordering one day's steps; a step without one (dated
 * from its envelope) sorts first, as if received at the day's start. */
static void step_instant(const ccs_elig_fold_step *st, int64_t *s, int32_t *ns)
{
	int64_t t;
	int32_t n;
	*s = INT64_MIN;
	*ns = 0;
	if (ccs_instant_parse(st->ev->received_at, &t, &n) == 0) {
		*s = t;
		*ns = n;
	}
}

static int step_cmp(const void *a, const void *b)
{
	const ccs_elig_fold_step *x = a, *y = b;
	int64_t sx, sy;
	int32_t nx, ny;
	if (x->on != y->on)
		return x->on < y->on ? -1 : 1;
	/* the same day: the earlier instant first */
	step_instant(x, &sx, &nx);
	step_instant(y, &sy, &ny);
	if (sx != sy)
		return sx < sy ? -1 : 1;
	if (nx != ny)
		return nx < ny ? -1 : 1;
	return strcmp(x->event_id, y->event_id);
}

/* The financial determination lapses a year after it was made (22 CCR 41610): from then on
 * the family must send documents again, unless Medi-Cal or an adoption exempts them. */
static void lapse_financial(ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of)
{
	ccs_elig_financial *fi = &f->financial;
	if (fi->determined_on == CCS_DATE_INVALID ||
	    as_of < ccs_date_add_years(fi->determined_on, rs->redetermination_years))
		return;
	fi->documents_complete = false;
	fi->determined_on = CCS_DATE_INVALID;
	fi->info_received = CCS_DATE_INVALID;
}

static bool eligible(ccs_elig_outcome o)
{
	return o == CCS_ELIG_OUTCOME_ELIGIBLE || o == CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE;
}

/* Evaluate one step; carries authorization and the adverse-decision date forward. */
static int eval_step(ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of, bool *authorized,
		     ccs_date *adverse_since, ccs_elig_result *r, char *errbuf, size_t errlen)
{
	int rc;
	lapse_financial(f, rs, as_of);
	f->services_authorized = *authorized;
	f->appeal.decision_date = *adverse_since;
	rc = ccs_elig_evaluate_ex(f, rs, as_of, r, errbuf, errlen);
	if (rc)
		return rc;
	if (eligible(r->outcome))
		*authorized = true;
	if (!r->noa_required) {
		/* a new adverse run needs a new notice: the old mailing date does not count */
		*adverse_since = CCS_DATE_INVALID;
		if (f->appeal.filed == CCS_DATE_INVALID)
			f->appeal.noa_sent = CCS_DATE_INVALID;
	} else if (*adverse_since == CCS_DATE_INVALID) {
		*adverse_since = as_of;
	}
	/* the physician-review wait runs from its first day until someone decides */
	if (!r->awaiting_physician)
		f->review_since = CCS_DATE_INVALID;
	else if (f->review_since == CCS_DATE_INVALID)
		f->review_since = as_of;
	return 0;
}

/* The reviewer the decision rests on: the physician for a determination, else the medical
 * review's reviewer (its reviewer_id, else the evidence's recorded_by). */
static void fold_reviewer(struct fold *s, const ccs_elig_fold_step *steps, size_t n, ccs_date until)
{
	ccs_elig_fold_out *out = s->out;
	const char *want = out->result.determined_by == CCS_ELIG_BY_PHYSICIAN ? out->src[CCS_ELIG_SRC_PHYSICIAN]
										: out->src[CCS_ELIG_SRC_MEDICAL];
	out->reviewer_role = CCS_ELIG_REVIEWER_UNKNOWN;
	out->reviewer_id = "";
	out->rationale_code = "";
	for (size_t i = 0; want && i < n; i++) {
		const Ccs__Mtp__V1__EligibilityEvidence *ev = steps[i].ev;
		if (steps[i].event_id != want || (until != CCS_DATE_INVALID && steps[i].on > until))
			continue;
		if (ev->kind_case == CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_PHYSICIAN_DETERMINATION) {
			out->reviewer_role = CCS_ELIG_REVIEWER_PHYSICIAN_CONSULTANT;
			out->reviewer_id = *ev->physician_determination->reviewer_id ? ev->physician_determination->reviewer_id
										    : ev->recorded_by;
			out->rationale_code = ev->physician_determination->rationale_code;
		} else if (ev->kind_case == CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MEDICAL_REVIEW) {
			out->reviewer_role = (ccs_elig_reviewer)ev->medical_review->reviewer_role;
			out->reviewer_id = *ev->medical_review->reviewer_id ? ev->medical_review->reviewer_id : ev->recorded_by;
		}
	}
}

int ccs_elig_fold(const ccs_elig_fold_case *c, ccs_elig_fold_step *steps, size_t n,
		  const ccs_elig_ruleset *rs, ccs_date until, ccs_date at, ccs_elig_fold_out *out,
		  char *errbuf, size_t errlen)
{
	struct fold s;
	bool authorized = false;
	ccs_date adverse = CCS_DATE_INVALID, as_of;
	int rc;

	memset(out, 0, sizeof(*out));
	ccs_elig_facts_init(&out->facts);
	out->facts.birth_date = c->birth_date;
	out->facts.county_model = c->county_model;
	out->facts.referral_date = c->referral_date;
	out->facts.lines_requested = c->lines;
	s.f = &out->facts;
	s.c = c;
	s.appeal_id = NULL;
	s.out = out;
	out->noa_mailed = CCS_DATE_INVALID;
	if (n)
		qsort(steps, n, sizeof(*steps), step_cmp);

	as_of = c->opened_on;
	rc = eval_step(&out->facts, rs, as_of, &authorized, &adverse, &out->result, errbuf, errlen);
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (until != CCS_DATE_INVALID && steps[i].on > until)
			break;
		if (i > 0 && step_cmp(&steps[i - 1], &steps[i]) == 0)
			continue; /* a redelivered event: already folded */
		apply_step(&s, &steps[i]);
		if (steps[i].on > as_of)
			as_of = steps[i].on;
		out->applied++;
		rc = eval_step(&out->facts, rs, as_of, &authorized, &adverse, &out->result, errbuf, errlen);
		if (rc)
			goto out;
	}
	if (at != CCS_DATE_INVALID) {
		if (at > as_of)
			as_of = at;
		rc = eval_step(&out->facts, rs, as_of, &authorized, &adverse, &out->result, errbuf, errlen);
		if (rc)
			goto out;
	}
	out->as_of = as_of;
	out->noa_mailed = out->facts.appeal.noa_sent;
	fold_reviewer(&s, steps, n, until);
out:
	return rc;
}

/* ---- intake checks ---- */

static int check_date(const char *s, const char *what, char *errbuf, size_t errlen)
{
	ccs_date d;
	if (opt_date(s, &d) != 0) {
		ccs_errf(errbuf, errlen, "%s is not a YYYY-MM-DD date", what);
		return -EINVAL;
	}
	return 0;
}

static int check_medical(const Ccs__Mtp__V1__MedicalReviewFindings *m, char *errbuf, size_t errlen)
{
	ccs_elig_facts scratch;
	if (check_date(m->exam_date, "medical_review.exam_date", errbuf, errlen))
		return -EINVAL;
	if (m->gestational_age_weeks != 0 && (m->gestational_age_weeks < 20 || m->gestational_age_weeks > 44)) {
		ccs_errf(errbuf, errlen, "medical_review.gestational_age_weeks out of range (0 or 20..44)");
		return -EINVAL;
	}
	if (strlen(m->reviewer_id) > 64) {
		ccs_errf(errbuf, errlen, "medical_review.reviewer_id over 64 characters");
		return -EINVAL;
	}
	if ((unsigned)m->reviewer_role > CCS_ELIG_REVIEWER_THERAPY_SUPERVISOR) {
		ccs_errf(errbuf, errlen, "medical_review.reviewer_role unknown");
		return -EINVAL;
	}
	ccs_elig_facts_init(&scratch);
	for (size_t i = 0; i < m->n_confirmed_icd10_codes; i++) {
		int rc = ccs_elig_facts_add_code(&scratch, m->confirmed_icd10_codes[i]);
		if (rc) {
			if (rc == -ENOSPC)
				ccs_errf(errbuf, errlen, "too many confirmed codes (max %d)", CCS_ELIG_MAX_CODES);
			else
				ccs_errf(errbuf, errlen, "confirmed code %zu is not an ICD-10-CM code", i);
			return -EINVAL;
		}
	}
	return 0;
}

int ccs_elig_fold_check_evidence(const Ccs__Mtp__V1__EligibilityEvidence *ev, char *errbuf, size_t errlen)
{
	ccs_uuid u;

	if (!ev->case_id || ccs_uuid_parse(ev->case_id, &u) != 0) {
		ccs_errf(errbuf, errlen, "case_id is not a UUID");
		return -EINVAL;
	}
	if (!ev->evidence_id || !*ev->evidence_id || strlen(ev->evidence_id) > 64) {
		ccs_errf(errbuf, errlen, "evidence_id missing or longer than 64 characters");
		return -EINVAL;
	}
	if (*ev->received_at && !in_engine_range(ccs_elig_fold_instant_date(ev->received_at))) {
		ccs_errf(errbuf, errlen, "received_at is not an RFC 3339 instant");
		return -EINVAL;
	}
	switch (ev->kind_case) {
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPLICATION_RECEIVED:
		if (check_date(ev->application_received->sent_date, "application_received.sent_date", errbuf, errlen) ||
		    check_date(ev->application_received->received_date, "application_received.received_date", errbuf,
			       errlen))
			return -EINVAL;
		return 0;
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MEDICAL_REVIEW:
		return check_medical(ev->medical_review, errbuf, errlen);
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_FINANCIAL: {
		const Ccs__Mtp__V1__FinancialInformation *f = ev->financial;
		if (f->agi_cents < -AMOUNT_MAX_CENTS || f->agi_cents > AMOUNT_MAX_CENTS || f->expected_oop_cents < 0 ||
		    f->expected_oop_cents > AMOUNT_MAX_CENTS || f->share_of_cost_cents < 0) {
			ccs_errf(errbuf, errlen, "financial amount out of range");
			return -EINVAL;
		}
		if ((unsigned)f->medi_cal_status > CCS_ELIG_MEDI_CAL_RESTRICTED) {
			ccs_errf(errbuf, errlen, "financial.medi_cal_status unknown");
			return -EINVAL;
		}
		return 0;
	}
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_RESIDENCY:
		if (strlen(ev->residency->county) >= CCS_ELIG_FOLD_COUNTY_LEN) {
			ccs_errf(errbuf, errlen, "residency.county too long");
			return -EINVAL;
		}
		if ((unsigned)ev->residency->state_residency > 2) {
			ccs_errf(errbuf, errlen, "residency.state_residency unknown");
			return -EINVAL;
		}
		return 0;
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_SERVICE_LINES_REQUESTED:
		for (size_t i = 0; i < ev->service_lines_requested->n_service_lines; i++) {
			int l = ev->service_lines_requested->service_lines[i];
			if (l < CCS_ELIG_LINE_MTP_THERAPY || l > CCS_ELIG_LINE_DIAGNOSTIC) {
				ccs_errf(errbuf, errlen, "service_lines_requested[%zu] unknown", i);
				return -EINVAL;
			}
		}
		return 0;
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_FILED:
		if (!*ev->appeal_filed->appeal_id) {
			ccs_errf(errbuf, errlen, "appeal_filed.appeal_id missing");
			return -EINVAL;
		}
		if (check_date(ev->appeal_filed->filed_date, "appeal_filed.filed_date", errbuf, errlen) ||
		    check_date(ev->appeal_filed->postmarked_date, "appeal_filed.postmarked_date", errbuf, errlen))
			return -EINVAL;
		return 0;
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_DECIDED:
		if (!*ev->appeal_decided->appeal_id ||
		    (ev->appeal_decided->result != CCS__MTP__V1__APPEAL_RESULT__APPEAL_RESULT_UPHELD &&
		     ev->appeal_decided->result != CCS__MTP__V1__APPEAL_RESULT__APPEAL_RESULT_OVERTURNED)) {
			ccs_errf(errbuf, errlen, "appeal_decided needs an appeal_id and a result");
			return -EINVAL;
		}
		return check_date(ev->appeal_decided->decided_date, "appeal_decided.decided_date", errbuf, errlen);
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_PHYSICIAN_DETERMINATION: {
		const Ccs__Mtp__V1__PhysicianDetermination *p = ev->physician_determination;
		ccs_elig_facts scratch;
		if (p->result != CCS__MTP__V1__PHYSICIAN_RESULT__PHYSICIAN_RESULT_ELIGIBLE &&
		    p->result != CCS__MTP__V1__PHYSICIAN_RESULT__PHYSICIAN_RESULT_NOT_ELIGIBLE) {
			ccs_errf(errbuf, errlen, "physician_determination.result must be stated");
			return -EINVAL;
		}
		if ((unsigned)p->condition_group >= NELEMS(group_of_enum) || (unsigned)p->scope > 2) {
			ccs_errf(errbuf, errlen, "physician_determination.condition_group or scope unknown");
			return -EINVAL;
		}
		if (p->result == CCS__MTP__V1__PHYSICIAN_RESULT__PHYSICIAN_RESULT_ELIGIBLE &&
		    p->condition_group == CCS__MTP__V1__CONDITION_GROUP__CONDITION_GROUP_UNSPECIFIED) {
			ccs_errf(errbuf, errlen, "physician_determination: an eligible determination names its condition group");
			return -EINVAL;
		}
		for (size_t i = 0; i < p->n_findings; i++)
			if ((unsigned)p->findings[i] >= NELEMS(finding_of_enum) || p->findings[i] == 0) {
				ccs_errf(errbuf, errlen, "physician_determination.findings[%zu] unknown", i);
				return -EINVAL;
			}
		ccs_elig_facts_init(&scratch);
		for (size_t i = 0; i < p->n_icd10_codes; i++)
			if (ccs_elig_facts_add_code(&scratch, p->icd10_codes[i]) != 0) {
				ccs_errf(errbuf, errlen, "physician_determination.icd10_codes[%zu] invalid or too many", i);
				return -EINVAL;
			}
		if (strlen(p->reviewer_id) > 64 || strlen(p->rationale_code) > 64) {
			ccs_errf(errbuf, errlen, "physician_determination: reviewer_id or rationale_code over 64 characters");
			return -EINVAL;
		}
		return check_date(p->determined_date, "physician_determination.determined_date", errbuf, errlen);
	}
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_NOTICE_MAILED:
		return check_date(ev->notice_mailed->mailed_date, "notice_mailed.mailed_date", errbuf, errlen);
	case CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_MTU_EVALUATION:
		if ((unsigned)ev->mtu_evaluation->medical_necessity > 2) {
			ccs_errf(errbuf, errlen, "mtu_evaluation.medical_necessity unknown");
			return -EINVAL;
		}
		if (check_date(ev->mtu_evaluation->evaluated_date, "mtu_evaluation.evaluated_date", errbuf, errlen) ||
		    check_date(ev->mtu_evaluation->effective_date, "mtu_evaluation.effective_date", errbuf, errlen))
			return -EINVAL;
		return 0;
	default:
		ccs_errf(errbuf, errlen, "evidence carries no kind");
		return -EINVAL;
	}
}

/* ---- signature ---- */

void ccs_elig_fold_signature(const ccs_elig_result *r, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%d:%llx:%d:%d", (int)r->outcome, (unsigned long long)r->reasons,
			 r->noa_required ? 1 : 0, r->services_continue_during_appeal ? 1 : 0);
	for (int l = 0; l < CCS_ELIG_NLINES && n > 0 && (size_t)n < len; l++)
		n += snprintf(buf + n, len - (size_t)n, "|%d:%llx", (int)r->lines[l].outcome,
			      (unsigned long long)r->lines[l].reasons);
}
