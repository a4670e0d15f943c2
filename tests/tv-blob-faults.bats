#!/usr/bin/env bats
# tv-blob-put and tv-blob-get under network faults: a real TCP fault proxy (toxiproxy) and an
# HTTP error injector (tests/http-faults.py) between the tools and a real Azurite.  Each
# fault ends in a byte-exact blob or the right exit code with nothing committed, and never
# damages the blob committed before.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_azurite
	TOXI_API=$(tv_free_port)
	toxiproxy-server -host 127.0.0.1 -port "$TOXI_API" >"$AZURITE_DIR/toxiproxy.log" 2>&1 </dev/null 3>&- &
	TOXI_PID=$!
	export TOXI_API TOXI_PID
	tv_wait_port "$TOXI_API" 30
}

teardown_file() {
	load lib/common
	tv_stop_pid "${TOXI_PID:-}"
	tv_stop_azurite
}

setup() {
	load lib/common
	load lib/azure
	load lib/blob
	export BACKUP_BLOB_CONTAINER_NAME="f${BATS_TEST_NUMBER}x$RANDOM"
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export TV_RETRY_MAX_SECONDS=20 TV_STALL_SECONDS=2 TV_CONNECT_TIMEOUT_SECONDS=2
	# A fresh TCP proxy to Azurite for every test, without toxics.
	# Another server may take a free port first: try a few.
	PROXY=az$BATS_TEST_NUMBER
	for _ in 1 2 3 4 5; do
		PROXY_PORT=$(tv_free_port)
		toxi POST /proxies "{\"name\":\"$PROXY\",\"listen\":\"127.0.0.1:$PROXY_PORT\",\"upstream\":\"127.0.0.1:$AZURITE_PORT\"}" 2>/dev/null && break
	done
	# The tools go through the proxy; az_curl and the seeding of blobs go straight to Azurite.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "" "http://127.0.0.1:$PROXY_PORT/$AZURITE_ACCOUNT")
	DIRECT=$AZURITE_CONNECTION_STRING
	# az-rest.py signs its own requests with the account key.
	export AZURITE_ACCOUNT AZURITE_KEY
}

teardown() {
	[ -z "${FOLLOWER:-}" ] || tv_stop_pid "$FOLLOWER"
	[ -z "${OWN_MONGO_PID:-}" ] || tv_stop_pid "$OWN_MONGO_PID"
	[ -z "${OWN_MONGO_DIR:-}" ] || rm -rf "$OWN_MONGO_DIR"
	toxi DELETE "/proxies/$PROXY" || true
	[ -z "${INJECTOR_PID:-}" ] || tv_stop_pid "$INJECTOR_PID"
}

# toxi METHOD PATH [JSON]: calls toxiproxy's HTTP API.
toxi() {
	curl -sS --fail -X "$1" "http://127.0.0.1:$TOXI_API$2" ${3:+-d "$3"} -o /dev/null
}

# add_toxic NAME TYPE STREAM ATTRIBUTES-JSON
add_toxic() {
	toxi POST "/proxies/$PROXY/toxics" "{\"name\":\"$1\",\"type\":\"$2\",\"stream\":\"$3\",\"attributes\":$4}"
}

# Waits (at most $2 tenths of a second) until the shipped slices hold the inserts of _ids $1, in
# order ("a b "), then stops the follower, which must still be running; fails unless they do.
follower_shipped() {
	local ids _
	for _ in $(seq "$2"); do
		ids=$(for s in $(tv-blob-ls oplog/ | cut -f 1 | grep '\.bson\.gz$'); do tv-blob-get "$s" | gzip -d | bsondump --quiet 2>/dev/null; done | jq -r .o._id | tr '\n' ' ')
		[ "$ids" != "$1" ] || break
		sleep 0.1
	done
	kill -0 "$FOLLOWER"
	kill "$FOLLOWER"
	wait "$FOLLOWER"
	FOLLOWER=
	[ "$ids" = "$1" ]
}

# Stores an earlier version of NAME straight into Azurite, to check that faults never damage it.
seed_old() {
	printf 'earlier complete backup' | BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-put -q "$1"
}

assert_old_intact() {
	[ "$(BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-get -q "$1")" = 'earlier complete backup' ]
}

