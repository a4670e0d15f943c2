/* tv-oplog: stream one database's oplog entries after a position to stdout as BSON. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "help.h"
#include "io.h"
#include "log.h"
#include "mongo.h"
#include "oplog.h"
#include "settle.h"
#include "stats.h"

/* Big enough that small entries cost few write(2) calls, small next to the 64 MiB budget. */
#define OUT_BUFFER	(1024 * 1024)
/* How long a tailing read waits for new entries before the slice's deadline is checked again. */
#define AWAIT_MS	250
/* A server that answers an await at once (no awaitData) is asked again no sooner than this. */
#define POLL_MS		100
/* How late an entry may become visible behind a later one (settle.h); --settle-ms. */
#define SETTLE_MS	1000

enum { OPT_SINCE = 256, OPT_UNTIL, OPT_FOLLOW, OPT_MAX_SECONDS, OPT_MAX_BYTES, OPT_STATS,
    OPT_FIRST, OPT_LAST, OPT_SETTLE_MS };

static const struct option longopts[] = {
	{ "uri",		required_argument,	NULL, 'u' },
	{ "db",			required_argument,	NULL, 'd' },
	{ "since",		required_argument,	NULL, OPT_SINCE },
	{ "until",		required_argument,	NULL, OPT_UNTIL },
	{ "follow",		no_argument,		NULL, OPT_FOLLOW },
	{ "max-seconds",	required_argument,	NULL, OPT_MAX_SECONDS },
	{ "max-bytes",		required_argument,	NULL, OPT_MAX_BYTES },
	{ "settle-ms",		required_argument,	NULL, OPT_SETTLE_MS },
	{ "stats",		required_argument,	NULL, OPT_STATS },
	{ "first",		no_argument,		NULL, OPT_FIRST },
	{ "last",		no_argument,		NULL, OPT_LAST },
	{ "help",		no_argument,		NULL, 'h' },
	{ "quiet",		no_argument,		NULL, 'q' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ NULL,			0,			NULL, 0 }
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-oplog [-qv] [-u uri] [-d db] [--since T.I] [--until T.I | --follow]\n"
	    "                [--max-seconds n] [--max-bytes n] [--settle-ms n] [--stats file]\n"
	    "       tv-oplog [-qv] [-u uri] --first | --last\n");
	if (status == 0)
		tv_help_page("tv-oplog", 1);
	exit(status);
}

/* What one capture is asked to do. */
struct request {
	const char		*dbname;
	int			 has_since, has_until, follow;
	struct tv_oppos		 since, until;
	unsigned long long	 max_bytes;	/* 0: no limit */
	unsigned long long	 max_seconds;	/* 0: no limit */
	int64_t			 settle_ms;	/* how late an entry may become visible */
	const char		*stats;
};

/* What a capture did: the numbers of its --stats file. */
struct capture {
	unsigned long long	 count, bytes;
	int			 has_first, has_scanned, has_gap;
	struct tv_oppos		 first, last, scanned, gap_from, gap_to;
};

static struct tv_oppos
parse_position(const char *flag, const char *arg)
{
	struct tv_oppos p;

	if (tv_oppos_parse(arg, &p) != 0)
		tv_fatal(EX_USAGE, "%s takes an oplog position T.I (e.g. 1705287600.1), not \"%s\"", flag, arg);
	return p;
}

static unsigned long long
parse_count(const char *flag, const char *arg)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || *arg < '1' || *arg > '9')
		tv_fatal(EX_USAGE, "%s takes a whole number above 0, not \"%s\"", flag, arg);
	return n;
}

/* Returns the oplog collection, or exits 66 on a server that keeps none (a standalone). */
static mongoc_collection_t *
open_oplog(struct tv_mongo *m)
{
	mongoc_database_t *local = mongoc_client_get_database(m->client, "local");
	bson_t *opts = BCON_NEW("filter", "{", "name", BCON_UTF8("oplog.rs"), "}");
	mongoc_cursor_t *cursor = mongoc_database_find_collections_with_opts(local, opts);
	mongoc_collection_t *oplog;
	const bson_t *doc;
	bson_error_t err;
	int found = 0;

	while (mongoc_cursor_next(cursor, &doc))
		found = 1;
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot look for the oplog on %s", m->where);
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	if (!found)
		tv_fatal(EX_NOINPUT, "%s keeps no oplog (no local.oplog.rs): a standalone server; "
		    "point-in-time capture needs a replica set member", m->where);
	oplog = mongoc_database_get_collection(local, "oplog.rs");
	mongoc_database_destroy(local);
	return oplog;
}

