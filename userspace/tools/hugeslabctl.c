// SPDX-License-Identifier: GPL-2.0
/*
 * hugeslabctl: look at and steer the hugeslab module from outside, over its
 * generic netlink family, and watch a libhugeslab pool's shared statistics.
 *
 *   hugeslabctl status [--json]
 *   hugeslabctl pools [--json]
 *   hugeslabctl watch [--json] [--count N]
 *   hugeslabctl set-cap SIZE
 *   hugeslabctl top PID|NAME|PATH [--once] [--interval SEC]
 *   hugeslabctl create NAME SIZE [--owner U] [--group G] [--mode M] [--node N]
 *   hugeslabctl destroy NAME [--force]
 *   hugeslabctl load FILE
 *
 * Exit codes: see usage() and hugeslabctl(8).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/hugeslab_netlink.h>

#include "ctl.h"
#include "hugeslab_stats.h"

static bool opt_json;

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  status             module-wide state: pinned memory, cap, pools, failures\n"
"  pools              the pools you may see (all of them with CAP_SYS_ADMIN)\n"
"  watch              print events as they happen (needs CAP_NET_ADMIN)\n"
"  set-cap SIZE       set the cap on pinned memory (CAP_NET_ADMIN and\n"
"                     CAP_SYS_ADMIN); SIZE is\n"
"                     bytes or a number with K, M, G or T (binary), whole MiB\n"
"  top PID|NAME|PATH  live view of a libhugeslab pool's statistics region:\n"
"                     buffers in use per owner tag, ages, errors\n"
"  create NAME SIZE   a persistent pool, node " HUGESLAB_POOL_DIR "/NAME;\n"
"                     SIZE a multiple of 2 MiB (K, M, G suffixes)\n"
"                     [--owner USER] [--group GROUP] [--mode MODE] [--node N]\n"
"  destroy NAME       end a persistent pool; refused while it is held,\n"
"                     unless --force (holders keep their memory until unmap)\n"
"  load FILE          create the pools of a pools.conf; existing ones of the\n"
"                     same size are left alone\n"
"\n"
"Options:\n"
"  -j, --json         machine-readable output (status, pools, watch, top)\n"
"  -n, --count N      watch: exit after N events\n"
"  -i, --interval S   top: refresh every S seconds (default 1)\n"
"  -1, --once         top: print once and exit\n"
"  -h, --help         this help\n"
"\n"
"Exit status: 0 success, 1 request failed, 2 usage error, 3 hugeslab module\n"
"not loaded, 4 permission denied, 5 top, destroy: pool not found, 6 destroy:\n"
"pool still held.\n",
		PROG);
}

/* "3d 4h", "5m 2s", "12s". */
static const char *fmt_age(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "s", s);
	return buf;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

/* ------------------------------------------------------------ status */

static int status_handler(struct nlattr **tb, uint8_t cmd, void *arg)
{
	char a[32], b[32];
	const char *ver = tb[HUGESLAB_A_VERSION] ?
		nla_get_string(tb[HUGESLAB_A_VERSION]) : "?";
	uint64_t pinned = get_u64(tb, HUGESLAB_A_PINNED_BYTES);
	uint64_t cap = get_u64(tb, HUGESLAB_A_CAP_BYTES);

	if (opt_json) {
		printf("{\"version\":");
		json_str(ver);
		printf(",\"pinned_bytes\":%" PRIu64 ",\"cap_bytes\":%" PRIu64
		       ",\"pools\":%" PRIu64 ",\"created\":%" PRIu64
		       ",\"alloc_failures\":%" PRIu64 ",\"limit_failures\":%" PRIu64
		       "}\n", pinned, cap, get_u64(tb, HUGESLAB_A_NR_POOLS),
		       get_u64(tb, HUGESLAB_A_NR_CREATED),
		       get_u64(tb, HUGESLAB_A_ALLOC_FAILURES),
		       get_u64(tb, HUGESLAB_A_LIMIT_FAILURES));
		return 0;
	}
	printf("module version   %s\n", ver);
	printf("pinned           %s of %s (%.1f%%)\n", fmt_size(pinned, a, sizeof(a)),
	       fmt_size(cap, b, sizeof(b)), cap ? 100.0 * pinned / cap : 0.0);
	printf("pools            %" PRIu64 " live, %" PRIu64 " created since load\n",
	       get_u64(tb, HUGESLAB_A_NR_POOLS), get_u64(tb, HUGESLAB_A_NR_CREATED));
	printf("failures         %" PRIu64 " no 2 MiB pages, %" PRIu64 " over a limit\n",
	       get_u64(tb, HUGESLAB_A_ALLOC_FAILURES),
	       get_u64(tb, HUGESLAB_A_LIMIT_FAILURES));
	return 0;
}

