/* tv-export: stream one MongoDB collection to stdout as BSON, exactly mongodump's <coll>.bson. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "help.h"
#include "io.h"
#include "log.h"
#include "mongo.h"
#include "progress.h"
#include "stats.h"

/* Big enough that small documents cost few write(2) calls, small next to the 64 MiB budget. */
#define OUT_BUFFER	(1024 * 1024)
/* Documents per cursor batch; the server also caps a batch at 16 MiB. */
#define DEFAULT_BATCH	1000

/* Collections tv-restore leaves behind only if it was killed: never part of a backup. */
#define RESTORE_PREFIX	"tv_restore_"

enum { OPT_QUERY = 256, OPT_METADATA, OPT_BATCH, OPT_LIST, OPT_COUNT, OPT_STATS };

static const struct option longopts[] = {
	{ "uri",	required_argument,	NULL, 'u' },
	{ "db",		required_argument,	NULL, 'd' },
	{ "collection",	required_argument,	NULL, 'c' },
	{ "query",	required_argument,	NULL, OPT_QUERY },
	{ "metadata",	required_argument,	NULL, OPT_METADATA },
	{ "batch-size",	required_argument,	NULL, OPT_BATCH },
	{ "list",	no_argument,		NULL, OPT_LIST },
	{ "count",	no_argument,		NULL, OPT_COUNT },
	{ "help",	no_argument,		NULL, 'h' },
	{ "stats",	required_argument,	NULL, OPT_STATS },
	{ "quiet",	no_argument,		NULL, 'q' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ NULL,		0,			NULL, 0 }
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-export [-qv] [-u uri] [-d db] -c collection [--query json]\n"
	    "                 [--metadata file] [--batch-size n] [--stats file]\n"
	    "       tv-export [-qv] [-u uri] [-d db] -c collection --count [--query json]\n"
	    "       tv-export [-qv] [-u uri] [-d db] --list\n");
	if (status == 0)
		tv_help_page("tv-export", 1);
	exit(status);
}

/* Parses --query as (extended) JSON, or exits 64. */
static bson_t *
parse_query(const char *json)
{
	bson_error_t err;
	bson_t *query;

	if (json == NULL)
		return bson_new();
	if ((query = bson_new_from_json((const uint8_t *)json, -1, &err)) == NULL)
		tv_fatal(EX_USAGE, "--query is not a JSON object: %s", err.message);
	return query;
}

/* Exits 66 unless the collection exists, so a typo is never an empty "success". */
static void
require_collection(struct tv_mongo *m, const char *name, bson_t *info)
{
	if (!tv_mongo_has_collection(m, name, info))
		tv_fatal(EX_NOINPUT, "no collection %s in database %s", name, m->dbname);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the names of the collections a backup should hold, one per line, sorted. */
static void
list_collections(struct tv_mongo *m)
{
	bson_error_t err;
	char **names = mongoc_database_get_collection_names_with_opts(m->db, NULL, &err);
	size_t n = 0;

	if (names == NULL)
		tv_mongo_fatal(&err, "cannot list the collections of %s", m->dbname);
	while (names[n] != NULL)
		n++;
	qsort(names, n, sizeof(names[0]), compare_names);
	for (size_t i = 0; i < n; i++)
		if (strncmp(names[i], "system.", 7) != 0 &&
		    strncmp(names[i], RESTORE_PREFIX, strlen(RESTORE_PREFIX)) != 0)
			printf("%s\n", names[i]);
	bson_strfreev(names);
	if (fflush(stdout) == EOF || ferror(stdout))
		tv_fatal_errno(EX_IOERR, "cannot write to stdout");
}

static void
count_documents(struct tv_mongo *m, const char *name, const bson_t *query)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, name);
	bson_error_t err;
	int64_t n;

	require_collection(m, name, NULL);
	if ((n = mongoc_collection_count_documents(coll, query, NULL, NULL, NULL, &err)) < 0)
		tv_mongo_fatal(&err, "cannot count %s", name);
	printf("%lld\n", (long long)n);
	if (fflush(stdout) == EOF || ferror(stdout))
		tv_fatal_errno(EX_IOERR, "cannot write to stdout");
	mongoc_collection_destroy(coll);
}

/*
 * Drops the blanks libbson puts around JSON punctuation, so the file has the
 * compact layout mongodump writes (strings are copied untouched).
 */
static void
compact_json(char *s)
{
	char *out = s;
	int quoted = 0;

	for (; *s != '\0'; s++) {
		if (quoted) {
			*out++ = *s;
			if (*s == '\\' && s[1] != '\0')
				*out++ = *++s;
			else if (*s == '"')
				quoted = 0;
		} else if (*s != ' ' && *s != '\n' && *s != '\t') {
			*out++ = *s;
			quoted = *s == '"';
		}
	}
	*out = '\0';
}

