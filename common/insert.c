/* insert.c: a bounded queue of bulk inserts, sent by worker threads that each own a client. */

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "insert.h"
#include "log.h"

/* Batches per worker: one being sent while the next fills, so the reader seldom waits. */
#define BATCHES_PER_WORKER	2

struct batch {
	mongoc_bulk_operation_t	*bulk;
	uint64_t		 first;		/* stream index of its first document */
	uint32_t		 docs;
	size_t			 bytes;
	uint64_t		*offsets;	/* stream offset of each document */
	struct batch		*next;		/* in the free list or the queue */
};

struct worker {
	struct tv_inserter	*ins;
	pthread_t		 tid;
	mongoc_client_t		*client;
};

struct tv_inserter {
	pthread_mutex_t		 mu;
	pthread_cond_t		 queued;	/* a batch was queued, or no more will be */
	pthread_cond_t		 freed;		/* a batch came back to the free list */
	struct batch		*batches;
	size_t			 nbatches;
	struct batch		*free;
	struct batch		*head;		/* the queue, oldest first */
	struct batch		*tail;
	struct batch		*filling;	/* the caller's, not in either list */
	int			 closing;
	int			 finished;
	struct worker		*workers;
	int			 nworkers;
	int			 started;
	char			*dbname;
	char			*coll;
	bson_t			*insert_opts;
	struct tv_insert_opts	 opts;
	uint64_t		 next_index;	/* stream index of the next document added */
	struct tv_insert_result	 result;
	int			 status;	/* of the failure at the lowest document index */
	uint64_t		 failed_at;
	int			 duplicate;
	char			 error[768];
};

/* Records a failure unless one at a lower document index is known; call with the lock held. */
static void __attribute__((format(printf, 5, 6)))
fail(struct tv_inserter *ins, int status, uint64_t index, int duplicate, const char *fmt, ...)
{
	va_list ap;

	if (ins->status != 0 && ins->failed_at <= index)
		return;
	ins->status = status != 0 ? status : 1;
	ins->failed_at = index;
	ins->duplicate = duplicate;
	va_start(ap, fmt);
	vsnprintf(ins->error, sizeof(ins->error), fmt, ap);
	va_end(ap);
}

/* Returns the batch index a write error names, or 0 if it names none in the batch. */
static long
error_index(const bson_iter_t *error, uint32_t docs)
{
	bson_iter_t field;
	int64_t index;

	if (!bson_iter_recurse(error, &field) || !bson_iter_find(&field, "index"))
		return 0;
	index = bson_iter_as_int64(&field);
	return index >= 0 && index < (int64_t)docs ? (long)index : 0;
}

/*
 * Counts the duplicate-key errors in a bulk reply and finds the first one;
 * returns the batch index of the first other write error, or -1 if all were
 * duplicates.
 */
static long
count_duplicates(const bson_t *reply, uint32_t docs, uint64_t *dups, long *first_dup)
{
	bson_iter_t it, error;

	*dups = 0;
	*first_dup = -1;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &error))
		return -1;
	while (bson_iter_next(&error)) {
		bson_iter_t field;
		long index = error_index(&error, docs);
		int64_t code = -1;

		if (bson_iter_recurse(&error, &field) && bson_iter_find(&field, "code"))
			code = bson_iter_as_int64(&field);
		if (code != TV_MONGO_DUPLICATE_KEY)
			return index;
		if (*first_dup < 0 || index < *first_dup)
			*first_dup = index;
		(*dups)++;
	}
	return -1;
}

