// SPDX-License-Identifier: MIT
/*
 * store.c: the shared store, a stack of free buffer indices behind a mutex.
 *
 * Every operation moves a whole batch (a cache refill or flush, up to a few
 * hundred indices) with one memcpy() inside a short critical section, so
 * the lock is taken once per batch, not once per buffer.
 *
 * Why not a lock-free ring (DPDK's rte_ring, which this store replaced):
 * an MP/MC ring reserves slots with a CAS on the head, copies, and then
 * publishes by moving the tail in reservation order, so each thread must
 * wait for every thread that reserved before it. When a thread is preempted
 * between reserving and publishing, all the others spin (and call
 * sched_yield()) until the scheduler runs it again: with more threads than
 * CPUs that is most of the time spent in the store (measured in
 * bench/frag.c variant (a), 4 threads on 2 CPUs: about one publish in five
 * waited, and the yields made over 10^5 involuntary context switches in a
 * third of a second). A mutex sleeps in the kernel instead of spinning
 * while its owner is off the CPU, and the owner is never waiting for
 * anybody else, so progress only needs the scheduler to run the owner,
 * which the sleeping waiters let it do. The adaptive kind spins briefly
 * first, which covers the common case of an owner running on another CPU.
 *
 * LIFO order: the buffers freed last are handed out first, while they are
 * still in the CPU caches and the TLB, instead of cycling through the
 * whole pool as a FIFO does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int hs_stack_lock_init(struct hs_stack *s)
{
	pthread_mutexattr_t a;
	int err;

	pthread_mutexattr_init(&a);
#ifdef PTHREAD_MUTEX_ADAPTIVE_NP
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
	err = pthread_mutex_init(&s->lock, &a);
	pthread_mutexattr_destroy(&a);
	return err;
}

static size_t hs_stack_slots_bytes(const struct hs_stack *s)
{
	return (s->cap ? s->cap : 1) * sizeof(*s->slots);
}

static size_t hs_stack_seen_bytes(const struct hs_stack *s)
{
	return (s->limit / 64 + 1) * sizeof(*s->seen);
}

int hs_stack_init(struct hs_stack *s, uint32_t cap, uint32_t limit)
{
	int err;

	/* Locked: a refill or flush must not fault (pinned.c). */
	s->cap = cap;
	s->limit = limit;
	s->slots = hs_pinned_alloc(hs_stack_slots_bytes(s));
	s->seen = hs_pinned_alloc(hs_stack_seen_bytes(s));
	if (!s->slots || !s->seen)
		goto fail;
	s->count = 0;
	err = hs_stack_lock_init(s);
	if (!err)
		return 0;
	errno = err;
fail:
	err = errno;
	hs_pinned_free(s->slots, hs_stack_slots_bytes(s));
	hs_pinned_free(s->seen, hs_stack_seen_bytes(s));
	s->slots = NULL;
	s->seen = NULL;
	errno = err;
	return -1;
}

/*
 * In the child after fork(): the lock may have been held by a thread that
 * does not exist there. The pool is dead in the child; hs_pool_check() and
 * hs_pool_destroy() must still not hang on it.
 */
void hs_stack_atfork_child(struct hs_stack *s)
{
	if (s->slots)
		hs_stack_lock_init(s);
}

void hs_stack_fini(struct hs_stack *s)
{
	if (!s->slots)
		return;
	pthread_mutex_destroy(&s->lock);
	hs_pinned_free(s->slots, hs_stack_slots_bytes(s));
	hs_pinned_free(s->seen, hs_stack_seen_bytes(s));
	s->slots = NULL;
	s->seen = NULL;
}

unsigned int hs_stack_push(struct hs_stack *s, const uint32_t *objs,
			   unsigned int n)
{
	uint32_t count;

	pthread_mutex_lock(&s->lock);
	count = s->count;
	if (n > s->cap - count)
		n = s->cap - count;
	memcpy(s->slots + count, objs, n * sizeof(*objs));
	__atomic_store_n(&s->count, count + n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Mark @idx seen; true if it already was (or is out of range). */
static bool hs_stack_seen(struct hs_stack *s, uint32_t idx)
{
	uint64_t bit = 1ULL << (idx % 64);

	if (idx >= s->limit || (s->seen[idx / 64] & bit))
		return true;
	s->seen[idx / 64] |= bit;
	return false;
}

/*
 * The slow push, for when hs_stack_push() found the stack full. A full
 * stack holds an entry for every buffer, so a further entry means some
 * index is free twice: two threads raced to put the last reference of one
 * buffer (the cached put takes no read-modify-write) and both cached it.
 * Under the lock, drop the stack's duplicates, then push those of @objs
 * not already in it. Returns the number of entries dropped, which the
 * caller counts as double puts. O(cap) plus a clear of the bitmap, on
 * this error path only; the data path stays as it was.
 */
unsigned int hs_stack_push_dedup(struct hs_stack *s, const uint32_t *objs,
				 unsigned int n)
{
	unsigned int dups = 0, i;
	uint32_t count, k = 0;

	pthread_mutex_lock(&s->lock);
	count = s->count;
	for (i = 0; i < count; i++) {
		if (hs_stack_seen(s, s->slots[i]))
			dups++;
		else
			s->slots[k++] = s->slots[i];
	}
	for (i = 0; i < n; i++) {
		/* k < cap once the stack holds no duplicate, but be sure */
		if (hs_stack_seen(s, objs[i]) || k >= s->cap)
			dups++;
		else
			s->slots[k++] = objs[i];
	}
	memset(s->seen, 0, hs_stack_seen_bytes(s));
	__atomic_store_n(&s->count, k, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	return dups;
}

unsigned int hs_stack_pop(struct hs_stack *s, uint32_t *objs, unsigned int n)
{
	uint32_t count;

	/* Unlocked peek: an empty store costs no lock (hs_get_wait polls). */
	if (!__atomic_load_n(&s->count, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&s->lock);
	count = s->count;
	if (n > count)
		n = count;
	count -= n;
	memcpy(objs, s->slots + count, n * sizeof(*objs));
	__atomic_store_n(&s->count, count, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* A snapshot, exact only while no other thread uses the store. */
uint32_t hs_stack_count(struct hs_stack *s)
{
	return __atomic_load_n(&s->count, __ATOMIC_RELAXED);
}
