/*
 * azreq.c: one REST call to Azure over libcurl, and the retry loop around it
 * that tells passing failures from final ones.
 */

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>

#include <curl/curl.h>

#include "azimpl.h"
#include "breaker.h"
#include "log.h"
#include "retry.h"

/* Appends s to buf percent-encoded, keeping '/' if keep_slash. */
static void
url_encode(char *buf, size_t cap, const char *s, int keep_slash)
{
	size_t n = strlen(buf);

	for (; *s != '\0' && n + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/'))
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, cap - n, "%%%02X", c);
	}
	buf[n] = '\0';
}

/* Writes the request's URL path (encoded) into path: endpoint path, container, blob. */
static void
req_path(struct azure *az, const struct req *rq, char *path, size_t cap)
{
	snprintf(path, cap, "%s/", az->endpoint_path);
	url_encode(path, cap, az->base.container, 0);
	if (rq->blob != NULL) {
		strncat(path, "/", cap - strlen(path) - 1);
		url_encode(path, cap, rq->blob, 1);
	}
}
long
az_status_code(const char *line, size_t len)
{
	const char *sp = memchr(line, ' ', len);
	size_t i = sp != NULL ? (size_t)(sp - line) + 1 : len;
	long code = 0;
	int digits = 0;

	for (; i < len && digits < 3 && line[i] >= '0' && line[i] <= '9'; i++, digits++)
		code = code * 10 + (line[i] - '0');
	/* Exactly three digits: "2000000" is not a 200. */
	return digits == 3 && (i == len || line[i] < '0' || line[i] > '9') ? code : 0;
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct req *rq = arg;
	size_t len = size * n, k;
	char *colon = memchr(line, ':', len);
	char value[256];

	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue or a redirect) starts afresh. */
		rq->status = az_status_code(line, len);
		rq->etag[0] = rq->md5[0] = rq->sha256[0] = rq->code[0] = rq->modified[0] = rq->copy_status[0] = '\0';
		rq->retry_after = -1;
		rq->length = 0;
		return len;
	}
	if (colon == NULL)
		return len;
	k = (size_t)(colon - line);
	len -= k + 1;
	for (colon++; len > 0 && (*colon == ' ' || *colon == '\t'); colon++, len--)
		;
	while (len > 0 && (colon[len - 1] == '\r' || colon[len - 1] == '\n' || colon[len - 1] == ' '))
		len--;
	snprintf(value, sizeof(value), "%.*s", (int)len, colon);
#define IS(h) (k == strlen(h) && strncasecmp(line, h, k) == 0)
	if (IS("ETag"))
		COPY(rq->etag, value);
	else if (IS("Content-MD5"))
		COPY(rq->md5, value);
	else if (IS("x-ms-meta-sha256"))
		COPY(rq->sha256, value);
	else if (IS("x-ms-error-code"))
		COPY(rq->code, value);
	else if (IS("Last-Modified"))
		COPY(rq->modified, value);
	else if (IS("x-ms-copy-status"))
		COPY(rq->copy_status, value);
	else if (IS("Content-Length"))
		rq->length = strtoull(value, NULL, 10);
	else if (IS("Retry-After"))
		rq->retry_after = strtod(value, NULL);
#undef IS
	return size * n;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct req *rq = arg;
	size_t len = size * n;

	if (rq->status >= 200 && rq->status < 300) {
		if (rq->sink != NULL && (rq->sink_rc = rq->sink(rq, data, len)) != 0)
			return 0;
	} else {
		size_t room = sizeof(rq->errbody) - 1 - rq->errlen;

		memcpy(rq->errbody + rq->errlen, data, len < room ? len : room);
		rq->errlen += len < room ? len : room;
		rq->errbody[rq->errlen] = '\0';
	}
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct req *rq = arg;
	size_t len = rq->body_len - rq->body_off;

	if (len > size * n)
		len = size * n;
	memcpy(buf, rq->body + rq->body_off, len);
	rq->body_off += len;
	return len;
}

/* libcurl rewinds the body when it resends a request on a fresh connection. */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct req *rq = arg;

	if (origin != SEEK_SET || offset < 0 || (size_t)offset > rq->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	rq->body_off = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

static long
env_seconds(const char *name, long fallback)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : fallback;
}

