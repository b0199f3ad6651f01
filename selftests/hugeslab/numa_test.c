// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA balancing leaves pools alone: a thread on the other node writing
 * into every slab takes no fault, and the kernel neither makes hinting
 * faults on pool pages nor tries to migrate them, whether the pool is
 * unbound or bound to a node.  Without that, the scanner unmaps each 2 MiB
 * PMD of the pool in every process that maps it, and the next access
 * faults and tries to migrate a pinned page.
 *
 * Needs two NUMA nodes (scripts/vm/run.sh --numa).  The scanner is sped up
 * through debugfs, and a control run over ordinary anonymous memory shows
 * it does take hinting faults in the same time, so that a quiet pool run
 * means the pool was skipped, not that the scanner was idle.
 */
#define _GNU_SOURCE
#include <linux/mempolicy.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(32 * SZ_2M)
#define STACK_SIZE	(256UL << 10)
#define NB_SYSCTL	"/proc/sys/kernel/numa_balancing"
#define NB_DEBUGFS	"/sys/kernel/debug/sched/numa_balancing/"
#define CONTROL_SECS	4
#define POOL_SECS	8

/* Scanner settings for a short test; the originals are put back. */
static const char *const knobs[] = {
	NB_SYSCTL,
	NB_DEBUGFS "scan_delay_ms",
	NB_DEBUGFS "scan_period_min_ms",
	NB_DEBUGFS "scan_period_max_ms",
	NB_DEBUGFS "scan_size_mb",
};

static const long fast[] = { 1, 10, 50, 100, 1024 };

#define NR_KNOBS	ARRAY_SIZE(knobs)

/* /proc/vmstat counters that show hinting faults and migration attempts. */
static const char *const counters[] = {
	"numa_pte_updates",
	"numa_huge_pte_updates",
	"numa_hint_faults",
	"numa_pages_migrated",
	"pgmigrate_fail",
};

#define NR_COUNTERS	ARRAY_SIZE(counters)

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%ld\n", v) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

static void read_vmstat(long *vals)
{
	char name[64];
	long v;
	size_t i;
	FILE *f;

	for (i = 0; i < NR_COUNTERS; i++)
		vals[i] = -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %ld", name, &v) == 2) {
		for (i = 0; i < NR_COUNTERS; i++)
			if (!strcmp(name, counters[i]))
				vals[i] = v;
	}
	fclose(f);
}

/* First CPU of @node, or -1. */
static int node_cpu(int node)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	return (int)read_long(path);
}

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* A policy without MPOL_F_MOF on [addr, addr + len): the scanner skips it. */
static int local_policy(void *addr, size_t len)
{
	return syscall(SYS_mbind, addr, len, MPOL_PREFERRED, NULL, 0UL, 0U) ?
		-errno : 0;
}

/*
 * Give every writable VMA of this process (heap, stack, data, the harness'
 * shared results page) the local policy, so that hinting faults counted in
 * /proc/vmstat can only come from the buffer under test.  Errors are
 * ignored: VMAs such as [vvar] are not scanned in the first place.
 */
static void quiesce_other_vmas(void)
{
	unsigned long start, end;
	char line[512], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		if (perms[1] == 'w')
			local_policy((void *)start, end - start);
	}
	fclose(f);
}

struct writer {
	char *buf;
	size_t len;
	size_t stride;
	int secs;
	int cpu;
	long minflt;
	int err;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes a byte every @stride bytes of @buf for @secs seconds on @cpu. */
static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	struct rusage before, after;
	double end;
	size_t off;

	w->err = pin_self(w->cpu);
	if (w->err)
		return NULL;
	getrusage(RUSAGE_THREAD, &before);
	end = now_s() + w->secs;
	while (now_s() < end) {
		for (off = 0; off < w->len; off += w->stride)
			w->buf[off]++;
		/* Every round stores to every slab. */
		asm volatile("" ::: "memory");
	}
	getrusage(RUSAGE_THREAD, &after);
	w->minflt = after.ru_minflt - before.ru_minflt;
	return NULL;
}

/*
 * Run the writer on its own stack with the local policy, so that its minor
 * faults are those of @buf alone; @delta gets the /proc/vmstat changes.
 */
static int run_writer(struct writer *w, long *delta)
{
	long before[NR_COUNTERS], after[NR_COUNTERS];
	pthread_attr_t attr;
	pthread_t thread;
	void *stack;
	size_t i;
	int ret;

	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	ret = local_policy(stack, STACK_SIZE);
	if (!ret)
		ret = -pthread_attr_init(&attr);
	if (!ret) {
		ret = -pthread_attr_setstack(&attr, stack, STACK_SIZE);
		read_vmstat(before);
		if (!ret)
			ret = -pthread_create(&thread, &attr, writer_fn, w);
		if (!ret)
			ret = -pthread_join(thread, NULL);
		read_vmstat(after);
		pthread_attr_destroy(&attr);
	}
	munmap(stack, STACK_SIZE);
	for (i = 0; i < NR_COUNTERS; i++)
		delta[i] = after[i] - before[i];
	return ret ? ret : w->err;
}

