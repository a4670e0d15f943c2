/* fuzz-manifest: manifest.json as tv-catalog check, tv-prune and every flow read it from the store. */

#include <stdlib.h>

#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[TV_MANIFEST_ERR_MAX];
	struct tv_manifest m;
	bson_t doc = BSON_INITIALIZER;

	/* Checked against the folder it was read from, and against its own filePath. */
	if (tv_manifest_parse((const char *)data, size, "backups/2024-01-15", &m, err) == 0) {
		tv_manifest_append(&m, &doc);
		tv_manifest_free(&m);
	}
	if (tv_manifest_parse((const char *)data, size, NULL, &m, err) == 0)
		tv_manifest_free(&m);
	bson_destroy(&doc);
	return 0;
}
