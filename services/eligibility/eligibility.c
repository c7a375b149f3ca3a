/*
 * eligibilityd's handlers (see eligibility.h).
 *
 * One input, one effect:
 *   - ReferralDecision accepted -> a `cases` row and one EligibilityDecision (trigger REFERRAL)
 *     that already includes any evidence that arrived before the case;
 *     linked / rejected          -> a `referral_decisions` row, counted, no decision;
 *   - EligibilityEvidence        -> an `evidence` row (and `appeals` for appeal evidence); for
 *     a known case one decision (trigger EVIDENCE or APPEAL), for an unknown case none yet:
 *     the evidence waits in the log and the referral's decision includes it;
 *   - undecodable or invalid     -> poison (dead-letter topic, nothing stored).
 * Every decision re-folds the case from the stored rows (eligibility_fold.h), so facts do not
 * depend on arrival order, and is dated from its input (decided_at / received_at / due date),
 * never the wall clock, so a replay is byte-identical. After each decision the case's next
 * deadlines go into due_work; when one comes due the case is re-evaluated as of that date.
 *
 * Concurrency: a case's referral decision and its evidence travel on two topics, so they can
 * be processed at the same time by two instances. Both handlers take a transaction-scoped
 * advisory lock on the case id first, so whichever commits second sees the other's rows.
 */
#include "eligibility.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/county.h"
#include "ccs/instant.h"
#include "ccs/log.h"
#include "ccs/mtp/v1/eligibility.pb-c.h"
#include "ccs/mtp/v1/referral.pb-c.h"
#include "eligibility_fold.h"
#include "eligibility_whatif.h"
#include "reason_texts.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Decision kinds: decision id = UUIDv5(input id, kind). Never rename (ids would change). */
#define KIND_REFERRAL "eligibility.referral"
#define KIND_EVIDENCE "eligibility.evidence"
#define KIND_TIMER "eligibility.timer"

const ccs_cfg_def ccs_eligibility_cfg[] = {
	{"rules.version", CCS_CFG_STR, "", 0, 0, 0,
	 "eligibility rule set in force, e.g. 2026.2 (empty: the default rule set); checked at start"},
	{"rules.dir", CCS_CFG_STR, "", 0, 0, 0,
	 "directory of *.rules files (empty: the shipped deploy/data/eligibility/rulesets, built in); a bad file "
	 "refuses start naming file:line"},
	{"texts.file", CCS_CFG_STR, "", 0, 0, 0,
	 "reason-text catalog for notices (empty: the shipped deploy/data/eligibility/reason_texts.tsv, built in)"},
	{"data.counties", CCS_CFG_STR, "", 0, 0, 0,
	 "county table for residency comparison (empty: the shipped deploy/data/counties.tsv when present, else "
	 "names compared without case, spacing or ' County')"},
	{NULL, CCS_CFG_STR, NULL, 0, 0, 0, NULL},
};

/*
 * What a due timer does (docs/domain.md). `decision`: the date itself decides something
 * (an age limit, an expired clock, a closed window, a redetermination), so a decision is issued
 * whenever the deadline is still live; otherwise (reminders) only when the re-evaluation as of
 * the due date differs from the day before.
 */
static const struct {
	ccs_elig_deadline_kind kind;
	bool decision;
	Ccs__Mtp__V1__DecisionTrigger trigger;
} timer_policy[] = {
	{CCS_ELIG_DL_NOA_DUE, false, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_APPEAL_WINDOW_CLOSES, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_APPEAL_RESPONSE_DUE, false, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_FAIR_HEARING_WINDOW_CLOSES, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_AT_RISK_REASSESS_DUE, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_AGE_OUT, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_ANNUAL_REDETERMINATION_DUE, true,
	 CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_REDETERMINATION},
	{CCS_ELIG_DL_ANNUAL_REDETERMINATION_NOTICE_DUE, true,
	 CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_REDETERMINATION},
	{CCS_ELIG_DL_APPLICATION_SEND_DUE, false, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_APPLICATION_RETURN_DUE, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_FINANCIAL_DETERMINATION_DUE, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_RESIDENCY_DETERMINATION_DUE, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_THERAPY_PLAN_NOTICE_DUE, false, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_AT_RISK_AGE_LIMIT, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	{CCS_ELIG_DL_HYPOTONIA_AGE_LIMIT, false, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	/* reminders: the worklist row turns overdue (no decision unless something changed) */
	{CCS_ELIG_DL_PHYSICIAN_REVIEW_DUE, false, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
	/* the signed application never came back: closure with a notice */
	{CCS_ELIG_DL_APPLICATION_CLOSURE_DUE, true, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_TIMER},
};

/* The county table (when loaded) for residency comparison; read-only after start. */
static ccs_county_table *g_counties;
static ccs_metrics *g_metrics; /* the daemon's registry, for program histograms */

static bool same_county_by_table(const char *a, const char *b)
{
	/* both known: the table decides; otherwise the fold's name normalisation */
	if (ccs_county_find(g_counties, a) && ccs_county_find(g_counties, b))
		return ccs_county_same(g_counties, a, b) != 0;
	ccs_elig_fold_set_county_compare(NULL);
	bool same = ccs_elig_fold_same_county(a, b);
	ccs_elig_fold_set_county_compare(same_county_by_table);
	return same;
}

/* The canonical spelling of a county, from the table when it knows it. */
static const char *county_canonical(const char *name)
{
	const ccs_county *c = ccs_county_find(g_counties, name);
	return c ? c->name : name;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v, const char *def)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	return ev ? ev->name : def;
}

static int enum_value(const ProtobufCEnumDescriptor *d, const char *name)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(d, name);
	return ev ? ev->value : 0;
}

static const char *trigger_name(Ccs__Mtp__V1__DecisionTrigger t)
{
	/* the table's CHECK uses the names without the prefix */
	const char *n = enum_name(&ccs__mtp__v1__decision_trigger__descriptor, (int)t, "UNSPECIFIED");
	const char *pfx = "DECISION_TRIGGER_";
	return strncmp(n, pfx, strlen(pfx)) == 0 ? n + strlen(pfx) : n;
}

static char *date_str(ccs_arena *a, ccs_date d)
{
	char *s = ccs_arena_alloc(a, 11);
	if (d == CCS_DATE_INVALID) {
		s[0] = '\0';
		return s;
	}
	ccs_date_format(d, s);
	return s;
}

/*
 * The case's advisory lock, queued (ccs_tx_write): it reaches the server in the same round trip
 * as the read that follows it, but as a statement of its own, so that read's snapshot is taken
 * once the lock is held and sees whatever the previous holder committed. (A lock folded into
 * the read would be taken after the read's snapshot, and a referral and its evidence processed
 * at the same time by two instances could each miss the other's rows.)
 */
static int lock_case(ccs_tx *tx, const char *case_id, ccs_svc_err *err)
{
	const char *p[1] = {case_id};
	return ccs_tx_write(tx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", 1, p, err);
}

/* ---------------------------------------------------------------- loading a case */

/* The office worklist kinds, as a bit set in case_row.worklist. */
static const char *const worklist_kinds[] = {"PHYSICIAN_REVIEW", "NOA_DUE", "GOOD_CAUSE_REVIEW"};
#define WL_BIT(i) (1u << (i))

typedef struct case_row {
	char case_id[CCS_UUID_STRLEN];
	char school_district[96];
	ccs_elig_fold_case fc;
	Ccs__Mtp__V1__ReviewingOffice office;
	Ccs__Mtp__V1__CountyModel model;
	/* State read with the case (CASE_STATE) so that a message needs no statement of its own
	 * for it; a case just opened has none of it. */
	bool own_district;  /* cases.school_district is set (a link's district does not apply) */
	unsigned worklist;  /* WL_BIT of each worklist item the case has */
	bool determined;    /* a decision with a determination (for the histogram) exists */
} case_row;

/* requested lines include those a linked referral added (order-independent: an OR) */
#define CASE_COLUMNS                                                                                       \
	"case_id, county, county_model, reviewing_office, birth_date, referral_date, opened_on,"           \
	" requested_lines | COALESCE((SELECT bit_or(l.lines) FROM referral_decisions l"                    \
	" WHERE l.case_id = cases.case_id AND l.outcome = 'linked'), 0),"                                  \
	" COALESCE(NULLIF(school_district, ''), (SELECT l.school_district FROM referral_decisions l"       \
	" WHERE l.case_id = cases.case_id AND l.outcome = 'linked' AND l.school_district <> ''"            \
	" ORDER BY l.received_at DESC LIMIT 1), '')"
#define CASE_NCOLS 9
/* The determinations counted by referral_to_determination_days (observe_first_determination). */
#define DETERMINED_OUTCOMES "'ELIGIBLE', 'AT_RISK_ELIGIBLE', 'NOT_ELIGIBLE', 'TRANSFER'"
/* What a decision also needs about a case (case_row's state): three columns. */
#define STATE_COLUMNS                                                                                      \
	"school_district <> '',"                                                                           \
	" COALESCE((SELECT string_agg(w.kind, ',') FROM worklist w WHERE w.case_id = cases.case_id), '')," \
	" EXISTS (SELECT 1 FROM decisions d WHERE d.case_id = cases.case_id AND d.outcome IN ("            \
	DETERMINED_OUTCOMES "))"
#define CASE_STATE CASE_COLUMNS ", " STATE_COLUMNS
#define CASE_STATE_NCOLS (CASE_NCOLS + 3)
/* case_row.worklist before the state is read: any item may be there */
#define WL_UNKNOWN (~0u)

/* Fill a case_row from row i of a result, CASE_COLUMNS from column `col` on. */
static void case_from_row(const PGresult *r, int i, int col, case_row *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->case_id, sizeof(c->case_id), "%s", PQgetvalue(r, i, col));
	snprintf(c->fc.county, sizeof(c->fc.county), "%s", PQgetvalue(r, i, col + 1));
	c->model = enum_value(&ccs__mtp__v1__county_model__descriptor, PQgetvalue(r, i, col + 2));
	c->office = enum_value(&ccs__mtp__v1__reviewing_office__descriptor, PQgetvalue(r, i, col + 3));
	c->fc.county_model = (ccs_elig_county_model)c->model;
	c->fc.birth_date = ccs_date_parse(PQgetvalue(r, i, col + 4));
	c->fc.referral_date = ccs_date_parse(PQgetvalue(r, i, col + 5));
	c->fc.opened_on = ccs_date_parse(PQgetvalue(r, i, col + 6));
	c->fc.lines = (unsigned)strtoul(PQgetvalue(r, i, col + 7), NULL, 10);
	snprintf(c->school_district, sizeof(c->school_district), "%s", PQgetvalue(r, i, col + 8));
}

/* Fill case_row's state from row i of a result, STATE_COLUMNS from column `col` on. */
static void state_from_row(const PGresult *r, int i, int col, case_row *c)
{
	c->own_district = strcmp(PQgetvalue(r, i, col), "t") == 0;
	c->worklist = 0;
	/* the kinds as "NOA_DUE,PHYSICIAN_REVIEW": no kind is a prefix of another */
	for (size_t k = 0; k < NELEMS(worklist_kinds); k++)
		if (strstr(PQgetvalue(r, i, col + 1), worklist_kinds[k]))
			c->worklist |= WL_BIT(k);
	c->determined = strcmp(PQgetvalue(r, i, col + 2), "t") == 0;
}

/* Fill a case_row from row i of a result, CASE_STATE from column `col` on. */
static void case_state_from_row(const PGresult *r, int i, int col, case_row *c)
{
	case_from_row(r, i, col, c);
	state_from_row(r, i, col + CASE_NCOLS, c);
}

/* Decode one stored evidence body (text-format bytea) into the arena. NULL if corrupt. */
static Ccs__Mtp__V1__EligibilityEvidence *decode_stored(ccs_arena *a, const char *hex)
{
	ProtobufCAllocator alloc = ccs_svc_arena_allocator(a);
	size_t len = 0;
	unsigned char *raw = PQunescapeBytea((const unsigned char *)hex, &len);
	Ccs__Mtp__V1__EligibilityEvidence *ev = NULL;
	if (!raw)
		return NULL;
	ev = ccs__mtp__v1__eligibility_evidence__unpack(&alloc, len, raw);
	PQfreemem(raw);
	return ev;
}

/*
 * Turn evidence rows into fold steps in the arena: columns col, col+1, col+2 of rows
 * [first, first+count) are (event_id, received_on, body); rows whose event_id is NULL (a case
 * without evidence, in a LEFT JOIN) are skipped. *n is the number of steps.
 */
static int steps_from_rows(ccs_arena *a, const PGresult *r, int col, int first, int count, ccs_elig_fold_step **out,
			   size_t *n, ccs_svc_err *err)
{
	ccs_elig_fold_step *st = ccs_arena_alloc(a, (size_t)(count + 1) * sizeof(*st));
	size_t k = 0;
	for (int i = first; i < first + count; i++) {
		if (PQgetisnull(r, i, col))
			continue;
		st[k].event_id = ccs_arena_strdup(a, PQgetvalue(r, i, col));
		st[k].on = ccs_date_parse(PQgetvalue(r, i, col + 1));
		st[k].ev = decode_stored(a, PQgetvalue(r, i, col + 2));
		if (!st[k].ev || st[k].on == CCS_DATE_INVALID)
			return ccs_svc_poison(err, "data", "stored evidence %s cannot be decoded", st[k].event_id);
		k++;
	}
	*out = st;
	*n = k;
	return 0;
}

/*
 * A case and its evidence log in one statement: one row per evidence event (the case's
 * columns repeated; one row with NULL evidence when there is none), none when the case is
 * unknown. The case is a materialized CTE so that its subqueries run once, not per row. With
 * or without the case's state (a timer reads it only when it decides).
 */
#define LOAD_SQL(cols)                                                                                     \
	"WITH c AS MATERIALIZED (SELECT " cols " FROM cases WHERE case_id = $1)"                           \
	" SELECT c.*, e.event_id, e.received_on, e.body FROM c"                                            \
	" LEFT JOIN evidence e ON e.case_id = c.case_id ORDER BY e.received_on, e.event_id"

/* Returns 0 with *found set (and the steps when found), or a CCS_SVC_* error. Without `state`,
 * case_row's state is unknown (load_state reads it). */
static int load_case(ccs_tx *tx, const char *case_id, bool state, case_row *c, int *found,
		     ccs_elig_fold_step **steps, size_t *n, ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {case_id};
	PGresult *r = ccs_tx_query(tx, state ? LOAD_SQL(CASE_STATE) : LOAD_SQL(CASE_COLUMNS), 1, p, &rc, err);
	if (!r)
		return rc;
	*found = PQntuples(r) > 0;
	*n = 0;
	if (*found) {
		if (state)
			case_state_from_row(r, 0, 0, c);
		else {
			case_from_row(r, 0, 0, c);
			c->worklist = WL_UNKNOWN;
		}
		rc = steps_from_rows(ccs_tx_arena(tx), r, state ? CASE_STATE_NCOLS : CASE_NCOLS, 0, PQntuples(r),
				     steps, n, err);
	}
	PQclear(r);
	return rc;
}

/* The state of a case loaded without it. */
static int load_state(ccs_tx *tx, case_row *c, ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {c->case_id};
	PGresult *r = ccs_tx_query(tx, "SELECT " STATE_COLUMNS " FROM cases WHERE case_id = $1", 1, p, &rc, err);
	if (!r)
		return rc;
	if (PQntuples(r) == 1)
		state_from_row(r, 0, 0, c);
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- the decision */

static const char *citation_of(const ccs_elig_result *r, ccs_elig_reason code)
{
	for (unsigned i = 0; i < r->nreasons; i++)
		if (r->reason_list[i].code == code)
			return r->reason_list[i].citation;
	return "";
}

/* Why a reason is listed, without PHI: the service lines it applies to. */
static char *reason_detail(ccs_arena *a, const ccs_elig_result *r, ccs_elig_reason code)
{
	char buf[128];
	size_t pos = 0;
	buf[0] = '\0';
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		if (!r->lines[l].requested || !(r->lines[l].reasons & CCS_ELIG_RBIT(code)))
			continue;
		int n = snprintf(buf + pos, sizeof(buf) - pos, "%s%s", pos ? "," : "lines: ",
				 ccs_elig_line_str(r->lines[l].line));
		if (n < 0 || (size_t)n >= sizeof(buf) - pos)
			break;
		pos += (size_t)n;
	}
	return ccs_arena_strdup(a, pos ? buf : "case");
}

static Ccs__Mtp__V1__Reason *make_reason(ccs_arena *a, const ccs_elig_result *r, ccs_elig_reason code)
{
	Ccs__Mtp__V1__Reason *x = ccs_arena_alloc(a, sizeof(*x));
	ccs__mtp__v1__reason__init(x);
	x->code = (char *)(uintptr_t)ccs_elig_reason_str(code);
	x->regulation = (char *)(uintptr_t)citation_of(r, code);
	x->detail = reason_detail(a, r, code);
	return x;
}

/* The result's reason codes as a text[] parameter. */
static char *reasons_array(ccs_arena *a, const ccs_elig_result *r)
{
	const char **codes = ccs_arena_alloc(a, (r->nreasons + 1) * sizeof(*codes));
	for (unsigned i = 0; i < r->nreasons; i++)
		codes[i] = ccs_elig_reason_str(r->reason_list[i].code);
	return ccs_pg_text_array(a, codes, r->nreasons);
}

static char *lines_text(ccs_arena *a, const ccs_elig_result *r)
{
	char buf[256];
	size_t pos = 0;
	buf[0] = '\0';
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		if (!r->lines[l].requested)
			continue;
		int n = snprintf(buf + pos, sizeof(buf) - pos, "%s%s=%s", pos ? "," : "",
				 ccs_elig_line_str(r->lines[l].line), ccs_elig_outcome_str(r->lines[l].outcome));
		if (n < 0 || (size_t)n >= sizeof(buf) - pos)
			break;
		pos += (size_t)n;
	}
	return ccs_arena_strdup(a, buf);
}

