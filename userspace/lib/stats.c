// SPDX-License-Identifier: MIT
/*
 * stats.c: the shared statistics region (layout in hugeslab_stats.h),
 * hs_pool_stats(), owner tags and ages, leak listing, consistency check and
 * dump. Everything here is control path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* The metadata is read in place through struct hs_stats_meta. */
_Static_assert(sizeof(struct __hs_meta) == sizeof(struct hs_stats_meta) &&
	       __builtin_offsetof(struct __hs_meta, stamp) ==
	       __builtin_offsetof(struct hs_stats_meta, stamp) &&
	       __HS_REF_BITS == HS_STATS_REF_BITS &&
	       __HS_REF_NONE == HS_STATS_REF_NONE &&
	       __HS_REF_QUARANTINE == HS_STATS_REF_QUARANTINE,
	       "struct __hs_meta is struct hs_stats_meta");

#define HS_STATS_DIR	"/dev/shm"
#define HS_STATS_DIR_ENV	"HUGESLAB_STATS_DIR"

void hs_count_atomic(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t hs_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int hs_stats_open(struct hs_pool_priv *p, unsigned int mode)
{
	const char *dir = secure_getenv(HS_STATS_DIR_ENV);
	unsigned int i;
	int fd;

	if (!dir || !dir[0] || strlen(dir) > 64)
		dir = HS_STATS_DIR;
	for (i = 0; i < 100; i++) {
		if (i)
			snprintf(p->stats_path, sizeof(p->stats_path),
				 "%s/hugeslab.%d.%s.%u", dir, (int)p->pid,
				 p->name, i);
		else
			snprintf(p->stats_path, sizeof(p->stats_path),
				 "%s/hugeslab.%d.%s", dir, (int)p->pid,
				 p->name);
		fd = open(p->stats_path,
			  O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  mode);
		if (fd >= 0) {
			/* Exact mode, whatever the umask. */
			if (fchmod(fd, mode)) {
				unlink(p->stats_path);
				close(fd);
				return -1;
			}
			p->stats_unlink = true;
			return fd;
		}
		if (errno != EEXIST)
			break;
	}
	/* No /dev/shm: an anonymous file, reachable through /proc. */
	fd = memfd_create("hugeslab-stats", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(p->stats_path, sizeof(p->stats_path), "/proc/%d/fd/%d",
		 (int)p->pid, fd);
	p->stats_unlink = false;
	return fd;
}

int hs_stats_create(struct hs_pool_priv *p, unsigned int mode)
{
	size_t hdr_size = (sizeof(struct hs_stats_hdr) + HS_CACHELINE - 1) &
			  ~(size_t)(HS_CACHELINE - 1);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = hdr_size + HS_STATS_THREADS * sizeof(struct hs_stats_thread);
	size_t meta_off = (len + page - 1) / page * page;
	uint64_t npages = p->nmeta;
	struct hs_stats_hdr *h;
	int fd, err;

	/*
	 * The buffer metadata goes in the region too, after the thread slots,
	 * so that hugeslabctl top and any other reader see live ages and tags
	 * without the owner's help (hugeslab_stats.h).
	 */
	len = meta_off + npages * sizeof(struct __hs_meta);

	/*
	 * Never writable by others: the region holds the buffer metadata,
	 * whose reference counts the pool trusts. Readers need only read.
	 */
	mode &= ~(unsigned int)(S_IWGRP | S_IWOTH);
	fd = hs_stats_open(p, mode);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len))
		goto fail;
	/*
	 * Locked like the other data-path structures (pinned.c): every get
	 * and put bumps a thread counter here. See there for MAP_LOCKED.
	 */
	h = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd, 0);
	if (h == MAP_FAILED)
		goto fail;
	if (mlock(h, len)) {
		err = errno;
		munmap(h, len);
		errno = err;
		goto fail;
	}
	p->stats = h;
	p->stats_len = len;
	p->stats_fd = fd;
	h->version = HS_STATS_VERSION;
	h->hdr_size = (uint32_t)hdr_size;
	h->thread_size = sizeof(struct hs_stats_thread);
	h->nr_threads = HS_STATS_THREADS;
	h->nr_tags = HS_STATS_TAGS;
	h->nr_age_buckets = HS_STATS_AGE_BUCKETS;
	h->state = 1;
	h->pid = (uint64_t)p->pid;
	memcpy(h->name, p->name, sizeof(h->name));
	h->backend = p->backend;
	h->page_size = p->page_size;
	h->total_bytes = p->total_bytes;
	h->buf_size = p->buf_size;
	h->headroom = p->headroom;
	h->stride = p->stride;
	h->nr_bufs = p->nr_bufs;
	h->cache_size = p->cache_size;
	h->flags = p->flags;
	h->created_ns = hs_real_ns();
	h->meta_offset = meta_off;
	h->meta_count = npages;
	h->meta_shift = p->shift;
	h->meta_size = sizeof(struct __hs_meta);
	h->meta_clock = CLOCK_MONOTONIC;	/* of hs_clock_ms() */
	p->pub.__meta = (struct __hs_meta *)((char *)h + meta_off);
	__atomic_store_n(&h->magic, HS_STATS_MAGIC, __ATOMIC_RELEASE);
	return 0;
