/* fuzz-config: appsettings.json, read for every setting, and the redaction of the values found. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *names[] = {
	"MONGODB_URI",
	"BACKUP_BLOB_STORAGE_CONNECTION_STRING",
	"BACKUP_BLOB_CONTAINER_NAME",
	"BACKUP_CRON_SCHEDULE",
	"BACKUP_RETENTION_DAYS",
	"BACKUP_KEEP_DAILY",
	"BACKUP_KEEP_WEEKLY",
	"BACKUP_KEEP_MONTHLY",
	"BACKUP_KEEP_YEARLY",
	"BACKUP_PITR_DAYS",
	"BACKUP_CIRCUIT_BREAKER_FAILURE_THRESHOLD",
	"BACKUP_CIRCUIT_BREAKER_TIMEOUT_SECONDS",
	"BACKUP_STATE_DIR",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static jmp_buf fatal;
	static char path[64];
	static size_t i;
	int fd = fuzz_fd(data, size);
	const char *v;
	char *r;

	/* The settings come from the file alone, as on a server with no environment set. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	setenv("TV_APPSETTINGS", path, 1);
	tv_config_reset();
	/* A malformed file or value exits 64 in the tools: here it jumps back and the next input runs. */
	if (FUZZ_CATCH_FATAL(fatal) == 0) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if ((v = tv_config_get(names[i], NULL)) == NULL)
				continue;
			if ((r = tv_config_redact(v)) == NULL)
				abort();
			free(r);
		}
		(void)tv_config_get_long("BACKUP_RETENTION_DAYS", NULL, 1, 36500);
	}
	FUZZ_END_CATCH();
	tv_config_reset();
	close(fd);
	return 0;
}
