/*
 * Fuzzer for the eligibility rules engine: builds case facts from the input bytes (dates near
 * a fixed as_of so that ages land on every rule's boundaries, codes drawn from a pool of
 * qualifying and non-qualifying ICD-10-CM codes plus raw bytes), evaluates them under every
 * compiled-in rule set and aborts if an invariant breaks:
 *   - evaluate returns 0 or -EINVAL, never crashes; on 0:
 *   - every result has at least one reason, and every requested line has one;
 *   - MTP therapy is never denied or held for financial reasons;
 *   - the outcome agrees with the reasons (see check_consistency);
 *   - the evaluation is deterministic, the JSON rendering fits and never names a code,
 *     and the timers are sorted and after as_of.
 */
#include "rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define R(x) CCS_ELIG_RBIT(CCS_ELIG_R_##x)

struct src {
	const uint8_t *p;
	size_t n;
};

static unsigned take(struct src *s, unsigned bits)
{
	unsigned v = 0;
	for (unsigned i = 0; i < (bits + 7) / 8; i++) {
		v = (v << 8) | (s->n ? *s->p : 0);
		if (s->n) {
			s->p++;
			s->n--;
		}
	}
	return bits >= 32 ? v : v & ((1u << bits) - 1);
}

/* Optional date within about 25 years before as_of and 2 years after, or INVALID. */
static ccs_date take_date(struct src *s, ccs_date as_of)
{
	unsigned v = take(s, 16);
	if ((v & 7) == 0)
		return CCS_DATE_INVALID;
	return as_of - 9200 + (ccs_date)(v % 9930);
}

static const char *const code_pool[] = {
	"G80.1", "G80.9", "G80.5", "Q05.4", "Q07.01", "G71.01", "G71.11", "G12.1", "G60.0",
	"M08.00", "M06.9", "S14.109A", "S14.3XXA", "G82.21", "Q74.3", "Q78.0", "S06.2X0A",
	"G93.1", "A80.9", "B91", "G70.01", "G73.3", "Z89.411", "Q72.0", "S98.0", "L90.5",
	"T95.0", "M24.50", "P14.1", "G11.1", "G31.09", "J45.909", "R62.50", "F84.0",
};

/* Mostly valid facts (so that the rules, not the validator, get exercised); one input in
 * sixteen is "wild" and may carry out-of-range values the validator must reject. */
