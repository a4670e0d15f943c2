/*
 * tv-workload: TralliValli-shaped writes for the point-in-time soak (tests/soak/pitr), in
 * batches that the soak times.  One long-lived client: a process per write would cost more
 * than the write.  Reads lines on stdin:
 *
 *	batch N [MS]	waits, with MS, until the clock is MS milliseconds into a second, then
 *			makes N writes (inserts, $set/$inc/$push/$unset updates, replacements,
 *			deletes) and prints "FIRST LAST": the clock, in seconds, just before the
 *			first write was sent and just after the last one was acknowledged
 *
 *	ping		after a server restart: waits until the server answers, prints "ok"
 *
 * and at the end of its input prints what it wrote.  The writes are a function of the seed
 * and the batch sizes alone: a failing round's seed replays them.  Inserted documents come
 * from POOL/{collection}.bson (tv-gendata's); updates and deletes pick among the documents the
 * collections hold, which it reads once at start and then follows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <mongoc/mongoc.h>

enum coll { USERS, CONVERSATIONS, MESSAGES, INVITES, FILES, NCOLLS };
static const char *collnames[NCOLLS] = { "users", "conversations", "messages", "invites", "files" };
/* How often each collection is written to, in percent: a chat writes messages most. */
static const unsigned collweights[NCOLLS] = { 12, 13, 50, 10, 15 };

enum op { INSERT, SET, INC, PUSH, UNSET, REPLACE, DELETE, NOPS };
static const char *opnames[NOPS] = { "inserts", "$set", "$inc", "$push", "$unset", "replacements", "deletes" };
static const unsigned opweights[NOPS] = { 30, 20, 10, 10, 6, 9, 15 };

/* Per collection, the field each kind of update touches, as the application would. */
static const char *setfields[NCOLLS][2] = {
	{ "lastLoginAt", "isActive" }, { "lastMessageAt", "participants.0.lastReadAt" },
	{ "editedAt", "content" }, { "expiresAt", "isUsed" }, { "uploadedAt", "isDeleted" },
};
static const char *incfields[NCOLLS] = { "messageCount", "messageCount", "reactions", "uses", "downloads" };
static const char *pushfields[NCOLLS] = { "devices", "participants", "readBy", "reminders", "tags" };
static const char *unsetfields[NCOLLS] = { "lastLoginAt", "name", "editedAt", "usedBy", "sha256" };
static const char *words[] = {
	"ok", "see you", "thanks!", "on my way", "Привет", "👍", "meeting at 10", "lol", "café?", "done",
};

struct ids {
	bson_oid_t	*v;
	size_t		 n, cap;
};

struct pool {
	bson_t		**docs;
	size_t		  n, next;
};

struct workload {
	unsigned		 writer, writers;	/* -o K/N */
	mongoc_collection_t	*colls[NCOLLS];
	struct ids		 live[NCOLLS];
	struct pool		 pool[NCOLLS];
	uint64_t		 state;		/* xorshift */
	unsigned long		 done[NOPS];
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: tv-workload [-o K/N] -s seed -p pooldir\n"
	    "       (MONGODB_URI names the server and the database; commands on stdin: batch N [MS])\n");
	exit(status);
}

static uint64_t
rnd(struct workload *w)
{
	w->state ^= w->state >> 12;
	w->state ^= w->state << 25;
	w->state ^= w->state >> 27;
	return w->state * 0x2545f4914f6cdd1dULL;
}

static unsigned
below(struct workload *w, unsigned n)
{
	return (unsigned)(((rnd(w) >> 32) * n) >> 32);
}

/* Draws an index by the weights (which sum to 100). */
static unsigned
weighted(struct workload *w, const unsigned *weights, unsigned n)
{
	unsigned r = below(w, 100), i;

	for (i = 0; i + 1 < n && r >= weights[i]; i++)
		r -= weights[i];
	return i;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
ids_add(struct ids *ids, const bson_oid_t *oid)
{
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? 2 * ids->cap : 256;
		if ((ids->v = realloc(ids->v, ids->cap * sizeof(*ids->v))) == NULL) {
			fprintf(stderr, "tv-workload: out of memory\n");
			exit(EX_OSERR);
		}
	}
	bson_oid_copy(oid, &ids->v[ids->n++]);
}

/*
 * -o K/N: of the documents already there, writer K of N updates and deletes those whose id's
 * last byte is K modulo N, and the ones it inserts.  Two writers never race on one document:
 * FerretDB logs an update that lost such a race to a delete (an update entry after the delete,
 * for a document that is gone), and no replay can tell it from a real one.
 */