static int cmd_status(struct ctl *c)
{
	int ret = ctl_request(c, HUGESLAB_CMD_GET_GLOBAL, 0, NULL, NULL,
			      status_handler, NULL);

	return ret ? errno_exit(-ret) : EXIT_OK;
}

/* ------------------------------------------------------------ pools */

static void pool_json(const struct pool_row *r, const char *event)
{
	int i;

	printf("{");
	if (event) {
		printf("\"event\":");
		json_str(event);
		printf(",");
	}
	printf("\"id\":%" PRIu64 ",\"name\":", r->id);
	json_str(r->name);
	printf(",\"owner_pid\":%" PRIu32 ",\"owner_uid\":%" PRIu32
	       ",\"size\":%" PRIu64 ",\"slab_size\":%" PRIu64
	       ",\"numa_node\":%" PRId32 ",\"files\":%" PRIu32
	       ",\"mappings\":%" PRIu32 ",\"dmabufs\":%" PRIu32
	       ",\"ctime_ns\":%" PRIu64 ",\"persistent\":%s"
	       ",\"destroyed\":%s,\"nr_attachers\":%d,\"attachers\":[",
	       r->pid, r->uid, r->size, r->slab_size, r->numa_node, r->files,
	       r->mappings, r->dmabufs, r->ctime_ns,
	       r->flags & HUGESLAB_CREATE_PERSISTENT ? "true" : "false",
	       r->destroyed ? "true" : "false", r->nr_attachers);
	/* Objects close with "}]" here: "}}" still ends the pool's object. */
	for (i = 0; i < r->nr_attachers && i < POOL_ROW_ATTACHERS; i++)
		printf("%s{\"pid\":%" PRIu32 ",\"uid\":%" PRIu32 "}", i ? "," : "",
		       r->att_pid[i], r->att_uid[i]);
	printf("],\"slabs_per_node\":{");
	for (i = 0; i < r->nr_nodes && i < 8; i++)
		printf("%s\"%" PRIu64 "\":%" PRIu64, i ? "," : "", r->node_id[i],
		       r->node_slabs[i]);
	printf("}}");
}

