/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugeslab internals shared by the module's files.
 */
#ifndef _HUGESLAB_INTERNAL_H
#define _HUGESLAB_INTERNAL_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uidgid.h>

#include <linux/hugeslab.h>
#include <linux/hugeslab_netlink.h>

#define HUGESLAB_VERSION "0.2.0"

struct file;
struct folio;
struct hugeslab_memlock;
struct hugeslab_node;
struct mm_struct;
struct pid;
struct vm_area_struct;

/**
 * struct hugeslab_attacher - one device file holding a pool, for netlink
 * @entry: entry in the pool's @attachers, under the registry lock
 * @pid: thread group that opened the file (a reference)
 * @uid: its uid at open
 */
struct hugeslab_attacher {
	struct list_head entry;
	struct pid *pid;
	kuid_t uid;
};

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
 * @memlock: the creating user's RLIMIT_MEMLOCK charge (account.c), NULL
 *	when created with CAP_IPC_LOCK
 * @cap_charged: bytes taken from the module-wide cap
 * @id: unique id, for logs and the control plane
 * @owner_pid: tgid of the creator
 * @owner_uid: uid of the creator
 * @name: NUL-terminated name, empty for an unnamed pool; unique among
 *	registered pools
 * @ctime_ns: creation time, CLOCK_REALTIME
 * @node_slabs: slabs per NUMA node (nr_node_ids entries), set when live
 * @live: every slab is in; set under the registry lock, once
 * @nr_files: device files holding the pool (creator and attachers);
 *	changed under the registry lock, with @attachers
 * @nr_dmabufs: exported dma-bufs not yet released
 * @list: entry in the module's list of pools, sorted by @id
 * @attachers: the struct hugeslab_attacher of each file in @nr_files,
 *	under the registry lock
 * @node: the pool's device node while its name is registered, under the
 *	registry lock
 * @persistent: the registry holds a reference on @backing, and so on the
 *	module (%HUGESLAB_CREATE_PERSISTENT until DESTROY), under the
 *	registry lock
 * @destroyed: DESTROYed while holders kept it; it has no name or node
 */
struct hugeslab_pool {
	struct file *backing;
	struct folio **slabs;
	unsigned long nr_slabs;
	u64 size;
	unsigned int slab_shift;
	int numa_node;
	u32 flags;
	struct hugeslab_memlock *memlock;
	u64 cap_charged;
	u64 id;
	pid_t owner_pid;
	kuid_t owner_uid;
	char name[HUGESLAB_NAME_MAX];
	u64 ctime_ns;
	unsigned long *node_slabs;
	bool live;
	atomic_t nr_files;
	atomic_t nr_dmabufs;
	struct list_head list;
	struct list_head attachers;
	struct hugeslab_node *node;
	bool persistent;
	bool destroyed;
};

/* fail_nth.c: test hook for every allocation step */
bool hugeslab_fail_nth(void);

/* account.c: module-wide cap, RLIMIT_MEMLOCK, counters, the pool registry */
int hugeslab_charge(struct hugeslab_pool *pool);
void hugeslab_uncharge(struct hugeslab_pool *pool);
void hugeslab_count_alloc_failure(struct hugeslab_pool *pool);
void hugeslab_stats_read(struct hugeslab_stats *stats);
int hugeslab_set_cap_mb(unsigned int mb);
int hugeslab_pool_register(struct hugeslab_pool *pool);
void hugeslab_pool_publish(struct hugeslab_pool *pool,
			   struct hugeslab_node *node,
			   struct hugeslab_attacher *creator);
struct hugeslab_node *hugeslab_pool_unregister(struct hugeslab_pool *pool);
struct hugeslab_pool *hugeslab_pool_get_by_name(const char *name,
						struct hugeslab_attacher *att);
struct hugeslab_pool *hugeslab_pool_get_by_devt(dev_t devt,
						struct hugeslab_attacher *att);
void hugeslab_pool_detach(struct hugeslab_pool *pool,
			  struct hugeslab_attacher *att);
int hugeslab_pool_destroy(const struct hugeslab_destroy *args,
			  struct hugeslab_pool *own);
void hugeslab_pools_lock(void);
void hugeslab_pools_unlock(void);
void hugeslab_pools_assert_held(void);
struct hugeslab_pool *hugeslab_pool_next_locked(u64 min_id);
int hugeslab_account_init(void);

/* backing.c: the internal tmpfs mounts and the guarded shmem file */
struct file *hugeslab_backing_create(struct hugeslab_pool *pool);
int hugeslab_backing_mmap(struct hugeslab_pool *pool, struct vm_area_struct *vma);
int hugeslab_backing_init(void);
void hugeslab_backing_exit(void);

/* node.c: the device node of each named pool */
struct hugeslab_node *hugeslab_node_add(struct hugeslab_pool *pool,
					kuid_t uid, kgid_t gid, umode_t mode);
void hugeslab_node_remove(struct hugeslab_node *node);
dev_t hugeslab_node_devt(const struct hugeslab_node *node);
bool hugeslab_node_devt_ours(dev_t devt);
int hugeslab_node_init(const struct file_operations *fops);
void hugeslab_node_exit(void);

/* pool.c: CREATE, teardown and queries */
struct hugeslab_pool *hugeslab_pool_create(const struct hugeslab_create *args,
					   const char *name,
					   struct hugeslab_attacher *creator);
int hugeslab_name_check(const char *name);
unsigned int hugeslab_pool_nr_mappings(struct hugeslab_pool *pool);
void hugeslab_pool_free(struct hugeslab_pool *pool);
int hugeslab_pool_info(struct hugeslab_pool *pool,
		       struct hugeslab_info *info);
int hugeslab_pool_slab_addrs(struct hugeslab_pool *pool,
			     struct hugeslab_slab_addrs *req);

/* dmabuf.c: dma-buf export of a slab range */
int hugeslab_dmabuf_export(struct hugeslab_pool *pool,
			   struct hugeslab_export_dmabuf *req,
			   struct hugeslab_export_dmabuf __user *uarg);

/* netlink.c: the generic netlink family and its events */
void hugeslab_nl_pool_event(u8 cmd, struct hugeslab_pool *pool);
void hugeslab_nl_alloc_failed(struct hugeslab_pool *pool, u32 reason);
void hugeslab_nl_cap_changed(u64 old_bytes, u64 new_bytes);
int hugeslab_nl_init(void);
void hugeslab_nl_exit(void);

#endif /* _HUGESLAB_INTERNAL_H */
