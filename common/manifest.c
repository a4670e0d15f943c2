/* manifest.c: writing, reading and checking manifest.json. */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "manifest.h"
#include "store.h"

#define MANIFEST_MAX	(1024 * 1024)	/* far above any real manifest */
#define SMALL_JSON_MAX	(64 * 1024)	/* a --stats file */

int
tv_collection_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TV_COLLECTION_NAME_MAX || strstr(s, "..") != NULL)
		return 0;
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (const char *p = s; *p != '\0'; p++)
		if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
			return 0;
	return 1;
}

int
tv_database_name_ok(const char *s)
{
	return tv_collection_name_ok(s) && strchr(s, '.') == NULL;
}

/* Returns 1 if the n characters at s are digits. */
static int
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
tv_folder_ok(const char *s, time_t *when)
{
	const char *leaf = strrchr(s, '/');
	char iso[32];
	size_t len;
	time_t t;

	if (leaf == NULL || leaf == s)
		return 0;
	leaf++;
	len = strlen(leaf);
	if (len != 10 && len != 18)
		return 0;
	if (!digits(leaf, 4) || leaf[4] != '-' || !digits(leaf + 5, 2) || leaf[7] != '-' || !digits(leaf + 8, 2))
		return 0;
	if (len == 18) {
		if (leaf[10] != 'T' || !digits(leaf + 11, 6) || leaf[17] != 'Z')
			return 0;
		snprintf(iso, sizeof(iso), "%.10sT%.2s:%.2s:%.2sZ", leaf, leaf + 11, leaf + 13, leaf + 15);
	} else
		snprintf(iso, sizeof(iso), "%.10s", leaf);
	if ((t = tv_iso_time(iso)) == -1)
		return 0;
	if (when != NULL)
		*when = t;
	return 1;
}

int
tv_blob_name_ok(const char *name, const char *folder, const char *base)
{
	size_t flen = strlen(folder), blen = strlen(base);

	if (strncmp(name, folder, flen) != 0 || name[flen] != '/' || strncmp(name + flen + 1, base, blen) != 0)
		return 0;
	name += flen + 1 + blen;
	return *name == '\0' || strcmp(name, ".enc") == 0;
}

time_t
tv_iso_time(const char *s)
{
	struct tm tm, check;
	const char *p;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (!digits(s, 4) || (p = strptime(s, "%Y-%m-%d", &tm)) == NULL || p - s != 10)
		return -1;
	if (*p == 'T' || *p == ' ') {
		if (!digits(p + 1, 2) || p[3] != ':' || !digits(p + 4, 2) ||
		    (p = strptime(p + 1, "%H:%M", &tm)) == NULL)
			return -1;
		if (*p == ':') {
			if (!digits(p + 1, 2) || (p = strptime(p + 1, "%S", &tm)) == NULL)
				return -1;
			/* Fractions of a second are allowed and dropped. */
			if (*p == '.' && digits(p + 1, 1))
				for (p++; *p >= '0' && *p <= '9'; p++)
					;
		}
		if (*p == 'Z')
			p++;
	}
	if (*p != '\0')
		return -1;
	/* strptime accepts 2024-02-31; a date that does not round-trip is not a date. */
	check = tm;
	if ((t = timegm(&tm)) == -1 || tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon)
		return -1;
	return t;
}

