/* Unit tests of the retention policy: a table of histories and the verdict for each point. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "manifest.h"
#include "retention.h"
#include "tap.h"

#define MAXPOINTS	8

/* A history of points (folder times, oldest first), a policy, and the verdict expected for each point. */
struct policy_case {
	const char	*what;
	long		 n[TV_KEEP_NRULES];	/* min, within, daily, weekly, monthly, yearly */
	const char	*now;
	const char	*points[MAXPOINTS];
	const char	*want[MAXPOINTS];
};

static const struct policy_case policy_cases[] = {
	{ "keep-min alone keeps the newest points however old", { 2, 0, 0, 0, 0, 0 }, "2026-12-07T10:00Z",
	  { "2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04" },
	  { "delete", "delete", "keep: newest 2 (keep-min)", "keep: newest 2 (keep-min)" } },
	{ "within keeps whole UTC days, the cut's day included", { 0, 1, 0, 0, 0, 0 }, "2026-12-07T10:00Z",
	  { "2026-12-05T23:59:59Z", "2026-12-06", "2026-12-07T09:00Z" },
	  { "delete", "keep: within 1 day", "keep: within 1 day" } },
	{ "daily keeps the newest of each of the last N days that have points", { 0, 0, 3, 0, 0, 0 },
	  "2026-12-07T10:00Z",
	  { "2026-11-30", "2026-12-01", "2026-12-01T12:00Z", "2026-12-02", "2026-12-04", "2026-12-04T18:00Z" },
	  { "delete", "delete", "keep: daily 2026-12-01", "keep: daily 2026-12-02", "delete",
	    "keep: daily 2026-12-04" } },
	{ "weekly counts ISO weeks, across the turn of the year", { 0, 0, 0, 2, 0, 0 }, "2027-01-10",
	  { "2026-12-27", "2026-12-28", "2027-01-03", "2027-01-04" },
	  { "delete", "delete", "keep: weekly 2026-W53", "keep: weekly 2027-W01" } },
	{ "monthly and yearly keep the newest of their periods", { 0, 0, 0, 0, 2, 2 }, "2026-12-07",
	  { "2025-06-15", "2025-12-31", "2026-01-31", "2026-02-01", "2026-02-15" },
	  { "delete", "keep: yearly 2025", "keep: monthly 2026-01", "delete",
	    "keep: monthly 2026-02, yearly 2026" } },
	{ "a point kept by every rule names every rule, in a fixed order", { 1, 30, 1, 1, 1, 1 },
	  "2026-12-07T12:00Z",
	  { "2026-12-07" },
	  { "keep: newest 1 (keep-min), within 30 days, daily 2026-12-07, weekly 2026-W50, monthly 2026-12, "
	    "yearly 2026" } },
	{ "more periods asked for than there are keeps every period's newest", { 0, 0, 10, 0, 0, 0 },
	  "2026-12-07",
	  { "2026-12-01", "2026-12-01T06:00Z", "2026-12-03" },
	  { "delete", "keep: daily 2026-12-01", "keep: daily 2026-12-03" } },
	{ "no points, no verdicts", { 7, 30, 7, 4, 12, 3 }, "2026-12-07", { NULL }, { NULL } },
};

static void
test_policy(const struct policy_case *c)
{
	struct tv_retention r;
	struct tv_keep keep[MAXPOINTS];
	time_t when[MAXPOINTS];
	char got[256];
	size_t n;
	int pass = 1;

	memcpy(r.n, c->n, sizeof(r.n));
	r.pitr_days = -1;
	for (n = 0; n < MAXPOINTS && c->points[n] != NULL; n++)
		when[n] = tv_iso_time(c->points[n]);
	tv_retention_decide(&r, when, n, tv_iso_time(c->now), keep);
	for (size_t i = 0; i < n; i++) {
		tv_retention_verdict(&r, &keep[i], got, sizeof(got));
		if (strcmp(got, c->want[i]) != 0) {
			printf("# %s: got \"%s\", want \"%s\"\n", c->points[i], got, c->want[i]);
			pass = 0;
		}
	}
	ok(pass, "%s", c->what);
}

/* Kept points' bases (seconds, oldest first), PITR days, and the oplog bound expected (-1: none may go). */
struct bound_case {
	const char	*what;
	long		 pitr_days;
	uint32_t	 base[4];
	size_t		 nkept;
	long long	 want;
};

#define DAY	86400u
#define NOW	(10 * DAY)

