/* SPDX-License-Identifier: MIT */
/*
 * hugeslab.h: libhugeslab, a zero-copy packet-buffer pool over pinned,
 * physically contiguous 2 MiB slabs from /dev/hugeslab.
 *
 * The data path (hs_get(), hs_put(), hs_get_bulk(), hs_put_bulk(), hs_ref()
 * and the views) is static inline below: a get or put served by the calling
 * thread's cache makes no system call, takes no lock, performs no atomic
 * read-modify-write and allocates nothing. Everything out of line
 * (hs_pool_create(), hs_pool_destroy(), hs_pool_stats(), hs_pool_leaks(),
 * hs_pool_dump(), ...) is for the control path and may take locks, allocate
 * or walk the whole pool.
 *
 * Error convention: calls returning int return 0 (or a count) on success and
 * -1 with errno set on failure; calls returning a pointer return NULL with
 * errno set. No call aborts, exits or prints on its own.
 *
 * Names starting with a double underscore are internal: they are visible only
 * because the fast path is inline, and may change in any release.
 */
#ifndef HUGESLAB_H
#define HUGESLAB_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "hugeslab_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HS_VERSION_MAJOR	0
#define HS_VERSION_MINOR	1

/* Every buffer starts on a 4 KiB boundary. */
#define HS_ALIGN_SHIFT		12
#define HS_ALIGN		(1UL << HS_ALIGN_SHIFT)
#define HS_SLAB_SIZE		(2UL << 20)
#define HS_BUF_SIZE_MIN		512U
#define HS_BUF_SIZE_MAX		(2U << 20)
#define HS_CACHE_SIZE_MAX	512U
#define HS_MAX_TAGS		HS_STATS_TAGS
#define HS_MAX_THREADS		HS_STATS_THREADS
#define HS_NAME_MAX		HS_STATS_NAME_MAX

/**
 * enum hs_backend - memory behind a pool
 * @HS_BACKEND_NONE: no pool (never returned for a live pool)
 * @HS_BACKEND_MODULE: /dev/hugeslab: pinned, contiguous 2 MiB slabs
 * @HS_BACKEND_MEMFD_HUGETLB: fallback: memfd_create(MFD_HUGETLB), 2 MiB pages,
 *	mlock()ed
 * @HS_BACKEND_MAP_HUGETLB: fallback: mmap(MAP_HUGETLB), 2 MiB pages, mlock()ed
 * @HS_BACKEND_PAGES: fallback: 4 KiB pages with madvise(MADV_HUGEPAGE),
 *	mlock()ed; not physically contiguous
 */
enum hs_backend {
	HS_BACKEND_NONE = 0,
	HS_BACKEND_MODULE = 1,
	HS_BACKEND_MEMFD_HUGETLB = 2,
	HS_BACKEND_MAP_HUGETLB = 3,
	HS_BACKEND_PAGES = 4,
};

/* Flags of struct hs_pool_config. */
#define HS_POOL_ALLOW_FALLBACK	(1U << 0) /* no /dev/hugeslab: use a fallback */
#define HS_POOL_DEBUG		(1U << 1) /* poison, quarantine, no cache */
#define HS_POOL_NO_CACHE	(1U << 2) /* no per-thread cache */
#define HS_POOL_NAMED		(1U << 3) /* module: attachable by @name */
#define HS_POOL_FLAGS_MASK	(HS_POOL_ALLOW_FALLBACK | HS_POOL_DEBUG | \
				 HS_POOL_NO_CACHE | HS_POOL_NAMED)

/* Flags of hs_pool_destroy(). */
#define HS_DESTROY_FORCE	(1U << 0) /* destroy even with buffers out */
#define HS_DESTROY_FLAGS_MASK	HS_DESTROY_FORCE

/* Byte written over free buffers of a %HS_POOL_DEBUG pool. */
#define HS_POISON_BYTE		0x6b

/**
 * struct hs_pool_config - argument of hs_pool_create()
 * @total_bytes: memory for buffers; rounded up to a multiple of 2 MiB
 * @buf_size: usable bytes per buffer, %HS_BUF_SIZE_MIN..%HS_BUF_SIZE_MAX
 * @headroom: bytes usable before each buffer, for headers prepended later;
 *	@buf_size + @headroom rounded up to 4 KiB is the buffer stride, so
 *	headroom is free when @buf_size leaves room in its last page (4032 +
 *	64: 511 buffers per 2 MiB slab) and costs a page per buffer when
 *	@buf_size is a page multiple (4096 + 64: 256 instead of 512). A
 *	prepended header keeps the frame O_DIRECT-aligned only when its length
 *	is a multiple of the device's alignment (512 B or 4 KiB)
 * @numa_node: node to allocate on, or -1 for no preference
 * @cache_size: buffers per per-thread cache, 0 for the default
 *	(min(256, buffers / 4)); at most %HS_CACHE_SIZE_MAX
 * @flags: HS_POOL_* flags; unknown flags are rejected
 * @name: pool name for statistics, at most %HS_NAME_MAX - 1 characters of
 *	[A-Za-z0-9._-]; NULL or "" gives "pool"; with %HS_POOL_NAMED also the
 *	name other processes attach by (hs_pool_attach())
 * @stats_mode: permission bits of the statistics file, 0 for 0600
 * @quarantine: %HS_POOL_DEBUG pools only (EINVAL otherwise): how many freed
 *	buffers wait, first in first out, before they can be handed out
 *	again, as ASan's quarantine does. 0 for the default, a quarter of the
 *	buffers (at least 1); values above the buffer count mean all of
 *	them. While a buffer waits, a second put of it fails EALREADY and a
 *	write into it is found by the poison check when it leaves, instead
 *	of hitting the buffer's next owner. An empty store takes the oldest
 *	waiting buffers, so the quarantine never makes a get fail
 * @reserved32: must be 0
 * @reserved: must be 0
 *
 * Initialise with hs_pool_config_init() so that fields added later get their
 * defaults.
 */
struct hs_pool_config {
	uint64_t total_bytes;
	uint32_t buf_size;
	uint32_t headroom;
	int32_t numa_node;
	uint32_t cache_size;
	uint32_t flags;
	uint32_t stats_mode;
	const char *name;
	uint32_t quarantine;
	uint32_t reserved32;
	uint64_t reserved[3];
};

/*
 * Internal: one dense 8-byte entry per 2^shift bytes of the pool, where
 * 2^shift (4 KiB to 2 MiB) is the largest power of two that divides every
 * buffer's offset (struct hs_pool, __shift): pool offset >> shift is the
 * entry's index. Eight entries share a cache line, and for buffers of
 * 128 KiB, 1 MiB or 2 MiB consecutive buffers have consecutive entries
 * instead of entries 4 KiB apart that all fall into one L1 set. @ref holds
 * the reference count in its low 24 bits (__HS_REFS()) and the owner tag
 * of the last get in its top 8, so one load validates a put, reads its
 * count and names its tag. @stamp is
 * the time of the last get in ms of CLOCK_MONOTONIC, modulo 2^32 (ages up
 * to 49 days), read from the cache's clock (__hs_cache).
 */
