// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf export: a device (the test-only importer module) maps the dma-buf
 * and gets one scatterlist entry per slab at the slabs' physical addresses;
 * a device with a smaller segment limit (or behind swiotlb) gets entries cut
 * to that limit and reads the right data through them; the pool lives while
 * the dma-buf does; bad ranges are refused and leave no fd behind.
 *
 * Under swiotlb=force (the swiotlb lane of scripts/check.sh runs
 * "dmabuf_test -f dmabuf_seg"), every DMA address must be a bounce buffer.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>

#include "hugeslab_util.h"
#include "hs_nl.h"
#include "importer/importer.h"
#include "kselftest_harness.h"

#define POOL_SIZE	(8 * SZ_2M)
#define SZ_64K		(64 * 1024UL)

static int export_raw(int fd, struct hugeslab_export_dmabuf *req)
{
	return ioctl(fd, HUGESLAB_IOC_EXPORT_DMABUF, req) ? -errno : 0;
}

/* The dma-buf fd of [@off, @off + @len), or -errno. */
static int export(int fd, uint64_t off, uint64_t len)
{
	struct hugeslab_export_dmabuf req = {
		.offset = off, .length = len, .flags = HUGESLAB_DMABUF_CLOEXEC,
	};
	int ret = export_raw(fd, &req);

	return ret ?: req.fd;
}

static int slab_addrs(int fd, unsigned int first, unsigned int n,
		      uint64_t *addrs)
{
	struct hugeslab_slab_addrs req = {
		.addrs = (uintptr_t)addrs, .first_slab = first, .count = n,
	};

	return ioctl(fd, HUGESLAB_IOC_SLAB_ADDRS, &req) ? -errno : (int)req.count;
}

/* The lowest free fd number: what the next fd would get. */
static int next_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

FIXTURE(dmabuf) {
	int fd;
	int importer;
};

FIXTURE_SETUP(dmabuf)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	self->fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, self->fd);
	self->importer = open(HS_IMPORTER_PATH, O_RDWR | O_CLOEXEC);
}

FIXTURE_TEARDOWN(dmabuf)
{
	if (self->importer >= 0)
		close(self->importer);
	close(self->fd);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/* A device sees one entry per slab, at the slabs' physical addresses. */
TEST_F(dmabuf, import_scatterlist)
{
	struct hs_import_ent ents[8];
	struct hs_import req = { .count = 8, .ents = (uintptr_t)ents };
	uint64_t addrs[3];
	unsigned int i;
	int buf;

	if (self->importer < 0)
		SKIP(return, "no %s (hugeslab_importer.ko)", HS_IMPORTER_PATH);
	/* Slabs 2, 3 and 4. */
	buf = export(self->fd, 2 * SZ_2M, 3 * SZ_2M);
	ASSERT_LE(0, buf);
	ASSERT_EQ(3, slab_addrs(self->fd, 2, 3, addrs));

	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req));
	EXPECT_EQ(3 * SZ_2M, req.size);
	EXPECT_EQ(3, req.orig_nents);
	EXPECT_EQ(3, req.count);
	/* Without an IOMMU, the DMA mapping is the identity, one to one. */
	EXPECT_EQ(3, req.nents);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(addrs[i], ents[i].phys);
		EXPECT_EQ(SZ_2M, ents[i].len);
		EXPECT_EQ(addrs[i], ents[i].dma);
		EXPECT_EQ(SZ_2M, ents[i].dma_len);
		TH_LOG("entry %u: phys %#llx len %llu dma %#llx", i,
		       (unsigned long long)ents[i].phys,
		       (unsigned long long)ents[i].len,
		       (unsigned long long)ents[i].dma);
	}
	/* Mapped again (a second importer), the same entries. */
	memset(ents, 0, sizeof(ents));
	ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req));
	EXPECT_EQ(addrs[2], ents[2].phys);
	close(buf);
}

/* The whole pool, and a single slab. */
TEST_F(dmabuf, import_whole_and_single)
{
	struct hs_import_ent ents[8];
	struct hs_import req = { .count = 8, .ents = (uintptr_t)ents };
	uint64_t addrs[8];
	int buf, i;

	if (self->importer < 0)
		SKIP(return, "no %s (hugeslab_importer.ko)", HS_IMPORTER_PATH);
	ASSERT_EQ(8, slab_addrs(self->fd, 0, 8, addrs));
	buf = export(self->fd, 0, POOL_SIZE);
	ASSERT_LE(0, buf);
	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req));
	EXPECT_EQ(8, req.orig_nents);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(addrs[i], ents[i].phys);
	close(buf);

	buf = export(self->fd, 7 * SZ_2M, SZ_2M);
	ASSERT_LE(0, buf);
	req.fd = buf;
	ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req));
	EXPECT_EQ(1, req.orig_nents);
	EXPECT_EQ(addrs[7], ents[0].phys);
	close(buf);
}

