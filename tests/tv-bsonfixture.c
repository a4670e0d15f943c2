/*
 * tv-bsonfixture: writes BSON test streams on stdout.
 *   types        one document per BSON type a MongoDB-wire server stores, edge values included
 *   big          one 15 MiB document
 *   unstorable   one document per type FerretDB refuses (Decimal128, the deprecated types)
 *   doubles      -0.0, NaN and the infinities, which FerretDB refuses or alters
 *   seq N [FROM] N small documents with _id FROM, FROM+1, ... (default FROM 0)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bson/bson.h>

#include "io.h"

static void
emit(bson_t *doc)
{
	if (tv_write_all(STDOUT_FILENO, bson_get_data(doc), doc->len) == -1) {
		perror("tv-bsonfixture: write");
		exit(EX_IOERR);
	}
	bson_destroy(doc);
}

/* A document whose _id is the given number, so every fixture has a stable order and key. */
static bson_t *
doc_with_id(int32_t id)
{
	bson_t *doc = bson_new();

	BSON_APPEND_INT32(doc, "_id", id);
	return doc;
}

static void
types(void)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0xfe, 0xff, 'b', 's', 'o', 'n' };
	static const bson_subtype_t subtypes[] = { BSON_SUBTYPE_BINARY, BSON_SUBTYPE_FUNCTION,
	    BSON_SUBTYPE_UUID_DEPRECATED, BSON_SUBTYPE_UUID, BSON_SUBTYPE_MD5,
	    BSON_SUBTYPE_ENCRYPTED, 7, BSON_SUBTYPE_USER };
	bson_t *doc, child, grandchild;
	bson_oid_t oid;
	char key[1100];

	bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
	doc = bson_new();
	BSON_APPEND_OID(doc, "_id", &oid);
	BSON_APPEND_UTF8(doc, "ascii", "hello");
	BSON_APPEND_UTF8(doc, "cyrillic", "привет, мир");
	BSON_APPEND_UTF8(doc, "cjk_emoji", "日本語 🎉 ✓ é");
	BSON_APPEND_UTF8(doc, "empty", "");
	emit(doc);

	doc = doc_with_id(1);
	BSON_APPEND_INT32(doc, "i32", 42);
	BSON_APPEND_INT32(doc, "i32min", INT32_MIN);
	BSON_APPEND_INT32(doc, "i32max", INT32_MAX);
	BSON_APPEND_INT64(doc, "i64", 42);
	BSON_APPEND_INT64(doc, "i64min", INT64_MIN);
	BSON_APPEND_INT64(doc, "i64max", INT64_MAX);
	emit(doc);

	doc = doc_with_id(2);
	BSON_APPEND_DOUBLE(doc, "pi", 3.141592653589793);
	BSON_APPEND_DOUBLE(doc, "zero", 0.0);
	BSON_APPEND_DOUBLE(doc, "max", 1.7976931348623157e308);
	BSON_APPEND_DOUBLE(doc, "denormal", 5e-324);
	emit(doc);

	doc = doc_with_id(3);
	BSON_APPEND_BOOL(doc, "yes", true);
	BSON_APPEND_BOOL(doc, "no", false);
	BSON_APPEND_NULL(doc, "nothing");
	BSON_APPEND_DATE_TIME(doc, "date", 1705312800123);
	BSON_APPEND_DATE_TIME(doc, "before1970", -86400000);
	BSON_APPEND_TIMESTAMP(doc, "ts", 1705312800, 7);
	BSON_APPEND_REGEX(doc, "regex", "^a.*b[0-9]+$", "imsx");
	BSON_APPEND_REGEX(doc, "plainregex", "x", "");
	emit(doc);

	doc = doc_with_id(4);
	for (size_t i = 0; i < sizeof(subtypes) / sizeof(subtypes[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "bin%d", (int)subtypes[i]);
		if (subtypes[i] == BSON_SUBTYPE_UUID || subtypes[i] == BSON_SUBTYPE_UUID_DEPRECATED ||
		    subtypes[i] == BSON_SUBTYPE_MD5) {
			uint8_t sixteen[16];

			for (int j = 0; j < 16; j++)
				sixteen[j] = (uint8_t)(j * 17);
			bson_append_binary(doc, name, -1, subtypes[i], sixteen, 16);
		} else
			bson_append_binary(doc, name, -1, subtypes[i], bytes, sizeof(bytes));
	}
	bson_append_binary(doc, "binempty", -1, BSON_SUBTYPE_BINARY, bytes, 0);
	emit(doc);

	doc = doc_with_id(5);
	BSON_APPEND_DOCUMENT_BEGIN(doc, "nested", &child);
	BSON_APPEND_UTF8(&child, "a", "b");
	BSON_APPEND_ARRAY_BEGIN(&child, "list", &grandchild);
	BSON_APPEND_INT32(&grandchild, "0", 1);
	BSON_APPEND_UTF8(&grandchild, "1", "two");
	BSON_APPEND_DOUBLE(&grandchild, "2", 3.5);
	bson_append_array_end(&child, &grandchild);
	BSON_APPEND_DOCUMENT_BEGIN(&child, "empty", &grandchild);
	bson_append_document_end(&child, &grandchild);
	bson_append_document_end(doc, &child);
	BSON_APPEND_ARRAY_BEGIN(doc, "emptyarray", &child);
	bson_append_array_end(doc, &child);
	emit(doc);

	/* Key order must survive: the server may not sort or deduplicate fields. */
	doc = doc_with_id(6);
	BSON_APPEND_INT32(doc, "z", 1);
	BSON_APPEND_INT32(doc, "a", 2);
	BSON_APPEND_INT32(doc, "m", 3);
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	BSON_APPEND_UTF8(doc, key, "a 1099-byte key");
	BSON_APPEND_UTF8(doc, "ключ", "non-ASCII key");
	emit(doc);
}

