#!/usr/bin/env bats
# tv-api against a real FerretDB and the file: store: the old endpoints' exact JSON, every way a
# token is refused, the run lock, a restore compared document by document, and the dashboard in
# a real headless chromium.

bats_require_minimum_version 1.5.0

declare -A SIZES=([users]=30 [conversations]=20 [messages]=120 [invites]=5 [files]=10)

setup_file() {
	load lib/common
	load lib/jwt
	tv_start_mongo
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_FILE_TMPDIR/store
	export BACKUP_BLOB_CONTAINER_NAME=backups BACKUP_STATE_DIR=$BATS_FILE_TMPDIR/state
	export BACKUP_RETENTION_DAYS=100000 BACKUP_METRICS_FILE=$BATS_FILE_TMPDIR/metrics.prom
	local c
	for c in "${!SIZES[@]}"; do
		tv-gendata -s 7 "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
		tv-export -q -c "$c" | sha256sum >"$BATS_FILE_TMPDIR/$c.sha"
	done

	# The keys: an HS256 secret of 32 bytes or more written by echo (its newline is not part of
	# it), an ES256 key pair.
	cd "$BATS_FILE_TMPDIR" || return
	echo 'chat-application-secret-of-44-bytes-or-more' >secret
	chmod 600 secret
	openssl ecparam -name prime256v1 -genkey -noout -out ec.pem
	openssl ec -in ec.pem -pubout -out ec.pub 2>/dev/null
	openssl genrsa -out rsa.pem 2048 2>/dev/null
	openssl rsa -in rsa.pem -pubout -out rsa.pub 2>/dev/null
	export BACKUP_API_JWT_SECRET_FILE=$BATS_FILE_TMPDIR/secret
	export BACKUP_API_JWT_ISSUER=tralivali BACKUP_API_JWT_AUDIENCE=tralivali-backup
	# The rate limit has a test of its own, on its own server.
	export BACKUP_API_AUTH_FAILURES=100000
	ADMIN=$(jwt HS256 secret '"sub":"alice","iss":"tralivali","aud":"tralivali-backup","role":"admin"')
	export ADMIN

	BACKUP_API_JWT_PUBLIC_KEY_FILE=$BATS_FILE_TMPDIR/ec.pub tv_start_server api api_command
	export API_PORT=$TV_SPAWNED_PORT API_PID=$TV_SPAWNED_PID API_DIR=$TV_SPAWNED_DIR
	export API=http://127.0.0.1:$API_PORT
}

teardown_file() {
	load lib/common
	tv_stop_pid "${API_PID:-}"
	[ -z "${API_DIR:-}" ] || rm -rf "$API_DIR"
	tv_stop_mongo
}

setup() {
	load lib/common
	load lib/jwt
	cd "$BATS_FILE_TMPDIR" || return
}

# The command line of a tv-api on port $2 (used by tv_start_server).
api_command() {
	echo "env BACKUP_API_JWT_PUBLIC_KEY_FILE=${BACKUP_API_JWT_PUBLIC_KEY_FILE:-} ${API_ENV:-}" \
		"tv-api --listen 127.0.0.1:$2 --dashboard $TV_SRCDIR/dashboard ${API_ARGS:-}"
}

# Calls tv-api: call METHOD PATH [curl options]; sets $code, $body (file) and $headers (file).
call() {
	local method=$1 path=$2
	shift 2
	body=$BATS_TEST_TMPDIR/body headers=$BATS_TEST_TMPDIR/headers
	code=$(curl -sS -o "$body" -D "$headers" -w '%{http_code}' -X "$method" "$@" "${BASE:-$API}$path")
}

# Like call, with the admin token.
admin() {
	local method=$1 path=$2
	shift 2
	call "$method" "$path" -H "Authorization: Bearer $ADMIN" "$@"
}

assert_code() {
	if [ "$code" != "$1" ]; then
		printf 'expected HTTP %s, got %s:\n' "$1" "$code" >&2
		cat "$body" >&2
		return 1
	fi
}

assert_body() {
	if [ "$(cat "$body")" != "$1" ]; then
		printf 'expected body %s\ngot      %s\n' "$1" "$(cat "$body")" >&2
		return 1
	fi
}

# Prints a claim set for the test tokens: issuer, audience and the given members.
claims() { echo "\"iss\":\"tralivali\",\"aud\":\"tralivali-backup\"${1:+,$1}"; }

fingerprint() { tv-export -q -c "$1" | sha256sum; }

# Fails the test if grep finds the pattern in the file.
refute_grep() {
	if grep -q "$@"; then
		echo "unexpected match: $*" >&2
		return 1
	fi
}