static void build(struct src *s, ccs_date as_of, ccs_elig_facts *f)
{
	bool wild = (take(s, 8) & 15) == 0;
	unsigned flags, odds;

	ccs_elig_facts_init(f);
	/* birth: weighted toward the under-3 and 21-year boundaries */
	switch (take(s, 8) % 4) {
	case 0:
		f->birth_date = as_of - (ccs_date)(take(s, 16) % 1200); /* 0 - ~3.3 years */
		break;
	case 1:
		f->birth_date = ccs_date_add_years(as_of, -21) + (ccs_date)(take(s, 8) % 5) - 2;
		break;
	case 2:
		f->birth_date = ccs_date_add_years(as_of, -3) + (ccs_date)(take(s, 8) % 40) - 5;
		break;
	default:
		f->birth_date = as_of - (ccs_date)(take(s, 16) % 9000);
		break;
	}
	if (wild && take(s, 8) < 16)
		f->birth_date = as_of + 3;
	f->county_model = (ccs_elig_county_model)(take(s, 8) % (wild ? 4 : 3));
	flags = take(s, 16);
	odds = take(s, 16); /* three bits per "usually true" fact */
	f->residency.verified = (odds & 7) != 0;
	f->residency.state_resident = (odds >> 3 & 7) == 0 ? CCS_ELIG_TRI_NO : (odds >> 3 & 7) == 1 ? CCS_ELIG_TRI_UNKNOWN : CCS_ELIG_TRI_YES;
	f->residency.same_county = (odds >> 6 & 7) != 0;
	f->medical.present = (odds >> 9 & 7) != 0;
	f->medical.records_pending = (odds >> 12 & 7) == 0;
	f->services_authorized = flags & 8;
	f->financial.present = (flags & 0x300) != 0;
	f->financial.documents_complete = (flags & 0x600) != 0;
	f->financial.adopted_known_condition = (flags & 0x1c00) == 0x1c00;
	f->mtu.evaluated = flags & 0x2000;
	f->mtu.medically_necessary = (ccs_elig_tri)((flags >> 14) % 3);
	if (flags & 0x10) {
		/* a physician's determination for one basis (or both) */
		int b = (flags >> 5) & 1;
		f->physician[b].present = true;
		f->physician[b].eligible = flags & 0x40;
		f->physician[b].group = (ccs_elig_group)(take(s, 8) % CCS_ELIG_GROUP_COUNT);
		f->physician[b].findings = take(s, 16) & CCS_ELIG_F_INPUT_ALL;
		if (flags & 0x80)
			f->physician[1 - b] = f->physician[b];
	}
	f->mtu.plan_change = (flags & 0x8006) == 0x8006;
	f->residency.info_received = take_date(s, as_of);
	f->referral_date = take_date(s, as_of);
	f->application_sent = take_date(s, as_of);
	f->application_received = take_date(s, as_of);
	f->medical.reviewer = (ccs_elig_reviewer)(take(s, 8) % (wild ? 5 : 4));
	unsigned fb = take(s, 16);
	/* CP findings in one input of four; at-risk findings freely */
	f->medical.findings = ((fb & 0x30) == 0 ? (fb & 0xf) : 0) | ((fb >> 6 & 0x1f) << 8);
	if (wild && take(s, 8) > 200)
		f->medical.findings |= 1u << (take(s, 8) % 32);
	f->medical.exam_date = take_date(s, as_of);
	f->medical.gestational_weeks = (uint8_t)(take(s, 8) % 48);
	if (!wild && (f->medical.gestational_weeks < 20 || f->medical.gestational_weeks > 44))
		f->medical.gestational_weeks = 0;
	unsigned ncodes = take(s, 8) % 5;
	for (unsigned i = 0; i < ncodes; i++) {
		unsigned pick = take(s, 8);
		if (!wild || pick < 200) {
			const char *c = code_pool[pick % (sizeof(code_pool) / sizeof(code_pool[0]))];
			if (ccs_elig_facts_add_code(f, c) != 0)
				abort();
		} else if (f->medical.ncodes < CCS_ELIG_MAX_CODES) {
			/* raw bytes, NUL-terminated or not */
			char *dst = f->medical.codes[f->medical.ncodes++];
			for (unsigned k = 0; k < CCS_ELIG_CODE_LEN; k++)
				dst[k] = (char)take(s, 8);
		}
	}
	f->financial.medi_cal = (ccs_elig_medi_cal)(take(s, 8) % (wild ? 6 : 5));
	/* AGI around the threshold, or anywhere */
	f->financial.agi_cents = take(s, 8) & 1 ? 4000000 + (int64_t)(take(s, 8) % 5) - 2
						: (int64_t)take(s, 32) - 100000;
	if (wild && take(s, 8) > 128)
		f->financial.agi_cents = INT64_MAX - (int64_t)take(s, 8);
	f->financial.expected_oop_cents = (int64_t)take(s, 24) * 10;
	f->financial.info_received = take_date(s, as_of);
	f->financial.determined_on = take_date(s, as_of);
	f->lines_requested = take(s, 8) & (wild ? 0x1f : 0x1e);
	if (!wild && f->lines_requested == 0)
		f->lines_requested = CCS_ELIG_LINE_BIT(CCS_ELIG_LINE_MTP_THERAPY);
	f->appeal.decision_date = take_date(s, as_of);
	f->appeal.noa_sent = take_date(s, as_of);
	f->appeal.filed = take_date(s, as_of);
	f->appeal.decided = take_date(s, as_of);
	f->appeal.result = (ccs_elig_appeal_result)(take(s, 8) % 3);
	if (!wild && (f->appeal.decided == CCS_DATE_INVALID || f->appeal.result == 0)) {
		f->appeal.decided = CCS_DATE_INVALID;
		f->appeal.result = CCS_ELIG_APPEAL_NONE;
	}
	f->mtu.evaluated_date = take_date(s, as_of);
	f->mtu.plan_change_effective = take_date(s, as_of);
	if (!wild && f->mtu.plan_change && f->mtu.plan_change_effective == CCS_DATE_INVALID)
		f->mtu.plan_change_effective = as_of + 10;
}

