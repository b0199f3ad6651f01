// SPDX-License-Identifier: MIT
/*
 * buf.c: slow paths of get, put and ref; waiting; debug poison; views.
 *
 * Reference counts live in struct __hs_meta, one per 2^shift bytes of the
 * pool and outside the buffers. Entries that do not start a buffer hold
 * __HS_REF_NONE, so one load both validates a pointer and reads its count.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define HS_CHUNK	64

void hs_store_put(struct hs_pool_priv *p, const uint32_t *idx, unsigned int n)
{
	unsigned int done, dups;

	done = hs_stack_push(&p->store, idx, n);
	if (done < n) {
		/* Full: some buffer is free twice (a racing double put). */
		dups = hs_stack_push_dedup(&p->store, idx + done, n - done);
		hs_count_atomic(&p->stats->err_double_put, dups);
	}
	hs_wake_waiters(p);
}

/* After buffers became free in the store or the quarantine. */
void hs_wake_waiters(struct hs_pool_priv *p)
{
	/*
	 * A read-modify-write, not a load: it reads the latest value, and if
	 * it comes before the waiter's increment in the variable's order the
	 * waiter's increment reads from it and then sees our buffers.
	 */
	if (__atomic_fetch_add(&p->pub.__waiters, 0, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&p->wait_lock);
		pthread_cond_broadcast(&p->wait_cond);
		pthread_mutex_unlock(&p->wait_lock);
	}
}

static char *hs_poison_start(struct hs_pool_priv *p, void *buf)
{
	return (char *)buf - p->headroom;
}

void hs_poison_init(struct hs_pool_priv *p)
{
	memset(p->map, HS_POISON_BYTE, p->total_bytes);
}

static void hs_poison(struct hs_pool_priv *p, void *buf)
{
	memset(hs_poison_start(p, buf), HS_POISON_BYTE,
	       p->headroom + p->buf_size);
}

static bool hs_poison_ok(struct hs_pool_priv *p, void *buf)
{
	const uint64_t pat = 0x0101010101010101ULL * HS_POISON_BYTE;
	const char *s = hs_poison_start(p, buf);
	size_t i, len = p->headroom + p->buf_size;
	uint64_t w;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		if (w != pat)
			return false;
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] != HS_POISON_BYTE)
			return false;
	return true;
}

/*
 * Take exactly @n buffers from the shared store into @bufs, or none. Debug
 * pools check the poison of each and withdraw damaged buffers.
 */
static int hs_store_take(struct hs_pool_priv *p, void **bufs, unsigned int n)
{
	uint32_t idx[HS_CHUNK];
	unsigned int got = 0, k, i;

	while (got < n) {
		k = n - got < HS_CHUNK ? n - got : HS_CHUNK;
		k = hs_stack_pop(&p->store, idx, k) ?:
		    hs_quar_pop(&p->quar, idx, k);	/* store dry: oldest */
		if (!k)
			break;
		for (i = 0; i < k; i++) {
			void *buf = hs_buf_of_idx(p, idx[i]);

			if ((p->flags & HS_POOL_DEBUG) && !hs_poison_ok(p, buf)) {
				struct __hs_meta *m = __hs_meta_of(&p->pub, buf);

				hs_error_record(p, HS_ERROR_POISON, buf);
				/* Withdrawn, the owner tag kept for reports. */
				__hs_store(&m->ref, (__hs_load(&m->ref) &
						     ~__HS_REF_MASK) |
					   __HS_REF_QUARANTINE);
				hs_count_atomic(&p->stats->err_poison, 1);
				continue;
			}
			bufs[got++] = buf;
		}
	}
	if (got == n)
		return 0;
	/* Not enough: give back what we took. */
	for (i = 0; i < got; i += k) {
		k = got - i < HS_CHUNK ? got - i : HS_CHUNK;
		for (unsigned int j = 0; j < k; j++)
			idx[j] = hs_idx_of_buf(p, bufs[i + j]);
		hs_store_put(p, idx, k);
	}
	hs_count_atomic(&p->stats->empty_events, 1);
	errno = ENOBUFS;
	return -1;
}

