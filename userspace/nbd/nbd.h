/* SPDX-License-Identifier: MIT */
/*
 * nbd.h: the parts of hugeslab-nbd and the interfaces between them. One
 * request travels: sockets.c (accept) -> handshake.c (options, one thread
 * per connection until it enters transmission) -> worker.c (the io_uring
 * engine: header, payload into pool buffers, disk, reply) and aux.c
 * (FLUSH, TRIM, WRITE_ZEROES as blocking system calls) -> export.c (the
 * backing file or device). main.c owns the options and the lifetime of all
 * of them; nothing is shared through globals.
 */
#ifndef HS_NBD_H
#define HS_NBD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hugeslab.h"
#include "proto.h"

#define NBD_MIN_BLOCK		4096U
#define NBD_MAX_PAYLOAD		(32U << 20)
#define NBD_BUF_SIZE		HS_BUF_SIZE_MAX	/* 2 MiB: one slab */
#define NBD_MAX_BUFS		(NBD_MAX_PAYLOAD / NBD_BUF_SIZE)
/*
 * Requests up to this size take one buffer of the small pool instead of a
 * 2 MiB one (nbd.rst, "Two buffer sizes", has the measurement behind it).
 * A build may override it for that measurement.
 */
#ifndef NBD_SMALL_BUF_SIZE
#define NBD_SMALL_BUF_SIZE	(64U << 10)
#endif

/* The two buffer classes; a request takes buffers of one class only. */
enum nbd_class { NBD_LARGE = 0, NBD_SMALL = 1, NBD_CLASSES };
#define NBD_WORKERS_MAX		64U

/* ---- export.c: the backing store ---- */

struct export {
	struct nbd_export_desc desc;
	char *path;
	int fd;			/* O_RDWR | O_DIRECT, shared by every connection */
	bool is_bdev;
};

int export_open(struct export *ex, const char *path, const char *name,
		uint32_t max_block);
void export_close(struct export *ex);
/* Blocking operations of aux.c; return 0 or -errno. */
int export_flush(struct export *ex);
int export_trim(struct export *ex, uint64_t off, uint64_t len);
int export_zero(struct export *ex, uint64_t off, uint64_t len, bool no_hole);

/* ---- worker.c: the transmission phase ---- */

struct worker_stats {
	uint64_t reqs;
	uint64_t rd_bytes;
	uint64_t wr_bytes;
	uint64_t flushes;
	uint64_t errors;	/* error replies */
	uint64_t conns;		/* accepted into transmission */
	uint64_t closed_bad;	/* closed for a protocol violation */
	uint64_t stalls;	/* requests that waited for pool buffers */
	uint64_t small_stalls;	/* ... of them, for small buffers */
	uint64_t zc_sends;	/* READ replies sent with SENDMSG_ZC */
	uint64_t copy_sends;	/* READ replies sent with a copying sendmsg */
	uint64_t zc_copied;	/* zc_sends the kernel reported it copied */
	uint64_t bufs_held;	/* buffers held by this worker now, both pools */
	/* most requests holding buffers of each class at once */
	uint64_t peak[NBD_CLASSES];
	uint64_t unfixed;	/* disk I/Os not on registered fixed buffers */
	uint64_t payloads;	/* WRITE payloads received into pool buffers */
	uint64_t payload_recvs;	/* ... in this many receive completions */
};

struct worker;

struct worker_cfg {
	unsigned int idx;
	/* pools[NBD_SMALL] is NULL with --small-pool 0: one class only */
	struct hs_pool *pools[NBD_CLASSES];
	unsigned int tag;	/* owner tag of this worker's buffers */
	/* most buffers of each class one connection may hold */
	unsigned int conn_bufs[NBD_CLASSES];
	bool zerocopy;		/* READ replies by SENDMSG_ZC if the kernel has it */
};

struct worker *worker_start(const struct worker_cfg *cfg);
/* Hand a connection in transmission over; the worker owns @fd after it. */
int worker_add_conn(struct worker *w, int fd, struct export *ex);
/* Finish requests in flight, then close every connection and stop. */
void worker_stop(struct worker *w);
void worker_join(struct worker *w);	/* the thread has ended after it */
void worker_free(struct worker *w);
void worker_read_stats(const struct worker *w, struct worker_stats *st);
const char *worker_ring_desc(const struct worker *w);

/* ---- aux.c: blocking commands, one thread per worker ---- */

struct aux;
struct aux_item {
	struct aux_item *next;
	struct export *ex;
	uint16_t type;
	uint16_t flags;
	uint64_t off;
	uint64_t len;
	int res;		/* 0 or -errno, set by the aux thread */
};
/* Completed items go back to @done(arg, item) in the aux thread. */
struct aux *aux_start(void (*done)(void *arg, struct aux_item *it), void *arg);
void aux_submit(struct aux *a, struct aux_item *it);
void aux_stop(struct aux *a);

/* ---- handshake.c: options, one thread per new connection ---- */

struct server;
struct handshake_ctx {
	struct export *exports;
	struct nbd_export_desc descs[NBD_EXPORTS_MAX];
	unsigned int nexports;
	/* Called with a connection that entered transmission on @ex. */
	int (*enter)(void *arg, int fd, struct export *ex);
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned int running;	/* handshake threads alive */
	bool stopping;
	int fds[256];		/* sockets in handshake, to cut at shutdown */
	uint64_t closed_bad;
};

int handshake_init(struct handshake_ctx *h, struct export *ex, unsigned int n,
		   int (*enter)(void *arg, int fd, struct export *ex), void *arg);
/* Start the handshake of @fd in its own thread; closes @fd on failure. */
void handshake_start(struct handshake_ctx *h, int fd);
/* Cut every handshake still running and wait for the threads to end. */
void handshake_stop(struct handshake_ctx *h);

/* ---- sockets.c ---- */

/* Listen on HOST:PORT (IPv4, IPv6 in brackets, or a name); *port gets the
 * port bound. Return the socket or -1 with errno set. */
int sock_listen_tcp(const char *hostport, unsigned int *port);
int sock_listen_unix(const char *path);
/* Accept one connection, non-blocking listener; -1 with EAGAIN if none. */
int sock_accept(int lfd);

#endif /* HS_NBD_H */
