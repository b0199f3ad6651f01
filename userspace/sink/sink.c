// SPDX-License-Identifier: MIT
/*
 * hugeslab-sink: receive framed records over TCP into pool buffers and
 * write them to a data file or block device with O_DIRECT from the same
 * buffers, with an index, acknowledgements after the write (and the fsync
 * when one is asked for), and back-pressure when the pool is empty.
 *
 * Receive path: one thread, epoll, non-blocking recv(2) straight into the
 * connection's current pool buffer. Records are packed back to back in a
 * buffer; a header is read ahead with the end of the previous payload, and
 * only when a record does not fit in what is left of the buffer are its
 * header bytes (at most 32) moved to a fresh buffer. Complete records are
 * written as a chunk: the 4 KiB-aligned range of the buffer that holds them.
 *
 * --baseline: what storage daemons do today: malloc(3) per record, recv(2)
 * into it, buffered pwrite(2) (a copy into the page cache), free(3).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <libgen.h>
#include <unistd.h>

#include "sink.h"

#define HS_RECV_BUDGET	(4U << 20)	/* bytes per connection per wakeup */
/*
 * Small records are coalesced: a chunk ends on a record, so its last page
 * is partial and is written again at the start of the next chunk. Writing
 * only once 64 KiB are complete (or the oldest complete record has waited
 * 2 ms: the ack waits that long at most) bounds that to one page per
 * 64 KiB, or per 2 ms of a trickle, instead of one page per wakeup.
 */
#define HS_COALESCE_BYTES	(64U << 10)
#define HS_COALESCE_NS		2000000ULL
/* multishot: completions smaller than this are copied behind the records
 * waiting in the connection's buffer instead of written on their own */
#define HS_MS_COPY_MAX		(16U << 10)
#define HS_MAX_EVENTS	64
#define TAG_RECV	1

enum conn_state { ST_HDR, ST_BODY };

struct conn {
	int fd;
	uint32_t id;
	uint32_t stream;
	bool have_stream;
	uint64_t next_seq;
	enum conn_state state;
	struct hs_rec_hdr hdr;

	char *buf;		/* current receive buffer, NULL if none */
	uint32_t pos;		/* bytes received into buf */
	uint32_t rec_start;	/* start of the record being received */
	uint32_t flushed;	/* buf offset up to which records are written */
	char stash[HS_REC_HDR];	/* header bytes between two buffers */
	uint32_t stash_len;

	struct hs_idx_ent *ents;	/* complete records not yet written */
	uint32_t nents, ents_cap;
	uint64_t ents_payload;
	uint64_t pend_ns;	/* when the oldest of them was complete */

	struct chunk *q_head, *q_tail;	/* writes in submission order */
	unsigned int q_len;
	uint64_t durable_seq;	/* on disk and indexed */
	uint64_t synced_seq;	/* ... and synced as --fsync asks */
	uint64_t acked_seq;

	/* multishot receive */
	bool ms_armed;		/* a multishot recv is posted */
	bool ms_want_arm;	/* to post once the buffer ring has buffers */
	bool in_x;		/* c->buf is a ring buffer being parsed */

	/* The ack frame on its way out: a frame is sent whole, across as
	 * many send(2) calls as it takes, before the next one is built. */
	struct hs_ack ack_out;
	uint32_t ack_off;	/* bytes of ack_out sent; 0: none in progress */
	bool ack_blocked;	/* socket full: EPOLLOUT armed */

	bool waiting;		/* for a buffer */
	bool reading;		/* EPOLLIN armed */
	uint32_t ev_mask;	/* events registered with epoll, 0: none */
	bool closing;
	bool eof;
	struct conn *wait_next;
	struct conn *all_next, *all_prev;
};

static struct sink_opts opt;
static struct hs_pool *pool;
static int data_fd = -1, idx_fd = -1, lfd = -1, ep = -1;
static uint64_t data_off, data_limit;
static uint64_t data_alloc;	/* regular file: allocated up to here */
static bool data_prealloc_off;	/* fallocate not supported there */
static bool idx_prealloc_off;
#define DATA_PREALLOC	(64ULL << 20)
#define IDX_PREALLOC	(1ULL << 20)
static bool data_is_bdev;
static volatile sig_atomic_t stop_sig;
static bool stopping;
static struct conn *conns, *wait_head, *wait_tail;
static unsigned int nconns, closed_conns;
static uint32_t next_conn_id;
static bool fatal;
static bool use_ms;		/* multishot recv + provided buffer ring */

/* index entries durable on disk, not yet written to the index file */
static struct hs_idx_ent *istage;
static size_t istage_n, istage_cap;
static uint64_t unsynced_bytes;
static bool sync_pending;

/* the index: next block to append, its commit number, blocks buffer */
static uint64_t idx_next_blk = 1, idx_commit = 1, idx_alloc;
static uint32_t idx_id;
static bool idx_is_bdev;
static char *iblk;
static size_t iblk_cap;

/* statistics */
static struct {
	uint64_t bytes, records, chunks, disk_bytes, copied, syncs;
	uint64_t bufs_out, bufs_hwm, empty_waits, bad_conns;
	uint64_t acks, ack_blocked, ack_short;
	uint64_t idx_bytes, commits, recovered, recovered_cut;
	uint64_t t0, t_last, first_ns, last_ns;
	uint64_t cache0, cache_peak, rss_peak_kb;
} st;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hugeslab-sink: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---------------------------------------------------------------- buffers */

static char *buf_get(void)
{
	char *b = hs_get(pool);

	if (!b)
		return NULL;
	if (++st.bufs_out > st.bufs_hwm)
		st.bufs_hwm = st.bufs_out;
	return b;
}

/*
 * A buffer has one holder per user: the connection receiving into it and
 * each chunk being written from it; each holds a pool reference. st.bufs_out
 * counts buffers with at least one holder, for the high-water mark.
 */
static uint32_t *holders;	/* per dense buffer index */

static void buf_ref(void *b)
{
	hs_ref(pool, b);
	holders[hs_buf_index(pool, b)]++;
}

static void buf_unref(void *b)
{
	long i = hs_buf_index(pool, b);

	if (--holders[i] == 0)
		st.bufs_out--;
	if (hs_put(pool, b)) {
		logmsg("hs_put: %s", strerror(errno));
		fatal = true;
	}
}

static char *buf_new(void)
{
	char *b = buf_get();

	if (b)
		holders[hs_buf_index(pool, b)] = 1;
	return b;
}

/* ---------------------------------------------------------------- conns */

static void ms_cancel(struct conn *c);
static void serve_waiters(void);

/* Register with epoll what @c waits for: EPOLLIN while it reads with
 * recv(2), EPOLLOUT while an ack waits for room in the socket. */
static void conn_epoll(struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	int op;

	if (c->fd < 0)
		return;
	ev.events = (c->reading ? EPOLLIN : 0) | (c->ack_blocked ? EPOLLOUT : 0);
	if (ev.events == c->ev_mask)
		return;
	op = !ev.events ? EPOLL_CTL_DEL : c->ev_mask ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	epoll_ctl(ep, op, c->fd, &ev);
	c->ev_mask = ev.events;
}

/* A connection waiting for a buffer stops reading: the TCP window closes. */
static void conn_arm(struct conn *c, bool on)
{
	if (c->reading == on || c->fd < 0)
		return;
	c->reading = on;
	conn_epoll(c);
}

static void wait_add(struct conn *c)
{
	if (c->waiting)
		return;
	c->waiting = true;
	c->wait_next = NULL;
	if (wait_tail)
		wait_tail->wait_next = c;
	else
		wait_head = c;
	wait_tail = c;
	st.empty_waits++;
	conn_arm(c, false);
}

static struct conn *wait_pop(void)
{
	struct conn *c = wait_head;

	if (!c)
		return NULL;
	wait_head = c->wait_next;
	if (!wait_head)
		wait_tail = NULL;
	c->waiting = false;
	return c;
}

