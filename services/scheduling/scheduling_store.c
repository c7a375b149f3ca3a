/*
 * schedulingd's PostgreSQL side (see scheduling_store.h).
 *
 * The snapshot is loaded fresh for every booking attempt, in the booking's transaction, so a
 * retry after an exclusion conflict sees what the other instance committed (READ COMMITTED:
 * each statement takes a new snapshot). Ids and text come back from PostgreSQL and are copied
 * into the batch arena; integer arrays ("{480,960,...}") are parsed here.
 */
#include "scheduling_store.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/pg.h"

static char *dup_val(ccs_arena *a, const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return NULL;
	return ccs_arena_strdup(a, PQgetvalue(r, row, col));
}

static int int_val(const PGresult *r, int row, int col)
{
	return (int)strtol(PQgetvalue(r, row, col), NULL, 10);
}

/* Parse "{a,b,...}" into exactly n integers; -EINVAL otherwise. */
static int parse_int_array(const char *s, int *out, int n)
{
	const char *p = s;
	if (*p++ != '{')
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v > CCS_SCHED_MINUTES_PER_DAY)
			return -EINVAL;
		out[i] = (int)v;
		p = end;
		if (*p != (i + 1 < n ? ',' : '}'))
			return -EINVAL;
		p++;
	}
	return 0;
}

static int hours_from(const char *s, ccs_sched_hours h[7])
{
	int v[14];
	int rc = parse_int_array(s, v, 14);
	if (rc)
		return rc;
	for (int i = 0; i < 7; i++)
		h[i] = (ccs_sched_hours){v[2 * i], v[2 * i + 1]};
	return 0;
}

void ccs_sched_store_hours_literal(const ccs_sched_hours h[7], char out[128])
{
	size_t pos = 0;
	out[pos++] = '{';
	for (int i = 0; i < 7; i++)
		pos += (size_t)snprintf(out + pos, 128 - pos, "%s%d,%d", i ? "," : "", h[i].start_min,
					h[i].end_min);
	snprintf(out + pos, 128 - pos, "}");
}

/* Every write here whose rows and count nobody reads and whose failure nobody handles (the
 * handler's own rows, savepoints): queued, it travels with the next read or the commit. */
int ccs_sched_store_exec(ccs_tx *tx, const char *sql, int n, const char *const *p, ccs_svc_err *err)
{
	return ccs_tx_write(tx, sql, n, p, err);
}

int ccs_sched_store_savepoint(ccs_tx *tx, const char *name, ccs_sched_store_sp op, ccs_svc_err *err)
{
	static const char *const verbs[] = {"SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT "};
	char sql[96];
	snprintf(sql, sizeof(sql), "%s%s", verbs[op], name);
	return ccs_sched_store_exec(tx, sql, 0, NULL, err);
}

/*
 * One statement for the whole snapshot (it used to be five round trips, and the appointments
 * part read every booked appointment of every MTU): rows tagged by part, k = 0 the MTU, 1 its
 * therapists, 2 its rooms, 3 its closures of the window, 4 the booked appointments that
 * matter, 5 the IEP blocks of iep_case. The appointments come in three parts, each bound by
 * the leading columns of its index (0004_booking_indexes.sql): the MTU's own by (mtu_id, day);
 * its therapists' at other MTUs by (therapist_id, mtu_id, day), as the ranges below and above
 * this MTU; the children's at other MTUs by (case_id, day). The last two are LATERAL with
 * OFFSET 0, which keeps them per therapist and per child: flattened into joins, the planner
 * (estimating from a small or unanalyzed table) drove them from the appointments of every MTU
 * named below or above this one. A row can come twice (a child's appointment with one of this
 * MTU's therapists elsewhere): a duplicate interval blocks nothing more. Rooms of other MTUs
 * are dropped so that equal room names do not collide. `status <> 'cancelled'` is status =
 * 'booked' in a form the partial indexes cannot serve (see the migration).
 */
#define SNAP_APPT_ELSEWHERE(bound)                                                                           \
	"SELECT x.therapist_id, x.case_id::text, x.day::text, x.start_min, x.end_min FROM appointments x"    \
	" WHERE " bound " AND x.status <> 'cancelled' AND x.day BETWEEN $2 AND $3"
static const char snapshot_sql
	[] = "SELECT 0, county, disciplines::text, open_hours::text, NULL, NULL::int, NULL::int FROM mtus"
	     " WHERE mtu_id = $1"
	     " UNION ALL SELECT 1, therapist_id, discipline::text, hours::text, NULL, NULL, NULL FROM "
	     "therapists"
	     " WHERE mtu_id = $1"
	     " UNION ALL SELECT 2, room_id, uses::text, NULL, NULL, NULL, NULL FROM rooms WHERE mtu_id = $1"
	     " UNION ALL SELECT 3, first_day::text, last_day::text, NULL, NULL, NULL, NULL FROM closures"
	     " WHERE mtu_id = $1 AND last_day >= $2 AND first_day <= $3"
	     " UNION ALL SELECT 4, therapist_id, room_id, case_id::text, day::text, start_min, end_min"
	     " FROM appointments WHERE mtu_id = $1 AND status <> 'cancelled' AND day BETWEEN $2 AND $3"
	     " UNION ALL SELECT 4, a.therapist_id, NULL, a.case_id, a.day, a.start_min, a.end_min FROM "
	     "therapists t"
	     " CROSS JOIN LATERAL (" SNAP_APPT_ELSEWHERE("x.therapist_id = t.therapist_id AND x.mtu_id < $1") " UNION ALL " SNAP_APPT_ELSEWHERE(
		     "x.therapist_id = t.therapist_id AND x.mtu_id > $1") " OFFSET 0) a"
									  " WHERE t.mtu_id = $1"
									  " UNION ALL SELECT 4, "
									  "a.therapist_id, NULL, a.case_id, "
									  "a.day, a.start_min, a.end_min"
									  " FROM unnest($4::uuid[]) c(id)"
									  " CROSS JOIN LATERAL "
									  "(" SNAP_APPT_ELSEWHERE(
										  "x.case_id = c.id AND "
										  "x.mtu_id <> $1") " OFFSET "
												    "0) a"
												    " UNION "
												    "ALL "
												    "SELECT "
												    "5, "
												    "weekday:"
												    ":text, "
												    "effectiv"
												    "e_date::"
												    "text, "
												    "until_"
												    "date::"
												    "text, "
												    "NULL, "
												    "start_"
												    "min, "
												    "end_min"
												    " FROM "
												    "iep_"
												    "blocks "
												    "WHERE "
												    "case_id "
												    "= "
												    "$5::"
												    "uuid";

static ccs_date opt_date(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : ccs_date_parse(PQgetvalue(r, row, col));
}

