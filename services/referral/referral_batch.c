/*
 * referrald's two-phase batch (see referral_batch.h).
 */
#include "referral_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ccs/pg.h"

struct ccs_refb {
	ccs_arena *a;
	ccs_refb_case *cases;
	size_t ncases, ccap;
	const char **decided;
	size_t ndecided, dcap;
	const char **rows; /* referral rows, 10 values each */
	size_t nrows, rcap;
	long long now_us;  /* the transaction's now(): opened_at of the cases opened in it */
};

/* Grow an arena array of `size`-byte elements to hold one more. */
static void *grow(ccs_arena *a, void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *nv = ccs_arena_alloc(a, ncap * size);
	if (n)
		memcpy(nv, v, n * size);
	*cap = ncap;
	return nv;
}

static const char *dup_or_empty(ccs_arena *a, const char *s)
{
	return s ? ccs_arena_strdup(a, s) : "";
}

static void add_decided(ccs_refb *b, const char *referral_id)
{
	b->decided = grow(b->a, b->decided, b->ndecided, &b->dcap, sizeof(*b->decided));
	b->decided[b->ndecided++] = referral_id;
}

/* A case read by the lookup, once (a case can match by CIN and by key). */
static void add_read(ccs_refb *b, PGresult *r, int i)
{
	const char *id = PQgetvalue(r, i, 1);
	for (size_t k = 0; k < b->ncases; k++)
		if (strcmp(b->cases[k].case_id, id) == 0)
			return;
	b->cases = grow(b->a, b->cases, b->ncases, &b->ccap, sizeof(*b->cases));
	ccs_refb_case *c = &b->cases[b->ncases++];
	memset(c, 0, sizeof(*c));
	c->case_id = ccs_arena_strdup(b->a, id);
	c->case_number = ccs_arena_strdup(b->a, PQgetvalue(r, i, 2));
	c->cin = ccs_arena_strdup(b->a, PQgetvalue(r, i, 3));
	c->match_key = ccs_arena_strdup(b->a, PQgetvalue(r, i, 4));
	c->school = ccs_arena_strdup(b->a, PQgetvalue(r, i, 5));
	c->opened_us = strtoll(PQgetvalue(r, i, 6), NULL, 10);
}

int ccs_refb_prepare(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *bt, void **state, ccs_svc_err *err)
{
	ccs_arena *a = ccs_tx_arena(tx);
	ccs_ref_reasons *rs = ccs_arena_alloc(a, sizeof(*rs));
	ccs_ref_facts *f = ccs_arena_alloc(a, sizeof(*f));
	const char **keys = ccs_arena_alloc(a, (2 * bt->n + 1) * sizeof(*keys));
	const char **cins = ccs_arena_alloc(a, (bt->n + 1) * sizeof(*cins));
	const char **mkeys = ccs_arena_alloc(a, (bt->n + 1) * sizeof(*mkeys));
	const char **rids = ccs_arena_alloc(a, (bt->n + 1) * sizeof(*rids));
	size_t nk = 0, nc = 0, nm = 0;
	ccs_refb *b = ccs_arena_alloc(a, sizeof(*b));
	int rc = 0;
	(void)svc;
	(void)ctx;

	memset(b, 0, sizeof(*b));
	b->a = a;
	*state = b;
	for (size_t i = 0; i < bt->n; i++) {
		const Ccs__Mtp__V1__ReferralSubmitted *r = (const Ccs__Mtp__V1__ReferralSubmitted *)bt->pbs[i];
		const ccs_msg *m = bt->msgs[i];
		ccs_date on = ccs_ref_judged_on(r->submitted_at, m->ce_time, (long long)m->timestamp_ms);
		if (ccs_ref_validate(r, on, rs) > 0 || ccs_ref_facts_of(r, f) != 0)
			continue; /* rejected: nothing to read */
		if (*f->cin) {
			cins[nc++] = keys[nk++] = ccs_arena_strdup(a, f->cin);
		}
		mkeys[nm] = keys[nk++] = ccs_arena_strdup(a, f->match_key);
		rids[nm++] = r->referral_id;
	}
	if (!nm)
		return 0;
	/* Every child's locks at once, in hash order so that two instances' batches take them in
	 * the same order; the lookup below goes in the same round trip, after them. */
	const char *lp[1] = {ccs_pg_text_array(a, keys, nk)};
	if ((rc = ccs_tx_write(tx,
			       "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h"
			       " FROM unnest($1::text[]) AS k) AS x ORDER BY h",
			       1, lp, err)) != 0)
		return rc;
	const char *qp[3] = {ccs_pg_text_array(a, cins, nc), ccs_pg_text_array(a, mkeys, nm),
			     ccs_pg_text_array(a, rids, nm)};
	PGresult *r = ccs_tx_query(tx,
				   "SELECT 'c', case_id::text, case_number, coalesce(medi_cal_cin, ''), match_key,"
				   " coalesce(school_district, ''),"
				   " (extract(epoch FROM opened_at) * 1000000)::bigint FROM cases"
				   " WHERE status = 'open' AND medi_cal_cin IS NOT NULL"
				   " AND medi_cal_cin = ANY($1::text[])"
				   " UNION ALL SELECT 'n', case_id::text, case_number, coalesce(medi_cal_cin, ''), match_key,"
				   " coalesce(school_district, ''),"
				   " (extract(epoch FROM opened_at) * 1000000)::bigint FROM cases"
				   " WHERE status = 'open' AND match_key = ANY($2::text[])"
				   " UNION ALL SELECT 'd', referral_id, NULL, NULL, NULL, NULL, NULL FROM referrals"
				   " WHERE referral_id = ANY($3::text[]) AND outcome <> 'rejected'"
				   " UNION ALL SELECT 't', NULL, NULL, NULL, NULL, NULL,"
				   " (extract(epoch FROM now()) * 1000000)::bigint",
				   3, qp, &rc, err);
	if (!r)
		return rc;
	for (int i = 0; i < PQntuples(r); i++) {
		switch (PQgetvalue(r, i, 0)[0]) {
		case 'c':
		case 'n':
			add_read(b, r, i);
			break;
		case 'd':
			add_decided(b, ccs_arena_strdup(a, PQgetvalue(r, i, 1)));
			break;
		default:
			b->now_us = strtoll(PQgetvalue(r, i, 6), NULL, 10);
			break;
		}
	}
	PQclear(r);
	return 0;
}

