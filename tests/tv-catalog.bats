#!/usr/bin/env bats
# tv-catalog: manifests built and checked in one place, the folder a new backup takes, the
# catalogue of recovery points and oplog ranges, and oplog streams checked against their names.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="file:$BATS_TEST_TMPDIR/store"
	export BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	SHA0=$(printf '%064d' 0)
	cd "$BATS_TEST_TMPDIR"
}

# Stages a users dump and its metadata in folder $1 and writes the stats and receipts for them.
stage_users() {
	local folder=$1
	printf 'dump' | tv-blob-put -q --no-commit --receipt users.receipt "$folder/tralivali_users.bson.gz"
	printf '{}' | tv-blob-put -q --no-commit --receipt users.meta "$folder/tralivali_users.metadata.json"
	echo '{"collection": "users", "documents": 3, "bsonBytes": 120}' >users.stats
}

# Prints a valid manifest for folder $1 (default backups/2024-01-15) changed by jq filter $2.
manifest() {
	local folder=${1:-backups/2024-01-15} filter=${2:-.}
	jq -cn --arg f "$folder" --arg sha "$SHA0" '{id: "0123456789abcdef01234567", createdAt: "2024-01-15T03:00:00Z",
		type: "manual", status: "Completed", filePath: "\($f)/", size: 4,
		collections: [{name: "users", file: "\($f)/tralivali_users.bson.gz", metadataFile: "\($f)/tralivali_users.metadata.json",
			documents: 3, bsonBytes: 120, compressedBytes: 4, sha256: $sha}], snapshot: "per-collection"}' | jq -c "$filter"
}

# Stores a recovery point in folder $1: the blobs its manifest names, then the manifest (changed by jq filter $2).
put_point() {
	printf 'dump' | tv-blob-put -q "$1/tralivali_users.bson.gz"
	printf '{}' | tv-blob-put -q "$1/tralivali_users.metadata.json"
	manifest "$1" "${2:-.}" | tv-blob-put -q "$1/manifest.json"
}

# Writes an oplog stream of entries {ts: Timestamp(T, I)} with the given positions (T.I ...) to stdout.
oplog_stream() {
	python3 -c 'import struct, sys
for p in sys.argv[1:]:
    t, i = map(int, p.split("."))
    sys.stdout.buffer.write(struct.pack("<iB3sII", 17, 0x11, b"ts\0", i, t) + b"\0")' "$@"
}

@test "--help prints the usage on stdout and exits 0; no command is a usage error" {
	run --separate-stderr tv-catalog --help
	assert_status 0
	[[ $output == "usage: tv-catalog list "* ]]
	run --separate-stderr tv-catalog check --help
	assert_status 0
	run tv-catalog
	assert_status 64
	run tv-catalog frobnicate
	assert_status 64
	assert_output_contains "no such command: frobnicate"
}

@test "manifest builds the manifest from tv-export's stats and the receipts" {
	stage_users backups/2024-01-15
	run --separate-stderr tv-catalog manifest --id 0123456789abcdef01234567 --created-at 2024-01-15T03:00:00Z \
		--type scheduled --folder backups/2024-01-15 --stats users.stats --receipt users.receipt \
		--metadata-receipt users.meta --per-collection
	assert_status 0
	jq -e --arg sha "$(printf dump | sha256sum | cut -d ' ' -f 1)" --arg msha "$(printf '{}' | sha256sum | cut -d ' ' -f 1)" '
		. == {id: "0123456789abcdef01234567", createdAt: "2024-01-15T03:00:00Z", type: "scheduled",
			status: "Completed", filePath: "backups/2024-01-15/", size: 4,
			collections: [{name: "users", file: "backups/2024-01-15/tralivali_users.bson.gz",
				metadataFile: "backups/2024-01-15/tralivali_users.metadata.json", documents: 3,
				bsonBytes: 120, compressedBytes: 4, sha256: $sha, metadataSha256: $msha}],
			snapshot: "per-collection"}' <<<"$output"
}

