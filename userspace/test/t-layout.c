// SPDX-License-Identifier: MIT
/*
 * t-layout: hs_pool_create() and hs_pool_attach() refuse a caller compiled
 * against a hugeslab.h whose structure layout is not the library's.
 *
 * Built twice: as t-layout against the real header, where both must work,
 * and as t-layout-skew (-DT_LAYOUT_SKEW) against a copy whose struct
 * hs_pool has a wider field (see the Makefile), where both must fail
 * ENOEXEC before touching anything.
 */
#include <fcntl.h>

#include "helpers.h"

int main(void)
{
	struct hs_attach_config ac;
	struct hs_pool_config cfg;
	struct hs_pool *pool;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2UL << 20;
	cfg.buf_size = 4096;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	hs_attach_config_init(&ac);
	/* not a pool: a good layout gets EINVAL from it */
	ac.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	T_ASSERT(ac.fd >= 0);
	ac.buf_size = 4096;
#ifdef T_LAYOUT_SKEW
	/* the fingerprint differs: refused, whatever the configuration */
	T_ERR(ENOEXEC, hs_pool_create(&cfg));
	T_ERR(ENOEXEC, hs_pool_create(NULL));
	T_ERR(ENOEXEC, hs_pool_attach(&ac));
	(void)pool;
#else
	T_ASSERT(__hs_layout() == __hs_layout());
	pool = hs_pool_create(&cfg);
	T_ASSERT(pool);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	T_ERR(EINVAL, hs_pool_create(NULL));
	/* the layout passes; the descriptor is what is refused */
	T_ERR(EINVAL, hs_pool_attach(&ac));
	/* a fingerprint that is not the library's, as a stale binary has */
	T_ERR(ENOEXEC, __hs_pool_create(&cfg, __hs_layout() ^ 1));
	T_ERR(ENOEXEC, __hs_pool_attach(&ac, __hs_layout() + 1));
#endif
	close(ac.fd);
	return T_EXIT_PASS;
}