static void
big(void)
{
	size_t len = 15 * 1024 * 1024;
	char *text = malloc(len + 1);
	bson_t *doc = doc_with_id(100);

	if (text == NULL)
		exit(EX_OSERR);
	for (size_t i = 0; i < len; i++)
		text[i] = (char)('a' + i % 26);
	text[len] = '\0';
	bson_append_utf8(doc, "text", -1, text, (int)len);
	emit(doc);
	free(text);
}

static void
unstorable(void)
{
	bson_decimal128_t dec;
	bson_oid_t oid;
	bson_t *doc, *scope;

	bson_decimal128_from_string("1234.5678", &dec);
	doc = doc_with_id(200);
	BSON_APPEND_DECIMAL128(doc, "decimal", &dec);
	emit(doc);

	doc = doc_with_id(201);
	BSON_APPEND_UNDEFINED(doc, "undefined");
	emit(doc);

	bson_oid_init_from_string(&oid, "65a1b2c3d4e5f60718293a4b");
	doc = doc_with_id(202);
	bson_append_dbpointer(doc, "dbpointer", -1, "users", &oid);
	emit(doc);

	doc = doc_with_id(203);
	BSON_APPEND_SYMBOL(doc, "symbol", "sym");
	emit(doc);

	doc = doc_with_id(204);
	BSON_APPEND_CODE(doc, "code", "function () { return 1; }");
	emit(doc);

	scope = BCON_NEW("x", BCON_INT32(1));
	doc = doc_with_id(205);
	BSON_APPEND_CODE_WITH_SCOPE(doc, "codewscope", "function () { return x; }", scope);
	bson_destroy(scope);
	emit(doc);

	doc = doc_with_id(206);
	BSON_APPEND_MINKEY(doc, "min");
	emit(doc);

	doc = doc_with_id(207);
	BSON_APPEND_MAXKEY(doc, "max");
	emit(doc);
}

/* FerretDB 1.24 drops the connection on NaN, refuses infinities and stores -0.0 as 0.0. */
static void
edge_doubles(void)
{
	bson_t *doc = doc_with_id(300);

	BSON_APPEND_DOUBLE(doc, "negzero", -0.0);
	BSON_APPEND_DOUBLE(doc, "nan", NAN);
	BSON_APPEND_DOUBLE(doc, "inf", INFINITY);
	BSON_APPEND_DOUBLE(doc, "neginf", -INFINITY);
	emit(doc);
}

static void
seq(long n, long from)
{
	for (long i = from; i < from + n; i++) {
		bson_t *doc = doc_with_id((int32_t)i);

		BSON_APPEND_UTF8(doc, "text", "a small document in a sequence");
		emit(doc);
	}
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "types") == 0)
		types();
	else if (argc == 2 && strcmp(argv[1], "big") == 0)
		big();
	else if (argc == 2 && strcmp(argv[1], "unstorable") == 0)
		unstorable();
	else if (argc == 2 && strcmp(argv[1], "doubles") == 0)
		edge_doubles();
	else if ((argc == 3 || argc == 4) && strcmp(argv[1], "seq") == 0)
		seq(atol(argv[2]), argc == 4 ? atol(argv[3]) : 0);
	else {
		fprintf(stderr, "usage: tv-bsonfixture types | big | unstorable | doubles | seq n [from]\n");
		return EX_USAGE;
	}
	return 0;
}