struct __hs_meta {
	uint32_t ref;
	uint32_t stamp;
};

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "__hs_meta_take() stores both words of struct __hs_meta at once"
#endif

#define __HS_REF_BITS		24
#define __HS_REF_MASK		((1U << __HS_REF_BITS) - 1)
#define __HS_REFS(w)		((w) & __HS_REF_MASK)
#define __HS_TAG(w)		((w) >> __HS_REF_BITS)
#define __HS_REF_NONE		0xffffffU	/* entry starts no buffer */
#define __HS_REF_QUARANTINE	0xfffffeU	/* poison damaged, kept out */
#define __HS_REF_MAX		0xfff000U	/* refcount limit */

/*
 * Internal: a per-thread cache, touched only by its thread. The fields a
 * get or put needs sit in its first line, copies of the pool's included,
 * and @objs holds 32-bit metadata indices: half the bytes of pointers, and
 * the buffer is @base + (index << @shift). @stamp is the time for the ages
 * of the cache's gets, in ms of CLOCK_MONOTONIC: the library's clock
 * thread stores the time into every cache every %__HS_CLOCK_MS (clock.c),
 * so a get reads the clock with a load from a line it touches anyway
 * instead of a clock_gettime() call, which costs more than the rest of the
 * get (3.5-5 ns, measured).
 */
#define __HS_CLOCK_MS		2

struct __hs_cache {
	uint32_t len;
	uint32_t cap;
	uint32_t stamp;
	uint32_t pad0;
	uintptr_t base;
	struct __hs_meta *meta;
	struct hs_stats_thread *st;
	uint32_t nmeta;
	uint32_t shift;
	uint32_t size;
	uint32_t pad1;
	uint32_t objs[];
};

/*
 * Internal: per-thread state shared by all pools. Initial-exec TLS: one
 * %fs-relative load instead of a __tls_get_addr() call in -fPIC callers.
 * The cost: libhugeslab.so takes static TLS (8 bytes), so a dlopen() of it
 * after program start works only while glibc's static TLS surplus lasts
 * (hundreds of bytes; fine unless many such libraries are dlopen()ed).
 */
struct __hs_tls {
	uint32_t slot;	/* thread slot, 0 while unassigned or none free */
	uint32_t tag;	/* owner tag for hs_get() */
};
extern __thread struct __hs_tls __hs_tls
	__attribute__((tls_model("initial-exec")));

/**
 * struct hs_pool - a buffer pool
 *
 * Opaque: only the library touches the fields, all of which are internal.
 * The hot fields come first so that the fast path reads one or two lines.
 */
struct hs_pool {
	uintptr_t __base;
	uint64_t __size;
	struct __hs_meta *__meta;
	uint32_t __waiters;
	uint32_t __flags;
	uint32_t __shift;
	uint32_t __pad;
	struct __hs_cache *__cache[HS_MAX_THREADS];
};

/**
 * struct hs_view - a window into a buffer, for packet framing
 * @buf: the buffer, as returned by hs_get()
 * @off: offset of the first byte from @buf; negative inside the headroom
 * @len: bytes in the view
 *
 * A view does not hold a reference by itself: whoever holds the view holds
 * one reference on @buf (see hs_view_clone() and hs_view_release()).
 */
struct hs_view {
	void *buf;
	int32_t off;
	uint32_t len;
};

/**
 * struct hs_pool_stats - snapshot returned by hs_pool_stats()
 * @nr_bufs: buffers in the pool
 * @outstanding: buffers handed out and not yet returned
 * @quarantined: buffers withdrawn after a poison check failed
 * @gets: buffers handed out since creation
 * @puts: buffers returned since creation
 * @cache_hits: gets served by a per-thread cache
 * @cache_refills: transfers from the shared store to a cache
 * @cache_flushes: transfers from a cache to the shared store
 * @empty_events: gets that found the pool empty
 * @waits: hs_get_wait() calls that slept
 * @wait_timeouts: hs_get_wait() calls that timed out
 * @err_double_put: see struct hs_stats_hdr
 * @err_foreign: see struct hs_stats_hdr
 * @err_wrong_pool: see struct hs_stats_hdr
 * @err_poison: see struct hs_stats_hdr
 * @tag_outstanding: outstanding buffers by owner tag of their get
 * @age_hist: outstanding buffers by age, buckets as in struct hs_stats_hdr
 */
struct hs_pool_stats {
	uint64_t nr_bufs;
	uint64_t outstanding;
	uint64_t quarantined;
	uint64_t gets;
	uint64_t puts;
	uint64_t cache_hits;
	uint64_t cache_refills;
	uint64_t cache_flushes;
	uint64_t empty_events;
	uint64_t waits;
	uint64_t wait_timeouts;
	uint64_t err_double_put;
	uint64_t err_foreign;
	uint64_t err_wrong_pool;
	uint64_t err_poison;
	uint64_t tag_outstanding[HS_MAX_TAGS];
	uint64_t age_hist[HS_STATS_AGE_BUCKETS];
};

/**
 * struct hs_leak - one outstanding buffer, passed to an hs_leak_cb
 * @buf: the buffer
 * @tag: owner tag recorded by the get
 * @tag_name: name of @tag (hs_tag_name()), "" if none was set
 * @refs: current reference count
 * @age_ns: time since the get, in ns
 */
struct hs_leak {
	void *buf;
	unsigned int tag;
	const char *tag_name;
	unsigned int refs;
	uint64_t age_ns;
};

/* Return non-zero to stop the walk. */
typedef int (*hs_leak_cb)(const struct hs_leak *leak, void *arg);

/* Kinds of struct hs_pool_error. */
#define HS_ERROR_NONE		0 /* no error recorded */
#define HS_ERROR_DOUBLE_PUT	1 /* put or ref of a free buffer */
#define HS_ERROR_POISON		2 /* debug pool: free buffer written */

/**
 * struct hs_pool_error - the last misuse of a buffer, from hs_pool_last_error()
 * @kind: HS_ERROR_* constant
 * @count: errors of any kind recorded since creation
 * @buf: the buffer
 * @tag: owner tag of the buffer's last get: whose buffer it was
 * @tag_name: name of @tag (hs_tag_name()), "" if none was set
 * @age_ns: for %HS_POOL_DEBUG pools, time from the buffer's put to the
 *	error (how long a stale pointer lived); for other pools, time from
 *	its last get
 */
struct hs_pool_error {
	unsigned int kind;
	unsigned int count;
	void *buf;
	unsigned int tag;
	const char *tag_name;
	uint64_t age_ns;
};

/* ---------------------------------------------------------------------- */
/* Control path: out of line, may lock, allocate and sleep.                */
/* ---------------------------------------------------------------------- */

/**
 * hs_pool_config_init - fill @cfg with defaults
 * @cfg: configuration to initialise
 *
 * Zeroes @cfg, then sets @numa_node to -1. The caller sets at least
 * @total_bytes and @buf_size.
 */
void hs_pool_config_init(struct hs_pool_config *cfg);

