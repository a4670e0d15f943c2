/* Unit tests for what the Azure backend reads from the server's responses. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "azimpl.h"
#include "tap.h"

/* Reads the status of a line held in a buffer of its exact size, as libcurl passes it. */
static long
status_of(const char *text)
{
	size_t len = strlen(text);
	char *line = malloc(len);
	long code;

	memcpy(line, text, len);
	code = az_status_code(line, len);
	free(line);
	return code;
}

/* Signs a request whose path and query values together outgrow the string to sign (8 KiB). */
static int
sign_long(void)
{
	struct azure az = { .account = "devstoreaccount1", .key = "k", .keylen = 1 };
	struct req rq = { .method = "GET" };
	char path[4000], value[2000], auth[256];

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 5; i++) {
		rq.query[i][0] = "prefix";
		rq.query[i][1] = value;
	}
	az_sign(&az, &rq, path, "Mon, 07 Dec 2026 21:00:00 GMT", auth, sizeof(auth));
	return strncmp(auth, "Authorization: SharedKey devstoreaccount1:", 42) == 0 && strlen(auth) == 42 + 44;
}

int
main(void)
{
	ok(status_of("HTTP/1.1 201 Created\r\n") == 201, "an HTTP/1.1 status line gives its code");
	ok(status_of("HTTP/2 200 \r\n") == 200, "libcurl's HTTP/2 status line gives its code, not 0");
	ok(status_of("HTTP/2 404 \r\n") == 404, "an HTTP/2 404 is a 404, not a 4");
	ok(status_of("HTTP/1.1 2000000 OK\r\n") == 0, "a code of more than three digits is no code");
	ok(status_of("HTTP/1") == 0, "a status line cut short has no code, and nothing past it is read");
	ok(status_of("HTTP/1.1 20") == 0, "a code cut short is no code");
	ok(az_unmapped_status(409) == EX_TEMPFAIL && az_unmapped_status(412) == EX_TEMPFAIL,
	    "a conflict or a failed condition may pass: 75");
	ok(az_unmapped_status(400) == EX_IOERR && az_unmapped_status(416) == EX_IOERR,
	    "a request the server rejects is an I/O failure: 74");
	ok(az_unmapped_status(501) == EX_UNAVAILABLE && az_unmapped_status(302) == EX_UNAVAILABLE,
	    "anything else is a service not answering as it should: 69, never 1");
	ok(sign_long(), "a request too long for the string to sign is signed within its buffer");
	return tap_done();
}
