/* replay.c: oplog entries into idempotent writes: CRUD, $v: 2 diffs, applyOps and DDL. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "bsonstream.h"
#include "manifest.h"
#include "oplogdiff.h"
#include "replay.h"
#include "replayimpl.h"

/* applyOps inside applyOps is legal; a stream nesting deeper than this is not an oplog. */
#define MAX_NESTING	8

int
tv_rp_fail(struct tv_replay *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
	return EX_DATAERR;
}

struct tv_replay *
tv_replay_new(tv_write_fn fn, void *arg)
{
	struct tv_replay *r = bson_malloc0(sizeof(*r));

	r->fn = fn;
	r->arg = arg;
	r->txn_limit = TV_REPLAY_TXN_MAX;
	return r;
}

void
tv_replay_set_db(struct tv_replay *r, const char *db)
{
	bson_free(r->db);
	r->db = bson_strdup(db);
}

void
tv_rp_txn_free(struct txn *t)
{
	bson_destroy(&t->lsid);
	bson_destroy(&t->ops);
	bson_free(t);
}

void
tv_replay_free(struct tv_replay *r)
{
	if (r == NULL)
		return;
	while (r->txns != NULL) {
		struct txn *next = r->txns->next;

		tv_rp_txn_free(r->txns);
		r->txns = next;
	}
	for (size_t n = 0; n < r->nselect; n++)
		bson_free(r->select[n]);
	for (size_t n = 0; n < r->nrename; n++) {
		bson_free(r->rename_from[n]);
		bson_free(r->rename_to[n]);
	}
	bson_free(r->db);
	bson_free(r->select);
	bson_free(r->rename_from);
	bson_free(r->rename_to);
	bson_free(r);
}

void
tv_replay_select(struct tv_replay *r, const char *coll)
{
	r->select = bson_realloc(r->select, (r->nselect + 1) * sizeof(*r->select));
	r->select[r->nselect++] = bson_strdup(coll);
}

int
tv_replay_rename(struct tv_replay *r, const char *spec)
{
	const char *eq = strchr(spec, '=');

	if (eq == NULL || eq == spec || eq[1] == '\0' || strchr(eq + 1, '=') != NULL)
		return -1;
	r->rename_from = bson_realloc(r->rename_from, (r->nrename + 1) * sizeof(char *));
	r->rename_to = bson_realloc(r->rename_to, (r->nrename + 1) * sizeof(char *));
	r->rename_from[r->nrename] = bson_strndup(spec, (size_t)(eq - spec));
	r->rename_to[r->nrename++] = bson_strdup(eq + 1);
	return 0;
}

void
tv_replay_set_until(struct tv_replay *r, uint32_t t, uint32_t i)
{
	r->have_until = 1;
	r->until_t = t;
	r->until_i = i;
}

void
tv_replay_set_txn_limit(struct tv_replay *r, size_t bytes)
{
	r->txn_limit = bytes;
}

size_t
tv_replay_open_transactions(const struct tv_replay *r)
{
	size_t n = 0;

	for (const struct txn *t = r->txns; t != NULL; t = t->next)
		n++;
	return n;
}

const char *
tv_replay_error(const struct tv_replay *r)
{
	return r->error;
}

const struct tv_replay_counts *
tv_replay_counts(const struct tv_replay *r)
{
	return &r->counts;
}

int
tv_replay_parse_position(const char *s, uint32_t *t, uint32_t *i)
{
	unsigned long long secs, inc;
	struct tm tm;
	const char *end;
	char *e;

	if (*s >= '0' && *s <= '9' && strchr(s, '-') == NULL) {
		secs = strtoull(s, &e, 10);
		if (secs > UINT32_MAX)
			return -1;
		if (*e == '\0') {
			/* A second alone means every entry within it. */
			*t = (uint32_t)secs;
			*i = UINT32_MAX;
			return 0;
		}
		if (*e != '.' || e[1] < '0' || e[1] > '9')
			return -1;
		inc = strtoull(e + 1, &e, 10);
		if (*e != '\0' || inc > UINT32_MAX)
			return -1;
		*t = (uint32_t)secs;
		*i = (uint32_t)inc;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0 && *end != '\0')
		return -1;
	secs = (unsigned long long)timegm(&tm);
	if ((time_t)secs < 0 || secs > UINT32_MAX)
		return -1;
	*t = (uint32_t)secs;
	*i = UINT32_MAX;
	return 0;
}