/* The rows of one part of a snapshot result into the out struct; poison on malformed hours. */
static int snapshot_rows(ccs_arena *a, const PGresult *r, const char *mtu_id, ccs_sched_store_mtu *out,
			 ccs_svc_err *err)
{
	size_t n[6] = {0}, nrows = (size_t)PQntuples(r);
	for (size_t i = 0; i < nrows; i++) {
		int k = int_val(r, (int)i, 0);
		if (k >= 0 && k < 6)
			n[k]++;
	}
	ccs_sched_snapshot *s = &out->snap;
	ccs_sched_therapist *th = ccs_arena_alloc(a, (n[1] + 1) * sizeof(*th));
	ccs_sched_room *rm = ccs_arena_alloc(a, (n[2] + 1) * sizeof(*rm));
	ccs_sched_closure *cl = ccs_arena_alloc(a, (n[3] + 1) * sizeof(*cl));
	ccs_sched_appt *ap = ccs_arena_alloc(a, (n[4] + 1) * sizeof(*ap));
	ccs_sched_iep_block *ib = ccs_arena_alloc(a, (n[5] + 1) * sizeof(*ib));
	s->therapists = th;
	s->rooms = rm;
	s->closures = cl;
	s->appts = ap;
	out->iep = ib;
	for (size_t i = 0; i < nrows; i++) {
		int row = (int)i;
		switch (int_val(r, row, 0)) {
		case 0:
			out->mtu_id = ccs_arena_strdup(a, mtu_id);
			out->county = dup_val(a, r, row, 1);
			out->disciplines = (unsigned)int_val(r, row, 2);
			if (hours_from(PQgetvalue(r, row, 3), s->open) != 0)
				return ccs_svc_poison(err, "data", "mtu %s has malformed hours", mtu_id);
			break;
		case 1: {
			ccs_sched_therapist *t = &th[s->n_therapists++];
			t->id = dup_val(a, r, row, 1);
			t->discipline = int_val(r, row, 2);
			if (hours_from(PQgetvalue(r, row, 3), t->hours) != 0)
				return ccs_svc_poison(err, "data", "therapist %s has malformed hours", t->id);
			break;
		}
		case 2:
			rm[s->n_rooms++] = (ccs_sched_room){dup_val(a, r, row, 1),
							    (unsigned)int_val(r, row, 2)};
			break;
		case 3:
			cl[s->n_closures++] = (ccs_sched_closure){ccs_date_parse(PQgetvalue(r, row, 1)),
								  ccs_date_parse(PQgetvalue(r, row, 2))};
			break;
		case 4:
			ap[s->n_appts++] =
				(ccs_sched_appt){dup_val(a, r, row, 1), dup_val(a, r, row, 2),
						 dup_val(a, r, row, 3), ccs_date_parse(PQgetvalue(r, row, 4)),
						 int_val(r, row, 5),    int_val(r, row, 6)};
			break;
		case 5:
			ib[out->n_iep++] = (ccs_sched_iep_block){int_val(r, row, 1), int_val(r, row, 5),
								 int_val(r, row, 6), opt_date(r, row, 2),
								 opt_date(r, row, 3)};
			break;
		}
	}
	return 0;
}

int ccs_sched_store_load_mtu(ccs_tx *tx, ccs_arena *a, const char *mtu_id, const char *case_ids,
			     const char *iep_case, ccs_date from, ccs_date to, ccs_sched_store_mtu *out,
			     int *found, ccs_svc_err *err)
{
	if (!a)
		a = ccs_tx_arena(tx);
	char f[11], t[11];
	int rc;

	memset(out, 0, sizeof(*out));
	*found = 0;
	ccs_date_format(from, f);
	ccs_date_format(to, t);
	const char *p[5] = {mtu_id, f, t, case_ids ? case_ids : "{}", iep_case};
	PGresult *r = ccs_tx_query(tx, snapshot_sql, 5, p, &rc, err);
	if (!r)
		return rc;
	rc = snapshot_rows(a, r, mtu_id, out, err);
	*found = rc == 0 && out->mtu_id != NULL;
	PQclear(r);
	return rc;
}

int ccs_sched_store_load_iep(ccs_tx *tx, ccs_sched_child *ch, ccs_svc_err *err)
{
	return ccs_sched_store_load_ieps(tx, ccs_tx_arena(tx), &ch, 1, err);
}

int ccs_sched_store_load_ieps(ccs_tx *tx, ccs_arena *a, ccs_sched_child *const *ch, size_t n,
			      ccs_svc_err *err)
{
	int rc;
	size_t cap = 3;
	for (size_t i = 0; i < n; i++) {
		ch[i]->iep = NULL;
		ch[i]->n_iep = 0;
		cap += strlen(ch[i]->child_id) + 1;
	}
	if (!n)
		return 0;
	char *ids = ccs_arena_alloc(a, cap);
	size_t pos = 0;
	ids[pos++] = '{';
	for (size_t i = 0; i < n; i++)
		pos += (size_t)snprintf(ids + pos, cap - pos, "%s%s", i ? "," : "", ch[i]->child_id);
	snprintf(ids + pos, cap - pos, "}");
	const char *p[1] = {ids};
	PGresult *r = ccs_tx_query(
		tx,
		"SELECT case_id, weekday, start_min, end_min, effective_date, until_date FROM iep_blocks"
		" WHERE case_id = ANY ($1::uuid[]) ORDER BY case_id, weekday, start_min",
		1, p, &rc, err);
	if (!r)
		return rc;
	size_t rows = (size_t)PQntuples(r);
	ccs_sched_iep_block *b = ccs_arena_alloc(a, (rows + 1) * sizeof(*b));
	/* Each child's blocks are one run of the result (ordered by case); child ids are canonical
	 * (ccs_sched__canon_uuid), as PostgreSQL writes case_id. */
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < rows && strcmp(PQgetvalue(r, (int)k, 0), ch[i]->child_id) != 0)
			k++;
		if (k == rows)
			continue;
		ch[i]->iep = &b[k];
		for (; k < rows && strcmp(PQgetvalue(r, (int)k, 0), ch[i]->child_id) == 0; k++) {
			b[k] = (ccs_sched_iep_block){int_val(r, (int)k, 1), int_val(r, (int)k, 2),
						     int_val(r, (int)k, 3), opt_date(r, (int)k, 4),
						     opt_date(r, (int)k, 5)};
			ch[i]->n_iep++;
		}
	}
	PQclear(r);
	return 0;
}

/*
 * ON CONFLICT DO NOTHING: an exclusion (therapist, room or child busy: another transaction
 * booked them meanwhile, PostgreSQL waited for it) inserts nothing instead of aborting the
 * transaction, so a single booking needs no savepoint and the insert can go through the engine
 * (prepared, pipelined with the writes queued before it). The clause would also swallow a
 * duplicate key, which is a fault of the data, not a race: told apart by a look at the row in
 * the way, on that rare path only.
 */
int ccs_sched_store_insert_appt(ccs_tx *tx, const ccs_sched_store_appt *a, const char *event_id,
				int *conflict, ccs_svc_err *err)
{
	char disc[8], day[11], st[8], en[8];
	int rc;

	*conflict = 0;
	snprintf(disc, sizeof(disc), "%d", a->discipline);
	ccs_date_format(a->day, day);
	snprintf(st, sizeof(st), "%d", a->start_min);
	snprintf(en, sizeof(en), "%d", a->end_min);
	const char *p[13] = {a->appointment_id, a->case_id, a->mtu_id, a->therapist_id, a->room_id,
			     disc, a->kind, a->prescription_id, a->conference_id, day, st, en, event_id};
	PGresult *r =
		ccs_tx_query(tx,
			     "INSERT INTO appointments(appointment_id, case_id, mtu_id, therapist_id,"
			     " room_id, discipline, kind, prescription_id, conference_id, day, start_min,"
			     " end_min, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
			     " $12, $13) ON CONFLICT DO NOTHING",
			     13, p, &rc, err);
	if (!r)
		return rc;
	int inserted = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (inserted)
		return 0;
	const char *q[4] = {a->appointment_id, a->case_id, disc, a->kind};
	r = ccs_tx_query(
		tx,
		"SELECT 1 FROM appointments WHERE appointment_id = $1 OR ($4 = 'evaluation'"
		" AND kind = 'evaluation' AND status = 'booked' AND case_id = $2 AND discipline = $3::int)",
		4, q, &rc, err);
	if (!r)
		return rc;
	int duplicate = PQntuples(r) > 0;
	PQclear(r);
	if (duplicate)
		return ccs_svc_poison(err, "data", "23505: appointment %s duplicates a booked one",
				      a->appointment_id);
	*conflict = 1;
	return 0;
}

/* ---------------------------------------------------------------- handler rows */

static const char *fmt_d(ccs_arena *a, ccs_date d)
{
	if (d == CCS_DATE_INVALID)
		return NULL;
	char *b = ccs_arena_alloc(a, 11);
	ccs_date_format(d, b);
	return b;
}

static const char *fmt_i(ccs_arena *a, long v)
{
	return ccs_arena_printf(a, "%ld", v);
}

static ccs_date date_val(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? CCS_DATE_INVALID : ccs_date_parse(PQgetvalue(r, row, col));
}

