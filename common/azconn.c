/*
 * azconn.c: the Azure backend's connection: the connection string, SharedKey
 * signing, and opening and closing the store.
 */

#include <arpa/inet.h>
#include <stdarg.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "azimpl.h"
#include "azure.h"
#include "breaker.h"
#include "config.h"
#include "log.h"

/* Azurite's development account, published by Microsoft. */
#define DEV_ACCOUNT	"devstoreaccount1"
#define DEV_KEY		"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT	"http://127.0.0.1:10000/" DEV_ACCOUNT

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
cs_check(const char *setting, const char *cs)
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

			tv_fatal(EX_USAGE, "%s: unknown part \"%.*s\" in %s", setting, (int)k, p, r);
		}
		p += n;
		if (*p == ';')
			p++;
	}
}

/*
 * Decodes the base64 AccountKey into az->key.  The length is checked before
 * decoding: the buffer is fixed, and the string comes from outside.
 */
static void
decode_key(struct azure *az, const char *setting, char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(az->key))
		tv_fatal(EX_USAGE, "%s: AccountKey is not a base64 key of at most %zu bytes", setting,
		    sizeof(az->key));
	az->keylen = EVP_DecodeBlock(az->key, (const unsigned char *)key, (int)len);
	if (az->keylen <= 0)
		tv_fatal(EX_USAGE, "%s: AccountKey is not base64", setting);
	/* EVP_DecodeBlock counts the padding as data. */
	for (size_t i = len; i > 0 && key[i - 1] == '='; i--)
		az->keylen--;
	OPENSSL_cleanse(key, len);
	free(key);
}

/* Returns 1 if host (a name, an IPv4 address, or an IPv6 one in brackets) is this machine. */
static int
is_loopback(const char *host, size_t len)
{
	char buf[64];
	struct in_addr a4;

	if (len >= sizeof(buf))
		return 0;
	snprintf(buf, sizeof(buf), "%.*s", (int)len, host);
	if (strcasecmp(buf, "localhost") == 0 || strcmp(buf, "[::1]") == 0)
		return 1;
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * Checks that the endpoint is scheme://host[:port][/path] with scheme http or
 * https, and sets endpoint_path.  Plain http would carry the SAS and the data
 * in clear: it is for loopback test servers only, unless the operator opts in.
 */
static void
check_endpoint(struct azure *az, const char *setting)
{
	char *e = az->endpoint, *host, *slash;
	const char *insecure;
	size_t hostlen, len;
	int http;

	http = strncasecmp(e, "http://", 7) == 0;
	if (!http && strncasecmp(e, "https://", 8) != 0)
		tv_fatal(EX_USAGE, "%s: BlobEndpoint must start with https:// (or http:// for a local test server)",
		    setting);
	host = strstr(e, "://") + 3;
	hostlen = strcspn(host, "/");
	len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":/");
	if (len == 0 || len > hostlen || strcspn(host, "@?#") < hostlen ||
	    (len < hostlen && (host[len] != ':' || len + 1 == hostlen ||
	    strspn(host + len + 1, "0123456789") != hostlen - len - 1)))
		tv_fatal(EX_USAGE, "%s: BlobEndpoint has no usable host[:port]", setting);
	insecure = getenv("BACKUP_ALLOW_INSECURE_HTTP");
	if (http && !is_loopback(host, len) && (insecure == NULL || strcmp(insecure, "1") != 0))
		tv_fatal(EX_USAGE, "%s: refusing plain http to %.*s: the signature and the data would travel "
		    "in clear; use https, or set BACKUP_ALLOW_INSECURE_HTTP=1 if the network is trusted",
		    setting, (int)len, host);
	while (strlen(host) > hostlen && e[strlen(e) - 1] == '/')
		e[strlen(e) - 1] = '\0';
	slash = strchr(host, '/');
	az->endpoint_path = slash ? slash : "";
}

/* Copies the permissions a SAS grants (its sp= letters) into az->base.grants; none if it has no sp=. */
static void
sas_grants(struct azure *az)
{
	for (const char *p = az->sas; *p != '\0'; p += strcspn(p, "&"), p += *p == '&') {
		if (strncmp(p, "sp=", 3) == 0) {
			size_t n = strcspn(p + 3, "&");

			if (n < sizeof(az->base.grants))
				snprintf(az->base.grants, sizeof(az->base.grants), "%.*s", (int)n, p + 3);
			return;
		}
	}
}

