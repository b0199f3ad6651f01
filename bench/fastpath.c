// SPDX-License-Identifier: MIT
/*
 * fastpath: cost of getting and returning packet buffers, one allocator per
 * binary (built from this one file):
 *
 *   -DALLOC_MALLOC   malloc/free; which malloc depends on what the binary is
 *                    linked with (glibc, -ljemalloc, -ltcmalloc_minimal)
 *   -DALLOC_DPDK     rte_mempool, EAL in --no-huge mode, lcores 0 and 1;
 *                    per-lcore cache of -c entries (512 or 0)
 *   -DALLOC_HS       libhugeslab with the default per-thread cache
 *
 * Workloads, for each buffer size:
 *   pair     get+put of one buffer, repeated (1 and 2 threads)
 *   bulk32   get 32 buffers at once, put them back at once (1 and 2 threads)
 *   keep     get K buffers, then put them back in the order they were got
 *   xthread  thread 0 gets, hands batches of 32 to thread 1, which puts them
 *            (receive thread vs completion thread)
 *
 * Only the allocator calls are timed (the buffers are not touched), with the
 * TSC, in batches of 32 objects: one sample is the ns per get+put pair of a
 * batch (bulk32: four bulks of 32 per sample, to stay above the timer's
 * resolution; keep and xthread: the 32 gets of a batch plus the 32 puts of
 * the same buffers). Each cell runs for a time budget, prints the median, p99
 * and mean of its samples and the wall time per object over all threads:
 *
 *   fp ALLOC BACKEND WORKLOAD SIZE THREADS K MEDIAN P99 MEAN NSAMPLES WALL
 *
 * One invocation is one repetition; bench/run.sh interleaves repetitions of
 * the allocators so that machine noise hits them alike.
 *
 *   fastpath [-b budget_ms] [-s size,size,...] [-w workloads] [-c cache]
 *            [-n alloc-name] [-P max_pool_bytes]
 *            (DPDK: EAL arguments first, then --)
 */
#include <stdatomic.h>

#include "common.h"

#if defined(ALLOC_HS)
#include "hugeslab.h"
#elif defined(ALLOC_DPDK)
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mempool.h>
#endif

#define BATCH		32
#define BULK_REPS	4	/* bulk cycles per sample: above the timer's resolution */
#define MAX_SAMPLES	4096
#define MAX_K		32768
#define RING_CHUNKS	16	/* xthread hand-off ring, in batches */
/*
 * Pool sizes: room for K = 32768 small buffers plus the caches, at most
 * 512 MiB (page faults are slow on virtual machines and every competitor
 * pre-faults its pool), 1 GiB for 1 MiB buffers and 1.6 GiB for 2 MiB ones
 * so that a 512-entry DPDK cache (which needs 1.5 x 512 buffers) and the
 * xthread hand-off fit.
 */
#define POOL_BYTES_MAX	(512UL << 20)
#define POOL_BYTES_1M	(1UL << 30)
#define POOL_BYTES_2M	(1600UL << 20)	/* 800 x 2 MiB: DPDK's 1.5 x 512 */
#define POOL_BUFS_MAX	34816UL	/* 32768 + 2048 */

static const char *alloc_name = "malloc";
static char backend[64] = "heap";
static double budget_ms = 40;
static size_t cur_size;
static unsigned long nbufs;
static unsigned int dpdk_cache = 512;
static unsigned long pool_bytes_cap;	/* -P: smaller pools (smoke runs) */
static unsigned long get_retries;

/* ------------------------------------------------------------ allocators */

#if defined(ALLOC_HS)
static struct hs_pool *P;

static inline void *a_get(void) { return hs_get(P); }
static inline void a_put(void *b) { hs_put(P, b); }
static inline int a_getn(void **v, unsigned int n) { return hs_get_bulk(P, v, n); }
static inline void a_putn(void **v, unsigned int n) { hs_put_bulk(P, v, n); }

