/*
 * tv-prune: reads a tv-blob-ls listing and deletes the recovery points no rule
 * of the retention policy keeps (retention.h), the incomplete folders past
 * retention, and the oplog slices no kept point or the PITR window needs;
 * never the newest complete recovery points.
 *
 *	tv-blob-ls | tv-prune --retention-days 30 --keep-min 7 --keep-monthly 12
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "help.h"
#include "log.h"
#include "retention.h"
#include "statedir.h"
#include "store.h"

#define ROOT		"backups"
#define MANIFEST	"manifest.json"

/* What a run keeps and why, and what it deletes, in order. */
struct plan {
	struct tv_keep		 *keep;		/* per folder of the catalogue: the rules that keep it */
	struct tv_folder	**folders;	/* oldest first */
	size_t			  nfolders;
	struct tv_slice		**slices;	/* oldest first, breaks after the slices */
	size_t			  nslices;
};

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-prune [-nqv] [--retention-days N] [--keep-min K] [--keep-daily N] [--keep-weekly N]\n"
	    "                [--keep-monthly N] [--keep-yearly N] [--pitr-days N] [--now TIME] < listing\n");
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

/* Returns where replay from recovery point p begins: its consistentAt start, else its createdAt. */
static struct tv_oppos
replay_base(const struct tv_folder *p)
{
	struct tv_oppos base = { (uint32_t)p->manifest.created, 0 };

	return p->manifest.snapshot == TV_SNAPSHOT_CONSISTENT ? p->manifest.consistent_start : base;
}

/*
 * Chooses what to delete: the recovery points no rule of the policy keeps,
 * incomplete folders past retention (a recent one may be a backup still
 * running), and the slices and breaks that end before the oplog bound the
 * kept points and BACKUP_PITR_DAYS give.  With no point kept, no slice is
 * deleted: it is all there is.
 */
