/* swap.h: the journal that puts every staging collection of a restore in place, all or none. */
#ifndef TV_SWAP_H
#define TV_SWAP_H

#include <stdio.h>

#include "mongo.h"

/*
 * A restore of several collections loads each into a staging collection, then
 * swaps them all in.  The journal, a small JSON file, names them before the
 * first document is loaded, so that whatever kills the restore the next run
 * knows what to do: before the swap began, drop the staging collections (the
 * live ones never changed); once it began, finish it.  The swap moves each
 * target aside before renaming its staging collection in (FerretDB has no
 * renameCollection dropTarget) and drops the old ones only when all are in,
 * so a failed step can be rolled back whole.
 */

/* tv-restore --drop and the journal name their collections so, and tv-export --list hides them. */
#define TV_STAGING_PREFIX	"tv_restore_staging_"
#define TV_PREVIOUS_PREFIX	"tv_restore_previous_"
/* The journal's name in the state directory (statedir.h), unless --journal names another. */
#define TV_SWAP_JOURNAL		"recover.journal"
/* The random suffix of those names: '_' and this many hex digits. */
#define TV_STAGING_SUFFIX	8

/* Returns 1 if name is prefix, target, '_' and TV_STAGING_SUFFIX hex digits. */
int tv_swap_is_name(const char *name, const char *prefix, const char *target);
/* Returns 1 if name can be a target collection (not empty, no '$', not system.*, not ours). */
int tv_swap_valid_target(const char *name);
/*
 * Reads the database name of the journal at path into *db (to free); returns
 * 0, EX_NOINPUT if there is no journal, or 65 if it is not one.
 */
int tv_swap_journal_db(const char *path, char **db);
/*
 * Writes a journal for loading the n targets of m's database, refusing (73) if
 * one exists, and prints "target<TAB>staging collection" for each on out.
 */
int tv_swap_begin(struct tv_mongo *m, const char *path, char *const *targets, size_t n, FILE *out);
/* Swaps every staging collection of the journal in, or on failure none; removes the journal. */
int tv_swap_commit(struct tv_mongo *m, const char *path);
/*
 * Settles an unfinished journal: one still loading loses its staging
 * collections, one swapping is finished (or rolled back if it cannot be).
 * interrupted: the journal is an earlier run's, and the log says so (else it
 * is the caller's own, dropped quietly).  Returns 0 (also when there is no
 * journal) or an exit status.
 */
int tv_swap_resume(struct tv_mongo *m, const char *path, int interrupted);

#endif
