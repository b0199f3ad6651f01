// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "hugeslab": every command against what the
 * ioctls and /sys say, every event, the permission rules for an
 * unprivileged user, and malformed requests.
 */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "hs_nl.h"
#include "privdrop.h"
#include "kselftest_harness.h"

#define THP_SHMEM	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

FIXTURE(nl) {
	struct hsnl nl;
	int cap_mb;
};

FIXTURE_SETUP(nl)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	ASSERT_EQ(0, hsnl_open(&self->nl));
	ASSERT_NE(0, self->nl.mcgrp);
	self->cap_mb = read_cap_mb();
	ASSERT_LT(0, self->cap_mb);
}

FIXTURE_TEARDOWN(nl)
{
	EXPECT_EQ(0, write_cap_mb(self->cap_mb));
	hsnl_close(&self->nl);
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

/* GET_GLOBAL says what HUGESLAB_IOC_STATS says. */
TEST_F(nl, get_global)
{
	struct hsnl_global g;
	struct hugeslab_stats st;
	int fd = hs_pool(4 * SZ_2M);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hsnl_get_global(&self->nl, &g));
	ASSERT_EQ(0, hs_stats(&st));
	EXPECT_STREQ("0.2.0", g.version);
	EXPECT_EQ(st.pinned_bytes, g.pinned);
	EXPECT_EQ(4 * SZ_2M, g.pinned);
	EXPECT_EQ(st.max_pinned_bytes, g.cap);
	EXPECT_EQ((uint64_t)self->cap_mb << 20, g.cap);
	EXPECT_EQ(1, g.nr_pools);
	EXPECT_EQ(st.nr_created, g.nr_created);
	EXPECT_EQ(st.alloc_failures, g.alloc_failures);
	EXPECT_EQ(st.limit_failures, g.limit_failures);
	close(fd);
}

/* A dump and GET_POOL describe the pool as it was created and is used. */
TEST_F(nl, dump_and_get_pool)
{
	uint64_t t0 = now_ns(), t1;
	struct hsnl_pools ps;
	struct hsnl_pool *p, one;
	int fd = hs_open(), fd2 = hs_open(), other;
	struct hugeslab_attach at = { .name = "nl-dump" };
	void *m1, *m2;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, create_named(fd, 6 * SZ_2M, "nl-dump"));
	t1 = now_ns();
	other = hs_pool(SZ_2M);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, ioctl(fd2, HUGESLAB_IOC_ATTACH, &at));
	m1 = hs_map(fd, 2 * SZ_2M, 0);
	m2 = hs_map(fd2, 2 * SZ_2M, 4 * SZ_2M);
	ASSERT_NE(MAP_FAILED, m1);
	ASSERT_NE(MAP_FAILED, m2);

	ASSERT_EQ(0, hsnl_dump_pools(&self->nl, &ps));
	EXPECT_EQ(2, ps.n);
	p = hsnl_find_name(&ps, "nl-dump");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(getpid(), p->pid);
	EXPECT_EQ(0, p->uid);
	EXPECT_EQ(6 * SZ_2M, p->size);
	EXPECT_EQ(SZ_2M, p->slab_size);
	EXPECT_EQ(-1, p->numa_node);
	EXPECT_EQ(2, p->files);
	EXPECT_EQ(2, p->mappings);
	EXPECT_EQ(0, p->dmabufs);
	EXPECT_EQ(6, p->node_slabs);
	EXPECT_EQ(1, p->nr_nodes);
	EXPECT_LE(t0, p->ctime_ns);
	EXPECT_GE(t1, p->ctime_ns);
	/* The unnamed pool has no NAME attribute and a newer id. */
	EXPECT_EQ(p->id + 1, ps.p[1].id);
	EXPECT_STREQ("", ps.p[1].name);

	ASSERT_EQ(0, hsnl_get_pool(&self->nl, p->id, &one));
	EXPECT_EQ(0, memcmp(p, &one, sizeof(one)));

	munmap(m1, 2 * SZ_2M);
	munmap(m2, 2 * SZ_2M);
	close(fd2);
	ASSERT_EQ(0, hsnl_get_pool(&self->nl, p->id, &one));
	EXPECT_EQ(1, one.files);
	EXPECT_EQ(0, one.mappings);
	close(fd);
	close(other);
	EXPECT_EQ(-ENOENT, hsnl_get_pool(&self->nl, p->id, &one));
	EXPECT_STREQ("no such pool", self->nl.extack);
}

