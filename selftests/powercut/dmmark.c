// SPDX-License-Identifier: GPL-2.0
/* dm-log-writes marks: see dmmark.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/dm-ioctl.h>

#include "dmmark.h"

#define MSG_MAX	64

int dm_mark(int ctl, const char *dev, const char *name)
{
	union {
		struct dm_ioctl io;
		char raw[sizeof(struct dm_ioctl) + sizeof(struct dm_target_msg) +
			 MSG_MAX];
	} u;
	struct dm_target_msg *m;

	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u);
	u.io.data_start = sizeof(struct dm_ioctl);
	snprintf(u.io.name, sizeof(u.io.name), "%s", dev);
	m = (struct dm_target_msg *)(u.raw + sizeof(struct dm_ioctl));
	m->sector = 0;
	snprintf(m->message, MSG_MAX, "mark %s", name);
	return ioctl(ctl, DM_TARGET_MSG, &u.io) ? -errno : 0;
}
