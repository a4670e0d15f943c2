/*
 * azure.c: Azure Blob Storage over libcurl.  Uploads are Put Block calls from
 * a few threads, made visible by one Put Block List; reads are one GET that
 * resumes with a ranged GET pinned to the ETag; listings and error bodies are
 * parsed with expat.
 */

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <expat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azure.h"
#include "breaker.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "retry.h"
#include "storeimpl.h"

#define API_VERSION	"2021-08-06"
#define BLOCK_SIZE	(4u << 20)
#define UPLOAD_THREADS	4
#define PAGE_SIZE	5000

/* Azurite's development account, published by Microsoft. */
#define DEV_ACCOUNT	"devstoreaccount1"
#define DEV_KEY		"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT	"http://127.0.0.1:10000/" DEV_ACCOUNT

struct azure {
	struct tv_store	 base;
	char		*account;
	unsigned char	 key[128];
	int		 keylen;	/* 0: authenticate with the SAS instead */
	char		*sas;		/* query string without '?', or NULL */
	char		*endpoint;	/* scheme://host[:port][/path], no trailing slash */
	const char	*endpoint_path;	/* the /path part of endpoint, "" if none */
	CURL		*curl;		/* the main thread's connection */
	pthread_mutex_t	 mu;
	int		 container_ready;
};

/* One REST call: what to send, and what came back. */
struct req {
	const char	*method;
	const char	*blob;		/* NULL for container calls */
	const char	*query[6][2];	/* unencoded name, value; NULL-terminated */
	const char	*xms[4][2];	/* extra x-ms-* headers, lower-case names, sorted */
	const char	*content_md5;
	const char	*if_match;
	char		 range[48];
	const char	*body;		/* PUT body */
	size_t		 body_len, body_off;
	/* Receives a 2xx body; returns 0 or an exit code, which ends the call. */
	int		(*sink)(struct req *, const char *, size_t);
	void		*arg;
	/* Adjusts the call before each attempt (e.g. Range after a cut). */
	void		(*prepare)(struct req *);
	int		 sink_rc;
	unsigned long long got;		/* body bytes the sink accepted, over all attempts */

	long		 status;
	char		 etag[128], md5[64], sha256[80], code[128], modified[64];
	double		 retry_after;
	unsigned long long length;
	char		 errbody[4096];
	size_t		 errlen;
};

/* Copies a string into a fixed array, truncating. */
#define COPY(dst, src) snprintf((dst), sizeof(dst), "%.*s", (int)sizeof(dst) - 1, (src))

/* --- connection strings --- */

/* Returns the value of key in a ;-separated key=value string, case-insensitively, or NULL. */
static char *
cs_get(const char *cs, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = cs; *p != '\0';) {
		size_t n = strcspn(p, ";");

		if (n > klen && p[klen] == '=' && strncasecmp(p, key, klen) == 0)
			return strndup(p + klen + 1, n - klen - 1);
		p += n;
		if (*p == ';')
			p++;
	}
	return NULL;
}

/* Every part must look like key=value, so that a typo is reported rather than ignored. */
static void
cs_check(const char *cs)
{
	static const char *known[] = { "AccountKey", "AccountName", "BlobEndpoint",
	    "DefaultEndpointsProtocol", "DevelopmentStorageProxyUri", "EndpointSuffix",
	    "FileEndpoint", "QueueEndpoint", "SharedAccessSignature", "TableEndpoint",
	    "UseDevelopmentStorage" };

	for (const char *p = cs; *p != '\0';) {
		size_t n = strcspn(p, ";"), k = strcspn(p, "=;");
		int ok = 0;

		for (size_t i = 0; n > 0 && i < sizeof(known) / sizeof(known[0]); i++)
			if (k < n && strlen(known[i]) == k && strncasecmp(p, known[i], k) == 0)
				ok = 1;
		if (n > 0 && !ok) {
			char *r = tv_config_redact(cs);

			tv_fatal(EX_USAGE, "BACKUP_BLOB_STORAGE_CONNECTION_STRING: unknown part \"%.*s\" in %s",
			    (int)k, p, r);
		}
		p += n;
		if (*p == ';')
			p++;
	}
}

