/*
 * Unit tests of the restore plan: one store (points taken during writes, one without an oplog
 * position, a broken one, an incomplete one; two oplog ranges with a break between them) and,
 * for each way of naming a target, what is loaded and replayed, or the refusal and its words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "log.h"
#include "plan.h"
#include "tap.h"

#define SHA	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ALL_SECOND	4294967295u

/* 2024-01-15T03:00:00Z is 1705287600. */
static const char listing[] =
    "backups/2024-01-15/manifest.json\t10\t2024-01-15T03:00:10Z\n"
    "backups/2024-01-15/oplog.bson.gz\t10\t2024-01-15T03:00:09Z\n"
    "backups/2024-01-15/tralivali_messages.bson.gz\t10\t2024-01-15T03:00:08Z\n"
    "backups/2024-01-15/tralivali_users.bson.gz\t10\t2024-01-15T03:00:07Z\n"
    "backups/2024-01-15T120000Z/manifest.json\t10\t2024-01-15T12:00:10Z\n"
    "backups/2024-01-15T120000Z/oplog.bson.gz\t10\t2024-01-15T12:00:09Z\n"
    "backups/2024-01-15T120000Z/tralivali_messages.bson.gz\t10\t2024-01-15T12:00:08Z\n"
    "backups/2024-01-15T120000Z/tralivali_users.bson.gz\t10\t2024-01-15T12:00:07Z\n"
    "backups/2024-01-16/manifest.json\t10\t2024-01-16T03:00:10Z\n"
    "backups/2024-01-16/tralivali_messages.bson.gz\t10\t2024-01-16T03:00:08Z\n"
    "backups/2024-01-16/tralivali_users.bson.gz\t10\t2024-01-16T03:00:07Z\n"
    "backups/2024-01-17/manifest.json\t10\t2024-01-17T03:00:10Z\n"
    "backups/2024-01-17/tralivali_users.bson.gz\t10\t2024-01-17T03:00:07Z\n"
    "backups/2024-01-18/tralivali_users.bson.gz.enc\t10\t2024-01-18T03:00:07Z\n"
    "oplog/2024-01-15/1705287600.4-1705290000.7.bson.gz\t10\t2024-01-15T03:40:00Z\n"
    "oplog/2024-01-15/1705290000.7-1705300000.1.bson.gz\t10\t2024-01-15T06:26:40Z\n"
    "oplog/2024-01-15/1705300000.1-1705319000.1.break.json\t10\t2024-01-15T11:50:00Z\n"
    "oplog/2024-01-15/1705320000.2-1705330000.3.bson.gz\t10\t2024-01-15T14:46:40Z\n";

/* Classifies folder name of cat by a manifest made of its parts (consistent: "start-end", or NULL). */
static void
set_manifest(struct tv_catalog *cat, const char *name, const char *created, const char *consistent)
{
	char json[2048], range[256] = "";
	struct tv_folder *f = tv_catalog_folder(cat, name);

	if (consistent != NULL)
		snprintf(range, sizeof(range), ", \"consistentAt\": {\"start\": \"%.*s\", \"end\": \"%s\"}, "
		    "\"oplog\": {\"file\": \"%s/oplog.bson.gz\", \"sha256\": \"" SHA "\", \"entries\": 2}",
		    (int)strcspn(consistent, "-"), consistent, strchr(consistent, '-') + 1, name);
	snprintf(json, sizeof(json),
	    "{\"id\": \"0123456789abcdef01234567\", \"createdAt\": \"%s\", \"type\": \"scheduled\","
	    " \"status\": \"Completed\", \"filePath\": \"%s/\", \"size\": 9, \"collections\": ["
	    "{\"name\": \"users\", \"file\": \"%s/tralivali_users.bson.gz\", \"documents\": 3, \"bsonBytes\": 120,"
	    " \"compressedBytes\": 4, \"sha256\": \"" SHA "\"},"
	    "{\"name\": \"messages\", \"file\": \"%s/tralivali_messages.bson.gz\", \"documents\": 5, \"bsonBytes\": 200,"
	    " \"compressedBytes\": 4, \"sha256\": \"" SHA "\"}]%s}",
	    created, name, name, name, range);
	if (f == NULL || tv_catalog_set_manifest(f, json, strlen(json)) != 0) {
		printf("Bail out! cannot set the manifest of %s\n", name);
		exit(99);
	}
}