static int
owned(const struct workload *w, const bson_oid_t *oid)
{
	return oid->bytes[11] % w->writers == w->writer;
}

/* Reads the _id of every document collection c holds now (all ObjectIds, as tv-gendata's). */
static int
load_ids(struct workload *w, enum coll c)
{
	bson_t *filter = bson_new(), *opts = BCON_NEW("projection", "{", "_id", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(w->colls[c], filter, opts, NULL);
	const bson_t *doc;
	bson_iter_t it;
	bson_error_t err;
	int ok = 1;

	while (mongoc_cursor_next(cur, &doc))
		if (bson_iter_init_find(&it, doc, "_id") && BSON_ITER_HOLDS_OID(&it) && owned(w, bson_iter_oid(&it)))
			ids_add(&w->live[c], bson_iter_oid(&it));
	if (mongoc_cursor_error(cur, &err)) {
		fprintf(stderr, "tv-workload: reading %s: %s\n", collnames[c], err.message);
		ok = 0;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	bson_destroy(filter);
	return ok;
}

static int
load_pool(struct workload *w, const char *dir, enum coll c)
{
	char path[4096];
	bson_reader_t *reader;
	const bson_t *doc;
	bson_error_t err;
	bool eof = false;
	struct pool *p = &w->pool[c];

	snprintf(path, sizeof(path), "%s/%s.bson", dir, collnames[c]);
	if ((reader = bson_reader_new_from_file(path, &err)) == NULL) {
		fprintf(stderr, "tv-workload: %s: %s\n", path, err.message);
		return 0;
	}
	while ((doc = bson_reader_read(reader, &eof)) != NULL) {
		if ((p->docs = realloc(p->docs, (p->n + 1) * sizeof(*p->docs))) == NULL) {
			fprintf(stderr, "tv-workload: out of memory\n");
			exit(EX_OSERR);
		}
		p->docs[p->n++] = bson_copy(doc);
	}
	bson_reader_destroy(reader);
	if (!eof || p->n == 0) {
		fprintf(stderr, "tv-workload: %s: %s\n", path, eof ? "no documents" : "not a BSON stream");
		return 0;
	}
	return 1;
}

/* A value of the kind field f of collection c holds: a date, a flag, a text or an ObjectId. */
static void
append_value(struct workload *w, bson_t *b, const char *key, enum coll c, const char *f)
{
	/* 2026-12-01T00:00:00Z plus up to about a month, in milliseconds. */
	int64_t date = 1796083200000LL + (int64_t)below(w, 2600000) * 1000;

	if (strcmp(f, "isActive") == 0 || strcmp(f, "isUsed") == 0 || strcmp(f, "isDeleted") == 0)
		BSON_APPEND_BOOL(b, key, below(w, 2));
	else if (strcmp(f, "content") == 0 || strcmp(f, "tags") == 0 || strcmp(f, "devices") == 0) {
		/* Drawn first: BSON_APPEND_UTF8 evaluates its value twice. */
		const char *word = words[below(w, sizeof(words) / sizeof(words[0]))];

		BSON_APPEND_UTF8(b, key, word);
	} else if (c == CONVERSATIONS && strcmp(f, "participants") == 0) {
		bson_t part;

		BSON_APPEND_DOCUMENT_BEGIN(b, key, &part);
		BSON_APPEND_OID(&part, "userId", &w->live[USERS].v[below(w, w->live[USERS].n)]);
		BSON_APPEND_DATE_TIME(&part, "joinedAt", date);
		BSON_APPEND_NULL(&part, "lastReadAt");
		BSON_APPEND_UTF8(&part, "role", "member");
		bson_append_document_end(b, &part);
	} else if (c == MESSAGES && strcmp(f, "readBy") == 0) {
		bson_t read;

		BSON_APPEND_DOCUMENT_BEGIN(b, key, &read);
		BSON_APPEND_OID(&read, "userId", &w->live[USERS].v[below(w, w->live[USERS].n)]);
		BSON_APPEND_DATE_TIME(&read, "readAt", date);
		bson_append_document_end(b, &read);
	} else
		BSON_APPEND_DATE_TIME(b, key, date);
}

/* Builds the update document of operation op on collection c. */
static bson_t *
make_update(struct workload *w, enum op op, enum coll c)
{
	bson_t *u = bson_new(), sub;

	switch (op) {
	case SET:
		BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &sub);
		append_value(w, &sub, setfields[c][0], c, setfields[c][0]);
		if (below(w, 2))
			append_value(w, &sub, setfields[c][1], c, setfields[c][1]);
		break;
	case INC:
		BSON_APPEND_DOCUMENT_BEGIN(u, "$inc", &sub);
		BSON_APPEND_INT32(&sub, incfields[c], 1 + below(w, 3));
		break;
	case PUSH:
		BSON_APPEND_DOCUMENT_BEGIN(u, "$push", &sub);
		append_value(w, &sub, pushfields[c], c, pushfields[c]);
		break;
	default:
		BSON_APPEND_DOCUMENT_BEGIN(u, "$unset", &sub);
		BSON_APPEND_UTF8(&sub, unsetfields[c], "");
		break;
	}
	bson_append_document_end(u, &sub);
	return u;
}

/* Returns a random pool document of collection c without its _id: a replacement body. */
static bson_t *
make_replacement(struct workload *w, enum coll c)
{
	bson_t *r = bson_new();

	bson_copy_to_excluding_noinit(w->pool[c].docs[below(w, w->pool[c].n)], r, "_id", NULL);
	BSON_APPEND_INT32(r, "revision", 1 + below(w, 100));
	return r;
}

/* Checks that a write reply counted want documents under key; a miss means the model is wrong. */
static int
counted(const bson_t *reply, const char *key, int64_t want, const char *what, enum coll c)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, reply, key) && bson_iter_as_int64(&it) == want)
		return 1;
	fprintf(stderr, "tv-workload: %s in %s: %s is not %" PRId64 "\n", what, collnames[c], key, want);
	return 0;
}

