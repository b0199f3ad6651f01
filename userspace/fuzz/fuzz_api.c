// SPDX-License-Identifier: MIT
/*
 * fuzz_api.c: libFuzzer harness for the public API of libhugeslab.
 *
 * The input is a program of API calls, one opcode byte followed by its
 * operands, run against two long-lived pools (created once: pool creation
 * mmaps, mlocks and creates a statistics file) and, for the create opcode,
 * short-lived pools with a fuzzed configuration. A model of every reference
 * the program holds predicts each call's result and errno; any disagreement
 * aborts. At the end of each input every reference is dropped and
 * hs_pool_check() must find both pools whole with nothing outstanding.
 *
 * No /dev/hugeslab here: HS_POOL_ALLOW_FALLBACK picks a fallback backend.
 * total_bytes of fuzzed configurations is kept to <= 8 MiB or above
 * HUGESLAB_MAX_POOL_SIZE (rejected before any mapping): the harness may run
 * as root, where mlock() ignores RLIMIT_MEMLOCK and a 1 TiB pool would fault
 * in for real.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hugeslab.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s (errno %d)\n", \
	__FILE__, __LINE__, #c, errno); abort(); } } while (0)

#define NPOOLS	2
#define NSLOTS	96
#define NSTALE	32

struct slot { void *buf; unsigned int pool; unsigned int refs; };

static struct hs_pool *pools[NPOOLS];
static size_t nbufs[NPOOLS], bsize[NPOOLS], hroom[NPOOLS];
static struct slot slots[NSLOTS];
static void *stale[NSTALE];
static unsigned int stale_pool[NSTALE];
static FILE *devnull;

static const uint8_t *in;
static size_t in_len;

static uint8_t u8(void) { if (!in_len) return 0; in_len--; return *in++; }
static uint16_t u16(void) { return (uint16_t)(u8() | u8() << 8); }
static uint32_t u32(void) { return (uint32_t)u16() | (uint32_t)u16() << 16; }
static uint64_t u64(void) { return (uint64_t)u32() | (uint64_t)u32() << 32; }

static struct hs_pool *mkpool(uint64_t total, uint32_t bs, uint32_t hr,
			      uint32_t flags, const char *name)
{
	struct hs_pool_config cfg;
	struct hs_pool *p;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = total;
	cfg.buf_size = bs;
	cfg.headroom = hr;
	cfg.flags = HS_POOL_ALLOW_FALLBACK | flags;
	cfg.name = name;
	p = hs_pool_create(&cfg);
	if (!p) {
		fprintf(stderr, "fuzz_api: hs_pool_create(%s): %s\n", name,
			strerror(errno));
		exit(1);
	}
	return p;
}

/* Statistics files of the long-lived pools left by harness processes that
 * died (a crash, a timeout): /dev/shm/hugeslab.<pid>.fuzz-[ab]. */
static void remove_stale_stats(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300];
		int pid, n = 0;

		if (sscanf(e->d_name, "hugeslab.%d.fuzz-%*[ab]%n", &pid, &n) != 1 ||
		    !n || e->d_name[n] || pid <= 0 || pid == getpid() ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "/dev/shm/%s", e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void destroy_pools(void)
{
	for (int i = 0; i < NPOOLS; i++)
		if (pools[i])
			hs_pool_destroy(pools[i], HS_DESTROY_FORCE);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	remove_stale_stats();
	/* 64 buffers of 30000 bytes (stride 32 KiB), with a cache. */
	pools[0] = mkpool(HS_SLAB_SIZE, 30000, 2000, 0, "fuzz-a");
	/* A debug pool: poisoned free buffers, no cache; 128 buffers. */
	pools[1] = mkpool(HS_SLAB_SIZE, 8192, 4096, HS_POOL_DEBUG, "fuzz-b");
	for (int i = 0; i < NPOOLS; i++) {
		nbufs[i] = hs_pool_nr_bufs(pools[i]);
		bsize[i] = hs_pool_buf_size(pools[i]);
		hroom[i] = hs_pool_headroom(pools[i]);
	}
	devnull = fopen("/dev/null", "w");
	atexit(destroy_pools);
	return 0;
}

static uintptr_t pool_base(unsigned int pi)
{
	struct hs_region r;

	CHECK(hs_pool_regions(pools[pi], &r, 1) == 1);
	return (uintptr_t)r.base;
}

static int in_any_pool(const void *p)
{
	for (unsigned int q = 0; q < NPOOLS; q++)
		if ((uintptr_t)p - pool_base(q) < HS_SLAB_SIZE)
			return 1;
	return 0;
}

/* Model: references held on @buf, 0 if none. */
static unsigned int held(const void *buf)
{
	unsigned int r = 0;

	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].buf == buf)
			r += slots[i].refs;
	return r;
}

