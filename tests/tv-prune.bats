#!/usr/bin/env bats
# tv-prune: retention by recovery point (the folders' times): within N days, the calendar rules
# (BACKUP_KEEP_*), never the newest complete ones; and the oplog slices no kept point or the
# PITR window needs.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	STORE=$BATS_TEST_TMPDIR/store
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="file:$STORE"
	export BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	unset TV_NOW BACKUP_RETENTION_DAYS BACKUP_KEEP_DAILY BACKUP_KEEP_WEEKLY BACKUP_KEEP_MONTHLY BACKUP_KEEP_YEARLY \
		BACKUP_PITR_DAYS
}

# Prints the ISO-8601 time a folder name (2024-01-15 or 2024-01-15T150000Z) stands for.
folder_time() {
	local f=$1
	if [[ $f == *T* ]]; then
		echo "${f:0:10}T${f:11:2}:${f:13:2}:${f:15:2}Z"
	else
		echo "${f}T00:00:00Z"
	fi
}

# Stores a backup folder $1 (2024-01-15 or 2024-01-15T150000Z): two dumps and, unless $2 is
# "none", a valid manifest with status $2 (default Completed); $3 adds fields (JSON) to it.
make_backup() {
	local day=$1 status=${2:-Completed} extra=${3:-'{}'}
	printf 'users %s' "$day" | tv-blob-put -q "backups/$day/tralivali_users.bson.gz"
	printf 'messages %s' "$day" | tv-blob-put -q "backups/$day/tralivali_messages.bson.gz"
	[ "$status" = none ] ||
		jq -cn --arg f "backups/$day/" --arg t "$(folder_time "$day")" --arg s "$status" --argjson x "$extra" \
			'{id: "0123456789abcdef01234567", createdAt: $t, type: "manual", status: $s, filePath: $f,
			  size: 0, collections: [], snapshot: "per-collection"} + $x | with_entries(select(.value != null))' |
		tv-blob-put -q "backups/$day/manifest.json"
}

# Stores a recovery point $1 that holds no collection: its manifest alone.
make_point() {
	printf '{"id": "0123456789abcdef01234567", "createdAt": "%s", "type": "scheduled", "status": "Completed",
		"filePath": "backups/%s/", "size": 0, "collections": [], "snapshot": "per-collection"}' \
		"$(folder_time "$1")" "$1" | tv-blob-put -q "backups/$1/manifest.json"
}

# Stores an oplog slice (or, with $2 = break, a break record) named by positions $1 (A-B).
make_slice() {
	local range=$1 kind=${2:-slice} day
	day=$(date -u -d "@${range%%.*}" +%F)
	if [ "$kind" = break ]; then
		printf 'break' | tv-blob-put -q "oplog/$day/$range.break.json"
	else
		printf 'slice %s' "$range" | tv-blob-put -q "oplog/$day/$range.bson.gz"
	fi
}

# Prints the oplog blobs left, one a line.
slices_left() {
	tv-blob-ls oplog/ | cut -f 1 | cut -d / -f 3
}

# Prints the backup dates left in the store, one a line.
dates_left() {
	tv-blob-ls backups/ | cut -f 1 | cut -d / -f 2 | sort -u
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-prune --help
	assert_status 0
	[[ $output == "usage: tv-prune "* ]]
}

@test "deletes the dates older than the retention and keeps the rest" {
	for d in 2024-01-01 2024-01-10 2024-01-20 2024-01-30; do make_backup "$d"; done
	run bash -c 'tv-blob-ls backups/ | tv-prune --retention-days 15 --keep-min 0 --now 2024-01-31T03:00:00Z'
	assert_status 0
	assert_output_contains "Cleaned up 2 old backup(s)"
	[ "$(dates_left | tr '\n' ' ')" = "2024-01-20 2024-01-30 " ]
}

@test "a date exactly at the cutoff day is kept" {
	make_backup 2024-01-16
	make_backup 2024-01-15
	tv-blob-ls backups/ | tv-prune --retention-days 15 --keep-min 0 --now 2024-01-31T23:59Z
	[ "$(dates_left | tr '\n' ' ')" = "2024-01-16 " ]
}