static Ccs__Mtp__V1__ReviewingOffice appeal_office(const case_row *c, ccs_elig_appeal_to to)
{
	switch (to) {
	case CCS_ELIG_APPEAL_TO_COUNTY_DIRECTOR:
		return CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY;
	case CCS_ELIG_APPEAL_TO_REGIONAL_OFFICE:
		/* the state regional office that reviews the county's cases */
		return c->office != CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY
			       ? c->office
			       : CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_UNSPECIFIED;
	default:
		return CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_UNSPECIFIED;
	}
}

/* Rows for one multi-row insert, kept column by column until written (one text[] per column). */
typedef struct rowbuf {
	size_t ncols, n, cap;
	const char **v; /* v[row * ncols + col]; strings that live as long as the batch */
} rowbuf;

static void rowbuf_add(ccs_arena *a, rowbuf *b, const char *const *row)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		const char **v = ccs_arena_alloc(a, cap * b->ncols * sizeof(*v));
		if (b->n)
			memcpy(v, b->v, b->n * b->ncols * sizeof(*v));
		b->v = v;
		b->cap = cap;
	}
	memcpy(&b->v[b->n * b->ncols], row, b->ncols * sizeof(*row));
	b->n++;
}

/* Queue `sql` with one text[] parameter per column of b's rows; nothing when there are none. */
static int rowbuf_write(ccs_tx *tx, const rowbuf *b, const char *sql, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char *p[16], **col;
	if (!b->n)
		return 0;
	col = ccs_arena_alloc(a, b->n * sizeof(*col));
	for (size_t c = 0; c < b->ncols && c < NELEMS(p); c++) {
		for (size_t i = 0; i < b->n; i++)
			col[i] = b->v[i * b->ncols + c];
		p[c] = ccs_pg_text_array(a, col, b->n);
	}
	return ccs_tx_write(tx, sql, (int)b->ncols, p, err);
}

/*
 * What decisions write into `decisions` and `due_work`: one multi-row insert each, after one
 * decision (a referral, a timer) or after a whole evidence batch (its `finish`). Deadlines go in
 * as ccs_tx_schedule() would insert them one by one: same columns, ids in the same order, an
 * existing (kind, subject, due_date) left alone (the first of a batch wins, as in order).
 */
typedef struct decision_rows {
	rowbuf decisions, due;
} decision_rows;
#define DECISION_ROWS_INIT {{15, 0, 0, NULL}, {5, 0, 0, NULL}}

static const char DECISIONS_SQL[] =
	"INSERT INTO decisions(decision_id, case_id, kind, trigger, trigger_event_id, timer_kind, outcome, reasons,"
	" lines, noa_required, noa_due, rule_set_version, as_of, decided_at, signature)"
	" SELECT u.id, u.case_id, u.kind, u.trigger, u.event_id, u.timer_kind, u.outcome, u.reasons::text[], u.lines,"
	" u.noa_required, u.noa_due, u.rule_set_version, u.as_of, u.decided_at, u.signature"
	" FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],"
	" $9::text[], $10::boolean[], $11::date[], $12::text[], $13::date[], $14::text[], $15::text[])"
	" AS u(id, case_id, kind, trigger, event_id, timer_kind, outcome, reasons, lines, noa_required, noa_due,"
	" rule_set_version, as_of, decided_at, signature)";
static const char DUE_SQL[] =
	"INSERT INTO due_work(kind, subject, due_date, payload, source_event_id, correlation_id)"
	" SELECT u.kind, u.subject, u.due, NULL, u.source, u.correlation"
	" FROM unnest($1::text[], $2::text[], $3::date[], $4::text[], $5::text[])"
	" WITH ORDINALITY AS u(kind, subject, due, source, correlation, n)"
	" ORDER BY u.n ON CONFLICT (kind, subject, due_date) DO NOTHING";

static int decision_rows_write(ccs_tx *tx, const decision_rows *w, ccs_svc_err *err)
{
	int rc = rowbuf_write(tx, &w->decisions, DECISIONS_SQL, err);
	return rc ? rc : rowbuf_write(tx, &w->due, DUE_SQL, err);
}

typedef struct decide_in {
	case_row *c; /* kept current: its worklist items and determination after the decision */
	const ccs_elig_result *r;
	const ccs_elig_fold_out *fo; /* evidence in force, reviewer, mailed notice */
	const struct ccs_elig_texts *texts;
	Ccs__Mtp__V1__DecisionTrigger trigger;
	const char *kind;       /* decision kind */
	const char *timer_kind; /* due-work kind, or NULL */
	const char *decided_at; /* from the input */
	int appeal_window_days, fair_hearing_days; /* from the rule set */
	const char *correlation_id; /* the input's, for due_work (as ccs_tx_schedule stores it) */
	decision_rows *rows;        /* the batch's (written by its finish), or NULL: decide writes */
} decide_in;

/* Who decided, on which evidence, under which rule (issue 9: a decision a CCS office signs). */
static Ccs__Mtp__V1__Determination *build_determination(ccs_arena *a, const decide_in *in)
{
	const ccs_elig_result *r = in->r;
	const ccs_elig_fold_out *fo = in->fo;
	Ccs__Mtp__V1__Determination *dt = ccs_arena_alloc(a, sizeof(*dt));

	ccs__mtp__v1__determination__init(dt);
	dt->determined_by = (Ccs__Mtp__V1__DeterminedBy)r->determined_by;
	dt->reviewer_role = (Ccs__Mtp__V1__ReviewerRole)fo->reviewer_role;
	dt->reviewer_id = (char *)(uintptr_t)(fo->reviewer_id ? fo->reviewer_id : "");
	dt->rule = (char *)(uintptr_t)(r->rule ? r->rule : "");
	dt->rule_set_version = (char *)(uintptr_t)r->ruleset_version;
	dt->recommendation = (char *)(uintptr_t)(r->recommendation != CCS_ELIG_R_NONE
							 ? ccs_elig_reason_str(r->recommendation)
							 : "");
	dt->rationale_code = (char *)(uintptr_t)(r->determined_by == CCS_ELIG_BY_PHYSICIAN && fo->rationale_code
							 ? fo->rationale_code
							 : "");
	dt->evidence_event_ids = ccs_arena_alloc(a, CCS_ELIG_NSRC * sizeof(*dt->evidence_event_ids));
	for (int i = 0; i < CCS_ELIG_NSRC; i++)
		if (fo->src[i])
			dt->evidence_event_ids[dt->n_evidence_event_ids++] = (char *)(uintptr_t)fo->src[i];
	return dt;
}

/* The Notice of Action as the family reads it: action, effective date, each reason in plain
 * words (English and Spanish, from the catalog), the regulations, the appeal rights. */
