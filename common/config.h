/* config.h: settings from flag > environment > appsettings.json (BackupWorker:*) > default. */
#ifndef TV_CONFIG_H
#define TV_CONFIG_H

/*
 * Settings are named by their environment variable, as the .NET service named
 * them: MONGODB_URI, BACKUP_BLOB_STORAGE_CONNECTION_STRING,
 * BACKUP_RESTORE_CONNECTION_STRING, BACKUP_PRUNE_CONNECTION_STRING,
 * BACKUP_BLOB_CONTAINER_NAME, BACKUP_COPY_CONNECTION_STRING, BACKUP_COPY_CONTAINER_NAME,
 * BACKUP_CRON_SCHEDULE, BACKUP_RETENTION_DAYS,
 * BACKUP_KEEP_DAILY, BACKUP_KEEP_WEEKLY, BACKUP_KEEP_MONTHLY, BACKUP_KEEP_YEARLY,
 * BACKUP_PITR_DAYS,
 * BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD, BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS,
 * BACKUP_STATE_DIR.  A secret setting may also come from a file named by NAME_FILE.
 */

/*
 * Returns the setting's value: flag if not NULL, else the environment, else
 * NAME_FILE's contents, else appsettings.json, else the default (maybe NULL).
 * Exits 64 for an unknown name or an unreadable file; the result stays valid.
 */
const char *tv_config_get(const char *name, const char *flag);
/* Like tv_config_get for a whole number in [min, max]; exits 64 naming the setting if it is not one. */
long tv_config_get_long(const char *name, const char *flag, long min, long max);
/* Returns 1 if the setting holds a secret (a password, key or token) that must never be logged. */
int tv_config_is_secret(const char *name);
/* Returns a copy of a URI or connection string with passwords, keys and signatures replaced by "***". */
char *tv_config_redact(const char *value);
/*
 * Hides the password of a URI's userinfo from the log (tv_log_hide): whole, as
 * written and percent-decoded, and each of its pieces between ':' and '@' of 4
 * bytes or more, since a driver that splits the userinfo elsewhere may quote
 * any of them (as a host name, say).  Without a ':' a userinfo holding '@' is
 * all password.
 */
void tv_config_hide_password(const char *value);
/*
 * Returns the number of '@' in a URI's authority (from "://" to the first '/',
 * '?' or '#'); more than one means a password with a raw '@' that drivers
 * split differently.
 */
int tv_config_authority_ats(const char *value);
/* Forgets cached values, so tests can change the environment between calls. */
void tv_config_reset(void);

/*
 * Loads an environment file (systemd EnvironmentFile= style: KEY=VALUE lines, # comments,
 * an optional "export ", values optionally in matching quotes) into the environment, as the
 * flows' --env-file does.  Returns 0, 66 if it cannot be read, or 64 naming a bad line.
 */
int tv_config_load_env_file(const char *path);

#endif