@test "never deletes the newest --keep-min complete backups, however old" {
	for d in 2023-01-01 2023-02-01 2023-03-01 2023-04-01; do make_backup "$d"; done
	run bash -c 'tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 2 --now 2024-06-01'
	assert_status 0
	assert_output_contains "Cleaned up 2 old backup(s)"
	[ "$(dates_left | tr '\n' ' ')" = "2023-03-01 2023-04-01 " ]
}

@test "incomplete backups do not count as kept, and old ones are deleted" {
	make_backup 2023-01-01
	make_backup 2023-02-01 none
	make_backup 2023-03-01 Failed
	tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 1 --now 2024-06-01
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01 " ]
}

@test "recent incomplete backups are left alone (a backup may be running)" {
	make_backup 2024-05-31 none
	tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 0 --now 2024-06-01
	[ "$(dates_left)" = 2024-05-31 ]
}

@test "-n prints every folder with the rules that keep it or delete, and deletes nothing" {
	make_backup 2023-01-01
	make_backup 2023-02-01 Failed
	make_backup 2024-05-30
	make_backup 2024-05-31
	make_backup 2024-05-31T120000Z none
	run --separate-stderr bash -c 'tv-blob-ls backups/ | tv-prune -n --retention-days 30 --keep-min 1 --now 2024-06-01'
	assert_status 0
	[ "$output" = "backups/2023-01-01/	delete
backups/2023-02-01/	delete (failed)
backups/2024-05-30/	keep: within 30 days
backups/2024-05-31/	keep: newest 1 (keep-min), within 30 days
backups/2024-05-31T120000Z/	keep: within 30 days (incomplete)" ]
	[[ "$stderr" == *"Would clean up 2 old backup(s) (dry run)"* ]]
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01 2023-02-01 2024-05-30 2024-05-31 2024-05-31T120000Z " ]
}

@test "a folder is deleted manifest first, so an interrupted deletion leaves it incomplete" {
	make_backup 2023-01-01
	run --separate-stderr bash -c 'tv-blob-ls backups/ | tv-prune -v --retention-days 30 --keep-min 0 --now 2024-06-01'
	assert_status 0
	[ "$(grep -o 'deleted backups/.*' <<<"$stderr")" = "deleted backups/2023-01-01/manifest.json
deleted backups/2023-01-01/tralivali_messages.bson.gz
deleted backups/2023-01-01/tralivali_users.bson.gz" ]
	[[ $stderr == *"backups/2023-01-01/: delete"* ]]
}

# Prints the folders that -n output $1 says will be deleted.
deleted_in() {
	awk -F '\t' '$2 == "delete" { print $1 }' <<<"$1"
}

@test "TV_NOW sets the clock like --now" {
	make_backup 2024-01-01
	make_backup 2024-03-01
	run --separate-stderr bash -c 'tv-blob-ls backups/ | TV_NOW=2024-03-05T00:00:00Z tv-prune -n --retention-days 30 --keep-min 0'
	assert_status 0
	[ "$(deleted_in "$output")" = backups/2024-01-01/ ]
}

@test "the retention defaults to BACKUP_RETENTION_DAYS" {
	make_backup 2024-02-20
	make_backup 2024-02-25
	run --separate-stderr bash -c 'tv-blob-ls backups/ | BACKUP_RETENTION_DAYS=7 tv-prune -n --keep-min 0 --now 2024-03-01'
	assert_status 0
	[ "$(deleted_in "$output")" = backups/2024-02-20/ ]
}

@test "blobs outside backups/YYYY-MM-DD/ are never touched" {
	make_backup 2020-01-01
	printf x | tv-blob-put -q safety/2020-01-01T000000Z/tralivali_users.bson.gz
	printf x | tv-blob-put -q backups/notes.txt
	printf x | tv-blob-put -q backups/2020-13-01/x
	tv-blob-ls | tv-prune --retention-days 1 --keep-min 0 --now 2024-01-01
	[ "$(tv-blob-ls | cut -f 1 | tr '\n' ' ')" = "backups/2020-13-01/x backups/notes.txt safety/2020-01-01T000000Z/tralivali_users.bson.gz " ]
}

@test "an empty listing cleans up nothing" {
	run tv-prune --retention-days 1 </dev/null
	assert_status 0
	assert_output_contains "Cleaned up 0 old backup(s)"
}

@test "a line that is not a listing line is refused with exit 65" {
	run tv-prune --retention-days 1 <<<"backups/2024-01-01/manifest.json 12 2024-01-01T00:00:00Z"
	assert_status 65
	assert_output_contains "stdin:1: not a tv-blob-ls line"
}

@test "a bad --now or --keep-min is a usage error" {
	run tv-prune --now yesterday </dev/null
	assert_status 64
	assert_output_contains "not an ISO-8601 UTC time"
	run tv-prune --keep-min -1 </dev/null
	assert_status 64
	run tv-prune --retention-days many </dev/null
	assert_status 64
}

@test "keep-min counts recovery points, several a day, not days" {
	for f in 2023-01-01 2023-01-01T120000Z 2023-01-01T180000Z 2023-02-01; do make_backup "$f"; done
	run --separate-stderr bash -c 'tv-blob-ls | tv-prune --retention-days 30 --keep-min 3 --now 2024-06-01'
	assert_status 0
	[[ $stderr == *"Cleaned up 1 old backup(s)"* ]]
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01T120000Z 2023-01-01T180000Z 2023-02-01 " ]
}

@test "an incomplete folder of the same day is deleted past retention, the points beside it kept" {
	make_backup 2023-01-01
	make_backup 2023-01-01T120000Z none
	tv-blob-ls | tv-prune --retention-days 30 --keep-min 1 --now 2024-06-01
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01 " ]
}

@test "a tampered manifest (a ../ collection name) stops retention before anything is deleted" {
	make_backup 2023-01-01
	make_backup 2023-02-01 Completed '{"collections": [{"name": "../etc", "file": "backups/2023-02-01/tralivali_../etc.bson.gz",
		"documents": 1, "bsonBytes": 1, "compressedBytes": 1, "sha256": "'"$(printf '%064d' 0)"'"}]}'
	run --separate-stderr bash -c 'tv-blob-ls | tv-prune --retention-days 30 --keep-min 1 --now 2024-06-01'
	assert_status 65
	[[ $stderr == *'backups/2023-02-01/manifest.json: not a valid manifest: collections[0].name: "../etc" is not a collection name: not deleting anything'* ]]
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01 2023-02-01 " ]
}

