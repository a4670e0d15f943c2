/* cryptmac.c: the manifest MAC, HMAC-SHA-256 under a key derived from the encryption key (crypt.h). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bson/bson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "crypt.h"
#include "io.h"
#include "log.h"

#define MAC_LEN		32
/* A MAC file is one short line; anything much longer is not one. */
#define MAC_FILE_MAX	(TV_CRYPT_NAME_MAX + 512)

/* Derives the MAC key from the encryption key: the encryption key itself never signs anything else. */
static int
mac_key(const struct tv_crypt_key *k, unsigned char out[MAC_LEN])
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = MAC_LEN;
	int ok;

	ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, k->key, TV_CRYPT_KEY_LEN) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, (const unsigned char *)TV_CRYPT_MAC_INFO,
	    (int)strlen(TV_CRYPT_MAC_INFO)) == 1 &&
	    EVP_PKEY_derive(ctx, out, &len) == 1 && len == MAC_LEN;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* Computes the MAC of name | NUL | the content of in; returns 0, or 74/70 after logging why. */
static int
compute(const struct tv_crypt_key *k, const char *bind, int in, unsigned char mac[MAC_LEN])
{
	unsigned char key[MAC_LEN], buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY *pkey = NULL;
	size_t len = MAC_LEN;
	ssize_t n;
	int status = EX_SOFTWARE;

	if (mac_key(k, key) != 0 ||
	    (pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_HMAC, NULL, key, MAC_LEN)) == NULL ||
	    md == NULL || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSignUpdate(md, bind, strlen(bind) + 1) != 1)
		goto out;
	while ((n = tv_read_full(in, buf, sizeof(buf))) > 0)
		if (EVP_DigestSignUpdate(md, buf, (size_t)n) != 1)
			goto out;
	if (n == -1) {
		tv_error("%s: read: %s", bind, strerror(errno));
		status = EX_IOERR;
		goto out;
	}
	if (EVP_DigestSignFinal(md, mac, &len) == 1 && len == MAC_LEN)
		status = 0;
out:
	if (status == EX_SOFTWARE)
		tv_error("OpenSSL cannot compute HMAC-SHA-256");
	OPENSSL_cleanse(key, sizeof(key));
	EVP_PKEY_free(pkey);
	EVP_MD_CTX_free(md);
	return status;
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Decodes exactly n bytes of lower-case hex; returns 0, or -1 for anything else. */
static int
unhex(const char *in, unsigned char *out, size_t n)
{
	if (strlen(in) != 2 * n || strspn(in, "0123456789abcdef") != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned hi = (unsigned)(in[2 * i] <= '9' ? in[2 * i] - '0' : in[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(in[2 * i + 1] <= '9' ? in[2 * i + 1] - '0' : in[2 * i + 1] - 'a' + 10);

		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
tv_crypt_mac_write(const struct tv_crypt_key *k, const char *bind, int in, int out)
{
	unsigned char mac[MAC_LEN];
	char mac_hex[2 * MAC_LEN + 1], id[2 * TV_CRYPT_KEY_ID_LEN + 1], *line;
	bson_t doc = BSON_INITIALIZER;
	size_t len;
	int status;

	if (*bind == '\0' || strlen(bind) > TV_CRYPT_NAME_MAX) {
		tv_error("--bind: a name of 1 to %d bytes", TV_CRYPT_NAME_MAX);
		return EX_USAGE;
	}
	if ((status = compute(k, bind, in, mac)) != 0)
		return status;
	hex(mac, MAC_LEN, mac_hex);
	tv_crypt_key_id_hex(k->id, id);
	BSON_APPEND_INT32(&doc, "format", 1);
	BSON_APPEND_UTF8(&doc, "name", bind);
	BSON_APPEND_UTF8(&doc, "keyId", id);
	BSON_APPEND_UTF8(&doc, "hmacSha256", mac_hex);
	line = bson_as_relaxed_extended_json(&doc, &len);
	bson_destroy(&doc);
	status = 0;
	if (line == NULL || tv_write_all(out, line, len) == -1 || tv_write_all(out, "\n", 1) == -1) {
		tv_error("write: %s", line == NULL ? "out of memory" : strerror(errno));
		status = EX_IOERR;
	}
	bson_free(line);
	return status;
}

/* Reads the MAC file at path into a document; returns 0, or 66/74/65 after logging why. */
static int
read_mac_file(const char *path, bson_t **doc)
{
	char buf[MAC_FILE_MAX + 1];
	bson_error_t error;
	ssize_t n;
	int fd, err;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err = errno;
		tv_error("%s: %s", path, strerror(err));
		return err == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	n = tv_read_full(fd, buf, sizeof(buf) - 1);
	err = errno;
	close(fd);
	if (n == -1) {
		tv_error("%s: read: %s", path, strerror(err));
		return EX_IOERR;
	}
	buf[n] = '\0';
	if (n == MAC_FILE_MAX || memchr(buf, '\0', (size_t)n) != NULL ||
	    (*doc = bson_new_from_json((const uint8_t *)buf, n, &error)) == NULL) {
		tv_error("%s: not a manifest MAC (one line of JSON)", path);
		return EX_DATAERR;
	}
	return 0;
}

/* Returns the string field key of doc, or NULL if it has none. */
static const char *
string_field(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

int
tv_crypt_mac_check(const struct tv_crypt_keys *ks, const char *bind, int in, const char *mac_path)
{
	unsigned char want[MAC_LEN], have[MAC_LEN], id[TV_CRYPT_KEY_ID_LEN];
	const char *name, *key_id, *mac_hex;
	bson_t *doc = NULL;
	bson_iter_t it;
	size_t used;
	int status;

	if ((status = read_mac_file(mac_path, &doc)) != 0)
		return status;
	name = string_field(doc, "name");
	key_id = string_field(doc, "keyId");
	mac_hex = string_field(doc, "hmacSha256");
	status = EX_DATAERR;
	if (!bson_iter_init_find(&it, doc, "format") || !BSON_ITER_HOLDS_INT32(&it) || bson_iter_int32(&it) != 1 ||
	    name == NULL || key_id == NULL || unhex(key_id, id, sizeof(id)) != 0 ||
	    mac_hex == NULL || unhex(mac_hex, want, sizeof(want)) != 0)
		tv_error("%s: not a manifest MAC of format 1 (format, name, keyId, hmacSha256)", mac_path);
	else if (strcmp(name, bind) != 0)
		tv_error("%s: the MAC of \"%s\", not of \"%s\": copied from another place", bind, name, bind);
	else if ((status = tv_crypt_key_find(ks, id, bind, "authenticated", &used)) != 0)
		;
	else if ((status = compute(&ks->key[used], bind, in, have)) != 0)
		;
	else if (CRYPTO_memcmp(want, have, MAC_LEN) != 0) {
		tv_error("%s: fails authentication against its MAC: it was changed or replaced in the store", bind);
		status = EX_DATAERR;
	}
	OPENSSL_cleanse(have, sizeof(have));
	bson_destroy(doc);
	return status;
}
