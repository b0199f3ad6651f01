// SPDX-License-Identifier: GPL-2.0
/*
 * RDMA on pool memory (issue 14), run in the VM over soft-RoCE (rxe0):
 * two unprivileged processes, each with RLIMIT_MEMLOCK just above its own
 * pool, create and map a pool through the raw ioctls, ibv_reg_mr it, and
 * one RDMA WRITEs its whole pool into the other's; the receiver checks
 * every byte.  Then ibv_reg_dmabuf_mr on a dma-buf exported from the pool:
 * a TAP skip with the errno where the provider has no dma-buf MRs.
 *
 * The two processes run as different uids (65534 and 65533): pools are
 * charged per user, so one uid holding both pools would need a limit of
 * twice the pool size, which the old accounting (pool + MR in pinned_vm)
 * would also have passed.  Each uid here holds exactly one pool.
 *
 * Must start as root (to drop privileges and lower the limit itself).
 * TAP on stdout; both processes print their own numbered lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hugeslab_util.h"
#include "privdrop.h"
#include "rdma_qp.h"

#define POOL_SIZE	(2 * SZ_2M)
/* Just above the pool: room for libibverbs' own small pinned pages. */
#define MEMLOCK		(POOL_SIZE + 64 * 1024)
#define SENDER_UID	NOBODY_ID
#define RECEIVER_UID	(NOBODY_ID - 1)
#define NR_TESTS	8
#define MR_ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

enum { T_POOL_S = 1, T_MR_S, T_POOL_R, T_MR_R, T_WRITE, T_DATA, T_DMABUF,
       T_CHILDREN };

static void tap(int ok, int n, const char *what, int err)
{
	if (ok)
		printf("ok %d rdma: %s\n", n, what);
	else
		printf("not ok %d rdma: %s: %s\n", n, what, strerror(err));
	fflush(stdout);
}

static int become(uid_t uid)
{
	struct rlimit rl = { MEMLOCK, MEMLOCK };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
	    setresuid(uid, uid, uid) || drop_caps())
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void print_status(const char *who)
{
	printf("# %s: uid %d RLIMIT_MEMLOCK %lu kB pool %lu kB VmLck %ld kB VmPin %ld kB\n",
	       who, (int)getuid(), MEMLOCK >> 10, POOL_SIZE >> 10,
	       proc_kb("/proc/self/status", "VmLck"),
	       proc_kb("/proc/self/status", "VmPin"));
}

/* Pool, mapping and MR of one process; numbers of its TAP lines in t_pool. */
struct side {
	int fd;
	void *buf;
	struct rq_ctx rq;
	struct ibv_mr *mr;
};

static int setup_side(struct side *s, const char *who, int t_pool)
{
	char what[64];
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->fd = hs_pool(POOL_SIZE);
	if (s->fd >= 0) {
		s->buf = hs_map(s->fd, POOL_SIZE, 0);
		if (s->buf == MAP_FAILED) {
			ret = errno;
			close(s->fd);
			s->fd = -1;
		}
	} else {
		ret = -s->fd;
	}
	snprintf(what, sizeof(what), "%s: pool created and mapped as uid %d",
		 who, (int)getuid());
	tap(s->fd >= 0, t_pool, what, ret);
	if (s->fd < 0)
		return -1;
	ret = rq_open(&s->rq);
	if (!ret) {
		s->mr = ibv_reg_mr(s->rq.pd, s->buf, POOL_SIZE, MR_ACCESS);
		if (!s->mr)
			ret = errno;
	}
	snprintf(what, sizeof(what), "%s: ibv_reg_mr of the pool within RLIMIT_MEMLOCK",
		 who);
	tap(s->mr != NULL, t_pool + 1, what, ret);
	print_status(who);
	return s->mr ? 0 : -1;
}

static void teardown_side(struct side *s)
{
	if (s->mr)
		ibv_dereg_mr(s->mr);
	if (s->rq.ctx)
		rq_close(&s->rq);
	if (s->buf && s->buf != MAP_FAILED)
		munmap(s->buf, POOL_SIZE);
	if (s->fd >= 0)
		close(s->fd);
}

/*
 * dma-buf MR: a skip with the errno where rxe (a software device, with no
 * DMA of its own) refuses it; a pass only if registration and a check of
 * the MR's length succeed.
 */
