/* retention.c: the retention policy, from its settings to a verdict per point and the oplog bound. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "config.h"
#include "log.h"
#include "retention.h"

#define MAX_SETTING	100000

/* Each rule's setting after the prefix (min has none) and how -n names it. */
static const char *const setting[TV_KEEP_NRULES] = {
	NULL, "RETENTION_DAYS", "KEEP_DAILY", "KEEP_WEEKLY", "KEEP_MONTHLY", "KEEP_YEARLY"
};
static const char *const rule_name[TV_KEEP_NRULES] = {
	"newest", "within", "daily", "weekly", "monthly", "yearly"
};

/* Returns the setting PREFIX_suffix, or flag if given, as a whole number from 0 to MAX_SETTING. */
static long
read_setting(const char *prefix, const char *suffix, const char *flag)
{
	char name[128];

	snprintf(name, sizeof(name), "%s_%s", prefix, suffix);
	return tv_config_get_long(name, flag, 0, MAX_SETTING);
}

void
tv_retention_read(struct tv_retention *r, const char *prefix,
    const char *const flag[TV_KEEP_NRULES], const char *pitr_flag)
{
	char name[128], *end;

	r->n[TV_KEEP_MIN] = 7;
	if (flag[TV_KEEP_MIN] != NULL) {
		errno = 0;
		r->n[TV_KEEP_MIN] = strtol(flag[TV_KEEP_MIN], &end, 10);
		if (errno != 0 || end == flag[TV_KEEP_MIN] || *end != '\0' ||
		    r->n[TV_KEEP_MIN] < 0 || r->n[TV_KEEP_MIN] > MAX_SETTING)
			tv_fatal(EX_USAGE, "--keep-min: not a whole number from 0 to %d: %s",
			    MAX_SETTING, flag[TV_KEEP_MIN]);
	}
	for (int rule = TV_KEEP_WITHIN; rule < TV_KEEP_NRULES; rule++)
		r->n[rule] = read_setting(prefix, setting[rule], flag[rule]);
	snprintf(name, sizeof(name), "%s_PITR_DAYS", prefix);
	r->pitr_days = tv_config_get(name, pitr_flag) == NULL ? -1 :
	    read_setting(prefix, "PITR_DAYS", pitr_flag);
}

int
tv_retention_within(const struct tv_retention *r, time_t when, time_t now)
{
	time_t cut = now - (time_t)r->n[TV_KEEP_WITHIN] * 86400;

	/* Whole UTC days: the folder's own day counts, and so does the day of the cut. */
	cut -= cut % 86400;
	return when - when % 86400 >= cut;
}

/* Writes the period of a calendar rule that time t falls in. */
static void
period_of(int rule, time_t t, char *buf, size_t size)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (rule) {
	case TV_KEEP_DAILY:
		strftime(buf, size, "%Y-%m-%d", &tm);
		break;
	case TV_KEEP_WEEKLY:
		/* The ISO week and the year it belongs to, which near New Year is not the date's. */
		strftime(buf, size, "%G-W%V", &tm);
		break;
	case TV_KEEP_MONTHLY:
		strftime(buf, size, "%Y-%m", &tm);
		break;
	default:
		strftime(buf, size, "%Y", &tm);
	}
}

void
tv_retention_decide(const struct tv_retention *r, const time_t *when, size_t n, time_t now,
    struct tv_keep *keep)
{
	char last[TV_KEEP_NRULES][11] = { "" }, period[11];
	long taken[TV_KEEP_NRULES] = { 0 };

	memset(keep, 0, n * sizeof(*keep));
	/* Newest first: the first point seen in a period is its newest. */
	for (size_t i = n; i-- > 0;) {
		if (n - 1 - i < (size_t)r->n[TV_KEEP_MIN])
			keep[i].rules |= 1u << TV_KEEP_MIN;
		if (tv_retention_within(r, when[i], now))
			keep[i].rules |= 1u << TV_KEEP_WITHIN;
		for (int rule = TV_KEEP_DAILY; rule < TV_KEEP_NRULES; rule++) {
			period_of(rule, when[i], period, sizeof(period));
			if (taken[rule] == r->n[rule] || strcmp(period, last[rule]) == 0)
				continue;
			taken[rule]++;
			strcpy(last[rule], period);
			strcpy(keep[i].period[rule], period);
			keep[i].rules |= 1u << rule;
		}
	}
}

void
tv_retention_verdict(const struct tv_retention *r, const struct tv_keep *k, char *buf, size_t size)
{
	size_t len;

	if (k->rules == 0) {
		snprintf(buf, size, "delete");
		return;
	}
	len = (size_t)snprintf(buf, size, "keep:");
	for (int rule = 0; rule < TV_KEEP_NRULES && len < size; rule++) {
		if (!(k->rules & (1u << rule)))
			continue;
		if (rule == TV_KEEP_MIN)
			len += (size_t)snprintf(buf + len, size - len, " newest %ld (keep-min),", r->n[rule]);
		else if (rule == TV_KEEP_WITHIN)
			len += (size_t)snprintf(buf + len, size - len, " within %ld day%s,", r->n[rule],
			    r->n[rule] == 1 ? "" : "s");
		else
			len += (size_t)snprintf(buf + len, size - len, " %s %s,", rule_name[rule], k->period[rule]);
	}
	if (len < size)
		buf[len - 1] = '\0';
}

int
tv_retention_oplog_bound(const struct tv_retention *r, const struct tv_oppos *base, size_t nkept,
    time_t now, struct tv_oppos *bound)
{
	time_t window;

	if (nkept == 0)
		return -1;
	*bound = base[0];
	if (r->pitr_days < 0)
		return 0;
	/*
	 * The second the window [now - PITR days, now] starts at is reached by
	 * replaying from the newest kept point that begins at or before it, so
	 * the slices before that point's base may go; with no such point, only
	 * those before the window do: a slice inside the window is never deleted.
	 */
	if ((window = now - (time_t)r->pitr_days * 86400) < 0)
		window = 0;
	if (base[0].t > window) {
		bound->t = (uint32_t)window;
		bound->i = 0;
		return 0;
	}
	for (size_t i = 0; i < nkept && base[i].t <= window; i++)
		*bound = base[i];
	return 0;
}
