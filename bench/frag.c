// SPDX-License-Identifier: MIT
/*
 * frag: the chunkserver case. Threads receive bursts of packets, keep a few
 * of them for long and free the rest; RSS is sampled every second while they
 * run and during an idle phase afterwards (a trickle of small allocations).
 * Built once per malloc (glibc, jemalloc, tcmalloc) and once with
 * libhugeslab (-DUSE_HS), where the packets come from a pool and the small
 * records stay on glibc's heap.
 *
 * Variant a: 4 threads x 256 rounds; a round is a burst of 2048 packets of
 *   512..9000 bytes (filled), of which every 64th is kept for 8 rounds and
 *   the rest freed in arrival order.
 * Variant b: 8 threads x 32 rounds; a round is 256 x {64 B header, 128 KiB
 *   packet (filled), 256 B metadata}, freed in FIFO order, except every 32nd
 *   metadata record (allocated after its packet), which is kept forever.
 *
 * With a pool smaller than the burst (-p 25, -p 50: percent of the burst),
 * a thread that finds the pool empty stops receiving: it completes (frees)
 * what it holds of the current burst, then waits for a buffer
 * (back-pressure). Throughput is packet bytes filled per second of the
 * active phase.
 *
 *   frag -v a|b [-n name] [-p pct] [-i idle_s] [-r scale] [-t]
 *     -t: call malloc_trim(0) once a second during the idle phase
 *
 * Output: "rss NAME VARIANT T_S RSS PHASE" every second, then
 *   "frag NAME VARIANT PCT BYTES ACTIVE_S GBPS PEAK_RSS RSS_LOAD_END
 *    RSS_FINAL LIVE_BYTES STALLS BACKEND POOL_BYTES VOL_CSW INVOL_CSW"
 * (context switches of the whole run, all threads: getrusage)
 */
#include <malloc.h>
#include <stdatomic.h>

#include "common.h"
#ifdef USE_HS
#include "hugeslab.h"
#endif

#define MAXT		8

static const char *name = "malloc";
static char variant = 'a';
static int pool_pct;		/* 0: pool holds the whole burst + kept */
static int idle_s = 12;
static double scale = 1.0;
static int do_trim;

static atomic_int stop_idle;
static atomic_int active_left;
static atomic_ulong bytes_done;
static atomic_ulong stalls;
static atomic_ulong live_bytes;

#ifdef USE_HS
static struct hs_pool *pool;
static const char *backend = "?";
static uint64_t pool_bytes;
#else
static const char *backend = "heap";
static uint64_t pool_bytes;
#endif

/* Packet buffers: from the pool with USE_HS, else from malloc. */
static void *pkt_get(size_t len)
{
#ifdef USE_HS
	(void)len;
	return hs_get(pool);
#else
	return malloc(len);
#endif
}

static void *pkt_get_wait(size_t len)
{
#ifdef USE_HS
	void *b;

	(void)len;
	while (!(b = hs_get_wait(pool, 100000000ULL)))
		;
	return b;
#else
	return malloc(len);
#endif
}

static void pkt_put(void *b)
{
#ifdef USE_HS
	hs_put(pool, b);
#else
	free(b);
#endif
}

/* ------------------------------------------------------------ variant a */

#define A_THREADS	4
#define A_BURST		2048
#define A_KEEP_EVERY	64
#define A_KEEP_ROUNDS	8
#define A_MAXLEN	9000

struct a_kept {
	void *b[A_KEEP_ROUNDS][A_BURST / A_KEEP_EVERY];
	size_t len[A_KEEP_ROUNDS][A_BURST / A_KEEP_EVERY];
};

static void a_release(void **held, size_t *lens, unsigned int from,
		      unsigned int to, struct a_kept *k, unsigned int slot)
{
	unsigned int i;

	for (i = from; i < to; i++) {
		if (i % A_KEEP_EVERY == 0) {
			k->b[slot][i / A_KEEP_EVERY] = held[i];
			k->len[slot][i / A_KEEP_EVERY] = lens[i];
			atomic_fetch_add(&live_bytes, lens[i]);
		} else {
			pkt_put(held[i]);
		}
	}
}

