#!/usr/bin/env bats
# The real servers and tools the behaviour tests rely on start, answer and stop.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	tv_start_azurite
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	tv_stop_azurite
}

setup() {
	load lib/common
	load lib/azure
}

@test "the MongoDB-wire server stores and finds a document through the C driver" {
	# FerretDB lacks endSessions, so the driver warns on stderr at exit: compare stdout alone.
	run --separate-stderr "$TV_BUILDDIR/tests/mongo-smoke"
	assert_status 0
	[ "$output" = "found 1" ]
}

@test "Azurite creates a container, stores a blob and returns it byte-exact" {
	local dir
	dir=$(mktemp -d)
	head -c 100000 /dev/urandom >"$dir/in"
	az_curl PUT "/smoke?restype=container" -o /dev/null
	AZ_CONTENT_LENGTH=100000 AZ_BLOB_TYPE=BlockBlob az_curl PUT /smoke/blob.bin -T "$dir/in" -o /dev/null
	az_curl GET /smoke/blob.bin -o "$dir/out"
	assert_same_file "$dir/in" "$dir/out"
	rm -rf "$dir"
}

@test "Azurite refuses a request signed with the wrong key" {
	AZURITE_KEY=$(printf 'wrong key' | base64) run az_curl PUT "/refused?restype=container"
	[ "$status" -ne 0 ]
	assert_output_contains "AuthorizationFailure"
}

@test "the real mongo-tools are installed" {
	run bsondump --version
	assert_status 0
	assert_output_contains "bsondump version"
	run mongodump --version
	assert_status 0
	run mongorestore --version
	assert_status 0
}
