/* tv-restore: insert a BSON stream (mongodump's <coll>.bson) into a MongoDB collection, safely. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bsonstream.h"
#include "config.h"
#include "log.h"
#include "mongo.h"
#include "stats.h"

/* Documents per bulk insert unless --batch-size says otherwise (mongorestore's default too). */
#define DEFAULT_BATCH	1000
/* Bytes per bulk insert: big enough for few round trips, small next to the 64 MiB budget. */
#define BATCH_BYTES	(8 * 1024 * 1024)
/* A metadata file is a few indexes and options; anything bigger is not one. */
#define MAX_METADATA	(16 * 1024 * 1024)

/*
 * --drop restores into <prefix><collection>_<8 hex digits> and renames it
 * over the target at the end; tv-export --list hides these names.
 */
#define STAGING_PREFIX	"tv_restore_staging_"
#define STAGING_SUFFIX	8
/* Where the old target waits during a swap on servers that cannot rename over a collection. */
#define PREVIOUS_PREFIX	"tv_restore_previous_"

enum { OPT_DROP = 256, OPT_METADATA, OPT_BATCH, OPT_SKIP_DUPS, OPT_DRY_RUN, OPT_STATS };

static const struct option longopts[] = {
	{ "uri",		required_argument,	NULL, 'u' },
	{ "db",			required_argument,	NULL, 'd' },
	{ "collection",		required_argument,	NULL, 'c' },
	{ "drop",		no_argument,		NULL, OPT_DROP },
	{ "metadata",		required_argument,	NULL, OPT_METADATA },
	{ "batch-size",		required_argument,	NULL, OPT_BATCH },
	{ "skip-duplicates",	no_argument,		NULL, OPT_SKIP_DUPS },
	{ "dry-run",		no_argument,		NULL, OPT_DRY_RUN },
	{ "stats",		required_argument,	NULL, OPT_STATS },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ NULL,			0,			NULL, 0 }
};

/* One restore in progress; global so that the exit handler can remove its staging collection. */
static struct restore {
	struct tv_mongo		 m;
	const char		*target;
	char			 staging[256];	/* empty unless a staging collection exists */
	mongoc_collection_t	*into;		/* the collection the documents go to */
	mongoc_bulk_operation_t	*bulk;
	bson_t			*insert_opts;
	int			 ordered;
	int			 skip_dups;
	int32_t			 batch_max;
	uint32_t		 batch_docs;
	size_t			 batch_bytes;
	uint64_t		 batch_first;	/* stream index of the batch's first document */
	uint64_t		*offsets;	/* stream offset of each document in the batch */
	uint64_t		 inserted;
	uint64_t		 skipped;
} r;

static volatile sig_atomic_t interrupted;

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: tv-restore [-qv] [-u uri] [-d db] -c collection [--drop] [--metadata file]\n"
	    "                  [--batch-size n] [--skip-duplicates] [--dry-run] [--stats file]\n"
	    "                  < collection.bson\n");
	exit(EX_USAGE);
}

/*
 * SIGINT/SIGTERM: remember the signal and put /dev/null on stdin, so that a
 * read blocked on a quiet pipe ends; the main loop then abandons the restore
 * and the exit handler drops the staging collection.  Only async-signal-safe
 * calls here.
 */
