/* progress.c: the terminal progress line; everything it writes is one write(2) per redraw. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"
#include "progress.h"

/* Redraws per second: often enough to look alive, rarely enough to cost nothing. */
#define REDRAW_SECONDS	0.25

struct tv_progress {
	int			 fd;
	char			 label[64];
	unsigned long long	 total, docs, bytes;
	double			 start, drawn;
};

/* Returns the terminal descriptor to draw on, or -1. */
static int
terminal(void)
{
	const char *env = getenv("TV_PROGRESS_FD");
	char *end;
	long fd;

	if (tv_log_level() == TV_LOG_QUIET)
		return -1;
	if (isatty(STDERR_FILENO))
		return STDERR_FILENO;
	if (env == NULL || *env == '\0')
		return -1;
	fd = strtol(env, &end, 10);
	return *end == '\0' && fd > 2 && fd < 1024 && isatty((int)fd) ? (int)fd : -1;
}

int
tv_progress_wanted(void)
{
	return terminal() >= 0;
}

/* Formats bytes with a binary unit: 512 B, 3.2 MiB. */
static void
human_bytes(char *buf, size_t len, unsigned long long n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void
draw(struct tv_progress *p, double t)
{
	char line[256], size[32], eta[48] = "";
	double elapsed = t - p->start, rate = elapsed > 0 ? (double)p->docs / elapsed : 0;
	int n;

	human_bytes(size, sizeof(size), p->bytes);
	if (p->total > p->docs && rate > 0) {
		long left = (long)((double)(p->total - p->docs) / rate);

		snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", left / 60, left % 60);
	}
	if (p->total > 0)
		n = snprintf(line, sizeof(line), "\r\033[K%s: %llu/~%llu documents (%.0f%%), %s, %.0f docs/s%s",
		    p->label, p->docs, p->total, p->docs >= p->total ? 100.0 : 100.0 * (double)p->docs / (double)p->total,
		    size, rate, eta);
	else
		n = snprintf(line, sizeof(line), "\r\033[K%s: %llu documents, %s, %.0f docs/s", p->label,
		    p->docs, size, rate);
	/* A terminal that went away must not fail the stage. */
	(void)tv_write_all(p->fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1));
	p->drawn = t;
}

struct tv_progress *
tv_progress_start(const char *label, unsigned long long total)
{
	struct tv_progress *p;
	int fd = terminal();

	if (fd < 0 || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->fd = fd;
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->total = total;
	p->start = tv_clock();
	/* Drawn at once, so that even a stage too short for a redraw shows it ran. */
	draw(p, p->start);
	return p;
}

void
tv_progress_add(struct tv_progress *p, unsigned long long docs, unsigned long long bytes)
{
	double t;

	if (p == NULL)
		return;
	p->docs += docs;
	p->bytes += bytes;
	if ((t = tv_clock()) - p->drawn >= REDRAW_SECONDS)
		draw(p, t);
}

void
tv_progress_end(struct tv_progress *p)
{
	if (p == NULL)
		return;
	(void)tv_write_all(p->fd, "\r\033[K", 4);
	free(p);
}
