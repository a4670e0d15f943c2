/* mongo.h: connecting to MongoDB (or FerretDB) and turning driver errors into exit codes. */
#ifndef TV_MONGO_H
#define TV_MONGO_H

#include <mongoc/mongoc.h>

/* Milliseconds to find a server unless the URI sets serverSelectionTimeoutMS. */
#define TV_MONGO_SELECT_TIMEOUT_MS	10000

/* The database used when neither -d nor the URI names one. */
#define TV_MONGO_DEFAULT_DB	"tralivali"

/* A connected client and the database the tool works on. */
struct tv_mongo {
	mongoc_client_t		*client;
	mongoc_database_t	*db;
	char			*dbname;
	char			*where;		/* the redacted URI, for messages */
	mongoc_uri_t		*uri;		/* for more clients: tv_mongo_client_new */
};

/*
 * Connects with the URI from uri_flag, else MONGODB_URI, and proves the server
 * answers with a ping; the database is db_flag, else the URI's, else "tralivali".
 * Exits 69 naming the host if no server answers, 77 if authentication fails.
 */
void tv_mongo_connect(struct tv_mongo *m, const char *uri_flag, const char *db_flag);
/*
 * Parses a MongoDB URI, with short connect and server-selection timeouts unless
 * it sets its own; first hides its password from the log, and exits 64 without
 * showing it if its authority holds more than one '@' or the driver refuses it.
 */
mongoc_uri_t *tv_mongo_uri(const char *text);
/* Returns the database tv_mongo_connect would use (malloc'd), without connecting. */
char *tv_mongo_db_name(const char *uri_flag, const char *db_flag);
/* Returns another client to the same server, for a thread of its own, or NULL if out of memory. */
mongoc_client_t *tv_mongo_client_new(const struct tv_mongo *m);
/* Closes the connection and shuts the driver down. */
void tv_mongo_close(struct tv_mongo *m);
/* Returns the sysexits(3) code for a driver or server error. */
int tv_mongo_status(const bson_error_t *err);
/* Returns the server's error code for a driver error, or 0 if the server did not send one. */
uint32_t tv_mongo_server_code(const bson_error_t *err);
/*
 * Returns 1 if the database holds a collection of that name (then *info, if not
 * NULL, receives a copy of its listCollections entry to bson_destroy), else 0.
 */
int tv_mongo_has_collection(struct tv_mongo *m, const char *name, bson_t *info);
/* Logs the error with a prefix and exits with tv_mongo_status(err). */
void tv_mongo_fatal(const bson_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* The most documents --batch-size accepts: the server's maxWriteBatchSize. */
#define TV_MONGO_MAX_BATCH	100000
/* Parses a --batch-size argument, or exits 64. */
int32_t tv_mongo_batch_size(const char *arg);

/* Server error codes the tools react to. */
#define TV_MONGO_UNAUTHORIZED		13
#define TV_MONGO_AUTH_FAILED		18
#define TV_MONGO_NS_NOT_FOUND		26
#define TV_MONGO_NS_EXISTS		48
#define TV_MONGO_NOT_IMPLEMENTED	238
#define TV_MONGO_DUPLICATE_KEY		11000
#define TV_MONGO_SHUTDOWN_IN_PROGRESS	91
#define TV_MONGO_NOT_WRITABLE_PRIMARY	10107
#define TV_MONGO_INTERRUPTED_AT_SHUTDOWN	11600
#define TV_MONGO_INTERRUPTED_REPL_CHANGE	11602

#endif
