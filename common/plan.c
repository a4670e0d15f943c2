/* plan.c: what a restore loads and replays; see plan.h. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "log.h"
#include "plan.h"

/* Appends printf-style text to buf (size bytes, len used); returns the new length, capped. */
static size_t __attribute__((format(printf, 4, 5)))
append_text(char *buf, size_t size, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (len >= size)
		return len;
	va_start(ap, fmt);
	n = vsnprintf(buf + len, size - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return len;
	return len + (size_t)n < size ? len + (size_t)n : size - 1;
}

/* Writes second t as ISO-8601 UTC into buf (TV_ISO_LEN bytes) and returns it. */
static const char *
iso(uint32_t t, char buf[TV_ISO_LEN])
{
	tv_iso_format((time_t)t, buf, TV_ISO_LEN);
	return buf;
}

/* The position a point restores on its own: the end of its consistency oplog, else its creation second. */
static struct tv_oppos
point_position(const struct tv_folder *f)
{
	struct tv_oppos p = { (uint32_t)f->manifest.created, 0 };

	if (f->manifest.snapshot == TV_SNAPSHOT_CONSISTENT)
		p = f->manifest.consistent_end;
	return p;
}

/* Returns the first continuous oplog range that holds position from and reaches to, or NULL. */
static const struct tv_range *
range_holding(const struct tv_catalog *cat, const struct tv_oppos *from, const struct tv_oppos *to)
{
	for (size_t i = 0; i < cat->nranges; i++) {
		const struct tv_range *r = &cat->ranges[i];

		if (tv_oppos_cmp(&cat->slices[r->first].from, from) <= 0 && tv_oppos_cmp(&cat->slices[r->last].to, to) >= 0)
			return r;
	}
	return NULL;
}

/* The recovery points, oldest createdAt first; *n their number.  The caller frees the array. */
static const struct tv_folder **
points_of(const struct tv_catalog *cat, size_t *n)
{
	const struct tv_folder **v;

	if ((v = calloc(cat->nfolders + 1, sizeof(*v))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	*n = tv_catalog_points(cat, v);
	return v;
}

/* The folder's name for tv-recover's argument: the date or DATE'T'TIME'Z' of a backups/ folder. */
static const char *
short_name(const char *folder)
{
	return strncmp(folder, "backups/", 8) == 0 ? folder + 8 : folder;
}

/*
 * Appends what --at can restore exactly (from a consistent point's end to the end of the range it
 * lies in; a point without an oplog position, its own second) and, for target until, the nearest
 * earlier reachable second, each with the command that restores it.
 */
static size_t
append_reachable(const struct tv_catalog *cat, const struct tv_oppos *until, char *buf, size_t size, size_t len)
{
	const struct tv_folder **pts;
	const char *near_folder = NULL;
	char a[TV_ISO_LEN], b[TV_ISO_LEN];
	uint32_t near = 0;
	int found = 0, near_at = 0;
	size_t n;

	pts = points_of(cat, &n);
	len = append_text(buf, size, len, "Reachable: ");
	if (n == 0)
		len = append_text(buf, size, len, "nothing (no complete recovery point)");
	for (size_t i = 0; i < n; i++) {
		struct tv_oppos from = point_position(pts[i]), to = from;
		const struct tv_range *r = NULL;
		uint32_t s;

		if (pts[i]->manifest.snapshot == TV_SNAPSHOT_CONSISTENT && (r = range_holding(cat, &from, &from)) != NULL)
			to = cat->slices[r->last].to;
		if (r != NULL)
			len = append_text(buf, size, len, "%s%s to %s (tv-recover --at SECOND)", i ? "; " : "",
			    iso(from.t, a), iso(to.t, b));
		else
			len = append_text(buf, size, len, "%s%s (tv-recover %s)", i ? "; " : "", iso(from.t, a), pts[i]->name);
		if (from.t > until->t)
			continue;
		/* The latest second wins; on a tie, a second of a range (--at) over a point's own. */
		s = r != NULL ? (to.t < until->t ? to.t : until->t) : from.t;
		if (!found || s > near || (s == near && (r != NULL || !near_at))) {
			found = 1;
			near = s;
			near_at = r != NULL;
			near_folder = pts[i]->name;
		}
	}
	len = append_text(buf, size, len, ". ");
	if (!found)
		len = append_text(buf, size, len, "Nothing is reachable before it.");
	else if (near_at)
		len = append_text(buf, size, len, "The nearest earlier: %s: tv-recover --at %s", iso(near, a), iso(near, b));
	else
		len = append_text(buf, size, len, "The nearest earlier: %s: tv-recover %s", iso(near, a), near_folder);
	free(pts);
	return len;
}

/* Appends the recovery points nearest to folder (two before it, two after), each with its command. */
static size_t
append_nearest(const struct tv_catalog *cat, const char *folder, char *buf, size_t size, size_t len)
{
	const struct tv_folder **pts;
	size_t n, first, last, shown = 0;

	pts = points_of(cat, &n);
	/* By name, as the operator typed one: the two names before folder's and the two after. */
	for (first = 0; first < n && strcmp(pts[first]->name, folder) < 0; first++)
		;
	last = first;
	while (last < n && strcmp(pts[last]->name, folder) == 0)
		last++;
	first = first >= 2 ? first - 2 : 0;
	last = last + 2 <= n ? last + 2 : n;
	for (size_t i = first; i < last; i++) {
		if (strcmp(pts[i]->name, folder) == 0)
			continue;
		len = append_text(buf, size, len, "%s%s (tv-recover %s)", shown++ ? ", " : "The nearest recovery points: ",
		    pts[i]->name, short_name(pts[i]->name));
	}
	len = append_text(buf, size, len, shown ? "." : "There is no complete recovery point in the store.");
	free(pts);
	return len;
}

/* Refuses the plan with status and the reason fmt; returns status. */
static int __attribute__((format(printf, 3, 4)))
refuse(struct tv_plan *p, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	p->refused = status;
	return status;
}

/* Adds the nearest points to a refusal; returns its status. */
static int
refuse_nearest(const struct tv_catalog *cat, struct tv_plan *p, const char *folder)
{
	size_t len = strlen(p->reason);

	len = append_text(p->reason, sizeof(p->reason), len, " ");
	append_nearest(cat, folder, p->reason, sizeof(p->reason), len);
	return p->refused;
}

/* Adds what --at can reach to a refusal; returns its status. */
static int
refuse_reachable(const struct tv_catalog *cat, struct tv_plan *p, const struct tv_oppos *until)
{
	size_t len = strlen(p->reason);

	len = append_text(p->reason, sizeof(p->reason), len, " ");
	append_reachable(cat, until, p->reason, sizeof(p->reason), len);
	return p->refused;
}

/*
 * Returns the collection of dump blob name in folder ({folder}/tralivali_NAME.bson.gz, .enc
 * after it when encrypted) and sets *enc, or NULL if name is no dump.
 */
static char *
dump_collection(const char *name, const char *folder, int *enc)
{
	static const char prefix[] = "/tralivali_", suffix[] = ".bson.gz";
	size_t fl = strlen(folder), n = strlen(name);

	if (strncmp(name, folder, fl) != 0 || strncmp(name + fl, prefix, sizeof(prefix) - 1) != 0)
		return NULL;
	name += fl + sizeof(prefix) - 1;
	n -= fl + sizeof(prefix) - 1;
	*enc = n > 4 && strcmp(name + n - 4, ".enc") == 0;
	n -= *enc ? 4 : 0;
	if (n <= sizeof(suffix) - 1 || strncmp(name + n - (sizeof(suffix) - 1), suffix, sizeof(suffix) - 1) != 0)
		return NULL;
	return strndup(name, n - (sizeof(suffix) - 1));
}

/* Copies s for a message, printable ASCII only. */
static void
printable(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < size; s++)
		out[n++] = *s >= ' ' && *s < 0x7f ? *s : '?';
	out[n] = '\0';
}

/*
 * Describes the dumps of folder f, which has no manifest, as one without counts or checksums
 * (--force).  A collection name taken from a blob's name must be one a manifest may hold: a blob
 * named tralivali_../x.bson.gz must not become a collection "../x" and a dump outside the work
 * directory.  Returns 0, or 65 after logging the name.
 */
static int
describe_dumps(const struct tv_folder *f, struct tv_manifest *m)
{
	char file[1024], meta[1024], shown[256], *c;
	int enc;

	memset(m, 0, sizeof(*m));
	if ((m->id = strdup("unknown")) == NULL || (m->status = strdup("Incomplete")) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (size_t i = 0; i < f->nblobs; i++) {
		struct tv_manifest_collection *e;

		if ((c = dump_collection(f->blobs[i], f->name, &enc)) == NULL)
			continue;
		if (!tv_collection_name_ok(c)) {
			printable(shown, sizeof(shown), f->blobs[i]);
			tv_error("%s: the collection name of %s is not one a backup may hold "
			    "([A-Za-z0-9_][A-Za-z0-9_.-]*, no \"..\", at most %d bytes)", f->name, shown,
			    TV_COLLECTION_NAME_MAX);
			free(c);
			return EX_DATAERR;
		}
		if ((e = reallocarray(m->collections, m->ncollections + 1, sizeof(*e))) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		m->collections = e;
		e += m->ncollections++;
		memset(e, 0, sizeof(*e));
		e->name = c;
		e->documents = -1;
		snprintf(file, sizeof(file), "%s/tralivali_%s.bson.gz%s", f->name, c, enc ? ".enc" : "");
		snprintf(meta, sizeof(meta), "%s/tralivali_%s.metadata.json%s", f->name, c, enc ? ".enc" : "");
		if ((e->file = strdup(file)) == NULL || (e->metadata_file = strdup(meta)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	}
	return 0;
}

/* Picks the collections asked for (comma-separated; NULL: all) from the plan's manifest; 0 or 66 refused. */
static int
select_collections(struct tv_plan *p, const char *folder, const char *wanted)
{
	const struct tv_manifest *m = p->manifest;
	char *list, *name, *save = NULL;
	size_t len;

	if ((p->collections = calloc(m->ncollections + 1, sizeof(*p->collections))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	if (m->ncollections == 0)
		return refuse(p, EX_NOINPUT, "%s/ holds no collection dumps", folder);
	if (wanted == NULL) {
		for (size_t i = 0; i < m->ncollections; i++)
			p->collections[p->ncollections++] = m->collections[i].name;
		return 0;
	}
	if ((list = strdup(wanted)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (name = strtok_r(list, ",", &save); name != NULL; name = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < m->ncollections && strcmp(m->collections[i].name, name) != 0; i++)
			;
		if (i == m->ncollections) {
			len = (size_t)snprintf(p->reason, sizeof(p->reason), "%s/ has no collection %s (it has:", folder, name);
			for (size_t j = 0; j < m->ncollections; j++)
				len = append_text(p->reason, sizeof(p->reason), len, "%s %s", j ? "," : "", m->collections[j].name);
			append_text(p->reason, sizeof(p->reason), len, ")");
			p->refused = EX_NOINPUT;
			free(list);
			return EX_NOINPUT;
		}
		/* Named twice is restored once. */
		size_t k;
		for (k = 0; k < p->ncollections && p->collections[k] != m->collections[i].name; k++)
			;
		if (k == p->ncollections && p->ncollections < m->ncollections)
			p->collections[p->ncollections++] = m->collections[i].name;
	}
	free(list);
	return 0;
}

/* Adds blob name to the oplog replayed. */
static void
add_blob(struct tv_plan *p, const char *name)
{
	const char **v;

	if ((v = reallocarray(p->blobs, p->nblobs + 1, sizeof(*v))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	p->blobs = v;
	p->blobs[p->nblobs++] = name;
}

/* A point by its folder: its dumps, brought to its own consistent moment by its own oplog. */
static int
plan_folder(const struct tv_catalog *cat, const struct tv_plan_request *r, struct tv_plan *p)
{
	const struct tv_folder *f = tv_catalog_folder((struct tv_catalog *)cat, r->folder);
	int rc;

	if (f == NULL) {
		refuse(p, EX_NOINPUT, "there is no recovery point %s/.", r->folder);
		return refuse_nearest(cat, p, r->folder);
	}
	p->point = f;
	switch (f->state) {
	case TV_FOLDER_POINT:
		p->manifest = &f->manifest;
		p->checked = 1;
		break;
	case TV_FOLDER_BROKEN:
		refuse(p, EX_NOINPUT, "%s/ is broken: %s; refusing to restore it.", f->name, f->reason);
		return refuse_nearest(cat, p, f->name);
	case TV_FOLDER_INVALID:
		tv_error("%s", f->reason);
		return f->status;
	case TV_FOLDER_FAILED:
		if (!r->force)
			return refuse(p, EX_DATAERR, "%s/: the manifest says %s, not Completed: refusing to restore it "
			    "(--force overrides)", f->name, f->manifest.status);
		snprintf(p->warning, sizeof(p->warning), "%s/: the manifest says %s; restoring anyway (--force), "
		    "checksums unchecked", f->name, f->manifest.status);
		p->manifest = &f->manifest;
		break;
	case TV_FOLDER_INCOMPLETE:
		if (!r->force) {
			refuse(p, EX_NOINPUT, "%s/ has no manifest.json: the backup is incomplete (a run died, or a "
			    "prune was cut short); refusing to restore it (--force restores its dumps unchecked).", f->name);
			return refuse_nearest(cat, p, f->name);
		}
		if ((rc = describe_dumps(f, &p->dumps)) != 0)
			return rc;
		snprintf(p->warning, sizeof(p->warning), "%s/ has no manifest.json; restoring its dumps anyway "
		    "(--force), unchecked", f->name);
		p->manifest = &p->dumps;
		break;
	}
	if ((rc = select_collections(p, f->name, r->collections)) != 0)
		return rc;
	/* A point taken while the application wrote is one state only at consistentAt.end. */
	if (p->checked && f->manifest.snapshot == TV_SNAPSHOT_CONSISTENT && f->manifest.oplog_file != NULL) {
		p->replay = 1;
		p->from = f->manifest.consistent_start;
		p->until = f->manifest.consistent_end;
		add_blob(p, f->manifest.oplog_file);
	}
	return 0;
}

/* The slices of range rg after position from up to until, in order. */
static void
add_slices(const struct tv_catalog *cat, const struct tv_range *rg, struct tv_plan *p)
{
	for (size_t i = rg->first; i <= rg->last; i++) {
		const struct tv_slice *s = &cat->slices[i];

		if (tv_oppos_cmp(&s->to, &p->from) > 0 && tv_oppos_cmp(&s->from, &p->until) < 0)
			add_blob(p, s->name);
	}
}

/* --at a moment: the newest point at or before it, and the oplog that brings it there exactly. */
static int
plan_moment(const struct tv_catalog *cat, const struct tv_plan_request *r, struct tv_plan *p)
{
	const struct tv_folder **pts, *f = NULL;
	const struct tv_range *rg = NULL;
	struct tv_oppos pos, reach = r->until;
	char at[TV_ISO_LEN], end[TV_OPPOS_LEN], a[TV_ISO_LEN], b[TV_ISO_LEN];
	size_t n, len;
	int rc;

	iso(r->until.t, at);
	pts = points_of(cat, &n);
	for (size_t i = 0; i < n; i++) {
		pos = point_position(pts[i]);
		if (tv_oppos_cmp(&pos, &r->until) <= 0)
			f = pts[i];
	}
	free(pts);
	if (f == NULL) {
		refuse(p, EX_DATAERR, "%s is before every complete recovery point: it cannot be restored; nothing was "
		    "changed.", at);
		return refuse_reachable(cat, p, &r->until);
	}
	p->point = f;
	p->manifest = &f->manifest;
	p->checked = 1;
	pos = point_position(f);
	if (f->manifest.snapshot != TV_SNAPSHOT_CONSISTENT) {
		if (pos.t < r->until.t) {
			refuse(p, EX_DATAERR, "%s is after %s/, a backup without an oplog position (a standalone server, "
			    "or capture not yet on): no oplog continues from it, so that second cannot be restored "
			    "exactly; nothing was changed.", at, f->name);
			return refuse_reachable(cat, p, &r->until);
		}
		return select_collections(p, f->name, r->collections);
	}
	/* The whole second T is reached by a range that reaches T at all: its slices end where the
	 * capture had read to, and tv-oplog's settle time holds back a second still being written. */
	if (reach.i == TV_PLAN_WHOLE_SECOND)
		reach.i = 0;
	rg = range_holding(cat, &pos, &reach);
	/* Past the point's own end only shipped slices say what happened, even within its last second:
	 * without them the moment is refused, never restored as the point alone. */
	if (rg == NULL && tv_oppos_cmp(&r->until, &pos) > 0) {
		refuse(p, EX_DATAERR, "%s is not within a continuous oplog range after %s/ (position %s): it cannot be "
		    "restored exactly; nothing was changed. The shipped oplog covers: ", at, f->name,
		    tv_oppos_format(&pos, end));
		len = strlen(p->reason);
		if (cat->nranges == 0)
			len = append_text(p->reason, sizeof(p->reason), len, "nothing");
		for (size_t i = 0; i < cat->nranges; i++)
			len = append_text(p->reason, sizeof(p->reason), len, "%s%s to %s", i ? ", " : "",
			    tv_oppos_iso(&cat->slices[cat->ranges[i].first].from, a),
			    tv_oppos_iso(&cat->slices[cat->ranges[i].last].to, b));
		append_text(p->reason, sizeof(p->reason), len, ".");
		return refuse_reachable(cat, p, &r->until);
	}
	if ((rc = select_collections(p, f->name, r->collections)) != 0)
		return rc;
	p->from = pos;
	p->until = r->until;
	if (f->manifest.oplog_file != NULL)
		add_blob(p, f->manifest.oplog_file);
	if (rg != NULL)
		add_slices(cat, rg, p);
	p->replay = p->nblobs > 0;
	return 0;
}

int
tv_plan_make(const struct tv_catalog *cat, const struct tv_plan_request *r, struct tv_plan *p)
{
	memset(p, 0, sizeof(*p));
	return r->folder != NULL ? plan_folder(cat, r, p) : plan_moment(cat, r, p);
}

/* Appends one oplog blob to be replayed: its name, and the checksum its manifest gives, if one does. */
static void
append_blob(const struct tv_plan *p, bson_t *arr, size_t i)
{
	char key[16];
	const char *k;
	bson_t e;

	bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
	BSON_APPEND_DOCUMENT_BEGIN(arr, k, &e);
	BSON_APPEND_UTF8(&e, "name", p->blobs[i]);
	if (p->manifest->oplog_file != NULL && strcmp(p->blobs[i], p->manifest->oplog_file) == 0)
		BSON_APPEND_UTF8(&e, "sha256", p->manifest->oplog_sha256);
	bson_append_document_end(arr, &e);
}

/* Appends the replay: positions, the target second, and the blobs in order. */
static void
append_replay(const struct tv_plan *p, bson_t *doc)
{
	char buf[TV_OPPOS_LEN > TV_ISO_LEN ? TV_OPPOS_LEN : TV_ISO_LEN];
	bson_t o, arr;

	BSON_APPEND_DOCUMENT_BEGIN(doc, "replay", &o);
	BSON_APPEND_UTF8(&o, "fromPosition", tv_oppos_format(&p->from, buf));
	BSON_APPEND_UTF8(&o, "untilPosition", tv_oppos_format(&p->until, buf));
	BSON_APPEND_UTF8(&o, "until", tv_oppos_iso(&p->until, buf));
	BSON_APPEND_ARRAY_BEGIN(&o, "blobs", &arr);
	for (size_t i = 0; i < p->nblobs; i++)
		append_blob(p, &arr, i);
	bson_append_array_end(&o, &arr);
	bson_append_document_end(doc, &o);
}

/* The forced folder's dumps, as tv-recover reads a manifest: counts and checksums null. */
static void
append_dumps(const struct tv_manifest *m, bson_t *doc)
{
	char key[16];
	const char *k;
	bson_t o, arr, e;

	BSON_APPEND_DOCUMENT_BEGIN(doc, "manifest", &o);
	BSON_APPEND_UTF8(&o, "id", m->id);
	BSON_APPEND_UTF8(&o, "status", m->status);
	BSON_APPEND_ARRAY_BEGIN(&o, "collections", &arr);
	for (size_t i = 0; i < m->ncollections; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &e);
		BSON_APPEND_UTF8(&e, "name", m->collections[i].name);
		BSON_APPEND_UTF8(&e, "file", m->collections[i].file);
		BSON_APPEND_UTF8(&e, "metadataFile", m->collections[i].metadata_file);
		BSON_APPEND_NULL(&e, "documents");
		BSON_APPEND_NULL(&e, "sha256");
		bson_append_document_end(&arr, &e);
	}
	bson_append_array_end(&o, &arr);
	bson_append_document_end(doc, &o);
}

void
tv_plan_append(const struct tv_plan *p, bson_t *doc)
{
	char key[16], when[TV_ISO_LEN];
	const char *k;
	bson_t o, arr;

	if (p->refused) {
		BSON_APPEND_INT32(doc, "refused", p->refused);
		BSON_APPEND_UTF8(doc, "reason", p->reason);
		return;
	}
	BSON_APPEND_UTF8(doc, "folder", p->point->name);
	BSON_APPEND_BOOL(doc, "checked", p->checked);
	if (p->warning[0] != '\0')
		BSON_APPEND_UTF8(doc, "warning", p->warning);
	if (p->manifest == &p->dumps) {
		append_dumps(p->manifest, doc);
	} else {
		BSON_APPEND_DOCUMENT_BEGIN(doc, "manifest", &o);
		tv_manifest_append(p->manifest, &o);
		bson_append_document_end(doc, &o);
	}
	BSON_APPEND_ARRAY_BEGIN(doc, "collections", &arr);
	for (size_t i = 0; i < p->ncollections; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_UTF8(&arr, k, p->collections[i]);
	}
	bson_append_array_end(doc, &arr);
	if (p->replay)
		append_replay(p, doc);
	/* Writes after this second are not restored. */
	if (p->replay)
		BSON_APPEND_UTF8(doc, "writesAfter", iso(p->until.t, when));
	else if (p->manifest->snapshot == TV_SNAPSHOT_CONSISTENT)
		BSON_APPEND_UTF8(doc, "writesAfter", iso(p->manifest->consistent_end.t, when));
	else if (p->manifest->created_at != NULL)
		BSON_APPEND_UTF8(doc, "writesAfter", p->manifest->created_at);
}

void
tv_plan_free(struct tv_plan *p)
{
	free(p->collections);
	free(p->blobs);
	tv_manifest_free(&p->dumps);
	memset(p, 0, sizeof(*p));
}
