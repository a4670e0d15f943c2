/* flow.h: running a flow (tv-backup, tv-list, ...) as a child process, and the run lock. */
#ifndef TV_FLOW_H
#define TV_FLOW_H

#include <stddef.h>

/*
 * A flow runs with an explicit environment (no shell, nothing inherited but
 * the allow-listed settings), its stdin on /dev/null, in its own process group
 * so that a signal meant for the caller does not cut it short.  Its stdout is
 * collected; its stderr is passed through to ours line by line, and its first
 * error line kept as the cause of a failure.
 */

/* What a finished flow left. */
struct tv_flow_result {
	char	*out;		/* stdout, NUL-terminated; free() it */
	size_t	 outlen;
	int	 truncated;	/* stdout was longer than the limit */
	int	 status;	/* exit status, 128 + signal, or 127 if it could not start */
	char	 cause[512];	/* first error line, without its time stamp, maybe empty */
};

/*
 * Runs argv[0] (found on PATH) with envp; if lock_fd >= 0 the child gets it as
 * fd 9, so the run lock stays held as long as the flow runs.  Returns 0 once the
 * flow has exited (see r->status), or -1 if it could not start (errno set).
 */
int tv_flow_run(char *const argv[], char *const envp[], int lock_fd, size_t max_out,
    struct tv_flow_result *r);
/* Frees what tv_flow_run allocated. */
void tv_flow_result_free(struct tv_flow_result *r);

/*
 * Returns a new environment for flows: the settings they read (MONGODB_URI*,
 * BACKUP_* except tv-api's own BACKUP_API_*, TV_APPSETTINGS), PATH, HOME, TMPDIR,
 * TZ, LANG and LC_ALL from ours, then the NAME=VALUE strings in extra (NULL-terminated).
 */
char **tv_flow_environ(char *const extra[]);
/* Frees an environment from tv_flow_environ. */
void tv_flow_environ_free(char **envp);

/*
 * Takes the lock the flows share (flock on path, statedir.h's tv_state_lock_path)
 * without waiting and writes owner to its .owner file.  Returns the locked fd
 * (close-on-exec), -2 with holder filled if another run holds it, or -1 with
 * holder saying why it could not be opened.  Unlike tv_state_lock, the lock
 * lasts only until the fd is closed: a server takes it once per flow it runs.
 */
int tv_lock_take(const char *path, const char *owner, char *holder, size_t size);
/*
 * Returns 1 if a run holds the lock at path, with holder filled from its .owner
 * file, or 0 if none does (or there is no lock file yet).  It asks by taking a
 * shared lock for an instant, as tv-status's flock -n does.
 */
int tv_lock_holder(const char *path, char *holder, size_t size);

#endif
