// SPDX-License-Identifier: MIT
/*
 * cg-fastpath: the fast-path operations of libhugeslab, each run N times
 * between callgrind client requests, so that `valgrind --tool=callgrind`
 * reports instructions per operation (bench/callgrind-gate.sh). Instruction
 * counts do not depend on how busy the machine is, unlike wall time.
 *
 * Sections (one callgrind dump each, named after the operation):
 *   pair       hs_get + hs_put of one buffer, served by the thread's cache
 *   bulk32     hs_get_bulk + hs_put_bulk of 32 buffers (counted per buffer)
 *   bulkn      the same with the count known only at run time, as in most
 *              callers: the compiler cannot vectorise for a constant 32
 *   get        hs_get alone (32 in a row from a full cache, per buffer)
 *   put        hs_put alone (32 in a row into the cache, per buffer)
 *   ref        hs_ref + hs_put on a buffer held once
 *   refill     get+put pairs cycling 4 x the cache: cache refills and flushes
 *              from/to the shared store, per pair
 *
 * Without valgrind it runs the same loops and prints the op counts.
 *
 * Built twice (bench/Makefile): cg-fastpath against libhugeslab, and
 * cg-fastpath-dpdk (-DALLOC_DPDK) against rte_mempool with a 512-entry
 * per-lcore cache, the same loops through rte_mempool_get/put(_bulk), for
 * instruction counts side by side (callgrind-gate.sh --compare). rte_mempool
 * has no reference counts: its binary has no "ref" section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <valgrind/callgrind.h>

#if defined(ALLOC_DPDK)
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

static struct rte_mempool *pool;

static inline void *a_get(void)
{
	void *o;

	return rte_mempool_get(pool, &o) ? NULL : o;
}
#define a_put(b)	rte_mempool_put(pool, (b))
#define a_getn(v, n)	rte_mempool_get_bulk(pool, (v), (n))
#define a_putn(v, n)	rte_mempool_put_bulk(pool, (v), (n))
#else
#include "hugeslab.h"

static struct hs_pool *pool;

#define a_get()		hs_get(pool)
#define a_put(b)	hs_put(pool, (b))
#define a_getn(v, n)	hs_get_bulk(pool, (v), (n))
#define a_putn(v, n)	hs_put_bulk(pool, (v), (n))
#endif

#define N	20000U
#define BULK	32U

static void *v[4096];

/* Run with --collect-atstart=no: only the toggled-on parts count. */
#define SECTION_RAW(name, per, body)					\
	do {								\
		CALLGRIND_ZERO_STATS;					\
		body;							\
		CALLGRIND_DUMP_STATS_AT(name);				\
		printf("%s %u\n", name, (unsigned int)(per));		\
	} while (0)
#define SECTION(name, per, body)					\
	SECTION_RAW(name, per, CALLGRIND_TOGGLE_COLLECT; body;		\
		    CALLGRIND_TOGGLE_COLLECT)

static __attribute__((noinline)) void s_pair(void)
{
	unsigned int i;

	for (i = 0; i < N; i++) {
		void *b = a_get();

		__asm__ volatile("" : : "r"(b) : "memory");
		a_put(b);
	}
}

/* Inlined into both callers: s_bulk() with n a constant, s_bulkn() not. */
static inline __attribute__((always_inline)) void bulk_loop(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < N / n; i++) {
		if (a_getn(v, n))
			abort();
		__asm__ volatile("" : : "r"(v) : "memory");
		a_putn(v, n);
	}
}

static __attribute__((noinline)) void s_bulk(void)
{
	bulk_loop(BULK);
}

static __attribute__((noinline)) void s_bulkn(unsigned int n)
{
	bulk_loop(n);
}

static __attribute__((noinline)) void s_get(void)
{
	unsigned int i, j;

	for (i = 0; i < N / BULK; i++) {
		CALLGRIND_TOGGLE_COLLECT;
		for (j = 0; j < BULK; j++)
			v[j] = a_get();
		CALLGRIND_TOGGLE_COLLECT;
		for (j = 0; j < BULK; j++)
			a_put(v[j]);
	}
}

static __attribute__((noinline)) void s_put(void)
{
	unsigned int i, j;

	for (i = 0; i < N / BULK; i++) {
		for (j = 0; j < BULK; j++)
			v[j] = a_get();
		CALLGRIND_TOGGLE_COLLECT;
		for (j = 0; j < BULK; j++)
			a_put(v[j]);
		CALLGRIND_TOGGLE_COLLECT;
	}
}

#if !defined(ALLOC_DPDK)
static __attribute__((noinline)) void s_ref(void *b)
{
	unsigned int i;

	for (i = 0; i < N; i++) {
		hs_ref(pool, b);
		a_put(b);
	}
}
#endif

static __attribute__((noinline)) void s_refill(unsigned int k)
{
	unsigned int i, j;

	for (i = 0; i < N / k; i++) {
		for (j = 0; j < k; j++)
			v[j] = a_get();
		for (j = 0; j < k; j++)
			a_put(v[j]);
	}
}

#if defined(ALLOC_DPDK)
static int pool_setup(int argc, char **argv)
{
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return -1;
	}
	pool = rte_mempool_create("cg", 32768, 2048, 512, 0, NULL, NULL, NULL,
				  NULL, SOCKET_ID_ANY, 0);
	if (!pool) {
		fprintf(stderr, "rte_mempool_create failed\n");
		return -1;
	}
	return 0;
}
#else
static int pool_setup(int argc, char **argv)
{
	struct hs_pool_config cfg;

	(void)argc;
	(void)argv;
	hs_pool_config_init(&cfg);
	cfg.total_bytes = 64U << 20;
	cfg.buf_size = 2048;
	cfg.cache_size = 256;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.name = "cg";
	pool = hs_pool_create(&cfg);
	if (!pool) {
		fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}
#endif

int main(int argc, char **argv)
{
	/* volatile: the count of s_bulkn() is no constant to the compiler */
	volatile unsigned int bulkn = BULK;
	unsigned int k;

	if (pool_setup(argc, argv))
		return 1;
	/* warm the cache: the thread slot, its cache, a few buffers */
	s_refill(64);
	k = 4 * 256;
	if (k > sizeof(v) / sizeof(v[0]))
		return 1;

	SECTION("pair", N, s_pair());
	SECTION("bulk32", N / BULK * BULK, s_bulk());
	SECTION("bulkn", N / BULK * BULK, s_bulkn(bulkn));
	/* get and put: collection is toggled around the measured half only */
	SECTION_RAW("get", N / BULK * BULK, s_get());
	SECTION_RAW("put", N / BULK * BULK, s_put());
#if !defined(ALLOC_DPDK)
	{
		void *b = a_get();

		SECTION("ref", N, s_ref(b));
		a_put(b);
	}
#endif
	SECTION("refill", N / k * k, s_refill(k));
#if defined(ALLOC_DPDK)
	rte_mempool_free(pool);
	rte_eal_cleanup();
#else
	hs_pool_destroy(pool, 0);
#endif
	return 0;
}
