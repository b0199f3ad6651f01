// SPDX-License-Identifier: MIT
/*
 * pool.c: configuration checks, pool geometry, create and destroy, fork.
 *
 * Geometry: the mapping is cut into 2 MiB slabs; in each slab buffer k
 * starts at first_off + k * stride, where stride = round_up(buf_size +
 * headroom, 4 KiB) and first_off = round_up(headroom, 4 KiB), so that no
 * buffer nor its headroom crosses a slab boundary and every buffer starts on
 * a 4 KiB boundary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/hugeslab.h>

#include "internal.h"

pthread_mutex_t hs_global_lock = PTHREAD_MUTEX_INITIALIZER;
struct hs_pool_priv *hs_pools;

static pthread_once_t hs_fork_once = PTHREAD_ONCE_INIT;

#define HS_ROUND_UP(x, a)	(((x) + (a) - 1) / (a) * (a))

/*
 * The hs_get_wait() lock and condition variable. Also run in the child
 * after fork(): a parent thread asleep in hs_get_wait() left itself counted
 * in the condition variable (glibc's pthread_cond_destroy() waits for it,
 * forever, since the child has no such thread) and may have held the lock.
 * Neither has a user in the child, so fresh ones are safe.
 */
static void hs_wait_init(struct hs_pool_priv *p)
{
	pthread_condattr_t cattr;

	pthread_mutex_init(&p->wait_lock, NULL);
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wait_cond, &cattr);
	pthread_condattr_destroy(&cattr);
	p->pub.__waiters = 0;
}

static void hs_fork_prepare(void)
{
	pthread_mutex_lock(&hs_global_lock);
}

static void hs_fork_parent(void)
{
	pthread_mutex_unlock(&hs_global_lock);
}

/*
 * The child shares the buffer memory (MAP_SHARED) but must not allocate from
 * pools whose free lists the parent keeps using: mark them dead and drop the
 * copied caches, so that every call takes the slow path and fails ECHILD.
 */
static void hs_fork_child(void)
{
	struct hs_pool_priv *p;

	pthread_mutex_init(&hs_global_lock, NULL);
	hs_clock_atfork_child();
	for (p = hs_pools; p; p = p->next) {
		p->dead = true;
		p->clock_ref = false;	/* no clock thread in the child */
		/* No pointer is in range any more: hs_ref() goes slow too. */
		p->pub.__size = 0;
		hs_caches_free(p);
		hs_stack_atfork_child(&p->store);
		hs_quar_atfork_child(&p->quar);
		pthread_mutex_init(&p->err_lock, NULL);
		hs_wait_init(p);
	}
}

static void hs_fork_init(void)
{
	pthread_atfork(hs_fork_prepare, hs_fork_parent, hs_fork_child);
}

HS_EXPORT void hs_pool_config_init(struct hs_pool_config *cfg)
{
	if (!cfg)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->numa_node = -1;
}

static int hs_check_name(const char *name)
{
	size_t i, len = strlen(name);

	if (len >= HS_NAME_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		      ch == '-'))
			return -1;
	}
	return 0;
}

/*
 * Metadata granule: the largest power of two dividing every buffer's
 * offset (slab starts, @first_off, @stride), so that consecutive large
 * buffers get consecutive entries (see struct __hs_meta).
 */
unsigned int hs_meta_shift(uint32_t stride, uint32_t first_off)
{
	unsigned int shift = (unsigned int)__builtin_ctz(stride);

	if (first_off && (unsigned int)__builtin_ctz(first_off) < shift)
		shift = (unsigned int)__builtin_ctz(first_off);
	return shift < 21 ? shift : 21;
}

