/* api.c: request parsing, JSON strings, the failed-authentication limit and the run list for tv-api. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <bson/bson.h>

#include "api.h"
#include "log.h"
#include "runrec.h"

#define DATE_RE		"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{6}Z)?"
#define NAME_RE		"[A-Za-z0-9_][A-Za-z0-9_.-]*"

/* The shapes of what a request may name, compiled once for all threads. */
enum pattern { DATE, POINT, TIME, COLLECTIONS, PAGE, NPATTERNS };
static const char *const patterns[NPATTERNS] = {
	[DATE] = "^" DATE_RE "$",
	[POINT] = "^backups/" DATE_RE "/?$",
	/* The forms tv_epoch in tv-lib.sh reads, and no others. */
	[TIME] = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,9})?)?"
	    "(Z|[+-][0-9]{2}:?[0-9]{2})?)?$",
	[COLLECTIONS] = "^" NAME_RE "(," NAME_RE ")*$",
	[PAGE] = "^/[a-z0-9-]{1,40}\\.(html|js|css|svg)$",
};
static regex_t compiled[NPATTERNS];
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void
compile(void)
{
	for (int i = 0; i < NPATTERNS; i++)
		if (regcomp(&compiled[i], patterns[i], REG_EXTENDED | REG_NOSUB) != 0)
			tv_fatal(EX_SOFTWARE, "bad regular expression %s", patterns[i]);
}

/* Returns 1 if s matches the pattern as a whole. */
static int
matches(enum pattern p, const char *s)
{
	pthread_once(&compile_once, compile);
	return regexec(&compiled[p], s, 0, NULL, 0) == 0;
}

int
tv_api_valid_date(const char *s)
{
	return matches(DATE, s);
}

int
tv_api_valid_point(const char *s)
{
	return matches(POINT, s);
}

int
tv_api_valid_time(const char *s)
{
	return matches(TIME, s);
}

int
tv_api_valid_collections(const char *s)
{
	return strlen(s) <= 512 && matches(COLLECTIONS, s);
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
		{ "/admin/backup/running", "GET", TV_API_RUNNING },
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
	if (strcmp(path, "/") == 0 || matches(PAGE, path)) {
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

int
tv_api_runs_limit(const char *s)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	return end == s || *end != '\0' || errno != 0 || n < 1 || n > TV_API_RUNS_MAX ? 0 : (int)n;
}

int
tv_api_body_too_large(const char *content_length, unsigned long long max)
{
	/* strtoull saturates a longer number and wraps a negative one: both are over any max. */
	return content_length != NULL && strtoull(content_length, NULL, 10) > max;
}

/* Returns 1 if addr is one of the comma-separated addresses of list (blanks around them allowed). */
static int
in_list(const char *addr, const char *list)
{
	size_t n = strlen(addr);

	while (list != NULL && *list != '\0') {
		list += strspn(list, " ");
		if (strcspn(list, ", ") == n && strncmp(list, addr, n) == 0)
			return 1;
		list += strcspn(list, ",");
		list += *list == ',';
	}
	return 0;
}

/*
 * Rewrites an IPv6 address in out as its /64: one host gets a whole /64, and
 * would otherwise pass the limit by trying from address after address in it.
 * IPv4 addresses, IPv4-mapped ones among them, stay whole.
 */
static void
per_prefix(char *out, size_t outlen)
{
	struct in6_addr a;
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, out, &a) != 1 || IN6_IS_ADDR_V4MAPPED(&a))
		return;
	memset(a.s6_addr + 8, 0, 8);
	if (inet_ntop(AF_INET6, &a, text, sizeof(text)) != NULL)
		snprintf(out, outlen, "%s/64", text);
}

void
tv_api_client_address(const char *peer, const char *trusted, const char *forwarded,
    char *out, size_t outlen)
{
	const char *last, *end;

	snprintf(out, outlen, "%s", peer);
	if (forwarded != NULL && in_list(peer, trusted)) {
		last = strrchr(forwarded, ',');
		last = last ? last + 1 : forwarded;
		while (*last == ' ' || *last == '\t')
			last++;
		for (end = last + strlen(last); end > last && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		/* An empty or oversized entry is no address: the proxy's own then counts. */
		if (end > last && (size_t)(end - last) < outlen)
			snprintf(out, outlen, "%.*s", (int)(end - last), last);
	}
	per_prefix(out, outlen);
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

/* The newest records of a walk, oldest first: a ring of the last limit ones seen. */
struct newest {
	char	**ring;
	int	  limit;
	long	  seen;
};

static int
keep(const struct tv_runrec *rec, void *arg)
{
	struct newest *n = arg;
	char **slot = &n->ring[n->seen++ % n->limit];

	free(*slot);
	if ((*slot = strdup(rec->json)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	return 0;
}

char *
tv_api_runs_json(int limit)
{
	/* Days looked back: a flow that runs every minute leaves thousands of records a year. */
	static const int spans[] = { 2, 31, -1 };
	struct newest n = { calloc((size_t)limit, sizeof(char *)), limit, 0 };
	size_t len = 16;
	char *out, *o, since[16];
	int kept;

	if (n.ring == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
		time_t t = time(NULL) - (time_t)spans[i] * 86400;
		struct tv_runrec_filter f = { spans[i] < 0 ? NULL : since, NULL };
		struct tm tm;

		strftime(since, sizeof(since), "%Y-%m-%d", gmtime_r(&t, &tm));
		for (int j = 0; j < limit; j++) {
			free(n.ring[j]);
			n.ring[j] = NULL;
		}
		n.seen = 0;
		(void)tv_runrec_walk_local(&f, keep, &n);
		if (n.seen >= limit)
			break;
	}
	kept = n.seen < limit ? (int)n.seen : limit;
	for (int j = 0; j < kept; j++)
		len += strlen(n.ring[j]) + 1;
	if ((out = o = malloc(len)) != NULL) {
		o += sprintf(o, "{\"runs\":[");
		for (int j = 0; j < kept; j++)
			o += sprintf(o, "%s%s", j ? "," : "", n.ring[(n.seen - 1 - j) % limit]);
		sprintf(o, "]}\n");
	}
	for (int j = 0; j < limit; j++)
		free(n.ring[j]);
	free(n.ring);
	return out;
}
