// SPDX-License-Identifier: MIT
/*
 * fuzz_frame.c: libFuzzer harness for hugeslab-sink's record parser.
 *
 * 1. hs_rec_hdr_check() / hs_idx_ent_ok() (../sink/frame.c) on raw bytes,
 *    against the wire format's invariants: a header accepted has the magic,
 *    a header CRC that an independent bitwise CRC32C agrees with, flags 0
 *    and a length <= max_record; the hardware and table CRC32C agree.
 * 2. conn_parse() of ../sink/sink.c (#included here, main() renamed, its
 *    log sent to /dev/null), fed a record stream in random pieces with the
 *    buffer discipline of conn_read_zc(): receive buffers of exactly
 *    --buf-size bytes (malloc()ed, so ASan sees any access past them), a
 *    record that does not fit moved to a fresh buffer with its header bytes
 *    (at most 32), --max-record + 32 <= --buf-size as parse_opts() enforces.
 *    A reference parser over the whole stream predicts the records accepted
 *    and whether the connection is closed; every accepted record must be in
 *    the buffer byte for byte where its index entry says.
 *
 * Input: byte 0 picks buf_size/max_record, byte 1 the mode (raw stream, or
 * a list of record descriptors from which valid records are built with
 * chosen defects: bad magic, header CRC, payload CRC, flags, seq, stream,
 * length above max_record, truncation), bytes 2-3 seed the piece sizes.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *fuzz_log;
static int trace;	/* FUZZ_FRAME_TRACE=1: one line per input on stdout */
#define main hugeslab_sink_main
#undef stderr
#define stderr fuzz_log
#include "../sink/sink.c"
#undef stderr
#undef main

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static uint32_t crc32c_bitwise(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = 0xffffffffU;

	while (len--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78U : 0);
	}
	return ~c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	trace = getenv("FUZZ_FRAME_TRACE") != NULL;
	fuzz_log = trace ? stdout : fopen("/dev/null", "w");
	CHECK(fuzz_log);
	ep = -1;
	return 0;
}

/* ---- part 1: the header and index entry checks on raw bytes ---- */

static void fuzz_checks(const uint8_t *d, size_t n, uint32_t max_record)
{
	struct hs_rec_hdr h;
	struct hs_idx_ent e;
	const char *why;

	CHECK(hs_crc32c_sw(0, d, n) == hs_crc32c(0, d, n));
	CHECK(hs_crc32c_hw(0, d, n) == hs_crc32c_sw(0, d, n));
	if (n < 256)
		CHECK(hs_crc32c_sw(0, d, n) == crc32c_bitwise(d, n));
	if (n >= sizeof(h)) {
		memcpy(&h, d, sizeof(h));
		why = hs_rec_hdr_check(&h, max_record);
		if (!why) {
			CHECK(h.magic == HS_REC_MAGIC);
			CHECK(h.hcrc == crc32c_bitwise(&h, 28));
			CHECK(h.len <= max_record);
			CHECK(h.flags == 0);
		}
		/* sealing makes any header with sane fields pass */
		h.flags = 0;
		h.len = h.len % (max_record + 1);
		hs_rec_hdr_seal(&h);
		CHECK(hs_rec_hdr_check(&h, max_record) == NULL);
		/* and any change to the sealed bytes makes it fail */
		((uint8_t *)&h)[d[0] % 32] ^= (uint8_t)(1u << (d[1] % 8));
		CHECK(hs_rec_hdr_check(&h, max_record) != NULL);
	}
	if (n >= sizeof(e)) {
		memcpy(&e, d + n - sizeof(e), sizeof(e));
		if (hs_idx_ent_ok(&e)) {
			CHECK(e.magic == HS_IDX_ENT_MAGIC);
			CHECK(e.ecrc == crc32c_bitwise(&e, 36));
		}
		hs_idx_ent_seal(&e);
		CHECK(hs_idx_ent_ok(&e));
		((uint8_t *)&e)[d[2] % 40] ^= (uint8_t)(1u << (d[3] % 8));
		CHECK(!hs_idx_ent_ok(&e));
	}
}

/* ---- part 2: conn_parse() on a stream ---- */

struct rec { uint64_t off; uint32_t len; uint64_t seq; uint32_t stream; uint32_t crc; };

#define MAX_RECS 4096
static struct rec want[MAX_RECS], got[MAX_RECS];

/* Reference parser. Returns the number of records accepted; *err set if the
 * stream is bad after them. */
