/* lifeline.c: PR_SET_PDEATHSIG for the parent, and a pidfd watched by a thread for the flow. */

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "lifeline.h"

#if defined(__linux__) && defined(SYS_pidfd_open)
/* Waits for the flow to end, then ends this process the way a kill would. */
static void *
watch(void *arg)
{
	struct pollfd p = { (int)(long)arg, POLLIN, 0 };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	kill(getpid(), SIGTERM);
	return NULL;
}

/* Starts the watch on TV_FLOW_PID, unless the flow is the parent (PR_SET_PDEATHSIG covers that). */
static void
watch_flow(void)
{
	const char *flow = getenv("TV_FLOW_PID");
	pthread_t t;
	long pid;
	int fd;

	if (flow == NULL || (pid = strtol(flow, NULL, 10)) <= 1 || pid == (long)getppid())
		return;
	/* A flow already gone when this stage starts: the stage has nobody to work for. */
	if ((fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0) {
		if (errno == ESRCH)
			kill(getpid(), SIGTERM);
		return;
	}
	if (pthread_create(&t, NULL, watch, (void *)(long)fd) == 0)
		pthread_detach(t);
	else
		close(fd);
}
#else
static void
watch_flow(void)
{
}
#endif

void
tv_lifeline(void)
{
#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGTERM);
#endif
	watch_flow();
}
