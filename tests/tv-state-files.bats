#!/usr/bin/env bats
# State and lock files never follow symbolic links: a link planted where one belongs must not
# make a tool create, truncate or rewrite the file it points to.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	mkdir -m 700 -p "$BACKUP_STATE_DIR"
	VICTIM=$BATS_TEST_TMPDIR/victim
	printf 'precious\n' >"$VICTIM"
}

# Runs tv_lock from tv-lib.sh as a flow would, then prints the lock file's owner line.
lock() {
	bash -c '. "$TV_SRCDIR/scripts/tv-lib.sh"; tv_lock || exit; cat "$BACKUP_STATE_DIR/tralivali-backup.lock.owner"'
}

@test "the lock's owner names the flow, its pid, the host and since when; a busy lock names its holder" {
	run lock
	assert_status 0
	[[ $output =~ ^bash\ pid\ [0-9]+\ on\ $(uname -n)\ since\ [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]]
	# Another host's run holds it (a state directory shared on NFS): the refusal names that host.
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock -n 8
	echo "tv-backup pid 4242 on otherhost since 2024-01-15T03:00:00Z" >"$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	run bash -c '. "$TV_SRCDIR/scripts/tv-lib.sh"; tv_lock'
	exec 8>&-
	assert_status 75
	assert_output_contains "held by tv-backup pid 4242 on otherhost since 2024-01-15T03:00:00Z"
}

@test "the run lock refuses a lock file that is a symbolic link, and leaves its target alone" {
	ln -s "$VICTIM" "$BACKUP_STATE_DIR/tralivali-backup.lock"
	run lock
	assert_status 77
	assert_output_contains "refusing to use the lock file $BACKUP_STATE_DIR/tralivali-backup.lock: it is a symbolic link"
	[ "$(cat "$VICTIM")" = precious ]
}

@test "the run lock refuses a link to a file that does not exist yet, and creates nothing" {
	ln -s "$BATS_TEST_TMPDIR/created" "$BACKUP_STATE_DIR/tralivali-backup.lock"
	run lock
	assert_status 77
	[ ! -e "$BATS_TEST_TMPDIR/created" ]
}

@test "the lock's owner record replaces a planted link instead of writing through it" {
	ln -s "$VICTIM" "$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	run lock
	assert_status 0
	[[ $output == "bash pid "* ]]
	[ ! -L "$BACKUP_STATE_DIR/tralivali-backup.lock.owner" ]
	[ "$(cat "$VICTIM")" = precious ]
}

@test "a busy lock never prints a file through a planted owner link" {
	printf 'top secret\n' >"$BATS_TEST_TMPDIR/secret"
	exec 8>>"$BACKUP_STATE_DIR/tralivali-backup.lock"
	flock 8
	ln -s "$BATS_TEST_TMPDIR/secret" "$BACKUP_STATE_DIR/tralivali-backup.lock.owner"
	run lock
	exec 8>&-
	assert_status 75
	assert_output_contains "held by unknown"
	refute_output_contains "top secret"
}

@test "the circuit breaker never writes its state through a symbolic link" {
	ln -s "$VICTIM" "$BACKUP_STATE_DIR/blob-circuit-breaker"
	# An Azure store nothing answers for: the failed run records itself in the breaker.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=http://127.0.0.1:$(tv_free_port)/a;SharedAccessSignature=sv=1&sig=x"
	run env TV_RETRY_MAX_SECONDS=0 tv-blob-ls
	assert_status 69
	assert_output_contains "blob-circuit-breaker: a symbolic link, not followed: circuit breaker disabled"
	[ "$(cat "$VICTIM")" = precious ]
	[ -L "$BACKUP_STATE_DIR/blob-circuit-breaker" ]
}

@test "tv-state --env-file reads the environment file the flows read; a missing one is 66, a bad line 64" {
	printf '# the service'"'"'s settings\nBACKUP_STATE_DIR="%s/elsewhere"\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/env"
	run --separate-stderr tv-state --env-file "$BATS_TEST_TMPDIR/env" --dir
	assert_status 0
	[ "$output" = "$BATS_TEST_TMPDIR/elsewhere" ]
	run --separate-stderr tv-state --env-file "$BATS_TEST_TMPDIR/none" --dir
	assert_status 66
	[[ $stderr == *"cannot read environment file $BATS_TEST_TMPDIR/none"* ]]
	echo 'not a line' >"$BATS_TEST_TMPDIR/bad"
	run --separate-stderr tv-state --env-file "$BATS_TEST_TMPDIR/bad" --dir
	assert_status 64
	[[ $stderr == *"$BATS_TEST_TMPDIR/bad:1: not KEY=VALUE"* ]]
}

@test "a state directory the tools create is 0700 and what they write in it 0600; an open one is used, with one warning" {
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/new/state
	run --separate-stderr lock
	assert_status 0
	[ -z "$stderr" ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/new" "$BACKUP_STATE_DIR")" = "$(printf '700\n700')" ]
	[ "$(stat -c %a "$BACKUP_STATE_DIR/tralivali-backup.lock" "$BACKUP_STATE_DIR/tralivali-backup.lock.owner")" = "$(printf '600\n600')" ]
	echo '{"kind":"backup","id":"r1","start":"2024-01-15T03:00:00Z"}' | tv-state -q --save-run -
	[ "$(find "$BACKUP_STATE_DIR/runs" -type d -printf '%m\n' | sort -u)" = 700 ]
	[ "$(find "$BACKUP_STATE_DIR/runs" -type f -printf '%m\n')" = 600 ]
	chmod 755 "$BACKUP_STATE_DIR"
	run --separate-stderr tv-state --dir
	assert_status 0
	[ "$output" = "$BACKUP_STATE_DIR" ]
	[ "$(grep -c "state directory $BACKUP_STATE_DIR has mode 0755: others may read its run records and lock; chmod 700 $BACKUP_STATE_DIR" <<<"$stderr")" = 1 ]
}
