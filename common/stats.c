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
tv_stats_write(const char *path, const bson_t *doc)
{
	char *json, *tmp = NULL;
	size_t len;
	int fd, status = EX_IOERR;

	if ((json = bson_as_relaxed_extended_json(doc, &len)) == NULL) {
		tv_error("%s: cannot encode the statistics as JSON", path);
		return EX_SOFTWARE;
	}
	/* A reader never sees half a file: it is the old one or the whole new one. */
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		tv_error("%s: %s", path, strerror(errno));
		goto out;
	}
	if (tv_write_all(fd, json, len) != 0 || tv_write_all(fd, "\n", 1) != 0) {
		tv_error("%s: %s", path, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0) {
		tv_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		tv_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	status = 0;
out:
	free(tmp);
	bson_free(json);
	return status;
}