static int bool_val(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

/* A query whose rows the caller reads: NULL with *rc set on failure. */
#define QUERY(tx, sql, n, p, rc, err) ccs_tx_query((tx), (sql), (n), (p), (rc), (err))

#define CHILD_COLS                                                                                           \
	"county, school_district, mtu_id, eligibility, status, at_risk, appeal_continues, age_out_on,"       \
	" eligible_on, lea_referred, eval_disciplines, school_noticed, conference_months"

void ccs_sched_store_child_init(ccs_sched_store_child *c, const char *case_id)
{
	memset(c, 0, sizeof(*c));
	c->case_id = case_id;
	c->county = "";
	c->eligibility = "UNSPECIFIED";
	c->status = "NEVER_DECIDED";
	c->age_out_on = c->eligible_on = CCS_DATE_INVALID;
}

/* CHILD_COLS from column `col` on into c. */
static void child_row(ccs_arena *a, const PGresult *r, int row, int col, ccs_sched_store_child *c)
{
	c->county = dup_val(a, r, row, col);
	c->district = dup_val(a, r, row, col + 1);
	c->mtu_id = dup_val(a, r, row, col + 2);
	c->eligibility = dup_val(a, r, row, col + 3);
	c->status = dup_val(a, r, row, col + 4);
	c->at_risk = bool_val(r, row, col + 5);
	c->appeal_continues = bool_val(r, row, col + 6);
	c->age_out_on = date_val(r, row, col + 7);
	c->eligible_on = date_val(r, row, col + 8);
	c->lea_referred = bool_val(r, row, col + 9);
	c->eval_disciplines = (unsigned)int_val(r, row, col + 10);
	c->school_noticed = bool_val(r, row, col + 11);
	c->conference_months = int_val(r, row, col + 12);
}

int ccs_sched_store_children_lock(ccs_tx *tx, const char *const *case_ids, size_t n,
				  ccs_sched_store_child **out, size_t *nout, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[1] = {ccs_pg_text_array(a, case_ids, n)};
	/* In case order: two transactions locking overlapping sets cannot deadlock. */
	PGresult *r = QUERY(tx,
			    "SELECT case_id, " CHILD_COLS " FROM children WHERE case_id = ANY ($1::uuid[])"
			    " ORDER BY case_id FOR UPDATE",
			    1, p, &rc, err);
	*nout = 0;
	if (!r)
		return rc;
	size_t cnt = (size_t)PQntuples(r);
	ccs_sched_store_child *c = ccs_arena_alloc(a, (cnt + 1) * sizeof(*c));
	for (size_t i = 0; i < cnt; i++) {
		ccs_sched_store_child_init(&c[i], dup_val(a, r, (int)i, 0));
		child_row(a, r, (int)i, 1, &c[i]);
	}
	PQclear(r);
	*out = c;
	*nout = cnt;
	return 0;
}

int ccs_sched_store_child_get(ccs_tx *tx, const char *case_id, int for_update, ccs_sched_store_child *c,
			      int *found, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[1] = {case_id};
	PGresult *r = QUERY(tx,
			    for_update ? "SELECT " CHILD_COLS " FROM children WHERE case_id = $1 FOR UPDATE"
				       : "SELECT " CHILD_COLS " FROM children WHERE case_id = $1",
			    1, p, &rc, err);
	ccs_sched_store_child_init(c, case_id);
	*found = 0;
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		*found = 1;
		child_row(a, r, 0, 0, c);
	}
	PQclear(r);
	return 0;
}

/* Rows as columns: each column a text[] literal (one statement, whatever the count). */
#define COLS_MAX 15
typedef struct rowcols {
	ccs_arena *a;
	size_t n, ncols;
	const char **v; /* ncols x n */
} rowcols;

static void cols_init(rowcols *k, ccs_arena *a, size_t ncols, size_t n)
{
	*k = (rowcols){a, n, ncols, ccs_arena_alloc(a, (ncols * n + 1) * sizeof(*k->v))};
}

static void cols_params(const rowcols *k, const char **p)
{
	for (size_t j = 0; j < k->ncols; j++)
		p[j] = ccs_pg_text_array(k->a, k->v + j * k->n, k->n);
}

int ccs_sched_store_children_put(ccs_tx *tx, const ccs_sched_store_child *const *c,
				 const char *const *decision_ids, size_t n, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char *p[COLS_MAX];
	rowcols k;
	if (!n)
		return 0;
	cols_init(&k, a, 15, n);
	for (size_t i = 0; i < n; i++) {
		const char *row[15] = {c[i]->case_id,
				       c[i]->county ? c[i]->county : "",
				       c[i]->eligibility,
				       c[i]->status,
				       strcmp(c[i]->status, "ELIGIBLE") == 0 ? "t" : "f",
				       c[i]->at_risk ? "t" : "f",
				       fmt_d(a, c[i]->age_out_on),
				       fmt_d(a, c[i]->eligible_on),
				       c[i]->lea_referred ? "t" : "f",
				       decision_ids[i],
				       c[i]->district,
				       c[i]->mtu_id,
				       c[i]->appeal_continues ? "t" : "f",
				       fmt_i(a, (long)c[i]->eval_disciplines),
				       c[i]->school_noticed ? "t" : "f"};
		for (size_t j = 0; j < 15; j++)
			k.v[j * n + i] = row[j];
	}
	cols_params(&k, p);
	/* One row per child: ON CONFLICT DO UPDATE cannot touch a row twice in one statement. */
	return ccs_sched_store_exec(
		tx,
		"INSERT INTO children(case_id, county, eligibility, status, mtp_eligible, at_risk, "
		"age_out_on,"
		" eligible_on, lea_referred, last_decision_id, school_district, mtu_id, appeal_continues,"
		" eval_disciplines, school_noticed)"
		" SELECT id::uuid, cy, el, st, me::boolean, ar::boolean, ao::date, eo::date, lr::boolean, "
		"ld, sd, mu,"
		" ac::boolean, ed::int, sn::boolean FROM unnest($1::text[], $2::text[], $3::text[], "
		"$4::text[],"
		" $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], "
		"$12::text[],"
		" $13::text[], $14::text[], $15::text[]) x(id, cy, el, st, me, ar, ao, eo, lr, ld, sd, mu, "
		"ac, ed, sn)"
		" ON CONFLICT (case_id) DO UPDATE SET county = EXCLUDED.county, eligibility = "
		"EXCLUDED.eligibility,"
		" status = EXCLUDED.status, mtp_eligible = EXCLUDED.mtp_eligible, at_risk = EXCLUDED.at_risk,"
		" age_out_on = EXCLUDED.age_out_on, eligible_on = COALESCE(children.eligible_on, "
		"EXCLUDED.eligible_on),"
		" lea_referred = EXCLUDED.lea_referred, last_decision_id = EXCLUDED.last_decision_id,"
		" school_district = EXCLUDED.school_district, mtu_id = EXCLUDED.mtu_id,"
		" appeal_continues = EXCLUDED.appeal_continues, eval_disciplines = EXCLUDED.eval_disciplines,"
		" school_noticed = EXCLUDED.school_noticed, updated_at = now()",
		15, p, err);
}

int ccs_sched_store_child_put(ccs_tx *tx, const ccs_sched_store_child *c, const char *decision_id,
			      ccs_svc_err *err)
{
	return ccs_sched_store_children_put(tx, &c, &decision_id, 1, err);
}

/* "{a,b,...}" of uuids (no quoting needed). */
static const char *uuid_array(ccs_arena *a, const char *const *ids, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += strlen(ids[i]) + 1;
	char *arr = ccs_arena_alloc(a, cap);
	size_t pos = 0;
	arr[pos++] = '{';
	for (size_t i = 0; i < n; i++)
		pos += (size_t)snprintf(arr + pos, cap - pos, "%s%s", i ? "," : "", ids[i]);
	arr[pos++] = '}';
	arr[pos] = '\0';
	return arr;
}

int ccs_sched_store_inputs(ccs_tx *tx, const ccs_sched_store_input *in, size_t n, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char *p[COLS_MAX];
	rowcols k;
	if (!n)
		return 0;
	cols_init(&k, a, 6, n);
	for (size_t i = 0; i < n; i++) {
		const char *row[6] = {in[i].event_id, in[i].source,  in[i].kind,
				      in[i].case_id,  in[i].outcome, uuid_array(a, in[i].ids, in[i].n_ids)};
		for (size_t j = 0; j < 6; j++)
			k.v[j * n + i] = row[j];
	}
	cols_params(&k, p);
	return ccs_sched_store_exec(
		tx,
		"INSERT INTO inputs(event_id, source, request_kind, case_id, outcome, decision_ids)"
		" SELECT e, s, k, c, o, d::uuid[]"
		" FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])"
		" x(e, s, k, c, o, d)",
		6, p, err);
}

