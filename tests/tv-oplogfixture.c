/*
 * tv-oplogfixture: writes oplog BSON streams for tests and benchmarks on stdout.
 *   json            extended JSON documents on stdin ({"$timestamp": ...} and all), one after another
 *   inserts N COLL  N inserts {_id: 0..N-1, n: 0, text: ...} into db.COLL at 1700000000.1 ...
 *   updates N COLL  N $v: 2 updates cycling over _id 0..999, each setting n, after the inserts
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bson/bson.h>

#include "io.h"

/* The inserts take the first second, the updates the ones after. */
#define BASE_SECONDS	1700000000u
#define PER_SECOND	1000u

static void
emit(bson_t *doc)
{
	if (tv_write_all(STDOUT_FILENO, bson_get_data(doc), doc->len) == -1) {
		perror("tv-oplogfixture: write");
		exit(EX_IOERR);
	}
	bson_destroy(doc);
}

static int
from_json(void)
{
	bson_error_t err;
	bson_json_reader_t *reader = bson_json_reader_new_from_fd(STDIN_FILENO, false);
	bson_t doc = BSON_INITIALIZER;
	int rc;

	while ((rc = bson_json_reader_read(reader, &doc, &err)) == 1) {
		emit(&doc);
		bson_init(&doc);
	}
	bson_destroy(&doc);
	bson_json_reader_destroy(reader);
	if (rc < 0) {
		fprintf(stderr, "tv-oplogfixture: bad JSON: %s\n", err.message);
		return EX_DATAERR;
	}
	return 0;
}

static void
entries(const char *what, unsigned long n, const char *coll)
{
	char *ns = bson_strdup_printf("tralivali.%s", coll);

	for (unsigned long k = 0; k < n; k++) {
		uint32_t sec = BASE_SECONDS + (strcmp(what, "updates") == 0 ? 1 : 0);
		bson_t *e;

		if (strcmp(what, "inserts") == 0)
			e = BCON_NEW("ts", BCON_TIMESTAMP(sec, (uint32_t)k + 1), "op", "i", "ns", ns,
			    "o", "{", "_id", BCON_INT32((int32_t)k), "n", BCON_INT32(0),
			    "text", "a message of a modest length", "}");
		else
			e = BCON_NEW("ts", BCON_TIMESTAMP(sec + (uint32_t)(k / PER_SECOND),
			    (uint32_t)(k % PER_SECOND) + 1), "op", "u", "ns", ns,
			    "o", "{", "$v", BCON_INT32(2), "diff", "{", "u", "{",
			    "n", BCON_INT64((int64_t)k), "}", "}", "}",
			    "o2", "{", "_id", BCON_INT32((int32_t)(k % 1000)), "}");
		emit(e);
	}
	bson_free(ns);
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "json") == 0)
		return from_json();
	if (argc == 4 && (strcmp(argv[1], "inserts") == 0 || strcmp(argv[1], "updates") == 0)) {
		entries(argv[1], strtoul(argv[2], NULL, 10), argv[3]);
		return 0;
	}
	fprintf(stderr, "usage: tv-oplogfixture json | inserts N COLL | updates N COLL\n");
	return EX_USAGE;
}
