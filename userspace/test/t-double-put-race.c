// SPDX-License-Identifier: MIT
/*
 * t-double-put-race: two threads race to put the same buffer, which holds
 * one reference. The cached put takes no atomic read-modify-write, so both
 * may win and the buffer lands in both caches: one free entry too many.
 * When the caches go back to the shared store, whose capacity is the
 * number of buffers, the store must refuse the duplicate and count it as a
 * double put, not spin forever waiting for room.
 *
 * Accounting: each round one get takes an entry and the puts that returned
 * 0 give entries back, so the extra entries are the rounds where both puts
 * returned 0. At the end every one of them, and every put refused with
 * EALREADY, is counted in err_double_put, and hs_pool_check() finds each
 * buffer free exactly once.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>

#include "helpers.h"

/*
 * Rounds until RACES rounds had both puts win, or MAX_NS passed: how often
 * the window is hit depends on the build and the load (0.6% of rounds
 * under ASan, 6% under TSan on 2 CPUs).
 */
#define ROUNDS_MAX	1000000U
#define RACES		32U
#define MAX_NS		15000000000ULL

/*
 * Two threads only, so both are on a CPU at once on a 2-CPU machine: the
 * main thread gets the buffer, publishes it with a generation number and
 * puts it after a delay that changes every round (0..63 pause
 * instructions); the other thread spins on the generation and puts at
 * once. The delays sweep the second put across the first one, so some
 * rounds land both inside the few instructions between the cached put's
 * load of the count and its store of 0.
 */
struct shared {
	struct hs_pool *pool;
	unsigned int gen;	/* round being raced, 1-based */
	unsigned int done;	/* round the other thread finished */
	void *buf;
	int rc;
	unsigned long refused;
};

#define GEN_STOP	0xffffffffU

/* Wait for *p == v; true when it became GEN_STOP instead. */
static bool spin_until(const unsigned int *p, unsigned int v)
{
	unsigned int n = 0, x;

	while ((x = __atomic_load_n(p, __ATOMIC_ACQUIRE)) != v) {
		if (x == GEN_STOP)
			return true;
		if (++n % 4096 == 0)
			sched_yield();	/* the other thread lost its CPU */
	}
	return false;
}

static void *race(void *arg)
{
	struct shared *sh = arg;
	unsigned int i;

	for (i = 1;; i++) {
		if (spin_until(&sh->gen, i))
			break;
		sh->rc = hs_put(sh->pool, sh->buf);
		if (sh->rc)
			sh->refused += errno == EALREADY;
		__atomic_store_n(&sh->done, i, __ATOMIC_RELEASE);
	}
	return NULL;	/* thread exit flushes the cache into the store */
}

int main(void)
{
	struct shared sh = { 0 };
	struct hs_pool_stats st;
	unsigned long both = 0, refused = 0;
	pthread_t th;
	unsigned int i, d, rounds;
	uint64_t t0;
	int rc;

	/* The hang is the bug: end as a failure, not a runner timeout. */
	alarm(50);
	sh.pool = t_pool_flags(2UL << 20, 2048, 0, 0, "dput");
	T_ASSERT(pthread_create(&th, NULL, race, &sh) == 0);
	t0 = t_now_ns();
	for (i = 1; i <= ROUNDS_MAX && both < RACES &&
		    (i % 1024 || t_now_ns() - t0 < MAX_NS); i++) {
		sh.buf = hs_get(sh.pool);
		T_ASSERT(sh.buf != NULL);
		__atomic_store_n(&sh.gen, i, __ATOMIC_RELEASE);
		for (d = 0; d < i * 7 % 256; d++)
			__builtin_ia32_pause();
		rc = hs_put(sh.pool, sh.buf);
		if (rc)
			refused += errno == EALREADY;
		spin_until(&sh.done, i);
		both += rc == 0 && sh.rc == 0;
	}
	rounds = i - 1;
	__atomic_store_n(&sh.gen, GEN_STOP, __ATOMIC_RELEASE);
	T_ASSERT(pthread_join(th, NULL) == 0);
	T_ASSERT(hs_thread_flush(sh.pool) == 0);

	T_ASSERT(hs_pool_stats(sh.pool, &st) == 0);
	printf("%u rounds: %lu both won, %lu + %lu refused, err_double_put %llu\n",
	       rounds, both, refused, sh.refused,
	       (unsigned long long)st.err_double_put);
	T_ASSERT(refused + sh.refused + both == rounds);
	T_ASSERT(st.err_double_put == rounds);
	T_ASSERT(hs_pool_check(sh.pool) == 0);
	T_ASSERT(hs_pool_destroy(sh.pool, 0) == 0);
	return T_EXIT_PASS;
}
