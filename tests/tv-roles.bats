#!/usr/bin/env bats
# Least privilege end to end: tv-backup on Azurite with one SAS per role, each with exactly the
# permissions its role needs.  A backup host without a credential that may delete never prunes.

bats_require_minimum_version 1.5.0

setup_file() {
	load lib/common
	tv_start_mongo
	tv_start_azurite
	tv-gendata -s 7 invites 5 | tv-restore -q -c invites --drop
}

teardown_file() {
	load lib/common
	tv_stop_mongo
	tv_stop_azurite
}

setup() {
	load lib/common
	load lib/azure
	load lib/blob
	export BACKUP_STATE_DIR=$BATS_TEST_TMPDIR/state
	export BACKUP_BLOB_CONTAINER_NAME="r${BATS_TEST_NUMBER}x$RANDOM" BACKUP_RETENTION_DAYS=10
	export AZURITE_ACCOUNT AZURITE_KEY
	# An old recovery point, stored with the account key, that retention would remove.
	export BACKUP_BLOB_STORAGE_CONNECTION_STRING=$AZURITE_CONNECTION_STRING
	TV_NOW=2024-01-01T03:00:00Z tv-backup -q --collections invites >/dev/null
	# From here on the host holds only SAS: create and write for backups, read and list for
	# its listings and checks.
	BACKUP_BLOB_STORAGE_CONNECTION_STRING=$(tv_az_sas_connection_string wc)
	export BACKUP_RESTORE_CONNECTION_STRING
	BACKUP_RESTORE_CONNECTION_STRING=$(tv_az_sas_connection_string rl)
}

@test "with only backup and restore SAS, tv-backup backs up, skips retention, and deletes nothing" {
	run --separate-stderr env TV_NOW=2024-03-01T03:00:00Z tv-backup --collections invites
	assert_status 0
	[[ $stderr == *"Retention skipped: the prune role's credential may not delete"* ]]
	[ "$(tv-blob-ls backups/2024-01-01/ | wc -l)" -ge 2 ]
	[ "$(tv-blob-ls backups/2024-03-01/ | wc -l)" -ge 2 ]
	run tv-verify 2024-03-01
	assert_status 0
}

@test "with a prune SAS as well, tv-backup prunes through it" {
	export BACKUP_PRUNE_CONNECTION_STRING
	BACKUP_PRUNE_CONNECTION_STRING=$(tv_az_sas_connection_string rdl)
	run --separate-stderr env TV_NOW=2024-03-01T03:00:00Z tv-backup --collections invites --keep-min 1
	assert_status 0
	[[ $stderr == *"Cleaned up 1 old backup(s)"* ]]
	[ -z "$(tv-blob-ls backups/2024-01-01/)" ]
	[ "$(tv-blob-ls backups/2024-03-01/ | wc -l)" -ge 2 ]
}

@test "the backup SAS cannot overwrite a recovery point, nor read or delete one" {
	run bash -c 'printf x | tv-blob-put backups/2024-01-01/manifest.json'
	assert_status 73
	run tv-blob-get --role backup backups/2024-01-01/manifest.json
	assert_status 77
	run curl -s -o /dev/null -w '%{http_code}' -X DELETE \
		"$AZURITE_BLOB_ENDPOINT/$BACKUP_BLOB_CONTAINER_NAME/backups/2024-01-01/manifest.json?$(tv_az_account_sas 2099-01-01T00:00:00Z wc)"
	[ "$output" = 403 ]
	[ "$(tv-blob-get backups/2024-01-01/manifest.json | jq -r .status)" = Completed ]
}
