/*
 * fuzz-catalog: a tv-blob-ls listing (names from the store), read into
 * folders, oplog slices and breaks, chained into ranges and written out as
 * the catalogue JSON, as tv-catalog and the flows on top of it do.
 */

#include <stdio.h>
#include <stdlib.h>

#include "catalog.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tv_catalog cat;
	bson_t doc = BSON_INITIALIZER;
	FILE *in;
	int rc;

	if (size == 0 || (in = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	tv_catalog_init(&cat, "backups");
	rc = tv_catalog_read_listing(&cat, in, "fuzz");
	if (rc != 0 && rc != 65)
		abort();
	if (rc == 0) {
		rc = tv_catalog_chain(&cat);
		if (rc != 0 && rc != 65)
			abort();
		tv_catalog_append(&cat, &doc, 1);
	}
	bson_destroy(&doc);
	tv_catalog_free(&cat);
	fclose(in);
	return 0;
}
