/* applier.c: ordered bulk writes per worker thread, each owning a hash partition of the documents. */

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "applier.h"

/* Bytes per bulk write: few round trips, small next to the 64 MiB budget. */
#define BATCH_BYTES	(8 * 1024 * 1024)
/* Bytes all the batches may hold together, whatever the number of workers. */
#define ALL_BATCHES_BYTES	(32 * 1024 * 1024)
/*
 * Batches per worker: one being sent while the next fills.  With two each,
 * some batch is always free or queued, so the reader can never wait on batches
 * that only fill once it goes on.
 */
#define BATCHES_PER_WORKER	2

/* One write of a batch, kept until the batch has landed. */
struct pending {
	enum tv_write_kind	 kind;
	bson_t			*filter, *doc;
	uint32_t		 t, i;		/* the position of its entry */
	uint64_t		 seq;		/* its place in the stream */
};

/* Consecutive writes of one worker to one collection. */
struct batch {
	char			*coll;
	struct pending		*writes;
	uint32_t		 n;
	uint32_t		 statements;	/* its writes other than inserts */
	size_t			 bytes;
	struct batch		*next;		/* in the free list or a worker's queue */
};

struct worker {
	struct tv_applier	*ap;
	pthread_t		 tid;
	mongoc_client_t		*client;
	pthread_cond_t		 queued;	/* a batch was queued for it, or no more will be */
	struct batch		*head, *tail;	/* its queue, oldest first */
	struct batch		*filling;	/* the reader's, in neither list */
	int			 busy;		/* sending a batch */
};

struct tv_applier {
	pthread_mutex_t		 mu;
	pthread_cond_t		 freed;		/* a worker has sent a batch */
	struct batch		*batches;
	size_t			 nbatches;
	struct batch		*free;
	struct worker		*workers;
	int			 nworkers;
	int			 started;
	int			 serial;	/* every write to worker 0 */
	int			 closing;
	char			*dbname;
	uint32_t		 batch_max;
	uint32_t		 statements_max;
	size_t			 bytes_max;
	bson_t			*update_opts, *replace_opts, *no_validate;
	uint64_t		 next_seq;	/* the reader's */
	int			 status;	/* of the failure earliest in the stream */
	uint64_t		 failed_seq;
	char			 error[1024];
};

/* Records the failure of write seq unless one earlier in the stream is known; call with the lock held. */
static void __attribute__((format(printf, 4, 5)))
fail(struct tv_applier *ap, int status, uint64_t seq, const char *fmt, ...)
{
	va_list ap_list;

	if (ap->status != 0 && ap->failed_seq <= seq)
		return;
	ap->status = status;
	ap->failed_seq = seq;
	va_start(ap_list, fmt);
	vsnprintf(ap->error, sizeof(ap->error), fmt, ap_list);
	va_end(ap_list);
}

static void
fail_locked(struct tv_applier *ap, const bson_error_t *err, uint64_t seq, const char *what)
{
	pthread_mutex_lock(&ap->mu);
	fail(ap, tv_mongo_status(err), seq, "%s: %s", what, err->message);
	pthread_mutex_unlock(&ap->mu);
}

/* Builds an ordered bulk write of the batch's writes from index from to n; NULL after a failure. */
static mongoc_bulk_operation_t *
bulk_from(struct tv_applier *ap, mongoc_collection_t *into, const struct batch *b, uint32_t from,
    uint32_t n)
{
	bson_t *opts = BCON_NEW("ordered", BCON_BOOL(true));
	mongoc_bulk_operation_t *bulk = mongoc_collection_create_bulk_operation_with_opts(into, opts);
	bson_error_t err;
	char what[128];
	bool ok = true;

	bson_destroy(opts);
	for (uint32_t k = from; k < n && ok; k++) {
		const struct pending *p = &b->writes[k];

		/* The stream reader has validated every document: do not pay for it twice. */
		if (p->kind == TV_WRITE_INSERT)
			ok = mongoc_bulk_operation_insert_with_opts(bulk, p->doc, ap->no_validate, &err);
		else if (p->kind == TV_WRITE_REPLACE)
			ok = mongoc_bulk_operation_replace_one_with_opts(bulk, p->filter, p->doc,
			    ap->replace_opts, &err);
		else if (p->kind == TV_WRITE_UPDATE)
			ok = mongoc_bulk_operation_update_one_with_opts(bulk, p->filter, p->doc,
			    ap->update_opts, &err);
		else
			ok = mongoc_bulk_operation_remove_one_with_opts(bulk, p->filter, NULL, &err);
		if (!ok) {
			snprintf(what, sizeof(what), "the entry at %u.%u cannot be replayed", p->t, p->i);
			pthread_mutex_lock(&ap->mu);
			fail(ap, EX_DATAERR, p->seq, "%s: %s", what, err.message);
			pthread_mutex_unlock(&ap->mu);
			mongoc_bulk_operation_destroy(bulk);
			return NULL;
		}
	}
	return bulk;
}

