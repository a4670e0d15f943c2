/* jwt.h: verifying the admin JSON Web Tokens tv-api accepts (HS256, RS256, ES256). */
#ifndef TV_JWT_H
#define TV_JWT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

/*
 * A token is accepted only when its signature verifies with the configured key
 * under the algorithm that key implies (a secret means HS256, an RSA key RS256,
 * a P-256 key ES256), it has not expired (exp is required), it is not used
 * before nbf, it was issued (iat, required) not in the future and at most
 * max_lifetime seconds before exp, issuer and audience match when configured,
 * header and payload are each one JSON object and nothing more, and one of its role
 * claims (role, roles, or the .NET role claim; a string or an array of them)
 * names the admin role.  "alg": "none" and every other algorithm are refused.
 */

/* Longest token accepted, in bytes; longer ones are refused unread. */
#define TV_JWT_MAX_TOKEN	8192
/* Seconds of clock skew allowed on exp, nbf and iat. */
#define TV_JWT_LEEWAY		60
/* Default longest exp - iat accepted, in seconds: a day. */
#define TV_JWT_MAX_LIFETIME	86400

/* What verifies tokens; unset members are NULL. */
struct tv_jwt_keys {
	unsigned char	*secret;	/* HS256 shared secret, its bytes as written */
	size_t		 secret_len;
	EVP_PKEY	*public_key;	/* RS256 (RSA) or ES256 (P-256) */
	const char	*issuer;	/* required "iss", if set */
	const char	*audience;	/* required in "aud", if set */
	const char	*admin_role;	/* the role that grants access */
	long		 max_lifetime;	/* longest exp - iat accepted, in seconds */
};

/* The outcome of a verification. */
enum tv_jwt_result {
	TV_JWT_OK,		/* valid and admin */
	TV_JWT_INVALID,		/* malformed, bad signature, expired, wrong issuer... (401) */
	TV_JWT_FORBIDDEN	/* valid, but without the admin role (403) */
};

/* What a verification learnt, for the request log; never the token itself. */
struct tv_jwt_claims {
	char		subject[65];	/* sub (or name), printable characters only, maybe empty */
	const char	*reason;	/* why the token was refused, a static string */
};

/* Verifies a compact-serialised token at time now; fills claims in every case. */
enum tv_jwt_result tv_jwt_verify(const struct tv_jwt_keys *keys, const char *token, size_t len,
    time_t now, struct tv_jwt_claims *claims);

/* Fewest bytes of an HS256 secret (RFC 7518 3.2: at least the hash's 256 bits). */
#define TV_JWT_MIN_SECRET	32

/*
 * Reads an HS256 secret file (one trailing newline dropped) into keys; returns 0,
 * or after logging why 77 if group or others may use the file, else 64.  A secret
 * shorter than TV_JWT_MIN_SECRET is refused, unless allow_weak, when it is used
 * with a warning.
 */
int tv_jwt_load_secret(struct tv_jwt_keys *keys, const char *path, int allow_weak);
/* Reads a PEM public key (or certificate) for RS256 or ES256 into keys; returns 0 or 64 after logging why. */
int tv_jwt_load_public_key(struct tv_jwt_keys *keys, const char *path);
/* Frees the secret and the key. */
void tv_jwt_keys_free(struct tv_jwt_keys *keys);

/* Decodes unpadded base64url strictly (no padding, no stray bits); returns the length or -1. */
long tv_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outsize);

#endif
