#!/usr/bin/env bats
# tv-blob-put, tv-blob-get and tv-blob-ls against Azure Blob Storage (a real Azurite).

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_azurite
}

teardown_file() {
	load lib/common
	tv_stop_azurite
}

setup() {
	load lib/common
	load lib/azure
	load lib/blob
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING
	# Each test its own container, created on first use by the tools.
	export BACKUP_BLOB_CONTAINER_NAME="t${BATS_TEST_NUMBER}x$RANDOM"
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export TV_RETRY_MAX_SECONDS=5
	# az-rest.py signs its own requests with the account key.
	export AZURITE_ACCOUNT AZURITE_KEY
}

@test "an empty stream round-trips as an empty blob" {
	tv_blob_round_trip 0 empty.bin
	[ "$(tv-blob-ls)" = "$(printf 'empty.bin\t0\t')$(tv-blob-ls | cut -f3)" ]
}

@test "a one-byte stream round-trips" {
	tv_blob_round_trip 1 one.bin
}

@test "100 MB round-trip byte-exact" {
	tv_blob_round_trip 100000000 backups/2024-01-15/tralivali_messages.bson.gz
}

@test "1 GiB streams through and back byte-exact" {
	tv_blob_round_trip 1073741824 big/1gib.bin
	az_curl DELETE "/$BACKUP_BLOB_CONTAINER_NAME/big/1gib.bin" -o /dev/null
}

@test "the stored blob carries its MD5 and SHA-256, readable by plain curl" {
	tv_data 10000000 | tv-blob-put -q sum.bin
	run az_curl HEAD "/$BACKUP_BLOB_CONTAINER_NAME/sum.bin" -I
	assert_status 0
	assert_output_contains "x-ms-meta-sha256: $(tv_data 10000000 | tv_sha256)"
	assert_output_contains "content-md5: $(tv_data 10000000 | openssl md5 -binary | base64)"
	az_curl GET "/$BACKUP_BLOB_CONTAINER_NAME/sum.bin" | cmp - <(tv_data 10000000)
}

@test "an upload uses several blocks, each with its MD5" {
	tv_data 10000000 | tv-blob-put -q blocks.bin
	run az_curl GET "/$BACKUP_BLOB_CONTAINER_NAME/blocks.bin?comp=blocklist"
	assert_status 0
	[ "$(grep -o '<Block>' <<<"$output" | wc -l)" -eq 3 ]
}

@test "tv-blob-put logs one line per blob, the seed's; -v adds its size" {
	run --separate-stderr bash -c 'printf abc | tv-blob-put backups/a.gz'
	assert_status 0
	[ "$(grep -c . <<<"$stderr")" -eq 1 ]
	[[ $stderr == *"Uploaded backup to: backups/a.gz" ]]
	run --separate-stderr bash -c 'printf abc | tv-blob-put -v backups/b.gz'
	assert_status 0
	[[ $stderr == *"backups/b.gz: 3 bytes, sha256 "* ]]
}

@test "--no-commit leaves nothing visible and --commit makes the blob appear whole" {
	tv_data 9000000 | tv-blob-put -q --no-commit --receipt "$BATS_TEST_TMPDIR/r" two
	run tv-blob-get two
	assert_status 66
	[ -z "$(tv-blob-ls)" ]
	[ "$(jq -r .committed "$BATS_TEST_TMPDIR/r")" = false ]
	[ "$(jq -r .size "$BATS_TEST_TMPDIR/r")" = 9000000 ]
	run tv-blob-put --commit --receipt "$BATS_TEST_TMPDIR/r" two </dev/null
	assert_status 0
	assert_output_contains "Uploaded backup to: two"
	[ "$(tv-blob-get -q two | tv_sha256)" = "$(tv_data 9000000 | tv_sha256)" ]
	[ "$(jq -r .committed "$BATS_TEST_TMPDIR/r")" = true ]
	[ "$(jq -r .sha256 "$BATS_TEST_TMPDIR/r")" = "$(tv_data 9000000 | tv_sha256)" ]
}

@test "--abort after --no-commit keeps the earlier blob of the same name" {
	printf old | tv-blob-put -q two
	tv_data 5000000 | tv-blob-put -q --no-commit --receipt "$BATS_TEST_TMPDIR/r" two
	run tv-blob-put --abort --receipt "$BATS_TEST_TMPDIR/r" two
	assert_status 0
	[ "$(tv-blob-get -q two)" = old ]
	[ "$(tv-blob-ls | cut -f1,2)" = "$(printf 'two\t3')" ]
}

