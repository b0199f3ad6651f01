// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall fuzzer for /dev/hugeslab.
 *
 * Several threads run random sequences of open, CREATE with random and
 * boundary arguments, INFO/SLAB_ADDRS/STATS and unknown ioctls with good,
 * NULL, unmapped and read-only pointers, mmap/munmap/mremap/madvise/
 * mprotect with random ranges, touches of mapped memory, fork and close;
 * and, on four names, CREATE_NAMED with random PERSISTENT/OWNER/MODE,
 * opens of the pools' nodes and DESTROY with and without FORCE, so that
 * node opens race with DESTROY and with the pools' release.
 * Each thread's sequence derives from the printed seed, so a failure can be
 * replayed (interleavings across threads are not reproducible).
 *
 * Pass criteria: the fuzzer itself survives (faults from touching ranges a
 * racing thread unmapped are expected and caught), and when everything is
 * closed the module's counters are back to zero. The VM runner fails the run
 * if the kernel logs a BUG, WARNING, Oops or similar.
 *
 *   fuzz [--seed N] [--iterations N] [--threads N]
 *
 * Output is TAP.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/hugeslab.h>

#define SZ_2M		(2UL << 20)
#define SZ_4K		4096UL
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_FDS		8
#define NR_MAPS		16
#define MAX_THREADS	8

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* 6.1+, newer than this libc */
#endif

enum op {
	OP_OPEN, OP_CLOSE, OP_CREATE, OP_INFO, OP_ADDRS, OP_STATS, OP_IOCTL,
	OP_MMAP, OP_MUNMAP, OP_MREMAP, OP_MADVISE, OP_MPROTECT, OP_TOUCH,
	OP_FORK, OP_NAMED, OP_NODE_OPEN, OP_DESTROY, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"open", "close", "create", "info", "slab_addrs", "stats", "ioctl",
	"mmap", "munmap", "mremap", "madvise", "mprotect", "touch", "fork",
	"named", "node_open", "destroy",
};

/* The names the named ops use: few, so that they collide. */
static const char *const fuzz_names[] = { "fz0", "fz1", "fz2", "fz3" };

struct mapping {
	char *addr;
	size_t len;
};

/* Shared by all threads on purpose: they race on the same fds and maps. */
static int fds[NR_FDS] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static struct mapping maps[NR_MAPS];
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

static char *unmapped_page;	/* a hole: pointers into it must get EFAULT */
static char *readonly_page;	/* output pointers into it must get EFAULT */

static uint64_t op_count[NR_OPS];
static uint64_t op_ok[NR_OPS];
static uint64_t faults_caught;

static __thread sigjmp_buf touch_env;
static __thread int touching;
/* After fork() only one thread exists and maps_lock may be held forever. */
static __thread int in_child;

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: small, fast and good enough to pick arguments. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint64_t pick(uint64_t *s, const uint64_t *v, size_t n)
{
	return v[rnd(s) % n];
}

static void *bad_ptr(uint64_t *s, void *good)
{
	switch (rnd(s) % 6) {
	case 0: return NULL;
	case 1: return unmapped_page;
	case 2: return readonly_page;
	case 3: return (void *)(uintptr_t)rnd(s);
	case 4: return (void *)-1L;
	default: return good;
	}
}

static uint64_t fuzz_size(uint64_t *s)
{
	static const uint64_t sizes[] = {
		0, 1, SZ_4K, SZ_2M - 1, SZ_2M, SZ_2M + SZ_4K, 2 * SZ_2M,
		4 * SZ_2M, 8 * SZ_2M, 32 * SZ_2M, 1ULL << 30,
		HUGESLAB_MAX_POOL_SIZE, HUGESLAB_MAX_POOL_SIZE + SZ_2M,
		~0ULL, ~0ULL << 21, 1ULL << 63,
	};

	if (rnd(s) % 4 == 0)
		return (rnd(s) % 16) * SZ_2M;
	return pick(s, sizes, ARRAY_SIZE(sizes));
}

