/* crypt.c: tv-crypt's chunked AES-256-GCM over OpenSSL's EVP interface. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypt.h"
#include "io.h"
#include "log.h"

#define KEY_VAR		"BACKUP_ENCRYPTION_KEY_FILE"
#define MAGIC		"TVCRYPT"
#define MAGIC_LEN	7
/* Format 1 is bound to no name; format 2 carries the name it is bound to in its header. */
#define UNBOUND_VERSION		'1'
#define BOUND_VERSION		'2'
/* Additional data of a chunk: the header, the chunk counter, the final flag. */
#define AAD_MAX		(TV_CRYPT_HEADER_MAX + 8 + 1)

/* One file's parameters, as its header states them. */
struct header {
	unsigned char	raw[TV_CRYPT_HEADER_MAX];
	size_t		len;		/* of raw: 32, or 34 and the name's for format 2 */
	uint32_t	chunk;
	const unsigned char *key_id;
	const unsigned char *nonce;
};

static void
put_be(unsigned char *p, uint64_t v, int len)
{
	for (int i = len - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint32_t
get_be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void
tv_crypt_key_set(struct tv_crypt_key *k, const unsigned char raw[TV_CRYPT_KEY_LEN])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len;

	memcpy(k->key, raw, TV_CRYPT_KEY_LEN);
	EVP_Digest(raw, TV_CRYPT_KEY_LEN, digest, &len, EVP_sha256(), NULL);
	memcpy(k->id, digest, TV_CRYPT_KEY_ID_LEN);
}

void
tv_crypt_keys_wipe(struct tv_crypt_keys *ks)
{
	OPENSSL_cleanse(ks, sizeof(*ks));
}

void
tv_crypt_key_id_hex(const unsigned char id[TV_CRYPT_KEY_ID_LEN], char out[2 * TV_CRYPT_KEY_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < TV_CRYPT_KEY_ID_LEN; i++) {
		out[2 * i] = hex[id[i] >> 4];
		out[2 * i + 1] = hex[id[i] & 15];
	}
	out[2 * TV_CRYPT_KEY_ID_LEN] = '\0';
}

/* Loads one key file; returns 0, or 64/77 after logging why. */
static int
load_key_file(const char *path, struct tv_crypt_key *k)
{
	/* One byte more than a key, to tell a long file from a key. */
	unsigned char raw[TV_CRYPT_KEY_LEN + 1];
	ssize_t n;
	int fd, err, status;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		err = errno;
		tv_error("%s: cannot read %s: %s", KEY_VAR, path, strerror(err));
		return err == EACCES || err == EPERM ? EX_NOPERM : EX_USAGE;
	}
	if ((status = tv_check_private(fd, KEY_VAR, path)) != 0) {
		close(fd);
		return status;
	}
	if ((n = tv_read_full(fd, raw, sizeof(raw))) == -1) {
		err = errno;
		tv_error("%s: cannot read %s: %s", KEY_VAR, path, strerror(err));
		status = err == EACCES || err == EPERM ? EX_NOPERM : EX_USAGE;
	} else if (n != TV_CRYPT_KEY_LEN) {
		tv_error("%s: %s holds %s%zd bytes, but a key is exactly %d random bytes "
		    "(head -c %d /dev/urandom > key)", KEY_VAR, path, n > TV_CRYPT_KEY_LEN ? "more than " : "",
		    n > TV_CRYPT_KEY_LEN ? (ssize_t)TV_CRYPT_KEY_LEN : n, TV_CRYPT_KEY_LEN, TV_CRYPT_KEY_LEN);
		status = EX_USAGE;
	} else
		tv_crypt_key_set(k, raw);
	close(fd);
	OPENSSL_cleanse(raw, sizeof(raw));
	return status;
}