ccs_refb_case *ccs_refb_by_cin(ccs_refb *b, const char *cin)
{
	if (!*cin)
		return NULL;
	for (size_t i = 0; i < b->ncases; i++)
		if (strcmp(b->cases[i].cin, cin) == 0)
			return &b->cases[i];
	return NULL;
}

ccs_refb_case *ccs_refb_by_name(ccs_refb *b, const char *match_key, const char *cin)
{
	ccs_refb_case *best = NULL;
	for (size_t i = 0; i < b->ncases; i++) {
		ccs_refb_case *c = &b->cases[i];
		if (strcmp(c->match_key, match_key) != 0 || (*c->cin && *cin && strcmp(c->cin, cin) != 0))
			continue;
		if (!best || c->opened_us < best->opened_us ||
		    (c->opened_us == best->opened_us && strcmp(c->case_id, best->case_id) < 0))
			best = c;
	}
	return best;
}

int ccs_refb_decided(const ccs_refb *b, const char *referral_id)
{
	for (size_t i = 0; i < b->ndecided; i++)
		if (strcmp(b->decided[i], referral_id) == 0)
			return 1;
	return 0;
}

void ccs_refb_open(ccs_refb *b, const char *const row[15])
{
	const char **copy = ccs_arena_alloc(b->a, 15 * sizeof(*copy));
	for (int i = 0; i < 15; i++)
		copy[i] = row[i] ? ccs_arena_strdup(b->a, row[i]) : NULL;
	b->cases = grow(b->a, b->cases, b->ncases, &b->ccap, sizeof(*b->cases));
	ccs_refb_case *c = &b->cases[b->ncases++];
	memset(c, 0, sizeof(*c));
	c->case_id = copy[0];
	c->case_number = copy[1];
	c->cin = dup_or_empty(b->a, copy[5]);
	c->match_key = copy[6];
	c->school = dup_or_empty(b->a, copy[14]);
	c->opened_us = b->now_us;
	c->is_new = 1;
	c->row = copy;
}

void ccs_refb_update(ccs_refb *b, ccs_refb_case *c, const char *cin, const char *school)
{
	if (cin && !*c->cin) {
		c->cin = ccs_arena_strdup(b->a, cin);
		c->changed = !c->is_new;
	}
	if (school && *school && strcmp(school, c->school) != 0) {
		c->school = ccs_arena_strdup(b->a, school);
		c->changed = !c->is_new;
	}
}

static const char hexd[] = "0123456789abcdef";

