#!/usr/bin/env bats
# tv-rehearse: the restore test against a real MongoDB-wire server and the file: store.

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
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/store
	export BACKUP_BLOB_CONTAINER_NAME=backups
	unset TV_NOW
	local c
	for c in "${!SIZES[@]}"; do
		tv-gendata -s 5 --users 20 --conversations 15 --files 10 "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
	done
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-rehearse --help
	assert_status 0
	[[ $output == "usage: tv-rehearse "* ]]
	run tv-rehearse --bogus
	assert_status 64
}

@test "a sound backup passes: counts, indexes, references, the RTO, a record, and no scratch database left" {
	tv-backup -q >/dev/null
	run --separate-stderr tv-rehearse --db rehearsal_ok
	assert_status 0
	[[ ${lines[-1]} =~ ^"Restore time (RTO): "[0-9.]+" s for backups/"[0-9-]+"/; 0 check(s) failed"$ ]]
	[[ $output == *"ok      count messages"*"80 documents"* ]]
	[[ $output == *"refs messages.conversationId -> conversations._id"*"80 references resolve"* ]]
	run tv-dbcheck -d rehearsal_ok --indexes -c users
	assert_status 66
	run tv-state --runs
	jq -s -e 'map(select(.kind == "rehearse")) | length == 1 and (.[0].status == "Completed") and
		(.[0].rehearsal.rtoSeconds > 0) and (.[0].rehearsal.failed == 0)' <<<"$output"
}

@test "a dangling reference fails the rehearsal, naming the rule, and the run is recorded as failed" {
	# Messages that point at conversations 0..99 where only 15 exist.
	tv-gendata -s 5 --users 20 --conversations 100 messages 30 | tv-restore -q -c messages --drop
	tv-backup -q >/dev/null
	run tv-rehearse --db rehearsal_bad
	assert_status 65
	assert_output_contains "FAILED  refs messages.conversationId -> conversations._id"
	assert_output_contains "check(s) failed: the restore of backups/"
	# The scratch database is dropped after a failed rehearsal too, and no warning says otherwise.
	refute_output_contains "could not drop the scratch database"
	run tv-dbcheck -d rehearsal_bad --indexes -c users
	assert_status 66
	run tv-state --runs
	jq -s -e 'map(select(.kind == "rehearse")) | last | .status == "Failed" and .exitCode == 65 and
		(.rehearsal.checks | map(select(.result == "FAILED")) | length >= 1)' <<<"$output"
}

@test "--at rehearses the newest recovery point at or before that time" {
	TV_NOW=2024-01-10T03:00:00Z tv-backup -q >/dev/null
	tv-gendata -s 5 --users 20 --conversations 15 users 10 | tv-restore -q -c users --drop
	TV_NOW=2024-01-12T03:00:00Z tv-backup -q >/dev/null
	run --separate-stderr tv-rehearse --at 2024-01-10T03:00:00Z --db rehearsal_at
	assert_status 0
	assert_output_contains "for backups/2024-01-10/"
	[[ $output == *"count users"*"20 documents"* ]]
	# A later second: these points of a standalone server have no oplog to reach it.
	run --separate-stderr tv-rehearse --at 2024-01-11T00:00Z --db rehearsal_at
	assert_status 65
}
