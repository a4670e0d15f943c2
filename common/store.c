/* store.c: the store interface: names, checksums and receipts, shared by both backends. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <bson/bson.h>
#include <openssl/evp.h>

#include "azure.h"
#include "config.h"
#include "io.h"
#include "log.h"
#include "store.h"
#include "storeimpl.h"

static const char *const role_names[] = { "backup", "restore", "prune", "copy" };
static const char *const role_settings[] = { NULL, "BACKUP_RESTORE_CONNECTION_STRING",
    "BACKUP_PRUNE_CONNECTION_STRING", "BACKUP_COPY_CONNECTION_STRING" };

int
tv_store_role_parse(const char *name, enum tv_store_role *role)
{
	for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if (strcmp(name, role_names[i]) == 0) {
			*role = (enum tv_store_role)i;
			return 0;
		}
	tv_error("--role: not a role (backup, restore, prune, copy): %s", name);
	return EX_USAGE;
}

const char *
tv_store_role_name(enum tv_store_role role)
{
	return role_names[role];
}

struct tv_store *
tv_store_open(void)
{
	return tv_store_open_role(TV_ROLE_BACKUP);
}

/* Opens a store from connection string cs (named setting in messages) and container; exits on failure. */
static struct tv_store *
open_store(const char *setting, const char *cs, const char *container_setting, const char *container)
{
	if (container == NULL || *container == '\0' || strchr(container, '/') != NULL ||
	    container[0] == '.')
		tv_fatal(EX_USAGE, "%s: not a container name: %s", container_setting,
		    container ? container : "");
	if (strncmp(cs, "file:", 5) == 0)
		return tv_filestore_open(cs + 5, container);
	return tv_azure_open(setting, cs, container);
}

/*
 * The second store never falls back to the first: a copy written into the
 * primary by mistake would be no copy at all.
 */
static struct tv_store *
open_copy(const char *primary_container)
{
	const char *cs = tv_config_get("BACKUP_COPY_CONNECTION_STRING", NULL);
	const char *container = tv_config_get("BACKUP_COPY_CONTAINER_NAME", NULL);

	if (cs == NULL || *cs == '\0')
		tv_fatal(EX_USAGE, "no copy store: set BACKUP_COPY_CONNECTION_STRING "
		    "(an Azure connection string, or file:/path for a local directory)");
	tv_debug("store role copy, credential from BACKUP_COPY_CONNECTION_STRING");
	if (container == NULL || *container == '\0')
		return open_store("BACKUP_COPY_CONNECTION_STRING", cs, "BACKUP_BLOB_CONTAINER_NAME",
		    primary_container);
	return open_store("BACKUP_COPY_CONNECTION_STRING", cs, "BACKUP_COPY_CONTAINER_NAME", container);
}

struct tv_store *
tv_store_open_role(enum tv_store_role role)
{
	const char *setting = "BACKUP_BLOB_STORAGE_CONNECTION_STRING", *cs = NULL;
	const char *container = tv_config_get("BACKUP_BLOB_CONTAINER_NAME", NULL);

	if (role == TV_ROLE_COPY)
		return open_copy(container);
	if (role_settings[role] != NULL && (cs = tv_config_get(role_settings[role], NULL)) != NULL && *cs != '\0')
		setting = role_settings[role];
	else
		cs = tv_config_get(setting, NULL);
	tv_debug("store role %s, credential from %s", role_names[role], setting);
	if (cs == NULL || *cs == '\0')
		tv_fatal(EX_USAGE, "no blob store: set BACKUP_BLOB_STORAGE_CONNECTION_STRING "
		    "(an Azure connection string, or file:/path for a local directory)");
	return open_store(setting, cs, "BACKUP_BLOB_CONTAINER_NAME", container);
}

