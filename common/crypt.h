/* crypt.h: tv-crypt's format, AES-256-GCM in authenticated chunks, streamed between file descriptors. */
#ifndef TV_CRYPT_H
#define TV_CRYPT_H

#include <stdint.h>

/*
 * A file is a 32-byte header, then chunks:
 *
 *   header  "TVCRYPT" | version '1' | chunk size (u32 BE) | key id (8) | file nonce (12)
 *   chunk   ciphertext (chunk size bytes; fewer for the final chunk) | GCM tag (16)
 *
 * The key id is the first 8 bytes of SHA-256(key); the file nonce is random.
 * Chunk i is sealed with nonce = file nonce XOR i (big-endian, in the last
 * 8 bytes) and additional data = header | i (u64 BE) | final (1 byte).  The
 * final chunk is the only one shorter than the chunk size (empty when the
 * plaintext fills whole chunks), so a missing end, a reordered, repeated or
 * dropped chunk, a chunk from another file and any flipped bit all fail
 * authentication, and no chunk's plaintext is written before its tag checks.
 */

#define TV_CRYPT_KEY_LEN	32
#define TV_CRYPT_KEY_ID_LEN	8
#define TV_CRYPT_NONCE_LEN	12
#define TV_CRYPT_TAG_LEN	16
#define TV_CRYPT_HEADER_LEN	32
/* The chunk size written: large enough that tags and calls cost nothing, small enough to stream. */
#define TV_CRYPT_CHUNK		(1 << 20)
/* The chunk sizes a reader accepts, bounding its memory. */
#define TV_CRYPT_CHUNK_MIN	4096
#define TV_CRYPT_CHUNK_MAX	(16 << 20)

struct tv_crypt_key {
	unsigned char	key[TV_CRYPT_KEY_LEN];
	unsigned char	id[TV_CRYPT_KEY_ID_LEN];
};

/*
 * The keys BACKUP_ENCRYPTION_KEY_FILE names, "current[:older:...]": the
 * first encrypts; any of them decrypts the files it made, so that a restore
 * across a key rotation (an old backup, newer oplog slices) reads both.
 */
#define TV_CRYPT_MAX_KEYS	16
struct tv_crypt_keys {
	struct tv_crypt_key	key[TV_CRYPT_MAX_KEYS];
	size_t			n;
};

/* What a run moved, for --stats. */
struct tv_crypt_counts {
	uint64_t	bytes_in;
	uint64_t	bytes_out;
	uint64_t	chunks;
};

/* Loads every key file BACKUP_ENCRYPTION_KEY_FILE names; returns 0, or 64/77 after logging why. */
int tv_crypt_keys_load(struct tv_crypt_keys *ks);
/* Erases the keys from memory. */
void tv_crypt_keys_wipe(struct tv_crypt_keys *ks);
/* Sets a key from 32 raw bytes and derives its id. */
void tv_crypt_key_set(struct tv_crypt_key *k, const unsigned char raw[TV_CRYPT_KEY_LEN]);
/* Writes a key id as 16 lower-case hex digits and a NUL. */
void tv_crypt_key_id_hex(const unsigned char id[TV_CRYPT_KEY_ID_LEN], char out[2 * TV_CRYPT_KEY_ID_LEN + 1]);

/* Encrypts in to out with key k; returns 0, or 74 (I/O) or 70 (OpenSSL) after logging why. */
int tv_crypt_encrypt(const struct tv_crypt_key *k, int in, int out, struct tv_crypt_counts *c);
/*
 * Decrypts in (named name in messages) to out with whichever of the keys made
 * it; returns 0, 65 for data that is not a complete, authentic tv-crypt file,
 * 77 for a file none of the keys made, or 74/70.  *used is the key's index.
 */
int tv_crypt_decrypt(const struct tv_crypt_keys *ks, int in, const char *name, int out, struct tv_crypt_counts *c,
    size_t *used);

#endif