static unsigned int ref_parse(const uint8_t *s, size_t n, uint32_t max_record,
			      int *err)
{
	size_t off = 0;
	unsigned int k = 0;
	uint64_t seq = 1;
	uint32_t stream = 0;
	struct hs_rec_hdr h;

	*err = 0;
	while (n - off >= HS_REC_HDR && k < MAX_RECS) {
		memcpy(&h, s + off, sizeof(h));
		if (h.magic != HS_REC_MAGIC || h.hcrc != hs_crc32c_sw(0, &h, 28) ||
		    h.len > max_record || h.flags || h.seq != seq ||
		    (k && h.stream != stream)) {
			*err = 1;
			break;
		}
		stream = h.stream;
		if (n - off - HS_REC_HDR < h.len)
			break;
		if (hs_crc32c_sw(0, s + off + HS_REC_HDR, h.len) != h.crc) {
			*err = 1;
			break;
		}
		want[k++] = (struct rec){ off, h.len, h.seq, h.stream, h.crc };
		off += HS_REC_HDR + h.len;
		seq++;
	}
	return k;
}

static uint32_t rng;
static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static unsigned int ngot;
static size_t buf_stream_off;	/* stream offset of buf[0] */

/* Index entries pushed by conn_parse(): check each against the stream. */
static void collect(struct conn *c, const uint8_t *s)
{
	for (uint32_t i = 0; i < c->nents; i++) {
		struct hs_idx_ent *e = &c->ents[i];

		CHECK(ngot < MAX_RECS);
		CHECK(e->off + HS_REC_HDR + e->len <= opt.buf_size);
		CHECK(e->len <= opt.max_record);
		/* header and payload are in the buffer where the entry says */
		CHECK(memcmp(c->buf + e->off, s + buf_stream_off + e->off,
			     HS_REC_HDR + e->len) == 0);
		CHECK(hs_crc32c_sw(0, c->buf + e->off + HS_REC_HDR, e->len) == e->crc);
		got[ngot++] = (struct rec){ buf_stream_off + e->off, e->len,
					    e->seq, e->stream, e->crc };
	}
	c->nents = 0;
	c->ents_payload = 0;
}

static char *cur_buf;	/* conn_close() clears c->buf without freeing it */

static char *new_buf(void)
{
	char *b = malloc(opt.buf_size);

	CHECK(b);
	free(cur_buf);
	cur_buf = b;
	memset(b, 0xee, opt.buf_size);
	return b;
}

static void fuzz_stream(const uint8_t *s, size_t n, uint8_t piece_mode)
{
	struct conn *c = calloc(1, sizeof(*c));
	size_t fed = 0;
	unsigned int nwant, i;
	int err, r = 0, closed = 0;

	CHECK(c);
	c->fd = -1;
	c->next_seq = 1;
	c->in_x = true;	/* conn_close() must not hs_put() our malloc()ed buffer */
	c->buf = new_buf();
	ngot = 0;
	buf_stream_off = 0;

	while (!c->closing) {
		uint32_t wantb, space, k;

		if (c->state == ST_HDR && c->pos - c->rec_start >= HS_REC_HDR) {
			/* a header carried over from the previous buffer */
			r = conn_parse(c);
		} else {
			if (fed == n)
				break;
			space = opt.buf_size - c->pos;
			if (c->state == ST_HDR)
				wantb = HS_REC_HDR - (c->pos - c->rec_start);
			else
				wantb = c->rec_start + 2 * HS_REC_HDR + c->hdr.len - c->pos;
			if (wantb > space)
				wantb = space;
			/* recv(2) of 0 bytes would read as EOF */
			CHECK(wantb > 0);
			switch (piece_mode & 3) {
			case 0: k = wantb; break;
			case 1: k = n <= 8192 ? 1 : 1 + next_rand() % wantb; break;
			default: k = 1 + next_rand() % wantb; break;
			}
			if (k > n - fed)
				k = (uint32_t)(n - fed);
			memcpy(c->buf + c->pos, s + fed, k);
			c->pos += k;
			fed += k;
			r = conn_parse(c);
		}
		if (r < 0) {
			closed = 1;
			break;
		}
		collect(c, s);
		if (r > 0) {
			/* conn_relocate() + conn_take_buf() */
			uint32_t have = c->pos - c->rec_start;

			CHECK(c->state == ST_HDR);
			CHECK(have <= HS_REC_HDR);
			/* a record that cannot fit even an empty buffer would
			 * relocate forever */
			CHECK(c->rec_start > 0);
			memcpy(c->stash, c->buf + c->rec_start, have);
			c->stash_len = have;
			buf_stream_off += c->rec_start;
			c->buf = new_buf();
			memcpy(c->buf, c->stash, c->stash_len);
			c->pos = c->stash_len;
			c->rec_start = c->flushed = 0;
			c->stash_len = 0;
		} else if ((piece_mode & 4) && c->pos == c->rec_start &&
			   c->state == ST_HDR) {
			/* end of a wakeup: the empty buffer goes back */
			buf_stream_off += c->rec_start;
			c->buf = new_buf();
			c->pos = c->rec_start = c->flushed = 0;
		}
	}
	if (c->closing)
		closed = 1;
	nwant = ref_parse(s, n, opt.max_record, &err);
	if (trace)
		printf("buf_size %u max_record %u stream %zu bytes: %u records "
		       "accepted (reference %u), closed %d (reference %d)\n",
		       opt.buf_size, opt.max_record, n, ngot, nwant, closed, err);
	/* closed exactly when the stream is bad; records before the bad one
	 * may be dropped with the connection, others must all be there */
	CHECK(closed == err);
	CHECK(ngot <= nwant);
	if (!closed)
		CHECK(ngot == nwant);
	for (i = 0; i < ngot; i++) {
		CHECK(got[i].off == want[i].off);
		CHECK(got[i].len == want[i].len);
		CHECK(got[i].seq == want[i].seq);
		CHECK(got[i].stream == want[i].stream);
		CHECK(got[i].crc == want[i].crc);
	}
	free(cur_buf);
	cur_buf = NULL;
	free(c->ents);
	free(c);
}

