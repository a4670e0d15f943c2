/* apiflow.c: tv-api's answers, each one flow run with a clean environment and its output passed on. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bson/bson.h>

#include "api.h"
#include "apiflow.h"
#include "flow.h"
#include "io.h"
#include "log.h"
#include "statedir.h"

#define MAX_FLOW_OUTPUT	(32 << 20)
#define MAX_STATIC	(1 << 20)
#define JSON		"application/json"
#define PROMETHEUS	"text/plain; version=0.0.4; charset=utf-8"

/*
 * How an endpoint answers a failure (and the restore its success): the old service's fields
 * after the message, and for the restore its fixed message, which its clients match, our words
 * then going into an added "detail"; without a fixed message our words are the message, after
 * the old service's prefix if it had one.  A trigger's failure carries a backupId, a string, as
 * the old service's did and tv-backup's own failures do: a fresh one, naming no backup.
 */
struct shape {
	const char	*message;
	const char	*fields;
	const char	*prefix;
	int		 new_backup_id;
};
static const struct shape trigger_failed = { NULL, "\"status\":\"Failed\"", "Backup failed: ", 1 };
static const struct shape restore_failed = { "Backup restore failed", "\"success\":false", "", 0 };
static const struct shape restored = { "Backup restored successfully", "\"success\":true", "", 0 };
static const struct shape plain = { NULL, "", "", 0 };

static void
set_body(struct tv_answer *a, unsigned status, const char *type, char *body, size_t len)
{
	a->status = status;
	a->type = type;
	a->body = body;
	a->len = len;
}

/* Answers {"message": fixed (or, if NULL, text), fields[, "detail": text][, extra]}. */
static void
answer_json(struct tv_answer *a, unsigned status, const char *fixed, const char *fields, const char *text,
    const char *extra)
{
	char *msg, *detail = NULL, *json;
	int len;

	if ((msg = tv_json_string(fixed ? fixed : text)) == NULL || (fixed && (detail = tv_json_string(text)) == NULL) ||
	    (len = asprintf(&json, "{\"message\":%s%s%s%s%s%s%s}\n", msg, *fields ? "," : "", fields,
	    detail ? ",\"detail\":" : "", detail ? detail : "", *extra ? "," : "", extra)) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	free(msg);
	free(detail);
	set_body(a, status, JSON, json, (size_t)len);
}

void
tv_answer_message(struct tv_answer *a, unsigned status, const char *extra, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	answer_json(a, status, NULL, "", text, extra);
}

/* Answers in shape s (a failure, or the restore's success), our words from fmt; extra: more fields ("" for none). */
static void __attribute__((format(printf, 5, 6)))
answer_shaped(struct tv_answer *a, unsigned status, const struct shape *s, const char *extra, const char *fmt, ...)
{
	char text[1024], fields[128], hex[25];
	size_t n = strlen(s->prefix);
	bson_oid_t oid;
	va_list ap;

	memcpy(text, s->prefix, n + 1);
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - n, fmt, ap);
	va_end(ap);
	snprintf(fields, sizeof(fields), "%s", s->fields);
	if (s->new_backup_id) {
		bson_oid_init(&oid, NULL);
		bson_oid_to_string(&oid, hex);
		snprintf(fields, sizeof(fields), "\"backupId\":\"%s\",%s", hex, s->fields);
	}
	answer_json(a, status, s->message, fields, text, extra);
}

void
tv_answer_free(struct tv_answer *a)
{
	free(a->body);
	a->body = NULL;
}

