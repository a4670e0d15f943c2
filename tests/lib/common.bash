# common.bash: what every bats file loads: paths, the dependency directory and small assertions.
# shellcheck shell=bash

TV_SRCDIR=${TV_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
TV_BUILDDIR=${TV_BUILDDIR:-$TV_SRCDIR}
# Where tests/deps.sh installs FerretDB, mongo-tools and Azurite.
TV_DEPS_DIR=${TV_DEPS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tralivali-backup}
PATH="$TV_BUILDDIR/tools:$TV_SRCDIR/scripts:$TV_BUILDDIR/tests/bench:$TV_DEPS_DIR/bin:$TV_DEPS_DIR/node_modules/.bin:$PATH"
export TV_SRCDIR TV_BUILDDIR TV_DEPS_DIR PATH

# shellcheck source=tests/lib/servers.bash
. "$TV_SRCDIR/tests/lib/servers.bash"

# Fails the test with a message unless the last `run` exited with the given status.
assert_status() {
	if [ "$status" -ne "$1" ]; then
		printf 'expected exit status %s, got %s\noutput:\n%s\n' "$1" "$status" "$output" >&2
		return 1
	fi
}

# Fails the test unless the last `run` printed the given text somewhere (stdout and stderr merged).
assert_output_contains() {
	if [[ "$output" != *"$1"* ]]; then
		printf 'expected output to contain: %s\noutput:\n%s\n' "$1" "$output" >&2
		return 1
	fi
}

# Fails the test if the last `run` printed the given text.
refute_output_contains() {
	if [[ "$output" == *"$1"* ]]; then
		printf 'expected output not to contain: %s\noutput:\n%s\n' "$1" "$output" >&2
		return 1
	fi
}

# Fails the test unless two files are byte-identical.
assert_same_file() {
	if ! cmp "$1" "$2"; then
		printf 'files differ: %s %s\n' "$1" "$2" >&2
		return 1
	fi
}

# Flips the low bit of the byte at offset $2 of file $1, in place: a change whatever the byte
# was (writing a fixed byte is no change at all when the file already holds it there).
tv_flip_bit() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$b" ] || { echo "tv_flip_bit: $1 has no byte at offset $2" >&2; return 1; }
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Waits up to 30 s until no process holds the run lock: the stages of a killed run watch it
# and stop, its orphans included.
wait_lock_free() {
	local _
	for _ in $(seq 300); do
		flock -n "$BACKUP_STATE_DIR/tralivali-backup.lock" true && return 0
		sleep 0.1
	done
	return 1
}