static void
parse_connection_string(struct azure *az, const char *cs)
{
	char *dev = cs_get(cs, "UseDevelopmentStorage"), *key, *proto, *suffix, *slash;

	cs_check(cs);
	if (dev != NULL && strcasecmp(dev, "true") == 0) {
		az->account = strdup(DEV_ACCOUNT);
		key = strdup(DEV_KEY);
		az->endpoint = strdup(DEV_ENDPOINT);
	} else {
		az->account = cs_get(cs, "AccountName");
		key = cs_get(cs, "AccountKey");
		az->endpoint = cs_get(cs, "BlobEndpoint");
		az->sas = cs_get(cs, "SharedAccessSignature");
	}
	free(dev);
	if (az->endpoint == NULL && az->account != NULL) {
		proto = cs_get(cs, "DefaultEndpointsProtocol");
		suffix = cs_get(cs, "EndpointSuffix");
		if (asprintf(&az->endpoint, "%s://%s.blob.%s", proto ? proto : "https", az->account,
		    suffix ? suffix : "core.windows.net") < 0)
			tv_fatal(EX_OSERR, "out of memory");
		free(proto);
		free(suffix);
	}
	if (az->endpoint == NULL || strstr(az->endpoint, "://") == NULL)
		tv_fatal(EX_USAGE, "BACKUP_BLOB_STORAGE_CONNECTION_STRING: needs AccountName or an http(s) "
		    "BlobEndpoint, UseDevelopmentStorage=true, or file:/path");
	while (strlen(az->endpoint) > 8 && az->endpoint[strlen(az->endpoint) - 1] == '/')
		az->endpoint[strlen(az->endpoint) - 1] = '\0';
	slash = strchr(strstr(az->endpoint, "://") + 3, '/');
	az->endpoint_path = slash ? slash : "";
	if (key != NULL) {
		if (az->account == NULL)
			tv_fatal(EX_USAGE, "BACKUP_BLOB_STORAGE_CONNECTION_STRING: AccountKey needs AccountName");
		az->keylen = EVP_DecodeBlock(az->key, (const unsigned char *)key, (int)strlen(key));
		if (az->keylen <= 0 || strlen(key) % 4 != 0 || strlen(key) > 160)
			tv_fatal(EX_USAGE, "BACKUP_BLOB_STORAGE_CONNECTION_STRING: AccountKey is not base64");
		/* EVP_DecodeBlock counts the padding as data. */
		for (size_t i = strlen(key); i > 0 && key[i - 1] == '='; i--)
			az->keylen--;
		free(key);
		free(az->sas);
		az->sas = NULL;
	} else if (az->sas != NULL) {
		if (az->sas[0] == '?')
			memmove(az->sas, az->sas + 1, strlen(az->sas));
	} else
		tv_fatal(EX_USAGE, "BACKUP_BLOB_STORAGE_CONNECTION_STRING: needs AccountKey or SharedAccessSignature");
}

/* --- requests --- */

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