static void build_notice(ccs_arena *a, const decide_in *in, Ccs__Mtp__V1__NoticeOfAction *noa)
{
	const ccs_elig_result *r = in->r;
	const ccs_elig_ruleset *rs = NULL;
	Ccs__Mtp__V1__AppealRights *ar;
	Ccs__Mtp__V1__AppealRouting *route;
	const char *en, *es;
	ccs_date noa_due = ccs_elig_result_deadline(r, CCS_ELIG_DL_NOA_DUE);
	ccs_date mailed = in->fo->noa_mailed;

	(void)rs;
	ccs__mtp__v1__notice_of_action__init(noa);
	noa->required = r->noa_required;
	noa->due_date = date_str(a, noa_due);
	if (!r->noa_required)
		return;
	noa->action = (Ccs__Mtp__V1__NoticeActionKind)r->notice_action;
	noa->effective_date = date_str(a, r->notice_effective);
	noa->mailed_date = date_str(a, mailed);
	noa->reasons = ccs_arena_alloc(a, (r->nreasons + 1) * sizeof(*noa->reasons));
	noa->regulations = ccs_arena_alloc(a, (r->nreasons + 1) * sizeof(*noa->regulations));
	for (unsigned i = 0; i < r->nreasons; i++) {
		const char *code = ccs_elig_reason_str(r->reason_list[i].code);
		const char *cite = r->reason_list[i].citation;
		Ccs__Mtp__V1__NoticeReason *nr = ccs_arena_alloc(a, sizeof(*nr));
		bool dup = false;
		ccs__mtp__v1__notice_reason__init(nr);
		ccs_elig_texts_get(in->texts, code, &en, &es);
		nr->code = (char *)(uintptr_t)code;
		nr->text_en = (char *)(uintptr_t)en;
		nr->text_es = (char *)(uintptr_t)es;
		nr->regulation = (char *)(uintptr_t)cite;
		noa->reasons[noa->n_reasons++] = nr;
		for (size_t j = 0; j < noa->n_regulations; j++)
			dup |= strcmp(noa->regulations[j], cite) == 0;
		if (!dup && *cite)
			noa->regulations[noa->n_regulations++] = (char *)(uintptr_t)cite;
	}
	ar = ccs_arena_alloc(a, sizeof(*ar));
	route = ccs_arena_alloc(a, sizeof(*route));
	ccs__mtp__v1__appeal_rights__init(ar);
	ccs__mtp__v1__appeal_routing__init(route);
	route->routed_to = appeal_office(in->c, r->appeal_to);
	route->county = route->routed_to == CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY
				? (char *)(uintptr_t)in->c->fc.county
				: (char *)"";
	ar->routed_to = route;
	ar->appeal_window_days = (uint32_t)in->appeal_window_days;
	ar->fair_hearing_days = (uint32_t)in->fair_hearing_days;
	/* the window counts from the mailing date; before mailing, from the date it is due */
	if (mailed != CCS_DATE_INVALID)
		ar->appeal_deadline = date_str(a, mailed + in->appeal_window_days);
	else
		ar->appeal_deadline = date_str(a, ccs_elig_result_deadline(r, CCS_ELIG_DL_APPEAL_WINDOW_CLOSES));
	ccs_elig_texts_get(in->texts, CCS_ELIG_TEXTS_APPEAL_RIGHTS, &en, &es);
	ar->text_en = (char *)(uintptr_t)en;
	ar->text_es = (char *)(uintptr_t)es;
	noa->appeal_rights = ar;
}

/* Build the EligibilityDecision for a result: every reason with its citation, every line. */
static void build_decision(ccs_arena *a, const decide_in *in, const char *id, const char *input_id,
			   Ccs__Mtp__V1__EligibilityDecision *d)
{
	const ccs_elig_result *r = in->r;
	Ccs__Mtp__V1__NoticeOfAction *noa = ccs_arena_alloc(a, sizeof(*noa));
	Ccs__Mtp__V1__AppealRouting *ar = ccs_arena_alloc(a, sizeof(*ar));

	ccs__mtp__v1__eligibility_decision__init(d);
	d->decision_id = ccs_arena_strdup(a, id);
	d->case_id = (char *)(uintptr_t)in->c->case_id;
	d->county = (char *)(uintptr_t)in->c->fc.county;
	d->reviewing_office = in->c->office;
	d->decided_at = (char *)(uintptr_t)in->decided_at;
	d->as_of_date = date_str(a, r->as_of);
	d->rule_set_version = (char *)(uintptr_t)r->ruleset_version;
	d->trigger = in->trigger;
	d->outcome = (Ccs__Mtp__V1__EligibilityOutcome)r->outcome;
	d->county_model = in->c->model;
	d->trigger_event_id = (char *)(uintptr_t)input_id;

	d->n_reasons = r->nreasons;
	d->reasons = ccs_arena_alloc(a, (r->nreasons + 1) * sizeof(*d->reasons));
	for (unsigned i = 0; i < r->nreasons; i++)
		d->reasons[i] = make_reason(a, r, r->reason_list[i].code);

	d->service_lines = ccs_arena_alloc(a, CCS_ELIG_NLINES * sizeof(*d->service_lines));
	for (int l = 0; l < CCS_ELIG_NLINES; l++) {
		const ccs_elig_line_result *lr = &r->lines[l];
		if (!lr->requested)
			continue;
		Ccs__Mtp__V1__ServiceLineDecision *sl = ccs_arena_alloc(a, sizeof(*sl));
		ccs__mtp__v1__service_line_decision__init(sl);
		sl->service_line = (Ccs__Mtp__V1__ServiceLine)lr->line;
		sl->outcome = (Ccs__Mtp__V1__EligibilityOutcome)lr->outcome;
		sl->reasons = ccs_arena_alloc(a, CCS_ELIG_R_COUNT * sizeof(*sl->reasons));
		for (int code = 1; code < CCS_ELIG_R_COUNT; code++)
			if (lr->reasons & CCS_ELIG_RBIT(code))
				sl->reasons[sl->n_reasons++] = make_reason(a, r, (ccs_elig_reason)code);
		d->service_lines[d->n_service_lines++] = sl;
	}

	build_notice(a, in, noa);
	d->notice = noa;
	d->determination = build_determination(a, in);
	d->transfer_county = (char *)"";
	if (r->outcome == CCS_ELIG_OUTCOME_TRANSFER && in->fo->residency_county[0])
		d->transfer_county = (char *)(uintptr_t)county_canonical(in->fo->residency_county);
	d->application_send_due = date_str(a, r->application_send_due);
	d->application_return_due = date_str(a, r->application_return_due);
	d->application_date = date_str(a, r->effective_application_date);
	d->appeal_status = (Ccs__Mtp__V1__AppealStatus)r->appeal_status;
	d->school_district = (char *)(uintptr_t)in->c->school_district;

	d->deadlines = ccs_arena_alloc(a, (r->ndeadlines + 1) * sizeof(*d->deadlines));
	for (unsigned i = 0; i < r->ndeadlines; i++) {
		Ccs__Mtp__V1__Deadline *dl = ccs_arena_alloc(a, sizeof(*dl));
		ccs__mtp__v1__deadline__init(dl);
		dl->kind = (char *)(uintptr_t)ccs_elig_deadline_str(r->deadlines[i].kind);
		dl->due_date = date_str(a, r->deadlines[i].due);
		d->deadlines[d->n_deadlines++] = dl;
	}

	ccs__mtp__v1__appeal_routing__init(ar);
	ar->routed_to = appeal_office(in->c, r->appeal_to);
	ar->county = ar->routed_to == CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_COUNTY
			     ? (char *)(uintptr_t)in->c->fc.county
			     : (char *)"";
	d->appeal = ar;
	d->services_continue_during_appeal = r->services_continue_during_appeal;
	d->at_risk_reassess_due = date_str(a, ccs_elig_result_deadline(r, CCS_ELIG_DL_AT_RISK_REASSESS_DUE));
	d->age_out_date = date_str(a, ccs_elig_result_deadline(r, CCS_ELIG_DL_AGE_OUT));
}

/* An engine call failed with rc (it logged the database error): say what, keep the class. */
static int failed(ccs_svc_err *err, int rc, const char *what)
{
	snprintf(err->cls, sizeof(err->cls), "data");
	snprintf(err->msg, sizeof(err->msg), "%s", what);
	return rc;
}

/* ---------------------------------------------------------------- worklists */

/*
 * Keep the case's worklist items current: present with their dates while open, gone
 * otherwise. One upsert for the open items and, only when an item the case has closes, one
 * delete; nothing at all when no item is open and the case has none (case_row.worklist).
 */
static int worklists_update(ccs_tx *tx, const decide_in *in, const char *id, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const ccs_elig_result *r = in->r;
	const ccs_elig_facts *f = &in->fo->facts;
	ccs_date review_due = ccs_elig_result_deadline(r, CCS_ELIG_DL_PHYSICIAN_REVIEW_DUE);
	ccs_date noa_due = ccs_elig_result_deadline(r, CCS_ELIG_DL_NOA_DUE);
	/* per worklist_kinds[]: open?, since (the day it opened), due date */
	const struct {
		bool open;
		ccs_date since, due;
	} item[NELEMS(worklist_kinds)] = {
		{r->awaiting_physician,
		 r->awaiting_physician && f->review_since != CCS_DATE_INVALID ? f->review_since : r->as_of, review_due},
		{noa_due != CCS_DATE_INVALID,
		 f->appeal.decision_date != CCS_DATE_INVALID ? f->appeal.decision_date : r->as_of, noa_due},
		{r->appeal_status == CCS_ELIG_APPEAL_STATUS_LATE,
		 f->appeal.filed != CCS_DATE_INVALID ? f->appeal.filed : r->as_of, CCS_DATE_INVALID},
	};
	const char *kinds[NELEMS(worklist_kinds)], *since[NELEMS(worklist_kinds)], *due[NELEMS(worklist_kinds)];
	const char *closed[NELEMS(worklist_kinds)];
	size_t nopen = 0, nclosed = 0;
	int rc = 0;

	for (size_t k = 0; k < NELEMS(worklist_kinds); k++) {
		if (item[k].open) {
			kinds[nopen] = worklist_kinds[k];
			since[nopen] = date_str(a, item[k].since);
			due[nopen++] = item[k].due != CCS_DATE_INVALID ? date_str(a, item[k].due) : NULL;
		} else if (in->c->worklist & WL_BIT(k)) {
			closed[nclosed++] = worklist_kinds[k];
		}
	}
	if (nclosed) {
		const char *p[2] = {in->c->case_id, ccs_pg_text_array(a, closed, nclosed)};
		rc = ccs_tx_write(tx, "DELETE FROM worklist WHERE case_id = $1 AND kind = ANY($2::text[])", 2, p, err);
	}
	if (rc == 0 && nopen) {
		const ProtobufCEnumValue *office = protobuf_c_enum_descriptor_get_value(
			&ccs__mtp__v1__reviewing_office__descriptor, (int)in->c->office);
		const char *p[7] = {in->c->case_id,
				    office ? office->name : "REVIEWING_OFFICE_UNSPECIFIED",
				    in->c->fc.county,
				    id,
				    ccs_pg_text_array(a, kinds, nopen),
				    ccs_pg_text_array(a, since, nopen),
				    ccs_pg_text_array(a, due, nopen)};
		/* the item keeps the day it opened and its state; the due date follows the decision */
		rc = ccs_tx_write(tx,
				  "INSERT INTO worklist(case_id, kind, reviewing_office, county, since, due_date, decision_id)"
				  " SELECT $1::uuid, u.kind, $2, $3, u.since, u.due, $4::uuid"
				  " FROM unnest($5::text[], $6::date[], $7::date[]) AS u(kind, since, due)"
				  " ON CONFLICT (case_id, kind) DO UPDATE SET"
				  " due_date = EXCLUDED.due_date, decision_id = EXCLUDED.decision_id,"
				  " state = CASE WHEN worklist.due_date IS DISTINCT FROM EXCLUDED.due_date THEN 'open'"
				  " ELSE worklist.state END",
				  7, p, err);
	}
	in->c->worklist = 0;
	for (size_t k = 0; k < NELEMS(worklist_kinds); k++)
		if (item[k].open)
			in->c->worklist |= WL_BIT(k);
	return rc;
}

/* A reminder fired while the item is still open: it is overdue. */
static int worklist_overdue(ccs_tx *tx, const case_row *c, const char *kind, ccs_svc_err *err)
{
	const char *p[2] = {c->case_id, kind};
	for (size_t k = 0; k < NELEMS(worklist_kinds); k++)
		if (!strcmp(worklist_kinds[k], kind) && !(c->worklist & WL_BIT(k)))
			return 0; /* no such item: nothing to mark */
	return ccs_tx_write(tx, "UPDATE worklist SET state = 'overdue' WHERE case_id = $1 AND kind = $2", 2, p, err);
}

/*
 * The worklist gauges by office, kind and state (count, and the age in days of the oldest
 * item), read by the engine's stats timer between batches (ccs_svc_def.gauges), never on the
 * hot path. Every known series is zeroed first so an emptied queue reads 0, not its last count.
 */
