/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A raw generic netlink client for the hugeslab family, just enough for the
 * selftests: no libnl, so that messages can be malformed on purpose.
 */
#ifndef HS_NL_H
#define HS_NL_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include <linux/hugeslab_netlink.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define HSNL_BUF	32768

struct hsnl {
	int fd;
	int recv_size;		/* recv() buffer; 0: HSNL_BUF */
	uint32_t seq;
	uint16_t family;
	uint32_t mcgrp;
	char extack[256];	/* message of the last error, if any */
	int miss_type;		/* missing attribute of the last error, or 0 */
};

/* A message being built. */
struct hsnl_msg {
	union {
		struct nlmsghdr nlh;
		char buf[4096];
	};
};

static inline void hsnl_msg_init(struct hsnl_msg *m, uint16_t type,
				 uint16_t flags, uint8_t cmd)
{
	struct genlmsghdr *g;

	memset(m, 0, sizeof(*m));
	m->nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nlh.nlmsg_type = type;
	m->nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	g = NLMSG_DATA(&m->nlh);
	g->cmd = cmd;
	g->version = HUGESLAB_GENL_VERSION;
}

/* Append an attribute; @nla_len lets a test lie about its length. */
static inline struct nlattr *hsnl_put_raw(struct hsnl_msg *m, uint16_t type,
					  const void *data, uint16_t len,
					  uint16_t nla_len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + NLMSG_ALIGN(m->nlh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = nla_len;
	if (len)
		memcpy(a + 1, data, len);
	m->nlh.nlmsg_len = NLMSG_ALIGN(m->nlh.nlmsg_len) + NLA_ALIGN(NLA_HDRLEN + len);
	return a;
}

static inline void hsnl_put(struct hsnl_msg *m, uint16_t type,
			    const void *data, uint16_t len)
{
	hsnl_put_raw(m, type, data, len, NLA_HDRLEN + len);
}

static inline void hsnl_put_u64(struct hsnl_msg *m, uint16_t type, uint64_t v)
{
	hsnl_put(m, type, &v, sizeof(v));
}

/* Parse the attributes that follow @off bytes into a table. */
static inline void hsnl_parse(const void *data, int len, struct nlattr **tb,
			      int max)
{
	const struct nlattr *a = data;

	memset(tb, 0, sizeof(*tb) * (max + 1));
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = (struct nlattr *)a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static inline void *hsnl_data(const struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

static inline uint64_t hsnl_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	if (a)
		memcpy(&v, hsnl_data(a), sizeof(v));
	return v;
}

static inline uint32_t hsnl_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	if (a)
		memcpy(&v, hsnl_data(a), sizeof(v));
	return v;
}

typedef int (*hsnl_cb)(struct nlmsghdr *nlh, struct nlattr **tb, void *arg);

/* The error of an NLMSG_ERROR message, with its extack message saved. */
static inline int hsnl_error(struct hsnl *nl, struct nlmsghdr *nlh)
{
	struct nlmsgerr *e = NLMSG_DATA(nlh);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int off;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e->error;
	off = sizeof(*e);
	/* Without NETLINK_CAP_ACK an error echoes the whole request. */
	if (e->error && !(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	hsnl_parse((char *)e + off, (int)nlh->nlmsg_len - NLMSG_HDRLEN - off,
		   tb, NLMSGERR_ATTR_MAX);
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->extack, sizeof(nl->extack), "%s",
			 (char *)hsnl_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		nl->miss_type = hsnl_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
	return e->error;
}

/*
 * Send @m and read the answer up to its ACK or NLMSG_DONE, calling @cb for
 * every data message.  Returns 0, the negative errno of the ACK, or -errno
 * of a failed syscall.
 */
static inline int hsnl_transact(struct hsnl *nl, struct hsnl_msg *m,
				hsnl_cb cb, void *arg)
{
	static char buf[HSNL_BUF];
	int seq = ++nl->seq;

	nl->extack[0] = 0;
	nl->miss_type = 0;
	m->nlh.nlmsg_seq = seq;
	if (send(nl->fd, m, m->nlh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *nlh;
		int size = nl->recv_size ?: (int)sizeof(buf);
		int len = recv(nl->fd, buf, size, MSG_TRUNC);

		if (len < 0)
			return -errno;
		if (len > size)		/* a message did not fit: lost */
			return -EMSGSIZE;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			struct nlattr *tb[HUGESLAB_A_MAX + 1];
			int ret;

			if (nlh->nlmsg_seq != (uint32_t)seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR)
				return hsnl_error(nl, nlh);
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (!cb)
				continue;
			hsnl_parse((char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
				   nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN),
				   tb, HUGESLAB_A_MAX);
			ret = cb(nlh, tb, arg);
			if (ret)
				return ret;
		}
	}
}

struct hsnl_family_ids {
	uint16_t id;
	uint32_t mcgrp;
};

static inline int hsnl_family_cb(struct nlmsghdr *nlh, struct nlattr **unused,
				 void *arg)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1], *gtb[CTRL_ATTR_MCAST_GRP_MAX + 1];
	struct hsnl_family_ids *ids = arg;
	struct nlattr *g;
	int rem;

	hsnl_parse((char *)NLMSG_DATA(nlh) + GENL_HDRLEN,
		   nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), tb, CTRL_ATTR_MAX);
	if (tb[CTRL_ATTR_FAMILY_ID])
		memcpy(&ids->id, hsnl_data(tb[CTRL_ATTR_FAMILY_ID]), 2);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	g = hsnl_data(tb[CTRL_ATTR_MCAST_GROUPS]);
	rem = tb[CTRL_ATTR_MCAST_GROUPS]->nla_len - NLA_HDRLEN;
	while (rem >= NLA_HDRLEN && g->nla_len >= NLA_HDRLEN) {
		hsnl_parse(hsnl_data(g), g->nla_len - NLA_HDRLEN, gtb,
			   CTRL_ATTR_MCAST_GRP_MAX);
		if (gtb[CTRL_ATTR_MCAST_GRP_NAME] && gtb[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(hsnl_data(gtb[CTRL_ATTR_MCAST_GRP_NAME]),
			    HUGESLAB_GENL_MCGRP_EVENTS))
			ids->mcgrp = hsnl_u32(gtb[CTRL_ATTR_MCAST_GRP_ID]);
		rem -= NLA_ALIGN(g->nla_len);
		g = (struct nlattr *)((char *)g + NLA_ALIGN(g->nla_len));
	}
	return 0;
}

/*
 * Open a socket and resolve the family; returns 0 or -errno.  @nl->recv_size
 * may be set before (0 otherwise): the kernel sizes dump skbs by the
 * largest recv() buffer it has seen on the socket.
 */
static inline int hsnl_open(struct hsnl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct hsnl_family_ids ids = { 0 };
	struct hsnl_msg m;
	int one = 1, ret, recv_size = nl->recv_size;

	/* The caller may have chosen a recv size; keep it. */
	memset(nl, 0, sizeof(*nl));
	nl->recv_size = recv_size;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one)))
		goto err;
	hsnl_msg_init(&m, GENL_ID_CTRL, 0, CTRL_CMD_GETFAMILY);
	((struct genlmsghdr *)NLMSG_DATA(&m.nlh))->version = 2;
	hsnl_put(&m, CTRL_ATTR_FAMILY_NAME, HUGESLAB_GENL_NAME,
		 sizeof(HUGESLAB_GENL_NAME));
	ret = hsnl_transact(nl, &m, hsnl_family_cb, &ids);
	if (ret) {
		close(nl->fd);
		return ret;
	}
	nl->family = ids.id;
	nl->mcgrp = ids.mcgrp;
	return nl->family ? 0 : -ENOENT;