# Prints token $1 with its signature's first character changed.
tamper() {
	local sig=${1##*.} head=${1%.*} c
	c=${sig:0:1}
	[ "$c" = A ] && c=B || c=A
	echo "$head.$c${sig:1}"
}

@test "tv-api --help prints its usage on stdout; a bad option is a usage error" {
	run --separate-stderr tv-api --help
	assert_status 0
	[[ $output == "usage: tv-api "* ]]
	run --separate-stderr tv-api --no-such-option
	assert_status 64
	[[ $stderr == *"usage: tv-api "* ]]
}

# The command line of a tv-api on port $2 without --dashboard, as a developer runs it from the build tree.
api_command_tree() {
	echo "env BACKUP_API_JWT_PUBLIC_KEY_FILE=${BACKUP_API_JWT_PUBLIC_KEY_FILE:-} tv-api --listen 127.0.0.1:$2"
}

@test "tv-api run from its build tree serves the tree's dashboard; a directory without a page is said at start" {
	tv_start_server api-tree api_command_tree
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR
	BASE=http://127.0.0.1:$TV_SPAWNED_PORT call GET /
	tv_stop_pid "$pid"
	assert_code 200
	grep -q "<html" "$body"
	grep -q "dashboard from $TV_SRCDIR/dashboard" "$dir/server.log" ||
		grep -q "dashboard from $TV_BUILDDIR/../dashboard" "$dir/server.log"
	refute_grep "WRN" "$dir/server.log"
	rm -rf "$dir"
	run --separate-stderr timeout 1 tv-api --listen "127.0.0.1:$(tv_free_port)" --dashboard "$BATS_TEST_TMPDIR/nowhere"
	[[ $stderr == *"WRN] tv-api: the dashboard directory $BATS_TEST_TMPDIR/nowhere has no readable index.html: / serves no page (--dashboard DIR"* ]]
}

@test "tv-api refuses to start without a key to verify tokens with" {
	run --separate-stderr env -u BACKUP_API_JWT_SECRET_FILE -u BACKUP_API_JWT_PUBLIC_KEY_FILE tv-api --listen 127.0.0.1:1
	assert_status 64
	[[ $stderr == *"set BACKUP_API_JWT_SECRET_FILE (HS256) or BACKUP_API_JWT_PUBLIC_KEY_FILE"* ]]
}

@test "an HS256 secret under 32 bytes is refused at start, naming the file and the rule; BACKUP_API_ALLOW_WEAK_SECRET=1 accepts it with a warning" {
	printf x >"$BATS_TEST_TMPDIR/weak"
	chmod 600 "$BATS_TEST_TMPDIR/weak"
	run --separate-stderr env BACKUP_API_JWT_SECRET_FILE="$BATS_TEST_TMPDIR/weak" timeout 10 tv-api --listen 127.0.0.1:1
	assert_status 64
	[[ $stderr == *"BACKUP_API_JWT_SECRET_FILE: $BATS_TEST_TMPDIR/weak holds 1 bytes, but an HS256 secret needs at least 32 (RFC 7518 3.2"* ]]
	[[ $stderr == *"BACKUP_API_ALLOW_WEAK_SECRET=1"* ]]
	head -c 31 /dev/zero | tr '\0' s >"$BATS_TEST_TMPDIR/weak"
	run --separate-stderr env BACKUP_API_JWT_SECRET_FILE="$BATS_TEST_TMPDIR/weak" timeout 10 tv-api --listen 127.0.0.1:1
	assert_status 64
	API_ENV=BACKUP_API_ALLOW_WEAK_SECRET=1 BACKUP_API_JWT_SECRET_FILE=$BATS_TEST_TMPDIR/weak tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt HS256 "$BATS_TEST_TMPDIR/weak" "$(claims '"role":"admin"')")"
	tv_stop_pid "$pid"
	assert_code 200
	[ "$(grep -c 'holds 31 bytes, fewer than the 32 an HS256 secret needs: accepted because BACKUP_API_ALLOW_WEAK_SECRET=1' "$dir/server.log")" = 1 ]
	rm -rf "$dir"
}

@test "a secret file group or others may use is refused with 77, naming it, its mode and chmod 600" {
	cp secret "$BATS_TEST_TMPDIR/open"
	chmod 640 "$BATS_TEST_TMPDIR/open"
	run --separate-stderr env BACKUP_API_JWT_SECRET_FILE="$BATS_TEST_TMPDIR/open" timeout 10 tv-api --listen 127.0.0.1:1
	assert_status 77
	[[ $stderr == *"BACKUP_API_JWT_SECRET_FILE: $BATS_TEST_TMPDIR/open has mode 0640: group or others may use it; a secret must be its owner's alone: chmod 600 $BATS_TEST_TMPDIR/open"* ]]
}

