// SPDX-License-Identifier: MIT
/*
 * fuzz_nbd.c: libFuzzer harness for hugeslab-nbd's protocol codec
 * (../nbd/proto.c), fed a client's byte stream as the server reads it:
 * 32-bit client flags, then options (16-byte header, data) answered by
 * nbd_opt_handle() until one enters transmission, then 28-byte request
 * headers checked by nbd_request_check().
 *
 * Invariants: every reply sequence is well formed (magic, the option
 * echoed, lengths that add up to what the engine says it wrote, nothing
 * past NBD_OPT_OUT_MAX); entering names a real export; a request accepted
 * is a known command, aligned, inside the export and within the maximum
 * payload; only a WRITE over the maximum is fatal; an error carries an
 * NBD error code.
 *
 * Byte 0 picks the exports (count, sizes, maximum block size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static uint8_t out[NBD_OPT_OUT_MAX + 64];

static void check_replies(uint32_t opt, const struct nbd_opt_result *r,
			  int no_zeroes)
{
	size_t off = 0;
	int acked = 0;

	CHECK(r->len <= NBD_OPT_OUT_MAX);
	if (r->action == NBD_OPT_FATAL) {
		CHECK(r->len == 0 && r->why != NULL);
		return;
	}
	if (opt == NBD_OPT_EXPORT_NAME) {
		CHECK(r->action == NBD_OPT_ENTER);
		CHECK(r->len == (no_zeroes ? 10U : 134U));
		return;
	}
	while (off < r->len) {
		uint32_t type, len;

		CHECK(r->len - off >= NBD_REP_HDR_LEN);
		CHECK(!acked);	/* nothing after the final reply */
		CHECK(nbd_get64(out + off) == NBD_REP_MAGIC);
		CHECK(nbd_get32(out + off + 8) == opt);
		type = nbd_get32(out + off + 12);
		len = nbd_get32(out + off + 16);
		CHECK(len <= r->len - off - NBD_REP_HDR_LEN);
		if (type == NBD_REP_ACK || (type & NBD_REP_FLAG_ERROR))
			acked = 1;
		if (type == NBD_REP_INFO && nbd_get16(out + off + 20) == NBD_INFO_BLOCK_SIZE) {
			CHECK(len == 14);
			CHECK(nbd_get32(out + off + 22) == 4096);
		}
		off += NBD_REP_HDR_LEN + len;
	}
	CHECK(off == r->len && acked);
	if (r->action == NBD_OPT_ENTER)
		CHECK(opt == NBD_OPT_GO &&
		      nbd_get32(out + r->len - 8) == NBD_REP_ACK);
}

static void check_request(const uint8_t *p, const struct nbd_export_desc *e)
{
	struct nbd_request r;
	const char *why;
	uint32_t err;
	enum nbd_verdict v;

	if (nbd_request_decode(p, &r)) {
		CHECK(nbd_get32(p) != NBD_REQUEST_MAGIC);
		return;
	}
	v = nbd_request_check(&r, e, &err, &why);
	switch (v) {
	case NBD_REQ_OK:
		CHECK(err == 0);
		if (r.type == NBD_CMD_FLUSH || r.type == NBD_CMD_DISC) {
			CHECK(r.offset == 0 && r.length == 0 && r.flags == 0);
			break;
		}
		CHECK(r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE ||
		      r.type == NBD_CMD_TRIM || r.type == NBD_CMD_WRITE_ZEROES);
		CHECK(r.length != 0);
		CHECK(r.offset % e->min_block == 0 && r.length % e->min_block == 0);
		CHECK(r.offset <= e->size && r.offset + r.length <= e->size);
		CHECK(r.offset + r.length >= r.offset);
		if (r.type == NBD_CMD_READ || r.type == NBD_CMD_WRITE)
			CHECK(r.length <= e->max_block);
		if (r.flags & NBD_CMD_FLAG_NO_HOLE)
			CHECK(r.type == NBD_CMD_WRITE_ZEROES);
		CHECK(!(r.flags & ~(NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE)));
		break;
	case NBD_REQ_ERROR:
		CHECK(err != 0 && why != NULL);
		break;
	case NBD_REQ_FATAL:
		CHECK(r.type == NBD_CMD_WRITE && r.length > e->max_block && why);
		break;
	default:
		CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = { "a", "disk", "x.img", "" };
	struct nbd_export_desc exps[3];
	struct nbd_opt_result res;
	const char *why;
	unsigned int nexp, i;
	size_t pos = 1;
	int no_zeroes;
	uint8_t sel;

	if (size < 5)
		return 0;
	sel = data[0];
	nexp = 1 + sel % 3;
	for (i = 0; i < nexp; i++) {
		exps[i].name = names[i];
		exps[i].size = (uint64_t)(1 + ((sel >> 2) & 7) * (i + 1)) << 20;
		exps[i].tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
				 ((sel & 0x40) ? NBD_FLAG_READ_ONLY : NBD_FLAG_SEND_FUA);
		exps[i].min_block = 4096;
		exps[i].pref_block = 4096;
		exps[i].max_block = (sel & 0x80) ? 65536 : 32U << 20;
	}
	if (nbd_client_flags_check(nbd_get32(data + pos), &no_zeroes, &why))
		return 0;
	pos += 4;
	for (;;) {
		uint32_t opt, len;

		if (size - pos < NBD_OPT_HDR_LEN)
			return 0;
		if (nbd_opt_hdr_decode(data + pos, &opt, &len, &why)) {
			CHECK(why != NULL);
			return 0;
		}
		pos += NBD_OPT_HDR_LEN;
		if (len > size - pos)
			return 0;
		memset(out, 0xee, sizeof(out));
		nbd_opt_handle(opt, data + pos, len, exps, nexp, no_zeroes, out, &res);
		pos += len;
		check_replies(opt, &res, no_zeroes);
		for (i = (unsigned int)res.len; i < sizeof(out); i++)
			CHECK(out[i] == 0xee);	/* wrote nothing past its length */
		if (res.action == NBD_OPT_ENTER) {
			CHECK(res.export < nexp);
			break;
		}
		if (res.action != NBD_OPT_CONTINUE)
			return 0;
	}
	while (size - pos >= NBD_REQ_LEN) {
		check_request(data + pos, &exps[res.export]);
		pos += NBD_REQ_LEN;
	}
	return 0;
}
