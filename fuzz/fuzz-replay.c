/*
 * fuzz-replay: oplog entries from the store (a BSON stream) through
 * tv-replay's translation into idempotent writes: CRUD, $v: 2 diffs,
 * applyOps, transactions held until their commit, DDL.  Every write handed
 * on must be well formed; an entry that cannot be replayed must say why.
 * The first input byte chooses the options (an end position, a selected
 * collection, a rename); the rest is the stream.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bsonstream.h"
#include "fuzz.h"
#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one write as the bulk writer will use it. */
static int
check_write(const struct tv_write *w, void *arg)
{
	bson_iter_t it;

	if (w->coll == NULL || w->coll[0] == '\0' || w->kind > TV_WRITE_DROP_INDEX)
		abort();
	switch (w->kind) {
	case TV_WRITE_INSERT:
		if (w->doc == NULL)
			abort();
		break;
	case TV_WRITE_REPLACE:
	case TV_WRITE_UPDATE:
	case TV_WRITE_DELETE:
		if (w->filter == NULL || !bson_iter_init_find(&it, w->filter, "_id"))
			abort();
		if ((w->kind == TV_WRITE_DELETE) != (w->doc == NULL))
			abort();
		break;
	case TV_WRITE_DROP:
		if (w->doc != NULL)
			abort();
		break;
	default:
		break;
	}
	if (w->doc != NULL && !bson_validate(w->doc, 0, NULL))
		abort();
	(*(size_t *)arg)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_replay *r;
	struct tv_bson_reader *reader;
	size_t writes = 0;
	uint32_t t, i;
	bson_t doc;
	char *s;
	int fd, rc = 0;

	if (size == 0)
		return 0;
	r = tv_replay_new(check_write, &writes);
	tv_replay_set_db(r, "tralivali");
	if (data[0] & 1)
		tv_replay_set_until(r, 1705287630, 0);
	if (data[0] & 2)
		tv_replay_select(r, "users");
	if (data[0] & 4 && tv_replay_rename(r, "users=users_restore") != 0)
		abort();
	tv_replay_set_txn_limit(r, 1 << 20);
	fd = fuzz_fd(data + 1, size - 1);
	reader = tv_bson_reader_open(fd, "fuzz");
	while (rc == 0 && tv_bson_reader_next(reader, &doc) == 1)
		rc = tv_replay_entry(r, &doc);
	if (rc != 0 && rc != TV_REPLAY_STOP && (rc != 65 || tv_replay_error(r)[0] == '\0'))
		abort();
	tv_bson_reader_close(reader);
	close(fd);
	tv_replay_free(r);

	/* The input as tv-replay --until reads it. */
	s = fuzz_string(data, size);
	(void)tv_replay_parse_position(s, &t, &i);
	free(s);
	return 0;
}
