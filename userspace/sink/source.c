// SPDX-License-Identifier: MIT
/*
 * hugeslab-source: load generator for hugeslab-sink. Sends N bytes or N
 * seconds of framed records over M connections (one thread each), keeps at
 * most --window bytes unacknowledged per connection, and reports throughput
 * and ack latency percentiles. --inject sends broken streams for tests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "frame.h"

enum inject { INJ_NONE, INJ_BAD_LEN, INJ_BAD_CRC, INJ_BAD_MAGIC, INJ_TRUNC_HDR, INJ_MID_RECORD };

static struct {
	uint32_t ip;
	uint16_t port;
	unsigned int conns;
	uint64_t bytes;
	double seconds;
	uint64_t size_min, size_max;
	uint64_t window;
	uint32_t stream_base;
	enum inject inject;
	const char *acked_out;
	const char *acked_log;
	const char *summary_path;
	unsigned int ack_delay_us;
	unsigned int pace_us;
	bool quiet;
} opt;

#define MAX_SAMPLES	(1U << 18)
#define INFLIGHT_MAX	(1U << 16)

struct inflight {
	uint64_t seq;
	uint64_t t;
	uint32_t len;
};

struct worker {
	pthread_t th;
	unsigned int idx;
	uint32_t stream;
	int fd;
	uint64_t quota;
	uint64_t sent_bytes, sent_records;
	uint64_t acked_seq, acked_bytes;
	struct inflight *ring;
	uint64_t ring_head, ring_tail;	/* seq-ordered FIFO */
	uint64_t unacked_bytes;
	uint32_t *lat_us;
	uint64_t nlat;
	uint64_t rng;
	int err;
	uint64_t bad_acks;
	bool closed_by_peer;
	char errmsg[128];
};

static char *block;
static size_t block_len;
/*
 * --acked-log: one "stream seq" line per ack, written with one write(2) to
 * an O_APPEND file as soon as the ack is read, so that the file lists every
 * ack the source had received by the time it died or the power was cut.
 */
static int acked_log_fd = -1;
static uint64_t t_start, t_end_send;
static volatile int stop_now;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint32_t pick_size(struct worker *w)
{
	double lo, hi, r;

	if (opt.size_min == opt.size_max)
		return (uint32_t)opt.size_min;
	/* log-uniform: as many small records as large ones */
	lo = log((double)opt.size_min);
	hi = log((double)opt.size_max + 1);
	r = (double)(xorshift(&w->rng) >> 11) / 9007199254740992.0;
	r = exp(lo + (hi - lo) * r);
	if (r < (double)opt.size_min)
		r = (double)opt.size_min;
	if (r > (double)opt.size_max)
		r = (double)opt.size_max;
	return (uint32_t)r;
}

