#!/usr/bin/env bats
# tv-crypt: byte-exact round trips, and every way a stored file can be cut, altered or mixed up.

bats_require_minimum_version 1.5.0

# Chunk size and per-chunk overhead of the format (common/crypt.h).
CHUNK=1048576
FRAME=$((CHUNK + 16))
HEADER=32

setup_file() {
	load lib/common
	export F="$BATS_FILE_TMPDIR"
	head -c 32 /dev/urandom >"$F/key"
	head -c 32 /dev/urandom >"$F/other.key"
	chmod 600 "$F/key" "$F/other.key"
	# Three whole chunks and a half one: frames 0, 1, 2 are full, frame 3 is the final one.
	head -c $((3 * CHUNK + CHUNK / 2)) /dev/urandom >"$F/multi"
	BACKUP_ENCRYPTION_KEY_FILE="$F/key" tv-crypt <"$F/multi" >"$F/multi.enc"
	BACKUP_ENCRYPTION_KEY_FILE="$F/key" tv-crypt <"$F/multi" >"$F/multi2.enc"
}

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
	export BACKUP_ENCRYPTION_KEY_FILE="$F/key"
}

# Copies len bytes of file $1 from offset $2 to stdout.
part() {
	dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none
}

# Prints the offset of frame $1 (0-based) in a file.
frame_at() { echo $((HEADER + $1 * FRAME)); }

# Prints the key id of key file $1: the first 8 bytes of its SHA-256, in hex.
key_id() { sha256sum "$1" | cut -c1-16; }

# Asserts that decrypting file $1 fails with 65 and writes nothing but the chunks before frame $2.
assert_rejected() {
	local st=0
	tv-crypt -d <"$1" >"$T/out" 2>"$T/err" || st=$?
	if [ "$st" -ne 65 ]; then
		printf 'expected exit status 65, got %s\n%s\n' "$st" "$(cat "$T/err")" >&2
		return 1
	fi
	head -c $(($2 * CHUNK)) "$F/multi" | cmp "$T/out" -
}

@test "--help prints usage on stdout and exits 0; a bad option exits 64" {
	run --separate-stderr tv-crypt --help
	assert_status 0
	[[ $output == usage:* ]]
	run --separate-stderr tv-crypt --no-such-option
	assert_status 64
	[[ $stderr == *usage:* ]]
}

@test "inputs around the chunk size round trip byte-exact" {
	for n in 0 1 $((CHUNK - 1)) $CHUNK $((CHUNK + 1)); do
		head -c "$n" /dev/urandom >"$T/p"
		tv-crypt <"$T/p" >"$T/c"
		tv-crypt -d <"$T/c" >"$T/q"
		cmp "$T/p" "$T/q"
		# Header, one tag per chunk, and an empty final chunk when the input fills whole chunks.
		[ "$(stat -c %s "$T/c")" -eq $((HEADER + n + 16 * (n / CHUNK + 1))) ]
	done
}

@test "50 MB round trip byte-exact" {
	head -c 50000000 /dev/urandom >"$T/p"
	tv-crypt <"$T/p" | tv-crypt -d >"$T/q"
	cmp "$T/p" "$T/q"
}

@test "the header starts with TVCRYPT1 and carries the key id, never the key" {
	[ "$(head -c 8 "$F/multi.enc")" = TVCRYPT1 ]
	[ "$(part "$F/multi.enc" 12 8 | od -An -tx1 | tr -d ' \n')" = "$(key_id "$F/key")" ]
	! grep -q -F "$(od -An -tx1 "$F/key" | tr -d ' \n')" <(od -An -tx1 -v "$F/multi.enc" | tr -d ' \n')
}

@test "the same input encrypts differently every time" {
	! cmp -s "$F/multi.enc" "$F/multi2.enc"
}

@test "--stats reports bytes in and out and the key id" {
	tv-crypt --stats "$T/enc.json" <"$F/multi" >"$T/c"
	tv-crypt -d --stats "$T/dec.json" <"$T/c" >/dev/null
	[ "$(jq -r '[.bytesIn, .bytesOut, .chunks, .keyId] | @tsv' "$T/enc.json")" = \
		"$(printf '%s\t%s\t4\t%s' "$((3 * CHUNK + CHUNK / 2))" "$(stat -c %s "$T/c")" "$(key_id "$F/key")")" ]
	[ "$(jq -r '[.bytesIn, .bytesOut] | @tsv' "$T/dec.json")" = \
		"$(printf '%s\t%s' "$(stat -c %s "$T/c")" "$((3 * CHUNK + CHUNK / 2))")" ]
}

