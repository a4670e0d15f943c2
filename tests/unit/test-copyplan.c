/* Unit tests of the copy plan: from two listings, what the copy lacks, in the order that keeps it whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "copyplan.h"
#include "log.h"
#include "tap.h"

#define SHA(c)	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
		c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

/* The primary: two points (one consistent, one older without an oplog dump), an incomplete folder, a chain. */
static const char primary_listing[] =
    "backups/2026-12-06/manifest.json\t10\t0\n"
    "backups/2026-12-06/tralivali_users.bson.gz\t100\t0\n"
    "backups/2026-12-06/tralivali_users.metadata.json\t20\t0\n"
    "backups/2026-12-07/manifest.json\t11\t0\n"
    "backups/2026-12-07/manifest.json.mac\t32\t0\n"
    "backups/2026-12-07/oplog.bson.gz\t30\t0\n"
    "backups/2026-12-07/tralivali_users.bson.gz\t101\t0\n"
    "backups/2026-12-07/tralivali_users.metadata.json\t21\t0\n"
    "backups/2026-12-07T090000Z/tralivali_users.bson.gz\t99\t0\n"
    "oplog/2026-12-07/1765080000.1-1765080000.1.start.json\t5\t0\n"
    "oplog/2026-12-07/1765080000.1-1765080060.2.bson.gz\t40\t0\n"
    "oplog/2026-12-07/1765080000.1-1765080060.2.json\t6\t0\n"
    "oplog/2026-12-07/1765080060.2-1765080120.3.bson.gz\t41\t0\n"
    "oplog/2026-12-07/1765080120.3-1765080180.4.bson.gz\t42\t0\n"
    "oplog/2026-12-07/1765080120.3-1765080180.4.json\t7\t0\n"
    "oplog/2026-12-07/1765080180.4-1765080240.5.bson.gz\t43\t0\n";

/* Fills folder f's manifest as a Completed one naming users' dump and metadata, and the oplog if with_oplog. */
static void
make_point(struct tv_folder *f, time_t created, int with_oplog)
{
	struct tv_manifest *m = &f->manifest;
	struct tv_manifest_collection *c;

	f->state = TV_FOLDER_POINT;
	m->created = created;
	m->ncollections = 1;
	m->collections = c = calloc(1, sizeof(*c));
	c->name = strdup("users");
	asprintf(&c->file, "%s/tralivali_users.bson.gz", f->name);
	asprintf(&c->metadata_file, "%s/tralivali_users.metadata.json", f->name);
	snprintf(c->sha256, sizeof(c->sha256), "%s", with_oplog ? SHA("b") : SHA("a"));
	if (with_oplog) {
		asprintf(&m->oplog_file, "%s/oplog.bson.gz", f->name);
		snprintf(m->oplog_sha256, sizeof(m->oplog_sha256), "%s", SHA("c"));
	}
}

/* Builds the plan of the primary above against a copy holding the names in copy_listing; returns its names, one a line. */
static char *
plan_of(const char *copy_listing, struct tv_copy_plan *plan)
{
	struct tv_names pn, cn;
	struct tv_catalog cat;
	FILE *in;
	char *out = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&out, &len);

	in = fmemopen((void *)primary_listing, strlen(primary_listing), "r");
	tv_names_read(&pn, in, "primary");
	rewind(in);
	tv_catalog_init(&cat, "backups");
	tv_catalog_read_listing(&cat, in, "primary");
	fclose(in);
	/* fmemopen refuses an empty buffer: an empty copy lists nothing, as /dev/null does. */
	in = *copy_listing ? fmemopen((void *)copy_listing, strlen(copy_listing), "r") : fopen("/dev/null", "r");
	tv_names_read(&cn, in, "copy");
	fclose(in);
	/* The newer point is listed first to prove that points go oldest first by createdAt. */
	for (size_t i = 0; i < cat.nfolders; i++)
		if (strcmp(cat.folders[i].name, "backups/2026-12-06") == 0)
			make_point(&cat.folders[i], 1765000000, 0);
		else if (strcmp(cat.folders[i].name, "backups/2026-12-07") == 0)
			make_point(&cat.folders[i], 1765080000, 1);
	tv_copy_plan_build(&cat, &pn, &cn, plan);
	for (size_t i = 0; i < plan->nitems; i++)
		fprintf(o, "%s %s%s\n", plan->items[i].name, plan->items[i].sha256[0] ? "sha" : "-",
		    plan->items[i].index ? " indexed" : "");
	fclose(o);
	tv_names_free(&pn);
	tv_names_free(&cn);
	/* The plan's slices point into the catalogue; the tests read only their names, now. */
	return out;
}

