// SPDX-License-Identifier: GPL-2.0
/*
 * pc-nbd: the power-cut lane's NBD client. It writes known patterns at
 * known offsets of an NBD export that is a dm-log-writes device, and marks
 * in that device's log the moment each write became durable by the
 * protocol's rules:
 *
 *   pc-nbd -c HOST:PORT -d DM-NAME -a ACKLOG [-n OPS] [-s SLOTS] [-S SEED]
 *          [-C CONNS]
 *
 * The export is cut into SLOTS slots of 64 KiB; slot i always takes
 * writes of the same length (4 to 64 KiB) at its start, so a later write
 * to a slot replaces the whole extent. OPS writes go to pseudo-random
 * slots, one request at a time, each with a new pattern (from SEED, the
 * offset and the slot's version). About a third carry NBD_CMD_FLAG_FUA:
 * when the reply arrives, the mark goes in at once. The others are plain;
 * every few of them, and at the end, a FLUSH: when its reply arrives, one
 * mark goes in for every slot whose newest replied write was not yet
 * marked. A plain write without a FLUSH reply after it gets no mark: the
 * protocol does not promise it. A slot whose last plain write no FLUSH has
 * covered yet gets no FUA write (see run(): dm-log-writes would log the two
 * in the wrong order). Each marked write is one ACKLOG line
 *
 *	MARK ext OFFSET LEN CRC32C
 *
 * (pc-replay -e checks them). The mark is inserted right after reading
 * the reply, in this process (dmmark.c), so it comes after every FLUSH/FUA
 * the server had done before replying; a server that replies too early is
 * caught because its FLUSH/FUA then comes after the mark.
 *
 * The protocol is spoken here from doc/proto.md directly (fixed newstyle,
 * NBD_OPT_EXPORT_NAME, simple replies), not with the server's codec, so
 * that a shared misunderstanding cannot hide.
 *
 * With CONNS connections (at most 4), each request goes on a pseudo-random
 * one, still one request at a time: a FLUSH on one connection must cover
 * the writes replied to on the others, as NBD_FLAG_CAN_MULTI_CONN
 * promises.
 *
 * Exit 0, 1 when the server refused something, 2 on other errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "dmmark.h"
#include "records.h"

#define NBDMAGIC		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define IHAVEOPT		0x49484156454f5054ULL
#define FLAG_FIXED_NEWSTYLE	(1U << 0)
#define FLAG_NO_ZEROES		(1U << 1)
#define OPT_EXPORT_NAME		1U
#define TFLAG_SEND_FLUSH	(1U << 2)
#define TFLAG_SEND_FUA		(1U << 3)
#define TFLAG_CAN_MULTI_CONN	(1U << 8)
#define REQUEST_MAGIC		0x25609513U
#define REPLY_MAGIC		0x67446698U
#define CMD_WRITE		1U
#define CMD_DISC		2U
#define CMD_FLUSH		3U
#define CMD_FLAG_FUA		(1U << 0)

#define SLOT_SIZE		(64U << 10)
#define SLOTS_MAX		256U
#define CONNS_MAX		4
#define CONNECT_TRIES		200	/* 50 ms apart: the server starts slowly under TCG */

struct slot {
	uint32_t version;
	uint32_t crc;
	int pending;		/* newest write replied, not yet marked */
};

struct client {
	int fd[CONNS_MAX], nfd, cur, ctl;
	const char *dev;
	FILE *acklog;
	uint64_t seed, handle, marks, fua, plain, flushes, acked;
	struct slot slot[SLOTS_MAX];
};

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t slot_len(unsigned int i)
{
	return 4096U * (1 + (i * 7) % 16);
}

static int full_io(int fd, void *buf, size_t len, int rd)
{
	char *p = buf;

	while (len) {
		ssize_t n = rd ? read(fd, p, len) : write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		p += n;
		len -= n;
	}
	return 0;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, v >> 32);
	put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const unsigned char *p)
{
	uint32_t hi, lo;

	memcpy(&hi, p, 4);
	memcpy(&lo, p + 4, 4);
	return (uint64_t)ntohl(hi) << 32 | ntohl(lo);
}

static int dial(const char *hostport)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int fd, i, one = 1;

	if (!colon || (size_t)(colon - hostport) >= sizeof(host))
		return -EINVAL;
	memcpy(host, hostport, colon - hostport);
	host[colon - hostport] = '\0';
	sa.sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	for (i = 0; i < CONNECT_TRIES; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			/* One request at a time: no Nagle delay on each. */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return fd;
		}
		close(fd);
		nanosleep(&ts, NULL);
	}
	return -ECONNREFUSED;
}

