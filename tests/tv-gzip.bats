#!/usr/bin/env bats
# tv-gzip: round trips, interoperability with other gzip readers and writers, and bad input.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	export FIXTURES="$BATS_FILE_TMPDIR"
	tv-gendata messages 20000 >"$FIXTURES/messages.bson"
	head -c 3000000 /dev/urandom >"$FIXTURES/random"
	tv-gzip <"$FIXTURES/messages.bson" >"$FIXTURES/messages.gz"
}

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
}

# Prints the offset at which the second gzip member of file $1 starts, from our "TV" subfield.
second_member_offset() {
	od -An -tu4 -j16 -N4 "$1" | tr -d ' '
}

@test "empty input compresses to a valid gzip file that decompresses to nothing" {
	tv-gzip </dev/null >"$T/empty.gz"
	gzip -t "$T/empty.gz"
	[ "$(gzip -dc "$T/empty.gz" | wc -c)" -eq 0 ]
	run --separate-stderr tv-gzip -d <"$T/empty.gz"
	assert_status 0
	[ -z "$output" ]
}

@test "a single byte round trips" {
	printf 'x' | tv-gzip >"$T/one.gz"
	gzip -t "$T/one.gz"
	[ "$(tv-gzip -d <"$T/one.gz")" = x ]
	[ "$(gzip -dc "$T/one.gz")" = x ]
}

@test "random data round trips byte-exact through tv-gzip -d and gzip -d" {
	tv-gzip <"$FIXTURES/random" >"$T/r.gz"
	gzip -t "$T/r.gz"
	tv-gzip -d <"$T/r.gz" >"$T/r.out"
	assert_same_file "$FIXTURES/random" "$T/r.out"
	gzip -dc "$T/r.gz" >"$T/r.gzip"
	assert_same_file "$FIXTURES/random" "$T/r.gzip"
}

@test "a BSON stream round trips byte-exact and is several members" {
	gzip -t "$FIXTURES/messages.gz"
	tv-gzip -d <"$FIXTURES/messages.gz" >"$T/m.out"
	assert_same_file "$FIXTURES/messages.bson" "$T/m.out"
	gzip -dc "$FIXTURES/messages.gz" >"$T/m.gzip"
	assert_same_file "$FIXTURES/messages.bson" "$T/m.gzip"
	[ "$(second_member_offset "$FIXTURES/messages.gz")" -lt "$(stat -c %s "$FIXTURES/messages.gz")" ]
}

@test "every level round trips and gzip accepts it" {
	for level in 1 2 3 4 5 6 7 8 9; do
		tv-gzip "-$level" <"$FIXTURES/messages.bson" >"$T/l.gz"
		gzip -t "$T/l.gz"
		tv-gzip -d <"$T/l.gz" | cmp - "$FIXTURES/messages.bson"
	done
}

@test "the output is the same whatever the number of threads" {
	tv-gzip -p 1 <"$FIXTURES/messages.bson" >"$T/p1.gz"
	tv-gzip -p 3 <"$FIXTURES/messages.bson" >"$T/p3.gz"
	assert_same_file "$T/p1.gz" "$T/p3.gz"
	assert_same_file "$T/p1.gz" "$FIXTURES/messages.gz"
}

@test "the default level is no more than 2% larger than gzip -6" {
	ours=$(stat -c %s "$FIXTURES/messages.gz")
	theirs=$(gzip -6 <"$FIXTURES/messages.bson" | wc -c)
	[ $((ours * 100)) -le $((theirs * 102)) ]
}

@test "Python's gzip module reads the output byte-exact" {
	python3 -c 'import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))' \
		<"$FIXTURES/messages.gz" >"$T/py.out"
	assert_same_file "$FIXTURES/messages.bson" "$T/py.out"
}

