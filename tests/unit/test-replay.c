/* Unit tests of the oplog translation: each synthetic entry and the writes it must become. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "replay.h"
#include "tap.h"

static const char *kinds[] = { "insert", "replace", "update", "delete", "truncate", "create",
    "drop", "createIndexes", "dropIndex" };

/* The writes seen so far, one line each: "kind coll filter doc". */
static char seen[16384];

static int
record(const struct tv_write *w, void *arg)
{
	char *filter = w->filter ? bson_as_relaxed_extended_json(w->filter, NULL) : NULL;
	char *doc = w->doc ? bson_as_relaxed_extended_json(w->doc, NULL) : NULL;
	size_t len = strlen(seen);

	snprintf(seen + len, sizeof(seen) - len, "%s%s %s %s %s", len ? "\n" : "", kinds[w->kind],
	    w->coll, filter ? filter : "-", doc ? doc : "-");
	bson_free(filter);
	bson_free(doc);
	return 0;
}

/* Builds a document from extended JSON, or aborts the test run on a typo. */
static bson_t *
doc(const char *json)
{
	bson_error_t err;
	bson_t *b = bson_new_from_json((const uint8_t *)json, -1, &err);

	if (b == NULL) {
		fprintf(stderr, "bad test JSON %s: %s\n", json, err.message);
		exit(99);
	}
	return b;
}

/* Feeds one entry to r; returns tv_replay_entry's result. */
static int
feed(struct tv_replay *r, const char *json)
{
	bson_t *entry = doc(json);
	int rc = tv_replay_entry(r, entry);

	bson_destroy(entry);
	return rc;
}

/* Replays the entries (NULL-terminated) with a fresh replay and checks the writes. */
static void
expect(const char *what, const char *want, const char *const *entries)
{
	struct tv_replay *r = tv_replay_new(record, NULL);
	int rc = 0;

	tv_replay_set_db(r, "tralivali");
	seen[0] = '\0';
	for (; *entries != NULL && rc == 0; entries++)
		rc = feed(r, *entries);
	ok(rc == 0 && strcmp(seen, want) == 0, "%s", what);
	if (rc != 0 || strcmp(seen, want) != 0)
		printf("# rc %d %s\n# got:  %s\n# want: %s\n", rc, tv_replay_error(r), seen, want);
	tv_replay_free(r);
}

#define TS(i)	"\"ts\": {\"$timestamp\": {\"t\": 1700000000, \"i\": " #i "}}"

static void
crud(void)
{
	expect("insert becomes an insert keyed by _id",
	    "insert users { \"_id\" : 1 } { \"_id\" : 1, \"name\" : \"a\" }",
	    (const char *[]){ "{" TS(1) ", \"op\": \"i\", \"ns\": \"tralivali.users\", "
	    "\"o\": {\"_id\": 1, \"name\": \"a\"}}", NULL });
	expect("$v: 1 update keeps its operators and targets o2._id",
	    "update users { \"_id\" : 1 } { \"$set\" : { \"name\" : \"b\" }, \"$unset\" : { \"x\" : true } }",
	    (const char *[]){ "{" TS(2) ", \"op\": \"u\", \"ns\": \"tralivali.users\", "
	    "\"o\": {\"$v\": 1, \"$set\": {\"name\": \"b\"}, \"$unset\": {\"x\": true}}, "
	    "\"o2\": {\"_id\": 1}}", NULL });
	expect("FerretDB's whole-document $set becomes a replacement",
	    "replace users { \"_id\" : 1 } { \"_id\" : 1, \"name\" : \"c\" }",
	    (const char *[]){ "{" TS(3) ", \"op\": \"u\", \"ns\": \"tralivali.users\", "
	    "\"o\": {\"$v\": 1, \"$set\": {\"_id\": 1, \"name\": \"c\"}}, \"o2\": {\"_id\": 1}}", NULL });
	expect("an update without operators is a replacement",
	    "replace users { \"_id\" : 7 } { \"name\" : \"d\" }",
	    (const char *[]){ "{" TS(4) ", \"op\": \"u\", \"ns\": \"tralivali.users\", "
	    "\"o\": {\"name\": \"d\"}, \"o2\": {\"_id\": 7}}", NULL });
	expect("delete becomes deleteOne by _id",
	    "delete users { \"_id\" : 1 } -",
	    (const char *[]){ "{" TS(5) ", \"op\": \"d\", \"ns\": \"tralivali.users\", "
	    "\"o\": {\"_id\": 1}}", NULL });
	expect("no-ops write nothing",
	    "",
	    (const char *[]){ "{" TS(6) ", \"op\": \"n\", \"ns\": \"\", \"o\": {\"msg\": \"periodic noop\"}}",
	    NULL });
}