/* Makes one write; returns 0 after printing why it failed. */
static int
write_one(struct workload *w)
{
	enum coll c = weighted(w, collweights, NCOLLS);
	enum op op = weighted(w, opweights, NOPS);
	struct ids *live = &w->live[c];
	bson_t *sel, *doc, reply;
	bson_error_t err = { 0 };
	size_t k;
	int ok;

	/* A collection running low gets inserts; an exhausted pool, updates. */
	if (live->n < 5 || (op == DELETE && live->n < 20))
		op = INSERT;
	if (op == INSERT && w->pool[c].next == w->pool[c].n)
		op = SET;
	if (op == INSERT) {
		/* Now and then several documents in one command. */
		unsigned n = below(w, 5) == 0 ? 2 + below(w, 3) : 1, i;
		const bson_t *docs[4];
		bson_iter_t it;

		for (i = 0; i < n && w->pool[c].next < w->pool[c].n; i++)
			docs[i] = w->pool[c].docs[w->pool[c].next++];
		n = i;
		ok = mongoc_collection_insert_many(w->colls[c], docs, n, NULL, &reply, &err) &&
		    counted(&reply, "insertedCount", n, "insert", c);
		for (i = 0; ok && i < n; i++)
			if (bson_iter_init_find(&it, docs[i], "_id") && BSON_ITER_HOLDS_OID(&it))
				ids_add(live, bson_iter_oid(&it));
		goto out;
	}
	k = below(w, live->n);
	sel = BCON_NEW("_id", BCON_OID(&live->v[k]));
	if (op == DELETE) {
		ok = mongoc_collection_delete_one(w->colls[c], sel, NULL, &reply, &err) &&
		    counted(&reply, "deletedCount", 1, "delete", c);
		if (ok)
			live->v[k] = live->v[--live->n];
	} else if (op == REPLACE) {
		doc = make_replacement(w, c);
		ok = mongoc_collection_replace_one(w->colls[c], sel, doc, NULL, &reply, &err) &&
		    counted(&reply, "matchedCount", 1, "replacement", c);
		bson_destroy(doc);
	} else {
		doc = make_update(w, op, c);
		ok = mongoc_collection_update_one(w->colls[c], sel, doc, NULL, &reply, &err) &&
		    counted(&reply, "matchedCount", 1, opnames[op], c);
		bson_destroy(doc);
	}
	bson_destroy(sel);
out:
	if (!ok && err.code != 0)
		fprintf(stderr, "tv-workload: %s in %s: %s\n", opnames[op], collnames[c], err.message);
	bson_destroy(&reply);
	if (ok)
		w->done[op]++;
	return ok;
}

