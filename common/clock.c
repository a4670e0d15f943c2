/* clock.c: elapsed time on the monotonic clock, which wall-clock changes do not move. */

#include <time.h>

#include "clock.h"

double
tv_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
