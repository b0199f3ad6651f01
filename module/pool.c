// SPDX-License-Identifier: GPL-2.0
/*
 * Pool creation, teardown and queries.
 */

#include <linux/capability.h>
#include <linux/ctype.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/rbtree.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>

#include "internal.h"

static bool reserved_is_zero(const __u64 *reserved, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (reserved[i])
			return false;
	return true;
}

/**
 * hugeslab_name_check() - is @name a valid pool name
 * @name: HUGESLAB_NAME_MAX bytes from userspace
 *
 * Return: 0 for 1 to HUGESLAB_NAME_MAX - 1 characters of [A-Za-z0-9._-]
 * followed by NULs only, -EINVAL otherwise.
 */
int hugeslab_name_check(const char *name)
{
	size_t len = strnlen(name, HUGESLAB_NAME_MAX);
	size_t i;

	if (!len || len == HUGESLAB_NAME_MAX)
		return -EINVAL;
	/* Every name is also a path, HUGESLAB_POOL_DIR/NAME. */
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && !strchr("._-", name[i]))
			return -EINVAL;
	/* NUL padded, so a stale tail cannot hide behind the terminator. */
	if (memchr_inv(name + len, 0, HUGESLAB_NAME_MAX - len))
		return -EINVAL;
	return 0;
}

/* The flags CREATE_NAMED accepts besides HUGESLAB_CREATE_NAMED itself. */
#define NAMED_FLAGS	(HUGESLAB_CREATE_PERSISTENT | HUGESLAB_CREATE_OWNER | \
			 HUGESLAB_CREATE_MODE)

static int check_create_args(const struct hugeslab_create *args,
			     const char *name)
{
	u32 flags = name ? HUGESLAB_CREATE_NAMED : HUGESLAB_CREATE_FLAGS;
	unsigned int shift = args->slab_shift ?: HUGESLAB_SLAB_SHIFT;
	u64 ram = (u64)totalram_pages() << PAGE_SHIFT;

	if (name && hugeslab_name_check(name))
		return -EINVAL;
	if ((args->flags & ~NAMED_FLAGS) != flags ||
	    (!name && args->flags & NAMED_FLAGS) || args->pad ||
	    (!(args->flags & HUGESLAB_CREATE_OWNER) && (args->uid || args->gid)) ||
	    (!(args->flags & HUGESLAB_CREATE_MODE) && args->mode) ||
	    args->mode & ~0777 || args->pad2 ||
	    !reserved_is_zero(args->reserved, ARRAY_SIZE(args->reserved)))
		return -EINVAL;
	if (shift != HUGESLAB_SLAB_SHIFT || shift != HPAGE_PMD_SHIFT)
		return -EINVAL;
	if (!args->size || args->size & ((1ULL << shift) - 1))
		return -EINVAL;
	if (args->size > HUGESLAB_MAX_POOL_SIZE || args->size > ram)
		return -EINVAL;
	if (args->numa_node != NUMA_NO_NODE &&
	    (args->numa_node < 0 || args->numa_node >= MAX_NUMNODES ||
	     !node_state(args->numa_node, N_MEMORY)))
		return -EINVAL;
	return 0;
}

/**
 * struct pool_owner - who owns a named pool and its node
 * @uid: the pool's owner_uid and the node's owner
 * @gid: the node's group
 * @mode: the node's permission bits
 */
struct pool_owner {
	kuid_t uid;
	kgid_t gid;
	umode_t mode;
};

/*
 * The owner and mode asked for, or the creator and 0600.  Giving a pool
 * to someone else, or making one that outlives every process, is for
 * CAP_SYS_ADMIN; owner ids with no mapping in the caller's namespace are
 * malformed.
 */
static int create_owner(const struct hugeslab_create *args,
			struct pool_owner *owner)
{
	owner->uid = current_uid();
	owner->gid = current_gid();
	owner->mode = 0600;
	if (args->flags & HUGESLAB_CREATE_OWNER) {
		owner->uid = make_kuid(current_user_ns(), args->uid);
		owner->gid = make_kgid(current_user_ns(), args->gid);
		if (!uid_valid(owner->uid) || !gid_valid(owner->gid))
			return -EINVAL;
	}
	if (args->flags & HUGESLAB_CREATE_MODE)
		owner->mode = args->mode;
	/*
	 * Only ids asked for are checked: the default gid of a setgid
	 * creator is its real gid, which in_group_p() need not accept.
	 */
	if (((args->flags & HUGESLAB_CREATE_OWNER &&
	      (!uid_eq(owner->uid, current_uid()) || !in_group_p(owner->gid))) ||
	     args->flags & HUGESLAB_CREATE_PERSISTENT) &&
	    !capable(CAP_SYS_ADMIN))
		return -EPERM;
	return 0;
}

