/* swap.c: the restore journal and the all-or-none swap of staging collections. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "stats.h"
#include "swap.h"

/* A journal names a handful of collections; anything bigger is not one. */
#define MAX_JOURNAL	(1024 * 1024)
#define MAX_TARGETS	1000

struct entry {
	char	*target;
	char	*staging;
	char	*previous;
	int	 existed;	/* the target existed when the swap began */
};

struct journal {
	char		*db;
	int		 swapping;
	size_t		 n;
	struct entry	 e[MAX_TARGETS];
};

int
tv_swap_is_name(const char *name, const char *prefix, const char *target)
{
	size_t plen = strlen(prefix), tlen = strlen(target);
	const char *tail = name + plen + tlen;

	if (strncmp(name, prefix, plen) != 0 || strncmp(name + plen, target, tlen) != 0 ||
	    tail[0] != '_' || strlen(tail + 1) != TV_STAGING_SUFFIX)
		return 0;
	return strspn(tail + 1, "0123456789abcdef") == TV_STAGING_SUFFIX;
}

int
tv_swap_valid_target(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len <= 100 && strchr(name, '$') == NULL &&
	    strncmp(name, "system.", 7) != 0 && strncmp(name, "tv_restore_", 11) != 0;
}

static void
journal_free(struct journal *j)
{
	size_t i;

	for (i = 0; i < j->n; i++) {
		free(j->e[i].target);
		free(j->e[i].staging);
		free(j->e[i].previous);
	}
	free(j->db);
	free(j);
}

/* Returns a copy of the string field key of doc, or NULL if it has none. */
static char *
string_field(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return strdup(bson_iter_utf8(&it, NULL));
}

/* Fills entry e from one element of the journal's "collections"; returns 0 or -1. */
static int
read_entry(const bson_t *doc, struct entry *e)
{
	bson_iter_t it;

	e->target = string_field(doc, "target");
	e->staging = string_field(doc, "staging");
	e->previous = string_field(doc, "previous");
	e->existed = bson_iter_init_find(&it, doc, "existed") && bson_iter_as_bool(&it);
	/* The names are checked: a journal must not make tv-restore drop someone's collection. */
	return e->target && e->staging && e->previous && tv_swap_valid_target(e->target) &&
	    tv_swap_is_name(e->staging, TV_STAGING_PREFIX, e->target) &&
	    tv_swap_is_name(e->previous, TV_PREVIOUS_PREFIX, e->target) ? 0 : -1;
}

/* Reads the journal at path into *out; returns 0, EX_NOINPUT if there is none, or 65. */
static int
journal_read(const char *path, struct journal **out)
{
	struct journal *j;
	bson_json_reader_t *reader;
	bson_error_t err;
	bson_iter_t it, list;
	bson_t doc, sub;
	char *state = NULL;
	int status = EX_DATAERR;

	if (access(path, F_OK) != 0 && errno == ENOENT)
		return EX_NOINPUT;
	if ((reader = bson_json_reader_new_from_file(path, &err)) == NULL) {
		tv_error("cannot read the restore journal %s: %s", path, err.message);
		return EX_NOINPUT;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	bson_init(&doc);
	if (bson_json_reader_read(reader, &doc, &err) != 1 || doc.len > MAX_JOURNAL) {
		tv_error("%s: not a restore journal", path);
		goto out;
	}
	j->db = string_field(&doc, "db");
	state = string_field(&doc, "state");
	if (j->db == NULL || state == NULL || (strcmp(state, "loading") != 0 &&
	    strcmp(state, "swapping") != 0) || !bson_iter_init_find(&it, &doc, "collections") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &list)) {
		tv_error("%s: not a restore journal", path);
		goto out;
	}
	j->swapping = strcmp(state, "swapping") == 0;
	while (bson_iter_next(&list)) {
		const uint8_t *data;
		uint32_t len;

		if (!BSON_ITER_HOLDS_DOCUMENT(&list) || j->n == MAX_TARGETS) {
			tv_error("%s: not a restore journal", path);
			goto out;
		}
		bson_iter_document(&list, &len, &data);
		bson_init_static(&sub, data, len);
		if (read_entry(&sub, &j->e[j->n++]) != 0) {
			tv_error("%s: collection %zu has invalid names", path, j->n);
			goto out;
		}
	}
	status = 0;
out:
	free(state);
	bson_destroy(&doc);
	bson_json_reader_destroy(reader);
	if (status == 0)
		*out = j;
	else
		journal_free(j);
	return status;
}

int
tv_swap_journal_db(const char *path, char **db)
{
	struct journal *j;
	int status;

	if ((status = journal_read(path, &j)) != 0)
		return status;
	*db = j->db;
	j->db = NULL;
	journal_free(j);
	return 0;
}