static void wait_del(struct conn *c)
{
	struct conn **pp, *prev = NULL;

	if (!c->waiting)
		return;
	for (pp = &wait_head; *pp; prev = *pp, pp = &(*pp)->wait_next) {
		if (*pp == c) {
			*pp = c->wait_next;
			if (wait_tail == c)
				wait_tail = prev;
			break;
		}
	}
	c->waiting = false;
}

static void conn_free(struct conn *c)
{
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		conns = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	free(c->ents);
	free(c);
	nconns--;
}

/* Stop receiving on @c; it is freed once its writes are done. */
static void conn_close(struct conn *c, const char *why)
{
	if (c->closing)
		return;
	if (why)
		logmsg("conn %u (stream %u): closed: %s", c->id, c->stream, why);
	c->closing = true;
	wait_del(c);
	/* The fd stays open until the last ack is sent. */
	conn_arm(c, false);
	if (c->in_x) {
		/* parsing a ring buffer: its caller puts it */
	} else if (c->buf) {
		if (opt.baseline)
			free(c->buf);
		else
			buf_unref(c->buf);
	}
	c->buf = NULL;
	ms_cancel(c);
	/* Records received but not flushed are dropped with the connection
	 * only when it broke; a clean close flushed them already. */
	c->nents = 0;
	c->ents_payload = 0;
	closed_conns++;
}

static void conn_maybe_free(struct conn *c)
{
	if (c->closing && !c->q_head && !c->ms_armed &&
	    (c->acked_seq >= c->durable_seq || stopping)) {
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
		conn_free(c);
	}
}

static int ents_push(struct conn *c, const struct hs_rec_hdr *h, uint64_t off)
{
	struct hs_idx_ent *e;

	if (c->nents == c->ents_cap) {
		uint32_t cap = c->ents_cap ? c->ents_cap * 2 : 64;
		void *p = realloc(c->ents, cap * sizeof(*e));

		if (!p)
			return -1;
		c->ents = p;
		c->ents_cap = cap;
	}
	e = &c->ents[c->nents++];
	memset(e, 0, sizeof(*e));
	e->stream = h->stream;
	e->off = off;
	e->seq = h->seq;
	e->len = h->len;
	e->crc = h->crc;
	c->ents_payload += h->len;
	return 0;
}

/* ---------------------------------------------------------------- writes */

/*
 * A regular data file is preallocated ahead of the appends, so that a
 * write allocates no block and changes no file size: the group commit's
 * fdatasync then carries no allocation (ext4 and XFS still journal each
 * unwritten extent's conversion when it is first written; that rides on
 * the same fdatasync, once per group, not once per write).
 */
static int prealloc(int fd, uint64_t *alloc, uint64_t need, uint64_t step,
		    bool *off)
{
	uint64_t len = need - *alloc > step ? need - *alloc : step;

	if (*off || need <= *alloc)
		return 0;
	/* EINTR: tmpfs gives up on any pending signal, and io_uring's task
	 * work (multishot receives) looks like one on 6.1 */
	while (fallocate(fd, 0, (off_t)*alloc, (off_t)len) != 0)
		if (errno != EINTR)
			goto fail;
	*alloc += len;
	return 0;
fail:
	if (errno == EOPNOTSUPP) {
		logmsg("fallocate not supported here: appends extend the file");
		*off = true;
		return 0;
	}
	return -1;
}

static uint64_t data_reserve(uint64_t len)
{
	uint64_t off = data_off;

	if (data_limit && off + len > data_limit)
		return UINT64_MAX;
	if (!data_is_bdev &&
	    prealloc(data_fd, &data_alloc, off + len, DATA_PREALLOC, &data_prealloc_off)) {
		logmsg("fallocate of the data file: %s", strerror(errno));
		return UINT64_MAX;
	}
	data_off += len;
	return off;
}

static void chunk_queue(struct conn *c, struct chunk *ch)
{
	ch->conn = c;
	ch->next = NULL;
	if (c->q_tail)
		c->q_tail->next = ch;
	else
		c->q_head = ch;
	c->q_tail = ch;
	c->q_len++;
}

/*
 * Write the complete records of @c's buffer that are not written yet: the
 * 4 KiB-aligned range [align_down(flushed), align_up(rec_start)). Bytes past
 * the last record in the range are don't-care on disk (zeroed when nothing
 * else is there).
 */
static int conn_flush(struct conn *c)
{
	struct chunk *ch;
	uint32_t a, end, i;
	uint64_t off;

	if (!c->nents)
		return 0;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -1;
	if (opt.baseline) {
		a = 0;
		end = c->rec_start;
	} else {
		a = c->flushed & ~(HS_DIO_ALIGN - 1);
		end = (uint32_t)hs_round_up(c->rec_start, HS_DIO_ALIGN);
		if (c->pos < end)
			memset(c->buf + c->pos, 0, end - c->pos);
	}
	off = data_reserve(end - a);
	if (off == UINT64_MAX) {
		logmsg("data target full at %llu bytes", (unsigned long long)data_off);
		free(ch);
		fatal = true;
		return -1;
	}
	ch->buf = c->buf;
	ch->start = c->buf + a;
	ch->len = end - a;
	ch->off = off;
	ch->ents = c->ents;
	ch->nents = c->nents;
	ch->payload = c->ents_payload;
	for (i = 0; i < ch->nents; i++) {
		ch->ents[i].off = off + (ch->ents[i].off - a);
		hs_idx_ent_seal(&ch->ents[i]);
	}
	ch->last_seq = ch->ents[ch->nents - 1].seq;
	c->ents = NULL;
	c->nents = c->ents_cap = 0;
	c->ents_payload = 0;
	c->flushed = c->rec_start;
	c->pend_ns = 0;
	if (opt.baseline)
		c->buf = NULL;	/* the chunk owns the malloc'd record */
	else
		buf_ref(c->buf);
	chunk_queue(c, ch);
	st.chunks++;
	return wio_submit(ch);
}

static int istage_push(const struct hs_idx_ent *e, uint32_t n)
{
	if (istage_n + n > istage_cap) {
		size_t cap = istage_cap ? istage_cap * 2 : 1024;
		void *p;

		while (cap < istage_n + n)
			cap *= 2;
		p = realloc(istage, cap * sizeof(*e));
		if (!p)
			return -1;
		istage = p;
		istage_cap = cap;
	}
	memcpy(istage + istage_n, e, n * sizeof(*e));
	istage_n += n;
	return 0;
}

void sink_chunk_done(struct chunk *ch, int res)
{
	struct conn *c = ch->conn;

	if (res < 0) {
		logmsg("write of %u bytes at %llu failed: %s", ch->len,
		       (unsigned long long)ch->off, strerror(-res));
		fatal = true;
	}
	ch->done = true;
	/* Index in submission order per connection: acks are cumulative. */
	while (c->q_head && c->q_head->done) {
		ch = c->q_head;
		c->q_head = ch->next;
		if (!c->q_head)
			c->q_tail = NULL;
		c->q_len--;
		if (!fatal) {
			if (istage_push(ch->ents, ch->nents))
				fatal = true;
			c->durable_seq = ch->last_seq;
			st.bytes += ch->payload;
			st.records += ch->nents;
			st.disk_bytes += ch->len;
			unsynced_bytes += ch->len;
			sync_pending = true;
			st.last_ns = hs_now_ns();
		}
		if (opt.baseline)
			free(ch->buf);
		else
			buf_unref(ch->buf);
		free(ch->ents);
		free(ch);
	}
}

/*
 * Send @c's acks until it is up to date or its socket is full. A frame
 * that went out in part (a short send into a nearly full socket) is
 * finished before a newer one is built, so the peer never sees half a
 * frame followed by another. A full socket arms EPOLLOUT: the rest goes
 * out when the peer reads, even if no new record ever commits.
 */
