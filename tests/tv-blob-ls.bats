#!/usr/bin/env bats
# tv-blob-ls against the local directory store (file:/path): listings.
# The same tools against Azurite: tv-blob-azure.bats; under faults: tv-blob-faults.bats.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	load lib/blob
	tv_use_file_store
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

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-blob-ls --help
	assert_status 0
	[[ $output == "usage: tv-blob-ls "* ]]
	[ -z "$stderr" ]
}

@test "--can: a file store's credential may do everything; the question lists nothing" {
	printf x | tv-blob-put -q a
	local p
	for p in read list write delete; do
		run --separate-stderr tv-blob-ls --role prune --can "$p"
		assert_status 0
		[ -z "$output" ]
	done
	run tv-blob-ls --can erase
	assert_status 64
	assert_output_contains "--can: read, list, write or delete, not erase"
	run tv-blob-ls --can delete a/
	assert_status 64
}

@test "each role picks its own connection string, else BACKUP_BLOB_STORAGE_CONNECTION_STRING" {
	printf main | tv-blob-put -q a
	mkdir -p "$BATS_TEST_TMPDIR/restore/backups" "$BATS_TEST_TMPDIR/prune/backups"
	printf r >"$BATS_TEST_TMPDIR/restore/backups/r"
	printf p >"$BATS_TEST_TMPDIR/prune/backups/p"
	[ "$(tv-blob-ls --role backup | cut -f1)" = a ]
	[ "$(tv-blob-ls --role restore | cut -f1)" = a ]
	export BACKUP_RESTORE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/restore
	printf 'file:%s' "$BATS_TEST_TMPDIR/prune" >"$BATS_TEST_TMPDIR/prune.cs"
	export BACKUP_PRUNE_CONNECTION_STRING_FILE=$BATS_TEST_TMPDIR/prune.cs
	[ "$(tv-blob-ls | cut -f1)" = r ]
	[ "$(tv-blob-ls --role restore | cut -f1)" = r ]
	[ "$(tv-blob-ls --role prune | cut -f1)" = p ]
	[ "$(tv-blob-ls --role backup | cut -f1)" = a ]
	[ "$(tv-blob-get r)" = r ]
	[ "$(tv-blob-get --role backup a)" = main ]
	run tv-blob-ls --role admin
	assert_status 64
	assert_output_contains "--role: not a role (backup, restore, prune, copy): admin"
}
