/* tv-restore: insert a BSON stream (mongodump's <coll>.bson) into a MongoDB collection, safely. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "bsonstream.h"
#include "clock.h"
#include "config.h"
#include "help.h"
#include "insert.h"
#include "log.h"
#include "metadata.h"
#include "mongo.h"
#include "progress.h"
#include "stats.h"
#include "statedir.h"
#include "swap.h"

/* Documents per bulk insert unless --batch-size says otherwise (mongorestore's default too). */
#define DEFAULT_BATCH	1000
/* Bytes per bulk insert: big enough for few round trips, small next to the 64 MiB budget. */
#define BATCH_BYTES	(8 * 1024 * 1024)
/* The bytes all batches in flight may hold together, whatever the number of insert workers. */
#define BATCHES_BYTES	(24 * 1024 * 1024)
/* More insert workers than this would only queue on the server. */
#define MAX_WORKERS	16
/* How often --watch looks for the process it watches, in microseconds. */
#define WATCH_INTERVAL	200000

enum {
	OPT_DROP = 256, OPT_METADATA, OPT_BATCH, OPT_SKIP_DUPS, OPT_DRY_RUN, OPT_INTO,
	OPT_WORKERS, OPT_STATS, OPT_WATCH, OPT_JOURNAL, OPT_BEGIN, OPT_SWAP, OPT_RESUME, OPT_DISCARD,
	OPT_ESTIMATE
};

static const struct option longopts[] = {
	{ "uri",		required_argument,	NULL, 'u' },
	{ "db",			required_argument,	NULL, 'd' },
	{ "collection",		required_argument,	NULL, 'c' },
	{ "drop",		no_argument,		NULL, OPT_DROP },
	{ "into",		required_argument,	NULL, OPT_INTO },
	{ "metadata",		required_argument,	NULL, OPT_METADATA },
	{ "batch-size",		required_argument,	NULL, OPT_BATCH },
	{ "insert-workers",	required_argument,	NULL, OPT_WORKERS },
	{ "skip-duplicates",	no_argument,		NULL, OPT_SKIP_DUPS },
	{ "dry-run",		no_argument,		NULL, OPT_DRY_RUN },
	{ "stats",		required_argument,	NULL, OPT_STATS },
	{ "watch",		required_argument,	NULL, OPT_WATCH },
	{ "journal",		required_argument,	NULL, OPT_JOURNAL },
	{ "begin",		required_argument,	NULL, OPT_BEGIN },
	{ "swap",		no_argument,		NULL, OPT_SWAP },
	{ "resume",		no_argument,		NULL, OPT_RESUME },
	{ "discard",		no_argument,		NULL, OPT_DISCARD },
	{ "estimate",		required_argument,	NULL, OPT_ESTIMATE },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "help",		no_argument,		NULL, 'h' },
	{ NULL,			0,			NULL, 0 }
};

/* One restore in progress; global so that the exit handler can remove its staging collection. */
static struct restore {
	struct tv_mongo		 m;
	const char		*target;
	char			 staging[256];	/* empty unless a staging collection is ours to drop */
	struct tv_inserter	*ins;
	struct tv_insert_opts	 opts;
	struct tv_insert_result	 result;
	uint64_t		 documents;	/* read from the stream */
	uint64_t		 bytes;		/* of the stream */
	struct tv_progress	*progress;	/* the terminal line, NULL if none */
} r;

static volatile sig_atomic_t interrupted;

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-restore [-qv] [-u uri] [-d db] -c collection [--drop | --into staging]\n"
	    "                  [--metadata file] [--batch-size n] [--insert-workers n]\n"
	    "                  [--skip-duplicates] [--stats file] [--watch pid] [--dry-run] < collection.bson\n"
	    "       tv-restore [-qv] [-u uri] [-d db] [--journal file] --begin collection,...\n"
	    "       tv-restore [-qv] [-u uri] [--journal file] --swap | --resume | --discard\n"
	    "       tv-restore [-qv] [-u uri] [-d db] --estimate collection,...\n");
	if (status == 0)
		tv_help_page("tv-restore", 1);
	exit(status);
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
		    (int)interrupted, (unsigned long long)r.result.inserted, r.target);
	exit(128 + interrupted);
}

