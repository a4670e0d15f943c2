#!/usr/bin/env bats
# tv-pitr against FerretDB with an oplog and a file: store: slices named by their bounds, with an
# index each, a chain that continues from the store alone, breaks recorded, and its own lock.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	tv_enable_oplog
	"$TV_BUILDDIR/tests/tv-mongo-cmd" '{"insert": "users", "documents": [{"_id": "first"}]}' >/dev/null
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_FILE_TMPDIR/store
}

teardown_file() {
	load lib/common
	tv_stop_mongo
}

setup() {
	load lib/common
	# Each test has its own container (so its own chain) and its own state directory.
	export BACKUP_BLOB_CONTAINER_NAME="t$BATS_TEST_NUMBER"
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
}

# Runs database commands (JSON) on the test server.
db() {
	"$TV_BUILDDIR/tests/tv-mongo-cmd" "$@" >/dev/null
}

# Inserts documents with the given _ids into users.
insert() {
	local id docs=
	for id in "$@"; do
		docs+="${docs:+, }{\"_id\": \"$id\"}"
	done
	db "{\"insert\": \"users\", \"documents\": [$docs]}"
}

# Prints the names of the stored slices, oldest first.
slices() {
	tv-blob-ls oplog/ | cut -f 1 | grep -E '\.bson\.gz(\.enc)?$' || true
}

# Prints the day folder of position $1.
day() { date -u -d "@${1%.*}" +%F; }

# Prints the path of the newest pitr run record in the state directory: the last written, since
# two passes in one second have names that sort by their random ids.
newest_pitr_record() {
	ls -t "$BACKUP_STATE_DIR"/runs/*/*-pitr-*.json | head -n 1
}

# Prints the _ids in slice $1.
slice_ids() {
	tv-blob-get "$1" | gzip -d | bsondump --quiet | jq -r .o._id
}

@test "the first pass starts the chain at the newest entry and says so; later writes go into a slice named by its bounds" {
	start=$(tv-oplog --last)
	run -0 tv-pitr
	assert_output_contains "The oplog chain starts at $start"
	# No backup anchors this chain: it says so, in its log and in its run record.
	assert_output_contains "WRN] tv-pitr: point-in-time restore is not possible yet: no backup lies in this chain; take a backup (tv-backup)"
	jq -e '.pitr.restorable == false and (.pitr.note | startswith("point-in-time restore not possible yet"))' "$(newest_pitr_record)"
	[ "$(tv-blob-ls oplog/ | cut -f 1)" = "oplog/$(day "$start")/$start-$start.start.json" ]
	[ "$(tv-blob-get "oplog/$(day "$start")/$start-$start.start.json" | jq -r .position)" = "$start" ]
	insert a1 a2
	end=$(tv-oplog --last)
	run -0 tv-pitr
	slice=oplog/$(day "$start")/$start-$end.bson.gz
	assert_output_contains "Shipped oplog slice $slice: 2 entries"
	[ "$(slices)" = "$slice" ]
	[ "$(slice_ids "$slice")" = "a1
a2" ]
	# The run record says what the pass shipped.
	run -0 jq -c '.pitr' "$(newest_pitr_record)"
	[ "$output" = "{\"slices\":1,\"entries\":2,\"chainEnd\":\"$end\"}" ]
}

@test "each slice has an index with its bounds, first and last entry, count, sizes and checksum" {
	tv-pitr -q
	start=$(tv-oplog --last)
	insert i1 i2 i3
	end=$(tv-oplog --last)
	tv-pitr -q
	slice=$(slices)
	tv-blob-get "${slice%.bson.gz}.json" >"$BATS_TEST_TMPDIR/index.json"
	tv-blob-get "$slice" >"$BATS_TEST_TMPDIR/slice.bson.gz"
	jq -e --arg slice "$slice" --arg from "$start" --arg to "$end" \
		--arg sha "$(sha256sum <"$BATS_TEST_TMPDIR/slice.bson.gz" | cut -d ' ' -f 1)" \
		--argjson size "$(stat -c %s "$BATS_TEST_TMPDIR/slice.bson.gz")" \
		--argjson bson "$(gzip -d <"$BATS_TEST_TMPDIR/slice.bson.gz" | wc -c)" \
		'.slice == $slice and .from == $from and .to == $to and .last == $to and .count == 3 and
		 .sha256 == $sha and .compressedBytes == $size and .bsonBytes == $bson and
		 (.first | type == "string") and (.firstTime | test("^[0-9-]{10}T[0-9:]{8}Z$"))' "$BATS_TEST_TMPDIR/index.json"
}

@test "a slice holds byte for byte what tv-oplog writes for its bounds" {
	tv-pitr -q
	insert b1
	db '{"update": "users", "updates": [{"q": {"_id": "b1"}, "u": {"$set": {"n": 1}}}]}'
	db -d elsewhere '{"insert": "users", "documents": [{"_id": "x"}]}'
	db '{"delete": "users", "deletes": [{"q": {"_id": "b1"}, "limit": 1}]}'
	tv-pitr -q
	slice=$(slices)
	bounds=${slice##*/}
	bounds=${bounds%.bson.gz}
	tv-oplog --since "${bounds%-*}" --until "${bounds#*-}" >"$BATS_TEST_TMPDIR/want.bson"
	tv-blob-get "$slice" | gzip -d >"$BATS_TEST_TMPDIR/got.bson"
	assert_same_file "$BATS_TEST_TMPDIR/want.bson" "$BATS_TEST_TMPDIR/got.bson"
	[ "$(bsondump --quiet "$BATS_TEST_TMPDIR/got.bson" | jq -r .op | tr -d '\n')" = iud ]
}