int ccs_eligibility_gauges(ccs_svc *svc, void *ctx, PGconn *pg)
{
	static const char *const kinds[] = {"PHYSICIAN_REVIEW", "NOA_DUE", "GOOD_CAUSE_REVIEW"};
	static const char *const states[] = {"open", "overdue"};
	ccs_metrics *mx = ccs_svc_metrics(svc);
	char labels[160], today[11];
	(void)ctx;
	ccs_date_format(ccs_svc_today(svc), today);
	const char *p[1] = {today};
	PGresult *r = PQexecParams(pg,
				   "SELECT reviewing_office, kind, state, count(*), greatest(max($1::date - since), 0)"
				   " FROM worklist GROUP BY 1, 2, 3",
				   1, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	for (int o = 0; o <= CCS__MTP__V1__REVIEWING_OFFICE__REVIEWING_OFFICE_SOUTHERN_CALIFORNIA; o++)
		for (size_t k = 0; k < NELEMS(kinds); k++)
			for (size_t st = 0; st < NELEMS(states); st++) {
				snprintf(labels, sizeof(labels), "office=\"%s\",kind=\"%s\",state=\"%s\"",
					 enum_name(&ccs__mtp__v1__reviewing_office__descriptor, o, "?"), kinds[k],
					 states[st]);
				ccs_metric_set(ccs_metrics_series(mx, "worklist_items", labels), 0);
				ccs_metric_set(ccs_metrics_series(mx, "worklist_oldest_age_days", labels), 0);
			}
	for (int i = 0; i < PQntuples(r); i++) {
		snprintf(labels, sizeof(labels), "office=\"%.40s\",kind=\"%.20s\",state=\"%.10s\"", PQgetvalue(r, i, 0),
			 PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
		ccs_metric_set(ccs_metrics_series(mx, "worklist_items", labels), strtod(PQgetvalue(r, i, 3), NULL));
		ccs_metric_set(ccs_metrics_series(mx, "worklist_oldest_age_days", labels),
			       strtod(PQgetvalue(r, i, 4), NULL));
	}
	PQclear(r);
	return 0;
}

/*
 * Program histogram: days from the referral to the case's first determination (eligible,
 * at-risk eligible, not eligible or transferred; pending and physician review are not one).
 * Counts only, no case data; a batch that rolls back may count again (metrics are not
 * transactional).
 */
static void observe_first_determination(const decide_in *in, const char *as_of)
{
	static ccs_metric *hist;
	ccs_elig_outcome o = in->r->outcome;
	/* the outcomes of DETERMINED_OUTCOMES; case_row.determined: one was issued before */
	if (o != CCS_ELIG_OUTCOME_ELIGIBLE && o != CCS_ELIG_OUTCOME_AT_RISK_ELIGIBLE &&
	    o != CCS_ELIG_OUTCOME_NOT_ELIGIBLE && o != CCS_ELIG_OUTCOME_TRANSFER)
		return;
	ccs_date on = ccs_date_parse(as_of);
	if (!in->c->determined && on != CCS_DATE_INVALID && in->c->fc.referral_date != CCS_DATE_INVALID) {
		if (!hist)
			hist = ccs_metrics_series(g_metrics, "referral_to_determination_days", "");
		ccs_metric_observe(hist, (double)(on - in->c->fc.referral_date));
	}
	in->c->determined = true;
}

/*
 * Emit the decision, record it, and schedule the case's next deadlines. Its writes are queued
 * (ccs_tx_write): none of their results is read, and they reach the server with the next read
 * or the commit; in an evidence batch its decision and deadline rows wait for the batch's end.
 */
static int decide(ccs_tx *tx, const decide_in *in, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const ccs_elig_result *r = in->r;
	Ccs__Mtp__V1__EligibilityDecision d;
	ccs_elig_deadline next[CCS_ELIG_DL_COUNT];
	char id[CCS_UUID_STRLEN], sig[256];
	decision_rows own = DECISION_ROWS_INIT, *rows = in->rows ? in->rows : &own;
	int rc, n;

	ccs_tx_decision_id(tx, in->kind, id);
	build_decision(a, in, id, ccs_tx_input_id(tx), &d);
	/* Regional offices subscribe to their counties: they route on these headers undecoded. */
	const ProtobufCEnumValue *office = protobuf_c_enum_descriptor_get_value(
		&ccs__mtp__v1__reviewing_office__descriptor, (int)d.reviewing_office);
	const char *tags[] = {"ccs_county", d.county, "ccs_reviewing_office",
			      office ? office->name : "REVIEWING_OFFICE_UNSPECIFIED", NULL};
	rc = ccs_tx_emit_tagged(tx, CCS_ELIGIBILITY_TOPIC_OUT, in->c->case_id, in->kind, &d.base, tags);
	if (rc)
		return failed(err, rc, "outbox insert failed");

	ccs_elig_fold_signature(r, sig, sizeof(sig));
	const char *noa_due = d.notice->due_date;
	/* the rows may outlive this call (a batch's): its strings are the arena's or the batch's */
	const char *case_id = ccs_arena_strdup(a, in->c->case_id);
	const char *row[15] = {ccs_arena_strdup(a, id), case_id, in->kind, trigger_name(in->trigger),
			       ccs_tx_input_id(tx), in->timer_kind, ccs_elig_outcome_str(r->outcome),
			       reasons_array(a, r), lines_text(a, r), r->noa_required ? "true" : "false",
			       *noa_due ? noa_due : NULL, r->ruleset_version, d.as_of_date, in->decided_at,
			       ccs_arena_strdup(a, sig)};
	observe_first_determination(in, d.as_of_date);
	rowbuf_add(a, &rows->decisions, row);
	if ((rc = worklists_update(tx, in, id, err)) != 0)
		return rc;
	n = ccs_elig_next_timers(r, next, NELEMS(next));
	for (int i = 0; i < n; i++) {
		const char *due[5] = {ccs_elig_deadline_str(next[i].kind), case_id, date_str(a, next[i].due),
				      ccs_tx_input_id(tx), in->correlation_id};
		rowbuf_add(a, &rows->due, due);
	}
	if (!in->rows && (rc = decision_rows_write(tx, rows, err)) != 0)
		return rc;
	ccs_tx_count_decision(tx, "eligibility", ccs_elig_outcome_str(r->outcome));
	CCS_LOG_DBG("eligibility decided", "decision_id", CCS_LOG_S(id), "case_id", CCS_LOG_S(in->c->case_id),
		    "trigger", CCS_LOG_S(trigger_name(in->trigger)), "outcome", CCS_LOG_S(ccs_elig_outcome_str(r->outcome)),
		    "reasons", CCS_LOG_I(r->nreasons), "timers", CCS_LOG_I(n));
	return 0;
}

/* Fold the whole case as it stands (its evidence log: `steps`) and decide. */
static int decide_now(ccs_tx *tx, const ccs_eligibility *e, const ccs_msg *m, case_row *c,
		      ccs_elig_fold_step *steps, size_t n, Ccs__Mtp__V1__DecisionTrigger trigger,
		      const char *kind, const char *decided_at, decision_rows *rows, ccs_svc_err *err)
{
	char eb[160];
	ccs_elig_fold_out *fo = ccs_arena_alloc(ccs_tx_arena(tx), sizeof(*fo));
	if (ccs_elig_fold(&c->fc, steps, n, e->rs, CCS_DATE_INVALID, CCS_DATE_INVALID, fo, eb, sizeof(eb)) != 0)
		return ccs_svc_poison(err, "validation", "case cannot be evaluated: %s", eb);
	decide_in in = {c, &fo->result, fo, e->texts, trigger, kind, NULL, decided_at,
			e->rs->appeal_window_days, e->rs->fair_hearing_days, m->correlation_id, rows};
	return decide(tx, &in, err);
}

/* ---------------------------------------------------------------- referral decisions */

static void count_referral(ccs_svc *svc, const char *outcome, const char *effect)
{
	char labels[96];
	snprintf(labels, sizeof(labels), "outcome=\"%s\",effect=\"%s\"", outcome, effect);
	ccs_metrics_inc(ccs_svc_metrics(svc), "referral_decisions_total", labels, 1);
}

/* The date an input is judged on: its own instant, else the envelope's, else Kafka's. */
static ccs_date input_date(const char *instant, const ccs_msg *m)
{
	ccs_date d = ccs_elig_fold_instant_date(instant);
	if (d == CCS_DATE_INVALID && m->ce_time)
		d = ccs_elig_fold_instant_date(m->ce_time);
	if (d == CCS_DATE_INVALID && m->timestamp_ms > 0)
		d = ccs_instant_ca_date(m->timestamp_ms / 1000);
	return d;
}

/* ---------------------------------------------------------------- evidence */

static const char *evidence_kind(const Ccs__Mtp__V1__EligibilityEvidence *ev)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&ccs__mtp__v1__eligibility_evidence__descriptor, ev->kind_case);
	return f ? f->name : "none";
}

static void count_evidence(ccs_svc *svc, const char *kind, const char *state)
{
	char labels[128];
	snprintf(labels, sizeof(labels), "kind=\"%s\",state=\"%s\"", kind, state);
	ccs_metrics_inc(ccs_svc_metrics(svc), "evidence_total", labels, 1);
}

/*
 * One statement for an evidence event: the case (CASE_STATE), the event stored in the log
 * (case_known: whether the case is there; a resubmitted evidence id is left alone) and, when
 * the case is there, its whole log including this event. One row per evidence event, or one
 * row of NULLs for an unknown case; the last column counts the rows inserted (0: resubmitted).
 * The inserted row joins by its RETURNING: the statement's snapshot predates it.
 */
static const char EVIDENCE_SQL[] =
	"WITH c AS MATERIALIZED (SELECT " CASE_STATE " FROM cases WHERE case_id = $3),"
	" ins AS (INSERT INTO evidence(event_id, evidence_id, case_id, kind, received_on, received_at, body, case_known)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, EXISTS (SELECT 1 FROM c)) ON CONFLICT (evidence_id) DO NOTHING"
	" RETURNING event_id, received_on, body)"
	" SELECT c.*, e.event_id, e.received_on, e.body, (SELECT count(*) FROM ins)"
	" FROM (SELECT 1) AS one LEFT JOIN c ON true"
	" LEFT JOIN LATERAL (SELECT event_id, received_on, body FROM evidence WHERE case_id = c.case_id"
	" UNION ALL SELECT * FROM ins) e ON c.case_id IS NOT NULL"
	" ORDER BY e.received_on, e.event_id";

/* Keep the appeals table current (its dates mirror the rule set's deadlines). */
static int record_appeal(ccs_tx *tx, const ccs_eligibility *e, const ccs_msg *m,
			 const Ccs__Mtp__V1__EligibilityEvidence *ev, ccs_date on, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc = 0;

	if (ev->kind_case == CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_FILED) {
		const Ccs__Mtp__V1__AppealFiled *f = ev->appeal_filed;
		ccs_date filed = *f->filed_date ? ccs_date_parse(f->filed_date) : on;
		const char *p[7] = {f->appeal_id, ev->case_id, *f->appealed_decision_id ? f->appealed_decision_id : NULL,
				    date_str(a, filed), *f->postmarked_date ? f->postmarked_date : NULL,
				    date_str(a, filed + e->rs->appeal_response_days), m->ce_id};
		rc = ccs_tx_write(tx,
				  "INSERT INTO appeals(appeal_id, case_id, appealed_decision_id, filed_date, postmarked_date,"
				  " response_due, filed_event_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
				  " ON CONFLICT (appeal_id) DO UPDATE SET appealed_decision_id = EXCLUDED.appealed_decision_id,"
				  " filed_date = EXCLUDED.filed_date, postmarked_date = EXCLUDED.postmarked_date,"
				  " response_due = EXCLUDED.response_due, filed_event_id = EXCLUDED.filed_event_id"
				  " WHERE appeals.case_id = EXCLUDED.case_id",
				  7, p, err);
	} else if (ev->kind_case == CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_DECIDED) {
		const Ccs__Mtp__V1__AppealDecided *dd = ev->appeal_decided;
		ccs_date decided = *dd->decided_date ? ccs_date_parse(dd->decided_date) : on;
		bool upheld = dd->result == CCS__MTP__V1__APPEAL_RESULT__APPEAL_RESULT_UPHELD;
		const char *p[6] = {dd->appeal_id, ev->case_id, date_str(a, decided), upheld ? "UPHELD" : "OVERTURNED",
				    upheld ? date_str(a, decided + e->rs->fair_hearing_days) : NULL, m->ce_id};
		rc = ccs_tx_write(tx,
				  "INSERT INTO appeals(appeal_id, case_id, decided_date, result, fair_hearing_closes,"
				  " decided_event_id) VALUES ($1, $2, $3, $4, $5, $6)"
				  " ON CONFLICT (appeal_id) DO UPDATE SET decided_date = EXCLUDED.decided_date,"
				  " result = EXCLUDED.result, fair_hearing_closes = EXCLUDED.fair_hearing_closes,"
				  " decided_event_id = EXCLUDED.decided_event_id WHERE appeals.case_id = EXCLUDED.case_id",
				  6, p, err);
	}
	return rc;
}