static void *
watch_main(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;

	while (kill(pid, 0) == 0 || errno != ESRCH)
		usleep(WATCH_INTERVAL);
	/* To the process, so the main thread (the only one not blocking it) handles it. */
	tv_warn("process %ld, which ran this restore, is gone: abandoning it", (long)pid);
	kill(getpid(), SIGTERM);
	return NULL;
}

/*
 * --watch: a flow killed with SIGKILL cannot stop its stages, so they watch
 * it.  A restore whose flow is gone is abandoned as if interrupted: its
 * staging collection is dropped and nothing is swapped.
 */
static void
watch(pid_t pid)
{
	pthread_t tid;
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if ((errno = pthread_create(&tid, NULL, watch_main, (void *)(intptr_t)pid)) != 0)
		tv_fatal_errno(EX_OSERR, "pthread_create");
	pthread_detach(tid);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Drops the staging collection of a restore that did not finish (runs at exit). */
static void
drop_staging(void)
{
	mongoc_collection_t *coll;
	bson_error_t err;

	/* The workers stop first, or a batch in flight would re-create the collection. */
	tv_inserter_free(r.ins);
	r.ins = NULL;
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

		if (tv_swap_is_name(*n, TV_PREVIOUS_PREFIX, r.target))
			tv_warn("%s holds %s as it was before an interrupted restore; "
			    "drop it once %s is checked", *n, r.target, r.target);
		if (!tv_swap_is_name(*n, TV_STAGING_PREFIX, r.target))
			continue;
		coll = mongoc_database_get_collection(r.m.db, *n);
		if (!mongoc_collection_drop_with_opts(coll, NULL, &err))
			tv_mongo_fatal(&err, "cannot drop the leftover staging collection %s", *n);
		tv_info("Removed %s, left behind by an interrupted restore of %s", *n, r.target);
		mongoc_collection_destroy(coll);
	}
	bson_strfreev(names);
}

/* Creates the collection with the metadata's options (meta may be NULL), or exits. */
static void
create_collection(const char *name, const bson_t *meta)
{
	int status = tv_metadata_create(&r.m, name, meta);

	if (status != 0)
		exit(status);
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
	if ((size_t)snprintf(r.staging, sizeof(r.staging), "%s%s_%08x", TV_STAGING_PREFIX, r.target,
	    rnd) >= sizeof(r.staging))
		tv_fatal(EX_USAGE, "collection name %s is too long", r.target);
	create_collection(r.staging, meta);
	tv_debug("restoring into the staging collection %s", r.staging);
}

/* Waits for the batches in flight and exits with the failure they reported, saying what changed. */
static void __attribute__((noreturn))
insert_failed(int status)
{
	const char *why;

	tv_inserter_finish(r.ins, &r.result);
	/* A signal may have cut the insert short: report the signal, not the symptom. */
	exit_if_interrupted();
	why = tv_inserter_error(r.ins);
	if (tv_inserter_duplicate(r.ins) && r.staging[0])
		tv_fatal(status, "the stream holds a %s; %s is unchanged", why, r.target);
	if (tv_inserter_duplicate(r.ins))
		tv_fatal(status, "%s; %llu document(s) were inserted into %s; use --drop to replace "
		    "the collection or --skip-duplicates to keep it", why,
		    (unsigned long long)r.result.inserted, r.target);
	if (r.staging[0])
		tv_fatal(status, "%s; %llu document(s) were staged, %s is unchanged", why,
		    (unsigned long long)r.result.inserted, r.target);
	tv_fatal(status, "%s; %llu document(s) were inserted", why,
	    (unsigned long long)r.result.inserted);
}