static void variant_a(uint64_t *seed)
{
	static _Thread_local void *held[A_BURST];
	static _Thread_local size_t lens[A_BURST];
	struct a_kept *k = calloc(1, sizeof(*k));
	unsigned int rounds = (unsigned int)(256 * scale), r, i, j, done;

	if (rounds < 2)
		rounds = 2;
	for (r = 0; r < rounds; r++) {
		unsigned int slot = r % A_KEEP_ROUNDS;

		/* the packets kept A_KEEP_ROUNDS rounds ago are done with */
		for (j = 0; j < A_BURST / A_KEEP_EVERY; j++)
			if (k->b[slot][j]) {
				pkt_put(k->b[slot][j]);
				atomic_fetch_sub(&live_bytes, k->len[slot][j]);
				k->b[slot][j] = NULL;
			}
		done = 0;
		for (i = 0; i < A_BURST; i++) {
			size_t len = 512 + rnd_next(seed) % (A_MAXLEN - 512 + 1);
			void *b = pkt_get(len);

			if (!b) {
				/* back-pressure: finish what we hold, wait */
				atomic_fetch_add(&stalls, 1);
				a_release(held, lens, done, i, k, slot);
				done = i;
				b = pkt_get_wait(len);
			}
			memset(b, (int)i, len);
			held[i] = b;
			lens[i] = len;
			atomic_fetch_add_explicit(&bytes_done, len, memory_order_relaxed);
		}
		a_release(held, lens, done, A_BURST, k, slot);
	}
	/* the last window of kept packets stays live through the idle phase */
}

/* ------------------------------------------------------------ variant b */

#define B_THREADS	8
#define B_PER_ROUND	256
#define B_PKT		(128U << 10)
#define B_KEEP_EVERY	32

static void b_release(void **hdr, void **pkt, void **meta, unsigned int from,
		      unsigned int to)
{
	unsigned int i;

	for (i = from; i < to; i++) {
		free(hdr[i]);
		pkt_put(pkt[i]);
		if (i % B_KEEP_EVERY)
			free(meta[i]);
		else
			atomic_fetch_add(&live_bytes, 256);	/* kept forever */
	}
}

static void variant_b(uint64_t *seed)
{
	void *hdr[B_PER_ROUND], *pkt[B_PER_ROUND], *meta[B_PER_ROUND];
	unsigned int rounds = (unsigned int)(32 * scale), r, i, done;

	(void)seed;
	if (rounds < 2)
		rounds = 2;
	for (r = 0; r < rounds; r++) {
		done = 0;
		for (i = 0; i < B_PER_ROUND; i++) {
			hdr[i] = malloc(64);
			memset(hdr[i], 1, 64);
			pkt[i] = pkt_get(B_PKT);
			if (!pkt[i]) {
				atomic_fetch_add(&stalls, 1);
				b_release(hdr, pkt, meta, done, i);
				done = i;
				pkt[i] = pkt_get_wait(B_PKT);
			}
			memset(pkt[i], (int)i, B_PKT);
			meta[i] = malloc(256);
			memset(meta[i], 2, 256);
			atomic_fetch_add_explicit(&bytes_done, B_PKT, memory_order_relaxed);
		}
		b_release(hdr, pkt, meta, done, B_PER_ROUND);
	}
}

/* --------------------------------------------------------------- driver */

