/* Unit tests for run records: their names, create-only saving, and walks filtered by day and kind. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "runrec.h"
#include "statedir.h"
#include "tap.h"

static char dir[] = "/tmp/tv-runrec-XXXXXX";

/* Builds a record from one line of JSON written to a file. */
static int
load(const char *json, struct tv_runrec *rec)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/in.json", dir);
	f = fopen(path, "w");
	fputs(json, f);
	fclose(f);
	return tv_runrec_load(path, rec);
}

/* Appends each walked record's id to the string arg. */
static int
collect_ids(const struct tv_runrec *rec, void *arg)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, rec->doc, "id")) {
		strcat(arg, bson_iter_utf8(&it, NULL));
		strcat(arg, " ");
	}
	return 0;
}

/* Saves a record of the given kind, id and start (and startClock, if not NULL) in the state directory. */
static void
save_at(const char *kind, const char *id, const char *start, const char *clock)
{
	char json[256], name[512];
	struct tv_runrec rec;

	snprintf(json, sizeof(json), "{\"kind\":\"%s\",\"id\":\"%s\",\"start\":\"%s\",\"exitCode\":0%s%s%s}\n",
	    kind, id, start, clock ? ",\"startClock\":\"" : "", clock ? clock : "", clock ? "\"" : "");
	if (load(json, &rec) == 0 && tv_runrec_name(rec.doc, name, sizeof(name)) == 0)
		tv_runrec_save_local(&rec, name);
	tv_runrec_free(&rec);
}

/* Saves a record of the given kind, id and start in the state directory. */
static void
save(const char *kind, const char *id, const char *start)
{
	save_at(kind, id, start, NULL);
}

int
main(void)
{
	struct tv_runrec rec;
	struct tv_runrec_filter f;
	char name[512], ids[256], state[256];

	tv_log_init("test-runrec");
	tv_log_set_level(TV_LOG_QUIET);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(state, sizeof(state), "%s/state", dir);
	setenv("BACKUP_STATE_DIR", state, 1);

	ok(load("{\"kind\":\"backup\",\"id\":\"65a4f0c2\",\"start\":\"2024-01-15T03:00:12Z\",\"n\":1.5}\n", &rec) == 0,
	    "a record loads");
	ok(rec.json != NULL && strcmp(rec.json, "{\"kind\":\"backup\",\"id\":\"65a4f0c2\",\"start\":\"2024-01-15T03:00:12Z\",\"n\":1.5}") == 0,
	    "its JSON is kept byte for byte, without the newline");
	ok(tv_runrec_name(rec.doc, name, sizeof(name)) == 0 &&
	    strcmp(name, "runs/2024-01-15/20240115T030012Z-backup-65a4f0c2.json") == 0,
	    "its name is runs/{day}/{start}-{kind}-{id}.json");
	ok(tv_runrec_save_local(&rec, name) == 0, "it is saved in the state directory");
	ok(tv_runrec_save_local(&rec, name) == EX_CANTCREAT, "saving it again is refused (create-only)");
	tv_runrec_free(&rec);

	ok(load("{\"kind\":\"../x\",\"id\":\"1\",\"start\":\"2024-01-15T03:00:12Z\"}", &rec) == EX_DATAERR,
	    "a kind with a slash is refused");
	ok(load("{\"kind\":\"back-up\",\"id\":\"1\",\"start\":\"2024-01-15T03:00:12Z\"}", &rec) == EX_DATAERR,
	    "a kind with a dash is refused (names are split on dashes)");
	ok(load("{\"kind\":\"backup\",\"id\":\"1\",\"start\":\"yesterday\"}", &rec) == EX_DATAERR,
	    "a start that is not ISO-8601 UTC is refused");
	ok(load("{\"kind\":\"backup\",\"id\":\"1\",\n\"start\":\"2024-01-15T03:00:12Z\"}", &rec) == EX_DATAERR,
	    "a record on two lines is refused");
	ok(load("not json", &rec) == EX_DATAERR, "text that is not JSON is refused");
	ok(load("{\"kind\":\"backup\",\"id\":\"1\",\"start\":\"2024-01-15T03:00:12Z\",\"startClock\":\"1705287612.5x\"}", &rec) == EX_DATAERR,
	    "a startClock that is not epoch seconds is refused");
	ok(load("{\"kind\":\"backup\",\"id\":\"zz\",\"start\":\"2024-01-15T03:00:12Z\",\"startClock\":\"1705287612.0423\"}", &rec) == 0 &&
	    tv_runrec_name(rec.doc, name, sizeof(name)) == 0 &&
	    strcmp(name, "runs/2024-01-15/20240115T030012Z.1705287612042300-backup-zz.json") == 0,
	    "with startClock the name holds it in microseconds (%s)", name);
	tv_runrec_free(&rec);

	save("pitr", "p1", "2024-01-16T00:01:00Z");
	save("backup", "b2", "2024-01-16T03:00:00Z");
	save("rehearse", "r1", "2024-01-17T04:00:00Z");
	*ids = '\0';
	tv_runrec_walk_local(NULL, collect_ids, ids);
	ok(strcmp(ids, "65a4f0c2 p1 b2 r1 ") == 0, "a walk visits every record, oldest first (%s)", ids);
	f = (struct tv_runrec_filter){ "2024-01-16", NULL };
	*ids = '\0';
	tv_runrec_walk_local(&f, collect_ids, ids);
	ok(strcmp(ids, "p1 b2 r1 ") == 0, "--since skips earlier days (%s)", ids);
	f = (struct tv_runrec_filter){ NULL, "backup,rehearse" };
	*ids = '\0';
	tv_runrec_walk_local(&f, collect_ids, ids);
	ok(strcmp(ids, "65a4f0c2 b2 r1 ") == 0, "--kind keeps only the kinds named (%s)", ids);
	f = (struct tv_runrec_filter){ NULL, "back" };
	*ids = '\0';
	tv_runrec_walk_local(&f, collect_ids, ids);
	ok(*ids == '\0', "a kind matches whole, not as a prefix");

	/* Three runs in one second, ids in the reverse order of their start: names sort by the clock. */
	save_at("backup", "zc", "2024-01-18T05:00:00Z", "1705554000.1");
	save_at("backup", "zb", "2024-01-18T05:00:00Z", "1705554000.25");
	save_at("backup", "za", "2024-01-18T05:00:00Z", "1705554000.900001");
	f = (struct tv_runrec_filter){ "2024-01-18", NULL };
	*ids = '\0';
	tv_runrec_walk_local(&f, collect_ids, ids);
	ok(strcmp(ids, "zc zb za ") == 0, "runs that start within one second are walked in the order they started (%s)", ids);

	ok(strcmp(tv_state_lock_path(), "") != 0 && strstr(tv_state_lock_path(), state) == tv_state_lock_path(),
	    "the lock lives in the state directory");
	ok(tv_state_lock("test-runrec") == 0, "the run lock is taken");
	snprintf(name, sizeof(name), "rm -rf %s", dir);
	if (system(name) != 0)
		return 1;
	return tap_done();
}
