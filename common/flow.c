/* flow.c: flows as child processes through posix_spawn, and the shared run lock. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flow.h"
#include "log.h"

extern char **environ;

/* The fd tv_lock in tv-lib.sh keeps its lock on; a flow that inherits it holds the lock. */
#define LOCK_FD	9

/* Remembers the first "[date ERR] message" line of a flow's stderr as the cause. */
static void
note_line(struct tv_flow_result *r, const char *line)
{
	const char *p = strstr(line, " ERR] ");

	if (r->cause[0] != '\0' || line[0] != '[' || p == NULL)
		return;
	snprintf(r->cause, sizeof(r->cause), "%s", p + 6);
}

/* Passes a chunk of the flow's stderr through, collecting whole lines for note_line. */
static void
relay_stderr(struct tv_flow_result *r, const char *buf, size_t n, char *line, size_t *linelen, size_t linesize)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			line[*linelen] = '\0';
			note_line(r, line);
			*linelen = 0;
		} else if (*linelen + 1 < linesize) {
			line[(*linelen)++] = buf[i];
		}
	}
	/* One write per chunk: the flow's own lines are whole already. */
	(void)!write(STDERR_FILENO, buf, n);
}

/* Appends to r->out up to max bytes, marking the result truncated past that. */
static void
collect_stdout(struct tv_flow_result *r, const char *buf, size_t n, size_t max, size_t *cap)
{
	if (r->outlen + n > max) {
		r->truncated = 1;
		return;
	}
	if (r->outlen + n + 1 > *cap) {
		size_t want = *cap ? *cap : 4096;
		char *p;

		while (want < r->outlen + n + 1)
			want *= 2;
		if ((p = realloc(r->out, want)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		r->out = p;
		*cap = want;
	}
	memcpy(r->out + r->outlen, buf, n);
	r->outlen += n;
	r->out[r->outlen] = '\0';
}

static int
spawn(pid_t *pid, char *const argv[], char *const envp[], int lock_fd, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	int rc;

	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_init(&attr);
	/* The server blocks and ignores signals; the flow's traps need them back. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err, STDERR_FILENO);
	if (lock_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, lock_fd, LOCK_FD);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

int
tv_flow_run(char *const argv[], char *const envp[], int lock_fd, size_t max_out, struct tv_flow_result *r)
{
	int outp[2], errp[2], rc, wstatus, open_fds = 2;
	size_t cap = 0, linelen = 0;
	char buf[16384], line[1024];
	struct pollfd pfd[2];
	pid_t pid;

	memset(r, 0, sizeof(*r));
	/* Close-on-exec, so that flows started at the same time by other threads do not hold our pipes. */
	if (pipe2(outp, O_CLOEXEC) == -1)
		return -1;
	if (pipe2(errp, O_CLOEXEC) == -1) {
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	rc = spawn(&pid, argv, envp, lock_fd, outp[1], errp[1]);
	close(outp[1]);
	close(errp[1]);
	if (rc != 0) {
		close(outp[0]);
		close(errp[0]);
		r->status = 127;
		errno = rc;
		return -1;
	}
	pfd[0] = (struct pollfd){ .fd = outp[0], .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = errp[0], .events = POLLIN };
	while (open_fds > 0) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			tv_fatal_errno(EX_OSERR, "poll");
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if ((n = read(pfd[i].fd, buf, sizeof(buf))) > 0) {
				if (i == 0)
					collect_stdout(r, buf, (size_t)n, max_out, &cap);
				else
					relay_stderr(r, buf, (size_t)n, line, &linelen, sizeof(line));
			} else if (n == 0 || errno != EINTR) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
			}
		}
	}
	if (linelen > 0) {
		line[linelen] = '\0';
		note_line(r, line);
	}
	while (waitpid(pid, &wstatus, 0) == -1)
		if (errno != EINTR)
			tv_fatal_errno(EX_OSERR, "waitpid");
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	if (r->out == NULL)
		r->out = strdup("");
	return 0;
}

void
tv_flow_result_free(struct tv_flow_result *r)
{
	free(r->out);
	r->out = NULL;
}

/* Returns 1 if an environment entry is one a flow may see. */
static int
passed_to_flows(const char *entry)
{
	static const char *const exact[] = { "PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL",
	    "MONGODB_URI", "MONGODB_URI_FILE", "TV_APPSETTINGS", "XDG_STATE_HOME" };
	size_t n = strcspn(entry, "=");

	if (entry[n] != '=')
		return 0;
	/* tv-api's own settings (its JWT secret among them) reach no flow. */
	if (strncmp(entry, "BACKUP_API_", 11) == 0)
		return 0;
	if (strncmp(entry, "BACKUP_", 7) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strlen(exact[i]) == n && strncmp(entry, exact[i], n) == 0)
			return 1;
	return 0;
}

char **
tv_flow_environ(char *const extra[])
{
	size_t n = 0, k = 0;
	char **envp;

	for (char **e = environ; *e != NULL; e++)
		n++;
	for (char *const *e = extra; e != NULL && *e != NULL; e++)
		n++;
	if ((envp = calloc(n + 1, sizeof(*envp))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (char **e = environ; *e != NULL; e++)
		if (passed_to_flows(*e) && (envp[k++] = strdup(*e)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	for (char *const *e = extra; e != NULL && *e != NULL; e++)
		if ((envp[k++] = strdup(*e)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	return envp;
}

void
tv_flow_environ_free(char **envp)
{
	for (char **e = envp; e != NULL && *e != NULL; e++)
		free(*e);
	free(envp);
}

/* Reads the first line of the lock's owner record into holder, never through a symbolic link. */
static void
read_owner(const char *path, char *holder, size_t size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd == -1 ? -1 : read(fd, holder, size - 1);

	if (fd != -1)
		close(fd);
	if (n <= 0)
		snprintf(holder, size, "unknown");
	else
		holder[n] = '\0';
	holder[strcspn(holder, "\n")] = '\0';
}

int
tv_lock_holder(const char *path, char *holder, size_t size)
{
	char owner_path[PATH_MAX + 8];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), held;

	holder[0] = '\0';
	if (fd == -1)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK;
	close(fd);
	if (held) {
		snprintf(owner_path, sizeof(owner_path), "%s.owner", path);
		read_owner(owner_path, holder, size);
	}
	return held;
}

/* Replaces the owner record as tv-lib.sh does: a new file renamed into place. */
static void
write_owner(const char *path, const char *owner)
{
	char tmp[PATH_MAX + 16];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp) || (fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return;
	if (write(fd, owner, strlen(owner)) != (ssize_t)strlen(owner) || close(fd) == -1 || rename(tmp, path) == -1) {
		unlink(tmp);
		tv_warn("cannot record the lock's owner in %s", path);
	}
}

int
tv_lock_take(const char *path, const char *owner, char *holder, size_t size)
{
	char owner_path[PATH_MAX + 8];
	int fd;

	holder[0] = '\0';
	/* A planted symbolic link would have us create or lock whatever it points to. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640)) == -1) {
		snprintf(holder, size, "cannot open the lock file %s: %s", path,
		    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		return -1;
	}
	snprintf(owner_path, sizeof(owner_path), "%s.owner", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		read_owner(owner_path, holder, size);
		return -2;
	}
	write_owner(owner_path, owner);
	return fd;
}
