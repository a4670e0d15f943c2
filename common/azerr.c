/* azerr.c: what Azure says went wrong, from the XML body of a failed response. */

#include <stdio.h>
#include <string.h>

#include <expat.h>

#include "azimpl.h"

struct errxml {
	char	 code[128], message[512];
	char	*cur;
	size_t	 cap;
};

static void XMLCALL
err_start(void *arg, const XML_Char *el, const XML_Char **attr)
{
	struct errxml *e = arg;

	e->cur = NULL;
	if (strcmp(el, "Code") == 0) {
		e->cur = e->code;
		e->cap = sizeof(e->code);
	} else if (strcmp(el, "Message") == 0) {
		e->cur = e->message;
		e->cap = sizeof(e->message);
	}
}

static void XMLCALL
err_end(void *arg, const XML_Char *el)
{
	((struct errxml *)arg)->cur = NULL;
}

static void XMLCALL
err_text(void *arg, const XML_Char *s, int len)
{
	struct errxml *e = arg;
	size_t n;

	if (e->cur == NULL)
		return;
	n = strlen(e->cur);
	snprintf(e->cur + n, e->cap - n, "%.*s", len, s);
}

/* Describes a failed response from its XML error body: "Code: first line of Message". */
void
az_describe_error(const struct req *rq, char *out, size_t cap)
{
	struct errxml e = { "", "", NULL, 0 };
	XML_Parser p = XML_ParserCreate(NULL);

	XML_SetUserData(p, &e);
	XML_SetElementHandler(p, err_start, err_end);
	XML_SetCharacterDataHandler(p, err_text);
	XML_Parse(p, rq->errbody, (int)rq->errlen, 1);
	XML_ParserFree(p);
	/* Azure appends RequestId and Time on lines of their own. */
	e.message[strcspn(e.message, "\r\n")] = '\0';
	snprintf(out, cap, "HTTP %ld %s%s%s", rq->status, e.code[0] ? e.code : rq->code,
	    e.message[0] ? ": " : "", e.message);
}
