// SPDX-License-Identifier: GPL-2.0
/*
 * The module-wide cap bounds pools, not pins (admin-guide.rst, "The
 * module-wide cap"): once a pool is freed, its bytes leave pinned_bytes at
 * once, while io_uring fixed buffers registered on it keep its pages until
 * the ring goes.  This checks both halves of that statement, so the
 * documentation cannot drift from what the module does.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <sys/uio.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(32 * SZ_2M)

/* Wait up to @ms for MemAvailable to reach @want_kb; return the last value. */
static long wait_avail(long want_kb, int ms)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	long kb;

	for (;;) {
		kb = meminfo_kb("MemAvailable");
		if (kb >= want_kb || ms <= 0)
			return kb;
		nanosleep(&ts, NULL);
		ms -= 20;
	}
}

TEST(freed_pool_leaves_cap_pins_keep_pages)
{
	long freed_kb, after_kb, pool_kb = POOL_SIZE >> 10;
	struct io_uring ring;
	struct iovec iov;
	int fd;
	char *p;

	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	ASSERT_EQ(0, hs_pinned());

	fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, fd);
	p = hs_map(fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 1, POOL_SIZE);
	iov.iov_base = p;
	iov.iov_len = POOL_SIZE;
	ASSERT_EQ(0, io_uring_register_buffers(&ring, &iov, 1));

	/* Free the pool: no fd, no mapping; only the ring's pins are left. */
	ASSERT_EQ(0, munmap(p, POOL_SIZE));
	close(fd);
	ASSERT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, hs_nr_pools());
	/* io_uring accounts its pins itself, in this process's pinned_vm. */
	EXPECT_LE(pool_kb, proc_kb("/proc/self/status", "VmPin"));
	freed_kb = meminfo_kb("MemAvailable");

	/*
	 * Closing the ring unpins the pages, and only now are they free.  Half
	 * the pool is the bar: freed 2 MiB pages can sit in per-CPU lists,
	 * which MemAvailable does not count, and without the pins nothing at
	 * all comes back here.
	 */
	io_uring_queue_exit(&ring);
	after_kb = wait_avail(freed_kb + pool_kb / 2, 5000);
	TH_LOG("MemAvailable: %ld kB with the pins, %ld kB after the ring",
	       freed_kb, after_kb);
	EXPECT_LE(freed_kb + pool_kb / 2, after_kb);
}

TEST_HARNESS_MAIN
