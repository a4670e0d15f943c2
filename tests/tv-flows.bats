#!/usr/bin/env bats
# The flows end to end against a real MongoDB-wire server and a real blob store:
# tv-backup, tv-list, tv-verify, tv-recover, retention, and the failures an operator meets.
# Run as tv-flows.bats it uses the file: store; as tv-flows-azurite.bats (a link to it), Azurite.

bats_require_minimum_version 1.5.0

# Small, realistic data: enough documents to span several gzip and insert batches.
declare -A SIZES=([users]=60 [conversations]=40 [messages]=400 [invites]=10 [files]=25)

setup_file() {
	load lib/common
	tv_start_mongo
	if [[ $BATS_TEST_FILENAME == *azurite* ]]; then
		tv_start_azurite
		BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING
	else
		BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_FILE_TMPDIR/store
	fi
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING BACKUP_BLOB_CONTAINER_NAME=backups
	local c
	for c in "${!SIZES[@]}"; do
		tv-gendata -s 7 "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
	done
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	[[ $BATS_TEST_FILENAME != *azurite* ]] || tv_stop_azurite
}

setup() {
	load lib/common
	# Each test has its own state (lock, circuit breaker) and its own container, so that
	# tests do not see each other's backups; retention only runs where a test asks for it.
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_CONTAINER_NAME="t$BATS_TEST_NUMBER-$RANDOM"
	export BACKUP_RETENTION_DAYS=100000
	unset TV_NOW
}

# Prints the documents collection $1 has now (in database $2 if given).
count() {
	tv-export ${2:+-d "$2"} --count -c "$1"
}

# Prints the SHA-256 of collection $1's documents as tv-export streams them.
fingerprint() {
	tv-export -q -c "$1" | sha256sum | cut -d ' ' -f 1
}

# Replaces blob $1 with standard input behind the flows' back, as someone holding a key that may
# delete could: store writes are create-only, so the blob is deleted first.
tamper() {
	delete_blob "$1"
	tv-blob-put -q "$1"
}

# Deletes blob $1 behind the flows' back, as `az storage blob delete` would.
delete_blob() {
	if [[ $BACKUP_BLOB_STORAGE_CONNECTION_STRING == file:* ]]; then
		rm "${BACKUP_BLOB_STORAGE_CONNECTION_STRING#file:}/$BACKUP_BLOB_CONTAINER_NAME/$1"
	else
		load lib/azure
		az_curl DELETE "/$BACKUP_BLOB_CONTAINER_NAME/$1" -o /dev/null
	fi
}

# Backs up at the fake time $1 (ISO-8601), more arguments going to tv-backup; fails the test on failure.
backup_at() {
	local at=$1
	shift
	TV_NOW=$at tv-backup -q "$@" >/dev/null
}

# Replaces collection $1 with $2 generated documents (seed $3, default 8).
regenerate() {
	tv-gendata -s "${3:-8}" "$1" "$2" | tv-restore -q -c "$1" --drop
}

@test "a backup stores every collection, its metadata and the manifest, and prints the trigger JSON" {
	run --separate-stderr env TV_NOW=2024-01-15T03:00:00Z tv-backup --type scheduled
	assert_status 0
	[ "$(jq -r .status <<<"$output")" = Completed ]
	[ "$(jq -r .message <<<"$output")" = "Backup completed successfully" ]
	local id
	id=$(jq -r .backupId <<<"$output")
	[[ $id =~ ^[0-9a-f]{24}$ ]]
	# The seed's log lines, in the seed's words.
	[[ $stderr == *"Starting backup process at "* ]]
	[[ $stderr == *"Backing up collection: users"* ]]
	[[ $stderr == *"Exported 400 documents from messages, BSON size: "*" bytes"* ]]
	[[ $stderr == *"Compressed messages: "*" bytes (compression: "*"%)"* ]]
	[[ $stderr == *"Uploaded backup to: backups/2024-01-15/tralivali_messages.bson.gz"* ]]
	[[ $stderr =~ "Backup process completed in "[0-9]+\.[0-9]{2}" seconds. Success: 5, Failed: 0" ]]
	[[ $stderr == *"Cleaned up 0 old backup(s)"* ]]
	# The layout: a dump and its metadata per collection, and the manifest.
	run tv-blob-ls backups/2024-01-15/
	[ "$(cut -f 1 <<<"$output" | tr '\n' ' ')" = "backups/2024-01-15/manifest.json backups/2024-01-15/tralivali_conversations.bson.gz backups/2024-01-15/tralivali_conversations.metadata.json backups/2024-01-15/tralivali_files.bson.gz backups/2024-01-15/tralivali_files.metadata.json backups/2024-01-15/tralivali_invites.bson.gz backups/2024-01-15/tralivali_invites.metadata.json backups/2024-01-15/tralivali_messages.bson.gz backups/2024-01-15/tralivali_messages.metadata.json backups/2024-01-15/tralivali_users.bson.gz backups/2024-01-15/tralivali_users.metadata.json " ]
	# The manifest holds the contract's fields, and its numbers are the stored blobs'.
	tv-blob-get backups/2024-01-15/manifest.json >"$BATS_TEST_TMPDIR/m.json"
	jq -e --arg id "$id" '.id == $id and .createdAt == "2024-01-15T03:00:00Z" and .type == "scheduled"
		and .status == "Completed" and .filePath == "backups/2024-01-15/" and .database == "tralivali"
		and (.collections | length) == 5 and .size == (.collections | map(.compressedBytes) | add)' "$BATS_TEST_TMPDIR/m.json"
	local c
	for c in "${!SIZES[@]}"; do
		tv-blob-get "backups/2024-01-15/tralivali_$c.bson.gz" >"$BATS_TEST_TMPDIR/$c.gz"
		jq -e --arg c "$c" --argjson n "${SIZES[$c]}" --arg sha "$(sha256sum <"$BATS_TEST_TMPDIR/$c.gz" | cut -d ' ' -f 1)" \
			--argjson size "$(stat -c %s "$BATS_TEST_TMPDIR/$c.gz")" --argjson bson "$(gzip -dc "$BATS_TEST_TMPDIR/$c.gz" | wc -c)" \
			'.collections[] | select(.name == $c) | .documents == $n and .sha256 == $sha and .compressedBytes == $size and .bsonBytes == $bson' \
			"$BATS_TEST_TMPDIR/m.json"
	done
}