@test "a file cut at any point is rejected with 65" {
	local size
	size=$(stat -c %s "$F/multi.enc")
	for at in 0 1 7 31 32 33 47 48 $((FRAME + 31)) $((FRAME + 32)) $((FRAME + 33)) \
		"$(frame_at 3)" $((size - 17)) $((size - 16)) $((size - 1)); do
		head -c "$at" "$F/multi.enc" >"$T/cut"
		run tv-crypt -d <"$T/cut"
		assert_status 65
	done
}

@test "a file cut between two chunks says its final chunk is missing" {
	head -c "$(frame_at 2)" "$F/multi.enc" >"$T/cut"
	run --separate-stderr tv-crypt -d <"$T/cut"
	assert_status 65
	[[ $stderr == *"truncated: the input ends after chunk 2"*"without its final chunk"* ]]
}

@test "a flipped bit in the header's nonce or chunk size is rejected with 65" {
	for at in 8 11 20 31; do
		cp "$F/multi.enc" "$T/bad"
		tv_flip_bit "$T/bad" "$at"
		run tv-crypt -d <"$T/bad"
		assert_status 65
	done
}

@test "a flipped bit in a chunk's ciphertext or tag is rejected, after only the chunks before it" {
	cp "$F/multi.enc" "$T/bad"
	tv_flip_bit "$T/bad" $(($(frame_at 1) + 1000))
	assert_rejected "$T/bad" 1
	cp "$F/multi.enc" "$T/bad"
	tv_flip_bit "$T/bad" $(($(frame_at 2) + FRAME - 1))
	assert_rejected "$T/bad" 2
}

@test "nothing is written when the first chunk fails" {
	head -c 1000 /dev/urandom | tv-crypt >"$T/small.enc"
	tv_flip_bit "$T/small.enc" 40
	run --separate-stderr tv-crypt -d <"$T/small.enc"
	assert_status 65
	[[ $stderr == *"chunk 1 at byte offset 32 fails authentication"* ]]
	tv-crypt -d <"$T/small.enc" >"$T/out" 2>/dev/null || true
	cmp "$T/out" /dev/null
}

@test "swapped chunks are rejected" {
	{ part "$F/multi.enc" 0 "$(frame_at 1)"
	  part "$F/multi.enc" "$(frame_at 2)" $FRAME
	  part "$F/multi.enc" "$(frame_at 1)" $FRAME
	  part "$F/multi.enc" "$(frame_at 3)" $FRAME; } >"$T/bad"
	[ "$(stat -c %s "$T/bad")" -eq "$(stat -c %s "$F/multi.enc")" ]
	assert_rejected "$T/bad" 1
}

@test "a dropped chunk is rejected" {
	{ part "$F/multi.enc" 0 "$(frame_at 1)"
	  part "$F/multi.enc" "$(frame_at 2)" $((2 * FRAME)); } >"$T/bad"
	assert_rejected "$T/bad" 1
}

@test "a repeated chunk is rejected" {
	{ part "$F/multi.enc" 0 "$(frame_at 2)"
	  part "$F/multi.enc" "$(frame_at 1)" $((3 * FRAME)); } >"$T/bad"
	assert_rejected "$T/bad" 2
}

@test "data after the final chunk is rejected" {
	{ cat "$F/multi.enc"; printf x; } >"$T/bad"
	assert_rejected "$T/bad" 3
}

@test "two files spliced together are rejected, even with the same key and plaintext" {
	{ part "$F/multi.enc" 0 "$(frame_at 2)"
	  part "$F/multi2.enc" "$(frame_at 2)" $((2 * FRAME)); } >"$T/bad"
	assert_rejected "$T/bad" 2
	# The other file's header with this file's chunks.
	{ part "$F/multi2.enc" 0 $HEADER
	  part "$F/multi.enc" $HEADER $((4 * FRAME)); } >"$T/bad"
	assert_rejected "$T/bad" 0
}

@test "another key is refused with 77, naming both key ids" {
	BACKUP_ENCRYPTION_KEY_FILE="$F/other.key" run --separate-stderr tv-crypt -d <"$F/multi.enc"
	assert_status 77
	[[ $stderr == *"wrong key: the file was encrypted with key id $(key_id "$F/key"), BACKUP_ENCRYPTION_KEY_FILE has $(key_id "$F/other.key")"* ]]
	[ -z "$output" ]
}