/*
 * Bring every slab into the file now, so a pool either exists whole or not
 * at all and no fault ever has to allocate.  The reference each lookup
 * returns is kept: it makes migration and THP splitting fail for the pool's
 * lifetime.
 */
static int fill_slabs(struct hugeslab_pool *pool)
{
	struct address_space *mapping = pool->backing->f_mapping;
	unsigned int order = pool->slab_shift - PAGE_SHIFT;
	/*
	 * A CREATE that does not fit fails; it must never OOM-kill others to
	 * make room (that covers shmem's small-page fallback too).
	 */
	gfp_t gfp = mapping_gfp_mask(mapping) | __GFP_NOWARN | __GFP_NORETRY;
	unsigned long i;

	for (i = 0; i < pool->nr_slabs; i++) {
		struct folio *folio;
		struct page *page;

		if (fatal_signal_pending(current))
			return -EINTR;

		page = hugeslab_fail_nth() ? ERR_PTR(-ENOMEM) :
		       shmem_read_mapping_page_gfp(mapping, i << order, gfp);
		if (IS_ERR(page))
			return PTR_ERR(page) == -EINTR ? -EINTR : -ENOMEM;
		folio = page_folio(page);
		/* No 2 MiB page was free: shmem fell back to a small one. */
		if (folio_order(folio) != order) {
			folio_put(folio);
			return -ENOMEM;
		}
		pool->slabs[i] = folio;
		pool->node_slabs[folio_nid(folio)]++;
		cond_resched();
	}
	return 0;
}

/**
 * hugeslab_pool_create() - allocate, charge and fill a pool
 * @args: CREATE arguments, not yet checked
 * @name: HUGESLAB_NAME_MAX bytes of name for CREATE_NAMED, not yet
 *	checked, or NULL
 * @creator: the creating file's entry, added to the pool's attachers
 *
 * A named pool gets its node before it is published, so that whoever finds
 * it by name also finds the node; an open of the node before that gets
 * -ENXIO.
 *
 * Return: the pool, whose backing file holds the only reference (two for
 * a persistent pool: the registry keeps one), or an ERR_PTR with
 * everything already given back.
 */
struct hugeslab_pool *hugeslab_pool_create(const struct hugeslab_create *args,
					   const char *name,
					   struct hugeslab_attacher *creator)
{
	struct hugeslab_node *node = NULL;
	struct hugeslab_pool *pool;
	struct pool_owner owner;
	struct file *backing;
	int ret;

	ret = check_create_args(args, name);
	if (!ret)
		ret = create_owner(args, &owner);
	if (ret)
		return ERR_PTR(ret);

	if (hugeslab_fail_nth())
		return ERR_PTR(-ENOMEM);
	pool = kzalloc(sizeof(*pool), GFP_KERNEL_ACCOUNT);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&pool->list);
	INIT_LIST_HEAD(&pool->attachers);
	pool->size = args->size;
	pool->slab_shift = HUGESLAB_SLAB_SHIFT;
	pool->nr_slabs = args->size >> pool->slab_shift;
	pool->numa_node = args->numa_node;
	pool->flags = args->flags;
	pool->owner_pid = task_tgid_vnr(current);
	pool->owner_uid = owner.uid;
	pool->ctime_ns = ktime_get_real_ns();
	if (name)
		memcpy(pool->name, name, HUGESLAB_NAME_MAX);

	pool->slabs = kvcalloc(pool->nr_slabs, sizeof(*pool->slabs),
			       GFP_KERNEL_ACCOUNT);
	pool->node_slabs = kcalloc(nr_node_ids, sizeof(*pool->node_slabs),
				   GFP_KERNEL_ACCOUNT);
	if (!pool->slabs || !pool->node_slabs || hugeslab_fail_nth()) {
		ret = -ENOMEM;
		goto free_slabs;
	}

	ret = hugeslab_fail_nth() ? -ENOMEM : hugeslab_charge(pool);
	if (ret)
		goto free_slabs;

	backing = hugeslab_fail_nth() ? ERR_PTR(-ENOMEM) :
		  hugeslab_backing_create(pool);
	if (IS_ERR(backing)) {
		ret = PTR_ERR(backing);
		hugeslab_uncharge(pool);
		goto free_slabs;
	}
	pool->backing = backing;
	atomic_set(&pool->nr_files, 1);

	/* From here on, the backing file's release frees the pool. */
	ret = hugeslab_fail_nth() ? -ENOMEM : hugeslab_pool_register(pool);
	if (ret)
		goto put_backing;
	ret = fill_slabs(pool);
	if (ret) {
		if (ret == -ENOMEM)
			hugeslab_count_alloc_failure(pool);
		goto put_backing;
	}
	if (name) {
		node = hugeslab_node_add(pool, owner.uid, owner.gid, owner.mode);
		if (IS_ERR(node)) {
			ret = PTR_ERR(node);
			goto put_backing;
		}
	}
	hugeslab_pool_publish(pool, node, creator);
	hugeslab_nl_pool_event(HUGESLAB_CMD_POOL_CREATED, pool);
	return pool;

