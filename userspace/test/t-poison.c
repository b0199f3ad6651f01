// SPDX-License-Identifier: MIT
/*
 * t-poison: a debug pool poisons free buffers and checks the poison on the
 * next get; a buffer written after its put is withdrawn and counted.
 */
#include "helpers.h"

int main(void)
{
	/* 1 MiB buffers with headroom: 1 per slab, 2 slabs, no cache */
	struct hs_pool *pool = t_pool_flags(4UL << 20, 1U << 20, 512,
					    HS_POOL_DEBUG, "poison");
	struct hs_pool_stats st;
	unsigned char *a, *b, *c;

	T_ASSERT(hs_pool_nr_bufs(pool) == 2);
	a = hs_get(pool);
	b = hs_get(pool);
	T_ASSERT(a && b);
	/* fresh buffers carry the poison, headroom included */
	T_ASSERT(t_all_poison(a - 512, 512 + (1U << 20)));
	memset(a, 1, 4096);
	memset(b, 2, 4096);
	T_ASSERT(hs_put(pool, a) == 0);
	T_ASSERT(hs_put(pool, b) == 0);
	T_ASSERT(t_all_poison(a - 512, 512 + (1U << 20)));

	/* use after free: write into a, then get both back */
	a[12345] = 0;
	c = hs_get(pool);
	T_ASSERT(c == b);
	T_ERR(ENOBUFS, hs_get(pool));

	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.err_poison == 1 && st.quarantined == 1);
	T_ASSERT(st.outstanding == 1);
	/* a quarantined buffer cannot be put */
	T_ERR(EALREADY, hs_put(pool, a));
	T_ASSERT(hs_put(pool, c) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
