// SPDX-License-Identifier: GPL-2.0
/*
 * pc-replay: power cuts from a dm-log-writes log.
 *
 *   pc-replay -l LOG -t TARGET -a ACKLOG [-n DATA_BYTES] [-e] [-c MAX_CUTS]
 *             [-o ACKED_FILE -- CMD ARGS...]
 *
 * TARGET (at least as large as the logged device, and holding what the
 * logged device held when logging started) is brought, in log order, to
 * the state of each cut point: before the first entry, and right after
 * every FLUSH or FUA entry. Nothing that a device could have lost is
 * replayed (see lwlog.h). At the cut after FLUSH/FUA entry f_j, every ack
 * whose mark comes before the next FLUSH/FUA entry f_{j+1} (any ack at
 * all, after the last one) must verify: a power cut just before f_{j+1}
 * leaves the disk as f_j left it. With more than MAX_CUTS cut points
 * (default 200), MAX_CUTS of them, evenly spread and including the first
 * and the last, are checked; all are replayed.
 *
 * At each checked cut:
 *   - with -n, records.c scans the first DATA_BYTES of TARGET (a raw data
 *     device) for intact records; every acked record must be there;
 *   - with -e, every "ext" ack (a block client's durable extent) must read
 *     back from TARGET (the raw device the client wrote) with its CRC32C:
 *     the newest durable version of the extent, or one acked later
 *     (extents.c);
 *   - with "--", ACKED_FILE gets "stream seq" lines (the highest acked seq
 *     per stream) and CMD (e.g. a script that mounts a snapshot of TARGET
 *     and runs pc-check and the sink's --verify --acked) must exit 0; its
 *     environment has PC_CUT, the number of log entries replayed.
 *
 * Prints the figures; exit 0 when nothing was lost and every CMD passed, 1
 * when something was lost or a CMD failed, 2 on errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acks.h"
#include "extents.h"
#include "lwlog.h"
#include "records.h"

#define MAX_STREAMS	64
#define LOST_SHOWN	5

struct opts {
	const char *log, *target, *acklog, *acked_out;
	uint64_t data_len;
	size_t max_cuts;
	int ext;
	char **verify;
};

struct acked {
	size_t nr;
	uint32_t stream[MAX_STREAMS];
	uint64_t seq[MAX_STREAMS];
};

struct figures {
	size_t cuts, checks, lost, verify_fail, worst_lost, worst_cut;
	size_t ext_checks, ext_lost;
};

static int acked_raise(struct acked *ak, const struct ack *a)
{
	size_t i;

	for (i = 0; i < ak->nr; i++)
		if (ak->stream[i] == a->stream)
			break;
	if (i == ak->nr) {
		if (ak->nr == MAX_STREAMS)
			return -E2BIG;
		ak->stream[i] = a->stream;
		ak->seq[i] = 0;
		ak->nr++;
	}
	/* Acks are cumulative; a lower one (another thread's) adds nothing. */
	if (a->seq > ak->seq[i])
		ak->seq[i] = a->seq;
	return 0;
}

