// SPDX-License-Identifier: GPL-2.0
/*
 * A crashing process does not write its pools into its core dump (the
 * default coredump_filter dumps shared memory), unless the dump_pools
 * module parameter asks for them: that run is the test's control, showing
 * the dump is big when the pool is in it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(16 * SZ_2M)
#define CORE_PATTERN	"/proc/sys/kernel/core_pattern"
#define DUMP_PARAM	"/sys/module/hugeslab/parameters/dump_pools"
#define CORE_DIR	"/tmp/hugeslab-core"

static int read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ret = -1;

	if (!f)
		return -1;
	if (fgets(buf, len, f)) {
		buf[strcspn(buf, "\n")] = 0;
		ret = 0;
	}
	fclose(f);
	return ret;
}

static int write_str(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%s\n", val) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

FIXTURE(dump) {
	char old_pattern[256];
	char old_dump[8];
	char core[64];
};

FIXTURE_SETUP(dump)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	ASSERT_EQ(0, read_str(CORE_PATTERN, self->old_pattern,
			      sizeof(self->old_pattern)));
	ASSERT_EQ(0, read_str(DUMP_PARAM, self->old_dump,
			      sizeof(self->old_dump)));
	ASSERT_TRUE(mkdir(CORE_DIR, 0700) == 0 || errno == EEXIST);
	ASSERT_EQ(0, write_str(CORE_PATTERN, CORE_DIR "/core.%p"));
}

FIXTURE_TEARDOWN(dump)
{
	if (self->core[0])
		unlink(self->core);
	EXPECT_EQ(0, write_str(CORE_PATTERN, self->old_pattern));
	EXPECT_EQ(0, write_str(DUMP_PARAM, self->old_dump));
}

/* Child: map the pool, dirty every page of it, crash. */
static void crash_with_pool(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	size_t off;
	char *p;
	int fd;

	if (setrlimit(RLIMIT_CORE, &rl))
		_exit(10);
	fd = hs_pool(POOL_SIZE);
	if (fd < 0)
		_exit(11);
	p = hs_map(fd, POOL_SIZE, 0);
	if (p == MAP_FAILED)
		_exit(12);
	/* Non-zero data everywhere, so no page can be left out as a hole. */
	for (off = 0; off < POOL_SIZE; off += SZ_4K)
		memset(p + off, 0xa5, SZ_4K);
	abort();
}

/* Crash a child holding a pool; return the size of its core file in bytes. */
static long long dump_size(struct __test_metadata *_metadata, char *core,
			   size_t len)
{
	struct stat st;
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		crash_with_pool();
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status)) {
		TH_LOG("child exited with %d", WEXITSTATUS(status));
	}
	ASSERT_EQ(SIGABRT, WTERMSIG(status));
	ASSERT_TRUE(WCOREDUMP(status));
	snprintf(core, len, CORE_DIR "/core.%d", pid);
	ASSERT_EQ(0, stat(core, &st));
	/* Allocated bytes: a dump may skip holes, which st_size would count. */
	TH_LOG("core: %lld bytes, %lld allocated, pool %lu",
	       (long long)st.st_size, (long long)st.st_blocks * 512, POOL_SIZE);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	return (long long)st.st_blocks * 512;
}

TEST_F(dump, pool_left_out)
{
	long long size;

	ASSERT_EQ(0, write_str(DUMP_PARAM, "N"));
	size = dump_size(_metadata, self->core, sizeof(self->core));
	/* A static test binary dumps well under 2 MiB without the pool. */
	EXPECT_GT(POOL_SIZE / 8, size);
}

/* Control: the same crash with the pool in the dump gives a big core. */
TEST_F(dump, dump_pools_param_puts_it_back)
{
	long long size;

	ASSERT_EQ(0, write_str(DUMP_PARAM, "Y"));
	size = dump_size(_metadata, self->core, sizeof(self->core));
	EXPECT_LE(POOL_SIZE, size);
}

TEST_HARNESS_MAIN
