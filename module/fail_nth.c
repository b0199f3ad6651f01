// SPDX-License-Identifier: GPL-2.0
/*
 * A test hook that fails the Nth allocation step from now, so the selftests
 * can walk every error path of CREATE and EXPORT_DMABUF on stock kernels,
 * which are built without CONFIG_FAULT_INJECTION.
 */

#include <linux/atomic.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "internal.h"

static atomic_t fail_nth = ATOMIC_INIT(0);

static int fail_nth_set(const char *val, const struct kernel_param *kp)
{
	int n, ret;

	ret = kstrtoint(val, 0, &n);
	if (ret)
		return ret;
	if (n < 0)
		return -EINVAL;
	atomic_set(&fail_nth, n);
	return 0;
}

static int fail_nth_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&fail_nth));
}

static const struct kernel_param_ops fail_nth_ops = {
	.set = fail_nth_set,
	.get = fail_nth_get,
};

module_param_cb(test_fail_nth, &fail_nth_ops, NULL, 0600);
MODULE_PARM_DESC(test_fail_nth,
		 "Testing only: fail the Nth allocation step from now with -ENOMEM (0: never); reads back the steps still to go");

/**
 * hugeslab_fail_nth() - count one allocation step against test_fail_nth
 *
 * Return: true when this step must fail: the counter went from 1 to 0.
 */
bool hugeslab_fail_nth(void)
{
	int old = atomic_read(&fail_nth);

	do {
		if (old <= 0)
			return false;
	} while (!atomic_try_cmpxchg(&fail_nth, &old, old - 1));
	return old == 1;
}
