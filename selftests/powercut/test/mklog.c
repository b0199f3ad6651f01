// SPDX-License-Identifier: GPL-2.0
/*
 * mklog: write a small dm-log-writes log and a matching ack log whose
 * right verdicts are known, for t-replay.sh.
 *
 *   mklog SCENARIO LOG ACKLOG
 *
 * Records of stream 1 are 4 KiB blocks at sector 8 * seq. Scenarios (W =
 * write, F = FLUSH, U = FUA write, M = mark with its ack line):
 *   good      W1 W2 W3 F M(3) W4 W5 F M(5)                  nothing lost
 *   late      W1 W2 W3 F M(3) W4 W5 M(5) F                  4, 5 lost at
 *             the first cut (the power may go before the second FLUSH)
 *   fua       W1 F M(1) U2 M(2) W3 M(3) F                    3 lost once
 *   torn      W1 F W2' M(2) F  (W2' = record 2 with one byte flipped)
 *             2 lost at both cuts
 *   overwrite W1 W2 F M(2) W2z F  (W2z = zeroes over record 2)  2 lost once
 *   discard   W1 W2 F M(2) D2 F   (D2 = discard of record 2)    2 lost once
 * Extent scenarios (pc-replay -e; X = a 4 KiB extent at sector 8, Xn its
 * version n, Y one at sector 16, M(..) an "ext" ack):
 *   ext-late  X1 M(X1) F                              X1 lost at the empty disk
 *   ext-newer X1 F M(X1) X2 F UY M(Y) M(X2)           nothing lost: at the
 *             cut after the second F, X2 (acked later) stands for X1
 *   ext-older X1 F M(X1) UX2 M(X2) X1 F               X1 over X2: lost at the
 *             last cut (only a version acked *later* stands for the newest)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwlog.h"
#include "records.h"

#define SS	512U
#define BLK	4096U

struct lw_disk_entry {
	uint64_t sector, nr_sectors, flags, data_len;
};

static FILE *logf, *ackf;
static uint64_t nr_entries, nmarks;

static void put_entry(uint64_t sector, uint64_t nr, uint32_t flags,
		      const char *mark, const void *data)
{
	unsigned char blk[SS] = { 0 };
	struct lw_disk_entry e = { sector, nr, flags, mark ? strlen(mark) : 0 };

	memcpy(blk, &e, sizeof(e));
	if (mark)
		memcpy(blk + sizeof(e), mark, strlen(mark));
	fwrite(blk, 1, SS, logf);
	if (data && !(flags & LW_DISCARD))
		fwrite(data, 1, nr * SS, logf);
	nr_entries++;
}

static void record(unsigned char *b, uint64_t seq)
{
	uint32_t len = BLK - 32, v[8] = { 0x31525348U, len, 1, 0, 0, 0, 0, 0 };
	size_t i;

	memset(b, 0, BLK);
	for (i = 32; i < BLK; i++)
		b[i] = (unsigned char)(seq * 31 + i);
	memcpy(&v[4], &seq, sizeof(seq));
	v[6] = pc_crc32c(0, b + 32, len);
	memcpy(b, v, 28);
	v[7] = pc_crc32c(0, b, 28);
	memcpy(b + 28, &v[7], 4);
}

static void w(uint64_t seq, uint32_t flags)
{
	unsigned char b[BLK];

	record(b, seq);
	put_entry(seq * 8, BLK / SS, flags, NULL, b);
}

static void flush(void)
{
	put_entry(0, 0, LW_FLUSH, NULL, NULL);
}

static void mark(uint64_t acked)
{
	char name[16];

	nmarks++;
	snprintf(name, sizeof(name), "a%llu", (unsigned long long)nmarks);
	put_entry(0, 0, LW_MARK, name, NULL);
	fprintf(ackf, "%s rec 1 %llu\n", name, (unsigned long long)acked);
}

static void ext_data(unsigned char *b, unsigned int version)
{
	size_t i;

	for (i = 0; i < BLK; i++)
		b[i] = (unsigned char)(version * 77 + i * 13 + (i >> 8));
}

static void ext_w(uint64_t sector, unsigned int version, uint32_t flags)
{
	unsigned char b[BLK];

	ext_data(b, version);
	put_entry(sector, BLK / SS, flags, NULL, b);
}

static void mark_ext(uint64_t sector, unsigned int version)
{
	unsigned char b[BLK];
	char name[16];

	ext_data(b, version);
	nmarks++;
	snprintf(name, sizeof(name), "a%llu", (unsigned long long)nmarks);
	put_entry(0, 0, LW_MARK, name, NULL);
	fprintf(ackf, "%s ext %llu %u %08x\n", name, (unsigned long long)sector * SS, BLK,
		pc_crc32c(0, b, BLK));
}

int main(int argc, char **argv)
{
	unsigned char b[BLK];
	const char *s;
	struct {
		uint64_t magic, version, nr;
		uint32_t ss;
	} __attribute__((packed)) super = { LW_MAGIC, LW_VERSION, 0, SS };
	unsigned char zero[SS] = { 0 };

	if (argc != 4) {
		fprintf(stderr, "usage: mklog SCENARIO LOG ACKLOG\n");
		return 2;
	}
	s = argv[1];
	logf = fopen(argv[2], "w");
	ackf = fopen(argv[3], "w");
	if (!logf || !ackf) {
		perror("mklog");
		return 2;
	}
	fwrite(zero, 1, SS, logf);	/* the super, rewritten at the end */
	if (!strcmp(s, "good") || !strcmp(s, "late")) {
		w(1, 0);
		w(2, 0);
		w(3, 0);
		flush();
		mark(3);
		w(4, 0);
		w(5, 0);
		if (!strcmp(s, "good")) {
			flush();
			mark(5);
		} else {
			mark(5);
			flush();
		}
	} else if (!strcmp(s, "fua")) {
		w(1, 0);
		flush();
		mark(1);
		w(2, LW_FUA);
		mark(2);
		w(3, 0);
		mark(3);
		flush();
	} else if (!strcmp(s, "torn")) {
		w(1, 0);
		flush();
		record(b, 2);
		b[100] ^= 1;
		put_entry(16, BLK / SS, 0, NULL, b);
		mark(2);
		flush();
	} else if (!strcmp(s, "overwrite") || !strcmp(s, "discard")) {
		w(1, 0);
		w(2, 0);
		flush();
		mark(2);
		memset(b, 0, sizeof(b));
		put_entry(16, BLK / SS, strcmp(s, "discard") ? 0 : LW_DISCARD,
			  NULL, b);
		flush();
	} else if (!strcmp(s, "ext-late")) {
		ext_w(8, 1, 0);
		mark_ext(8, 1);
		flush();
	} else if (!strcmp(s, "ext-newer")) {
		ext_w(8, 1, 0);
		flush();
		mark_ext(8, 1);
		ext_w(8, 2, 0);
		flush();
		ext_w(16, 3, LW_FUA);
		mark_ext(16, 3);
		mark_ext(8, 2);
	} else if (!strcmp(s, "ext-older")) {
		ext_w(8, 1, 0);
		flush();
		mark_ext(8, 1);
		ext_w(8, 2, LW_FUA);
		mark_ext(8, 2);
		ext_w(8, 1, 0);
		flush();
	} else {
		fprintf(stderr, "mklog: unknown scenario %s\n", s);
		return 2;
	}
	super.nr = nr_entries;
	if (fseek(logf, 0, SEEK_SET) || fwrite(&super, sizeof(super), 1, logf) != 1 ||
	    fclose(logf) || fclose(ackf)) {
		perror("mklog");
		return 2;
	}
	return 0;
}