static long outstanding(unsigned int pi)
{
	long n = 0;

	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].buf && slots[i].pool == pi) {
			int first = 1;

			for (int j = 0; j < i; j++)
				if (slots[j].buf == slots[i].buf)
					first = 0;
			n += first;
		}
	return n;
}

static int free_slot(void)
{
	for (int i = 0; i < NSLOTS; i++)
		if (!slots[i].buf)
			return i;
	return -1;
}

static void forget(void *buf, unsigned int pi)
{
	memmove(stale + 1, stale, sizeof(stale) - sizeof(stale[0]));
	memmove(stale_pool + 1, stale_pool, sizeof(stale_pool) - sizeof(stale_pool[0]));
	stale[0] = buf;
	stale_pool[0] = pi;
}

/* Drop one reference held in slot @s through the API. */
static void put_slot(int s)
{
	struct slot *sl = &slots[s];

	CHECK(hs_put(pools[sl->pool], sl->buf) == 0);
	if (--sl->refs == 0) {
		if (!held(sl->buf))
			forget(sl->buf, sl->pool);
		sl->buf = NULL;
	}
}

static int pick_slot(void)
{
	int start = u8() % NSLOTS;

	for (int i = 0; i < NSLOTS; i++) {
		int s = (start + i) % NSLOTS;

		if (slots[s].buf)
			return s;
	}
	return -1;
}

static void take(unsigned int pi, void *buf)
{
	int s = free_slot();

	CHECK(buf != NULL);
	CHECK(hs_buf_index(pools[pi], buf) >= 0);
	CHECK(hs_buf_at(pools[pi], (size_t)hs_buf_index(pools[pi], buf)) == buf);
	CHECK(held(buf) == 0);	/* never handed out twice */
	/* the whole buffer and its headroom are ours: touch both ends */
	memset((char *)buf - hroom[pi], 0xa5, hroom[pi] + bsize[pi]);
	if (s < 0) {	/* no room in the model: give it back at once */
		CHECK(hs_put(pools[pi], buf) == 0);
		return;
	}
	slots[s].buf = buf;
	slots[s].pool = pi;
	slots[s].refs = 1;
}

static void op_get(void)
{
	unsigned int pi = u8() % NPOOLS;
	void *b;

	errno = 0;
	b = (u8() & 1) ? hs_get_wait(pools[pi], 1000) : hs_get(pools[pi]);
	if (!b) {
		/* only when everything is out (another pool's buffers in
		 * this thread's cache do not count) */
		CHECK(errno == ENOBUFS || errno == ETIMEDOUT);
		CHECK((size_t)outstanding(pi) == nbufs[pi]);
		return;
	}
	take(pi, b);
}

