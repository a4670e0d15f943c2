#!/usr/bin/env bats
# tv-recover all or nothing: blobs proven good first, every collection loaded into staging,
# one journaled swap; failures and kill -9 at any point never leave a mixed database.
# Real FerretDB (or mongod), the file: store, and toxiproxy to slow the server down.  Run as
# tv-recover-postgres.bats (a link to it), FerretDB keeps its data in PostgreSQL, a server that
# writes in parallel: the same tests with the parallel loads really concurrent.

bats_require_minimum_version 1.5.0

# The backup's collections, in the manifest's order; messages (3rd) is big enough to kill a load.
COLLECTIONS=(users conversations messages invites files)
declare -gA SIZES=([users]=60 [conversations]=40 [messages]=6000 [invites]=10 [files]=25)

setup_file() {
	load lib/common
	[[ $BATS_TEST_FILENAME != *postgres* ]] || tv_start_postgres
	tv_start_mongo
	TOXI_API=$(tv_free_port)
	toxiproxy-server -host 127.0.0.1 -port "$TOXI_API" >"$TV_MONGO_DIR/toxiproxy.log" 2>&1 </dev/null 3>&- &
	TOXI_PID=$!
	export TOXI_API TOXI_PID
	tv_wait_port "$TOXI_API" 30
}

teardown_file() {
	load lib/common
	tv_stop_pid "${TOXI_PID:-}"
	tv_stop_mongo
	tv_stop_postgres
}

