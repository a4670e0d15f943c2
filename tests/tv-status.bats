#!/usr/bin/env bats
# tv-status, run records, the metrics file and the circuit breaker across runs, against a real
# MongoDB-wire server and the file: store (an unreachable Azure endpoint for the breaker).

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	local c
	for c in users conversations messages; do
		tv-gendata -s 3 "$c" 20 | tv-restore -q -c "$c" --drop
	done
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
	export TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/cron
	printf '0 3 * * * root /usr/bin/tv-backup --type scheduled\n' >"$TV_CRONTAB_FILE"
	# No systemd timer, whatever this machine has enabled.
	export TV_SYSTEMD_ROOT=$BATS_TEST_TMPDIR/systemd-root
	unset TV_NOW BACKUP_METRICS_FILE
}

# Prints this host's run records, one JSON object per line.
records() { tv-state --runs; }

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-status --help
	assert_status 0
	[[ $output == "usage: tv-status "* ]]
	[ -z "$stderr" ]
	run --separate-stderr tv-state --help
	assert_status 0
	[[ $output == "usage: tv-state "* ]]
}

@test "a usage error exits 64" {
	run tv-status --max-age soon
	assert_status 64
	assert_output_contains "--max-age: not a duration"
	run tv-state --dir --breaker
	assert_status 64
}

@test "the state directory is decided once, by libtv, for the scripts too" {
	run tv-status --state-dir
	assert_status 0
	[ "$output" = "$BACKUP_STATE_DIR" ]
	run tv-state --lock-path
	[ "$output" = "$BACKUP_STATE_DIR/tralivali-backup.lock" ]
}

@test "a failed backup leaves a record with its exit code and first cause, here and in the store" {
	run tv-backup -q --collections nosuch
	assert_status 66
	run records
	[ "$(jq -s length <<<"$output")" -eq 1 ]
	jq -e '.kind == "backup" and .status == "Failed" and .exitCode == 66 and
		.cause == "tv-export: no collection nosuch in database tralivali"' <<<"$output"
	name=$(cd "$BACKUP_STATE_DIR" && find runs -name '*.json')
	[[ $name =~ ^runs/[0-9]{4}-[0-9]{2}-[0-9]{2}/[0-9]{8}T[0-9]{6}Z[.][0-9]{16}-backup-[0-9a-f]{24}\.json$ ]]
	tv-blob-get "$name" | cmp - "$BACKUP_STATE_DIR/$name"
}

@test "a failed run writes the metrics file and does not claim it cannot" {
	export BACKUP_METRICS_FILE=$BATS_TEST_TMPDIR/m.prom
	run --separate-stderr tv-backup -q --collections nosuch
	assert_status 66
	[[ $stderr != *"cannot write the metrics file"* ]]
	grep -qx 'tralivali_backup_last_run_success 0' "$BACKUP_METRICS_FILE"
}

@test "a good backup's record holds the documents per collection; its retention step is a prune run" {
	run tv-backup -q
	assert_status 0
	run tv-state --runs --kind prune
	jq -e '.kind == "prune" and .status == "Completed" and .exitCode == 0 and .cause == null' <<<"$output"
	run tv-state --runs --kind backup
	jq -e '.status == "Completed" and .exitCode == 0 and .cause == null and
		([.collections[] | {name, documents}] == [{name: "users", documents: 20},
		 {name: "conversations", documents: 20}, {name: "messages", documents: 20}])' <<<"$output"
}

@test "tv-status is OK after a good backup, and says why in JSON too" {
	tv-backup -q >/dev/null
	run tv-status
	assert_status 0
	[[ ${lines[0]} == "TRALIVALI-BACKUP OK - "* ]]
	assert_output_contains "last good backup"
	run tv-status --json
	assert_status 0
	jq -e '.status == "OK" and .exitCode == 0 and .lastBackup.folder == "backups/'"$(date -u +%F)"'" and
		.breaker.state == "closed" and (.checks | map(.name) | index("mongodb") != null)' <<<"$output"
}

