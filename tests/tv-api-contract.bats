#!/usr/bin/env bats
# tv-api's answers against the old service's, field by field: every field of the old example
# (tests/old-service/, from its operators' guide) is there, with the same JSON type; the values
# its clients match (messages, success, status) are the same; filePath and createdAt are written
# as it wrote them.  Fields we add (detail, holder, pitr, collections, ...) break no old client.
# The guide gives no bodies for 401, 403 and 500, only the statuses: those are tv-api.bats's.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	load lib/jwt
	tv_start_mongo
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_FILE_TMPDIR/store
	export BACKUP_BLOB_CONTAINER_NAME=backups BACKUP_STATE_DIR=$BATS_FILE_TMPDIR/state BACKUP_RETENTION_DAYS=100000
	local c
	for c in users conversations messages invites files; do
		tv-gendata -s 7 "$c" 10 | tv-restore -q -c "$c" --drop
	done
	# A point to list and restore, whichever test runs alone.
	tv-backup -q >/dev/null
	echo 'chat-application-secret-of-44-bytes-or-more' >"$BATS_FILE_TMPDIR/secret"
	chmod 600 "$BATS_FILE_TMPDIR/secret"
	export BACKUP_API_JWT_SECRET_FILE=$BATS_FILE_TMPDIR/secret
	ADMIN=$(jwt HS256 "$BATS_FILE_TMPDIR/secret" '"sub":"alice","role":"admin"')
	export ADMIN
	tv_start_server api api_command
	export API_PID=$TV_SPAWNED_PID API_DIR=$TV_SPAWNED_DIR API=http://127.0.0.1:$TV_SPAWNED_PORT
}

teardown_file() {
	load lib/common
	tv_stop_pid "${API_PID:-}"
	[ -z "${API_DIR:-}" ] || rm -rf "$API_DIR"
	tv_stop_mongo
}

setup() {
	load lib/common
	OLD=$TV_SRCDIR/tests/old-service
}

# The command line of a tv-api on port $2 (used by tv_start_server).
api_command() {
	echo "env ${API_ENV:-} tv-api --listen 127.0.0.1:$2"
}

# Calls tv-api with the admin token: admin METHOD PATH; sets $code and $body (a file).
admin() {
	body=$BATS_TEST_TMPDIR/body
	code=$(curl -sS -o "$body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $ADMIN" "${BASE:-$API}$2")
}

