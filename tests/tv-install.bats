#!/usr/bin/env bats
# make install / make uninstall (issue 30): the systemd units, their user and the environment
# file, with the paths given at install time, DESTDIR honoured, and the units systemd accepts.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	# A make run from `make check` must not join its jobserver or inherit its flags.
	unset MAKEFLAGS MFLAGS MAKELEVEL
	if grep -q '^systemdsystemunitdir = no$' "$TV_BUILDDIR/Makefile"; then
		skip "configured --without-systemdsystemunitdir"
	fi
	DEST=$BATS_TEST_TMPDIR/dest
	# Paths given to make install, not to configure: the units must follow them.
	DIRS=(prefix=/opt/tv sysconfdir=/etc/tv systemdsystemunitdir=/opt/tv/units sysusersdir=/opt/tv/sysusers)
	UNITS=(tralivali-api.service tralivali-backup.service tralivali-backup.timer
		tralivali-pitr.service tralivali-rehearse.service tralivali-rehearse.timer)
}

tv_make() {
	make -s -C "$TV_BUILDDIR" --no-print-directory "$@" >/dev/null
}

@test "make install puts the units, with the install-time paths, the user and the example env file under DESTDIR" {
	tv_make install DESTDIR="$DEST" "${DIRS[@]}"
	local u
	for u in "${UNITS[@]}"; do
		[ -f "$DEST/opt/tv/units/$u" ]
	done
	! grep -nE '@[A-Za-z_]+@' "$DEST"/opt/tv/units/*
	grep -qx 'ExecStart=/opt/tv/bin/tv-backup --type scheduled' "$DEST/opt/tv/units/tralivali-backup.service"
	grep -qx 'ExecStart=/opt/tv/bin/tv-pitr --follow' "$DEST/opt/tv/units/tralivali-pitr.service"
	grep -qx 'Restart=always' "$DEST/opt/tv/units/tralivali-pitr.service"
	for u in api backup pitr rehearse; do
		grep -qx 'EnvironmentFile=/etc/tv/tralivali-backup/backup.env' "$DEST/opt/tv/units/tralivali-$u.service"
		grep -qx 'LoadCredential=connection-string:/etc/tv/tralivali-backup/connection-string' \
			"$DEST/opt/tv/units/tralivali-$u.service"
		grep -qx 'User=tralivali-backup' "$DEST/opt/tv/units/tralivali-$u.service"
	done
	grep -qx 'OnCalendar=\*-\*-\* 03:00:00' "$DEST/opt/tv/units/tralivali-backup.timer"
	grep -qx 'u tralivali-backup - "tralivali-backup" /var/lib/tralivali-backup' "$DEST/opt/tv/sysusers/tralivali-backup.conf"
	cmp "$DEST/etc/tv/tralivali-backup/backup.env" "$DEST/etc/tv/tralivali-backup/backup.env.example"
	grep -q '^#BACKUP_ENCRYPTION_KEY_FILE=/etc/tv/tralivali-backup/encryption.key$' "$DEST/etc/tv/tralivali-backup/backup.env"
	[ -x "$DEST/opt/tv/bin/tv-backup" ]
}

@test "make install links the bash completion by every installed command's name, and it completes each" {
	tv_make install DESTDIR="$DEST" "${DIRS[@]}"
	local dir=$DEST/opt/tv/share/bash-completion/completions cmd n=0
	[ -f "$dir/tralivali-backup" ]
	for cmd in "$DEST"/opt/tv/bin/*; do
		cmd=${cmd##*/}
		[ "$(readlink "$dir/$cmd")" = tralivali-backup ]
		run bash -c '. "$1"; complete -p "$2"' complete "$dir/$cmd" "$cmd"
		assert_status 0
		n=$((n + 1))
	done
	[ "$n" -ge 20 ]
}

@test "make install never overwrites the operator's env file; make uninstall leaves it and nothing else" {
	tv_make install DESTDIR="$DEST" "${DIRS[@]}"
	echo 'BACKUP_RETENTION_DAYS=90' >>"$DEST/etc/tv/tralivali-backup/backup.env"
	tv_make install DESTDIR="$DEST" "${DIRS[@]}"
	grep -qx 'BACKUP_RETENTION_DAYS=90' "$DEST/etc/tv/tralivali-backup/backup.env"
	tv_make uninstall DESTDIR="$DEST" "${DIRS[@]}"
	run find "$DEST" ! -type d
	[ "$output" = "$DEST/etc/tv/tralivali-backup/backup.env" ]
}