static void
diffs(void)
{
	expect("$v: 2 diff: updates, inserts and deletes become $set and $unset",
	    "update m { \"_id\" : 1 } { \"$set\" : { \"a\" : 2, \"b\" : \"new\" }, \"$unset\" : { \"c\" : \"\" } }",
	    (const char *[]){ "{" TS(1) ", \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 1}, "
	    "\"o\": {\"$v\": 2, \"diff\": {\"d\": {\"c\": false}, \"u\": {\"a\": 2}, \"i\": {\"b\": \"new\"}}}}",
	    NULL });
	expect("$v: 2 diff: nested sub-diffs become dotted paths",
	    "update m { \"_id\" : 1 } { \"$set\" : { \"p.q.r\" : 1 }, \"$unset\" : { \"p.s\" : \"\" } }",
	    (const char *[]){ "{" TS(2) ", \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 1}, "
	    "\"o\": {\"$v\": 2, \"diff\": {\"sp\": {\"d\": {\"s\": false}, \"sq\": {\"u\": {\"r\": 1}}}}}}",
	    NULL });
	expect("$v: 2 diff: array elements by index, and documents inside arrays",
	    "update m { \"_id\" : 1 } { \"$set\" : { \"arr.0\" : \"x\", \"arr.2.k\" : true, \"arr.5\" : 5 } }",
	    (const char *[]){ "{" TS(3) ", \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 1}, "
	    "\"o\": {\"$v\": 2, \"diff\": {\"sarr\": {\"a\": true, \"u0\": \"x\", \"s2\": {\"u\": {\"k\": true}}, "
	    "\"u5\": 5}}}}", NULL });
	expect("$v: 2 diff: a shorter array is truncated first, then set",
	    "truncate m { \"_id\" : 1 } { \"arr\" : 2 }\n"
	    "update m { \"_id\" : 1 } { \"$set\" : { \"arr.1\" : \"y\" } }",
	    (const char *[]){ "{" TS(4) ", \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 1}, "
	    "\"o\": {\"$v\": 2, \"diff\": {\"sarr\": {\"a\": true, \"l\": 2, \"u1\": \"y\"}}}}", NULL });
	expect("$v: 2 diff: arrays nested in arrays",
	    "update m { \"_id\" : 1 } { \"$set\" : { \"m.1.0\" : 9 } }",
	    (const char *[]){ "{" TS(5) ", \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 1}, "
	    "\"o\": {\"$v\": 2, \"diff\": {\"sm\": {\"a\": true, \"s1\": {\"a\": true, \"u0\": 9}}}}}", NULL });
}

/* Feeds entries to a fresh replay and checks it fails with code and a message containing text. */
static void
expect_failure(const char *what, int code, const char *text, const char *const *entries)
{
	struct tv_replay *r = tv_replay_new(record, NULL);
	int rc = 0;

	tv_replay_set_db(r, "tralivali");
	seen[0] = '\0';
	for (; *entries != NULL && rc == 0; entries++)
		rc = feed(r, *entries);
	ok(rc == code && strstr(tv_replay_error(r), text) != NULL, "%s", what);
	if (rc != code || strstr(tv_replay_error(r), text) == NULL)
		printf("# rc %d: %s\n", rc, tv_replay_error(r));
	tv_replay_free(r);
}

