// SPDX-License-Identifier: MIT
/*
 * fuzz_verify.c: libFuzzer harness for hugeslab-sink --verify
 * (sink_verify() of ../sink/verify.c, #included with its output sent to
 * /dev/null), the reader of the on-disk index and data files: a crashed or
 * corrupted disk must give the right verdict (exit status), never an
 * out-of-bounds access or a runaway allocation.
 *
 * Input: byte 0 = mode. Raw mode (bit 0 clear): the rest is split at byte 1
 * (x 16) into the index file and the data file; only "no crash" and a
 * verdict of 0 or -1 are checked. Built mode: from 8-byte descriptors
 * (ctl, len16, fill, defect, arg24) the harness writes a version 2 index
 * (header block, sealed 4 KiB blocks grouped into commits: ctl bit 2 starts
 * a new commit, bit 3 a new block; bits 0-1 pick one of 4 streams) and the
 * data file (sealed records at 4 KiB-aligned chunks), applies each
 * descriptor's record defect (entry fields changed and resealed: length,
 * offset, seq; a data byte flipped; a bad entry CRC; the header's
 * max_record changed) and, from the 2 bytes after the last descriptor, one
 * index defect (a byte flipped in the last block or in any block, the last
 * block cut off, two blocks swapped).
 *
 * The oracle knows what it damaged. The verdict must be failure exactly
 * when: the header is unusable; or a kept record is bad (an entry that no
 * longer describes its record, a flipped data byte, a length above
 * max_record, a bad entry CRC), where kept means in a block before the
 * first damaged one; or a whole block of a later commit than the first
 * damaged block's follows it (committed data lost: corruption). Damage
 * confined to the final commit's blocks is a torn tail: not a failure.
 * Both files live in /dev/shm (tmpfs: O_DIRECT is refused there and verify
 * falls back to buffered reads).
 *
 * FUZZ_VERIFY_FDS=1 also checks that sink_verify() closes what it opens.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *fuzz_out;

/* Descriptors verify.c opened and has not closed. */
static int vfds[16], nvfds;

static int fuzz_open(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd >= 0 && nvfds < 16)
		vfds[nvfds++] = fd;
	return fd;
}

static int fuzz_close(int fd)
{
	for (int i = 0; i < nvfds; i++)
		if (vfds[i] == fd)
			vfds[i] = vfds[--nvfds];
	return close(fd);
}

#undef stderr
#define stderr fuzz_out
#define printf(...) fprintf(fuzz_out, __VA_ARGS__)
#define open fuzz_open
#define close fuzz_close
#include "../sink/verify.c"
#undef open
#undef close
#undef printf
#undef stderr
#define stderr stderr

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static char idx_path[64], data_path[64];
static int check_fds;

static void cleanup(void)
{
	unlink(idx_path);
	unlink(data_path);
}

/* Files left by harness processes that crashed (no atexit). */
static void remove_stale(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300];
		int pid;

		if (sscanf(e->d_name, "hs-fuzz-verify.%d.", &pid) != 1 || pid <= 0 ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		unlink(path);
	}
	closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	remove_stale();
	fuzz_out = fopen("/dev/null", "w");
	CHECK(fuzz_out);
	snprintf(idx_path, sizeof(idx_path), "/dev/shm/hs-fuzz-verify.%d.idx", getpid());
	snprintf(data_path, sizeof(data_path), "/dev/shm/hs-fuzz-verify.%d.data", getpid());
	check_fds = getenv("FUZZ_VERIFY_FDS") != NULL;
	atexit(cleanup);
	return 0;
}

static void put_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	CHECK(write(fd, p, n) == (ssize_t)n);
	close(fd);
}

#define MAX_BLKS	15
#define MAX_RECS	256

static uint8_t data[1 << 16];
static uint8_t idx[(MAX_BLKS + 1) * HS_IDX_BLK];

struct brec {
	uint32_t blk;		/* 0-based block it is in */
	uint32_t len;		/* as built */
	bool bad;		/* what the oracle knows it did to it */
};

struct bblk {
	uint64_t commit;
	uint32_t nents;
	bool damaged;
};

static struct brec recs[MAX_RECS];
static struct bblk blks[MAX_BLKS];