static void
make_catalog(struct tv_catalog *cat)
{
	FILE *in = fmemopen((void *)listing, sizeof(listing) - 1, "r");

	tv_catalog_init(cat, "backups");
	if (in == NULL || tv_catalog_read_listing(cat, in, "listing") != 0) {
		printf("Bail out! cannot read the listing\n");
		exit(99);
	}
	fclose(in);
	set_manifest(cat, "backups/2024-01-15", "2024-01-15T03:00:00Z", "1705287590.1-1705287600.4");
	set_manifest(cat, "backups/2024-01-15T120000Z", "2024-01-15T12:00:00Z", "1705319990.1-1705320000.2");
	set_manifest(cat, "backups/2024-01-16", "2024-01-16T03:00:00Z", NULL);
	set_manifest(cat, "backups/2024-01-17", "2024-01-17T03:00:00Z", NULL);
	set_manifest(cat, "backups/2024-01-18", "2024-01-18T03:00:00Z", NULL);
	tv_catalog_chain(cat);
}

/* Returns the plan's oplog blobs as one string, "a b c". */
static const char *
blobs(const struct tv_plan *p)
{
	static char buf[1024];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->nblobs; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "", p->blobs[i]);
	return buf;
}

/* Returns the plan's collections as one string, "a,b". */
static const char *
collections(const struct tv_plan *p)
{
	static char buf[256];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->ncollections; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "," : "", p->collections[i]);
	return buf;
}

static int
has(const char *s, const char *part)
{
	if (strstr(s, part) != NULL)
		return 1;
	printf("# %s\n#   lacks: %s\n", s, part);
	return 0;
}

static int
same(const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return 1;
	printf("# got:  %s\n# want: %s\n", got, want);
	return 0;
}

static void
test_folder(struct tv_catalog *cat)
{
	struct tv_plan_request r = { .folder = "backups/2024-01-15" };
	struct tv_plan p;
	char buf[TV_OPPOS_LEN];

	ok(tv_plan_make(cat, &r, &p) == 0 && p.checked && p.replay, "a point by its folder is restored, checked, with a replay");
	ok(same(blobs(&p), "backups/2024-01-15/oplog.bson.gz"), "its own oplog alone is replayed");
	ok(same(tv_oppos_format(&p.from, buf), "1705287590.1") && same(tv_oppos_format(&p.until, buf), "1705287600.4"),
	    "from consistentAt.start up to consistentAt.end");
	ok(same(collections(&p), "users,messages"), "every collection of the point");
	tv_plan_free(&p);

	r.collections = "messages,messages";
	ok(tv_plan_make(cat, &r, &p) == 0 && same(collections(&p), "messages") && p.replay,
	    "--collections picks (once each) and still replays");
	tv_plan_free(&p);

	r.collections = "users,nope";
	ok(tv_plan_make(cat, &r, &p) == 66 && p.refused == 66 &&
	    same(p.reason, "backups/2024-01-15/ has no collection nope (it has: users, messages)"),
	    "a collection the point lacks is refused (66), naming those it has");
	tv_plan_free(&p);

	r = (struct tv_plan_request){ .folder = "backups/2024-01-16" };
	ok(tv_plan_make(cat, &r, &p) == 0 && !p.replay && p.nblobs == 0, "a point without an oplog: its dumps alone");
	tv_plan_free(&p);
}

static void
test_folder_refused(struct tv_catalog *cat)
{
	struct tv_plan_request r = { .folder = "backups/2024-01-14" };
	struct tv_plan p;

	ok(tv_plan_make(cat, &r, &p) == 66 && same(p.reason, "there is no recovery point backups/2024-01-14/. The nearest "
	    "recovery points: backups/2024-01-15 (tv-recover 2024-01-15), backups/2024-01-15T120000Z "
	    "(tv-recover 2024-01-15T120000Z)."), "a date without a point: 66, the two nearest after it");
	tv_plan_free(&p);

	r.folder = "backups/2024-01-17";
	ok(tv_plan_make(cat, &r, &p) == 66 && has(p.reason, "backups/2024-01-17/ is broken: 1 of the 2 blobs its "
	    "manifest names are missing: backups/2024-01-17/tralivali_messages.bson.gz; refusing to restore it. "
	    "The nearest recovery points: backups/2024-01-15T120000Z (tv-recover 2024-01-15T120000Z), "
	    "backups/2024-01-16 (tv-recover 2024-01-16)."), "a broken point: 66, the missing blobs and the nearest points");
	tv_plan_free(&p);

	r.force = 1;
	ok(tv_plan_make(cat, &r, &p) == 66, "--force does not restore a broken point");
	tv_plan_free(&p);

	r = (struct tv_plan_request){ .folder = "backups/2024-01-18" };
	ok(tv_plan_make(cat, &r, &p) == 66 && has(p.reason, "backups/2024-01-18/ has no manifest.json: the backup is "
	    "incomplete") && has(p.reason, "backups/2024-01-16 (tv-recover 2024-01-16)."),
	    "a folder without a manifest: 66, naming the nearest points");
	tv_plan_free(&p);

	r.force = 1;
	ok(tv_plan_make(cat, &r, &p) == 0 && !p.checked && !p.replay && same(collections(&p), "users") &&
	    same(p.manifest->collections[0].file, "backups/2024-01-18/tralivali_users.bson.gz.enc") &&
	    has(p.warning, "restoring its dumps anyway (--force), unchecked"),
	    "--force: its dumps, described from the listing, unchecked");
	tv_plan_free(&p);
}

