#!/usr/bin/env bats
# tv-export: one collection out of a real MongoDB-wire server as a BSON stream.

bats_require_minimum_version 1.5.0

# Loads a BSON file into db.collection with the real mongorestore.
mongo_load() {
	mongorestore --quiet --maintainInsertionOrder --uri "${MONGODB_URI%/*}/" -d "$1" -c "$2" "$3"
}

setup_file() {
	load lib/common
	tv_start_mongo
	FIXTURES=$(mktemp -d "${TMPDIR:-/tmp}/tv-export.XXXXXX")
	export FIXTURES
	"$TV_BUILDDIR/tests/tv-bsonfixture" types >"$FIXTURES/types.bson"
	"$TV_BUILDDIR/tests/tv-bsonfixture" seq 3000 >"$FIXTURES/seq.bson"
	# mongorestore loads the data, so these tests do not rest on tv-restore.
	mongo_load tralivali types "$FIXTURES/types.bson"
	mongo_load tralivali seq "$FIXTURES/seq.bson"
	mongo_load other only_here "$FIXTURES/types.bson"
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	rm -rf "$FIXTURES"
}

setup() {
	load lib/common
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/tv-export-test.XXXXXX")
}

teardown() {
	rm -rf "$WORK"
}

@test "exports a collection byte-exact as the server stores it" {
	tv-export -c types >"$WORK/out.bson"
	assert_same_file "$FIXTURES/types.bson" "$WORK/out.bson"
}

@test "logs the seed's export line with the document count and BSON size" {
	run --separate-stderr tv-export -c seq
	assert_status 0
	size=$(stat -c %s "$FIXTURES/seq.bson")
	[[ "$stderr" == *"Exported 3000 documents from seq, BSON size: $size bytes"* ]]
}

@test "--stats writes the collection, document count and BSON size as JSON" {
	tv-export -q -c seq --stats "$WORK/stats.json" >"$WORK/out.bson"
	[ "$(cat "$WORK/stats.json")" = "{ \"collection\" : \"seq\", \"documents\" : 3000, \"bsonBytes\" : $(stat -c %s "$WORK/out.bson") }" ]
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-export --help
	assert_status 0
	[[ $output == "usage: tv-export "* ]]
	[ -z "$stderr" ]
}

@test "-q silences the export line" {
	run --separate-stderr tv-export -q -c seq
	assert_status 0
	[ -z "$stderr" ]
}

@test "--query exports only the matching documents" {
	tv-export -c seq --query '{"_id": {"$gte": 2990}}' >"$WORK/out.bson"
	"$TV_BUILDDIR/tests/tv-bsonfixture" seq 10 2990 >"$WORK/want.bson"
	assert_same_file "$WORK/want.bson" "$WORK/out.bson"
}

@test "a small --batch-size still exports every document in order" {
	tv-export -c seq --batch-size 7 >"$WORK/out.bson"
	assert_same_file "$FIXTURES/seq.bson" "$WORK/out.bson"
}

@test "a --batch-size that is not a positive number is a usage error" {
	run tv-export -c seq --batch-size 0
	assert_status 64
	run tv-export -c seq --batch-size 12abc
	assert_status 64
	assert_output_contains "--batch-size"
}

@test "--query that is not JSON is a usage error" {
	run tv-export -c seq --query '{_id: '
	assert_status 64
	assert_output_contains "--query is not a JSON object"
}

@test "--count prints the number of documents, filtered by --query" {
	run --separate-stderr tv-export -c seq --count
	assert_status 0
	[ "$output" = 3000 ]
	run --separate-stderr tv-export -c seq --count --query '{"_id": {"$lt": 100}}'
	assert_status 0
	[ "$output" = 100 ]
}

@test "--list prints the collections sorted, one per line, without restore leftovers" {
	mongo_load listing zeta "$FIXTURES/types.bson"
	mongo_load listing alpha "$FIXTURES/types.bson"
	mongo_load listing tv_restore_staging_alpha_0123abcd "$FIXTURES/types.bson"
	run --separate-stderr tv-export -d listing --list
	assert_status 0
	[ "$output" = "$(printf 'alpha\nzeta')" ]
}

@test "-d chooses the database over the URI's" {
	tv-export -d other -c only_here >"$WORK/out.bson"
	assert_same_file "$FIXTURES/types.bson" "$WORK/out.bson"
}

@test "the URI's database is used when -d is not given" {
	MONGODB_URI="${MONGODB_URI%/tralivali}/other" tv-export -c only_here >"$WORK/out.bson"
	assert_same_file "$FIXTURES/types.bson" "$WORK/out.bson"
}

@test "the database defaults to tralivali when the URI names none" {
	MONGODB_URI="${MONGODB_URI%/tralivali}/" tv-export -c types >"$WORK/out.bson"
	assert_same_file "$FIXTURES/types.bson" "$WORK/out.bson"
}

