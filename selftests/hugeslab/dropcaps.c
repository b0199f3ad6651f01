// SPDX-License-Identifier: GPL-2.0
/*
 * dropcaps [-r] CMD [ARG...]: run CMD as uid/gid 65534 without any
 * capability (with -r: stay root, but without any capability).  The test
 * VM's busybox has no setpriv or capsh.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "privdrop.h"

int main(int argc, char **argv)
{
	int keep_uid = argc > 1 && !strcmp(argv[1], "-r");

	argv += 1 + keep_uid;
	if (!*argv) {
		fprintf(stderr, "usage: dropcaps [-r] CMD [ARG...]\n");
		return 2;
	}
	if (keep_uid ? drop_caps() : drop_to_nobody()) {
		perror("dropcaps");
		return 125;
	}
	execvp(argv[0], argv);
	perror(argv[0]);
	return 127;
}
