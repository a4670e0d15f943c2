#!/usr/bin/env bats
# tv-gendata: the benchmark data generator is deterministic and writes valid BSON.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
}

@test "the same seed and arguments give byte-identical output" {
	a=$(tv-gendata -s 7 messages 2000 | sha256sum)
	b=$(tv-gendata -s 7 messages 2000 | sha256sum)
	[ "$a" = "$b" ]
}

@test "a different seed gives different output" {
	a=$(tv-gendata -s 7 users 100 | sha256sum)
	b=$(tv-gendata -s 8 users 100 | sha256sum)
	[ "$a" != "$b" ]
}

@test "every collection is a valid BSON stream with the requested number of documents" {
	for c in users conversations messages invites files; do
		run bsondump --objcheck --outFile /dev/null <(tv-gendata "$c" 321)
		assert_status 0
		assert_output_contains "321 objects found"
	done
}

@test "messages average about 375 bytes" {
	size=$(tv-gendata messages 20000 | wc -c)
	[ "$size" -gt $((20000 * 340)) ] && [ "$size" -lt $((20000 * 410)) ]
}

@test "zero documents is an empty stream" {
	run --separate-stderr tv-gendata files 0
	assert_status 0
	[ -z "$output" ]
}

@test "an unknown collection is a usage error" {
	run tv-gendata widgets 10
	assert_status 64
	assert_output_contains "usage:"
}

@test "a count that is not a number is a usage error" {
	run tv-gendata users 10x
	assert_status 64
}