/* ---------------------------------------------------------------- evidence batches */

/*
 * Two-phase evidence (ccs_svc_input.prepare): the locks of every case of the batch, the insert
 * of every event and the read of every case with its state and log cost one statement each per
 * batch instead of per message; the handlers then work on what prepare kept, message by
 * message as before. What a message sees is what it saw when it read for itself: the log as
 * stored before the batch plus the batch's events up to its own (the later ones are left out),
 * and the case's worklist items and determination as the batch's earlier decisions left them
 * (decide() keeps case_row current). In a careful run there is no batch state and each message
 * reads for itself (EVIDENCE_SQL).
 */

/* One case of the batch: its state and its log, in fold order. */
typedef struct ev_case {
	char case_id[CCS_UUID_STRLEN]; /* canonical spelling, as PostgreSQL prints a uuid */
	int found;                     /* the case is open (else: its events are held) */
	case_row c;
	ccs_elig_fold_step *steps;     /* stored before the batch, and the batch's new events */
	int *msg;                      /* per step: index of the batch message that brought it, or -1 */
	size_t n;
} ev_case;

typedef struct ev_batch {
	ev_case *cases;
	size_t ncases;
	decision_rows rows; /* the batch's decisions and deadlines, written by its finish */
} ev_batch;

/* The batch's events inserted (first occurrence of an evidence id wins, as message by message)
 * and each case of the batch (b.case_id) with CASE_STATE (NULLs when unknown) and its log: the
 * stored rows, and the inserted ones through RETURNING (the snapshot predates them). */
static const char EVIDENCE_BATCH_SQL[] =
	"WITH ins AS (INSERT INTO evidence(event_id, evidence_id, case_id, kind, received_on, received_at, body,"
	" case_known) SELECT u.event_id, u.evidence_id, u.case_id, u.kind, u.received_on, u.received_at, u.body,"
	" EXISTS (SELECT 1 FROM cases k WHERE k.case_id = u.case_id)"
	" FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::date[], $6::text[], $7::bytea[])"
	" WITH ORDINALITY AS u(event_id, evidence_id, case_id, kind, received_on, received_at, body, n)"
	" ORDER BY u.n ON CONFLICT (evidence_id) DO NOTHING RETURNING event_id, case_id, received_on, body),"
	" c AS MATERIALIZED (SELECT " CASE_STATE " FROM cases WHERE case_id = ANY($8::uuid[]))"
	" SELECT b.case_id, c.*, e.event_id, e.received_on, e.body FROM unnest($8::uuid[]) AS b(case_id)"
	" LEFT JOIN c ON c.case_id = b.case_id"
	" LEFT JOIN LATERAL (SELECT event_id, received_on, body FROM evidence WHERE case_id = c.case_id"
	" UNION ALL SELECT event_id, received_on, body FROM ins WHERE ins.case_id = b.case_id) e ON true"
	" ORDER BY b.case_id, e.received_on, e.event_id";

/* The canonical spelling of a case id (lower case), or "" when it is not a UUID. */
static void case_key(const char *case_id, char out[CCS_UUID_STRLEN])
{
	ccs_uuid u;
	if (ccs_uuid_parse(case_id, &u) == 0)
		ccs_uuid_format(&u, out);
	else
		out[0] = '\0';
}

/* The evidence an event records, checked: its received date, or CCS_DATE_INVALID with err set. */
static ccs_date evidence_date(const Ccs__Mtp__V1__EligibilityEvidence *ev, const ccs_msg *m, ccs_svc_err *err)
{
	char eb[160];
	if (ccs_elig_fold_check_evidence(ev, eb, sizeof(eb)) != 0) {
		(void)ccs_svc_poison(err, "validation", "%s", eb);
		return CCS_DATE_INVALID;
	}
	ccs_date on = input_date(ev->received_at, m);
	if (on == CCS_DATE_INVALID)
		(void)ccs_svc_poison(err, "validation", "evidence has no received date");
	return on;
}

