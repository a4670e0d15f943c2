/* io.h: whole reads and writes on file descriptors, immune to EINTR and short transfers. */
#ifndef TV_IO_H
#define TV_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes; returns 0, or -1 with errno set. */
int tv_write_all(int fd, const void *buf, size_t len);
/* Reads until len bytes or end of file; returns the count (short only at EOF), or -1 with errno set. */
ssize_t tv_read_full(int fd, void *buf, size_t len);
/* Flushes the directory holding path, so that a rename or unlink there survives a crash; returns 0, or -1 with errno set. */
int tv_sync_dir(const char *path);
/*
 * Returns 0 if fd, a secret opened from path (named by the variable var), is its
 * owner's alone, or is no regular file (a pipe from a secret manager); else logs
 * the file, its mode and `chmod 600`, as ssh does for a private key, and returns 77.
 */
int tv_check_private(int fd, const char *var, const char *path);



/* A buffered writer, so that a stream of small documents costs few system calls. */
struct tv_writer {
	int		 fd;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	unsigned long long total;	/* bytes accepted so far */
};

/* Prepares w to write to fd through a buffer of cap bytes; returns 0, or -1 if out of memory. */
int tv_writer_init(struct tv_writer *w, int fd, size_t cap);
/* Appends len bytes; returns 0, or -1 with errno set. */
int tv_writer_put(struct tv_writer *w, const void *data, size_t len);
/* Writes out what is buffered; returns 0, or -1 with errno set. */
int tv_writer_flush(struct tv_writer *w);
/* Releases the buffer without flushing it. */
void tv_writer_free(struct tv_writer *w);

#endif
