/* stats.c: --stats files, the machine-readable side of a tool's log. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "stats.h"

int
tv_json_write(const char *path, const bson_t *doc)
{
	char *json, *tmp = NULL;
	size_t len;
	int fd = -1, status = EX_IOERR;

	if ((json = bson_as_relaxed_extended_json(doc, &len)) == NULL) {
		tv_error("%s: cannot encode as JSON", path);
		return EX_SOFTWARE;
	}
	/* A reader never sees half a file, and after a crash finds the old one or the whole new one. */
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		tv_error("%s: out of memory", path);
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1 ||
	    tv_write_all(fd, json, len) != 0 || tv_write_all(fd, "\n", 1) != 0 || fsync(fd) != 0 ||
	    close(fd) != 0 || (fd = -1, rename(tmp, path)) != 0 || tv_sync_dir(path) != 0) {
		tv_error("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		goto out;
	}
	status = 0;
out:
	free(tmp);
	bson_free(json);
	return status;
}

int
tv_stats_write(const char *path, const bson_t *doc)
{
	return tv_json_write(path, doc);
}
