/* io.c: whole reads and writes on file descriptors. */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

int
tv_check_private(int fd, const char *var, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		tv_error("%s: cannot stat %s: %s", var, path, strerror(errno));
		return EX_NOPERM;
	}
	/* Write access matters too: whoever may change the secret may forge what it signs. */
	if (S_ISREG(st.st_mode) && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		tv_error("%s: %s has mode %04o: group or others may use it; a secret must be its owner's alone: "
		    "chmod 600 %s", var, path, (unsigned)(st.st_mode & 07777), path);
		return EX_NOPERM;
	}
	return 0;
}

int
tv_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
tv_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
tv_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1, saved;

	if (copy == NULL)
		return -1;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY)) != -1) {
		rc = fsync(fd);
		saved = errno;
		close(fd);
		errno = saved;
	}
	free(copy);
	return rc;
}

int
tv_writer_init(struct tv_writer *w, int fd, size_t cap)
{
	w->fd = fd;
	w->len = 0;
	w->cap = cap;
	w->total = 0;
	w->buf = malloc(cap);
	return w->buf ? 0 : -1;
}

int
tv_writer_put(struct tv_writer *w, const void *data, size_t len)
{
	w->total += len;
	if (w->len + len > w->cap) {
		if (tv_writer_flush(w) == -1)
			return -1;
		/* Too big to buffer: send it straight through. */
		if (len >= w->cap)
			return tv_write_all(w->fd, data, len);
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	return 0;
}

int
tv_writer_flush(struct tv_writer *w)
{
	if (w->len == 0)
		return 0;
	if (tv_write_all(w->fd, w->buf, w->len) == -1)
		return -1;
	w->len = 0;
	return 0;
}

void
tv_writer_free(struct tv_writer *w)
{
	free(w->buf);
	w->buf = NULL;
}
