/* retry.c: exponential backoff with jitter inside a bounded time budget. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "retry.h"

#define BASE_DELAY	0.25
#define MAX_DELAY	8.0

void
tv_retry_init(struct tv_retry *r)
{
	const char *env = getenv("TV_RETRY_MAX_SECONDS");
	char *end;

	static int seeded;

	if (!seeded++)
		srandom((unsigned)getpid() ^ (unsigned)time(NULL));
	memset(r, 0, sizeof(*r));
	r->budget = 60;
	if (env != NULL && *env != '\0') {
		r->budget = strtod(env, &end);
		if (*end != '\0' || r->budget < 0)
			tv_fatal(EX_USAGE, "TV_RETRY_MAX_SECONDS: not a number of seconds: %s", env);
	}
}

/* Sleeps d seconds, resuming after signals. */
static void
sleep_for(double d)
{
	struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int
tv_retry_wait(struct tv_retry *r, double retry_after)
{
	double now = tv_clock(), left, delay;
	unsigned shift = r->attempt < 10 ? r->attempt : 10;

	if (r->start == 0)
		r->start = now;
	left = r->start + r->budget - now;
	delay = BASE_DELAY * (double)(1u << shift);
	if (delay > MAX_DELAY)
		delay = MAX_DELAY;
	/* Equal jitter: half the delay fixed, half random. */
	delay = delay / 2 + delay / 2 * ((double)(random() % 1000) / 1000.0);
	if (retry_after >= 0)
		delay = retry_after;
	if (left <= 0 || delay > left)
		return -1;
	r->attempt++;
	tv_debug("retrying in %.2f s (attempt %u, %.1f s of retry budget left)", delay, r->attempt + 1, left);
	sleep_for(delay);
	return 0;
}

void
tv_retry_progress(struct tv_retry *r)
{
	r->attempt = 0;
	r->start = 0;
}
