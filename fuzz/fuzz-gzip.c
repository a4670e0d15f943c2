/*
 * fuzz-gzip: tv-gzip -d's decoder (member framing, the "TV" size subfield,
 * libdeflate for our members, zlib for everyone else's), as it reads blobs.
 *
 * The decoder is tv-gzip.c's own static code, so the harness compiles that
 * file in with its main() renamed and drives decompress_stream() the way
 * main() does, with stdin on a memory file and one worker thread.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libdeflate.h>
#include <zlib.h>

#include "fuzz.h"

/*
 * tv-gzip exits on corrupt input without freeing its input buffers and zlib
 * state; in process that would pile up input after input.  So what its code
 * allocates (directly or through zlib) is tracked, and whatever is left after
 * an input is freed.  The system headers come first, untouched by the macros.
 */
static void *live[16];

static void *
tracked_malloc(size_t n)
{
	void *p = malloc(n);

	for (size_t i = 0; p != NULL && i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == NULL)
			return live[i] = p;
	abort();
}

static void
tracked_free(void *p)
{
	for (size_t i = 0; p != NULL && i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == p)
			live[i] = NULL;
	free(p);
}

static voidpf
tracked_zalloc(voidpf opaque, uInt items, uInt size)
{
	return tracked_malloc((size_t)items * size);
}

static void
tracked_zfree(voidpf opaque, voidpf p)
{
	tracked_free(p);
}

static int
tracked_inflate_init2(z_streamp z, int window_bits)
{
	z->zalloc = tracked_zalloc;
	z->zfree = tracked_zfree;
	return inflateInit2_(z, window_bits, ZLIB_VERSION, (int)sizeof(z_stream));
}

static void
free_leftovers(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		free(live[i]);
		live[i] = NULL;
	}
}

#define malloc tracked_malloc
#define free tracked_free
#undef inflateInit2
#define inflateInit2 tracked_inflate_init2
#define main tv_gzip_main
#include "../tools/tv-gzip.c"
#undef main
#undef inflateInit2
#undef free
#undef malloc

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pool pool;
static struct worker workers[1];
static struct slot slots[2];

/* Allocates the slots once: a megabyte or two per input would dominate the run time. */
static void
setup_slots(size_t maxout)
{
	for (size_t i = 0; i < 2; i++)
		if (slots[i].in == NULL &&
		    ((slots[i].in = malloc(maxout)) == NULL || (slots[i].out = malloc(CHUNK)) == NULL))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static jmp_buf fatal;
	int fd = fuzz_fd(data, size);

	if (dup2(fd, STDIN_FILENO) == -1 || dup2(fuzz_null_fd(), STDOUT_FILENO) == -1)
		abort();
	memset(&pool, 0, sizeof(pool));
	memset(workers, 0, sizeof(workers));
	pool.mode = DECOMPRESS;
	pool.nslots = 2;
	pool.maxout = HDR_LEN + libdeflate_deflate_compress_bound(NULL, CHUNK) + TRAILER_LEN;
	setup_slots(pool.maxout);
	pool.slots = slots;
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.work, NULL);
	pthread_cond_init(&pool.finished, NULL);
	pool_start(&pool, workers, 1);
	/* Corrupt input ends tv-gzip with 65: here it jumps back, and the workers are stopped as usual. */
	if (FUZZ_CATCH_FATAL(fatal) == 0)
		decompress_stream(&pool);
	FUZZ_END_CATCH();
	pool_stop(&pool, workers, 1);
	free_leftovers();
	pthread_cond_destroy(&pool.finished);
	pthread_cond_destroy(&pool.work);
	pthread_mutex_destroy(&pool.mu);
	close(fd);
	return 0;
}
