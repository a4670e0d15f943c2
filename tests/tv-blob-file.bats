#!/usr/bin/env bats
# tv-blob-put, tv-blob-get and tv-blob-ls against the local directory store (file:/path).

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	load lib/blob
	STORE=$BATS_TEST_TMPDIR/store
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="file:$STORE"
	export BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
}

@test "an empty stream round-trips as an empty blob" {
	tv_blob_round_trip 0 empty.bin
	[ "$(stat -c %s "$STORE/backups/empty.bin")" -eq 0 ]
}

@test "a one-byte stream round-trips" {
	tv_blob_round_trip 1 one.bin
}

@test "100 MB round-trip byte-exact" {
	tv_blob_round_trip 100000000 big/100mb.bin
}

@test "1 GiB streams through and back byte-exact" {
	tv_blob_round_trip 1073741824 big/1gib.bin
	rm -f "$STORE/backups/big/1gib.bin"
}

@test "blobs live at <path>/<container>/<name>, as in Azure" {
	printf 'hello' | BACKUP_BLOB_CONTAINER_NAME=other tv-blob-put -q backups/2024-01-15/x.bson.gz
	[ "$(cat "$STORE/other/backups/2024-01-15/x.bson.gz")" = hello ]
}

@test "tv-blob-put logs the seed's upload line and the size" {
	run bash -c 'printf abc | tv-blob-put backups/a.gz'
	assert_status 0
	assert_output_contains "Uploaded backup to: backups/a.gz"
	assert_output_contains "3 bytes"
}

@test "-q silences the upload line" {
	run bash -c 'printf abc | tv-blob-put -q backups/a.gz'
	assert_status 0
	[ -z "$output" ]
}

@test "a new upload replaces an earlier blob of the same name whole" {
	printf old | tv-blob-put -q a
	printf new | tv-blob-put -q a
	run --separate-stderr tv-blob-get a
	[ "$output" = new ]
}

@test "an upload whose input fails leaves the earlier blob intact and nothing staged" {
	printf old | tv-blob-put -q a
	run bash -c 'tv-blob-put -q a < "$BATS_TEST_TMPDIR"'
	assert_status 74
	[ "$(tv-blob-get -q a)" = old ]
	[ -z "$(find "$STORE" -name '.tv-*')" ]
}

@test "an upload killed mid-stream leaves the earlier blob intact and invisible debris only" {
	printf old | tv-blob-put -q a
	tv-blob-put -q a < <(printf partial; sleep 10) &
	local pid=$!
	sleep 0.5
	kill -9 "$pid"
	wait "$pid" || true
	[ "$(tv-blob-get -q a)" = old ]
	run --separate-stderr tv-blob-ls
	[ "$output" = "$(printf 'a\t3\t')$(date -u -r "$STORE/backups/a" +%Y-%m-%dT%H:%M:%SZ)" ]
}

@test "--no-commit stores the bytes invisibly and --commit makes them appear" {
	printf staged | tv-blob-put -q --no-commit --receipt "$BATS_TEST_TMPDIR/r" two
	run tv-blob-get two
	assert_status 66
	[ "$(jq -r .committed "$BATS_TEST_TMPDIR/r")" = false ]
	[ -z "$(tv-blob-ls)" ]
	run tv-blob-put --commit --receipt "$BATS_TEST_TMPDIR/r" two </dev/null
	assert_status 0
	assert_output_contains "Uploaded backup to: two"
	[ "$(tv-blob-get -q two)" = staged ]
	[ "$(jq -r .committed "$BATS_TEST_TMPDIR/r")" = true ]
}

@test "the receipt records name, size, MD5 and SHA-256 of what was stored" {
	printf 'abc' | tv-blob-put -q --receipt "$BATS_TEST_TMPDIR/r" r.bin
	[ "$(jq -r .name "$BATS_TEST_TMPDIR/r")" = r.bin ]
	[ "$(jq -r .size "$BATS_TEST_TMPDIR/r")" = 3 ]
	[ "$(jq -r .md5 "$BATS_TEST_TMPDIR/r")" = "$(printf abc | openssl md5 -binary | base64)" ]
	[ "$(jq -r .sha256 "$BATS_TEST_TMPDIR/r")" = "$(printf abc | tv_sha256)" ]
	[ "$(jq -r .committed "$BATS_TEST_TMPDIR/r")" = true ]
}

