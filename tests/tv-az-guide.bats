#!/usr/bin/env bats
# The README's "By hand, with az or the Portal": each of its command blocks that starts with a
# "# step" line, read from the README and run as written, with Microsoft's az CLI (pip package
# azure-cli, which tests/deps.sh installs into a venv) against Azurite, on points tv-backup made
# on FerretDB; mongorestore restores them and the documents compare byte for byte.

bats_require_minimum_version 1.5.0

declare -A SIZES=([users]=30 [conversations]=20 [messages]=120 [invites]=5 [files]=10)

setup_file() {
	load lib/common
	export AZ_BIN=$TV_DEPS_DIR/azure-cli/bin/az
	[ -x "$AZ_BIN" ] || return 0
	tv_start_mongo
	tv_start_azurite
	# A replica set's point holds its oplog; a mongod started here is standalone, and its points do not.
	tv_enable_oplog 2>/dev/null && export HAS_OPLOG=1
	local c
	for c in "${!SIZES[@]}"; do
		tv-gendata -s 7 "$c" "${SIZES[$c]}" | tv-restore -q -c "$c" --drop
	done
	# An index of our own: the restore must bring it back from the .metadata.json.
	"$TV_BUILDDIR/tests/tv-mongo-cmd" '{"createIndexes": "messages", "indexes": [{"key": {"conversationId": 1, "sentAt": -1}, "name": "by_conversation"}]}' >/dev/null
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING BACKUP_BLOB_CONTAINER_NAME=backups
	export BACKUP_STATE_DIR=$BATS_FILE_TMPDIR/state BACKUP_RETENTION_DAYS=100000
	# The README's two points of 2024-01-15, and an encrypted one the next day.
	TV_NOW=2024-01-15T03:00:00Z tv-backup -q >/dev/null
	TV_NOW=2024-01-15T09:30:00Z tv-backup -q >/dev/null
	head -c 32 /dev/urandom >"$BATS_FILE_TMPDIR/backup.key"
	chmod 600 "$BATS_FILE_TMPDIR/backup.key"
	BACKUP_ENCRYPTION_KEY_FILE=$BATS_FILE_TMPDIR/backup.key TV_NOW=2024-01-16T03:00:00Z tv-backup -q >/dev/null
	# What the database held when the points were taken, as bsondump prints it, sorted.
	for c in "${!SIZES[@]}"; do
		documents "$c" >"$BATS_FILE_TMPDIR/$c.expected"
	done
}

teardown_file() {
	load lib/common
	[ -x "$AZ_BIN" ] || return 0
	tv_stop_azurite
	tv_stop_mongo
}

setup() {
	load lib/common
	[ -x "$AZ_BIN" ] || skip "the az CLI is not installed: tests/deps.sh puts pip's azure-cli in $TV_DEPS_DIR/azure-cli"
	# The operator's home: the connection string and mongorestore's URI in files, as the README
	# keeps them; az keeps its own configuration there too.
	export HOME=$BATS_FILE_TMPDIR/home AZURE_CORE_COLLECT_TELEMETRY=false
	mkdir -p "$HOME/bin"
	ln -sf "$AZ_BIN" "$HOME/bin/az"
	PATH=$HOME/bin:$PATH
	printf '%s\n' "$AZURITE_CONNECTION_STRING" >"$HOME/azure.conn"
	printf 'uri: mongodb://127.0.0.1:%s/\n' "$TV_MONGO_PORT" >"$HOME/mongorestore.yaml"
	chmod 600 "$HOME/azure.conn" "$HOME/mongorestore.yaml"
	unset AZURE_STORAGE_CONNECTION_STRING BACKUP_ENCRYPTION_KEY_FILE
	# Each test starts where the operator does, in an empty directory.
	mkdir -p "$BATS_TEST_TMPDIR/work"
	cd "$BATS_TEST_TMPDIR/work" || return
}

# Prints collection $1's documents as bsondump prints them, one a line, sorted.
documents() {
	tv-export -q -c "$1" | bsondump --quiet | LC_ALL=C sort
}

# Prints the README section's lines, from its heading to the next one.
guide() {
	sed -n '/^## By hand, with az or the Portal$/,/^## /p' "$TV_SRCDIR/README.md"
}

# Prints the command block of the guide whose first line is "# $1", unindented, or fails.
guide_step() {
	guide | awk -v head="    # $1" '
		$0 == head { on = 1 }
		on && !/^    / { exit }
		on { print substr($0, 5) }' | grep . || { echo "the README has no step '# $1'" >&2; return 1; }
}

# Prints the indented block that follows step $1's block in the guide: what it prints.
guide_output() {
	guide | awk -v head="    # $1" '
		$0 == head { step = 1; next }
		step == 1 && !/^    / && !/^$/ { step = 2; next }
		step == 2 && /^    / { out = 1; print substr($0, 5); next }
		out { exit }'
}

