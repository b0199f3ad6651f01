// SPDX-License-Identifier: MIT
/*
 * worker.c: the transmission phase. A worker is one thread with its own
 * io_uring (SINGLE_ISSUER and DEFER_TASKRUN when the running kernel takes
 * them, probed at start) on which it runs every connection handed to it:
 *
 *   header  RECV of 28 bytes into the connection
 *   check   nbd_request_check() (proto.c); errors are replied to, a WRITE's
 *	     payload is then read into a 64 KiB scratch buffer and dropped
 *   admit   READ and WRITE reserve all their pool buffers at once
 *	     (hs_get_bulk(), all or none); when the pool is short the
 *	     connection stops reading (TCP back-pressure) until buffers
 *	     come back. A request of at most the small pool's buffer size
 *	     takes one small buffer, a larger one 2 MiB buffers, never
 *	     both: each class has its own pool, limits and queue of
 *	     waiters, so 4 KiB requests do not wait behind a 32 MiB one.
 *   payload RECVMSG straight into the pool buffers (a 32 MiB write fills
 *	     16 of them), woken only once the payload, or 1 MiB of it, is
 *	     queued on the socket (SO_RCVLOWAT, set_lowat())
 *   disk    WRITE_FIXED / READ_FIXED from/into the same buffers, on the
 *	     pool registered as fixed buffers, O_DIRECT; FUA writes carry
 *	     RWF_DSYNC so their completion means stable
 *   reply   sendmsg() of the header and, for a READ, the buffers; what the
 *	     socket does not take at once goes on as an io_uring SENDMSG.
 *	     A READ reply goes as IORING_OP_SENDMSG_ZC instead when the
 *	     running kernel has it (probed at start, off with --no-zerocopy;
 *	     a socket that refuses it, e.g. AF_UNIX, falls back to the copy
 *	     per connection). Its buffers go back to the pool only at the
 *	     notification CQE (IORING_CQE_F_NOTIF), not at the send
 *	     completion: until then the kernel may still read them (a TCP
 *	     write queue waiting for the peer's window, a NIC's DMA), and a
 *	     buffer handed to the next READ_FIXED would send that data.
 *
 * FLUSH, TRIM and WRITE_ZEROES go to this worker's aux thread (aux.c) and
 * come back through the worker's eventfd.
 *
 * Why it cannot deadlock: a request holds buffers only once it has all it
 * will ever need (one small buffer, or at most NBD_MAX_BUFS large ones, and
 * main.c never advertises a maximum payload larger than the 2 MiB pool),
 * and from then on it needs only
 * the disk and the socket, never another buffer. So every admitted request
 * finishes and returns its buffers, and a waiting one is retried when they
 * come back (or every 5 ms, for buffers freed by other workers).
 *
 * No allocation per request: each connection has NBD_SLOTS request slots,
 * allocated with it. A connection with every slot in use stops reading.
 *
 * Fairness: one connection holds at most cfg.conn_bufs[class] buffers
 * (half of that pool, and never less than one maximum request). A client that
 * stops reading its replies thus stalls itself, not the others; its next
 * request waits only for its own requests, which need nothing more to
 * finish, so this adds no deadlock either.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "nbd.h"

#define NBD_SLOTS	64		/* requests in flight per connection */
#define DRAIN_SIZE	(64U << 10)
#define RING_SQ		256
#define RING_CQ		4096
#define STALL_RETRY_NS	5000000LL
#define STOP_GRACE_S	10	/* at shutdown, for payloads that never come */
#define RCVLOWAT_MAX	(1U << 20)	/* see set_lowat() */
#define RCVLOWAT_MIN	(64U << 10)