# Starts tests/http-faults.py in front of Azurite and points the tools at it.
start_injector() {
	local port
	port=$(tv_free_port)
	python3 "$TV_SRCDIR/tests/http-faults.py" "$port" "$AZURITE_PORT" "$@" 2>"$BATS_TEST_TMPDIR/injector.log" &
	INJECTOR_PID=$!
	tv_wait_port "$port" 10
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "" "http://127.0.0.1:$port/$AZURITE_ACCOUNT")
}

@test "an upload whose connections are cut mid-block retries and stores the blob byte-exact" {
	seed_old other.bin
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-ls >/dev/null
	# Every connection dies 2 MB into its first 4 MiB block until the tool has said it is
	# retrying; then the network heals and the retries must finish the upload.
	add_toxic cut limit_data upstream '{"bytes":2000000}'
	tv_data 30000000 | tv-blob-put -v cut.bin 2>"$BATS_TEST_TMPDIR/err" &
	local pid=$! status=0
	for _ in $(seq 150); do
		grep -q retrying "$BATS_TEST_TMPDIR/err" && break
		sleep 0.1
	done
	toxi DELETE "/proxies/$PROXY/toxics/cut"
	wait "$pid" || status=$?
	cat "$BATS_TEST_TMPDIR/err"
	[ "$status" -eq 0 ]
	grep -q retrying "$BATS_TEST_TMPDIR/err"
	[ "$(BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-get -q cut.bin | tv_sha256)" = "$(tv_data 30000000 | tv_sha256)" ]
}

@test "a download cut mid-stream resumes with ranged reads and is byte-exact" {
	tv_data 100000000 | BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-put -q big.bin
	add_toxic cut limit_data downstream '{"bytes":30000000}'
	tv-blob-get -v big.bin 2>"$BATS_TEST_TMPDIR/err" | tv_sha256 >"$BATS_TEST_TMPDIR/got"
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "$(tv_data 100000000 | tv_sha256)" ]
	grep -q "resuming at byte" "$BATS_TEST_TMPDIR/err"
	grep -q "verified" "$BATS_TEST_TMPDIR/err"
}

@test "a blob replaced while a cut download resumes is an error, not a splice" {
	tv_data 10000000 | BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-put -q moving.bin
	add_toxic slow bandwidth downstream '{"rate":2000}'
	add_toxic cut limit_data downstream '{"bytes":3000000}'
	# Writes are create-only: the blob is replaced behind the tools' back, with a plain Put Blob.
	tv_data 10000000 other >"$BATS_TEST_TMPDIR/other"
	(sleep 0.5; python3 "$TV_SRCDIR/tests/az-rest.py" put "$BACKUP_BLOB_CONTAINER_NAME" moving.bin "$BATS_TEST_TMPDIR/other") &
	run --separate-stderr bash -c 'tv-blob-get moving.bin | wc -c'
	wait
	[[ "$stderr" == *"changed while it was being read"* ]]
	[ "$output" -lt 10000000 ]
}

@test "latency on every packet slows a round trip but keeps it byte-exact" {
	add_toxic lag latency downstream '{"latency":100,"jitter":50}'
	add_toxic lagup latency upstream '{"latency":100,"jitter":50}'
	tv_blob_round_trip 10000000 slow.bin
}

@test "a stall that does not clear fails the upload with 75 and commits nothing" {
	seed_old stall.bin
	add_toxic stall timeout upstream '{"timeout":0}'
	export TV_RETRY_MAX_SECONDS=4
	run bash -c 'tv_data 10000000 | tv-blob-put stall.bin'
	assert_status 75
	assert_output_contains "giving up"
	toxi DELETE "/proxies/$PROXY/toxics/stall"
	assert_old_intact stall.bin
}

@test "a stall that clears is cut, retried, and the upload completes byte-exact" {
	seed_old other.bin
	add_toxic stall timeout upstream '{"timeout":0}'
	(sleep 3; toxi DELETE "/proxies/$PROXY/toxics/stall") &
	run bash -c 'tv_data 10000000 | tv-blob-put -v stall.bin'
	wait
	assert_status 0
	[ "$(tv-blob-get -q stall.bin | tv_sha256)" = "$(tv_data 10000000 | tv_sha256)" ]
}

@test "a store that stays unreachable fails with 69 after the retry budget, committing nothing" {
	seed_old down.bin
	toxi POST "/proxies/$PROXY" '{"enabled":false}'
	export TV_RETRY_MAX_SECONDS=2
	run bash -c 'tv_data 1000000 | tv-blob-put down.bin'
	assert_status 69
	run tv-blob-get down.bin
	assert_status 69
	assert_old_intact down.bin
}

