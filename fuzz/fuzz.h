/* fuzz.h: what the libFuzzer harnesses share (fuzz/build.sh links fuzz.c into each). */
#ifndef TV_FUZZ_H
#define TV_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

/*
 * In the fuzz build tv_fatal() and tv_fatal_errno() jump here instead of
 * exiting, so that code which exits on bad input (config.c, the connection
 * string) can be fuzzed in process.  When no harness expects it, they abort:
 * a parser that must return a status never exits.
 */
extern jmp_buf *tv_fuzz_fatal;

/* Sets where tv_fatal lands; evaluates to 0, then to the exit status when a fatal error jumps back. */
#define FUZZ_CATCH_FATAL(buf)	(tv_fuzz_fatal = &(buf), setjmp(buf))
/* Stops catching: tv_fatal aborts again. */
#define FUZZ_END_CATCH()	(tv_fuzz_fatal = NULL)

/* Returns a file descriptor to read data from, at offset 0 (a memfd); aborts on failure. */
int fuzz_fd(const uint8_t *data, size_t size);
/* Returns a NUL-terminated copy of data; aborts on failure. */
char *fuzz_string(const uint8_t *data, size_t size);
/* Returns a file descriptor open on /dev/null for writing, opened once. */
int fuzz_null_fd(void);

#endif
