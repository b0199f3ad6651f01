// SPDX-License-Identifier: MIT
/*
 * t-proto.c: unit test of the NBD codec (../proto.c): option replies byte
 * by byte, request validation case by case, against the rules of proto.md.
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static int failures;

#define EXPECT(c) do { if (!(c)) { fprintf(stderr, "%s:%d: FAIL: %s\n", \
	__FILE__, __LINE__, #c); failures++; } } while (0)

static const struct nbd_export_desc exps[2] = {
	{ "disk0", 1 << 20, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
	  NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES,
	  4096, 4096, 32 << 20 },
	{ "ro", 8192, NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY, 4096, 4096,
	  65536 },
};

static uint8_t out[NBD_OPT_OUT_MAX];

/* Check the option reply header at @p and return its data length. */
static uint32_t rep_at(const uint8_t *p, uint32_t opt, uint32_t type)
{
	EXPECT(nbd_get64(p) == NBD_REP_MAGIC);
	EXPECT(nbd_get32(p + 8) == opt);
	EXPECT(nbd_get32(p + 12) == type);
	return nbd_get32(p + 16);
}

static size_t go_data(uint8_t *d, const char *name, int ninfo)
{
	size_t n = strlen(name);

	nbd_put32(d, (uint32_t)n);
	memcpy(d + 4, name, n);
	nbd_put16(d + 4 + n, (uint16_t)ninfo);
	for (int i = 0; i < ninfo; i++)
		nbd_put16(d + 6 + n + 2 * i, NBD_INFO_NAME);
	return 6 + n + 2 * (size_t)ninfo;
}