# Writes the named steps of the guide, in order, as one script that stops at the first failure.
steps_script() {
	local step
	echo 'set -euo pipefail' >"$BATS_TEST_TMPDIR/steps.sh"
	for step in "$@"; do
		guide_step "$step" >>"$BATS_TEST_TMPDIR/steps.sh" || return 1
	done
}

# Runs the named steps of the guide, in order, in one shell that stops at the first failure.
run_steps() {
	steps_script "$@" || return 1
	run --separate-stderr bash "$BATS_TEST_TMPDIR/steps.sh"
}

# Checks the end of the README's mongorestore run: 0 and the index back on MongoDB.  FerretDB
# refuses the "ns" option mongorestore adds to every index it creates (tests/interop-mongo-tools.bats):
# there the proof stops at mongorestore reading the index from the .metadata.json and asking for it.
assert_restored_indexes() {
	if [ "$TV_MONGO_SERVER" = ferretdb ]; then
		assert_status 1
		[[ $stderr == *"restoring indexes for collection tralivali.messages from metadata"* ]]
		[[ $stderr == *'"name":"by_conversation"'* ]]
		[[ $stderr == *"error creating indexes for tralivali.messages: createIndex error: (BadValue) Index option \"ns\" is unknown"* ]]
	else
		assert_status 0
		"$TV_BUILDDIR/tests/tv-mongo-cmd" '{"listIndexes": "messages"}' | grep -q '"name" : "by_conversation"'
	fi
}

@test "the README's guide has every step this file runs, no other, and the layout of a point" {
	local steps=("the storage account and the day" "every point of the day" "download one whole point"
		"check every file against its sha256" "decrypt an encrypted point" "restore with mongorestore, the oplog included")
	# Every block that starts with a "# " line is a step, and this file runs each one.
	[ "$(guide | awk 'prev == "" && /^    # / { print substr($0, 7) } { prev = $0 }')" = "$(printf '%s\n' "${steps[@]}")" ]
	guide | grep -q '^| `tralivali_{coll}.bson.gz` |'
	guide | grep -q '^| `tralivali_{coll}.metadata.json` |'
	guide | grep -q '^| `oplog.bson.gz` |'
	guide | grep -q '^| `manifest.json` |'
	# The secret is read from a file into the environment, never put on a command line.
	run ! grep -e '--connection-string' -e '--account-key' -e 'mongodb://[^`]*@' <(guide | grep '^    ')
}

@test "every point of the day, the later ones included, as the README shows them" {
	run_steps "the storage account and the day" "every point of the day"
	assert_status 0
	[ "$output" = "$(guide_output "every point of the day")" ]
	[ "$output" = "$(printf 'backups/2024-01-15/\nbackups/2024-01-15T093000Z/')" ]
}

@test "download-batch takes a whole point, 12 blobs, into restore/FOLDER/" {
	run_steps "the storage account and the day" "download one whole point"
	assert_status 0
	local expected=(manifest.json) c
	[ -z "${HAS_OPLOG:-}" ] || expected+=(oplog.bson.gz)
	for c in conversations files invites messages users; do
		expected+=("tralivali_$c.bson.gz" "tralivali_$c.metadata.json")
	done
	[ "$(cd restore/backups/2024-01-15 && ls | LC_ALL=C sort)" = "$(printf '%s\n' "${expected[@]}" | LC_ALL=C sort)" ]
	# Only that point: the later one of the same day stays in the store.
	[ "$(ls restore/backups)" = 2024-01-15 ]
	cmp restore/backups/2024-01-15/manifest.json <(tv-blob-get -q backups/2024-01-15/manifest.json)
}

@test "every downloaded file matches its blob's sha256 metadata, and a changed byte does not" {
	run_steps "the storage account and the day" "download one whole point" "check every file against its sha256"
	assert_status 0
	[ "$(grep -c ': OK$' <<<"$output")" -eq "$(ls restore/backups/2024-01-15 | wc -l)" ]
	tv_flip_bit restore/backups/2024-01-15/tralivali_users.bson.gz 100
	{
		guide_step "the storage account and the day"
		echo FOLDER=backups/2024-01-15
		guide_step "check every file against its sha256"
	} >"$BATS_TEST_TMPDIR/check.sh"
	run --separate-stderr bash "$BATS_TEST_TMPDIR/check.sh"
	[[ $output == *"restore/backups/2024-01-15/tralivali_users.bson.gz: FAILED"* ]]
	refute_output_contains "tralivali_users.metadata.json: OK"
}