@test "tv-status is CRITICAL when the last good backup is older than --max-age" {
	TV_NOW=2024-01-15T03:00:00Z tv-backup -q >/dev/null
	run tv-status --max-age 26h
	assert_status 2
	[[ ${lines[0]} == "TRALIVALI-BACKUP CRITICAL - backup: last good backup 2024-01-15T03:00:00Z"* ]]
}

@test "tv-status warns about a failure not recovered from, naming its cause, and about a missing cron entry" {
	tv-backup -q >/dev/null
	tv-backup -q --collections nosuch >/dev/null 2>&1 || true
	rm "$TV_CRONTAB_FILE"
	run tv-status
	assert_status 1
	assert_output_contains "(exit 66): tv-export: no collection nosuch in database tralivali"
	assert_output_contains "no scheduled backup: $TV_CRONTAB_FILE is missing"
}

@test "tv-status is CRITICAL when MongoDB does not answer" {
	tv-backup -q >/dev/null
	MONGODB_URI="mongodb://127.0.0.1:$(tv_free_port)/tralivali?serverSelectionTimeoutMS=500" run tv-status
	assert_status 2
	assert_output_contains "mongodb: unreachable"
}

# Stores a recovery point $1 (YYYY-MM-DD) that holds no collection: its manifest alone.
make_point() {
	printf '{"id": "0123456789abcdef01234567", "createdAt": "%sT00:00:00Z", "type": "scheduled", "status": "Completed",
		"filePath": "backups/%s/", "size": 0, "collections": [], "snapshot": "per-collection"}' "$1" "$1" |
		tv-blob-put -q "backups/$1/manifest.json"
}

# Prints tv-status's retention check as status, tab, message.
retention_check() {
	tv-status --json | jq -r '.checks[] | select(.name == "retention") | "\(.status)\t\(.message)"'
}

@test "retention: WARNING for points the policy would delete, OK for old points a calendar rule keeps" {
	for m in 01 02 03 04 05 06 07 08 09; do make_point "2024-$m-01"; done
	export TV_NOW=2024-09-10T03:00:00Z BACKUP_RETENTION_DAYS=30
	[ "$(retention_check)" = "WARNING	9 backup(s) cover 253 day(s); 2 of them past the retention policy: retention is not being applied" ]
	[ "$(BACKUP_KEEP_MONTHLY=12 retention_check)" = "OK	9 backup(s) cover 253 day(s); the retention policy keeps them all" ]
}

@test "retention: UNKNOWN, saying why, when tv-prune cannot check the policy" {
	make_point 2024-01-01
	export BACKUP_PRUNE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=x;AccountKey=c2VjcmV0"
	[ "$(TV_NOW=2024-02-10T03:00:00Z retention_check)" = "UNKNOWN	1 backup(s) cover 40 day(s); not checked against the retention policy: tv-blob-ls: BACKUP_PRUNE_CONNECTION_STRING: refusing plain http to x.blob.core.windows.net: the signature and the data would travel in clear; use https, or set BACKUP_ALLOW_INSECURE_HTTP=1 if the network is trusted" ]
}

@test "tv-state says what a SAS may do and until when, never the signature" {
	BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=http://127.0.0.1:9/a;SharedAccessSignature=sv=2022-11-02&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig=c2VjcmV0" \
		run tv-state --credential
	assert_status 0
	[ "$output" = '{"kind":"sas","permissions":"rl","may":["read","list"],"expires":"2099-01-01T00:00:00Z"}' ]
	refute_output_contains c2VjcmV0
}

