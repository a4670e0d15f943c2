/* oplogdiff.c: $v: 2 diffs (mongo's doc_diff format) into $set, $unset and array truncations. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oplogdiff.h"

struct diff_out {
	bson_t	 set, unset, shorten;
	char	*err;
	size_t	 errlen;
};

static int diff_any(struct diff_out *o, const char *path, const bson_iter_t *it);

static int __attribute__((format(printf, 2, 3)))
bad(struct diff_out *o, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->err, o->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Returns path.field (or field at the top), or NULL if field cannot be part of a dotted path. */
static char *
join(struct diff_out *o, const char *path, const char *field)
{
	/* A dot would split the name, a leading $ would read as an operator. */
	if (*field == '\0' || strchr(field, '.') != NULL || *field == '$') {
		bad(o, "field name \"%s\" in a $v: 2 diff cannot be written as an update path", field);
		return NULL;
	}
	return path == NULL ? bson_strdup(field) : bson_strdup_printf("%s.%s", path, field);
}

/* Points *sub at the document (or array) the iterator holds; returns 0 or -1. */
static int
sub_document(const bson_iter_t *it, bson_t *sub)
{
	const uint8_t *data;
	uint32_t len;

	if (!BSON_ITER_HOLDS_DOCUMENT(it))
		return -1;
	bson_iter_document(it, &len, &data);
	return bson_init_static(sub, data, len) ? 0 : -1;
}

/* Adds every field of section (a "u", "i" or "d" document) under path to out. */
static int
section(struct diff_out *o, const char *path, const bson_iter_t *it, bson_t *out, int values)
{
	bson_iter_t field;

	if (!BSON_ITER_HOLDS_DOCUMENT(it) || !bson_iter_recurse(it, &field))
		return bad(o, "section \"%s\" of a $v: 2 diff is not a document", bson_iter_key(it));
	while (bson_iter_next(&field)) {
		char *p = join(o, path, bson_iter_key(&field));

		if (p == NULL)
			return -1;
		if (values)
			bson_append_iter(out, p, -1, &field);
		else
			BSON_APPEND_UTF8(out, p, "");
		bson_free(p);
	}
	return 0;
}

static int
diff_document(struct diff_out *o, const char *path, const bson_t *diff)
{
	bson_iter_t it;

	bson_iter_init(&it, diff);
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		int rc;

		if (strcmp(key, "u") == 0 || strcmp(key, "i") == 0)
			rc = section(o, path, &it, &o->set, 1);
		else if (strcmp(key, "d") == 0)
			rc = section(o, path, &it, &o->unset, 0);
		else if (strcmp(key, "b") == 0)
			rc = bad(o, "binary diffs (section \"b\" of a $v: 2 diff) are not supported");
		else if (key[0] == 's' && key[1] != '\0') {
			char *p = join(o, path, key + 1);

			rc = p == NULL ? -1 : diff_any(o, p, &it);
			bson_free(p);
		} else
			rc = bad(o, "unknown section \"%s\" in a $v: 2 diff", key);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Returns 1 if key is prefix followed by a decimal index only. */
static int
indexed(const char *key, char prefix)
{
	return key[0] == prefix && key[1] != '\0' && strspn(key + 1, "0123456789") == strlen(key + 1);
}

static int
diff_array(struct diff_out *o, const char *path, const bson_t *diff)
{
	bson_iter_t it;

	bson_iter_init(&it, diff);
	while (bson_iter_next(&it)) {
		const char *key = bson_iter_key(&it);
		char *p;
		int rc;

		if (strcmp(key, "a") == 0)
			continue;
		if (strcmp(key, "l") == 0) {
			if (!BSON_ITER_HOLDS_NUMBER(&it) || bson_iter_as_int64(&it) < 0)
				return bad(o, "array length \"l\" of a $v: 2 diff is not a count");
			BSON_APPEND_INT64(&o->shorten, path, bson_iter_as_int64(&it));
			continue;
		}
		if (!indexed(key, 'u') && !indexed(key, 's'))
			return bad(o, "unknown field \"%s\" in an array diff of a $v: 2 diff", key);
		p = bson_strdup_printf("%s.%s", path, key + 1);
		if (key[0] == 'u') {
			bson_append_iter(&o->set, p, -1, &it);
			rc = 0;
		} else
			rc = diff_any(o, p, &it);
		bson_free(p);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Applies the sub-diff the iterator holds at path: an array diff if it says "a": true. */
static int
diff_any(struct diff_out *o, const char *path, const bson_iter_t *it)
{
	bson_t sub;
	bson_iter_t a;

	if (sub_document(it, &sub) != 0)
		return bad(o, "sub-diff \"%s\" of a $v: 2 diff is not a document", bson_iter_key(it));
	if (bson_iter_init_find(&a, &sub, "a") && BSON_ITER_HOLDS_BOOL(&a) && bson_iter_bool(&a))
		return diff_array(o, path, &sub);
	return diff_document(o, path, &sub);
}

int
tv_diff_to_updates(const bson_t *diff, bson_t *truncate, bson_t *update, char *err, size_t errlen)
{
	struct diff_out o = { .err = err, .errlen = errlen };
	int rc;

	bson_init(&o.set);
	bson_init(&o.unset);
	bson_init(&o.shorten);
	rc = diff_document(&o, NULL, diff);
	bson_init(truncate);
	bson_init(update);
	if (rc == 0)
		bson_concat(truncate, &o.shorten);
	if (rc == 0 && !bson_empty(&o.set))
		BSON_APPEND_DOCUMENT(update, "$set", &o.set);
	if (rc == 0 && !bson_empty(&o.unset))
		BSON_APPEND_DOCUMENT(update, "$unset", &o.unset);
	bson_destroy(&o.set);
	bson_destroy(&o.unset);
	bson_destroy(&o.shorten);
	return rc;
}