int ccs_sched_store_notice(ccs_tx *tx, const char *decision_id, const char *case_id, const char *kind,
			   int identified, ccs_date effective, const char *event_id, ccs_svc_err *err)
{
	const char *p[6] = {decision_id, case_id, kind, identified ? "true" : "false",
			    fmt_d(ccs_tx_arena(tx), effective), event_id};
	return ccs_sched_store_exec(tx,
				    "INSERT INTO notices(decision_id, case_id, kind, release_on_file, effective_date,"
				    " event_id) VALUES ($1, $2, $3, $4, $5, $6)",
				    6, p, err);
}

int ccs_sched_store_release_get(ccs_tx *tx, const char *case_id, ccs_sched_release *rel, const char **district,
				const char **student_id, int *found, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[1] = {case_id};
	PGresult *r = QUERY(tx,
			    "SELECT status, effective_date, expiry_date, scopes, school_district, student_id"
			    " FROM releases WHERE case_id = $1",
			    1, p, &rc, err);
	memset(rel, 0, sizeof(*rel));
	rel->effective = rel->expiry = CCS_DATE_INVALID;
	*district = *student_id = NULL;
	*found = 0;
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		*found = 1;
		rel->on_file = strcmp(PQgetvalue(r, 0, 0), "on_file") == 0;
		rel->effective = date_val(r, 0, 1);
		rel->expiry = date_val(r, 0, 2);
		rel->scopes = (unsigned)int_val(r, 0, 3);
		*district = dup_val(a, r, 0, 4);
		*student_id = dup_val(a, r, 0, 5);
	}
	PQclear(r);
	return 0;
}

int ccs_sched_store_release_put(ccs_tx *tx, const char *case_id, const char *release_id, int on_file,
				ccs_date effective, ccs_date expiry, unsigned scopes, const char *district,
				const char *student_id, const char *event_id, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char *p[9] = {case_id, release_id, on_file ? "on_file" : "revoked", fmt_d(a, effective), district,
			    on_file ? student_id : NULL, event_id, fmt_d(a, expiry), fmt_i(a, (long)scopes)};
	/* A revocation forgets the student id at once; the district stays for MTU selection. */
	return ccs_sched_store_exec(tx,
				    "INSERT INTO releases(case_id, release_id, status, effective_date, school_district,"
				    " student_id, event_id, expiry_date, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
				    " ON CONFLICT (case_id) DO UPDATE SET release_id = $2, status = $3, effective_date = $4,"
				    " school_district = COALESCE($5, releases.school_district), student_id = $6,"
				    " event_id = $7, expiry_date = $8, scopes = $9",
				    9, p, err);
}

int ccs_sched_store_wl_insert(ccs_tx *tx, const char *entry_id, const ccs_sched_waitlist_entry *e,
			      const ccs_sched_store_wl_row *w, const char *reason, const char *event_id,
			      ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char *p[14] = {entry_id, w->case_id, w->mtu_id, w->county ? w->county : "", fmt_i(a, e->discipline),
			     w->kind, w->prescription_id, fmt_i(a, e->minutes), fmt_i(a, (long)e->flags),
			     fmt_d(a, e->age_out_on), ccs_arena_printf(a, "%lld", (long long)e->waitlisted_at), reason,
			     event_id, w->appointment_id};
	return ccs_sched_store_exec(tx,
				    "INSERT INTO waitlist(entry_id, case_id, mtu_id, county, discipline, kind,"
				    " prescription_id, minutes, flags, age_out_on, waitlisted_ms, reason, event_id,"
				    " appointment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
				    14, p, err);
}

/*
 * The waitlist policy's order in SQL, so that PostgreSQL counts the entries ahead of a new one
 * and hands out only the first few instead of shipping the whole list (it was read in full for
 * every Waitlisted position). The engine's rule (ccs_sched_waitlist_tier): an entry's tier is
 * the first criterion of the policy it meets, else n_tiers; then waitlisted_ms, then entry_id.
 * Here each criterion gets its rank in the policy ($3 at-risk infant, $4 post-surgical, $5
 * aging out, $6 = n_tiers when absent) and the tier is the least rank met; aging out is
 * age_out_on <= $7, the date the policy's months after asof. Entry ids are canonical (lower
 * case) UUIDs, whose uuid order is their string order.
 */
#define WL_TIER                                                                                              \
	"LEAST($6::int, CASE WHEN flags & 1 <> 0 THEN $3::int ELSE $6::int END,"                             \
	" CASE WHEN flags & 2 <> 0 THEN $4::int ELSE $6::int END,"                                           \
	" CASE WHEN age_out_on <= $7::date THEN $5::int ELSE $6::int END)"
/* $1 the MTU (or, none, the county: mtu_id IS NOT DISTINCT FROM would bind no index), $2 the
 * discipline or NULL. */
#define WL_SCOPE_MTU " WHERE status = 'waiting' AND mtu_id = $1 AND ($2::int IS NULL OR discipline = $2::int)"
#define WL_SCOPE_COUNTY                                                                                      \
	" WHERE status = 'waiting' AND mtu_id IS NULL AND lower(county) = lower($1)"                         \
	" AND ($2::int IS NULL OR discipline = $2::int)"

/* $1..$7 of WL_SCOPE_* and WL_TIER into p (7 slots). */
static void wl_params(ccs_arena *a, const char *mtu_id, const char *county, int discipline,
		      const ccs_sched_wl_policy *pol, ccs_date asof, const char **p)
{
	size_t nt = pol->n_tiers < CCS_SCHED_WL_MAX_TIERS ? pol->n_tiers : CCS_SCHED_WL_MAX_TIERS;
	int rank[3] = {(int)nt, (int)nt, (int)nt};
	for (size_t i = nt; i-- > 0;) {
		int c = (int)pol->tiers[i];
		if (c >= CCS_SCHED_WL_AT_RISK_INFANT && c <= CCS_SCHED_WL_AGING_OUT)
			rank[c - 1] = (int)i;
	}
	p[0] = mtu_id ? mtu_id : (county ? county : "");
	p[1] = discipline ? fmt_i(a, discipline) : NULL;
	p[2] = fmt_i(a, rank[0]);
	p[3] = fmt_i(a, rank[1]);
	p[4] = fmt_i(a, rank[2]);
	p[5] = fmt_i(a, (long)nt);
	p[6] = asof == CCS_DATE_INVALID ? NULL : fmt_d(a, ccs_date_add_months(asof, pol->aging_out_months));
}

int ccs_sched_store_wl_load(ccs_tx *tx, ccs_arena *a, const char *mtu_id, const char *county, int discipline,
			    const ccs_sched_wl_policy *pol, ccs_date asof, int singles_only, size_t max,
			    ccs_sched_waitlist_entry **entries, ccs_sched_store_wl_row **rows, size_t *n,
			    ccs_svc_err *err)
{
	if (!a)
		a = ccs_tx_arena(tx);
	int rc;
	const char *p[8];
	wl_params(a, mtu_id, county, discipline, pol, asof, p);
	p[7] = max ? fmt_i(a, (long)max) : NULL;
	const char *cols = "SELECT entry_id, case_id, discipline, minutes, flags, age_out_on, waitlisted_ms,"
			   " not_before, kind, prescription_id, county, appointment_id, mtu_id FROM waitlist";
	const char *sql =
		ccs_arena_printf(a, "%s%s%s ORDER BY " WL_TIER ", waitlisted_ms, entry_id LIMIT $8::bigint",
				 cols, mtu_id ? WL_SCOPE_MTU : WL_SCOPE_COUNTY,
				 singles_only ? " AND kind <> 'series'" : "");
	PGresult *r = QUERY(tx, sql, 8, p, &rc, err);
	*n = 0;
	if (!r)
		return rc;
	size_t cnt = (size_t)PQntuples(r);
	ccs_sched_waitlist_entry *e = ccs_arena_alloc(a, (cnt + 1) * sizeof(*e));
	ccs_sched_store_wl_row *w = ccs_arena_alloc(a, (cnt + 1) * sizeof(*w));
	for (size_t i = 0; i < cnt; i++) {
		int row = (int)i;
		memset(&e[i], 0, sizeof(e[i]));
		e[i].entry_id = dup_val(a, r, row, 0);
		e[i].child.child_id = dup_val(a, r, row, 1);
		e[i].discipline = int_val(r, row, 2);
		e[i].minutes = int_val(r, row, 3);
		e[i].flags = (unsigned)strtoul(PQgetvalue(r, row, 4), NULL, 10);
		e[i].age_out_on = date_val(r, row, 5);
		e[i].waitlisted_at = strtoll(PQgetvalue(r, row, 6), NULL, 10);
		e[i].not_before = date_val(r, row, 7);
		w[i].kind = dup_val(a, r, row, 8);
		w[i].prescription_id = dup_val(a, r, row, 9);
		w[i].case_id = e[i].child.child_id;
		w[i].county = dup_val(a, r, row, 10);
		w[i].appointment_id = dup_val(a, r, row, 11);
		w[i].mtu_id = dup_val(a, r, row, 12);
	}
	PQclear(r);
	*entries = e;
	*rows = w;
	*n = cnt;
	return 0;
}

