/* tv-api: the old service's admin HTTP API and the dashboard, served on top of the flows. */

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <mongoc/mongoc.h>

#include "api.h"
#include "config.h"
#include "flow.h"
#include "jwt.h"
#include "log.h"
#include "mongo.h"

#ifndef TV_DASHBOARD_DIR
#define TV_DASHBOARD_DIR	"/usr/local/share/tralivali-backup/dashboard"
#endif

#define MAX_BODY	4096			/* no endpoint reads a body; a form's few bytes pass */
#define MAX_FLOW_OUTPUT	(32 << 20)
#define MAX_STATIC	(1 << 20)
#define CSP		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
			"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* Settings read once at start; the request threads only read them. */
static struct {
	struct tv_jwt_keys	 keys;
	const char		*dashboard;
	const char		*state_dir;
	const char		*metrics_file;
	const char		*cors_origin;
	char			*database;
	int			 public_metrics;
	int			 max_auth_failures;
} api;

/* Requests between their first callback and their log line; shutdown waits for none to be left. */
static unsigned long in_flight;

/* One request, from its first callback to the log line. */
struct request {
	const char	*method;
	char		 path[128];
	char		 query[160];	/* the known parameters only, for the log */
	struct timespec	 start;
	unsigned	 status;
	char		 subject[65];
	const char	*note;
	size_t		 body;
};

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-api [-qv] [--listen ADDR:PORT] [--cert FILE --key FILE] [--dashboard DIR] [--public-metrics]\n");
	exit(status);
}

/* Copies s for the log, printable ASCII only, so that no request can forge log lines. */
static void
log_safe(char *out, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s != '\0' && n + 1 < size; s++)
		out[n++] = *s > ' ' && *s < 0x7f ? *s : '?';
	out[n] = '\0';
}

/* Queues a response with the headers every answer carries. */
static enum MHD_Result
reply_with(struct MHD_Connection *c, struct request *rq, unsigned status, const char *type,
    const char *body, size_t len, const char *header, const char *value)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	/* Cross-origin callers only when the operator names their origin. */
	if (api.cors_origin != NULL && origin != NULL && strcmp(origin, api.cors_origin) == 0) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", api.cors_origin);
		MHD_add_response_header(resp, "Vary", "Origin");
	}
	if (header != NULL)
		MHD_add_response_header(resp, header, value);
	rq->status = status;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
reply_json(struct MHD_Connection *c, struct request *rq, unsigned status, const char *json)
{
	return reply_with(c, rq, status, "application/json", json, strlen(json), NULL, NULL);
}

/*
 * Answers {"message": ..., extra} where extra is the rest of a JSON object (maybe "");
 * the message is formatted like printf.
 */
