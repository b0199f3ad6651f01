// SPDX-License-Identifier: GPL-2.0
/*
 * Issue 14, kernel side: the device node of each named pool
 * (HUGESLAB_POOL_DIR/NAME), persistent pools, HUGESLAB_IOC_DESTROY, and
 * what netlink shows of them.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "hs_nl.h"
#include "privdrop.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(4 * SZ_2M)
#define REFCNT		"/sys/module/hugeslab/refcnt"
#define NAMED		HUGESLAB_CREATE_NAMED
#define PERSISTENT	HUGESLAB_CREATE_PERSISTENT
#define OWNER		HUGESLAB_CREATE_OWNER
#define MODE		HUGESLAB_CREATE_MODE

/* CREATE_NAMED with every issue 14 field; 0 or -errno. */
static int create_ex(int fd, uint64_t size, const char *name, uint32_t flags,
		     uint32_t uid, uint32_t gid, uint32_t mode)
{
	struct hugeslab_create_named a = {
		.create = { .size = size, .numa_node = -1,
			    .flags = NAMED | flags, .uid = uid, .gid = gid,
			    .mode = mode },
	};

	memcpy(a.name, name, strnlen(name, sizeof(a.name) - 1));
	return ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &a) ? -errno : 0;
}

/* A persistent pool of @size, made through a file closed at once. */
static int create_persistent(uint64_t size, const char *name, uint32_t flags,
			     uint32_t uid, uint32_t gid, uint32_t mode)
{
	int fd = hs_open(), ret;

	if (fd < 0)
		return -errno;
	ret = create_ex(fd, size, name, PERSISTENT | flags, uid, gid, mode);
	close(fd);
	return ret;
}

static int destroy_on(int fd, const char *name, uint32_t flags)
{
	struct hugeslab_destroy d = { .flags = flags };

	memcpy(d.name, name, strnlen(name, sizeof(d.name) - 1));
	return ioctl(fd, HUGESLAB_IOC_DESTROY, &d) ? -errno : 0;
}

static int destroy(const char *name, uint32_t flags)
{
	int fd = hs_open(), ret;

	if (fd < 0)
		return -errno;
	ret = destroy_on(fd, name, flags);
	close(fd);
	return ret;
}

static int attach(int fd, const char *name)
{
	struct hugeslab_attach a = { 0 };

	memcpy(a.name, name, strnlen(name, sizeof(a.name) - 1));
	return ioctl(fd, HUGESLAB_IOC_ATTACH, &a) ? -errno : 0;
}

static const char *node(const char *name)
{
	static char path[64];

	snprintf(path, sizeof(path), HUGESLAB_POOL_DIR "/%s", name);
	return path;
}

static int node_exists(const char *name)
{
	struct stat st;

	return stat(node(name), &st) == 0;
}

