/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Interface of the test-only dma-buf importer (/dev/hugeslab_importer):
 * the selftests hand it a dma-buf fd, it attaches a device of its own,
 * maps the buffer for DMA and reports the scatterlist.
 */
#ifndef HUGESLAB_IMPORTER_H
#define HUGESLAB_IMPORTER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define HS_IMPORTER_PATH	"/dev/hugeslab_importer"

/**
 * struct hs_import_ent - one scatterlist entry
 * @phys: physical address of the CPU entry
 * @len: bytes of the CPU entry
 * @dma: DMA address of the mapped entry (same index), if there is one
 * @dma_len: bytes of the mapped entry, 0 past the mapped entries
 */
struct hs_import_ent {
	__u64 phys;
	__u64 len;
	__u64 dma;
	__u64 dma_len;
};

/**
 * struct hs_import - argument of %HS_IMPORT_MAP
 * @fd: in: dma-buf file descriptor
 * @count: in: capacity of @ents; out: entries written
 * @ents: in: user pointer to struct hs_import_ent[@count]
 * @size: out: size of the dma-buf
 * @orig_nents: out: CPU entries of the mapping
 * @nents: out: DMA entries of the mapping
 * @max_seg: in: the device's max segment size (dma_set_max_seg_size()) for
 *	this mapping, 0 for the default, UINT_MAX as the RDMA core sets
 * @flags: in: %HS_IMPORT_WRITE or 0; other bits are refused (EINVAL)
 * @max_mapping: out: dma_max_mapping_size() of the device (swiotlb's limit
 *	when it bounces)
 * @data: in: user pointer to @data_len bytes, filled with the first
 *	@data_len bytes of the buffer as the device reads them: through the
 *	DMA addresses of the mapping (the bounce buffers under swiotlb)
 * @data_len: in: bytes to read, at most @size; 0 reads nothing
 *
 * With %HS_IMPORT_WRITE the device then writes the complement of every byte
 * it read back through the same DMA addresses before unmapping, so the
 * pool holds it afterwards only if the unmap copied it back (swiotlb).
 */
struct hs_import {
	__s32 fd;
	__u32 count;
	__u64 ents;
	__u64 size;
	__u32 orig_nents;
	__u32 nents;
	__u32 max_seg;
	__u32 flags;
	__u64 max_mapping;
	__u64 data;
	__u64 data_len;
};

#define HS_IMPORT_WRITE	(1U << 0)

#define HS_IMPORT_MAP	_IOWR('h', 0x01, struct hs_import)

#endif /* HUGESLAB_IMPORTER_H */
