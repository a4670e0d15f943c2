/*
 * filestore.c: a local directory store.  Blob NAME of container C lives at
 * ROOT/C/NAME, so the layout matches Azure's.  Uploads go to a hidden
 * ".tv-XXXXXX.base" file beside the target, are fsynced, and become visible
 * by link(2), which fails if the name exists: a committed blob is never
 * replaced, and a reader sees it whole or not at all.
 */

#include <sys/stat.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "storeimpl.h"

#define XATTR_SHA256	"user.tv.sha256"
#define XATTR_MD5	"user.tv.md5"
#define STAGE_PREFIX	".tv-"

struct filestore {
	struct tv_store	 base;
	char		*dir;		/* ROOT/C */
};

struct fileupload {
	struct tv_upload	 base;
	struct tv_writer	 w;
	char			*tmp;
};

/* Returns a malloc'd "a/b". */
static char *
join(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		tv_fatal(EX_OSERR, "out of memory");
	return s;
}

/* Logs a failed system call on path and maps errno to an exit code. */
static int
syserr(const char *what, const char *path)
{
	int e = errno;

	tv_error("%s %s: %s", what, path, strerror(e));
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case EISDIR:
		return EX_NOINPUT;
	case EACCES:
	case EPERM:
	case EROFS:
		return EX_NOPERM;
	default:
		return EX_IOERR;
	}
}

