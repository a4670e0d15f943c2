/* crypt.h: tv-crypt's format, AES-256-GCM in authenticated chunks, streamed between file descriptors. */
#ifndef TV_CRYPT_H
#define TV_CRYPT_H

#include <stdint.h>

/*
 * A file is a header, then chunks:
 *
 *   header  "TVCRYPT" | version | chunk size (u32 BE) | key id (8) | file nonce (12)
 *           version '2' only: name length (u16 BE) | name
 *   chunk   ciphertext (chunk size bytes; fewer for the final chunk) | GCM tag (16)
 *
 * The key id is the first 8 bytes of SHA-256(key); the file nonce is random.
 * Chunk i is sealed with nonce = file nonce XOR i (big-endian, in the last
 * 8 bytes) and additional data = header | i (u64 BE) | final (1 byte).  The
 * final chunk is the only one shorter than the chunk size (empty when the
 * plaintext fills whole chunks), so a missing end, a reordered, repeated or
 * dropped chunk, a chunk from another file and any flipped bit all fail
 * authentication, and no chunk's plaintext is written before its tag checks.
 *
 * Version '2' binds the file to a name: the blob name it is stored under,
 * relative to its container (backups/2024-01-15/tralivali_users.bson.gz.enc).
 * The name is in the header, so every chunk's tag covers it: a file moved to
 * another name in the store is refused, while a copy under the same name in
 * another store or container stays valid.  Version '1' (32-byte header, bound
 * to no name) is what tv-crypt wrote before, and what it writes without --bind.
 */

#define TV_CRYPT_KEY_LEN	32
#define TV_CRYPT_KEY_ID_LEN	8
#define TV_CRYPT_NONCE_LEN	12
#define TV_CRYPT_TAG_LEN	16
#define TV_CRYPT_HEADER_LEN	32
/* Longest name a file is bound to: Azure's longest blob name. */
#define TV_CRYPT_NAME_MAX	1024
/* The longest header: version 2 with the longest name. */
#define TV_CRYPT_HEADER_MAX	(TV_CRYPT_HEADER_LEN + 2 + TV_CRYPT_NAME_MAX)
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
	int		format;		/* 1, or 2 for a bound file */
	char		bound[TV_CRYPT_NAME_MAX + 1];	/* the name a format 2 file is bound to */
};

/* What a decryption accepts of a file's binding. */
struct tv_crypt_place {
	const char	*bind;		/* the name a bound file must be bound to, or NULL for any */
	int		 format;	/* 0 for either format, or the only one (1 or 2) accepted */
};

/* Loads every key file BACKUP_ENCRYPTION_KEY_FILE names; returns 0, or 64/77 after logging why. */
int tv_crypt_keys_load(struct tv_crypt_keys *ks);
/* Erases the keys from memory. */
void tv_crypt_keys_wipe(struct tv_crypt_keys *ks);
/* Sets a key from 32 raw bytes and derives its id. */
void tv_crypt_key_set(struct tv_crypt_key *k, const unsigned char raw[TV_CRYPT_KEY_LEN]);
/*
 * Finds the key of id among the keys (*used, its index); returns 0, or 77 after
 * logging that file name was made ("encrypted", "authenticated") with another.
 */
int tv_crypt_key_find(const struct tv_crypt_keys *ks, const unsigned char id[TV_CRYPT_KEY_ID_LEN], const char *name,
    const char *made, size_t *used);
/* Writes a key id as 16 lower-case hex digits and a NUL. */
void tv_crypt_key_id_hex(const unsigned char id[TV_CRYPT_KEY_ID_LEN], char out[2 * TV_CRYPT_KEY_ID_LEN + 1]);

/*
 * Encrypts in to out with key k, bound to name bind (format 2), or to no name
 * when bind is NULL (format 1); returns 0, or 64 for a name that cannot be
 * bound (empty, too long), 74 (I/O) or 70 (OpenSSL) after logging why.
 */
int tv_crypt_encrypt(const struct tv_crypt_key *k, const char *bind, int in, int out, struct tv_crypt_counts *c);
/*
 * Decrypts in (named name in messages) to out with whichever of the keys made
 * it; returns 0, 65 for data that is not a complete, authentic tv-crypt file
 * or not one place accepts (bound to another name, another format; NULL
 * accepts any), 77 for a file none of the keys made, or 74/70.  *used is the
 * key's index.
 */
int tv_crypt_decrypt(const struct tv_crypt_keys *ks, int in, const char *name, const struct tv_crypt_place *place,
    int out, struct tv_crypt_counts *c, size_t *used);

/*
 * A manifest MAC authenticates a file (a backup's manifest.json) and the name
 * it is stored under with the key: HMAC-SHA-256 over name | NUL | content,
 * under a key derived from the encryption key by HKDF-SHA-256 (info
 * TV_CRYPT_MAC_INFO), never the encryption key itself.  It is stored beside
 * the file as one line of JSON:
 *
 *   {"format":1,"name":"backups/2024-01-15/manifest.json","keyId":"16 hex","hmacSha256":"64 hex"}
 */
#define TV_CRYPT_MAC_INFO	"tralivali-backup manifest MAC 1"

/* Writes the MAC of in (its name bind) with key k to out; returns 0, or 64/74/70 after logging why. */
int tv_crypt_mac_write(const struct tv_crypt_key *k, const char *bind, int in, int out);
/*
 * Checks in (its name bind) against the MAC in file mac_path with whichever of
 * the keys made it; returns 0, 65 for a MAC that does not match (or is not a
 * MAC, or names another file), 77 for a key not listed, 66 for no such file,
 * or 74/70, after logging why.
 */
int tv_crypt_mac_check(const struct tv_crypt_keys *ks, const char *bind, int in, const char *mac_path);

#endif
