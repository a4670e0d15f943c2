#!/usr/bin/env bats
# tv-copy: the second store.  A primary with two recovery points and oplog slices (FerretDB with
# an oplog, a file: store) is built once; each test copies it into its own copy store (a file:
# directory, or a container of Azurite) and checks what arrived, blob by blob.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	tv_enable_oplog
	tv_start_azurite
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_FILE_TMPDIR/primary BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_FILE_TMPDIR/state BACKUP_RETENTION_DAYS=100000
	local c
	for c in users conversations messages; do
		tv-gendata -s 7 "$c" 30 | tv-restore -q -c "$c" --drop
	done
	TV_NOW=2026-12-07T03:00:00Z tv-backup -q --collections users,conversations,messages >/dev/null
	tv-export -q -c messages >"$BATS_FILE_TMPDIR/messages.first"
	tv-gendata -s 8 messages 20 | tv-restore -q -c messages
	tv-pitr -q
	TV_NOW=2026-12-07T09:00:00Z tv-backup -q --collections users,conversations,messages >/dev/null
	tv-export -q -c messages >"$BATS_FILE_TMPDIR/messages.second"
	"$TV_BUILDDIR/tests/tv-mongo-cmd" '{"insert": "users", "documents": [{"_id": "after-second"}]}' >/dev/null
	tv-pitr -q
	sorted_users >"$BATS_FILE_TMPDIR/users.at"
}

# Prints the users collection's documents as canonical JSON lines, sorted: a replay need not keep their order.
sorted_users() {
	tv-export -q -c users | bsondump --quiet | sort
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	tv_stop_azurite
}

setup() {
	load lib/common
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_COPY_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/copy
	unset BACKUP_COPY_CONTAINER_NAME TV_NOW
	# tv-status's schedule check: a backup is scheduled.
	echo '0 3 * * * tralivali-backup tv-backup --type scheduled' >"$BATS_TEST_TMPDIR/crontab"
	export TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/crontab
}

# Prints the names and sizes of backups/ and oplog/ in the store of role $1 (default restore).
holdings() {
	{ tv-blob-ls --role "${1:-restore}" backups/; tv-blob-ls --role "${1:-restore}" oplog/; } | cut -f 1,2
}

# Makes $PRIMARY a private copy of the shared primary that a test may change (xattrs and all).
own_primary() {
	cp -a "${BACKUP_BLOB_STORAGE_CONNECTION_STRING#file:}" "$BATS_TEST_TMPDIR/primary"
	# Other tests' run records, kept in the shared store, are not this test's history.
	rm -rf "$BATS_TEST_TMPDIR/primary/backups/runs"
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/primary
	PRIMARY=$BATS_TEST_TMPDIR/primary/backups
}

@test "tv-copy copies every recovery point and oplog slice, and a second run copies nothing" {
	run -0 tv-copy
	assert_output_contains "INF] Copied "
	assert_output_contains ": 2 recovery point(s), "
	holdings >"$BATS_TEST_TMPDIR/primary.ls"
	holdings copy >"$BATS_TEST_TMPDIR/copy.ls"
	cmp "$BATS_TEST_TMPDIR/primary.ls" "$BATS_TEST_TMPDIR/copy.ls"
	grep -q '\.bson\.gz	' <(grep '^oplog/' "$BATS_TEST_TMPDIR/copy.ls")
	run -0 tv-copy
	assert_output_contains "INF] Copied 0 blob(s), 0 bytes"
	run -0 jq -c .copy "$(ls -t "$BACKUP_STATE_DIR"/runs/*/*-copy-*.json | head -n 1)"
	[ "$output" = '{"blobs":0,"bytes":0,"points":0,"slices":0,"pendingPoints":0,"pendingSlices":0}' ]
}

@test "the plan copies each point's blobs before its manifest, points oldest first, then the oplog in order" {
	run -0 tv-copy -n
	names=$(cut -f 1 <<<"$output" | grep -v '^\[')
	# Three dumps and their metadata, the oplog between the exports, then the manifest.
	[ "$(grep -n 'backups/2026-12-07/manifest.json' <<<"$names" | cut -d: -f1)" -eq 8 ]
	[ "$(grep -c '^backups/2026-12-07/' <<<"$names")" -eq 8 ]
	[ "$(grep -n 'backups/2026-12-07T090000Z/manifest.json' <<<"$names" | cut -d: -f1)" -eq 16 ]
	sed -n '17,$p' <<<"$names" | grep -q '^oplog/'
	! sed -n '17,$p' <<<"$names" | grep -vq '^oplog/'
	# -n copies nothing.
	run -0 tv-blob-ls --role copy backups/
	[ -z "$output" ]
}