@test "BACKUP_API_MAX_TOKEN_LIFETIME caps exp - iat; a bad value is a usage error (own server)" {
	run --separate-stderr env BACKUP_API_MAX_TOKEN_LIFETIME=1h timeout 10 tv-api --listen 127.0.0.1:1
	assert_status 64
	[[ $stderr == *"BACKUP_API_MAX_TOKEN_LIFETIME: the longest exp - iat accepted, in seconds, not 1h"* ]]
	local now
	now=$(date +%s)
	API_ENV=BACKUP_API_MAX_TOKEN_LIFETIME=600 tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT
	call GET /admin/backup/runs -H "Authorization: Bearer $ADMIN"
	assert_code 401
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt_make HS256 secret '{"alg":"HS256"}' \
		"{\"exp\":$((now + 600)),\"iat\":$now,$(claims '"role":"admin"')}")"
	tv_stop_pid "$pid"
	assert_code 200
	rm -rf "$dir"
}

@test "POST /admin/backup/trigger backs up and answers the old {backupId, message, status}" {
	admin POST /admin/backup/trigger
	assert_code 200
	jq -e 'keys == ["backupId", "message", "status"] and .status == "Completed"
		and .message == "Backup completed successfully" and (.backupId | test("^[0-9a-f]{24}$"))' "$body"
	jq -r .backupId "$body" >"$BATS_FILE_TMPDIR/first-backup-id"
	grep -q "POST /admin/backup/trigger 200 alice " "$API_DIR/server.log"
}

@test "GET /admin/backup/list answers exactly what tv-list --json prints" {
	admin GET /admin/backup/list
	assert_code 200
	tv-list --json >"$BATS_TEST_TMPDIR/expected"
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$body"
	jq -e --arg id "$(cat first-backup-id)" '.backups | map(.id) | index($id) != null' "$body"
	grep -q '^Content-Type: application/json' "$headers"
}

@test "GET /admin/backup/plan shows what a restore would replace and changes nothing" {
	admin GET "/admin/backup/plan?date=$(date -u +%F)&collections=users,messages"
	assert_code 200
	jq -e '.database == "tralivali"' "$body"
	jq -r .plan "$body" | grep -q '^tv-recover would replace these collections'
	jq -r .plan "$body" | grep -q '^users  *30  *30$'
	[ "$(jq -r .plan "$body" | grep -c '^invites')" -eq 0 ]
}

@test "POST /admin/backup/restore/{date} restores every collection, document by document" {
	tv-gendata -s 9 messages 50 | tv-restore -q -c messages --drop
	tv-gendata -s 9 users 3 | tv-restore -q -c users --drop
	[ "$(fingerprint messages)" != "$(cat messages.sha)" ]
	admin POST "/admin/backup/restore/$(date -u +%F)"
	assert_code 200
	assert_body "{\"message\":\"Backup restored successfully\",\"success\":true,\"detail\":\"Restore from $(date -u +%F) completed successfully\"}"
	local c
	for c in "${!SIZES[@]}"; do
		[ "$(fingerprint "$c")" = "$(cat "$c.sha")" ]
	done
	# The safety backup kept what was replaced.
	tv-list --safety --json | jq -e '.backups | length == 1'
}

@test "POST /admin/backup/restore?at=...&collections= restores those collections only, all or nothing" {
	tv-gendata -s 11 users 4 | tv-restore -q -c users --drop
	tv-gendata -s 11 invites 2 | tv-restore -q -c invites --drop
	local invites
	invites=$(fingerprint invites)
	# The standalone server's point is reached at its own second.
	admin POST "/admin/backup/restore?at=$(tv-list --json | jq -r '.backups[0].createdAt')&collections=users"
	assert_code 200
	jq -e '.success == true' "$body"
	[ "$(fingerprint users)" = "$(cat users.sha)" ]
	[ "$(fingerprint invites)" = "$invites" ]
	tv-gendata -s 7 invites 5 | tv-restore -q -c invites --drop
	[ "$(fingerprint invites)" = "$(cat invites.sha)" ]
}

@test "a restore of a date without a backup is a 404 {message, success: false}" {
	admin POST /admin/backup/restore/1999-01-01
	assert_code 404
	jq -e '(keys_unsorted | .[0:2]) == ["message", "success"] and .message == "Backup restore failed" and .success == false
		and (.detail | startswith("tv-recover: there is no recovery point backups/1999-01-01/"))' "$body"
}

@test "a restore of something that is not a date is a 400 and runs nothing" {
	admin POST '/admin/backup/restore/--help'
	assert_code 400
	assert_body '{"message":"Backup restore failed","success":false,"detail":"not a backup date (YYYY-MM-DD): --help"}'
	admin POST '/admin/backup/restore?at=yesterday'
	assert_code 400
	admin POST '/admin/backup/restore?at=2024-01-15T00:00:00Z&collections=users;rm'
	assert_code 400
}

