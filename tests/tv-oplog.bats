#!/usr/bin/env bats
# tv-oplog against FerretDB with an oplog: which entries come out, where a read starts and ends,
# and what a broken chain or a server without an oplog says.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	tv_enable_oplog
	# FerretDB logs nothing in an oplog that does not exist yet: give the tests a first entry.
	"$TV_BUILDDIR/tests/tv-mongo-cmd" '{"insert": "users", "documents": [{"_id": "first"}]}' >/dev/null
}

teardown_file() {
	load lib/common
	tv_stop_mongo
}

setup() {
	load lib/common
}

# Runs database commands (JSON) on the test server, in database tralivali unless -d is given.
db() {
	"$TV_BUILDDIR/tests/tv-mongo-cmd" "$@" >/dev/null
}

# Prints "ns op _id" for every entry of the BSON stream in file $1.
entries() {
	bsondump --quiet "$1" | jq -r '"\(.ns) \(.op) \(.o2._id // .o._id)"'
}

@test "inserts, updates and deletes of the database come out in order with their namespace and op" {
	start=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "u1", "name": "Ann"}, {"_id": "u2"}]}' \
		'{"update": "users", "updates": [{"q": {"_id": "u1"}, "u": {"$set": {"name": "Bea"}}}]}' \
		'{"delete": "users", "deletes": [{"q": {"_id": "u2"}, "limit": 1}]}' \
		'{"insert": "messages", "documents": [{"_id": "m1"}]}'
	run tv-oplog --since "$start" --stats "$BATS_TEST_TMPDIR/stats.json"
	assert_status 0
	tv-oplog --since "$start" >"$BATS_TEST_TMPDIR/out.bson"
	[ "$(entries "$BATS_TEST_TMPDIR/out.bson")" = "tralivali.users i u1
tralivali.users i u2
tralivali.users u u1
tralivali.users d u2
tralivali.messages i m1" ]
	# FerretDB logs an update as a $v: 1 $set of the whole document.
	[ "$(bsondump --quiet "$BATS_TEST_TMPDIR/out.bson" | jq -c 'select(.op == "u") | .o."$set".name')" = '"Bea"' ]
	[ "$(jq .count "$BATS_TEST_TMPDIR/stats.json")" = 5 ]
	[ "$(jq .bytes "$BATS_TEST_TMPDIR/stats.json")" = "$(stat -c %s "$BATS_TEST_TMPDIR/out.bson")" ]
}

@test "other databases' entries are left out, but the read goes on through them" {
	start=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "o1"}]}'
	db -d elsewhere '{"insert": "users", "documents": [{"_id": "x1"}]}'
	db -d tralivali_restore '{"insert": "users", "documents": [{"_id": "x2"}]}'
	end=$(tv-oplog --last)
	tv-oplog --since "$start" --stats "$BATS_TEST_TMPDIR/stats.json" >"$BATS_TEST_TMPDIR/out.bson"
	[ "$(entries "$BATS_TEST_TMPDIR/out.bson")" = "tralivali.users i o1" ]
	[ "$(jq -r .scannedLast "$BATS_TEST_TMPDIR/stats.json")" = "$end" ]
	[ "$(jq -r .last "$BATS_TEST_TMPDIR/stats.json")" != "$end" ]
	# -d picks the database.
	tv-oplog -d elsewhere --since "$start" >"$BATS_TEST_TMPDIR/other.bson"
	[ "$(entries "$BATS_TEST_TMPDIR/other.bson")" = "elsewhere.users i x1" ]
}

