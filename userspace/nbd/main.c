// SPDX-License-Identifier: MIT
/*
 * main.c: hugeslab-nbd's options, start-up and shut-down.
 *
 *   hugeslab-nbd [--listen HOST:PORT] [--unix PATH] [--pool SIZE]
 *		  [--small-pool SIZE] [--threads N] [--name NAME] PATH...
 *
 * The main thread owns the two pools (2 MiB buffers, and small buffers
 * for requests that fit one), the exports, the listeners and the
 * workers; it accepts, hands each new connection to a handshake thread,
 * prints progress, and on SIGTERM or SIGINT stops accepting, lets every
 * worker finish the requests in flight, fdatasync()s every export and
 * prints a summary.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "nbd.h"

#define DEFAULT_LISTEN	"127.0.0.1:10809"
#define DEFAULT_POOL	(256ULL << 20)
/*
 * 256 buffers of 64 KiB: four connections at QD 64 of small requests, the
 * most clients such as fio and nbd-client keep in flight, without a wait.
 */
#define DEFAULT_SMALL_POOL	(16ULL << 20)

struct server {
	struct export exports[NBD_EXPORTS_MAX];
	unsigned int nexports;
	struct hs_pool *pools[NBD_CLASSES];	/* [NBD_SMALL] may be NULL */
	struct worker *workers[NBD_WORKERS_MAX];
	unsigned int nworkers;
	unsigned int next_worker;
	struct handshake_ctx hs;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hugeslab-nbd [--listen HOST:PORT] [--unix PATH] [--pool SIZE]\n"
		"                    [--small-pool SIZE] [--threads N] [--name NAME]\n"
		"                    [--progress SECONDS] [--no-zerocopy] PATH...\n"
		"Serve each PATH (a regular file or a block device) as an NBD export,\n"
		"named by the --name before it or its basename; the first is also the\n"
		"default export \"\". Requests of at most %u KiB take a buffer of the\n"
		"small pool, larger ones 2 MiB buffers of --pool. Defaults: --listen\n"
		DEFAULT_LISTEN ", --pool 256M, --small-pool 16M (0: none), --threads\n"
		"one per CPU, --progress 5 (0: none). READ replies are sent zero-copy\n"
		"(SENDMSG_ZC) where the kernel has it, unless --no-zerocopy.\n",
		NBD_SMALL_BUF_SIZE >> 10);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case '\0': break;
	default: return -1;
	}
	if (*end || v > (ULLONG_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

/* Round-robin: connections are spread over the workers in arrival order. */
static int hand_off(void *arg, int fd, struct export *ex)
{
	struct server *s = arg;
	unsigned int i = __atomic_fetch_add(&s->next_worker, 1, __ATOMIC_RELAXED);

	return worker_add_conn(s->workers[i % s->nworkers], fd, ex);
}

static void sum_stats(struct server *s, struct worker_stats *t)
{
	struct worker_stats st;
	unsigned int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < s->nworkers; i++) {
		worker_read_stats(s->workers[i], &st);
		t->reqs += st.reqs;
		t->rd_bytes += st.rd_bytes;
		t->wr_bytes += st.wr_bytes;
		t->flushes += st.flushes;
		t->errors += st.errors;
		t->conns += st.conns;
		t->closed_bad += st.closed_bad;
		t->stalls += st.stalls;
		t->small_stalls += st.small_stalls;
		t->unfixed += st.unfixed;
		t->payloads += st.payloads;
		t->payload_recvs += st.payload_recvs;
		/* Per worker: what one ring had in flight at once. */
		if (st.peak[NBD_LARGE] > t->peak[NBD_LARGE])
			t->peak[NBD_LARGE] = st.peak[NBD_LARGE];
		if (st.peak[NBD_SMALL] > t->peak[NBD_SMALL])
			t->peak[NBD_SMALL] = st.peak[NBD_SMALL];
		t->zc_sends += st.zc_sends;
		t->copy_sends += st.copy_sends;
		t->zc_copied += st.zc_copied;
		t->bufs_held += st.bufs_held;
	}
}

/*
 * A pool of @bytes in buffers of @buf_size. No per-thread caches: buffers
 * freed by one worker must be visible at once to a worker waiting for
 * them, or a request could wait for buffers sitting idle in another
 * thread's cache.
 */
static struct hs_pool *make_pool(uint64_t bytes, uint32_t buf_size,
				 const char *name)
{
	struct hs_pool_config cfg;
	struct hs_pool *p;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = bytes;
	cfg.buf_size = buf_size;
	cfg.flags = HS_POOL_ALLOW_FALLBACK | HS_POOL_NO_CACHE;
	cfg.name = name;
	p = hs_pool_create(&cfg);
	if (!p)
		fprintf(stderr, "hugeslab-nbd: %s: pool of %llu bytes: %s\n", name,
			(unsigned long long)bytes, strerror(errno));
	return p;
}

/* Return 0, or -1 after reporting and force-freeing buffers still held. */
static int destroy_pool(struct hs_pool *p)
{
	if (!hs_pool_destroy(p, 0))
		return 0;
	fprintf(stderr, "hugeslab-nbd: %d buffers still held at exit\n",
		hs_pool_leaks(p, 0, NULL, NULL));
	hs_pool_destroy(p, HS_DESTROY_FORCE);
	return -1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int add_export(struct server *s, const char *path, const char *name,
		      uint32_t max_block)
{
	const char *base = strrchr(path, '/');
	unsigned int i;

	if (!name)
		name = base ? base + 1 : path;
	if (s->nexports == NBD_EXPORTS_MAX || strlen(name) > 255 || !*name) {
		fprintf(stderr, "hugeslab-nbd: %s: bad export name or too many exports\n", path);
		return -1;
	}
	for (i = 0; i < s->nexports; i++) {
		if (!strcmp(s->exports[i].desc.name, name)) {
			fprintf(stderr, "hugeslab-nbd: export name %s used twice\n", name);
			return -1;
		}
	}
	if (export_open(&s->exports[s->nexports], path, name, max_block)) {
		fprintf(stderr, "hugeslab-nbd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	s->nexports++;
	return 0;
}

struct opts {
	const char *listen;
	const char *unix_path;
	uint64_t pool;
	uint64_t small_pool;
	unsigned int threads;
	double progress;
	bool no_zerocopy;
	const char *paths[NBD_EXPORTS_MAX];
	const char *names[NBD_EXPORTS_MAX];
	unsigned int npaths;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "unix", required_argument, NULL, 'u' },
		{ "pool", required_argument, NULL, 'p' },
		{ "small-pool", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'n' },
		{ "progress", required_argument, NULL, 'P' },
		{ "no-zerocopy", no_argument, NULL, 'Z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL;
	char *end;
	long v;
	int c;

	o->pool = DEFAULT_POOL;
	o->small_pool = DEFAULT_SMALL_POOL;
	o->progress = 5;
	/* "-": PATHs come back in order, so --name applies to the next one. */
	while ((c = getopt_long(argc, argv, "-l:u:p:s:t:n:P:Zh", lopts, NULL)) != -1) {
		switch (c) {
		case 1:
			if (o->npaths == NBD_EXPORTS_MAX) {
				fprintf(stderr, "hugeslab-nbd: at most %u exports\n",
					NBD_EXPORTS_MAX);
				return -1;
			}
			o->names[o->npaths] = name;
			o->paths[o->npaths++] = optarg;
			name = NULL;
			break;
		case 'l':
			o->listen = optarg;
			break;
		case 'u':
			o->unix_path = optarg;
			break;
		case 'p':
			if (parse_size(optarg, &o->pool) || o->pool < NBD_BUF_SIZE) {
				fprintf(stderr, "hugeslab-nbd: bad --pool %s (at least 2M)\n", optarg);
				return -1;
			}
			break;
		case 's':
			/* 0 turns the small class off; else at least one slab. */
			if (parse_size(optarg, &o->small_pool) ||
			    (o->small_pool && o->small_pool < NBD_BUF_SIZE)) {
				fprintf(stderr, "hugeslab-nbd: bad --small-pool %s (0, or at least 2M)\n",
					optarg);
				return -1;
			}
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > (long)NBD_WORKERS_MAX) {
				fprintf(stderr, "hugeslab-nbd: bad --threads %s (1..%u)\n",
					optarg, NBD_WORKERS_MAX);
				return -1;
			}
			o->threads = (unsigned int)v;
			break;
		case 'n':
			name = optarg;
			break;
		case 'P':
			o->progress = strtod(optarg, &end);
			if (*end || o->progress < 0) {
				fprintf(stderr, "hugeslab-nbd: bad --progress %s\n", optarg);
				return -1;
			}
			break;
		case 'Z':
			o->no_zerocopy = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->npaths || name) {
		usage(stderr);
		return -1;
	}
	if (!o->threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		o->threads = n < 1 ? 1 : n > (long)NBD_WORKERS_MAX ? NBD_WORKERS_MAX :
			     (unsigned int)n;
	}
	return 0;
}

static int start_workers(struct server *s, unsigned int n, bool zerocopy)
{
	struct worker_cfg cfg;
	char tname[32];
	unsigned int i;

	for (i = 0; i < n; i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.idx = i;
		cfg.pools[NBD_LARGE] = s->pools[NBD_LARGE];
		cfg.pools[NBD_SMALL] = s->pools[NBD_SMALL];
		cfg.zerocopy = zerocopy;
		/* Tag 0 is "untagged": workers use 1..HS_MAX_TAGS-1. */
		cfg.tag = 1 + i % (HS_MAX_TAGS - 1);
		/*
		 * Half of each pool, at least one maximum request: a client
		 * that stops reading its replies stalls itself only.
		 */
		cfg.conn_bufs[NBD_LARGE] =
			(unsigned int)(hs_pool_nr_bufs(s->pools[NBD_LARGE]) / 2);
		if (cfg.conn_bufs[NBD_LARGE] < NBD_MAX_BUFS)
			cfg.conn_bufs[NBD_LARGE] = NBD_MAX_BUFS;
		snprintf(tname, sizeof(tname), "nbd-worker%u", i);
		hs_tag_name(s->pools[NBD_LARGE], cfg.tag, tname);
		if (s->pools[NBD_SMALL]) {
			cfg.conn_bufs[NBD_SMALL] =
				(unsigned int)(hs_pool_nr_bufs(s->pools[NBD_SMALL]) / 2);
			if (!cfg.conn_bufs[NBD_SMALL])
				cfg.conn_bufs[NBD_SMALL] = 1;
			/* The same tag number, named per pool: who holds what. */
			snprintf(tname, sizeof(tname), "nbd-worker%u-small", i);
			hs_tag_name(s->pools[NBD_SMALL], cfg.tag, tname);
		}
		s->workers[i] = worker_start(&cfg);
		if (!s->workers[i]) {
			fprintf(stderr, "hugeslab-nbd: worker %u: %s\n", i, strerror(errno));
			return -1;
		}
		s->nworkers++;
	}
	return 0;
}

static void progress(struct server *s, struct worker_stats *last, double dt)
{
	struct worker_stats t;

	sum_stats(s, &t);
	if (t.reqs == last->reqs && t.conns == last->conns)
		return;
	fprintf(stderr, "hugeslab-nbd: %llu requests (+%llu), write %.1f MB/s, read %.1f MB/s (%llu zero-copy, %llu copied replies), pools %llu/%zu buffers in use\n",
		(unsigned long long)t.reqs, (unsigned long long)(t.reqs - last->reqs),
		(double)(t.wr_bytes - last->wr_bytes) / 1e6 / dt,
		(double)(t.rd_bytes - last->rd_bytes) / 1e6 / dt,
		(unsigned long long)(t.zc_sends - last->zc_sends),
		(unsigned long long)(t.copy_sends - last->copy_sends),
		(unsigned long long)t.bufs_held, hs_pool_nr_bufs(s->pools[NBD_LARGE]) +
		(s->pools[NBD_SMALL] ? hs_pool_nr_bufs(s->pools[NBD_SMALL]) : 0));
	*last = t;
}

static void serve(struct server *s, int *lfds, unsigned int nl, int sfd,
		  double every)
{
	struct pollfd pfd[3];
	struct worker_stats last;
	double t0 = now_s(), tp = t0;
	unsigned int i;

	memset(&last, 0, sizeof(last));
	for (i = 0; i < nl; i++) {
		pfd[i].fd = lfds[i];
		pfd[i].events = POLLIN;
	}
	pfd[nl].fd = sfd;
	pfd[nl].events = POLLIN;
	for (;;) {
		int n = poll(pfd, nl + 1, every > 0 ? 1000 : -1);

		if (n < 0 && errno != EINTR) {
			perror("hugeslab-nbd: poll");
			return;
		}
		if (n > 0 && (pfd[nl].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				fprintf(stderr, "hugeslab-nbd: %s: finishing requests in flight\n",
					strsignal((int)si.ssi_signo));
			return;
		}
		for (i = 0; n > 0 && i < nl; i++) {
			int fd;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((fd = sock_accept(lfds[i])) >= 0)
				handshake_start(&s->hs, fd);
		}
		if (every > 0 && now_s() - tp >= every) {
			progress(s, &last, now_s() - tp);
			tp = now_s();
		}
	}
}

static void summary(struct server *s, const struct worker_stats *tp,
		    double secs)
{
	const struct worker_stats t = *tp;

	fprintf(stderr, "hugeslab-nbd: summary: %.1f s, %llu connections, %llu requests, read %.1f MiB, written %.1f MiB, %llu flushes, %llu error replies, %llu closed for bad input (%llu in handshake), %llu waits for pool buffers (%llu for small buffers), at most %llu small and %llu 2 MiB requests holding buffers at once in one worker, %llu disk I/Os not on fixed buffers, %llu write payloads in %llu receives, %llu zero-copy sends (%llu copied by the kernel), %llu copied sends, %llu buffers held at exit\n",
		secs, (unsigned long long)t.conns, (unsigned long long)t.reqs,
		(double)t.rd_bytes / 1048576.0, (double)t.wr_bytes / 1048576.0,
		(unsigned long long)t.flushes, (unsigned long long)t.errors,
		(unsigned long long)(t.closed_bad + s->hs.closed_bad),
		(unsigned long long)s->hs.closed_bad, (unsigned long long)t.stalls,
		(unsigned long long)t.small_stalls, (unsigned long long)t.peak[NBD_SMALL],
		(unsigned long long)t.peak[NBD_LARGE], (unsigned long long)t.unfixed,
		(unsigned long long)t.payloads, (unsigned long long)t.payload_recvs,
		(unsigned long long)t.zc_sends, (unsigned long long)t.zc_copied,
		(unsigned long long)t.copy_sends, (unsigned long long)t.bufs_held);
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct server *s = &srv;
	struct worker_stats total;
	struct opts o;
	sigset_t set;
	int lfds[2], sfd = -1, ret = 1;
	unsigned int nl = 0, i, port = 0;
	uint64_t max_block;
	double t0 = now_s();

	memset(&o, 0, sizeof(o));
	if (parse_opts(argc, argv, &o))
		return 2;
	s->pools[NBD_LARGE] = make_pool(o.pool, NBD_BUF_SIZE, "hugeslab-nbd");
	if (!s->pools[NBD_LARGE])
		return 1;
	if (o.small_pool) {
		s->pools[NBD_SMALL] = make_pool(o.small_pool, NBD_SMALL_BUF_SIZE,
						"hugeslab-nbd-small");
		if (!s->pools[NBD_SMALL]) {
			hs_pool_destroy(s->pools[NBD_LARGE], 0);
			return 1;
		}
	}
	/* Never advertise a request the 2 MiB pool could not hold at once. */
	max_block = (uint64_t)hs_pool_nr_bufs(s->pools[NBD_LARGE]) * NBD_BUF_SIZE;
	if (max_block > NBD_MAX_PAYLOAD)
		max_block = NBD_MAX_PAYLOAD;
	for (i = 0; i < o.npaths; i++)
		if (add_export(s, o.paths[i], o.names[i], (uint32_t)max_block))
			goto out;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any thread starts, so that all inherit it. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		perror("hugeslab-nbd: signalfd");
		goto out;
	}
	if (o.listen || !o.unix_path) {
		const char *l = o.listen ? o.listen : DEFAULT_LISTEN;

		lfds[nl] = sock_listen_tcp(l, &port);
		if (lfds[nl] < 0) {
			fprintf(stderr, "hugeslab-nbd: listen %s: %s\n", l, strerror(errno));
			goto out;
		}
		nl++;
		fprintf(stderr, "hugeslab-nbd: listening on %s (port %u)\n", l, port);
		if (strlen(l) >= 2 && !strcmp(l + strlen(l) - 2, ":0")) {
			printf("%u\n", port);
			fflush(stdout);
		}
	}
	if (o.unix_path) {
		lfds[nl] = sock_listen_unix(o.unix_path);
		if (lfds[nl] < 0) {
			fprintf(stderr, "hugeslab-nbd: listen %s: %s\n", o.unix_path,
				strerror(errno));
			goto out;
		}
		nl++;
		fprintf(stderr, "hugeslab-nbd: listening on %s\n", o.unix_path);
	}
	if (start_workers(s, o.threads, !o.no_zerocopy))
		goto out;
	if (handshake_init(&s->hs, s->exports, s->nexports, hand_off, s))
		goto out;
	fprintf(stderr, "hugeslab-nbd: %u export(s), pool %zu x %zu KiB (%s), small pool %zu x %zu KiB, maximum request %llu KiB, %u worker(s) (%s)\n",
		s->nexports, hs_pool_nr_bufs(s->pools[NBD_LARGE]),
		hs_pool_buf_size(s->pools[NBD_LARGE]) >> 10,
		hs_backend_name(hs_pool_backend(s->pools[NBD_LARGE])),
		s->pools[NBD_SMALL] ? hs_pool_nr_bufs(s->pools[NBD_SMALL]) : 0,
		s->pools[NBD_SMALL] ? hs_pool_buf_size(s->pools[NBD_SMALL]) >> 10 : 0,
		(unsigned long long)max_block >> 10, s->nworkers,
		worker_ring_desc(s->workers[0]));
	for (i = 0; i < s->nexports; i++)
		fprintf(stderr, "hugeslab-nbd: export %s%s: %s, %llu bytes\n",
			s->exports[i].desc.name, i ? "" : " (default)",
			s->exports[i].path, (unsigned long long)s->exports[i].desc.size);
	serve(s, lfds, nl, sfd, o.progress);
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	nl = 0;
	handshake_stop(&s->hs);
	ret = 0;
out:
	for (i = 0; i < nl; i++)
		close(lfds[i]);
	for (i = 0; i < s->nworkers; i++)
		worker_stop(s->workers[i]);
	for (i = 0; i < s->nworkers; i++)
		worker_join(s->workers[i]);
	sum_stats(s, &total);
	for (i = 0; i < s->nworkers; i++)
		worker_free(s->workers[i]);
	/* What every worker wrote is now stable, FLUSH or not. */
	for (i = 0; i < s->nexports; i++) {
		int err = export_flush(&s->exports[i]);

		if (err) {
			fprintf(stderr, "hugeslab-nbd: fdatasync %s: %s\n",
				s->exports[i].path, strerror(-err));
			ret = 1;
		}
	}
	if (s->nworkers)
		summary(s, &total, now_s() - t0);
	for (i = 0; i < s->nexports; i++)
		export_close(&s->exports[i]);
	if (o.unix_path && ret == 0)
		unlink(o.unix_path);
	if (sfd >= 0)
		close(sfd);
	for (i = 0; i < NBD_CLASSES; i++)
		if (s->pools[i] && destroy_pool(s->pools[i]))
			ret = 1;
	return ret;
}
