// SPDX-License-Identifier: GPL-2.0
/*
 * dma-buf export of a slab-aligned range of a pool, for RDMA NICs
 * (ibv_reg_dmabuf_mr) and any other importing driver.
 *
 * The slabs are pinned and never move for the life of the pool, so the
 * exporter has nothing to do on move or invalidate: every mapping is a
 * scatterlist of whole slabs, each cut into entries no longer than the
 * importing device takes, DMA-mapped for that device.  Each
 * dma-buf holds a reference on the pool's backing file, so the pool lives
 * until the last dma-buf is released, whatever happened to the fds and
 * mappings.  The fd is installed only when nothing can fail any more.
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

/**
 * struct hugeslab_dmabuf - what one exported dma-buf covers
 * @pool: the pool, held through a reference on its backing file
 * @first_slab: index of the first slab
 * @nr_slabs: number of slabs
 */
struct hugeslab_dmabuf {
	struct hugeslab_pool *pool;
	unsigned long first_slab;
	unsigned long nr_slabs;
};

/*
 * The longest scatterlist entry @dev takes: its max segment size, what the
 * DMA layer can map in one piece (swiotlb bounces at most 256 KiB), and its
 * segment boundary, capped at a slab and rounded down to a power of two.  A
 * slab is naturally aligned, so power-of-two pieces of it are too, and none
 * crosses a boundary.
 */
static u64 hugeslab_dma_seg(struct device *dev, unsigned int slab_shift)
{
	u64 seg = min_t(u64, dma_get_max_seg_size(dev),
			dma_max_mapping_size(dev));
	u64 boundary = dma_get_seg_boundary(dev);

	if (boundary < seg - 1)
		seg = boundary + 1;
	seg = min_t(u64, seg, 1ULL << slab_shift);
	return rounddown_pow_of_two(seg);
}

/*
 * Each attachment gets its own table, cut to what its device allows: an
 * RDMA NIC takes a slab per entry, a device behind swiotlb or with a 64 KiB
 * limit gets many entries per slab.  -E2BIG when the count does not fit an
 * sg_table (a range of over 16 TiB cut in pages).
 */
static struct sg_table *hugeslab_map_dma_buf(struct dma_buf_attachment *attach,
					     enum dma_data_direction dir)
{
	struct hugeslab_dmabuf *hd = attach->dmabuf->priv;
	struct hugeslab_pool *pool = hd->pool;
	u64 seg = hugeslab_dma_seg(attach->dev, pool->slab_shift);
	u64 per_slab = (1ULL << pool->slab_shift) / seg;
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int i;
	u64 off;
	int ret;

	if (hd->nr_slabs > UINT_MAX / per_slab)
		return ERR_PTR(-E2BIG);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, hd->nr_slabs * per_slab, GFP_KERNEL);
	if (ret)
		goto free_sgt;
	for_each_sgtable_sg(sgt, sg, i) {
		struct folio *folio = pool->slabs[hd->first_slab + i / per_slab];

		off = (i % per_slab) * seg;
		sg_set_page(sg, folio_page(folio, off >> PAGE_SHIFT), seg,
			    offset_in_page(off));
	}
	ret = dma_map_sgtable(attach->dev, sgt, dir, 0);
	if (ret)
		goto free_table;
	return sgt;

free_table:
	sg_free_table(sgt);
free_sgt:
	kfree(sgt);
	return ERR_PTR(ret);
}

