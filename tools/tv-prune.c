/*
 * tv-prune: reads a tv-blob-ls listing and deletes the backup dates that are
 * past retention, but never the newest complete backups.
 *
 *	tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 7
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bson/bson.h>

#include "config.h"
#include "log.h"
#include "statedir.h"
#include "store.h"

#define PREFIX		"backups/"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)
#define DAY_LEN		10			/* YYYY-MM-DD */
#define MANIFEST	"manifest.json"
#define MANIFEST_MAX	(1024 * 1024)		/* far above any real manifest */

/* One backup date seen in the listing, with every blob under it. */
struct day {
	char	  date[DAY_LEN + 1];
	int	  has_manifest;
	int	  complete;
	int	  doomed;		/* past retention and not kept */
	char	**names;
	size_t	  nnames;
};

struct days {
	struct day	*v;
	size_t		 n;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tv-prune [-nqv] [--retention-days N] [--keep-min K] [--now TIME]\n");
	exit(EX_USAGE);
}

/* Returns 1 if s starts with a plausible calendar date YYYY-MM-DD followed by '/'. */
static int
is_day(const char *s)
{
	int y, m, d;
	char slash;

	for (int i = 0; i < DAY_LEN; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return 0;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &slash) != 4 || slash != '/')
		return 0;
	return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/*
 * Parses an ISO-8601 UTC time: YYYY-MM-DD, optionally followed by
 * THH:MM or THH:MM:SS and an optional Z.  Returns -1 if it is not one.
 */
static time_t
parse_time(const char *s)
{
	struct tm tm;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm)) == NULL)
		return -1;
	if (*p == 'T' || *p == ' ') {
		if ((p = strptime(p + 1, "%H:%M", &tm)) == NULL)
			return -1;
		if (*p == ':' && (p = strptime(p + 1, "%S", &tm)) == NULL)
			return -1;
		if (*p == 'Z')
			p++;
	}
	if (*p != '\0')
		return -1;
	return timegm(&tm);
}

/* Returns the day entry for date, adding it if this is its first blob; listings come in name order. */
static struct day *
day_for(struct days *days, const char *date)
{
	struct day *d;

	if (days->n > 0 && strncmp(days->v[days->n - 1].date, date, DAY_LEN) == 0)
		return &days->v[days->n - 1];
	for (size_t i = 0; i < days->n; i++)
		if (strncmp(days->v[i].date, date, DAY_LEN) == 0)
			return &days->v[i];
	days->v = reallocarray(days->v, days->n + 1, sizeof(*days->v));
	if (days->v == NULL)
		tv_fatal_errno(EX_OSERR, "out of memory");
	d = &days->v[days->n++];
	memset(d, 0, sizeof(*d));
	memcpy(d->date, date, DAY_LEN);
	return d;
}

/* Reads the listing on stdin (name, tab, size, tab, time) and groups backups/YYYY-MM-DD/ blobs by date. */
static void
read_listing(struct days *days)
{
	char *line = NULL, *tab;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	struct day *d;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		if ((tab = strchr(line, '\t')) == NULL)
			tv_fatal(EX_DATAERR, "stdin:%lu: not a tv-blob-ls line (name, tab, size, tab, time)", lineno);
		*tab = '\0';
		/* Other prefixes (safety backups, anything else) are not ours to prune. */
		if (strncmp(line, PREFIX, PREFIX_LEN) != 0 || !is_day(line + PREFIX_LEN))
			continue;
		d = day_for(days, line + PREFIX_LEN);
		d->names = reallocarray(d->names, d->nnames + 1, sizeof(*d->names));
		if (d->names == NULL || (d->names[d->nnames] = strdup(line)) == NULL)
			tv_fatal_errno(EX_OSERR, "out of memory");
		if (strcmp(line + PREFIX_LEN + DAY_LEN + 1, MANIFEST) == 0)
			d->has_manifest = 1;
		d->nnames++;
	}
	if (ferror(stdin))
		tv_fatal_errno(EX_IOERR, "stdin");
	free(line);
}

/*
 * Reads the manifest of date d and sets d->complete if it says status Completed.
 * Returns 0 when the answer is known, even "incomplete" (no manifest, not JSON,
 * another status); returns the store's status when the manifest could not be
 * read, because then nothing is known and retention must not guess.
 */
static int
read_manifest(struct tv_store *store, struct day *d)
{
	char name[PREFIX_LEN + DAY_LEN + sizeof("/" MANIFEST)], *buf;
	FILE *tmp;
	size_t len;
	bson_t *doc;
	bson_error_t err;
	bson_iter_t it;
	int status;

	d->complete = 0;
	if (!d->has_manifest)
		return 0;
	snprintf(name, sizeof(name), "%s%s/%s", PREFIX, d->date, MANIFEST);
	if ((tmp = tmpfile()) == NULL)
		tv_fatal_errno(EX_CANTCREAT, "temporary file");
	if ((status = tv_store_get(store, name, fileno(tmp))) != 0) {
		fclose(tmp);
		/* Deleted between the listing and now: the date has no manifest. */
		if (status == EX_NOINPUT) {
			tv_warn("%s: gone since the listing, backup counted as incomplete", name);
			return 0;
		}
		tv_error("%s: cannot be read (exit %d): not deleting anything, since an unreadable "
		    "manifest may belong to a backup that must be kept", name, status);
		return status;
	}
	if ((buf = malloc(MANIFEST_MAX)) == NULL)
		tv_fatal_errno(EX_OSERR, "out of memory");
	rewind(tmp);
	len = fread(buf, 1, MANIFEST_MAX, tmp);
	fclose(tmp);
	if ((doc = bson_new_from_json((const uint8_t *)buf, (ssize_t)len, &err)) == NULL)
		tv_warn("%s: not JSON (%s), backup counted as incomplete", name, err.message);
	else if (bson_iter_init_find(&it, doc, "status") && BSON_ITER_HOLDS_UTF8(&it) &&
	    strcmp(bson_iter_utf8(&it, NULL), "Completed") == 0)
		d->complete = 1;
	else
		tv_warn("%s: status is not Completed, backup counted as incomplete", name);
	bson_destroy(doc);
	free(buf);
	return 0;
}

