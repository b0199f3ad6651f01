/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hugeslab: pinned, physically contiguous 2 MiB slabs for userspace I/O pools.
 *
 * This header is the single definition of the /dev/hugeslab interface; the
 * kernel module and every userspace consumer include it.
 */
#ifndef _UAPI_LINUX_HUGESLAB_H
#define _UAPI_LINUX_HUGESLAB_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HUGESLAB_DEVICE_PATH	"/dev/hugeslab"
/*
 * Every named pool has a character device HUGESLAB_POOL_DIR/NAME while its
 * name is registered.  Opening it attaches to the pool (O_RDONLY: read-only),
 * as %HUGESLAB_IOC_ATTACH does, and mmap of it maps the pool.  The node's
 * mode, not the creator's uid, decides who may open it.  The node is a
 * device of the "hugeslab" class (udev: SUBSYSTEM=="hugeslab",
 * KERNEL=="hugeslab-pools/NAME"); devtmpfs creates it before CREATE_NAMED
 * returns and removes it when the name goes.  An open racing with the
 * pool's end fails with ENXIO (or ENOENT once the node is gone).
 */
#define HUGESLAB_POOL_DIR	"/dev/hugeslab-pools"

/* The only slab size supported: one PMD on x86-64. */
#define HUGESLAB_SLAB_SHIFT	21
#define HUGESLAB_SLAB_SIZE	(1ULL << HUGESLAB_SLAB_SHIFT)

/* Hard upper bound on one pool, independent of any runtime limit. */
#define HUGESLAB_MAX_POOL_SIZE	(1ULL << 40)

/*
 * Bytes of a pool name, terminating NUL included.  A name is 1 to 31 of
 * the characters [A-Za-z0-9._-], other than "." and ".." (it is also a
 * path under HUGESLAB_POOL_DIR), unique among the live pools.
 */
#define HUGESLAB_NAME_MAX	32

#define HUGESLAB_IOC_MAGIC	0xB9

/**
 * DOC: errors
 *
 * Every ioctl returns 0 on success or -1 with errno set:
 *
 * - EINVAL: unknown flags, a non-zero reserved or pad field, a slab_shift
 *   other than 0 or 21, a size that is zero, not a multiple of the slab size
 *   or above %HUGESLAB_MAX_POOL_SIZE or the machine's memory, an offline or
 *   out-of-range NUMA node, CREATE or ATTACH on a file that already holds a
 *   pool, a malformed name, an EXPORT_DMABUF range that is empty, not slab
 *   aligned or past the end of the pool.
 * - EEXIST: CREATE_NAMED with a name that a live pool already has.
 * - ENOENT: ATTACH or DESTROY of a name no live pool has.
 * - EBUSY: DESTROY without %HUGESLAB_DESTROY_FORCE of a pool that another
 *   file, a mapping or a dma-buf holds.
 * - ENOSPC: CREATE_NAMED while 65536 pools have a node already.
 * - ENXIO: open of a pool's node as the pool ends or is destroyed.
 * - EBADF: CREATE or CREATE_NAMED on a file not opened for writing.
 * - EACCES: mmap with PROT_WRITE or EXPORT_DMABUF on a read-only file (one
 *   opened without write access, or attached with %HUGESLAB_ATTACH_RDONLY).
 * - ENODEV: INFO, SLAB_ADDRS, EXPORT_DMABUF or mmap on a file that holds no
 *   pool yet.
 * - EFAULT: an argument or user array pointer is not accessible.
 * - ENOMEM: the pool would exceed RLIMIT_MEMLOCK or the module's
 *   max_pinned_mb cap, or the kernel could not find enough free 2 MiB pages.
 * - EPERM: RLIMIT_MEMLOCK is zero and the caller lacks CAP_IPC_LOCK (as for
 *   mlock(2)); SLAB_ADDRS without CAP_SYS_ADMIN; ATTACH to another user's
 *   pool without CAP_SYS_ADMIN; ATTACH with %HUGESLAB_ATTACH_OWNER to a pool
 *   whose creator is not @owner_uid; CREATE_NAMED with
 *   %HUGESLAB_CREATE_PERSISTENT, or with %HUGESLAB_CREATE_OWNER naming
 *   another uid or a group the caller is not in, without CAP_SYS_ADMIN;
 *   DESTROY by a caller that is neither the pool's owner nor CAP_SYS_ADMIN.
 * - EINTR: a fatal signal arrived while the slabs were being allocated.
 * - ENOTTY: unknown ioctl command.
 *
 * mmap(2) on the device fails with EINVAL for MAP_PRIVATE, an offset that is
 * not slab aligned and a range that goes past the end of the pool.
 */

