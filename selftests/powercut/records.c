// SPDX-License-Identifier: GPL-2.0
/* The independent record check: see records.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

#define REC_MAGIC	0x31525348U	/* "HSR1", little-endian */
#define REC_HDR		32U
/* Larger than any --max-record the lane uses; guards the bitmap size. */
#define REC_MAX_LEN	(64U << 20)
#define REC_MAX_SEQ	(1ULL << 28)

struct rec_hdr {
	uint32_t magic;
	uint32_t len;
	uint32_t stream;
	uint32_t flags;
	uint64_t seq;
	uint32_t crc;
	uint32_t hcrc;
};

/*
 * Bitwise-reflected CRC32C (Castagnoli), one table, no CPU instruction:
 * deliberately not the sink's implementation.
 */
uint32_t pc_crc32c(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const unsigned char *p = buf;
	size_t i;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			uint32_t c = (uint32_t)i;
			int k;

			for (k = 0; k < 8; k++)
				c = (c >> 1) ^ ((c & 1) ? 0x82f63b78U : 0);
			table[i] = c;
		}
	}
	crc = ~crc;
	for (i = 0; i < len; i++)
		crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static struct rec_stream *stream_get(struct rec_set *set, uint32_t id)
{
	struct rec_stream *s;
	size_t i;

	for (i = 0; i < set->nr; i++)
		if (set->s[i].id == id)
			return &set->s[i];
	s = realloc(set->s, (set->nr + 1) * sizeof(*s));
	if (!s)
		return NULL;
	set->s = s;
	s = &set->s[set->nr++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	return s;
}

static int set_add(struct rec_set *set, uint32_t id, uint64_t seq)
{
	struct rec_stream *s = stream_get(set, id);

	if (!s)
		return -ENOMEM;
	if (seq >= s->nbits) {
		uint64_t n = (seq + 1) * 2;
		uint8_t *b = realloc(s->bits, (size_t)(n + 7) / 8);

		if (!b)
			return -ENOMEM;
		memset(b + (s->nbits + 7) / 8, 0,
		       (size_t)((n + 7) / 8 - (s->nbits + 7) / 8));
		s->bits = b;
		s->nbits = (n + 7) / 8 * 8;
	}
	s->bits[seq / 8] |= (uint8_t)(1U << (seq % 8));
	return 0;
}

int rec_present(const struct rec_set *set, uint32_t stream, uint64_t seq)
{
	size_t i;

	for (i = 0; i < set->nr; i++) {
		const struct rec_stream *s = &set->s[i];

		if (s->id == stream)
			return seq < s->nbits && (s->bits[seq / 8] >> (seq % 8)) & 1;
	}
	return 0;
}

void rec_free(struct rec_set *set)
{
	size_t i;

	for (i = 0; i < set->nr; i++)
		free(set->s[i].bits);
	free(set->s);
	set->s = NULL;
	set->nr = 0;
}

/* Is there an intact record at @p (with @avail bytes behind it)? */
static int rec_at(const unsigned char *p, uint64_t avail, struct rec_hdr *h)
{
	if (avail < REC_HDR)
		return 0;
	memcpy(h, p, sizeof(*h));
	if (h->magic != REC_MAGIC || h->flags || h->len > REC_MAX_LEN ||
	    !h->seq || h->seq > REC_MAX_SEQ ||
	    pc_crc32c(0, p, offsetof(struct rec_hdr, hcrc)) != h->hcrc)
		return 0;
	return h->len <= avail - REC_HDR &&
	       pc_crc32c(0, p + REC_HDR, h->len) == h->crc;
}

int rec_scan(struct rec_set *set, int fd, uint64_t len)
{
	static const unsigned char magic[4] = { 'H', 'S', 'R', '1' };
	unsigned char *buf, *p, *end;
	uint64_t got = 0;
	int ret = 0;

	rec_free(set);
	if (!len)
		return 0;
	buf = malloc((size_t)len);
	if (!buf)
		return -ENOMEM;
	while (got < len) {
		ssize_t r = pread(fd, buf + got, (size_t)(len - got), (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			goto out;
		}
		got += (uint64_t)r;
	}
	/* Records start anywhere inside a chunk, so look at every byte. */
	p = buf;
	end = buf + len;
	while (p < end && !ret) {
		struct rec_hdr h;

		p = memmem(p, (size_t)(end - p), magic, sizeof(magic));
		if (!p)
			break;
		if (rec_at(p, (uint64_t)(end - p), &h)) {
			ret = set_add(set, h.stream, h.seq);
			p += REC_HDR + h.len;
		} else {
			p++;
		}
	}
out:
	free(buf);
	return ret;
}