/* Creates path's parent directories, like mkdir -p $(dirname path). */
static int
make_parents(const char *path)
{
	char *p = strdup(path);

	for (char *s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST) {
			int rc = syserr("mkdir", p);

			free(p);
			return rc;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

/* Flushes a directory so that a rename or unlink in it survives a crash. */
static int
sync_dir_of(const char *path)
{
	return tv_sync_dir(path) == 0 ? 0 : syserr("fsync of the directory of", path);
}

static int
fs_upload_begin(struct tv_store *store, const char *name, struct tv_upload **out)
{
	struct filestore *fs = (struct filestore *)store;
	struct fileupload *up = calloc(1, sizeof(*up));
	char *target = join(fs->dir, name), *copy = strdup(target), *base;
	int fd, rc, suffixlen;

	base = basename(copy);
	suffixlen = (int)strlen(base) + 1;	/* base points into copy, freed below */
	if (asprintf(&up->tmp, "%.*s" STAGE_PREFIX "XXXXXX.%s", (int)(strlen(target) - strlen(base)),
	    target, base) < 0)
		tv_fatal(EX_OSERR, "out of memory");
	free(copy);
	free(target);
	if ((rc = make_parents(up->tmp)) != 0)
		goto fail;
	if ((fd = mkstemps(up->tmp, suffixlen)) < 0) {
		rc = syserr("create", up->tmp);
		goto fail;
	}
	if (tv_writer_init(&up->w, fd, 1 << 20) != 0)
		tv_fatal(EX_OSERR, "out of memory");
	*out = &up->base;
	return 0;
fail:
	free(up->tmp);
	free(up);
	return rc;
}

static int
fs_upload_write(struct tv_upload *u, const void *buf, size_t len)
{
	struct fileupload *up = (struct fileupload *)u;

	return tv_writer_put(&up->w, buf, len) == 0 ? 0 : syserr("write", up->tmp);
}

/* Closes and forgets the staged file; on failure also removes it. */
static void
fs_upload_free(struct fileupload *up, int remove)
{
	if (up->w.fd >= 0)
		close(up->w.fd);
	if (remove)
		unlink(up->tmp);
	tv_writer_free(&up->w);
	free(up->tmp);
	free(up);
}

/* Checksums go in extended attributes where the file system has them; reads verify them. */
static void
set_checksums(int fd, const struct tv_receipt *r)
{
	if (fsetxattr(fd, XATTR_SHA256, r->sha256, strlen(r->sha256), 0) != 0 ||
	    fsetxattr(fd, XATTR_MD5, r->md5, strlen(r->md5), 0) != 0)
		tv_debug("no checksum attributes on %s: %s", r->name, strerror(errno));
}

static int
fs_upload_finish(struct tv_upload *u, struct tv_receipt *r)
{
	struct fileupload *up = (struct fileupload *)u;
	int rc = 0;

	if (tv_writer_flush(&up->w) != 0 || fsync(up->w.fd) != 0)
		rc = syserr("write", up->tmp);
	else
		set_checksums(up->w.fd, r);
	if (rc == 0 && close(up->w.fd) != 0)
		rc = syserr("close", up->tmp);
	up->w.fd = -1;
	if (rc == 0)
		r->staging = strdup(up->tmp);
	fs_upload_free(up, rc != 0);
	return rc;
}

static void
fs_upload_cancel(struct tv_upload *u)
{
	fs_upload_free((struct fileupload *)u, 1);
}

/*
 * A receipt names the staged file; accept only a staging file beside the
 * target, so that a forged receipt cannot move arbitrary files.
 */
static int
staged_path_ok(struct filestore *fs, const struct tv_receipt *r)
{
	char *target = join(fs->dir, r->name), *t = strdup(target), *s = strdup(r->staging);
	char *tdir = dirname(t), *sdir = dirname(s);
	const char *sbase = r->staging + strlen(sdir) + 1;
	int ok = strcmp(tdir, sdir) == 0 && strncmp(sbase, STAGE_PREFIX, strlen(STAGE_PREFIX)) == 0 &&
	    strchr(sbase, '/') == NULL;

	free(target);
	free(t);
	free(s);
	if (!ok)
		tv_error("receipt for %s names a staging file that is not beside it: %s", r->name, r->staging);
	return ok ? 0 : EX_DATAERR;
}

/* A commit cut off between link and unlink left the staged file linked under the name: that is ours. */
static int
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return lstat(a, &sa) == 0 && lstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int
fs_commit(struct tv_store *store, struct tv_receipt *r)
{
	struct filestore *fs = (struct filestore *)store;
	char *target;
	int rc;

	if ((rc = staged_path_ok(fs, r)) != 0)
		return rc;
	target = join(fs->dir, r->name);
	if (link(r->staging, target) != 0) {
		rc = errno == EEXIST ? (same_file(r->staging, target) ? 0 : EX_CANTCREAT) :
		    syserr("link to", target);
	}
	/* Committed or refused, the staged file has served its purpose. */
	if ((rc == 0 || rc == EX_CANTCREAT) && unlink(r->staging) != 0 && errno != ENOENT)
		rc = syserr("remove", r->staging);
	if (rc == 0)
		rc = sync_dir_of(target);
	free(target);
	return rc;
}

static int
fs_abort(struct tv_store *store, const struct tv_receipt *r)
{
	int rc;

	if ((rc = staged_path_ok((struct filestore *)store, r)) != 0)
		return rc;
	if (unlink(r->staging) != 0 && errno != ENOENT)
		return syserr("remove", r->staging);
	return 0;
}

/* Reads extended attribute key of fd into buf, or leaves buf empty. */
static void
get_attr(int fd, const char *key, char *buf, size_t n)
{
	ssize_t len = fgetxattr(fd, key, buf, n - 1);

	buf[len > 0 ? len : 0] = '\0';
}

static int
fs_get(struct tv_store *store, const char *name, int out)
{
	struct filestore *fs = (struct filestore *)store;
	char *path = join(fs->dir, name), *buf = NULL, sha256[65], md5[25];
	struct tv_digest d;
	unsigned long long got = 0;
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			tv_error("%s: no such blob", name);
			rc = EX_NOINPUT;
		} else
			rc = syserr("open", path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		tv_error("%s: no such blob", name);
		rc = EX_NOINPUT;
		goto done;
	}
	get_attr(fd, XATTR_SHA256, sha256, sizeof(sha256));
	get_attr(fd, XATTR_MD5, md5, sizeof(md5));
	buf = malloc(1 << 20);
	/* SHA-256 alone proves the content; MD5 only when that is all there is. */
	tv_digest_init(&d, sha256[0] == '\0');
	while ((n = tv_read_full(fd, buf, 1 << 20)) > 0) {
		tv_digest_update(&d, buf, (size_t)n);
		got += (unsigned long long)n;
		if (tv_write_all(out, buf, (size_t)n) != 0) {
			rc = syserr("write", "standard output");
			break;
		}
	}
	if (n < 0 && rc == 0)
		rc = syserr("read", path);
	if (rc == 0)
		rc = tv_store_verify(name, (unsigned long long)st.st_size, got, md5, sha256, &d);
	else
		tv_digest_final(&d, md5, sha256);
done:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

struct namelist {
	char	**v;
	size_t	  n, cap;
};

/* Collects the regular files under dir (rel is dir's name inside the container) starting with prefix. */
static int
walk(const char *dir, const char *rel, const char *prefix, struct namelist *l)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : syserr("open directory", dir);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *name, *path;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strncmp(e->d_name, STAGE_PREFIX, strlen(STAGE_PREFIX)) == 0)
			continue;
		name = *rel ? join(rel, e->d_name) : strdup(e->d_name);
		path = join(dir, e->d_name);
		if (lstat(path, &st) != 0)
			rc = errno == ENOENT ? 0 : syserr("stat", path);
		else if (S_ISDIR(st.st_mode)) {
			size_t n = strlen(name);

			/* Descend only where names can still match the prefix. */
			if (strncmp(name, prefix, n < strlen(prefix) ? n : strlen(prefix)) == 0)
				rc = walk(path, name, prefix, l);
		} else if (S_ISREG(st.st_mode) && strncmp(name, prefix, strlen(prefix)) == 0) {
			if (l->n == l->cap) {
				l->cap = l->cap ? 2 * l->cap : 256;
				if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL)
					tv_fatal(EX_OSERR, "out of memory");
			}
			l->v[l->n++] = name;
			name = NULL;
		}
		free(name);
		free(path);
	}
	closedir(d);
	return rc;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills blob from the file behind name; returns -1 with errno set if there is no such blob. */
