/* Unit tests for the BSON stream reader: good streams, every kind of bad one, and short reads. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bsonstream.h"
#include "io.h"
#include "tap.h"

/* Returns a descriptor positioned at the start of a temporary file holding len bytes. */
static int
stream_of(const void *data, size_t len)
{
	FILE *f = tmpfile();
	int fd = dup(fileno(f));

	tv_write_all(fd, data, len);
	lseek(fd, 0, SEEK_SET);
	fclose(f);
	return fd;
}

/* Appends one document {"k": value} to buf at *len. */
static void
append_doc(uint8_t *buf, size_t *len, const char *value)
{
	bson_t *doc = BCON_NEW("k", BCON_UTF8(value));

	memcpy(buf + *len, bson_get_data(doc), doc->len);
	*len += doc->len;
	bson_destroy(doc);
}

/* Reads the whole stream; returns the final result of tv_bson_reader_next and fills the reader's state. */
static int
drain(struct tv_bson_reader *r)
{
	bson_t doc;
	int rc;

	while ((rc = tv_bson_reader_next(r, &doc)) == 1)
		;
	return rc;
}

static struct tv_bson_reader *
reader_on(const void *data, size_t len)
{
	return tv_bson_reader_open(stream_of(data, len), "test.bson");
}

static void
test_empty_stream(void)
{
	struct tv_bson_reader *r = reader_on("", 0);

	ok(drain(r) == 0 && tv_bson_reader_count(r) == 0, "an empty stream is a clean end with no documents");
	tv_bson_reader_close(r);
}

static void
test_good_stream(void)
{
	uint8_t buf[256];
	size_t len = 0;
	struct tv_bson_reader *r;

	append_doc(buf, &len, "one");
	append_doc(buf, &len, "zwei \xc3\xa9");
	r = reader_on(buf, len);
	ok(drain(r) == 0, "two valid documents end cleanly");
	ok(tv_bson_reader_count(r) == 2, "and both are counted");
	ok(tv_bson_reader_offset(r) == len, "and the offset is the stream length");
	tv_bson_reader_close(r);
}

/* A string value with a NUL byte inside is valid BSON, and MongoDB stores it: it must restore. */
static void
test_nul_in_string(void)
{
	bson_t doc = BSON_INITIALIZER;
	struct tv_bson_reader *r;

	bson_append_utf8(&doc, "content", -1, "lol\0caf", 7);
	r = reader_on(bson_get_data(&doc), doc.len);
	ok(drain(r) == 0 && tv_bson_reader_count(r) == 1, "a string holding a NUL byte is a valid document");
	tv_bson_reader_close(r);
	bson_destroy(&doc);
}

/* Checks that a stream fails with status 65 and a message containing want. */
static void
expect_bad(const void *data, size_t len, const char *want, const char *what)
{
	struct tv_bson_reader *r = reader_on(data, len);
	int rc = drain(r);
	const char *msg = tv_bson_reader_error(r);

	ok(rc == -1 && tv_bson_reader_status(r) == EX_DATAERR && strstr(msg, want) != NULL,
	    "%s (got \"%s\")", what, msg);
	tv_bson_reader_close(r);
}

