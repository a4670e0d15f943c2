#!/usr/bin/env bats
# What the fuzzers in fuzz/ found, each replayed through the real tool that reads that input.

bats_require_minimum_version 1.5.0

setup() {
	load lib/common
	T=$BATS_TEST_TMPDIR
	unset BACKUP_BLOB_STORAGE_CONNECTION_STRING BACKUP_BLOB_STORAGE_CONNECTION_STRING_FILE
}

@test "an empty appsettings.json is named as empty, not described with uninitialised memory" {
	: >"$T/appsettings.json"
	TV_APPSETTINGS="$T/appsettings.json" run --separate-stderr tv-blob-ls backups/
	assert_status 64
	[[ $stderr == *"$T/appsettings.json: not a JSON object: the file is empty" ]]
}

@test "an empty metadata file is named as empty too (the same libbson call in tv-restore)" {
	: >"$T/users.metadata.json"
	run --separate-stderr tv-restore -c users --metadata "$T/users.metadata.json" </dev/null
	assert_status 65
	[[ $stderr == *"$T/users.metadata.json: not a metadata JSON object: the file is empty" ]]
}

@test "a nested document that does not end with NUL is refused as bad data, before libbson asserts on it" {
	# {"d": {"x": 1}} with the inner document's last byte 0x12: bson_validate passes it.
	printf '\x14\x00\x00\x00\x03d\x00\x0c\x00\x00\x00\x10x\x00\x01\x00\x00\x00\x12\x00' >"$T/nested.bson"
	run --separate-stderr tv-restore --dry-run -c users <"$T/nested.bson"
	assert_status 65
	[[ $stderr == *'invalid document: embedded document or array without its closing NUL "d"'* ]]
}

@test "tv-replay refuses that nested document as bad data (65) instead of aborting in libbson" {
	# The fuzz-replay input (its first byte picks the harness's options): a createIndexes entry
	# whose "key" document ends in 0x12.
	tail -c +2 "$TV_SRCDIR/fuzz/corpus/replay/createindexes-key-no-nul" >"$T/oplog.bson"
	run --separate-stderr tv-replay --dry-run <"$T/oplog.bson"
	assert_status 65
	[[ $stderr == *'document index 3 at byte offset 649: invalid document: embedded document or array without its closing NUL "key"'* ]]
}

@test "a manifest count too big for 64 bits is out of range, not converted (undefined behaviour)" {
	# Found by fuzz-manifest: bsonBytes 1.5e20 as a double.
	run --separate-stderr tv-catalog check "$TV_SRCDIR/fuzz/corpus/manifest/huge-double.json"
	assert_status 65
	[[ $stderr == *"collections[0].bsonBytes: out of range"* ]]
}

@test "every harness in fuzz/ has its seed corpus, a row in fuzz/README.md and its place in the distribution" {
	# run-all (tests/run's fuzz step) runs every fuzz/fuzz-*.c that build.sh built, from corpus/NAME.
	local h name missing=
	for h in "$TV_SRCDIR"/fuzz/fuzz-*.c; do
		name=${h##*/fuzz-}
		name=${name%.c}
		compgen -G "$TV_SRCDIR/fuzz/corpus/$name/*" >/dev/null || missing+=" corpus/$name"
		grep -q "^| $name " "$TV_SRCDIR/fuzz/README.md" || missing+=" README:$name"
		grep -q "fuzz/fuzz-$name\.c" "$TV_SRCDIR/Makefile.am" || missing+=" Makefile.am:fuzz-$name.c"
	done
	[ -z "$missing" ] || { echo "missing:$missing" >&2; return 1; }
}

@test "the seed MACs of fuzz-mac are what tv-crypt --check-mac says they are" {
	# Made with the harness's keys (32 bytes of 'k', then of 'o') for its manifest.
	printf 'k%.0s' $(seq 32) >"$T/k"
	printf 'o%.0s' $(seq 32) >"$T/o"
	chmod 600 "$T/k" "$T/o"
	printf '{"id": "fuzz"}\n' >"$T/manifest.json"
	export BACKUP_ENCRYPTION_KEY_FILE=$T/k:$T/o
	local m=backups/2024-01-15/manifest.json c=$TV_SRCDIR/fuzz/corpus/mac
	tv-crypt --check-mac "$c/good.mac" --bind "$m" <"$T/manifest.json"
	tv-crypt --check-mac "$c/older-key.mac" --bind "$m" <"$T/manifest.json"
	run --separate-stderr tv-crypt --check-mac "$c/other-folder.mac" --bind "$m" <"$T/manifest.json"
	assert_status 65
	[[ $stderr == *'the MAC of "backups/2024-01-14/manifest.json", not of "backups/2024-01-15/manifest.json"'* ]]
	BACKUP_ENCRYPTION_KEY_FILE=$T/o run --separate-stderr tv-crypt --check-mac "$c/good.mac" --bind "$m" <"$T/manifest.json"
	assert_status 77
}
