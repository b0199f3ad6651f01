// SPDX-License-Identifier: GPL-2.0
/* Reading and replaying a dm-log-writes log: see lwlog.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lwlog.h"

/* On-disk layouts, little-endian (the VM and the host are x86-64). */
struct lw_disk_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
} __attribute__((packed));

struct lw_disk_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
};

#define LW_COPY_CHUNK	(1U << 20)

static int pread_full(int fd, void *buf, size_t len, uint64_t pos)
{
	char *p = buf;

	while (len) {
		ssize_t r = pread(fd, p, len, (off_t)pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;	/* the log claims more than the device holds */
		p += r;
		len -= (size_t)r;
		pos += (uint64_t)r;
	}
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t len, uint64_t pos)
{
	const char *p = buf;

	while (len) {
		ssize_t r = pwrite(fd, p, len, (off_t)pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ENOSPC;
		p += r;
		len -= (size_t)r;
		pos += (uint64_t)r;
	}
	return 0;
}

static int parse_entry(struct lw_entry *e, const unsigned char *blk,
		       uint32_t ss)
{
	struct lw_disk_entry d;

	memcpy(&d, blk, sizeof(d));
	if (d.flags & ~(uint64_t)(LW_FLUSH | LW_FUA | LW_DISCARD | LW_MARK |
				  LW_METADATA))
		return -EINVAL;
	e->sector = d.sector;
	e->nr_sectors = d.nr_sectors;
	e->flags = (uint32_t)d.flags;
	e->mark[0] = '\0';
	if (e->flags & LW_MARK) {
		size_t n = d.data_len;

		/* A mark's name shares the entry's sector. */
		if (n >= LW_MARK_MAX || n > ss - sizeof(d) || e->nr_sectors)
			return -EINVAL;
		memcpy(e->mark, blk + sizeof(d), n);
		e->mark[n] = '\0';
	}
	return 0;
}

int lw_open(struct lw_log *log, const char *path)
{
	struct lw_disk_super s;
	unsigned char *blk = NULL;
	uint64_t pos;
	size_t i;
	int ret;

	memset(log, 0, sizeof(*log));
	log->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (log->fd < 0)
		return -errno;
	ret = pread_full(log->fd, &s, sizeof(s), 0);
	if (ret)
		goto err;
	ret = -EINVAL;
	if (s.magic != LW_MAGIC || s.version != LW_VERSION ||
	    s.sectorsize < 512 || (s.sectorsize & (s.sectorsize - 1)) ||
	    s.nr_entries > (1ULL << 32))
		goto err;
	log->sectorsize = s.sectorsize;
	ret = -ENOMEM;
	blk = malloc(s.sectorsize);
	log->e = calloc(s.nr_entries ? s.nr_entries : 1, sizeof(*log->e));
	if (!blk || !log->e)
		goto err;
	pos = s.sectorsize;
	for (i = 0; i < s.nr_entries; i++) {
		struct lw_entry *e = &log->e[i];

		ret = pread_full(log->fd, blk, s.sectorsize, pos);
		if (ret)
			goto err;
		ret = parse_entry(e, blk, s.sectorsize);
		if (ret)
			goto err;
		pos += s.sectorsize;
		e->data_pos = pos;
		/* Discards log a length but no data (dm-log-writes' kthread). */
		if (!(e->flags & LW_DISCARD))
			pos += e->nr_sectors * s.sectorsize;
	}
	log->nr = s.nr_entries;
	free(blk);
	return 0;
err:
	free(blk);
	lw_close(log);
	return ret;
}

void lw_close(struct lw_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	free(log->e);
	log->fd = -1;
	log->e = NULL;
	log->nr = 0;
}

int lw_replay(const struct lw_log *log, size_t from, size_t to, int dst_fd,
	      uint64_t *hi)
{
	char *buf;
	size_t i;
	int ret = 0;

	buf = calloc(1, LW_COPY_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (i = from; i < to && i < log->nr && !ret; i++) {
		const struct lw_entry *e = &log->e[i];
		uint64_t len = e->nr_sectors * log->sectorsize;
		uint64_t dst = e->sector * log->sectorsize, done = 0;

		if (!len || (e->flags & LW_MARK))
			continue;
		while (done < len && !ret) {
			size_t n = len - done < LW_COPY_CHUNK ?
				   (size_t)(len - done) : LW_COPY_CHUNK;

			if (e->flags & LW_DISCARD)
				memset(buf, 0, n);
			else
				ret = pread_full(log->fd, buf, n,
						 e->data_pos + done);
			if (!ret)
				ret = pwrite_full(dst_fd, buf, n, dst + done);
			done += n;
		}
		if (dst + len > *hi)
			*hi = dst + len;
	}
	free(buf);
	return ret;
}