@test "oplog slices that end before the oldest kept point are deleted, the rest kept" {
	# 1704067200 is 2024-01-01T00:00:00Z; the kept point is consistent from 1704103200.5 (10:00).
	make_backup 2023-06-01
	make_backup 2024-01-01T100000Z Completed '{"snapshot": null, "consistentAt": {"start": "1704103200.5", "end": "1704103260.1"},
		"oplog": {"file": "backups/2024-01-01T100000Z/oplog.bson.gz", "sha256": "'"$(printf '%064d' 0)"'", "entries": 3}}'
	printf 'oplog' | tv-blob-put -q backups/2024-01-01T100000Z/oplog.bson.gz
	make_slice 1704067200.1-1704070800.9
	make_slice 1704070800.9-1704099600.1 break
	make_slice 1704099600.1-1704103200.5
	make_slice 1704103200.5-1704106800.2
	run --separate-stderr bash -c 'tv-blob-ls | tv-prune -n --retention-days 30 --keep-min 1 --now 2024-06-01'
	assert_status 0
	[ "$output" = "backups/2023-06-01/	delete
backups/2024-01-01T100000Z/	keep: newest 1 (keep-min)
oplog/2024-01-01/1704067200.1-1704070800.9.bson.gz	delete
oplog/2024-01-01/1704070800.9-1704099600.1.break.json	delete" ]
	[[ $stderr == *"Would clean up 1 old backup(s) (dry run)"* ]]
	tv-blob-ls | tv-prune -q --retention-days 30 --keep-min 1 --now 2024-06-01
	[ "$(slices_left | tr '\n' ' ')" = "1704099600.1-1704103200.5.bson.gz 1704103200.5-1704106800.2.bson.gz " ]
}