@test "--since is exclusive and --until inclusive" {
	db '{"insert": "users", "documents": [{"_id": "s1"}]}'
	a=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "s2"}]}'
	b=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "s3"}]}'
	tv-oplog --since "$a" --until "$b" --stats "$BATS_TEST_TMPDIR/stats.json" >"$BATS_TEST_TMPDIR/out.bson"
	[ "$(entries "$BATS_TEST_TMPDIR/out.bson")" = "tralivali.users i s2" ]
	[ "$(jq -r '[.since, .first, .last, .scannedLast] | join(" ")' "$BATS_TEST_TMPDIR/stats.json")" = "$a $b $b $b" ]
	# The catalogue's checker agrees: every entry after a, up to b, in order.
	tv-catalog oplog-check --after "$a" --until "$b" --entries 1 <"$BATS_TEST_TMPDIR/out.bson"
	# A backup during which nothing was written: its oplog is empty.
	tv-oplog --since "$b" --until "$b" >"$BATS_TEST_TMPDIR/none.bson"
	[ ! -s "$BATS_TEST_TMPDIR/none.bson" ]
}

@test "without --until a read ends at the newest entry when it started, and names its slice" {
	start=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "c1"}]}'
	end=$(tv-oplog --last)
	run -0 timeout 30 tv-oplog --since "$start" --stats "$BATS_TEST_TMPDIR/stats.json"
	[ "$(jq -r .scannedLast "$BATS_TEST_TMPDIR/stats.json")" = "$end" ]
	[ "$(jq -r .slice "$BATS_TEST_TMPDIR/stats.json")" = "oplog/$(date -u -d "@${start%.*}" +%F)/$start-$end.bson.gz" ]
	[ "$(jq -r .sliceIndex "$BATS_TEST_TMPDIR/stats.json")" = "oplog/$(date -u -d "@${start%.*}" +%F)/$start-$end.json" ]
	# Caught up already: nothing read, no slice.
	tv-oplog --since "$end" --stats "$BATS_TEST_TMPDIR/none.json" >"$BATS_TEST_TMPDIR/none.bson"
	[ ! -s "$BATS_TEST_TMPDIR/none.bson" ]
	[ "$(jq -c '[.count, .first, .scannedLast, .slice]' "$BATS_TEST_TMPDIR/none.json")" = "[0,null,\"$end\",null]" ]
}

@test "--follow writes entries as they come and ends after --max-seconds" {
	start=$(tv-oplog --last)
	(
		sleep 1
		db '{"insert": "users", "documents": [{"_id": "f1"}]}'
	) &
	began=$SECONDS
	tv-oplog --since "$start" --follow --max-seconds 3 --stats "$BATS_TEST_TMPDIR/stats.json" >"$BATS_TEST_TMPDIR/out.bson"
	took=$((SECONDS - began))
	wait
	[ "$(entries "$BATS_TEST_TMPDIR/out.bson")" = "tralivali.users i f1" ]
	[ "$took" -ge 2 ] && [ "$took" -le 8 ]
}

@test "--max-bytes ends a read after the entry that reaches it" {
	start=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "b1"}, {"_id": "b2"}, {"_id": "b3"}]}'
	tv-oplog --since "$start" --max-bytes 1 --stats "$BATS_TEST_TMPDIR/stats.json" >"$BATS_TEST_TMPDIR/out.bson"
	[ "$(entries "$BATS_TEST_TMPDIR/out.bson")" = "tralivali.users i b1" ]
	[ "$(jq -r .scannedLast "$BATS_TEST_TMPDIR/stats.json")" = "$(jq -r .last "$BATS_TEST_TMPDIR/stats.json")" ]
	run -0 timeout 30 tv-oplog --since "$start" --follow --max-bytes 1
}

@test "what tv-oplog captures, tv-replay applies: a copy of the database follows the original" {
	start=$(tv-oplog --last)
	db '{"insert": "invites", "documents": [{"_id": 1, "a": 1}, {"_id": 2, "a": 2}, {"_id": 3}]}' \
		'{"update": "invites", "updates": [{"q": {"_id": 1}, "u": {"$set": {"a": 10}}},
			{"q": {"_id": 9}, "u": {"$set": {"u": 1}}, "upsert": true}]}' \
		'{"delete": "invites", "deletes": [{"q": {"_id": 2}, "limit": 1}]}'
	tv-oplog --since "$start" | tv-replay -q -d copy --from-db tralivali
	tv-export -q -c invites >"$BATS_TEST_TMPDIR/original.bson"
	tv-export -q -d copy -c invites >"$BATS_TEST_TMPDIR/copy.bson"
	assert_same_file "$BATS_TEST_TMPDIR/original.bson" "$BATS_TEST_TMPDIR/copy.bson"
	[ "$(bsondump --quiet "$BATS_TEST_TMPDIR/copy.bson" | jq -c 'del(._id)' | tr -d '\n')" = '{"a":{"$numberInt":"10"}}{}{"u":{"$numberInt":"1"}}' ]
}

