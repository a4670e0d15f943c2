/* test-jwt: base64url strictness, HS256 verification and tv-api's request parsing. */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/hmac.h>

#include "api.h"
#include "jwt.h"
#include "tap.h"

static void
b64url(const unsigned char *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);

		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = a[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
}

/* Builds header.payload.signature with HMAC-SHA256 over the given key. */
static char *
hs256(const char *header, const char *payload, const char *key)
{
	char *tok = malloc(4096), sig[64];
	unsigned char mac[32];
	unsigned int len;

	b64url((const unsigned char *)header, strlen(header), tok);
	strcat(tok, ".");
	b64url((const unsigned char *)payload, strlen(payload), tok + strlen(tok));
	HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)tok, strlen(tok), mac, &len);
	b64url(mac, 32, sig);
	strcat(tok, ".");
	strcat(tok, sig);
	return tok;
}

static enum tv_jwt_result
verify(const struct tv_jwt_keys *k, const char *tok, struct tv_jwt_claims *c)
{
	return tv_jwt_verify(k, tok, strlen(tok), 1700000000, c);
}

/* Returns 1 if tv_api_client_address() names want as the client. */
static int
client_is(const char *peer, const char *trusted, const char *forwarded, const char *want)
{
	char out[64];

	tv_api_client_address(peer, trusted, forwarded, out, sizeof(out));
	return strcmp(out, want) == 0;
}

