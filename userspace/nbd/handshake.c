// SPDX-License-Identifier: MIT
/*
 * handshake.c: the fixed newstyle handshake of one connection, in a thread
 * of its own with blocking I/O and a timeout, so that a slow or hostile
 * client holds only its thread and never a worker or a pool buffer. The
 * decisions are proto.c's (nbd_opt_handle()); this file only moves bytes.
 * A connection that enters transmission goes to ctx->enter() (main.c hands
 * it to a worker); any other end is logged with its reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "nbd.h"

#define HS_TIMEOUT_S	30	/* per read or write of the handshake */
#define HS_OPTS_MAX	1024	/* options per connection before we give up */
#define HS_SLOTS	(sizeof(((struct handshake_ctx *)0)->fds) / sizeof(int))

struct hs_arg {
	struct handshake_ctx *h;
	int fd;
	unsigned int slot;
};

int handshake_init(struct handshake_ctx *h, struct export *ex, unsigned int n,
		   int (*enter)(void *arg, int fd, struct export *ex), void *arg)
{
	unsigned int i;

	if (n > NBD_EXPORTS_MAX) {
		errno = E2BIG;
		return -1;
	}
	memset(h, 0, sizeof(*h));
	h->exports = ex;
	h->nexports = n;
	for (i = 0; i < n; i++)
		h->descs[i] = ex[i].desc;
	h->enter = enter;
	h->arg = arg;
	for (i = 0; i < HS_SLOTS; i++)
		h->fds[i] = -1;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	return 0;
}

static int read_full(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t r = recv(fd, p, n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ECONNRESET;
			else if (errno == EAGAIN)
				errno = ETIMEDOUT;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/*
 * Run the option phase. Return the export entered, or -1 with *why set
 * (NULL for an orderly NBD_OPT_ABORT).
 */
static int negotiate(struct handshake_ctx *h, int fd, uint8_t *data,
		     uint8_t *out, const char **why)
{
	struct nbd_opt_result res;
	uint8_t hello[NBD_HELLO_LEN], hdr[NBD_OPT_HDR_LEN], cf[4];
	uint32_t opt, len;
	int no_zeroes, n;

	nbd_hello_encode(hello);
	if (write_full(fd, hello, sizeof(hello)) || read_full(fd, cf, 4)) {
		*why = strerror(errno);
		return -1;
	}
	if (nbd_client_flags_check(nbd_get32(cf), &no_zeroes, why))
		return -1;
	for (n = 0; n < HS_OPTS_MAX; n++) {
		if (read_full(fd, hdr, sizeof(hdr))) {
			*why = strerror(errno);
			return -1;
		}
		if (nbd_opt_hdr_decode(hdr, &opt, &len, why))
			return -1;
		if (read_full(fd, data, len)) {
			*why = strerror(errno);
			return -1;
		}
		nbd_opt_handle(opt, data, len, h->descs, h->nexports, no_zeroes,
			       out, &res);
		if (res.action == NBD_OPT_FATAL) {
			*why = res.why;
			return -1;
		}
		if (write_full(fd, out, res.len)) {
			*why = strerror(errno);
			return -1;
		}
		if (res.action == NBD_OPT_ENTER)
			return (int)res.export;
		if (res.action == NBD_OPT_CLOSE) {
			*why = NULL;
			return -1;
		}
	}
	*why = "too many options";
	return -1;
}

static void *handshake_main(void *p)
{
	struct hs_arg *a = p;
	struct handshake_ctx *h = a->h;
	struct timeval tv = { HS_TIMEOUT_S, 0 }, none = { 0, 0 };
	uint8_t *data = malloc(NBD_OPT_DATA_MAX), *out = malloc(NBD_OPT_OUT_MAX);
	const char *why = "out of memory";
	int fd = a->fd, idx = -1;
	bool stopping;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (data && out)
		idx = negotiate(h, fd, data, out, &why);
	free(data);
	free(out);
	pthread_mutex_lock(&h->lock);
	/* From here handshake_stop() no longer cuts this socket. */
	h->fds[a->slot] = -1;
	stopping = h->stopping;
	if (idx < 0 && why)
		h->closed_bad++;
	pthread_mutex_unlock(&h->lock);
	if (idx >= 0 && stopping) {
		idx = -1;
		why = NULL;
	}
	if (idx >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none));
		if (h->enter(h->arg, fd, &h->exports[idx])) {
			fprintf(stderr, "hugeslab-nbd: connection fd %d: no worker took it: %s\n",
				fd, strerror(errno));
			close(fd);
		}
	} else {
		if (why)
			fprintf(stderr, "hugeslab-nbd: connection fd %d closed in handshake: %s\n",
				fd, why);
		close(fd);
	}
	free(a);
	pthread_mutex_lock(&h->lock);
	if (--h->running == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

void handshake_start(struct handshake_ctx *h, int fd)
{
	struct hs_arg *a = malloc(sizeof(*a));
	pthread_attr_t attr;
	pthread_t t;
	unsigned int i;
	int ret;

	if (!a)
		goto refuse;
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < HS_SLOTS && h->fds[i] >= 0; i++)
		;
	if (i == HS_SLOTS || h->stopping) {
		pthread_mutex_unlock(&h->lock);
		fprintf(stderr, "hugeslab-nbd: connection fd %d refused: %s\n", fd,
			h->stopping ? "shutting down" : "too many handshakes in progress");
		free(a);
		close(fd);
		return;
	}
	h->fds[i] = fd;
	h->running++;
	pthread_mutex_unlock(&h->lock);
	a->h = h;
	a->fd = fd;
	a->slot = i;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	ret = pthread_create(&t, &attr, handshake_main, a);
	pthread_attr_destroy(&attr);
	if (!ret)
		return;
	pthread_mutex_lock(&h->lock);
	h->fds[i] = -1;
	h->running--;
	pthread_mutex_unlock(&h->lock);
	free(a);
refuse:
	fprintf(stderr, "hugeslab-nbd: connection fd %d refused: out of memory\n", fd);
	close(fd);
}

void handshake_stop(struct handshake_ctx *h)
{
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	for (i = 0; i < HS_SLOTS; i++)
		if (h->fds[i] >= 0)
			shutdown(h->fds[i], SHUT_RDWR);
	while (h->running)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->idle);
}