static int
cmp_query(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Signs the request with SharedKey: HMAC-SHA256 of the canonical request under the account key. */
static void
sign(struct azure *az, const struct req *rq, const char *path, const char *date, char *auth, size_t cap)
{
	char sts[8192], len[32] = "", q[6][2048];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	char b64[64];
	size_t nq = 0, n;

	if (rq->body != NULL || strcmp(rq->method, "PUT") == 0)
		if (rq->body_len > 0)
			snprintf(len, sizeof(len), "%zu", rq->body_len);
	n = (size_t)snprintf(sts, sizeof(sts), "%s\n\n\n%s\n%s\n\n\n\n%s\n\n\n%s\n", rq->method, len,
	    rq->content_md5 ? rq->content_md5 : "", rq->if_match ? rq->if_match : "", rq->range);
	/* The x-ms-* headers go in sorted by name; q is scratch space for them here. */
	snprintf(q[nq++], sizeof(q[0]), "x-ms-date:%s", date);
	snprintf(q[nq++], sizeof(q[0]), "x-ms-version:" API_VERSION);
	for (int i = 0; i < 4 && rq->xms[i][0] != NULL; i++)
		snprintf(q[nq++], sizeof(q[0]), "%s:%s", rq->xms[i][0], rq->xms[i][1]);
	qsort(q, nq, sizeof(q[0]), cmp_query);
	for (size_t i = 0; i < nq; i++)
		n += (size_t)snprintf(sts + n, sizeof(sts) - n, "%s\n", q[i]);
	n += (size_t)snprintf(sts + n, sizeof(sts) - n, "/%s%s", az->account, path);
	nq = 0;
	for (; nq < 6 && rq->query[nq][0] != NULL; nq++)
		snprintf(q[nq], sizeof(q[nq]), "%s:%s", rq->query[nq][0], rq->query[nq][1]);
	qsort(q, nq, sizeof(q[0]), cmp_query);
	for (size_t i = 0; i < nq; i++)
		n += (size_t)snprintf(sts + n, sizeof(sts) - n, "\n%s", q[i]);
	HMAC(EVP_sha256(), az->key, az->keylen, (unsigned char *)sts, n < sizeof(sts) ? n : sizeof(sts) - 1,
	    mac, &maclen);
	tv_base64(mac, maclen, b64);
	snprintf(auth, cap, "Authorization: SharedKey %s:%s", az->account, b64);
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
		rq->status = strtol(line + 9, NULL, 10);
		rq->etag[0] = rq->md5[0] = rq->sha256[0] = rq->code[0] = rq->modified[0] = '\0';
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
	if (rq->range[0] != '\0') {
		snprintf(hdr[0], sizeof(hdr[0]), "Range: %s", rq->range);
		headers = curl_slist_append(headers, hdr[0]);
	}
	if (az->keylen > 0) {
		sign(az, rq, path, date, auth, sizeof(auth));
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

/* --- error bodies --- */

struct errxml {
	char	 code[128], message[512];
	char	*cur;
	size_t	 cap;
};

static void XMLCALL
err_start(void *arg, const XML_Char *el, const XML_Char **attr)
{
	struct errxml *e = arg;

	e->cur = NULL;
	if (strcmp(el, "Code") == 0) {
		e->cur = e->code;
		e->cap = sizeof(e->code);
	} else if (strcmp(el, "Message") == 0) {
		e->cur = e->message;
		e->cap = sizeof(e->message);
	}
}

static void XMLCALL
err_end(void *arg, const XML_Char *el)
{
	((struct errxml *)arg)->cur = NULL;
}

static void XMLCALL
err_text(void *arg, const XML_Char *s, int len)
{
	struct errxml *e = arg;
	size_t n;

	if (e->cur == NULL)
		return;
	n = strlen(e->cur);
	snprintf(e->cur + n, e->cap - n, "%.*s", len, s);
}

/* Describes a failed response from its XML error body: "Code: first line of Message". */
static void
describe_error(struct req *rq, char *out, size_t cap)
{
	struct errxml e = { "", "", NULL, 0 };
	XML_Parser p = XML_ParserCreate(NULL);

	XML_SetUserData(p, &e);
	XML_SetElementHandler(p, err_start, err_end);
	XML_SetCharacterDataHandler(p, err_text);
	XML_Parse(p, rq->errbody, (int)rq->errlen, 1);
	XML_ParserFree(p);
	/* Azure appends RequestId and Time on lines of their own. */
	e.message[strcspn(e.message, "\r\n")] = '\0';
	snprintf(out, cap, "HTTP %ld %s%s%s", rq->status, e.code[0] ? e.code : rq->code,
	    e.message[0] ? ": " : "", e.message);
}

/* --- the retry loop --- */

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

/*
 * Runs a request until it succeeds, fails for good, or the retry budget is
 * spent.  Returns 0 for 2xx, else logs "what: why" and returns the exit code;
 * a 404 is returned quietly (callers word it).
 */
static int
request(struct azure *az, CURL *curl, struct req *rq, const char *what)
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
			describe_error(rq, why, sizeof(why));
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
	describe_error(rq, why, sizeof(why));
	if (rq->status == 401 || rq->status == 403) {
		tv_error("%s: access denied (check AccountKey or SharedAccessSignature): %s", what, why);
		return EX_NOPERM;
	}
	tv_error("%s: %s", what, why);
	return rq->status == 412 ? EX_TEMPFAIL : 1;
}

/* Creates the container, which may already exist. */
static int
create_container(struct azure *az, CURL *curl)
{
	struct req rq = { .method = "PUT", .query = { { "restype", "container" } } };
	int rc;

	pthread_mutex_lock(&az->mu);
	rc = az->container_ready ? 0 : request(az, curl, &rq, "creating the container");
	if (rc == 1 && rq.status == 409)
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
static int
write_request(struct azure *az, CURL *curl, struct req *rq, const char *what)
{
	int rc = request(az, curl, rq, what);

	if (rc == EX_NOINPUT && strcmp(rq->code, "ContainerNotFound") == 0 &&
	    (rc = create_container(az, curl)) == 0)
		rc = request(az, curl, rq, what);
	if (rc == EX_NOINPUT)
		tv_error("%s: %s", what, rq->code[0] ? rq->code : "not found");
	return rc;
}

/* --- uploads --- */

struct block {
	struct block	*next;
	char		*data;
	size_t		 len;
	unsigned long	 index;
};

struct azupload {
	struct tv_upload	 base;
	struct azure		*az;
	char			*name;
	char			 id[17];	/* random upload id, part of every block id */
	unsigned long		 nblocks;
	struct block		*cur;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct block		*queue, *tail, *spare;
	int			 done, rc, nthreads;
	pthread_t		 threads[UPLOAD_THREADS];
};

/* Block ids must all have the same length; this one also names the upload, so a retry cannot mix uploads. */
static void
block_id(const char *upload, unsigned long index, char out[64])
{
	char raw[32];

	snprintf(raw, sizeof(raw), "%s-%010lu", upload, index);
	tv_base64((const unsigned char *)raw, strlen(raw), out);
}

static int
put_block(struct azupload *up, CURL *curl, struct block *b)
{
	char id[64], md5[32], what[1200];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	struct req rq = { .method = "PUT", .blob = up->name, .body = b->data, .body_len = b->len,
	    .content_md5 = md5 };

	block_id(up->id, b->index, id);
	EVP_Digest(b->data, b->len, digest, &dlen, EVP_md5(), NULL);
	tv_base64(digest, dlen, md5);
	rq.query[0][0] = "comp";
	rq.query[0][1] = "block";
	rq.query[1][0] = "blockid";
	rq.query[1][1] = id;
	snprintf(what, sizeof(what), "%s: uploading block %lu", up->name, b->index);
	return write_request(up->az, curl, &rq, what);
}

static void *
uploader(void *arg)
{
	struct azupload *up = arg;
	CURL *curl = curl_easy_init();
	struct block *b;
	int rc;

	pthread_mutex_lock(&up->mu);
	for (;;) {
		while (up->queue == NULL && !up->done)
			pthread_cond_wait(&up->cv, &up->mu);
		if ((b = up->queue) == NULL)
			break;
		if ((up->queue = b->next) == NULL)
			up->tail = NULL;
		/* After one failure the rest is pointless: drain without uploading. */
		rc = up->rc;
		pthread_mutex_unlock(&up->mu);
		if (rc == 0)
			rc = put_block(up, curl, b);
		pthread_mutex_lock(&up->mu);
		if (rc != 0 && up->rc == 0)
			up->rc = rc;
		b->next = up->spare;
		up->spare = b;
		pthread_cond_broadcast(&up->cv);
	}
	pthread_mutex_unlock(&up->mu);
	curl_easy_cleanup(curl);
	return NULL;
}

/* Returns a free block buffer, waiting for an uploader to finish one if all are in flight. */
static struct block *
take_block(struct azupload *up)
{
	struct block *b;

	pthread_mutex_lock(&up->mu);
	while (up->spare == NULL)
		pthread_cond_wait(&up->cv, &up->mu);
	b = up->spare;
	up->spare = b->next;
	pthread_mutex_unlock(&up->mu);
	b->len = 0;
	b->next = NULL;
	return b;
}

/* Hands the current block to the uploaders; returns the first upload error so far. */
static int
queue_block(struct azupload *up)
{
	struct block *b = up->cur;
	int rc;

	up->cur = NULL;
	b->index = up->nblocks++;
	pthread_mutex_lock(&up->mu);
	if (up->tail != NULL)
		up->tail->next = b;
	else
		up->queue = b;
	up->tail = b;
	rc = up->rc;
	pthread_cond_broadcast(&up->cv);
	pthread_mutex_unlock(&up->mu);
	return rc;
}

static int
az_upload_begin(struct tv_store *store, const char *name, struct tv_upload **out)
{
	struct azupload *up = calloc(1, sizeof(*up));
	unsigned char rnd[8];
	FILE *f = fopen("/dev/urandom", "r");

	if (up == NULL || f == NULL || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
		tv_fatal(EX_OSERR, "cannot make an upload id");
	fclose(f);
	for (int i = 0; i < 8; i++)
		snprintf(up->id + 2 * i, 3, "%02x", rnd[i]);
	up->az = (struct azure *)store;
	up->name = strdup(name);
	pthread_mutex_init(&up->mu, NULL);
	pthread_cond_init(&up->cv, NULL);
	/* Threads plus one being filled plus one queued: bounded memory. */
	for (int i = 0; i < UPLOAD_THREADS + 2; i++) {
		struct block *b = calloc(1, sizeof(*b));

		if (b == NULL || (b->data = malloc(BLOCK_SIZE)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		b->next = up->spare;
		up->spare = b;
	}
	for (; up->nthreads < UPLOAD_THREADS; up->nthreads++)
		if (pthread_create(&up->threads[up->nthreads], NULL, uploader, up) != 0)
			tv_fatal(EX_OSERR, "cannot start upload threads");
	*out = &up->base;
	return 0;
}

static int
az_upload_write(struct tv_upload *u, const void *buf, size_t len)
{
	struct azupload *up = (struct azupload *)u;
	const char *p = buf;
	int rc;

	while (len > 0) {
		size_t n;

		if (up->cur == NULL)
			up->cur = take_block(up);
		n = BLOCK_SIZE - up->cur->len;
		if (n > len)
			n = len;
		memcpy(up->cur->data + up->cur->len, p, n);
		up->cur->len += n;
		p += n;
		len -= n;
		if (up->cur->len == BLOCK_SIZE && (rc = queue_block(up)) != 0)
			return rc;
	}
	return 0;
}

/* Waits for the uploaders to finish and frees everything; returns the first upload error. */
static int
upload_end(struct azupload *up, int cancel)
{
	struct block *b;
	int rc;

	pthread_mutex_lock(&up->mu);
	up->done = 1;
	if (cancel && up->rc == 0)
		up->rc = EX_SOFTWARE;
	pthread_cond_broadcast(&up->cv);
	pthread_mutex_unlock(&up->mu);
	for (int i = 0; i < up->nthreads; i++)
		pthread_join(up->threads[i], NULL);
	rc = up->rc;
	if (up->cur != NULL) {
		up->cur->next = up->spare;
		up->spare = up->cur;
	}
	while ((b = up->spare) != NULL) {
		up->spare = b->next;
		free(b->data);
		free(b);
	}
	pthread_mutex_destroy(&up->mu);
	pthread_cond_destroy(&up->cv);
	free(up->name);
	free(up);
	return rc;
}

static int
az_upload_finish(struct tv_upload *u, struct tv_receipt *r)
{
	struct azupload *up = (struct azupload *)u;
	int rc = 0, end;

	if (up->cur != NULL && up->cur->len > 0)
		rc = queue_block(up);
	r->staging = strdup(up->id);
	r->blocks = up->nblocks;
	end = upload_end(up, 0);
	return end ? end : rc;
}

static void
az_upload_cancel(struct tv_upload *u)
{
	upload_end((struct azupload *)u, 1);
}

/* Put Block List: the blob appears, whole, with its checksums, replacing any earlier one at once. */
static int
az_commit(struct tv_store *store, struct tv_receipt *r)
{
	struct azure *az = (struct azure *)store;
	static const char head[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
	size_t cap = sizeof(head) + (r->blocks + 1) * 64 + 32, n;
	char *xml = malloc(cap), id[64], md5[32], what[1200];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	struct req rq = { .method = "PUT", .blob = r->name, .content_md5 = md5,
	    .query = { { "comp", "blocklist" } },
	    .xms = { { "x-ms-blob-content-md5", r->md5 }, { "x-ms-meta-sha256", r->sha256 } } };
	int rc;

	if (xml == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	n = (size_t)snprintf(xml, cap, "%s", head);
	for (unsigned long i = 0; i < r->blocks; i++) {
		block_id(r->staging, i, id);
		n += (size_t)snprintf(xml + n, cap - n, "<Latest>%s</Latest>", id);
	}
	n += (size_t)snprintf(xml + n, cap - n, "</BlockList>");
	EVP_Digest(xml, n, digest, &dlen, EVP_md5(), NULL);
	tv_base64(digest, dlen, md5);
	rq.body = xml;
	rq.body_len = n;
	snprintf(what, sizeof(what), "%s: committing", r->name);
	rc = write_request(az, az->curl, &rq, what);
	if (rc == 1 && strcmp(rq.code, "InvalidBlockList") == 0) {
		tv_error("%s: the staged blocks are gone (committed or expired already)", r->name);
		rc = EX_NOINPUT;
	}
	free(xml);
	return rc;
}

/*
 * Azure has no call to drop uncommitted blocks: they stay invisible and the
 * service discards them after a week, or at the next commit of the name.
 */
static int
az_abort(struct tv_store *store, const struct tv_receipt *r)
{
	tv_debug("%s: %lu uncommitted blocks of upload %s left for the service to discard", r->name,
	    r->blocks, r->staging);
	return 0;
}

/* Get Blob Properties. */
static int
head_blob(struct azure *az, const char *name, struct req *rq)
{
	char what[1200];
	int rc;

	memset(rq, 0, sizeof(*rq));
	rq->method = "HEAD";
	rq->blob = name;
	snprintf(what, sizeof(what), "%s", name);
	if ((rc = request(az, az->curl, rq, what)) == EX_NOINPUT)
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
static time_t
http_date(const char *s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

static int
az_get(struct tv_store *store, const char *name, int fd)
{
	struct azure *az = (struct azure *)store;
	struct download dl;
	struct req head, rq = { .method = "GET", .blob = name, .sink = download_sink, .arg = &dl,
	    .prepare = download_prepare };
	char what[1200];
	int rc;

	if ((rc = head_blob(az, name, &head)) != 0)
		return rc;
	dl.expected = head.length;
	if (tv_writer_init(&dl.w, fd, 1 << 20) != 0)
		tv_fatal(EX_OSERR, "out of memory");
	/* SHA-256 alone proves the content; MD5 only when that is all there is. */
	tv_digest_init(&dl.d, head.sha256[0] == '\0');
	/* Pinned to the ETag, a blob replaced mid-read fails rather than splicing two blobs. */
	rq.if_match = head.etag;
	snprintf(what, sizeof(what), "%s", name);
	if (head.length > 0 && (rc = request(az, az->curl, &rq, what)) == EX_NOINPUT)
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

static int
az_stat(struct tv_store *store, const char *name, struct tv_blob *blob)
{
	struct req rq;
	int rc = head_blob((struct azure *)store, name, &rq);

	if (rc == 0) {
		blob->size = rq.length;
		blob->mtime = http_date(rq.modified);
	}
	return rc;
}

static int
az_del(struct tv_store *store, const char *name)
{
	struct azure *az = (struct azure *)store;
	struct req rq = { .method = "DELETE", .blob = name };
	char what[1200];
	int rc;

	snprintf(what, sizeof(what), "%s: deleting", name);
	rc = request(az, az->curl, &rq, what);
	return rc == EX_NOINPUT ? 0 : rc;
}

/* --- listings --- */

struct entry {
	char			*name;
	unsigned long long	 size;
	time_t			 mtime;
};

struct listing {
	XML_Parser	 parser;
	struct entry	*v;
	size_t		 n, cap;
	char		 text[2048];	/* character data of the current element */
	size_t		 textlen;
	char		 marker[1024];	/* NextMarker: where the next page starts */
	int		 in_blob, in_properties;
	struct entry	 cur;
	int		 failed;
};

static void XMLCALL
list_start(void *arg, const XML_Char *el, const XML_Char **attr)
{
	struct listing *l = arg;

	l->textlen = 0;
	l->text[0] = '\0';
	if (strcmp(el, "Blob") == 0) {
		l->in_blob = 1;
		memset(&l->cur, 0, sizeof(l->cur));
	} else if (strcmp(el, "Properties") == 0)
		l->in_properties = 1;
}

static void XMLCALL
list_end(void *arg, const XML_Char *el)
{
	struct listing *l = arg;

	if (strcmp(el, "NextMarker") == 0)
		COPY(l->marker, l->text);
	else if (!l->in_blob)
		return;
	else if (strcmp(el, "Name") == 0 && !l->in_properties)
		l->cur.name = strdup(l->text);
	else if (strcmp(el, "Content-Length") == 0)
		l->cur.size = strtoull(l->text, NULL, 10);
	else if (strcmp(el, "Last-Modified") == 0)
		l->cur.mtime = http_date(l->text);
	else if (strcmp(el, "Properties") == 0)
		l->in_properties = 0;
	else if (strcmp(el, "Blob") == 0) {
		l->in_blob = 0;
		if (l->cur.name == NULL)
			return;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 512;
			if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
				tv_fatal(EX_OSERR, "out of memory");
		}
		l->v[l->n++] = l->cur;
		l->cur.name = NULL;
	}
}

static void XMLCALL
list_text(void *arg, const XML_Char *s, int len)
{
	struct listing *l = arg;
	size_t room = sizeof(l->text) - 1 - l->textlen, n = (size_t)len < room ? (size_t)len : room;

	memcpy(l->text + l->textlen, s, n);
	l->textlen += n;
	l->text[l->textlen] = '\0';
}

static void
list_free_entries(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->cur.name);
	l->cur.name = NULL;
	l->n = 0;
}

/* Every attempt parses the page afresh, so a retried page is never half-counted. */
static void
list_prepare(struct req *rq)
{
	struct listing *l = rq->arg;

	list_free_entries(l);
	if (l->parser != NULL)
		XML_ParserFree(l->parser);
	l->parser = XML_ParserCreate(NULL);
	XML_SetUserData(l->parser, l);
	XML_SetElementHandler(l->parser, list_start, list_end);
	XML_SetCharacterDataHandler(l->parser, list_text);
	l->marker[0] = '\0';
	l->in_blob = l->in_properties = 0;
}

static int
list_sink(struct req *rq, const char *data, size_t len)
{
	struct listing *l = rq->arg;

	if (XML_Parse(l->parser, data, (int)len, 0) == XML_STATUS_ERROR) {
		tv_error("listing: malformed XML from the store: %s",
		    XML_ErrorString(XML_GetErrorCode(l->parser)));
		return EX_PROTOCOL;
	}
	return 0;
}

static int
az_list(struct tv_store *store, const char *prefix, tv_list_fn fn, void *arg)
{
	struct azure *az = (struct azure *)store;
	struct listing l;
	char marker[1024] = "", maxresults[16];
	int rc = 0;

	memset(&l, 0, sizeof(l));
	snprintf(maxresults, sizeof(maxresults), "%d", PAGE_SIZE);
	do {
		struct req rq = { .method = "GET", .sink = list_sink, .arg = &l, .prepare = list_prepare,
		    .query = { { "comp", "list" }, { "maxresults", maxresults }, { "restype", "container" } } };
		int q = 3;

		if (*prefix) {
			rq.query[q][0] = "prefix";
			rq.query[q++][1] = prefix;
		}
		if (*marker) {
			rq.query[q][0] = "marker";
			rq.query[q++][1] = marker;
		}
		rc = request(az, az->curl, &rq, "listing blobs");
		if (rc == EX_NOINPUT) {
			/* No container yet means no blobs yet. */
			rc = 0;
			break;
		}
		if (rc == 0 && XML_Parse(l.parser, "", 0, 1) == XML_STATUS_ERROR) {
			tv_error("listing: truncated XML from the store");
			rc = EX_PROTOCOL;
		}
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			struct tv_blob b = { l.v[i].name, l.v[i].size, l.v[i].mtime };

			/* The file store's staging names are never blobs: skip them if someone copied them here. */
			if (strstr(b.name, "/.tv-") == NULL && strncmp(b.name, ".tv-", 4) != 0)
				rc = fn(&b, arg);
		}
		snprintf(marker, sizeof(marker), "%s", l.marker);
		tv_debug("listed a page of %zu blobs%s", l.n, *marker ? ", more follow" : "");
		list_free_entries(&l);
	} while (rc == 0 && *marker);
	if (l.parser != NULL)
		XML_ParserFree(l.parser);
	free(l.v);
	return rc;
}

static void
az_close(struct tv_store *store)
{
	struct azure *az = (struct azure *)store;

	curl_easy_cleanup(az->curl);
	pthread_mutex_destroy(&az->mu);
	OPENSSL_cleanse(az->key, sizeof(az->key));
	free(az->account);
	free(az->sas);
	free(az->endpoint);
	free(az->base.container);
	free(az);
	curl_global_cleanup();
}

static const struct tv_store_ops azure_ops = {
	"azure",
	az_upload_begin,
	az_upload_write,
	az_upload_finish,
	az_upload_cancel,
	az_commit,
	az_abort,
	az_get,
	az_list,
	az_stat,
	az_del,
	az_close,
};

struct tv_store *
tv_azure_open(const char *cs, const char *container)
{
	struct azure *az = calloc(1, sizeof(*az));

	if (az == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	parse_connection_string(az, cs);
	az->base.ops = &azure_ops;
	az->base.container = strdup(container);
	pthread_mutex_init(&az->mu, NULL);
	tv_breaker_enter();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || (az->curl = curl_easy_init()) == NULL)
		tv_fatal(EX_OSERR, "cannot initialise libcurl");
	tv_debug("Azure store %s, container %s, %s", az->endpoint, container,
	    az->keylen ? "SharedKey" : "SAS");
	return &az->base;
}
