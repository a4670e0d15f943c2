/* metadata.c: collections created and indexed as a mongodump metadata file describes them. */

#include <sysexits.h>

#include "bsonstream.h"
#include "log.h"
#include "metadata.h"

/* A metadata file is a few indexes and options; anything bigger is not one. */
#define MAX_METADATA	(16 * 1024 * 1024)

int
tv_metadata_read(const char *path, bson_t *meta)
{
	bson_error_t err;
	bson_json_reader_t *reader = bson_json_reader_new_from_file(path, &err);
	int got;

	if (reader == NULL) {
		tv_error("cannot read %s: %s", path, err.message);
		return EX_NOINPUT;
	}
	bson_init(meta);
	got = bson_json_reader_read(reader, meta, &err);
	bson_json_reader_destroy(reader);
	/* At the end of the input (an empty file) libbson sets no error message. */
	if (got != 1) {
		tv_error("%s: not a metadata JSON object: %s", path,
		    got == 0 ? "the file is empty" : err.message);
		return EX_DATAERR;
	}
	if (meta->len > MAX_METADATA) {
		tv_error("%s: too big for a metadata file", path);
		return EX_DATAERR;
	}
	return 0;
}

int
tv_metadata_create(struct tv_mongo *m, const char *name, const bson_t *meta)
{
	mongoc_collection_t *coll;
	bson_t options;
	bson_error_t err;
	int status = 0;

	if (!tv_bson_subdocument(meta, "options", &options))
		bson_init(&options);
	coll = mongoc_database_create_collection(m->db, name, &options, &err);
	if (coll == NULL && tv_mongo_server_code(&err) != TV_MONGO_NS_EXISTS) {
		tv_error("cannot create collection %s: %s", name, err.message);
		status = tv_mongo_status(&err);
	}
	if (coll != NULL)
		mongoc_collection_destroy(coll);
	bson_destroy(&options);
	return status;
}

/* Collects the names of the collection's indexes as keys of *names; returns 0 or an exit status. */
static int
existing_indexes(struct tv_mongo *m, const char *name, bson_t *names)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, name);
	mongoc_cursor_t *cursor = mongoc_collection_find_indexes_with_opts(coll, NULL);
	const bson_t *index;
	bson_error_t err;
	bson_iter_t it;
	int status = 0;

	bson_init(names);
	while (mongoc_cursor_next(cursor, &index))
		if (bson_iter_init_find(&it, index, "name") && BSON_ITER_HOLDS_UTF8(&it))
			BSON_APPEND_BOOL(names, bson_iter_utf8(&it, NULL), true);
	if (mongoc_cursor_error(cursor, &err)) {
		tv_error("cannot list the indexes of %s: %s", name, err.message);
		status = tv_mongo_status(&err);
	}
	mongoc_cursor_destroy(cursor);
	mongoc_collection_destroy(coll);
	return status;
}

/*
 * Adds the metadata's indexes the collection lacks to the createIndexes
 * command's list (by name: _id's always exists, and FerretDB 1.24 drops the
 * connection when asked to create an index that exists).  "v" and "ns"
 * describe the server that wrote the file and are left for the server that
 * builds the index.  Returns how many, or -1 if an index is not a document.
 */
static long
missing_indexes(const bson_t *indexes, const bson_t *have, bson_t *list)
{
	bson_iter_t it, field, existing;
	uint32_t n = 0;

	if (!bson_iter_init(&it, indexes))
		return 0;
	while (bson_iter_next(&it)) {
		bson_t index, spec;
		const uint8_t *data;
		const char *k;
		char key[16];
		uint32_t len;

		if (!BSON_ITER_HOLDS_DOCUMENT(&it))
			return -1;
		bson_iter_document(&it, &len, &data);
		bson_init_static(&index, data, len);
		/* bson_iter_find, not bson_has_field: index names have dots ("a.b_1"). */
		if (bson_iter_init_find(&field, &index, "name") && BSON_ITER_HOLDS_UTF8(&field) &&
		    bson_iter_init(&existing, have) &&
		    bson_iter_find(&existing, bson_iter_utf8(&field, NULL)))
			continue;
		bson_uint32_to_string(n++, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(list, k, &spec);
		bson_copy_to_excluding_noinit(&index, &spec, "v", "ns", NULL);
		bson_append_document_end(list, &spec);
	}
	return n;
}

int
tv_metadata_indexes(struct tv_mongo *m, const char *name, const bson_t *meta)
{
	bson_t indexes, cmd = BSON_INITIALIZER, list, reply, have;
	bson_error_t err;
	long n;
	int status;

	if (!tv_bson_subdocument(meta, "indexes", &indexes))
		return 0;
	if ((status = existing_indexes(m, name, &have)) != 0) {
		bson_destroy(&have);
		return status;
	}
	BSON_APPEND_UTF8(&cmd, "createIndexes", name);
	BSON_APPEND_ARRAY_BEGIN(&cmd, "indexes", &list);
	n = missing_indexes(&indexes, &have, &list);
	bson_append_array_end(&cmd, &list);
	if (n < 0) {
		tv_error("metadata: an index of %s is not a document", name);
		status = EX_DATAERR;
	} else if (n > 0 && !mongoc_database_write_command_with_opts(m->db, &cmd, NULL, &reply, &err)) {
		tv_error("cannot build the %ld index(es) of %s from the metadata: %s", n, name,
		    err.message);
		status = tv_mongo_status(&err);
	} else if (n > 0)
		tv_debug("built %ld index(es) on %s", n, name);
	if (n > 0)
		bson_destroy(&reply);
	bson_destroy(&cmd);
	bson_destroy(&have);
	return status;
}
