#!/usr/bin/env bats
# tv-blob-put against the local directory store (file:/path): uploads, two-phase commit, names.
# The same tools against Azurite: tv-blob-azure.bats; under faults: tv-blob-faults.bats.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	load lib/blob
	tv_use_file_store
}

@test "1 GiB streams through and back byte-exact" {
	tv_blob_round_trip 1073741824 big/1gib.bin
	rm -f "$STORE/backups/big/1gib.bin"
}

@test "blobs live at <path>/<container>/<name>, as in Azure" {
	printf 'hello' | BACKUP_BLOB_CONTAINER_NAME=other tv-blob-put -q backups/2024-01-15/x.bson.gz
	[ "$(cat "$STORE/other/backups/2024-01-15/x.bson.gz")" = hello ]
}

@test "tv-blob-put logs one line per blob, the seed's; -v adds its size and checksum" {
	run --separate-stderr bash -c 'printf abc | tv-blob-put backups/a.gz'
	assert_status 0
	[[ $stderr =~ ^\[[0-9-]+\ [0-9:]+\ INF\]\ Uploaded\ backup\ to:\ backups/a.gz$ ]]
	run --separate-stderr bash -c 'printf abc | tv-blob-put -v backups/b.gz'
	assert_status 0
	[[ $stderr == *"Uploaded backup to: backups/b.gz"*"backups/b.gz: 3 bytes, sha256 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"* ]]
}

@test "-q silences the upload line" {
	run bash -c 'printf abc | tv-blob-put -q backups/a.gz'
	assert_status 0
	[ -z "$output" ]
}

@test "an upload never replaces an earlier blob of the same name: exit 73, nothing overwritten" {
	printf old | tv-blob-put -q a
	run bash -c 'printf new | tv-blob-put -q a'
	assert_status 73
	assert_output_contains "a already exists in the store; nothing was overwritten"
	[ "$(tv-blob-get -q a)" = old ]
	[ -z "$(find "$STORE" -name '.tv-*')" ]
}

@test "of two commits racing for one name exactly one wins" {
	for i in 1 2 3 4 5; do
		tv_blob_race "race/$i"
	done
}

@test "a commit cut off after its link succeeds when run again" {
	printf data | tv-blob-put -q --no-commit --receipt "$BATS_TEST_TMPDIR/r" c
	# What a crash between link(2) and unlink(2) leaves behind.
	ln "$(jq -r .staging "$BATS_TEST_TMPDIR/r")" "$STORE/backups/c"
	run tv-blob-put --commit --receipt "$BATS_TEST_TMPDIR/r" c </dev/null
	assert_status 0
	[ "$(tv-blob-get -q c)" = data ]
	[ -z "$(find "$STORE" -name '.tv-*')" ]
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

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-blob-put --help
	assert_status 0
	[[ $output == "usage: tv-blob-put "* ]]
	[ -z "$stderr" ]
}
