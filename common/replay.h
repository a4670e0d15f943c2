/* replay.h: turning oplog entries into idempotent writes (no server involved). */
#ifndef TV_REPLAY_H
#define TV_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <bson/bson.h>

/*
 * Every entry becomes zero or more writes keyed by _id, each safe to apply
 * twice: inserts are inserts that replace a document of the same _id,
 * replacements are upserting replaceOne, updates are
 * upserting updateOne ($v: 2 diffs become $set/$unset on dotted paths,
 * arrays they shorten a truncation),
 * deletes are deleteOne.  applyOps is expanded, transactions are held until
 * their commit, and DDL is turned into a command or refused, never skipped.
 */

/* What a write does to its collection. */
enum tv_write_kind {
	TV_WRITE_INSERT,	/* insert doc, or replace the document if its _id exists */
	TV_WRITE_REPLACE,	/* replaceOne(filter, doc, upsert) */
	TV_WRITE_UPDATE,	/* updateOne(filter, doc, upsert) */
	TV_WRITE_DELETE,	/* deleteOne(filter) */
	TV_WRITE_TRUNCATE,	/* shorten the document's arrays: doc is {path: length, ...} */
	TV_WRITE_CREATE,	/* create the collection with the options in doc */
	TV_WRITE_DROP,		/* drop the collection */
	TV_WRITE_CREATE_INDEXES,	/* build the index specs of doc, an array, unless they exist */
	TV_WRITE_DROP_INDEX	/* drop the index doc names: {index: name or key pattern} */
};

/* One write, valid only during the callback that receives it. */
struct tv_write {
	enum tv_write_kind	 kind;
	const char		*coll;		/* the target collection, after renaming */
	const bson_t		*filter;	/* {_id: ...}; NULL for the collection-level kinds */
	const bson_t		*doc;		/* replacement, update or command arguments; NULL for delete and drop */
	uint32_t		 t, i;		/* the position of the entry it comes from */
	uint64_t		 unit;		/* 0, or shared by the writes of one applyOps or transaction */
};

/*
 * Receives each write in order; returns 0, or an exit code that stops the replay.
 * Writes of one unit (an applyOps or a transaction's commit) come one after
 * another; two units, or a unit and the writes around it, never share a number.
 */
typedef int (*tv_write_fn)(const struct tv_write *w, void *arg);

/* What a replay has done so far; counts are operations, applyOps and transactions expanded. */
struct tv_replay_counts {
	uint64_t	entries;	/* top-level entries read up to the end position */
	uint64_t	applied;	/* operations turned into writes */
	uint64_t	skipped;	/* no-ops, other collections, index build markers, aborted transactions */
	uint64_t	inserts, updates, deletes, commands;
	uint32_t	first_t, first_i;	/* the first and last entry taken */
	uint32_t	last_t, last_i;
};

/* Returned by tv_replay_entry for the first entry after the end position. */
#define TV_REPLAY_STOP	(-1)

/* The most bytes one transaction may buffer before its commit unless told otherwise. */
#define TV_REPLAY_TXN_MAX	(16 * 1024 * 1024)

struct tv_replay;

/* Starts a replay that hands every write to fn; it needs its source database (tv_replay_set_db). */
struct tv_replay *tv_replay_new(tv_write_fn fn, void *arg);
/*
 * Sets the source database: an entry whose namespace names another, or is not
 * db.collection with a valid collection name, is refused (65).  Until it is
 * set every entry is refused.
 */
void tv_replay_set_db(struct tv_replay *r, const char *db);
/* Releases the replay and any transaction it still buffers. */
void tv_replay_free(struct tv_replay *r);
/* Restricts the replay to the named source collection (call once per collection). */
void tv_replay_select(struct tv_replay *r, const char *coll);
/* Sends writes of source collection FROM to TO, spec "FROM=TO"; returns 0 or -1 if malformed. */
int tv_replay_rename(struct tv_replay *r, const char *spec);
/* Stops before the first entry after position t.i (inclusive end). */
void tv_replay_set_until(struct tv_replay *r, uint32_t t, uint32_t i);
/* Sets how many bytes one transaction may buffer before its commit. */
void tv_replay_set_txn_limit(struct tv_replay *r, size_t bytes);
/*
 * Translates one oplog entry and hands its writes to the callback: returns 0,
 * TV_REPLAY_STOP for an entry after the end position (not applied), or an exit
 * code (65 for an entry that cannot be replayed, else the callback's) with the
 * reason in tv_replay_error.
 */
int tv_replay_entry(struct tv_replay *r, const bson_t *entry);
/* Returns how many transactions are still waiting for their commit. */
size_t tv_replay_open_transactions(const struct tv_replay *r);
/* Returns the reason for the last failure. */
const char *tv_replay_error(const struct tv_replay *r);
/* Returns the counts so far. */
const struct tv_replay_counts *tv_replay_counts(const struct tv_replay *r);

/*
 * Parses an end position: "T.I", "T" (the whole second) or an ISO-8601 UTC
 * second such as 2024-01-15T03:00:00Z (the whole second); returns 0 or -1.
 */
int tv_replay_parse_position(const char *s, uint32_t *t, uint32_t *i);

#endif
