/* api.c: request parsing, JSON strings, the failed-authentication limit and the run list for tv-api. */

#include <dirent.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bson/bson.h>

#include "api.h"
#include "log.h"

#define DATE_RE		"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{6}Z)?"
#define NAME_RE		"[A-Za-z0-9_][A-Za-z0-9_.-]*"

/* Returns 1 if s matches the extended regular expression re as a whole. */
static int
matches(const char *re, const char *s)
{
	regex_t rx;
	int ok;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
		tv_fatal(EX_SOFTWARE, "bad regular expression %s", re);
	ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

int
tv_api_valid_date(const char *s)
{
	return matches("^" DATE_RE "$", s);
}

int
tv_api_valid_point(const char *s)
{
	return matches("^backups/" DATE_RE "/?$", s);
}

int
tv_api_valid_time(const char *s)
{
	/* The forms tv_epoch in tv-lib.sh reads, and no others. */
	return matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?"
	    "(Z|[+-][0-9]{2}:?[0-9]{2})?)?$", s);
}

int
tv_api_valid_collections(const char *s)
{
	return strlen(s) <= 512 && matches("^" NAME_RE "(," NAME_RE ")*$", s);
}

int
tv_api_match(const char *method, const char *path, struct tv_api_route *route)
{
	static const struct {
		const char		*path;
		const char		*method;
		enum tv_api_endpoint	 endpoint;
	} fixed[] = {
		{ "/admin/backup/trigger", "POST", TV_API_TRIGGER },
		{ "/admin/backup/list", "GET", TV_API_LIST },
		{ "/admin/backup/restore", "POST", TV_API_RESTORE },
		{ "/admin/backup/plan", "GET", TV_API_PLAN },
		{ "/admin/backup/status", "GET", TV_API_STATUS },
		{ "/admin/backup/runs", "GET", TV_API_RUNS },
		{ "/metrics", "GET", TV_API_METRICS },
	};
	static const char restore[] = "/admin/backup/restore/";
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	route->arg[0] = '\0';
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (strcmp(path, fixed[i].path) != 0)
			continue;
		route->endpoint = fixed[i].endpoint;
		return strcmp(method, fixed[i].method) == 0 || (get && fixed[i].method[0] == 'G') ? 0 : 405;
	}
	if (strncmp(path, restore, sizeof(restore) - 1) == 0) {
		/* An over-long or odd {date} is the handler's 400, not a 404. */
		route->endpoint = TV_API_RESTORE_DATE;
		snprintf(route->arg, sizeof(route->arg), "%s", path + sizeof(restore) - 1);
		return strcmp(method, "POST") == 0 ? 0 : 405;
	}
	if (strcmp(path, "/") == 0 || matches("^/[a-z0-9-]{1,40}\\.(html|js|css|svg)$", path)) {
		route->endpoint = TV_API_STATIC;
		snprintf(route->arg, sizeof(route->arg), "%s", path[1] ? path + 1 : "index.html");
		return get ? 0 : 405;
	}
	return 404;
}

const char *
tv_api_bearer(const char *header, size_t *len)
{
	const char *p;

	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return NULL;
	for (p = header + 7; *p == ' '; p++)
		;
	*len = strcspn(p, " \t");
	if (*len == 0 || p[*len] != '\0')
		return NULL;
	return p;
}

char *
tv_json_string(const char *s)
{
	size_t n = strlen(s);
	int utf8 = bson_utf8_validate(s, n, false);
	char *out = malloc(n * 6 + 3), *o = out;

	if (out == NULL)
		return NULL;
	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			*o++ = '\\';
			*o++ = (char)*p;
		} else if (*p < 0x20) {
			o += sprintf(o, "\\u%04x", *p);
		} else if (*p >= 0x80 && !utf8) {
			o += sprintf(o, "\\ufffd");
		} else {
			*o++ = (char)*p;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/* Recent failures per address; the oldest entry makes room for a new address. */
#define AUTH_SLOTS	256
static struct {
	char	addr[64];
	time_t	since;
	int	failures;
} slots[AUTH_SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

int
tv_api_auth_blocked(const char *addr, time_t now, int max_failures)
{
	int wait = 0;

	pthread_mutex_lock(&slots_lock);
	for (int i = 0; i < AUTH_SLOTS; i++)
		if (strcmp(slots[i].addr, addr) == 0 && now - slots[i].since < TV_API_AUTH_WINDOW &&
		    slots[i].failures >= max_failures)
			wait = (int)(slots[i].since + TV_API_AUTH_WINDOW - now);
	pthread_mutex_unlock(&slots_lock);
	return wait;
}

void
tv_api_auth_failed(const char *addr, time_t now)
{
	int slot = 0;

	pthread_mutex_lock(&slots_lock);
	for (int i = 0; i < AUTH_SLOTS; i++) {
		if (strcmp(slots[i].addr, addr) == 0) {
			slot = i;
			break;
		}
		if (slots[i].since < slots[slot].since)
			slot = i;
	}
	if (strcmp(slots[slot].addr, addr) != 0 || now - slots[slot].since >= TV_API_AUTH_WINDOW) {
		snprintf(slots[slot].addr, sizeof(slots[slot].addr), "%s", addr);
		slots[slot].since = now;
		slots[slot].failures = 0;
	}
	slots[slot].failures++;
	pthread_mutex_unlock(&slots_lock);
}

/* A growing string for the run list. */
struct sbuf {
	char	*s;
	size_t	 len, cap;
	int	 failed;
};

static void
sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->s, cap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static int
is_day(const struct dirent *d)
{
	return matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", d->d_name);
}

static int
is_record(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* Appends one run record if it is a JSON object; returns 1 if it did. */
static int
add_record(struct sbuf *b, const char *path, int first)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;
	bson_t *doc;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n == 0 || n == sizeof(buf) || (doc = bson_new_from_json((const uint8_t *)buf, (ssize_t)n, NULL)) == NULL)
		return 0;
	bson_destroy(doc);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	if (!first)
		sbuf_add(b, ",", 1);
	sbuf_add(b, buf, n);
	return 1;
}

char *
tv_api_runs_json(const char *state_dir, int limit)
{
	struct sbuf b = { 0 };
	struct dirent **days = NULL, **files;
	char dir[4096], path[8192];
	int ndays, nfiles, count = 0;

	snprintf(dir, sizeof(dir), "%s/runs", state_dir);
	sbuf_add(&b, "{\"runs\":[", 9);
	ndays = scandir(dir, &days, is_day, alphasort);
	/* Names start with the run's start time, so the newest sort last. */
	for (int d = ndays - 1; d >= 0; d--) {
		snprintf(path, sizeof(path), "%s/%s", dir, days[d]->d_name);
		nfiles = scandir(path, &files, is_record, alphasort);
		for (int f = nfiles - 1; f >= 0; f--) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, days[d]->d_name, files[f]->d_name);
			if (count < limit)
				count += add_record(&b, path, count == 0);
			free(files[f]);
		}
		if (nfiles >= 0)
			free(files);
		free(days[d]);
	}
	free(days);
	sbuf_add(&b, "]}\n", 3);
	if (b.failed) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
