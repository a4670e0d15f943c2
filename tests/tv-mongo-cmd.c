/*
 * tv-mongo-cmd: runs database commands given as JSON against MONGODB_URI and prints each
 * reply as one line of relaxed extended JSON; the tests' mongosh, e.g. to create the
 * capped local.oplog.rs FerretDB needs, or to write documents at a chosen moment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <mongoc/mongoc.h>

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-mongo-cmd [-d db] json-command ...\n"
	    "       (MONGODB_URI names the server; db defaults to the URI's, else tralivali)\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	const char *uri = getenv("MONGODB_URI"), *dbname = NULL;
	mongoc_client_t *client;
	mongoc_uri_t *parsed;
	bson_error_t err;
	int i, status = 0;

	if (argc > 1 && strcmp(argv[1], "--help") == 0)
		usage(0);
	if (argc > 2 && strcmp(argv[1], "-d") == 0) {
		dbname = argv[2];
		argc -= 2;
		argv += 2;
	}
	argc--;
	argv++;
	if (argc < 1)
		usage(EX_USAGE);
	if (uri == NULL) {
		fprintf(stderr, "tv-mongo-cmd: MONGODB_URI is not set\n");
		return EX_USAGE;
	}
	/* FerretDB lacks endSessions: the driver's warning about it is noise here. */
	mongoc_log_set_handler(NULL, NULL);
	mongoc_init();
	if ((parsed = mongoc_uri_new_with_error(uri, &err)) == NULL) {
		fprintf(stderr, "tv-mongo-cmd: %s\n", err.message);
		return EX_USAGE;
	}
	if (dbname == NULL)
		dbname = mongoc_uri_get_database(parsed);
	if (dbname == NULL)
		dbname = "tralivali";
	client = mongoc_client_new_from_uri(parsed);
	for (i = 0; i < argc && status == 0; i++) {
		bson_t *cmd, reply;
		char *json;

		if ((cmd = bson_new_from_json((const uint8_t *)argv[i], -1, &err)) == NULL) {
			fprintf(stderr, "tv-mongo-cmd: not a JSON object: %s: %s\n", argv[i], err.message);
			status = EX_USAGE;
			break;
		}
		if (!mongoc_client_command_simple(client, dbname, cmd, NULL, &reply, &err)) {
			fprintf(stderr, "tv-mongo-cmd: %s: %s\n", argv[i], err.message);
			status = 1;
		} else {
			json = bson_as_relaxed_extended_json(&reply, NULL);
			printf("%s\n", json);
			bson_free(json);
		}
		bson_destroy(&reply);
		bson_destroy(cmd);
	}
	mongoc_client_destroy(client);
	mongoc_uri_destroy(parsed);
	mongoc_cleanup();
	return status;
}
