// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hugeslab: pinned, zeroed, physically contiguous 2 MiB slabs that
 * userspace maps with PMDs and hands to O_DIRECT, io_uring and DMA.
 *
 * One open file is one pool, created once with HUGESLAB_IOC_CREATE and
 * mapped with mmap(MAP_SHARED).  See Documentation/hugeslab/design.rst.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

/**
 * struct hugeslab_file - state of one open file of the device
 * @lock: serializes CREATE and ATTACH, so racing threads get one pool and
 *	one -EINVAL
 * @pool: the pool once created or attached; published with release
 *	semantics and never changed afterwards, so readers need no lock
 * @rdonly: attached with %HUGESLAB_ATTACH_RDONLY or through a file opened
 *	without write access; set before @pool
 * @att: this file in @pool's list of attachers, for netlink
 */
struct hugeslab_file {
	struct mutex lock;	/* serializes CREATE and ATTACH */
	struct hugeslab_pool *pool;
	bool rdonly;
	struct hugeslab_attacher att;
};

static struct hugeslab_pool *file_pool(struct file *file)
{
	struct hugeslab_file *hf = file->private_data;

	/* Pairs with the release in ioctl_create(): the pool is complete. */
	return smp_load_acquire(&hf->pool);
}

static struct hugeslab_file *hugeslab_file_alloc(void)
{
	struct hugeslab_file *hf;

	hf = kzalloc(sizeof(*hf), GFP_KERNEL_ACCOUNT);
	if (!hf)
		return NULL;
	mutex_init(&hf->lock);
	INIT_LIST_HEAD(&hf->att.entry);
	hf->att.pid = get_task_pid(current, PIDTYPE_TGID);
	hf->att.uid = current_uid();
	return hf;
}

static void hugeslab_file_free(struct hugeslab_file *hf)
{
	put_pid(hf->att.pid);
	mutex_destroy(&hf->lock);
	kfree(hf);
}

/*
 * Opening HUGESLAB_POOL_DIR/NAME attaches to the pool, as ATTACH does
 * without its uid check: the node's permissions, which the VFS checked,
 * are the access control.  O_RDONLY gives a read-only handle.
 */
static int hugeslab_open(struct inode *inode, struct file *file)
{
	struct hugeslab_file *hf = hugeslab_file_alloc();
	struct hugeslab_pool *pool;

	if (!hf)
		return -ENOMEM;
	if (hugeslab_node_devt_ours(inode->i_rdev)) {
		pool = hugeslab_pool_get_by_devt(inode->i_rdev, &hf->att);
		if (IS_ERR(pool)) {
			hugeslab_file_free(hf);
			return PTR_ERR(pool);
		}
		hf->rdonly = !(file->f_mode & FMODE_WRITE);
		hf->pool = pool;
	}
	file->private_data = hf;
	return 0;
}

static int hugeslab_release(struct inode *inode, struct file *file)
{
	struct hugeslab_file *hf = file->private_data;

	/*
	 * Mappings, attached files and dma-bufs may still hold the backing
	 * file; the last one frees it.
	 */
	if (hf->pool) {
		hugeslab_pool_detach(hf->pool, &hf->att);
		fput(hf->pool->backing);
	}
	hugeslab_file_free(hf);
	return 0;
}

static long ioctl_create(struct file *file, void __user *uarg, bool named)
{
	struct hugeslab_file *hf = file->private_data;
	struct hugeslab_create_named args;
	struct hugeslab_pool *pool;
	long ret = 0;

	/* A pool nobody could write; and an O_RDONLY fd should not charge. */
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&args, uarg,
			   named ? sizeof(args) : sizeof(args.create)))
		return -EFAULT;

	mutex_lock(&hf->lock);
	if (hf->pool) {
		ret = -EINVAL;
		goto out;
	}
	pool = hugeslab_pool_create(&args.create, named ? args.name : NULL,
				    &hf->att);
	if (IS_ERR(pool)) {
		ret = PTR_ERR(pool);
		goto out;
	}
	/* Pairs with the acquire in file_pool(). */
	smp_store_release(&hf->pool, pool);
