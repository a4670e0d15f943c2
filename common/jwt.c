/* jwt.c: JWS compact tokens verified with OpenSSL, their JSON read with libbson. */

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bson/bson.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#endif

#include "io.h"
#include "jwt.h"
#include "log.h"

/* The .NET ClaimTypes the chat application's tokens may carry. */
#define NET_ROLE_CLAIM	"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
#define NET_NAME_CLAIM	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"

/* Largest secret or key file read, and largest decoded header, payload or signature. */
#define MAX_FILE	65536
#define MAX_PART	TV_JWT_MAX_TOKEN

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
tv_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outsize)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	/* One character alone cannot carry a byte: no valid encoder leaves it. */
	if (len % 4 == 1)
		return -1;
	if (len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outsize)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Set padding bits mean a second spelling of the same bytes: refuse it. */
	if (acc != 0)
		return -1;
	return (long)n;
}

/*
 * Parses JSON that must be one object and nothing more but blanks into a new
 * document, or NULL: a parser that stops after the first object would read
 * {"alg":"HS256"}{"alg":"none"} one way and another parser the other.
 */
static bson_t *
parse_one_object(const unsigned char *json, size_t len)
{
	bson_json_reader_t *reader = bson_json_data_reader_new(false, len);
	bson_t *doc = bson_new(), extra = BSON_INITIALIZER;

	bson_json_data_reader_ingest(reader, json, len);
	if (bson_json_reader_read(reader, doc, NULL) != 1 || bson_json_reader_read(reader, &extra, NULL) != 0) {
		bson_destroy(doc);
		doc = NULL;
	}
	bson_destroy(&extra);
	bson_json_reader_destroy(reader);
	return doc;
}

/* Decodes one base64url part that must be a JSON object into a new document, or NULL. */
static bson_t *
decode_json_part(const char *in, size_t len)
{
	unsigned char buf[MAX_PART + 1];
	long n = tv_base64url_decode(in, len, buf, MAX_PART);
	bson_t *doc;
	bson_iter_t it, prev;
	size_t i = 0;

	if (n < 2 || buf[0] != '{' || memchr(buf, '\0', (size_t)n) != NULL)
		return NULL;
	buf[n] = '\0';
	if ((doc = parse_one_object(buf, (size_t)n)) == NULL)
		return NULL;
	/* JSON parsers disagree on which of two equal names wins: refuse the ambiguity. */
	if (!bson_iter_init(&it, doc))
		goto bad;
	while (bson_iter_next(&it)) {
		size_t j = 0;

		if (!bson_iter_init(&prev, doc))
			goto bad;
		while (j++ < i && bson_iter_next(&prev))
			if (strcmp(bson_iter_key(&prev), bson_iter_key(&it)) == 0)
				goto bad;
		i++;
	}
	return doc;
bad:
	bson_destroy(doc);
	return NULL;
}

/* Returns 1 if the iterator holds exactly the string want (no embedded NUL). */
static int
iter_is_string(const bson_iter_t *it, const char *want)
{
	uint32_t len;
	const char *s;

	if (!BSON_ITER_HOLDS_UTF8(it))
		return 0;
	s = bson_iter_utf8(it, &len);
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* Returns 1 if the claim is the string want or an array holding it. */
static int
claim_has(const bson_t *doc, const char *claim, const char *want)
{
	bson_iter_t it, child;

	if (!bson_iter_init_find(&it, doc, claim))
		return 0;
	if (iter_is_string(&it, want))
		return 1;
	if (!BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &child))
		return 0;
	while (bson_iter_next(&child))
		if (iter_is_string(&child, want))
			return 1;
	return 0;
}

/* Reads a NumericDate claim; returns 1 if present, 0 if absent, -1 if not a number. */
static int
numeric_date(const bson_t *doc, const char *claim, double *value)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, claim))
		return 0;
	switch (bson_iter_type(&it)) {
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
		*value = bson_iter_as_double(&it);
		/* Extended JSON spells NaN and Infinity; neither is a time. */
		return isfinite(*value) ? 1 : -1;
	default:
		return -1;
	}
}

