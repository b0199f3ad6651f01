// SPDX-License-Identifier: MIT
/*
 * t-quarantine: a debug pool parks freed buffers in a FIFO quarantine
 * before reuse, so the use-after-free patterns that LIFO reuse hides are
 * caught and attributed: a stale second put after other gets fails
 * EALREADY instead of freeing the buffer under its next owner, and a write
 * after put is found by the poison check instead of landing in the next
 * owner's data. Both reports name the owner tag and the age of the stale
 * pointer. Production pools keep LIFO reuse.
 */
#include "helpers.h"

#define NR	32		/* 64 KiB buffers in one 2 MiB slab */
#define SZ	(64U << 10)

static struct hs_pool *qpool(uint32_t flags, uint32_t quarantine)
{
	struct hs_pool_config cfg;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2UL << 20;
	cfg.buf_size = SZ;
	cfg.flags = flags | HS_POOL_ALLOW_FALLBACK;
	cfg.quarantine = quarantine;
	cfg.name = "quar";
	return hs_pool_create(&cfg);
}

/* get, put, get (another buffer), then the stale second put */
static void stale_put(void)
{
	struct hs_pool *pool = qpool(HS_POOL_DEBUG, 0);
	struct hs_pool_error err;
	struct hs_pool_stats st;
	struct timespec ms30 = { 0, 30 * 1000000L };
	unsigned char *a, *b;

	T_ASSERT(pool);
	T_ASSERT(hs_tag_name(pool, 5, "rx") == 0);
	T_ASSERT(hs_pool_last_error(pool, &err) == 0);
	T_ASSERT(err.kind == HS_ERROR_NONE && err.count == 0);
	a = hs_get_tagged(pool, 5);
	T_ASSERT(a);
	T_ASSERT(hs_put(pool, a) == 0);
	b = hs_get(pool);
	T_ASSERT(b);
	/* LIFO would hand a out again: the stale put would free b's buffer */
	if (b == a)
		T_FAIL("debug pool reused the buffer just freed (no quarantine)");
	nanosleep(&ms30, NULL);
	T_ERR(EALREADY, hs_put(pool, a));
	T_ASSERT(hs_pool_last_error(pool, &err) == 0);
	T_ASSERT(err.kind == HS_ERROR_DOUBLE_PUT && err.count == 1);
	T_ASSERT(err.buf == a && err.tag == 5 && !strcmp(err.tag_name, "rx"));
	/* 30 ms slept, on a clock of a few ms resolution */
	if (err.age_ns < 20 * 1000000ULL || err.age_ns > 10000 * 1000000ULL)
		T_FAIL("age of the stale put %llu ns",
		       (unsigned long long)err.age_ns);
	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.err_double_put == 1 && st.outstanding == 1);
	/* b is still b's: its owner's put works */
	T_ASSERT(hs_put(pool, b) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
}

/* get, put, get (another buffer), then a write through the stale pointer */
static void write_after_put(void)
{
	struct hs_pool *pool = qpool(HS_POOL_DEBUG, 0);
	struct hs_pool_error err;
	struct hs_pool_stats st;
	void *held[NR];
	unsigned char *c, *d;
	unsigned int n = 0;

	T_ASSERT(pool);
	T_ASSERT(hs_tag_name(pool, 7, "parser") == 0);
	c = hs_get_tagged(pool, 7);
	T_ASSERT(c);
	T_ASSERT(hs_put(pool, c) == 0);
	d = hs_get(pool);
	T_ASSERT(d);
	if (d == c)
		T_FAIL("debug pool reused the buffer just freed (no quarantine)");
	c[100] = 1;	/* the use after free */
	/* the next owner's buffer is untouched */
	T_ASSERT(t_all_poison(d, SZ));
	/* drain the pool: c comes out of the quarantine and fails its check */
	held[n++] = d;
	while ((held[n] = hs_get(pool)) != NULL)
		n++;
	T_ASSERT(errno == ENOBUFS);
	T_ASSERT(n == NR - 1);
	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.err_poison == 1 && st.quarantined == 1);
	T_ASSERT(hs_pool_last_error(pool, &err) == 0);
	T_ASSERT(err.kind == HS_ERROR_POISON);
	T_ASSERT(err.buf == c && err.tag == 7 && !strcmp(err.tag_name, "parser"));
	T_ASSERT(hs_put_bulk(pool, held, n) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
}

/* The size is honoured: with 2 parked, the third put moves the first on. */
static void size_and_order(void)
{
	struct hs_pool *pool = qpool(HS_POOL_DEBUG, 2);
	void *x[NR], *y[NR];
	unsigned int i;

	T_ASSERT(pool);
	for (i = 0; i < 3; i++)
		T_ASSERT((x[i] = hs_get(pool)) != NULL);
	for (i = 0; i < 3; i++)
		T_ASSERT(hs_put(pool, x[i]) == 0);
	/* x[0] left the quarantine for the (LIFO) store: it comes first */
	y[0] = hs_get(pool);
	T_ASSERT(y[0] == x[0]);
	T_ASSERT(hs_put(pool, y[0]) == 0);
	/* two parked buffers are counted by hs_pool_check(), not lost */
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);

	/* a quarantine of the whole pool never makes a get fail: FIFO */
	pool = qpool(HS_POOL_DEBUG, 1000);
	T_ASSERT(pool);
	T_ASSERT(hs_get_bulk(pool, x, NR) == 0);
	for (i = 0; i < NR; i++)
		T_ASSERT(hs_put(pool, x[i]) == 0);
	for (i = 0; i < NR; i++) {
		y[i] = hs_get(pool);
		T_ASSERT(y[i] == x[i]);	/* oldest first */
	}
	T_ASSERT(hs_pool_check(pool) == NR);
	T_ASSERT(hs_put_bulk(pool, y, NR) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
}

/* Production pools keep LIFO reuse and refuse a quarantine size. */
static void production(void)
{
	struct hs_pool_config cfg;
	struct hs_pool *pool;
	void *a, *b;

	errno = 0;
	T_ASSERT(qpool(0, 4) == NULL && errno == EINVAL);
	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2UL << 20;
	cfg.buf_size = SZ;
	cfg.flags = HS_POOL_ALLOW_FALLBACK | HS_POOL_DEBUG;
	cfg.reserved32 = 1;	/* reserved must be 0 */
	T_ERR(EINVAL, hs_pool_create(&cfg));
	pool = qpool(HS_POOL_NO_CACHE, 0);
	T_ASSERT(pool);
	a = hs_get(pool);
	T_ASSERT(a && hs_put(pool, a) == 0);
	b = hs_get(pool);
	T_ASSERT(b == a);
	T_ASSERT(hs_put(pool, b) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
}

int main(void)
{
	stale_put();
	write_after_put();
	size_and_order();
	production();
	return T_EXIT_PASS;
}