/* Makes one attempt; returns the CURLcode and fills rq->status and friends. */
static CURLcode
perform(struct azure *az, CURL *curl, struct req *rq, char *errbuf)
{
	char path[4096], url[8192], query[4096] = "", date[64], auth[256], hdr[4][2200];
	struct curl_slist *headers = NULL;
	time_t now = time(NULL);
	struct tm tm;
	CURLcode cc;

	req_path(az, rq, path, sizeof(path));
	for (int i = 0; i < 6 && rq->query[i][0] != NULL; i++) {
		size_t n = strlen(query);

		snprintf(query + n, sizeof(query) - n, "%s%s=", i ? "&" : "", rq->query[i][0]);
		url_encode(query, sizeof(query), rq->query[i][1], 0);
	}
	snprintf(url, sizeof(url), "%s%s%s%s%s%s", az->endpoint, path + strlen(az->endpoint_path),
	    *query || az->sas ? "?" : "", query, *query && az->sas ? "&" : "", az->sas ? az->sas : "");
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);

	snprintf(hdr[0], sizeof(hdr[0]), "x-ms-date: %s", date);
	headers = curl_slist_append(headers, hdr[0]);
	headers = curl_slist_append(headers, "x-ms-version: " API_VERSION);
	headers = curl_slist_append(headers, "Expect:");
	headers = curl_slist_append(headers, "Content-Type:");
	for (int i = 0; i < 4 && rq->xms[i][0] != NULL; i++) {
		snprintf(hdr[i], sizeof(hdr[i]), "%s: %s", rq->xms[i][0], rq->xms[i][1]);
		headers = curl_slist_append(headers, hdr[i]);
	}
	if (rq->content_md5 != NULL) {
		snprintf(hdr[0], sizeof(hdr[0]), "Content-MD5: %s", rq->content_md5);
		headers = curl_slist_append(headers, hdr[0]);
	}
	if (rq->if_match != NULL) {
		snprintf(hdr[0], sizeof(hdr[0]), "If-Match: %s", rq->if_match);
		headers = curl_slist_append(headers, hdr[0]);
	}
	if (rq->create_only)
		headers = curl_slist_append(headers, "If-None-Match: *");
	if (rq->range[0] != '\0') {
		snprintf(hdr[0], sizeof(hdr[0]), "Range: %s", rq->range);
		headers = curl_slist_append(headers, hdr[0]);
	}
	if (az->keylen > 0) {
		az_sign(az, rq, path, date, auth, sizeof(auth));
		headers = curl_slist_append(headers, auth);
	}

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, rq);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, rq);
	curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, env_seconds("TV_CONNECT_TIMEOUT_SECONDS", 15));
	/* A connection that moves almost nothing for this long is stalled: cut it and retry. */
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, env_seconds("TV_STALL_SECONDS", 60));
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	if (strcmp(rq->method, "PUT") == 0) {
		rq->body_off = 0;
		curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(curl, CURLOPT_READDATA, rq);
		curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(curl, CURLOPT_SEEKDATA, rq);
		curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->body_len);
	} else if (strcmp(rq->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(rq->method, "GET") != 0)
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);

	rq->status = 0;
	rq->errlen = 0;
	rq->errbody[0] = '\0';
	rq->sink_rc = 0;
	rq->retry_after = -1;
	errbuf[0] = '\0';
	cc = curl_easy_perform(curl);
	curl_slist_free_all(headers);
	return cc;
}
static int
transient_status(long status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	    status == 504;
}

static int
transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SEND_FAIL_REWIND:
		return 1;
	default:
		return 0;
	}
}

int
az_unmapped_status(long status)
{
	if (status == 409 || status == 412)
		return EX_TEMPFAIL;
	if (status >= 400 && status < 500)
		return EX_IOERR;
	return EX_UNAVAILABLE;
}

/*
 * Runs a request until it succeeds, fails for good, or the retry budget is
 * spent.  Returns 0 for 2xx, else logs "what: why" and returns the exit code;
 * a 404 is returned quietly (callers word it).
 */