/*
 * Marks the dates to delete: past the cutoff and not among the newest keep_min
 * complete backups.  Reads manifests newest first until keep_min complete ones
 * are found; returns nonzero if any of them is unreadable, and then nothing may be deleted.
 */
static int
plan_deletions(struct tv_store *store, struct days *days, const char *cutoff, long keep_min)
{
	size_t kept = 0;
	int status;

	for (size_t i = 0; i < days->n; i++) {
		struct day *d = &days->v[i];

		if (kept < (size_t)keep_min) {
			if ((status = read_manifest(store, d)) != 0)
				return status;
			if (d->complete) {
				kept++;
				tv_debug("keeping %s%s/: one of the newest %ld complete backups", PREFIX, d->date, keep_min);
				continue;
			}
		}
		d->doomed = strcmp(d->date, cutoff) < 0;
	}
	return 0;
}

/* Deletes every blob of date d, the manifest first so that a half-deleted date reads as incomplete. */
static int
delete_day(struct tv_store *store, const struct day *d)
{
	int status;

	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < d->nnames; i++) {
			int is_manifest = strcmp(d->names[i] + PREFIX_LEN + DAY_LEN + 1, MANIFEST) == 0;

			if (is_manifest != (pass == 0))
				continue;
			if ((status = tv_store_delete(store, d->names[i])) != 0)
				return status;
			tv_debug("deleted %s", d->names[i]);
		}
	tv_info("Deleted old backup: %s%s/", PREFIX, d->date);
	return 0;
}

/* Prints the blobs of date d in the order delete_day would delete them. */
static void
print_day(const struct day *d)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < d->nnames; i++)
			if ((strcmp(d->names[i] + PREFIX_LEN + DAY_LEN + 1, MANIFEST) == 0) == (pass == 0))
				printf("%s\n", d->names[i]);
}

static int
by_date_desc(const void *a, const void *b)
{
	return strcmp(((const struct day *)b)->date, ((const struct day *)a)->date);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run",		no_argument,		NULL, 'n' },
		{ "keep-min",		required_argument,	NULL, 'k' },
		{ "now",		required_argument,	NULL, 'N' },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "retention-days",	required_argument,	NULL, 'r' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ NULL,			0,			NULL, 0 }
	};
	struct days days = { NULL, 0 };
	struct tv_store *store = NULL;
	const char *retention_flag = NULL, *now_arg;
	char cutoff[DAY_LEN + 1], *end;
	long retention, keep_min = 7;
	size_t removed = 0;
	int ch, dry_run = 0, status = 0;
	time_t now, cut;
	struct tm tm;

	tv_log_init(argv[0]);
	now_arg = getenv("TV_NOW");
	while ((ch = getopt_long(argc, argv, "nqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			dry_run = 1;
			break;
		case 'k':
			errno = 0;
			keep_min = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg || keep_min < 0)
				tv_fatal(EX_USAGE, "--keep-min: not a whole number >= 0: %s", optarg);
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
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0)
		usage();
	/* Deleting while a backup or restore runs could remove what it is about to use. */
	if (!dry_run && (status = tv_state_lock("tv-prune")) != 0)
		return status;

	retention = tv_config_get_long("BACKUP_RETENTION_DAYS", retention_flag, 0, 100000);
	now = time(NULL);
	if (now_arg != NULL && *now_arg != '\0' && (now = parse_time(now_arg)) == -1)
		tv_fatal(EX_USAGE, "not an ISO-8601 UTC time (YYYY-MM-DD[THH:MM[:SS]][Z]): %s", now_arg);
	/* A date is past retention when it is before the day retention days ago. */
	cut = now - (time_t)retention * 86400;
	gmtime_r(&cut, &tm);
	strftime(cutoff, sizeof(cutoff), "%Y-%m-%d", &tm);

	read_listing(&days);
	if (days.n > 0) {
		qsort(days.v, days.n, sizeof(*days.v), by_date_desc);
		store = tv_store_open();
	}

	if (store != NULL)
		status = plan_deletions(store, &days, cutoff, keep_min);
	for (size_t i = 0; i < days.n && status == 0; i++) {
		if (!days.v[i].doomed)
			continue;
		if (dry_run)
			print_day(&days.v[i]);
		else if ((status = delete_day(store, &days.v[i])) != 0)
			break;
		removed++;
	}

	if (dry_run)
		tv_info("Would clean up %zu old backup(s) (dry run)", removed);
	else
		tv_info("Cleaned up %zu old backup(s)", removed);
	if (fflush(stdout) != 0)
		tv_fatal_errno(EX_IOERR, "stdout");
	if (store != NULL)
		tv_store_close(store);
	for (size_t i = 0; i < days.n; i++) {
		for (size_t j = 0; j < days.v[i].nnames; j++)
			free(days.v[i].names[j]);
		free(days.v[i].names);
	}
	free(days.v);
	return status;
}
