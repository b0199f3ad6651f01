// SPDX-License-Identifier: MIT
/*
 * attach.c: peer views of a pool created by another process.
 *
 * A peer maps the same memory as the creator, by name through
 * HUGESLAB_IOC_ATTACH or from a file descriptor received with SCM_RIGHTS
 * (a /dev/hugeslab file or a fallback memfd), and recomputes the creator's
 * buffer layout from the buf_size and headroom it is given, so that buffer
 * indices and addresses correspond. The free store and the reference counts
 * stay private to the creator: a peer has neither, and every call that
 * would need them fails EOPNOTSUPP. Buffers change hands by index over the
 * application's own channel.
 *
 * Names are first come, first served, so an attach by name says whose pool
 * it expects (by default the caller's own) and the kernel refuses a pool
 * that another user created first under that name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/hugeslab.h>

#include "internal.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC		0x958458f6
#endif

#define HS_ROUND_UP(x, a)	(((x) + (a) - 1) / (a) * (a))

HS_EXPORT void hs_attach_config_init(struct hs_attach_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->fd = -1;
}

/* The layout of hs_pool_create() (see pool.c), from buf_size and headroom. */
static int hs_peer_geometry(struct hs_pool_priv *p,
			    const struct hs_attach_config *cfg, uint64_t size)
{
	if (cfg->buf_size < HS_BUF_SIZE_MIN || cfg->buf_size > HS_BUF_SIZE_MAX)
		return -1;
	if (cfg->headroom > HS_SLAB_SIZE - cfg->buf_size)
		return -1;
	if (!size || size % HS_SLAB_SIZE || size > HUGESLAB_MAX_POOL_SIZE)
		return -1;
	if (cfg->total_bytes &&
	    HS_ROUND_UP(cfg->total_bytes, HS_SLAB_SIZE) != size)
		return -1;
	p->buf_size = cfg->buf_size;
	p->headroom = cfg->headroom;
	p->stride = HS_ROUND_UP(cfg->buf_size + cfg->headroom, HS_ALIGN);
	p->first_off = HS_ROUND_UP(cfg->headroom, HS_ALIGN);
	if (p->first_off + p->buf_size > HS_SLAB_SIZE)
		return -1;
	p->per_slab = (HS_SLAB_SIZE - p->first_off - p->buf_size) /
		      p->stride + 1;
	/* Buffer indices as the creator computes them (hs_buf_at()). */
	p->shift = hs_meta_shift(p->stride, p->first_off);
	p->total_bytes = size;
	p->nr_slabs = (uint32_t)(size / HS_SLAB_SIZE);
	p->nr_bufs = p->nr_slabs * p->per_slab;
	return 0;
}

/* Size and backend of @fd: a /dev/hugeslab file holding a pool, or a memfd. */
static int hs_peer_probe(struct hs_pool_priv *p, int fd, uint64_t *size)
{
	struct hugeslab_info info;
	struct statfs sfs;
	struct stat st;

	memset(&info, 0, sizeof(info));
	if (ioctl(fd, HUGESLAB_IOC_INFO, &info) == 0) {
		*size = info.size;
		p->backend = HS_BACKEND_MODULE;
		p->page_size = HS_SLAB_SIZE;
		return 0;
	}
	if (errno == ENODEV)		/* a device file without a pool */
		return -1;
	if (fstat(fd, &st) || fstatfs(fd, &sfs))
		return -1;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		errno = EINVAL;
		return -1;
	}
	*size = (uint64_t)st.st_size;
	if ((unsigned long)sfs.f_type == HUGETLBFS_MAGIC) {
		p->backend = HS_BACKEND_MEMFD_HUGETLB;
		p->page_size = HS_SLAB_SIZE;
	} else {
		p->backend = HS_BACKEND_PAGES;
		p->page_size = 4096;
	}
	return 0;
}

