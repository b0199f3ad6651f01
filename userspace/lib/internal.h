/* SPDX-License-Identifier: MIT */
/*
 * internal.h: private state of libhugeslab, shared by the files of lib/.
 */
#ifndef HS_INTERNAL_H
#define HS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "hugeslab.h"

#define HS_EXPORT	__attribute__((visibility("default")))
#define HS_CACHELINE	64

/*
 * The shared store (store.c): a stack of free page indices behind a mutex,
 * moved in batches. Its capacity is the number of buffers, so a push of
 * free buffers never fails.
 */
struct hs_stack {
	pthread_mutex_t lock __attribute__((aligned(HS_CACHELINE)));
	uint32_t count;		/* written under lock, peeked without */
	uint32_t cap;
	uint32_t *slots;
	uint32_t limit;		/* indices are below this */
	uint64_t *seen;		/* limit bits, zero outside hs_stack_dedup() */
};

int hs_stack_init(struct hs_stack *s, uint32_t cap, uint32_t limit);
void hs_stack_fini(struct hs_stack *s);
void hs_stack_atfork_child(struct hs_stack *s);
unsigned int hs_stack_push(struct hs_stack *s, const uint32_t *objs,
			   unsigned int n);
unsigned int hs_stack_push_dedup(struct hs_stack *s, const uint32_t *objs,
				 unsigned int n);
unsigned int hs_stack_pop(struct hs_stack *s, uint32_t *objs, unsigned int n);
uint32_t hs_stack_count(struct hs_stack *s);

/* The FIFO quarantine of debug pools (quarantine.c), behind its own lock. */
struct hs_quarantine {
	pthread_mutex_t lock;
	uint32_t *ring;		/* NULL: no quarantine */
	uint32_t cap;
	uint32_t head;		/* oldest entry */
	uint32_t len;		/* written under lock, peeked without */
};

int hs_quar_init(struct hs_quarantine *q, uint32_t cap);
void hs_quar_fini(struct hs_quarantine *q);
void hs_quar_atfork_child(struct hs_quarantine *q);
bool hs_quar_push(struct hs_quarantine *q, uint32_t idx, uint32_t *evicted);
unsigned int hs_quar_pop(struct hs_quarantine *q, uint32_t *objs,
			 unsigned int n);
uint32_t hs_quar_count(struct hs_quarantine *q);
int hs_quar_walk(struct hs_quarantine *q, int (*fn)(void *, uint32_t),
		 void *arg);

/* The last misuse of a buffer, for hs_pool_last_error(); under err_lock. */
struct hs_err_rec {
	unsigned int kind;
	unsigned int count;
	uint32_t idx;
	unsigned int tag;
	uint64_t age_ns;
};

/* Private part of a pool; struct hs_pool is its first member. */
struct hs_pool_priv {
	struct hs_pool pub;

	struct hs_stack store;
	struct hs_quarantine quar;

	/* geometry */
	uint64_t total_bytes;
	uint32_t nr_bufs;
	uint32_t buf_size;
	uint32_t headroom;
	uint32_t stride;
	uint32_t first_off;	/* offset of the first buffer of a slab */
	uint32_t per_slab;
	uint32_t nr_slabs;
	uint32_t cache_size;
	uint32_t flags;
	uint32_t quarantine;	/* entries of quar, 0 unless HS_POOL_DEBUG */
	uint32_t shift;		/* metadata entry per 2^shift bytes */
	uint32_t nmeta;		/* metadata entries: total_bytes >> shift */
	char name[HS_NAME_MAX];

	/* backend */
	enum hs_backend backend;
	size_t page_size;
	int dev_fd;
	void *map;
	size_t map_len;

	/* shared statistics region */
	struct hs_stats_hdr *stats;
	size_t stats_len;
	int stats_fd;
	bool stats_unlink;
	char stats_path[128];

	/* hs_get_wait() */
	pthread_mutex_t wait_lock;
	pthread_cond_t wait_cond;

	pthread_mutex_t err_lock;
	struct hs_err_rec err;

	pid_t pid;
	bool dead;		/* in a child after fork() */
	bool peer;		/* hs_pool_attach(): no store, no metadata */
	bool clock_ref;		/* holds an hs_clock_get() */
	struct hs_pool_priv *next;
};

static inline struct hs_pool_priv *hs_priv(struct hs_pool *pool)
{
	return (struct hs_pool_priv *)pool;
}

static inline void *hs_buf_of_idx(const struct hs_pool_priv *p, uint32_t idx)
{
	return (void *)(p->pub.__base + ((uintptr_t)idx << p->shift));
}

static inline uint32_t hs_idx_of_buf(const struct hs_pool_priv *p,
				     const void *buf)
{
	return (uint32_t)(((uintptr_t)buf - p->pub.__base) >> p->shift);
}

/* Global state (pool.c): every live pool, under hs_global_lock. */
extern pthread_mutex_t hs_global_lock;
extern struct hs_pool_priv *hs_pools;

/* pool.c */
uint32_t hs_pool_buf_idx(const struct hs_pool_priv *p, uint32_t i);
unsigned int hs_meta_shift(uint32_t stride, uint32_t first_off);

/* pinned.c */
void *hs_pinned_alloc(size_t size);
void hs_pinned_free(void *p, size_t size);

/* backend.c */
int hs_backend_map(struct hs_pool_priv *p, int numa_node, bool fallback);
void hs_backend_unmap(struct hs_pool_priv *p);

/* cache.c */
int hs_thread_slot(void);
struct __hs_cache *hs_cache_of(struct hs_pool_priv *p);
struct hs_stats_thread *hs_stats_slot(struct hs_pool_priv *p);
void hs_cache_flush(struct hs_pool_priv *p, struct __hs_cache *c,
		    unsigned int keep);
void hs_caches_free(struct hs_pool_priv *p);
size_t hs_cache_bytes(const struct hs_pool_priv *p);

/* buf.c */
void hs_store_put(struct hs_pool_priv *p, const uint32_t *idx,
		  unsigned int n);
void hs_poison_init(struct hs_pool_priv *p);
void hs_wake_waiters(struct hs_pool_priv *p);

/* clock.c */
uint32_t hs_clock_ms(void);
int hs_clock_get(void);
void hs_clock_put(void);
void hs_clock_atfork_child(void);

/* attach.c */
int hs_peer_destroy(struct hs_pool_priv *p);

/* stats.c */
int hs_stats_create(struct hs_pool_priv *p, unsigned int mode);
void hs_stats_destroy(struct hs_pool_priv *p);
void hs_count_atomic(uint64_t *c, uint64_t n);
void hs_error_record(struct hs_pool_priv *p, unsigned int kind,
		     const void *buf);


#endif /* HS_INTERNAL_H */