static int cmd_pools(struct ctl *c)
{
	static const char *const hdr[] = {
		"ID", "NAME", "PID", "UID", "SIZE", "SLAB", "NODE:SLABS",
		"FILES", "MAPS", "DMABUFS", "AGE", "PERSISTENT", "ATTACHED",
	};
	/* New columns go last: scripts count the older ones from the left. */
	enum { NCOL = 13 };
	struct pool_list l = { 0 };
	int w[NCOL], i, j, ret;
	char (*cells)[NCOL][80];
	uint64_t now = now_ns();

	ret = pool_dump(c, &l);
	if (ret)
		return errno_exit(-ret);
	if (opt_json) {
		printf("[");
		for (i = 0; i < l.n; i++) {
			printf(i ? ",\n " : "");
			pool_json(&l.rows[i], NULL);
		}
		printf("]\n");
		free(l.rows);
		return EXIT_OK;
	}
	cells = calloc(l.n + 1, sizeof(*cells));
	if (!cells)
		return EXIT_ERR;
	for (j = 0; j < NCOL; j++)
		snprintf(cells[0][j], 80, "%s", hdr[j]);
	for (i = 0; i < l.n; i++) {
		struct pool_row *r = &l.rows[i];
		char (*row)[80] = cells[i + 1];

		snprintf(row[0], 80, "%" PRIu64, r->id);
		snprintf(row[1], 80, "%s", r->name[0] ? r->name : "-");
		snprintf(row[2], 80, "%" PRIu32, r->pid);
		snprintf(row[3], 80, "%" PRIu32, r->uid);
		fmt_size(r->size, row[4], 80);
		fmt_size(r->slab_size, row[5], 80);
		snprintf(row[6], 80, "%s", r->nodes[0] ? r->nodes : "-");
		snprintf(row[7], 80, "%" PRIu32, r->files);
		snprintf(row[8], 80, "%" PRIu32, r->mappings);
		snprintf(row[9], 80, "%" PRIu32, r->dmabufs);
		fmt_age(now > r->ctime_ns ? now - r->ctime_ns : 0, row[10], 80);
		snprintf(row[11], 80, "%s", fmt_persistent(r));
		fmt_attachers(r, row[12], 80);
	}
	for (j = 0; j < NCOL; j++) {
		w[j] = 0;
		for (i = 0; i <= l.n; i++)
			if ((int)strlen(cells[i][j]) > w[j])
				w[j] = strlen(cells[i][j]);
	}
	for (i = 0; i <= l.n; i++) {
		for (j = 0; j < NCOL; j++) {
			/* Names and node lists left, numbers right aligned. */
			bool left = j == 1 || j == 6 || j >= 11;

			/* No trailing blanks after the last column. */
			printf("%s%*s", j ? "  " : "",
			       j == NCOL - 1 ? 0 : left ? -w[j] : w[j], cells[i][j]);
		}
		printf("\n");
	}
	if (!l.n)
		printf("(no pools visible%s)\n",
		       geteuid() ? "; other users' pools need CAP_SYS_ADMIN" : "");
	free(cells);
	free(l.rows);
	return EXIT_OK;
}

/* ------------------------------------------------------------ set-cap */

static int put_cap(struct nl_msg *msg, void *arg)
{
	return nla_put_u64(msg, HUGESLAB_A_CAP_BYTES, *(uint64_t *)arg);
}

static int cmd_set_cap(struct ctl *c, uint64_t bytes)
{
	char buf[32];
	int ret;

	ret = ctl_request(c, HUGESLAB_CMD_SET_CAP, 0, put_cap, &bytes, NULL, NULL);
	if (ret == -EPERM)
		err_msg("setting the cap needs CAP_NET_ADMIN and CAP_SYS_ADMIN");
	if (ret)
		return errno_exit(-ret);
	if (!opt_json)
		printf("cap set to %s\n", fmt_size(bytes, buf, sizeof(buf)));
	return EXIT_OK;
}

/* ------------------------------------------------------------ watch */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct watch_ctx {
	long count;
	long seen;
};

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case HUGESLAB_CMD_POOL_CREATED:
		return "pool-created";
	case HUGESLAB_CMD_POOL_DESTROYED:
		return "pool-destroyed";
	case HUGESLAB_CMD_ALLOC_FAILED:
		return "alloc-failed";
	case HUGESLAB_CMD_CAP_CHANGED:
		return "cap-changed";
	}
	return NULL;
}

static const char *reason_name(uint32_t r)
{
	switch (r) {
	case HUGESLAB_FAIL_CAP:
		return "cap";
	case HUGESLAB_FAIL_MEMLOCK:
		return "memlock";
	case HUGESLAB_FAIL_NOMEM:
		return "nomem";
	}
	return "unknown";
}