/**
 * hs_pool_create - create a pool
 * @cfg: configuration, see struct hs_pool_config
 *
 * Maps @cfg->total_bytes of pinned memory from /dev/hugeslab, or when the
 * device does not exist and %HS_POOL_ALLOW_FALLBACK is set, from the first
 * fallback backend that works (see enum hs_backend). When the device exists
 * its errors are returned, never hidden by a fallback. Carves the memory into
 * buffers of @cfg->buf_size that never straddle a 2 MiB slab and start on a
 * 4 KiB boundary, and creates the statistics region. Not for the data path.
 *
 * The library's own data-path structures are locked in memory too, so that
 * a get or put never takes a major fault: the buffer metadata (8 bytes per
 * 4 KiB of pool or less: per 2^n bytes, the largest power of two dividing
 * every buffer's offset; kept in the statistics file, so in /dev/shm by
 * default), the shared store (4 bytes per buffer and 1 bit per metadata
 * entry) and each
 * thread's cache (one page or so, made on the thread's first get). They
 * count against RLIMIT_MEMLOCK like the fallback backends' buffers.
 *
 * While any pool exists, the library runs one thread of its own, the clock
 * thread: every %__HS_CLOCK_MS ms it stores the time into each thread
 * cache, so that a get records its time without reading a clock (which
 * would cost more than the rest of the get). It blocks all signals and
 * ends with the last hs_pool_destroy(); it is not copied by fork(2).
 *
 * A %HS_POOL_DEBUG pool also keeps freed buffers in a FIFO quarantine of
 * @cfg->quarantine entries before reuse (see struct hs_pool_config), so
 * that a stale put or a write after put is caught and reported by
 * hs_pool_last_error() with the owner tag, instead of reaching the
 * buffer's next owner.
 *
 * The data path is inline, so the caller's program has this header's
 * structure layouts compiled in. hs_pool_create() is therefore a macro
 * that passes the caller's layout fingerprint (__hs_layout(): sizes and
 * offsets of every structure the inline calls touch) to the library, which
 * refuses a fingerprint other than its own: a program built against
 * another release's hugeslab.h fails here, cleanly, instead of corrupting
 * pools. hs_pool_attach() checks the same.
 *
 * Return: the pool, or NULL with errno set: EAGAIN when the clock thread
 * cannot be started (pthread_create(3)); ENOEXEC when the caller was
 * compiled against a hugeslab.h whose structure layout differs from this
 * library's (rebuild it against the installed header);
 * EINVAL for a bad configuration
 * (unknown flag, non-zero reserved field, size out of range, bad name);
 * EEXIST for %HS_POOL_NAMED with the name of a live module pool;
 * ENOENT when /dev/hugeslab is missing and fallback is not allowed; ENOMEM
 * or EPERM when memory cannot be had or locked (RLIMIT_MEMLOCK); any errno
 * of open(2), ioctl(2), mmap(2) or mlock(2) on the chosen backend.
 */
struct hs_pool *hs_pool_create(const struct hs_pool_config *cfg);

/**
 * hs_pool_destroy - destroy a pool
 * @pool: the pool
 * @flags: 0 or %HS_DESTROY_FORCE
 *
 * No other thread may use @pool during or after the call. Without
 * %HS_DESTROY_FORCE a pool with buffers still out is left intact and the
 * call fails with EBUSY (list them with hs_pool_leaks()). With it, the pool
 * is destroyed anyway and its memory unmapped: the outstanding buffers become
 * invalid. In a child process after fork(2), and for a peer of
 * hs_pool_attach(), it only releases this process's mappings and file.
 * Not for the data path.
 *
 * Return: the number of buffers that were still out (0 for a clean
 * destroy), or -1 with errno set: EINVAL for a NULL pool or unknown flags,
 * EBUSY as above.
 */
int hs_pool_destroy(struct hs_pool *pool, unsigned int flags);

/**
 * hs_pool_backend - backend that @pool got
 * @pool: the pool
 *
 * Return: the backend, or %HS_BACKEND_NONE with errno EINVAL for NULL.
 */
enum hs_backend hs_pool_backend(const struct hs_pool *pool);

/**
 * hs_backend_name - printable name of a backend
 * @backend: the backend
 *
 * Return: a static string, "unknown" for values out of range.
 */
const char *hs_backend_name(enum hs_backend backend);

/**
 * hs_pool_page_size - page size backing @pool's buffers
 * @pool: the pool
 *
 * Return: 2 MiB for %HS_BACKEND_MODULE and the hugetlb fallbacks, 4096 for
 * %HS_BACKEND_PAGES (even where transparent huge pages were granted), or 0
 * with errno EINVAL for NULL.
 */
size_t hs_pool_page_size(const struct hs_pool *pool);

/**
 * hs_pool_buf_size - usable bytes per buffer
 * @pool: the pool
 *
 * Return: the configured buffer size, or 0 with errno EINVAL for NULL.
 */
size_t hs_pool_buf_size(const struct hs_pool *pool);

/**
 * hs_pool_headroom - bytes usable before each buffer
 * @pool: the pool
 *
 * Return: the configured headroom, or 0 with errno EINVAL for NULL.
 */
size_t hs_pool_headroom(const struct hs_pool *pool);

/**
 * hs_pool_nr_bufs - number of buffers in @pool
 * @pool: the pool
 *
 * Return: the count, or 0 with errno EINVAL for NULL.
 */
size_t hs_pool_nr_bufs(const struct hs_pool *pool);

/**
 * hs_thread_set_tag - set the owner tag recorded by this thread's hs_get()
 * @tag: tag below %HS_MAX_TAGS; 0 means untagged
 *
 * Tags are small integers shared by all pools; name them per pool with
 * hs_tag_name().
 *
 * Return: 0, or -1 with errno EINVAL for a tag out of range.
 */
int hs_thread_set_tag(unsigned int tag);

/**
 * hs_tag_name - name owner tag @tag of @pool in statistics and leak reports
 * @pool: the pool
 * @tag: tag below %HS_MAX_TAGS
 * @name: name, truncated to %HS_STATS_TAG_NAME_MAX - 1 characters
 *
 * Return: 0, or -1 with errno EINVAL for a NULL argument or bad tag.
 */
int hs_tag_name(struct hs_pool *pool, unsigned int tag, const char *name);

/**
 * hs_get_wait - get a buffer, waiting up to @timeout_ns for one
 * @pool: the pool
 * @timeout_ns: longest wait in ns; 0 behaves as hs_get()
 *
 * When the pool is empty, sleeps until another thread returns a buffer to
 * the shared store or the timeout expires. While a thread waits, puts from
 * all threads bypass their caches so that the waiter sees them. Buffers
 * already sitting in other threads' caches are not taken.
 *
 * Return: a buffer, or NULL with errno set: ETIMEDOUT when the wait expired,
 * EINVAL or ECHILD as for hs_get().
 */
void *hs_get_wait(struct hs_pool *pool, uint64_t timeout_ns);

/**
 * hs_thread_flush - return this thread's cache of @pool to the shared store
 * @pool: the pool
 *
 * For a thread that goes idle for long. Exiting threads do this for every
 * pool automatically.
 *
 * Return: 0, or -1 with errno EINVAL for NULL, ECHILD after fork.
 */
int hs_thread_flush(struct hs_pool *pool);