/* Linux 6.2 uapi; liburing 2.3's own copy of the header predates them. */
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE	(1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED	(1U << 31)
#endif

/* user_data: a pointer (8-byte aligned) with the kind of operation. */
enum { T_CANCEL = 0, T_HDR, T_PAYLOAD, T_DISK, T_SEND, T_DRAIN, T_EVENT, T_ZC };
#define T_MASK		7ULL

struct conn;

struct req {
	struct conn *c;
	struct nbd_request r;
	struct aux_item aux;
	uint8_t reply[NBD_REPLY_LEN];
	uint32_t nbd_err;
	int err;			/* first -errno of a disk operation */
	unsigned int nbufs;
	enum nbd_class cls;		/* which pool @bufs come from */
	unsigned int pending;		/* disk operations in flight */
	uint64_t done_bytes;
	void *bufs[NBD_MAX_BUFS];
	struct iovec iov[NBD_MAX_BUFS + 1];
	unsigned int niov;
	struct msghdr msg;
	unsigned int zc_notifs;		/* SENDMSG_ZC notifications to come */
	bool zc_sent;			/* reply sent, waits for @zc_notifs */
	bool zc_used;			/* some of it went by SENDMSG_ZC */
	bool zc_copied;			/* ... and the kernel copied it anyway */
	bool zc_asked;			/* its last SENDMSG_ZC had REPORT_USAGE */
	struct req *next;
};

struct conn {
	struct worker *w;
	struct export *ex;
	int fd;
	unsigned int id;
	uint8_t hdr[NBD_REQ_LEN];
	unsigned int hdr_got;
	int lowat;			/* SO_RCVLOWAT set on @fd, 0: default (1) */
	bool recv_busy;			/* a header, payload or drain recv */
	bool hdr_wait;			/* ... and it is a header recv */
	bool sending;
	bool dead;			/* closing: no new work, free when idle */
	bool disc;			/* NBD_CMD_DISC or shutdown: no more reads */
	bool stalled;
	bool reaped;			/* on the worker's reap list */
	bool self_wait;			/* @pending waits for our own buffers */
	bool kicked;			/* on the worker's kick list */
	bool no_zc;			/* the socket refused SENDMSG_ZC */
	unsigned int held[NBD_CLASSES];	/* pool buffers held by its requests */
	unsigned int ops;		/* SQEs in flight that point into it */
	unsigned int in_aux;		/* items at the aux thread */
	unsigned int active;		/* slots in use */
	struct req *free;
	struct req *pending;		/* checked, waiting for pool buffers */
	struct req *sq_head, *sq_tail;	/* replies to send, in order */
	struct req *drain_req;
	uint64_t drain_left;
	uint8_t *drain;
	struct conn *next, *prev;
	struct conn *stall_next;
	struct conn *reap_next;
	struct conn *kick_next;
	struct req slots[NBD_SLOTS];
};

struct worker {
	struct worker_cfg cfg;
	pthread_t thread;
	struct io_uring ring;
	bool zc;			/* SENDMSG_ZC for READ replies */
	bool zc_report;			/* ... with REPORT_USAGE (Linux 6.2+) */
	bool fixed;
	long first[NBD_CLASSES];	/* fixed-buffer index of each pool's start */
	uint32_t bsize[NBD_CLASSES];	/* usable bytes per buffer of each pool */
	int efd;
	uint64_t evbuf;
	struct aux *aux;
	/* mailbox: written by other threads under @lock, then @efd kicked */
	pthread_mutex_t lock;
	pthread_cond_t started;
	int start_state;		/* 0 starting, 1 running, -errno failed */
	struct conn *inbox;
	struct aux_item *done_head, *done_tail;
	bool stop_req;
	/* worker thread only */
	bool stopping;
	struct timespec stop_at;
	struct conn *conns;
	unsigned int nconns;
	unsigned int conn_seq;
	/* waiting for buffers of one class, oldest first */
	struct conn *stall_head[NBD_CLASSES], *stall_tail[NBD_CLASSES];
	struct conn *reap;
	struct conn *kick;
	uint64_t held;			/* buffers of both classes */
	unsigned int busy[NBD_CLASSES];	/* requests holding buffers, per class */
	struct worker_stats st;		/* read by main with atomic loads */
	char desc[96];
};

#define STAT_ADD(w, f, n) __atomic_store_n(&(w)->st.f, (w)->st.f + (n), __ATOMIC_RELAXED)

static void conn_read_next(struct conn *c);
static void conn_send(struct conn *c);
static void conn_maybe_close(struct conn *c);

/* ---- ring set-up ---- */

static int ring_init(struct worker *w)
{
	static const struct { unsigned int flags; const char *name; } modes[] = {
		{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		  "single-issuer+defer-taskrun" },
		{ IORING_SETUP_SINGLE_ISSUER, "single-issuer" },
		{ 0, "plain" },
	};
	struct io_uring_params p;
	unsigned int i;
	int ret = -EINVAL;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE | modes[i].flags;
		p.cq_entries = RING_CQ;
		ret = io_uring_queue_init_params(RING_SQ, &w->ring, &p);
		if (ret != -EINVAL)
			break;
	}
	if (ret < 0)
		return ret;
	/*
	 * Both pools in one registration (a ring takes one): the index of a
	 * buffer is its pool's first index plus hs_buf_uring_index().
	 */
	w->fixed = hs_pools_uring_register((const struct hs_pool *const *)w->cfg.pools,
					   w->cfg.pools[NBD_SMALL] ? 2 : 1,
					   w->ring.ring_fd, w->first) == 0;
	if (!w->fixed) {
		int err = errno;

		/* RLIMIT_MEMLOCK: still zero-copy, minus the pinning saved. */
		fprintf(stderr, "hugeslab-nbd: worker %u: io_uring_register_buffers: %s%s; using READ/WRITE\n",
			w->cfg.idx, strerror(err), err == ENOMEM ?
			" (RLIMIT_MEMLOCK smaller than the pools)" : "");
	}
	snprintf(w->desc, sizeof(w->desc), "io_uring %s, %s", modes[i].name,
		 w->fixed ? "fixed buffers" : "unregistered buffers");
	return 0;
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	while (!sqe) {
		io_uring_submit(&w->ring);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

static void set_ud(struct io_uring_sqe *sqe, void *p, unsigned int t)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)p | t);
}

/* ---- buffers and slots ---- */

/* The class of a checked READ or WRITE: small if one small buffer holds it. */
static enum nbd_class req_class(const struct worker *w, const struct req *q)
{
	return w->cfg.pools[NBD_SMALL] && q->r.length <= w->bsize[NBD_SMALL] ?
	       NBD_SMALL : NBD_LARGE;
}

static unsigned int bufs_needed(const struct worker *w, const struct req *q)
{
	uint32_t b = w->bsize[q->cls];

	return (q->r.length + b - 1) / b;
}

static bool reserve(struct worker *w, struct req *q)
{
	unsigned int n = bufs_needed(w, q);
	enum nbd_class k = q->cls;

	if (hs_get_bulk(w->cfg.pools[k], q->bufs, n))
		return false;
	q->nbufs = n;
	q->c->held[k] += n;
	w->held += n;
	__atomic_store_n(&w->st.bufs_held, w->held, __ATOMIC_RELAXED);
	if (++w->busy[k] > w->st.peak[k])
		__atomic_store_n(&w->st.peak[k], w->busy[k], __ATOMIC_RELAXED);
	return true;
}

