// SPDX-License-Identifier: MIT
/*
 * verify.c: hugeslab-sink --verify. Reads the index and, with O_DIRECT, the
 * data it points to; checks every record's on-disk header against its index
 * entry and its payload against the CRC32C. With --acked FILE ("stream seq"
 * lines, as written by hugeslab-source --acked-out), also checks that every
 * acknowledged record of each stream, 1..seq, is present and intact.
 */
#include <errno.h>
#include <fcntl.h>
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

int sink_verify(const struct sink_opts *o)
{
	uint64_t good = 0, bad = 0, bytes = 0, torn = 0;
	struct hs_idx_hdr ih;
	struct hs_idx_ent e;
	int dfd, ifd, ret = 0;
	FILE *af;
	size_t i;

	dfd = open(o->data_path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0 && errno == EINVAL)
		dfd = open(o->data_path, O_RDONLY | O_CLOEXEC);
	ifd = open(o->index_path, O_RDONLY | O_CLOEXEC);
	if (dfd < 0 || ifd < 0) {
		fprintf(stderr, "verify: open %s: %s\n",
			dfd < 0 ? o->data_path : o->index_path, strerror(errno));
		ret = -1;
		goto out;
	}
	if (read(ifd, &ih, sizeof(ih)) != (ssize_t)sizeof(ih) ||
	    ih.magic != HS_IDX_MAGIC || ih.ent_size != sizeof(e) ||
	    ih.max_record > MAX_RECORD_LIMIT) {
		fprintf(stderr, "verify: %s: not an index file\n", o->index_path);
		ret = -1;
		goto out;
	}
	for (;;) {
		ssize_t n = read(ifd, &e, sizeof(e));
		struct hs_rec_hdr h;
		struct stream_seen *s;
		const char *p;

		if (n == 0)
			break;
		if (n != (ssize_t)sizeof(e) || !hs_idx_ent_ok(&e)) {
			/* A torn tail after a crash: entries are written
			 * before their ack, so nothing acked is past it. */
			torn++;
			break;
		}
		/*
		 * An entry's own CRC says it was written whole, not that its
		 * length and offset are sane: a corrupt index must not make
		 * verify allocate gigabytes or read outside its window.
		 */
		if (e.len > ih.max_record ||
		    e.off > UINT64_MAX - HS_REC_HDR - (uint64_t)e.len) {
			fprintf(stderr, "verify: stream %u seq %llu: length %u or offset %llu out of range\n",
				e.stream, (unsigned long long)e.seq, e.len,
				(unsigned long long)e.off);
			bad++;
			continue;
		}
		p = data_at(dfd, e.off, HS_REC_HDR + (uint64_t)e.len);
		if (!p) {
			fprintf(stderr, "verify: stream %u seq %llu: read at %llu: %s\n",
				e.stream, (unsigned long long)e.seq,
				(unsigned long long)e.off, strerror(errno));
			bad++;
			continue;
		}
		memcpy(&h, p, sizeof(h));
		if (hs_rec_hdr_check(&h, ih.max_record) || h.len != e.len ||
		    h.stream != e.stream || h.seq != e.seq || h.crc != e.crc ||
		    hs_crc32c(0, p + HS_REC_HDR, e.len) != e.crc) {
			fprintf(stderr, "verify: stream %u seq %llu at %llu: bad record\n",
				e.stream, (unsigned long long)e.seq,
				(unsigned long long)e.off);
			bad++;
			continue;
		}
		good++;
		bytes += e.len;
		s = stream_of(e.stream);
		if (!s) {
			ret = -1;
			goto out;
		}
		s->records++;
		if (e.seq == s->max_contig + 1 && !s->gap)
			s->max_contig = e.seq;
		else
			s->gap = true;
	}
	printf("verify: %llu records, %llu payload bytes ok, %llu bad, %zu streams%s\n",
	       (unsigned long long)good, (unsigned long long)bytes,
	       (unsigned long long)bad, nstreams, torn ? ", torn index tail ignored" : "");
	if (bad)
		ret = -1;
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
		uint64_t checked = 0;

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
			checked += seq;
			if (s->max_contig < seq) {
				printf("verify: stream %u: acked up to seq %llu, only 1..%llu on disk\n",
				       sid, seq, (unsigned long long)s->max_contig);
				ret = -1;
			}
		}
		fclose(af);
		printf("verify: %llu acknowledged records %s\n", (unsigned long long)checked,
		       ret ? "NOT all found" : "all found");
	}
out:
	/* Leave nothing behind for a second call in the same process. */
	free(win);
	win = NULL;
	win_off = 0;
	win_len = 0;
	free(streams);
	streams = NULL;
	nstreams = 0;
	if (dfd >= 0)
		close(dfd);
	if (ifd >= 0)
		close(ifd);
	return ret;
}