#define CHECK(c)                                                                            \
	do {                                                                                \
		if (!(c)) {                                                                 \
			fprintf(stderr, "invariant failed: %s (line %d)\n", #c, __LINE__);  \
			abort();                                                            \
		}                                                                           \
	} while (0)

static const ccs_elig_reason_set DENY =
	R(NOT_ELIGIBLE_AGE) | R(NOT_ELIGIBLE_RESIDENCY_STATE) | R(NOT_ELIGIBLE_AT_RISK_AGE) |
	R(NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS) | R(NOT_ELIGIBLE_CONDITION) |
	R(NOT_ELIGIBLE_FINANCIAL) | R(NOT_MEDICALLY_NECESSARY) | R(NOT_ELIGIBLE_APPLICATION_NOT_RETURNED);
/* medical denials: only a physician's determination gives them */
static const ccs_elig_reason_set MED_DENY =
	R(NOT_ELIGIBLE_AT_RISK_AGE) | R(NOT_ELIGIBLE_AT_RISK_INSUFFICIENT_FINDINGS) | R(NOT_ELIGIBLE_CONDITION);
static const ccs_elig_reason_set PEND = R(PENDING_APPLICATION) | R(PENDING_RECORDS) |
					R(PENDING_RESIDENCY) | R(PENDING_FINANCIAL_DOCS);
static const ccs_elig_reason_set GATE_BLOCK =
	R(NOT_ELIGIBLE_AGE) | R(NOT_ELIGIBLE_RESIDENCY_STATE) | R(TRANSFER_COUNTY) |
	R(PENDING_APPLICATION) | R(PENDING_RECORDS) | R(PENDING_RESIDENCY) |
	R(NOT_ELIGIBLE_APPLICATION_NOT_RETURNED);
static const ccs_elig_reason_set ELIG_MED = R(ELIGIBLE_MTP_CP) | R(ELIGIBLE_MTP_NEUROMUSCULAR) |
					    R(ELIGIBLE_MTP_MUSCULOSKELETAL) |
					    R(ELIGIBLE_MTP_OTHER_CNS) | R(ELIGIBLE_CCS_CONDITION) |
					    R(ELIGIBLE_APPEAL_OVERTURNED);

/* The outcome must be explained by the reasons it comes with. */
static void check_consistency(ccs_elig_outcome o, ccs_elig_reason_set rs, bool line)
{
	CHECK(rs != 0);
	switch (o) {
	case CCS_ELIG_OUTCOME_ELIGIBLE:
		CHECK(line || (rs & ELIG_MED));
		CHECK(!(rs & GATE_BLOCK));
		break;
	case CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE:
		CHECK(rs & R(AT_RISK_UNDER_3));
		CHECK(!(rs & GATE_BLOCK));
		break;
	case CCS_ELIG_OUTCOME_NOT_ELIGIBLE:
		CHECK(rs & DENY);
		break;
	case CCS_ELIG_OUTCOME_PENDING:
		/* Waiting for documents, or for the physician on a line that was asked for (the MTP
		 * basis can be met while the CCS treatment line waits for the consultant: found by
		 * the campaign, corpus/regression_pending_line_awaits_physician). */
		CHECK(rs & (PEND | R(REQUIRES_PHYSICIAN_REVIEW)));
		CHECK(!(rs & (R(NOT_ELIGIBLE_AGE) | R(NOT_ELIGIBLE_RESIDENCY_STATE) |
			      R(TRANSFER_COUNTY))));
		break;
	case CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW:
		CHECK(rs & R(REQUIRES_PHYSICIAN_REVIEW));
		CHECK(!(rs & GATE_BLOCK));
		break;
	case CCS_ELIG_OUTCOME_TRANSFER:
		CHECK(rs & R(TRANSFER_COUNTY));
		CHECK(!(rs & (R(NOT_ELIGIBLE_AGE) | R(NOT_ELIGIBLE_RESIDENCY_STATE))));
		break;
	default:
		CHECK(0);
	}
	/* a hard age or state residency gate always decides */
	if (rs & (R(NOT_ELIGIBLE_AGE) | R(NOT_ELIGIBLE_RESIDENCY_STATE)))
		CHECK(o == CCS_ELIG_OUTCOME_NOT_ELIGIBLE);
}

static void check_result(const ccs_elig_facts *f, const ccs_elig_ruleset *rs, ccs_date as_of,
			 const ccs_elig_result *r)
{
	ccs_elig_result again;
	ccs_elig_deadline t[CCS_ELIG_DL_COUNT];
	char json[4096];
	ccs_elig_reason_set union_lines = 0;

	check_consistency(r->outcome, r->reasons, false);
	CHECK(r->nreasons > 0 && r->nreasons < CCS_ELIG_R_COUNT);
	for (unsigned i = 0; i < r->nreasons; i++)
		CHECK(r->reason_list[i].citation && (r->reasons & CCS_ELIG_RBIT(r->reason_list[i].code)));
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		const ccs_elig_line_result *lr = &r->lines[l];
		CHECK(lr->line == (ccs_elig_line)(l + 1));
		CHECK(lr->requested == !!(f->lines_requested & CCS_ELIG_LINE_BIT(l + 1)));
		if (!lr->requested) {
			CHECK(lr->outcome == CCS_ELIG_OUTCOME_NONE && lr->reasons == 0);
			continue;
		}
		check_consistency(lr->outcome, lr->reasons, true);
		union_lines |= lr->reasons;
		if (lr->outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE)
			CHECK(r->noa_required);
		if (lr->line == CCS_ELIG_LINE_MTP_THERAPY) {
			/* never a financial test for MTP therapy */
			CHECK(!(lr->reasons & (R(NOT_ELIGIBLE_FINANCIAL) | R(PENDING_FINANCIAL_DOCS))));
			CHECK(lr->reasons & R(FIN_EXEMPT_MTP_ONLY));
		}
		if (lr->outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE &&
		    (lr->line == CCS_ELIG_LINE_MTP_THERAPY || lr->line == CCS_ELIG_LINE_DIAGNOSTIC))
			CHECK(lr->reasons & (DENY & ~R(NOT_ELIGIBLE_FINANCIAL)));
	}
	CHECK((union_lines & ~r->reasons) == 0);
	if (r->outcome == CCS_ELIG_OUTCOME_TRANSFER)
		CHECK(!r->noa_required);
	if (r->services_continue_during_appeal)
		CHECK(f->services_authorized && f->application_received != CCS_DATE_INVALID);
	CHECK(strcmp(r->ruleset_version, rs->version) == 0);
	if (!f->physician[0].present && !f->physician[1].present)
		CHECK(!(r->reasons & MED_DENY));
	if (r->outcome == CCS_ELIG_OUTCOME_REQUIRES_PHYSICIAN_REVIEW && r->noa_required) {
		/* a notice only for what is denied or changed, never for the wait itself */
		bool line_denied = false;
		for (int l = 0; l < CCS_ELIG_NLINES; l++)
			line_denied |= r->lines[l].requested && r->lines[l].outcome == CCS_ELIG_OUTCOME_NOT_ELIGIBLE;
		CHECK(line_denied || (r->reasons & R(THERAPY_PLAN_CHANGE)));
	}

	CHECK(ccs_elig_evaluate(f, rs, as_of, &again) == 0);
	CHECK(ccs_elig_result_equal(r, &again));
	CHECK(memcmp(r, &again, sizeof(again)) == 0);

	int n = ccs_elig_next_timers(r, t, CCS_ELIG_DL_COUNT);
	CHECK(n >= 0 && n <= r->ndeadlines);
	for (int i = 0; i < n; i++) {
		CHECK(t[i].due > as_of);
		if (i)
			CHECK(t[i - 1].due <= t[i].due);
	}
	int jn = ccs_elig_result_to_json(r, json, sizeof(json));
	CHECK(jn > 0 && (size_t)jn == strlen(json));
	/* codes and ids only: no diagnosis code may appear */
	for (unsigned i = 0; i < f->medical.ncodes && i < CCS_ELIG_MAX_CODES; i++)
		if (memchr(f->medical.codes[i], '\0', CCS_ELIG_CODE_LEN))
			CHECK(strstr(json, f->medical.codes[i]) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {data, size};
	ccs_date as_of = ccs_date_from_ymd(2026, 3, 2) + (ccs_date)(take(&s, 16) % 1500) - 700;
	ccs_elig_facts f;
	ccs_elig_result results[8];
	size_t nrs = ccs_elig_ruleset_count();

	build(&s, as_of, &f);
	if (nrs > 8)
		nrs = 8;
	for (size_t i = 0; i < nrs; i++) {
		const ccs_elig_ruleset *rs = ccs_elig_ruleset_at(i);
		char err[128];
		int rc = ccs_elig_evaluate_ex(&f, rs, as_of, &results[i], err, sizeof(err));
		CHECK(rc == 0 || rc == -EINVAL);
		if (rc == -EINVAL) {
			CHECK(ccs_elig_facts_validate(&f, as_of, NULL, 0) == -EINVAL);
			return 0;
		}
		check_result(&f, rs, as_of, &results[i]);
	}
	/* the what-if diff is symmetric in what it reports */
	if (nrs >= 2) {
		ccs_elig_diff d1, d2;
		char buf[1024];
		ccs_elig_result_diff(&results[0], &results[1], &d1);
		ccs_elig_result_diff(&results[1], &results[0], &d2);
		CHECK(d1.any == d2.any);
		CHECK(d1.overall.added == d2.overall.removed);
		CHECK(d1.any == !ccs_elig_result_equal(&results[0], &results[1]));
		CHECK(ccs_elig_diff_render(&d1, buf, sizeof(buf)) > 0);
	}
	return 0;
}