/*
 * A dump of many pools spans several skbs and misses none: reading with
 * a 4 KiB buffer makes the kernel fill dump skbs of about 4 KiB, and 40
 * pools take about 7 KiB.
 */
TEST_F(nl, dump_many)
{
	struct hsnl_pools ps;
	struct hsnl small = { .recv_size = 4096 };
	int fds[40], i;

	for (i = 0; i < 40; i++) {
		fds[i] = hs_pool(SZ_2M);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, hsnl_open(&small));
	ASSERT_EQ(0, hsnl_dump_pools(&small, &ps));
	EXPECT_EQ(40, ps.n);
	for (i = 1; i < ps.n; i++)
		EXPECT_LT(ps.p[i - 1].id, ps.p[i].id);
	hsnl_close(&small);
	ASSERT_EQ(0, hsnl_dump_pools(&self->nl, &ps));
	EXPECT_EQ(40, ps.n);
	for (i = 1; i < ps.n; i++)
		EXPECT_LT(ps.p[i - 1].id, ps.p[i].id);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	ASSERT_EQ(0, hsnl_dump_pools(&self->nl, &ps));
	EXPECT_EQ(0, ps.n);
}

/* SET_CAP and the module parameter are the same value. */
TEST_F(nl, set_cap)
{
	struct hsnl_global g;
	int fd;

	ASSERT_EQ(0, hsnl_set_cap(&self->nl, 1234ULL << 20));
	EXPECT_EQ(1234, read_cap_mb());
	ASSERT_EQ(0, hsnl_get_global(&self->nl, &g));
	EXPECT_EQ(1234ULL << 20, g.cap);

	ASSERT_EQ(0, write_cap_mb(4));
	ASSERT_EQ(0, hsnl_get_global(&self->nl, &g));
	EXPECT_EQ(4ULL << 20, g.cap);
	/* And it is the cap that CREATE obeys. */
	EXPECT_EQ(-ENOMEM, hs_pool(4 * SZ_2M));
	fd = hs_pool(2 * SZ_2M);
	EXPECT_LE(0, fd);
	close(fd);
}