@test "an upload whose input fails commits nothing and keeps the earlier blob" {
	printf old | tv-blob-put -q a
	run tv-blob-put -q a < "$BATS_TEST_TMPDIR"
	assert_status 74
	[ "$(tv-blob-get -q a)" = old ]
}

@test "an upload killed mid-stream commits nothing and keeps the earlier blob" {
	printf old | tv-blob-put -q a
	tv-blob-put -q a < <(tv_data 9000000; sleep 10) &
	local pid=$!
	sleep 1
	kill -9 "$pid"
	wait "$pid" || true
	[ "$(tv-blob-get -q a)" = old ]
}

@test "an upload never replaces an earlier blob of the same name: exit 73, nothing overwritten" {
	printf old | tv-blob-put -q a
	run bash -c 'printf new | tv-blob-put -q a'
	assert_status 73
	assert_output_contains "a already exists in the store; nothing was overwritten"
	[ "$(tv-blob-get -q a)" = old ]
}

@test "of two commits racing for one name exactly one wins" {
	for i in 1 2 3 4 5; do
		tv_blob_race "race/$i"
	done
}

@test "tv-blob-get of a missing blob exits 66" {
	run tv-blob-get nothing/here
	assert_status 66
	assert_output_contains "nothing/here: no such blob"
}

@test "an archived blob is not damaged but not readable now: tv-blob-get exits 75 saying how to rehydrate it" {
	echo data | tv-blob-put -q cold/blob
	python3 "$TV_SRCDIR/tests/az-rest.py" tier "$BACKUP_BLOB_CONTAINER_NAME" cold/blob Archive
	run --separate-stderr tv-blob-get cold/blob
	assert_status 75
	[ -z "$output" ]
	[[ $stderr == *"cold/blob"*"BlobArchived"*"the blob is in the Archive tier and cannot be read until it is rehydrated (az storage blob set-tier --tier Hot --rehydrate-priority Standard|High"* ]]
}

@test "tv-blob-get exits 65 when the blob does not match its stored SHA-256" {
	printf 'abcdef' >"$BATS_TEST_TMPDIR/f"
	python3 "$TV_SRCDIR/tests/az-rest.py" put "$BACKUP_BLOB_CONTAINER_NAME" bad "$BATS_TEST_TMPDIR/f" \
		"x-ms-meta-sha256:$(printf other | tv_sha256)"
	run --separate-stderr tv-blob-get bad
	assert_status 65
	[[ "$stderr" == *"SHA-256 mismatch"* ]]
}

@test "a wrong account key exits 77 and never prints the key" {
	local key
	key=$(head -c 64 /dev/urandom | base64 -w0)
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "$key")
	run bash -c 'printf x | tv-blob-put x'
	assert_status 77
	assert_output_contains "access denied"
	refute_output_contains "$key"
	run tv-blob-ls
	assert_status 77
	refute_output_contains "$key"
	run tv-blob-get x
	assert_status 77
}

@test "a shared access signature works for put, get and list" {
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=$AZURITE_BLOB_ENDPOINT;SharedAccessSignature=$(tv_az_account_sas 2099-01-01T00:00:00Z)"
	tv_blob_round_trip 5000000 sas/blob.bin
	[ "$(tv-blob-ls | cut -f1,2)" = "$(printf 'sas/blob.bin\t5000000')" ]
}

@test "an expired shared access signature exits 77 and never prints the signature" {
	local sas
	sas=$(tv_az_account_sas 2001-01-01T00:00:00Z)
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=$AZURITE_BLOB_ENDPOINT;SharedAccessSignature=$sas"
	run bash -c 'printf x | tv-blob-put x'
	assert_status 77
	refute_output_contains "${sas##*sig=}"
	run tv-blob-ls
	assert_status 77
}

@test "a malformed connection string exits 64 without echoing the key" {
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="AccountName=a;AccountKey=c2VjcmV0c2VjcmV0;Bogus"
	run tv-blob-ls
	assert_status 64
	refute_output_contains "c2VjcmV0c2VjcmV0"
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="AccountName=a"
	run tv-blob-ls
	assert_status 64
	assert_output_contains "AccountKey or SharedAccessSignature"
}

@test "a 4000-character AccountKey exits 64 with a clear message, not a crash" {
	local key
	key=$(head -c 3000 /dev/urandom | base64 -w0)
	[ "${#key}" -eq 4000 ]
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "$key")
	run tv-blob-ls
	assert_status 64
	assert_output_contains "BACKUP_BLOB_STORAGE_CONNECTION_STRING: AccountKey is not a base64 key of at most 128 bytes"
	refute_output_contains "${key:0:40}"
}