fail:
	err = errno;
	if (p->stats_unlink)
		unlink(p->stats_path);
	close(fd);
	errno = err;
	return -1;
}

void hs_stats_destroy(struct hs_pool_priv *p)
{
	if (p->stats) {
		if (!p->dead)
			__atomic_store_n(&p->stats->state, 2, __ATOMIC_RELEASE);
		munmap(p->stats, p->stats_len);	/* the metadata with it */
		p->stats = NULL;
		p->pub.__meta = NULL;
	}
	/* A child after fork must not remove its parent's file. */
	if (p->stats_unlink && !p->dead)
		unlink(p->stats_path);
	p->stats_unlink = false;
	if (p->stats_fd >= 0)
		close(p->stats_fd);
	p->stats_fd = -1;
}

HS_EXPORT const char *hs_pool_stats_path(const struct hs_pool *pool)
{
	if (!pool) {
		errno = EINVAL;
		return NULL;
	}
	if (((const struct hs_pool_priv *)pool)->peer) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	return ((const struct hs_pool_priv *)pool)->stats_path;
}

HS_EXPORT int hs_tag_name(struct hs_pool *pool, unsigned int tag,
			  const char *name)
{
	struct hs_pool_priv *p = hs_priv(pool);
	char *dst;
	size_t i;

	if (!pool || !name || tag >= HS_MAX_TAGS) {
		errno = EINVAL;
		return -1;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	dst = p->stats->tag_names[tag];
	for (i = 0; i < HS_STATS_TAG_NAME_MAX - 1 && name[i]; i++)
		dst[i] = name[i];
	memset(dst + i, 0, HS_STATS_TAG_NAME_MAX - i);
	return 0;
}

static uint64_t hs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Age of a metadata stamp (ms, modulo 2^32), see hugeslab_stats.h. */
static uint64_t hs_age(uint32_t stamp, uint64_t now_ns)
{
	return hs_stats_meta_age(stamp, now_ns);
}

HS_EXPORT int hs_pool_stats(struct hs_pool *pool, struct hs_pool_stats *st)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct hs_stats_hdr *h;
	uint64_t misses = 0, now;
	unsigned int i, t;

	if (!pool || !st) {
		errno = EINVAL;
		return -1;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	h = p->stats;
	memset(st, 0, sizeof(*st));
	st->nr_bufs = p->nr_bufs;
	for (i = 0; i < HS_STATS_THREADS; i++) {
		struct hs_stats_thread *ts = hs_stats_thread_slot(h, i);

		for (t = 0; t < HS_STATS_TAGS; t++) {
			st->gets += __hs_load(&ts->tag_gets[t]);
			st->puts += __hs_load(&ts->tag_puts[t]);
		}
		misses += __hs_load(&ts->cache_misses);
		st->cache_refills += __hs_load(&ts->cache_refills);
		st->cache_flushes += __hs_load(&ts->cache_flushes);
	}
	st->cache_hits = st->gets > misses ? st->gets - misses : 0;
	st->empty_events = __hs_load(&h->empty_events);
	st->waits = __hs_load(&h->waits);
	st->wait_timeouts = __hs_load(&h->wait_timeouts);
	st->err_double_put = __hs_load(&h->err_double_put);
	st->err_foreign = __hs_load(&h->err_foreign);
	st->err_wrong_pool = __hs_load(&h->err_wrong_pool);
	st->err_poison = __hs_load(&h->err_poison);

	now = hs_now_ns();
	for (i = 0; i < p->nr_bufs; i++) {
		struct __hs_meta *m = &pool->__meta[hs_pool_buf_idx(p, i)];
		uint32_t w = __hs_load(&m->ref), r = __HS_REFS(w);

		if (r == __HS_REF_QUARANTINE) {
			st->quarantined++;
			continue;
		}
		if (!r)
			continue;
		st->outstanding++;
		st->tag_outstanding[__HS_TAG(w) & (HS_MAX_TAGS - 1)]++;
		st->age_hist[hs_stats_age_bucket(hs_age(__hs_load(&m->stamp), now))]++;
	}
	for (i = 0; i < HS_STATS_AGE_BUCKETS; i++)
		__hs_store(&h->age_hist[i], st->age_hist[i]);
	__hs_store(&h->age_hist_time_ns, hs_real_ns());
	return 0;
}

HS_EXPORT int hs_pool_leaks(struct hs_pool *pool, uint64_t older_than_ns,
			    hs_leak_cb cb, void *arg)
{
	struct hs_pool_priv *p = hs_priv(pool);
	struct hs_leak leak;
	uint64_t now;
	uint32_t i;
	int n = 0;

	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	now = hs_now_ns();
	for (i = 0; i < p->nr_bufs; i++) {
		uint32_t idx = hs_pool_buf_idx(p, i);
		struct __hs_meta *m = &pool->__meta[idx];
		uint32_t w = __hs_load(&m->ref), r = __HS_REFS(w);

		if (!r || r == __HS_REF_QUARANTINE)
			continue;
		leak.age_ns = hs_age(__hs_load(&m->stamp), now);
		if (leak.age_ns < older_than_ns)
			continue;
		leak.buf = hs_buf_of_idx(p, idx);
		leak.tag = __HS_TAG(w) & (HS_MAX_TAGS - 1);
		leak.tag_name = p->stats->tag_names[leak.tag];
		leak.refs = r;
		n++;
		if (cb && cb(&leak, arg))
			break;
	}
	return n;
}

/*
 * Remember the misuse of @buf for hs_pool_last_error(): whose it was (the
 * tag of its last get) and for how long the stale pointer lived. Error
 * path only, so a lock is fine.
 */
void hs_error_record(struct hs_pool_priv *p, unsigned int kind,
		     const void *buf)
{
	struct __hs_meta *m = __hs_meta_of(&p->pub, buf);

	pthread_mutex_lock(&p->err_lock);
	p->err.kind = kind;
	p->err.count++;
	p->err.idx = hs_idx_of_buf(p, buf);
	p->err.tag = __HS_TAG(__hs_load(&m->ref)) & (HS_MAX_TAGS - 1);
	p->err.age_ns = hs_age(__hs_load(&m->stamp), hs_now_ns());
	pthread_mutex_unlock(&p->err_lock);
}

HS_EXPORT int hs_pool_last_error(struct hs_pool *pool,
				 struct hs_pool_error *err)
{
	struct hs_pool_priv *p = hs_priv(pool);

	if (!pool || !err) {
		errno = EINVAL;
		return -1;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	memset(err, 0, sizeof(*err));
	pthread_mutex_lock(&p->err_lock);
	err->kind = p->err.kind;
	err->count = p->err.count;
	if (err->kind != HS_ERROR_NONE) {
		err->buf = hs_buf_of_idx(p, p->err.idx);
		err->tag = p->err.tag;
		err->tag_name = p->stats->tag_names[err->tag];
		err->age_ns = p->err.age_ns;
	}
	pthread_mutex_unlock(&p->err_lock);
	return 0;
}

static int hs_check_free(struct hs_pool_priv *p, uint8_t *seen, uint32_t idx)
{
	if (idx >= p->nmeta || seen[idx] ||
	    __HS_REFS(__hs_load(&p->pub.__meta[idx].ref)) != 0)
		return -1;
	seen[idx] = 1;
	return 0;
}

struct hs_check_arg {
	struct hs_pool_priv *p;
	uint8_t *seen;
};

static int hs_check_parked(void *arg, uint32_t idx)
{
	struct hs_check_arg *a = arg;

	return hs_check_free(a->p, a->seen, idx);
}

HS_EXPORT int hs_pool_check(struct hs_pool *pool)
{
	struct hs_check_arg qa;
	struct hs_pool_priv *p = hs_priv(pool);
	uint32_t head, tail, i, r;
	uint8_t *seen;
	int out = 0;

	if (!pool) {
		errno = EINVAL;
		return -1;
	}
	if (p->peer) {
		errno = EOPNOTSUPP;
		return -1;
	}
	seen = calloc(p->nmeta, 1);
	if (!seen)
		return -1;
	pthread_mutex_lock(&p->store.lock);
	tail = p->store.count;
	for (head = 0; head < tail; head++)
		if (hs_check_free(p, seen, p->store.slots[head])) {
			pthread_mutex_unlock(&p->store.lock);
			goto bad;
		}
	pthread_mutex_unlock(&p->store.lock);
	qa.p = p;
	qa.seen = seen;
	if (hs_quar_walk(&p->quar, hs_check_parked, &qa))
		goto bad;
	for (i = 0; i < HS_MAX_THREADS; i++) {
		struct __hs_cache *c = pool->__cache[i];
		uint32_t k;

		for (k = 0; c && k < c->len; k++)
			if (hs_check_free(p, seen, c->objs[k]))
				goto bad;
	}
	for (i = 0; i < p->nr_bufs; i++) {
		uint32_t idx = hs_pool_buf_idx(p, i);

		r = __HS_REFS(__hs_load(&pool->__meta[idx].ref));
		if (seen[idx] || r == __HS_REF_QUARANTINE)
			continue;
		if (r == 0 || r == __HS_REF_NONE)
			goto bad;	/* free but in no free list: lost */
		out++;
	}
	free(seen);
	return out;
bad:
	free(seen);
	errno = EUCLEAN;
	return -1;
}

HS_EXPORT int hs_pool_dump(struct hs_pool *pool, FILE *f)
{
	struct hs_pool_priv *p = hs_priv(pool);
	static const char *const kinds[] = { "none", "double put", "poison" };
	struct hs_pool_error err;
	struct hs_pool_stats st;
	unsigned int t;

	if (!pool || !f) {
		errno = EINVAL;
		return -1;
	}
	if (hs_pool_stats(pool, &st) || hs_pool_last_error(pool, &err))
		return -1;
	fprintf(f, "pool %s: backend %s, page %zu, %u x %u B (+%u headroom, stride %u), %u slabs, cache %u\n",
		p->name, hs_backend_name(p->backend), p->page_size, p->nr_bufs,
		p->buf_size, p->headroom, p->stride, p->nr_slabs,
		p->cache_size);
	fprintf(f, "  outstanding %llu, gets %llu, puts %llu, cache hits %llu, empty %llu, waits %llu\n",
		(unsigned long long)st.outstanding,
		(unsigned long long)st.gets, (unsigned long long)st.puts,
		(unsigned long long)st.cache_hits,
		(unsigned long long)st.empty_events,
		(unsigned long long)st.waits);
	fprintf(f, "  errors: double put %llu, foreign %llu, wrong pool %llu, poison %llu\n",
		(unsigned long long)st.err_double_put,
		(unsigned long long)st.err_foreign,
		(unsigned long long)st.err_wrong_pool,
		(unsigned long long)st.err_poison);
	if (err.kind != HS_ERROR_NONE)
		fprintf(f, "  last error: %s of buffer %ld (%p), tag %u (%s), %s %llu us before\n",
			kinds[err.kind], hs_buf_index(pool, err.buf), err.buf,
			err.tag, err.tag_name,
			p->flags & HS_POOL_DEBUG ? "put" : "got",
			(unsigned long long)(err.age_ns / 1000));
	if (p->quarantine)
		fprintf(f, "  quarantine: %u of %u parked\n",
			hs_quar_count(&p->quar), p->quarantine);
	for (t = 0; t < HS_MAX_TAGS; t++)
		if (st.tag_outstanding[t])
			fprintf(f, "  tag %u (%s): %llu out\n", t,
				p->stats->tag_names[t],
				(unsigned long long)st.tag_outstanding[t]);
	return ferror(f) ? -1 : 0;
}
