/* tv-api: the old service's admin HTTP API and the dashboard, served on top of the flows. */

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <mongoc/mongoc.h>

#include "api.h"
#include "apiflow.h"
#include "config.h"
#include "help.h"
#include "jwt.h"
#include "log.h"
#include "mongo.h"
#include "statedir.h"

#ifndef TV_DASHBOARD_DIR
#define TV_DASHBOARD_DIR	"/usr/local/share/tralivali-backup/dashboard"
#endif

#define MAX_BODY	4096			/* no endpoint reads a body; a form's few bytes pass */
#define MAX_CONNECTIONS	64
#define IDLE_TIMEOUT	30			/* seconds without a byte before MHD closes a connection */
#define RECEIVE_TIMEOUT	30			/* default seconds to send a whole request */
#define MAX_PEM		(1 << 20)
#define CSP		"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
			"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* Settings read once at start; the request threads only read them. */
static struct {
	struct tv_jwt_keys	 keys;
	struct tv_apiflow_config flows;
	const char		*dashboard;
	const char		*cors_origin;
	int			 public_metrics;
	int			 max_auth_failures;
	const char		*trusted_proxies;	/* whose X-Forwarded-For names the client */
	long			 receive_timeout;	/* seconds to send a whole request */
} api;

/*
 * The connections and since when each has been sending its request.  MHD only
 * closes a connection idle for IDLE_TIMEOUT, so a client that sends a byte now
 * and then would hold its slot for ever; a thread closes a connection whose
 * request is not in after api.receive_timeout seconds.  Answering is not
 * limited: a backup or a restore answers when it is done.
 */
static struct conn {
	int	 used;
	int	 fd;
	time_t	 since;		/* when it began to send its request (monotonic), 0 while answered */
	char	 peer[64];
} conns[MAX_CONNECTIONS];
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;

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
	if (status == 0)
		tv_help_page("tv-api", 8);
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
	if (api.cors_origin != NULL)
		MHD_add_response_header(resp, "Vary", "Origin");
	if (api.cors_origin != NULL && origin != NULL && strcmp(origin, api.cors_origin) == 0) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", api.cors_origin);
		if (strcmp(rq->method, "OPTIONS") == 0) {
			MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST");
			MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization");
			MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
		}
	}
	if (header != NULL)
		MHD_add_response_header(resp, header, value);
	rq->status = status;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Sends an answer and frees it. */
static enum MHD_Result
reply(struct MHD_Connection *c, struct request *rq, struct tv_answer *a)
{
	enum MHD_Result ret = reply_with(c, rq, a->status, a->type, a->body, a->len, NULL, NULL);

	tv_answer_free(a);
	return ret;
}

/* Writes the peer's numeric address to out ("unknown" if MHD has none). */
static void
peer_address(struct MHD_Connection *c, char *out, size_t size)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	snprintf(out, size, "unknown");
	if (info != NULL && info->client_addr != NULL)
		getnameinfo(info->client_addr, info->client_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in), out, (socklen_t)size, NULL, 0, NI_NUMERICHOST);
}

static time_t
monotonic(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* Notes that the connection begins to send a request (receiving) or is being answered. */
static void
set_receiving(struct MHD_Connection *c, int receiving)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = info ? info->socket_context : NULL;

	if (k == NULL)
		return;
	pthread_mutex_lock(&conns_lock);
	k->since = receiving ? monotonic() : 0;
	pthread_mutex_unlock(&conns_lock);
}

/* MHD calls this when it accepts a connection and before it closes its socket. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **context, enum MHD_ConnectionNotificationCode what)
{
	const union MHD_ConnectionInfo *info;
	struct conn *k = *context;

	pthread_mutex_lock(&conns_lock);
	if (what == MHD_CONNECTION_NOTIFY_CLOSED && k != NULL)
		k->used = 0;
	else if (what == MHD_CONNECTION_NOTIFY_STARTED &&
	    (info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL)
		for (k = conns; k < conns + MAX_CONNECTIONS; k++)
			if (!k->used) {
				*k = (struct conn){ .used = 1, .fd = info->connect_fd, .since = monotonic() };
				peer_address(c, k->peer, sizeof(k->peer));
				*context = k;
				break;
			}
	pthread_mutex_unlock(&conns_lock);
}

/*
 * Closes the connections whose request is not in after api.receive_timeout
 * seconds.  A shutdown, not a close: the connection's thread sees the end of
 * its input and closes it the usual way, and the socket stays this
 * connection's until MHD tells on_connection it is closed.
 */
