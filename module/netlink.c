// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "hugeslab": module-wide state, the pools, the
 * cap on pinned memory, and events for whoever listens.
 *
 * Every request attribute is checked by a per-command policy with strict
 * validation (resv_start_op is 0: every command is new), so an unknown, misplaced or misshapen
 * attribute gets -EINVAL with an extack message before a handler runs.
 * A dump shows a caller its own pools, and every pool only to
 * CAP_SYS_ADMIN.  The events group needs CAP_NET_ADMIN to join, as the
 * kernel's own families do.  See Documentation/hugeslab/netlink.rst.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/mutex.h>
#include <linux/netlink.h>
#include <linux/nodemask.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/user_namespace.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "internal.h"

enum hugeslab_nl_mcgrp {
	HUGESLAB_MCGRP_EVENTS,
};

static const struct genl_multicast_group hugeslab_nl_mcgrps[] = {
	[HUGESLAB_MCGRP_EVENTS] = {
		.name	= HUGESLAB_GENL_MCGRP_EVENTS,
		.flags	= GENL_MCAST_CAP_NET_ADMIN,
	},
};

/* GET_GLOBAL takes no attributes: every one is "Unsupported attribute". */
static const struct nla_policy hugeslab_nl_get_global_policy[HUGESLAB_A_MAX + 1] = {
};

static const struct nla_policy hugeslab_nl_get_pool_policy[HUGESLAB_A_MAX + 1] = {
	[HUGESLAB_A_POOL_ID]	= { .type = NLA_U64 },
};

static const struct nla_policy hugeslab_nl_set_cap_policy[HUGESLAB_A_MAX + 1] = {
	[HUGESLAB_A_CAP_BYTES]	= { .type = NLA_U64 },
};

static struct genl_family hugeslab_nl_family;

/* Serializes events against the family's unregistration. */
static DEFINE_MUTEX(nl_lock);
static bool nl_registered;

/* May the sender of @skb see @pool? */
static bool pool_visible(const struct sk_buff *skb,
			 const struct hugeslab_pool *pool)
{
	return uid_eq(NETLINK_CB(skb).creds.uid, pool->owner_uid) ||
	       netlink_capable(skb, CAP_SYS_ADMIN);
}