@test "tv-backup -q logs nothing when all goes well, and prints the trigger JSON" {
	run --separate-stderr tv-backup -q --collections invites
	assert_status 0
	[ -z "$stderr" ]
	[ "$(jq -r .status <<<"$output")" = Completed ]
}

@test "tv-backup --env-file loads the settings, as the cron entry runs it" {
	printf '# written by the operator\nBACKUP_BLOB_CONTAINER_NAME="from-env-file"\nexport MONGODB_URI=%s\n' "$MONGODB_URI" >"$BATS_TEST_TMPDIR/environment"
	run --separate-stderr env -u MONGODB_URI tv-backup --type scheduled --collections invites --env-file "$BATS_TEST_TMPDIR/environment"
	assert_status 0
	BACKUP_BLOB_CONTAINER_NAME=from-env-file tv-list --json | jq -e '.backups[0].type == "scheduled"'
	echo 'not a setting' >"$BATS_TEST_TMPDIR/bad"
	run tv-backup --env-file "$BATS_TEST_TMPDIR/bad"
	assert_status 64
	assert_output_contains "not KEY=VALUE"
}

@test "the stored dump is the collection byte for byte" {
	backup_at 2024-01-15T03:00Z --collections messages
	tv-blob-get backups/2024-01-15/tralivali_messages.bson.gz | gzip -dc >"$BATS_TEST_TMPDIR/from-backup.bson"
	tv-export -q -c messages >"$BATS_TEST_TMPDIR/now.bson"
	assert_same_file "$BATS_TEST_TMPDIR/from-backup.bson" "$BATS_TEST_TMPDIR/now.bson"
}

@test "tv-list prints the seed's list JSON from the manifests, newest first" {
	backup_at 2024-01-15T03:00:00Z --collections invites
	backup_at 2024-01-17T03:00:00Z --collections invites --type scheduled
	backup_at 2024-01-16T03:00:00Z --collections invites
	run --separate-stderr tv-list --json
	assert_status 0
	[ "$(jq -r '.backups | map(.createdAt) | join(" ")' <<<"$output")" = "2024-01-17T03:00:00Z 2024-01-16T03:00:00Z 2024-01-15T03:00:00Z" ]
	jq -e '.backups[0] | keys == ["collections", "createdAt", "database", "filePath", "id", "size", "snapshot", "status", "type"]
		and .database == "tralivali" and .type == "scheduled" and .status == "Completed" and .filePath == "backups/2024-01-17"
		and .snapshot == "per-collection" and (.collections | map(.name)) == ["invites"]' <<<"$output"
	jq -e '.pitr == []' <<<"$output"
}

@test "tv-list --table prints one line per backup under a header" {
	backup_at 2024-01-15T03:00:00Z --collections invites
	run --separate-stderr tv-list --table
	assert_status 0
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == "CREATED "*"TYPE "*"STATUS "*"SIZE "*"FOLDER "*"ID" ]]
	[[ ${lines[1]} == "2024-01-15T03:00:00Z  manual  Completed  "*"backups/2024-01-15  "* ]]
}

@test "tv-verify checks a good backup and exits 0 with a summary table" {
	backup_at 2024-01-15T03:00Z
	run --separate-stderr tv-verify 2024-01-15
	assert_status 0
	[ "${#lines[@]}" -eq 6 ]
	[[ ${lines[0]} == "BACKUP "*"COLLECTION "*"SHA256 "*"GZIP "*"BSON "*"DOCUMENTS "*"RESULT" ]]
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-01-15 messages ok ok ok 400/400 OK"* ]]
	run tv-verify --latest
	assert_status 0
	# What cron runs: nothing printed when all is well, the table when not.
	run tv-verify -q --latest
	assert_status 0
	[ -z "$output" ]
}

@test "tv-verify finds a corrupted blob and fails" {
	backup_at 2024-01-15T03:00Z --collections users,messages
	# Replace the dump behind the manifest's back: the store's own checksum is then right,
	# only the manifest knows it is not the backup.
	tv-gendata -s 99 messages 5 | gzip | tamper backups/2024-01-15/tralivali_messages.bson.gz
	run --separate-stderr tv-verify -q 2024-01-15
	assert_status 65
	[[ $(tr -s ' ' <<<"$output") == *"users ok ok ok 60/60 OK"* ]]
	[[ $(tr -s ' ' <<<"$output") == *"messages FAIL ok ok 5/400 FAIL"* ]]
	[[ $stderr == *"tralivali_messages.bson.gz: sha256 "*", manifest says "* ]]
}