/* Appends the collection's UUID as mongodump does: 32 lowercase hex digits. */
static void
append_uuid(bson_t *meta, const bson_t *info)
{
	const uint8_t *bytes;
	bson_subtype_t subtype;
	bson_iter_t it;
	uint32_t len;
	char hex[33];

	if (!bson_iter_init(&it, info) || !bson_iter_find_descendant(&it, "info.uuid", &it) ||
	    !BSON_ITER_HOLDS_BINARY(&it))
		return;
	bson_iter_binary(&it, &subtype, &len, &bytes);
	if (subtype != BSON_SUBTYPE_UUID || len != 16)
		return;
	for (uint32_t i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
	BSON_APPEND_UTF8(meta, "uuid", hex);
}

/* Writes mongodump's <coll>.metadata.json (options, indexes, uuid, name, type) to path. */
static void
write_metadata(struct tv_mongo *m, mongoc_collection_t *coll, const bson_t *info, const char *path)
{
	mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(coll, NULL);
	bson_t meta = BSON_INITIALIZER, indexes, options;
	const bson_t *index;
	const char *type = "collection";
	bson_error_t err;
	bson_iter_t it;
	char key[16];
	const char *k;
	uint32_t i = 0;
	char *json;
	int fd;

	if (bson_iter_init_find(&it, info, "options") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
		const uint8_t *data;
		uint32_t len;

		bson_iter_document(&it, &len, &data);
		if (len > 5 && bson_init_static(&options, data, len))
			BSON_APPEND_DOCUMENT(&meta, "options", &options);
	}
	BSON_APPEND_ARRAY_BEGIN(&meta, "indexes", &indexes);
	while (mongoc_cursor_next(cursor, &index)) {
		bson_uint32_to_string(i++, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT(&indexes, k, index);
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot list the indexes of %s", m->dbname);
	mongoc_cursor_destroy(cursor);
	bson_append_array_end(&meta, &indexes);
	append_uuid(&meta, info);
	BSON_APPEND_UTF8(&meta, "collectionName", mongoc_collection_get_name(coll));
	if (bson_iter_init_find(&it, info, "type") && BSON_ITER_HOLDS_UTF8(&it))
		type = bson_iter_utf8(&it, NULL);
	BSON_APPEND_UTF8(&meta, "type", type);

	json = bson_as_canonical_extended_json(&meta, NULL);
	compact_json(json);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666)) == -1)
		tv_fatal_errno(EX_CANTCREAT, "cannot create %s", path);
	if (tv_write_all(fd, json, strlen(json)) == -1 || close(fd) == -1)
		tv_fatal_errno(EX_IOERR, "cannot write %s", path);
	bson_free(json);
	bson_destroy(&meta);
}

/* Streams the matching documents to stdout exactly as the server returns them. */
static int
export(struct tv_mongo *m, const char *name, const bson_t *query, int32_t batch,
    const char *metadata, const char *stats)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, name);
	bson_t *opts = BCON_NEW("batchSize", BCON_INT32(batch));
	struct tv_progress *progress;
	int64_t estimate;
	mongoc_cursor_t *cursor;
	struct tv_writer w;
	const bson_t *doc;
	bson_error_t err;
	bson_t info;
	unsigned long long n = 0;
	int status = 0;

	require_collection(m, name, &info);
	if (metadata != NULL)
		write_metadata(m, coll, &info, metadata);
	bson_destroy(&info);
	if (tv_writer_init(&w, STDOUT_FILENO, OUT_BUFFER) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	/* The ETA comes from the server's cheap estimate, asked only when a terminal shows it. */
	estimate = tv_progress_wanted() ? mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL, NULL) : 0;
	progress = tv_progress_start(name, estimate > 0 ? (unsigned long long)estimate : 0);
	cursor = mongoc_collection_find_with_opts(coll, query, opts, NULL);
	while (mongoc_cursor_next(cursor, &doc)) {
		if (tv_writer_put(&w, bson_get_data(doc), doc->len) == -1)
			tv_fatal_errno(EX_IOERR, "cannot write to stdout");
		n++;
		tv_progress_add(progress, 1, doc->len);
	}
	tv_progress_end(progress);
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "export of %s failed after %llu documents", name, n);
	if (tv_writer_flush(&w) == -1)
		tv_fatal_errno(EX_IOERR, "cannot write to stdout");
	tv_info("Exported %llu documents from %s, BSON size: %llu bytes", n, name, w.total);
	if (stats != NULL) {
		bson_t *numbers = BCON_NEW("collection", BCON_UTF8(name), "documents", BCON_INT64((int64_t)n),
		    "bsonBytes", BCON_INT64((int64_t)w.total));

		status = tv_stats_write(stats, numbers);
		bson_destroy(numbers);
	}
	tv_writer_free(&w);
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	bson_destroy(opts);
	return status;
}

int
main(int argc, char *argv[])
{
	const char *uri = NULL, *dbname = NULL, *collection = NULL, *json = NULL;
	const char *metadata = NULL, *batch_arg = NULL, *stats = NULL;
	struct tv_mongo m;
	bson_t *query;
	int32_t batch;
	int ch, list = 0, count = 0, status = 0;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "c:d:hqu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'c':
			collection = optarg;
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
		case OPT_QUERY:
			json = optarg;
			break;
		case OPT_METADATA:
			metadata = optarg;
			break;
		case OPT_BATCH:
			batch_arg = optarg;
			break;
		case OPT_LIST:
			list = 1;
			break;
		case OPT_COUNT:
			count = 1;
			break;
		case OPT_STATS:
			stats = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 0 || (list && (collection || count || json || metadata || stats)) ||
	    (!list && collection == NULL) || (count && (metadata || stats)))
		usage(EX_USAGE);
	batch = batch_arg ? tv_mongo_batch_size(batch_arg) : DEFAULT_BATCH;
	query = parse_query(json);

	tv_mongo_connect(&m, uri, dbname);
	if (list)
		list_collections(&m);
	else if (count)
		count_documents(&m, collection, query);
	else
		status = export(&m, collection, query, batch, metadata, stats);
	bson_destroy(query);
	tv_mongo_close(&m);
	return status;
}
