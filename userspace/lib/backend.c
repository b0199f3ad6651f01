// SPDX-License-Identifier: MIT
/*
 * backend.c: where the buffer memory comes from.
 *
 * /dev/hugeslab when it exists (its errors are final). Otherwise, only when
 * the caller allows it, in this order: memfd_create(MFD_HUGETLB), anonymous
 * MAP_HUGETLB, then 4 KiB pages with MADV_HUGEPAGE. Fallback memory is
 * MAP_SHARED like the module's, so fork(2) behaves the same, and mlock()ed:
 * a pool that cannot be locked is refused rather than silently swappable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/hugeslab.h>

#include "internal.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB		0x0004U
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB		(21U << 26)
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB		(21 << 26)
#endif
#define HS_MPOL_PREFERRED	1
#define HS_NODEMASK_LONGS	16

static int hs_map_module(struct hs_pool_priv *p, int fd, int node)
{
	struct hugeslab_create_named cn = {
		.create = {
			.size = p->total_bytes,
			.slab_shift = 0,
			.numa_node = node,
		},
	};
	void *addr;

	if (p->flags & HS_POOL_NAMED) {
		/* p->name is checked: [A-Za-z0-9._-], below HS_NAME_MAX */
		cn.create.flags = HUGESLAB_CREATE_NAMED;
		memcpy(cn.name, p->name,
		       strnlen(p->name, sizeof(cn.name) - 1));
		if (ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &cn))
			return -1;
	} else if (ioctl(fd, HUGESLAB_IOC_CREATE, &cn.create)) {
		return -1;
	}
	addr = mmap(NULL, p->total_bytes, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, 0);
	if (addr == MAP_FAILED)
		return -1;
	p->dev_fd = fd;
	p->map = addr;
	p->map_len = p->total_bytes;
	p->backend = HS_BACKEND_MODULE;
	p->page_size = HS_SLAB_SIZE;
	return 0;
}

/* Prefer @node for pages not yet faulted in. */
static int hs_bind(void *addr, size_t len, int node)
{
	unsigned long mask[HS_NODEMASK_LONGS] = { 0 };
	unsigned int bits = sizeof(unsigned long) * 8;

	if (node < 0)
		return 0;
	if ((unsigned int)node >= HS_NODEMASK_LONGS * bits) {
		errno = EINVAL;
		return -1;
	}
	mask[node / bits] = 1UL << (node % bits);
	return (int)syscall(SYS_mbind, addr, len, HS_MPOL_PREFERRED, mask,
			    (unsigned long)HS_NODEMASK_LONGS * bits, 0);
}

/* Bind, then fault in and lock. Failure here is final: no further fallback. */
static int hs_lock(struct hs_pool_priv *p, void *addr, int node)
{
	int err;

	if (hs_bind(addr, p->total_bytes, node) ||
	    mlock(addr, p->total_bytes)) {
		err = errno;
		munmap(addr, p->total_bytes);
		errno = err;
		return -1;
	}
	return 0;
}

static int hs_map_memfd_hugetlb(struct hs_pool_priv *p, int node)
{
	void *addr;
	int fd, err;

	fd = memfd_create("hugeslab", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
	if (fd < 0)
		return 1;
	if (ftruncate(fd, (off_t)p->total_bytes)) {
		close(fd);
		return 1;
	}
	addr = mmap(NULL, p->total_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	if (addr == MAP_FAILED) {
		err = errno;
		close(fd);
		errno = err;
		return 1;
	}
	if (hs_lock(p, addr, node)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	p->dev_fd = fd;		/* kept for hs_pool_fd() */
	p->map = addr;
	p->map_len = p->total_bytes;
	p->backend = HS_BACKEND_MEMFD_HUGETLB;
	p->page_size = HS_SLAB_SIZE;
	return 0;
}

static int hs_map_hugetlb(struct hs_pool_priv *p, int node)
{
	void *addr;

	addr = mmap(NULL, p->total_bytes, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB,
		    -1, 0);
	if (addr == MAP_FAILED)
		return 1;
	if (hs_lock(p, addr, node))
		return -1;
	p->map = addr;
	p->map_len = p->total_bytes;
	p->backend = HS_BACKEND_MAP_HUGETLB;
	p->page_size = HS_SLAB_SIZE;
	return 0;
}

/*
 * 4 KiB pages, aligned to 2 MiB so that transparent huge pages can apply.
 * A plain memfd (shmem, as MAP_SHARED | MAP_ANONYMOUS would be) so that the
 * pool has a file to pass with SCM_RIGHTS (hs_pool_fd()).
 */
static int hs_map_pages(struct hs_pool_priv *p, int node)
{
	size_t len = p->total_bytes, resv = len + HS_SLAB_SIZE;
	uintptr_t start, aligned;
	void *addr;
	int fd, err;

	fd = memfd_create("hugeslab", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	addr = mmap(NULL, resv, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (addr == MAP_FAILED) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	start = (uintptr_t)addr;
	aligned = (start + HS_SLAB_SIZE - 1) & ~(uintptr_t)(HS_SLAB_SIZE - 1);
	if (mmap((void *)aligned, len, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_SHARED, fd, 0) == MAP_FAILED) {
		err = errno;
		munmap(addr, resv);
		close(fd);
		errno = err;
		return -1;
	}
	if (aligned > start)
		munmap(addr, aligned - start);
	if (start + resv > aligned + len)
		munmap((void *)(aligned + len), start + resv - aligned - len);
	/* Advice only: the reported page size stays 4096 either way. */
	madvise((void *)aligned, len, MADV_HUGEPAGE);
	if (hs_lock(p, (void *)aligned, node)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	p->dev_fd = fd;		/* kept for hs_pool_fd() */
	p->map = (void *)aligned;
	p->map_len = len;
	p->backend = HS_BACKEND_PAGES;
	p->page_size = 4096;
	return 0;
}

int hs_backend_map(struct hs_pool_priv *p, int node, bool fallback)
{
	int fd, ret, err;

	p->dev_fd = -1;
	fd = open(HUGESLAB_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		if (hs_map_module(p, fd, node)) {
			err = errno;
			close(fd);
			errno = err;
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	if (!fallback) {
		errno = ENOENT;
		return -1;
	}
	ret = hs_map_memfd_hugetlb(p, node);
	if (ret <= 0)
		return ret;
	ret = hs_map_hugetlb(p, node);
	if (ret <= 0)
		return ret;
	return hs_map_pages(p, node);
}

void hs_backend_unmap(struct hs_pool_priv *p)
{
	if (p->map)
		munmap(p->map, p->map_len);
	p->map = NULL;
	if (p->dev_fd >= 0)
		close(p->dev_fd);
	p->dev_fd = -1;
}
