#!/usr/bin/env bats
# Our files and mongo-tools' are interchangeable: bsondump, mongodump and mongorestore against tv-export and tv-restore.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	FIXTURES=$(mktemp -d "${TMPDIR:-/tmp}/tv-interop.XXXXXX")
	export FIXTURES
	{
		"$TV_BUILDDIR/tests/tv-bsonfixture" types
		"$TV_BUILDDIR/tests/tv-bsonfixture" big
		"$TV_BUILDDIR/tests/tv-bsonfixture" seq 2000 1000
	} >"$FIXTURES/users.bson"
	cat >"$FIXTURES/users.metadata.json" <<-'EOF'
	{"indexes":[{"v":{"$numberInt":"2"},"key":{"_id":{"$numberInt":"1"}},"name":"_id_"},{"v":{"$numberInt":"2"},"key":{"text":{"$numberInt":"1"}},"name":"text_1"},{"v":{"$numberInt":"2"},"key":{"ascii":{"$numberInt":"1"},"_id":{"$numberInt":"-1"}},"name":"ascii_1__id_-1","unique":true}],"collectionName":"users","type":"collection"}
	EOF
	tv-restore -q -d source -c users --metadata "$FIXTURES/users.metadata.json" <"$FIXTURES/users.bson"
	BASE_URI="${MONGODB_URI%/*}"
	export BASE_URI
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	rm -rf "$FIXTURES"
}

setup() {
	load lib/common
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/tv-interop-test.XXXXXX")
	DB="t$BATS_TEST_NUMBER"
}

teardown() {
	rm -rf "$WORK"
}

# Prints a metadata file without its uuid, which names one collection on one server.
without_uuid() {
	sed 's/"uuid":"[0-9a-f]*",//' "$1"
}

@test "tv-export writes the same bytes as mongodump, data and metadata" {
	mongodump --quiet --uri "$BASE_URI/source" -c users -o "$WORK/dump"
	tv-export -d source -c users --metadata "$WORK/users.metadata.json" >"$WORK/users.bson"
	assert_same_file "$WORK/dump/source/users.bson" "$WORK/users.bson"
	assert_same_file "$WORK/dump/source/users.metadata.json" "$WORK/users.metadata.json"
}

@test "bsondump reads tv-export's file and finds every document" {
	tv-export -d source -c users >"$WORK/users.bson"
	run --separate-stderr bsondump --outFile "$WORK/users.json" "$WORK/users.bson"
	assert_status 0
	[[ "$stderr" == *"2008 objects found"* ]]
	[ "$(wc -l <"$WORK/users.json")" -eq 2008 ]
	grep -q '"cyrillic":"привет, мир"' "$WORK/users.json"
}

@test "mongorestore restores what tv-export wrote, with its metadata" {
	local noindex=()
	# mongorestore adds "ns" to every index spec for FerretDB, which refuses it (mongodump's
	# own metadata fails the same way): there the indexes are compared on mongod only.
	[ "$TV_MONGO_SERVER" = ferretdb ] && noindex=(--noIndexRestore)
	mkdir "$WORK/backup"
	tv-export -d source -c users --metadata "$WORK/backup/users.metadata.json" >"$WORK/backup/users.bson"
	run mongorestore "${noindex[@]}" --uri "$BASE_URI/" -d "$DB" -c users "$WORK/backup/users.bson"
	assert_status 0
	assert_output_contains "reading metadata for $DB.users from $WORK/backup/users.metadata.json"
	assert_output_contains "2008 document(s) restored successfully. 0 document(s) failed to restore."
	tv-export -d "$DB" -c users --metadata "$WORK/restored.metadata.json" >"$WORK/restored.bson"
	# mongorestore inserts in parallel batches, so compare the sorted dumps, not the bytes.
	cmp <(bsondump --quiet "$WORK/backup/users.bson" | sort) <(bsondump --quiet "$WORK/restored.bson" | sort)
	if [ "$TV_MONGO_SERVER" != ferretdb ]; then
		cmp <(without_uuid "$WORK/backup/users.metadata.json") <(without_uuid "$WORK/restored.metadata.json")
	fi
}

@test "tv-restore restores a plain mongodump file byte-identical" {
	mongodump --quiet --uri "$BASE_URI/source" -c users -o "$WORK/dump"
	tv-restore -d "$DB" -c copy <"$WORK/dump/source/users.bson"
	tv-export -d "$DB" -c copy >"$WORK/copy.bson"
	assert_same_file "$WORK/dump/source/users.bson" "$WORK/copy.bson"
}

@test "tv-restore recreates the indexes from mongodump's metadata.json" {
	mongodump --quiet --uri "$BASE_URI/source" -c users -o "$WORK/dump"
	tv-restore -d "$DB" -c users --drop --metadata "$WORK/dump/source/users.metadata.json" \
	    <"$WORK/dump/source/users.bson"
	tv-export -d "$DB" -c users --metadata "$WORK/copy.metadata.json" >"$WORK/copy.bson"
	assert_same_file "$WORK/dump/source/users.bson" "$WORK/copy.bson"
	cmp <(without_uuid "$WORK/dump/source/users.metadata.json") <(without_uuid "$WORK/copy.metadata.json")
	grep -q '"name":"ascii_1__id_-1","unique":true' "$WORK/copy.metadata.json"
}
