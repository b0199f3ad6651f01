// SPDX-License-Identifier: MIT
/*
 * t-headroom: what headroom costs, as documented in hugeslab.h (struct
 * hs_pool_config) and Documentation/hugeslab/userspace-api.rst, so the
 * numbers there stay true.
 *
 * Buffers start on 4 KiB boundaries (the inline get/put index the metadata
 * by 4 KiB page), and the headroom sits in the tail of the page before a
 * buffer: the stride is round_up(buf_size + headroom, 4 KiB). Headroom is
 * free when buf_size leaves room for it in its last page, and costs a page
 * per buffer when buf_size is a page multiple (4096 + 64: 256 buffers per
 * 2 MiB slab instead of 512). A header prepended into the headroom starts
 * O_DIRECT-aligned only when its length is a multiple of the device's
 * alignment (512 B or 4 KiB); a 4 KiB header always is.
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include "helpers.h"

struct layout {
	uint32_t buf_size, headroom;
	size_t per_slab;	/* buffers in one 2 MiB slab */
};

/* The table of userspace-api.rst, "Headroom". */
static const struct layout table[] = {
	{ 4096, 0, 512 },
	{ 4096, 64, 256 },	/* a page per buffer for 64 bytes */
	{ 4032, 64, 511 },	/* headroom in the page's tail: free */
	{ 3584, 512, 511 },
	{ 4096, 4096, 256 },	/* O_DIRECT-aligned 4 KiB header */
	{ 8192, 64, 170 },
	{ 65536, 0, 32 },
	{ 65536, 64, 30 },
	{ 61440, 4096, 32 },
};

static void check_layouts(void)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct layout *l = &table[i];
		struct hs_pool *pool = t_pool_flags(2UL << 20, l->buf_size,
						    l->headroom, 0, "headroom");

		if (hs_pool_nr_bufs(pool) != l->per_slab)
			T_FAIL("%u + %u headroom: %zu buffers per slab, documented %zu",
			       l->buf_size, l->headroom, hs_pool_nr_bufs(pool),
			       l->per_slab);
		T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	}
}

/* O_DIRECT write of @len bytes at @p into @fd; 0 or the errno. */
static int direct_write(int fd, const void *p, size_t len)
{
	ssize_t n = pwrite(fd, p, len, 0);

	if (n == (ssize_t)len)
		return 0;
	return n < 0 ? errno : EIO;
}

static void check_odirect(void)
{
	struct hs_pool *pool = t_pool_flags(2UL << 20, 4096, 4096, 0, "hr-dio");
	struct hs_view v;
	char path[] = "t-headroom.XXXXXX";
	struct statfs sfs;
	char *buf, *hdr;
	int fd;

	buf = hs_get(pool);
	T_ASSERT(buf != NULL);
	memset(buf, 'd', 4096);
	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	unlink(path);
	/*
	 * tmpfs and ramfs (the VM's initramfs) take O_DIRECT without any
	 * alignment, or not at all: the alignment part needs a block device.
	 */
	T_ASSERT(fstatfs(fd, &sfs) == 0);
	if (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC ||
	    fcntl(fd, F_SETFL, O_DIRECT)) {
		printf("no block-device O_DIRECT here: alignment part skipped\n");
		goto out;
	}
	/* a 4 KiB header: the frame starts on the page before the buffer */
	T_ASSERT(hs_view_init(pool, &v, buf, 0, 4096) == 0);
	hdr = hs_view_prepend(pool, &v, 4096);
	T_ASSERT(hdr == buf - 4096);
	memset(hdr, 'h', 4096);
	T_ASSERT(direct_write(fd, hs_view_data(&v), hs_view_len(&v)) == 0);
	/* a 64-byte header: the frame is not aligned for O_DIRECT */
	T_ASSERT(hs_view_init(pool, &v, buf, 0, 4096) == 0);
	T_ASSERT(hs_view_prepend(pool, &v, 64) == buf - 64);
	T_ASSERT(direct_write(fd, hs_view_data(&v), hs_view_len(&v)) == EINVAL);
out:
	close(fd);
	T_ASSERT(hs_put(pool, buf) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
}

int main(void)
{
	check_layouts();
	check_odirect();
	return T_EXIT_PASS;
}
