/*
 * tv-gendata: writes a deterministic stream of realistic TralliValli documents
 * (users, conversations, messages, invites, files) as BSON on stdout, so that
 * benchmarks and tests measure compression ratios and speeds on chat-like data.
 *
 * Documents are built one at a time into a reused buffer: memory stays constant
 * whatever the count.  Every identifier is a function of the seed, the
 * collection and the index, so messages reference users and conversations that
 * the same seed generates in the other collections.  Given the sizes of the
 * referenced collections (--users, --conversations, --files), every reference
 * resolves: the data is referentially consistent, as tv-rehearse checks.
 */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bson/bson.h>

#include "io.h"
#include "log.h"

/* How many users, conversations and files references point into, unless --users etc. say. */
#define NUSERS		5000
#define NCONVERSATIONS	20000
#define NFILES		1000000
/* 2024-01-01T00:00:00Z in milliseconds: the first document's creation time. */
#define EPOCH_MS	1704067200000LL

enum coll { USERS, CONVERSATIONS, MESSAGES, INVITES, FILES, NCOLLS };
static const char *collnames[NCOLLS] = { "users", "conversations", "messages", "invites", "files" };

struct gen {
	uint32_t	 nrefs[NCOLLS];	/* documents the referenced collections hold */
	uint64_t	 seed;
	uint64_t	 state;		/* xorshift state for values */
	int64_t		 clock_ms;	/* creation time of the current document */
};

/* splitmix64: a good 64-bit mix, used both to seed and to derive identifiers. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
rnd(struct gen *g)
{
	/* xorshift64*: fast and good enough for shaping test data. */
	g->state ^= g->state >> 12;
	g->state ^= g->state << 25;
	g->state ^= g->state >> 27;
	return g->state * 0x2545f4914f6cdd1dULL;
}

/* Returns a uniform value in [0, n). */
static uint32_t
below(struct gen *g, uint32_t n)
{
	return (uint32_t)(((rnd(g) >> 32) * n) >> 32);
}

/* Returns 1 with probability pct percent. */
static int
chance(struct gen *g, uint32_t pct)
{
	return below(g, 100) < pct;
}

/*
 * The ObjectId of document i of a collection: a timestamp that grows with i,
 * a per-seed-and-collection "machine" part, and i as the counter, like the
 * ids a real server hands out over time.
 */
static void
make_oid(const struct gen *g, enum coll c, uint64_t i, bson_oid_t *oid)
{
	uint64_t m = mix64(g->seed * NCOLLS + c);
	uint32_t ts = (uint32_t)(EPOCH_MS / 1000 + i * (c == MESSAGES ? 3 : 600) / (c == MESSAGES ? 10 : 1));
	int k;

	for (k = 0; k < 4; k++)
		oid->bytes[k] = (uint8_t)(ts >> (24 - 8 * k));
	for (k = 0; k < 5; k++)
		oid->bytes[4 + k] = (uint8_t)(m >> (8 * k));
	for (k = 0; k < 3; k++)
		oid->bytes[9 + k] = (uint8_t)((i + m) >> (16 - 8 * k));
}

static void
append_ref(bson_t *b, const char *key, const struct gen *g, enum coll c, uint64_t i)
{
	bson_oid_t oid;

	make_oid(g, c, i, &oid);
	BSON_APPEND_OID(b, key, &oid);
}

/* Users are referenced with a skew: a few talk a lot, most rarely. */
static uint64_t
some_user(struct gen *g)
{
	uint32_t r = below(g, g->nrefs[USERS]), talkers = g->nrefs[USERS] / 20;

	return chance(g, 60) ? r % (talkers ? talkers : 1) : r;
}

