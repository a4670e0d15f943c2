/* Unit tests for layered settings and secret redaction. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "tap.h"

static char dir[] = "/tmp/tv-config-XXXXXX";

/* Writes text to a file in the test directory and returns its path. */
static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static int
is(const char *got, const char *want)
{
	return got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;
}

static void
test_layers(void)
{
	setenv("TV_APPSETTINGS", write_file("appsettings.json",
	    "{\"BackupWorker\": {\"RetentionDays\": 14, \"BlobContainerName\": \"from-json\"}}"), 1);
	unsetenv("BACKUP_RETENTION_DAYS");
	unsetenv("BACKUP_BLOB_CONTAINER_NAME");
	tv_config_reset();
	ok(is(tv_config_get("BACKUP_CRON_SCHEDULE", NULL), "0 3 * * *"), "a setting nobody gave has its default");
	ok(is(tv_config_get("BACKUP_RETENTION_DAYS", NULL), "14"), "appsettings.json numbers beat the default");
	ok(is(tv_config_get("BACKUP_BLOB_CONTAINER_NAME", NULL), "from-json"), "appsettings.json strings beat the default");
	setenv("BACKUP_RETENTION_DAYS", "7", 1);
	ok(is(tv_config_get("BACKUP_RETENTION_DAYS", NULL), "7"), "the environment beats appsettings.json");
	ok(is(tv_config_get("BACKUP_RETENTION_DAYS", "3"), "3"), "a flag beats the environment");
	ok(tv_config_get_long("BACKUP_RETENTION_DAYS", NULL, 1, 3650) == 7, "numbers are parsed");
	ok(tv_config_get("BACKUP_BLOB_STORAGE_CONNECTION_STRING", NULL) == NULL, "an unset secret has no value");
}

static void
test_secret_file(void)
{
	unsetenv("BACKUP_BLOB_STORAGE_CONNECTION_STRING");
	setenv("BACKUP_BLOB_STORAGE_CONNECTION_STRING_FILE",
	    write_file("conn", "UseDevelopmentStorage=true\n"), 1);
	tv_config_reset();
	ok(is(tv_config_get("BACKUP_BLOB_STORAGE_CONNECTION_STRING", NULL), "UseDevelopmentStorage=true"),
	    "a secret comes from NAME_FILE, without the trailing newline");
	ok(tv_config_is_secret("BACKUP_BLOB_STORAGE_CONNECTION_STRING") && tv_config_is_secret("MONGODB_URI") &&
	    !tv_config_is_secret("BACKUP_RETENTION_DAYS"), "connection strings are secrets, numbers are not");
	unsetenv("BACKUP_BLOB_STORAGE_CONNECTION_STRING_FILE");
}

/* Runs tv_config_get_long in a child and returns its exit status, since bad values exit. */
static int
exit_status_of_bad_number(const char *value)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		setenv("BACKUP_RETENTION_DAYS", value, 1);
		tv_config_reset();
		tv_config_get_long("BACKUP_RETENTION_DAYS", NULL, 1, 3650);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WEXITSTATUS(status);
}

static void
test_bad_numbers(void)
{
	ok(exit_status_of_bad_number("abc") == EX_USAGE, "a retention that is not a number exits 64");
	ok(exit_status_of_bad_number("0") == EX_USAGE, "a retention of 0 days exits 64");
	ok(exit_status_of_bad_number("12x") == EX_USAGE, "trailing junk after a number exits 64");
}

static void
check_redact(const char *in, const char *want)
{
	char *got = tv_config_redact(in);

	ok(is(got, want), "redact \"%s\" -> \"%s\" (got \"%s\")", in, want, got);
	free(got);
}

static void
test_redact(void)
{
	check_redact("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0a2V5==;EndpointSuffix=core.windows.net",
	    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net");
	check_redact("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2022&sig=abc%2Fdef",
	    "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=***");
	check_redact("https://a.blob.core.windows.net/c?sv=2022&sig=abc&se=x", "https://a.blob.core.windows.net/c?sv=2022&sig=***&se=x");
	check_redact("mongodb://admin:s3cret@db1:27017/tralivali", "mongodb://admin:***@db1:27017/tralivali");
	check_redact("mongodb://db1:27017/tralivali", "mongodb://db1:27017/tralivali");
	/* Query secrets, whatever their case, with ? & and ; separators. */
	check_redact("mongodb://db1/tralivali?tls=true&tlsCertificateKeyFilePassword=hunter2&w=1",
	    "mongodb://db1/tralivali?tls=true&tlsCertificateKeyFilePassword=***&w=1");
	check_redact("mongodb://db1/t?password=a&PASSWORD=b;sig=c&clientSecret=d&apiKey=e&x=f",
	    "mongodb://db1/t?password=***&PASSWORD=***;sig=***&clientSecret=***&apiKey=***&x=f");
	check_redact("mongodb://u:p@db1/t?authSource=admin&password=", "mongodb://u:***@db1/t?authSource=admin&password=");
	/* A raw '@' in the password: the userinfo ends at the last '@', and all of it is hidden. */
	check_redact("mongodb://admin:p@ss@w0rd@db1:27017/tralivali", "mongodb://***@db1:27017/tralivali");
	check_redact("mongodb://admin:p@ss@db1,db2/tralivali?replicaSet=rs0",
	    "mongodb://***@db1,db2/tralivali?replicaSet=rs0");
	check_redact("mongodb://admin:pa/ss@db1/tralivali", "mongodb://admin:***@db1/tralivali");
	check_redact("mongodb://admin:p?ss@db1/tralivali", "mongodb://admin:***@db1/tralivali");
	check_redact("https://h/c?appName=me@example&sig=x", "https://h/c?appName=me@example&sig=***");
	check_redact("", "");
}

static void
test_env_file(void)
{
	const char *path = write_file("env", "# a comment\n\nBACKUP_STATE_DIR=/srv/state\n"
	    "  export BACKUP_BLOB_CONTAINER_NAME=\"night ly\"\nBACKUP_RETENTION_DAYS='12'\n");

	unsetenv("BACKUP_STATE_DIR");
	ok(tv_config_load_env_file(path) == 0, "an environment file loads");
	ok(is(getenv("BACKUP_STATE_DIR"), "/srv/state"), "KEY=VALUE sets the variable");
	ok(is(getenv("BACKUP_BLOB_CONTAINER_NAME"), "night ly"), "export and double quotes are taken off");
	ok(tv_config_get_long("BACKUP_RETENTION_DAYS", NULL, 0, 100000) == 12, "single quotes too, and settings see it");
	ok(tv_config_load_env_file(write_file("bad", "BACKUP_STATE_DIR=/x\nnot a line\n")) == EX_USAGE,
	    "a line that is not KEY=VALUE is a usage error");
	ok(tv_config_load_env_file("/nonexistent/env") == EX_NOINPUT, "a missing file is 66");
	unsetenv("BACKUP_STATE_DIR");
	unsetenv("BACKUP_BLOB_CONTAINER_NAME");
	unsetenv("BACKUP_RETENTION_DAYS");
	tv_config_reset();
}

int
main(void)
{
	tv_log_init("test-config");
	if (mkdtemp(dir) == NULL)
		return 1;
	test_layers();
	test_secret_file();
	test_bad_numbers();
	test_redact();
	test_env_file();
	return tap_done();
}