void
tv_iso_format(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Fills err with a message and returns 65. */
static int __attribute__((format(printf, 2, 3)))
bad(char err[TV_MANIFEST_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, TV_MANIFEST_ERR_MAX, fmt, ap);
	va_end(ap);
	return EX_DATAERR;
}

/* Returns doc's string field key, or NULL if it is absent or not a string; *present says whether key exists. */
static const char *
get_string(const bson_t *doc, const char *key, int *present)
{
	bson_iter_t it;

	*present = bson_iter_init_find(&it, doc, key);
	if (!*present || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

/* Copies the string field key into *out; returns 0 or 65 naming where.key. */
static int
need_string(const bson_t *doc, const char *where, const char *key, char **out, char err[TV_MANIFEST_ERR_MAX])
{
	int present;
	const char *s = get_string(doc, key, &present);

	if (s == NULL)
		return bad(err, "%s%s: %s", where, key, present ? "not a string" : "missing");
	*out = bson_strdup(s);
	return 0;
}

/* Reads the whole non-negative number field key into *out; returns 0 or 65 naming where.key. */
static int
need_count(const bson_t *doc, const char *where, const char *key, int64_t *out, char err[TV_MANIFEST_ERR_MAX])
{
	bson_iter_t it;
	double d;

	if (!bson_iter_init_find(&it, doc, key))
		return bad(err, "%s%s: missing", where, key);
	if (BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it))
		*out = bson_iter_as_int64(&it);
	else if (BSON_ITER_HOLDS_DOUBLE(&it)) {
		/* Some JSON writers print every number as a double; a whole one is still a count. */
		d = bson_iter_double(&it);
		/* Converting a double outside int64_t's range is undefined: check first (NaN fails too). */
		if (!(d >= -0x1p63 && d < 0x1p63))
			return bad(err, "%s%s: out of range", where, key);
		if (d != (double)(int64_t)d)
			return bad(err, "%s%s: not a whole number", where, key);
		*out = (int64_t)d;
	} else
		return bad(err, "%s%s: not a whole number", where, key);
	if (*out < 0)
		return bad(err, "%s%s: negative", where, key);
	return 0;
}

/* Copies the 64-hex-digit field key into out; returns 0 or 65.  An optional field may be absent. */
static int
need_sha256(const bson_t *doc, const char *where, const char *key, int optional, char out[65],
    char err[TV_MANIFEST_ERR_MAX])
{
	int present;
	const char *s = get_string(doc, key, &present);

	out[0] = '\0';
	if (!present && optional)
		return 0;
	if (s == NULL)
		return bad(err, "%s%s: %s", where, key, present ? "not a string" : "missing");
	if (strlen(s) != 64 || strspn(s, "0123456789abcdef") != 64)
		return bad(err, "%s%s: not a SHA-256 (64 lowercase hex digits)", where, key);
	memcpy(out, s, 65);
	return 0;
}

/* Checks a blob name field against the canonical {folder}/{base}[.enc]; returns 0 or 65. */
static int
check_name(const char *where, const char *key, const char *value, const char *folder, const char *base,
    char err[TV_MANIFEST_ERR_MAX])
{
	if (!tv_blob_name_ok(value, folder, base))
		return bad(err, "%s%s: \"%.80s\" is not %s/%s", where, key, value, folder, base);
	return 0;
}

/* Parses collections[i] into c. */
static int
parse_collection(const bson_t *doc, size_t i, const char *folder, struct tv_manifest_collection *c,
    char err[TV_MANIFEST_ERR_MAX])
{
	char where[64], base[TV_COLLECTION_NAME_MAX + 32];
	int rc, present;
	const char *meta;

	snprintf(where, sizeof(where), "collections[%zu].", i);
	if ((rc = need_string(doc, where, "name", &c->name, err)) != 0)
		return rc;
	if (!tv_collection_name_ok(c->name))
		return bad(err, "%sname: \"%.80s\" is not a collection name", where, c->name);
	if ((rc = need_string(doc, where, "file", &c->file, err)) != 0)
		return rc;
	snprintf(base, sizeof(base), "tralivali_%s.bson.gz", c->name);
	if ((rc = check_name(where, "file", c->file, folder, base, err)) != 0)
		return rc;
	/* Older manifests have no metadata; the dumps alone still restore. */
	if ((meta = get_string(doc, "metadataFile", &present)) == NULL && present)
		return bad(err, "%smetadataFile: not a string", where);
	if (meta != NULL) {
		snprintf(base, sizeof(base), "tralivali_%s.metadata.json", c->name);
		if ((rc = check_name(where, "metadataFile", meta, folder, base, err)) != 0)
			return rc;
		c->metadata_file = bson_strdup(meta);
	}
	if ((rc = need_count(doc, where, "documents", &c->documents, err)) != 0 ||
	    (rc = need_count(doc, where, "bsonBytes", &c->bson_bytes, err)) != 0 ||
	    (rc = need_count(doc, where, "compressedBytes", &c->compressed_bytes, err)) != 0 ||
	    (rc = need_sha256(doc, where, "sha256", 0, c->sha256, err)) != 0 ||
	    (rc = need_sha256(doc, where, "metadataSha256", 1, c->metadata_sha256, err)) != 0)
		return rc;
	return 0;
}

/* Parses the collections array. */
static int
parse_collections(const bson_t *doc, const char *folder, struct tv_manifest *m, char err[TV_MANIFEST_ERR_MAX])
{
	bson_iter_t it, arr;
	uint32_t len;
	const uint8_t *data;
	bson_t sub;
	int rc;

	if (!bson_iter_init_find(&it, doc, "collections"))
		return bad(err, "collections: missing");
	if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return bad(err, "collections: not an array");
	while (bson_iter_next(&arr)) {
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			return bad(err, "collections[%zu]: not an object", m->ncollections);
		m->collections = reallocarray(m->collections, m->ncollections + 1, sizeof(*m->collections));
		if (m->collections == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		memset(&m->collections[m->ncollections], 0, sizeof(*m->collections));
		m->ncollections++;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&sub, data, len))
			return bad(err, "collections[%zu]: not an object", m->ncollections - 1);
		if ((rc = parse_collection(&sub, m->ncollections - 1, folder, &m->collections[m->ncollections - 1], err)) != 0)
			return rc;
		for (size_t j = 0; j + 1 < m->ncollections; j++)
			if (strcmp(m->collections[j].name, m->collections[m->ncollections - 1].name) == 0)
				return bad(err, "collections[%zu].name: \"%s\" appears twice", m->ncollections - 1,
				    m->collections[j].name);
	}
	return 0;
}

/* Returns the sub-document at key in *sub, or 0 if it is absent or not an object. */
static int
get_document(const bson_t *doc, const char *key, bson_t *sub, int *present)
{
	bson_iter_t it;
	uint32_t len;
	const uint8_t *data;

	*present = bson_iter_init_find(&it, doc, key);
	if (!*present || !BSON_ITER_HOLDS_DOCUMENT(&it))
		return 0;
	bson_iter_document(&it, &len, &data);
	return bson_init_static(sub, data, len);
}

/* Parses the position field key of sub ("where" names it in errors). */
static int
need_position(const bson_t *sub, const char *where, const char *key, struct tv_oppos *p,
    char err[TV_MANIFEST_ERR_MAX])
{
	int present;
	const char *s = get_string(sub, key, &present);

	if (s == NULL || tv_oppos_parse(s, p) != 0)
		return bad(err, "%s%s: %s", where, key, present ? "not an oplog position \"T.I\"" : "missing");
	return 0;
}

/* Parses consistentAt and oplog (replica set) or snapshot (standalone). */
static int
parse_snapshot(const bson_t *doc, const char *folder, struct tv_manifest *m, char err[TV_MANIFEST_ERR_MAX])
{
	bson_t sub;
	int present, rc;
	const char *snapshot = get_string(doc, "snapshot", &present);

	if (present) {
		if (snapshot == NULL || strcmp(snapshot, "per-collection") != 0)
			return bad(err, "snapshot: not \"per-collection\"");
		m->snapshot = TV_SNAPSHOT_PER_COLLECTION;
	}
	if (!get_document(doc, "consistentAt", &sub, &present)) {
		if (present)
			return bad(err, "consistentAt: not an object");
		return 0;
	}
	if (m->snapshot == TV_SNAPSHOT_PER_COLLECTION)
		return bad(err, "consistentAt: a per-collection snapshot has no consistent position");
	m->snapshot = TV_SNAPSHOT_CONSISTENT;
	if ((rc = need_position(&sub, "consistentAt.", "start", &m->consistent_start, err)) != 0 ||
	    (rc = need_position(&sub, "consistentAt.", "end", &m->consistent_end, err)) != 0)
		return rc;
	if (tv_oppos_cmp(&m->consistent_start, &m->consistent_end) > 0)
		return bad(err, "consistentAt: start is after end");
	if (!get_document(doc, "oplog", &sub, &present))
		return bad(err, "oplog: %s", present ? "not an object" : "missing (consistentAt needs it)");
	if ((rc = need_string(&sub, "oplog.", "file", &m->oplog_file, err)) != 0 ||
	    (rc = check_name("oplog.", "file", m->oplog_file, folder, "oplog" TV_SLICE_SUFFIX, err)) != 0 ||
	    (rc = need_sha256(&sub, "oplog.", "sha256", 0, m->oplog_sha256, err)) != 0 ||
	    (rc = need_count(&sub, "oplog.", "entries", &m->oplog_entries, err)) != 0)
		return rc;
	return 0;
}

/* Parses and checks the top-level fields. */
static int
parse_fields(const bson_t *doc, const char *folder, struct tv_manifest *m, char err[TV_MANIFEST_ERR_MAX])
{
	char own[512];
	const char *s;
	int rc, present;

	if ((rc = need_string(doc, "", "id", &m->id, err)) != 0)
		return rc;
	if (strlen(m->id) != 24 || strspn(m->id, "0123456789abcdef") != 24)
		return bad(err, "id: \"%.40s\" is not an ObjectId (24 hex digits)", m->id);
	if ((rc = need_string(doc, "", "createdAt", &m->created_at, err)) != 0)
		return rc;
	if ((m->created = tv_iso_time(m->created_at)) == -1)
		return bad(err, "createdAt: \"%.40s\" is not an ISO-8601 UTC time", m->created_at);
	if ((rc = need_string(doc, "", "type", &m->type, err)) != 0)
		return rc;
	if (strcmp(m->type, "scheduled") != 0 && strcmp(m->type, "manual") != 0)
		return bad(err, "type: \"%.40s\" is not scheduled or manual", m->type);
	if ((rc = need_string(doc, "", "status", &m->status, err)) != 0)
		return rc;
	if (strcmp(m->status, "Completed") != 0 && strcmp(m->status, "Failed") != 0)
		return bad(err, "status: \"%.40s\" is not Completed or Failed", m->status);
	if ((rc = need_string(doc, "", "filePath", &m->file_path, err)) != 0)
		return rc;
	/* The folder the manifest was read from is the truth; a manifest copied elsewhere says so. */
	if (folder == NULL) {
		size_t len = strlen(m->file_path);

		if (len == 0 || len >= sizeof(own) || m->file_path[len - 1] != '/')
			return bad(err, "filePath: \"%.80s\" is not a backup folder", m->file_path);
		memcpy(own, m->file_path, len - 1);
		own[len - 1] = '\0';
		folder = own;
	}
	if (!tv_folder_ok(folder, NULL))
		return bad(err, "filePath: \"%.80s\" is not a backup folder (ROOT/YYYY-MM-DD[THHMMSSZ]/)", m->file_path);
	if (strncmp(m->file_path, folder, strlen(folder)) != 0 || strcmp(m->file_path + strlen(folder), "/") != 0)
		return bad(err, "filePath: \"%.80s\", but the manifest is in %s/", m->file_path, folder);
	/* Older manifests do not say: their database is the one MONGODB_URI names. */
	if ((s = get_string(doc, "database", &present)) == NULL && present)
		return bad(err, "database: not a string");
	if (s != NULL && !tv_database_name_ok(s))
		return bad(err, "database: \"%.80s\" is not a database name", s);
	if (s != NULL)
		m->database = bson_strdup(s);
	if ((rc = need_count(doc, "", "size", &m->size, err)) != 0 ||
	    (rc = parse_collections(doc, folder, m, err)) != 0 ||
	    (rc = parse_snapshot(doc, folder, m, err)) != 0)
		return rc;
	return 0;
}

int
tv_manifest_parse(const char *buf, size_t len, const char *folder, struct tv_manifest *m,
    char err[TV_MANIFEST_ERR_MAX])
{
	bson_error_t jerr;
	bson_t *doc;
	int rc;

	memset(m, 0, sizeof(*m));
	if (len == 0 || buf[0] != '{')
		return bad(err, "not a JSON object");
	if ((doc = bson_new_from_json((const uint8_t *)buf, (ssize_t)len, &jerr)) == NULL)
		return bad(err, "not JSON: %s", jerr.message);
	rc = parse_fields(doc, folder, m, err);
	bson_destroy(doc);
	if (rc != 0)
		tv_manifest_free(m);
	return rc;
}

int
tv_manifest_read_file(int fd, const char *name, const char *folder, struct tv_manifest *m,
    char err[TV_MANIFEST_ERR_MAX])
{
	char *buf;
	ssize_t n;
	int rc;

	if ((buf = malloc(MANIFEST_MAX + 1)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	if ((n = tv_read_full(fd, buf, MANIFEST_MAX + 1)) < 0) {
		tv_error("%s: %s", name, strerror(errno));
		free(buf);
		return EX_IOERR;
	}
	if (n > MANIFEST_MAX)
		rc = bad(err, "larger than %d bytes", MANIFEST_MAX);
	else
		rc = tv_manifest_parse(buf, (size_t)n, folder, m, err);
	free(buf);
	return rc;
}

/* Reads a small JSON file (a --stats file) into *doc; returns 0, 65 or 74. */
static int
read_json_file(const char *path, bson_t **doc)
{
	char buf[SMALL_JSON_MAX];
	bson_error_t err;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY)) == -1) {
		saved = errno;
		tv_error("%s: %s", path, strerror(saved));
		return saved == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	n = tv_read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		tv_error("%s: %s", path, strerror(errno));
		return EX_IOERR;
	}
	if ((*doc = bson_new_from_json((const uint8_t *)buf, n, &err)) == NULL) {
		tv_error("%s: not JSON: %s", path, err.message);
		return EX_DATAERR;
	}
	return 0;
}

