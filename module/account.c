// SPDX-License-Identifier: GPL-2.0
/*
 * Charging pools against the module-wide cap and RLIMIT_MEMLOCK.
 *
 * The locked-memory charge is per user, not per mm: a pool outlives its
 * creator's mm whenever its fd or a mapping is passed on, and the charge
 * must stay until the pages are really released, whichever process that
 * is.  It is kept in a counter of hugeslab's own, checked against the
 * creator's RLIMIT_MEMLOCK, and not in user->locked_vm or mm->pinned_vm:
 * io_uring checks user->locked_vm and RDMA (ib_umem_get) mm->pinned_vm
 * against the same limit when they pin the pool's pages, so charging either
 * here made a pool that fits the limit unregistrable.  Each of mlock
 * (mm->locked_vm), SHM_LOCK (the user's memlock ucount), io_uring and RDMA
 * already bounds its own pins with RLIMIT_MEMLOCK separately; pools are one
 * more such bound.  See Documentation/hugeslab/admin-guide.rst.
 *
 * The cap has one setter, used by the module parameter and by netlink, so
 * both announce a change the same way.  The registry of pools lives here
 * too: ids, names and the list the control plane walks.
 */

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "compat.h"
#include "internal.h"

static unsigned int max_pinned_mb;
static DEFINE_MUTEX(cap_lock);

static int max_pinned_mb_set(const char *val, const struct kernel_param *kp)
{
	unsigned int mb;
	int ret;

	ret = kstrtouint(val, 0, &mb);
	if (ret)
		return ret;
	return hugeslab_set_cap_mb(mb);
}

static const struct kernel_param_ops max_pinned_mb_ops = {
	.set	= max_pinned_mb_set,
	.get	= param_get_uint,
};

module_param_cb(max_pinned_mb, &max_pinned_mb_ops, &max_pinned_mb, 0644);
__MODULE_PARM_TYPE(max_pinned_mb, "uint");
MODULE_PARM_DESC(max_pinned_mb,
		 "Cap on the memory pinned by all pools together, in MiB (0 at load: half of RAM)");

static atomic64_t pinned_bytes = ATOMIC64_INIT(0);
static atomic64_t nr_created = ATOMIC64_INIT(0);
static atomic64_t alloc_failures = ATOMIC64_INIT(0);
static atomic64_t limit_failures = ATOMIC64_INIT(0);

/**
 * struct hugeslab_memlock - the pages one user's pools hold
 * @node: entry in memlock_users, hashed by @uid
 * @uid: the user
 * @pages: pages of that user's live pools; the entry goes at zero
 */
struct hugeslab_memlock {
	struct hlist_node node;
	kuid_t uid;
	unsigned long pages;
};

/* Uncharging runs in the final fput of a pool's file: no sleeping lock. */
static DEFINE_SPINLOCK(memlock_lock);
static DEFINE_HASHTABLE(memlock_users, 6);

static DEFINE_MUTEX(pools_lock);
static LIST_HEAD(pools);
static u64 nr_pools;
static u64 last_pool_id;

static u64 cap_bytes(void)
{
	return (u64)READ_ONCE(max_pinned_mb) << 20;
}

/**
 * hugeslab_set_cap_mb() - set the module-wide cap, and announce the change
 * @mb: new cap in MiB; pools already created keep their memory
 *
 * Both the max_pinned_mb parameter and the netlink SET_CAP command end
 * here.  Before the module is initialized (parameters given at load), the
 * value is only stored.
 *
 * Return: 0.
 */
int hugeslab_set_cap_mb(unsigned int mb)
{
	unsigned int old;

	mutex_lock(&cap_lock);
	old = max_pinned_mb;
	WRITE_ONCE(max_pinned_mb, mb);
	mutex_unlock(&cap_lock);
	if (old != mb)
		hugeslab_nl_cap_changed((u64)old << 20, (u64)mb << 20);
	return 0;
}

static int charge_cap(u64 bytes)
{
	s64 old = atomic64_read(&pinned_bytes);

	do {
		if ((u64)old + bytes > cap_bytes())
			return -ENOMEM;
	} while (!atomic64_try_cmpxchg(&pinned_bytes, &old, old + bytes));
	return 0;
}

static struct hugeslab_memlock *memlock_find(kuid_t uid)
{
	struct hugeslab_memlock *ml;

	lockdep_assert_held(&memlock_lock);
	hash_for_each_possible(memlock_users, ml, node, __kuid_val(uid))
		if (uid_eq(ml->uid, uid))
			return ml;
	return NULL;
}

/*
 * Add @pages to @uid's count, for @pool, refused over the caller's
 * RLIMIT_MEMLOCK when @check.  @spare becomes the user's entry if it has
 * none yet, and is freed otherwise.
 */
