// SPDX-License-Identifier: GPL-2.0
/*
 * RLIMIT_MEMLOCK is charged once: an unprivileged user whose pool fits the
 * limit can register that pool with io_uring (IORING_REGISTER_BUFFERS),
 * which charges user->locked_vm against the same limit, and the pools of
 * one user stay bounded by the limit across processes.  Root runs the
 * other tests, and CAP_IPC_LOCK skips every memlock check, so this one
 * drops to uid 65534 without capabilities, with `ulimit -l 8192`.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "privdrop.h"
#include "kselftest_harness.h"

#define LIMIT		(8UL << 20)	/* ulimit -l 8192 */
#define POOL_SIZE	(3 * SZ_2M)	/* 6 MiB: fits, but not twice */
#define IO_URING_DISABLED "/proc/sys/kernel/io_uring_disabled"

FIXTURE(memlock) {
	int fds[3];
	char old_disabled[8];
};

FIXTURE_SETUP(memlock)
{
	int i, fd;

	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	/* The device is root's 0660: open before dropping privileges. */
	for (i = 0; i < 3; i++) {
		self->fds[i] = hs_open();
		ASSERT_LE(0, self->fds[i]);
	}
	/* 6.6+ can forbid io_uring to users (Debian leaves it 0): allow it. */
	self->old_disabled[0] = 0;
	fd = open(IO_URING_DISABLED, O_RDWR);
	if (fd >= 0) {
		ASSERT_LT(0, read(fd, self->old_disabled,
				  sizeof(self->old_disabled) - 1));
		ASSERT_EQ(1, pwrite(fd, "0", 1, 0));
		close(fd);
	}
}

