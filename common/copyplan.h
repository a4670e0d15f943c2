/* copyplan.h: what a second store lacks of the first, and in which order tv-copy copies it. */
#ifndef TV_COPYPLAN_H
#define TV_COPYPLAN_H

#include <stdio.h>
#include <time.h>

#include <bson/bson.h>

#include "catalog.h"

/*
 * The copy is a whole store: a reader of it must never see a recovery point
 * that is not all there, nor a hole in the oplog chain that the primary does
 * not have.  So the plan copies the recovery points oldest first, each one's
 * blobs (and the manifest's MAC, when it has one) before its manifest (whose presence in the copy is what makes the
 * point count there, so a point whose manifest the copy holds is done), then
 * the oplog in position order: chain starts and break records before the
 * slices after them, each slice before its index.  A slice still waiting for
 * its index (tv-pitr stores the index second) is left for a later run, unless
 * a later slice shows it never will have one.
 */

/* A set of blob names, with their sizes, from a tv-blob-ls listing. */
struct tv_names {
	char			**names;	/* sorted */
	unsigned long long	*sizes;
	size_t			 n;
};

/* One blob to copy, and what it must hash to ("" if nothing records it: its own stored checksum still checks the read). */
struct tv_copy_item {
	char			*name;
	unsigned long long	 size;
	char			 sha256[65];
	char			*index;		/* a slice's index, which records its sha256 (tv_copy_plan_checksums) */
};

/* A recovery point the copy lacks. */
struct tv_copy_point {
	const char	*folder;
	time_t		 created;
};

struct tv_copy_plan {
	struct tv_copy_item	*items;		/* in copy order */
	size_t			 nitems;
	struct tv_copy_point	*points;	/* oldest first */
	size_t			 npoints;
	size_t			 nslices;	/* slices the copy lacks */
	const struct tv_slice	*oldest_slice;	/* the oldest of them, or NULL */
	const struct tv_slice	*newest_slice;	/* the newest of them, or NULL */
	size_t			 waiting;	/* slices left for a later run: their index is not stored yet */
	unsigned long long	 bytes;
};

/* Reads a tv-blob-ls listing into names; returns 0, 65 naming the line, or 74. */
int tv_names_read(struct tv_names *names, FILE *in, const char *inname);
/* Returns 1 if name is in names. */
int tv_names_has(const struct tv_names *names, const char *name);
/* Releases names. */
void tv_names_free(struct tv_names *names);

/*
 * Reads the manifest of each folder of primary whose manifest the copy lacks
 * (tv_catalog_load_manifest); returns 0 or the first error's exit code.
 */
int tv_copy_plan_load(struct tv_catalog *primary, const struct tv_names *copy, struct tv_store *store);
/*
 * Fills plan with what copy lacks of primary (its listing's names in
 * primary_names, its recovery points' manifests read), in copy order.
 * Folders that are not recovery points in the primary are never copied.
 */
void tv_copy_plan_build(const struct tv_catalog *primary, const struct tv_names *primary_names,
    const struct tv_names *copy, struct tv_copy_plan *plan);
/*
 * Fills each slice's sha256 from its index in store; returns 0, or 65 naming
 * an index that is not one (or the store's code), after cutting the plan
 * short before that slice.
 */
int tv_copy_plan_checksums(struct tv_copy_plan *plan, struct tv_store *store);
/* Appends the plan to doc: points, slices, bytes, and the blobs in order. */
void tv_copy_plan_append(const struct tv_copy_plan *plan, bson_t *doc);
/* Releases the plan. */
void tv_copy_plan_free(struct tv_copy_plan *plan);
/*
 * All of the above for tv-catalog copy-plan: reads the primary's listing from
 * primary and the copy's from file copy_path, the primary's manifests and
 * slice indexes with the restore role's credential, and appends the plan to
 * doc (left empty if a listing cannot be read); returns 0 or the first error's
 * exit code, also when the plan holds what could be planned.
 */
int tv_copy_plan_make(FILE *primary, const char *copy_path, bson_t *doc);

#endif
