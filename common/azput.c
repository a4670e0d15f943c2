/*
 * azput.c: block uploads.  Put Block calls from a few threads stage the
 * blocks; one Put Block List makes the blob visible.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "azimpl.h"
#include "log.h"

#define BLOCK_SIZE	(4u << 20)
#define UPLOAD_THREADS	4

struct block {
	struct block	*next;
	char		*data;
	size_t		 len;
	unsigned long	 index;
};

struct azupload {
	struct tv_upload	 base;
	struct azure		*az;
	char			*name;
	char			 id[17];	/* random upload id, part of every block id */
	unsigned long		 nblocks;
	struct block		*cur;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct block		*queue, *tail, *spare;
	int			 done, rc, nthreads;
	pthread_t		 threads[UPLOAD_THREADS];
};

/* Block ids must all have the same length; this one also names the upload, so a retry cannot mix uploads. */
static void
block_id(const char *upload, unsigned long index, char out[64])
{
	char raw[32];

	snprintf(raw, sizeof(raw), "%s-%010lu", upload, index);
	tv_base64((const unsigned char *)raw, strlen(raw), out);
}

static int
put_block(struct azupload *up, CURL *curl, struct block *b)
{
	char id[64], md5[32], what[1200];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	struct req rq = { .method = "PUT", .blob = up->name, .body = b->data, .body_len = b->len,
	    .content_md5 = md5 };

	block_id(up->id, b->index, id);
	EVP_Digest(b->data, b->len, digest, &dlen, EVP_md5(), NULL);
	tv_base64(digest, dlen, md5);
	rq.query[0][0] = "comp";
	rq.query[0][1] = "block";
	rq.query[1][0] = "blockid";
	rq.query[1][1] = id;
	snprintf(what, sizeof(what), "%s: uploading block %lu", up->name, b->index);
	return az_write_request(up->az, curl, &rq, what);
}

static void *
uploader(void *arg)
{
	struct azupload *up = arg;
	CURL *curl = curl_easy_init();
	struct block *b;
	int rc;

	pthread_mutex_lock(&up->mu);
	for (;;) {
		while (up->queue == NULL && !up->done)
			pthread_cond_wait(&up->cv, &up->mu);
		if ((b = up->queue) == NULL)
			break;
		if ((up->queue = b->next) == NULL)
			up->tail = NULL;
		/* After one failure the rest is pointless: drain without uploading. */
		rc = up->rc;
		pthread_mutex_unlock(&up->mu);
		if (rc == 0)
			rc = put_block(up, curl, b);
		pthread_mutex_lock(&up->mu);
		if (rc != 0 && up->rc == 0)
			up->rc = rc;
		b->next = up->spare;
		up->spare = b;
		pthread_cond_broadcast(&up->cv);
	}
	pthread_mutex_unlock(&up->mu);
	curl_easy_cleanup(curl);
	return NULL;
}

/* Returns a free block buffer, waiting for an uploader to finish one if all are in flight. */
static struct block *
take_block(struct azupload *up)
{
	struct block *b;

	pthread_mutex_lock(&up->mu);
	while (up->spare == NULL)
		pthread_cond_wait(&up->cv, &up->mu);
	b = up->spare;
	up->spare = b->next;
	pthread_mutex_unlock(&up->mu);
	b->len = 0;
	b->next = NULL;
	return b;
}

/* Hands the current block to the uploaders; returns the first upload error so far. */
static int
queue_block(struct azupload *up)
{
	struct block *b = up->cur;
	int rc;

	up->cur = NULL;
	b->index = up->nblocks++;
	pthread_mutex_lock(&up->mu);
	if (up->tail != NULL)
		up->tail->next = b;
	else
		up->queue = b;
	up->tail = b;
	rc = up->rc;
	pthread_cond_broadcast(&up->cv);
	pthread_mutex_unlock(&up->mu);
	return rc;
}

int
az_upload_begin(struct tv_store *store, const char *name, struct tv_upload **out)
{
	struct azupload *up = calloc(1, sizeof(*up));
	unsigned char rnd[8];
	FILE *f = fopen("/dev/urandom", "r");

	if (up == NULL || f == NULL || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd))
		tv_fatal(EX_OSERR, "cannot make an upload id");
	fclose(f);
	for (int i = 0; i < 8; i++)
		snprintf(up->id + 2 * i, 3, "%02x", rnd[i]);
	up->az = (struct azure *)store;
	up->name = strdup(name);
	pthread_mutex_init(&up->mu, NULL);
	pthread_cond_init(&up->cv, NULL);
	/* Threads plus one being filled plus one queued: bounded memory. */
	for (int i = 0; i < UPLOAD_THREADS + 2; i++) {
		struct block *b = calloc(1, sizeof(*b));

		if (b == NULL || (b->data = malloc(BLOCK_SIZE)) == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		b->next = up->spare;
		up->spare = b;
	}
	for (; up->nthreads < UPLOAD_THREADS; up->nthreads++)
		if (pthread_create(&up->threads[up->nthreads], NULL, uploader, up) != 0)
			tv_fatal(EX_OSERR, "cannot start upload threads");
	*out = &up->base;
	return 0;
}

