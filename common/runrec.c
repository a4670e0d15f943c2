/* runrec.c: run records in the state directory and the store, under one name. */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "runrec.h"
#include "statedir.h"

#define RUNS_ROOT	"runs"
/* A record is a few hundred bytes; anything far bigger is not one. */
#define RECORD_MAX	(1 << 20)

/* Returns the string field key of rec, or NULL. */
static const char *
field(const bson_t *rec, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, rec, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

/* Returns 1 if s is 1 to max characters, each one of allowed. */
static int
plain_word(const char *s, size_t max, const char *allowed)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= max && strspn(s, allowed) == n;
}

/*
 * Writes ".{startClock in microseconds, 16 digits}" into buf, or nothing for a record without
 * one.  start has whole seconds (and may be TV_NOW's), so runs that start within one second
 * would sort by their random ids; the clock the run started at orders them as they ran.
 */
static int
start_clock(const bson_t *rec, char *buf, size_t len)
{
	const char *clock = field(rec, "startClock");
	unsigned long long sec, micro = 0;
	size_t n, frac;

	buf[0] = '\0';
	if (clock == NULL)
		return 0;
	n = strspn(clock, "0123456789");
	frac = clock[n] == '.' ? strspn(clock + n + 1, "0123456789") : 0;
	if (n == 0 || n > 11 || (clock[n] != '\0' && (clock[n] != '.' || clock[n + 1 + frac] != '\0'))) {
		tv_error("run record: startClock is not seconds since the epoch (1705287600.123456789)");
		return EX_DATAERR;
	}
	sec = strtoull(clock, NULL, 10);
	for (size_t i = 0; i < 6; i++)
		micro = micro * 10 + (i < frac ? (unsigned long long)(clock[n + 1 + i] - '0') : 0);
	snprintf(buf, len, ".%010llu%06llu", sec, micro);
	return 0;
}

int
tv_runrec_name(const bson_t *rec, char *buf, size_t len)
{
	const char *kind = field(rec, "kind"), *id = field(rec, "id"), *start = field(rec, "start");
	int y, mo, d, h, mi, s;
	char z, clock[32];

	/* The kind has no '-': the name's second '-' ends it, so a walk can filter on names alone. */
	if (!plain_word(kind, 32, "abcdefghijklmnopqrstuvwxyz0123456789_") ||
	    !plain_word(id, 64, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")) {
		tv_error("run record: kind must be lowercase letters, digits or '_', id letters, digits, '-' or '_'");
		return EX_DATAERR;
	}
	if (start == NULL || sscanf(start, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
	    z != 'Z') {
		tv_error("run record: start is not an ISO-8601 UTC time (2024-01-15T03:00:00Z)");
		return EX_DATAERR;
	}
	if (start_clock(rec, clock, sizeof(clock)) != 0)
		return EX_DATAERR;
	if (snprintf(buf, len, RUNS_ROOT "/%04d-%02d-%02d/%04d%02d%02dT%02d%02d%02dZ%s-%s-%s.json",
	    y, mo, d, y, mo, d, h, mi, s, clock, kind, id) >= (int)len) {
		tv_error("run record: name too long");
		return EX_DATAERR;
	}
	return 0;
}

/* Fills rec from len bytes of JSON, trailing blanks dropped; returns 0, or 65 after logging what of. */
static int
parse(const char *what, char *json, ssize_t len, struct tv_runrec *rec)
{
	bson_error_t err;

	while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == ' ' || json[len - 1] == '\r'))
		len--;
	json[len] = '\0';
	rec->json = NULL;
	if (memchr(json, '\n', (size_t)len) != NULL) {
		tv_error("%s: not a run record: more than one line", what);
		return EX_DATAERR;
	}
	if ((rec->doc = bson_new_from_json((const uint8_t *)json, len, &err)) == NULL) {
		tv_error("%s: not a run record: %s", what, err.message);
		return EX_DATAERR;
	}
	rec->json = strdup(json);
	return 0;
}

