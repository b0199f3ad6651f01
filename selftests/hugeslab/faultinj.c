// SPDX-License-Identifier: GPL-2.0
/*
 * Pool lifecycles under injected allocation failures.
 *
 * Needs a kernel with CONFIG_FAULT_INJECTION, FAILSLAB and FAIL_PAGE_ALLOC
 * (the debug lane's): failslab and fail_page_alloc are set to fail with
 * probability P for tasks marked make-it-fail, and only the module's own
 * syscalls run marked. Every failure must be a clean error (the errno is
 * counted), nothing may oops, and with every pool closed the module's
 * counters must be zero.  Every other lifecycle is a persistent named
 * pool (issue 14): CREATE_NAMED with its node, an open of the node, and
 * DESTROY, which must always succeed.
 *
 *   faultinj [--rounds N] [--probability P ...]
 *
 * Output is TAP, one result per probability plus one for the counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/hugeslab.h>

#define SZ_2M	(2UL << 20)
#define DBG	"/sys/kernel/debug/"

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static int make_it_fail(int on)
{
	int i;

	/* The write itself can be failed by injection while the flag is on. */
	for (i = 0; i < 1000; i++)
		if (!write_str("/proc/self/make-it-fail", on ? "1" : "0"))
			return 0;
	return -1;
}

static int setup_attr(const char *attr, int probability)
{
	char path[128], val[16];

	snprintf(val, sizeof(val), "%d", probability);
	snprintf(path, sizeof(path), DBG "%s/probability", attr);
	if (write_str(path, val))
		return -1;
	snprintf(path, sizeof(path), DBG "%s/times", attr);
	if (write_str(path, "-1"))
		return -1;
	snprintf(path, sizeof(path), DBG "%s/task-filter", attr);
	if (write_str(path, "Y"))
		return -1;
	snprintf(path, sizeof(path), DBG "%s/verbose", attr);
	return write_str(path, "0");
}

static int setup(int probability)
{
	if (setup_attr("failslab", probability) ||
	    setup_attr("fail_page_alloc", probability))
		return -1;
	/* Fail sleeping and highmem allocations too: shmem's are both. */
	write_str(DBG "failslab/ignore-gfp-wait", "N");
	write_str(DBG "fail_page_alloc/ignore-gfp-wait", "N");
	write_str(DBG "fail_page_alloc/ignore-gfp-highmem", "N");
	write_str(DBG "fail_page_alloc/min-order", "0");
	return 0;
}

struct tally {
	int ok, enomem, eintr, efault, other;
	int other_errno;
};

static void count(struct tally *t, int ret)
{
	if (!ret)
		t->ok++;
	else if (errno == ENOMEM)
		t->enomem++;
	else if (errno == EINTR)
		t->eintr++;
	else if (errno == EFAULT)
		t->efault++;
	else {
		t->other++;
		t->other_errno = errno;
	}
}

/*
 * The node of the persistent pool @fd just created: opened, and the pool
 * destroyed, which must work whatever failed before.  A failed open must
 * be ENOMEM, ENOENT (devtmpfs could not make the node: it allocates the
 * path in the caller's context and ignores the failure), or ENXIO (the
 * path is a stale node of an earlier pool that devtmpfs, failing the same
 * allocation, could not delete; see the design's Known limits): never
 * another pool's handle or anything else.
 */
static void node_and_destroy(int fd, struct tally *node, int *destroy_failed)
{
	struct hugeslab_destroy d = { .name = "faultinj" };
	int nfd;

	make_it_fail(1);
	nfd = open(HUGESLAB_POOL_DIR "/faultinj", O_RDWR | O_CLOEXEC);
	make_it_fail(0);
	if (nfd < 0 && (errno == ENOENT || errno == ENXIO))
		errno = ENOMEM;
	count(node, nfd < 0 ? -1 : 0);
	if (nfd >= 0)
		close(nfd);
	make_it_fail(1);
	if (ioctl(fd, HUGESLAB_IOC_DESTROY, &d))
		*destroy_failed = 1;
	make_it_fail(0);
}

