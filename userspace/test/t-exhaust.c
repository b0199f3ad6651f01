// SPDX-License-Identifier: MIT
/*
 * t-exhaust: a pool never grows. When it is empty hs_get() fails with
 * ENOBUFS at once, a bulk get takes all or nothing, hs_get_wait() times out,
 * and a put from another thread wakes a waiter.
 */
#include <pthread.h>

#include "helpers.h"

struct putter {
	struct hs_pool *pool;
	void *buf;
	unsigned int delay_ms;
};

static void *put_later(void *arg)
{
	struct putter *pt = arg;

	t_sleep_ms(pt->delay_ms);
	if (hs_put(pt->pool, pt->buf))
		return (void *)1;
	return NULL;
}

int main(void)
{
	struct hs_pool *pool = t_pool(2UL << 20, 65536);
	size_t n = hs_pool_nr_bufs(pool), i;
	void **bufs = calloc(n + 1, sizeof(void *));
	struct hs_pool_stats st;
	struct putter pt;
	pthread_t th;
	uint64_t t0, dt;
	void *b, *ret;

	T_ASSERT(bufs && n == 32);
	for (i = 0; i < n; i++)
		T_ASSERT((bufs[i] = hs_get(pool)) != NULL);

	/* empty: fails at once */
	t0 = t_now_ns();
	T_ERR(ENOBUFS, hs_get(pool));
	T_ASSERT(t_now_ns() - t0 < 50000000ULL);
	T_ERR(ENOBUFS, hs_get_wait(pool, 0));

	/* bulk: all or nothing */
	T_ASSERT(hs_put(pool, bufs[n - 1]) == 0);
	T_ERR(ENOBUFS, hs_get_bulk(pool, bufs + n, 2));
	T_ASSERT((bufs[n - 1] = hs_get(pool)) != NULL);

	/* timed wait expires */
	t0 = t_now_ns();
	T_ERR(ETIMEDOUT, hs_get_wait(pool, 50000000ULL));
	dt = t_now_ns() - t0;
	T_ASSERT(dt >= 50000000ULL && dt < 2000000000ULL);

	/* a put from another thread wakes the waiter */
	pt.pool = pool;
	pt.buf = bufs[3];
	pt.delay_ms = 100;
	T_ASSERT(pthread_create(&th, NULL, put_later, &pt) == 0);
	t0 = t_now_ns();
	b = hs_get_wait(pool, 10000000000ULL);
	dt = t_now_ns() - t0;
	T_ASSERT(pthread_join(th, &ret) == 0 && ret == NULL);
	T_ASSERT(b == pt.buf);
	T_ASSERT(dt < 5000000000ULL);
	bufs[3] = b;

	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.outstanding == n);
	T_ASSERT(st.empty_events >= 3);
	T_ASSERT(st.waits >= 2 && st.wait_timeouts >= 1);

	T_ASSERT(hs_put_bulk(pool, bufs, (unsigned int)n) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	free(bufs);
	return T_EXIT_PASS;
}
