/* clock.h: elapsed time, for deadlines, rates and durations. */
#ifndef TV_CLOCK_H
#define TV_CLOCK_H

/* Returns seconds on a monotonic clock: only differences between two calls mean anything. */
double tv_clock(void);

#endif