/* Fixed newstyle, the default export by NBD_OPT_EXPORT_NAME. */
static int handshake(int fd, uint64_t *size, int multi)
{
	unsigned char b[18];
	uint16_t hflags, tflags;
	int ret;

	ret = full_io(fd, b, 18, 1);
	if (ret)
		return ret;
	memcpy(&hflags, b + 16, 2);
	hflags = ntohs(hflags);
	if (get64(b) != NBDMAGIC || get64(b + 8) != IHAVEOPT ||
	    !(hflags & FLAG_FIXED_NEWSTYLE) || !(hflags & FLAG_NO_ZEROES))
		return -EPROTO;
	put32(b, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
	put64(b + 4, IHAVEOPT);
	put32(b + 12, OPT_EXPORT_NAME);
	ret = full_io(fd, b, 16, 0);
	if (!ret) {
		unsigned char zero[4] = { 0 };	/* the name's length: "" */

		ret = full_io(fd, zero, 4, 0);
	}
	if (!ret)
		ret = full_io(fd, b, 10, 1);
	if (ret)
		return ret;
	*size = get64(b);
	memcpy(&tflags, b + 8, 2);
	tflags = ntohs(tflags);
	/* Several connections rely on one FLUSH covering them all. */
	if (!(tflags & TFLAG_SEND_FLUSH) || !(tflags & TFLAG_SEND_FUA) ||
	    (multi && !(tflags & TFLAG_CAN_MULTI_CONN)))
		return -EOPNOTSUPP;
	return 0;
}

/* One request and its simple reply. 0, the reply's error (> 0), or -errno. */
static int request(struct client *c, uint16_t flags, uint16_t type, uint64_t off,
		   uint32_t len, const void *data)
{
	unsigned char h[28], r[16];
	struct iovec iov[2] = { { h, sizeof(h) }, { (void *)data, data ? len : 0 } };
	uint64_t handle = ++c->handle;
	size_t done = 0, total = sizeof(h) + iov[1].iov_len;
	uint32_t magic, err;
	int ret;

	put32(h, REQUEST_MAGIC);
	h[4] = flags >> 8;
	h[5] = flags & 0xff;
	h[6] = type >> 8;
	h[7] = type & 0xff;
	put64(h + 8, handle);
	put64(h + 16, off);
	put32(h + 24, len);
	while (done < total) {
		struct iovec v[2];
		int nv = 0;
		ssize_t n;

		if (done < sizeof(h))
			v[nv++] = (struct iovec){ h + done, sizeof(h) - done };
		if (iov[1].iov_len) {
			size_t skip = done > sizeof(h) ? done - sizeof(h) : 0;

			v[nv++] = (struct iovec){ (char *)data + skip, len - skip };
		}
		n = writev(c->fd[c->cur], v, nv);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += n;
	}
	if (type == CMD_DISC)
		return 0;
	ret = full_io(c->fd[c->cur], r, sizeof(r), 1);
	if (ret)
		return ret;
	memcpy(&magic, r, 4);
	memcpy(&err, r + 4, 4);
	if (ntohl(magic) != REPLY_MAGIC || get64(r + 8) != handle)
		return -EPROTO;
	return ntohl(err);
}

/* The reply is in: mark now, then say what the mark stands for. */
static int mark(struct client *c, const unsigned int *slots, size_t n)
{
	char name[32];
	size_t i;
	int ret;

	snprintf(name, sizeof(name), "a%" PRIu64, ++c->marks);
	ret = dm_mark(c->ctl, c->dev, name);
	if (ret) {
		fprintf(stderr, "pc-nbd: mark %s on %s: %s\n", name, c->dev, strerror(-ret));
		return ret;
	}
	for (i = 0; i < n; i++) {
		struct slot *s = &c->slot[slots[i]];

		fprintf(c->acklog, "%s ext %" PRIu64 " %u %08x\n", name,
			(uint64_t)slots[i] * SLOT_SIZE, slot_len(slots[i]), s->crc);
		s->pending = 0;
		c->acked++;
	}
	return ferror(c->acklog) ? -EIO : 0;
}

static int do_write(struct client *c, unsigned int i, int fua, uint64_t *buf)
{
	struct slot *s = &c->slot[i];
	uint32_t len = slot_len(i);
	uint64_t off = (uint64_t)i * SLOT_SIZE, key;
	size_t w;
	int ret;

	s->version++;
	/* Unique per run, slot and version: no stale copy can pass for it. */
	key = mix64(c->seed ^ mix64(off ^ ((uint64_t)s->version << 40)));
	for (w = 0; w < len / 8; w++)
		buf[w] = mix64(key + w);
	s->crc = pc_crc32c(0, buf, len);
	ret = request(c, fua ? CMD_FLAG_FUA : 0, CMD_WRITE, off, len, buf);
	if (ret) {
		fprintf(stderr, "pc-nbd: write %u bytes at %" PRIu64 ": %s %d\n", len,
			off, ret > 0 ? "error reply" : "failed", ret);
		return ret;
	}
	if (fua) {
		c->fua++;
		return mark(c, &i, 1);
	}
	c->plain++;
	s->pending = 1;
	return 0;
}

static int do_flush(struct client *c, unsigned int nslots)
{
	unsigned int list[SLOTS_MAX], i;
	size_t n = 0;
	int ret;

	ret = request(c, 0, CMD_FLUSH, 0, 0, NULL);
	if (ret) {
		fprintf(stderr, "pc-nbd: flush: %s %d\n", ret > 0 ? "error reply" : "failed",
			ret);
		return ret;
	}
	c->flushes++;
	for (i = 0; i < nslots; i++)
		if (c->slot[i].pending)
			list[n++] = i;
	return n ? mark(c, list, n) : 0;
}

static int run(struct client *c, unsigned int ops, unsigned int nslots)
{
	uint64_t *buf = malloc(SLOT_SIZE), rnd = c->seed;
	unsigned int k, since_flush = 0;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	for (k = 0; k < ops && !ret; k++) {
		unsigned int i, fua;

		rnd = mix64(rnd);
		c->cur = (rnd >> 48) % c->nfd;
		i = rnd % nslots;
		/*
		 * dm-log-writes logs a FUA write when it completes but a plain
		 * one only at the next FLUSH, after it: a FUA write over an
		 * unflushed plain write to the same slot would replay under
		 * the stale data, a loss no disk could have. So that slot
		 * gets a plain write instead.
		 */
		fua = (rnd >> 32) % 3 == 0 && !c->slot[i].pending;
		ret = do_write(c, i, fua, buf);
		if (ret || fua)
			continue;
		/* A FLUSH after 1 to 4 plain writes. */
		if (++since_flush > ((rnd >> 40) & 3)) {
			/* Often not the connection the writes went on. */
			c->cur = (rnd >> 56) % c->nfd;
			ret = do_flush(c, nslots);
			since_flush = 0;
		}
	}
	if (!ret)
		ret = do_flush(c, nslots);
	for (c->cur = 0; !ret && c->cur < c->nfd; c->cur++)
		ret = request(c, 0, CMD_DISC, 0, 0, NULL);
	free(buf);
	return ret;
}

int main(int argc, char **argv)
{
	struct client c = { .nfd = 1, .ctl = -1, .seed = 1 };
	const char *addr = NULL, *acklog = NULL;
	unsigned int ops = 200, nslots = 64, conns = 1, k;
	uint64_t size;
	int opt, ret, status = 2;

	while ((opt = getopt(argc, argv, "c:d:a:n:s:S:C:")) != -1) {
		switch (opt) {
		case 'c':
			addr = optarg;
			break;
		case 'd':
			c.dev = optarg;
			break;
		case 'a':
			acklog = optarg;
			break;
		case 'n':
			ops = strtoul(optarg, NULL, 0);
			break;
		case 's':
			nslots = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			c.seed = strtoull(optarg, NULL, 0);
			break;
		case 'C':
			conns = strtoul(optarg, NULL, 0);
			break;
		default:
			goto usage;
		}
	}
	if (!addr || !c.dev || !acklog || !nslots || nslots > SLOTS_MAX || !conns ||
	    conns > CONNS_MAX || optind != argc)
		goto usage;
	c.ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (c.ctl < 0) {
		perror("pc-nbd: /dev/mapper/control");
		return 2;
	}
	c.acklog = fopen(acklog, "w");
	if (!c.acklog) {
		perror(acklog);
		goto out;
	}
	for (c.nfd = 0; c.nfd < (int)conns; c.nfd++) {
		ret = dial(addr);
		if (ret < 0) {
			fprintf(stderr, "pc-nbd: connect %s: %s\n", addr, strerror(-ret));
			goto out;
		}
		c.fd[c.nfd] = ret;
		ret = handshake(ret, &size, conns > 1);
		if (ret) {
			fprintf(stderr, "pc-nbd: handshake: %s\n", strerror(-ret));
			c.nfd++;
			goto out;
		}
	}
	if (size < (uint64_t)nslots * SLOT_SIZE) {
		fprintf(stderr, "pc-nbd: export of %" PRIu64 " bytes < %u slots\n", size,
			nslots);
		goto out;
	}
	ret = run(&c, ops, nslots);
	status = ret > 0 ? 1 : ret ? 2 : 0;
	fprintf(stderr, "pc-nbd: %d connection(s), %" PRIu64 " writes (%" PRIu64 " FUA), %"
		PRIu64 " flushes, %" PRIu64 " marks, %" PRIu64 " extents acked\n",
		c.nfd, c.fua + c.plain, c.fua, c.flushes, c.marks, c.acked);
out:
	if (c.acklog && fclose(c.acklog)) {
		perror(acklog);
		status = 2;
	}
	for (k = 0; k < (unsigned int)c.nfd; k++)
		close(c.fd[k]);
	close(c.ctl);
	return status;
usage:
	fprintf(stderr, "usage: pc-nbd -c HOST:PORT -d DM-NAME -a ACKLOG [-n OPS]"
		" [-s SLOTS] [-S SEED] [-C CONNS]\n");
	return 2;
}