/* Check @cfg and fill in the geometry of @p; no side effects. */
static int hs_config_apply(struct hs_pool_priv *p,
			   const struct hs_pool_config *cfg)
{
	uint64_t total, npages;
	unsigned int i;

	for (i = 0; i < sizeof(cfg->reserved) / sizeof(cfg->reserved[0]); i++)
		if (cfg->reserved[i])
			return -1;
	if (cfg->flags & ~HS_POOL_FLAGS_MASK || cfg->reserved32)
		return -1;
	if (cfg->quarantine && !(cfg->flags & HS_POOL_DEBUG))
		return -1;
	if (cfg->buf_size < HS_BUF_SIZE_MIN || cfg->buf_size > HS_BUF_SIZE_MAX)
		return -1;
	if (cfg->headroom > HS_SLAB_SIZE - cfg->buf_size)
		return -1;
	if (cfg->numa_node < -1 || cfg->cache_size > HS_CACHE_SIZE_MAX)
		return -1;
	if (cfg->stats_mode & ~0777U)
		return -1;
	if (cfg->name && hs_check_name(cfg->name))
		return -1;
	if (!cfg->total_bytes || cfg->total_bytes > HUGESLAB_MAX_POOL_SIZE)
		return -1;

	p->buf_size = cfg->buf_size;
	p->headroom = cfg->headroom;
	p->stride = HS_ROUND_UP(cfg->buf_size + cfg->headroom, HS_ALIGN);
	p->first_off = HS_ROUND_UP(cfg->headroom, HS_ALIGN);
	if (p->first_off + p->buf_size > HS_SLAB_SIZE)
		return -1;
	p->per_slab = (HS_SLAB_SIZE - p->first_off - p->buf_size) /
		      p->stride + 1;
	total = HS_ROUND_UP(cfg->total_bytes, HS_SLAB_SIZE);
	p->total_bytes = total;
	p->nr_slabs = (uint32_t)(total / HS_SLAB_SIZE);
	p->nr_bufs = p->nr_slabs * p->per_slab;
	p->shift = hs_meta_shift(p->stride, p->first_off);
	npages = total >> p->shift;
	if (npages > UINT32_MAX)
		return -1;
	p->nmeta = (uint32_t)npages;
	p->flags = cfg->flags;
	/*
	 * The default cache is a quarter of the pool, at most 256: with a
	 * sixteenth, pools of 1-2 MiB buffers (512-1024 a GiB) refilled and
	 * flushed every few dozen buffers, and a cross-thread hand-off of
	 * 2 MiB buffers was 1.6x slower than of 128 KiB ones (bench/fastpath).
	 */
	if (cfg->flags & (HS_POOL_DEBUG | HS_POOL_NO_CACHE))
		p->cache_size = 0;
	else if (cfg->cache_size)
		p->cache_size = cfg->cache_size;
	else
		p->cache_size = p->nr_bufs / 4 < 256 ? p->nr_bufs / 4 : 256;
	if (!(cfg->flags & HS_POOL_DEBUG))
		p->quarantine = 0;
	else if (!cfg->quarantine)
		p->quarantine = p->nr_bufs / 4 ? p->nr_bufs / 4 : 1;
	else
		p->quarantine = cfg->quarantine < p->nr_bufs ?
				cfg->quarantine : p->nr_bufs;
	strcpy(p->name, cfg->name && cfg->name[0] ? cfg->name : "pool");
	return 0;
}

/* Index of buffer @i (0..nr_bufs-1) as a page index. */
static uint32_t hs_buf_idx(const struct hs_pool_priv *p, uint32_t i)
{
	uint64_t off = (uint64_t)(i / p->per_slab) * HS_SLAB_SIZE +
		       p->first_off + (uint64_t)(i % p->per_slab) * p->stride;

	return (uint32_t)(off >> p->shift);
}

static int hs_meta_init(struct hs_pool_priv *p)
{
	uint64_t npages = p->nmeta;
	uint32_t idx[64];
	uint32_t i, n = 0;

	/* In the locked statistics region, mapped by hs_stats_create(). */
	for (i = 0; i < npages; i++) {
		p->pub.__meta[i].ref = __HS_REF_NONE;
		p->pub.__meta[i].stamp = 0;
	}
	if (hs_stack_init(&p->store, p->nr_bufs, (uint32_t)npages))
		return -1;
	/* Last buffer first: the stack hands out the pool's start first. */
	for (i = p->nr_bufs; i-- > 0;) {
		idx[n] = hs_buf_idx(p, i);
		p->pub.__meta[idx[n]].ref = 0;
		if (++n == 64 || i == 0) {
			hs_stack_push(&p->store, idx, n);
			n = 0;
		}
	}
	return 0;
}

static void hs_pool_free(struct hs_pool_priv *p)
{
	if (p->clock_ref)
		hs_clock_put();
	hs_caches_free(p);
	hs_stats_destroy(p);
	hs_backend_unmap(p);
	hs_stack_fini(&p->store);
	hs_quar_fini(&p->quar);
	pthread_cond_destroy(&p->wait_cond);
	pthread_mutex_destroy(&p->wait_lock);
	pthread_mutex_destroy(&p->err_lock);
	hs_pinned_free(p, sizeof(*p));
}

