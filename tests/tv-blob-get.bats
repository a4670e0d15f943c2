#!/usr/bin/env bats
# tv-blob-get against the local directory store (file:/path): byte-exact reads and verification.
# The same tools against Azurite: tv-blob-azure.bats; under faults: tv-blob-faults.bats.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	load lib/blob
	tv_use_file_store
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

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-blob-get --help
	assert_status 0
	[[ $output == "usage: tv-blob-get "* ]]
	[ -z "$stderr" ]
}
