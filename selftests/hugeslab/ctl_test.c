// SPDX-License-Identifier: GPL-2.0
/*
 * hugeslabctl against what the test created: status, pools (table and
 * JSON), set-cap, watch, the exit codes, and what an unprivileged user is
 * refused.  The tool sits next to the test binary in the VM payload.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>

#include "hugeslab_util.h"
#include "kselftest_harness.h"

#define CTL		"./hugeslabctl"
#define DROPCAPS	"./dropcaps"

/* Run a shell command; its stdout in @out, its exit status returned. */
static int run(char *out, size_t len, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	size_t n = 0;
	FILE *f;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (out) {
		n = fread(out, 1, len - 1, f);
		out[n] = 0;
	} else {
		char buf[4096];

		while (fread(buf, 1, sizeof(buf), f) > 0)
			;
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number after "\"@key\":" in a JSON object, or -1. */
static long long json_num(const char *s, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(s, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* The JSON object of the pool named @name in a `pools --json` answer. */
static char *json_pool(char *s, const char *name)
{
	char pat[64], *p, *end;

	snprintf(pat, sizeof(pat), "\"name\":\"%s\"", name);
	p = strstr(s, pat);
	if (!p)
		return NULL;
	while (p > s && *p != '{')
		p--;
	end = strstr(p, "}}");
	if (end)
		end[2] = 0;
	return p;
}

FIXTURE(ctl) {
	int cap_mb;
	char out[16384];
};

FIXTURE_SETUP(ctl)
{
	if (access(HUGESLAB_DEVICE_PATH, F_OK))
		SKIP(return, "no " HUGESLAB_DEVICE_PATH);
	if (access(CTL, X_OK))
		SKIP(return, "no " CTL " in the payload");
	self->cap_mb = read_cap_mb();
	ASSERT_LT(0, self->cap_mb);
}

FIXTURE_TEARDOWN(ctl)
{
	EXPECT_EQ(0, write_cap_mb(self->cap_mb));
	EXPECT_EQ(0, hs_wait_pinned(0, 2000));
}

TEST_F(ctl, status)
{
	struct hugeslab_stats st;
	int fd = hs_pool(4 * SZ_2M);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hs_stats(&st));
	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " status --json"));
	EXPECT_EQ(4 * SZ_2M, json_num(self->out, "pinned_bytes"));
	EXPECT_EQ((long long)st.max_pinned_bytes, json_num(self->out, "cap_bytes"));
	EXPECT_EQ(1, json_num(self->out, "pools"));
	EXPECT_EQ((long long)st.nr_created, json_num(self->out, "created"));
	EXPECT_NE(NULL, strstr(self->out, "\"version\":\"0.2.0\""));

	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " status"));
	TH_LOG("\n%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "module version   0.2.0\n"));
	EXPECT_NE(NULL, strstr(self->out, "pinned           8 MiB of "));
	EXPECT_NE(NULL, strstr(self->out, "pools            1 live"));
	close(fd);
}

TEST_F(ctl, pools)
{
	int fd = hs_open(), fd2 = hs_pool(SZ_2M);
	char *obj, *hdr, *row, *p;
	void *m;

	ASSERT_EQ(0, create_named(fd, 3 * SZ_2M, "ctl-pool"));
	m = hs_map(fd, 3 * SZ_2M, 0);
	ASSERT_NE(MAP_FAILED, m);

	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " pools --json"));
	EXPECT_EQ('[', self->out[0]);
	obj = json_pool(self->out, "ctl-pool");
	ASSERT_NE(NULL, obj);
	EXPECT_EQ(getpid(), json_num(obj, "owner_pid"));
	EXPECT_EQ(0, json_num(obj, "owner_uid"));
	EXPECT_EQ(3 * SZ_2M, json_num(obj, "size"));
	EXPECT_EQ(SZ_2M, json_num(obj, "slab_size"));
	EXPECT_EQ(1, json_num(obj, "files"));
	EXPECT_EQ(1, json_num(obj, "mappings"));
	EXPECT_EQ(0, json_num(obj, "dmabufs"));
	EXPECT_NE(NULL, strstr(obj, "\"slabs_per_node\":{\"0\":3}"));

	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " pools"));
	TH_LOG("\n%s", self->out);
	hdr = self->out;
	EXPECT_EQ(0, strncmp(hdr, "ID", 2) && strncmp(hdr, " ", 1));
	row = strstr(hdr, "ctl-pool");
	ASSERT_NE(NULL, row);
	while (row > hdr && row[-1] != '\n')
		row--;
	/* Aligned: the SIZE column ends at the same place in both lines. */
	p = strstr(hdr, "SIZE");
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, strncmp(row + (p - hdr) + 4 - 5, "6 MiB", 5));
	EXPECT_NE(NULL, strstr(row, " 0:3 "));
	/* The unnamed pool shows as "-". */
	EXPECT_EQ(3, run(NULL, 0, "test $(" CTL " pools | wc -l) -eq 3 && exit 3"));
	munmap(m, 3 * SZ_2M);
	close(fd);
	close(fd2);
}