/**
 * hs_pool_stats - read the counters of @pool
 * @pool: the pool
 * @st: filled in
 *
 * Sums the per-thread counters and walks the buffer metadata for the
 * per-tag counts and the age histogram, which it also publishes in the
 * shared statistics region. O(number of buffers); not for the data path.
 *
 * Return: 0, or -1 with errno EINVAL for a NULL argument.
 */
int hs_pool_stats(struct hs_pool *pool, struct hs_pool_stats *st);

/**
 * hs_pool_stats_path - path of @pool's shared statistics region
 * @pool: the pool
 *
 * Return: the path (valid until the pool is destroyed), or NULL with errno
 * EINVAL for NULL.
 */
const char *hs_pool_stats_path(const struct hs_pool *pool);

/**
 * hs_pool_leaks - list buffers held longer than @older_than_ns
 * @pool: the pool
 * @older_than_ns: minimum age in ns; 0 lists every outstanding buffer
 * @cb: called once per buffer, may be NULL to only count
 * @arg: passed to @cb
 *
 * The walk is racy against concurrent gets and puts but never unsafe.
 * O(number of buffers); not for the data path.
 *
 * Return: the number of buffers reported, or -1 with errno EINVAL.
 */
int hs_pool_leaks(struct hs_pool *pool, uint64_t older_than_ns,
		  hs_leak_cb cb, void *arg);

/**
 * hs_pool_check - verify that every buffer is accounted exactly once
 * @pool: the pool, quiescent: no other thread may use it during the call
 *
 * Every buffer must be either outstanding (reference count above 0) or free
 * in exactly one place: the shared store or one thread cache.
 *
 * Return: the number of outstanding buffers, or -1 with errno set: EINVAL
 * for NULL, EUCLEAN when a buffer is free twice, lost, or free with a
 * non-zero reference count, ENOMEM.
 */
int hs_pool_check(struct hs_pool *pool);

/**
 * hs_pool_last_error - the last double put or poison failure of @pool
 * @pool: the pool
 * @err: filled in; @err->kind is %HS_ERROR_NONE when nothing went wrong
 *
 * A put or ref of a free buffer (err_double_put) and a free buffer found
 * written (err_poison, debug pools) record the buffer, the owner tag of its
 * last get and an age, so that the report names the code path that misused
 * it. hs_pool_dump() prints the same. Not for the data path.
 *
 * Return: 0, or -1 with errno set: EINVAL for a NULL argument, EOPNOTSUPP
 * for a peer.
 */
int hs_pool_last_error(struct hs_pool *pool, struct hs_pool_error *err);

/**
 * hs_pool_dump - write a human-readable summary of @pool to @f
 * @pool: the pool
 * @f: output stream
 *
 * Return: 0, or -1 with errno set.
 */
int hs_pool_dump(struct hs_pool *pool, FILE *f);

/* ---- memory regions (for io_uring / RDMA registration; region.c) ---- */

/**
 * struct hs_region - one contiguous mapped range of a pool
 * @base: first byte, 2 MiB aligned for the module and hugetlb backends
 * @len: bytes, a multiple of 2 MiB; no buffer straddles two regions
 */
struct hs_region {
	void *base;
	size_t len;
};

/**
 * hs_pool_regions - list the mapped memory ranges of @pool
 * @pool: the pool
 * @regs: array receiving up to @max regions, may be NULL when @max is 0
 * @max: capacity of @regs
 *
 * For registering the pool with the kernel, e.g. as io_uring fixed buffers
 * (which a caller must cut into pieces of at most 1 GiB; pieces cut on
 * 2 MiB boundaries never split a buffer). Not for the data path.
 *
 * Return: the number of regions of the pool (which may exceed @max; only
 * @max are filled), or -1 with errno set: EINVAL for a NULL pool, or NULL
 * @regs with a non-zero @max; ECHILD in a child after fork(2).
 */
int hs_pool_regions(const struct hs_pool *pool, struct hs_region *regs,
		    unsigned int max);

/**
 * hs_buf_index - dense index of a buffer, 0..hs_pool_nr_bufs() - 1
 * @pool: the pool
 * @buf: start of a buffer of @pool, free or not
 *
 * For tables indexed by buffer, such as the buffer ids of an io_uring
 * provided-buffer ring. The inverse of hs_buf_at(). O(1), no locks.
 *
 * Return: the index, or -1 with errno EINVAL for a NULL pool or a pointer
 * that is not the start of a buffer of @pool.
 */
long hs_buf_index(const struct hs_pool *pool, const void *buf);

/**
 * hs_buf_at - buffer with dense index @idx
 * @pool: the pool
 * @idx: index below hs_pool_nr_bufs()
 *
 * Takes no reference: the caller must own the buffer by other means.
 *
 * Return: the buffer, or NULL with errno EINVAL for a NULL pool or an index
 * out of range.
 */
void *hs_buf_at(const struct hs_pool *pool, size_t idx);

/* ---- end of memory regions ---- */

/* ---- io_uring fixed buffers (uring.c) ---- */

/* Largest fixed buffer the kernel takes; pools are registered in pieces. */
#define HS_URING_PIECE	(1UL << 30)

/**
 * hs_pool_uring_register - register @pool as fixed buffers of an io_uring
 * @pool: the pool
 * @ring_fd: fd of the ring, from io_uring_setup(2) (liburing: ring->ring_fd)
 *
 * Each region of hs_pool_regions() is cut into pieces of at most
 * %HS_URING_PIECE bytes on 2 MiB boundaries, so no buffer is split, and
 * the pieces become fixed buffers 0, 1, ... in region order, in one
 * IORING_REGISTER_BUFFERS call: the kernel takes all of them or none, so
 * nothing is left registered on failure. hs_buf_uring_index() then gives
 * the buf_index of an address for IORING_OP_READ_FIXED/WRITE_FIXED. The
 * pages are pinned once instead of on every I/O; they are charged to
 * RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK. The registration ends
 * with hs_pool_uring_unregister() or when the ring is closed; close the
 * ring before destroying the pool. Uses the raw syscall: no liburing
 * needed. Not for the data path.
 *
 * Return: 0, or -1 with errno set: EINVAL for a NULL pool; EBADF for a
 * negative or closed @ring_fd; ECHILD in a child after fork(2); ENOMEM
 * when RLIMIT_MEMLOCK is too small for the pool (or no memory);
 * EOPNOTSUPP when @ring_fd is not an io_uring; EBUSY when the ring
 * already has fixed buffers; EFAULT when the kernel cannot pin the
 * memory as fixed buffers; ENOSYS or EPERM when the kernel has no
 * io_uring or it is disabled (kernel.io_uring_disabled).
 */
int hs_pool_uring_register(const struct hs_pool *pool, int ring_fd);

/**
 * hs_pools_uring_register - register pools as fixed buffers of one io_uring
 * @pools: the pools, none NULL
 * @n: how many, at least 1
 * @ring_fd: fd of the ring
 * @first: receives each pool's first fixed-buffer index; may be NULL
 *
 * A ring takes one IORING_REGISTER_BUFFERS call only, so a program with
 * pools of two buffer sizes registers them together: the pieces of
 * @pools[0] (as in hs_pool_uring_register()) first, then those of
 * @pools[1], and so on, all or none. The buf_index of an address of
 * @pools[i] is then @first[i] + hs_buf_uring_index(@pools[i], ...).
 * hs_pool_uring_register() is this call with one pool and @first[0] = 0.
 * Not for the data path.
 *
 * Return: 0, or -1 with errno set as for hs_pool_uring_register(), and
 * EINVAL for a NULL @pools, a NULL pool in it, or @n == 0. @first is
 * meaningful only on success.
 */
