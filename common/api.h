/* api.h: what tv-api reads from a request (route, bearer token, parameters), kept apart from HTTP. */
#ifndef TV_API_H
#define TV_API_H

#include <stddef.h>
#include <time.h>

/* The endpoints tv-api serves. */
enum tv_api_endpoint {
	TV_API_STATIC,		/* GET /, /NAME.{html,js,css,svg}: the dashboard (no token) */
	TV_API_TRIGGER,		/* POST /admin/backup/trigger */
	TV_API_LIST,		/* GET /admin/backup/list */
	TV_API_RESTORE_DATE,	/* POST /admin/backup/restore/{date} */
	TV_API_RESTORE,		/* POST /admin/backup/restore?at=|point= [&collections=] */
	TV_API_PLAN,		/* GET /admin/backup/plan?date=|at=|point= [&collections=] */
	TV_API_STATUS,		/* GET /admin/backup/status */
	TV_API_RUNS,		/* GET /admin/backup/runs[?limit=N] */
	TV_API_RUNNING,		/* GET /admin/backup/running: the lock's holder and its run's progress */
	TV_API_METRICS		/* GET /metrics */
};

/* A matched request. */
struct tv_api_route {
	enum tv_api_endpoint	 endpoint;
	char			 arg[64];	/* the {date}, or the dashboard file name */
};

/* Matches a method and a path (no query); returns 0, 404 for an unknown path, 405 for a wrong method. */
int tv_api_match(const char *method, const char *path, struct tv_api_route *route);

/* Returns the token of an "Authorization: Bearer TOKEN" value and sets *len, or NULL. */
const char *tv_api_bearer(const char *header, size_t *len);

/* Returns 1 for a backup date the flows accept: YYYY-MM-DD, or YYYY-MM-DDTHHMMSSZ (a later point that day). */
int tv_api_valid_date(const char *s);
/* Returns 1 for a recovery point folder: backups/ followed by a valid date, an optional trailing slash. */
int tv_api_valid_point(const char *s);
/* Returns 1 for an ISO-8601 time as tv-recover --at reads it (2024-01-15T03:00:00Z). */
int tv_api_valid_time(const char *s);
/* Returns 1 for a comma-separated list of collection names. */
int tv_api_valid_collections(const char *s);

/* Most run records GET /admin/backup/runs?limit=N returns. */
#define TV_API_RUNS_MAX		1000
/* Returns the runs limit a ?limit= value asks for, 1 to TV_API_RUNS_MAX, or 0 if it is not one. */
int tv_api_runs_limit(const char *s);
/*
 * Returns 1 if a request's Content-Length value (NULL: none) declares more
 * than max bytes, so that it is refused before a byte of its body is read.
 */
int tv_api_body_too_large(const char *content_length, unsigned long long max);

/* Returns s as a quoted JSON string (malloc'd); invalid UTF-8 bytes become U+FFFD. */
char *tv_json_string(const char *s);

/*
 * Failed authentications per client address: after max_failures (by default
 * TV_API_AUTH_FAILURES) within TV_API_AUTH_WINDOW seconds the address is
 * refused until the window ends.
 */
#define TV_API_AUTH_FAILURES	10
#define TV_API_AUTH_WINDOW	60
/*
 * Writes to out the address whose failed authentications count: the peer's,
 * unless the peer is one of trusted (comma-separated addresses, may be NULL)
 * and the request has X-Forwarded-For (forwarded: its last line, may be NULL);
 * then the last address in it, the one that proxy appended, on the client's
 * line (nginx) or on a line of its own (HAProxy).  The ones before it are
 * whatever the client sent, so they are never used.  An IPv6 client counts
 * by its /64 (written "2001:db8:1:2::/64"): one host holds a whole /64.
 */
void tv_api_client_address(const char *peer, const char *trusted, const char *forwarded,
    char *out, size_t outlen);
/* Returns the seconds an address must wait before trying again, or 0. */
int tv_api_auth_blocked(const char *addr, time_t now, int max_failures);
/* Counts a failed authentication from an address. */
void tv_api_auth_failed(const char *addr, time_t now);

/*
 * Returns {"runs":[...]}: the newest run records (at most limit) of the state
 * directory (runrec.h), newest first, each as the flow wrote it; damaged ones are
 * skipped.  Returns NULL if there is no memory.
 */
char *tv_api_runs_json(int limit);

#endif
