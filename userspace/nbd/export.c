// SPDX-License-Identifier: MIT
/*
 * export.c: the backing store of an export, a regular file or a block
 * device opened O_DIRECT, and the blocking operations aux.c runs on it.
 * READ and WRITE do not come here: worker.c submits them to io_uring on
 * ex->fd directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbd.h"

/*
 * Every connection writes through this one descriptor, so an fdatasync()
 * on it after a write has completed makes that write stable whichever
 * connection sent it: that is what NBD_FLAG_CAN_MULTI_CONN promises (a
 * FLUSH on one connection covers writes replied to on all of them).
 */
#define EXPORT_TFLAGS	(NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | \
			 NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | \
			 NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_CAN_MULTI_CONN)

int export_open(struct export *ex, const char *path, const char *name,
		uint32_t max_block)
{
	struct stat st;
	uint64_t size;

	memset(ex, 0, sizeof(*ex));
	ex->fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (ex->fd < 0)
		return -1;
	if (fstat(ex->fd, &st))
		goto fail;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(ex->fd, BLKGETSIZE64, &size))
			goto fail;
		ex->is_bdev = true;
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		errno = EINVAL;
		goto fail;
	}
	/* The tail past the last whole block is not exported. */
	size &= ~(uint64_t)(NBD_MIN_BLOCK - 1);
	if (!size) {
		errno = EINVAL;
		goto fail;
	}
	ex->path = strdup(path);
	ex->desc.name = strdup(name);
	if (!ex->path || !ex->desc.name) {
		free(ex->path);
		free((char *)ex->desc.name);
		errno = ENOMEM;
		goto fail;
	}
	ex->desc.size = size;
	ex->desc.tflags = EXPORT_TFLAGS;
	ex->desc.min_block = NBD_MIN_BLOCK;
	ex->desc.pref_block = NBD_MIN_BLOCK;
	ex->desc.max_block = max_block;
	return 0;
fail:
	{
		int e = errno;

		close(ex->fd);
		ex->fd = -1;
		errno = e;
	}
	return -1;
}

void export_close(struct export *ex)
{
	if (ex->fd >= 0)
		close(ex->fd);
	ex->fd = -1;
	free(ex->path);
	free((char *)ex->desc.name);
	ex->path = NULL;
	ex->desc.name = NULL;
}

int export_flush(struct export *ex)
{
	return fdatasync(ex->fd) ? -errno : 0;
}

/* TRIM is a hint: a store that cannot discard succeeds without doing so. */
int export_trim(struct export *ex, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	int ret;

	if (ex->is_bdev)
		ret = ioctl(ex->fd, BLKDISCARD, range);
	else
		ret = fallocate(ex->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)off, (off_t)len);
	if (ret && (errno == EOPNOTSUPP || errno == ENOTTY))
		return 0;
	return ret ? -errno : 0;
}

/* Write zeroes with O_DIRECT from an aligned zero buffer: the last resort. */
static int zero_by_writing(struct export *ex, uint64_t off, uint64_t len)
{
	const size_t chunk = 1U << 20;
	void *z;
	int ret = 0;

	if (posix_memalign(&z, NBD_MIN_BLOCK, chunk))
		return -ENOMEM;
	memset(z, 0, chunk);
	while (len) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t w = pwrite(ex->fd, z, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -EIO;
			break;
		}
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	free(z);
	return ret;
}

int export_zero(struct export *ex, uint64_t off, uint64_t len, bool no_hole)
{
	uint64_t range[2] = { off, len };
	int ret;

	if (ex->is_bdev && !no_hole) {
		/* Zeroes, by unmapping where the device can. */
		if (!ioctl(ex->fd, BLKZEROOUT, range))
			return 0;
	} else if (!no_hole) {
		if (!fallocate(ex->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len))
			return 0;
	}
	/* NO_HOLE, or no hole punching: allocated zeroes. */
	ret = fallocate(ex->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			(off_t)off, (off_t)len);
	if (!ret)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENODEV)
		return -errno;
	return zero_by_writing(ex, off, len);
}