/* A bytea parameter in text form, for a bytea[] literal. */
static char *bytea_hex(ccs_arena *a, const uint8_t *v, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *out = ccs_arena_alloc(a, 2 * len + 3), *p = out;
	*p++ = '\\';
	*p++ = 'x';
	for (size_t i = 0; i < len; i++) {
		*p++ = hex[v[i] >> 4];
		*p++ = hex[v[i] & 15];
	}
	*p = '\0';
	return out;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Fill the batch's cases from EVIDENCE_BATCH_SQL's rows (grouped by case, each log in order). */
static int ev_batch_read(ccs_arena *a, const PGresult *r, const ccs_svc_batch *b, ev_batch *eb, ccs_svc_err *err)
{
	int rows = PQntuples(r), rc = 0;
	eb->cases = ccs_arena_alloc(a, (size_t)(rows + 1) * sizeof(*eb->cases));
	eb->ncases = 0;
	for (int i = 0, j; i < rows && rc == 0; i = j) {
		ev_case *ec = &eb->cases[eb->ncases++];
		memset(ec, 0, sizeof(*ec));
		snprintf(ec->case_id, sizeof(ec->case_id), "%s", PQgetvalue(r, i, 0));
		for (j = i; j < rows && !strcmp(PQgetvalue(r, j, 0), ec->case_id); j++)
			;
		ec->found = !PQgetisnull(r, i, 1);
		if (ec->found)
			case_state_from_row(r, i, 1, &ec->c);
		rc = steps_from_rows(a, r, 1 + CASE_STATE_NCOLS, i, j - i, &ec->steps, &ec->n, err);
		ec->msg = ccs_arena_alloc(a, (ec->n + 1) * sizeof(*ec->msg));
		for (size_t s = 0; s < ec->n; s++) {
			ec->msg[s] = -1;
			for (size_t k = 0; k < b->n && ec->msg[s] < 0; k++)
				if (!strcmp(b->msgs[k]->ce_id, ec->steps[s].event_id))
					ec->msg[s] = (int)k;
		}
	}
	return rc;
}

int ccs_eligibility_prepare_evidence(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b, void **state,
				     ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char **col[7], **locks, **keys;
	size_t n = 0, nlocks = 0, nkeys = 0;
	int rc;
	(void)svc;
	(void)ctx;

	for (int c = 0; c < 7; c++)
		col[c] = ccs_arena_alloc(a, (b->n + 1) * sizeof(*col[c]));
	locks = ccs_arena_alloc(a, (b->n + 1) * sizeof(*locks));
	keys = ccs_arena_alloc(a, (b->n + 1) * sizeof(*keys));
	for (size_t k = 0; k < b->n; k++) {
		const ccs_msg *m = b->msgs[k];
		const Ccs__Mtp__V1__EligibilityEvidence *ev = (const Ccs__Mtp__V1__EligibilityEvidence *)b->pbs[k];
		ccs_svc_err ignored;
		char key[CCS_UUID_STRLEN];
		ccs_date on = evidence_date(ev, m, &ignored);
		case_key(ev->case_id, key);
		if (on == CCS_DATE_INVALID || !*key)
			continue; /* its handler refuses it (and the batch goes careful) */
		col[0][n] = m->ce_id;
		col[1][n] = ev->evidence_id;
		col[2][n] = ev->case_id;
		col[3][n] = evidence_kind(ev);
		col[4][n] = date_str(a, on);
		/* the handler's ccs_tx_input_time(): the envelope's ce_time (required) */
		col[5][n] = *ev->received_at ? ev->received_at : m->ce_time ? m->ce_time : "1970-01-01T00:00:00Z";
		col[6][n++] = bytea_hex(a, m->value, m->value ? m->len : 0);
		/* the lock key is the id as sent (as lock_case takes it), the read key canonical */
		locks[nlocks++] = ev->case_id;
		keys[nkeys++] = ccs_arena_strdup(a, key);
	}
	*state = NULL;
	if (!n)
		return 0;
	/* each lock once, in one order for every instance (fewer deadlocks between batches) */
	qsort(locks, nlocks, sizeof(*locks), cmp_str);
	qsort(keys, nkeys, sizeof(*keys), cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < nlocks; i++)
		if (!u || strcmp(locks[u - 1], locks[i]))
			locks[u++] = locks[i];
	nlocks = u;
	for (size_t i = u = 0; i < nkeys; i++)
		if (!u || strcmp(keys[u - 1], keys[i]))
			keys[u++] = keys[i];
	nkeys = u;
	const char *lp[1] = {ccs_pg_text_array(a, locks, nlocks)};
	if ((rc = ccs_tx_write(tx, "SELECT pg_advisory_xact_lock(hashtextextended(k, 7)) FROM unnest($1::text[]) AS k", 1,
			       lp, err)) != 0)
		return rc;
	const char *p[8];
	for (int c = 0; c < 7; c++)
		p[c] = ccs_pg_text_array(a, col[c], n);
	p[7] = ccs_pg_text_array(a, keys, nkeys);
	PGresult *r = ccs_tx_query(tx, EVIDENCE_BATCH_SQL, 8, p, &rc, err);
	if (!r)
		return rc;
	ev_batch *eb = ccs_arena_alloc(a, sizeof(*eb));
	*eb = (ev_batch){NULL, 0, DECISION_ROWS_INIT};
	rc = ev_batch_read(a, r, b, eb, err);
	PQclear(r);
	if (rc == 0)
		*state = eb;
	return rc;
}

int ccs_eligibility_finish_evidence(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err)
{
	(void)svc;
	(void)ctx;
	return decision_rows_write(tx, &((ev_batch *)state)->rows, err);
}

/*
 * An evidence event's case and log from the batch state: *found, *dup (its evidence id was
 * stored already: it is not in the log), the case and the steps up to this event. 0, or -1
 * when the batch does not know the event's case (the caller reads for itself).
 */
static int ev_batch_get(ccs_arena *a, ev_batch *eb, const ccs_msg *m, const char *case_id, int *found, bool *dup,
			case_row **c, ccs_elig_fold_step **steps, size_t *n)
{
	char key[CCS_UUID_STRLEN];
	ev_case *ec = NULL;
	case_key(case_id, key);
	for (size_t i = 0; i < eb->ncases && !ec; i++)
		if (!strcmp(eb->cases[i].case_id, key))
			ec = &eb->cases[i];
	if (!ec)
		return -1;
	int self = -1;
	for (size_t s = 0; s < ec->n && self < 0; s++)
		if (!strcmp(ec->steps[s].event_id, m->ce_id))
			self = ec->msg[s];
	*found = ec->found;
	*dup = self < 0;
	*c = &ec->c;
	*n = 0;
	*steps = ccs_arena_alloc(a, (ec->n + 1) * sizeof(**steps));
	for (size_t s = 0; s < ec->n; s++)
		if (ec->msg[s] <= self)
			(*steps)[(*n)++] = ec->steps[s];
	return 0;
}

/* Without batch state (a careful run): lock, then store the event and read the case and log. */
static int ev_read_one(ccs_tx *tx, const ccs_msg *m, const Ccs__Mtp__V1__EligibilityEvidence *ev, ccs_date on,
		       int *found, bool *dup, case_row *c, ccs_elig_fold_step **steps, size_t *n, ccs_svc_err *err)
{
	char on_s[11];
	int rc;
	if ((rc = lock_case(tx, ev->case_id, err)) != 0)
		return rc;
	ccs_date_format(on, on_s);
	const char *p[7] = {m->ce_id, ev->evidence_id, ev->case_id, evidence_kind(ev), on_s,
			    *ev->received_at ? ev->received_at : ccs_tx_input_time(tx), (const char *)m->value};
	int lens[7] = {0, 0, 0, 0, 0, 0, (int)m->len};
	int fmts[7] = {0, 0, 0, 0, 0, 0, 1};
	if (!m->value)
		p[6] = "";
	PGresult *r = ccs_tx_query_params(tx, EVIDENCE_SQL, 7, p, lens, fmts, &rc, err);
	if (!r)
		return rc;
	*found = !PQgetisnull(r, 0, 0);
	*dup = strcmp(PQgetvalue(r, 0, CASE_STATE_NCOLS + 3), "0") == 0;
	if (*found && !*dup) {
		case_state_from_row(r, 0, 0, c);
		rc = steps_from_rows(ccs_tx_arena(tx), r, CASE_STATE_NCOLS, 0, PQntuples(r), steps, n, err);
	}
	PQclear(r);
	return rc;
}

int ccs_eligibility_on_evidence(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				ccs_svc_err *err)
{
	const ccs_eligibility *e = ctx;
	ev_batch *eb = ccs_tx_batch_state(tx);
	case_row one, *c = &one;
	ccs_elig_fold_step *steps = NULL;
	size_t n = 0;
	int found = 0, rc = 0;
	bool dup = false;

	Ccs__Mtp__V1__EligibilityEvidence *ev = (Ccs__Mtp__V1__EligibilityEvidence *)pb;
	ccs_date on = evidence_date(ev, m, err);
	if (on == CCS_DATE_INVALID)
		return CCS_SVC_POISON;
	const char *kind = evidence_kind(ev);

	if (!eb || ev_batch_get(ccs_tx_arena(tx), eb, m, ev->case_id, &found, &dup, &c, &steps, &n) != 0)
		rc = ev_read_one(tx, m, ev, on, &found, &dup, c = &one, &steps, &n, err);
	if (rc)
		return rc;
	if (dup) {
		/* the same evidence resubmitted under a new event id: it is in the log already */
		count_evidence(svc, kind, "resubmitted");
		CCS_LOG_INFO("evidence already recorded, no effect", "event_id", CCS_LOG_S(m->ce_id));
		return 0;
	}
	if ((rc = record_appeal(tx, e, m, ev, on, err)) != 0)
		return rc;
	if (!found) {
		/*
		 * The referral decision that opens this case travels on another topic (keyed the
		 * same, but topics are consumed independently), so it may not have been processed
		 * yet. Rejecting the evidence would lose it; it stays in the log and the case's
		 * first decision folds it in when the accepted referral arrives.
		 */
		count_evidence(svc, kind, "held");
		CCS_LOG_INFO("evidence for a case not known yet, held", "event_id", CCS_LOG_S(m->ce_id), "case_id",
			     CCS_LOG_S(ev->case_id));
		return 0;
	}
	count_evidence(svc, kind, "applied");
	bool appeal = ev->kind_case == CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_FILED ||
		      ev->kind_case == CCS__MTP__V1__ELIGIBILITY_EVIDENCE__KIND_APPEAL_DECIDED;
	rc = decide_now(tx, e, m, c, steps, n,
			appeal ? CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_APPEAL
			       : CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_EVIDENCE,
			KIND_EVIDENCE, *ev->received_at ? ev->received_at : ccs_tx_input_time(tx),
			eb ? &eb->rows : NULL, err);
	return rc;
}

/* ---------------------------------------------------------------- referral batches */

/*
 * Two-phase referral decisions (ccs_svc_input.prepare), as evidence: per batch one queued lock
 * statement for every case, and one statement that opens every accepted case (the first valid
 * referral of each case, in batch order, as message by message) and reads every case of the
 * batch as it stood before it, with its links and its evidence log (the evidence an opened
 * case held). The handlers decide on that view and keep it current (an opened case, a link's
 * lines and school district), so a later referral of the batch sees what it would have read;
 * finish writes the referral records, decisions and deadlines, one multi-row insert each. In a
 * careful run there is no batch state and each referral reads and writes for itself.
 */

/* One case of the batch: as CASE_STATE reads it (once found), its links, its evidence log. */
typedef struct rf_case {
	char case_id[CCS_UUID_STRLEN]; /* canonical spelling, as PostgreSQL prints a uuid */
	int found;                     /* the case is open: before the batch, or opened in it */
	case_row c;
	const char *opener;            /* event id of the referral whose case prepare inserted, or NULL */
	unsigned link_lines;           /* the lines of its linked referrals (CASE_COLUMNS' bit_or) */
	char link_district[96];        /* the newest link's school district, or "" */
	ccs_elig_fold_step *steps;     /* its evidence log, in fold order */
	size_t n;
} rf_case;

typedef struct rf_batch {
	rf_case *cases;
	size_t ncases;
	rowbuf refs;        /* referral_decisions rows */
	decision_rows rows; /* the batch's decisions and deadlines */
} rf_batch;
#define REF_NCOLS 9

static const char REFERRALS_SQL[] =
	"INSERT INTO referral_decisions(event_id, referral_decision_id, referral_id, outcome, case_id, opened_case,"
	" lines, referred_codes, school_district)"
	" SELECT u.event_id, u.rd_id, u.referral_id, u.outcome, u.case_id, u.opened, u.lines, u.codes::text[],"
	" u.district FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::uuid[], $6::boolean[],"
	" $7::integer[], $8::text[], $9::text[]) WITH ORDINALITY"
	" AS u(event_id, rd_id, referral_id, outcome, case_id, opened, lines, codes, district, n) ORDER BY u.n";

/* The batch's accepted cases inserted (ON CONFLICT: an open case stays as it is) and every case
 * of the batch ($15) as it stood before: opened_by_event when this statement opened it, its
 * links' lines and newest school district, CASE_STATE (NULLs when not open), its evidence log. */
static const char REFERRAL_BATCH_SQL[] =
	"WITH ins AS (INSERT INTO cases(case_id, case_number, county, county_model, reviewing_office, birth_date,"
	" referral_date, opened_on, requested_program, requested_lines, referred_codes, coverage, opened_by_event,"
	" school_district) SELECT u.case_id, u.number, u.county, u.model, u.office, u.birth, u.referral, u.opened,"
	" u.program, u.lines, u.codes::text[], u.coverage, u.event_id, u.district"
	" FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::date[], $8::date[],"
	" $9::text[], $10::integer[], $11::text[], $12::text[], $13::text[], $14::text[]) WITH ORDINALITY"
	" AS u(case_id, number, county, model, office, birth, referral, opened, program, lines, codes, coverage,"
	" event_id, district, n) ORDER BY u.n ON CONFLICT (case_id) DO NOTHING RETURNING case_id, opened_by_event),"
	" c AS MATERIALIZED (SELECT " CASE_STATE " FROM cases WHERE case_id = ANY($15::uuid[]))"
	" SELECT b.case_id, (SELECT i.opened_by_event FROM ins i WHERE i.case_id = b.case_id),"
	" COALESCE((SELECT bit_or(l.lines) FROM referral_decisions l WHERE l.case_id = b.case_id"
	" AND l.outcome = 'linked'), 0),"
	" COALESCE((SELECT l.school_district FROM referral_decisions l WHERE l.case_id = b.case_id"
	" AND l.outcome = 'linked' AND l.school_district <> '' ORDER BY l.received_at DESC LIMIT 1), ''),"
	" c.*, e.event_id, e.received_on, e.body FROM unnest($15::uuid[]) AS b(case_id)"
	" LEFT JOIN c ON c.case_id = b.case_id LEFT JOIN evidence e ON e.case_id = b.case_id"
	" ORDER BY b.case_id, e.received_on, e.event_id";
#define RF_LEAD 4 /* the columns before CASE_STATE */

/*
 * An accepted referral's case as the message states it, checked: 0, or CCS_SVC_POISON with
 * err set. Its row for `cases` in p[14] when p is not NULL.
 */
static int accepted_case(ccs_arena *a, const ccs_msg *m, const Ccs__Mtp__V1__ReferralDecision *rd, case_row *c,
			 const char **p, ccs_svc_err *err)
{
	const Ccs__Mtp__V1__ReferralAccepted *acc = rd->accepted;
	ccs_uuid u;

	memset(c, 0, sizeof(*c));
	if (ccs_uuid_parse(rd->case_id, &u) != 0)
		return ccs_svc_poison(err, "validation", "accepted referral without a case_id UUID");
	snprintf(c->case_id, sizeof(c->case_id), "%s", rd->case_id);
	c->fc.birth_date = ccs_date_parse(acc->birth_date);
	c->fc.referral_date = ccs_date_parse(acc->referral_date);
	c->fc.opened_on = input_date(rd->decided_at, m);
	const char *county = *acc->county ? acc->county : rd->county;
	if (c->fc.birth_date == CCS_DATE_INVALID || c->fc.referral_date == CCS_DATE_INVALID ||
	    c->fc.opened_on == CCS_DATE_INVALID || c->fc.birth_date > c->fc.referral_date)
		return ccs_svc_poison(err, "validation", "accepted referral needs birth_date <= referral_date and a date");
	if (!*county || strlen(county) >= sizeof(c->fc.county))
		return ccs_svc_poison(err, "validation", "accepted referral without a county");
	if (c->fc.opened_on < c->fc.referral_date)
		c->fc.opened_on = c->fc.referral_date;
	snprintf(c->fc.county, sizeof(c->fc.county), "%s", county);
	snprintf(c->school_district, sizeof(c->school_district), "%s", acc->school_district);
	c->model = rd->county_model;
	c->office = rd->reviewing_office;
	c->fc.county_model = (unsigned)c->model <= CCS_ELIG_COUNTY_DEPENDENT ? (ccs_elig_county_model)c->model
									     : CCS_ELIG_COUNTY_UNKNOWN;
	for (size_t i = 0; i < acc->n_requested_services; i++) {
		int line = (int)acc->requested_services[i];
		if (line >= CCS_ELIG_LINE_MTP_THERAPY && line <= CCS_ELIG_LINE_DIAGNOSTIC)
			c->fc.lines |= CCS_ELIG_LINE_BIT(line);
	}
	if (!c->fc.lines)
		c->fc.lines = ccs_elig_fold_program_lines(acc->requested_program);
	if (!p)
		return 0;
	char lines[16];
	snprintf(lines, sizeof(lines), "%u", c->fc.lines);
	const char *row[14] = {
		ccs_arena_strdup(a, c->case_id),
		rd->case_number,
		ccs_arena_strdup(a, c->fc.county),
		enum_name(&ccs__mtp__v1__county_model__descriptor, c->model, "COUNTY_MODEL_UNSPECIFIED"),
		enum_name(&ccs__mtp__v1__reviewing_office__descriptor, c->office, "REVIEWING_OFFICE_UNSPECIFIED"),
		date_str(a, c->fc.birth_date),
		date_str(a, c->fc.referral_date),
		date_str(a, c->fc.opened_on),
		enum_name(&ccs__mtp__v1__requested_program__descriptor, acc->requested_program,
			  "REQUESTED_PROGRAM_UNSPECIFIED"),
		ccs_arena_strdup(a, lines),
		/* codes were normalised by referrald, quoted anyway */
		ccs_pg_text_array(a, (const char *const *)acc->diagnosis_codes, acc->n_diagnosis_codes),
		enum_name(&ccs__mtp__v1__coverage__descriptor, acc->coverage, "COVERAGE_UNSPECIFIED"),
		m->ce_id,
		acc->school_district};
	memcpy(p, row, sizeof(row));
	return 0;
}

/* The case a referral decision is about (the existing case of a link), or NULL (rejected). */
static const char *referral_case_id(const Ccs__Mtp__V1__ReferralDecision *rd)
{
	if (rd->outcome_case == CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_ACCEPTED)
		return rd->case_id;
	if (rd->outcome_case == CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_LINKED)
		return *rd->linked->existing_case_id ? rd->linked->existing_case_id : rd->case_id;
	return NULL;
}

/* Sort and deduplicate v[0..n) in place; the new count. */
static size_t uniq_sorted(const char **v, size_t n)
{
	size_t u = 0;
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	return u;
}

/* Fill the batch's cases from REFERRAL_BATCH_SQL's rows (grouped by case, each log in order). */
static int rf_batch_read(ccs_arena *a, const PGresult *r, rf_batch *rb, ccs_svc_err *err)
{
	int rows = PQntuples(r), rc = 0;
	rb->cases = ccs_arena_alloc(a, (size_t)(rows + 1) * sizeof(*rb->cases));
	for (int i = 0, j; i < rows && rc == 0; i = j) {
		rf_case *fc = &rb->cases[rb->ncases++];
		memset(fc, 0, sizeof(*fc));
		snprintf(fc->case_id, sizeof(fc->case_id), "%s", PQgetvalue(r, i, 0));
		for (j = i; j < rows && !strcmp(PQgetvalue(r, j, 0), fc->case_id); j++)
			;
		fc->opener = PQgetisnull(r, i, 1) ? NULL : ccs_arena_strdup(a, PQgetvalue(r, i, 1));
		fc->link_lines = (unsigned)strtoul(PQgetvalue(r, i, 2), NULL, 10);
		snprintf(fc->link_district, sizeof(fc->link_district), "%s", PQgetvalue(r, i, 3));
		fc->found = !PQgetisnull(r, i, RF_LEAD);
		if (fc->found)
			case_state_from_row(r, i, RF_LEAD, &fc->c);
		rc = steps_from_rows(a, r, RF_LEAD + CASE_STATE_NCOLS, i, j - i, &fc->steps, &fc->n, err);
	}
	return rc;
}

int ccs_eligibility_prepare_referral(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b, void **state,
				     ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char **col[14], **locks, **keys, **opened;
	size_t n = 0, nlocks = 0, nkeys = 0, nopened = 0;
	int rc = 0;
	(void)svc;
	(void)ctx;

	for (int c = 0; c < 14; c++)
		col[c] = ccs_arena_alloc(a, (b->n + 1) * sizeof(*col[c]));
	locks = ccs_arena_alloc(a, (b->n + 1) * sizeof(*locks));
	keys = ccs_arena_alloc(a, (b->n + 1) * sizeof(*keys));
	opened = ccs_arena_alloc(a, (b->n + 1) * sizeof(*opened));
	for (size_t k = 0; k < b->n; k++) {
		const Ccs__Mtp__V1__ReferralDecision *rd = (const Ccs__Mtp__V1__ReferralDecision *)b->pbs[k];
		const char *cid = referral_case_id(rd), *p[14];
		char key[CCS_UUID_STRLEN];
		ccs_svc_err ignored;
		case_row c;
		if (!cid)
			continue;
		case_key(cid, key);
		if (!*key)
			continue; /* its handler refuses it (and the batch goes careful) */
		if (rd->outcome_case == CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_ACCEPTED) {
			if (accepted_case(a, b->msgs[k], rd, &c, p, &ignored) != 0)
				continue;
			/* the first valid referral of a case opens it, as message by message */
			bool first = true;
			for (size_t i = 0; i < nopened && first; i++)
				first = strcmp(opened[i], key) != 0;
			if (first) {
				opened[nopened++] = ccs_arena_strdup(a, key);
				for (int cc = 0; cc < 14; cc++)
					col[cc][n] = p[cc];
				n++;
			}
		}
		/* the lock key is the id as sent (as lock_case takes it), the read key canonical */
		locks[nlocks++] = cid;
		keys[nkeys++] = ccs_arena_strdup(a, key);
	}
	rf_batch *rb = ccs_arena_alloc(a, sizeof(*rb));
	*rb = (rf_batch){NULL, 0, {REF_NCOLS, 0, 0, NULL}, DECISION_ROWS_INIT};
	*state = NULL;
	if (nkeys) {
		/* each lock once, in one order for every instance (fewer deadlocks between batches) */
		nlocks = uniq_sorted(locks, nlocks);
		nkeys = uniq_sorted(keys, nkeys);
		const char *lp[1] = {ccs_pg_text_array(a, locks, nlocks)};
		if ((rc = ccs_tx_write(tx, "SELECT pg_advisory_xact_lock(hashtextextended(k, 7)) FROM unnest($1::text[]) AS k",
				       1, lp, err)) != 0)
			return rc;
		const char *p[15];
		for (int c = 0; c < 14; c++)
			p[c] = ccs_pg_text_array(a, col[c], n);
		p[14] = ccs_pg_text_array(a, keys, nkeys);
		PGresult *r = ccs_tx_query(tx, REFERRAL_BATCH_SQL, 15, p, &rc, err);
		if (!r)
			return rc;
		rc = rf_batch_read(a, r, rb, err);
		PQclear(r);
	}
	if (rc == 0)
		*state = rb;
	return rc;
}

int ccs_eligibility_finish_referral(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err)
{
	rf_batch *rb = state;
	(void)svc;
	(void)ctx;
	int rc = rowbuf_write(tx, &rb->refs, REFERRALS_SQL, err);
	return rc ? rc : decision_rows_write(tx, &rb->rows, err);
}

/* The batch's view of a case, or NULL when the batch does not know it (the caller reads). */
static rf_case *rf_batch_case(rf_batch *rb, const char *case_id)
{
	char key[CCS_UUID_STRLEN];
	if (!rb)
		return NULL;
	case_key(case_id, key);
	for (size_t i = 0; i < rb->ncases; i++)
		if (!strcmp(rb->cases[i].case_id, key))
			return &rb->cases[i];
	return NULL;
}

/* A referral decision recorded: buffered in a batch (its finish writes it), else queued now. */
static int record_referral_ex(ccs_tx *tx, rf_batch *rb, const ccs_msg *m, const Ccs__Mtp__V1__ReferralDecision *rd,
			      const char *outcome, const char *case_id, bool opened, unsigned lines, char *const *codes,
			      size_t ncodes, const char *school_district, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	char lb[16];
	snprintf(lb, sizeof(lb), "%u", lines);
	const char *p[REF_NCOLS] = {m->ce_id, rd->decision_id, rd->referral_id, outcome,
				    case_id ? ccs_arena_strdup(a, case_id) : NULL, opened ? "true" : "false",
				    ccs_arena_strdup(a, lb), ccs_pg_text_array(a, (const char *const *)codes, ncodes),
				    school_district ? school_district : ""};
	if (rb) {
		rowbuf_add(a, &rb->refs, p);
		return 0;
	}
	return ccs_tx_write(tx,
			    "INSERT INTO referral_decisions(event_id, referral_decision_id, referral_id, outcome,"
			    " case_id, opened_case, lines, referred_codes, school_district)"
			    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			    REF_NCOLS, p, err);
}

static int record_referral(ccs_tx *tx, rf_batch *rb, const ccs_msg *m, const Ccs__Mtp__V1__ReferralDecision *rd,
			   const char *outcome, const char *case_id, bool opened, ccs_svc_err *err)
{
	return record_referral_ex(tx, rb, m, rd, outcome, case_id, opened, 0, NULL, 0, "", err);
}

/*
 * A case this batch opened, as CASE_STATE would read it for a later referral of the batch: the
 * spellings the database returns, the lines of its links, their school district unless the
 * case has its own; its worklist items and determination as its first decision left them.
 */
static void rf_case_opened(rf_case *fc, const case_row *c)
{
	fc->c = *c;
	snprintf(fc->c.case_id, sizeof(fc->c.case_id), "%s", fc->case_id);
	fc->c.model = enum_value(&ccs__mtp__v1__county_model__descriptor,
				 enum_name(&ccs__mtp__v1__county_model__descriptor, c->model, "COUNTY_MODEL_UNSPECIFIED"));
	fc->c.office = enum_value(&ccs__mtp__v1__reviewing_office__descriptor,
				  enum_name(&ccs__mtp__v1__reviewing_office__descriptor, c->office,
					    "REVIEWING_OFFICE_UNSPECIFIED"));
	fc->c.fc.county_model = (ccs_elig_county_model)fc->c.model;
	fc->c.fc.lines |= fc->link_lines;
	fc->c.own_district = c->school_district[0] != '\0';
	if (!fc->c.own_district)
		snprintf(fc->c.school_district, sizeof(fc->c.school_district), "%s", fc->link_district);
	fc->found = 1;
}

static int accepted(ccs_svc *svc, const ccs_eligibility *e, ccs_tx *tx, const ccs_msg *m,
		    const Ccs__Mtp__V1__ReferralDecision *rd, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	rf_batch *rb = ccs_tx_batch_state(tx);
	case_row c;
	ccs_elig_fold_step *steps = NULL;
	size_t n = 0;
	const char *p[14];
	bool opened;
	int rc;

	if ((rc = accepted_case(a, m, rd, &c, p, err)) != 0)
		return rc;
	rf_case *fc = rf_batch_case(rb, c.case_id);
	if (fc) {
		/* prepare inserted the case for the batch's first referral of it, read what it held */
		opened = !fc->found && fc->opener && !strcmp(fc->opener, m->ce_id);
		steps = fc->steps;
		n = fc->n;
	} else {
		rb = NULL; /* not in the batch's view: this referral reads and writes for itself */
		if ((rc = lock_case(tx, c.case_id, err)) != 0)
			return rc;
		/* The case, and when it is new, the evidence that waited for it (one row each; one
		 * row of NULLs when none did; `opened` in the last column). */
		PGresult *r = ccs_tx_query(tx,
					   "WITH ins AS (INSERT INTO cases(case_id, case_number, county, county_model,"
					   " reviewing_office, birth_date, referral_date, opened_on, requested_program,"
					   " requested_lines, referred_codes, coverage, opened_by_event, school_district)"
					   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
					   " ON CONFLICT (case_id) DO NOTHING RETURNING case_id)"
					   " SELECT e.event_id, e.received_on, e.body, EXISTS (SELECT 1 FROM ins)"
					   " FROM (SELECT 1) AS one LEFT JOIN evidence e ON e.case_id = $1 AND EXISTS (SELECT 1 FROM ins)"
					   " ORDER BY e.received_on, e.event_id",
					   14, p, &rc, err);
		if (!r)
			return rc;
		opened = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 3), "t") == 0;
		rc = opened ? steps_from_rows(a, r, 0, 0, PQntuples(r), &steps, &n, err) : 0;
		PQclear(r);
		if (rc)
			return rc;
	}
	if ((rc = record_referral(tx, rb, m, rd, "accepted", c.case_id, opened, err)) != 0)
		return rc;
	if (!opened) {
		/* the case was opened by another event (a re-announcement): its decision is out */
		count_referral(svc, "accepted", "case_exists");
		CCS_LOG_INFO("case already open, no decision", "event_id", CCS_LOG_S(m->ce_id), "case_id",
			     CCS_LOG_S(c.case_id));
		return 0;
	}
	count_referral(svc, "accepted", "case_opened");
	/* a case just opened has no worklist item and no decision yet (case_row is zeroed) */
	rc = decide_now(tx, e, m, &c, steps, n, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_REFERRAL,
			KIND_REFERRAL, *rd->decided_at ? rd->decided_at : ccs_tx_input_time(tx), rb ? &rb->rows : NULL,
			err);
	if (rc == 0 && fc)
		rf_case_opened(fc, &c);
	return rc;
}

