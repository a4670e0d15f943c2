/* stats.h: JSON files the tools write for the flows: --stats FILE, journals. */
#ifndef TV_STATS_H
#define TV_STATS_H

#include <bson/bson.h>

/*
 * The flows learn counts and sizes from these files, never from log lines.
 * Integers are written as plain JSON numbers (relaxed extended JSON), so that
 * jq reads them as they are.
 */

/* Writes doc to path as one line of JSON, atomically and durably; returns 0 or 74 after logging why. */
int tv_json_write(const char *path, const bson_t *doc);
/* Writes a tool's --stats FILE: tv_json_write under the name the tools' callers know. */
int tv_stats_write(const char *path, const bson_t *doc);

#endif
