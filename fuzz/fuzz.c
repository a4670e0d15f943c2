/* fuzz.c: the fuzz build's tv_fatal, and input helpers for the harnesses. */

#include <sys/mman.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "io.h"
#include "log.h"

jmp_buf *tv_fuzz_fatal;

/* build.sh renames log.c's own tv_fatal and tv_fatal_errno, so these take their place. */
void
tv_fatal(int status, const char *fmt, ...)
{
	if (tv_fuzz_fatal == NULL)
		abort();
	longjmp(*tv_fuzz_fatal, status == 0 ? 1 : status);
}

void
tv_fatal_errno(int status, const char *fmt, ...)
{
	if (tv_fuzz_fatal == NULL)
		abort();
	longjmp(*tv_fuzz_fatal, status == 0 ? 1 : status);
}

int
fuzz_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-input", MFD_CLOEXEC);

	if (fd == -1 || tv_write_all(fd, data, size) == -1 || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

char *
fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int
fuzz_null_fd(void)
{
	static int fd = -1;

	if (fd == -1 && (fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		abort();
	return fd;
}