/* Every event, with what it says. */
TEST_F(nl, events)
{
	struct nlattr *tb[HUGESLAB_A_MAX + 1];
	struct hsnl_pool p;
	char buf[8192];
	struct hsnl ev;
	uint64_t id;
	pid_t pid;
	int fd, st;

	/*
	 * A socket of its own: a request's answer is read up to its ACK,
	 * and events arriving meanwhile would be dropped.
	 */
	ASSERT_EQ(0, hsnl_open(&ev));
	ASSERT_EQ(0, hsnl_join(&ev));

	/* Created and destroyed, with the pool's attributes. */
	fd = hs_open();
	ASSERT_EQ(0, create_named(fd, 2 * SZ_2M, "nl-ev"));
	ASSERT_EQ(HUGESLAB_CMD_POOL_CREATED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));
	hsnl_pool_from(&p, tb);
	EXPECT_STREQ("nl-ev", p.name);
	EXPECT_EQ(2 * SZ_2M, p.size);
	EXPECT_EQ(getpid(), p.pid);
	id = p.id;
	close(fd);
	ASSERT_EQ(HUGESLAB_CMD_POOL_DESTROYED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));
	hsnl_pool_from(&p, tb);
	EXPECT_EQ(id, p.id);
	EXPECT_STREQ("nl-ev", p.name);
	EXPECT_EQ(0, p.files);

	/* Cap changes, from the parameter and from netlink. */
	ASSERT_EQ(0, write_cap_mb(6));
	ASSERT_EQ(HUGESLAB_CMD_CAP_CHANGED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));
	EXPECT_EQ(6ULL << 20, hsnl_u64(tb[HUGESLAB_A_CAP_BYTES]));
	EXPECT_EQ((uint64_t)self->cap_mb << 20,
		  hsnl_u64(tb[HUGESLAB_A_OLD_CAP_BYTES]));
	ASSERT_EQ(0, hsnl_set_cap(&self->nl, 8ULL << 20));
	ASSERT_EQ(HUGESLAB_CMD_CAP_CHANGED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));
	EXPECT_EQ(8ULL << 20, hsnl_u64(tb[HUGESLAB_A_CAP_BYTES]));
	EXPECT_EQ(6ULL << 20, hsnl_u64(tb[HUGESLAB_A_OLD_CAP_BYTES]));

	/* Allocation failure over the cap. */
	fd = hs_open();
	EXPECT_EQ(-ENOMEM, create_named(fd, 6 * SZ_2M, "too-big"));
	ASSERT_EQ(HUGESLAB_CMD_ALLOC_FAILED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));
	EXPECT_EQ(HUGESLAB_FAIL_CAP, hsnl_u32(tb[HUGESLAB_A_FAIL_REASON]));
	EXPECT_EQ(6 * SZ_2M, hsnl_u64(tb[HUGESLAB_A_POOL_SIZE]));
	EXPECT_EQ(getpid(), hsnl_u32(tb[HUGESLAB_A_POOL_OWNER_PID]));
	ASSERT_NE(NULL, tb[HUGESLAB_A_POOL_NAME]);
	EXPECT_STREQ("too-big", hsnl_data(tb[HUGESLAB_A_POOL_NAME]));
	close(fd);
	ASSERT_EQ(0, write_cap_mb(self->cap_mb));
	ASSERT_EQ(HUGESLAB_CMD_CAP_CHANGED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));

	/* Over RLIMIT_MEMLOCK: root without CAP_IPC_LOCK, in a child. */
	fd = hs_open();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl = { SZ_2M, SZ_2M };

		if (setrlimit(RLIMIT_MEMLOCK, &rl) || drop_caps())
			_exit(2);
		_exit(hs_create(fd, 2 * SZ_2M) == -ENOMEM ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(HUGESLAB_CMD_ALLOC_FAILED,
		  hsnl_event(&ev, 0, tb, buf, sizeof(buf), 2000));
	EXPECT_EQ(HUGESLAB_FAIL_MEMLOCK, hsnl_u32(tb[HUGESLAB_A_FAIL_REASON]));
	EXPECT_EQ(pid, hsnl_u32(tb[HUGESLAB_A_POOL_OWNER_PID]));
	EXPECT_EQ(NULL, tb[HUGESLAB_A_POOL_NAME]);
	close(fd);
	hsnl_close(&ev);
}