@test "with the primary gone, the copy restores a point byte-exact and tv-list, tv-verify see both points" {
	tv-copy -q
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$BACKUP_COPY_CONNECTION_STRING
	run -0 tv-list --json
	diff <(jq -r '.backups[].filePath' <<<"$output" | sort) - <<-EOF
		backups/2026-12-07
		backups/2026-12-07T090000Z
	EOF
	run -0 tv-verify 2026-12-07
	tv-recover -q --yes --no-safety-backup 2026-12-07 --collections messages
	tv-export -q -c messages | cmp - "$BATS_FILE_TMPDIR/messages.first"
	tv-recover -q --yes --no-safety-backup 2026-12-07T090000Z --collections messages
	tv-export -q -c messages | cmp - "$BATS_FILE_TMPDIR/messages.second"
}

@test "with the primary gone, tv-recover --at the end of the copied oplog replays it from the copy" {
	tv-copy -q
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$BACKUP_COPY_CONNECTION_STRING
	at=$(tv-blob-ls oplog/ | awk -F '\t' '$1 ~ /\.bson\.gz$/ { n = $1 } END { sub(/^.*-/, "", n); sub(/\.bson\.gz$/, "", n); print n }')
	tv-gendata -s 9 users 5 | tv-restore -q -c users --drop
	tv-recover -q --yes --no-safety-backup --at "$at" --collections users
	diff <(sorted_users) "$BATS_FILE_TMPDIR/users.at"
}

@test "tv-verify --copy compares both stores point by point: the same, missing, different" {
	tv-copy -q
	run -0 tv-verify --copy
	assert_output_contains "Verified: the copy holds every recovery point and oplog slice of the first store, each the same"
	[[ $output =~ backups/2026-12-07T090000Z\ +present\ +present\ +OK ]]
	copy=$BATS_TEST_TMPDIR/copy/backups
	rm "$copy/backups/2026-12-07T090000Z/tralivali_users.bson.gz"
	echo other | tv-blob-put -q --role copy backups/2026-12-07T090000Z/tralivali_users.bson.gz
	run -65 tv-verify --copy
	assert_output_contains "backups/2026-12-07T090000Z/tralivali_users.bson.gz: sha256 "
	[[ $output =~ backups/2026-12-07T090000Z\ +present\ +present\ +DIFFERENT ]]
	rm -r "$copy/backups/2026-12-07T090000Z"
	run -66 tv-verify --copy
	assert_output_contains "ERR] tv-verify: backups/2026-12-07T090000Z/: not in the copy"
	[[ $output =~ backups/2026-12-07T090000Z\ +present\ +missing\ +MISSING ]]
}

@test "a blob the copy already holds with the right checksum is success, with other content 73" {
	blob=backups/2026-12-07/tralivali_users.bson.gz
	sha=$(tv-blob-get "$blob" | sha256sum | cut -d ' ' -f 1)
	tv-blob-get "$blob" | tv-blob-put -q --role copy "$blob"
	echo other | tv-blob-put -q --role copy backups/2026-12-07T090000Z/tralivali_users.bson.gz
	run -73 tv-copy
	assert_output_contains "backups/2026-12-07T090000Z/tralivali_users.bson.gz already exists with SHA-256 "
	assert_output_contains ", not the expected "
	# The first point is whole in the copy; the one whose blob is wrong there has no manifest.
	run -0 tv-blob-get --role copy backups/2026-12-07/manifest.json
	run -66 tv-blob-get --role copy backups/2026-12-07T090000Z/manifest.json
	run -0 tv-blob-put --role copy --sha256 "$sha" "$blob" </dev/null
	assert_output_contains "$blob is already stored with SHA-256 $sha"
}

@test "a blob that arrives with another checksum than its manifest's is never committed (65)" {
	own_primary
	blob=backups/2026-12-07/tralivali_messages.bson.gz
	# Someone with a key that may delete replaces a dump: its own recorded checksum still matches it.
	rm "$PRIMARY/$blob"
	echo forged | tv-blob-put -q "$blob"
	run -65 tv-copy
	assert_output_contains "$blob arrived with SHA-256 "
	assert_output_contains "; not committed"
	run -0 tv-blob-ls --role copy backups/2026-12-07/
	refute_output_contains tralivali_messages
	refute_output_contains manifest.json
	run -0 jq -r '[.status, .exitCode, .cause] | @tsv' "$(ls -t "$BACKUP_STATE_DIR"/runs/*/*-copy-*.json | head -n 1)"
	assert_output_contains $'Failed\t65\ttv-blob-put: '"$blob arrived with SHA-256 "
}

