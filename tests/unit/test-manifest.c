/* Unit tests for the manifest module: names, folders, times, and a manifest read, written and read back. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "manifest.h"
#include "tap.h"

#define SHA0	"0000000000000000000000000000000000000000000000000000000000000000"

static const char good[] =
    "{\"id\": \"0123456789abcdef01234567\", \"createdAt\": \"2024-01-15T15:30:00Z\", \"type\": \"scheduled\","
    " \"status\": \"Completed\", \"filePath\": \"backups/2024-01-15T153000Z/\", \"size\": 9, \"future\": [1],"
    " \"collections\": [{\"name\": \"users\", \"file\": \"backups/2024-01-15T153000Z/tralivali_users.bson.gz.enc\","
    " \"documents\": 3, \"bsonBytes\": 120, \"compressedBytes\": 4.0, \"sha256\": \"" SHA0 "\"}],"
    " \"consistentAt\": {\"start\": \"1705332600.1\", \"end\": \"1705332612.4\"},"
    " \"oplog\": {\"file\": \"backups/2024-01-15T153000Z/oplog.bson.gz\", \"sha256\": \"" SHA0 "\", \"entries\": 2}}";

static void
test_names(void)
{
	char long_name[130];

	ok(tv_collection_name_ok("users"), "a plain collection name is fine");
	ok(tv_collection_name_ok("_a.b-c"), "dots, dashes and a leading underscore are fine");
	ok(!tv_collection_name_ok("../etc"), "a name that climbs out is refused");
	ok(!tv_collection_name_ok("a..b"), "\"..\" anywhere is refused");
	ok(!tv_collection_name_ok(".hidden"), "a leading dot is refused");
	ok(!tv_collection_name_ok("a/b") && !tv_collection_name_ok(""), "a slash or nothing is refused");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[120] = '\0';
	ok(tv_collection_name_ok(long_name), "120 bytes is the longest name");
	long_name[120] = 'x';
	long_name[121] = '\0';
	ok(!tv_collection_name_ok(long_name), "121 bytes is too long");

	ok(tv_blob_name_ok("b/2024-01-15/tralivali_u.bson.gz", "b/2024-01-15", "tralivali_u.bson.gz"),
	    "the canonical blob name");
	ok(tv_blob_name_ok("b/2024-01-15/tralivali_u.bson.gz.enc", "b/2024-01-15", "tralivali_u.bson.gz"),
	    "the canonical name, encrypted");
	ok(!tv_blob_name_ok("b/2024-01-15/tralivali_u.bson.gz.x", "b/2024-01-15", "tralivali_u.bson.gz"),
	    "another suffix is refused");
	ok(!tv_blob_name_ok("b/2024-01-16/tralivali_u.bson.gz", "b/2024-01-15", "tralivali_u.bson.gz"),
	    "another folder's blob is refused");
}

static void
test_folders_and_times(void)
{
	time_t t;

	ok(tv_folder_ok("backups/2024-01-15", &t) && t == 1705276800, "a day folder and its time");
	ok(tv_folder_ok("safety/2024-01-15T153000Z", &t) && t == 1705332600, "a later folder of the day and its time");
	ok(!tv_folder_ok("backups/2024-02-30", NULL), "a date that does not exist is no folder");
	ok(!tv_folder_ok("backups/2024-01-15T1530Z", NULL), "a truncated time is no folder");
	ok(!tv_folder_ok("2024-01-15", NULL), "a folder needs a root");
	ok(tv_iso_time("2024-01-15T15:30:00.123Z") == 1705332600, "fractions of a second are dropped");
	ok(tv_iso_time("2024-01-15") == 1705276800, "a date alone is midnight");
	ok(tv_iso_time("2024-1-15") == -1 && tv_iso_time("2024-01-15T15:30:00Zjunk") == -1,
	    "anything else is not a time");
}

static void
test_round_trip(void)
{
	char err[TV_MANIFEST_ERR_MAX], *json;
	struct tv_manifest m, back;
	bson_t doc = BSON_INITIALIZER;
	size_t len;

	ok(tv_manifest_parse(good, strlen(good), "backups/2024-01-15T153000Z", &m, err) == 0,
	    "a consistent, encrypted manifest with an unknown field reads");
	ok(m.snapshot == TV_SNAPSHOT_CONSISTENT && m.consistent_end.t == 1705332612 && m.consistent_end.i == 4 &&
	    m.oplog_entries == 2 && m.collections[0].compressed_bytes == 4, "its fields are read");
	tv_manifest_append(&m, &doc);
	json = bson_as_relaxed_extended_json(&doc, &len);
	ok(tv_manifest_parse(json, len, NULL, &back, err) == 0 && strcmp(back.collections[0].file, m.collections[0].file) == 0 &&
	    back.created == m.created, "what it writes reads back the same");
	ok(strstr(json, "future") == NULL, "unknown fields are not carried over");
	tv_manifest_free(&back);
	tv_manifest_free(&m);
	bson_free(json);
	bson_destroy(&doc);
	ok(tv_manifest_parse(good, strlen(good), "backups/2024-01-16", &m, err) == EX_DATAERR &&
	    strstr(err, "filePath") != NULL, "read from another folder, it is refused naming filePath");
	ok(tv_manifest_parse("[]", 2, NULL, &m, err) == EX_DATAERR, "a JSON array is no manifest");
}

int
main(void)
{
	test_names();
	test_folders_and_times();
	test_round_trip();
	return tap_done();
}
