// SPDX-License-Identifier: MIT
/*
 * t-fork: after fork(2) the child shares the buffer memory but cannot
 * allocate from the parent's pool (ECHILD); its destroy only drops its own
 * mappings; the parent's pool and statistics file are unaffected.
 */
#include <sys/wait.h>

#include "helpers.h"

static int child(struct hs_pool *pool, char *buf)
{
	int x = 0;

	if (strcmp(buf, "from parent"))
		return 10;
	strcpy(buf, "from child");
	errno = 0;
	if (hs_get(pool) != NULL || errno != ECHILD)
		return 11;
	if (hs_put(pool, buf) != -1 || errno != ECHILD)
		return 12;
	if (hs_ref(pool, buf) != -1 || errno != ECHILD)
		return 13;
	if (hs_get_wait(pool, 1000) != NULL || errno != ECHILD)
		return 14;
	if (hs_put(pool, &x) != -1 || errno != ECHILD)
		return 15;
	if (hs_pool_destroy(pool, 0) != 0)
		return 16;
	return 0;
}

int main(void)
{
	struct hs_pool *pool = t_pool(2UL << 20, 2048);
	char path[128];
	char *buf;
	void *other;
	pid_t pid;
	int status;

	buf = hs_get(pool);
	other = hs_get(pool);
	T_ASSERT(buf && other);
	T_ASSERT(hs_put(pool, other) == 0);	/* leaves it in our cache */
	strcpy(buf, "from parent");
	snprintf(path, sizeof(path), "%s", hs_pool_stats_path(pool));

	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0)
		_exit(child(pool, buf));
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		T_FAIL("child failed: status 0x%x", status);

	/* MAP_SHARED: the child's write is visible */
	T_ASSERT(strcmp(buf, "from child") == 0);
	/* the parent's pool is unharmed */
	T_ASSERT(access(path, F_OK) == 0 || strncmp(path, "/proc/", 6) == 0);
	T_ASSERT(hs_get(pool) == other);
	T_ASSERT(hs_put(pool, other) == 0);
	T_ASSERT(hs_put(pool, buf) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
