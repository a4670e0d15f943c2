/* fuzz-azerr: the XML body of a failed Azure response, turned into the message a tool prints. */

#include <stdlib.h>
#include <string.h>

#include "azimpl.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct req rq;
	char out[1024];

	memset(&rq, 0, sizeof(rq));
	/* A response keeps at most errbody's size of its body. */
	rq.errlen = size < sizeof(rq.errbody) ? size : sizeof(rq.errbody);
	memcpy(rq.errbody, data, rq.errlen);
	rq.status = 403;
	COPY(rq.code, "AuthorizationFailure");
	az_describe_error(&rq, out, sizeof(out));
	if (strlen(out) >= sizeof(out))
		abort();
	return 0;
}
