/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hugeslab: the generic netlink family "hugeslab", the control plane of the
 * module (state, pools, events, the global cap).
 *
 * Documentation/hugeslab/netlink.rst describes every command and event.
 */
#ifndef _UAPI_LINUX_HUGESLAB_NETLINK_H
#define _UAPI_LINUX_HUGESLAB_NETLINK_H

#define HUGESLAB_GENL_NAME		"hugeslab"
#define HUGESLAB_GENL_VERSION		1
/* Multicast group of the events; joining it needs CAP_NET_ADMIN. */
#define HUGESLAB_GENL_MCGRP_EVENTS	"events"

/**
 * enum hugeslab_nl_cmd - commands and events of the family
 * @HUGESLAB_CMD_UNSPEC: never used
 * @HUGESLAB_CMD_GET_GLOBAL: module-wide state; no request attributes; the
 *	reply has VERSION, PINNED_BYTES, CAP_BYTES, NR_POOLS, NR_CREATED,
 *	ALLOC_FAILURES and LIMIT_FAILURES
 * @HUGESLAB_CMD_GET_POOL: with POOL_ID, one pool; as a dump (NLM_F_DUMP),
 *	every pool the caller may see: its own, or all with CAP_SYS_ADMIN.
 *	Each reply carries the pool attributes (POOL_*, NODE list)
 * @HUGESLAB_CMD_SET_CAP: set the cap on pinned memory to CAP_BYTES, a
 *	multiple of 1 MiB; the same value as the max_pinned_mb module
 *	parameter.  Needs CAP_NET_ADMIN and CAP_SYS_ADMIN
 * @HUGESLAB_CMD_POOL_CREATED: event: a pool was created; pool attributes
 * @HUGESLAB_CMD_POOL_DESTROYED: event: a pool was freed (its last fd,
 *	mapping and dma-buf are gone); pool attributes
 * @HUGESLAB_CMD_ALLOC_FAILED: event: a CREATE failed for lack of memory or
 *	over a limit; FAIL_REASON, POOL_SIZE, POOL_OWNER_PID, POOL_OWNER_UID
 *	and, for a named pool, POOL_NAME
 * @HUGESLAB_CMD_CAP_CHANGED: event: the cap changed (netlink or module
 *	parameter); CAP_BYTES and OLD_CAP_BYTES
 * @__HUGESLAB_CMD_MAX: number of commands
 */
enum hugeslab_nl_cmd {
	HUGESLAB_CMD_UNSPEC,
	HUGESLAB_CMD_GET_GLOBAL,
	HUGESLAB_CMD_GET_POOL,
	HUGESLAB_CMD_SET_CAP,
	HUGESLAB_CMD_POOL_CREATED,
	HUGESLAB_CMD_POOL_DESTROYED,
	HUGESLAB_CMD_ALLOC_FAILED,
	HUGESLAB_CMD_CAP_CHANGED,
	__HUGESLAB_CMD_MAX,
};

#define HUGESLAB_CMD_MAX	(__HUGESLAB_CMD_MAX - 1)