@test "-u takes precedence over MONGODB_URI" {
	MONGODB_URI=mongodb://127.0.0.1:1/tralivali tv-export -u "$MONGODB_URI" -c types >"$WORK/out.bson"
	assert_same_file "$FIXTURES/types.bson" "$WORK/out.bson"
}

@test "a missing collection exits 66 naming it, with nothing on stdout" {
	run --separate-stderr tv-export -c no_such_collection
	assert_status 66
	[ -z "$output" ]
	[[ "$stderr" == *"no collection no_such_collection in database tralivali"* ]]
	run tv-export -c no_such_collection --count
	assert_status 66
}

@test "--metadata writes the collection's indexes, uuid, name and type" {
	tv-export -c types --metadata "$WORK/types.metadata.json" >/dev/null
	run cat "$WORK/types.metadata.json"
	assert_output_contains '{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"}]'
	assert_output_contains '"collectionName":"types","type":"collection"}'
	[[ "$output" =~ \"uuid\":\"[0-9a-f]{32}\" ]]
}

@test "an unreachable server exits 69 at once, naming the host but not the password" {
	port=$(tv_free_port)
	SECONDS=0
	run tv-export -u "mongodb://backup:s3cret@127.0.0.1:$port/tralivali" -c users
	assert_status 69
	[ "$SECONDS" -lt 5 ]
	assert_output_contains "cannot reach MongoDB at mongodb://backup:***@127.0.0.1:$port/tralivali"
	refute_output_contains "s3cret"
}

@test "a server that accepts but never answers exits 69 within the URI's timeout" {
	port=$(tv_free_port)
	python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(30)' "$port" 3>&- &
	silent=$!
	tv_wait_port "$port" 10
	SECONDS=0
	run tv-export -u "mongodb://127.0.0.1:$port/?serverSelectionTimeoutMS=1500&connectTimeoutMS=1500" -c users
	kill "$silent"
	assert_status 69
	[ "$SECONDS" -lt 10 ]
	assert_output_contains "127.0.0.1:$port"
}

@test "driver warnings (FerretDB lacks endSessions) appear only with -v" {
	run --separate-stderr tv-export -c types
	assert_status 0
	[[ "$stderr" != *"driver"* ]]
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	run --separate-stderr tv-export -v -c types
	assert_status 0
	[[ "$stderr" == *"connecting to"* ]]
	if [ "$TV_MONGO_SERVER" = ferretdb ]; then
		[[ "$stderr" == *"driver WARNING"*"endSessions"* ]]
	fi
}

@test "an invalid URI is a usage error" {
	run tv-export -u "http://example.com" -c users
	assert_status 64
	assert_output_contains "invalid MongoDB URI"
}

@test "usage errors exit 64" {
	run tv-export
	assert_status 64
	assert_output_contains "usage: tv-export"
	run tv-export -c users extra
	assert_status 64
	run tv-export --list -c users
	assert_status 64
}

@test "exporting a 15 MiB document and thousands of small ones stays under 64 MiB of memory" {
	"$TV_BUILDDIR/tests/tv-bsonfixture" big >"$WORK/big.bson"
	"$TV_BUILDDIR/tests/tv-bsonfixture" seq 20000 1000 >>"$WORK/big.bson"
	mongo_load tralivali big "$WORK/big.bson"
	/usr/bin/time -f '%M' -o "$WORK/rss" tv-export -q -c big >"$WORK/out.bson"
	assert_same_file "$WORK/big.bson" "$WORK/out.bson"
	[ "$(cat "$WORK/rss")" -le 65536 ]
}

@test "a wrong password exits 77 and never shows the password" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "needs FerretDB's --setup-username to create a user"
	local port dir pid
	port=$(tv_free_port)
	dir="$WORK/auth"
	mkdir "$dir"
	ferretdb --handler=sqlite --sqlite-url="file:$dir/" --state-dir="$dir" \
		--listen-addr="127.0.0.1:$port" --debug-addr=- --telemetry=disable --log-level=error \
		--test-enable-new-auth --setup-database=tralivali --setup-username=backup \
		--setup-password=right-one >"$dir/server.log" 2>&1 </dev/null 3>&- &
	pid=$!
	tv_wait_port "$port" 30
	run tv-export -u "mongodb://backup:wrong-one@127.0.0.1:$port/tralivali" --list
	run_wrong=$status
	out_wrong=$output
	run tv-export -u "mongodb://backup:right-one@127.0.0.1:$port/tralivali" --list
	tv_stop_pid "$pid"
	assert_status 0
	[ "$run_wrong" -eq 77 ]
	[[ "$out_wrong" == *"authentication to mongodb://backup:***@127.0.0.1:$port/tralivali failed"* ]]
	[[ "$out_wrong" != *"wrong-one"* ]]
}