/* Returns the string field key of doc, or NULL. */
static const char *
find_utf8(const bson_t *doc, const char *key)
{
	bson_iter_t it;

	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	return bson_iter_utf8(&it, NULL);
}

/* Returns 1 if the replay takes writes of source collection coll. */
static int
selected(const struct tv_replay *r, const char *coll)
{
	if (r->nselect == 0)
		return 1;
	for (size_t n = 0; n < r->nselect; n++)
		if (strcmp(r->select[n], coll) == 0)
			return 1;
	return 0;
}

static const char *
target_of(const struct tv_replay *r, const char *coll)
{
	for (size_t n = 0; n < r->nrename; n++)
		if (strcmp(r->rename_from[n], coll) == 0)
			return r->rename_to[n];
	return coll;
}

/* Hands one write on source collection coll to the callback and counts it. */
static int
emit(struct tv_replay *r, enum tv_write_kind kind, const char *coll, const bson_t *filter,
    const bson_t *doc)
{
	struct tv_write w = { kind, target_of(r, coll), filter, doc, r->t, r->i, r->unit };
	int rc = r->fn(&w, r->arg);

	if (rc != 0 && r->error[0] == '\0')
		snprintf(r->error, sizeof(r->error), "applying the entry at %u.%u failed", r->t, r->i);
	return rc;
}

/* Builds {_id: value} from the _id field of doc into *filter; returns 0 or -1 if there is none. */
static int
id_filter(const bson_t *doc, bson_t *filter)
{
	bson_iter_t it;

	bson_init(filter);
	if (doc == NULL || !bson_iter_init_find(&it, doc, "_id"))
		return -1;
	bson_append_iter(filter, "_id", 3, &it);
	return 0;
}

/*
 * FerretDB logs every update as {$v: 1, $set: <the whole new document>}: a
 * $set that holds _id (which MongoDB never logs, as _id cannot change) is
 * that form, and only a replacement reproduces fields the update removed.
 */
static int
whole_document_set(const bson_t *o, bson_t *doc)
{
	bson_iter_t it;

	bson_iter_init(&it, o);
	while (bson_iter_next(&it))
		if (strcmp(bson_iter_key(&it), "$v") != 0 && strcmp(bson_iter_key(&it), "$set") != 0)
			return 0;
	return tv_bson_subdocument(o, "$set", doc) && bson_has_field(doc, "_id");
}

/* An update in $v: 2 form: at most a truncation of arrays, then a $set/$unset. */
static int
apply_diff(struct tv_replay *r, const char *coll, const bson_t *filter, const bson_t *o)
{
	bson_t diff, truncate, update;
	char why[512];
	int rc = 0;

	if (!tv_bson_subdocument(o, "diff", &diff))
		return tv_rp_fail(r, "the $v: 2 update at %u.%u has no diff", r->t, r->i);
	if (tv_diff_to_updates(&diff, &truncate, &update, why, sizeof(why)) != 0)
		rc = tv_rp_fail(r, "the update at %u.%u cannot be replayed: %s", r->t, r->i, why);
	if (rc == 0 && !bson_empty(&truncate))
		rc = emit(r, TV_WRITE_TRUNCATE, coll, filter, &truncate);
	if (rc == 0 && !bson_empty(&update))
		rc = emit(r, TV_WRITE_UPDATE, coll, filter, &update);
	bson_destroy(&truncate);
	bson_destroy(&update);
	return rc;
}