static const char *first_names[] = {
	"Alice", "Anna", "Björn", "Carlos", "Chloé", "Daniel", "Dmitry", "Elena", "Emma",
	"François", "Hannah", "Ivan", "James", "José", "Jürgen", "Katarzyna", "Lars",
	"Liam", "Lucía", "Maria", "Mateo", "Mia", "Noah", "Olga", "Oliver", "Paweł",
	"Sofia", "Søren", "Thomas", "Yuki", "Zoë", "Анна", "Дмитрий", "Мария", "Сергей",
	"李娜", "王伟", "Ahmed", "Fatima", "Priya", "Rahul", "Noé", "Ingrid", "Kenji",
};
static const char *last_names[] = {
	"Andersen", "Brown", "Costa", "Dubois", "García", "Hansen", "Ivanov", "Jensen",
	"Kowalski", "Lindqvist", "Martin", "Müller", "Nakamura", "Nowak", "O'Brien",
	"Petrov", "Rossi", "Schmidt", "Silva", "Smith", "Tanaka", "Weiß", "Wilson",
	"Иванова", "Смирнов", "Chen", "Khan", "Öztürk", "Đorđević", "Novák",
};
static const char *domains[] = {
	"gmail.com", "outlook.com", "yahoo.com", "proton.me", "example.org",
	"mail.ru", "yandex.ru", "icloud.com", "company.io", "uni-heidelberg.de",
};

/*
 * Chat vocabulary, most frequent first: words are drawn with a skew towards
 * the front, which gives text the repetitiveness (and gzip ratio) of real chat.
 */
static const char *words[] = {
	"the", "I", "you", "to", "a", "and", "it", "is", "that", "in", "of", "for",
	"we", "on", "be", "this", "have", "are", "not", "with", "can", "just", "so",
	"do", "will", "me", "what", "at", "ok", "but", "was", "if", "my", "get",
	"yes", "no", "all", "know", "think", "there", "about", "lol", "they", "go",
	"like", "one", "up", "out", "now", "time", "see", "good", "today", "tomorrow",
	"thanks", "please", "sure", "right", "meeting", "call", "back", "later",
	"need", "how", "when", "let", "us", "send", "file", "check", "work", "here",
	"would", "could", "should", "maybe", "yeah", "great", "sounds", "tonight",
	"morning", "office", "project", "deadline", "review", "link", "photo",
	"dinner", "weekend", "sorry", "late", "traffic", "coffee", "lunch", "team",
	"update", "release", "server", "backup", "deploy", "issue", "fixed", "test",
	"branch", "merge", "docs", "client", "budget", "invoice", "flight", "hotel",
	"train", "station", "birthday", "party", "present", "kids", "school", "doctor",
	"appointment", "weather", "rain", "sunny", "cold", "home", "soon", "minutes",
	"hour", "already", "again", "still", "really", "very", "much", "more",
	"some", "any", "every", "thing", "something", "anything", "nothing", "happy",
	"awesome", "perfect", "exactly", "agree", "idea", "plan", "question", "answer",
	"Привет", "спасибо", "да", "нет", "хорошо", "завтра", "сегодня", "встреча",
	"👍", "😂", "❤️", "🙏", "🎉", "café", "déjà", "naïve", "über", "straße",
	"señor", "mañana", "gracias", "danke", "merci", "ciao", "hej", "tak",
};
#define NWORDS	(sizeof(words) / sizeof(words[0]))

/* Appends a sentence-shaped text of about len bytes to buf (which holds at least len + 64). */
static size_t
make_text(struct gen *g, char *buf, size_t len)
{
	size_t n = 0;
	int capital = 1;

	while (n < len) {
		/* Squaring a uniform draw skews towards the frequent words. */
		uint32_t u = below(g, 1u << 16);
		const char *w = words[(uint64_t)u * u * NWORDS >> 32];
		size_t wl = strlen(w);

		if (n > 0)
			buf[n++] = ' ';
		memcpy(buf + n, w, wl);
		if (capital && w[0] >= 'a' && w[0] <= 'z')
			buf[n] -= 'a' - 'A';
		n += wl;
		capital = 0;
		if (chance(g, 9)) {
			buf[n++] = ".?!,"[below(g, 4)];
			capital = buf[n - 1] != ',';
		}
	}
	buf[n] = '\0';
	return n;
}

