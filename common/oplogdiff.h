/* oplogdiff.h: MongoDB's $v: 2 update diffs as ordinary update documents. */
#ifndef TV_OPLOGDIFF_H
#define TV_OPLOGDIFF_H

#include <stddef.h>
#include <bson/bson.h>

/*
 * A diff ({i: {...}, u: {...}, d: {...}, s<field>: {...}}, arrays marked
 * {a: true, l: length, u<index>: value, s<index>: {...}}) becomes two updates
 * applied in this order: *truncate shortens arrays
 * ({$push: {path: {$each: [], $slice: n}}}), *update sets and unsets dotted
 * paths ({$set: {...}, $unset: {...}}).  Either may come back empty (no
 * fields), meaning there is nothing of that kind to do.
 */

/* Translates diff into *truncate and *update (both initialised here); returns 0 or -1 with err set. */
int tv_diff_to_updates(const bson_t *diff, bson_t *truncate, bson_t *update, char *err,
    size_t errlen);

#endif