/* Service lines as a bit set, from a repeated ServiceLine. */
static unsigned lines_of(const Ccs__Mtp__V1__ServiceLine *l, size_t n)
{
	unsigned out = 0;
	for (size_t i = 0; i < n; i++)
		if ((int)l[i] >= CCS_ELIG_LINE_MTP_THERAPY && (int)l[i] <= CCS_ELIG_LINE_DIAGNOSTIC)
			out |= CCS_ELIG_LINE_BIT((int)l[i]);
	return out;
}

/*
 * The same child referred again: the link's requested services and diagnoses reach the case
 * (stored with the link; the case's lines are the OR of its own and its links'). A link that
 * asks for a line the case did not have is decided at once; one that adds nothing is recorded.
 */
static int linked(ccs_svc *svc, const ccs_eligibility *e, ccs_tx *tx, const ccs_msg *m,
		  const Ccs__Mtp__V1__ReferralDecision *rd, const char *cid, ccs_svc_err *err)
{
	const Ccs__Mtp__V1__ReferralLinked *lk = rd->linked;
	unsigned add = lines_of(lk->requested_services, lk->n_requested_services);
	rf_batch *rb = ccs_tx_batch_state(tx);
	rf_case *fc = rf_batch_case(rb, cid);
	case_row one, *c = &one;
	ccs_elig_fold_step *steps = NULL;
	size_t n = 0;
	int found = 0, rc;

	if (!add && lk->requested_program != CCS__MTP__V1__REQUESTED_PROGRAM__REQUESTED_PROGRAM_UNSPECIFIED)
		add = ccs_elig_fold_program_lines(lk->requested_program);
	if (fc) {
		found = fc->found;
		c = &fc->c;
		steps = fc->steps;
		n = fc->n;
		/* what CASE_COLUMNS reads after this link whatever it decides: a case this batch
		 * opens later takes the lines and the newest school district of its links */
		fc->link_lines |= add;
		if (*lk->school_district)
			snprintf(fc->link_district, sizeof(fc->link_district), "%s", lk->school_district);
	} else {
		rb = NULL;
		if ((rc = lock_case(tx, cid, err)) != 0 ||
		    (rc = load_case(tx, cid, true, c, &found, &steps, &n, err)) != 0)
			return rc;
	}
	if ((rc = record_referral_ex(tx, rb, m, rd, "linked", cid, false, add, lk->diagnosis_codes,
				     lk->n_diagnosis_codes, lk->school_district, err)) != 0)
		return rc;
	bool adds = found && (c->fc.lines | add) != c->fc.lines;
	/* The case as CASE_COLUMNS reads it now that this link is stored, without reading it
	 * again: its lines OR the link's, and the link's school district (the newest) unless the
	 * case has its own. (A batch's view keeps it so for the batch's later referrals.) */
	if (found) {
		c->fc.lines |= add;
		if (!c->own_district && *lk->school_district)
			snprintf(c->school_district, sizeof(c->school_district), "%s", lk->school_district);
	}
	if (!adds) {
		count_referral(svc, "linked", "recorded");
		return 0;
	}
	count_referral(svc, "linked", "lines_added");
	rc = decide_now(tx, e, m, c, steps, n, CCS__MTP__V1__DECISION_TRIGGER__DECISION_TRIGGER_REFERRAL,
			KIND_REFERRAL, *rd->decided_at ? rd->decided_at : ccs_tx_input_time(tx), rb ? &rb->rows : NULL,
			err);
	return rc;
}

