/*
 * fuzz-manifest: a manifest.json from the store, parsed and checked as every
 * reader does; one that passes must name only canonical blobs and safe
 * collections, and must survive being written out and read back.
 */

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what a reader relies on in a manifest that parsed. */
static void
check_accepted(const struct tv_manifest *m)
{
	char err[TV_MANIFEST_ERR_MAX], *json;
	struct tv_manifest back;
	bson_t doc = BSON_INITIALIZER;
	size_t len;

	for (size_t i = 0; i < m->ncollections; i++)
		if (!tv_collection_name_ok(m->collections[i].name) || strstr(m->collections[i].file, "..") != NULL)
			abort();
	tv_manifest_append(m, &doc);
	if ((json = bson_as_relaxed_extended_json(&doc, &len)) == NULL)
		abort();
	if (tv_manifest_parse(json, len, NULL, &back, err) != 0 || back.ncollections != m->ncollections)
		abort();
	tv_manifest_free(&back);
	bson_free(json);
	bson_destroy(&doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Read as tv-recover reads a given folder's, and as tv-list reads any (its own filePath). */
	static const char *folders[] = { "backups/2024-01-15", NULL };
	char err[TV_MANIFEST_ERR_MAX];
	struct tv_manifest m;
	int rc;

	for (size_t f = 0; f < sizeof(folders) / sizeof(folders[0]); f++) {
		memset(&m, 0, sizeof(m));
		rc = tv_manifest_parse((const char *)data, size, folders[f], &m, err);
		if (rc == 0)
			check_accepted(&m);
		else if (rc != 65 || err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		tv_manifest_free(&m);
	}
	return 0;
}
