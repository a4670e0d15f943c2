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