static void
on_signal(int sig)
{
	int fd = open("/dev/null", O_RDONLY);

	interrupted = sig;
	if (fd != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a blocked read(2) must return so that the loop sees the signal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void
exit_if_interrupted(void)
{
	if (!interrupted)
		return;
	if (r.staging[0])
		tv_error("interrupted by signal %d; %s is unchanged", (int)interrupted, r.target);
	else
		tv_error("interrupted by signal %d after inserting %llu document(s) into %s",
		    (int)interrupted, (unsigned long long)r.inserted, r.target);
	exit(128 + interrupted);
}

/* Drops the staging collection of a restore that did not reach the swap (runs at exit). */
static void
drop_staging(void)
{
	mongoc_collection_t *coll;
	bson_error_t err;

	if (r.staging[0] == '\0')
		return;
	coll = mongoc_database_get_collection(r.m.db, r.staging);
	if (!mongoc_collection_drop_with_opts(coll, NULL, &err) &&
	    tv_mongo_server_code(&err) != TV_MONGO_NS_NOT_FOUND)
		tv_warn("could not drop the staging collection %s (the next restore of %s removes it): %s",
		    r.staging, r.target, err.message);
	else
		tv_debug("dropped the staging collection %s", r.staging);
	mongoc_collection_destroy(coll);
	r.staging[0] = '\0';
}

/* Returns 1 if name is prefix, target, '_' and eight hex digits: a collection of one restore. */
static int
is_restore_collection(const char *name, const char *prefix, const char *target)
{
	size_t plen = strlen(prefix), tlen = strlen(target);
	const char *tail = name + plen + tlen;

	if (strncmp(name, prefix, plen) != 0 || strncmp(name + plen, target, tlen) != 0 ||
	    tail[0] != '_' || strlen(tail + 1) != STAGING_SUFFIX)
		return 0;
	return strspn(tail + 1, "0123456789abcdef") == STAGING_SUFFIX;
}

/*
 * Drops the staging collections a restore killed with SIGKILL left behind.
 * The previous contents a swap moved aside are only pointed out: if the
 * swap died half-way they may be the only copy of that data.
 */
static void
drop_leftovers(void)
{
	bson_error_t err;
	char **names = mongoc_database_get_collection_names_with_opts(r.m.db, NULL, &err);

	if (names == NULL)
		tv_mongo_fatal(&err, "cannot list the collections of %s", r.m.dbname);
	for (char **n = names; *n != NULL; n++) {
		mongoc_collection_t *coll;

		if (is_restore_collection(*n, PREVIOUS_PREFIX, r.target))
			tv_warn("%s holds %s as it was before an interrupted restore; "
			    "drop it once %s is checked", *n, r.target, r.target);
		if (!is_restore_collection(*n, STAGING_PREFIX, r.target))
			continue;
		coll = mongoc_database_get_collection(r.m.db, *n);
		if (!mongoc_collection_drop_with_opts(coll, NULL, &err))
			tv_mongo_fatal(&err, "cannot drop the leftover staging collection %s", *n);
		tv_info("Removed %s, left behind by an interrupted restore of %s", *n, r.target);
		mongoc_collection_destroy(coll);
	}
	bson_strfreev(names);
}

/* Reads mongodump's <coll>.metadata.json into *meta, or exits 65/66 naming the file. */
static void
read_metadata(const char *path, bson_t *meta)
{
	bson_error_t err;
	bson_json_reader_t *reader = bson_json_reader_new_from_file(path, &err);
	int got;

	if (reader == NULL)
		tv_fatal(EX_NOINPUT, "cannot read %s: %s", path, err.message);
	bson_init(meta);
	/* At the end of the input (an empty file) libbson sets no error message. */
	if ((got = bson_json_reader_read(reader, meta, &err)) != 1)
		tv_fatal(EX_DATAERR, "%s: not a metadata JSON object: %s", path,
		    got == 0 ? "the file is empty" : err.message);
	bson_json_reader_destroy(reader);
	if (meta->len > MAX_METADATA)
		tv_fatal(EX_DATAERR, "%s: too big for a metadata file", path);
}

/* Points *sub at meta's field key if it is an embedded document (or array); returns 1 if so. */
static int
get_subdocument(const bson_t *meta, const char *key, bson_t *sub)
{
	const uint8_t *data;
	uint32_t len;
	bson_iter_t it;

	if (meta == NULL || !bson_iter_init_find(&it, meta, key))
		return 0;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_iter_document(&it, &len, &data);
	else if (BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &len, &data);
	else
		return 0;
	return bson_init_static(sub, data, len);
}

/*
 * Creates the collection with the options from the metadata file (capped,
 * collation, validator ...), as mongorestore does; an existing one is kept.
 */
static void
create_collection(const char *name, const bson_t *meta)
{
	mongoc_collection_t *coll;
	bson_t options;
	bson_error_t err;

	if (!get_subdocument(meta, "options", &options))
		bson_init(&options);
	coll = mongoc_database_create_collection(r.m.db, name, &options, &err);
	if (coll == NULL && tv_mongo_server_code(&err) != TV_MONGO_NS_EXISTS)
		tv_mongo_fatal(&err, "cannot create collection %s", name);
	if (coll != NULL)
		mongoc_collection_destroy(coll);
	bson_destroy(&options);
}

/* Collects the names of the collection's indexes as keys of *names. */
static void
existing_indexes(const char *name, bson_t *names)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(r.m.db, name);
	mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const bson_t *index;
	bson_error_t err;
	bson_iter_t it;

	bson_init(names);
	while (mongoc_cursor_next(cursor, &index))
		if (bson_iter_init_find(&it, index, "name") && BSON_ITER_HOLDS_UTF8(&it))
			BSON_APPEND_BOOL(names, bson_iter_utf8(&it, NULL), true);
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot list the indexes of %s", name);
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
}

/*
 * Builds the indexes listed in the metadata file that the collection lacks
 * (by name: _id's always exists, and FerretDB 1.24 drops the connection when
 * asked to create an index that exists).  "v" and "ns" describe the server
 * that wrote the file and are left for the server that builds the index.
 */
static void
build_indexes(const char *coll, const bson_t *meta)
{
	bson_t indexes, cmd = BSON_INITIALIZER, list, reply, have;
	bson_iter_t it, field, existing;
	bson_error_t err;
	uint32_t n = 0;

	if (!get_subdocument(meta, "indexes", &indexes) || !bson_iter_init(&it, &indexes))
		return;
	existing_indexes(coll, &have);
	BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
	while (bson_iter_next(&it)) {
		bson_t index, spec;
		char key[16];
		const char *k;

		const uint8_t *data;
		uint32_t len;

		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			tv_fatal(EX_DATAERR, "metadata: index %u is not a document", n);
		bson_iter_document(&it, &len, &data);
		bson_init_static(&index, data, len);
		/* bson_iter_find, not bson_has_field: index names have dots ("a.b_1"). */
		if (bson_iter_init_find(&field, &index, "name") && BSON_ITER_HOLDS_UTF8(&field) &&
		    bson_iter_init(&existing, &have) &&
		    bson_iter_find(&existing, bson_iter_utf8(&field, NULL)))
			continue;
		bson_uint32_to_string(n++, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&list, k, &spec);
		bson_copy_to_excluding_noinit(&index, &spec, "v", "ns", NULL);
		bson_append_document_end(&list, &spec);
	}
	bson_append_array_end(&cmd, &list);
	if (n > 0) {
		if (!mongoc_database_write_command_with_opts(r.m.db, &cmd, NULL, &reply, &err))
			tv_mongo_fatal(&err, "cannot build the %u index(es) of %s from the metadata", n,
			    r.target);
		bson_destroy(&reply);
		tv_debug("built %u index(es) on %s", n, coll);
	}
	bson_destroy(&cmd);
	bson_destroy(&have);
}

/* Names a fresh staging collection and creates it. */
static void
create_staging(const bson_t *meta)
{
	uint32_t rnd;
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd == -1 || read(fd, &rnd, sizeof(rnd)) != sizeof(rnd))
		tv_fatal_errno(EX_OSERR, "cannot read /dev/urandom");
	close(fd);
	if ((size_t)snprintf(r.staging, sizeof(r.staging), "%s%s_%08x", STAGING_PREFIX, r.target,
	    rnd) >= sizeof(r.staging))
		tv_fatal(EX_USAGE, "collection name %s is too long", r.target);
	create_collection(r.staging, meta);
	tv_debug("restoring into the staging collection %s", r.staging);
}

