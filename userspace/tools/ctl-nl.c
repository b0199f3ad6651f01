// SPDX-License-Identifier: GPL-2.0
/*
 * hugeslabctl's generic netlink side: one request and its answer
 * (ctl_request), and the pool dump that `pools`, `destroy` and `load` read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "ctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct req_ctx {
	int done;
	int error;		/* negative errno from the kernel */
	char extack[256];
	int (*handler)(struct nlattr **tb, uint8_t cmd, void *arg);
	void *arg;
};

/* Returns an exit code; on failure nothing is left allocated. */
int ctl_open(struct ctl *c)
{
	int one = 1, ret;

	c->sk = nl_socket_alloc();
	if (!c->sk) {
		err_msg("out of memory");
		return EXIT_ERR;
	}
	if (genl_connect(c->sk)) {
		err_msg("cannot open a generic netlink socket");
		ret = EXIT_ERR;
		goto fail;
	}
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	c->family = genl_ctrl_resolve(c->sk, HUGESLAB_GENL_NAME);
	if (c->family < 0) {
		err_msg("generic netlink family \"%s\" not found: is the hugeslab module loaded?",
			HUGESLAB_GENL_NAME);
		ret = EXIT_NOMODULE;
		goto fail;
	}
	return EXIT_OK;
fail:
	nl_socket_free(c->sk);
	c->sk = NULL;
	return ret;
}

void ctl_close(struct ctl *c)
{
	nl_socket_free(c->sk);
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct req_ctx *ctx = arg;
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[HUGESLAB_A_MAX + 1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, HUGESLAB_A_MAX, NULL) < 0)
		return NL_SKIP;
	if (ctx->handler && ctx->handler(tb, g->cmd, ctx->arg))
		return NL_STOP;
	return NL_OK;
}

static int finish_cb(struct nl_msg *msg, void *arg)
{
	((struct req_ctx *)arg)->done = 1;
	return NL_STOP;
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)e - 1;
	struct req_ctx *ctx = arg;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int off = sizeof(*e);

	ctx->error = e->error;
	ctx->done = 1;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(e->msg);
		if (nla_parse(tb, NLMSGERR_ATTR_MAX,
			      (struct nlattr *)((char *)e + off),
			      nlh->nlmsg_len - NLMSG_HDRLEN - off, NULL) == 0 &&
		    tb[NLMSGERR_ATTR_MSG])
			snprintf(ctx->extack, sizeof(ctx->extack), "%s",
				 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	}
	return NL_STOP;
}

/*
 * Send a request built by @fill and read its answer, calling @handler per
 * reply.  Returns 0 or a negative errno, with the kernel's message shown.
 */
int ctl_request(struct ctl *c, uint8_t cmd, int flags,
		int (*fill)(struct nl_msg *msg, void *arg), void *fill_arg,
		int (*handler)(struct nlattr **tb, uint8_t cmd, void *arg),
		void *arg)
{
	struct req_ctx ctx = { .handler = handler, .arg = arg };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int ret;

	if (!msg || !cb ||
	    !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family, 0, flags,
			 cmd, HUGESLAB_GENL_VERSION) ||
	    (fill && fill(msg, fill_arg))) {
		ret = -ENOMEM;
		goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, &ctx);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, &ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, finish_cb, &ctx);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, &ctx);
	ret = nl_send_auto(c->sk, msg);
	if (ret < 0) {
		ret = -EIO;
		goto out;
	}
	ret = 0;
	while (!ctx.done) {
		int r = nl_recvmsgs(c->sk, cb);

		if (r < 0 && !ctx.done) {
			ret = -EIO;
			break;
		}
	}
	if (ctx.error) {
		ret = ctx.error;
		if (ctx.extack[0])
			err_msg("%s: %s", strerror(-ret), ctx.extack);
		else
			err_msg("%s", strerror(-ret));
	}
out:
	nlmsg_free(msg);
	nl_cb_put(cb);
	return ret;
}

uint64_t get_u64(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u64(tb[a]) : 0;
}

uint32_t get_u32(struct nlattr **tb, int a)
{
	return tb[a] ? nla_get_u32(tb[a]) : 0;
}

/* Every ATTACHER of the nest: the first POOL_ROW_ATTACHERS are kept. */
static void attachers_from_attrs(struct pool_row *r, struct nlattr *nest)
{
	struct nlattr *a;
	int rem;

	nla_for_each_nested(a, nest, rem) {
		struct nlattr *atb[HUGESLAB_A_MAX + 1];

		if (nla_type(a) != HUGESLAB_A_ATTACHER ||
		    nla_parse_nested(atb, HUGESLAB_A_MAX, a, NULL) < 0)
			continue;
		if (r->nr_attachers < POOL_ROW_ATTACHERS) {
			r->att_pid[r->nr_attachers] = get_u32(atb, HUGESLAB_A_ATTACHER_PID);
			r->att_uid[r->nr_attachers] = get_u32(atb, HUGESLAB_A_ATTACHER_UID);
		}
		r->nr_attachers++;
	}
}

