/* tv-state: answers what the flows and tv-status ask about this host's state: where it lives,
 * the circuit breaker, the storage credential, and run records. */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <bson/bson.h>

#include "breaker.h"
#include "config.h"
#include "help.h"
#include "log.h"
#include "runrec.h"
#include "statedir.h"
#include "store.h"

enum mode { NONE, DIR_PATH, LOCK_PATH, BREAKER, CREDENTIAL, SAVE_RUN, RUNS };

/* A run record's store copy gets this long to get through, so a dead store delays a run's end little. */
#define RECORD_RETRY_SECONDS	"5"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-state [-qv] [--env-file FILE] --dir | --lock-path\n"
	    "       tv-state [-qv] [--env-file FILE] --breaker [--check]\n"
	    "       tv-state [-qv] [--env-file FILE] --credential\n"
	    "       tv-state [-qv] [--env-file FILE] --save-run FILE|-\n"
	    "       tv-state [-qv] [--env-file FILE] --runs [--store] [--since YYYY-MM-DD] [--kind a,b]\n");
	if (status == 0)
		tv_help_page("tv-state", 1);
	exit(status);
}

/* Prints epoch seconds t as a JSON ISO-8601 string, or null for 0. */
static void
print_time(long t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		fputs("null", stdout);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "\"%Y-%m-%dT%H:%M:%SZ\"", &tm);
	fputs(buf, stdout);
}

/* Prints the breaker as JSON; with check, exits 69 saying until when if runs must fail fast now. */
static int
breaker(int check)
{
	static const char *names[] = { "closed", "open", "half-open", "probing" };
	struct tv_breaker_state q;
	char until[32];
	time_t t;

	if (tv_breaker_query(&q) != 0)
		return EX_CANTCREAT;
	if (check) {
		if (q.state != TV_BREAKER_OPEN && q.state != TV_BREAKER_PROBING)
			return 0;
		t = (time_t)q.until;
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
		tv_error("Circuit breaker is open until %s: the blob store failed %ld run(s) in a row; "
		    "not trying it before then%s", until, q.failures,
		    q.state == TV_BREAKER_PROBING ? " (a probe run is under way)" : "");
		return EX_UNAVAILABLE;
	}
	printf("{\"state\":\"%s\",\"failures\":%ld,\"threshold\":%ld,\"openedAt\":", names[q.state],
	    q.failures, q.threshold);
	print_time(q.opened);
	fputs(",\"until\":", stdout);
	print_time(q.until);
	puts("}");
	return 0;
}

/* Copies the value of key (e.g. "sp=") from a ';' or '&' separated list into buf; returns 1 if found. */
static int
find_value(const char *list, const char *key, char sep, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = list; p != NULL && *p != '\0'; p = strchr(p, sep), p = p ? p + 1 : NULL) {
		if (strncasecmp(p, key, klen) == 0) {
			size_t n = strcspn(p + klen, sep == ';' ? ";" : "&;");

			snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p + klen);
			return 1;
		}
	}
	return 0;
}

/* Decodes %XX escapes in place (a SAS's se= is URL-encoded). */
static void
url_decode(char *s)
{
	char *out = s;
	unsigned int c;

	for (; *s != '\0'; s++) {
		if (*s == '%' && sscanf(s + 1, "%2x", &c) == 1) {
			*out++ = (char)c;
			s += 2;
		} else
			*out++ = *s;
	}
	*out = '\0';
}

/* Returns 1 if this user may write at path, or at its nearest existing ancestor (a store not created yet). */
static int
writable(const char *path)
{
	char p[4096], *slash;

	snprintf(p, sizeof(p), "%s", path);
	while (access(p, F_OK) != 0 && (slash = strrchr(p, '/')) != NULL && slash != p)
		*slash = '\0';
	return access(p, W_OK) == 0;
}