static int put_global(struct sk_buff *msg)
{
	struct hugeslab_stats st;

	hugeslab_stats_read(&st);
	if (nla_put_string(msg, HUGESLAB_A_VERSION, HUGESLAB_VERSION) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_PINNED_BYTES, st.pinned_bytes,
			      HUGESLAB_A_PAD) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_CAP_BYTES, st.max_pinned_bytes,
			      HUGESLAB_A_PAD) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_NR_POOLS, st.nr_pools,
			      HUGESLAB_A_PAD) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_NR_CREATED, st.nr_created,
			      HUGESLAB_A_PAD) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_ALLOC_FAILURES,
			      st.alloc_failures, HUGESLAB_A_PAD) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_LIMIT_FAILURES,
			      st.limit_failures, HUGESLAB_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int put_nodes(struct sk_buff *msg, const struct hugeslab_pool *pool)
{
	struct nlattr *nodes, *node;
	int nid;

	nodes = nla_nest_start(msg, HUGESLAB_A_POOL_NODES);
	if (!nodes)
		return -EMSGSIZE;
	for (nid = 0; nid < nr_node_ids; nid++) {
		if (!pool->node_slabs[nid])
			continue;
		node = nla_nest_start(msg, HUGESLAB_A_NODE);
		if (!node ||
		    nla_put_u32(msg, HUGESLAB_A_NODE_ID, nid) ||
		    nla_put_u64_64bit(msg, HUGESLAB_A_NODE_SLABS,
				      pool->node_slabs[nid], HUGESLAB_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(msg, node);
	}
	nla_nest_end(msg, nodes);
	return 0;
}

/* Room for one ATTACHER: the nest and its two u32 attributes. */
#define ATTACHER_SIZE	(nla_total_size(0) + 2 * nla_total_size(sizeof(u32)))

/*
 * One ATTACHER per device file holding the pool.  The pid is the opener's
 * tgid in @ns, 0 when it is not visible there (or has exited while its
 * file lives on, passed to another process).
 */
static int put_attachers(struct sk_buff *msg, struct hugeslab_pool *pool,
			 struct pid_namespace *ns)
{
	struct hugeslab_attacher *att;
	struct nlattr *list, *one;

	list = nla_nest_start(msg, HUGESLAB_A_POOL_ATTACHERS);
	if (!list)
		return -EMSGSIZE;
	list_for_each_entry(att, &pool->attachers, entry) {
		one = nla_nest_start(msg, HUGESLAB_A_ATTACHER);
		if (!one ||
		    nla_put_u32(msg, HUGESLAB_A_ATTACHER_PID,
				pid_nr_ns(att->pid, ns)) ||
		    nla_put_u32(msg, HUGESLAB_A_ATTACHER_UID,
				from_kuid_munged(&init_user_ns, att->uid)))
			return -EMSGSIZE;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, list);
	return 0;
}

/*
 * The attributes describing a pool: identity, owner, size, usage, who
 * holds it.  Attacher pids are given as @ns sees them.
 */
static int put_pool(struct sk_buff *msg, struct hugeslab_pool *pool,
		    struct pid_namespace *ns)
{
	hugeslab_pools_assert_held();
	if (nla_put_u64_64bit(msg, HUGESLAB_A_POOL_ID, pool->id,
			      HUGESLAB_A_PAD) ||
	    (pool->name[0] &&
	     nla_put_string(msg, HUGESLAB_A_POOL_NAME, pool->name)) ||
	    nla_put_u32(msg, HUGESLAB_A_POOL_OWNER_PID, pool->owner_pid) ||
	    nla_put_u32(msg, HUGESLAB_A_POOL_OWNER_UID,
			from_kuid_munged(&init_user_ns, pool->owner_uid)) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_POOL_SIZE, pool->size,
			      HUGESLAB_A_PAD) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_POOL_SLAB_SIZE,
			      1ULL << pool->slab_shift, HUGESLAB_A_PAD) ||
	    nla_put_s32(msg, HUGESLAB_A_POOL_NUMA_NODE, pool->numa_node) ||
	    nla_put_u32(msg, HUGESLAB_A_POOL_FILES,
			atomic_read(&pool->nr_files)) ||
	    nla_put_u32(msg, HUGESLAB_A_POOL_MAPPINGS,
			hugeslab_pool_nr_mappings(pool)) ||
	    nla_put_u32(msg, HUGESLAB_A_POOL_DMABUFS,
			atomic_read(&pool->nr_dmabufs)) ||
	    nla_put_u64_64bit(msg, HUGESLAB_A_POOL_CTIME_NS, pool->ctime_ns,
			      HUGESLAB_A_PAD) ||
	    nla_put_u32(msg, HUGESLAB_A_POOL_FLAGS, pool->flags) ||
	    (pool->destroyed && nla_put_flag(msg, HUGESLAB_A_POOL_DESTROYED)))
		return -EMSGSIZE;
	return put_nodes(msg, pool) ?: put_attachers(msg, pool, ns);
}

static int hugeslab_nl_get_global(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &hugeslab_nl_family, 0,
				HUGESLAB_CMD_GET_GLOBAL);
	if (!hdr || put_global(msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int hugeslab_nl_get_pool(struct sk_buff *skb, struct genl_info *info)
{
	struct hugeslab_pool *pool;
	struct sk_buff *msg;
	u64 id;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, HUGESLAB_A_POOL_ID))
		return -EINVAL;
	id = nla_get_u64(info->attrs[HUGESLAB_A_POOL_ID]);

	hugeslab_pools_lock();
	pool = hugeslab_pool_next_locked(id);
	if (!pool || pool->id != id || !pool_visible(skb, pool)) {
		hugeslab_pools_unlock();
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[HUGESLAB_A_POOL_ID],
				    "no such pool");
		return -ENOENT;
	}
	/* The attacher list cannot grow while the registry lock is held. */
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE +
			  atomic_read(&pool->nr_files) * ATTACHER_SIZE,
			  GFP_KERNEL);
	if (!msg) {
		hugeslab_pools_unlock();
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &hugeslab_nl_family, 0,
				HUGESLAB_CMD_GET_POOL);
	ret = hdr ? put_pool(msg, pool, task_active_pid_ns(current)) :
		    -EMSGSIZE;
	hugeslab_pools_unlock();
	if (ret)
		goto free_msg;
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