static int open_node(const char *name, int flags)
{
	int fd = open(node(name), flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static long refcnt(void)
{
	return read_long(REFCNT);
}

static long pmd_kb(const void *p)
{
	return smaps_kb(p, "ShmemPmdMapped") + smaps_kb(p, "FilePmdMapped");
}

/* The pool named @name in a dump, copied to @out; 0 or -1. */
static int dump_find(const char *name, struct hsnl_pool *out)
{
	struct hsnl_pools *ps = malloc(sizeof(*ps));
	struct hsnl_pool *p = NULL;
	struct hsnl nl = { 0 };

	if (!ps || hsnl_open(&nl)) {
		free(ps);
		return -1;
	}
	if (!hsnl_dump_pools(&nl, ps))
		p = hsnl_find_name(ps, name);
	if (p)
		*out = *p;
	hsnl_close(&nl);
	free(ps);
	return p ? 0 : -1;
}

/* Is @pid among the attachers of @p? */
static int has_attacher(const struct hsnl_pool *p, uint32_t pid, uint32_t uid)
{
	int i;

	for (i = 0; i < p->nr_attachers && i < 8; i++)
		if (p->attacher_pid[i] == pid && p->attacher_uid[i] == uid)
			return 1;
	return 0;
}

/*
 * Run @fn as nobody (no capabilities) with a memlock limit of @memlock.
 * /dev/hugeslab is root's 0660, so @fn gets two files of it opened before.
 */
static int as_nobody(int (*fn)(int *fds, int arg), int arg, rlim_t memlock)
{
	struct rlimit rl = { memlock, memlock };
	int st, fds[2] = { hs_open(), hs_open() };
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || drop_to_nobody())
			_exit(100);
		_exit(fn(fds, arg));
	}
	close(fds[0]);
	close(fds[1]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static const char *const names[] = {
	"pn-default", "pn-owner", "pn-zero", "pn-map", "pn-ro", "pn-priv",
	"pn-open", "pn-warm", "pn-plain", "pn-busy", "pn-forced", "pn-nl",
	"pn-mod", "pn-fail", "pn-race", "pn-own", "pn-charge", "pn-setgid",
};

FIXTURE(pools) {
	int fd;
};

FIXTURE_SETUP(pools)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	self->fd = hs_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(pools)
{
	size_t i;

	close(self->fd);
	set_fail_nth(0);
	/* A failed test must not leave a persistent pool to the next. */
	for (i = 0; i < ARRAY_SIZE(names); i++)
		destroy(names[i], HUGESLAB_DESTROY_FORCE);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, hs_nr_pools());
}

/* A named pool has a node, 0600 and the creator's by default. */
TEST_F(pools, node_default_owner_mode)
{
	struct stat st;

	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "pn-default"));
	ASSERT_EQ(0, stat(node("pn-default"), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(getuid(), st.st_uid);
	EXPECT_EQ(getgid(), st.st_gid);
	/* The node goes with the name: here, when the pool dies. */
	close(self->fd);
	self->fd = hs_open();
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(-1, stat(node("pn-default"), &st));
	EXPECT_EQ(ENOENT, errno);
}

/* The device's uevent, as udev gets it, in @buf; 0 or -1. */
static int read_uevent(const char *name, char *buf, size_t size)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path),
		 "/sys/class/hugeslab/hugeslab-pools!%s/uevent", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/*
 * OWNER and MODE set the node's uid, gid and mode, in devtmpfs and in the
 * uevent udev sees; MODE 0 is 0000.
 */