int
tv_crypt_keys_load(struct tv_crypt_keys *ks)
{
	const char *var = getenv(KEY_VAR);
	char *list, *path, *next;
	int status = 0;

	ks->n = 0;
	if (var == NULL || *var == '\0') {
		tv_error("%s is not set: it must name a file of %d random bytes", KEY_VAR, TV_CRYPT_KEY_LEN);
		return EX_USAGE;
	}
	if ((list = strdup(var)) == NULL) {
		tv_error("out of memory");
		return EX_OSERR;
	}
	for (path = list; status == 0 && path != NULL; path = next) {
		if ((next = strchr(path, ':')) != NULL)
			*next++ = '\0';
		if (*path == '\0') {
			tv_error("%s: an empty file name in \"%s\" (current key file, then older ones, "
			    "separated by colons)", KEY_VAR, var);
			status = EX_USAGE;
		} else if (ks->n == TV_CRYPT_MAX_KEYS) {
			tv_error("%s: more than %d key files", KEY_VAR, TV_CRYPT_MAX_KEYS);
			status = EX_USAGE;
		} else
			status = load_key_file(path, &ks->key[ks->n++]);
	}
	free(list);
	if (status != 0)
		tv_crypt_keys_wipe(ks);
	return status;
}

/* Fills the additional data and nonce that bind chunk i (and whether it is the last) to its file. */
static void
chunk_binding(const struct header *h, uint64_t i, int final, unsigned char aad[AAD_MAX],
    unsigned char nonce[TV_CRYPT_NONCE_LEN])
{
	unsigned char ctr[8];

	memcpy(aad, h->raw, h->len);
	put_be(aad + h->len, i, 8);
	aad[h->len + 8] = (unsigned char)final;
	put_be(ctr, i, 8);
	memcpy(nonce, h->nonce, TV_CRYPT_NONCE_LEN);
	for (int j = 0; j < 8; j++)
		nonce[TV_CRYPT_NONCE_LEN - 8 + j] ^= ctr[j];
}

/* Encrypts buf[0..len) in place and appends its tag; returns 0 or -1. */
static int
seal(EVP_CIPHER_CTX *ctx, const struct header *h, uint64_t i, int final, unsigned char *buf, size_t len)
{
	unsigned char aad[AAD_MAX], nonce[TV_CRYPT_NONCE_LEN];
	int n, m;

	chunk_binding(h, i, final, aad, nonce);
	if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)h->len + 9) != 1 ||
	    EVP_EncryptUpdate(ctx, buf, &n, buf, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, buf + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TV_CRYPT_TAG_LEN, buf + len) != 1)
		return -1;
	return 0;
}

/* Decrypts a chunk and its tag (len bytes in all) in place; returns 1 if it is authentic, else 0. */
static int
open_chunk(EVP_CIPHER_CTX *ctx, const struct header *h, uint64_t i, int final, unsigned char *buf, size_t len)
{
	unsigned char aad[AAD_MAX], nonce[TV_CRYPT_NONCE_LEN];
	size_t clen = len - TV_CRYPT_TAG_LEN;
	int n, m;

	chunk_binding(h, i, final, aad, nonce);
	return EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)h->len + 9) == 1 &&
	    EVP_DecryptUpdate(ctx, buf, &n, buf, (int)clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TV_CRYPT_TAG_LEN, buf + clen) == 1 &&
	    EVP_DecryptFinal_ex(ctx, buf + n, &m) == 1;
}