static int fd_pick(uint64_t *s)
{
	return __atomic_load_n(&fds[rnd(s) % NR_FDS], __ATOMIC_RELAXED);
}

static int do_create(uint64_t *s)
{
	static const uint64_t shifts[] = { 0, 0, 21, 21, 12, 20, 22, 30, 64, ~0U };
	static const uint64_t nodes[] = { -1, -1, 0, 1, -2, 4096, 0x7fffffff };
	struct hugeslab_create c = {
		.size = fuzz_size(s),
		.slab_shift = pick(s, shifts, 10),
		.numa_node = (int)pick(s, nodes, 7),
	};

	/* Half the calls are valid, so there are pools to map and race on. */
	if (rnd(s) % 2) {
		struct hugeslab_create ok = {
			.size = (rnd(s) % 8 + 1) * SZ_2M,
			.numa_node = rnd(s) % 2 ? -1 : 0,
		};

		return ioctl(fd_pick(s), HUGESLAB_IOC_CREATE, &ok);
	}
	if (rnd(s) % 8 == 0)
		c.flags = 1U << (rnd(s) % 32);
	if (rnd(s) % 8 == 0)
		c.pad = rnd(s);
	if (rnd(s) % 8 == 0)
		c.reserved[rnd(s) % ARRAY_SIZE(c.reserved)] = rnd(s) | 1;
	/* Keep real pools small enough that the fuzzer mostly has some. */
	if (c.size > 64 * SZ_2M && rnd(s) % 4)
		c.size = 2 * SZ_2M;
	return ioctl(fd_pick(s), HUGESLAB_IOC_CREATE,
		     rnd(s) % 10 ? (void *)&c : bad_ptr(s, &c));
}

/*
 * INFO writes min(nr_slab_nodes, slabs of the pool) entries, and a random
 * count is one of the cases: the array must hold the largest pool the VM
 * can give (16 GiB of slabs, over its memory), or the fuzzer smashes its
 * own stack (seen with a 1 GiB pool on the debug kernel). Threads share
 * it; what the kernel writes into it is never read.
 */
static __s32 info_nodes[8192];

static int do_info(uint64_t *s)
{
	struct hugeslab_info info = { 0 };
	__s32 *nodes = info_nodes;

	if (rnd(s) % 2) {
		info.slab_nodes = (uintptr_t)(rnd(s) % 3 ? (void *)nodes : bad_ptr(s, nodes));
		info.nr_slab_nodes = rnd(s) % 3 ? 64 : (uint32_t)rnd(s);
	}
	if (rnd(s) % 10 == 0)
		info.reserved[rnd(s) % 3] = 1;
	return ioctl(fd_pick(s), HUGESLAB_IOC_INFO,
		     rnd(s) % 8 ? (void *)&info : bad_ptr(s, &info));
}

static int do_addrs(uint64_t *s)
{
	struct hugeslab_slab_addrs req = { 0 };
	__u64 addrs[32];

	req.addrs = (uintptr_t)(rnd(s) % 3 ? (void *)addrs : bad_ptr(s, addrs));
	req.count = rnd(s) % 3 ? 32 : (uint32_t)rnd(s);
	req.first_slab = rnd(s) % 2 ? 0 : (uint32_t)rnd(s) % 64;
	return ioctl(fd_pick(s), HUGESLAB_IOC_SLAB_ADDRS,
		     rnd(s) % 8 ? (void *)&req : bad_ptr(s, &req));
}

static int do_ioctl(uint64_t *s)
{
	unsigned int dir = rnd(s) % 4, nr = rnd(s) % 16, size = rnd(s) % 256;
	char buf[256] = { 0 };

	return ioctl(fd_pick(s), _IOC(dir, HUGESLAB_IOC_MAGIC, nr, size),
		     bad_ptr(s, buf));
}

