/*
 * tv-prune: reads a tv-blob-ls listing and deletes the recovery points and
 * incomplete folders past retention, and the oplog slices older than the
 * oldest point kept; never the newest complete recovery points.
 *
 *	tv-blob-ls | tv-prune --retention-days 30 --keep-min 7
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "help.h"
#include "log.h"
#include "statedir.h"
#include "store.h"

#define ROOT		"backups"
#define MANIFEST	"manifest.json"

/* What a run deletes, in order. */
struct plan {
	struct tv_folder	**folders;	/* oldest first */
	size_t			  nfolders;
	struct tv_slice		**slices;	/* oldest first, breaks after the slices */
	size_t			  nslices;
};

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-prune [-nqv] [--retention-days N] [--keep-min K] [--now TIME] < listing\n");
	if (status == 0)
		tv_help_page("tv-prune", 1);
	exit(status);
}

/* Returns 1 if blob name is folder f's manifest. */
static int
is_manifest(const struct tv_folder *f, const char *name)
{
	size_t len = strlen(f->name);

	return strncmp(name, f->name, len) == 0 && strcmp(name + len, "/" MANIFEST) == 0;
}

/* Returns 1 if folder f is before the UTC day that starts at cut (the folder's own day counts). */
static int
past_retention(const struct tv_folder *f, time_t cut)
{
	return f->when - f->when % 86400 < cut;
}

/*
 * Chooses what to delete: recovery points past retention except the newest
 * keep_min, incomplete folders past retention, and the slices and breaks that
 * end before the oldest point kept begins (its consistentAt start, else its
 * createdAt).  With no point kept, no slice is deleted: it is all there is.
 */
