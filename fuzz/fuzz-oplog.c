/*
 * fuzz-oplog: what the point-in-time flows read from the store: oplog
 * entries (a BSON stream, each entry's position and whether it belongs to
 * the database) and the names of oplog slices in a listing.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsonstream.h"
#include "fuzz.h"
#include "oplog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Entry by entry, as tv-oplog filters a stream and tv-pitr finds its bounds. */
static void
entries(const uint8_t *data, size_t size)
{
	int fd = fuzz_fd(data, size);
	struct tv_bson_reader *r = tv_bson_reader_open(fd, "fuzz");
	struct tv_oppos pos;
	bson_t doc, out;

	while (tv_bson_reader_next(r, &doc) == 1) {
		(void)tv_oppos_of_entry(&doc, &pos);
		if (tv_oplog_select(&doc, "tralivali", &out) == TV_OPLOG_NARROWED)
			bson_destroy(&out);
	}
	tv_bson_reader_close(r);
	close(fd);
}

/* The input as a blob name: a slice's bounds must format back to the name's own. */
static void
names(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), buf[TV_OPPOS_LEN], iso[TV_ISO_LEN];
	struct tv_oppos from, to, p;

	if (tv_slice_parse(s, &from, &to) == 0) {
		(void)tv_oppos_iso(&from, iso);
		(void)tv_oppos_iso(&to, iso);
	}
	if (tv_oppos_parse(s, &p) == 0) {
		tv_oppos_format(&p, buf);
		if (tv_oppos_parse(buf, &from) != 0 || tv_oppos_cmp(&p, &from) != 0)
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	entries(data, size);
	names(data, size);
	return 0;
}