static void
bad_entries(void)
{
	expect_failure("a $v: 2 diff with a binary section is refused", EX_DATAERR,
	    "binary diffs", (const char *[]){ "{" TS(1) ", \"op\": \"u\", \"ns\": \"tralivali.m\", "
	    "\"o2\": {\"_id\": 1}, \"o\": {\"$v\": 2, \"diff\": {\"b\": {\"f\": 1}}}}", NULL });
	expect_failure("an unknown op is refused with its position", EX_DATAERR,
	    "unknown op 'x' at 1700000000.2", (const char *[]){ "{" TS(2) ", \"op\": \"x\", "
	    "\"ns\": \"tralivali.m\", \"o\": {}}", NULL });
	expect_failure("an entry without ts is not an oplog entry", EX_DATAERR, "no timestamp",
	    (const char *[]){ "{\"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"_id\": 1}}", NULL });
	expect_failure("an insert without _id is refused", EX_DATAERR, "has no _id",
	    (const char *[]){ "{" TS(3) ", \"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"a\": 1}}", NULL });
	expect_failure("an entry of admin.system.users is refused, not applied to system.users", EX_DATAERR,
	    "at 1700000000.4 is of another database than tralivali",
	    (const char *[]){ "{" TS(4) ", \"op\": \"i\", \"ns\": \"admin.system.users\", \"o\": {\"_id\": 1}}", NULL });
	expect_failure("an entry of another database is refused, not applied to its collection", EX_DATAERR,
	    "is of another database than tralivali",
	    (const char *[]){ "{" TS(5) ", \"op\": \"u\", \"ns\": \"otherdb.users\", \"o2\": {\"_id\": 1}, "
	    "\"o\": {\"$set\": {\"a\": 1}}}", NULL });
	expect_failure("a database whose name only begins like the source's is another", EX_DATAERR,
	    "is of another database than tralivali",
	    (const char *[]){ "{" TS(6) ", \"op\": \"d\", \"ns\": \"tralivali2.users\", \"o\": {\"_id\": 1}}", NULL });
	expect_failure("ns \"..\" is refused", EX_DATAERR, "is of another database",
	    (const char *[]){ "{" TS(7) ", \"op\": \"i\", \"ns\": \"..\", \"o\": {\"_id\": 1}}", NULL });
	expect_failure("ns \"tralivali...\" is refused", EX_DATAERR, "no valid collection name in ns",
	    (const char *[]){ "{" TS(8) ", \"op\": \"i\", \"ns\": \"tralivali...\", \"o\": {\"_id\": 1}}", NULL });
	expect_failure("ns \"tralivali.../x\" is refused", EX_DATAERR, "no valid collection name in ns",
	    (const char *[]){ "{" TS(9) ", \"op\": \"i\", \"ns\": \"tralivali.../x\", \"o\": {\"_id\": 1}}", NULL });
	expect_failure("a command of another database is refused", EX_DATAERR, "is of another database than tralivali",
	    (const char *[]){ "{" TS(10) ", \"op\": \"c\", \"ns\": \"otherdb.$cmd\", \"o\": {\"drop\": \"users\"}}", NULL });
	expect_failure("a command on an invalid collection name is refused", EX_DATAERR, "names no valid collection",
	    (const char *[]){ "{" TS(11) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"create\": \"../x\"}}", NULL });
	expect_failure("an operation inside applyOps of another database is refused", EX_DATAERR,
	    "is of another database than tralivali",
	    (const char *[]){ "{" TS(12) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"applyOps\": ["
	    "{\"op\": \"i\", \"ns\": \"admin.system.users\", \"o\": {\"_id\": 1}}]}}", NULL });
}

