#!/usr/bin/env bats
# The randomized point-in-time soak (tests/soak/pitr, issue 26): its manual, its usage errors, a
# short run (cron mode, file store) that must pass every round, and proof that it catches a
# restore that is not the recorded state.  The long run (-n 200) is on demand.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	SOAK=$TV_SRCDIR/tests/soak/pitr
}

@test "--help prints the manual on stdout, every option with its default, and exits 0" {
	run --separate-stderr "$SOAK" --help
	assert_status 0
	[ -z "$stderr" ]
	local section option
	for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT EXAMPLES; do
		grep -qx "$section" <<<"$output"
	done
	for option in "-n rounds" "--seed seed" "-m cron|follow" "-s file|azurite" "-e " "-f " "-t targets" "-w writers" "-k " "-v " "-h, --help"; do
		grep -qE "^     $(sed 's/[|]/[|]/g' <<<"$option")" <<<"$output"
	done
	assert_output_contains "(default 10)"
	assert_output_contains "(default cron)"
	assert_output_contains "(default file)"
	assert_output_contains "(default 3)"
	assert_output_contains "     65   At least one round failed."
	assert_output_contains "tests/soak/pitr -n 1 --seed 8127"
}

@test "a bad option or value exits 64 with the usage, before starting anything" {
	run --separate-stderr "$SOAK" -m sometimes
	assert_status 64
	[ -z "$output" ]
	[[ $stderr == *"-m: cron or follow, not sometimes"* ]]
	[[ $stderr == *"usage: tests/soak/pitr [-efkv] [-n rounds]"* ]]
	run --separate-stderr "$SOAK" -n 0
	assert_status 64
	[[ $stderr == *"-n: not a whole number above 0: 0"* ]]
	run --separate-stderr "$SOAK" --seed x1
	assert_status 64
	run --separate-stderr "$SOAK" --frobnicate
	assert_status 64
}

@test "ten rounds in cron mode on a file store: every restore is the recorded state, every refusal right" {
	local t0=$SECONDS
	run --separate-stderr "$SOAK" -n 10
	echo "# $((SECONDS - t0)) s for 10 rounds" >&3
	[ "$status" -eq 0 ] || echo "$output" >&2
	assert_status 0
	[ "$(grep -c '^round .*: passed in ' <<<"$output")" -eq 10 ]
	[ "$(tail -n 1 <<<"$output")" = "10 rounds: 10 passed, 0 failed" ]
}

@test "two rounds with every fault (follow mode, Azurite through toxiproxy, two writers): FerretDB restarted and the store cut under the follower, a restore during the writes, kill -9 of restores" {
	# Open (issue 26 item 10): with two writers on a loaded FerretDB, an entry of the captured
	# database can become visible more than --settle-ms after a later one, and the follower then
	# stops for good with 65 "local.oplog.rs is out of order" (1 round in 4 here).  Until capture
	# survives that, this runs on demand, not as a coin toss in CI.
	[ "${TV_SOAK_FAULTS:-0}" = 1 ] || skip "on demand (TV_SOAK_FAULTS=1): capture still stops on an entry later than --settle-ms (issue 26 item 10)"
	local t0=$SECONDS
	run --separate-stderr "$SOAK" -n 2 -m follow -s azurite -f -w 2 -v
	echo "# $((SECONDS - t0)) s for 2 rounds with faults" >&3
	[ "$status" -eq 0 ] || echo "$output" >&2
	assert_status 0
	[ "$(grep -c '^round .*: passed in ' <<<"$output")" -eq 2 ]
	# Each fault happened, each round: the restart and the cut ridden out, the restore during
	# the writes proven exact.
	[ "$(grep -c 'FerretDB is back; the follower rides on' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'store back; the follower rides on' <<<"$output")" -eq 2 ]
	# A round whose points all fell where the recorder has no exact state has no restore to
	# compare during its writes, and says so; most have one.
	local exact
	exact=$(grep -c 'the restore made during the writes is exact' <<<"$output" || true)
	[ "$exact" -ge 1 ]
	[ "$((exact + $(grep -c 'no point with a recorded state yet: no restore during the writes before batch' <<<"$output" || true)))" -ge 2 ]
	[ "$(tail -n 1 <<<"$output")" = "2 rounds: 2 passed, 0 failed" ]
}

@test "a restore that is not the recorded state fails its round: exit 65, the difference, the command that reproduces it" {
	# A build tree whose tv-restore plants one document more in every staging collection of
	# messages: tv-recover's restores are then one document off.
	local fake=$BATS_TEST_TMPDIR/build
	mkdir -p "$fake/tools"
	ln -s "$TV_BUILDDIR/tests" "$fake/tests"
	ln -s "$TV_BUILDDIR"/tools/* "$fake/tools/"
	rm "$fake/tools/tv-restore"
	cat >"$fake/tools/tv-restore" <<EOF
#!/usr/bin/env bash
"$TV_BUILDDIR/tools/tv-restore" "\$@" || exit
db= into= c=
while [ \$# -gt 0 ]; do
	case \$1 in -d) db=\$2 ;; --into) into=\$2 ;; -c) c=\$2 ;; esac
	shift
done
[ -n "\$into" ] && [ "\$c" = messages ] || exit 0
"$TV_BUILDDIR/tests/tv-mongo-cmd" -d "\$db" '{"insert": "'"\$into"'", "documents": [{"_id": "planted"}]}' >/dev/null
EOF
	chmod +x "$fake/tools/tv-restore"
	run --separate-stderr env TV_BUILDDIR="$fake" "$SOAK" -n 1 --seed 1
	assert_status 65
	assert_output_contains "round 1 (seed 1): FAILED after "
	assert_output_contains 'messages: 0 recorded document(s) not restored, 1 restored not recorded (first: "planted")'
	assert_output_contains "1 rounds: 0 passed, 1 failed"
	[ "$(tail -n 1 <<<"$output")" = "reproduce: tests/soak/pitr -n 1 --seed 1 -m cron -s file" ]
}
