/*
 * tv-gzip: a multi-core gzip filter.
 *
 * Compression cuts the input into 1 MiB chunks and compresses each, on a pool
 * of threads with libdeflate, into an independent gzip member; members are
 * written in input order, so the output depends only on the input and the
 * level, never on the thread count.  Each member carries its own compressed
 * and uncompressed sizes in a gzip extra subfield ("TV", like BGZF's "BC"),
 * which gzip(1), zlib and Go ignore but which lets -d find the next member
 * and size its buffers without decoding, and so decompress members in
 * parallel too.  Members without that subfield (gzip, pigz, mongodump --gzip)
 * are inflated as a stream with zlib.  Every member's CRC-32 and length are
 * checked either way; memory is bounded by the number of chunks in flight.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>

#include "help.h"
#include "io.h"
#include "log.h"

/* Input per member: large enough that independent members cost ~0.25 % in size. */
#define CHUNK		(1 << 20)
/* Fixed header (10), XLEN (2), then the subfield: "TV", LEN (2), member size (4), input size (4). */
#define HDR_LEN		24
#define XLEN		12
#define TRAILER_LEN	8
/* More threads than this would not fit the 64 MiB memory budget (two chunks in flight each). */
#define MAX_THREADS	12
/* The read buffer for headers and for streaming foreign members through zlib. */
#define INBUF		(256 * 1024)
/*
 * Output of a foreign member: this many parts of this size, inflated while
 * others are written.  Small parts stay in the cache between the two threads
 * (1 MiB parts measured 30-50 % slower); many let the inflating thread run ahead.
 */
#define ZPARTS		16
#define ZPART		(128 * 1024)

enum mode { COMPRESS, DECOMPRESS, TEST };

/* One chunk in flight: input, output and the outcome of its job. */
struct slot {
	unsigned char	*in;
	unsigned char	*out;
	size_t		 inlen;
	size_t		 outlen;	/* compress: result; decompress: expected input size */
	uint64_t	 offset;	/* decompress: where the member starts in the input */
	int		 bad;		/* decompress: the member is corrupt */
	int		 done;
};

/* The worker pool: slots are used in ring order, seq % nslots. */
struct pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 work;		/* a job was submitted, or quit */
	pthread_cond_t	 finished;	/* a job is done */
	struct slot	*slots;
	size_t		 nslots;
	uint64_t	 submitted;	/* jobs handed to the workers */
	uint64_t	 taken;		/* jobs a worker has started */
	uint64_t	 written;	/* jobs whose output has been written */
	int		 quit;
	enum mode	 mode;
	int		 level;
	size_t		 maxout;	/* compress: room for one member */
	uint64_t	 bytes_out;
};

struct worker {
	struct pool	*pool;
	pthread_t	 tid;
	struct libdeflate_compressor *c;
	struct libdeflate_decompressor *d;
};

/* Buffered input that knows the stream offset of every byte, for error messages. */
struct input {
	unsigned char	*buf;
	size_t		 pos;
	size_t		 len;
	uint64_t	 base;		/* stream offset of buf[0] */
	int		 eof;
	unsigned char	*zout;		/* zlib's output for foreign members */
};

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Compresses s->in into one complete gzip member in s->out. */
static void
compress_slot(struct worker *w, struct slot *s)
{
	static const unsigned char hdr[HDR_LEN - 8] = {
		0x1f, 0x8b, 8, 4,		/* magic, deflate, FEXTRA */
		0, 0, 0, 0,			/* no mtime: same input, same bytes */
		0, 3,				/* XFL (set below), OS = Unix */
		XLEN, 0, 'T', 'V', 8, 0,
	};
	size_t n;

	memcpy(s->out, hdr, sizeof(hdr));
	s->out[8] = w->pool->level >= 9 ? 2 : w->pool->level <= 1 ? 4 : 0;
	n = libdeflate_deflate_compress(w->c, s->in, s->inlen, s->out + HDR_LEN,
	    w->pool->maxout - HDR_LEN - TRAILER_LEN);
	/* The buffer holds the worst case, so this cannot fail. */
	if (n == 0)
		abort();
	s->outlen = HDR_LEN + n + TRAILER_LEN;
	put_le32(s->out + 16, (uint32_t)s->outlen);
	put_le32(s->out + 20, (uint32_t)s->inlen);
	put_le32(s->out + HDR_LEN + n, libdeflate_crc32(0, s->in, s->inlen));
	put_le32(s->out + HDR_LEN + n + 4, (uint32_t)s->inlen);
}