err:
	ret = -errno;
	close(nl->fd);
	return ret;
}

static inline void hsnl_close(struct hsnl *nl)
{
	close(nl->fd);
}

static inline int hsnl_join(struct hsnl *nl)
{
	if (setsockopt(nl->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &nl->mcgrp,
		       sizeof(nl->mcgrp)))
		return -errno;
	return 0;
}

/* Request of the family without attributes. */
static inline void hsnl_req(struct hsnl *nl, struct hsnl_msg *m, uint8_t cmd,
			    uint16_t flags)
{
	hsnl_msg_init(m, nl->family, flags, cmd);
}

/*
 * Wait up to @ms for the next event, skipping those whose cmd is not @cmd
 * (0: any).  Fills @tb; returns the event's cmd, 0 on timeout, -errno.
 */
static inline int hsnl_event(struct hsnl *nl, int cmd, struct nlattr **tb,
			     char *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = nl->fd, .events = POLLIN };

	for (;;) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		struct genlmsghdr *g;
		int len;

		if (poll(&p, 1, ms) <= 0)
			return 0;
		len = recv(nl->fd, buf, size, 0);
		if (len < 0)
			return -errno;
		if (!NLMSG_OK(nlh, len) || nlh->nlmsg_type != nl->family)
			continue;
		g = NLMSG_DATA(nlh);
		if (cmd && g->cmd != cmd)
			continue;
		hsnl_parse((char *)g + GENL_HDRLEN,
			   nlh->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), tb,
			   HUGESLAB_A_MAX);
		return g->cmd;
	}
}

