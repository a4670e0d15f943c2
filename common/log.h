/* log.h: messages on stderr in the seed service's wording, and the exit codes. */
#ifndef TV_LOG_H
#define TV_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <sysexits.h>

/* Verbosity: -q shows errors and warnings only, -v adds debug lines. */
enum tv_log_level { TV_LOG_QUIET = 0, TV_LOG_NORMAL = 1, TV_LOG_VERBOSE = 2 };

/* Names the program for error messages, and ties its life to its flow's (lifeline.h). */
void tv_log_init(const char *progname);
/* Returns the program name given to tv_log_init. */
const char *tv_progname(void);
/* Sets how much is logged. */
void tv_log_set_level(enum tv_log_level level);
/* Returns how much is logged. */
enum tv_log_level tv_log_level(void);

/*
 * Hides len bytes of s, a secret or a piece of one, from every line logged
 * from now on, whatever its case: each occurrence becomes "***".  For what
 * others write into messages (a driver's errors) where no format can keep it out.
 */
void tv_log_hide(const char *s, size_t len);

/* Logs an information line, e.g. "Exported 12 documents from users, BSON size: 4096 bytes". */
void tv_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs a debug line, shown only with -v. */
void tv_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs a warning prefixed by the program name. */
void tv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs an error prefixed by the program name. */
void tv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs an error and exits with the given sysexits(3) code. */
void tv_fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
/* Logs an error followed by strerror(errno) and exits with the given code. */
void tv_fatal_errno(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