/* Prints what the storage credential may do, as JSON; never prints the secret itself. */
static int
credential(void)
{
	static const struct { char letter; const char *name; } perms[] = {
		{ 'r', "read" }, { 'a', "add" }, { 'c', "create" }, { 'w', "write" },
		{ 'd', "delete" }, { 'l', "list" },
	};
	const char *cs = tv_config_get("BACKUP_BLOB_STORAGE_CONNECTION_STRING", NULL);
	char sas[4096], sp[64] = "", se[64] = "";
	const char *kind;
	int first = 1;

	if (cs == NULL || *cs == '\0') {
		tv_error("no blob store: BACKUP_BLOB_STORAGE_CONNECTION_STRING is not set");
		return EX_USAGE;
	}
	if (strncmp(cs, "file:", 5) == 0) {
		kind = "file";
		snprintf(sp, sizeof(sp), "%s", writable(cs + 5) ? "racwdl" : "rl");
	} else if (find_value(cs, "SharedAccessSignature=", ';', sas, sizeof(sas))) {
		kind = "sas";
		find_value(sas, "sp=", '&', sp, sizeof(sp));
		find_value(sas, "se=", '&', se, sizeof(se));
		url_decode(se);
	} else {
		/* An account key, or Azurite's well-known one, signs anything. */
		kind = "account-key";
		snprintf(sp, sizeof(sp), "racwdl");
	}
	printf("{\"kind\":\"%s\",\"permissions\":\"", kind);
	for (const char *p = sp; *p != '\0'; p++)
		if (strchr("racwdxltfimpuy", *p) != NULL)
			putchar(*p);
	fputs("\",\"may\":[", stdout);
	for (size_t i = 0; i < sizeof(perms) / sizeof(perms[0]); i++)
		if (strchr(sp, perms[i].letter) != NULL) {
			printf("%s\"%s\"", first ? "" : ",", perms[i].name);
			first = 0;
		}
	fputs("],\"expires\":", stdout);
	if (*se != '\0' && strspn(se, "0123456789-:TZ.") == strlen(se))
		printf("\"%s\"}\n", se);
	else
		puts("null}");
	return 0;
}

/*
 * Keeps the record in the state directory, then in the store.  Either copy is
 * enough for success; a run's end must not wait on a store that is down, so
 * an open breaker skips the store and retries are short.
 */
static int
save_run(const char *path)
{
	const char *cs = tv_config_get("BACKUP_BLOB_STORAGE_CONNECTION_STRING", NULL);
	struct tv_breaker_state q;
	struct tv_store *store;
	struct tv_runrec rec;
	char name[512];
	int local, remote = EX_UNAVAILABLE, status;

	if ((status = tv_runrec_load(path, &rec)) != 0)
		return status;
	if ((status = tv_runrec_name(rec.doc, name, sizeof(name))) != 0) {
		tv_runrec_free(&rec);
		return status;
	}
	local = tv_runrec_save_local(&rec, name);
	if (cs == NULL || *cs == '\0')
		tv_debug("no blob store configured: run record %s kept locally only", name);
	else if (tv_breaker_query(&q) == 0 && (q.state == TV_BREAKER_OPEN || q.state == TV_BREAKER_PROBING))
		tv_warn("circuit open: run record %s kept in %s only", name, tv_state_dir());
	else {
		setenv("TV_RETRY_MAX_SECONDS", RECORD_RETRY_SECONDS, 0);
		store = tv_store_open();
		/* A record must not create the container: a mistyped name would then look like a store. */
		if ((remote = tv_store_container(store)) == EX_NOINPUT)
			tv_warn("run record %s kept in %s only: container %s does not exist", name,
			    tv_state_dir(), tv_config_get("BACKUP_BLOB_CONTAINER_NAME", NULL));
		else if (remote == 0 && (remote = tv_runrec_save_store(store, &rec, name)) != 0)
			tv_warn("run record %s: the store copy failed (exit %d)%s", name, remote,
			    local == 0 ? "; kept in the state directory" : "");
		tv_store_close(store);
	}
	tv_runrec_free(&rec);
	tv_debug("run record %s saved (state directory: %d, store: %d)", name, local, remote);
	return local == 0 || remote == 0 ? 0 : local;
}

static int
print_record(const struct tv_runrec *rec, void *arg)
{
	puts(rec->json);
	return ferror(stdout) ? EX_IOERR : 0;
}

