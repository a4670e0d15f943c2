/* tap.h: the few TAP helpers the C unit tests need; automake's tap-driver counts each line. */
#ifndef TV_TAP_H
#define TV_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failures;

/* Reports one check: "ok N - what" or "not ok N - what". */
static void __attribute__((format(printf, 2, 3)))
ok(int pass, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!pass)
		tap_failures++;
}

/* Prints the plan and returns the exit status for main. */
static int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