static enum MHD_Result __attribute__((format(printf, 5, 6)))
reply_message(struct MHD_Connection *c, struct request *rq, unsigned status, const char *extra,
    const char *fmt, ...)
{
	char text[1024], *msg, *json;
	va_list ap;
	enum MHD_Result ret;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((msg = tv_json_string(text)) == NULL ||
	    asprintf(&json, "{\"message\":%s%s%s}\n", msg, *extra ? "," : "", extra) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	ret = reply_json(c, rq, status, json);
	free(msg);
	free(json);
	return ret;
}

/* The HTTP status for a flow's exit status (sysexits.h, as design.md lists them). */
static unsigned
http_status(int exit_status)
{
	switch (exit_status) {
	case 0:
		return MHD_HTTP_OK;
	case EX_USAGE:
		return MHD_HTTP_BAD_REQUEST;
	case EX_NOINPUT:
		return MHD_HTTP_NOT_FOUND;
	case EX_UNAVAILABLE:
	case EX_TEMPFAIL:
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	default:
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
}

/* Returns 1 if a flow's stdout is one JSON object. */
static int
is_json(const struct tv_flow_result *r)
{
	bson_t *doc;

	if (r->truncated || (doc = bson_new_from_json((const uint8_t *)r->out, (ssize_t)r->outlen, NULL)) == NULL)
		return 0;
	bson_destroy(doc);
	return 1;
}

/* Runs a flow; with lock_fd >= 0 it runs as the lock's holder.  Returns tv_flow_run's result. */
static int
run_flow(char *const argv[], int lock_fd, struct tv_flow_result *r)
{
	char held[4200], *extra[] = { held, NULL };
	char **envp;
	int rc, saved;

	snprintf(held, sizeof(held), "TV_LOCK_HELD=%s/tralivali-backup.lock", api.state_dir);
	envp = tv_flow_environ(lock_fd >= 0 ? extra : NULL);
	rc = tv_flow_run(argv, envp, lock_fd, MAX_FLOW_OUTPUT, r);
	saved = errno;
	tv_flow_environ_free(envp);
	errno = saved;
	/* A flow that is not installed is the caller's answer (503), not an error of the server. */
	if (rc == -1 && errno != ENOENT)
		tv_error("cannot run %s: %s", argv[0], strerror(errno));
	return rc;
}

/*
 * Takes the run lock for a flow started by this request.  Returns the fd, or -1
 * after answering 409 with the holder (or 500) in the endpoint's JSON shape.
 */
static int
take_lock(struct MHD_Connection *c, struct request *rq, const char *flow, const char *shape)
{
	char owner[256], holder[512], stamp[32], *h, *extra;
	time_t now = time(NULL);
	int fd;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	snprintf(owner, sizeof(owner), "tv-api (%s for %s) pid %ld since %s\n", flow,
	    rq->subject[0] ? rq->subject : "unknown", (long)getpid(), stamp);
	if ((fd = tv_lock_take(api.state_dir, owner, holder, sizeof(holder))) >= 0)
		return fd;
	if ((h = tv_json_string(holder)) == NULL || asprintf(&extra, "%s,\"holder\":%s", shape, h) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	if (fd == -2)
		reply_message(c, rq, MHD_HTTP_CONFLICT, extra, "another backup or restore is running");
	else
		reply_message(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, shape, "%s", holder);
	free(h);
	free(extra);
	return -1;
}

static enum MHD_Result
trigger(struct MHD_Connection *c, struct request *rq)
{
	static const char shape[] = "\"backupId\":null,\"status\":\"Failed\"";
	char *argv[] = { "tv-backup", "--type", "manual", NULL };
	struct tv_flow_result r;
	enum MHD_Result ret;
	int lock;

	if ((lock = take_lock(c, rq, "tv-backup", shape)) < 0)
		return MHD_YES;
	if (run_flow(argv, lock, &r) == -1)
		ret = reply_message(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, shape, "cannot run tv-backup");
	else if (is_json(&r))
		ret = reply_json(c, rq, http_status(r.status), r.out);
	else
		ret = reply_message(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, shape, "Backup failed: %s",
		    r.cause[0] ? r.cause : "tv-backup printed no result");
	close(lock);
	tv_flow_result_free(&r);
	return ret;
}

/*
 * Reads what a restore or a plan recovers: a {date} from the path, else the
 * date=, point= or at= parameter, and collections=.  Fills argv from index 1
 * (folder holds what it points at) and returns the next free index, or 0 after
 * answering 400.
 */
static int
recovery_args(struct MHD_Connection *c, struct request *rq, const char *date, char **argv, char folder[64],
    const char *shape)
{
	const char *point = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "point");
	const char *at = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "at");
	const char *colls = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "collections");
	int n = 1;

	if (date == NULL)
		date = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "date");
	if ((date != NULL) + (point != NULL) + (at != NULL) != 1)
		reply_message(c, rq, MHD_HTTP_BAD_REQUEST, shape, "name one recovery point: a date, point= or at=");
	else if (date != NULL && !tv_api_valid_date(date))
		reply_message(c, rq, MHD_HTTP_BAD_REQUEST, shape, "not a backup date (YYYY-MM-DD): %.64s", date);
	else if (point != NULL && !tv_api_valid_point(point))
		reply_message(c, rq, MHD_HTTP_BAD_REQUEST, shape, "not a recovery point (backups/YYYY-MM-DD...): %.64s", point);
	else if (at != NULL && !tv_api_valid_time(at))
		reply_message(c, rq, MHD_HTTP_BAD_REQUEST, shape, "at: not an ISO-8601 time (2024-01-15T03:00:00Z): %.64s", at);
	else if (colls != NULL && !tv_api_valid_collections(colls))
		reply_message(c, rq, MHD_HTTP_BAD_REQUEST, shape, "collections: not a comma-separated list of names");
	else
		n = 0;
	if (n != 0)
		return 0;
	snprintf(rq->query, sizeof(rq->query), "%s%s%s%s", date ? date : point ? point : at, at ? " (at)" : "",
	    colls ? " collections=" : "", colls ? colls : "");
	if (at != NULL) {
		argv[1] = "--at";
		argv[2] = (char *)at;
		n = 3;
	} else if (date != NULL && strchr(date, 'T') != NULL) {
		/* A later point of a day is a folder to tv-recover; a bare date is the day's first. */
		snprintf(folder, 64, "backups/%s", date);
		argv[1] = folder;
		n = 2;
	} else {
		argv[1] = (char *)(date ? date : point);
		n = 2;
	}
	if (colls != NULL) {
		argv[n++] = "--collections";
		argv[n++] = (char *)colls;
	}
	return n;
}