/**
 * enum hugeslab_nl_attr - attributes (one flat space for every command)
 * @HUGESLAB_A_UNSPEC: never used
 * @HUGESLAB_A_PAD: padding for 64-bit attributes, ignore
 * @HUGESLAB_A_VERSION: string: module version
 * @HUGESLAB_A_PINNED_BYTES: u64: bytes held by all live pools
 * @HUGESLAB_A_CAP_BYTES: u64: cap on pinned memory (max_pinned_mb << 20)
 * @HUGESLAB_A_OLD_CAP_BYTES: u64: the cap before a change
 * @HUGESLAB_A_NR_POOLS: u64: live pools
 * @HUGESLAB_A_NR_CREATED: u64: pools created since the module was loaded
 * @HUGESLAB_A_ALLOC_FAILURES: u64: CREATEs refused for lack of 2 MiB pages
 * @HUGESLAB_A_LIMIT_FAILURES: u64: CREATEs refused by a limit
 * @HUGESLAB_A_POOL_ID: u64: pool id, unique while the module is loaded
 * @HUGESLAB_A_POOL_NAME: string: pool name, only for named pools
 * @HUGESLAB_A_POOL_OWNER_PID: u32: creator's tgid, as the creator saw it
 * @HUGESLAB_A_POOL_OWNER_UID: u32: creator's uid (in the init user ns)
 * @HUGESLAB_A_POOL_SIZE: u64: bytes
 * @HUGESLAB_A_POOL_SLAB_SIZE: u64: bytes per slab
 * @HUGESLAB_A_POOL_NUMA_NODE: s32: node asked for at CREATE, or -1
 * @HUGESLAB_A_POOL_FILES: u32: open device files holding the pool
 *	(creator and attachers)
 * @HUGESLAB_A_POOL_MAPPINGS: u32: VMAs mapping the pool, in any process
 * @HUGESLAB_A_POOL_DMABUFS: u32: exported dma-bufs still alive
 * @HUGESLAB_A_POOL_CTIME_NS: u64: creation time, CLOCK_REALTIME in ns
 * @HUGESLAB_A_POOL_NODES: nested: one NODE per NUMA node holding slabs
 * @HUGESLAB_A_NODE: nested: NODE_ID and NODE_SLABS
 * @HUGESLAB_A_NODE_ID: u32: NUMA node
 * @HUGESLAB_A_NODE_SLABS: u64: slabs of the pool on that node
 * @HUGESLAB_A_FAIL_REASON: u32: enum hugeslab_fail_reason
 * @HUGESLAB_A_POOL_FLAGS: u32: the CREATE flags (PERSISTENT and the rest)
 * @HUGESLAB_A_POOL_DESTROYED: flag: a persistent pool DESTROYed with FORCE
 *	that holders still keep alive; it has no name or node any more
 * @HUGESLAB_A_POOL_ATTACHERS: nested: one ATTACHER per device file that
 *	holds the pool (the creator's included)
 * @HUGESLAB_A_ATTACHER: nested: ATTACHER_PID and ATTACHER_UID
 * @HUGESLAB_A_ATTACHER_PID: u32: tgid that opened the file, as the reader
 *	of the dump sees it (0 when it is not visible there); in events, as
 *	the initial pid namespace sees it
 * @HUGESLAB_A_ATTACHER_UID: u32: its uid (in the init user ns)
 * @__HUGESLAB_A_MAX: number of attributes
 */
enum hugeslab_nl_attr {
	HUGESLAB_A_UNSPEC,
	HUGESLAB_A_PAD,
	HUGESLAB_A_VERSION,
	HUGESLAB_A_PINNED_BYTES,
	HUGESLAB_A_CAP_BYTES,
	HUGESLAB_A_OLD_CAP_BYTES,
	HUGESLAB_A_NR_POOLS,
	HUGESLAB_A_NR_CREATED,
	HUGESLAB_A_ALLOC_FAILURES,
	HUGESLAB_A_LIMIT_FAILURES,
	HUGESLAB_A_POOL_ID,
	HUGESLAB_A_POOL_NAME,
	HUGESLAB_A_POOL_OWNER_PID,
	HUGESLAB_A_POOL_OWNER_UID,
	HUGESLAB_A_POOL_SIZE,
	HUGESLAB_A_POOL_SLAB_SIZE,
	HUGESLAB_A_POOL_NUMA_NODE,
	HUGESLAB_A_POOL_FILES,
	HUGESLAB_A_POOL_MAPPINGS,
	HUGESLAB_A_POOL_DMABUFS,
	HUGESLAB_A_POOL_CTIME_NS,
	HUGESLAB_A_POOL_NODES,
	HUGESLAB_A_NODE,
	HUGESLAB_A_NODE_ID,
	HUGESLAB_A_NODE_SLABS,
	HUGESLAB_A_FAIL_REASON,
	HUGESLAB_A_POOL_FLAGS,
	HUGESLAB_A_POOL_DESTROYED,
	HUGESLAB_A_POOL_ATTACHERS,
	HUGESLAB_A_ATTACHER,
	HUGESLAB_A_ATTACHER_PID,
	HUGESLAB_A_ATTACHER_UID,
	__HUGESLAB_A_MAX,
};

#define HUGESLAB_A_MAX	(__HUGESLAB_A_MAX - 1)

/**
 * enum hugeslab_fail_reason - value of %HUGESLAB_A_FAIL_REASON
 * @HUGESLAB_FAIL_CAP: the module-wide cap (max_pinned_mb)
 * @HUGESLAB_FAIL_MEMLOCK: the creator's RLIMIT_MEMLOCK
 * @HUGESLAB_FAIL_NOMEM: no free 2 MiB pages
 */
enum hugeslab_fail_reason {
	HUGESLAB_FAIL_CAP = 1,
	HUGESLAB_FAIL_MEMLOCK,
	HUGESLAB_FAIL_NOMEM,
};

#endif /* _UAPI_LINUX_HUGESLAB_NETLINK_H */