/* Build a stream from record descriptors: ctl, len (2 bytes), fill. */
static size_t build(const uint8_t *d, size_t n, uint8_t *out, size_t cap,
		    uint32_t max_record)
{
	size_t o = 0;
	uint64_t seq = 1;
	uint32_t stream = 0x1234;

	while (n >= 4) {
		uint8_t ctl = d[0], fill = d[3];
		uint32_t len = (uint32_t)(d[1] | d[2] << 8) % (max_record + 1);
		struct hs_rec_hdr h;

		d += 4;
		n -= 4;
		if ((ctl & 0xe0) == 0xe0)	/* a length just above the limit */
			len = max_record + 1 + (ctl & 3);
		if (o + HS_REC_HDR + len > cap)
			break;
		for (uint32_t i = 0; i < len && (ctl & 0xe0) != 0xe0; i++)
			out[o + HS_REC_HDR + i] = (uint8_t)(fill + i * 7);
		if ((ctl & 0xe0) == 0xe0)
			memset(out + o + HS_REC_HDR, fill, len);
		memset(&h, 0, sizeof(h));
		h.len = len;
		h.stream = stream;
		h.seq = seq++;
		h.crc = hs_crc32c(0, out + o + HS_REC_HDR, len);
		switch (ctl & 0xe0) {	/* at most one defect per record */
		case 0x20: if (ctl & 1) h.crc ^= 1u << (fill & 31); break;
		case 0x40: if (ctl & 1) h.flags = 1u << (fill & 31); break;
		case 0x60: if (ctl & 1) h.seq += 1 + (fill & 3); break;
		case 0x80: if (ctl & 1) h.stream ^= 1u << (fill & 31); break;
		default: break;
		}
		hs_rec_hdr_seal(&h);
		if ((ctl & 0xe0) == 0xa0 && (ctl & 1))
			h.hcrc ^= 1u << (fill & 31);
		if ((ctl & 0xe0) == 0xc0 && (ctl & 1))
			h.magic ^= 1u << (fill & 31);
		memcpy(out + o, &h, sizeof(h));
		o += HS_REC_HDR + len;
		if ((ctl & 0x1e) == 0x1e && n < 4) {	/* truncate the last one */
			o -= 1 + fill % (HS_REC_HDR + len);
			break;
		}
	}
	return o;
}

static const uint32_t buf_sizes[] = { 512, 1000, 4096, 4100, 8192, 65536, 300, 2048 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stream[1 << 18];
	uint8_t b0, mode;
	size_t n;

	if (size < 4)
		return 0;
	b0 = data[0];
	mode = data[1];
	opt.buf_size = buf_sizes[b0 & 7];
	if (opt.buf_size < 512)	/* a buffer that only just holds one header */
		opt.buf_size = 64 + (b0 >> 3);
	opt.max_record = (b0 & 0x80) ? opt.buf_size - HS_REC_HDR
				     : (uint32_t)(data[2] | data[3] << 8) %
				       (opt.buf_size - HS_REC_HDR + 1);
	rng = (uint32_t)(data[2] << 8 | data[3]) * 2654435761u + 1;

	fuzz_checks(data, size, opt.max_record);
	if (mode & 0x80) {
		fuzz_stream(data + 4, size - 4, mode);
	} else {
		n = build(data + 4, size - 4, stream, sizeof(stream), opt.max_record);
		fuzz_stream(stream, n, mode);
	}
	return 0;
}
