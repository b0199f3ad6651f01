// SPDX-License-Identifier: MIT
/*
 * uring.c: a pool's memory as io_uring fixed buffers.
 *
 * Every region of the pool is cut into pieces of at most HS_URING_PIECE
 * bytes (the kernel refuses a fixed buffer over 1 GiB with EFAULT), cut on
 * 2 MiB boundaries so that no buffer is split, and the pieces are
 * registered in region order from fixed-buffer index 0. The index of an
 * address is computed again from the regions each time, so the library
 * keeps no state per ring.
 *
 * The raw io_uring_register(2) syscall is used: the library does not link
 * liburing, and a liburing caller passes ring->ring_fd.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

/* Regions a pool has at most; every backend has one today. */
#define HS_URING_MAX_REGS	8

static int uring_regions(const struct hs_pool *pool, struct hs_region *regs)
{
	int n = hs_pool_regions(pool, regs, HS_URING_MAX_REGS);

	if (n > HS_URING_MAX_REGS) {
		errno = EOVERFLOW;
		return -1;
	}
	return n;
}

static size_t pieces_of(size_t len)
{
	return (len + HS_URING_PIECE - 1) / HS_URING_PIECE;
}

/*
 * Register @n pools in one IORING_REGISTER_BUFFERS call, @pools[0]'s
 * pieces first: a ring takes one such call only (EBUSY after it).
 */
HS_EXPORT int hs_pools_uring_register(const struct hs_pool *const *pools,
				      unsigned int n, int ring_fd, long *first)
{
	struct hs_region regs[HS_URING_MAX_REGS];
	struct iovec *iov;
	size_t nr = 0, i = 0, off;
	unsigned int p;
	int nreg, r;
	long ret;

	if (!pools || !n) {
		errno = EINVAL;
		return -1;
	}
	for (p = 0; p < n; p++) {
		if (!pools[p]) {
			errno = EINVAL;
			return -1;
		}
	}
	if (ring_fd < 0) {
		errno = EBADF;
		return -1;
	}
	for (p = 0; p < n; p++) {
		nreg = uring_regions(pools[p], regs);
		if (nreg < 0)
			return -1;
		for (r = 0; r < nreg; r++)
			nr += pieces_of(regs[r].len);
	}
	iov = calloc(nr ? nr : 1, sizeof(*iov));
	if (!iov) {
		errno = ENOMEM;
		return -1;
	}
	for (p = 0; p < n; p++) {
		if (first)
			first[p] = (long)i;
		nreg = uring_regions(pools[p], regs);
		for (r = 0; r < nreg; r++) {
			for (off = 0; off < regs[r].len; off += HS_URING_PIECE, i++) {
				iov[i].iov_base = (char *)regs[r].base + off;
				iov[i].iov_len = regs[r].len - off < HS_URING_PIECE ?
						 regs[r].len - off : HS_URING_PIECE;
			}
		}
	}
	/*
	 * The kernel registers all pieces or none: on failure it has already
	 * unpinned and unaccounted what it took, so nothing is left to undo.
	 */
	ret = syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_BUFFERS,
		      iov, (unsigned int)nr);
	free(iov);
	return ret < 0 ? -1 : 0;
}

HS_EXPORT int hs_pool_uring_register(const struct hs_pool *pool, int ring_fd)
{
	return hs_pools_uring_register(&pool, 1, ring_fd, NULL);
}

HS_EXPORT int hs_pool_uring_unregister(const struct hs_pool *pool,
				       int ring_fd)
{
	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	if (ring_fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (syscall(__NR_io_uring_register, ring_fd,
		    IORING_UNREGISTER_BUFFERS, NULL, 0) < 0)
		return -1;
	return 0;
}

HS_EXPORT long hs_buf_uring_index(const struct hs_pool *pool, const void *addr,
				  size_t len, size_t *offset)
{
	struct hs_region regs[HS_URING_MAX_REGS];
	uintptr_t a = (uintptr_t)addr;
	long first = 0;
	int n, r;

	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	n = uring_regions(pool, regs);
	if (n < 0)
		return -1;
	for (r = 0; r < n; first += (long)pieces_of(regs[r].len), r++) {
		uintptr_t base = (uintptr_t)regs[r].base;
		size_t rel, in;

		if (a < base || a - base >= regs[r].len)
			continue;
		rel = a - base;
		in = rel % HS_URING_PIECE;
		/* One fixed buffer must hold the whole I/O. */
		if (len > HS_URING_PIECE - in || len > regs[r].len - rel)
			break;
		if (offset)
			*offset = in;
		return first + (long)(rel / HS_URING_PIECE);
	}
	errno = EINVAL;
	return -1;
}
