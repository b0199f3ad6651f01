// SPDX-License-Identifier: MIT
/*
 * t-config: bad configurations and bad arguments fail with errno set, never
 * crash, abort or print.
 */
#include "helpers.h"

static struct hs_pool_config good(void)
{
	struct hs_pool_config cfg;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2UL << 20;
	cfg.buf_size = 2048;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	return cfg;
}

#define T_BAD_CFG(err, field, value)					\
	do {								\
		struct hs_pool_config c = good();			\
		c.field = value;					\
		T_ERR(err, hs_pool_create(&c));				\
	} while (0)

int main(void)
{
	struct hs_pool_config cfg = good();
	struct hs_pool *pool;
	int x;

	/* NULL configuration */
	T_ERR(EINVAL, hs_pool_create(NULL));
	/* unknown flag */
	T_BAD_CFG(EINVAL, flags, HS_POOL_ALLOW_FALLBACK | (1U << 31));
	T_BAD_CFG(EINVAL, flags, HS_POOL_FLAGS_MASK + 1);
	/* reserved field not zero */
	T_BAD_CFG(EINVAL, reserved[2], 1);
	T_BAD_CFG(EINVAL, reserved32, 1);
	/* a quarantine size without HS_POOL_DEBUG */
	T_BAD_CFG(EINVAL, quarantine, 8);
	/* buffer size out of range */
	T_BAD_CFG(EINVAL, buf_size, 0);
	T_BAD_CFG(EINVAL, buf_size, 511);
	T_BAD_CFG(EINVAL, buf_size, (2U << 20) + 1);
	/* headroom that leaves no room in a slab */
	T_BAD_CFG(EINVAL, headroom, 2U << 20);
	/* no memory asked for, or more than a pool may have */
	T_BAD_CFG(EINVAL, total_bytes, 0);
	T_BAD_CFG(EINVAL, total_bytes, (1ULL << 40) + 1);
	/* bad NUMA node */
	T_BAD_CFG(EINVAL, numa_node, -2);
	/* cache too large */
	T_BAD_CFG(EINVAL, cache_size, HS_CACHE_SIZE_MAX + 1);
	/* mode bits beyond permissions */
	T_BAD_CFG(EINVAL, stats_mode, 04600);
	/* names: too long, or characters that do not belong in a file name */
	T_BAD_CFG(EINVAL, name, "a-name-that-is-longer-than-31-chars");
	T_BAD_CFG(EINVAL, name, "../etc");
	T_BAD_CFG(EINVAL, name, "sp ace");
	{
		/* headroom + 2 MiB buffer cannot fit one slab */
		struct hs_pool_config c = good();

		c.buf_size = 2U << 20;
		c.headroom = 64;
		T_ERR(EINVAL, hs_pool_create(&c));
	}
	if (!t_have_device()) {
		/* no device and no fallback allowed */
		cfg.flags = 0;
		T_ERR(ENOENT, hs_pool_create(&cfg));
		cfg.flags = HS_POOL_ALLOW_FALLBACK;
	}

	/* NULL pool everywhere */
	T_ERR(EINVAL, hs_get(NULL));
	T_ERR(EINVAL, hs_get_wait(NULL, 1000));
	T_ERR(EINVAL, hs_put(NULL, &x));
	T_ERR(EINVAL, hs_ref(NULL, &x));
	T_ERR(EINVAL, hs_pool_destroy(NULL, 0));
	T_ERR(EINVAL, hs_pool_stats(NULL, NULL));
	T_ERR(EINVAL, hs_pool_leaks(NULL, 0, NULL, NULL));
	T_ERR(EINVAL, hs_pool_check(NULL));
	T_ERR(EINVAL, hs_pool_stats_path(NULL));
	T_ERR(EINVAL, hs_thread_flush(NULL));
	T_ERR(EINVAL, hs_pool_dump(NULL, stderr));
	errno = 0;
	T_ASSERT(hs_pool_backend(NULL) == HS_BACKEND_NONE && errno == EINVAL);
	errno = 0;
	T_ASSERT(hs_pool_nr_bufs(NULL) == 0 && errno == EINVAL);
	T_ASSERT(strcmp(hs_backend_name((enum hs_backend)42), "unknown") == 0);
	/* tags out of range */
	T_ERR(EINVAL, hs_thread_set_tag(HS_MAX_TAGS));

	pool = hs_pool_create(&cfg);
	T_ASSERT(pool);
	T_ERR(EINVAL, hs_get_tagged(pool, HS_MAX_TAGS));
	T_ERR(EINVAL, hs_get_bulk(pool, NULL, 4));
	T_ERR(EINVAL, hs_tag_name(pool, HS_MAX_TAGS, "x"));
	T_ERR(EINVAL, hs_tag_name(pool, 1, NULL));
	T_ERR(EINVAL, hs_pool_stats(pool, NULL));
	/* unknown destroy flag: pool untouched */
	T_ERR(EINVAL, hs_pool_destroy(pool, 1U << 7));
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