@test "a copy killed with kill -9 half-way is completed by the next run" {
	# A tv-blob-put that kills the flow (SIGKILL, no EXIT trap) once the first point's manifest is next.
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/tv-blob-put" <<-EOF
		#!/bin/sh
		case "\$*" in *backups/2026-12-07T090000Z/tralivali_users*) kill -9 "\$TV_FLOW_PID"; exit 75 ;; esac
		exec "$TV_BUILDDIR/tools/tv-blob-put" "\$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-blob-put"
	run -137 env PATH="$BATS_TEST_TMPDIR/bin:$PATH" tv-copy
	run -0 tv-blob-ls --role copy backups/
	assert_output_contains backups/2026-12-07/manifest.json
	refute_output_contains backups/2026-12-07T090000Z/manifest.json
	wait_lock_free "$BACKUP_STATE_DIR/tralivali-backup-copy.lock"
	run -0 tv-copy
	holdings >"$BATS_TEST_TMPDIR/primary.ls"
	holdings copy >"$BATS_TEST_TMPDIR/copy.ls"
	cmp "$BATS_TEST_TMPDIR/primary.ls" "$BATS_TEST_TMPDIR/copy.ls"
}

@test "between two containers of one Azurite, and a copy SAS without w fails 77 with the primary untouched" {
	load lib/blob
	export BACKUP_COPY_CONNECTION_STRING=$AZURITE_CONNECTION_STRING BACKUP_COPY_CONTAINER_NAME=primary$BATS_TEST_NUMBER
	tv-copy -q
	# The Azurite container is now the primary; a second container of the same Azurite the copy.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING BACKUP_BLOB_CONTAINER_NAME=primary$BATS_TEST_NUMBER
	holdings >"$BATS_TEST_TMPDIR/before.ls"
	export BACKUP_COPY_CONTAINER_NAME=copy$BATS_TEST_NUMBER
	BACKUP_COPY_CONNECTION_STRING=$(tv_az_sas_connection_string rl) run -77 tv-copy
	holdings >"$BATS_TEST_TMPDIR/after.ls"
	cmp "$BATS_TEST_TMPDIR/before.ls" "$BATS_TEST_TMPDIR/after.ls"
	run -0 tv-copy
	# Two Azure stores: the copy reads the primary through a read-only SAS, server-side.
	assert_output_contains "seconds (server-side): 2 recovery point(s)"
	holdings copy >"$BATS_TEST_TMPDIR/copy.ls"
	cmp "$BATS_TEST_TMPDIR/before.ls" "$BATS_TEST_TMPDIR/copy.ls"
	# And what arrived is byte for byte what the primary holds.
	while IFS=$'\t' read -r name _; do
		cmp <(tv-blob-get "$name") <(tv-blob-get --role copy "$name")
	done <"$BATS_TEST_TMPDIR/before.ls"
	# --stream copies the same through this host; here there is nothing left to copy.
	run -0 tv-copy --stream
	assert_output_contains "INF] Copied 0 blob(s), 0 bytes"
}

@test "without BACKUP_COPY_CONNECTION_STRING tv-copy says what to set and exits 64; --help shows its page" {
	# Its failed run is recorded in the store too: not in the one other tests share.
	own_primary
	unset BACKUP_COPY_CONNECTION_STRING
	run -64 tv-copy
	assert_output_contains "no copy store: set BACKUP_COPY_CONNECTION_STRING"
	run -0 tv-copy --help
	assert_output_contains "usage: tv-copy [-nqv] [--json] [--stream] [--if-idle] [--env-file FILE]"
	assert_output_contains "copy what the second store lacks"
	run -64 tv-copy --bogus
}

@test "tv-backup copies its new point after the commit; a copy store refusing writes fails nothing committed, and tv-status is CRITICAL" {
	load lib/blob
	own_primary
	export BACKUP_COPY_CONNECTION_STRING=$AZURITE_CONNECTION_STRING BACKUP_COPY_CONTAINER_NAME=copy$BATS_TEST_NUMBER
	# Run records are ordered by their (fake) start times.
	TV_NOW=2026-12-07T14:00:00Z tv-copy -q
	run -0 env TV_NOW=2026-12-07T15:00:00Z tv-backup --collections users
	assert_output_contains "INF] Copied 4 blob(s)"
	run -0 tv-blob-get --role copy backups/2026-12-07T150000Z/manifest.json
	run -0 tv-status --max-age 100000d --max-copy-age 100000d
	assert_output_contains "the second store holds every recovery point and oplog slice"
	holdings >"$BATS_TEST_TMPDIR/before.ls"
	BACKUP_COPY_CONNECTION_STRING=$(tv_az_sas_connection_string rl) run -0 env TV_NOW=2026-12-07T16:00:00Z tv-backup --collections users
	assert_output_contains "WRN] tv-backup: copying to the second store failed (exit 77: permission denied); backups/2026-12-07T160000Z/ is committed in the first store, and the next run copies it"
	run -0 jq -r '[.status, .copy.exitCode] | @tsv' "$(ls -t "$BACKUP_STATE_DIR"/runs/*/*-backup-*.json | head -n 1)"
	[ "$output" = $'Completed\t77' ]
	run -0 tv-blob-get backups/2026-12-07T160000Z/manifest.json
	BACKUP_COPY_CONNECTION_STRING=$(tv_az_sas_connection_string rl) run -2 tv-status --max-age 100000d --max-copy-age 100000d
	assert_output_contains "TRALIVALI-BACKUP CRITICAL - copy: the last copy to the second store failed: "
	assert_output_contains "1 point(s) and 0 oplog slice(s) not yet in the second store"
	tv-status --local --prom "$BATS_TEST_TMPDIR/metrics" >/dev/null || true
	grep -qx 'tralivali_backup_copy_last_run_success 0' "$BATS_TEST_TMPDIR/metrics"
	grep -qx 'tralivali_backup_copy_pending_points 1' "$BATS_TEST_TMPDIR/metrics"
	TV_NOW=2026-12-07T17:00:00Z tv-copy -q
	run -0 tv-status --max-age 100000d --max-copy-age 100000d --prom "$BATS_TEST_TMPDIR/metrics"
	grep -qx 'tralivali_backup_copy_last_run_success 1' "$BATS_TEST_TMPDIR/metrics"
	grep -qx 'tralivali_backup_copy_pending_points 0' "$BATS_TEST_TMPDIR/metrics"
}