static int watch_event(struct nl_msg *msg, void *arg)
{
	struct watch_ctx *w = arg;
	struct genlmsghdr *g = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[HUGESLAB_A_MAX + 1];
	const char *name = event_name(g->cmd);
	struct pool_row r;
	char ts[32], a[32], b[32];
	struct tm tm;
	time_t t = time(NULL);

	if (!name || genlmsg_parse(nlmsg_hdr(msg), 0, tb, HUGESLAB_A_MAX, NULL) < 0)
		return NL_SKIP;
	pool_from_attrs(&r, tb);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	switch (g->cmd) {
	case HUGESLAB_CMD_POOL_CREATED:
	case HUGESLAB_CMD_POOL_DESTROYED:
		if (opt_json) {
			pool_json(&r, name);
			printf("\n");
		} else {
			printf("%s  %-15s id %" PRIu64 " name %s size %s pid %" PRIu32
			       " uid %" PRIu32 "\n", ts, name, r.id,
			       r.name[0] ? r.name : "-", fmt_size(r.size, a, sizeof(a)),
			       r.pid, r.uid);
		}
		break;
	case HUGESLAB_CMD_ALLOC_FAILED: {
		const char *reason = reason_name(get_u32(tb, HUGESLAB_A_FAIL_REASON));

		if (opt_json) {
			printf("{\"event\":\"%s\",\"reason\":\"%s\",\"size\":%" PRIu64
			       ",\"owner_pid\":%" PRIu32 ",\"owner_uid\":%" PRIu32
			       ",\"name\":", name, reason, r.size, r.pid, r.uid);
			json_str(r.name);
			printf("}\n");
		} else {
			printf("%s  %-15s reason %s size %s pid %" PRIu32 " uid %" PRIu32
			       " name %s\n", ts, name, reason,
			       fmt_size(r.size, a, sizeof(a)), r.pid, r.uid,
			       r.name[0] ? r.name : "-");
		}
		break;
	}
	case HUGESLAB_CMD_CAP_CHANGED:
		if (opt_json)
			printf("{\"event\":\"%s\",\"cap_bytes\":%" PRIu64
			       ",\"old_cap_bytes\":%" PRIu64 "}\n", name,
			       get_u64(tb, HUGESLAB_A_CAP_BYTES),
			       get_u64(tb, HUGESLAB_A_OLD_CAP_BYTES));
		else
			printf("%s  %-15s %s -> %s\n", ts, name,
			       fmt_size(get_u64(tb, HUGESLAB_A_OLD_CAP_BYTES), a, sizeof(a)),
			       fmt_size(get_u64(tb, HUGESLAB_A_CAP_BYTES), b, sizeof(b)));
		break;
	}
	fflush(stdout);
	w->seen++;
	return w->count && w->seen >= w->count ? NL_STOP : NL_OK;
}

