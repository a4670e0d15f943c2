#!/usr/bin/env bats
# tv-setup (issue 30): writes the environment file and the credential files from flags or standard
# input, checks them as the services will see them against real servers, with tv-status's exit
# codes, and says how to enable the units (systemd does not run the test machine).

bats_require_minimum_version 1.5.0

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
	CONF=$BATS_TEST_TMPDIR/etc/tralivali-backup
	STORE=$BATS_TEST_TMPDIR/store
	mkdir -p "$STORE"
	echo "$MONGODB_URI" >"$BATS_TEST_TMPDIR/uri"
	# Nothing from the test's environment may count: tv-setup checks what the files say.
	export TV_MONGODB_URI=$MONGODB_URI
	unset MONGODB_URI BACKUP_BLOB_STORAGE_CONNECTION_STRING
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export TV_CRONTAB_FILE=$BATS_TEST_TMPDIR/cron
}

# Prints the status column of the check named $1 in the last run's table.
status_of() {
	awk -v n="$1" '$2 == n { print $1; exit }' <<<"$output"
}

setup_ok() {
	echo "file:$STORE" | tv-setup --config-dir "$CONF" --mongodb-uri-file "$BATS_TEST_TMPDIR/uri" \
		--connection-string-file - --container tvsetup --retention-days 14 "$@"
}

@test "writes backup.env and the credentials, checks them: a standalone server is a WARNING (exit 1)" {
	run setup_ok
	assert_status 1
	assert_output_contains "TRALIVALI-BACKUP SETUP WARNING - oplog: standalone server, no oplog"
	[ "$(status_of mongodb)" = OK ]
	[ "$(status_of store)" = OK ]
	[ "$(status_of backup)" = OK ]
	[ "$(status_of mongodb-uri)" = OK ]
	grep -qx 'BACKUP_BLOB_CONTAINER_NAME=tvsetup' "$CONF/backup.env"
	grep -qx 'BACKUP_RETENTION_DAYS=14' "$CONF/backup.env"
	[ "$(cat "$CONF/connection-string")" = "file:$STORE" ]
	cmp "$CONF/mongodb-uri" "$BATS_TEST_TMPDIR/uri"
	[ "$(stat -c %a "$CONF/connection-string")" = 600 ]
	[ "$(stat -c %a "$CONF/mongodb-uri")" = 600 ]
	# Without systemd it prints the command; the PITR service only on a replica set.
	assert_output_contains "  systemctl enable --now tralivali-backup.timer tralivali-rehearse.timer"
	refute_output_contains "tralivali-pitr"
	refute_output_contains "$TV_MONGODB_URI"
}

@test "an edited backup.env keeps its other lines; a commented-out example setting is replaced" {
	mkdir -p "$CONF"
	printf '# mine\nBACKUP_METRICS_FILE=/x.prom\n#BACKUP_RETENTION_DAYS=30\n' >"$CONF/backup.env"
	run setup_ok --no-enable
	[ "$(cat "$CONF/backup.env")" = $'# mine\nBACKUP_METRICS_FILE=/x.prom\nBACKUP_RETENTION_DAYS=14\nBACKUP_BLOB_CONTAINER_NAME=tvsetup' ] ||
		[ "$(cat "$CONF/backup.env")" = $'# mine\nBACKUP_METRICS_FILE=/x.prom\nBACKUP_BLOB_CONTAINER_NAME=tvsetup\nBACKUP_RETENTION_DAYS=14' ]
	refute_output_contains "systemctl"
}

@test "--check: MongoDB unreachable is CRITICAL (exit 2), and nothing is enabled" {
	setup_ok --no-enable || :
	echo "mongodb://127.0.0.1:$(tv_free_port)/tralivali?serverSelectionTimeoutMS=500" >"$CONF/mongodb-uri"
	run tv-setup --config-dir "$CONF" --check
	assert_status 2
	[ "$(status_of mongodb)" = CRITICAL ]
	run setup_ok --mongodb-uri-file "$CONF/mongodb-uri"
	assert_status 2
	assert_output_contains "not enabling the units"
	refute_output_contains "systemctl enable"
}

