// SPDX-License-Identifier: GPL-2.0
/*
 * Crash and load safety: kill -9 at random points of many processes that
 * create, attach, share (fork, SCM_RIGHTS) and do O_DIRECT and io_uring I/O
 * on pools; pools under memory pressure, in a memory cgroup, and with the
 * OOM killer acting on their holder. Afterwards the module holds nothing
 * and /proc/meminfo shows the memory back.
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define NR_WORKERS	6
#define NR_KILLS	48
#define CG		"/sys/fs/cgroup/hugeslab-test"

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int send_fd(int sock, int fd)
{
	char c = 'f', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { &c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static void io_round(uint64_t *s, char *p, size_t len, int disk, off_t off)
{
	struct io_uring ring;
	struct iovec iov = { p, len };

	if (disk < 0)
		return;
	if (rnd(s) % 2) {
		if (pwrite(disk, p, SZ_2M, off) < 0)
			return;
		if (pread(disk, p + SZ_2M, SZ_2M, off) < 0)
			return;
		return;
	}
	if (io_uring_queue_init(4, &ring, 0))
		return;
	if (!io_uring_register_buffers(&ring, &iov, 1)) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;

		io_uring_prep_write_fixed(sqe, disk, p, SZ_2M, off, 0);
		io_uring_submit(&ring);
		if (!io_uring_wait_cqe(&ring, &cqe))
			io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
}

/* One worker: forever create or attach, share, map, do I/O, drop. */
static void worker(int id, uint64_t seed, const char *disk_path)
{
	int disk = disk_path ? open(disk_path, O_RDWR | O_DIRECT) : -1;
	uint64_t s = seed | 1;
	char name[HUGESLAB_NAME_MAX];

	snprintf(name, sizeof(name), "crash-%d", id % 3);
	for (;;) {
		size_t len = (rnd(&s) % 4 + 2) * SZ_2M;
		int fd = hs_open(), sv[2], shared = -1;
		char *p;

		if (fd < 0)
			continue;
		if (rnd(&s) % 2) {
			struct hugeslab_create_named c = {
				.create = { .size = len, .numa_node = -1,
					    .flags = HUGESLAB_CREATE_NAMED },
			};

			memcpy(c.name, name, sizeof(name));
			if (ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &c)) {
				struct hugeslab_attach a = { 0 };

				memcpy(a.name, name, sizeof(name));
				if (ioctl(fd, HUGESLAB_IOC_ATTACH, &a)) {
					close(fd);
					continue;
				}
				len = 2 * SZ_2M;	/* every pool has two */
			}
		} else if (hs_create(fd, len)) {
			close(fd);
			continue;
		}
		/* Share the fd with ourselves through a socket. */
		if (!socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
			if (!send_fd(sv[0], fd))
				shared = recv_fd(sv[1]);
			close(sv[0]);
			close(sv[1]);
		}
		p = hs_map(shared >= 0 ? shared : fd, len, 0);
		if (rnd(&s) % 2)
			close(fd), fd = -1;
		if (p != MAP_FAILED) {
			memset(p, id, len);
			io_round(&s, p, len, disk, (off_t)(id * 8) * SZ_2M);
			if (rnd(&s) % 4 == 0) {
				pid_t pid = fork();

				if (!pid) {
					p[0] = 1;
					_exit(0);
				}
				if (pid > 0)
					waitpid(pid, NULL, 0);
			}
			if (rnd(&s) % 2)
				munmap(p, len);
		}
		if (fd >= 0)
			close(fd);
		if (shared >= 0)
			close(shared);
	}
}

FIXTURE(crash) {
	long avail_before;
	long thp_before;
};

FIXTURE_SETUP(crash)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	ASSERT_EQ(0, hs_pinned());
	self->avail_before = meminfo_kb("MemAvailable");
	self->thp_before = meminfo_kb("ShmemHugePages");
}

FIXTURE_TEARDOWN(crash)
{
	EXPECT_EQ(0, hs_wait_pinned(0, 5000));
	EXPECT_EQ(0, hs_nr_pools());
	/* Exact: every slab of every pool is back with the page allocator. */
	EXPECT_EQ(self->thp_before, meminfo_kb("ShmemHugePages"));
	/*
	 * Loose: per-cpu lists, evicted caches and, on the debug kernel,
	 * KASAN's quarantine of freed objects move MemAvailable by tens of
	 * MiB on their own.
	 */
	EXPECT_LT(self->avail_before - meminfo_kb("MemAvailable"), 128 * 1024);
}

TEST_F(crash, kill9_storm)
{
	const char *disk = getenv("HUGESLAB_TEST_DISK");
	pid_t pids[NR_WORKERS];
	uint64_t s = (uint64_t)time(NULL) | 1;
	struct timespec ts;
	int i, k;

	TH_LOG("seed %llu", (unsigned long long)s);
	for (i = 0; i < NR_WORKERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i])
			worker(i, rnd(&s), disk);
	}
	for (k = 0; k < NR_KILLS; k++) {
		i = rnd(&s) % NR_WORKERS;
		ts.tv_sec = 0;
		ts.tv_nsec = (rnd(&s) % 80) * 1000 * 1000;
		nanosleep(&ts, NULL);
		ASSERT_EQ(0, kill(pids[i], SIGKILL));
		ASSERT_EQ(pids[i], waitpid(pids[i], NULL, 0));
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i])
			worker(i, rnd(&s), disk);
	}
	for (i = 0; i < NR_WORKERS; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	TH_LOG("%d kills", NR_KILLS + NR_WORKERS);
}

