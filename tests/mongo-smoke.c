/* mongo-smoke: proves a MongoDB-wire server answers: inserts a document through the C driver and finds it. */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include <mongoc/mongoc.h>

int
main(void)
{
	const char *uri = getenv("MONGODB_URI");
	mongoc_client_t *client;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cursor;
	const bson_t *found;
	bson_t *doc, *query;
	bson_error_t err;
	int matched = 0;

	if (uri == NULL) {
		fprintf(stderr, "mongo-smoke: MONGODB_URI is not set\n");
		return EX_USAGE;
	}
	mongoc_init();
	client = mongoc_client_new(uri);
	coll = mongoc_client_get_collection(client, "tv_smoke", "smoke");
	doc = BCON_NEW("_id", BCON_INT32(1), "text", BCON_UTF8("привет"));
	mongoc_collection_delete_many(coll, query = bson_new(), NULL, NULL, NULL);
	if (!mongoc_collection_insert_one(coll, doc, NULL, NULL, &err)) {
		fprintf(stderr, "mongo-smoke: insert: %s\n", err.message);
		return EX_UNAVAILABLE;
	}
	cursor = mongoc_collection_find_with_opts(coll, query, NULL, NULL);
	while (mongoc_cursor_next(cursor, &found))
		matched += bson_compare(found, doc) == 0;
	if (mongoc_cursor_error(cursor, &err)) {
		fprintf(stderr, "mongo-smoke: find: %s\n", err.message);
		return EX_UNAVAILABLE;
	}
	printf("found %d\n", matched);
	mongoc_cursor_destroy(cursor);
	bson_destroy(doc);
	bson_destroy(query);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(client);
	mongoc_cleanup();
	return matched == 1 ? 0 : 1;
}