/* Decompresses the whole member in s->in; libdeflate checks its CRC-32 and ISIZE. */
static void
decompress_slot(struct worker *w, struct slot *s)
{
	size_t in_used, out_used;

	s->bad = libdeflate_gzip_decompress_ex(w->d, s->in, s->inlen, s->out, s->outlen,
	    &in_used, &out_used) != LIBDEFLATE_SUCCESS ||
	    in_used != s->inlen || out_used != s->outlen;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pool *p = w->pool;
	struct slot *s;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->taken == p->submitted && !p->quit)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->taken == p->submitted)
			break;
		s = &p->slots[p->taken++ % p->nslots];
		pthread_mutex_unlock(&p->mu);
		if (p->mode == COMPRESS)
			compress_slot(w, s);
		else
			decompress_slot(w, s);
		pthread_mutex_lock(&p->mu);
		s->done = 1;
		pthread_cond_broadcast(&p->finished);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Writes out the oldest job's result once it is done; a corrupt member ends the program. */
static void
write_next(struct pool *p)
{
	struct slot *s = &p->slots[p->written % p->nslots];

	pthread_mutex_lock(&p->mu);
	while (!s->done)
		pthread_cond_wait(&p->finished, &p->mu);
	pthread_mutex_unlock(&p->mu);
	if (s->bad)
		tv_fatal(EX_DATAERR, "corrupt gzip member at byte offset %" PRIu64, s->offset);
	if (p->mode != TEST && tv_write_all(STDOUT_FILENO, s->out, s->outlen) == -1)
		tv_fatal_errno(EX_IOERR, "write");
	p->bytes_out += s->outlen;
	p->written++;
}

/* Returns the slot for the next job, first writing out the job that used it last. */
static struct slot *
next_slot(struct pool *p)
{
	struct slot *s;

	if (p->submitted - p->written == p->nslots)
		write_next(p);
	s = &p->slots[p->submitted % p->nslots];
	s->done = 0;
	s->bad = 0;
	return s;
}

static void
submit(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->submitted++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

/* Writes out every job still in flight, in order. */
static void
drain(struct pool *p)
{
	while (p->written < p->submitted)
		write_next(p);
}

static void
pool_start(struct pool *p, struct worker *w, int nthreads)
{
	int i;

	for (i = 0; i < nthreads; i++) {
		w[i].pool = p;
		if (p->mode == COMPRESS)
			w[i].c = libdeflate_alloc_compressor(p->level);
		else
			w[i].d = libdeflate_alloc_decompressor();
		if (w[i].c == NULL && w[i].d == NULL)
			tv_fatal(EX_OSERR, "out of memory");
		if ((errno = pthread_create(&w[i].tid, NULL, worker_main, &w[i])) != 0)
			tv_fatal_errno(EX_OSERR, "pthread_create");
	}
}

static void
pool_stop(struct pool *p, struct worker *w, int nthreads)
{
	int i;

	pthread_mutex_lock(&p->mu);
	p->quit = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < nthreads; i++) {
		pthread_join(w[i].tid, NULL);
		libdeflate_free_compressor(w[i].c);
		libdeflate_free_decompressor(w[i].d);
	}
}