int
tv_store_may(const struct tv_store *store, char perm)
{
	if (store->grants[0] == '\0') {
		tv_warn("cannot tell what this shared access signature permits (no sp=, a stored access policy?); "
		    "assuming it may not");
		return 0;
	}
	/* Creating a blob needs create or write; an add-only credential cannot commit block lists. */
	if (perm == 'w')
		return strchr(store->grants, 'w') != NULL || strchr(store->grants, 'c') != NULL;
	return strchr(store->grants, perm) != NULL;
}

void
tv_store_close(struct tv_store *store)
{
	if (store != NULL)
		store->ops->close(store);
}

/*
 * Names are paths inside the container.  Empty, "." and ".." components would
 * escape or alias in the file store, and ".tv-" is where uploads are staged.
 */
int
tv_store_check_name(const char *name)
{
	const char *p = name;
	size_t len = strlen(name);

	if (len == 0 || len > 1024) {
		tv_error("blob name must be 1 to 1024 bytes long");
		return EX_USAGE;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    strncmp(p, ".tv-", 4) == 0) {
			tv_error("%s: not a usable blob name (empty, \".\", \"..\" or \".tv-\" path component)", name);
			return EX_USAGE;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
				tv_error("%s: control character in blob name", name);
				return EX_USAGE;
			}
		p += n;
		if (*p == '/' && *++p == '\0') {
			tv_error("%s: blob name ends with /", name);
			return EX_USAGE;
		}
	}
	return 0;
}

static EVP_MD_CTX *
md_new(const EVP_MD *type)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || !EVP_DigestInit_ex(ctx, type, NULL))
		tv_fatal(EX_OSERR, "cannot start a %s checksum", EVP_MD_name(type));
	return ctx;
}

void
tv_digest_init(struct tv_digest *d, int want_md5)
{
	d->md5 = want_md5 ? md_new(EVP_md5()) : NULL;
	d->sha256 = md_new(EVP_sha256());
}

void
tv_digest_update(struct tv_digest *d, const void *buf, size_t len)
{
	if (d->md5 != NULL)
		EVP_DigestUpdate(d->md5, buf, len);
	EVP_DigestUpdate(d->sha256, buf, len);
}

