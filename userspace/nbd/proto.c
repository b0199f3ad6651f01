// SPDX-License-Identifier: MIT
/*
 * proto.c: the NBD codec (see proto.h). No I/O, no allocation, no global
 * state: every function reads its arguments and writes its outputs, so the
 * fuzzer can drive it with arbitrary bytes.
 */
#include <errno.h>
#include <string.h>

#include "proto.h"

void nbd_hello_encode(uint8_t out[NBD_HELLO_LEN])
{
	nbd_put64(out, NBDMAGIC);
	nbd_put64(out + 8, NBD_IHAVEOPT);
	nbd_put16(out + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}

int nbd_client_flags_check(uint32_t flags, int *no_zeroes, const char **why)
{
	/* Old newstyle clients cannot be told an option is unsupported. */
	if (!(flags & NBD_FLAG_C_FIXED_NEWSTYLE)) {
		*why = "client is not fixed newstyle";
		return -1;
	}
	if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
		*why = "unknown client flags";
		return -1;
	}
	*no_zeroes = !!(flags & NBD_FLAG_C_NO_ZEROES);
	return 0;
}

int nbd_opt_hdr_decode(const uint8_t in[NBD_OPT_HDR_LEN], uint32_t *opt,
		       uint32_t *len, const char **why)
{
	if (nbd_get64(in) != NBD_IHAVEOPT) {
		*why = "bad option magic";
		return -1;
	}
	*opt = nbd_get32(in + 8);
	*len = nbd_get32(in + 12);
	if (*len > NBD_OPT_DATA_MAX) {
		*why = "option data too long";
		return -1;
	}
	return 0;
}

/* Append one option reply header and return where its data goes. */
static uint8_t *rep_put(uint8_t *out, struct nbd_opt_result *res,
			uint32_t opt, uint32_t type, uint32_t len)
{
	uint8_t *p = out + res->len;

	nbd_put64(p, NBD_REP_MAGIC);
	nbd_put32(p + 8, opt);
	nbd_put32(p + 12, type);
	nbd_put32(p + 16, len);
	res->len += NBD_REP_HDR_LEN + len;
	return p + NBD_REP_HDR_LEN;
}

/* Export called @name (@len bytes), or -1; "" is the first export. */
static int export_find(const struct nbd_export_desc *exp, unsigned int nexp,
		       const uint8_t *name, uint32_t len)
{
	unsigned int i;

	if (len == 0)
		return nexp ? 0 : -1;
	for (i = 0; i < nexp; i++)
		if (strlen(exp[i].name) == len && !memcmp(exp[i].name, name, len))
			return (int)i;
	return -1;
}

static void info_reply(uint8_t *out, struct nbd_opt_result *res, uint32_t opt,
		       const struct nbd_export_desc *e, int want_name)
{
	uint8_t *p;
	uint32_t nlen = (uint32_t)strlen(e->name);

	p = rep_put(out, res, opt, NBD_REP_INFO, 12);
	nbd_put16(p, NBD_INFO_EXPORT);
	nbd_put64(p + 2, e->size);
	nbd_put16(p + 10, e->tflags);
	/*
	 * Sent whether or not the client asked: the protocol allows it, and
	 * a client that knows our 4096-byte minimum does not send requests
	 * that we would have to refuse.
	 */
	p = rep_put(out, res, opt, NBD_REP_INFO, 14);
	nbd_put16(p, NBD_INFO_BLOCK_SIZE);
	nbd_put32(p + 2, e->min_block);
	nbd_put32(p + 6, e->pref_block);
	nbd_put32(p + 10, e->max_block);
	if (want_name) {
		p = rep_put(out, res, opt, NBD_REP_INFO, 2 + nlen);
		nbd_put16(p, NBD_INFO_NAME);
		memcpy(p + 2, e->name, nlen);
	}
	rep_put(out, res, opt, NBD_REP_ACK, 0);
}

