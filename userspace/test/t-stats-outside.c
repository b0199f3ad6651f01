// SPDX-License-Identifier: MIT
/*
 * t-stats-outside: another process sees live per-tag counts and ages of a
 * pool's buffers in use without the owner's cooperation: the owner never
 * calls hs_pool_stats() (so the header's histogram stays "never sampled"),
 * and a reader exec()ed afresh, with no library state, maps the statistics
 * file read-only and counts from the metadata there with
 * hs_stats_meta_scan(), as hugeslabctl top does.
 *
 * The owner holds 2 buffers of tag 3 for over a second, then 4 of tag 1
 * and 3 of tag 2 (one more of tag 1 was got and put back). Since the
 * region holds metadata the pool trusts, the file is never writable by
 * group or others, whatever stats_mode asks for.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

static int reader(const char *path)
{
	uint64_t tags[HS_STATS_TAGS], ages[HS_STATS_AGE_BUCKETS], n, size, now;
	struct hs_stats_hdr hdr;
	const struct hs_stats_hdr *h;
	struct timespec ts;
	unsigned int b;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, &hdr, sizeof(hdr), 0) != sizeof(hdr) ||
	    hdr.magic != HS_STATS_MAGIC) {
		fprintf(stderr, "reader: %s: no region\n", path);
		return 2;
	}
	if (!hs_stats_has_meta(&hdr)) {
		fprintf(stderr, "reader: %s: no buffer metadata in the region\n",
			path);
		return 3;
	}
	size = hs_stats_file_size(&hdr);
	h = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED)
		return 4;
	if (clock_gettime((clockid_t)h->meta_clock, &ts))
		return 5;
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	n = hs_stats_meta_scan(h, now, tags, ages);
	printf("reader: %" PRIu64 " in use; tag 1: %" PRIu64 ", tag 2: %" PRIu64
	       ", tag 3: %" PRIu64 "; ages:", n, tags[1], tags[2], tags[3]);
	for (b = 0; b < HS_STATS_AGE_BUCKETS; b++)
		printf(" %" PRIu64, ages[b]);
	printf("; histogram sampled at %" PRIu64 "\n", h->age_hist_time_ns);
	/* the owner never sampled: everything below came from the metadata */
	if (h->age_hist_time_ns)
		return 6;
	if (n != 9 || tags[1] != 4 || tags[2] != 3 || tags[3] != 2)
		return 7;
	/* tag 3's two are 1 s..10 s old (bucket 4), the others below 1 s */
	if (ages[4] != 2 || ages[0] + ages[1] + ages[2] + ages[3] != 7)
		return 8;
	munmap((void *)h, size);
	return 0;
}

int main(int argc, char **argv)
{
	struct hs_pool_config cfg;
	struct hs_pool *pool;
	struct stat sb;
	void *bufs[10];
	char path[256];
	pid_t pid;
	int i, status;

	if (argc == 3 && !strcmp(argv[1], "--read"))
		return reader(argv[2]);

	pool = t_pool_flags(4UL << 20, 4096, 0, 0, "outside");
	for (i = 0; i < 2; i++)
		T_ASSERT((bufs[i] = hs_get_tagged(pool, 3)) != NULL);
	t_sleep_ms(1100);
	for (i = 2; i < 10; i++)
		T_ASSERT((bufs[i] = hs_get_tagged(pool, i < 7 ? 1 : 2)) != NULL);
	T_ASSERT(hs_put(pool, bufs[6]) == 0);
	snprintf(path, sizeof(path), "%s", hs_pool_stats_path(pool));

	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "--read", path, (char *)NULL);
		_exit(127);
	}
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		T_FAIL("reader failed: status 0x%x", status);

	for (i = 0; i < 10; i++)
		if (i != 6)
			T_ASSERT(hs_put(pool, bufs[i]) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);

	/* Readable by others on request, but never writable by them. */
	hs_pool_config_init(&cfg);
	cfg.total_bytes = 2UL << 20;
	cfg.buf_size = 4096;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.stats_mode = 0666;
	pool = hs_pool_create(&cfg);
	T_ASSERT(pool != NULL);
	T_ASSERT(stat(hs_pool_stats_path(pool), &sb) == 0);
	/* (a memfd when there is no /dev/shm: reachable through /proc only) */
	if (strncmp(hs_pool_stats_path(pool), "/proc/", 6) &&
	    (sb.st_mode & 0777) != 0644)
		T_FAIL("stats_mode 0666 gave %o, expected 0644",
		       (unsigned int)(sb.st_mode & 0777));
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