static enum MHD_Result
restore(struct MHD_Connection *c, struct request *rq, const char *date)
{
	static const char failed[] = "\"success\":false";
	char *argv[8] = { "tv-recover" }, folder[64];
	struct tv_flow_result r;
	enum MHD_Result ret;
	int n, lock;

	if ((n = recovery_args(c, rq, date, argv, folder, failed)) == 0)
		return MHD_YES;
	/* tv-recover takes its safety backup first (its default) and restores all or nothing. */
	argv[n] = "--yes";
	if ((lock = take_lock(c, rq, "tv-recover", failed)) < 0)
		return MHD_YES;
	if (run_flow(argv, lock, &r) == -1)
		ret = reply_message(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, failed, "cannot run tv-recover");
	else if (r.status == 0)
		ret = reply_message(c, rq, MHD_HTTP_OK, "\"success\":true", "Restore from %s completed successfully", argv[1]);
	else
		ret = reply_message(c, rq, http_status(r.status), failed, "Restore failed: %s",
		    r.cause[0] ? r.cause : "tv-recover failed");
	close(lock);
	tv_flow_result_free(&r);
	return ret;
}

static enum MHD_Result
plan(struct MHD_Connection *c, struct request *rq)
{
	char *argv[8] = { "tv-recover" }, folder[64], *text, *db, *json;
	struct tv_flow_result r;
	enum MHD_Result ret;

	if (recovery_args(c, rq, NULL, argv, folder, "") == 0)
		return MHD_YES;
	if (run_flow(argv, -1, &r) == -1)
		return reply_message(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "", "cannot run tv-recover");
	if (r.status != 0) {
		ret = reply_message(c, rq, http_status(r.status), "", "%s", r.cause[0] ? r.cause : "tv-recover failed");
	} else {
		/* The dashboard asks the operator to type the database's name before it restores. */
		if ((text = tv_json_string(r.out)) == NULL || (db = tv_json_string(api.database)) == NULL ||
		    asprintf(&json, "{\"database\":%s,\"plan\":%s}\n", db, text) == -1)
			tv_fatal(EX_OSERR, "out of memory");
		ret = reply_json(c, rq, MHD_HTTP_OK, json);
		free(text);
		free(db);
		free(json);
	}
	tv_flow_result_free(&r);
	return ret;
}

/*
 * Runs a read-only flow that prints JSON (or, with text set, Prometheus text) and
 * answers it; exit statuses up to max_ok are answers, not failures (tv-status's 0-3).
 */
static enum MHD_Result
read_flow(struct MHD_Connection *c, struct request *rq, char *const argv[], int max_ok, int text)
{
	struct tv_flow_result r;
	enum MHD_Result ret;

	if (run_flow(argv, -1, &r) == -1) {
		if (errno == ENOENT)
			return reply_message(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "",
			    "%s is not installed beside tv-api: this endpoint needs it", argv[0]);
		return reply_message(c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "", "cannot run %s", argv[0]);
	}
	if (r.status > max_ok || (text ? r.truncated : !is_json(&r)))
		ret = reply_message(c, rq, r.status > max_ok ? http_status(r.status) : MHD_HTTP_BAD_GATEWAY, "",
		    "%s failed: %s", argv[0], r.cause[0] ? r.cause : "it printed no result");
	else
		ret = reply_with(c, rq, MHD_HTTP_OK, text ? "text/plain; version=0.0.4; charset=utf-8" : "application/json",
		    r.out, r.outlen, NULL, NULL);
	tv_flow_result_free(&r);
	return ret;
}

