/*
 * fuzz-jwt: admin tokens as tv-api verifies them.  An input is either a whole token
 * (first byte 't') or a header and a payload separated by a newline, which the harness
 * encodes and signs with its HS256 secret, so that the JSON and claim checks behind the
 * signature are reached too.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-secret";

/* Appends the unpadded base64url of in to out; returns the new end. */
static char *
b64url(char *out, const unsigned char *in, size_t n)
{
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	for (int i = 0; i < len; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	return out + len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_jwt_keys keys = { .secret = (unsigned char *)secret, .secret_len = sizeof(secret) - 1,
	    .issuer = "tralivali", .audience = "tralivali-backup", .admin_role = "admin",
	    .max_lifetime = TV_JWT_MAX_LIFETIME };
	struct tv_jwt_claims claims;
	const uint8_t *nl;
	unsigned char mac[32];
	unsigned int maclen;
	char *token, *end;

	if (size > TV_JWT_MAX_TOKEN)
		return 0;
	if (size > 0 && data[0] == 't') {
		(void)tv_jwt_verify(&keys, (const char *)data + 1, size - 1, 1700000000, &claims);
		return 0;
	}
	if ((nl = memchr(data, '\n', size)) == NULL)
		return 0;
	if ((token = malloc(size * 2 + 128)) == NULL)
		abort();
	end = b64url(token, data, (size_t)(nl - data));
	*end++ = '.';
	end = b64url(end, nl + 1, size - (size_t)(nl - data) - 1);
	HMAC(EVP_sha256(), secret, sizeof(secret) - 1, (unsigned char *)token, (size_t)(end - token), mac, &maclen);
	*end++ = '.';
	end = b64url(end, mac, maclen);
	(void)tv_jwt_verify(&keys, token, (size_t)(end - token), 1700000000, &claims);
	free(token);
	return 0;
}