@test "HTTP 503 on block uploads is retried and the blob is byte-exact" {
	start_injector 503 3 "comp=block&"
	tv_blob_round_trip 10000000 busy.bin
	[ "$(grep -c '^http-faults: 503' "$BATS_TEST_TMPDIR/injector.log")" -eq 3 ]
}

@test "HTTP 500 on every commit fails with 75 and leaves the earlier blob intact" {
	seed_old broken.bin
	start_injector 500 -1 "comp=blocklist"
	export TV_RETRY_MAX_SECONDS=2
	run bash -c 'tv_data 5000000 | tv-blob-put broken.bin'
	assert_status 75
	assert_output_contains "HTTP 500"
	assert_old_intact broken.bin
}

@test "a commit whose reply is lost is sent again and succeeds: the blob it finds is its own" {
	# The injector lets the first commit through to Azurite, then answers 503 as if it failed.
	start_injector 503 1 "comp=blocklist" "" after
	tv_blob_round_trip 5000000 lost.bin
	[ "$(grep -c '^http-faults: 503' "$BATS_TEST_TMPDIR/injector.log")" -eq 1 ]
}

@test "a commit whose reply is lost still never takes over a blob someone else committed" {
	seed_old taken.bin
	start_injector 503 1 "comp=blocklist" "" after
	run bash -c 'tv_data 5000 | tv-blob-put taken.bin'
	assert_status 73
	assert_output_contains "taken.bin already exists in the store; nothing was overwritten"
	assert_old_intact taken.bin
}

@test "HTTP 429 with Retry-After is honoured and the upload completes" {
	start_injector 429 1 "PUT" 2
	local start=$SECONDS
	printf 'throttled' | tv-blob-put -q throttled.bin
	[ $((SECONDS - start)) -ge 2 ]
	[ "$(tv-blob-get -q throttled.bin)" = throttled ]
}

@test "HTTP 502 and 504 on reads and listings are retried" {
	printf 'x' | BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT tv-blob-put -q r.bin
	start_injector 502 2 "GET"
	[ "$(tv-blob-get -q r.bin)" = x ]
	[ "$(tv-blob-ls | cut -f1)" = r.bin ]
	[ "$(grep -c '^http-faults: 502' "$BATS_TEST_TMPDIR/injector.log")" -eq 2 ]
}

@test "the circuit breaker opens after N failed runs and then fails fast with 69" {
	export BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=3 BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS=60
	export TV_RETRY_MAX_SECONDS=0
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "" "http://127.0.0.1:$(tv_free_port)/$AZURITE_ACCOUNT")
	for _ in 1 2 3; do
		run tv-blob-ls
		assert_status 69
		refute_output_contains "Circuit breaker is open"
	done
	assert_output_contains "Circuit breaker opened"
	# Even with the store back, the open breaker refuses at once.
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT
	run tv-blob-ls
	assert_status 69
	assert_output_contains "Circuit breaker is open"
	run bash -c 'printf x | tv-blob-put x'
	assert_status 69
	assert_output_contains "Circuit breaker is open"
}

@test "after the timeout one probe is let through and a success closes the breaker" {
	export BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=2 BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS=2
	export TV_RETRY_MAX_SECONDS=0
	local bad
	bad=$(tv_az_connection_string "" "http://127.0.0.1:$(tv_free_port)/$AZURITE_ACCOUNT")
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$bad run tv-blob-ls
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$bad run tv-blob-ls
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT run tv-blob-ls
	assert_output_contains "Circuit breaker is open"
	sleep 2.2
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT run tv-blob-ls
	assert_status 0
	assert_output_contains "half-open"
	assert_output_contains "Circuit breaker closed"
	# Closed again: one more failure does not open it.
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$bad run tv-blob-ls
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT run tv-blob-ls
	assert_status 0
}

@test "a failed half-open probe opens the breaker again" {
	export BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=1 BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS=2
	export TV_RETRY_MAX_SECONDS=0
	local bad
	bad=$(tv_az_connection_string "" "http://127.0.0.1:$(tv_free_port)/$AZURITE_ACCOUNT")
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$bad run tv-blob-ls
	sleep 2.2
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$bad run tv-blob-ls
	assert_status 69
	assert_output_contains "half-open"
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$DIRECT run tv-blob-ls
	assert_status 69
	assert_output_contains "Circuit breaker is open"
}

