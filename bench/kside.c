// SPDX-License-Identifier: MIT
/*
 * kside: the kernel side of hugeslab, run inside the test VM where the
 * module is loaded (bench/vm/run-guest.sh). Statically linked.
 *
 *  1. /dev/hugeslab directly: time to CREATE a 1 GiB pool, mmap it, touch
 *     every slab (minflt: one per 2 MiB slab), then random writes over the
 *     whole pool (minflt: target 0).
 *  2. The same 1 GiB as anonymous memory, touched page by page (the time
 *     and faults a heap pays to get that memory).
 *  3. libhugeslab on the module: hs_pool_create() of 1 GiB (CREATE + mmap
 *     with MAP_POPULATE), then a data phase of get, fill 64 KiB, put:
 *     minflt during the data phase (target 0).
 *  4. The same data phase with glibc malloc/free of the same size: the
 *     heap's faults (arena trimming and re-growth, mmap threshold).
 *
 * Prints "kside NAME VALUE UNIT" lines and TAP for the VM runner.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/hugeslab.h>

#include "common.h"
#include "hugeslab.h"

#define GIB		(1UL << 30)
#define BUF		(64U << 10)
#define DATA_OPS	10000UL

static int tap_n;
static int tap_fail;

static void tap(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++tap_n, what);
	if (!ok)
		tap_fail++;
}

static void kv(const char *name, double v, const char *unit)
{
	printf("kside\t%s\t%.6g\t%s\n", name, v, unit);
	fflush(stdout);
}

static int raw_module(void)
{
	struct hugeslab_create c = { .size = GIB, .numa_node = -1 };
	unsigned long f0, f1, i;
	double t0, t1, t2, t3;
	uint64_t seed = 42;
	char *m;
	int fd;

	fd = open("/dev/hugeslab", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("open /dev/hugeslab");
		return -1;
	}
	t0 = mono_s();
	if (ioctl(fd, HUGESLAB_IOC_CREATE, &c)) {
		perror("HUGESLAB_IOC_CREATE");
		close(fd);
		return -1;
	}
	t1 = mono_s();
	m = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		close(fd);
		return -1;
	}
	t2 = mono_s();
	f0 = minflt_self();
	for (i = 0; i < GIB; i += HS_SLAB_SIZE)
		m[i] = 1;
	f1 = minflt_self();
	t3 = mono_s();
	kv("module_create_1g", t1 - t0, "s");
	kv("module_mmap_1g", t2 - t1, "s");
	kv("module_first_touch_1g", t3 - t2, "s");
	kv("module_create_map_touch_1g", t3 - t0, "s");
	kv("module_first_touch_minflt", (double)(f1 - f0), "faults");
	f0 = minflt_self();
	t0 = mono_s();
	for (i = 0; i < 4000000; i++)
		m[rnd_next(&seed) & (GIB - 1)] ^= 1;
	t1 = mono_s();
	f1 = minflt_self();
	kv("module_random_write_minflt", (double)(f1 - f0), "faults");
	kv("module_random_write_ns", (t1 - t0) * 1e9 / 4000000, "ns/write");
	tap(f1 == f0, "module mapping: 0 minor faults in 4M random writes after setup");
	munmap(m, GIB);
	close(fd);
	return 0;
}

static void anon_baseline(void)
{
	unsigned long f0, f1, i;
	uint64_t seed = 42;
	double t0, t1;
	char *m;

	t0 = mono_s();
	m = mmap(NULL, GIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (m == MAP_FAILED)
		return;
	f0 = minflt_self();
	for (i = 0; i < GIB; i += 4096)
		m[i] = 1;
	f1 = minflt_self();
	t1 = mono_s();
	kv("anon_map_touch_1g", t1 - t0, "s");
	kv("anon_first_touch_minflt", (double)(f1 - f0), "faults");
	t0 = mono_s();
	for (i = 0; i < 4000000; i++)
		m[rnd_next(&seed) & (GIB - 1)] ^= 1;
	t1 = mono_s();
	kv("anon_random_write_ns", (t1 - t0) * 1e9 / 4000000, "ns/write");
	munmap(m, GIB);
}

/* get, fill, put; @pool NULL: malloc/free of random sizes up to 2 x BUF */
static unsigned long data_phase(struct hs_pool *pool, double *secs)
{
	unsigned long f0, f1, i;
	uint64_t seed = 7;
	void *held[64] = { 0 };
	double t0;

	/* setup of the thread: its cache, the first buffers */
	for (i = 0; i < 64; i++) {
		void *b = pool ? hs_get(pool) : malloc(BUF);

		if (pool)
			hs_put(pool, b);
		else
			free(b);
	}
	f0 = minflt_self();
	t0 = mono_s();
	for (i = 0; i < DATA_OPS; i++) {
		unsigned int slot = rnd_next(&seed) & 63;
		size_t len = pool ? BUF : 4096 + rnd_next(&seed) % (2 * BUF);
		void *b = pool ? hs_get(pool) : malloc(len);

		if (!b)
			break;
		memset(b, (int)i, len);
		if (held[slot]) {
			if (pool)
				hs_put(pool, held[slot]);
			else
				free(held[slot]);
		}
		held[slot] = b;
	}
	*secs = mono_s() - t0;
	f1 = minflt_self();
	for (i = 0; i < 64; i++)
		if (held[i]) {
			if (pool)
				hs_put(pool, held[i]);
			else
				free(held[i]);
		}
	return f1 - f0;
}

int main(void)
{
	struct hs_pool_config cfg;
	struct hs_pool *pool;
	unsigned long f0, f1, faults;
	double t0, t1, secs;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..4\n");
	tap(raw_module() == 0, "raw /dev/hugeslab create + map 1 GiB");
	anon_baseline();

	hs_pool_config_init(&cfg);
	cfg.total_bytes = GIB;
	cfg.buf_size = BUF;
	cfg.name = "kside";
	f0 = minflt_self();
	t0 = mono_s();
	pool = hs_pool_create(&cfg);
	t1 = mono_s();
	f1 = minflt_self();
	if (!pool) {
		printf("# hs_pool_create: %s\n", strerror(errno));
		tap(0, "libhugeslab pool on the module");
		tap(0, "libhugeslab data phase: 0 minor faults");
	} else {
		kv("lib_pool_create_1g", t1 - t0, "s");
		kv("lib_pool_create_minflt", (double)(f1 - f0), "faults");
		printf("# backend %s\n", hs_backend_name(hs_pool_backend(pool)));
		tap(hs_pool_backend(pool) == HS_BACKEND_MODULE,
		    "libhugeslab pool on the module");
		faults = data_phase(pool, &secs);
		kv("lib_data_phase_minflt", (double)faults, "faults");
		kv("lib_data_phase_ns", secs * 1e9 / DATA_OPS, "ns/op");
		tap(faults == 0, "libhugeslab data phase: 0 minor faults");
		hs_pool_destroy(pool, HS_DESTROY_FORCE);
	}
	faults = data_phase(NULL, &secs);
	kv("malloc_data_phase_minflt", (double)faults, "faults");
	kv("malloc_data_phase_ns", secs * 1e9 / DATA_OPS, "ns/op");
	return tap_fail ? 1 : 0;
}