@test "a trigger or a restore while another run holds the lock is a 409 naming the holder" {
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock -n 8
	echo "tv-backup pid 4242 since 2024-01-15T03:00:00Z" >"$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	admin POST /admin/backup/trigger
	local trigger=$code trigger_body
	trigger_body=$(cat "$body")
	admin POST "/admin/backup/restore/$(date -u +%F)"
	exec 8>&-
	[ "$trigger" = 409 ]
	[[ $trigger_body =~ ^\{\"message\":\"Backup\ failed:\ another\ backup\ or\ restore\ is\ running\",\"backupId\":\"[0-9a-f]{24}\",\"status\":\"Failed\",\"holder\":\"tv-backup\ pid\ 4242\ since\ 2024-01-15T03:00:00Z\"\}$ ]]
	assert_code 409
	assert_body '{"message":"Backup restore failed","success":false,"detail":"another backup or restore is running","holder":"tv-backup pid 4242 since 2024-01-15T03:00:00Z"}'
}

@test "GET /admin/backup/runs lists the run records newest first, skipping damaged ones" {
	local day=$BACKUP_STATE_DIR/runs/2000-01-02
	mkdir -p "$day" "$BACKUP_STATE_DIR/runs/2000-01-01"
	echo '{"id":"t-old","kind":"backup","start":"2000-01-01T03:00:00Z","status":"Completed"}' >"$BACKUP_STATE_DIR/runs/2000-01-01/20000101T030000Z-backup-t-old.json"
	echo '{"id":"t-new","kind":"recover","start":"2000-01-02T03:00:00Z","status":"Failed","cause":"no manifest"}' >"$day/20000102T030000Z-recover-t-new.json"
	echo 'not json' >"$day/20000102T040000Z-backup-t-bad.json"
	admin GET /admin/backup/runs?limit=1000
	assert_code 200
	jq -e '[.runs[].id | select(startswith("t-"))] == ["t-new", "t-old"]' "$body"
	admin GET /admin/backup/runs?limit=0
	assert_code 400
}

@test "GET /admin/backup/running says who holds the lock and how far its run is, from the progress record the flow writes" {
	load lib/gate
	call GET /admin/backup/running
	assert_code 401
	admin GET /admin/backup/running
	assert_code 200
	assert_body '{"held":false,"holder":null,"run":null}'
	# A progress record left by a run that died is not shown: the lock is free.
	echo '{"kind":"backup","id":"dead","stage":"Backing up users"}' >"$BACKUP_STATE_DIR/tralivali-backup.lock.progress"
	admin GET /admin/backup/running
	assert_body '{"held":false,"holder":null,"run":null}'
	rm "$BACKUP_STATE_DIR/tralivali-backup.lock.progress"
	# A holder that wrote no progress record is named all the same; a record planted as a
	# symbolic link is not followed.
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock -n 8
	echo "tv-backup pid 4242 on db1 since 2024-01-15T03:00:00Z" >"$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	admin GET /admin/backup/running
	local held
	held=$(cat "$body")
	echo '{"secret":"not for the dashboard"}' >"$BATS_TEST_TMPDIR/elsewhere.json"
	ln -s "$BATS_TEST_TMPDIR/elsewhere.json" "$BACKUP_STATE_DIR/tralivali-backup.lock.progress"
	admin GET /admin/backup/running
	rm "$BACKUP_STATE_DIR/tralivali-backup.lock.progress"
	exec 8>&-
	[ "$held" = '{"held":true,"holder":"tv-backup pid 4242 on db1 since 2024-01-15T03:00:00Z","run":null}' ]
	assert_body '{"held":true,"holder":"tv-backup pid 4242 on db1 since 2024-01-15T03:00:00Z","run":null}'

	tv_gate_install "$BATS_TEST_TMPDIR/gate" '*/tralivali_messages.bson.gz'
	API_ENV="PATH=$BATS_TEST_TMPDIR/gate:$PATH" tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT
	curl -sS -o "$BATS_TEST_TMPDIR/trigger" -X POST -H "Authorization: Bearer $ADMIN" "$BASE/admin/backup/trigger" &
	local client=$!
	tv_gate_wait "$BATS_TEST_TMPDIR/gate"
	admin GET /admin/backup/running
	cp "$body" "$BATS_TEST_TMPDIR/running"
	tv_gate_open "$BATS_TEST_TMPDIR/gate" go
	wait "$client"
	admin GET /admin/backup/running
	tv_stop_pid "$pid"
	rm -rf "$dir"
	jq -e --arg host "$(uname -n)" '(.holder | test("^tv-api \\(tv-backup for alice\\) pid [0-9]+ on " + $host + " since 20"))
		and .run.kind == "backup" and .run.program == "tv-backup" and .run.stage == "Backing up messages"
		and .run.collectionsDone == 2 and .run.collectionsTotal == 5 and .run.bytes > 0 and .run.host == $host
		and (.run.id | test("^[0-9a-f]{24}$")) and (.run.start | test("Z$"))' "$BATS_TEST_TMPDIR/running"
	# The run's record took over from its progress record, under the same id.
	jq -e --slurpfile r "$BATS_TEST_TMPDIR/running" '.status == "Completed" and .backupId == $r[0].run.id' "$BATS_TEST_TMPDIR/trigger"
	assert_body '{"held":false,"holder":null,"run":null}'
	[ ! -e "$BACKUP_STATE_DIR/tralivali-backup.lock.progress" ]
	BASE=$API admin GET '/admin/backup/runs?limit=5'
	jq -e --slurpfile r "$BATS_TEST_TMPDIR/running" '[.runs[] | select(.id == $r[0].run.id) | .kind + " " + .status] == ["backup Completed"]' "$body"
}

@test "GET /admin/backup/status answers tv-status --json, or 503 saying it is not installed" {
	admin GET /admin/backup/status
	if command -v tv-status >/dev/null; then
		[ "$code" = 200 ]
		jq -e 'type == "object"' "$body"
	else
		assert_code 503
		assert_body '{"message":"tv-status is not installed beside tv-api: this endpoint needs it"}'
	fi
}

@test "GET /metrics serves the metrics textfile byte for byte, 503 before there is one" {
	rm -f "$BACKUP_METRICS_FILE"
	admin GET /metrics
	assert_code 503
	printf '# TYPE tralivali_backup_last_success_timestamp_seconds gauge\ntralivali_backup_last_success_timestamp_seconds 1.7e9\n' >"$BACKUP_METRICS_FILE"
	admin GET /metrics
	assert_code 200
	assert_same_file "$BACKUP_METRICS_FILE" "$body"
	grep -q '^Content-Type: text/plain; version=0.0.4' "$headers"
	call GET /metrics
	assert_code 401
}

@test "no token, a malformed one, a bad signature, alg none, an expired or foreign token: 401" {
	local now bad
	now=$(date +%s)
	call GET /admin/backup/list
	assert_code 401
	grep -q '^WWW-Authenticate: Bearer realm="tralivali-backup"' "$headers"
	assert_body '{"message":"an admin bearer token is required"}'
	for bad in \
		"not-a-token" \
		"$(tamper "$ADMIN")" \
		"$(jwt HS256 /dev/null "$(claims '"role":"admin"')")" \
		"$(jwt_make none secret '{"alg":"none"}' "{\"exp\":$((now + 60)),$(claims '"role":"admin"')}")" \
		"$(jwt_make HS256 secret '{"alg":"HS256"}' "{\"exp\":$((now - 120)),$(claims '"role":"admin"')}")" \
		"$(jwt_make HS256 secret '{"alg":"HS256"}' "{\"exp\":$((now + 600)),\"nbf\":$((now + 300)),$(claims '"role":"admin"')}")" \
		"$(jwt HS256 secret '"iss":"someone-else","aud":"tralivali-backup","role":"admin"')" \
		"$(jwt HS256 secret '"iss":"tralivali","aud":["other"],"role":"admin"')" \
		"$(jwt_make HS256 secret '{"alg":"HS256"}' "{$(claims '"role":"admin"')}")" \
		"$(jwt_make HS256 secret '{"alg":"HS256"}' "{\"exp\":$((now + 600)),$(claims '"role":"admin"')}")" \
		"$(jwt_make HS256 secret '{"alg":"HS256"}' "{\"exp\":$((now + 86400 + 600)),\"iat\":$now,$(claims '"role":"admin"')}")" \
		"$(jwt_make HS256 secret '{"alg":"HS256"}{"alg":"none"}' "{\"exp\":$((now + 600)),\"iat\":$now,$(claims '"role":"admin"')}")"; do
		call GET /admin/backup/list -H "Authorization: Bearer $bad"
		assert_code 401
		grep -q 'error="invalid_token"' "$headers"
	done
	# The refusals were logged with their reasons, and no token was.
	grep -q 'GET /admin/backup/list 401 - .*(bad signature)' "$API_DIR/server.log"
	grep -q '(expired)' "$API_DIR/server.log"
	grep -q '(unsupported algorithm)' "$API_DIR/server.log"
	grep -q '(no iat claim)' "$API_DIR/server.log"
	grep -q '(lifetime (exp - iat) over BACKUP_API_MAX_TOKEN_LIFETIME)' "$API_DIR/server.log"
	grep -q '(malformed header)' "$API_DIR/server.log"
	refute_grep -F "${ADMIN%%.*}" "$API_DIR/server.log"
	refute_grep -F chat-application-secret "$API_DIR/server.log"
}

@test "a valid token without the admin role is a 403; every role claim form is read" {
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt HS256 secret "$(claims '"sub":"bob","roles":["user"]')")"
	assert_code 403
	grep -q 'GET /admin/backup/runs 403 bob ' "$API_DIR/server.log"
	local claim
	for claim in '"role":"admin"' '"roles":"admin"' '"roles":["user","admin"]' \
		'"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":["admin"]'; do
		call GET /admin/backup/runs -H "Authorization: Bearer $(jwt HS256 secret "$(claims "$claim")")"
		assert_code 200
	done
}

@test "ES256 tokens verify with the public key; a signature from another key does not" {
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt ES256 ec.pem "$(claims '"role":"admin"')")"
	assert_code 200
	openssl ecparam -name prime256v1 -genkey -noout -out "$BATS_TEST_TMPDIR/other.pem"
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt ES256 "$BATS_TEST_TMPDIR/other.pem" "$(claims '"role":"admin"')")"
	assert_code 401
}

