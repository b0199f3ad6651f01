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
 *   get        hs_get alone (32 in a row from a full cache, per buffer)
 *   put        hs_put alone (32 in a row into the cache, per buffer)
 *   ref        hs_ref + hs_put on a buffer held once
 *   refill     get+put pairs cycling 4 x the cache: cache refills and flushes
 *              from/to the shared store, per pair
 *
 * Without valgrind it runs the same loops and prints the op counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include <valgrind/callgrind.h>

#include "hugeslab.h"

#define N	20000U
#define BULK	32U

static struct hs_pool *pool;
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
		void *b = hs_get(pool);

		__asm__ volatile("" : : "r"(b) : "memory");
		hs_put(pool, b);
	}
}

static __attribute__((noinline)) void s_bulk(void)
{
	unsigned int i;

	for (i = 0; i < N / BULK; i++) {
		if (hs_get_bulk(pool, v, BULK))
			abort();
		__asm__ volatile("" : : "r"(v) : "memory");
		hs_put_bulk(pool, v, BULK);
	}
}

static __attribute__((noinline)) void s_get(void)
{
	unsigned int i, j;

	for (i = 0; i < N / BULK; i++) {
		CALLGRIND_TOGGLE_COLLECT;
		for (j = 0; j < BULK; j++)
			v[j] = hs_get(pool);
		CALLGRIND_TOGGLE_COLLECT;
		for (j = 0; j < BULK; j++)
			hs_put(pool, v[j]);
	}
}

static __attribute__((noinline)) void s_put(void)
{
	unsigned int i, j;

	for (i = 0; i < N / BULK; i++) {
		for (j = 0; j < BULK; j++)
			v[j] = hs_get(pool);
		CALLGRIND_TOGGLE_COLLECT;
		for (j = 0; j < BULK; j++)
			hs_put(pool, v[j]);
		CALLGRIND_TOGGLE_COLLECT;
	}
}

static __attribute__((noinline)) void s_ref(void *b)
{
	unsigned int i;

	for (i = 0; i < N; i++) {
		hs_ref(pool, b);
		hs_put(pool, b);
	}
}

static __attribute__((noinline)) void s_refill(unsigned int k)
{
	unsigned int i, j;

	for (i = 0; i < N / k; i++) {
		for (j = 0; j < k; j++)
			v[j] = hs_get(pool);
		for (j = 0; j < k; j++)
			hs_put(pool, v[j]);
	}
}

int main(void)
{
	struct hs_pool_config cfg;
	unsigned int k;
	void *b;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 64U << 20;
	cfg.buf_size = 2048;
	cfg.cache_size = 256;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.name = "cg";
	pool = hs_pool_create(&cfg);
	if (!pool) {
		fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
		return 1;
	}
	/* warm the cache: the thread slot, its cache, a few buffers */
	s_refill(64);
	k = 4 * 256;
	if (k > sizeof(v) / sizeof(v[0]))
		return 1;

	SECTION("pair", N, s_pair());
	SECTION("bulk32", N / BULK * BULK, s_bulk());
	/* get and put: collection is toggled around the measured half only */
	SECTION_RAW("get", N / BULK * BULK, s_get());
	SECTION_RAW("put", N / BULK * BULK, s_put());
	b = hs_get(pool);
	SECTION("ref", N, s_ref(b));
	hs_put(pool, b);
	SECTION("refill", N / k * k, s_refill(k));
	hs_pool_destroy(pool, 0);
	return 0;
}