TEST_F(ctl, set_cap)
{
	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " set-cap 777M"));
	EXPECT_STREQ("cap set to 777 MiB\n", self->out);
	EXPECT_EQ(777, read_cap_mb());
	ASSERT_EQ(0, run(NULL, 0, CTL " set-cap 1G"));
	EXPECT_EQ(1024, read_cap_mb());
	ASSERT_EQ(0, run(NULL, 0, CTL " set-cap 2097152"));
	EXPECT_EQ(2, read_cap_mb());
	/* Usage errors: not whole MiB, not a size, missing argument. */
	EXPECT_EQ(2, run(NULL, 0, CTL " set-cap 1.5G 2>/dev/null"));
	EXPECT_EQ(2, run(NULL, 0, CTL " set-cap 1000K 2>/dev/null"));
	EXPECT_EQ(2, run(NULL, 0, CTL " set-cap lots 2>/dev/null"));
	EXPECT_EQ(2, run(NULL, 0, CTL " set-cap 2>/dev/null"));
	EXPECT_EQ(2, read_cap_mb());
	/* The kernel's own refusal: too large for max_pinned_mb. */
	EXPECT_EQ(1, run(self->out, sizeof(self->out),
			 CTL " set-cap 4096T 2>&1"));
	EXPECT_NE(NULL, strstr(self->out, "cap too large"));
}

TEST_F(ctl, unprivileged)
{
	int fd = hs_open();

	ASSERT_EQ(0, create_named(fd, SZ_2M, "roots-ctl"));
	/* Reading the global state is fine. */
	ASSERT_EQ(0, run(self->out, sizeof(self->out),
			 DROPCAPS " " CTL " status --json"));
	EXPECT_EQ(1, json_num(self->out, "pools"));
	/* Root's pool is not listed. */
	ASSERT_EQ(0, run(self->out, sizeof(self->out),
			 DROPCAPS " " CTL " pools --json"));
	EXPECT_STREQ("[]\n", self->out);
	/* Refused: set-cap and watch, with exit code 4 and a message. */
	EXPECT_EQ(4, run(self->out, sizeof(self->out),
			 DROPCAPS " " CTL " set-cap 64M 2>&1"));
	EXPECT_NE(NULL, strstr(self->out, "CAP_SYS_ADMIN"));
	EXPECT_EQ(4, run(self->out, sizeof(self->out),
			 DROPCAPS " " CTL " watch 2>&1"));
	EXPECT_NE(NULL, strstr(self->out, "CAP_NET_ADMIN"));
	/* Root without capabilities is refused too. */
	EXPECT_EQ(4, run(NULL, 0, DROPCAPS " -r " CTL " set-cap 64M 2>/dev/null"));
	EXPECT_EQ(self->cap_mb, read_cap_mb());
	close(fd);
}

TEST_F(ctl, watch)
{
	char line[512];
	FILE *f;
	int fd, st;

	f = popen(CTL " watch --count 4", "r");
	ASSERT_NE(NULL, f);
	/* The first line says it listens: events from now on are seen. */
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_STREQ("watching hugeslab events\n", line);

	fd = hs_open();
	ASSERT_EQ(0, create_named(fd, 2 * SZ_2M, "ctl-watch"));
	close(fd);
	fd = hs_open();
	ASSERT_EQ(0, hs_wait_pinned(0, 2000));
	ASSERT_EQ(0, run(NULL, 0, CTL " set-cap 100M"));
	EXPECT_EQ(-ENOMEM, hs_create(fd, 64 * SZ_2M));
	close(fd);

	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "pool-created"));
	EXPECT_NE(NULL, strstr(line, "name ctl-watch size 4 MiB"));
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "pool-destroyed"));
	EXPECT_NE(NULL, strstr(line, "name ctl-watch"));
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "cap-changed"));
	EXPECT_NE(NULL, strstr(line, "-> 100 MiB"));
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	TH_LOG("%s", line);
	EXPECT_NE(NULL, strstr(line, "alloc-failed    reason cap size 128 MiB"));
	st = pclose(f);
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
}