@test "tv-verify names a deleted blob MISSING and an archived one ARCHIVED, never a checksum failure" {
	backup_at 2024-01-15T03:00Z --collections users,invites,files
	delete_blob backups/2024-01-15/tralivali_users.bson.gz
	if [[ $BACKUP_BLOB_STORAGE_CONNECTION_STRING != file:* ]]; then
		AZURITE_ACCOUNT=$AZURITE_ACCOUNT AZURITE_KEY=$AZURITE_KEY \
			python3 "$TV_SRCDIR/tests/az-rest.py" tier "$BACKUP_BLOB_CONTAINER_NAME" backups/2024-01-15/tralivali_files.bson.gz Archive
	fi
	run --separate-stderr tv-verify -q 2024-01-15
	assert_status 66
	[[ $(tr -s ' ' <<<"$output") == *"users - - - -/60 MISSING"* ]]
	[[ $(tr -s ' ' <<<"$output") == *"invites ok ok ok 10/10 OK"* ]]
	[[ $stderr == *"ERR] tv-verify: backups/2024-01-15/tralivali_users.bson.gz: missing from the store"* ]]
	[[ $stderr != *"e3b0c442"* ]]
	# No line nests another tool's log line.
	! grep -q 'ERR\].*ERR\]' <<<"$stderr"
	if [[ $BACKUP_BLOB_STORAGE_CONNECTION_STRING != file:* ]]; then
		[[ $(tr -s ' ' <<<"$output") == *"files - - - -/25 ARCHIVED"* ]]
		[[ $stderr == *"tralivali_files.bson.gz: in the Archive tier: rehydrate it, then verify again"* ]]
	fi
}

@test "tv-verify finds a dump whose bytes rotted in the store" {
	backup_at 2024-01-15T03:00Z --collections users
	local name=backups/2024-01-15/tralivali_users.bson.gz f=$BATS_TEST_TMPDIR/rotten.gz
	tv-blob-get "$name" >"$f"
	tv_flip_bit "$f" 100
	# Change the stored bytes without going through tv-blob-put, as a failing disk would.
	if [[ $BATS_TEST_FILENAME == *azurite* ]]; then
		load lib/azure
		AZ_CONTENT_LENGTH=$(stat -c %s "$f") AZ_BLOB_TYPE=BlockBlob \
			az_curl PUT "/$BACKUP_BLOB_CONTAINER_NAME/$name" -T "$f" -o /dev/null
	else
		cp "$f" "${BACKUP_BLOB_STORAGE_CONNECTION_STRING#file:}/$BACKUP_BLOB_CONTAINER_NAME/$name"
	fi
	run --separate-stderr tv-verify --all
	assert_status 65
	[[ $(tr -s ' ' <<<"$output") == *"users FAIL "*" FAIL"* ]]
}

@test "tv-recover without --yes shows what it would replace and changes nothing" {
	backup_at 2024-01-15T03:00Z --collections users,invites
	local before
	before=$(fingerprint users)
	run --separate-stderr tv-recover 2024-01-15
	assert_status 0
	[ "$(tr -s ' ' <<<"${lines[2]}")" = "COLLECTION NOW (EST.) AT TARGET" ]
	[ "$(tr -s ' ' <<<"${lines[3]}")" = "users 60 60" ]
	[ "$(tr -s ' ' <<<"${lines[4]}")" = "invites 10 10" ]
	[[ $output == *"Writes after 2024-01-15T03:00:00Z are not restored."* ]]
	[[ $output == *"Nothing was changed. Run again with --yes to restore."* ]]
	[ "$(fingerprint users)" = "$before" ]
	[ "$(tv-blob-ls safety/)" = "" ]
}

@test "tv-recover DATE --yes brings back a lost collection, after a safety backup" {
	backup_at 2024-01-15T03:00Z
	local before
	before=$(fingerprint messages)
	tv-restore -q -c messages --drop </dev/null
	[ "$(count messages)" -eq 0 ]
	run tv-recover 2024-01-15 --yes
	assert_status 0
	assert_output_contains "Restored 400 documents into messages"
	assert_output_contains "Success: 5, Failed: 0"
	[ "$(fingerprint messages)" = "$before" ]
	# The data it replaced is kept under safety/, and can be put back.
	local safety
	safety=$(tv-blob-ls safety/ | cut -f 1 | sed -n 's|/manifest.json$||p')
	[ -n "$safety" ]
	tv-blob-get "$safety/manifest.json" | jq -e '(.collections[] | select(.name == "messages") | .documents) == 0'
	run tv-recover "$safety" --collections messages --yes --no-safety-backup
	assert_status 0
	[ "$(count messages)" -eq 0 ]
	tv-recover -q 2024-01-15 --collections messages --yes --no-safety-backup
}

@test "tv-recover --at picks the newest complete backup at or before the time" {
	backup_at 2024-02-01T03:00:00Z --collections invites
	regenerate invites 17
	backup_at 2024-02-02T03:00:00Z --collections invites
	regenerate invites 3
	# Without an oplog a point reaches its own second only: a later one is refused, never
	# silently restored as the point's state, and the refusal names the command that reaches it.
	run tv-recover --at 2024-02-01T15:30Z --collections invites --yes --no-safety-backup
	assert_status 65
	assert_output_contains "2024-02-01T15:30:00Z is after backups/2024-02-01/, a backup without an oplog position"
	assert_output_contains "Reachable: 2024-02-01T03:00:00Z (tv-recover backups/2024-02-01); 2024-02-02T03:00:00Z (tv-recover backups/2024-02-02)."
	assert_output_contains "The nearest earlier: 2024-02-01T03:00:00Z: tv-recover backups/2024-02-01"
	[ "$(count invites)" -eq 3 ]
	tv-recover -q --at 2024-02-01T03:00:00Z --collections invites --yes --no-safety-backup
	[ "$(count invites)" -eq 10 ]
	tv-recover -q --at 2024-02-02T03:00:00Z --yes --no-safety-backup
	[ "$(count invites)" -eq 17 ]
	run tv-recover --at 2024-01-31T23:59Z --yes
	assert_status 65
	assert_output_contains "2024-01-31T23:59:00Z is before every complete recovery point"
	assert_output_contains "Nothing is reachable before it."
	regenerate invites 10 7
}

