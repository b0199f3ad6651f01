/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugeslab internals shared by the module's files.
 */
#ifndef _HUGESLAB_H
#define _HUGESLAB_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include <linux/hugeslab.h>

struct file;
struct folio;
struct mm_struct;
struct user_struct;
struct vm_area_struct;

/**
 * struct hugeslab_pool - the slabs behind one CREATE
 * @backing: shmem file that owns the pages; its final fput frees the pool,
 *	so the pool lives as long as any device fd or any mapping holds it
 * @slabs: one referenced folio per slab, which keeps it resident and
 *	makes migration and splitting fail
 * @nr_slabs: entries in @slabs
 * @size: bytes in the pool
 * @slab_shift: log2 of the slab size
 * @numa_node: node requested at CREATE, or NUMA_NO_NODE
 * @flags: CREATE flags
 * @locked_user: user charged for RLIMIT_MEMLOCK, NULL with CAP_IPC_LOCK
 * @pinned_mm: mm whose pinned_vm shows the pool, grabbed until free
 * @cap_charged: bytes taken from the module-wide cap
 * @id: unique id, for logs and the control plane
 * @owner_pid: tgid of the creator
 * @owner_uid: uid of the creator
 * @list: entry in the module's list of live pools
 */
struct hugeslab_pool {
	struct file *backing;
	struct folio **slabs;
	unsigned long nr_slabs;
	u64 size;
	unsigned int slab_shift;
	int numa_node;
	u32 flags;
	struct user_struct *locked_user;
	struct mm_struct *pinned_mm;
	u64 cap_charged;
	u64 id;
	pid_t owner_pid;
	kuid_t owner_uid;
	struct list_head list;
};

/* account.c: module-wide cap, RLIMIT_MEMLOCK, counters */
int hugeslab_charge(struct hugeslab_pool *pool);
void hugeslab_uncharge(struct hugeslab_pool *pool);
void hugeslab_count_alloc_failure(void);
void hugeslab_stats_read(struct hugeslab_stats *stats);
void hugeslab_pool_register(struct hugeslab_pool *pool);
void hugeslab_pool_unregister(struct hugeslab_pool *pool);
int hugeslab_account_init(void);

/* backing.c: the internal tmpfs mounts and the guarded shmem file */
struct file *hugeslab_backing_create(struct hugeslab_pool *pool);
int hugeslab_backing_mmap(struct hugeslab_pool *pool, struct vm_area_struct *vma);
int hugeslab_backing_init(void);
void hugeslab_backing_exit(void);

/* pool.c: CREATE, teardown and queries */
struct hugeslab_pool *hugeslab_pool_create(const struct hugeslab_create *args);
void hugeslab_pool_free(struct hugeslab_pool *pool);
int hugeslab_pool_info(struct hugeslab_pool *pool,
		       struct hugeslab_info *info);
int hugeslab_pool_slab_addrs(struct hugeslab_pool *pool,
			     struct hugeslab_slab_addrs *req);

#endif /* _HUGESLAB_H */