@test "Go's compress/gzip (mongorestore's reader) reads the output byte-exact" {
	command -v go >/dev/null || skip "go is not installed"
	mkdir "$T/gunzip"
	cat >"$T/gunzip/main.go" <<-'EOF'
	package main

	import (
		"compress/gzip"
		"io"
		"os"
	)

	func main() {
		r, err := gzip.NewReader(os.Stdin)
		if err != nil {
			panic(err)
		}
		if _, err := io.Copy(os.Stdout, r); err != nil {
			panic(err)
		}
	}
	EOF
	(cd "$T/gunzip" && GO111MODULE=off GOFLAGS= go build -o gunzip main.go)
	"$T/gunzip/gunzip" <"$FIXTURES/messages.gz" >"$T/go.out"
	assert_same_file "$FIXTURES/messages.bson" "$T/go.out"
	tv-gzip </dev/null | "$T/gunzip/gunzip" >"$T/go.empty"
	[ ! -s "$T/go.empty" ]
}

@test "a 1 GiB stream round trips byte-exact within 64 MiB of memory each way" {
	want=$(tv-gendata messages 2900000 | sha256sum)
	run bash -c 'set -o pipefail
		tv-gendata messages 2900000 |
		/usr/bin/time -f %M -o "$0/c.rss" tv-gzip |
		/usr/bin/time -f %M -o "$0/d.rss" tv-gzip -d --label messages 2>"$0/d.log" |
		sha256sum' "$T"
	assert_status 0
	[ "$output" = "$want" ]
	size=$(sed -n 's/.*Decompressed messages: \([0-9]*\) bytes.*/\1/p' "$T/d.log")
	[ "$size" -ge $((1024 * 1024 * 1024)) ]
	[ "$(cat "$T/c.rss")" -le 65536 ]
	[ "$(cat "$T/d.rss")" -le 65536 ]
}

@test "-d reads a file written by gzip" {
	gzip -6 <"$FIXTURES/messages.bson" >"$T/g.gz"
	tv-gzip -d <"$T/g.gz" >"$T/g.out"
	assert_same_file "$FIXTURES/messages.bson" "$T/g.out"
}

@test "-d reads a file written by pigz" {
	pigz -p 2 <"$FIXTURES/messages.bson" >"$T/p.gz"
	tv-gzip -d <"$T/p.gz" >"$T/p.out"
	assert_same_file "$FIXTURES/messages.bson" "$T/p.out"
}

@test "-d reads concatenated members from gzip, pigz and tv-gzip in any order" {
	printf 'one\n' | gzip >"$T/cat.gz"
	tv-gzip <"$FIXTURES/random" >>"$T/cat.gz"
	printf 'three\n' | pigz >>"$T/cat.gz"
	gzip <"$FIXTURES/random" >>"$T/cat.gz"
	cat "$FIXTURES/messages.gz" >>"$T/cat.gz"
	{ printf 'one\n'; cat "$FIXTURES/random"; printf 'three\n'; cat "$FIXTURES/random" "$FIXTURES/messages.bson"; } >"$T/cat.want"
	tv-gzip -d <"$T/cat.gz" >"$T/cat.out"
	assert_same_file "$T/cat.want" "$T/cat.out"
}

@test "a flipped byte inside a tv-gzip member exits 65 naming the member's offset" {
	cp "$FIXTURES/messages.gz" "$T/bad.gz"
	printf '\x55' | dd of="$T/bad.gz" bs=1 seek=5000 conv=notrunc status=none
	run --separate-stderr tv-gzip -d <"$T/bad.gz"
	assert_status 65
	[[ "$stderr" == *"corrupt gzip member at byte offset 0"* ]]
}

@test "a flipped byte inside a gzip(1) member exits 65 naming a byte offset" {
	gzip -6 <"$FIXTURES/messages.bson" >"$T/bad.gz"
	printf '\x55' | dd of="$T/bad.gz" bs=1 seek=200000 conv=notrunc status=none
	run --separate-stderr tv-gzip -d <"$T/bad.gz"
	assert_status 65
	[[ "$stderr" == *"corrupt gzip member at byte offset "* ]]
}