static void hugeslab_unmap_dma_buf(struct dma_buf_attachment *attach,
				   struct sg_table *sgt,
				   enum dma_data_direction dir)
{
	dma_unmap_sgtable(attach->dev, sgt, dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

/* A CPU mapping of the dma-buf is a mapping of the pool's file, as mmap. */
static int hugeslab_dmabuf_mmap(struct dma_buf *dmabuf,
				struct vm_area_struct *vma)
{
	struct hugeslab_dmabuf *hd = dmabuf->priv;
	struct hugeslab_pool *pool = hd->pool;
	unsigned int order = pool->slab_shift - PAGE_SHIFT;

	/* VM_MAYSHARE: a shared mapping even when VM_SHARED was cleared. */
	if (!(vma->vm_flags & VM_MAYSHARE) ||
	    vma->vm_pgoff & ((1UL << order) - 1))
		return -EINVAL;
	/* dma-buf checked the range against the dma-buf's size. */
	vma->vm_pgoff += hd->first_slab << order;
	hugeslab_vm_flags_set(vma, VM_DONTEXPAND);
	return hugeslab_backing_mmap(pool, vma);
}

static void hugeslab_dmabuf_release(struct dma_buf *dmabuf)
{
	struct hugeslab_dmabuf *hd = dmabuf->priv;

	atomic_dec(&hd->pool->nr_dmabufs);
	/* Possibly the last reference: frees the pool. */
	fput(hd->pool->backing);
	kfree(hd);
}

static const struct dma_buf_ops hugeslab_dmabuf_ops = {
	.cache_sgt_mapping	= true,
	.map_dma_buf		= hugeslab_map_dma_buf,
	.unmap_dma_buf		= hugeslab_unmap_dma_buf,
	.mmap			= hugeslab_dmabuf_mmap,
	.release		= hugeslab_dmabuf_release,
};

static int check_export(struct hugeslab_pool *pool,
			const struct hugeslab_export_dmabuf *req)
{
	u64 slab_mask = (1ULL << pool->slab_shift) - 1;

	if (req->flags & ~HUGESLAB_DMABUF_FLAGS ||
	    req->reserved[0] || req->reserved[1])
		return -EINVAL;
	if (!req->length || (req->offset | req->length) & slab_mask ||
	    req->offset >= pool->size || req->length > pool->size - req->offset)
		return -EINVAL;
	return 0;
}

/**
 * hugeslab_dmabuf_export() - answer %HUGESLAB_IOC_EXPORT_DMABUF
 * @pool: the pool of the calling file, which must not be read-only
 * @req: request copied in from userspace
 * @uarg: where to copy the answer (@req with the fd) out to
 *
 * Return: 0 with the fd installed, or an error with nothing left behind:
 * -EINVAL for a bad range, flags or reserved field, -EMFILE without a free
 * fd, -ENOMEM, -EFAULT when the answer cannot be copied out.
 */
int hugeslab_dmabuf_export(struct hugeslab_pool *pool,
			   struct hugeslab_export_dmabuf *req,
			   struct hugeslab_export_dmabuf __user *uarg)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct hugeslab_dmabuf *hd;
	struct dma_buf *dmabuf;
	int fd, ret;

	ret = check_export(pool, req);
	if (ret)
		return ret;

	hd = hugeslab_fail_nth() ? NULL : kzalloc(sizeof(*hd), GFP_KERNEL_ACCOUNT);
	if (!hd)
		return -ENOMEM;
	hd->pool = pool;
	hd->first_slab = req->offset >> pool->slab_shift;
	hd->nr_slabs = req->length >> pool->slab_shift;

	fd = get_unused_fd_flags(O_RDWR |
				 (req->flags & HUGESLAB_DMABUF_CLOEXEC ?
				  O_CLOEXEC : 0));
	if (fd < 0) {
		ret = fd;
		goto free_hd;
	}

	exp_info.ops = &hugeslab_dmabuf_ops;
	exp_info.size = req->length;
	exp_info.flags = O_RDWR;
	exp_info.priv = hd;
	/* The caller's file holds the pool, so this cannot be the first. */
	get_file(pool->backing);
	atomic_inc(&pool->nr_dmabufs);
	dmabuf = hugeslab_fail_nth() ? ERR_PTR(-ENOMEM) : dma_buf_export(&exp_info);
	if (IS_ERR(dmabuf)) {
		ret = PTR_ERR(dmabuf);
		atomic_dec(&pool->nr_dmabufs);
		fput(pool->backing);
		goto put_fd;
	}

	req->fd = fd;
	if (copy_to_user(uarg, req, sizeof(*req))) {
		/* The release drops the pool reference and frees @hd. */
		dma_buf_put(dmabuf);
		put_unused_fd(fd);
		return -EFAULT;
	}
	fd_install(fd, dmabuf->file);
	return 0;

put_fd:
	put_unused_fd(fd);
free_hd:
	kfree(hd);
	return ret;
}

MODULE_IMPORT_NS(DMA_BUF);
