// SPDX-License-Identifier: GPL-2.0
/*
 * The UAPI structs have the same layout for every ABI (no implicit padding,
 * built with -Wpadded) and the sizes their ioctl numbers encode.
 */
#include <stddef.h>
#include <stdio.h>

#include <linux/hugeslab.h>

_Static_assert(sizeof(struct hugeslab_create) == 56, "create");
_Static_assert(offsetof(struct hugeslab_create, uid) == 24, "create");
_Static_assert(offsetof(struct hugeslab_create, reserved) == 40, "create");
_Static_assert(sizeof(struct hugeslab_info) == 88, "info");
_Static_assert(offsetof(struct hugeslab_info, slab_nodes) == 40, "info");
_Static_assert(offsetof(struct hugeslab_info, owner_uid) == 56, "info");
_Static_assert(sizeof(struct hugeslab_attach) == 56, "attach");
_Static_assert(offsetof(struct hugeslab_attach, owner_uid) == 40, "attach");
_Static_assert(_IOC_SIZE(HUGESLAB_IOC_ATTACH) == sizeof(struct hugeslab_attach),
	       "ioctl size");
_Static_assert(sizeof(struct hugeslab_slab_addrs) == 32, "slab_addrs");
_Static_assert(sizeof(struct hugeslab_stats) == 80, "stats");
_Static_assert(sizeof(struct hugeslab_destroy) == 48, "destroy");
_Static_assert(_IOC_SIZE(HUGESLAB_IOC_DESTROY) == sizeof(struct hugeslab_destroy),
	       "ioctl size");
_Static_assert(_IOC_SIZE(HUGESLAB_IOC_CREATE) == sizeof(struct hugeslab_create),
	       "ioctl size");

int main(void)
{
	printf("create %zu, info %zu, slab_addrs %zu, stats %zu bytes\n",
	       sizeof(struct hugeslab_create), sizeof(struct hugeslab_info),
	       sizeof(struct hugeslab_slab_addrs), sizeof(struct hugeslab_stats));
	return 0;
}
