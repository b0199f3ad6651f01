// SPDX-License-Identifier: MIT
/*
 * t-fork-wait: fork(2) while another thread sleeps in hs_get_wait(). The
 * child inherits the wait condition variable with a waiter counted in it
 * and, when the fork hits the moment the waiter holds it, the wait lock
 * locked; both belong to a thread the child does not have. The child's
 * hs_pool_destroy() must still return (it destroys both), and the parent's
 * waiter must still be woken by a put.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "helpers.h"

struct waiter {
	struct hs_pool *pool;
	void *buf;
	int err;
};

static void *wait_one(void *arg)
{
	struct waiter *w = arg;

	w->buf = hs_get_wait(w->pool, 20000000000ULL);
	w->err = w->buf ? 0 : errno;
	return NULL;
}

/* Child: destroy must not hang on the inherited lock and condvar. */
static int child(struct hs_pool *pool)
{
	alarm(5);	/* a hang ends as SIGALRM, not a runner timeout */
	if (hs_get_wait(pool, 1000) != NULL || errno != ECHILD)
		return 10;
	if (hs_pool_destroy(pool, 0) != 0)
		return 11;
	return 0;
}

static void run_round(struct hs_pool *pool, void **bufs, size_t n)
{
	struct waiter w = { pool, NULL, 0 };
	pthread_t th;
	uint64_t t0;
	pid_t pid;
	int status;

	T_ASSERT(pthread_create(&th, NULL, wait_one, &w) == 0);
	/* until the waiter is counted, then long enough to be asleep */
	t0 = t_now_ns();
	while (!__atomic_load_n(&pool->__waiters, __ATOMIC_SEQ_CST))
		T_ASSERT(t_now_ns() - t0 < 5000000000ULL);
	t_sleep_ms(20);

	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0)
		_exit(child(pool));
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status))
		T_FAIL("child's hs_pool_destroy hung (signal %d)",
		       WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		T_FAIL("child failed: status 0x%x", status);

	/* the parent's waiter is still woken */
	T_ASSERT(hs_put(pool, bufs[n - 1]) == 0);
	T_ASSERT(pthread_join(th, NULL) == 0);
	T_ASSERT(w.buf == bufs[n - 1] && w.err == 0);
}

int main(void)
{
	struct hs_pool *pool = t_pool(2UL << 20, 65536);
	size_t n = hs_pool_nr_bufs(pool), i;
	void **bufs = calloc(n, sizeof(void *));
	int round;

	T_ASSERT(bufs && n > 1);
	for (i = 0; i < n; i++)
		T_ASSERT((bufs[i] = hs_get(pool)) != NULL);
	for (round = 0; round < 3; round++)
		run_round(pool, bufs, n);
	T_ASSERT(hs_put_bulk(pool, bufs, (unsigned int)n) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	free(bufs);
	return T_EXIT_PASS;
}
