/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading a dm-log-writes log (drivers/md/dm-log-writes.c) and
 * replaying its entries onto a scratch device.
 *
 * The log starts with a super block at byte 0; entry i follows as one
 * sector (the log device's logical block size) holding struct
 * lw_disk_entry (and, for a mark, its name), then nr_sectors sectors of
 * the data written (none for a discard or a mark).
 *
 * dm-log-writes puts a plain write into the log only when a later FLUSH
 * completes (or when the target is removed), right before that FLUSH; a FUA
 * write goes in when it completes. So the log up to a FLUSH or FUA entry is
 * exactly what a device honouring flushes must have kept, and nothing that
 * could have been lost.
 */
#ifndef PC_LWLOG_H
#define PC_LWLOG_H

#include <stddef.h>
#include <stdint.h>

#define LW_MAGIC	0x6a736677736872ULL
#define LW_VERSION	1ULL

#define LW_FLUSH	(1U << 0)
#define LW_FUA		(1U << 1)
#define LW_DISCARD	(1U << 2)
#define LW_MARK		(1U << 3)
#define LW_METADATA	(1U << 4)

#define LW_MARK_MAX	64

struct lw_entry {
	uint64_t sector;	/* in units of the log's sectorsize */
	uint64_t nr_sectors;
	uint32_t flags;
	uint64_t data_pos;	/* byte offset of the data in the log */
	char mark[LW_MARK_MAX];	/* NUL-terminated, for LW_MARK */
};

struct lw_log {
	int fd;
	uint32_t sectorsize;
	size_t nr;
	struct lw_entry *e;
};

/* Read the super block and every entry header. 0, or -errno. */
int lw_open(struct lw_log *log, const char *path);
void lw_close(struct lw_log *log);

/*
 * Apply entries [from, to) to @dst_fd in log order: data entries are
 * copied, discards zeroed, flushes and marks carry nothing. @hi is raised
 * to the end (in bytes) of the highest range written. 0, or -errno.
 */
int lw_replay(const struct lw_log *log, size_t from, size_t to, int dst_fd,
	      uint64_t *hi);

#endif
