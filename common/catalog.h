/* catalog.h: what the store holds, from a listing: recovery points, incomplete folders, oplog ranges. */
#ifndef TV_CATALOG_H
#define TV_CATALOG_H

#include <stdio.h>
#include <time.h>

#include <bson/bson.h>

#include "manifest.h"
#include "store.h"

/*
 * A folder ROOT/YYYY-MM-DD/ or ROOT/YYYY-MM-DDTHHMMSSZ/ is a recovery point
 * when its manifest.json is valid and says Completed; any other folder is
 * incomplete (no manifest: a run died, or a prune was cut short), failed (the
 * manifest says Failed), invalid (the manifest cannot be read or checked) or
 * broken (a Completed manifest names blobs the listing lacks).
 *
 * Oplog slices are named as oplog.h says: oplog/YYYY-MM-DD/{from}-{to}.bson.gz
 * (or .bson.gz.enc), holding the entries after from up to to, so a chain is
 * continuous when each slice starts where the one before it ends.  A break
 * record ({from}-{to}.break.json) says the entries after from up to to are
 * lost; a chain start ({T.I}-{T.I}.start.json, written by tv-pitr, and by
 * tv-recover once it has replaced the live data) says a new chain begins after
 * T.I.  A range ends at a break or before a chain start, even one that falls
 * inside a run of continuous slices;
 * a slice that starts before the one before it ends (an overlap), or after it
 * with neither a break nor a chain start between (a hole), is a fault.
 */

enum tv_folder_state {
	TV_FOLDER_INCOMPLETE,	/* no manifest.json */
	TV_FOLDER_FAILED,	/* the manifest says Failed */
	TV_FOLDER_INVALID,	/* the manifest is unreadable or fails its checks */
	TV_FOLDER_BROKEN,	/* a Completed manifest names blobs the listing lacks */
	TV_FOLDER_POINT		/* a recovery point */
};

struct tv_folder {
	char			*name;		/* ROOT/2024-01-15, no trailing slash */
	time_t			 when;		/* the time its name says */
	char			**blobs;
	size_t			 nblobs;
	unsigned long long	 bytes;
	int			 has_manifest;
	int			 loaded;	/* its manifest was read (or found absent) and f classified */
	char			**missing;	/* TV_FOLDER_BROKEN: the blobs named but not listed */
	size_t			 nmissing;
	enum tv_folder_state	 state;
	int			 status;	/* TV_FOLDER_INVALID: the exit code reading it gave */
	char			 reason[TV_MANIFEST_ERR_MAX + 256];
	struct tv_manifest	 manifest;	/* TV_FOLDER_POINT and TV_FOLDER_FAILED */
};

struct tv_slice {
	char			*name;
	struct tv_oppos	 from;
	struct tv_oppos	 to;
	unsigned long long	 size;
};

/* A continuous run of slices, first to last (indexes into slices). */
struct tv_range {
	size_t	first;
	size_t	last;
};

struct tv_catalog {
	char			*root;		/* "backups", "safety" */
	struct tv_folder	*folders;	/* by the time in their names */
	size_t			 nfolders;
	struct tv_slice		*slices;	/* by first position */
	size_t			 nslices;
	struct tv_slice		*breaks;	/* by first position */
	size_t			 nbreaks;
	struct tv_slice		*starts;	/* chain starts, by position */
	size_t			 nstarts;
	struct tv_range		*ranges;
	size_t			 nranges;
	int			 chain_status;	/* 65 once two slices overlap or leave a hole, else 0 */
};

/* Prepares an empty catalogue of the folders under root. */
void tv_catalog_init(struct tv_catalog *cat, const char *root);
/* Reads a tv-blob-ls listing (name, tab, size, tab, time); returns 0, 65 naming the line, or 74. */
int tv_catalog_read_listing(struct tv_catalog *cat, FILE *in, const char *inname);
/* Reads and checks every folder's manifest not yet read (sorting the folders: pointers into them go stale); returns 0 or the first error's exit code (every folder is still classified, reason says why). */
int tv_catalog_load_manifests(struct tv_catalog *cat, struct tv_store *store);
/* Returns the folder called name (ROOT/2024-01-15), or NULL if the listing had no blob in it. */
struct tv_folder *tv_catalog_folder(struct tv_catalog *cat, const char *name);
/* Reads and checks folder f's manifest alone, unless it was already; returns 0 or the read's exit code. */
int tv_catalog_load_manifest(struct tv_folder *f, struct tv_store *store);
/* Classifies folder f by the manifest JSON in json (what a read from the store gave); returns 0 or 65. */
int tv_catalog_set_manifest(struct tv_folder *f, const char *json, size_t len);
/* Orders the slices into ranges; returns 0, or 65 after logging each overlap or hole, naming the slices. */
int tv_catalog_chain(struct tv_catalog *cat);
/* Fills points (room for nfolders) with the recovery points, oldest createdAt first; returns how many. */
size_t tv_catalog_points(const struct tv_catalog *cat, const struct tv_folder **points);
/* Appends backups, incomplete, pitr and oplog (with every slice if all_slices) to doc: the catalogue JSON. */
void tv_catalog_append(const struct tv_catalog *cat, bson_t *doc, int all_slices);
/* Releases the catalogue. */
void tv_catalog_free(struct tv_catalog *cat);

#endif
