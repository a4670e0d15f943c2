/* settle.c: oplog entries held until they have settled, then given back in position order. */

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"
#include "settle.h"

void
tv_settle_init(struct tv_settle *s, int64_t settle_ms)
{
	memset(s, 0, sizeof(*s));
	s->settle_ms = settle_ms;
}

/* Makes room for one more entry at the end, moving the held ones to the front first. */
static void
make_room(struct tv_settle *s)
{
	if (s->head > 0) {
		memmove(s->v, s->v + s->head, (s->n - s->head) * sizeof(*s->v));
		s->n -= s->head;
		s->head = 0;
	}
	if (s->n < s->cap)
		return;
	s->cap = s->cap ? s->cap * 2 : 64;
	if ((s->v = reallocarray(s->v, s->cap, sizeof(*s->v))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
}

int
tv_settle_add(struct tv_settle *s, const bson_t *entry, const struct tv_oppos *pos, int64_t wall_ms,
    int64_t now_ms)
{
	size_t at;

	/* Nearly every entry comes in order: look from the end. */
	for (at = s->n; at > s->head && tv_oppos_cmp(&s->v[at - 1].pos, pos) > 0; at--)
		;
	if (at > s->head && tv_oppos_cmp(&s->v[at - 1].pos, pos) == 0)
		return 1;
	at -= s->head;
	make_room(s);
	memmove(s->v + at + 1, s->v + at, (s->n - at) * sizeof(*s->v));
	s->v[at] = (struct tv_settle_entry){ *pos, wall_ms, now_ms, bson_copy(entry) };
	s->n++;
	return 0;
}

/* Returns 1 if e has settled at now_ms: seen, or written, at least settle_ms before. */
static int
settled(const struct tv_settle *s, const struct tv_settle_entry *e, int64_t now_ms)
{
	return now_ms - e->seen_ms >= s->settle_ms || now_ms - e->wall_ms >= s->settle_ms;
}

const struct tv_settle_entry *
tv_settle_ready(const struct tv_settle *s, int64_t now_ms)
{
	if (s->head == s->n || !settled(s, &s->v[s->head], now_ms))
		return NULL;
	return &s->v[s->head];
}

void
tv_settle_pop(struct tv_settle *s)
{
	if (s->head < s->n)
		bson_destroy(s->v[s->head++].doc);
}

size_t
tv_settle_count(const struct tv_settle *s)
{
	return s->n - s->head;
}

int64_t
tv_settle_wait_ms(const struct tv_settle *s, int64_t now_ms)
{
	int64_t wait = 0;

	for (size_t i = s->head; i < s->n; i++) {
		const struct tv_settle_entry *e = &s->v[i];
		int64_t by_seen = e->seen_ms + s->settle_ms - now_ms, by_wall = e->wall_ms + s->settle_ms - now_ms;
		int64_t w = by_seen < by_wall ? by_seen : by_wall;

		if (w > wait)
			wait = w;
	}
	return wait;
}

void
tv_settle_clear(struct tv_settle *s)
{
	while (s->head < s->n)
		tv_settle_pop(s);
	s->head = s->n = 0;
}

void
tv_settle_free(struct tv_settle *s)
{
	tv_settle_clear(s);
	free(s->v);
	s->v = NULL;
	s->cap = 0;
}

int64_t
tv_oplog_wall_ms(const bson_t *entry, const struct tv_oppos *pos)
{
	bson_iter_t it;

	if (bson_iter_init_find(&it, entry, "wall") && BSON_ITER_HOLDS_DATE_TIME(&it))
		return bson_iter_date_time(&it);
	return ((int64_t)pos->t + 1) * 1000 - 1;
}

int64_t
tv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
