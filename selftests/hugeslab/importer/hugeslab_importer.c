// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only dma-buf importer for the hugeslab selftests.  It plays the part
 * of a device driver (an RDMA NIC registering a dma-buf MR): attach, map for
 * DMA, look at the scatterlist, unmap, detach.  Not for production.
 */

#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "importer.h"

static struct platform_device *importer_pdev;
/* One mapping at a time: each sets the device's max segment size. */
static DEFINE_MUTEX(importer_lock);

/* 6.2 made the map call take the reservation lock itself, or not. */
#ifdef HAVE_DMA_BUF_MAP_ATTACHMENT_UNLOCKED
#define importer_map	dma_buf_map_attachment_unlocked
#define importer_unmap	dma_buf_unmap_attachment_unlocked
#else
#define importer_map	dma_buf_map_attachment
#define importer_unmap	dma_buf_unmap_attachment
#endif

static int report(struct sg_table *sgt, struct hs_import *req)
{
	struct hs_import_ent __user *uents = u64_to_user_ptr(req->ents);
	unsigned int i, n = min(sgt->orig_nents, req->count);
	struct hs_import_ent *ents;
	struct scatterlist *sg;
	int ret = 0;

	ents = kcalloc(sgt->orig_nents, sizeof(*ents), GFP_KERNEL);
	if (!ents)
		return -ENOMEM;
	for_each_sgtable_sg(sgt, sg, i) {
		ents[i].phys = sg_phys(sg);
		ents[i].len = sg->length;
	}
	for_each_sgtable_dma_sg(sgt, sg, i) {
		ents[i].dma = sg_dma_address(sg);
		ents[i].dma_len = sg_dma_len(sg);
	}
	if (copy_to_user(uents, ents, n * sizeof(*ents)))
		ret = -EFAULT;
	kfree(ents);
	req->count = n;
	req->orig_nents = sgt->orig_nents;
	req->nents = sgt->nents;
	return ret;
}

/*
 * Read the buffer as the device would: from the DMA addresses, which under
 * swiotlb are the bounce buffers, not the pool's pages.  Without an IOMMU a
 * DMA address is a physical one, and on x86_64 all of it is direct-mapped.
 * With HS_IMPORT_WRITE, write the complement back the same way.
 */
static int dma_access(struct device *dev, struct sg_table *sgt,
		      struct hs_import *req)
{
	char __user *udata = u64_to_user_ptr(req->data);
	u64 done = 0, n, j;
	struct scatterlist *sg;
	unsigned int i;
	u8 *va;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (done == req->data_len)
			break;
		n = min_t(u64, sg_dma_len(sg), req->data_len - done);
		va = phys_to_virt(dma_to_phys(dev, sg_dma_address(sg)));
		if (copy_to_user(udata + done, va, n))
			return -EFAULT;
		if (req->flags & HS_IMPORT_WRITE)
			for (j = 0; j < n; j++)
				va[j] = ~va[j];
		done += n;
	}
	return 0;
}

static long importer_map_ioctl(void __user *uarg)
{
	struct dma_buf_attachment *attach;
	struct hs_import req;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	long ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~HS_IMPORT_WRITE)
		return -EINVAL;
	dmabuf = dma_buf_get(req.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	if (req.data_len > dmabuf->size) {
		ret = -EINVAL;
		goto put;
	}
	mutex_lock(&importer_lock);
	/* 6.1 returns an error without dma_parms; init made sure of them. */
	dma_set_max_seg_size(&importer_pdev->dev, req.max_seg ?: UINT_MAX);
	attach = dma_buf_attach(dmabuf, &importer_pdev->dev);
	if (IS_ERR(attach)) {
		ret = PTR_ERR(attach);
		goto unlock;
	}
	sgt = importer_map(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto detach;
	}
	req.size = dmabuf->size;
	req.max_mapping = dma_max_mapping_size(&importer_pdev->dev);
	ret = report(sgt, &req);
	if (!ret)
		ret = dma_access(&importer_pdev->dev, sgt, &req);
	importer_unmap(attach, sgt, DMA_BIDIRECTIONAL);
	if (!ret && copy_to_user(uarg, &req, sizeof(req)))
		ret = -EFAULT;
detach:
	dma_buf_detach(dmabuf, attach);
unlock:
	mutex_unlock(&importer_lock);
put:
	dma_buf_put(dmabuf);
	return ret;
}

static long importer_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case HS_IMPORT_MAP:
		return importer_map_ioctl((void __user *)arg);
	}
	return -ENOTTY;
}

static const struct file_operations importer_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= importer_ioctl,
};

static struct miscdevice importer_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "hugeslab_importer",
	.fops	= &importer_fops,
	.mode	= 0600,
};

static int __init importer_init(void)
{
	int ret;

	importer_pdev = platform_device_register_simple("hugeslab_importer",
							-1, NULL, 0);
	if (IS_ERR(importer_pdev))
		return PTR_ERR(importer_pdev);
	ret = dma_coerce_mask_and_coherent(&importer_pdev->dev,
					   DMA_BIT_MASK(64));
	if (ret)
		goto unregister;
	/* Where the max segment size is kept; platform devices have them. */
	if (!importer_pdev->dev.dma_parms) {
		ret = -EIO;
		goto unregister;
	}
	ret = misc_register(&importer_misc);
	if (ret)
		goto unregister;
	return 0;

unregister:
	platform_device_unregister(importer_pdev);
	return ret;
}

static void __exit importer_exit(void)
{
	misc_deregister(&importer_misc);
	platform_device_unregister(importer_pdev);
}

module_init(importer_init);
module_exit(importer_exit);

MODULE_DESCRIPTION("hugeslab selftests: test-only dma-buf importer");
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