@test "each run writes the metrics file: exactly these lines" {
	export BACKUP_METRICS_FILE=$BATS_TEST_TMPDIR/tralivali.prom
	tv-backup -q >/dev/null
	rec=$(tv-state --runs --kind backup)
	end=$(jq -r '.end | fromdateiso8601' <<<"$rec")
	duration=$(jq -r .durationSeconds <<<"$rec")
	size=$(jq -r .backup.size <<<"$rec")
	cat >"$BATS_TEST_TMPDIR/want" <<EOF
# HELP tralivali_backup_last_success_timestamp_seconds When the last successful backup run ended, in Unix time.
# TYPE tralivali_backup_last_success_timestamp_seconds gauge
tralivali_backup_last_success_timestamp_seconds $end
# HELP tralivali_backup_last_run_success 1 if the last backup run succeeded, else 0.
# TYPE tralivali_backup_last_run_success gauge
tralivali_backup_last_run_success 1
# HELP tralivali_backup_duration_seconds How long the last backup run took.
# TYPE tralivali_backup_duration_seconds gauge
tralivali_backup_duration_seconds $duration
# HELP tralivali_backup_size_bytes Compressed size of the last successful backup.
# TYPE tralivali_backup_size_bytes gauge
tralivali_backup_size_bytes $size
# HELP tralivali_backup_documents Documents per collection in the last successful backup.
# TYPE tralivali_backup_documents gauge
tralivali_backup_documents{collection="users"} 20
tralivali_backup_documents{collection="conversations"} 20
tralivali_backup_documents{collection="messages"} 20
# HELP tralivali_pitr_last_slice_timestamp_seconds Where the newest oplog slice ends, in Unix time (0: none).
# TYPE tralivali_pitr_last_slice_timestamp_seconds gauge
tralivali_pitr_last_slice_timestamp_seconds 0
# HELP tralivali_backup_circuit_breaker_open 1 if the blob store circuit breaker is open, else 0.
# TYPE tralivali_backup_circuit_breaker_open gauge
tralivali_backup_circuit_breaker_open 0
EOF
	assert_same_file "$BATS_TEST_TMPDIR/want" "$BACKUP_METRICS_FILE"
	# A failed run after it flips last_run_success and keeps the last success.
	tv-backup -q --collections nosuch >/dev/null 2>&1 || true
	grep -qx 'tralivali_backup_last_run_success 0' "$BACKUP_METRICS_FILE"
	grep -qx "tralivali_backup_last_success_timestamp_seconds $end" "$BACKUP_METRICS_FILE"
	# Written atomically: nothing but the file is left beside it.
	[ "$(ls "$BATS_TEST_TMPDIR" | grep -c prom)" -eq 1 ]
}

@test "tv-status --prom writes the metrics file on demand" {
	run tv-status --local --prom "$BATS_TEST_TMPDIR/on-demand.prom"
	assert_status 2
	grep -qx 'tralivali_backup_last_success_timestamp_seconds 0' "$BATS_TEST_TMPDIR/on-demand.prom"
	[ "$(grep -c '^# TYPE ' "$BATS_TEST_TMPDIR/on-demand.prom")" -eq 7 ]
}

@test "with threshold 3 the third failed run opens the breaker and the fourth fails fast saying until when" {
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$(tv_free_port)/devstoreaccount1;"
	export BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=3 BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS=600 TV_RETRY_MAX_SECONDS=1
	for i in 1 2; do
		run tv-backup -q --collections users
		assert_status 69
		[ "$(tv-state --breaker | jq -r .state)" = closed ]
	done
	run tv-backup -q --collections users
	assert_status 69
	run tv-state --breaker
	jq -e '.state == "open" and .failures == 3 and .threshold == 3' <<<"$output"
	until=$(jq -r .until <<<"$output")
	run tv-backup -q --collections users
	assert_status 69
	# Fast because it never asks the store (a wall-clock bound failed on a loaded machine): no
	# connection was tried, so no retry was waited for.
	refute_output_contains "Failed to connect"
	refute_output_contains "giving up after"
	assert_output_contains "Circuit breaker is open until $until"
	# All four runs are recorded, the last with the breaker as its cause.
	run records
	[ "$(jq -s 'map(select(.status == "Failed")) | length' <<<"$output")" -eq 4 ]
	jq -s -e 'last.cause | startswith("tv-state: Circuit breaker is open until '"$until"'")' <<<"$output"
	run tv-status --local
	assert_status 2
	assert_output_contains "breaker  open until $until after 3 failed run(s) in a row"
}

