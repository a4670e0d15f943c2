/* storeimpl.h: what a store backend (filestore.c, az*.c) provides to store.c. */
#ifndef TV_STOREIMPL_H
#define TV_STOREIMPL_H

#include <openssl/evp.h>

#include "store.h"

/* The operations of one backend; store.c checks names and hashes, the backend moves bytes. */
struct tv_store_ops {
	const char *kind;
	int	(*upload_begin)(struct tv_store *, const char *, struct tv_upload **);
	int	(*upload_write)(struct tv_upload *, const void *, size_t);
	int	(*upload_finish)(struct tv_upload *, struct tv_receipt *);
	void	(*upload_cancel)(struct tv_upload *);
	int	(*commit)(struct tv_store *, struct tv_receipt *);
	int	(*abort)(struct tv_store *, const struct tv_receipt *);
	int	(*get)(struct tv_store *, const char *, int);
	int	(*list)(struct tv_store *, const char *, tv_list_fn, void *);
	int	(*stat)(struct tv_store *, const char *, struct tv_blob *);
	int	(*del)(struct tv_store *, const char *);
	void	(*close)(struct tv_store *);
	int	(*container)(struct tv_store *);
};

/* The part of a store every backend shares; backends embed it first in their own struct. */
struct tv_store {
	const struct tv_store_ops	*ops;
	char				*container;
	char				 grants[16];	/* permission letters (r, a, c, w, d, l), "" if unknown */
};

/* The part of an upload every backend shares; backends embed it first in their own struct. */
struct tv_upload {
	struct tv_store		*store;
	char			*name;
	unsigned long long	 size;
	EVP_MD_CTX		*md5;
	EVP_MD_CTX		*sha256;
};

/* A running whole-stream checksum, for verifying what a download delivered. */
struct tv_digest {
	EVP_MD_CTX	*md5;
	EVP_MD_CTX	*sha256;
};

/* Starts SHA-256, and MD5 too if want_md5 (it costs time); exits if out of memory. */
void tv_digest_init(struct tv_digest *d, int want_md5);
/* Adds len bytes to the checksums. */
void tv_digest_update(struct tv_digest *d, const void *buf, size_t len);
/* Ends the checksums, writing base64 MD5 ("" if not wanted) and hex SHA-256, and frees them. */
void tv_digest_final(struct tv_digest *d, char md5[25], char sha256[65]);

/* Encodes len bytes as base64 into out (4 * ceil(len / 3) + 1 bytes). */
void tv_base64(const unsigned char *in, size_t len, char *out);
/* Compares what a download delivered with what the store recorded; returns 0 or 65. */
int tv_store_verify(const char *name, unsigned long long want_size, unsigned long long got_size,
    const char *want_md5, const char *want_sha256, struct tv_digest *d);

/* Opens a local directory store rooted at root (the path after "file:"). */
struct tv_store *tv_filestore_open(const char *root, const char *container);

#endif