static void map_add(char *addr, size_t len)
{
	int i;

	if (in_child)
		return;		/* the child's maps die with it */
	pthread_mutex_lock(&maps_lock);
	for (i = 0; i < NR_MAPS; i++) {
		if (!maps[i].addr) {
			maps[i].addr = addr;
			maps[i].len = len;
			addr = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&maps_lock);
	if (addr)
		munmap(addr, len);
}

/* Take a mapping out of the table; the caller owns it until map_add(). */
static struct mapping map_take(uint64_t *s)
{
	struct mapping m = { 0 };
	int i = rnd(s) % NR_MAPS;

	if (in_child)
		return maps[i];	/* no other thread left to race with */
	pthread_mutex_lock(&maps_lock);
	m = maps[i];
	maps[i].addr = NULL;
	pthread_mutex_unlock(&maps_lock);
	return m;
}

static int do_mmap(uint64_t *s)
{
	static const uint64_t lens[] = {
		SZ_4K, SZ_2M, SZ_2M + SZ_4K, 2 * SZ_2M, 4 * SZ_2M, 64 * SZ_2M,
	};
	static const uint64_t offs[] = { 0, 0, SZ_4K, SZ_2M, 2 * SZ_2M, 1UL << 40 };
	size_t len = pick(s, lens, 6);
	int prot = (int)(rnd(s) % 8);
	int flags = rnd(s) % 8 ? MAP_SHARED : MAP_PRIVATE;
	off_t off = pick(s, offs, 6);
	char *p;

	if (rnd(s) % 2) {	/* mostly valid: the start of a small pool */
		len = (rnd(s) % 2 + 1) * SZ_2M;
		prot = PROT_READ | PROT_WRITE;
		flags = MAP_SHARED;
		off = 0;
	}
	if (rnd(s) % 4 == 0)
		flags |= MAP_POPULATE;
	p = mmap(NULL, len, prot, flags, fd_pick(s), off);
	if (p == MAP_FAILED)
		return -1;
	map_add(p, len);
	return 0;
}

static int do_munmap(uint64_t *s)
{
	struct mapping m = map_take(s);
	size_t off, len;
	int ret;

	if (!m.addr)
		return -1;
	if (rnd(s) % 2)
		return munmap(m.addr, m.len);
	/* A piece: the rest stays mapped and is forgotten until exit. */
	off = (rnd(s) % (m.len / SZ_4K)) * SZ_4K;
	len = ((rnd(s) % 4) + 1) * SZ_4K;
	ret = munmap(m.addr + off, len);
	if (off)
		map_add(m.addr, off);
	return ret;
}

static int do_mremap(uint64_t *s)
{
	struct mapping m = map_take(s);
	size_t len;
	char *p;

	if (!m.addr)
		return -1;
	len = ((rnd(s) % 8) + 1) * (rnd(s) % 2 ? SZ_2M : SZ_4K);
	p = mremap(m.addr, m.len, len, rnd(s) % 2 ? MREMAP_MAYMOVE : 0);
	if (p == MAP_FAILED) {
		map_add(m.addr, m.len);
		return -1;
	}
	map_add(p, len);
	return 0;
}

static int do_madvise(uint64_t *s)
{
	static const uint64_t advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_REMOVE, MADV_DONTFORK, MADV_DOFORK,
		MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_COLD,
		MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
		MADV_COLLAPSE, MADV_FREE, MADV_MERGEABLE, MADV_WIPEONFORK,
	};
	struct mapping m = map_take(s);
	int ret;

	if (!m.addr)
		return -1;
	ret = madvise(m.addr, m.len, (int)pick(s, advice, 19));
	map_add(m.addr, m.len);
	return ret;
}

static int do_mprotect(uint64_t *s)
{
	struct mapping m = map_take(s);
	int ret;

	if (!m.addr)
		return -1;
	ret = mprotect(m.addr, m.len, (int)(rnd(s) % 8));
	map_add(m.addr, m.len);
	return ret;
}