TEST_F(pools, node_owner_mode)
{
	int fd2 = hs_open();
	struct stat st;
	char ev[1024];

	ASSERT_EQ(0, create_ex(self->fd, SZ_2M, "pn-owner", OWNER | MODE,
			       NOBODY_ID, 100, 0640));
	ASSERT_EQ(0, stat(node("pn-owner"), &st));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(NOBODY_ID, st.st_uid);
	EXPECT_EQ(100, st.st_gid);
	ASSERT_EQ(0, read_uevent("pn-owner", ev, sizeof(ev)));
	EXPECT_NE(NULL, strstr(ev, "DEVNAME=hugeslab-pools/pn-owner\n"));
	EXPECT_NE(NULL, strstr(ev, "DEVMODE=0640\n"));
	EXPECT_NE(NULL, strstr(ev, "DEVUID=65534\n"));
	EXPECT_NE(NULL, strstr(ev, "DEVGID=100\n"));
	/* Nothing else under /dev: only the node in HUGESLAB_POOL_DIR. */
	EXPECT_EQ(-1, access("/dev/pn-owner", F_OK));
	ASSERT_EQ(0, create_ex(fd2, SZ_2M, "pn-zero", MODE, 0, 0, 0));
	ASSERT_EQ(0, stat(node("pn-zero"), &st));
	EXPECT_EQ(0, st.st_mode & 07777);
	close(fd2);
	/* Mode bits beyond 0777, ids without OWNER, mode without MODE. */
	fd2 = hs_open();
	EXPECT_EQ(-EINVAL, create_ex(fd2, SZ_2M, "pn-x", MODE, 0, 0, 01777));
	EXPECT_EQ(-EINVAL, create_ex(fd2, SZ_2M, "pn-x", 0, 1, 0, 0));
	EXPECT_EQ(-EINVAL, create_ex(fd2, SZ_2M, "pn-x", 0, 0, 1, 0));
	EXPECT_EQ(-EINVAL, create_ex(fd2, SZ_2M, "pn-x", 0, 0, 0, 0600));
	EXPECT_EQ(-EINVAL, create_ex(fd2, SZ_2M, "..", 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, create_ex(fd2, SZ_2M, ".", 0, 0, 0, 0));
	EXPECT_FALSE(node_exists("pn-x"));
	close(fd2);
}

/*
 * What fio does with --iomem=mmapshared:NODE: open O_RDWR|O_CREAT, map
 * MAP_SHARED at offset 0 with a length that is no multiple of 2 MiB.  The
 * mapping is 2 MiB aligned and PMD-mapped, and it is the creator's memory.
 */
TEST_F(pools, node_map_like_fio)
{
	size_t len = 3 * SZ_2M + 3 * SZ_4K;
	struct hugeslab_info info = { 0 };
	char *p, *q, *whole;
	int fd;

	ASSERT_EQ(0, create_named(self->fd, POOL_SIZE, "pn-map"));
	p = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	fd = open_node("pn-map", O_RDWR | O_CREAT);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, HUGESLAB_IOC_INFO, &info));
	EXPECT_EQ(POOL_SIZE, info.size);
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, (uintptr_t)q & (SZ_2M - 1));
	fill_pattern(q, len, 0x5157);
	EXPECT_EQ(checksum(q, len), checksum(p, len));
	/* Three whole slabs of it are PMDs, the tail is small pages. */
	EXPECT_EQ(3 * SZ_2M >> 10, pmd_kb(q));
	/* The whole pool through the node, all PMDs. */
	whole = hs_map(fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, whole);
	memset(whole + 3 * SZ_2M + len % SZ_2M, 0x77, SZ_4K);
	EXPECT_EQ(checksum(q, 3 * SZ_2M), checksum(whole, 3 * SZ_2M));
	EXPECT_EQ(POOL_SIZE >> 10, pmd_kb(whole));
	TH_LOG("through the node: %ld of %zu kB PMD-mapped (fio-like length), %ld of %lu kB (whole pool)",
	       pmd_kb(q), len >> 10, pmd_kb(whole), POOL_SIZE >> 10);
	EXPECT_EQ(0x77, p[3 * SZ_2M + len % SZ_2M]);
	/* Past the end of the pool, as for the creator. */
	EXPECT_EQ(MAP_FAILED, hs_map(fd, POOL_SIZE + SZ_4K, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, hs_map(fd, SZ_2M, POOL_SIZE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_2M, PROT_READ, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* The node's file holds a pool: no CREATE or ATTACH on it. */
	EXPECT_EQ(-EINVAL, hs_create(fd, SZ_2M));
	EXPECT_EQ(-EINVAL, attach(fd, "pn-map"));
	/* Attaching charges nothing more. */
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	munmap(whole, POOL_SIZE);
	munmap(q, len);
	munmap(p, POOL_SIZE);
	close(fd);
}

/* O_RDONLY on the node is a read-only handle. */
TEST_F(pools, node_rdonly)
{
	char *p, *q;
	int fd;

	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "pn-ro"));
	p = hs_map(self->fd, SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p, "read me");
	fd = open_node("pn-ro", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(MAP_FAILED, hs_map(fd, SZ_2M, 0));
	EXPECT_EQ(EACCES, errno);
	q = mmap(NULL, SZ_2M, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_STREQ("read me", q);
	EXPECT_EQ(-1, mprotect(q, SZ_2M, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(q, SZ_2M);
	munmap(p, SZ_2M);
	close(fd);
}

/* Exit codes say which check failed. */
static int nobody_nodes(int *fds, int arg)
{
	char *q;
	int fd;

	(void)arg;
	/* Root's 0600 node: the VFS says no. */
	if (open_node("pn-priv", O_RDWR) != -EACCES)
		return 10;
	if (open_node("pn-priv", O_RDONLY) != -EACCES)
		return 11;
	/* A 0666 node of root: the node's mode is the access control. */
	fd = open_node("pn-open", O_RDWR);
	if (fd < 0)
		return 12;
	q = hs_map(fd, SZ_2M, 0);
	if (q == MAP_FAILED || strcmp(q, "open to all"))
		return 13;
	put_str(q + 64, "nobody was here");
	/* ATTACH by name still wants the owner's uid. */
	fd = fds[0];
	if (attach(fd, "pn-open") != -EPERM)
		return 14;
	/* Only CAP_SYS_ADMIN makes pools outlive processes ... */
	if (create_ex(fd, SZ_2M, "pn-own", PERSISTENT, 0, 0, 0) != -EPERM)
		return 15;
	/* ... or gives them to someone else. */
	if (create_ex(fd, SZ_2M, "pn-own", OWNER, 0, 0, 0) != -EPERM)
		return 16;
	if (create_ex(fd, SZ_2M, "pn-own", OWNER, NOBODY_ID, 0, 0) != -EPERM)
		return 17;
	/* One's own uid and gid are fine. */
	if (create_ex(fd, SZ_2M, "pn-own", OWNER | MODE, NOBODY_ID, NOBODY_ID,
		      0604))
		return 18;
	if (!node_exists("pn-own"))
		return 19;
	/* Nor may nobody DESTROY root's persistent pool. */
	if (destroy_on(fds[1], "pn-warm", 0) != -EPERM)
		return 20;
	if (destroy_on(fds[1], "pn-warm", HUGESLAB_DESTROY_FORCE) != -EPERM)
		return 21;
	return 0;
}

TEST_F(pools, node_permissions)
{
	int fd2 = hs_open();
	char *p;

	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "pn-priv"));
	ASSERT_EQ(0, create_ex(fd2, SZ_2M, "pn-open", MODE, 0, 0, 0666));
	ASSERT_EQ(0, create_persistent(SZ_2M, "pn-warm", 0, 0, 0, 0));
	p = hs_map(fd2, SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p, "open to all");
	EXPECT_EQ(0, as_nobody(nobody_nodes, 0, 4 * SZ_2M));
	EXPECT_STREQ("nobody was here", p + 64);
	/* nobody's pool died with its process, node and all. */
	EXPECT_FALSE(node_exists("pn-own"));
	EXPECT_EQ(0, destroy("pn-warm", 0));
	munmap(p, SZ_2M);
	close(fd2);
}

/*
 * A setgid program: real gid 65534, effective and fs gid 100, no other
 * group, no capability.  A CREATE_NAMED without OWNER gives the node the
 * creator's real ids and needs no privilege, even though 65534 is not one
 * of the groups in_group_p() accepts.
 */
TEST_F(pools, setgid_creator)
{
	struct rlimit rl = { 2 * SZ_2M, 2 * SZ_2M };
	struct stat st;
	int status, fd = hs_open();
	pid_t pid;

	ASSERT_LE(0, fd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
		    setresgid(NOBODY_ID, 100, 100) ||
		    setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID) || drop_caps())
			_exit(100);
		if (create_named(fd, SZ_2M, "pn-setgid"))
			_exit(10);
		if (stat(node("pn-setgid"), &st) || st.st_uid != NOBODY_ID ||
		    st.st_gid != NOBODY_ID || (st.st_mode & 07777) != 0600)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(fd);
}

/*
 * A warm restart: the pool outlives its creator's close and exit, and the
 * next process finds the data by name and through the node.
 */
TEST_F(pools, persistent_survives_exit)
{
	struct hugeslab_info info = { 0 };
	char *want = malloc(SZ_2M), *q;
	pid_t pid;
	int st, fd;

	ASSERT_NE(NULL, want);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int cfd = hs_open();
		char *p;

		if (create_ex(cfd, 2 * SZ_2M, "pn-warm", PERSISTENT, 0, 0, 0))
			_exit(10);
		p = hs_map(cfd, 2 * SZ_2M, 0);
		if (p == MAP_FAILED)
			_exit(11);
		fill_pattern(p + SZ_2M, SZ_2M, 0xbeef);
		/* Exit with the fd and the mapping still open. */
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_EQ(0, WEXITSTATUS(st));
	fill_pattern(want, SZ_2M, 0xbeef);
	EXPECT_EQ(2 * SZ_2M, hs_pinned());
	EXPECT_EQ(1, hs_nr_pools());
	/* By name. */
	ASSERT_EQ(0, attach(self->fd, "pn-warm"));
	EXPECT_EQ(0, ioctl(self->fd, HUGESLAB_IOC_INFO, &info));
	EXPECT_EQ(NAMED | PERSISTENT, info.flags);
	q = hs_map(self->fd, 2 * SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, memcmp(q + SZ_2M, want, SZ_2M));
	munmap(q, 2 * SZ_2M);
	close(self->fd);
	self->fd = hs_open();
	/* By node. */
	fd = open_node("pn-warm", O_RDWR);
	ASSERT_LE(0, fd);
	q = hs_map(fd, 2 * SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, q);
	close(fd);
	EXPECT_EQ(0, memcmp(q + SZ_2M, want, SZ_2M));
	munmap(q, 2 * SZ_2M);
	/* Nobody holds it now, and still it lives. */
	EXPECT_EQ(2 * SZ_2M, hs_pinned());
	EXPECT_EQ(0, destroy("pn-warm", 0));
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_FALSE(node_exists("pn-warm"));
	free(want);
}

TEST_F(pools, destroy_errors)
{
	struct hugeslab_create c = { .size = SZ_2M, .numa_node = -1,
				     .flags = PERSISTENT };
	struct hugeslab_destroy d = { .name = "pn-busy" };
	char *p;
	int fd;

	/* Not persistent, no such name, malformed requests. */
	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "pn-plain"));
	EXPECT_EQ(-EINVAL, destroy("pn-plain", 0));
	EXPECT_EQ(-EINVAL, destroy("pn-plain", HUGESLAB_DESTROY_FORCE));
	EXPECT_EQ(-ENOENT, destroy("pn-none", 0));
	EXPECT_EQ(-EINVAL, destroy("", 0));
	ASSERT_EQ(0, create_persistent(SZ_2M, "pn-busy", 0, 0, 0, 0));
	EXPECT_EQ(-EINVAL, destroy("pn-busy", 1U << 31));
	d.pad = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_DESTROY, &d));
	EXPECT_EQ(EINVAL, errno);
	d.pad = 0;
	d.reserved = 1;
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_DESTROY, &d));
	EXPECT_EQ(EINVAL, errno);
	/* PERSISTENT without NAMED. */
	fd = hs_open();
	EXPECT_EQ(-EINVAL, hs_create_args(fd, &c));
	close(fd);

	/* Another file holds it. */
	fd = open_node("pn-busy", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBUSY, destroy("pn-busy", 0));
	/* Only a mapping holds it. */
	p = hs_map(fd, SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(-EBUSY, destroy("pn-busy", 0));
	munmap(p, SZ_2M);
	/* The caller's own file does not count. */
	fd = hs_open();
	ASSERT_EQ(0, attach(fd, "pn-busy"));
	EXPECT_EQ(0, destroy_on(fd, "pn-busy", 0));
	EXPECT_EQ(-ENOENT, destroy("pn-busy", 0));
	EXPECT_FALSE(node_exists("pn-busy"));
	EXPECT_EQ(2 * SZ_2M, hs_pinned());
	close(fd);
	EXPECT_EQ(0, hs_wait_pinned(SZ_2M, 2000));
}