static const struct bound_case bound_cases[] = {
	{ "with no point kept, no slice may go", 2, { 0 }, 0, -1 },
	{ "without PITR days, slices before the oldest kept point go", -1, { 3 * DAY, 5 * DAY }, 2, 3 * DAY },
	{ "with PITR days, from the newest point at or before the window", 2,
	  { 3 * DAY, 7 * DAY, 8 * DAY, 9 * DAY }, 4, 8 * DAY },
	{ "a window reaching before every kept point keeps every slice in it", 9, { 3 * DAY, 5 * DAY }, 2, 1 * DAY },
	{ "PITR of 0 days keeps the slices from the newest point on", 0, { 3 * DAY, 5 * DAY }, 2, 5 * DAY },
};

static void
test_bound(const struct bound_case *c)
{
	struct tv_retention r = { { 0 }, c->pitr_days };
	struct tv_oppos base[4], bound = { 0, 0 };
	long long got;

	for (size_t i = 0; i < c->nkept; i++) {
		base[i].t = c->base[i];
		base[i].i = 1;
	}
	got = tv_retention_oplog_bound(&r, base, c->nkept, NOW, &bound) == 0 ? (long long)bound.t : -1;
	ok(got == c->want, "%s (got %lld, want %lld)", c->what, got, c->want);
}

/* Runs tv_retention_read in a child with one setting's value and returns its exit status. */
static int
exit_status_of_setting(const char *name, const char *value)
{
	const char *none[TV_KEEP_NRULES] = { NULL };
	struct tv_retention r;
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		setenv(name, value, 1);
		tv_config_reset();
		tv_retention_read(&r, "BACKUP", none, NULL);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WEXITSTATUS(status);
}

static void
test_read(void)
{
	const char *none[TV_KEEP_NRULES] = { NULL };
	const char *flags[TV_KEEP_NRULES] = { "3", NULL, NULL, "4" };
	struct tv_retention r;
	const char *settings = "{\"BackupWorker\": {\"KeepYearly\": 3}}";
	char json[] = "/tmp/tv-retention-XXXXXX";
	int fd;

	unsetenv("TV_APPSETTINGS");
	unsetenv("BACKUP_RETENTION_DAYS");
	unsetenv("BACKUP_PITR_DAYS");
	tv_config_reset();
	tv_retention_read(&r, "BACKUP", none, NULL);
	ok(r.n[TV_KEEP_MIN] == 7 && r.n[TV_KEEP_WITHIN] == 30 && r.n[TV_KEEP_DAILY] == 0 &&
	    r.n[TV_KEEP_YEARLY] == 0 && r.pitr_days == -1,
	    "the defaults: newest 7, within 30 days, no calendar rule, PITR unset");
	if ((fd = mkstemp(json)) == -1 || write(fd, settings, strlen(settings)) != (ssize_t)strlen(settings))
		abort();
	close(fd);
	setenv("TV_APPSETTINGS", json, 1);
	tv_config_reset();
	tv_retention_read(&r, "BACKUP", none, NULL);
	ok(r.n[TV_KEEP_YEARLY] == 3, "BackupWorker:KeepYearly in appsettings.json sets the yearly rule");
	unlink(json);
	unsetenv("TV_APPSETTINGS");
	setenv("BACKUP_KEEP_DAILY", "7", 1);
	setenv("BACKUP_KEEP_WEEKLY", "9", 1);
	setenv("BACKUP_PITR_DAYS", "0", 1);
	tv_config_reset();
	tv_retention_read(&r, "BACKUP", flags, NULL);
	ok(r.n[TV_KEEP_MIN] == 3 && r.n[TV_KEEP_DAILY] == 7 && r.n[TV_KEEP_WEEKLY] == 4 && r.pitr_days == 0,
	    "flags beat BACKUP_KEEP_*, which beat the defaults; a PITR of 0 days is set");
	tv_retention_read(&r, "BACKUP", none, "5");
	ok(r.pitr_days == 5, "--pitr-days beats BACKUP_PITR_DAYS");
	unsetenv("BACKUP_KEEP_DAILY");
	unsetenv("BACKUP_KEEP_WEEKLY");
	unsetenv("BACKUP_PITR_DAYS");
	ok(exit_status_of_setting("BACKUP_KEEP_MONTHLY", "-1") == EX_USAGE, "a negative BACKUP_KEEP_MONTHLY exits 64");
	ok(exit_status_of_setting("BACKUP_PITR_DAYS", "a week") == EX_USAGE, "BACKUP_PITR_DAYS that is no number exits 64");
}

int
main(void)
{
	tv_log_init("test-retention");
	for (size_t i = 0; i < sizeof(policy_cases) / sizeof(policy_cases[0]); i++)
		test_policy(&policy_cases[i]);
	for (size_t i = 0; i < sizeof(bound_cases) / sizeof(bound_cases[0]); i++)
		test_bound(&bound_cases[i]);
	test_read();
	return tap_done();
}