/* Returns the index of the first write error of a bulk reply and its code, or -1. */
static long
first_error(const bson_t *reply, int64_t *code)
{
	bson_iter_t it, error, field;
	long index = -1;

	*code = 0;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !bson_iter_recurse(&it, &error) ||
	    !bson_iter_next(&error))
		return -1;
	if (bson_iter_recurse(&error, &field) && bson_iter_find(&field, "index"))
		index = (long)bson_iter_as_int64(&field);
	if (bson_iter_recurse(&error, &field) && bson_iter_find(&field, "code"))
		*code = bson_iter_as_int64(&field);
	return index;
}

/* Replaces the document an insert found already there: the insert's outcome, idempotently. */
static int
replace_existing(struct tv_applier *ap, mongoc_collection_t *into, const struct pending *p,
    bson_error_t *err)
{
	bson_t reply;
	int ok = mongoc_collection_replace_one(into, p->filter, p->doc, ap->replace_opts, &reply,
	    err);

	bson_destroy(&reply);
	return ok ? 0 : -1;
}

/*
 * Sends the first n writes of a batch.  Inserts go as inserts, much faster
 * than upserts on FerretDB; one whose _id exists stops the ordered bulk write,
 * becomes a replacement, and the writes after it are sent again.  Returns 0
 * or -1 after recording the failure.
 */
static int
send_batch(struct tv_applier *ap, mongoc_client_t *client, const struct batch *b, uint32_t n)
{
	mongoc_collection_t *into = mongoc_client_get_collection(client, ap->dbname, b->coll);
	uint32_t from = 0;
	char what[256];
	int rc = 0;

	while (rc == 0 && from < n) {
		mongoc_bulk_operation_t *bulk = bulk_from(ap, into, b, from, n);
		const struct pending *p;
		bson_t reply;
		bson_error_t err;
		int64_t code;
		long at;

		if (bulk == NULL) {
			rc = -1;
			break;
		}
		if (mongoc_bulk_operation_execute(bulk, &reply, &err))
			from = n;
		else if ((at = first_error(&reply, &code)) < 0 || at >= (long)(n - from)) {
			snprintf(what, sizeof(what), "replaying the entries from %u.%u to %u.%u into %s "
			    "failed", b->writes[from].t, b->writes[from].i, b->writes[n - 1].t,
			    b->writes[n - 1].i, b->coll);
			fail_locked(ap, &err, b->writes[from].seq, what);
			rc = -1;
		} else {
			p = &b->writes[from + (uint32_t)at];
			from += (uint32_t)at + 1;
			snprintf(what, sizeof(what), "replaying the %sentry at %u.%u into %s failed",
			    p->kind == TV_WRITE_INSERT ? "insert " : "", p->t, p->i, b->coll);
			if (p->kind != TV_WRITE_INSERT || code != TV_MONGO_DUPLICATE_KEY)
				rc = -1;
			else
				rc = replace_existing(ap, into, p, &err);
			if (rc != 0)
				fail_locked(ap, &err, p->seq, what);
		}
		bson_destroy(&reply);
		mongoc_bulk_operation_destroy(bulk);
	}
	mongoc_collection_destroy(into);
	return rc;
}

static void
empty_batch(struct batch *b)
{
	for (uint32_t k = 0; k < b->n; k++) {
		bson_destroy(b->writes[k].filter);
		if (b->writes[k].doc != NULL)
			bson_destroy(b->writes[k].doc);
	}
	bson_free(b->coll);
	b->coll = NULL;
	b->n = 0;
	b->statements = 0;
	b->bytes = 0;
	b->next = NULL;
}

/*
 * Returns how many of a batch's writes to send: after a failure only those
 * before it in the stream, which the failure's message says have landed.
 * Call with the lock held.
 */
