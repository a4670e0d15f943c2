/*
 * Unit tests of store.h calls the tools do not cover: create-only commits, stat and delete
 * (for tv-prune), roles and what a credential may do.
 * Uses the store BACKUP_BLOB_STORAGE_CONNECTION_STRING names, or a fresh file: store
 * when it is unset, so that tests/tv-blob-azure.bats can run it against Azurite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "tap.h"

/* Stores text as name and commits it; returns 0 or the exit code. */
static int
put(struct tv_store *store, const char *name, const char *text)
{
	struct tv_upload *up;
	struct tv_receipt r;
	int rc;

	if ((rc = tv_upload_begin(store, name, &up)) != 0)
		return rc;
	if ((rc = tv_upload_write(up, text, strlen(text))) != 0) {
		tv_upload_cancel(up);
		return rc;
	}
	if ((rc = tv_upload_finish(up, &r)) == 0)
		rc = tv_store_commit(store, &r);
	tv_receipt_free(&r);
	return rc;
}

static int
count_blob(const struct tv_blob *b, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/tv-store-XXXXXX", cs[64];
	struct tv_blob b = { .name = NULL };
	struct tv_store *store;
	enum tv_store_role role;
	time_t now = time(NULL);
	int n = 0;

	tv_log_init("test-store");
	tv_log_set_level(TV_LOG_QUIET);
	if (getenv("BACKUP_BLOB_STORAGE_CONNECTION_STRING") == NULL) {
		snprintf(cs, sizeof(cs), "file:%s", mkdtemp(dir));
		setenv("BACKUP_BLOB_STORAGE_CONNECTION_STRING", cs, 1);
		setenv("BACKUP_BLOB_CONTAINER_NAME", "unit", 1);
	}
	store = tv_store_open();

	ok(put(store, "d/one", "12345") == 0, "a blob is stored");
	ok(tv_store_stat(store, "d/one", &b) == 0, "stat finds it");
	ok(b.size == 5, "stat reports its size (%llu)", b.size);
	ok(b.mtime > now - 600 && b.mtime < now + 600, "stat reports a recent modification time");
	ok(tv_store_stat(store, "d/none", &b) == EX_NOINPUT, "stat of a missing blob is 66");
	ok(put(store, "d/one", "other") == EX_CANTCREAT, "committing a name that exists is 73");
	ok(tv_store_stat(store, "d/one", &b) == 0 && b.size == 5, "and the blob is not replaced");
	ok(put(store, "d/two", "x") == 0, "a second blob is stored");
	ok(tv_store_delete(store, "d/one") == 0, "delete removes a blob");
	ok(tv_store_stat(store, "d/one", &b) == EX_NOINPUT, "a deleted blob is gone");
	ok(tv_store_delete(store, "d/one") == 0, "deleting a blob that is gone is not an error");
	ok(tv_store_list(store, "d/", count_blob, &n) == 0 && n == 1, "the other blob is still listed");
	ok(tv_store_delete(store, "../escape") == EX_USAGE, "delete refuses a name that escapes the container");
	ok(tv_store_delete(store, "d/two") == 0, "the last blob is deleted");
	n = 0;
	ok(tv_store_list(store, "", count_blob, &n) == 0 && n == 0, "the container lists empty");
	ok(tv_store_may(store, 'd') && tv_store_may(store, 'r') && tv_store_may(store, 'w') &&
	    tv_store_may(store, 'l'), "a file store or an account key may do everything");
	ok(tv_store_role_parse("prune", &role) == 0 && role == TV_ROLE_PRUNE, "roles are parsed by name");
	ok(tv_store_role_parse("admin", &role) == EX_USAGE, "an unknown role is a usage error");
	ok(strcmp(tv_store_role_name(TV_ROLE_RESTORE), "restore") == 0, "roles are named");
	tv_store_close(store);
	if (strncmp(cs, "file:", 5) == 0) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		ok(system(cmd) == 0, "the temporary store is removed");
	}
	return tap_done();
}