@test "tv-status says how far behind the copy is: WARNING past --max-copy-age, CRITICAL past twice it" {
	own_primary
	slices=$(tv-blob-ls oplog/ | grep -c '\.bson\.gz	')
	# The oldest point not in the copy was made at 03:00, 15 hours before.
	run -2 env TV_NOW=2026-12-07T18:00:00Z tv-status --max-age 100000d --max-oplog-age 100000d --max-copy-age 7h
	assert_output_contains "2 point(s) and $slices oplog slice(s) not yet in the second store, the oldest for 15h, over twice 7h"
	run -1 env TV_NOW=2026-12-07T18:00:00Z tv-status --max-age 100000d --max-oplog-age 100000d --max-copy-age 10h
	assert_output_contains "TRALIVALI-BACKUP WARNING - copy: 2 point(s) and $slices oplog slice(s) not yet in the second store, the oldest for 15h, over 10h"
}

@test "a copy that finds another running: --if-idle (after a commit) leaves the work to it, without it 75" {
	lock=$(tv-state --dir)/tralivali-backup-copy.lock
	mkfifo "$BATS_TEST_TMPDIR/release"
	# Holds the copy lock until the test writes to the fifo.
	flock "$lock" cat "$BATS_TEST_TMPDIR/release" >/dev/null &
	holder=$!
	until ! flock -n "$lock" true; do sleep 0.1; done
	run -0 tv-copy --if-idle
	assert_output_contains "INF] Another tv-copy is running; it, or the next run, copies what is new"
	run -75 tv-copy
	assert_output_contains "ERR] tv-copy: another tv-copy is running (lock $lock held by "
	echo >"$BATS_TEST_TMPDIR/release"
	wait "$holder"
	run -0 tv-copy --if-idle
	assert_output_contains "INF] Copied "
}

@test "tv-pitr copies the slices it shipped to the second store at the end of its pass" {
	own_primary
	tv-copy -q
	"$TV_BUILDDIR/tests/tv-mongo-cmd" '{"insert": "users", "documents": [{"_id": "pitr-copied"}]}' >/dev/null
	run -0 tv-pitr --idle-seconds 1
	assert_output_contains "INF] Shipped oplog slice "
	assert_output_contains "INF] Copied 2 blob(s)"
	run -0 jq -r '.copy.exitCode' "$(ls -t "$BACKUP_STATE_DIR"/runs/*/*-pitr-*.json | head -n 1)"
	[ "$output" = 0 ]
	holdings >"$BATS_TEST_TMPDIR/primary.ls"
	holdings copy >"$BATS_TEST_TMPDIR/copy.ls"
	cmp "$BATS_TEST_TMPDIR/primary.ls" "$BATS_TEST_TMPDIR/copy.ls"
}

@test "an encrypted point is copied with its manifest's MAC, and the copy verifies and compares the same" {
	own_primary
	(umask 077; head -c 32 /dev/urandom >"$BATS_TEST_TMPDIR/key")
	export BACKUP_ENCRYPTION_KEY_FILE=$BATS_TEST_TMPDIR/key
	TV_NOW=2026-12-07T20:00:00Z tv-backup -q --collections users >/dev/null
	tv-copy -q
	run -0 tv-blob-get --role copy backups/2026-12-07T200000Z/manifest.json.mac
	run -0 tv-verify --copy
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$BACKUP_COPY_CONNECTION_STRING run -0 tv-verify 2026-12-07T200000Z
	assert_output_contains "Verified: every backup checked is complete and intact"
}