/* Message lengths: mostly short lines, a tail of paragraphs. */
static size_t
text_length(struct gen *g)
{
	uint32_t r = below(g, 100);

	if (r < 60)
		return 5 + below(g, 50);
	if (r < 88)
		return 40 + below(g, 80);
	if (r < 98)
		return 140 + below(g, 200);
	return 400 + below(g, 600);
}

/* Advances the clock by a random gap of up to max_ms and appends it as a date. */
static void
append_now(bson_t *b, const char *key, struct gen *g, uint32_t max_ms)
{
	g->clock_ms += below(g, max_ms);
	BSON_APPEND_DATE_TIME(b, key, g->clock_ms);
}

static void
append_later(bson_t *b, const char *key, struct gen *g, uint32_t max_ms)
{
	BSON_APPEND_DATE_TIME(b, key, g->clock_ms + below(g, max_ms) + 1);
}

static void
append_random_bytes(bson_t *b, const char *key, struct gen *g, uint32_t len)
{
	uint8_t buf[64];
	uint32_t k;

	for (k = 0; k < len; k++)
		buf[k] = (uint8_t)(rnd(g) >> 56);
	BSON_APPEND_BINARY(b, key, BSON_SUBTYPE_BINARY, buf, len);
}

static void
append_hex_token(bson_t *b, const char *key, struct gen *g, int len)
{
	char buf[65];
	int k;

	for (k = 0; k < len; k++)
		buf[k] = "0123456789abcdef"[rnd(g) >> 60];
	buf[len] = '\0';
	BSON_APPEND_UTF8(b, key, buf);
}

static void
user_names(uint64_t i, const struct gen *g, const char **first, const char **last)
{
	uint64_t h = mix64(g->seed ^ (i * 0x100000001b3ULL));

	*first = first_names[h % (sizeof(first_names) / sizeof(first_names[0]))];
	*last = last_names[(h >> 20) % (sizeof(last_names) / sizeof(last_names[0]))];
}

static void
gen_user(struct gen *g, uint64_t i, bson_t *b)
{
	const char *first, *last;
	char name[128], email[160];
	size_t k;

	user_names(i, g, &first, &last);
	snprintf(name, sizeof(name), "%s %s", first, last);
	/* Most addresses are ASCII; some keep the accents (internationalised mail). */
	snprintf(email, sizeof(email), "%s.%s%" PRIu64 "@%s", first, last, i,
	    domains[below(g, sizeof(domains) / sizeof(domains[0]))]);
	for (k = 0; email[k] != '\0'; k++)
		if (email[k] >= 'A' && email[k] <= 'Z')
			email[k] += 'a' - 'A';
	append_ref(b, "_id", g, USERS, i);
	BSON_APPEND_UTF8(b, "email", email);
	BSON_APPEND_UTF8(b, "displayName", name);
	append_now(b, "createdAt", g, 1200000);
	if (chance(g, 85))
		append_later(b, "lastLoginAt", g, 2000000000u);
	else
		BSON_APPEND_NULL(b, "lastLoginAt");
	BSON_APPEND_BOOL(b, "isActive", chance(g, 93));
	append_random_bytes(b, "publicKey", g, 32);
}

static void
gen_conversation(struct gen *g, uint64_t i, bson_t *b)
{
	bson_t parts, part;
	char key[16], text[128];
	const char *k;
	int group = chance(g, 30), n = group ? 3 + (int)below(g, 12) : 2, p;

	append_ref(b, "_id", g, CONVERSATIONS, i);
	if (group) {
		make_text(g, text, 8 + below(g, 20));
		BSON_APPEND_UTF8(b, "name", text);
	} else
		BSON_APPEND_UTF8(b, "name", "");
	append_now(b, "createdAt", g, 300000);
	BSON_APPEND_ARRAY_BEGIN(b, "participants", &parts);
	for (p = 0; p < n; p++) {
		bson_uint32_to_string((uint32_t)p, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&parts, k, &part);
		append_ref(&part, "userId", g, USERS, some_user(g));
		append_later(&part, "joinedAt", g, 3600000);
		if (chance(g, 80))
			append_later(&part, "lastReadAt", g, 2000000000u);
		else
			BSON_APPEND_NULL(&part, "lastReadAt");
		BSON_APPEND_UTF8(&part, "role", p == 0 ? "admin" : "member");
		bson_append_document_end(&parts, &part);
	}
	bson_append_array_end(b, &parts);
	append_later(b, "lastMessageAt", g, 2000000000u);
	BSON_APPEND_BOOL(b, "isGroup", group);
}