static size_t stride_of(size_t size)
{
	return (size + HS_ALIGN - 1) & ~(HS_ALIGN - 1);
}

static int pool_setup(size_t size, unsigned long n)
{
	struct hs_pool_config cfg;
	size_t stride = stride_of(size), per_slab = HS_SLAB_SIZE / stride;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = ((n + per_slab - 1) / per_slab) * HS_SLAB_SIZE;
	cfg.buf_size = (uint32_t)size;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.name = "fastpath";
	P = hs_pool_create(&cfg);
	if (!P) {
		fprintf(stderr, "hs_pool_create(%zu x %lu): %s\n", size, n,
			strerror(errno));
		return -1;
	}
	snprintf(backend, sizeof(backend), "%s",
		 hs_backend_name(hs_pool_backend(P)));
	return 0;
}

static void pool_teardown(void)
{
	hs_pool_destroy(P, HS_DESTROY_FORCE);
	P = NULL;
}

#elif defined(ALLOC_DPDK)
static struct rte_mempool *P;

static inline void *a_get(void)
{
	void *o;

	return rte_mempool_get(P, &o) ? NULL : o;
}
static inline void a_put(void *b) { rte_mempool_put(P, b); }
static inline int a_getn(void **v, unsigned int n) { return rte_mempool_get_bulk(P, v, n); }
static inline void a_putn(void **v, unsigned int n) { rte_mempool_put_bulk(P, v, n); }

static size_t stride_of(size_t size)
{
	return (size + 4095) & ~4095UL;
}

static int pool_setup(size_t size, unsigned long n)
{
	char name[32];

	snprintf(name, sizeof(name), "fp%zu", size);
	P = rte_mempool_create(name, (unsigned int)n, (unsigned int)size,
			       dpdk_cache, 0, NULL, NULL, NULL, NULL,
			       SOCKET_ID_ANY, 0);
	if (!P) {
		fprintf(stderr, "rte_mempool_create(%zu x %lu): %s\n", size, n,
			rte_strerror(rte_errno));
		return -1;
	}
	snprintf(backend, sizeof(backend), "eal-no-huge-4k,%s", P->ops_index >= 0 ?
		 rte_mempool_get_ops(P->ops_index)->name : "?");
	return 0;
}

static void pool_teardown(void)
{
	rte_mempool_free(P);
	P = NULL;
}

#else /* malloc */
static inline void *a_get(void) { return malloc(cur_size); }
static inline void a_put(void *b) { free(b); }
static inline int a_getn(void **v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		v[i] = malloc(cur_size);
	return 0;
}
static inline void a_putn(void **v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		free(v[i]);
}

static size_t stride_of(size_t size)
{
	return (size + 4095) & ~4095UL;
}

static int pool_setup(size_t size, unsigned long n)
{
	(void)size;
	(void)n;
	return 0;
}

static void pool_teardown(void)
{
}
#endif

/* A get that must not fail: pools are sized so that it only waits. */
static inline void *a_get_wait(void)
{
	unsigned long spins = 0;
	double t0 = 0;
	void *b;

	while (!(b = a_get())) {
		__atomic_fetch_add(&get_retries, 1, __ATOMIC_RELAXED);
		cpu_relax();
		if (++spins == 1000000)
			t0 = mono_s();
		else if (spins % 1000000 == 0 && mono_s() - t0 > 5) {
			fprintf(stderr, "fastpath: %s %zu: pool empty for 5 s\n",
				alloc_name, cur_size);
			exit(3);
		}
	}
	return b;
}

/* -------------------------------------------------------------- threads */

struct tctx {
	int id;
	int workload;
	unsigned int k;
	double samples[MAX_SAMPLES];
	unsigned long n;
	unsigned long objs;
	void *keep[MAX_K];
	uint64_t tget[MAX_K / BATCH];
	uint64_t t_start, t_end;	/* TSC after the start barrier, at the end */
};

static struct tctx T[2];
static atomic_int ready;
static int nthreads;