static void
test_empty_copy(void)
{
	struct tv_copy_plan plan;
	char *got = plan_of("", &plan);
	const char *want =
	    "backups/2026-12-06/tralivali_users.bson.gz sha\n"
	    "backups/2026-12-06/tralivali_users.metadata.json -\n"
	    "backups/2026-12-06/manifest.json -\n"
	    "backups/2026-12-07/tralivali_users.bson.gz sha\n"
	    "backups/2026-12-07/tralivali_users.metadata.json -\n"
	    "backups/2026-12-07/oplog.bson.gz sha\n"
	    "backups/2026-12-07/manifest.json.mac -\n"
	    "backups/2026-12-07/manifest.json -\n"
	    "oplog/2026-12-07/1765080000.1-1765080000.1.start.json -\n"
	    "oplog/2026-12-07/1765080000.1-1765080060.2.bson.gz - indexed\n"
	    "oplog/2026-12-07/1765080000.1-1765080060.2.json -\n"
	    "oplog/2026-12-07/1765080060.2-1765080120.3.bson.gz -\n"
	    "oplog/2026-12-07/1765080120.3-1765080180.4.bson.gz - indexed\n"
	    "oplog/2026-12-07/1765080120.3-1765080180.4.json -\n";

	ok(strcmp(got, want) == 0, "an empty copy gets points oldest first, blobs (and a manifest's MAC) before manifests, "
	    "then the chain in order");
	if (strcmp(got, want) != 0)
		printf("# got:\n%s", got);
	ok(plan.npoints == 2 && plan.nslices == 3, "two points and three slices are pending (%zu, %zu)", plan.npoints,
	    plan.nslices);
	ok(plan.waiting == 1, "the newest slice, without its index yet, waits for a later run");
	ok(plan.bytes == 100 + 20 + 10 + 101 + 21 + 30 + 32 + 11 + 5 + 40 + 6 + 41 + 42 + 7, "bytes add up (%llu)", plan.bytes);
	tv_copy_plan_free(&plan);
	free(got);
}

static void
test_partial_copy(void)
{
	struct tv_copy_plan plan;
	char *got = plan_of(
	    "backups/2026-12-06/manifest.json\t10\t0\n"
	    "backups/2026-12-06/tralivali_users.bson.gz\t100\t0\n"
	    "backups/2026-12-07/tralivali_users.bson.gz\t101\t0\n"
	    "backups/2026-12-07/tralivali_users.metadata.json\t21\t0\n"
	    "oplog/2026-12-07/1765080000.1-1765080000.1.start.json\t5\t0\n"
	    "oplog/2026-12-07/1765080000.1-1765080060.2.bson.gz\t40\t0\n", &plan);
	const char *want =
	    "backups/2026-12-07/tralivali_users.bson.gz sha\n"
	    "backups/2026-12-07/oplog.bson.gz sha\n"
	    "backups/2026-12-07/manifest.json.mac -\n"
	    "backups/2026-12-07/manifest.json -\n"
	    "oplog/2026-12-07/1765080000.1-1765080060.2.json -\n"
	    "oplog/2026-12-07/1765080060.2-1765080120.3.bson.gz -\n"
	    "oplog/2026-12-07/1765080120.3-1765080180.4.bson.gz - indexed\n"
	    "oplog/2026-12-07/1765080120.3-1765080180.4.json -\n";

	ok(strcmp(got, want) == 0, "a copy cut half-way: a point with its manifest is done, one without has what it "
	    "holds proved by checksum, a slice without its index gets it");
	if (strcmp(got, want) != 0)
		printf("# got:\n%s", got);
	ok(plan.npoints == 1 && plan.nslices == 2, "one point and two slices are pending (%zu, %zu)", plan.npoints,
	    plan.nslices);
	tv_copy_plan_free(&plan);
	free(got);
}

int
main(void)
{
	tv_log_init("test-copyplan");
	test_empty_copy();
	test_partial_copy();
	return tap_done();
}
