// SPDX-License-Identifier: MIT
/*
 * t-refcount: a buffer goes back to the pool on its last put; views frame
 * packets without copying and each clone holds its own reference.
 */
#include "helpers.h"

int main(void)
{
	struct hs_pool *pool = t_pool_flags(2UL << 20, 4000, 96, 0, "ref");
	struct hs_pool_stats st;
	struct hs_view v, hdr, body;
	char *b, *p;
	int i;

	b = hs_get(pool);
	T_ASSERT(b);
	for (i = 0; i < 3; i++)
		T_ASSERT(hs_ref(pool, b) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.outstanding == 1);
	for (i = 0; i < 3; i++)
		T_ASSERT(hs_put(pool, b) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.outstanding == 1);
	T_ASSERT(hs_put(pool, b) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.outstanding == 0);
	/* one put too many */
	T_ERR(EALREADY, hs_put(pool, b));
	/* ref of a free buffer */
	T_ERR(EALREADY, hs_ref(pool, b));

	/* views */
	b = hs_get(pool);
	T_ASSERT(b);
	memcpy(b, "HDR:payload", 11);
	T_ASSERT(hs_view_init(pool, &v, b, 0, 11) == 0);
	T_ASSERT(hs_view_data(&v) == b && hs_view_len(&v) == 11);
	/* outside the buffer */
	T_ERR(EINVAL, hs_view_init(pool, &hdr, b, 0, 4001));
	T_ERR(EINVAL, hs_view_init(pool, &hdr, b, -97, 1));
	T_ERR(EINVAL, hs_view_adj(&v, 12));
	T_ASSERT(hs_view_clone(pool, &hdr, &v, 0, 4) == 0);
	T_ASSERT(hs_view_clone(pool, &body, &v, 4, 7) == 0);
	/* clone past the end */
	T_ERR(EINVAL, hs_view_clone(pool, &hdr, &v, 8, 4));
	T_ASSERT(memcmp(hs_view_data(&body), "payload", 7) == 0);
	T_ASSERT(hs_view_adj(&body, 3) == 0);
	T_ASSERT(memcmp(hs_view_data(&body), "load", 4) == 0);
	/* prepend a header into the headroom */
	p = hs_view_prepend(pool, &v, 96);
	T_ASSERT(p == b - 96 && hs_view_len(&v) == 107);
	memset(p, 'H', 96);
	T_ERR(EINVAL, hs_view_prepend(pool, &v, 1));
	T_ASSERT(hs_view_release(pool, &v) == 0);
	T_ASSERT(v.buf == NULL);
	T_ASSERT(hs_view_release(pool, &hdr) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.outstanding == 1);
	T_ASSERT(hs_view_release(pool, &body) == 0);
	T_ASSERT(hs_pool_stats(pool, &st) == 0 && st.outstanding == 0);
	T_ASSERT(st.err_double_put == 2);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
