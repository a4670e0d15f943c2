#!/usr/bin/env bats
# tv-cron-install writes, rewrites only when asked something new, and removes the cron entry.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	export TV_CRONTAB_FILE="$BATS_TEST_TMPDIR/cron.d/tralivali-backup"
	ENV_FILE="$BATS_TEST_TMPDIR/environment"
	echo 'MONGODB_URI=mongodb://127.0.0.1:27017/tralivali' >"$ENV_FILE"
	unset BACKUP_CRON_SCHEDULE
}

@test "installs an entry that runs tv-backup at 03:00 UTC with the environment file" {
	run tv-cron-install --env-file "$ENV_FILE"
	assert_status 0
	assert_output_contains "Installed the backup schedule: $TV_CRONTAB_FILE (0 3 * * * UTC"
	grep -qx 'CRON_TZ=UTC' "$TV_CRONTAB_FILE"
	grep -qxE "0 3 \* \* \* root /[^ ]*/tv-backup --type scheduled --env-file $ENV_FILE >>/var/log/tralivali-backup.log 2>&1" "$TV_CRONTAB_FILE"
	[ "$(grep -cvE '^(#|$)' "$TV_CRONTAB_FILE")" -eq 4 ]
}

@test "the entry's PATH finds tv-backup" {
	tv-cron-install --env-file "$ENV_FILE"
	local path
	path=$(sed -n 's/^PATH=//p' "$TV_CRONTAB_FILE")
	PATH=$path command -v tv-backup
}

@test "installing the same entry twice leaves the file untouched" {
	tv-cron-install --env-file "$ENV_FILE"
	touch -d '2020-01-01' "$TV_CRONTAB_FILE"
	run tv-cron-install --env-file "$ENV_FILE"
	assert_status 0
	assert_output_contains "Backup schedule already installed"
	[ "$(stat -c %Y "$TV_CRONTAB_FILE")" -eq "$(date -d 2020-01-01 +%s)" ]
}

@test "a new schedule replaces the entry instead of adding a second one" {
	tv-cron-install --env-file "$ENV_FILE"
	run tv-cron-install --env-file "$ENV_FILE" --schedule '30 1 * * mon-fri'
	assert_status 0
	[ "$(grep -c 'tv-backup' "$TV_CRONTAB_FILE")" -eq 1 ]
	grep -q '^30 1 \* \* mon-fri root ' "$TV_CRONTAB_FILE"
}

@test "the schedule defaults to BACKUP_CRON_SCHEDULE" {
	BACKUP_CRON_SCHEDULE='15 2 * * *' run tv-cron-install --env-file "$ENV_FILE"
	assert_status 0
	grep -q '^15 2 \* \* \* root ' "$TV_CRONTAB_FILE"
}

@test "--syslog sends the run's output to logger" {
	run tv-cron-install --env-file "$ENV_FILE" --syslog
	assert_status 0
	grep -q '2>&1 | logger -t tralivali-backup$' "$TV_CRONTAB_FILE"
}

@test "cron's own parser accepts the entry" {
	tv-cron-install --env-file "$ENV_FILE" --schedule '*/15 1-3 1,15 jan-jun 0-7'
	# crontab -n checks user crontabs, which lack the user field: check the line without it.
	sed 's/ root / /' "$TV_CRONTAB_FILE" >"$BATS_TEST_TMPDIR/user.cron"
	run crontab -n "$BATS_TEST_TMPDIR/user.cron"
	assert_status 0
	# And it is a checker that can fail.
	echo '61 * * * * /bin/true' >"$BATS_TEST_TMPDIR/bad.cron"
	run crontab -n "$BATS_TEST_TMPDIR/bad.cron"
	[ "$status" -ne 0 ]
}

@test "--remove deletes the entry, and says so when there is none" {
	tv-cron-install --env-file "$ENV_FILE"
	run tv-cron-install --remove
	assert_status 0
	assert_output_contains "Removed the backup schedule: $TV_CRONTAB_FILE"
	[ ! -e "$TV_CRONTAB_FILE" ]
	run tv-cron-install --remove
	assert_status 0
	assert_output_contains "No backup schedule installed"
}