static void
test_bad_streams(void)
{
	uint8_t buf[256];
	size_t len = 0;
	char want[128];
	uint8_t bad_utf8_key[] = { 15, 0, 0, 0, 0x02, 0xff, 0xfe, 0, 2, 0, 0, 0, 'x', 0, 0 };
	uint8_t bad_utf8_value[] = { 15, 0, 0, 0, 0x02, 'k', 0, 3, 0, 0, 0, 0xc3, 0x28, 0, 0 };
	uint8_t overlong_value[] = { 15, 0, 0, 0, 0x02, 'k', 0, 3, 0, 0, 0, 0xc0, 0x80, 0, 0 };
	uint8_t surrogate_in_nested[] = { 24, 0, 0, 0, 0x03, 'd', 0,
	    16, 0, 0, 0, 0x02, 's', 0, 4, 0, 0, 0, 0xed, 0xa0, 0x80, 0, 0, 0 };
	uint8_t no_terminator[] = { 6, 0, 0, 0, 0x0a, 'a' };
	uint8_t bad_nested[] = { 16, 0, 0, 0, 0x03, 'd', 0, 99, 0, 0, 0, 0x0a, 'x', 0, 0, 0 };
	/* {"d": {"x": 1}} whose inner document ends in 0x12, not NUL (found by fuzz-replay). */
	uint8_t nested_no_terminator[] = { 20, 0, 0, 0, 0x03, 'd', 0,
	    12, 0, 0, 0, 0x10, 'x', 0, 1, 0, 0, 0, 0x12, 0 };
	uint8_t array_no_terminator[] = { 20, 0, 0, 0, 0x04, 'a', 0,
	    12, 0, 0, 0, 0x10, '0', 0, 1, 0, 0, 0, 0x01, 0 };

	append_doc(buf, &len, "one");

	memcpy(buf + len, "\x03\x00\x00\x00", 4);
	snprintf(want, sizeof(want), "document index 1 at byte offset %zu: length prefix 3 is out of range", len);
	expect_bad(buf, len + 4, want,
	    "a length prefix below 5 names the document index and byte offset");
	memcpy(buf + len, "\xff\xff\xff\x7f", 4);
	expect_bad(buf, len + 4, "out of range", "a length prefix over 16 MiB is refused");
	expect_bad(buf, len - 3, "document index 0 at byte offset 0: truncated document",
	    "a document cut short is reported as truncated");
	memcpy(buf + len, "ga", 2);
	expect_bad(buf, len + 2, "truncated length prefix: 2 trailing byte(s)",
	    "trailing garbage shorter than a length prefix is reported");
	memcpy(buf + len, "garbage!", 8);
	expect_bad(buf, len + 8, "document index 1", "trailing garbage after good documents is reported");
	expect_bad(bad_utf8_key, sizeof(bad_utf8_key), "invalid document",
	    "a key that is not UTF-8 is refused");
	expect_bad(bad_utf8_value, sizeof(bad_utf8_value), "invalid UTF-8 in key or string \"k\"",
	    "a string whose lead byte is followed by a non-continuation byte is refused");
	expect_bad(overlong_value, sizeof(overlong_value), "k\"",
	    "an overlong encoding in a string is refused");
	expect_bad(surrogate_in_nested, sizeof(surrogate_in_nested), "invalid UTF-8 in key or string \"s\"",
	    "a UTF-16 surrogate in a nested document's string is refused");
	expect_bad(no_terminator, sizeof(no_terminator), "invalid document",
	    "a document without its closing NUL is refused");
	expect_bad(bad_nested, sizeof(bad_nested), "invalid document",
	    "a nested document with a bad length is refused");
	expect_bad(nested_no_terminator, sizeof(nested_no_terminator),
	    "invalid document: embedded document or array without its closing NUL \"d\"",
	    "a nested document whose last byte is not NUL is refused (libbson asserts on it later)");
	expect_bad(array_no_terminator, sizeof(array_no_terminator),
	    "invalid document: embedded document or array without its closing NUL \"a\"",
	    "so is an array whose last byte is not NUL");
}

static void
test_large_document(void)
{
	size_t size = 15 * 1024 * 1024;
	char *big = malloc(size + 1);
	bson_t *doc = bson_new();
	struct tv_bson_reader *r;
	bson_t got;

	memset(big, 'x', size);
	big[size] = '\0';
	bson_append_utf8(doc, "big", -1, big, (int)size);
	r = reader_on(bson_get_data(doc), doc->len);
	ok(tv_bson_reader_next(r, &got) == 1 && got.len == doc->len, "a 15 MiB document is read whole");
	ok(tv_bson_reader_next(r, &got) == 0, "and the stream then ends cleanly");
	tv_bson_reader_close(r);
	bson_destroy(doc);
	free(big);
}

/* A writer that trickles the stream a few bytes at a time exercises short reads. */
static void
test_short_reads(void)
{
	uint8_t buf[4096];
	size_t len = 0;
	int fds[2];
	pid_t pid;
	struct tv_bson_reader *r;

	for (int i = 0; i < 50; i++)
		append_doc(buf, &len, "a value that spans several trickled writes");
	if (pipe(fds) == -1)
		abort();
	if ((pid = fork()) == 0) {
		close(fds[0]);
		for (size_t off = 0; off < len; off += 7) {
			tv_write_all(fds[1], buf + off, len - off < 7 ? len - off : 7);
			usleep(100);
		}
		_exit(0);
	}
	close(fds[1]);
	r = tv_bson_reader_open(fds[0], "pipe");
	ok(drain(r) == 0 && tv_bson_reader_count(r) == 50, "documents trickled through a pipe are all read");
	tv_bson_reader_close(r);
	close(fds[0]);
	waitpid(pid, NULL, 0);
}

int
main(void)
{
	test_empty_stream();
	test_good_stream();
	test_nul_in_string();
	test_bad_streams();
	test_large_document();
	test_short_reads();
	return tap_done();
}
