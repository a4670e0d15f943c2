/* metadata.h: mongodump's <collection>.metadata.json: a collection's options and indexes. */
#ifndef TV_METADATA_H
#define TV_METADATA_H

#include "mongo.h"

/* Reads a metadata file into *meta (to bson_destroy); returns 0, 65 (not one) or 66, having said why. */
int tv_metadata_read(const char *path, bson_t *meta);
/*
 * Creates collection name with the metadata's options (capped, collation,
 * validator ...; meta may be NULL), as mongorestore does; an existing one is
 * kept.  Returns 0 or an exit status, having said why.
 */
int tv_metadata_create(struct tv_mongo *m, const char *name, const bson_t *meta);
/* Builds on collection name the metadata's indexes it lacks; returns 0 or an exit status. */
int tv_metadata_indexes(struct tv_mongo *m, const char *name, const bson_t *meta);

#endif
