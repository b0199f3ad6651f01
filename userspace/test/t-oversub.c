// SPDX-License-Identifier: MIT
/*
 * t-oversub: more threads than CPUs through the shared store. 8 threads
 * pinned to at most 2 CPUs get and put batches larger than their caches,
 * flush their caches and hand buffers to each other, so that threads are
 * preempted in the middle of store operations all the time. A store in
 * which a thread waits for a preempted one (an MP/MC ring's in-order tail
 * update) crawls here; the run must finish well within the bound, and
 * afterwards every buffer must be free exactly once.
 */
#include <pthread.h>
#include <sched.h>

#include "helpers.h"

#define NTHREADS	8
#define ITERS		50000
#define MAXBULK		80	/* above the cache's capacity (2 x 32) */
#define SLOTS		32
#define BOUND_NS	(30ULL * 1000000000ULL)

struct shared {
	struct hs_pool *pool;
	cpu_set_t cpus;
	void *handoff[SLOTS];
	int errors;
	unsigned long got;
};

static void bump(int *e)
{
	__atomic_fetch_add(e, 1, __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	struct shared *sh = arg;
	struct hs_pool *pool = sh->pool;
	unsigned int seed = (unsigned int)(uintptr_t)pthread_self();
	unsigned long got = 0;
	void *v[MAXBULK];
	int i, k;

	/* Best effort: without it the threads still outnumber the CPUs. */
	pthread_setaffinity_np(pthread_self(), sizeof(sh->cpus), &sh->cpus);
	for (i = 0; i < ITERS; i++) {
		unsigned int r = rand_r(&seed);
		unsigned int n = 1 + r % MAXBULK;

		if (hs_get_bulk(pool, v, n) == 0) {
			for (k = 0; k < (int)n; k++)
				*(volatile uint64_t *)v[k] = (uint64_t)i;
			got += n;
			if ((r >> 16) % 4 == 0) {
				/* one buffer to a peer, the rest back */
				void *old = __atomic_exchange_n(
					&sh->handoff[(r >> 8) % SLOTS], v[0],
					__ATOMIC_ACQ_REL);

				if (old && hs_put(pool, old))
					bump(&sh->errors);
				if (n > 1 && hs_put_bulk(pool, v + 1, n - 1))
					bump(&sh->errors);
			} else if (hs_put_bulk(pool, v, n)) {
				bump(&sh->errors);
			}
		} else if (errno != ENOBUFS) {
			bump(&sh->errors);
		}
		if ((r >> 20) % 8 == 0 && hs_thread_flush(pool))
			bump(&sh->errors);
	}
	__atomic_fetch_add(&sh->got, got, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	struct shared sh = { 0 };
	struct hs_pool_stats st;
	pthread_t th[NTHREADS];
	cpu_set_t all;
	uint64_t t0, dt;
	int i, c, n = 0;

	/* The first two CPUs this process may run on. */
	CPU_ZERO(&sh.cpus);
	if (sched_getaffinity(0, sizeof(all), &all) == 0)
		for (c = 0; c < CPU_SETSIZE && n < 2; c++)
			if (CPU_ISSET(c, &all)) {
				CPU_SET(c, &sh.cpus);
				n++;
			}
	if (!n)
		sh.cpus = all;

	sh.pool = t_pool(2UL << 20, 4096);	/* 512 buffers, cache 32 */
	t0 = t_now_ns();
	for (i = 0; i < NTHREADS; i++)
		T_ASSERT(pthread_create(&th[i], NULL, worker, &sh) == 0);
	for (i = 0; i < NTHREADS; i++)
		T_ASSERT(pthread_join(th[i], NULL) == 0);
	dt = t_now_ns() - t0;
	fprintf(stderr, "%d threads on %d CPUs: %.2f s, %lu buffers\n",
		NTHREADS, n, (double)dt / 1e9, sh.got);
	if (dt > BOUND_NS)
		T_FAIL("took %.1f s, bound %.0f s", (double)dt / 1e9,
		       (double)BOUND_NS / 1e9);
	for (i = 0; i < SLOTS; i++)
		if (sh.handoff[i])
			T_ASSERT(hs_put(sh.pool, sh.handoff[i]) == 0);
	T_ASSERT(sh.errors == 0);
	T_ASSERT(sh.got > 0);
	/* Every buffer free exactly once; exited threads returned caches. */
	T_ASSERT(hs_pool_check(sh.pool) == 0);
	T_ASSERT(hs_pool_stats(sh.pool, &st) == 0);
	T_ASSERT(st.outstanding == 0);
	T_ASSERT(st.gets == st.puts);
	T_ASSERT(st.gets >= sh.got);
	T_ASSERT(st.err_double_put == 0 && st.err_foreign == 0);
	T_ASSERT(hs_pool_destroy(sh.pool, 0) == 0);
	return T_EXIT_PASS;
}