/* Sends one batch with the worker's client and records what happened. */
static void
send_batch(struct tv_inserter *ins, mongoc_client_t *client, struct batch *b)
{
	bson_t reply;
	bson_error_t err;
	bson_iter_t it;
	uint64_t dups, done = 0;
	long other, first_dup;
	int ok;

	mongoc_bulk_operation_set_client(b->bulk, client);
	ok = mongoc_bulk_operation_execute(b->bulk, &reply, &err) != 0;
	if (bson_iter_init_find(&it, &reply, "nInserted"))
		done = (uint64_t)bson_iter_as_int64(&it);
	other = count_duplicates(&reply, b->docs, &dups, &first_dup);
	pthread_mutex_lock(&ins->mu);
	ins->result.inserted += done;
	if (ok)
		;
	else if (other < 0 && first_dup >= 0 && ins->opts.skip_dups)
		ins->result.skipped += dups;
	else if (other < 0 && first_dup >= 0)
		fail(ins, EX_DATAERR, b->first + (uint64_t)first_dup, 1,
		    "duplicate _id (or unique key) at document index %llu (byte offset %llu)",
		    (unsigned long long)(b->first + (uint64_t)first_dup),
		    (unsigned long long)b->offsets[first_dup]);
	else if (other >= 0)
		fail(ins, tv_mongo_status(&err), b->first + (uint64_t)other, 0,
		    "insert into %s refused document index %llu (byte offset %llu): %s", ins->coll,
		    (unsigned long long)(b->first + (uint64_t)other),
		    (unsigned long long)b->offsets[other], err.message);
	else
		fail(ins, tv_mongo_status(&err), b->first, 0,
		    "insert into %s failed for document indexes %llu to %llu: %s", ins->coll,
		    (unsigned long long)b->first, (unsigned long long)(b->first + b->docs - 1),
		    err.message);
	pthread_mutex_unlock(&ins->mu);
	bson_destroy(&reply);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct tv_inserter *ins = w->ins;
	struct batch *b;
	int skip;

	pthread_mutex_lock(&ins->mu);
	for (;;) {
		while (ins->head == NULL && !ins->closing)
			pthread_cond_wait(&ins->queued, &ins->mu);
		if ((b = ins->head) == NULL)
			break;
		if ((ins->head = b->next) == NULL)
			ins->tail = NULL;
		/* Batches still queued after a failure come after it in the stream: not sent. */
		skip = ins->status != 0;
		pthread_mutex_unlock(&ins->mu);
		if (!skip)
			send_batch(ins, w->client, b);
		mongoc_bulk_operation_destroy(b->bulk);
		b->bulk = NULL;
		pthread_mutex_lock(&ins->mu);
		b->next = ins->free;
		ins->free = b;
		pthread_cond_signal(&ins->freed);
	}
	pthread_mutex_unlock(&ins->mu);
	return NULL;
}

/* Takes a free batch for the caller to fill, waiting for one; NULL once a batch has failed. */
static struct batch *
take_free(struct tv_inserter *ins)
{
	struct batch *b;

	pthread_mutex_lock(&ins->mu);
	while (ins->free == NULL && ins->status == 0)
		pthread_cond_wait(&ins->freed, &ins->mu);
	if (ins->status != 0) {
		pthread_mutex_unlock(&ins->mu);
		return NULL;
	}
	b = ins->free;
	ins->free = b->next;
	pthread_mutex_unlock(&ins->mu);
	b->bulk = mongoc_bulk_operation_new(ins->opts.ordered);
	mongoc_bulk_operation_set_database(b->bulk, ins->dbname);
	mongoc_bulk_operation_set_collection(b->bulk, ins->coll);
	b->first = ins->next_index;
	b->docs = 0;
	b->bytes = 0;
	b->next = NULL;
	return b;
}

/* Hands the batch being filled to the workers; returns the inserter's status. */
static int
queue_filling(struct tv_inserter *ins)
{
	struct batch *b = ins->filling;
	int status;

	ins->filling = NULL;
	pthread_mutex_lock(&ins->mu);
	if (ins->tail != NULL)
		ins->tail->next = b;
	else
		ins->head = b;
	ins->tail = b;
	pthread_cond_signal(&ins->queued);
	status = ins->status;
	pthread_mutex_unlock(&ins->mu);
	return status;
}

