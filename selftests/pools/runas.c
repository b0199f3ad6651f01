// SPDX-License-Identifier: GPL-2.0
/*
 * runas UID GID MEMLOCK_KB CMD [ARG...]: run CMD as UID/GID with no
 * supplementary groups, no capabilities and RLIMIT_MEMLOCK of MEMLOCK_KB
 * KiB (soft and hard).  The VM's busybox has no setpriv; fio and warmd
 * run as a pool's unprivileged owner through this.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "privdrop.h"

int main(int argc, char **argv)
{
	struct rlimit rl;
	unsigned long uid, gid, kb;

	if (argc < 5) {
		fprintf(stderr, "usage: runas UID GID MEMLOCK_KB CMD [ARG...]\n");
		return 125;
	}
	uid = strtoul(argv[1], NULL, 10);
	gid = strtoul(argv[2], NULL, 10);
	kb = strtoul(argv[3], NULL, 10);
	rl.rlim_cur = rl.rlim_max = (rlim_t)kb << 10;
	if (setrlimit(RLIMIT_MEMLOCK, &rl) || setgroups(0, NULL) ||
	    setresgid(gid, gid, gid) || setresuid(uid, uid, uid) || drop_caps() ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		perror("runas");
		return 125;
	}
	execvp(argv[4], argv + 4);
	fprintf(stderr, "runas: %s: %s\n", argv[4], strerror(errno));
	return 127;
}
