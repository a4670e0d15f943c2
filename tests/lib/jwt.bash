# jwt.bash: builds JSON Web Tokens with openssl(1) and coreutils, the way an issuer would,
# so that tv-api's verifier is tested against tokens it did not make itself.
# shellcheck shell=bash

# Prints stdin as unpadded base64url.
b64url() { basenc --base64url -w 0 | tr -d '='; }

# Prints the ES256 JWS signature (raw r||s, 32 bytes each) for the DER ECDSA signature on stdin.
der_to_raw() {
	local der hex
	der=$(mktemp)
	cat >"$der"
	for hex in $(openssl asn1parse -inform DER -in "$der" | awk '/INTEGER/ { sub(/^.*:/, ""); print }'); do
		printf '%064s' "$hex" | tr ' ' 0
	done | basenc -d --base16
	rm -f "$der"
}

# Prints a signed token: jwt_make ALG KEY HEADER_JSON PAYLOAD_JSON, where KEY is the HS256
# secret file (its one trailing newline dropped, as tv-api does) or the PEM private key.
jwt_make() {
	local alg=$1 key=$2 input
	input="$(printf '%s' "$3" | b64url).$(printf '%s' "$4" | b64url)"
	printf '%s.' "$input"
	case $alg in
	HS256) printf '%s' "$input" | openssl dgst -sha256 -hmac "$(cat "$key")" -binary | b64url ;;
	RS256) printf '%s' "$input" | openssl dgst -sha256 -sign "$key" -binary | b64url ;;
	ES256) printf '%s' "$input" | openssl dgst -sha256 -sign "$key" -binary | der_to_raw | b64url ;;
	none) ;;
	esac
}

# Prints a token for the claims in $3 (a JSON object's members), valid for an hour: jwt ALG KEY CLAIMS.
jwt() {
	local now
	now=$(date +%s)
	jwt_make "$1" "$2" "{\"alg\":\"$1\",\"typ\":\"JWT\"}" "{\"exp\":$((now + 3600)),\"iat\":$now${3:+,$3}}"
}