@test "tv-gzip output cut at any of several offsets exits 65 naming the offset" {
	size=$(stat -c %s "$FIXTURES/messages.gz")
	boundary=$(second_member_offset "$FIXTURES/messages.gz")
	for cut in 1 2 10 23 24 100 $((boundary - 1)) "$boundary" $((boundary + 30)) $((size / 2)) $((size - 32)) $((size - 1)); do
		head -c "$cut" "$FIXTURES/messages.gz" >"$T/cut.gz"
		run --separate-stderr tv-gzip -d <"$T/cut.gz"
		assert_status 65
		[[ "$stderr" == *"unexpected end of input at byte offset $cut"* ]]
	done
}

@test "gzip(1) output cut at any of several offsets exits 65 naming a byte offset" {
	gzip -6 <"$FIXTURES/messages.bson" >"$T/g.gz"
	size=$(stat -c %s "$T/g.gz")
	for cut in 1 5 10 100 $((size / 2)) $((size - 4)) $((size - 1)); do
		head -c "$cut" "$T/g.gz" >"$T/cut.gz"
		run --separate-stderr tv-gzip -d <"$T/cut.gz"
		assert_status 65
		[[ "$stderr" == *"at byte offset "* ]]
	done
}

@test "input that is not gzip exits 65 naming offset 0" {
	run --separate-stderr tv-gzip -d <"$FIXTURES/messages.bson"
	assert_status 65
	[[ "$stderr" == *"not in gzip format at byte offset 0"* ]]
	[ -z "$output" ]
}

@test "empty input to -d exits 65" {
	run --separate-stderr tv-gzip -d </dev/null
	assert_status 65
	[[ "$stderr" == *"empty input"* ]]
}

@test "garbage after the last member exits 65 naming its offset" {
	size=$(stat -c %s "$FIXTURES/messages.gz")
	{ cat "$FIXTURES/messages.gz"; printf 'garbage'; } >"$T/trail.gz"
	run --separate-stderr tv-gzip -d <"$T/trail.gz"
	assert_status 65
	[[ "$stderr" == *"trailing garbage after the last gzip member at byte offset $size"* ]]
}

@test "-t exits 0 for a valid stream and writes nothing" {
	run --separate-stderr tv-gzip -t <"$FIXTURES/messages.gz"
	assert_status 0
	[ -z "$output" ]
}

@test "-t exits 65 for a corrupt or truncated stream" {
	head -c 100000 "$FIXTURES/messages.gz" >"$T/cut.gz"
	run tv-gzip -t <"$T/cut.gz"
	assert_status 65
	cp "$FIXTURES/messages.gz" "$T/bad.gz"
	printf '\x55' | dd of="$T/bad.gz" bs=1 seek=5000 conv=notrunc status=none
	run tv-gzip -t <"$T/bad.gz"
	assert_status 65
}

@test "--label logs the compressed size and ratio in the seed's words" {
	run --separate-stderr tv-gzip --label users <"$FIXTURES/messages.bson"
	assert_status 0
	out=$(stat -c %s "$FIXTURES/messages.gz")
	in=$(stat -c %s "$FIXTURES/messages.bson")
	ratio=$(awk -v o="$out" -v i="$in" 'BEGIN { printf "%.1f", (1 - o / i) * 100 }')
	[[ "$stderr" == *"INF] Compressed users: $out bytes (compression: $ratio%)" ]]
}

@test "--label reports 0.0% compression for empty input" {
	run --separate-stderr tv-gzip --label invites </dev/null
	assert_status 0
	[[ "$stderr" == *"Compressed invites: "*" bytes (compression: 0.0%)" ]]
}

@test "-q silences the --label line" {
	run --separate-stderr tv-gzip -q --label users </dev/null
	assert_status 0
	[ -z "$stderr" ]
}

@test "usage errors exit 64" {
	run tv-gzip -x
	assert_status 64
	assert_output_contains "usage:"
	run tv-gzip -p 0
	assert_status 64
	run tv-gzip -p two
	assert_status 64
	run tv-gzip file.bson
	assert_status 64
	run tv-gzip --label
	assert_status 64
}