/* Starts an empty bulk insert. */
static void
new_batch(void)
{
	bson_t opts = BSON_INITIALIZER;

	BSON_APPEND_BOOL(&opts, "ordered", r.ordered);
	r.bulk = mongoc_collection_create_bulk_operation_with_opts(r.into, &opts);
	bson_destroy(&opts);
	r.batch_docs = 0;
	r.batch_bytes = 0;
}

/* Returns the batch index a write error names, or 0 if it names none in the batch. */
static long
error_index(const bson_iter_t *error)
{
	bson_iter_t field;
	int64_t index;

	if (!bson_iter_recurse(error, &field) || !bson_iter_find(&field, "index"))
		return 0;
	index = bson_iter_as_int64(&field);
	return index >= 0 && index < (int64_t)r.batch_docs ? (long)index : 0;
}

/*
 * Counts the duplicate-key errors in a bulk reply and finds the first one;
 * returns the batch index of the first other write error, or -1 if all were
 * duplicates.
 */
static long
count_duplicates(const bson_t *reply, uint64_t *dups, long *first_dup)
{
	bson_iter_t it, error;

	*dups = 0;
	*first_dup = -1;
	if (!bson_iter_init_find(&it, reply, "writeErrors") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &error))
		return -1;
	while (bson_iter_next(&error)) {
		bson_iter_t field;
		long index = error_index(&error);
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

/* Sends the batch; on failure exits with a message naming where in the stream it happened. */
static void
flush_batch(void)
{
	bson_t reply;
	bson_error_t err;
	bson_iter_t it;
	uint64_t dups, done = 0;
	long other, first_dup;
	int ok;

	if (r.batch_docs == 0)
		return;
	ok = mongoc_bulk_operation_execute(r.bulk, &reply, &err) != 0;
	if (bson_iter_init_find(&it, &reply, "nInserted"))
		done = (uint64_t)bson_iter_as_int64(&it);
	r.inserted += done;
	/* A signal may have cut the insert short: report the signal, not the symptom. */
	exit_if_interrupted();
	other = count_duplicates(&reply, &dups, &first_dup);
	if (!ok && other < 0 && first_dup >= 0) {
		uint64_t at = r.batch_first + (uint64_t)first_dup;

		if (r.skip_dups)
			r.skipped += dups;
		else if (r.staging[0])
			tv_fatal(EX_DATAERR, "the stream holds a duplicate _id (or unique key) "
			    "at document index %llu (byte offset %llu); %s is unchanged", (unsigned long long)at,
			    (unsigned long long)r.offsets[first_dup], r.target);
		else
			tv_fatal(EX_DATAERR, "duplicate _id (or unique key) at document index %llu "
			    "(byte offset %llu); %llu document(s) were inserted into %s; "
			    "use --drop to replace the collection or --skip-duplicates to keep it",
			    (unsigned long long)at, (unsigned long long)r.offsets[first_dup],
			    (unsigned long long)r.inserted, r.target);
	} else if (!ok && other >= 0) {
		tv_mongo_fatal(&err, "insert into %s refused document index %llu (byte offset %llu); "
		    "%llu document(s) %s", r.staging[0] ? r.staging : r.target,
		    (unsigned long long)(r.batch_first + (uint64_t)other),
		    (unsigned long long)r.offsets[other], (unsigned long long)r.inserted,
		    r.staging[0] ? "were staged, the target is unchanged" : "were inserted");
	} else if (!ok) {
		tv_mongo_fatal(&err, "insert into %s failed for document indexes %llu to %llu; "
		    "%llu document(s) %s", r.staging[0] ? r.staging : r.target,
		    (unsigned long long)r.batch_first,
		    (unsigned long long)(r.batch_first + r.batch_docs - 1),
		    (unsigned long long)r.inserted,
		    r.staging[0] ? "were staged, the target is unchanged" : "were inserted");
	}
	bson_destroy(&reply);
	mongoc_bulk_operation_destroy(r.bulk);
	r.batch_first += r.batch_docs;
	new_batch();
}

static void
add_to_batch(const bson_t *doc, uint64_t offset)
{
	bson_error_t err;

	if (r.batch_docs > 0 && r.batch_bytes + doc->len > BATCH_BYTES)
		flush_batch();
	/* The stream reader has validated the document: do not pay for it twice. */
	if (!mongoc_bulk_operation_insert_with_opts(r.bulk, doc, r.insert_opts, &err))
		tv_fatal(EX_DATAERR, "document index %llu (byte offset %llu) cannot be inserted: %s",
		    (unsigned long long)(r.batch_first + r.batch_docs), (unsigned long long)offset,
		    err.message);
	r.offsets[r.batch_docs++] = offset;
	r.batch_bytes += doc->len;
	if (r.batch_docs == (uint32_t)r.batch_max)
		flush_batch();
}

/* Reads every document of stdin and hands each to add (NULL: only validate); returns the count. */
static uint64_t
read_stream(void (*add)(const bson_t *, uint64_t))
{
	struct tv_bson_reader *reader = tv_bson_reader_open(STDIN_FILENO, "stdin");
	bson_t doc;
	uint64_t n;
	int got;

	if (reader == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (;;) {
		uint64_t offset = tv_bson_reader_offset(reader);

		got = tv_bson_reader_next(reader, &doc);
		exit_if_interrupted();
		if (got != 1)
			break;
		if (add != NULL)
			add(&doc, offset);
	}
	if (got == -1)
		tv_fatal(tv_bson_reader_status(reader), "%s%s", tv_bson_reader_error(reader),
		    r.staging[0] ? "; nothing was restored" : "");
	n = tv_bson_reader_count(reader);
	tv_bson_reader_close(reader);
	return n;
}

/* Renames collection from to to; returns 1, or 0 with *err set. */
static int
rename_collection(const char *from, const char *to, int drop_target, bson_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(r.m.db, from);
	int ok = mongoc_collection_rename_with_opts(coll, r.m.dbname, to, drop_target, NULL, err);

	mongoc_collection_destroy(coll);
	return ok;
}

/*
 * For servers without renameCollection's dropTarget (FerretDB 1.x): move the
 * target aside, rename the staging collection in, then drop the old one.
 * The target's name is missing for the moment between the two renames, but
 * at every moment the old or the new data is complete under some name.
 */
static void
swap_in_steps(void)
{
	char previous[sizeof(r.staging)];
	mongoc_collection_t *old;
	bson_error_t err;

	snprintf(previous, sizeof(previous), "%s%s_%s", PREVIOUS_PREFIX, r.target,
	    r.staging + strlen(r.staging) - STAGING_SUFFIX);
	tv_debug("the server cannot replace a collection by renaming: moving %s aside as %s",
	    r.target, previous);
	if (!rename_collection(r.target, previous, 0, &err))
		tv_mongo_fatal(&err, "cannot move %s aside; %s is unchanged", r.target, r.target);
	if (!rename_collection(r.staging, r.target, 0, &err)) {
		bson_error_t back;

		if (!rename_collection(previous, r.target, 0, &back))
			tv_mongo_fatal(&err, "cannot rename %s to %s, nor %s back (%s): "
			    "the old data is in %s, the new in %s", r.staging, r.target, previous,
			    back.message, previous, r.staging);
		tv_mongo_fatal(&err, "cannot rename %s to %s; %s is unchanged", r.staging, r.target,
		    r.target);
	}
	old = mongoc_database_get_collection(r.m.db, previous);
	if (!mongoc_collection_drop_with_opts(old, NULL, &err))
		tv_warn("restored %s, but could not drop its previous contents, %s: %s",
		    r.target, previous, err.message);
	mongoc_collection_destroy(old);
}

/*
 * Replaces the target by the complete staging collection: in one step where
 * the server renames with dropTarget (MongoDB), else in three.  Signals
 * arriving now only set a flag, so the swap always finishes.
 */
static void
swap_in(void)
{
	bson_error_t err;

	exit_if_interrupted();
	if (!tv_mongo_has_collection(&r.m, r.target, NULL)) {
		if (!rename_collection(r.staging, r.target, 0, &err))
			tv_mongo_fatal(&err, "cannot rename %s to %s", r.staging, r.target);
	} else if (!rename_collection(r.staging, r.target, 1, &err)) {
		if (tv_mongo_server_code(&err) != TV_MONGO_NOT_IMPLEMENTED)
			tv_mongo_fatal(&err, "cannot rename %s to %s; %s is unchanged", r.staging,
			    r.target, r.target);
		swap_in_steps();
	}
	/* From here the staging collection is the target: the exit handler must not drop it. */
	r.staging[0] = '\0';
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
restore(const char *uri, const char *dbname, int drop, const bson_t *meta)
{
	double start = now();

	tv_mongo_connect(&r.m, uri, dbname);
	atexit(drop_staging);
	if ((r.offsets = calloc((size_t)r.batch_max, sizeof(r.offsets[0]))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	r.insert_opts = BCON_NEW("validate", BCON_BOOL(false));
	if (drop) {
		drop_leftovers();
		create_staging(meta);
		r.into = mongoc_database_get_collection(r.m.db, r.staging);
	} else {
		if (meta != NULL)
			create_collection(r.target, meta);
		r.into = mongoc_database_get_collection(r.m.db, r.target);
	}
	new_batch();
	read_stream(add_to_batch);
	flush_batch();
	exit_if_interrupted();
	if (meta != NULL)
		build_indexes(drop ? r.staging : r.target, meta);
	if (drop)
		swap_in();
	tv_info("Restored %llu documents into %s in %.2f seconds", (unsigned long long)r.inserted,
	    r.target, now() - start);
	if (r.skip_dups)
		tv_info("Skipped %llu duplicate documents", (unsigned long long)r.skipped);
	mongoc_bulk_operation_destroy(r.bulk);
	mongoc_collection_destroy(r.into);
	bson_destroy(r.insert_opts);
	free(r.offsets);
	tv_mongo_close(&r.m);
}

/* Writes the --stats file: the collection and the documents read; exits on failure. */
static void
write_stats(const char *path, uint64_t documents)
{
	bson_t *doc = BCON_NEW("collection", BCON_UTF8(r.target), "documents", BCON_INT64((int64_t)documents));
	int status = tv_stats_write(path, doc);

	bson_destroy(doc);
	if (status != 0)
		exit(status);
}

int
main(int argc, char *argv[])
{
	const char *uri = NULL, *dbname = NULL, *metadata = NULL, *stats = NULL;
	uint64_t documents;
	bson_t meta;
	int ch, drop = 0, dry_run = 0;

	tv_log_init(argv[0]);
	r.batch_max = DEFAULT_BATCH;
	while ((ch = getopt_long(argc, argv, "c:d:qu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			r.target = optarg;
			break;
		case 'd':
			dbname = optarg;
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'u':
			uri = optarg;
			break;
		case 'v':
			tv_log_set_level(TV_LOG_VERBOSE);
			break;
		case OPT_DROP:
			drop = 1;
			break;
		case OPT_METADATA:
			metadata = optarg;
			break;
		case OPT_BATCH:
			r.batch_max = tv_mongo_batch_size(optarg);
			break;
		case OPT_SKIP_DUPS:
			r.skip_dups = 1;
			break;
		case OPT_DRY_RUN:
			dry_run = 1;
			break;
		case OPT_STATS:
			stats = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 0 || r.target == NULL || *r.target == '\0')
		usage();
	if (drop && r.skip_dups)
		tv_fatal(EX_USAGE, "--skip-duplicates has no use with --drop: the collection starts empty");
	if (metadata != NULL)
		read_metadata(metadata, &meta);
	catch_signals();

	if (dry_run) {
		documents = read_stream(NULL);
		tv_info("Validated %llu documents for %s (dry run)", (unsigned long long)documents, r.target);
	} else {
		/* Ordered inserts find the first duplicate exactly; a fresh staging collection has none. */
		r.ordered = !drop && !r.skip_dups;
		restore(uri, dbname, drop, metadata ? &meta : NULL);
		documents = r.inserted + r.skipped;
	}
	if (stats != NULL)
		write_stats(stats, documents);
	if (metadata != NULL)
		bson_destroy(&meta);
	return 0;
}