/* Returns the non-negative integer at key in doc, or -1. */
static int64_t
json_count(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	int64_t v;

	if (!bson_iter_init_find(&it, doc, key) || !(BSON_ITER_HOLDS_INT32(&it) || BSON_ITER_HOLDS_INT64(&it)))
		return -1;
	v = bson_iter_as_int64(&it);
	return v < 0 ? -1 : v;
}

int
tv_manifest_collection_from(const char *stats_path, const char *receipt, const char *metadata_receipt,
    struct tv_manifest_collection *c)
{
	struct tv_receipt r = { 0 };
	bson_t *stats;
	bson_iter_t it;
	int rc;

	if ((rc = read_json_file(stats_path, &stats)) != 0)
		return rc;
	if (!bson_iter_init_find(&it, stats, "collection") || !BSON_ITER_HOLDS_UTF8(&it) ||
	    (c->documents = json_count(stats, "documents")) < 0 ||
	    (c->bson_bytes = json_count(stats, "bsonBytes")) < 0) {
		tv_error("%s: not tv-export statistics ({collection, documents, bsonBytes})", stats_path);
		bson_destroy(stats);
		return EX_DATAERR;
	}
	c->name = bson_strdup(bson_iter_utf8(&it, NULL));
	bson_destroy(stats);
	if ((rc = tv_receipt_read(&r, receipt)) != 0)
		return rc;
	c->file = bson_strdup(r.name);
	c->compressed_bytes = (int64_t)r.size;
	memcpy(c->sha256, r.sha256, sizeof(c->sha256));
	tv_receipt_free(&r);
	if (metadata_receipt != NULL) {
		if ((rc = tv_receipt_read(&r, metadata_receipt)) != 0)
			return rc;
		c->metadata_file = bson_strdup(r.name);
		memcpy(c->metadata_sha256, r.sha256, sizeof(c->metadata_sha256));
		tv_receipt_free(&r);
	}
	return 0;
}

