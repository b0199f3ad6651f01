// SPDX-License-Identifier: GPL-2.0
/*
 * warmd: a storage daemon's warm restart in miniature, for the pools lane.
 *
 *   warmd run NODE REPORT [--seed S] [--delay-us U]
 *	Attaches the persistent pool behind NODE (HUGESLAB_POOL_DIR/NAME,
 *	opened and handed to hs_pool_attach()) and reads REPORT, the list of
 *	records a previous run completed.  Each one is verified (header,
 *	sequence, seed, CRC32C of the payload); one bad record ends the run
 *	with exit 1 and nothing written.  Then it prints "warm N" (N records
 *	found intact) and goes on writing record k into buffer k, one
 *	numbered, checksummed 4 KiB record every U us, appending "rec k" to
 *	REPORT once record k is complete.  With every buffer written it waits.
 *	SIGTERM: verify every record written so far, print "final N intact",
 *	exit 0 (1 on a bad record).
 *   warmd create NAME SIZE REPORT [--seed S] [--delay-us U]
 *	The same writer on a pool it creates itself (HS_POOL_NAMED, not
 *	persistent): the negative control, whose pool dies with the process.
 *
 * Exit: 0 ok, 1 a record is corrupt, 2 no pool to attach or bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hugeslab.h"

#define REC_MAGIC	0x57524d44U	/* "WRMD" */
#define REC_SIZE	4096U

struct rec_hdr {
	uint32_t magic;
	uint32_t seq;
	uint32_t seed;
	uint32_t crc;		/* CRC32C of seq, seed and the payload */
};

#define PAYLOAD		(REC_SIZE - sizeof(struct rec_hdr))

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

/* Bitwise CRC32C (Castagnoli, reflected): slow, but needs no table. */
static uint32_t crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78U & -(crc & 1));
	}
	return ~crc;
}

/* The payload of record @seq: xorshift64 seeded from @seed and @seq. */
static void fill_payload(uint8_t *p, uint32_t seq, uint32_t seed)
{
	uint64_t x = ((uint64_t)seed << 32 | seq) * 0x9e3779b97f4a7c15ULL + 1;
	size_t i;

	for (i = 0; i < PAYLOAD; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
}

static uint32_t rec_crc(uint32_t seq, uint32_t seed, const uint8_t *payload)
{
	uint32_t crc = crc32c(0, &seq, sizeof(seq));

	crc = crc32c(crc, &seed, sizeof(seed));
	return crc32c(crc, payload, PAYLOAD);
}

/* Record @seq into @buf: the payload first, the header last. */
static void rec_write(uint8_t *buf, uint32_t seq, uint32_t seed)
{
	struct rec_hdr h = { .magic = REC_MAGIC, .seq = seq, .seed = seed };
	uint8_t *payload = buf + sizeof(h);

	fill_payload(payload, seq, seed);
	h.crc = rec_crc(seq, seed, payload);
	/* A kill between the two leaves an unreported, headerless record. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(buf, &h, sizeof(h));
}

/* 0 when @buf holds record @seq of @seed, else -1 with the reason. */
static int rec_check(const uint8_t *buf, uint32_t seq, uint32_t seed)
{
	static uint8_t want[PAYLOAD];
	struct rec_hdr h;

	memcpy(&h, buf, sizeof(h));
	if (h.magic != REC_MAGIC || h.seq != seq || h.seed != seed) {
		printf("# record %u: header magic %#x seq %u seed %u, expected seq %u seed %u\n",
		       seq, h.magic, h.seq, h.seed, seq, seed);
		return -1;
	}
	fill_payload(want, seq, seed);
	if (memcmp(want, buf + sizeof(h), PAYLOAD) ||
	    h.crc != rec_crc(seq, seed, buf + sizeof(h))) {
		printf("# record %u: payload or CRC32C differs\n", seq);
		return -1;
	}
	return 0;
}

/* Records 0..@n-1 intact?  Returns 0 or -1. */
static int verify(struct hs_pool *pool, uint32_t n, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (rec_check(hs_buf_at(pool, i), i, seed))
			return -1;
	return 0;
}

/* Records a previous run completed: one more than the last "rec k". */
static int read_report(const char *path, uint32_t *done)
{
	char line[64];
	unsigned int k;
	FILE *f = fopen(path, "re");

	*done = 0;
	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "rec %u", &k) == 1 && strchr(line, '\n'))
			*done = k + 1;
	fclose(f);
	return 0;
}