@test "a point whose blobs were deleted is Broken everywhere: tv-list, its JSON, tv-status; tv-recover refuses it naming what is missing" {
	backup_at 2024-03-01T03:00Z --collections users,invites
	backup_at 2024-03-02T03:00Z --collections users,invites
	delete_blob backups/2024-03-02/tralivali_users.bson.gz
	delete_blob backups/2024-03-02/tralivali_invites.metadata.json
	run --separate-stderr tv-list --json
	assert_status 0
	jq -e '[.backups[] | {filePath, status}] == [{filePath: "backups/2024-03-02", status: "Broken"}, {filePath: "backups/2024-03-01", status: "Completed"}]' <<<"$output"
	jq -e '.backups[0].missing == ["backups/2024-03-02/tralivali_users.bson.gz", "backups/2024-03-02/tralivali_invites.metadata.json"]' <<<"$output"
	[[ $stderr == *"WRN] tv-list: backups/2024-03-02/: not a recovery point (2 of the 4 blobs its manifest names are missing: backups/2024-03-02/tralivali_users.bson.gz backups/2024-03-02/tralivali_invites.metadata.json)"* ]]
	run tv-list --table
	assert_output_contains "Broken"
	assert_output_contains "backups/2024-03-02/ is broken: 2 of the 4 blobs"
	run tv-status --max-age 100000d
	assert_status 1
	assert_output_contains "broken recovery point(s), not restorable: backups/2024-03-02 (2 blob(s) missing)"
	assert_output_contains "last good backup 2024-03-01T03:00:00Z"
	# The plan refuses it, before any lock or change, and names the point that restores.
	run --separate-stderr tv-recover 2024-03-02
	assert_status 66
	[[ $stderr == *"backups/2024-03-02/ is broken: 2 of the 4 blobs its manifest names are missing: backups/2024-03-02/tralivali_users.bson.gz"* ]]
	[[ $stderr == *"The nearest recovery points: backups/2024-03-01 (tv-recover 2024-03-01)."* ]]
	# --at skips it for the intact point before it.
	run tv-recover --at 2024-03-02T03:00:00Z
	assert_status 65
	assert_output_contains "The nearest earlier: 2024-03-01T03:00:00Z: tv-recover backups/2024-03-01"
}

@test "a date without a point is refused (66) naming the nearest points and never --force; it is recorded as refused and tv-status stays OK" {
	backup_at 2024-04-01T03:00Z --collections users
	backup_at 2024-04-03T03:00Z --collections users
	run --separate-stderr tv-recover 2024-04-02 --yes
	assert_status 66
	[[ $stderr == *"there is no recovery point backups/2024-04-02/. The nearest recovery points: backups/2024-04-01 (tv-recover 2024-04-01), backups/2024-04-03 (tv-recover 2024-04-03)."* ]]
	[[ $stderr != *"--force"* ]]
	[ "$(tv-state -q --runs | jq -s -r 'map(select(.kind == "recover")) | last | .status')" = Refused ]
	run tv-status --max-age 100000d
	assert_output_contains "OK       runs        3 run(s) recorded, none failed"
}

@test "a partial restore touches only the collections named" {
	backup_at 2024-01-15T03:00Z --collections users,files
	regenerate users 5
	regenerate files 6
	tv-recover -q 2024-01-15 --collections users --yes --no-safety-backup
	[ "$(count users)" -eq 60 ]
	[ "$(count files)" -eq 6 ]
	regenerate files 25 7
}

@test "--to-db restores into another database and leaves the source alone" {
	backup_at 2024-01-15T03:00Z --collections messages
	local before
	before=$(fingerprint messages)
	tv-recover -q 2024-01-15 --to-db rehearsal --yes
	[ "$(count messages rehearsal)" -eq 400 ]
	[ "$(fingerprint messages)" = "$before" ]
}

@test "restore refuses a backup without a manifest unless forced" {
	tv-export -q -c users | gzip | tv-blob-put -q backups/2024-03-01/tralivali_users.bson.gz
	regenerate users 4
	run tv-recover 2024-03-01 --yes
	assert_status 66
	assert_output_contains "has no manifest.json: the backup is incomplete"
	[ "$(count users)" -eq 4 ]
	run tv-recover 2024-03-01 --yes --force --no-safety-backup
	assert_status 0
	[ "$(count users)" -eq 60 ]
}

@test "forced, a collection name from the listing passes the manifest's check: tralivali_../x.bson.gz is refused (65), nothing restored" {
	tv-export -q -c users | gzip | tv-blob-put -q backups/2024-03-02/tralivali_users.bson.gz
	tv-export -q -c users | gzip | tv-blob-put -q "backups/2024-03-02/tralivali_../x.bson.gz" || skip "the store refuses the name itself"
	regenerate users 4
	run --separate-stderr tv-recover 2024-03-02 --yes --force --no-safety-backup
	assert_status 65
	[[ $stderr == *"backups/2024-03-02: the collection name of backups/2024-03-02/tralivali_../x.bson.gz is not one a backup may hold"* ]]
	[ "$(count users)" -eq 4 ]
	regenerate users 60 7
}

@test "restore refuses a dump whose checksum differs from the manifest, and the collection stays as it was" {
	backup_at 2024-01-15T03:00Z --collections messages
	tv-gendata -s 99 messages 5 | gzip | tamper backups/2024-01-15/tralivali_messages.bson.gz
	local before
	before=$(fingerprint messages)
	run tv-recover 2024-01-15 --yes --no-safety-backup
	assert_status 65
	assert_output_contains "manifest says"
	assert_output_contains "every collection is as it was"
	[ "$(fingerprint messages)" = "$before" ]
}