static void test_handshake(void)
{
	struct nbd_opt_result r;
	uint8_t hello[NBD_HELLO_LEN], d[64], h[16];
	const char *why;
	uint32_t opt, len;
	int nz;
	size_t n;

	nbd_hello_encode(hello);
	EXPECT(!memcmp(hello, "NBDMAGICIHAVEOPT\0\3", 18));
	EXPECT(nbd_client_flags_check(3, &nz, &why) == 0 && nz == 1);
	EXPECT(nbd_client_flags_check(1, &nz, &why) == 0 && nz == 0);
	EXPECT(nbd_client_flags_check(0, &nz, &why) == -1);	/* old newstyle */
	EXPECT(nbd_client_flags_check(5, &nz, &why) == -1);	/* unknown */

	nbd_put64(h, NBD_IHAVEOPT);
	nbd_put32(h + 8, NBD_OPT_GO);
	nbd_put32(h + 12, 10);
	EXPECT(nbd_opt_hdr_decode(h, &opt, &len, &why) == 0 && opt == 7 && len == 10);
	nbd_put32(h + 12, NBD_OPT_DATA_MAX + 1);
	EXPECT(nbd_opt_hdr_decode(h, &opt, &len, &why) == -1);
	h[0] ^= 1;
	nbd_put32(h + 12, 0);
	EXPECT(nbd_opt_hdr_decode(h, &opt, &len, &why) == -1);

	/* GO on the default export: EXPORT info, BLOCK_SIZE info, ACK. */
	n = go_data(d, "", 0);
	nbd_opt_handle(NBD_OPT_GO, d, (uint32_t)n, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_ENTER && r.export == 0);
	EXPECT(r.len == 3 * 20 + 12 + 14);
	EXPECT(rep_at(out, NBD_OPT_GO, NBD_REP_INFO) == 12);
	EXPECT(nbd_get16(out + 20) == NBD_INFO_EXPORT);
	EXPECT(nbd_get64(out + 22) == 1 << 20);
	EXPECT(nbd_get16(out + 30) == exps[0].tflags);
	EXPECT(rep_at(out + 32, NBD_OPT_GO, NBD_REP_INFO) == 14);
	EXPECT(nbd_get16(out + 52) == NBD_INFO_BLOCK_SIZE);
	EXPECT(nbd_get32(out + 54) == 4096 && nbd_get32(out + 58) == 4096 &&
	       nbd_get32(out + 62) == 32 << 20);
	EXPECT(rep_at(out + 66, NBD_OPT_GO, NBD_REP_ACK) == 0);

	/* INFO by name with NBD_INFO_NAME asked: does not enter. */
	n = go_data(d, "ro", 1);
	nbd_opt_handle(NBD_OPT_INFO, d, (uint32_t)n, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CONTINUE);
	EXPECT(r.len == 4 * 20 + 12 + 14 + 4);
	EXPECT(nbd_get64(out + 22) == 8192);
	EXPECT(rep_at(out + 66, NBD_OPT_INFO, NBD_REP_INFO) == 4);
	EXPECT(!memcmp(out + 88, "ro", 2));

	/* Unknown export, malformed lengths. */
	n = go_data(d, "nope", 0);
	nbd_opt_handle(NBD_OPT_GO, d, (uint32_t)n, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CONTINUE && r.len == 20);
	EXPECT(rep_at(out, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN) == 0);
	nbd_opt_handle(NBD_OPT_GO, d, (uint32_t)n - 1, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CONTINUE && rep_at(out, 7, NBD_REP_ERR_INVALID) == 0);
	nbd_put32(d, 0xffffffffU);	/* name length past the data */
	nbd_opt_handle(NBD_OPT_GO, d, (uint32_t)n, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CONTINUE && rep_at(out, 7, NBD_REP_ERR_INVALID) == 0);
	nbd_opt_handle(NBD_OPT_GO, d, 3, exps, 2, 1, out, &r);
	EXPECT(rep_at(out, 7, NBD_REP_ERR_INVALID) == 0);

	/* EXPORT_NAME: size, flags, zeroes unless NO_ZEROES; unknown closes. */
	nbd_opt_handle(NBD_OPT_EXPORT_NAME, (const uint8_t *)"ro", 2, exps, 2, 0, out, &r);
	EXPECT(r.action == NBD_OPT_ENTER && r.export == 1 && r.len == 134);
	EXPECT(nbd_get64(out) == 8192 && nbd_get16(out + 8) == exps[1].tflags);
	nbd_opt_handle(NBD_OPT_EXPORT_NAME, NULL, 0, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_ENTER && r.export == 0 && r.len == 10);
	nbd_opt_handle(NBD_OPT_EXPORT_NAME, (const uint8_t *)"x", 1, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_FATAL && r.len == 0 && r.why);

	/* LIST: one SERVER per export, then ACK; data makes it invalid. */
	nbd_opt_handle(NBD_OPT_LIST, NULL, 0, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CONTINUE && r.len == 20 + 9 + 20 + 6 + 20);
	EXPECT(rep_at(out, 3, NBD_REP_SERVER) == 9 && nbd_get32(out + 20) == 5);
	EXPECT(!memcmp(out + 24, "disk0", 5));
	EXPECT(rep_at(out + 29, 3, NBD_REP_SERVER) == 6);
	EXPECT(rep_at(out + 55, 3, NBD_REP_ACK) == 0);
	nbd_opt_handle(NBD_OPT_LIST, d, 1, exps, 2, 1, out, &r);
	EXPECT(rep_at(out, 3, NBD_REP_ERR_INVALID) == 0);

	/* ABORT acks and closes; anything else is unsupported. */
	nbd_opt_handle(NBD_OPT_ABORT, NULL, 0, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CLOSE && rep_at(out, 2, NBD_REP_ACK) == 0);
	nbd_opt_handle(NBD_OPT_STRUCTURED_REPLY, NULL, 0, exps, 2, 1, out, &r);
	EXPECT(r.action == NBD_OPT_CONTINUE && rep_at(out, 8, NBD_REP_ERR_UNSUP) == 0);
	nbd_opt_handle(NBD_OPT_STARTTLS, NULL, 0, exps, 2, 1, out, &r);
	EXPECT(rep_at(out, 5, NBD_REP_ERR_UNSUP) == 0);
	nbd_opt_handle(0x12345, NULL, 0, exps, 2, 1, out, &r);
	EXPECT(rep_at(out, 0x12345, NBD_REP_ERR_UNSUP) == 0);
}

static enum nbd_verdict chk(int e, uint16_t type, uint16_t flags, uint64_t off,
			    uint32_t len, uint32_t *err)
{
	struct nbd_request r = { flags, type, 42, off, len };
	const char *why;

	return nbd_request_check(&r, &exps[e], err, &why);
}