void pool_from_attrs(struct pool_row *r, struct nlattr **tb)
{
	memset(r, 0, sizeof(*r));
	r->id = get_u64(tb, HUGESLAB_A_POOL_ID);
	if (tb[HUGESLAB_A_POOL_NAME])
		snprintf(r->name, sizeof(r->name), "%s",
			 nla_get_string(tb[HUGESLAB_A_POOL_NAME]));
	r->pid = get_u32(tb, HUGESLAB_A_POOL_OWNER_PID);
	r->uid = get_u32(tb, HUGESLAB_A_POOL_OWNER_UID);
	r->size = get_u64(tb, HUGESLAB_A_POOL_SIZE);
	r->slab_size = get_u64(tb, HUGESLAB_A_POOL_SLAB_SIZE);
	r->numa_node = tb[HUGESLAB_A_POOL_NUMA_NODE] ?
		(int32_t)nla_get_u32(tb[HUGESLAB_A_POOL_NUMA_NODE]) : -1;
	r->files = get_u32(tb, HUGESLAB_A_POOL_FILES);
	r->mappings = get_u32(tb, HUGESLAB_A_POOL_MAPPINGS);
	r->dmabufs = get_u32(tb, HUGESLAB_A_POOL_DMABUFS);
	r->ctime_ns = get_u64(tb, HUGESLAB_A_POOL_CTIME_NS);
	if (tb[HUGESLAB_A_POOL_NODES]) {
		struct nlattr *n;
		int rem;
		size_t off = 0;

		nla_for_each_nested(n, tb[HUGESLAB_A_POOL_NODES], rem) {
			struct nlattr *ntb[HUGESLAB_A_MAX + 1];

			if (nla_parse_nested(ntb, HUGESLAB_A_MAX, n, NULL) < 0)
				continue;
			if (r->nr_nodes < 8) {
				r->node_id[r->nr_nodes] = get_u32(ntb, HUGESLAB_A_NODE_ID);
				r->node_slabs[r->nr_nodes] = get_u64(ntb, HUGESLAB_A_NODE_SLABS);
			}
			if (off < sizeof(r->nodes))
				off += snprintf(r->nodes + off, sizeof(r->nodes) - off,
						"%s%" PRIu32 ":%" PRIu64, off ? " " : "",
						get_u32(ntb, HUGESLAB_A_NODE_ID),
						get_u64(ntb, HUGESLAB_A_NODE_SLABS));
			r->nr_nodes++;
		}
	}
	r->flags = get_u32(tb, HUGESLAB_A_POOL_FLAGS);
	r->destroyed = tb[HUGESLAB_A_POOL_DESTROYED] != NULL;
	if (tb[HUGESLAB_A_POOL_ATTACHERS])
		attachers_from_attrs(r, tb[HUGESLAB_A_POOL_ATTACHERS]);
}

static int pools_handler(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct pool_list *l = arg;

	if (l->n == l->cap) {
		void *p = realloc(l->rows, (l->cap * 2 + 16) * sizeof(*l->rows));

		if (!p)
			return -1;
		l->rows = p;
		l->cap = l->cap * 2 + 16;
	}
	pool_from_attrs(&l->rows[l->n++], tb);
	return 0;
}

int pool_dump(struct ctl *c, struct pool_list *l)
{
	int ret;

	ret = ctl_request(c, HUGESLAB_CMD_GET_POOL, NLM_F_DUMP, NULL, NULL,
			  pools_handler, l);
	if (ret) {
		free(l->rows);
		l->rows = NULL;
		l->n = 0;
		l->cap = 0;
	}
	return ret;
}

const struct pool_row *pool_find(const struct pool_list *l, const char *name)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (!l->rows[i].destroyed && !strcmp(l->rows[i].name, name))
			return &l->rows[i];
	return NULL;
}

const char *fmt_attachers(const struct pool_row *r, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < r->nr_attachers && i < POOL_ROW_ATTACHERS; i++) {
		if (off >= len)
			break;
		off += snprintf(buf + off, len - off, "%s%" PRIu32, i ? "," : "",
				r->att_pid[i]);
	}
	if (r->nr_attachers > POOL_ROW_ATTACHERS && off < len)
		snprintf(buf + off, len - off, ",+%d",
			 r->nr_attachers - POOL_ROW_ATTACHERS);
	if (!buf[0])
		snprintf(buf, len, "-");
	return buf;
}

const char *fmt_persistent(const struct pool_row *r)
{
	if (r->destroyed)
		return "destroyed";
	return r->flags & HUGESLAB_CREATE_PERSISTENT ? "yes" : "no";
}