static void *
reap_slow(void *arg)
{
	for (;;) {
		time_t now;

		sleep(1);
		pthread_mutex_lock(&conns_lock);
		now = monotonic();
		for (struct conn *k = conns; k < conns + MAX_CONNECTIONS; k++)
			if (k->used && k->since != 0 && now - k->since >= api.receive_timeout) {
				shutdown(k->fd, SHUT_RDWR);
				k->since = 0;
				tv_warn("%s sent no whole request within %ld s: connection closed", k->peer, api.receive_timeout);
			}
		pthread_mutex_unlock(&conns_lock);
	}
	return arg;
}

/*
 * Keeps the last X-Forwarded-For line: MHD visits the header lines in the order
 * they came, and a proxy such as HAProxy appends a line of its own after the
 * client's instead of extending the client's line.
 */
static enum MHD_Result
last_forwarded(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	const char **last = cls;

	if (strcasecmp(key, "X-Forwarded-For") == 0)
		*last = value;
	return MHD_YES;
}

/* Checks the bearer token; returns 1 if the caller is an admin, else 0 after answering. */
static int
authorized(struct MHD_Connection *c, struct request *rq)
{
	static const char busy[] = "{\"message\":\"too many failed authentications from this address; try again later\"}\n";
	static const char denied[] = "{\"message\":\"an admin bearer token is required\"}\n";
	const char *token, *challenge = "Bearer realm=\"tralivali-backup\"", *forwarded = NULL;
	char peer[64], addr[64];
	struct tv_jwt_claims claims;
	struct tv_answer a;
	time_t now = time(NULL);
	size_t len;
	int wait;

	peer_address(c, peer, sizeof(peer));
	MHD_get_connection_values(c, MHD_HEADER_KIND, last_forwarded, &forwarded);
	tv_api_client_address(peer, api.trusted_proxies, forwarded, addr, sizeof(addr));
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
			tv_answer_message(&a, MHD_HTTP_FORBIDDEN, "", "the token does not carry the %s role", api.keys.admin_role);
			reply(c, rq, &a);
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

/* Reads what a restore or a plan recovers from the path's {date} or the query, and notes it for the log. */
static void
recovery(struct MHD_Connection *c, struct request *rq, const char *date, struct tv_recovery *w)
{
	w->date = date ? date : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "date");
	w->point = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "point");
	w->at = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "at");
	w->collections = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "collections");
	snprintf(rq->query, sizeof(rq->query), "%s%s%s%s%s%s%s%s", w->point ? "point=" : "", w->point ? w->point : "",
	    w->at ? "at=" : "", w->at ? w->at : "", date == NULL && w->date ? "date=" : "",
	    date == NULL && w->date ? w->date : "", w->collections ? " collections=" : "",
	    w->collections ? w->collections : "");
}

static enum MHD_Result
dispatch(struct MHD_Connection *c, struct request *rq, const char *method, const char *url)
{
	char *list[] = { "tv-list", "--json", NULL }, *status[] = { "tv-status", "--json", NULL };
	struct tv_api_route route;
	struct tv_recovery what;
	struct tv_answer a;
	int match = tv_api_match(method, url, &route);

	set_receiving(c, 0);
	/* A browser's preflight before it sends the Authorization header across origins. */
	if (match == 405 && strcmp(method, "OPTIONS") == 0 && api.cors_origin != NULL)
		return reply_with(c, rq, MHD_HTTP_NO_CONTENT, "text/plain", "", 0, NULL, NULL);
	if (match != 0)
		tv_answer_message(&a, match, "", match == 404 ? "no such endpoint" : "method not allowed");
	else if (route.endpoint == TV_API_STATIC)
		tv_answer_file(api.dashboard, route.arg, &a);
	else if ((route.endpoint != TV_API_METRICS || !api.public_metrics) && !authorized(c, rq))
		return MHD_YES;
	else
		switch (route.endpoint) {
		case TV_API_TRIGGER:
			tv_answer_trigger(&api.flows, rq->subject, &a);
			break;
		case TV_API_LIST:
			tv_answer_read_flow(list, 0, &a);
			break;
		case TV_API_RESTORE_DATE:
		case TV_API_RESTORE:
			recovery(c, rq, route.endpoint == TV_API_RESTORE_DATE ? route.arg : NULL, &what);
			tv_answer_restore(&api.flows, &what, rq->subject, &a);
			break;
		case TV_API_PLAN:
			recovery(c, rq, NULL, &what);
			tv_answer_plan(&api.flows, &what, &a);
			break;
		case TV_API_STATUS:
			/* tv-status exits 0 to 3 for OK to UNKNOWN: each is an answer. */
			tv_answer_read_flow(status, 3, &a);
			break;
		case TV_API_RUNS:
			tv_answer_runs(&api.flows, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), &a);
			break;
		case TV_API_RUNNING:
			tv_answer_running(&api.flows, &a);
			break;
		case TV_API_METRICS:
			tv_answer_metrics(&api.flows, &a);
			break;
		case TV_API_STATIC:
			return MHD_NO;
		}
	return reply(c, rq, &a);
}

