// SPDX-License-Identifier: MIT
/*
 * t-attach-owner: pool names are first come, first served, so attaching by
 * name checks who created the pool, by default. Two users: uid 65534
 * squats a name (created with the raw ioctl, as any group member could),
 * and root, the service, attaches it: refused by default although root may
 * attach any user's pool, accepted when the squatter's uid is named with
 * HS_ATTACH_OWNER or when HS_ATTACH_ANY_OWNER opts out. Needs the module
 * and root (the VM); skips elsewhere.
 */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <linux/hugeslab.h>

#include "helpers.h"

#define SQUATTER	65534
#define BUF_SIZE	4096

static struct hs_pool *attach(const char *name, int fd, uint32_t flags,
			      uint32_t owner)
{
	struct hs_attach_config ac;

	hs_attach_config_init(&ac);
	ac.name = name;
	ac.fd = fd;
	ac.buf_size = BUF_SIZE;
	ac.flags = flags;
	ac.owner_uid = owner;
	return hs_pool_attach(&ac);
}

/* In a child: become the squatter and create @name on @fd, then wait. */
static pid_t squat(int fd, const char *name)
{
	struct hugeslab_create_named a;
	int ready[2];
	pid_t pid;
	char c;

	T_ASSERT(pipe(ready) == 0);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (!pid) {
		memset(&a, 0, sizeof(a));
		a.create.size = HS_SLAB_SIZE;
		a.create.numa_node = -1;
		a.create.flags = HUGESLAB_CREATE_NAMED;
		snprintf(a.name, sizeof(a.name), "%s", name);
		if (setgroups(0, NULL) || setresgid(SQUATTER, SQUATTER, SQUATTER) ||
		    setresuid(SQUATTER, SQUATTER, SQUATTER))
			_exit(2);
		if (ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &a))
			_exit(3);
		if (write(ready[1], "x", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(fd);
	if (read(ready[0], &c, 1) != 1)
		T_FAIL("the squatter could not create %s", name);
	close(ready[0]);
	close(ready[1]);
	return pid;
}

int main(void)
{
	char name[HS_NAME_MAX], own[HS_NAME_MAX];
	struct hs_pool *pool, *peer;
	int fd, st;
	pid_t pid;

	if (!t_have_device())
		T_SKIP("no /dev/hugeslab: the owner is a module property");
	if (getuid() != 0)
		T_SKIP("needs root to play two users");

	snprintf(name, sizeof(name), "t-owner.%d", (int)getpid());
	fd = open("/dev/hugeslab", O_RDWR | O_CLOEXEC);
	T_ASSERT(fd >= 0);
	pid = squat(fd, name);

	/* The default expects our own pool: the squatter's is refused. */
	T_ERR(EPERM, attach(name, -1, 0, 0));
	T_ERR(EPERM, attach(name, -1, HS_ATTACH_RDONLY, 0));
	/* Expecting uid 0 explicitly is the same. */
	T_ERR(EPERM, attach(name, -1, HS_ATTACH_OWNER, 0));
	/* Naming the creator, or opting out, attaches. */
	peer = attach(name, -1, HS_ATTACH_OWNER, SQUATTER);
	T_ASSERT(peer != NULL);
	T_ASSERT(hs_pool_is_peer(peer) == 1);
	T_ASSERT(hs_pool_destroy(peer, 0) == 0);
	peer = attach(name, -1, HS_ATTACH_ANY_OWNER | HS_ATTACH_RDONLY, 0);
	T_ASSERT(peer != NULL);
	T_ASSERT(hs_pool_destroy(peer, 0) == 0);

	/* Contradictions and misplaced owners. */
	T_ERR(EINVAL, attach(name, -1, HS_ATTACH_OWNER | HS_ATTACH_ANY_OWNER,
			     SQUATTER));
	T_ERR(EINVAL, attach(name, -1, 0, SQUATTER));	/* owner, no flag */

	kill(pid, SIGKILL);
	T_ASSERT(waitpid(pid, &st, 0) == pid);

	/* Our own pool passes the default check; an fd attach checks none. */
	snprintf(own, sizeof(own), "t-owner-own.%d", (int)getpid());
	pool = t_pool_flags(HS_SLAB_SIZE, BUF_SIZE, 0, HS_POOL_NAMED, own);
	peer = attach(own, -1, 0, 0);
	T_ASSERT(peer != NULL);
	T_ASSERT(hs_pool_destroy(peer, 0) == 0);
	T_ERR(EINVAL, attach(NULL, hs_pool_fd(pool), HS_ATTACH_OWNER, 0));
	peer = attach(NULL, hs_pool_fd(pool), 0, 0);
	T_ASSERT(peer != NULL);
	T_ASSERT(hs_pool_destroy(peer, 0) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