static uint32_t
sendable(const struct tv_applier *ap, const struct batch *b)
{
	uint32_t n = 0;

	if (ap->closing)
		return 0;
	if (ap->status == 0)
		return b->n;
	while (n < b->n && b->writes[n].seq < ap->failed_seq)
		n++;
	return n;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct tv_applier *ap = w->ap;
	struct batch *b;
	uint32_t n;

	pthread_mutex_lock(&ap->mu);
	for (;;) {
		while (w->head == NULL && !ap->closing)
			pthread_cond_wait(&w->queued, &ap->mu);
		if ((b = w->head) == NULL)
			break;
		if ((w->head = b->next) == NULL)
			w->tail = NULL;
		w->busy = 1;
		n = sendable(ap, b);
		pthread_mutex_unlock(&ap->mu);
		if (n > 0)
			send_batch(ap, w->client, b, n);
		empty_batch(b);
		pthread_mutex_lock(&ap->mu);
		w->busy = 0;
		b->next = ap->free;
		ap->free = b;
		pthread_cond_broadcast(&ap->freed);
	}
	pthread_mutex_unlock(&ap->mu);
	return NULL;
}

/* Hands worker w's filling batch to it. */
static void
queue_filling(struct tv_applier *ap, struct worker *w)
{
	struct batch *b = w->filling;

	w->filling = NULL;
	pthread_mutex_lock(&ap->mu);
	if (w->tail != NULL)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	pthread_cond_signal(&w->queued);
	pthread_mutex_unlock(&ap->mu);
}

/* Takes a free batch for collection coll, waiting for one; NULL once a write has failed. */
static struct batch *
take_free(struct tv_applier *ap, const char *coll)
{
	struct batch *b;

	pthread_mutex_lock(&ap->mu);
	while (ap->free == NULL && ap->status == 0)
		pthread_cond_wait(&ap->freed, &ap->mu);
	if (ap->status != 0) {
		pthread_mutex_unlock(&ap->mu);
		return NULL;
	}
	b = ap->free;
	ap->free = b->next;
	pthread_mutex_unlock(&ap->mu);
	b->next = NULL;
	b->coll = bson_strdup(coll);
	return b;
}

/* FNV-1a, continued from h over len bytes. */
static uint64_t
fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len-- > 0)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

/*
 * Returns the worker of the write's document.  Numbers hash by value, as the
 * server matches them: int32 1, int64 1 and double 1.0 are one _id.
 */
static int
worker_of(const struct tv_applier *ap, const struct tv_write *w)
{
	uint64_t h = fnv1a(14695981039346656037ULL, w->coll, strlen(w->coll) + 1);
	bson_iter_t it;
	double d;
	int64_t n;

	if (ap->serial || ap->nworkers == 1 || !bson_iter_init_find(&it, w->filter, "_id"))
		return 0;
	if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it) ||
	    (BSON_ITER_HOLDS_DOUBLE(&it) && (d = bson_iter_double(&it)) > -9.2e18 && d < 9.2e18 &&
	    (double)(int64_t)d == d)) {
		n = bson_iter_as_int64(&it);
		h = fnv1a(h, &n, sizeof(n));
	} else if (BSON_ITER_HOLDS_DOUBLE(&it)) {
		d = bson_iter_double(&it);
		h = fnv1a(h, &d, sizeof(d));
	} else
		/* The element as the filter holds it: type, empty key, value. */
		h = fnv1a(h, bson_get_data(w->filter) + 4, w->filter->len - 5);
	return (int)(h % (uint64_t)ap->nworkers);
}

int
tv_applier_add(struct tv_applier *ap, const struct tv_write *w)
{
	struct worker *wk = &ap->workers[worker_of(ap, w)];
	struct batch *b = wk->filling;
	size_t len = w->filter->len + (w->doc ? w->doc->len : 0);
	struct pending *p;

	if (b != NULL && (strcmp(b->coll, w->coll) != 0 || b->bytes + len > ap->bytes_max))
		queue_filling(ap, wk);
	if (wk->filling == NULL && (wk->filling = take_free(ap, w->coll)) == NULL)
		return ap->status;
	b = wk->filling;
	p = &b->writes[b->n++];
	p->kind = w->kind;
	p->filter = bson_copy(w->filter);
	p->doc = w->doc ? bson_copy(w->doc) : NULL;
	p->t = w->t;
	p->i = w->i;
	p->seq = ap->next_seq++;
	b->bytes += len;
	b->statements += w->kind != TV_WRITE_INSERT;
	if (b->n == ap->batch_max || b->statements == ap->statements_max)
		queue_filling(ap, wk);
	return 0;
}

