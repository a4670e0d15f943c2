#!/usr/bin/env bats
# tv-gzip with the real mongo-tools: mongorestore --gzip (Go's reader) takes tv-gzip's output,
# and tv-gzip -d takes mongodump --gzip's.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
}

teardown_file() {
	load lib/common
	tv_stop_mongo
}

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
}

@test "mongorestore --gzip restores every document of a collection compressed by tv-gzip" {
	mkdir -p "$T/dump/tralivali"
	tv-gendata users 500 | tv-gzip >"$T/dump/tralivali/users.bson.gz"
	run mongorestore --uri "$MONGODB_URI" --gzip --drop --dir "$T/dump/tralivali"
	assert_status 0
	assert_output_contains "500 document(s) restored successfully. 0 document(s) failed to restore."
}

@test "tv-gzip -d reads what mongodump --gzip writes" {
	mkdir -p "$T/in/tralivali"
	tv-gendata invites 700 >"$T/in/tralivali/invites.bson"
	mongorestore --uri "$MONGODB_URI" --drop --dir "$T/in/tralivali" 2>/dev/null
	mongodump --uri "$MONGODB_URI" --gzip --out "$T/out" -c invites 2>/dev/null
	tv-gzip -d <"$T/out/tralivali/invites.bson.gz" >"$T/invites.bson"
	run bsondump --objcheck --outFile /dev/null "$T/invites.bson"
	assert_status 0
	assert_output_contains "700 objects found"
}