int
az_request(struct azure *az, CURL *curl, struct req *rq, const char *what)
{
	char errbuf[CURL_ERROR_SIZE], why[1024];
	struct tv_retry retry;
	unsigned long long before;
	CURLcode cc;
	int rc;

	tv_retry_init(&retry);
	for (;;) {
		if (rq->prepare != NULL)
			rq->prepare(rq);
		before = rq->got;
		rq->attempts++;
		cc = perform(az, curl, rq, errbuf);
		if (cc == CURLE_OK && rq->status >= 200 && rq->status < 300) {
			tv_breaker_success();
			return 0;
		}
		if (rq->sink_rc != 0)
			return rq->sink_rc;
		if (cc != CURLE_OK) {
			snprintf(why, sizeof(why), "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
			rc = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ?
			    EX_UNAVAILABLE : EX_TEMPFAIL;
			if (!transient_curl(cc)) {
				tv_error("%s: %s (curl error %d)", what, why, (int)cc);
				tv_breaker_failure();
				return EX_UNAVAILABLE;
			}
		} else {
			tv_breaker_success();
			if (!transient_status(rq->status))
				break;
			az_describe_error(rq, why, sizeof(why));
			rc = EX_TEMPFAIL;
		}
		if (rq->got > before)
			tv_retry_progress(&retry);
		tv_debug("%s: %s", what, why);
		if (tv_retry_wait(&retry, rq->retry_after) != 0) {
			tv_error("%s: %s; giving up after %.0f s of retries", what, why, retry.budget);
			tv_breaker_failure();
			return rc;
		}
	}
	if (rq->status == 404)
		return EX_NOINPUT;
	/* Azure answers 409 BlobAlreadyExists, some versions 412 ConditionNotMet. */
	if (rq->create_only && (rq->status == 409 || rq->status == 412))
		return EX_CANTCREAT;
	if (rq->quiet_unserved && (rq->status == 400 || rq->status == 405 || rq->status == 501)) {
		tv_debug("%s: HTTP %ld %s", what, rq->status, rq->code);
		return az_unmapped_status(rq->status);
	}
	az_describe_error(rq, why, sizeof(why));
	if (rq->status == 401 || rq->status == 403) {
		tv_error("%s: access denied (check AccountKey or SharedAccessSignature): %s", what, why);
		return EX_NOPERM;
	}
	/* Moved to the Archive tier (by a lifecycle rule, or az storage blob set-tier): not damaged, not readable now. */
	if (strcmp(rq->code, "BlobArchived") == 0 || strcmp(rq->code, "BlobBeingRehydrated") == 0) {
		tv_error("%s: %s: the blob is in the Archive tier and cannot be read until it is rehydrated "
		    "(az storage blob set-tier --tier Hot --rehydrate-priority Standard|High: Standard takes up "
		    "to 15 hours, High under 1 hour for small blobs); run again then", what, why);
		return EX_TEMPFAIL;
	}
	tv_error("%s: %s", what, why);
	return az_unmapped_status(rq->status);
}

/* Creates the container, which may already exist. */
static int
create_container(struct azure *az, CURL *curl)
{
	struct req rq = { .method = "PUT", .query = { { "restype", "container" } } };
	int rc;

	pthread_mutex_lock(&az->mu);
	rc = az->container_ready ? 0 : az_request(az, curl, &rq, "creating the container");
	if (rc != 0 && rq.status == 409 && strcmp(rq.code, "ContainerAlreadyExists") == 0)
		rc = 0;
	if (rc == 0) {
		if (!az->container_ready)
			tv_debug("container %s ready", az->base.container);
		az->container_ready = 1;
	}
	pthread_mutex_unlock(&az->mu);
	return rc;
}

/* Runs a write request, creating the container on first use if it is missing. */
int
az_write_request(struct azure *az, CURL *curl, struct req *rq, const char *what)
{
	int rc = az_request(az, curl, rq, what);

	if (rc == EX_NOINPUT && strcmp(rq->code, "ContainerNotFound") == 0 &&
	    (rc = create_container(az, curl)) == 0)
		rc = az_request(az, curl, rq, what);
	if (rc == EX_NOINPUT)
		tv_error("%s: %s", what, rq->code[0] ? rq->code : "not found");
	return rc;
}
