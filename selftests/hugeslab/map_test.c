// SPDX-License-Identifier: GPL-2.0
/*
 * mmap of a pool: arguments, 2 MiB page-table entries, zeroed pages, no
 * faults after the first touch, sharing across fork, and every user action
 * that could swap or free a slab's pages while the pool lives.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(32 * SZ_2M)

FIXTURE(pool) {
	int fd;
	char *map;
};

FIXTURE_SETUP(pool)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	ASSERT_EQ(0, hs_pinned());
	self->fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, self->fd);
	self->map = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(pool)
{
	munmap(self->map, POOL_SIZE);
	close(self->fd);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/* Physical address of @addr, from the module (we are root in the VM). */
static uint64_t slab_phys(int fd, unsigned int slab)
{
	struct hugeslab_slab_addrs req = { 0 };
	__u64 addr = 0;

	req.addrs = (uintptr_t)&addr;
	req.first_slab = slab;
	req.count = 1;
	if (ioctl(fd, HUGESLAB_IOC_SLAB_ADDRS, &req))
		return 0;
	return addr;
}

/* Physical address the page tables give for @addr, from pagemap. */
static uint64_t pagemap_phys(const void *addr)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)addr / SZ_4K * 8) != 8)
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * SZ_4K;
}

TEST_F(pool, aligned_and_pmd_mapped)
{
	long pmd_kb;
	size_t i;

	EXPECT_EQ(0, (uintptr_t)self->map & (SZ_2M - 1));
	for (i = 0; i < POOL_SIZE; i += SZ_2M)
		self->map[i] = 1;
	pmd_kb = smaps_kb(self->map, "ShmemPmdMapped");
	if (pmd_kb <= 0)
		pmd_kb = smaps_kb(self->map, "FilePmdMapped");
	TH_LOG("PMD-mapped: %ld kB of %lu kB", pmd_kb, POOL_SIZE >> 10);
	EXPECT_EQ(POOL_SIZE >> 10, pmd_kb);
	EXPECT_EQ(POOL_SIZE >> 10, smaps_kb(self->map, "Rss"));
	/* The page tables point at the slabs the module reports. */
	for (i = 0; i < POOL_SIZE / SZ_2M; i++)
		EXPECT_EQ(slab_phys(self->fd, i),
			  pagemap_phys(self->map + i * SZ_2M));
}

TEST_F(pool, populate_maps_everything_with_pmds)
{
	char *p = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, self->fd, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(POOL_SIZE >> 10, smaps_kb(p, "ShmemPmdMapped") +
				   smaps_kb(p, "FilePmdMapped"));
	munmap(p, POOL_SIZE);
}

TEST_F(pool, zero_on_first_sight)
{
	int fd;
	char *p;

	EXPECT_TRUE(all_zero(self->map, POOL_SIZE));
	memset(self->map, 0xa5, POOL_SIZE);

	/* Recycled memory must not leak the previous owner's data either. */
	ASSERT_EQ(0, munmap(self->map, POOL_SIZE));
	close(self->fd);
	ASSERT_EQ(0, hs_wait_pinned(0, 2000));
	fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, fd);
	p = hs_map(fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(all_zero(p, POOL_SIZE));
	self->fd = fd;
	self->map = p;
}

TEST_F(pool, no_faults_after_first_touch)
{
	long before;
	int round;

	memset(self->map, 1, POOL_SIZE);	/* first touch */
	before = minor_faults();
	for (round = 0; round < 4; round++)
		memset(self->map, round, POOL_SIZE);
	EXPECT_EQ(before, minor_faults());
}

TEST_F(pool, one_fault_per_slab)
{
	char *p = hs_map(self->fd, POOL_SIZE, 0);
	long before;
	size_t i;

	ASSERT_NE(MAP_FAILED, p);
	before = minor_faults();
	for (i = 0; i < POOL_SIZE; i += SZ_4K)
		p[i] = 1;
	EXPECT_EQ(POOL_SIZE / SZ_2M, minor_faults() - before);
	munmap(p, POOL_SIZE);
}

TEST_F(pool, bad_mmap_arguments)
{
	int ro;

	/* MAP_PRIVATE would give copy-on-write pages that are not slabs. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_2M, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	/* Offsets must be slab aligned. */
	EXPECT_EQ(MAP_FAILED, hs_map(self->fd, SZ_2M, SZ_4K));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, hs_map(self->fd, SZ_2M, SZ_2M / 2));
	EXPECT_EQ(EINVAL, errno);
	/* Past the end, by a page, by a slab, or starting there. */
	EXPECT_EQ(MAP_FAILED, hs_map(self->fd, POOL_SIZE + SZ_4K, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, hs_map(self->fd, 2 * SZ_2M, POOL_SIZE - SZ_2M));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, hs_map(self->fd, SZ_2M, POOL_SIZE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, hs_map(self->fd, SZ_2M, 1L << 50));
	EXPECT_EQ(EINVAL, errno);
	/* A read-only fd creates nothing (access_test has the rest). */
	ro = open(HUGESLAB_DEVICE_PATH, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, hs_create(ro, SZ_2M));
	EXPECT_EQ(MAP_FAILED, hs_map(ro, SZ_2M, 0));
	EXPECT_EQ(EACCES, errno);
	close(ro);
}

