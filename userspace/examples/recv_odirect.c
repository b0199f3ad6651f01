// SPDX-License-Identifier: MIT
/* recv_odirect: receive into a pool buffer, write it to a file with O_DIRECT. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hugeslab.h"

int main(int argc, char **argv)
{
	struct hs_pool_config cfg;
	struct hs_pool *pool;
	int sv[2], fd, ret = 1;
	char *buf;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2 << 20;
	cfg.buf_size = 4096;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	pool = hs_pool_create(&cfg);
	if (!pool || !(buf = hs_get(pool)) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return perror("setup"), 1;
	write(sv[1], "hello, disk", 11);			/* the "network" */
	memset(buf + recv(sv[0], buf, 4096, 0), 0, 4096 - 11);	/* zero-copy receive */
	fd = open(argc > 1 ? argv[1] : "recv_odirect.out", O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL)
		return printf("SKIP: O_DIRECT not supported here\n"), 77;
	if (fd >= 0 && pwrite(fd, buf, 4096, 0) == 4096)	/* DMA straight from the slab */
		ret = 0;
	printf("%s: wrote 4096 bytes with O_DIRECT from a %s buffer\n", ret ? "FAIL" : "ok", hs_backend_name(hs_pool_backend(pool)));
	hs_put(pool, buf);
	return hs_pool_destroy(pool, 0) ? 1 : ret;
}