/* Sets up ctx for the key in one direction; returns 0 or 70 after logging. */
static int
cipher_init(EVP_CIPHER_CTX **ctx, const struct tv_crypt_key *k, int encrypt)
{
	if ((*ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_CipherInit_ex(*ctx, EVP_aes_256_gcm(), NULL, k->key, NULL, encrypt) != 1) {
		tv_error("OpenSSL cannot set up AES-256-GCM");
		return EX_SOFTWARE;
	}
	return 0;
}

/* Returns 1 if a name can be bound: not empty, not too long, no NUL or line break, else 0 after logging why. */
static int
bindable(const char *bind)
{
	size_t len = strlen(bind);

	if (len == 0 || len > TV_CRYPT_NAME_MAX || strpbrk(bind, "\n\r") != NULL) {
		tv_error("--bind: a name of 1 to %d bytes on one line, not \"%.64s%s\"", TV_CRYPT_NAME_MAX,
		    bind, len > 64 ? "..." : "");
		return 0;
	}
	return 1;
}

/* Appends to a format 2 header the name its file is bound to: its length, then its bytes. */
static void
put_bound_name(struct header *h, const char *bind)
{
	size_t len = strlen(bind);

	put_be(h->raw + TV_CRYPT_HEADER_LEN, len, 2);
	memcpy(h->raw + TV_CRYPT_HEADER_LEN + 2, bind, len);
	h->len = TV_CRYPT_HEADER_LEN + 2 + len;
}

int
tv_crypt_encrypt(const struct tv_crypt_key *k, const char *bind, int in, int out, struct tv_crypt_counts *c)
{
	struct header h = { .chunk = TV_CRYPT_CHUNK, .len = TV_CRYPT_HEADER_LEN };
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	ssize_t n;
	int final, status;

	memset(c, 0, sizeof(*c));
	if (bind != NULL && !bindable(bind))
		return EX_USAGE;
	memcpy(h.raw, MAGIC, MAGIC_LEN);
	h.raw[MAGIC_LEN] = bind != NULL ? BOUND_VERSION : UNBOUND_VERSION;
	c->format = bind != NULL ? 2 : 1;
	if (bind != NULL) {
		put_bound_name(&h, bind);
		snprintf(c->bound, sizeof(c->bound), "%s", bind);
	}
	put_be(h.raw + 8, h.chunk, 4);
	memcpy(h.raw + 12, k->id, TV_CRYPT_KEY_ID_LEN);
	h.nonce = h.raw + 12 + TV_CRYPT_KEY_ID_LEN;
	if (RAND_bytes(h.raw + 12 + TV_CRYPT_KEY_ID_LEN, TV_CRYPT_NONCE_LEN) != 1) {
		tv_error("OpenSSL cannot make a random nonce");
		return EX_SOFTWARE;
	}
	if ((status = cipher_init(&ctx, k, 1)) != 0)
		goto out;
	status = EX_IOERR;
	if ((buf = malloc(TV_CRYPT_CHUNK + TV_CRYPT_TAG_LEN)) == NULL) {
		tv_error("out of memory");
		goto out;
	}
	if (tv_write_all(out, h.raw, h.len) == -1)
		goto write_error;
	c->bytes_out = h.len;
	do {
		if ((n = tv_read_full(in, buf, TV_CRYPT_CHUNK)) == -1) {
			tv_error("read: %s", strerror(errno));
			goto out;
		}
		/* A whole chunk is never the last: whole-chunk input ends with an empty chunk. */
		final = n < TV_CRYPT_CHUNK;
		if (seal(ctx, &h, c->chunks, final, buf, (size_t)n) == -1) {
			tv_error("OpenSSL cannot encrypt chunk %" PRIu64, c->chunks);
			status = EX_SOFTWARE;
			goto out;
		}
		if (tv_write_all(out, buf, (size_t)n + TV_CRYPT_TAG_LEN) == -1)
			goto write_error;
		c->bytes_in += (uint64_t)n;
		c->bytes_out += (uint64_t)n + TV_CRYPT_TAG_LEN;
		c->chunks++;
	} while (!final);
	status = 0;
	goto out;
write_error:
	tv_error("write: %s", strerror(errno));
out:
	free(buf);
	EVP_CIPHER_CTX_free(ctx);
	return status;
}

/* Names the keys' ids for a message: "0f9c143cc3b082e2, 3227b81638b548e1". */
static void
key_ids(const struct tv_crypt_keys *ks, char *out, size_t cap)
{
	char id[2 * TV_CRYPT_KEY_ID_LEN + 1];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < ks->n && len < cap; i++) {
		tv_crypt_key_id_hex(ks->key[i].id, id);
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "", id);
	}
}

