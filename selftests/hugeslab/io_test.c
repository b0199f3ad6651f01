// SPDX-License-Identifier: GPL-2.0
/*
 * get_user_pages users on a pool mapping: O_DIRECT against a real block
 * device and io_uring fixed buffers, with a checksum round trip.
 */
#define _GNU_SOURCE
#include <liburing.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(16 * SZ_2M)
#define IO_SIZE		(4 * SZ_2M)

FIXTURE(io) {
	int fd;
	int disk;
	char *map;
};

FIXTURE_SETUP(io)
{
	const char *disk = getenv("HUGESLAB_TEST_DISK");

	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	if (!disk)
		SKIP(return, "HUGESLAB_TEST_DISK is not set");
	self->disk = open(disk, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->disk);
	self->fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, self->fd);
	self->map = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(io)
{
	munmap(self->map, POOL_SIZE);
	close(self->fd);
	close(self->disk);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

TEST_F(io, odirect_write_read_back)
{
	char *out = self->map, *in = self->map + 8 * SZ_2M;
	uint64_t sum;
	long faults;

	fill_pattern(out, IO_SIZE, 0x1234);
	sum = checksum(out, IO_SIZE);
	memset(in, 0, IO_SIZE);

	faults = minor_faults();
	ASSERT_EQ(IO_SIZE, pwrite(self->disk, out, IO_SIZE, 0));
	ASSERT_EQ(0, fsync(self->disk));
	ASSERT_EQ(IO_SIZE, pread(self->disk, in, IO_SIZE, 0));
	/* The data path touched only pages that were already mapped. */
	EXPECT_EQ(faults, minor_faults());
	EXPECT_EQ(sum, checksum(in, IO_SIZE));
	EXPECT_EQ(0, memcmp(out, in, IO_SIZE));

	/* Unaligned pieces straddling slabs work too. */
	ASSERT_EQ(SZ_2M, pwrite(self->disk, out + SZ_2M - 64 * 1024, SZ_2M,
				IO_SIZE));
	memset(in, 0, SZ_2M);
	ASSERT_EQ(SZ_2M, pread(self->disk, in + SZ_4K, SZ_2M, IO_SIZE));
	EXPECT_EQ(0, memcmp(out + SZ_2M - 64 * 1024, in + SZ_4K, SZ_2M));
}

TEST_F(io, odirect_after_fd_closed)
{
	char *buf = self->map + 2 * SZ_2M;

	/* The mapping alone keeps the pool, and GUP still works on it. */
	close(self->fd);
	self->fd = -1;
	fill_pattern(buf, SZ_2M, 99);
	ASSERT_EQ(SZ_2M, pwrite(self->disk, buf, SZ_2M, 0));
	memset(buf, 0, SZ_2M);
	ASSERT_EQ(SZ_2M, pread(self->disk, buf, SZ_2M, 0));
	fill_pattern(self->map, SZ_2M, 99);
	EXPECT_EQ(0, memcmp(self->map, buf, SZ_2M));
}

TEST_F(io, io_uring_fixed_round_trip)
{
	char *out = self->map, *in = self->map + 8 * SZ_2M;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct iovec iov[2] = {
		{ .iov_base = out, .iov_len = 8 * SZ_2M },
		{ .iov_base = in, .iov_len = 8 * SZ_2M },
	};
	int ret;

	ret = io_uring_queue_init(8, &ring, 0);
	ASSERT_EQ(0, ret);
	/* Registration pins the pages long-term: 6.1 checks shmem vm_ops. */
	ASSERT_EQ(0, io_uring_register_buffers(&ring, iov, 2));

	fill_pattern(out, IO_SIZE, 0xfeed);
	memset(in, 0, IO_SIZE);

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_write_fixed(sqe, self->disk, out, IO_SIZE, 0, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(IO_SIZE, cqe->res);
	io_uring_cqe_seen(&ring, cqe);

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read_fixed(sqe, self->disk, in, IO_SIZE, 0, 1);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(IO_SIZE, cqe->res);
	io_uring_cqe_seen(&ring, cqe);

	EXPECT_EQ(checksum(out, IO_SIZE), checksum(in, IO_SIZE));

	/* The pins keep the pages even when the pool's fd and map go away. */
	EXPECT_EQ(0, io_uring_unregister_buffers(&ring));
	io_uring_queue_exit(&ring);
}

TEST_F(io, io_uring_whole_pool_one_buffer)
{
	struct iovec iov = { .iov_base = self->map, .iov_len = POOL_SIZE };
	struct io_uring ring;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	EXPECT_EQ(0, io_uring_register_buffers(&ring, &iov, 1));
	io_uring_queue_exit(&ring);
}

TEST_HARNESS_MAIN