/*
 * Fill @c up to its nominal size from the store, best effort: one batch,
 * so one critical section of the store per refill.
 */
static void hs_cache_refill(struct hs_pool_priv *p, struct __hs_cache *c)
{
	/* Indices straight into the cache: one copy under the lock. */
	if (c->len < c->size)
		c->len += hs_stack_pop(&p->store, c->objs + c->len,
				       c->size - c->len);
	hs_count_atomic(&c->st->cache_refills, 1);
}

static void hs_took(struct hs_pool_priv *p, void **bufs, unsigned int n,
		    unsigned int tag)
{
	struct hs_stats_thread *st = hs_stats_slot(p);
	uint32_t stamp = hs_clock_ms();
	unsigned int i;

	for (i = 0; i < n; i++)
		__hs_meta_take(__hs_meta_of(&p->pub, bufs[i]),
			       __hs_meta_word(tag, stamp));
	hs_count_atomic(&st->tag_gets[tag], n);
	hs_count_atomic(&st->cache_misses, n);
}

static int hs_check_get(struct hs_pool *pool, unsigned int tag)
{
	if (!pool || tag >= HS_MAX_TAGS) {
		errno = EINVAL;
		return -1;
	}
	if (hs_priv(pool)->dead) {
		errno = ECHILD;
		return -1;
	}
	if (hs_priv(pool)->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 0;
}

HS_EXPORT void *__hs_get_slow(struct hs_pool *pool, unsigned int tag)
{
	void *buf;

	if (__hs_get_bulk_slow(pool, &buf, 1, tag))
		return NULL;
	return buf;
}

HS_EXPORT int __hs_get_bulk_slow(struct hs_pool *pool, void **bufs,
				 unsigned int n, unsigned int tag)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct __hs_cache *c;
	unsigned int have, i;

	if (hs_check_get(pool, tag))
		return -1;
	if (!bufs) {
		errno = EINVAL;
		return -1;
	}
	if (!n)
		return 0;
	c = hs_cache_of(p);
	if (!c)
		goto direct;
	if (c->len < n && n <= c->size) {
		hs_cache_refill(p, c);
	}
	if (c->len >= n) {
		for (i = 0; i < n; i++)
			bufs[i] = hs_buf_of_idx(p, c->objs[--c->len]);
		hs_took(p, bufs, n, tag);
		return 0;
	}
	/* Larger than the cache or the store ran low: cache plus store. */
	have = c->len;
	if (hs_store_take(p, bufs + have, n - have))
		return -1;
	for (i = 0; i < have; i++)
		bufs[i] = hs_buf_of_idx(p, c->objs[--c->len]);
	hs_took(p, bufs, n, tag);
	return 0;
direct:
	if (hs_store_take(p, bufs, n))
		return -1;
	hs_took(p, bufs, n, tag);
	return 0;
}

/* Another live pool holding @buf, for a precise error. */
static bool hs_other_pool_has(struct hs_pool_priv *self, const void *buf)
{
	struct hs_pool_priv *q;
	bool found = false;

	pthread_mutex_lock(&hs_global_lock);
	for (q = hs_pools; q; q = q->next)
		if (q != self && (uintptr_t)buf - q->pub.__base < q->pub.__size)
			found = true;
	pthread_mutex_unlock(&hs_global_lock);
	return found;
}

/* Validate @buf for a put or ref; returns its metadata or NULL (counted). */
static struct __hs_meta *hs_lookup(struct hs_pool *pool, void *buf)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct __hs_meta *m;
	uintptr_t off;

	if (!pool) {
		errno = EINVAL;
		return NULL;
	}
	off = (uintptr_t)buf - pool->__base;
	if (p->dead) {
		errno = ECHILD;
		return NULL;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (off >= pool->__size) {
		if (buf && hs_other_pool_has(p, buf)) {
			hs_count_atomic(&p->stats->err_wrong_pool, 1);
			errno = EXDEV;
		} else {
			hs_count_atomic(&p->stats->err_foreign, 1);
			errno = EINVAL;
		}
		return NULL;
	}
	m = &pool->__meta[off >> p->shift];
	if ((off & ((1UL << p->shift) - 1)) ||
	    __HS_REFS(__hs_load(&m->ref)) == __HS_REF_NONE) {
		hs_count_atomic(&p->stats->err_foreign, 1);
		errno = EINVAL;
		return NULL;
	}
	return m;
}