int ccs_sched_store_wl_ahead(ccs_tx *tx, const char *mtu_id, const char *county,
			     const ccs_sched_wl_policy *pol, ccs_date asof, const ccs_sched_waitlist_entry *e,
			     size_t *ahead, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[10];
	wl_params(a, mtu_id, county, e->discipline, pol, asof, p);
	p[7] = fmt_i(a, ccs_sched_waitlist_tier(pol, asof, e));
	p[8] = ccs_arena_printf(a, "%lld", (long long)e->waitlisted_at);
	p[9] = e->entry_id;
	const char *sql = ccs_arena_printf(a,
					   "SELECT count(*) FROM waitlist%s AND (" WL_TIER
					   ", waitlisted_ms, entry_id)"
					   " < ($8::int, $9::bigint, $10::uuid)",
					   mtu_id ? WL_SCOPE_MTU : WL_SCOPE_COUNTY);
	PGresult *r = QUERY(tx, sql, 10, p, &rc, err);
	*ahead = 0;
	if (!r)
		return rc;
	*ahead = (size_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

int ccs_sched_store_wl_resolve(ccs_tx *tx, const char *entry_id, const char *status, const char *event_id,
			       ccs_svc_err *err)
{
	const char *p[3] = {entry_id, status, event_id};
	return ccs_sched_store_exec(tx, "UPDATE waitlist SET status = $2, resolved_event = $3 WHERE entry_id = $1", 3,
				    p, err);
}

int ccs_sched_store_wl_remove_case(ccs_tx *tx, const char *case_id, const char *kind, unsigned disciplines,
				   const char *event_id, ccs_svc_err *err)
{
	const char *p[4] = {case_id, event_id, kind, disciplines ? fmt_i(ccs_tx_arena(tx), (long)disciplines) : NULL};
	return ccs_sched_store_exec(tx,
				    "UPDATE waitlist SET status = 'removed', resolved_event = $2 WHERE case_id = $1"
				    " AND status = 'waiting' AND ($3::text IS NULL OR kind = $3)"
				    " AND ($4::int IS NULL OR discipline & $4::int <> 0)",
				    4, p, err);
}

#define APPT_COLS                                                                                          \
	"appointment_id, case_id, mtu_id, therapist_id, room_id, discipline, kind, prescription_id,"      \
	" conference_id, day, start_min, end_min, status"

static void appt_row(ccs_arena *a, const PGresult *r, int row, ccs_sched_store_booked_appt *x)
{
	x->a.appointment_id = dup_val(a, r, row, 0);
	x->a.case_id = dup_val(a, r, row, 1);
	x->a.mtu_id = dup_val(a, r, row, 2);
	x->a.therapist_id = dup_val(a, r, row, 3);
	x->a.room_id = dup_val(a, r, row, 4);
	x->a.discipline = int_val(r, row, 5);
	x->a.kind = dup_val(a, r, row, 6);
	x->a.prescription_id = dup_val(a, r, row, 7);
	x->a.conference_id = dup_val(a, r, row, 8);
	x->a.day = date_val(r, row, 9);
	x->a.start_min = int_val(r, row, 10);
	x->a.end_min = int_val(r, row, 11);
	x->cancelled = strcmp(PQgetvalue(r, row, 12), "cancelled") == 0;
}

int ccs_sched_store_appt_get(ccs_tx *tx, const char *appointment_id, ccs_sched_store_booked_appt *out,
			     int *found, ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {appointment_id};
	PGresult *r = QUERY(tx, "SELECT " APPT_COLS " FROM appointments WHERE appointment_id = $1 FOR UPDATE", 1,
			    p, &rc, err);
	*found = 0;
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		appt_row(ccs_tx_arena(tx), r, 0, out);
		*found = 1;
	}
	PQclear(r);
	return 0;
}

int ccs_sched_store_appts_booked(ccs_tx *tx, const char *case_id, const char *mtu_id, ccs_date from,
				 const char *kind, unsigned disciplines, ccs_sched_store_booked_appt **out,
				 size_t *n, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[5] = {case_id, mtu_id, fmt_d(a, from), kind, disciplines ? fmt_i(a, (long)disciplines) : NULL};
	PGresult *r = QUERY(
		tx,
		"SELECT " APPT_COLS " FROM appointments WHERE status <> 'cancelled'"
		" AND ($1::uuid IS NULL OR case_id = $1::uuid) AND ($2::text IS NULL OR mtu_id = $2)"
		" AND day >= $3::date AND case_id IS NOT NULL"
		" AND (CASE WHEN $4::text IS NULL THEN kind IN ('evaluation', 'therapy') ELSE kind = $4 END)"
		" AND ($5::int IS NULL OR discipline & $5::int <> 0)"
		" ORDER BY day, start_min, appointment_id",
		5, p, &rc, err);
	*n = 0;
	if (!r)
		return rc;
	size_t cnt = (size_t)PQntuples(r);
	ccs_sched_store_booked_appt *x = ccs_arena_alloc(a, (cnt + 1) * sizeof(*x));
	for (size_t i = 0; i < cnt; i++)
		appt_row(a, r, (int)i, &x[i]);
	PQclear(r);
	*out = x;
	*n = cnt;
	return 0;
}

int ccs_sched_store_appt_cancel(ccs_tx *tx, const char *appointment_id, const char *conference_id,
				const char *reason, const char *event_id, ccs_svc_err *err)
{
	const char *p[4] = {appointment_id, reason, event_id, conference_id};
	return ccs_sched_store_exec(tx,
				    "UPDATE appointments SET status = 'cancelled', cancel_reason = $2, cancel_event_id = $3"
				    " WHERE status = 'booked' AND (appointment_id = $1::uuid OR conference_id = $4)",
				    4, p, err);
}

static int mask_query(ccs_tx *tx, const char *sql, int n, const char *const *p, unsigned *mask, ccs_svc_err *err)
{
	int rc;
	PGresult *r = QUERY(tx, sql, n, p, &rc, err);
	*mask = 0;
	if (!r)
		return rc;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		*mask = (unsigned)int_val(r, 0, 0);
	PQclear(r);
	return 0;
}

int ccs_sched_store_evaluations_open(ccs_tx *tx, const char *case_id, unsigned *disciplines, ccs_svc_err *err)
{
	const char *p[1] = {case_id};
	return mask_query(
		tx,
		"SELECT COALESCE(bit_or(discipline), 0) FROM (SELECT discipline FROM appointments"
		" WHERE case_id = $1 AND kind = 'evaluation' AND status <> 'cancelled'"
		" UNION ALL SELECT discipline FROM waitlist WHERE case_id = $1 AND kind = 'evaluation'"
		" AND status = 'waiting') x",
		1, p, disciplines, err);
}

int ccs_sched_store_disciplines_received(ccs_tx *tx, const char *case_id, ccs_date from, unsigned *disciplines,
					 ccs_svc_err *err)
{
	const char *p[2] = {case_id, fmt_d(ccs_tx_arena(tx), from)};
	return mask_query(
		tx,
		"SELECT COALESCE(bit_or(discipline), 0) FROM (SELECT discipline FROM appointments"
		" WHERE case_id = $1 AND kind = 'therapy' AND status <> 'cancelled' AND day >= $2"
		" UNION ALL SELECT discipline FROM prescriptions WHERE case_id = $1 AND status = 'booked') x",
		2, p, disciplines, err);
}

int ccs_sched_store_child_therapist(ccs_tx *tx, const char *case_id, const char *mtu_id, int discipline,
				    int evaluation_only, const char **therapist_id, ccs_svc_err *err)
{
	int rc;
	const char *p[4] = {case_id, fmt_i(ccs_tx_arena(tx), discipline), evaluation_only ? "t" : "f", mtu_id};
	PGresult *r = QUERY(tx,
			    "SELECT therapist_id FROM appointments WHERE case_id = $1 AND discipline = $2"
			    " AND status <> 'cancelled' AND ($4::text IS NULL OR mtu_id = $4)"
			    " AND (CASE WHEN $3::boolean THEN kind = 'evaluation' ELSE kind IN "
			    "('evaluation', 'therapy') END)"
			    " ORDER BY day DESC, start_min DESC LIMIT 1",
			    4, p, &rc, err);
	*therapist_id = NULL;
	if (!r)
		return rc;
	if (PQntuples(r) == 1)
		*therapist_id = dup_val(ccs_tx_arena(tx), r, 0, 0);
	PQclear(r);
	return 0;
}

#define RX_COLS                                                                                            \
	"prescription_id, case_id, mtu_id, discipline, sessions_per_week, weeks, minutes, start_date,"    \
	" post_surgical, status"

static void rx_row(ccs_arena *a, const PGresult *r, int row, ccs_sched_store_rx *x)
{
	x->prescription_id = dup_val(a, r, row, 0);
	x->case_id = dup_val(a, r, row, 1);
	x->mtu_id = dup_val(a, r, row, 2);
	x->discipline = int_val(r, row, 3);
	x->per_week = int_val(r, row, 4);
	x->weeks = int_val(r, row, 5);
	x->minutes = int_val(r, row, 6);
	x->start_on = date_val(r, row, 7);
	x->post_surgical = bool_val(r, row, 8);
	x->status = dup_val(a, r, row, 9);
}

int ccs_sched_store_rx_get(ccs_tx *tx, const char *prescription_id, ccs_sched_store_rx *rx, int *found,
			   ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {prescription_id};
	PGresult *r = QUERY(tx, "SELECT " RX_COLS " FROM prescriptions WHERE prescription_id = $1", 1, p, &rc, err);
	*found = 0;
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		rx_row(ccs_tx_arena(tx), r, 0, rx);
		*found = 1;
	}
	PQclear(r);
	return 0;
}