@test "manifest records consistentAt and the oplog of a replica-set backup" {
	stage_users backups/2024-01-15T150000Z
	printf 'oplog' | tv-blob-put -q --no-commit --receipt oplog.receipt backups/2024-01-15T150000Z/oplog.bson.gz
	run --separate-stderr tv-catalog manifest --id 0123456789abcdef01234567 --created-at 2024-01-15T15:00:00Z \
		--type manual --folder backups/2024-01-15T150000Z --stats users.stats --receipt users.receipt \
		--consistent-at 1705330800.1-1705330805.7 --oplog-receipt oplog.receipt --oplog-entries 12
	assert_status 0
	jq -e '.consistentAt == {start: "1705330800.1", end: "1705330805.7"} and .oplog.entries == 12
		and .oplog.file == "backups/2024-01-15T150000Z/oplog.bson.gz" and .size == 9 and (has("snapshot") | not)' <<<"$output"
}

@test "manifest records the database backed up (--database), which check reads back; an older manifest without it passes" {
	stage_users backups/2024-01-15
	run --separate-stderr tv-catalog manifest --id 0123456789abcdef01234567 --created-at 2024-01-15T03:00:00Z \
		--type scheduled --folder backups/2024-01-15 --database chat --stats users.stats --receipt users.receipt \
		--per-collection
	assert_status 0
	[ "$(jq -r .database <<<"$output")" = chat ]
	echo "$output" >m.json
	[ "$(tv-catalog check --folder backups/2024-01-15 m.json | jq -r .database)" = chat ]
	run --separate-stderr tv-catalog manifest --id 0123456789abcdef01234567 --created-at 2024-01-15T03:00:00Z \
		--type scheduled --folder backups/2024-01-15 --database a.b --stats users.stats --receipt users.receipt \
		--per-collection
	assert_status 64
	[ "$(manifest | tv-catalog check | jq 'has("database")')" = false ]
}

@test "manifest refuses a receipt for a blob that is not the collection's canonical name" {
	printf 'dump' | tv-blob-put -q --no-commit --receipt users.receipt backups/2024-01-15/users.bson.gz
	echo '{"collection": "users", "documents": 3, "bsonBytes": 120}' >users.stats
	run tv-catalog manifest --id 0123456789abcdef01234567 --created-at 2024-01-15T03:00:00Z --type manual \
		--folder backups/2024-01-15 --stats users.stats --receipt users.receipt --per-collection
	assert_status 65
	assert_output_contains 'collections[0].file: "backups/2024-01-15/users.bson.gz" is not backups/2024-01-15/tralivali_users.bson.gz'
}

@test "check accepts a valid manifest, with .enc names too, and prints it" {
	manifest >m.json
	run --separate-stderr tv-catalog check --folder backups/2024-01-15 m.json
	assert_status 0
	[ "$(jq -S . <<<"$output")" = "$(jq -S . m.json)" ]
	manifest backups/2024-01-15 '.collections[0].file += ".enc" | .collections[0].metadataFile += ".enc"' |
		tv-catalog check -q >/dev/null
}

@test "check refuses each bad field with 65, naming it" {
	local -A bad=(
		['.database = "../etc"']='database: "../etc" is not a database name'
		['.database = "admin.x"']='database: "admin.x" is not a database name'
		['.database = 1']='database: not a string'
		['.collections[0].name = "../etc"']='collections[0].name: "../etc" is not a collection name'
		['.collections[0].name = "a..b"']='collections[0].name: "a..b" is not a collection name'
		['.collections[0].name = ("x" * 121)']='collections[0].name: "xxxxxxxxxx'
		['.collections[0].file = "backups/2024-01-15/../x/tralivali_users.bson.gz"']='collections[0].file: '
		['.collections[0].metadataFile = "backups/2024-01-15/users.json"']='collections[0].metadataFile: '
		['.collections[0].sha256 = "abc"']='collections[0].sha256: not a SHA-256'
		['.collections[0].documents = -1']='collections[0].documents: negative'
		['.collections[0].bsonBytes = "12"']='collections[0].bsonBytes: not a whole number'
		['del(.collections[0].compressedBytes)']='collections[0].compressedBytes: missing'
		['.status = "Done"']='status: "Done" is not Completed or Failed'
		['.createdAt = "yesterday"']='createdAt: "yesterday" is not an ISO-8601 UTC time'
		['.createdAt = "2024-02-31T00:00:00Z"']='createdAt: '
		['.id = "x"']='id: "x" is not an ObjectId'
		['.type = "hourly"']='type: "hourly" is not scheduled or manual'
		['.filePath = "backups/2024-01-16/"']='filePath: "backups/2024-01-16/", but the manifest is in backups/2024-01-15/'
		['.size = 1.5']='size: not a whole number'
		['.collections += .collections']='collections[1].name: "users" appears twice'
		['.consistentAt = {start: "1.2", end: "3"}']='consistentAt: a per-collection snapshot has no consistent position'
		['del(.snapshot) | .consistentAt = {start: "5.1", end: "4.1"}']='consistentAt: start is after end'
		['del(.snapshot) | .consistentAt = {start: "1.1", end: "2.1"}']='oplog: missing (consistentAt needs it)'
	)
	local filter
	for filter in "${!bad[@]}"; do
		manifest backups/2024-01-15 "$filter" >m.json
		run tv-catalog check --folder backups/2024-01-15 m.json
		assert_status 65
		assert_output_contains "backups/2024-01-15: not a valid manifest: ${bad[$filter]}"
	done
	echo 'not json' >m.json
	run tv-catalog check m.json
	assert_status 65
	assert_output_contains "not a valid manifest: not a JSON object"
}