static void
apply_ops(void)
{
	expect("applyOps is expanded, nested ones too, in order",
	    "insert a { \"_id\" : 1 } { \"_id\" : 1 }\n"
	    "delete b { \"_id\" : 2 } -\n"
	    "update a { \"_id\" : 1 } { \"$set\" : { \"x\" : 1 } }",
	    (const char *[]){ "{" TS(1) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"applyOps\": ["
	    "{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}},"
	    "{\"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"applyOps\": ["
	    "  {\"op\": \"d\", \"ns\": \"tralivali.b\", \"o\": {\"_id\": 2}}]}},"
	    "{\"op\": \"u\", \"ns\": \"tralivali.a\", \"o\": {\"$set\": {\"x\": 1}}, \"o2\": {\"_id\": 1}}]}}", NULL });
}

#define LSID "\"lsid\": {\"id\": {\"$binary\": {\"base64\": \"AAAAAAAAAAAAAAAAAAAAAA==\", \"subType\": \"04\"}}}"
#define PREV(i) "\"prevOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 1700000000, \"i\": " #i "}}, \"t\": 1}"
/* A transaction's first entry points at no earlier one. */
#define FIRST	"\"prevOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 0, \"i\": 0}}, \"t\": -1}"

static void
transactions(void)
{
	struct tv_replay *r;
	int rc;

	/* The plain insert of _id 2 comes first: a transaction's writes appear at its commit. */
	expect("a transaction split over partialTxn entries applies at its last entry, in order",
	    "insert a { \"_id\" : 2 } { \"_id\" : 2 }\n"
	    "insert a { \"_id\" : 1 } { \"_id\" : 1 }\n"
	    "insert a { \"_id\" : 3 } { \"_id\" : 3 }",
	    (const char *[]){
	    "{" TS(1) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 5, " FIRST ", "
	    "\"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}}], \"partialTxn\": true}}",
	    "{" TS(2) ", \"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 2}}",
	    "{" TS(3) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 5, " PREV(1) ", "
	    "\"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 3}}], \"count\": 2}}",
	    NULL });

	r = tv_replay_new(record, NULL);
	tv_replay_set_db(r, "tralivali");
	seen[0] = '\0';
	rc = feed(r, "{" TS(1) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 6, "
	    FIRST ", \"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}}], "
	    "\"prepare\": true}}");
	ok(rc == 0 && seen[0] == '\0' && tv_replay_open_transactions(r) == 1,
	    "a prepared transaction waits for its commitTransaction");
	rc = feed(r, "{" TS(2) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 6, "
	    PREV(1) ", \"o\": {\"commitTransaction\": 1, \"commitTimestamp\": "
	    "{\"$timestamp\": {\"t\": 1700000000, \"i\": 2}}}}");
	ok(rc == 0 && strcmp(seen, "insert a { \"_id\" : 1 } { \"_id\" : 1 }") == 0 &&
	    tv_replay_open_transactions(r) == 0, "commitTransaction applies the prepared operations");
	tv_replay_free(r);

	expect("abortTransaction discards the prepared operations", "",
	    (const char *[]){
	    "{" TS(1) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 7, " FIRST ", "
	    "\"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}}], \"prepare\": true}}",
	    "{" TS(2) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 7, " PREV(1) ", "
	    "\"o\": {\"abortTransaction\": 1}}", NULL });
	expect_failure("a transaction whose first entries are missing is refused", EX_DATAERR,
	    "earlier operations are missing", (const char *[]){
	    "{" TS(3) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 8, " PREV(2) ", "
	    "\"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}}]}}", NULL });
	expect_failure("a commitTransaction without its operations is refused", EX_DATAERR,
	    "commitTransaction at 1700000000.4", (const char *[]){
	    "{" TS(4) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 9, " FIRST ", "
	    "\"o\": {\"commitTransaction\": 1}}", NULL });

	r = tv_replay_new(record, NULL);
	tv_replay_set_db(r, "tralivali");
	tv_replay_set_txn_limit(r, 64);
	rc = feed(r, "{" TS(1) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 10, "
	    FIRST ", \"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1, "
	    "\"pad\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}], \"partialTxn\": true}}");
	ok(rc == EX_DATAERR && strstr(tv_replay_error(r), "raise --max-txn-bytes") != NULL,
	    "a transaction bigger than the buffer limit is refused clearly");
	tv_replay_free(r);
}

