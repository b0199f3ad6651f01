// SPDX-License-Identifier: GPL-2.0
/*
 * Every allocation step of CREATE and EXPORT_DMABUF, failed in turn with
 * the module's test_fail_nth hook: each failure is a clean -ENOMEM, leaves
 * nothing allocated or counted, and the fd stays usable.
 */
#define _GNU_SOURCE
#include <dirent.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define NR_SLABS	3

static int get_fail_nth(void)
{
	return read_long(FAIL_NTH);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

FIXTURE(failnth) {
	int unused;
};

FIXTURE_SETUP(failnth)
{
	if (access(FAIL_NTH, F_OK))
		SKIP(return, "no " FAIL_NTH);
	ASSERT_EQ(0, hs_pinned());
}

FIXTURE_TEARDOWN(failnth)
{
	set_fail_nth(0);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, hs_nr_pools());
}

TEST_F(failnth, every_create_step)
{
	struct hugeslab_stats before, after;
	int n, failures = 0;

	ASSERT_EQ(0, hs_stats(&before));
	for (n = 1; n < 64; n++) {
		int fd = hs_open();
		int ret;

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_fail_nth(n));
		ret = hs_create(fd, NR_SLABS * SZ_2M);
		if (!ret) {
			/* Past the last step: the hook never fired. */
			EXPECT_LT(0, get_fail_nth());
			close(fd);
			break;
		}
		failures++;
		EXPECT_EQ(-ENOMEM, ret);
		EXPECT_EQ(0, get_fail_nth());
		/* Nothing is left: no pinned bytes, no pool, no name. */
		EXPECT_EQ(0, hs_pinned());
		EXPECT_EQ(0, hs_nr_pools());
		/* The fd is still good for a CREATE that succeeds. */
		EXPECT_EQ(0, hs_create(fd, SZ_2M));
		close(fd);
		ASSERT_EQ(0, hs_wait_pinned(0, 2000));
	}
	TH_LOG("CREATE of %d slabs has %d failure points", NR_SLABS, failures);
	/* pool, arrays, charge, backing file, register, then one per slab */
	EXPECT_LE(5 + NR_SLABS, failures);
	ASSERT_EQ(0, hs_stats(&after));
	/* Each refused CREATE counted nowhere but the failure counters. */
	EXPECT_EQ(before.nr_created + failures + 1, after.nr_created);
}

TEST_F(failnth, every_dmabuf_export_step)
{
	int fd = hs_pool(2 * SZ_2M);
	int n, fds, failures = 0;

	ASSERT_LE(0, fd);
	fds = count_fds();
	for (n = 1; n < 16; n++) {
		struct hugeslab_export_dmabuf req = {
			.length = SZ_2M, .flags = HUGESLAB_DMABUF_CLOEXEC,
		};
		int ret;

		ASSERT_EQ(0, set_fail_nth(n));
		ret = ioctl(fd, HUGESLAB_IOC_EXPORT_DMABUF, &req) ? -errno : 0;
		if (!ret) {
			EXPECT_LT(0, get_fail_nth());
			close(req.fd);
			break;
		}
		failures++;
		EXPECT_EQ(-ENOMEM, ret);
		EXPECT_EQ(fds, count_fds());	/* no fd installed */
	}
	TH_LOG("EXPORT_DMABUF has %d failure points", failures);
	EXPECT_LE(2, failures);
	close(fd);
}

TEST_F(failnth, named_create_releases_the_name)
{
	struct hugeslab_create_named c = {
		.create = { .size = SZ_2M, .numa_node = -1,
			    .flags = HUGESLAB_CREATE_NAMED },
		.name = "failnth",
	};
	int fd = hs_open(), fd2 = hs_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_fail_nth(6));		/* the slab, after register */
	EXPECT_EQ(-1, ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &c));
	EXPECT_EQ(ENOMEM, errno);
	/* The name was given back with the pool. */
	EXPECT_EQ(0, ioctl(fd2, HUGESLAB_IOC_CREATE_NAMED, &c));
	close(fd);
	close(fd2);
}

TEST_HARNESS_MAIN
