/*
 * tv-crypt: encrypts standard input to standard output with AES-256-GCM in authenticated chunks, bound to
 * the blob name it is stored under; -d decrypts; --mac and --check-mac authenticate a manifest.
 */

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypt.h"
#include "help.h"
#include "log.h"
#include "stats.h"

static void
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: tv-crypt [-qv] [--bind name] [--stats file]\n"
	    "       tv-crypt -d [-qv] [--bind name [--format 1|2]] [--label name] [--stats file]\n"
	    "       tv-crypt --mac --bind name\n"
	    "       tv-crypt --check-mac file --bind name\n"
	    "keys: BACKUP_ENCRYPTION_KEY_FILE=current[:older...], files of exactly 32 random bytes\n");
	if (status == 0)
		tv_help_page("tv-crypt", 1);
	exit(status);
}

/* Writes what was moved, and under which key, to the --stats file. */
static int
write_stats(const char *path, const struct tv_crypt_key *k, const struct tv_crypt_counts *c)
{
	char id[2 * TV_CRYPT_KEY_ID_LEN + 1];
	bson_t doc = BSON_INITIALIZER;
	int status;

	tv_crypt_key_id_hex(k->id, id);
	BSON_APPEND_INT64(&doc, "bytesIn", (int64_t)c->bytes_in);
	BSON_APPEND_INT64(&doc, "bytesOut", (int64_t)c->bytes_out);
	BSON_APPEND_INT64(&doc, "chunks", (int64_t)c->chunks);
	BSON_APPEND_UTF8(&doc, "keyId", id);
	BSON_APPEND_INT32(&doc, "format", c->format);
	if (c->format == 2)
		BSON_APPEND_UTF8(&doc, "boundTo", c->bound);
	else
		BSON_APPEND_NULL(&doc, "boundTo");
	status = tv_stats_write(path, &doc);
	bson_destroy(&doc);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "bind",	required_argument,	NULL, 'B' },
		{ "check-mac",	required_argument,	NULL, 'C' },
		{ "decrypt",	no_argument,		NULL, 'd' },
		{ "format",	required_argument,	NULL, 'F' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "label",	required_argument,	NULL, 'L' },
		{ "mac",	no_argument,		NULL, 'M' },
		{ "quiet",	no_argument,		NULL, 'q' },
		{ "stats",	required_argument,	NULL, 'S' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ NULL,		0,			NULL, 0 }
	};
	struct tv_crypt_keys keys;
	struct tv_crypt_counts counts;
	struct tv_crypt_place place = { NULL, 0 };
	const char *label = NULL, *stats = NULL, *check_mac = NULL;
	size_t used = 0;
	int ch, decrypt = 0, mac = 0, status;

	tv_log_init(argv[0]);
	while ((ch = getopt_long(argc, argv, "dhqv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'B':
			place.bind = optarg;
			break;
		case 'C':
			check_mac = optarg;
			break;
		case 'd':
			decrypt = 1;
			break;
		case 'F':
			if (strcmp(optarg, "1") != 0 && strcmp(optarg, "2") != 0)
				usage(EX_USAGE);
			place.format = *optarg - '0';
			break;
		case 'h':
			usage(0);
			break;
		case 'L':
			label = optarg;
			break;
		case 'M':
			mac = 1;
			break;
		case 'q':
			tv_log_set_level(TV_LOG_QUIET);
			break;
		case 'S':
			stats = optarg;
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
	if (argc != 0 || decrypt + mac + (check_mac != NULL) > 1 || (place.format != 0 && !decrypt) ||
	    ((mac || check_mac != NULL) && (place.bind == NULL || stats != NULL)))
		usage(EX_USAGE);
	/* A bound file is named in messages by the name it is bound to. */
	if (label == NULL)
		label = place.bind != NULL ? place.bind : "stdin";

	if ((status = tv_crypt_keys_load(&keys)) != 0)
		return status;
	/* The first key file is the current key; older ones only decrypt and check. */
	if (mac)
		status = tv_crypt_mac_write(&keys.key[0], place.bind, STDIN_FILENO, STDOUT_FILENO);
	else if (check_mac != NULL)
		status = tv_crypt_mac_check(&keys, place.bind, STDIN_FILENO, check_mac);
	else if (decrypt)
		status = tv_crypt_decrypt(&keys, STDIN_FILENO, label, &place, STDOUT_FILENO, &counts, &used);
	else
		status = tv_crypt_encrypt(&keys.key[0], place.bind, STDIN_FILENO, STDOUT_FILENO, &counts);
	if (status == 0 && !mac && check_mac == NULL) {
		tv_debug("%s %s: %llu bytes in, %llu bytes out, %llu chunks", decrypt ? "decrypted" : "encrypted",
		    label, (unsigned long long)counts.bytes_in, (unsigned long long)counts.bytes_out,
		    (unsigned long long)counts.chunks);
		if (stats != NULL)
			status = write_stats(stats, &keys.key[used], &counts);
	}
	tv_crypt_keys_wipe(&keys);
	return status;
}
