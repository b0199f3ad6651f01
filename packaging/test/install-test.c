// SPDX-License-Identifier: MIT
/*
 * A consumer of an installed libhugeslab, as a storage daemon would be:
 * scripts/test-install.sh builds it with nothing but
 * `pkg-config --cflags --libs hugeslab` against a DESTDIR install, and runs
 * it on the host (fallback backend) and in the VM (module backend).
 *
 *   install-test [--module]
 *
 * --module: the pool must come from /dev/hugeslab (no fallback allowed).
 * Prints the backend; exits 0 when a pool was created, a buffer taken,
 * written, returned, and the pool destroyed cleanly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hugeslab.h>
#include <linux/hugeslab.h>	/* the UAPI header is installed too */

int main(int argc, char **argv)
{
	int need_module = argc > 1 && strcmp(argv[1], "--module") == 0;
	struct hs_pool_config cfg;
	struct hs_pool *pool;
	enum hs_backend be;
	void *buf;
	int ret;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2 * HUGESLAB_SLAB_SIZE;
	cfg.buf_size = 4096;
	cfg.name = "install-test";
	if (!need_module)
		cfg.flags |= HS_POOL_ALLOW_FALLBACK;

	pool = hs_pool_create(&cfg);
	if (!pool) {
		fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
		return 1;
	}
	be = hs_pool_backend(pool);
	printf("backend: %s\n", hs_backend_name(be));
	if (need_module && be != HS_BACKEND_MODULE) {
		fprintf(stderr, "expected the module backend\n");
		return 1;
	}
	buf = hs_get(pool);
	if (!buf) {
		fprintf(stderr, "hs_get: %s\n", strerror(errno));
		return 1;
	}
	memset(buf, 0xa5, 4096);
	if (hs_put(pool, buf) != 0) {
		fprintf(stderr, "hs_put: %s\n", strerror(errno));
		return 1;
	}
	ret = hs_pool_destroy(pool, 0);
	if (ret != 0) {
		fprintf(stderr, "hs_pool_destroy: %d (%s)\n", ret, strerror(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