/**
 * DOC: access
 *
 * The open mode of a device file is the access it gives to its pool, as
 * for a regular file.  A file opened for writing (O_RDWR) can CREATE,
 * mmap with PROT_WRITE and EXPORT_DMABUF.  A file opened O_RDONLY cannot
 * create a pool (EBADF): it can ATTACH, and is then a read-only handle as
 * with %HUGESLAB_ATTACH_RDONLY, and mmap(PROT_READ, MAP_SHARED) works on
 * it.  INFO and STATS work on any file.  A dma-buf is always exported
 * O_RDWR, because an importing device may write the memory, so only a
 * writable handle can export one.
 */

/**
 * struct hugeslab_create - argument of %HUGESLAB_IOC_CREATE
 * @size: pool size in bytes, a non-zero multiple of the slab size
 * @slab_shift: log2 of the slab size; 0 selects %HUGESLAB_SLAB_SHIFT, which
 *	is also the only other accepted value
 * @numa_node: node to allocate every slab on, or -1 for no preference
 * @flags: 0 for %HUGESLAB_IOC_CREATE; %HUGESLAB_CREATE_NAMED for
 *	%HUGESLAB_IOC_CREATE_NAMED, with any of %HUGESLAB_CREATE_PERSISTENT,
 *	%HUGESLAB_CREATE_OWNER and %HUGESLAB_CREATE_MODE
 * @pad: must be 0
 * @uid: with %HUGESLAB_CREATE_OWNER, the pool's owner; must be 0 otherwise
 * @gid: with %HUGESLAB_CREATE_OWNER, the node's group; must be 0 otherwise
 * @mode: with %HUGESLAB_CREATE_MODE, the node's permission bits; must be 0
 *	otherwise
 * @pad2: must be 0
 * @reserved: must be 0
 *
 * Allocates the pool of this file descriptor: one pool per open file, created
 * once. The slabs are zeroed, physically contiguous, pinned (unevictable and
 * never migrated) and charged to the caller's RLIMIT_MEMLOCK (in a counter
 * of hugeslab's own, see Documentation/hugeslab/admin-guide.rst), memory
 * cgroup and the module-wide cap until the last file descriptor and the last
 * mapping of the pool are gone.
 */
struct hugeslab_create {
	__aligned_u64 size;
	__u32 slab_shift;
	__s32 numa_node;
	__u32 flags;
	__u32 pad;
	__u32 uid;
	__u32 gid;
	__u32 mode;
	__u32 pad2;
	__aligned_u64 reserved[2];
};

#define HUGESLAB_CREATE_FLAGS	0U
#define HUGESLAB_CREATE_NAMED	(1U << 0)
/*
 * With NAMED only.  The pool lives with no file and no mapping holding it,
 * until %HUGESLAB_IOC_DESTROY, and holds the module meanwhile (rmmod fails
 * with EWOULDBLOCK).  Needs CAP_SYS_ADMIN.  It is charged to the module
 * cap and to the owner's memlock count (the one RLIMIT_MEMLOCK is checked
 * against when that user creates pools), with no RLIMIT_MEMLOCK check at
 * this CREATE: see "Persistent pools" in Documentation/hugeslab/design.rst.
 */
#define HUGESLAB_CREATE_PERSISTENT	(1U << 1)
/*
 * With NAMED only.  @uid and @gid (in the caller's user namespace) own the
 * pool and its node (HUGESLAB_POOL_DIR/NAME): the pool's owner_uid becomes
 * @uid.  Needs CAP_SYS_ADMIN unless @uid is the caller's and @gid one of
 * the caller's groups.  Without it: the creator's uid and gid.
 */
#define HUGESLAB_CREATE_OWNER	(1U << 2)
/*
 * With NAMED only.  @mode (0 to 0777; 0 leaves the node to root) is the
 * node's mode; default 0600.
 */
#define HUGESLAB_CREATE_MODE	(1U << 3)

/**
 * struct hugeslab_create_named - argument of %HUGESLAB_IOC_CREATE_NAMED
 * @create: as for %HUGESLAB_IOC_CREATE, with @create.flags
 *	%HUGESLAB_CREATE_NAMED
 * @name: the pool's name, NUL terminated and NUL padded
 *	(see %HUGESLAB_NAME_MAX)
 *
 * Creates a pool that other processes can attach by name with
 * %HUGESLAB_IOC_ATTACH.  The name is released when the pool dies.
 */