TEST_F(pool, sub_range_sees_same_slabs)
{
	char *sub = hs_map(self->fd, 3 * SZ_2M, 5 * SZ_2M);

	ASSERT_NE(MAP_FAILED, sub);
	EXPECT_EQ(0, (uintptr_t)sub & (SZ_2M - 1));
	sub[SZ_2M] = 0;
	put_str(self->map + 5 * SZ_2M + 100, "through the full map");
	EXPECT_STREQ("through the full map", sub + 100);
	put_str(sub + 2 * SZ_2M, "through the sub map");
	EXPECT_STREQ("through the sub map", self->map + 7 * SZ_2M);
	EXPECT_EQ(3 * SZ_2M >> 10, smaps_kb(sub, "ShmemPmdMapped") +
				      smaps_kb(sub, "FilePmdMapped"));
	munmap(sub, 3 * SZ_2M);

	/* A length that is not a slab multiple maps the pages it covers. */
	put_str(self->map + SZ_2M, "second slab");
	sub = hs_map(self->fd, SZ_2M + SZ_4K, 0);
	ASSERT_NE(MAP_FAILED, sub);
	EXPECT_STREQ("second slab", sub + SZ_2M);
	munmap(sub, SZ_2M + SZ_4K);
}

TEST_F(pool, fork_child_writes_parent_sees)
{
	pid_t pid;
	int status;

	self->map[0] = 0;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child also outlives the parent's fd. */
		close(self->fd);
		put_str(self->map + 3 * SZ_2M + 17, "from the child");
		self->map[0] = 1;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_EQ(1, self->map[0]);
	EXPECT_STREQ("from the child", self->map + 3 * SZ_2M + 17);
}

TEST_F(pool, madv_remove_cannot_replace_slabs)
{
	uint64_t phys = slab_phys(self->fd, 1);

	put_str(self->map + SZ_2M, "still here");
	/* Punching a hole would hand the next touch a different page. */
	EXPECT_EQ(-1, madvise(self->map + SZ_2M, SZ_2M, MADV_REMOVE));
	EXPECT_STREQ("still here", self->map + SZ_2M);
	EXPECT_EQ(phys, pagemap_phys(self->map + SZ_2M));
	EXPECT_EQ(phys, slab_phys(self->fd, 1));
}

TEST_F(pool, madv_dontneed_and_pageout_keep_data)
{
	uint64_t phys = slab_phys(self->fd, 2);

	put_str(self->map + 2 * SZ_2M, "kept");
	EXPECT_EQ(0, madvise(self->map + 2 * SZ_2M, SZ_2M, MADV_DONTNEED));
	EXPECT_STREQ("kept", self->map + 2 * SZ_2M);
	EXPECT_EQ(phys, pagemap_phys(self->map + 2 * SZ_2M));
	madvise(self->map, POOL_SIZE, MADV_PAGEOUT);	/* may be refused */
	madvise(self->map, POOL_SIZE, MADV_COLD);
	EXPECT_STREQ("kept", self->map + 2 * SZ_2M);
	EXPECT_EQ(phys, pagemap_phys(self->map + 2 * SZ_2M));
}

TEST_F(pool, map_files_cannot_truncate_or_punch)
{
	char path[128];
	int fd;

	put_str(self->map, "intact");
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)self->map,
		 (unsigned long)self->map + POOL_SIZE);
	/* Reopening the pool's file is refused outright... */
	fd = open(path, O_RDWR);
	EXPECT_EQ(-1, fd);
	if (fd >= 0) {
		EXPECT_NE(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
				       FALLOC_FL_KEEP_SIZE, 0, SZ_2M));
		EXPECT_NE(0, ftruncate(fd, 0));
		close(fd);
	}
	/* ...and so is resizing it by path. */
	EXPECT_NE(0, truncate(path, 0));
	EXPECT_NE(0, truncate(path, 2 * POOL_SIZE));
	EXPECT_STREQ("intact", self->map);
	EXPECT_EQ(POOL_SIZE >> 10, smaps_kb(self->map, "Size"));
}

TEST_F(pool, mremap_moves_but_never_grows)
{
	uint64_t phys = slab_phys(self->fd, 0);
	char *moved;

	put_str(self->map, "moving");
	EXPECT_EQ(MAP_FAILED, mremap(self->map, POOL_SIZE, POOL_SIZE + SZ_2M,
				     MREMAP_MAYMOVE));
	moved = mremap(self->map, POOL_SIZE, POOL_SIZE / 2, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, moved);
	self->map = moved;
	EXPECT_STREQ("moving", moved);
	EXPECT_EQ(phys, pagemap_phys(moved));
	munmap(moved, POOL_SIZE / 2);
	self->map = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

TEST_F(pool, partial_munmap_keeps_the_rest)
{
	uint64_t phys = slab_phys(self->fd, 4);

	memset(self->map, 0x5a, POOL_SIZE);
	/* A hole in the middle of a slab splits the PMD, not the slab. */
	ASSERT_EQ(0, munmap(self->map + 4 * SZ_2M + SZ_4K, SZ_4K));
	ASSERT_EQ(0, munmap(self->map + 8 * SZ_2M, SZ_2M));
	EXPECT_EQ(0x5a, self->map[4 * SZ_2M]);
	EXPECT_EQ(0x5a, self->map[4 * SZ_2M + 2 * SZ_4K]);
	EXPECT_EQ(0x5a, self->map[9 * SZ_2M]);
	EXPECT_EQ(phys, pagemap_phys(self->map + 4 * SZ_2M + 2 * SZ_4K) &
			~(SZ_2M - 1));
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(POOL_SIZE, hs_pinned());	/* pieces still map it */
}

TEST_F(pool, mprotect_round_trip)
{
	put_str(self->map, "protected");
	ASSERT_EQ(0, mprotect(self->map, POOL_SIZE, PROT_READ));
	EXPECT_STREQ("protected", self->map);
	ASSERT_EQ(0, mprotect(self->map, POOL_SIZE, PROT_READ | PROT_WRITE));
	self->map[0] = 'P';
	EXPECT_EQ('P', self->map[0]);
}

TEST_HARNESS_MAIN