# Compares answer file $2 with the old service's example $1: prints nothing when every field of
# the example is in the answer with the same type (each element of an array against the
# example's first), and the fields named in JSON array $3 have the example's very value; else
# one line per difference.
differences() {
	jq -rn --slurpfile old "$1" --slurpfile new "$2" --argjson exact "${3:-[]}" '
		def diff($o; $n; $p):
			if ($o | type) != ($n | type) then "\($p): \($n | type) here, \($o | type) in the old service'"'"'s"
			elif ($o | type) == "object" then
				$o | keys_unsorted[] as $k |
				if ($n | has($k)) then diff($o[$k]; $n[$k]; "\($p).\($k)") else "\($p).\($k): missing" end
			elif ($o | type) == "array" then $n | to_entries[] | diff($o[0]; .value; "\($p)[\(.key)]")
			else empty end;
		diff($old[0]; $new[0]; ""),
		($exact[] as $k | select($old[0][$k] != $new[0][$k]) |
			".\($k): \($new[0][$k] | tojson) here, \($old[0][$k] | tojson) in the old service'"'"'s")'
}

# Fails the test, saying how, unless answer $2 has the shape of the old example $1 (see differences).
assert_old_shape() {
	local diff
	diff=$(differences "$@")
	if [ -n "$diff" ]; then
		printf 'the answer differs from the old service'"'"'s %s:\n%s\nanswer: %s\n' "${1##*/}" "$diff" "$(cat "$2")" >&2
		return 1
	fi
}

@test "the comparison itself fails on a missing field, a changed type and a changed message" {
	echo '{"message":"Backup restored successfully"}' >"$BATS_TEST_TMPDIR/a"
	[ "$(differences "$OLD/restore-success.json" "$BATS_TEST_TMPDIR/a")" = ".success: missing" ]
	echo '{"message":"Restored","success":"true"}' >"$BATS_TEST_TMPDIR/a"
	[ "$(differences "$OLD/restore-success.json" "$BATS_TEST_TMPDIR/a" '["message"]')" = \
		"$(printf '%s\n' ".success: string here, boolean in the old service's" \
			'.message: "Restored" here, "Backup restored successfully" in the old service'"'"'s')" ]
	echo '{"backups":[{"id":"x","createdAt":"x","filePath":"x","size":"1","type":"x","status":"x"}]}' >"$BATS_TEST_TMPDIR/a"
	[ "$(differences "$OLD/list.json" "$BATS_TEST_TMPDIR/a")" = ".backups[0].size: string here, number in the old service's" ]
}

@test "POST /admin/backup/trigger, success: the old {backupId, message, status}" {
	admin POST /admin/backup/trigger
	[ "$code" = 200 ]
	assert_old_shape "$OLD/trigger-success.json" "$body" '["message", "status"]'
	jq -e '.backupId | test("^[0-9a-f]{24}$")' "$body"
}

@test "POST /admin/backup/trigger, failure (MongoDB down): the old shape, \"Backup failed: \" and the cause" {
	API_ENV="MONGODB_URI=mongodb://127.0.0.1:$(tv_free_port)/tralivali?serverSelectionTimeoutMS=2000 BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state" \
		tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT
	admin POST /admin/backup/trigger
	tv_stop_pid "$pid"
	rm -rf "$dir"
	[ "$code" = 503 ]
	assert_old_shape "$OLD/trigger-failure.json" "$body" '["status"]'
	jq -e '(.message | startswith("Backup failed: ")) and (.message | test("127.0.0.1:[0-9]+")) and
		(.backupId | test("^[0-9a-f]{24}$"))' "$body"
}

@test "POST /admin/backup/trigger, failure (lock held): the old shape, a backupId string, the holder added" {
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock -n 8
	echo "tv-backup pid 4242 on db1 since 2024-01-15T03:00:00Z" >"$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	admin POST /admin/backup/trigger
	exec 8>&-
	[ "$code" = 409 ]
	assert_old_shape "$OLD/trigger-failure.json" "$body" '["status"]'
	jq -e '.message == "Backup failed: another backup or restore is running"
		and .holder == "tv-backup pid 4242 on db1 since 2024-01-15T03:00:00Z"' "$body"
}

@test "GET /admin/backup/list: each backup has the old fields and types; filePath and createdAt as the old service wrote them" {
	admin GET /admin/backup/list
	[ "$code" = 200 ]
	jq -e '.backups | length > 0' "$body"
	assert_old_shape "$OLD/list.json" "$body"
	jq -e 'all(.backups[]; (.filePath | test("^backups/[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{6}Z)?$"))
		and (.createdAt | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))
		and (.id | test("^[0-9a-f]{24}$")) and (.type | IN("scheduled", "manual"))
		and (.status | IN("Completed", "Failed")) and (.size | . == floor and . > 0))' "$body"
}

@test "POST /admin/backup/restore/{date}, success: exactly the old words, our detail added" {
	admin POST "/admin/backup/restore/$(date -u +%F)"
	[ "$code" = 200 ]
	assert_old_shape "$OLD/restore-success.json" "$body" '["message", "success"]'
	[ "$(jq -c 'del(.detail)' "$body")" = "$(jq -c . "$OLD/restore-success.json")" ]
}

@test "POST /admin/backup/restore/{date}, failures (no backup 404, not a date 400, lock held 409): exactly the old words" {
	admin POST /admin/backup/restore/1999-01-01
	[ "$code" = 404 ]
	assert_old_shape "$OLD/restore-failure.json" "$body" '["message", "success"]'
	[ "$(jq -c 'del(.detail)' "$body")" = "$(jq -c . "$OLD/restore-failure.json")" ]
	jq -e '.detail | contains("1999-01-01")' "$body"
	admin POST /admin/backup/restore/yesterday
	[ "$code" = 400 ]
	assert_old_shape "$OLD/restore-failure.json" "$body" '["message", "success"]'
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock -n 8
	admin POST "/admin/backup/restore/$(date -u +%F)"
	exec 8>&-
	[ "$code" = 409 ]
	assert_old_shape "$OLD/restore-failure.json" "$body" '["message", "success"]'
	[ "$(jq -c 'del(.detail, .holder)' "$body")" = "$(jq -c . "$OLD/restore-failure.json")" ]
}