@test "after a key rotation, current:older encrypts with the current key and decrypts with either" {
	export BACKUP_ENCRYPTION_KEY_FILE="$F/other.key:$F/key"
	tv-crypt -d --stats "$T/old.json" <"$F/multi.enc" | cmp - "$F/multi"
	[ "$(jq -r .keyId "$T/old.json")" = "$(key_id "$F/key")" ]
	tv-crypt <"$F/multi" >"$T/new.enc"
	[ "$(part "$T/new.enc" 12 8 | od -An -tx1 | tr -d ' \n')" = "$(key_id "$F/other.key")" ]
	tv-crypt -d <"$T/new.enc" | cmp - "$F/multi"
	# Without the older key, its files are another key's.
	BACKUP_ENCRYPTION_KEY_FILE="$F/other.key" run --separate-stderr tv-crypt -d <"$F/multi.enc"
	assert_status 77
	head -c 32 /dev/urandom >"$T/third.key"
	chmod 600 "$T/third.key"
	BACKUP_ENCRYPTION_KEY_FILE="$T/third.key:$F/other.key" run --separate-stderr tv-crypt -d <"$F/multi.enc"
	assert_status 77
	[[ $stderr == *"key id $(key_id "$F/key"), BACKUP_ENCRYPTION_KEY_FILE has $(key_id "$T/third.key"), $(key_id "$F/other.key")" ]]
}

@test "every key file listed must load, even to encrypt: an empty or missing one exits 64" {
	BACKUP_ENCRYPTION_KEY_FILE="$F/key::$F/other.key" run --separate-stderr tv-crypt </dev/null
	assert_status 64
	[[ $stderr == *"an empty file name in"* ]]
	[ -z "$output" ]
	BACKUP_ENCRYPTION_KEY_FILE="$F/key:$T/gone.key" run --separate-stderr tv-crypt </dev/null
	assert_status 64
	[[ $stderr == *"cannot read $T/gone.key"* ]]
	[ -z "$output" ]
}

@test "input that is not a tv-crypt file is rejected with 65" {
	run --separate-stderr tv-crypt -d <"$F/multi"
	assert_status 65
	[[ $stderr == *"not a tv-crypt file"* ]]
	printf 'TVCRYPT9%024d' 0 >"$T/v9"
	run --separate-stderr tv-crypt -d <"$T/v9"
	assert_status 65
	[[ $stderr == *"unsupported tv-crypt format version"* ]]
}

@test "no key file set, a missing one or one that is not 32 bytes exits 64 and writes nothing" {
	unset BACKUP_ENCRYPTION_KEY_FILE
	run --separate-stderr tv-crypt </dev/null
	assert_status 64
	[[ $stderr == *"BACKUP_ENCRYPTION_KEY_FILE is not set"* ]]
	BACKUP_ENCRYPTION_KEY_FILE="$T/none" run --separate-stderr tv-crypt </dev/null
	assert_status 64
	[[ $stderr == *"cannot read $T/none"* ]]
	[ -z "$output" ]
	head -c 31 "$F/key" >"$T/short"
	chmod 600 "$T/short"
	BACKUP_ENCRYPTION_KEY_FILE="$T/short" run --separate-stderr tv-crypt </dev/null
	assert_status 64
	[[ $stderr == *"$T/short holds 31 bytes, but a key is exactly 32 random bytes"* ]]
	[ -z "$output" ]
	{ cat "$F/key"; echo; } >"$T/long"
	chmod 600 "$T/long"
	BACKUP_ENCRYPTION_KEY_FILE="$T/long" run --separate-stderr tv-crypt -d <"$F/multi.enc"
	assert_status 64
	[[ $stderr == *"holds more than 32 bytes"* ]]
	[ -z "$output" ]
}

@test "an unreadable key file exits 77" {
	local as=()
	cp "$F/key" "$T/locked"
	chmod 000 "$T/locked"
	# Root reads any file: run as nobody instead.
	if [ "$(id -u)" -eq 0 ]; then
		command -v setpriv >/dev/null || skip "root reads any file, and setpriv is missing"
		as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	fi
	BACKUP_ENCRYPTION_KEY_FILE="$T/locked" run --separate-stderr "${as[@]}" "$(command -v tv-crypt)" </dev/null
	assert_status 77
	[[ $stderr == *"cannot read $T/locked: Permission denied"* ]]
	[ -z "$output" ]
}

