/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels hugeslab supports (6.1 and 6.12)
 * lives here, so the rest of the module reads as one version.  Differences
 * are detected from the target's headers (see Kbuild), not from version
 * numbers, so distribution backports are handled too.
 */
#ifndef _HUGESLAB_COMPAT_H
#define _HUGESLAB_COMPAT_H

#include <linux/fs.h>
#include <linux/mm.h>

#if !IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE)
#error "hugeslab maps its slabs with PMDs and needs CONFIG_TRANSPARENT_HUGEPAGE"
#endif

/*
 * vm_flags became write-protected behind helpers in 6.3.  HAVE_* macros come
 * from probes of the target kernel's headers in Kbuild.
 */
#ifndef HAVE_VM_FLAGS_SET
static inline void hugeslab_vm_flags_set(struct vm_area_struct *vma,
					 vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void hugeslab_vm_flags_clear(struct vm_area_struct *vma,
					   vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#else
static inline void hugeslab_vm_flags_set(struct vm_area_struct *vma,
					 vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

static inline void hugeslab_vm_flags_clear(struct vm_area_struct *vma,
					   vm_flags_t flags)
{
	vm_flags_clear(vma, flags);
}
#endif

/*
 * Only CAP_NET_ADMIN may listen to the events.  Both kernels have the flag
 * (6.1 from its stable updates); a kernel without it would let anyone join,
 * so refuse to build rather than leak pool events.
 */
#include <net/genetlink.h>
#ifndef GENL_MCAST_CAP_NET_ADMIN
#error "hugeslab needs GENL_MCAST_CAP_NET_ADMIN (6.7, backported to 6.1 stable)"
#endif

/*
 * A reference on a file that may be in its final fput.  6.1 and 6.12 both
 * count struct file references in an atomic_long_t f_count; 6.13 changed
 * that to file_ref_t, where this would become file_ref_get().
 */
static inline bool hugeslab_get_file_unless_zero(struct file *file)
{
	return atomic_long_inc_not_zero(&file->f_count);
}

/*
 * shmem's ->mmap became ->mmap_prepare upstream (6.18, Lorenzo Stoakes'
 * mmap_prepare conversions): the VMA is then described by a vm_area_desc,
 * not set up in place, and ->mmap is NULL.  __compat_vma_mmap_prepare()
 * (HAVE_COMPAT_VMA_MMAP_PREPARE), renamed __compat_vma_mmap() later
 * (HAVE_COMPAT_VMA_MMAP), runs a given ->mmap_prepare against an existing
 * VMA, as stacked filesystems do.  A kernel that has mmap_prepare but
 * neither helper cannot map pools, and hugeslab_backing_init() refuses to
 * load there instead of calling a NULL ->mmap.
 */
#if defined(HAVE_COMPAT_VMA_MMAP)
#define hugeslab_mmap_prepare_vma	__compat_vma_mmap
#elif defined(HAVE_COMPAT_VMA_MMAP_PREPARE)
#define hugeslab_mmap_prepare_vma	__compat_vma_mmap_prepare
#endif

static inline bool hugeslab_can_mmap(const struct file_operations *fops)
{
/*
 * Test-only: 6.1 and 6.12 shmem both have ->mmap, so the refusal to load
 * would never run.  scripts/check.sh builds a second module with
 * -DHUGESLAB_TEST_NO_SHMEM_MMAP that behaves as on a kernel where shmem has
 * no hook we can call, and the VM selftests check it refuses to load.
 * Kbuild never sets it.
 */
#ifdef HUGESLAB_TEST_NO_SHMEM_MMAP
	return false;
#endif
#ifdef hugeslab_mmap_prepare_vma
	if (fops->mmap_prepare)
		return true;
#endif
	return !!fops->mmap;
}

static inline int hugeslab_call_mmap(const struct file_operations *fops,
				     struct file *file,
				     struct vm_area_struct *vma)
{
#ifdef hugeslab_mmap_prepare_vma
	if (fops->mmap_prepare)
		return hugeslab_mmap_prepare_vma(fops, file, vma);
#endif
	return fops->mmap(file, vma);
}

/*
 * struct device_type's ->devnode takes a const struct device since 6.2
 * (HAVE_CONST_DEVNODE, probed in Kbuild); 6.1's takes a mutable one.
 */
#ifdef HAVE_CONST_DEVNODE
#define HUGESLAB_DEVNODE_CONST const
#else
#define HUGESLAB_DEVNODE_CONST
#endif

#endif /* _HUGESLAB_COMPAT_H */
