/* breaker.h: a circuit breaker for the blob store that holds across runs (cron starts a new process each time). */
#ifndef TV_BREAKER_H
#define TV_BREAKER_H

/*
 * State lives in BACKUP_STATE_DIR (default /var/lib/tralivali-backup, else
 * ${XDG_STATE_HOME:-$HOME/.local/state}/tralivali-backup when that is not
 * writable).  After BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD (5) failed runs
 * in a row the breaker opens: every tool fails fast with exit 69 for
 * BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS (30); then one run is let through
 * as a probe, and its outcome closes or reopens the breaker.
 */

/* Exits 69 with "Circuit breaker is open" if the store must not be tried now; otherwise lets this run through. */
void tv_breaker_enter(void);
/* Records that the store answered, which closes the breaker. */
void tv_breaker_success(void);
/* Records that the store could not be reached or kept failing; opens the breaker at the threshold. */
void tv_breaker_failure(void);

#endif