/* Finds the oldest (direction 1) or newest (-1) position; returns 0, or -1 if the oplog is empty. */
static int
edge(mongoc_collection_t *oplog, int direction, struct tv_oppos *p)
{
	bson_t *filter = bson_new();
	bson_t *opts = BCON_NEW("sort", "{", "$natural", BCON_INT32(direction), "}",
	    "limit", BCON_INT64(1), "projection", "{", "ts", BCON_INT32(1), "}");
	mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(oplog, filter, opts, NULL);
	const bson_t *doc;
	bson_error_t err;
	int found = -1;

	if (mongoc_cursor_next(cursor, &doc)) {
		if (tv_oppos_of_entry(doc, p) != 0)
			tv_fatal(EX_DATAERR, "local.oplog.rs holds an entry without a timestamp ts");
		found = 0;
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot read local.oplog.rs");
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	bson_destroy(filter);
	return found;
}

/* Prints the oldest or newest position, for a backup's consistentAt or an operator. */
static void
print_edge(mongoc_collection_t *oplog, int direction)
{
	char text[TV_OPPOS_LEN];
	struct tv_oppos p;

	if (edge(oplog, direction, &p) != 0)
		tv_fatal(EX_NOINPUT, "local.oplog.rs is empty: no position to report yet");
	printf("%s\n", tv_oppos_format(&p, text));
	if (fflush(stdout) == EOF || ferror(stdout))
		tv_fatal_errno(EX_IOERR, "cannot write to stdout");
}

static void
append_position(bson_t *doc, const char *key, int has, const struct tv_oppos *p)
{
	char text[TV_OPPOS_LEN];

	if (has)
		BSON_APPEND_UTF8(doc, key, tv_oppos_format(p, text));
	else
		BSON_APPEND_NULL(doc, key);
}

static void
append_time(bson_t *doc, const char *key, int has, const struct tv_oppos *p)
{
	char text[TV_ISO_LEN];

	if (has)
		BSON_APPEND_UTF8(doc, key, tv_oppos_iso(p, text));
	else
		BSON_APPEND_NULL(doc, key);
}

/* Appends the name of the blob the capture is stored as, or null if it read nothing new. */
static void
append_name(bson_t *doc, const char *key, const struct request *rq, const struct capture *c,
    const char *suffix)
{
	char name[128];

	if (rq->has_since && c->has_scanned && tv_oppos_cmp(&c->scanned, &rq->since) > 0 &&
	    tv_oplog_name(name, sizeof(name), &rq->since, &c->scanned, suffix) == 0)
		BSON_APPEND_UTF8(doc, key, name);
	else
		BSON_APPEND_NULL(doc, key);
}

/* Writes the --stats file: what was captured, how far the oplog was read, and any gap. */
static int
write_stats(const struct request *rq, const struct capture *c)
{
	char name[128];
	bson_t doc = BSON_INITIALIZER, gap;
	int status;

	BSON_APPEND_INT64(&doc, "count", (int64_t)c->count);
	BSON_APPEND_INT64(&doc, "bytes", (int64_t)c->bytes);
	append_position(&doc, "since", rq->has_since, &rq->since);
	append_position(&doc, "first", c->has_first, &c->first);
	append_position(&doc, "last", c->has_first, &c->last);
	append_time(&doc, "firstTime", c->has_first, &c->first);
	append_time(&doc, "lastTime", c->has_first, &c->last);
	append_position(&doc, "scannedLast", c->has_scanned, &c->scanned);
	append_time(&doc, "scannedLastTime", c->has_scanned, &c->scanned);
	/* The blobs a shipper stores this capture as: everything after since up to scannedLast. */
	append_name(&doc, "slice", rq, c, TV_SLICE_SUFFIX);
	append_name(&doc, "sliceIndex", rq, c, TV_SLICE_INDEX_SUFFIX);
	if (c->has_gap) {
		BSON_APPEND_DOCUMENT_BEGIN(&doc, "gap", &gap);
		append_position(&gap, "from", 1, &c->gap_from);
		append_position(&gap, "to", 1, &c->gap_to);
		append_time(&gap, "fromTime", 1, &c->gap_from);
		append_time(&gap, "toTime", 1, &c->gap_to);
		if (tv_oplog_name(name, sizeof(name), &c->gap_from, &c->gap_to, TV_BREAK_SUFFIX) == 0)
			BSON_APPEND_UTF8(&gap, "record", name);
		bson_append_document_end(&doc, &gap);
	}
	status = tv_stats_write(rq->stats, &doc);
	bson_destroy(&doc);
	return status;
}

/*
 * Called when a read from position from does not find the entry at from
 * first: exits 65 if the oplog no longer reaches back to it, since entries
 * after it may be lost.  The oldest position is read after the read began,
 * and only ever grows, so an oldest entry at or before from proves that
 * nothing was missed.
 */
static void
check_reaches_back(mongoc_collection_t *oplog, const struct request *rq, struct capture *c,
    const struct tv_oppos *from)
{
	char since[TV_OPPOS_LEN], oldest[TV_OPPOS_LEN], from_iso[TV_ISO_LEN], to_iso[TV_ISO_LEN];
	struct tv_oppos o;
	int empty = edge(oplog, 1, &o) != 0;

	if (!empty && tv_oppos_cmp(&o, from) <= 0)
		return;
	tv_oppos_format(from, since);
	tv_oppos_iso(from, from_iso);
	if (empty)
		tv_fatal(EX_DATAERR, "the oplog no longer reaches back to %s (it is empty): "
		    "the chain is broken from %s", since, from_iso);
	c->has_gap = 1;
	c->gap_from = *from;
	c->gap_to = o;
	if (rq->stats != NULL)
		write_stats(rq, c);
	tv_fatal(EX_DATAERR, "the oplog no longer reaches back to %s (oldest entry is %s at %s): "
	    "the chain is broken from %s to %s", since, tv_oppos_format(&o, oldest),
	    tv_oppos_iso(&o, to_iso), from_iso, to_iso);
}

/* Opens a cursor over the entries at or after from (if any) and, unless following, up to until. */
static mongoc_cursor_t *
open_cursor(mongoc_collection_t *oplog, const struct request *rq, int has_from,
    const struct tv_oppos *from)
{
	bson_t filter = BSON_INITIALIZER, ts;
	bson_t *opts = NULL;
	mongoc_cursor_t *cursor;

	if (has_from || rq->has_until) {
		BSON_APPEND_DOCUMENT_BEGIN(&filter, "ts", &ts);
		if (has_from)
			BSON_APPEND_TIMESTAMP(&ts, "$gte", from->t, from->i);
		if (rq->has_until)
			BSON_APPEND_TIMESTAMP(&ts, "$lte", rq->until.t, rq->until.i);
		bson_append_document_end(&filter, &ts);
	}
	/* A capped collection is read in insertion order, which is the oplog's: no sort. */
	if (rq->follow)
		opts = BCON_NEW("tailable", BCON_BOOL(true), "awaitData", BCON_BOOL(true),
		    "maxAwaitTimeMS", BCON_INT64(AWAIT_MS));
	cursor = mongoc_collection_find_with_opts(oplog, &filter, opts, NULL);
	if (opts != NULL)
		bson_destroy(opts);
	bson_destroy(&filter);
	return cursor;
}

/* Returns 1 if the entry is the database's (all of it, or a part: tv_oplog_select), else 0. */
static int
owned_entry(const struct request *rq, const bson_t *entry)
{
	bson_t narrowed;
	enum tv_oplog_choice choice = tv_oplog_select(entry, rq->dbname, &narrowed);

	if (choice == TV_OPLOG_NARROWED)
		bson_destroy(&narrowed);
	return choice != TV_OPLOG_DROP;
}

/* Writes an entry the database owns (or its narrowed copy) and counts it. */
static void
emit(struct tv_writer *w, const struct request *rq, struct capture *c, const bson_t *entry,
    const struct tv_oppos *pos)
{
	bson_t narrowed;
	enum tv_oplog_choice choice = tv_oplog_select(entry, rq->dbname, &narrowed);
	const bson_t *out = choice == TV_OPLOG_NARROWED ? &narrowed : entry;

	if (choice == TV_OPLOG_DROP)
		return;
	if (tv_writer_put(w, bson_get_data(out), out->len) == -1)
		tv_fatal_errno(EX_IOERR, "cannot write to stdout");
	if (!c->has_first)
		c->first = *pos;
	c->has_first = 1;
	c->last = *pos;
	c->count++;
	c->bytes += out->len;
	if (choice == TV_OPLOG_NARROWED)
		bson_destroy(&narrowed);
}

/*
 * Writes the held entries that have settled, in position order; returns 1 once
 * the capture must stop (--until reached, --max-bytes written, the deadline).
 */
static int
release(struct tv_settle *held, struct tv_writer *w, const struct request *rq, struct capture *c,
    double deadline)
{
	const struct tv_settle_entry *e;
	int64_t now = tv_now_ms();

	while ((e = tv_settle_ready(held, now)) != NULL) {
		struct tv_oppos pos = e->pos;

		c->scanned = pos;
		c->has_scanned = 1;
		emit(w, rq, c, e->doc, &pos);
		tv_settle_pop(held);
		if ((rq->has_until && tv_oppos_cmp(&pos, &rq->until) >= 0) ||
		    (rq->max_bytes && c->bytes >= rq->max_bytes) ||
		    (deadline && tv_clock() >= deadline))
			return 1;
	}
	return 0;
}

/* Sleeps ms milliseconds. */
static void
sleep_ms(int64_t ms)
{
	if (ms > 0)
		nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000 }, NULL);
}

