/* tv-replay: apply an oplog BSON stream (tv-oplog's output) to a database, idempotently. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "applier.h"
#include "bsonstream.h"
#include "clock.h"
#include "help.h"
#include "log.h"
#include "manifest.h"
#include "mongo.h"
#include "replay.h"
#include "stats.h"

/* Writes per ordered bulk write unless --batch-size says otherwise. */
#define DEFAULT_BATCH	1000
/* Connections applying writes at once unless --workers says otherwise (see fit_to_server). */
#define DEFAULT_WORKERS	16
/* More would only queue on the server and hold its connections. */
#define MAX_WORKERS	64
/*
 * FerretDB 1.x keeps a cursor open for every statement of an update command
 * until the command ends, and stalls for good near 100 of them on SQLite; on
 * PostgreSQL each holds one of its 50 pooled connections, and an update that
 * needs one more while all are held waits forever.  Keep each bulk write, and
 * all the workers' bulk writes in flight together, well below both, with room
 * for the other clients' connections.  A bulk write of one update holds one
 * connection and needs no other: any number of workers can send those.
 * Inserts hold none: they go in bulk writes of --batch-size.
 */
#define FERRETDB_BATCH		16
#define FERRETDB_IN_FLIGHT	32

enum { OPT_UNTIL = 256, OPT_COLLECTIONS, OPT_RENAME, OPT_BATCH, OPT_STATS, OPT_DRY_RUN, OPT_TXN, OPT_FROM_DB,
    OPT_WORKERS };

static const struct option longopts[] = {
	{ "uri",		required_argument,	NULL, 'u' },
	{ "db",			required_argument,	NULL, 'd' },
	{ "from-db",		required_argument,	NULL, OPT_FROM_DB },
	{ "until",		required_argument,	NULL, OPT_UNTIL },
	{ "collections",	required_argument,	NULL, OPT_COLLECTIONS },
	{ "rename",		required_argument,	NULL, OPT_RENAME },
	{ "batch-size",		required_argument,	NULL, OPT_BATCH },
	{ "max-txn-bytes",	required_argument,	NULL, OPT_TXN },
	{ "workers",		required_argument,	NULL, OPT_WORKERS },
	{ "stats",		required_argument,	NULL, OPT_STATS },
	{ "dry-run",		no_argument,		NULL, OPT_DRY_RUN },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

/* The connection for commands, and the workers that apply the writes to documents. */
static struct replayer {
	struct tv_mongo		 m;
	int			 dry_run;
	int			 workers;	/* 0 until --workers or fit_to_server sets it */
	uint32_t		 batch_max;
	uint32_t		 statements_max;	/* writes other than inserts per bulk write */
	struct tv_applier	*ap;
	uint64_t		 unit;		/* of the writes queued last */
} a;

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-replay [-qv] [-u uri] [-d db] [--from-db db] [--until T.I|T|ISO-8601] [--collections a,b]\n"
	    "                 [--rename from=to ...] [--batch-size n] [--workers n] [--max-txn-bytes n]\n"
	    "                 [--stats file] [--dry-run] < oplog.bson\n");
	if (status == 0)
		tv_help_page("tv-replay", 1);
	exit(status);
}

/*
 * Waits until every write queued has landed, or exits as the first that
 * failed; then the writes queued go to one connection in stream order if
 * serial (a unit's), else to their documents' workers.
 */
static void
land(int serial)
{
	int status;

	if (a.ap != NULL && (status = tv_applier_drain(a.ap, serial)) != 0)
		tv_fatal(status, "%s", tv_applier_error(a.ap));
}

/* Appends the first n elements of the array at it to out under key, if it has more than n. */
static void
append_shortened(bson_t *out, const char *key, const bson_iter_t *it, int64_t n)
{
	bson_iter_t elem;
	bson_t list;
	int64_t count = 0;
	char idx[16];
	const char *ik;

	if (!BSON_ITER_HOLDS_ARRAY(it) || !bson_iter_recurse(it, &elem))
		return;
	while (bson_iter_next(&elem))
		count++;
	if (count <= n || !bson_iter_recurse(it, &elem))
		return;
	BSON_APPEND_ARRAY_BEGIN(out, key, &list);
	for (int64_t k = 0; k < n && bson_iter_next(&elem); k++) {
		bson_uint32_to_string((uint32_t)k, &ik, idx, sizeof(idx));
		bson_append_iter(&list, ik, -1, &elem);
	}
	bson_append_array_end(out, &list);
}

