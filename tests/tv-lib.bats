#!/usr/bin/env bats
# tv-lib.sh, the flows' shared shell code: the helpers that decide for every flow, tested alone.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	# shellcheck source=scripts/tv-lib.sh
	. "$TV_SRCDIR/scripts/tv-lib.sh"
}

# Each case: stages | the reader that stopped on purpose | statuses | verdict status | message.
VERDICTS=(
	"tv-export tv-gzip tv-blob-put||0 0 0|0|"
	"tv-export tv-gzip tv-blob-put||69 141 0|69|tv-export failed (exit 69: service unavailable)"
	"tv-export tv-gzip tv-blob-put||0 0 77|77|tv-blob-put failed (exit 77: permission denied)"
	"tv-export tv-gzip tv-blob-put||141 141 74|74|tv-blob-put failed (exit 74: I/O error)"
	"cat tv-gzip||65 65|65|cat failed (exit 65: bad input data)"
	"tv-gzip tv-restore||0 65|65|tv-restore failed (exit 65: bad input data)"
	"tv-gzip tv-restore||141 0|74|tv-gzip was cut off (SIGPIPE): tv-restore stopped reading before the end of its input"
	"oplog-reader tv-replay|tv-replay|141 0|0|"
	"oplog-reader tv-replay|tv-replay|0 0|0|"
	"oplog-reader tv-replay||141 0|74|oplog-reader was cut off (SIGPIPE): tv-replay stopped reading before the end of its input"
	"oplog-reader tv-replay|tv-replay|65 0|65|oplog-reader failed (exit 65: bad input data)"
	"oplog-reader tv-replay|tv-replay|141 65|65|tv-replay failed (exit 65: bad input data)"
	"tv-crypt tv-gzip tv-replay|tv-replay|141 141 0|0|"
	"tv-export tv-gzip tv-blob-put||0 137 0|75|tv-gzip was killed by signal 9 (KILL) (exit 137)"
	"tv-export tv-gzip tv-blob-put||0 0 143|75|tv-blob-put was killed by signal 15 (TERM) (exit 143)"
	"tv-blob-ls tv-prune||127 0|69|tv-blob-ls could not be run (exit 127: not found or not executable)"
	"sha256sum tee||1 0|74|sha256sum failed (exit 1)"
	"a b||0 0 65|65|stage 3 failed (exit 65: bad input data)"
)

@test "tv_pipe_verdict: each table case gives its status and message" {
	local row names reader statuses want_status want_message verdict
	for row in "${VERDICTS[@]}"; do
		IFS='|' read -r names reader statuses want_status want_message <<<"$row"
		# shellcheck disable=SC2086 # the statuses are words
		verdict=$(tv_pipe_verdict "$names" "$reader" $statuses)
		[ "$verdict" = "$want_status"$'\t'"$want_message" ] || {
			echo "case [$row]: got [$verdict]" >&2
			return 1
		}
	done
}

@test "tv_pipe_judge sets the verdict in the calling shell and returns its status" {
	run tv_pipe_judge "tv-gzip tv-restore" "" 0 65
	[ "$status" -eq 65 ]
	tv_pipe_judge "tv-gzip tv-restore" "" 0 0
	[ "$TV_VERDICT" -eq 0 ] && [ -z "$TV_VERDICT_WHY" ]
	tv_pipe_judge "tv-gzip tv-restore" "" 141 0 || true
	[ "$TV_VERDICT" -eq 74 ]
	[[ $TV_VERDICT_WHY == "tv-gzip was cut off (SIGPIPE)"* ]]
}

@test "a real pipeline whose reader stops early: a head-like reader that had what it wanted is no failure" {
	local status=0
	# As in the flows.
	set -o pipefail
	yes | head -c 1000000 | head -c 10 >/dev/null || tv_pipe_judge "yes head head" "head" "${PIPESTATUS[@]}" || status=$?
	[ "$status" -eq 0 ]
	status=0
	# The same writer, cut off by a reader not said to stop on purpose: a failure naming both.
	yes | head -c 10 >/dev/null || tv_pipe_judge "yes first-bytes" "" "${PIPESTATUS[@]}" || status=$?
	[ "$status" -eq 74 ]
	[ "$TV_VERDICT_WHY" = "yes was cut off (SIGPIPE): first-bytes stopped reading before the end of its input" ]
}

@test "tv_first_error names the first error line of the logs, or says none was logged" {
	printf '[2026-01-01 00:00:00 INF] fine\n' >"$BATS_TEST_TMPDIR/a.log"
	printf '[2026-01-01 00:00:01 ERR] tv-export: cannot reach MongoDB at 127.0.0.1:9: connection refused\n[2026-01-01 00:00:02 ERR] second\n' >"$BATS_TEST_TMPDIR/b.log"
	[ "$(tv_first_error "$BATS_TEST_TMPDIR/a.log" "$BATS_TEST_TMPDIR/b.log")" = "tv-export: cannot reach MongoDB at 127.0.0.1:9: connection refused" ]
	[ "$(tv_first_error "$BATS_TEST_TMPDIR/a.log")" = "no error was logged" ]
}
