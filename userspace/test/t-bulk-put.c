// SPDX-License-Identifier: MIT
/*
 * t-bulk-put: hs_put_bulk() into the thread's cache with the batches its
 * one-owner loop does not take whole (a buffer twice, owner tags mixed, a
 * refused or shared buffer first or in the middle): each duplicate is
 * refused, every valid buffer is put, and each per-tag counter of the
 * statistics region counts the tag its buffers were got with.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "helpers.h"

/* Buffers put with owner tag @tag, summed over the region's thread slots. */
static uint64_t tag_puts(struct hs_pool *pool, unsigned int tag)
{
	struct hs_stats_hdr hdr, *h;
	uint64_t sum = 0;
	unsigned int i;
	int fd;

	fd = open(hs_pool_stats_path(pool), O_RDONLY | O_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_ASSERT(pread(fd, &hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr));
	h = mmap(NULL, hs_stats_region_size(&hdr), PROT_READ, MAP_SHARED, fd,
		 0);
	T_ASSERT(h != MAP_FAILED);
	for (i = 0; i < h->nr_threads; i++)
		sum += __hs_load(&hs_stats_thread_slot(h, i)->tag_puts[tag]);
	T_ASSERT(munmap(h, hs_stats_region_size(&hdr)) == 0);
	T_ASSERT(close(fd) == 0);
	return sum;
}

static void get_tagged(struct hs_pool *pool, void **b, unsigned int n,
		       unsigned int tag)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		T_ASSERT((b[i] = hs_get_tagged(pool, tag)) != NULL);
}

int main(void)
{
	struct hs_pool *pool = t_pool(2UL << 20, 2048);
	struct hs_pool_stats st;
	void *x[3], *y[2], *v[5];
	char junk;

	/* a buffer twice: the second is a double put, the rest is put */
	get_tagged(pool, x, 2, 3);
	v[0] = x[0];
	v[1] = x[1];
	v[2] = x[0];
	T_ERR(EALREADY, hs_put_bulk(pool, v, 3));
	T_ASSERT(hs_pool_check(pool) == 0);
	get_tagged(pool, x, 1, 3);
	v[0] = x[0];
	v[1] = x[0];
	T_ERR(EALREADY, hs_put_bulk(pool, v, 2));
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.err_double_put == 2);
	T_ASSERT(tag_puts(pool, 3) == 3);

	/* tags mixed, and the first buffer's tag not the majority */
	get_tagged(pool, x, 3, 3);
	get_tagged(pool, y, 2, 4);
	v[0] = y[0];
	v[1] = x[0];
	v[2] = x[1];
	v[3] = y[1];
	v[4] = x[2];
	T_ASSERT(hs_put_bulk(pool, v, 5) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(tag_puts(pool, 3) == 6 && tag_puts(pool, 4) == 2);

	/* a refused pointer first: the others are still put */
	get_tagged(pool, x, 2, 5);
	v[0] = &junk;
	v[1] = x[0];
	v[2] = x[1];
	T_ERR(EINVAL, hs_put_bulk(pool, v, 3));
	T_ASSERT(hs_pool_check(pool) == 0 && tag_puts(pool, 5) == 2);

	/* a buffer held twice loses one reference and stays out */
	get_tagged(pool, x, 2, 6);
	T_ASSERT(hs_ref(pool, x[0]) == 0);
	T_ASSERT(hs_put_bulk(pool, x, 2) == 0);
	T_ASSERT(hs_pool_check(pool) == 1 && tag_puts(pool, 6) == 1);
	T_ASSERT(hs_put(pool, x[0]) == 0);
	T_ASSERT(hs_pool_check(pool) == 0 && tag_puts(pool, 6) == 2);

	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.gets == st.puts && st.err_double_put == 2);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
