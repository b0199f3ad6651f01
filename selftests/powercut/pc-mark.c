// SPDX-License-Identifier: GPL-2.0
/*
 * pc-mark: turn acks into dm-log-writes marks, as soon as they are read.
 *
 *   pc-mark DM-NAME ACKLOG < acks
 *
 * Reads "stream seq" lines (hugeslab-source --acked-log, through a FIFO),
 * and for each one first inserts the mark "aN" into the log of the
 * dm-log-writes device DM-NAME (DM_TARGET_MSG "mark aN", the ioctl behind
 * `dmsetup message DM-NAME 0 mark aN`), then appends "aN rec stream seq"
 * to ACKLOG. The mark lands in the log after every FLUSH/FUA that had
 * completed when the ack was read, so a record acked before mark aN must
 * survive a power cut at the last FLUSH/FUA before aN.
 *
 * The ioctl is issued in-process (dmmark.c) rather than by running
 * dmsetup so that the mark follows the ack by microseconds.
 *
 * ACKLOG lines are the lane's generic format: "MARK rec STREAM SEQ" (every
 * record 1..SEQ of STREAM acked before MARK); see README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmmark.h"

int main(int argc, char **argv)
{
	unsigned long long seq, n = 0;
	char line[128], name[32];
	unsigned int stream;
	FILE *out;
	int ctl, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: pc-mark DM-NAME ACKLOG < acks\n");
		return 2;
	}
	ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		perror("pc-mark: /dev/mapper/control");
		return 2;
	}
	out = fopen(argv[2], "w");
	if (!out) {
		perror(argv[2]);
		close(ctl);
		return 2;
	}
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%u %llu", &stream, &seq) != 2) {
			fprintf(stderr, "pc-mark: bad ack line: %s", line);
			ret = 1;
			goto out;
		}
		snprintf(name, sizeof(name), "a%llu", ++n);
		ret = dm_mark(ctl, argv[1], name);
		if (ret) {
			fprintf(stderr, "pc-mark: mark %s on %s: %s\n", name,
				argv[1], strerror(-ret));
			ret = 1;
			goto out;
		}
		fprintf(out, "%s rec %u %llu\n", name, stream, seq);
	}
	ret = 0;
	fprintf(stderr, "pc-mark: %llu marks\n", n);
out:
	if (fclose(out)) {
		perror(argv[2]);
		ret = 1;
	}
	close(ctl);
	return ret;
}
