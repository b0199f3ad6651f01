// SPDX-License-Identifier: GPL-2.0
/*
 * A pool lives while its fd or any mapping does, whatever the order they go
 * away in, kill -9 included, and the module stays loaded until then.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(64 * SZ_2M)

FIXTURE(life) {
	long avail_before;
	long shmem_thp_before;
};

FIXTURE_SETUP(life)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	ASSERT_EQ(0, hs_pinned());
	self->avail_before = meminfo_kb("MemAvailable");
	self->shmem_thp_before = meminfo_kb("ShmemHugePages");
}

/*
 * The pages are back in /proc/meminfo: exactly, for the shmem THP count;
 * within the per-cpu free lists' slack for MemAvailable (a leaked pool of
 * POOL_SIZE would exceed it).
 */
static int memory_back(long avail_before, long thp_before)
{
	if (meminfo_kb("ShmemHugePages") != thp_before)
		return 0;
	return avail_before - meminfo_kb("MemAvailable") < (long)(POOL_SIZE >> 10) / 2;
}

FIXTURE_TEARDOWN(life)
{
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, hs_nr_pools());
	/* What the counters say, /proc/meminfo agrees with. */
	EXPECT_TRUE(memory_back(self->avail_before, self->shmem_thp_before));
}

TEST_F(life, create_close)
{
	int fd = hs_pool(POOL_SIZE);

	ASSERT_LE(0, fd);
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	close(fd);
	EXPECT_EQ(0, hs_pinned());
}

TEST_F(life, map_unmap_close)
{
	int fd = hs_pool(POOL_SIZE);
	char *p = hs_map(fd, POOL_SIZE, 0);

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_EQ(0, munmap(p, POOL_SIZE));
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	close(fd);
	EXPECT_EQ(0, hs_pinned());
}

TEST_F(life, map_close_unmap)
{
	int fd = hs_pool(POOL_SIZE);
	char *p = hs_map(fd, POOL_SIZE, 0);

	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	/* The mapping still holds the pool, its charge and its data. */
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	EXPECT_EQ(1, hs_nr_pools());
	memset(p, 7, POOL_SIZE);
	EXPECT_EQ(7, p[POOL_SIZE - 1]);
	ASSERT_EQ(0, munmap(p, POOL_SIZE));
	EXPECT_EQ(0, hs_pinned());
}

TEST_F(life, two_maps_close_between)
{
	int fd = hs_pool(POOL_SIZE);
	char *a = hs_map(fd, POOL_SIZE, 0);
	char *b = hs_map(fd, SZ_2M, 2 * SZ_2M);

	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, munmap(a, POOL_SIZE));
	close(fd);
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	b[0] = 1;
	ASSERT_EQ(0, munmap(b, SZ_2M));
	EXPECT_EQ(0, hs_pinned());
}

TEST_F(life, dup_and_fork_hold_the_fd)
{
	int fd = hs_pool(POOL_SIZE);
	int fd2 = dup(fd);
	pid_t pid;
	int status;

	ASSERT_LE(0, fd2);
	close(fd);
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *p = hs_map(fd2, POOL_SIZE, 0);

		_exit(p == MAP_FAILED);
	}
	close(fd2);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/* A child creates, maps and touches a pool, then is killed mid-use. */
static void kill_holder(struct __test_metadata *_metadata, int close_fd)
{
	int pipefd[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = hs_pool(POOL_SIZE);
		char *p = fd < 0 ? MAP_FAILED : hs_map(fd, POOL_SIZE, 0);

		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 3, POOL_SIZE);
		if (close_fd)
			close(fd);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	ASSERT_EQ(1, read(pipefd[0], &c, 1));
	close(pipefd[0]);
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	EXPECT_EQ(0, hs_wait_pinned(0, 5000));
	EXPECT_EQ(0, hs_nr_pools());
}

TEST_F(life, kill9_holding_fd_and_map)
{
	kill_holder(_metadata, 0);
}

TEST_F(life, kill9_holding_only_map)
{
	kill_holder(_metadata, 1);
}

/* Runs last: it unloads and reloads the module. */
TEST_F(life, rmmod_waits_for_fd_and_mapping)
{
	const char *ko = getenv("HUGESLAB_KO");
	int fd;
	char *p;

	if (!ko)
		SKIP(return, "HUGESLAB_KO is not set");
	fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, fd);
	p = hs_map(fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);

	EXPECT_EQ(-EWOULDBLOCK, delete_module("hugeslab"));
	close(fd);
	/* Only the mapping is left, and it still pins the module. */
	EXPECT_EQ(-EWOULDBLOCK, delete_module("hugeslab"));
	p[0] = 1;
	ASSERT_EQ(0, munmap(p, POOL_SIZE));
	ASSERT_EQ(0, delete_module("hugeslab"));
	EXPECT_EQ(0, wait_for_device(0));
	EXPECT_TRUE(memory_back(self->avail_before, self->shmem_thp_before));

	ASSERT_EQ(0, load_module(ko));
	ASSERT_EQ(0, wait_for_device(1));
}

TEST_HARNESS_MAIN