@test "the old guide's *.bson.gz pattern takes oplog.bson.gz, and nothing of an encrypted point, with exit 0" {
	export AZURE_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING
	mkdir "$BATS_TEST_TMPDIR/old" "$BATS_TEST_TMPDIR/enc"
	run az storage blob download-batch --source backups --destination "$BATS_TEST_TMPDIR/enc" \
		--pattern "backups/2024-01-16/*.bson.gz" --no-progress --output none
	assert_status 0
	[ -z "$(find "$BATS_TEST_TMPDIR/enc" -type f)" ]
	[ -n "${HAS_OPLOG:-}" ] || skip "the server keeps no oplog, so the point has no oplog.bson.gz"
	az storage blob download-batch --source backups --destination "$BATS_TEST_TMPDIR/old" \
		--pattern "backups/2024-01-15/*.bson.gz" --no-progress --output none
	[ -e "$BATS_TEST_TMPDIR/old/backups/2024-01-15/oplog.bson.gz" ]
}

@test "mongorestore restores the point: every document byte for byte, the indexes, the oplog from the top of --dir" {
	# The database changed since: the restore must bring back the point, not leave what is there.
	tv-gendata -s 9 messages 40 | tv-restore -q -c messages --drop
	tv-gendata -s 9 users 3 | tv-restore -q -c users --drop
	run_steps "the storage account and the day" "download one whole point" "restore with mongorestore, the oplog included"
	printf '%s\n' "$stderr" >&2
	assert_restored_indexes
	local c
	for c in "${!SIZES[@]}"; do
		assert_same_file "$BATS_FILE_TMPDIR/$c.expected" <(documents "$c")
		# The dump is what the point stored, byte for byte.
		cmp "dump/tralivali/$c.bson" <(tv-blob-get -q "backups/2024-01-15/tralivali_$c.bson.gz" | gunzip)
	done
	# No collection named oplog: the file was read as the oplog, not restored as a collection.
	run "$TV_BUILDDIR/tests/tv-mongo-cmd" '{"listCollections": 1, "nameOnly": true}'
	refute_output_contains '"name" : "oplog"'
	cp -r dump "$BATS_FILE_TMPDIR/dump"
	if [ -n "${HAS_OPLOG:-}" ]; then
		# A quiet point's oplog holds no entry: an empty file, found and replayed.
		[ -e dump/oplog.bson ]
		[[ $stderr == *"replaying oplog"* ]]
		[[ $stderr == *"applied 0 oplog entries"* ]]
	fi
}

@test "mongorestore replays the entries of the oplog.bson at the top of --dir (FerretDB refuses them: no applyOps)" {
	[ -n "${HAS_OPLOG:-}" ] || skip "the server keeps no oplog"
	[ -d "$BATS_FILE_TMPDIR/dump" ] || skip "needs the dump the test before made"
	cp -r "$BATS_FILE_TMPDIR/dump" dump
	# A quiet point's oplog is empty; here the file holds real entries, three inserts tv-oplog read.
	local since
	since=$(tv-oplog --last)
	tv-gendata -s 11 invites 3 | tv-restore -q -c invites
	tv-oplog -q --since "$since" >dump/oplog.bson
	[ "$(bsondump --quiet dump/oplog.bson | wc -l)" -eq 3 ]
	run --separate-stderr mongorestore --config ~/mongorestore.yaml --dir dump --drop --oplogReplay
	[[ $stderr == *"replaying oplog"* ]]
	if [ "$TV_MONGO_SERVER" = ferretdb ]; then
		# What is proven here: mongorestore took the file as the oplog and applied its entries
		# with applyOps; that FerretDB has no applyOps is FerretDB's limit, not the layout's.
		[[ $stderr == *"applyOps: (CommandNotFound)"* ]]
	else
		assert_status 0
		[[ $stderr == *"applied 3 oplog entries"* ]]
	fi
}

@test "an encrypted point: downloaded, checked, decrypted with tv-crypt -d, restored byte for byte" {
	tv-gendata -s 9 files 4 | tv-restore -q -c files --drop
	local script=$BATS_TEST_TMPDIR/enc.sh
	steps_script "the storage account and the day" "download one whole point" "check every file against its sha256" \
		"decrypt an encrypted point" "restore with mongorestore, the oplog included"
	# The same steps with the encrypted day's folder and the test's key.
	sed -e 's|^FOLDER=.*|FOLDER=backups/2024-01-16|' \
		-e "s|^export BACKUP_ENCRYPTION_KEY_FILE=.*|export BACKUP_ENCRYPTION_KEY_FILE=$BATS_FILE_TMPDIR/backup.key|" \
		"$BATS_TEST_TMPDIR/steps.sh" >"$script"
	run --separate-stderr bash "$script"
	printf '%s\n' "$stderr" >&2
	assert_restored_indexes
	[ "$(grep -c '\.enc: OK$' <<<"$output")" -ge 10 ]
	[ -z "$(find restore/backups/2024-01-16 -name '*.enc')" ]
	local c
	for c in "${!SIZES[@]}"; do
		assert_same_file "$BATS_FILE_TMPDIR/$c.expected" <(documents "$c")
	done
}