@test "a key file group or others may use is refused with 77, naming it, its mode and chmod 600; a pipe is not checked" {
	local mode
	cp "$F/key" "$T/open"
	for mode in 644 640 604 620 602; do
		chmod "$mode" "$T/open"
		BACKUP_ENCRYPTION_KEY_FILE="$T/open" run --separate-stderr tv-crypt -d <"$F/multi.enc"
		assert_status 77
		[[ $stderr == *"BACKUP_ENCRYPTION_KEY_FILE: $T/open has mode 0$mode: group or others may use it; a secret must be its owner's alone: chmod 600 $T/open"* ]]
		[ -z "$output" ]
	done
	chmod 400 "$T/open"
	BACKUP_ENCRYPTION_KEY_FILE="$T/open" tv-crypt -d <"$F/multi.enc" | cmp - "$F/multi"
	BACKUP_ENCRYPTION_KEY_FILE=<(cat "$F/key") tv-crypt -d <"$F/multi.enc" | cmp - "$F/multi"
}

@test "no message ever shows key bytes" {
	local hex
	hex=$(od -An -tx1 "$F/key" | tr -d ' \n')
	{ cat "$F/key"; echo; } >"$T/long"
	chmod 600 "$T/long"
	BACKUP_ENCRYPTION_KEY_FILE="$T/long" run tv-crypt -v </dev/null
	refute_output_contains "${hex:0:16}"
	run tv-crypt -v -d <"$F/multi.enc"
	refute_output_contains "${hex:0:16}"
	# Nor the raw bytes.
	! printf '%s' "$output" | od -An -tx1 -v | tr -d ' \n' | grep -q "${hex:0:16}"
}

@test "tv-lib.sh seals and unseals by blob name, and checks the key before anything is uploaded" {
	# shellcheck source=scripts/tv-lib.sh
	. "$TV_SRCDIR/scripts/tv-lib.sh"
	[ "$(tv_crypt_suffix)" = .enc ]
	tv_crypt_check
	tv_seal backups/2024-01-15/tralivali_users.bson.gz.enc --stats "$T/seal.json" <"$F/multi" >"$T/sealed"
	[ "$(head -c 8 "$T/sealed")" = TVCRYPT2 ]
	[ "$(jq -r '[.bytesIn, .boundTo] | @tsv' "$T/seal.json")" = \
		"$((3 * CHUNK + CHUNK / 2))	backups/2024-01-15/tralivali_users.bson.gz.enc" ]
	tv_unseal backups/2024-01-15/tralivali_users.bson.gz.enc <"$T/sealed" | cmp - "$F/multi"
	# Under another name it is refused: it was sealed for that place only.
	run tv_unseal backups/2024-01-16/tralivali_users.bson.gz.enc <"$T/sealed"
	assert_status 65
	assert_output_contains "made for another place"
	# A name without .enc passes through untouched.
	tv_unseal backups/2024-01-15/tralivali_users.bson.gz <"$F/multi" | cmp - "$F/multi"
	run tv_unseal x.bson.gz.enc <<<garbage
	assert_status 65
	assert_output_contains "x.bson.gz.enc: not a tv-crypt file"

	# Fail closed: a key file that is set but unusable stops the flow before it uploads.
	BACKUP_ENCRYPTION_KEY_FILE="$T/missing"
	run tv_crypt_check
	assert_status 64
	run tv_seal x.bson.gz.enc <"$F/multi"
	assert_status 64
	[ "${#output}" -lt 1000 ]

	unset BACKUP_ENCRYPTION_KEY_FILE
	[ -z "$(tv_crypt_suffix)" ]
	tv_crypt_check
	tv_seal x.bson.gz <"$F/multi" | cmp - "$F/multi"
	run tv_unseal x.bson.gz.enc <"$T/sealed"
	assert_status 64
	assert_output_contains "x.bson.gz.enc is encrypted: set BACKUP_ENCRYPTION_KEY_FILE"
}

# Binding (format 2): a file is bound to the blob name it is stored under.

# The blob name the binding tests seal under.
NAME=backups/2024-01-15/tralivali_users.bson.gz.enc

