/* oplogdiff.h: MongoDB's $v: 2 update diffs as ordinary update documents. */
#ifndef TV_OPLOGDIFF_H
#define TV_OPLOGDIFF_H

#include <stddef.h>
#include <bson/bson.h>

/*
 * A diff ({i: {...}, u: {...}, d: {...}, s<field>: {...}}, arrays marked
 * {a: true, l: length, u<index>: value, s<index>: {...}}) becomes two steps
 * applied in this order: *truncate lists the arrays to shorten as
 * {path: length, ...}, *update sets and unsets dotted paths
 * ({$set: {...}, $unset: {...}}).  Either may come back empty (no fields),
 * meaning there is nothing of that kind to do.  No update operator shortens
 * an array on every server (FerretDB ignores $push's $slice), hence the
 * separate list.
 */

/* Translates diff into *truncate and *update (both initialised here); returns 0 or -1 with err set. */
int tv_diff_to_updates(const bson_t *diff, bson_t *truncate, bson_t *update, char *err,
    size_t errlen);

#endif