static int run_verify(const struct opts *o, const struct acked *ak, size_t cut)
{
	char cutbuf[24];
	FILE *f = fopen(o->acked_out, "w");
	int st = 0, attempt;
	pid_t pid;
	size_t i;

	if (!f)
		return -errno;
	for (i = 0; i < ak->nr; i++)
		fprintf(f, "%u %" PRIu64 "\n", ak->stream[i], ak->seq[i]);
	if (fclose(f))
		return -errno;
	/*
	 * A command killed by a signal gave no verdict: it is the checker that
	 * crashed (busybox sh once took a general protection fault under qemu
	 * TCG), not the disk that failed. It is run once more and says so;
	 * a second crash counts as a failure.
	 */
	for (attempt = 0; attempt < 2; attempt++) {
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			return -errno;
		if (!pid) {
			/* The command may want to know where it is (its messages). */
			snprintf(cutbuf, sizeof(cutbuf), "%zu", cut);
			setenv("PC_CUT", cutbuf, 1);
			execvp(o->verify[0], o->verify);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0)
			return -errno;
		if (!WIFSIGNALED(st))
			break;
		printf("pc-replay: cut at entry %zu: %s killed by signal %d%s\n", cut,
		       o->verify[0], WTERMSIG(st), attempt ? "" : ", running it again");
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* The independent check at one cut: every acked record present. */
static int check_cut(const struct opts *o, int tfd, uint64_t hi,
		     const struct acked *ak, struct figures *fg, size_t cut)
{
	struct rec_set set = { 0 };
	size_t i, lost = 0;
	uint64_t s;
	int ret;

	ret = rec_scan(&set, tfd, hi < o->data_len ? hi : o->data_len);
	if (ret)
		return ret;
	for (i = 0; i < ak->nr; i++) {
		for (s = 1; s <= ak->seq[i]; s++) {
			fg->checks++;
			if (rec_present(&set, ak->stream[i], s))
				continue;
			if (lost++ < LOST_SHOWN)
				printf("pc-replay: cut at entry %zu: stream %u seq %" PRIu64
				       " acked, not on disk\n", cut, ak->stream[i], s);
		}
	}
	fg->lost += lost;
	if (lost > fg->worst_lost) {
		fg->worst_lost = lost;
		fg->worst_cut = cut;
	}
	rec_free(&set);
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->max_cuts = 200;
	while ((c = getopt(argc, argv, "l:t:n:a:c:o:e")) != -1) {
		switch (c) {
		case 'l':
			o->log = optarg;
			break;
		case 't':
			o->target = optarg;
			break;
		case 'a':
			o->acklog = optarg;
			break;
		case 'o':
			o->acked_out = optarg;
			break;
		case 'n':
			o->data_len = strtoull(optarg, NULL, 0);
			break;
		case 'e':
			o->ext = 1;
			break;
		case 'c':
			o->max_cuts = strtoul(optarg, NULL, 0);
			break;
		default:
			return -1;
		}
	}
	if (optind < argc)
		o->verify = argv + optind;
	/* Something must be checked: the built-in scan, a command, or both. */
	if (!o->log || !o->target || !o->acklog || (!o->data_len && !o->verify && !o->ext) ||
	    o->max_cuts < 2 || (!o->verify != !o->acked_out))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct figures fg = { 0 };
	struct ack_list al;
	struct acked ak = { 0 };
	struct ext_set es = { 0 };
	struct lw_log log;
	struct opts o;
	size_t *cut, ncut = 0, i, j, next_ack = 0, pos = 0, picked = 0;
	uint64_t hi = 0, distinct = 0;
	char err[ACKS_ERR_MAX];
	int tfd, ret, status = 2;

	if (parse_opts(argc, argv, &o)) {
		fprintf(stderr, "usage: pc-replay -l LOG -t TARGET [-n DATA_BYTES] [-e] -a ACKLOG"
			" [-c MAX_CUTS] [-o ACKED_FILE -- VERIFY_CMD ARGS...]\n");
		return 2;
	}
	ret = lw_open(&log, o.log);
	if (ret) {
		fprintf(stderr, "pc-replay: %s: %s\n", o.log, strerror(-ret));
		return 2;
	}
	ret = acks_load(&al, o.acklog, &log, err);
	if (ret) {
		fprintf(stderr, "pc-replay: %s: %s\n", o.acklog,
			err[0] ? err : strerror(-ret));
		goto out_log;
	}
	/*
	 * cut[j]: entries replayed at cut j; cut[0] = 0, then after each
	 * FLUSH/FUA entry.
	 */
	cut = calloc(log.nr + 2, sizeof(*cut));
	tfd = open(o.target, O_RDWR | O_CLOEXEC);
	if (!cut || tfd < 0) {
		fprintf(stderr, "pc-replay: %s: %s\n", o.target, strerror(errno));
		goto out_cut;
	}
	cut[ncut++] = 0;
	for (i = 0; i < log.nr; i++)
		if (log.e[i].flags & (LW_FLUSH | LW_FUA))
			cut[ncut++] = i + 1;
	for (j = 0; j < ncut; j++) {
		/* Acks to hold at cut j: marks before the next FLUSH/FUA. */
		size_t horizon = j + 1 < ncut ? cut[j + 1] - 1 : log.nr;
		size_t want = ncut <= o.max_cuts ? j :
			      (picked * (ncut - 1) + (o.max_cuts - 1) / 2) / (o.max_cuts - 1);

		ret = lw_replay(&log, pos, cut[j], tfd, &hi);
		if (!ret && fdatasync(tfd))
			ret = -errno;
		if (ret) {
			fprintf(stderr, "pc-replay: replay to entry %zu: %s\n", cut[j],
				strerror(-ret));
			goto out_fd;
		}
		pos = cut[j];
		while (next_ack < al.nr && al.a[next_ack].mark_at < horizon) {
			const struct ack *a = &al.a[next_ack++];

			ret = a->kind == ACK_EXT ? ext_raise(&es, a) : acked_raise(&ak, a);
			if (ret) {
				fprintf(stderr, "pc-replay: ack line %zu: %s\n", a->line,
					ret == -E2BIG ? "too many streams" : ret == -EINVAL ?
					"overlaps an acked extent in part" : strerror(-ret));
				goto out_fd;
			}
		}
		if (j != want)
			continue;
		picked++;
		fg.cuts++;
		ret = o.data_len ? check_cut(&o, tfd, hi, &ak, &fg, cut[j]) : 0;
		if (ret) {
			fprintf(stderr, "pc-replay: scan: %s\n", strerror(-ret));
			goto out_fd;
		}
		if (o.ext) {
			ret = ext_check(&es, tfd, al.a + next_ack, al.nr - next_ack, cut[j],
					&fg.ext_checks, &fg.ext_lost);
			if (ret) {
				fprintf(stderr, "pc-replay: extents: %s\n", strerror(-ret));
				goto out_fd;
			}
		}
		if (o.verify && ak.nr) {
			ret = run_verify(&o, &ak, cut[j]);
			if (ret < 0) {
				fprintf(stderr, "pc-replay: verify: %s\n", strerror(-ret));
				goto out_fd;
			}
			if (ret) {
				printf("pc-replay: cut at entry %zu: %s failed\n", cut[j],
				       o.verify[0]);
				fg.verify_fail++;
			}
		}
	}
	printf("pc-replay: %zu log entries, %zu FLUSH/FUA cut points + the empty disk, %zu acks\n",
	       log.nr, ncut - 1, al.nr);
	for (i = 0; i < ak.nr; i++)
		distinct += ak.seq[i];
	if (o.ext) {
		printf("pc-replay: cut points tried %zu, acked extents checked %zu, extents lost %zu"
		       "; %zu extent versions acked\n", fg.cuts, fg.ext_checks, fg.ext_lost,
		       al.nr_ext);
		status = fg.ext_lost ? 1 : 0;
		if (!o.data_len && !o.verify)
			goto out_fd;
	}
	if (!o.data_len) {
		/* The command did the checking and keeps its own figures. */
		printf("pc-replay: cut points tried %zu, command failed at %zu; %" PRIu64
		       " distinct records acked\n", fg.cuts, fg.verify_fail, distinct);
		status = fg.verify_fail || fg.ext_lost ? 1 : 0;
		goto out_fd;
	}
	printf("pc-replay: cut points tried %zu, acked records checked %zu, records lost %zu"
	       ", verify failures %zu; %" PRIu64 " distinct records acked\n",
	       fg.cuts, fg.checks, fg.lost, fg.verify_fail, distinct);
	if (fg.lost)
		printf("pc-replay: worst cut: %zu lost at entry %zu\n", fg.worst_lost,
		       fg.worst_cut);
	status = fg.lost || fg.verify_fail || fg.ext_lost ? 1 : 0;
out_fd:
	if (tfd >= 0)
		close(tfd);
out_cut:
	ext_free(&es);
	free(cut);
	acks_free(&al);
out_log:
	lw_close(&log);
	return status;
}
