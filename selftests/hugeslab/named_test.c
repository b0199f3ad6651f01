// SPDX-License-Identifier: GPL-2.0
/*
 * Named pools: CREATE_NAMED, ATTACH by name from another process (read-write
 * and read-only), the name and permission rules, and the pool living while
 * any attached fd or mapping does.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "privdrop.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(4 * SZ_2M)

/* Store @s NUL padded, as the name fields want it. */
static void set_name(char *dst, const char *s)
{
	memset(dst, 0, HUGESLAB_NAME_MAX);
	memcpy(dst, s, strnlen(s, HUGESLAB_NAME_MAX));
}

static int create_named_raw(int fd, struct hugeslab_create_named *a)
{
	return ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, a) ? -errno : 0;
}

static int attach(int fd, const char *name, uint32_t flags)
{
	struct hugeslab_attach a = { .flags = flags };

	memcpy(a.name, name, strnlen(name, sizeof(a.name) - 1));
	return ioctl(fd, HUGESLAB_IOC_ATTACH, &a) ? -errno : 0;
}

static uint64_t slab_addr(int fd, unsigned int slab)
{
	uint64_t addr = 0;
	struct hugeslab_slab_addrs req = {
		.addrs = (uintptr_t)&addr, .first_slab = slab, .count = 1,
	};

	if (ioctl(fd, HUGESLAB_IOC_SLAB_ADDRS, &req))
		return 0;
	return addr;
}

FIXTURE(named) {
	int fd;
};

FIXTURE_SETUP(named)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	self->fd = hs_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(named)
{
	close(self->fd);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, hs_nr_pools());
}

/*
 * The typical use: one process receives into the pool, another one, which
 * attached by name, reads what it wrote and answers through the pool.
 */