static void *worker(void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL * (uintptr_t)(1 + (uintptr_t)arg);
	void *small = NULL;

	pin_cpu((int)(uintptr_t)arg);
	if (variant == 'a')
		variant_a(&seed);
	else
		variant_b(&seed);
	atomic_fetch_sub(&active_left, 1);
	/* idle: a trickle of small allocations, one every 20 ms */
	while (!atomic_load(&stop_idle)) {
		void *n = malloc(64 + rnd_next(&seed) % 192);

		if (n)
			memset(n, 0, 64);
		free(small);
		small = n;
		usleep(20000);
	}
	free(small);
#ifdef USE_HS
	hs_thread_flush(pool);
#endif
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[MAXT];
	struct rusage ru;
	unsigned int nthreads, i;
	double t0, t_active = 0, next;
	uint64_t peak = 0, rss_load_end = 0, rss = 0;
	int opt, idle_ticks = -1;

	while ((opt = getopt(argc, argv, "v:n:p:i:r:t")) != -1) {
		switch (opt) {
		case 'v':
			variant = optarg[0];
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			pool_pct = atoi(optarg);
			break;
		case 'i':
			idle_s = atoi(optarg);
			break;
		case 'r':
			scale = atof(optarg);
			break;
		case 't':
			do_trim = 1;
			break;
		default:
			fprintf(stderr, "usage: frag -v a|b [-n name] [-p pct] "
				"[-i idle_s] [-r scale] [-t]\n");
			return 2;
		}
	}
	nthreads = variant == 'a' ? A_THREADS : B_THREADS;
#ifdef USE_HS
	{
		struct hs_pool_config cfg;
		uint64_t burst_bufs, kept, nbufs, stride;

		hs_pool_config_init(&cfg);
		if (variant == 'a') {
			cfg.buf_size = A_MAXLEN;
			burst_bufs = (uint64_t)A_THREADS * A_BURST;
			kept = (uint64_t)A_THREADS * (A_BURST / A_KEEP_EVERY) *
			       A_KEEP_ROUNDS;
		} else {
			cfg.buf_size = B_PKT;
			burst_bufs = (uint64_t)B_THREADS * B_PER_ROUND;
			kept = 0;	/* the kept records are small: heap */
		}
		nbufs = pool_pct ? burst_bufs * pool_pct / 100 : burst_bufs + kept;
		stride = (cfg.buf_size + HS_ALIGN - 1) & ~(HS_ALIGN - 1);
		cfg.total_bytes = (nbufs + HS_SLAB_SIZE / stride - 1) /
				  (HS_SLAB_SIZE / stride) * HS_SLAB_SIZE;
		cfg.flags = HS_POOL_ALLOW_FALLBACK;
		cfg.name = "frag";
		pool = hs_pool_create(&cfg);
		if (!pool) {
			fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
			return 1;
		}
		backend = hs_backend_name(hs_pool_backend(pool));
		pool_bytes = cfg.total_bytes;
	}
#endif
	atomic_store(&active_left, (int)nthreads);
	t0 = mono_s();
	for (i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
	next = t0;
	for (;;) {
		int left = atomic_load(&active_left);

		rss = rss_bytes();
		if (rss > peak)
			peak = rss;
		if (left == 0 && idle_ticks < 0) {
			t_active = mono_s() - t0;
			rss_load_end = rss;
			idle_ticks = 0;
		}
		printf("rss\t%s\t%c\t%.2f\t%llu\t%s\n", name, variant,
		       mono_s() - t0, (unsigned long long)rss,
		       idle_ticks < 0 ? "load" : "idle");
		fflush(stdout);
		if (idle_ticks >= 0 && idle_ticks++ >= idle_s)
			break;
		if (idle_ticks > 0 && do_trim)
			malloc_trim(0);
		/* sample every second; notice the end of the load sooner */
		next += 1.0;
		while (mono_s() < next) {
			usleep(20000);
			if (idle_ticks < 0 && atomic_load(&active_left) == 0)
				break;
		}
		if (idle_ticks < 0 && atomic_load(&active_left) == 0)
			next = mono_s();
	}
	atomic_store(&stop_idle, 1);
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	getrusage(RUSAGE_SELF, &ru);
	printf("frag\t%s\t%c\t%d\t%lu\t%.3f\t%.3f\t%llu\t%llu\t%llu\t%lu\t%lu\t%s\t%llu\t%ld\t%ld\n",
	       name, variant, pool_pct, atomic_load(&bytes_done), t_active,
	       atomic_load(&bytes_done) / t_active / 1e9,
	       (unsigned long long)peak, (unsigned long long)rss_load_end,
	       (unsigned long long)rss, atomic_load(&live_bytes),
	       atomic_load(&stalls), backend, (unsigned long long)pool_bytes,
	       ru.ru_nvcsw, ru.ru_nivcsw);
	return 0;
}