/* MHD calls this once with no data, then per chunk of body, then once more to answer. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **state)
{
	static const char too_large[] = "{\"message\":\"request body too large\"}\n";
	struct request *rq = *state;
	const char *length;

	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		rq->method = method;
		snprintf(rq->path, sizeof(rq->path), "%s", url);
		*state = rq;
		__atomic_add_fetch(&in_flight, 1, __ATOMIC_SEQ_CST);
		/* Refused before a byte of the body is read: MHD then closes the connection instead of reading it. */
		length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (tv_api_body_too_large(length, MAX_BODY)) {
			set_receiving(c, 0);
			return reply_with(c, rq, MHD_HTTP_CONTENT_TOO_LARGE, "application/json", too_large,
			    sizeof(too_large) - 1, NULL, NULL);
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		rq->body += *upload_size;
		*upload_size = 0;
		/* A chunked body has no length to check first: it is cut off at the limit, unanswered. */
		if (rq->body > MAX_BODY) {
			rq->status = MHD_HTTP_CONTENT_TOO_LARGE;
			rq->note = "request body too large: connection closed";
			return MHD_NO;
		}
		return MHD_YES;
	}
	return dispatch(c, rq, method, url);
}

/* Logs the finished request: method, path, status, subject, duration; never a token. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
	struct request *rq = *state;
	struct timespec end;
	char path[128], query[160];

	/* A kept-alive connection begins its next request. */
	set_receiving(c, 1);
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
	const char *uri_string = tv_config_get("MONGODB_URI", NULL), *env, *state;
	mongoc_uri_t *uri;
	char *end;
	int status;

	if ((secret == NULL || *secret == '\0') && (pub == NULL || *pub == '\0'))
		tv_fatal(EX_USAGE, "set BACKUP_API_JWT_SECRET_FILE (HS256) or BACKUP_API_JWT_PUBLIC_KEY_FILE "
		    "(RS256, ES256): tv-api accepts only admin tokens it can verify");
	env = getenv("BACKUP_API_ALLOW_WEAK_SECRET");
	if (secret != NULL && *secret != '\0' &&
	    (status = tv_jwt_load_secret(&api.keys, secret, env != NULL && strcmp(env, "1") == 0)) != 0)
		exit(status);
	if (pub != NULL && *pub != '\0' && tv_jwt_load_public_key(&api.keys, pub) != 0)
		exit(EX_USAGE);
	if ((api.keys.issuer = getenv("BACKUP_API_JWT_ISSUER")) != NULL && *api.keys.issuer == '\0')
		api.keys.issuer = NULL;
	if ((api.keys.audience = getenv("BACKUP_API_JWT_AUDIENCE")) != NULL && *api.keys.audience == '\0')
		api.keys.audience = NULL;
	if ((api.keys.admin_role = getenv("BACKUP_API_ADMIN_ROLE")) == NULL || *api.keys.admin_role == '\0')
		api.keys.admin_role = "admin";
	api.keys.max_lifetime = TV_JWT_MAX_LIFETIME;
	if ((env = getenv("BACKUP_API_MAX_TOKEN_LIFETIME")) != NULL && *env != '\0' &&
	    ((api.keys.max_lifetime = strtol(env, &end, 10)) < 1 || *end != '\0'))
		tv_fatal(EX_USAGE, "BACKUP_API_MAX_TOKEN_LIFETIME: the longest exp - iat accepted, in seconds, not %s", env);
	api.receive_timeout = RECEIVE_TIMEOUT;
	if ((env = getenv("BACKUP_API_RECEIVE_TIMEOUT")) != NULL && *env != '\0' &&
	    ((api.receive_timeout = strtol(env, &end, 10)) < 1 || *end != '\0'))
		tv_fatal(EX_USAGE, "BACKUP_API_RECEIVE_TIMEOUT: the seconds a client has to send a whole request, not %s", env);
	api.max_auth_failures = TV_API_AUTH_FAILURES;
	if ((env = getenv("BACKUP_API_AUTH_FAILURES")) != NULL && *env != '\0' &&
	    ((api.max_auth_failures = (int)strtol(env, &end, 10)) < 1 || *end != '\0'))
		tv_fatal(EX_USAGE, "BACKUP_API_AUTH_FAILURES: a number of failed authentications per minute, not %s", env);
	api.trusted_proxies = getenv("BACKUP_API_TRUSTED_PROXIES");
	if ((api.cors_origin = getenv("BACKUP_API_CORS_ORIGIN")) != NULL && *api.cors_origin == '\0')
		api.cors_origin = NULL;
	if ((api.flows.metrics_file = getenv("BACKUP_METRICS_FILE")) != NULL && *api.flows.metrics_file == '\0')
		api.flows.metrics_file = NULL;
	/* The flows and this server must agree on where the lock and the run records are. */
	if ((state = tv_state_dir()) == NULL || (api.flows.lock_path = tv_state_lock_path()) == NULL)
		tv_fatal(EX_USAGE, "no writable state directory: set BACKUP_STATE_DIR");
	setenv("BACKUP_STATE_DIR", state, 1);
	uri = tv_mongo_uri(uri_string);
	api.flows.database = strdup(mongoc_uri_get_database(uri) ? mongoc_uri_get_database(uri) : TV_MONGO_DEFAULT_DB);
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

