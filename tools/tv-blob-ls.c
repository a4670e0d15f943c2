/* tv-blob-ls: lists the blobs of the store, one per line or as JSON. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "store.h"

struct printer {
	int	json;
	int	count;
};

static void
usage(void)
{
	fprintf(stderr, "usage: tv-blob-ls [-qv] [--json] [prefix]\n"
	    "       tv-blob-ls [-qv] --container-exists\n");
	exit(EX_USAGE);
}

/* Writes s as a JSON string. */
static void
json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static int
print_blob(const struct tv_blob *b, void *arg)
{
	struct printer *p = arg;
	char when[32];
	struct tm tm;

	gmtime_r(&b->mtime, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (p->json) {
		fputs(p->count ? ",\n{\"name\":" : "\n{\"name\":", stdout);
		json_string(b->name);
		printf(",\"size\":%llu,\"lastModified\":\"%s\"}", b->size, when);
	} else
		printf("%s\t%llu\t%s\n", b->name, b->size, when);
	p->count++;
	return ferror(stdout) ? EX_IOERR : 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "container-exists", no_argument, NULL, 'c' },
		{ "json",	no_argument,	NULL, 'j' },
		{ "quiet",	no_argument,	NULL, 'q' },
		{ "verbose",	no_argument,	NULL, 'v' },
		{ NULL,		0,		NULL, 0 }
	};
	struct printer p = { 0, 0 };
	struct tv_store *store;
	int ch, status, container = 0;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			container = 1;
			break;
		case 'j':
			p.json = 1;
			break;
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
	if (argc > 1 || (container && (argc > 0 || p.json)))
		usage();

	store = tv_store_open();
	/* A listing of a missing container is empty; this tells a typo in its name from no backups. */
	if (container) {
		if ((status = tv_store_container(store)) == EX_NOINPUT)
			tv_error("container %s does not exist (BACKUP_BLOB_CONTAINER_NAME)",
			    tv_config_get("BACKUP_BLOB_CONTAINER_NAME", NULL));
		tv_store_close(store);
		return status;
	}
	if (p.json)
		putchar('[');
	status = tv_store_list(store, argc ? argv[0] : "", print_blob, &p);
	if (p.json)
		puts(p.count ? "\n]" : "]");
	if (fflush(stdout) != 0 && status == 0) {
		tv_error("writing standard output: %m");
		status = EX_IOERR;
	}
	tv_debug("%d blobs listed", p.count);
	tv_store_close(store);
	return status;
}
