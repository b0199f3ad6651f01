// SPDX-License-Identifier: GPL-2.0
/*
 * Charging pools against the module-wide cap and RLIMIT_MEMLOCK.
 *
 * The locked-memory charge goes to the creating user (user->locked_vm), as
 * io_uring does for registered buffers, not to the creating mm: a pool
 * outlives its creator's mm whenever its fd or a mapping is passed on, and
 * the charge must stay until the pages are really released.  The creating
 * mm's pinned_vm is raised as well so /proc/PID/status (VmPin) shows who
 * holds the memory.
 */

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>

#include "hugeslab.h"

static unsigned int max_pinned_mb;
module_param(max_pinned_mb, uint, 0644);
MODULE_PARM_DESC(max_pinned_mb,
		 "Cap on the memory pinned by all pools together, in MiB (0 at load: half of RAM)");

static atomic64_t pinned_bytes = ATOMIC64_INIT(0);
static atomic64_t nr_created = ATOMIC64_INIT(0);
static atomic64_t alloc_failures = ATOMIC64_INIT(0);
static atomic64_t limit_failures = ATOMIC64_INIT(0);

static DEFINE_MUTEX(pools_lock);
static LIST_HEAD(pools);
static u64 nr_pools;

static u64 cap_bytes(void)
{
	return (u64)READ_ONCE(max_pinned_mb) << 20;
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

static int charge_memlock(struct user_struct *user, unsigned long pages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur, new;

	/* mlock(2) says EPERM when the limit forbids locking at all. */
	if (!limit)
		return -EPERM;

	cur = atomic_long_read(&user->locked_vm);
	do {
		new = cur + pages;
		if (new < cur || new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, new));
	return 0;
}

/**
 * hugeslab_charge() - take a new pool's size from every limit
 * @pool: pool with @size set; on success its charge fields are filled
 *
 * Return: 0, -ENOMEM over the cap or RLIMIT_MEMLOCK, -EPERM when the
 * memlock limit is zero and the caller lacks CAP_IPC_LOCK.
 */
int hugeslab_charge(struct hugeslab_pool *pool)
{
	unsigned long pages = pool->size >> PAGE_SHIFT;
	struct user_struct *user;
	int ret;

	ret = charge_cap(pool->size);
	if (ret)
		goto fail;
	pool->cap_charged = pool->size;

	if (!capable(CAP_IPC_LOCK)) {
		user = get_uid(current_user());
		ret = charge_memlock(user, pages);
		if (ret) {
			free_uid(user);
			atomic64_sub(pool->size, &pinned_bytes);
			pool->cap_charged = 0;
			goto fail;
		}
		pool->locked_user = user;
	}

	mmgrab(current->mm);
	pool->pinned_mm = current->mm;
	atomic64_add(pages, &pool->pinned_mm->pinned_vm);
	return 0;

fail:
	atomic64_inc(&limit_failures);
	return ret;
}

/**
 * hugeslab_uncharge() - give back everything hugeslab_charge() took
 * @pool: pool being freed; fields that were never charged are zero
 */
void hugeslab_uncharge(struct hugeslab_pool *pool)
{
	unsigned long pages = pool->size >> PAGE_SHIFT;

	if (pool->pinned_mm) {
		atomic64_sub(pages, &pool->pinned_mm->pinned_vm);
		mmdrop(pool->pinned_mm);
		pool->pinned_mm = NULL;
	}
	if (pool->locked_user) {
		atomic_long_sub(pages, &pool->locked_user->locked_vm);
		free_uid(pool->locked_user);
		pool->locked_user = NULL;
	}
	atomic64_sub(pool->cap_charged, &pinned_bytes);
	pool->cap_charged = 0;
}

void hugeslab_count_alloc_failure(void)
{
	atomic64_inc(&alloc_failures);
}

void hugeslab_pool_register(struct hugeslab_pool *pool)
{
	mutex_lock(&pools_lock);
	list_add_tail(&pool->list, &pools);
	nr_pools++;
	mutex_unlock(&pools_lock);
	atomic64_inc(&nr_created);
}

void hugeslab_pool_unregister(struct hugeslab_pool *pool)
{
	mutex_lock(&pools_lock);
	list_del(&pool->list);
	nr_pools--;
	mutex_unlock(&pools_lock);
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