@test "an unwritable TMPDIR ends the run with a message naming it, and is recorded" {
	touch "$BATS_TEST_TMPDIR/not-a-dir"
	TMPDIR=$BATS_TEST_TMPDIR/not-a-dir run tv-backup -q
	assert_status 74
	assert_output_contains "cannot create a work directory in $BATS_TEST_TMPDIR/not-a-dir (TMPDIR): Not a directory"
	run records
	jq -e '.status == "Failed" and .exitCode == 74 and (.cause | contains("cannot create a work directory"))' <<<"$output"
}

@test "a full TMPDIR ends the run with a message naming the cause" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
	mkdir "$BATS_TEST_TMPDIR/full"
	mount -t tmpfs -o size=64k tmpfs "$BATS_TEST_TMPDIR/full" || skip "cannot mount a tmpfs here"
	# Room to start, not to finish: the stages' files fill it.
	dd if=/dev/zero of="$BATS_TEST_TMPDIR/full/filler" bs=1k count=52 2>/dev/null
	TMPDIR=$BATS_TEST_TMPDIR/full run tv-backup -q
	umount "$BATS_TEST_TMPDIR/full"
	assert_status 74
	assert_output_contains "$BATS_TEST_TMPDIR/full (TMPDIR) is full (No space left on device)"
	run records
	jq -e '.status == "Failed" and .exitCode == 74 and (.cause | contains("(TMPDIR) is full"))' <<<"$output"
}

@test "a TMPDIR already full: the run cannot even start, and says why" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
	mkdir "$BATS_TEST_TMPDIR/full"
	mount -t tmpfs -o size=64k tmpfs "$BATS_TEST_TMPDIR/full" || skip "cannot mount a tmpfs here"
	dd if=/dev/zero of="$BATS_TEST_TMPDIR/full/filler" bs=4k 2>/dev/null || true
	TMPDIR=$BATS_TEST_TMPDIR/full run tv-backup -q
	umount "$BATS_TEST_TMPDIR/full"
	assert_status 74
	assert_output_contains "No space left on device"
	run records
	jq -e '.status == "Failed" and (.cause | test("No space left|full"))' <<<"$output"
}

@test "progress: tv-export and tv-restore draw one updating line on a terminal, with the estimate for the ETA" {
	tv-gendata -s 3 messages 3000 | tv-restore -q -c progress_m --drop
	run script -qfec "tv-export -c progress_m --batch-size 100 >/dev/null" /dev/null
	assert_status 0
	[[ $output == *$'\r\033[K'"progress_m: "*"/~3000 documents ("*"%), "*" docs/s"* ]]
	run script -qfec "tv-gendata messages 3000 | tv-restore -c progress_r --drop --batch-size 100" /dev/null
	assert_status 0
	[[ $output == *$'\r\033[K'"progress_r: "*" documents, "*" docs/s"* ]]
}

@test "progress: nothing of it under -q or when stderr is not a terminal" {
	tv-gendata -s 3 messages 3000 | tv-restore -q -c progress_q --drop
	run script -qfec "tv-export -q -c progress_q --batch-size 100 >/dev/null" /dev/null
	assert_status 0
	[ -z "$output" ]
	run --separate-stderr tv-export -c progress_q --batch-size 100
	[[ $stderr != *$'\r'* ]]
}

@test "progress: a flow's stages draw on its terminal even though their logs go to files" {
	run script -qfec "tv-backup --collections users >/dev/null" /dev/null
	assert_status 0
	[[ $output == *$'\r\033[K'"users: "*"documents"* ]]
	run script -qfec "tv-backup -q --collections users >/dev/null" /dev/null
	[[ $output != *$'\r\033[K'* ]]
}

@test "kill -9 of tv-backup: its stages die with it, the lock is free, the next run removes its work directory" {
	tv-gendata -s 3 messages 30000 | tv-restore -q -c slow_m --drop
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir "$TMPDIR"
	tv-backup -q --collections slow_m >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		pgrep -f 'tv-export -c slow_m' >/dev/null && break
		sleep 0.1
	done
	kill -9 "$pid"
	wait "$pid" || true
	sleep 1
	# No stage is left running (a zombie waiting for init to reap it is dead).
	run bash -c "pgrep -f 'tv-(export|gzip|blob-put).*slow_m' | xargs -r ps -o stat= -p | grep -v '^Z' || true"
	[ -z "$output" ]
	flock -n "$BACKUP_STATE_DIR/tralivali-backup.lock" true
	[ "$(find "$TMPDIR" -maxdepth 1 -name 'tv-backup.*' | wc -l)" -eq 1 ]
	tv-backup -q --collections users >/dev/null
	[ "$(find "$TMPDIR" -maxdepth 1 -name 'tv-backup.*' | wc -l)" -eq 0 ]
}