/* Reads every document of stdin, inserting each unless this is a dry run; returns the count. */
static uint64_t
read_stream(int insert)
{
	struct tv_bson_reader *reader = tv_bson_reader_open(STDIN_FILENO, "stdin");
	bson_t doc;
	uint64_t n;
	int got, status;

	if (reader == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (;;) {
		uint64_t offset = tv_bson_reader_offset(reader);

		got = tv_bson_reader_next(reader, &doc);
		exit_if_interrupted();
		if (got != 1)
			break;
		if (insert && (status = tv_inserter_add(r.ins, &doc, offset)) != 0)
			insert_failed(status);
		tv_progress_add(r.progress, 1, doc.len);
	}
	if (got == -1)
		tv_fatal(tv_bson_reader_status(reader), "%s%s", tv_bson_reader_error(reader),
		    r.staging[0] ? "; nothing was restored" : "");
	n = tv_bson_reader_count(reader);
	r.bytes = tv_bson_reader_offset(reader);
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

	snprintf(previous, sizeof(previous), "%s%s_%s", TV_PREVIOUS_PREFIX, r.target,
	    r.staging + strlen(r.staging) - TV_STAGING_SUFFIX);
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

/* Writes the --stats file: what was read and what the server took. */
static void
write_stats(const char *path)
{
	bson_t doc = BSON_INITIALIZER;
	int status;

	BSON_APPEND_UTF8(&doc, "collection", r.target);
	BSON_APPEND_INT64(&doc, "documents", (int64_t)r.documents);
	BSON_APPEND_INT64(&doc, "inserted", (int64_t)r.result.inserted);
	BSON_APPEND_INT64(&doc, "skipped", (int64_t)r.result.skipped);
	BSON_APPEND_INT64(&doc, "bytes", (int64_t)r.bytes);
	status = tv_stats_write(path, &doc);
	bson_destroy(&doc);
	if (status != 0)
		exit(status);
}

/*
 * Loads stdin into the target: straight in; into a fresh staging collection
 * swapped in at the end (--drop); or into the flow's staging collection,
 * left for the flow to swap (--into).
 */
static void
restore(const char *uri, const char *dbname, int drop, const char *into, const bson_t *meta)
{
	double start = tv_clock();
	int status;

	tv_mongo_connect(&r.m, uri, dbname);
	atexit(drop_staging);
	if (drop) {
		drop_leftovers();
		create_staging(meta);
	} else if (into != NULL) {
		if ((size_t)snprintf(r.staging, sizeof(r.staging), "%s", into) >= sizeof(r.staging))
			tv_fatal(EX_USAGE, "--into: name too long");
		create_collection(r.staging, meta);
	} else if (meta != NULL)
		create_collection(r.target, meta);
	if ((r.ins = tv_inserter_start(&r.m, r.staging[0] ? r.staging : r.target, &r.opts)) == NULL)
		tv_fatal(EX_OSERR, "cannot start the insert workers");
	r.progress = tv_progress_start(r.target, 0);
	r.documents = read_stream(1);
	if ((status = tv_inserter_finish(r.ins, &r.result)) != 0)
		insert_failed(status);
	tv_progress_end(r.progress);
	tv_inserter_free(r.ins);
	r.ins = NULL;
	exit_if_interrupted();
	if (meta != NULL)
		if ((status = tv_metadata_indexes(&r.m, r.staging[0] ? r.staging : r.target, meta)) != 0)
			exit(status);
	if (drop)
		swap_in();
	else if (into != NULL) {
		/* Complete: from here the flow owns the staging collection. */
		exit_if_interrupted();
		r.staging[0] = '\0';
	}
	tv_info("Restored %llu documents into %s in %.2f seconds", (unsigned long long)r.result.inserted,
	    r.target, tv_clock() - start);
	if (r.opts.skip_dups)
		tv_info("Skipped %llu duplicate documents", (unsigned long long)r.result.skipped);
}

/* Splits a comma-separated list of collections; exits 64 on an empty name. */
static size_t
split_list(char *list, char **names, size_t max)
{
	size_t n = 0;
	char *name;

	while ((name = strsep(&list, ",")) != NULL) {
		if (*name == '\0' || n == max)
			usage(EX_USAGE);
		names[n++] = name;
	}
	return n;
}

/*
 * Returns a collection's document count from the server's metadata, without
 * scanning it: collStats's "count" (FerretDB answers estimatedDocumentCount
 * with a full count, seconds per 100k documents), else estimatedDocumentCount.
 */
static int64_t
estimated_count(const char *name)
{
	mongoc_collection_t *coll;
	bson_t *cmd = BCON_NEW("collStats", BCON_UTF8(name));
	bson_t reply;
	bson_error_t err;
	bson_iter_t it;
	int64_t count = -1;

	if (mongoc_database_command_simple(r.m.db, cmd, NULL, &reply, &err) &&
	    bson_iter_init_find(&it, &reply, "count") && BSON_ITER_HOLDS_NUMBER(&it))
		count = bson_iter_as_int64(&it);
	bson_destroy(&reply);
	bson_destroy(cmd);
	if (count >= 0)
		return count;
	coll = mongoc_database_get_collection(r.m.db, name);
	count = mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL, &err);
	mongoc_collection_destroy(coll);
	if (count < 0)
		tv_mongo_fatal(&err, "cannot count %s", name);
	return count;
}

/* Prints "collection<TAB>estimated documents" (or "absent") for each collection. */
static void
estimate(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!tv_mongo_has_collection(&r.m, names[i], NULL))
			printf("%s\tabsent\n", names[i]);
		else
			printf("%s\t%lld\n", names[i], (long long)estimated_count(names[i]));
}