static int
apply_update(struct tv_replay *r, const char *coll, const bson_t *op, const bson_t *o)
{
	bson_t o2, filter, update, whole;
	bson_iter_t it;
	int rc;

	if (id_filter(tv_bson_subdocument(op, "o2", &o2) ? &o2 : o, &filter) != 0)
		return tv_rp_fail(r, "the update at %u.%u names no _id in o2", r->t, r->i);
	r->counts.updates++;
	if (bson_iter_init_find(&it, o, "$v") && BSON_ITER_HOLDS_NUMBER(&it) &&
	    bson_iter_as_int64(&it) == 2)
		rc = apply_diff(r, coll, &filter, o);
	else if (bson_iter_init(&it, o) && bson_iter_next(&it) && bson_iter_key(&it)[0] == '$') {
		if (bson_iter_init_find(&it, o, "$v") &&
		    (!BSON_ITER_HOLDS_NUMBER(&it) || bson_iter_as_int64(&it) != 1))
			rc = tv_rp_fail(r, "the update at %u.%u has an unknown format "
			    "($v is not 1 or 2)", r->t, r->i);
		else if (whole_document_set(o, &whole))
			rc = emit(r, TV_WRITE_REPLACE, coll, &filter, &whole);
		else {
			bson_init(&update);
			bson_copy_to_excluding_noinit(o, &update, "$v", NULL);
			rc = emit(r, TV_WRITE_UPDATE, coll, &filter, &update);
			bson_destroy(&update);
		}
	} else
		rc = emit(r, TV_WRITE_REPLACE, coll, &filter, o);
	bson_destroy(&filter);
	return rc;
}

/* Insert, update or delete of one document of coll. */
static int
apply_crud(struct tv_replay *r, char kind, const char *coll, const bson_t *op)
{
	bson_t o, filter;
	int rc;

	if (!tv_bson_subdocument(op, "o", &o))
		return tv_rp_fail(r, "the entry at %u.%u has no document o", r->t, r->i);
	if (!selected(r, coll)) {
		r->counts.skipped++;
		return 0;
	}
	r->counts.applied++;
	if (kind == 'u')
		return apply_update(r, coll, op, &o);
	if (id_filter(&o, &filter) != 0) {
		bson_destroy(&filter);
		return tv_rp_fail(r, "the %s at %u.%u has no _id",
		    kind == 'i' ? "insert" : "delete", r->t, r->i);
	}
	if (kind == 'i') {
		r->counts.inserts++;
		rc = emit(r, TV_WRITE_INSERT, coll, &filter, &o);
	} else {
		r->counts.deletes++;
		rc = emit(r, TV_WRITE_DELETE, coll, &filter, NULL);
	}
	bson_destroy(&filter);
	return rc;
}

/* Index specs as the createIndexes command takes them: the oplog's "v" is the old server's. */
static void
append_index_spec(bson_t *specs, uint32_t n, const bson_t *spec, const char *name_key)
{
	char key[16];
	const char *k;
	bson_t child;

	bson_uint32_to_string(n, &k, key, sizeof(key));
	BSON_APPEND_DOCUMENT_BEGIN(specs, k, &child);
	bson_copy_to_excluding_noinit(spec, &child, "v", name_key, NULL);
	bson_append_document_end(specs, &child);
}

static int
emit_command(struct tv_replay *r, enum tv_write_kind kind, const char *coll, const bson_t *args)
{
	r->counts.applied++;
	r->counts.commands++;
	return emit(r, kind, coll, NULL, args);
}

static int
index_command(struct tv_replay *r, const char *cmd, const char *coll, const bson_t *o)
{
	bson_t specs = BSON_INITIALIZER, list, spec;
	bson_iter_t it;
	uint32_t n = 0;
	int rc;

	if (strcmp(cmd, "createIndexes") == 0)
		append_index_spec(&specs, n++, o, "createIndexes");
	else if (tv_bson_subdocument(o, "indexes", &list) && bson_iter_init(&it, &list))
		while (bson_iter_next(&it))
			if (tv_bson_subdocument(&list, bson_iter_key(&it), &spec))
				append_index_spec(&specs, n++, &spec, NULL);
	rc = n == 0 ? tv_rp_fail(r, "%s at %u.%u lists no index", cmd, r->t, r->i) :
	    emit_command(r, TV_WRITE_CREATE_INDEXES, coll, &specs);
	bson_destroy(&specs);
	return rc;
}

static int
refuse(struct tv_replay *r, const char *cmd, const char *what)
{
	return tv_rp_fail(r, "DDL op %s%s%s at %u.%u is not supported: tv-replay cannot apply it to the "
	    "restored collections faithfully; replay --until a position before it, or restore a "
	    "recovery point taken after it", cmd, *what ? " of " : "", what, r->t, r->i);
}

/*
 * Returns 1 if namespace ns is of the source database: "db.coll" with a valid
 * collection name, or "db.$cmd" when cmd; else records why and returns 0.  A
 * forged slice or a foreign oplog must not write into the restored database
 * what another database (admin's system.users, say) held.
 */
