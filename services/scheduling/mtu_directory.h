/*
 * The MTU directory: which Medical Therapy Units exist, the school hosting each, the county and
 * school districts it serves, its disciplines, opening hours, therapists, rooms and closures.
 *
 * It is operator data, shipped as a sample in deploy/data/mtu_directory.tsv and replaceable
 * without a rebuild. The format is tab-separated, one record per line, so that a spreadsheet
 * can produce it and every error can name a line:
 *
 *   ccs-mtu-directory <TAB> 1                               first record: format and version
 *   mtu       mtu_id county host_school disciplines hours   disciplines: PT,OT
 *   district  mtu_id school_district
 *   therapist mtu_id therapist_id PT|OT hours
 *   room      mtu_id room_id uses                           uses: PT,OT,CONF or *
 *   closure   mtu_id first_day last_day reason              days: YYYY-MM-DD, inclusive
 *   serves    mtu_id county                                 a county without an MTU of its own
 *                                                           is served by this neighbour's MTU
 *
 * Hours: "Mon-Fri 07:30-16:00" or "Mon,Wed 08:00-12:00; Tue,Thu,Fri 12:30-16:00" (one interval
 * per weekday, local time, end exclusive, "24:00" allowed as an end). Lines starting with '#'
 * and blank lines are ignored. An mtu line must come before the records naming its id.
 * Counties and districts compare case-insensitively, with or without a trailing " County" /
 * " School District" ("Clovis Unified School District" is "Clovis Unified").
 *
 * Memory: the directory owns everything (an arena for strings, growable arrays for records);
 * ccs_sched_mtu_dir_free() releases it. Pointers into it (MTUs, therapists) stay valid until
 * then, which is what a snapshot borrows.
 */
#ifndef CCS_SCHED_MTU_DIRECTORY_H
#define CCS_SCHED_MTU_DIRECTORY_H

#include <stddef.h>

#include "ccs/mem.h"
#include "engine.h"

#define CCS_SCHED_MTU_FORMAT_VERSION 1
/* Files larger than this are refused (the statewide list is ~130 MTUs, a few hundred KB). */
#define CCS_SCHED_MTU_MAX_BYTES (16u * 1024u * 1024u)

typedef struct ccs_sched_mtu {
	const char *mtu_id;
	const char *county;
	const char *school;        /* host school */
	unsigned disciplines;      /* CCS_SCHED_PT | CCS_SCHED_OT */
	ccs_sched_hours open[7];   /* [0] = Monday */
	const char **districts;
	size_t n_districts;
	ccs_sched_therapist *therapists;
	size_t n_therapists;
	ccs_sched_room *rooms;
	size_t n_rooms;
	ccs_sched_closure *closures;
	size_t n_closures;
	const char **serves;       /* counties without an MTU that this one serves */
	size_t n_serves;
	int line;                  /* line of its mtu record */
} ccs_sched_mtu;

typedef struct ccs_sched_mtu_dir {
	ccs_sched_mtu *mtus;       /* in file order */
	size_t n_mtus;
	ccs_arena arena;           /* strings */
} ccs_sched_mtu_dir;

/* Parse a directory held in memory; source names the input in messages ("file:line: ..."). */
int ccs_sched_mtu_dir_parse(const char *data, size_t len, const char *source,
			    ccs_sched_mtu_dir **out, char *errbuf, size_t errlen) CCS_SCHED_WUR;
/* Read and parse a file. */
int ccs_sched_mtu_dir_load(const char *path, ccs_sched_mtu_dir **out, char *errbuf,
			   size_t errlen) CCS_SCHED_WUR;
void ccs_sched_mtu_dir_free(ccs_sched_mtu_dir *d);

/* ccs_sched_mtu_select() for any discipline. */
const ccs_sched_mtu *ccs_sched_mtu_for(const ccs_sched_mtu_dir *d, const char *county,
				       const char *school_district);
/* How an MTU was chosen for a child. */
typedef enum ccs_sched_mtu_how {
	CCS_SCHED_MTU_NONE = 0,
	CCS_SCHED_MTU_DISTRICT,  /* it lists the child's school district */
	CCS_SCHED_MTU_COUNTY,    /* the county's first MTU (no district, or none lists it) */
	CCS_SCHED_MTU_NEIGHBOUR, /* the county has no MTU: the neighbour named by a serves record */
} ccs_sched_mtu_how;

/* The MTU serving a child (the district's, the county's, else the neighbour's) that offers all
 * of `disciplines` (CCS_SCHED_PT | CCS_SCHED_OT; 0 = any); NULL when none; *how says which rule
 * chose it (how may be NULL). */
const ccs_sched_mtu *ccs_sched_mtu_select(const ccs_sched_mtu_dir *d, const char *county,
					  const char *school_district, unsigned disciplines,
					  ccs_sched_mtu_how *how);
const char *ccs_sched_mtu_how_name(ccs_sched_mtu_how how);
/*
 * As ccs_sched_mtu_select, except that a county fallback (no district named, or none of the
 * county's MTUs lists it) spreads children over the county's MTUs offering the disciplines by a
 * hash of `key` (the case id): deterministic, so a replay picks the same MTU, and a county with
 * 22 MTUs does not send every such child to the first one. key NULL: the first.
 */
const ccs_sched_mtu *ccs_sched_mtu_select_spread(const ccs_sched_mtu_dir *d, const char *county,
						 const char *school_district, unsigned disciplines,
						 const char *key, ccs_sched_mtu_how *how);
const ccs_sched_mtu *ccs_sched_mtu_find(const ccs_sched_mtu_dir *d, const char *mtu_id);

/* Point a snapshot at the MTU's hours, therapists, rooms and closures (borrowed); appointments
 * are left empty for the caller to fill from the database. */
void ccs_sched_mtu_snapshot(const ccs_sched_mtu *m, ccs_sched_snapshot *s);

#endif
