/* catalog.c: recovery points, incomplete folders and oplog ranges, from a listing and the manifests. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "catalog.h"
#include "log.h"

#define MANIFEST	"manifest.json"
/* tv-pitr's record of where a new chain begins. */
#define CHAIN_START_SUFFIX	".start.json"

void
tv_catalog_init(struct tv_catalog *cat, const char *root)
{
	memset(cat, 0, sizeof(*cat));
	if ((cat->root = strdup(root)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
}

/* Grows an array of n elements of size by one, exiting when out of memory; returns the new element, zeroed. */
static void *
grow(void *arrayp, size_t *n, size_t size)
{
	void **array = arrayp;
	char *v;

	if ((v = reallocarray(*array, *n + 1, size)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	*array = v;
	memset(v + *n * size, 0, size);
	return v + (*n)++ * size;
}

/* Returns the folder named name (len bytes), adding it if new; listings come in name order, so look last first. */
static struct tv_folder *
folder_for(struct tv_catalog *cat, const char *name, size_t len, time_t when)
{
	struct tv_folder *f;

	for (size_t i = cat->nfolders; i-- > 0;)
		if (strncmp(cat->folders[i].name, name, len) == 0 && cat->folders[i].name[len] == '\0')
			return &cat->folders[i];
	f = grow(&cat->folders, &cat->nfolders, sizeof(*f));
	if ((f->name = strndup(name, len)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	f->when = when;
	return f;
}

/* Adds blob name to its folder if it is ROOT/FOLDER/BLOB; other names are not the catalogue's. */
static void
add_folder_blob(struct tv_catalog *cat, const char *name, unsigned long long size)
{
	size_t rlen = strlen(cat->root);
	const char *leaf, *slash;
	char folder[64];
	struct tv_folder *f;
	time_t when;

	if (strncmp(name, cat->root, rlen) != 0 || name[rlen] != '/')
		return;
	leaf = name + rlen + 1;
	/* A name deeper in the folder (tralivali_../x.bson.gz) is the folder's too: a forced restore
	 * must see it, and refuse it, rather than leave it out unsaid. */
	if ((slash = strchr(leaf, '/')) == NULL || slash[1] == '\0' || (size_t)(slash - name) >= sizeof(folder))
		return;
	memcpy(folder, name, (size_t)(slash - name));
	folder[slash - name] = '\0';
	if (!tv_folder_ok(folder, &when))
		return;
	f = folder_for(cat, folder, strlen(folder), when);
	*(char **)grow(&f->blobs, &f->nblobs, sizeof(char *)) = strdup(name);
	if (f->blobs[f->nblobs - 1] == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	f->bytes += size;
	if (strcmp(slash + 1, MANIFEST) == 0)
		f->has_manifest = 1;
}

/* Adds name if it is an oplog slice, break record or chain start: oplog/YYYY-MM-DD/{T.I}-{T.I}{suffix}. */
static void
add_oplog_blob(struct tv_catalog *cat, const char *name, unsigned long long size)
{
	const char *base = name + sizeof(TV_OPLOG_ROOT), *dash, *suffix;
	char pos[TV_OPPOS_LEN];
	struct tv_oppos from, to;
	struct tv_slice *s;

	if (strncmp(name, TV_OPLOG_ROOT "/", sizeof(TV_OPLOG_ROOT)) != 0 || strlen(base) < 12 || base[10] != '/')
		return;
	base += 11;
	/* The second position ends at its second dot: "1705287600.1-1705287660.4.bson.gz". */
	if ((dash = strchr(base, '-')) == NULL || (suffix = strchr(dash, '.')) == NULL ||
	    (suffix = strchr(suffix + 1, '.')) == NULL ||
	    (size_t)(dash - base) >= sizeof(pos) || (size_t)(suffix - dash - 1) >= sizeof(pos))
		return;
	snprintf(pos, sizeof(pos), "%.*s", (int)(dash - base), base);
	if (tv_oppos_parse(pos, &from) != 0)
		return;
	snprintf(pos, sizeof(pos), "%.*s", (int)(suffix - dash - 1), dash + 1);
	if (tv_oppos_parse(pos, &to) != 0)
		return;
	if (strcmp(suffix, TV_SLICE_SUFFIX) == 0 || strcmp(suffix, TV_SLICE_SUFFIX ".enc") == 0)
		s = grow(&cat->slices, &cat->nslices, sizeof(*s));
	else if (strcmp(suffix, TV_BREAK_SUFFIX) == 0)
		s = grow(&cat->breaks, &cat->nbreaks, sizeof(*s));
	else if (strcmp(suffix, CHAIN_START_SUFFIX) == 0)
		s = grow(&cat->starts, &cat->nstarts, sizeof(*s));
	else
		return;		/* a slice's index, or not ours */
	if ((s->name = strdup(name)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	s->from = from;
	s->to = to;
	s->size = size;
}

int
tv_catalog_read_listing(struct tv_catalog *cat, FILE *in, const char *inname)
{
	char *line = NULL, *tab, *end;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	unsigned long long size;

	while ((len = getline(&line, &cap, in)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		errno = 0;
		if ((tab = strchr(line, '\t')) == NULL || tab[1] < '0' || tab[1] > '9' ||
		    ((size = strtoull(tab + 1, &end, 10)), errno != 0) || *end != '\t') {
			tv_error("%s:%lu: not a tv-blob-ls line (name, tab, size, tab, time)", inname, lineno);
			free(line);
			return EX_DATAERR;
		}
		*tab = '\0';
		add_folder_blob(cat, line, size);
		add_oplog_blob(cat, line, size);
	}
	free(line);
	if (ferror(in)) {
		tv_error("%s: %s", inname, strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

/* Returns 1 if the listing showed blob name in folder f. */
static int
listed(const struct tv_folder *f, const char *name)
{
	for (size_t i = 0; i < f->nblobs; i++)
		if (strcmp(f->blobs[i], name) == 0)
			return 1;
	return 0;
}

/* Notes blob name as missing from f unless listed; returns 1 if it is missing. */
static int
note_missing(struct tv_folder *f, const char *name)
{
	if (name == NULL || listed(f, name))
		return 0;
	*(char **)grow(&f->missing, &f->nmissing, sizeof(char *)) = strdup(name);
	if (f->missing[f->nmissing - 1] == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	return 1;
}

/*
 * Collects in f->missing the blobs f's manifest names that the listing lacks (deleted by hand,
 * or by a lifecycle rule): such a point would restore nothing or fail half-way, so it is never
 * counted as one.  Returns how many are missing, and says so in f->reason.
 */
static size_t
count_missing(struct tv_folder *f)
{
	const struct tv_manifest *m = &f->manifest;
	size_t named = 0, len;

	for (size_t i = 0; i < m->ncollections; i++) {
		named += 1 + (m->collections[i].metadata_file != NULL);
		note_missing(f, m->collections[i].file);
		note_missing(f, m->collections[i].metadata_file);
	}
	named += m->oplog_file != NULL;
	note_missing(f, m->oplog_file);
	if (f->nmissing == 0)
		return 0;
	len = (size_t)snprintf(f->reason, sizeof(f->reason), "%zu of the %zu blobs its manifest names are missing:",
	    f->nmissing, named);
	for (size_t i = 0; i < f->nmissing && len < sizeof(f->reason); i++)
		len += (size_t)snprintf(f->reason + len, sizeof(f->reason) - len, " %s", f->missing[i]);
	return f->nmissing;
}

static int classify(struct tv_folder *f, const char *name, int rc, const char *err);

/* Reads folder f's manifest and classifies f; returns 0 or the exit code of a failed read. */
static int
load_manifest(struct tv_store *store, struct tv_folder *f)
{
	char name[80], err[TV_MANIFEST_ERR_MAX] = "";
	FILE *tmp;
	int rc;

	f->loaded = 1;
	if (!f->has_manifest) {
		f->state = TV_FOLDER_INCOMPLETE;
		snprintf(f->reason, sizeof(f->reason), "no %s", MANIFEST);
		return 0;
	}
	snprintf(name, sizeof(name), "%s/%s", f->name, MANIFEST);
	if ((tmp = tmpfile()) == NULL) {
		tv_error("temporary file: %s", strerror(errno));
		return EX_CANTCREAT;
	}
	rc = tv_store_get(store, name, fileno(tmp));
	if (rc == EX_NOINPUT) {
		/* Deleted since the listing: a prune deletes the manifest first. */
		fclose(tmp);
		f->state = TV_FOLDER_INCOMPLETE;
		snprintf(f->reason, sizeof(f->reason), "no %s", MANIFEST);
		return 0;
	}
	if (rc == 0 && lseek(fileno(tmp), 0, SEEK_SET) == -1)
		rc = EX_IOERR;
	if (rc == 0)
		rc = tv_manifest_read_file(fileno(tmp), name, f->name, &f->manifest, err);
	fclose(tmp);
	return classify(f, name, rc, err);
}

/* Classifies folder f by the outcome rc (err: why it is no valid manifest) of reading its manifest, name. */
static int
classify(struct tv_folder *f, const char *name, int rc, const char *err)
{
	f->loaded = 1;
	if (rc != 0) {
		f->state = TV_FOLDER_INVALID;
		f->status = rc;
		/* err is set only when the bytes were read and are not a valid manifest. */
		if (err[0] != '\0')
			snprintf(f->reason, sizeof(f->reason), "%s: not a valid manifest: %s", name, err);
		else
			snprintf(f->reason, sizeof(f->reason), "%s: cannot be read (exit %d)", name, rc);
		return rc;
	}
	if (strcmp(f->manifest.status, "Completed") == 0) {
		f->state = count_missing(f) > 0 ? TV_FOLDER_BROKEN : TV_FOLDER_POINT;
	} else {
		f->state = TV_FOLDER_FAILED;
		snprintf(f->reason, sizeof(f->reason), "the manifest says %s", f->manifest.status);
	}
	return 0;
}

int
tv_catalog_set_manifest(struct tv_folder *f, const char *json, size_t len)
{
	char name[80], err[TV_MANIFEST_ERR_MAX] = "";

	snprintf(name, sizeof(name), "%s/%s", f->name, MANIFEST);
	if (!f->has_manifest) {
		f->loaded = 1;
		f->state = TV_FOLDER_INCOMPLETE;
		snprintf(f->reason, sizeof(f->reason), "no %s", MANIFEST);
		return 0;
	}
	return classify(f, name, tv_manifest_parse(json, len, f->name, &f->manifest, err), err);
}

struct tv_folder *
tv_catalog_folder(struct tv_catalog *cat, const char *name)
{
	for (size_t i = 0; i < cat->nfolders; i++)
		if (strcmp(cat->folders[i].name, name) == 0)
			return &cat->folders[i];
	return NULL;
}

int
tv_catalog_load_manifest(struct tv_folder *f, struct tv_store *store)
{
	return f->loaded ? 0 : load_manifest(store, f);
}

static int
by_name_time(const void *a, const void *b)
{
	const struct tv_folder *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
tv_catalog_load_manifests(struct tv_catalog *cat, struct tv_store *store)
{
	int first = 0, rc;

	if (cat->nfolders > 0)
		qsort(cat->folders, cat->nfolders, sizeof(*cat->folders), by_name_time);
	for (size_t i = 0; i < cat->nfolders; i++)
		if (!cat->folders[i].loaded && (rc = load_manifest(store, &cat->folders[i])) != 0 && first == 0)
			first = rc;
	return first;
}

static int
by_position(const void *a, const void *b)
{
	const struct tv_slice *x = a, *y = b;
	int c = tv_oppos_cmp(&x->from, &y->from);

	return c ? c : tv_oppos_cmp(&x->to, &y->to);
}

/* Returns the record in v[n] (a break or a chain start) that lies between slices a and b, or NULL. */
static const struct tv_slice *
record_between(const struct tv_slice *v, size_t n, const struct tv_slice *a, const struct tv_slice *b)
{
	for (size_t i = 0; i < n; i++)
		if (tv_oppos_cmp(&v[i].from, &a->to) >= 0 && tv_oppos_cmp(&v[i].from, &b->from) <= 0)
			return &v[i];
	return NULL;
}

/* Returns 1 if a chain start lies at slice s's first position or inside it. */
static int
start_in(const struct tv_catalog *cat, const struct tv_slice *s)
{
	for (size_t i = 0; i < cat->nstarts; i++)
		if (tv_oppos_cmp(&cat->starts[i].from, &s->from) >= 0 && tv_oppos_cmp(&cat->starts[i].from, &s->to) < 0)
			return 1;
	return 0;
}

int
tv_catalog_chain(struct tv_catalog *cat)
{
	struct tv_range *r = NULL;
	const struct tv_slice *prev, *rec;

	if (cat->nslices > 0)
		qsort(cat->slices, cat->nslices, sizeof(*cat->slices), by_position);
	if (cat->nbreaks > 0)
		qsort(cat->breaks, cat->nbreaks, sizeof(*cat->breaks), by_position);
	if (cat->nstarts > 0)
		qsort(cat->starts, cat->nstarts, sizeof(*cat->starts), by_position);
	for (size_t i = 0; i < cat->nslices; i++) {
		const struct tv_slice *s = &cat->slices[i];
		int c;

		if (tv_oppos_cmp(&s->from, &s->to) > 0) {
			tv_error("%s: its first position is after its last", s->name);
			cat->chain_status = EX_DATAERR;
		}
		prev = i > 0 ? &cat->slices[i - 1] : NULL;
		if (prev != NULL && (c = tv_oppos_cmp(&s->from, &prev->to)) != 0) {
			if (c < 0) {
				tv_error("oplog slices %s and %s overlap", prev->name, s->name);
				cat->chain_status = EX_DATAERR;
			} else if ((rec = record_between(cat->breaks, cat->nbreaks, prev, s)) != NULL ||
			    (rec = record_between(cat->starts, cat->nstarts, prev, s)) != NULL)
				tv_debug("the oplog chain ends at %s (%s)", prev->name, rec->name);
			else {
				tv_error("hole in the oplog chain between %s and %s: no slice, break or chain start "
				    "covers it", prev->name, s->name);
				cat->chain_status = EX_DATAERR;
			}
			r = NULL;
		}
		/* A chain start inside a continuous run (tv-recover's, after it replaced the live data)
		 * ends the range: the entries before it cannot be replayed across it. */
		if (prev != NULL && r != NULL && start_in(cat, s))
			r = NULL;
		if (r == NULL) {
			r = grow(&cat->ranges, &cat->nranges, sizeof(*r));
			r->first = i;
		}
		r->last = i;
	}
	return cat->chain_status;
}

/* Orders recovery points by createdAt, then folder. */
static int
by_created(const void *a, const void *b)
{
	const struct tv_folder *x = *(const struct tv_folder *const *)a, *y = *(const struct tv_folder *const *)b;

	if (x->manifest.created != y->manifest.created)
		return x->manifest.created < y->manifest.created ? -1 : 1;
	return strcmp(x->name, y->name);
}

size_t
tv_catalog_points(const struct tv_catalog *cat, const struct tv_folder **points)
{
	size_t n = 0;

	for (size_t i = 0; i < cat->nfolders; i++)
		if (cat->folders[i].state == TV_FOLDER_POINT)
			points[n++] = &cat->folders[i];
	if (n > 0)
		qsort(points, n, sizeof(*points), by_created);
	return n;
}

static const char *
state_name(enum tv_folder_state s)
{
	switch (s) {
	case TV_FOLDER_INCOMPLETE:
		return "incomplete";
	case TV_FOLDER_FAILED:
		return "failed";
	case TV_FOLDER_INVALID:
		return "invalid";
	case TV_FOLDER_BROKEN:
		return "broken";
	case TV_FOLDER_POINT:
		break;
	}
	return "point";
}

/* Appends position p as "T.I" under key, and its time as ISO-8601 under iso_key. */
static void
append_position(bson_t *doc, const char *iso_key, const char *key, const struct tv_oppos *p)
{
	char buf[TV_OPPOS_LEN > TV_ISO_LEN ? TV_OPPOS_LEN : TV_ISO_LEN];

	BSON_APPEND_UTF8(doc, iso_key, tv_oppos_iso(p, buf));
	BSON_APPEND_UTF8(doc, key, tv_oppos_format(p, buf));
}

/* Appends slice s under key as {name, from, fromPosition, to, toPosition[, size]}. */
static void
append_slice(bson_t *parent, const char *key, const struct tv_slice *s, int with_size)
{
	bson_t e;

	BSON_APPEND_DOCUMENT_BEGIN(parent, key, &e);
	BSON_APPEND_UTF8(&e, "name", s->name);
	append_position(&e, "from", "fromPosition", &s->from);
	append_position(&e, "to", "toPosition", &s->to);
	if (with_size)
		BSON_APPEND_INT64(&e, "size", (int64_t)s->size);
	bson_append_document_end(parent, &e);
}

/* Appends n slices as an array under key. */
static void
append_slices(bson_t *parent, const char *key, const struct tv_slice *v, size_t n, int with_size)
{
	char idx[16];
	const char *k;
	bson_t arr;

	BSON_APPEND_ARRAY_BEGIN(parent, key, &arr);
	for (size_t i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &k, idx, sizeof(idx));
		append_slice(&arr, k, &v[i], with_size);
	}
	bson_append_array_end(parent, &arr);
}

static void
append_points(const struct tv_catalog *cat, bson_t *doc)
{
	const struct tv_folder **points;
	size_t n;
	char key[16];
	const char *k;
	bson_t arr, e;

	if ((points = calloc(cat->nfolders + 1, sizeof(*points))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	n = tv_catalog_points(cat, points);
	BSON_APPEND_ARRAY_BEGIN(doc, "backups", &arr);
	for (size_t i = 0; i < n; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &e);
		tv_manifest_append(&points[i]->manifest, &e);
		bson_append_document_end(&arr, &e);
	}
	bson_append_array_end(doc, &arr);
	free(points);
}

/* Appends what a broken point still says of itself (id, createdAt) and the blobs it lacks. */
static void
append_broken(const struct tv_folder *f, bson_t *e)
{
	char key[16];
	const char *k;
	bson_t arr;

	BSON_APPEND_UTF8(e, "id", f->manifest.id);
	BSON_APPEND_UTF8(e, "createdAt", f->manifest.created_at);
	BSON_APPEND_ARRAY_BEGIN(e, "missing", &arr);
	for (size_t i = 0; i < f->nmissing; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_UTF8(&arr, k, f->missing[i]);
	}
	bson_append_array_end(e, &arr);
}

static void
append_incomplete(const struct tv_catalog *cat, bson_t *doc)
{
	char key[16], when[32], folder[80];
	const char *k;
	bson_t arr, e;
	uint32_t n = 0;

	BSON_APPEND_ARRAY_BEGIN(doc, "incomplete", &arr);
	for (size_t i = 0; i < cat->nfolders; i++) {
		const struct tv_folder *f = &cat->folders[i];

		if (f->state == TV_FOLDER_POINT)
			continue;
		bson_uint32_to_string(n++, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &e);
		snprintf(folder, sizeof(folder), "%s/", f->name);
		BSON_APPEND_UTF8(&e, "folder", folder);
		tv_iso_format(f->when, when, sizeof(when));
		BSON_APPEND_UTF8(&e, "time", when);
		BSON_APPEND_UTF8(&e, "state", state_name(f->state));
		BSON_APPEND_UTF8(&e, "reason", f->reason);
		BSON_APPEND_INT64(&e, "blobs", (int64_t)f->nblobs);
		BSON_APPEND_INT64(&e, "size", (int64_t)f->bytes);
		if (f->state == TV_FOLDER_BROKEN)
			append_broken(f, &e);
		bson_append_document_end(&arr, &e);
	}
	bson_append_array_end(doc, &arr);
}

static void
append_ranges(const struct tv_catalog *cat, bson_t *doc)
{
	char key[16];
	const char *k;
	bson_t arr, e;

	BSON_APPEND_ARRAY_BEGIN(doc, "pitr", &arr);
	for (size_t i = 0; i < cat->nranges; i++) {
		const struct tv_range *r = &cat->ranges[i];

		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &e);
		append_position(&e, "from", "fromPosition", &cat->slices[r->first].from);
		append_position(&e, "to", "toPosition", &cat->slices[r->last].to);
		BSON_APPEND_INT64(&e, "slices", (int64_t)(r->last - r->first + 1));
		bson_append_document_end(&arr, &e);
	}
	bson_append_array_end(doc, &arr);
}

static void
append_oplog(const struct tv_catalog *cat, bson_t *doc, int all_slices)
{
	bson_t o;

	BSON_APPEND_DOCUMENT_BEGIN(doc, "oplog", &o);
	BSON_APPEND_INT64(&o, "slices", (int64_t)cat->nslices);
	if (cat->nslices > 0)
		append_slice(&o, "newest", &cat->slices[cat->nslices - 1], 1);
	append_slices(&o, "breaks", cat->breaks, cat->nbreaks, 0);
	if (all_slices)
		append_slices(&o, "all", cat->slices, cat->nslices, 1);
	BSON_APPEND_BOOL(&o, "chainOk", cat->chain_status == 0);
	bson_append_document_end(doc, &o);
}

void
tv_catalog_append(const struct tv_catalog *cat, bson_t *doc, int all_slices)
{
	append_points(cat, doc);
	append_incomplete(cat, doc);
	append_ranges(cat, doc);
	append_oplog(cat, doc, all_slices);
}

void
tv_catalog_free(struct tv_catalog *cat)
{
	for (size_t i = 0; i < cat->nfolders; i++) {
		for (size_t j = 0; j < cat->folders[i].nblobs; j++)
			free(cat->folders[i].blobs[j]);
		free(cat->folders[i].blobs);
		for (size_t j = 0; j < cat->folders[i].nmissing; j++)
			free(cat->folders[i].missing[j]);
		free(cat->folders[i].missing);
		free(cat->folders[i].name);
		tv_manifest_free(&cat->folders[i].manifest);
	}
	for (size_t i = 0; i < cat->nslices; i++)
		free(cat->slices[i].name);
	for (size_t i = 0; i < cat->nbreaks; i++)
		free(cat->breaks[i].name);
	for (size_t i = 0; i < cat->nstarts; i++)
		free(cat->starts[i].name);
	free(cat->starts);
	free(cat->folders);
	free(cat->slices);
	free(cat->breaks);
	free(cat->ranges);
	free(cat->root);
	memset(cat, 0, sizeof(*cat));
}