@test "the dashboard is served with a strict CSP, and nothing else outside the API" {
	call GET /
	assert_code 200
	assert_same_file "$TV_SRCDIR/dashboard/index.html" "$body"
	grep -q "^Content-Security-Policy: default-src 'self'; script-src 'self';.* frame-ancestors 'none'" "$headers"
	grep -q '^X-Content-Type-Options: nosniff' "$headers"
	call GET /app.js -H 'Origin: https://evil.example'
	assert_code 200
	grep -q '^Content-Type: text/javascript' "$headers"
	refute_grep -i '^Access-Control-Allow-Origin' "$headers"
	call GET /../secret
	assert_code 404
	call GET /nope.js
	assert_code 404
}

# Sends a request's head to tv-api at $1 and prints the status line of the answer, or "no answer"
# if none comes within 5 seconds.
head_only() {
	python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode().replace(b"|", b"\r\n"))
s.settimeout(5)
try:
    print(s.recv(4096).split(b"\r\n")[0].decode())
except socket.timeout:
    print("no answer")' "$@"
}

@test "an over-long body is a 413, refused before it is read; over-long headers a 431" {
	admin POST /admin/backup/trigger --data-binary "@$TV_SRCDIR/dashboard/app.js"
	assert_code 413
	assert_body '{"message":"request body too large"}'
	# 200 MB announced and none sent: the refusal does not wait for the body.
	[ "$(head_only "$API_PORT" 'POST /admin/backup/trigger HTTP/1.1|Host: x|Content-Length: 209715200||')" = "HTTP/1.1 413 Content Too Large" ]
	# Without a length (chunked) the body is cut off at the limit.
	call POST /admin/backup/trigger -H 'Transfer-Encoding: chunked' --data-binary "@$TV_SRCDIR/dashboard/app.js" || true
	[ "$code" = 000 ]
	grep -q 'POST /admin/backup/trigger 413 - .*(request body too large: connection closed)' "$API_DIR/server.log"
	call GET /admin/backup/list -H "X-Big: $(head -c 40000 /dev/zero | tr '\0' a)"
	assert_code 431
}

