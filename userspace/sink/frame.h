/* SPDX-License-Identifier: MIT */
/*
 * frame.h: wire format between hugeslab-source and hugeslab-sink, the
 * on-disk index, CRC32C and small helpers shared by both programs.
 *
 * Wire, source -> sink: a stream of records, each a 32-byte header followed
 * by @len payload bytes:
 *
 *	0  magic   "HSR1" (HS_REC_MAGIC)
 *	4  len     payload bytes, at most the sink's --max-record
 *	8  stream  stream id chosen by the source, one per connection
 *	12 flags   0
 *	16 seq     1, 2, 3, ... per connection
 *	24 crc     CRC32C of the payload
 *	28 hcrc    CRC32C of bytes 0..27 of this header
 *
 * Wire, sink -> source: 16-byte acks, cumulative: every record of the
 * connection up to @seq is on disk (and synced, when --fsync asks for it).
 *
 * Disk: the data file holds chunks of received bytes, each at a 4 KiB
 * aligned offset and padded to 4 KiB; a record is its wire header followed
 * by its payload, contiguous inside one chunk. The index file is a 64-byte
 * header followed by one 40-byte entry per record, in the order the records
 * became durable.
 */
#ifndef HS_FRAME_H
#define HS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define HS_REC_MAGIC		0x31525348U	/* "HSR1" */
#define HS_ACK_MAGIC		0x314b4148U	/* "HAK1" */
#define HS_IDX_MAGIC		0x31584948U	/* "HIX1" */
#define HS_IDX_ENT_MAGIC	0x45584948U	/* "HIXE" */
#define HS_REC_HDR		32U
#define HS_MAX_RECORD_DEFAULT	(1U << 20)
#define HS_DIO_ALIGN		4096U

struct hs_rec_hdr {
	uint32_t magic;
	uint32_t len;
	uint32_t stream;
	uint32_t flags;
	uint64_t seq;
	uint32_t crc;
	uint32_t hcrc;
};

struct hs_ack {
	uint32_t magic;
	uint32_t stream;
	uint64_t seq;
};

struct hs_idx_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t ent_size;
	uint32_t max_record;
	uint64_t created_ns;
	uint64_t reserved[5];
};

/* One record: its header sits at @off in the data file, payload follows. */
struct hs_idx_ent {
	uint32_t magic;
	uint32_t stream;
	uint64_t off;
	uint64_t seq;
	uint32_t len;
	uint32_t crc;
	uint32_t pad;
	uint32_t ecrc;		/* CRC32C of bytes 0..35 of this entry */
};

_Static_assert(sizeof(struct hs_rec_hdr) == HS_REC_HDR, "record header");
_Static_assert(sizeof(struct hs_ack) == 16, "ack");
_Static_assert(sizeof(struct hs_idx_hdr) == 64, "index header");
_Static_assert(sizeof(struct hs_idx_ent) == 40, "index entry");

/* CRC32C (Castagnoli), the standard one: crc32c("123456789") == 0xe3069283. */
uint32_t hs_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t hs_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t hs_crc32c_hw(uint32_t crc, const void *buf, size_t len);
int hs_crc32c_hw_available(void);
const char *hs_crc32c_impl(void);

void hs_rec_hdr_seal(struct hs_rec_hdr *h);
/* 0 if the header is sane; else a static reason string. */
const char *hs_rec_hdr_check(const struct hs_rec_hdr *h, uint32_t max_record);
void hs_idx_ent_seal(struct hs_idx_ent *e);
int hs_idx_ent_ok(const struct hs_idx_ent *e);

uint64_t hs_now_ns(void);
/* Parse "123", "4k", "16M", "1G" (binary units). -1 on error. */
int hs_parse_size(const char *s, uint64_t *out);
/* "127.0.0.1:7000" or ":7000" or "7000". -1 on error. */
int hs_parse_addr(const char *s, uint32_t *ip_be, uint16_t *port);
/* VmHWM / VmRSS of this process in KiB, 0 if unknown. */
uint64_t hs_proc_status_kb(const char *field);
/* Cached + Buffers - Shmem from /proc/meminfo, in KiB. */
uint64_t hs_page_cache_kb(void);

static inline uint64_t hs_round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) / a * a;
}

#endif /* HS_FRAME_H */