static void release(struct worker *w, struct req *q)
{
	if (!q->nbufs)
		return;
	hs_put_bulk(w->cfg.pools[q->cls], q->bufs, q->nbufs);
	q->c->held[q->cls] -= q->nbufs;
	w->busy[q->cls]--;
	/* Its next request waited for these: retried at the end of the turn. */
	if (q->c->self_wait && !q->c->kicked && !q->c->dead) {
		q->c->kicked = true;
		q->c->kick_next = w->kick;
		w->kick = q->c;
	}
	w->held -= q->nbufs;
	__atomic_store_n(&w->st.bufs_held, w->held, __ATOMIC_RELAXED);
	q->nbufs = 0;
}

static struct req *slot_get(struct conn *c)
{
	struct req *q = c->free;

	c->free = q->next;
	q->next = NULL;
	q->nbufs = 0;
	q->cls = NBD_LARGE;
	q->pending = 0;
	q->err = 0;
	q->nbd_err = 0;
	q->done_bytes = 0;
	c->active++;
	return q;
}

static void slot_put(struct conn *c, struct req *q)
{
	release(c->w, q);
	q->next = c->free;
	c->free = q;
	c->active--;
}

/* ---- connection life ---- */

static void conn_free(struct conn *c)
{
	struct worker *w = c->w;
	struct req *q;
	unsigned int i;

	while ((q = c->sq_head)) {
		c->sq_head = q->next;
		release(w, q);
	}
	for (i = 0; i < NBD_SLOTS; i++)
		release(w, &c->slots[i]);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	free(c->drain);
	free(c);
}

/*
 * Free @c once nothing in flight points into it any more: at the end of
 * the worker's loop turn, as the handler that got here may still be
 * running on it.
 */
static void conn_maybe_free(struct conn *c)
{
	if (c->dead && !c->ops && !c->in_aux && !c->reaped) {
		c->reaped = true;
		c->reap_next = c->w->reap;
		c->w->reap = c;
	}
}

static void stall_remove(struct conn *c)
{
	struct worker *w = c->w;
	struct conn **pp, *prev = NULL;
	enum nbd_class k;

	if (!c->stalled)
		return;
	k = c->pending->cls;
	for (pp = &w->stall_head[k]; *pp; prev = *pp, pp = &(*pp)->stall_next) {
		if (*pp == c) {
			*pp = c->stall_next;
			if (w->stall_tail[k] == c)
				w->stall_tail[k] = prev;
			break;
		}
	}
	c->stalled = false;
	c->stall_next = NULL;
}

/*
 * Close @c: log @why (NULL for an orderly end), cut the socket so that its
 * receives and sends in flight complete, and free it when they have.
 * Buffers of requests that will not complete are returned at once.
 */
static void conn_fail(struct conn *c, const char *why, bool bad)
{
	struct worker *w = c->w;

	if (c->dead)
		return;
	c->dead = true;
	if (why)
		fprintf(stderr, "hugeslab-nbd: connection %u.%u (%s) closed: %s\n",
			w->cfg.idx, c->id, c->ex->desc.name, why);
	if (bad)
		STAT_ADD(w, closed_bad, 1);
	shutdown(c->fd, SHUT_RDWR);
	if (c->pending) {
		stall_remove(c);
		c->self_wait = false;
		slot_put(c, c->pending);
		c->pending = NULL;
	}
	conn_maybe_free(c);
}

/* After NBD_CMD_DISC or at shutdown: close once every reply is out. */
static void conn_maybe_close(struct conn *c)
{
	if (c->disc && !c->dead && !c->active && !c->recv_busy && !c->sending)
		conn_fail(c, NULL, false);
}

static void conn_setup(struct worker *w, struct conn *c)
{
	unsigned int i;

	c->w = w;
	c->id = ++w->conn_seq;
	for (i = 0; i < NBD_SLOTS; i++) {
		c->slots[i].c = c;
		c->slots[i].next = c->free;
		c->free = &c->slots[i];
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	STAT_ADD(w, conns, 1);
	if (w->stopping) {
		c->disc = true;
		conn_maybe_close(c);
		return;
	}
	conn_read_next(c);
}

/* ---- receive ---- */

/*
 * Wake the receive for @want bytes only once that many are queued. The
 * socket's poll reports it readable only at SO_RCVLOWAT bytes (or at EOF,
 * an error, or TCP memory pressure), so a 1 MiB payload arriving in 64 KiB
 * segments costs one wake-up and one copy instead of one per segment;
 * measured on 1 MiB sequential writes it halved the io_uring task-work
 * runs per request (nbd.rst, "Receiving a payload"). @want is never more than
 * the receive still needs, so the bytes the client must send always reach
 * it, and at most RCVLOWAT_MAX: Linux grows the receive buffer to hold the
 * mark. The receives that use it take no MSG_WAITALL: the kernel's retry
 * of a short MSG_WAITALL receive would wait for the whole mark again, not
 * for what is left. A receive of less than RCVLOWAT_MIN (a header, a
 * 4 KiB payload) mostly finds its bytes in one segment: it keeps the mark
 * it finds unless that is above what it needs, so small I/O makes no
 * setsockopt() call.
 */
static void set_lowat(struct conn *c, uint64_t want)
{
	int v = want < RCVLOWAT_MAX ? (int)want : (int)RCVLOWAT_MAX;

	if (v < 1)
		v = 1;
	if (v == c->lowat || (v < (int)RCVLOWAT_MIN && c->lowat <= v))
		return;
	/* Only a hint: on failure the receive just wakes up earlier. */
	if (!setsockopt(c->fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof(v)))
		c->lowat = v;
}

static void submit_hdr(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c->w);

	set_lowat(c, NBD_REQ_LEN - c->hdr_got);
	io_uring_prep_recv(sqe, c->fd, c->hdr + c->hdr_got,
			   NBD_REQ_LEN - c->hdr_got, 0);
	set_ud(sqe, c, T_HDR);
	c->ops++;
	c->recv_busy = true;
	c->hdr_wait = true;
}