struct hugeslab_create_named {
	struct hugeslab_create create;
	char name[HUGESLAB_NAME_MAX];
};

/**
 * struct hugeslab_info - argument of %HUGESLAB_IOC_INFO
 * @size: out: pool size in bytes
 * @slab_size: out: bytes per slab
 * @nr_slabs: out: number of slabs
 * @numa_node: out: node requested at creation, or -1
 * @flags: out: flags given at creation
 * @node_mask: out: bit n is set when a slab sits on node n (nodes below 64)
 * @slab_nodes: in: user pointer to an array of __s32, or 0; slab i's node is
 *	stored at index i
 * @nr_slab_nodes: in: capacity of @slab_nodes; out: entries written
 * @pad: must be 0
 * @owner_uid: out: uid of the pool's creator, in the caller's user
 *	namespace (the overflow uid when it has no mapping there)
 * @valid: out: %HUGESLAB_INFO_OWNER when @owner_uid is set; an older
 *	module leaves it 0
 * @reserved: must be 0
 */
struct hugeslab_info {
	__aligned_u64 size;
	__aligned_u64 slab_size;
	__aligned_u64 nr_slabs;
	__s32 numa_node;
	__u32 flags;
	__aligned_u64 node_mask;
	__aligned_u64 slab_nodes;
	__u32 nr_slab_nodes;
	__u32 pad;
	__u32 owner_uid;
	__u32 valid;
	__aligned_u64 reserved[3];
};

#define HUGESLAB_INFO_OWNER	(1U << 0)

/**
 * struct hugeslab_slab_addrs - argument of %HUGESLAB_IOC_SLAB_ADDRS
 * @addrs: in: user pointer to an array of __u64 receiving physical addresses
 * @first_slab: in: index of the first slab to report
 * @count: in: capacity of @addrs; out: entries written
 * @reserved: must be 0
 *
 * Requires CAP_SYS_ADMIN: physical addresses let a process aim DMA.
 */
struct hugeslab_slab_addrs {
	__aligned_u64 addrs;
	__u32 first_slab;
	__u32 count;
	__aligned_u64 reserved[2];
};

/**
 * struct hugeslab_stats - argument of %HUGESLAB_IOC_STATS (module-wide)
 * @pinned_bytes: bytes held by all live pools
 * @max_pinned_bytes: the current cap (module parameter max_pinned_mb)
 * @nr_pools: live pools
 * @nr_created: pools created since the module was loaded
 * @alloc_failures: CREATEs refused because 2 MiB pages could not be had
 * @limit_failures: CREATEs refused by RLIMIT_MEMLOCK or the cap
 * @reserved: always 0
 *
 * Works on any open file of the device, with or without a pool.
 */
struct hugeslab_stats {
	__aligned_u64 pinned_bytes;
	__aligned_u64 max_pinned_bytes;
	__aligned_u64 nr_pools;
	__aligned_u64 nr_created;
	__aligned_u64 alloc_failures;
	__aligned_u64 limit_failures;
	__aligned_u64 reserved[4];
};

/**
 * struct hugeslab_attach - argument of %HUGESLAB_IOC_ATTACH
 * @name: name of a live pool, NUL terminated and NUL padded
 * @flags: %HUGESLAB_ATTACH_RDONLY, %HUGESLAB_ATTACH_OWNER or 0
 * @pad: must be 0
 * @owner_uid: with %HUGESLAB_ATTACH_OWNER, the uid (in the caller's user
 *	namespace) the pool's creator must have; must be 0 otherwise
 * @pad2: must be 0
 * @reserved: must be 0
 *
 * Makes this file, which must not hold a pool yet, a handle of the named
 * pool, as if it had created it: mmap, INFO and the rest work on it, and it
 * keeps the pool alive until it is closed.  The caller must have the pool
 * creator's uid or CAP_SYS_ADMIN.  With %HUGESLAB_ATTACH_RDONLY (for
 * monitors), or on a file opened without write access, mmap refuses
 * PROT_WRITE and mprotect cannot add it later, and EXPORT_DMABUF is
 * refused.  With %HUGESLAB_ATTACH_OWNER the attach fails with EPERM unless
 * the pool was created by @owner_uid: names are first come, first served,
 * so a service that attaches by name states whose pool it expects, and a
 * pool another user created first under that name is refused, even to
 * CAP_SYS_ADMIN.  Charges stay with the creator.
 */