/* Copies the token's subject for the log, printable ASCII only. */
static void
copy_subject(const bson_t *doc, char *out, size_t size)
{
	static const char *const names[] = { "sub", "unique_name", "name", NET_NAME_CLAIM };
	bson_iter_t it;
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *s;
		uint32_t len;

		if (!bson_iter_init_find(&it, doc, names[i]) || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		s = bson_iter_utf8(&it, &len);
		for (uint32_t j = 0; j < len && n + 1 < size; j++)
			out[n++] = s[j] > ' ' && s[j] < 0x7f ? s[j] : '?';
		out[n] = '\0';
		return;
	}
}

static int
verify_hs256(const struct tv_jwt_keys *keys, const char *input, size_t len,
    const unsigned char *sig, size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (keys->secret == NULL || siglen != 32)
		return 0;
	if (HMAC(EVP_sha256(), keys->secret, (int)keys->secret_len, (const unsigned char *)input, len,
	    mac, &maclen) == NULL || maclen != 32)
		return 0;
	return CRYPTO_memcmp(mac, sig, 32) == 0;
}

/* JWS carries ES256 signatures as raw r||s; OpenSSL verifies DER-encoded ECDSA-Sig-Value. */
static unsigned char *
es256_to_der(const unsigned char *sig, size_t siglen, int *derlen)
{
	ECDSA_SIG *es;
	BIGNUM *r, *s;
	unsigned char *der = NULL;

	if (siglen != 64 || (es = ECDSA_SIG_new()) == NULL)
		return NULL;
	r = BN_bin2bn(sig, 32, NULL);
	s = BN_bin2bn(sig + 32, 32, NULL);
	if (r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return NULL;
	}
	*derlen = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? der : NULL;
}

static int
verify_public(const struct tv_jwt_keys *keys, int ec, const char *input, size_t len,
    const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx;
	unsigned char *der = NULL;
	int derlen = (int)siglen, ok = 0;

	if (keys->public_key == NULL ||
	    EVP_PKEY_base_id(keys->public_key) != (ec ? EVP_PKEY_EC : EVP_PKEY_RSA))
		return 0;
	if (ec && (der = es256_to_der(sig, siglen, &derlen)) == NULL)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, keys->public_key) == 1)
		ok = EVP_DigestVerify(ctx, ec ? der : sig, (size_t)derlen,
		    (const unsigned char *)input, len) == 1;
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return ok;
}

/* Checks the header and the signature over "header.payload"; returns 1 if both are good. */
static int
signature_ok(const struct tv_jwt_keys *keys, const char *token, size_t dot1, size_t dot2,
    size_t len, struct tv_jwt_claims *claims)
{
	unsigned char sig[MAX_PART];
	bson_t *header;
	bson_iter_t it;
	long siglen;
	enum { ALG_NONE, ALG_HS256, ALG_RS256, ALG_ES256 } alg = ALG_NONE;
	int ok = 0;

	if ((header = decode_json_part(token, dot1)) == NULL) {
		claims->reason = "malformed header";
		return 0;
	}
	siglen = tv_base64url_decode(token + dot2 + 1, len - dot2 - 1, sig, sizeof(sig));
	/* Extensions marked critical must be understood; this verifier knows none. */
	if (!bson_iter_init_find(&it, header, "crit") && bson_iter_init_find(&it, header, "alg")) {
		if (iter_is_string(&it, "HS256"))
			alg = ALG_HS256;
		else if (iter_is_string(&it, "RS256"))
			alg = ALG_RS256;
		else if (iter_is_string(&it, "ES256"))
			alg = ALG_ES256;
	}
	if (alg == ALG_NONE)
		claims->reason = "unsupported algorithm";
	else if (siglen < 0)
		claims->reason = "malformed signature";
	else if (!(alg == ALG_HS256 ? verify_hs256(keys, token, dot2, sig, (size_t)siglen) :
	    verify_public(keys, alg == ALG_ES256, token, dot2, sig, (size_t)siglen)))
		claims->reason = "bad signature";
	else
		ok = 1;
	bson_destroy(header);
	return ok;
}

