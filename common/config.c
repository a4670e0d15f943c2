/* config.c: layered settings, with appsettings.json read through libbson's JSON parser. */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bson/bson.h>

#include "config.h"
#include "log.h"

struct setting {
	const char	*env;
	const char	*json_path;	/* dotted path in appsettings.json */
	const char	*fallback;
	int		 secret;
};

static const struct setting settings[] = {
	{ "MONGODB_URI", "ConnectionStrings.MongoDB", "mongodb://127.0.0.1:27017/tralivali", 1 },
	{ "BACKUP_BLOB_STORAGE_CONNECTION_STRING", "BackupWorker.BlobStorageConnectionString", NULL, 1 },
	{ "BACKUP_BLOB_CONTAINER_NAME", "BackupWorker.BlobContainerName", "backups", 0 },
	{ "BACKUP_CRON_SCHEDULE", "BackupWorker.CronSchedule", "0 3 * * *", 0 },
	{ "BACKUP_RETENTION_DAYS", "BackupWorker.RetentionDays", "30", 0 },
	{ "BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "BackupWorker.CircuitBreakerFailureThreshold", "5", 0 },
	{ "BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS", "BackupWorker.CircuitBreakerTimeoutSeconds", "30", 0 },
	{ "BACKUP_STATE_DIR", "BackupWorker.StateDirectory", "/var/lib/tralivali-backup", 0 },
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* Values read from files and appsettings.json, kept for the life of the process. */
static char *cache[NSETTINGS];
static bson_t *appsettings;
static int appsettings_loaded;

static const struct setting *
lookup(const char *name, size_t *index)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].env, name) == 0) {
			*index = i;
			return &settings[i];
		}
	tv_fatal(EX_SOFTWARE, "unknown setting %s", name);
}

/* Reads a secret file, dropping one trailing newline as `echo x > file` leaves it. */
static char *
read_secret_file(const char *var, const char *path)
{
	char buf[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		tv_fatal(EX_USAGE, "%s: cannot read %s: %s", var, path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return strdup(buf);
}

/* Parses a JSON file into a document, or exits 64 naming the file and the problem. */
static bson_t *
read_json_file(const char *path)
{
	bson_error_t err;
	bson_json_reader_t *reader = bson_json_reader_new_from_file(path, &err);
	bson_t *doc;
	int got;

	if (reader == NULL)
		tv_fatal(EX_USAGE, "%s: %s", path, err.message);
	doc = bson_new();
	got = bson_json_reader_read(reader, doc, &err);
	bson_json_reader_destroy(reader);
	if (got != 1) {
		bson_destroy(doc);
		/* At the end of the input (an empty file) libbson sets no error message. */
		tv_fatal(EX_USAGE, "%s: not a JSON object: %s", path, got == 0 ? "the file is empty" : err.message);
	}
	return doc;
}

/*
 * appsettings.json comes from $TV_APPSETTINGS, else ./appsettings.json, else
 * /etc/tralivali-backup/appsettings.json; a missing file is not an error.
 */
static void
load_appsettings(void)
{
	const char *env = getenv("TV_APPSETTINGS");
	const char *candidates[] = { "appsettings.json", "/etc/tralivali-backup/appsettings.json" };

	appsettings_loaded = 1;
	if (env != NULL && *env != '\0') {
		appsettings = read_json_file(env);
		return;
	}
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		FILE *f = fopen(candidates[i], "r");

		if (f == NULL)
			continue;
		fclose(f);
		appsettings = read_json_file(candidates[i]);
		return;
	}
}

static char *
from_appsettings(const char *path)
{
	bson_iter_t it, found;

	if (!appsettings_loaded)
		load_appsettings();
	if (appsettings == NULL || !bson_iter_init(&it, appsettings) ||
	    !bson_iter_find_descendant(&it, path, &found))
		return NULL;
	switch (bson_iter_type(&found)) {
	case BSON_TYPE_UTF8:
		return strdup(bson_iter_utf8(&found, NULL));
	case BSON_TYPE_INT32:
	case BSON_TYPE_INT64:
	case BSON_TYPE_DOUBLE:
	case BSON_TYPE_BOOL: {
		char num[32];

		snprintf(num, sizeof(num), "%lld", (long long)bson_iter_as_int64(&found));
		return strdup(num);
	}
	default:
		tv_fatal(EX_USAGE, "appsettings.json: %s must be a string or a number", path);
	}
}

const char *
tv_config_get(const char *name, const char *flag)
{
	size_t i;
	const struct setting *s = lookup(name, &i);
	char filevar[128];
	const char *v;

	if (flag != NULL)
		return flag;
	if ((v = getenv(name)) != NULL && *v != '\0')
		return v;
	if (cache[i] != NULL)
		return cache[i];
	snprintf(filevar, sizeof(filevar), "%s_FILE", name);
	if ((v = getenv(filevar)) != NULL && *v != '\0')
		cache[i] = read_secret_file(filevar, v);
	else
		cache[i] = from_appsettings(s->json_path);
	return cache[i] != NULL ? cache[i] : s->fallback;
}

long
tv_config_get_long(const char *name, const char *flag, long min, long max)
{
	const char *v = tv_config_get(name, flag);
	char *end;
	long n;

	if (v == NULL)
		tv_fatal(EX_USAGE, "%s is not set", name);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < min || n > max)
		tv_fatal(EX_USAGE, "%s must be a whole number from %ld to %ld, not '%s'", name, min, max, v);
	return n;
}

int
tv_config_is_secret(const char *name)
{
	size_t i;

	return lookup(name, &i)->secret;
}

/* Replaces the value after each of the keys, up to the next terminator, with ***. */
static void
mask_after(char *s, const char *key, const char *terminators)
{
	size_t klen = strlen(key);

	for (char *p = strcasestr(s, key); p != NULL; p = strcasestr(p, key)) {
		char *value = p + klen;
		size_t vlen = strcspn(value, terminators);

		if (vlen > 0) {
			memmove(value + 3, value + vlen, strlen(value + vlen) + 1);
			memcpy(value, "***", 3);
		}
		p = value + (vlen > 0 ? 3 : 0);
	}
}

char *
tv_config_redact(const char *value)
{
	/* Masking never lengthens a value by more than three bytes a key. */
	size_t len = strlen(value);
	char *out = malloc(len * 2 + 64);
	char *at, *scheme;

	if (out == NULL)
		return NULL;
	memcpy(out, value, len + 1);
	mask_after(out, "AccountKey=", ";");
	mask_after(out, "SharedAccessSignature=", ";");
	mask_after(out, "sig=", "&;");
	/* user:password@host in a URI: keep the user, hide the password. */
	scheme = strstr(out, "://");
	at = scheme ? strchr(scheme + 3, '@') : NULL;
	if (at != NULL) {
		char *colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3));

		if (colon != NULL) {
			memmove(colon + 4, at, strlen(at) + 1);
			memcpy(colon + 1, "***", 3);
		}
	}
	return out;
}

void
tv_config_reset(void)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		free(cache[i]);
		cache[i] = NULL;
	}
	if (appsettings != NULL)
		bson_destroy(appsettings);
	appsettings = NULL;
	appsettings_loaded = 0;
}
