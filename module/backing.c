// SPDX-License-Identifier: GPL-2.0
/*
 * The shmem file behind each pool.
 *
 * Pool pages live in files on kernel-internal tmpfs mounts made with
 * huge=always, so every 2 MiB of a file is one PMD-sized folio that the
 * fault path maps with a PMD and that get_user_pages (O_DIRECT, io_uring
 * fixed buffers, RDMA) accepts like any shmem page.  A mapping of the device
 * is handed over to the pool's file (vma_set_file), keeping shmem's own
 * vm_ops: 6.1's io_uring refuses fixed buffers in any other file mapping.
 *
 * Handing the VMA to the file means the file, not the device, is what the
 * mappings keep alive, and that userspace reaches the file through the VMA
 * (madvise(MADV_REMOVE)) or through /proc/PID/map_files.  So the file gets
 * hugeslab's own file operations in place of shmem's (the inode, its
 * address_space operations and the VMAs' vm_ops stay shmem's):
 *
 * - .release frees the pool: it runs on the final fput, after the device fd
 *   and every mapping are gone, in whatever order.  Their .owner holds the
 *   module while any such file exists, so rmmod waits for mappings too.
 * - there is no .fallocate, so hole punching (MADV_REMOVE) cannot take a
 *   slab's pages out of the file behind the pool's back.
 * - .open refuses, so the file cannot be reopened through map_files.
 *
 * F_SEAL_SHRINK and F_SEAL_GROW stop truncate(2) by path from resizing it.
 *
 * An O_PATH handle taken through map_files holds the inode, not the file,
 * so the inode can outlive both the pool and the module.  The final fput
 * therefore empties the inode and marks it bad: what is left points only
 * at built-in code (bad_file_ops refuses every open with -EIO), and no
 * pool page stays behind, uncharged, for as long as the handle lives.
 *
 * The tmpfs mount of unbound pools has mpol=local: allocation is the same
 * as with no policy, but the file then has a shared policy without
 * MPOL_F_MOF, and NUMA balancing (task_numa_work(), vma_policy_mof())
 * skips VMAs whose policy lacks it.  With no policy at all, 6.12 falls
 * back to the task's default policy, which has MPOL_F_MOF, and the scanner
 * unmaps the pool's PMDs to take hinting faults on pages that cannot move.
 * Bound pools have mpol=bind, which lacks MPOL_F_MOF as well.
 */

#include <linux/fcntl.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mount.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>

#include "compat.h"
#include "internal.h"

/* Slot 0 is the mount without a NUMA policy, slot n + 1 binds to node n. */
static struct vfsmount *mounts[MAX_NUMNODES + 1];
static DEFINE_MUTEX(mounts_lock);

/* shmem's file operations, used to set up VMAs handed to a pool's file. */
static const struct file_operations *shmem_fops __ro_after_init;

/*
 * Core dumps leave pools out: a crashing daemon would otherwise write all
 * of its packet buffers (gigabytes) to disk.  madvise(MADV_DODUMP) cannot
 * undo VM_DONTDUMP on these VMAs (VM_DONTEXPAND makes them VM_SPECIAL), so
 * this is the knob for whoever needs the buffers in a dump.  Read at
 * mmap() time.
 */
static bool dump_pools;
module_param(dump_pools, bool, 0644);
MODULE_PARM_DESC(dump_pools,
		 "Include pools in core dumps of processes mapped afterwards (default: N)");

static int backing_open(struct inode *inode, struct file *file)
{
	return -EPERM;
}

static int backing_release(struct inode *inode, struct file *file)
{
	struct hugeslab_pool *pool = file->private_data;

	if (pool)
		hugeslab_pool_free(pool);
	/*
	 * Nothing maps the file any more (VMAs hold it), but an O_PATH handle
	 * may still hold the inode.  Leave it no pages and no pointer into
	 * this module, which may be unloaded as soon as this fput ends.
	 */
	shmem_truncate_range(inode, 0, (loff_t)-1);
	make_bad_inode(inode);
	return 0;
}

/*
 * Nothing but the VMA reaches the file: no read/write, no fallocate, no
 * reopen.  fsync is kept so that msync(MS_SYNC) on a mapping succeeds, and
 * get_unmapped_area so that mremap() keeps PMD alignment.
 */
static const struct file_operations backing_fops = {
	.owner			= THIS_MODULE,
	.open			= backing_open,
	.release		= backing_release,
	.fsync			= noop_fsync,
	.get_unmapped_area	= thp_get_unmapped_area,
	.llseek			= noop_llseek,
};

static struct vfsmount *mount_tmpfs(int nid)
{
	struct file_system_type *type;
	struct vfsmount *mnt;
	char opts[48];

