/* oplog.c: oplog positions, slice names, and picking one database's entries out of the oplog. */

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oplog.h"

/*
 * Reads a decimal number that fits 32 bits from s up to end, without signs,
 * blanks or leading zeros, so that every position has exactly one spelling.
 */
static int
parse_u32(const char *s, const char *end, uint32_t *v)
{
	uint64_t n = 0;

	if (s == end || (*s == '0' && end - s > 1))
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*v = (uint32_t)n;
	return 0;
}

int
tv_oppos_parse(const char *s, struct tv_oppos *p)
{
	const char *dot = strchr(s, '.');
	struct tv_oppos q;

	if (dot == NULL || parse_u32(s, dot, &q.t) != 0 ||
	    parse_u32(dot + 1, dot + 1 + strlen(dot + 1), &q.i) != 0)
		return -1;
	*p = q;
	return 0;
}

char *
tv_oppos_format(const struct tv_oppos *p, char buf[TV_OPPOS_LEN])
{
	snprintf(buf, TV_OPPOS_LEN, "%lu.%lu", (unsigned long)p->t, (unsigned long)p->i);
	return buf;
}

int
tv_oppos_cmp(const struct tv_oppos *a, const struct tv_oppos *b)
{
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->i != b->i)
		return a->i < b->i ? -1 : 1;
	return 0;
}

char *
tv_oppos_iso(const struct tv_oppos *p, char buf[TV_ISO_LEN])
{
	time_t t = (time_t)p->t;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, TV_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

int
tv_oppos_of_entry(const bson_t *entry, struct tv_oppos *p)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, entry, "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&it))
		return -1;
	bson_iter_timestamp(&it, &p->t, &p->i);
	return 0;
}

