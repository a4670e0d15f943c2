/* log.c: stderr logging with the seed's "[timestamp LVL] message" layout. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lifeline.h"
#include "log.h"

static const char *progname = "tv";
static enum tv_log_level level = TV_LOG_NORMAL;

#define MAX_HIDDEN	16
static char *hidden[MAX_HIDDEN];
static size_t nhidden;

void
tv_log_hide(const char *s, size_t len)
{
	/* A URI parsed twice hides the same strings twice: keep the room for others. */
	for (size_t i = 0; i < nhidden; i++)
		if (strlen(hidden[i]) == len && strncmp(hidden[i], s, len) == 0)
			return;
	if (len == 0 || nhidden == MAX_HIDDEN || (hidden[nhidden] = strndup(s, len)) == NULL)
		return;
	nhidden++;
}

/* Copies in to out (size bytes) with every hidden string replaced by "***". */
static void
scrub(const char *in, char *out, size_t size)
{
	size_t o = 0;

	while (*in != '\0' && o + 1 < size) {
		size_t i, n = 0;

		for (i = 0; i < nhidden; i++)
			if (strncasecmp(in, hidden[i], n = strlen(hidden[i])) == 0)
				break;
		if (i == nhidden) {
			out[o++] = *in++;
			continue;
		}
		for (const char *m = "***"; *m != '\0' && o + 1 < size; m++)
			out[o++] = *m;
		in += n;
	}
	out[o] = '\0';
}

void
tv_log_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	progname = slash ? slash + 1 : name;
	/*
	 * Every tool calls this first, so this one place makes every stage die with
	 * the flow that started it: after kill -9 of tv-backup its stages would
	 * otherwise run on, holding the lock the script took for them.
	 */
	tv_lifeline();
}

const char *
tv_progname(void)
{
	return progname;
}

void
tv_log_set_level(enum tv_log_level l)
{
	level = l;
}

enum tv_log_level
tv_log_level(void)
{
	return level;
}

/*
 * One fprintf per line so that lines from the stages of a pipeline sharing
 * one stderr do not interleave mid-line.
 */
static void
vlog(const char *tag, int named, const char *suffix, const char *fmt, va_list ap)
{
	char stamp[32], msg[2048], line[2048 + 512], clean[sizeof(line)];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	snprintf(line, sizeof(line), "%s%s%s%s%s", named ? progname : "", named ? ": " : "", msg,
	    suffix ? ": " : "", suffix ? suffix : "");
	scrub(line, clean, sizeof(clean));
	fprintf(stderr, "[%s %s] %s\n", stamp, tag, clean);
}

#define TV_VLOG(tag, named, suffix) do {		\
	va_list ap;					\
	va_start(ap, fmt);				\
	vlog(tag, named, suffix, fmt, ap);		\
	va_end(ap);					\
} while (0)

void
tv_info(const char *fmt, ...)
{
	if (level >= TV_LOG_NORMAL)
		TV_VLOG("INF", 0, NULL);
}

void
tv_debug(const char *fmt, ...)
{
	if (level >= TV_LOG_VERBOSE)
		TV_VLOG("DBG", 1, NULL);
}

void
tv_warn(const char *fmt, ...)
{
	TV_VLOG("WRN", 1, NULL);
}

void
tv_error(const char *fmt, ...)
{
	TV_VLOG("ERR", 1, NULL);
}

void
tv_fatal(int status, const char *fmt, ...)
{
	TV_VLOG("ERR", 1, NULL);
	exit(status);
}

void
tv_fatal_errno(int status, const char *fmt, ...)
{
	const char *why = strerror(errno);

	TV_VLOG("ERR", 1, why);
	exit(status);
}
