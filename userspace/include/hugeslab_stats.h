/* SPDX-License-Identifier: MIT */
/*
 * hugeslab_stats.h: layout of the shared statistics region of a libhugeslab
 * pool, for readers in other processes (hugeslabctl top).
 *
 * This header is self-contained: a reader needs no library, only open(2),
 * mmap(2) and the structures below. The layout is versioned; a reader must
 * check @magic and @version and use @hdr_size and @thread_size as strides,
 * so that fields appended in later minor revisions do not break it.
 */
#ifndef HUGESLAB_STATS_H
#define HUGESLAB_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * DOC: stats region
 *
 * Every pool publishes one file, by default ``/dev/shm/hugeslab.<pid>.<name>``
 * (mode 0600 or the pool's stats_mode without group and other write bits,
 * which the library clears because the region holds the metadata the pool
 * trusts; owned by the creating user, unlinked by hs_pool_destroy()); the
 * environment variable HUGESLAB_STATS_DIR (honoured unless setuid) replaces
 * /dev/shm. When that directory is not available the region is an anonymous memfd and the path
 * is ``/proc/<pid>/fd/<fd>``, which a process allowed to ptrace the owner can
 * open. hs_pool_stats_path() returns the path in use.
 *
 * Layout::
 *
 *	offset 0                struct hs_stats_hdr   (hdr_size bytes)
 *	offset hdr_size         struct hs_stats_thread [nr_threads]
 *	                        (thread_size bytes each)
 *
 * All counters are unsigned 64-bit, written with relaxed atomic stores by the
 * owning process and never reset. Each thread slot is written only by the
 * thread that currently owns it, so a reader sums the slots; the sums are
 * not a consistent snapshot, but every counter is monotonic. Slot 0 collects
 * the threads that found no free slot (atomic adds).
 *
 * Outstanding buffers of tag t = sum(tag_gets[t]) - sum(tag_puts[t]).
 * Cache hits = sum(tag_gets[*]) - sum(cache_misses).
 * The age histogram in the header is not live: the owner refreshes it each
 * time it calls hs_pool_stats(); @age_hist_time_ns says when.
 *
 * Live ages and per-tag counts need no cooperation from the owner: the
 * pool's buffer metadata itself lives in the region, at @meta_offset
 * (page aligned, after the thread slots), @meta_count entries of
 * @meta_size bytes, one per 2^@meta_shift bytes of the pool, laid out as struct
 * hs_stats_meta. The owner's gets and puts write it in place, so a reader
 * mapping the file read-only sees every buffer's reference count, owner tag
 * and the time of its get (@meta_clock, normally CLOCK_MONOTONIC,
 * which every process of the machine shares, in ms modulo 2^32).
 * hs_stats_meta_scan() below turns it into counts. A region without
 * metadata (an older library) has @meta_offset 0. Version 1 had 16-byte
 * entries with the stamp in ns; version 2 packs an entry into 8 bytes.
 */

#define HS_STATS_MAGIC		0x54534853U	/* "HSST" little endian */
#define HS_STATS_VERSION	2U
#define HS_STATS_NAME_MAX	32
#define HS_STATS_TAGS		32
#define HS_STATS_TAG_NAME_MAX	24
#define HS_STATS_THREADS	128
#define HS_STATS_AGE_BUCKETS	8

