#!/usr/bin/env bats
# The flows with client-side encryption (BACKUP_ENCRYPTION_KEY_FILE) against a real MongoDB-wire
# server and the file: store: only .enc blobs are stored, every reader decrypts, and a missing,
# short or wrong key or a forged byte stops a flow before it stores or restores anything.

bats_require_minimum_version 1.5.0

declare -A SIZES=([users]=40 [conversations]=20 [messages]=50)

setup_file() {
	load lib/common
	tv_start_mongo
	# With an oplog (FerretDB) a backup also stores the point's oplog, which is encrypted too.
	[ "$TV_MONGO_SERVER" != ferretdb ] || tv_enable_oplog
	export F=$BATS_FILE_TMPDIR
	export STORE=$F/store BACKUP_BLOB_STORAGE_CONNECTION_STRING=file:$F/store
	head -c 32 /dev/urandom >"$F/key"
	head -c 32 /dev/urandom >"$F/other.key"
	head -c 31 /dev/urandom >"$F/short.key"
	chmod 600 "$F"/*.key "$F/key"
	local c
	for c in "${!SIZES[@]}"; do
		tv-gendata -s 7 "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
	done
}

teardown_file() {
	load lib/common
	tv_stop_mongo
}

setup() {
	load lib/common
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_CONTAINER_NAME="t$BATS_TEST_NUMBER-$RANDOM"
	export BACKUP_RETENTION_DAYS=100000
	export BACKUP_ENCRYPTION_KEY_FILE=$F/key
	unset TV_NOW
	T=$BATS_TEST_TMPDIR
}

# Prints the SHA-256 of collection $1's documents as tv-export streams them.
fingerprint() {
	tv-export -q -c "$1" | sha256sum | cut -d ' ' -f 1
}

# Prints every collection's fingerprint, one "name sha" line each.
fingerprints() {
	local c
	for c in users conversations messages; do
		echo "$c $(fingerprint "$c")"
	done
}

# Backs up at the fake time $1 (ISO-8601) with the key in force; fails the test on failure.
backup_at() {
	TV_NOW=$1 tv-backup -q --no-prune >/dev/null
}

# Prints the path of blob $1 in the file: store.
blob_file() { echo "$STORE/$BACKUP_BLOB_CONTAINER_NAME/$1"; }

# Replaces blob $1 with the bytes of file $2, as someone who may delete and write could.
replace_blob() {
	rm "$(blob_file "$1")"
	tv-blob-put -q "$1" <"$2"
}

# Rewrites the manifest of folder $1 with jq filter $2 (further jq arguments after it).
rewrite_manifest() {
	local folder=$1 filter=$2
	shift 2
	tv-blob-get "$folder/manifest.json" | jq "$@" "$filter" >"$T/rewritten.json"
	replace_blob "$folder/manifest.json" "$T/rewritten.json"
}

# Prints the SHA-256 of stored blob $1.
blob_sha() { tv-blob-get "$1" | sha256sum | cut -d ' ' -f 1; }

# Replaces blob $1 with a copy whose byte at offset $2 has its low bit flipped, as someone who
# may delete could: the store's own checksum is then right, only the manifest and the chunk's
# authentication tag know.  Store writes are create-only, so the blob is deleted first.
flip_bit() {
	tv-blob-get "$1" >"$T/flipped"
	tv_flip_bit "$T/flipped" "$2"
	rm "$(blob_file "$1")"
	tv-blob-put -q "$1" <"$T/flipped"
}

@test "with a key file every stored blob is .enc and reveals nothing; verify, list and status read them; recover restores byte for byte" {
	local before marker
	before=$(fingerprints)
	# A value from the data, which a blob stored in clear would show once decompressed.
	marker=$(tv-export -q -c users | head -c 400 | grep -ao '[a-z0-9.]*@[a-z.]*' | head -n 1)
	[ -n "$marker" ]
	run --separate-stderr env TV_NOW=2024-03-01T03:00Z tv-backup --no-prune
	assert_status 0
	[[ $stderr == *"Uploaded backup to: backups/2024-03-01/tralivali_users.bson.gz.enc"* ]]
	local names
	names=$(tv-blob-ls backups/ | cut -f 1)
	# In clear: the manifest, and its MAC beside it.
	[ "$(grep -v '\.enc$' <<<"$names")" = "backups/2024-03-01/manifest.json
backups/2024-03-01/manifest.json.mac" ]
	[ "$(grep -c '\.bson\.gz\.enc$' <<<"$names")" -ge 3 ]
	[ "$(grep -c '\.metadata\.json\.enc$' <<<"$names")" -eq 3 ]
	[ "$TV_MONGO_SERVER" != ferretdb ] || grep -qx backups/2024-03-01/oplog.bson.gz.enc <<<"$names"
	local name
	for name in $(grep '\.enc$' <<<"$names"); do
		tv-blob-get "$name" >"$T/blob"
		[ "$(head -c 7 "$T/blob")" = TVCRYPT ]
		! gzip -t "$T/blob" 2>/dev/null
		! grep -aqF "$marker" "$T/blob"
		! grep -aq '"indexes"' "$T/blob"
	done
	# The manifest names the .enc blobs and holds the checksums of the stored (encrypted) bytes.
	tv-blob-get backups/2024-03-01/manifest.json >"$T/m.json"
	jq -e 'all(.collections[]; (.file | endswith(".bson.gz.enc")) and (.metadataFile | endswith(".metadata.json.enc")))
		and (.oplog == null or (.oplog.file | endswith("/oplog.bson.gz.enc")))' "$T/m.json"
	tv-blob-get backups/2024-03-01/tralivali_users.bson.gz.enc >"$T/users.enc"
	jq -e --arg sha "$(sha256sum <"$T/users.enc" | cut -d ' ' -f 1)" \
		'.collections[] | select(.name == "users") | .sha256 == $sha' "$T/m.json"
	# The README's manual step: decrypt, then gunzip.
	tv-crypt -d <"$T/users.enc" | gunzip | grep -aqF "$marker"

	run --separate-stderr tv-verify 2024-03-01
	assert_status 0
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-03-01 users ok ok ok 40/40 OK"* ]]
	run --separate-stderr tv-list --json
	assert_status 0
	jq -e '.backups | length == 1 and .[0].status == "Completed" and (.[0].collections | length) == 3' <<<"$output"
	run --separate-stderr tv-status --json --max-age 100000d
	[ "$status" -le 1 ]
	jq -e '.lastBackup.folder == "backups/2024-03-01"' <<<"$output"

	tv-gendata -s 8 users 5 | tv-restore -q -c users --drop
	tv-restore -q -c messages --drop </dev/null
	run tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 0
	[ "$(fingerprints)" = "$before" ]
}

@test "tv-rehearse restores an encrypted point into a scratch database and checks its indexes" {
	backup_at 2024-03-01T03:00Z
	# tv-gendata's collections do not reference each other: no reference rules here.
	echo '# none' >"$T/rules"
	run --separate-stderr tv-rehearse --db rehearsal_crypt --rules "$T/rules" 2024-03-01
	assert_status 0
	[[ $(tr -s ' ' <<<"$output") == *"ok indexes users "* ]]
}

@test "a key file that is missing or not 32 bytes fails the backup before anything is stored" {
	run --separate-stderr env BACKUP_ENCRYPTION_KEY_FILE="$F/absent.key" tv-backup --no-prune
	assert_status 64
	[[ $stderr == *"BACKUP_ENCRYPTION_KEY_FILE: cannot read $F/absent.key"* ]]
	[[ $stderr == *"the encryption key (BACKUP_ENCRYPTION_KEY_FILE) cannot be used; nothing was uploaded"* ]]
	[ "$(jq -r .status <<<"$output")" = Failed ]
	run --separate-stderr env BACKUP_ENCRYPTION_KEY_FILE="$F/short.key" tv-backup --no-prune
	assert_status 64
	[[ $stderr == *"holds 31 bytes"* ]]
	# Nothing of either run is in the store: no blob, in clear or not, under backups/.
	[ -z "$(tv-blob-ls backups/)" ]
	[ ! -e "$(blob_file backups)" ] || [ -z "$(find "$(blob_file backups)" -type f)" ]
}

@test "a different key: tv-verify and tv-recover exit 77 saying so, and the collections stay as they were" {
	backup_at 2024-03-01T03:00Z
	tv-gendata -s 8 users 5 | tv-restore -q -c users --drop
	local before
	before=$(fingerprints)
	export BACKUP_ENCRYPTION_KEY_FILE=$F/other.key
	# The manifest's MAC is checked first, and names the key it needs.
	run --separate-stderr tv-verify 2024-03-01
	assert_status 77
	[[ $stderr == *"backups/2024-03-01/manifest.json: wrong key: the file was authenticated with key id $(sha256sum "$F/key" | cut -c1-16)"* ]]
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-03-01 - - - - - INVALID"* ]]
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 77
	[[ $stderr == *"wrong key"* ]]
	[[ $stderr == *"nothing was restored"* ]]
	# With the safety backup on, it fails before taking one.
	run --separate-stderr tv-recover 2024-03-01 --yes
	assert_status 77
	[ -z "$(tv-blob-ls safety/)" ]
	# Without any key, an encrypted backup is not mistaken for a clear one.
	unset BACKUP_ENCRYPTION_KEY_FILE
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 64
	[[ $stderr == *"is encrypted: set BACKUP_ENCRYPTION_KEY_FILE to the file of its key"* ]]
	[ "$(fingerprints)" = "$before" ]
	# Without the manifest (--force), each blob names the key it needs.
	rm "$(blob_file backups/2024-03-01/manifest.json)"
	BACKUP_ENCRYPTION_KEY_FILE=$F/other.key run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup --force
	assert_status 77
	[[ $stderr == *".bson.gz.enc: wrong key: the file was encrypted with key id "* ]]
	[ "$(fingerprints)" = "$before" ]
}

@test "a flipped byte in an encrypted dump: tv-verify and tv-recover exit 65 and the collections stay as they were" {
	backup_at 2024-03-01T03:00Z
	tv-gendata -s 8 users 5 | tv-restore -q -c users --drop
	local before
	before=$(fingerprints)
	flip_bit backups/2024-03-01/tralivali_messages.bson.gz.enc 100
	run --separate-stderr tv-verify 2024-03-01
	assert_status 65
	[[ $stderr == *"tralivali_messages.bson.gz.enc: sha256 "*", manifest says "* ]]
	[[ $stderr == *"tralivali_messages.bson.gz.enc: chunk "*" fails authentication"* ]]
	[[ $(tr -s ' ' <<<"$output") == *"messages FAIL - - -/50 FAIL"* ]]
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 65
	[[ $stderr == *"the blob is corrupt"* ]]
	[ "$(fingerprints)" = "$before" ]
	# Without the manifest's checksums (--force), the chunk's authentication alone catches it.
	rm "$(blob_file backups/2024-03-01/manifest.json)"
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup --force
	assert_status 65
	[[ $stderr == *"tralivali_messages.bson.gz.enc: chunk "*" fails authentication"* ]]
	[ "$(fingerprints)" = "$before" ]
}

@test "tv-verify --slices decrypts the encrypted oplog slices tv-pitr ships, and a wrong key is 77" {
	[ "$TV_MONGO_SERVER" = ferretdb ] || skip "the oplog needs FerretDB here"
	local i
	for i in 1 2 3; do
		"$TV_BUILDDIR/tests/tv-mongo-cmd" "{\"insert\": \"invites\", \"documents\": [{\"_id\": \"crypt$i\"}]}" >/dev/null
		tv-pitr -q
	done
	[ "$(tv-blob-ls oplog/ | cut -f 1 | grep -c '\.bson\.gz\.enc$')" -eq 2 ]
	# Each slice is bound to its name, which tv-pitr knows only once the capture is done.
	local name
	for name in $(tv-blob-ls oplog/ | cut -f 1 | grep '\.bson\.gz\.enc$'); do
		tv-blob-get "$name" | tv-crypt -d --bind "$name" --format 2 | gunzip >/dev/null
	done
	run --separate-stderr tv-verify --slices
	assert_status 0
	[ "$(grep -c ' oplog slice .* OK$' <<<"$output")" -eq 2 ]
	run --separate-stderr env BACKUP_ENCRYPTION_KEY_FILE="$F/other.key" tv-verify --slices
	assert_status 77
	[[ $stderr == *".bson.gz.enc: wrong key"* ]]
}

@test "every blob is bound to its name (tv-crypt format 2), and the manifest's MAC is written before it" {
	backup_at 2024-03-01T03:00Z
	local name
	for name in $(tv-blob-ls backups/ | cut -f 1 | grep '\.enc$'); do
		tv-blob-get "$name" >"$T/blob"
		[ "$(head -c 8 "$T/blob")" = TVCRYPT2 ]
		[ "$(tail -c +35 "$T/blob" | head -c "${#name}")" = "$name" ]
	done
	tv-blob-get backups/2024-03-01/manifest.json >"$T/m.json"
	tv-blob-get backups/2024-03-01/manifest.json.mac >"$T/m.mac"
	tv-crypt --check-mac "$T/m.mac" --bind backups/2024-03-01/manifest.json <"$T/m.json"
	# The manifest is the commit marker: no blob of the folder is newer than it.
	local manifest_time
	manifest_time=$(stat -c %Y "$(blob_file backups/2024-03-01/manifest.json)")
	[ "$(stat -c %Y "$(blob_file backups/2024-03-01/manifest.json.mac)")" -le "$manifest_time" ]
	run --separate-stderr tv-verify 2024-03-01
	assert_status 0
	[[ $stderr == *"backups/2024-03-01/: bound: its manifest is authenticated with the key (backups/2024-03-01/manifest.json.mac), each blob to its name"* ]]
	[[ $output != *unbound* ]]
}

@test "a .enc blob moved from one point to another, the manifest's SHA-256 rewritten: tv-verify and tv-recover refuse (65), nothing changes" {
	backup_at 2024-03-01T03:00Z
	# The next day's users: as many documents, other contents.
	tv-gendata -s 9 users 40 | tv-restore -q -c users --drop
	backup_at 2024-03-02T03:00Z
	tv-gendata -s 8 users 5 | tv-restore -q -c users --drop
	local before moved=backups/2024-03-01/tralivali_users.bson.gz.enc
	before=$(fingerprints)
	# Someone who may write to the store, without the key, puts the 2nd's dump in the 1st's place
	# and makes the 1st's manifest agree with it.
	tv-blob-get backups/2024-03-02/tralivali_users.bson.gz.enc >"$T/moved"
	replace_blob "$moved" "$T/moved"
	rewrite_manifest backups/2024-03-01 '(.collections[] | select(.name == "users")) |= (.sha256 = $sha | .compressedBytes = $size)' \
		--arg sha "$(blob_sha "$moved")" --argjson size "$(stat -c %s "$T/moved")"
	run --separate-stderr tv-verify 2024-03-01
	assert_status 65
	[[ $stderr == *"backups/2024-03-01/manifest.json: fails authentication against its MAC: it was changed or replaced in the store"* ]]
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-03-01 - - - - - INVALID"* ]]
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 65
	[[ $stderr == *"fails authentication against its MAC"* ]]
	[[ $stderr == *"nothing was restored"* ]]
	[ "$(fingerprints)" = "$before" ]

	# Without its MAC the point passes for one made before binding, whose blobs are all unbound:
	# these are bound, so its MAC was removed.
	rm "$(blob_file backups/2024-03-01/manifest.json.mac)"
	run --separate-stderr tv-verify 2024-03-01
	assert_status 65
	[[ $stderr == *"(format 2), where only a file bound to no name (format 1, made before blobs were bound) is accepted: in a backup whose manifest has no MAC, its MAC was removed"* ]]
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 65
	[[ $stderr == *"(format 2), where only a file bound to no name (format 1"* ]]
	[[ $stderr == *"nothing was restored"* ]]
	[ "$(fingerprints)" = "$before" ]

	# Without any manifest (--force), the moved dump's own binding refuses it.
	rm "$(blob_file backups/2024-03-01/manifest.json)"
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup --force
	assert_status 65
	[[ $stderr == *"$moved: made for another place: it was encrypted as \"backups/2024-03-02/tralivali_users.bson.gz.enc\", not \"$moved\""* ]]
	[ "$(fingerprints)" = "$before" ]
}

@test "an older point's manifest copied over a newer one's, with or without its MAC, is refused (65), nothing changes" {
	backup_at 2024-03-01T03:00Z
	tv-gendata -s 9 users 40 | tv-restore -q -c users --drop
	backup_at 2024-03-02T03:00Z
	tv-gendata -s 8 users 5 | tv-restore -q -c users --drop
	local before
	before=$(fingerprints)
	tv-blob-get backups/2024-03-01/manifest.json >"$T/old.json"
	tv-blob-get backups/2024-03-01/manifest.json.mac >"$T/old.mac"
	replace_blob backups/2024-03-02/manifest.json "$T/old.json"
	run --separate-stderr tv-verify 2024-03-02
	assert_status 65
	[[ $stderr == *"backups/2024-03-02/manifest.json: fails authentication against its MAC"* ]]
	replace_blob backups/2024-03-02/manifest.json.mac "$T/old.mac"
	run --separate-stderr tv-verify 2024-03-02
	assert_status 65
	[[ $stderr == *"backups/2024-03-02/manifest.json: the MAC of \"backups/2024-03-01/manifest.json\", not of \"backups/2024-03-02/manifest.json\": copied from another place"* ]]
	run --separate-stderr tv-recover 2024-03-02 --yes --no-safety-backup
	assert_status 65
	[[ $stderr == *"copied from another place"* ]]
	[ "$(fingerprints)" = "$before" ]
}

@test "a point made before binding (format 1 blobs, no MAC) still verifies, reported unbound, and restores" {
	backup_at 2024-03-01T03:00Z
	local before name sha
	before=$(fingerprints)
	# What tv-backup stored before blobs were bound: each blob in format 1, no manifest MAC.
	for name in $(tv-blob-ls backups/2024-03-01/ | cut -f 1 | grep '\.enc$'); do
		tv-blob-get "$name" | tv-crypt -d | tv-crypt >"$T/old"
		replace_blob "$name" "$T/old"
		sha=$(blob_sha "$name")
		rewrite_manifest backups/2024-03-01 '(.collections[] | select(.file == $n) | .sha256) = $sha |
			(.collections[] | select(.metadataFile == $n) | .metadataSha256) = $sha |
			if .oplog.file? == $n then .oplog.sha256 = $sha else . end' --arg n "$name" --arg sha "$sha"
	done
	rm "$(blob_file backups/2024-03-01/manifest.json.mac)"
	run --separate-stderr tv-verify 2024-03-01
	assert_status 0
	[[ $stderr == *"backups/2024-03-01/: unbound: made before blobs were bound to their names; its manifest has no MAC"* ]]
	[[ $(tr -s ' ' <<<"$output") == *"backups/2024-03-01 users ok ok ok "*" OK (unbound)"* ]]
	[ "$(grep -c ' OK (unbound)$' <<<"$output")" -eq "$(($(grep -c '^backups/' <<<"$output")))" ]
	tv-gendata -s 8 users 5 | tv-restore -q -c users --drop
	run --separate-stderr tv-recover 2024-03-01 --yes --no-safety-backup
	assert_status 0
	[[ $stderr == *"backups/2024-03-01/ is unbound"* ]]
	[ "$(fingerprints)" = "$before" ]
}