int
tv_oplog_name(char *buf, size_t size, const struct tv_oppos *from, const struct tv_oppos *to,
    const char *suffix)
{
	char a[TV_OPPOS_LEN], b[TV_OPPOS_LEN], day[TV_ISO_LEN];
	int n;

	tv_oppos_iso(from, day);
	day[10] = '\0';
	n = snprintf(buf, size, "%s/%s/%s-%s%s", TV_OPLOG_ROOT, day, tv_oppos_format(from, a),
	    tv_oppos_format(to, b), suffix);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

int
tv_slice_parse(const char *name, struct tv_oppos *from, struct tv_oppos *to)
{
	const char *base = strrchr(name, '/'), *dash, *end;
	char text[TV_OPPOS_LEN], full[2 * TV_OPPOS_LEN + 32];
	struct tv_oppos f, t;
	size_t suffix = strlen(TV_SLICE_SUFFIX);

	base = base ? base + 1 : name;
	end = base + strlen(base);
	if ((size_t)(end - base) > suffix && strcmp(end - suffix, TV_SLICE_SUFFIX) == 0)
		end -= suffix;
	if ((dash = memchr(base, '-', (size_t)(end - base))) == NULL ||
	    (size_t)(dash - base) >= sizeof(text) || (size_t)(end - dash - 1) >= sizeof(text))
		return -1;
	memcpy(text, base, (size_t)(dash - base));
	text[dash - base] = '\0';
	if (tv_oppos_parse(text, &f) != 0)
		return -1;
	memcpy(text, dash + 1, (size_t)(end - dash - 1));
	text[end - dash - 1] = '\0';
	if (tv_oppos_parse(text, &t) != 0)
		return -1;
	/* A name with its folder must be exactly the one the slice gets, day and suffix included. */
	if (base != name &&
	    (tv_oplog_name(full, sizeof(full), &f, &t, TV_SLICE_SUFFIX) != 0 || strcmp(full, name) != 0))
		return -1;
	*from = f;
	*to = t;
	return 0;
}

/* Returns 1 if namespace or name ns is in database db ("db.coll", "db.$cmd"). */
static int
in_db(const char *ns, const char *db)
{
	size_t n = strlen(db);

	return ns != NULL && strncmp(ns, db, n) == 0 && ns[n] == '.';
}

/* Returns the string field key of doc, or NULL. */
static const char *
utf8_field(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

/* Returns 1 if doc has field key, set to anything but false. */
static int
has_flag(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

/* Points sub at the embedded document (or array) field key of doc; returns 0, or -1 if there is none. */
static int
sub_document(const bson_t *doc, const char *key, bson_t *sub)
{
	const uint8_t *data;
	bson_iter_t it;
	uint32_t len;

	if (!bson_iter_init_find(&it, doc, key))
		return -1;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_iter_document(&it, &len, &data);
	else if (BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &len, &data);
	else
		return -1;
	return bson_init_static(sub, data, len) ? 0 : -1;
}

/*
 * Returns 1 if the entry ends a transaction that spans several entries: its
 * prevOpTime points back to earlier ones, and it is neither a partial one nor
 * a prepare.  The replayer applies the earlier parts only when it meets it.
 */
static int
closes_transaction(const bson_t *entry, const bson_t *o)
{
	bson_t prev;
	bson_iter_t it;
	uint32_t t = 0, i = 0;

	if (has_flag(o, "partialTxn") || has_flag(o, "prepare") ||
	    sub_document(entry, "prevOpTime", &prev) != 0 ||
	    !bson_iter_init_find(&it, &prev, "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&it))
		return 0;
	bson_iter_timestamp(&it, &t, &i);
	return t != 0 || i != 0;
}

/* Copies entry into out with o.applyOps replaced by ops, every other field in place. */
static void
replace_apply_ops(const bson_t *entry, const bson_t *ops, bson_t *out)
{
	bson_iter_t it, oit;
	bson_t o, child;

	bson_init(out);
	bson_iter_init(&it, entry);
	while (bson_iter_next(&it)) {
		if (strcmp(bson_iter_key(&it), "o") != 0 || sub_document(entry, "o", &o) != 0) {
			bson_append_iter(out, NULL, 0, &it);
			continue;
		}
		bson_append_document_begin(out, "o", 1, &child);
		bson_iter_init(&oit, &o);
		while (bson_iter_next(&oit)) {
			if (strcmp(bson_iter_key(&oit), "applyOps") == 0)
				bson_append_array(&child, "applyOps", 8, ops);
			else
				bson_append_iter(&child, NULL, 0, &oit);
		}
		bson_append_document_end(out, &child);
	}
}

/* tv_oplog_select for an applyOps entry: keeps db's inner operations. */
static enum tv_oplog_choice
select_apply_ops(const bson_t *entry, const bson_t *o, const bson_t *ops, const char *db,
    bson_t *out)
{
	bson_t kept = BSON_INITIALIZER, inner, narrowed;
	const uint8_t *data;
	bson_iter_t it;
	uint32_t len, total = 0, n = 0;
	int changed = 0;
	char key[16];
	const char *k;

	bson_iter_init(&it, ops);
	while (bson_iter_next(&it)) {
		enum tv_oplog_choice c = TV_OPLOG_DROP;

		total++;
		if (BSON_ITER_HOLDS_DOCUMENT(&it)) {
			bson_iter_document(&it, &len, &data);
			if (bson_init_static(&inner, data, len))
				c = tv_oplog_select(&inner, db, &narrowed);
		}
		if (c == TV_OPLOG_DROP) {
			changed = 1;
			continue;
		}
		bson_uint32_to_string(n++, &k, key, sizeof(key));
		bson_append_document(&kept, k, -1, c == TV_OPLOG_NARROWED ? &narrowed : &inner);
		if (c == TV_OPLOG_NARROWED) {
			bson_destroy(&narrowed);
			changed = 1;
		}
	}
	if (total == 0 || !changed) {
		bson_destroy(&kept);
		return total > 0 || in_db(utf8_field(entry, "ns"), db) ? TV_OPLOG_KEEP : TV_OPLOG_DROP;
	}
	if (n == 0 && !closes_transaction(entry, o)) {
		bson_destroy(&kept);
		return TV_OPLOG_DROP;
	}
	replace_apply_ops(entry, &kept, out);
	bson_destroy(&kept);
	return TV_OPLOG_NARROWED;
}

enum tv_oplog_choice
tv_oplog_select(const bson_t *entry, const char *db, bson_t *out)
{
	const char *op = utf8_field(entry, "op"), *ns = utf8_field(entry, "ns");
	bson_t o, ops;
	bson_iter_t it;

	if (op == NULL || strcmp(op, "n") == 0)
		return TV_OPLOG_DROP;
	if (strcmp(op, "c") == 0 && sub_document(entry, "o", &o) == 0) {
		if (bson_iter_init_find(&it, &o, "applyOps") && BSON_ITER_HOLDS_ARRAY(&it) &&
		    sub_document(&o, "applyOps", &ops) == 0)
			return select_apply_ops(entry, &o, &ops, db, out);
		/* A prepared transaction's end names no database; the replayer must see it. */
		if (bson_has_field(&o, "commitTransaction") || bson_has_field(&o, "abortTransaction"))
			return TV_OPLOG_KEEP;
		/* A rename from another database is logged there, and brings documents here. */
		if (in_db(utf8_field(&o, "to"), db))
			return TV_OPLOG_KEEP;
	}
	return in_db(ns, db) ? TV_OPLOG_KEEP : TV_OPLOG_DROP;
}
