/* tv-blob-put: stores standard input as one blob, whole or not at all. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "help.h"
#include "io.h"
#include "log.h"
#include "store.h"

enum mode { PUT, STAGE, COMMIT, ABORT, COPY, CAN_COPY };

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: tv-blob-put [-qv] [--role backup|copy] [--sha256 hex] [--receipt file] name\n"
	    "       tv-blob-put [-qv] [--role backup|copy] --no-commit | --commit | --abort --receipt file name\n"
	    "       tv-blob-put [-qv] [--role backup|copy] --from role [--sha256 hex] name\n"
	    "       tv-blob-put [-qv] [--role backup|copy] --from role --can-copy\n");
	if (status == 0)
		tv_help_page("tv-blob-put", 1);
	exit(status);
}

/* Uploads standard input as name, leaving it uncommitted; fills r. */
static int
upload(struct tv_store *store, const char *name, struct tv_receipt *r)
{
	struct tv_upload *up;
	size_t cap = 1 << 20;
	char *buf;
	ssize_t n;
	int rc;

	if ((rc = tv_upload_begin(store, name, &up)) != 0)
		return rc;
	if ((buf = malloc(cap)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	while ((n = tv_read_full(STDIN_FILENO, buf, cap)) > 0)
		if ((rc = tv_upload_write(up, buf, (size_t)n)) != 0)
			break;
	free(buf);
	if (n < 0 && rc == 0) {
		tv_error("reading standard input: %m");
		rc = EX_IOERR;
	}
	/* Only a clean end of input may be committed. */
	if (rc != 0) {
		tv_upload_cancel(up);
		return rc;
	}
	return tv_upload_finish(up, r);
}

/* Reads the receipt of an earlier --no-commit run and checks that it is for name. */
static int
read_receipt(const char *path, const char *name, struct tv_receipt *r)
{
	int rc = tv_receipt_read(r, path);

	if (rc == 0 && strcmp(r->name, name) != 0) {
		tv_error("receipt %s is for %s, not %s", path, r->name, name);
		rc = EX_USAGE;
	}
	return rc;
}

/* Returns 1 if s is 64 hexadecimal digits. */
static int
sha256_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

struct lookup {
	const char	*name;
	int		 found;
};

/* Listing callback: notes whether the blob sought is among those listed. */
static int
same_name(const struct tv_blob *b, void *arg)
{
	struct lookup *l = arg;

	l->found |= strcmp(b->name, l->name) == 0;
	return 0;
}

/*
 * With --sha256, a blob already stored under name with that content is what
 * was asked for (a copy resumed, or raced by another copier): returns 0 if it
 * is there with that checksum, 73 naming both checksums if it holds something
 * else, 66 quietly if there is none.
 */
static int
already_stored(struct tv_store *store, const char *name, const char *sha256)
{
	struct tv_blob b = { 0 };
	struct lookup l = { name, 0 };
	int rc;

	/* A listing answers "is it there" without the error a missing blob's stat logs. */
	if ((rc = tv_store_list(store, name, same_name, &l)) != 0 && rc != EX_NOINPUT)
		return rc;
	if (!l.found)
		return EX_NOINPUT;
	if ((rc = tv_store_stat(store, name, &b)) != 0)
		return rc;
	if (strcasecmp(b.sha256, sha256) == 0) {
		tv_info("%s is already stored with SHA-256 %s", name, sha256);
		return 0;
	}
	tv_error("%s already exists with SHA-256 %s, not the expected %s; nothing was overwritten", name,
	    b.sha256[0] ? b.sha256 : "(none recorded)", sha256);
	return EX_CANTCREAT;
}

/* Returns 0 if what was uploaded has checksum sha256, else 65 after logging both (nothing is committed). */
static int
arrived_intact(const struct tv_receipt *r, const char *sha256)
{
	if (strcasecmp(r->sha256, sha256) == 0)
		return 0;
	tv_error("%s arrived with SHA-256 %s, not the expected %s; not committed", r->name, r->sha256, sha256);
	return EX_DATAERR;
}

/* One line per blob: the seed's for a committed one, its size and checksum at -v. */
static void
log_stored(const struct tv_receipt *r)
{
	if (r->committed) {
		tv_info("Uploaded backup to: %s", r->name);
		tv_debug("%s: %llu bytes, sha256 %s", r->name, r->size, r->sha256);
	} else
		tv_info("Staged (not committed) %s: %llu bytes, sha256 %s", r->name, r->size, r->sha256);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "abort",	no_argument,		NULL, 'A' },
		{ "can-copy",	no_argument,		NULL, 'K' },
		{ "from",	required_argument,	NULL, 'F' },
		{ "commit",	no_argument,		NULL, 'C' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "no-commit",	no_argument,		NULL, 'N' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "receipt",	required_argument,	NULL, 'r' },
		{ "role",	required_argument,	NULL, 'R' },
		{ "sha256",	required_argument,	NULL, 'S' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ NULL,		0,			NULL, 0 }
	};
	struct tv_receipt r = { 0 };
	struct tv_store *store;
	const char *receipt = NULL, *name, *sha256 = NULL;
	enum tv_store_role role = TV_ROLE_BACKUP, from = TV_ROLE_RESTORE;
	enum mode mode = PUT;
	int from_set = 0, can_copy = 0;
	struct tv_store *source;
	int ch, status;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
		case 'C':
		case 'N':
			if (mode != PUT)
				usage(EX_USAGE);
			mode = ch == 'A' ? ABORT : ch == 'C' ? COMMIT : STAGE;
			break;
		case 'F':
			if (tv_store_role_parse(optarg, &from) != 0)
				usage(EX_USAGE);
			from_set = 1;
			break;
		case 'h':
			usage(0);
		case 'K':
			can_copy = 1;
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'r':
			receipt = optarg;
			break;
		case 'R':
			if (tv_store_role_parse(optarg, &role) != 0)
				usage(EX_USAGE);
			break;
		case 'S':
			if (!sha256_ok(optarg)) {
				tv_error("--sha256: not 64 hexadecimal digits: %s", optarg);
				usage(EX_USAGE);
			}
			sha256 = optarg;
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
	if (can_copy || from_set) {
		if (mode != PUT || receipt != NULL || !from_set || argc != !can_copy || (can_copy && sha256 != NULL))
			usage(EX_USAGE);
		mode = can_copy ? CAN_COPY : COPY;
	}
	if (mode == CAN_COPY) {
		/* Like tv-blob-ls --can: 0 yes, 1 no; a flow asks once, then copies each blob its way. */
		store = tv_store_open_role(role);
		source = tv_store_open_role(from);
		status = tv_store_can_copy(store, source) ? 0 : 1;
		tv_info("blobs %s be copied server-side from the %s store to the %s store", status ? "cannot" : "can",
		    tv_store_role_name(from), tv_store_role_name(role));
		tv_store_close(source);
		tv_store_close(store);
		return status;
	}
	if (argc != 1 || (mode != PUT && mode != COPY && receipt == NULL) ||
	    (mode != PUT && mode != COPY && sha256 != NULL))
		usage(EX_USAGE);
	name = argv[0];
	if ((status = tv_store_check_name(name)) != 0)
		return status;

	/* Nothing was staged if the upload never got far enough to write a receipt. */
	if (mode == ABORT && access(receipt, F_OK) != 0) {
		tv_debug("no receipt %s: nothing to discard", receipt);
		return 0;
	}
	store = tv_store_open_role(role);
	if (sha256 != NULL && (status = already_stored(store, name, sha256)) != EX_NOINPUT) {
		tv_store_close(store);
		return status;
	}
	switch (mode) {
	case COPY:
		source = tv_store_open_role(from);
		if ((status = tv_store_copy(store, source, name, sha256)) == EX_CANTCREAT && sha256 != NULL)
			status = already_stored(store, name, sha256);
		else if (status == EX_CANTCREAT)
			tv_error("%s already exists in the store; nothing was overwritten", name);
		else if (status == 0)
			tv_info("Copied %s from the %s store, server-side", name, tv_store_role_name(from));
		tv_store_close(source);
		tv_store_close(store);
		return status;
	case CAN_COPY:
		break;
	case PUT:
	case STAGE:
		if ((status = upload(store, name, &r)) == 0 && sha256 != NULL &&
		    (status = arrived_intact(&r, sha256)) != 0)
			tv_store_abort(store, &r);
		else if (status == 0 && mode == PUT &&
		    (status = tv_store_commit(store, &r)) == EX_CANTCREAT && sha256 != NULL)
			status = already_stored(store, name, sha256);
		break;
	case COMMIT:
		if ((status = read_receipt(receipt, name, &r)) == 0)
			status = tv_store_commit(store, &r);
		break;
	case ABORT:
		if ((status = read_receipt(receipt, name, &r)) == 0 &&
		    (status = tv_store_abort(store, &r)) == 0)
			tv_info("Discarded the uncommitted upload of %s", name);
		break;
	}
	if (status == 0 && mode != ABORT) {
		log_stored(&r);
		if (receipt != NULL)
			status = tv_receipt_write(&r, receipt);
	}
	tv_receipt_free(&r);
	tv_store_close(store);
	return status;
}