int ccs_sched_store_rx_insert(ccs_tx *tx, const ccs_sched_store_rx *rx, const char *event_id, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	const char *p[11] = {rx->prescription_id, rx->case_id, rx->mtu_id, fmt_i(a, rx->discipline),
			     fmt_i(a, rx->per_week), fmt_i(a, rx->weeks), fmt_i(a, rx->minutes), fmt_d(a, rx->start_on),
			     rx->post_surgical ? "true" : "false", rx->status, event_id};
	return ccs_sched_store_exec(tx,
				    "INSERT INTO prescriptions(prescription_id, case_id, mtu_id, discipline,"
				    " sessions_per_week, weeks, minutes, start_date, post_surgical, status, event_id)"
				    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
				    11, p, err);
}

int ccs_sched_store_rx_set_status(ccs_tx *tx, const char *prescription_id, const char *status, ccs_svc_err *err)
{
	const char *p[2] = {prescription_id, status};
	return ccs_sched_store_exec(tx, "UPDATE prescriptions SET status = $2 WHERE prescription_id = $1", 2, p, err);
}

int ccs_sched_store_rx_supersede(ccs_tx *tx, const char *case_id, unsigned disciplines, const char *keep,
				 ccs_svc_err *err)
{
	const char *p[3] = {case_id, fmt_i(ccs_tx_arena(tx), (long)disciplines), keep};
	return ccs_sched_store_exec(tx,
				    "UPDATE prescriptions SET status = 'superseded' WHERE case_id = $1"
				    " AND discipline & $2::int <> 0 AND status IN ('booked', 'waitlisted')"
				    " AND prescription_id IS DISTINCT FROM $3",
				    3, p, err);
}

int ccs_sched_store_rx_current(ccs_tx *tx, const char *case_id, ccs_sched_store_rx **out, size_t *n,
			       ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[1] = {case_id};
	PGresult *r = QUERY(tx,
			    "SELECT " RX_COLS " FROM prescriptions WHERE case_id = $1 AND status = 'booked'"
			    " ORDER BY discipline, start_date DESC",
			    1, p, &rc, err);
	*n = 0;
	if (!r)
		return rc;
	size_t cnt = (size_t)PQntuples(r);
	ccs_sched_store_rx *x = ccs_arena_alloc(a, (cnt + 1) * sizeof(*x));
	for (size_t i = 0; i < cnt; i++)
		rx_row(a, r, (int)i, &x[i]);
	PQclear(r);
	*out = x;
	*n = cnt;
	return 0;
}

