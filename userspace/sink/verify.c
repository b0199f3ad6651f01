// SPDX-License-Identifier: MIT
/*
 * verify.c: reading back what hugeslab-sink wrote.
 *
 * idx_scan() walks the index blocks in order and classifies what follows
 * the last good one: nothing, a torn final commit (never acked: ignored),
 * or a block of a later commit past a bad block (corruption).
 *
 * sink_verify() (--verify) checks every record the index names, with
 * O_DIRECT reads of the data: on-disk header against index entry, payload
 * against CRC32C, sequence numbers per stream without gaps. With --acked
 * FILE ("stream seq" lines, as written by hugeslab-source --acked-out or
 * --acked-log) every acknowledged record of each stream, 1..seq, must be
 * there. Exit status 1 for anything but a torn final commit.
 *
 * sink_recover() (the sink's start on existing files) finds the last valid
 * record, checks the records of the last commit against the data, cuts the
 * index after the last good one and says where appending resumes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sink.h"

#define WIN_SIZE	(8U << 20)
/* The sink refuses --max-record above this; an index saying more is corrupt. */
#define MAX_RECORD_LIMIT	(1U << 30)

struct stream_seen {
	uint32_t stream;
	uint64_t max_contig;	/* every seq 1..max_contig seen, in order */
	uint64_t records;
	uint64_t acked;		/* highest acked seq in --acked */
	bool gap;
};

static struct stream_seen *streams;
static size_t nstreams;

static struct stream_seen *stream_of(uint32_t id)
{
	size_t i;
	void *p;

	for (i = 0; i < nstreams; i++)
		if (streams[i].stream == id)
			return &streams[i];
	p = realloc(streams, (nstreams + 1) * sizeof(*streams));
	if (!p)
		return NULL;
	streams = p;
	memset(&streams[nstreams], 0, sizeof(*streams));
	streams[nstreams].stream = id;
	return &streams[nstreams++];
}

/* Data window read with O_DIRECT. */
static char *win;
static uint64_t win_off, win_len;

/*
 * @len is at most MAX_RECORD_LIMIT + HS_REC_HDR and @off + @len does not
 * wrap (the caller checks both), so the sums below cannot overflow.
 */
static const char *data_at(int fd, uint64_t off, uint64_t len)
{
	uint64_t a, end, want;
	ssize_t n;

	if (win_len && off >= win_off && off - win_off <= win_len &&
	    len <= win_len - (off - win_off))
		return win + (off - win_off);
	a = off & ~(uint64_t)(HS_DIO_ALIGN - 1);
	end = hs_round_up(off + len, HS_DIO_ALIGN);
	want = end - a > WIN_SIZE ? end - a : WIN_SIZE;
	if (want > WIN_SIZE) {
		free(win);
		win = NULL;
		if (posix_memalign((void **)&win, HS_DIO_ALIGN, want))
			return NULL;
	} else if (!win && posix_memalign((void **)&win, HS_DIO_ALIGN, WIN_SIZE)) {
		return NULL;
	}
	n = pread(fd, win, want, (off_t)a);
	if (n < 0)
		return NULL;
	win_off = a;
	win_len = (uint64_t)n;
	if (off - win_off > win_len || len > win_len - (off - win_off)) {
		errno = ENODATA;
		return NULL;
	}
	return win + (off - win_off);
}


struct scan {
	int ifd;
	uint32_t max_record;
	uint32_t id;		/* of the index header */
	/* per entry of the good blocks, in order; nonzero stops the scan */
	int (*visit)(struct scan *sc, const struct hs_idx_ent *e,
		     uint64_t blkno, uint32_t i, uint64_t commit);
	void *arg;
	/* results */
	uint64_t good_blks;	/* blocks 1..good_blks are whole, in order */
	uint64_t last_commit;	/* commit of block good_blks, 0 if none */
	uint16_t last_rest;	/* its blocks still to come: torn if not 0 */
	uint64_t entries;
	uint64_t bad_ents;	/* bad entries inside whole blocks */
	uint64_t torn_blks;	/* past the cut: torn blocks of the last commit */
	uint64_t corrupt_blk;	/* past the cut: first block of a later commit */
	uint64_t corrupt_commit;
	uint64_t end_blk;	/* past the last nonzero block */
};