static void conn_send_ack(struct conn *c)
{
	while (c->fd >= 0) {
		ssize_t n;

		if (!c->ack_off) {
			if (c->synced_seq <= c->acked_seq)
				break;
			/* a peer that read slowly gets the newest seq only */
			c->ack_out.magic = HS_ACK_MAGIC;
			c->ack_out.stream = c->stream;
			c->ack_out.seq = c->synced_seq;
		}
		n = send(c->fd, (char *)&c->ack_out + c->ack_off,
			 sizeof(c->ack_out) - c->ack_off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			st.ack_blocked++;
			c->ack_blocked = true;
			conn_epoll(c);
			return;
		}
		if (n <= 0) {
			/* peer gone: nobody to ack, stop trying */
			c->ack_off = 0;
			c->acked_seq = c->synced_seq;
			break;
		}
		c->ack_off += (uint32_t)n;
		if (c->ack_off < sizeof(c->ack_out))
			st.ack_short++;
		if (c->ack_off == sizeof(c->ack_out)) {
			c->ack_off = 0;
			c->acked_seq = c->ack_out.seq;
			st.acks++;
		}
	}
	c->ack_blocked = false;
	conn_epoll(c);
}

static void send_acks(void)
{
	struct conn *c;

	for (c = conns; c; c = c->all_next)
		if (!c->ack_blocked)
			conn_send_ack(c);
}

/*
 * Append the staged entries as new index blocks of commit idx_commit, in
 * one write at the end of the index (never over a block written before:
 * a torn write can only damage this commit's own blocks).
 */