int
tv_applier_drain(struct tv_applier *ap, int serial)
{
	int idle, status;

	for (int k = 0; k < ap->nworkers; k++)
		if (ap->workers[k].filling != NULL)
			queue_filling(ap, &ap->workers[k]);
	pthread_mutex_lock(&ap->mu);
	do {
		idle = 1;
		for (int k = 0; k < ap->nworkers && idle; k++)
			idle = ap->workers[k].head == NULL && !ap->workers[k].busy;
		if (!idle)
			pthread_cond_wait(&ap->freed, &ap->mu);
	} while (!idle);
	status = ap->status;
	pthread_mutex_unlock(&ap->mu);
	ap->serial = serial;
	return status;
}

const char *
tv_applier_error(const struct tv_applier *ap)
{
	return ap->error;
}

struct tv_applier *
tv_applier_start(struct tv_mongo *m, int workers, uint32_t batch, uint32_t statements)
{
	struct tv_applier *ap = bson_malloc0(sizeof(*ap));
	sigset_t all, old;

	pthread_mutex_init(&ap->mu, NULL);
	pthread_cond_init(&ap->freed, NULL);
	ap->nworkers = workers < 1 ? 1 : workers;
	ap->batch_max = batch < 1 ? 1 : batch;
	ap->statements_max = statements < 1 ? 1 : statements;
	ap->dbname = bson_strdup(m->dbname);
	ap->update_opts = BCON_NEW("upsert", BCON_BOOL(true));
	ap->replace_opts = BCON_NEW("upsert", BCON_BOOL(true), "validate", BCON_BOOL(false));
	ap->no_validate = BCON_NEW("validate", BCON_BOOL(false));
	ap->nbatches = (size_t)ap->nworkers * BATCHES_PER_WORKER;
	ap->bytes_max = ALL_BATCHES_BYTES / ap->nbatches;
	if (ap->bytes_max > BATCH_BYTES)
		ap->bytes_max = BATCH_BYTES;
	ap->batches = bson_malloc0(ap->nbatches * sizeof(*ap->batches));
	for (size_t k = 0; k < ap->nbatches; k++) {
		ap->batches[k].writes = bson_malloc0(ap->batch_max * sizeof(struct pending));
		ap->batches[k].next = ap->free;
		ap->free = &ap->batches[k];
	}
	ap->workers = bson_malloc0((size_t)ap->nworkers * sizeof(*ap->workers));
	/* Signals are for the main thread, whose handlers decide what to do. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (; ap->started < ap->nworkers; ap->started++) {
		struct worker *w = &ap->workers[ap->started];

		w->ap = ap;
		pthread_cond_init(&w->queued, NULL);
		if ((w->client = tv_mongo_client_new(m)) == NULL ||
		    pthread_create(&w->tid, NULL, worker_main, w) != 0) {
			if (w->client != NULL)
				mongoc_client_destroy(w->client);
			pthread_cond_destroy(&w->queued);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ap->started < ap->nworkers) {
		tv_applier_free(ap);
		return NULL;
	}
	return ap;
}

void
tv_applier_free(struct tv_applier *ap)
{
	if (ap == NULL)
		return;
	pthread_mutex_lock(&ap->mu);
	ap->closing = 1;
	for (int k = 0; k < ap->started; k++)
		pthread_cond_signal(&ap->workers[k].queued);
	pthread_mutex_unlock(&ap->mu);
	for (int k = 0; k < ap->started; k++) {
		struct worker *w = &ap->workers[k];

		pthread_join(w->tid, NULL);
		mongoc_client_destroy(w->client);
		pthread_cond_destroy(&w->queued);
		if (w->filling != NULL)
			empty_batch(w->filling);
	}
	for (size_t k = 0; k < ap->nbatches; k++) {
		empty_batch(&ap->batches[k]);
		bson_free(ap->batches[k].writes);
	}
	bson_free(ap->batches);
	bson_free(ap->workers);
	bson_free(ap->dbname);
	bson_destroy(ap->update_opts);
	bson_destroy(ap->replace_opts);
	bson_destroy(ap->no_validate);
	pthread_mutex_destroy(&ap->mu);
	pthread_cond_destroy(&ap->freed);
	bson_free(ap);
}