int
tv_crypt_key_find(const struct tv_crypt_keys *ks, const unsigned char id[TV_CRYPT_KEY_ID_LEN], const char *name,
    const char *made, size_t *used)
{
	char want[2 * TV_CRYPT_KEY_ID_LEN + 1], have[TV_CRYPT_MAX_KEYS * (2 * TV_CRYPT_KEY_ID_LEN + 2)];

	for (*used = 0; *used < ks->n; (*used)++)
		if (memcmp(id, ks->key[*used].id, TV_CRYPT_KEY_ID_LEN) == 0)
			return 0;
	tv_crypt_key_id_hex(id, want);
	key_ids(ks, have, sizeof(have));
	tv_error("%s: wrong key: the file was %s with key id %s, %s has %s",
	    name, made, want, KEY_VAR, have);
	return EX_NOPERM;
}

/* Reads the name a format 2 header binds its file to, after the fixed part; returns 0, or 65/74 after logging why. */
static int
read_bound_name(int in, const char *name, struct header *h)
{
	unsigned char *p = h->raw + TV_CRYPT_HEADER_LEN;
	size_t len;
	ssize_t n;

	if ((n = tv_read_full(in, p, 2)) == 2) {
		len = get_be16(p);
		if (len == 0 || len > TV_CRYPT_NAME_MAX) {
			tv_error("%s: bad header: a bound name of %zu bytes (1 to %d)", name, len, TV_CRYPT_NAME_MAX);
			return EX_DATAERR;
		}
		n = tv_read_full(in, p + 2, len);
		if (n == (ssize_t)len) {
			h->len = TV_CRYPT_HEADER_LEN + 2 + len;
			if (memchr(p + 2, '\0', len) == NULL)
				return 0;
			tv_error("%s: bad header: the bound name holds a NUL byte", name);
			return EX_DATAERR;
		}
	}
	if (n == -1) {
		tv_error("%s: read: %s", name, strerror(errno));
		return EX_IOERR;
	}
	tv_error("%s: truncated: the input ends inside the header's bound name", name);
	return EX_DATAERR;
}

/* Checks that a file's binding is one the place accepts; returns 0, or 65 after logging why. */
static int
check_place(const struct tv_crypt_place *place, const char *name, const struct tv_crypt_counts *c)
{
	if (place == NULL)
		return 0;
	if (place->format != 0 && c->format != place->format) {
		if (c->format == 2)
			tv_error("%s: a file bound to \"%s\" (format 2), where only a file bound to no name "
			    "(format 1, made before blobs were bound) is accepted: in a backup whose manifest "
			    "has no MAC, its MAC was removed", name, c->bound);
		else
			tv_error("%s: a file bound to no name (format 1), where only a file bound to its name "
			    "(format 2) is accepted", name);
		return EX_DATAERR;
	}
	if (place->bind != NULL && c->format == 2 && strcmp(place->bind, c->bound) != 0) {
		tv_error("%s: made for another place: it was encrypted as \"%s\", not \"%s\" "
		    "(moved or copied there in the store)", name, c->bound, place->bind);
		return EX_DATAERR;
	}
	return 0;
}

/*
 * Reads and checks the header, checks its binding against the place and finds
 * the key that made the file; returns 0, or 65/77/74 after logging why.
 */
static int
read_header(const struct tv_crypt_keys *ks, int in, const char *name, const struct tv_crypt_place *place,
    struct header *h, struct tv_crypt_counts *c, size_t *used)
{
	ssize_t n;
	int status;

