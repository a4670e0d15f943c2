/* retry.h: how long to wait between attempts at a request that failed for a passing reason. */
#ifndef TV_RETRY_H
#define TV_RETRY_H

/*
 * Delays grow exponentially from 0.25 s to 8 s with random jitter, so that
 * clients that failed together do not retry together.  A server's
 * Retry-After is honoured.  The whole budget is TV_RETRY_MAX_SECONDS
 * (default 60) from the first failure; once spent, the caller gives up and
 * exits 75.
 */
struct tv_retry {
	double		start;		/* monotonic time of the first failure, 0 before */
	double		budget;		/* seconds */
	unsigned	attempt;	/* failures since the last progress */
};

/* Prepares a retry budget of TV_RETRY_MAX_SECONDS. */
void tv_retry_init(struct tv_retry *r);
/* Sleeps before the next attempt, retry_after seconds if >= 0; returns 0, or -1 if the budget is spent. */
int tv_retry_wait(struct tv_retry *r, double retry_after);
/* Notes that the last attempt made progress, so backoff and budget start afresh. */
void tv_retry_progress(struct tv_retry *r);

#endif