@test "with no recovery point kept, no oplog slice is deleted" {
	make_slice 1704067200.1-1704070800.9
	tv-blob-ls | tv-prune --retention-days 1 --keep-min 0 --now 2024-06-01
	[ "$(slices_left)" = "1704067200.1-1704070800.9.bson.gz" ]
}

@test "a 120-day history is pruned by a calendar policy to exactly the expected points" {
	# 2026-08-10 to 2026-12-07, one point a day at 00:00, and a second at 15:00 on the 6th, 15th, 30th.
	for i in $(seq 119 -1 0); do
		d=$(date -u -d "2026-12-07 -$i days" +%F)
		make_point "$d"
		case ${d:8:2} in 06 | 15 | 30) make_point "${d}T150000Z" ;; esac
	done
	export TV_NOW=2026-12-07T12:00:00Z BACKUP_RETENTION_DAYS=0 BACKUP_KEEP_DAILY=7 BACKUP_KEEP_WEEKLY=4 BACKUP_KEEP_MONTHLY=3
	run --separate-stderr bash -c 'tv-blob-ls backups/ | tv-prune -n --keep-min 2'
	assert_status 0
	[ "$(grep -c '	delete$' <<<"$output")" = 121 ]
	[ "$(grep -v '	delete$' <<<"$output")" = "backups/2026-10-31/	keep: monthly 2026-10
backups/2026-11-22/	keep: weekly 2026-W47
backups/2026-11-29/	keep: weekly 2026-W48
backups/2026-11-30T150000Z/	keep: monthly 2026-11
backups/2026-12-01/	keep: daily 2026-12-01
backups/2026-12-02/	keep: daily 2026-12-02
backups/2026-12-03/	keep: daily 2026-12-03
backups/2026-12-04/	keep: daily 2026-12-04
backups/2026-12-05/	keep: daily 2026-12-05
backups/2026-12-06T150000Z/	keep: newest 2 (keep-min), daily 2026-12-06, weekly 2026-W49
backups/2026-12-07/	keep: newest 2 (keep-min), within 0 days, daily 2026-12-07, weekly 2026-W50, monthly 2026-12" ]
	run --separate-stderr bash -c 'tv-blob-ls backups/ | tv-prune --keep-min 2'
	assert_status 0
	[[ $stderr == *"Cleaned up 121 old backup(s)"* ]]
	[ "$(dates_left | LC_ALL=C sort)" = "2026-10-31
2026-11-22
2026-11-29
2026-11-30T150000Z
2026-12-01
2026-12-02
2026-12-03
2026-12-04
2026-12-05
2026-12-06T150000Z
2026-12-07" ]
}

@test "flags beat BACKUP_KEEP_* in the environment" {
	for d in 2024-01-01 2024-02-01 2024-03-01; do make_point "$d"; done
	run --separate-stderr bash -c 'tv-blob-ls | BACKUP_KEEP_MONTHLY=3 tv-prune -n --retention-days 0 --keep-min 0 --now 2024-06-01'
	assert_status 0
	[ "$(deleted_in "$output")" = "" ]
	run --separate-stderr bash -c 'tv-blob-ls | BACKUP_KEEP_MONTHLY=3 tv-prune -n --keep-monthly 1 --retention-days 0 --keep-min 0 --now 2024-06-01'
	assert_status 0
	[ "$(deleted_in "$output" | tr '\n' ' ')" = "backups/2024-01-01/ backups/2024-02-01/ " ]
	run --separate-stderr bash -c 'tv-blob-ls | tv-prune -n --keep-yearly 1 --keep-weekly 1 --keep-daily 1 --retention-days 0 --keep-min 0 --now 2024-06-01'
	assert_status 0
	[ "$output" = "backups/2024-01-01/	delete
backups/2024-02-01/	delete
backups/2024-03-01/	keep: daily 2024-03-01, weekly 2024-W09, yearly 2024" ]
}

@test "a BACKUP_KEEP_* or BACKUP_PITR_DAYS that is not a whole number is a usage error naming it" {
	run --separate-stderr env BACKUP_KEEP_WEEKLY=four tv-prune -n </dev/null
	assert_status 64
	[[ $stderr == *"BACKUP_KEEP_WEEKLY must be a whole number from 0 to 100000, not 'four'"* ]]
	run --separate-stderr tv-prune -n --pitr-days -3 </dev/null
	assert_status 64
	[[ $stderr == *"BACKUP_PITR_DAYS must be a whole number from 0 to 100000, not '-3'"* ]]
}

@test "BACKUP_PITR_DAYS: slices before the window go while the older points stay, those replaying into it stay" {
	# 1714521600 is 2024-05-01, 1717200000 2024-06-01; the window of 7 days at 2024-06-10 starts on 2024-06-03.
	for d in 2024-05-01 2024-06-01 2024-06-05; do make_point "$d"; done
	make_slice 1714521600.1-1715731200.1
	make_slice 1715731200.1-1717156800.1
	make_slice 1717156800.1-1717286400.1
	make_slice 1717286400.1-1717891200.1
	run --separate-stderr bash -c 'tv-blob-ls | tv-prune -n --retention-days 60 --keep-min 1 --now 2024-06-10'
	assert_status 0
	[ "$(grep -c oplog/ <<<"$output")" = 0 ]
	run --separate-stderr bash -c 'tv-blob-ls | BACKUP_PITR_DAYS=7 tv-prune -n --retention-days 60 --keep-min 1 --now 2024-06-10'
	assert_status 0
	[ "$output" = "backups/2024-05-01/	keep: within 60 days
backups/2024-06-01/	keep: within 60 days
backups/2024-06-05/	keep: newest 1 (keep-min), within 60 days
oplog/2024-05-01/1714521600.1-1715731200.1.bson.gz	delete
oplog/2024-05-15/1715731200.1-1717156800.1.bson.gz	delete" ]
	tv-blob-ls | BACKUP_PITR_DAYS=7 tv-prune -q --retention-days 60 --keep-min 1 --now 2024-06-10
	[ "$(slices_left | tr '\n' ' ')" = "1717156800.1-1717286400.1.bson.gz 1717286400.1-1717891200.1.bson.gz " ]
	[ "$(dates_left | tr '\n' ' ')" = "2024-05-01 2024-06-01 2024-06-05 " ]
}

@test "a PITR window reaching before every kept point keeps every slice inside it" {
	make_point 2024-06-05
	make_slice 1714521600.1-1715731200.1
	make_slice 1717286400.1-1717891200.1
	tv-blob-ls | BACKUP_PITR_DAYS=10 tv-prune -q --retention-days 60 --keep-min 1 --now 2024-06-10
	[ "$(slices_left)" = "1717286400.1-1717891200.1.bson.gz" ]
}

# Breaks the stored checksum of a blob of the file store, so that reading it fails (exit 65).
corrupt_blob() {
	printf x >>"$STORE/backups/backups/$1"
}

@test "an unreadable manifest stops retention before anything is deleted" {
	for d in 2023-01-01 2023-02-01 2023-03-01; do make_backup "$d"; done
	corrupt_blob 2023-03-01/manifest.json
	run bash -c 'tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 2 --now 2024-06-01'
	assert_status 65
	assert_output_contains "backups/2023-03-01/manifest.json: cannot be read (exit 65): not deleting anything"
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01 2023-02-01 2023-03-01 " ]
}

@test "an unreadable manifest of an old backup also stops retention" {
	for d in 2023-01-01 2023-02-01 2023-03-01; do make_backup "$d"; done
	corrupt_blob 2023-01-01/manifest.json
	run bash -c 'tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 7 --now 2024-06-01'
	assert_status 65
	[ "$(dates_left | tr '\n' ' ')" = "2023-01-01 2023-02-01 2023-03-01 " ]
}