@test "folder gives the day's folder first, then one per later backup, never one that holds a blob" {
	run tv-catalog folder --time 2024-01-15T15:30:02Z </dev/null
	assert_status 0
	[ "$output" = backups/2024-01-15 ]
	# An incomplete folder (no manifest) is taken as much as a complete one.
	printf 'x' | tv-blob-put -q backups/2024-01-15/tralivali_users.bson.gz
	[ "$(tv-blob-ls backups/2024-01-15 | tv-catalog folder --time 2024-01-15T15:30:02Z)" = backups/2024-01-15T153002Z ]
	printf 'x' | tv-blob-put -q backups/2024-01-15T153002Z/tralivali_users.bson.gz
	run --separate-stderr bash -c 'tv-blob-ls backups/2024-01-15 | tv-catalog folder --time 2024-01-15T15:30:02Z'
	assert_status 73
	[[ $stderr == *"backups/2024-01-15/ and backups/2024-01-15T153002Z/ both exist already"* ]]
	run tv-catalog folder --time soon </dev/null
	assert_status 64
}

@test "list orders points by createdAt, names incomplete folders and rebuilds the oplog ranges" {
	put_point backups/2024-01-15
	put_point backups/2024-01-15T150000Z '.createdAt = "2024-01-15T15:00:00Z"'
	manifest backups/2024-01-16 '.status = "Failed"' | tv-blob-put -q backups/2024-01-16/manifest.json
	printf 'x' | tv-blob-put -q backups/2024-01-17/tralivali_users.bson.gz
	printf 'x' | tv-blob-put -q safety/2024-01-17T000000Z/manifest.json
	for s in 1705287600.1-1705287660.4 1705287660.4-1705287700.4 1705287800.1-1705287900.4; do
		printf 'x' | tv-blob-put -q "oplog/2024-01-15/$s.bson.gz"
		printf '{}' | tv-blob-put -q "oplog/2024-01-15/$s.json"
	done
	# The capture lost what followed 1705287700.4; a new chain began after 1705287800.1.
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287700.4-1705287790.1.break.json
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287800.1-1705287800.1.start.json
	run --separate-stderr bash -c 'tv-blob-ls | tv-catalog list'
	assert_status 0
	jq -e '(.backups | map(.filePath)) == ["backups/2024-01-15/", "backups/2024-01-15T150000Z/"]
		and (.incomplete | map([.folder, .state, .reason])) == [["backups/2024-01-16/", "failed", "the manifest says Failed"],
			["backups/2024-01-17/", "incomplete", "no manifest.json"]]
		and .pitr == [{from: "2024-01-15T03:00:00Z", fromPosition: "1705287600.1", to: "2024-01-15T03:01:40Z",
				toPosition: "1705287700.4", slices: 2},
			{from: "2024-01-15T03:03:20Z", fromPosition: "1705287800.1", to: "2024-01-15T03:05:00Z",
				toPosition: "1705287900.4", slices: 1}]
		and .oplog.slices == 3 and .oplog.newest.name == "oplog/2024-01-15/1705287800.1-1705287900.4.bson.gz"
		and .oplog.chainOk and (.oplog | has("all") | not)' <<<"$output"
}