static int hs_attach_name(const char *name, uint32_t flags, uint32_t owner)
{
	struct hugeslab_attach at;
	size_t len = strlen(name);
	int fd, err;

	if (!len || len >= HUGESLAB_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	memset(&at, 0, sizeof(at));
	memcpy(at.name, name, len);
	at.flags = (flags & HS_ATTACH_RDONLY) ? HUGESLAB_ATTACH_RDONLY : 0;
	/* The kernel compares with the creator's real uid, as getuid(). */
	if (!(flags & HS_ATTACH_ANY_OWNER)) {
		at.flags |= HUGESLAB_ATTACH_OWNER;
		at.owner_uid = (flags & HS_ATTACH_OWNER) ? owner : getuid();
	}
	fd = open(HUGESLAB_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ioctl(fd, HUGESLAB_IOC_ATTACH, &at)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

HS_EXPORT struct hs_pool *__hs_pool_attach(const struct hs_attach_config *cfg,
					   uint64_t layout)
{
	struct hs_pool_priv *p;
	uint32_t owner_flags;
	uint64_t size = 0;
	unsigned int i;
	int prot, err;
	void *addr;

	/* As in __hs_pool_create(): the caller's header must be ours. */
	if (layout != __hs_layout()) {
		errno = ENOEXEC;
		return NULL;
	}
	if (!cfg || (cfg->flags & ~HS_ATTACH_FLAGS_MASK) ||
	    (cfg->name == NULL) == (cfg->fd < 0) || cfg->reserved32 ||
	    (cfg->owner_uid && !(cfg->flags & HS_ATTACH_OWNER))) {
		errno = EINVAL;
		return NULL;
	}
	owner_flags = cfg->flags & (HS_ATTACH_OWNER | HS_ATTACH_ANY_OWNER);
	if (owner_flags == (HS_ATTACH_OWNER | HS_ATTACH_ANY_OWNER) ||
	    (owner_flags && !cfg->name)) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++) {
		if (cfg->reserved[i]) {
			errno = EINVAL;
			return NULL;
		}
	}
	p = aligned_alloc(HS_CACHELINE, HS_ROUND_UP(sizeof(*p), HS_CACHELINE));
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->peer = true;
	p->stats_fd = -1;
	if (cfg->name)
		p->dev_fd = hs_attach_name(cfg->name, cfg->flags,
					   cfg->owner_uid);
	else
		p->dev_fd = fcntl(cfg->fd, F_DUPFD_CLOEXEC, 3);
	if (p->dev_fd < 0)
		goto fail;
	if (hs_peer_probe(p, p->dev_fd, &size))
		goto fail;
	if (hs_peer_geometry(p, cfg, size)) {
		errno = EINVAL;
		goto fail;
	}
	prot = PROT_READ | ((cfg->flags & HS_ATTACH_RDONLY) ? 0 : PROT_WRITE);
	addr = mmap(NULL, size, prot, MAP_SHARED | MAP_POPULATE, p->dev_fd, 0);
	if (addr == MAP_FAILED)
		goto fail;
	p->map = addr;
	p->map_len = size;
	/*
	 * No metadata and an empty range: the inline get, put and ref find
	 * nothing in range and take the slow paths, which refuse a peer.
	 */
	p->pub.__base = (uintptr_t)addr;
	p->pub.__size = 0;
	p->pub.__meta = NULL;
	/* Only the access: the owner bits overlap HS_POOL_DEBUG's. */
	p->flags = cfg->flags & HS_ATTACH_RDONLY;
	if (cfg->name)
		snprintf(p->name, sizeof(p->name), "%s", cfg->name);
	p->pid = getpid();
	return &p->pub;
fail:
	err = errno;
	if (p->dev_fd >= 0)
		close(p->dev_fd);
	free(p);
	errno = err;
	return NULL;
}

/* hs_pool_destroy() of a peer: nothing is owned but the mapping and fd. */
int hs_peer_destroy(struct hs_pool_priv *p)
{
	hs_backend_unmap(p);
	free(p);
	return 0;
}

HS_EXPORT int hs_pool_fd(const struct hs_pool *pool)
{
	const struct hs_pool_priv *p = (const struct hs_pool_priv *)pool;

	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	if (p->dev_fd < 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return p->dev_fd;
}

HS_EXPORT int hs_pool_is_peer(const struct hs_pool *pool)
{
	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	return ((const struct hs_pool_priv *)pool)->peer;
}