@test "RS256, CORS when configured, and 429 after ten failed authentications (own server)" {
	API_ENV="BACKUP_API_CORS_ORIGIN=https://chat.example" BACKUP_API_JWT_SECRET_FILE='' BACKUP_API_AUTH_FAILURES='' \
		BACKUP_API_JWT_PUBLIC_KEY_FILE=$BATS_FILE_TMPDIR/rsa.pub tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT i
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt RS256 rsa.pem "$(claims '"role":"admin"')")" \
		-H 'Origin: https://chat.example'
	assert_code 200
	grep -q '^Access-Control-Allow-Origin: https://chat.example' "$headers"
	call OPTIONS /admin/backup/trigger -H 'Origin: https://chat.example' -H 'Access-Control-Request-Method: POST'
	assert_code 204
	grep -q '^Access-Control-Allow-Headers: Authorization' "$headers"
	# The RSA public key as an HMAC secret (the classic confusion) is refused: no secret is configured.
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt HS256 rsa.pub "$(claims '"role":"admin"')")"
	assert_code 401
	for i in $(seq 9); do
		call GET /admin/backup/runs -H "Authorization: Bearer x.y.z"
		assert_code 401
	done
	call GET /admin/backup/runs -H "Authorization: Bearer $(jwt RS256 rsa.pem "$(claims '"role":"admin"')")"
	tv_stop_pid "$pid"
	rm -rf "$dir"
	assert_code 429
	grep -q '^Retry-After: [0-9]' "$headers"
}

