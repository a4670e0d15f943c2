/*
 * tv-catalog: the flows' one reader and writer of manifests and the catalogue.
 *
 *	tv-blob-ls | tv-catalog list				recovery points, incomplete folders, oplog ranges
 *	tv-blob-ls backups/2024-01-15 | tv-catalog folder --time T	the folder a new backup takes
 *	tv-catalog manifest --id … --stats F --receipt R …	a new manifest from tv-export and tv-blob-put
 *	tv-blob-get …/manifest.json | tv-catalog check --folder F	an untrusted manifest, checked
 *	tv-blob-get oplog/… | tv-gzip -d | tv-catalog oplog-check --slice NAME
 *	tv-blob-ls | tv-catalog plan (--folder F | --until T.I)	what a restore loads and replays
 *	tv-blob-ls | tv-catalog copy-plan --copy LISTING	what the second store lacks, in copy order
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "bsonstream.h"
#include "catalog.h"
#include "copyplan.h"
#include "help.h"
#include "io.h"
#include "log.h"
#include "manifest.h"
#include "oplog.h"
#include "plan.h"
#include "stats.h"
#include "store.h"

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-catalog list [-qv] [--root ROOT] [--slices] < listing\n"
	    "       tv-catalog folder [-qv] [--root ROOT] --time ISO < listing\n"
	    "       tv-catalog manifest [-qv] --id ID --created-at ISO --type TYPE --folder FOLDER [--database DB]\n"
	    "                  (--stats FILE --receipt FILE [--metadata-receipt FILE])...\n"
	    "                  [--per-collection | --consistent-at T.I-T.I --oplog-receipt FILE\n"
	    "                  --oplog-entries N]\n"
	    "       tv-catalog check [-qv] [--folder FOLDER] [FILE]\n"
	    "       tv-catalog oplog-check [-qv] (--slice NAME | --after T.I --until T.I)\n"
	    "                  [--entries N] [--stats FILE] < oplog.bson\n"
	    "       tv-catalog plan [-qv] [--root ROOT] (--folder FOLDER | --until T.I)\n"
	    "                  [--collections a,b] [--force] < listing\n"
	    "       tv-catalog copy-plan [-qv] --copy LISTING < listing\n");
	if (status == 0)
		tv_help_page("tv-catalog", 1);
	exit(status);
}

/* Options every subcommand takes: -q, -v, --help; returns 1 if ch was one of them. */
static int
common_option(int ch)
{
	switch (ch) {
	case 'h':
		usage(0);
		break;
	case 'q':
		tv_log_set_level(TV_LOG_QUIET);
		return 1;
	case 'v':
		tv_log_set_level(TV_LOG_VERBOSE);
		return 1;
	}
	return 0;
}

#define COMMON_LONGOPTS \
	{ "help",	no_argument,	NULL, 'h' }, \
	{ "quiet",	no_argument,	NULL, 'q' }, \
	{ "verbose",	no_argument,	NULL, 'v' }

