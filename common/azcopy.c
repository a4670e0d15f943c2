/*
 * azcopy.c: server-side copies between two Azure stores: the destination
 * reads the source through a short-lived read-only SAS, so the bytes never
 * pass through this host.  Up to 256 MiB, Copy Blob From URL (synchronous);
 * above, Put Block From URL per block and a Put Block List; where the server
 * serves neither, the asynchronous Copy Blob, polled until it ends.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azimpl.h"
#include "azure.h"
#include "log.h"

/* How long the source's read SAS lives: a copy that outlasts it fails and is retried by the next run. */
#define SAS_SECONDS		(60 * 60)
/* The largest source Copy Blob From URL takes. */
#define SYNC_MAX		(256ULL << 20)
/* Put Block From URL's block: large, so that a 1 GiB blob is 16 calls. */
#define URL_BLOCK		(64ULL << 20)
/* The service SAS version signed: its string to sign has no encryption scope line. */
#define SAS_VERSION		"2019-12-12"

/* Appends s to buf (of cap) percent-encoded as a query value. */
static void
query_encode(char *buf, size_t cap, const char *s)
{
	size_t n = strlen(buf);

	for (; *s != '\0' && n + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, cap - n, "%%%02X", c);
	}
	buf[n] = '\0';
}

int
az_read_url(struct azure *src, const char *name, time_t now, char *url, size_t cap)
{
	char path[2048] = "", expiry[32], sts[4096], sig[64], se[64] = "", sg[128] = "";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	struct tm tm;
	int n;

	query_encode(path, sizeof(path), src->base.container);
	strncat(path, "/", sizeof(path) - strlen(path) - 1);
	for (const char *p = name; *p != '\0';) {
		size_t k = strcspn(p, "/");
		char part[1100];

		snprintf(part, sizeof(part), "%.*s", (int)k, p);
		query_encode(path, sizeof(path), part);
		p += k;
		if (*p == '/') {
			strncat(path, "/", sizeof(path) - strlen(path) - 1);
			p++;
		}
	}
	if (src->keylen == 0) {
		/* A source opened with a SAS lends its own (it must grant read: tv_store_may said so). */
		n = snprintf(url, cap, "%s/%s?%s", src->endpoint, path, src->sas);
		return n > 0 && (size_t)n < cap ? 0 : EX_SOFTWARE;
	}
	gmtime_r(&(time_t){ now + SAS_SECONDS }, &tm);
	strftime(expiry, sizeof(expiry), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Blob-scoped, read-only, one hour: all the destination needs, and nothing else it could use. */
	n = snprintf(sts, sizeof(sts), "r\n\n%s\n/blob/%s/%s/%s\n\n\n%s\n%s\nb\n\n\n\n\n\n", expiry, src->account,
	    src->base.container, name, strncmp(src->endpoint, "https:", 6) == 0 ? "https" : "https,http",
	    SAS_VERSION);
	if (n <= 0 || (size_t)n >= sizeof(sts))
		return EX_SOFTWARE;
	HMAC(EVP_sha256(), src->key, src->keylen, (unsigned char *)sts, (size_t)n, mac, &maclen);
	tv_base64(mac, maclen, sig);
	query_encode(se, sizeof(se), expiry);
	query_encode(sg, sizeof(sg), sig);
	/* The URL is a credential for an hour: should a message ever quote it, the signature stays out. */
	tv_log_hide(sig, strlen(sig));
	tv_log_hide(sg, strlen(sg));
	n = snprintf(url, cap, "%s/%s?sv=%s&sr=b&sp=r&se=%s&spr=%s&sig=%s", src->endpoint, path, SAS_VERSION, se,
	    strncmp(src->endpoint, "https:", 6) == 0 ? "https" : "https,http", sg);
	return n > 0 && (size_t)n < cap ? 0 : EX_SOFTWARE;
}

void
az_copy_from_url_req(struct req *rq, const char *name, const char *url, const char *source_md5)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = "PUT";
	rq->blob = name;
	rq->create_only = 1;
	rq->xms[0][0] = "x-ms-copy-source";
	rq->xms[0][1] = url;
	rq->xms[1][0] = "x-ms-requires-sync";
	rq->xms[1][1] = "true";
	rq->quiet_unserved = 1;
	/* The store checks what it read against the source's MD5: the bytes are proved on arrival. */
	if (source_md5 != NULL && *source_md5 != '\0') {
		rq->xms[2][0] = "x-ms-source-content-md5";
		rq->xms[2][1] = source_md5;
	}
}