@test "every pass continues after the newest slice in the store, even with the state directory lost" {
	tv-pitr -q
	for round in 1 2 3; do
		insert "r$round"
		rm -rf "$BACKUP_STATE_DIR"
		tv-pitr -q
	done
	run slices
	[ "${#lines[@]}" -eq 3 ]
	prev=
	for s in "${lines[@]}"; do
		b=${s##*/}
		b=${b%.bson.gz}
		[ -z "$prev" ] || [ "${b%-*}" = "$prev" ]
		prev=${b#*-}
	done
	[ "$(for s in "${lines[@]}"; do slice_ids "$s"; done | tr '\n' ' ')" = "r1 r2 r3 " ]
}

@test "the catalogue sees the slices as one continuous range, and tv-verify checks each against its index" {
	start=$(tv-oplog --last)
	tv-pitr -q
	for round in 1 2 3; do
		insert "v$round"
		tv-pitr -q
	done
	end=$(tv-oplog --last)
	tv-blob-ls | tv-catalog list --slices >"$BATS_TEST_TMPDIR/catalog.json"
	[ "$(jq -c '[.pitr[] | [.fromPosition, .toPosition, .slices]]' "$BATS_TEST_TMPDIR/catalog.json")" = "[[\"$start\",\"$end\",3]]" ]
	jq -e '.oplog.chainOk' "$BATS_TEST_TMPDIR/catalog.json"
	run -0 tv-verify --slices
	[ "$(grep -c 'oplog slice .* 1/1 *OK$' <<<"$output")" -eq 3 ]
}

@test "a pass with nothing new of the database stores nothing and changes nothing" {
	tv-pitr -q
	insert n1
	tv-pitr -q
	tv-blob-ls oplog/ >"$BATS_TEST_TMPDIR/before"
	sleep 1
	run -0 tv-pitr
	db -d elsewhere '{"insert": "users", "documents": [{"_id": "y"}]}'
	run -0 tv-pitr
	tv-blob-ls oplog/ >"$BATS_TEST_TMPDIR/after"
	assert_same_file "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "a quiet chain still moves on after --idle-seconds, so the oplog cannot roll past it" {
	tv-pitr -q
	start=$(tv-oplog --last)
	sleep 1.2
	db -d elsewhere '{"insert": "users", "documents": [{"_id": "z"}]}'
	end=$(tv-oplog --last)
	run -0 tv-pitr --idle-seconds 1
	assert_output_contains "Shipped oplog slice oplog/$(day "$start")/$start-$end.bson.gz: 0 entries"
}

@test "with no slice, the chain starts after the newest backup's consistent end" {
	insert before-backup
	tv-backup -q --no-prune >/dev/null
	end=$(tv-blob-ls backups/ | tv-catalog list | jq -r '.backups[-1].consistentAt.end')
	[[ $end =~ ^[0-9]+\.[0-9]+$ ]]
	insert after-backup
	run -0 tv-pitr
	assert_output_contains "The oplog chain starts at $end"
	assert_output_contains "the end of the newest backup's consistent snapshot"
	[ "$(slice_ids "$(slices)")" = after-backup ]
}

@test "with BACKUP_ENCRYPTION_KEY_FILE, slices are encrypted (.bson.gz.enc) and the chain continues after them" {
	head -c 32 /dev/urandom >"$BATS_TEST_TMPDIR/key"
	chmod 600 "$BATS_TEST_TMPDIR/key"
	export BACKUP_ENCRYPTION_KEY_FILE=$BATS_TEST_TMPDIR/key
	tv-pitr -q
	insert e1
	tv-pitr -q
	insert e2
	tv-pitr -q
	run slices
	[ "${#lines[@]}" -eq 2 ]
	[[ ${lines[0]} == *.bson.gz.enc && ${lines[1]} == *.bson.gz.enc ]]
	b=${lines[1]##*/}
	b=${b%.bson.gz.enc}
	[[ ${lines[0]} == *"-${b%-*}.bson.gz.enc" ]]
	tv-oplog --since "${b%-*}" --until "${b#*-}" >"$BATS_TEST_TMPDIR/want.bson"
	tv-blob-get "${lines[1]}" | tv-crypt -d | gzip -d >"$BATS_TEST_TMPDIR/got.bson"
	assert_same_file "$BATS_TEST_TMPDIR/want.bson" "$BATS_TEST_TMPDIR/got.bson"
	[ "$(tv-blob-get "${lines[1]%.bson.gz.enc}.json" | jq -r .slice)" = "${lines[1]}" ]
	# A key that does not load stores nothing.
	head -c 5 /dev/urandom >"$BATS_TEST_TMPDIR/key"
	insert e3
	run tv-pitr
	[ "$status" -ne 0 ]
	[ "$(slices | wc -l)" -eq 2 ]
}

@test "--follow ships a write within seconds, in slices that continue the chain" {
	tv-pitr -q
	tv-pitr --follow --interval 1 3>&- &
	pid=$!
	insert f1
	for _ in $(seq 100); do
		[ -z "$(slices)" ] || break
		sleep 0.1
	done
	insert f2
	for _ in $(seq 100); do
		[ "$(slices | wc -l)" -lt 2 ] || break
		sleep 0.1
	done
	# Stopping the service is a clean end, and the next run loses nothing.
	insert f3
	kill "$pid"
	wait "$pid"
	[ "$(jq -r .status "$(newest_pitr_record)")" = Completed ]
	tv-pitr -q
	run slices
	[ "${#lines[@]}" -ge 2 ]
	[ "$(for s in "${lines[@]}"; do slice_ids "$s"; done | tr '\n' ' ')" = "f1 f2 f3 " ]
}

@test "--follow rides out a 5-second server restart: it waits with backoff and continues the chain where it stopped" {
	# A server of its own, restarted under the follower.
	tv_start_mongo
	OWN_MONGO_PID=$TV_MONGO_PID OWN_MONGO_DIR=$TV_MONGO_DIR
	tv_enable_oplog
	insert r0
	tv-pitr -q
	tv-pitr --follow --interval 1 2>"$BATS_TEST_TMPDIR/follow.log" 3>&- &
	pid=$! FOLLOWER=$!
	insert r1
	for _ in $(seq 100); do
		[ -z "$(slices)" ] || break
		sleep 0.1
	done
	tv_restart_mongo 5
	OWN_MONGO_PID=$TV_MONGO_PID
	insert r2
	for _ in $(seq 600); do
		[ "$(slices | wc -l)" -lt 2 ] || break
		sleep 0.1
	done
	kill -0 "$pid"
	insert r3
	kill "$pid"
	wait "$pid"
	grep -q "WRN] tv-pitr: capturing the oplog after .* failed: tv-oplog failed (exit 69: service unavailable); retrying in 1 s" "$BATS_TEST_TMPDIR/follow.log"
	grep -q "INF] The oplog is shipped again after " "$BATS_TEST_TMPDIR/follow.log"
	[ "$(jq -r .status "$(newest_pitr_record)")" = Completed ]
	tv-pitr -q
	run slices
	[ "$(for s in "${lines[@]}"; do slice_ids "$s"; done | tr '\n' ' ')" = "r1 r2 r3 " ]
	# One continuous range: no hole where the server was away.
	tv-blob-ls | tv-catalog list --slices | jq -e '(.pitr | length) == 1 and .oplog.chainOk'
}

teardown() {
	[ -z "${FOLLOWER:-}" ] || tv_stop_pid "$FOLLOWER"
	[ -z "${OWN_MONGO_PID:-}" ] || tv_stop_pid "$OWN_MONGO_PID"
	[ -z "${OWN_MONGO_DIR:-}" ] || rm -rf "$OWN_MONGO_DIR"
}

@test "tv-pitr takes its own lock: a second one exits 75, a running backup does not stop it" {
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup-pitr.lock"
	flock 8
	run -75 tv-pitr
	assert_output_contains "another tv-pitr is running"
	exec 8>&-
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock 8
	run -0 tv-pitr
	exec 8>&-
}

@test "usage: --help on stdout, a bad option or number is exit 64" {
	run -0 --separate-stderr tv-pitr --help
	[[ $output == usage:* ]]
	run -64 tv-pitr --frobnicate
	run -64 tv-pitr --interval 0
	assert_output_contains "take a whole number above 0"
}

@test "when the oplog no longer reaches back to the chain's end: exit 65, the break recorded, then a new chain" {
	tv-pitr -q
	insert g1
	tv-pitr -q
	lost=$(slices)
	lost=${lost##*-}
	lost=${lost%.bson.gz}
	insert g2
	db -d local "{\"delete\": \"oplog.rs\", \"deletes\": [{\"q\": {\"ts\": {\"\$lte\": {\"\$timestamp\": {\"t\": ${lost%.*}, \"i\": ${lost#*.}}}}}, \"limit\": 0}]}"
	oldest=$(tv-oplog --first)
	iso() { date -u -d "@${1%.*}" +%FT%TZ; }
	run -65 tv-pitr
	assert_output_contains "the oplog no longer reaches back to $lost (oldest entry is $oldest at $(iso "$oldest"))"
	assert_output_contains "the oplog chain is broken from $(iso "$lost") to $(iso "$oldest")"
	assert_output_contains "the next backup starts a new chain"
	record=oplog/$(day "$lost")/$lost-$oldest.break.json
	tv-blob-get "$record" | jq -e --arg from "$lost" --arg to "$oldest" '.from == $from and .to == $to and (.message | length > 0)'
	[ "$(tv-blob-ls | tv-catalog list | jq -r '.oplog.breaks[].name')" = "$record" ]
	now=$(tv-oplog --last)
	run -0 tv-pitr
	assert_output_contains "The oplog chain starts at $now"
	assert_output_contains "the chain broke at $lost and no later slice or backup to continue from"
}

@test "tv-cron-install --pitr adds an every-minute tv-pitr entry beside the backup's" {
	export TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/cron.d/tralivali-backup
	run -0 tv-cron-install --pitr --env-file /etc/tralivali-backup/environment --log /var/log/tv.log
	assert_output_contains "oplog shipping every minute"
	grep -qx "\* \* \* \* \* root $TV_SRCDIR/scripts/tv-pitr --follow --for 45 --interval 10 --env-file /etc/tralivali-backup/environment >>/var/log/tv.log 2>&1" "$TV_CRONTAB_FILE"
	run -0 tv-cron-install --env-file /etc/tralivali-backup/environment --log /var/log/tv.log
	! grep -q tv-pitr "$TV_CRONTAB_FILE"
}

@test "--follow --for ends by itself after about that long, its writes shipped, and exits 0" {
	run -0 tv-pitr
	local t0=$SECONDS pid
	tv-pitr -q --follow --for 4 --interval 1 3>&- &
	pid=$!
	sleep 1
	insert k1
	wait "$pid"
	[ $((SECONDS - t0)) -le 9 ]
	run slices
	[ "$(for s in "${lines[@]}"; do slice_ids "$s"; done | tr '\n' ' ')" = "k1 " ]
	run -64 tv-pitr --for 3
	assert_output_contains "--for goes with --follow"
}

@test "the chain's end is found however old it is: one ten days back that the oplog no longer holds is a break" {
	old=$(($(date -u +%s) - 10 * 86400)).1
	echo '{}' | tv-blob-put -q "oplog/$(day "$old")/$old-$old.start.json"
	run -65 tv-pitr
	assert_output_contains "the oplog no longer reaches back to $old"
	[ -n "$(tv-blob-ls "oplog/$(day "$old")/$old-" | grep '\.break\.json')" ]
}