TEST_F(named, attach_from_second_process)
{
	char *p;
	pid_t pid;
	int st, ready[2], done[2];
	char c;

	ASSERT_EQ(0, create_named(self->fd, POOL_SIZE, "rx-pool"));
	p = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	fill_pattern(p, SZ_2M, 0x1234);
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = hs_open();
		char *q, *want = malloc(SZ_2M);

		/* exec-like: nothing inherited but the name. */
		munmap(p, POOL_SIZE);
		close(self->fd);
		if (!want || fd < 0 || attach(fd, "rx-pool", 0))
			_exit(10);
		q = hs_map(fd, POOL_SIZE, 0);
		if (q == MAP_FAILED)
			_exit(11);
		fill_pattern(want, SZ_2M, 0x1234);
		if (memcmp(q, want, SZ_2M))
			_exit(12);
		put_str(q + 3 * SZ_2M, "written by the disk writer");
		if (write(ready[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_STREQ("written by the disk writer", p + 3 * SZ_2M);
	ASSERT_EQ(1, write(done[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	munmap(p, POOL_SIZE);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

/* Both files are handles of the same slabs. */
TEST_F(named, attach_same_slabs)
{
	struct hugeslab_info a = { 0 }, b = { 0 };
	int fd2 = hs_open();

	ASSERT_EQ(0, create_named(self->fd, POOL_SIZE, "same"));
	ASSERT_EQ(0, attach(fd2, "same", 0));
	ASSERT_EQ(0, ioctl(self->fd, HUGESLAB_IOC_INFO, &a));
	ASSERT_EQ(0, ioctl(fd2, HUGESLAB_IOC_INFO, &b));
	EXPECT_EQ(a.size, b.size);
	EXPECT_EQ(HUGESLAB_CREATE_NAMED, b.flags);
	EXPECT_NE(0, slab_addr(self->fd, 3));
	EXPECT_EQ(slab_addr(self->fd, 3), slab_addr(fd2, 3));
	/* Attaching charges nothing more. */
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	EXPECT_EQ(1, hs_nr_pools());
	close(fd2);
}

TEST_F(named, name_rules)
{
	struct hugeslab_create_named a;
	struct hugeslab_create c = { .size = SZ_2M, .numa_node = -1 };
	int fd2 = hs_open(), fd3;

#define BASE() (a = (struct hugeslab_create_named){ .create = { \
	.size = SZ_2M, .numa_node = -1, .flags = HUGESLAB_CREATE_NAMED }, \
	.name = "ok" })
	BASE(); a.name[0] = 0;			/* empty */
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	BASE(); memset(a.name, 'a', sizeof(a.name));	/* no terminator */
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	BASE(); set_name(a.name, "a/b");		/* not a name character */
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	BASE(); set_name(a.name, "a b");
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	BASE(); a.name[5] = 'x';		/* junk after the terminator */
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	BASE(); a.create.flags = 0;		/* CREATE_NAMED needs the flag */
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	BASE(); a.create.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, create_named_raw(self->fd, &a));
	c.flags = HUGESLAB_CREATE_NAMED;	/* and plain CREATE refuses it */
	EXPECT_EQ(-EINVAL, hs_create_args(self->fd, &c));
	EXPECT_EQ(0, hs_pinned());

	/* 31 characters of every allowed kind are fine. */
	BASE(); set_name(a.name, "Az09._-xxxxxxxxxxxxxxxxxxxxxxxx");
	EXPECT_EQ(31, strlen(a.name));
	ASSERT_EQ(0, create_named_raw(self->fd, &a));
	/* A live pool's name is taken. */
	EXPECT_EQ(-EEXIST, create_named(fd2, SZ_2M, a.name));
	EXPECT_EQ(SZ_2M, hs_pinned());
	EXPECT_EQ(1, hs_nr_pools());
	/* Once the pool is gone, the name is free again. */
	close(self->fd);
	self->fd = hs_open();
	EXPECT_EQ(-ENOENT, attach(self->fd, a.name, 0));
	EXPECT_EQ(0, create_named(fd2, SZ_2M, a.name));

	/* ATTACH: unknown name, bad arguments, a file that has a pool. */
	EXPECT_EQ(-ENOENT, attach(self->fd, "nope", 0));
	EXPECT_EQ(-EINVAL, attach(self->fd, "", 0));
	EXPECT_EQ(-EINVAL, attach(self->fd, a.name, 1U << 31));
	EXPECT_EQ(-EINVAL, attach(fd2, a.name, 0));
	fd3 = hs_pool(SZ_2M);
	EXPECT_EQ(-EINVAL, attach(fd3, a.name, 0));
	close(fd3);
	close(fd2);
#undef BASE
}

/* A monitor attaches read-only: it sees the data and cannot write it. */
TEST_F(named, attach_read_only)
{
	struct hugeslab_export_dmabuf ex = { .length = SZ_2M };
	int fd2 = hs_open();
	char *p, *q;

	ASSERT_EQ(0, create_named(self->fd, POOL_SIZE, "mon"));
	p = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p, "hello monitor");
	ASSERT_EQ(0, attach(fd2, "mon", HUGESLAB_ATTACH_RDONLY));

	EXPECT_EQ(MAP_FAILED, hs_map(fd2, POOL_SIZE, 0));
	EXPECT_EQ(EACCES, errno);
	q = mmap(NULL, POOL_SIZE, PROT_READ, MAP_SHARED, fd2, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_STREQ("hello monitor", q);
	/* Nor can mprotect add the write permission later. */
	EXPECT_EQ(-1, mprotect(q, POOL_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	/* A dma-buf could be written by a device. */
	EXPECT_EQ(-1, ioctl(fd2, HUGESLAB_IOC_EXPORT_DMABUF, &ex));
	EXPECT_EQ(EACCES, errno);
	munmap(q, POOL_SIZE);
	munmap(p, POOL_SIZE);
	close(fd2);
}

/* The pool lives while any fd or mapping does, the creator's included. */
TEST_F(named, lives_while_attached)
{
	int fd2 = hs_open(), fd3 = hs_open();
	char *p, *q;

	ASSERT_EQ(0, create_named(self->fd, POOL_SIZE, "life"));
	p = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p + SZ_2M, "still here");
	ASSERT_EQ(0, attach(fd2, "life", 0));
	/* The creator goes away entirely. */
	munmap(p, POOL_SIZE);
	close(self->fd);
	self->fd = hs_open();
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	/* The name still works, and the data is there. */
	ASSERT_EQ(0, attach(fd3, "life", 0));
	close(fd3);
	q = hs_map(fd2, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, q);
	close(fd2);
	EXPECT_STREQ("still here", q + SZ_2M);
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	/* The last mapping ends it, name and all. */
	munmap(q, POOL_SIZE);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(-ENOENT, attach(self->fd, "life", 0));
}

/* The fd can also be passed on with SCM_RIGHTS. */
TEST_F(named, pass_fd_scm_rights)
{
	char cbuf[CMSG_SPACE(sizeof(int))], data = 'x', *p;
	struct iovec iov = { &data, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int sv[2], st;
	pid_t pid;

	ASSERT_EQ(0, create_named(self->fd, POOL_SIZE, "passed"));
	p = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p, "via scm_rights");
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char *q;
		int fd;

		close(self->fd);
		munmap(p, POOL_SIZE);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(10);
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			_exit(11);
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
		q = hs_map(fd, POOL_SIZE, 0);
		if (q == MAP_FAILED || strcmp(q, "via scm_rights"))
			_exit(12);
		_exit(0);
	}
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &self->fd, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	munmap(p, POOL_SIZE);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Same uid or CAP_SYS_ADMIN: nobody cannot attach root's pool, but can
 * attach its own; root can attach nobody's.  Exit codes tell which check
 * failed.
 */
TEST_F(named, attach_permission)
{
	struct rlimit rl = { 4 * SZ_2M, 4 * SZ_2M }, old;
	int fds[3], st, i, sync[2];
	int fd_root = hs_open();
	pid_t pid;
	char c;

	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "roots"));
	for (i = 0; i < 3; i++)
		fds[i] = hs_open();
	ASSERT_EQ(0, pipe(sync));
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (drop_to_nobody())
			_exit(100);
		if (attach(fds[0], "roots", 0) != -EPERM)
			_exit(10);
		if (attach(fds[0], "roots", HUGESLAB_ATTACH_RDONLY) != -EPERM)
			_exit(11);
		if (create_named(fds[1], SZ_2M, "nobodys"))
			_exit(12);
		if (attach(fds[2], "nobodys", 0))
			_exit(13);
		/* Keep the pool until root has attached it too. */
		if (write(sync[1], "x", 1) != 1)
			_exit(14);
		pause();
		_exit(0);
	}
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(1, read(sync[0], &c, 1));
	EXPECT_EQ(0, attach(fd_root, "nobodys", 0));
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFSIGNALED(st));
	for (i = 0; i < 3; i++)
		close(fds[i]);
	/* root's attachment outlives nobody's process. */
	EXPECT_EQ(2 * SZ_2M, hs_pinned());
	close(fd_root);
	close(sync[0]);
	close(sync[1]);
}