/* Prints the run records the filter lets through, oldest first, one JSON object per line. */
static int
runs(int from_store, const struct tv_runrec_filter *f)
{
	const char *since = f->since;
	struct tv_store *store;
	int status;

	if (since != NULL && (strlen(since) != 10 || strspn(since, "0123456789-") != 10)) {
		tv_error("--since: not a day (YYYY-MM-DD): %s", since);
		return EX_USAGE;
	}
	if (!from_store)
		return tv_runrec_walk_local(f, print_record, NULL);
	store = tv_store_open();
	status = tv_runrec_walk_store(store, f, print_record, NULL);
	tv_store_close(store);
	return status;
}

int
main(int argc, char *argv[])
{
	enum { OPT_DIR = 256, OPT_LOCK, OPT_BREAKER, OPT_CHECK, OPT_CREDENTIAL, OPT_SAVE, OPT_RUNS, OPT_STORE, OPT_SINCE, OPT_KIND,
	    OPT_ENV_FILE };
	static const struct option longopts[] = {
		{ "breaker",	no_argument,		NULL, OPT_BREAKER },
		{ "check",	no_argument,		NULL, OPT_CHECK },
		{ "credential",	no_argument,		NULL, OPT_CREDENTIAL },
		{ "dir",	no_argument,		NULL, OPT_DIR },
		{ "env-file",	required_argument,	NULL, OPT_ENV_FILE },
		{ "help",	no_argument,		NULL, 'h' },
		{ "kind",	required_argument,	NULL, OPT_KIND },
		{ "lock-path",	no_argument,		NULL, OPT_LOCK },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "runs",	no_argument,		NULL, OPT_RUNS },
		{ "save-run",	required_argument,	NULL, OPT_SAVE },
		{ "since",	required_argument,	NULL, OPT_SINCE },
		{ "store",	no_argument,		NULL, OPT_STORE },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ NULL,		0,			NULL, 0 }
	};
	enum mode mode = NONE;
	struct tv_runrec_filter filter = { NULL, NULL };
	const char *file = NULL, *path;
	int ch, check = 0, from_store = 0, status = 0;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "hqv", longopts, NULL)) != -1) {
		enum mode m = NONE;

		switch (ch) {
		case 'h':
			usage(0);
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'v':
			tv_log_set_level(TV_LOG_VERBOSE);
			break;
		case OPT_CHECK:
			check = 1;
			break;
		case OPT_STORE:
			from_store = 1;
			break;
		case OPT_SINCE:
			filter.since = optarg;
			break;
		case OPT_KIND:
			filter.kinds = optarg;
			break;
		case OPT_ENV_FILE:
			if ((status = tv_config_load_env_file(optarg)) != 0)
				return status;
			break;
		case OPT_DIR:		m = DIR_PATH; break;
		case OPT_LOCK:		m = LOCK_PATH; break;
		case OPT_BREAKER:	m = BREAKER; break;
		case OPT_CREDENTIAL:	m = CREDENTIAL; break;
		case OPT_RUNS:		m = RUNS; break;
		case OPT_SAVE:
			m = SAVE_RUN;
			file = optarg;
			break;
		default:
			usage(EX_USAGE);
		}
		if (m != NONE) {
			if (mode != NONE)
				usage(EX_USAGE);
			mode = m;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 0 || mode == NONE || (check && mode != BREAKER) || ((from_store || filter.since || filter.kinds) && mode != RUNS))
		usage(EX_USAGE);

	switch (mode) {
	case DIR_PATH:
	case LOCK_PATH:
		if ((path = mode == DIR_PATH ? tv_state_dir() : tv_state_lock_path()) == NULL)
			return EX_CANTCREAT;
		puts(path);
		break;
	case BREAKER:
		status = breaker(check);
		break;
	case CREDENTIAL:
		status = credential();
		break;
	case SAVE_RUN:
		status = save_run(file);
		break;
	case RUNS:
		status = runs(from_store, &filter);
		break;
	case NONE:
		break;
	}
	if (fflush(stdout) != 0 && status == 0) {
		tv_error("writing standard output: %m");
		status = EX_IOERR;
	}
	return status;
}
