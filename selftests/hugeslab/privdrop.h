/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Become an unprivileged user: uid/gid 65534 (nobody), no supplementary
 * groups, no capabilities in any set.  busybox has no setpriv, so the
 * selftests and the dropcaps helper do it themselves.
 */
#ifndef HS_PRIVDROP_H
#define HS_PRIVDROP_H

#include <grp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#define NOBODY_ID	65534

/* Clear every capability set of the caller, keeping its uid. */
static inline int drop_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { { 0 } };
	int cap;

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (cap = 0; cap <= 63; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	return syscall(SYS_capset, &hdr, data) ? -1 : 0;
}

/* Returns 0 once the caller is uid/gid 65534 without any capability. */
static inline int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setresgid(NOBODY_ID, NOBODY_ID, NOBODY_ID) ||
	    setresuid(NOBODY_ID, NOBODY_ID, NOBODY_ID))
		return -1;
	if (drop_caps())
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

#endif /* HS_PRIVDROP_H */
