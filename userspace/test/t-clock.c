// SPDX-License-Identifier: MIT
/*
 * t-clock: the library's clock thread (clock.c) runs exactly while pools
 * exist, and it is what keeps the ages of cached gets right: a thread that
 * was idle gets buffers stamped with the time of the get, not of its last
 * refill. fork() leaves the child without the thread, and a pool created
 * there starts its own.
 */
#include <dirent.h>
#include <sys/wait.h>

#include "helpers.h"

/* Threads of this process named "hs-clock" (sanitizers add their own). */
static int nclock(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[32];
	int n = 0;

	T_ASSERT(d);
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;	/* exited meanwhile */
		if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "hs-clock\n"))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

/*
 * nclock() once it reaches @want, or after 2 s. pthread_join() returns
 * when the kernel clears the thread's tid, a moment before the task
 * leaves /proc/self/task: a joined thread can still be listed (seen under
 * qemu TCG), so a count going down is polled for.
 */
static int nclock_settled(int want)
{
	int n, i;

	for (i = 0; (n = nclock()) != want && i < 200; i++)
		t_sleep_ms(10);
	return n;
}

static int on_leak(const struct hs_leak *l, void *arg)
{
	*(uint64_t *)arg = l->age_ns;
	return 1;
}

/* Age of the only buffer out, as hs_pool_leaks() reports it. */
static uint64_t age_of(struct hs_pool *pool)
{
	uint64_t age = UINT64_MAX;

	T_ASSERT(hs_pool_leaks(pool, 0, on_leak, &age) == 1);
	return age;
}

int main(void)
{
	struct hs_pool *a, *b;
	int status;
	void *x, *y;
	pid_t pid;

	T_ASSERT(nclock() == 0);
	a = t_pool(4UL << 20, 4096);
	T_ASSERT(nclock() == 1);
	b = t_pool(4UL << 20, 4096);
	T_ASSERT(nclock() == 1);	/* one thread for all pools */

	/* a cached get after 300 ms idle is stamped now, not 300 ms ago */
	x = hs_get(a);
	T_ASSERT(x && hs_put(a, x) == 0);
	t_sleep_ms(300);
	y = hs_get(a);	/* from the cache: no clock read on this path */
	T_ASSERT(y);
	if (age_of(a) > 100 * 1000000ULL)
		T_FAIL("cached get after 300 ms idle is %llu ms old",
		       (unsigned long long)(age_of(a) / 1000000));
	T_ASSERT(hs_put(a, y) == 0);

	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		struct hs_pool *c;

		/* the clock thread was not copied */
		if (nclock() != 0)
			_exit(10);
		c = t_pool(2UL << 20, 4096);
		if (nclock() != 1)
			_exit(11);
		if (hs_pool_destroy(c, 0) != 0 || nclock_settled(0) != 0)
			_exit(12);
		_exit(0);
	}
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		T_FAIL("child: status 0x%x", status);

	T_ASSERT(hs_pool_destroy(a, 0) == 0);
	T_ASSERT(nclock() == 1);
	T_ASSERT(hs_pool_destroy(b, 0) == 0);
	T_ASSERT(nclock_settled(0) == 0);	/* stopped with the last pool */
	return T_EXIT_PASS;
}
