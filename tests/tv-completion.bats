#!/usr/bin/env bats
# Bash completion (issue 30): options from each command's --help, recovery-point folders and
# collection names from tv-list, against a real store holding two backups.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_FILE_TMPDIR/store BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_FILE_TMPDIR/state BACKUP_RETENTION_DAYS=100000
	tv-gendata -s 7 users 5 | tv-restore -q -c users --drop
	tv-gendata -s 7 messages 5 | tv-restore -q -c messages --drop
	TV_NOW=2024-01-15T03:00:00Z tv-backup -q
	TV_NOW=2024-01-15T15:30:00Z tv-backup -q
}

teardown_file() {
	load lib/common
	tv_stop_mongo
}

setup() {
	load lib/common
}

# Completes the command line "$@" (the last word is the one being completed) and prints
# COMPREPLY, one a line, sorted.
complete_words() {
	bash -c '
		. "$TV_SRCDIR/completion/tralivali-backup.bash"
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_tralivali_backup
		printf "%s\n" "${COMPREPLY[@]}" | sort' complete "$@"
}

@test "options come from the command's --help" {
	run complete_words tv-recover --co
	assert_status 0
	[ "$output" = "--collections" ]
	run complete_words tv-blob-ls --c
	[ "$output" = $'--can\n--container-exists' ]
	run complete_words tv-export -
	assert_output_contains "--metadata"
	assert_output_contains "-c"
}

@test "a manual page as --help: only its SYNOPSIS's options; grouped flags one by one" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/tv-paged" <<-'EOF'
	#!/bin/sh
	printf 'NAME\n     tv-paged - a page\nSYNOPSIS\n     tv-paged [-qv] [--alpha n] | --beta\n'
	printf 'DESCRIPTION\n     Like tv-other --gamma, with -z.\n'
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-paged"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run complete_words tv-paged -
	[ "$output" = $'--alpha\n--beta\n-q\n-v' ]
}

@test "the folder of every recovery point completes tv-recover, tv-verify and tv-rehearse" {
	# The folders as tv-list names them (with or without the trailing slash).
	local c
	for c in tv-recover tv-verify tv-rehearse; do
		run complete_words "$c" ''
		[[ $output =~ ^backups/2024-01-15/?$'\n'backups/2024-01-15T153000Z/?$ ]]
	done
	run complete_words tv-recover -q backups/2024-01-15T
	[[ $output =~ ^backups/2024-01-15T153000Z/?$ ]]
}

@test "collection names complete --collections, also after a comma, and -c" {
	run complete_words tv-recover backups/2024-01-15/ --collections ''
	[ "$output" = $'messages\nusers' ]
	run complete_words tv-recover --collections users,m
	[ "$output" = "users,messages" ]
	run complete_words tv-export -c u
	[ "$output" = "users" ]
}

@test "fixed values complete --role and --can; files complete --env-file" {
	run complete_words tv-blob-ls --role r
	[ "$output" = "restore" ]
	run complete_words tv-blob-ls --can
	[ "$output" = "--can" ]
	run complete_words tv-blob-ls --can ''
	[ "$output" = $'delete\nlist\nread\nwrite' ]
	touch "$BATS_TEST_TMPDIR/backup.env"
	run complete_words tv-status --env-file "$BATS_TEST_TMPDIR/back"
	[ "$output" = "$BATS_TEST_TMPDIR/backup.env" ]
	run complete_words tv-setup --connection-string-file "$BATS_TEST_TMPDIR/back"
	[ "$output" = "$BATS_TEST_TMPDIR/backup.env" ]
	run complete_words tv-setup --config-dir "$BATS_TEST_TMPDIR/back"
	[ -z "$output" ]
}

@test "no store, no folders, and no error" {
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/none run complete_words tv-verify ''
	assert_status 0
	[ -z "$output" ]
}
