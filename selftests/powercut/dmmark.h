/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Insert a mark into a dm-log-writes device's log, in-process (the
 * DM_TARGET_MSG ioctl behind `dmsetup message DEV 0 mark NAME`), so that
 * the mark follows the ack it stands for by microseconds: a fork and exec
 * in between would let a FLUSH slip in and make the test more lenient.
 */
#ifndef PC_DMMARK_H
#define PC_DMMARK_H

/* @ctl: open("/dev/mapper/control", O_RDWR). 0, or -errno. */
int dm_mark(int ctl, const char *dev, const char *name);

#endif