/* Appends the collection entries. */
static void
append_collections(const struct tv_manifest *m, bson_t *doc)
{
	bson_t arr, c;
	char key[16];
	const char *k;

	BSON_APPEND_ARRAY_BEGIN(doc, "collections", &arr);
	for (size_t i = 0; i < m->ncollections; i++) {
		const struct tv_manifest_collection *e = &m->collections[i];

		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &c);
		BSON_APPEND_UTF8(&c, "name", e->name);
		BSON_APPEND_UTF8(&c, "file", e->file);
		if (e->metadata_file != NULL)
			BSON_APPEND_UTF8(&c, "metadataFile", e->metadata_file);
		BSON_APPEND_INT64(&c, "documents", e->documents);
		BSON_APPEND_INT64(&c, "bsonBytes", e->bson_bytes);
		BSON_APPEND_INT64(&c, "compressedBytes", e->compressed_bytes);
		BSON_APPEND_UTF8(&c, "sha256", e->sha256);
		if (e->metadata_sha256[0] != '\0')
			BSON_APPEND_UTF8(&c, "metadataSha256", e->metadata_sha256);
		bson_append_document_end(&arr, &c);
	}
	bson_append_array_end(doc, &arr);
}

void
tv_manifest_append(const struct tv_manifest *m, bson_t *doc)
{
	char pos[TV_OPPOS_LEN];
	bson_t sub;

	BSON_APPEND_UTF8(doc, "id", m->id);
	BSON_APPEND_UTF8(doc, "createdAt", m->created_at);
	BSON_APPEND_UTF8(doc, "type", m->type);
	BSON_APPEND_UTF8(doc, "status", m->status);
	BSON_APPEND_UTF8(doc, "filePath", m->file_path);
	if (m->database != NULL)
		BSON_APPEND_UTF8(doc, "database", m->database);
	BSON_APPEND_INT64(doc, "size", m->size);
	append_collections(m, doc);
	switch (m->snapshot) {
	case TV_SNAPSHOT_PER_COLLECTION:
		BSON_APPEND_UTF8(doc, "snapshot", "per-collection");
		break;
	case TV_SNAPSHOT_CONSISTENT:
		BSON_APPEND_DOCUMENT_BEGIN(doc, "consistentAt", &sub);
		BSON_APPEND_UTF8(&sub, "start", tv_oppos_format(&m->consistent_start, pos));
		BSON_APPEND_UTF8(&sub, "end", tv_oppos_format(&m->consistent_end, pos));
		bson_append_document_end(doc, &sub);
		BSON_APPEND_DOCUMENT_BEGIN(doc, "oplog", &sub);
		BSON_APPEND_UTF8(&sub, "file", m->oplog_file);
		BSON_APPEND_UTF8(&sub, "sha256", m->oplog_sha256);
		BSON_APPEND_INT64(&sub, "entries", m->oplog_entries);
		bson_append_document_end(doc, &sub);
		break;
	case TV_SNAPSHOT_UNKNOWN:
		break;
	}
}

void
tv_manifest_free(struct tv_manifest *m)
{
	for (size_t i = 0; i < m->ncollections; i++) {
		bson_free(m->collections[i].name);
		bson_free(m->collections[i].file);
		bson_free(m->collections[i].metadata_file);
	}
	free(m->collections);
	bson_free(m->id);
	bson_free(m->created_at);
	bson_free(m->type);
	bson_free(m->status);
	bson_free(m->file_path);
	bson_free(m->database);
	bson_free(m->oplog_file);
	memset(m, 0, sizeof(*m));
}
