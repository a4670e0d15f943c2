/* fuzz-bsonstream: BSON streams (mongodump's .bson), as tv-restore reads them from the store. */

#include <stdlib.h>
#include <unistd.h>

#include "bsonstream.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks a document to its leaves: every embedded one must open as a document of its own. */
static void
walk(bson_iter_t *it)
{
	const uint8_t *data;
	uint32_t len;
	bson_iter_t child;
	bson_t sub;

	while (bson_iter_next(it)) {
		(void)bson_iter_key(it);
		if (!BSON_ITER_HOLDS_DOCUMENT(it) && !BSON_ITER_HOLDS_ARRAY(it))
			continue;
		if (BSON_ITER_HOLDS_DOCUMENT(it))
			bson_iter_document(it, &len, &data);
		else
			bson_iter_array(it, &len, &data);
		if (!bson_init_static(&sub, data, len) || !bson_iter_recurse(it, &child))
			abort();
		walk(&child);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fuzz_fd(data, size);
	struct tv_bson_reader *r = tv_bson_reader_open(fd, "fuzz");
	bson_iter_t it;
	bson_t doc;
	int got;

	while ((got = tv_bson_reader_next(r, &doc)) == 1) {
		/* A document that passed validation must be walkable to its end, nested ones included. */
		if (!bson_iter_init(&it, &doc))
			abort();
		walk(&it);
	}
	/* A memory file cannot fail to read: any error is bad data, explained. */
	if (got == -1 && (tv_bson_reader_status(r) != 65 || tv_bson_reader_error(r)[0] == '\0'))
		abort();
	if (tv_bson_reader_offset(r) > size)
		abort();
	tv_bson_reader_close(r);
	close(fd);
	return 0;
}
