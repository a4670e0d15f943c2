/* oplog.h: oplog positions ("T.I"), the names of oplog slices in the store, and which entries belong to a database. */
#ifndef TV_OPLOG_H
#define TV_OPLOG_H

#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>

/*
 * A position in the oplog: the entry's ts, seconds since the epoch (T) and
 * the increment within that second (I).  Written "T.I" everywhere (flags,
 * blob names, JSON): "1705287600.1".  Positions order by T, then I.
 */
struct tv_oppos {
	uint32_t	t;
	uint32_t	i;
};

/* Room for the longest "T.I" and its NUL. */
#define TV_OPPOS_LEN	22
/* Room for "2024-01-15T03:00:00Z" and its NUL. */
#define TV_ISO_LEN	21

/*
 * Blob names: oplog/{YYYY-MM-DD}/{from}-{to}{suffix}, dated by the UTC day of
 * from.  A slice holds the database's entries after from up to and including
 * to (the last position the capture read, of any database), so a chain is
 * continuous when each slice starts where the one before it ends.  Beside it
 * is its index (count, sizes, checksum); a break record says the entries
 * after from up to to are lost.
 */
#define TV_OPLOG_ROOT		"oplog"
#define TV_SLICE_SUFFIX		".bson.gz"
#define TV_SLICE_INDEX_SUFFIX	".json"
#define TV_BREAK_SUFFIX		".break.json"

/* Parses "T.I" (two decimal numbers that fit 32 bits each); returns 0, or -1 if s is not one. */
int tv_oppos_parse(const char *s, struct tv_oppos *p);
/* Writes p as "T.I" into buf and returns buf. */
char *tv_oppos_format(const struct tv_oppos *p, char buf[TV_OPPOS_LEN]);
/* Returns <0, 0 or >0 as a is before, at or after b. */
int tv_oppos_cmp(const struct tv_oppos *a, const struct tv_oppos *b);
/* Writes the UTC time of p's seconds as ISO-8601 ("2024-01-15T03:00:00Z") into buf and returns buf. */
char *tv_oppos_iso(const struct tv_oppos *p, char buf[TV_ISO_LEN]);
/* Reads an oplog entry's ts; returns 0, or -1 if it has no timestamp ts. */
int tv_oppos_of_entry(const bson_t *entry, struct tv_oppos *p);

/* Writes the name of the blob with bounds from and to and the given suffix; returns 0, or -1 if size is too small. */
int tv_oplog_name(char *buf, size_t size, const struct tv_oppos *from, const struct tv_oppos *to,
    const char *suffix);
/*
 * Reads from and to out of a slice's name (with or without the day folder
 * and the .bson.gz suffix); returns 0, or -1 if name is not a slice's.
 */
int tv_slice_parse(const char *name, struct tv_oppos *from, struct tv_oppos *to);

/* What tv_oplog_select decided for an entry. */
enum tv_oplog_choice {
	TV_OPLOG_DROP,		/* another database's, or a no-op */
	TV_OPLOG_KEEP,		/* the database's, as it is */
	TV_OPLOG_NARROWED	/* an applyOps with other databases' operations: *out holds the database's part */
};

/*
 * Decides whether an oplog entry belongs to database db: its namespace is
 * "db.<collection>" or "db.$cmd"; an applyOps (alone or a transaction's) is
 * narrowed to db's operations, and kept if any remain or if it closes a
 * transaction whose earlier entries may hold some; a cross-database rename
 * into db and a prepared transaction's commit or abort are kept.  No-ops are
 * dropped.  For TV_OPLOG_NARROWED, *out is initialised and must be destroyed.
 */
enum tv_oplog_choice tv_oplog_select(const bson_t *entry, const char *db, bson_t *out);

#endif