/**
 * struct hs_stats_hdr - header of the shared statistics region
 * @magic: %HS_STATS_MAGIC, written last at creation
 * @version: %HS_STATS_VERSION
 * @hdr_size: offset of the first thread slot
 * @thread_size: size of one struct hs_stats_thread
 * @nr_threads: number of thread slots
 * @nr_tags: number of owner tags (%HS_STATS_TAGS)
 * @nr_age_buckets: number of histogram buckets (%HS_STATS_AGE_BUCKETS)
 * @state: 1 while the pool is live, 2 once destroyed
 * @pid: process that owns the pool
 * @name: pool name, NUL terminated
 * @backend: enum hs_backend value
 * @page_size: page size backing the buffers
 * @total_bytes: bytes mapped for buffers
 * @buf_size: usable bytes per buffer
 * @headroom: bytes usable before each buffer
 * @stride: distance between two buffers of a slab
 * @nr_bufs: number of buffers in the pool
 * @cache_size: per-thread cache size (0: no cache)
 * @flags: pool creation flags
 * @created_ns: CLOCK_REALTIME of creation, in ns
 * @empty_events: gets that found the pool empty
 * @waits: calls of hs_get_wait() that had to sleep
 * @wait_timeouts: waits that ended without a buffer
 * @err_double_put: puts of a buffer that was already free, and free entries
 *	dropped because the buffer was free twice (racing puts)
 * @err_foreign: puts or refs of a pointer that is not a buffer of any pool
 * @err_wrong_pool: puts or refs of a buffer of another pool
 * @err_poison: buffers found with a damaged poison pattern (debug pools)
 * @age_hist_time_ns: CLOCK_REALTIME of the last histogram refresh, 0: never
 * @age_hist: outstanding buffers by age: <1 ms, <10 ms, <100 ms, <1 s,
 *	<10 s, <100 s, <1000 s, older
 * @tag_names: names given with hs_tag_name(), NUL terminated, may be empty
 * @meta_offset: offset of the buffer metadata in the region, 0: none
 * @meta_count: entries of metadata, one per 2^@meta_shift bytes of the pool
 * @meta_size: bytes per entry, at least sizeof(struct hs_stats_meta)
 * @meta_clock: clockid_t of struct hs_stats_meta's @stamp
 * @meta_shift: log2 of the pool bytes per entry (12 for 4 KiB; up to 21
 *	for 2 MiB buffers), version 2
 * @pad: 0
 */
struct hs_stats_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t thread_size;
	uint32_t nr_threads;
	uint32_t nr_tags;
	uint32_t nr_age_buckets;
	uint32_t state;
	uint64_t pid;
	char name[HS_STATS_NAME_MAX];
	uint64_t backend;
	uint64_t page_size;
	uint64_t total_bytes;
	uint64_t buf_size;
	uint64_t headroom;
	uint64_t stride;
	uint64_t nr_bufs;
	uint64_t cache_size;
	uint64_t flags;
	uint64_t created_ns;
	uint64_t empty_events;
	uint64_t waits;
	uint64_t wait_timeouts;
	uint64_t err_double_put;
	uint64_t err_foreign;
	uint64_t err_wrong_pool;
	uint64_t err_poison;
	uint64_t age_hist_time_ns;
	uint64_t age_hist[HS_STATS_AGE_BUCKETS];
	char tag_names[HS_STATS_TAGS][HS_STATS_TAG_NAME_MAX];
	uint64_t meta_offset;
	uint64_t meta_count;
	uint32_t meta_size;
	uint32_t meta_clock;
	uint32_t meta_shift;
	uint32_t pad;
};

#define HS_STATS_REF_BITS	24		/* count bits of @ref */
#define HS_STATS_REF_NONE	0xffffffU	/* page starts no buffer */
#define HS_STATS_REF_QUARANTINE	0xfffffeU	/* withdrawn, not in use */

/**
 * struct hs_stats_meta - one entry of the buffer metadata
 * @ref: the reference count in the low %HS_STATS_REF_BITS bits (0 free,
 *	%HS_STATS_REF_NONE for a page that starts no buffer,
 *	%HS_STATS_REF_QUARANTINE for a withdrawn buffer) and the owner tag of
 *	the last get in the bits above
 * @stamp: time of the last get in ms on clock @meta_clock of the header,
 *	modulo 2^32 (see hs_stats_meta_age())
 */
struct hs_stats_meta {
	uint32_t ref;
	uint32_t stamp;
};

/**
 * hs_stats_meta_age - age in ns of a stamp of struct hs_stats_meta
 * @stamp: the entry's @stamp
 * @now_ns: current time on clock @meta_clock, in ns
 *
 * Exact for ages below 2^32 ms (49 days).
 */
static inline uint64_t hs_stats_meta_age(uint32_t stamp, uint64_t now_ns)
{
	return (uint64_t)(uint32_t)((uint32_t)(now_ns / 1000000U) - stamp) *
	       1000000U;
}

/**
 * struct hs_stats_thread - counters of one thread slot
 * @tag_gets: buffers handed out, by owner tag of the get
 * @tag_puts: buffers returned to the pool, by owner tag of the buffer
 * @cache_misses: gets not served from the thread's cache
 * @cache_refills: transfers from the shared store into the cache
 * @cache_flushes: transfers from the cache into the shared store
 * @pad: keeps slots on separate cache lines
 */
