#!/usr/bin/env bats
# Every tool is built hardened: full RELRO, bound at start-up, a stack protector, a PIE, and
# (in an optimised build) glibc's checked functions.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	TOOLS=()
	local f
	for f in "$TV_BUILDDIR"/tools/tv-*; do
		[ -x "$f" ] && [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && TOOLS+=("$f")
	done
	[ "${#TOOLS[@]}" -ge 3 ]
}

# Prints the value of a make variable of the build.
make_var() {
	sed -n "s/^$1 = //p" "$TV_BUILDDIR/Makefile"
}

@test "every tool has full RELRO: a GNU_RELRO segment and BIND_NOW" {
	local t
	for t in "${TOOLS[@]}"; do
		readelf -lW "$t" | grep -q GNU_RELRO || { echo "$t: no GNU_RELRO" >&2; return 1; }
		readelf -dW "$t" | grep -qE 'BIND_NOW|FLAGS_1.*NOW' || { echo "$t: not BIND_NOW" >&2; return 1; }
	done
}

@test "every tool is a position-independent executable" {
	local t
	for t in "${TOOLS[@]}"; do
		readelf -hW "$t" | grep -q 'Type:.*DYN' || { echo "$t: not PIE" >&2; return 1; }
	done
}

@test "every tool is built with the stack protector" {
	[[ $(make_var SAN_FLAGS) != *-fsanitize* ]] || skip "sanitizer build"
	local t
	for t in "${TOOLS[@]}"; do
		readelf -sW --dyn-syms "$t" | grep -q __stack_chk_fail || { echo "$t: no __stack_chk_fail" >&2; return 1; }
	done
}

@test "an optimised build uses glibc's checked functions (_FORTIFY_SOURCE)" {
	[[ $(make_var SAN_FLAGS) != *-fsanitize* ]] || skip "sanitizer build"
	[[ " $(make_var CFLAGS) $(make_var WARN_CFLAGS) " != *" -O0 "* ]] || skip "unoptimised (debug) build"
	[[ $(make_var HARDEN_CFLAGS) == *-D_FORTIFY_SOURCE=2* ]]
	local t
	for t in "${TOOLS[@]}"; do
		readelf -sW --dyn-syms "$t" | grep -qE '__[a-z]+_chk@' || { echo "$t: no __*_chk" >&2; return 1; }
	done
}