setup() {
	load lib/common
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/store
	export BACKUP_BLOB_CONTAINER_NAME=backups BACKUP_RETENTION_DAYS=100000
	# Each test has a database of its own: the backup is of seed 7, the live data of seed 8.
	export MONGODB_URI=${MONGODB_URI%/*}/t$BATS_TEST_NUMBER
	STORE=$BATS_TEST_TMPDIR/store/backups
	JOURNAL=$BACKUP_STATE_DIR/recover.journal
}

# Fills every collection with seed $1's documents.
fill() {
	local c
	for c in "${COLLECTIONS[@]}"; do
		tv-gendata -s "$1" "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
	done
}

# Prints one line per collection: its name and the SHA-256 of its documents in _id order
# (parallel inserts do not keep the natural order; the documents are what must match).
fingerprints() {
	local c
	for c in "${COLLECTIONS[@]}"; do
		printf '%s %s\n' "$c" "$(tv-export -q -c "$c" | bsondump --quiet 2>/dev/null | sort | sha256sum | cut -d ' ' -f 1)"
	done
}

# Prints the restore leftovers (staging and moved-aside collections) in the test's database.
leftovers() {
	mongodump --quiet --uri "$MONGODB_URI" -o "$BATS_TEST_TMPDIR/dump" >/dev/null
	find "$BATS_TEST_TMPDIR/dump" -name 'tv_restore_*.bson' -printf '%f\n' | sort
	rm -rf "$BATS_TEST_TMPDIR/dump"
}

# Makes the backup of seed 7 at 2024-01-15T03:00Z, then puts seed 8's data live; sets OLD
# (the live fingerprints) and NEW (the backup's).
prepare() {
	fill 7
	NEW=$(fingerprints)
	TV_NOW=2024-01-15T03:00:00Z tv-backup -q >/dev/null
	fill 8
	OLD=$(fingerprints)
	[ "$OLD" != "$NEW" ]
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-recover --help
	assert_status 0
	[[ $output == "usage: tv-recover "* ]]
	[ -z "$stderr" ]
	run tv-recover --jobs 0 2024-01-15
	assert_status 64
}

@test "the plan shows the base point, the estimated counts now and at the target, and what is lost" {
	prepare
	tv-restore -q -c invites --drop </dev/null
	run --separate-stderr tv-recover 2024-01-15 --collections users,invites,messages
	assert_status 0
	[[ ${lines[0]} == "Base point: backups/2024-01-15/ (backup "*", created 2024-01-15T03:00:00Z)" ]]
	[ "$(tr -s ' ' <<<"${lines[2]}")" = "COLLECTION NOW (EST.) AT TARGET" ]
	[ "$(tr -s ' ' <<<"${lines[3]}")" = "users 60 60" ]
	[ "$(tr -s ' ' <<<"${lines[4]}")" = "invites 0 10" ]
	[ "$(tr -s ' ' <<<"${lines[5]}")" = "messages 6000 6000" ]
	[ "${lines[6]}" = "Writes after 2024-01-15T03:00:00Z are not restored." ]
	[ "${lines[7]}" = "Nothing was changed. Run again with --yes to restore." ]
}

@test "a whole restore replaces every collection and leaves no staging collection" {
	prepare
	run tv-recover 2024-01-15 --yes --no-safety-backup
	assert_status 0
	assert_output_contains "Swapped in 5 restored collection(s)"
	assert_output_contains "Success: 5, Failed: 0"
	[ "$(fingerprints)" = "$NEW" ]
	[ -z "$(leftovers)" ]
	[ ! -e "$JOURNAL" ]
}

@test "--jobs 1 and --jobs 4 restore the same documents" {
	prepare
	tv-recover -q 2024-01-15 --yes --no-safety-backup --jobs 1
	[ "$(fingerprints)" = "$NEW" ]
	fill 8
	tv-recover -q 2024-01-15 --yes --no-safety-backup --jobs 4
	[ "$(fingerprints)" = "$NEW" ]
}

@test "a corrupt dump as the 3rd of 5 collections: exit 65 naming the blob, every collection unchanged" {
	prepare
	# The bytes rot in the store: one byte of the messages dump flipped.
	local blob=$STORE/backups/2024-01-15/tralivali_messages.bson.gz
	tv_flip_bit "$blob" 100
	run tv-recover 2024-01-15 --yes --no-safety-backup
	assert_status 65
	assert_output_contains "backups/2024-01-15/tralivali_messages.bson.gz: SHA-256 mismatch"
	assert_output_contains "nothing was restored: every collection is as it was"
	[ "$(fingerprints)" = "$OLD" ]
	[ -z "$(leftovers)" ]
}

@test "a dump that passes its checksum but fails to load: exit 65, every collection unchanged, no staging left" {
	prepare
	# A manifest written by someone else: its checksum matches a dump that is not gzip.
	local f=backups/2024-02-01
	mkdir -p "$STORE/$f"
	cp "$STORE"/backups/2024-01-15/tralivali_* "$STORE/$f/"
	echo 'not gzip at all' >"$STORE/$f/tralivali_messages.bson.gz"
	jq --arg sha "$(sha256sum <"$STORE/$f/tralivali_messages.bson.gz" | cut -d ' ' -f 1)" '
		.filePath = "backups/2024-02-01/" |
		.collections |= map(.file |= sub("2024-01-15"; "2024-02-01") | .metadataFile |= sub("2024-01-15"; "2024-02-01")
			| if .name == "messages" then .sha256 = $sha else . end)' \
		"$STORE/backups/2024-01-15/manifest.json" >"$STORE/$f/manifest.json"
	run tv-recover 2024-02-01 --yes --no-safety-backup
	assert_status 65
	assert_output_contains "not in gzip format"
	assert_output_contains "loading messages failed: tv-gzip failed (exit 65: bad input data)"
	refute_output_contains "exit 141"
	[ "$(fingerprints)" = "$OLD" ]
	[ -z "$(leftovers)" ]
	[ ! -e "$JOURNAL" ]
}

# Stores the backup's manifest changed by jq filter $2 as folder $1's (the store is create-only).
tampered_manifest() {
	jq --arg d "$1" '.filePath = "backups/\($d)/" | .collections |= map(.file |= sub("2024-01-15"; $d) | .metadataFile |= sub("2024-01-15"; $d))' \
		"$STORE/backups/2024-01-15/manifest.json" | jq "$2" | tv-blob-put -q "backups/$1/manifest.json"
}

@test "a manifest naming blobs outside its folder or invalid collections is refused with 65" {
	prepare
	tampered_manifest 2024-01-16 '.collections[1].file = "backups/2024-01-15/tralivali_conversations.bson.gz"'
	run tv-recover 2024-01-16 --yes --no-safety-backup
	assert_status 65
	assert_output_contains 'collections[1].file: "backups/2024-01-15/tralivali_conversations.bson.gz" is not backups/2024-01-16/tralivali_conversations.bson.gz'
	tampered_manifest 2024-01-17 '.collections[0].name = "../users"'
	run tv-recover 2024-01-17 --yes --no-safety-backup
	assert_status 65
	assert_output_contains 'collections[0].name: "../users" is not a collection name'
	tampered_manifest 2024-01-18 '.collections[2].sha256 = null'
	run tv-recover 2024-01-18 --yes --no-safety-backup
	assert_status 65
	assert_output_contains "collections[2].sha256: not a string"
	[ "$(fingerprints)" = "$OLD" ]
}

@test "kill -9 of tv-recover while it loads, then a rerun: never a mixed database" {
	prepare
	tv-recover -q 2024-01-15 --yes --no-safety-backup &
	local pid=$!
	local _
	for _ in $(seq 300); do
		[ ! -e "$JOURNAL" ] || break
		sleep 0.05
	done
	[ -e "$JOURNAL" ]
	sleep 0.3
	kill -9 "$pid"
	wait "$pid" || true
	# Its stages watch it: they stop, and what they staged goes.
	wait_lock_free
	local now
	now=$(fingerprints)
	[ "$now" = "$OLD" ] || [ "$now" = "$NEW" ]
	# The next run settles the journal first, then restores.
	run tv-recover 2024-01-15 --yes --no-safety-backup
	assert_status 0
	[ "$(fingerprints)" = "$NEW" ]
	[ -z "$(leftovers)" ]
	[ ! -e "$JOURNAL" ]
}

@test "SIGTERM of tv-recover while it loads stops every stage: exit 143, every collection as it was" {
	prepare
	tv-recover -q 2024-01-15 --yes --no-safety-backup 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! status=0 _
	for _ in $(seq 300); do
		[ ! -e "$JOURNAL" ] || break
		sleep 0.05
	done
	[ -e "$JOURNAL" ]
	sleep 0.3
	kill -TERM "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq 143 ]
	# Nothing of the run is left: no stage holds the lock, no staging collection, no journal.
	flock -n "$BACKUP_STATE_DIR/tralivali-backup.lock" true
	[ "$(fingerprints)" = "$OLD" ]
	[ -z "$(leftovers)" ]
	[ ! -e "$JOURNAL" ]
	run tv-recover --resume
	assert_status 0
}

@test "kill -9 during the swap, then tv-recover --resume finishes it: never half swapped" {
	prepare
	# The swap goes through a proxy that delays every reply, so that it can be killed half-way.
	local port
	port=$(tv_free_port)
	curl -sS --fail -X POST "http://127.0.0.1:$TOXI_API/proxies" \
		-d "{\"name\":\"mongo$BATS_TEST_NUMBER\",\"listen\":\"127.0.0.1:$port\",\"upstream\":\"127.0.0.1:$TV_MONGO_PORT\"}" -o /dev/null
	curl -sS --fail -X POST "http://127.0.0.1:$TOXI_API/proxies/mongo$BATS_TEST_NUMBER/toxics" \
		-d '{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":150}}' -o /dev/null
	local slow="mongodb://127.0.0.1:$port/t$BATS_TEST_NUMBER"
	# Loaded as tv-recover loads: staging collections named by the journal, filled from the backup.
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	tv-restore --journal "$JOURNAL" --begin "$(IFS=, && echo "${COLLECTIONS[*]}")" >"$BATS_TEST_TMPDIR/names"
	local c s
	while IFS=$'\t' read -r c s; do
		tv-blob-get "backups/2024-01-15/tralivali_$c.bson.gz" | tv-gzip -d | tv-restore -q -c "$c" --into "$s"
	done <"$BATS_TEST_TMPDIR/names"
	[ "$(fingerprints)" = "$OLD" ]
	tv-restore -u "$slow" --journal "$JOURNAL" --swap 2>"$BATS_TEST_TMPDIR/swap.log" &
	local pid=$! first
	# Killed once the first target has been moved aside, long before the last one is in.
	first=$(head -n 1 "$BATS_TEST_TMPDIR/names" | cut -f 2 | sed 's/_staging_/_previous_/')
	for _ in $(seq 200); do
		[ "$(tv-restore --estimate "$first")" = "$first	absent" ] || break
		sleep 0.02
	done
	kill -9 "$pid"
	wait "$pid" || true
	jq -e '.state == "swapping"' "$JOURNAL"
	[ -n "$(leftovers)" ]
	run tv-recover --resume
	assert_status 0
	assert_output_contains "Finishing the swap of an interrupted restore of t$BATS_TEST_NUMBER"
	[ "$(fingerprints)" = "$NEW" ]
	[ -z "$(leftovers)" ]
	[ ! -e "$JOURNAL" ]
	curl -sS -X DELETE "http://127.0.0.1:$TOXI_API/proxies/mongo$BATS_TEST_NUMBER" -o /dev/null
}

@test "an interrupted load found by the next run: its staging collections are dropped, nothing live changed" {
	prepare
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	tv-restore --journal "$JOURNAL" --begin users,files >"$BATS_TEST_TMPDIR/names"
	local c s
	while IFS=$'\t' read -r c s; do
		tv-gendata -s 9 "$c" 5 | tv-restore -q -c "$c" --into "$s"
	done <"$BATS_TEST_TMPDIR/names"
	[ "$(leftovers | wc -l)" -eq 2 ]
	run tv-recover 2024-01-15 --collections invites --yes --no-safety-backup
	assert_status 0
	assert_output_contains "Dropping the staging collections of an interrupted restore"
	[ -z "$(leftovers)" ]
	[ "$(fingerprints | grep -v invites)" = "$(grep -v invites <<<"$OLD")" ]
	[ "$(fingerprints | grep invites)" = "$(grep invites <<<"$NEW")" ]
}

# Writes a BSON document {_id: $1 (int32), text: "changed"}.
changed_doc() {
	printf '\x20\x00\x00\x00\x10_id\x00'
	printf "\\x$(printf %02x "$1")\\x00\\x00\\x00"
	printf '\x02text\x00\x08\x00\x00\x00changed\x00\x00'
}

@test "--merge inserts only the missing documents, leaves the present ones as they are, and counts both" {
	"$TV_BUILDDIR/tests/tv-bsonfixture" seq 10 | tv-restore -q -c notes --drop
	TV_NOW=2024-01-15T03:00:00Z tv-backup -q --collections notes >/dev/null
	# Four documents are left, changed since the backup; six were deleted by accident.
	for i in 0 1 2 3; do changed_doc "$i"; done | tv-restore -q -c notes --drop
	run tv-recover 2024-01-15 --merge --yes --no-safety-backup
	assert_status 0
	assert_output_contains "Merged notes: inserted 6, skipped 4 already present"
	tv-export -q -c notes | bsondump --quiet 2>/dev/null | sort >"$BATS_TEST_TMPDIR/after"
	[ "$(grep -c '"text":"changed"' "$BATS_TEST_TMPDIR/after")" -eq 4 ]
	[ "$(grep -c '"text":"a small document in a sequence"' "$BATS_TEST_TMPDIR/after")" -eq 6 ]
	grep -q '{"_id":{"$numberInt":"2"},"text":"changed"}' "$BATS_TEST_TMPDIR/after"
	[ -z "$(leftovers)" ]
}

# Prints the SHA-256 of users' and messages' documents in _id order.
pitr_fingerprints() {
	local c
	for c in users messages; do
		tv-export -q -c "$c" | bsondump --quiet 2>/dev/null | sort | sha256sum | cut -d ' ' -f 1
	done
}

@test "a point taken while the application wrote, restored by its folder, is its state at consistentAt.end: its own oplog is replayed" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "the oplog needs FerretDB here"
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd want folder
	"$cmd" '{"insert": "users", "documents": [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}]}' >/dev/null
	"$cmd" '{"insert": "messages", "documents": [{"_id": 1, "text": "one"}, {"_id": 2, "text": "two"}]}' >/dev/null
	# The application writes while the backup runs: after users is exported, before messages is.
	mkdir "$BATS_TEST_TMPDIR/bin"
	export TV_REAL_EXPORT TV_CMD=$cmd
	TV_REAL_EXPORT=$(command -v tv-export)
	cat >"$BATS_TEST_TMPDIR/bin/tv-export" <<'EOF'
#!/usr/bin/env bash
if [[ " $* " == *" -c messages "* ]]; then
	"$TV_CMD" '{"insert": "users", "documents": [{"_id": "late", "v": 1}]}' >/dev/null
	"$TV_CMD" '{"update": "users", "updates": [{"q": {"_id": "a"}, "u": {"$set": {"v": 9}}}]}' >/dev/null
	"$TV_CMD" '{"delete": "users", "deletes": [{"q": {"_id": "b"}, "limit": 1}]}' >/dev/null
fi
exec "$TV_REAL_EXPORT" "$@"
EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-export"
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" tv-backup -q --collections users,messages >/dev/null
	want=$(pitr_fingerprints)
	folder=$(tv-list --json | jq -r '.backups[-1].filePath | rtrimstr("/")')
	jq -e '.oplog.entries == 3' "$STORE/$folder/manifest.json"
	# Writes after the point are not restored.
	"$cmd" '{"insert": "messages", "documents": [{"_id": 3, "text": "three"}]}' >/dev/null
	"$cmd" '{"update": "users", "updates": [{"q": {"_id": "late"}, "u": {"$set": {"v": 2}}}]}' >/dev/null
	run --separate-stderr tv-recover "$folder"
	assert_status 0
	assert_output_contains "Oplog replayed into them: 1 blob(s) from position "
	run tv-recover "$folder" --yes --no-safety-backup
	assert_status 0
	assert_output_contains "Replayed 3 oplog entries"
	[ "$(pitr_fingerprints)" = "$want" ]
	[ -z "$(leftovers)" ]
	# The same point by its date, as tv-rehearse and the API name it.
	"$cmd" '{"delete": "users", "deletes": [{"q": {"_id": "late"}, "limit": 1}]}' >/dev/null
	tv-recover -q "${folder#backups/}" --yes --no-safety-backup
	[ "$(pitr_fingerprints)" = "$want" ]
}

@test "capture survives a whole restore with parallel inserts: the follower ships on, the chain ends at the restore, and after a backup --at is exact" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "the oplog needs FerretDB here"
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog 67108864
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd at between want follower
	# teardown stops the follower if an assertion ends the test first.
	fill 7
	NEW=$(fingerprints)
	tv-pitr -q
	tv-backup -q >/dev/null
	fill 8
	tv-pitr --follow --interval 1 2>"$BATS_TEST_TMPDIR/follow.log" 3>&- &
	follower=$! FOLLOWER=$!
	# Every collection restored at once, several insert workers each, while the follower captures.
	tv-recover -q "$(tv-list --json | jq -r '.backups[0].filePath')" --jobs 4 --yes --no-safety-backup
	[ "$(fingerprints)" = "$NEW" ]
	# Writes after the restore, and a second between them, before the next backup.
	sleep 1.2
	"$cmd" '{"insert": "users", "documents": [{"_id": "x", "v": 1}]}' >/dev/null
	between=$(date -u +%FT%TZ)
	sleep 1.2
	"$cmd" '{"insert": "users", "documents": [{"_id": "y", "v": 1}]}' >/dev/null
	kill -0 "$follower"
	tv-backup -q >/dev/null
	"$cmd" '{"insert": "users", "documents": [{"_id": "after-restore", "v": 1}]}' >/dev/null
	"$cmd" '{"delete": "invites", "deletes": [{"q": {}, "limit": 1}]}' >/dev/null
	at=$(date -u +%FT%TZ)
	want=$(fingerprints)
	sleep 1.2
	"$cmd" '{"insert": "users", "documents": [{"_id": "too-late", "v": 1}]}' >/dev/null
	sleep 2.5
	kill -0 "$follower"
	kill "$follower"
	wait "$follower"
	! grep -q "out of order" "$BATS_TEST_TMPDIR/follow.log"
	tv-pitr -q
	run tv-recover --at "$at" --to-db chk --yes --no-safety-backup
	assert_status 0
	[ "$(MONGODB_URI=${MONGODB_URI%/*}/chk fingerprints)" = "$want" ]
	# A second between the restore and the backup after it: no oplog range reaches across the restore.
	run tv-recover --at "$between" --to-db chk2 --yes --no-safety-backup
	assert_status 65
	assert_output_contains "is not within a continuous oplog range"
}

# Prints the SHA-256 of the users collection's documents in _id order.
users_fingerprint() {
	tv-export -q -c users | bsondump --quiet 2>/dev/null | sort | sha256sum | cut -d ' ' -f 1
}

@test "--at a second replays the backup's oplog and the shipped slices: the collections as they were at that second" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "the oplog needs FerretDB here"
	# A server of its own, with an oplog; tv-pitr ships it to the store.
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd
	"$cmd" '{"insert": "users", "documents": [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}, {"_id": "c", "v": 1}]}' >/dev/null
	"$cmd" '{"insert": "messages", "documents": [{"_id": 1, "text": "one"}, {"_id": 2, "text": "two"}]}' >/dev/null
	tv-pitr -q
	tv-backup -q --collections users,messages >/dev/null
	# Inserts, updates and deletes after the backup, all before the chosen second.
	"$cmd" '{"update": "users", "updates": [{"q": {"_id": "a"}, "u": {"$set": {"v": 2}}}]}' >/dev/null
	"$cmd" '{"insert": "users", "documents": [{"_id": "d", "v": 1}]}' >/dev/null
	"$cmd" '{"delete": "messages", "deletes": [{"q": {"_id": 1}, "limit": 1}]}' >/dev/null
	local at want
	at=$(date -u +%FT%TZ)
	want=$(pitr_fingerprints)
	# Writes in a later second are not restored.
	sleep 1.2
	"$cmd" '{"update": "users", "updates": [{"q": {"_id": "c"}, "u": {"$set": {"v": 3}}}]}' >/dev/null
	"$cmd" '{"delete": "users", "deletes": [{"q": {"_id": "b"}, "limit": 1}]}' >/dev/null
	"$cmd" '{"insert": "messages", "documents": [{"_id": 3, "text": "three"}]}' >/dev/null
	tv-pitr -q
	[ "$(pitr_fingerprints)" != "$want" ]
	run --separate-stderr tv-recover --at "$at"
	assert_status 0
	[[ $output == *"Oplog replayed into them: "*" up to "*" ($at)"* ]]
	[[ $output == *"Writes after $at are not restored."* ]]
	run tv-recover --at "$at" --yes --no-safety-backup
	assert_status 0
	assert_output_contains "Replayed "
	[ "$(pitr_fingerprints)" = "$want" ]
	[ -z "$(leftovers)" ]
	# A second no shipped oplog covers: the ranges are named, nothing changes.
	run tv-recover --at 2099-01-01T00:00:00Z --yes --no-safety-backup
	assert_status 65
	assert_output_contains "is not within a continuous oplog range"
	assert_output_contains "The shipped oplog covers: "
	assert_output_contains "The nearest earlier: "
	[ "$(pitr_fingerprints)" = "$want" ]
	# A corrupt slice (its bytes rot in the store) stops the restore before anything changes: 65.
	"$cmd" '{"insert": "users", "documents": [{"_id": "z", "v": 1}]}' >/dev/null
	local now slice
	now=$(pitr_fingerprints)
	slice=$(find "$STORE/oplog" -name '*.bson.gz' | sort | tail -n 1)
	tv_flip_bit "$slice" 20
	run tv-recover --at "$at" --yes --no-safety-backup
	assert_status 65
	assert_output_contains "oplog/"
	assert_output_contains "nothing was restored"
	[ "$(pitr_fingerprints)" = "$now" ]
	# A missing slice leaves a hole: no continuous range reaches the second, 65.
	rm "$slice"
	run tv-recover --at "$at" --yes --no-safety-backup
	assert_status 65
	assert_output_contains "is not within a continuous oplog range"
	[ "$(pitr_fingerprints)" = "$now" ]
	[ -z "$(leftovers)" ]
}

@test "--at a second followed by much more oplog: tv-replay stops at the target, and the writer it leaves is no failure" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "the oplog needs FerretDB here"
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd at want round
	"$cmd" '{"insert": "users", "documents": [{"_id": "a", "v": 1}]}' >/dev/null
	tv-pitr -q
	tv-backup -q --collections users >/dev/null
	"$cmd" '{"insert": "users", "documents": [{"_id": "b", "v": 1}]}' >/dev/null
	at=$(date -u +%FT%TZ)
	want=$(users_fingerprint)
	sleep 1.2
	# About 1.5 MB of entries after the target, in the same slice: far more than a pipe holds, so
	# the stages before tv-replay are surely still writing when it stops at the target.
	tv-gendata -s 9 users 3000 | tv-restore -q -c users
	tv-pitr -q
	[ "$(users_fingerprint)" != "$want" ]
	for round in 1 2 3; do
		run --separate-stderr tv-recover --at "$at" --collections users --to-db "chk$round" --yes --no-safety-backup
		assert_status 0
		refute_output_contains "exit 141"
		[ "$(MONGODB_URI=${MONGODB_URI%/*}/chk$round users_fingerprint)" = "$want" ]
	done
}

@test "--at with --merge brings back the documents deleted since that second and keeps every live one" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "the oplog needs FerretDB here"
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd at
	"$cmd" '{"insert": "users", "documents": [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}, {"_id": "c", "v": 1}]}' >/dev/null
	tv-pitr -q
	tv-backup -q --collections users >/dev/null
	# After the backup, before the second asked for: a new document and a change.
	"$cmd" '{"insert": "users", "documents": [{"_id": "d", "v": 1}]}' >/dev/null
	"$cmd" '{"update": "users", "updates": [{"q": {"_id": "a"}, "u": {"$set": {"v": 2}}}]}' >/dev/null
	at=$(date -u +%FT%TZ)
	sleep 1.2
	# Then the accident (a and d deleted), and a legitimate change that must stay.
	"$cmd" '{"delete": "users", "deletes": [{"q": {"_id": {"$in": ["a", "d"]}}, "limit": 0}]}' >/dev/null
	"$cmd" '{"update": "users", "updates": [{"q": {"_id": "c"}, "u": {"$set": {"v": 3}}}]}' >/dev/null
	tv-pitr -q
	run tv-recover --at "$at" --collections users --merge --yes --no-safety-backup
	assert_status 0
	assert_output_contains "Merged users: inserted 2, skipped 2 already present"
	# Its staging collections were its own way there: nothing was interrupted.
	refute_output_contains "interrupted restore"
	[ "$(tv-export -q -c users | bsondump --quiet 2>/dev/null | sort | tr -d ' \n')" = \
		'{"_id":"a","v":{"$numberInt":"2"}}{"_id":"b","v":{"$numberInt":"1"}}{"_id":"c","v":{"$numberInt":"3"}}{"_id":"d","v":{"$numberInt":"1"}}' ]
	[ -z "$(leftovers)" ]
}

teardown() {
	[ -z "${FOLLOWER:-}" ] || tv_stop_pid "$FOLLOWER"
	[ -z "${OWN_MONGO_PID:-}" ] || tv_stop_pid "$OWN_MONGO_PID"
	[ -z "${OWN_MONGO_DIR:-}" ] || rm -rf "$OWN_MONGO_DIR"
}