@test "--abort discards a staged upload and keeps the earlier blob" {
	printf old | tv-blob-put -q two
	printf new | tv-blob-put -q --no-commit --receipt "$BATS_TEST_TMPDIR/r" two
	run tv-blob-put --abort --receipt "$BATS_TEST_TMPDIR/r" two
	assert_status 0
	[ "$(tv-blob-get -q two)" = old ]
	[ -z "$(find "$STORE" -name '.tv-*')" ]
}

@test "--abort without a receipt has nothing to discard and succeeds" {
	run tv-blob-put --abort --receipt "$BATS_TEST_TMPDIR/none" two
	assert_status 0
}

@test "--commit refuses a receipt for another name" {
	printf x | tv-blob-put -q --no-commit --receipt "$BATS_TEST_TMPDIR/r" one
	run tv-blob-put --commit --receipt "$BATS_TEST_TMPDIR/r" other
	assert_status 64
	assert_output_contains "not other"
}

@test "--no-commit without --receipt is a usage error" {
	run tv-blob-put --no-commit x </dev/null
	assert_status 64
	assert_output_contains "usage"
}

@test "tv-blob-get of a missing blob exits 66" {
	run tv-blob-get nothing/here
	assert_status 66
	assert_output_contains "nothing/here: no such blob"
}

@test "tv-blob-get detects a blob corrupted in the store and exits 65" {
	printf 'abcdef' | tv-blob-put -q c
	python3 -c 'import os; os.getxattr(os.sys.argv[1], "user.tv.sha256")' "$STORE/backups/c" ||
		skip "no user extended attributes on this file system"
	printf 'X' | dd of="$STORE/backups/c" bs=1 seek=2 conv=notrunc status=none
	run --separate-stderr tv-blob-get c
	assert_status 65
	[[ "$stderr" == *"SHA-256 mismatch"* ]]
}

@test "unusable blob names are refused with 64" {
	for name in ../x a//b /abs a/./b a/ .tv-x/y; do
		run tv-blob-put "$name" </dev/null
		assert_status 64
	done
}

@test "an unset connection string exits 64 and says what to set" {
	unset BACKUP_BLOB_STORAGE_CONNECTION_STRING
	run tv-blob-ls
	assert_status 64
	assert_output_contains "BACKUP_BLOB_STORAGE_CONNECTION_STRING"
}

@test "tv-blob-ls prints name, size and UTC time sorted by name, filtered by prefix" {
	printf 12 | tv-blob-put -q backups/2024-01-02/b
	printf 1 | tv-blob-put -q backups/2024-01-01/a
	printf 123 | tv-blob-put -q other/c
	touch -d '2024-01-15 03:00:07 UTC' "$STORE/backups/backups/2024-01-01/a"
	run --separate-stderr tv-blob-ls backups/
	assert_status 0
	[ "${lines[0]}" = "$(printf 'backups/2024-01-01/a\t1\t2024-01-15T03:00:07Z')" ]
	[[ "${lines[1]}" == "$(printf 'backups/2024-01-02/b\t2\t')"* ]]
	[ "${#lines[@]}" -eq 2 ]
}

@test "tv-blob-ls --json prints an array of name, size and lastModified" {
	printf 1 | tv-blob-put -q x/a
	touch -d '2024-01-15 03:00:07 UTC' "$STORE/backups/x/a"
	run --separate-stderr tv-blob-ls --json x/
	assert_status 0
	[ "$(jq -c . <<<"$output")" = '[{"name":"x/a","size":1,"lastModified":"2024-01-15T03:00:07Z"}]' ]
	run --separate-stderr tv-blob-ls --json nothing/
	[ "$(jq -c . <<<"$output")" = '[]' ]
}

@test "tv-blob-ls lists more than 5,000 blobs, sorted" {
	mkdir -p "$STORE/backups/many"
	(cd "$STORE/backups/many" && seq -w 1 5003 | xargs touch)
	run --separate-stderr tv-blob-ls many/
	assert_status 0
	[ "${#lines[@]}" -eq 5003 ]
	[ "$(printf '%s\n' "${lines[@]}" | cut -f1)" = "$(seq -w 1 5003 | sed 's|^|many/|')" ]
}

@test "tv-blob-ls of an empty or missing container prints nothing and succeeds" {
	run --separate-stderr tv-blob-ls
	assert_status 0
	[ -z "$output" ]
}