static int cmd_watch(struct ctl *c, long count)
{
	struct watch_ctx w = { .count = count };
	struct sigaction sa = { .sa_handler = on_signal };
	int grp, ret;

	grp = genl_ctrl_resolve_grp(c->sk, HUGESLAB_GENL_NAME,
				    HUGESLAB_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		err_msg("no events group in the hugeslab family");
		return EXIT_ERR;
	}
	nl_socket_disable_seq_check(c->sk);
	ret = nl_socket_add_membership(c->sk, grp);
	if (ret < 0) {
		if (ret == -NLE_PERM) {
			err_msg("listening to hugeslab events needs CAP_NET_ADMIN");
			return EXIT_PERM;
		}
		err_msg("cannot join the events group: %s", nl_geterror(ret));
		return EXIT_ERR;
	}
	nl_socket_modify_cb(c->sk, NL_CB_VALID, NL_CB_CUSTOM, watch_event, &w);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!opt_json) {
		printf("watching hugeslab events%s\n",
		       count ? "" : " (Ctrl-C to stop)");
		fflush(stdout);
	}
	/* Room for bursts: a full socket buffer drops events. */
	nl_socket_set_buffer_size(c->sk, 1 << 20, 0);
	while (!stop && !(w.count && w.seen >= w.count)) {
		ret = nl_recvmsgs_default(c->sk);
		if (ret == -NLE_NOMEM) {	/* ENOBUFS: the kernel dropped some */
			fprintf(stderr, "%s: events were lost (receive buffer overrun)\n",
				PROG);
			continue;
		}
		if (ret < 0 && ret != -NLE_INTR && !stop) {
			err_msg("receiving events: %s", nl_geterror(ret));
			return EXIT_ERR;
		}
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------ top */

static const char *const age_labels[HS_STATS_AGE_BUCKETS] = {
	"<1ms", "<10ms", "<100ms", "<1s", "<10s", "<100s", "<1000s", ">=1000s",
};

/* The stats file for PID, NAME or a path. */
static int find_region(const char *what, char *path, size_t len)
{
	char pat[256];
	glob_t g;
	const char *dir = getenv("HUGESLAB_STATS_DIR");
	bool numeric = what[strspn(what, "0123456789")] == 0;
	int ret;

	if (strchr(what, '/')) {
		snprintf(path, len, "%s", what);
		return 0;
	}
	if (!dir || !*dir)
		dir = "/dev/shm";
	if (numeric)
		snprintf(pat, sizeof(pat), "%s/hugeslab.%s.*", dir, what);
	else
		snprintf(pat, sizeof(pat), "%s/hugeslab.*.%s", dir, what);
	ret = glob(pat, 0, NULL, &g);
	if (ret || !g.gl_pathc) {
		globfree(&g);
		/* An anonymous region: /proc/PID/fd/N, found by its link name. */
		return -ENOENT;
	}
	if (g.gl_pathc > 1) {
		size_t i;

		fprintf(stderr, "%s: %zu pools match \"%s\", showing the first; pass a path:\n",
			PROG, g.gl_pathc, what);
		for (i = 0; i < g.gl_pathc; i++)
			fprintf(stderr, "  %s\n", g.gl_pathv[i]);
	}
	snprintf(path, len, "%s", g.gl_pathv[0]);
	globfree(&g);
	return 0;
}

static uint64_t rd(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* "live", "destroyed", or "owner exited" for a region nobody unlinked. */
static const char *region_state(const struct hs_stats_hdr *h)
{
	if (h->state != 1)
		return "destroyed";
	if (kill((pid_t)h->pid, 0) && errno == ESRCH)
		return "owner exited";
	return "live";
}

/*
 * Ages and tags of the buffers in use, live from the pool's metadata in the
 * region (hs_stats_meta_scan()): no help from the owner needed. Falls back
 * to the histogram the owner last published for a region without metadata
 * (an older library); returns whether the numbers are live.
 */
static bool top_ages(const struct hs_stats_hdr *h, uint64_t *ages,
		     uint64_t *tags)
{
	struct timespec ts;
	unsigned int i;

	if (hs_stats_has_meta(h) &&
	    !clock_gettime((clockid_t)h->meta_clock, &ts)) {
		hs_stats_meta_scan(h, (uint64_t)ts.tv_sec * 1000000000ULL +
				   (uint64_t)ts.tv_nsec, tags, ages);
		return true;
	}
	for (i = 0; i < HS_STATS_AGE_BUCKETS; i++)
		ages[i] = rd(&h->age_hist[i]);
	for (i = 0; i < HS_STATS_TAGS; i++)
		tags[i] = 0;
	return false;
}

static void top_print(const struct hs_stats_hdr *h, const char *path)
{
	uint64_t gets[HS_STATS_TAGS] = { 0 }, puts[HS_STATS_TAGS] = { 0 };
	uint64_t ages[HS_STATS_AGE_BUCKETS], held[HS_STATS_TAGS];
	uint64_t misses = 0, tot_gets = 0, tot_puts = 0, out;
	uint64_t now = now_ns();
	unsigned int i, t, oldest = HS_STATS_AGE_BUCKETS;
	bool live = top_ages(h, ages, held);
	char a[32], b[32];

	for (i = 0; i < h->nr_threads; i++) {
		const struct hs_stats_thread *ts = hs_stats_thread_slot(h, i);

		for (t = 0; t < HS_STATS_TAGS && t < h->nr_tags; t++) {
			gets[t] += rd(&ts->tag_gets[t]);
			puts[t] += rd(&ts->tag_puts[t]);
		}
		misses += rd(&ts->cache_misses);
	}
	for (t = 0; t < HS_STATS_TAGS; t++) {
		tot_gets += gets[t];
		tot_puts += puts[t];
	}
	out = tot_gets - tot_puts;
	for (i = 0; i < HS_STATS_AGE_BUCKETS; i++)
		if (ages[i])
			oldest = i;

	if (opt_json) {
		printf("{\"path\":");
		json_str(path);
		printf(",\"pid\":%" PRIu64 ",\"name\":", h->pid);
		json_str(h->name);
		printf(",\"state\":\"%s\",\"nr_bufs\":%" PRIu64 ",\"buf_size\":%" PRIu64
		       ",\"in_use\":%" PRIu64 ",\"gets\":%" PRIu64 ",\"puts\":%" PRIu64
		       ",\"cache_misses\":%" PRIu64 ",\"empty\":%" PRIu64
		       ",\"waits\":%" PRIu64 ",\"wait_timeouts\":%" PRIu64
		       ",\"err_double_put\":%" PRIu64 ",\"err_foreign\":%" PRIu64
		       ",\"err_wrong_pool\":%" PRIu64 ",\"err_poison\":%" PRIu64
		       ",\"age_hist_time_ns\":%" PRIu64 ",\"age_hist_live\":%s"
		       ",\"age_hist\":[",
		       region_state(h), h->nr_bufs, h->buf_size, out,
		       tot_gets, tot_puts, misses, rd(&h->empty_events), rd(&h->waits),
		       rd(&h->wait_timeouts), rd(&h->err_double_put),
		       rd(&h->err_foreign), rd(&h->err_wrong_pool),
		       rd(&h->err_poison), rd(&h->age_hist_time_ns),
		       live ? "true" : "false");
		for (i = 0; i < HS_STATS_AGE_BUCKETS; i++)
			printf("%s%" PRIu64, i ? "," : "", ages[i]);
		printf("],\"tags\":[");
		for (t = 0, i = 0; t < HS_STATS_TAGS; t++) {
			if (!gets[t] && !h->tag_names[t][0])
				continue;
			printf("%s{\"tag\":%u,\"name\":", i++ ? "," : "", t);
			json_str(h->tag_names[t]);
			printf(",\"in_use\":%" PRIu64 ",\"gets\":%" PRIu64
			       ",\"puts\":%" PRIu64 "}",
			       live ? held[t] : gets[t] - puts[t], gets[t], puts[t]);
		}
		printf("]}\n");
		return;
	}

	printf("pool \"%s\" of pid %" PRIu64 " (%s)  %s\n", h->name, h->pid,
	       region_state(h), path);
	printf("buffers   %" PRIu64 " in use of %" PRIu64 " (%.1f%%), %s each, %s mapped\n",
	       out, h->nr_bufs, h->nr_bufs ? 100.0 * out / h->nr_bufs : 0.0,
	       fmt_size(h->buf_size, a, sizeof(a)),
	       fmt_size(h->total_bytes, b, sizeof(b)));
	printf("traffic   %" PRIu64 " gets, %" PRIu64 " puts, cache hits %.1f%%\n",
	       tot_gets, tot_puts,
	       tot_gets ? 100.0 * (tot_gets - misses) / tot_gets : 0.0);
	printf("pressure  %" PRIu64 " empty, %" PRIu64 " waits, %" PRIu64 " timeouts\n",
	       rd(&h->empty_events), rd(&h->waits), rd(&h->wait_timeouts));
	printf("errors    %" PRIu64 " double put, %" PRIu64 " foreign, %" PRIu64
	       " wrong pool, %" PRIu64 " poison\n\n",
	       rd(&h->err_double_put), rd(&h->err_foreign),
	       rd(&h->err_wrong_pool), rd(&h->err_poison));

	printf("%-4s  %-24s  %10s  %12s  %12s\n", "TAG", "NAME", "IN USE", "GETS", "PUTS");
	for (t = 0; t < HS_STATS_TAGS; t++) {
		if (!gets[t] && !h->tag_names[t][0])
			continue;
		printf("%-4u  %-24.24s  %10" PRIu64 "  %12" PRIu64 "  %12" PRIu64 "\n",
		       t, h->tag_names[t][0] ? h->tag_names[t] : "-",
		       live ? held[t] : gets[t] - puts[t], gets[t], puts[t]);
	}
	printf("\nage of buffers in use");
	if (live)
		printf(" (live, from the pool's metadata)");
	else if (rd(&h->age_hist_time_ns))
		printf(" (as of %s ago)",
		       fmt_age(now > h->age_hist_time_ns ? now - h->age_hist_time_ns : 0,
			       a, sizeof(a)));
	else
		printf(" (never sampled: the owner refreshes it in hs_pool_stats())");
	printf("\n");
	for (i = 0; i < HS_STATS_AGE_BUCKETS; i++)
		printf("%9s", age_labels[i]);
	printf("\n");
	for (i = 0; i < HS_STATS_AGE_BUCKETS; i++)
		printf("%9" PRIu64, ages[i]);
	printf("\n");
	if (oldest < HS_STATS_AGE_BUCKETS) {
		printf("\noldest: %" PRIu64 " buffer(s) aged %s; tags holding buffers:",
		       ages[oldest], age_labels[oldest]);
		for (t = 0; t < HS_STATS_TAGS; t++)
			if (live ? held[t] != 0 : gets[t] > puts[t])
				printf(" %s(%" PRIu64 ")",
				       h->tag_names[t][0] ? h->tag_names[t] : "-",
				       live ? held[t] : gets[t] - puts[t]);
		printf("\n");
	}
}

static int cmd_top(const char *what, bool once, double interval)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct hs_stats_hdr hdr, *h;
	char path[512];
	struct stat sb;
	uint64_t size;
	int fd;

	if (find_region(what, path, sizeof(path))) {
		err_msg("no libhugeslab statistics region for \"%s\" in %s", what,
			getenv("HUGESLAB_STATS_DIR") ?: "/dev/shm");
		return EXIT_NOTFOUND;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err_msg("%s: %s", path, strerror(errno));
		return errno == EACCES || errno == EPERM ? EXIT_PERM : EXIT_NOTFOUND;
	}
	if (pread(fd, &hdr, sizeof(hdr), 0) != sizeof(hdr) ||
	    hdr.magic != HS_STATS_MAGIC || hdr.version != HS_STATS_VERSION ||
	    hdr.hdr_size < sizeof(hdr) ||
	    hdr.thread_size < sizeof(struct hs_stats_thread) ||
	    hdr.nr_threads > 65536) {
		err_msg("%s: not a libhugeslab statistics region (version %u)", path,
			HS_STATS_VERSION);
		close(fd);
		return EXIT_ERR;
	}
	size = hs_stats_file_size(&hdr);	/* with the metadata, if any */
	/* Past the end of the file a read would be SIGBUS: check first. */
	if (fstat(fd, &sb) || (uint64_t)sb.st_size < size) {
		err_msg("%s: shorter than its header says (%" PRIu64 " bytes)",
			path, size);
		close(fd);
		return EXIT_ERR;
	}
	h = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (h == MAP_FAILED) {
		err_msg("%s: mmap: %s", path, strerror(errno));
		return EXIT_ERR;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		if (!once && !opt_json && isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		top_print(h, path);
		fflush(stdout);
		if (once || stop)
			break;
		usleep((useconds_t)(interval * 1e6));
		if (stop)
			break;
		if (!opt_json)
			printf("\n");
	}
	munmap(h, size);
	return EXIT_OK;
}

/* ------------------------------------------------------------ main */

/* Long-only options of create and destroy. */
enum { OPT_OWNER = 256, OPT_GROUP, OPT_MODE, OPT_NODE, OPT_FORCE };

static const struct option long_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "count", required_argument, NULL, 'n' },
	{ "interval", required_argument, NULL, 'i' },
	{ "once", no_argument, NULL, '1' },
	{ "help", no_argument, NULL, 'h' },
	{ "owner", required_argument, NULL, OPT_OWNER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ 0 },
};

