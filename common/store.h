/* store.h: the blob store the tools write backups to: Azure Blob Storage or a local directory. */
#ifndef TV_STORE_H
#define TV_STORE_H

#include <stddef.h>
#include <time.h>

/*
 * Every function returning int returns 0 on success or a sysexits(3) code
 * after logging why: 64 bad name, 65 checksum or size mismatch, 66 no such
 * blob, 69 store unreachable or circuit open, 73 name already taken (nothing
 * is ever overwritten), 74 local I/O error, 75 retries exhausted, 77 access
 * denied.  Tools exit with that code.
 */

struct tv_store;
struct tv_upload;

/* What an upload stored: enough to commit or discard it later, from another process. */
struct tv_receipt {
	char			*name;		/* blob name */
	unsigned long long	 size;		/* bytes stored */
	char			 md5[25];	/* whole blob MD5, base64 */
	char			 sha256[65];	/* whole blob SHA-256, hex */
	int			 committed;	/* 1 once visible under name */
	char			*store;		/* "file" or "azure" */
	char			*staging;	/* file: the temporary file; azure: the upload id */
	unsigned long		 blocks;	/* azure: blocks staged */
};

/* One entry of a listing. */
struct tv_blob {
	const char		*name;
	unsigned long long	 size;
	time_t			 mtime;		/* last modified, UTC */
	/* tv_store_stat only: the checksums recorded when it was stored, "" if none. */
	char			 sha256[65];
	char			 md5[25];
};

/* Called once per blob of a listing, in name order; a nonzero return stops the listing with that code. */
typedef int (*tv_list_fn)(const struct tv_blob *blob, void *arg);

/*
 * Who opens the store.  Each role may have its own credential, so that each
 * holds only the permissions it needs (least privilege); an unset one falls
 * back to BACKUP_BLOB_STORAGE_CONNECTION_STRING (each also as NAME_FILE or
 * in appsettings.json).
 *   backup   writes new blobs (create, write; no read, no delete: writes are
 *            create-only): BACKUP_BLOB_STORAGE_CONNECTION_STRING.
 *   restore  reads and lists (verify, restore, the flows' listings):
 *            BACKUP_RESTORE_CONNECTION_STRING.
 *   prune    lists, reads and deletes (retention): BACKUP_PRUNE_CONNECTION_STRING.
 *   copy     the second store, a whole store of its own (tv-copy writes, lists
 *            and reads it): BACKUP_COPY_CONNECTION_STRING, container
 *            BACKUP_COPY_CONTAINER_NAME (default BACKUP_BLOB_CONTAINER_NAME);
 *            it never falls back to the first store's credential.
 * tv-blob-put writes as backup; tv-blob-get and tv-blob-ls default to
 * restore; tv-prune is prune.
 */
enum tv_store_role {
	TV_ROLE_BACKUP,
	TV_ROLE_RESTORE,
	TV_ROLE_PRUNE,
	TV_ROLE_COPY,
};

/* Opens the store with the backup role's credential, container BACKUP_BLOB_CONTAINER_NAME; exits on failure. */
struct tv_store *tv_store_open(void);
/* Opens the store with the credential of role; exits on failure. */
struct tv_store *tv_store_open_role(enum tv_store_role role);
/* Returns the name of a role: backup, restore, prune or copy. */
const char *tv_store_role_name(enum tv_store_role role);
/* Sets *role from its name (backup, restore, prune, copy); returns 0, or 64 after logging why. */
int tv_store_role_parse(const char *name, enum tv_store_role *role);
/*
 * Returns 1 if the store's credential grants perm: 'r' read, 'l' list, 'w'
 * write (create or write), 'd' delete.  An account key or a file store grants
 * all; a SAS grants what its sp= says.  0 if not, or if it cannot be known
 * (a SAS under a stored access policy).
 */
int tv_store_may(const struct tv_store *store, char perm);
/* Releases a store. */
void tv_store_close(struct tv_store *store);
/* Returns 0 if name is a usable blob name, else logs why and returns 64. */
int tv_store_check_name(const char *name);

/* Starts uploading blob name; nothing is visible under name until tv_upload_commit. */
int tv_upload_begin(struct tv_store *store, const char *name, struct tv_upload **up);
/* Adds len bytes to the upload. */
int tv_upload_write(struct tv_upload *up, const void *buf, size_t len);
/* Stores everything written so far, still invisible, and fills r (which tv_receipt_free releases); frees up. */
int tv_upload_finish(struct tv_upload *up, struct tv_receipt *r);
/* Discards an upload that was never finished; frees up. */
void tv_upload_cancel(struct tv_upload *up);

/*
 * Makes a finished upload visible under its name, whole, and sets r->committed.
 * Writes are create-only: if a blob of that name exists, nothing is replaced
 * and the commit fails with 73 (of two racing commits, exactly one wins).
 */
int tv_store_commit(struct tv_store *store, struct tv_receipt *r);
/* Discards a finished, uncommitted upload. */
int tv_store_abort(struct tv_store *store, const struct tv_receipt *r);

/* Writes blob name to fd, resuming after broken connections, and checks its size and checksum. */
int tv_store_get(struct tv_store *store, const char *name, int fd);
/* Calls fn for every blob whose name starts with prefix (NULL or "" for all), in name order. */
int tv_store_list(struct tv_store *store, const char *prefix, tv_list_fn fn, void *arg);
/* Fills *blob (name excepted) with blob name's size, modification time and recorded checksums. */
int tv_store_stat(struct tv_store *store, const char *name, struct tv_blob *blob);
/* Deletes blob name; a blob that is already gone is not an error. */
int tv_store_delete(struct tv_store *store, const char *name);
/* Returns 1 if blobs can be copied from src to dst server-side (both are Azure), else 0. */
int tv_store_can_copy(const struct tv_store *dst, const struct tv_store *src);
/*
 * Copies blob name from src to dst server-side, create-only (73 if dst has
 * one of that name), without the bytes passing through this host: src's
 * recorded SHA-256 must be sha256 (unless NULL), and the copy must arrive with
 * src's size and checksums (65 if not).  64 unless tv_store_can_copy.
 */
int tv_store_copy(struct tv_store *dst, struct tv_store *src, const char *name, const char *sha256);
/* Returns 0 if the store's container exists, 66 (not logged) if it does not. */
int tv_store_container(struct tv_store *store);

/* Writes r to path as JSON, atomically. */
int tv_receipt_write(const struct tv_receipt *r, const char *path);
/* Reads a receipt tv_receipt_write wrote. */
int tv_receipt_read(struct tv_receipt *r, const char *path);
/* Releases the strings a receipt holds. */
void tv_receipt_free(struct tv_receipt *r);

#endif