static void on_fault(int sig)
{
	(void)sig;
	if (__atomic_load_n(&touching, __ATOMIC_SEQ_CST))
		siglongjmp(touch_env, 1);
	_exit(3);
}

static int do_touch(uint64_t *s)
{
	struct mapping m = map_take(s);
	size_t i;
	int ret = 0;

	if (!m.addr)
		return -1;
	__atomic_store_n(&touching, 1, __ATOMIC_SEQ_CST);
	if (sigsetjmp(touch_env, 1)) {
		__atomic_add_fetch(&faults_caught, 1, __ATOMIC_RELAXED);
		ret = -1;
	} else {
		for (i = 0; i < m.len; i += SZ_4K * 61) {
			if (rnd(s) % 2)
				__atomic_store_n(m.addr + i, (char)i, __ATOMIC_RELAXED);
			else
				(void)__atomic_load_n(m.addr + i, __ATOMIC_RELAXED);
		}
	}
	__atomic_store_n(&touching, 0, __ATOMIC_SEQ_CST);
	map_add(m.addr, m.len);
	return ret;
}

static int do_fork(uint64_t *s)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (!pid) {
		/* The child touches, creates and maps a little, then dies. */
		uint64_t cs = rnd(s) | 1;
		int i;

		in_child = 1;
		for (i = 0; i < 8; i++) {
			switch (rnd(&cs) % 3) {
			case 0:
				do_touch(&cs);
				break;
			case 1:
				do_create(&cs);
				break;
			default:
				do_mmap(&cs);
				break;
			}
		}
		if (rnd(&cs) % 2)
			kill(getpid(), SIGKILL);
		_exit(0);
	}
	return waitpid(pid, &status, 0) == pid ? 0 : -1;
}

/* Put a newly opened @fd in a random slot, closing what was there. */
static int fd_store(uint64_t *s, int fd)
{
	if (fd < 0)
		return -1;
	fd = __atomic_exchange_n(&fds[rnd(s) % NR_FDS], fd, __ATOMIC_RELAXED);
	if (fd >= 0)
		close(fd);
	return 0;
}

static void set_fuzz_name(char *dst, uint64_t *s)
{
	const char *name = fuzz_names[rnd(s) % ARRAY_SIZE(fuzz_names)];

	memset(dst, 0, HUGESLAB_NAME_MAX);
	memcpy(dst, name, strlen(name));
}

/* CREATE_NAMED, mostly valid, with any of the issue 14 flags. */
static int do_named(uint64_t *s)
{
	static const uint32_t modes[] = { 0600, 0666, 0, 0400, 01777 };
	struct hugeslab_create_named c = {
		.create = {
			.size = (rnd(s) % 4 + 1) * SZ_2M,
			.numa_node = -1,
			.flags = HUGESLAB_CREATE_NAMED,
		},
	};

	set_fuzz_name(c.name, s);
	if (rnd(s) % 2)
		c.create.flags |= HUGESLAB_CREATE_PERSISTENT;
	if (rnd(s) % 4 == 0) {
		c.create.flags |= HUGESLAB_CREATE_OWNER;
		c.create.uid = rnd(s) % 2 ? 0 : 65534;
		c.create.gid = rnd(s) % 2 ? 0 : 65534;
	}
	if (rnd(s) % 4 == 0) {
		c.create.flags |= HUGESLAB_CREATE_MODE;
		c.create.mode = modes[rnd(s) % ARRAY_SIZE(modes)];
	}
	if (rnd(s) % 16 == 0)
		c.create.pad2 = rnd(s) | 1;
	return ioctl(fd_pick(s), HUGESLAB_IOC_CREATE_NAMED,
		     rnd(s) % 10 ? (void *)&c : bad_ptr(s, &c));
}

