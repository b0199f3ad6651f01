/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One RC queue pair on a soft-RoCE (rxe) device, for rdma_test: open the
 * device, register memory, exchange the connection data with the peer and
 * bring the QP to RTS.  Only what an RDMA WRITE between two processes needs.
 */
#ifndef HS_RDMA_QP_H
#define HS_RDMA_QP_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

/* What a peer needs to reach this QP and write into its memory. */
struct rq_peer {
	uint32_t qpn;
	uint32_t psn;
	uint32_t rkey;
	uint32_t pad;
	uint64_t addr;
	uint8_t gid[16];
};

struct rq_ctx {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	int gid_index;
	union ibv_gid gid;
};

/* Each returns 0 or a positive errno and leaves nothing allocated on error. */
int rq_open(struct rq_ctx *c);
int rq_connect(struct rq_ctx *c, const struct rq_peer *peer);
int rq_write(struct rq_ctx *c, struct ibv_mr *mr, const struct rq_peer *peer,
	     size_t len);
void rq_close(struct rq_ctx *c);
void rq_local(const struct rq_ctx *c, const struct ibv_mr *mr,
	      struct rq_peer *out);

#endif /* HS_RDMA_QP_H */