@test "behind a trusted proxy failed authentications count per forwarded client; from anyone else X-Forwarded-For is ignored (own server)" {
	API_ENV="BACKUP_API_TRUSTED_PROXIES=::1,127.0.0.1" BACKUP_API_AUTH_FAILURES=3 tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT i
	# What the client sent comes first; the proxy appends the address it saw: that one counts.
	for i in 1 2 3; do
		call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 192.0.2.$i, 198.51.100.7"
		assert_code 401
	done
	call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 192.0.2.9, 198.51.100.7"
	assert_code 429
	call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 198.51.100.8"
	assert_code 401
	# HAProxy appends a line of its own after the client's: the last entry of the last line
	# counts, whatever the client's line says.
	for i in 1 2 3; do
		call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 198.51.100.$((20 + i))" \
			-H "X-Forwarded-For: 10.0.0.9"
		assert_code 401
	done
	for i in 4 5 6; do
		call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 198.51.100.$((20 + i))" \
			-H "X-Forwarded-For: 10.0.0.9"
		assert_code 429
	done
	# The client's own line alone locks out nobody else: 203.0.113.5 itself still gets its 401s.
	for i in 1 2 3; do
		call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 203.0.113.5" \
			-H "X-Forwarded-For: 10.0.0.10"
	done
	call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 203.0.113.5"
	assert_code 401
	tv_stop_pid "$pid"
	rm -rf "$dir"
	# Without trusted proxies a client cannot dodge the limit by sending the header itself.
	API_ENV= BACKUP_API_AUTH_FAILURES=3 tv_start_server api api_command
	pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT
	for i in 1 2 3; do
		call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 192.0.2.$i"
		assert_code 401
	done
	call GET /admin/backup/runs -H "Authorization: Bearer x.y.z" -H "X-Forwarded-For: 192.0.2.4"
	tv_stop_pid "$pid"
	rm -rf "$dir"
	assert_code 429
}

@test "a request not sent whole within BACKUP_API_RECEIVE_TIMEOUT is cut off, however steadily it trickles (own server)" {
	run --separate-stderr env BACKUP_API_RECEIVE_TIMEOUT=0 timeout 10 tv-api --listen 127.0.0.1:1
	assert_status 64
	[[ $stderr == *"BACKUP_API_RECEIVE_TIMEOUT: the seconds a client has to send a whole request, not 0"* ]]
	API_ENV=BACKUP_API_RECEIVE_TIMEOUT=2 tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR port=$TV_SPAWNED_PORT
	# A header line every half second keeps the idle timeout (30 s) from ever striking.
	run python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
start = time.monotonic()
s.sendall(b"GET /admin/backup/runs HTTP/1.1\r\nHost: x\r\n")
try:
    while time.monotonic() - start < 15:
        time.sleep(0.5)
        s.sendall(b"X-Slow: a\r\n")
    print("still open after 15 s")
except OSError:
    print("closed after %d s" % (time.monotonic() - start))' "$port"
	# A kept-alive connection's second request has its own time.
	BASE=http://127.0.0.1:$port
	call GET /admin/backup/runs -H "Authorization: Bearer $ADMIN" --next -sS -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $ADMIN" "$BASE/admin/backup/runs"
	tv_stop_pid "$pid"
	[[ $output == "closed after "[23]" s" ]]
	[ "$code" = 200200 ]
	grep -q '127.0.0.1 sent no whole request within 2 s: connection closed' "$dir/server.log"
	rm -rf "$dir"
}

@test "TLS with --cert and --key" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$BATS_TEST_TMPDIR/tls.key" -out "$BATS_TEST_TMPDIR/tls.crt" 2>/dev/null
	API_ARGS="--cert $BATS_TEST_TMPDIR/tls.crt --key $BATS_TEST_TMPDIR/tls.key" tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=https://127.0.0.1:$TV_SPAWNED_PORT
	admin GET /admin/backup/runs --cacert "$BATS_TEST_TMPDIR/tls.crt"
	tv_stop_pid "$pid"
	rm -rf "$dir"
	assert_code 200
}