enum { W_PAIR, W_BULK, W_KEEP, W_XTHREAD };
static const char *wname[] = { "pair", "bulk32", "keep", "xthread" };

/* xthread hand-off: single producer, single consumer. */
static struct {
	void *objs[RING_CHUNKS][BATCH];
	uint64_t tget[RING_CHUNKS];
	_Alignas(64) atomic_ulong head;
	_Alignas(64) atomic_ulong tail;
	atomic_int done;
	unsigned int chunks;	/* ring size in use, <= RING_CHUNKS */
} R;

static void start_barrier(struct tctx *t)
{
	atomic_fetch_add(&ready, 1);
	while (atomic_load(&ready) < nthreads)
		cpu_relax();
	t->t_start = tsc();
}

static inline uint64_t deadline(void)
{
	return tsc() + (uint64_t)(budget_ms * 1e6 / tsc_ns_per_tick);
}

static void w_pair(struct tctx *t)
{
	unsigned long s, i;
	uint64_t end;

	for (i = 0; i < 2000; i++) {
		void *b = a_get_wait();

		escape(b);
		a_put(b);
	}
	start_barrier(t);
	end = deadline();
	for (s = 0; s < MAX_SAMPLES; s++) {
		uint64_t t0 = tsc(), t1;

		for (i = 0; i < BATCH; i++) {
			void *b = a_get();

			escape(b);
			a_put(b);
		}
		t1 = tsc();
		t->samples[s] = ticks_ns(t1 - t0) / BATCH;
		if (t1 > end && s >= 64)
			break;
	}
	t->n = s < MAX_SAMPLES ? s + 1 : MAX_SAMPLES;
	t->objs = t->n * BATCH;
}

static void w_bulk(struct tctx *t)
{
	void *v[BATCH];
	unsigned long s, i;
	uint64_t end;

	for (i = 0; i < 200; i++) {
		while (a_getn(v, BATCH))
			cpu_relax();
		escape(v);
		a_putn(v, BATCH);
	}
	start_barrier(t);
	end = deadline();
	for (s = 0; s < MAX_SAMPLES; s++) {
		uint64_t t0 = tsc(), t1;

		for (i = 0; i < BULK_REPS; i++) {
			while (a_getn(v, BATCH))
				cpu_relax();
			escape(v);
			a_putn(v, BATCH);
		}
		t1 = tsc();
		t->samples[s] = ticks_ns(t1 - t0) / (BATCH * BULK_REPS);
		if (t1 > end && s >= 64)
			break;
	}
	t->n = s < MAX_SAMPLES ? s + 1 : MAX_SAMPLES;
	t->objs = t->n * BATCH * BULK_REPS;
}

static void keep_cycle(struct tctx *t, int record)
{
	unsigned int k = t->k, c, i;

	for (c = 0; c < k / BATCH; c++) {
		uint64_t t0 = tsc();

		for (i = 0; i < BATCH; i++)
			t->keep[c * BATCH + i] = a_get_wait();
		t->tget[c] = tsc() - t0;
	}
	escape(t->keep);
	for (c = 0; c < k / BATCH; c++) {
		uint64_t t0 = tsc(), t1;

		for (i = 0; i < BATCH; i++)
			a_put(t->keep[c * BATCH + i]);
		t1 = tsc();
		if (record && t->n < MAX_SAMPLES)
			t->samples[t->n++] =
				(ticks_ns(t->tget[c]) + ticks_ns(t1 - t0)) / BATCH;
	}
	t->objs += k;
}

static void w_keep(struct tctx *t)
{
	uint64_t end;
	int cycles = 0;

	keep_cycle(t, 0);
	t->objs = 0;
	start_barrier(t);
	end = deadline();
	do {
		keep_cycle(t, 1);
		cycles++;
	} while (t->n < MAX_SAMPLES && (tsc() < end || cycles < 2));
}

