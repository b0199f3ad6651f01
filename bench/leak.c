// SPDX-License-Identifier: MIT
/*
 * leak: the datanode case. A request loop gets a 64 KiB buffer, fills it and
 * returns it; one request in 10,000 goes down a path that forgets to return
 * it. Requests arrive at a fixed rate. RSS is sampled every second.
 *
 * Heap build: the leaked buffers pile up, RSS grows for as long as it runs,
 * nothing says where they went. hugeslab build (-DUSE_HS): the pool is
 * fixed; the leaky path gets its buffers with owner tag "replica-abort", and
 * once a second the program asks hs_pool_leaks() for buffers held longer
 * than 1 s: the first report that names the tag is timed. When the pool
 * runs dry, requests are refused (back-pressure) instead of growing.
 *
 *   leak [-d seconds] [-r requests_per_s] [-m pool_mib] [-n name]
 *
 * Output: "leak NAME T_S RSS REQUESTS LEAKED REFUSED" every second, then
 *   "leakres NAME FIRST_REPORT_S TAG COUNT RSS_START RSS_END POOL_BYTES BACKEND"
 */
#include "common.h"
#ifdef USE_HS
#include "hugeslab.h"
#endif

#define BUFSZ		(64U << 10)
#define LEAK_EVERY	10000UL
#define TAG_OK		1
#define TAG_LEAKY	2

static const char *name = "glibc";
static int duration = 20;
static unsigned long rate = 50000;
static unsigned long pool_mib = 4;

#ifdef USE_HS
static struct hs_pool *pool;

struct tally {
	unsigned long leaky, other;
};

static int count_leak(const struct hs_leak *l, void *arg)
{
	struct tally *t = arg;

	if (!strcmp(l->tag_name, "replica-abort"))
		t->leaky++;
	else
		t->other++;
	return 0;
}
#endif

int main(int argc, char **argv)
{
	unsigned long req = 0, leaked = 0, refused = 0, sec = 0;
	double t0, first_report = -1, tick = 0.01;
	unsigned long per_tick, reported = 0;
	uint64_t rss_start, rss = 0;
	const char *backend = "heap";
	uint64_t pool_bytes = 0;
	int opt;

	while ((opt = getopt(argc, argv, "d:r:m:n:")) != -1) {
		switch (opt) {
		case 'd':
			duration = atoi(optarg);
			break;
		case 'r':
			rate = strtoul(optarg, NULL, 0);
			break;
		case 'm':
			pool_mib = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			name = optarg;
			break;
		default:
			fprintf(stderr, "usage: leak [-d s] [-r req/s] [-m pool_mib] [-n name]\n");
			return 2;
		}
	}
#ifdef USE_HS
	{
		struct hs_pool_config cfg;

		hs_pool_config_init(&cfg);
		cfg.total_bytes = pool_mib << 20;
		cfg.buf_size = BUFSZ;
		cfg.flags = HS_POOL_ALLOW_FALLBACK;
		cfg.name = "leak";
		pool = hs_pool_create(&cfg);
		if (!pool) {
			fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
			return 1;
		}
		hs_tag_name(pool, TAG_OK, "write-path");
		hs_tag_name(pool, TAG_LEAKY, "replica-abort");
		backend = hs_backend_name(hs_pool_backend(pool));
		pool_bytes = cfg.total_bytes;
		name = "hugeslab";
	}
#endif
	per_tick = (unsigned long)(rate * tick);
	rss_start = rss_bytes();
	t0 = mono_s();
	for (;;) {
		double now = mono_s() - t0, next;
		unsigned long i;

		if (now >= sec) {
			rss = rss_bytes();
#ifdef USE_HS
			{
				struct tally t = { 0, 0 };

				hs_pool_leaks(pool, 1000000000ULL, count_leak, &t);
				if (t.leaky && first_report < 0) {
					first_report = now;
					reported = t.leaky;
				}
			}
#endif
			printf("leak\t%s\t%.2f\t%llu\t%lu\t%lu\t%lu\n", name, now,
			       (unsigned long long)rss, req, leaked, refused);
			fflush(stdout);
			if (sec++ >= (unsigned long)duration)
				break;
		}
		for (i = 0; i < per_tick; i++, req++) {
			int leaky = req % LEAK_EVERY == LEAK_EVERY - 1;
			void *b;
#ifdef USE_HS
			b = hs_get_tagged(pool, leaky ? TAG_LEAKY : TAG_OK);
#else
			b = malloc(BUFSZ);
#endif
			if (!b) {
				refused++;
				continue;
			}
			memset(b, (int)req, BUFSZ);
			escape(b);
			if (leaky) {
				leaked++;
				continue;	/* the bug: never returned */
			}
#ifdef USE_HS
			hs_put(pool, b);
#else
			free(b);
#endif
		}
		next = (double)(long)((mono_s() - t0) / tick + 1) * tick;
		while (mono_s() - t0 < next)
			usleep(1000);
	}
	printf("leakres\t%s\t%.2f\t%s\t%lu\t%llu\t%llu\t%llu\t%s\n", name,
	       first_report, first_report >= 0 ? "replica-abort" : "-", reported,
	       (unsigned long long)rss_start, (unsigned long long)rss,
	       (unsigned long long)pool_bytes, backend);
	return 0;
}