@test "a long backup does not block other requests, runs with a clean environment, and SIGTERM lets it finish" {
	# A server that accepts connections and never answers keeps tv-export waiting for its connect timeout.
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True); time.sleep(120)' >"$BATS_TEST_TMPDIR/hole.port" &
	local hole=$!
	while [ ! -s "$BATS_TEST_TMPDIR/hole.port" ]; do sleep 0.1; done
	# The answer comes when the flow ends, however long after BACKUP_API_RECEIVE_TIMEOUT.
	API_ENV="MONGODB_URI=mongodb://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/hole.port")/tralivali?connectTimeoutMS=4000&serverSelectionTimeoutMS=4000 BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state BACKUP_API_RECEIVE_TIMEOUT=1" \
		tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT
	curl -sS -o "$BATS_TEST_TMPDIR/trigger" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" \
		"$BASE/admin/backup/trigger" >"$BATS_TEST_TMPDIR/trigger.code" &
	local client=$!
	sleep 1
	# The flow runs in its own process group, with the flows' settings and none of tv-api's own.
	local flow
	flow=$(pgrep -P "$pid" -x tv-backup || pgrep -P "$pid")
	[ "$(ps -o pgid= -p "$flow" | tr -d ' ')" = "$flow" ]
	tr '\0' '\n' <"/proc/$flow/environ" >"$BATS_TEST_TMPDIR/flow.env"
	grep -q '^BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:' "$BATS_TEST_TMPDIR/flow.env"
	grep -q "^TV_LOCK_HELD=$BATS_TEST_TMPDIR/state/tralivali-backup.lock$" "$BATS_TEST_TMPDIR/flow.env"
	refute_grep -e '^BACKUP_API_' -e '^BATS_' "$BATS_TEST_TMPDIR/flow.env"
	local started=$SECONDS
	admin GET /admin/backup/runs
	assert_code 200
	[ $((SECONDS - started)) -le 1 ]
	kill -0 "$client"
	kill -TERM "$pid"
	wait "$client"
	local server_status=0
	wait "$pid" || server_status=$?
	kill "$hole"
	rm -rf "$dir"
	[ "$server_status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/trigger.code")" = 503 ]
	jq -e '.status == "Failed" and (.message | startswith("Backup failed"))' "$BATS_TEST_TMPDIR/trigger"
}

@test "with Azurite as the store, a trigger's backup is in the list" {
	tv_start_azurite
	API_ENV="BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state" \
		tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR BASE=http://127.0.0.1:$TV_SPAWNED_PORT id
	admin POST /admin/backup/trigger
	local trigger=$code
	id=$(jq -r .backupId "$body")
	admin GET /admin/backup/list
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING tv-list --json >"$BATS_TEST_TMPDIR/expected"
	tv_stop_pid "$pid"
	rm -rf "$dir"
	tv_stop_azurite
	[ "$trigger" = 200 ]
	assert_code 200
	assert_same_file "$BATS_TEST_TMPDIR/expected" "$body"
	jq -e --arg id "$id" '[.backups[].id] == [$id]' "$body"
}

@test "the dashboard in chromium at 1366 and 375 px: sign in, back up and restore with their progress, results and causes, buttons disabled naming the holder" {
	command -v chromium >/dev/null || skip "chromium is not installed (tests/deps.sh)"
	[ -d "$TV_DEPS_DIR/node_modules/puppeteer-core" ] || skip "puppeteer-core is not installed (tests/deps.sh)"
	load lib/gate
	# The page must have a point to show even when this test runs alone.
	local points
	points=$(tv-list --json 2>/dev/null | jq '.backups | length')
	[ "${points:-0}" -gt 0 ] || tv-backup -q >/dev/null
	# The flows this server runs meet the gate, where dashboard.mjs holds them while it looks.
	tv_gate_install "$BATS_TEST_TMPDIR/gate" 'none yet'
	rm -f "$BATS_TEST_TMPDIR/gate/blob"
	API_ENV="PATH=$BATS_TEST_TMPDIR/gate:$PATH" tv_start_server api api_command
	local pid=$TV_SPAWNED_PID dir=$TV_SPAWNED_DIR
	run --separate-stderr timeout 600 node "$TV_SRCDIR/tests/browser/dashboard.mjs" "http://127.0.0.1:$TV_SPAWNED_PORT" \
		"$ADMIN" tralivali "$BATS_FILE_TMPDIR/dashboard.png" "$BATS_TEST_TMPDIR/profile" "$BATS_TEST_TMPDIR/gate"
	tv_stop_pid "$pid"
	printf '%s\n' "$output" "$stderr" >&2
	rm -rf "$dir"
	assert_status 0
	[[ $output == *"backed up and listed: "* ]]
	[ -s "$BATS_FILE_TMPDIR/dashboard.png" ] && [ -s "$BATS_FILE_TMPDIR/dashboard-375.png" ]
	cp "$BATS_FILE_TMPDIR/dashboard.png" "${TV_SCREENSHOT:-/dev/null}" 2>/dev/null || true
}