/* Returns the journal's place in the state directory (static), or NULL if there is none. */
static const char *
default_journal(void)
{
	static char path[4096];
	const char *dir = tv_state_dir();

	if (dir == NULL || (size_t)snprintf(path, sizeof(path), "%s/%s", dir, TV_SWAP_JOURNAL) >=
	    sizeof(path))
		return NULL;
	return path;
}

/*
 * Runs --begin, --swap, --resume or (resume 2) --discard on the journal; returns the exit
 * status.  --discard settles the journal of the caller's own restore, which no one interrupted.
 */
static int
journal(const char *uri, const char *dbname, const char *path, char *begin, int swap, int resume)
{
	char *names[1000], *journal_db = NULL;
	size_t n;
	int status;

	if (begin != NULL) {
		n = split_list(begin, names, sizeof(names) / sizeof(names[0]));
		tv_mongo_connect(&r.m, uri, dbname);
		status = tv_swap_begin(&r.m, path, names, n, stdout);
	} else {
		/* The journal names its database: -d cannot point it elsewhere. */
		if ((status = tv_swap_journal_db(path, &journal_db)) != 0)
			return status == EX_NOINPUT && !swap ? 0 : status;
		tv_mongo_connect(&r.m, uri, journal_db);
		status = swap ? tv_swap_commit(&r.m, path) : tv_swap_resume(&r.m, path, resume == 1);
		free(journal_db);
	}
	tv_mongo_close(&r.m);
	return status;
}