/* Read the next header if this connection may take another request. */
static void conn_read_next(struct conn *c)
{
	if (c->dead || c->disc || c->recv_busy || c->pending || !c->free)
		return;
	submit_hdr(c);
}

static void submit_msg(struct conn *c, struct req *q, unsigned int t)
{
	struct io_uring_sqe *sqe = get_sqe(c->w);

	if (t == T_PAYLOAD) {
		uint64_t left = 0;
		size_t i;

		for (i = 0; i < q->msg.msg_iovlen; i++)
			left += q->msg.msg_iov[i].iov_len;
		set_lowat(c, left);
		io_uring_prep_recvmsg(sqe, c->fd, &q->msg, 0);
		/*
		 * Poll first (Linux 5.19): no copy of the few segments queued
		 * at submission, then another receive for the rest; one
		 * receive once the mark is reached. Not for a small payload,
		 * which is mostly there already: the poll would only add a
		 * round of task work.
		 */
		if (left >= RCVLOWAT_MIN)
			sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
	} else
		io_uring_prep_sendmsg(sqe, c->fd, &q->msg, MSG_NOSIGNAL | MSG_WAITALL);
	set_ud(sqe, t == T_PAYLOAD ? (void *)q : (void *)c, t);
	c->ops++;
}

/* iovecs over the request's buffers, @len bytes, after @first entries. */
static void fill_iov(struct req *q, unsigned int first, uint32_t len)
{
	uint32_t b = q->c->w->bsize[q->cls];
	unsigned int i;

	for (i = 0; i < q->nbufs; i++) {
		uint32_t n = len < b ? len : b;

		q->iov[first + i].iov_base = q->bufs[i];
		q->iov[first + i].iov_len = n;
		len -= n;
	}
	q->niov = first + q->nbufs;
	memset(&q->msg, 0, sizeof(q->msg));
	q->msg.msg_iov = q->iov;
	q->msg.msg_iovlen = q->niov;
}

/* Consume @n bytes of q->msg; return true when all of it is done. */
static bool msg_advance(struct req *q, size_t n)
{
	struct iovec *v = q->msg.msg_iov;
	size_t left = q->msg.msg_iovlen;

	while (left && n >= v->iov_len) {
		n -= v->iov_len;
		v++;
		left--;
	}
	if (left) {
		v->iov_base = (char *)v->iov_base + n;
		v->iov_len -= n;
	}
	q->msg.msg_iov = v;
	q->msg.msg_iovlen = left;
	return left == 0;
}

static void submit_disk(struct worker *w, struct req *q)
{
	struct export *ex = q->c->ex;
	uint64_t off = q->r.offset;
	uint32_t len = q->r.length, b = w->bsize[q->cls];
	unsigned int i;

	q->pending = q->nbufs;
	for (i = 0; i < q->nbufs; i++) {
		struct io_uring_sqe *sqe = get_sqe(w);
		uint32_t n = len < b ? len : b;
		long idx = w->fixed ? hs_buf_uring_index(w->cfg.pools[q->cls],
							 q->bufs[i], n, NULL) : -1;

		if (idx >= 0)
			idx += w->first[q->cls];
		else
			STAT_ADD(w, unfixed, 1);

		if (q->r.type == NBD_CMD_WRITE) {
			if (idx >= 0)
				io_uring_prep_write_fixed(sqe, ex->fd, q->bufs[i], n,
							  off, (int)idx);
			else
				io_uring_prep_write(sqe, ex->fd, q->bufs[i], n, off);
			/*
			 * FUA: the completion means the data is stable. The
			 * power-cut lane's negative control (selftests/powercut)
			 * is built with NBD_TEST_BROKEN_FUA, which drops it.
			 */
#ifndef NBD_TEST_BROKEN_FUA
			if (q->r.flags & NBD_CMD_FLAG_FUA)
				sqe->rw_flags = RWF_DSYNC;
#endif
		} else if (idx >= 0) {
			io_uring_prep_read_fixed(sqe, ex->fd, q->bufs[i], n, off, (int)idx);
		} else {
			io_uring_prep_read(sqe, ex->fd, q->bufs[i], n, off);
		}
		set_ud(sqe, q, T_DISK);
		q->c->ops++;
		off += n;
		len -= n;
	}
}

static void queue_reply(struct req *q)
{
	struct conn *c = q->c;

	nbd_reply_encode(q->reply, q->nbd_err, q->r.cookie);
	if (q->nbd_err)
		STAT_ADD(c->w, errors, 1);
	if (q->r.type == NBD_CMD_READ && !q->nbd_err) {
		fill_iov(q, 1, q->r.length);
	} else {
		release(c->w, q);
		fill_iov(q, 1, 0);
	}
	q->iov[0].iov_base = q->reply;
	q->iov[0].iov_len = NBD_REPLY_LEN;
	q->zc_used = false;
	q->zc_copied = false;
	q->next = NULL;
	if (c->sq_tail)
		c->sq_tail->next = q;
	else
		c->sq_head = q;
	c->sq_tail = q;
	if (!c->sending)
		conn_send(c);
}

/* Start a checked READ or WRITE that has its buffers. */
static void start_rw(struct conn *c, struct req *q)
{
	if (q->r.type == NBD_CMD_WRITE) {
		fill_iov(q, 0, q->r.length);
		submit_msg(c, q, T_PAYLOAD);
		c->recv_busy = true;
		return;
	}
	submit_disk(c->w, q);
	conn_read_next(c);
}

