#!/usr/bin/env bats
# tv-replay: oplog streams applied to a real MongoDB-wire server, idempotently, up to a position.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	FIXTURES=$(mktemp -d "${TMPDIR:-/tmp}/tv-replay.XXXXXX")
	export FIXTURES
	tv-gendata users 40 >"$FIXTURES/users.bson"
	tv-gendata messages 60 >"$FIXTURES/messages.bson"
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	rm -rf "$FIXTURES"
}

setup() {
	load lib/common
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/tv-replay-test.XXXXXX")
	# Each test gets its own database, so tests cannot see each other's collections.
	DB="t$BATS_TEST_NUMBER"
}

teardown() {
	rm -rf "$WORK"
}

# Turns extended JSON documents on stdin into a BSON stream in file $1.
bson_from_json() {
	"$TV_BUILDDIR/tests/tv-oplogfixture" json >"$1"
}

# An oplog position inside the fixture's second: 1700000000 is 2023-11-14T22:13:20Z.
ts() {
	printf '{"$timestamp": {"t": 1700000000, "i": %d}}' "$1"
}

# Prints the _id of document $2 (from 1) of BSON file $1 as extended JSON.
id_of() {
	bsondump --quiet "$1" | sed -n "$2p" | jq -c '._id'
}

# Prints the documents of collection $2 of database $1, one canonical extended JSON line each,
# sorted: writes to different documents land in parallel, so the server's natural order of
# inserted documents is not the stream's.
documents() {
	tv-export -q -d "$1" -c "$2" | bsondump --quiet 2>/dev/null | sort
}

# Fails unless collection $2 of database $1 holds exactly the documents of BSON file $3.
assert_collection() {
	documents "$1" "$2" >"$WORK/actual.json"
	bsondump --quiet "$3" 2>/dev/null | sort >"$WORK/expected.json"
	if ! cmp -s "$WORK/expected.json" "$WORK/actual.json"; then
		echo "collection $1.$2 differs from $3:" >&2
		diff "$WORK/expected.json" "$WORK/actual.json" >&2
		return 1
	fi
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-replay --help
	assert_status 0
	[[ "$output" == usage:* ]]
	[ -z "$stderr" ]
}

@test "a usage error prints the usage on stderr and exits 64" {
	run --separate-stderr tv-replay --until yesterday
	assert_status 64
	[[ "$stderr" == *"--until must be T.I"* ]]
	run --separate-stderr tv-replay --rename messages
	assert_status 64
	[[ "$stderr" == *"--rename takes FROM=TO"* ]]
}

@test "inserts, \$v: 1 and \$v: 2 updates, replacements and deletes give exactly the expected documents" {
	bson_from_json "$WORK/oplog.bson" <<-EOF
	{"ts": $(ts 1), "op": "i", "ns": "tralivali.m", "o": {"_id": 1, "a": 1, "arr": [1, 2, 3, 4], "sub": {"p": 1, "q": 2}}}
	{"ts": $(ts 2), "op": "i", "ns": "tralivali.m", "o": {"_id": 2, "a": 1, "gone": true}}
	{"ts": $(ts 3), "op": "i", "ns": "tralivali.m", "o": {"_id": 3, "x": "deleted later"}}
	{"ts": $(ts 4), "op": "u", "ns": "tralivali.m", "o2": {"_id": 1}, "o": {"\$v": 2, "diff": {"u": {"a": 2}, "i": {"b": "new"}, "sarr": {"a": true, "l": 2, "u1": "y"}, "ssub": {"d": {"p": false}, "i": {"r": [1]}}}}}
	{"ts": $(ts 5), "op": "u", "ns": "tralivali.m", "o2": {"_id": 2}, "o": {"\$v": 1, "\$set": {"a": 5}, "\$unset": {"gone": true}}}
	{"ts": $(ts 6), "op": "u", "ns": "tralivali.m", "o2": {"_id": 3}, "o": {"_id": 3, "x": "replaced"}}
	{"ts": $(ts 7), "op": "d", "ns": "tralivali.m", "o": {"_id": 3}}
	{"ts": $(ts 8), "op": "d", "ns": "tralivali.m", "o": {"_id": 99}}
	{"ts": $(ts 9), "op": "u", "ns": "tralivali.m", "o2": {"_id": 4}, "o": {"\$v": 2, "diff": {"i": {"made": "by upsert"}}}}
	{"ts": $(ts 10), "op": "n", "ns": "", "o": {"msg": "periodic noop"}}
	EOF
	bson_from_json "$WORK/expected.bson" <<-'EOF'
	{"_id": 1, "a": 2, "arr": [1, "y"], "sub": {"q": 2, "r": [1]}, "b": "new"}
	{"_id": 2, "a": 5}
	{"_id": 4, "made": "by upsert"}
	EOF
	tv-replay -q -d "$DB" --from-db tralivali --stats "$WORK/stats.json" <"$WORK/oplog.bson"
	assert_collection "$DB" m "$WORK/expected.bson"
	run jq -c . "$WORK/stats.json"
	[ "$output" = '{"entries":10,"applied":9,"skipped":1,"inserts":3,"updates":4,"deletes":2,"commands":0,"first":"1700000000.1","last":"1700000000.10","reachedUntil":false}' ]
}