put_backing:
	fput(backing);
	return ERR_PTR(ret);

free_slabs:
	kfree(pool->node_slabs);
	kvfree(pool->slabs);
	kfree(pool);
	return ERR_PTR(ret);
}

/**
 * hugeslab_pool_free() - release a pool once nothing can reach it
 * @pool: pool whose backing file is in its final fput
 *
 * The page cache still holds the folios after the references taken here
 * are dropped; the inode eviction that follows in the same fput frees them.
 */
void hugeslab_pool_free(struct hugeslab_pool *pool)
{
	bool was_live = pool->live;
	unsigned long i;

	/* First, so no dump or ATTACH looks at the slabs given back below. */
	hugeslab_node_remove(hugeslab_pool_unregister(pool));
	if (was_live)
		hugeslab_nl_pool_event(HUGESLAB_CMD_POOL_DESTROYED, pool);
	for (i = 0; i < pool->nr_slabs && pool->slabs[i]; i++)
		folio_put(pool->slabs[i]);
	hugeslab_uncharge(pool);
	kfree(pool->node_slabs);
	kvfree(pool->slabs);
	kfree(pool);
}

/**
 * hugeslab_pool_nr_mappings() - count the VMAs that map @pool, in any mm
 * @pool: a live pool
 *
 * Return: the number of VMAs.
 */
unsigned int hugeslab_pool_nr_mappings(struct hugeslab_pool *pool)
{
	struct address_space *mapping = pool->backing->f_mapping;
	struct rb_node *node;
	unsigned int n = 0;

	/* The interval tree's iterators are not exported: walk the rbtree. */
	i_mmap_lock_read(mapping);
	for (node = rb_first_cached(&mapping->i_mmap); node; node = rb_next(node))
		n++;
	i_mmap_unlock_read(mapping);
	return n;
}

/**
 * hugeslab_pool_info() - answer %HUGESLAB_IOC_INFO
 * @pool: the pool
 * @info: request copied in from userspace, answer to copy out
 *
 * Return: 0, -EINVAL for non-zero reserved fields, -EFAULT for a bad
 * @info->slab_nodes pointer.
 */
int hugeslab_pool_info(struct hugeslab_pool *pool, struct hugeslab_info *info)
{
	s32 __user *nodes = u64_to_user_ptr(info->slab_nodes);
	unsigned long n, i;
	u64 mask = 0;

	if (info->pad || !reserved_is_zero(info->reserved,
					   ARRAY_SIZE(info->reserved)))
		return -EINVAL;

	n = min_t(unsigned long, info->nr_slab_nodes, pool->nr_slabs);
	for (i = 0; i < pool->nr_slabs; i++) {
		int nid = folio_nid(pool->slabs[i]);

		if (nid < 64)
			mask |= 1ULL << nid;
		if (i < n && put_user(nid, nodes + i))
			return -EFAULT;
	}

	info->size = pool->size;
	info->slab_size = 1ULL << pool->slab_shift;
	info->nr_slabs = pool->nr_slabs;
	info->numa_node = pool->numa_node;
	info->flags = pool->flags;
	info->node_mask = mask;
	info->nr_slab_nodes = n;
	/* So that a client can tell whose pool it attached by name. */
	info->owner_uid = from_kuid_munged(current_user_ns(), pool->owner_uid);
	info->valid = HUGESLAB_INFO_OWNER;
	return 0;
}

/**
 * hugeslab_pool_slab_addrs() - answer %HUGESLAB_IOC_SLAB_ADDRS
 * @pool: the pool
 * @req: request copied in from userspace, answer to copy out
 *
 * Return: 0, -EPERM without CAP_SYS_ADMIN, -EINVAL for a first slab past
 * the end or non-zero reserved fields, -EFAULT for a bad array pointer.
 */
int hugeslab_pool_slab_addrs(struct hugeslab_pool *pool,
			     struct hugeslab_slab_addrs *req)
{
	u64 __user *addrs = u64_to_user_ptr(req->addrs);
	unsigned long n, i;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!reserved_is_zero(req->reserved, ARRAY_SIZE(req->reserved)) ||
	    req->first_slab >= pool->nr_slabs)
		return -EINVAL;

	n = min_t(unsigned long, req->count, pool->nr_slabs - req->first_slab);
	for (i = 0; i < n; i++) {
		struct folio *folio = pool->slabs[req->first_slab + i];
		u64 phys = (u64)folio_pfn(folio) << PAGE_SHIFT;

		if (put_user(phys, addrs + i))
			return -EFAULT;
	}
	req->count = n;
	return 0;
}