/* Reads a whole file of at most max bytes; returns it (malloc'd) or NULL with errno set. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	*len = fread(buf, 1, max + 1, f);
	fclose(f);
	if (*len > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

static enum MHD_Result
metrics(struct MHD_Connection *c, struct request *rq)
{
	char *argv[] = { "tv-status", "--prom", NULL }, *body;
	enum MHD_Result ret;
	size_t len;

	if (api.metrics_file == NULL)
		return read_flow(c, rq, argv, 3, 1);
	if ((body = slurp(api.metrics_file, MAX_FLOW_OUTPUT, &len)) == NULL)
		return reply_message(c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "", "no metrics yet: %s: %s",
		    api.metrics_file, strerror(errno));
	ret = reply_with(c, rq, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, NULL, NULL);
	free(body);
	return ret;
}

static enum MHD_Result
runs(struct MHD_Connection *c, struct request *rq)
{
	const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	long limit = 50;
	char *end, *json;
	enum MHD_Result ret;

	if (arg != NULL && ((limit = strtol(arg, &end, 10)) < 1 || limit > 1000 || *end != '\0' || end == arg))
		return reply_message(c, rq, MHD_HTTP_BAD_REQUEST, "", "limit: a number from 1 to 1000");
	if ((json = tv_api_runs_json(api.state_dir, (int)limit)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	ret = reply_json(c, rq, MHD_HTTP_OK, json);
	free(json);
	return ret;
}

static enum MHD_Result
dashboard_file(struct MHD_Connection *c, struct request *rq, const char *name)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
	};
	const char *type = "application/octet-stream", *dot = strrchr(name, '.');
	char path[4096], *body;
	enum MHD_Result ret;
	size_t len;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (dot != NULL && strcmp(dot, types[i][0]) == 0)
			type = types[i][1];
	snprintf(path, sizeof(path), "%s/%s", api.dashboard, name);
	if ((body = slurp(path, MAX_STATIC, &len)) == NULL)
		return reply_message(c, rq, MHD_HTTP_NOT_FOUND, "", "no such page");
	ret = reply_with(c, rq, MHD_HTTP_OK, type, body, len, NULL, NULL);
	free(body);
	return ret;
}

/* Checks the bearer token; returns 1 if the caller is an admin, else 0 after answering. */
static int
authorized(struct MHD_Connection *c, struct request *rq)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	static const char busy[] = "{\"message\":\"too many failed authentications from this address; try again later\"}\n";
	static const char denied[] = "{\"message\":\"an admin bearer token is required\"}\n";
	const char *token, *challenge = "Bearer realm=\"tralivali-backup\"";
	char addr[64] = "unknown";
	struct tv_jwt_claims claims;
	time_t now = time(NULL);
	size_t len;
	int wait;

	if (info != NULL && info->client_addr != NULL)
		getnameinfo(info->client_addr, info->client_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
	if ((wait = tv_api_auth_blocked(addr, now, api.max_auth_failures)) > 0) {
		char retry[16];

		snprintf(retry, sizeof(retry), "%d", wait);
		rq->note = "too many failed authentications";
		reply_with(c, rq, MHD_HTTP_TOO_MANY_REQUESTS, "application/json", busy, sizeof(busy) - 1,
		    "Retry-After", retry);
		return 0;
	}
	token = tv_api_bearer(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), &len);
	if (token == NULL) {
		claims.reason = "no bearer token";
	} else {
		switch (tv_jwt_verify(&api.keys, token, len, now, &claims)) {
		case TV_JWT_OK:
			memcpy(rq->subject, claims.subject, sizeof(rq->subject));
			return 1;
		case TV_JWT_FORBIDDEN:
			memcpy(rq->subject, claims.subject, sizeof(rq->subject));
			rq->note = claims.reason;
			reply_message(c, rq, MHD_HTTP_FORBIDDEN, "", "the token does not carry the %s role", api.keys.admin_role);
			return 0;
		case TV_JWT_INVALID:
			challenge = "Bearer realm=\"tralivali-backup\", error=\"invalid_token\"";
			break;
		}
	}
	tv_api_auth_failed(addr, now);
	rq->note = claims.reason;
	reply_with(c, rq, MHD_HTTP_UNAUTHORIZED, "application/json", denied, sizeof(denied) - 1,
	    "WWW-Authenticate", challenge);
	return 0;
}