/*
 * Reads the oplog after since and writes the database's entries, in position
 * order, each once it has settled (settle.h): an entry the server makes
 * visible late, behind a later one, is not skipped.  Every read starts at the
 * last position written (since, at first) itself: finding that entry first
 * proves the oplog still reaches back to it.  A read that ends with entries not
 * yet settled waits for them and reads again behind them; a tailing cursor
 * that the server closes is reopened where it stopped.
 */
static void
capture(mongoc_collection_t *oplog, const struct request *rq, struct capture *c)
{
	double deadline = rq->max_seconds ? tv_clock() + (double)rq->max_seconds : 0;
	struct tv_writer w;
	struct tv_settle held;
	int stop = 0;

	if (tv_writer_init(&w, STDOUT_FILENO, OUT_BUFFER) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	tv_settle_init(&held, rq->settle_ms);
	if (rq->has_since) {
		c->scanned = rq->since;
		c->has_scanned = 1;
	}
	while (!stop) {
		struct tv_oppos from = c->scanned;
		int has_from = c->has_scanned, checked = !has_from;
		mongoc_cursor_t *cursor = open_cursor(oplog, rq, has_from, &from);
		const bson_t *entry;
		bson_error_t err;

		/* What was held and not written is read again. */
		tv_settle_clear(&held);
		for (;;) {
			struct tv_oppos pos;
			double asked = tv_clock();

			if (!mongoc_cursor_next(cursor, &entry)) {
				if (mongoc_cursor_error(cursor, &err))
					tv_mongo_fatal(&err, "reading local.oplog.rs failed after %llu entries", c->count);
				if (!checked)
					check_reaches_back(oplog, rq, c, &from);
				checked = 1;
				if ((stop = release(&held, &w, rq, c, deadline)) != 0)
					break;
				if (!rq->follow || (deadline && tv_clock() >= deadline) || !mongoc_cursor_more(cursor))
					break;
				/* Entries already written reach the next stage while the cursor waits. */
				if (tv_writer_flush(&w) == -1)
					tv_fatal_errno(EX_IOERR, "cannot write to stdout");
				if (tv_clock() - asked < POLL_MS / 1000.0)
					usleep(POLL_MS * 1000);
				continue;
			}
			if (tv_oppos_of_entry(entry, &pos) != 0)
				tv_fatal(EX_DATAERR, "local.oplog.rs holds an entry without a timestamp ts");
			if (!checked) {
				checked = 1;
				if (tv_oppos_cmp(&pos, &from) == 0)
					continue;	/* the entry at from: had already, or excluded */
				check_reaches_back(oplog, rq, c, &from);
			}
			/* A late entry of another database (a restore's parallel inserts into a scratch
			 * database) is none of this chain's: only the database's own must be in order. */
			if (c->has_scanned && tv_oppos_cmp(&pos, &c->scanned) <= 0 && !owned_entry(rq, entry)) {
				tv_debug("%lu.%lu, another database's entry, became visible after %lu.%lu: not captured",
				    (unsigned long)pos.t, (unsigned long)pos.i, (unsigned long)c->scanned.t,
				    (unsigned long)c->scanned.i);
				continue;
			}
			if (c->has_scanned && tv_oppos_cmp(&pos, &c->scanned) <= 0)
				tv_fatal(EX_DATAERR, "local.oplog.rs is out of order: %lu.%lu became visible after "
				    "%lu.%lu was written, more than %lld ms late (raise --settle-ms)",
				    (unsigned long)pos.t, (unsigned long)pos.i,
				    (unsigned long)c->scanned.t, (unsigned long)c->scanned.i, (long long)rq->settle_ms);
			tv_settle_add(&held, entry, &pos, tv_oplog_wall_ms(entry, &pos), tv_now_ms());
			if ((stop = release(&held, &w, rq, c, deadline)) != 0)
				break;
		}
		mongoc_cursor_destroy(cursor);
		if (stop || (deadline && tv_clock() >= deadline))
			stop = 1;
		else if (!rq->follow) {
			/* Entries not settled yet: wait, then read again behind them for late ones. */
			if (tv_settle_count(&held) == 0)
				stop = 1;
			else
				sleep_ms(tv_settle_wait_ms(&held, tv_now_ms()));
		} else
			usleep(POLL_MS * 1000);
	}
	tv_settle_free(&held);
	if (tv_writer_flush(&w) == -1)
		tv_fatal_errno(EX_IOERR, "cannot write to stdout");
	tv_writer_free(&w);
}

/* Logs what was captured, in the spirit of tv-export's "Exported ..." line. */
static void
report(const struct request *rq, const struct capture *c)
{
	char a[TV_OPPOS_LEN], b[TV_OPPOS_LEN];

	tv_info("Captured %llu oplog entries of %s, BSON size: %llu bytes (read after %s up to %s)",
	    c->count, rq->dbname, c->bytes,
	    rq->has_since ? tv_oppos_format(&rq->since, a) : "the oldest entry",
	    c->has_scanned ? tv_oppos_format(&c->scanned, b) : "nothing");
}

/* Does what the request asks for and writes its --stats file; returns the exit status. */
static int
read_oplog(mongoc_collection_t *oplog, struct request *rq)
{
	char a[TV_OPPOS_LEN], b[TV_OPPOS_LEN];
	struct capture c = { 0 };
	struct tv_oppos newest;
	int empty = edge(oplog, -1, &newest) != 0;

	/* A position past the newest entry was never this oplog's: another server's, or a typo. */
	if (rq->has_since && !empty && tv_oppos_cmp(&rq->since, &newest) > 0)
		tv_fatal(EX_DATAERR, "--since %s is after the newest oplog entry %s: "
		    "not a position of this server's oplog", tv_oppos_format(&rq->since, a),
		    tv_oppos_format(&newest, b));
	/* Without --until or --follow, "caught up" means the newest entry when we started. */
	if (!rq->follow && !rq->has_until && !empty) {
		rq->until = newest;
		rq->has_until = 1;
	}
	if (!rq->follow && empty) {
		if (rq->has_since)
			check_reaches_back(oplog, rq, &c, &rq->since);
	} else {
		capture(oplog, rq, &c);
	}
	report(rq, &c);
	return rq->stats != NULL ? write_stats(rq, &c) : 0;
}

int
main(int argc, char *argv[])
{
	const char *uri = NULL, *dbname = NULL;
	struct request rq = { .settle_ms = SETTLE_MS };
	struct tv_mongo m;
	mongoc_collection_t *oplog;
	int ch, first = 0, last = 0, status = 0;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "d:hqu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dbname = optarg;
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
		case OPT_SINCE:
			rq.since = parse_position("--since", optarg);
			rq.has_since = 1;
			break;
		case OPT_UNTIL:
			rq.until = parse_position("--until", optarg);
			rq.has_until = 1;
			break;
		case OPT_FOLLOW:
			rq.follow = 1;
			break;
		case OPT_MAX_SECONDS:
			rq.max_seconds = parse_count("--max-seconds", optarg);
			break;
		case OPT_MAX_BYTES:
			rq.max_bytes = parse_count("--max-bytes", optarg);
			break;
		case OPT_SETTLE_MS:
			rq.settle_ms = strcmp(optarg, "0") == 0 ? 0 : (int64_t)parse_count("--settle-ms", optarg);
			break;
		case OPT_STATS:
			rq.stats = optarg;
			break;
		case OPT_FIRST:
			first = 1;
			break;
		case OPT_LAST:
			last = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 0 || (first && last) || (rq.follow && rq.has_until) ||
	    ((first || last) && (rq.has_since || rq.has_until || rq.follow || rq.max_seconds ||
	    rq.max_bytes || rq.stats)))
		usage(EX_USAGE);
	if (rq.has_since && rq.has_until && tv_oppos_cmp(&rq.until, &rq.since) < 0)
		tv_fatal(EX_USAGE, "--until is before --since");

	tv_mongo_connect(&m, uri, dbname);
	rq.dbname = m.dbname;
	oplog = open_oplog(&m);
	if (first || last)
		print_edge(oplog, first ? 1 : -1);
	else
		status = read_oplog(oplog, &rq);
	mongoc_collection_destroy(oplog);
	tv_mongo_close(&m);
	return status;
}