/* Checks the claims of a token whose signature verified. */
static enum tv_jwt_result
claims_ok(const struct tv_jwt_keys *keys, const bson_t *payload, time_t now, struct tv_jwt_claims *claims)
{
	bson_iter_t it;
	double exp = 0, nbf = 0, iat = 0;
	int has;

	copy_subject(payload, claims->subject, sizeof(claims->subject));
	/* A token that never expires is a standing key: the chat application always sets exp. */
	if ((has = numeric_date(payload, "exp", &exp)) != 1) {
		claims->reason = has == 0 ? "no exp claim" : "exp is not a number";
		return TV_JWT_INVALID;
	}
	if ((double)now > exp + TV_JWT_LEEWAY) {
		claims->reason = "expired";
		return TV_JWT_INVALID;
	}
	if ((has = numeric_date(payload, "nbf", &nbf)) < 0 || (has && (double)now + TV_JWT_LEEWAY < nbf)) {
		claims->reason = "not valid yet (nbf)";
		return TV_JWT_INVALID;
	}
	/*
	 * A stolen token is good until exp: cap how far that is from its issue, and
	 * refuse an iat in the future, which would stretch the cap.
	 */
	if ((has = numeric_date(payload, "iat", &iat)) != 1) {
		claims->reason = has == 0 ? "no iat claim" : "iat is not a number";
		return TV_JWT_INVALID;
	}
	if (iat > (double)now + TV_JWT_LEEWAY) {
		claims->reason = "issued in the future (iat)";
		return TV_JWT_INVALID;
	}
	if (exp - iat > (double)keys->max_lifetime) {
		claims->reason = "lifetime (exp - iat) over BACKUP_API_MAX_TOKEN_LIFETIME";
		return TV_JWT_INVALID;
	}
	if (keys->issuer != NULL &&
	    (!bson_iter_init_find(&it, payload, "iss") || !iter_is_string(&it, keys->issuer))) {
		claims->reason = "wrong issuer";
		return TV_JWT_INVALID;
	}
	if (keys->audience != NULL && !claim_has(payload, "aud", keys->audience)) {
		claims->reason = "wrong audience";
		return TV_JWT_INVALID;
	}
	if (!claim_has(payload, "role", keys->admin_role) && !claim_has(payload, "roles", keys->admin_role) &&
	    !claim_has(payload, NET_ROLE_CLAIM, keys->admin_role)) {
		claims->reason = "not an admin";
		return TV_JWT_FORBIDDEN;
	}
	claims->reason = NULL;
	return TV_JWT_OK;
}

enum tv_jwt_result
tv_jwt_verify(const struct tv_jwt_keys *keys, const char *token, size_t len, time_t now,
    struct tv_jwt_claims *claims)
{
	const char *d1, *d2;
	bson_t *payload;
	enum tv_jwt_result result;

	claims->subject[0] = '\0';
	claims->reason = "malformed token";
	if (len == 0 || len > TV_JWT_MAX_TOKEN)
		return TV_JWT_INVALID;
	if ((d1 = memchr(token, '.', len)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', len - (size_t)(d1 - token) - 1)) == NULL ||
	    memchr(d2 + 1, '.', len - (size_t)(d2 - token) - 1) != NULL)
		return TV_JWT_INVALID;
	if (!signature_ok(keys, token, (size_t)(d1 - token), (size_t)(d2 - token), len, claims))
		return TV_JWT_INVALID;
	if ((payload = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1))) == NULL) {
		claims->reason = "malformed payload";
		return TV_JWT_INVALID;
	}
	result = claims_ok(keys, payload, now, claims);
	bson_destroy(payload);
	return result;
}