int
az_upload_write(struct tv_upload *u, const void *buf, size_t len)
{
	struct azupload *up = (struct azupload *)u;
	const char *p = buf;
	int rc;

	while (len > 0) {
		size_t n;

		if (up->cur == NULL)
			up->cur = take_block(up);
		n = BLOCK_SIZE - up->cur->len;
		if (n > len)
			n = len;
		memcpy(up->cur->data + up->cur->len, p, n);
		up->cur->len += n;
		p += n;
		len -= n;
		if (up->cur->len == BLOCK_SIZE && (rc = queue_block(up)) != 0)
			return rc;
	}
	return 0;
}

/* Waits for the uploaders to finish and frees everything; returns the first upload error. */
static int
upload_end(struct azupload *up, int cancel)
{
	struct block *b;
	int rc;

	pthread_mutex_lock(&up->mu);
	up->done = 1;
	if (cancel && up->rc == 0)
		up->rc = EX_SOFTWARE;
	pthread_cond_broadcast(&up->cv);
	pthread_mutex_unlock(&up->mu);
	for (int i = 0; i < up->nthreads; i++)
		pthread_join(up->threads[i], NULL);
	rc = up->rc;
	if (up->cur != NULL) {
		up->cur->next = up->spare;
		up->spare = up->cur;
	}
	while ((b = up->spare) != NULL) {
		up->spare = b->next;
		free(b->data);
		free(b);
	}
	pthread_mutex_destroy(&up->mu);
	pthread_cond_destroy(&up->cv);
	free(up->name);
	free(up);
	return rc;
}

int
az_upload_finish(struct tv_upload *u, struct tv_receipt *r)
{
	struct azupload *up = (struct azupload *)u;
	int rc = 0, end;

	if (up->cur != NULL && up->cur->len > 0)
		rc = queue_block(up);
	r->staging = strdup(up->id);
	r->blocks = up->nblocks;
	end = upload_end(up, 0);
	return end ? end : rc;
}

void
az_upload_cancel(struct tv_upload *u)
{
	upload_end((struct azupload *)u, 1);
}

/*
 * A commit that was sent again after a cut may find its own first attempt
 * committed: the name is then taken by this very content, which is success.
 */
static int
committed_by_us(struct azure *az, const struct tv_receipt *r)
{
	struct req head;

	return az_head(az, r->name, &head) == 0 && head.length == r->size &&
	    strcasecmp(head.sha256, r->sha256) == 0;
}

/*
 * Put Block List with If-None-Match: *: the blob appears, whole, with its
 * checksums, only if no blob of that name exists; an existing one is never
 * replaced.
 */
int
az_commit(struct tv_store *store, struct tv_receipt *r)
{
	struct azure *az = (struct azure *)store;
	static const char head[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
	size_t cap = sizeof(head) + (r->blocks + 1) * 64 + 32, n;
	char *xml = malloc(cap), id[64], md5[32], what[1200];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen;
	struct req rq = { .method = "PUT", .blob = r->name, .content_md5 = md5, .create_only = 1,
	    .query = { { "comp", "blocklist" } },
	    .xms = { { "x-ms-blob-content-md5", r->md5 }, { "x-ms-meta-sha256", r->sha256 } } };
	int rc;

	if (xml == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	n = (size_t)snprintf(xml, cap, "%s", head);
	for (unsigned long i = 0; i < r->blocks; i++) {
		block_id(r->staging, i, id);
		n += (size_t)snprintf(xml + n, cap - n, "<Latest>%s</Latest>", id);
	}
	n += (size_t)snprintf(xml + n, cap - n, "</BlockList>");
	EVP_Digest(xml, n, digest, &dlen, EVP_md5(), NULL);
	tv_base64(digest, dlen, md5);
	rq.body = xml;
	rq.body_len = n;
	snprintf(what, sizeof(what), "%s: committing", r->name);
	rc = az_write_request(az, az->curl, &rq, what);
	if (rc != 0 && strcmp(rq.code, "InvalidBlockList") == 0) {
		tv_error("%s: the staged blocks are gone (committed or expired already)", r->name);
		rc = EX_NOINPUT;
	}
	if (rc == EX_CANTCREAT && rq.attempts > 1 && committed_by_us(az, r))
		rc = 0;
	free(xml);
	return rc;
}

/*
 * Azure has no call to drop uncommitted blocks: they stay invisible and the
 * service discards them after a week, or at the next commit of the name.
 */
int
az_abort(struct tv_store *store, const struct tv_receipt *r)
{
	tv_debug("%s: %lu uncommitted blocks of upload %s left for the service to discard", r->name,
	    r->blocks, r->staging);
	return 0;
}
