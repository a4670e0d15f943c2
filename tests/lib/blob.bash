# blob.bash: helpers for the tv-blob-* tests: reproducible data streams and their checksums.
# shellcheck shell=bash

# Prints $1 bytes of incompressible, reproducible data (AES-CTR of zeros under key $2, default "tv").
tv_data() {
	openssl enc -aes-128-ctr -pass "pass:${2:-tv}" -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c "$1"
}

# Prints the SHA-256 of standard input, hex only.
tv_sha256() {
	sha256sum | cut -d' ' -f1
}

# Tests run pipelines under `run bash -c`, which must see these too.
export -f tv_data tv_sha256

# Streams $1 bytes of tv_data into blob $2 and back, never keeping a copy on disk: fails
# unless both tools exit 0 and what comes back hashes like what went in.
tv_blob_round_trip() {
	local size=$1 name=$2 want got
	tv_data "$size" | tv-blob-put -q "$name"
	[ "${PIPESTATUS[1]}" -eq 0 ] || { echo "tv-blob-put failed: ${PIPESTATUS[*]}" >&2; return 1; }
	want=$(tv_data "$size" | tv_sha256)
	got=$(tv-blob-get -q "$name" | tv_sha256; exit "${PIPESTATUS[0]}") ||
		{ echo "tv-blob-get failed" >&2; return 1; }
	if [ "$want" != "$got" ]; then
		printf 'round trip of %s bytes differs: sent %s, got %s\n' "$size" "$want" "$got" >&2
		return 1
	fi
}

# Stages two different uploads of blob $1, commits both at once, and fails unless exactly one
# commit succeeded, the other exited 73 saying the name exists, and the blob is the winner's.
tv_blob_race() {
	local name=$1 d=$BATS_TEST_TMPDIR s1=0 s2=0 p1 p2 winner
	printf one | tv-blob-put -q --no-commit --receipt "$d/r1" "$name"
	printf two | tv-blob-put -q --no-commit --receipt "$d/r2" "$name"
	tv-blob-put -q --commit --receipt "$d/r1" "$name" </dev/null 2>"$d/e1" &
	p1=$!
	tv-blob-put -q --commit --receipt "$d/r2" "$name" </dev/null 2>"$d/e2" &
	p2=$!
	wait "$p1" || s1=$?
	wait "$p2" || s2=$?
	case $s1/$s2 in
	0/73) winner=one; grep -q "$name already exists in the store; nothing was overwritten" "$d/e2" ;;
	73/0) winner=two; grep -q "$name already exists in the store; nothing was overwritten" "$d/e1" ;;
	*) echo "racing commits exited $s1 and $s2, want one 0 and one 73" >&2; cat "$d/e1" "$d/e2" >&2; return 1 ;;
	esac
	[ "$(tv-blob-get -q "$name")" = "$winner" ] || { echo "the blob is not the winner's ($winner)" >&2; return 1; }
}

# Prints an Azure connection string for Azurite's account with key $1 (default the real key)
# and blob endpoint $2 (default Azurite's).
tv_az_connection_string() {
	printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;' \
		"$AZURITE_ACCOUNT" "${1:-$AZURITE_KEY}" "${2:-$AZURITE_BLOB_ENDPOINT}"
}

# Prints an account SAS token for Azurite (blob service, all resource types) that expires at $1
# (e.g. 2099-01-01T00:00:00Z) and grants permissions $2 (default rwdlac: read, write, delete,
# list, add, create), signed with openssl.
tv_az_account_sas() {
	local expiry=$1 sp=${2:-rwdlac} sv=2019-12-12 key sts sig
	key=$(base64 -d <<<"$AZURITE_KEY" | od -An -tx1 | tr -d ' \n')
	sts=$(printf '%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n' "$AZURITE_ACCOUNT" "$sp" b sco "" "$expiry" "" "https,http" "$sv")
	sig=$(printf '%s\n' "$sts" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64 -w0)
	printf 'sv=%s&ss=b&srt=sco&sp=%s&se=%s&spr=https,http&sig=%s' "$sv" "$sp" \
		"$(jq -rn --arg v "$expiry" '$v|@uri')" "$(jq -rn --arg v "$sig" '$v|@uri')"
}

# Prints a connection string for Azurite with an account SAS granting permissions $1.
tv_az_sas_connection_string() {
	printf 'BlobEndpoint=%s;SharedAccessSignature=%s' "$AZURITE_BLOB_ENDPOINT" "$(tv_az_account_sas 2099-01-01T00:00:00Z "$1")"
}

# Points the tools at a fresh local directory store, $STORE, with container backups.
tv_use_file_store() {
	STORE=$BATS_TEST_TMPDIR/store
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="file:$STORE"
	export BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
}
