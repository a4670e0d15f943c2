/* tv-dbcheck: the checks a restore rehearsal makes on a scratch database: that references
 * resolve, which indexes a collection has, and dropping the database afterwards. */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "log.h"
#include "mongo.h"

/* References looked up per query: few round trips, a small $in. */
#define BATCH		500
/* Dangling references shown per rule; the count says how many there are. */
#define EXAMPLES	3

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-dbcheck [-qv] [-u uri] -d db --refs rules-file\n"
	    "       tv-dbcheck [-qv] [-u uri] -d db --indexes -c collection\n"
	    "       tv-dbcheck [-qv] [-u uri] -d db --drop-database\n");
	exit(status);
}

/* One rule: source.path -> target.key, e.g. messages.conversationId -> conversations._id. */
struct rule {
	char	text[1024];
	char	source[128], path[256], target[128], key[256];
};

/* A batch of referencing values, each kept as a one-field document {"v": value} for byte comparison. */
struct batch {
	bson_t	*v[BATCH];
	bson_t	*owner[BATCH];	/* the referencing document's _id, for examples */
	int	 found[BATCH];
	size_t	 n;
};

struct result {
	unsigned long long	checked, dangling;
	char			*examples[EXAMPLES];
};

/* Splits "coll.a.b" into collection and path; returns 0, or -1 if either part is empty. */
static int
split_ref(const char *s, char *coll, size_t clen, char *path, size_t plen)
{
	const char *dot = strchr(s, '.');

	if (dot == NULL || dot == s || dot[1] == '\0' || (size_t)(dot - s) >= clen || strlen(dot + 1) >= plen)
		return -1;
	snprintf(coll, clen, "%.*s", (int)(dot - s), s);
	snprintf(path, plen, "%s", dot + 1);
	return 0;
}

/* Parses one rules-file line; returns 1 for a rule, 0 for a blank or comment line, -1 if malformed. */
static int
parse_rule(char *line, struct rule *r)
{
	char left[400], right[400], extra[2];

	line[strcspn(line, "#\n")] = '\0';
	while (isspace((unsigned char)*line))
		line++;
	if (*line == '\0')
		return 0;
	if (sscanf(line, "%399s -> %399s %1s", left, right, extra) != 2 ||
	    split_ref(left, r->source, sizeof(r->source), r->path, sizeof(r->path)) != 0 ||
	    split_ref(right, r->target, sizeof(r->target), r->key, sizeof(r->key)) != 0)
		return -1;
	snprintf(r->text, sizeof(r->text), "%s -> %s", left, right);
	return 1;
}

static int
cmp_values(const bson_t *a, const bson_t *b)
{
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return memcmp(bson_get_data(a), bson_get_data(b), a->len);
}

/* Calls add for every value at path in doc, descending into arrays on the way and at the end. */
static void
values_at(bson_iter_t *it, const char *path, void (*add)(const bson_iter_t *, void *), void *arg)
{
	size_t n = strcspn(path, ".");
	bson_iter_t child;

	while (bson_iter_next(it)) {
		const char *k = bson_iter_key(it);

		if (strlen(k) != n || strncmp(k, path, n) != 0)
			continue;
		if (path[n] == '\0') {
			if (BSON_ITER_HOLDS_ARRAY(it) && bson_iter_recurse(it, &child)) {
				while (bson_iter_next(&child))
					add(&child, arg);
			} else
				add(it, arg);
		} else if (BSON_ITER_HOLDS_DOCUMENT(it) && bson_iter_recurse(it, &child))
			values_at(&child, path + n + 1, add, arg);
		else if (BSON_ITER_HOLDS_ARRAY(it) && bson_iter_recurse(it, &child)) {
			/* An array of subdocuments: the path goes on inside each element. */
			while (bson_iter_next(&child)) {
				bson_iter_t elem;

				if (BSON_ITER_HOLDS_DOCUMENT(&child) && bson_iter_recurse(&child, &elem))
					values_at(&elem, path + n + 1, add, arg);
			}
		}
		return;
	}
}