/* Compresses stdin to stdout; returns the number of input bytes. */
static uint64_t
compress_stream(struct pool *p)
{
	uint64_t total = 0;
	struct slot *s;
	ssize_t n;

	/*
	 * The last member is always an empty one: it marks a complete stream, so
	 * that -d can tell a stream cut between two members from a whole one, and
	 * it makes empty input a valid gzip file.
	 */
	do {
		s = next_slot(p);
		if ((n = tv_read_full(STDIN_FILENO, s->in, CHUNK)) == -1)
			tv_fatal_errno(EX_IOERR, "read");
		s->inlen = (size_t)n;
		total += (uint64_t)n;
		submit(p);
	} while (n > 0);
	drain(p);
	return total;
}

static uint64_t
in_offset(const struct input *in)
{
	return in->base + in->pos;
}

/* Makes at least want bytes available unless the input ends first; returns how many are. */
static size_t
in_fill(struct input *in, size_t want)
{
	ssize_t n;

	if (in->len - in->pos >= want || in->eof)
		return in->len - in->pos;
	memmove(in->buf, in->buf + in->pos, in->len - in->pos);
	in->base += in->pos;
	in->len -= in->pos;
	in->pos = 0;
	while (in->len < want) {
		n = read(STDIN_FILENO, in->buf + in->len, INBUF - in->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			tv_fatal_errno(EX_IOERR, "read");
		if (n == 0) {
			in->eof = 1;
			break;
		}
		in->len += (size_t)n;
	}
	return in->len - in->pos;
}

static void __attribute__((noreturn))
truncated(struct pool *p, struct input *in, uint64_t member)
{
	drain(p);
	tv_fatal(EX_DATAERR, "unexpected end of input at byte offset %" PRIu64
	    " (truncated gzip member starting at byte offset %" PRIu64 ")", in->base + in->len, member);
}

/* Copies the next len bytes of input to dst, reading the bulk straight into it. */
static size_t
in_take(struct input *in, unsigned char *dst, size_t len)
{
	size_t got = in->len - in->pos < len ? in->len - in->pos : len;
	ssize_t n;

	memcpy(dst, in->buf + in->pos, got);
	in->pos += got;
	if (got < len && !in->eof) {
		if ((n = tv_read_full(STDIN_FILENO, dst + got, len - got)) == -1)
			tv_fatal_errno(EX_IOERR, "read");
		/* Those bytes bypassed the buffer: account for them in its base offset. */
		in->base += (uint64_t)n;
		got += (size_t)n;
		if (got < len)
			in->eof = 1;
	}
	return got;
}

/*
 * Returns 1 if the member at the read position is one of ours, with sizes
 * that fit the slots, and sets its member and uncompressed sizes.
 */
static int
tv_member(struct input *in, size_t maxmember, size_t *msize, size_t *isize)
{
	const unsigned char *h;

	if (in_fill(in, HDR_LEN) < HDR_LEN)
		return 0;
	h = in->buf + in->pos;
	if (h[3] != 4 || h[10] != XLEN || h[11] != 0 ||
	    h[12] != 'T' || h[13] != 'V' || h[14] != 8 || h[15] != 0)
		return 0;
	*msize = get_le32(h + 16);
	*isize = get_le32(h + 20);
	return *msize >= HDR_LEN + TRAILER_LEN && *msize <= maxmember && *isize <= CHUNK;
}

/*
 * Another tool's member is one deflate stream: it cannot be cut up for the
 * workers.  As pigz -d does, the inflating thread does nothing else: a
 * second thread computes the CRC-32 and writes, part by part, out of a
 * buffer of ZPARTS parts.
 */
struct zwriter {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a part was handed over, or written */
	unsigned char	*buf;		/* ZPARTS parts of ZPART bytes */
	size_t		 len[ZPARTS];
	uint64_t	 filled;	/* parts handed over */
	uint64_t	 drained;	/* parts checked and written */
	int		 done;		/* no more parts will come */
	int		 write;		/* 0 when only testing */
	int		 err;		/* errno of a failed write */
	uint32_t	 crc;		/* of the parts drained: the writer's alone until joined */
	uint64_t	 size;
};

static void *
zwriter_main(void *arg)
{
	struct zwriter *zw = arg;
	size_t i;

	pthread_mutex_lock(&zw->mu);
	for (;;) {
		while (zw->drained == zw->filled && !zw->done)
			pthread_cond_wait(&zw->cv, &zw->mu);
		if (zw->drained == zw->filled)
			break;
		i = zw->drained % ZPARTS;
		pthread_mutex_unlock(&zw->mu);
		zw->crc = libdeflate_crc32(zw->crc, zw->buf + i * ZPART, zw->len[i]);
		zw->size += zw->len[i];
		if (zw->write && zw->err == 0 &&
		    tv_write_all(STDOUT_FILENO, zw->buf + i * ZPART, zw->len[i]) == -1)
			zw->err = errno;
		pthread_mutex_lock(&zw->mu);
		zw->drained++;
		pthread_cond_broadcast(&zw->cv);
	}
	pthread_mutex_unlock(&zw->mu);
	return NULL;
}

/* Hands len bytes of the current part to the writer and returns the next free part. */
static unsigned char *
zwriter_next(struct zwriter *zw, size_t len)
{
	unsigned char *part;

	pthread_mutex_lock(&zw->mu);
	if (len > 0) {
		zw->len[zw->filled % ZPARTS] = len;
		zw->filled++;
		pthread_cond_broadcast(&zw->cv);
	}
	while (zw->filled - zw->drained == ZPARTS)
		pthread_cond_wait(&zw->cv, &zw->mu);
	part = zw->buf + (zw->filled % ZPARTS) * ZPART;
	pthread_mutex_unlock(&zw->mu);
	return part;
}

/* Lets the writer finish the parts handed over and joins it. */
static void
zwriter_stop(struct zwriter *zw, pthread_t tid)
{
	pthread_mutex_lock(&zw->mu);
	zw->done = 1;
	pthread_cond_broadcast(&zw->cv);
	pthread_mutex_unlock(&zw->mu);
	pthread_join(tid, NULL);
	pthread_cond_destroy(&zw->cv);
	pthread_mutex_destroy(&zw->mu);
}

/* Skips len bytes of input, or reports the member starting at start as truncated. */
static void
in_skip(struct pool *p, struct input *in, size_t len, uint64_t start)
{
	size_t avail;

	while (len > 0) {
		if ((avail = in_fill(in, 1)) == 0)
			truncated(p, in, start);
		avail = avail < len ? avail : len;
		in->pos += avail;
		len -= avail;
	}
}

/* Skips a zero-terminated header field (file name, comment). */
static void
in_skip_string(struct pool *p, struct input *in, uint64_t start)
{
	const unsigned char *nul;
	size_t avail;

	for (;;) {
		if ((avail = in_fill(in, 1)) == 0)
			truncated(p, in, start);
		if ((nul = memchr(in->buf + in->pos, 0, avail)) != NULL) {
			in->pos = (size_t)(nul - in->buf) + 1;
			return;
		}
		in->pos += avail;
	}
}

/* Skips a member's header (RFC 1952), so that zlib inflates the raw deflate data after it. */
static void
skip_header(struct pool *p, struct input *in, uint64_t start)
{
	const unsigned char *h;
	unsigned char flags;

	if (in_fill(in, 10) < 10)
		truncated(p, in, start);
	h = in->buf + in->pos;
	if (h[2] != 8 || (h[3] & 0xe0) != 0)
		tv_fatal(EX_DATAERR, "corrupt gzip member at byte offset %" PRIu64
		    ": %s", start, h[2] != 8 ? "unknown compression method" : "reserved flags set");
	flags = h[3];
	in->pos += 10;
	if (flags & 4) {
		if (in_fill(in, 2) < 2)
			truncated(p, in, start);
		h = in->buf + in->pos;
		in->pos += 2;
		in_skip(p, in, (size_t)h[0] | (size_t)h[1] << 8, start);
	}
	if (flags & 8)
		in_skip_string(p, in, start);
	if (flags & 16)
		in_skip_string(p, in, start);
	if (flags & 2)
		in_skip(p, in, 2, start);
}

/* Inflates one member written by another tool, streaming, with zlib; checks its CRC-32 and size. */
static void
inflate_member(struct pool *p, struct input *in)
{
	struct zwriter zw = { .buf = in->zout, .write = p->mode != TEST };
	uint64_t start = in_offset(in);
	const unsigned char *t;
	pthread_t tid;
	z_stream z;
	size_t avail;
	int r = Z_OK;

	skip_header(p, in, start);
	memset(&z, 0, sizeof(z));
	/* -15: raw deflate; the header is skipped above and the trailer checked below. */
	if (inflateInit2(&z, -15) != Z_OK)
		tv_fatal(EX_OSERR, "out of memory");
	pthread_mutex_init(&zw.mu, NULL);
	pthread_cond_init(&zw.cv, NULL);
	if ((errno = pthread_create(&tid, NULL, zwriter_main, &zw)) != 0)
		tv_fatal_errno(EX_OSERR, "pthread_create");
	z.next_out = zwriter_next(&zw, 0);
	z.avail_out = ZPART;
	while (r != Z_STREAM_END) {
		if (z.avail_out == 0) {
			z.next_out = zwriter_next(&zw, ZPART);
			z.avail_out = ZPART;
		}
		if ((avail = in_fill(in, 1)) == 0) {
			zwriter_stop(&zw, tid);
			truncated(p, in, start);
		}
		z.next_in = in->buf + in->pos;
		z.avail_in = (uInt)avail;
		r = inflate(&z, Z_NO_FLUSH);
		in->pos += avail - z.avail_in;
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR) {
			zwriter_stop(&zw, tid);
			tv_fatal(EX_DATAERR, "corrupt gzip member at byte offset %" PRIu64
			    " (member starts at byte offset %" PRIu64 "): %s",
			    in_offset(in), start, z.msg ? z.msg : zError(r));
		}
	}
	zwriter_next(&zw, ZPART - z.avail_out);
	zwriter_stop(&zw, tid);
	inflateEnd(&z);
	p->bytes_out += zw.size;
	if (zw.err != 0) {
		errno = zw.err;
		tv_fatal_errno(EX_IOERR, "write");
	}
	if (in_fill(in, TRAILER_LEN) < TRAILER_LEN)
		truncated(p, in, start);
	t = in->buf + in->pos;
	if (get_le32(t) != zw.crc || get_le32(t + 4) != (uint32_t)zw.size)
		tv_fatal(EX_DATAERR, "corrupt gzip member at byte offset %" PRIu64 ": %s", start,
		    get_le32(t) != zw.crc ? "incorrect data check" : "incorrect length check");
	in->pos += TRAILER_LEN;
}