	if ((n = tv_read_full(in, h->raw, TV_CRYPT_HEADER_LEN)) == -1) {
		tv_error("%s: read: %s", name, strerror(errno));
		return EX_IOERR;
	}
	if (n == 0) {
		tv_error("%s: empty input: not a tv-crypt file", name);
		return EX_DATAERR;
	}
	if (memcmp(h->raw, MAGIC, (size_t)n < MAGIC_LEN ? (size_t)n : MAGIC_LEN) != 0) {
		tv_error("%s: not a tv-crypt file (it does not start with \"%s\")", name, MAGIC);
		return EX_DATAERR;
	}
	if (n < TV_CRYPT_HEADER_LEN) {
		tv_error("%s: truncated: the input ends inside the %d-byte header, at byte offset %zd",
		    name, TV_CRYPT_HEADER_LEN, n);
		return EX_DATAERR;
	}
	if (h->raw[MAGIC_LEN] != UNBOUND_VERSION && h->raw[MAGIC_LEN] != BOUND_VERSION) {
		tv_error("%s: unsupported tv-crypt format version 0x%02x (this tv-crypt reads versions %c and %c)",
		    name, h->raw[MAGIC_LEN], UNBOUND_VERSION, BOUND_VERSION);
		return EX_DATAERR;
	}
	h->chunk = get_be32(h->raw + 8);
	if (h->chunk < TV_CRYPT_CHUNK_MIN || h->chunk > TV_CRYPT_CHUNK_MAX) {
		tv_error("%s: bad header: chunk size %" PRIu32 " is outside %d..%d",
		    name, h->chunk, TV_CRYPT_CHUNK_MIN, TV_CRYPT_CHUNK_MAX);
		return EX_DATAERR;
	}
	h->len = TV_CRYPT_HEADER_LEN;
	c->format = 1;
	if (h->raw[MAGIC_LEN] == BOUND_VERSION) {
		if ((status = read_bound_name(in, name, h)) != 0)
			return status;
		c->format = 2;
		memcpy(c->bound, h->raw + TV_CRYPT_HEADER_LEN + 2, h->len - TV_CRYPT_HEADER_LEN - 2);
		c->bound[h->len - TV_CRYPT_HEADER_LEN - 2] = '\0';
	}
	/* The name is authenticated only with the first chunk; a forged one fails there if not here. */
	if ((status = check_place(place, name, c)) != 0)
		return status;
	h->key_id = h->raw + 12;
	h->nonce = h->raw + 12 + TV_CRYPT_KEY_ID_LEN;
	return tv_crypt_key_find(ks, h->key_id, name, "encrypted", used);
}

int
tv_crypt_decrypt(const struct tv_crypt_keys *ks, int in, const char *name, const struct tv_crypt_place *place,
    int out, struct tv_crypt_counts *c, size_t *used)
{
	struct header h;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t frame;
	uint64_t offset;
	ssize_t n;
	int final, status;

	memset(c, 0, sizeof(*c));
	if ((status = read_header(ks, in, name, place, &h, c, used)) != 0)
		return status;
	c->bytes_in = offset = h.len;
	frame = (size_t)h.chunk + TV_CRYPT_TAG_LEN;
	if ((status = cipher_init(&ctx, &ks->key[*used], 0)) != 0)
		goto out;
	status = EX_IOERR;
	if ((buf = malloc(frame)) == NULL) {
		tv_error("out of memory");
		goto out;
	}
	do {
		if ((n = tv_read_full(in, buf, frame)) == -1) {
			tv_error("%s: read: %s", name, strerror(errno));
			goto out;
		}
		final = (size_t)n < frame;
		status = EX_DATAERR;
		if (n == 0) {
			tv_error("%s: truncated: the input ends after chunk %" PRIu64 " (byte offset %" PRIu64
			    ") without its final chunk", name, c->chunks, offset);
			goto out;
		}
		if (n < TV_CRYPT_TAG_LEN) {
			tv_error("%s: truncated: chunk %" PRIu64 " at byte offset %" PRIu64
			    " is %zd bytes, shorter than its tag", name, c->chunks + 1, offset, n);
			goto out;
		}
		/* Nothing of a chunk is written before its tag checks. */
		if (!open_chunk(ctx, &h, c->chunks, final, buf, (size_t)n)) {
			tv_error("%s: chunk %" PRIu64 " at byte offset %" PRIu64 " fails authentication: "
			    "the file is corrupt, truncated, reordered or tampered with", name, c->chunks + 1, offset);
			goto out;
		}
		status = EX_IOERR;
		if (tv_write_all(out, buf, (size_t)n - TV_CRYPT_TAG_LEN) == -1) {
			tv_error("write: %s", strerror(errno));
			goto out;
		}
		offset += (uint64_t)n;
		c->bytes_in += (uint64_t)n;
		c->bytes_out += (uint64_t)n - TV_CRYPT_TAG_LEN;
		c->chunks++;
	} while (!final);
	status = 0;
out:
	free(buf);
	EVP_CIPHER_CTX_free(ctx);
	return status;
}