/* If the child failed before the pause, the test sees its exit code. */
TEST_F(named, attach_permission_codes)
{
	struct rlimit rl = { 4 * SZ_2M, 4 * SZ_2M }, old;
	int fds[2], st;
	pid_t pid;

	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "roots2"));
	fds[0] = hs_open();
	fds[1] = hs_open();
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (drop_to_nobody())
			_exit(100);
		if (attach(fds[0], "roots2", 0) != -EPERM)
			_exit(10);
		if (create_named(fds[1], SZ_2M, "roots2") != -EEXIST)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	close(fds[0]);
	close(fds[1]);
}

struct race {
	int stop;
	long attached, missed;
};

static void *attacher(void *p)
{
	struct race *r = p;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int fd = hs_open();
		int ret = attach(fd, "racy", 0);

		if (!ret)
			r->attached++;
		else if (ret == -ENOENT)
			r->missed++;
		else
			r->missed = -1000000;	/* any other error fails */
		close(fd);
	}
	return NULL;
}

/*
 * ATTACH racing with the pool's final fput: it gets the pool or ENOENT,
 * never a pool being freed, and every pool is freed in the end.
 */
TEST_F(named, attach_races_with_release)
{
	struct race r = { 0 };
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, attacher, &r));
	for (i = 0; i < 200; i++) {
		int fd = hs_open(), ret;

		/* The attacher's fd may still hold the last pool and its name. */
		while ((ret = create_named(fd, SZ_2M, "racy")) == -EEXIST)
			sched_yield();
		ASSERT_EQ(0, ret);
		close(fd);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("%ld attached, %ld not found", r.attached, r.missed);
	EXPECT_LE(0, r.missed);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/* Two CREATE_NAMED with one name at once: exactly one wins. */
static void *creator(void *p)
{
	int *ret = p;
	int fd = hs_open();

	ret[0] = create_named(fd, SZ_2M, "contended");
	ret[1] = fd;
	return NULL;
}

TEST_F(named, create_same_name_race)
{
	int res[8][2], i, j, ok;
	pthread_t t[8];

	for (j = 0; j < 20; j++) {
		for (i = 0; i < 8; i++)
			ASSERT_EQ(0, pthread_create(&t[i], NULL, creator, res[i]));
		ok = 0;
		for (i = 0; i < 8; i++) {
			pthread_join(t[i], NULL);
			if (!res[i][0])
				ok++;
			else
				EXPECT_EQ(-EEXIST, res[i][0]);
		}
		EXPECT_EQ(1, ok);
		EXPECT_EQ(SZ_2M, hs_pinned());
		for (i = 0; i < 8; i++)
			close(res[i][1]);
		ASSERT_EQ(0, hs_wait_pinned(0, 2000));
	}
}

TEST_HARNESS_MAIN