static int index_write(void)
{
	size_t nb = (istage_n + HS_IDX_BLK_ENTS - 1) / HS_IDX_BLK_ENTS, b, k = 0;

	/* a commit's block count must fit hs_idx_blk.rest: 6.6 M entries */
	if (nb > 65536) {
		errno = E2BIG;
		return -1;
	}
	uint64_t pos = idx_next_blk * HS_IDX_BLK, len = nb * HS_IDX_BLK;

	if (len > iblk_cap) {
		free(iblk);
		iblk = NULL;
		iblk_cap = 0;
		if (posix_memalign((void **)&iblk, HS_DIO_ALIGN, len)) {
			errno = ENOMEM;
			return -1;
		}
		iblk_cap = len;
	}
	memset(iblk, 0, len);
	for (b = 0; b < nb; b++) {
		struct hs_idx_blk *h = (void *)(iblk + b * HS_IDX_BLK);
		size_t n = istage_n - k < HS_IDX_BLK_ENTS ? istage_n - k : HS_IDX_BLK_ENTS;

		h->nents = (uint16_t)n;
		h->rest = (uint16_t)(nb - 1 - b);
		h->blkno = idx_next_blk + b;
		h->commit = idx_commit;
		h->id = idx_id;
		memcpy(h + 1, istage + k, n * sizeof(*istage));
		hs_idx_blk_seal(h);
		k += n;
	}
	if (idx_is_bdev && pos + len > idx_alloc) {
		errno = ENOSPC;
		return -1;
	}
	if (!idx_is_bdev &&
	    prealloc(idx_fd, &idx_alloc, pos + len, IDX_PREALLOC, &idx_prealloc_off))
		return -1;
	for (uint64_t done = 0; done < len;) {
		ssize_t n = pwrite(idx_fd, iblk + done, len - done, (off_t)(pos + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (uint64_t)n;
	}
	idx_next_blk += nb;
	idx_commit++;
	st.idx_bytes += len;
	istage_n = 0;
	return 0;
}

/*
 * Group commit of what completed since the last one, then the acks.
 * Durable policies (batch, bytes=N): fdatasync the data, then write the
 * index blocks that name it, fdatasync the index, then ack: the index
 * never names data that is not on stable storage, and an ack never
 * precedes either flush. --fsync none: index written, nothing flushed,
 * acks are not durable. @idle: nothing else to do, a byte-threshold
 * commit may not wait.
 */
static void commit(bool idle)
{
	bool durable = opt.fsync != FSYNC_NONE;
	struct conn *c;

	if (!istage_n)
		return;
	if (opt.fsync == FSYNC_BYTES && unsynced_bytes < opt.fsync_bytes && !idle)
		return;	/* acks wait for the commit */
	if (durable && fdatasync(data_fd)) {
		logmsg("fdatasync of the data: %s", strerror(errno));
		fatal = true;
		return;
	}
	if (index_write()) {
		logmsg("index write: %s", strerror(errno));
		fatal = true;
		return;
	}
	if (durable && fdatasync(idx_fd)) {
		logmsg("fdatasync of the index: %s", strerror(errno));
		fatal = true;
		return;
	}
	if (durable)
		st.syncs += 2;
	st.commits++;
	unsynced_bytes = 0;
	sync_pending = false;
	for (c = conns; c; c = c->all_next)
		c->synced_seq = c->durable_seq;
	send_acks();
}

/* ---------------------------------------------------------------- receive */

static bool conn_take_buf(struct conn *c)
{
	if (c->buf)
		return true;
	c->buf = buf_new();
	if (!c->buf) {
		wait_add(c);
		return false;
	}
	memcpy(c->buf, c->stash, c->stash_len);
	st.copied += c->stash_len;
	c->pos = c->stash_len;
	c->rec_start = c->flushed = 0;
	c->stash_len = 0;
	return true;
}

/* The record at rec_start does not fit: write what is complete, carry the
 * record's header bytes (at most 32) over to the next buffer. */
static int conn_relocate(struct conn *c)
{
	uint32_t have = c->pos - c->rec_start;

	if (conn_flush(c))
		return -1;
	if (have > sizeof(c->stash)) {
		logmsg("internal error: %u header bytes to carry over", have);
		fatal = true;
		return -1;
	}
	memcpy(c->stash, c->buf + c->rec_start, have);
	c->stash_len = have;
	buf_unref(c->buf);
	c->buf = NULL;
	return 0;
}

/* Parse what arrived. Returns 1 if a relocation is needed, -1 on error. */
static int conn_parse(struct conn *c)
{
	const char *why;

	for (;;) {
		uint32_t have = c->pos - c->rec_start;

		if (c->state == ST_HDR) {
			if (have < HS_REC_HDR)
				return opt.buf_size - c->rec_start < HS_REC_HDR;
			memcpy(&c->hdr, c->buf + c->rec_start, HS_REC_HDR);
			why = hs_rec_hdr_check(&c->hdr, opt.max_record);
			if (!why && c->have_stream && c->hdr.stream != c->stream)
				why = "stream id changed";
			if (!why && c->hdr.seq != c->next_seq)
				why = "sequence number out of order";
			if (why) {
				char msg[160];

				snprintf(msg, sizeof(msg), "%s (len %u seq %llu)",
					 why, c->hdr.len,
					 (unsigned long long)c->hdr.seq);
				st.bad_conns++;
				conn_close(c, msg);
				return -1;
			}
			if (!c->have_stream) {
				c->stream = c->hdr.stream;
				c->have_stream = true;
			}
			if (c->rec_start + HS_REC_HDR + c->hdr.len > opt.buf_size)
				return 1;
			c->state = ST_BODY;
		}
		if (have < HS_REC_HDR + c->hdr.len)
			return 0;
		if (hs_crc32c(0, c->buf + c->rec_start + HS_REC_HDR,
			      c->hdr.len) != c->hdr.crc) {
			st.bad_conns++;
			conn_close(c, "payload CRC mismatch");
			return -1;
		}
		if (ents_push(c, &c->hdr, c->rec_start))
			return -1;
		c->rec_start += HS_REC_HDR + c->hdr.len;
		c->next_seq++;
		c->state = ST_HDR;
	}
}

static void conn_eof(struct conn *c, const char *why)
{
	/* Complete records are kept; a partial one is dropped. */
	if (c->buf && c->nents)
		conn_flush(c);
	if (c->pos != c->rec_start || c->stash_len)
		logmsg("conn %u (stream %u): peer closed %s", c->id, c->stream,
		       c->state == ST_HDR ? "in a record header" :
					    "in the middle of a record");
	conn_close(c, why);
}

static void conn_release_empty(struct conn *c);

static void conn_read_zc(struct conn *c)
{
	uint32_t budget = 0;

	while (budget < HS_RECV_BUDGET && !c->closing) {
		uint32_t want, space;
		ssize_t n;
		int r;

		if (!conn_take_buf(c))
			return;
		if (c->state == ST_HDR && c->pos - c->rec_start >= HS_REC_HDR) {
			/* a header carried over from the previous buffer */
			r = conn_parse(c);
			if (r < 0 || (r > 0 && conn_relocate(c)))
				return;
			continue;
		}
		space = opt.buf_size - c->pos;
		/* Never more than one header past a record's end: at most
		 * HS_REC_HDR bytes ever move to another buffer. */
		if (c->state == ST_HDR)
			want = HS_REC_HDR - (c->pos - c->rec_start);
		else	/* the rest of the payload and the next header */
			want = c->rec_start + 2 * HS_REC_HDR + c->hdr.len - c->pos;
		if (want > space)
			want = space;
		n = recv(c->fd, c->buf + c->pos, want, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_eof(c, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_eof(c, NULL);
			return;
		}
		c->pos += (uint32_t)n;
		budget += (uint32_t)n;
		if (!st.first_ns)
			st.first_ns = hs_now_ns();
		r = conn_parse(c);
		if (r < 0)
			return;
		if (r > 0 && conn_relocate(c))
			return;
	}
	/* Nothing more for now: write what is complete once there is
	 * enough of it (else conn_coalesced() does, soon), and give the
	 * buffer back when nothing is left in it. */
	if (c->nents && c->rec_start - (c->flushed & ~(HS_DIO_ALIGN - 1)) >= HS_COALESCE_BYTES &&
	    conn_flush(c))
		return;
	if (c->nents && !c->pend_ns)
		c->pend_ns = hs_now_ns();
	conn_release_empty(c);
}

static void conn_release_empty(struct conn *c)
{
	if (c->buf && !c->nents && c->pos == c->rec_start && c->state == ST_HDR) {
		buf_unref(c->buf);
		c->buf = NULL;
	}
}

/*
 * Write the complete records that conn_read_zc() left waiting for more
 * once the oldest has waited HS_COALESCE_NS (not as soon as the loop is
 * idle: between the records of a trickle it always is). Returns true
 * while some still wait (the loop then polls every millisecond).
 */
static bool conn_coalesced(void)
{
	uint64_t now = hs_now_ns();
	bool waiting = false;
	struct conn *c;

	for (c = conns; c; c = c->all_next) {
		if (!c->nents || !c->pend_ns || c->closing || c->in_x)
			continue;
		if (now - c->pend_ns >= HS_COALESCE_NS) {
			if (conn_flush(c))
				continue;
			conn_release_empty(c);
		} else {
			waiting = true;
		}
	}
	return waiting;
}

/* --baseline: malloc per record, recv into it, buffered write, free. */
static void conn_read_base(struct conn *c)
{
	uint32_t budget = 0;

	while (budget < HS_RECV_BUDGET && !c->closing) {
		ssize_t n;

		if (c->state == ST_HDR) {
			const char *why;

			n = recv(c->fd, c->stash + c->stash_len,
				 HS_REC_HDR - c->stash_len, MSG_DONTWAIT);
			if (n > 0) {
				if (!st.first_ns)
					st.first_ns = hs_now_ns();
				c->stash_len += (uint32_t)n;
				budget += (uint32_t)n;
				if (c->stash_len < HS_REC_HDR)
					continue;
				memcpy(&c->hdr, c->stash, HS_REC_HDR);
				why = hs_rec_hdr_check(&c->hdr, opt.max_record);
				if (!why && c->hdr.seq != c->next_seq)
					why = "sequence number out of order";
				if (why) {
					st.bad_conns++;
					conn_close(c, why);
					return;
				}
				c->stream = c->hdr.stream;
				c->buf = malloc(HS_REC_HDR + c->hdr.len);
				if (!c->buf) {
					conn_close(c, "out of memory");
					return;
				}
				memcpy(c->buf, c->stash, HS_REC_HDR);
				c->stash_len = 0;
				c->pos = HS_REC_HDR;
				c->rec_start = 0;
				c->state = ST_BODY;
				continue;
			}
		} else {
			uint32_t want = HS_REC_HDR + c->hdr.len - c->pos;

			n = want ? recv(c->fd, c->buf + c->pos, want,
					MSG_DONTWAIT) : 0;
			if (n > 0 || !want) {
				c->pos += (uint32_t)n;
				budget += (uint32_t)n;
				if (c->pos < HS_REC_HDR + c->hdr.len)
					continue;
				if (hs_crc32c(0, c->buf + HS_REC_HDR,
					      c->hdr.len) != c->hdr.crc) {
					st.bad_conns++;
					conn_close(c, "payload CRC mismatch");
					return;
				}
				if (ents_push(c, &c->hdr, 0)) {
					conn_close(c, "out of memory");
					return;
				}
				c->rec_start = c->pos;
				c->next_seq++;
				c->state = ST_HDR;
				conn_flush(c);	/* write(2), then free(3) */
				continue;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (c->state == ST_BODY || c->stash_len)
			logmsg("conn %u (stream %u): peer closed %s", c->id,
			       c->stream, c->state == ST_HDR ?
			       "in a record header" : "in the middle of a record");
		conn_close(c, n < 0 ? strerror(errno) : NULL);
		return;
	}
}


/* ---------------------------------------------------------------- multishot
 *
 * io_uring multishot recv with a provided-buffer ring filled from the pool:
 * the kernel picks a buffer per completion and fills it with up to
 * --buf-size bytes of one connection's stream. Records that lie whole in
 * such a buffer are written from it, like on the recv path. A record cut by
 * the end of a buffer continues in the connection's assembly buffer: when
 * the rest of it fits in the buffer it started in, that buffer becomes the
 * assembly buffer (no copy for its first part) and the next completion's
 * bytes are copied after it; otherwise the cut record is copied into the
 * current assembly buffer. Copies are counted in "copies per byte".
 * An empty ring ends the multishot recv with -ENOBUFS: the socket is not
 * read (TCP back-pressure) until written buffers come back and refill it.
 */
#ifdef HAVE_LIBURING
#include <liburing.h>
#include <sys/mman.h>

static struct io_uring_buf_ring *br;
static uint8_t *in_ring;	/* per dense buffer index */
static unsigned int br_entries;
static unsigned int ring_count;

static size_t bufs_free(void)
{
	return hs_pool_nr_bufs(pool) - st.bufs_out;
}

static int ms_init(void)
{
	struct io_uring *r = wio_ring();
	struct io_uring_buf_reg reg;
	size_t n = hs_pool_nr_bufs(pool), len;
	void *mem;
	int ret;

	if (!r || n > 32768 || n < 2) {
		errno = !r ? ENOSYS : EINVAL;
		return -1;
	}
	for (br_entries = 1; br_entries < n; br_entries <<= 1)
		;
	len = hs_round_up(br_entries * sizeof(struct io_uring_buf), 4096);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -1;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)mem;
	reg.ring_entries = br_entries;
	reg.bgid = 0;
	ret = io_uring_register_buf_ring(r, &reg, 0);
	if (ret) {
		munmap(mem, len);
		errno = -ret;
		return -1;
	}
	br = mem;
	io_uring_buf_ring_init(br);
	in_ring = calloc(n, 1);
	return in_ring ? 0 : -1;
}

/* After the last receive: take the ring's buffers back. */
static void ms_exit(void)
{
	size_t i, n = hs_pool_nr_bufs(pool);

	if (!br)
		return;
	io_uring_unregister_buf_ring(wio_ring(), 0);
	for (i = 0; i < n; i++)
		if (in_ring[i])
			buf_unref(hs_buf_at(pool, i));
	free(in_ring);
	in_ring = NULL;
	br = NULL;
}

static bool ms_any_armed(void)
{
	struct conn *c;

	for (c = conns; c; c = c->all_next)
		if (c->ms_armed)
			return true;
	return false;
}

/* Give free buffers to the kernel, keeping one back for reassembly. */
static void ms_refill(void)
{
	unsigned int added = 0, mask = br_entries - 1;
	size_t reserve = 1;

	while (ring_count + added < br_entries && bufs_free() > reserve) {
		char *b = buf_new();

		if (!b)
			break;
		io_uring_buf_ring_add(br, b, opt.buf_size,
				      (unsigned short)hs_buf_index(pool, b),
				      (int)mask, (int)added);
		in_ring[hs_buf_index(pool, b)] = 1;
		added++;
	}
	if (added) {
		io_uring_buf_ring_advance(br, (int)added);
		ring_count += added;
	}
}

static void ms_arm(struct conn *c)
{
	struct io_uring_sqe *sqe;

	c->ms_want_arm = false;
	if (c->ms_armed || c->closing)
		return;
	if (!ring_count) {
		c->ms_want_arm = true;
		return;
	}
	sqe = wio_sqe();
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = 0;
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)c | WIO_TAG_RECV));
	c->ms_armed = true;
}

static void ms_cancel(struct conn *c)
{
	struct io_uring_sqe *sqe;

	if (!c->ms_armed)
		return;
	sqe = wio_sqe();
	io_uring_prep_cancel64(sqe, (uintptr_t)c | WIO_TAG_RECV, 0);
	io_uring_sqe_set_data(sqe, NULL);
	wio_kick();
}

/* Make room for the record at rec_start: write the complete records of the
 * assembly buffer, then move the partial one to a buffer with room. */
static int ms_new_asm(struct conn *c)
{
	uint32_t have = c->pos - c->rec_start;
	char *nb;

	if (c->nents && conn_flush(c))
		return -1;
	for (;;) {
		if (holders[hs_buf_index(pool, c->buf)] == 1) {
			/* no write from it in flight: start over in place */
			if (c->rec_start) {
				memmove(c->buf, c->buf + c->rec_start, have);
				st.copied += have;
			}
			break;
		}
		nb = buf_new();
		if (nb) {
			memcpy(nb, c->buf + c->rec_start, have);
			st.copied += have;
			buf_unref(c->buf);
			c->buf = nb;
			break;
		}
		if (wio_wait_write()) {
			logmsg("no buffer for reassembly and no write in flight");
			fatal = true;
			return -1;
		}
	}
	c->pos = have;
	c->rec_start = c->flushed = 0;
	return 0;
}

/*
 * Bytes x[0..n) of @c's stream arrived in ring buffer @x; the caller's
 * reference to @x passes to us.
 */
static void ms_process(struct conn *c, char *x, uint32_t n)
{
	uint32_t off = 0, tail;
	int r;

	/* 1: a record open in the connection's buffer takes the first bytes;
	 * a small completion goes there whole, behind the records waiting to
	 * be coalesced (a copy of at most HS_MS_COPY_MAX bytes instead of a
	 * 4 KiB write of its own) */
	while (c->buf) {
		uint32_t have = c->pos - c->rec_start, want, k;

		if (!have && c->state == ST_HDR &&
		    (n - off >= HS_MS_COPY_MAX || c->pos + (n - off) > opt.buf_size)) {
			if (c->nents && conn_flush(c))
				goto out;
			buf_unref(c->buf);	/* writes keep their own refs */
			c->buf = NULL;
			break;
		}
		if (c->state == ST_HDR && have >= HS_REC_HDR)
			want = 0;
		else if (c->state == ST_HDR)
			want = HS_REC_HDR - have;
		else
			want = HS_REC_HDR + c->hdr.len - have;
		k = want < n - off ? want : n - off;
		if (want && !k)
			goto out;	/* all of x went into the record */
		memcpy(c->buf + c->pos, x + off, k);
		st.copied += k;
		c->pos += k;
		off += k;
		r = conn_parse(c);
		if (r < 0 || (r > 0 && ms_new_asm(c)))
			goto out;
	}
	if (off == n)
		goto out;

	/* 2: records whole in x are written from x */
	c->buf = x;
	c->pos = n;
	c->rec_start = c->flushed = off;
	c->in_x = true;
	r = conn_parse(c);
	c->in_x = false;
	if (r < 0) {
		c->buf = NULL;
		goto out;
	}
	/* written once HS_COALESCE_BYTES are complete, else they wait in x
	 * (conn_coalesced()) and the next small completions join them */
	if (c->nents && c->rec_start - (c->flushed & ~(HS_DIO_ALIGN - 1)) >= HS_COALESCE_BYTES &&
	    conn_flush(c)) {
		c->buf = NULL;
		goto out;
	}
	tail = n - c->rec_start;
	if (!tail && !c->nents) {
		c->buf = NULL;
		goto out;
	}
	/* 3: x keeps the records waiting and the record cut by its end; the
	 * next bytes are copied after it. One that does not fit in x moves
	 * to another buffer. */
	if (c->nents && !c->pend_ns)
		c->pend_ns = hs_now_ns();
	if (r > 0)
		ms_new_asm(c);
	return;
out:
	if (c->buf && c->nents && !c->pend_ns)
		c->pend_ns = hs_now_ns();
	buf_unref(x);
}

void sink_recv_cqe(void *p, int res, unsigned int flags)
{
	struct conn *c = p;
	char *x = NULL;

	if (flags & IORING_CQE_F_BUFFER) {
		x = hs_buf_at(pool, flags >> IORING_CQE_BUFFER_SHIFT);
		in_ring[flags >> IORING_CQE_BUFFER_SHIFT] = 0;
		ring_count--;
	}
	if (!(flags & IORING_CQE_F_MORE))
		c->ms_armed = false;
	if (res > 0 && x && !c->closing) {
		if (!st.first_ns)
			st.first_ns = hs_now_ns();
		ms_process(c, x, (uint32_t)res);
	} else if (x) {
		buf_unref(x);
	}
	if (c->closing)
		return;
	if (res == -ENOBUFS) {
		/* the ring ran dry: back-pressure, not an error */
		st.empty_waits++;
		c->ms_want_arm = true;
	} else if (res == 0) {
		conn_eof(c, NULL);
	} else if (res < 0) {
		conn_eof(c, strerror(-res));
	} else if (!c->ms_armed) {
		c->ms_want_arm = true;
	}
}

/*
 * Refill the ring and (re)arm multishot receives. While the ring is empty,
 * connections read with recv(2) into their own buffer (the recv path,
 * waiting for a buffer when the pool is empty): a connection holding the
 * start of a record must be able to finish it without the ring, or buffers
 * held by partial records could starve the ring for good.
 */
static void ms_serve(void)
{
	struct conn *c;

	serve_waiters();
	if (!wait_head)
		ms_refill();
	for (c = conns; c; c = c->all_next) {
		if (c->closing || c->ms_armed || !c->ms_want_arm)
			continue;
		if (ring_count && !c->waiting && !c->stash_len) {
			conn_arm(c, false);
			ms_arm(c);
		} else if (!c->reading && !c->waiting) {
			conn_arm(c, true);
		}
	}
	wio_kick();
}

#else
static int ms_init(void)
{
	errno = ENOSYS;
	return -1;
}

static void ms_exit(void)
{
}

static bool ms_any_armed(void)
{
	return false;
}

static void ms_cancel(struct conn *c)
{
	(void)c;
}

static void ms_serve(void)
{
}

void sink_recv_cqe(void *p, int res, unsigned int flags)
{
	(void)p;
	(void)res;
	(void)flags;
}
#endif

static void conn_read(struct conn *c)
{
	if (opt.baseline)
		conn_read_base(c);
	else
		conn_read_zc(c);
}

static void do_accept(void)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		int one = 1, sndbuf = 4096;

		if (fd < 0)
			return;
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		/* Only 16-byte acks go this way: a small send buffer bounds
		 * what a peer that does not read them pins in the kernel. */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		c->fd = fd;
		c->id = ++next_conn_id;
		c->next_seq = 1;
		c->all_next = conns;
		if (conns)
			conns->all_prev = c;
		conns = c;
		nconns++;
		if (use_ms) {
			c->ms_want_arm = true;	/* ms_serve() arms it */
			continue;
		}
		conn_arm(c, true);
	}
}