int hs_pools_uring_register(const struct hs_pool *const *pools, unsigned int n,
			    int ring_fd, long *first);

/**
 * hs_pool_uring_unregister - drop the fixed buffers of the ring @ring_fd
 * @pool: the pool registered by hs_pool_uring_register()
 * @ring_fd: fd of the ring
 *
 * Waits for nothing: the kernel keeps the pages pinned until in-flight
 * fixed-buffer I/O on them completes. Not for the data path.
 *
 * Return: 0, or -1 with errno set: EINVAL for a NULL pool; EBADF for a
 * bad @ring_fd; ENXIO when the ring has no fixed buffers; EOPNOTSUPP when
 * @ring_fd is not an io_uring.
 */
int hs_pool_uring_unregister(const struct hs_pool *pool, int ring_fd);

/**
 * hs_buf_uring_index - fixed-buffer index of an address of @pool
 * @pool: the pool registered by hs_pool_uring_register()
 * @addr: any address inside @pool's memory, e.g. hs_view_data()
 * @len: bytes of the I/O starting at @addr
 * @offset: receives the offset of @addr in that fixed buffer, may be NULL
 *
 * The buf_index to put in a READ_FIXED/WRITE_FIXED submission (liburing:
 * io_uring_prep_write_fixed()) for @len bytes at @addr. Valid only for a
 * ring on which hs_pool_uring_register() succeeded. O(regions), no locks,
 * no system calls: fit for the data path.
 *
 * Return: the index, or -1 with errno set: EINVAL for a NULL pool, an
 * @addr outside the pool, or a range [@addr, @addr + @len) that does not
 * fit in one fixed buffer; ECHILD in a child after fork(2).
 */
long hs_buf_uring_index(const struct hs_pool *pool, const void *addr,
			size_t len, size_t *offset);

/* ---- end of io_uring fixed buffers ---- */

/* ---- sharing a pool with another process (attach.c) ---- */

/* Flags of struct hs_attach_config. */
#define HS_ATTACH_RDONLY	(1U << 0) /* map without PROT_WRITE */
#define HS_ATTACH_OWNER		(1U << 1) /* by name: creator is @owner_uid */
#define HS_ATTACH_ANY_OWNER	(1U << 2) /* by name: no owner check */
#define HS_ATTACH_FLAGS_MASK	(HS_ATTACH_RDONLY | HS_ATTACH_OWNER | \
				 HS_ATTACH_ANY_OWNER)

/**
 * struct hs_attach_config - argument of hs_pool_attach()
 * @name: name of a live %HS_POOL_NAMED pool of /dev/hugeslab, or NULL
 * @fd: a file descriptor of the pool (from hs_pool_fd() in the creator,
 *	received with SCM_RIGHTS), or -1; exactly one of @name and @fd is set
 * @buf_size: the creator's buf_size; must be equal to it
 * @headroom: the creator's headroom; must be equal to it
 * @total_bytes: 0, or the creator's total_bytes, checked against the size
 *	of the pool
 * @flags: %HS_ATTACH_RDONLY, and at most one of %HS_ATTACH_OWNER and
 *	%HS_ATTACH_ANY_OWNER, or 0
 * @owner_uid: with %HS_ATTACH_OWNER, the uid that must have created the
 *	pool named @name; must be 0 otherwise
 * @reserved32: must be 0
 * @reserved: must be 0
 *
 * Initialise with hs_attach_config_init().
 */
struct hs_attach_config {
	const char *name;
	int32_t fd;
	uint32_t buf_size;
	uint32_t headroom;
	uint32_t flags;
	uint64_t total_bytes;
	uint32_t owner_uid;
	uint32_t reserved32;
	uint64_t reserved[3];
};

/**
 * hs_attach_config_init - fill @cfg with defaults
 * @cfg: configuration to initialise
 *
 * Zeroes @cfg, then sets @fd to -1.
 */
void hs_attach_config_init(struct hs_attach_config *cfg);

/**
 * hs_pool_attach - map a pool created by another process, as a peer view
 * @cfg: configuration, see struct hs_attach_config
 *
 * Attaches by @cfg->name (HUGESLAB_IOC_ATTACH on a new file of
 * /dev/hugeslab, read-only with %HS_ATTACH_RDONLY) or duplicates @cfg->fd,
 * which the caller keeps and may close, and maps the whole pool. @cfg->fd
 * may be a /dev/hugeslab file or the memfd of a fallback pool. The buffer
 * layout is recomputed from @cfg->buf_size and @cfg->headroom, which must
 * equal the creator's: the pool records neither, so other values are caught
 * only when they are invalid or do not fit the pool size. With equal values,
 * hs_buf_at(), hs_buf_index(), hs_pool_regions(), hs_pool_nr_bufs() and the
 * views' arithmetic give the creator's buffers by the same indices.
 *
 * The peer has no free store and no reference counts: hs_get(), hs_put(),
 * hs_ref() and their variants, hs_view_clone(), hs_view_release(),
 * hs_thread_flush(), hs_pool_stats(), hs_pool_leaks(), hs_pool_check(),
 * hs_pool_dump(), hs_tag_name() and hs_pool_stats_path() fail with
 * EOPNOTSUPP. Buffers change hands by index (hs_buf_index()) over the
 * application's own channel; the creator gets and puts them. Allocating
 * from one pool in two processes is not supported. hs_pool_destroy() of a
 * peer unmaps and closes only, and returns 0.
 *
 * Pool names are first come, first served: any user who may open
 * /dev/hugeslab can create a pool under the name a service expects before
 * the service does. So an attach by name checks who created the pool:
 * by default it must be the caller's real uid (getuid()), with
 * %HS_ATTACH_OWNER it must be @cfg->owner_uid (a root monitor attaching an
 * unprivileged daemon's pool names the daemon's uid), and only
 * %HS_ATTACH_ANY_OWNER accepts any creator. The kernel makes the check
 * (HUGESLAB_ATTACH_OWNER), so it holds for CAP_SYS_ADMIN callers too, who
 * may otherwise attach any user's pool. An attach by @cfg->fd trusts the
 * sender of the descriptor and checks no owner: %HS_ATTACH_OWNER and
 * %HS_ATTACH_ANY_OWNER are EINVAL there.
 *
 * Return: the peer, or NULL with errno set: ENOEXEC for a caller compiled
 * against another structure layout, as for hs_pool_create(); EINVAL for a
 * bad configuration,
 * a layout that does not fit the pool, or an @cfg->fd that is neither a
 * pool file nor a memfd; ENOENT when /dev/hugeslab or the named pool does
 * not exist; EACCES when the file is read-only (a read-only attach or an
 * O_RDONLY descriptor) and %HS_ATTACH_RDONLY is not set; ENODEV for a
 * /dev/hugeslab file without a pool; EPERM for another user's pool, or a
 * pool not created by the expected owner; any errno of open(2), ioctl(2),
 * fcntl(2) or mmap(2). EINVAL also comes from an older module, which
 * cannot check the owner: pass %HS_ATTACH_ANY_OWNER to attach there.
 */
