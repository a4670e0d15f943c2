/* config.c: layered settings, with appsettings.json read through libbson's JSON parser. */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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
	{ "BACKUP_RESTORE_CONNECTION_STRING", "BackupWorker.RestoreConnectionString", NULL, 1 },
	{ "BACKUP_PRUNE_CONNECTION_STRING", "BackupWorker.PruneConnectionString", NULL, 1 },
	{ "BACKUP_BLOB_CONTAINER_NAME", "BackupWorker.BlobContainerName", "backups", 0 },
	{ "BACKUP_COPY_CONNECTION_STRING", "BackupWorker.CopyConnectionString", NULL, 1 },
	{ "BACKUP_COPY_CONTAINER_NAME", "BackupWorker.CopyContainerName", NULL, 0 },
	{ "BACKUP_CRON_SCHEDULE", "BackupWorker.CronSchedule", "0 3 * * *", 0 },
	{ "BACKUP_RETENTION_DAYS", "BackupWorker.RetentionDays", "30", 0 },
	{ "BACKUP_KEEP_DAILY", "BackupWorker.KeepDaily", "0", 0 },
	{ "BACKUP_KEEP_WEEKLY", "BackupWorker.KeepWeekly", "0", 0 },
	{ "BACKUP_KEEP_MONTHLY", "BackupWorker.KeepMonthly", "0", 0 },
	{ "BACKUP_KEEP_YEARLY", "BackupWorker.KeepYearly", "0", 0 },
	{ "BACKUP_PITR_DAYS", "BackupWorker.PitrDays", NULL, 0 },
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

/* Returns 1 if a key=value parameter named name (len bytes) holds a secret. */
static int
secret_param(const char *name, size_t len)
{
	static const char *words[] = { "key", "password", "secret", "signature", "token" };
	char low[64];

	if (len == 0 || len >= sizeof(low))
		return 0;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[len] = '\0';
	if (strcmp(low, "sig") == 0)
		return 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]) != NULL)
			return 1;
	return 0;
}

/*
 * Returns where the userinfo of a URI ends (its '@'), or NULL.  A password may
 * hold a raw '@', so it is the last '@' before the query; hiding too much is
 * safe, hiding too little is not.
 */
static const char *
userinfo_end(const char *authority)
{
	const char *q = strchr(authority, '?'), *at = NULL;

	for (const char *p = authority; *p != '\0' && (q == NULL || p < q); p++)
		if (*p == '@')
			at = p;
	return at != NULL || q == NULL ? at : strrchr(q, '@');
}

/* Appends n bytes of s to the string being built at *out. */
static void
put(char **out, const char *s, size_t n)
{
	memcpy(*out, s, n);
	*out += n;
}

char *
tv_config_redact(const char *value)
{
	/* Masking lengthens a value by at most three bytes a parameter, and parameters take two. */
	char *buf = malloc(strlen(value) * 3 + 8), *out = buf;
	const char *p = value, *scheme = strstr(value, "://"), *at;

	if (buf == NULL)
		return NULL;
	/* user:password@host: keep the user, unless the user part is ambiguous too. */
	if (scheme != NULL && (at = userinfo_end(scheme + 3)) != NULL) {
		const char *user = scheme + 3, *colon = memchr(user, ':', (size_t)(at - user));

		if (memchr(user, '@', (size_t)(at - user)) != NULL)
			colon = user - 1;
		if (colon != NULL) {
			put(&out, value, (size_t)(colon + 1 - value));
			put(&out, "***", 3);
			p = at;
		}
	}
	/* Then every key=value parameter (query, or connection string part) whose name says secret. */
	while (*p != '\0') {
		size_t n = strcspn(p, "?&;="), vlen;

		if (p[n] != '=' || !secret_param(p, n)) {
			n += p[n] != '\0';
			put(&out, p, n);
			p += n;
			continue;
		}
		put(&out, p, n + 1);
		p += n + 1;
		/* A connection string's SAS is itself a query: it runs to the next part. */
		vlen = strcspn(p, n == 21 && strncasecmp(p - 22, "SharedAccessSignature", 21) == 0 ? ";" : "&;#");
		if (vlen > 0)
			put(&out, "***", 3);
		p += vlen;
	}
	*out = '\0';
	return buf;
}

/* Hides s (n bytes) and its percent-decoded form from the log. */
static void
hide_both(const char *s, size_t n)
{
	char *plain = malloc(n + 1);
	size_t o = 0;

	tv_log_hide(s, n);
	if (plain == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], '\0' };

			plain[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else
			plain[o++] = s[i];
	}
	if (o != n)
		tv_log_hide(plain, o);
	free(plain);
}

void
tv_config_hide_password(const char *value)
{
	const char *scheme = strstr(value, "://"), *user, *at, *pass, *p;

	if (scheme == NULL || (at = userinfo_end(user = scheme + 3)) == NULL)
		return;
	if ((pass = memchr(user, ':', (size_t)(at - user))) != NULL)
		pass++;
	else if (memchr(user, '@', (size_t)(at - user)) != NULL)
		pass = user;
	else
		return;
	hide_both(pass, (size_t)(at - pass));
	for (p = pass; p < at; ) {
		size_t n = strcspn(p, ":@");

		if (p + n > at)
			n = (size_t)(at - p);
		if (n >= 4 && n < (size_t)(at - pass))
			hide_both(p, n);
		p += n + 1;
	}
}

int
tv_config_authority_ats(const char *value)
{
	const char *scheme = strstr(value, "://");
	int n = 0;

	if (scheme == NULL)
		return 0;
	for (const char *p = scheme + 3; *p != '\0' && strchr("/?#", *p) == NULL; p++)
		n += *p == '@';
	return n;
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

/* Sets KEY=VALUE line (already trimmed, not a comment) in the environment; returns 0 or -1 if it is not one. */
static int
set_env_line(char *line)
{
	char *eq, *value;
	size_t n;

	if (strncmp(line, "export ", 7) == 0)
		line += 7;
	if ((eq = strchr(line, '=')) == NULL || eq == line ||
	    strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != (size_t)(eq - line) ||
	    isdigit((unsigned char)line[0]))
		return -1;
	*eq = '\0';
	value = eq + 1;
	n = strlen(value);
	if (n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n - 1] == value[0]) {
		value[n - 1] = '\0';
		value++;
	}
	return setenv(line, value, 1);
}

int
tv_config_load_env_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *p;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	int status = 0;

	if (f == NULL) {
		tv_error("cannot read environment file %s: %s", path, strerror(errno));
		return EX_NOINPUT;
	}
	while (status == 0 && (len = getline(&line, &cap, f)) != -1) {
		lineno++;
		while (len > 0 && isspace((unsigned char)line[len - 1]))
			line[--len] = '\0';
		for (p = line; isspace((unsigned char)*p); p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (set_env_line(p) != 0) {
			tv_error("%s:%lu: not KEY=VALUE", path, lineno);
			status = EX_USAGE;
		}
	}
	free(line);
	fclose(f);
	tv_config_reset();
	return status;
}