TEST_F(crash, larger_than_free_memory)
{
	struct hugeslab_stats before, after;
	uint64_t size = ((uint64_t)meminfo_kb("MemTotal") << 10) & ~(SZ_2M - 1);
	int fd = hs_open();
	char cap[32];
	FILE *f;

	ASSERT_LE(0, fd);
	/* Lift the cap to all of RAM so the page allocator is what refuses. */
	f = fopen("/sys/module/hugeslab/parameters/max_pinned_mb", "r+");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(cap, sizeof(cap), f));
	fprintf(f, "%llu\n", (unsigned long long)(size >> 20));
	fclose(f);

	ASSERT_EQ(0, hs_stats(&before));
	EXPECT_EQ(-ENOMEM, hs_create(fd, size));
	ASSERT_EQ(0, hs_stats(&after));
	EXPECT_EQ(before.alloc_failures + 1, after.alloc_failures);
	EXPECT_EQ(0, after.pinned_bytes);
	/* Refused cleanly: the fd still takes a pool that fits. */
	EXPECT_EQ(0, hs_create(fd, 4 * SZ_2M));
	close(fd);

	f = fopen("/sys/module/hugeslab/parameters/max_pinned_mb", "w");
	ASSERT_NE(NULL, f);
	fputs(cap, f);
	fclose(f);
}

TEST_F(crash, nearly_exhausted_memory)
{
	long avail = meminfo_kb("MemAvailable");
	size_t fill = (size_t)(avail - 96 * 1024) << 10;
	char *ballast;
	int fd, ret;

	ASSERT_LT(0, avail - 96 * 1024);
	ballast = mmap(NULL, fill, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, ballast);
	fd = hs_open();
	ASSERT_LE(0, fd);
	/* Either fits or is refused with ENOMEM; never anything else. */
	ret = hs_create(fd, 32 * SZ_2M);
	TH_LOG("64 MiB pool with %ld kB available: %s", meminfo_kb("MemAvailable"),
	       ret ? strerror(-ret) : "created");
	EXPECT_TRUE(ret == 0 || ret == -ENOMEM);
	close(fd);
	munmap(ballast, fill);
	/*
	 * The ballast evicted caches that do not come back at once: judge
	 * this test by the exact shmem THP count, not by MemAvailable.
	 */
	self->avail_before = meminfo_kb("MemAvailable");
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * The pool is charged to its creator's memory cgroup: a second pool over
 * memory.max is refused, and the OOM killer that then picks the holder
 * frees everything.
 */
TEST_F(crash, memcg_charge_and_oom_kill)
{
	int pipefd[2], status;
	long charged = -1;
	pid_t pid;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		SKIP(return, "no cgroup2");
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir(CG, 0755);
	ASSERT_EQ(0, write_file(CG "/memory.max", "160M"));
	write_file(CG "/memory.swap.max", "0");
	ASSERT_EQ(0, pipe(pipefd));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char buf[32];
		long r[2];
		int fd, fd2;
		char *p;

		snprintf(buf, sizeof(buf), "%d", getpid());
		if (write_file(CG "/cgroup.procs", buf))
			_exit(10);
		fd = hs_pool(64 * SZ_2M);	/* 128 MiB of 160 */
		if (fd < 0)
			_exit(11);
		r[0] = read_long(CG "/memory.current");
		fd2 = hs_open();
		r[1] = hs_create(fd2, 32 * SZ_2M);	/* over memory.max */
		if (write(pipefd[1], r, sizeof(r)) != sizeof(r))
			_exit(12);
		p = hs_map(fd, 64 * SZ_2M, 0);
		if (p == MAP_FAILED)
			_exit(13);
		memset(p, 1, 64 * SZ_2M);
		write_file("/proc/self/oom_score_adj", "1000");
		/* Grow anonymous memory until the memcg OOM killer acts. */
		for (;;) {
			char *a = mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (a != MAP_FAILED)
				memset(a, 2, SZ_2M);
		}
	}
	close(pipefd[1]);
	{
		long r[2] = { -1, -1 };

		ASSERT_EQ(sizeof(r), read(pipefd[0], r, sizeof(r)));
		charged = r[0];
		EXPECT_EQ(-ENOMEM, r[1]);
	}
	close(pipefd[0]);
	TH_LOG("memory.current with a 128 MiB pool: %ld MiB", charged >> 20);
	EXPECT_LE(128L << 20, charged);

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	EXPECT_EQ(0, hs_wait_pinned(0, 5000));
	EXPECT_GT(16L << 20, read_long(CG "/memory.current"));
	rmdir(CG);
}

TEST_HARNESS_MAIN