static void op_get_bulk(void)
{
	unsigned int pi = u8() % NPOOLS, n = u8() % 80;
	void *bufs[80];

	if (free_slot() < 0)
		return;
	errno = 0;
	if (hs_get_bulk(pools[pi], bufs, n)) {
		CHECK(errno == ENOBUFS);
		CHECK((size_t)outstanding(pi) + n > nbufs[pi]);
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		take(pi, bufs[i]);
}

static void op_put(void)
{
	int s = pick_slot();

	if (s >= 0)
		put_slot(s);
}

static void op_ref(void)
{
	int s = pick_slot();

	if (s < 0 || slots[s].refs > 1000)
		return;
	CHECK(hs_ref(pools[slots[s].pool], slots[s].buf) == 0);
	slots[s].refs++;
}

/* A pointer that is not a held buffer, and the errno a put of it gives. */
static void *bad_ptr(unsigned int pi, int *err)
{
	static char heap_dummy[64];
	uintptr_t base;
	void *p;

	switch (u8() % 6) {
	case 0:	/* a buffer put before (double put) */
		for (int i = 0; i < NSTALE; i++) {
			p = stale[(i + u8()) % NSTALE];
			if (p && !held(p))
				break;
			p = NULL;
		}
		if (!p)
			break;
		if (hs_buf_index(pools[pi], p) >= 0) {
			*err = EALREADY;
			return p;
		}
		*err = EXDEV;
		return p;
	case 1:	/* inside the pool, not a buffer start */
		base = pool_base(pi);
		p = (void *)(base + (u32() % HS_SLAB_SIZE));
		if (hs_buf_index(pools[pi], p) >= 0)
			break;
		*err = EINVAL;
		return p;
	case 2: /* a free buffer start */
		p = hs_buf_at(pools[pi], u16() % nbufs[pi]);
		if (held(p))
			break;
		*err = EALREADY;
		return p;
	case 3:
		*err = EINVAL;
		return NULL;
	case 4:
		*err = EINVAL;
		return heap_dummy + (u8() & 63);
	case 5:
		*err = EINVAL;
		return (void *)(uintptr_t)u64();
	}
	return NULL;
}

static void op_bad_put(void)
{
	unsigned int pi = u8() % NPOOLS;
	int err = 0;
	void *p = bad_ptr(pi, &err);
	int ref = u8() & 1;

	if (!err)
		return;
	/* wild pointers may land in the other pool */
	if (err == EINVAL && p && in_any_pool(p) &&
	    (uintptr_t)p - pool_base(pi) >= HS_SLAB_SIZE)
		return;
	errno = 0;
	CHECK((ref ? hs_ref(pools[pi], p) : hs_put(pools[pi], p)) == -1);
	CHECK(errno == err);
}

static void op_wrong_pool(void)
{
	int s = pick_slot();

	if (s < 0)
		return;
	errno = 0;
	CHECK(hs_put(pools[!slots[s].pool], slots[s].buf) == -1);
	CHECK(errno == EXDEV);
	CHECK(held(slots[s].buf) > 0);
}

static void op_put_bulk(void)
{
	void *bufs[16];
	int idx[16], err = 0, first_err = 0;
	unsigned int pi = u8() % NPOOLS, n = u8() % 16, i, k = 0;

	for (i = 0; i < n; i++) {
		int s = pick_slot(), e = 0;

		idx[k] = -1;
		if (s >= 0 && slots[s].pool == pi && !(u8() & 3)) {
			/* each slot at most once per call, to keep the model simple */
			int dup = 0;

			for (unsigned int j = 0; j < k; j++)
				dup |= idx[j] == s;
			if (dup)
				continue;
			idx[k] = s;
			bufs[k++] = slots[s].buf;
		} else {
			void *p = bad_ptr(pi, &e);

			/* only pointers refused without touching the pool: a
			 * double put's target may be taken by the same call */
			if (e != EINVAL && e != EXDEV)
				continue;
			if (e == EINVAL && p && in_any_pool(p) &&
			    (uintptr_t)p - pool_base(pi) >= HS_SLAB_SIZE)
				continue;
			idx[k] = -1;
			if (!first_err)
				first_err = e;
			bufs[k++] = p;
		}
	}
	errno = 0;
	err = hs_put_bulk(pools[pi], bufs, k);
	if (first_err) {
		CHECK(err == -1);
		CHECK(errno == first_err);
	} else {
		CHECK(err == 0);
	}
	for (i = 0; i < k; i++) {
		if (idx[i] < 0)
			continue;
		struct slot *sl = &slots[idx[i]];

		if (--sl->refs == 0) {
			if (!held(sl->buf))
				forget(sl->buf, sl->pool);
			sl->buf = NULL;
		}
	}
}

static void op_view(void)
{
	int s = pick_slot();
	struct hs_view v, w;
	int32_t off = (int32_t)u32() % 70000;
	uint32_t len = u32() % 70000, n;
	unsigned int pi;
	int ok, r;

	if (s < 0)
		return;
	pi = slots[s].pool;
	if (u8() & 1)
		off = -off;
	ok = off >= -(int64_t)hroom[pi] && (int64_t)off + len <= (int64_t)bsize[pi];
	errno = 0;
	r = hs_view_init(pools[pi], &v, slots[s].buf, off, len);
	CHECK(ok ? r == 0 : (r == -1 && errno == EINVAL));
	if (r)
		return;
	/* the view is inside buffer + headroom */
	CHECK((char *)hs_view_data(&v) >= (char *)slots[s].buf - hroom[pi]);
	CHECK((char *)hs_view_data(&v) + hs_view_len(&v) <= (char *)slots[s].buf + bsize[pi]);
	memset(hs_view_data(&v), 0x5a, hs_view_len(&v));
	n = u32() % 70000;
	r = hs_view_adj(&v, n);
	CHECK(n <= len ? r == 0 : r == -1);
	n = u32() % 70000;
	if (hs_view_prepend(pools[pi], &v, n)) {
		CHECK((char *)hs_view_data(&v) >= (char *)slots[s].buf - hroom[pi]);
		CHECK((char *)hs_view_data(&v) + hs_view_len(&v) <= (char *)slots[s].buf + bsize[pi]);
		memset(hs_view_data(&v), 0x3c, hs_view_len(&v));
	} else {
		CHECK(errno == EINVAL);
	}
	/* a clone takes a reference of its own, kept in a new slot */
	{
		uint32_t co = u32() % 70000, cl = u32() % 70000;
		int t = free_slot();

		if (t < 0)
			return;
		r = hs_view_clone(pools[pi], &w, &v, co, cl);
		if (co <= hs_view_len(&v) && cl <= hs_view_len(&v) - co) {
			CHECK(r == 0);
			CHECK(hs_view_data(&w) == (char *)hs_view_data(&v) + co);
			memset(hs_view_data(&w), 0x11, hs_view_len(&w));
			slots[t].buf = slots[s].buf;
			slots[t].pool = pi;
			slots[t].refs = 1;
			if (u8() & 1) {	/* release through the view */
				slots[t].refs = 0;
				slots[t].buf = NULL;
				CHECK(hs_view_release(pools[pi], &w) == 0);
				CHECK(w.buf == NULL);
			}
		} else {
			CHECK(r == -1 && errno == EINVAL);
		}
	}
}

static int leak_cb(const struct hs_leak *l, void *arg)
{
	CHECK(held(l->buf) > 0);
	CHECK(l->refs == held(l->buf));
	CHECK(l->tag < HS_MAX_TAGS);
	CHECK(l->tag_name != NULL);
	(*(int *)arg)++;
	return 0;
}

static void op_tag(void)
{
	unsigned int tag = u8();
	char name[48];
	size_t n = u8() % sizeof(name);

	for (size_t i = 0; i < n; i++)
		name[i] = (char)u8();
	name[n] = 0;
	if (tag & 0x80)
		tag = u32();
	errno = 0;
	if (hs_thread_set_tag(tag) == 0)
		CHECK(tag < HS_MAX_TAGS);
	else
		CHECK(tag >= HS_MAX_TAGS && errno == EINVAL);
	if (hs_tag_name(pools[u8() % NPOOLS], tag, name) == 0)
		CHECK(tag < HS_MAX_TAGS);
	else
		CHECK(tag >= HS_MAX_TAGS && errno == EINVAL);
}

static void op_stats(void)
{
	unsigned int pi = u8() % NPOOLS;
	struct hs_pool_stats st;
	struct hs_region regs[4];
	int cnt = 0;
	uint64_t sum = 0;
	size_t idx = u16();
	void *b;

	CHECK(hs_pool_stats(pools[pi], &st) == 0);
	CHECK(st.nr_bufs == nbufs[pi]);
	CHECK(st.outstanding == (uint64_t)outstanding(pi));
	for (int t = 0; t < HS_MAX_TAGS; t++)
		sum += st.tag_outstanding[t];
	CHECK(sum == st.outstanding);
	CHECK(hs_pool_leaks(pools[pi], 0, leak_cb, &cnt) == outstanding(pi));
	CHECK(cnt == outstanding(pi));
	CHECK(hs_pool_leaks(pools[pi], UINT64_MAX, NULL, NULL) == 0);
	CHECK(hs_pool_check(pools[pi]) == outstanding(pi));
	CHECK(hs_pool_regions(pools[pi], regs, 4) >= 1);
	b = hs_buf_at(pools[pi], idx);
	if (idx < nbufs[pi])
		CHECK(b && hs_buf_index(pools[pi], b) == (long)idx);
	else
		CHECK(b == NULL);
	if (u8() & 1)
		CHECK(hs_pool_dump(pools[pi], devnull) == 0);
	CHECK(hs_pool_stats(NULL, &st) == -1 && errno == EINVAL);
	CHECK(hs_pool_stats(pools[pi], NULL) == -1 && errno == EINVAL);
	CHECK(hs_pool_leaks(NULL, 0, NULL, NULL) == -1 && errno == EINVAL);
}

static void op_flush(void)
{
	CHECK(hs_thread_flush(pools[u8() % NPOOLS]) == 0);
	CHECK(hs_thread_flush(NULL) == -1 && errno == EINVAL);
}

/* A short-lived pool with a fuzzed configuration: an error, never a crash. */
static void op_create(void)
{
	static const uint64_t totals[] = {
		0, 1, 4095, HS_SLAB_SIZE - 1, HS_SLAB_SIZE, HS_SLAB_SIZE + 1,
		2 * HS_SLAB_SIZE, (1ULL << 40) + 1, UINT64_MAX,
	};
	struct hs_pool_config cfg;
	struct hs_pool *p;
	char name[80];
	uint8_t sel = u8();
	size_t n;
	void *held_bufs[4];
	int nh = 0, r;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = (sel & 0x80) ? u32() % (4 * HS_SLAB_SIZE + 1)
				       : totals[sel % (sizeof(totals) / sizeof(totals[0]))];
	cfg.buf_size = (u8() & 1) ? u32() : 512 + u32() % (HS_BUF_SIZE_MAX - 511);
	cfg.headroom = (u8() & 1) ? u32() : u32() % (HS_SLAB_SIZE + 1);
	cfg.numa_node = (int8_t)u8();
	cfg.cache_size = (u8() & 1) ? u32() : u16() % 600;
	cfg.flags = u8() & 1 ? u32() : (u8() & HS_POOL_FLAGS_MASK);
	cfg.flags |= HS_POOL_ALLOW_FALLBACK;
	cfg.stats_mode = u16() & 0x7ff;
	cfg.reserved[u8() % (sizeof(cfg.reserved) / sizeof(cfg.reserved[0]))] = u8() == 0x42;
	cfg.reserved32 = u8() == 0x42;
	cfg.quarantine = (u8() & 1) ? u32() : u8();
	n = u8() % sizeof(name);
	for (size_t i = 0; i < n; i++)
		name[i] = (char)u8();
	name[n] = 0;
	cfg.name = (sel & 0x40) ? NULL : name;
	errno = 0;
	p = hs_pool_create(&cfg);
	if (!p) {
		CHECK(errno != 0);
		CHECK(errno == EINVAL || errno == ENOMEM || errno == EPERM ||
		      errno == EAGAIN || errno == ENOSPC || errno == EEXIST);
		return;
	}
	/* accepted: then the configuration was valid */
	CHECK(cfg.total_bytes && cfg.total_bytes <= (1ULL << 40));
	CHECK(cfg.buf_size >= HS_BUF_SIZE_MIN && cfg.buf_size <= HS_BUF_SIZE_MAX);
	CHECK(!(cfg.flags & ~HS_POOL_FLAGS_MASK));
	for (size_t i = 0; i < sizeof(cfg.reserved) / sizeof(cfg.reserved[0]); i++)
		CHECK(!cfg.reserved[i]);
	CHECK(!cfg.reserved32);
	CHECK(!cfg.quarantine || (cfg.flags & HS_POOL_DEBUG));
	CHECK(hs_pool_buf_size(p) == cfg.buf_size);
	CHECK(hs_pool_headroom(p) == cfg.headroom);
	CHECK(hs_pool_nr_bufs(p) >= 1);
	CHECK(hs_pool_stats_path(p) != NULL);
	for (int i = 0, want = u8() % 5; i < 4 && i < want &&
	     (size_t)i < hs_pool_nr_bufs(p); i++) {
		void *b = hs_get(p);

		CHECK(b != NULL);
		memset((char *)b - cfg.headroom, 0, cfg.headroom + cfg.buf_size);
		held_bufs[nh++] = b;
		/* a buffer of the new pool is foreign to the long-lived ones */
		CHECK(hs_put(pools[0], b) == -1 && errno == EXDEV);
	}
	CHECK(hs_pool_check(p) == nh);
	if (nh) {
		CHECK(hs_pool_destroy(p, 0) == -1 && errno == EBUSY);
		if (u8() & 1) {
			CHECK(hs_pool_destroy(p, HS_DESTROY_FORCE) == nh);
			return;
		}
		CHECK(hs_put_bulk(p, held_bufs, nh) == 0);
	}
	if (u8() & 1) {
		r = hs_pool_destroy(p, 0x80);
		CHECK(r == -1 && errno == EINVAL);
	}
	CHECK(hs_pool_destroy(NULL, 0) == -1 && errno == EINVAL);
	CHECK(hs_pool_destroy(p, 0) == 0);
}

static void reset(void)
{
	for (int i = 0; i < NSLOTS; i++)
		while (slots[i].buf)
			put_slot(i);
	memset(stale, 0, sizeof(stale));
	CHECK(hs_thread_set_tag(0) == 0);
	for (int pi = 0; pi < NPOOLS; pi++) {
		errno = 0;
		CHECK(hs_pool_check(pools[pi]) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in = data;
	in_len = size;
	errno = 0;
	while (in_len) {
		switch (u8() % 13) {
		case 0: case 1: op_get(); break;
		case 2: op_get_bulk(); break;
		case 3: case 4: op_put(); break;
		case 5: op_ref(); break;
		case 6: op_bad_put(); break;
		case 7: op_wrong_pool(); break;
		case 8: op_put_bulk(); break;
		case 9: op_view(); break;
		case 10: op_tag(); break;
		case 11: op_stats(); op_flush(); break;
		case 12: op_create(); break;
		}
	}
	reset();
	return 0;
}