void ccs_refb_record(ccs_refb *b, const char *const row[9], const void *submitted, size_t len)
{
	b->rows = grow(b->a, b->rows, b->nrows, &b->rcap, 10 * sizeof(*b->rows));
	const char **out = &b->rows[b->nrows * 10];
	for (int i = 0; i < 9; i++)
		out[i] = row[i] ? ccs_arena_strdup(b->a, row[i]) : NULL;
	char *hex = ccs_arena_alloc(b->a, 2 * len + 3);
	const unsigned char *p = submitted;
	hex[0] = '\\';
	hex[1] = 'x';
	for (size_t i = 0; i < len; i++) {
		hex[2 + 2 * i] = hexd[p[i] >> 4];
		hex[3 + 2 * i] = hexd[p[i] & 15];
	}
	hex[2 + 2 * len] = '\0';
	out[9] = hex;
	b->nrows++;
	if (strcmp(row[3], "rejected") != 0)
		add_decided(b, out[1]);
}

/* Column j of the rows of v (stride values apart), n rows, as a text[] literal. */
static const char *column(ccs_arena *a, const char *const *v, size_t n, size_t stride, size_t j)
{
	const char **col = ccs_arena_alloc(a, (n + 1) * sizeof(*col));
	for (size_t i = 0; i < n; i++)
		col[i] = v[i * stride + j];
	return ccs_pg_text_array(a, col, n);
}

int ccs_refb_finish(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err)
{
	ccs_refb *b = state;
	ccs_arena *a = b->a;
	size_t nnew = 0, nchg = 0;
	int rc = 0;
	(void)svc;
	(void)ctx;

	for (size_t i = 0; i < b->ncases; i++) {
		nnew += b->cases[i].is_new;
		nchg += b->cases[i].changed;
	}
	if (nnew) {
		const char **rows = ccs_arena_alloc(a, nnew * 15 * sizeof(*rows));
		size_t k = 0;
		for (size_t i = 0; i < b->ncases; i++) {
			const ccs_refb_case *c = &b->cases[i];
			if (!c->is_new)
				continue;
			memcpy(&rows[k * 15], c->row, 15 * sizeof(*rows));
			rows[k * 15 + 5] = *c->cin ? c->cin : NULL; /* as linked referrals left them */
			rows[k * 15 + 14] = *c->school ? c->school : NULL;
			k++;
		}
		const char *p[15];
		for (size_t j = 0; j < 15; j++)
			p[j] = column(a, rows, nnew, 15, j);
		if ((rc = ccs_tx_write(tx,
				       "INSERT INTO cases(case_id, case_number, county, county_model,"
				       " reviewing_office, medi_cal_cin, match_key, first_name, last_name,"
				       " birth_date, referral_date, application_send_due,"
				       " application_return_due, opened_by_referral, school_district)"
				       " SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
				       " $6::text[], $7::text[], $8::text[], $9::text[], $10::date[], $11::date[],"
				       " $12::date[], $13::date[], $14::uuid[], $15::text[])",
				       15, p, err)) != 0)
			return rc;
	}
	if (nchg) {
		const char **ids = ccs_arena_alloc(a, nchg * sizeof(*ids));
		const char **cins = ccs_arena_alloc(a, nchg * sizeof(*cins));
		const char **schools = ccs_arena_alloc(a, nchg * sizeof(*schools));
		size_t k = 0;
		for (size_t i = 0; i < b->ncases; i++) {
			const ccs_refb_case *c = &b->cases[i];
			if (!c->changed)
				continue;
			ids[k] = c->case_id;
			cins[k] = *c->cin ? c->cin : NULL;
			schools[k++] = *c->school ? c->school : NULL;
		}
		const char *p[3] = {ccs_pg_text_array(a, ids, nchg), ccs_pg_text_array(a, cins, nchg),
				    ccs_pg_text_array(a, schools, nchg)};
		if ((rc = ccs_tx_write(tx,
				       "UPDATE cases AS c SET medi_cal_cin = u.cin, school_district = u.school"
				       " FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, cin, school)"
				       " WHERE c.case_id = u.id",
				       3, p, err)) != 0)
			return rc;
	}
	if (b->nrows) {
		const char *p[10];
		for (size_t j = 0; j < 10; j++)
			p[j] = column(a, b->rows, b->nrows, 10, j);
		if ((rc = ccs_tx_write(tx,
				       "INSERT INTO referrals(event_id, referral_id, decision_id, outcome, case_id,"
				       " match_rule, source, referral_date, reasons, submitted)"
				       " SELECT e, r, d, o, c, m, s, rd, rs::text[], sub FROM unnest($1::text[],"
				       " $2::text[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[],"
				       " $8::date[], $9::text[], $10::bytea[]) AS u(e, r, d, o, c, m, s, rd, rs, sub)",
				       10, p, err)) != 0)
			return rc;
	}
	return 0;
}