struct hs_pool *hs_pool_attach(const struct hs_attach_config *cfg);

/**
 * hs_pool_fd - file descriptor of @pool's memory, for SCM_RIGHTS
 * @pool: a pool or a peer
 *
 * The descriptor stays owned by the pool (do not close it) and is valid
 * until hs_pool_destroy(). Passing it to another process with SCM_RIGHTS
 * and hs_pool_attach() there shares the pool. For a module pool it carries
 * the access of the pool's file: a read-only attached peer passes on a
 * read-only handle.
 *
 * Return: the descriptor, or -1 with errno set: EINVAL for NULL,
 * EOPNOTSUPP for a %HS_BACKEND_MAP_HUGETLB pool, which has no file.
 */
int hs_pool_fd(const struct hs_pool *pool);

/**
 * hs_pool_is_peer - whether @pool came from hs_pool_attach()
 * @pool: a pool or a peer
 *
 * Return: 1 for a peer, 0 for a pool of hs_pool_create(), or -1 with errno
 * EINVAL for NULL.
 */
int hs_pool_is_peer(const struct hs_pool *pool);

/* ---- end of sharing ---- */

/*
 * Internal: the layout check of hs_pool_create() and hs_pool_attach().
 * __hs_layout() folds, at compile time and in the caller, the size and
 * offsets of every structure and constant the inline data path uses into
 * one 64-bit fingerprint; the library compares it with its own. Bump
 * __HS_LAYOUT_VERSION when a field keeps its place but changes meaning.
 */
#define __HS_LAYOUT_VERSION	2

static inline uint64_t __hs_mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;	/* FNV-1a step */
}

static inline uint64_t __hs_layout(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = __hs_mix(h, __HS_LAYOUT_VERSION);
	h = __hs_mix(h, sizeof(void *));
	h = __hs_mix(h, sizeof(struct hs_pool));
	h = __hs_mix(h, offsetof(struct hs_pool, __base));
	h = __hs_mix(h, offsetof(struct hs_pool, __size));
	h = __hs_mix(h, offsetof(struct hs_pool, __meta));
	h = __hs_mix(h, offsetof(struct hs_pool, __waiters));
	h = __hs_mix(h, offsetof(struct hs_pool, __flags));
	h = __hs_mix(h, offsetof(struct hs_pool, __shift));
	h = __hs_mix(h, offsetof(struct hs_pool, __cache));
	h = __hs_mix(h, sizeof(struct __hs_meta));
	h = __hs_mix(h, offsetof(struct __hs_meta, ref));
	h = __hs_mix(h, offsetof(struct __hs_meta, stamp));
	h = __hs_mix(h, __HS_REF_BITS);
	h = __hs_mix(h, __HS_CLOCK_MS);
	h = __hs_mix(h, sizeof(struct __hs_cache));
	h = __hs_mix(h, offsetof(struct __hs_cache, len));
	h = __hs_mix(h, offsetof(struct __hs_cache, cap));
	h = __hs_mix(h, offsetof(struct __hs_cache, stamp));
	h = __hs_mix(h, offsetof(struct __hs_cache, base));
	h = __hs_mix(h, offsetof(struct __hs_cache, meta));
	h = __hs_mix(h, offsetof(struct __hs_cache, st));
	h = __hs_mix(h, offsetof(struct __hs_cache, nmeta));
	h = __hs_mix(h, offsetof(struct __hs_cache, shift));
	h = __hs_mix(h, offsetof(struct __hs_cache, objs));
	h = __hs_mix(h, sizeof(((struct __hs_cache *)0)->objs[0]));
	h = __hs_mix(h, sizeof(struct __hs_tls));
	h = __hs_mix(h, offsetof(struct __hs_tls, slot));
	h = __hs_mix(h, offsetof(struct __hs_tls, tag));
	h = __hs_mix(h, sizeof(struct hs_stats_thread));
	h = __hs_mix(h, offsetof(struct hs_stats_thread, tag_puts));
	h = __hs_mix(h, sizeof(struct hs_pool_config));
	h = __hs_mix(h, sizeof(struct hs_attach_config));
	h = __hs_mix(h, sizeof(struct hs_pool_stats));
	h = __hs_mix(h, sizeof(struct hs_leak));
	h = __hs_mix(h, sizeof(struct hs_pool_error));
	h = __hs_mix(h, sizeof(struct hs_view));
	h = __hs_mix(h, sizeof(struct hs_region));
	h = __hs_mix(h, HS_ALIGN_SHIFT);
	h = __hs_mix(h, HS_MAX_TAGS);
	h = __hs_mix(h, HS_MAX_THREADS);
	h = __hs_mix(h, HS_CACHE_SIZE_MAX);
	h = __hs_mix(h, __HS_REF_NONE);
	h = __hs_mix(h, __HS_REF_QUARANTINE);
	h = __hs_mix(h, __HS_REF_MAX);
	return h;
}

struct hs_pool *__hs_pool_create(const struct hs_pool_config *cfg,
				 uint64_t layout);
struct hs_pool *__hs_pool_attach(const struct hs_attach_config *cfg,
				 uint64_t layout);

#define hs_pool_create(cfg)	__hs_pool_create((cfg), __hs_layout())
#define hs_pool_attach(cfg)	__hs_pool_attach((cfg), __hs_layout())

/* Internal slow paths of the inline calls below. */
void *__hs_get_slow(struct hs_pool *pool, unsigned int tag);
int __hs_get_bulk_slow(struct hs_pool *pool, void **bufs, unsigned int n,
		       unsigned int tag);
int __hs_put_slow(struct hs_pool *pool, void *buf);
int __hs_put_bulk_slow(struct hs_pool *pool, void *const *bufs, unsigned int n,
		       unsigned int done);
int __hs_ref_slow(struct hs_pool *pool, void *buf);

/* ---------------------------------------------------------------------- */
/* Data path: inline.                                                      */
/* ---------------------------------------------------------------------- */

#define __hs_likely(x)		__builtin_expect(!!(x), 1)
#define __hs_unlikely(x)	__builtin_expect(!!(x), 0)

/*
 * Unroll the next loop 4 times: a loop of one load and one store spends
 * as many instructions on its counter and branch as on its work (bulk
 * get: 5 -> 2.75 per buffer). Compilers without the pragma, where -Wall
 * would warn about an unknown one, just run the loop.
 */
#if defined(__clang__)
#define __HS_UNROLL4		_Pragma("clang loop unroll_count(4)")
#elif defined(__GNUC__) && __GNUC__ >= 8
#define __HS_UNROLL4		_Pragma("GCC unroll 4")
#else
#define __HS_UNROLL4
#endif
#define __hs_load(p)		__atomic_load_n((p), __ATOMIC_RELAXED)
#define __hs_store(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Owner-only counter: a plain load and store, no read-modify-write. */
static inline void __hs_count(uint64_t *c, uint64_t n)
{
	__hs_store(c, __hs_load(c) + n);
}

