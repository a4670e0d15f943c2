/* manifest.h: a backup folder's manifest.json, the one place it is written, read and checked. */
#ifndef TV_MANIFEST_H
#define TV_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <bson/bson.h>

#include "oplog.h"

/*
 * A manifest comes from the store and is untrusted: a name in it becomes a
 * blob name, a collection name becomes a database collection.  Parsing checks
 * every field and, on the first bad one, fills the error buffer with a
 * message naming the field and returns 65.  Unknown fields are ignored, so
 * that a newer tool's manifest still reads.
 */

#define TV_MANIFEST_ERR_MAX	256
/* The longest collection name a manifest may hold. */
#define TV_COLLECTION_NAME_MAX	120

/* One collection's dump and metadata in a backup folder. */
struct tv_manifest_collection {
	char		*name;
	char		*file;			/* {folder}/tralivali_{name}.bson.gz[.enc] */
	char		*metadata_file;		/* {folder}/tralivali_{name}.metadata.json[.enc], or NULL */
	int64_t		 documents;
	int64_t		 bson_bytes;
	int64_t		 compressed_bytes;
	char		 sha256[65];
	char		 metadata_sha256[65];	/* "" when the manifest has none */
};

/* How the collections relate in time. */
enum tv_snapshot {
	TV_SNAPSHOT_UNKNOWN,		/* an older manifest that does not say */
	TV_SNAPSHOT_PER_COLLECTION,	/* standalone server: each collection as of its own export */
	TV_SNAPSHOT_CONSISTENT		/* replica set: all as of consistent_end, with the oplog between */
};

struct tv_manifest {
	char		*id;			/* 24 hex digits */
	char		*created_at;		/* ISO-8601 UTC */
	time_t		 created;
	char		*type;			/* scheduled | manual */
	char		*status;		/* Completed | Failed */
	char		*file_path;		/* the folder, with a trailing slash */
	char		*database;		/* the database backed up; NULL in an older manifest */
	int64_t		 size;
	struct tv_manifest_collection *collections;
	size_t		 ncollections;
	enum tv_snapshot snapshot;
	struct tv_oppos consistent_start;	/* TV_SNAPSHOT_CONSISTENT only */
	struct tv_oppos consistent_end;
	char		*oplog_file;		/* {folder}/oplog.bson.gz[.enc] */
	char		 oplog_sha256[65];
	int64_t		 oplog_entries;
};

/* Returns 1 if s is a collection name a backup may hold: [A-Za-z0-9_][A-Za-z0-9_.-]*, no "..", at most 120 bytes. */
int tv_collection_name_ok(const char *s);
/* Returns 1 if s is a database name a backup may come from: a collection name without '.'. */
int tv_database_name_ok(const char *s);
/* Returns 1 if s is a backup folder: ROOT/YYYY-MM-DD or ROOT/YYYY-MM-DDTHHMMSSZ (no trailing slash); sets *when if not NULL. */
int tv_folder_ok(const char *s, time_t *when);
/* Returns 1 if name is {folder}/{base}, or that followed by ".enc" (client-side encryption), else 0. */
int tv_blob_name_ok(const char *name, const char *folder, const char *base);

/* Parses an ISO-8601 UTC time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z]); returns -1 if s is not one. */
time_t tv_iso_time(const char *s);
/* Writes t as YYYY-MM-DDTHH:MM:SSZ into buf (at least 21 bytes). */
void tv_iso_format(time_t t, char *buf, size_t len);

/*
 * Parses and checks the manifest JSON in buf.  Its blob names must be the
 * canonical ones of folder (NULL: the manifest's own filePath).  Returns 0,
 * or 65 with err filled.
 */
int tv_manifest_parse(const char *buf, size_t len, const char *folder, struct tv_manifest *m,
    char err[TV_MANIFEST_ERR_MAX]);
/* Reads a manifest JSON file (at most 1 MiB) and parses it; returns 0, 65 (err filled) or 74. */
int tv_manifest_read_file(int fd, const char *name, const char *folder, struct tv_manifest *m,
    char err[TV_MANIFEST_ERR_MAX]);
/*
 * Fills collection entry c from tv-export's --stats file ({collection, documents,
 * bsonBytes}) and the tv-blob-put receipts of its dump and (if not NULL) its
 * metadata; returns 0 or an exit code after logging why.
 */
int tv_manifest_collection_from(const char *stats, const char *receipt, const char *metadata_receipt,
    struct tv_manifest_collection *c);
/* Appends the manifest's fields to doc, in the order manifest.json has them. */
void tv_manifest_append(const struct tv_manifest *m, bson_t *doc);
/* Releases what a manifest holds. */
void tv_manifest_free(struct tv_manifest *m);

#endif
