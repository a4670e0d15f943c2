/* plan.h: what a restore loads and replays, decided once for every way of naming what to restore. */
#ifndef TV_PLAN_H
#define TV_PLAN_H

#include <stdint.h>

#include <bson/bson.h>

#include "catalog.h"
#include "manifest.h"
#include "oplog.h"

/*
 * A restore names its target in one of two ways: a recovery point by its
 * folder (tv-recover DATE, tv-recover FOLDER, tv-rehearse, the API's
 * restore/{date}), or a moment (--at TIME, --at T.I).  Either way the plan is
 * the same kind of thing: one point whose dumps are loaded, and the oplog
 * replayed over them up to a position:
 *
 *   a point by its folder   its dumps, then its own oplog up to consistentAt.end
 *                           (a point taken while the application wrote is one
 *                           state only at that position);
 *   --at a moment           the newest point at or before it, its own oplog,
 *                           then the shipped slices of the one continuous range
 *                           that holds everything from the point to the moment.
 *
 * What cannot be restored exactly is refused before anything is touched, with
 * the reason naming what can be: the seconds --at can reach and the nearest
 * points, each with the command that restores it.
 */

/* An --at position meaning "every entry within second T". */
#define TV_PLAN_WHOLE_SECOND	UINT32_MAX

struct tv_plan_request {
	const char	*folder;	/* a point by its folder (ROOT/2024-01-15), or NULL: --at */
	struct tv_oppos	 until;		/* --at: the last position restored (i TV_PLAN_WHOLE_SECOND: all of second t) */
	const char	*collections;	/* comma-separated names, or NULL: every collection of the point */
	int		 force;		/* a folder without a Completed manifest: its dumps, unchecked */
};

struct tv_plan {
	const struct tv_folder	*point;
	const struct tv_manifest *manifest;	/* the point's, or the forced folder's dumps described as one */
	int			 checked;	/* the manifest's counts and checksums hold */
	char			 warning[512];	/* --force: what is restored unchecked */
	const char		**collections;	/* the collections restored, in the manifest's order */
	size_t			 ncollections;
	int			 replay;	/* the oplog blobs below are replayed up to until */
	struct tv_oppos		 from;		/* the point's position the replay starts from */
	struct tv_oppos		 until;
	const char		**blobs;	/* the oplog blobs, in order: the point's own first */
	size_t			 nblobs;
	int			 refused;	/* 65 (a moment that cannot be restored exactly) or 66 (nothing there) */
	char			 reason[8192];
	struct tv_manifest	 dumps;		/* --force of a folder without a manifest */
};

/*
 * Makes the plan for request r from catalogue cat (its ranges chained; the
 * manifests of the points it may choose loaded).  Returns 0 with the plan, 65
 * or 66 with the plan refused and its reason, or the exit code of a folder
 * whose manifest could not be read or checked (logged).
 */
int tv_plan_make(const struct tv_catalog *cat, const struct tv_plan_request *r, struct tv_plan *p);
/* Appends the plan as the JSON tv-recover reads (folder, checked, manifest, collections, replay, writesAfter). */
void tv_plan_append(const struct tv_plan *p, bson_t *doc);
/* Releases what a plan holds. */
void tv_plan_free(struct tv_plan *p);

#endif
