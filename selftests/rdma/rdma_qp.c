// SPDX-License-Identifier: GPL-2.0
/*
 * RC queue pair setup for rdma_test over soft-RoCE.  Both processes use the
 * same rxe device (rxe0 on a veth in the VM): rxe delivers a packet whose
 * destination GID is its own through its loopback path, after building
 * and checking every RoCEv2 packet like a remote one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdma_qp.h"

#define RQ_PORT		1
#define RQ_DEPTH	4

/*
 * The IPv4-mapped GID (::ffff:a.b.c.d) is the RoCEv2 entry for the veth's
 * address; the link-local IPv6 entries need DAD and may not exist yet.
 */
static int find_ipv4_gid(struct ibv_context *ctx, union ibv_gid *gid)
{
	static const uint8_t v4map[12] = { [10] = 0xff, [11] = 0xff };
	struct ibv_port_attr pa;
	int i;

	if (ibv_query_port(ctx, RQ_PORT, &pa))
		return -1;
	for (i = 0; i < pa.gid_tbl_len && i < 64; i++) {
		if (ibv_query_gid(ctx, RQ_PORT, i, gid))
			continue;
		if (!memcmp(gid->raw, v4map, sizeof(v4map)))
			return i;
	}
	return -1;
}

static int open_device(struct rq_ctx *c)
{
	struct ibv_device **list;
	int n, ret = 0;

	list = ibv_get_device_list(&n);
	if (!list)
		return errno ? errno : ENODEV;
	if (n < 1)
		ret = ENODEV;
	else if (!(c->ctx = ibv_open_device(list[0])))
		ret = errno ? errno : ENODEV;
	ibv_free_device_list(list);
	return ret;
}

int rq_open(struct rq_ctx *c)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = RQ_DEPTH, .max_recv_wr = RQ_DEPTH,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_qp_attr init = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RQ_PORT,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
	};
	int ret;

	memset(c, 0, sizeof(*c));
	ret = open_device(c);
	if (ret)
		return ret;
	c->gid_index = find_ipv4_gid(c->ctx, &c->gid);
	if (c->gid_index < 0) {
		ret = ENOENT;
		goto err;
	}
	ret = ENOMEM;
	c->pd = ibv_alloc_pd(c->ctx);
	if (!c->pd)
		goto err;
	c->cq = ibv_create_cq(c->ctx, RQ_DEPTH, NULL, NULL, 0);
	if (!c->cq)
		goto err;
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	c->qp = ibv_create_qp(c->pd, &qa);
	if (!c->qp)
		goto err;
	ret = ibv_modify_qp(c->qp, &init, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	if (ret)
		goto err;
	return 0;
err:
	rq_close(c);
	return ret;
}

void rq_local(const struct rq_ctx *c, const struct ibv_mr *mr,
	      struct rq_peer *out)
{
	memset(out, 0, sizeof(*out));
	out->qpn = c->qp->qp_num;
	/* Any 24-bit start PSN works; a varying one catches a mixed-up peer. */
	out->psn = (uint32_t)(c->qp->qp_num * 2654435761u) & 0xffffff;
	out->rkey = mr ? mr->rkey : 0;
	out->addr = mr ? (uint64_t)(uintptr_t)mr->addr : 0;
	memcpy(out->gid, c->gid.raw, sizeof(out->gid));
}

int rq_connect(struct rq_ctx *c, const struct rq_peer *peer)
{
	struct rq_peer self;
	struct ibv_qp_attr rtr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = peer->qpn,
		.rq_psn = peer->psn,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.port_num = RQ_PORT,
			.grh = { .hop_limit = 1, .sgid_index = c->gid_index },
		},
	};
	struct ibv_qp_attr rts = {
		.qp_state = IBV_QPS_RTS,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 1,
	};
	int ret;

	rq_local(c, NULL, &self);
	rts.sq_psn = self.psn;
	memcpy(rtr.ah_attr.grh.dgid.raw, peer->gid, sizeof(peer->gid));
	ret = ibv_modify_qp(c->qp, &rtr, IBV_QP_STATE | IBV_QP_AV |
			    IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			    IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
	if (ret)
		return ret;
	return ibv_modify_qp(c->qp, &rts, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

/* One signaled RDMA WRITE of len bytes; waits up to 60 s (TCG is slow). */
int rq_write(struct rq_ctx *c, struct ibv_mr *mr, const struct rq_peer *peer,
	     size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)mr->addr,
		.length = (uint32_t)len,
		.lkey = mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr = { .rdma = { .remote_addr = peer->addr,
				  .rkey = peer->rkey } },
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	struct timespec ts = { 0, 1000000 };
	int ret, i;

	ret = ibv_post_send(c->qp, &wr, &bad);
	if (ret)
		return ret;
	for (i = 0; i < 60000; i++) {
		ret = ibv_poll_cq(c->cq, 1, &wc);
		if (ret < 0)
			return EIO;
		if (ret == 1)
			return wc.status == IBV_WC_SUCCESS ? 0 : EIO;
		nanosleep(&ts, NULL);
	}
	return ETIMEDOUT;
}

void rq_close(struct rq_ctx *c)
{
	if (c->qp)
		ibv_destroy_qp(c->qp);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->ctx)
		ibv_close_device(c->ctx);
	memset(c, 0, sizeof(*c));
}