/* No 2 MiB page to be had: shmem_enabled=deny makes shmem fall back. */
TEST_F(nl, event_alloc_failure_nomem)
{
	struct nlattr *tb[HUGESLAB_A_MAX + 1];
	struct hsnl_global g0, g1;
	char buf[8192], old[128], *sel, *end;
	struct hsnl evs;
	FILE *f;
	int ret;

	f = fopen(THP_SHMEM, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	/* "always within_size advise [never] deny force": keep the choice. */
	sel = strchr(old, '[');
	end = sel ? strchr(sel, ']') : NULL;
	ASSERT_NE(NULL, end);
	*end = 0;
	sel++;

	ASSERT_EQ(0, hsnl_open(&evs));
	ASSERT_EQ(0, hsnl_join(&evs));
	ASSERT_EQ(0, hsnl_get_global(&self->nl, &g0));
	ASSERT_EQ(0, write_file(THP_SHMEM, "deny"));
	ret = hs_pool(2 * SZ_2M);
	ASSERT_EQ(0, write_file(THP_SHMEM, sel));
	EXPECT_EQ(-ENOMEM, ret);
	ASSERT_EQ(HUGESLAB_CMD_ALLOC_FAILED,
		  hsnl_event(&evs, 0, tb, buf, sizeof(buf), 2000));
	EXPECT_EQ(HUGESLAB_FAIL_NOMEM, hsnl_u32(tb[HUGESLAB_A_FAIL_REASON]));
	EXPECT_EQ(2 * SZ_2M, hsnl_u64(tb[HUGESLAB_A_POOL_SIZE]));
	ASSERT_EQ(0, hsnl_get_global(&self->nl, &g1));
	EXPECT_EQ(g0.alloc_failures + 1, g1.alloc_failures);
	/* A pool that could not be filled was not created. */
	EXPECT_EQ(g0.nr_created, g1.nr_created);
	EXPECT_EQ(0, g1.nr_pools);
	/* The pool never went live: no created or destroyed event. */
	EXPECT_EQ(0, hsnl_event(&evs, 0, tb, buf, sizeof(buf), 200));
	hsnl_close(&evs);
}

/* Run @fn as uid 65534 without capabilities; its exit status, or -1. */
static int as_nobody(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (drop_to_nobody())
			_exit(100);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

struct nobody_arg {
	uint64_t root_pool;
	int fd;		/* opened by root: nobody cannot open the device */
	int pipe;	/* nobody's pool id goes here */
};

/*
 * What an unprivileged user is refused, and what it may do: each check
 * has its own exit code.
 */
static int nobody_checks(void *p)
{
	struct nobody_arg *a = p;
	struct hsnl_pools ps;
	struct hsnl_global g;
	struct hsnl_pool one;
	struct hsnl nl;

	if (hsnl_open(&nl))
		return 10;
	/* Anyone may read the global state. */
	if (hsnl_get_global(&nl, &g) || g.nr_pools != 1)
		return 11;
	/* Listening to events needs CAP_NET_ADMIN. */
	if (hsnl_join(&nl) != -EPERM)
		return 12;
	/* Setting the cap needs privileges. */
	if (hsnl_set_cap(&nl, 64ULL << 20) != -EPERM)
		return 13;
	/* Another user's pool is neither dumped nor found by id. */
	if (hsnl_dump_pools(&nl, &ps) || ps.n != 0)
		return 14;
	if (hsnl_get_pool(&nl, a->root_pool, &one) != -ENOENT)
		return 15;
	/* Its own pool is. */
	if (hs_create(a->fd, SZ_2M))
		return 16;
	if (hsnl_dump_pools(&nl, &ps) || ps.n != 1 || ps.p[0].uid != NOBODY_ID ||
	    ps.p[0].pid != (uint32_t)getpid())
		return 17;
	if (hsnl_get_pool(&nl, ps.p[0].id, &one) || one.id != ps.p[0].id)
		return 18;
	if (write(a->pipe, &one.id, sizeof(one.id)) != sizeof(one.id))
		return 19;
	hsnl_close(&nl);
	return 0;
}

TEST_F(nl, unprivileged)
{
	struct nobody_arg a;
	struct hsnl_pools ps;
	struct rlimit rl = { 4 * SZ_2M, 4 * SZ_2M }, old;
	uint64_t nobody_pool = 0;
	int root_fd = hs_pool(SZ_2M), pipefd[2];
	struct hsnl_pool *p;

	ASSERT_LE(0, root_fd);
	ASSERT_EQ(0, hsnl_dump_pools(&self->nl, &ps));
	ASSERT_EQ(1, ps.n);
	a.root_pool = ps.p[0].id;
	a.fd = hs_open();
	ASSERT_LE(0, a.fd);
	ASSERT_EQ(0, pipe(pipefd));
	a.pipe = pipefd[1];
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	EXPECT_EQ(0, as_nobody(nobody_checks, &a));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &old));
	ASSERT_EQ(sizeof(nobody_pool),
		  read(pipefd[0], &nobody_pool, sizeof(nobody_pool)));

	/* CAP_SYS_ADMIN sees every user's pools. */
	ASSERT_EQ(0, hsnl_dump_pools(&self->nl, &ps));
	EXPECT_EQ(2, ps.n);
	p = hsnl_find(&ps, nobody_pool);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(NOBODY_ID, p->uid);
	close(a.fd);
	close(root_fd);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* Root without CAP_SYS_ADMIN cannot set the cap either. */
static int no_sys_admin(void *unused)
{
	struct hsnl nl;

	if (drop_caps() || hsnl_open(&nl))
		return 10;
	return hsnl_set_cap(&nl, 64ULL << 20) == -EPERM ? 0 : 11;
}

TEST_F(nl, set_cap_needs_privilege)
{
	pid_t pid = fork();
	int st;

	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(no_sys_admin(NULL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(self->cap_mb, read_cap_mb());
}

/* Malformed requests: -EINVAL with an extack message, never a crash. */
TEST_F(nl, malformed)
{
	struct hsnl *nl = &self->nl;
	struct hsnl_msg m;
	uint32_t u32 = 1;
	uint64_t u64 = 1;

	/* GET_GLOBAL takes no attributes. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_GLOBAL, 0);
	hsnl_put_u64(&m, HUGESLAB_A_POOL_ID, 1);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_STREQ("Unsupported attribute", nl->extack);

	/* A u64 attribute given as a u32. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	hsnl_put(&m, HUGESLAB_A_POOL_ID, &u32, sizeof(u32));
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_STRNE("", nl->extack);

	/* GET_POOL without the id. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_EQ(HUGESLAB_A_POOL_ID, nl->miss_type);

	/* Pool ids start at 1. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	hsnl_put_u64(&m, HUGESLAB_A_POOL_ID, 0);
	EXPECT_EQ(-ENOENT, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_STREQ("no such pool", nl->extack);

	/* An attribute type past the last one. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	hsnl_put_u64(&m, HUGESLAB_A_MAX + 1, 1);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_STREQ("Unknown attribute type", nl->extack);

	/* An attribute whose length says less than its own header. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	hsnl_put_raw(&m, HUGESLAB_A_POOL_ID, &u64, sizeof(u64), 2);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));

	/* An attribute longer than the message. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_POOL, 0);
	hsnl_put_raw(&m, HUGESLAB_A_POOL_ID, &u64, sizeof(u64), 200);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));

	/* SET_CAP: missing, misshapen, not whole MiB, too large. */
	hsnl_req(nl, &m, HUGESLAB_CMD_SET_CAP, 0);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_EQ(HUGESLAB_A_CAP_BYTES, nl->miss_type);
	hsnl_req(nl, &m, HUGESLAB_CMD_SET_CAP, 0);
	hsnl_put(&m, HUGESLAB_A_CAP_BYTES, &u32, sizeof(u32));
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_EQ(-EINVAL, hsnl_set_cap(nl, (64ULL << 20) + 4096));
	EXPECT_STREQ("cap must be a multiple of 1 MiB", nl->extack);
	EXPECT_EQ(-EINVAL, hsnl_set_cap(nl, 1ULL << 60));
	EXPECT_STREQ("cap too large", nl->extack);
	/* An attribute of another command. */
	hsnl_req(nl, &m, HUGESLAB_CMD_SET_CAP, 0);
	hsnl_put_u64(&m, HUGESLAB_A_CAP_BYTES, 64ULL << 20);
	hsnl_put_u64(&m, HUGESLAB_A_POOL_ID, 1);
	EXPECT_EQ(-EINVAL, hsnl_transact(nl, &m, NULL, NULL));
	EXPECT_STREQ("Unsupported attribute", nl->extack);
	EXPECT_EQ(self->cap_mb, read_cap_mb());

	/* Unknown commands, and events sent as requests. */
	hsnl_req(nl, &m, 99, 0);
	EXPECT_EQ(-EOPNOTSUPP, hsnl_transact(nl, &m, NULL, NULL));
	hsnl_req(nl, &m, HUGESLAB_CMD_POOL_CREATED, 0);
	EXPECT_EQ(-EOPNOTSUPP, hsnl_transact(nl, &m, NULL, NULL));
	hsnl_req(nl, &m, HUGESLAB_CMD_UNSPEC, 0);
	EXPECT_EQ(-EOPNOTSUPP, hsnl_transact(nl, &m, NULL, NULL));

	/* The family still answers. */
	hsnl_req(nl, &m, HUGESLAB_CMD_GET_GLOBAL, 0);
	EXPECT_EQ(0, hsnl_transact(nl, &m, NULL, NULL));
}

TEST_HARNESS_MAIN
