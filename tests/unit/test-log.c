/* Unit tests for the log line layout and verbosity. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static char captured[4096];

/* Runs fn with stderr sent to a temporary file, and keeps what it wrote in captured. */
static void
capture(void (*fn)(void))
{
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n;

	fflush(stderr);
	dup2(fileno(f), 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(captured, 1, sizeof(captured) - 1, f);
	captured[n] = '\0';
	fclose(f);
}

static int
matches(const char *pattern)
{
	regex_t re;
	int rc;

	regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE);
	rc = regexec(&re, captured, 0, NULL, 0);
	regfree(&re);
	return rc == 0;
}

static void log_export(void) { tv_info("Exported %d documents from %s, BSON size: %d bytes", 1523, "users", 524288); }
static void log_error(void) { tv_error("cannot reach %s", "db1:27017"); }
static void log_debug(void) { tv_debug("batch of %d", 1000); }
static void log_driver(void) { tv_error("cannot reach %s: %s", "db1", "Failed to resolve 'secret-tail@host' (Pa:Ss)"); }

int
main(void)
{
	tv_log_init("/usr/bin/tv-export");
	capture(log_export);
	ok(matches("^\\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} INF\\] "
	    "Exported 1523 documents from users, BSON size: 524288 bytes\n$"),
	    "information lines carry the seed's wording after a UTC timestamp (got \"%s\")", captured);
	capture(log_error);
	ok(matches("ERR\\] tv-export: cannot reach db1:27017\n$"), "errors are prefixed by the program's base name");
	capture(log_debug);
	ok(captured[0] == '\0', "debug lines are hidden by default");
	tv_log_set_level(TV_LOG_VERBOSE);
	capture(log_debug);
	ok(matches("DBG\\] tv-export: batch of 1000"), "-v shows debug lines");
	tv_log_set_level(TV_LOG_QUIET);
	capture(log_export);
	ok(captured[0] == '\0', "-q hides information lines");
	capture(log_error);
	ok(matches("ERR\\]"), "-q still shows errors");
	tv_log_hide("Secret-Tail", 11);
	tv_log_hide("pa:ss", 5);
	capture(log_driver);
	ok(matches("tv-export: cannot reach db1: Failed to resolve '\\*\\*\\*@host' \\(\\*\\*\\*\\)\n$"),
	    "hidden strings are masked in any case, wherever they are (got \"%s\")", captured);
	return tap_done();
}
