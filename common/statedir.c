/* statedir.c: the state directory and the run lock, shared by the C tools and (through tv-state) the scripts. */

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "io.h"
#include "log.h"
#include "statedir.h"

#define LOCK_FILE	"tralivali-backup.lock"

/*
 * Creates dir and its parents, its owner's alone (the run records name who
 * restored what, the lock who runs); returns 0 if it exists and is writable.
 */
static int
usable_dir(const char *dir)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p))
		return -1;
	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	mkdir(p, 0700);
	return access(dir, W_OK | X_OK);
}

/* Warns, once, that the directory an operator made is open to others; it is used all the same. */
static void
warn_if_open(const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
		tv_warn("state directory %s has mode %04o: others may read its run records and lock; chmod 700 %s",
		    dir, (unsigned)(st.st_mode & 07777), dir);
}

const char *
tv_state_dir(void)
{
	static char dir[PATH_MAX];
	static int decided;
	const char *want = tv_config_get("BACKUP_STATE_DIR", NULL);
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (decided)
		return *dir ? dir : NULL;
	decided = 1;
	if (usable_dir(want) == 0) {
		snprintf(dir, sizeof(dir), "%s", want);
		warn_if_open(dir);
		return dir;
	}
	/* Only the default falls back: a directory the operator named must be the one used. */
	if (getenv("BACKUP_STATE_DIR") != NULL && *getenv("BACKUP_STATE_DIR") != '\0') {
		tv_warn("state directory %s: cannot create or write it", want);
		return NULL;
	}
	if (xdg != NULL && *xdg != '\0')
		snprintf(dir, sizeof(dir), "%s/tralivali-backup", xdg);
	else
		snprintf(dir, sizeof(dir), "%s/.local/state/tralivali-backup", home ? home : "");
	tv_debug("state directory %s not writable, using %s", want, dir);
	if (usable_dir(dir) != 0) {
		tv_warn("no writable state directory (%s nor %s)", want, dir);
		*dir = '\0';
		return NULL;
	}
	warn_if_open(dir);
	return dir;
}

const char *
tv_state_lock_path(void)
{
	static char path[PATH_MAX];
	const char *dir = tv_state_dir();

	if (dir == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/" LOCK_FILE, dir);
	return path;
}

/* Prints the lock's owner line (tool, pid, host, since) into buf, or "unknown". */
static void
lock_owner(const char *path, char *buf, size_t len)
{
	char owner[PATH_MAX + 8];
	ssize_t n;
	int fd;

	snprintf(buf, len, "unknown");
	snprintf(owner, sizeof(owner), "%s.owner", path);
	if ((fd = open(owner, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if ((n = tv_read_full(fd, buf, len - 1)) > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	close(fd);
}

const char *
tv_host_name(void)
{
	static char name[256];

	if (name[0] == '\0' && (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0'))
		snprintf(name, sizeof(name), "unknown-host");
	return name;
}

int
tv_state_lock(const char *holder)
{
	const char *path = tv_state_lock_path();
	char owner[PATH_MAX + 8], who[256], line[512], since[32];
	time_t now = time(NULL);
	struct tm tm;
	int fd, ofd, n;

	if (getenv("TV_LOCK_HELD") != NULL && *getenv("TV_LOCK_HELD") != '\0')
		return 0;
	if (path == NULL) {
		tv_error("no state directory for the run lock (set BACKUP_STATE_DIR to a writable directory)");
		return EX_TEMPFAIL;
	}
	/* Held until this process exits; close-on-exec, so no child outlives it holding the lock. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		tv_error("cannot open the lock file %s: %s", path, strerror(errno));
		return EX_TEMPFAIL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		lock_owner(path, who, sizeof(who));
		tv_error("another backup, restore or retention run holds the lock %s (%s); not starting",
		    path, who);
		close(fd);
		return EX_TEMPFAIL;
	}
	gmtime_r(&now, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s pid %ld on %s since %s\n", holder, (long)getpid(), tv_host_name(), since);
	snprintf(owner, sizeof(owner), "%s.owner", path);
	if ((ofd = open(owner, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
		if (tv_write_all(ofd, line, (size_t)n) != 0)
			tv_warn("%s: %s", owner, strerror(errno));
		close(ofd);
	}
	return 0;
}
