// SPDX-License-Identifier: MIT
/*
 * t-badput: double put, foreign pointers and puts into the wrong pool are
 * refused with the right errno, counted, and leave both pools intact.
 */
#include "helpers.h"

int main(void)
{
	struct hs_pool *a = t_pool_flags(2UL << 20, 2048, 0, 0, "a");
	struct hs_pool *b = t_pool_flags(2UL << 20, 2048, 0, 0, "b");
	struct hs_pool_stats st;
	char *x, *y, *m, onstack[64];
	void *pair[3];

	x = hs_get(a);
	y = hs_get(b);
	T_ASSERT(x && y);

	/* wrong pool */
	T_ERR(EXDEV, hs_put(b, x));
	T_ERR(EXDEV, hs_ref(b, x));
	/* not a buffer: stack, heap, NULL, inside a buffer, between buffers */
	m = malloc(4096);
	T_ASSERT(m);
	T_ERR(EINVAL, hs_put(a, onstack));
	T_ERR(EINVAL, hs_put(a, m));
	T_ERR(EINVAL, hs_put(a, NULL));
	T_ERR(EINVAL, hs_put(a, x + 1));
	T_ERR(EINVAL, hs_put(a, x + 2048));
	T_ERR(EINVAL, hs_ref(a, x + 64));
	free(m);

	/* the refused puts changed nothing */
	T_ASSERT(hs_pool_check(a) == 1 && hs_pool_check(b) == 1);
	T_ASSERT(hs_put(a, x) == 0);
	/* double put */
	T_ERR(EALREADY, hs_put(a, x));
	T_ERR(EALREADY, hs_put(a, x));
	T_ASSERT(hs_pool_check(a) == 0);

	/* bulk: the good ones go back, the first error is reported */
	x = hs_get(a);
	T_ASSERT(x);
	pair[0] = x;
	pair[1] = y;		/* belongs to b */
	pair[2] = x;		/* second put of x */
	T_ERR(EXDEV, hs_put_bulk(a, pair, 3));
	T_ASSERT(hs_pool_check(a) == 0 && hs_pool_check(b) == 1);

	T_ASSERT(hs_pool_stats(a, &st) == 0);
	T_ASSERT(st.err_wrong_pool == 1);	/* y in the bulk */
	T_ASSERT(st.err_foreign == 6);
	T_ASSERT(st.err_double_put == 3);
	T_ASSERT(st.outstanding == 0 && st.gets == st.puts);
	T_ASSERT(hs_pool_stats(b, &st) == 0);
	T_ASSERT(st.err_wrong_pool == 2 && st.err_foreign == 0);

	/* after all that both pools still hand out every buffer once */
	T_ASSERT(hs_put(b, y) == 0);
	T_ASSERT(hs_pool_destroy(a, 0) == 0);
	/* a destroyed pool's buffers are now foreign to b */
	T_ERR(EINVAL, hs_put(b, x));
	T_ASSERT(hs_pool_destroy(b, 0) == 0);
	return T_EXIT_PASS;
}
