/* SPDX-License-Identifier: MIT */
/*
 * sink.h: state of hugeslab-sink shared by sink.c (event loop, receive
 * path, index, acks), wio.c (write engines) and verify.c.
 */
#ifndef HS_SINK_H
#define HS_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "hugeslab.h"

enum fsync_policy { FSYNC_NONE, FSYNC_BATCH, FSYNC_BYTES };
enum io_mode { IO_AUTO, IO_URING, IO_PLAIN };
enum recv_mode { RECV_AUTO, RECV_MULTISHOT, RECV_PLAIN };

struct sink_opts {
	uint32_t ip;
	uint16_t port;
	const char *data_path;
	const char *index_path;
	uint64_t pool_bytes;
	uint32_t buf_size;
	uint32_t max_record;
	enum fsync_policy fsync;
	uint64_t fsync_bytes;
	enum io_mode io;
	enum recv_mode recv;
	bool baseline;
	bool verify;
	bool quiet;
	const char *acked_path;
	const char *summary_path;
	unsigned int exit_after;
	double idle_rss_wait;
	double progress;
};

/* One write to disk: a 4 KiB-aligned piece of a receive buffer. */
struct chunk {
	struct conn *conn;
	void *buf;		/* reference held until the write completes */
	char *start;
	uint32_t len;
	uint32_t done_len;
	uint64_t off;
	struct hs_idx_ent *ents;
	uint32_t nents;
	uint64_t last_seq;
	uint64_t payload;
	bool done;
	struct chunk *next;	/* per connection, in submission order */
};

/* Write engines (wio.c). */
int wio_init(struct hs_pool *pool, int fd, enum io_mode mode, bool quiet);
const char *wio_name(void);
/* "registered", "not used", or why registration failed */
const char *wio_fixed_status(void);
bool wio_fixed_failed(void);
/* writes from memory the registration does not cover, with it in place */
unsigned long long wio_unfixed_writes(void);
int wio_submit(struct chunk *ch);	/* sync engines complete at once */
int wio_reap(bool wait);		/* completions processed, or -1 */
int wio_pollfd(void);			/* -1 if nothing to poll */
/* user_data of receive SQEs: the connection pointer with this bit set */
#define WIO_TAG_RECV	1UL
struct io_uring;
struct io_uring_sqe;
struct io_uring *wio_ring(void);	/* NULL unless io_uring is in use */
struct io_uring_sqe *wio_sqe(void);
void sink_recv_cqe(void *conn, int res, unsigned int flags);
int wio_wait_write(void);		/* from a receive handler */
void wio_kick(void);			/* submit queued SQEs */
unsigned int wio_inflight(void);
void wio_exit(void);

/* Called by wio when a chunk is on disk; res < 0 is a fatal I/O error. */
void sink_chunk_done(struct chunk *ch, int res);

int sink_verify(const struct sink_opts *o);

/* Where a restart resumes, from sink_recover() (verify.c). */
struct idx_tail {
	uint64_t next_blk;	/* first index block to write */
	uint64_t next_commit;
	uint64_t data_end;	/* data offset past the last record's chunk */
	uint64_t records;	/* records kept */
	uint32_t max_record;	/* of the index header */
	uint32_t id;
	uint64_t cut_records;	/* records of the last commit dropped */
	uint64_t torn_blks;	/* torn index blocks cut off */
};

int sink_recover(int ifd, int dfd, struct idx_tail *t);

#endif /* HS_SINK_H */
