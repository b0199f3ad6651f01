// SPDX-License-Identifier: GPL-2.0
/*
 * Who may do what with a pool: the open mode of the device file is the
 * access it gives (O_RDONLY cannot create, write or export a dma-buf, but
 * maps PROT_READ), INFO tells whose pool a file holds, and ATTACH with
 * HUGESLAB_ATTACH_OWNER refuses a pool some other user created first under
 * the expected name.  Two users: root (the service) and uid 65534 (the
 * squatter), plus uid 65533 for a second unprivileged user.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "privdrop.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(2 * SZ_2M)
#define OTHER_ID	65533

static int attach_as(int fd, const char *name, uint32_t flags, uint32_t owner)
{
	struct hugeslab_attach a = { .flags = flags, .owner_uid = owner };

	memcpy(a.name, name, strnlen(name, sizeof(a.name) - 1));
	return ioctl(fd, HUGESLAB_IOC_ATTACH, &a) ? -errno : 0;
}

static int info(int fd, struct hugeslab_info *in)
{
	memset(in, 0, sizeof(*in));
	return ioctl(fd, HUGESLAB_IOC_INFO, in) ? -errno : 0;
}

static int export(int fd, uint64_t off, uint64_t len)
{
	struct hugeslab_export_dmabuf ex = { .offset = off, .length = len };

	return ioctl(fd, HUGESLAB_IOC_EXPORT_DMABUF, &ex) ? -errno : ex.fd;
}

/* Become @id (uid and gid) without any capability. */
static int become(uid_t id)
{
	if (setgroups(0, NULL) || setresgid(id, id, id) ||
	    setresuid(id, id, id) || drop_caps())
		return -1;
	return 0;
}

FIXTURE(access) {
	int rw;
	int ro;
};

FIXTURE_SETUP(access)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	self->rw = hs_open();
	ASSERT_LE(0, self->rw);
	self->ro = open(HUGESLAB_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, self->ro);
}

FIXTURE_TEARDOWN(access)
{
	close(self->rw);
	close(self->ro);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	EXPECT_EQ(0, hs_nr_pools());
}

/* A file opened O_RDONLY gives no write access, so it creates nothing. */
TEST_F(access, rdonly_fd_cannot_create)
{
	struct hugeslab_stats st;

	EXPECT_EQ(-EBADF, hs_create(self->ro, SZ_2M));
	EXPECT_EQ(-EBADF, create_named(self->ro, SZ_2M, "ro-create"));
	EXPECT_EQ(0, hs_nr_pools());
	EXPECT_EQ(0, hs_pinned());
	/* Nothing to export or query either, and STATS works on any file. */
	EXPECT_EQ(-ENODEV, export(self->ro, 0, SZ_2M));
	EXPECT_EQ(0, ioctl(self->ro, HUGESLAB_IOC_STATS, &st));
	/* The same file cannot write after an O_RDWR attach either. */
	ASSERT_EQ(0, create_named(self->rw, POOL_SIZE, "ro-target"));
	EXPECT_EQ(0, attach_as(self->ro, "ro-target", 0, 0));
	EXPECT_EQ(-EINVAL, hs_create(self->rw, SZ_2M));	/* has a pool */
}

/*
 * An O_RDONLY file that attached a pool is a read-only handle: it maps
 * PROT_READ, MAP_SHARED (was EINVAL: mmap(2) clears VM_SHARED on such a
 * file, VM_MAYSHARE stays), never PROT_WRITE, and exports no dma-buf.
 */