@test "--first and --last print the oldest and newest positions" {
	run -0 tv-oplog --first
	[[ $output =~ ^[0-9]+\.[0-9]+$ ]]
	first=$output
	run -0 tv-oplog --last
	[[ $output =~ ^[0-9]+\.[0-9]+$ ]]
	[ "$(printf '%s\n' "$output" "$first" | sort -t . -k 1,1n -k 2,2n | head -n 1)" = "$first" ]
}

@test "a position after the newest entry is not this server's: exit 65" {
	last=$(tv-oplog --last)
	run -65 tv-oplog --since "$((${last%.*} + 100)).1"
	assert_output_contains "is after the newest oplog entry $last: not a position of this server's oplog"
}

@test "bad positions and options are usage errors; --help prints the usage on stdout" {
	run -64 tv-oplog --since 12
	assert_output_contains '--since takes an oplog position T.I (e.g. 1705287600.1), not "12"'
	run -64 tv-oplog --until 1.2 --follow
	run -64 tv-oplog --last --since 1.2
	run -64 tv-oplog --since 5.1 --until 4.1
	run -64 tv-oplog --follow --max-seconds 0
	run -0 --separate-stderr tv-oplog --help
	[[ $output == usage:* ]]
	[ -z "$stderr" ]
}

@test "an unreachable server is exit 69" {
	run -69 env MONGODB_URI="mongodb://127.0.0.1:$(tv_free_port)/tralivali?serverSelectionTimeoutMS=500" tv-oplog --last
	assert_output_contains "cannot reach MongoDB"
}

@test "when the oplog no longer reaches back to --since: exit 65, saying from when to when the chain is broken" {
	db '{"insert": "users", "documents": [{"_id": "g1"}]}'
	lost=$(tv-oplog --last)
	db '{"insert": "users", "documents": [{"_id": "g2"}]}'
	# The capped collection rolling over, made to happen: the entries up to $lost go.
	db -d local "{\"delete\": \"oplog.rs\", \"deletes\": [{\"q\": {\"ts\": {\"\$lte\": {\"\$timestamp\": {\"t\": ${lost%.*}, \"i\": ${lost#*.}}}}}, \"limit\": 0}]}"
	oldest=$(tv-oplog --first)
	iso() { date -u -d "@${1%.*}" +%FT%TZ; }
	run -65 tv-oplog --since "$lost" --stats "$BATS_TEST_TMPDIR/stats.json"
	assert_output_contains "the oplog no longer reaches back to $lost (oldest entry is $oldest at $(iso "$oldest")): the chain is broken from $(iso "$lost") to $(iso "$oldest")"
	[ "$(jq -c .gap "$BATS_TEST_TMPDIR/stats.json")" = "{\"from\":\"$lost\",\"to\":\"$oldest\",\"fromTime\":\"$(iso "$lost")\",\"toTime\":\"$(iso "$oldest")\",\"record\":\"oplog/$(date -u -d "@${lost%.*}" +%F)/$lost-$oldest.break.json\"}" ]
	# A position still held reads on.
	run -0 tv-oplog --since "$oldest"
	run -65 tv-oplog --since "$lost" --follow --max-seconds 1
}

@test "a server without an oplog (a standalone) is exit 66 with a clear message" {
	db -d local '{"drop": "oplog.rs"}'
	run -66 tv-oplog --last
	assert_output_contains "keeps no oplog (no local.oplog.rs): a standalone server; point-in-time capture needs a replica set member"
	run -66 tv-oplog --since 1.1
}