struct opts {
	double interval;
	long count;
	bool once;
	bool help;
	bool force;
	/* create: the values as given, checked by spec_set_*() */
	const char *owner, *group, *mode, *node;
};

/*
 * Parse options in @argv[1..]; with @stop, up to the first non-option (the
 * command).  Returns -1 on a bad option, else 0 with optind at the first
 * argument left.
 */
static int parse_opts(int argc, char **argv, bool stop, struct opts *o)
{
	char *end;
	int opt;

	optind = 0;	/* glibc: start over, with a fresh permutation state */
	while ((opt = getopt_long(argc, argv, stop ? "+jn:i:1h" : "jn:i:1h",
				  long_opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			opt_json = true;
			break;
		case 'n':
			o->count = strtol(optarg, &end, 10);
			if (*end || o->count <= 0) {
				err_msg("--count needs a positive number");
				return -1;
			}
			break;
		case 'i':
			o->interval = strtod(optarg, &end);
			if (*end || o->interval <= 0) {
				err_msg("--interval needs a positive number of seconds");
				return -1;
			}
			break;
		case '1':
			o->once = true;
			break;
		case 'h':
			o->help = true;
			break;
		case OPT_OWNER:
			o->owner = optarg;
			break;
		case OPT_GROUP:
			o->group = optarg;
			break;
		case OPT_MODE:
			o->mode = optarg;
			break;
		case OPT_NODE:
			o->node = optarg;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* create NAME SIZE [--owner U] [--group G] [--mode M] [--node N] */
static int main_create(int argc, char **argv, const struct opts *o)
{
	struct pool_spec s;

	if (optind != argc - 2) {
		err_msg("usage: %s create NAME SIZE [--owner USER] [--group GROUP] [--mode MODE] [--node N]",
			PROG);
		return EXIT_USAGE;
	}
	pool_spec_init(&s);
	if (spec_set_name(&s, argv[optind]) ||
	    spec_set_size(&s, argv[optind + 1]) ||
	    (o->owner && spec_set_owner(&s, o->owner)) ||
	    (o->group && spec_set_group(&s, o->group)) ||
	    (o->mode && spec_set_mode(&s, o->mode)) ||
	    (o->node && spec_set_node(&s, o->node)))
		return EXIT_USAGE;
	return cmd_create(&s);
}

/* The commands of persistent pools (ctl-persist.c, ctl-load.c). */
static int main_persist(const char *cmd, int argc, char **argv,
			const struct opts *o)
{
	bool create = !strcmp(cmd, "create");

	if (!create && (o->owner || o->group || o->mode || o->node)) {
		err_msg("--owner, --group, --mode and --node are options of create");
		return EXIT_USAGE;
	}
	if (o->force && strcmp(cmd, "destroy")) {
		err_msg("--force is an option of destroy");
		return EXIT_USAGE;
	}
	if (create)
		return main_create(argc, argv, o);
	if (optind != argc - 1) {
		err_msg("usage: %s %s", PROG, !strcmp(cmd, "load") ?
			"load FILE" : "destroy NAME [--force]");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "load"))
		return cmd_load(argv[optind]);
	return cmd_destroy(argv[optind], o->force);
}

int main(int argc, char **argv)
{
	struct opts o = { .interval = 1 };
	uint64_t cap = 0;
	const char *cmd;
	struct ctl c;
	int ret;

	if (parse_opts(argc, argv, true, &o)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help) {
		usage(stdout);
		return EXIT_OK;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* The command's own options and arguments, in any order. */
	argv += optind;
	argc -= optind;
	cmd = argv[0];
	if (parse_opts(argc, argv, false, &o)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.help || !strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}

	if (!strcmp(cmd, "create") || !strcmp(cmd, "destroy") ||
	    !strcmp(cmd, "load"))
		return main_persist(cmd, argc, argv, &o);
	if (o.owner || o.group || o.mode || o.node || o.force) {
		err_msg("--owner, --group, --mode, --node and --force are options of create and destroy");
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "top")) {
		if (optind != argc - 1) {
			err_msg("usage: %s top PID|NAME|PATH [--once] [--interval SEC]", PROG);
			return EXIT_USAGE;
		}
		return cmd_top(argv[optind], o.once, o.interval);
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "pools") &&
	    strcmp(cmd, "watch") && strcmp(cmd, "set-cap")) {
		err_msg("unknown command \"%s\"", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "set-cap") ? optind != argc - 1 : optind != argc) {
		err_msg("wrong number of arguments for \"%s\"", cmd);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "set-cap") &&
	    (parse_size(argv[optind], &cap) || cap % (1 << 20))) {
		err_msg("invalid size \"%s\": a whole number of MiB, e.g. 4096M or 4G",
			argv[optind]);
		return EXIT_USAGE;
	}

	ret = ctl_open(&c);
	if (ret)
		return ret;
	if (!strcmp(cmd, "status"))
		ret = cmd_status(&c);
	else if (!strcmp(cmd, "pools"))
		ret = cmd_pools(&c);
	else if (!strcmp(cmd, "watch"))
		ret = cmd_watch(&c, o.count);
	else
		ret = cmd_set_cap(&c, cap);
	ctl_close(&c);
	return ret;
}
