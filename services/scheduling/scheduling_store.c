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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int ccs_sched_store_exec(ccs_tx *tx, const char *sql, int n, const char *const *p, ccs_svc_err *err)
{
	int rc;
	PGresult *r = ccs_tx_query(tx, sql, n, p, &rc, err);
	PQclear(r);
	return rc;
}

int ccs_sched_store_mtu_for(ccs_tx *tx, const char *county, const char *district, int discipline,
			    const char **mtu_id, ccs_svc_err *err)
{
	char disc[8];
	int rc;
	snprintf(disc, sizeof(disc), "%d", discipline);
	const char *p[3] = {county, district && *district ? district : NULL, disc};
	PGresult *r = ccs_tx_query(tx,
				   "SELECT m.mtu_id FROM mtus m WHERE lower(m.county) = lower($1)"
				   " AND m.disciplines & $3::int <> 0"
				   " ORDER BY EXISTS (SELECT 1 FROM mtu_districts d WHERE d.mtu_id = m.mtu_id"
				   "   AND lower(d.district) = lower($2)) DESC, m.file_order, m.mtu_id LIMIT 1",
				   3, p, &rc, err);
	*mtu_id = NULL;
	if (!r)
		return rc;
	if (PQntuples(r) > 0)
		*mtu_id = ccs_arena_strdup(ccs_tx_arena(tx), PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int ccs_sched_store_load_mtu(ccs_tx *tx, const char *mtu_id, const char *case_ids, ccs_date from,
			     ccs_date to, ccs_sched_store_mtu *out, int *found, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	PGresult *r = NULL;
	char f[11], t[11];
	int rc;

	memset(out, 0, sizeof(*out));
	*found = 0;
	const char *p1[1] = {mtu_id};
	r = ccs_tx_query(tx, "SELECT mtu_id, county, disciplines, open_hours FROM mtus WHERE mtu_id = $1",
			 1, p1, &rc, err);
	if (!r)
		goto out;
	if (PQntuples(r) == 0)
		goto out;
	out->mtu_id = dup_val(a, r, 0, 0);
	out->county = dup_val(a, r, 0, 1);
	out->disciplines = (unsigned)int_val(r, 0, 2);
	if (hours_from(PQgetvalue(r, 0, 3), out->snap.open) != 0) {
		rc = ccs_svc_poison(err, "data", "mtu %s has malformed hours", mtu_id);
		goto out;
	}
	PQclear(r);

	/* Therapists and rooms in id order: the engine's search order is by id anyway. */
	r = ccs_tx_query(tx, "SELECT therapist_id, discipline, hours FROM therapists WHERE mtu_id = $1"
			     " ORDER BY therapist_id", 1, p1, &rc, err);
	if (!r)
		goto out;
	size_t n = (size_t)PQntuples(r);
	ccs_sched_therapist *th = ccs_arena_alloc(a, (n + 1) * sizeof(*th));
	for (size_t i = 0; i < n; i++) {
		th[i].id = dup_val(a, r, (int)i, 0);
		th[i].discipline = int_val(r, (int)i, 1);
		if (hours_from(PQgetvalue(r, (int)i, 2), th[i].hours) != 0) {
			rc = ccs_svc_poison(err, "data", "therapist %s has malformed hours", th[i].id);
			goto out;
		}
	}
	out->snap.therapists = th;
	out->snap.n_therapists = n;
	PQclear(r);

	r = ccs_tx_query(tx, "SELECT room_id, uses FROM rooms WHERE mtu_id = $1 ORDER BY room_id", 1, p1,
			 &rc, err);
	if (!r)
		goto out;
	n = (size_t)PQntuples(r);
	ccs_sched_room *rm = ccs_arena_alloc(a, (n + 1) * sizeof(*rm));
	for (size_t i = 0; i < n; i++) {
		rm[i].id = dup_val(a, r, (int)i, 0);
		rm[i].uses = (unsigned)int_val(r, (int)i, 1);
	}
	out->snap.rooms = rm;
	out->snap.n_rooms = n;
	PQclear(r);

	ccs_date_format(from, f);
	ccs_date_format(to, t);
	const char *p3[3] = {mtu_id, f, t};
	r = ccs_tx_query(tx, "SELECT first_day, last_day FROM closures WHERE mtu_id = $1"
			     " AND last_day >= $2 AND first_day <= $3", 3, p3, &rc, err);
	if (!r)
		goto out;
	n = (size_t)PQntuples(r);
	ccs_sched_closure *cl = ccs_arena_alloc(a, (n + 1) * sizeof(*cl));
	for (size_t i = 0; i < n; i++) {
		cl[i].first = ccs_date_parse(PQgetvalue(r, (int)i, 0));
		cl[i].last = ccs_date_parse(PQgetvalue(r, (int)i, 1));
	}
	out->snap.closures = cl;
	out->snap.n_closures = n;
	PQclear(r);

	const char *p4[4] = {mtu_id, f, t, case_ids};
	r = ccs_tx_query(tx,
			 "SELECT therapist_id, CASE WHEN mtu_id = $1 THEN room_id END, case_id, day,"
			 " start_min, end_min FROM appointments"
			 " WHERE status = 'booked' AND day BETWEEN $2 AND $3 AND (mtu_id = $1"
			 "  OR therapist_id IN (SELECT therapist_id FROM therapists WHERE mtu_id = $1)"
			 "  OR case_id = ANY ($4::uuid[]))",
			 4, p4, &rc, err);
	if (!r)
		goto out;
	n = (size_t)PQntuples(r);
	ccs_sched_appt *ap = ccs_arena_alloc(a, (n + 1) * sizeof(*ap));
	for (size_t i = 0; i < n; i++) {
		ap[i].therapist_id = dup_val(a, r, (int)i, 0);
		ap[i].room_id = dup_val(a, r, (int)i, 1);
		ap[i].child_id = dup_val(a, r, (int)i, 2);
		ap[i].day = ccs_date_parse(PQgetvalue(r, (int)i, 3));
		ap[i].start_min = int_val(r, (int)i, 4);
		ap[i].end_min = int_val(r, (int)i, 5);
	}
	out->snap.appts = ap;
	out->snap.n_appts = n;
	*found = 1;
out:
	PQclear(r);
	return rc;
}

int ccs_sched_store_load_iep(ccs_tx *tx, ccs_sched_child *ch, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	int rc;
	const char *p[1] = {ch->child_id};
	PGresult *r = ccs_tx_query(tx,
				   "SELECT weekday, start_min, end_min, effective_date, until_date FROM iep_blocks"
				   " WHERE case_id = $1 ORDER BY weekday, start_min",
				   1, p, &rc, err);
	ch->iep = NULL;
	ch->n_iep = 0;
	if (!r)
		return rc;
	size_t n = (size_t)PQntuples(r);
	ccs_sched_iep_block *b = ccs_arena_alloc(a, (n + 1) * sizeof(*b));
	for (size_t i = 0; i < n; i++) {
		b[i].weekday = int_val(r, (int)i, 0);
		b[i].start_min = int_val(r, (int)i, 1);
		b[i].end_min = int_val(r, (int)i, 2);
		b[i].from_day = PQgetisnull(r, (int)i, 3) ? 0 : ccs_date_parse(PQgetvalue(r, (int)i, 3));
		b[i].until_day = PQgetisnull(r, (int)i, 4) ? 0 : ccs_date_parse(PQgetvalue(r, (int)i, 4));
	}
	ch->iep = b;
	ch->n_iep = n;
	PQclear(r);
	return 0;
}

int ccs_sched_store_insert_appt(ccs_tx *tx, const ccs_sched_store_appt *a, const char *event_id,
				int *conflict, ccs_svc_err *err)
{
	char disc[8], day[11], st[8], en[8];
	int rc = 0;

	*conflict = 0;
	snprintf(disc, sizeof(disc), "%d", a->discipline);
	ccs_date_format(a->day, day);
	snprintf(st, sizeof(st), "%d", a->start_min);
	snprintf(en, sizeof(en), "%d", a->end_min);
	const char *p[13] = {a->appointment_id, a->case_id, a->mtu_id, a->therapist_id, a->room_id,
			     disc, a->kind, a->prescription_id, a->conference_id, day, st, en, event_id};
	PGresult *r = PQexecParams(ccs_tx_conn(tx),
				   "INSERT INTO appointments(appointment_id, case_id, mtu_id, therapist_id,"
				   " room_id, discipline, kind, prescription_id, conference_id, day, start_min,"
				   " end_min, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
				   " $12, $13)",
				   13, NULL, p, NULL, NULL, 0);
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

static const char *uses_str(unsigned u, char buf[8])
{
	snprintf(buf, 8, "%u", u);
	return buf;
}

/* One MTU's rows; the calendar only when it has not been replaced by an MtuCalendar request. */
static int sync_mtu(PGconn *c, const ccs_sched_mtu *m, int order, char *errbuf, size_t errlen)
{
	char hours[128], disc[8], ord[16], buf[8], f[11], l[11];
	int rc;

	ccs_sched_store_hours_literal(m->open, hours);
	snprintf(disc, sizeof(disc), "%u", m->disciplines);
	snprintf(ord, sizeof(ord), "%d", order);
	const char *p[6] = {m->mtu_id, m->county, m->school ? m->school : "", disc, hours, ord};
	rc = dexec(c,
		   "INSERT INTO mtus(mtu_id, county, school, disciplines, open_hours, file_order)"
		   " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (mtu_id) DO UPDATE SET county = $2,"
		   " school = $3, disciplines = $4, open_hours = $5, file_order = $6",
		   6, p, errbuf, errlen);
	if (rc)
		return rc;
	const char *p1[1] = {m->mtu_id};
	if ((rc = dexec(c, "DELETE FROM mtu_districts WHERE mtu_id = $1", 1, p1, errbuf, errlen)))
		return rc;
	for (size_t i = 0; i < m->n_districts; i++) {
		const char *p2[2] = {m->mtu_id, m->districts[i]};
		if ((rc = dexec(c, "INSERT INTO mtu_districts VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, p2,
				errbuf, errlen)))
			return rc;
	}
	PGresult *r = PQexecParams(c, "SELECT calendar_source FROM mtus WHERE mtu_id = $1", 1, NULL, p1,
				   NULL, NULL, 0);
	int from_request = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			   strcmp(PQgetvalue(r, 0, 0), "request") == 0;
	PQclear(r);
	if (from_request)
		return 0;
	if ((rc = dexec(c, "DELETE FROM therapists WHERE mtu_id = $1", 1, p1, errbuf, errlen)) ||
	    (rc = dexec(c, "DELETE FROM rooms WHERE mtu_id = $1", 1, p1, errbuf, errlen)) ||
	    (rc = dexec(c, "DELETE FROM closures WHERE mtu_id = $1", 1, p1, errbuf, errlen)))
		return rc;
	for (size_t i = 0; i < m->n_therapists; i++) {
		const ccs_sched_therapist *t = &m->therapists[i];
		ccs_sched_store_hours_literal(t->hours, hours);
		snprintf(disc, sizeof(disc), "%d", t->discipline);
		const char *p4[4] = {m->mtu_id, t->id, disc, hours};
		if ((rc = dexec(c, "INSERT INTO therapists VALUES ($1, $2, $3, $4)", 4, p4, errbuf, errlen)))
			return rc;
	}
	for (size_t i = 0; i < m->n_rooms; i++) {
		const char *p3[3] = {m->mtu_id, m->rooms[i].id, uses_str(m->rooms[i].uses, buf)};
		if ((rc = dexec(c, "INSERT INTO rooms VALUES ($1, $2, $3)", 3, p3, errbuf, errlen)))
			return rc;
	}
	for (size_t i = 0; i < m->n_closures; i++) {
		ccs_date_format(m->closures[i].first, f);
		ccs_date_format(m->closures[i].last, l);
		const char *p3[3] = {m->mtu_id, f, l};
		if ((rc = dexec(c, "INSERT INTO closures(mtu_id, first_day, last_day) VALUES ($1, $2, $3)",
				3, p3, errbuf, errlen)))
			return rc;
	}
	return 0;
}

int ccs_sched_store_sync_directory(PGconn *c, const ccs_sched_mtu_dir *d, char *errbuf, size_t errlen)
{
	int rc, in_tx = 0;

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
		rc = sync_mtu(c, &d->mtus[i], (int)i, errbuf, errlen);
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
	return rc;
}