static enum MHD_Result
dispatch(struct MHD_Connection *c, struct request *rq, const char *method)
{
	struct tv_api_route route;
	char *list[] = { "tv-list", "--json", NULL }, *status[] = { "tv-status", "--json", NULL };
	int match = tv_api_match(method, rq->path, &route);

	if (match == 405 && strcmp(method, "OPTIONS") == 0 && api.cors_origin != NULL)
		return reply_with(c, rq, MHD_HTTP_NO_CONTENT, "text/plain", "", 0,
		    "Access-Control-Allow-Methods", "GET, POST");
	if (match != 0)
		return reply_message(c, rq, match, "", match == 404 ? "no such endpoint" : "method not allowed");
	if (rq->body > MAX_BODY)
		return reply_message(c, rq, MHD_HTTP_CONTENT_TOO_LARGE, "", "request body too large");
	if (route.endpoint == TV_API_STATIC)
		return dashboard_file(c, rq, route.arg);
	if ((route.endpoint != TV_API_METRICS || !api.public_metrics) && !authorized(c, rq))
		return MHD_YES;
	switch (route.endpoint) {
	case TV_API_TRIGGER:
		return trigger(c, rq);
	case TV_API_LIST:
		return read_flow(c, rq, list, 0, 0);
	case TV_API_RESTORE_DATE:
		return restore(c, rq, route.arg);
	case TV_API_RESTORE:
		return restore(c, rq, NULL);
	case TV_API_PLAN:
		return plan(c, rq);
	case TV_API_STATUS:
		return read_flow(c, rq, status, 3, 0);
	case TV_API_RUNS:
		return runs(c, rq);
	case TV_API_METRICS:
		return metrics(c, rq);
	case TV_API_STATIC:
		break;
	}
	return MHD_NO;
}

/* MHD calls this once with no data, then per chunk of body, then once more to answer. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **state)
{
	struct request *rq = *state;

	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->method = method;
		snprintf(rq->path, sizeof(rq->path), "%s", url);
		*state = rq;
		__atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		rq->body += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(c, rq, method);
}

/* Logs the finished request: method, path, status, subject, duration; never a token. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
	struct request *rq = *state;
	struct timespec end;
	char path[128], query[160];

	if (rq == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	log_safe(path, sizeof(path), rq->path);
	log_safe(query, sizeof(query), rq->query);
	tv_info("%s %s%s%s %u %s %.3fs%s%s%s", rq->method, path, query[0] ? " " : "", query,
	    rq->status, rq->subject[0] ? rq->subject : "-",
	    (double)(end.tv_sec - rq->start.tv_sec) + (double)(end.tv_nsec - rq->start.tv_nsec) / 1e9,
	    rq->note ? " (" : "", rq->note ? rq->note : "", rq->note ? ")" : "");
	free(rq);
	*state = NULL;
	__atomic_sub_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
}

static void
on_mhd_error(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	tv_warn("%s", msg);
}

/* Reads the token keys and the other settings from the environment; exits 64 on a bad one. */
static void
configure(void)
{
	const char *secret = getenv("BACKUP_API_JWT_SECRET_FILE"), *pub = getenv("BACKUP_API_JWT_PUBLIC_KEY_FILE");
	const char *uri_string = tv_config_get("MONGODB_URI", NULL), *env;
	mongoc_uri_t *uri;
	char *end;

	if ((secret == NULL || *secret == '\0') && (pub == NULL || *pub == '\0'))
		tv_fatal(EX_USAGE, "set BACKUP_API_JWT_SECRET_FILE (HS256) or BACKUP_API_JWT_PUBLIC_KEY_FILE "
		    "(RS256, ES256): tv-api accepts only admin tokens it can verify");
	if ((secret != NULL && *secret != '\0' && tv_jwt_load_secret(&api.keys, secret) != 0) ||
	    (pub != NULL && *pub != '\0' && tv_jwt_load_public_key(&api.keys, pub) != 0))
		exit(EX_USAGE);
	api.keys.issuer = getenv("BACKUP_API_JWT_ISSUER");
	api.keys.audience = getenv("BACKUP_API_JWT_AUDIENCE");
	if ((api.keys.admin_role = getenv("BACKUP_API_ADMIN_ROLE")) == NULL || *api.keys.admin_role == '\0')
		api.keys.admin_role = "admin";
	api.max_auth_failures = TV_API_AUTH_FAILURES;
	if ((env = getenv("BACKUP_API_AUTH_FAILURES")) != NULL && *env != '\0' &&
	    ((api.max_auth_failures = (int)strtol(env, &end, 10)) < 1 || *end != '\0'))
		tv_fatal(EX_USAGE, "BACKUP_API_AUTH_FAILURES: a number of failed authentications per minute, not %s", env);
	if ((api.cors_origin = getenv("BACKUP_API_CORS_ORIGIN")) != NULL && *api.cors_origin == '\0')
		api.cors_origin = NULL;
	if ((api.metrics_file = getenv("BACKUP_METRICS_FILE")) != NULL && *api.metrics_file == '\0')
		api.metrics_file = NULL;
	/* The flows and this server must agree on where the lock and the run records are. */
	api.state_dir = tv_config_get("BACKUP_STATE_DIR", NULL);
	setenv("BACKUP_STATE_DIR", api.state_dir, 1);
	if ((uri = mongoc_uri_new_with_error(uri_string, NULL)) == NULL)
		tv_fatal(EX_USAGE, "MONGODB_URI: not a MongoDB URI");
	api.database = strdup(mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri) : TV_MONGO_DEFAULT_DB);
	mongoc_uri_destroy(uri);
}

