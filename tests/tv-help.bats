#!/usr/bin/env bats
# --help is a page for every tool and flow: its usage lines, then its manual page (one source for
# both, so an option added to the page reaches --help), on stdout, exit 0.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
}

# Prints every tool and flow by name.
programs() {
	local f
	for f in "$TV_SRCDIR"/tools/tv-*.c "$TV_SRCDIR"/scripts/tv-*; do
		f=${f##*/}
		f=${f%.c}
		[[ $f == *.sh ]] || echo "$f"
	done
}

@test "every tool and flow answers --help with a page of 15 lines or more on stdout, and exits 0" {
	local p short=
	for p in $(programs); do
		run --separate-stderr "$p" --help
		[ "$status" -eq 0 ] || { echo "$p --help: exit $status: $stderr" >&2; return 1; }
		[[ $output == "usage: $p "* ]] || { echo "$p --help: does not start with its usage" >&2; return 1; }
		[ -z "$stderr" ] || { echo "$p --help: wrote to stderr: $stderr" >&2; return 1; }
		[ "$(printf "%s\n" "$output" | wc -l)" -ge 15 ] || short+=" $p"
	done
	[ -z "$short" ] || { echo "--help under 15 lines:$short" >&2; return 1; }
}

@test "--help shows the manual page itself: each option the page lists is in it" {
	run tv-recover --help
	assert_status 0
	assert_output_contains "TV-RECOVER(8)"
	assert_output_contains "--no-safety-backup"
	assert_output_contains "EXIT STATUS"
	run tv-export --help
	assert_output_contains "TV-EXPORT(1)"
	assert_output_contains "--batch-size"
}

@test "a usage error prints the short usage on stderr only, exit 64" {
	local p
	for p in tv-export tv-backup tv-recover; do
		run --separate-stderr "$p" --no-such-option
		[ "$status" -eq 64 ] || { echo "$p: exit $status" >&2; return 1; }
		[ -z "$output" ]
		[[ $stderr == *"usage: $p "* ]]
		[[ $stderr != *"EXIT STATUS"* ]]
	done
}