void
az_block_from_url_req(struct req *rq, const char *name, const char *block_id, const char *url,
    unsigned long long off, unsigned long long len, char range[64])
{
	memset(rq, 0, sizeof(*rq));
	rq->method = "PUT";
	rq->blob = name;
	rq->query[0][0] = "blockid";
	rq->query[0][1] = block_id;
	rq->query[1][0] = "comp";
	rq->query[1][1] = "block";
	snprintf(range, 64, "bytes=%llu-%llu", off, off + len - 1);
	rq->xms[0][0] = "x-ms-copy-source";
	rq->xms[0][1] = url;
	rq->xms[1][0] = "x-ms-source-range";
	rq->xms[1][1] = range;
	rq->quiet_unserved = 1;
}

void
az_copy_async_req(struct req *rq, const char *name, const char *url)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = "PUT";
	rq->blob = name;
	rq->create_only = 1;
	rq->xms[0][0] = "x-ms-copy-source";
	rq->xms[0][1] = url;
}

/* Returns 1 if a failed copy call says only that the server does not serve it (so another way may). */
static int
unserved(const struct req *rq)
{
	return rq->status == 400 || rq->status == 405 || rq->status == 501;
}

/* Returns 1 if dst and src are containers of one account, and dst signs with its key. */
static int
same_account(const struct azure *dst, const struct azure *src)
{
	return dst->keylen > 0 && strcmp(dst->account, src->account) == 0 && strcmp(dst->endpoint, src->endpoint) == 0;
}

/* Waits for an asynchronous copy into name to end; returns 0 once it succeeded. */
static int
await_copy(struct azure *dst, const char *name)
{
	struct req head;
	unsigned pause = 1;
	int rc;

	for (;;) {
		if ((rc = az_head(dst, name, &head)) != 0)
			return rc;
		if (head.copy_status[0] == '\0' || strcmp(head.copy_status, "success") == 0)
			return 0;
		if (strcmp(head.copy_status, "pending") != 0) {
			tv_error("%s: the store's copy ended %s", name, head.copy_status);
			return EX_TEMPFAIL;
		}
		tv_debug("%s: copy pending, asking again in %u s", name, pause);
		sleep(pause);
		pause = pause < 8 ? pause * 2 : 10;
	}
}

