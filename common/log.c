/* log.c: stderr logging with the seed's "[timestamp LVL] message" layout. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifeline.h"
#include "log.h"

static const char *progname = "tv";
static enum tv_log_level level = TV_LOG_NORMAL;

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
	char stamp[32], msg[2048];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "[%s %s] %s%s%s%s%s\n", stamp, tag,
	    named ? progname : "", named ? ": " : "", msg,
	    suffix ? ": " : "", suffix ? suffix : "");
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
