/* stats.h: the numbers a tool reports to the flows, as one JSON object in its --stats FILE. */
#ifndef TV_STATS_H
#define TV_STATS_H

#include <bson/bson.h>

/*
 * The flows learn counts and sizes from these files, never from log lines.
 * Integers are written as plain JSON numbers (relaxed extended JSON), so that
 * jq reads them as they are.
 */

/* Writes doc to path as one line of JSON, atomically (temporary file, then rename); returns 0 or 74. */
int tv_stats_write(const char *path, const bson_t *doc);

#endif
