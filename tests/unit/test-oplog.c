/* Unit tests for oplog positions, slice names and picking one database's entries. */
#include <string.h>

#include "oplog.h"
#include "settle.h"
#include "tap.h"

static void
test_positions(void)
{
	static const char *bad[] = { "", ".", "1.", ".1", "01.1", "1.01", "-1.2", "+1.2", " 1.2",
	    "1.2 ", "4294967296.0", "1.4294967296", "1.2.3", "1.2x", "1" };
	struct tv_oppos p, q;
	char buf[TV_OPPOS_LEN], iso[TV_ISO_LEN];

	ok(tv_oppos_parse("1705287600.1", &p) == 0 && p.t == 1705287600 && p.i == 1,
	    "parses T.I");
	ok(strcmp(tv_oppos_format(&p, buf), "1705287600.1") == 0, "formats T.I");
	ok(tv_oppos_parse("4294967295.4294967295", &q) == 0 &&
	    strcmp(tv_oppos_format(&q, buf), "4294967295.4294967295") == 0,
	    "round-trips the largest position");
	ok(tv_oppos_parse("0.0", &q) == 0 && q.t == 0 && q.i == 0, "parses 0.0");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(tv_oppos_parse(bad[i], &q) == -1, "rejects \"%s\"", bad[i]);
	tv_oppos_parse("1705287600.9", &p);
	tv_oppos_parse("1705287600.10", &q);
	ok(tv_oppos_cmp(&p, &q) < 0 && tv_oppos_cmp(&q, &p) > 0 && tv_oppos_cmp(&p, &p) == 0,
	    "orders by increment numerically within a second");
	tv_oppos_parse("1705287599.99", &q);
	ok(tv_oppos_cmp(&q, &p) < 0, "orders by seconds first");
	ok(strcmp(tv_oppos_iso(&p, iso), "2024-01-15T03:00:00Z") == 0, "gives the UTC time of a position");
}

static void
test_slice_names(void)
{
	struct tv_oppos from = { 1705363199, 7 }, to = { 1705363260, 4 }, f, t;
	char name[128];

	ok(tv_oplog_name(name, sizeof(name), &from, &to, TV_SLICE_SUFFIX) == 0 &&
	    strcmp(name, "oplog/2024-01-15/1705363199.7-1705363260.4.bson.gz") == 0,
	    "names a slice by its bounds, dated by the first: %s", name);
	ok(tv_oplog_name(name, 20, &from, &to, TV_SLICE_SUFFIX) == -1, "refuses a buffer too small");
	ok(tv_oplog_name(name, sizeof(name), &from, &to, TV_BREAK_SUFFIX) == 0 &&
	    strcmp(name, "oplog/2024-01-15/1705363199.7-1705363260.4.break.json") == 0,
	    "names a break record the same way: %s", name);
	ok(tv_slice_parse("oplog/2024-01-15/1705363199.7-1705363260.4.bson.gz", &f, &t) == 0 &&
	    tv_oppos_cmp(&f, &from) == 0 && tv_oppos_cmp(&t, &to) == 0, "reads a slice name back");
	ok(tv_slice_parse("1705363199.7-1705363260.4", &f, &t) == 0 && tv_oppos_cmp(&t, &to) == 0,
	    "reads bare bounds");
	ok(tv_slice_parse("oplog/2024-01-16/1705363199.7-1705363260.4.bson.gz", &f, &t) == -1,
	    "rejects a slice in the wrong day's folder");
	ok(tv_slice_parse("oplog/2024-01-15/1705363199.7-1705363260.4.json", &f, &t) == -1,
	    "rejects a slice's index");
	ok(tv_slice_parse("oplog/2024-01-15/1705363199.7-1705363260.4.break.json", &f, &t) == -1,
	    "rejects a break record");
	ok(tv_slice_parse("oplog/2024-01-15/x-1705363260.4.bson.gz", &f, &t) == -1,
	    "rejects a name that is not two positions");
}