/* ---------------------------------------------------------------- report */

static double secs_since(uint64_t t)
{
	return (double)(hs_now_ns() - t) / 1e9;
}

static void sample(void)
{
	uint64_t pc = hs_page_cache_kb();
	uint64_t rss = hs_proc_status_kb("VmHWM");

	if (pc > st.cache_peak)
		st.cache_peak = pc;
	if (rss > st.rss_peak_kb)
		st.rss_peak_kb = rss;
}

static void progress(void)
{
	static uint64_t last_bytes;
	double dt = secs_since(st.t_last);

	sample();
	if (!opt.quiet)
		fprintf(stderr, "[sink] %6.1fs %9.1f MB/s  %10llu records %8.1f MiB  pool %llu/%zu bufs  conns %u\n",
			secs_since(st.t0), (double)(st.bytes - last_bytes) / 1e6 / dt,
			(unsigned long long)st.records, (double)st.bytes / 1048576.0,
			(unsigned long long)st.bufs_out,
			pool ? hs_pool_nr_bufs(pool) : (size_t)0, nconns);
	last_bytes = st.bytes;
	st.t_last = hs_now_ns();
}

/* What an ack promises, for the startup line and the summary. */
static const char *ack_meaning(void)
{
	switch (opt.fsync) {
	case FSYNC_BATCH:
		return "durable (group commit per batch: fdatasync data, write index, fdatasync index, ack)";
	case FSYNC_BYTES:
		return "durable (group commit every --fsync bytes=N and when idle)";
	default:
		return "NOT durable (--fsync none: written, not flushed; a power cut can lose acked records)";
	}
}