static void test_requests(void)
{
	struct nbd_request r = { NBD_CMD_FLAG_FUA, NBD_CMD_WRITE,
				 0x1122334455667788ULL, 4096, 8192 }, d;
	uint8_t b[NBD_REQ_LEN], rep[NBD_REPLY_LEN];
	uint32_t err;

	nbd_request_encode(b, &r);
	EXPECT(nbd_request_decode(b, &d) == 0);
	EXPECT(d.flags == r.flags && d.type == r.type && d.cookie == r.cookie &&
	       d.offset == r.offset && d.length == r.length);
	b[0] ^= 0x80;
	EXPECT(nbd_request_decode(b, &d) == -1);
	nbd_reply_encode(rep, NBD_EIO, 0x1122334455667788ULL);
	EXPECT(!memcmp(rep, "\x67\x44\x66\x98\0\0\0\x05\x11\x22\x33\x44\x55\x66\x77\x88", 16));

	EXPECT(chk(0, NBD_CMD_WRITE, 0, 0, 4096, &err) == NBD_REQ_OK);
	EXPECT(chk(0, NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, (1 << 20) - 4096, 4096, &err) == NBD_REQ_OK);
	EXPECT(chk(0, NBD_CMD_READ, 0, 0, 1 << 20, &err) == NBD_REQ_OK);
	EXPECT(chk(0, NBD_CMD_FLUSH, 0, 0, 0, &err) == NBD_REQ_OK);
	EXPECT(chk(0, NBD_CMD_TRIM, 0, 8192, 4096, &err) == NBD_REQ_OK);
	EXPECT(chk(0, NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 0, 4096, &err) == NBD_REQ_OK);
	EXPECT(chk(0, NBD_CMD_DISC, 0, 0, 0, &err) == NBD_REQ_OK);
	/* unaligned offset and length */
	EXPECT(chk(0, NBD_CMD_WRITE, 0, 512, 4096, &err) == NBD_REQ_ERROR && err == NBD_EINVAL);
	EXPECT(chk(0, NBD_CMD_READ, 0, 0, 4095, &err) == NBD_REQ_ERROR && err == NBD_EINVAL);
	/* out of range, including an offset that wraps */
	EXPECT(chk(0, NBD_CMD_WRITE, 0, 1 << 20, 4096, &err) == NBD_REQ_ERROR && err == NBD_ENOSPC);
	EXPECT(chk(0, NBD_CMD_READ, 0, (1 << 20) - 4096, 8192, &err) == NBD_REQ_ERROR && err == NBD_EINVAL);
	EXPECT(chk(0, NBD_CMD_READ, 0, 0xfffffffffffff000ULL, 8192, &err) == NBD_REQ_ERROR);
	EXPECT(chk(0, NBD_CMD_TRIM, 0, 0, 2 << 20, &err) == NBD_REQ_ERROR);
	/* zero length, unknown command, bad flags */
	EXPECT(chk(0, NBD_CMD_READ, 0, 0, 0, &err) == NBD_REQ_ERROR && err == NBD_EINVAL);
	EXPECT(chk(0, 5, 0, 0, 4096, &err) == NBD_REQ_ERROR && err == NBD_EINVAL);
	EXPECT(chk(0, 99, 0, 0, 0, &err) == NBD_REQ_ERROR && err == NBD_EINVAL);
	EXPECT(chk(0, NBD_CMD_WRITE, NBD_CMD_FLAG_NO_HOLE, 0, 4096, &err) == NBD_REQ_ERROR);
	EXPECT(chk(0, NBD_CMD_WRITE, 1 << 4, 0, 4096, &err) == NBD_REQ_ERROR);
	EXPECT(chk(0, NBD_CMD_FLUSH, 0, 0, 4096, &err) == NBD_REQ_ERROR);
	EXPECT(chk(0, NBD_CMD_FLUSH, NBD_CMD_FLAG_FUA, 0, 0, &err) == NBD_REQ_ERROR);
	/* FUA not negotiated, read-only export */
	EXPECT(chk(1, NBD_CMD_READ, NBD_CMD_FLAG_FUA, 0, 4096, &err) == NBD_REQ_ERROR);
	EXPECT(chk(1, NBD_CMD_WRITE, 0, 0, 4096, &err) == NBD_REQ_ERROR && err == NBD_EPERM);
	EXPECT(chk(1, NBD_CMD_READ, 0, 0, 8192, &err) == NBD_REQ_OK);
	/* over the maximum: a read is refused, a write closes */
	EXPECT(chk(0, NBD_CMD_READ, 0, 0, (32 << 20) + 4096, &err) == NBD_REQ_ERROR);
	EXPECT(chk(0, NBD_CMD_WRITE, 0, 0, (32 << 20) + 4096, &err) == NBD_REQ_FATAL);
	EXPECT(chk(0, NBD_CMD_WRITE, 0, 0, 0xffffffffU, &err) == NBD_REQ_FATAL);

	EXPECT(nbd_errno(ENOSPC) == NBD_ENOSPC && nbd_errno(EIO) == NBD_EIO &&
	       nbd_errno(EROFS) == NBD_EPERM && nbd_errno(ENXIO) == NBD_EIO);
}

int main(void)
{
	test_handshake();
	test_requests();
	if (failures) {
		fprintf(stderr, "t-proto: %d failures\n", failures);
		return 1;
	}
	printf("t-proto: ok\n");
	return 0;
}
