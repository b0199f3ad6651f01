// SPDX-License-Identifier: MIT
/*
 * t-bulk: bulk get and put across the cache/store boundary, larger than the
 * cache, and with the cache disabled.
 */
#include "helpers.h"

static void run(uint32_t flags)
{
	struct hs_pool *pool = t_pool_flags(4UL << 20, 2048, 0, flags, "bulk");
	size_t n = hs_pool_nr_bufs(pool), i, j;
	void **bufs = calloc(n, sizeof(void *));
	struct hs_pool_stats st;
	unsigned int sizes[] = { 1, 7, 32, 33, 100, 300, 1000 };

	T_ASSERT(bufs && n == 1024);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned int k = sizes[i];

		for (j = 0; j < 5; j++) {
			T_ASSERT(hs_get_bulk(pool, bufs, k) == 0);
			T_ASSERT(hs_pool_check(pool) == (int)k);
			T_ASSERT(hs_put_bulk(pool, bufs, k) == 0);
		}
	}
	/* everything at once, then one more */
	T_ASSERT(hs_get_bulk(pool, bufs, (unsigned int)n) == 0);
	for (i = 0; i < n; i++)
		for (j = i + 1; j < i + 4 && j < n; j++)
			T_ASSERT(bufs[i] != bufs[j]);
	T_ERR(ENOBUFS, hs_get_bulk(pool, bufs + n - 1, 1));
	T_ASSERT(hs_put_bulk(pool, bufs, (unsigned int)n) == 0);
	/* too many: nothing taken */
	bufs = realloc(bufs, (n + 1) * sizeof(void *));
	T_ASSERT(bufs);
	T_ERR(ENOBUFS, hs_get_bulk(pool, bufs, (unsigned int)n + 1));
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_get_bulk(pool, bufs, 0) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.gets == st.puts && st.outstanding == 0);
	if (!flags)
		T_ASSERT(st.cache_hits > 0);
	else
		T_ASSERT(st.cache_hits == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	free(bufs);
}

int main(void)
{
	run(0);
	run(HS_POOL_NO_CACHE);
	return T_EXIT_PASS;
}
