/* breaker.c: a circuit breaker whose state is one small file, updated under flock(2). */

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "breaker.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "statedir.h"

#define STATE_FILE	"blob-circuit-breaker"

struct state {
	long	failures;	/* failed runs in a row */
	long	opened;		/* when the breaker opened (epoch seconds), 0 if closed */
	long	probing;	/* when a half-open probe started, 0 if none */
	char	run[40];	/* TV_RUN_ID of the run that failed last, "-" if none */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int recorded;		/* this run's outcome is already written */
static int probe;		/* this run is the half-open probe */
static int was_clean;		/* the breaker was closed with no failures when this run began */

/* Opens the state file, locked; returns -1 (and the breaker is off) if no state directory is usable. */
static int
open_state(void)
{
	const char *dir = tv_state_dir();
	char *path;
	int fd;

	if (dir == NULL) {
		tv_warn("no writable state directory: circuit breaker disabled");
		return -1;
	}
	if (asprintf(&path, "%s/" STATE_FILE, dir) < 0)
		tv_fatal(EX_OSERR, "out of memory");
	/* Never through a symbolic link: a planted one would have us rewrite any file. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 || flock(fd, LOCK_EX) != 0) {
		tv_warn("%s: %s: circuit breaker disabled", path,
		    errno == ELOOP ? "a symbolic link, not followed" : strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

static void
read_state(int fd, struct state *s)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	memset(s, 0, sizeof(*s));
	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%ld %ld %ld %39s", &s->failures, &s->opened, &s->probing, s->run) < 1)
		memset(s, 0, sizeof(*s));
}

/* Rewrites the state and releases the file. */
static void
write_state(int fd, const struct state *s)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%ld %ld %ld %s\n", s->failures, s->opened, s->probing,
	    *s->run ? s->run : "-");

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		tv_warn("cannot record the circuit breaker state: %s", strerror(errno));
	close(fd);
}

static long
timeout_seconds(void)
{
	return tv_config_get_long("BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS", NULL, 0, 86400 * 365);
}

void
tv_breaker_enter(void)
{
	long now = (long)time(NULL), timeout = timeout_seconds();
	struct state s;
	int fd = open_state();

	if (fd < 0)
		return;
	read_state(fd, &s);
	was_clean = s.failures == 0 && s.opened == 0;
	if (s.opened == 0) {
		close(fd);
		return;
	}
	/* One probe at a time: the others still fail fast while it runs. */
	if (now < s.opened + timeout || (s.probing != 0 && now < s.probing + timeout)) {
		close(fd);
		tv_fatal(EX_UNAVAILABLE, "Circuit breaker is open: the blob store failed %ld times in a row; "
		    "retry after %ld s", s.failures, (s.probing ? s.probing : s.opened) + timeout - now);
	}
	s.probing = now;
	write_state(fd, &s);
	probe = 1;
	tv_info("Circuit breaker half-open: trying the blob store once");
}

void
tv_breaker_success(void)
{
	int fd;

	pthread_mutex_lock(&lock);
	if (!recorded) {
		recorded = 1;
		if (!was_clean && (fd = open_state()) >= 0) {
			struct state closed = { 0, 0, 0, "" };

			write_state(fd, &closed);
			if (probe)
				tv_info("Circuit breaker closed: the blob store answered");
		}
	}
	pthread_mutex_unlock(&lock);
}

void
tv_breaker_failure(void)
{
	long threshold = tv_config_get_long("BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD", NULL, 1, 1000000);
	const char *run = getenv("TV_RUN_ID");
	struct state s;
	int fd;

	pthread_mutex_lock(&lock);
	if (!recorded && (fd = open_state()) >= 0) {
		recorded = 1;
		read_state(fd, &s);
		/* A flow runs several tools; its run counts once, however many of them fail. */
		if (run != NULL && *run != '\0' && strcmp(run, s.run) == 0 && !probe) {
			close(fd);
			pthread_mutex_unlock(&lock);
			return;
		}
		if (run != NULL && *run != '\0')
			snprintf(s.run, sizeof(s.run), "%s", run);
		s.failures++;
		if ((probe || s.failures >= threshold) && s.opened == 0)
			tv_warn("Circuit breaker opened after %ld failed attempts in a row", s.failures);
		if (probe || s.failures >= threshold) {
			s.opened = (long)time(NULL);
			s.probing = 0;
		}
		write_state(fd, &s);
	}
	pthread_mutex_unlock(&lock);
}

int
tv_breaker_query(struct tv_breaker_state *q)
{
	long now = (long)time(NULL);
	struct state s;
	int fd = open_state();

	memset(q, 0, sizeof(*q));
	if (fd < 0)
		return -1;
	read_state(fd, &s);
	close(fd);
	q->failures = s.failures;
	q->threshold = tv_config_get_long("BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD", NULL, 1, 1000000);
	q->opened = s.opened;
	if (s.opened == 0)
		q->state = TV_BREAKER_CLOSED;
	else if (s.probing != 0 && now < s.probing + timeout_seconds()) {
		q->state = TV_BREAKER_PROBING;
		q->until = s.probing + timeout_seconds();
	} else if (now < s.opened + timeout_seconds()) {
		q->state = TV_BREAKER_OPEN;
		q->until = s.opened + timeout_seconds();
	} else
		q->state = TV_BREAKER_HALF_OPEN;
	return 0;
}
