/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the hugeslab selftests: raw calls that return -errno,
 * and readers for what a user would look at (smaps, the module's counters).
 */
#ifndef HUGESLAB_UTIL_H
#define HUGESLAB_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/hugeslab.h>

#define SZ_2M	(2UL << 20)
#define SZ_4K	4096UL

static inline int hs_open(void)
{
	return open(HUGESLAB_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

static inline int hs_create_args(int fd, struct hugeslab_create *args)
{
	return ioctl(fd, HUGESLAB_IOC_CREATE, args) ? -errno : 0;
}

static inline int hs_create(int fd, uint64_t size)
{
	struct hugeslab_create args = { .size = size, .numa_node = -1 };

	return hs_create_args(fd, &args);
}

/* Open and create in one step; returns the fd or -errno. */
static inline int hs_pool(uint64_t size)
{
	int fd = hs_open();
	int ret;

	if (fd < 0)
		return -errno;
	ret = hs_create(fd, size);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static inline void *hs_map(int fd, size_t len, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
}

static inline int hs_stats(struct hugeslab_stats *st)
{
	int fd = hs_open();
	int ret;

	if (fd < 0)
		return -errno;
	ret = ioctl(fd, HUGESLAB_IOC_STATS, st) ? -errno : 0;
	close(fd);
	return ret;
}

static inline uint64_t hs_pinned(void)
{
	struct hugeslab_stats st;

	if (hs_stats(&st))
		return UINT64_MAX;
	return st.pinned_bytes;
}

static inline uint64_t hs_nr_pools(void)
{
	struct hugeslab_stats st;

	if (hs_stats(&st))
		return UINT64_MAX;
	return st.nr_pools;
}

/*
 * Pools die in the final fput, which for an exiting or killed process runs
 * after its parent may already have seen it exit: poll briefly.
 */
static inline int hs_wait_pinned(uint64_t want, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	while (hs_pinned() != want) {
		if (ms <= 0)
			return -1;
		nanosleep(&ts, NULL);
		ms -= 10;
	}
	return 0;
}

#define HS_CAP_PARAM	"/sys/module/hugeslab/parameters/max_pinned_mb"

/* The number a sysfs or proc file holds, or -1. */
static inline long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* The module-wide cap in MiB, or -1. */
static inline int read_cap_mb(void)
{
	return read_long(HS_CAP_PARAM);
}

/* Set the module-wide cap in MiB; 0 or -1. */
static inline int write_cap_mb(int mb)
{
	FILE *f = fopen(HS_CAP_PARAM, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%d\n", mb) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

/* kB value of @field in the smaps entry of the VMA starting at @addr. */
static inline long smaps_kb(const void *addr, const char *field)
{
	size_t flen = strlen(field);
	char line[256];
	long val = -1;
	int in_vma = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in_vma = start == (unsigned long)addr;
			continue;
		}
		if (in_vma && !strncmp(line, field, flen) && line[flen] == ':') {
			val = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* kB value of @field in a /proc file of "Field:   N kB" lines, or -1. */
static inline long proc_kb(const char *path, const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	long val = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, flen) && line[flen] == ':') {
			val = strtol(line + flen + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static inline long meminfo_kb(const char *field)
{
	return proc_kb("/proc/meminfo", field);
}

/* CREATE_NAMED of @size bytes on any node; 0 or -errno. */
static inline int create_named(int fd, uint64_t size, const char *name)
{
	struct hugeslab_create_named a = {
		.create = { .size = size, .numa_node = -1,
			    .flags = HUGESLAB_CREATE_NAMED },
	};

	memcpy(a.name, name, strnlen(name, sizeof(a.name) - 1));
	return ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &a) ? -errno : 0;
}

#define FAIL_NTH	"/sys/module/hugeslab/parameters/test_fail_nth"

/* Make the module's @n-th allocation step fail (0: none); 0 or -1. */
static inline int set_fail_nth(int n)
{
	FILE *f = fopen(FAIL_NTH, "w");
	int ret;

	if (!f)
		return -1;
	ret = fprintf(f, "%d\n", n) > 0 ? 0 : -1;
	return fclose(f) ? -1 : ret;
}

/* Unload @name without waiting for users: -EWOULDBLOCK while in use. */
static inline int delete_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? -errno : 0;
}

static inline int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/* Wait up to 2 s for /dev/hugeslab to appear (@present) or go. */
static inline int wait_for_device(int present)
{
	int i;

	for (i = 0; i < 200; i++) {
		if ((access(HUGESLAB_DEVICE_PATH, F_OK) == 0) == present)
			return 0;
		usleep(10000);
	}
	return -1;
}

static inline long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* FNV-1a, enough to tell a round trip apart from stale or zero data. */
static inline uint64_t checksum(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static inline void fill_pattern(void *buf, size_t len, uint64_t seed)
{
	uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / sizeof(*p); i++)
		p[i] = seed ^ (i * 0x9e3779b97f4a7c15ULL);
}

/* Store a C string, terminator included, into pool memory. */
static inline void put_str(char *dst, const char *s)
{
	memcpy(dst, s, strlen(s) + 1);
}

static inline int all_zero(const void *buf, size_t len)
{
	const uint64_t *p = buf;
	size_t i;

	for (i = 0; i < len / sizeof(*p); i++)
		if (p[i])
			return 0;
	return 1;
}

#endif /* HUGESLAB_UTIL_H */
