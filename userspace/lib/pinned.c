// SPDX-License-Identifier: MIT
/*
 * pinned.c: memory for the library's own data-path structures (the pool
 * struct with its cache array, the buffer metadata, the per-thread caches,
 * the shared store), mapped privately and locked with mlock(2).
 *
 * Why not malloc(): the buffers are pinned, but every get and put also
 * reads the pool struct, the thread's cache and the buffer's metadata, and
 * a refill or flush the store. Heap pages can be swapped out or reclaimed
 * (the process's RLIMIT_MEMLOCK and the kernel's pins cover the buffers
 * only), and a get that finds its cache or metadata swapped out takes a
 * major fault: a disk read on the data path. Locked pages cannot be.
 *
 * The lock is charged to RLIMIT_MEMLOCK like the fallback backends'
 * buffers: about 16 bytes per 4 KiB of pool plus one page per thread cache,
 * 0.4% of the pool. When it cannot be had the allocation fails with
 * mlock's errno (ENOMEM, EPERM or EAGAIN), and hs_pool_create() with it.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static size_t hs_pinned_len(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (size + page - 1) / page * page;
}

/* @size zeroed bytes, page aligned and locked; NULL with errno set. */
void *hs_pinned_alloc(size_t size)
{
	size_t len = hs_pinned_len(size ? size : 1);
	void *p;
	int err;

	/*
	 * MAP_LOCKED checks RLIMIT_MEMLOCK and sets VM_LOCKED, but ignores a
	 * failure to populate; mlock() then faults every page in or fails.
	 * (Sanitizer runtimes turn mlock() into a no-op; MAP_LOCKED still
	 * holds under them.)
	 */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mlock(p, len)) {
		err = errno;
		munmap(p, len);
		errno = err;
		return NULL;
	}
	/*
	 * Not inherited by a fork() child (mlock never is): the child only
	 * releases the pool, it never uses it on a data path.
	 */
	return p;
}

/* Free @p of hs_pinned_alloc(@size); NULL is ignored. */
void hs_pinned_free(void *p, size_t size)
{
	if (p)
		munmap(p, hs_pinned_len(size ? size : 1));
}