int
main(int argc, char *argv[])
{
	const char *uri = NULL, *dbname = NULL, *metadata = NULL, *into = NULL, *stats = NULL;
	const char *journal_path = NULL;
	char *begin = NULL, *estimate_list = NULL, *end;
	bson_t meta;
	int ch, drop = 0, dry_run = 0, swap = 0, resume = 0, status = 0;
	long workers = 1, watch_pid = 0;

	tv_log_init(argv[0]);
	r.opts.batch_docs = DEFAULT_BATCH;
	while ((ch = getopt_long(argc, argv, "c:d:hqu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			r.target = optarg;
			break;
		case 'd':
			dbname = optarg;
			break;
		case 'h':
			usage(0);
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
		case OPT_INTO:
			into = optarg;
			break;
		case OPT_METADATA:
			metadata = optarg;
			break;
		case OPT_BATCH:
			r.opts.batch_docs = tv_mongo_batch_size(optarg);
			break;
		case OPT_WORKERS:
			errno = 0;
			workers = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' || workers < 1 ||
			    workers > MAX_WORKERS)
				tv_fatal(EX_USAGE, "--insert-workers must be a whole number from 1 to %d",
				    MAX_WORKERS);
			break;
		case OPT_SKIP_DUPS:
			r.opts.skip_dups = 1;
			break;
		case OPT_DRY_RUN:
			dry_run = 1;
			break;
		case OPT_STATS:
			stats = optarg;
			break;
		case OPT_WATCH:
			errno = 0;
			watch_pid = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' || watch_pid < 1)
				tv_fatal(EX_USAGE, "--watch needs a process id, not \"%s\"", optarg);
			break;
		case OPT_JOURNAL:
			journal_path = optarg;
			break;
		case OPT_BEGIN:
			begin = optarg;
			break;
		case OPT_SWAP:
			swap = 1;
			break;
		case OPT_RESUME:
			resume = 1;
			break;
		case OPT_DISCARD:
			resume = 2;
			break;
		case OPT_ESTIMATE:
			estimate_list = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 0)
		usage(EX_USAGE);
	if (journal_path != NULL || begin != NULL || swap || resume) {
		if ((begin != NULL) + swap + (resume != 0) != 1 || r.target != NULL)
			usage(EX_USAGE);
		if (journal_path == NULL && (journal_path = default_journal()) == NULL)
			return EX_CANTCREAT;
		return journal(uri, dbname, journal_path, begin, swap, resume);
	}
	if (estimate_list != NULL) {
		char *names[1000];
		size_t n = split_list(estimate_list, names, sizeof(names) / sizeof(names[0]));

		if (r.target != NULL)
			usage(EX_USAGE);
		tv_mongo_connect(&r.m, uri, dbname);
		estimate(names, n);
		tv_mongo_close(&r.m);
		return 0;
	}
	if (r.target == NULL || *r.target == '\0' || (drop && into != NULL))
		usage(EX_USAGE);
	if ((drop || into != NULL) && r.opts.skip_dups)
		tv_fatal(EX_USAGE, "--skip-duplicates has no use with %s: the collection starts empty",
		    drop ? "--drop" : "--into");
	if (into != NULL && !tv_swap_is_name(into, TV_STAGING_PREFIX, r.target))
		tv_fatal(EX_USAGE, "--into %s: not a staging collection of %s (%s%s_ and %d hex digits)",
		    into, r.target, TV_STAGING_PREFIX, r.target, TV_STAGING_SUFFIX);
	if (metadata != NULL)
		if ((status = tv_metadata_read(metadata, &meta)) != 0)
			return status;
	catch_signals();
	if (watch_pid != 0)
		watch((pid_t)watch_pid);

	/* Ordered inserts find the first duplicate exactly; a fresh staging collection has none. */
	r.opts.ordered = !drop && into == NULL && !r.opts.skip_dups;
	r.opts.workers = (int)workers;
	r.opts.batch_bytes = BATCHES_BYTES / ((size_t)workers * 2);
	if (r.opts.batch_bytes > BATCH_BYTES)
		r.opts.batch_bytes = BATCH_BYTES;
	if (dry_run) {
		r.documents = read_stream(0);
		tv_info("Validated %llu documents for %s (dry run)", (unsigned long long)r.documents,
		    r.target);
	} else {
		restore(uri, dbname, drop, into, metadata ? &meta : NULL);
		tv_mongo_close(&r.m);
	}
	if (stats != NULL)
		write_stats(stats);
	if (metadata != NULL)
		bson_destroy(&meta);
	return status;
}
