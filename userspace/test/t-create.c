// SPDX-License-Identifier: MIT
/*
 * t-create: geometry of a pool for several buffer sizes and headrooms:
 * every buffer is 4 KiB aligned, does not straddle a 2 MiB slab (headroom
 * included), starts zeroed, and the backend and page size are reported.
 */
#include <stdint.h>

#include "helpers.h"

static void check_geometry(uint32_t buf_size, uint32_t headroom)
{
	struct hs_pool *pool = t_pool_flags(4UL << 20, buf_size, headroom, 0,
					    "geom");
	size_t n = hs_pool_nr_bufs(pool), i;
	void **bufs = calloc(n, sizeof(void *));
	uintptr_t base = UINTPTR_MAX, end = 0;

	T_ASSERT(bufs);
	T_ASSERT(hs_pool_buf_size(pool) == buf_size);
	T_ASSERT(hs_pool_headroom(pool) == headroom);
	T_ASSERT(hs_pool_page_size(pool) == 4096 ||
		 hs_pool_page_size(pool) == (2UL << 20));
	if (hs_pool_backend(pool) == HS_BACKEND_PAGES)
		T_ASSERT(hs_pool_page_size(pool) == 4096);
	else
		T_ASSERT(hs_pool_page_size(pool) == (2UL << 20));
	T_ASSERT(hs_get_bulk(pool, bufs, (unsigned int)n) == 0);
	for (i = 0; i < n; i++) {
		uintptr_t b = (uintptr_t)bufs[i];

		if (b < base)
			base = b;
		if (b > end)
			end = b;
	}
	base &= ~(uintptr_t)((2UL << 20) - 1);	/* the mapping is 2 MiB aligned */
	for (i = 0; i < n; i++) {
		uintptr_t b = (uintptr_t)bufs[i];
		uintptr_t slab = (b - base) >> 21;
		unsigned char *p = bufs[i];

		T_ASSERT((b & 4095) == 0);
		T_ASSERT(((b - headroom - base) >> 21) == slab);
		T_ASSERT(((b + buf_size - 1 - base) >> 21) == slab);
		T_ASSERT(p[0] == 0 && p[buf_size - 1] == 0);
		if (headroom)
			T_ASSERT(p[-(int)headroom] == 0);
		/* Whole buffer and headroom writable. */
		memset(p - headroom, 0xa5, headroom + buf_size);
	}
	T_ASSERT(hs_get(pool) == NULL && errno == ENOBUFS);
	T_ASSERT(hs_put_bulk(pool, bufs, (unsigned int)n) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	free(bufs);
}

int main(void)
{
	struct hs_pool *pool;

	check_geometry(512, 0);
	check_geometry(2048, 0);
	check_geometry(2048, 128);
	check_geometry(4096, 0);
	check_geometry(9000, 256);
	check_geometry(65536, 0);
	check_geometry(65536, 4096);
	check_geometry(1U << 20, 0);
	check_geometry(2U << 20, 0);

	/* Sizes round up to whole slabs; counts follow the stride. */
	pool = t_pool(1, 2048);
	T_ASSERT(hs_pool_nr_bufs(pool) == 512);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	pool = t_pool(4UL << 20, 2U << 20);
	T_ASSERT(hs_pool_nr_bufs(pool) == 2);
	fprintf(stderr, "backend %s, page size %zu, stats %s\n",
		hs_backend_name(hs_pool_backend(pool)),
		hs_pool_page_size(pool), hs_pool_stats_path(pool));
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
