// SPDX-License-Identifier: MIT
/*
 * frame.c: CRC32C (SSE4.2 crc32 instruction, slicing-by-8 software
 * fallback), header sealing and checks, small parsers.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"

#define POLY_REFLECTED	0x82f63b78U

/* Built on first use, once: the source's threads all compute CRCs. */
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static uint32_t crc_table[8][256];

static void crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (c & 1 ? POLY_REFLECTED : 0);
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_table[j][i] = (crc_table[j - 1][i] >> 8) ^
					  crc_table[0][crc_table[j - 1][i] & 0xff];
}

uint32_t hs_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t w;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		memcpy(&w, p, 8);
		w ^= crc;
		crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^
		      crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^
		      crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
uint32_t hs_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t c = ~crc & 0xffffffffU, w;

	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	/* Three independent streams would be faster; one is ~8 bytes/cycle/3. */
	while (len >= 8) {
		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return ~(uint32_t)c;
}

static pthread_once_t hw_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void hw_detect(void)
{
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2") && !getenv("HS_CRC32C_SW");
}

int hs_crc32c_hw_available(void)
{
	pthread_once(&hw_once, hw_detect);
	return crc_hw;
}
#else
uint32_t hs_crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	return hs_crc32c_sw(crc, buf, len);
}

int hs_crc32c_hw_available(void)
{
	return 0;
}
#endif

uint32_t hs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (hs_crc32c_hw_available())
		return hs_crc32c_hw(crc, buf, len);
	return hs_crc32c_sw(crc, buf, len);
}

const char *hs_crc32c_impl(void)
{
	return hs_crc32c_hw_available() ? "sse4.2" : "software";
}

void hs_rec_hdr_seal(struct hs_rec_hdr *h)
{
	h->magic = HS_REC_MAGIC;
	h->hcrc = hs_crc32c(0, h, offsetof(struct hs_rec_hdr, hcrc));
}

const char *hs_rec_hdr_check(const struct hs_rec_hdr *h, uint32_t max_record)
{
	if (h->magic != HS_REC_MAGIC)
		return "bad record magic";
	if (h->hcrc != hs_crc32c(0, h, offsetof(struct hs_rec_hdr, hcrc)))
		return "bad header CRC";
	if (h->len > max_record)
		return "record length exceeds --max-record";
	if (h->flags)
		return "unknown record flags";
	return NULL;
}

void hs_idx_ent_seal(struct hs_idx_ent *e)
{
	e->magic = HS_IDX_ENT_MAGIC;
	e->pad = 0;
	e->ecrc = hs_crc32c(0, e, offsetof(struct hs_idx_ent, ecrc));
}

int hs_idx_ent_ok(const struct hs_idx_ent *e)
{
	return e->magic == HS_IDX_ENT_MAGIC &&
	       e->ecrc == hs_crc32c(0, e, offsetof(struct hs_idx_ent, ecrc));
}

void hs_idx_hdr_init(struct hs_idx_hdr *h, uint32_t max_record)
{
	memset(h, 0, sizeof(*h));
	h->magic = HS_IDX_MAGIC;
	h->version = HS_IDX_VERSION;
	h->ent_size = sizeof(struct hs_idx_ent);
	h->max_record = max_record;
	h->created_ns = hs_now_ns();
	h->blk_size = HS_IDX_BLK;
	/* tells this index's blocks from an older one's left on a device */
	h->id = (uint32_t)(h->created_ns ^ (h->created_ns >> 32) ^
			   ((uint64_t)getpid() << 16));
	h->hcrc = hs_crc32c(0, h, offsetof(struct hs_idx_hdr, hcrc));
}

int hs_idx_hdr_ok(const struct hs_idx_hdr *h)
{
	return h->magic == HS_IDX_MAGIC && h->version == HS_IDX_VERSION &&
	       h->ent_size == sizeof(struct hs_idx_ent) &&
	       h->blk_size == HS_IDX_BLK &&
	       h->hcrc == hs_crc32c(0, h, offsetof(struct hs_idx_hdr, hcrc));
}

static uint32_t idx_blk_crc(const void *blk)
{
	static const uint32_t zero;
	const char *p = blk;
	uint32_t crc = hs_crc32c(0, p, offsetof(struct hs_idx_blk, crc));

	crc = hs_crc32c(crc, &zero, sizeof(zero));
	return hs_crc32c(crc, p + sizeof(struct hs_idx_blk),
			 HS_IDX_BLK - sizeof(struct hs_idx_blk));
}

void hs_idx_blk_seal(void *blk)
{
	struct hs_idx_blk *b = blk;

	b->magic = HS_IDX_BLK_MAGIC;
	b->crc = idx_blk_crc(blk);
}

int hs_idx_blk_ok(const void *blk, uint64_t blkno, uint32_t id)
{
	const struct hs_idx_blk *b = blk;

	return b->magic == HS_IDX_BLK_MAGIC && b->blkno == blkno && b->id == id &&
	       b->nents >= 1 && b->nents <= HS_IDX_BLK_ENTS && b->commit &&
	       b->crc == idx_blk_crc(blk);
}

uint64_t hs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int hs_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return -1;
	v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int hs_parse_addr(const char *s, uint32_t *ip_be, uint16_t *port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	struct in_addr a;
	char *end;
	unsigned long p;

	if (colon) {
		size_t n = (size_t)(colon - s);

		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		host[n] = 0;
		s = colon + 1;
	} else {
		strcpy(host, "127.0.0.1");
	}
	if (!host[0])
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a) != 1)
		return -1;
	p = strtoul(s, &end, 10);
	if (*end || p > 65535)
		return -1;
	*ip_be = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

static uint64_t read_kb(const char *path, const char *field)
{
	char line[256];
	size_t n = strlen(field);
	uint64_t v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

uint64_t hs_proc_status_kb(const char *field)
{
	return read_kb("/proc/self/status", field);
}

uint64_t hs_page_cache_kb(void)
{
	uint64_t c = read_kb("/proc/meminfo", "Cached") +
		     read_kb("/proc/meminfo", "Buffers");
	uint64_t sh = read_kb("/proc/meminfo", "Shmem");

	/* Shmem (tmpfs, the pool's own shared mappings) is not file cache. */
	return c > sh ? c - sh : 0;
}