@test "valid cron expressions are accepted: steps, ranges, lists, names, shorthands" {
	for s in '0 3 * * *' '*/5 * * * *' '0-30/10 0,12 1-15 */2 *' '0 3 1 jan,jul sun' '0 3 * * MON-FRI' '59 23 31 12 7' '@daily' '@hourly'; do
		run tv-cron-install --env-file "$ENV_FILE" --schedule "$s"
		assert_status 0
	done
}

@test "invalid cron expressions are refused with exit 64 and the field named" {
	local -A bad=(
		['0 3 * *']='has 5 fields'
		['0 3 * * * *']='has 5 fields'
		['60 3 * * *']='bad minute field'
		['0 24 * * *']='bad hour field'
		['0 3 0 * *']='bad day-of-month field'
		['0 3 32 * *']='bad day-of-month field'
		['0 3 * 13 *']='bad month field'
		['0 3 * foo *']='bad month field'
		['0 3 * * 8']='bad day-of-week field'
		['*/0 * * * *']='bad minute field'
		['5-1 * * * *']='bad minute field'
		['1,,2 * * * *']='bad minute field'
		['0 3 * * mon-']='bad day-of-week field'
		['@sometimes']='has 5 fields'
	)
	local s
	for s in "${!bad[@]}"; do
		run tv-cron-install --env-file "$ENV_FILE" --schedule "$s"
		assert_status 64
		assert_output_contains "${bad[$s]}"
	done
	[ ! -e "$TV_CRONTAB_FILE" ]
}

@test "a relative environment file path is refused" {
	run tv-cron-install --env-file environment
	assert_status 64
	assert_output_contains "give an absolute path"
}

@test "an --env-file or --log path a shell or cron would interpret is refused with 64, nothing installed" {
	local pwned=$BATS_TEST_TMPDIR/pwned p
	local payloads=(
		"/tmp/x;touch $pwned"
		"/tmp/x|touch $pwned"
		"/tmp/x&touch $pwned"
		"/tmp/\$(touch $pwned)"
		"/tmp/\`touch $pwned\`"
		"/tmp/x>$pwned"
		"/tmp/x<$pwned"
		"/tmp/x'y"
		'/tmp/x"y'
		'/tmp/x\y'
		'/tmp/x%y'
		'/tmp/x y'
		$'/tmp/x\ttouch'
		$'/tmp/x\n* * * * * root touch /tmp/pwned'
	)
	for p in "${payloads[@]}"; do
		run tv-cron-install --env-file "$p"
		assert_status 64
		assert_output_contains "refusing a path with characters a shell or cron would interpret"
		run tv-cron-install --env-file "$ENV_FILE" --log "$p"
		assert_status 64
		[ ! -e "$TV_CRONTAB_FILE" ]
	done
	[ ! -e "$pwned" ]
}

@test "the installed line, run by cron's shell, runs tv-backup with the paths as given" {
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/args"\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/bin/tv-backup"
	chmod +x "$BATS_TEST_TMPDIR/bin/tv-backup"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH tv-cron-install --env-file "$ENV_FILE" --log "$BATS_TEST_TMPDIR/a,b:c@d=e+f.log"
	# Field 7 onwards of the entry is the command cron hands to SHELL.
	bash -c "$(grep tv-backup "$TV_CRONTAB_FILE" | cut -d' ' -f7-)"
	[ "$(cat "$BATS_TEST_TMPDIR/args")" = "$(printf '%s\n' --type scheduled --env-file "$ENV_FILE")" ]
	[ -f "$BATS_TEST_TMPDIR/a,b:c@d=e+f.log" ]
}

@test "--help prints the usage on stdout and exits 0" {
	run --separate-stderr tv-cron-install --help
	assert_status 0
	[[ $output == "usage: tv-cron-install "* ]]
	[ -z "$stderr" ]
}
