// SPDX-License-Identifier: MIT
/*
 * wio.c: write engines of hugeslab-sink.
 *
 * uring: io_uring WRITE_FIXED from the pool's memory, registered as fixed
 *	buffers by hs_pool_uring_register() (pieces of at most 1 GiB, the
 *	index of each write from hs_buf_uring_index()); completions are
 *	reaped by the event loop through
 *	the ring's fd. Falls back to plain IORING_OP_WRITE when registration
 *	fails (RLIMIT_MEMLOCK), and says so: on stderr even under -q, and in
 *	the summary (wio_fixed_status()).
 * plain: pwrite(2) in the caller, completing at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "sink.h"

#define WIO_QD		256
#define WIO_CQ		8192

static int wio_fd = -1;
static unsigned int inflight;
static const char *engine = "pwrite";
static int fixed_err;	/* errno of a failed buffer registration */

#ifdef HAVE_LIBURING
static struct io_uring ring;
static bool use_uring;
static bool fixed;
static struct hs_pool *fixed_pool;	/* registered with the ring */
static unsigned long long unfixed;	/* IORING_OP_WRITE despite @fixed */

static int uring_init(struct hs_pool *pool, bool quiet)
{
	struct io_uring_params params;
	int ret;

	/* Multishot receives post many completions per submission. */
	memset(&params, 0, sizeof(params));
	params.flags = IORING_SETUP_CQSIZE;
	params.cq_entries = WIO_CQ;
	ret = io_uring_queue_init_params(WIO_QD, &ring, &params);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	use_uring = true;
	engine = "io_uring write";
	if (!pool)
		return 0;
	if (hs_pool_uring_register(pool, ring.ring_fd)) {
		/* Not silenced by -q: every write now pins and unpins the
		 * pool's pages itself, which is slower and is what a too small
		 * RLIMIT_MEMLOCK looks like. */
		(void)quiet;
		fixed_err = errno;
		fprintf(stderr, "hugeslab-sink: io_uring_register_buffers: %s%s; writes use IORING_OP_WRITE from unregistered buffers\n",
			strerror(fixed_err), fixed_err == ENOMEM ?
			" (RLIMIT_MEMLOCK smaller than the pool)" : "");
		return 0;
	}
	fixed_pool = pool;
	fixed = true;
	engine = "io_uring write_fixed";
	return 0;
}

struct io_uring *wio_ring(void)
{
	return use_uring ? &ring : NULL;
}

struct io_uring_sqe *wio_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void uring_prep(struct chunk *ch)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	char *p = ch->start + ch->done_len;
	uint32_t len = ch->len - ch->done_len;
	long idx = fixed ? hs_buf_uring_index(fixed_pool, p, len, NULL) : -1;

	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
	}
	if (idx >= 0)
		io_uring_prep_write_fixed(sqe, wio_fd, p, len,
					  ch->off + ch->done_len, (int)idx);
	else
		io_uring_prep_write(sqe, wio_fd, p, len,
				    ch->off + ch->done_len);
	/* Pool buffers are all registered: a miss is a wrong index. */
	if (fixed && idx < 0)
		unfixed++;
	io_uring_sqe_set_data(sqe, ch);
}
#endif

int wio_init(struct hs_pool *pool, int fd, enum io_mode mode, bool quiet)
{
	wio_fd = fd;
	if (mode == IO_PLAIN)
		return 0;
#ifdef HAVE_LIBURING
	if (uring_init(pool, quiet) == 0)
		return 0;
	if (mode == IO_URING)
		return -1;
	if (!quiet)
		fprintf(stderr, "hugeslab-sink: io_uring unusable (%s); using pwrite\n",
			strerror(errno));
	return 0;
#else
	(void)pool;
	(void)quiet;
	if (mode == IO_URING) {
		errno = ENOSYS;
		return -1;
	}
	return 0;
#endif
}

const char *wio_name(void)
{
	return engine;
}

const char *wio_fixed_status(void)
{
#ifdef HAVE_LIBURING
	if (fixed)
		return "registered";
	if (fixed_err)
		return strerror(fixed_err);
#endif
	return "not used";
}

bool wio_fixed_failed(void)
{
	return fixed_err != 0;
}

unsigned long long wio_unfixed_writes(void)
{
#ifdef HAVE_LIBURING
	return unfixed;
#else
	return 0;
#endif
}

static int plain_write(struct chunk *ch)
{
	while (ch->done_len < ch->len) {
		ssize_t n = pwrite(wio_fd, ch->start + ch->done_len,
				   ch->len - ch->done_len,
				   (off_t)(ch->off + ch->done_len));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		ch->done_len += (uint32_t)n;
	}
	return 0;
}

