// SPDX-License-Identifier: GPL-2.0
/*
 * pc-check: the independent check of one cut point, on a mounted file.
 *
 *   pc-check DATAFILE ACKED
 *
 * ACKED has "stream seq" lines (the highest acked seq per stream, as
 * pc-replay writes them). Every record 1..seq of each stream must have an
 * intact copy inside DATAFILE (records.c: own framing and CRC32C, no
 * index). Reading the file through the file system, not the raw device,
 * matters: a record whose blocks reached the disk but whose file size or
 * extent did not is lost to any reader after the crash.
 *
 * Prints "pc-check: checked N lost L" and exits 0 when nothing is lost, 1
 * when something is (a missing DATAFILE loses everything), 2 on errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "records.h"

#define LOST_SHOWN	5

int main(int argc, char **argv)
{
	struct rec_set set = { 0 };
	unsigned long long seq, s, checked = 0, lost = 0;
	unsigned int stream;
	struct stat sb;
	FILE *af;
	int fd, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: pc-check DATAFILE ACKED\n");
		return 2;
	}
	af = fopen(argv[2], "r");
	if (!af) {
		perror(argv[2]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT) {
		perror(argv[1]);
		fclose(af);
		return 2;
	}
	if (fd >= 0) {
		ret = fstat(fd, &sb) ? -errno : rec_scan(&set, fd, (uint64_t)sb.st_size);
		close(fd);
		if (ret) {
			fprintf(stderr, "pc-check: %s: %s\n", argv[1], strerror(-ret));
			fclose(af);
			return 2;
		}
	} else {
		printf("pc-check: %s is missing\n", argv[1]);
	}
	while (fscanf(af, "%u %llu", &stream, &seq) == 2) {
		for (s = 1; s <= seq; s++) {
			checked++;
			if (rec_present(&set, stream, s))
				continue;
			if (lost++ < LOST_SHOWN)
				printf("pc-check: stream %u seq %llu acked, not in %s\n",
				       stream, s, argv[1]);
		}
	}
	ret = ferror(af) ? 2 : lost ? 1 : 0;
	fclose(af);
	rec_free(&set);
	printf("pc-check: checked %llu lost %llu\n", checked, lost);
	return ret;
}