HS_EXPORT struct hs_pool *__hs_pool_create(const struct hs_pool_config *cfg,
					   uint64_t layout)
{
	struct hs_pool_priv *p;
	int err;

	/* The caller's inline data path must agree with ours (hugeslab.h). */
	if (layout != __hs_layout()) {
		errno = ENOEXEC;
		return NULL;
	}
	if (!cfg) {
		errno = EINVAL;
		return NULL;
	}
	/* Locked too: the fast path reads its __cache[] (pinned.c). */
	p = hs_pinned_alloc(sizeof(*p));
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->dev_fd = -1;
	p->stats_fd = -1;
	if (hs_config_apply(p, cfg)) {
		hs_pinned_free(p, sizeof(*p));
		errno = EINVAL;
		return NULL;
	}
	hs_wait_init(p);
	pthread_mutex_init(&p->err_lock, NULL);
	pthread_once(&hs_fork_once, hs_fork_init);

	if (hs_backend_map(p, cfg->numa_node,
			   cfg->flags & HS_POOL_ALLOW_FALLBACK))
		goto fail;
	p->pub.__base = (uintptr_t)p->map;
	p->pub.__size = p->total_bytes;
	p->pub.__flags = p->flags;
	p->pub.__shift = p->shift;
	p->pid = getpid();
	if (hs_stats_create(p, cfg->stats_mode ? cfg->stats_mode : 0600))
		goto fail;
	if (hs_meta_init(p))
		goto fail;
	if (hs_quar_init(&p->quar, p->quarantine))
		goto fail;
	if (hs_clock_get())
		goto fail;
	p->clock_ref = true;
	if (p->flags & HS_POOL_DEBUG)
		hs_poison_init(p);

	pthread_mutex_lock(&hs_global_lock);
	p->next = hs_pools;
	hs_pools = p;
	pthread_mutex_unlock(&hs_global_lock);
	return &p->pub;
fail:
	err = errno;
	hs_pool_free(p);
	errno = err;
	return NULL;
}

static uint32_t hs_count_outstanding(struct hs_pool_priv *p)
{
	uint32_t i, n = 0, r;

	for (i = 0; i < p->nr_bufs; i++) {
		r = __HS_REFS(__hs_load(&p->pub.__meta[hs_buf_idx(p, i)].ref));
		if (r && r != __HS_REF_QUARANTINE)
			n++;
	}
	return n;
}

HS_EXPORT int hs_pool_destroy(struct hs_pool *pool, unsigned int flags)
{
	struct hs_pool_priv *p = hs_priv(pool), **pp;
	uint32_t out = 0;

	if (!pool || (flags & ~HS_DESTROY_FLAGS_MASK)) {
		errno = EINVAL;
		return -1;
	}
	if (p->peer)
		return hs_peer_destroy(p);
	if (!p->dead) {
		out = hs_count_outstanding(p);
		if (out && !(flags & HS_DESTROY_FORCE)) {
			errno = EBUSY;
			return -1;
		}
	}
	pthread_mutex_lock(&hs_global_lock);
	for (pp = &hs_pools; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	pthread_mutex_unlock(&hs_global_lock);
	hs_pool_free(p);
	return (int)out;
}

/* Accessors */

HS_EXPORT enum hs_backend hs_pool_backend(const struct hs_pool *pool)
{
	if (!pool) {
		errno = EINVAL;
		return HS_BACKEND_NONE;
	}
	return ((const struct hs_pool_priv *)pool)->backend;
}

HS_EXPORT const char *hs_backend_name(enum hs_backend backend)
{
	switch (backend) {
	case HS_BACKEND_NONE:
		return "none";
	case HS_BACKEND_MODULE:
		return "hugeslab";
	case HS_BACKEND_MEMFD_HUGETLB:
		return "memfd-hugetlb";
	case HS_BACKEND_MAP_HUGETLB:
		return "map-hugetlb";
	case HS_BACKEND_PAGES:
		return "4k-pages";
	}
	return "unknown";
}

#define HS_GETTER(fn, field)						\
HS_EXPORT size_t fn(const struct hs_pool *pool)				\
{									\
	if (!pool) {							\
		errno = EINVAL;						\
		return 0;						\
	}								\
	return ((const struct hs_pool_priv *)pool)->field;		\
}

HS_GETTER(hs_pool_page_size, page_size)
HS_GETTER(hs_pool_buf_size, buf_size)
HS_GETTER(hs_pool_headroom, headroom)
HS_GETTER(hs_pool_nr_bufs, nr_bufs)

HS_EXPORT int hs_thread_set_tag(unsigned int tag)
{
	if (tag >= HS_MAX_TAGS) {
		errno = EINVAL;
		return -1;
	}
	__hs_tls.tag = tag;
	return 0;
}

/* For stats.c: walk buffers in index order. */
uint32_t hs_pool_buf_idx(const struct hs_pool_priv *p, uint32_t i)
{
	return hs_buf_idx(p, i);
}