/* Reads a whole small secret file its owner's alone; returns its length, or -1 after logging why and setting *status. */
static long
read_secret_file(const char *var, const char *path, unsigned char *buf, size_t size, int *status)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	*status = EX_USAGE;
	if (f == NULL) {
		tv_error("%s: cannot read %s: %s", var, path, strerror(errno));
		return -1;
	}
	if ((*status = tv_check_private(fileno(f), var, path)) != 0) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, size, f);
	if (ferror(f) || n == size) {
		tv_error("%s: %s: %s", var, path, ferror(f) ? "read error" : "file too large");
		*status = EX_USAGE;
		fclose(f);
		return -1;
	}
	fclose(f);
	return (long)n;
}

int
tv_jwt_load_secret(struct tv_jwt_keys *keys, const char *path, int allow_weak)
{
	unsigned char *buf = malloc(MAX_FILE);
	long n;
	int status;

	if (buf == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	if ((n = read_secret_file("BACKUP_API_JWT_SECRET_FILE", path, buf, MAX_FILE, &status)) < 0) {
		free(buf);
		return status;
	}
	/* `echo secret > file` adds one newline that is not part of the secret; anything else is. */
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n == 0) {
		tv_error("BACKUP_API_JWT_SECRET_FILE: %s is empty", path);
		free(buf);
		return EX_USAGE;
	}
	/* A short secret falls to an offline search from any one token it signed. */
	if (n < TV_JWT_MIN_SECRET && !allow_weak) {
		tv_error("BACKUP_API_JWT_SECRET_FILE: %s holds %ld bytes, but an HS256 secret needs at least %d "
		    "(RFC 7518 3.2: as many bits as the hash); set BACKUP_API_ALLOW_WEAK_SECRET=1 to accept it anyway",
		    path, n, TV_JWT_MIN_SECRET);
		free(buf);
		return EX_USAGE;
	}
	if (n < TV_JWT_MIN_SECRET)
		tv_warn("BACKUP_API_JWT_SECRET_FILE: %s holds %ld bytes, fewer than the %d an HS256 secret needs: "
		    "accepted because BACKUP_API_ALLOW_WEAK_SECRET=1; anyone holding one token can search for it",
		    path, n, TV_JWT_MIN_SECRET);
	keys->secret = buf;
	keys->secret_len = (size_t)n;
	return 0;
}

/* Returns 1 if an EC key is on P-256, the only curve ES256 allows. */
static int
is_p256(EVP_PKEY *key)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	char name[64];

	return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL) == 1 &&
	    strcmp(name, "prime256v1") == 0;
#else
	const EC_KEY *ec = EVP_PKEY_get0_EC_KEY(key);

	return ec != NULL && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1;
#endif
}

int
tv_jwt_load_public_key(struct tv_jwt_keys *keys, const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key;
	X509 *cert;

	if (f == NULL) {
		tv_error("BACKUP_API_JWT_PUBLIC_KEY_FILE: cannot read %s: %s", path, strerror(errno));
		return EX_USAGE;
	}
	if ((key = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL) {
		rewind(f);
		if ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			key = X509_get_pubkey(cert);
			X509_free(cert);
		}
	}
	fclose(f);
	if (key == NULL) {
		tv_error("BACKUP_API_JWT_PUBLIC_KEY_FILE: %s holds no PEM public key or certificate", path);
		return EX_USAGE;
	}
	if (!(EVP_PKEY_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_bits(key) >= 2048) &&
	    !(EVP_PKEY_base_id(key) == EVP_PKEY_EC && is_p256(key))) {
		tv_error("BACKUP_API_JWT_PUBLIC_KEY_FILE: %s: need an RSA key of 2048 bits or more (RS256) or a P-256 key (ES256)", path);
		EVP_PKEY_free(key);
		return EX_USAGE;
	}
	keys->public_key = key;
	return 0;
}

void
tv_jwt_keys_free(struct tv_jwt_keys *keys)
{
	if (keys->secret != NULL)
		OPENSSL_cleanse(keys->secret, keys->secret_len);
	free(keys->secret);
	EVP_PKEY_free(keys->public_key);
	keys->secret = NULL;
	keys->public_key = NULL;
}