static void stall_add(struct conn *c, struct req *q)
{
	struct worker *w = c->w;
	enum nbd_class k = q->cls;

	c->pending = q;
	c->stalled = true;
	c->stall_next = NULL;
	if (w->stall_tail[k])
		w->stall_tail[k]->stall_next = c;
	else
		w->stall_head[k] = c;
	w->stall_tail[k] = c;
	STAT_ADD(w, stalls, 1);
	if (k == NBD_SMALL)
		STAT_ADD(w, small_stalls, 1);
}

/* Buffers came back (here or in another worker): admit waiters in order. */
static void retry_class(struct worker *w, enum nbd_class k)
{
	struct conn *c;

	while ((c = w->stall_head[k])) {
		struct req *q = c->pending;

		if (!reserve(w, q))
			return;
		w->stall_head[k] = c->stall_next;
		if (!w->stall_head[k])
			w->stall_tail[k] = NULL;
		c->stalled = false;
		c->stall_next = NULL;
		c->pending = NULL;
		start_rw(c, q);
	}
}

static void retry_stalled(struct worker *w)
{
	retry_class(w, NBD_LARGE);
	retry_class(w, NBD_SMALL);
}

static void admit(struct conn *c, struct req *q)
{
	struct worker *w = c->w;

	q->cls = req_class(w, q);
	if (c->held[q->cls] + bufs_needed(w, q) > w->cfg.conn_bufs[q->cls]) {
		c->pending = q;
		c->self_wait = true;
		STAT_ADD(w, stalls, 1);
		if (q->cls == NBD_SMALL)
			STAT_ADD(w, small_stalls, 1);
		return;
	}
	/* Waiters first: a big request is not overtaken forever. */
	if (w->stall_head[q->cls] || !reserve(w, q)) {
		stall_add(c, q);
		return;
	}
	start_rw(c, q);
}

/* Connections whose own buffers came back: admit their waiting request. */
static void run_kicks(struct worker *w)
{
	struct conn *c;

	while ((c = w->kick)) {
		struct req *q = c->pending;

		w->kick = c->kick_next;
		c->kicked = false;
		if (c->dead || !c->self_wait || !q ||
		    c->held[q->cls] + bufs_needed(w, q) > w->cfg.conn_bufs[q->cls])
			continue;
		c->self_wait = false;
		c->pending = NULL;
		admit(c, q);
	}
}

static void dispatch(struct conn *c, struct req *q)
{
	struct worker *w = c->w;

	switch (q->r.type) {
	case NBD_CMD_DISC:
		slot_put(c, q);
		c->disc = true;
		conn_maybe_close(c);
		return;
	case NBD_CMD_FLUSH:
	case NBD_CMD_TRIM:
	case NBD_CMD_WRITE_ZEROES:
		q->aux.ex = c->ex;
		q->aux.type = q->r.type;
		q->aux.flags = q->r.flags;
		q->aux.off = q->r.offset;
		q->aux.len = q->r.length;
		c->in_aux++;
		aux_submit(w->aux, &q->aux);
		conn_read_next(c);
		return;
	default:
		admit(c, q);
	}
}

static void submit_drain(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(c->w);
	uint32_t n = c->drain_left < DRAIN_SIZE ? (uint32_t)c->drain_left : DRAIN_SIZE;

	set_lowat(c, n);
	io_uring_prep_recv(sqe, c->fd, c->drain, n, 0);
	set_ud(sqe, c, T_DRAIN);
	c->ops++;
	c->recv_busy = true;
}

static void on_hdr(struct conn *c, int res)
{
	struct worker *w = c->w;
	enum nbd_verdict v;
	const char *why;
	struct req *q;
	uint32_t err;

	c->ops--;
	c->recv_busy = false;
	c->hdr_wait = false;
	if (c->dead) {
		conn_maybe_free(c);
		return;
	}
	if (res == -ECANCELED && w->stopping) {
		c->disc = true;
		conn_maybe_close(c);
		return;
	}
	if (res <= 0) {
		if (res == 0 && !c->hdr_got)
			conn_fail(c, NULL, false);	/* closed between requests */
		else
			conn_fail(c, res ? strerror(-res) : "client closed in a request header",
				  res == 0);
		return;
	}
	c->hdr_got += (unsigned int)res;
	if (c->hdr_got < NBD_REQ_LEN && w->stopping) {
		c->disc = true;		/* a part of a header at shutdown */
		conn_maybe_close(c);
		return;
	}
	if (c->hdr_got < NBD_REQ_LEN) {
		submit_hdr(c);
		return;
	}
	c->hdr_got = 0;
	q = slot_get(c);
	if (nbd_request_decode(c->hdr, &q->r)) {
		slot_put(c, q);
		conn_fail(c, "bad request magic", true);
		return;
	}
	STAT_ADD(w, reqs, 1);
	v = nbd_request_check(&q->r, &c->ex->desc, &err, &why);
	if (v == NBD_REQ_FATAL) {
		slot_put(c, q);
		conn_fail(c, why, true);
		return;
	}
	if (v == NBD_REQ_ERROR) {
		q->nbd_err = err;
		if (q->r.type == NBD_CMD_WRITE) {
			/* Keep the stream in sync: read the payload, drop it. */
			c->drain_req = q;
			c->drain_left = q->r.length;
			if (c->drain_left) {
				submit_drain(c);
				return;
			}
		}
		queue_reply(q);
		conn_read_next(c);
		return;
	}
	dispatch(c, q);
}

static void on_drain(struct conn *c, int res)
{
	struct req *q = c->drain_req;

	c->ops--;
	c->recv_busy = false;
	if (c->dead) {
		slot_put(c, q);
		conn_maybe_free(c);
		return;
	}
	if (res <= 0) {
		slot_put(c, q);
		conn_fail(c, res ? strerror(-res) : "client closed in a write payload", res == 0);
		return;
	}
	c->drain_left -= (uint64_t)res;
	if (c->drain_left) {
		submit_drain(c);
		return;
	}
	c->drain_req = NULL;
	queue_reply(q);
	conn_read_next(c);
}