@test "replaying the same stream twice onto a restored base leaves the same collection" {
	tv-restore -q -d "$DB" -c users <"$FIXTURES/users.bson"
	first=$(id_of "$FIXTURES/users.bson" 1)
	second=$(id_of "$FIXTURES/users.bson" 2)
	bson_from_json "$WORK/oplog.bson" <<-EOF
	{"ts": $(ts 1), "op": "u", "ns": "tralivali.users", "o2": {"_id": $first}, "o": {"\$v": 2, "diff": {"i": {"status": "away"}}}}
	{"ts": $(ts 2), "op": "d", "ns": "tralivali.users", "o": {"_id": $second}}
	{"ts": $(ts 3), "op": "i", "ns": "tralivali.users", "o": {"_id": "new-user", "name": "n"}}
	{"ts": $(ts 4), "op": "u", "ns": "tralivali.users", "o2": {"_id": "new-user"}, "o": {"\$v": 1, "\$set": {"name": "m"}}}
	EOF
	tv-replay -q -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	tv-export -q -d "$DB" -c users >"$WORK/once.bson"
	[ "$(bsondump --quiet "$WORK/once.bson" | wc -l)" -eq 40 ]
	tv-replay -q -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	assert_collection "$DB" users "$WORK/once.bson"
}

@test "--until T.I applies the entry at that position and stops at the next" {
	for i in 1 2 3 4 5; do
		echo "{\"ts\": $(ts $i), \"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"_id\": $i}}"
	done | bson_from_json "$WORK/oplog.bson"
	printf '{"_id": %d}\n' 1 2 3 | bson_from_json "$WORK/expected.bson"
	tv-replay -q -d "$DB" --from-db tralivali --until 1700000000.3 --stats "$WORK/stats.json" <"$WORK/oplog.bson"
	assert_collection "$DB" m "$WORK/expected.bson"
	[ "$(jq -r '"\(.last) \(.reachedUntil) \(.entries)"' "$WORK/stats.json")" = "1700000000.3 true 3" ]
}

@test "--until an ISO-8601 second includes every entry within that second" {
	{
		echo "{\"ts\": $(ts 7), \"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"_id\": 1}}"
		echo '{"ts": {"$timestamp": {"t": 1700000001, "i": 1}}, "op": "i", "ns": "tralivali.m", "o": {"_id": 2}}'
	} | bson_from_json "$WORK/oplog.bson"
	echo '{"_id": 1}' | bson_from_json "$WORK/expected.bson"
	tv-replay -q -d "$DB" --from-db tralivali --until 2023-11-14T22:13:20Z <"$WORK/oplog.bson"
	assert_collection "$DB" m "$WORK/expected.bson"
}

