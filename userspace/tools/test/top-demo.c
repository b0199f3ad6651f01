// SPDX-License-Identifier: GPL-2.0
/*
 * top-demo: a libhugeslab process for testing `hugeslabctl top`.  It
 * creates the pool "topdemo" (on /dev/hugeslab when it can), takes 5
 * buffers with tag 1 ("rx") and 3 with tag 2 ("disk"), returns one "rx"
 * buffer, refreshes the statistics, prints "ready <pid>" and waits until
 * its stdin closes.
 */
#include <stdio.h>
#include <unistd.h>

#include "hugeslab.h"

int main(void)
{
	struct hs_pool_config cfg;
	struct hs_pool_stats st;
	struct hs_pool *pool;
	void *bufs[8];
	char c;
	int i;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 4 << 20;
	cfg.buf_size = 4096;
	cfg.name = "topdemo";
	pool = hs_pool_create(&cfg);
	if (!pool) {
		perror("hs_pool_create");
		return 1;
	}
	if (hs_tag_name(pool, 1, "rx") || hs_tag_name(pool, 2, "disk")) {
		perror("hs_tag_name");
		return 1;
	}
	for (i = 0; i < 8; i++) {
		bufs[i] = hs_get_tagged(pool, i < 5 ? 1 : 2);
		if (!bufs[i]) {
			perror("hs_get_tagged");
			return 1;
		}
	}
	hs_put(pool, bufs[0]);
	if (hs_pool_stats(pool, &st)) {
		perror("hs_pool_stats");
		return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}