/*
 * FORCE with a holder: name and node go at once, the holder keeps the
 * memory (and its data) until it unmaps, then it is freed.
 */
TEST_F(pools, destroy_force_with_holder)
{
	struct hsnl_pools *ps = malloc(sizeof(*ps));
	char *p, *want = malloc(2 * SZ_2M);
	struct hsnl_pool np;
	int fd, i, seen = 0;
	struct hsnl nl = { 0 };

	ASSERT_NE(NULL, ps);
	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, create_persistent(2 * SZ_2M, "pn-forced", 0, 0, 0, 0));
	fd = open_node("pn-forced", O_RDWR);
	ASSERT_LE(0, fd);
	p = hs_map(fd, 2 * SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	fill_pattern(p, 2 * SZ_2M, 0xf0f0);
	EXPECT_EQ(-EBUSY, destroy("pn-forced", 0));
	ASSERT_EQ(0, destroy("pn-forced", HUGESLAB_DESTROY_FORCE));
	EXPECT_FALSE(node_exists("pn-forced"));
	EXPECT_EQ(-ENOENT, attach(self->fd, "pn-forced"));
	EXPECT_EQ(-ENOENT, destroy("pn-forced", HUGESLAB_DESTROY_FORCE));
	/* Nothing was freed under the holder. */
	EXPECT_EQ(2 * SZ_2M, hs_pinned());
	fill_pattern(want, 2 * SZ_2M, 0xf0f0);
	EXPECT_EQ(0, memcmp(p, want, 2 * SZ_2M));
	/* Netlink shows it destroyed, nameless, held by one mapping. */
	ASSERT_EQ(0, hsnl_open(&nl));
	ASSERT_EQ(0, hsnl_dump_pools(&nl, ps));
	for (i = 0; i < ps->n; i++) {
		if (!ps->p[i].destroyed)
			continue;
		seen++;
		EXPECT_STREQ("", ps->p[i].name);
		EXPECT_EQ(1, ps->p[i].mappings);
		EXPECT_EQ(0, ps->p[i].files);
		EXPECT_EQ(NAMED | PERSISTENT, ps->p[i].flags);
	}
	EXPECT_EQ(1, seen);
	hsnl_close(&nl);
	/* The name is free at once. */
	ASSERT_EQ(0, create_named(self->fd, SZ_2M, "pn-forced"));
	EXPECT_TRUE(node_exists("pn-forced"));
	ASSERT_EQ(0, dump_find("pn-forced", &np));
	EXPECT_FALSE(np.destroyed);
	EXPECT_EQ(3 * SZ_2M, hs_pinned());
	/* The last holder goes: then the memory goes. */
	munmap(p, 2 * SZ_2M);
	EXPECT_EQ(0, hs_wait_pinned(SZ_2M, 2000));
	free(want);
	free(ps);
}