static void w_xthread_get(struct tctx *t)
{
	unsigned long head = 0;
	uint64_t end;
	unsigned int i;

	start_barrier(t);
	end = deadline();
	for (;;) {
		unsigned long slot = head % R.chunks;
		uint64_t t0, t1;

		while (head - atomic_load_explicit(&R.tail, memory_order_acquire) >=
		       R.chunks)
			cpu_relax();
		t0 = tsc();
		for (i = 0; i < BATCH; i++)
			R.objs[slot][i] = a_get_wait();
		t1 = tsc();
		R.tget[slot] = t1 - t0;
		atomic_store_explicit(&R.head, ++head, memory_order_release);
		t->objs += BATCH;
		if ((t1 > end && head >= 64) || head >= MAX_SAMPLES)
			break;
	}
	atomic_store(&R.done, 1);
}

static void w_xthread_put(struct tctx *t)
{
	unsigned long tail = 0, head;
	unsigned int i;

	start_barrier(t);
	for (;;) {
		unsigned long slot = tail % R.chunks;
		uint64_t t0, t1, tg;

		while ((head = atomic_load_explicit(&R.head, memory_order_acquire)) == tail) {
			if (atomic_load(&R.done) &&
			    atomic_load_explicit(&R.head, memory_order_acquire) == tail)
				return;
			cpu_relax();
		}
		tg = R.tget[slot];
		t0 = tsc();
		for (i = 0; i < BATCH; i++)
			a_put(R.objs[slot][i]);
		t1 = tsc();
		atomic_store_explicit(&R.tail, ++tail, memory_order_release);
		if (t->n < MAX_SAMPLES)
			t->samples[t->n++] = (ticks_ns(tg) + ticks_ns(t1 - t0)) / BATCH;
	}
}

static void thread_body(struct tctx *t)
{
	switch (t->workload) {
	case W_PAIR:
		w_pair(t);
		break;
	case W_BULK:
		w_bulk(t);
		break;
	case W_KEEP:
		w_keep(t);
		break;
	case W_XTHREAD:
		if (t->id == 0)
			w_xthread_get(t);
		else
			w_xthread_put(t);
		break;
	}
	t->t_end = tsc();
}

#if defined(ALLOC_DPDK)
static int lcore_main(void *arg)
{
	thread_body(arg);
	return 0;
}

static void run_second(struct tctx *t)
{
	rte_eal_remote_launch(lcore_main, t, 1);
}

static void join_second(void)
{
	rte_eal_wait_lcore(1);
}
#else
static pthread_t second;

static void *pthread_main(void *arg)
{
	pin_cpu(1);
	thread_body(arg);
	return NULL;
}

static void run_second(struct tctx *t)
{
	if (pthread_create(&second, NULL, pthread_main, t)) {
		perror("pthread_create");
		exit(1);
	}
}

static void join_second(void)
{
	pthread_join(second, NULL);
}
#endif

static double all_samples[2 * MAX_SAMPLES];

