/* bsonstream.h: read a stream of concatenated BSON documents (mongodump's .bson) with bounded memory. */
#ifndef TV_BSONSTREAM_H
#define TV_BSONSTREAM_H

#include <stdint.h>
#include <bson/bson.h>

/* The smallest document: a length prefix and the terminating NUL. */
#define TV_BSON_MIN_SIZE	5
/* The server's 16 MiB limit plus the headroom mongodump allows for oplog entries. */
#define TV_BSON_MAX_SIZE	(16 * 1024 * 1024 + 16 * 1024)

struct tv_bson_reader;

/* Starts reading documents from fd; name ("stdin", a path) appears in error messages. */
struct tv_bson_reader *tv_bson_reader_open(int fd, const char *name);
/*
 * Reads and validates the next document into *doc (valid until the next call):
 * returns 1 for a document, 0 at a clean end of stream, -1 on bad data or a read error.
 */
int tv_bson_reader_next(struct tv_bson_reader *r, bson_t *doc);
/* Returns the message for the last error, naming the input, document index and byte offset. */
const char *tv_bson_reader_error(const struct tv_bson_reader *r);
/* Returns the exit code for the last error: 65 for bad data, 74 for a read error. */
int tv_bson_reader_status(const struct tv_bson_reader *r);
/* Returns how many documents have been read. */
uint64_t tv_bson_reader_count(const struct tv_bson_reader *r);
/* Returns how many bytes of the stream the documents read so far occupy. */
uint64_t tv_bson_reader_offset(const struct tv_bson_reader *r);
/* Releases the reader (the file descriptor stays open). */
void tv_bson_reader_close(struct tv_bson_reader *r);

/* Points *sub at field key of doc (NULL: none) if it is an embedded document or array; returns 1 if so. */
int tv_bson_subdocument(const bson_t *doc, const char *key, bson_t *sub);

#endif