@test "a BlobEndpoint that is not an http(s) URL with a host exits 64 naming the setting" {
	local e
	for e in 'abcdefg://' 'abcdefg://;' 'https://' 'https:///x' 'https://h:port/' 'https://u@h/' 'h/x' '://'; do
		export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=$e;SharedAccessSignature=sv=1&sig=c2VjcmV0"
		run tv-blob-ls
		assert_status 64
		assert_output_contains "BACKUP_BLOB_STORAGE_CONNECTION_STRING: BlobEndpoint"
		refute_output_contains "c2VjcmV0"
	done
}

@test "plain http to a host that is not loopback is refused with 64 unless BACKUP_ALLOW_INSECURE_HTTP=1" {
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=http://192.0.2.1/acct;SharedAccessSignature=sv=1&sig=c2VjcmV0"
	run tv-blob-ls
	assert_status 64
	assert_output_contains "refusing plain http to 192.0.2.1"
	refute_output_contains "c2VjcmV0"
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=$AZURITE_KEY"
	run tv-blob-ls
	assert_status 64
	assert_output_contains "refusing plain http to acct.blob.core.windows.net"
	# Opted in, the tool tries the network (TEST-NET-1 answers nothing).
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=http://192.0.2.1/acct;SharedAccessSignature=sv=1&sig=c2VjcmV0"
	run env BACKUP_ALLOW_INSECURE_HTTP=1 TV_CONNECT_TIMEOUT_SECONDS=1 TV_RETRY_MAX_SECONDS=0 tv-blob-ls
	[ "$status" -eq 69 ] || [ "$status" -eq 75 ]
	refute_output_contains "refusing"
}

@test "plain http to loopback (localhost, 127.0.0.0/8, ::1) and UseDevelopmentStorage stay allowed" {
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_connection_string "" "http://localhost:$AZURITE_PORT/$AZURITE_ACCOUNT")
	tv_blob_round_trip 1000 loop/localhost
	[ "$(tv-blob-ls loop/ | cut -f1)" = loop/localhost ]
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true"
	run env TV_CONNECT_TIMEOUT_SECONDS=1 TV_RETRY_MAX_SECONDS=0 tv-blob-ls
	refute_output_contains "refusing"
}

@test "a backup SAS (sp=wc) uploads, but never overwrites, and cannot read, list or delete" {
	local backup
	backup=$(tv_az_sas_connection_string wc)
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$backup
	run bash -c 'printf one | tv-blob-put b/x'
	assert_status 0
	run bash -c 'printf two | tv-blob-put b/x'
	assert_status 73
	assert_output_contains "b/x already exists in the store; nothing was overwritten"
	run tv-blob-get --role backup b/x
	assert_status 77
	run tv-blob-ls --role backup
	assert_status 77
	run tv-blob-ls --role backup --can write
	assert_status 0
	run tv-blob-ls --role backup --can delete
	assert_status 1
	assert_output_contains "the backup role's credential may not delete"
	run tv-blob-ls --role backup --can read
	assert_status 1
	# The service itself refuses the delete the credential does not grant.
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
		"$AZURITE_BLOB_ENDPOINT/$BACKUP_BLOB_CONTAINER_NAME/b/x?$(tv_az_account_sas 2099-01-01T00:00:00Z wc)"
	[ "$output" = 403 ]
	[ "$(az_curl GET "/$BACKUP_BLOB_CONTAINER_NAME/b/x")" = one ]
}

@test "a restore SAS (sp=rl) reads and lists in the restore role, and cannot write or delete" {
	printf data | tv-blob-put -q r/x
	# The backup credential cannot read: reads work only through BACKUP_RESTORE_CONNECTION_STRING.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_sas_connection_string wc)
	export BACKUP_RESTORE_CONNECTION_STRING=$(tv_az_sas_connection_string rl)
	[ "$(tv-blob-get -q r/x)" = data ]
	[ "$(tv-blob-ls | cut -f1,2)" = "$(printf 'r/x\t4')" ]
	run tv-blob-ls --can delete
	assert_status 1
	run tv-blob-ls --can write
	assert_status 1
	run tv-blob-ls --can list
	assert_status 0
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$BACKUP_RESTORE_CONNECTION_STRING
	run bash -c 'printf x | tv-blob-put r/y'
	assert_status 77
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
		"$AZURITE_BLOB_ENDPOINT/$BACKUP_BLOB_CONTAINER_NAME/r/x?$(tv_az_account_sas 2099-01-01T00:00:00Z rl)"
	[ "$output" = 403 ]
}