/* One pool as the family reports it. */
struct hsnl_pool {
	uint64_t id;
	char name[32];
	uint32_t pid, uid;
	uint64_t size, slab_size;
	int32_t numa_node;
	uint32_t files, mappings, dmabufs;
	uint64_t ctime_ns;
	uint64_t node_slabs;	/* sum over the NODE list */
	int nr_nodes;
	uint32_t flags;		/* POOL_FLAGS */
	int destroyed;		/* POOL_DESTROYED present */
	int nr_attachers;	/* ATTACHER entries, the first 8 kept below */
	uint32_t attacher_pid[8], attacher_uid[8];
};

/* Walk the nested entries of @list, parsing each into @tb for @fn. */
static inline void hsnl_nested(const struct nlattr *list,
			       void (*fn)(struct hsnl_pool *p,
					  struct nlattr **tb),
			       struct hsnl_pool *p)
{
	struct nlattr *n = hsnl_data(list);
	int rem = list->nla_len - NLA_HDRLEN;
	struct nlattr *tb[HUGESLAB_A_MAX + 1];

	while (rem >= NLA_HDRLEN && n->nla_len >= NLA_HDRLEN) {
		hsnl_parse(hsnl_data(n), n->nla_len - NLA_HDRLEN, tb,
			   HUGESLAB_A_MAX);
		fn(p, tb);
		rem -= NLA_ALIGN(n->nla_len);
		n = (struct nlattr *)((char *)n + NLA_ALIGN(n->nla_len));
	}
}

static inline void hsnl_attacher_from(struct hsnl_pool *p, struct nlattr **tb)
{
	if (p->nr_attachers < 8) {
		p->attacher_pid[p->nr_attachers] =
			hsnl_u32(tb[HUGESLAB_A_ATTACHER_PID]);
		p->attacher_uid[p->nr_attachers] =
			hsnl_u32(tb[HUGESLAB_A_ATTACHER_UID]);
	}
	p->nr_attachers++;
}

static inline void hsnl_pool_from(struct hsnl_pool *p, struct nlattr **tb)
{
	memset(p, 0, sizeof(*p));
	p->id = hsnl_u64(tb[HUGESLAB_A_POOL_ID]);
	if (tb[HUGESLAB_A_POOL_NAME])
		snprintf(p->name, sizeof(p->name), "%s",
			 (char *)hsnl_data(tb[HUGESLAB_A_POOL_NAME]));
	p->pid = hsnl_u32(tb[HUGESLAB_A_POOL_OWNER_PID]);
	p->uid = hsnl_u32(tb[HUGESLAB_A_POOL_OWNER_UID]);
	p->size = hsnl_u64(tb[HUGESLAB_A_POOL_SIZE]);
	p->slab_size = hsnl_u64(tb[HUGESLAB_A_POOL_SLAB_SIZE]);
	p->numa_node = (int32_t)hsnl_u32(tb[HUGESLAB_A_POOL_NUMA_NODE]);
	p->files = hsnl_u32(tb[HUGESLAB_A_POOL_FILES]);
	p->mappings = hsnl_u32(tb[HUGESLAB_A_POOL_MAPPINGS]);
	p->dmabufs = hsnl_u32(tb[HUGESLAB_A_POOL_DMABUFS]);
	p->ctime_ns = hsnl_u64(tb[HUGESLAB_A_POOL_CTIME_NS]);
	p->flags = hsnl_u32(tb[HUGESLAB_A_POOL_FLAGS]);
	p->destroyed = !!tb[HUGESLAB_A_POOL_DESTROYED];
	if (tb[HUGESLAB_A_POOL_ATTACHERS])
		hsnl_nested(tb[HUGESLAB_A_POOL_ATTACHERS], hsnl_attacher_from, p);
	if (tb[HUGESLAB_A_POOL_NODES]) {
		struct nlattr *n = hsnl_data(tb[HUGESLAB_A_POOL_NODES]);
		int rem = tb[HUGESLAB_A_POOL_NODES]->nla_len - NLA_HDRLEN;
		struct nlattr *ntb[HUGESLAB_A_MAX + 1];

		while (rem >= NLA_HDRLEN && n->nla_len >= NLA_HDRLEN) {
			hsnl_parse(hsnl_data(n), n->nla_len - NLA_HDRLEN, ntb,
				   HUGESLAB_A_MAX);
			p->node_slabs += hsnl_u64(ntb[HUGESLAB_A_NODE_SLABS]);
			p->nr_nodes++;
			rem -= NLA_ALIGN(n->nla_len);
			n = (struct nlattr *)((char *)n + NLA_ALIGN(n->nla_len));
		}
	}
}

