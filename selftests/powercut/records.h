/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The independent check of acked records. It finds records on
 * the replayed data device by their own framing (the sink's wire header,
 * "HSR1", as documented in userspace/sink/frame.h) and checks header and
 * payload CRC32C with its own CRC code, without reading the sink's index:
 * a record counts as present when a complete, intact copy of it is on the
 * device.
 */
#ifndef PC_RECORDS_H
#define PC_RECORDS_H

#include <stddef.h>
#include <stdint.h>

struct rec_stream {
	uint32_t id;
	uint64_t nbits;		/* seqs 1..nbits-1 can be recorded */
	uint8_t *bits;
};

struct rec_set {
	size_t nr;
	struct rec_stream *s;
};

uint32_t pc_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * Scan @len bytes at offset 0 of @fd for intact records and add them to
 * @set (emptied first). 0, or -errno.
 */
int rec_scan(struct rec_set *set, int fd, uint64_t len);
int rec_present(const struct rec_set *set, uint32_t stream, uint64_t seq);
void rec_free(struct rec_set *set);

#endif