out:
	mutex_unlock(&hf->lock);
	return ret;
}

/*
 * The owner the caller expects, from its user namespace; an id with no
 * mapping there matches no pool, so it is refused as malformed.
 */
static int attach_owner(const struct hugeslab_attach *args, kuid_t *owner)
{
	if (!(args->flags & HUGESLAB_ATTACH_OWNER)) {
		*owner = INVALID_UID;
		return args->owner_uid ? -EINVAL : 0;
	}
	*owner = make_kuid(current_user_ns(), args->owner_uid);
	return uid_valid(*owner) ? 0 : -EINVAL;
}

static long ioctl_attach(struct file *file, void __user *uarg)
{
	struct hugeslab_file *hf = file->private_data;
	struct hugeslab_attach args;
	struct hugeslab_pool *pool;
	kuid_t owner;
	long ret = 0;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~HUGESLAB_ATTACH_FLAGS || args.pad || args.pad2 ||
	    args.reserved || hugeslab_name_check(args.name) ||
	    attach_owner(&args, &owner))
		return -EINVAL;

	mutex_lock(&hf->lock);
	if (hf->pool) {
		ret = -EINVAL;
		goto out;
	}
	pool = hugeslab_pool_get_by_name(args.name, &hf->att);
	if (IS_ERR(pool)) {
		ret = PTR_ERR(pool);
		goto out;
	}
	/* CAP_SYS_ADMIN may attach anyone's pool, but not a squatter's. */
	if ((!uid_eq(current_uid(), pool->owner_uid) &&
	     !capable(CAP_SYS_ADMIN)) ||
	    (uid_valid(owner) && !uid_eq(owner, pool->owner_uid))) {
		hugeslab_pool_detach(pool, &hf->att);
		fput(pool->backing);
		ret = -EPERM;
		goto out;
	}
	hf->rdonly = args.flags & HUGESLAB_ATTACH_RDONLY ||
		     !(file->f_mode & FMODE_WRITE);
	/* Pairs with the acquire in file_pool(); hf->rdonly is visible too. */
	smp_store_release(&hf->pool, pool);
out:
	mutex_unlock(&hf->lock);
	return ret;
}

