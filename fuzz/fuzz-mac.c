/*
 * fuzz-mac: a manifest.json.mac from the store, as tv-crypt --check-mac reads
 * it beside a manifest (the MAC file's JSON, its hex, its name and key id).
 * Only a MAC made for this manifest, under this name, with one of the keys,
 * may check; anything else is 65 or 77, never a crash or another status.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypt.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The manifest the MAC is checked against, and the name it is stored under. */
static const char manifest[] = "{\"id\": \"fuzz\"}\n";
static const char name[] = "backups/2024-01-15/manifest.json";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The seeds in corpus/mac were made with the first key (32 bytes of 'k'). */
	unsigned char raw[TV_CRYPT_KEY_LEN];
	struct tv_crypt_keys keys = { .n = 2 };
	char path[64];
	int mac = fuzz_fd(data, size), in = fuzz_fd((const uint8_t *)manifest, sizeof(manifest) - 1), status;

	memset(raw, 'k', sizeof(raw));
	tv_crypt_key_set(&keys.key[0], raw);
	memset(raw, 'o', sizeof(raw));
	tv_crypt_key_set(&keys.key[1], raw);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mac);
	status = tv_crypt_mac_check(&keys, name, in, path);
	if (status != 0 && status != 65 && status != 77)
		abort();
	close(mac);
	close(in);
	return 0;
}