/* NBD_OPT_INFO and NBD_OPT_GO: name length, name, count, info types. */
static void opt_info_go(uint32_t opt, const uint8_t *data, uint32_t len,
			const struct nbd_export_desc *exp, unsigned int nexp,
			uint8_t *out, struct nbd_opt_result *res)
{
	uint32_t nlen, nreq, i;
	int idx, want_name = 0;

	if (len < 6)
		goto invalid;
	nlen = nbd_get32(data);
	if (nlen > NBD_NAME_MAX || nlen > len - 6)
		goto invalid;
	nreq = nbd_get16(data + 4 + nlen);
	if (len != 4 + nlen + 2 + 2 * nreq)
		goto invalid;
	for (i = 0; i < nreq; i++)
		if (nbd_get16(data + 6 + nlen + 2 * i) == NBD_INFO_NAME)
			want_name = 1;
	idx = export_find(exp, nexp, data + 4, nlen);
	if (idx < 0) {
		rep_put(out, res, opt, NBD_REP_ERR_UNKNOWN, 0);
		return;
	}
	info_reply(out, res, opt, &exp[idx], want_name);
	if (opt == NBD_OPT_GO) {
		res->action = NBD_OPT_ENTER;
		res->export = (unsigned int)idx;
	}
	return;
invalid:
	rep_put(out, res, opt, NBD_REP_ERR_INVALID, 0);
}

void nbd_opt_handle(uint32_t opt, const uint8_t *data, uint32_t len,
		    const struct nbd_export_desc *exp, unsigned int nexp,
		    int no_zeroes, uint8_t *out, struct nbd_opt_result *res)
{
	unsigned int i;
	uint8_t *p;
	int idx;

	res->action = NBD_OPT_CONTINUE;
	res->export = 0;
	res->len = 0;
	res->why = NULL;
	if (nexp > NBD_EXPORTS_MAX || len > NBD_OPT_DATA_MAX) {
		res->action = NBD_OPT_FATAL;
		res->why = "option data too long";
		return;
	}
	switch (opt) {
	case NBD_OPT_EXPORT_NAME:
		/* No way to report an error here but closing. */
		idx = export_find(exp, nexp, data, len);
		if (idx < 0) {
			res->action = NBD_OPT_FATAL;
			res->why = "NBD_OPT_EXPORT_NAME of an unknown export";
			return;
		}
		nbd_put64(out, exp[idx].size);
		nbd_put16(out + 8, exp[idx].tflags);
		res->len = 10;
		if (!no_zeroes) {
			memset(out + 10, 0, 124);
			res->len += 124;
		}
		res->action = NBD_OPT_ENTER;
		res->export = (unsigned int)idx;
		return;
	case NBD_OPT_ABORT:
		rep_put(out, res, opt, NBD_REP_ACK, 0);
		res->action = NBD_OPT_CLOSE;
		return;
	case NBD_OPT_LIST:
		if (len) {
			rep_put(out, res, opt, NBD_REP_ERR_INVALID, 0);
			return;
		}
		for (i = 0; i < nexp; i++) {
			uint32_t nlen = (uint32_t)strnlen(exp[i].name, 255);

			p = rep_put(out, res, opt, NBD_REP_SERVER, 4 + nlen);
			nbd_put32(p, nlen);
			memcpy(p + 4, exp[i].name, nlen);
		}
		rep_put(out, res, opt, NBD_REP_ACK, 0);
		return;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		opt_info_go(opt, data, len, exp, nexp, out, res);
		return;
	default:
		/* STARTTLS, STRUCTURED_REPLY, meta contexts, ...: not offered. */
		rep_put(out, res, opt, NBD_REP_ERR_UNSUP, 0);
		return;
	}
}

int nbd_request_decode(const uint8_t in[NBD_REQ_LEN], struct nbd_request *r)
{
	if (nbd_get32(in) != NBD_REQUEST_MAGIC)
		return -1;
	r->flags = nbd_get16(in + 4);
	r->type = nbd_get16(in + 6);
	r->cookie = nbd_get64(in + 8);
	r->offset = nbd_get64(in + 16);
	r->length = nbd_get32(in + 24);
	return 0;
}