TEST_F(access, rdonly_fd_maps_read_only)
{
	char *p, *q;

	ASSERT_EQ(0, create_named(self->rw, POOL_SIZE, "ro-map"));
	p = hs_map(self->rw, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p + SZ_2M, "seen read-only");
	ASSERT_EQ(0, attach_as(self->ro, "ro-map", 0, 0));

	q = mmap(NULL, POOL_SIZE, PROT_READ, MAP_SHARED, self->ro, 0);
	ASSERT_NE(MAP_FAILED, q) TH_LOG("mmap PROT_READ: %s", strerror(errno));
	EXPECT_STREQ("seen read-only", q + SZ_2M);
	/* Shared, not a private copy: later writes show through. */
	put_str(p + SZ_2M, "updated");
	EXPECT_STREQ("updated", q + SZ_2M);
	EXPECT_EQ(-1, mprotect(q, POOL_SIZE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(q, POOL_SIZE);

	EXPECT_EQ(MAP_FAILED, hs_map(self->ro, POOL_SIZE, 0));
	EXPECT_EQ(EACCES, errno);
	/* MAP_PRIVATE is still refused. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_2M, PROT_READ, MAP_PRIVATE,
				   self->ro, 0));
	EXPECT_EQ(EINVAL, errno);
	/* A dma-buf is O_RDWR and a device could write through it. */
	EXPECT_EQ(-EACCES, export(self->ro, 0, SZ_2M));
	munmap(p, POOL_SIZE);
}

/* A writable file exports O_RDWR dma-bufs, which map shared. */
TEST_F(access, rdwr_fd_exports_rdwr_dmabuf)
{
	int dfd;
	char *p, *q;

	ASSERT_EQ(0, hs_create(self->rw, POOL_SIZE));
	p = hs_map(self->rw, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p + SZ_2M, "via dma-buf");
	dfd = export(self->rw, SZ_2M, SZ_2M);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(O_RDWR, fcntl(dfd, F_GETFL) & O_ACCMODE);
	q = mmap(NULL, SZ_2M, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_STREQ("via dma-buf", q);
	munmap(q, SZ_2M);
	close(dfd);
	munmap(p, POOL_SIZE);
}

/* INFO reports the creator's uid, on the creator's and attached files. */
static int create_as_squatter(int *fds)
{
	struct hugeslab_info in;

	if (become(NOBODY_ID))
		return 100;
	if (create_named(fds[0], SZ_2M, "storage-rx"))
		return 10;
	if (info(fds[0], &in) || in.valid != HUGESLAB_INFO_OWNER ||
	    in.owner_uid != NOBODY_ID)
		return 11;
	return 0;
}

/*
 * The squat: nobody creates "storage-rx" before the root service does.
 * Root (CAP_SYS_ADMIN) may attach any user's pool, so only the owner check
 * tells it the pool is not its own; another unprivileged user is refused
 * whatever it asks for.
 */
TEST_F(access, owner_check_refuses_squatter)
{
	struct hugeslab_info in;
	int fds[4], i, st;
	pid_t pid;

	for (i = 0; i < 4; i++) {
		fds[i] = hs_open();
		ASSERT_LE(0, fds[i]);
	}
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(create_as_squatter(fds));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	/* fds[0] (ours, shared with the exited child) keeps the pool. */

	/* The service expects its own pool: refused, even to root. */
	EXPECT_EQ(-EPERM, attach_as(fds[1], "storage-rx",
				    HUGESLAB_ATTACH_OWNER, 0));
	EXPECT_EQ(-EPERM, attach_as(fds[1], "storage-rx",
				    HUGESLAB_ATTACH_OWNER |
				    HUGESLAB_ATTACH_RDONLY, 0));
	EXPECT_EQ(-ENODEV, info(fds[1], &in));	/* nothing attached */
	/* Naming the right owner works; so does the unchecked attach. */
	EXPECT_EQ(0, attach_as(fds[1], "storage-rx",
			       HUGESLAB_ATTACH_OWNER, NOBODY_ID));
	ASSERT_EQ(0, info(fds[1], &in));
	EXPECT_EQ(HUGESLAB_INFO_OWNER, in.valid);
	EXPECT_EQ(NOBODY_ID, in.owner_uid);
	EXPECT_EQ(0, attach_as(fds[2], "storage-rx", 0, 0));
	ASSERT_EQ(0, info(fds[2], &in));
	EXPECT_EQ(NOBODY_ID, in.owner_uid);

	/* A second unprivileged user: not its pool, with or without a check. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (become(OTHER_ID))
			_exit(100);
		if (attach_as(fds[3], "storage-rx", 0, 0) != -EPERM)
			_exit(10);
		if (attach_as(fds[3], "storage-rx", HUGESLAB_ATTACH_OWNER,
			      NOBODY_ID) != -EPERM)
			_exit(11);
		/* Its own pool under another name attaches with the check. */
		if (create_named(fds[3], SZ_2M, "other-rx"))
			_exit(12);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	for (i = 0; i < 4; i++)
		close(fds[i]);
}

/* A root-created pool passes root's owner check; info says uid 0. */
TEST_F(access, owner_check_accepts_owner)
{
	struct hugeslab_info in;

	ASSERT_EQ(0, create_named(self->rw, SZ_2M, "own-rx"));
	ASSERT_EQ(0, info(self->rw, &in));
	EXPECT_EQ(HUGESLAB_INFO_OWNER, in.valid);
	EXPECT_EQ(0, in.owner_uid);
	EXPECT_EQ(0, attach_as(self->ro, "own-rx", HUGESLAB_ATTACH_OWNER, 0));
}

/* Malformed owner requests. */
TEST_F(access, owner_arguments)
{
	ASSERT_EQ(0, create_named(self->rw, SZ_2M, "own-args"));
	/* An owner without the flag: the caller meant a check, refuse. */
	EXPECT_EQ(-EINVAL, attach_as(self->ro, "own-args", 0, 1));
	/* (uid_t)-1 is never a uid. */
	EXPECT_EQ(-EINVAL, attach_as(self->ro, "own-args",
				     HUGESLAB_ATTACH_OWNER, (uint32_t)-1));
	/* Unknown flags. */
	EXPECT_EQ(-EINVAL, attach_as(self->ro, "own-args", 1U << 2, 0));
	EXPECT_EQ(0, attach_as(self->ro, "own-args", HUGESLAB_ATTACH_OWNER, 0));
}

TEST_HARNESS_MAIN
