/* runrec.h: run records, one small JSON file per run of a flow, failures included. */
#ifndef TV_RUNREC_H
#define TV_RUNREC_H

#include <bson/bson.h>

#include "store.h"

/*
 * A record is a JSON object with at least kind (backup, pitr, recover, prune,
 * rehearse), id, start and end (ISO-8601 UTC), status (Completed or Failed),
 * exitCode and cause (the first error line, or null); flows add their numbers
 * (collections, sizes), and startClock (the clock at the start, seconds since the
 * epoch with a fraction).  It is kept twice under the same name,
 * runs/{YYYY-MM-DD}/{start as YYYYMMDDTHHMMSSZ}[.{startClock in µs, 16 digits}]-{kind}-{id}.json,
 * so that names sort in the order the runs started, even within one second: in the state
 * directory and in the store, so that another host sees it.  Both writes are
 * create-only.
 */

/* A record as parsed, and as written: its JSON text is kept byte for byte. */
struct tv_runrec {
	bson_t	*doc;
	char	*json;		/* one line, no newline */
};

/* Called once per record, oldest first; a nonzero return stops the walk with that code. */
typedef int (*tv_runrec_fn)(const struct tv_runrec *rec, void *arg);

/* Reads and checks the record in file path ("-": standard input).  Returns 0 or 65 (logged). */
int tv_runrec_load(const char *path, struct tv_runrec *rec);
/* Releases what tv_runrec_load filled in. */
void tv_runrec_free(struct tv_runrec *rec);
/* Writes the record's name (runs/…json) into buf; returns 0, or 65 if kind, id or start is unusable. */
int tv_runrec_name(const bson_t *rec, char *buf, size_t len);
/* Stores the record under name in the state directory; returns 0, 73 if it exists, or 74. */
int tv_runrec_save_local(const struct tv_runrec *rec, const char *name);
/* Stores the record under name in the blob store; returns 0 or the store's code. */
int tv_runrec_save_store(struct tv_store *store, const struct tv_runrec *rec, const char *name);
/* Which records a walk visits, decided from their names alone (a store need not fetch the others). */
struct tv_runrec_filter {
	const char	*since;		/* first day, YYYY-MM-DD; NULL: all */
	const char	*kinds;		/* comma-separated kinds; NULL: all */
};

/* Calls fn for each record in the state directory that the filter (NULL: all) lets through, oldest first. */
int tv_runrec_walk_local(const struct tv_runrec_filter *f, tv_runrec_fn fn, void *arg);
/* Calls fn for each record in the store that the filter (NULL: all) lets through, oldest first. */
int tv_runrec_walk_store(struct tv_store *store, const struct tv_runrec_filter *f, tv_runrec_fn fn, void *arg);

#endif