struct collecting {
	struct batch	*b;
	const bson_t	*owner;
	struct tv_mongo	*m;
	struct rule	*r;
	struct result	*res;
};

static void flush_batch(struct collecting *c);

static void
add_value(const bson_iter_t *it, void *arg)
{
	struct collecting *c = arg;
	struct batch *b = c->b;
	bson_iter_t id;

	/* A missing or null reference is an optional one left empty, not a dangling one. */
	if (BSON_ITER_HOLDS_NULL(it) || bson_iter_type(it) == BSON_TYPE_UNDEFINED)
		return;
	b->v[b->n] = bson_new();
	bson_append_iter(b->v[b->n], "v", 1, it);
	b->owner[b->n] = bson_new();
	if (bson_iter_init_find(&id, c->owner, "_id"))
		bson_append_iter(b->owner[b->n], "_id", 3, &id);
	b->found[b->n] = 0;
	b->n++;
	c->res->checked++;
	if (b->n == BATCH)
		flush_batch(c);
}

/* Marks every value of the batch equal to the one the target holds as found. */
static void
mark_found(const bson_iter_t *it, void *arg)
{
	struct batch *b = arg;
	bson_t *probe = bson_new();

	bson_append_iter(probe, "v", 1, it);
	for (size_t i = 0; i < b->n; i++)
		if (!b->found[i] && cmp_values(b->v[i], probe) == 0)
			b->found[i] = 1;
	bson_destroy(probe);
}

/* Looks up a batch of values in the target, counts those not found, then empties the batch. */
static void
flush_batch(struct collecting *c)
{
	struct batch *b = c->b;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cursor;
	bson_t filter = BSON_INITIALIZER, cond, in, *opts;
	const bson_t *doc;
	bson_error_t err;
	char key[16];
	const char *k;

	if (b->n == 0)
		return;
	BSON_APPEND_DOCUMENT_BEGIN(&filter, c->r->key, &cond);
	BSON_APPEND_ARRAY_BEGIN(&cond, "$in", &in);
	for (size_t i = 0; i < b->n; i++) {
		bson_iter_t it;

		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		bson_iter_init_find(&it, b->v[i], "v");
		bson_append_iter(&in, k, -1, &it);
	}
	bson_append_array_end(&cond, &in);
	bson_append_document_end(&filter, &cond);
	opts = BCON_NEW("projection", "{", c->r->key, BCON_INT32(1), "}");
	coll = mongoc_database_get_collection(c->m->db, c->r->target);
	cursor = mongoc_collection_find_with_opts(coll, &filter, opts, NULL);
	while (mongoc_cursor_next(cursor, &doc)) {
		bson_iter_t it;

		if (bson_iter_init(&it, doc))
			values_at(&it, c->r->key, mark_found, b);
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot look up %s in %s", c->r->key, c->r->target);
	for (size_t i = 0; i < b->n; i++) {
		if (!b->found[i] && c->res->dangling++ < EXAMPLES) {
			bson_t ex = BSON_INITIALIZER;
			bson_iter_t it;

			if (bson_iter_init_find(&it, b->owner[i], "_id"))
				bson_append_iter(&ex, "_id", 3, &it);
			bson_iter_init_find(&it, b->v[i], "v");
			bson_append_iter(&ex, "value", 5, &it);
			c->res->examples[c->res->dangling - 1] = bson_as_relaxed_extended_json(&ex, NULL);
			bson_destroy(&ex);
		}
		bson_destroy(b->v[i]);
		bson_destroy(b->owner[i]);
	}
	b->n = 0;
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	bson_destroy(opts);
	bson_destroy(&filter);
}

/* Checks one rule; prints its JSON line; returns 1 if a reference dangles. */
static int
check_rule(struct tv_mongo *m, struct rule *r)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, r->source);
	bson_t *opts = BCON_NEW("projection", "{", r->path, BCON_INT32(1), "}");
	struct result res = { 0, 0, { NULL } };
	static struct batch b;
	struct collecting c = { &b, NULL, m, r, &res };
	bson_t all = BSON_INITIALIZER;
	mongoc_cursor_t *cursor;
	const bson_t *doc;
	bson_error_t err;

	cursor = mongoc_collection_find_with_opts(coll, &all, opts, NULL);
	while (mongoc_cursor_next(cursor, &doc)) {
		bson_iter_t it;

		c.owner = doc;
		if (bson_iter_init(&it, doc))
			values_at(&it, r->path, add_value, &c);
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot read %s.%s", m->dbname, r->source);
	flush_batch(&c);
	printf("{\"rule\":\"%s\",\"checked\":%llu,\"dangling\":%llu,\"examples\":[", r->text,
	    res.checked, res.dangling);
	for (int i = 0; i < EXAMPLES && res.examples[i] != NULL; i++) {
		printf("%s%s", i ? "," : "", res.examples[i]);
		bson_free(res.examples[i]);
	}
	puts("]}");
	if (res.dangling > 0)
		tv_error("%s: %llu of %llu references dangle", r->text, res.dangling, res.checked);
	else
		tv_info("%s: %llu references, all resolve", r->text, res.checked);
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	bson_destroy(opts);
	return res.dangling > 0;
}