void
tv_base64(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

void
tv_digest_final(struct tv_digest *d, char md5[25], char sha256[65])
{
	unsigned char m[EVP_MAX_MD_SIZE];
	unsigned int n;

	md5[0] = '\0';
	if (d->md5 != NULL) {
		EVP_DigestFinal_ex(d->md5, m, &n);
		tv_base64(m, n, md5);
	}
	EVP_DigestFinal_ex(d->sha256, m, &n);
	for (unsigned int i = 0; i < n; i++)
		snprintf(sha256 + 2 * i, 3, "%02x", m[i]);
	EVP_MD_CTX_free(d->md5);
	EVP_MD_CTX_free(d->sha256);
	d->md5 = d->sha256 = NULL;
}

int
tv_store_verify(const char *name, unsigned long long want_size, unsigned long long got_size,
    const char *want_md5, const char *want_sha256, struct tv_digest *d)
{
	char md5[25], sha256[65];

	tv_digest_final(d, md5, sha256);
	if (got_size != want_size) {
		tv_error("%s: got %llu bytes, the store holds %llu", name, got_size, want_size);
		return EX_DATAERR;
	}
	if (want_sha256 != NULL && *want_sha256 != '\0' && strcasecmp(want_sha256, sha256) != 0) {
		tv_error("%s: SHA-256 mismatch: got %s, stored %s", name, sha256, want_sha256);
		return EX_DATAERR;
	}
	if (want_md5 != NULL && *want_md5 != '\0' && *md5 != '\0' && strcmp(want_md5, md5) != 0) {
		tv_error("%s: MD5 mismatch: got %s, stored %s", name, md5, want_md5);
		return EX_DATAERR;
	}
	tv_debug("%s: %llu bytes, sha256 %s verified", name, got_size, sha256);
	return 0;
}

int
tv_upload_begin(struct tv_store *store, const char *name, struct tv_upload **up)
{
	int rc;

	*up = NULL;
	if ((rc = tv_store_check_name(name)) != 0)
		return rc;
	if ((rc = store->ops->upload_begin(store, name, up)) != 0)
		return rc;
	(*up)->store = store;
	(*up)->name = strdup(name);
	(*up)->size = 0;
	(*up)->md5 = md_new(EVP_md5());
	(*up)->sha256 = md_new(EVP_sha256());
	return 0;
}

int
tv_upload_write(struct tv_upload *up, const void *buf, size_t len)
{
	EVP_DigestUpdate(up->md5, buf, len);
	EVP_DigestUpdate(up->sha256, buf, len);
	up->size += len;
	return up->store->ops->upload_write(up, buf, len);
}

/* Frees what tv_upload_begin set up; the backend frees the rest. */
static void
upload_release(struct tv_upload *up)
{
	free(up->name);
	EVP_MD_CTX_free(up->md5);
	EVP_MD_CTX_free(up->sha256);
}

int
tv_upload_finish(struct tv_upload *up, struct tv_receipt *r)
{
	struct tv_digest d = { up->md5, up->sha256 };

	memset(r, 0, sizeof(*r));
	r->name = strdup(up->name);
	r->size = up->size;
	r->store = strdup(up->store->ops->kind);
	tv_digest_final(&d, r->md5, r->sha256);
	up->md5 = up->sha256 = NULL;
	upload_release(up);
	return up->store->ops->upload_finish(up, r);
}

void
tv_upload_cancel(struct tv_upload *up)
{
	if (up == NULL)
		return;
	upload_release(up);
	up->store->ops->upload_cancel(up);
}

/* A receipt from one kind of store must not be committed in another. */
static int
check_receipt(struct tv_store *store, const struct tv_receipt *r)
{
	if (strcmp(r->store, store->ops->kind) != 0) {
		tv_error("receipt for %s is from a %s store, this is a %s store", r->name, r->store,
		    store->ops->kind);
		return EX_USAGE;
	}
	return tv_store_check_name(r->name);
}

int
tv_store_commit(struct tv_store *store, struct tv_receipt *r)
{
	int rc;

	if (r->committed)
		return 0;
	if ((rc = check_receipt(store, r)) != 0)
		return rc;
	if ((rc = store->ops->commit(store, r)) == EX_CANTCREAT)
		tv_error("%s already exists in the store; nothing was overwritten", r->name);
	if (rc != 0)
		return rc;
	r->committed = 1;
	return 0;
}

int
tv_store_abort(struct tv_store *store, const struct tv_receipt *r)
{
	int rc;

	if (r->committed) {
		tv_error("%s: already committed, cannot abort", r->name);
		return EX_USAGE;
	}
	if ((rc = check_receipt(store, r)) != 0)
		return rc;
	return store->ops->abort(store, r);
}

int
tv_store_get(struct tv_store *store, const char *name, int fd)
{
	int rc = tv_store_check_name(name);

	return rc ? rc : store->ops->get(store, name, fd);
}

int
tv_store_list(struct tv_store *store, const char *prefix, tv_list_fn fn, void *arg)
{
	return store->ops->list(store, prefix ? prefix : "", fn, arg);
}

int
tv_store_stat(struct tv_store *store, const char *name, struct tv_blob *blob)
{
	int rc = tv_store_check_name(name);

	return rc ? rc : store->ops->stat(store, name, blob);
}

int
tv_store_delete(struct tv_store *store, const char *name)
{
	int rc = tv_store_check_name(name);

	return rc ? rc : store->ops->del(store, name);
}

int
tv_store_container(struct tv_store *store)
{
	return store->ops->container(store);
}

/* Appends s to f as a JSON string. */
static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int
tv_receipt_write(const struct tv_receipt *r, const char *path)
{
	char tmp[4096];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp)) {
		tv_error("%s: path too long", path);
		return EX_USAGE;
	}
	if ((fd = mkstemp(tmp)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		tv_error("%s: %s", tmp, strerror(errno));
		return EX_CANTCREAT;
	}
	fputs("{\"name\":", f);
	json_string(f, r->name);
	fprintf(f, ",\"size\":%llu,\"md5\":\"%s\",\"sha256\":\"%s\",\"committed\":%s,\"store\":",
	    r->size, r->md5, r->sha256, r->committed ? "true" : "false");
	json_string(f, r->store);
	fputs(",\"staging\":", f);
	json_string(f, r->staging ? r->staging : "");
	fprintf(f, ",\"blocks\":%lu}\n", r->blocks);
	if (fflush(f) != 0 || fsync(fd) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		tv_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		return EX_IOERR;
	}
	return 0;
}

