/* breaker.h: a circuit breaker for the blob store that holds across runs (cron starts a new process each time). */
#ifndef TV_BREAKER_H
#define TV_BREAKER_H

/*
 * State lives in BACKUP_STATE_DIR (default /var/lib/tralivali-backup, else
 * ${XDG_STATE_HOME:-$HOME/.local/state}/tralivali-backup when that is not
 * writable).  After BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD (5) failed runs
 * in a row the breaker opens: every tool fails fast with exit 69 for
 * BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS (30); then one run is let through
 * as a probe, and its outcome closes or reopens the breaker.  Tools that share
 * one TV_RUN_ID (the tools of one flow run) count as one failed run.
 */

/* Exits 69 with "Circuit breaker is open" if the store must not be tried now; otherwise lets this run through. */
void tv_breaker_enter(void);
/* Records that the store answered, which closes the breaker. */
void tv_breaker_success(void);
/* Records that the store could not be reached or kept failing; opens the breaker at the threshold. */
void tv_breaker_failure(void);

/* What the breaker says now, for tv-status and the flows' fail-fast check. */
enum tv_breaker_mode {
	TV_BREAKER_CLOSED,	/* the store is tried */
	TV_BREAKER_OPEN,	/* every run fails fast until `until` */
	TV_BREAKER_HALF_OPEN,	/* the next run is the probe */
	TV_BREAKER_PROBING,	/* a probe is running; others fail fast until `until` */
};
struct tv_breaker_state {
	enum tv_breaker_mode	state;
	long			failures;	/* failed runs in a row */
	long			threshold;	/* failures that open it */
	long			opened;		/* epoch seconds it opened, 0 if closed */
	long			until;		/* epoch seconds runs fail fast until, 0 if they do not */
};
/* Reads the breaker's state without changing it; returns 0, or -1 if no state directory is usable. */
int tv_breaker_query(struct tv_breaker_state *q);

#endif
