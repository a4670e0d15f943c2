#!/usr/bin/env bats
# tv-prune against Azurite: retention fails closed when the credential cannot read manifests.

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
	load lib/blob
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING
	export BACKUP_BLOB_CONTAINER_NAME="t$BATS_TEST_NUMBER-$RANDOM"
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	unset TV_NOW BACKUP_RETENTION_DAYS
}

# Stores a complete backup for date $1 with the account key.
make_backup() {
	printf 'users %s' "$1" | tv-blob-put -q "backups/$1/tralivali_users.bson.gz"
	printf '{"id": "0123456789abcdef01234567", "createdAt": "%sT00:00:00Z", "type": "manual", "status": "Completed", "filePath": "backups/%s/", "size": 0, "collections": []}\n' "$1" "$1" |
		tv-blob-put -q "backups/$1/manifest.json"
}

@test "a SAS that may list and delete but not read deletes nothing and fails" {
	make_backup 2023-01-01
	make_backup 2023-02-01
	local sas
	sas=$(tv_az_account_sas 2099-01-01T00:00:00Z wld)
	run env BACKUP_BLOB_STORAGE_CONNECTION_STRING="BlobEndpoint=$AZURITE_BLOB_ENDPOINT;SharedAccessSignature=$sas" \
		bash -c 'tv-blob-ls backups/ | tv-prune --retention-days 30 --keep-min 7 --now 2024-06-01'
	assert_status 77
	assert_output_contains "backups/2023-02-01/manifest.json: cannot be read (exit 77): not deleting anything"
	refute_output_contains "${sas##*sig=}"
	[ "$(tv-blob-ls backups/ | cut -f 1 | tr '\n' ' ')" = "backups/2023-01-01/manifest.json backups/2023-01-01/tralivali_users.bson.gz backups/2023-02-01/manifest.json backups/2023-02-01/tralivali_users.bson.gz " ]
}