static int send_all(int fd, struct iovec *iov, int n)
{
	while (n) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t r = sendmsg(fd, &m, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static void on_ack(struct worker *w, const struct hs_ack *a)
{
	uint64_t now = hs_now_ns();

	if (a->magic != HS_ACK_MAGIC || a->stream != w->stream) {
		/* half a frame, or a stale errno's garbage: the stream of acks
		 * is out of step and nothing after this can be trusted */
		if (!w->bad_acks++)
			snprintf(w->errmsg, sizeof(w->errmsg),
				 "bad ack frame (magic %08x stream %u)", a->magic,
				 a->stream);
		w->err = 1;
		return;
	}
	if (a->seq <= w->acked_seq)
		return;
	while (w->ring_tail < w->ring_head) {
		struct inflight *f = &w->ring[w->ring_tail % INFLIGHT_MAX];
		uint64_t us;

		if (f->seq > a->seq)
			break;
		us = (now - f->t) / 1000;
		if (w->nlat < MAX_SAMPLES)
			w->lat_us[w->nlat++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
		else
			w->lat_us[xorshift(&w->rng) % MAX_SAMPLES] = (uint32_t)us;
		w->unacked_bytes -= f->len;
		w->acked_bytes += f->len;
		w->ring_tail++;
	}
	w->acked_seq = a->seq;
	if (acked_log_fd >= 0) {
		char line[40];
		int n = snprintf(line, sizeof(line), "%u %llu\n", w->stream,
				 (unsigned long long)a->seq);

		if (write(acked_log_fd, line, (size_t)n) != n) {
			snprintf(w->errmsg, sizeof(w->errmsg), "--acked-log: %s",
				 strerror(errno));
			w->err = 1;
		}
	}
}

/* Read acks; block until at least one arrives when @wait. 0, or -1 on EOF
 * or error. */
static int read_acks(struct worker *w, bool wait)
{
	static __thread char abuf[16 * 256];
	static __thread size_t have;

	for (;;) {
		size_t want = sizeof(abuf) - have;
		ssize_t n;
		size_t i;

		if (opt.ack_delay_us) {
			/* --ack-delay: a peer that reads its acks slowly, one
			 * frame's worth at a time */
			usleep(opt.ack_delay_us);
			want = sizeof(struct hs_ack);
		}
		n = recv(w->fd, abuf + have, want, wait ? 0 : MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			w->closed_by_peer = n == 0 || errno == ECONNRESET;
			if (n < 0)
				snprintf(w->errmsg, sizeof(w->errmsg), "recv: %s", strerror(errno));
			return -1;
		}
		have += (size_t)n;
		for (i = 0; i + sizeof(struct hs_ack) <= have; i += sizeof(struct hs_ack)) {
			struct hs_ack a;

			memcpy(&a, abuf + i, sizeof(a));
			on_ack(w, &a);
		}
		memmove(abuf, abuf + i, have - i);
		have -= i;
		if (w->bad_acks)
			return -1;
		if (wait)
			return 0;
	}
}

static int do_connect(struct worker *w)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1, tries;

	sa.sin_addr.s_addr = opt.ip;
	sa.sin_port = htons(opt.port);
	for (tries = 0; tries < 100; tries++) {
		w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (w->fd < 0)
			return -1;
		if (opt.ack_delay_us) {
			/* a small receive window fills the sink's socket */
			int rb = 4096;

			setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
		}
		if (!connect(w->fd, (struct sockaddr *)&sa, sizeof(sa))) {
			setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return 0;
		}
		close(w->fd);
		w->fd = -1;
		if (errno != ECONNREFUSED)
			break;
		usleep(50000);
	}
	snprintf(w->errmsg, sizeof(w->errmsg), "connect: %s", strerror(errno));
	return -1;
}

static void make_hdr(struct hs_rec_hdr *h, struct worker *w, uint32_t len,
		     const char *payload)
{
	memset(h, 0, sizeof(*h));
	h->len = len;
	h->stream = w->stream;
	h->seq = w->sent_records + 1;
	h->crc = hs_crc32c(0, payload, len);
	hs_rec_hdr_seal(h);
}

/* Broken streams, sent first so that nothing good precedes them. */
static void run_inject(struct worker *w)
{
	struct hs_rec_hdr h;
	struct iovec iov[2];
	char junk[64];

	switch (opt.inject) {
	case INJ_BAD_LEN:
		make_hdr(&h, w, 16, block);
		h.len = 0x7ffffff0U;
		hs_rec_hdr_seal(&h);
		iov[0] = (struct iovec){ &h, sizeof(h) };
		iov[1] = (struct iovec){ block, 4096 };
		send_all(w->fd, iov, 2);
		break;
	case INJ_BAD_CRC:
		make_hdr(&h, w, 4096, block);
		h.crc ^= 1;
		hs_rec_hdr_seal(&h);
		iov[0] = (struct iovec){ &h, sizeof(h) };
		iov[1] = (struct iovec){ block, 4096 };
		send_all(w->fd, iov, 2);
		break;
	case INJ_BAD_MAGIC:
		memset(junk, 0, sizeof(junk));
		strcpy(junk, "GET / HTTP/1.0\r\n\r\n");
		iov[0] = (struct iovec){ junk, sizeof(junk) };
		send_all(w->fd, iov, 1);
		break;
	case INJ_TRUNC_HDR:
		make_hdr(&h, w, 4096, block);
		iov[0] = (struct iovec){ &h, 10 };
		send_all(w->fd, iov, 1);
		shutdown(w->fd, SHUT_WR);
		break;
	default:
		return;
	}
	/* Wait for the sink to close on us. */
	while (read_acks(w, true) == 0)
		;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t deadline = opt.seconds > 0 ? t_start + (uint64_t)(opt.seconds * 1e9) : 0;

	if (do_connect(w)) {
		w->err = 1;
		return NULL;
	}
	if (opt.inject != INJ_NONE && opt.inject != INJ_MID_RECORD) {
		run_inject(w);
		close(w->fd);
		return NULL;
	}
	while (!stop_now) {
		struct hs_rec_hdr h;
		struct iovec iov[2];
		uint32_t len;
		size_t off;

		if (deadline ? hs_now_ns() >= deadline : w->sent_bytes >= w->quota)
			break;
		len = pick_size(w);
		if (!deadline && len > w->quota - w->sent_bytes && w->quota - w->sent_bytes >= opt.size_min)
			len = (uint32_t)(w->quota - w->sent_bytes);
		off = (size_t)(xorshift(&w->rng) % (block_len - len + 1));
		make_hdr(&h, w, len, block + off);
		while ((w->unacked_bytes + len > opt.window && w->unacked_bytes) ||
		       w->ring_head - w->ring_tail >= INFLIGHT_MAX) {
			if (read_acks(w, true)) {
				w->err = 1;
				goto out;
			}
		}
		iov[0] = (struct iovec){ &h, sizeof(h) };
		iov[1] = (struct iovec){ block + off, len };
		w->ring[w->ring_head % INFLIGHT_MAX] =
			(struct inflight){ .seq = h.seq, .t = hs_now_ns(), .len = len };
		w->ring_head++;
		w->unacked_bytes += len;
		if (send_all(w->fd, iov, 2)) {
			snprintf(w->errmsg, sizeof(w->errmsg), "send: %s", strerror(errno));
			w->err = 1;
			goto out;
		}
		w->sent_bytes += len;
		w->sent_records++;
		if (opt.pace_us)
			usleep(opt.pace_us);	/* --pace: offered load */
		if (!opt.ack_delay_us && read_acks(w, false)) {
			w->err = 1;
			goto out;
		}
	}
	if (opt.inject == INJ_MID_RECORD) {
		/* Everything acked first, then half a record and goodbye. */
		while (w->acked_seq < w->sent_records && read_acks(w, true) == 0)
			;
		struct hs_rec_hdr h;
		struct iovec iov[2];

		make_hdr(&h, w, 8192, block);
		iov[0] = (struct iovec){ &h, sizeof(h) };
		iov[1] = (struct iovec){ block, 4096 };
		send_all(w->fd, iov, 2);
		close(w->fd);
		w->fd = -1;
		return NULL;
	}
	/* All sent: wait for the last ack. */
	while (w->acked_seq < w->sent_records) {
		if (read_acks(w, true)) {
			w->err = 1;
			break;
		}
	}
out:
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int parse_opts(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", 1, NULL, 'C' }, { "conns", 1, NULL, 'c' },
		{ "bytes", 1, NULL, 'n' }, { "seconds", 1, NULL, 't' },
		{ "size", 1, NULL, 's' }, { "window", 1, NULL, 'w' },
		{ "stream-base", 1, NULL, 'B' }, { "inject", 1, NULL, 'J' },
		{ "acked-out", 1, NULL, 'A' }, { "acked-log", 1, NULL, 'L' },
		{ "summary", 1, NULL, 'S' }, { "ack-delay", 1, NULL, 'D' },
		{ "pace", 1, NULL, 'P' },
		{ "quiet", 0, NULL, 'q' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char *dash;
	int ch;

	opt.ip = htonl(INADDR_LOOPBACK);
	opt.port = 7070;
	opt.conns = 1;
	opt.bytes = 64ULL << 20;
	opt.size_min = opt.size_max = 64 << 10;
	opt.window = 8ULL << 20;
	opt.stream_base = 1;
	while ((ch = getopt_long(argc, argv, "C:c:n:t:s:w:qh", lo, NULL)) != -1) {
		switch (ch) {
		case 'C':
			if (hs_parse_addr(optarg, &opt.ip, &opt.port))
				return -1;
			break;
		case 'c': opt.conns = (unsigned int)atoi(optarg); break;
		case 'n':
			if (hs_parse_size(optarg, &opt.bytes))
				return -1;
			break;
		case 't': opt.seconds = atof(optarg); break;
		case 's':
			dash = strchr(optarg, '-');
			if (dash) {
				*dash = 0;
				if (hs_parse_size(optarg, &opt.size_min) ||
				    hs_parse_size(dash + 1, &opt.size_max))
					return -1;
			} else if (hs_parse_size(optarg, &opt.size_min)) {
				return -1;
			} else {
				opt.size_max = opt.size_min;
			}
			break;
		case 'w':
			if (hs_parse_size(optarg, &opt.window))
				return -1;
			break;
		case 'B': opt.stream_base = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'J':
			if (!strcmp(optarg, "bad-len")) opt.inject = INJ_BAD_LEN;
			else if (!strcmp(optarg, "bad-crc")) opt.inject = INJ_BAD_CRC;
			else if (!strcmp(optarg, "bad-magic")) opt.inject = INJ_BAD_MAGIC;
			else if (!strcmp(optarg, "trunc-hdr")) opt.inject = INJ_TRUNC_HDR;
			else if (!strcmp(optarg, "mid-record")) opt.inject = INJ_MID_RECORD;
			else return -1;
			break;
		case 'A': opt.acked_out = optarg; break;
		case 'L': opt.acked_log = optarg; break;
		case 'D': opt.ack_delay_us = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'P': opt.pace_us = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'S': opt.summary_path = optarg; break;
		case 'q': opt.quiet = true; break;
		case 'h':
			printf("usage: hugeslab-source [--connect ADDR:PORT] [-c CONNS] [-n BYTES | -t SECONDS]\n"
			       "       [-s SIZE | -s MIN-MAX] [-w WINDOW] [--stream-base N] [--acked-out FILE]\n"
			       "       [--acked-log FILE] [--ack-delay USEC] [--pace USEC]\n"
			       "       [--summary FILE] [--inject bad-len|bad-crc|bad-magic|trunc-hdr|mid-record] [-q]\n");
			exit(0);
		default: return -1;
		}
	}
	if (!opt.conns || opt.size_max < opt.size_min || opt.size_max > (1U << 30))
		return -1;
	return optind == argc ? 0 : -1;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_now = 1;
}

int main(int argc, char **argv)
{
	uint64_t sent = 0, recs = 0, acked = 0, nlat = 0, rng = 0x9e3779b97f4a7c15ULL;
	struct worker *ws;
	uint32_t *lat;
	unsigned int i;
	int errs = 0, peer_closed = 0;
	double secs;
	FILE *f;

	if (parse_opts(argc, argv)) {
		fprintf(stderr, "hugeslab-source: bad arguments (try --help)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	block_len = opt.size_max * 2 > (4U << 20) ? opt.size_max * 2 : (4U << 20);
	block = malloc(block_len);
	ws = calloc(opt.conns, sizeof(*ws));
	if (!block || !ws)
		return 1;
	if (opt.acked_log) {
		acked_log_fd = open(opt.acked_log, O_WRONLY | O_CREAT | O_TRUNC |
				    O_APPEND | O_CLOEXEC, 0644);
		if (acked_log_fd < 0) {
			fprintf(stderr, "hugeslab-source: %s: %s\n", opt.acked_log,
				strerror(errno));
			return 1;
		}
	}
	for (i = 0; i + 8 <= block_len; i += 8) {
		uint64_t v = xorshift(&rng);

		memcpy(block + i, &v, 8);
	}
	t_start = hs_now_ns();
	for (i = 0; i < opt.conns; i++) {
		struct worker *w = &ws[i];

		w->idx = i;
		w->stream = opt.stream_base + i;
		w->quota = opt.bytes / opt.conns + (i < opt.bytes % opt.conns);
		w->rng = 0x123456789ULL * (w->stream + 1);
		w->fd = -1;
		w->ring = calloc(INFLIGHT_MAX, sizeof(*w->ring));
		w->lat_us = calloc(MAX_SAMPLES, sizeof(*w->lat_us));
		if (!w->ring || !w->lat_us ||
		    pthread_create(&w->th, NULL, worker_main, w))
			return 1;
	}
	for (i = 0; i < opt.conns; i++)
		pthread_join(ws[i].th, NULL);
	t_end_send = hs_now_ns();
	secs = (double)(t_end_send - t_start) / 1e9;
	lat = malloc((size_t)opt.conns * MAX_SAMPLES * sizeof(*lat));
	f = opt.acked_out ? fopen(opt.acked_out, "w") : NULL;
	for (i = 0; i < opt.conns; i++) {
		struct worker *w = &ws[i];

		sent += w->sent_bytes;
		recs += w->sent_records;
		acked += w->acked_seq;
		if (w->err) {
			errs++;
			if (!opt.quiet || opt.inject == INJ_NONE)
				fprintf(stderr, "hugeslab-source: stream %u: %s\n", w->stream,
					w->errmsg[0] ? w->errmsg : w->closed_by_peer ?
					"connection closed by the sink" : "error");
		}
		if (w->closed_by_peer)
			peer_closed++;
		if (w->bad_acks)
			fprintf(stderr, "hugeslab-source: stream %u: %llu bad ack frames\n",
				w->stream, (unsigned long long)w->bad_acks);
		if (f)
			fprintf(f, "%u %llu\n", w->stream, (unsigned long long)w->acked_seq);
		if (lat) {
			memcpy(lat + nlat, w->lat_us, w->nlat * sizeof(*lat));
			nlat += w->nlat;
		}
	}
	if (f)
		fclose(f);
	if (lat && nlat)
		qsort(lat, nlat, sizeof(*lat), cmp_u32);
#define PCT(p) (nlat ? lat[(size_t)((double)(nlat - 1) * (p))] : 0)
	printf("hugeslab-source: %llu records, %llu bytes in %.2f s, %.1f MB/s, %u conns, acked %llu records\n",
	       (unsigned long long)recs, (unsigned long long)sent, secs,
	       secs > 0 ? (double)sent / 1e6 / secs : 0, opt.conns, (unsigned long long)acked);
	printf("hugeslab-source: ack latency us: p50 %u p90 %u p99 %u max %u\n",
	       PCT(0.5), PCT(0.9), PCT(0.99), nlat ? lat[nlat - 1] : 0);
	if (opt.summary_path && (f = fopen(opt.summary_path, "w"))) {
		fprintf(f, "records=%llu\nbytes=%llu\nsecs=%.3f\nmbps=%.1f\nacked=%llu\n"
			"lat_p50_us=%u\nlat_p90_us=%u\nlat_p99_us=%u\nlat_max_us=%u\nerrors=%d\npeer_closed=%d\n",
			(unsigned long long)recs, (unsigned long long)sent, secs,
			secs > 0 ? (double)sent / 1e6 / secs : 0, (unsigned long long)acked,
			PCT(0.5), PCT(0.9), PCT(0.99), nlat ? lat[nlat - 1] : 0, errs, peer_closed);
		fclose(f);
	}
	for (i = 0; i < opt.conns; i++) {
		free(ws[i].ring);
		free(ws[i].lat_us);
	}
	free(ws);
	free(lat);
	free(block);
	if (acked_log_fd >= 0 && close(acked_log_fd))
		errs++;
	if (opt.inject != INJ_NONE && opt.inject != INJ_MID_RECORD)
		return peer_closed == (int)opt.conns ? 0 : 1;
	return errs || acked != recs ? 1 : 0;
}