	/* mpol=local: see the top of this file; tmpfs without NUMA has no mpol. */
	if (nid == NUMA_NO_NODE && IS_ENABLED(CONFIG_NUMA))
		snprintf(opts, sizeof(opts), "huge=always,mpol=local");
	else if (nid == NUMA_NO_NODE)
		snprintf(opts, sizeof(opts), "huge=always");
	else
		snprintf(opts, sizeof(opts), "huge=always,mpol=bind:%d", nid);

	type = get_fs_type("tmpfs");
	if (!type)
		return ERR_PTR(-ENODEV);
	mnt = vfs_kern_mount(type, SB_KERNMOUNT, type->name, opts);
	module_put(type->owner);
	return mnt;
}

static struct vfsmount *get_mount(int nid)
{
	int slot = nid + 1;
	struct vfsmount *mnt;

	/* Pairs with the release below: a mount is seen only when complete. */
	mnt = smp_load_acquire(&mounts[slot]);
	if (mnt)
		return mnt;

	mutex_lock(&mounts_lock);
	mnt = mounts[slot];
	if (!mnt) {
		mnt = mount_tmpfs(nid);
		if (!IS_ERR(mnt)) {
			/* Pairs with the acquire above. */
			smp_store_release(&mounts[slot], mnt);
		}
	}
	mutex_unlock(&mounts_lock);
	return mnt;
}

/**
 * hugeslab_backing_create() - make the file that will hold @pool's pages
 * @pool: pool with size and numa_node set
 *
 * From the moment this returns a file, fput() of that file frees @pool
 * (and gives back its charges), so the caller must not free it otherwise.
 *
 * Return: the file, or an ERR_PTR.
 */
struct file *hugeslab_backing_create(struct hugeslab_pool *pool)
{
	struct address_space *mapping;
	struct vfsmount *mnt;
	struct inode *inode;
	struct file *file;

	mnt = get_mount(pool->numa_node);
	if (IS_ERR(mnt))
		return ERR_CAST(mnt);

	/*
	 * shmem reports a failed inode allocation as -ENOSPC (a full tmpfs);
	 * for a pool it is memory that ran out, and CREATE documents -ENOMEM.
	 */
	file = shmem_file_setup_with_mnt(mnt, "hugeslab", pool->size, 0);
	if (IS_ERR(file))
		return PTR_ERR(file) == -ENOSPC ? ERR_PTR(-ENOMEM) : file;

	if (!try_module_get(THIS_MODULE)) {
		fput(file);
		return ERR_PTR(-ENODEV);
	}
	/* shmem's own fops are built in, so there is no owner to put. */
	file->f_op = &backing_fops;
	file->private_data = pool;

	inode = file_inode(file);
	inode->i_fop = &backing_fops;
	SHMEM_I(inode)->seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

	/*
	 * Long-term pins (io_uring, RDMA) must not land in ZONE_MOVABLE or
	 * CMA, and the pages never go to swap.
	 */
	mapping = file->f_mapping;
	mapping_set_gfp_mask(mapping, mapping_gfp_mask(mapping) & ~__GFP_MOVABLE);
	mapping_set_unevictable(mapping);
	return file;
}

int hugeslab_backing_init(void)
{
	struct vfsmount *mnt;
	struct file *probe;

	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		return -EOPNOTSUPP;

	mnt = get_mount(NUMA_NO_NODE);
	if (IS_ERR(mnt))
		return PTR_ERR(mnt);

	/* shmem_file_operations is static; take it from a file that uses it. */
	probe = shmem_file_setup_with_mnt(mnt, "hugeslab-probe", 0, 0);
	if (IS_ERR(probe)) {
		hugeslab_backing_exit();
		return PTR_ERR(probe);
	}
	shmem_fops = probe->f_op;
	fput(probe);

	/* Refuse to load rather than oops at the first mmap(). */
	if (!hugeslab_can_mmap(shmem_fops)) {
		pr_err("hugeslab: shmem files have neither ->mmap nor a ->mmap_prepare this module can call on this kernel\n");
		hugeslab_backing_exit();
		return -EOPNOTSUPP;
	}
	return 0;
}

/**
 * hugeslab_backing_mmap() - turn a VMA of the device into one of @pool's file
 * @pool: the pool
 * @vma: VMA being set up by mmap(2), already checked against the pool
 *
 * shmem sets the VMA up, so it is a shmem mapping to everyone who looks
 * (GUP, io_uring, rmap, smaps).
 *
 * Return: 0 or what shmem's mmap returns.
 */
int hugeslab_backing_mmap(struct hugeslab_pool *pool, struct vm_area_struct *vma)
{
	if (!READ_ONCE(dump_pools))
		hugeslab_vm_flags_set(vma, VM_DONTDUMP);
	vma_set_file(vma, pool->backing);
	return hugeslab_call_mmap(shmem_fops, pool->backing, vma);
}

void hugeslab_backing_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(mounts); i++) {
		if (mounts[i])
			kern_unmount(mounts[i]);
		mounts[i] = NULL;
	}
}
