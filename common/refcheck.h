/* refcheck.h: do references between collections resolve?  Rules like messages.conversationId -> conversations._id. */
#ifndef TV_REFCHECK_H
#define TV_REFCHECK_H

#include "mongo.h"

/*
 * A rules file holds one rule a line, "source.path -> target.key"; a path goes
 * through subdocuments and arrays, a missing or null value is no reference,
 * blank lines and # comments are ignored.
 */

/* A target of up to this many documents has its keys held in memory (about 28 bytes an ObjectId key). */
#define TV_REFCHECK_KEYS_IN_MEMORY	500000

/*
 * Checks every rule of file in m's database, printing one JSON line per rule on
 * stdout in the file's order: {"rule","checked","dangling","examples":[{_id, value}]}.
 * Targets with more than keys_in_memory documents are queried in batches instead.
 * Returns 0, 65 if a reference dangles, 64 for a malformed rule, 66 if file is missing.
 */
int tv_refcheck_file(struct tv_mongo *m, const char *file, long keys_in_memory);

#endif
