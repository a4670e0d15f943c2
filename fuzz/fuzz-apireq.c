/*
 * fuzz-apireq: what tv-api reads from a request before any flow runs: the route from
 * the method and path, the bearer token from the Authorization header, the date, point,
 * time and collections parameters, and the JSON strings its answers quote them in.
 * Lines of the input are, in order: method, path, Authorization value, parameter.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *line[4] = { "", "", "", "" }, *p = s, *j;
	struct tv_api_route route;
	size_t len;

	for (int i = 0; i < 4 && p != NULL; i++) {
		line[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	if (tv_api_match(line[0], line[1], &route) == 0 && strlen(route.arg) >= sizeof(route.arg))
		abort();
	if (tv_api_bearer(line[2], &len) != NULL && len > strlen(line[2]))
		abort();
	(void)tv_api_valid_date(line[3]);
	(void)tv_api_valid_point(line[3]);
	(void)tv_api_valid_time(line[3]);
	(void)tv_api_valid_collections(line[3]);
	if ((j = tv_json_string(line[3])) == NULL || j[0] != '"')
		abort();
	free(j);
	free(s);
	return 0;
}