/* Returns 1 if directory dir holds a readable index.html. */
static int
has_index(const char *dir)
{
	char path[PATH_MAX];

	return snprintf(path, sizeof(path), "%s/index.html", dir) < (int)sizeof(path) && access(path, R_OK) == 0;
}

/*
 * The dashboard directory: --dashboard's, else the installed one, else, for a tv-api run from
 * its build tree (make check, a developer), the source tree's.  A directory without a page is
 * said at start, not found out by the first browser to get a 404.
 */
static const char *
find_dashboard(const char *given)
{
#ifdef TV_SOURCE_DASHBOARD_DIR
	if (given == NULL && !has_index(TV_DASHBOARD_DIR) && tv_in_build_tree() && has_index(TV_SOURCE_DASHBOARD_DIR))
		return TV_SOURCE_DASHBOARD_DIR;
#endif
	if (given == NULL)
		given = TV_DASHBOARD_DIR;
	if (!has_index(given))
		tv_warn("the dashboard directory %s has no readable index.html: / serves no page "
		    "(--dashboard DIR names the directory of index.html, app.js and app.css)", given);
	return given;
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
	pthread_t reaper;
	sigset_t stop;
	size_t len;
	int ch, sig, v6;

	tv_log_init(argv[0]);
	api.dashboard = NULL;
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
	api.dashboard = find_dashboard(api.dashboard);
	addr = parse_listen(listen, &v6);
	if (cert_file != NULL) {
		if ((cert = tv_read_file(cert_file, MAX_PEM, &len)) == NULL || (key = tv_read_file(key_file, MAX_PEM, &len)) == NULL)
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
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u,
	    /* Request line and headers must fit here, or MHD answers 431 itself. */
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
	    MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_END);
	freeaddrinfo(addr);
	if (daemon == NULL)
		tv_fatal(EX_UNAVAILABLE, "cannot listen on %s (in use, or not an address of this machine?)", listen);
	if ((errno = pthread_create(&reaper, NULL, reap_slow, NULL)) != 0)
		tv_fatal_errno(EX_OSERR, "cannot start a thread");
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
	free((char *)api.flows.database);
	free(cert);
	free(key);
	mongoc_cleanup();
	return 0;
}