/* Prints doc as one line of JSON on stdout; returns 0 or 74. */
static int
print_json(const bson_t *doc)
{
	char *json = bson_as_relaxed_extended_json(doc, NULL);

	if (json == NULL)
		tv_fatal(EX_SOFTWARE, "cannot encode JSON");
	puts(json);
	bson_free(json);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		tv_error("writing standard output: %s", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

/* Prints the catalogue of a listing. */
static int
cmd_list(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root",	required_argument,	NULL, 'r' },
		{ "slices",	no_argument,		NULL, 's' },
		COMMON_LONGOPTS,
		{ NULL,		0,			NULL, 0 }
	};
	struct tv_catalog cat;
	struct tv_store *store = NULL;
	const char *root = "backups";
	bson_t doc = BSON_INITIALIZER;
	int ch, all_slices = 0, status, rc;

	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 's':
			all_slices = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	if (argc != 0)
		usage(EX_USAGE);

	tv_catalog_init(&cat, root);
	if ((status = tv_catalog_read_listing(&cat, stdin, "stdin")) != 0) {
		tv_catalog_free(&cat);
		return status;
	}
	if (cat.nfolders > 0) {
		/* Reading manifests is the restore role's business. */
		store = tv_store_open_role(TV_ROLE_RESTORE);
		status = tv_catalog_load_manifests(&cat, store);
		tv_store_close(store);
		for (size_t i = 0; i < cat.nfolders; i++)
			if (cat.folders[i].state == TV_FOLDER_INVALID)
				tv_error("%s", cat.folders[i].reason);
	}
	/* One bad manifest or slice must not hide the rest: print everything, then fail. */
	rc = tv_catalog_chain(&cat);
	if (status == 0)
		status = rc;
	tv_catalog_append(&cat, &doc, all_slices);
	rc = print_json(&doc);
	bson_destroy(&doc);
	tv_catalog_free(&cat);
	return status ? status : rc;
}

/*
 * Prints what the copy store lacks of the primary, in the order tv-copy copies it, from both
 * stores' listings; reads the primary's manifests and slice indexes for the checksums.
 */
static int
cmd_copy_plan(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "copy",	required_argument,	NULL, 'c' },
		COMMON_LONGOPTS,
		{ NULL,		0,			NULL, 0 }
	};
	const char *copy_path = NULL;
	bson_t doc = BSON_INITIALIZER;
	int ch, status, rc = 0;

	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		if (ch != 'c')
			usage(EX_USAGE);
		copy_path = optarg;
	}
	if (argc != optind || copy_path == NULL)
		usage(EX_USAGE);
	status = tv_copy_plan_make(stdin, copy_path, &doc);
	/* Like list: one bad manifest must not hold back the rest; print the plan, then fail. */
	if (!bson_empty(&doc))
		rc = print_json(&doc);
	bson_destroy(&doc);
	return status ? status : rc;
}

/* Prints the folder a backup started at --time takes: the day's, unless any blob is in it already. */
static int
cmd_folder(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root",	required_argument,	NULL, 'r' },
		{ "time",	required_argument,	NULL, 't' },
		COMMON_LONGOPTS,
		{ NULL,		0,			NULL, 0 }
	};
	struct tv_catalog cat;
	const char *root = "backups", *when_arg = NULL;
	char day[64], later[64], iso[32];
	int ch, status, day_taken = 0, later_taken = 0;
	time_t when;

	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 't':
			when_arg = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	if (argc != 0 || when_arg == NULL)
		usage(EX_USAGE);
	if ((when = tv_iso_time(when_arg)) == -1)
		tv_fatal(EX_USAGE, "--time: not an ISO-8601 UTC time: %s", when_arg);
	tv_iso_format(when, iso, sizeof(iso));
	snprintf(day, sizeof(day), "%s/%.10s", root, iso);
	snprintf(later, sizeof(later), "%s/%.10sT%.2s%.2s%.2sZ", root, iso, iso + 11, iso + 14, iso + 17);

	tv_catalog_init(&cat, root);
	if ((status = tv_catalog_read_listing(&cat, stdin, "stdin")) != 0) {
		tv_catalog_free(&cat);
		return status;
	}
	/* Any blob, complete backup or not, means the folder is someone's: never write into it. */
	for (size_t i = 0; i < cat.nfolders; i++) {
		day_taken |= strcmp(cat.folders[i].name, day) == 0;
		later_taken |= strcmp(cat.folders[i].name, later) == 0;
	}
	tv_catalog_free(&cat);
	if (!day_taken)
		puts(day);
	else if (!later_taken)
		puts(later);
	else {
		tv_error("%s/ and %s/ both exist already; not writing into either", day, later);
		return EX_CANTCREAT;
	}
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* Paths given for one collection. */
struct part {
	const char	*stats;
	const char	*receipt;
	const char	*metadata_receipt;
};

/* Parses --consistent-at START-END. */
static void
parse_range(const char *arg, struct tv_oppos *start, struct tv_oppos *end)
{
	char buf[64], *dash;

	if (strlen(arg) >= sizeof(buf) || (dash = strchr(strcpy(buf, arg), '-')) == NULL)
		tv_fatal(EX_USAGE, "--consistent-at: not T.I-T.I: %s", arg);
	*dash = '\0';
	if (tv_oppos_parse(buf, start) != 0 || tv_oppos_parse(dash + 1, end) != 0)
		tv_fatal(EX_USAGE, "--consistent-at: not T.I-T.I: %s", arg);
}

