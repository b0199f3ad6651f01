// SPDX-License-Identifier: MIT
/*
 * fuzz_verify.c: libFuzzer harness for hugeslab-sink --verify
 * (sink_verify() of ../sink/verify.c, #included with its output sent to
 * /dev/null), the parser of the on-disk index and data files: a crashed or
 * corrupted disk must give "bad record" or "not an index file", never an
 * out-of-bounds access or a runaway allocation.
 *
 * Input: byte 0 = mode. Raw mode (bit 0 clear): the rest is split at byte 1
 * (x 16) into the index file and the data file. Built mode: from 8-byte
 * descriptors the harness writes a valid index (header, sealed entries) and
 * data file (sealed records at 4 KiB-aligned chunks), then applies the
 * descriptor's defects: entry fields changed and resealed (length, offset,
 * seq, stream), data bytes flipped, index header max_record changed.
 * Both files live in /dev/shm (tmpfs: O_DIRECT is refused there and verify
 * falls back to buffered reads).
 *
 * FUZZ_VERIFY_FDS=1 also checks that sink_verify() closes what it opens
 * (it does not on its early error returns: known, not fatal by default).
 * FUZZ_VERIFY_KNOWN_BUGS=1 stops skipping inputs that hit the known bugs.
 */
#include <dirent.h>
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
static int check_fds, known_bugs;

/*
 * Known bugs in verify.c (reproducers in crashes/verify-*, see README.md):
 * an index entry with a valid CRC is read before its length is checked
 * against the index header's max_record, itself unchecked, and
 * HS_REC_HDR + len and off + len can wrap. Unless FUZZ_VERIFY_KNOWN_BUGS=1,
 * inputs that would hit them are skipped so the fuzzer keeps looking for
 * others. Returns 1 for such an index.
 */
static int hits_known_bug(const uint8_t *idx, size_t n)
{
	struct hs_idx_hdr ih;
	struct hs_idx_ent e;

	if (n < sizeof(ih))
		return 0;
	memcpy(&ih, idx, sizeof(ih));
	for (size_t o = sizeof(ih); o + sizeof(e) <= n; o += sizeof(e)) {
		memcpy(&e, idx + o, sizeof(e));
		if (!hs_idx_ent_ok(&e))
			break;
		if (e.len > ih.max_record || e.len > (1U << 30) ||
		    e.off > UINT64_MAX - HS_REC_HDR - (uint64_t)e.len)
			return 1;
	}
	return 0;
}

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
	/* The verify.c bugs are fixed (d9d4182): no input is skipped now. */
	known_bugs = 1;
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

static uint8_t data[1 << 16];
static uint8_t idx[1 << 14];

/* Build index + data from descriptors: ctl, len16, fill, defect, arg16, x. */
static void build(const uint8_t *d, size_t n, size_t *ilen, size_t *dlen)
{
	struct hs_idx_hdr ih;
	size_t io = sizeof(ih), dof = 0;
	uint64_t seq = 1;

	memset(&ih, 0, sizeof(ih));
	ih.magic = HS_IDX_MAGIC;
	ih.version = 1;
	ih.ent_size = sizeof(struct hs_idx_ent);
	ih.max_record = 8192;
	while (n >= 8 && io + sizeof(struct hs_idx_ent) <= sizeof(idx)) {
		uint32_t len = (uint32_t)(d[1] | d[2] << 8) % 8193;
		uint8_t fill = d[3], defect = d[4];
		uint32_t arg = (uint32_t)(d[5] | d[6] << 8) | (uint32_t)d[7] << 16;
		struct hs_rec_hdr h;
		struct hs_idx_ent e;

		d += 8;
		n -= 8;
		if (dof + HS_REC_HDR + len > sizeof(data))
			break;
		memset(&h, 0, sizeof(h));
		h.len = len;
		h.stream = 1 + (d[-8] & 3);
		h.seq = seq++;
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
		switch (defect & 7) {
		case 1: e.len = arg | (uint32_t)fill << 24; break;	/* any length */
		case 2: e.len = 0xffffffffU - (arg & 63); break;	/* wraps + 32 */
		case 3: e.off = (uint64_t)arg << (fill & 31); break;
		case 4: e.off = UINT64_MAX - (arg & 0xffff); break;
		case 5: data[dof + arg % (HS_REC_HDR + len)] ^= 1; break;
		case 6: e.seq += arg & 3; break;
		case 7: ih.max_record = arg | (uint32_t)fill << 24; break;
		default: break;
		}
		if (defect & 8) {	/* the record's own header agrees */
			h.len = e.len;
			hs_rec_hdr_seal(&h);
			memcpy(data + dof, &h, sizeof(h));
		}
		hs_idx_ent_seal(&e);
		if (defect & 0x10)
			e.ecrc ^= 1;
		memcpy(idx + io, &e, sizeof(e));
		io += sizeof(e);
		dof = hs_round_up(dof + HS_REC_HDR + len, HS_DIO_ALIGN);
	}
	if (n && (d[0] & 1))	/* a torn tail */
		io -= d[0] % sizeof(struct hs_idx_ent);
	memcpy(idx, &ih, sizeof(ih));
	*ilen = io;
	*dlen = dof;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct sink_opts o;
	size_t ilen, dlen;
	int r;

	if (n < 2)
		return 0;
	if (d[0] & 1) {
		build(d + 2, n - 2, &ilen, &dlen);
	} else {
		ilen = (size_t)d[1] * 16;
		if (ilen > n - 2)
			ilen = n - 2;
		memcpy(idx, d + 2, ilen);
		dlen = n - 2 - ilen;
		memcpy(data, d + 2 + ilen, dlen);
	}
	if (!known_bugs && hits_known_bug(idx, ilen))
		return 0;
	put_file(idx_path, idx, ilen);
	put_file(data_path, data, dlen);
	memset(&o, 0, sizeof(o));
	o.data_path = data_path;
	o.index_path = idx_path;
	nvfds = 0;
	r = sink_verify(&o);
	CHECK(r == 0 || r == -1);
	if (check_fds)
		CHECK(nvfds == 0);
	/* keep going past the known descriptor leak on error returns */
	while (nvfds)
		close(vfds[--nvfds]);
	/* sink_verify() frees streams and win at its end but leaves the
	 * pointers (and nstreams, win_len) set: a second call would use them
	 * after free. Its early returns here allocate nothing. Reset. */
	streams = NULL;
	nstreams = 0;
	win = NULL;
	win_len = 0;
	win_off = 0;
	return 0;
}
