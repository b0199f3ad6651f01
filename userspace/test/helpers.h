/* SPDX-License-Identifier: MIT */
/*
 * helpers.h: shared by the unit tests. Each test is one program that exits
 * 0 (pass), 1 (fail) or 77 (skip).
 */
#ifndef HS_TEST_HELPERS_H
#define HS_TEST_HELPERS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hugeslab.h"

#define T_EXIT_PASS	0
#define T_EXIT_FAIL	1
#define T_EXIT_SKIP	77

#define T_FAIL(...)							\
	do {								\
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);		\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		exit(T_EXIT_FAIL);					\
	} while (0)

#define T_SKIP(...)							\
	do {								\
		fprintf(stderr, "SKIP: " __VA_ARGS__);			\
		fprintf(stderr, "\n");					\
		exit(T_EXIT_SKIP);					\
	} while (0)

/* Assert @cond; report errno, which is what most failures are about. */
#define T_ASSERT(cond)							\
	do {								\
		if (!(cond))						\
			T_FAIL("assertion '%s' failed (errno %d: %s)",	\
			       #cond, errno, strerror(errno));		\
	} while (0)

/* Assert that @expr fails with errno @err; one line per negative case. */
#define T_ERR(err, expr)						\
	do {								\
		errno = 0;						\
		long long __r = (long long)(intptr_t)(expr);		\
		if (__r != -1 && __r != 0)				\
			T_FAIL("'%s' returned %lld, expected failure",	\
			       #expr, __r);				\
		if (errno != (err))					\
			T_FAIL("'%s': errno %d (%s), expected %d (%s)",	\
			       #expr, errno, strerror(errno), (err),	\
			       strerror(err));				\
	} while (0)

static inline int t_have_device(void)
{
	return access("/dev/hugeslab", F_OK) == 0;
}

/*
 * Create a pool with fallback allowed and check the backend: where
 * /dev/hugeslab exists (the VM), the pool must come from the module.
 */
static inline struct hs_pool *t_pool_flags(uint64_t total, uint32_t buf_size,
					   uint32_t headroom, uint32_t flags,
					   const char *name)
{
	struct hs_pool_config cfg;
	struct hs_pool *pool;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = total;
	cfg.buf_size = buf_size;
	cfg.headroom = headroom;
	cfg.flags = flags | HS_POOL_ALLOW_FALLBACK;
	cfg.name = name;
	pool = hs_pool_create(&cfg);
	if (!pool)
		T_FAIL("hs_pool_create(%llu, %u): %s",
		       (unsigned long long)total, buf_size, strerror(errno));
	if (t_have_device() && hs_pool_backend(pool) != HS_BACKEND_MODULE)
		T_FAIL("/dev/hugeslab exists but backend is %s",
		       hs_backend_name(hs_pool_backend(pool)));
	if (!t_have_device() && hs_pool_backend(pool) == HS_BACKEND_MODULE)
		T_FAIL("module backend without /dev/hugeslab");
	return pool;
}

static inline struct hs_pool *t_pool(uint64_t total, uint32_t buf_size)
{
	return t_pool_flags(total, buf_size, 0, 0, "test");
}

static inline uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline void t_sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Whether all @len bytes at @p are HS_POISON_BYTE (debug pools). */
static inline int t_all_poison(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i] != HS_POISON_BYTE)
			return 0;
	return 1;
}

#endif /* HS_TEST_HELPERS_H */