static void on_payload(struct req *q, int res)
{
	struct conn *c = q->c;

	c->ops--;
	c->recv_busy = false;
	if (c->dead || res <= 0) {
		/* The client vanished mid-write: nothing reaches the disk. */
		slot_put(c, q);
		if (!c->dead)
			conn_fail(c, res ? strerror(-res) : "client closed in a write payload",
				  res == 0);
		else
			conn_maybe_free(c);
		return;
	}
	STAT_ADD(c->w, payload_recvs, 1);
	if (!msg_advance(q, (size_t)res)) {
		submit_msg(c, q, T_PAYLOAD);
		c->recv_busy = true;
		return;
	}
	STAT_ADD(c->w, payloads, 1);
	submit_disk(c->w, q);
	conn_read_next(c);
}

static void on_disk(struct req *q, int res)
{
	struct conn *c = q->c;
	struct worker *w = c->w;

	c->ops--;
	if (res < 0 && !q->err)
		q->err = res;
	else if (res > 0)
		q->done_bytes += (uint64_t)res;
	if (--q->pending)
		return;
	if (c->dead) {
		slot_put(c, q);
		conn_maybe_free(c);
		return;
	}
	/* O_DIRECT inside the export: a short transfer is an I/O error. */
	if (!q->err && q->done_bytes != q->r.length)
		q->err = -EIO;
	q->nbd_err = nbd_errno(-q->err);
	if (q->r.type == NBD_CMD_WRITE && !q->err)
		STAT_ADD(w, wr_bytes, q->r.length);
	queue_reply(q);
}

static void send_done(struct conn *c, struct req *q)
{
	c->sq_head = q->next;
	if (!c->sq_head)
		c->sq_tail = NULL;
	if (q->r.type == NBD_CMD_READ && !q->nbd_err) {
		STAT_ADD(c->w, rd_bytes, q->r.length);
		if (q->zc_used)
			STAT_ADD(c->w, zc_sends, 1);
		else
			STAT_ADD(c->w, copy_sends, 1);
	}
	/*
	 * The negative control of t-zerocopy (NBD_TEST_BROKEN_ZC) recycles
	 * the buffers here, at the send completion, as if it were the end.
	 */
#ifndef NBD_TEST_BROKEN_ZC
	if (q->zc_notifs) {
		q->zc_sent = true;	/* on_zc() puts the slot */
		conn_read_next(c);
		return;
	}
#endif
	slot_put(c, q);
	conn_read_next(c);
}

/* A READ reply with data goes zero-copy if the kernel and socket take it. */
static bool use_zc(const struct conn *c, const struct req *q)
{
	return c->w->zc && !c->no_zc && q->r.type == NBD_CMD_READ &&
	       !q->nbd_err && q->nbufs;
}

static void submit_zc(struct conn *c, struct req *q)
{
	struct io_uring_sqe *sqe = get_sqe(c->w);

	io_uring_prep_sendmsg_zc(sqe, c->fd, &q->msg, MSG_NOSIGNAL | MSG_WAITALL);
	q->zc_asked = c->w->zc_report;
	if (q->zc_asked)
		sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
	set_ud(sqe, q, T_ZC);
	c->ops++;
	c->sending = true;
}

/*
 * Send queued replies in order. A plain sendmsg() first: a reply usually
 * fits the socket buffer, and then it costs one system call and no SQE.
 */
static void conn_send(struct conn *c)
{
	struct req *q;

	while (!c->dead && (q = c->sq_head)) {
		ssize_t n;

		if (use_zc(c, q)) {
			submit_zc(c, q);
			return;
		}
		n = sendmsg(c->fd, &q->msg, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN) {
			conn_fail(c, strerror(errno), false);
			return;
		}
		if (n > 0 && msg_advance(q, (size_t)n)) {
			send_done(c, q);
			continue;
		}
		submit_msg(c, q, T_SEND);
		c->sending = true;
		return;
	}
	if (!c->dead)
		conn_maybe_close(c);
}

static void on_send(struct conn *c, int res)
{
	struct req *q = c->sq_head;

	c->ops--;
	c->sending = false;
	if (c->dead) {
		conn_maybe_free(c);
		return;
	}
	if (res <= 0) {
		conn_fail(c, res ? strerror(-res) : "send returned 0", false);
		return;
	}
	if (!msg_advance(q, (size_t)res)) {
		submit_msg(c, q, T_SEND);
		c->sending = true;
		return;
	}
	send_done(c, q);
	conn_send(c);
}

/*
 * A SENDMSG_ZC completion of @q: either the send's result (F_MORE when a
 * notification follows) or that notification (F_NOTIF), which alone says
 * the kernel no longer reads the buffers. Each counts in c->ops, so a dead
 * connection is not freed, nor its buffers returned, before it.
 */
