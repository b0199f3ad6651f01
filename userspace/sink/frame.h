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
 * Wire, sink -> source: 16-byte acks, cumulative. An ack for @seq means
 * that every record of the connection up to @seq was written to the data
 * target and indexed, and, by --fsync policy:
 *
 *	batch (default), bytes=N: durable. The data was flushed to stable
 *		storage (fdatasync) before the index blocks that name it were
 *		written, and those were flushed too, before the ack. A power
 *		cut after the ack loses none of these records.
 *	none: NOT durable. The data and index writes completed (O_DIRECT:
 *		the device accepted them, possibly into its volatile cache),
 *		nothing was flushed: a kill -9 of the sink loses nothing, a
 *		power cut or a crash of the machine can lose any of them.
 *
 * Disk: the data file (or block device) holds chunks of received bytes,
 * each at a 4 KiB aligned offset and padded to 4 KiB; a record is its wire
 * header followed by its payload, contiguous inside one chunk. The index
 * file is a 4 KiB header block (struct hs_idx_hdr, then zeros) followed by
 * 4 KiB index blocks (struct hs_idx_blk, then up to HS_IDX_BLK_ENTS entries)
 * appended in order, never rewritten: block N sits at N * 4 KiB, carries N,
 * the number of the commit that wrote it (commits count up from 1, one per
 * group of records made durable together, written in one write), how many
 * blocks of that commit follow it, the header's random id and a CRC32C over
 * the block. A torn or missing block can only belong to the last commit,
 * which was never acked; a bad block followed by a block of a later commit
 * is corruption.
 */
#ifndef HS_FRAME_H
#define HS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define HS_REC_MAGIC		0x31525348U	/* "HSR1" */
#define HS_ACK_MAGIC		0x314b4148U	/* "HAK1" */
#define HS_IDX_MAGIC		0x31584948U	/* "HIX1" */
#define HS_IDX_ENT_MAGIC	0x45584948U	/* "HIXE" */
#define HS_IDX_BLK_MAGIC	0x42584948U	/* "HIXB" */
#define HS_IDX_VERSION		2U
#define HS_IDX_BLK		4096U
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
	uint32_t version;	/* HS_IDX_VERSION */
	uint32_t ent_size;	/* sizeof(struct hs_idx_ent) */
	uint32_t max_record;	/* no entry is longer */
	uint64_t created_ns;
	uint32_t blk_size;	/* HS_IDX_BLK */
	uint32_t id;		/* random: blocks of another index do not count */
	uint64_t reserved[3];
	uint32_t pad2;
	uint32_t hcrc;		/* CRC32C of bytes 0..59 */
};

/* Head of an index block; the entries follow it. */
struct hs_idx_blk {
	uint32_t magic;		/* HS_IDX_BLK_MAGIC */
	uint16_t nents;		/* 1..HS_IDX_BLK_ENTS */
	uint16_t rest;		/* blocks of the same commit after this one */
	uint64_t blkno;		/* its own position / HS_IDX_BLK, from 1 */
	uint64_t commit;	/* the commit that wrote it, from 1 */
	uint32_t id;		/* the index header's id */
	uint32_t crc;		/* CRC32C of the block, this field as 0 */
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
_Static_assert(sizeof(struct hs_idx_blk) == 32, "index block head");

#define HS_IDX_BLK_ENTS	((HS_IDX_BLK - sizeof(struct hs_idx_blk)) / sizeof(struct hs_idx_ent))

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
void hs_idx_hdr_init(struct hs_idx_hdr *h, uint32_t max_record);
int hs_idx_hdr_ok(const struct hs_idx_hdr *h);
/* @blk: HS_IDX_BLK bytes, head and entries filled in; sets the CRC. */
void hs_idx_blk_seal(void *blk);
/* The block is whole (magic, count, CRC), of index @id, at @blkno. */
int hs_idx_blk_ok(const void *blk, uint64_t blkno, uint32_t id);

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
