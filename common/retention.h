/* retention.h: which recovery points and oplog slices a retention policy keeps, and why. */
#ifndef TV_RETENTION_H
#define TV_RETENTION_H

#include <stddef.h>
#include <time.h>

#include "oplog.h"

/*
 * A recovery point is kept when any rule keeps it:
 *   min     it is one of the newest min points (by createdAt), however old;
 *   within  the UTC day its folder name gives is no earlier than the day
 *           within days before now;
 *   daily, weekly, monthly, yearly
 *           it is the newest point of one of the last N UTC days, ISO weeks,
 *           months or years that have points, counted as restic counts
 *           keep-daily: periods without points do not count, and the newest
 *           point of a period is the last by createdAt whose folder name falls
 *           in it.
 * A point no rule keeps may be deleted; nothing else may.
 *
 * The settings are named PREFIX_RETENTION_DAYS (within), PREFIX_KEEP_DAILY,
 * PREFIX_KEEP_WEEKLY, PREFIX_KEEP_MONTHLY, PREFIX_KEEP_YEARLY and
 * PREFIX_PITR_DAYS, so that each store may have its own policy: BACKUP for
 * the primary store.  min has no setting, only a flag (default 7).  Every
 * name a caller reads must be known to config.c.
 */

enum tv_keep_rule {
	TV_KEEP_MIN,
	TV_KEEP_WITHIN,
	TV_KEEP_DAILY,
	TV_KEEP_WEEKLY,
	TV_KEEP_MONTHLY,
	TV_KEEP_YEARLY,
	TV_KEEP_NRULES
};

struct tv_retention {
	long	n[TV_KEEP_NRULES];	/* points, days or periods per rule; 0 turns a calendar rule off */
	long	pitr_days;		/* how far back a second can be chosen; -1: unset */
};

/* Why one point is kept. */
struct tv_keep {
	unsigned	rules;				/* bit 1 << rule per rule that keeps it; 0: delete */
	char		period[TV_KEEP_NRULES][11];	/* per calendar rule: 2026-12-06, 2026-W49, 2026-12, 2026 */
};

/*
 * Reads the policy: flag[rule] (NULL if not given) and pitr_flag beat the
 * PREFIX_* settings, which beat the defaults (min 7, within 30, calendar
 * rules off, PITR unset).  Exits 64 naming the setting if one is not a whole
 * number from 0 to 100000.
 */
void tv_retention_read(struct tv_retention *r, const char *prefix,
    const char *const flag[TV_KEEP_NRULES], const char *pitr_flag);
/* Returns 1 if a folder whose name gives time when is within the policy's days of now. */
int tv_retention_within(const struct tv_retention *r, time_t when, time_t now);
/* Decides for n points, oldest createdAt first, when[i] the time point i's folder name gives. */
void tv_retention_decide(const struct tv_retention *r, const time_t *when, size_t n, time_t now,
    struct tv_keep *keep);
/* Writes why k keeps a point ("keep: newest 7 (keep-min), daily 2026-12-06") or "delete" into buf. */
void tv_retention_verdict(const struct tv_retention *r, const struct tv_keep *k, char *buf, size_t size);
/*
 * Sets *bound to the position before which oplog slices may go, given where
 * replay from each kept point begins (base, oldest first); returns 0, or -1
 * if no slice may go (no point is kept).
 */
int tv_retention_oplog_bound(const struct tv_retention *r, const struct tv_oppos *base, size_t nkept,
    time_t now, struct tv_oppos *bound);

#endif