struct hs_stats_thread {
	uint64_t tag_gets[HS_STATS_TAGS];
	uint64_t tag_puts[HS_STATS_TAGS];
	uint64_t cache_misses;
	uint64_t cache_refills;
	uint64_t cache_flushes;
	uint64_t pad[5];
} __attribute__((aligned(64)));

/**
 * hs_stats_thread_slot - locate thread slot @i of a mapped region
 * @hdr: start of the mapped region
 * @i: slot index, below @hdr->nr_threads
 */
static inline struct hs_stats_thread *
hs_stats_thread_slot(const struct hs_stats_hdr *hdr, unsigned int i)
{
	return (struct hs_stats_thread *)((char *)hdr + hdr->hdr_size +
					  (uint64_t)i * hdr->thread_size);
}

/**
 * hs_stats_region_size - bytes to map for a region with header @hdr
 * @hdr: header already read from the file
 */
static inline uint64_t hs_stats_region_size(const struct hs_stats_hdr *hdr)
{
	return hdr->hdr_size + (uint64_t)hdr->nr_threads * hdr->thread_size;
}

/**
 * hs_stats_has_meta - whether the region of @hdr carries buffer metadata
 * @hdr: header already read from the file
 */
static inline int hs_stats_has_meta(const struct hs_stats_hdr *hdr)
{
	return hdr->hdr_size >= sizeof(*hdr) && hdr->meta_offset &&
	       hdr->meta_size >= sizeof(struct hs_stats_meta) &&
	       hdr->meta_offset >= hs_stats_region_size(hdr);
}

/**
 * hs_stats_file_size - bytes to map for the region and its metadata
 * @hdr: header already read from the file
 */
static inline uint64_t hs_stats_file_size(const struct hs_stats_hdr *hdr)
{
	if (!hs_stats_has_meta(hdr))
		return hs_stats_region_size(hdr);
	return hdr->meta_offset + hdr->meta_count * hdr->meta_size;
}

/**
 * hs_stats_age_bucket - histogram bucket of an age, as in @age_hist
 * @age_ns: age in ns
 */
static inline unsigned int hs_stats_age_bucket(uint64_t age_ns)
{
	uint64_t limit = 1000000ULL;	/* 1 ms */
	unsigned int b;

	for (b = 0; b < HS_STATS_AGE_BUCKETS - 1; b++, limit *= 10)
		if (age_ns < limit)
			return b;
	return HS_STATS_AGE_BUCKETS - 1;
}

/**
 * hs_stats_meta_scan - count buffers in use from the metadata of a region
 * @hdr: the region, mapped for hs_stats_file_size(@hdr) bytes
 * @now_ns: current time on clock @hdr->meta_clock
 * @tag_out: HS_STATS_TAGS counters, filled with buffers in use per tag
 * @age_hist: HS_STATS_AGE_BUCKETS counters, filled as @hdr->age_hist
 *
 * Live and racy against the owner's gets and puts, but never unsafe: each
 * entry is read once with relaxed atomic loads. O(@hdr->meta_count).
 *
 * Return: buffers in use, or 0 when the region has no metadata.
 */
static inline uint64_t hs_stats_meta_scan(const struct hs_stats_hdr *hdr,
					  uint64_t now_ns, uint64_t *tag_out,
					  uint64_t *age_hist)
{
	const char *base = (const char *)hdr;
	uint64_t i, n = 0;
	unsigned int t;

	for (t = 0; t < HS_STATS_TAGS; t++)
		tag_out[t] = 0;
	for (t = 0; t < HS_STATS_AGE_BUCKETS; t++)
		age_hist[t] = 0;
	if (!hs_stats_has_meta(hdr))
		return 0;
	for (i = 0; i < hdr->meta_count; i++) {
		const struct hs_stats_meta *m = (const struct hs_stats_meta *)
			(base + hdr->meta_offset + i * hdr->meta_size);
		uint32_t w = __atomic_load_n(&m->ref, __ATOMIC_RELAXED);
		uint32_t ref = w & ((1U << HS_STATS_REF_BITS) - 1);

		if (!ref || ref >= HS_STATS_REF_QUARANTINE)
			continue;
		tag_out[(w >> HS_STATS_REF_BITS) % HS_STATS_TAGS]++;
		age_hist[hs_stats_age_bucket(hs_stats_meta_age(
			__atomic_load_n(&m->stamp, __ATOMIC_RELAXED), now_ns))]++;
		n++;
	}
	return n;
}

#ifdef __cplusplus
}
#endif

#endif /* HUGESLAB_STATS_H */
