// SPDX-License-Identifier: MIT
/*
 * quarantine.c: the FIFO quarantine of debug pools (HS_POOL_DEBUG).
 *
 * The shared store is LIFO: the buffer freed last is handed out first, so a
 * use after free lands in the buffer's next owner at once and nothing can
 * tell. A debug pool therefore parks each freed buffer in a ring first, as
 * ASan's quarantine does, and only the oldest one goes on to the store when
 * the ring is full. While a buffer waits, its reference count is 0 and its
 * bytes are poison: a stale second put fails EALREADY, and a stale write is
 * found by the poison check when the buffer leaves. When the store runs dry
 * a get takes the oldest parked buffers directly, so the quarantine delays
 * reuse without ever making a get fail.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

static size_t hs_quar_bytes(const struct hs_quarantine *q)
{
	return (size_t)q->cap * sizeof(*q->ring);
}

int hs_quar_init(struct hs_quarantine *q, uint32_t cap)
{
	int err;

	memset(q, 0, sizeof(*q));
	if (!cap)
		return 0;
	q->cap = cap;
	/* Locked like the store (pinned.c): a put must not fault. */
	q->ring = hs_pinned_alloc(hs_quar_bytes(q));
	if (!q->ring)
		return -1;
	err = pthread_mutex_init(&q->lock, NULL);
	if (!err)
		return 0;
	hs_pinned_free(q->ring, hs_quar_bytes(q));
	q->ring = NULL;
	errno = err;
	return -1;
}

void hs_quar_fini(struct hs_quarantine *q)
{
	if (!q->ring)
		return;
	pthread_mutex_destroy(&q->lock);
	hs_pinned_free(q->ring, hs_quar_bytes(q));
	q->ring = NULL;
}

/* In the child after fork(): see hs_stack_atfork_child(). */
void hs_quar_atfork_child(struct hs_quarantine *q)
{
	if (q->ring)
		pthread_mutex_init(&q->lock, NULL);
}

/*
 * Park @idx. When the ring was full, the oldest entry leaves to make room:
 * it is stored in @evicted and the call returns true.
 */
bool hs_quar_push(struct hs_quarantine *q, uint32_t idx, uint32_t *evicted)
{
	bool out = false;

	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap) {
		*evicted = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		out = true;
	}
	q->ring[(q->head + q->len) % q->cap] = idx;
	__atomic_store_n(&q->len, q->len + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->lock);
	return out;
}

/* Take up to @n of the oldest parked entries, oldest first. */
unsigned int hs_quar_pop(struct hs_quarantine *q, uint32_t *objs,
			 unsigned int n)
{
	unsigned int i;

	if (!q->ring || !hs_quar_count(q))
		return 0;
	pthread_mutex_lock(&q->lock);
	if (n > q->len)
		n = q->len;
	for (i = 0; i < n; i++) {
		objs[i] = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
	}
	__atomic_store_n(&q->len, q->len - n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* A snapshot, exact only while no other thread uses the pool. */
uint32_t hs_quar_count(struct hs_quarantine *q)
{
	return q->ring ? __atomic_load_n(&q->len, __ATOMIC_RELAXED) : 0;
}

/* Call @fn on each parked entry under the lock, for hs_pool_check(). */
int hs_quar_walk(struct hs_quarantine *q, int (*fn)(void *, uint32_t),
		 void *arg)
{
	uint32_t i;
	int ret = 0;

	if (!q->ring)
		return 0;
	pthread_mutex_lock(&q->lock);
	for (i = 0; i < q->len && !ret; i++)
		ret = fn(arg, q->ring[(q->head + i) % q->cap]);
	pthread_mutex_unlock(&q->lock);
	return ret;
}