/* The dump shows the flags and who holds the pool. */
TEST_F(pools, netlink_flags_attachers)
{
	int ready[2], done[2], st;
	struct hsnl_pool np;
	pid_t pid;
	char c;

	ASSERT_EQ(0, create_ex(self->fd, SZ_2M, "pn-nl", PERSISTENT | MODE,
			       0, 0, 0644));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd = open_node("pn-nl", O_RDONLY);

		/* Only the parent's end keeps the child waiting. */
		close(done[1]);
		close(ready[0]);
		if (fd < 0 || write(ready[1], "x", 1) != 1 ||
		    read(done[0], &c, 1) != 1)
			_exit(10);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, dump_find("pn-nl", &np));
	EXPECT_EQ(NAMED | PERSISTENT | MODE, np.flags);
	EXPECT_FALSE(np.destroyed);
	EXPECT_EQ(2, np.files);
	EXPECT_EQ(2, np.nr_attachers);
	EXPECT_TRUE(has_attacher(&np, getpid(), getuid()));
	EXPECT_TRUE(has_attacher(&np, pid, getuid()));
	ASSERT_EQ(1, write(done[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(0, dump_find("pn-nl", &np));
	EXPECT_EQ(1, np.nr_attachers);
	EXPECT_TRUE(has_attacher(&np, getpid(), getuid()));
	/* With no file at all, the registry holds it: no attachers. */
	close(self->fd);
	self->fd = hs_open();
	ASSERT_EQ(0, dump_find("pn-nl", &np));
	EXPECT_EQ(0, np.nr_attachers);
	EXPECT_EQ(0, np.files);
	EXPECT_EQ(0, destroy("pn-nl", 0));
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

/*
 * A persistent pool holds the module: rmmod fails while it exists, and
 * the module's reference count shows it.
 */
TEST_F(pools, persistent_holds_module)
{
	long before, during;
	const char *ko = getenv("HUGESLAB_KO");
	int ret;

	if (!ko)
		SKIP(return, "HUGESLAB_KO not set");
	/* No fd of ours may hold the module. */
	close(self->fd);
	self->fd = -1;
	before = refcnt();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, create_persistent(SZ_2M, "pn-mod", 0, 0, 0, 0));
	during = refcnt();
	EXPECT_LT(before, during);
	ret = delete_module("hugeslab");
	EXPECT_EQ(-EWOULDBLOCK, ret);
	if (!ret) {
		/* It unloaded, pool and all: bring it back for the others. */
		ASSERT_EQ(0, load_module(ko));
		ASSERT_EQ(0, wait_for_device(1));
	} else {
		EXPECT_EQ(0, destroy("pn-mod", 0));
		EXPECT_EQ(before, refcnt());
	}
	self->fd = hs_open();
	ASSERT_LE(0, self->fd);
}

/* nobody's pools are refused once the admin's pool fills its limit. */
static int nobody_creates(int *fds, int want)
{
	return create_named(fds[0], 2 * SZ_2M, "pn-own") == want ? 0 : 10;
}

static int nobody_destroys(int *fds, int arg)
{
	(void)arg;
	return destroy_on(fds[0], "pn-charge", 0) ? 10 : 0;
}

/*
 * A persistent pool is charged to its owner's memlock count, without any
 * RLIMIT_MEMLOCK check at CREATE: the owner's own pools then find it there.
 */
TEST_F(pools, persistent_charged_to_owner)
{
	/* nobody may lock 3 slabs: 2 of its own fit. */
	EXPECT_EQ(0, as_nobody(nobody_creates, 0, 3 * SZ_2M));
	/* The admin gives nobody 2 slabs, beyond no limit of the admin's. */
	ASSERT_EQ(0, create_persistent(2 * SZ_2M, "pn-charge", OWNER,
				       NOBODY_ID, NOBODY_ID, 0));
	EXPECT_EQ(0, as_nobody(nobody_creates, -ENOMEM, 3 * SZ_2M));
	/* The owner may destroy it without any capability. */
	EXPECT_EQ(0, hs_wait_pinned(2 * SZ_2M, 2000));
	EXPECT_EQ(0, as_nobody(nobody_destroys, 0, 0));
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, as_nobody(nobody_creates, 0, 3 * SZ_2M));
}

/*
 * Every allocation step of a named persistent CREATE (the node's among
 * them) fails cleanly: no pool, no charge, no node, no module reference.
 */
TEST_F(pools, failnth_persistent_create)
{
	long ref = refcnt();
	int n, ret, failures = 0;

	if (access(FAIL_NTH, F_OK))
		SKIP(return, "no " FAIL_NTH);
	for (n = 1; n < 64; n++) {
		ASSERT_EQ(0, set_fail_nth(n));
		ret = create_ex(self->fd, 3 * SZ_2M, "pn-fail",
				PERSISTENT | OWNER | MODE, NOBODY_ID, NOBODY_ID,
				0640);
		if (!ret)
			break;
		failures++;
		EXPECT_EQ(-ENOMEM, ret);
		EXPECT_EQ(0, hs_pinned());
		EXPECT_EQ(0, hs_nr_pools());
		EXPECT_FALSE(node_exists("pn-fail"));
		EXPECT_EQ(ref, refcnt());
	}
	set_fail_nth(0);
	ASSERT_EQ(0, ret);
	TH_LOG("persistent CREATE_NAMED of 3 slabs has %d failure points",
	       failures);
	/*
	 * pool, arrays, memlock entry, charge, backing file, register, one
	 * per slab, then the node: its struct, its minor, device_add().
	 */
	EXPECT_LE(9 + 3, failures);
	EXPECT_TRUE(node_exists("pn-fail"));
	close(self->fd);
	self->fd = hs_open();
	EXPECT_EQ(0, destroy("pn-fail", 0));
}

struct race {
	int stop;
	long opened, missed, bad;
};

static void *node_opener(void *arg)
{
	struct race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		int fd = open_node("pn-race", O_RDWR);

		if (fd >= 0) {
			struct hugeslab_info info = { 0 };

			if (ioctl(fd, HUGESLAB_IOC_INFO, &info) ||
			    info.size != SZ_2M)
				r->bad++;
			r->opened++;
			close(fd);
		} else if (fd == -ENOENT || fd == -ENXIO || fd == -ENODEV) {
			r->missed++;
		} else {
			r->bad++;
		}
	}
	return NULL;
}

/* Opens racing DESTROY get the pool or an error, never a freed pool. */
TEST_F(pools, node_open_races_destroy)
{
	struct race r = { 0 };
	pthread_t t;
	int i;

	ASSERT_EQ(0, pthread_create(&t, NULL, node_opener, &r));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, create_persistent(SZ_2M, "pn-race", MODE, 0, 0,
					       0600));
		sched_yield();
		ASSERT_EQ(0, destroy("pn-race", HUGESLAB_DESTROY_FORCE));
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	TH_LOG("%ld opened, %ld missed", r.opened, r.missed);
	EXPECT_EQ(0, r.bad);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

TEST_HARNESS_MAIN
