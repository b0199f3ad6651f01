// SPDX-License-Identifier: MIT
/*
 * hsbench: cost of libhugeslab's cached get+put against glibc malloc+free of
 * the same size, measured in one run: single pairs, bulks of 32, and two
 * threads at once. Prints ns per buffer (get+put) and the ratio
 * malloc/hugeslab (higher is better for hugeslab).
 *
 *   hsbench [-n iterations] [-r repeats]
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hugeslab.h"

#define BULK	32

static unsigned long iters = 20000000;
static int repeats = 5;

#define escape(p)	__asm__ volatile("" : : "r"(p) : "memory")

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

struct job {
	struct hs_pool *pool;
	size_t size;
	int kind;	/* 0 hs pair, 1 malloc pair, 2 hs bulk, 3 malloc bulk */
	unsigned long n;
	double ns;
	int err;
};

static void *run(void *arg)
{
	struct job *j = arg;
	void *v[BULK];
	unsigned long i;
	double t0;
	int k;

	/* warm up: the thread's cache and malloc arena */
	for (i = 0; i < 1000; i++) {
		void *b = j->kind & 1 ? malloc(j->size) : hs_get(j->pool);

		if (!b) {
			j->err = errno;
			return NULL;
		}
		if (j->kind & 1)
			free(b);
		else
			hs_put(j->pool, b);
	}
	t0 = now_ns();
	switch (j->kind) {
	case 0:
		for (i = 0; i < j->n; i++) {
			void *b = hs_get(j->pool);

			escape(b);
			hs_put(j->pool, b);
		}
		break;
	case 1:
		for (i = 0; i < j->n; i++) {
			void *b = malloc(j->size);

			escape(b);
			free(b);
		}
		break;
	case 2:
		for (i = 0; i < j->n / BULK; i++) {
			if (hs_get_bulk(j->pool, v, BULK)) {
				j->err = errno;
				break;
			}
			escape(v);
			hs_put_bulk(j->pool, v, BULK);
		}
		break;
	case 3:
		for (i = 0; i < j->n / BULK; i++) {
			for (k = 0; k < BULK; k++)
				v[k] = malloc(j->size);
			escape(v);
			for (k = 0; k < BULK; k++)
				free(v[k]);
		}
		break;
	}
	j->ns = (now_ns() - t0) / (double)j->n;
	return NULL;
}

/* Best of @repeats runs with @threads threads; ns per get+put per thread. */
static double measure(struct hs_pool *pool, size_t size, int kind,
		      int threads)
{
	double best = 1e30;
	int r, t;

	for (r = 0; r < repeats; r++) {
		struct job jobs[2];
		pthread_t th[2];
		double sum = 0;

		for (t = 0; t < threads; t++) {
			jobs[t] = (struct job){ pool, size, kind, iters, 0, 0 };
			pthread_create(&th[t], NULL, run, &jobs[t]);
		}
		for (t = 0; t < threads; t++) {
			pthread_join(th[t], NULL);
			if (jobs[t].err) {
				fprintf(stderr, "bench: %s\n",
					strerror(jobs[t].err));
				exit(1);
			}
			sum += jobs[t].ns;
		}
		if (sum / threads < best)
			best = sum / threads;
	}
	return best;
}

static void row(const char *what, size_t size, double hs, double m,
		int threads)
{
	printf("%-22s %6zu KiB  %9.2f ns  %9.2f ns  %7.1fx", what, size >> 10,
	       hs, m, m / hs);
	if (threads > 1)
		printf("   %6.1f / %6.1f Mops/s", threads * 1e3 / hs,
		       threads * 1e3 / m);
	printf("\n");
}

int main(int argc, char **argv)
{
	size_t sizes[] = { 2048, 65536 };
	unsigned int i;
	int opt;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			iters = strtoul(optarg, NULL, 0);
		else if (opt == 'r')
			repeats = atoi(optarg);
		else
			return 2;
	}
	printf("%-22s %10s  %12s  %12s  %8s\n", "test (per get+put)", "size",
	       "hugeslab", "malloc", "ratio");
	for (i = 0; i < 2; i++) {
		struct hs_pool_config cfg;
		struct hs_pool *pool;

		hs_pool_config_init(&cfg);
		cfg.total_bytes = sizes[i] == 2048 ? 16UL << 20 : 64UL << 20;
		cfg.buf_size = (uint32_t)sizes[i];
		cfg.flags = HS_POOL_ALLOW_FALLBACK;
		cfg.name = "bench";
		pool = hs_pool_create(&cfg);
		if (!pool) {
			fprintf(stderr, "hs_pool_create: %s\n", strerror(errno));
			return 1;
		}
		if (i == 0)
			printf("# backend %s, page size %zu, %lu iterations, best of %d\n",
			       hs_backend_name(hs_pool_backend(pool)),
			       hs_pool_page_size(pool), iters, repeats);
		row("single pair", sizes[i], measure(pool, sizes[i], 0, 1),
		    measure(pool, sizes[i], 1, 1), 1);
		row("bulk of 32", sizes[i], measure(pool, sizes[i], 2, 1),
		    measure(pool, sizes[i], 3, 1), 1);
		row("2 threads, pairs", sizes[i], measure(pool, sizes[i], 0, 2),
		    measure(pool, sizes[i], 1, 2), 2);
		hs_pool_destroy(pool, 0);
	}
	return 0;
}