/* Reads a whole small file; returns its length, or -1 (logged). */
static ssize_t
slurp(int fd, const char *what, char **buf)
{
	ssize_t n;

	if ((*buf = malloc(RECORD_MAX + 1)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	if ((n = tv_read_full(fd, *buf, RECORD_MAX)) < 0 || n == RECORD_MAX) {
		tv_error("%s: %s", what, n < 0 ? strerror(errno) : "too large for a run record");
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return n;
}

int
tv_runrec_load(const char *path, struct tv_runrec *rec)
{
	char name[PATH_MAX], *buf;
	ssize_t n;
	int fd, status;

	memset(rec, 0, sizeof(*rec));
	/* "-" is standard input, so a flow can record a run when its temporary directory is unusable. */
	if (strcmp(path, "-") == 0)
		fd = dup(STDIN_FILENO);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		tv_error("%s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	n = slurp(fd, path, &buf);
	close(fd);
	if (n < 0)
		return EX_IOERR;
	status = parse(path, buf, n, rec);
	free(buf);
	if (status == 0 && (status = tv_runrec_name(rec->doc, name, sizeof(name))) != 0)
		tv_runrec_free(rec);
	return status;
}

void
tv_runrec_free(struct tv_runrec *rec)
{
	if (rec->doc != NULL)
		bson_destroy(rec->doc);
	free(rec->json);
	rec->doc = NULL;
	rec->json = NULL;
}

int
tv_runrec_save_local(const struct tv_runrec *rec, const char *name)
{
	const char *dir = tv_state_dir();
	size_t len = strlen(rec->json);
	char path[PATH_MAX], *slash;
	int fd, status = 0;

	if (dir == NULL)
		return EX_IOERR;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return EX_IOERR;
	/* runs/ and runs/{date}/: the only directories below the state directory a record needs. */
	slash = strrchr(path, '/');
	*slash = '\0';
	*strrchr(path, '/') = '\0';
	mkdir(path, 0700);
	path[strlen(path)] = '/';
	mkdir(path, 0700);
	*slash = '/';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		tv_error("%s: %s", path, strerror(errno));
		return errno == EEXIST ? EX_CANTCREAT : EX_IOERR;
	}
	if (tv_write_all(fd, rec->json, len) != 0 || tv_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0) {
		tv_error("%s: %s", path, strerror(errno));
		unlink(path);
		status = EX_IOERR;
	}
	close(fd);
	return status;
}

int
tv_runrec_save_store(struct tv_store *store, const struct tv_runrec *rec, const char *name)
{
	struct tv_receipt r;
	struct tv_upload *up;
	int status;

	if ((status = tv_upload_begin(store, name, &up)) != 0)
		return status;
	if ((status = tv_upload_write(up, rec->json, strlen(rec->json))) != 0 ||
	    (status = tv_upload_write(up, "\n", 1)) != 0) {
		tv_upload_cancel(up);
		return status;
	}
	if ((status = tv_upload_finish(up, &r)) != 0)
		return status;
	if ((status = tv_store_commit(store, &r)) != 0)
		tv_store_abort(store, &r);
	tv_receipt_free(&r);
	return status;
}

/* Returns 1 if the record named day/file (file: {start}-{kind}-{id}.json) passes the filter. */
static int
wanted(const struct tv_runrec_filter *f, const char *day, const char *file)
{
	const char *kind = strchr(file, '-'), *end, *k;
	size_t n;

	if (f == NULL)
		return 1;
	if (f->since != NULL && strncmp(day, f->since, strlen(f->since)) < 0)
		return 0;
	if (f->kinds == NULL)
		return 1;
	if (kind == NULL || (end = strchr(++kind, '-')) == NULL)
		return 0;
	n = (size_t)(end - kind);
	for (k = f->kinds; *k != '\0'; k += strcspn(k, ","), k += *k == ',') {
		if (strcspn(k, ",") == n && strncmp(k, kind, n) == 0)
			return 1;
	}
	return 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills *names with the sorted entries of dir that do not start with '.'; returns the count or -1. */
static int
sorted_entries(const char *dir, char ***names)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), k = 0;

	*names = NULL;
	if (n < 0)
		return errno == ENOENT ? 0 : -1;
	if ((*names = calloc((size_t)n + 1, sizeof(**names))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.')
			(*names)[k++] = strdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return k;
}

static void
free_entries(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
tv_runrec_walk_local(const struct tv_runrec_filter *f, tv_runrec_fn fn, void *arg)
{
	const char *state = tv_state_dir();
	char root[PATH_MAX], day[PATH_MAX], path[PATH_MAX], **days, **files;
	int ndays, nfiles, status = 0;

	if (state == NULL)
		return EX_IOERR;
	snprintf(root, sizeof(root), "%s/" RUNS_ROOT, state);
	if ((ndays = sorted_entries(root, &days)) < 0) {
		tv_error("%s: %s", root, strerror(errno));
		return EX_IOERR;
	}
	for (int i = 0; i < ndays && status == 0; i++) {
		if (snprintf(day, sizeof(day), "%s/%s", root, days[i]) >= (int)sizeof(day) ||
		    (nfiles = sorted_entries(day, &files)) < 0)
			continue;
		for (int j = 0; j < nfiles && status == 0; j++) {
			struct tv_runrec rec;

			if (!wanted(f, days[i], files[j]))
				continue;
			/* One damaged record must not hide the others. */
			if (snprintf(path, sizeof(path), "%s/%s", day, files[j]) >= (int)sizeof(path) ||
			    tv_runrec_load(path, &rec) != 0)
				continue;
			status = fn(&rec, arg);
			tv_runrec_free(&rec);
		}
		free_entries(files, nfiles);
	}
	free_entries(days, ndays);
	return status;
}

struct namelist {
	char		**v;
	size_t		  n, cap;
	const struct tv_runrec_filter *filter;
};

static int
collect(const struct tv_blob *blob, void *arg)
{
	struct namelist *l = arg;
	size_t n = strlen(blob->name);

	if (n < 5 || strcmp(blob->name + n - 5, ".json") != 0)
		return 0;
	/* runs/YYYY-MM-DD/{start}-{kind}-{id}.json */
	if (n < sizeof(RUNS_ROOT "/YYYY-MM-DD/") ||
	    !wanted(l->filter, blob->name + strlen(RUNS_ROOT "/"), blob->name + strlen(RUNS_ROOT "/YYYY-MM-DD/")))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	}
	l->v[l->n++] = strdup(blob->name);
	return 0;
}

/* Fetches one record blob into rec; returns 0, or nonzero (logged) if it cannot be read or parsed. */
static int
fetch(struct tv_store *store, const char *name, struct tv_runrec *rec)
{
	FILE *tmp = tmpfile();
	int status = EX_IOERR;
	char *buf;
	ssize_t n;

	if (tmp == NULL) {
		tv_error("temporary file for %s: %s", name, strerror(errno));
		return EX_IOERR;
	}
	if (tv_store_get(store, name, fileno(tmp)) == 0 && lseek(fileno(tmp), 0, SEEK_SET) == 0 &&
	    (n = slurp(fileno(tmp), name, &buf)) >= 0) {
		status = parse(name, buf, n, rec);
		free(buf);
	}
	fclose(tmp);
	return status;
}

int
tv_runrec_walk_store(struct tv_store *store, const struct tv_runrec_filter *f, tv_runrec_fn fn, void *arg)
{
	struct namelist l = { NULL, 0, 0, f };
	int status;

	if ((status = tv_store_list(store, RUNS_ROOT "/", collect, &l)) == 0) {
		/* Names start with the start time, so name order is time order within and across days. */
		qsort(l.v, l.n, sizeof(*l.v), cmp_names);
		for (size_t i = 0; i < l.n && status == 0; i++) {
			struct tv_runrec rec;

			if (fetch(store, l.v[i], &rec) == 0) {
				status = fn(&rec, arg);
				tv_runrec_free(&rec);
			}
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return status;
}
