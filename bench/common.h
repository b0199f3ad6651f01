/* SPDX-License-Identifier: MIT */
/*
 * common.h: helpers shared by the benchmark programs: a calibrated TSC
 * clock, sample statistics, CPU pinning and RSS / meminfo readers.
 *
 * Every program prints tab-separated result lines whose first field names
 * the record type; bench/report.py reads them.
 */
#ifndef HSBENCH_COMMON_H
#define HSBENCH_COMMON_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define escape(p)	__asm__ volatile("" : : "r"(p) : "memory")
#define cpu_relax()	__asm__ volatile("pause" ::: "memory")

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double tsc_ns_per_tick = 1.0;
static double tsc_overhead;		/* ticks of an empty tsc() pair */

/* Calibrate the TSC against CLOCK_MONOTONIC over @ms milliseconds. */
static inline void tsc_calibrate(int ms)
{
	double t0 = mono_s(), t1;
	uint64_t c0 = tsc(), c1, v[257];
	int i, j;

	do {
		t1 = mono_s();
	} while (t1 - t0 < ms * 1e-3);
	c1 = tsc();
	tsc_ns_per_tick = (t1 - t0) * 1e9 / (double)(c1 - c0);
	for (i = 0; i < 257; i++) {
		uint64_t a = tsc(), b = tsc();

		v[i] = b - a;
	}
	/* median by insertion sort: 257 values */
	for (i = 1; i < 257; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	tsc_overhead = (double)v[128];
}

/* ns for @ticks of a timed batch, the timer's own cost removed. */
static inline double ticks_ns(uint64_t ticks)
{
	double t = (double)ticks - tsc_overhead;

	return (t < 0 ? 0 : t) * tsc_ns_per_tick;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct stat3 {
	double median, p99, mean;
	unsigned long n;
};

/* Sorts @v in place. */
static inline struct stat3 stats_of(double *v, unsigned long n)
{
	struct stat3 s = { 0, 0, 0, n };
	unsigned long i;
	double sum = 0;

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	s.median = v[n / 2];
	s.p99 = v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	s.mean = sum / n;
	return s;
}

static inline void pin_cpu(int cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	CPU_ZERO(&set);
	CPU_SET(cpu % n, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Resident set size of this process in bytes. */
static inline uint64_t rss_bytes(void)
{
	unsigned long size, res;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A field of /proc/meminfo in bytes, -1 if absent. */
static inline long long meminfo_bytes(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = atoll(line + kl + 1) * 1024LL;
			break;
		}
	fclose(f);
	return v;
}

/* Minor faults of this process so far (getrusage: allocates nothing). */
static inline unsigned long minflt_self(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (unsigned long)ru.ru_minflt;
}

/* xorshift64*: cheap deterministic random numbers. */
static inline uint64_t rnd_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* HSBENCH_COMMON_H */