/* Sleeps until the clock is ms milliseconds into a second (the next such moment). */
static void
wait_for_ms(unsigned ms)
{
	double t = now(), frac = t - (double)(int64_t)t, wait = ms / 1000.0 - frac;
	struct timespec ts;

	if (wait < 0)
		wait += 1;
	ts.tv_sec = (time_t)wait;
	ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * After the server restarted: pings until it answers (at most 60 s), and prints "ok".  The
 * first command on the old connection fails, and the next one opens a new connection: a ping
 * spends that failure, so that no write does (a write retried might be applied twice).
 */
static int
reconnect(mongoc_client_t *client)
{
	const struct timespec pause = { 0, 200 * 1000 * 1000 };
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
	bson_error_t err;
	int tries;

	for (tries = 0; tries < 300; tries++) {
		if (mongoc_client_command_simple(client, "admin", ping, NULL, NULL, &err))
			break;
		nanosleep(&pause, NULL);
	}
	bson_destroy(ping);
	if (tries == 300) {
		fprintf(stderr, "tv-workload: the server does not answer after 60 s: %s\n", err.message);
		return 0;
	}
	printf("ok\n");
	fflush(stdout);
	return 1;
}

static int
run_batch(struct workload *w, unsigned n, int ms)
{
	double first, last;
	unsigned i;

	if (ms >= 0)
		wait_for_ms((unsigned)ms);
	first = now();
	for (i = 0; i < n; i++)
		if (!write_one(w))
			return 0;
	last = now();
	printf("%.6f %.6f\n", first, last);
	fflush(stdout);
	return 1;
}

int
main(int argc, char *argv[])
{
	const char *uri = getenv("MONGODB_URI"), *pooldir = NULL, *dbname;
	struct workload w = { 0 };
	mongoc_client_t *client;
	mongoc_uri_t *parsed;
	bson_error_t err;
	char line[256];
	unsigned n, c, op;
	int ch, ms, status = 0;

	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		usage(0);
	w.writers = 1;
	while ((ch = getopt(argc, argv, "o:p:s:")) != -1) {
		switch (ch) {
		case 'o':
			if (sscanf(optarg, "%u/%u", &w.writer, &w.writers) != 2 || w.writers == 0 ||
			    w.writer >= w.writers)
				usage(EX_USAGE);
			break;
		case 'p':
			pooldir = optarg;
			break;
		case 's':
			w.state = strtoull(optarg, NULL, 10) * 0x9e3779b97f4a7c15ULL | 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0 || pooldir == NULL || w.state == 0)
		usage(EX_USAGE);
	if (uri == NULL) {
		fprintf(stderr, "tv-workload: MONGODB_URI is not set\n");
		return EX_USAGE;
	}
	/* FerretDB lacks endSessions: the driver's warning about it is noise here. */
	mongoc_log_set_handler(NULL, NULL);
	mongoc_init();
	if ((parsed = mongoc_uri_new_with_error(uri, &err)) == NULL) {
		fprintf(stderr, "tv-workload: %s\n", err.message);
		return EX_USAGE;
	}
	if ((dbname = mongoc_uri_get_database(parsed)) == NULL)
		dbname = "tralivali";
	client = mongoc_client_new_from_uri(parsed);
	for (c = 0; c < NCOLLS; c++) {
		w.colls[c] = mongoc_client_get_collection(client, dbname, collnames[c]);
		if (!load_pool(&w, pooldir, c))
			status = EX_NOINPUT;
		else if (!load_ids(&w, c))
			status = EX_UNAVAILABLE;
	}
	if (status == 0 && w.live[USERS].n == 0) {
		fprintf(stderr, "tv-workload: users is empty: updates need users to refer to\n");
		status = EX_DATAERR;
	}
	while (status == 0 && fgets(line, sizeof(line), stdin) != NULL) {
		ms = -1;
		if (strcmp(line, "ping\n") == 0) {
			if (!reconnect(client))
				status = EX_UNAVAILABLE;
		} else if (sscanf(line, "batch %u %d", &n, &ms) < 1 || ms > 999) {
			fprintf(stderr, "tv-workload: not a command: %s", line);
			status = EX_USAGE;
		} else if (!run_batch(&w, n, ms))
			status = EX_UNAVAILABLE;
	}
	if (status == 0) {
		for (op = 0; op < NOPS; op++)
			printf("%s%lu %s", op ? ", " : "", w.done[op], opnames[op]);
		printf("\n");
	}
	for (c = 0; c < NCOLLS; c++)
		mongoc_collection_destroy(w.colls[c]);
	mongoc_client_destroy(client);
	mongoc_uri_destroy(parsed);
	mongoc_cleanup();
	return status;
}
