/* azimpl.h: what the files of the Azure backend (azconn.c, azreq.c, azerr.c, azput.c, azget.c, azlist.c) share. */
#ifndef TV_AZIMPL_H
#define TV_AZIMPL_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include <curl/curl.h>

#include "storeimpl.h"

#define API_VERSION	"2021-08-06"

struct azure {
	struct tv_store	 base;
	char		*account;
	unsigned char	 key[128];
	int		 keylen;	/* 0: authenticate with the SAS instead */
	char		*sas;		/* query string without '?', or NULL */
	char		*endpoint;	/* scheme://host[:port][/path], no trailing slash */
	const char	*endpoint_path;	/* the /path part of endpoint, "" if none */
	CURL		*curl;		/* the main thread's connection */
	pthread_mutex_t	 mu;
	int		 container_ready;
};

/* One REST call: what to send, and what came back. */
struct req {
	const char	*method;
	const char	*blob;		/* NULL for container calls */
	const char	*query[6][2];	/* unencoded name, value; NULL-terminated */
	const char	*xms[4][2];	/* extra x-ms-* headers, lower-case names, sorted */
	const char	*content_md5;
	const char	*if_match;
	int		 create_only;	/* If-None-Match: *, so an existing blob is never replaced */
	int		 quiet_unserved;	/* a 400, 405 or 501 is the caller's to word (another way may serve) */
	char		 range[48];
	const char	*body;		/* PUT body */
	size_t		 body_len, body_off;
	/* Receives a 2xx body; returns 0 or an exit code, which ends the call. */
	int		(*sink)(struct req *, const char *, size_t);
	void		*arg;
	/* Adjusts the call before each attempt (e.g. Range after a cut). */
	void		(*prepare)(struct req *);
	int		 sink_rc;
	unsigned	 attempts;	/* how many times the request was sent */
	unsigned long long got;		/* body bytes the sink accepted, over all attempts */

	long		 status;
	char		 etag[128], md5[64], sha256[80], code[128], modified[64], copy_status[32];
	double		 retry_after;
	unsigned long long length;
	char		 errbody[4096];
	size_t		 errlen;
};

/* Copies a string into a fixed array, truncating. */
#define COPY(dst, src) snprintf((dst), sizeof(dst), "%.*s", (int)sizeof(dst) - 1, (src))

/* Writes the SharedKey "Authorization:" header line for the request into auth. */
void	az_sign(struct azure *az, const struct req *rq, const char *path, const char *date, char *auth,
	    size_t cap);
/*
 * Runs a request with retries; returns 0 for 2xx, else logs and returns an exit
 * code: 66 quietly for 404, 73 quietly when a create-only write finds the name taken.
 */
int	az_request(struct azure *az, CURL *curl, struct req *rq, const char *what);
/* Like az_request, creating the container on first use if it is missing. */
int	az_write_request(struct azure *az, CURL *curl, struct req *rq, const char *what);
/* Describes a failed response from its XML error body: "HTTP status Code: first line of Message". */
void	az_describe_error(const struct req *rq, char *out, size_t cap);
/* Get Blob Properties into rq; logs "no such blob" for 66. */
int	az_head(struct azure *az, const char *name, struct req *rq);
/*
 * Returns the code of an HTTP status line of len bytes ("HTTP/1.1 200 OK",
 * and libcurl's "HTTP/2 200 " for HTTP/2, which TLS connections negotiate),
 * or 0 if it has none.
 */
long	az_status_code(const char *line, size_t len);
/*
 * The exit code of a final HTTP status that is not 2xx, 404, 401/403 or a
 * create-only conflict, by its meaning: a conflict or failed condition may pass
 * (75), a request the server rejects is an I/O failure of ours (74), anything
 * else a service that does not answer as it should (69).  Never 1.
 */
int	az_unmapped_status(long status);
/* Parses an HTTP date ("Mon, 15 Jan 2024 03:00:07 GMT"); 0 if it is not one. */
time_t	az_http_date(const char *s);

/* The store operations, one file per concern. */
int	az_upload_begin(struct tv_store *store, const char *name, struct tv_upload **out);
int	az_upload_write(struct tv_upload *u, const void *buf, size_t len);
int	az_upload_finish(struct tv_upload *u, struct tv_receipt *r);
void	az_upload_cancel(struct tv_upload *u);
int	az_commit(struct tv_store *store, struct tv_receipt *r);
int	az_abort(struct tv_store *store, const struct tv_receipt *r);
int	az_get(struct tv_store *store, const char *name, int fd);
int	az_stat(struct tv_store *store, const char *name, struct tv_blob *blob);
int	az_del(struct tv_store *store, const char *name);
int	az_list(struct tv_store *store, const char *prefix, tv_list_fn fn, void *arg);
/* Returns 0 if the container exists, 66 quietly if not (Get Container Properties). */
int	az_container(struct tv_store *store);

/* Server-side copies (azcopy.c). */
/* Writes the URL of src's blob name with a read-only SAS for that blob alone, valid an hour from now, into url. */
int	az_read_url(struct azure *src, const char *name, time_t now, char *url, size_t cap);
/* Fills rq as Copy Blob From URL of url into name (synchronous, create-only, checked against source_md5). */
void	az_copy_from_url_req(struct req *rq, const char *name, const char *url, const char *source_md5);
/* Fills rq as Put Block From URL: block block_id of name from bytes off..off+len-1 of url (range: its buffer). */
void	az_block_from_url_req(struct req *rq, const char *name, const char *block_id, const char *url,
	    unsigned long long off, unsigned long long len, char range[64]);
/* Fills rq as the asynchronous Copy Blob of url into name (create-only). */
void	az_copy_async_req(struct req *rq, const char *name, const char *url);

#endif
