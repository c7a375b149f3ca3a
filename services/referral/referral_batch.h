/*
 * referrald's two-phase batch (the engine's prepare/finish, ccs/svc.h): what the handlers of one
 * batch read and write, in three statements for the whole batch instead of a few per referral.
 *
 *   prepare  the advisory locks of every CIN and match key of the batch, as one queued
 *            statement (in hash order); one lookup of every open case with one of those CINs
 *            or keys and of every referral id already decided;
 *   handler  decides each referral on that view; what it writes (a new case, a CIN or school
 *            district recorded on a case, the referral row) goes into the view too, so a later
 *            referral of the same child in the same batch links to the case an earlier one opened;
 *   finish   one multi-row insert of the new cases, one update of the changed ones, one
 *            multi-row insert of the referral rows.
 *
 * The view must answer as the per-message statements of referral.c would (careful runs use
 * those), so it keeps their rules: the CIN's open case first, else the oldest open case with the
 * match key (opened_at, then case_id) whose CIN does not contradict the referral's.
 */
#ifndef CCS_REFERRAL_BATCH_H
#define CCS_REFERRAL_BATCH_H

#include "ccs/svc.h"
#include "referral_rules.h"

typedef struct ccs_refb ccs_refb;

/* One case of the view. Strings live in the batch arena. */
typedef struct ccs_refb_case {
	const char *case_id;
	const char *case_number;
	const char *cin;        /* "" when none */
	const char *match_key;
	const char *school;     /* "" when none */
	long long opened_us;    /* opened_at in microseconds since the epoch */
	int is_new;             /* opened in this batch: inserted by finish */
	int changed;            /* an existing case whose CIN or school changed: updated by finish */
	const char *const *row; /* is_new: its insert values (15 columns) */
} ccs_refb_case;

int ccs_refb_prepare(ccs_svc *svc, void *ctx, ccs_tx *tx, const ccs_svc_batch *b, void **state, ccs_svc_err *err);
int ccs_refb_finish(ccs_svc *svc, void *ctx, ccs_tx *tx, void *state, ccs_svc_err *err);

/* The open case with this CIN, or NULL. */
ccs_refb_case *ccs_refb_by_cin(ccs_refb *b, const char *cin);
/* The oldest open case with this match key whose CIN is none, or cin, or cin is "". */
ccs_refb_case *ccs_refb_by_name(ccs_refb *b, const char *match_key, const char *cin);
/* 1 when the referral id has a decision (before the batch or earlier in it). */
int ccs_refb_decided(const ccs_refb *b, const char *referral_id);

/* A new case: `row` holds its 15 insert values in the order of referral.c's INSERT. */
void ccs_refb_open(ccs_refb *b, const char *const row[15]);
/* A linked referral's CIN (NULL: none to record) and school district ("" or NULL: unchanged). */
void ccs_refb_update(ccs_refb *b, ccs_refb_case *c, const char *cin, const char *school);
/* The referral row (10 values in the order of referral.c's INSERT; submitted as bytes). */
void ccs_refb_record(ccs_refb *b, const char *const row[9], const void *submitted, size_t len);

#endif