/* The data the pool holds is what a CPU mapping of the dma-buf shows. */
TEST_F(dmabuf, mmap_dmabuf)
{
	char *p, *q;
	int buf;

	p = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, p);
	put_str(p + 5 * SZ_2M, "slab five");
	buf = export(self->fd, 4 * SZ_2M, 2 * SZ_2M);
	ASSERT_LE(0, buf);
	q = mmap(NULL, 2 * SZ_2M, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_STREQ("slab five", q + SZ_2M);
	put_str(q, "written through the dma-buf");
	EXPECT_STREQ("written through the dma-buf", p + 4 * SZ_2M);
	/* Not past its end, and not privately. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 3 * SZ_2M, PROT_READ, MAP_SHARED, buf, 0));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, SZ_2M, PROT_READ, MAP_PRIVATE, buf, 0));
	munmap(q, 2 * SZ_2M);
	munmap(p, POOL_SIZE);
	close(buf);
}

/* The pool lives while a dma-buf does, and the dump counts dma-bufs. */
TEST_F(dmabuf, pool_lives_while_dmabuf)
{
	struct hs_import_ent ents[2];
	struct hs_import req = { .count = 2, .ents = (uintptr_t)ents };
	struct hsnl_pools ps;
	struct hsnl nl;
	uint64_t addr;
	int buf, buf2;

	ASSERT_EQ(1, slab_addrs(self->fd, 1, 1, &addr));
	buf = export(self->fd, SZ_2M, SZ_2M);
	ASSERT_LE(0, buf);
	buf2 = export(self->fd, 0, SZ_2M);
	ASSERT_LE(0, buf2);
	ASSERT_EQ(0, hsnl_open(&nl));
	ASSERT_EQ(0, hsnl_dump_pools(&nl, &ps));
	ASSERT_EQ(1, ps.n);
	EXPECT_EQ(2, ps.p[0].dmabufs);
	close(buf2);
	ASSERT_EQ(0, hsnl_dump_pools(&nl, &ps));
	EXPECT_EQ(1, ps.p[0].dmabufs);

	close(self->fd);
	self->fd = hs_open();
	/* No fd and no mapping: the dma-buf alone holds the pool. */
	EXPECT_EQ(POOL_SIZE, hs_pinned());
	ASSERT_EQ(0, hsnl_dump_pools(&nl, &ps));
	ASSERT_EQ(1, ps.n);
	EXPECT_EQ(0, ps.p[0].files);
	EXPECT_EQ(1, ps.p[0].dmabufs);
	/* The dma-buf holds the module too: rmmod must wait for it. */
	EXPECT_EQ(-1, syscall(SYS_delete_module, "hugeslab", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	if (self->importer >= 0) {
		req.fd = buf;
		ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req));
		EXPECT_EQ(addr, ents[0].phys);
	}
	close(buf);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
	hsnl_close(&nl);
}

/* Every refusal leaves no fd and no reference behind. */
TEST_F(dmabuf, bad_requests)
{
	struct hugeslab_export_dmabuf req;
	int before = next_fd(), nopool = hs_open();
	void *ro;

#define BASE() (req = (struct hugeslab_export_dmabuf){ \
	.offset = 0, .length = SZ_2M })
	BASE(); req.length = 0;				/* empty */
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.offset = SZ_4K;			/* not slab aligned */
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.length = SZ_2M + SZ_4K;
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.offset = POOL_SIZE;			/* past the end */
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.offset = 7 * SZ_2M; req.length = 2 * SZ_2M;
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.offset = 2 * SZ_2M; req.length = -2 * SZ_2M; /* wraps */
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.flags = 2;				/* unknown flag */
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE(); req.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, export_raw(self->fd, &req));
	BASE();						/* no pool */
	EXPECT_EQ(-ENODEV, export_raw(nopool, &req));
	/* The answer cannot be copied out: the fd must not stay. */
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_EXPORT_DMABUF,
			    (void *)(uintptr_t)1));
	EXPECT_EQ(EFAULT, errno);
	/* A valid request in a read-only page: exported, then refused. */
	ro = mmap(NULL, SZ_4K, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	BASE();
	memcpy(ro, &req, sizeof(req));
	ASSERT_EQ(0, mprotect(ro, SZ_4K, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->fd, HUGESLAB_IOC_EXPORT_DMABUF, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, SZ_4K);
	close(nopool);
	EXPECT_EQ(before, next_fd());
	close(self->fd);
	self->fd = hs_open();
	/* No reference was left on the pool either. */
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
#undef BASE
}

/* The fd is a dma-buf: O_CLOEXEC as asked, and not without. */
TEST_F(dmabuf, fd_flags)
{
	struct hugeslab_export_dmabuf req = { .length = SZ_2M };

	ASSERT_EQ(0, export_raw(self->fd, &req));
	EXPECT_EQ(0, fcntl(req.fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(req.fd, F_GETFL) & O_ACCMODE);
	close(req.fd);
	req.flags = HUGESLAB_DMABUF_CLOEXEC;
	ASSERT_EQ(0, export_raw(self->fd, &req));
	EXPECT_EQ(FD_CLOEXEC, fcntl(req.fd, F_GETFD) & FD_CLOEXEC);
	close(req.fd);
}

/* Booted with swiotlb=force: every DMA mapping bounces. */
static bool swiotlb_forced(void)
{
	char line[4096] = "";
	FILE *f = fopen("/proc/cmdline", "r");

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
	}
	return strstr(line, "swiotlb=force") != NULL;
}

static uint64_t pow2_floor(uint64_t v)
{
	while (v & (v - 1))
		v &= v - 1;
	return v;
}

/* A word per 8 bytes that names its offset in the pool. */
static uint64_t pattern(uint64_t off)
{
	return off * 0x9e3779b97f4a7c15ULL ^ 0x5a5a;
}

FIXTURE(dmabuf_seg) {
	int fd;
	int importer;
	uint64_t *pool;
};

/* The importer device's max segment size; 0 leaves UINT_MAX (RDMA's). */
FIXTURE_VARIANT(dmabuf_seg) {
	uint32_t max_seg;
};

FIXTURE_VARIANT_ADD(dmabuf_seg, unlimited) { .max_seg = 0 };
FIXTURE_VARIANT_ADD(dmabuf_seg, seg_2m) { .max_seg = SZ_2M };
FIXTURE_VARIANT_ADD(dmabuf_seg, seg_1m) { .max_seg = SZ_2M / 2 };
/* Not a power of two: cut to 128 KiB. */
FIXTURE_VARIANT_ADD(dmabuf_seg, seg_192k) { .max_seg = 3 * SZ_64K };
/* The default of a device that never set it (dma_get_max_seg_size()). */
FIXTURE_VARIANT_ADD(dmabuf_seg, seg_64k) { .max_seg = SZ_64K };
FIXTURE_VARIANT_ADD(dmabuf_seg, seg_4k) { .max_seg = SZ_4K };

FIXTURE_SETUP(dmabuf_seg)
{
	uint64_t i;

	self->importer = -1;
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	self->importer = open(HS_IMPORTER_PATH, O_RDWR | O_CLOEXEC);
	if (self->importer < 0)
		SKIP(return, "no %s (hugeslab_importer.ko)", HS_IMPORTER_PATH);
	self->fd = hs_pool(POOL_SIZE);
	ASSERT_LE(0, self->fd);
	self->pool = hs_map(self->fd, POOL_SIZE, 0);
	ASSERT_NE(MAP_FAILED, self->pool);
	for (i = 0; i < POOL_SIZE / 8; i++)
		self->pool[i] = pattern(i * 8);
}

FIXTURE_TEARDOWN(dmabuf_seg)
{
	if (self->importer < 0)
		return;
	close(self->importer);
	munmap(self->pool, POOL_SIZE);
	close(self->fd);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/*
 * Slabs 2-4 mapped for a device with the variant's limit: the mapping
 * succeeds, no entry (CPU or DMA) is longer than the device takes, the
 * entries cover the slabs in order, and the device reads the pool's data
 * through them, from bounce buffers under swiotlb=force.
 */
TEST_F(dmabuf_seg, device_limit)
{
	const uint64_t first = 2 * SZ_2M, len = 3 * SZ_2M;
	bool bounced = swiotlb_forced();
	uint64_t addrs[3], limit, off = 0, dma_off = 0;
	struct hs_import_ent *ents;
	struct hs_import req = { .max_seg = variant->max_seg };
	unsigned int i, n = len / 512;
	char *data;
	int buf;

	ents = calloc(n, sizeof(*ents));
	data = malloc(len);
	ASSERT_NE(NULL, ents);
	ASSERT_NE(NULL, data);
	ASSERT_EQ(3, slab_addrs(self->fd, 2, 3, addrs));
	buf = export(self->fd, first, len);
	ASSERT_LE(0, buf);

	req.fd = buf;
	req.count = n;
	req.ents = (uintptr_t)ents;
	req.data = (uintptr_t)data;
	req.data_len = len;
	ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req)) {
		TH_LOG("map with max_seg %u%s: %s", variant->max_seg,
		       bounced ? " under swiotlb=force" : "", strerror(errno));
	}
	limit = variant->max_seg ?: UINT32_MAX;
	if (req.max_mapping < limit)
		limit = req.max_mapping;
	TH_LOG("max_seg %u, max_mapping %llu%s: %u entries, %u mapped",
	       variant->max_seg, (unsigned long long)req.max_mapping,
	       bounced ? ", swiotlb=force" : "", req.orig_nents, req.nents);
	EXPECT_EQ(len, req.size);
	/* Cut to the largest power of two the device takes, not finer. */
	EXPECT_EQ(len / pow2_floor(limit < SZ_2M ? limit : SZ_2M),
		  req.orig_nents);
	ASSERT_GE(n, req.orig_nents);
	ASSERT_EQ(req.orig_nents, req.count);
	for (i = 0; i < req.orig_nents; i++) {
		EXPECT_GE(limit, ents[i].len) {
			TH_LOG("entry %u: %llu bytes", i,
			       (unsigned long long)ents[i].len);
		}
		EXPECT_EQ(addrs[off / SZ_2M] + off % SZ_2M, ents[i].phys);
		off += ents[i].len;
	}
	EXPECT_EQ(len, off);
	for (i = 0; i < req.nents; i++) {
		EXPECT_GE(limit, ents[i].dma_len);
		/* swiotlb must have bounced it; direct DMA is the identity. */
		EXPECT_EQ(!bounced, ents[i].phys == ents[i].dma);
		dma_off += ents[i].dma_len;
	}
	EXPECT_EQ(len, dma_off);
	EXPECT_EQ(0, memcmp(data, (char *)self->pool + first, len));
	close(buf);
	free(data);
	free(ents);
}