@test "--check: a missing credential file is CRITICAL; one others may read is a WARNING" {
	setup_ok --no-enable || :
	chmod 0644 "$CONF/mongodb-uri"
	run tv-setup --config-dir "$CONF" --check
	[ "$(status_of mongodb-uri)" = WARNING ]
	assert_output_contains "readable by others than its owner (mode 644"
	rm "$CONF/connection-string"
	run tv-setup --config-dir "$CONF" --check
	assert_status 2
	[ "$(status_of connection-string)" = CRITICAL ]
}

@test "--check: a prune credential that may not delete is a WARNING; a backup one that may not write is CRITICAL" {
	setup_ok --no-enable || :
	echo 'BACKUP_PRUNE_CONNECTION_STRING=BlobEndpoint=http://127.0.0.1:9/a;SharedAccessSignature=sv=2020-08-04&sp=rl&sig=x' >>"$CONF/backup.env"
	run tv-setup --config-dir "$CONF" --check
	[ "$(status_of prune)" = WARNING ]
	assert_output_contains "the credential may not delete"
	[ "$(status_of backup)" = OK ]
	echo 'BlobEndpoint=http://127.0.0.1:9/a;SharedAccessSignature=sv=2020-08-04&sp=rl&sig=x' >"$CONF/connection-string"
	run tv-setup --config-dir "$CONF" --check
	assert_status 2
	[ "$(status_of backup)" = CRITICAL ]
	assert_output_contains "the credential may not write"
	[ "$(status_of store)" = CRITICAL ]
}

@test "--check: an encryption key that is not 32 bytes is CRITICAL" {
	head -c 16 /dev/urandom >"$BATS_TEST_TMPDIR/short.key"
	run setup_ok --no-enable --encryption-key-file "$BATS_TEST_TMPDIR/short.key"
	assert_status 2
	[ "$(status_of encryption)" = CRITICAL ]
	head -c 32 /dev/urandom >"$BATS_TEST_TMPDIR/short.key"
	run tv-setup --config-dir "$CONF" --check
	[ "$(status_of encryption)" = OK ]
}

@test "--check: a cron entry that runs tv-backup too is a WARNING" {
	setup_ok --no-enable || :
	printf '0 3 * * * root /usr/bin/tv-backup --type scheduled\n' >"$TV_CRONTAB_FILE"
	run tv-setup --config-dir "$CONF" --check
	[ "$(status_of cron)" = WARNING ]
	assert_output_contains "$TV_CRONTAB_FILE schedules backups too: remove it (tv-cron-install --remove)"
}

@test "usage errors: a relative directory, settings with --check, two secrets from stdin" {
	run tv-setup --config-dir etc
	assert_status 64
	run tv-setup --config-dir "$CONF" --check --container x
	assert_status 64
	assert_output_contains "--check changes nothing"
	run tv-setup --config-dir "$CONF" --mongodb-uri-file - --connection-string-file -
	assert_status 64
	run tv-setup --mongodb-uri mongodb://u:p@h/db
	assert_status 64
	[ ! -e "$CONF" ]
}

@test "tv-setup and the completion are shellcheck-clean" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	cd "$TV_SRCDIR"
	shellcheck -x -S warning scripts/tv-setup completion/tralivali-backup.bash
}

@test "--check on a replica set is OK (exit 0) and changes nothing" {
	# Last in this file: the server keeps an oplog from here on.
	MONGODB_URI=$TV_MONGODB_URI tv_enable_oplog || skip "this server keeps no oplog"
	MONGODB_URI=$TV_MONGODB_URI "$TV_BUILDDIR/tests/tv-mongo-cmd" '{"insert": "users", "documents": [{"_id": "first"}]}' >/dev/null
	setup_ok --no-enable
	local before
	before=$(ls -l --time-style=+%s.%N "$CONF")
	run tv-setup --config-dir "$CONF" --check
	assert_status 0
	assert_output_contains "TRALIVALI-BACKUP SETUP OK"
	[ "$(status_of oplog)" = OK ]
	[ "$(ls -l --time-style=+%s.%N "$CONF")" = "$before" ]
	run setup_ok
	assert_output_contains "systemctl enable --now tralivali-backup.timer tralivali-rehearse.timer tralivali-pitr.service"
}
