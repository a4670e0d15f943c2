/* tv-blob-get: writes one blob to standard output, verified against its stored checksum. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

static void
usage(void)
{
	fprintf(stderr, "usage: tv-blob-get [-qv] name\n");
	exit(EX_USAGE);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "quiet",	no_argument,	NULL, 'q' },
		{ "verbose",	no_argument,	NULL, 'v' },
		{ NULL,		0,		NULL, 0 }
	};
	struct tv_store *store;
	int ch, status;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
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
	if (argc != 1)
		usage();
	if ((status = tv_store_check_name(argv[0])) != 0)
		return status;

	store = tv_store_open();
	status = tv_store_get(store, argv[0], STDOUT_FILENO);
	tv_store_close(store);
	return status;
}
