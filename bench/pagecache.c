// SPDX-License-Identifier: MIT
/*
 * pagecache: the image-cache case. Streams N bytes (default 2 GiB) to a
 * scratch file in 1 MiB writes, either buffered from a malloc()ed buffer or
 * with O_DIRECT from pool buffers, and samples every 0.25 s how much the
 * page cache grew: system-wide ("Cached" in /proc/meminfo) and in this
 * process's memory cgroup ("cache" of cgroup v1, "file" of v2). The file is
 * fsync()ed, dropped from the cache and deleted at the end.
 *
 *   pagecache -m buffered|odirect -f FILE [-s bytes]
 *
 * Output: "pc MODE T_S CACHED_DELTA CGROUP_FILE_DELTA BYTES_WRITTEN" per
 * sample, then "pcres MODE SECONDS MBPS PEAK_CACHED_DELTA PEAK_CG_DELTA
 * END_CACHED_DELTA BACKEND".
 */
#include <fcntl.h>
#include <stdatomic.h>

#include "common.h"
#include "hugeslab.h"

#define CHUNK		(1U << 20)

static char cg_stat[512];
static const char *cg_key;
static atomic_ulong written;
static atomic_int running = 1;
static const char *mode = "buffered";
static long long cached0, cg0, peak_cached, peak_cg;
static double t0;

static void find_cgroup(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *q;

		if (!p)
			continue;
		q = strchr(p + 1, ':');
		if (!q)
			continue;
		q[strcspn(q, "\n")] = 0;
		if (!strncmp(p + 1, "memory:", 7)) {
			snprintf(cg_stat, sizeof(cg_stat),
				 "/sys/fs/cgroup/memory%s/memory.stat", q + 1);
			cg_key = "cache";
			break;
		}
		if (!strncmp(line, "0::", 3)) {
			snprintf(cg_stat, sizeof(cg_stat),
				 "/sys/fs/cgroup%s/memory.stat", q + 1);
			cg_key = "file";
		}
	}
	fclose(f);
	if (cg_key && access(cg_stat, R_OK))
		cg_key = NULL;
}

static long long cg_file(void)
{
	char line[256];
	long long v = -1;
	size_t kl;
	FILE *f;

	if (!cg_key)
		return -1;
	f = fopen(cg_stat, "r");
	if (!f)
		return -1;
	kl = strlen(cg_key);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, cg_key, kl) && line[kl] == ' ') {
			v = atoll(line + kl + 1);
			break;
		}
	fclose(f);
	return v;
}

static void sample(void)
{
	long long c = meminfo_bytes("Cached") - cached0;
	long long g = cg_key ? cg_file() - cg0 : 0;

	if (c > peak_cached)
		peak_cached = c;
	if (g > peak_cg)
		peak_cg = g;
	printf("pc\t%s\t%.2f\t%lld\t%lld\t%lu\n", mode, mono_s() - t0, c, g,
	       atomic_load(&written));
	fflush(stdout);
}

static void *sampler(void *arg)
{
	(void)arg;
	while (atomic_load(&running)) {
		sample();
		usleep(250000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long long total = 2ULL << 30;
	const char *file = NULL, *backend = "heap";
	struct hs_pool *pool = NULL;
	pthread_t th;
	double secs;
	int opt, fd, odirect;
	void *buf = NULL;

	while ((opt = getopt(argc, argv, "m:f:s:")) != -1) {
		switch (opt) {
		case 'm':
			mode = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 's':
			total = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: pagecache -m buffered|odirect -f FILE [-s bytes]\n");
			return 2;
		}
	}
	if (!file)
		return 2;
	odirect = !strcmp(mode, "odirect");
	if (odirect) {
		struct hs_pool_config cfg;

		hs_pool_config_init(&cfg);
		cfg.total_bytes = 16U << 20;
		cfg.buf_size = CHUNK;
		cfg.flags = HS_POOL_ALLOW_FALLBACK;
		cfg.name = "pagecache";
		pool = hs_pool_create(&cfg);
		if (!pool) {
			fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
			return 1;
		}
		backend = hs_backend_name(hs_pool_backend(pool));
	}
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | (odirect ? O_DIRECT : 0), 0600);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	find_cgroup();
	cached0 = meminfo_bytes("Cached");
	cg0 = cg_file();
	t0 = mono_s();
	pthread_create(&th, NULL, sampler, NULL);
	while (atomic_load(&written) < total) {
		ssize_t n;

		if (odirect) {
			/* a received buffer, written straight from the pool */
			buf = hs_get(pool);
			if (!buf) {
				perror("hs_get");
				return 1;
			}
		} else if (!buf) {
			buf = malloc(CHUNK);
		}
		memset(buf, (int)(atomic_load(&written) >> 20), 4096);
		n = write(fd, buf, CHUNK);
		if (n != CHUNK) {
			perror("write");
			return 1;
		}
		if (odirect)
			hs_put(pool, buf);
		atomic_fetch_add(&written, CHUNK);
	}
	fsync(fd);
	secs = mono_s() - t0;
	sample();
	atomic_store(&running, 0);
	pthread_join(th, NULL);
	printf("pcres\t%s\t%.3f\t%.1f\t%lld\t%lld\t%lld\t%s\n", mode, secs,
	       total / secs / 1e6, peak_cached, peak_cg,
	       meminfo_bytes("Cached") - cached0, backend);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	unlink(file);
	if (pool)
		hs_pool_destroy(pool, 0);
	return 0;
}