static const char *recv_name(void)
{
	if (opt.baseline)
		return "recv(2) into malloc";
	return use_ms ? "io_uring multishot+ring" : "recv(2) into pool";
}

static void summary(double secs, uint64_t rss_after_kb)
{
	struct rusage ru;
	double cpu, mbps, gb = (double)st.bytes / 1e9;
	double copies;
	uint64_t cache_growth;
	FILE *f;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	mbps = secs > 0 ? (double)st.bytes / 1e6 / secs : 0;
	/* user-space copies, plus one kernel copy per byte for a buffered
	 * write into the page cache */
	copies = st.bytes ? (double)st.copied / (double)st.bytes : 0;
	if (opt.baseline)
		copies += 1.0;
	cache_growth = st.cache_peak > st.cache0 ? st.cache_peak - st.cache0 : 0;

	printf("hugeslab-sink summary (%s)\n", opt.baseline ? "baseline: malloc + recv + buffered write" :
	       "zero-copy: pool + recv + O_DIRECT");
	printf("  backend            %s\n", pool ? hs_backend_name(hs_pool_backend(pool)) : "malloc");
	printf("  receive path       %s\n", recv_name());
	printf("  write engine       %s\n", opt.baseline ? "pwrite (buffered)" : wio_name());
	if (wio_fixed_failed())
		printf("  fixed buffers      registration FAILED (%s): writes from unregistered buffers\n",
		       wio_fixed_status());
	printf("  bytes              %llu (%.1f MiB)\n", (unsigned long long)st.bytes, (double)st.bytes / 1048576.0);
	printf("  records            %llu\n", (unsigned long long)st.records);
	printf("  acks               %s\n", ack_meaning());
	printf("  disk bytes         %llu in %llu writes, %llu syncs, %llu commits\n",
	       (unsigned long long)st.disk_bytes, (unsigned long long)st.chunks,
	       (unsigned long long)st.syncs, (unsigned long long)st.commits);
	printf("  disk per payload   %.3f data, %.3f with the index (%llu index bytes)\n",
	       st.bytes ? (double)st.disk_bytes / (double)st.bytes : 0,
	       st.bytes ? (double)(st.disk_bytes + st.idx_bytes) / (double)st.bytes : 0,
	       (unsigned long long)st.idx_bytes);
	if (st.recovered || st.recovered_cut)
		printf("  recovered          %llu records at start, %llu torn ones cut\n",
		       (unsigned long long)st.recovered, (unsigned long long)st.recovered_cut);
	printf("  time               %.2f s\n", secs);
	printf("  throughput         %.1f MB/s\n", mbps);
	printf("  cpu                %.2f s (%.2f s/GB)\n", cpu, gb > 0 ? cpu / gb : 0);
	printf("  copies per byte    %.4f\n", copies);
	printf("  peak RSS           %.1f MiB\n", (double)st.rss_peak_kb / 1024);
	printf("  RSS after load     %.1f MiB\n", (double)rss_after_kb / 1024);
	if (pool)
		printf("  pool high water    %llu of %zu buffers (%.1f MiB of %.1f MiB)\n",
		       (unsigned long long)st.bufs_hwm, hs_pool_nr_bufs(pool),
		       (double)st.bufs_hwm * opt.buf_size / 1048576.0,
		       (double)opt.pool_bytes / 1048576.0);
	printf("  pool empty waits   %llu\n", (unsigned long long)st.empty_waits);
	printf("  page cache growth  %.1f MiB\n", (double)cache_growth / 1024);
	printf("  bad connections    %llu\n", (unsigned long long)st.bad_conns);
	fflush(stdout);
	if (opt.summary_path && (f = fopen(opt.summary_path, "w"))) {
		fprintf(f, "recv=%s\n", recv_name());
		fprintf(f, "mode=%s\nbackend=%s\nengine=%s\nbytes=%llu\nrecords=%llu\nsecs=%.3f\nmbps=%.1f\n"
			"cpu_s=%.3f\ncpu_s_per_gb=%.3f\ncopies_per_byte=%.4f\npeak_rss_mib=%.1f\n"
			"rss_after_mib=%.1f\npool_hwm_bufs=%llu\npool_bufs=%zu\npool_hwm_mib=%.1f\n"
			"page_cache_growth_mib=%.1f\nbad_conns=%llu\ndisk_bytes=%llu\nempty_waits=%llu\n"
			"acks=%llu\nack_blocked=%llu\nack_short=%llu\n"
			"durable_acks=%d\nsyncs=%llu\ncommits=%llu\nidx_bytes=%llu\n"
			"disk_per_payload=%.4f\ndisk_per_payload_with_index=%.4f\n"
			"recovered=%llu\nrecovered_cut=%llu\nwrites=%llu\nfixed_buffers=%s%s\n"
			"unfixed_writes=%llu\n",
			opt.baseline ? "baseline" : "zerocopy",
			pool ? hs_backend_name(hs_pool_backend(pool)) : "malloc",
			opt.baseline ? "pwrite-buffered" : wio_name(),
			(unsigned long long)st.bytes, (unsigned long long)st.records, secs, mbps, cpu,
			gb > 0 ? cpu / gb : 0, copies, (double)st.rss_peak_kb / 1024,
			(double)rss_after_kb / 1024, (unsigned long long)st.bufs_hwm,
			pool ? hs_pool_nr_bufs(pool) : (size_t)0,
			(double)st.bufs_hwm * opt.buf_size / 1048576.0, (double)cache_growth / 1024,
			(unsigned long long)st.bad_conns, (unsigned long long)st.disk_bytes,
			(unsigned long long)st.empty_waits, (unsigned long long)st.acks,
			(unsigned long long)st.ack_blocked,
			(unsigned long long)st.ack_short, opt.fsync != FSYNC_NONE,
			(unsigned long long)st.syncs, (unsigned long long)st.commits,
			(unsigned long long)st.idx_bytes,
			st.bytes ? (double)st.disk_bytes / (double)st.bytes : 0,
			st.bytes ? (double)(st.disk_bytes + st.idx_bytes) / (double)st.bytes : 0,
			(unsigned long long)st.recovered, (unsigned long long)st.recovered_cut,
			(unsigned long long)st.chunks, wio_fixed_failed() ? "failed: " : "",
			opt.baseline ? "not used" : wio_fixed_status(),
			wio_unfixed_writes());
		fclose(f);
	}
}

/* ---------------------------------------------------------------- setup */

static void on_signal(int sig)
{
	stop_sig = sig;
}