/* Checks every rule of the file; returns 0, 65 if a reference dangles, 66/64 for a bad file. */
static int
check_refs(struct tv_mongo *m, const char *file)
{
	FILE *f = fopen(file, "r");
	char line[1024];
	struct rule r;
	int lineno = 0, bad = 0, rc;

	if (f == NULL) {
		tv_error("%s: %s", file, strerror(errno));
		return EX_NOINPUT;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((rc = parse_rule(line, &r)) < 0) {
			tv_error("%s:%d: not a rule (collection.field -> collection.field)", file, lineno);
			fclose(f);
			return EX_USAGE;
		}
		if (rc > 0)
			bad |= check_rule(m, &r);
	}
	fclose(f);
	return bad ? EX_DATAERR : 0;
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
	mongoc_uri_t *uri = mongoc_uri_new(tv_config_get("MONGODB_URI", uri_flag));
	const char *configured = uri ? mongoc_uri_get_database(uri) : NULL;
	bson_error_t err;
	int live;

	if (configured == NULL || *configured == '\0')
		configured = TV_MONGO_DEFAULT_DB;
	live = strcmp(m->dbname, configured) == 0;
	mongoc_uri_destroy(uri);
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
	enum { OPT_REFS = 256, OPT_INDEXES, OPT_DROP };
	static const struct option longopts[] = {
		{ "collection",		required_argument,	NULL, 'c' },
		{ "db",			required_argument,	NULL, 'd' },
		{ "drop-database",	no_argument,		NULL, OPT_DROP },
		{ "help",		no_argument,		NULL, 'h' },
		{ "indexes",		no_argument,		NULL, OPT_INDEXES },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "refs",		required_argument,	NULL, OPT_REFS },
		{ "uri",		required_argument,	NULL, 'u' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ NULL,			0,			NULL, 0 }
	};
	const char *uri = NULL, *dbname = NULL, *collection = NULL, *refs = NULL;
	struct tv_mongo m;
	int ch, indexes = 0, drop = 0, status;

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
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	/* -d is required: these checks are for a scratch database, never by default the live one. */
	if (argc != 0 || dbname == NULL || (refs != NULL) + indexes + drop != 1 ||
	    (indexes != (collection != NULL)))
		usage(EX_USAGE);

	tv_mongo_connect(&m, uri, dbname);
	if (refs != NULL)
		status = check_refs(&m, refs);
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
