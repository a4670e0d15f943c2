/*
 * fuzz-apihdr: what tv-api reads from a request's header lines itself, beside
 * libmicrohttpd's parsing: the address whose failed authentications count
 * (the peer, the trusted proxies, the last X-Forwarded-For line), the
 * Content-Length checked before a body is read, and the runs ?limit=.
 * Lines of the input are, in order: peer, trusted proxies, Content-Length,
 * limit, then X-Forwarded-For lines, of which tv-api keeps the last.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one address written into a buffer of cap bytes (a canary after it). */
static void
client_address(const char *peer, const char *trusted, const char *forwarded, size_t cap)
{
	char out[80];
	size_t len;

	memset(out, '#', sizeof(out));
	tv_api_client_address(peer, trusted, forwarded, out, cap);
	if ((len = strnlen(out, cap)) == cap || out[cap] != '#')
		abort();
	/* An entry the proxy appended has no comma: a comma means the client chose the split. */
	if (strchr(out, ',') != NULL && strncmp(out, peer, len) != 0)
		abort();
}

/* Returns the value of a string of digits alone, saturated just past cap, or -1 for anything else. */
static long long
digits(const char *s, long long cap)
{
	long long v = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
		v = v > cap ? v : v * 10 + (s[i] - '0');
	return i > 0 && s[i] == '\0' ? v : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *line[4] = { "", "", "", "" }, *p = s, *forwarded = NULL;
	long long v;
	int n;

	for (int i = 0; i < 4 && p != NULL; i++) {
		line[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	while (p != NULL) {
		forwarded = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	client_address(line[0], line[1], forwarded, 64);
	client_address(line[0], line[1], forwarded, 8);
	client_address(line[0], line[1], forwarded, 1);
	/* Plain numbers have one right answer each; anything else must merely be answered. */
	if ((v = digits(line[2], 4096)) >= 0 && tv_api_body_too_large(line[2], 4096) != (v > 4096))
		abort();
	n = tv_api_runs_limit(line[3]);
	if (n < 0 || n > TV_API_RUNS_MAX ||
	    ((v = digits(line[3], TV_API_RUNS_MAX)) >= 0 && n != (v >= 1 && v <= TV_API_RUNS_MAX ? v : 0)))
		abort();
	free(s);
	return 0;
}
