/* settle.h: oplog entries held until they have settled, then given back in position order. */
#ifndef TV_SETTLE_H
#define TV_SETTLE_H

#include <stdint.h>

#include <bson/bson.h>

#include "oplog.h"

/*
 * A server may make an entry visible after a later one: FerretDB takes an
 * entry's ts, then inserts it into local.oplog.rs in a separate step, so
 * concurrent writes land out of ts order (and mongod's "holes" close only as
 * transactions commit).  A reader that wrote each entry as it saw it would
 * skip the late one or stop at it.  So entries are held here, in position
 * order, until they have settled: seen settle_ms ago, or written (their wall
 * time) that long ago.  An entry later than that is out of order for good.
 */
struct tv_settle_entry {
	struct tv_oppos	 pos;
	int64_t		 wall_ms;	/* when the server wrote it (ms since the epoch) */
	int64_t		 seen_ms;	/* when it was added */
	bson_t		*doc;
};

struct tv_settle {
	struct tv_settle_entry	*v;		/* v[head..n), by position */
	size_t			 head, n, cap;
	int64_t			 settle_ms;
};

/* Prepares an empty buffer whose entries settle after settle_ms. */
void tv_settle_init(struct tv_settle *s, int64_t settle_ms);
/* Holds a copy of entry at pos, written at wall_ms, seen at now_ms; returns 0, or 1 if pos is already held. */
int tv_settle_add(struct tv_settle *s, const bson_t *entry, const struct tv_oppos *pos, int64_t wall_ms,
    int64_t now_ms);
/* Returns the first held entry if it has settled at now_ms, else NULL; tv_settle_pop() drops it. */
const struct tv_settle_entry *tv_settle_ready(const struct tv_settle *s, int64_t now_ms);
/* Drops the first held entry. */
void tv_settle_pop(struct tv_settle *s);
/* Returns how many entries are held. */
size_t tv_settle_count(const struct tv_settle *s);
/* Returns the ms from now_ms until every held entry has settled (0 when they have, or none is held). */
int64_t tv_settle_wait_ms(const struct tv_settle *s, int64_t now_ms);
/* Drops every held entry. */
void tv_settle_clear(struct tv_settle *s);
/* Releases the buffer. */
void tv_settle_free(struct tv_settle *s);

/* Returns entry's wall time in ms: its "wall" date, else the last ms of its ts second. */
int64_t tv_oplog_wall_ms(const bson_t *entry, const struct tv_oppos *pos);
/* Returns the time of day in ms since the epoch. */
int64_t tv_now_ms(void);

#endif