int ccs_sched_store_iep_replace(ccs_tx *tx, const char *case_id, const char *school_id,
				const ccs_sched_iep_block *b, const char *const *services, size_t n, ccs_date eff,
				ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[3] = {case_id, fmt_d(a, eff), fmt_d(a, eff - 1)};
	if ((rc = ccs_sched_store_exec(tx, "DELETE FROM iep_blocks WHERE case_id = $1 AND effective_date >= $2", 2, p,
				       err)) != 0 ||
	    (rc = ccs_sched_store_exec(tx,
				       "UPDATE iep_blocks SET until_date = $3 WHERE case_id = $1"
				       " AND (until_date IS NULL OR until_date >= $2)",
				       3, p, err)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		const char *q[7] = {case_id, school_id, fmt_i(a, b[i].weekday), fmt_i(a, b[i].start_min),
				    fmt_i(a, b[i].end_min), services[i], p[1]};
		rc = ccs_sched_store_exec(tx,
					  "INSERT INTO iep_blocks(case_id, school_id, weekday, start_min, end_min, service,"
					  " effective_date) VALUES ($1, $2, $3, $4, $5, $6, $7)",
					  7, q, err);
		if (rc)
			return rc;
	}
	return 0;
}

int ccs_sched_store_mtu_county(ccs_tx *tx, const char *mtu_id, const char **county, int *found, ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {mtu_id};
	PGresult *r = QUERY(tx, "SELECT county FROM mtus WHERE mtu_id = $1", 1, p, &rc, err);
	*found = 0;
	*county = NULL;
	if (!r)
		return rc;
	if (PQntuples(r) == 1) {
		*found = 1;
		*county = dup_val(ccs_tx_arena(tx), r, 0, 0);
	}
	PQclear(r);
	return 0;
}

int ccs_sched_store_calendar_replace(ccs_tx *tx, const char *mtu_id, const ccs_sched_therapist *t, size_t nt,
				     const char *const *rooms, size_t nr, const ccs_sched_closure *cl,
				     const char *const *reasons, size_t nc, const char *event_id, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	char hours[128];
	int rc;
	const char *p1[2] = {mtu_id, event_id};
	if ((rc = ccs_sched_store_exec(tx, "DELETE FROM therapists WHERE mtu_id = $1", 1, p1, err)) != 0 ||
	    (rc = ccs_sched_store_exec(tx, "DELETE FROM rooms WHERE mtu_id = $1", 1, p1, err)) != 0 ||
	    (rc = ccs_sched_store_exec(tx, "DELETE FROM closures WHERE mtu_id = $1", 1, p1, err)) != 0 ||
	    (rc = ccs_sched_store_exec(tx,
				       "UPDATE mtus SET calendar_source = 'request', calendar_event = $2 WHERE mtu_id = $1",
				       2, p1, err)) != 0)
		return rc;
	for (size_t i = 0; i < nt; i++) {
		ccs_sched_store_hours_literal(t[i].hours, hours);
		const char *p[4] = {mtu_id, t[i].id, fmt_i(a, t[i].discipline), hours};
		/* a repeated therapist id is a unique violation: poison "data" */
		if ((rc = ccs_sched_store_exec(tx, "INSERT INTO therapists VALUES ($1, $2, $3, $4)", 4, p, err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < nr; i++) {
		const char *p[2] = {mtu_id, rooms[i]};
		if ((rc = ccs_sched_store_exec(tx, "INSERT INTO rooms(mtu_id, room_id) VALUES ($1, $2)", 2, p, err)) != 0)
			return rc;
	}
	for (size_t i = 0; i < nc; i++) {
		const char *p[4] = {mtu_id, fmt_d(a, cl[i].first), fmt_d(a, cl[i].last), reasons[i]};
		if ((rc = ccs_sched_store_exec(tx,
					       "INSERT INTO closures(mtu_id, first_day, last_day, reason) VALUES ($1, $2, $3, $4)",
					       4, p, err)) != 0)
			return rc;
	}
	return 0;
}

int ccs_sched_store_conf_exists(ccs_tx *tx, const char *conference_id, int *exists, ccs_svc_err *err)
{
	int rc;
	const char *p[1] = {conference_id};
	PGresult *r = QUERY(tx, "SELECT 1 FROM conferences WHERE conference_id = $1", 1, p, &rc, err);
	*exists = 0;
	if (!r)
		return rc;
	*exists = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

int ccs_sched_store_conf_physician_busy(ccs_tx *tx, const char *physician_id, ccs_date from, ccs_date to,
					ccs_sched_interval **busy, size_t *n, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[3] = {physician_id, fmt_d(a, from), fmt_d(a, to)};
	PGresult *r = QUERY(tx,
			    "SELECT day, start_min, end_min FROM conferences WHERE physician_id = $1"
			    " AND day BETWEEN $2 AND $3",
			    3, p, &rc, err);
	*n = 0;
	if (!r)
		return rc;
	size_t nb = (size_t)PQntuples(r);
	ccs_sched_interval *b = ccs_arena_alloc(a, (nb + 1) * sizeof(*b));
	for (size_t i = 0; i < nb; i++)
		b[i] = (ccs_sched_interval){date_val(r, (int)i, 0), int_val(r, (int)i, 1), int_val(r, (int)i, 2)};
	PQclear(r);
	*busy = b;
	*n = nb;
	return 0;
}

int ccs_sched_store_conf_insert(ccs_tx *tx, const char *conference_id, const char *case_id, const char *mtu_id,
				const char *physician_id, ccs_date day, int start_min, int end_min,
				unsigned disciplines, int proposed, const char *event_id, int *conflict,
				ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc = 0;
	const char *p[10] = {conference_id, case_id, mtu_id, physician_id, fmt_d(a, day), fmt_i(a, start_min),
			     fmt_i(a, end_min), event_id, fmt_i(a, (long)disciplines), proposed ? "true" : "false"};
	*conflict = 0;
	PGresult *r = PQexecParams(ccs_tx_conn(tx),
				   "INSERT INTO conferences(conference_id, case_id, mtu_id, physician_id, day, start_min,"
				   " end_min, event_id, disciplines, proposed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
				   10, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state && strcmp(state, "23P01") == 0)
			*conflict = 1;
		else
			rc = ccs_svc_pg_error(ccs_tx_conn(tx), r, err);
	}
	PQclear(r);
	return rc;
}

int ccs_sched_store_conf_delete(ccs_tx *tx, const char *conference_id, ccs_svc_err *err)
{
	const char *p[1] = {conference_id};
	return ccs_sched_store_exec(tx, "DELETE FROM conferences WHERE conference_id = $1", 1, p, err);
}

int ccs_sched_store_conf_next(ccs_tx *tx, const char *case_id, ccs_date from, ccs_date *day,
			      const char **last_physician, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[2] = {case_id, fmt_d(a, from)};
	PGresult *r = QUERY(tx,
			    "SELECT (SELECT min(day) FROM conferences WHERE case_id = $1 AND day >= $2),"
			    " (SELECT physician_id FROM conferences WHERE case_id = $1 ORDER BY day DESC LIMIT 1)",
			    2, p, &rc, err);
	*day = CCS_DATE_INVALID;
	*last_physician = NULL;
	if (!r)
		return rc;
	*day = date_val(r, 0, 0);
	*last_physician = dup_val(a, r, 0, 1);
	PQclear(r);
	return 0;
}

int ccs_sched_store_child_conference_months(ccs_tx *tx, const char *case_id, int months, ccs_svc_err *err)
{
	const char *p[2] = {case_id, fmt_i(ccs_tx_arena(tx), months)};
	return ccs_sched_store_exec(tx, "UPDATE children SET conference_months = $2 WHERE case_id = $1", 2, p, err);
}

int ccs_sched_store_iep_meeting(ccs_tx *tx, const char *meeting_id, const char *case_id, ccs_date day,
				const char *staff, const char *event_id, ccs_svc_err *err)
{
	const char *p[5] = {meeting_id, case_id, fmt_d(ccs_tx_arena(tx), day), staff, event_id};
	return ccs_sched_store_exec(tx,
				    "INSERT INTO iep_meetings(meeting_id, case_id, meeting_date, staff, event_id)"
				    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (meeting_id, case_id) DO UPDATE"
				    " SET meeting_date = $3, staff = $4, event_id = $5",
				    5, p, err);
}

int ccs_sched_store_staff_free(ccs_tx *tx, const char *mtu_id, ccs_date day, int start_min, int end_min,
			       const char ***ids, size_t *n, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc, wd = ccs_date_weekday(day);
	/* hours[] is {start,end} x Mon..Sun, 1-based in SQL. */
	const char *p[6] = {mtu_id, fmt_d(a, day), fmt_i(a, 2 * wd + 1), fmt_i(a, start_min), fmt_i(a, end_min),
			    start_min || end_min ? "t" : "f"};
	PGresult *r = QUERY(
		tx,
		"SELECT t.therapist_id FROM therapists t WHERE t.mtu_id = $1"
		" AND t.hours[$3::int] < t.hours[$3::int + 1]"
		" AND NOT EXISTS (SELECT 1 FROM closures c WHERE c.mtu_id = $1"
		"  AND $2::date BETWEEN c.first_day AND c.last_day)"
		" AND (NOT $6::boolean OR (t.hours[$3::int] <= $4::int AND t.hours[$3::int + 1] >= $5::int"
		"  AND NOT EXISTS (SELECT 1 FROM appointments x WHERE x.therapist_id = t.therapist_id"
		"  AND x.status <> 'cancelled' AND x.day = $2::date AND x.start_min < $5::int"
		"  AND x.end_min > $4::int)))"
		" ORDER BY t.discipline, t.therapist_id",
		6, p, &rc, err);
	*n = 0;
	if (!r)
		return rc;
	size_t cnt = (size_t)PQntuples(r);
	const char **x = ccs_arena_alloc(a, (cnt + 1) * sizeof(*x));
	for (size_t i = 0; i < cnt; i++)
		x[i] = dup_val(a, r, (int)i, 0);
	PQclear(r);
	*ids = x;
	*n = cnt;
	return 0;
}

/* ---------------------------------------------------------------- the directory file */

static int dexec(PGconn *c, const char *sql, int n, const char *const *p, char *errbuf, size_t errlen)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	int rc = 0;
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		ccs_pg_errmsg(c, r, errbuf, errlen);
		rc = ccs_pg_classify(c, r);
	}
	PQclear(r);
	return rc;
}

static void sig_add(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 1099511628211ull; /* FNV-1a 64 */
	}
}

/* A signature of the MTU's calendar in the file (FNV-1a over hours, therapists, rooms,
 * closures): only tells "changed" apart from "unchanged". */
static uint64_t calendar_sig(const ccs_sched_mtu *m)
{
	uint64_t h = 14695981039346656037ull;
	sig_add(&h, m->open, sizeof(m->open));
	for (size_t i = 0; i < m->n_therapists; i++) {
		sig_add(&h, m->therapists[i].id, strlen(m->therapists[i].id) + 1);
		sig_add(&h, &m->therapists[i].discipline, sizeof(m->therapists[i].discipline));
		sig_add(&h, m->therapists[i].hours, sizeof(m->therapists[i].hours));
	}
	for (size_t i = 0; i < m->n_rooms; i++)
		sig_add(&h, m->rooms[i].id, strlen(m->rooms[i].id) + 1);
	for (size_t i = 0; i < m->n_closures; i++) {
		sig_add(&h, &m->closures[i].first, sizeof(m->closures[i].first));
		sig_add(&h, &m->closures[i].last, sizeof(m->closures[i].last));
	}
	return h;
}

/* ... and of the other rows the file gives the MTU (room uses, districts). */
static uint64_t rows_sig(const ccs_sched_mtu *m, uint64_t h)
{
	for (size_t i = 0; i < m->n_rooms; i++)
		sig_add(&h, &m->rooms[i].uses, sizeof(m->rooms[i].uses));
	for (size_t i = 0; i < m->n_districts; i++)
		sig_add(&h, m->districts[i], strlen(m->districts[i]) + 1);
	return h;
}

/*
 * One MTU's rows; the calendar only when it has not been replaced by an MtuCalendar request.
 * mtus.directory_sig holds "<calendar>:<rows>" as written at the last start: a file whose
 * rows are what the database already holds writes nothing but the MTU's row (a restart used
 * to rewrite every therapist, room, closure and district, a statement each); a changed
 * calendar schedules a calendar.recheck. Arrays go as text[] literals (ccs_pg_text_array), one
 * statement per table.
 */
static int sync_mtu(PGconn *c, ccs_arena *a, const ccs_sched_mtu *m, int order, const char *today,
		    char *errbuf, size_t errlen)
{
	char hours[128], disc[8], ord[16], sig[40], cal[17];
	int rc = 0;

	ccs_sched_store_hours_literal(m->open, hours);
	snprintf(disc, sizeof(disc), "%u", m->disciplines);
	snprintf(ord, sizeof(ord), "%d", order);
	const char *p[6] = {m->mtu_id, m->county, m->school ? m->school : "", disc, hours, ord};
	/* RETURNING the columns the update leaves alone: what the last start (or request) wrote. */
	PGresult *r = PQexecParams(
		c,
		"INSERT INTO mtus(mtu_id, county, school, disciplines, open_hours, file_order)"
		" VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mtu_id) DO UPDATE SET county = $2,"
		" school = $3, disciplines = $4, open_hours = $5, file_order = $6"
		" RETURNING calendar_source, directory_sig",
		6, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		ccs_pg_errmsg(c, r, errbuf, errlen);
		rc = ccs_pg_classify(c, r);
		PQclear(r);
		return rc ? rc : CCS_PG_DATA;
	}
	int from_request = strcmp(PQgetvalue(r, 0, 0), "request") == 0;
	const char *old = PQgetisnull(r, 0, 1) ? NULL : ccs_arena_strdup(a, PQgetvalue(r, 0, 1));
	PQclear(r);
	uint64_t h = calendar_sig(m);
	snprintf(cal, sizeof(cal), "%016llx", (unsigned long long)h);
	snprintf(sig, sizeof(sig), "%s:%016llx", cal, (unsigned long long)rows_sig(m, h));
	if (!from_request && old && strcmp(old, sig) == 0)
		return 0;
	/* The calendar changed since the last start: booked sessions may now sit on a closure or
	 * outside their therapist's hours (first load: nothing to compare, nothing booked). */
	int changed = old && strncmp(old, cal, 16) != 0;

	const char **v = ccs_arena_alloc(a,
					 (m->n_districts + m->n_therapists + m->n_rooms + m->n_closures + 1) *
						 3 * sizeof(*v));
	const char *p2[2] = {m->mtu_id, ccs_pg_text_array(a, m->districts, m->n_districts)};
	if ((rc = dexec(c, "DELETE FROM mtu_districts WHERE mtu_id = $1 AND district <> ALL ($2::text[])", 2,
			p2, errbuf, errlen)) ||
	    (rc = dexec(c, "INSERT INTO mtu_districts SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
			2, p2, errbuf, errlen)))
		return rc;
	if (from_request)
		return 0;

	const char *p1[2] = {m->mtu_id, sig};
	if ((rc = dexec(c, "UPDATE mtus SET directory_sig = $2 WHERE mtu_id = $1", 2, p1, errbuf, errlen)) ||
	    (rc = dexec(c, "DELETE FROM therapists WHERE mtu_id = $1", 1, p1, errbuf, errlen)) ||
	    (rc = dexec(c, "DELETE FROM rooms WHERE mtu_id = $1", 1, p1, errbuf, errlen)) ||
	    (rc = dexec(c, "DELETE FROM closures WHERE mtu_id = $1", 1, p1, errbuf, errlen)))
		return rc;
	size_t n = m->n_therapists;
	for (size_t i = 0; i < n; i++) {
		ccs_sched_store_hours_literal(m->therapists[i].hours, hours);
		v[i] = m->therapists[i].id;
		v[n + i] = ccs_arena_printf(a, "%d", m->therapists[i].discipline);
		v[2 * n + i] = ccs_arena_strdup(a, hours);
	}
	const char *p3[4] = {m->mtu_id, ccs_pg_text_array(a, v, n), ccs_pg_text_array(a, v + n, n),
			     ccs_pg_text_array(a, v + 2 * n, n)};
	if ((rc = dexec(c,
			"INSERT INTO therapists SELECT $1, t, d::int, h::int[]"
			" FROM unnest($2::text[], $3::text[], $4::text[]) x(t, d, h)",
			4, p3, errbuf, errlen)))
		return rc;
	n = m->n_rooms;
	for (size_t i = 0; i < n; i++) {
		v[i] = m->rooms[i].id;
		v[n + i] = ccs_arena_printf(a, "%u", m->rooms[i].uses);
	}
	const char *p4[3] = {m->mtu_id, ccs_pg_text_array(a, v, n), ccs_pg_text_array(a, v + n, n)};
	if ((rc = dexec(c,
			"INSERT INTO rooms SELECT $1, r, u::int FROM unnest($2::text[], $3::text[]) x(r, u)",
			3, p4, errbuf, errlen)))
		return rc;
	n = m->n_closures;
	for (size_t i = 0; i < n; i++) {
		char *f = ccs_arena_alloc(a, 11), *l = ccs_arena_alloc(a, 11);
		ccs_date_format(m->closures[i].first, f);
		ccs_date_format(m->closures[i].last, l);
		v[i] = f;
		v[n + i] = l;
	}
	const char *p5[3] = {m->mtu_id, ccs_pg_text_array(a, v, n), ccs_pg_text_array(a, v + n, n)};
	if ((rc = dexec(c,
			"INSERT INTO closures(mtu_id, first_day, last_day) SELECT $1, f::date, l::date"
			" FROM unnest($2::text[], $3::text[]) x(f, l)",
			3, p5, errbuf, errlen)))
		return rc;
	if (!changed)
		return 0;
	const char *p6[2] = {m->mtu_id, today};
	return dexec(c,
		     "INSERT INTO due_work(kind, subject, due_date, source_event_id) VALUES "
		     "('calendar.recheck', $1, $2,"
		     " 'mtu-directory') ON CONFLICT DO NOTHING",
		     2, p6, errbuf, errlen);
}

int ccs_sched_store_sync_directory(PGconn *c, const ccs_sched_mtu_dir *d, ccs_date today, char *errbuf,
				   size_t errlen)
{
	char day[11];
	int rc, in_tx = 0;
	ccs_arena a;

	ccs_arena_init(&a, 64 * 1024);
	ccs_date_format(today, day);

	rc = dexec(c, "BEGIN", 0, NULL, errbuf, errlen);
	if (rc)
		goto out;
	in_tx = 1;
	/* Instances starting together load the file one after the other. */
	rc = dexec(c, "SELECT pg_advisory_xact_lock(hashtext('ccs.scheduling.directory'))", 0, NULL,
		   errbuf, errlen);
	if (rc)
		goto out;
	for (size_t i = 0; i < d->n_mtus; i++) {
		rc = sync_mtu(c, &a, &d->mtus[i], (int)i, day, errbuf, errlen);
		if (rc)
			goto out;
	}
	rc = dexec(c, "COMMIT", 0, NULL, errbuf, errlen);
	in_tx = 0;
out:
	if (in_tx) {
		PGresult *r = PQexec(c, "ROLLBACK");
		PQclear(r);
	}
	ccs_arena_destroy(&a);
	return rc;
}