@test "tv-prune run alone takes the lock a backup holds" {
	exec 9>>"$(tv-state --lock-path)"
	flock -n 9
	echo "tv-backup pid 1 since now" >"$(tv-state --lock-path).owner"
	run tv-prune --retention-days 1 </dev/null
	assert_status 75
	assert_output_contains "holds the lock $BACKUP_STATE_DIR/tralivali-backup.lock (tv-backup pid 1 since now)"
	run tv-prune -n --retention-days 1 </dev/null
	assert_status 0
	exec 9>&-
	run tv-prune --retention-days 1 </dev/null
	assert_status 0
}

@test "a wrong container: tv-list, tv-verify and tv-recover say it does not exist (66); tv-backup says it creates one" {
	tv-backup -q >/dev/null
	export BACKUP_BLOB_CONTAINER_NAME=bakcups
	for cmd in "tv-list --json" "tv-verify --latest" "tv-recover $(date -u +%F) --yes"; do
		run $cmd
		assert_status 66
		assert_output_contains "container bakcups does not exist (BACKUP_BLOB_CONTAINER_NAME)"
	done
	# The failed recover is recorded here, without creating the container in the store.
	[ ! -e "$BATS_TEST_TMPDIR/store/bakcups" ]
	run --separate-stderr tv-backup --collections users
	assert_status 0
	[[ $stderr == *"Creating container bakcups: it does not exist yet"* ]]
	run tv-blob-ls --container-exists
	assert_status 0
	BACKUP_BLOB_CONTAINER_NAME=other run tv-status
	assert_status 2
	assert_output_contains "store       reachable, but container other does not exist (BACKUP_BLOB_CONTAINER_NAME)"
}

@test "appsettings.json's StateDirectory moves the lock, the breaker and the run records together" {
	unset BACKUP_STATE_DIR
	printf '{"BackupWorker": {"StateDirectory": "%s"}}\n' "$BATS_TEST_TMPDIR/from-appsettings" >"$BATS_TEST_TMPDIR/appsettings.json"
	export TV_APPSETTINGS=$BATS_TEST_TMPDIR/appsettings.json
	run tv-status --state-dir
	[ "$output" = "$BATS_TEST_TMPDIR/from-appsettings" ]
	tv-backup -q --collections users >/dev/null
	[ -e "$BATS_TEST_TMPDIR/from-appsettings/tralivali-backup.lock" ]
	[ -e "$BATS_TEST_TMPDIR/from-appsettings/blob-circuit-breaker" ]
	[ "$(find "$BATS_TEST_TMPDIR/from-appsettings/runs" -name '*-backup-*.json' | wc -l)" -eq 1 ]
}

@test "tv-list --all shows failed runs, with their cause, beside the recovery points" {
	tv-backup -q >/dev/null
	tv-backup -q --collections nosuch >/dev/null 2>&1 || true
	run --separate-stderr tv-list --all --json
	assert_status 0
	jq -e '(.backups | length) == 1 and (.failedRuns | length) == 1 and
		.failedRuns[0].kind == "backup" and .failedRuns[0].exitCode == 66 and
		.failedRuns[0].cause == "tv-export: no collection nosuch in database tralivali"' <<<"$output"
	run --separate-stderr tv-list --all --table
	assert_status 0
	[[ $output == *"FAILED RUN"*"backup  66    "*"tv-export: no collection nosuch in database tralivali"* ]]
	run --separate-stderr tv-list --json
	jq -e 'has("failedRuns") | not' <<<"$output"
}

