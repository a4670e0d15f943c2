/* applier.h: tv-replay's document writes, sent by connections that each own a share of the documents. */
#ifndef TV_APPLIER_H
#define TV_APPLIER_H

#include <stdint.h>

#include "mongo.h"
#include "replay.h"

/*
 * Each worker has a client of its own and owns the documents whose collection
 * and _id hash to it: the writes to one document keep their stream order, the
 * writes to different documents land in parallel.  A worker sends the writes
 * queued for it as ordered bulk writes on one collection; an insert whose _id
 * exists becomes a replacement (the insert's outcome, idempotently).
 */
struct tv_applier;

/*
 * Starts workers sending bulk writes of at most batch writes, of which at
 * most statements are not inserts, into m's database (m stays the caller's).
 * Returns NULL if out of memory or no thread could start.
 */
struct tv_applier *tv_applier_start(struct tv_mongo *m, int workers, uint32_t batch,
    uint32_t statements);
/*
 * Queues an insert, replacement, update or delete (copied).  Returns 0, or the
 * exit status of a write that failed (then stop adding, and drain: the writes
 * queued before the failed one are still sent, those after it are not).
 */
int tv_applier_add(struct tv_applier *ap, const struct tv_write *w);
/*
 * Waits until every queued write has landed; from then on, with serial set,
 * every write goes to one worker in stream order (the writes of a transaction),
 * else each to its document's.  Returns 0 or the first failure's exit status.
 */
int tv_applier_drain(struct tv_applier *ap, int serial);
/* Returns the message of the first failure (naming the entry's position), or "". */
const char *tv_applier_error(const struct tv_applier *ap);
/* Stops the workers (what is still queued is not sent) and releases everything. */
void tv_applier_free(struct tv_applier *ap);

#endif
