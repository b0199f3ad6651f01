// SPDX-License-Identifier: MIT
/*
 * t-pinned: the structures the data path reads besides the buffers (the
 * pool struct with its cache array, the buffer metadata, a thread's cache,
 * the thread counters of the statistics region, the shared store's slots)
 * are locked in memory, so a get or put can never
 * take a major fault on them. Checked in /proc/self/smaps: the mapping
 * holding each of them has VM_LOCKED ("lo" in VmFlags) and is resident
 * in full (Locked: equals Size:).
 *
 * White-box: includes the library's internal.h for the store's address.
 */
#include <inttypes.h>

#include "helpers.h"
#include "../lib/internal.h"

/* 0 when the mapping holding [@addr, @addr + @len) is locked and resident. */
static int check_locked(const char *what, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, lo, hi;
	unsigned long size = 0, locked = 0;
	char line[512], flags[512] = "";
	int in = 0, found = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			if (in)
				break;
			in = a >= lo && a + len <= hi;
			found |= in;
			continue;
		}
		if (!in)
			continue;
		sscanf(line, "Size: %lu kB", &size);
		sscanf(line, "Locked: %lu kB", &locked);
		if (!strncmp(line, "VmFlags:", 8))
			snprintf(flags, sizeof(flags), "%s", line + 8);
	}
	fclose(f);
	if (!found) {
		fprintf(stderr, "%s at %p: in no mapping\n", what, addr);
		return -1;
	}
	if (!strstr(flags, " lo") || locked != size) {
		fprintf(stderr, "%s at %p: not locked (Size %lu kB, Locked %lu kB, VmFlags%s",
			what, addr, size, locked, flags);
		return -1;
	}
	return 0;
}

int main(void)
{
	struct hs_pool *pool = t_pool(4UL << 20, 2048);
	struct hs_pool_priv *p = hs_priv(pool);
	size_t npages = (4UL << 20) >> HS_ALIGN_SHIFT;
	struct __hs_cache *c;
	void *buf;
	int bad = 0;

	buf = hs_get(pool);
	T_ASSERT(buf != NULL);
	T_ASSERT(hs_put(pool, buf) == 0);
	c = pool->__cache[__hs_tls.slot];
	T_ASSERT(c != NULL);

	bad |= check_locked("pool struct", pool, sizeof(*p));
	bad |= check_locked("metadata", pool->__meta,
			    npages * sizeof(struct __hs_meta));
	bad |= check_locked("thread cache", c, hs_cache_bytes(p));
	bad |= check_locked("thread counters", c->st, sizeof(*c->st));
	bad |= check_locked("store slots", p->store.slots,
			    p->store.cap * sizeof(uint32_t));
	bad |= check_locked("store bitmap", p->store.seen,
			    p->store.limit / 8);
	if (bad)
		T_FAIL("data-path structures are not locked in memory");
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
