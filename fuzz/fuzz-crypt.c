/*
 * fuzz-crypt: tv-crypt -d --bind on hostile input (headers of both formats,
 * bound names, chunk framing, tags), and the input as plaintext through a
 * bound round trip that must give it back, then under another name and with
 * one bit flipped, which must both be refused without writing anything.
 */

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The name the round trip binds to, and the place the seeds in corpus/crypt are read at. */
static const struct tv_crypt_place place = { "backups/2024-01-15/tralivali_users.bson.gz.enc", 0 };
static const struct tv_crypt_place elsewhere = { "backups/2024-01-16/tralivali_users.bson.gz.enc", 0 };

/* Reads a memory file whole; the caller frees it. */
static unsigned char *
slurp(int fd, size_t *len)
{
	off_t end = lseek(fd, 0, SEEK_END);
	unsigned char *buf = malloc((size_t)end + 1);

	if (end < 0 || buf == NULL || pread(fd, buf, (size_t)end, 0) != end)
		abort();
	*len = (size_t)end;
	return buf;
}

static int
memory_file(void)
{
	int fd = memfd_create("fuzz-output", MFD_CLOEXEC);

	if (fd == -1)
		abort();
	return fd;
}

static void
round_trip(const struct tv_crypt_keys *keys, const uint8_t *data, size_t size)
{
	int in = fuzz_fd(data, size), enc = memory_file(), dec = memory_file(), status;
	struct tv_crypt_counts c;
	unsigned char *sealed, *opened;
	size_t sealed_len, opened_len, at, used;

	/* Sealed with the older key, which must be found by its id. */
	if (tv_crypt_encrypt(&keys->key[1], place.bind, in, enc, &c) != 0 || lseek(enc, 0, SEEK_SET) != 0 ||
	    tv_crypt_decrypt(keys, enc, "fuzz", &place, dec, &c, &used) != 0 || used != 1 || c.format != 2)
		abort();
	opened = slurp(dec, &opened_len);
	if (opened_len != size || (size > 0 && memcmp(opened, data, size) != 0))
		abort();
	free(opened);

	/* Under another name it is refused, before a byte is written. */
	if (lseek(enc, 0, SEEK_SET) != 0 || ftruncate(dec, 0) != 0 || lseek(dec, 0, SEEK_SET) != 0 ||
	    tv_crypt_decrypt(keys, enc, "fuzz", &elsewhere, dec, &c, &used) != 65 || lseek(dec, 0, SEEK_END) != 0)
		abort();

	/* The input picks the bit; the key id's bytes (12..19) make it another key's file. */
	sealed = slurp(enc, &sealed_len);
	at = size > 0 ? ((size_t)data[0] * 257 + data[size - 1]) % sealed_len : 0;
	sealed[at] ^= (unsigned char)(1u << (size % 8));
	close(in);
	in = fuzz_fd(sealed, sealed_len);
	if (ftruncate(dec, 0) != 0 || lseek(dec, 0, SEEK_SET) != 0)
		abort();
	status = tv_crypt_decrypt(keys, in, "fuzz", &place, dec, &c, &used);
	if (status != (at >= 12 && at < 20 ? 77 : 65) || lseek(dec, 0, SEEK_END) != 0)
		abort();
	free(sealed);
	close(in);
	close(enc);
	close(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The seeds in corpus/crypt were made with the first key (32 bytes of 'k'). */
	unsigned char raw[TV_CRYPT_KEY_LEN];
	struct tv_crypt_keys keys = { .n = 2 };
	struct tv_crypt_counts c;
	size_t used;
	int fd = fuzz_fd(data, size), status;

	memset(raw, 'k', sizeof(raw));
	tv_crypt_key_set(&keys.key[0], raw);
	memset(raw, 'o', sizeof(raw));
	tv_crypt_key_set(&keys.key[1], raw);
	status = tv_crypt_decrypt(&keys, fd, "fuzz", &place, fuzz_null_fd(), &c, &used);
	/* Only these answers exist for data in memory; and nothing comes out of nothing. */
	if (status != 0 && status != 65 && status != 77)
		abort();
	if (c.bytes_out > size || (status == 0 && c.bytes_in != size))
		abort();
	close(fd);
	round_trip(&keys, data, size);
	return 0;
}