/* Runs tv_oplog_select on the JSON entry and checks the choice and, if narrowed, the result. */
static void
check_select(const char *what, const char *json, enum tv_oplog_choice want, const char *want_json)
{
	bson_error_t err;
	bson_t *entry = bson_new_from_json((const uint8_t *)json, -1, &err), out;
	enum tv_oplog_choice got;
	int pass;

	if (entry == NULL) {
		ok(0, "%s: bad test JSON: %s", what, err.message);
		return;
	}
	got = tv_oplog_select(entry, "tralivali", &out);
	pass = got == want;
	if (got == TV_OPLOG_NARROWED) {
		bson_t *expect = want_json ? bson_new_from_json((const uint8_t *)want_json, -1, &err) : NULL;

		pass = pass && expect != NULL && bson_equal(expect, &out);
		if (!pass) {
			char *s = bson_as_canonical_extended_json(&out, NULL);

			printf("# got %s\n", s);
			bson_free(s);
		}
		if (expect != NULL)
			bson_destroy(expect);
		bson_destroy(&out);
	}
	ok(pass, "%s", what);
	bson_destroy(entry);
}

#define TS	"\"ts\": {\"$timestamp\": {\"t\": 1705287600, \"i\": 1}}"
#define OP_USERS	"{\"op\": \"i\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 1}}"
#define OP_OTHER	"{\"op\": \"i\", \"ns\": \"other.users\", \"o\": {\"_id\": 2}}"
#define PREV	"\"prevOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 1705287599, \"i\": 3}}, \"t\": 1}"
#define NO_PREV	"\"prevOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 0, \"i\": 0}}, \"t\": -1}"

static void
test_select(void)
{
	check_select("keeps an insert into the database",
	    "{" TS ", \"op\": \"i\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 1}}", TV_OPLOG_KEEP, NULL);
	check_select("drops another database's insert",
	    "{" TS ", \"op\": \"i\", \"ns\": \"other.users\", \"o\": {\"_id\": 1}}", TV_OPLOG_DROP, NULL);
	check_select("drops a database whose name only starts the same",
	    "{" TS ", \"op\": \"i\", \"ns\": \"tralivali_restore.users\", \"o\": {}}", TV_OPLOG_DROP, NULL);
	check_select("drops a no-op of the database",
	    "{" TS ", \"op\": \"n\", \"ns\": \"tralivali.users\", \"o\": {\"msg\": \"x\"}}", TV_OPLOG_DROP, NULL);
	check_select("keeps the database's DDL",
	    "{" TS ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"drop\": \"users\"}}", TV_OPLOG_KEEP, NULL);
	check_select("drops another database's DDL",
	    "{" TS ", \"op\": \"c\", \"ns\": \"other.$cmd\", \"o\": {\"drop\": \"users\"}}", TV_OPLOG_DROP, NULL);
	check_select("keeps a rename from another database into the database",
	    "{" TS ", \"op\": \"c\", \"ns\": \"other.$cmd\", \"o\": {\"renameCollection\": \"other.x\", "
	    "\"to\": \"tralivali.x\"}}", TV_OPLOG_KEEP, NULL);
	check_select("keeps a transaction wholly in the database as it is",
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"lsid\": {\"id\": 1}, \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [" OP_USERS ", " OP_USERS "]}, " NO_PREV "}", TV_OPLOG_KEEP, NULL);
	check_select("narrows a mixed transaction to the database, every other field in place",
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [" OP_OTHER ", " OP_USERS "], \"count\": 2}, " NO_PREV "}",
	    TV_OPLOG_NARROWED,
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [" OP_USERS "], \"count\": 2}, " NO_PREV "}");
	check_select("drops a transaction of another database alone",
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [" OP_OTHER "]}, " NO_PREV "}", TV_OPLOG_DROP, NULL);
	check_select("drops another database's part of a large transaction",
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [" OP_OTHER "], \"partialTxn\": true}, " PREV "}", TV_OPLOG_DROP, NULL);
	check_select("keeps the end of a large transaction, emptied, for its earlier parts",
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [" OP_OTHER "], \"count\": 5}, " PREV "}", TV_OPLOG_NARROWED,
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"txnNumber\": 3, "
	    "\"o\": {\"applyOps\": [], \"count\": 5}, " PREV "}");
	check_select("keeps a prepared transaction's commit",
	    "{" TS ", \"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"commitTransaction\": 1}, " PREV "}",
	    TV_OPLOG_KEEP, NULL);
	check_select("narrows an applyOps nested in an applyOps",
	    "{" TS ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"applyOps\": [" OP_USERS ", "
	    "{\"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"applyOps\": [" OP_USERS ", " OP_OTHER "]}}]}}",
	    TV_OPLOG_NARROWED,
	    "{" TS ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"applyOps\": [" OP_USERS ", "
	    "{\"op\": \"c\", \"ns\": \"admin.$cmd\", \"o\": {\"applyOps\": [" OP_USERS "]}}]}}");
	check_select("keeps the database's empty applyOps",
	    "{" TS ", \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"applyOps\": []}}", TV_OPLOG_KEEP, NULL);
	check_select("drops an entry without op",
	    "{" TS ", \"ns\": \"tralivali.users\", \"o\": {}}", TV_OPLOG_DROP, NULL);
}