free_msg:
	nlmsg_free(msg);
	return ret;
}

/* cb->args[0]: the lowest pool id not dumped yet. */
static int hugeslab_nl_dump_pools(struct sk_buff *skb,
				  struct netlink_callback *cb)
{
	struct hugeslab_pool *pool;
	int ret = 0;
	void *hdr;

	hugeslab_pools_lock();
	while ((pool = hugeslab_pool_next_locked(cb->args[0]))) {
		if (pool_visible(cb->skb, pool)) {
			hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
					  cb->nlh->nlmsg_seq,
					  &hugeslab_nl_family, NLM_F_MULTI,
					  HUGESLAB_CMD_GET_POOL);
			if (!hdr) {
				ret = -EMSGSIZE;
				break;
			}
			/* Dumps run in the reader's recvmsg(). */
			ret = put_pool(skb, pool, task_active_pid_ns(current));
			if (ret) {
				genlmsg_cancel(skb, hdr);
				break;
			}
			genlmsg_end(skb, hdr);
		}
		cb->args[0] = pool->id + 1;
	}
	hugeslab_pools_unlock();
	/* A full skb: return what fits, the dump resumes at this pool. */
	if (ret == -EMSGSIZE && skb->len)
		return skb->len;
	return ret ?: skb->len;
}

static int hugeslab_nl_set_cap(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *attr = info->attrs[HUGESLAB_A_CAP_BYTES];
	u64 bytes;

	if (!netlink_capable(skb, CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "setting the cap needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	if (GENL_REQ_ATTR_CHECK(info, HUGESLAB_A_CAP_BYTES))
		return -EINVAL;
	bytes = nla_get_u64(attr);
	if (bytes & ((1ULL << 20) - 1)) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr,
				    "cap must be a multiple of 1 MiB");
		return -EINVAL;
	}
	if (bytes >> 20 > UINT_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "cap too large");
		return -EINVAL;
	}
	return hugeslab_set_cap_mb(bytes >> 20);
}

static const struct genl_ops hugeslab_nl_ops[] = {
	{
		.cmd		= HUGESLAB_CMD_GET_GLOBAL,
		.doit		= hugeslab_nl_get_global,
		.policy		= hugeslab_nl_get_global_policy,
		.maxattr	= HUGESLAB_A_MAX,
	},
	{
		.cmd		= HUGESLAB_CMD_GET_POOL,
		.doit		= hugeslab_nl_get_pool,
		.dumpit		= hugeslab_nl_dump_pools,
		.policy		= hugeslab_nl_get_pool_policy,
		.maxattr	= HUGESLAB_A_MAX,
	},
	{
		.cmd		= HUGESLAB_CMD_SET_CAP,
		.doit		= hugeslab_nl_set_cap,
		.policy		= hugeslab_nl_set_cap_policy,
		.maxattr	= HUGESLAB_A_MAX,
		.flags		= GENL_ADMIN_PERM,
	},
};

static struct genl_family hugeslab_nl_family = {
	.name		= HUGESLAB_GENL_NAME,
	.version	= HUGESLAB_GENL_VERSION,
	.maxattr	= HUGESLAB_A_MAX,
	.module		= THIS_MODULE,
	.ops		= hugeslab_nl_ops,
	.n_ops		= ARRAY_SIZE(hugeslab_nl_ops),
	.mcgrps		= hugeslab_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(hugeslab_nl_mcgrps),
};

/* Start an event message, or NULL when nobody listens. */
static struct sk_buff *event_new(u8 cmd, void **hdr)
{
	struct sk_buff *msg;