static long ioctl_destroy(struct hugeslab_pool *own, void __user *uarg)
{
	struct hugeslab_destroy args;

	if (copy_from_user(&args, uarg, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~HUGESLAB_DESTROY_FLAGS || args.pad ||
	    args.reserved || hugeslab_name_check(args.name))
		return -EINVAL;
	return hugeslab_pool_destroy(&args, own);
}

static long ioctl_info(struct hugeslab_pool *pool, void __user *uarg)
{
	struct hugeslab_info info;
	int ret;

	if (!pool)
		return -ENODEV;
	if (copy_from_user(&info, uarg, sizeof(info)))
		return -EFAULT;
	ret = hugeslab_pool_info(pool, &info);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long ioctl_slab_addrs(struct hugeslab_pool *pool, void __user *uarg)
{
	struct hugeslab_slab_addrs req;
	int ret;

	if (!pool)
		return -ENODEV;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	ret = hugeslab_pool_slab_addrs(pool, &req);
	if (ret)
		return ret;
	if (copy_to_user(uarg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static long ioctl_export_dmabuf(struct hugeslab_file *hf,
				struct hugeslab_pool *pool, void __user *uarg)
{
	struct hugeslab_export_dmabuf req;

	if (!pool)
		return -ENODEV;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (hf->rdonly)
		return -EACCES;
	return hugeslab_dmabuf_export(pool, &req, uarg);
}

static long ioctl_stats(void __user *uarg)
{
	struct hugeslab_stats stats;

	hugeslab_stats_read(&stats);
	if (copy_to_user(uarg, &stats, sizeof(stats)))
		return -EFAULT;
	return 0;
}

static long hugeslab_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	struct hugeslab_file *hf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case HUGESLAB_IOC_CREATE:
		return ioctl_create(file, uarg, false);
	case HUGESLAB_IOC_CREATE_NAMED:
		return ioctl_create(file, uarg, true);
	case HUGESLAB_IOC_ATTACH:
		return ioctl_attach(file, uarg);
	case HUGESLAB_IOC_EXPORT_DMABUF:
		return ioctl_export_dmabuf(hf, file_pool(file), uarg);
	case HUGESLAB_IOC_INFO:
		return ioctl_info(file_pool(file), uarg);
	case HUGESLAB_IOC_SLAB_ADDRS:
		return ioctl_slab_addrs(file_pool(file), uarg);
	case HUGESLAB_IOC_STATS:
		return ioctl_stats(uarg);
	case HUGESLAB_IOC_DESTROY:
		return ioctl_destroy(file_pool(file), uarg);
	}
	return -ENOTTY;
}

static int hugeslab_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hugeslab_pool *pool = file_pool(file);
	struct hugeslab_file *hf = file->private_data;
	unsigned long pool_pages, slab_pages;

	if (!pool)
		return -ENODEV;
	/*
	 * mmap(2) clears VM_SHARED (not VM_MAYSHARE) of a shared mapping of a
	 * file opened O_RDONLY: that is still a shared mapping.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	/* As for a file opened O_RDONLY: no PROT_WRITE, now or later. */
	if (hf->rdonly) {
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		hugeslab_vm_flags_clear(vma, VM_MAYWRITE);
	}

	pool_pages = pool->size >> PAGE_SHIFT;
	slab_pages = 1UL << (pool->slab_shift - PAGE_SHIFT);
	if (vma->vm_pgoff & (slab_pages - 1) || vma->vm_pgoff >= pool_pages ||
	    vma_pages(vma) > pool_pages - vma->vm_pgoff)
		return -EINVAL;

	/* mremap() must not grow the mapping past the pool. */
	hugeslab_vm_flags_set(vma, VM_DONTEXPAND);

	return hugeslab_backing_mmap(pool, vma);
}

/* For /dev/hugeslab and every node of HUGESLAB_POOL_DIR alike. */
static const struct file_operations hugeslab_fops = {
	.owner			= THIS_MODULE,
	.open			= hugeslab_open,
	.release		= hugeslab_release,
	.unlocked_ioctl		= hugeslab_ioctl,
	.compat_ioctl		= compat_ptr_ioctl,
	.mmap			= hugeslab_mmap,
	.get_unmapped_area	= thp_get_unmapped_area,
	.llseek			= noop_llseek,
};

static struct miscdevice hugeslab_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "hugeslab",
	.fops	= &hugeslab_fops,
	.mode	= 0660,
};

static int __init hugeslab_init(void)
{
	int ret;

	ret = hugeslab_account_init();
	if (ret)
		return ret;
	ret = hugeslab_backing_init();
	if (ret)
		return ret;
	ret = hugeslab_nl_init();
	if (ret)
		goto backing_exit;
	ret = hugeslab_node_init(&hugeslab_fops);
	if (ret)
		goto nl_exit;
	ret = misc_register(&hugeslab_misc);
	if (ret)
		goto node_exit;
	return 0;

node_exit:
	hugeslab_node_exit();
nl_exit:
	hugeslab_nl_exit();
backing_exit:
	hugeslab_backing_exit();
	return ret;
}

static void __exit hugeslab_exit(void)
{
	misc_deregister(&hugeslab_misc);
	hugeslab_node_exit();
	hugeslab_nl_exit();
	hugeslab_backing_exit();
}

module_init(hugeslab_init);
module_exit(hugeslab_exit);

MODULE_DESCRIPTION("Pinned 2 MiB slab pools for zero-copy userspace I/O");
MODULE_AUTHOR("hugeslab developers");
MODULE_VERSION(HUGESLAB_VERSION);
MODULE_LICENSE("GPL");
