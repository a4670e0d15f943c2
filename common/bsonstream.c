/* bsonstream.c: a validating reader of concatenated BSON documents. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bsonstream.h"

/* Big enough that a stream of small documents costs few reads. */
#define READ_CHUNK	(256 * 1024)

struct tv_bson_reader {
	int		 fd;
	char		*name;
	uint8_t		*buf;
	size_t		 cap;
	size_t		 start;		/* first unread byte in buf */
	size_t		 end;		/* one past the last byte read into buf */
	int		 eof;
	uint64_t	 count;		/* documents returned */
	uint64_t	 offset;	/* stream offset of buf[start] */
	int		 status;
	char		 error[512];
};

struct tv_bson_reader *
tv_bson_reader_open(int fd, const char *name)
{
	struct tv_bson_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->fd = fd;
	r->name = strdup(name);
	r->cap = READ_CHUNK;
	r->buf = malloc(r->cap);
	if (r->name == NULL || r->buf == NULL) {
		tv_bson_reader_close(r);
		return NULL;
	}
	return r;
}

static int
fail(struct tv_bson_reader *r, int status, const char *fmt, ...)
{
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(r->error, sizeof(r->error),
	    "%s: document index %llu at byte offset %llu: %s", r->name,
	    (unsigned long long)r->count, (unsigned long long)r->offset, what);
	r->status = status;
	return -1;
}

/* Makes at least want bytes available from buf[start]; returns 0, or -1 on a read error. */
static int
fill(struct tv_bson_reader *r, size_t want)
{
	if (r->cap < want) {
		uint8_t *bigger = realloc(r->buf, want);

		if (bigger == NULL)
			return fail(r, EX_OSERR, "out of memory for a %zu-byte document", want);
		r->buf = bigger;
		r->cap = want;
	}
	if (r->start + want > r->cap) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	while (r->end - r->start < want && !r->eof) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return fail(r, EX_IOERR, "read error: %s", strerror(errno));
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
	return 0;
}

/*
 * libbson's UTF-8 check lets through some malformed sequences (a lead byte
 * followed by a non-continuation byte, overlong forms, surrogates), which a
 * restore would then send to the server: check every key and string strictly.
 */
static int
utf8_is_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Returns 1 if the NUL-free string s is strict UTF-8. */
static int
cstring_is_utf8(const char *s)
{
	return utf8_is_valid((const uint8_t *)s, strlen(s));
}

/*
 * Walks a document bson_validate has passed; returns the name of the first
 * field that is still bad ("(a field name)" when the name itself is bad and
 * cannot be quoted) and sets *why, or returns NULL if all are good.  Beyond
 * bson_validate: every key and string must be strict UTF-8, and every
 * embedded document and array must end with its NUL byte, which
 * bson_validate does not look at and on which libbson's copy and append
 * functions assert.
 */
static const char *
find_bad_field(bson_iter_t *it, const char **why)
{
	while (bson_iter_next(it)) {
		const char *key = bson_iter_key(it), *v = NULL, *options = "", *bad;
		const uint8_t *data = NULL;
		uint32_t len = 0;
		bson_iter_t child;

		*why = "invalid UTF-8 in key or string";
		if (!cstring_is_utf8(key))
			return "(a field name)";
		switch (bson_iter_type(it)) {
		case BSON_TYPE_UTF8:
			v = bson_iter_utf8(it, &len);
			break;
		case BSON_TYPE_CODE:
			v = bson_iter_code(it, &len);
			break;
		case BSON_TYPE_SYMBOL:
			v = bson_iter_symbol(it, &len);
			break;
		case BSON_TYPE_REGEX:
			v = bson_iter_regex(it, &options);
			len = (uint32_t)strlen(v);
			break;
		case BSON_TYPE_DOCUMENT:
		case BSON_TYPE_ARRAY:
			if (BSON_ITER_HOLDS_DOCUMENT(it))
				bson_iter_document(it, &len, &data);
			else
				bson_iter_array(it, &len, &data);
			if (data == NULL || len < TV_BSON_MIN_SIZE || data[len - 1] != '\0') {
				*why = "embedded document or array without its closing NUL";
				return key;
			}
			if (bson_iter_recurse(it, &child) && (bad = find_bad_field(&child, why)) != NULL)
				return bad;
			break;
		default:
			break;
		}
		if (v != NULL && (!utf8_is_valid((const uint8_t *)v, len) || !cstring_is_utf8(options)))
			return key;
	}
	return NULL;
}

int
tv_bson_reader_next(struct tv_bson_reader *r, bson_t *doc)
{
	bson_error_t err;
	bson_iter_t it;
	const char *bad_field, *why;
	size_t have;
	uint32_t len;

	if (r->status)
		return -1;
	if (fill(r, 4) == -1)
		return -1;
	have = r->end - r->start;
	if (have == 0)
		return 0;
	if (have < 4)
		return fail(r, EX_DATAERR, "truncated length prefix: %zu trailing byte(s)", have);
	memcpy(&len, r->buf + r->start, 4);
	len = BSON_UINT32_FROM_LE(len);
	if (len < TV_BSON_MIN_SIZE || len > TV_BSON_MAX_SIZE)
		return fail(r, EX_DATAERR, "length prefix %u is out of range (%d..%d)",
		    len, TV_BSON_MIN_SIZE, TV_BSON_MAX_SIZE);
	if (fill(r, len) == -1)
		return -1;
	have = r->end - r->start;
	if (have < len)
		return fail(r, EX_DATAERR, "truncated document: length prefix says %u bytes, stream ends after %zu",
		    len, have);
	if (!bson_init_static(doc, r->buf + r->start, len))
		return fail(r, EX_DATAERR, "invalid document: missing terminating NUL byte");
	/* A string may hold a NUL byte (its length says where it ends): MongoDB stores it, and a
	 * backup that could not restore it would be no backup. */
	if (!bson_validate_with_error(doc, BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL, &err))
		return fail(r, EX_DATAERR, "invalid document: %s", err.message);
	if (bson_iter_init(&it, doc) && (bad_field = find_bad_field(&it, &why)) != NULL)
		return fail(r, EX_DATAERR, "invalid document: %s \"%s\"", why, bad_field);
	r->start += len;
	r->offset += len;
	r->count++;
	return 1;
}

const char *
tv_bson_reader_error(const struct tv_bson_reader *r)
{
	return r->error;
}

int
tv_bson_reader_status(const struct tv_bson_reader *r)
{
	return r->status;
}

uint64_t
tv_bson_reader_count(const struct tv_bson_reader *r)
{
	return r->count;
}

uint64_t
tv_bson_reader_offset(const struct tv_bson_reader *r)
{
	return r->offset;
}

void
tv_bson_reader_close(struct tv_bson_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->name);
	free(r);
}

int
tv_bson_subdocument(const bson_t *doc, const char *key, bson_t *sub)
{
	const uint8_t *data;
	uint32_t len;
	bson_iter_t it;

	if (doc == NULL || !bson_iter_init_find(&it, doc, key))
		return 0;
	if (BSON_ITER_HOLDS_DOCUMENT(&it))
		bson_iter_document(&it, &len, &data);
	else if (BSON_ITER_HOLDS_ARRAY(&it))
		bson_iter_array(&it, &len, &data);
	else
		return 0;
	return bson_init_static(sub, data, len);
}
