#!/usr/bin/env bats
# The Debian package (issue 30): built with dpkg-buildpackage, installed into this machine,
# used, removed.  Not part of make check (it installs system-wide, as root): .ci/run runs it.
# teardown_file purges the package whatever failed, so a failed run leaves nothing installed.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	[ "$(id -u)" -eq 0 ] || skip "installs a package: run as root"
	command -v dh >/dev/null || skip "debhelper is not installed"
	[ -d "$TV_SRCDIR/.git" ] || [ -f "$TV_SRCDIR/.git" ] || skip "builds from a git checkout"
	! dpkg -s tralivali-backup >/dev/null 2>&1 || skip "tralivali-backup is installed already"
	# The package is built from the checkout's files (committed or not), not from its build trees.
	mkdir "$BATS_FILE_TMPDIR/src"
	git -C "$TV_SRCDIR" ls-files -co --exclude-standard -z |
		(cd "$TV_SRCDIR" && tar --null -cf - -T -) | tar -xf - -C "$BATS_FILE_TMPDIR/src"
	(cd "$BATS_FILE_TMPDIR/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) \
		>"$BATS_FILE_TMPDIR/build.log" 2>&1 || { tail -30 "$BATS_FILE_TMPDIR/build.log" >&3; return 1; }
	DEB=$(echo "$BATS_FILE_TMPDIR"/tralivali-backup_*_*.deb)
	export DEB
}

teardown_file() {
	dpkg -P tralivali-backup >/dev/null 2>&1 || :
}

setup() {
	load lib/common
	[ -n "${DEB:-}" ] || skip "no package built"
}

# The installed commands alone: no build tree, no test helper on PATH.
installed() {
	env PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

@test "lintian finds nothing not explained in debian/*lintian-overrides" {
	command -v lintian >/dev/null || skip "lintian is not installed"
	run lintian --fail-on error,warning "$DEB"
	assert_status 0
}

@test "dpkg -i installs the tools, the units disabled, the user and the env file as a conffile" {
	run dpkg -i "$DEB"
	assert_status 0
	run installed tv-status --help
	assert_status 0
	assert_output_contains "usage: tv-status"
	run installed tv-setup --help
	assert_status 0
	# The installed pages are compressed: --help still shows the whole page, flows and C tools alike.
	run installed tv-export --help
	assert_status 0
	assert_output_contains "TV-EXPORT(1)"
	[ "$(printf '%s\n' "$output" | wc -l)" -ge 15 ]
	run installed tv-status --help
	assert_output_contains "TV-STATUS(8)"
	[ -L /usr/share/bash-completion/completions/tv-setup ]
	[ -f /lib/systemd/system/tralivali-backup.timer ]
	[ ! -e /etc/systemd/system/timers.target.wants/tralivali-backup.timer ]
	getent passwd tralivali-backup
	grep -qx /etc/tralivali-backup/backup.env /var/lib/dpkg/info/tralivali-backup.conffiles
	[ "$(stat -c %U:%G:%a /etc/tralivali-backup)" = root:tralivali-backup:750 ]
}

@test "the installed tv-backup backs up the test server, as the service would" {
	dpkg -s tralivali-backup >/dev/null 2>&1 || dpkg -i "$DEB" >/dev/null
	tv_start_mongo
	tv-gendata -s 7 users 20 | tv-restore -q -c users --drop
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$BATS_TEST_TMPDIR/store BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state \
		run installed tv-backup --env-file /etc/tralivali-backup/backup.env
	tv_stop_mongo
	assert_status 0
	assert_output_contains "Exported 20 documents from users"
	assert_output_contains "Backup process completed in"
	[ -f "$BATS_TEST_TMPDIR"/store/backups/backups/*/manifest.json ]
}

@test "dpkg -r leaves only the configuration; dpkg -P leaves nothing" {
	dpkg -s tralivali-backup >/dev/null 2>&1 || dpkg -i "$DEB" >/dev/null
	run dpkg -r tralivali-backup
	assert_status 0
	# Of every file the package holds, only the conffiles remain.
	local f left=()
	while IFS= read -r f; do
		f=${f#.}
		[ -z "$f" ] || [ -d "$f" ] || { [ ! -e "$f" ] && [ ! -L "$f" ]; } || left+=("$f")
	done < <(dpkg-deb --fsys-tarfile "$DEB" | tar -t)
	[ "${left[*]}" = "/etc/tralivali-backup/backup.env /etc/tralivali-backup/backup.env.example" ]
	run dpkg -P tralivali-backup
	assert_status 0
	[ ! -e /etc/tralivali-backup ]
	[ ! -e /var/lib/tralivali-backup ]
}