@test "--bind writes format 2: the name after the 32-byte header, and the chunks; -d --bind gives the input back" {
	tv-crypt --bind "$NAME" --stats "$T/enc.json" <"$F/multi" >"$T/c"
	[ "$(head -c 8 "$T/c")" = TVCRYPT2 ]
	# The name's length (2 bytes), then the name, then the chunks as in format 1.
	[ "$(part "$T/c" 32 2 | od -An -tu1 | tr -s ' ')" = " 0 ${#NAME}" ]
	[ "$(part "$T/c" 34 "${#NAME}")" = "$NAME" ]
	[ "$(stat -c %s "$T/c")" -eq $((HEADER + 2 + ${#NAME} + 3 * FRAME + CHUNK / 2 + 16)) ]
	[ "$(jq -r '[.format, .boundTo] | @tsv' "$T/enc.json")" = "2	$NAME" ]
	tv-crypt -d --bind "$NAME" --stats "$T/dec.json" <"$T/c" | cmp - "$F/multi"
	[ "$(jq -r '[.format, .boundTo, .bytesOut] | @tsv' "$T/dec.json")" = "2	$NAME	$((3 * CHUNK + CHUNK / 2))" ]
	# Without --bind (a manual decryption) any name is accepted: the header names it.
	tv-crypt -d <"$T/c" | cmp - "$F/multi"
}

@test "a bound file decrypted under another name is refused with 65, naming both, and writes nothing" {
	tv-crypt --bind "$NAME" <"$F/multi" >"$T/c"
	run --separate-stderr tv-crypt -d --bind backups/2024-01-16/tralivali_users.bson.gz.enc <"$T/c"
	assert_status 65
	[ -z "$output" ]
	[[ $stderr == *"backups/2024-01-16/tralivali_users.bson.gz.enc: made for another place: it was encrypted as \"$NAME\", not \"backups/2024-01-16/tralivali_users.bson.gz.enc\""* ]]
}

@test "a bound name rewritten in the header, to pass for another place, fails authentication" {
	tv-crypt --bind "$NAME" <"$F/multi" >"$T/c"
	# Same length, another day: the header now claims the other place.
	sed 's|backups/2024-01-15/|backups/2024-01-16/|' "$T/c" >"$T/forged"
	[ "$(part "$T/forged" 34 "${#NAME}")" = backups/2024-01-16/tralivali_users.bson.gz.enc ]
	run --separate-stderr tv-crypt -d --bind backups/2024-01-16/tralivali_users.bson.gz.enc <"$T/forged"
	assert_status 65
	[ -z "$output" ]
	[[ $stderr == *"chunk 1 at byte offset $((HEADER + 2 + ${#NAME})) fails authentication"* ]]
}

@test "a format 1 file, made before binding, is read under any --bind and reported unbound; --format limits what is read" {
	tv-crypt -d --bind "$NAME" --stats "$T/dec.json" <"$F/multi.enc" | cmp - "$F/multi"
	[ "$(jq -r '[.format, (.boundTo | tojson)] | @tsv' "$T/dec.json")" = "1	null" ]
	run --separate-stderr tv-crypt -d --bind "$NAME" --format 2 <"$F/multi.enc"
	assert_status 65
	[[ $stderr == *"$NAME: a file bound to no name (format 1), where only a file bound to its name (format 2) is accepted"* ]]
	tv-crypt --bind "$NAME" <"$F/multi" >"$T/c"
	run --separate-stderr tv-crypt -d --bind "$NAME" --format 1 <"$T/c"
	assert_status 65
	[ -z "$output" ]
	[[ $stderr == *"$NAME: a file bound to \"$NAME\" (format 2), where only a file bound to no name (format 1"* ]]
}

@test "--bind refuses an empty or overlong name (64); --format and --mac need their companions" {
	run --separate-stderr tv-crypt --bind "" <"$F/multi"
	assert_status 64
	[ -z "$output" ]
	run --separate-stderr tv-crypt --bind "$(printf 'x%.0s' $(seq 1025))" <"$F/multi"
	assert_status 64
	run --separate-stderr tv-crypt --format 2 <"$F/multi"
	assert_status 64
	run --separate-stderr tv-crypt -d --format 3 <"$F/multi.enc"
	assert_status 64
	run --separate-stderr tv-crypt --mac <"$F/multi"
	assert_status 64
}

@test "a bound name's length field that is zero or past the header is rejected with 65" {
	tv-crypt --bind "$NAME" <"$F/multi" >"$T/c"
	{ head -c 32 "$T/c"; printf '\0\0'; tail -c +$((35 + ${#NAME})) "$T/c"; } >"$T/zero"
	run --separate-stderr tv-crypt -d <"$T/zero"
	assert_status 65
	[[ $stderr == *"bad header: a bound name of 0 bytes"* ]]
	head -c 40 "$T/c" >"$T/cut"
	run --separate-stderr tv-crypt -d <"$T/cut"
	assert_status 65
	[[ $stderr == *"truncated: the input ends inside the header's bound name"* ]]
}

# The manifest MAC.

@test "--mac writes HMAC-SHA-256 of name, NUL, content under the HKDF-SHA-256 key, never the raw key; --check-mac checks it" {
	printf '{"id": "x"}\n' >"$T/manifest.json"
	tv-crypt --mac --bind backups/2024-01-15/manifest.json <"$T/manifest.json" >"$T/mac"
	# The same MAC, computed by openssl(1) from the format alone.
	local mackey want
	mackey=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:"$(od -An -tx1 -v "$F/key" | tr -d ' \n')" \
		-kdfopt info:"tralivali-backup manifest MAC 1" HKDF | tr -d ':\n' | tr 'A-F' 'a-f')
	want=$({ printf 'backups/2024-01-15/manifest.json\0'; cat "$T/manifest.json"; } |
		openssl dgst -sha256 -mac HMAC -macopt hexkey:"$mackey" | sed 's/.*= //')
	[ "$(jq -r '[.format, .name, .keyId, .hmacSha256] | @tsv' "$T/mac")" = \
		"$(printf '1\tbackups/2024-01-15/manifest.json\t%s\t%s' "$(key_id "$F/key")" "$want")" ]
	[ "$(wc -l <"$T/mac")" -eq 1 ]
	# Not the HMAC under the encryption key itself.
	[ "$want" != "$({ printf 'backups/2024-01-15/manifest.json\0'; cat "$T/manifest.json"; } |
		openssl dgst -sha256 -mac HMAC -macopt hexkey:"$(od -An -tx1 -v "$F/key" | tr -d ' \n')" | sed 's/.*= //')" ]
	run --separate-stderr tv-crypt --check-mac "$T/mac" --bind backups/2024-01-15/manifest.json <"$T/manifest.json"
	assert_status 0
	[ -z "$output$stderr" ]
}

@test "--check-mac refuses changed content and another name with 65, another key with 77, no MAC file with 66" {
	printf '{"id": "x"}\n' >"$T/manifest.json"
	tv-crypt --mac --bind backups/2024-01-15/manifest.json <"$T/manifest.json" >"$T/mac"
	run --separate-stderr tv-crypt --check-mac "$T/mac" --bind backups/2024-01-15/manifest.json <<<'{"id": "y"}'
	assert_status 65
	[[ $stderr == *"backups/2024-01-15/manifest.json: fails authentication against its MAC: it was changed or replaced in the store"* ]]
	run --separate-stderr tv-crypt --check-mac "$T/mac" --bind backups/2024-01-16/manifest.json <"$T/manifest.json"
	assert_status 65
	[[ $stderr == *"backups/2024-01-16/manifest.json: the MAC of \"backups/2024-01-15/manifest.json\", not of \"backups/2024-01-16/manifest.json\""* ]]
	# A MAC file whose name was rewritten to the other place: the MAC covers the name.
	sed 's|2024-01-15|2024-01-16|' "$T/mac" >"$T/moved.mac"
	run --separate-stderr tv-crypt --check-mac "$T/moved.mac" --bind backups/2024-01-16/manifest.json <"$T/manifest.json"
	assert_status 65
	[[ $stderr == *"fails authentication against its MAC"* ]]
	BACKUP_ENCRYPTION_KEY_FILE="$F/other.key" run --separate-stderr tv-crypt --check-mac "$T/mac" \
		--bind backups/2024-01-15/manifest.json <"$T/manifest.json"
	assert_status 77
	[[ $stderr == *"backups/2024-01-15/manifest.json: wrong key: the file was authenticated with key id $(key_id "$F/key")"* ]]
	run --separate-stderr tv-crypt --check-mac "$T/absent" --bind backups/2024-01-15/manifest.json <"$T/manifest.json"
	assert_status 66
	echo 'not json' >"$T/bad.mac"
	run --separate-stderr tv-crypt --check-mac "$T/bad.mac" --bind backups/2024-01-15/manifest.json <"$T/manifest.json"
	assert_status 65
	[[ $stderr == *"not a manifest MAC"* ]]
}
