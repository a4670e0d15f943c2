/* mongo.c: one connection to MongoDB per tool, failing fast and naming the host. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "log.h"
#include "mongo.h"

/*
 * The driver logs on its own (e.g. FerretDB lacks endSessions, so every
 * client warns at exit): its lines are debugging detail here, because every
 * error that matters comes back to us in a bson_error_t and is reported then.
 */
static void
driver_log(mongoc_log_level_t level, const char *domain, const char *message, void *arg)
{
	(void)arg;
	if (level == MONGOC_LOG_LEVEL_TRACE)
		return;
	tv_debug("driver %s: %s: %s", mongoc_log_level_str(level), domain, message);
}

uint32_t
tv_mongo_server_code(const bson_error_t *err)
{
	return err->domain == MONGOC_ERROR_SERVER || err->domain == MONGOC_ERROR_WRITE_CONCERN ?
	    err->code : 0;
}

int
tv_mongo_status(const bson_error_t *err)
{
	switch (tv_mongo_server_code(err)) {
	case TV_MONGO_UNAUTHORIZED:
	case TV_MONGO_AUTH_FAILED:
		return EX_NOPERM;
	case TV_MONGO_NS_NOT_FOUND:
		return EX_NOINPUT;
	case TV_MONGO_DUPLICATE_KEY:
		return EX_DATAERR;
	}
	switch (err->domain) {
	case MONGOC_ERROR_SERVER_SELECTION:
	case MONGOC_ERROR_STREAM:
		return EX_UNAVAILABLE;
	case MONGOC_ERROR_CLIENT:
		if (err->code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
			return EX_NOPERM;
		break;
	case MONGOC_ERROR_SCRAM:
		return EX_NOPERM;
	case MONGOC_ERROR_BSON:
		return EX_DATAERR;
	}
	/* A server shutting down or stepping down answers for a moment: try again. */
	switch (tv_mongo_server_code(err)) {
	case TV_MONGO_INTERRUPTED_AT_SHUTDOWN:
	case TV_MONGO_SHUTDOWN_IN_PROGRESS:
	case TV_MONGO_INTERRUPTED_REPL_CHANGE:
	case TV_MONGO_NOT_WRITABLE_PRIMARY:
		return EX_TEMPFAIL;
	}
	/* Any other error the server or the driver reports: the service did not do it (never 1). */
	return EX_UNAVAILABLE;
}

void
tv_mongo_fatal(const bson_error_t *err, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	tv_fatal(tv_mongo_status(err), "%s: %s", what, err->message);
}

mongoc_uri_t *
tv_mongo_uri(const char *text)
{
	bson_error_t err;
	mongoc_uri_t *uri;

	/* Before the driver sees it: its messages quote what it makes of the URI. */
	tv_config_hide_password(text);
	if (tv_config_authority_ats(text) > 1)
		tv_fatal(EX_USAGE, "the MongoDB URI holds more than one '@' before its host, which drivers split "
		    "differently: write a '@' in the user name or password as %%40 (the URI is not shown: it holds a password)");
	if ((uri = mongoc_uri_new_with_error(text, &err)) == NULL)
		tv_fatal(EX_USAGE, "invalid MongoDB URI: %s", err.message);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
		    TV_MONGO_SELECT_TIMEOUT_MS);
	if (!mongoc_uri_has_option(uri, MONGOC_URI_CONNECTTIMEOUTMS))
		mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS,
		    TV_MONGO_SELECT_TIMEOUT_MS);
	if (mongoc_uri_get_appname(uri) == NULL)
		mongoc_uri_set_appname(uri, tv_progname());
	return uri;
}

/* The database: db_flag, else the URI's, else TV_MONGO_DEFAULT_DB. */
static char *
db_name(const mongoc_uri_t *uri, const char *db_flag)
{
	const char *name = db_flag ? db_flag : mongoc_uri_get_database(uri);
	char *copy = strdup(name == NULL || *name == '\0' ? TV_MONGO_DEFAULT_DB : name);

	if (copy == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	return copy;
}

char *
tv_mongo_db_name(const char *uri_flag, const char *db_flag)
{
	mongoc_uri_t *uri = tv_mongo_uri(tv_config_get("MONGODB_URI", uri_flag));
	char *name = db_name(uri, db_flag);

	mongoc_uri_destroy(uri);
	return name;
}

void
tv_mongo_connect(struct tv_mongo *m, const char *uri_flag, const char *db_flag)
{
	const char *text = tv_config_get("MONGODB_URI", uri_flag);
	bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
	bson_error_t err;
	mongoc_uri_t *uri;

	mongoc_log_set_handler(driver_log, NULL);
	mongoc_init();
	memset(m, 0, sizeof(*m));
	if ((m->where = tv_config_redact(text)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	uri = tv_mongo_uri(text);
	m->dbname = db_name(uri, db_flag);
	m->client = mongoc_client_new_from_uri_with_error(uri, &err);
	m->uri = uri;
	if (m->client == NULL)
		tv_fatal(EX_USAGE, "invalid MongoDB URI %s: %s", m->where, err.message);
	mongoc_client_set_error_api(m->client, MONGOC_ERROR_API_VERSION_2);
	tv_debug("connecting to %s, database %s", m->where, m->dbname);
	if (!mongoc_client_command_simple(m->client, "admin", ping, NULL, NULL, &err)) {
		if (tv_mongo_status(&err) == EX_NOPERM)
			tv_fatal(EX_NOPERM, "authentication to %s failed: %s", m->where, err.message);
		tv_fatal(EX_UNAVAILABLE, "cannot reach MongoDB at %s: %s", m->where, err.message);
	}
	bson_destroy(ping);
	m->db = mongoc_client_get_database(m->client, m->dbname);
}

mongoc_client_t *
tv_mongo_client_new(const struct tv_mongo *m)
{
	mongoc_client_t *client = mongoc_client_new_from_uri(m->uri);

	if (client != NULL)
		mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
	return client;
}

void
tv_mongo_close(struct tv_mongo *m)
{
	if (m->db != NULL)
		mongoc_database_destroy(m->db);
	if (m->client != NULL)
		mongoc_client_destroy(m->client);
	if (m->uri != NULL)
		mongoc_uri_destroy(m->uri);
	free(m->dbname);
	free(m->where);
	memset(m, 0, sizeof(*m));
	mongoc_cleanup();
}

int
tv_mongo_has_collection(struct tv_mongo *m, const char *name, bson_t *info)
{
	bson_t *opts = BCON_NEW("filter", "{", "name", BCON_UTF8(name), "}");
	mongoc_cursor_t *cursor = mongoc_database_find_collections_with_opts(m->db, opts);
	const bson_t *doc;
	bson_error_t err;
	int found = 0;

	while (mongoc_cursor_next(cursor, &doc)) {
		if (info != NULL && !found)
			bson_copy_to(doc, info);
		found = 1;
	}
	if (mongoc_cursor_error(cursor, &err))
		tv_mongo_fatal(&err, "cannot list the collections of %s", m->dbname);
	mongoc_cursor_destroy(cursor);
	bson_destroy(opts);
	return found;
}

int32_t
tv_mongo_batch_size(const char *arg)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 1 || n > TV_MONGO_MAX_BATCH)
		tv_fatal(EX_USAGE, "--batch-size must be a whole number from 1 to %d, not \"%s\"",
		    TV_MONGO_MAX_BATCH, arg);
	return (int32_t)n;
}