/* One lifecycle: the marked part is only what the module does. */
static void lifecycle(struct tally *create, struct tally *map,
		      struct tally *node, int *destroy_failed, unsigned int i)
{
	struct hugeslab_create_named c = {
		.create = {
			.size = (i % 8 + 1) * SZ_2M,
			.numa_node = -1,
		},
		.name = "faultinj",
	};
	struct hugeslab_info info = { 0 };
	int fd = open(HUGESLAB_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	int named = i % 2;
	char *p;
	int ret;

	if (fd < 0)
		return;
	if (named)
		c.create.flags = HUGESLAB_CREATE_NAMED |
				 HUGESLAB_CREATE_PERSISTENT |
				 HUGESLAB_CREATE_MODE;
	c.create.mode = named ? 0600 : 0;
	make_it_fail(1);
	ret = named ? ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &c) :
		      ioctl(fd, HUGESLAB_IOC_CREATE, &c.create);
	make_it_fail(0);
	count(create, ret);
	if (!ret && named)
		node_and_destroy(fd, node, destroy_failed);
	if (!ret) {
		make_it_fail(1);
		p = mmap(NULL, c.create.size, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_POPULATE, fd, 0);
		ioctl(fd, HUGESLAB_IOC_INFO, &info);
		make_it_fail(0);
		count(map, p == MAP_FAILED ? -1 : 0);
		if (p != MAP_FAILED) {
			memset(p, 1, c.create.size);
			munmap(p, c.create.size);
		}
	}
	close(fd);
}

static int counters_zero(void)
{
	struct hugeslab_stats st;
	int fd, i;

	for (i = 0; i < 300; i++) {
		fd = open(HUGESLAB_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && !ioctl(fd, HUGESLAB_IOC_STATS, &st) &&
		    !st.pinned_bytes && !st.nr_pools) {
			close(fd);
			return 1;
		}
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int probs[16] = { 1, 5, 20, 50 }, nprobs = 4, rounds = 200;
	int k, n, ok, bad = 0;

	for (k = 1; k + 1 < argc; k += 2) {
		if (!strcmp(argv[k], "--rounds"))
			rounds = atoi(argv[k + 1]);
		if (!strcmp(argv[k], "--probability")) {
			if (nprobs == 4 && probs[0] == 1)
				nprobs = 0;
			if (nprobs < 16)
				probs[nprobs++] = atoi(argv[k + 1]);
		}
	}

	printf("TAP version 13\n1..%d\n", nprobs + 1);
	if (access(DBG "failslab", F_OK) || access(DBG "fail_page_alloc", F_OK)) {
		for (k = 0; k <= nprobs; k++)
			printf("ok %d faultinj # SKIP no failslab/fail_page_alloc\n",
			       k + 1);
		return 0;
	}

	for (k = 0; k < nprobs; k++) {
		struct tally create = { 0 }, map = { 0 }, node = { 0 };
		int destroy_failed = 0;

		if (setup(probs[k])) {
			printf("not ok %d probability %d%%: cannot set up fault injection\n",
			       k + 1, probs[k]);
			bad = 1;
			continue;
		}
		for (n = 0; n < rounds; n++)
			lifecycle(&create, &map, &node, &destroy_failed, n);
		setup(0);
		/* A failure must be an errno a caller can act on. */
		ok = !create.other && !node.other && !destroy_failed;
		printf("%s %d probability %d%%: create ok %d enomem %d eintr %d efault %d other %d (errno %d); mmap ok %d failed %d; node open ok %d enomem/enoent/enxio %d other %d (errno %d); destroy %s\n",
		       ok ? "ok" : "not ok", k + 1, probs[k],
		       create.ok, create.enomem, create.eintr, create.efault,
		       create.other, create.other_errno, map.ok,
		       map.enomem + map.eintr + map.efault + map.other,
		       node.ok, node.enomem, node.other, node.other_errno,
		       destroy_failed ? "failed" : "always worked");
		bad |= !ok;
	}

	if (counters_zero()) {
		printf("ok %d module counters back to zero\n", nprobs + 1);
	} else {
		printf("not ok %d module counters back to zero\n", nprobs + 1);
		bad = 1;
	}
	return bad;
}
