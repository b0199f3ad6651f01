// SPDX-License-Identifier: MIT
/*
 * tlb: random 8-byte reads over 1 GiB, mapped three ways:
 *   pool   a libhugeslab pool (the module maps it with 2 MiB entries; the
 *          host fallback is shmem, 2 MiB only where shmem THP is enabled)
 *   2m     anonymous memory with MADV_HUGEPAGE: 2 MiB entries, the mapping
 *          the module gives, on any host with THP
 *   4k     the same memory with MADV_NOHUGEPAGE: 4 KiB entries
 * The mapping each one really got is read from /proc/self/smaps. The
 * repetitions of the three are interleaved; repetition 0 is a warm-up.
 *
 *   tlb [-r reps] [-n touches] [-s bytes]
 *
 * Output: "tlb KIND REP NS_PER_TOUCH HUGE_BYTES BACKEND" per run.
 */
#include <sys/mman.h>

#include "common.h"
#include "hugeslab.h"

static uint64_t huge_bytes_of(const void *addr)
{
	char line[256];
	uint64_t huge = 0;
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    line[strspn(line, "0123456789abcdef")] == '-') {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && (!strncmp(line, "AnonHugePages:", 14) ||
			   !strncmp(line, "ShmemPmdMapped:", 15) ||
			   !strncmp(line, "FilePmdMapped:", 14)))
			huge += strtoull(strchr(line, ':') + 1, NULL, 10) * 1024;
	}
	fclose(f);
	return huge;
}

static void *anon(size_t len, int advice)
{
	char *m = mmap(NULL, len + (2UL << 20), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (m == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)m + (2UL << 20) - 1) & ~((2UL << 20) - 1);
	madvise((void *)a, len, advice);
	memset((void *)a, 1, len);
	return (void *)a;
}

static double run(const char *p, size_t len, unsigned long n)
{
	uint64_t seed = 12345, sum = 0, mask = (len - 1) & ~63UL;
	unsigned long i;
	double t0 = mono_s();

	/*
	 * A dependent chain: each address depends on the value loaded before
	 * (bit 0 is always 1 and is masked off), so every miss of the TLB adds
	 * its page walk to the latency instead of overlapping with others.
	 */
	for (i = 0; i < n; i++)
		sum = *(const volatile uint64_t *)(p + ((rnd_next(&seed) ^ (sum & 1)) & mask));
	escape(sum);
	return (mono_s() - t0) * 1e9 / n;
}

int main(int argc, char **argv)
{
	size_t len = 1UL << 30;
	unsigned long n = 8000000;
	int reps = 5, opt, r, k;
	struct hs_pool_config cfg;
	struct hs_pool *pool;
	const char *kinds[3] = { "pool", "2m", "4k" };
	const char *bk[3];
	char *mem[3];

	while ((opt = getopt(argc, argv, "r:n:s:")) != -1) {
		if (opt == 'r')
			reps = atoi(optarg);
		else if (opt == 'n')
			n = strtoul(optarg, NULL, 0);
		else if (opt == 's')
			len = strtoull(optarg, NULL, 0);
		else
			return 2;
	}
	hs_pool_config_init(&cfg);
	cfg.total_bytes = len;
	cfg.buf_size = 2U << 20;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.name = "tlb";
	pool = hs_pool_create(&cfg);
	if (!pool) {
		fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
		return 1;
	}
	{
		struct hs_region reg;

		hs_pool_regions(pool, &reg, 1);
		mem[0] = reg.base;
		memset(mem[0], 1, len);
	}
	bk[0] = hs_backend_name(hs_pool_backend(pool));
	mem[1] = anon(len, MADV_HUGEPAGE);
	bk[1] = "anon-thp";
	mem[2] = anon(len, MADV_NOHUGEPAGE);
	bk[2] = "anon-4k";
	if (!mem[1] || !mem[2])
		return 1;
	for (r = 0; r < reps; r++)
		for (k = 0; k < 3; k++)
			printf("tlb\t%s\t%d\t%.3f\t%llu\t%s\n", kinds[k], r,
			       run(mem[k], len, n),
			       (unsigned long long)huge_bytes_of(mem[k]), bk[k]);
	hs_pool_destroy(pool, HS_DESTROY_FORCE);
	return 0;
}
