/* tv-blob-ls: lists the blobs of the store, one per line or as JSON; or says what the credential may do. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "config.h"
#include "help.h"
#include "log.h"
#include "store.h"

struct printer {
	int	json;
	int	count;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: tv-blob-ls [-qv] [--role backup|restore|prune|copy] [--json] [prefix]\n"
	    "       tv-blob-ls [-qv] [--role backup|restore|prune|copy] --can read|list|write|delete\n"
	    "       tv-blob-ls [-qv] [--role backup|restore|prune|copy] --container-exists\n");
	if (status == 0)
		tv_help_page("tv-blob-ls", 1);
	exit(status);
}

/* Returns the permission letter store.h's tv_store_may takes for a --can word, or 0. */
static char
permission(const char *word)
{
	static const char *const words[] = { "delete", "list", "read", "write" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(word, words[i]) == 0)
			return words[i][0];
	return 0;
}

/* Exits 0 if the role's credential grants perm, 1 if not; a flow asks before it prunes. */
static int
can(struct tv_store *store, enum tv_store_role role, const char *word, char perm)
{
	int yes = tv_store_may(store, perm);

	tv_info("the %s role's credential %s %s", tv_store_role_name(role), yes ? "may" : "may not", word);
	return yes ? 0 : 1;
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
		{ "can",	required_argument,	NULL, 'c' },
		{ "container-exists", no_argument,	NULL, 'C' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "json",	no_argument,		NULL, 'j' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "role",	required_argument,	NULL, 'R' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ NULL,		0,			NULL, 0 }
	};
	/* Listing is the restore role's business unless told otherwise. */
	enum tv_store_role role = TV_ROLE_RESTORE;
	struct printer p = { 0, 0 };
	struct tv_store *store;
	const char *can_word = NULL;
	char perm = 0;
	int ch, status, container = 0;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if ((perm = permission(optarg)) == 0) {
				tv_error("--can: read, list, write or delete, not %s", optarg);
				usage(EX_USAGE);
			}
			can_word = optarg;
			break;
		case 'C':
			container = 1;
			break;
		case 'h':
			usage(0);
		case 'j':
			p.json = 1;
			break;
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
	if (argc > 1 || ((perm != 0 || container) && (argc > 0 || p.json)) || (perm != 0 && container))
		usage(EX_USAGE);

	store = tv_store_open_role(role);
	if (perm != 0) {
		status = can(store, role, can_word, perm);
		tv_store_close(store);
		return status;
	}
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