/* The HTTP status for a flow's exit status (sysexits.h, as design.md lists them). */
static unsigned
http_status(int exit_status)
{
	switch (exit_status) {
	case 0:
		return 200;
	case EX_USAGE:
		return 400;
	case EX_NOINPUT:
		return 404;
	case EX_UNAVAILABLE:
	case EX_TEMPFAIL:
		return 503;
	default:
		return 500;
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

/* Passes a flow's stdout on as the answer's body. */
static void
pass_on(struct tv_answer *a, unsigned status, const char *type, struct tv_flow_result *r)
{
	set_body(a, status, type, r->out, r->outlen);
	r->out = NULL;
}

/* Runs a flow; with lock_fd >= 0 it runs as the lock's holder.  Returns tv_flow_run's result. */
static int
run_flow(char *const argv[], const char *lock_path, int lock_fd, struct tv_flow_result *r)
{
	char held[4200], *extra[] = { held, NULL };
	char **envp;
	int rc, saved;

	snprintf(held, sizeof(held), "TV_LOCK_HELD=%s", lock_path ? lock_path : "");
	envp = tv_flow_environ(lock_fd >= 0 ? extra : NULL);
	rc = tv_flow_run(argv, envp, lock_fd, MAX_FLOW_OUTPUT, r);
	saved = errno;
	tv_flow_environ_free(envp);
	/* A flow that is not installed is the caller's answer (503), not an error of the server. */
	if (rc == -1 && saved != ENOENT)
		tv_error("cannot run %s: %s", argv[0], strerror(saved));
	errno = saved;
	return rc;
}

/* Takes the run lock for flow; returns its fd, or -1 with a (409 or 500) answer in the given shape. */
static int
take_lock(const struct tv_apiflow_config *cfg, const char *flow, const char *subject, const struct shape *shape,
    struct tv_answer *a)
{
	char owner[256], holder[512], stamp[32], *h, *extra;
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	snprintf(owner, sizeof(owner), "tv-api (%s for %s) pid %ld on %s since %s\n", flow,
	    subject[0] ? subject : "unknown", (long)getpid(), tv_host_name(), stamp);
	if ((fd = tv_lock_take(cfg->lock_path, owner, holder, sizeof(holder))) >= 0)
		return fd;
	if ((h = tv_json_string(holder)) == NULL || asprintf(&extra, "\"holder\":%s", h) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	if (fd == -2)
		answer_shaped(a, 409, shape, extra, "another backup or restore is running");
	else
		answer_shaped(a, 500, shape, "", "%s", holder);
	free(h);
	free(extra);
	return -1;
}

void
tv_answer_trigger(const struct tv_apiflow_config *cfg, const char *subject, struct tv_answer *a)
{
	char *argv[] = { "tv-backup", "--type", "manual", NULL };
	struct tv_flow_result r;
	int lock;

	if ((lock = take_lock(cfg, "tv-backup", subject, &trigger_failed, a)) < 0)
		return;
	if (run_flow(argv, cfg->lock_path, lock, &r) == -1)
		answer_shaped(a, 500, &trigger_failed, "", "cannot run tv-backup");
	else if (is_json(&r))
		pass_on(a, http_status(r.status), JSON, &r);
	else
		answer_shaped(a, 500, &trigger_failed, "", "%s", r.cause[0] ? r.cause : "tv-backup printed no result");
	close(lock);
	tv_flow_result_free(&r);
}

/*
 * Checks what a restore or a plan recovers and fills argv from index 1 (folder
 * holds what it points at).  Returns the next free index, or 0 with a 400 answer.
 */
static int
recovery_args(const struct tv_recovery *w, char **argv, char folder[64], const struct shape *shape,
    struct tv_answer *a)
{
	int n;

	if ((w->date != NULL) + (w->point != NULL) + (w->at != NULL) != 1) {
		answer_shaped(a, 400, shape, "", "name one recovery point: a date, point= or at=");
		return 0;
	}
	if ((w->date != NULL && !tv_api_valid_date(w->date)) || (w->point != NULL && !tv_api_valid_point(w->point)) ||
	    (w->at != NULL && !tv_api_valid_time(w->at))) {
		answer_shaped(a, 400, shape, "", "%s: %.64s", w->at ? "at: not an ISO-8601 time (2024-01-15T03:00:00Z)" :
		    w->date ? "not a backup date (YYYY-MM-DD)" : "not a recovery point (backups/YYYY-MM-DD...)",
		    w->at ? w->at : w->date ? w->date : w->point);
		return 0;
	}
	if (w->collections != NULL && !tv_api_valid_collections(w->collections)) {
		answer_shaped(a, 400, shape, "", "collections: not a comma-separated list of names");
		return 0;
	}
	if (w->at != NULL) {
		argv[1] = "--at";
		argv[2] = (char *)w->at;
		n = 3;
	} else {
		snprintf(folder, 64, "%s", w->date ? w->date : w->point);
		argv[1] = folder;
		n = 2;
	}
	if (w->collections != NULL) {
		argv[n++] = "--collections";
		argv[n++] = (char *)w->collections;
	}
	return n;
}

void
tv_answer_restore(const struct tv_apiflow_config *cfg, const struct tv_recovery *what, const char *subject,
    struct tv_answer *a)
{
	char *argv[8] = { "tv-recover" }, folder[64];
	struct tv_flow_result r;
	int n, lock;

	if ((n = recovery_args(what, argv, folder, &restore_failed, a)) == 0)
		return;
	/* tv-recover takes its safety backup first (its default) and restores all or nothing. */
	argv[n] = "--yes";
	if ((lock = take_lock(cfg, "tv-recover", subject, &restore_failed, a)) < 0)
		return;
	if (run_flow(argv, cfg->lock_path, lock, &r) == -1)
		answer_shaped(a, 500, &restore_failed, "", "cannot run tv-recover");
	else if (r.status == 0)
		answer_shaped(a, 200, &restored, "", "Restore from %s completed successfully", what->at ? what->at : folder);
	else
		answer_shaped(a, http_status(r.status), &restore_failed, "", "%s", r.cause[0] ? r.cause : "tv-recover failed");
	close(lock);
	tv_flow_result_free(&r);
}

void
tv_answer_plan(const struct tv_apiflow_config *cfg, const struct tv_recovery *what, struct tv_answer *a)
{
	char *argv[8] = { "tv-recover" }, folder[64], *text, *db, *json;
	struct tv_flow_result r;
	int len;

	if (recovery_args(what, argv, folder, &plain, a) == 0)
		return;
	if (run_flow(argv, cfg->lock_path, -1, &r) == -1) {
		tv_answer_message(a, 500, "", "cannot run tv-recover");
		return;
	}
	if (r.status != 0) {
		tv_answer_message(a, http_status(r.status), "", "%s", r.cause[0] ? r.cause : "tv-recover failed");
	} else {
		/* The dashboard asks the operator to type the database's name before it restores. */
		if ((text = tv_json_string(r.out)) == NULL || (db = tv_json_string(cfg->database)) == NULL ||
		    (len = asprintf(&json, "{\"database\":%s,\"plan\":%s}\n", db, text)) == -1)
			tv_fatal(EX_OSERR, "out of memory");
		set_body(a, 200, JSON, json, (size_t)len);
		free(text);
		free(db);
	}
	tv_flow_result_free(&r);
}

void
tv_answer_read_flow(char *const argv[], int max_ok, struct tv_answer *a)
{
	struct tv_flow_result r;

	if (run_flow(argv, NULL, -1, &r) == -1) {
		if (errno == ENOENT)
			tv_answer_message(a, 503, "", "%s is not installed beside tv-api: this endpoint needs it", argv[0]);
		else
			tv_answer_message(a, 500, "", "cannot run %s", argv[0]);
		return;
	}
	if (r.status > max_ok || !is_json(&r))
		tv_answer_message(a, r.status > max_ok ? http_status(r.status) : 502, "", "%s failed: %s", argv[0],
		    r.cause[0] ? r.cause : "it printed no result");
	else
		pass_on(a, 200, JSON, &r);
	tv_flow_result_free(&r);
}

char *
tv_read_file(const char *path, size_t max, size_t *len)
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

void
tv_answer_metrics(const struct tv_apiflow_config *cfg, struct tv_answer *a)
{
	char *body;
	size_t len;

	/* Every run of a flow rewrites the textfile (through tv-status); serving it costs no flow. */
	if (cfg->metrics_file == NULL)
		tv_answer_message(a, 503, "", "no metrics: BACKUP_METRICS_FILE is not set");
	else if ((body = tv_read_file(cfg->metrics_file, MAX_FLOW_OUTPUT, &len)) == NULL)
		tv_answer_message(a, 503, "", "no metrics yet: %s: %s", cfg->metrics_file, strerror(errno));
	else
		set_body(a, 200, PROMETHEUS, body, len);
}

void
tv_answer_runs(const struct tv_apiflow_config *cfg, const char *limit, struct tv_answer *a)
{
	int n = limit != NULL ? tv_api_runs_limit(limit) : 50;
	char *json;

	if (n == 0) {
		tv_answer_message(a, 400, "", "limit: a number from 1 to %d", TV_API_RUNS_MAX);
		return;
	}
	if ((json = tv_api_runs_json(n)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	set_body(a, 200, JSON, json, strlen(json));
}

/* Reads a whole small file like tv_read_file, but not through a symbolic link. */
static char *
read_nofollow(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;
	char *buf;

	if (fd == -1)
		return NULL;
	if ((buf = malloc(max + 1)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	n = tv_read_full(fd, buf, max + 1);
	close(fd);
	if (n < 0 || (size_t)n > max) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

void
tv_answer_running(const struct tv_apiflow_config *cfg, struct tv_answer *a)
{
	char holder[512], path[4096], *who, *run = NULL, *json;
	size_t len;
	bson_t *doc;
	int n;

	if (!tv_lock_holder(cfg->lock_path, holder, sizeof(holder))) {
		if ((json = strdup("{\"held\":false,\"holder\":null,\"run\":null}\n")) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		set_body(a, 200, JSON, json, strlen(json));
		return;
	}
	/*
	 * The progress record is the holder's; one left by a run that died is not read, the lock
	 * being free.  Like the owner record it is never read through a symbolic link.
	 */
	snprintf(path, sizeof(path), "%s.progress", cfg->lock_path);
	if ((run = read_nofollow(path, 16384, &len)) != NULL &&
	    (doc = bson_new_from_json((const uint8_t *)run, (ssize_t)len, NULL)) != NULL) {
		bson_destroy(doc);
		run[strcspn(run, "\n")] = '\0';
	} else {
		free(run);
		run = NULL;
	}
	if ((who = tv_json_string(holder)) == NULL ||
	    (n = asprintf(&json, "{\"held\":true,\"holder\":%s,\"run\":%s}\n", who, run ? run : "null")) == -1)
		tv_fatal(EX_OSERR, "out of memory");
	set_body(a, 200, JSON, json, (size_t)n);
	free(who);
	free(run);
}

void
tv_answer_file(const char *dir, const char *name, struct tv_answer *a)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
	};
	const char *type = "application/octet-stream", *dot = strrchr(name, '.');
	char path[4096], *body;
	size_t len;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (dot != NULL && strcmp(dot, types[i][0]) == 0)
			type = types[i][1];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((body = tv_read_file(path, MAX_STATIC, &len)) == NULL)
		tv_answer_message(a, 404, "", "no such page");
	else
		set_body(a, 200, type, body, len);
}