static void on_zc(struct req *q, int res, unsigned int flags)
{
	struct conn *c = q->c;

	c->ops--;
	if (flags & IORING_CQE_F_NOTIF) {
		if ((unsigned int)res & IORING_NOTIF_USAGE_ZC_COPIED)
			q->zc_copied = true;
		if (--q->zc_notifs == 0 && q->zc_sent) {
			q->zc_sent = false;
			if (q->zc_copied)
				STAT_ADD(c->w, zc_copied, 1);
			slot_put(c, q);
			conn_read_next(c);
		}
		conn_maybe_free(c);
		if (!c->dead)
			conn_maybe_close(c);
		return;
	}
	if (flags & IORING_CQE_F_MORE) {
		q->zc_notifs++;
		c->ops++;
	}
	c->sending = false;
	if (c->dead) {
		conn_maybe_free(c);
		return;
	}
	if (res == -EINVAL && q->zc_asked && q->msg.msg_iov == q->iov) {
		/* Before 6.2 (unless backported): no REPORT_USAGE, go on without. */
		c->w->zc_report = false;
		submit_zc(c, q);
		return;
	}
	if (res == -EOPNOTSUPP && q->msg.msg_iov == q->iov) {
		/* Not on this socket (AF_UNIX): the copying path from now on. */
		c->no_zc = true;
		conn_send(c);
		return;
	}
	if (res <= 0) {
		conn_fail(c, res ? strerror(-res) : "send returned 0", false);
		return;
	}
	q->zc_used = true;
	if (!msg_advance(q, (size_t)res)) {
		submit_zc(c, q);
		return;
	}
	send_done(c, q);
	conn_send(c);
}

/* Zero-copy replies if asked for and the running kernel has the opcode. */
static void zc_probe(struct worker *w)
{
	struct io_uring_probe *p;
	size_t n = strlen(w->desc);

	if (w->cfg.zerocopy) {
		p = io_uring_get_probe_ring(&w->ring);
		w->zc = p && io_uring_opcode_supported(p, IORING_OP_SENDMSG_ZC);
		w->zc_report = w->zc;
		io_uring_free_probe(p);
	}
	snprintf(w->desc + n, sizeof(w->desc) - n, ", %s",
		 w->zc ? "zero-copy sends" : w->cfg.zerocopy ?
		 "copied sends (no SENDMSG_ZC)" : "copied sends");
}

/* ---- mailbox: new connections, aux completions, stop ---- */

static void arm_event(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_read(sqe, w->efd, &w->evbuf, sizeof(w->evbuf), 0);
	io_uring_sqe_set_data64(sqe, T_EVENT);
}

static void begin_stop(struct worker *w)
{
	struct conn *c, *next;

	w->stopping = true;
	clock_gettime(CLOCK_MONOTONIC, &w->stop_at);
	for (c = w->conns; c; c = next) {
		next = c->next;
		if (c->dead)
			continue;
		c->disc = true;
		/* A header not yet whole is not a request in flight. */
		if (c->hdr_wait) {
			struct io_uring_sqe *sqe = get_sqe(w);

			io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)c | T_HDR, 0);
			io_uring_sqe_set_data64(sqe, T_CANCEL);
		}
		conn_maybe_close(c);
	}
}

/*
 * A request whose payload stops arriving would hold the shutdown forever:
 * after STOP_GRACE_S, cut whatever is left.
 */
static void stop_deadline(struct worker *w)
{
	struct timespec now;
	struct conn *c;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - w->stop_at.tv_sec < STOP_GRACE_S)
		return;
	for (c = w->conns; c; c = c->next)
		conn_fail(c, "shutdown: request still incomplete after the grace period",
			  false);
}

static void on_event(struct worker *w)
{
	struct aux_item *it, *next;
	struct conn *c, *cn;
	bool stop;

	pthread_mutex_lock(&w->lock);
	c = w->inbox;
	w->inbox = NULL;
	it = w->done_head;
	w->done_head = w->done_tail = NULL;
	stop = w->stop_req;
	pthread_mutex_unlock(&w->lock);
	for (; c; c = cn) {
		cn = c->next;
		c->next = NULL;
		conn_setup(w, c);
	}
	for (; it; it = next) {
		struct req *q = (struct req *)((char *)it - offsetof(struct req, aux));

		next = it->next;
		c = q->c;
		c->in_aux--;
		if (c->dead) {
			slot_put(c, q);
			conn_maybe_free(c);
			continue;
		}
		q->nbd_err = nbd_errno(-it->res);
		if (q->r.type == NBD_CMD_FLUSH)
			STAT_ADD(w, flushes, 1);
		queue_reply(q);
	}
	if (stop && !w->stopping)
		begin_stop(w);
	arm_event(w);
}

static void aux_done(void *arg, struct aux_item *it)
{
	struct worker *w = arg;
	uint64_t one = 1;

	it->next = NULL;
	pthread_mutex_lock(&w->lock);
	if (w->done_tail)
		w->done_tail->next = it;
	else
		w->done_head = it;
	w->done_tail = it;
	pthread_mutex_unlock(&w->lock);
	if (write(w->efd, &one, sizeof(one)) < 0)
		perror("hugeslab-nbd: eventfd");
}