/* Adds an entry {ts: t.i} with wall time wall_ms to held, seen at now_ms. */
static int
hold(struct tv_settle *held, uint32_t t, uint32_t i, int64_t wall_ms, int64_t now_ms)
{
	struct tv_oppos pos = { t, i };
	bson_t *e = BCON_NEW("ts", BCON_TIMESTAMP(t, i));
	int rc = tv_settle_add(held, e, &pos, wall_ms, now_ms);

	bson_destroy(e);
	return rc;
}

/* Pops every settled entry at now_ms, appending "t.i " of each to out. */
static void
drain(struct tv_settle *held, int64_t now_ms, char *out, size_t len)
{
	const struct tv_settle_entry *e;
	char pos[TV_OPPOS_LEN];

	while ((e = tv_settle_ready(held, now_ms)) != NULL) {
		strncat(out, tv_oppos_format(&e->pos, pos), len - strlen(out) - 1);
		strncat(out, " ", len - strlen(out) - 1);
		tv_settle_pop(held);
	}
}

static void
test_settle(void)
{
	struct tv_settle held;
	char out[256] = "";
	bson_t *e;
	struct tv_oppos p;

	tv_settle_init(&held, 1000);
	/* 100.2 becomes visible before 100.1, as two concurrent FerretDB writes do. */
	hold(&held, 100, 2, 199900, 200000);
	drain(&held, 200500, out, sizeof(out));
	ok(strcmp(out, "") == 0, "a fresh entry is held for the settle time (%s)", out);
	hold(&held, 100, 1, 199800, 200600);
	ok(hold(&held, 100, 1, 199800, 200700) == 1, "an entry already held is not held twice");
	ok(tv_settle_count(&held) == 2, "two entries are held");
	ok(tv_settle_wait_ms(&held, 200700) == 200, "the wait is until every held one has settled (%lld)",
	    (long long)tv_settle_wait_ms(&held, 200700));
	drain(&held, 200750, out, sizeof(out));
	ok(strcmp(out, "") == 0, "nothing is given back while the first in position order is not settled (%s)", out);
	drain(&held, 200950, out, sizeof(out));
	ok(strcmp(out, "100.1 100.2 ") == 0, "then both, in position order (%s)", out);
	/* An old entry (its wall time long past) is settled as soon as it is seen. */
	out[0] = '\0';
	hold(&held, 90, 7, 90000, 300000);
	drain(&held, 300000, out, sizeof(out));
	ok(strcmp(out, "90.7 ") == 0, "an entry written long ago is given back at once (%s)", out);
	hold(&held, 95, 1, 95000, 300000);
	hold(&held, 96, 1, 299800, 300000);
	tv_settle_clear(&held);
	ok(tv_settle_count(&held) == 0 && tv_settle_ready(&held, 999999) == NULL, "clear drops what is held");
	tv_settle_free(&held);

	e = BCON_NEW("ts", BCON_TIMESTAMP(100, 1), "wall", BCON_DATE_TIME(100123));
	p = (struct tv_oppos){ 100, 1 };
	ok(tv_oplog_wall_ms(e, &p) == 100123, "an entry's wall time is its wall field");
	bson_destroy(e);
	e = BCON_NEW("ts", BCON_TIMESTAMP(100, 1));
	ok(tv_oplog_wall_ms(e, &p) == 100999, "without one, the last ms of its ts second");
	bson_destroy(e);
}

int
main(void)
{
	test_settle();
	test_positions();
	test_slice_names();
	test_select();
	return tap_done();
}
