// SPDX-License-Identifier: MIT
/*
 * cache.c: thread slots and per-thread caches.
 *
 * A thread gets a small slot number on its first slow-path call; the slot
 * indexes both the pool's cache array (hs_pool.__cache[]) and the thread
 * counters of the statistics region. Slot 0 is never given out: its cache
 * entry stays NULL, so a thread without a slot always takes the slow path,
 * and its counters are shared by all such threads. On thread exit a key
 * destructor returns the thread's caches of every pool to the shared store
 * and frees the slot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

HS_EXPORT __thread struct __hs_tls __hs_tls
	__attribute__((tls_model("initial-exec")));

static pthread_once_t hs_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t hs_key;
static bool hs_key_ok;
static uint64_t hs_slot_map[HS_MAX_THREADS / 64];	/* hs_global_lock */

static void hs_thread_exit(void *arg)
{
	unsigned int slot = (unsigned int)(uintptr_t)arg - 1;
	struct hs_pool_priv *p;

	if (slot == 0 || slot >= HS_MAX_THREADS)
		return;
	pthread_mutex_lock(&hs_global_lock);
	for (p = hs_pools; p; p = p->next) {
		struct __hs_cache *c = p->pub.__cache[slot];

		if (!c)
			continue;
		hs_cache_flush(p, c, 0);
		p->pub.__cache[slot] = NULL;
		hs_pinned_free(c, hs_cache_bytes(p));
	}
	hs_slot_map[slot / 64] &= ~(1ULL << (slot % 64));
	pthread_mutex_unlock(&hs_global_lock);
	__hs_tls.slot = 0;
}

static void hs_key_init(void)
{
	hs_key_ok = pthread_key_create(&hs_key, hs_thread_exit) == 0;
}

/* This thread's slot, assigned on first use; 0 when none is free. */
int hs_thread_slot(void)
{
	unsigned int slot;

	if (__hs_tls.slot)
		return (int)__hs_tls.slot;
	pthread_once(&hs_key_once, hs_key_init);
	if (!hs_key_ok)
		return 0;
	pthread_mutex_lock(&hs_global_lock);
	for (slot = 1; slot < HS_MAX_THREADS; slot++)
		if (!(hs_slot_map[slot / 64] & (1ULL << (slot % 64))))
			break;
	if (slot < HS_MAX_THREADS &&
	    pthread_setspecific(hs_key, (void *)(uintptr_t)(slot + 1)) == 0) {
		hs_slot_map[slot / 64] |= 1ULL << (slot % 64);
		__hs_tls.slot = slot;
	} else {
		slot = 0;
	}
	pthread_mutex_unlock(&hs_global_lock);
	return (int)slot;
}

struct hs_stats_thread *hs_stats_slot(struct hs_pool_priv *p)
{
	return hs_stats_thread_slot(p->stats, (unsigned int)hs_thread_slot());
}

/* Bytes of one thread cache of @p: twice the nominal size, see flush. */
size_t hs_cache_bytes(const struct hs_pool_priv *p)
{
	return sizeof(struct __hs_cache) +
	       2 * p->cache_size * sizeof(((struct __hs_cache *)0)->objs[0]);
}


/* This thread's cache of @p, created on first use; NULL for no cache. */
struct __hs_cache *hs_cache_of(struct hs_pool_priv *p)
{
	struct __hs_cache *c;
	int slot;

	if (!p->cache_size)
		return NULL;
	slot = hs_thread_slot();
	if (!slot)
		return NULL;
	c = p->pub.__cache[slot];
	if (c)
		return c;
	/* Locked (pinned.c); none when the lock is refused: no cache. */
	c = hs_pinned_alloc(hs_cache_bytes(p));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->size = p->cache_size;
	c->cap = 2 * p->cache_size;
	c->base = p->pub.__base;
	c->meta = p->pub.__meta;
	c->nmeta = p->nmeta;
	c->shift = p->shift;
	c->st = hs_stats_thread_slot(p->stats, (unsigned int)slot);
	c->stamp = hs_clock_ms();
	/* Published to the clock thread (clock.c) initialised. */
	__atomic_store_n(&p->pub.__cache[slot], c, __ATOMIC_RELEASE);
	return c;
}

/* Move all but the @keep most recently freed buffers to the shared store. */
void hs_cache_flush(struct hs_pool_priv *p, struct __hs_cache *c,
		    unsigned int keep)
{
	unsigned int count;

	if (c->len <= keep)
		return;
	/* The cache holds page indices, as the store does: one copy. */
	count = c->len - keep;
	hs_store_put(p, c->objs, count);
	memmove(c->objs, c->objs + count, keep * sizeof(c->objs[0]));
	c->len = keep;
	hs_count_atomic(&c->st->cache_flushes, 1);
}

void hs_caches_free(struct hs_pool_priv *p)
{
	unsigned int i;

	for (i = 0; i < HS_MAX_THREADS; i++) {
		hs_pinned_free(p->pub.__cache[i], hs_cache_bytes(p));
		p->pub.__cache[i] = NULL;
	}
}

HS_EXPORT int hs_thread_flush(struct hs_pool *pool)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct __hs_cache *c;

	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	if (p->dead) {
		errno = ECHILD;
		return -1;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	c = pool->__cache[__hs_tls.slot];
	if (c)
		hs_cache_flush(p, c, 0);
	return 0;
}
