/* replayimpl.h: what the parts of the oplog replay (replay.c, replaytxn.c) share; not for tools. */
#ifndef TV_REPLAYIMPL_H
#define TV_REPLAYIMPL_H

#include "replay.h"

/* A transaction whose operations wait for their commit, keyed by lsid and txnNumber. */
struct txn {
	struct txn	*next;
	bson_t		 lsid;
	int64_t		 number;
	uint32_t	 first_t, first_i;	/* its first entry, for messages */
	uint32_t	 last_t, last_i;	/* its latest entry: the next one's prevOpTime */
	bson_t		 ops;			/* {"0": op, "1": op, ...} */
	uint32_t	 nops;
};

struct tv_replay {
	tv_write_fn		 fn;
	void			*arg;
	char			*db;		/* the source database, the only one entries may name */
	char			**select;
	size_t			 nselect;
	char			**rename_from, **rename_to;
	size_t			 nrename;
	int			 have_until;
	uint32_t		 until_t, until_i;
	size_t			 txn_limit;
	struct txn		*txns;
	uint32_t		 t, i;		/* the entry being replayed */
	uint64_t		 unit;		/* its writes' unit: 0 unless it is applyOps or a commit */
	struct tv_replay_counts	 counts;
	char			 error[1024];
};

/* Records the reason for a failure; returns 65. */
int tv_rp_fail(struct tv_replay *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Applies one operation: a top-level entry outside transactions, or one inside applyOps. */
int tv_rp_apply_op(struct tv_replay *r, const bson_t *op, int depth);
/* Releases a buffered transaction. */
void tv_rp_txn_free(struct txn *t);
/* Returns 1 if the entry belongs to a transaction (then *lsid and *number identify it). */
int tv_rp_transaction_of(const bson_t *entry, const bson_t *o, bson_t *lsid, int64_t *number);
/*
 * Takes a transaction entry: applyOps with partialTxn (more follow) or
 * prepare (a commitTransaction follows) is buffered; applyOps without either,
 * or a commitTransaction, applies the transaction; abortTransaction forgets it.
 */
int tv_rp_apply_txn(struct tv_replay *r, const bson_t *entry, const bson_t *o,
    const bson_t *lsid, int64_t number);

#endif