static int
own_namespace(struct tv_replay *r, const char *ns, int cmd)
{
	size_t n;

	if (r->db == NULL) {
		tv_rp_fail(r, "the entry at %u.%u cannot be checked: no source database was set", r->t, r->i);
		return 0;
	}
	n = strlen(r->db);
	if (ns == NULL || strchr(ns, '.') == NULL) {
		tv_rp_fail(r, "the entry at %u.%u has no namespace \"db.collection\" in ns", r->t, r->i);
		return 0;
	}
	if (strncmp(ns, r->db, n) != 0 || ns[n] != '.') {
		tv_rp_fail(r, "the entry at %u.%u is of another database than %s: tv-replay applies only the "
		    "entries of the database it is told (--from-db)", r->t, r->i, r->db);
		return 0;
	}
	if (cmd ? strcmp(ns + n + 1, "$cmd") != 0 : !tv_collection_name_ok(ns + n + 1)) {
		tv_rp_fail(r, "the entry at %u.%u has no valid collection name in ns", r->t, r->i);
		return 0;
	}
	return 1;
}

/* Returns 1 if a renameCollection touches a selected collection (either namespace). */
static int
rename_selected(const struct tv_replay *r, const bson_t *o)
{
	const char *from = find_utf8(o, "renameCollection"), *to = find_utf8(o, "to");
	const char *fc = from ? strchr(from, '.') : NULL, *tc = to ? strchr(to, '.') : NULL;

	return fc == NULL || tc == NULL || selected(r, fc + 1) || selected(r, tc + 1);
}

/* A command entry ('c') outside a transaction: DDL, or applyOps to expand. */
static int
apply_command(struct tv_replay *r, const bson_t *op, int depth)
{
	bson_t o, list, args;
	bson_iter_t it;
	const char *cmd, *coll;
	int rc = 0;

	if (!tv_bson_subdocument(op, "o", &o) || !bson_iter_init(&it, &o) || !bson_iter_next(&it))
		return tv_rp_fail(r, "the command at %u.%u has no command document o", r->t, r->i);
	cmd = bson_iter_key(&it);
	coll = BSON_ITER_HOLDS_UTF8(&it) ? bson_iter_utf8(&it, NULL) : "";

	if (strcmp(cmd, "applyOps") == 0) {
		if (depth >= MAX_NESTING)
			return tv_rp_fail(r, "applyOps at %u.%u nests deeper than %d levels", r->t, r->i,
			    MAX_NESTING);
		if (!tv_bson_subdocument(&o, "applyOps", &list) || !bson_iter_init(&it, &list))
			return tv_rp_fail(r, "applyOps at %u.%u holds no list of operations", r->t,
			    r->i);
		while (rc == 0 && bson_iter_next(&it)) {
			bson_t inner;

			if (!tv_bson_subdocument(&list, bson_iter_key(&it), &inner))
				return tv_rp_fail(r, "applyOps at %u.%u holds a non-document", r->t,
				    r->i);
			rc = tv_rp_apply_op(r, &inner, depth + 1);
		}
		return rc;
	}
	/* Index build markers and consistency checks change no data. */
	if (strcmp(cmd, "startIndexBuild") == 0 || strcmp(cmd, "abortIndexBuild") == 0 ||
	    strcmp(cmd, "dbCheck") == 0) {
		r->counts.skipped++;
		return 0;
	}
	if (strcmp(cmd, "dropDatabase") == 0)
		return refuse(r, cmd, "");
	if (strcmp(cmd, "renameCollection") == 0) {
		if (!rename_selected(r, &o)) {
			r->counts.skipped++;
			return 0;
		}
		return refuse(r, cmd, coll);
	}
	if (strcmp(cmd, "create") != 0 && strcmp(cmd, "drop") != 0 &&
	    strcmp(cmd, "createIndexes") != 0 && strcmp(cmd, "commitIndexBuild") != 0 &&
	    strcmp(cmd, "dropIndexes") != 0 && strcmp(cmd, "deleteIndexes") != 0 &&
	    strcmp(cmd, "dropIndex") != 0 && strcmp(cmd, "deleteIndex") != 0 &&
	    strcmp(cmd, "collMod") != 0 && strcmp(cmd, "convertToCapped") != 0 &&
	    strcmp(cmd, "emptycapped") != 0)
		return tv_rp_fail(r, "unknown command %s at %u.%u", cmd, r->t, r->i);
	if (!own_namespace(r, find_utf8(op, "ns"), 1))
		return EX_DATAERR;
	if (*coll == '\0')
		return tv_rp_fail(r, "%s at %u.%u names no collection", cmd, r->t, r->i);
	if (!tv_collection_name_ok(coll))
		return tv_rp_fail(r, "%s at %u.%u names no valid collection", cmd, r->t, r->i);
	if (!selected(r, coll)) {
		r->counts.skipped++;
		return 0;
	}
	/* collMod may change validators or TTLs, the others rewrite data in place. */
	if (strcmp(cmd, "collMod") == 0 || strcmp(cmd, "convertToCapped") == 0 ||
	    strcmp(cmd, "emptycapped") == 0)
		return refuse(r, cmd, coll);
	if (strcmp(cmd, "createIndexes") == 0 || strcmp(cmd, "commitIndexBuild") == 0)
		return index_command(r, cmd, coll, &o);
	if (strcmp(cmd, "drop") == 0)
		return emit_command(r, TV_WRITE_DROP, coll, NULL);
	bson_init(&args);
	if (strcmp(cmd, "create") == 0) {
		/* idIndex describes the old server's _id index, which every server builds itself. */
		bson_copy_to_excluding_noinit(&o, &args, "create", "idIndex", NULL);
		rc = emit_command(r, TV_WRITE_CREATE, coll, &args);
	} else if (bson_iter_init_find(&it, &o, "index")) {
		bson_append_iter(&args, "index", 5, &it);
		rc = emit_command(r, TV_WRITE_DROP_INDEX, coll, &args);
	} else
		rc = tv_rp_fail(r, "%s at %u.%u names no index", cmd, r->t, r->i);
	bson_destroy(&args);
	return rc;
}