static void
gen_message(struct gen *g, uint64_t i, bson_t *b, char *text)
{
	bson_t arr, sub;
	char key[16];
	const char *k;
	uint32_t nreads, r;

	append_ref(b, "_id", g, MESSAGES, i);
	append_ref(b, "conversationId", g, CONVERSATIONS, below(g, g->nrefs[CONVERSATIONS]));
	append_ref(b, "senderId", g, USERS, some_user(g));
	make_text(g, text, text_length(g));
	BSON_APPEND_UTF8(b, "content", text);
	append_random_bytes(b, "encryptedPayload", g, 32 + below(g, 33));
	append_now(b, "createdAt", g, 600);
	if (chance(g, 5))
		append_later(b, "editedAt", g, 600000);
	else
		BSON_APPEND_NULL(b, "editedAt");
	BSON_APPEND_BOOL(b, "isDeleted", chance(g, 2));
	BSON_APPEND_ARRAY_BEGIN(b, "attachments", &arr);
	if (chance(g, 4)) {
		append_ref(&arr, "0", g, FILES, below(g, g->nrefs[FILES]));
	}
	bson_append_array_end(b, &arr);
	BSON_APPEND_ARRAY_BEGIN(b, "readBy", &arr);
	nreads = below(g, 4);
	for (r = 0; r < nreads; r++) {
		bson_uint32_to_string(r, &k, key, sizeof(key));
		BSON_APPEND_DOCUMENT_BEGIN(&arr, k, &sub);
		append_ref(&sub, "userId", g, USERS, some_user(g));
		append_later(&sub, "readAt", g, 86400000);
		bson_append_document_end(&arr, &sub);
	}
	bson_append_array_end(b, &arr);
}

static void
gen_invite(struct gen *g, uint64_t i, bson_t *b)
{
	int used = chance(g, 60);

	append_ref(b, "_id", g, INVITES, i);
	append_hex_token(b, "token", g, 32);
	append_ref(b, "createdBy", g, USERS, some_user(g));
	append_now(b, "createdAt", g, 3600000);
	append_later(b, "expiresAt", g, 604800000);
	BSON_APPEND_BOOL(b, "isUsed", used);
	if (used)
		append_ref(b, "usedBy", g, USERS, below(g, g->nrefs[USERS]));
	else
		BSON_APPEND_NULL(b, "usedBy");
}

static void
gen_file(struct gen *g, uint64_t i, bson_t *b)
{
	static const char *types[][2] = {
		{ "image/jpeg", "jpg" }, { "image/png", "png" }, { "application/pdf", "pdf" },
		{ "video/mp4", "mp4" }, { "text/plain", "txt" }, { "application/zip", "zip" },
	};
	char name[160], path[256], base[96];
	uint32_t t = below(g, sizeof(types) / sizeof(types[0]));
	bson_oid_t oid;
	char hex[25];

	make_oid(g, FILES, i, &oid);
	bson_oid_to_string(&oid, hex);
	make_text(g, base, 4 + below(g, 24));
	snprintf(name, sizeof(name), "%s.%s", base, types[t][1]);
	snprintf(path, sizeof(path), "files/%" PRIu64 "/%s.%s", i % NCONVERSATIONS, hex, types[t][1]);
	BSON_APPEND_OID(b, "_id", &oid);
	append_ref(b, "conversationId", g, CONVERSATIONS, below(g, g->nrefs[CONVERSATIONS]));
	append_ref(b, "uploaderId", g, USERS, some_user(g));
	BSON_APPEND_UTF8(b, "fileName", name);
	BSON_APPEND_UTF8(b, "mimeType", types[t][0]);
	BSON_APPEND_INT64(b, "size", 1000 + below(g, 20000000));
	BSON_APPEND_UTF8(b, "blobPath", path);
	append_hex_token(b, "sha256", g, 64);
	append_now(b, "uploadedAt", g, 3600000);
	BSON_APPEND_BOOL(b, "isDeleted", chance(g, 3));
}

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: tv-gendata [-qv] [-s seed] [--users n] [--conversations n] [--files n]\n"
	    "                  users|conversations|messages|invites|files count\n");
	exit(status);
}