static void
ddl(void)
{
	expect("create, createIndexes, commitIndexBuild, dropIndexes and drop become commands",
	    "create c - { \"capped\" : true, \"size\" : 4096 }\n"
	    "createIndexes c - { \"0\" : { \"key\" : { \"a\" : 1 }, \"name\" : \"a_1\" } }\n"
	    "createIndexes c - { \"0\" : { \"key\" : { \"b\" : 1 }, \"name\" : \"b_1\", \"unique\" : true } }\n"
	    "dropIndex c - { \"index\" : \"a_1\" }\n"
	    "drop c - -",
	    (const char *[]){
	    "{" TS(1) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"create\": \"c\", \"capped\": true, "
	    "\"size\": 4096, \"idIndex\": {\"v\": 2, \"key\": {\"_id\": 1}, \"name\": \"_id_\"}}}",
	    "{" TS(2) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"createIndexes\": \"c\", \"v\": 2, "
	    "\"key\": {\"a\": 1}, \"name\": \"a_1\"}}",
	    "{" TS(3) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"startIndexBuild\": \"c\"}}",
	    "{" TS(4) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"commitIndexBuild\": \"c\", "
	    "\"indexes\": [{\"v\": 2, \"key\": {\"b\": 1}, \"name\": \"b_1\", \"unique\": true}]}}",
	    "{" TS(5) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"dropIndexes\": \"c\", \"index\": \"a_1\"}}",
	    "{" TS(6) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"drop\": \"c\"}}", NULL });
	expect_failure("renameCollection is refused naming the op and its position", EX_DATAERR,
	    "DDL op renameCollection of tralivali.a at 1700000000.7 is not supported", (const char *[]){
	    "{" TS(7) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"renameCollection\": \"tralivali.a\", "
	    "\"to\": \"tralivali.b\"}}", NULL });
	expect_failure("dropDatabase is refused", EX_DATAERR, "DDL op dropDatabase at 1700000000.8",
	    (const char *[]){ "{" TS(8) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"dropDatabase\": 1}}",
	    NULL });
	expect_failure("collMod is refused", EX_DATAERR, "DDL op collMod of c at 1700000000.9",
	    (const char *[]){ "{" TS(9) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"collMod\": \"c\", "
	    "\"validator\": {}}}", NULL });
	expect_failure("an unknown command is refused", EX_DATAERR, "unknown command frobnicate",
	    (const char *[]){ "{" TS(9) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"frobnicate\": \"c\"}}",
	    NULL });
}

static void
selection(void)
{
	struct tv_replay *r = tv_replay_new(record, NULL);
	const struct tv_replay_counts *c = tv_replay_counts(r);
	int rc;

	tv_replay_set_db(r, "tralivali");
	tv_replay_select(r, "messages");
	tv_replay_select(r, "users");
	ok(tv_replay_rename(r, "messages=tvstage_1_messages") == 0 && tv_replay_rename(r, "x") == -1 &&
	    tv_replay_rename(r, "=y") == -1, "--rename takes FROM=TO only");
	seen[0] = '\0';
	rc = feed(r, "{" TS(1) ", \"op\": \"i\", \"ns\": \"tralivali.messages\", \"o\": {\"_id\": 1}}");
	rc |= feed(r, "{" TS(2) ", \"op\": \"i\", \"ns\": \"tralivali.files\", \"o\": {\"_id\": 1}}");
	rc |= feed(r, "{" TS(3) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": "
	    "{\"renameCollection\": \"tralivali.files\", \"to\": \"tralivali.files2\"}}");
	rc |= feed(r, "{" TS(4) ", \"op\": \"d\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 2}}");
	ok(rc == 0 && strcmp(seen, "insert tvstage_1_messages { \"_id\" : 1 } { \"_id\" : 1 }\n"
	    "delete users { \"_id\" : 2 } -") == 0,
	    "other collections are skipped, renamed ones written to their new name");
	ok(c->entries == 4 && c->applied == 2 && c->skipped == 2 && c->inserts == 1 &&
	    c->deletes == 1, "the counts say what was applied and skipped");

	tv_replay_set_until(r, 1700000000, 5);
	rc = feed(r, "{" TS(5) ", \"op\": \"d\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 3}}");
	ok(rc == 0, "--until includes the entry at the end position");
	rc = feed(r, "{" TS(6) ", \"op\": \"d\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 4}}");
	ok(rc == TV_REPLAY_STOP && strstr(seen, "\"_id\" : 4") == NULL && c->last_i == 5,
	    "the first entry after --until stops the replay unapplied");
	tv_replay_free(r);
}