static int charge_memlock(struct hugeslab_pool *pool, unsigned long pages,
			  struct hugeslab_memlock *spare, kuid_t uid,
			  bool check)
{
	unsigned long limit = check ? rlimit(RLIMIT_MEMLOCK) : RLIM_INFINITY;
	struct hugeslab_memlock *ml;
	int ret = 0;

	/* mlock(2) says EPERM when the limit forbids locking at all. */
	if (!limit) {
		kfree(spare);
		return -EPERM;
	}
	limit = limit == RLIM_INFINITY ? ULONG_MAX : limit >> PAGE_SHIFT;

	spin_lock(&memlock_lock);
	ml = memlock_find(uid);
	if (!ml) {
		ml = spare;
		spare = NULL;
		ml->uid = uid;
		hash_add(memlock_users, &ml->node, __kuid_val(uid));
	}
	if (pages > limit || ml->pages > limit - pages) {
		ret = -ENOMEM;
		if (!ml->pages) {
			hash_del(&ml->node);
			spare = ml;
		}
	} else {
		ml->pages += pages;
		pool->memlock = ml;
	}
	spin_unlock(&memlock_lock);
	kfree(spare);
	return ret;
}

static void uncharge_memlock(struct hugeslab_memlock *ml, unsigned long pages)
{
	spin_lock(&memlock_lock);
	ml->pages -= pages;
	if (ml->pages)
		ml = NULL;
	else
		hash_del(&ml->node);
	spin_unlock(&memlock_lock);
	kfree(ml);
}

/**
 * hugeslab_charge() - take a new pool's size from every limit
 * @pool: pool with @size set; on success its charge fields are filled
 *
 * A persistent pool is made by an administrator for its owner, who may not
 * even run yet: it is added to the owner's count, so it counts against
 * the owner's later pools, without any RLIMIT_MEMLOCK check (the
 * caller's limit is not the owner's, and the owner's is not known here).
 * See "Persistent pools" in Documentation/hugeslab/design.rst.
 *
 * Return: 0, -ENOMEM over the cap or RLIMIT_MEMLOCK (counted and
 * announced as a limit failure) or without memory for the user's memlock
 * entry (not counted), -EPERM when the memlock limit is zero and the
 * caller lacks CAP_IPC_LOCK.
 */
int hugeslab_charge(struct hugeslab_pool *pool)
{
	bool persistent = pool->flags & HUGESLAB_CREATE_PERSISTENT;
	unsigned long pages = pool->size >> PAGE_SHIFT;
	struct hugeslab_memlock *spare = NULL;
	u32 reason;
	int ret;

	/*
	 * The user's entry in the memlock count may be needed; allocated
	 * first, so that running out of memory here is no limit failure.
	 */
	if (persistent || !capable(CAP_IPC_LOCK)) {
		spare = hugeslab_fail_nth() ? NULL :
			kzalloc(sizeof(*spare), GFP_KERNEL_ACCOUNT);
		if (!spare)
			return -ENOMEM;
	}

	ret = charge_cap(pool->size);
	if (ret) {
		kfree(spare);
		reason = HUGESLAB_FAIL_CAP;
		goto fail;
	}
	pool->cap_charged = pool->size;

	if (spare) {
		ret = charge_memlock(pool, pages, spare,
				     persistent ? pool->owner_uid : current_uid(),
				     !persistent);
		if (ret) {
			atomic64_sub(pool->size, &pinned_bytes);
			pool->cap_charged = 0;
			reason = HUGESLAB_FAIL_MEMLOCK;
			goto fail;
		}
	}
	return 0;

fail:
	atomic64_inc(&limit_failures);
	hugeslab_nl_alloc_failed(pool, reason);
	return ret;
}

/**
 * hugeslab_uncharge() - give back everything hugeslab_charge() took
 * @pool: pool being freed; fields that were never charged are zero
 */
void hugeslab_uncharge(struct hugeslab_pool *pool)
{
	if (pool->memlock) {
		uncharge_memlock(pool->memlock, pool->size >> PAGE_SHIFT);
		pool->memlock = NULL;
	}
	atomic64_sub(pool->cap_charged, &pinned_bytes);
	pool->cap_charged = 0;
}

/**
 * hugeslab_count_alloc_failure() - count and announce a CREATE that found
 * no free 2 MiB pages
 * @pool: the pool that could not be filled
 */
void hugeslab_count_alloc_failure(struct hugeslab_pool *pool)
{
	atomic64_inc(&alloc_failures);
	hugeslab_nl_alloc_failed(pool, HUGESLAB_FAIL_NOMEM);
}

/**
 * hugeslab_pool_register() - give a new pool its id and reserve its name
 * @pool: pool being created, not yet live
 *
 * Registered pools count in nr_pools; they are seen by the control plane
 * and by ATTACH only once hugeslab_pool_publish() has made them live.
 *
 * Return: 0, or -EEXIST when a registered pool already has @pool's name.
 */