@test "a failed second backup of the day leaves the first one intact" {
	backup_at 2024-04-01T03:00Z --collections users,invites
	tv-blob-ls backups/2024-04-01/ | cut -f 1,2 >"$BATS_TEST_TMPDIR/before"
	tv-blob-get backups/2024-04-01/manifest.json >"$BATS_TEST_TMPDIR/manifest.before"
	regenerate users 9
	# The second collection fails after users has been exported, compressed and uploaded.
	run --separate-stderr env TV_NOW=2024-04-01T15:00Z tv-backup --collections users,nosuch
	assert_status 66
	[ "$(jq -r .status <<<"$output")" = Failed ]
	[[ $stderr == *"Success: 1, Failed: 1"* ]]
	tv-blob-ls backups/2024-04-01/ | cut -f 1,2 | diff "$BATS_TEST_TMPDIR/before" -
	tv-blob-get backups/2024-04-01/manifest.json | cmp "$BATS_TEST_TMPDIR/manifest.before" -
	run tv-verify 2024-04-01
	assert_status 0
	# Nor did it leave anything behind: it committed nothing, so no folder of its own.
	[ "$(tv-blob-ls backups/ | cut -f 1 | cut -d / -f 2 | sort -u)" = 2024-04-01 ]
	regenerate users 60 7
}

@test "two backups the same day are two recovery points, both listed and both restorable" {
	backup_at 2024-08-01T03:00:00Z --collections users,invites
	regenerate invites 17
	run --separate-stderr env TV_NOW=2024-08-01T15:30:00Z tv-backup --collections users,invites
	assert_status 0
	[[ $stderr == *"Uploaded backup to: backups/2024-08-01T153000Z/tralivali_invites.bson.gz"* ]]
	run --separate-stderr tv-list --json
	assert_status 0
	[ "$(jq -r '.backups | map(.filePath) | join(" ")' <<<"$output")" = "backups/2024-08-01T153000Z backups/2024-08-01" ]
	tv-recover -q 2024-08-01 --collections invites --yes --no-safety-backup
	[ "$(count invites)" -eq 10 ]
	tv-recover -q 2024-08-01T153000Z --collections invites --yes --no-safety-backup
	[ "$(count invites)" -eq 17 ]
	# --at the first point's own second restores it; a later second the standalone server has no
	# oplog for is refused, naming that point.
	tv-recover -q --at 2024-08-01T03:00:00Z --collections invites --yes --no-safety-backup
	[ "$(count invites)" -eq 10 ]
	run tv-recover -q --at 2024-08-01T12:00Z --collections invites --yes --no-safety-backup
	assert_status 65
	assert_output_contains "The nearest earlier: 2024-08-01T03:00:00Z: tv-recover backups/2024-08-01"
	run tv-verify --all
	assert_status 0
	regenerate invites 10 7
}

@test "a partial backup is a recovery point of its collections only and masks no fuller one" {
	backup_at 2024-10-01T03:00Z
	backup_at 2024-10-01T09:00Z --collections users
	run --separate-stderr tv-list --json
	assert_status 0
	[ "$(jq -c '.backups | map([.filePath, (.collections | length)])' <<<"$output")" = '[["backups/2024-10-01T090000Z",1],["backups/2024-10-01",5]]' ]
	run tv-recover 2024-10-01T090000Z --collections messages --yes
	assert_status 66
	assert_output_contains "has no collection messages"
	run tv-recover 2024-10-01 --collections messages
	assert_status 0
}

@test "a run killed during its commits leaves an incomplete folder and the day's first backup intact" {
	backup_at 2024-09-01T03:00Z --collections users,invites
	tv-blob-ls backups/2024-09-01/ >"$BATS_TEST_TMPDIR/before"
	# A tv-blob-put that kills its tv-backup with SIGKILL once it has committed one blob.
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/usr/bin/env bash\n"%s" "$@" || exit\n[[ " $* " != *" --commit "* ]] || kill -9 $PPID\n' \
		"$(command -v tv-blob-put)" >"$BATS_TEST_TMPDIR/bin/tv-blob-put"
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-blob-put"
	regenerate users 9
	run env PATH="$BATS_TEST_TMPDIR/bin:$PATH" TV_NOW=2024-09-01T15:00Z tv-backup --collections users,invites
	assert_status 137
	tv-blob-ls backups/2024-09-01/ | diff "$BATS_TEST_TMPDIR/before" -
	[ "$(tv-blob-ls backups/2024-09-01T150000Z/ | cut -f 1)" = backups/2024-09-01T150000Z/tralivali_users.bson.gz ]
	run --separate-stderr tv-list --json
	assert_status 0
	[ "$(jq -r '.backups | map("\(.filePath) \(.status)") | join(", ")' <<<"$output")" = "backups/2024-09-01T150000Z Incomplete, backups/2024-09-01 Completed" ]
	run --separate-stderr tv-verify --all
	assert_status 66
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-09-01T150000Z - - - - - INCOMPLETE"* ]]
	tv-recover -q 2024-09-01 --collections users --yes --no-safety-backup
	[ "$(count users)" -eq 60 ]
	# The next run of the day takes a folder of its own again.
	backup_at 2024-09-01T16:00Z --collections invites
	[ -n "$(tv-blob-ls backups/2024-09-01T160000Z/manifest.json)" ]
}

# Copies the users dump of folder $1 to folder $2 and stores there the manifest of $1 changed by jq filter $3.
forge_backup() {
	local from=$1 to=$2 filter=$3 f
	for f in tralivali_users.bson.gz tralivali_users.metadata.json; do
		tv-blob-get "$from/$f" | tv-blob-put -q "$to/$f"
	done
	tv-blob-get "$from/manifest.json" |
		jq -c --arg to "$to" '.filePath = "\($to)/" | .collections[0].file = "\($to)/tralivali_users.bson.gz"
			| .collections[0].metadataFile = "\($to)/tralivali_users.metadata.json" | '"$filter" |
		tv-blob-put -q "$to/manifest.json"
}