HS_EXPORT int __hs_put_slow(struct hs_pool *pool, void *buf)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct __hs_meta *m = hs_lookup(pool, buf);
	struct __hs_cache *c;
	uint32_t r, idx;

	if (!m)
		return -1;
	r = __atomic_load_n(&m->ref, __ATOMIC_ACQUIRE);
	for (;;) {
		if (__HS_REFS(r) == 0 || __HS_REFS(r) == __HS_REF_QUARANTINE) {
			hs_error_record(p, HS_ERROR_DOUBLE_PUT, buf);
			hs_count_atomic(&p->stats->err_double_put, 1);
			errno = EALREADY;
			return -1;
		}
		/* The count is the low bits: - 1 leaves the tag alone. */
		if (__atomic_compare_exchange_n(&m->ref, &r, r - 1, 0,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			break;
	}
	if (__HS_REFS(r) > 1)
		return 0;
	/* Last reference: the buffer is ours alone again. */
	hs_count_atomic(&hs_stats_slot(p)->tag_puts[__HS_TAG(r) &
						    (HS_MAX_TAGS - 1)], 1);
	idx = hs_idx_of_buf(p, buf);
	if (p->flags & HS_POOL_DEBUG) {
		uint32_t old;

		hs_poison(p, buf);
		/* The age of a later misuse counts from here. */
		__hs_store(&m->stamp, hs_clock_ms());
		if (!hs_quar_push(&p->quar, idx, &old)) {
			hs_wake_waiters(p);
			return 0;
		}
		idx = old;	/* the oldest parked buffer moves on */
		hs_store_put(p, &idx, 1);
		return 0;
	}
	c = hs_cache_of(p);
	if (c && !__atomic_load_n(&pool->__waiters, __ATOMIC_RELAXED)) {
		if (c->len >= c->cap)
			hs_cache_flush(p, c, c->size);
		c->objs[c->len++] = idx;
		return 0;
	}
	hs_store_put(p, &idx, 1);
	return 0;
}

/*
 * hs_put_bulk() from @bufs[@done] on, the first @done being put already:
 * into the cache with the per-tag counter added per run of equal tags,
 * then one hs_put() per buffer from the first that the cache cannot take
 * (a refused pointer, a shared or free buffer, a full cache, waiters).
 */
HS_EXPORT int __hs_put_bulk_slow(struct hs_pool *pool, void *const *bufs,
				 unsigned int n, unsigned int done)
{
	unsigned int i = done, run = 0, rtag = 0;
	struct __hs_cache *c;
	int ret = 0, err = 0;

	if (!n)
		return 0;
	if (!pool || !bufs)
		return __hs_put_slow(pool, NULL);
	c = pool->__cache[__hs_tls.slot];
	if (c && c->len + (n - i) <= c->cap &&
	    !__atomic_load_n(&pool->__waiters, __ATOMIC_RELAXED)) {
		for (; i < n; i++) {
			uint64_t idx = __hs_page_of(c->base, c->shift, bufs[i]);
			uint32_t w, tag;

			if (idx >= c->nmeta)
				break;
			w = __atomic_load_n(&c->meta[idx].ref,
					    __ATOMIC_ACQUIRE);
			if (__HS_REFS(w) != 1)
				break;
			tag = __HS_TAG(w) & (HS_MAX_TAGS - 1);
			if (tag != rtag && run) {
				__hs_count(&c->st->tag_puts[rtag], run);
				run = 0;
			}
			rtag = tag;
			run++;
			__hs_store(&c->meta[idx].ref, w - 1);
			c->objs[c->len++] = (uint32_t)idx;
		}
		if (run)
			__hs_count(&c->st->tag_puts[rtag], run);
	}
	for (; i < n; i++) {
		if (hs_put(pool, bufs[i]) && !ret) {
			ret = -1;
			err = errno;
		}
	}
	if (ret)
		errno = err;
	return ret;
}

HS_EXPORT int __hs_ref_slow(struct hs_pool *pool, void *buf)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct __hs_meta *m = hs_lookup(pool, buf);
	uint32_t r;

	if (!m)
		return -1;
	r = __hs_load(&m->ref);
	for (;;) {
		if (__HS_REFS(r) == 0 || __HS_REFS(r) == __HS_REF_QUARANTINE) {
			hs_error_record(p, HS_ERROR_DOUBLE_PUT, buf);
			hs_count_atomic(&p->stats->err_double_put, 1);
			errno = EALREADY;
			return -1;
		}
		if (__HS_REFS(r) >= __HS_REF_MAX) {
			errno = EOVERFLOW;
			return -1;
		}
		if (__atomic_compare_exchange_n(&m->ref, &r, r + 1, 0,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED))
			return 0;
	}
}

