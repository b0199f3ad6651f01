// SPDX-License-Identifier: MIT
/*
 * t-stats-shm: another process reads a pool's counters from the shared
 * statistics region, using only hugeslab_stats.h.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "helpers.h"

/* Runs in a fresh process image: no library state, just the file. */
static int reader(const char *path, unsigned int want_tag3)
{
	struct hs_stats_hdr hdr, *h;
	uint64_t gets = 0, puts = 0, out3 = 0;
	unsigned int i;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 20;
	if (pread(fd, &hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
		return 21;
	if (hdr.magic != HS_STATS_MAGIC || hdr.version != HS_STATS_VERSION ||
	    hdr.state != 1 || hdr.pid != (uint64_t)getppid())
		return 22;
	h = mmap(NULL, hs_stats_region_size(&hdr), PROT_READ, MAP_SHARED, fd,
		 0);
	if (h == MAP_FAILED)
		return 23;
	if (strcmp(h->name, "shmtest") || strcmp(h->tag_names[3], "disk"))
		return 24;
	for (i = 0; i < h->nr_threads; i++) {
		struct hs_stats_thread *t = hs_stats_thread_slot(h, i);

		gets += t->tag_gets[0] + t->tag_gets[3];
		puts += t->tag_puts[0] + t->tag_puts[3];
		out3 += t->tag_gets[3] - t->tag_puts[3];
	}
	if (out3 != want_tag3 || gets != 110 || puts != 101)
		return 25;
	if (h->err_double_put != 1 || h->nr_bufs != 512 || h->buf_size != 2048)
		return 26;
	if (h->age_hist_time_ns == 0)
		return 27;
	return 0;
}

static void run(const char *argv0)
{
	struct hs_pool *pool;
	struct hs_pool_stats st;
	struct stat sb;
	void *b[10];
	char path[128];
	pid_t pid;
	int i, status;

	pool = t_pool_flags(2UL << 20, 2048, 0, 0, "shmtest");
	T_ASSERT(hs_tag_name(pool, 3, "disk") == 0);
	snprintf(path, sizeof(path), "%s", hs_pool_stats_path(pool));
	if (strncmp(path, "/proc/", 6)) {
		T_ASSERT(stat(path, &sb) == 0);
		T_ASSERT((sb.st_mode & 0777) == 0600);
		T_ASSERT(sb.st_uid == getuid());
	}
	for (i = 0; i < 100; i++) {
		void *x = hs_get(pool);

		T_ASSERT(x && hs_put(pool, x) == 0);
	}
	for (i = 0; i < 10; i++)
		T_ASSERT((b[i] = hs_get_tagged(pool, 3)) != NULL);
	T_ASSERT(hs_put(pool, b[9]) == 0);
	T_ERR(EALREADY, hs_put(pool, b[9]));
	/* refreshes the published age histogram */
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.outstanding == 9);

	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		execl("/proc/self/exe", argv0, "--reader", path, "9",
		      (char *)NULL);
		_exit(30);
	}
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		T_FAIL("reader failed: status 0x%x", status);

	for (i = 0; i < 9; i++)
		T_ASSERT(hs_put(pool, b[i]) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	/* the file goes away with the pool */
	if (strncmp(path, "/proc/", 6))
		T_ASSERT(access(path, F_OK) == -1 && errno == ENOENT);
	fprintf(stderr, "read %s from another process\n", path);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--reader"))
		return reader(argv[2], (unsigned int)atoi(argv[3]));
	run(argv[0]);
	/* Without a usable directory the region is a memfd under /proc. */
	setenv("HUGESLAB_STATS_DIR", "/nonexistent-hugeslab-dir", 1);
	run(argv[0]);
	return T_EXIT_PASS;
}