static void
parse_connection_string(struct azure *az, const char *setting, const char *cs)
{
	char *dev = cs_get(cs, "UseDevelopmentStorage"), *key, *proto, *suffix;

	cs_check(setting, cs);
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
	if (az->endpoint == NULL)
		tv_fatal(EX_USAGE, "%s: needs AccountName or an http(s) BlobEndpoint, "
		    "UseDevelopmentStorage=true, or file:/path", setting);
	check_endpoint(az, setting);
	if (key != NULL) {
		if (az->account == NULL)
			tv_fatal(EX_USAGE, "%s: AccountKey needs AccountName", setting);
		decode_key(az, setting, key);
		free(az->sas);
		az->sas = NULL;
		strcpy(az->base.grants, "racwdl");
	} else if (az->sas != NULL) {
		if (az->sas[0] == '?')
			memmove(az->sas, az->sas + 1, strlen(az->sas));
		sas_grants(az);
	} else
		tv_fatal(EX_USAGE, "%s: needs AccountKey or SharedAccessSignature", setting);
}

/* --- SharedKey --- */

static int
cmp_query(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * Appends to the string to sign at *n, never past cap: a string too long for it
 * is cut, and its signature then fails at the server instead of this process
 * writing past the buffer.
 */
static void __attribute__((format(printf, 4, 5)))
put_sts(char *sts, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n + 1 >= cap)
		return;
	va_start(ap, fmt);
	w = vsnprintf(sts + *n, cap - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = *n + (size_t)w < cap ? *n + (size_t)w : cap - 1;
}

/* Signs the request with SharedKey: HMAC-SHA256 of the canonical request under the account key. */
void
az_sign(struct azure *az, const struct req *rq, const char *path, const char *date, char *auth, size_t cap)
{
	char sts[8192], len[32] = "", q[6][2048];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	char b64[64];
	size_t nq = 0, n = 0;

	if (rq->body != NULL || strcmp(rq->method, "PUT") == 0)
		if (rq->body_len > 0)
			snprintf(len, sizeof(len), "%zu", rq->body_len);
	put_sts(sts, sizeof(sts), &n, "%s\n\n\n%s\n%s\n\n\n\n%s\n%s\n\n%s\n", rq->method, len,
	    rq->content_md5 ? rq->content_md5 : "", rq->if_match ? rq->if_match : "",
	    rq->create_only ? "*" : "", rq->range);
	/* The x-ms-* headers go in sorted by name; q is scratch space for them here. */
	snprintf(q[nq++], sizeof(q[0]), "x-ms-date:%s", date);
	snprintf(q[nq++], sizeof(q[0]), "x-ms-version:" API_VERSION);
	for (int i = 0; i < 4 && rq->xms[i][0] != NULL; i++)
		snprintf(q[nq++], sizeof(q[0]), "%s:%s", rq->xms[i][0], rq->xms[i][1]);
	qsort(q, nq, sizeof(q[0]), cmp_query);
	for (size_t i = 0; i < nq; i++)
		put_sts(sts, sizeof(sts), &n, "%s\n", q[i]);
	put_sts(sts, sizeof(sts), &n, "/%s%s", az->account, path);
	nq = 0;
	for (; nq < 6 && rq->query[nq][0] != NULL; nq++)
		snprintf(q[nq], sizeof(q[nq]), "%s:%s", rq->query[nq][0], rq->query[nq][1]);
	qsort(q, nq, sizeof(q[0]), cmp_query);
	for (size_t i = 0; i < nq; i++)
		put_sts(sts, sizeof(sts), &n, "\n%s", q[i]);
	HMAC(EVP_sha256(), az->key, az->keylen, (unsigned char *)sts, n, mac, &maclen);
	tv_base64(mac, maclen, b64);
	snprintf(auth, cap, "Authorization: SharedKey %s:%s", az->account, b64);
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
	az_container,
};

struct tv_store *
tv_azure_open(const char *setting, const char *cs, const char *container)
{
	struct azure *az = calloc(1, sizeof(*az));

	if (az == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	parse_connection_string(az, setting, cs);
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
