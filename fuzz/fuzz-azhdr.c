/*
 * fuzz-azhdr: the response headers of the store's HTTP server (status line,
 * ETag, Content-Length, Retry-After, x-ms-*), one line per callback, each in
 * a buffer of its exact size as libcurl passes them (not NUL-terminated),
 * then the Last-Modified date.
 * The callback is static in azreq.c, so the harness compiles that file in.
 */

#include "../common/azreq.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct req rq;
	const uint8_t *p = data, *end = data + size, *nl;
	char *line;
	size_t len;

	memset(&rq, 0, sizeof(rq));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		if ((line = malloc(len)) == NULL)
			abort();
		memcpy(line, p, len);
		if (on_header(line, 1, len, &rq) != len)
			abort();
		free(line);
		p += len;
	}
	/* Last-Modified becomes a blob's time in listings and stat. */
	(void)az_http_date(rq.modified);
	if (rq.status < 0 || rq.status > 999 || strlen(rq.etag) >= sizeof(rq.etag) ||
	    strlen(rq.code) >= sizeof(rq.code) || strlen(rq.modified) >= sizeof(rq.modified))
		abort();
	return 0;
}
