// SPDX-License-Identifier: GPL-2.0
/*
 * An O_PATH handle on a pool's backing inode, taken through
 * /proc/self/map_files, outlives the pool and the module.  When the pool
 * goes, the inode must keep none of its pages, and once the module is
 * unloaded, opening the handle must fail cleanly instead of calling into
 * freed module text.  Needs CAP_CHECKPOINT_RESTORE (root in the VM).
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(8 * SZ_2M)

/* Open @opath's inode again through its /proc/self/fd link. */
static int reopen(int opath, int flags)
{
	char link[64];
	int fd;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", opath);
	fd = open(link, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Unloads and reloads the module, so it runs after lifetime_test. */
TEST(opath_handle_survives_rmmod)
{
	const char *ko = getenv("HUGESLAB_KO");
	long thp_before;
	char path[96];
	int fd, opath;
	char *p;

	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	if (!ko)
		SKIP(return, "HUGESLAB_KO is not set");
	thp_before = meminfo_kb("ShmemHugePages");

	fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, fd);
	p = hs_map(fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, POOL_SIZE);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)p, (unsigned long)p + POOL_SIZE);
	opath = open(path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, opath) {
		TH_LOG("open(%s, O_PATH): %s", path, strerror(errno));
	}
	/* While the pool lives, the file cannot be reopened for I/O. */
	EXPECT_EQ(-EPERM, reopen(opath, O_RDWR));

	ASSERT_EQ(0, munmap(p, POOL_SIZE));
	close(fd);
	ASSERT_EQ(0, hs_wait_pinned(0, 2000));
	/* The handle keeps the inode, but not the pool's 2 MiB pages. */
	EXPECT_EQ(thp_before, meminfo_kb("ShmemHugePages"));

	/* Nothing holds the module: the handle is not a user of it. */
	ASSERT_EQ(0, delete_module("hugeslab"));
	ASSERT_EQ(0, wait_for_device(0));
	/* Before the fix, this called the unloaded module's fops (oops). */
	EXPECT_EQ(-EIO, reopen(opath, O_RDWR));
	EXPECT_EQ(-EIO, reopen(opath, O_RDONLY));
	close(opath);

	ASSERT_EQ(0, load_module(ko));
	ASSERT_EQ(0, wait_for_device(1));
}

TEST_HARNESS_MAIN
