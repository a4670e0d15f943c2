/* tv-dbcheck: the checks a restore rehearsal makes on a scratch database: that references
 * resolve (refcheck.h), which indexes a collection has, and dropping the database afterwards. */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "help.h"
#include "log.h"
#include "mongo.h"
#include "refcheck.h"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-dbcheck [-qv] [-u uri] -d db --refs rules-file [--max-keys n]\n"
	    "       tv-dbcheck [-qv] [-u uri] -d db --indexes -c collection\n"
	    "       tv-dbcheck [-qv] [-u uri] -d db --drop-database\n"
	    "       tv-dbcheck [-u uri] --configured-db\n");
	if (status == 0)
		tv_help_page("tv-dbcheck", 1);
	exit(status);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints the names of the collection's indexes, sorted, one per line. */
static int
list_indexes(struct tv_mongo *m, const char *name)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, name);
	mongoc_cursor_t *cursor;
	const bson_t *index;
	bson_error_t err;
	char **names = NULL;
	size_t n = 0;

	if (!tv_mongo_has_collection(m, name, NULL)) {
		tv_error("no collection %s in database %s", name, m->dbname);
		mongoc_collection_destroy(coll);
		return EX_NOINPUT;
	}
	cursor = mongoc_collection_find_indexes_with_opts(coll, NULL);
	while (mongoc_cursor_next(cursor, &index)) {
		bson_iter_t it;

		if (bson_iter_init_find(&it, index, "name") && BSON_ITER_HOLDS_UTF8(&it)) {
			if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL)
				tv_fatal(EX_OSERR, "out of memory");
			names[n++] = strdup(bson_iter_utf8(&it, NULL));
		}
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot list the indexes of %s", name);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		puts(names[i]);
		free(names[i]);
	}
	free(names);
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	return 0;
}

/* Drops the scratch database; refuses the configured one, which holds the service's data. */
static int
drop_database(struct tv_mongo *m, const char *uri_flag)
{
	char *configured = tv_mongo_db_name(uri_flag, NULL);
	bson_error_t err;
	int live = strcmp(m->dbname, configured) == 0;

	free(configured);
	if (live) {
		tv_error("refusing to drop %s: it is the database MONGODB_URI names", m->dbname);
		return EX_USAGE;
	}
	if (!mongoc_database_drop(m->db, &err))
		tv_mongo_fatal(&err, "cannot drop database %s", m->dbname);
	tv_info("Dropped database %s", m->dbname);
	return 0;
}

int
main(int argc, char *argv[])
{
	enum { OPT_REFS = 256, OPT_INDEXES, OPT_DROP, OPT_MAX_KEYS, OPT_CONFIGURED };
	static const struct option longopts[] = {
		{ "collection",		required_argument,	NULL, 'c' },
		{ "configured-db",	no_argument,		NULL, OPT_CONFIGURED },
		{ "db",			required_argument,	NULL, 'd' },
		{ "drop-database",	no_argument,		NULL, OPT_DROP },
		{ "help",		no_argument,		NULL, 'h' },
		{ "indexes",		no_argument,		NULL, OPT_INDEXES },
		{ "max-keys",		required_argument,	NULL, OPT_MAX_KEYS },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "refs",		required_argument,	NULL, OPT_REFS },
		{ "uri",		required_argument,	NULL, 'u' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ NULL,			0,			NULL, 0 }
	};
	const char *uri = NULL, *dbname = NULL, *collection = NULL, *refs = NULL;
	struct tv_mongo m;
	long max_keys = TV_REFCHECK_KEYS_IN_MEMORY;
	int ch, indexes = 0, drop = 0, configured = 0, status;
	char *end;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "c:d:hqu:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			collection = optarg;
			break;
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
		case OPT_REFS:
			refs = optarg;
			break;
		case OPT_INDEXES:
			indexes = 1;
			break;
		case OPT_DROP:
			drop = 1;
			break;
		case OPT_CONFIGURED:
			configured = 1;
			break;
		case OPT_MAX_KEYS:
			max_keys = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || max_keys < 0)
				usage(EX_USAGE);
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	/* The database the flows back up, for those that restore it under another name; no connection. */
	if (configured) {
		char *name;

		if (argc != 0 || dbname != NULL || refs != NULL || indexes || drop || collection != NULL)
			usage(EX_USAGE);
		name = tv_mongo_db_name(uri, NULL);
		printf("%s\n", name);
		free(name);
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	/* -d is required: these checks are for a scratch database, never by default the live one. */
	if (argc != 0 || dbname == NULL || (refs != NULL) + indexes + drop != 1 ||
	    (indexes != (collection != NULL)))
		usage(EX_USAGE);

	tv_mongo_connect(&m, uri, dbname);
	if (refs != NULL)
		status = tv_refcheck_file(&m, refs, max_keys);
	else if (indexes)
		status = list_indexes(&m, collection);
	else
		status = drop_database(&m, uri);
	if (fflush(stdout) != 0 && status == 0) {
		tv_error("writing standard output: %m");
		status = EX_IOERR;
	}
	tv_mongo_close(&m);
	return status;
}
