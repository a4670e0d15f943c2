/*
 * fuzz-azlist: a page of an Azure blob listing (EnumerationResults XML), fed
 * in two pieces as the network delivers it, then read entry by entry as
 * az_list does.  The first input byte chooses where the page is cut.  The
 * parser is static in azlist.c, so the harness compiles that file in.
 */

#include "../common/azlist.c"

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct listing l;
	struct req rq = { .arg = &l };
	size_t cut;
	int rc;

	if (size == 0)
		return 0;
	cut = 1 + data[0] % size;
	memset(&l, 0, sizeof(l));
	list_prepare(&rq);
	rc = list_sink(&rq, (const char *)data + 1, cut - 1);
	if (rc == 0)
		rc = list_sink(&rq, (const char *)data + cut, size - cut);
	if (rc == 0 && XML_Parse(l.parser, "", 0, 1) == XML_STATUS_ERROR)
		rc = EX_PROTOCOL;
	for (size_t i = 0; rc == 0 && i < l.n; i++)
		if (l.v[i].name == NULL || strlen(l.v[i].name) >= sizeof(l.text))
			abort();
	if (strlen(l.marker) >= sizeof(l.marker))
		abort();
	list_free_entries(&l);
	XML_ParserFree(l.parser);
	free(l.v);
	return 0;
}