/* Open a pool's node into a slot, as fio would. */
static int do_node_open(uint64_t *s)
{
	char path[64];

	snprintf(path, sizeof(path), HUGESLAB_POOL_DIR "/%s",
		 fuzz_names[rnd(s) % ARRAY_SIZE(fuzz_names)]);
	return fd_store(s, open(path, (rnd(s) % 4 ? O_RDWR | O_CREAT :
				       O_RDONLY) | O_CLOEXEC, 0600));
}

static int destroy_name(int fd, const char *name, uint32_t flags)
{
	struct hugeslab_destroy d = { .flags = flags };

	memcpy(d.name, name, strlen(name));
	return ioctl(fd, HUGESLAB_IOC_DESTROY, &d);
}

static int do_destroy(uint64_t *s)
{
	struct hugeslab_destroy d = { 0 };

	set_fuzz_name(d.name, s);
	if (rnd(s) % 2)
		d.flags = HUGESLAB_DESTROY_FORCE;
	if (rnd(s) % 16 == 0)
		d.flags = 1U << (rnd(s) % 32);
	if (rnd(s) % 16 == 0)
		d.reserved = rnd(s) | 1;
	return ioctl(fd_pick(s), HUGESLAB_IOC_DESTROY,
		     rnd(s) % 10 ? (void *)&d : bad_ptr(s, &d));
}

static int do_op(uint64_t *s, enum op op)
{
	int fd;

	switch (op) {
	case OP_OPEN:
		return fd_store(s, open(HUGESLAB_DEVICE_PATH,
					(rnd(s) % 8 ? O_RDWR : O_RDONLY) |
					O_CLOEXEC));
	case OP_CLOSE:
		fd = __atomic_exchange_n(&fds[rnd(s) % NR_FDS], -1,
					 __ATOMIC_RELAXED);
		return fd >= 0 ? close(fd) : -1;
	case OP_CREATE:
		return do_create(s);
	case OP_INFO:
		return do_info(s);
	case OP_ADDRS:
		return do_addrs(s);
	case OP_STATS: {
		struct hugeslab_stats st;

		return ioctl(fd_pick(s), HUGESLAB_IOC_STATS,
			     rnd(s) % 4 ? (void *)&st : bad_ptr(s, &st));
	}
	case OP_IOCTL:
		return do_ioctl(s);
	case OP_MMAP:
		return do_mmap(s);
	case OP_MUNMAP:
		return do_munmap(s);
	case OP_MREMAP:
		return do_mremap(s);
	case OP_MADVISE:
		return do_madvise(s);
	case OP_MPROTECT:
		return do_mprotect(s);
	case OP_TOUCH:
		return do_touch(s);
	case OP_FORK:
		return rnd(s) % 4 ? 0 : do_fork(s);
	case OP_NAMED:
		return do_named(s);
	case OP_NODE_OPEN:
		return do_node_open(s);
	case OP_DESTROY:
		return do_destroy(s);
	default:
		return -1;
	}
}

/* Ops weighted so pools exist long enough to be mapped and abused. */
static const enum op op_table[] = {
	OP_OPEN, OP_OPEN, OP_CLOSE, OP_CREATE, OP_CREATE, OP_CREATE,
	OP_INFO, OP_ADDRS, OP_STATS, OP_IOCTL, OP_MMAP, OP_MMAP, OP_MMAP,
	OP_MUNMAP, OP_MREMAP, OP_MADVISE, OP_MADVISE, OP_MPROTECT,
	OP_TOUCH, OP_TOUCH, OP_TOUCH, OP_FORK, OP_NAMED, OP_NODE_OPEN,
	OP_NODE_OPEN, OP_DESTROY,
};

struct worker {
	pthread_t thread;
	uint64_t seed;
	unsigned long iterations;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t s = w->seed;
	unsigned long i;