@test "tv-cron-install --rehearse schedules tv-rehearse quarterly, and tv-status sees the backup entry" {
	ENV_FILE=$BATS_TEST_TMPDIR/environment
	touch "$ENV_FILE"
	TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/cron.d/tralivali-backup run tv-cron-install --env-file "$ENV_FILE" --rehearse
	assert_status 0
	assert_output_contains "restore rehearsal at 0 4 1 */3 *"
	grep -qxE "0 4 1 \*/3 \* root /[^ ]*/tv-rehearse -q --env-file $ENV_FILE >>/var/log/tralivali-backup.log 2>&1" "$BATS_TEST_TMPDIR/cron.d/tralivali-backup"
	TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/cron.d/tralivali-backup run tv-cron-install --env-file "$ENV_FILE" --rehearse-schedule "61 * * * *"
	assert_status 64
	tv-backup -q >/dev/null
	TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/cron.d/tralivali-backup run tv-status
	assert_status 0
	assert_output_contains "cron        $BATS_TEST_TMPDIR/cron.d/tralivali-backup: 0 3 * * * UTC"
}

@test "tv-status reports the newest oplog slice as the RPO, CRITICAL past --max-oplog-age" {
	tv-backup -q >/dev/null
	now=$(date -u +%s)
	echo x | tv-blob-put -q "oplog/$(date -u +%F)/$((now - 120)).1-$((now - 60)).1.bson.gz"
	# The backup of a standalone server lies in no oplog range: capture runs, but no second of it
	# can be restored until a consistent backup is taken, and tv-status says so.
	run tv-status --json
	assert_status 1
	jq -e --arg at "$(date -u -d @$((now - 60)) +%FT%TZ)" '.pitr.lastSliceAt == $at' <<<"$output"
	jq -e '.checks[] | select(.name == "pitr") | .status == "WARNING" and (.message | contains("point-in-time restore not possible yet"))' <<<"$output"
	run tv-status --max-oplog-age 30s
	assert_status 2
	assert_output_contains "pitr: newest oplog slice ends $(date -u -d @$((now - 60)) +%FT%TZ)"
	run tv-status -q --prom "$BATS_TEST_TMPDIR/p.prom" --max-oplog-age 5m
	assert_status 1
	grep -qx "tralivali_pitr_last_slice_timestamp_seconds $((now - 60))" "$BATS_TEST_TMPDIR/p.prom"
}

@test "after the timeout the breaker is half-open: tv-status warns, one run probes the store, its failure reopens it" {
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$(tv_free_port)/devstoreaccount1;"
	export BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD=1 BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS=2 TV_RETRY_MAX_SECONDS=1
	run tv-backup -q --collections users
	assert_status 69
	[ "$(tv-state --breaker | jq -r .state)" = open ]
	sleep 2.5
	[ "$(tv-state --breaker | jq -r .state)" = half-open ]
	run tv-status --local
	assert_status 2
	assert_output_contains "WARNING   breaker  half-open: the next run probes the store (1 failed run(s) in a row)"
	run tv-backup --collections users
	assert_status 69
	assert_output_contains "Circuit breaker half-open: trying the blob store once"
	assert_output_contains "tv-blob-ls: checking the container: Failed to connect"
	refute_output_contains "Circuit breaker is open until"
	[ "$(tv-state --breaker | jq -r .state)" = open ]
}

@test "tv-status takes an enabled tralivali-backup.timer for the schedule, where there is no cron entry" {
	command -v systemctl >/dev/null || skip "systemctl is not installed"
	tv-backup -q >/dev/null
	rm "$TV_CRONTAB_FILE"
	mkdir -p "$TV_SYSTEMD_ROOT/etc/systemd/system"
	printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$TV_SYSTEMD_ROOT/etc/systemd/system/tralivali-backup.service"
	printf '[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n' >"$TV_SYSTEMD_ROOT/etc/systemd/system/tralivali-backup.timer"
	run tv-status
	assert_status 1
	assert_output_contains "and tralivali-backup.timer is not enabled (tv-setup enables it)"
	systemctl --root="$TV_SYSTEMD_ROOT" enable tralivali-backup.timer 2>/dev/null
	run tv-status
	assert_status 0
	grep -qE "^OK +timer +tralivali-backup.timer enabled$" <<<"$output"
}
