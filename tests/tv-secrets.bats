#!/usr/bin/env bats
# Secrets reach only the processes that use them: MONGODB_URI the MongoDB tools, the connection
# strings the blob tools, neither tv-gzip nor jq.  Fake tools on PATH record their environment.

bats_require_minimum_version 1.5.0

URI_SECRET=uri-secret-4711
STORE_SECRET=store-secret-0815

setup_file() {
	load lib/common
	tv_start_mongo
	tv-gendata -s 7 invites 5 | tv-restore -q -c invites --drop
}

teardown_file() {
	load lib/common
	tv_stop_mongo
}

setup() {
	load lib/common
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_CONTAINER_NAME=backups BACKUP_RETENTION_DAYS=100000
	# The secrets ride along where the tools ignore them: a URI option and an unused store string.
	export MONGODB_URI="$MONGODB_URI?appName=$URI_SECRET"
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/store
	export BACKUP_PRUNE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/$STORE_SECRET
	DUMPS=$BATS_TEST_TMPDIR/env
	mkdir -p "$DUMPS" "$BATS_TEST_TMPDIR/bin"
	local t real
	for t in tv-gzip jq tv-export tv-blob-put tv-blob-ls tv-blob-get; do
		real=$(command -v "$t")
		printf '#!/bin/sh\nenv >>"%s/%s"\nexec "%s" "$@"\n' "$DUMPS" "$t" "$real" >"$BATS_TEST_TMPDIR/bin/$t"
		chmod +x "$BATS_TEST_TMPDIR/bin/$t"
	done
	export PATH=$BATS_TEST_TMPDIR/bin:$PATH
}

@test "a backup hands MONGODB_URI only to tv-export and the store strings only to the blob tools" {
	run --separate-stderr env TV_NOW=2024-01-15T03:00:00Z tv-backup -q --collections invites
	assert_status 0
	local t
	for t in tv-gzip jq tv-export tv-blob-put tv-blob-ls; do
		[ -s "$DUMPS/$t" ] || { echo "$t did not run" >&2; return 1; }
	done
	for t in tv-gzip jq; do
		! grep -q -e "$URI_SECRET" -e "$STORE_SECRET" -e CONNECTION_STRING -e MONGODB_URI "$DUMPS/$t" ||
			{ echo "a secret reached $t" >&2; return 1; }
	done
	grep -q "^MONGODB_URI=.*$URI_SECRET" "$DUMPS/tv-export"
	! grep -q -e "$STORE_SECRET" -e CONNECTION_STRING "$DUMPS/tv-export"
	for t in tv-blob-put tv-blob-ls; do
		grep -q "^BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:" "$DUMPS/$t"
		! grep -q -e "$URI_SECRET" -e MONGODB_URI "$DUMPS/$t" || { echo "MONGODB_URI reached $t" >&2; return 1; }
	done
}

@test "secrets from --env-file are scoped the same way" {
	printf 'MONGODB_URI=%s\nBACKUP_BLOB_STORAGE_CONNECTION_STRING=%s\n' "$MONGODB_URI" \
		"$BACKUP_BLOB_STORAGE_CONNECTION_STRING" >"$BATS_TEST_TMPDIR/environment"
	run --separate-stderr env -u MONGODB_URI -u BACKUP_BLOB_STORAGE_CONNECTION_STRING TV_NOW=2024-01-16T03:00:00Z \
		tv-backup -q --collections invites --env-file "$BATS_TEST_TMPDIR/environment"
	assert_status 0
	grep -q "^MONGODB_URI=.*$URI_SECRET" "$DUMPS/tv-export"
	! grep -q -e "$URI_SECRET" -e MONGODB_URI -e CONNECTION_STRING "$DUMPS/tv-gzip"
	! grep -q -e "$URI_SECRET" -e MONGODB_URI "$DUMPS/tv-blob-put"
}

@test "the *_FILE forms stay in the environment: they are paths, not secrets" {
	printf '%s' "$BACKUP_BLOB_STORAGE_CONNECTION_STRING" >"$BATS_TEST_TMPDIR/cs"
	run --separate-stderr env -u BACKUP_BLOB_STORAGE_CONNECTION_STRING \
		BACKUP_BLOB_STORAGE_CONNECTION_STRING_FILE="$BATS_TEST_TMPDIR/cs" TV_NOW=2024-01-17T03:00:00Z \
		tv-backup -q --collections invites
	assert_status 0
	grep -q "^BACKUP_BLOB_STORAGE_CONNECTION_STRING_FILE=$BATS_TEST_TMPDIR/cs$" "$DUMPS/tv-blob-put"
	! grep -q "^BACKUP_BLOB_STORAGE_CONNECTION_STRING=" "$DUMPS/tv-gzip"
}

@test "a tool that is not installed stays unknown to command -v after tv-lib.sh" {
	run env PATH=/usr/bin:/bin bash -c '. "$TV_SRCDIR/scripts/tv-lib.sh"; command -v tv-oplog || echo absent'
	assert_status 0
	[ "$output" = absent ]
	run bash -c '. "$TV_SRCDIR/scripts/tv-lib.sh"; type -t tv-export; type -t tv-gzip'
	[ "$output" = "$(printf 'function\nfile')" ]
}

@test "a tool a flow starts in the background stops when the flow signals it" {
	# The fake tool finishes its work (the marker) unless the TERM the flow sends reaches it.
	printf '#!/bin/bash\ntrap "exit 143" TERM\nsleep 2 & wait\ntouch "%s/finished"\n' "$BATS_TEST_TMPDIR" \
		>"$BATS_TEST_TMPDIR/bin/tv-restore"
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-restore"
	run bash -c '. "$TV_SRCDIR/scripts/tv-lib.sh"; tv-restore & p=$!; sleep 0.5; kill -TERM "$p"; wait "$p"'
	assert_status 143
	sleep 2.5
	[ ! -e "$BATS_TEST_TMPDIR/finished" ]
}

@test "a MongoDB URI with more than one '@' before its host is refused without being shown; the driver's messages never quote its password" {
	local uri cmd
	openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout -out "$BATS_TEST_TMPDIR/ec.pub" 2>/dev/null
	for cmd in "tv-export -c users" "tv-api --listen 127.0.0.1:1"; do
		# shellcheck disable=SC2086
		run --separate-stderr env MONGODB_URI='mongodb://backup:hunter2@Secret-Tail@127.0.0.1:1/db' \
			BACKUP_API_JWT_PUBLIC_KEY_FILE="$BATS_TEST_TMPDIR/ec.pub" timeout 20 $cmd
		assert_status 64
		[[ $stderr == *"the MongoDB URI holds more than one '@' before its host"*"write a '@' in the user name or password as %40"* ]]
		! grep -qi -e hunter2 -e secret-tail <<<"$stderr$output"
	done
	# The driver quotes a password with a raw ':' whole in its refusal.
	for uri in 'mongodb://backup:pa:ss-Tail1@127.0.0.1:1/db' 'mongodb://backup:pa%3Ass-Tail1@127.0.0.1:1/db'; do
		run --separate-stderr env MONGODB_URI="$uri" timeout 20 tv-export -c users
		[ "$status" -ne 0 ]
		! grep -qi -e 'ss-Tail1' -e 'pa:ss' <<<"$stderr"
	done
	[[ $stderr == *"mongodb://backup:***@127.0.0.1:1/db"* ]]
}