/* Writes the journal to path, durably and atomically; returns 0 or 74. */
static int
journal_write(const char *path, const struct journal *j)
{
	bson_t doc = BSON_INITIALIZER, list, item;
	char key[16];
	const char *k;
	size_t i;
	int status;

	BSON_APPEND_UTF8(&doc, "db", j->db);
	BSON_APPEND_UTF8(&doc, "state", j->swapping ? "swapping" : "loading");
	BSON_APPEND_ARRAY_BEGIN(&doc, "collections", &list);
	for (i = 0; i < j->n; i++) {
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&list, k, &item);
		BSON_APPEND_UTF8(&item, "target", j->e[i].target);
		BSON_APPEND_UTF8(&item, "staging", j->e[i].staging);
		BSON_APPEND_UTF8(&item, "previous", j->e[i].previous);
		BSON_APPEND_BOOL(&item, "existed", j->e[i].existed);
		bson_append_document_end(&list, &item);
	}
	bson_append_array_end(&doc, &list);
	if ((status = tv_json_write(path, &doc)) != 0)
		tv_error("cannot write the restore journal %s", path);
	bson_destroy(&doc);
	return status;
}

/* Removes the journal of a settled restore; returns 0 or 74. */
static int
journal_remove(const char *path)
{
	if (unlink(path) != 0 || tv_sync_dir(path) != 0) {
		tv_error("cannot remove the restore journal %s: %s", path, strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

static int
rename_collection(struct tv_mongo *m, const char *from, const char *to, bson_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, from);
	int ok = mongoc_collection_rename_with_opts(coll, m->dbname, to, false, NULL, err);

	mongoc_collection_destroy(coll);
	return ok;
}

/* Drops a collection if it exists; returns 1, or 0 with *err set. */
static int
drop_collection(struct tv_mongo *m, const char *name, bson_error_t *err)
{
	mongoc_collection_t *coll = mongoc_database_get_collection(m->db, name);
	int ok = mongoc_collection_drop_with_opts(coll, NULL, err) ||
	    tv_mongo_server_code(err) == TV_MONGO_NS_NOT_FOUND;

	mongoc_collection_destroy(coll);
	return ok;
}

/* Drops every staging collection the journal names; returns 0 or an exit status. */
static int
drop_staging(struct tv_mongo *m, const struct journal *j)
{
	bson_error_t err;
	size_t i;
	int status = 0;

	for (i = 0; i < j->n; i++)
		if (!drop_collection(m, j->e[i].staging, &err)) {
			tv_error("cannot drop the staging collection %s: %s", j->e[i].staging, err.message);
			status = tv_mongo_status(&err);
		}
	return status;
}

/* Puts one staging collection in place of its target, which is kept aside; idempotent. */
static int
forward(struct tv_mongo *m, const struct entry *e, bson_error_t *err)
{
	/* Once the swap began every staging collection existed: gone means renamed in. */
	if (!tv_mongo_has_collection(m, e->staging, NULL))
		return 1;
	if (tv_mongo_has_collection(m, e->target, NULL)) {
		if (!tv_mongo_has_collection(m, e->previous, NULL)) {
			if (!rename_collection(m, e->target, e->previous, err))
				return 0;
		} else {
			/* An application insert re-created it between two steps: restored data wins. */
			tv_warn("dropping %s, created by a writer during the swap", e->target);
			if (!drop_collection(m, e->target, err))
				return 0;
		}
	}
	return rename_collection(m, e->staging, e->target, err);
}

/* Puts one target back as it was before the swap and drops its staging data; idempotent. */
static int
backward(struct tv_mongo *m, const struct entry *e, bson_error_t *err)
{
	if (tv_mongo_has_collection(m, e->previous, NULL)) {
		if (!drop_collection(m, e->staging, err))
			return 0;
		if (tv_mongo_has_collection(m, e->target, NULL) &&
		    !rename_collection(m, e->target, e->staging, err))
			return 0;
		if (!rename_collection(m, e->previous, e->target, err))
			return 0;
	} else if (!e->existed && !drop_collection(m, e->target, err))
		return 0;
	return drop_collection(m, e->staging, err);
}

/* Undoes a swap that could not finish; returns 0, or the status of a step that failed too. */
static int
roll_back(struct tv_mongo *m, const char *path, const struct journal *j)
{
	bson_error_t err;
	size_t i = j->n;

	while (i-- > 0)
		if (!backward(m, &j->e[i], &err)) {
			tv_error("cannot roll back %s either (%s); %s keeps the journal: "
			    "run tv-recover --resume once the database is reachable",
			    j->e[i].target, err.message, path);
			return tv_mongo_status(&err);
		}
	tv_info("Rolled back the swap: every collection is as it was before the restore");
	return journal_remove(path);
}

/* Finishes a swap whose journal is written: every collection in, then the old ones dropped. */
static int
finish(struct tv_mongo *m, const char *path, const struct journal *j)
{
	bson_error_t err;
	size_t i;
	int status;

	for (i = 0; i < j->n; i++)
		if (!forward(m, &j->e[i], &err)) {
			status = tv_mongo_status(&err);
			tv_error("cannot swap %s in (%s); rolling the whole restore back",
			    j->e[i].target, err.message);
			roll_back(m, path, j);
			return status;
		}
	for (i = 0; i < j->n; i++)
		if (!drop_collection(m, j->e[i].previous, &err))
			tv_warn("restored %s, but could not drop its previous contents, %s: %s",
			    j->e[i].target, j->e[i].previous, err.message);
	tv_info("Swapped in %zu restored collection(s) of %s", j->n, j->db);
	return journal_remove(path);
}

/* Returns 8 random hex digits, the suffix that keeps one restore's names apart from another's. */
static int
random_suffix(char out[TV_STAGING_SUFFIX + 1])
{
	uint32_t rnd;
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd == -1 || read(fd, &rnd, sizeof(rnd)) != sizeof(rnd)) {
		tv_error("cannot read /dev/urandom: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return EX_OSERR;
	}
	close(fd);
	snprintf(out, TV_STAGING_SUFFIX + 1, "%08x", rnd);
	return 0;
}

int
tv_swap_begin(struct tv_mongo *m, const char *path, char *const *targets, size_t n, FILE *out)
{
	struct journal *j;
	char suffix[TV_STAGING_SUFFIX + 1];
	size_t i;
	int status;

	if (access(path, F_OK) == 0) {
		tv_error("%s: an unfinished restore's journal is in the way (tv-recover --resume settles it)",
		    path);
		return EX_CANTCREAT;
	}
	if (n > MAX_TARGETS)
		return EX_USAGE;
	if ((status = random_suffix(suffix)) != 0)
		return status;
	if ((j = calloc(1, sizeof(*j))) == NULL || (j->db = strdup(m->dbname)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (i = 0; i < n; i++, j->n++) {
		if (!tv_swap_valid_target(targets[i])) {
			tv_error("not a collection to restore into: '%s'", targets[i]);
			journal_free(j);
			return EX_USAGE;
		}
		if ((j->e[i].target = strdup(targets[i])) == NULL ||
		    asprintf(&j->e[i].staging, "%s%s_%s", TV_STAGING_PREFIX, targets[i], suffix) < 0 ||
		    asprintf(&j->e[i].previous, "%s%s_%s", TV_PREVIOUS_PREFIX, targets[i], suffix) < 0)
			tv_fatal(EX_OSERR, "out of memory");
	}
	if ((status = journal_write(path, j)) == 0)
		for (i = 0; i < j->n; i++)
			fprintf(out, "%s\t%s\n", j->e[i].target, j->e[i].staging);
	journal_free(j);
	return status;
}

int
tv_swap_commit(struct tv_mongo *m, const char *path)
{
	struct journal *j;
	size_t i;
	int status;

	if ((status = journal_read(path, &j)) != 0)
		return status;
	if (j->swapping || strcmp(j->db, m->dbname) != 0) {
		tv_error("%s: not a restore of %s waiting for its swap", path, m->dbname);
		journal_free(j);
		return EX_DATAERR;
	}
	for (i = 0; i < j->n; i++) {
		if (!tv_mongo_has_collection(m, j->e[i].staging, NULL)) {
			tv_error("the staging collection %s is missing; nothing was swapped", j->e[i].staging);
			journal_free(j);
			return EX_NOINPUT;
		}
		j->e[i].existed = tv_mongo_has_collection(m, j->e[i].target, NULL);
	}
	/* From this write on, the next run finishes the swap instead of dropping the staging data. */
	j->swapping = 1;
	if ((status = journal_write(path, j)) == 0)
		status = finish(m, path, j);
	journal_free(j);
	return status;
}

int
tv_swap_resume(struct tv_mongo *m, const char *path, int interrupted)
{
	struct journal *j;
	int status;

	if ((status = journal_read(path, &j)) != 0)
		return status == EX_NOINPUT ? 0 : status;
	if (j->swapping) {
		tv_info("Finishing the swap of an interrupted restore of %s (journal %s)", j->db, path);
		status = finish(m, path, j);
	} else {
		if (interrupted)
			tv_info("Dropping the staging collections of an interrupted restore of %s (journal %s)",
			    j->db, path);
		else
			tv_debug("Dropping this restore's staging collections of %s (journal %s)", j->db, path);
		if ((status = drop_staging(m, j)) == 0)
			status = journal_remove(path);
	}
	journal_free(j);
	return status;
}