static void cell(int workload, int threads, unsigned int k)
{
	unsigned long n = 0, objs = 0, i;
	uint64_t first = UINT64_MAX, last = 0;
	struct stat3 s;
	double wall;
	int j;

	atomic_store(&ready, 0);
	atomic_store(&R.head, 0);
	atomic_store(&R.tail, 0);
	atomic_store(&R.done, 0);
	R.chunks = nbufs >= 8192 ? RING_CHUNKS : 4;
	nthreads = threads;
	for (j = 0; j < threads; j++) {
		T[j].id = j;
		T[j].workload = workload;
		T[j].k = k;
		T[j].n = 0;
		T[j].objs = 0;
	}
	if (threads > 1)
		run_second(&T[1]);
	thread_body(&T[0]);
	if (threads > 1)
		join_second();
	for (j = 0; j < threads; j++) {
		if (T[j].t_start < first)
			first = T[j].t_start;
		if (T[j].t_end > last)
			last = T[j].t_end;
	}
	wall = (double)(last - first) * tsc_ns_per_tick * 1e-9;
	for (j = 0; j < threads; j++) {
		for (i = 0; i < T[j].n; i++)
			all_samples[n++] = T[j].samples[i];
		objs += T[j].objs;
	}
	s = stats_of(all_samples, n);
	printf("fp\t%s\t%s\t%s\t%zu\t%d\t%u\t%.3f\t%.3f\t%.3f\t%lu\t%.3f\n",
	       alloc_name, backend, wname[workload], cur_size, threads, k,
	       s.median, s.p99, s.mean, s.n, objs ? wall * 1e9 / objs : 0);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: fastpath [-b budget_ms] [-s sizes] [-w workloads] "
		"[-c dpdk_cache] [-n name] [-P max_pool_bytes]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const unsigned int ks[] = { 32, 512, 4096, 32768 };
	char sizes_arg[256] = "2048,9216,65536,131072,1048576,2097152";
	char work_arg[128] = "pair,bulk32,keep,xthread";
	char *tok, *save;
	int opt;

#if defined(ALLOC_DPDK)
	int eal = rte_eal_init(argc, argv);

	if (eal < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= eal;
	argv += eal;
	alloc_name = "dpdk";
	if (rte_lcore_count() < 2) {
		fprintf(stderr, "need 2 lcores (-l 0-1)\n");
		return 1;
	}
#elif defined(ALLOC_HS)
	alloc_name = "hugeslab";
#endif
	while ((opt = getopt(argc, argv, "b:s:w:c:n:P:")) != -1) {
		switch (opt) {
		case 'b':
			budget_ms = atof(optarg);
			break;
		case 's':
			snprintf(sizes_arg, sizeof(sizes_arg), "%s", optarg);
			break;
		case 'w':
			snprintf(work_arg, sizeof(work_arg), "%s", optarg);
			break;
		case 'c':
			dpdk_cache = (unsigned int)atoi(optarg);
			break;
		case 'n':
			alloc_name = optarg;
			break;
		case 'P':
			pool_bytes_cap = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
#if !defined(ALLOC_DPDK)
	pin_cpu(0);
#endif
	tsc_calibrate(50);
	printf("#fp-meta\t%s\ttsc_ns_per_tick=%.5f\ttsc_overhead_ticks=%.1f\n",
	       alloc_name, tsc_ns_per_tick, tsc_overhead);
	for (tok = strtok_r(sizes_arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t stride;
		unsigned int i;

		cur_size = strtoul(tok, NULL, 0);
		stride = stride_of(cur_size);
		nbufs = (cur_size >= (2UL << 20) ? POOL_BYTES_2M :
			 cur_size >= (1UL << 20) ? POOL_BYTES_1M : POOL_BYTES_MAX) /
			stride;
		if (nbufs > POOL_BUFS_MAX)
			nbufs = POOL_BUFS_MAX;
		if (pool_bytes_cap && nbufs > pool_bytes_cap / stride)
			nbufs = pool_bytes_cap / stride;
		if (pool_setup(cur_size, nbufs))
			return 1;
		if (strstr(work_arg, "pair")) {
			cell(W_PAIR, 1, 0);
			cell(W_PAIR, 2, 0);
		}
		if (strstr(work_arg, "bulk32")) {
			cell(W_BULK, 1, 0);
			cell(W_BULK, 2, 0);
		}
		if (strstr(work_arg, "keep"))
			for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
				if (ks[i] <= nbufs * 3 / 4 || ks[i] + 2048 <= nbufs)
					cell(W_KEEP, 1, ks[i]);
		if (strstr(work_arg, "xthread"))
			cell(W_XTHREAD, 2, 0);
		pool_teardown();
	}
	if (get_retries)
		printf("#fp-meta\t%s\tget_retries=%lu\n", alloc_name, get_retries);
#if defined(ALLOC_DPDK)
	rte_eal_cleanup();
#endif
	return 0;
}