struct hsnl_pools {
	struct hsnl_pool p[64];
	int n;
};

static inline int hsnl_pools_cb(struct nlmsghdr *nlh, struct nlattr **tb,
				void *arg)
{
	struct hsnl_pools *ps = arg;

	if (ps->n < 64)
		hsnl_pool_from(&ps->p[ps->n++], tb);
	return 0;
}

/* Dump every pool the caller may see. */
static inline int hsnl_dump_pools(struct hsnl *nl, struct hsnl_pools *ps)
{
	struct hsnl_msg m;

	ps->n = 0;
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, NLM_F_DUMP);
	return hsnl_transact(nl, &m, hsnl_pools_cb, ps);
}

static inline struct hsnl_pool *hsnl_find(struct hsnl_pools *ps, uint64_t id)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (ps->p[i].id == id)
			return &ps->p[i];
	return NULL;
}

static inline struct hsnl_pool *hsnl_find_name(struct hsnl_pools *ps,
					       const char *name)
{
	int i;

	for (i = 0; i < ps->n; i++)
		if (!strcmp(ps->p[i].name, name))
			return &ps->p[i];
	return NULL;
}

static inline int hsnl_get_pool(struct hsnl *nl, uint64_t id,
				struct hsnl_pool *p)
{
	struct hsnl_pools ps = { .n = 0 };
	struct hsnl_msg m;
	int ret;

	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	hsnl_put_u64(&m, HUGESLAB_A_POOL_ID, id);
	ret = hsnl_transact(nl, &m, hsnl_pools_cb, &ps);
	if (!ret && ps.n != 1)
		ret = -EPROTO;
	if (!ret)
		*p = ps.p[0];
	return ret;
}

struct hsnl_global {
	char version[32];
	uint64_t pinned, cap, nr_pools, nr_created, alloc_failures,
		 limit_failures;
};

static inline int hsnl_global_cb(struct nlmsghdr *nlh, struct nlattr **tb,
				 void *arg)
{
	struct hsnl_global *g = arg;

	if (tb[HUGESLAB_A_VERSION])
		snprintf(g->version, sizeof(g->version), "%s",
			 (char *)hsnl_data(tb[HUGESLAB_A_VERSION]));
	g->pinned = hsnl_u64(tb[HUGESLAB_A_PINNED_BYTES]);
	g->cap = hsnl_u64(tb[HUGESLAB_A_CAP_BYTES]);
	g->nr_pools = hsnl_u64(tb[HUGESLAB_A_NR_POOLS]);
	g->nr_created = hsnl_u64(tb[HUGESLAB_A_NR_CREATED]);
	g->alloc_failures = hsnl_u64(tb[HUGESLAB_A_ALLOC_FAILURES]);
	g->limit_failures = hsnl_u64(tb[HUGESLAB_A_LIMIT_FAILURES]);
	return 0;
}

static inline int hsnl_get_global(struct hsnl *nl, struct hsnl_global *g)
{
	struct hsnl_msg m;

	memset(g, 0, sizeof(*g));
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_GLOBAL, 0);
	return hsnl_transact(nl, &m, hsnl_global_cb, g);
}

static inline int hsnl_set_cap(struct hsnl *nl, uint64_t bytes)
{
	struct hsnl_msg m;

	hsnl_req(nl, &m, HUGESLAB_CMD_SET_CAP, 0);
	hsnl_put_u64(&m, HUGESLAB_A_CAP_BYTES, bytes);
	return hsnl_transact(nl, &m, NULL, NULL);
}

#endif /* HS_NL_H */