int wio_submit(struct chunk *ch)
{
	ch->done_len = 0;
#ifdef HAVE_LIBURING
	if (use_uring) {
		uring_prep(ch);
		inflight++;
		return 0;
	}
#endif
	sink_chunk_done(ch, plain_write(ch));
	return 0;
}

#ifdef HAVE_LIBURING
/* Receive completions put aside by wio_wait_write(), in arrival order. */
struct deferred {
	uintptr_t ud;
	int res;
	unsigned int flags;
};
static struct deferred *dq;
static size_t dq_head, dq_n, dq_cap;
static bool deferring;

static void defer_recv(uintptr_t ud, int res, unsigned int flags)
{
	if (dq_n == dq_cap) {
		size_t cap = dq_cap ? dq_cap * 2 : 64;
		void *p = realloc(dq, cap * sizeof(*dq));

		if (!p) {
			/* cannot happen in practice; losing order is worse */
			abort();
		}
		dq = p;
		dq_cap = cap;
	}
	dq[dq_n++] = (struct deferred){ ud, res, flags };
}

/* Oldest first; handlers may defer more, which then come after. */
static int drain_deferred(void)
{
	int n = 0;

	while (dq_head < dq_n) {
		struct deferred d = dq[dq_head++];

		sink_recv_cqe((void *)(d.ud & ~(uintptr_t)WIO_TAG_RECV), d.res,
			      d.flags);
		n++;
	}
	dq_head = dq_n = 0;
	return n;
}
#endif

int wio_reap(bool wait)
{
#ifdef HAVE_LIBURING
	struct io_uring_cqe *cqe;
	int n = 0, ret;

	if (!use_uring)
		return 0;
	if (!deferring)
		n += drain_deferred();
	if (io_uring_sq_ready(&ring))
		io_uring_submit(&ring);
	for (;;) {
		if (wait && inflight && !n)
			ret = io_uring_wait_cqe(&ring, &cqe);
		else
			ret = io_uring_peek_cqe(&ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			break;
		uintptr_t ud = (uintptr_t)io_uring_cqe_get_data(cqe);
		struct chunk *ch = (struct chunk *)ud;
		unsigned int flags = cqe->flags;
		int res = cqe->res;

		io_uring_cqe_seen(&ring, cqe);
		n++;
		if (ud & WIO_TAG_RECV) {
			/* behind deferred ones, never ahead of them */
			if (deferring || dq_n)
				defer_recv(ud, res, flags);
			else
				sink_recv_cqe((void *)(ud & ~(uintptr_t)WIO_TAG_RECV),
					      res, flags);
			continue;
		}
		if (!ud)
			continue;	/* a cancel */
		if (res > 0 && ch->done_len + (uint32_t)res < ch->len) {
			/* Short write: the rest goes out again. */
			ch->done_len += (uint32_t)res;
			uring_prep(ch);
			io_uring_submit(&ring);
			continue;
		}
		inflight--;
		if (res >= 0)
			ch->done_len = ch->len;
		sink_chunk_done(ch, res > 0 ? 0 : (res == 0 ? -EIO : res));
	}
	if (!deferring)
		n += drain_deferred();
	return n;
#else
	(void)wait;
	return 0;
#endif
}

/*
 * Wait until at least one write completes, from inside a receive handler:
 * receive completions that arrive meanwhile are kept for the next
 * wio_reap(), so that a connection's data is never handled out of order.
 */
int wio_wait_write(void)
{
#ifdef HAVE_LIBURING
	unsigned int before = inflight;

	if (!use_uring || !inflight)
		return -1;
	deferring = true;
	while (inflight == before)
		wio_reap(true);
	deferring = false;
	return 0;
#else
	return -1;
#endif
}

void wio_kick(void)
{
#ifdef HAVE_LIBURING
	if (use_uring && io_uring_sq_ready(&ring))
		io_uring_submit(&ring);
#endif
}

int wio_pollfd(void)
{
#ifdef HAVE_LIBURING
	if (use_uring)
		return ring.ring_fd;
#endif
	return -1;
}

unsigned int wio_inflight(void)
{
	return inflight;
}

void wio_exit(void)
{
#ifdef HAVE_LIBURING
	if (use_uring) {
		while (inflight)
			wio_reap(true);
		io_uring_queue_exit(&ring);
		use_uring = false;
		free(dq);
		dq = NULL;
	}
#endif
}