/* The units of the writes seen so far, one number each, space-separated. */
static char units[256];

static int
record_unit(const struct tv_write *w, void *arg)
{
	size_t len = strlen(units);

	snprintf(units + len, sizeof(units) - len, "%s%llu", len ? " " : "", (unsigned long long)w->unit);
	return 0;
}

static void
write_units(void)
{
	static const char *const entries[] = {
		"{" TS(1) ", \"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}}",
		"{" TS(2) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"applyOps\": ["
		    "{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 2}},"
		    "{\"op\": \"d\", \"ns\": \"tralivali.b\", \"o\": {\"_id\": 1}}]}}",
		"{" TS(3) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 1, " FIRST ", "
		    "\"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 3}}], "
		    "\"partialTxn\": true}}",
		"{" TS(4) ", \"op\": \"d\", \"ns\": \"tralivali.a\", \"o\": {\"_id\": 1}}",
		"{" TS(5) ", \"op\": \"c\", \"ns\": \"admin.$cmd\", " LSID ", \"txnNumber\": 1, " PREV(3) ", "
		    "\"o\": {\"applyOps\": [{\"op\": \"i\", \"ns\": \"tralivali.b\", \"o\": {\"_id\": 4}}]}}",
		"{" TS(6) ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"drop\": \"b\"}}",
		NULL
	};
	struct tv_replay *r = tv_replay_new(record_unit, NULL);
	int rc = 0;

	tv_replay_set_db(r, "tralivali");
	units[0] = '\0';
	for (const char *const *e = entries; *e != NULL && rc == 0; e++)
		rc = feed(r, *e);
	/* tv-replay lands a unit's writes together, apart from every other write. */
	ok(rc == 0 && strcmp(units, "0 2 2 0 5 5 0") == 0,
	    "the writes of one applyOps or transaction share a unit, other writes have none");
	if (rc != 0 || strcmp(units, "0 2 2 0 5 5 0") != 0)
		printf("# rc %d %s\n# got: %s\n", rc, tv_replay_error(r), units);
	tv_replay_free(r);
}

static void
positions(void)
{
	uint32_t t, i;

	ok(tv_replay_parse_position("1705287600.4", &t, &i) == 0 && t == 1705287600 && i == 4,
	    "a position parses as T.I");
	ok(tv_replay_parse_position("1705287600", &t, &i) == 0 && t == 1705287600 && i == UINT32_MAX,
	    "a bare second takes every entry within it");
	ok(tv_replay_parse_position("2024-01-15T03:00:00Z", &t, &i) == 0 && t == 1705287600 &&
	    i == UINT32_MAX, "an ISO-8601 UTC second parses to the whole second");
	ok(tv_replay_parse_position("2024-01-15", &t, &i) == -1 &&
	    tv_replay_parse_position("1705287600.", &t, &i) == -1 &&
	    tv_replay_parse_position("17x", &t, &i) == -1 &&
	    tv_replay_parse_position("2024-01-15T03:00:00+01:00", &t, &i) == -1,
	    "malformed positions are rejected");
}

int
main(void)
{
	crud();
	diffs();
	bad_entries();
	apply_ops();
	transactions();
	ddl();
	selection();
	write_units();
	positions();
	return tap_done();
}
