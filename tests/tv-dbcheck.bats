#!/usr/bin/env bats
# tv-dbcheck: the scratch database's checks for tv-rehearse (references by rules, index names,
# dropping), against a real MongoDB-wire server.

bats_require_minimum_version 1.5.0

# Referentially consistent data: every reference points at a document that exists.
declare -gA SIZES=([users]=20 [conversations]=15 [messages]=80 [invites]=5 [files]=10)

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
	local c
	for c in "${!SIZES[@]}"; do
		tv-gendata -s 5 --users 20 --conversations 15 --files 10 "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
	done
}

@test "--help prints the usage on stdout and exits 0; a bad option is 64" {
	run --separate-stderr tv-dbcheck --help
	assert_status 0
	[[ $output == "usage: tv-dbcheck "* ]]
	run tv-dbcheck --bogus
	assert_status 64
}

@test "the generated data is referentially consistent" {
	run --separate-stderr tv-dbcheck -d tralivali --refs "$TV_SRCDIR/scripts/references.conf"
	assert_status 0
	[ "$(jq -s 'map(.dangling) | add' <<<"$output")" -eq 0 ]
	[ "$(jq -s 'map(.checked) | add' <<<"$output")" -gt 100 ]
}

@test "tv-dbcheck finds the same dangling references with the keys in memory and queried in batches" {
	tv-gendata -s 5 --users 20 --conversations 100 messages 30 | tv-restore -q -c messages --drop
	for max in 500000 0; do
		run --separate-stderr tv-dbcheck -d tralivali --refs "$TV_SRCDIR/scripts/references.conf" --max-keys "$max"
		assert_status 65
		jq -s -e 'map(select(.rule == "messages.conversationId -> conversations._id")) | .[0] |
			.checked == 30 and .dangling > 0 and .dangling < 30 and (.examples | length) == 3' <<<"$output"
		jq -s 'map({rule, checked, dangling})' <<<"$output" >"$BATS_TEST_TMPDIR/max-$max.json"
		[[ $stderr == *"messages.conversationId -> conversations._id: "*" of 30 references dangle"* ]]
	done
	assert_same_file "$BATS_TEST_TMPDIR/max-500000.json" "$BATS_TEST_TMPDIR/max-0.json"
}

@test "the live database is never dropped" {
	run tv-dbcheck -d tralivali --drop-database
	assert_status 64
	assert_output_contains "refusing to drop tralivali"
	[ "$(tv-export --count -c users)" -eq 20 ]
}

@test "--configured-db prints the database MONGODB_URI names, without connecting" {
	run --separate-stderr env MONGODB_URI='mongodb://127.0.0.1:1/chat?serverSelectionTimeoutMS=100' tv-dbcheck --configured-db
	assert_status 0
	[ "$output" = chat ]
	run --separate-stderr tv-dbcheck -u 'mongodb://127.0.0.1:1/' --configured-db
	assert_status 0
	[ "$output" = tralivali ]
	run --separate-stderr tv-dbcheck -d x --configured-db
	assert_status 64
}