/* A file just created survives a power cut only once its directory does. */
static int sync_dir_of(const char *path)
{
	char buf[4096];
	int fd, ret;

	snprintf(buf, sizeof(buf), "%s", path);
	fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/* A new index: its header block, flushed with the directory entry. */
static int index_create(void)
{
	struct hs_idx_hdr ih;
	char *b;
	int ret = -1;

	if (posix_memalign((void **)&b, HS_DIO_ALIGN, HS_IDX_BLK))
		return -1;
	memset(b, 0, HS_IDX_BLK);
	hs_idx_hdr_init(&ih, opt.max_record);
	idx_id = ih.id;
	memcpy(b, &ih, sizeof(ih));
	/* an old index's blocks left on a device carry another id */
	if (pwrite(idx_fd, b, HS_IDX_BLK, 0) == (ssize_t)HS_IDX_BLK &&
	    !fsync(idx_fd) && (idx_is_bdev || !sync_dir_of(opt.index_path)))
		ret = 0;
	free(b);
	return ret;
}

/*
 * Open the data target and the index without truncating either: an
 * existing index is recovered (sink_recover(): last valid record, torn
 * tail cut) and appending resumes after its last record.
 */
static int open_outputs(void)
{
	struct idx_tail t;
	struct stat sb;
	int flags = O_RDWR | O_CLOEXEC, r;
	bool created = false;

	if (!opt.baseline)
		flags |= O_DIRECT;
	if (stat(opt.data_path, &sb) == 0 && S_ISBLK(sb.st_mode)) {
		data_is_bdev = true;
		data_fd = open(opt.data_path, flags);
		if (data_fd >= 0 && ioctl(data_fd, BLKGETSIZE64, &data_limit))
			data_limit = 0;
	} else {
		created = access(opt.data_path, F_OK) != 0;
		data_fd = open(opt.data_path, flags | O_CREAT, 0644);
		if (data_fd >= 0 && !fstat(data_fd, &sb))
			data_alloc = (uint64_t)sb.st_size;
	}
	if (data_fd < 0) {
		logmsg("%s: %s%s", opt.data_path, strerror(errno),
		       errno == EINVAL ? " (O_DIRECT not supported here?)" : "");
		return -1;
	}
	if (created && sync_dir_of(opt.data_path)) {
		logmsg("%s: syncing its directory: %s", opt.data_path, strerror(errno));
		return -1;
	}
	idx_fd = open(opt.index_path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
	if (idx_fd < 0 && errno == EINVAL) {
		/* tmpfs: no O_DIRECT, and no power cut to survive either */
		logmsg("%s: no O_DIRECT here, buffered index writes", opt.index_path);
		idx_fd = open(opt.index_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (idx_fd < 0 || fstat(idx_fd, &sb)) {
		logmsg("%s: %s", opt.index_path, strerror(errno));
		return -1;
	}
	idx_is_bdev = S_ISBLK(sb.st_mode);
	idx_alloc = (uint64_t)sb.st_size;
	if (idx_is_bdev && ioctl(idx_fd, BLKGETSIZE64, &idx_alloc)) {
		logmsg("%s: size: %s", opt.index_path, strerror(errno));
		return -1;
	}
	/* an index without a header (new file, zeroed device) is new */
	r = sink_recover(idx_fd, data_fd, &t);
	if (r > 0) {
		if (index_create()) {
			logmsg("%s: writing the index header: %s", opt.index_path,
			       strerror(errno));
			return -1;
		}
		return 0;
	}
	if (r < 0)
		return -1;
	if (t.max_record < opt.max_record) {
		logmsg("%s: made with --max-record %u, smaller than %u", opt.index_path,
		       t.max_record, opt.max_record);
		return -1;
	}
	if (data_limit && t.data_end > data_limit) {
		logmsg("%s: names data past the end of %s", opt.index_path, opt.data_path);
		return -1;
	}
	idx_next_blk = t.next_blk;
	idx_commit = t.next_commit;
	idx_id = t.id;
	data_off = t.data_end;
	st.recovered = t.records;
	st.recovered_cut = t.cut_records;
	logmsg("recovered %llu records from %s (%llu commits); cut a torn tail of %llu index blocks and %llu records; appending at %llu",
	       (unsigned long long)t.records, opt.index_path,
	       (unsigned long long)t.next_commit - 1, (unsigned long long)t.torn_blks,
	       (unsigned long long)t.cut_records, (unsigned long long)data_off);
	return 0;
}

static int open_listener(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = opt.ip;
	sa.sin_port = htons(opt.port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 128)) {
		logmsg("listen on port %u: %s", opt.port, strerror(errno));
		return -1;
	}
	if (!opt.port) {
		socklen_t sl = sizeof(sa);

		getsockname(lfd, (struct sockaddr *)&sa, &sl);
		opt.port = ntohs(sa.sin_port);
	}
	return 0;
}

static int create_pool(void)
{
	struct hs_pool_config cfg;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = opt.pool_bytes;
	cfg.buf_size = opt.buf_size;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.name = "sink";
	pool = hs_pool_create(&cfg);
	if (!pool) {
		logmsg("pool of %llu bytes: %s", (unsigned long long)opt.pool_bytes,
		       strerror(errno));
		return -1;
	}
	hs_tag_name(pool, TAG_RECV, "recv");
	hs_thread_set_tag(TAG_RECV);
	holders = calloc(hs_pool_nr_bufs(pool), sizeof(*holders));
	return holders ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: hugeslab-sink [options]\n"
"  -l, --listen ADDR:PORT   address to listen on (default 127.0.0.1:7070)\n"
"  -d, --data PATH          data file or block device (default hs-data.bin)\n"
"  -i, --index PATH         index file (default DATA.idx)\n"
"  -p, --pool SIZE          pool size (default 64M)\n"
"  -b, --buf-size SIZE      pool buffer size (default 2M)\n"
"  -m, --max-record SIZE    largest record accepted (default 1M)\n"
"  -f, --fsync POLICY       batch | bytes=N | none (default batch): when an ack\n"
"                           is durable; none: acks are NOT durable\n"
"      --io MODE            writes: auto | uring | plain (default auto)\n"
"      --recv MODE          receives: auto | multishot | plain (default auto)\n"
"      --baseline           malloc + recv + buffered write + free\n"
"      --verify             check DATA against INDEX and exit\n"
"      --acked FILE         with --verify: \"stream seq\" lines that must be present\n"
"      --exit-after N       exit after N connections have closed\n"
"      --summary FILE       also write the summary as key=value lines\n"
"      --idle-rss-wait SEC  measure RSS this long after the load stops (default 1)\n"
"  -q, --quiet              no progress lines\n");
}

static int parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", 1, NULL, 'l' }, { "data", 1, NULL, 'd' },
		{ "index", 1, NULL, 'i' }, { "pool", 1, NULL, 'p' },
		{ "buf-size", 1, NULL, 'b' }, { "max-record", 1, NULL, 'm' },
		{ "fsync", 1, NULL, 'f' }, { "io", 1, NULL, 'I' },
		{ "recv", 1, NULL, 'R' },
		{ "baseline", 0, NULL, 'B' }, { "verify", 0, NULL, 'V' },
		{ "acked", 1, NULL, 'A' }, { "exit-after", 1, NULL, 'x' },
		{ "summary", 1, NULL, 'S' }, { "idle-rss-wait", 1, NULL, 'W' },
		{ "quiet", 0, NULL, 'q' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static char idxbuf[4096];
	uint64_t v;
	int ch;

	opt.ip = htonl(INADDR_LOOPBACK);
	opt.port = 7070;
	opt.data_path = "hs-data.bin";
	opt.pool_bytes = 64ULL << 20;
	opt.buf_size = 2U << 20;
	opt.max_record = HS_MAX_RECORD_DEFAULT;
	/* an ack promises durability unless the user opts out */
	opt.fsync = FSYNC_BATCH;
	opt.idle_rss_wait = 1;
	opt.progress = 1;
	while ((ch = getopt_long(argc, argv, "l:d:i:p:b:m:f:qh", lo, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (hs_parse_addr(optarg, &opt.ip, &opt.port))
				return -1;
			break;
		case 'd': opt.data_path = optarg; break;
		case 'i': opt.index_path = optarg; break;
		case 'p':
			if (hs_parse_size(optarg, &opt.pool_bytes))
				return -1;
			break;
		case 'b':
			if (hs_parse_size(optarg, &v) || v < HS_BUF_SIZE_MIN || v > HS_BUF_SIZE_MAX ||
			    v % HS_DIO_ALIGN)
				return -1;
			opt.buf_size = (uint32_t)v;
			break;
		case 'm':
			if (hs_parse_size(optarg, &v) || v > (1U << 30))
				return -1;
			opt.max_record = (uint32_t)v;
			break;
		case 'f':
			if (!strcmp(optarg, "none"))
				opt.fsync = FSYNC_NONE;
			else if (!strcmp(optarg, "batch"))
				opt.fsync = FSYNC_BATCH;
			else if (!strncmp(optarg, "bytes=", 6) &&
				 !hs_parse_size(optarg + 6, &opt.fsync_bytes))
				opt.fsync = FSYNC_BYTES;
			else
				return -1;
			break;
		case 'I':
			if (!strcmp(optarg, "auto"))
				opt.io = IO_AUTO;
			else if (!strcmp(optarg, "uring"))
				opt.io = IO_URING;
			else if (!strcmp(optarg, "plain"))
				opt.io = IO_PLAIN;
			else
				return -1;
			break;
		case 'R':
			if (!strcmp(optarg, "auto"))
				opt.recv = RECV_AUTO;
			else if (!strcmp(optarg, "multishot"))
				opt.recv = RECV_MULTISHOT;
			else if (!strcmp(optarg, "plain"))
				opt.recv = RECV_PLAIN;
			else
				return -1;
			break;
		case 'B': opt.baseline = true; break;
		case 'V': opt.verify = true; break;
		case 'A': opt.acked_path = optarg; break;
		case 'x': opt.exit_after = (unsigned int)atoi(optarg); break;
		case 'S': opt.summary_path = optarg; break;
		case 'W': opt.idle_rss_wait = atof(optarg); break;
		case 'q': opt.quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc)
		return -1;
	if (!opt.index_path) {
		snprintf(idxbuf, sizeof(idxbuf), "%s.idx", opt.data_path);
		opt.index_path = idxbuf;
	}
	if (!opt.baseline && opt.max_record + HS_REC_HDR > opt.buf_size) {
		logmsg("--buf-size must hold --max-record plus a %u-byte header", HS_REC_HDR);
		return -1;
	}
	return 0;
}

/* Stop reading, write what is complete, wait for the writes, commit. */
static void drain(void)
{
	struct conn *c, *n;

	for (c = conns; c; c = c->all_next) {
		if (c->closing)
			continue;
		if (c->buf && c->nents)
			conn_flush(c);
	}
	while (wio_inflight() && !fatal)
		wio_reap(true);
	commit(true);
	for (c = conns; c; c = c->all_next)
		conn_close(c, NULL);
	/* cancelled multishot receives report back before conns go */
	for (int i = 0; i < 5000 && ms_any_armed(); i++) {
		wio_kick();
		if (wio_reap(false) <= 0)
			usleep(1000);
	}
	for (c = conns; c; c = n) {
		n = c->all_next;
		c->ms_armed = false;
		conn_maybe_free(c);
	}
	ms_exit();
}

static void reap_and_commit(bool idle)
{
	struct conn *c, *n;

	wio_reap(false);
	commit(idle);
	for (c = conns; c; c = n) {
		n = c->all_next;
		conn_maybe_free(c);
	}
}

static void serve_waiters(void)
{
	struct conn *c;
	unsigned int rounds = 0;

	/* As long as buffers are free, let waiting connections in, in order. */
	while (wait_head && st.bufs_out < hs_pool_nr_bufs(pool) && rounds++ < 64) {
		c = wait_pop();
		conn_arm(c, true);
		conn_read(c);
	}
}

static int run(void)
{
	struct epoll_event evs[HS_MAX_EVENTS];
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t next_tick;
	bool coalescing = false;
	int wfd;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || open_listener())
		return -1;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

		epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	}
	wfd = wio_pollfd();
	if (wfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wfd };

		epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &ev);
	}
	if (!opt.quiet)
		logmsg("listening on port %u, data %s, index %s, %s, %s, crc32c %s",
		       opt.port, opt.data_path, opt.index_path,
		       opt.baseline ? "baseline (malloc, buffered write)" :
		       hs_backend_name(hs_pool_backend(pool)),
		       opt.baseline ? "pwrite" : wio_name(), hs_crc32c_impl());
	/* Not silenced by -q: an ack that is not durable must not surprise. */
	if (!opt.quiet || opt.fsync == FSYNC_NONE)
		logmsg("acks are %s", ack_meaning());
	printf("listening %u\n", opt.port);
	fflush(stdout);
	st.t0 = st.t_last = hs_now_ns();
	next_tick = st.t0 + (uint64_t)(opt.progress * 1e9);
	while (!stop_sig && !fatal) {
		int i, n, timeout;
		bool idle;

		timeout = (sync_pending || istage_n) ? 0 : coalescing ? 1 : 200;
		n = epoll_wait(ep, evs, HS_MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			return -1;
		idle = n <= 0;
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			struct conn *c = p;

			if (p == NULL) {
				do_accept();
			} else if (p != &wfd) {
				if (evs[i].events & EPOLLOUT)
					conn_send_ack(c);
				/* EPOLLERR/HUP: the read finds out why */
				if (c->reading && (evs[i].events & ~EPOLLOUT))
					conn_read(c);
			}
		}
		if (!opt.baseline)
			coalescing = conn_coalesced();
		reap_and_commit(idle);
		if (use_ms)
			ms_serve();
		else if (pool)
			serve_waiters();
		if (hs_now_ns() >= next_tick) {
			progress();
			next_tick = hs_now_ns() + (uint64_t)(opt.progress * 1e9);
		}
		if (opt.exit_after && closed_conns >= opt.exit_after && !nconns)
			break;
	}
	if (stop_sig)
		logmsg("signal %d: finishing writes and the index", (int)stop_sig);
	stopping = true;
	drain();
	return fatal ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t rss_after;
	double secs;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_opts(argc, argv)) {
		usage(stderr);
		return 2;
	}
	if (opt.verify)
		return sink_verify(&opt) ? 1 : 0;
	st.cache0 = st.cache_peak = hs_page_cache_kb();
	if (!opt.baseline && create_pool())
		return 1;
	if (open_outputs())
		return 1;
	if (wio_init(opt.baseline ? NULL : pool, data_fd,
		     opt.baseline ? IO_PLAIN : opt.io, opt.quiet)) {
		logmsg("io_uring: %s", strerror(errno));
		return 1;
	}
	if (!opt.baseline && opt.recv != RECV_PLAIN) {
		if (ms_init() == 0) {
			use_ms = true;
		} else if (opt.recv == RECV_MULTISHOT) {
			logmsg("multishot recv: %s", strerror(errno));
			return 1;
		} else if (!opt.quiet) {
			logmsg("multishot recv unusable (%s): using recv(2)", strerror(errno));
		}
	}
	ret = run();
	wio_exit();
	if (fdatasync(idx_fd) || close(idx_fd))
		ret = -1;
	fdatasync(data_fd);
	sample();
	/* From the first byte received to the last record on disk. */
	secs = st.last_ns > st.first_ns && st.first_ns ?
	       (double)(st.last_ns - st.first_ns) / 1e9 : 0;
	if (opt.idle_rss_wait > 0)
		usleep((useconds_t)(opt.idle_rss_wait * 1e6));
	rss_after = hs_proc_status_kb("VmRSS");
	summary(secs, rss_after);
	close(data_fd);
	if (pool) {
		int out = hs_pool_destroy(pool, 0);

		if (out) {
			logmsg("pool destroy: %d buffers still out (%s)", out,
			       out < 0 ? strerror(errno) : "leak");
			ret = -1;
		}
	}
	free(holders);
	free(istage);
	free(iblk);
	return ret ? 1 : 0;
}
