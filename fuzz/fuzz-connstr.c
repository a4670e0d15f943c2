/*
 * fuzz-connstr: BACKUP_BLOB_STORAGE_CONNECTION_STRING, parsed as tv_azure_open
 * does, and redacted as the messages that quote it are.
 *
 * The parser is static in azconn.c, so the harness compiles that file in.
 */

#include "../common/azconn.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__asan_default_options(void);

/* A malformed string exits 64 without freeing its parts, which in process reads as a leak. */
const char *
__asan_default_options(void)
{
	return "detect_leaks=0";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static jmp_buf fatal;
	static struct azure az;
	char *cs = fuzz_string(data, size), *r;

	memset(&az, 0, sizeof(az));
	unsetenv("BACKUP_ALLOW_INSECURE_HTTP");
	if (FUZZ_CATCH_FATAL(fatal) == 0)
		parse_connection_string(&az, "BACKUP_BLOB_STORAGE_CONNECTION_STRING", cs);
	FUZZ_END_CATCH();
	free(az.account);
	free(az.sas);
	free(az.endpoint);
	if ((r = tv_config_redact(cs)) == NULL)
		abort();
	free(r);
	free(cs);
	return 0;
}