static void
plan_deletions(struct tv_catalog *cat, long keep_min, time_t cut, struct plan *plan)
{
	const struct tv_folder **points;
	const struct tv_folder *oldest_kept = NULL;
	struct tv_oppos base;
	size_t n;

	if ((points = calloc(cat->nfolders + 1, sizeof(*points))) == NULL ||
	    (plan->folders = calloc(cat->nfolders + 1, sizeof(*plan->folders))) == NULL ||
	    (plan->slices = calloc(cat->nslices + cat->nbreaks + 1, sizeof(*plan->slices))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	n = tv_catalog_points(cat, points);
	for (size_t i = 0; i < n; i++) {
		if (i + (size_t)keep_min >= n) {
			tv_debug("keeping %s/: one of the newest %ld recovery points", points[i]->name, keep_min);
		} else if (past_retention(points[i], cut))
			continue;
		if (oldest_kept == NULL)
			oldest_kept = points[i];
	}
	/* Folders in the catalogue's order (by the time in their names): oldest first. */
	for (size_t i = 0; i < cat->nfolders; i++) {
		struct tv_folder *f = &cat->folders[i];
		int keep = !past_retention(f, cut);

		for (size_t j = 0; j < n && !keep; j++)
			keep = points[j] == f && j + (size_t)keep_min >= n;
		if (!keep)
			plan->folders[plan->nfolders++] = f;
	}
	free(points);
	if (oldest_kept == NULL)
		return;
	if (oldest_kept->manifest.snapshot == TV_SNAPSHOT_CONSISTENT)
		base = oldest_kept->manifest.consistent_start;
	else {
		base.t = (uint32_t)oldest_kept->manifest.created;
		base.i = 0;
	}
	for (size_t i = 0; i < cat->nslices; i++)
		if (tv_oppos_cmp(&cat->slices[i].to, &base) < 0)
			plan->slices[plan->nslices++] = &cat->slices[i];
	for (size_t i = 0; i < cat->nbreaks; i++)
		if (tv_oppos_cmp(&cat->breaks[i].to, &base) < 0)
			plan->slices[plan->nslices++] = &cat->breaks[i];
}

/* Deletes (or, dry, prints) every blob of folder f, the manifest first so that a half-deleted folder reads as incomplete. */
static int
delete_folder(struct tv_store *store, const struct tv_folder *f, int dry_run)
{
	int status;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < f->nblobs; i++) {
			if (is_manifest(f, f->blobs[i]) != (pass == 0))
				continue;
			if (dry_run) {
				printf("%s\n", f->blobs[i]);
				continue;
			}
			if ((status = tv_store_delete(store, f->blobs[i])) != 0)
				return status;
			tv_debug("deleted %s", f->blobs[i]);
		}
	if (!dry_run)
		tv_info("Deleted old backup: %s/ (%s)", f->name,
		    f->state == TV_FOLDER_POINT ? "recovery point" : "incomplete");
	return 0;
}

/* Carries out the plan, stopping at the first failed deletion. */
static int
execute(struct tv_store *store, const struct plan *plan, int dry_run, size_t *removed)
{
	int status;

	for (size_t i = 0; i < plan->nfolders; i++) {
		if ((status = delete_folder(store, plan->folders[i], dry_run)) != 0)
			return status;
		(*removed)++;
	}
	for (size_t i = 0; i < plan->nslices; i++) {
		if (dry_run)
			printf("%s\n", plan->slices[i]->name);
		else if ((status = tv_store_delete(store, plan->slices[i]->name)) != 0)
			return status;
		else
			tv_debug("deleted %s", plan->slices[i]->name);
	}
	return 0;
}

/* Logs every manifest that stopped retention. */
static void
log_unreadable(const struct tv_catalog *cat)
{
	for (size_t i = 0; i < cat->nfolders; i++)
		if (cat->folders[i].state == TV_FOLDER_INVALID)
			tv_error("%s: not deleting anything, since an unreadable manifest may belong to a "
			    "recovery point that must be kept", cat->folders[i].reason);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run",		no_argument,		NULL, 'n' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "keep-min",		required_argument,	NULL, 'k' },
		{ "now",		required_argument,	NULL, 'N' },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "retention-days",	required_argument,	NULL, 'r' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ NULL,			0,			NULL, 0 }
	};
	struct tv_catalog cat;
	struct plan plan = { NULL, 0, NULL, 0 };
	struct tv_store *store = NULL;
	const char *retention_flag = NULL, *now_arg;
	char *end;
	long retention, keep_min = 7;
	size_t removed = 0;
	int ch, dry_run = 0, status = 0;
	time_t now, cut;

	tv_log_init(argv[0]);
	now_arg = getenv("TV_NOW");
	while ((ch = getopt_long(argc, argv, "hnqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'k':
			errno = 0;
			keep_min = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || keep_min < 0 || keep_min > 100000)
				tv_fatal(EX_USAGE, "--keep-min: not a whole number from 0 to 100000: %s", optarg);
			break;
		case 'N':
			now_arg = optarg;
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'r':
			retention_flag = optarg;
			break;
		case 'v':
			tv_log_set_level(TV_LOG_VERBOSE);
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage(EX_USAGE);
	/* Deleting while a backup or restore runs could remove what it is about to use. */
	if (!dry_run && (status = tv_state_lock("tv-prune")) != 0)
		return status;

	retention = tv_config_get_long("BACKUP_RETENTION_DAYS", retention_flag, 0, 100000);
	now = time(NULL);
	if (now_arg != NULL && *now_arg != '\0' && (now = tv_iso_time(now_arg)) == -1)
		tv_fatal(EX_USAGE, "not an ISO-8601 UTC time (YYYY-MM-DD[THH:MM[:SS]][Z]): %s", now_arg);
	/* A folder is past retention when its day is before the day retention days ago. */
	cut = now - (time_t)retention * 86400;
	cut -= cut % 86400;

	tv_catalog_init(&cat, ROOT);
	if ((status = tv_catalog_read_listing(&cat, stdin, "stdin")) != 0) {
		tv_catalog_free(&cat);
		return status;
	}
	if (cat.nfolders > 0 || cat.nslices > 0 || cat.nbreaks > 0)
		store = tv_store_open_role(TV_ROLE_PRUNE);
	/* Retention fails closed: nothing is deleted unless every manifest was read or is truly absent. */
	if (cat.nfolders > 0 && (status = tv_catalog_load_manifests(&cat, store)) != 0)
		log_unreadable(&cat);
	if (status == 0) {
		tv_catalog_chain(&cat);
		plan_deletions(&cat, keep_min, cut, &plan);
		status = execute(store, &plan, dry_run, &removed);
		if (dry_run) {
			tv_info("Would clean up %zu old backup(s) (dry run)", removed);
			if (plan.nslices > 0)
				tv_info("Would clean up %zu old oplog slice(s) and break record(s) (dry run)", plan.nslices);
		} else if (status == 0) {
			tv_info("Cleaned up %zu old backup(s)", removed);
			if (plan.nslices > 0)
				tv_info("Cleaned up %zu old oplog slice(s) and break record(s)", plan.nslices);
		}
	}
	if (fflush(stdout) != 0 && status == 0)
		status = EX_IOERR;
	if (store != NULL)
		tv_store_close(store);
	free(plan.folders);
	free(plan.slices);
	tv_catalog_free(&cat);
	return status;
}