/* shmem PMDs show as ShmemPmdMapped, or FilePmdMapped on some kernels. */
static long pmd_mapped_kb(const void *map)
{
	return smaps_kb(map, "ShmemPmdMapped") + smaps_kb(map, "FilePmdMapped");
}

static void log_run(struct __test_metadata *_metadata, const char *what,
		    const struct writer *w, const long *delta)
{
	size_t i;

	TH_LOG("%s: %d s on cpu %d: %ld minor faults", what, w->secs, w->cpu,
	       w->minflt);
	for (i = 0; i < NR_COUNTERS; i++)
		TH_LOG("%s:   %s +%ld", what, counters[i], delta[i]);
}

FIXTURE(numa) {
	long saved[NR_KNOBS];
	int cpu0, cpu1;
};

FIXTURE_VARIANT(numa) {
	int numa_node;
};

FIXTURE_VARIANT_ADD(numa, unbound) {
	.numa_node = -1,
};

FIXTURE_VARIANT_ADD(numa, bound) {
	.numa_node = 0,
};

FIXTURE_SETUP(numa)
{
	size_t i;

	for (i = 0; i < NR_KNOBS; i++)
		self->saved[i] = -1;
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	self->cpu0 = node_cpu(0);
	self->cpu1 = node_cpu(1);
	if (self->cpu0 < 0 || self->cpu1 < 0 || self->cpu0 == self->cpu1)
		SKIP(return, "needs two NUMA nodes with a CPU each");
	for (i = 0; i < NR_KNOBS; i++) {
		self->saved[i] = read_long(knobs[i]);
		if (self->saved[i] < 0)
			SKIP(return, "no %s", knobs[i]);
	}
	for (i = 0; i < NR_KNOBS; i++)
		ASSERT_EQ(0, write_long(knobs[i], fast[i]));
	quiesce_other_vmas();
}

FIXTURE_TEARDOWN(numa)
{
	size_t i;

	for (i = 0; i < NR_KNOBS; i++)
		if (self->saved[i] >= 0)
			EXPECT_EQ(0, write_long(knobs[i], self->saved[i]));
}

/* 12 s of writing plus setup; the harness' default 30 s is tight on a busy TCG host. */
TEST_F_TIMEOUT(numa, pool_untouched_by_balancing, 120)
{
	struct hugeslab_create args = {
		.size = POOL_SIZE, .numa_node = variant->numa_node,
	};
	struct writer w = { .cpu = self->cpu1 };
	long delta[NR_COUNTERS];
	char *anon, *pool;
	size_t i;
	int fd;

	/* Everything is allocated on node 0, and written from node 1. */
	ASSERT_EQ(0, pin_self(self->cpu0));

	/* Control: the scanner is active and faults anonymous memory. */
	anon = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, anon);
	w.buf = anon;
	w.len = POOL_SIZE;
	w.stride = SZ_4K;
	w.secs = CONTROL_SECS;
	ASSERT_EQ(0, run_writer(&w, delta));
	log_run(_metadata, "anon control", &w, delta);
	ASSERT_LT(0, delta[2]) {
		TH_LOG("no hinting fault on anonymous memory: scanner idle?");
	}
	ASSERT_EQ(0, munmap(anon, POOL_SIZE));

	fd = hs_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_create_args(fd, &args));
	pool = hs_map(fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, pool);
	for (i = 0; i < POOL_SIZE; i += SZ_2M)
		pool[i] = 1;
	ASSERT_EQ((long)(POOL_SIZE >> 10), pmd_mapped_kb(pool));

	w.buf = pool;
	w.stride = SZ_2M;
	w.secs = POOL_SECS;
	ASSERT_EQ(0, run_writer(&w, delta));
	log_run(_metadata, "pool", &w, delta);
	EXPECT_EQ(0, w.minflt);
	/* log_run() above names each counter. */
	for (i = 0; i < NR_COUNTERS; i++)
		EXPECT_EQ(0, delta[i]);
	/* Still mapped with PMDs: nothing split or unmapped them. */
	EXPECT_EQ((long)(POOL_SIZE >> 10), pmd_mapped_kb(pool));
	ASSERT_EQ(0, munmap(pool, POOL_SIZE));
	close(fd);
}

TEST_HARNESS_MAIN