static void handle_cqe(struct worker *w, uint64_t ud, int res, unsigned int flags)
{
	void *p = (void *)(uintptr_t)(ud & ~T_MASK);

	switch (ud & T_MASK) {
	case T_HDR:
		on_hdr(p, res);
		break;
	case T_PAYLOAD:
		on_payload(p, res);
		break;
	case T_DISK:
		on_disk(p, res);
		break;
	case T_SEND:
		on_send(p, res);
		break;
	case T_DRAIN:
		on_drain(p, res);
		break;
	case T_EVENT:
		on_event(w);
		break;
	case T_ZC:
		on_zc(p, res, flags);
		break;
	default:
		break;	/* T_CANCEL */
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int ret;

	hs_thread_set_tag(w->cfg.tag);
	ret = ring_init(w);
	if (!ret)
		zc_probe(w);	/* before worker_start() reads w->desc */
	pthread_mutex_lock(&w->lock);
	w->start_state = ret ? ret : 1;
	pthread_cond_broadcast(&w->started);
	pthread_mutex_unlock(&w->lock);
	if (ret)
		return NULL;
	arm_event(w);
	while (!w->stopping || w->nconns) {
		struct __kernel_timespec ts = { 0, STALL_RETRY_NS };
		struct io_uring_cqe *cqe;
		unsigned int head, n = 0;

		if (w->stopping)
			ts.tv_sec = 1;
		ret = io_uring_submit_and_wait_timeout(&w->ring, &cqe, 1,
						       w->stall_head[NBD_LARGE] ||
						       w->stall_head[NBD_SMALL] || w->stopping ?
						       &ts : NULL, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR) {
			fprintf(stderr, "hugeslab-nbd: worker %u: io_uring: %s\n",
				w->cfg.idx, strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(&w->ring, head, cqe) {
			handle_cqe(w, cqe->user_data, cqe->res, cqe->flags);
			n++;
		}
		io_uring_cq_advance(&w->ring, n);
		run_kicks(w);
		if (w->stall_head[NBD_LARGE] || w->stall_head[NBD_SMALL])
			retry_stalled(w);
		if (w->stopping)
			stop_deadline(w);
		while (w->reap) {
			struct conn *c = w->reap;

			w->reap = c->reap_next;
			conn_free(c);
		}
	}
	/* Every connection is gone; this also cancels the eventfd read. */
	io_uring_queue_exit(&w->ring);
	hs_thread_flush(w->cfg.pools[NBD_LARGE]);
	if (w->cfg.pools[NBD_SMALL])
		hs_thread_flush(w->cfg.pools[NBD_SMALL]);
	return NULL;
}

struct worker *worker_start(const struct worker_cfg *cfg)
{
	struct worker *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return NULL;
	w->cfg = *cfg;
	w->bsize[NBD_LARGE] = NBD_BUF_SIZE;
	if (cfg->pools[NBD_SMALL])
		w->bsize[NBD_SMALL] = (uint32_t)hs_pool_buf_size(cfg->pools[NBD_SMALL]);
	w->efd = eventfd(0, EFD_CLOEXEC);
	if (w->efd < 0)
		goto fail_free;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->started, NULL);
	w->aux = aux_start(aux_done, w);
	if (!w->aux)
		goto fail_efd;
	ret = pthread_create(&w->thread, NULL, worker_main, w);
	if (ret) {
		errno = ret;
		goto fail_aux;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->start_state)
		pthread_cond_wait(&w->started, &w->lock);
	ret = w->start_state;
	pthread_mutex_unlock(&w->lock);
	if (ret < 0) {
		pthread_join(w->thread, NULL);
		errno = -ret;
		goto fail_aux;
	}
	return w;
fail_aux:
	ret = errno;
	aux_stop(w->aux);
	errno = ret;
fail_efd:
	ret = errno;
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->started);
	errno = ret;
fail_free:
	free(w);
	return NULL;
}

static void kick(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->efd, &one, sizeof(one)) < 0)
		perror("hugeslab-nbd: eventfd");
}

int worker_add_conn(struct worker *w, int fd, struct export *ex)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c)
		c->drain = malloc(DRAIN_SIZE);
	if (!c || !c->drain) {
		free(c);
		errno = ENOMEM;
		return -1;
	}
	c->fd = fd;
	c->ex = ex;
	pthread_mutex_lock(&w->lock);
	c->next = w->inbox;
	w->inbox = c;
	pthread_mutex_unlock(&w->lock);
	kick(w);
	return 0;
}

void worker_stop(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->stop_req = true;
	pthread_mutex_unlock(&w->lock);
	kick(w);
}

void worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
	aux_stop(w->aux);
	w->aux = NULL;
}

void worker_free(struct worker *w)
{
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->started);
	free(w);
}

void worker_read_stats(const struct worker *w, struct worker_stats *st)
{
	st->reqs = __atomic_load_n(&w->st.reqs, __ATOMIC_RELAXED);
	st->rd_bytes = __atomic_load_n(&w->st.rd_bytes, __ATOMIC_RELAXED);
	st->wr_bytes = __atomic_load_n(&w->st.wr_bytes, __ATOMIC_RELAXED);
	st->flushes = __atomic_load_n(&w->st.flushes, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&w->st.errors, __ATOMIC_RELAXED);
	st->conns = __atomic_load_n(&w->st.conns, __ATOMIC_RELAXED);
	st->closed_bad = __atomic_load_n(&w->st.closed_bad, __ATOMIC_RELAXED);
	st->stalls = __atomic_load_n(&w->st.stalls, __ATOMIC_RELAXED);
	st->small_stalls = __atomic_load_n(&w->st.small_stalls, __ATOMIC_RELAXED);
	st->peak[NBD_LARGE] = __atomic_load_n(&w->st.peak[NBD_LARGE], __ATOMIC_RELAXED);
	st->peak[NBD_SMALL] = __atomic_load_n(&w->st.peak[NBD_SMALL], __ATOMIC_RELAXED);
	st->unfixed = __atomic_load_n(&w->st.unfixed, __ATOMIC_RELAXED);
	st->payloads = __atomic_load_n(&w->st.payloads, __ATOMIC_RELAXED);
	st->payload_recvs = __atomic_load_n(&w->st.payload_recvs, __ATOMIC_RELAXED);
	st->zc_sends = __atomic_load_n(&w->st.zc_sends, __ATOMIC_RELAXED);
	st->copy_sends = __atomic_load_n(&w->st.copy_sends, __ATOMIC_RELAXED);
	st->zc_copied = __atomic_load_n(&w->st.zc_copied, __ATOMIC_RELAXED);
	st->bufs_held = __atomic_load_n(&w->st.bufs_held, __ATOMIC_RELAXED);
}

const char *worker_ring_desc(const struct worker *w)
{
	return w->desc;
}