@test "a tampered manifest is refused with 65 naming the field, by every reader" {
	backup_at 2024-11-01T03:00Z --collections users
	forge_backup backups/2024-11-01 backups/2024-11-02 '.collections[0].name = "../users"'
	forge_backup backups/2024-11-01 backups/2024-11-03 '.collections[0].file = "backups/2024-11-01/tralivali_users.bson.gz"'
	run --separate-stderr tv-verify 2024-11-02
	assert_status 65
	[[ $stderr == *'backups/2024-11-02: not a valid manifest: collections[0].name: "../users" is not a collection name'* ]]
	run --separate-stderr tv-verify 2024-11-03
	assert_status 65
	[[ $stderr == *'collections[0].file: "backups/2024-11-01/tralivali_users.bson.gz" is not backups/2024-11-03/tralivali_users.bson.gz'* ]]
	run tv-recover 2024-11-02 --yes --no-safety-backup
	assert_status 65
	assert_output_contains "not a valid manifest"
	# The listing shows the good point, names the bad ones, and fails.
	run --separate-stderr tv-list --json
	assert_status 65
	[ "$(jq -r '[.backups[] | select(.status == "Completed") | .filePath] | join(" ")' <<<"$output")" = "backups/2024-11-01" ]
	[ "$(jq -r '[.backups[] | select(.status == "Invalid") | .filePath] | join(" ")' <<<"$output")" = "backups/2024-11-03 backups/2024-11-02" ]
	[[ $stderr == *"backups/2024-11-02/manifest.json: not a valid manifest"* ]]
	[[ $stderr == *"backups/2024-11-03/manifest.json: not a valid manifest"* ]]
}

@test "tv-list --counts shows documents per point and collection, marking drops and jumps" {
	backup_at 2024-12-01T03:00Z --collections users,invites
	regenerate invites 11
	backup_at 2024-12-02T03:00Z --collections users,invites
	regenerate invites 2
	backup_at 2024-12-03T03:00Z --collections invites
	run --separate-stderr tv-list --counts --table
	assert_status 0
	[ "$(sed 's/ *$//' <<<"$output" | tr -s ' ')" = "CREATED FOLDER COLLECTION DOCUMENTS CHANGE
2024-12-01T03:00:00Z backups/2024-12-01/ users 60 -
2024-12-01T03:00:00Z backups/2024-12-01/ invites 10 -
2024-12-02T03:00:00Z backups/2024-12-02/ users 60 0%
2024-12-02T03:00:00Z backups/2024-12-02/ invites 11 +10%
2024-12-03T03:00:00Z backups/2024-12-03/ invites 2 -81.8% DROP" ]
	run --separate-stderr tv-list --counts --threshold 5 --json
	assert_status 0
	jq -e '.[3] == {createdAt: "2024-12-02T03:00:00Z", folder: "backups/2024-12-02/", collection: "invites",
		documents: 11, previous: 10, changePercent: 10, flag: "JUMP"}' <<<"$output"
	regenerate invites 10 7
}

@test "tv-backup warns about a collection the database has but the backup leaves out" {
	tv-gendata -s 7 users 3 | tv-restore -q -d ransomed -c users --drop
	tv-gendata -s 7 users 1 | tv-restore -q -d ransomed -c READ_ME_TO_RECOVER --drop
	run --separate-stderr env TV_NOW=2025-01-01T03:00Z tv-backup --db ransomed
	assert_status 0
	[[ $stderr == *"collection READ_ME_TO_RECOVER exists in the database but is not backed up (not a TralliValli collection)"* ]]
	[[ $stderr != *"collection users exists"* ]]
}