/* Parses ADDR:PORT ([v6]:PORT for IPv6) into a socket address; exits 64 on a bad one. */
static struct addrinfo *
parse_listen(const char *listen, int *v6)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	    .ai_socktype = SOCK_STREAM }, *ai;
	size_t n;

	if (colon == NULL || colon == listen || (n = (size_t)(colon - listen)) >= sizeof(host) || colon[1] == '\0')
		tv_fatal(EX_USAGE, "--listen: ADDR:PORT, e.g. 127.0.0.1:8080 or [::1]:8080, not %s", listen);
	memcpy(host, listen, n);
	host[n] = '\0';
	if (host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
		tv_fatal(EX_USAGE, "--listen: not a numeric address and port: %s", listen);
	*v6 = ai->ai_family == AF_INET6;
	return ai;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "cert",		required_argument,	NULL, 'c' },
		{ "dashboard",		required_argument,	NULL, 'd' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "key",		required_argument,	NULL, 'k' },
		{ "listen",		required_argument,	NULL, 'l' },
		{ "public-metrics",	no_argument,		NULL, 'm' },
		{ "quiet",		no_argument,		NULL, 'q' },
		{ "verbose",		no_argument,		NULL, 'v' },
		{ NULL,			0,			NULL, 0 }
	};
	const char *listen = "127.0.0.1:8080", *cert_file = NULL, *key_file = NULL;
	char *cert = NULL, *key = NULL;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *daemon;
	struct addrinfo *addr;
	sigset_t stop;
	size_t len;
	int ch, sig, v6;

	tv_log_init(argv[0]);
	api.dashboard = TV_DASHBOARD_DIR;
	while ((ch = getopt_long(argc, argv, "qv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cert_file = optarg;
			break;
		case 'd':
			api.dashboard = optarg;
			break;
		case 'h':
			usage(0);
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'm':
			api.public_metrics = 1;
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
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
	if (argc != 0 || (cert_file == NULL) != (key_file == NULL))
		usage(EX_USAGE);

	mongoc_init();
	configure();
	addr = parse_listen(listen, &v6);
	if (cert_file != NULL) {
		if ((cert = slurp(cert_file, MAX_STATIC, &len)) == NULL || (key = slurp(key_file, MAX_STATIC, &len)) == NULL)
			tv_fatal_errno(EX_NOINPUT, "cannot read %s", cert == NULL ? cert_file : key_file);
		flags |= MHD_USE_TLS;
	}
	if (v6)
		flags |= MHD_USE_IPv6;

	/* Every thread MHD starts inherits this mask, so the signals reach only sigwait below. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_error, NULL,
	    MHD_OPTION_SOCK_ADDR, addr->ai_addr,
	    MHD_OPTION_CONNECTION_LIMIT, 64u,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u,
	    /* Request line and headers must fit here, or MHD answers 431 itself. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_END);
	freeaddrinfo(addr);
	if (daemon == NULL)
		tv_fatal(EX_UNAVAILABLE, "cannot listen on %s (in use, or not an address of this machine?)", listen);
	tv_info("tv-api listening on %s://%s, dashboard from %s", cert ? "https" : "http", listen, api.dashboard);

	while (sigwait(&stop, &sig) != 0)
		;
	/*
	 * No new connections; requests in progress, the flows they run included, finish
	 * and send their answers before MHD closes what is left (idle keep-alives).
	 */
	tv_info("tv-api stopping (signal %d): running flows finish first", sig);
	close(MHD_quiesce_daemon(daemon));
	while (__atomic_load_n(&in_flight, __ATOMIC_SEQ_CST) > 0)
		nanosleep(&(struct timespec){ .tv_nsec = 100000000 }, NULL);
	MHD_stop_daemon(daemon);
	tv_jwt_keys_free(&api.keys);
	free(api.database);
	free(cert);
	free(key);
	mongoc_cleanup();
	return 0;
}