struct tv_inserter *
tv_inserter_start(struct tv_mongo *m, const char *coll, const struct tv_insert_opts *opts)
{
	struct tv_inserter *ins = calloc(1, sizeof(*ins));
	sigset_t all, old;
	size_t i;

	if (ins == NULL)
		return NULL;
	ins->opts = *opts;
	ins->nworkers = opts->ordered || opts->workers < 1 ? 1 : opts->workers;
	ins->nbatches = (size_t)ins->nworkers * BATCHES_PER_WORKER;
	pthread_mutex_init(&ins->mu, NULL);
	pthread_cond_init(&ins->queued, NULL);
	pthread_cond_init(&ins->freed, NULL);
	ins->dbname = strdup(m->dbname);
	ins->coll = strdup(coll);
	/* The stream reader has validated every document: do not pay for it twice. */
	ins->insert_opts = BCON_NEW("validate", BCON_BOOL(false));
	ins->batches = calloc(ins->nbatches, sizeof(*ins->batches));
	ins->workers = calloc((size_t)ins->nworkers, sizeof(*ins->workers));
	if (ins->dbname == NULL || ins->coll == NULL || ins->batches == NULL || ins->workers == NULL)
		goto fail;
	for (i = 0; i < ins->nbatches; i++) {
		struct batch *b = &ins->batches[i];

		if ((b->offsets = calloc((size_t)opts->batch_docs, sizeof(*b->offsets))) == NULL)
			goto fail;
		b->next = ins->free;
		ins->free = b;
	}
	/* Signals are for the main thread, whose handler and loop decide what to do. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; ins->started < ins->nworkers; ins->started++) {
		struct worker *w = &ins->workers[ins->started];

		w->ins = ins;
		if ((w->client = tv_mongo_client_new(m)) == NULL ||
		    pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			if (w->client != NULL)
				mongoc_client_destroy(w->client);
			w->client = NULL;
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ins->started < ins->nworkers)
		goto fail;
	return ins;
fail:
	tv_inserter_free(ins);
	return NULL;
}

int
tv_inserter_add(struct tv_inserter *ins, const bson_t *doc, uint64_t offset)
{
	struct batch *b = ins->filling;
	bson_error_t err;
	int status;

	if (b != NULL && b->docs > 0 && b->bytes + doc->len > ins->opts.batch_bytes &&
	    (status = queue_filling(ins)) != 0)
		return status;
	if (ins->filling == NULL && (ins->filling = take_free(ins)) == NULL)
		return ins->status;
	b = ins->filling;
	if (!mongoc_bulk_operation_insert_with_opts(b->bulk, doc, ins->insert_opts, &err)) {
		pthread_mutex_lock(&ins->mu);
		fail(ins, EX_DATAERR, ins->next_index, 0,
		    "document index %llu (byte offset %llu) cannot be inserted: %s",
		    (unsigned long long)ins->next_index, (unsigned long long)offset, err.message);
		status = ins->status;
		pthread_mutex_unlock(&ins->mu);
		return status;
	}
	b->offsets[b->docs++] = offset;
	b->bytes += doc->len;
	ins->next_index++;
	if (b->docs == (uint32_t)ins->opts.batch_docs)
		return queue_filling(ins);
	return 0;
}

/* Lets the workers run out of queued batches, then joins them. */
static void
stop_workers(struct tv_inserter *ins)
{
	int i;

	pthread_mutex_lock(&ins->mu);
	ins->closing = 1;
	pthread_cond_broadcast(&ins->queued);
	pthread_mutex_unlock(&ins->mu);
	for (i = 0; i < ins->started; i++) {
		pthread_join(ins->workers[i].tid, NULL);
		mongoc_client_destroy(ins->workers[i].client);
	}
	ins->started = 0;
}

int
tv_inserter_finish(struct tv_inserter *ins, struct tv_insert_result *result)
{
	if (ins->filling != NULL && ins->filling->docs > 0)
		queue_filling(ins);
	stop_workers(ins);
	ins->finished = 1;
	if (result != NULL)
		*result = ins->result;
	return ins->status;
}

const char *
tv_inserter_error(const struct tv_inserter *ins)
{
	return ins->error;
}

int
tv_inserter_duplicate(const struct tv_inserter *ins)
{
	return ins->duplicate;
}

void
tv_inserter_free(struct tv_inserter *ins)
{
	size_t i;

	if (ins == NULL)
		return;
	/* Abandoned before tv_inserter_finish: what is still queued is not sent. */
	pthread_mutex_lock(&ins->mu);
	if (!ins->finished && ins->status == 0)
		ins->status = EX_SOFTWARE;
	pthread_mutex_unlock(&ins->mu);
	stop_workers(ins);
	for (i = 0; ins->batches != NULL && i < ins->nbatches; i++) {
		if (ins->batches[i].bulk != NULL)
			mongoc_bulk_operation_destroy(ins->batches[i].bulk);
		free(ins->batches[i].offsets);
	}
	free(ins->batches);
	free(ins->workers);
	free(ins->dbname);
	free(ins->coll);
	if (ins->insert_opts != NULL)
		bson_destroy(ins->insert_opts);
	pthread_mutex_destroy(&ins->mu);
	pthread_cond_destroy(&ins->queued);
	pthread_cond_destroy(&ins->freed);
	free(ins);
}
