/* replaytxn.c: transactions, buffered along their prevOpTime chain until their commit. */

#include <stdio.h>
#include <string.h>

#include "bsonstream.h"
#include "replayimpl.h"

static struct txn *
txn_find(struct tv_replay *r, const bson_t *lsid, int64_t number)
{
	for (struct txn *t = r->txns; t != NULL; t = t->next)
		if (t->number == number && bson_equal(&t->lsid, lsid))
			return t;
	return NULL;
}

static void
txn_drop(struct tv_replay *r, struct txn *t)
{
	for (struct txn **p = &r->txns; *p != NULL; p = &(*p)->next)
		if (*p == t) {
			*p = t->next;
			break;
		}
	tv_rp_txn_free(t);
}

/* Appends the operations of an applyOps list to the transaction's buffer, within the limit. */
static int
txn_buffer(struct tv_replay *r, struct txn *t, const bson_t *list)
{
	bson_iter_t it;

	bson_iter_init(&it, list);
	while (bson_iter_next(&it)) {
		char key[16];
		const char *k;
		bson_t inner;

		if (!tv_bson_subdocument(list, bson_iter_key(&it), &inner))
			return tv_rp_fail(r, "applyOps at %u.%u holds a non-document", r->t, r->i);
		if (t->ops.len + inner.len > r->txn_limit)
			return tv_rp_fail(r, "the transaction (txnNumber %lld) begun at %u.%u buffers more than "
			    "%zu bytes before its commit (at %u.%u); raise --max-txn-bytes",
			    (long long)t->number, t->first_t, t->first_i, r->txn_limit, r->t, r->i);
		bson_uint32_to_string(t->nops++, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT(&t->ops, k, &inner);
	}
	t->last_t = r->t;
	t->last_i = r->i;
	return 0;
}

static int
txn_commit(struct tv_replay *r, struct txn *t)
{
	bson_iter_t it;
	int rc = 0;

	bson_iter_init(&it, &t->ops);
	while (rc == 0 && bson_iter_next(&it)) {
		bson_t inner;

		tv_bson_subdocument(&t->ops, bson_iter_key(&it), &inner);
		rc = tv_rp_apply_op(r, &inner, 1);
	}
	txn_drop(r, t);
	return rc;
}

/* The position the entry's prevOpTime names: 0.0 for a transaction's first entry. */
static void
prev_position(const bson_t *entry, uint32_t *t, uint32_t *i)
{
	bson_t prev;
	bson_iter_t it;

	*t = *i = 0;
	if (tv_bson_subdocument(entry, "prevOpTime", &prev) && bson_iter_init_find(&it, &prev, "ts") &&
	    BSON_ITER_HOLDS_TIMESTAMP(&it))
		bson_iter_timestamp(&it, t, i);
}

/*
 * Finds the transaction an entry continues, checking the prevOpTime chain so
 * that a stream missing the start of a transaction fails instead of applying
 * half of it.  Returns 0 with *found (NULL for a new transaction) or 65.
 */
static int
txn_continue(struct tv_replay *r, const bson_t *entry, const bson_t *lsid, int64_t number,
    struct txn **found)
{
	uint32_t pt, pi;
	struct txn *t = txn_find(r, lsid, number);

	prev_position(entry, &pt, &pi);
	*found = t;
	if (pt == 0 && pi == 0 && t != NULL)
		return tv_rp_fail(r, "the transaction (txnNumber %lld) begun at %u.%u begins again at %u.%u "
		    "before its commit", (long long)number, t->first_t, t->first_i, r->t, r->i);
	if ((pt != 0 || pi != 0) && t == NULL)
		return tv_rp_fail(r, "the transaction entry at %u.%u continues one from %u.%u, which is not "
		    "in the stream: its earlier operations are missing", r->t, r->i, pt, pi);
	if (t != NULL && (pt != t->last_t || pi != t->last_i))
		return tv_rp_fail(r, "the transaction entry at %u.%u follows %u.%u, but the transaction's "
		    "previous entry is at %u.%u", r->t, r->i, pt, pi, t->last_t, t->last_i);
	return 0;
}

int
tv_rp_apply_txn(struct tv_replay *r, const bson_t *entry, const bson_t *o, const bson_t *lsid,
    int64_t number)
{
	struct txn *t;
	bson_t list;
	int rc;

	if ((rc = txn_continue(r, entry, lsid, number, &t)) != 0)
		return rc;
	if (bson_has_field(o, "abortTransaction")) {
		if (t != NULL) {
			r->counts.skipped += t->nops;
			txn_drop(r, t);
		}
		return 0;
	}
	if (bson_has_field(o, "commitTransaction")) {
		if (t == NULL)
			return tv_rp_fail(r, "commitTransaction at %u.%u commits a transaction whose "
			    "operations are not in the stream", r->t, r->i);
		return txn_commit(r, t);
	}
	if (!tv_bson_subdocument(o, "applyOps", &list))
		return tv_rp_fail(r, "the transaction entry at %u.%u holds no applyOps list", r->t,
		    r->i);
	if (t == NULL) {
		t = bson_malloc0(sizeof(*t));
		bson_copy_to(lsid, &t->lsid);
		bson_init(&t->ops);
		t->number = number;
		t->first_t = r->t;
		t->first_i = r->i;
		t->next = r->txns;
		r->txns = t;
	}
	if ((rc = txn_buffer(r, t, &list)) != 0)
		return rc;
	if (bson_has_field(o, "partialTxn") || bson_has_field(o, "prepare"))
		return 0;
	return txn_commit(r, t);
}

int
tv_rp_transaction_of(const bson_t *entry, const bson_t *o, bson_t *lsid, int64_t *number)
{
	bson_iter_t it;

	if (!tv_bson_subdocument(entry, "lsid", lsid) || !bson_iter_init_find(&it, entry, "txnNumber") ||
	    !BSON_ITER_HOLDS_NUMBER(&it))
		return 0;
	*number = bson_iter_as_int64(&it);
	/* Retryable writes carry an lsid too; only these commands make up transactions. */
	return bson_has_field(o, "applyOps") || bson_has_field(o, "commitTransaction") ||
	    bson_has_field(o, "abortTransaction");
}