@test "make uninstall removes an env file still as installed" {
	tv_make install DESTDIR="$DEST" "${DIRS[@]}"
	tv_make uninstall DESTDIR="$DEST" "${DIRS[@]}"
	run find "$DEST" ! -type d
	[ -z "$output" ]
	[ ! -e "$DEST/etc/tv/tralivali-backup" ]
}

# systemd-analyze checks the units offline (systemd need not run): syntax, and that each
# ExecStart= binary exists, so the tools are installed for real, under a prefix of our own.
install_for_systemd() {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (Debian package systemd)"
	ROOT=$BATS_TEST_TMPDIR/root
	tv_make install prefix="$ROOT" systemdsystemunitdir="$ROOT/units" sysusersdir="$ROOT/sysusers"
}

# Runs unit $1's ExecStart= with what systemd would give it, as far as a test can without systemd
# running: nothing of this environment, the unit's Environment= lines overridden by its
# EnvironmentFile=, and its LoadCredential= files copied into the credentials directory (%d).
# The user, the sandbox and the journal are systemd's business, checked by systemd-analyze above.
run_as_unit() {
	local creds=$BATS_TEST_TMPDIR/credentials state=$BATS_TEST_TMPDIR/var/lib line env_file= exec_start=
	local -a env=()
	mkdir -p "$creds" "$state"
	while IFS= read -r line; do
		case $line in
		Environment=*)
			line=${line#Environment=}
			line=${line//%d/$creds}
			env+=("${line//%S/$state}") ;;
		LoadCredential=*)
			line=${line#LoadCredential=}
			cp "${line#*:}" "$creds/${line%%:*}" ;;
		EnvironmentFile=*) env_file=${line#EnvironmentFile=} ;;
		ExecStart=*) exec_start=${line#ExecStart=} ;;
		esac
	done <"$ROOT/units/$1"
	while IFS= read -r line; do
		[[ ! $line =~ ^[A-Z_]+= ]] || env+=("$line")
	done <"$env_file"
	# shellcheck disable=SC2086 # ExecStart= is split into words, as systemd does
	run env -i "${env[@]}" $exec_start
}

@test "systemd-analyze verify accepts every installed unit" {
	install_for_systemd
	cd "$ROOT/units"
	run systemd-analyze verify --man=no "${UNITS[@]/#/./}"
	assert_status 0
	[ -z "$output" ]
}

@test "systemd-analyze verify fails a unit whose tool is missing (the check above can fail)" {
	install_for_systemd
	rm "$ROOT/bin/tv-pitr"
	cd "$ROOT/units"
	run systemd-analyze verify --man=no ./tralivali-pitr.service
	[ "$status" -ne 0 ]
	assert_output_contains "$ROOT/bin/tv-pitr is not executable"
}

@test "systemd-analyze security rates every service's exposure 1.5 or less" {
	install_for_systemd
	cd "$ROOT/units"
	local u score
	for u in "${UNITS[@]}"; do
		[[ $u == *.service ]] || continue
		run systemd-analyze security --offline=true --no-pager "./$u"
		assert_status 0
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' <<<"$output")
		echo "# $u: exposure $score" >&3
		awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 1.5) }'
	done
}

@test "tralivali-backup.service's command, with the unit's environment and credentials, backs up" {
	install_for_systemd
	tv_start_mongo
	tv-gendata -s 7 users 12 | tv-restore -q -c users --drop
	echo "$MONGODB_URI" >"$ROOT/etc/tralivali-backup/mongodb-uri"
	echo "file:$BATS_TEST_TMPDIR/store" >"$ROOT/etc/tralivali-backup/connection-string"
	chmod 0600 "$ROOT"/etc/tralivali-backup/{mongodb-uri,connection-string}
	run_as_unit tralivali-backup.service
	tv_stop_mongo
	assert_status 0
	assert_output_contains "Backing up collection: users"
	assert_output_contains "Exported 12 documents from users"
	assert_output_contains "Backup process completed in"
	[ -f "$BATS_TEST_TMPDIR"/store/backups/backups/*/manifest.json ]
	# Its run record is in the state directory the unit names, StateDirectory=.
	[ -n "$(ls "$BATS_TEST_TMPDIR/var/lib/tralivali-backup/runs")" ]
}