/*
 * Shortens arrays as a $v: 2 diff's "l" says.  No update operator does it on
 * every server (FerretDB ignores $push's $slice), so the document is read
 * (apply_command has sent every earlier write) and the shortened arrays set.
 */
static void
truncate_arrays(const struct tv_write *w)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(a.m.db, w->coll);
	bson_t *opts = BCON_NEW("limit", BCON_INT64(1));
	mongoc_cursor_t *cursor;
	const bson_t *doc;
	bson_t set = BSON_INITIALIZER, update = BSON_INITIALIZER, reply;
	bson_iter_t path, value;
	bson_error_t err;

	cursor = mongoc_collection_find_with_opts(coll, w->filter, opts, NULL);
	if (mongoc_cursor_next(cursor, &doc)) {
		bson_iter_init(&path, w->doc);
		while (bson_iter_next(&path)) {
			bson_iter_t top;

			if (bson_iter_init(&top, doc) &&
			    bson_iter_find_descendant(&top, bson_iter_key(&path), &value))
				append_shortened(&set, bson_iter_key(&path), &value,
				    bson_iter_as_int64(&path));
		}
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "reading the document of the entry at %u.%u from %s failed",
		    w->t, w->i, w->coll);
	/* A missing document has no arrays to shorten: the diff's $set creates what it needs. */
	if (!bson_empty(&set)) {
		BSON_APPEND_DOCUMENT(&update, "$set", &set);
		if (!mongoc_collection_update_one(coll, w->filter, &update, NULL, &reply, &err))
			tv_mongo_fatal(&err, "shortening arrays for the entry at %u.%u in %s failed",
			    w->t, w->i, w->coll);
		bson_destroy(&reply);
	}
	bson_destroy(&update);
	bson_destroy(&set);
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
}

/* Runs a command on the database; codes in ok_codes (0-terminated) mean it is already done. */
static void
run_command(const struct tv_write *w, const bson_t *cmd, const char *what,
    const uint32_t *ok_codes)
{
	bson_error_t err;
	bson_t reply;

	if (mongoc_database_write_command_with_opts(a.m.db, cmd, NULL, &reply, &err)) {
		bson_destroy(&reply);
		return;
	}
	bson_destroy(&reply);
	for (const uint32_t *c = ok_codes; *c != 0; c++)
		if (tv_mongo_server_code(&err) == *c) {
			tv_debug("%s on %s at %u.%u was already done: %s", what, w->coll, w->t, w->i,
			    err.message);
			return;
		}
	tv_mongo_fatal(&err, "%s on %s (the entry at %u.%u) failed", what, w->coll, w->t, w->i);
}

/* Returns 1 if the collection has an index of that name. */
static int
has_index(const char *coll, const char *name)
{
	mongoc_collection_t *c = mongoc_database_get_collection(a.m.db, coll);
	mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(c, NULL);
	const bson_t *index;
	bson_error_t err;
	bson_iter_t it;
	int found = 0;

	while (!found && mongoc_cursor_next(cursor, &index))
		found = bson_iter_init_find(&it, index, "name") && BSON_ITER_HOLDS_UTF8(&it) &&
		    strcmp(bson_iter_utf8(&it, NULL), name) == 0;
	if (!found && mongoc_cursor_error(cursor, &err) &&
	    tv_mongo_server_code(&err) != TV_MONGO_NS_NOT_FOUND)
		tv_mongo_fatal(&err, "cannot list the indexes of %s", coll);
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(c);
	return found;
}

/*
 * Builds the indexes the collection lacks, by name: FerretDB 1.24 drops the
 * connection when asked to create an index that exists.
 */
