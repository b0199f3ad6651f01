/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The check of acked extents ("MARK ext OFF LEN CRC" acks, from a block
 * client such as pc-nbd) on a replayed raw device. At a cut, each extent
 * must hold its newest durable version; or a version acked later, since a
 * write the client sent after that one may reach the disk before its own
 * ack (the protocol allows it any time). Nothing else passes.
 */
#ifndef PC_EXTENTS_H
#define PC_EXTENTS_H

#include <stddef.h>
#include <stdint.h>

#include "acks.h"

struct ext_durable {
	uint64_t off;
	uint32_t len, crc;
};

struct ext_set {
	size_t nr, cap;
	struct ext_durable *e;
};

/*
 * @a (ACK_EXT) is durable now: it replaces the version of the same extent.
 * 0; -EINVAL when it overlaps another extent only in part (the client must
 * rewrite whole extents, or newest versions could not be told apart);
 * -ENOMEM.
 */
int ext_raise(struct ext_set *set, const struct ack *a);

/*
 * Read every durable extent of @set from @fd; @later (@nlater acks) are
 * the acks not yet durable at this cut. Adds to *@checked and *@lost;
 * prints the first lost ones, naming @cut. 0, or -errno.
 */
int ext_check(const struct ext_set *set, int fd, const struct ack *later,
	      size_t nlater, size_t cut, size_t *checked, size_t *lost);
void ext_free(struct ext_set *set);

#endif
