// SPDX-License-Identifier: MIT
/*
 * t-stress: two threads get, ref and put buffers and hand references to
 * each other; at the end every buffer must be back exactly once and the
 * counters must balance.
 */
#include <pthread.h>

#include "helpers.h"

#define ITERS	1000000
#define SLOTS	64

struct shared {
	struct hs_pool *pool;
	void *handoff[SLOTS];	/* a buffer with one reference for the peer */
	int errors;
};

static void *worker(void *arg)
{
	struct shared *sh = arg;
	struct hs_pool *pool = sh->pool;
	unsigned int seed = (unsigned int)(uintptr_t)pthread_self();
	void *held[16] = { 0 };
	void *bulk[8];
	unsigned int s;
	int i, k;

	for (i = 0; i < ITERS; i++) {
		unsigned int r = rand_r(&seed);
		s = r % 16;

		switch ((r >> 8) % 5) {
		case 0: /* get */
			if (!held[s]) {
				held[s] = hs_get(pool);
				if (held[s])
					*(volatile uint64_t *)held[s] = i;
				else if (errno != ENOBUFS)
					__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			}
			break;
		case 1: /* put */
			if (held[s]) {
				if (hs_put(pool, held[s]))
					__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
				held[s] = NULL;
			}
			break;
		case 2: /* ref and hand to the peer */
			if (held[s]) {
				void *old;

				if (hs_ref(pool, held[s])) {
					__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
					break;
				}
				old = __atomic_exchange_n(&sh->handoff[r % SLOTS],
							  held[s],
							  __ATOMIC_ACQ_REL);
				if (old && hs_put(pool, old))
					__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			}
			break;
		case 3: /* take from the peer and drop */
			{
				void *b = __atomic_exchange_n(
					&sh->handoff[r % SLOTS], NULL,
					__ATOMIC_ACQ_REL);

				if (b && hs_put(pool, b))
					__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			}
			break;
		case 4: /* bulk */
			if (hs_get_bulk(pool, bulk, 8) == 0) {
				for (k = 0; k < 8; k++)
					*(volatile uint64_t *)bulk[k] = k;
				if (hs_put_bulk(pool, bulk, 8))
					__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			} else if (errno != ENOBUFS) {
				__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
			}
			break;
		}
	}
	for (s = 0; s < 16; s++)
		if (held[s] && hs_put(pool, held[s]))
			__atomic_fetch_add(&sh->errors, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(void)
{
	struct shared sh = { 0 };
	struct hs_pool_stats st;
	pthread_t th[2];
	int i;

	sh.pool = t_pool(2UL << 20, 4096);	/* 512 buffers, cache 32 */
	for (i = 0; i < 2; i++)
		T_ASSERT(pthread_create(&th[i], NULL, worker, &sh) == 0);
	for (i = 0; i < 2; i++)
		T_ASSERT(pthread_join(th[i], NULL) == 0);
	for (i = 0; i < SLOTS; i++)
		if (sh.handoff[i])
			T_ASSERT(hs_put(sh.pool, sh.handoff[i]) == 0);
	T_ASSERT(sh.errors == 0);
	/* Every buffer free exactly once; exited threads returned caches. */
	T_ASSERT(hs_pool_check(sh.pool) == 0);
	T_ASSERT(hs_pool_stats(sh.pool, &st) == 0);
	T_ASSERT(st.outstanding == 0);
	T_ASSERT(st.gets == st.puts);
	T_ASSERT(st.gets > 0 && st.cache_hits > 0);
	T_ASSERT(st.err_double_put == 0 && st.err_foreign == 0);
	T_ASSERT(hs_pool_destroy(sh.pool, 0) == 0);
	return T_EXIT_PASS;
}