static void
create_indexes(const struct tv_write *w)
{
	static const uint32_t done[] = { 85, 86, 0 };	/* IndexOptionsConflict, IndexKeySpecsConflict */
	bson_t cmd = BSON_INITIALIZER, list, spec;
	bson_iter_t it, name;
	uint32_t n = 0;

	BSON_APPEND_UTF8(&cmd, "createIndexes", w->coll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
	bson_iter_init(&it, w->doc);
	while (bson_iter_next(&it)) {
		const uint8_t *data;
		uint32_t len;
		char key[16];
		const char *k;

		bson_iter_document(&it, &len, &data);
		bson_init_static(&spec, data, len);
		if (bson_iter_init_find(&name, &spec, "name") && BSON_ITER_HOLDS_UTF8(&name) &&
		    has_index(w->coll, bson_iter_utf8(&name, NULL)))
			continue;
		bson_uint32_to_string(n++, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT(&list, k, &spec);
	}
	bson_append_array_end(&cmd, &list);
	if (n > 0)
		run_command(w, &cmd, "createIndexes", done);
	bson_destroy(&cmd);
}

/* Applies a collection-level write after every earlier data write has landed. */
static void
apply_command(const struct tv_write *w)
{
	static const uint32_t exists[] = { TV_MONGO_NS_EXISTS, 0 };
	static const uint32_t missing[] = { TV_MONGO_NS_NOT_FOUND, 27 /* IndexNotFound */, 0 };
	bson_t cmd = BSON_INITIALIZER;

	land(a.unit != 0);
	switch (w->kind) {
	case TV_WRITE_CREATE:
		BSON_APPEND_UTF8(&cmd, "create", w->coll);
		bson_concat(&cmd, w->doc);
		run_command(w, &cmd, "create", exists);
		break;
	case TV_WRITE_DROP:
		BSON_APPEND_UTF8(&cmd, "drop", w->coll);
		run_command(w, &cmd, "drop", missing);
		break;
	case TV_WRITE_CREATE_INDEXES:
		create_indexes(w);
		break;
	case TV_WRITE_TRUNCATE:
		truncate_arrays(w);
		break;
	default:
		BSON_APPEND_UTF8(&cmd, "dropIndexes", w->coll);
		bson_concat(&cmd, w->doc);
		run_command(w, &cmd, "dropIndexes", missing);
		break;
	}
	bson_destroy(&cmd);
}

static int
on_write(const struct tv_write *w, void *arg)
{
	if (tv_log_level() == TV_LOG_VERBOSE) {
		char *json = w->doc ? bson_as_relaxed_extended_json(w->doc, NULL) : NULL;

		tv_debug("%u.%u: kind %d on %s: %s", w->t, w->i, (int)w->kind, w->coll,
		    json ? json : "");
		bson_free(json);
	}
	if (a.dry_run)
		return 0;
	/*
	 * A unit (applyOps, a transaction) lands alone, as the server applied it:
	 * after every write before it and before any after it, in its own order.
	 */
	if (w->unit != a.unit) {
		land(w->unit != 0);
		a.unit = w->unit;
	}
	if (w->kind == TV_WRITE_INSERT || w->kind == TV_WRITE_REPLACE ||
	    w->kind == TV_WRITE_UPDATE || w->kind == TV_WRITE_DELETE) {
		/* After a failure the writes before it still land, then land() exits. */
		if (tv_applier_add(a.ap, w) != 0)
			land(0);
	} else
		apply_command(w);
	return 0;
}

/* Reads and applies entries until the end of the stream or the end position; returns 1 if reached. */
static int
replay_stream(struct tv_replay *r)
{
	struct tv_bson_reader *reader = tv_bson_reader_open(STDIN_FILENO, "stdin");
	bson_t entry;
	int got, rc = 0;

	if (reader == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	while (rc == 0) {
		uint64_t offset = tv_bson_reader_offset(reader);

		if ((got = tv_bson_reader_next(reader, &entry)) != 1)
			break;
		rc = tv_replay_entry(r, &entry);
		/* The entries before a bad one are applied: the database is at its position. */
		if (rc > 0) {
			land(0);
			tv_fatal(rc, "stdin: entry %llu (byte offset %llu): %s; the entries before it "
			    "were applied", (unsigned long long)tv_bson_reader_count(reader) - 1,
			    (unsigned long long)offset, tv_replay_error(r));
		}
	}
	if (rc == 0 && got == -1) {
		land(0);
		tv_fatal(tv_bson_reader_status(reader), "%s; the entries before it were applied",
		    tv_bson_reader_error(reader));
	}
	tv_bson_reader_close(reader);
	return rc == TV_REPLAY_STOP;
}

static void
write_stats(const char *path, const struct tv_replay_counts *c, int reached)
{
	bson_t doc = BSON_INITIALIZER;
	char pos[32];

	BSON_APPEND_INT64(&doc, "entries", (int64_t)c->entries);
	BSON_APPEND_INT64(&doc, "applied", (int64_t)c->applied);
	BSON_APPEND_INT64(&doc, "skipped", (int64_t)c->skipped);
	BSON_APPEND_INT64(&doc, "inserts", (int64_t)c->inserts);
	BSON_APPEND_INT64(&doc, "updates", (int64_t)c->updates);
	BSON_APPEND_INT64(&doc, "deletes", (int64_t)c->deletes);
	BSON_APPEND_INT64(&doc, "commands", (int64_t)c->commands);
	if (c->entries > 0) {
		snprintf(pos, sizeof(pos), "%u.%u", c->first_t, c->first_i);
		BSON_APPEND_UTF8(&doc, "first", pos);
		snprintf(pos, sizeof(pos), "%u.%u", c->last_t, c->last_i);
		BSON_APPEND_UTF8(&doc, "last", pos);
	} else {
		BSON_APPEND_NULL(&doc, "first");
		BSON_APPEND_NULL(&doc, "last");
	}
	BSON_APPEND_BOOL(&doc, "reachedUntil", reached);
	if (tv_stats_write(path, &doc) != 0)
		exit(EX_IOERR);
	bson_destroy(&doc);
}

/*
 * Returns 1 if FerretDB keeps its data in PostgreSQL: its explain of a find
 * shows PostgreSQL's plan, a document, where SQLite's is a list of lines.  It
 * needs a collection that exists: the oplog the replayed entries come from.
 */
static int
ferretdb_on_postgresql(void)
{
	mongoc_database_t *local = mongoc_client_get_database(a.m.client, "local");
	bson_t *cmd = BCON_NEW("explain", "{", "find", BCON_UTF8("oplog.rs"), "limit", BCON_INT32(1), "}");
	bson_t reply;
	bson_iter_t it, plan;
	int pg;

	pg = mongoc_database_command_simple(local, cmd, NULL, &reply, NULL) &&
	    bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "queryPlanner.Plan", &plan) &&
	    BSON_ITER_HOLDS_DOCUMENT(&plan);
	bson_destroy(&reply);
	bson_destroy(cmd);
	mongoc_database_destroy(local);
	return pg;
}

/*
 * Picks the workers unless --workers did, and on FerretDB lowers the updates,
 * replacements and deletes per bulk write, as it cannot take big update
 * commands (its inserts take no cursor each).  FerretDB with SQLite writes one
 * statement at a time and scans for each update: more workers only wait for
 * its lock, and one is fastest.
 */
static void
fit_to_server(void)
{
	bson_t cmd = BSON_INITIALIZER, reply;
	bson_error_t err;
	int ferretdb;
	uint32_t most;

	BSON_APPEND_INT32(&cmd, "buildInfo", 1);
	ferretdb = mongoc_database_command_simple(a.m.db, &cmd, NULL, &reply, &err) &&
	    bson_has_field(&reply, "ferretdbVersion");
	bson_destroy(&reply);
	bson_destroy(&cmd);
	if (a.workers == 0)
		a.workers = !ferretdb || ferretdb_on_postgresql() ? DEFAULT_WORKERS : 1;
	most = FERRETDB_IN_FLIGHT / (uint32_t)a.workers;
	if (most > FERRETDB_BATCH)
		most = FERRETDB_BATCH;
	if (most < 1)
		most = 1;
	a.statements_max = a.batch_max;
	if (ferretdb && a.batch_max > most) {
		tv_debug("FerretDB: %u updates, replacements or deletes per bulk write instead of %u, "
		    "on each of %d connections", most, a.batch_max, a.workers);
		a.statements_max = most;
	}
}

/* Parses a positive count no bigger than max, or exits 64 naming the option. */
static unsigned long long
parse_count(const char *opt, const char *arg, unsigned long long max)
{
	char *end;
	unsigned long long n = strtoull(arg, &end, 10);

	if (*arg < '0' || *arg > '9' || *end != '\0' || n == 0 || n > max)
		tv_fatal(EX_USAGE, "%s must be a number from 1 to %llu, not \"%s\"", opt, max, arg);
	return n;
}

int
main(int argc, char *argv[])
{
	const char *uri = NULL, *dbname = NULL, *from_db = NULL, *stats = NULL;
	const struct tv_replay_counts *c;
	struct tv_replay *r;
	uint32_t until_t, until_i;
	double start, secs;
	size_t open_txns;
	int ch, reached;

	tv_log_init(argv[0]);
	a.batch_max = DEFAULT_BATCH;
	r = tv_replay_new(on_write, NULL);
	while ((ch = getopt_long(argc, argv, "d:hqu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dbname = optarg;
			break;
		case OPT_FROM_DB:
			from_db = optarg;
			break;
		case 'h':
			usage(0);
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'u':
			uri = optarg;
			break;
		case 'v':
			tv_log_set_level(TV_LOG_VERBOSE);
			break;
		case OPT_UNTIL:
			if (tv_replay_parse_position(optarg, &until_t, &until_i) != 0)
				tv_fatal(EX_USAGE, "--until must be T.I, T or an ISO-8601 UTC second "
				    "(2024-01-15T03:00:00Z), not \"%s\"", optarg);
			tv_replay_set_until(r, until_t, until_i);
			break;
		case OPT_COLLECTIONS:
			for (char *s = optarg, *name; (name = strsep(&s, ",")) != NULL;)
				if (*name != '\0')
					tv_replay_select(r, name);
			break;
		case OPT_RENAME:
			if (tv_replay_rename(r, optarg) != 0)
				tv_fatal(EX_USAGE, "--rename takes FROM=TO, not \"%s\"", optarg);
			break;
		case OPT_BATCH:
			a.batch_max = (uint32_t)tv_mongo_batch_size(optarg);
			break;
		case OPT_TXN:
			tv_replay_set_txn_limit(r, (size_t)parse_count("--max-txn-bytes", optarg,
			    1024ULL * 1024 * 1024));
			break;
		case OPT_WORKERS:
			a.workers = (int)parse_count("--workers", optarg, MAX_WORKERS);
			break;
		case OPT_STATS:
			stats = optarg;
			break;
		case OPT_DRY_RUN:
			a.dry_run = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 0)
		usage(EX_USAGE);

	if (from_db != NULL && !tv_database_name_ok(from_db))
		tv_fatal(EX_USAGE, "--from-db: not a database name: \"%s\"", from_db);
	if (from_db != NULL)
		tv_replay_set_db(r, from_db);
	else {
		/* Without --from-db the entries are those of the database they go to. */
		char *target = tv_mongo_db_name(uri, dbname);

		tv_replay_set_db(r, target);
		free(target);
	}
	if (!a.dry_run) {
		tv_mongo_connect(&a.m, uri, dbname);
		fit_to_server();
		if ((a.ap = tv_applier_start(&a.m, a.workers, a.batch_max, a.statements_max)) == NULL)
			tv_fatal(EX_OSERR, "cannot start %d connections to apply the writes", a.workers);
	}
	start = tv_clock();
	reached = replay_stream(r);
	land(0);
	secs = tv_clock() - start;
	c = tv_replay_counts(r);
	/* A commit after the end position (or in a later slice) is not part of this replay. */
	if ((open_txns = tv_replay_open_transactions(r)) > 0)
		tv_warn("%zu transaction(s) have no commit %s; their operations were not applied",
		    open_txns, reached ? "at or before the end position" : "in the stream");
	tv_info("Replayed %llu oplog entries%s in %.2f seconds (%.0f entries/s): %llu inserts, "
	    "%llu updates, %llu deletes, %llu commands, %llu skipped",
	    (unsigned long long)c->entries, a.dry_run ? " (dry run)" : "", secs,
	    secs > 0 ? (double)c->entries / secs : 0.0, (unsigned long long)c->inserts,
	    (unsigned long long)c->updates, (unsigned long long)c->deletes,
	    (unsigned long long)c->commands, (unsigned long long)c->skipped);
	if (stats != NULL)
		write_stats(stats, c, reached);
	tv_replay_free(r);
	if (!a.dry_run) {
		tv_applier_free(a.ap);
		tv_mongo_close(&a.m);
	}
	return 0;
}