	lockdep_assert_held(&nl_lock);
	if (!nl_registered ||
	    !genl_has_listeners(&hugeslab_nl_family, &init_net,
				HUGESLAB_MCGRP_EVENTS))
		return NULL;
	msg = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &hugeslab_nl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static void event_send(struct sk_buff *msg, void *hdr, int ret)
{
	if (ret) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast(&hugeslab_nl_family, msg, 0, HUGESLAB_MCGRP_EVENTS,
			  GFP_KERNEL);
}

/**
 * hugeslab_nl_pool_event() - announce that a pool was created or destroyed
 * @cmd: %HUGESLAB_CMD_POOL_CREATED or %HUGESLAB_CMD_POOL_DESTROYED
 * @pool: the pool, live or in its release
 *
 * Listeners need CAP_NET_ADMIN in the initial namespace: attacher pids are
 * given as the initial pid namespace sees them.
 */
void hugeslab_nl_pool_event(u8 cmd, struct hugeslab_pool *pool)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	mutex_lock(&nl_lock);
	msg = event_new(cmd, &hdr);
	if (msg) {
		hugeslab_pools_lock();
		ret = put_pool(msg, pool, &init_pid_ns);
		hugeslab_pools_unlock();
		event_send(msg, hdr, ret);
	}
	mutex_unlock(&nl_lock);
}

/**
 * hugeslab_nl_alloc_failed() - announce a CREATE refused for memory
 * @pool: the pool that was being created
 * @reason: enum hugeslab_fail_reason
 */
void hugeslab_nl_alloc_failed(struct hugeslab_pool *pool, u32 reason)
{
	struct sk_buff *msg;
	void *hdr;

	mutex_lock(&nl_lock);
	msg = event_new(HUGESLAB_CMD_ALLOC_FAILED, &hdr);
	if (msg)
		event_send(msg, hdr,
			   nla_put_u32(msg, HUGESLAB_A_FAIL_REASON, reason) ||
			   nla_put_u64_64bit(msg, HUGESLAB_A_POOL_SIZE,
					     pool->size, HUGESLAB_A_PAD) ||
			   nla_put_u32(msg, HUGESLAB_A_POOL_OWNER_PID,
				       pool->owner_pid) ||
			   nla_put_u32(msg, HUGESLAB_A_POOL_OWNER_UID,
				       from_kuid_munged(&init_user_ns,
							pool->owner_uid)) ||
			   (pool->name[0] &&
			    nla_put_string(msg, HUGESLAB_A_POOL_NAME,
					   pool->name)));
	mutex_unlock(&nl_lock);
}

/**
 * hugeslab_nl_cap_changed() - announce a new cap on pinned memory
 * @old_bytes: the cap before
 * @new_bytes: the cap now
 */
void hugeslab_nl_cap_changed(u64 old_bytes, u64 new_bytes)
{
	struct sk_buff *msg;
	void *hdr;

	mutex_lock(&nl_lock);
	msg = event_new(HUGESLAB_CMD_CAP_CHANGED, &hdr);
	if (msg)
		event_send(msg, hdr,
			   nla_put_u64_64bit(msg, HUGESLAB_A_CAP_BYTES,
					     new_bytes, HUGESLAB_A_PAD) ||
			   nla_put_u64_64bit(msg, HUGESLAB_A_OLD_CAP_BYTES,
					     old_bytes, HUGESLAB_A_PAD));
	mutex_unlock(&nl_lock);
}

int hugeslab_nl_init(void)
{
	int ret;

	ret = genl_register_family(&hugeslab_nl_family);
	if (ret)
		return ret;
	mutex_lock(&nl_lock);
	nl_registered = true;
	mutex_unlock(&nl_lock);
	return 0;
}

void hugeslab_nl_exit(void)
{
	/* A write to max_pinned_mb may still race with the module's exit. */
	mutex_lock(&nl_lock);
	nl_registered = false;
	mutex_unlock(&nl_lock);
	genl_unregister_family(&hugeslab_nl_family);
}

MODULE_ALIAS_GENL_FAMILY(HUGESLAB_GENL_NAME);
