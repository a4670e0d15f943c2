/* insert.h: bulk inserts into one collection, batches sent by several connections at once. */
#ifndef TV_INSERT_H
#define TV_INSERT_H

#include <stdint.h>

#include "mongo.h"

/* How an inserter batches and sends documents. */
struct tv_insert_opts {
	int		 workers;	/* connections inserting batches in parallel (1: stream order kept) */
	int		 ordered;	/* stop at the first error; implies one worker */
	int		 skip_dups;	/* count duplicate-key errors as skipped instead of failing */
	int32_t		 batch_docs;	/* documents per batch */
	size_t		 batch_bytes;	/* bytes per batch */
};

/* What an inserter did; valid after tv_inserter_finish. */
struct tv_insert_result {
	uint64_t	 inserted;
	uint64_t	 skipped;	/* duplicates, with skip_dups */
};

struct tv_inserter;

/*
 * Starts inserting into collection coll of m's database, with opts->workers
 * clients of their own (m stays the caller's).  Returns NULL if out of memory.
 */
struct tv_inserter *tv_inserter_start(struct tv_mongo *m, const char *coll,
    const struct tv_insert_opts *opts);
/*
 * Queues a document (offset: its byte offset in the input, for messages).
 * Returns 0, or the exit status of a batch that failed (then stop adding).
 */
int tv_inserter_add(struct tv_inserter *ins, const bson_t *doc, uint64_t offset);
/* Sends what is queued and waits for every batch; returns 0 or the first failure's exit status. */
int tv_inserter_finish(struct tv_inserter *ins, struct tv_insert_result *result);
/* Returns the message of the failure (naming the document index and byte offset), or "". */
const char *tv_inserter_error(const struct tv_inserter *ins);
/* Returns 1 if the failure was a duplicate key (the message then says where the first one is). */
int tv_inserter_duplicate(const struct tv_inserter *ins);
/* Stops the workers and releases everything. */
void tv_inserter_free(struct tv_inserter *ins);

#endif