HS_EXPORT void *hs_get_wait(struct hs_pool *pool, uint64_t timeout_ns)
{
	struct hs_pool_priv *p = hs_priv(pool);
	unsigned int tag = __hs_tls.tag;
	struct timespec deadline;
	bool slept = false;
	void *buf;
	int rc = 0;

	buf = hs_get_tagged(pool, tag);
	if (buf || errno != ENOBUFS || !timeout_ns)
		return buf;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)(timeout_ns / 1000000000ULL);
	deadline.tv_nsec += (long)(timeout_ns % 1000000000ULL);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&p->wait_lock);
	__atomic_fetch_add(&pool->__waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if ((hs_stack_count(&p->store) || hs_quar_count(&p->quar)) &&
		    hs_store_take(p, &buf, 1) == 0)
			break;
		buf = NULL;
		if (rc == ETIMEDOUT)
			break;
		if (!slept) {
			hs_count_atomic(&p->stats->waits, 1);
			slept = true;
		}
		rc = pthread_cond_timedwait(&p->wait_cond, &p->wait_lock,
					    &deadline);
	}
	__atomic_fetch_sub(&pool->__waiters, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&p->wait_lock);
	if (!buf) {
		hs_count_atomic(&p->stats->wait_timeouts, 1);
		errno = ETIMEDOUT;
		return NULL;
	}
	hs_took(p, &buf, 1, tag);
	return buf;
}

/* Views */

HS_EXPORT int hs_view_init(struct hs_pool *pool, struct hs_view *v, void *buf,
			   int32_t off, uint32_t len)
{
	struct hs_pool_priv *p = hs_priv(pool);

	if (!pool || !v || !buf || off < -(int64_t)p->headroom ||
	    (int64_t)off + len > (int64_t)p->buf_size) {
		errno = EINVAL;
		return -1;
	}
	v->buf = buf;
	v->off = off;
	v->len = len;
	return 0;
}

HS_EXPORT int hs_view_clone(struct hs_pool *pool, struct hs_view *dst,
			    const struct hs_view *src, uint32_t off,
			    uint32_t len)
{
	if (!pool || !dst || !src || off > src->len || len > src->len - off) {
		errno = EINVAL;
		return -1;
	}
	if (hs_ref(pool, src->buf))
		return -1;
	dst->buf = src->buf;
	dst->off = src->off + (int32_t)off;
	dst->len = len;
	return 0;
}

HS_EXPORT int hs_view_adj(struct hs_view *v, uint32_t n)
{
	if (!v || n > v->len) {
		errno = EINVAL;
		return -1;
	}
	v->off += (int32_t)n;
	v->len -= n;
	return 0;
}

HS_EXPORT void *hs_view_prepend(struct hs_pool *pool, struct hs_view *v,
				uint32_t n)
{
	struct hs_pool_priv *p = hs_priv(pool);

	if (!pool || !v || (int64_t)v->off - n < -(int64_t)p->headroom) {
		errno = EINVAL;
		return NULL;
	}
	v->off -= (int32_t)n;
	v->len += n;
	return hs_view_data(v);
}

HS_EXPORT int hs_view_release(struct hs_pool *pool, struct hs_view *v)
{
	if (!v) {
		errno = EINVAL;
		return -1;
	}
	if (hs_put(pool, v->buf))
		return -1;
	memset(v, 0, sizeof(*v));
	return 0;
}