@test "--collections skips the others and --rename replays into a staging collection" {
	bson_from_json "$WORK/oplog.bson" <<-EOF
	{"ts": $(ts 1), "op": "i", "ns": "tralivali.messages", "o": {"_id": 1}}
	{"ts": $(ts 2), "op": "i", "ns": "tralivali.files", "o": {"_id": 2}}
	{"ts": $(ts 3), "op": "c", "ns": "tralivali.\$cmd", "o": {"drop": "files"}}
	EOF
	echo '{"_id": 1}' | bson_from_json "$WORK/expected.bson"
	tv-replay -q -d "$DB" --from-db tralivali --collections messages,users --rename messages=tvstage_1_messages \
		--stats "$WORK/stats.json" <"$WORK/oplog.bson"
	assert_collection "$DB" tvstage_1_messages "$WORK/expected.bson"
	run tv-export -q -d "$DB" --list
	[ "$output" = tvstage_1_messages ]
	[ "$(jq -r '"\(.applied) \(.skipped)"' "$WORK/stats.json")" = "1 2" ]
}

@test "DDL create, createIndexes, dropIndexes and drop are applied, twice as well" {
	bson_from_json "$WORK/oplog.bson" <<-EOF
	{"ts": $(ts 1), "op": "c", "ns": "tralivali.\$cmd", "o": {"create": "c", "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}}}
	{"ts": $(ts 2), "op": "c", "ns": "tralivali.\$cmd", "o": {"createIndexes": "c", "v": 2, "key": {"a": 1}, "name": "a_1"}}
	{"ts": $(ts 3), "op": "c", "ns": "tralivali.\$cmd", "o": {"createIndexes": "c", "v": 2, "key": {"b": 1}, "name": "b_1"}}
	{"ts": $(ts 4), "op": "c", "ns": "tralivali.\$cmd", "o": {"dropIndexes": "c", "index": "b_1"}}
	{"ts": $(ts 5), "op": "c", "ns": "tralivali.\$cmd", "o": {"create": "gone"}}
	{"ts": $(ts 6), "op": "c", "ns": "tralivali.\$cmd", "o": {"drop": "gone"}}
	EOF
	tv-replay -q -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	tv-replay -q -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	run tv-export -q -d "$DB" --list
	[ "$output" = c ]
	tv-export -q -d "$DB" -c c --metadata "$WORK/c.metadata.json" >/dev/null
	[ "$(jq -c '[.indexes[].name]' "$WORK/c.metadata.json")" = '["_id_","a_1"]' ]
}

@test "renameCollection is refused with 65 naming the op and its position, after the writes before it" {
	bson_from_json "$WORK/oplog.bson" <<-EOF
	{"ts": $(ts 1), "op": "i", "ns": "tralivali.m", "o": {"_id": 1}}
	{"ts": $(ts 2), "op": "c", "ns": "tralivali.\$cmd", "o": {"renameCollection": "tralivali.m", "to": "tralivali.n"}}
	{"ts": $(ts 3), "op": "i", "ns": "tralivali.m", "o": {"_id": 2}}
	EOF
	run tv-replay -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	assert_status 65
	assert_output_contains "DDL op renameCollection of tralivali.m at 1700000000.2 is not supported"
	assert_output_contains "byte offset"
	echo '{"_id": 1}' | bson_from_json "$WORK/expected.bson"
	assert_collection "$DB" m "$WORK/expected.bson"
}

@test "a transaction split over partialTxn entries is applied at its commit" {
	lsid='"lsid": {"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}}, "txnNumber": 1'
	bson_from_json "$WORK/oplog.bson" <<-EOF
	{"ts": $(ts 1), "op": "c", "ns": "admin.\$cmd", $lsid, "prevOpTime": {"ts": {"\$timestamp": {"t": 0, "i": 0}}, "t": -1}, "o": {"applyOps": [{"op": "i", "ns": "tralivali.m", "o": {"_id": 1}}], "partialTxn": true}}
	{"ts": $(ts 2), "op": "c", "ns": "admin.\$cmd", $lsid, "prevOpTime": {"ts": $(ts 1), "t": 1}, "o": {"applyOps": [{"op": "u", "ns": "tralivali.m", "o2": {"_id": 1}, "o": {"\$v": 2, "diff": {"i": {"t": 1}}}}], "count": 2}}
	EOF
	echo '{"_id": 1, "t": 1}' | bson_from_json "$WORK/expected.bson"
	tv-replay -q -d "$DB" --from-db tralivali --until 1700000000.1 <"$WORK/oplog.bson" 2>"$WORK/err"
	grep -q "1 transaction(s) have no commit at or before the end position" "$WORK/err"
	run tv-export -q -d "$DB" --list
	[ -z "$output" ]
	tv-replay -q -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	assert_collection "$DB" m "$WORK/expected.bson"
}

@test "bad input exits 65 naming the entry: corrupt BSON, unknown op" {
	echo "{\"ts\": $(ts 1), \"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"_id\": 1}}" |
		bson_from_json "$WORK/oplog.bson"
	head -c 20 "$WORK/oplog.bson" >>"$WORK/oplog.bson"
	run tv-replay -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	assert_status 65
	assert_output_contains "stdin"
	assert_output_contains "offset"
	echo "{\"ts\": $(ts 1), \"op\": \"x\", \"ns\": \"tralivali.m\", \"o\": {}}" | bson_from_json "$WORK/bad.bson"
	run tv-replay --dry-run --from-db tralivali <"$WORK/bad.bson"
	assert_status 65
	assert_output_contains "entry 0 (byte offset 0): unknown op 'x' at 1700000000.1"
}

@test "an entry of another database than --from-db (by default the target, -d) exits 65 and applies nothing, as does an ns that is not db.collection" {
	local ns
	for ns in admin.system.users otherdb.users tralivali2.users .. tralivali... tralivali.../x; do
		{
			echo "{\"ts\": $(ts 2), \"op\": \"i\", \"ns\": \"$ns\", \"o\": {\"_id\": 2}}"
			echo "{\"ts\": $(ts 3), \"op\": \"i\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 1}}"
		} | bson_from_json "$WORK/oplog.bson"
		run --separate-stderr tv-replay -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
		assert_status 65
		[[ $stderr == *"at 1700000000.2 "* ]]
		run tv-export -q -d "$DB" --list
		[ -z "$output" ]
	done
	[[ $stderr == *"no valid collection name in ns"* ]]
	# Without --from-db the entries must be of the target database itself.
	echo "{\"ts\": $(ts 1), \"op\": \"i\", \"ns\": \"tralivali.users\", \"o\": {\"_id\": 1}}" | bson_from_json "$WORK/oplog.bson"
	run --separate-stderr tv-replay -d "$DB" <"$WORK/oplog.bson"
	assert_status 65
	[[ $stderr == *"the entry at 1700000000.1 is of another database than $DB: tv-replay applies only the entries of the database it is told (--from-db)"* ]]
	run tv-export -q -d "$DB" --list
	[ -z "$output" ]
	echo "{\"ts\": $(ts 1), \"op\": \"i\", \"ns\": \"$DB.users\", \"o\": {\"_id\": 1}}" | bson_from_json "$WORK/oplog.bson"
	tv-replay -q -d "$DB" <"$WORK/oplog.bson"
	tv-export -q -d "$DB" -c users >"$WORK/users.bson"
	[ "$(bsondump --quiet "$WORK/users.bson" | wc -l)" -eq 1 ]
	run --separate-stderr tv-replay --from-db ../x --dry-run <"$WORK/oplog.bson"
	assert_status 64
}

# Writes a stream in file $1 in which the order of each document's writes decides its end: over
# collections m and c, inserts, $v: 2 updates, whole-document $v: 1 replacements (FerretDB's),
# deletes and re-inserts, inserts of _ids that exist, $v: 1 $set/$unset naming int32 _ids as
# int64 and double, a transaction over documents written before and after it, and an index
# build in the middle.  1700000004.2 is the first re-insert.
mixed_stream() {
	awk -v lsid='"lsid": {"id": {"$binary": {"base64": "AAAAAAAAAAAAAAAAAAAAAA==", "subType": "04"}}}, "txnNumber": 1' '
	function ts(r, i) { return sprintf("{\"$timestamp\": {\"t\": %d, \"i\": %d}}", 1700000000 + r, i) }
	function ns(id) { return "tralivali." (id % 2 ? "c" : "m") }
	function entry(r, i, op, id, o, o2) {
		printf "{\"ts\": %s, \"op\": \"%s\", \"ns\": \"%s\", \"o\": %s%s}\n", ts(r, i), op, ns(id), o,
			o2 == "" ? "" : ", \"o2\": " o2
	}
	BEGIN {
		for (id = 0; id < 120; id++)
			entry(0, id + 1, "i", id, sprintf("{\"_id\": %d, \"n\": 0, \"tag\": \"a\"}", id))
		for (id = 0; id < 120; id++)
			entry(1, id + 1, "u", id, "{\"$v\": 2, \"diff\": {\"u\": {\"n\": 1}, \"i\": {\"seen\": [1, 2, 3]}}}",
				sprintf("{\"_id\": %d}", id))
		for (id = 0; id < 120; id += 3)
			entry(2, id + 1, "u", id, sprintf("{\"$v\": 1, \"$set\": {\"_id\": %d, \"n\": 2, \"tag\": \"r\"}}", id),
				sprintf("{\"_id\": %d}", id))
		for (id = 1; id < 120; id += 4)
			entry(3, id + 1, "d", id, sprintf("{\"_id\": %d}", id))
		for (id = 1; id < 120; id += 4)
			entry(4, id + 1, "i", id, sprintf("{\"_id\": %d, \"n\": 4, \"again\": true}", id))
		for (id = 2; id < 120; id += 5)
			entry(4, id + 200, "i", id, sprintf("{\"_id\": %d, \"n\": 4, \"twice\": true}", id))
		printf "{\"ts\": %s, \"op\": \"c\", \"ns\": \"admin.$cmd\", %s, \"prevOpTime\": {\"ts\": {\"$timestamp\": {\"t\": 0, \"i\": 0}}, \"t\": -1}, \"o\": {\"applyOps\": [", ts(5, 1), lsid
		for (id = 0; id < 6; id++)
			printf "{\"op\": \"u\", \"ns\": \"%s\", \"o2\": {\"_id\": %d}, \"o\": {\"$v\": 2, \"diff\": {\"u\": {\"n\": 5}}}}, ", ns(id), id
		printf "{\"op\": \"d\", \"ns\": \"tralivali.c\", \"o\": {\"_id\": 7}}]}}\n"
		printf "{\"ts\": %s, \"op\": \"c\", \"ns\": \"tralivali.$cmd\", \"o\": {\"createIndexes\": \"c\", \"v\": 2, \"key\": {\"n\": 1}, \"name\": \"n_1\"}}\n", ts(5, 2)
		for (id = 0; id < 120; id += 2)
			entry(6, id + 1, "u", id, "{\"$v\": 1, \"$set\": {\"n\": 6}, \"$unset\": {\"tag\": true}}",
				id % 3 ? sprintf("{\"_id\": {\"$numberLong\": \"%d\"}}", id) : sprintf("{\"_id\": {\"$numberDouble\": \"%d.0\"}}", id))
		for (id = 0; id < 120; id += 7)
			entry(7, id + 1, "d", id, sprintf("{\"_id\": %d}", id))
		for (id = 0; id < 120; id += 7)
			entry(7, id + 200, "u", id, "{\"$v\": 2, \"diff\": {\"i\": {\"n\": 7}}}", sprintf("{\"_id\": %d}", id))
	}' | bson_from_json "$1"
}

# Prints a digest of the documents of collections m and c of database $1.
digest() {
	{ documents "$1" m; echo; documents "$1" c; } | sha256sum | cut -d ' ' -f 1
}

@test "a stream replayed by 8 workers leaves the documents and counts it leaves replayed by one" {
	mixed_stream "$WORK/oplog.bson"
	tv-replay -q -d "${DB}_one" --from-db tralivali --workers 1 --stats "$WORK/one.json" <"$WORK/oplog.bson"
	tv-replay -q -d "${DB}_eight" --from-db tralivali --workers 8 --stats "$WORK/eight.json" <"$WORK/oplog.bson"
	tv-replay -q -d "${DB}_odd" --from-db tralivali --workers 3 --batch-size 2 <"$WORK/oplog.bson"
	# The stream decides: each document's writes in order give these, any other order not.
	[ "$(documents "${DB}_one" m | wc -l)" -eq 60 ]
	[ "$(documents "${DB}_one" c | wc -l)" -eq 60 ]
	[ "$(documents "${DB}_one" m | grep -c '"again":true')" -eq 0 ]
	[ "$(documents "${DB}_one" c | grep -c '"again":true')" -eq 21 ]
	documents "${DB}_one" m | grep -qxF '{"_id":{"$numberInt":"10"},"n":{"$numberInt":"6"},"seen":[{"$numberInt":"1"},{"$numberInt":"2"},{"$numberInt":"3"}]}'
	documents "${DB}_one" m | grep -qxF '{"_id":{"$numberInt":"0"},"n":{"$numberInt":"7"}}'
	documents "${DB}_one" c | grep -qxF '{"_id":{"$numberInt":"3"},"n":{"$numberInt":"5"},"tag":"r"}'
	documents "${DB}_one" m | grep -qxF '{"_id":{"$numberInt":"14"},"n":{"$numberInt":"7"}}'
	[ "$(digest "${DB}_eight")" = "$(digest "${DB}_one")" ]
	[ "$(digest "${DB}_odd")" = "$(digest "${DB}_one")" ]
	assert_same_file "$WORK/one.json" "$WORK/eight.json"
	[ "$(jq -c '[.entries, .updates, .commands, .reachedUntil]' "$WORK/one.json")" = '[462,244,1,false]' ]
}

@test "--until stops 8 workers at the position where it stops one, counts and reachedUntil alike" {
	mixed_stream "$WORK/oplog.bson"
	for workers in 1 8; do
		tv-replay -q -d "${DB}_$workers" --from-db tralivali --workers "$workers" --until 1700000004.2 \
			--stats "$WORK/$workers.json" <"$WORK/oplog.bson"
	done
	[ "$(digest "${DB}_8")" = "$(digest "${DB}_1")" ]
	assert_same_file "$WORK/1.json" "$WORK/8.json"
	[ "$(jq -r '"\(.last) \(.reachedUntil)"' "$WORK/1.json")" = "1700000004.2 true" ]
	[ "$(documents "${DB}_1" c | grep -c '"again":true')" -eq 1 ]
}

@test "a write the server refuses stops every worker and names its entry; the writes before it landed" {
	{
		for i in $(seq 1 40); do
			echo "{\"ts\": $(ts "$i"), \"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"_id\": $i}}"
		done
		echo "{\"ts\": $(ts 41), \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 7}, \"o\": {\"\$v\": 1, \"\$set\": {\"a\": 1}, \"\$unset\": {\"a\": true}}}"
		echo "{\"ts\": $(ts 42), \"op\": \"c\", \"ns\": \"tralivali.\$cmd\", \"o\": {\"drop\": \"m\"}}"
	} | bson_from_json "$WORK/oplog.bson"
	run --separate-stderr tv-replay -d "$DB" --from-db tralivali --workers 8 <"$WORK/oplog.bson"
	# tv-replay(1): any other error the server answers is 69 (tv_mongo_status), as on one connection.
	assert_status 69
	[[ $stderr == *"] tv-replay: replaying the entry at 1700000000.41 into m failed: "* ]]
	# The drop after it never ran, and every insert before it is there.
	[ "$(documents "$DB" m | wc -l)" -eq 40 ]
}

@test "--workers takes a number from 1 to 64" {
	for bad in 0 65 x ""; do
		run --separate-stderr tv-replay --dry-run --workers "$bad" </dev/null
		assert_status 64
		[[ $stderr == *"] tv-replay: --workers must be a number from 1 to 64, not \"$bad\"" ]]
	done
}

@test "an unreachable server exits 69" {
	echo "{\"ts\": $(ts 1), \"op\": \"i\", \"ns\": \"tralivali.m\", \"o\": {\"_id\": 1}}" |
		bson_from_json "$WORK/oplog.bson"
	run tv-replay -u "mongodb://127.0.0.1:$(tv_free_port)/x?serverSelectionTimeoutMS=500" <"$WORK/oplog.bson"
	assert_status 69
}

# Last: from here on FerretDB records every write of the server in local.oplog.rs.
@test "writes on the server, captured by tv-oplog, replay onto a copy of the base to the same documents" {
	if [ "$TV_MONGO_SERVER" != ferretdb ]; then
		skip "the test oplog needs FerretDB (mongod runs standalone here)"
	fi
	for db in src copy; do
		tv-restore -q -d "$db" -c users <"$FIXTURES/users.bson"
		tv-restore -q -d "$db" -c messages <"$FIXTURES/messages.bson"
	done
	tv_enable_oplog
	# FerretDB logs nothing in an oplog that does not exist yet: a first entry to start after.
	"$TV_BUILDDIR/tests/tv-mongo-cmd" -d elsewhere '{"insert": "x", "documents": [{"_id": 1}]}' >/dev/null
	start=$(tv-oplog --last)
	user=$(id_of "$FIXTURES/users.bson" 3)
	message=$(id_of "$FIXTURES/messages.bson" 5)
	old=$(id_of "$FIXTURES/messages.bson" 6)
	"$TV_BUILDDIR/tests/tv-mongo-cmd" -d src \
		"{\"update\": \"users\", \"updates\": [{\"q\": {\"_id\": $user}, \"u\": {\"\$set\": {\"displayName\": \"Renamed\"}, \"\$unset\": {\"email\": 1}}}]}" \
		"{\"update\": \"messages\", \"updates\": [{\"q\": {\"_id\": $message}, \"u\": {\"\$set\": {\"edited\": true}}}]}" \
		"{\"delete\": \"messages\", \"deletes\": [{\"q\": {\"_id\": $old}, \"limit\": 1}]}" \
		'{"insert": "messages", "documents": [{"_id": "late", "content": "hello"}]}' \
		'{"update": "messages", "updates": [{"q": {"_id": "upserted"}, "u": {"$set": {"n": 1}}, "upsert": true}]}' \
		>/dev/null
	tv-oplog -d src --since "$start" >"$WORK/oplog.bson"
	tv-replay -q -d copy --from-db src --stats "$WORK/stats.json" <"$WORK/oplog.bson"
	[ "$(jq -r '"\(.inserts) \(.updates) \(.deletes)"' "$WORK/stats.json")" = "2 2 1" ]
	for coll in users messages; do
		tv-export -q -d src -c "$coll" >"$WORK/src-$coll.bson"
		assert_collection copy "$coll" "$WORK/src-$coll.bson"
	done
	# FerretDB logs the whole document: the email removed by $unset is gone on the copy too.
	[ "$(bsondump --quiet "$WORK/src-users.bson" | grep -c Renamed)" -eq 1 ]
	! bsondump --quiet "$WORK/src-users.bson" | grep Renamed | grep -q '"email"'
	# Replaying the capture again changes nothing.
	tv-replay -q -d copy --from-db src <"$WORK/oplog.bson"
	assert_collection copy messages "$WORK/src-messages.bson"
}

# After the test above, which made local.oplog.rs: tv-replay asks FerretDB to explain a find on it.
@test "on FerretDB with SQLite one worker applies the writes unless --workers says otherwise" {
	if [ "$TV_MONGO_SERVER" != ferretdb ] || [ -n "${TV_PG_DIR:-}" ]; then
		skip "FerretDB with SQLite only"
	fi
	echo "{\"ts\": $(ts 1), \"op\": \"u\", \"ns\": \"tralivali.m\", \"o2\": {\"_id\": 1}, \"o\": {\"\$v\": 2, \"diff\": {\"i\": {\"a\": 1}}}}" |
		bson_from_json "$WORK/oplog.bson"
	run --separate-stderr tv-replay -v -d "$DB" --from-db tralivali <"$WORK/oplog.bson"
	assert_status 0
	[[ $stderr == *"FerretDB: 16 updates, replacements or deletes per bulk write instead of 1000, on each of 1 connections"* ]]
	run --separate-stderr tv-replay -v -d "$DB" --from-db tralivali --workers 16 <"$WORK/oplog.bson"
	assert_status 0
	[[ $stderr == *"FerretDB: 2 updates, replacements or deletes per bulk write instead of 1000, on each of 16 connections"* ]]
}