@test "on a replica set a backup is consistent: the oplog between its exports is stored with it" {
	# A server of its own, with an oplog.
	tv_start_mongo
	tv_enable_oplog
	regenerate users 60
	regenerate messages 50
	# A write lands while the backup runs: a tv-export that inserts a user as messages starts.
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/usr/bin/env bash\n[[ " $* " != *" -c messages "* ]] || "%s" %s >/dev/null\nexec "%s" "$@"\n' \
		"$TV_BUILDDIR/tests/tv-mongo-cmd" "'{\"insert\": \"users\", \"documents\": [{\"_id\": \"during\"}]}'" \
		"$(command -v tv-export)" >"$BATS_TEST_TMPDIR/bin/tv-export"
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-export"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin:$PATH" TV_NOW=2024-06-01T03:00Z tv-backup --collections users,messages
	assert_status 0
	tv-blob-get backups/2024-06-01/manifest.json >"$BATS_TEST_TMPDIR/m.json"
	jq -e '(.consistentAt.start | test("^[0-9]+[.][0-9]+$")) and .consistentAt.start < .consistentAt.end
		and .oplog.file == "backups/2024-06-01/oplog.bson.gz" and .oplog.entries == 1 and (has("snapshot") | not)
		and (.collections[] | select(.name == "users") | .documents) == 60' "$BATS_TEST_TMPDIR/m.json"
	[[ $(tv-blob-get backups/2024-06-01/oplog.bson.gz | gzip -dc | bsondump --quiet 2>/dev/null) == *'"_id":"during"'* ]]
	run --separate-stderr tv-verify 2024-06-01
	assert_status 0
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-06-01 oplog ok ok ok 1/1 OK"* ]]
	run --separate-stderr tv-list --table
	assert_status 0
	[[ ${lines[1]} == *" users,messages  consistent  backups/2024-06-01 "* ]]
	tv_stop_mongo
}

# Deletes blob $1 behind the tools' back, as an operator's mistake or a failing disk would.
remove_blob() {
	if [[ $BACKUP_BLOB_STORAGE_CONNECTION_STRING == file:* ]]; then
		rm "${BACKUP_BLOB_STORAGE_CONNECTION_STRING#file:}/$BACKUP_BLOB_CONTAINER_NAME/$1"
	else
		load lib/azure
		az_curl DELETE "/$BACKUP_BLOB_CONTAINER_NAME/$1" -o /dev/null
	fi
}

@test "tv-list shows the oplog range tv-pitr ships; tv-verify checks the slices and finds a hole in the chain" {
	tv_start_mongo
	tv_enable_oplog
	local i
	for i in 1 2 3 4; do
		"$TV_BUILDDIR/tests/tv-mongo-cmd" "{\"insert\": \"users\", \"documents\": [{\"_id\": \"pitr$i\"}]}" >/dev/null
		tv-pitr -q
	done
	local slices
	slices=$(tv-blob-ls oplog/ | cut -f 1 | grep '\.bson\.gz$')
	[ "$(wc -l <<<"$slices")" -eq 3 ]
	run --separate-stderr tv-list --json
	assert_status 0
	jq -e --arg from "$(sed -n 1p <<<"$slices" | sed 's|.*/||; s|-.*||')" --arg to "$(sed -n 3p <<<"$slices" | sed 's|.*-||; s|\.bson\.gz$||')" \
		'.pitr | length == 1 and .[0].fromPosition == $from and .[0].toPosition == $to' <<<"$output"
	run --separate-stderr tv-verify --slices
	assert_status 0
	[ "$(grep -c ' oplog slice .* OK$' <<<"$output")" -eq 3 ]
	remove_blob "$(sed -n 2p <<<"$slices")"
	run --separate-stderr tv-verify --slices
	assert_status 65
	[[ $stderr == *"hole in the oplog chain between $(sed -n 1p <<<"$slices") and $(sed -n 3p <<<"$slices")"* ]]
	tv_stop_mongo
}

@test "a stage killed with SIGKILL fails the backup and commits nothing" {
	mkdir "$BATS_TEST_TMPDIR/bin"
	# A tv-gzip that dies by SIGKILL half-way through the messages collection.
	cat >"$BATS_TEST_TMPDIR/bin/tv-gzip" <<EOF
#!/usr/bin/env bash
if [[ " \$* " == *" messages "* ]]; then head -c 4096 >/dev/null; kill -9 \$\$; fi
exec "$(command -v tv-gzip)" "\$@"
EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-gzip"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin:$PATH" TV_NOW=2024-05-01T03:00Z tv-backup
	[ "$status" -ne 0 ]
	[ "$(jq -r .status <<<"$output")" = Failed ]
	[[ $stderr == *"backing up messages failed: tv-gzip was killed by signal 9 (KILL) (exit 137)"* ]]
	[[ $stderr == *"nothing was committed"* ]]
	[ "$(tv-blob-ls backups/)" = "" ]
	run tv-recover 2024-05-01 --yes
	assert_status 66
}

@test "the database going down mid-backup fails the backup with 69 and commits nothing" {
	# A server of its own, to kill.
	tv_start_mongo
	MONGODB_URI="$MONGODB_URI?serverSelectionTimeoutMS=2000"
	regenerate users 60
	regenerate messages 50
	backup_at 2024-06-01T01:00Z --collections users
	tv-blob-get backups/2024-06-01/manifest.json >"$BATS_TEST_TMPDIR/manifest.before"
	# The server dies (SIGKILL) once users is backed up, as messages starts.
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/tv-export" <<EOF
#!/usr/bin/env bash
[[ " \$* " != *" messages "* ]] || kill -9 $TV_MONGO_PID
exec "$(command -v tv-export)" "\$@"
EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-export"
	run --separate-stderr env PATH="$BATS_TEST_TMPDIR/bin:$PATH" TV_NOW=2024-06-01T03:00Z tv-backup --collections users,messages
	tv_stop_mongo
	assert_status 69
	[ "$(jq -r .status <<<"$output")" = Failed ]
	[[ $stderr == *"Success: 1, Failed: 1"* ]]
	[[ $stderr == *"nothing was committed"* ]]
	tv-blob-get backups/2024-06-01/manifest.json | cmp "$BATS_TEST_TMPDIR/manifest.before" -
	run tv-verify 2024-06-01
	assert_status 0
}

@test "storage down: the backup fails, commits nothing, and the circuit breaker then fails fast" {
	backup_at 2024-07-01T03:00Z --collections invites
	tv-blob-get backups/2024-07-01/manifest.json >"$BATS_TEST_TMPDIR/manifest.before"
	local good=$BACKUP_BLOB_STORAGE_CONNECTION_STRING
	# An Azure store nothing answers for, with a short retry budget.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$(tv_free_port)/$AZURITE_ACCOUNT;"
	export TV_RETRY_MAX_SECONDS=1 BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=2 BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS=600
	run tv-blob-ls backups/
	[[ $output != *"only file:/path stores are supported"* ]] || skip "this build has no Azure store"
	run --separate-stderr env TV_NOW=2024-07-01T15:00Z tv-backup --collections invites,users
	[ "$status" -eq 75 ] || [ "$status" -eq 69 ]
	[ "$(jq -r .status <<<"$output")" = Failed ]
	[[ $stderr == *"nothing was committed"* ]]
	# Once open, the breaker fails every run at once, naming itself.
	SECONDS=0
	run --separate-stderr env TV_NOW=2024-07-01T16:00Z tv-backup --collections invites
	assert_status 69
	[[ $stderr == *"Circuit breaker is open"* ]]
	[ "$SECONDS" -lt 10 ]
	run tv-verify --latest
	assert_status 69
	# The store back: the earlier backup of the day is as it was.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$good
	rm -rf "$BACKUP_STATE_DIR"
	tv-blob-get backups/2024-07-01/manifest.json | cmp "$BATS_TEST_TMPDIR/manifest.before" -
}

@test "overlapping runs are refused with a clear message" {
	backup_at 2024-01-15T03:00Z --collections invites
	# Another run holds the lock.
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock 8
	run --separate-stderr tv-backup --collections invites
	assert_status 75
	[ "$(jq -r .status <<<"$output")" = Failed ]
	[[ $stderr == *"another backup or restore is running (lock $BACKUP_STATE_DIR/tralivali-backup.lock held by tv-backup pid "* ]]
	run tv-recover 2024-01-15 --yes
	assert_status 75
	assert_output_contains "another backup or restore is running"
	exec 8>&-
	run tv-backup --collections invites
	assert_status 0
}

@test "retention with fake dates removes old backups but keeps the newest complete ones" {
	for d in 2024-01-01 2024-01-02 2024-01-03 2024-02-01; do
		backup_at "${d}T03:00Z" --collections invites
	done
	# An incomplete date, as a backup that died would leave.
	tv-export -q -c invites | gzip | tv-blob-put -q backups/2024-01-04/tralivali_invites.bson.gz
	run --separate-stderr env TV_NOW=2024-02-10T03:00Z BACKUP_RETENTION_DAYS=20 tv-backup --collections invites --keep-min 3
	assert_status 0
	[[ $stderr == *"Cleaned up 3 old backup(s)"* ]]
	[ "$(tv-blob-ls backups/ | cut -f 1 | cut -d / -f 2 | sort -u | tr '\n' ' ')" = "2024-01-03 2024-02-01 2024-02-10 " ]
}

@test "retention applies the calendar policy (BACKUP_KEEP_*) from the environment file to tv-prune" {
	for d in 2024-01-01 2024-01-15 2024-01-31 2024-02-01; do
		backup_at "${d}T03:00Z" --collections invites
	done
	printf 'BACKUP_RETENTION_DAYS=0\nBACKUP_KEEP_MONTHLY=2\n' >"$BATS_TEST_TMPDIR/env"
	run --separate-stderr env TV_NOW=2024-02-10T03:00Z tv-backup --env-file "$BATS_TEST_TMPDIR/env" --collections invites --keep-min 0
	assert_status 0
	[[ $stderr == *"Cleaned up 3 old backup(s)"* ]]
	[ "$(tv-blob-ls backups/ | cut -f 1 | cut -d / -f 2 | sort -u | tr '\n' ' ')" = "2024-01-31 2024-02-10 " ]
}

@test "retention is skipped, not failed, when the prune credential may not delete" {
	[[ $BATS_TEST_FILENAME == *azurite* ]] || skip "only an Azure SAS says what it may do"
	load lib/blob
	backup_at 2023-01-01T03:00Z --collections invites
	export BACKUP_PRUNE_CONNECTION_STRING="BlobEndpoint=$AZURITE_BLOB_ENDPOINT;SharedAccessSignature=$(tv_az_account_sas 2099-01-01T00:00:00Z rl)"
	run --separate-stderr env TV_NOW=2024-02-10T03:00Z BACKUP_RETENTION_DAYS=20 tv-backup --collections invites --keep-min 0
	assert_status 0
	[[ $stderr == *"Retention skipped: the prune role's credential may not delete"* ]]
	[ "$(tv-blob-ls backups/ | cut -f 1 | cut -d / -f 2 | sort -u | tr '\n' ' ')" = "2023-01-01 2024-02-10 " ]
}

@test "a day folder of the file: store restores with the real mongorestore --gzip" {
	[[ $BATS_TEST_FILENAME != *azurite* ]] || skip "the day folder is a directory only in the file: store"
	backup_at 2024-01-15T03:00Z
	local day=${BACKUP_BLOB_STORAGE_CONNECTION_STRING#file:}/$BACKUP_BLOB_CONTAINER_NAME/backups/2024-01-15
	# mongorestore names collections after files (tralivali_users): --nsFrom/--nsTo map them back.
	# With --gzip it also reads metadata only as .metadata.json.gz, so gzip a copy of those.
	cp -r "$day" "$BATS_TEST_TMPDIR/day"
	gzip "$BATS_TEST_TMPDIR/day/"*.metadata.json
	run mongorestore --uri "${MONGODB_URI%/*}/" --gzip --dir "$BATS_TEST_TMPDIR/day" --db interop \
		--nsFrom 'interop.tralivali_$c$' --nsTo 'interop.$c$'
	assert_status 0
	assert_output_contains "535 document(s) restored successfully"
	local c
	for c in "${!SIZES[@]}"; do
		cmp <(tv-export -q -d interop -c "$c" | bsondump --quiet 2>/dev/null | sort) \
			<(tv-export -q -c "$c" | bsondump --quiet 2>/dev/null | sort)
	done
}

@test "tv-demo --help prints its usage page on stdout and exits 0; a bad option is a usage error" {
	run --separate-stderr tv-demo --help
	assert_status 0
	[ -z "$stderr" ]
	[[ $output == "usage: tv-demo [--no-build]"* ]]
	assert_output_contains "TV_DEMO_MESSAGES: how many messages to generate"
	run --separate-stderr tv-demo --no-such-option
	assert_status 64
	[[ $stderr == "usage: tv-demo [--no-build]"* ]]
}

@test "the README's demo runs end to end and the counts match" {
	[[ $BATS_TEST_FILENAME != *azurite* ]] || skip "the demo's own store is the file: one"
	unset BACKUP_BLOB_STORAGE_CONNECTION_STRING BACKUP_BLOB_CONTAINER_NAME
	# The demo starts its own server: MONGODB_URI unset is what a fresh machine has.
	run env -u MONGODB_URI TV_DEMO_MESSAGES=300 tv-demo --no-build
	assert_status 0
	assert_output_contains "Restored 300 documents into messages"
	assert_output_contains "All counts match."
}

@test "the scripts are shellcheck-clean" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	cd "$TV_SRCDIR"
	shellcheck -x -S warning scripts/tv-backup scripts/tv-cron-install scripts/tv-demo \
		scripts/tv-list scripts/tv-lib.sh scripts/tv-recover scripts/tv-verify
}