static int
fs_stat_quiet(struct filestore *fs, const char *name, struct tv_blob *blob)
{
	char *path = join(fs->dir, name);
	struct stat st;
	int rc = stat(path, &st);

	free(path);
	if (rc == 0 && !S_ISREG(st.st_mode)) {
		errno = ENOENT;
		rc = -1;
	}
	if (rc == 0) {
		blob->size = (unsigned long long)st.st_size;
		blob->mtime = st.st_mtime;
	}
	return rc;
}

static int
fs_stat(struct tv_store *store, const char *name, struct tv_blob *blob)
{
	struct filestore *fs = (struct filestore *)store;
	char *path;
	int fd;

	if (fs_stat_quiet(fs, name, blob) == 0) {
		path = join(fs->dir, name);
		blob->sha256[0] = blob->md5[0] = '\0';
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1) {
			get_attr(fd, XATTR_SHA256, blob->sha256, sizeof(blob->sha256));
			get_attr(fd, XATTR_MD5, blob->md5, sizeof(blob->md5));
			close(fd);
		}
		free(path);
		return 0;
	}
	if (errno == ENOENT || errno == ENOTDIR) {
		tv_error("%s: no such blob", name);
		return EX_NOINPUT;
	}
	return syserr("stat", name);
}

static int
fs_list(struct tv_store *store, const char *prefix, tv_list_fn fn, void *arg)
{
	struct filestore *fs = (struct filestore *)store;
	struct namelist l = { NULL, 0, 0 };
	int rc = walk(fs->dir, "", prefix, &l);

	if (rc == 0 && l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), cmp_names);
	for (size_t i = 0; i < l.n; i++) {
		struct tv_blob b = { .name = l.v[i] };

		/* A blob deleted since the walk is simply not listed. */
		if (rc == 0 && fs_stat_quiet(fs, l.v[i], &b) == 0)
			rc = fn(&b, arg);
		free(l.v[i]);
	}
	free(l.v);
	return rc;
}

/* Removes the directories a deletion left empty, up to the container, so listings stay fast. */
static void
prune_dirs(struct filestore *fs, char *path)
{
	size_t stop = strlen(fs->dir), i = strlen(path);

	while (i > stop) {
		if (path[--i] != '/')
			continue;
		path[i] = '\0';
		if (i <= stop || rmdir(path) != 0)
			break;
	}
}

static int
fs_del(struct tv_store *store, const char *name)
{
	struct filestore *fs = (struct filestore *)store;
	char *path = join(fs->dir, name);
	int rc = 0;

	if (unlink(path) != 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			rc = syserr("remove", path);
	} else if ((rc = sync_dir_of(path)) == 0)
		prune_dirs(fs, path);
	free(path);
	return rc;
}

static void
fs_close(struct tv_store *store)
{
	struct filestore *fs = (struct filestore *)store;

	free(fs->dir);
	free(fs->base.container);
	free(fs);
}

/* The container is the directory ROOT/C; writes create it, reads never do. */
static int
fs_container(struct tv_store *store)
{
	struct filestore *fs = (struct filestore *)store;
	struct stat st;

	if (stat(fs->dir, &st) != 0)
		return errno == ENOENT ? EX_NOINPUT : syserr("stat", fs->dir);
	if (!S_ISDIR(st.st_mode)) {
		tv_error("%s: not a directory, so not a container", fs->dir);
		return EX_IOERR;
	}
	return 0;
}

static const struct tv_store_ops file_ops = {
	"file",
	fs_upload_begin,
	fs_upload_write,
	fs_upload_finish,
	fs_upload_cancel,
	fs_commit,
	fs_abort,
	fs_get,
	fs_list,
	fs_stat,
	fs_del,
	fs_close,
	fs_container,
};

struct tv_store *
tv_filestore_open(const char *root, const char *container)
{
	struct filestore *fs = calloc(1, sizeof(*fs));
	size_t len = strlen(root);

	if (len == 0 || root[0] != '/')
		tv_fatal(EX_USAGE, "file store: need an absolute path after file:, got \"%s\"", root);
	while (len > 1 && root[len - 1] == '/')
		len--;
	if (fs == NULL || asprintf(&fs->dir, "%.*s/%s", (int)len, root, container) < 0)
		tv_fatal(EX_OSERR, "out of memory");
	fs->base.ops = &file_ops;
	fs->base.container = strdup(container);
	/* File permissions are the operating system's to enforce, at each call. */
	strcpy(fs->base.grants, "racwdl");
	tv_debug("file store %s", fs->dir);
	return &fs->base;
}
