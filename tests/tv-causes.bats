#!/usr/bin/env bats
# Every failure names its cause, all the way up: the first error of the stage that failed (with
# host and port, never a password) is what the flow says last, what its run record keeps as
# cause and what tv-status shows.  Per flow: MongoDB down, the store down, wrong credentials,
# the lock held.  Real FerretDB and Azurite; the "down" servers are free ports nothing listens on.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	tv_enable_oplog
	tv_start_azurite
	local c
	for c in users invites; do
		tv-gendata -s 7 "$c" 10 | tv-restore -q -c "$c" --drop
	done
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	tv_stop_azurite
}

setup() {
	load lib/common
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING
	export BACKUP_BLOB_CONTAINER_NAME="t$BATS_TEST_NUMBER-$RANDOM"
	export TV_RETRY_MAX_SECONDS=1
	GOOD_URI=$MONGODB_URI
	DOWN=$(tv_free_port)
	# A URI of a server that is down, with a password that must never be shown.
	BAD_URI="mongodb://backup:hunter2-secret@127.0.0.1:$DOWN/tralivali"
}

# Prints the cause in the newest run record of kind $1.
cause_of() { tv-state --runs | jq -s -r --arg k "$1" 'map(select(.kind == $k)) | last | .cause // "none"'; }

# Fails unless text $2 contains $1 and not the password.
names() {
	[[ $2 == *"$1"* ]] || { printf 'expected %s in: %s\n' "$1" "$2" >&2; return 1; }
	[[ $2 != *hunter2-secret* ]] || { printf 'the password leaked: %s\n' "$2" >&2; return 1; }
}

# Runs each flow that touches the store with connection string $1: each must exit $2 saying $3.
each_flow_fails() {
	local flow
	for flow in tv-backup tv-pitr "tv-recover 2024-01-15" "tv-verify --latest" tv-list; do
		# shellcheck disable=SC2086 # the flow's words
		run --separate-stderr env BACKUP_BLOB_STORAGE_CONNECTION_STRING="$1" $flow
		[ "$status" -eq "$2" ] || { echo "$flow: exit $status: $stderr" >&2; return 1; }
		names "$3" "$stderr"
		[[ $stderr != *AAAAAAAAAAAA* ]] || { echo "$flow: the key leaked" >&2; return 1; }
	done
}

@test "MongoDB down: tv-backup, tv-pitr, tv-recover and tv-rehearse name the server's host and port as the cause" {
	tv-backup -q >/dev/null
	run --separate-stderr env MONGODB_URI="$BAD_URI" tv-backup
	assert_status 69
	names "cannot reach MongoDB at" "$(jq -r .message <<<"$output")"
	names "127.0.0.1:$DOWN" "$(jq -r .message <<<"$output")"
	names "127.0.0.1:$DOWN" "$(cause_of backup)"
	run --separate-stderr env MONGODB_URI="$BAD_URI" tv-pitr
	assert_status 69
	names "127.0.0.1:$DOWN" "$(cause_of pitr)"
	run --separate-stderr env MONGODB_URI="$BAD_URI" tv-recover "$(date -u +%F)" --yes --no-safety-backup
	assert_status 69
	names "127.0.0.1:$DOWN" "$stderr"
	names "127.0.0.1:$DOWN" "$(cause_of recover)"
	run --separate-stderr env MONGODB_URI="$BAD_URI" tv-rehearse
	[ "$status" -ne 0 ]
	names "127.0.0.1:$DOWN" "$(cause_of rehearse)"
	# tv-status shows the last failure's cause.
	run env MONGODB_URI="$GOOD_URI" tv-status --max-age 1000d
	names "127.0.0.1:$DOWN" "$output"
}

@test "the store down: every flow names the endpoint it could not reach" {
	local store="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$DOWN/devstoreaccount1;"
	each_flow_fails "$store" 69 "127.0.0.1 port $DOWN"
	names "127.0.0.1 port $DOWN" "$(cause_of backup)"
	names "127.0.0.1 port $DOWN" "$(cause_of pitr)"
	names "127.0.0.1 port $DOWN" "$(cause_of recover)"
}

@test "wrong credentials: 77 and 'access denied' as the cause, never the key" {
	local store="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$(head -c 64 /dev/zero | base64 -w0);BlobEndpoint=$AZURITE_BLOB_ENDPOINT;"
	each_flow_fails "$store" 77 "access denied"
	names "access denied" "$(cause_of backup)"
	names "access denied" "$(cause_of recover)"
}

@test "the lock held: tv-backup and tv-recover exit 75 naming the holder, its host and since when" {
	tv-backup -q >/dev/null
	mkdir -p "$BACKUP_STATE_DIR"
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock -n 8
	echo "tv-backup pid 4242 on otherhost since 2024-01-15T03:00:00Z" >"$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	run --separate-stderr tv-backup
	local backup_status=$status backup_message
	backup_message=$(jq -r .message <<<"$output")
	run --separate-stderr tv-recover "$(date -u +%F)" --yes --no-safety-backup
	exec 8>&-
	[ "$backup_status" -eq 75 ]
	names "held by tv-backup pid 4242 on otherhost since 2024-01-15T03:00:00Z" "$backup_message"
	names "held by tv-backup pid 4242 on otherhost since 2024-01-15T03:00:00Z" "$(cause_of backup)"
	assert_status 75
	names "held by tv-backup pid 4242 on otherhost since 2024-01-15T03:00:00Z" "$(cause_of recover)"
}