static void
plan_deletions(struct tv_catalog *cat, const struct tv_retention *r, time_t now, struct plan *plan)
{
	const struct tv_folder **points;
	struct tv_keep *keep;
	struct tv_oppos *bases, bound;
	time_t *when;
	size_t n, nkept = 0;

	if ((points = calloc(cat->nfolders + 1, sizeof(*points))) == NULL ||
	    (when = calloc(cat->nfolders + 1, sizeof(*when))) == NULL ||
	    (keep = calloc(cat->nfolders + 1, sizeof(*keep))) == NULL ||
	    (bases = calloc(cat->nfolders + 1, sizeof(*bases))) == NULL ||
	    (plan->keep = calloc(cat->nfolders + 1, sizeof(*plan->keep))) == NULL ||
	    (plan->folders = calloc(cat->nfolders + 1, sizeof(*plan->folders))) == NULL ||
	    (plan->slices = calloc(cat->nslices + cat->nbreaks + 1, sizeof(*plan->slices))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	n = tv_catalog_points(cat, points);
	for (size_t i = 0; i < n; i++)
		when[i] = points[i]->when;
	tv_retention_decide(r, when, n, now, keep);
	for (size_t i = 0; i < cat->nfolders; i++)
		if (tv_retention_within(r, cat->folders[i].when, now))
			plan->keep[i].rules = 1u << TV_KEEP_WITHIN;
	for (size_t i = 0; i < n; i++) {
		plan->keep[points[i] - cat->folders] = keep[i];
		if (keep[i].rules != 0)
			bases[nkept++] = replay_base(points[i]);
	}
	/* Folders in the catalogue's order (by the time in their names): oldest first. */
	for (size_t i = 0; i < cat->nfolders; i++)
		if (plan->keep[i].rules == 0)
			plan->folders[plan->nfolders++] = &cat->folders[i];
	if (tv_retention_oplog_bound(r, bases, nkept, now, &bound) == 0) {
		for (size_t i = 0; i < cat->nslices; i++)
			if (tv_oppos_cmp(&cat->slices[i].to, &bound) < 0)
				plan->slices[plan->nslices++] = &cat->slices[i];
		for (size_t i = 0; i < cat->nbreaks; i++)
			if (tv_oppos_cmp(&cat->breaks[i].to, &bound) < 0)
				plan->slices[plan->nslices++] = &cat->breaks[i];
	}
	free(points);
	free(when);
	free(keep);
	free(bases);
}

/* Writes folder i's verdict: the rules that keep it, or delete; an incomplete or failed folder says so. */
static void
verdict(const struct tv_catalog *cat, const struct tv_retention *r, const struct plan *plan, size_t i,
    char *buf, size_t size)
{
	const struct tv_folder *f = &cat->folders[i];
	size_t len;

	tv_retention_verdict(r, &plan->keep[i], buf, size);
	len = strlen(buf);
	if (f->state == TV_FOLDER_INCOMPLETE)
		snprintf(buf + len, size - len, " (incomplete)");
	else if (f->state == TV_FOLDER_FAILED)
		snprintf(buf + len, size - len, " (failed)");
}

/* Prints every folder with its verdict, then every slice and break to delete, or (not dry) logs them with -v. */
static void
report(const struct tv_catalog *cat, const struct tv_retention *r, const struct plan *plan, int dry_run)
{
	char buf[512];

	for (size_t i = 0; i < cat->nfolders; i++) {
		verdict(cat, r, plan, i, buf, sizeof(buf));
		if (dry_run)
			printf("%s/\t%s\n", cat->folders[i].name, buf);
		else
			tv_debug("%s/: %s", cat->folders[i].name, buf);
	}
	for (size_t i = 0; i < plan->nslices && dry_run; i++)
		printf("%s\tdelete\n", plan->slices[i]->name);
}

/* Deletes every blob of folder f, the manifest first so that a half-deleted folder reads as incomplete. */
static int
delete_folder(struct tv_store *store, const struct tv_folder *f)
{
	int status;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < f->nblobs; i++) {
			if (is_manifest(f, f->blobs[i]) != (pass == 0))
				continue;
			if ((status = tv_store_delete(store, f->blobs[i])) != 0)
				return status;
			tv_debug("deleted %s", f->blobs[i]);
		}
	tv_info("Deleted old backup: %s/ (%s)", f->name,
	    f->state == TV_FOLDER_POINT ? "recovery point" : "incomplete");
	return 0;
}

/* Carries out the plan, stopping at the first failed deletion. */
static int
execute(struct tv_store *store, const struct plan *plan, size_t *removed)
{
	int status;

	for (size_t i = 0; i < plan->nfolders; i++) {
		if ((status = delete_folder(store, plan->folders[i])) != 0)
			return status;
		(*removed)++;
	}
	for (size_t i = 0; i < plan->nslices; i++) {
		if ((status = tv_store_delete(store, plan->slices[i]->name)) != 0)
			return status;
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
		{ "keep-daily",		required_argument,	NULL, 'D' },
		{ "keep-min",		required_argument,	NULL, 'k' },
		{ "keep-monthly",	required_argument,	NULL, 'M' },
		{ "keep-weekly",	required_argument,	NULL, 'W' },
		{ "keep-yearly",	required_argument,	NULL, 'Y' },
		{ "now",		required_argument,	NULL, 'N' },
		{ "pitr-days",		required_argument,	NULL, 'P' },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "retention-days",	required_argument,	NULL, 'r' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ NULL,			0,			NULL, 0 }
	};
	struct tv_catalog cat;
	struct tv_retention policy;
	struct plan plan = { NULL, NULL, 0, NULL, 0 };
	struct tv_store *store = NULL;
	const char *flag[TV_KEEP_NRULES] = { NULL }, *pitr_flag = NULL, *now_arg;
	size_t removed = 0;
	int ch, dry_run = 0, status = 0;
	time_t now;

	tv_log_init(argv[0]);
	now_arg = getenv("TV_NOW");
	while ((ch = getopt_long(argc, argv, "hnqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'D':
			flag[TV_KEEP_DAILY] = optarg;
			break;
		case 'h':
			usage(0);
			break;
		case 'k':
			flag[TV_KEEP_MIN] = optarg;
			break;
		case 'M':
			flag[TV_KEEP_MONTHLY] = optarg;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'N':
			now_arg = optarg;
			break;
		case 'P':
			pitr_flag = optarg;
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'r':
			flag[TV_KEEP_WITHIN] = optarg;
			break;
		case 'v':
			tv_log_set_level(TV_LOG_VERBOSE);
			break;
		case 'W':
			flag[TV_KEEP_WEEKLY] = optarg;
			break;
		case 'Y':
			flag[TV_KEEP_YEARLY] = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage(EX_USAGE);
	tv_retention_read(&policy, "BACKUP", flag, pitr_flag);
	/* Deleting while a backup or restore runs could remove what it is about to use. */
	if (!dry_run && (status = tv_state_lock("tv-prune")) != 0)
		return status;

	now = time(NULL);
	if (now_arg != NULL && *now_arg != '\0' && (now = tv_iso_time(now_arg)) == -1)
		tv_fatal(EX_USAGE, "not an ISO-8601 UTC time (YYYY-MM-DD[THH:MM[:SS]][Z]): %s", now_arg);

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
		plan_deletions(&cat, &policy, now, &plan);
		report(&cat, &policy, &plan, dry_run);
		if (dry_run) {
			tv_info("Would clean up %zu old backup(s) (dry run)", plan.nfolders);
			if (plan.nslices > 0)
				tv_info("Would clean up %zu old oplog slice(s) and break record(s) (dry run)", plan.nslices);
		} else if ((status = execute(store, &plan, &removed)) == 0) {
			tv_info("Cleaned up %zu old backup(s)", removed);
			if (plan.nslices > 0)
				tv_info("Cleaned up %zu old oplog slice(s) and break record(s)", plan.nslices);
		}
	}
	if (fflush(stdout) != 0 && status == 0)
		status = EX_IOERR;
	if (store != NULL)
		tv_store_close(store);
	free(plan.keep);
	free(plan.folders);
	free(plan.slices);
	tv_catalog_free(&cat);
	return status;
}