TEST_F(ctl, watch_json)
{
	char line[512];
	FILE *f;
	int fd;

	/* JSON prints no banner: give the tool time to join. */
	f = popen(CTL " watch --json -n 1", "r");
	ASSERT_NE(NULL, f);
	usleep(500 * 1000);
	fd = hs_open();
	ASSERT_EQ(0, create_named(fd, SZ_2M, "ctl-json"));
	ASSERT_NE(NULL, fgets(line, sizeof(line), f));
	EXPECT_EQ(0, strncmp(line, "{\"event\":\"pool-created\",", 24));
	EXPECT_NE(NULL, strstr(line, "\"name\":\"ctl-json\""));
	EXPECT_EQ(SZ_2M, json_num(line, "size"));
	EXPECT_EQ(getpid(), json_num(line, "owner_pid"));
	EXPECT_EQ(0, WEXITSTATUS(pclose(f)));
	close(fd);
}

/*
 * top reads a libhugeslab process's statistics region: top-demo holds 4
 * "rx" and 3 "disk" buffers.
 */
TEST_F(ctl, top)
{
	int in[2], out[2], pid_demo;
	char ready[64] = "";
	ssize_t n;
	pid_t pid;
	char *t;

	if (access("./top-demo", X_OK))
		SKIP(return, "no ./top-demo (libhugeslab not built)");
	ASSERT_EQ(0, pipe(in));
	ASSERT_EQ(0, pipe(out));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("./top-demo", "top-demo", NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	n = read(out[0], ready, sizeof(ready) - 1);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, strncmp(ready, "ready ", 6));
	pid_demo = atoi(ready + 6);
	EXPECT_EQ(pid, pid_demo);

	ASSERT_EQ(0, run(self->out, sizeof(self->out),
			 CTL " top topdemo --once --json"));
	EXPECT_EQ(pid, json_num(self->out, "pid"));
	EXPECT_NE(NULL, strstr(self->out, "\"state\":\"live\""));
	EXPECT_NE(NULL, strstr(self->out, "\"name\":\"topdemo\""));
	EXPECT_EQ(7, json_num(self->out, "in_use"));
	EXPECT_EQ(8, json_num(self->out, "gets"));
	EXPECT_EQ(1, json_num(self->out, "puts"));
	t = strstr(self->out, "\"name\":\"rx\"");
	ASSERT_NE(NULL, t);
	EXPECT_EQ(4, json_num(t, "in_use"));
	t = strstr(self->out, "\"name\":\"disk\"");
	ASSERT_NE(NULL, t);
	EXPECT_EQ(3, json_num(t, "in_use"));
	/* Seven buffers younger than 10 s in the age histogram. */
	EXPECT_NE(NULL, strstr(self->out, "\"age_hist\":["));

	/* By pid, as a table. */
	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " top %d --once", pid));
	TH_LOG("\n%s", self->out);
	EXPECT_NE(NULL, strstr(self->out, "buffers   7 in use of "));
	EXPECT_NE(NULL, strstr(self->out, "rx     "));
	EXPECT_NE(NULL, strstr(self->out, "tags holding buffers: rx(4) disk(3)"));

	close(in[1]);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	close(out[0]);
	/* It exited without hs_pool_destroy(): the file stays, and says so. */
	ASSERT_EQ(0, run(self->out, sizeof(self->out), CTL " top topdemo --once"));
	EXPECT_NE(NULL, strstr(self->out, "(owner exited)"));
	snprintf(ready, sizeof(ready), "/dev/shm/hugeslab.%d.topdemo", pid);
	EXPECT_EQ(0, unlink(ready));
	EXPECT_EQ(5, run(NULL, 0, CTL " top topdemo --once 2>/dev/null"));
}

TEST_F(ctl, usage)
{
	EXPECT_EQ(0, run(self->out, sizeof(self->out), CTL " --help"));
	EXPECT_EQ(0, strncmp(self->out, "Usage: hugeslabctl", 18));
	EXPECT_EQ(2, run(NULL, 0, CTL " 2>/dev/null"));
	EXPECT_EQ(2, run(NULL, 0, CTL " frobnicate 2>/dev/null"));
	EXPECT_EQ(2, run(NULL, 0, CTL " pools extra 2>/dev/null"));
	EXPECT_EQ(2, run(NULL, 0, CTL " watch --count 0 2>/dev/null"));
	EXPECT_EQ(5, run(NULL, 0, CTL " top no-such-pool 2>/dev/null"));
}

TEST_HARNESS_MAIN