int
main(void)
{
	unsigned char out[16];
	struct tv_jwt_keys keys = { .secret = (unsigned char *)"s3cret", .secret_len = 6, .admin_role = "admin",
	    .max_lifetime = 86400 };
	struct tv_jwt_claims c;
	struct tv_api_route r;
	const char *h = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *t, *json;
	size_t len;

	ok(tv_base64url_decode("aGk", 3, out, sizeof(out)) == 2 && memcmp(out, "hi", 2) == 0, "base64url decodes unpadded input");
	ok(tv_base64url_decode("aGk=", 4, out, sizeof(out)) == -1, "base64url refuses padding");
	ok(tv_base64url_decode("aGl", 3, out, sizeof(out)) == -1, "base64url refuses set spare bits");
	ok(tv_base64url_decode("a+k", 3, out, sizeof(out)) == -1, "base64url refuses the standard alphabet's + and /");
	ok(tv_base64url_decode("a", 1, out, sizeof(out)) == -1, "base64url refuses a lone character");

	t = hs256(h, "{\"sub\":\"alice\",\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_OK && strcmp(c.subject, "alice") == 0, "a good admin token verifies");
	t[strlen(t) - 2] ^= 1;
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "a changed signature is refused");
	free(t);
	t = hs256(h, "{\"sub\":\"alice\",\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}", "other");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "bad signature") == 0, "another key's token is refused");
	free(t);
	t = hs256(h, "{\"exp\":1699999900,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "expired") == 0, "an expired token is refused");
	free(t);
	t = hs256(h, "{\"exp\":1699999950,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_OK, "the leeway accepts a token expired 50 s ago");
	free(t);
	t = hs256(h, "{\"exp\":{\"$numberDouble\":\"NaN\"},\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "an exp that is not a finite number is refused");
	free(t);
	t = hs256(h, "{\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "a token without exp is refused");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"roles\":[\"user\",\"admin\"]}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_OK, "roles as an array grants admin");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"http://schemas.microsoft.com/ws/2008/06/identity/claims/role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_OK, "the .NET role claim grants admin");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"user\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_FORBIDDEN, "a valid token without the admin role is forbidden");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"user\",\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "duplicate claim names are refused");
	free(t);
	t = hs256("{\"alg\":\"none\"}", "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "alg none is refused");
	free(t);
	t = hs256("{\"alg\":\"RS256\"}", "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "RS256 is refused without a public key (no HMAC confusion)");
	free(t);
	t = hs256("{\"alg\":\"HS256\"}{\"alg\":\"none\"}", "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "malformed header") == 0,
	    "a header of two JSON objects is refused");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}{\"role\":\"user\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "malformed payload") == 0,
	    "a payload of two JSON objects is refused");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}x", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "malformed payload") == 0,
	    "trailing bytes after the payload's object are refused");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\"}\n", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_OK, "a blank after the payload's object is JSON's and accepted");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "no iat claim") == 0, "a token without iat is refused");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":\"yesterday\",\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "iat is not a number") == 0, "an iat that is no number is refused");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699913700,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_OK, "exp - iat of exactly the lifetime is accepted");
	free(t);
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699913699,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "lifetime (exp - iat) over BACKUP_API_MAX_TOKEN_LIFETIME") == 0,
	    "exp - iat one second over the lifetime is refused");
	free(t);
	t = hs256(h, "{\"exp\":9223372036854775807,\"iat\":1699999000,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID, "an exp of 2^63-1 is refused");
	free(t);
	t = hs256(h, "{\"exp\":1700086000,\"iat\":1700000100,\"role\":\"admin\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "issued in the future (iat)") == 0,
	    "an iat in the future is refused: it would stretch the lifetime");
	free(t);
	keys.issuer = "chat";
	t = hs256(h, "{\"exp\":1700000100,\"iat\":1699999000,\"role\":\"admin\",\"iss\":\"evil\"}", "s3cret");
	ok(verify(&keys, t, &c) == TV_JWT_INVALID && strcmp(c.reason, "wrong issuer") == 0, "a wrong issuer is refused");
	free(t);

	ok(tv_api_match("POST", "/admin/backup/trigger", &r) == 0 && r.endpoint == TV_API_TRIGGER, "trigger routes");
	ok(tv_api_match("GET", "/admin/backup/trigger", &r) == 405, "trigger by GET is 405");
	ok(tv_api_match("GET", "/admin/backup/running", &r) == 0 && r.endpoint == TV_API_RUNNING &&
	    tv_api_match("POST", "/admin/backup/running", &r) == 405, "running routes, read-only");
	ok(tv_api_match("POST", "/admin/backup/restore/2024-01-15", &r) == 0 && r.endpoint == TV_API_RESTORE_DATE &&
	    strcmp(r.arg, "2024-01-15") == 0, "restore/{date} routes with its date");
	ok(tv_api_match("GET", "/", &r) == 0 && strcmp(r.arg, "index.html") == 0, "/ is the dashboard's index.html");
	ok(tv_api_match("GET", "/../etc/passwd", &r) == 404 && tv_api_match("GET", "/a/b.js", &r) == 404, "no path escapes the dashboard");
	ok(client_is("10.0.0.9", NULL, "1.2.3.4", "10.0.0.9"), "without trusted proxies X-Forwarded-For is ignored");
	ok(client_is("127.0.0.1", "10.0.0.1, ::1", "1.2.3.4", "127.0.0.1"), "a peer not in the list is the client");
	ok(client_is("127.0.0.1", "::1,127.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"), "a trusted proxy's last entry is the client");
	ok(client_is("127.0.0.1", "127.0.0.1", "1.2.3.4 ", "1.2.3.4"), "one entry, blanks trimmed");
	ok(client_is("127.0.0.1", "127.0.0.1", NULL, "127.0.0.1"), "no header: the proxy is the client");
	ok(client_is("127.0.0.1", "127.0.0.1", "1.2.3.4, ", "127.0.0.1"), "an empty last entry is no address");
	ok(client_is("127.0.0.10", "127.0.0.1", "1.2.3.4", "127.0.0.10"), "127.0.0.10 is not 127.0.0.1");
	ok(client_is("2001:db8:1:2:aaaa:bbbb:cccc:dddd", NULL, NULL, "2001:db8:1:2::/64") &&
	    client_is("2001:db8:1:2::1", NULL, NULL, "2001:db8:1:2::/64"), "IPv6 clients count by their /64");
	ok(client_is("2001:db8:1:3::1", NULL, NULL, "2001:db8:1:3::/64"), "another /64 is another client");
	ok(client_is("127.0.0.1", "127.0.0.1", "2001:db8::5:6", "2001:db8::/64"), "a forwarded IPv6 client counts by its /64");
	ok(client_is("::ffff:192.0.2.7", NULL, NULL, "::ffff:192.0.2.7"), "an IPv4-mapped address stays whole");
	ok(client_is("::1", "::1", "192.0.2.7", "192.0.2.7"), "an IPv4 client behind an IPv6 proxy stays whole");
	ok(tv_api_bearer("Bearer abc.def.ghi", &len) != NULL && len == 11, "a bearer token is found");
	ok(tv_api_bearer("Basic abc", &len) == NULL && tv_api_bearer("Bearer a b", &len) == NULL, "other schemes are not tokens");
	ok(tv_api_valid_date("2024-01-15") && tv_api_valid_date("2024-01-15T030000Z") && !tv_api_valid_date("2024-01-15;rm"),
	    "dates are checked");
	ok(tv_api_valid_time("2024-01-15T03:30:00Z") && !tv_api_valid_time("--help"), "times are checked");
	ok(tv_api_valid_collections("users,messages") && !tv_api_valid_collections("users,,x") &&
	    !tv_api_valid_collections("-x"), "collection lists are checked");
	ok(tv_api_runs_limit("1") == 1 && tv_api_runs_limit("1000") == 1000 && tv_api_runs_limit("0") == 0 &&
	    tv_api_runs_limit("1001") == 0 && tv_api_runs_limit("") == 0 && tv_api_runs_limit("5x") == 0 &&
	    tv_api_runs_limit("99999999999999999999") == 0, "a runs limit is a number from 1 to 1000");
	ok(!tv_api_body_too_large(NULL, 4096) && !tv_api_body_too_large("4096", 4096) &&
	    tv_api_body_too_large("4097", 4096) && tv_api_body_too_large("-1", 4096) &&
	    tv_api_body_too_large("99999999999999999999999", 4096), "a Content-Length over the limit, negative or huge, is too large");
	json = tv_json_string("a\"b\\\n\xff");
	ok(strcmp(json, "\"a\\\"b\\\\\\u000a\\ufffd\"") == 0, "JSON strings are escaped, bad UTF-8 replaced");
	free(json);
	return tap_done();
}