int ccs_eligibility_on_referral(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_msg *m, ProtobufCMessage *pb,
				ccs_svc_err *err)
{
	const ccs_eligibility *e = ctx;
	ccs_uuid u;
	Ccs__Mtp__V1__ReferralDecision *rd = (Ccs__Mtp__V1__ReferralDecision *)pb;
	switch (rd->outcome_case) {
	case CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_ACCEPTED:
		return accepted(svc, e, tx, m, rd, err);
	case CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_LINKED: {
		const char *cid = referral_case_id(rd);
		if (ccs_uuid_parse(cid, &u) != 0)
			return ccs_svc_poison(err, "validation", "linked referral without a case id UUID");
		return linked(svc, e, tx, m, rd, cid, err);
	}
	case CCS__MTP__V1__REFERRAL_DECISION__OUTCOME_REJECTED: {
		int rc = record_referral(tx, ccs_tx_batch_state(tx), m, rd, "rejected", NULL, false, err);
		if (rc == 0)
			count_referral(svc, "rejected", "recorded");
		return rc;
	}
	default:
		return ccs_svc_poison(err, "validation", "referral decision carries no outcome");
	}
}

/* ---------------------------------------------------------------- time-driven work */

static ccs_elig_deadline_kind deadline_from_str(const char *s)
{
	for (int k = 1; k < CCS_ELIG_DL_COUNT; k++)
		if (strcmp(ccs_elig_deadline_str((ccs_elig_deadline_kind)k), s) == 0)
			return (ccs_elig_deadline_kind)k;
	return CCS_ELIG_DL_NONE;
}

static void count_timer(ccs_svc *svc, const char *kind, const char *result)
{
	char labels[128];
	snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"%s\"", kind, result);
	ccs_metrics_inc(ccs_svc_metrics(svc), "timers_total", labels, 1);
}

/*
 * A deadline came due: re-evaluate the case as of the due date, with the evidence received by
 * then, and compare with the same facts a day earlier. Both come from stored rows and the due
 * date alone, so firing again (after a crash) gives the same decision and the same id.
 */
int ccs_eligibility_due(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_due *d, ccs_svc_err *err)
{
	const ccs_eligibility *e = ctx;
	ccs_elig_fold_step *steps = NULL;
	size_t n = 0, pi;
	case_row c;
	int found = 0, rc;
	char eb[160], s0[256], s1[256];

	ccs_elig_deadline_kind k = deadline_from_str(d->kind);
	for (pi = 0; pi < NELEMS(timer_policy); pi++)
		if (timer_policy[pi].kind == k)
			break;
	if (k == CCS_ELIG_DL_NONE || pi == NELEMS(timer_policy))
		return ccs_svc_poison(err, "validation", "unknown due work kind %.64s", d->kind);
	if ((rc = lock_case(tx, d->subject, err)) != 0)
		return rc;
	if ((rc = load_case(tx, d->subject, false, &c, &found, &steps, &n, err)) != 0)
		return rc;
	if (!found) {
		count_timer(svc, d->kind, "no_case");
		return 0;
	}
	ccs_elig_fold_out *before = ccs_arena_alloc(ccs_tx_arena(tx), sizeof(*before));
	ccs_elig_fold_out *now = ccs_arena_alloc(ccs_tx_arena(tx), sizeof(*now));
	if (ccs_elig_fold(&c.fc, steps, n, e->rs, d->due_date, d->due_date - 1, before, eb, sizeof(eb)) != 0 ||
	    ccs_elig_fold(&c.fc, steps, n, e->rs, d->due_date, d->due_date, now, eb, sizeof(eb)) != 0)
		return ccs_svc_poison(err, "validation", "case cannot be evaluated: %s", eb);

	ccs_elig_fold_signature(&before->result, s0, sizeof(s0));
	ccs_elig_fold_signature(&now->result, s1, sizeof(s1));
	bool changed = strcmp(s0, s1) != 0;
	/* still live: the facts as they stood the day before still carried this deadline */
	bool live = ccs_elig_result_deadline(&before->result, k) == d->due_date;
	bool decides = changed || (timer_policy[pi].decision && live);
	/* the case's state (worklist items, determination) is read only by a timer that decides */
	if (decides && (rc = load_state(tx, &c, err)) != 0)
		return rc;
	if ((k == CCS_ELIG_DL_PHYSICIAN_REVIEW_DUE || k == CCS_ELIG_DL_NOA_DUE) && live &&
	    (rc = worklist_overdue(tx, &c, k == CCS_ELIG_DL_NOA_DUE ? "NOA_DUE" : "PHYSICIAN_REVIEW", err)) != 0)
		return rc;
	if (!decides) {
		count_timer(svc, d->kind, live ? "unchanged" : "stale");
		return 0;
	}
	count_timer(svc, d->kind, "decided");
	decide_in in = {&c, &now->result, now, e->texts, timer_policy[pi].trigger, KIND_TIMER, d->kind,
			ccs_tx_input_time(tx), e->rs->appeal_window_days, e->rs->fair_hearing_days, d->correlation_id,
			NULL};
	return decide(tx, &in, err);
}

/* ---------------------------------------------------------------- start */

int ccs_eligibility_start(ccs_svc *svc, void *ctx, char *errbuf, size_t errlen)
{
	ccs_eligibility *e = ctx;
	const char *v = ccs_cfg_str(ccs_svc_cfg(svc), "rules.version");
	const char *dir = ccs_cfg_str(ccs_svc_cfg(svc), "rules.dir");
	const char *texts = ccs_cfg_str(ccs_svc_cfg(svc), "texts.file");
	const char *counties = ccs_cfg_str(ccs_svc_cfg(svc), "data.counties");
	ccs_metrics *mx = ccs_svc_metrics(svc);

	/* rule sets: an operator's directory, else the shipped files built in */
	if (*dir) {
		if (ccs_elig_rules_load_dir(dir, &e->rules_owned, errbuf, errlen) != 0)
			return -1;
		e->rules = e->rules_owned;
	} else {
		e->rules = ccs_elig_rules_builtin_get();
	}
	if (*texts) {
		ccs_elig_texts *t = NULL;
		if (ccs_elig_texts_load(texts, &t, errbuf, errlen) != 0)
			return -1;
		e->texts = t;
	} else {
		e->texts = ccs_elig_texts_builtin_get();
	}
	if (ccs_elig_texts_check(e->texts, errbuf, errlen) != 0)
		return -1;
	/* the county table: as configured (a bad file refuses start), else the shipped one when
	 * it is there; without one, names are compared after normalisation */
	{
		const char *path = ccs_county_path(counties);
		char eb[256];
		if (ccs_county_load(path, &g_counties, eb, sizeof(eb)) == 0)
			ccs_elig_fold_set_county_compare(same_county_by_table);
		else if (*counties) {
			snprintf(errbuf, errlen, "%s", eb);
			return -1;
		}
	}
	e->rs = *v ? ccs_elig_rules_find(e->rules, v) : ccs_elig_rules_default(e->rules);
	if (!e->rs) {
		int pos = snprintf(errbuf, errlen, "unknown rules.version \"%.40s\" (known:", v);
		for (size_t i = 0; i < ccs_elig_rules_count(e->rules) && pos > 0 && (size_t)pos < errlen; i++)
			pos += snprintf(errbuf + pos, errlen - (size_t)pos, " %s", ccs_elig_rules_at(e->rules, i)->version);
		if (pos > 0 && (size_t)pos < errlen)
			snprintf(errbuf + pos, errlen - (size_t)pos, ")");
		return -1;
	}
	if (ccs_elig_ruleset_validate(e->rs, errbuf, errlen) != 0)
		return -1;
	ccs_metrics_family(mx, "referral_decisions_total", CCS_METRIC_COUNTER,
			   "referral decisions consumed, by outcome and effect", NULL, 0);
	ccs_metrics_family(mx, "evidence_total", CCS_METRIC_COUNTER,
			   "evidence events by kind and state (applied, held for an unknown case, resubmitted)", NULL, 0);
	ccs_metrics_family(mx, "worklist_items", CCS_METRIC_GAUGE,
			   "open work by reviewing office, kind (PHYSICIAN_REVIEW, NOA_DUE, GOOD_CAUSE_REVIEW) and state "
			   "(open, overdue)",
			   NULL, 0);
	static const double days_b[] = {1, 3, 7, 14, 21, 30, 45, 60, 90, 180};
	ccs_metrics_family(mx, "referral_to_determination_days", CCS_METRIC_HISTOGRAM,
			   "days from the referral date to the case's first eligibility determination", days_b, 10);
	g_metrics = mx;
	ccs_metrics_family(mx, "worklist_oldest_age_days", CCS_METRIC_GAUGE,
			   "age in days of the oldest open work item, by reviewing office, kind and state", NULL, 0);
	ccs_metrics_family(mx, "timers_total", CCS_METRIC_COUNTER,
			   "due timers by kind and result (decided, unchanged, stale, no_case)", NULL, 0);
	CCS_LOG_INFO("rule set in force", "version", CCS_LOG_S(e->rs->version));
	return 0;
}

/* ---------------------------------------------------------------- what-if */

static int whatif_usage(const char *msg)
{
	fprintf(stderr, "ccs-eligibilityd: %s\nusage: ccs-eligibilityd [options] what-if --rule-set VERSION [--json]\n",
		msg);
	return 2;
}

/*
 * Load every case and its evidence (two ordered scans, merged by case id) and compare the rule
 * set in force with the candidate as of today (clock.today when set). Read-only: one
 * REPEATABLE READ transaction so the report is of one consistent snapshot.
 */
static int whatif_run(ccs_svc *svc, const ccs_eligibility *e, const ccs_elig_ruleset *cand, bool json)
{
	PGconn *pg = ccs_svc_conn(svc);
	PGresult *cr = NULL, *er = NULL;
	ccs_elig_whatif *w = NULL;
	ccs_arena a;
	ccs_svc_err err = {{0}, {0}};
	char sql[1024];
	int rc = 1, ei = 0;

	ccs_arena_init(&a, 64 * 1024);
	PQclear(PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
	snprintf(sql, sizeof(sql), "SELECT %s FROM cases ORDER BY case_id", CASE_COLUMNS);
	cr = PQexec(pg, sql);
	er = PQexec(pg, "SELECT event_id, received_on, body, case_id FROM evidence ORDER BY case_id, received_on, event_id");
	if (PQresultStatus(cr) != PGRES_TUPLES_OK || PQresultStatus(er) != PGRES_TUPLES_OK) {
		fprintf(stderr, "ccs-eligibilityd: what-if: reading cases failed: %s", PQerrorMessage(pg));
		goto out;
	}
	w = ccs_elig_whatif_new(e->rs, cand, ccs_svc_today(svc));
	for (int i = 0; i < PQntuples(cr); i++) {
		case_row c;
		ccs_elig_fold_step *steps = NULL;
		case_from_row(cr, i, 0, &c);
		/* evidence held for cases never opened sorts between cases: skip it */
		while (ei < PQntuples(er) && strcmp(PQgetvalue(er, ei, 3), c.case_id) < 0)
			ei++;
		int first = ei;
		while (ei < PQntuples(er) && strcmp(PQgetvalue(er, ei, 3), c.case_id) == 0)
			ei++;
		size_t nsteps = 0;
		if (steps_from_rows(&a, er, 0, first, ei - first, &steps, &nsteps, &err) != 0) {
			fprintf(stderr, "ccs-eligibilityd: what-if: %s\n", err.msg);
			goto out;
		}
		ccs_elig_whatif_add(w, c.case_id, &c.fc, steps, nsteps);
		ccs_arena_reset(&a);
	}
	ccs_elig_whatif_print(w, json, stdout);
	fflush(stdout);
	rc = 0;
out:
	PQclear(cr);
	PQclear(er);
	PQclear(PQexec(pg, "ROLLBACK"));
	ccs_elig_whatif_free(w);
	ccs_arena_destroy(&a);
	return rc;
}

int ccs_eligibility_command(ccs_svc *svc, void *ctx, int argc, char **argv)
{
	const ccs_eligibility *e = ctx;
	const char *version = NULL;
	bool json = false;

	if (argc < 1 || strcmp(argv[0], "what-if") != 0)
		return -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rule-set") == 0 && i + 1 < argc)
			version = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			return whatif_usage("unknown what-if argument");
	}
	if (!version)
		return whatif_usage("what-if needs --rule-set VERSION");
	const ccs_elig_ruleset *cand = ccs_elig_rules_find(e->rules, version);
	if (!cand)
		return whatif_usage("unknown rule set version");
	char eb[160];
	if (ccs_elig_ruleset_validate(cand, eb, sizeof(eb)) != 0) {
		fprintf(stderr, "ccs-eligibilityd: candidate rule set invalid: %s\n", eb);
		return 1;
	}
	return whatif_run(svc, e, cand, json);
}