/* Copies with Put Block From URL, then commits the list with the source's checksums; 69 if the server lacks it. */
static int
copy_by_blocks(struct azure *dst, const char *name, const char *url, const struct req *source)
{
	static const char head[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
	unsigned long long n = (source->length + URL_BLOCK - 1) / URL_BLOCK;
	size_t cap = sizeof(head) + n * 64 + 32, len;
	char *xml = malloc(cap), id[64], range[64], what[1200];
	struct req rq;
	int rc = 0;

	if (xml == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	len = (size_t)snprintf(xml, cap, "%s", head);
	for (unsigned long long i = 0; i < n && rc == 0; i++) {
		/* Block ids of one blob must all have one length: 16 bytes before base64. */
		char raw[32];
		unsigned long long off = i * URL_BLOCK;

		snprintf(raw, sizeof(raw), "tvcopy%010u", (unsigned)i);
		tv_base64((unsigned char *)raw, 16, id);
		az_block_from_url_req(&rq, name, id, url, off,
		    source->length - off < URL_BLOCK ? source->length - off : URL_BLOCK, range);
		snprintf(what, sizeof(what), "%s: block %llu from the source", name, i);
		if ((rc = az_write_request(dst, dst->curl, &rq, what)) != 0 && unserved(&rq))
			rc = EX_UNAVAILABLE;
		len += (size_t)snprintf(xml + len, cap - len, "<Latest>%s</Latest>", id);
	}
	if (rc == 0) {
		len += (size_t)snprintf(xml + len, cap - len, "</BlockList>");
		memset(&rq, 0, sizeof(rq));
		rq.method = "PUT";
		rq.blob = name;
		rq.create_only = 1;
		rq.query[0][0] = "comp";
		rq.query[0][1] = "blocklist";
		rq.xms[0][0] = "x-ms-blob-content-md5";
		rq.xms[0][1] = source->md5;
		rq.xms[1][0] = "x-ms-meta-sha256";
		rq.xms[1][1] = source->sha256;
		rq.body = xml;
		rq.body_len = len;
		snprintf(what, sizeof(what), "%s: block list", name);
		rc = az_write_request(dst, dst->curl, &rq, what);
	}
	free(xml);
	return rc;
}

int
tv_azure_copy(struct tv_store *dststore, struct tv_store *srcstore, const char *name, const char *sha256)
{
	struct azure *dst = (struct azure *)dststore, *src = (struct azure *)srcstore;
	struct req source, rq, arrived;
	char url[6144], what[1200];
	int rc;

	if ((rc = az_head(src, name, &source)) != 0)
		return rc;
	/* A source that is not what the manifest names is refused before anything is written. */
	if (sha256 != NULL && strcasecmp(source.sha256, sha256) != 0) {
		tv_error("%s: the source holds SHA-256 %s, not the expected %s; not copied", name,
		    source.sha256[0] ? source.sha256 : "(none recorded)", sha256);
		return EX_DATAERR;
	}
	if ((rc = az_read_url(src, name, time(NULL), url, sizeof(url))) != 0) {
		tv_error("%s: the source's URL is too long to copy from", name);
		return rc;
	}
	snprintf(what, sizeof(what), "%s: copy", name);
	rc = EX_UNAVAILABLE;
	if (source.length <= SYNC_MAX) {
		az_copy_from_url_req(&rq, name, url, source.md5);
		if ((rc = az_write_request(dst, dst->curl, &rq, what)) != 0 && unserved(&rq))
			rc = EX_UNAVAILABLE;
		else if (rc == 0)
			tv_debug("%s: copied with Copy Blob From URL", name);
	} else if ((rc = copy_by_blocks(dst, name, url, &source)) == 0)
		tv_debug("%s: copied with Put Block From URL", name);
	if (rc == EX_UNAVAILABLE) {
		tv_debug("%s: the store copies synchronously no further; asynchronous Copy Blob", name);
		/*
		 * Within one account, a request signed with the account's key may name the source
		 * without a SAS (and Azurite then copies without reading the source through it).
		 */
		if (same_account(dst, src))
			url[strcspn(url, "?")] = '\0';
		az_copy_async_req(&rq, name, url);
		if ((rc = az_write_request(dst, dst->curl, &rq, what)) == 0)
			rc = await_copy(dst, name);
	}
	if (rc != 0)
		return rc;
	/* What arrived: the source's size and checksums (the store copies its properties and metadata). */
	if ((rc = az_head(dst, name, &arrived)) != 0)
		return rc;
	if (arrived.length != source.length || strcmp(arrived.md5, source.md5) != 0 ||
	    strcasecmp(arrived.sha256, source.sha256) != 0) {
		tv_error("%s: the copy holds %llu bytes, MD5 %s, SHA-256 %s; the source %llu, %s, %s", name,
		    arrived.length, arrived.md5, arrived.sha256, source.length, source.md5, source.sha256);
		return EX_DATAERR;
	}
	return 0;
}
