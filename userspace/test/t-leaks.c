// SPDX-License-Identifier: MIT
/*
 * t-leaks: owner tags and timestamps. The leak report names the tag of the
 * buffers held too long, the statistics count buffers per tag and by age,
 * and destroy refuses a pool with buffers out unless forced.
 */
#include "helpers.h"

struct seen {
	int count;
	int wrong;
	void *want[4];
};

static int on_leak(const struct hs_leak *l, void *arg)
{
	struct seen *s = arg;
	int i, found = 0;

	for (i = 0; i < 4; i++)
		if (l->buf == s->want[i])
			found = 1;
	if (!found || l->tag != 3 || strcmp(l->tag_name, "replication") ||
	    l->refs != 1 || l->age_ns < 100000000ULL)
		s->wrong++;
	s->count++;
	return 0;
}

static int stop_at_first(const struct hs_leak *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
	return 1;
}

int main(void)
{
	struct hs_pool *pool = t_pool(4UL << 20, 8192);
	struct hs_pool_stats st;
	struct seen s = { 0 };
	void *young[5];
	int i, calls = 0;

	T_ASSERT(hs_tag_name(pool, 3, "replication") == 0);
	T_ASSERT(hs_tag_name(pool, 4, "net-rx") == 0);
	T_ASSERT(hs_thread_set_tag(3) == 0);
	for (i = 0; i < 4; i++)
		T_ASSERT((s.want[i] = hs_get(pool)) != NULL);
	T_ASSERT(hs_thread_set_tag(0) == 0);
	t_sleep_ms(150);
	for (i = 0; i < 5; i++)
		T_ASSERT((young[i] = hs_get_tagged(pool, 4)) != NULL);

	/* only the old ones, all named "replication" */
	T_ASSERT(hs_pool_leaks(pool, 100000000ULL, on_leak, &s) == 4);
	T_ASSERT(s.count == 4 && s.wrong == 0);
	/* everything, counting only */
	T_ASSERT(hs_pool_leaks(pool, 0, NULL, NULL) == 9);
	/* the callback can stop the walk */
	T_ASSERT(hs_pool_leaks(pool, 0, stop_at_first, &calls) == 1);
	T_ASSERT(calls == 1);

	T_ASSERT(hs_pool_stats(pool, &st) == 0);
	T_ASSERT(st.outstanding == 9);
	T_ASSERT(st.tag_outstanding[3] == 4 && st.tag_outstanding[4] == 5);
	T_ASSERT(st.tag_outstanding[0] == 0);
	/* 4 buffers between 100 ms and 1 s old, 5 younger than 100 ms */
	T_ASSERT(st.age_hist[3] == 4);
	T_ASSERT(st.age_hist[0] + st.age_hist[1] + st.age_hist[2] == 5);
	T_ASSERT(hs_pool_dump(pool, stderr) == 0);

	/* destroy with buffers out: refused, pool intact */
	T_ERR(EBUSY, hs_pool_destroy(pool, 0));
	T_ASSERT(hs_pool_check(pool) == 9);
	for (i = 0; i < 5; i++)
		T_ASSERT(hs_put(pool, young[i]) == 0);
	/* forced: reports the 4 still out */
	T_ASSERT(hs_pool_destroy(pool, HS_DESTROY_FORCE) == 4);
	return T_EXIT_PASS;
}