static void flip_byte(uint8_t *p)
{
	*p ^= 0xff;
}

/*
 * Build index + data from descriptors; returns the verdict the oracle
 * expects (0 or -1).
 */
static int build(const uint8_t *d, size_t n, size_t *ilen, size_t *dlen)
{
	struct hs_idx_hdr ih;
	uint64_t seq[4] = { 0 }, commit = 1;
	uint32_t nrec = 0, nblk = 0, max_record = 8192;
	size_t dof = 0;
	bool hdr_bad = false;
	int expect = 0;

	memset(idx, 0, sizeof(idx));
	hs_idx_hdr_init(&ih, max_record);
	while (n >= 8 && nrec < MAX_RECS) {
		uint8_t ctl = d[0], fill = d[3], defect = d[4];
		uint32_t len = (uint32_t)(d[1] | d[2] << 8) % 8193;
		uint32_t arg = (uint32_t)(d[5] | d[6] << 8) | (uint32_t)d[7] << 16;
		struct hs_idx_blk *b;
		struct hs_rec_hdr h;
		struct hs_idx_ent e, o;
		uint32_t st = ctl & 3;

		if (dof + HS_REC_HDR + len > sizeof(data))
			break;
		if (!nblk || (ctl & 4) || (ctl & 8) ||
		    blks[nblk - 1].nents == HS_IDX_BLK_ENTS) {
			if (nblk == MAX_BLKS)
				break;
			if (nblk && (ctl & 4))
				commit++;
			blks[nblk] = (struct bblk){ .commit = commit };
			nblk++;
		}
		d += 8;
		n -= 8;
		memset(&h, 0, sizeof(h));
		h.len = len;
		h.stream = 1 + st;
		h.seq = ++seq[st];
		memset(data + dof + HS_REC_HDR, fill, len);
		h.crc = hs_crc32c(0, data + dof + HS_REC_HDR, len);
		hs_rec_hdr_seal(&h);
		memcpy(data + dof, &h, sizeof(h));
		memset(&e, 0, sizeof(e));
		e.stream = h.stream;
		e.off = dof;
		e.seq = h.seq;
		e.len = h.len;
		e.crc = h.crc;
		o = e;
		recs[nrec] = (struct brec){ .blk = nblk - 1, .len = len };
		switch (defect & 7) {
		case 1: e.len = arg | (uint32_t)fill << 24; break;	/* any length */
		case 2: e.len = 0xffffffffU - (arg & 63); break;	/* wraps + 32 */
		case 3: e.off = (uint64_t)arg << (fill & 31); break;
		case 4: e.off = UINT64_MAX - (arg & 0xffff); break;
		case 5:
			flip_byte(data + dof + arg % (HS_REC_HDR + len));
			recs[nrec].bad = true;
			break;
		case 6: e.seq += arg & 3; break;
		case 7: max_record = arg | (uint32_t)fill << 24; break;
		default: break;
		}
		if (e.len != o.len || e.off != o.off || e.seq != o.seq)
			recs[nrec].bad = true;
		if ((defect & 8) && e.len != o.len) {
			/* the record's own header agrees; its CRC cannot */
			h.len = e.len;
			hs_rec_hdr_seal(&h);
			memcpy(data + dof, &h, sizeof(h));
		}
		hs_idx_ent_seal(&e);
		if (defect & 0x10) {
			e.ecrc ^= 1;
			recs[nrec].bad = true;
		}
		b = (void *)(idx + (size_t)nblk * HS_IDX_BLK);
		memcpy((uint8_t *)(b + 1) + b->nents * sizeof(e), &e, sizeof(e));
		b->nents++;
		blks[nblk - 1].nents++;
		nrec++;
		dof = hs_round_up(dof + HS_REC_HDR + len, HS_DIO_ALIGN);
	}
	/* seal: block numbers from 1, blocks of the same commit to come */
	for (uint32_t i = 0; i < nblk; i++) {
		struct hs_idx_blk *b = (void *)(idx + (size_t)(i + 1) * HS_IDX_BLK);
		uint32_t rest = 0;

		while (i + 1 + rest < nblk && blks[i + 1 + rest].commit == blks[i].commit)
			rest++;
		b->blkno = i + 1;
		b->commit = blks[i].commit;
		b->rest = (uint16_t)rest;
		b->id = ih.id;
		hs_idx_blk_seal(b);
	}
	*ilen = (size_t)(nblk + 1) * HS_IDX_BLK;
	/* one index defect from the bytes after the descriptors */
	if (n >= 2 && nblk) {
		uint8_t kind = d[0], sel = d[1];
		uint32_t x = sel % nblk, y = (uint32_t)(sel >> 4) % nblk;

		switch (kind & 3) {
		case 1:	/* a byte of the last block */
			flip_byte(idx + (size_t)nblk * HS_IDX_BLK + (sel * 17U) % HS_IDX_BLK);
			blks[nblk - 1].damaged = true;
			break;
		case 2:	/* a byte of any block */
			flip_byte(idx + (size_t)(x + 1) * HS_IDX_BLK + (sel * 17U) % HS_IDX_BLK);
			blks[x].damaged = true;
			break;
		case 3:	/* the last block never written */
			*ilen -= HS_IDX_BLK;
			blks[nblk - 1].damaged = true;
			break;
		default:
			break;
		}
		if ((kind & 4) && x != y) {	/* two blocks swapped */
			uint8_t tmp[HS_IDX_BLK];

			memcpy(tmp, idx + (size_t)(x + 1) * HS_IDX_BLK, HS_IDX_BLK);
			memcpy(idx + (size_t)(x + 1) * HS_IDX_BLK,
			       idx + (size_t)(y + 1) * HS_IDX_BLK, HS_IDX_BLK);
			memcpy(idx + (size_t)(y + 1) * HS_IDX_BLK, tmp, HS_IDX_BLK);
			blks[x].damaged = blks[y].damaged = true;
		}
	}
	/* max_record last: a descriptor may have changed it */
	ih.max_record = max_record;
	ih.hcrc = hs_crc32c(0, &ih, offsetof(struct hs_idx_hdr, hcrc));
	memcpy(idx, &ih, sizeof(ih));
	*dlen = dof;
	if (max_record > (1U << 30))
		hdr_bad = true;

	/* the oracle */
	uint32_t cut = nblk;

	for (uint32_t i = 0; i < nblk; i++) {
		if (blks[i].damaged) {
			cut = i;
			break;
		}
	}
	for (uint32_t i = cut + 1; i < nblk; i++)
		if (!blks[i].damaged && blks[i].commit > blks[cut].commit)
			expect = -1;	/* committed blocks past a hole */
	for (uint32_t i = 0; i < nrec; i++) {
		if (recs[i].blk >= cut)
			continue;
		if (recs[i].bad)
			expect = -1;
	}
	/* a kept record longer than the header's max_record */
	for (uint32_t i = 0; i < nrec; i++)
		if (recs[i].blk < cut && recs[i].len > max_record)
			expect = -1;
	return hdr_bad ? -1 : expect;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sink_opts o;
	size_t ilen, dlen;
	int r, expect = 0;
	bool built = false;

	if (n < 2)
		return 0;
	if (d[0] & 1) {
		expect = build(d + 2, n - 2, &ilen, &dlen);
		built = true;
	} else {
		ilen = (size_t)d[1] * 16;
		if (ilen > n - 2)
			ilen = n - 2;
		if (ilen > sizeof(idx))
			ilen = sizeof(idx);
		memcpy(idx, d + 2, ilen);
		dlen = n - 2 - ilen;
		if (dlen > sizeof(data))
			dlen = sizeof(data);
		memcpy(data, d + 2 + ilen, dlen);
	}
	put_file(idx_path, idx, ilen);
	put_file(data_path, data, dlen);
	memset(&o, 0, sizeof(o));
	o.data_path = data_path;
	o.index_path = idx_path;
	nvfds = 0;
	r = sink_verify(&o);
	CHECK(r == 0 || r == -1);
	if (built && r != expect) {
		fprintf(stderr, "verdict %d, the oracle expects %d\n", r, expect);
		abort();
	}
	if (check_fds)
		CHECK(nvfds == 0);
	while (nvfds)
		close(vfds[--nvfds]);
	return 0;
}