struct hugeslab_attach {
	char name[HUGESLAB_NAME_MAX];
	__u32 flags;
	__u32 pad;
	__u32 owner_uid;
	__u32 pad2;
	__aligned_u64 reserved;
};

#define HUGESLAB_ATTACH_RDONLY	(1U << 0)
#define HUGESLAB_ATTACH_OWNER	(1U << 1)
#define HUGESLAB_ATTACH_FLAGS	(HUGESLAB_ATTACH_RDONLY | HUGESLAB_ATTACH_OWNER)

/**
 * struct hugeslab_export_dmabuf - argument of %HUGESLAB_IOC_EXPORT_DMABUF
 * @offset: in: start of the range in the pool, slab aligned
 * @length: in: bytes, a non-zero multiple of the slab size
 * @flags: in: %HUGESLAB_DMABUF_CLOEXEC or 0
 * @fd: out: the dma-buf file descriptor
 * @reserved: must be 0
 *
 * Exports a range of the pool as a dma-buf, for RDMA (ibv_reg_dmabuf_mr) or
 * any other importing driver.  Mapping it for a device gives scatterlist
 * entries no longer than that device's max segment size and DMA mapping
 * size allow, one per slab at most.  The dma-buf keeps the pool alive until
 * it is released.
 * The file descriptor is opened O_RDWR, so the calling file must be
 * writable (see DOC: access): EACCES otherwise.
 */
struct hugeslab_export_dmabuf {
	__aligned_u64 offset;
	__aligned_u64 length;
	__u32 flags;
	__s32 fd;
	__aligned_u64 reserved[2];
};

#define HUGESLAB_DMABUF_CLOEXEC	(1U << 0)
#define HUGESLAB_DMABUF_FLAGS	HUGESLAB_DMABUF_CLOEXEC

/**
 * struct hugeslab_destroy - argument of %HUGESLAB_IOC_DESTROY
 * @name: name of a persistent pool, NUL terminated and NUL padded
 * @flags: 0 or %HUGESLAB_DESTROY_FORCE
 * @pad: must be 0
 * @reserved: must be 0
 *
 * Ends a persistent pool: its name and node go at once, and the pool is
 * freed when the last file, mapping and dma-buf holding it are gone, as for
 * any pool.  The caller must be the pool's owner or have CAP_SYS_ADMIN.
 * While any file other than the caller's own or any mapping holds the pool,
 * DESTROY fails with EBUSY unless %HUGESLAB_DESTROY_FORCE is given; forced,
 * the holders keep the memory until they close and unmap, and nothing is
 * freed under them.  A pool that is not persistent gives EINVAL.
 */
struct hugeslab_destroy {
	char name[HUGESLAB_NAME_MAX];
	__u32 flags;
	__u32 pad;
	__aligned_u64 reserved;
};

#define HUGESLAB_DESTROY_FORCE	(1U << 0)
#define HUGESLAB_DESTROY_FLAGS	HUGESLAB_DESTROY_FORCE

#define HUGESLAB_IOC_CREATE	_IOW(HUGESLAB_IOC_MAGIC, 0x01, struct hugeslab_create)
#define HUGESLAB_IOC_INFO	_IOWR(HUGESLAB_IOC_MAGIC, 0x02, struct hugeslab_info)
#define HUGESLAB_IOC_SLAB_ADDRS	_IOWR(HUGESLAB_IOC_MAGIC, 0x03, struct hugeslab_slab_addrs)
#define HUGESLAB_IOC_STATS	_IOR(HUGESLAB_IOC_MAGIC, 0x04, struct hugeslab_stats)
#define HUGESLAB_IOC_CREATE_NAMED \
	_IOW(HUGESLAB_IOC_MAGIC, 0x01, struct hugeslab_create_named)
#define HUGESLAB_IOC_ATTACH	_IOW(HUGESLAB_IOC_MAGIC, 0x05, struct hugeslab_attach)
#define HUGESLAB_IOC_EXPORT_DMABUF \
	_IOWR(HUGESLAB_IOC_MAGIC, 0x06, struct hugeslab_export_dmabuf)
#define HUGESLAB_IOC_DESTROY	_IOW(HUGESLAB_IOC_MAGIC, 0x07, struct hugeslab_destroy)

#endif /* _UAPI_LINUX_HUGESLAB_H */
