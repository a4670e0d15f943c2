/* apiflow.h: the answers of tv-api's endpoints, made by running the flows; no HTTP in here. */
#ifndef TV_APIFLOW_H
#define TV_APIFLOW_H

#include <stddef.h>

/*
 * Each function fills an answer: an HTTP status and a body, JSON unless said
 * otherwise.  Backups and restores run as the holder of the flows' run lock,
 * taken here first: when another run holds it the answer is 409 with the holder.
 * Failures keep the endpoint's own JSON shape ({backupId, message, status} or
 * {message, success}) with the flow's first error line as the message.
 */

/* Where the flows keep their state and what they work on; set once at start. */
struct tv_apiflow_config {
	const char	*lock_path;	/* the run lock (statedir.h), in the state directory the flows are given */
	const char	*database;	/* the database a restore replaces, for the plan's confirmation */
	const char	*metrics_file;	/* BACKUP_METRICS_FILE, or NULL */
};

/* An answer to send. */
struct tv_answer {
	unsigned	 status;
	const char	*type;		/* Content-Type */
	char		*body;		/* malloc'd */
	size_t		 len;
};

/* What a restore or a plan recovers: one of date, point, at; collections optional (NULL when absent). */
struct tv_recovery {
	const char	*date;		/* YYYY-MM-DD or YYYY-MM-DDTHHMMSSZ */
	const char	*point;		/* backups/... */
	const char	*at;		/* ISO-8601 time */
	const char	*collections;	/* a,b */
};

/* Sets {"message": fmt..., extra} where extra is more members of the object (maybe ""). */
void tv_answer_message(struct tv_answer *a, unsigned status, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Frees the body. */
void tv_answer_free(struct tv_answer *a);

/* POST /admin/backup/trigger: tv-backup --type manual, for subject (who asked, for the lock's owner record). */
void tv_answer_trigger(const struct tv_apiflow_config *cfg, const char *subject, struct tv_answer *a);
/* POST /admin/backup/restore...: tv-recover ... --yes (safety backup first, all or nothing). */
void tv_answer_restore(const struct tv_apiflow_config *cfg, const struct tv_recovery *what, const char *subject,
    struct tv_answer *a);
/* GET /admin/backup/plan: tv-recover without --yes: {"database", "plan"}. */
void tv_answer_plan(const struct tv_apiflow_config *cfg, const struct tv_recovery *what, struct tv_answer *a);
/* A read-only flow's JSON (tv-list --json, tv-status --json); exit statuses up to max_ok are answers. */
void tv_answer_read_flow(char *const argv[], int max_ok, struct tv_answer *a);
/* GET /metrics: the metrics textfile (503 while there is none). */
void tv_answer_metrics(const struct tv_apiflow_config *cfg, struct tv_answer *a);
/* GET /admin/backup/runs: the newest limit run records (400 unless limit is 1 to 1000). */
void tv_answer_runs(const struct tv_apiflow_config *cfg, const char *limit, struct tv_answer *a);
/*
 * GET /admin/backup/running: {"held": false, "holder": null, "run": null}, or while a
 * run holds the lock {"held": true, "holder": "tv-backup pid … on host since …",
 * "run": its progress record (LOCK.progress, which the flows write) or null}.
 */
void tv_answer_running(const struct tv_apiflow_config *cfg, struct tv_answer *a);
/* A file of the dashboard, found in dir (404 if it is not there). */
void tv_answer_file(const char *dir, const char *name, struct tv_answer *a);

/* Reads a whole file of at most max bytes; returns it NUL-terminated (malloc'd), or NULL with errno set. */
char *tv_read_file(const char *path, size_t max, size_t *len);

#endif
