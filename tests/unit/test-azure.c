/* Unit tests for what the Azure backend reads from the server's responses. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azimpl.h"
#include "storeimpl.h"
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

/* Returns 1 if rq carries x-ms-* header name with value. */
static int
has_xms(const struct req *rq, const char *name, const char *value)
{
	for (int i = 0; i < 4 && rq->xms[i][0] != NULL; i++)
		if (strcmp(rq->xms[i][0], name) == 0)
			return strcmp(rq->xms[i][1], value) == 0;
	return 0;
}

/* Returns 1 if the x-ms-* headers of rq are in name order, as az_sign and Azure expect. */
static int
xms_sorted(const struct req *rq)
{
	for (int i = 1; i < 4 && rq->xms[i][0] != NULL; i++)
		if (strcmp(rq->xms[i - 1][0], rq->xms[i][0]) >= 0)
			return 0;
	return 1;
}

static void
test_copy_requests(void)
{
	static const char url[] = "https://a.blob.core.windows.net/c/x?sv=1&sig=s";
	char range[64];
	struct req rq;

	az_copy_from_url_req(&rq, "backups/2026-12-07/manifest.json", url, "q83vEjRWeJA=");
	ok(strcmp(rq.method, "PUT") == 0 && rq.create_only && has_xms(&rq, "x-ms-copy-source", url) &&
	    has_xms(&rq, "x-ms-requires-sync", "true") && has_xms(&rq, "x-ms-source-content-md5", "q83vEjRWeJA=") &&
	    xms_sorted(&rq) && rq.query[0][0] == NULL,
	    "Copy Blob From URL: a create-only PUT, synchronous, the source's URL and MD5 in sorted x-ms-* headers");
	az_block_from_url_req(&rq, "big", "dHZjb3B5MDAwMDAwMDAwMQ==", url, 64ULL << 20, 64ULL << 20, range);
	ok(strcmp(rq.method, "PUT") == 0 && !rq.create_only && strcmp(rq.query[0][0], "blockid") == 0 &&
	    strcmp(rq.query[0][1], "dHZjb3B5MDAwMDAwMDAwMQ==") == 0 && strcmp(rq.query[1][0], "comp") == 0 &&
	    strcmp(rq.query[1][1], "block") == 0 && has_xms(&rq, "x-ms-copy-source", url) &&
	    has_xms(&rq, "x-ms-source-range", "bytes=67108864-134217727") && xms_sorted(&rq) && rq.body_len == 0,
	    "Put Block From URL: comp=block with its id, the source's URL and the block's byte range, no body");
	az_block_from_url_req(&rq, "big", "id", url, 128ULL << 20, 5, range);
	ok(has_xms(&rq, "x-ms-source-range", "bytes=134217728-134217732"), "the last, short block's range ends at the blob's end");
	az_copy_async_req(&rq, "big", url);
	ok(strcmp(rq.method, "PUT") == 0 && rq.create_only && has_xms(&rq, "x-ms-copy-source", url) &&
	    !has_xms(&rq, "x-ms-requires-sync", "true"), "Copy Blob: a create-only PUT of the source's URL, asynchronous");
}

static void
test_read_url(void)
{
	struct azure az = { .account = "acct", .key = "0123456789", .keylen = 10,
	    .endpoint = "https://acct.blob.core.windows.net", .endpoint_path = "" };
	static const char sts[] = "r\n\n2026-12-07T22:00:00Z\n/blob/acct/backups/backups/2026-12-07/a b.json\n\n\n"
	    "https\n2019-12-12\nb\n\n\n\n\n\n";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	char url[2048], sig[64], want[2048], *enc;

	az.base.container = "backups";
	HMAC(EVP_sha256(), az.key, az.keylen, (const unsigned char *)sts, strlen(sts), mac, &maclen);
	tv_base64(mac, maclen, sig);
	enc = curl_easy_escape(NULL, sig, 0);
	snprintf(want, sizeof(want), "https://acct.blob.core.windows.net/backups/backups/2026-12-07/a%%20b.json"
	    "?sv=2019-12-12&sr=b&sp=r&se=2026-12-07T22%%3A00%%3A00Z&spr=https&sig=%s", enc);
	curl_free(enc);
	ok(az_read_url(&az, "backups/2026-12-07/a b.json", 1796677200, url, sizeof(url)) == 0 && strcmp(url, want) == 0,
	    "the source's URL carries a service SAS for that blob alone: read only, an hour, https only, signed with the key");
	if (strcmp(url, want) != 0)
		printf("# got  %s\n# want %s\n", url, want);
	az.keylen = 0;
	az.sas = "sv=2021-08-06&sp=rl&sig=x";
	ok(az_read_url(&az, "a/b", 0, url, sizeof(url)) == 0 &&
	    strcmp(url, "https://acct.blob.core.windows.net/backups/a/b?sv=2021-08-06&sp=rl&sig=x") == 0,
	    "a source opened with a SAS lends its own");
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
	test_copy_requests();
	test_read_url();
	return tap_done();
}