/* Decompresses (or tests) stdin; returns the number of input bytes. */
static uint64_t
decompress_stream(struct pool *p)
{
	struct input in = { 0 };
	size_t msize, isize, avail;
	uint64_t members = 0, start;
	struct slot *s;
	int open = 0;		/* the last member was ours and not the end member */

	if ((in.buf = malloc(INBUF)) == NULL || (in.zout = malloc(ZPARTS * ZPART)) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	while ((avail = in_fill(&in, 2)) > 0) {
		start = in_offset(&in);
		if (avail < 2 || in.buf[in.pos] != 0x1f || in.buf[in.pos + 1] != 0x8b) {
			drain(p);
			if (avail < 2 && in.buf[in.pos] == 0x1f)
				truncated(p, &in, start);
			tv_fatal(EX_DATAERR, "%s at byte offset %" PRIu64,
			    members == 0 ? "not in gzip format" : "trailing garbage after the last gzip member",
			    start);
		}
		if (tv_member(&in, p->maxout, &msize, &isize)) {
			s = next_slot(p);
			s->offset = start;
			s->inlen = msize;
			s->outlen = isize;
			if (in_take(&in, s->in, msize) < msize)
				truncated(p, &in, start);
			submit(p);
			open = isize > 0;
		} else {
			/* Output order: everything before this member goes out first. */
			drain(p);
			inflate_member(p, &in);
			open = 0;
		}
		members++;
	}
	drain(p);
	if (members == 0)
		tv_fatal(EX_DATAERR, "empty input: no gzip member at byte offset 0");
	if (open)
		tv_fatal(EX_DATAERR, "unexpected end of input at byte offset %" PRIu64
		    " (the stream was cut after a member: its end member is missing)", in_offset(&in));
	free(in.buf);
	free(in.zout);
	return in_offset(&in);
}

static void
usage(int status)
{
	fprintf(status ? stderr : stdout, "usage: tv-gzip [-1..-9] [-qv] [-p threads] [--label name]\n"
	    "       tv-gzip -d [-qv] [-p threads] [--label name]\n"
	    "       tv-gzip -t [-qv] [-p threads]\n");
	if (status == 0)
		tv_help_page("tv-gzip", 1);
	exit(status);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "label", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pool p = { .mode = COMPRESS, .level = 6 };
	struct worker w[MAX_THREADS] = { { 0 } };
	const char *label = NULL;
	long threads = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t bytes_in;
	size_t i;
	char *end;
	int ch;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "123456789dhp:qtv", longopts, NULL)) != -1) {
		switch (ch) {
		case '1': case '2': case '3': case '4': case '5':
		case '6': case '7': case '8': case '9':
			p.level = ch - '0';
			break;
		case 'd':
			p.mode = DECOMPRESS;
			break;
		case 'h':
			usage(0);
			break;
		case 'L':
			label = optarg;
			break;
		case 'p':
			errno = 0;
			threads = strtol(optarg, &end, 10);
			if (errno != 0 || *optarg == '\0' || *end != '\0' || threads < 1)
				usage(EX_USAGE);
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 't':
			p.mode = TEST;
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

	if (argc != 0)
		usage(EX_USAGE);
	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;

	/* Two chunks per thread keep every worker busy while the oldest is written. */
	p.nslots = (size_t)threads * 2;
	p.maxout = HDR_LEN + libdeflate_deflate_compress_bound(NULL, CHUNK) + TRAILER_LEN;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work, NULL);
	pthread_cond_init(&p.finished, NULL);
	if ((p.slots = calloc(p.nslots, sizeof(*p.slots))) == NULL)
		tv_fatal(EX_OSERR, "out of memory");
	for (i = 0; i < p.nslots; i++) {
		p.slots[i].in = malloc(p.mode == COMPRESS ? CHUNK : p.maxout);
		p.slots[i].out = malloc(p.mode == COMPRESS ? p.maxout : CHUNK);
		if (p.slots[i].in == NULL || p.slots[i].out == NULL)
			tv_fatal(EX_OSERR, "out of memory");
	}
	pool_start(&p, w, (int)threads);
	tv_debug("%s with %ld threads", p.mode == COMPRESS ? "compressing" : "decompressing", threads);

	if (p.mode == COMPRESS) {
		bytes_in = compress_stream(&p);
		if (label != NULL)
			tv_info("Compressed %s: %" PRIu64 " bytes (compression: %.1f%%)", label,
			    p.bytes_out, bytes_in == 0 ? 0.0 : (1.0 - (double)p.bytes_out / (double)bytes_in) * 100.0);
	} else {
		bytes_in = decompress_stream(&p);
		if (label != NULL)
			tv_info("Decompressed %s: %" PRIu64 " bytes from %" PRIu64 " bytes", label,
			    p.bytes_out, bytes_in);
	}
	tv_debug("%" PRIu64 " bytes in, %" PRIu64 " bytes out", bytes_in, p.bytes_out);

	pool_stop(&p, w, (int)threads);
	for (i = 0; i < p.nslots; i++) {
		free(p.slots[i].in);
		free(p.slots[i].out);
	}
	free(p.slots);
	return EX_OK;
}
