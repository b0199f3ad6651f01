// SPDX-License-Identifier: GPL-2.0
/* Acked extents on a replayed device: see extents.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "extents.h"
#include "records.h"

#define LOST_SHOWN	5

int ext_raise(struct ext_set *set, const struct ack *a)
{
	size_t i;

	for (i = 0; i < set->nr; i++) {
		struct ext_durable *d = &set->e[i];

		if (d->off == a->off && d->len == a->len) {
			d->crc = a->crc;
			return 0;
		}
		if (a->off < d->off + d->len && d->off < a->off + a->len)
			return -EINVAL;
	}
	if (set->nr == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 64;
		struct ext_durable *e = realloc(set->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		set->e = e;
		set->cap = cap;
	}
	set->e[set->nr++] = (struct ext_durable){ a->off, a->len, a->crc };
	return 0;
}

static int acked_later(const struct ext_durable *d, uint32_t crc,
		       const struct ack *later, size_t nlater)
{
	size_t i;

	for (i = 0; i < nlater; i++)
		if (later[i].kind == ACK_EXT && later[i].off == d->off &&
		    later[i].len == d->len && later[i].crc == crc)
			return 1;
	return 0;
}

int ext_check(const struct ext_set *set, int fd, const struct ack *later,
	      size_t nlater, size_t cut, size_t *checked, size_t *lost)
{
	uint32_t max = 0, crc;
	size_t i, shown = 0;
	char *buf;
	int ret = 0;

	for (i = 0; i < set->nr; i++)
		if (set->e[i].len > max)
			max = set->e[i].len;
	buf = malloc(max ? max : 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < set->nr; i++) {
		const struct ext_durable *d = &set->e[i];
		ssize_t n = pread(fd, buf, d->len, d->off);

		if (n < 0) {
			ret = -errno;
			break;
		}
		(*checked)++;
		/* Short: past the end of the device, lost all the same. */
		crc = n == d->len ? pc_crc32c(0, buf, d->len) : ~d->crc;
		if (crc == d->crc || acked_later(d, crc, later, nlater))
			continue;
		(*lost)++;
		if (shown++ < LOST_SHOWN)
			printf("pc-replay: cut at entry %zu: extent %" PRIu64 "+%u acked with crc %08x, on disk %08x\n",
			       cut, d->off, d->len, d->crc, crc);
	}
	free(buf);
	return ret;
}

void ext_free(struct ext_set *set)
{
	free(set->e);
	set->e = NULL;
	set->nr = set->cap = 0;
}
