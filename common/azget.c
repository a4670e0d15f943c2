/*
 * azget.c: reads, properties and deletes.  A read is one GET that resumes
 * with a ranged GET pinned to the ETag.
 */

#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "azimpl.h"
#include "io.h"
#include "log.h"

int
az_head(struct azure *az, const char *name, struct req *rq)
{
	char what[1200];
	int rc;

	memset(rq, 0, sizeof(*rq));
	rq->method = "HEAD";
	rq->blob = name;
	snprintf(what, sizeof(what), "%s", name);
	if ((rc = az_request(az, az->curl, rq, what)) == EX_NOINPUT)
		tv_error("%s: no such blob", name);
	return rc;
}

struct download {
	struct tv_writer	 w;
	struct tv_digest	 d;
	unsigned long long	 expected;
};

static int
download_sink(struct req *rq, const char *data, size_t len)
{
	struct download *dl = rq->arg;

	/* A server that ignored the Range would send the start again: never splice that in. */
	if (rq->range[0] != '\0' && rq->status != 206) {
		tv_error("%s: the store ignored a ranged read", rq->blob);
		return EX_PROTOCOL;
	}
	if (rq->got + len > dl->expected) {
		tv_error("%s: the store sent more than the blob's %llu bytes", rq->blob, dl->expected);
		return EX_DATAERR;
	}
	tv_digest_update(&dl->d, data, len);
	if (tv_writer_put(&dl->w, data, len) != 0) {
		tv_error("writing standard output: %m");
		return EX_IOERR;
	}
	rq->got += len;
	return 0;
}

/* After a cut, ask only for what has not arrived yet. */
static void
download_prepare(struct req *rq)
{
	if (rq->got > 0) {
		snprintf(rq->range, sizeof(rq->range), "bytes=%llu-", rq->got);
		tv_debug("%s: resuming at byte %llu", rq->blob, rq->got);
	}
}

/* Parses an HTTP date ("Mon, 15 Jan 2024 03:00:07 GMT"). */
time_t
az_http_date(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

int
az_get(struct tv_store *store, const char *name, int fd)
{
	struct azure *az = (struct azure *)store;
	struct download dl;
	struct req head, rq = { .method = "GET", .blob = name, .sink = download_sink, .arg = &dl,
	    .prepare = download_prepare };
	char what[1200];
	int rc;

	if ((rc = az_head(az, name, &head)) != 0)
		return rc;
	dl.expected = head.length;
	if (tv_writer_init(&dl.w, fd, 1 << 20) != 0)
		tv_fatal(EX_OSERR, "out of memory");
	/* SHA-256 alone proves the content; MD5 only when that is all there is. */
	tv_digest_init(&dl.d, head.sha256[0] == '\0');
	/* Pinned to the ETag, a blob replaced mid-read fails rather than splicing two blobs. */
	rq.if_match = head.etag;
	snprintf(what, sizeof(what), "%s", name);
	if (head.length > 0 && (rc = az_request(az, az->curl, &rq, what)) == EX_NOINPUT)
		tv_error("%s: no such blob", name);
	if (rc == 0 && tv_writer_flush(&dl.w) != 0) {
		tv_error("writing standard output: %m");
		rc = EX_IOERR;
	}
	if (rc == EX_TEMPFAIL && rq.status == 412)
		tv_error("%s: the blob changed while it was being read; read it again", name);
	if (rc == 0)
		rc = tv_store_verify(name, head.length, rq.got, head.md5, head.sha256, &dl.d);
	else {
		char m[25], h[65];

		tv_digest_final(&dl.d, m, h);
	}
	tv_writer_free(&dl.w);
	return rc;
}

int
az_stat(struct tv_store *store, const char *name, struct tv_blob *blob)
{
	struct req rq;
	int rc = az_head((struct azure *)store, name, &rq);

	if (rc == 0) {
		blob->size = rq.length;
		blob->mtime = az_http_date(rq.modified);
		COPY(blob->sha256, rq.sha256);
		COPY(blob->md5, rq.md5);
	}
	return rc;
}

int
az_del(struct tv_store *store, const char *name)
{
	struct azure *az = (struct azure *)store;
	struct req rq = { .method = "DELETE", .blob = name };
	char what[1200];
	int rc;

	snprintf(what, sizeof(what), "%s: deleting", name);
	rc = az_request(az, az->curl, &rq, what);
	return rc == EX_NOINPUT ? 0 : rc;
}