	for (i = 0; i < w->iterations; i++) {
		enum op op = op_table[rnd(&s) % ARRAY_SIZE(op_table)];

		__atomic_add_fetch(&op_count[op], 1, __ATOMIC_RELAXED);
		if (!do_op(&s, op))
			__atomic_add_fetch(&op_ok[op], 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int read_stats(struct hugeslab_stats *st)
{
	int fd = open(HUGESLAB_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, HUGESLAB_IOC_STATS, st);
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long iterations = 5000, nthreads = 3;
	struct worker workers[MAX_THREADS];
	struct hugeslab_stats st;
	struct sigaction sa = { .sa_handler = on_fault };
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	unsigned long i;
	int k, ok;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--seed"))
			seed = strtoull(argv[k + 1], NULL, 0);
		else if (!strcmp(argv[k], "--iterations"))
			iterations = strtoul(argv[k + 1], NULL, 0);
		else if (!strcmp(argv[k], "--threads"))
			nthreads = strtoul(argv[k + 1], NULL, 0);
	}
	if (!nthreads || nthreads > MAX_THREADS)
		nthreads = 3;

	printf("TAP version 13\n1..2\n");
	printf("# hugeslab fuzz: --seed %" PRIu64 " --iterations %lu --threads %lu\n",
	       seed, iterations, nthreads);
	fflush(stdout);
	if (access(HUGESLAB_DEVICE_PATH, F_OK)) {
		printf("ok 1 fuzz # SKIP no %s\nok 2 counters # SKIP\n",
		       HUGESLAB_DEVICE_PATH);
		return 0;
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	unmapped_page = mmap(NULL, SZ_4K, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(unmapped_page, SZ_4K);
	readonly_page = mmap(NULL, SZ_4K, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	for (i = 0; i < nthreads; i++) {
		workers[i].seed = (seed + i * 0x9e3779b97f4a7c15ULL) | 1;
		workers[i].iterations = iterations;
		pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(workers[i].thread, NULL);

	for (k = 0; k < NR_OPS; k++)
		printf("# %-10s %8" PRIu64 " calls, %8" PRIu64 " succeeded\n",
		       op_names[k], op_count[k], op_ok[k]);
	printf("# faults caught while touching raced mappings: %" PRIu64 "\n",
	       faults_caught);
	printf("ok 1 fuzz survived %lu iterations on %lu threads (seed %" PRIu64 ")\n",
	       iterations * nthreads, nthreads, seed);

	for (k = 0; k < NR_FDS; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	/* Persistent pools outlive every fd: end them, or nothing goes. */
	k = open(HUGESLAB_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	for (i = 0; k >= 0 && i < ARRAY_SIZE(fuzz_names); i++)
		destroy_name(k, fuzz_names[i], HUGESLAB_DESTROY_FORCE);
	if (k >= 0)
		close(k);
	for (k = 0; k < NR_MAPS; k++)
		if (maps[k].addr)
			munmap(maps[k].addr, maps[k].len);
	/* Pieces left by partial munmap()s hold pools too: drop every map. */
	{
		FILE *f = fopen("/proc/self/maps", "r");
		char line[512];
		unsigned long a, b;

		while (f && fgets(line, sizeof(line), f)) {
			if (strstr(line, "hugeslab") &&
			    sscanf(line, "%lx-%lx", &a, &b) == 2)
				munmap((void *)a, b - a);
		}
		if (f)
			fclose(f);
	}

	ok = 0;
	for (k = 0; k < 500; k++) {
		if (!read_stats(&st) && !st.pinned_bytes && !st.nr_pools) {
			ok = 1;
			break;
		}
		usleep(10000);
	}
	if (ok)
		printf("ok 2 module counters back to zero\n");
	else
		printf("not ok 2 module counters back to zero (pinned %llu, pools %llu)\n",
		       (unsigned long long)st.pinned_bytes,
		       (unsigned long long)st.nr_pools);
	return !ok;
}
