// SPDX-License-Identifier: MIT
/*
 * t-thread-exit: a thread that exits returns its cache, so that all buffers
 * are reachable again; many short threads do not exhaust the thread slots.
 */
#include <pthread.h>

#include "helpers.h"

static struct hs_pool *pool;

static void *churn(void *arg)
{
	void *b[40];
	int i;

	(void)arg;
	/* Leave buffers in this thread's cache. */
	for (i = 0; i < 40; i++)
		if (!(b[i] = hs_get(pool)))
			return (void *)1;
	for (i = 0; i < 40; i++)
		if (hs_put(pool, b[i]))
			return (void *)1;
	return NULL;
}

int main(void)
{
	size_t n, i;
	void **bufs;
	pthread_t th;
	void *ret;
	int k;

	pool = t_pool(2UL << 20, 16384);	/* 128 buffers, cache 8 */
	n = hs_pool_nr_bufs(pool);
	bufs = calloc(n, sizeof(void *));
	T_ASSERT(bufs);
	/* More threads than slots, one after another. */
	for (k = 0; k < 3 * HS_MAX_THREADS; k++) {
		T_ASSERT(pthread_create(&th, NULL, churn, NULL) == 0);
		T_ASSERT(pthread_join(th, &ret) == 0 && ret == NULL);
	}
	/* All buffers must be reachable from this thread. */
	for (i = 0; i < n; i++)
		T_ASSERT((bufs[i] = hs_get(pool)) != NULL);
	T_ERR(ENOBUFS, hs_get(pool));
	T_ASSERT(hs_put_bulk(pool, bufs, (unsigned int)n) == 0);
	T_ASSERT(hs_thread_flush(pool) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	free(bufs);
	return T_EXIT_PASS;
}
