/* copyplan.c: what a second store lacks of the first, in the order that keeps the copy a whole store. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "copyplan.h"
#include "log.h"
#include "manifest.h"
#include "oplog.h"

#define MANIFEST	"manifest.json"
/* The manifest's MAC, which tv-backup stores before the manifest when blobs are encrypted (tv_manifest_mac_name). */
#define MANIFEST_MAC	"manifest.json.mac"

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
tv_names_read(struct tv_names *names, FILE *in, const char *inname)
{
	char *line = NULL, *tab, *end;
	size_t cap = 0, room = 0;
	ssize_t len;
	unsigned long lineno = 0;

	memset(names, 0, sizeof(*names));
	while ((len = getline(&line, &cap, in)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		errno = 0;
		if ((tab = strchr(line, '\t')) == NULL || tab[1] < '0' || tab[1] > '9') {
			tv_error("%s:%lu: not a tv-blob-ls line (name, tab, size, tab, time)", inname, lineno);
			free(line);
			return EX_DATAERR;
		}
		*tab = '\0';
		if (names->n == room) {
			room = room ? room * 2 : 256;
			if ((names->names = reallocarray(names->names, room, sizeof(char *))) == NULL ||
			    (names->sizes = reallocarray(names->sizes, room, sizeof(*names->sizes))) == NULL)
				tv_fatal(EX_OSERR, "out of memory");
		}
		if ((names->names[names->n] = strdup(line)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		names->sizes[names->n++] = strtoull(tab + 1, &end, 10);
	}
	free(line);
	if (ferror(in)) {
		tv_error("%s: %s", inname, strerror(errno));
		return EX_IOERR;
	}
	/* tv-blob-ls lists in name order already; sizes follow their names only if nothing moves. */
	for (size_t i = 1; i < names->n; i++)
		if (strcmp(names->names[i - 1], names->names[i]) >= 0) {
			tv_error("%s: not in name order at %s", inname, names->names[i]);
			return EX_DATAERR;
		}
	return 0;
}

/* Returns the index of name in names, or -1. */
static long
find(const struct tv_names *names, const char *name)
{
	char **hit;

	if (names->n == 0)
		return -1;
	hit = bsearch(&name, names->names, names->n, sizeof(char *), by_name);
	return hit ? hit - names->names : -1;
}

int
tv_names_has(const struct tv_names *names, const char *name)
{
	return find(names, name) >= 0;
}

void
tv_names_free(struct tv_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->names[i]);
	free(names->names);
	free(names->sizes);
	memset(names, 0, sizeof(*names));
}

/* Returns the name of folder f's manifest in buf. */
static const char *
manifest_name(const struct tv_folder *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", f->name, MANIFEST);
	return buf;
}

int
tv_copy_plan_load(struct tv_catalog *primary, const struct tv_names *copy, struct tv_store *store)
{
	char name[96];
	int first = 0, rc;

	for (size_t i = 0; i < primary->nfolders; i++) {
		struct tv_folder *f = &primary->folders[i];

		if (!f->has_manifest || tv_names_has(copy, manifest_name(f, name, sizeof(name))))
			continue;
		if ((rc = tv_catalog_load_manifest(f, store)) != 0 && first == 0)
			first = rc;
	}
	return first;
}

/*
 * Adds name to the plan if the copy lacks it, or holds it and sha256 (or NULL) says what it must
 * hold: before a point's manifest goes to the copy, each of its blobs there is proved to be the
 * one the manifest names (tv-blob-put --sha256 checks a blob it finds without reading it again).
 * Its size is the primary listing's.
 */
static struct tv_copy_item *
add(struct tv_copy_plan *plan, const struct tv_names *primary, const struct tv_names *copy, const char *name,
    const char *sha256)
{
	struct tv_copy_item *it;
	long i;

	if (name == NULL || (tv_names_has(copy, name) && sha256 == NULL) || (i = find(primary, name)) < 0)
		return NULL;
	if ((plan->items = reallocarray(plan->items, plan->nitems + 1, sizeof(*plan->items))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	it = &plan->items[plan->nitems++];
	memset(it, 0, sizeof(*it));
	if ((it->name = strdup(name)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	it->size = primary->sizes[i];
	snprintf(it->sha256, sizeof(it->sha256), "%s", sha256 ? sha256 : "");
	plan->bytes += it->size;
	return it;
}

static int
by_created(const void *a, const void *b)
{
	const struct tv_copy_point *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->folder, y->folder);
}

/* Plans the recovery points whose manifest the copy lacks: each one's blobs, then its manifest. */
static void
plan_points(const struct tv_catalog *primary, const struct tv_names *names, const struct tv_names *copy,
    struct tv_copy_plan *plan)
{
	char name[96];

	for (size_t i = 0; i < primary->nfolders; i++) {
		const struct tv_folder *f = &primary->folders[i];

		if (f->state != TV_FOLDER_POINT || tv_names_has(copy, manifest_name(f, name, sizeof(name))))
			continue;
		if ((plan->points = reallocarray(plan->points, plan->npoints + 1, sizeof(*plan->points))) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		plan->points[plan->npoints++] = (struct tv_copy_point){ f->name, f->manifest.created };
	}
	if (plan->npoints > 0)
		qsort(plan->points, plan->npoints, sizeof(*plan->points), by_created);
	for (size_t p = 0; p < plan->npoints; p++) {
		const struct tv_folder *f = NULL;

		for (size_t i = 0; f == NULL && i < primary->nfolders; i++)
			if (primary->folders[i].name == plan->points[p].folder)
				f = &primary->folders[i];
		for (size_t c = 0; c < f->manifest.ncollections; c++) {
			const struct tv_manifest_collection *mc = &f->manifest.collections[c];

			add(plan, names, copy, mc->file, mc->sha256);
			add(plan, names, copy, mc->metadata_file, mc->metadata_sha256[0] ? mc->metadata_sha256 : NULL);
		}
		add(plan, names, copy, f->manifest.oplog_file,
		    f->manifest.oplog_sha256[0] ? f->manifest.oplog_sha256 : NULL);
		/* Without its MAC the copy of an encrypted point would read as unbound: it goes first. */
		snprintf(name, sizeof(name), "%s/%s", f->name, MANIFEST_MAC);
		add(plan, names, copy, name, NULL);
		add(plan, names, copy, manifest_name(f, name, sizeof(name)), NULL);
	}
}

/* An oplog blob in position order: a chain start or break record goes before a slice from the same position. */
struct oplog_blob {
	const struct tv_slice	*s;
	int			 is_slice;
};

static int
by_position(const void *a, const void *b)
{
	const struct oplog_blob *x = a, *y = b;
	int c = tv_oppos_cmp(&x->s->from, &y->s->from);

	if (c != 0)
		return c;
	if (x->is_slice != y->is_slice)
		return x->is_slice - y->is_slice;
	return strcmp(x->s->name, y->s->name);
}

/* Writes the name of slice s's index into buf: its name with .json for .bson.gz[.enc]. */
static const char *
index_name(const struct tv_slice *s, char *buf, size_t len)
{
	const char *suffix = strstr(s->name, TV_SLICE_SUFFIX);

	snprintf(buf, len, "%.*s%s", (int)(suffix - s->name), s->name, TV_SLICE_INDEX_SUFFIX);
	return buf;
}

/* Plans the oplog blobs the copy lacks, in position order, each slice before its index. */
static void
plan_oplog(const struct tv_catalog *primary, const struct tv_names *names, const struct tv_names *copy,
    struct tv_copy_plan *plan)
{
	size_t n = primary->nslices + primary->nbreaks + primary->nstarts, k = 0;
	struct oplog_blob *v;
	char index[160];

	if (n == 0)
		return;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (size_t i = 0; i < primary->nslices; i++)
		v[k++] = (struct oplog_blob){ &primary->slices[i], 1 };
	for (size_t i = 0; i < primary->nbreaks; i++)
		v[k++] = (struct oplog_blob){ &primary->breaks[i], 0 };
	for (size_t i = 0; i < primary->nstarts; i++)
		v[k++] = (struct oplog_blob){ &primary->starts[i], 0 };
	qsort(v, n, sizeof(*v), by_position);
	for (size_t i = 0; i < n; i++) {
		struct tv_copy_item *it;
		int indexed;

		if (!v[i].is_slice) {
			add(plan, names, copy, v[i].s->name, NULL);
			continue;
		}
		indexed = tv_names_has(names, index_name(v[i].s, index, sizeof(index)));
		if (!tv_names_has(copy, v[i].s->name)) {
			/* The newest slice without its index may be one tv-pitr is storing right now. */
			if (!indexed && i == n - 1) {
				plan->waiting++;
				continue;
			}
			if ((it = add(plan, names, copy, v[i].s->name, NULL)) != NULL) {
				if (indexed && (it->index = strdup(index)) == NULL)
					tv_fatal(EX_OSERR, "out of memory");
				plan->nslices++;
				if (plan->oldest_slice == NULL)
					plan->oldest_slice = v[i].s;
				plan->newest_slice = v[i].s;
			}
		}
		if (indexed)
			add(plan, names, copy, index, NULL);
	}
	free(v);
}

void
tv_copy_plan_build(const struct tv_catalog *primary, const struct tv_names *primary_names,
    const struct tv_names *copy, struct tv_copy_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan_points(primary, primary_names, copy, plan);
	plan_oplog(primary, primary_names, copy, plan);
}

/* Reads the SHA-256 that slice index name records for slice slice into sha256; returns 0, 65 or the store's code. */
static int
index_sha256(struct tv_store *store, const char *name, const char *slice, char sha256[65])
{
	bson_error_t error;
	bson_iter_t it;
	bson_t *doc = NULL;
	char buf[4096];
	const char *v;
	FILE *tmp;
	size_t n;
	int rc;

	if ((tmp = tmpfile()) == NULL) {
		tv_error("temporary file: %s", strerror(errno));
		return EX_CANTCREAT;
	}
	if ((rc = tv_store_get(store, name, fileno(tmp))) == 0) {
		rewind(tmp);
		n = fread(buf, 1, sizeof(buf) - 1, tmp);
		doc = n > 0 ? bson_new_from_json((const uint8_t *)buf, (ssize_t)n, &error) : NULL;
		rc = EX_DATAERR;
		if (doc != NULL && bson_iter_init_find(&it, doc, "slice") && BSON_ITER_HOLDS_UTF8(&it) &&
		    strcmp(bson_iter_utf8(&it, NULL), slice) == 0 && bson_iter_init_find(&it, doc, "sha256") &&
		    BSON_ITER_HOLDS_UTF8(&it) && strlen(v = bson_iter_utf8(&it, NULL)) == 64 &&
		    strspn(v, "0123456789abcdef") == 64) {
			memcpy(sha256, v, 65);
			rc = 0;
		} else
			tv_error("%s: not the index of %s (no slice of that name, or no sha256 of 64 hex digits)",
			    name, slice);
		bson_destroy(doc);
	}
	fclose(tmp);
	return rc;
}

int
tv_copy_plan_checksums(struct tv_copy_plan *plan, struct tv_store *store)
{
	int rc;

	for (size_t i = 0; i < plan->nitems; i++) {
		if (plan->items[i].index == NULL ||
		    (rc = index_sha256(store, plan->items[i].index, plan->items[i].name, plan->items[i].sha256)) == 0)
			continue;
		/* The oplog comes last and in order: copying past a slice left out would leave a hole in the copy. */
		tv_error("the oplog is copied up to %s only", plan->items[i].name);
		for (size_t j = i; j < plan->nitems; j++) {
			free(plan->items[j].name);
			free(plan->items[j].index);
		}
		plan->nitems = i;
		return rc;
	}
	return 0;
}

/* Appends slice s as {name, time} under key, or null. */
static void
append_slice(bson_t *doc, const char *key, const struct tv_slice *s)
{
	char iso[TV_ISO_LEN];
	bson_t e;

	if (s == NULL) {
		bson_append_null(doc, key, -1);
		return;
	}
	bson_append_document_begin(doc, key, -1, &e);
	BSON_APPEND_UTF8(&e, "name", s->name);
	BSON_APPEND_UTF8(&e, "time", tv_oppos_iso(&s->to, iso));
	bson_append_document_end(doc, &e);
}

void
tv_copy_plan_append(const struct tv_copy_plan *plan, bson_t *doc)
{
	char key[16], iso[TV_ISO_LEN];
	const char *k;
	bson_t list, e;

	bson_append_array_begin(doc, "points", -1, &list);
	for (size_t i = 0; i < plan->npoints; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		bson_append_document_begin(&list, k, -1, &e);
		BSON_APPEND_UTF8(&e, "folder", plan->points[i].folder);
		tv_iso_format(plan->points[i].created, iso, sizeof(iso));
		BSON_APPEND_UTF8(&e, "createdAt", iso);
		bson_append_document_end(&list, &e);
	}
	bson_append_array_end(doc, &list);
	BSON_APPEND_INT64(doc, "slices", (int64_t)plan->nslices);
	append_slice(doc, "oldestSlice", plan->oldest_slice);
	append_slice(doc, "newestSlice", plan->newest_slice);
	BSON_APPEND_INT64(doc, "waiting", (int64_t)plan->waiting);
	BSON_APPEND_INT64(doc, "bytes", (int64_t)plan->bytes);
	bson_append_array_begin(doc, "blobs", -1, &list);
	for (size_t i = 0; i < plan->nitems; i++) {
		const struct tv_copy_item *it = &plan->items[i];

		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		bson_append_document_begin(&list, k, -1, &e);
		BSON_APPEND_UTF8(&e, "name", it->name);
		BSON_APPEND_INT64(&e, "size", (int64_t)it->size);
		if (it->sha256[0] != '\0')
			BSON_APPEND_UTF8(&e, "sha256", it->sha256);
		else
			BSON_APPEND_NULL(&e, "sha256");
		bson_append_document_end(&list, &e);
	}
	bson_append_array_end(doc, &list);
}

void
tv_copy_plan_free(struct tv_copy_plan *plan)
{
	for (size_t i = 0; i < plan->nitems; i++) {
		free(plan->items[i].name);
		free(plan->items[i].index);
	}
	free(plan->items);
	free(plan->points);
	memset(plan, 0, sizeof(*plan));
}

/* Reads the whole of in into memory (*buf, which the caller frees), so that it can be read twice. */
static FILE *
slurp(FILE *in, char **buf)
{
	char chunk[65536];
	size_t len = 0, n;
	FILE *mem;

	*buf = NULL;
	if ((mem = open_memstream(buf, &len)) == NULL)
		tv_fatal_errno(EX_OSERR, "memory stream");
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		if (fwrite(chunk, 1, n, mem) != n)
			tv_fatal_errno(EX_OSERR, "memory stream");
	if (ferror(in))
		tv_fatal_errno(EX_IOERR, "reading the listing");
	fclose(mem);
	/* fmemopen refuses an empty buffer: an empty listing reads as /dev/null does. */
	return len > 0 ? fmemopen(*buf, len, "r") : fopen("/dev/null", "r");
}

int
tv_copy_plan_make(FILE *primary, const char *copy_path, bson_t *doc)
{
	struct tv_names primary_names = { 0 }, copy_names;
	struct tv_copy_plan plan;
	struct tv_catalog cat;
	struct tv_store *store;
	char *buf;
	FILE *in;
	int status, rc;

	if ((in = fopen(copy_path, "r")) == NULL) {
		tv_error("%s: %s", copy_path, strerror(errno));
		return EX_NOINPUT;
	}
	status = tv_names_read(&copy_names, in, copy_path);
	fclose(in);
	if (status != 0)
		return status;
	if ((in = slurp(primary, &buf)) == NULL)
		tv_fatal_errno(EX_OSERR, "memory stream");
	tv_catalog_init(&cat, "backups");
	if ((status = tv_names_read(&primary_names, in, "stdin")) == 0) {
		rewind(in);
		status = tv_catalog_read_listing(&cat, in, "stdin");
	}
	fclose(in);
	free(buf);
	if (status == 0) {
		/* Reading the primary is the restore role's business. */
		store = tv_store_open_role(TV_ROLE_RESTORE);
		/* A point whose manifest cannot be read is not copied, and the plan still goes on. */
		status = tv_copy_plan_load(&cat, &copy_names, store);
		for (size_t i = 0; i < cat.nfolders; i++)
			if (cat.folders[i].state == TV_FOLDER_INVALID)
				tv_error("%s; not copied", cat.folders[i].reason);
		tv_copy_plan_build(&cat, &primary_names, &copy_names, &plan);
		if ((rc = tv_copy_plan_checksums(&plan, store)) != 0 && status == 0)
			status = rc;
		tv_store_close(store);
		tv_copy_plan_append(&plan, doc);
		tv_copy_plan_free(&plan);
	}
	tv_catalog_free(&cat);
	tv_names_free(&primary_names);
	tv_names_free(&copy_names);
	return status;
}