static char *scan_blk;	/* HS_IDX_BLK, aligned for O_DIRECT */

static bool blk_zero(const char *b)
{
	for (size_t i = 0; i < HS_IDX_BLK; i++)
		if (b[i])
			return false;
	return true;
}

/*
 * 0, or -1 on a read error or a bad header (errno set); *@empty: the first
 * block is all zeros or missing (a new index).
 */
static int idx_read_hdr(int ifd, struct hs_idx_hdr *ih, bool *empty)
{
	ssize_t n;

	*empty = false;
	if (!scan_blk && posix_memalign((void **)&scan_blk, HS_DIO_ALIGN, HS_IDX_BLK))
		return -1;
	n = pread(ifd, scan_blk, HS_IDX_BLK, 0);
	if (n == 0 || (n == (ssize_t)HS_IDX_BLK && blk_zero(scan_blk))) {
		*empty = true;
		errno = ENODATA;
		return -1;
	}
	if (n != (ssize_t)HS_IDX_BLK) {
		errno = n < 0 ? errno : EINVAL;
		return -1;
	}
	memcpy(ih, scan_blk, sizeof(*ih));
	if (!hs_idx_hdr_ok(ih) || ih->max_record > MAX_RECORD_LIMIT) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * Walk blocks 1.. of the index. Block N is good when it is whole, of this
 * index, sits at N and continues the commit sequence: the same commit with
 * one block fewer to come when the block before said more would come, else
 * the next commit. The first block that is not good is the cut. Past it, a
 * whole block of the commit the cut is in (the last good block's, if that
 * said more would come, else the next) is a torn piece of the final
 * commit; a whole block of any other commit means the cut is a hole in the
 * middle of what was committed: corruption.
 */
static int idx_scan(struct scan *sc)
{
	uint64_t b;
	bool cut = false;

	/* to the end of the file or device: a torn commit's blocks may
	 * lie past a hole */
	for (b = 1;; b++) {
		const struct hs_idx_blk *h = (const void *)scan_blk;
		ssize_t n = pread(sc->ifd, scan_blk, HS_IDX_BLK, (off_t)(b * HS_IDX_BLK));

		if (n < 0)
			return -1;
		if (n < (ssize_t)HS_IDX_BLK)
			break;
		if (!blk_zero(scan_blk))
			sc->end_blk = b + 1;
		if (cut) {
			if (!hs_idx_blk_ok(scan_blk, b, sc->id)) {
				if (!blk_zero(scan_blk))
					sc->torn_blks++;
			} else if (h->commit == sc->last_commit + !sc->last_rest) {
				sc->torn_blks++;
			} else if (!sc->corrupt_blk) {
				sc->corrupt_blk = b;
				sc->corrupt_commit = h->commit;
			}
			continue;
		}
		if (!hs_idx_blk_ok(scan_blk, b, sc->id) ||
		    (sc->last_rest ? h->commit != sc->last_commit ||
				     h->rest != sc->last_rest - 1 :
				     h->commit != sc->last_commit + 1)) {
			cut = true;
			if (!blk_zero(scan_blk))
				sc->torn_blks++;
			continue;
		}
		sc->good_blks = b;
		sc->last_commit = h->commit;
		sc->last_rest = h->rest;
		for (uint32_t i = 0; i < h->nents; i++) {
			struct hs_idx_ent e;

			memcpy(&e, scan_blk + sizeof(*h) + i * sizeof(e), sizeof(e));
			if (!hs_idx_ent_ok(&e)) {
				sc->bad_ents++;
				continue;
			}
			sc->entries++;
			if (sc->visit && sc->visit(sc, &e, b, i, h->commit))
				return -1;
		}
	}
	return 0;
}

/* The record @e names is on disk, whole: 0, or a static reason. */
static const char *rec_check(int dfd, const struct hs_idx_ent *e, uint32_t max_record)
{
	struct hs_rec_hdr h;
	const char *p;

	/*
	 * An entry's own CRC says it was written whole, not that its length
	 * and offset are sane: a corrupt index must not make verify allocate
	 * gigabytes or read outside its window.
	 */
	if (e->len > max_record || e->off > UINT64_MAX - HS_REC_HDR - (uint64_t)e->len)
		return "length or offset out of range";
	p = data_at(dfd, e->off, HS_REC_HDR + (uint64_t)e->len);
	if (!p)
		return "data not readable";
	memcpy(&h, p, sizeof(h));
	if (hs_rec_hdr_check(&h, max_record) || h.len != e->len ||
	    h.stream != e->stream || h.seq != e->seq || h.crc != e->crc)
		return "record header does not match its entry";
	if (hs_crc32c(0, p + HS_REC_HDR, e->len) != e->crc)
		return "payload CRC mismatch";
	return NULL;
}

struct vstate {
	int dfd;
	uint64_t good, bad, bytes;
	bool oom;
};

static int verify_visit(struct scan *sc, const struct hs_idx_ent *e,
			uint64_t blkno, uint32_t i, uint64_t commit)
{
	struct vstate *v = sc->arg;
	struct stream_seen *s;
	const char *why = rec_check(v->dfd, e, sc->max_record);

	(void)commit;
	if (why) {
		fprintf(stderr, "verify: block %llu entry %u: stream %u seq %llu at %llu: %s\n",
			(unsigned long long)blkno, i, e->stream,
			(unsigned long long)e->seq, (unsigned long long)e->off, why);
		v->bad++;
		return 0;
	}
	v->good++;
	v->bytes += e->len;
	s = stream_of(e->stream);
	if (!s) {
		v->oom = true;
		return -1;
	}
	s->records++;
	if (e->seq == s->max_contig + 1 && !s->gap)
		s->max_contig = e->seq;
	else
		s->gap = true;
	return 0;
}

static void verify_reset(void)
{
	/* Leave nothing behind for a second call in the same process. */
	free(win);
	win = NULL;
	win_off = 0;
	win_len = 0;
	free(streams);
	streams = NULL;
	nstreams = 0;
	free(scan_blk);
	scan_blk = NULL;
}

int sink_verify(const struct sink_opts *o)
{
	struct vstate v = { .dfd = -1 };
	struct scan sc;
	struct hs_idx_hdr ih;
	int ifd, ret = 0;
	bool empty;
	FILE *af;
	size_t i;

	memset(&sc, 0, sizeof(sc));
	v.dfd = open(o->data_path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (v.dfd < 0 && errno == EINVAL)
		v.dfd = open(o->data_path, O_RDONLY | O_CLOEXEC);
	ifd = open(o->index_path, O_RDONLY | O_CLOEXEC);
	if (v.dfd < 0 || ifd < 0) {
		fprintf(stderr, "verify: open %s: %s\n",
			v.dfd < 0 ? o->data_path : o->index_path, strerror(errno));
		ret = -1;
		goto out;
	}
	if (idx_read_hdr(ifd, &ih, &empty)) {
		fprintf(stderr, "verify: %s: %s\n", o->index_path, empty ?
			"empty (no index header)" : "not a version 2 index");
		ret = -1;
		goto out;
	}
	sc.ifd = ifd;
	sc.id = ih.id;
	sc.max_record = ih.max_record;
	sc.visit = verify_visit;
	sc.arg = &v;
	if (idx_scan(&sc)) {
		fprintf(stderr, "verify: %s: %s\n", o->index_path,
			v.oom ? "out of memory" : strerror(errno));
		ret = -1;
		goto out;
	}
	printf("verify: %llu records, %llu payload bytes ok, %llu bad, %zu streams, %llu commits in %llu index blocks%s\n",
	       (unsigned long long)v.good, (unsigned long long)v.bytes,
	       (unsigned long long)v.bad, nstreams, (unsigned long long)sc.last_commit,
	       (unsigned long long)sc.good_blks,
	       sc.torn_blks && !sc.corrupt_blk ? ", torn final commit ignored" : "");
	if (v.bad || sc.bad_ents)
		ret = -1;
	if (sc.bad_ents)
		printf("verify: %llu bad entries inside whole index blocks\n",
		       (unsigned long long)sc.bad_ents);
	if (sc.corrupt_blk) {
		printf("verify: index corrupt: block %llu is bad, block %llu of commit %llu follows it\n",
		       (unsigned long long)sc.good_blks + 1, (unsigned long long)sc.corrupt_blk,
		       (unsigned long long)sc.corrupt_commit);
		ret = -1;
	}
	for (i = 0; i < nstreams; i++) {
		if (streams[i].gap) {
			printf("verify: stream %u: sequence gap or reorder after seq %llu\n",
			       streams[i].stream, (unsigned long long)streams[i].max_contig);
			ret = -1;
		}
	}
	if (o->acked_path) {
		unsigned int sid;
		unsigned long long seq;
		uint64_t lines = 0, missing = 0;

		af = fopen(o->acked_path, "r");
		if (!af) {
			fprintf(stderr, "verify: %s: %s\n", o->acked_path, strerror(errno));
			ret = -1;
			goto out;
		}
		while (fscanf(af, "%u %llu", &sid, &seq) == 2) {
			struct stream_seen *s = stream_of(sid);

			if (!s) {
				fclose(af);
				ret = -1;
				goto out;
			}
			lines++;
			if (s->max_contig < seq) {
				if (!missing++)
					printf("verify: stream %u: acked up to seq %llu, only 1..%llu on disk\n",
					       sid, seq, (unsigned long long)s->max_contig);
				ret = -1;
			}
			if (seq > s->acked)
				s->acked = seq;
		}
		fclose(af);
		seq = 0;
		for (i = 0; i < nstreams; i++)
			seq += streams[i].acked;
		printf("verify: %llu acknowledged records (%llu ack lines) %s\n", seq,
		       (unsigned long long)lines, missing ? "NOT all found" : "all found");
	}
out:
	verify_reset();
	if (v.dfd >= 0)
		close(v.dfd);
	if (ifd >= 0)
		close(ifd);
	return ret;
}

/* ---------------------------------------------------------------- recovery */

struct rent {
	struct hs_idx_ent e;
	uint64_t blkno;
	uint32_t i;
};

struct rstate {
	struct rent *last;	/* entries of the last commit, in order */
	size_t n, cap;
	uint64_t commit;	/* of the entries in last */
	uint64_t first_blk;	/* its first block */
	uint64_t end_before;	/* data end of the commits before it */
	uint64_t records_before;
};

static uint64_t rec_end(const struct hs_idx_ent *e)
{
	return hs_round_up(e->off + HS_REC_HDR + e->len, HS_DIO_ALIGN);
}

static int recover_visit(struct scan *sc, const struct hs_idx_ent *e,
			 uint64_t blkno, uint32_t i, uint64_t commit)
{
	struct rstate *r = sc->arg;

	if (commit != r->commit) {
		for (size_t k = 0; k < r->n; k++)
			if (rec_end(&r->last[k].e) > r->end_before)
				r->end_before = rec_end(&r->last[k].e);
		r->records_before += r->n;
		r->n = 0;
		r->commit = commit;
		r->first_blk = blkno;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		void *p = realloc(r->last, cap * sizeof(*r->last));

		if (!p)
			return -1;
		r->last = p;
		r->cap = cap;
	}
	r->last[r->n++] = (struct rent){ *e, blkno, i };
	return 0;
}

/*
 * Recover the index open at @ifd against the data at @dfd: returns 0 and
 * fills @t, or -1 with a reason logged (corruption is refused: nothing is
 * cut or overwritten then). 1: no index header there (a new index).
 */
int sink_recover(int ifd, int dfd, struct idx_tail *t)
{
	struct rstate r;
	struct scan sc;
	struct hs_idx_hdr ih;
	uint64_t end_blk;
	bool empty, bad;
	size_t j;
	int ret = -1;

	memset(&r, 0, sizeof(r));
	memset(&sc, 0, sizeof(sc));
	memset(t, 0, sizeof(*t));
	if (idx_read_hdr(ifd, &ih, &empty)) {
		if (empty) {
			ret = 1;
			goto out;
		}
		fprintf(stderr, "hugeslab-sink: index: not a version %u index (%s); zero its first 4 KiB to start a new one\n",
			HS_IDX_VERSION, strerror(errno));
		goto out;
	}
	sc.ifd = ifd;
	sc.id = ih.id;
	sc.max_record = ih.max_record;
	sc.visit = recover_visit;
	sc.arg = &r;
	if (idx_scan(&sc)) {
		fprintf(stderr, "hugeslab-sink: index: %s\n", strerror(errno));
		goto out;
	}
	if (sc.corrupt_blk || sc.bad_ents) {
		fprintf(stderr, "hugeslab-sink: index corrupt (block %llu, %llu bad entries): not overwriting it; see --verify\n",
			(unsigned long long)(sc.corrupt_blk ? sc.good_blks + 1 : 0),
			(unsigned long long)sc.bad_ents);
		goto out;
	}
	/*
	 * The last commit goes whole or not at all (its blocks' counts must
	 * stay true for the next scan). Dropped: when its blocks are not all
	 * there (torn: never acked), or when one of its records is not on
	 * disk. Data is flushed before its index blocks are written, so with
	 * a durable --fsync that cannot happen; --fsync none promised nothing.
	 */
	bad = sc.last_rest > 0;
	for (j = 0; j < r.n && !bad; j++)
		bad = rec_check(dfd, &r.last[j].e, ih.max_record) != NULL;
	end_blk = sc.good_blks + 1;
	t->data_end = r.end_before;
	t->records = r.records_before;
	if (bad && r.n) {
		end_blk = r.first_blk;
		sc.last_commit = r.commit - 1;
		t->cut_records = r.n;
	} else {
		for (j = 0; j < r.n; j++)
			if (rec_end(&r.last[j].e) > t->data_end)
				t->data_end = rec_end(&r.last[j].e);
		t->records += r.n;
	}
	t->max_record = ih.max_record;
	t->next_blk = end_blk;
	t->next_commit = sc.last_commit + 1;
	t->torn_blks = sc.torn_blks;
	t->id = ih.id;
	/*
	 * Nothing stale may follow the new end: a block of the torn commit
	 * left past it could pass for one of the next commit's. Zero up to
	 * the last nonzero block (files and block devices alike), flush.
	 */
	memset(scan_blk, 0, HS_IDX_BLK);
	for (uint64_t b = end_blk; b < sc.end_blk; b++)
		if (pwrite(ifd, scan_blk, HS_IDX_BLK, (off_t)(b * HS_IDX_BLK)) !=
		    (ssize_t)HS_IDX_BLK)
			goto io_err;
	if (fsync(ifd))
		goto io_err;
	ret = 0;
	goto out;
io_err:
	fprintf(stderr, "hugeslab-sink: index: cutting the tail: %s\n", strerror(errno));
out:
	free(r.last);
	verify_reset();
	return ret;
}