@test "a state directory the operator named is never swapped for another: the breaker says it is off" {
	export BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=1 TV_RETRY_MAX_SECONDS=0
	export BACKUP_STATE_DIR=/proc/tralivali XDG_STATE_HOME=$BATS_TEST_TMPDIR/xdg
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "" "http://127.0.0.1:$(tv_free_port)/$AZURITE_ACCOUNT") run tv-blob-ls
	assert_status 69
	assert_output_contains "state directory /proc/tralivali: cannot create or write it"
	assert_output_contains "circuit breaker disabled"
	[ ! -e "$XDG_STATE_HOME/tralivali-backup/blob-circuit-breaker" ]
}

@test "tv-pitr --follow through a 5-second store cut: it waits, then ships on, and the chain has no hole" {
	command -v ferretdb >/dev/null || skip "the oplog needs FerretDB"
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd i
	export TV_RETRY_MAX_SECONDS=1
	"$cmd" '{"insert": "users", "documents": [{"_id": "c0"}]}' >/dev/null
	tv-pitr -q
	tv-pitr --follow --interval 1 2>"$BATS_TEST_TMPDIR/follow.log" 3>&- &
	FOLLOWER=$!
	"$cmd" '{"insert": "users", "documents": [{"_id": "c1"}]}' >/dev/null
	for i in $(seq 100); do
		[ -z "$(tv-blob-ls oplog/ | grep '\.bson\.gz' || true)" ] || break
		sleep 0.1
	done
	# The store goes away for 5 s; the application goes on writing.
	toxi POST "/proxies/$PROXY" '{"enabled": false}'
	"$cmd" '{"insert": "users", "documents": [{"_id": "c2"}]}' >/dev/null
	sleep 5
	toxi POST "/proxies/$PROXY" '{"enabled": true}'
	"$cmd" '{"insert": "users", "documents": [{"_id": "c3"}]}' >/dev/null
	follower_shipped "c1 c2 c3 " 400
	grep -q "WRN] tv-pitr: .*retrying in 1 s, the chain goes on after" "$BATS_TEST_TMPDIR/follow.log"
	tv-blob-ls | tv-catalog list --slices | jq -e '(.pitr | length) == 1 and .oplog.chainOk'
}

@test "tv-pitr --follow whose slice was stored but the answer lost: the next attempt finds its own slice, stores its index, ships on" {
	command -v ferretdb >/dev/null || skip "the oplog needs FerretDB"
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	local cmd=$TV_BUILDDIR/tests/tv-mongo-cmd i
	"$cmd" '{"insert": "users", "documents": [{"_id": "d0"}]}' >/dev/null
	tv-pitr -q
	# The first slice's commit reaches Azurite, and its answer is replaced by a 503; with no
	# retry budget tv-blob-put gives up at once (75), as after a long cut.
	start_injector 503 1 ".bson.gz?comp=blocklist" "" after
	export TV_RETRY_MAX_SECONDS=0
	tv-pitr --follow --interval 1 2>"$BATS_TEST_TMPDIR/follow.log" 3>&- &
	FOLLOWER=$!
	"$cmd" '{"insert": "users", "documents": [{"_id": "d1"}]}' >/dev/null
	for i in $(seq 150); do
		[ -z "$(tv-blob-ls oplog/ | grep -E '[0-9]\.json\s' || true)" ] || break
		sleep 0.1
	done
	"$cmd" '{"insert": "users", "documents": [{"_id": "d2"}]}' >/dev/null
	follower_shipped "d1 d2 " 300
	[ "$(grep -c '^http-faults: 503' "$BATS_TEST_TMPDIR/injector.log")" -eq 1 ]
	grep -q "was stored by this shipper's last attempt, whose answer was lost; its index follows" "$BATS_TEST_TMPDIR/follow.log"
	[ "$(grep -c "another shipper" "$BATS_TEST_TMPDIR/follow.log" || true)" -eq 0 ]
	# Every slice has its index, and the chain is one range.
	[ "$(tv-blob-ls oplog/ | grep -c '\.bson\.gz\s')" -eq "$(tv-blob-ls oplog/ | grep -cE '[0-9]\.json\s')" ]
	tv-blob-ls | tv-catalog list --slices | jq -e '(.pitr | length) == 1 and .oplog.chainOk'
}