static void try_dmabuf(struct side *s)
{
	struct hugeslab_export_dmabuf ex = {
		.offset = 0, .length = POOL_SIZE, .flags = HUGESLAB_DMABUF_CLOEXEC,
	};
	struct ibv_mr *mr;
	int err;

	if (ioctl(s->fd, HUGESLAB_IOC_EXPORT_DMABUF, &ex)) {
		tap(0, T_DMABUF, "HUGESLAB_IOC_EXPORT_DMABUF", errno);
		return;
	}
	mr = ibv_reg_dmabuf_mr(s->rq.pd, 0, POOL_SIZE, 0, ex.fd, MR_ACCESS);
	err = errno;
	if (mr) {
		tap(mr->length == POOL_SIZE, T_DMABUF,
		    "ibv_reg_dmabuf_mr on a pool dma-buf", EINVAL);
		ibv_dereg_mr(mr);
	} else {
		printf("ok %d rdma: ibv_reg_dmabuf_mr on a pool dma-buf # SKIP provider %s refuses it: errno %d (%s)\n",
		       T_DMABUF, ibv_get_device_name(s->rq.ctx->device), err,
		       strerror(err));
		fflush(stdout);
	}
	close(ex.fd);
}

static int xfer(int sock, void *out, const void *in, size_t len)
{
	if (in && write(sock, in, len) != (ssize_t)len)
		return -1;
	if (out && read(sock, out, len) != (ssize_t)len)
		return -1;
	return 0;
}

static int receiver(int sock)
{
	struct rq_peer self, peer;
	struct side s;
	char done;
	int ret;

	if (become(RECEIVER_UID))
		return 1;
	if (setup_side(&s, "receiver", T_POOL_R))
		goto out;
	/* The sender writes a pattern; zeroes would pass a missed write. */
	memset(s.buf, 0, POOL_SIZE);
	rq_local(&s.rq, s.mr, &self);
	if (xfer(sock, &peer, &self, sizeof(self)))
		goto out;
	ret = rq_connect(&s.rq, &peer);
	if (ret)
		printf("# receiver: connect: %s\n", strerror(ret));
	if (xfer(sock, &done, &done, 1) || !done)
		goto out;
	{
		uint64_t *want = malloc(POOL_SIZE);

		if (want) {
			const uint8_t *a = (const uint8_t *)want, *b = s.buf;
			size_t i = 0;

			fill_pattern(want, POOL_SIZE, 0x5eed);
			while (i < POOL_SIZE && a[i] == b[i])
				i++;
			if (i < POOL_SIZE)
				printf("# receiver: first wrong byte at offset %zu of %lu\n",
				       i, POOL_SIZE);
			tap(i == POOL_SIZE, T_DATA,
			    "receiver: every byte of the RDMA WRITE arrived in its pool",
			    EILSEQ);
			free(want);
		}
	}
out:
	teardown_side(&s);
	return 0;
}

static int sender(int sock)
{
	struct rq_peer self, peer;
	struct side s;
	char done = 0;
	int ret = ENOTCONN;

	if (become(SENDER_UID))
		return 1;
	if (setup_side(&s, "sender", T_POOL_S))
		goto out;
	fill_pattern(s.buf, POOL_SIZE, 0x5eed);
	rq_local(&s.rq, s.mr, &self);
	if (xfer(sock, &peer, &self, sizeof(self)))
		goto out;
	ret = rq_connect(&s.rq, &peer);
	if (!ret)
		ret = rq_write(&s.rq, s.mr, &peer, POOL_SIZE);
	tap(!ret, T_WRITE, "sender: RDMA WRITE of its pool into the receiver's pool completed",
	    ret);
	done = !ret;
	xfer(sock, &done, &done, 1);
	try_dmabuf(&s);
out:
	if (!done)
		xfer(sock, NULL, &done, 1);
	teardown_side(&s);
	return 0;
}

static pid_t spawn(int (*fn)(int), int sock, int other)
{
	pid_t pid = fork();

	if (pid == 0) {
		close(other);
		_exit(fn(sock));
	}
	return pid;
}

int main(void)
{
	int sv[2], st1 = -1, st2 = -1;
	pid_t p1, p2;

	printf("1..%d\n", NR_TESTS);
	fflush(stdout);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		tap(0, T_CHILDREN, "socketpair", errno);
		return 1;
	}
	p1 = spawn(sender, sv[0], sv[1]);
	p2 = spawn(receiver, sv[1], sv[0]);
	close(sv[0]);
	close(sv[1]);
	if (p1 > 0)
		waitpid(p1, &st1, 0);
	if (p2 > 0)
		waitpid(p2, &st2, 0);
	tap(WIFEXITED(st1) && !WEXITSTATUS(st1) && WIFEXITED(st2) &&
	    !WEXITSTATUS(st2), T_CHILDREN,
	    "both processes dropped to their uid and exited cleanly", ECHILD);
	return 0;
}
