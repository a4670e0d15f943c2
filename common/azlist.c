/* azlist.c: listings, page by page, parsed with expat as they arrive. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <expat.h>

#include "azimpl.h"
#include "log.h"

#define PAGE_SIZE	5000

struct entry {
	char			*name;
	unsigned long long	 size;
	time_t			 mtime;
};

struct listing {
	XML_Parser	 parser;
	struct entry	*v;
	size_t		 n, cap;
	char		 text[2048];	/* character data of the current element */
	size_t		 textlen;
	char		 marker[1024];	/* NextMarker: where the next page starts */
	int		 in_blob, in_properties;
	struct entry	 cur;
	int		 failed;
};

static void XMLCALL
list_start(void *arg, const XML_Char *el, const XML_Char **attr)
{
	struct listing *l = arg;

	l->textlen = 0;
	l->text[0] = '\0';
	if (strcmp(el, "Blob") == 0) {
		/* A Blob opened inside another (hostile XML) drops the unfinished one. */
		l->in_blob = 1;
		free(l->cur.name);
		memset(&l->cur, 0, sizeof(l->cur));
	} else if (strcmp(el, "Properties") == 0)
		l->in_properties = 1;
}

static void XMLCALL
list_end(void *arg, const XML_Char *el)
{
	struct listing *l = arg;

	if (strcmp(el, "NextMarker") == 0)
		COPY(l->marker, l->text);
	else if (!l->in_blob)
		return;
	else if (strcmp(el, "Name") == 0 && !l->in_properties) {
		/* One name per blob: a repeated Name element replaces the one before. */
		free(l->cur.name);
		if ((l->cur.name = strdup(l->text)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	} else if (strcmp(el, "Content-Length") == 0)
		l->cur.size = strtoull(l->text, NULL, 10);
	else if (strcmp(el, "Last-Modified") == 0)
		l->cur.mtime = az_http_date(l->text);
	else if (strcmp(el, "Properties") == 0)
		l->in_properties = 0;
	else if (strcmp(el, "Blob") == 0) {
		l->in_blob = 0;
		if (l->cur.name == NULL)
			return;
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 512;
			if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
				tv_fatal(EX_OSERR, "out of memory");
		}
		l->v[l->n++] = l->cur;
		l->cur.name = NULL;
	}
}

static void XMLCALL
list_text(void *arg, const XML_Char *s, int len)
{
	struct listing *l = arg;
	size_t room = sizeof(l->text) - 1 - l->textlen, n = (size_t)len < room ? (size_t)len : room;

	memcpy(l->text + l->textlen, s, n);
	l->textlen += n;
	l->text[l->textlen] = '\0';
}

static void
list_free_entries(struct listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->cur.name);
	l->cur.name = NULL;
	l->n = 0;
}

/* Every attempt parses the page afresh, so a retried page is never half-counted. */
static void
list_prepare(struct req *rq)
{
	struct listing *l = rq->arg;

	list_free_entries(l);
	if (l->parser != NULL)
		XML_ParserFree(l->parser);
	l->parser = XML_ParserCreate(NULL);
	XML_SetUserData(l->parser, l);
	XML_SetElementHandler(l->parser, list_start, list_end);
	XML_SetCharacterDataHandler(l->parser, list_text);
	l->marker[0] = '\0';
	l->in_blob = l->in_properties = 0;
}

static int
list_sink(struct req *rq, const char *data, size_t len)
{
	struct listing *l = rq->arg;

	if (XML_Parse(l->parser, data, (int)len, 0) == XML_STATUS_ERROR) {
		tv_error("listing: malformed XML from the store: %s",
		    XML_ErrorString(XML_GetErrorCode(l->parser)));
		return EX_PROTOCOL;
	}
	return 0;
}

int
az_list(struct tv_store *store, const char *prefix, tv_list_fn fn, void *arg)
{
	struct azure *az = (struct azure *)store;
	struct listing l;
	char marker[1024] = "", maxresults[16];
	int rc = 0;

	memset(&l, 0, sizeof(l));
	snprintf(maxresults, sizeof(maxresults), "%d", PAGE_SIZE);
	do {
		struct req rq = { .method = "GET", .sink = list_sink, .arg = &l, .prepare = list_prepare,
		    .query = { { "comp", "list" }, { "maxresults", maxresults }, { "restype", "container" } } };
		int q = 3;

		if (*prefix) {
			rq.query[q][0] = "prefix";
			rq.query[q++][1] = prefix;
		}
		if (*marker) {
			rq.query[q][0] = "marker";
			rq.query[q++][1] = marker;
		}
		rc = az_request(az, az->curl, &rq, "listing blobs");
		if (rc == EX_NOINPUT) {
			/* No container yet means no blobs yet. */
			rc = 0;
			break;
		}
		if (rc == 0 && XML_Parse(l.parser, "", 0, 1) == XML_STATUS_ERROR) {
			tv_error("listing: truncated XML from the store");
			rc = EX_PROTOCOL;
		}
		for (size_t i = 0; rc == 0 && i < l.n; i++) {
			struct tv_blob b = { .name = l.v[i].name, .size = l.v[i].size, .mtime = l.v[i].mtime };

			/* The file store's staging names are never blobs: skip them if someone copied them here. */
			if (strstr(b.name, "/.tv-") == NULL && strncmp(b.name, ".tv-", 4) != 0)
				rc = fn(&b, arg);
		}
		snprintf(marker, sizeof(marker), "%s", l.marker);
		tv_debug("listed a page of %zu blobs%s", l.n, *marker ? ", more follow" : "");
		list_free_entries(&l);
	} while (rc == 0 && *marker);
	if (l.parser != NULL)
		XML_ParserFree(l.parser);
	free(l.v);
	return rc;
}

int
az_container(struct tv_store *store)
{
	struct azure *az = (struct azure *)store;
	struct req rq = { .method = "HEAD", .query = { { "restype", "container" } } };

	return az_request(az, az->curl, &rq, "checking the container");
}