int hugeslab_pool_register(struct hugeslab_pool *pool)
{
	struct hugeslab_pool *p;

	mutex_lock(&pools_lock);
	if (pool->name[0]) {
		list_for_each_entry(p, &pools, list) {
			if (!strcmp(p->name, pool->name)) {
				mutex_unlock(&pools_lock);
				return -EEXIST;
			}
		}
	}
	/* Ids only grow, so the list stays sorted and dumps can resume. */
	pool->id = ++last_pool_id;
	list_add_tail(&pool->list, &pools);
	nr_pools++;
	mutex_unlock(&pools_lock);
	return 0;
}

/*
 * Count @att as one more file holding @pool, which the caller has just
 * taken a reference of the backing file for.
 */
static void attach_locked(struct hugeslab_pool *pool,
			  struct hugeslab_attacher *att)
{
	lockdep_assert_held(&pools_lock);
	atomic_inc(&pool->nr_files);
	list_add_tail(&att->entry, &pool->attachers);
}

/**
 * hugeslab_pool_publish() - make a completely filled pool visible
 * @pool: registered pool whose slabs are all in
 * @node: its device node, or NULL for an unnamed pool
 * @creator: the creating file, counted in @pool->nr_files already
 *
 * A persistent pool takes its registry reference here: from now on it
 * lives until DESTROY, and holds the module until then.
 */
void hugeslab_pool_publish(struct hugeslab_pool *pool,
			   struct hugeslab_node *node,
			   struct hugeslab_attacher *creator)
{
	mutex_lock(&pools_lock);
	pool->live = true;
	pool->node = node;
	list_add_tail(&creator->entry, &pool->attachers);
	/*
	 * The backing file holds the module (hugeslab_backing_create()), so
	 * this reference also makes rmmod fail while the pool exists.
	 */
	if (pool->flags & HUGESLAB_CREATE_PERSISTENT) {
		get_file(pool->backing);
		pool->persistent = true;
	}
	mutex_unlock(&pools_lock);
	/* A CREATE that failed to fill its slabs created nothing. */
	atomic64_inc(&nr_created);
}

/**
 * hugeslab_pool_unregister() - forget a pool and release its name
 * @pool: pool being freed; may never have been registered
 *
 * Return: the pool's node, for the caller to remove outside the lock, or
 * NULL.
 */
struct hugeslab_node *hugeslab_pool_unregister(struct hugeslab_pool *pool)
{
	struct hugeslab_node *node;

	mutex_lock(&pools_lock);
	if (!list_empty(&pool->list)) {
		list_del_init(&pool->list);
		nr_pools--;
	}
	pool->live = false;
	node = pool->node;
	pool->node = NULL;
	mutex_unlock(&pools_lock);
	return node;
}

/*
 * The live pool named @name, or with the node @devt when @name is NULL,
 * with @att attached and a reference on its backing file; else @err.
 */
static struct hugeslab_pool *pool_get(const char *name, dev_t devt,
				      struct hugeslab_attacher *att, int err)
{
	struct hugeslab_pool *p, *found = ERR_PTR(err);

	mutex_lock(&pools_lock);
	list_for_each_entry(p, &pools, list) {
		if (!p->live || (name ? !p->name[0] || strcmp(p->name, name) :
				 !p->node || hugeslab_node_devt(p->node) != devt))
			continue;
		/* The file cannot be freed: its release needs the lock. */
		if (hugeslab_get_file_unless_zero(p->backing)) {
			attach_locked(p, att);
			found = p;
		}
		break;
	}
	mutex_unlock(&pools_lock);
	return found;
}

/**
 * hugeslab_pool_get_by_name() - find a live pool and attach a file to it
 * @name: NUL-terminated name
 * @att: the attaching file's entry, added to the pool's attachers
 *
 * A pool whose backing file is in its final fput is already dead, even if
 * its release has not unregistered it yet: it is not found.
 *
 * Return: the pool with a reference on its backing file, which the caller
 * must give back with hugeslab_pool_detach() and fput(), or an
 * ERR_PTR(-ENOENT).
 */
struct hugeslab_pool *hugeslab_pool_get_by_name(const char *name,
						struct hugeslab_attacher *att)
{
	return pool_get(name, 0, att, -ENOENT);
}

/**
 * hugeslab_pool_get_by_devt() - the pool of a device node, for its open
 * @devt: the node's device number
 * @att: the opening file's entry, added to the pool's attachers
 *
 * Looked up and referenced under the registry lock, so an open racing
 * with the pool's release or DESTROY gets the pool or an error, never a
 * pool being freed.
 *
 * Return: the pool with a reference on its backing file (as for
 * hugeslab_pool_get_by_name()), or ERR_PTR(-ENXIO) when no live pool has
 * that node any more.
 */