FIXTURE_TEARDOWN(memlock)
{
	int i, fd;

	for (i = 0; i < 3; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	if (self->old_disabled[0]) {
		fd = open(IO_URING_DISABLED, O_WRONLY);
		if (fd >= 0) {
			if (write(fd, self->old_disabled,
				  strlen(self->old_disabled)) < 0)
				perror(IO_URING_DISABLED);
			close(fd);
		}
	}
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/*
 * Fork, become nobody with RLIMIT_MEMLOCK = LIMIT, return fn's status.
 * The child gets the only copies of @fds, so its close() frees a pool.
 */
static int as_limited_nobody(int (*fn)(int *), int *fds)
{
	struct rlimit rl = { LIMIT, LIMIT };
	pid_t pid = fork();
	int st, i;

	if (pid < 0)
		return -1;
	if (!pid) {
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || drop_to_nobody())
			_exit(100);
		_exit(fn(fds));
	}
	for (i = 0; i < 3; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* One WRITE_FIXED from @buf (buffer 0) to @file; returns res or -errno. */
static int write_fixed(struct io_uring *ring, int file, void *buf, size_t len)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_write_fixed(sqe, file, buf, len, 0, 0);
	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_peek_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static int register_pool(int *fds)
{
	struct io_uring ring, ring2;
	char path[] = "/tmp/memlock_test.XXXXXX", back[64];
	struct iovec iov;
	int file, ret;
	char *p;

	if (hs_create(fds[0], POOL_SIZE))
		return 10;
	p = hs_map(fds[0], POOL_SIZE, 0);
	if (p == MAP_FAILED)
		return 11;
	if (io_uring_queue_init(4, &ring, 0))
		return 12;
	iov.iov_base = p;
	iov.iov_len = POOL_SIZE;
	/* Was ENOMEM: the pool's charge plus io_uring's exceeded 8 MiB. */
	ret = io_uring_register_buffers(&ring, &iov, 1);
	if (ret) {
		fprintf(stderr, "# IORING_REGISTER_BUFFERS: %s\n",
			strerror(-ret));
		return 13;
	}
	/* The registration works: a fixed write out of the last slab. */
	put_str(p + POOL_SIZE - SZ_2M, "registered unprivileged");
	file = mkstemp(path);
	if (file < 0)
		return 14;
	unlink(path);
	ret = write_fixed(&ring, file, p + POOL_SIZE - SZ_2M, sizeof(back));
	if (ret != sizeof(back))
		return 15;
	if (pread(file, back, sizeof(back), 0) != sizeof(back) ||
	    strcmp(back, "registered unprivileged"))
		return 16;
	close(file);

	/*
	 * io_uring's own bound still holds: a second ring's copy of the same
	 * 6 MiB would make 12 MiB of user->locked_vm.
	 */
	if (io_uring_queue_init(4, &ring2, 0))
		return 17;
	if (io_uring_register_buffers(&ring2, &iov, 1) != -ENOMEM)
		return 18;
	io_uring_queue_exit(&ring2);

	if (io_uring_unregister_buffers(&ring))
		return 19;
	io_uring_queue_exit(&ring);
	munmap(p, POOL_SIZE);
	return 0;
}

TEST_F(memlock, unprivileged_pool_registers_with_io_uring)
{
	EXPECT_EQ(0, as_limited_nobody(register_pool, self->fds));
}

/* Pools of one user count together, whichever process created them. */
static int second_process(int *fds)
{
	pid_t pid;
	int st;

	if (hs_create(fds[0], POOL_SIZE))
		return 10;
	pid = fork();
	if (pid < 0)
		return 11;
	if (!pid) {
		/* 6 + 4 MiB is over the limit, 6 + 2 MiB fits. */
		if (hs_create(fds[1], 2 * SZ_2M) != -ENOMEM)
			_exit(12);
		if (hs_create(fds[1], SZ_2M))
			_exit(13);
		if (hs_create(fds[2], SZ_2M) != -ENOMEM)
			_exit(14);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 15;
	if (WEXITSTATUS(st))
		return WEXITSTATUS(st);
	/* The child's pool lives in the parent's fd: still charged. */
	if (hs_create(fds[2], SZ_2M) != -ENOMEM)
		return 16;
	/* Closing gives the charge back. */
	close(fds[1]);
	if (hs_create(fds[2], SZ_2M))
		return 17;
	return 0;
}

TEST_F(memlock, per_user_across_processes)
{
	EXPECT_EQ(0, as_limited_nobody(second_process, self->fds));
}

/* Over the limit with one pool; a limit of zero is EPERM, as mlock(2). */
static int over_limit(int *fds)
{
	struct rlimit zero = { 0, 0 };

	if (hs_create(fds[0], LIMIT + SZ_2M) != -ENOMEM)
		return 10;
	if (hs_create(fds[0], LIMIT))
		return 11;
	close(fds[0]);
	if (setrlimit(RLIMIT_MEMLOCK, &zero))
		return 12;
	if (hs_create(fds[1], SZ_2M) != -EPERM)
		return 13;
	return 0;
}

TEST_F(memlock, limit_still_bounds_pools)
{
	EXPECT_EQ(0, as_limited_nobody(over_limit, self->fds));
}


/*
 * With step n failing: ENOMEM, and the user's whole limit is free again.
 * Returns 1 after a failure, 0 when CREATE had fewer than n steps.
 */
static int create_with_failure(int *fds)
{
	int ret = hs_create(fds[0], POOL_SIZE);

	if (!ret)
		return 0;
	if (ret != -ENOMEM)
		return 10;
	/* The hook has fired; a leaked charge, even of a slab, refuses this. */
	if (hs_create(fds[1], LIMIT))
		return 11;
	return 1;
}

/*
 * Every failure point of an unprivileged CREATE (which has one more than
 * root's: the user's entry in the memlock count) gives the charge back.
 */
TEST_F(memlock, every_unprivileged_create_step)
{
	int n, i, ret, failures = 0;

	if (access(FAIL_NTH, F_OK))
		SKIP(return, "no " FAIL_NTH);
	for (n = 1; n < 64; n++) {
		for (i = 0; i < 3; i++) {
			if (self->fds[i] < 0)
				self->fds[i] = hs_open();
			ASSERT_LE(0, self->fds[i]);
		}
		ASSERT_EQ(0, set_fail_nth(n));
		ret = as_limited_nobody(create_with_failure, self->fds);
		ASSERT_EQ(0, set_fail_nth(0));
		ASSERT_EQ(0, hs_wait_pinned(0, 2000));
		if (!ret)
			break;
		ASSERT_EQ(1, ret) TH_LOG("step %d", n);
		failures++;
	}
	TH_LOG("unprivileged CREATE of 3 slabs: %d failure points", failures);
	/* pool, arrays, charge, memlock entry, backing, register, 3 slabs */
	EXPECT_LE(9, failures);
}

TEST_HARNESS_MAIN