@test "list exits 65 naming a hole in the chain, and a chain start or break closes a range instead" {
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287670.1-1705287700.1.bson.gz
	run --separate-stderr bash -c 'tv-blob-ls | tv-catalog list'
	assert_status 65
	[[ $stderr == *"hole in the oplog chain between oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz and oplog/2024-01-15/1705287670.1-1705287700.1.bson.gz"* ]]
	jq -e '(.pitr | length) == 2 and (.oplog.chainOk | not)' <<<"$output"
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287670.1-1705287670.1.start.json
	run --separate-stderr bash -c 'tv-blob-ls | tv-catalog list'
	assert_status 0
	jq -e '(.pitr | map(.fromPosition)) == ["1705287600.1", "1705287670.1"] and .oplog.chainOk' <<<"$output"
}

@test "list exits 65 naming overlapping slices and invalid manifests, and still prints the rest" {
	put_point backups/2024-01-15
	manifest backups/2024-01-16 '.collections[0].name = "../x"' | tv-blob-put -q backups/2024-01-16/manifest.json
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz
	printf 'x' | tv-blob-put -q oplog/2024-01-15/1705287650.1-1705287700.1.bson.gz
	run --separate-stderr bash -c 'tv-blob-ls | tv-catalog list --slices'
	assert_status 65
	[[ $stderr == *"oplog slices oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz and oplog/2024-01-15/1705287650.1-1705287700.1.bson.gz overlap"* ]]
	[[ $stderr == *'backups/2024-01-16/manifest.json: not a valid manifest: collections[0].name: "../x" is not a collection name'* ]]
	jq -e '(.backups | length) == 1 and .incomplete[0].state == "invalid" and (.oplog.chainOk | not)
		and (.oplog.all | length) == 2' <<<"$output"
}

@test "oplog-check counts a slice's entries and checks they lie within its name's bounds" {
	oplog_stream 1705287600.2 1705287601.1 1705287660.4 >slice.bson
	run --separate-stderr tv-catalog oplog-check --slice oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz --stats s.json <slice.bson
	assert_status 0
	[ "$(jq -c . s.json)" = '{"entries":3}' ]
	# An idle slice holds nothing, and is valid.
	tv-catalog oplog-check -q --slice oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz </dev/null
	run tv-catalog oplog-check --slice oplog/2024-01-15/1705287600.1-1705287660.3.bson.gz <slice.bson
	assert_status 65
	assert_output_contains "holds entries 1705287600.2 to 1705287660.4, not all after 1705287600.1 and up to 1705287660.3"
	oplog_stream 1705287600.2 1705287600.2 >dup.bson
	run tv-catalog oplog-check --slice oplog/2024-01-15/1705287600.1-1705287600.5.bson.gz <dup.bson
	assert_status 65
	assert_output_contains "entry 1 is not after the one before it"
	head -c 20 slice.bson >cut.bson
	run tv-catalog oplog-check --slice oplog/2024-01-15/1705287600.1-1705287660.4.bson.gz <cut.bson
	assert_status 65
	run tv-catalog oplog-check --slice oplog/2024-01-16/1705287600.1-1705287660.4.bson.gz </dev/null
	assert_status 64
}

@test "oplog-check checks a backup's oplog lies after its start and up to its end" {
	oplog_stream 1705287600.2 1705287601.1 >o.bson
	tv-catalog oplog-check -q --after 1705287600.1 --until 1705287601.1 --entries 2 <o.bson
	run tv-catalog oplog-check --after 1705287600.2 --until 1705287601.1 <o.bson
	assert_status 65
	run tv-catalog oplog-check --after 1705287600.1 --until 1705287601.1 --entries 3 <o.bson
	assert_status 65
	assert_output_contains "2 entries, expected 3"
}

@test "list calls a Completed point whose manifest names blobs the listing lacks broken, naming them, never a point" {
	put_point backups/2024-01-15
	# Its dump deleted by hand (az storage blob delete): the manifest stays, the blob is gone.
	manifest backups/2024-01-16 | tv-blob-put -q backups/2024-01-16/manifest.json
	printf '{}' | tv-blob-put -q backups/2024-01-16/tralivali_users.metadata.json
	run --separate-stderr bash -c 'tv-blob-ls | tv-catalog list'
	assert_status 0
	jq -e '(.backups | map(.filePath)) == ["backups/2024-01-15/"]
		and (.incomplete | map({folder, state, reason, blobs, id, missing})) == [{folder: "backups/2024-01-16/", state: "broken",
			reason: "1 of the 2 blobs its manifest names are missing: backups/2024-01-16/tralivali_users.bson.gz",
			blobs: 2, id: "0123456789abcdef01234567", missing: ["backups/2024-01-16/tralivali_users.bson.gz"]}]' <<<"$output"
}
