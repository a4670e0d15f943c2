/* refcheck.c: reference checks: each source read once for all its rules, targets' keys in memory or queried in batches. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "mongo.h"
#include "refcheck.h"

/* References looked up per query: few round trips, a small $in. */
#define BATCH		500
/* Dangling references shown per rule; the count says how many there are. */
#define EXAMPLES	3
/* Targets with more documents than this are queried in batches (tv_refcheck_file's keys_in_memory). */
static long max_keys;

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

/* A target's keys, each kept as the bytes of the document {"v": key}, sorted. */
struct keyset {
	char	*arena;
	size_t	 used, cap;
	size_t	*at;		/* offsets into arena */
	size_t	 n, ncap;
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
	struct keyset	*keys;		/* the target's keys, or NULL to query in batches */
	const bson_t	*owner;
	struct tv_mongo	*m;
	struct rule	*r;
	struct result	*res;
};

static void flush_batch(struct collecting *c);

static void
keyset_add(const bson_iter_t *it, void *arg)
{
	struct keyset *ks = arg;
	bson_t v;
	uint32_t len;

	bson_init(&v);
	bson_append_iter(&v, "v", 1, it);
	len = v.len;
	if (ks->used + sizeof(len) + len > ks->cap) {
		ks->cap = (ks->cap + sizeof(len) + len) * 2;
		if ((ks->arena = realloc(ks->arena, ks->cap)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	}
	if (ks->n == ks->ncap) {
		ks->ncap = ks->ncap ? 2 * ks->ncap : 1024;
		if ((ks->at = realloc(ks->at, ks->ncap * sizeof(*ks->at))) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	}
	ks->at[ks->n++] = ks->used;
	memcpy(ks->arena + ks->used, &len, sizeof(len));
	memcpy(ks->arena + ks->used + sizeof(len), bson_get_data(&v), len);
	ks->used += sizeof(len) + len;
	bson_destroy(&v);
}

/* Compares two keys stored as length, then bytes. */
static int
cmp_key_bytes(const char *a, const char *b)
{
	uint32_t la, lb;

	memcpy(&la, a, sizeof(la));
	memcpy(&lb, b, sizeof(lb));
	if (la != lb)
		return la < lb ? -1 : 1;
	return memcmp(a + sizeof(la), b + sizeof(lb), la);
}

static const char *sort_arena;	/* qsort has no context argument */

static int
cmp_key_offsets(const void *a, const void *b)
{
	return cmp_key_bytes(sort_arena + *(const size_t *)a, sort_arena + *(const size_t *)b);
}

/* Returns 1 if the key set holds the value. */
static int
keyset_has(const struct keyset *ks, const bson_iter_t *it)
{
	char probe[sizeof(uint32_t) + 256];
	size_t lo = 0, hi = ks->n;
	uint32_t len;
	bson_t v;
	int found = 0;

	bson_init(&v);
	bson_append_iter(&v, "v", 1, it);
	len = v.len;
	/* Keys are ids: a value too long to be one cannot be among them. */
	if (len <= sizeof(probe) - sizeof(len)) {
		memcpy(probe, &len, sizeof(len));
		memcpy(probe + sizeof(len), bson_get_data(&v), len);
		while (lo < hi && !found) {
			size_t mid = lo + (hi - lo) / 2;
			int c = cmp_key_bytes(ks->arena + ks->at[mid], probe);

			if (c == 0)
				found = 1;
			else if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	} else {
		for (size_t i = 0; i < ks->n && !found; i++) {
			uint32_t l;

			memcpy(&l, ks->arena + ks->at[i], sizeof(l));
			found = l == len && memcmp(ks->arena + ks->at[i] + sizeof(l), bson_get_data(&v), len) == 0;
		}
	}
	bson_destroy(&v);
	return found;
}

/* Reads every key of the rule's target into ks, sorted; returns 0, or -1 if it holds too many. */
static int
load_keys(struct tv_mongo *m, const struct rule *r, struct keyset *ks)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, r->target);
	bson_t *opts = BCON_NEW("projection", "{", r->key, BCON_INT32(1), "}");
	bson_t all = BSON_INITIALIZER;
	mongoc_cursor_t *cursor;
	const bson_t *doc;
	bson_error_t err;
	int64_t estimate = mongoc_collection_estimated_document_count(coll, NULL, NULL, NULL, &err);
	int status = -1;

	if (estimate >= 0 && estimate <= max_keys) {
		cursor = mongoc_collection_find_with_opts(coll, &all, opts, NULL);
		while (mongoc_cursor_next(cursor, &doc) && ks->n <= (size_t)max_keys) {
			bson_iter_t it;

			if (bson_iter_init(&it, doc))
				values_at(&it, r->key, keyset_add, ks);
		}
		if (mongoc_cursor_error(cursor, &err))
			tv_mongo_fatal(&err, "cannot read %s.%s", m->dbname, r->target);
		mongoc_cursor_destroy(cursor);
		if (ks->n <= (size_t)max_keys) {
			sort_arena = ks->arena;
			qsort(ks->at, ks->n, sizeof(*ks->at), cmp_key_offsets);
			status = 0;
		}
	}
	mongoc_collection_destroy(coll);
	bson_destroy(opts);
	return status;
}

/* Counts a dangling reference, keeping the first few as examples: the owner's _id and the value. */
static void
dangling(struct result *res, const bson_t *owner, const bson_iter_t *value)
{
	bson_t ex = BSON_INITIALIZER;
	bson_iter_t it;

	if (res->dangling++ >= EXAMPLES)
		return;
	if (bson_iter_init_find(&it, owner, "_id"))
		bson_append_iter(&ex, "_id", 3, &it);
	bson_append_iter(&ex, "value", 5, value);
	res->examples[res->dangling - 1] = bson_as_relaxed_extended_json(&ex, NULL);
	bson_destroy(&ex);
}

static void
add_value(const bson_iter_t *it, void *arg)
{
	struct collecting *c = arg;
	struct batch *b = c->b;
	bson_iter_t id;

	/* A missing or null reference is an optional one left empty, not a dangling one. */
	if (BSON_ITER_HOLDS_NULL(it) || bson_iter_type(it) == BSON_TYPE_UNDEFINED)
		return;
	c->res->checked++;
	if (c->keys != NULL) {
		if (!keyset_has(c->keys, it))
			dangling(c->res, c->owner, it);
		return;
	}
	b->v[b->n] = bson_new();
	bson_append_iter(b->v[b->n], "v", 1, it);
	b->owner[b->n] = bson_new();
	if (bson_iter_init_find(&id, c->owner, "_id"))
		bson_append_iter(b->owner[b->n], "_id", 3, &id);
	b->found[b->n] = 0;
	b->n++;
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
		bson_iter_t it;

		if (!b->found[i] && bson_iter_init_find(&it, b->v[i], "v"))
			dangling(c->res, b->owner[i], &it);
		bson_destroy(b->v[i]);
		bson_destroy(b->owner[i]);
	}
	b->n = 0;
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	bson_destroy(opts);
	bson_destroy(&filter);
}

/* One rule being checked: its key set or batch, and what it found. */
struct check {
	struct rule		 rule;
	struct result		 res;
	struct keyset		 keys;
	struct batch		*batch;
	struct collecting	 c;
};

/*
 * Checks every rule whose source is checks[0]'s, reading that collection once
 * (the stream is the slow part) with all their paths in the projection.
 */
static void
check_source(struct tv_mongo *m, struct check *checks, size_t n)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, checks[0].rule.source);
	bson_t all = BSON_INITIALIZER, opts = BSON_INITIALIZER, proj;
	mongoc_cursor_t *cursor;
	const bson_t *doc;
	bson_error_t err;

	BSON_APPEND_DOCUMENT_BEGIN(&opts, "projection", &proj);
	for (size_t i = 0; i < n; i++) {
		struct check *k = &checks[i];
		size_t top = strcspn(k->rule.path, "."), j;

		/* Top-level fields only, each once: nested paths of one field would collide. */
		for (j = 0; j < i; j++)
			if (strcspn(checks[j].rule.path, ".") == top && strncmp(checks[j].rule.path, k->rule.path, top) == 0)
				break;
		if (j == i)
			bson_append_int32(&proj, k->rule.path, (int)top, 1);
		if ((k->batch = calloc(1, sizeof(*k->batch))) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		k->c = (struct collecting){ k->batch, NULL, NULL, m, &k->rule, &k->res };
		if (load_keys(m, &k->rule, &k->keys) == 0)
			k->c.keys = &k->keys;
	}
	bson_append_document_end(&opts, &proj);
	cursor = mongoc_collection_find_with_opts(coll, &all, &opts, NULL);
	while (mongoc_cursor_next(cursor, &doc)) {
		for (size_t i = 0; i < n; i++) {
			bson_iter_t it;

			checks[i].c.owner = doc;
			if (bson_iter_init(&it, doc))
				values_at(&it, checks[i].rule.path, add_value, &checks[i].c);
		}
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot read %s.%s", m->dbname, checks[0].rule.source);
	for (size_t i = 0; i < n; i++) {
		flush_batch(&checks[i].c);
		free(checks[i].batch);
		free(checks[i].keys.arena);
		free(checks[i].keys.at);
	}
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	bson_destroy(&opts);
}

/* Prints a rule's JSON line and logs its outcome; returns 1 if a reference dangles. */
static int
report(struct check *k)
{
	printf("{\"rule\":\"%s\",\"checked\":%llu,\"dangling\":%llu,\"examples\":[", k->rule.text,
	    k->res.checked, k->res.dangling);
	for (int i = 0; i < EXAMPLES && k->res.examples[i] != NULL; i++) {
		printf("%s%s", i ? "," : "", k->res.examples[i]);
		bson_free(k->res.examples[i]);
	}
	puts("]}");
	if (k->res.dangling > 0)
		tv_error("%s: %llu of %llu references dangle", k->rule.text, k->res.dangling, k->res.checked);
	else
		tv_info("%s: %llu references, all resolve", k->rule.text, k->res.checked);
	return k->res.dangling > 0;
}

static int
by_source(const void *a, const void *b)
{
	const struct check *x = *(struct check *const *)a, *y = *(struct check *const *)b;

	return strcmp(x->rule.source, y->rule.source);
}

int
tv_refcheck_file(struct tv_mongo *m, const char *file, long keys_in_memory)
{
	FILE *f = fopen(file, "r");
	struct check *checks = NULL, **order, *group;
	char line[1024];
	struct rule r;
	size_t n = 0;
	int lineno = 0, bad = 0, rc;

	if (f == NULL) {
		tv_error("%s: %s", file, strerror(errno));
		return EX_NOINPUT;
	}
	max_keys = keys_in_memory;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if ((rc = parse_rule(line, &r)) < 0) {
			tv_error("%s:%d: not a rule (collection.field -> collection.field)", file, lineno);
			fclose(f);
			free(checks);
			return EX_USAGE;
		}
		if (rc == 0)
			continue;
		if ((checks = realloc(checks, (n + 1) * sizeof(*checks))) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		memset(&checks[n], 0, sizeof(checks[n]));
		checks[n++].rule = r;
	}
	fclose(f);
	/* Grouped by source (each group checked in one pass, in a contiguous copy), reported in file order. */
	if ((order = calloc(n + 1, sizeof(*order))) == NULL || (group = calloc(n + 1, sizeof(*group))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (size_t i = 0; i < n; i++)
		order[i] = &checks[i];
	qsort(order, n, sizeof(*order), by_source);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && strcmp(order[j]->rule.source, order[i]->rule.source) == 0; j++)
			group[j - i] = *order[j];
		check_source(m, group, j - i);
		for (size_t k = i; k < j; k++)
			order[k]->res = group[k - i].res;
	}
	for (size_t i = 0; i < n; i++)
		bad |= report(&checks[i]);
	free(group);
	free(order);
	free(checks);
	return bad ? EX_DATAERR : 0;
}