/*
 * Metadata index of @buf in a pool at @base with entries of 2^@shift bytes;
 * a pointer below @base or not on an entry boundary gives an index above
 * any pool's entry count.
 */
static inline uint64_t __hs_page_of(uintptr_t base, unsigned int shift,
				    const void *buf)
{
	uint64_t off = (uintptr_t)buf - base;

	/* Rotated, a misaligned offset has high bits set: one compare. */
	return (off >> shift) | (off << ((64 - shift) & 63));
}

static inline struct __hs_meta *__hs_meta_of(const struct hs_pool *pool,
					     const void *buf)
{
	return &pool->__meta[((uintptr_t)buf - pool->__base) >> pool->__shift];
}

/* The entry of a get: one reference, owner @tag, time @stamp. */
static inline uint64_t __hs_meta_word(unsigned int tag, uint32_t stamp)
{
	return ((uint64_t)stamp << 32) | ((uint32_t)tag << __HS_REF_BITS) | 1U;
}

/*
 * A get's metadata: the buffer is privately owned, so one plain 8-byte
 * store of both words (little endian: @ref is the low half). Other
 * accesses to @ref are 4-byte atomics; no one may access the entry
 * concurrently with this store, so the sizes never race.
 */
static inline void __hs_meta_take(struct __hs_meta *m, uint64_t word)
{
	__hs_store((uint64_t *)(void *)m, word);
}

/**
 * hs_get_tagged - get a buffer recording owner tag @tag
 * @pool: the pool
 * @tag: owner tag below %HS_MAX_TAGS, recorded with a timestamp
 *
 * Takes a buffer from this thread's cache, refilling it from the shared
 * store when empty. The buffer holds one reference, starts on a 4 KiB
 * boundary, has hs_pool_buf_size() bytes and hs_pool_headroom() bytes
 * before it. Its content is zero on first use and whatever the last user
 * left afterwards (%HS_POISON_BYTE in debug pools). Never blocks.
 *
 * The timestamp is CLOCK_MONOTONIC in ms as the library's clock thread
 * last stored it in the thread's cache, at most %__HS_CLOCK_MS ms ago (a
 * get from the shared store reads the clock itself): ages are exact to
 * 1 ms plus that, idle threads included.
 *
 * Return: the buffer, or NULL with errno set: ENOBUFS when the pool is
 * empty, EINVAL for a NULL pool or bad tag, ECHILD in a child after fork(2).
 */
static inline void *__hs_get(struct hs_pool *pool, unsigned int tag);

static inline void *hs_get_tagged(struct hs_pool *pool, unsigned int tag)
{
	if (__hs_unlikely(tag >= HS_MAX_TAGS))
		return __hs_get_slow(pool, tag);
	return __hs_get(pool, tag);
}

/* hs_get_tagged() for a tag known to be valid. */
static inline void *__hs_get(struct hs_pool *pool, unsigned int tag)
{
	struct __hs_cache *c;

	if (__hs_unlikely(pool == NULL))
		return __hs_get_slow(pool, tag);
	c = pool->__cache[__hs_tls.slot];
	if (__hs_likely(c != NULL && c->len != 0)) {
		uint32_t idx = c->objs[--c->len];

		__hs_meta_take(&c->meta[idx],
			       __hs_meta_word(tag, __hs_load(&c->stamp)));
		__hs_count(&c->st->tag_gets[tag], 1);
		return (void *)(c->base + ((uintptr_t)idx << c->shift));
	}
	return __hs_get_slow(pool, tag);
}

/**
 * hs_get - get a buffer with this thread's owner tag
 * @pool: the pool
 *
 * As hs_get_tagged() with the tag set by hs_thread_set_tag() (0 if none).
 *
 * Return: the buffer, or NULL with errno set as for hs_get_tagged().
 */
static inline void *hs_get(struct hs_pool *pool)
{
	/* hs_thread_set_tag() let no bad tag in: no check here. */
	return __hs_get(pool, __hs_tls.tag);
}

/**
 * hs_get_bulk - get @n buffers, all or none
 * @pool: the pool
 * @bufs: array receiving @n buffers
 * @n: number of buffers
 *
 * Return: 0, or -1 with errno set as for hs_get() (ENOBUFS when fewer than
 * @n buffers are available: then none is taken).
 */
static inline int hs_get_bulk(struct hs_pool *pool, void **bufs,
			      unsigned int n)
{
	unsigned int tag = __hs_tls.tag;
	struct __hs_cache *c;

	if (__hs_unlikely(pool == NULL || bufs == NULL))
		return __hs_get_bulk_slow(pool, bufs, n, tag);
	c = pool->__cache[__hs_tls.slot];
	if (__hs_likely(c != NULL && n <= c->len)) {
		const uint32_t *src = c->objs + c->len - n, *top = src + n;
		uint64_t word = __hs_meta_word(tag, __hs_load(&c->stamp));
		struct __hs_meta *meta = c->meta;
		uintptr_t base = c->base;
		unsigned int i, shift = c->shift;

		/*
		 * Two loops: a pointer conversion, vectorised when @n is a
		 * constant and unrolled otherwise (9 -> 5 instructions per
		 * buffer), then the metadata stores, which no load depends
		 * on. The cache is a stack: @bufs gets its top first.
		 */
		__HS_UNROLL4
		for (i = 0; i < n; i++)
			bufs[i] = (void *)(base + ((uintptr_t)*--top << shift));
		__HS_UNROLL4
		for (i = 0; i < n; i++)
			__hs_meta_take(&meta[src[i]], word);
		c->len -= n;
		__hs_count(&c->st->tag_gets[tag], n);
		return 0;
	}
	return __hs_get_bulk_slow(pool, bufs, n, tag);
}

/*
 * Release the last reference of @buf into cache @c if that is possible
 * without an atomic read-modify-write: the caller holds a reference and sees
 * a count of 1, so it is the only holder and nobody can legally race it.
 */
static inline int __hs_put_cached(struct __hs_cache *c, void *buf)
{
	uint64_t idx = __hs_page_of(c->base, c->shift, buf);
	struct __hs_meta *m;
	uint32_t w;

	if (__hs_unlikely(idx >= c->nmeta))
		return -1;
	m = &c->meta[idx];
	w = __atomic_load_n(&m->ref, __ATOMIC_ACQUIRE);
	if (__hs_unlikely(__HS_REFS(w) != 1))
		return -1;
	__hs_count(&c->st->tag_puts[__HS_TAG(w) & (HS_MAX_TAGS - 1)], 1);
	__hs_store(&m->ref, w - 1);	/* count 0, the tag stays */
	c->objs[c->len++] = (uint32_t)idx;
	return 0;
}

/**
 * hs_put - drop one reference to a buffer
 * @pool: the pool the buffer came from
 * @buf: the buffer, as returned by hs_get()
 *
 * On the last reference the buffer goes back to this thread's cache (or
 * the shared store). A put of a pointer that is not the start of a buffer of
 * @pool, of a buffer of another pool, or of a free buffer is refused and
 * counted without touching the pool. A double put is always caught when the
 * two puts do not race. When two threads race to drop the same last
 * reference, both cached puts may succeed (they take no atomic
 * read-modify-write) and the buffer is free twice, a use-after-free until
 * the second entry reaches the shared store: there it is dropped and
 * counted in err_double_put, so the pool neither grows nor hangs.
 *
 * Return: 0, or -1 with errno set: EALREADY for a buffer already free,
 * EXDEV for a buffer of another pool, EINVAL for any other pointer or a
 * NULL pool, ECHILD in a child after fork(2).
 */
