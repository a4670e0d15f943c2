/* tv-blob-get: writes one blob to standard output, verified against its stored checksum. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "help.h"
#include "log.h"
#include "store.h"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: tv-blob-get [-qv] [--role backup|restore|prune|copy] name\n");
	if (status == 0)
		tv_help_page("tv-blob-get", 1);
	exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help",	no_argument,		NULL, 'h' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "role",	required_argument,	NULL, 'R' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ NULL,		0,			NULL, 0 }
	};
	/* Reading is the restore role's business unless told otherwise. */
	enum tv_store_role role = TV_ROLE_RESTORE;
	struct tv_store *store;
	int ch, status;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(0);
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'R':
			if (tv_store_role_parse(optarg, &role) != 0)
				usage(EX_USAGE);
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
	if (argc != 1)
		usage(EX_USAGE);
	if ((status = tv_store_check_name(argv[0])) != 0)
		return status;

	store = tv_store_open_role(role);
	status = tv_store_get(store, argv[0], STDOUT_FILENO);
	tv_store_close(store);
	return status;
}
