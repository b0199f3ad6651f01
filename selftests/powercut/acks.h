/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The lane's generic ack log, one line per acknowledgement, in the
 * order the client received them:
 *
 *	MARK rec STREAM SEQ	records 1..SEQ of STREAM were acked before
 *				the client inserted the dm mark MARK
 *	MARK ext OFF LEN CRC	the LEN bytes at byte OFF of the device,
 *				whose CRC32C is CRC (hex), were durable by
 *				the block protocol (a FUA write's reply, or
 *				a FLUSH reply after the write's) before MARK
 *
 * Every item names the mark inserted right after its ack, so that the
 * checker knows the log position by which the item had been promised.
 */
#ifndef PC_ACKS_H
#define PC_ACKS_H

#include <stddef.h>
#include <stdint.h>

#include "lwlog.h"

#define ACKS_ERR_MAX	128

enum ack_kind { ACK_REC, ACK_EXT };

struct ack {
	size_t mark_at;		/* index of the mark's entry in the log */
	size_t line;		/* in the ack log, from 1 */
	enum ack_kind kind;
	uint32_t stream;	/* rec */
	uint64_t seq;
	uint64_t off;		/* ext */
	uint32_t len, crc;
};

struct ack_list {
	size_t nr, nr_ext;
	struct ack *a;		/* sorted by mark_at, stable: file order kept */
};

/*
 * Parse @path and place each ack at its mark in @log. A mark missing from
 * the log is an error (-ENOENT): the client said it inserted it. 0, or
 * -errno; on error @err (ACKS_ERR_MAX bytes) says which line.
 */
int acks_load(struct ack_list *al, const char *path, const struct lw_log *log,
	      char *err);
void acks_free(struct ack_list *al);

#endif