void nbd_request_encode(uint8_t out[NBD_REQ_LEN], const struct nbd_request *r)
{
	nbd_put32(out, NBD_REQUEST_MAGIC);
	nbd_put16(out + 4, r->flags);
	nbd_put16(out + 6, r->type);
	nbd_put64(out + 8, r->cookie);
	nbd_put64(out + 16, r->offset);
	nbd_put32(out + 24, r->length);
}

static enum nbd_verdict refuse(uint32_t *err, const char **why, uint32_t e,
			       const char *reason)
{
	*err = e;
	*why = reason;
	return NBD_REQ_ERROR;
}

enum nbd_verdict nbd_request_check(const struct nbd_request *r,
				   const struct nbd_export_desc *e,
				   uint32_t *err, const char **why)
{
	uint16_t allowed = 0;
	uint64_t mask = e->min_block - 1;

	*err = 0;
	*why = NULL;
	switch (r->type) {
	case NBD_CMD_WRITE:
		/* Its payload cannot be kept, and dropping 4 GiB is no better. */
		if (r->length > e->max_block) {
			*why = "write larger than the maximum block size";
			return NBD_REQ_FATAL;
		}
		allowed = NBD_CMD_FLAG_FUA;
		break;
	case NBD_CMD_READ:
	case NBD_CMD_TRIM:
		allowed = NBD_CMD_FLAG_FUA;
		break;
	case NBD_CMD_WRITE_ZEROES:
		allowed = NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE;
		break;
	case NBD_CMD_FLUSH:
	case NBD_CMD_DISC:
		if (r->flags)
			return refuse(err, why, NBD_EINVAL, "flags on FLUSH/DISC");
		if (r->offset || r->length)
			return refuse(err, why, NBD_EINVAL,
				      "FLUSH/DISC with offset or length");
		return NBD_REQ_OK;
	default:
		return refuse(err, why, NBD_EINVAL, "unknown command");
	}
	if (r->flags & ~allowed)
		return refuse(err, why, NBD_EINVAL, "flag not allowed");
	if ((r->flags & NBD_CMD_FLAG_FUA) && !(e->tflags & NBD_FLAG_SEND_FUA))
		return refuse(err, why, NBD_EINVAL, "FUA not negotiated");
	if (r->type != NBD_CMD_READ && (e->tflags & NBD_FLAG_READ_ONLY))
		return refuse(err, why, NBD_EPERM, "export is read-only");
	if (r->length == 0)
		return refuse(err, why, NBD_EINVAL, "zero length");
	if ((r->offset | r->length) & mask)
		return refuse(err, why, NBD_EINVAL, "unaligned request");
	if (r->offset > e->size || r->length > e->size - r->offset)
		return refuse(err, why, r->type == NBD_CMD_WRITE ||
			      r->type == NBD_CMD_WRITE_ZEROES ? NBD_ENOSPC :
			      NBD_EINVAL, "request beyond the end of the export");
	if (r->type == NBD_CMD_READ && r->length > e->max_block)
		/* EOVERFLOW is for NBD_CMD_FLAG_DF only (proto.md). */
		return refuse(err, why, NBD_EINVAL,
			      "read larger than the maximum block size");
	return NBD_REQ_OK;
}

uint32_t nbd_errno(int err)
{
	switch (err) {
	case 0:
		return 0;
	case EPERM:
	case EROFS:
		return NBD_EPERM;
	case ENOMEM:
		return NBD_ENOMEM;
	case EINVAL:
		return NBD_EINVAL;
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NBD_ENOSPC;
	case EOVERFLOW:
		return NBD_EOVERFLOW;
	case EOPNOTSUPP:
		return NBD_ENOTSUP;
	case ESHUTDOWN:
		return NBD_ESHUTDOWN;
	default:
		return NBD_EIO;
	}
}

void nbd_reply_encode(uint8_t out[NBD_REPLY_LEN], uint32_t err,
		      uint64_t cookie)
{
	nbd_put32(out, NBD_SIMPLE_REPLY_MAGIC);
	nbd_put32(out + 4, err);
	nbd_put64(out + 8, cookie);
}