/* Parses a --users/--conversations/--files size: references then point only at documents that exist. */
static uint32_t
refs_size(const char *arg)
{
	char *end;
	unsigned long n = strtoul(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || arg[0] == '-' || n == 0 || n > UINT32_MAX)
		usage(EX_USAGE);
	return (uint32_t)n;
}

int
main(int argc, char *argv[])
{
	struct tv_writer out;
	struct gen g;
	uint64_t seed = 1, count, i;
	enum coll c;
	char *end, *text;
	int ch, status = EX_OK;
	static const struct option longopts[] = {
		{ "conversations",	required_argument,	NULL, 'C' },
		{ "files",		required_argument,	NULL, 'F' },
		{ "help",		no_argument,		NULL, 'h' },
		{ "users",		required_argument,	NULL, 'U' },
		{ NULL,			0,			NULL, 0 }
	};

	tv_log_init(argv[0]);
	g.nrefs[USERS] = NUSERS;
	g.nrefs[CONVERSATIONS] = NCONVERSATIONS;
	g.nrefs[FILES] = NFILES;
	while ((ch = getopt_long(argc, argv, "hqs:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			g.nrefs[CONVERSATIONS] = refs_size(optarg);
			break;
		case 'F':
			g.nrefs[FILES] = refs_size(optarg);
			break;
		case 'U':
			g.nrefs[USERS] = refs_size(optarg);
			break;
		case 'h':
			usage(0);
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0')
				usage(EX_USAGE);
			break;
		case 'v':
			tv_log_set_level(TV_LOG_VERBOSE);
			break;
		default:
			usage(EX_USAGE);
		}
	}
	argc -= optind;
	argv += optind;

	if (argc != 2)
		usage(EX_USAGE);
	for (c = 0; c < NCOLLS; c++)
		if (strcmp(argv[0], collnames[c]) == 0)
			break;
	if (c == NCOLLS)
		usage(EX_USAGE);
	count = strtoull(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || argv[1][0] == '-')
		usage(EX_USAGE);

	g.seed = seed;
	g.state = mix64(seed * NCOLLS + c) | 1;
	g.clock_ms = EPOCH_MS;
	if (tv_writer_init(&out, STDOUT_FILENO, 1 << 20) == -1 || (text = malloc(4096)) == NULL)
		tv_fatal_errno(EXIT_FAILURE, "out of memory");
	for (i = 0; i < count; i++) {
		bson_t b;

		bson_init(&b);
		switch (c) {
		case USERS:		gen_user(&g, i, &b); break;
		case CONVERSATIONS:	gen_conversation(&g, i, &b); break;
		case MESSAGES:		gen_message(&g, i, &b, text); break;
		case INVITES:		gen_invite(&g, i, &b); break;
		case FILES:		gen_file(&g, i, &b); break;
		case NCOLLS:		break;
		}
		if (tv_writer_put(&out, bson_get_data(&b), b.len) == -1)
			tv_fatal_errno(EX_IOERR, "write");
		bson_destroy(&b);
	}
	if (tv_writer_flush(&out) == -1)
		tv_fatal_errno(EX_IOERR, "write");
	tv_debug("generated %" PRIu64 " %s documents, %llu bytes", count, collnames[c], out.total);
	tv_writer_free(&out);
	free(text);
	return status;
}