/*
 * The device writes through the mapping: after the unmap the pool holds
 * what it wrote, in every entry (swiotlb copies the bounce buffers back),
 * and nothing outside the exported slabs changed.
 */
TEST_F(dmabuf_seg, device_write)
{
	const uint64_t first = 2 * SZ_2M, len = 3 * SZ_2M;
	struct hs_import req = {
		.max_seg = variant->max_seg, .flags = HS_IMPORT_WRITE,
	};
	uint64_t i, bad = 0;
	uint64_t *data;
	int buf;

	data = malloc(len);
	ASSERT_NE(NULL, data);
	buf = export(self->fd, first, len);
	ASSERT_LE(0, buf);
	req.fd = buf;
	req.data = (uintptr_t)data;
	req.data_len = len;
	ASSERT_EQ(0, ioctl(self->importer, HS_IMPORT_MAP, &req)) {
		TH_LOG("map with max_seg %u: %s", variant->max_seg,
		       strerror(errno));
	}
	for (i = 0; i < POOL_SIZE / 8; i++) {
		bool inside = i * 8 >= first && i * 8 < first + len;
		uint64_t want = inside ? ~pattern(i * 8) : pattern(i * 8);

		if (self->pool[i] != want && !bad++)
			TH_LOG("first bad word at pool offset %#llx",
			       (unsigned long long)(i * 8));
	}
	EXPECT_EQ(0, bad);
	close(buf);
	free(data);
}

/* The importer's own checks: a read past the buffer, an unknown flag. */
TEST_F(dmabuf_seg, importer_bad_requests)
{
	struct hs_import req = { .data_len = SZ_2M + 1 };
	int buf = export(self->fd, 0, SZ_2M);

	ASSERT_LE(0, buf);
	req.fd = buf;
	EXPECT_EQ(-1, ioctl(self->importer, HS_IMPORT_MAP, &req));
	EXPECT_EQ(EINVAL, errno);
	req.data_len = 0;
	req.flags = 2;
	EXPECT_EQ(-1, ioctl(self->importer, HS_IMPORT_MAP, &req));
	EXPECT_EQ(EINVAL, errno);
	close(buf);
}

TEST_HARNESS_MAIN