static inline int hs_put(struct hs_pool *pool, void *buf)
{
	struct __hs_cache *c;

	if (__hs_likely(pool != NULL)) {
		c = pool->__cache[__hs_tls.slot];
		if (__hs_likely(c != NULL && c->len < c->cap &&
				!__hs_load(&pool->__waiters)) &&
		    __hs_likely(__hs_put_cached(c, buf) == 0))
			return 0;
	}
	return __hs_put_slow(pool, buf);
}

/**
 * hs_put_bulk - drop one reference to each of @n buffers
 * @pool: the pool
 * @bufs: the buffers
 * @n: number of buffers
 *
 * Every valid buffer is put even when some are refused.
 *
 * Return: 0, or -1 with errno set as for hs_put() for the first refused
 * buffer.
 */
static inline int hs_put_bulk(struct hs_pool *pool, void *const *bufs,
			      unsigned int n)
{
	struct __hs_cache *c;
	unsigned int i = 0;

	if (__hs_likely(pool != NULL && bufs != NULL && n != 0)) {
		c = pool->__cache[__hs_tls.slot];
		if (__hs_likely(c != NULL && c->len + n <= c->cap &&
				!__hs_load(&pool->__waiters))) {
			/*
			 * As __hs_put_cached() per buffer, for the usual
			 * batch of one owner's buffers: an entry holding
			 * exactly one reference and the first buffer's tag
			 * is compared whole with one word, every store
			 * writes that word less one, and the per-tag
			 * counter is added once. The first other entry
			 * ends the loop and __hs_put_bulk_slow() goes on
			 * from there precisely, per tag; out of line, it
			 * leaves this loop the registers. The store precedes
			 * the next load, so a buffer twice in @bufs is
			 * refused the second time.
			 */
			struct __hs_meta *meta = c->meta;
			uint32_t *objs = c->objs + c->len;
			uint32_t nmeta = c->nmeta, want = 0;
			unsigned int shift = c->shift;
			uintptr_t base = c->base;
			uint64_t idx = __hs_page_of(base, shift, bufs[0]);

			if (__hs_likely(idx < nmeta))
				want = (__hs_load(&meta[idx].ref) &
					~__HS_REF_MASK) | 1U;
			for (; i < n; i++) {
				idx = __hs_page_of(base, shift, bufs[i]);
				if (__hs_unlikely(idx >= nmeta) ||
				    __hs_unlikely(__atomic_load_n(&meta[idx].ref,
								  __ATOMIC_ACQUIRE) != want))
					break;
				__hs_store(&meta[idx].ref, want - 1);
				objs[i] = (uint32_t)idx;
			}
			if (__hs_likely(i != 0)) {
				__hs_count(&c->st->tag_puts[__HS_TAG(want) &
							    (HS_MAX_TAGS - 1)],
					   i);
				c->len += i;
			}
			if (__hs_likely(i == n))
				return 0;
		}
	}
	return __hs_put_bulk_slow(pool, bufs, n, i);
}

/**
 * hs_ref - take one more reference to a buffer
 * @pool: the pool the buffer came from
 * @buf: a buffer the caller holds a reference to
 *
 * Each reference is dropped with hs_put(); the buffer returns to the pool on
 * the last one. An atomic increment.
 *
 * Return: 0, or -1 with errno set as for hs_put(), or EOVERFLOW at
 * %__HS_REF_MAX references.
 */
static inline int hs_ref(struct hs_pool *pool, void *buf)
{
	if (__hs_likely(pool != NULL)) {
		uintptr_t off = (uintptr_t)buf - pool->__base;

		if (__hs_likely(off < pool->__size &&
				!(off & ((1UL << pool->__shift) - 1)))) {
			struct __hs_meta *m =
				&pool->__meta[off >> pool->__shift];
			uint32_t r = __HS_REFS(__hs_load(&m->ref));

			if (__hs_likely(r - 1 < __HS_REF_MAX - 1)) {
				__atomic_fetch_add(&m->ref, 1, __ATOMIC_RELAXED);
				return 0;
			}
		}
	}
	return __hs_ref_slow(pool, buf);
}

/**
 * hs_view_init - make @v cover @len bytes at @off in @buf
 * @pool: the pool of @buf
 * @v: view to fill
 * @buf: a buffer of @pool
 * @off: offset from @buf, from -hs_pool_headroom() to hs_pool_buf_size()
 * @len: length; @off + @len must not exceed hs_pool_buf_size()
 *
 * Takes no reference: the caller hands its own reference to the view.
 *
 * Return: 0, or -1 with errno EINVAL for a range outside the buffer.
 */
int hs_view_init(struct hs_pool *pool, struct hs_view *v, void *buf,
		 int32_t off, uint32_t len);

/**
 * hs_view_clone - make @dst a new view of part of @src, with its own reference
 * @pool: the pool of the buffer
 * @dst: view to fill
 * @src: view the caller holds
 * @off: offset of @dst from the start of @src
 * @len: length of @dst, within @src
 *
 * For handing the same bytes to another path (disk write, replication)
 * without copying. Takes a reference with hs_ref().
 *
 * Return: 0, or -1 with errno set: EINVAL for a range outside @src, or as
 * for hs_ref().
 */
int hs_view_clone(struct hs_pool *pool, struct hs_view *dst,
		  const struct hs_view *src, uint32_t off, uint32_t len);

/**
 * hs_view_data - first byte of a view
 * @v: the view
 */
static inline void *hs_view_data(const struct hs_view *v)
{
	return (char *)v->buf + v->off;
}

/**
 * hs_view_len - length of a view
 * @v: the view
 */
static inline uint32_t hs_view_len(const struct hs_view *v)
{
	return v->len;
}

/**
 * hs_view_adj - drop @n bytes from the front of a view (a parsed header)
 * @v: the view
 * @n: bytes to drop, at most hs_view_len()
 *
 * Return: 0, or -1 with errno EINVAL when @n exceeds the length.
 */
int hs_view_adj(struct hs_view *v, uint32_t n);

/**
 * hs_view_prepend - grow a view by @n bytes at the front, into the headroom
 * @pool: the pool of the buffer
 * @v: the view
 * @n: bytes to add; the view may start at most hs_pool_headroom() bytes
 *	before its buffer
 *
 * Return: pointer to the new first byte, or NULL with errno EINVAL when
 * the headroom is too small.
 */
void *hs_view_prepend(struct hs_pool *pool, struct hs_view *v, uint32_t n);

/**
 * hs_view_release - drop the reference held by a view
 * @pool: the pool of the buffer
 * @v: the view; cleared on success
 *
 * Return: as for hs_put().
 */
int hs_view_release(struct hs_pool *pool, struct hs_view *v);

#ifdef __cplusplus
}
#endif

#endif /* HUGESLAB_H */
