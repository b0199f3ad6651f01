// SPDX-License-Identifier: GPL-2.0
/*
 * A character device per named pool, HUGESLAB_POOL_DIR/NAME.
 *
 * The nodes are devices of the "hugeslab" class, so devtmpfs creates them
 * with no udev running (as in the test VM) and udev sees a KOBJ_ADD uevent
 * (SUBSYSTEM=hugeslab, DEVNAME=hugeslab-pools/NAME) on which a rule can
 * change owner, group and mode.  The owner, group and mode asked for at CREATE come from the
 * device type's ->devnode, which devtmpfs and the uevent's DEVMODE, DEVUID
 * and DEVGID both read.  One cdev covers every minor; opening a node looks
 * the pool up by its device number (main.c), so a node has no pointer into
 * the pool and may outlive it (sysfs users of the device) harmlessly.
 * See Documentation/hugeslab/design.rst, "A node per named pool".
 */

#include <linux/bits.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/kdev_t.h>
#include <linux/slab.h>

#include "compat.h"
#include "internal.h"

/* Live named pools with a node at once; more get -ENOSPC at CREATE. */
#define HUGESLAB_NR_NODES	BIT(16)

/**
 * struct hugeslab_node - the device behind HUGESLAB_POOL_DIR/NAME
 * @dev: the device; its release frees the node and its minor
 * @mode: permission bits of the node
 * @uid: owner of the node
 * @gid: group of the node
 */
struct hugeslab_node {
	struct device dev;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
};

static dev_t node_base;
static struct cdev node_cdev;
static DEFINE_IDA(node_minors);
/* Where the next minor search starts: see hugeslab_node_add(). */
static atomic_t next_minor = ATOMIC_INIT(0);

/* Not const: 6.1's class_register() takes a mutable class. */
static struct class hugeslab_class = {
	.name	= "hugeslab",
};

/*
 * The path comes from the device's name, "hugeslab-pools!NAME", which the
 * driver core turns into hugeslab-pools/NAME, as for block devices with a
 * '!' in their name.  Returning a kasprintf()ed path here instead would,
 * when that allocation fails, make the core fall back to the bare name and
 * create /dev/NAME.
 */
static char *node_devnode(HUGESLAB_DEVNODE_CONST struct device *dev,
			  umode_t *mode, kuid_t *uid, kgid_t *gid)
{
	const struct hugeslab_node *node =
		container_of(dev, struct hugeslab_node, dev);

	/*
	 * devtmpfs turns a mode of 0 into 0600; with the file type set a
	 * node of mode 0000 (root only) is possible too.
	 */
	if (mode)
		*mode = S_IFCHR | node->mode;
	if (uid)
		*uid = node->uid;
	if (gid)
		*gid = node->gid;
	return NULL;
}

static const struct device_type node_type = {
	.name		= "hugeslab-pool",
	.devnode	= node_devnode,
};

static void node_release(struct device *dev)
{
	struct hugeslab_node *node = container_of(dev, struct hugeslab_node, dev);

	ida_free(&node_minors, MINOR(dev->devt));
	kfree(node);
}

/*
 * Minors are handed out round robin rather than lowest first, so that a
 * stale copy of a node (a hard link root made, a container's /dev) does not
 * at once name the next pool created.
 */
static int node_minor_alloc(void)
{
	unsigned int start = atomic_read(&next_minor) % HUGESLAB_NR_NODES;
	int minor;

	if (hugeslab_fail_nth())
		return -ENOMEM;
	minor = ida_alloc_range(&node_minors, start, HUGESLAB_NR_NODES - 1,
				GFP_KERNEL);
	if (minor == -ENOSPC && start)
		minor = ida_alloc_range(&node_minors, 0, start - 1, GFP_KERNEL);
	if (minor >= 0)
		atomic_set(&next_minor, minor + 1);
	return minor;
}

/**
 * hugeslab_node_add() - create the node of a named pool
 * @pool: pool being created, with its name
 * @uid: owner of the node
 * @gid: group of the node
 * @mode: permission bits of the node
 *
 * Return: the node, or an ERR_PTR: -ENOMEM, -ENOSPC with every minor
 * taken, or what device_add() returns.
 */
struct hugeslab_node *hugeslab_node_add(struct hugeslab_pool *pool,
					kuid_t uid, kgid_t gid, umode_t mode)
{
	struct hugeslab_node *node;
	int minor, ret;

	node = hugeslab_fail_nth() ? NULL : kzalloc(sizeof(*node), GFP_KERNEL);
	if (!node)
		return ERR_PTR(-ENOMEM);
	minor = node_minor_alloc();
	if (minor < 0) {
		kfree(node);
		return ERR_PTR(minor);
	}
	node->mode = mode;
	node->uid = uid;
	node->gid = gid;

	device_initialize(&node->dev);
	node->dev.class = &hugeslab_class;
	node->dev.type = &node_type;
	node->dev.devt = MKDEV(MAJOR(node_base), minor);
	/* From here on, put_device() frees the node and the minor. */
	node->dev.release = node_release;
	ret = dev_set_name(&node->dev, "hugeslab-pools!%s", pool->name);
	if (!ret)
		ret = hugeslab_fail_nth() ? -ENOMEM : device_add(&node->dev);
	if (ret) {
		put_device(&node->dev);
		return ERR_PTR(ret);
	}
	return node;
}

/**
 * hugeslab_node_remove() - take a pool's node away
 * @node: the node, or NULL
 *
 * The devtmpfs node is gone and the KOBJ_REMOVE uevent sent when this
 * returns.  Files already open keep working: they hold the pool, not the
 * node.
 */
void hugeslab_node_remove(struct hugeslab_node *node)
{
	if (!node)
		return;
	device_del(&node->dev);
	put_device(&node->dev);
}

/**
 * hugeslab_node_devt() - the device number of a node
 * @node: the node
 *
 * Return: its dev_t.
 */
dev_t hugeslab_node_devt(const struct hugeslab_node *node)
{
	return node->dev.devt;
}

/**
 * hugeslab_node_devt_ours() - is @devt a pool's node
 * @devt: device number of an inode being opened
 *
 * Return: true for the nodes' major, false for /dev/hugeslab.
 */
bool hugeslab_node_devt_ours(dev_t devt)
{
	return MAJOR(devt) == MAJOR(node_base);
}

/**
 * hugeslab_node_init() - register the class and the device numbers
 * @fops: file operations of every node
 *
 * Return: 0 or an errno.
 */
int hugeslab_node_init(const struct file_operations *fops)
{
	int ret;

	ret = alloc_chrdev_region(&node_base, 0, HUGESLAB_NR_NODES,
				  "hugeslab-pools");
	if (ret)
		return ret;
	ret = class_register(&hugeslab_class);
	if (ret)
		goto unregister_region;
	cdev_init(&node_cdev, fops);
	node_cdev.owner = fops->owner;
	ret = cdev_add(&node_cdev, node_base, HUGESLAB_NR_NODES);
	if (ret)
		goto unregister_class;
	return 0;

unregister_class:
	class_unregister(&hugeslab_class);
unregister_region:
	unregister_chrdev_region(node_base, HUGESLAB_NR_NODES);
	return ret;
}

/* Every pool is gone (each held the module), so is every node. */
void hugeslab_node_exit(void)
{
	cdev_del(&node_cdev);
	class_unregister(&hugeslab_class);
	unregister_chrdev_region(node_base, HUGESLAB_NR_NODES);
	ida_destroy(&node_minors);
}