@test "a prune SAS (sp=rdl) lists, reads and deletes: tv-prune uses it, the backup credential cannot" {
	local d
	for d in 2000-01-01 2000-01-02; do
		printf u | tv-blob-put -q "backups/$d/tralivali_users.bson.gz"
		jq -cn --arg f "backups/$d/" --arg t "${d}T00:00:00Z" '{id: "0123456789abcdef01234567",
			createdAt: $t, type: "manual", status: "Completed", filePath: $f, size: 0, collections: [],
			snapshot: "per-collection"}' | tv-blob-put -q "backups/$d/manifest.json"
	done
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_sas_connection_string wc)
	export BACKUP_PRUNE_CONNECTION_STRING=$(tv_az_sas_connection_string rdl)
	run tv-blob-ls --can delete
	assert_status 1
	run tv-blob-ls --role prune --can delete
	assert_status 0
	run bash -c 'tv-blob-ls --role prune backups/ | tv-prune --retention-days 1 --keep-min 1 --now 2000-02-01'
	assert_status 0
	assert_output_contains "Cleaned up 1 old backup(s)"
	[ "$(tv-blob-ls --role prune backups/ | cut -f1)" = "$(printf '%s\n' backups/2000-01-02/manifest.json backups/2000-01-02/tralivali_users.bson.gz)" ]
}

@test "an account key may do everything; a SAS without sp= is assumed to grant nothing" {
	run tv-blob-ls --can delete
	assert_status 0
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=$AZURITE_BLOB_ENDPOINT;SharedAccessSignature=si=policy&sv=2019-12-12&sig=c2VjcmV0"
	run tv-blob-ls --role prune --can delete
	assert_status 1
	assert_output_contains "cannot tell what this shared access signature permits"
	run tv-blob-ls --can erase
	assert_status 64
}

@test "tv-blob-ls prints name, size and UTC time sorted by name, filtered by prefix" {
	printf 12 | tv-blob-put -q backups/2024-01-02/b
	printf 1 | tv-blob-put -q backups/2024-01-01/a
	printf 123 | tv-blob-put -q other/c
	run --separate-stderr tv-blob-ls backups/
	assert_status 0
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^backups/2024-01-01/a$'\t'1$'\t'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
	[[ "${lines[1]}" == "$(printf 'backups/2024-01-02/b\t2\t')"* ]]
	# The time is the store's Last-Modified, in UTC.
	local lm
	lm=$(az_curl HEAD "/$BACKUP_BLOB_CONTAINER_NAME/backups/2024-01-01/a" -I | tr -d '\r' | sed -n 's/^last-modified: //Ip')
	[ "$(cut -f3 <<<"${lines[0]}")" = "$(date -u -d "$lm" +%Y-%m-%dT%H:%M:%SZ)" ]
}

@test "tv-blob-ls --json prints an array of name, size and lastModified" {
	printf 1 | tv-blob-put -q x/a
	run --separate-stderr tv-blob-ls --json x/
	assert_status 0
	[ "$(jq -c 'map({name,size})' <<<"$output")" = '[{"name":"x/a","size":1}]' ]
	[[ "$(jq -r '.[0].lastModified' <<<"$output")" =~ ^[0-9-]{10}T[0-9:]{8}Z$ ]]
}

@test "tv-blob-ls of a container that does not exist yet prints nothing and succeeds" {
	run --separate-stderr tv-blob-ls
	assert_status 0
	[ -z "$output" ]
}

@test "tv-blob-ls follows continuation markers past 5,000 blobs" {
	python3 "$TV_SRCDIR/tests/az-rest.py" fill "$BACKUP_BLOB_CONTAINER_NAME" many/ 5001
	run --separate-stderr tv-blob-ls -v many/
	assert_status 0
	[ "${#lines[@]}" -eq 5001 ]
	[ "$(printf '%s\n' "${lines[@]}" | cut -f1)" = "$(seq -w 1 5001 | sed 's|^|many/|')" ]
	[[ "$stderr" == *"more follow"* ]]
}

@test "stat and delete (for tv-prune) work against Azure" {
	run "$TV_BUILDDIR/tests/unit/test-store"
	assert_status 0
	refute_output_contains "not ok"
}
