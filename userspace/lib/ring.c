// SPDX-License-Identifier: MIT
/*
 * ring.c: the shared store, a multi-producer multi-consumer ring of buffer
 * indices (the algorithm of DPDK's rte_ring: reserve with a CAS on the head,
 * copy, then publish by moving the tail in order).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "internal.h"

int hs_ring_init(struct hs_ring *r, uint32_t min_cap)
{
	uint32_t cap = 1;

	while (cap < min_cap) {
		if (cap >= (1U << 31)) {
			errno = EINVAL;
			return -1;
		}
		cap <<= 1;
	}
	r->slots = calloc(cap, sizeof(*r->slots));
	if (!r->slots)
		return -1;
	r->mask = cap - 1;
	r->prod_head = r->prod_tail = 0;
	r->cons_head = r->cons_tail = 0;
	return 0;
}

void hs_ring_fini(struct hs_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

/* Wait for the threads that reserved before us to publish, then publish. */
static void hs_ring_publish(uint32_t *tail, uint32_t old, uint32_t new)
{
	unsigned int spins = 0;

	while (__atomic_load_n(tail, __ATOMIC_ACQUIRE) != old) {
		if (++spins > 64) {
			sched_yield();
			spins = 0;
		} else {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
	}
	__atomic_store_n(tail, new, __ATOMIC_RELEASE);
}

unsigned int hs_ring_enqueue(struct hs_ring *r, const uint32_t *objs,
			     unsigned int n)
{
	uint32_t head, next, free_entries, cap = r->mask + 1;
	unsigned int i;

	head = __atomic_load_n(&r->prod_head, __ATOMIC_ACQUIRE);
	do {
		free_entries = cap + __atomic_load_n(&r->cons_tail,
						     __ATOMIC_ACQUIRE) - head;
		if (n > free_entries)
			n = free_entries;
		if (!n)
			return 0;
		next = head + n;
	} while (!__atomic_compare_exchange_n(&r->prod_head, &head, next, 0,
					      __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	for (i = 0; i < n; i++)
		r->slots[(head + i) & r->mask] = objs[i];
	hs_ring_publish(&r->prod_tail, head, next);
	return n;
}

unsigned int hs_ring_dequeue(struct hs_ring *r, uint32_t *objs,
			     unsigned int n)
{
	uint32_t head, next, entries;
	unsigned int i;

	head = __atomic_load_n(&r->cons_head, __ATOMIC_ACQUIRE);
	do {
		entries = __atomic_load_n(&r->prod_tail, __ATOMIC_ACQUIRE) -
			  head;
		if (n > entries)
			n = entries;
		if (!n)
			return 0;
		next = head + n;
	} while (!__atomic_compare_exchange_n(&r->cons_head, &head, next, 0,
					      __ATOMIC_ACQUIRE,
					      __ATOMIC_ACQUIRE));
	for (i = 0; i < n; i++)
		objs[i] = r->slots[(head + i) & r->mask];
	hs_ring_publish(&r->cons_tail, head, next);
	return n;
}

uint32_t hs_ring_count(const struct hs_ring *r)
{
	return __atomic_load_n(&r->prod_tail, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&r->cons_tail, __ATOMIC_ACQUIRE);
}