static struct hs_pool *attach_node(const char *node)
{
	struct hs_attach_config cfg;
	struct hs_pool *pool;
	int fd = open(node, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "warmd: %s: %s: no pool to restart from\n", node,
			strerror(errno));
		return NULL;
	}
	hs_attach_config_init(&cfg);
	cfg.fd = fd;
	cfg.buf_size = REC_SIZE;
	pool = hs_pool_attach(&cfg);
	if (!pool)
		fprintf(stderr, "warmd: hs_pool_attach(%s): %s\n", node, strerror(errno));
	close(fd);	/* the peer holds its own duplicate */
	return pool;
}

static struct hs_pool *create_pool(const char *name, const char *size)
{
	struct hs_pool_config cfg;
	struct hs_pool *pool;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = strtoull(size, NULL, 0) << 20;
	cfg.buf_size = REC_SIZE;
	cfg.name = name;
	cfg.flags = HS_POOL_NAMED;
	pool = hs_pool_create(&cfg);
	if (!pool)
		fprintf(stderr, "warmd: hs_pool_create(%s): %s\n", name, strerror(errno));
	return pool;
}

static int usage(void)
{
	fprintf(stderr, "usage: warmd run NODE REPORT [--seed S] [--delay-us U]\n"
		"       warmd create NAME SIZE_MB REPORT [--seed S] [--delay-us U]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_term };
	uint32_t seed = 1, done, seq;
	unsigned long delay_us = 1000;
	struct hs_pool *pool;
	const char *report;
	int i, nargs, rfd;
	size_t nr;

	if (argc < 2)
		return usage();
	nargs = !strcmp(argv[1], "run") ? 4 : !strcmp(argv[1], "create") ? 5 : 0;
	if (!nargs || argc < nargs)
		return usage();
	for (i = nargs; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--seed"))
			seed = strtoul(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--delay-us"))
			delay_us = strtoul(argv[i + 1], NULL, 0);
		else
			return usage();
	}
	if (i != argc)
		return usage();
	report = argv[nargs - 1];
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	pool = nargs == 4 ? attach_node(argv[2]) : create_pool(argv[2], argv[3]);
	if (!pool)
		return 2;
	nr = hs_pool_nr_bufs(pool);
	if (read_report(report, &done) || done > nr) {
		fprintf(stderr, "warmd: %s: unreadable, or more records than buffers\n",
			report);
		return 2;
	}
	if (verify(pool, done, seed)) {
		printf("warm restart: a record reported before the restart is corrupt\n");
		return 1;
	}
	printf("warm %u\n", done);
	rfd = open(report, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (rfd < 0) {
		fprintf(stderr, "warmd: %s: %s\n", report, strerror(errno));
		return 2;
	}
	/* Write on; report a record only once it is complete in the pool. */
	for (seq = done; seq < nr && !got_term; seq++) {
		char line[32];
		int len;

		rec_write(hs_buf_at(pool, seq), seq, seed);
		len = snprintf(line, sizeof(line), "rec %u\n", seq);
		if (write(rfd, line, len) != len) {
			fprintf(stderr, "warmd: %s: %s\n", report, strerror(errno));
			return 2;
		}
		if (delay_us)
			usleep(delay_us);
	}
	while (!got_term)
		pause();
	if (verify(pool, seq, seed)) {
		printf("final: corrupt\n");
		return 1;
	}
	printf("final %u intact\n", seq);
	close(rfd);
	hs_pool_destroy(pool, 0);
	return 0;
}
