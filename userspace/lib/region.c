// SPDX-License-Identifier: MIT
/*
 * region.c: where a pool's buffers live, for callers that register the
 * memory with the kernel (io_uring fixed buffers, provided-buffer rings,
 * RDMA) and must translate between a buffer and a small index.
 */
#include <errno.h>

#include "internal.h"

HS_EXPORT int hs_pool_regions(const struct hs_pool *pool,
			      struct hs_region *regs, unsigned int max)
{
	const struct hs_pool_priv *p = (const struct hs_pool_priv *)pool;

	if (!pool || (max && !regs)) {
		errno = EINVAL;
		return -1;
	}
	if (p->dead) {
		errno = ECHILD;
		return -1;
	}
	/* Every backend maps the pool as one contiguous range. */
	if (max) {
		regs[0].base = (void *)p->pub.__base;
		regs[0].len = p->total_bytes;
	}
	return 1;
}

HS_EXPORT long hs_buf_index(const struct hs_pool *pool, const void *buf)
{
	const struct hs_pool_priv *p = (const struct hs_pool_priv *)pool;
	uintptr_t off;
	uint64_t slab, in_slab;

	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	off = (uintptr_t)buf - p->pub.__base;
	if (off >= p->total_bytes || (off & (HS_ALIGN - 1))) {
		errno = EINVAL;
		return -1;
	}
	slab = off / HS_SLAB_SIZE;
	in_slab = off % HS_SLAB_SIZE;
	if (in_slab < p->first_off || (in_slab - p->first_off) % p->stride ||
	    (in_slab - p->first_off) / p->stride >= p->per_slab) {
		errno = EINVAL;
		return -1;
	}
	return (long)(slab * p->per_slab + (in_slab - p->first_off) / p->stride);
}

HS_EXPORT void *hs_buf_at(const struct hs_pool *pool, size_t idx)
{
	const struct hs_pool_priv *p = (const struct hs_pool_priv *)pool;

	if (!pool || idx >= p->nr_bufs) {
		errno = EINVAL;
		return NULL;
	}
	return hs_buf_of_idx(p, hs_pool_buf_idx(p, (uint32_t)idx));
}