static void
test_moment(struct tv_catalog *cat)
{
	struct tv_plan_request r = { .until = { 1705295000, ALL_SECOND } };
	struct tv_plan p;

	ok(tv_plan_make(cat, &r, &p) == 0 && same(p.point->name, "backups/2024-01-15") &&
	    same(blobs(&p), "backups/2024-01-15/oplog.bson.gz oplog/2024-01-15/1705287600.4-1705290000.7.bson.gz "
	    "oplog/2024-01-15/1705290000.7-1705300000.1.bson.gz"),
	    "--at inside a range: the newest point before it, its oplog, then the range's slices up to it");
	tv_plan_free(&p);

	r.until = (struct tv_oppos){ 1705287600, 4 };
	ok(tv_plan_make(cat, &r, &p) == 0 && same(blobs(&p), "backups/2024-01-15/oplog.bson.gz"),
	    "--at a point's own end position: its oplog alone");
	tv_plan_free(&p);

	r.until = (struct tv_oppos){ 1705325000, ALL_SECOND };
	ok(tv_plan_make(cat, &r, &p) == 0 && same(p.point->name, "backups/2024-01-15T120000Z") &&
	    same(blobs(&p), "backups/2024-01-15T120000Z/oplog.bson.gz oplog/2024-01-15/1705320000.2-1705330000.3.bson.gz"),
	    "a later point of the day takes over after its own end");
	tv_plan_free(&p);

	r.until = (struct tv_oppos){ 1705374000, ALL_SECOND };
	ok(tv_plan_make(cat, &r, &p) == 0 && same(p.point->name, "backups/2024-01-16") && !p.replay,
	    "--at the second of a point without an oplog position: that point alone");
	tv_plan_free(&p);
}

static void
test_moment_refused(struct tv_catalog *cat)
{
	struct tv_plan_request r = { .until = { 1705287000, ALL_SECOND } };
	struct tv_plan p;

	ok(tv_plan_make(cat, &r, &p) == 65 && same(p.reason, "2024-01-15T02:50:00Z is before every complete recovery "
	    "point: it cannot be restored; nothing was changed. Reachable: 2024-01-15T03:00:00Z to 2024-01-15T06:26:40Z "
	    "(tv-recover --at SECOND); 2024-01-15T12:00:00Z to 2024-01-15T14:46:40Z (tv-recover --at SECOND); "
	    "2024-01-16T03:00:00Z (tv-recover backups/2024-01-16). Nothing is reachable before it."),
	    "--at before every point: 65, every reachable second with its command");
	tv_plan_free(&p);

	r.until = (struct tv_oppos){ 1705310000, ALL_SECOND };
	ok(tv_plan_make(cat, &r, &p) == 65 && has(p.reason, "2024-01-15T09:13:20Z is not within a continuous oplog range "
	    "after backups/2024-01-15/ (position 1705287600.4): it cannot be restored exactly; nothing was changed. "
	    "The shipped oplog covers: 2024-01-15T03:00:00Z to 2024-01-15T06:26:40Z, 2024-01-15T12:00:00Z to "
	    "2024-01-15T14:46:40Z.") && has(p.reason, "The nearest earlier: 2024-01-15T06:26:40Z: tv-recover --at "
	    "2024-01-15T06:26:40Z"), "--at inside the break: 65, the ranges and the nearest earlier second");
	tv_plan_free(&p);

	r.until = (struct tv_oppos){ 1705380000, ALL_SECOND };
	ok(tv_plan_make(cat, &r, &p) == 65 && has(p.reason, "is after backups/2024-01-16/, a backup without an oplog "
	    "position") && has(p.reason, "The nearest earlier: 2024-01-16T03:00:00Z: tv-recover backups/2024-01-16"),
	    "--at after a point without an oplog position: 65, that point's own second is the nearest");
	tv_plan_free(&p);

	r.until = (struct tv_oppos){ 1705287600, 5 };
	ok(tv_plan_make(cat, &r, &p) == 0 && p.nblobs == 2, "one entry past a point's end is reached by the range after it");
	tv_plan_free(&p);
}

int
main(void)
{
	struct tv_catalog cat;

	tv_log_init("test-plan");
	make_catalog(&cat);
	test_folder(&cat);
	test_folder_refused(&cat);
	test_moment(&cat);
	test_moment_refused(&cat);
	tv_catalog_free(&cat);
	return tap_done();
}