int
tv_rp_apply_op(struct tv_replay *r, const bson_t *op, int depth)
{
	const char *kind = find_utf8(op, "op"), *ns = find_utf8(op, "ns");

	if (kind == NULL || strlen(kind) != 1)
		return tv_rp_fail(r, "the entry at %u.%u has no valid op field", r->t, r->i);
	if (*kind == 'n') {
		r->counts.skipped++;
		return 0;
	}
	if (*kind == 'c')
		return apply_command(r, op, depth);
	if (strchr("iud", *kind) == NULL)
		return tv_rp_fail(r, "unknown op '%s' at %u.%u", kind, r->t, r->i);
	if (!own_namespace(r, ns, 0))
		return EX_DATAERR;
	return apply_crud(r, *kind, ns + strlen(r->db) + 1, op);
}

int
tv_replay_entry(struct tv_replay *r, const bson_t *entry)
{
	bson_iter_t it;
	bson_t o, lsid;
	const char *kind = find_utf8(entry, "op");
	int64_t number;
	uint32_t t, i;

	r->error[0] = '\0';
	if (!bson_iter_init_find(&it, entry, "ts") || !BSON_ITER_HOLDS_TIMESTAMP(&it))
		return tv_rp_fail(r, "an entry has no timestamp ts: not an oplog entry");
	bson_iter_timestamp(&it, &t, &i);
	if (r->have_until && (t > r->until_t || (t == r->until_t && i > r->until_i)))
		return TV_REPLAY_STOP;
	r->t = t;
	r->i = i;
	if (r->counts.entries++ == 0) {
		r->counts.first_t = t;
		r->counts.first_i = i;
	}
	r->counts.last_t = t;
	r->counts.last_i = i;
	if (kind == NULL || strcmp(kind, "c") != 0 || !tv_bson_subdocument(entry, "o", &o)) {
		r->unit = 0;
		return tv_rp_apply_op(r, entry, 0);
	}
	/* The entry's number: unique, and never 0 as the entry is counted already. */
	r->unit = bson_has_field(&o, "applyOps") || bson_has_field(&o, "commitTransaction") ?
	    r->counts.entries : 0;
	if (tv_rp_transaction_of(entry, &o, &lsid, &number))
		return tv_rp_apply_txn(r, entry, &o, &lsid, number);
	return tv_rp_apply_op(r, entry, 0);
}