struct hugeslab_pool *hugeslab_pool_get_by_devt(dev_t devt,
						struct hugeslab_attacher *att)
{
	return pool_get(NULL, devt, att, -ENXIO);
}

/**
 * hugeslab_pool_detach() - a file stops holding a pool
 * @pool: the pool
 * @att: the file's entry
 *
 * The caller then drops the file's reference on the backing file.
 */
void hugeslab_pool_detach(struct hugeslab_pool *pool,
			  struct hugeslab_attacher *att)
{
	mutex_lock(&pools_lock);
	list_del_init(&att->entry);
	atomic_dec(&pool->nr_files);
	mutex_unlock(&pools_lock);
}

/*
 * Is anything but the caller's own file holding @pool?  Checked under the
 * registry lock, which every new file takes to attach, so no open or
 * ATTACH slips in between the check and the destroy.
 */
static bool pool_busy_locked(struct hugeslab_pool *pool,
			     struct hugeslab_pool *own)
{
	int files = atomic_read(&pool->nr_files) - (pool == own);

	lockdep_assert_held(&pools_lock);
	return files > 0 || atomic_read(&pool->nr_dmabufs) ||
	       hugeslab_pool_nr_mappings(pool);
}

/**
 * hugeslab_pool_destroy() - end a persistent pool (%HUGESLAB_IOC_DESTROY)
 * @args: the request, checked
 * @own: the pool of the calling file, or NULL
 *
 * The name and node go at once; the registry's reference on the backing
 * file (and so on the module) is dropped, so the pool is freed by
 * whichever holder goes last, or here if there is none.
 *
 * Return: 0, -ENOENT for no such name, -EINVAL for a pool that is not
 * persistent, -EPERM unless owner or CAP_SYS_ADMIN, -EBUSY while other
 * files, mappings or dma-bufs hold it and %HUGESLAB_DESTROY_FORCE is not
 * given.
 */
int hugeslab_pool_destroy(const struct hugeslab_destroy *args,
			  struct hugeslab_pool *own)
{
	struct hugeslab_pool *p, *pool = NULL;
	struct hugeslab_node *node;
	int ret = 0;

	mutex_lock(&pools_lock);
	list_for_each_entry(p, &pools, list) {
		if (p->live && p->name[0] && !strcmp(p->name, args->name)) {
			pool = p;
			break;
		}
	}
	if (!pool)
		ret = -ENOENT;
	else if (!pool->persistent)
		ret = -EINVAL;
	else if (!uid_eq(current_uid(), pool->owner_uid) &&
		 !capable(CAP_SYS_ADMIN))
		ret = -EPERM;
	else if (!(args->flags & HUGESLAB_DESTROY_FORCE) &&
		 pool_busy_locked(pool, own))
		ret = -EBUSY;
	if (ret) {
		mutex_unlock(&pools_lock);
		return ret;
	}
	/* The name is free for the next CREATE_NAMED from here on. */
	memset(pool->name, 0, sizeof(pool->name));
	node = pool->node;
	pool->node = NULL;
	pool->persistent = false;
	pool->destroyed = true;
	mutex_unlock(&pools_lock);

	hugeslab_node_remove(node);
	fput(pool->backing);
	return 0;
}

void hugeslab_pools_lock(void)
{
	mutex_lock(&pools_lock);
}

void hugeslab_pools_unlock(void)
{
	mutex_unlock(&pools_lock);
}

void hugeslab_pools_assert_held(void)
{
	lockdep_assert_held(&pools_lock);
}

/**
 * hugeslab_pool_next_locked() - the live pool with the lowest id >= @min_id
 * @min_id: where to start
 *
 * Context: hugeslab_pools_lock() held, which keeps the pool from being
 * freed until it is dropped.
 *
 * Return: the pool or NULL.
 */
struct hugeslab_pool *hugeslab_pool_next_locked(u64 min_id)
{
	struct hugeslab_pool *p;

	lockdep_assert_held(&pools_lock);
	list_for_each_entry(p, &pools, list)
		if (p->live && p->id >= min_id)
			return p;
	return NULL;
}

void hugeslab_stats_read(struct hugeslab_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	stats->pinned_bytes = atomic64_read(&pinned_bytes);
	stats->max_pinned_bytes = cap_bytes();
	mutex_lock(&pools_lock);
	stats->nr_pools = nr_pools;
	mutex_unlock(&pools_lock);
	stats->nr_created = atomic64_read(&nr_created);
	stats->alloc_failures = atomic64_read(&alloc_failures);
	stats->limit_failures = atomic64_read(&limit_failures);
}

int hugeslab_account_init(void)
{
	if (!max_pinned_mb)
		max_pinned_mb = (totalram_pages() >> (20 - PAGE_SHIFT)) / 2;
	return 0;
}