/* Serializes m and reads it back through the checks every reader applies, then prints it. */
static int
print_checked_manifest(const struct tv_manifest *m)
{
	char err[TV_MANIFEST_ERR_MAX], *json;
	struct tv_manifest back;
	bson_t doc = BSON_INITIALIZER;
	size_t len;
	int rc;

	tv_manifest_append(m, &doc);
	json = bson_as_relaxed_extended_json(&doc, &len);
	bson_destroy(&doc);
	if (json == NULL)
		tv_fatal(EX_SOFTWARE, "cannot encode the manifest");
	/* A manifest no reader would accept must never be written. */
	if ((rc = tv_manifest_parse(json, len, NULL, &back, err)) != 0) {
		tv_error("the manifest built is not valid: %s", err);
		bson_free(json);
		return rc;
	}
	tv_manifest_free(&back);
	puts(json);
	bson_free(json);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : EX_IOERR;
}

/* Prints a new manifest built from tv-export --stats files and tv-blob-put receipts. */
static int
cmd_manifest(int argc, char *argv[])
{
	enum { OPT_CREATED = 256, OPT_FOLDER, OPT_META, OPT_PER, OPT_CONSISTENT, OPT_OPRECEIPT, OPT_OPENTRIES,
	    OPT_DATABASE };
	static const struct option longopts[] = {
		{ "consistent-at",	required_argument,	NULL, OPT_CONSISTENT },
		{ "created-at",		required_argument,	NULL, OPT_CREATED },
		{ "folder",		required_argument,	NULL, OPT_FOLDER },
		{ "database",		required_argument,	NULL, OPT_DATABASE },
		{ "id",			required_argument,	NULL, 'i' },
		{ "metadata-receipt",	required_argument,	NULL, OPT_META },
		{ "oplog-entries",	required_argument,	NULL, OPT_OPENTRIES },
		{ "oplog-receipt",	required_argument,	NULL, OPT_OPRECEIPT },
		{ "per-collection",	no_argument,		NULL, OPT_PER },
		{ "receipt",		required_argument,	NULL, 'r' },
		{ "stats",		required_argument,	NULL, 's' },
		{ "type",		required_argument,	NULL, 't' },
		COMMON_LONGOPTS,
		{ NULL,			0,			NULL, 0 }
	};
	struct tv_manifest m = { 0 };
	struct part *parts = NULL;
	size_t nstats = 0, nreceipts = 0, nmeta = 0;
	const char *folder = NULL, *oplog_receipt = NULL, *entries_arg = NULL;
	char *end;
	int ch, rc = 0;

	m.status = bson_strdup("Completed");
	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		switch (ch) {
		case 'i':
			m.id = bson_strdup(optarg);
			break;
		case 't':
			m.type = bson_strdup(optarg);
			break;
		case OPT_CREATED:
			m.created_at = bson_strdup(optarg);
			break;
		case OPT_FOLDER:
			folder = optarg;
			break;
		case OPT_DATABASE:
			if (!tv_database_name_ok(optarg))
				tv_fatal(EX_USAGE, "--database: not a database name: %s", optarg);
			m.database = bson_strdup(optarg);
			break;
		case 's':
		case 'r':
		case OPT_META:
			/* Each --stats starts a collection; its receipts follow it. */
			if (ch == 's') {
				if ((parts = reallocarray(parts, nstats + 1, sizeof(*parts))) == NULL)
					tv_fatal(EX_OSERR, "out of memory");
				memset(&parts[nstats++], 0, sizeof(*parts));
				parts[nstats - 1].stats = optarg;
			} else if (nstats == 0)
				tv_fatal(EX_USAGE, "--%s before any --stats", ch == 'r' ? "receipt" : "metadata-receipt");
			else if (ch == 'r') {
				parts[nstats - 1].receipt = optarg;
				nreceipts++;
			} else {
				parts[nstats - 1].metadata_receipt = optarg;
				nmeta++;
			}
			break;
		case OPT_PER:
			m.snapshot = TV_SNAPSHOT_PER_COLLECTION;
			break;
		case OPT_CONSISTENT:
			m.snapshot = TV_SNAPSHOT_CONSISTENT;
			parse_range(optarg, &m.consistent_start, &m.consistent_end);
			break;
		case OPT_OPRECEIPT:
			oplog_receipt = optarg;
			break;
		case OPT_OPENTRIES:
			entries_arg = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	if (argc != 0 || m.id == NULL || m.type == NULL || m.created_at == NULL || folder == NULL ||
	    nreceipts != nstats || nmeta > nstats ||
	    (m.snapshot == TV_SNAPSHOT_CONSISTENT) != (oplog_receipt != NULL) ||
	    (oplog_receipt != NULL) != (entries_arg != NULL))
		usage(EX_USAGE);
	m.file_path = bson_strdup_printf("%s/", folder);
	if ((m.collections = calloc(nstats + 1, sizeof(*m.collections))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (size_t i = 0; i < nstats && rc == 0; i++) {
		m.ncollections++;
		if ((rc = tv_manifest_collection_from(parts[i].stats, parts[i].receipt, parts[i].metadata_receipt,
		    &m.collections[i])) == 0)
			m.size += m.collections[i].compressed_bytes;
	}
	if (rc == 0 && oplog_receipt != NULL) {
		struct tv_receipt r = { 0 };

		errno = 0;
		m.oplog_entries = strtoll(entries_arg, &end, 10);
		if (errno != 0 || *end != '\0' || end == entries_arg || m.oplog_entries < 0)
			tv_fatal(EX_USAGE, "--oplog-entries: not a whole number: %s", entries_arg);
		if ((rc = tv_receipt_read(&r, oplog_receipt)) == 0) {
			m.oplog_file = bson_strdup(r.name);
			memcpy(m.oplog_sha256, r.sha256, sizeof(m.oplog_sha256));
			m.size += (int64_t)r.size;
			tv_receipt_free(&r);
		}
	}
	if (rc == 0)
		rc = print_checked_manifest(&m);
	tv_manifest_free(&m);
	free(parts);
	return rc;
}

/* Checks a manifest from a file or stdin; prints it as the catalogue shows it. */
static int
cmd_check(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "folder",	required_argument,	NULL, 'f' },
		COMMON_LONGOPTS,
		{ NULL,		0,			NULL, 0 }
	};
	char err[TV_MANIFEST_ERR_MAX];
	const char *folder = NULL, *name = "stdin";
	struct tv_manifest m;
	bson_t doc = BSON_INITIALIZER;
	int ch, fd = STDIN_FILENO, rc;

	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		if (ch != 'f')
			usage(EX_USAGE);
		folder = optarg;
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		usage(EX_USAGE);
	if (folder != NULL && !tv_folder_ok(folder, NULL))
		tv_fatal(EX_USAGE, "--folder: not a backup folder (ROOT/YYYY-MM-DD[THHMMSSZ]): %s", folder);
	if (argc == 1 && (fd = open(name = argv[0], O_RDONLY)) == -1)
		tv_fatal_errno(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s", name);
	rc = tv_manifest_read_file(fd, name, folder, &m, err);
	if (rc == EX_DATAERR)
		tv_error("%s: not a valid manifest: %s", folder ? folder : name, err);
	if (rc != 0)
		return rc;
	tv_manifest_append(&m, &doc);
	rc = print_json(&doc);
	bson_destroy(&doc);
	tv_manifest_free(&m);
	return rc;
}

/* Parses a slice name's bounds, an encrypted slice's (.enc) too. */
static void
slice_bounds(const char *name, struct tv_oppos *from, struct tv_oppos *to)
{
	char buf[256];
	size_t len = strlen(name);

	if (len >= sizeof(buf))
		tv_fatal(EX_USAGE, "--slice: not an oplog slice name: %s", name);
	memcpy(buf, name, len + 1);
	if (len > 4 && strcmp(buf + len - 4, ".enc") == 0)
		buf[len - 4] = '\0';
	if (tv_slice_parse(buf, from, to) != 0)
		tv_fatal(EX_USAGE, "--slice: not an oplog slice name (oplog/YYYY-MM-DD/T.I-T.I.bson.gz): %s", name);
}

/*
 * Checks an oplog stream on stdin: valid BSON, every entry with a ts, in
 * increasing order, all after the slice's first position (or --after) and up
 * to its last (or --until), as its name or the manifest says.
 */
static int
cmd_oplog_check(int argc, char *argv[])
{
	enum { OPT_AFTER = 256, OPT_UNTIL, OPT_ENTRIES };
	static const struct option longopts[] = {
		{ "after",	required_argument,	NULL, OPT_AFTER },
		{ "entries",	required_argument,	NULL, OPT_ENTRIES },
		{ "slice",	required_argument,	NULL, 'S' },
		{ "stats",	required_argument,	NULL, 's' },
		{ "until",	required_argument,	NULL, OPT_UNTIL },
		COMMON_LONGOPTS,
		{ NULL,		0,			NULL, 0 }
	};
	struct tv_oppos lo = { 0, 0 }, hi = { 0, 0 }, ts, prev = { 0, 0 }, first = { 0, 0 };
	const char *slice = NULL, *after = NULL, *until = NULL, *entries_arg = NULL, *stats = NULL;
	const char *what;
	struct tv_bson_reader *r;
	char a[TV_OPPOS_LEN], b[TV_OPPOS_LEN], la[TV_OPPOS_LEN], lb[TV_OPPOS_LEN];
	bson_t doc, *out;
	uint64_t n = 0;
	int ch, res, rc = 0;

	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		switch (ch) {
		case 'S':
			slice = optarg;
			break;
		case 's':
			stats = optarg;
			break;
		case OPT_AFTER:
			after = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case OPT_ENTRIES:
			entries_arg = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	if (argc != 0 || (slice != NULL) == (after != NULL || until != NULL) ||
	    (slice == NULL && (after == NULL || until == NULL)))
		usage(EX_USAGE);
	if (slice != NULL)
		slice_bounds(slice, &lo, &hi);
	else if (tv_oppos_parse(after, &lo) != 0 || tv_oppos_parse(until, &hi) != 0)
		tv_fatal(EX_USAGE, "--after/--until: not an oplog position T.I");
	what = slice ? slice : "the backup's oplog";

	r = tv_bson_reader_open(STDIN_FILENO, what);
	while ((res = tv_bson_reader_next(r, &doc)) == 1) {
		if (tv_oppos_of_entry(&doc, &ts) != 0) {
			tv_error("%s: entry %llu has no ts timestamp", what, (unsigned long long)n);
			rc = EX_DATAERR;
			break;
		}
		if (n > 0 && tv_oppos_cmp(&ts, &prev) <= 0) {
			tv_error("%s: entry %llu is not after the one before it", what, (unsigned long long)n);
			rc = EX_DATAERR;
			break;
		}
		if (n++ == 0)
			first = ts;
		prev = ts;
	}
	if (res < 0) {
		tv_error("%s", tv_bson_reader_error(r));
		rc = tv_bson_reader_status(r);
	}
	tv_bson_reader_close(r);
	if (rc != 0)
		return rc;
	if (n > 0 && (tv_oppos_cmp(&first, &lo) <= 0 || tv_oppos_cmp(&prev, &hi) > 0)) {
		tv_error("%s: holds entries %s to %s, not all after %s and up to %s", what, tv_oppos_format(&first, a),
		    tv_oppos_format(&prev, b), tv_oppos_format(&lo, la), tv_oppos_format(&hi, lb));
		return EX_DATAERR;
	}
	if (entries_arg != NULL && strtoull(entries_arg, NULL, 10) != n) {
		tv_error("%s: %llu entries, expected %s", what, (unsigned long long)n, entries_arg);
		return EX_DATAERR;
	}
	tv_info("Checked %llu oplog entries in %s", (unsigned long long)n, what);
	if (stats != NULL) {
		out = BCON_NEW("entries", BCON_INT64((int64_t)n));
		rc = tv_stats_write(stats, out);
		bson_destroy(out);
	}
	return rc;
}

/* Reads the listing and the manifests a plan needs: the named folder's alone, unless the plan
 * must name other points (a refusal) or choose one (--until). */
static int
load_for_plan(struct tv_catalog *cat, const struct tv_plan_request *r)
{
	struct tv_store *store;
	struct tv_folder *f = NULL;
	int status;

	if ((status = tv_catalog_read_listing(cat, stdin, "stdin")) != 0 || cat->nfolders == 0)
		return status;
	/* Reading manifests is the restore role's business. */
	store = tv_store_open_role(TV_ROLE_RESTORE);
	/* A manifest that cannot be read or checked classifies its folder: the plan says why. */
	if (r->folder != NULL && (f = tv_catalog_folder(cat, r->folder)) != NULL)
		(void)tv_catalog_load_manifest(f, store);
	if (f == NULL || (f->state != TV_FOLDER_POINT && f->state != TV_FOLDER_INVALID))
		/* Another point's unreadable manifest is no reason to refuse this plan: it is not chosen. */
		(void)tv_catalog_load_manifests(cat, store);
	tv_store_close(store);
	return 0;
}

/* Prints the plan of a restore: the point, its collections and the oplog replayed over them. */
static int
cmd_plan(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root",		required_argument,	NULL, 'r' },
		{ "folder",		required_argument,	NULL, 'f' },
		{ "until",		required_argument,	NULL, 'u' },
		{ "collections",	required_argument,	NULL, 'c' },
		{ "force",		no_argument,		NULL, 'F' },
		COMMON_LONGOPTS,
		{ NULL,			0,			NULL, 0 }
	};
	struct tv_plan_request req = { 0 };
	struct tv_catalog cat;
	struct tv_plan plan;
	const char *root = NULL;
	bson_t doc = BSON_INITIALIZER;
	char folder_root[64];
	int ch, until = 0, status, rc;

	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		if (common_option(ch))
			continue;
		switch (ch) {
		case 'r':
			root = optarg;
			break;
		case 'f':
			req.folder = optarg;
			break;
		case 'u':
			if (tv_oppos_parse(optarg, &req.until) != 0)
				tv_fatal(EX_USAGE, "--until: not an oplog position (T.I): %s", optarg);
			until = 1;
			break;
		case 'c':
			req.collections = optarg;
			break;
		case 'F':
			req.force = 1;
			break;
		default:
			usage(EX_USAGE);
		}
	}
	if (argc != optind || (req.folder != NULL) == until)
		usage(EX_USAGE);
	if (root == NULL && req.folder != NULL) {
		/* A folder's root is its first name: backups, or safety for an undo. */
		snprintf(folder_root, sizeof(folder_root), "%.*s", (int)strcspn(req.folder, "/"), req.folder);
		root = folder_root;
	}
	tv_catalog_init(&cat, root != NULL ? root : "backups");
	if ((status = load_for_plan(&cat, &req)) != 0) {
		tv_catalog_free(&cat);
		return status;
	}
	/* An overlap or a hole is logged; the ranges either side of it are still what they are. */
	if (until)
		(void)tv_catalog_chain(&cat);
	status = tv_plan_make(&cat, &req, &plan);
	if (status == 0 || plan.refused) {
		tv_plan_append(&plan, &doc);
		if ((rc = print_json(&doc)) != 0 && status == 0)
			status = rc;
	}
	bson_destroy(&doc);
	tv_plan_free(&plan);
	tv_catalog_free(&cat);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char	*name;
		int		(*fn)(int, char *[]);
	} cmds[] = {
		{ "check",		cmd_check },
		{ "copy-plan",		cmd_copy_plan },
		{ "folder",		cmd_folder },
		{ "list",		cmd_list },
		{ "manifest",		cmd_manifest },
		{ "oplog-check",	cmd_oplog_check },
		{ "plan",		cmd_plan },
	};

	tv_log_init(argv[0]);
	if (argc < 2)
		usage(EX_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		usage(0);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	tv_error("no such command: %s", argv[1]);
	usage(EX_USAGE);
}