/* Copies the string field key of doc into *dst, or fails if absent. */
static int
receipt_string(const bson_t *doc, const char *key, char **dst)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return -1;
	*dst = strdup(bson_iter_utf8(&it, NULL));
	return 0;
}

/* Copies the string field key of doc into the fixed buffer dst of size n. */
static int
receipt_fixed(const bson_t *doc, const char *key, char *dst, size_t n)
{
	char *s = NULL;

	if (receipt_string(doc, key, &s) != 0 || strlen(s) >= n) {
		free(s);
		return -1;
	}
	strcpy(dst, s);
	free(s);
	return 0;
}

int
tv_receipt_read(struct tv_receipt *r, const char *path)
{
	char buf[16384];
	bson_error_t err;
	bson_iter_t it;
	bson_t *doc;
	ssize_t n;
	int fd;

	memset(r, 0, sizeof(*r));
	if ((fd = open(path, O_RDONLY)) < 0) {
		tv_error("receipt %s: %s", path, strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	n = tv_read_full(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf)) {
		tv_error("receipt %s: unreadable or too large", path);
		return EX_DATAERR;
	}
	if ((doc = bson_new_from_json((const uint8_t *)buf, n, &err)) == NULL) {
		tv_error("receipt %s: %s", path, err.message);
		return EX_DATAERR;
	}
	if (receipt_string(doc, "name", &r->name) != 0 ||
	    receipt_string(doc, "store", &r->store) != 0 ||
	    receipt_string(doc, "staging", &r->staging) != 0 ||
	    receipt_fixed(doc, "md5", r->md5, sizeof(r->md5)) != 0 ||
	    receipt_fixed(doc, "sha256", r->sha256, sizeof(r->sha256)) != 0 ||
	    !bson_iter_init_find(&it, doc, "size") || !BSON_ITER_HOLDS_NUMBER(&it) ||
	    (r->size = (unsigned long long)bson_iter_as_int64(&it), 0) ||
	    !bson_iter_init_find(&it, doc, "blocks") || !BSON_ITER_HOLDS_NUMBER(&it) ||
	    (r->blocks = (unsigned long)bson_iter_as_int64(&it), 0) ||
	    !bson_iter_init_find(&it, doc, "committed") || !BSON_ITER_HOLDS_BOOL(&it)) {
		tv_error("receipt %s: not a tv-blob-put receipt", path);
		bson_destroy(doc);
		tv_receipt_free(r);
		return EX_DATAERR;
	}
	r->committed = bson_iter_bool(&it);
	bson_destroy(doc);
	return 0;
}

void
tv_receipt_free(struct tv_receipt *r)
{
	free(r->name);
	free(r->store);
	free(r->staging);
	r->name = r->store = r->staging = NULL;
}

int
tv_store_can_copy(const struct tv_store *dst, const struct tv_store *src)
{
	return strcmp(dst->ops->kind, "azure") == 0 && strcmp(src->ops->kind, "azure") == 0;
}

int
tv_store_copy(struct tv_store *dst, struct tv_store *src, const char *name, const char *sha256)
{
	int rc = tv_store_check_name(name);

	if (rc != 0)
		return rc;
	if (!tv_store_can_copy(dst, src)) {
		tv_error("a server-side copy needs two Azure stores; stream the blob instead");
		return EX_USAGE;
	}
	return tv_azure_copy(dst, src, name, sha256);
}
