/* SPDX-License-Identifier: MIT */
/*
 * proto.h: the NBD wire protocol (doc/proto.md of the NetworkBlockDevice
 * project), fixed newstyle only, as a codec with no I/O: the handshake's
 * option engine, request header decode and validation, reply encode. The
 * server (handshake.c, worker.c), the unit test and the fuzzer share it.
 * Constants carry the specification's names.
 */
#ifndef HS_NBD_PROTO_H
#define HS_NBD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define NBDMAGIC			0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_IHAVEOPT			0x49484156454f5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC			0x0003e889045565a9ULL
#define NBD_REQUEST_MAGIC		0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC		0x67446698U

/* Handshake flags (server) and client flags. */
#define NBD_FLAG_FIXED_NEWSTYLE		(1U << 0)
#define NBD_FLAG_NO_ZEROES		(1U << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_C_NO_ZEROES		(1U << 1)

/* Options. */
#define NBD_OPT_EXPORT_NAME		1U
#define NBD_OPT_ABORT			2U
#define NBD_OPT_LIST			3U
#define NBD_OPT_STARTTLS		5U
#define NBD_OPT_INFO			6U
#define NBD_OPT_GO			7U
#define NBD_OPT_STRUCTURED_REPLY	8U

/* Option replies. */
#define NBD_REP_ACK			1U
#define NBD_REP_SERVER			2U
#define NBD_REP_INFO			3U
#define NBD_REP_FLAG_ERROR		(1U << 31)
#define NBD_REP_ERR_UNSUP		(NBD_REP_FLAG_ERROR | 1U)
#define NBD_REP_ERR_INVALID		(NBD_REP_FLAG_ERROR | 3U)
#define NBD_REP_ERR_UNKNOWN		(NBD_REP_FLAG_ERROR | 6U)

/* Information types of NBD_REP_INFO. */
#define NBD_INFO_EXPORT			0U
#define NBD_INFO_NAME			1U
#define NBD_INFO_DESCRIPTION		2U
#define NBD_INFO_BLOCK_SIZE		3U

/* Transmission flags. */
#define NBD_FLAG_HAS_FLAGS		(1U << 0)
#define NBD_FLAG_READ_ONLY		(1U << 1)
#define NBD_FLAG_SEND_FLUSH		(1U << 2)
#define NBD_FLAG_SEND_FUA		(1U << 3)
#define NBD_FLAG_SEND_TRIM		(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES	(1U << 6)
#define NBD_FLAG_CAN_MULTI_CONN		(1U << 8)

/* Commands and their flags. */
#define NBD_CMD_READ			0U
#define NBD_CMD_WRITE			1U
#define NBD_CMD_DISC			2U
#define NBD_CMD_FLUSH			3U
#define NBD_CMD_TRIM			4U
#define NBD_CMD_WRITE_ZEROES		6U
#define NBD_CMD_FLAG_FUA		(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE		(1U << 1)

/* Errors of simple replies. */
#define NBD_EPERM			1U
#define NBD_EIO				5U
#define NBD_ENOMEM			12U
#define NBD_EINVAL			22U
#define NBD_ENOSPC			28U
#define NBD_EOVERFLOW			75U
#define NBD_ENOTSUP			95U
#define NBD_ESHUTDOWN			108U

#define NBD_HELLO_LEN			18U	/* NBDMAGIC, IHAVEOPT, flags */
#define NBD_OPT_HDR_LEN			16U
#define NBD_REQ_LEN			28U
#define NBD_REPLY_LEN			16U
#define NBD_REP_HDR_LEN			20U
/* Strings MUST be at most 4096 bytes; an option is a name and a few words. */
#define NBD_NAME_MAX			4096U
#define NBD_OPT_DATA_MAX		(4U + NBD_NAME_MAX + 2U + 2U * 16U)
#define NBD_EXPORTS_MAX			64U
/* Room for the longest answer to one option: NBD_OPT_LIST of every export. */
#define NBD_OPT_OUT_MAX			(NBD_EXPORTS_MAX * (NBD_REP_HDR_LEN + 4U + 256U) + \
					 NBD_REP_HDR_LEN)

/**
 * struct nbd_export_desc - what the handshake tells a client about an export
 * @name: export name, at most 255 bytes (so NBD_OPT_LIST fits
 *	%NBD_OPT_OUT_MAX)
 * @size: bytes, a multiple of @min_block
 * @tflags: transmission flags
 * @min_block: minimum block size: offsets and lengths must be multiples
 * @pref_block: preferred block size
 * @max_block: largest READ or WRITE payload accepted
 */
struct nbd_export_desc {
	const char *name;
	uint64_t size;
	uint16_t tflags;
	uint32_t min_block;
	uint32_t pref_block;
	uint32_t max_block;
};

/* What the caller does after an option was handled. */
enum nbd_opt_action {
	NBD_OPT_CONTINUE,	/* send the output, read the next option */
	NBD_OPT_ENTER,		/* send the output, enter transmission */
	NBD_OPT_CLOSE,		/* send the output, close (NBD_OPT_ABORT) */
	NBD_OPT_FATAL,		/* close without sending; *why says why */
};

/**
 * struct nbd_opt_result - output of nbd_opt_handle()
 * @action: see enum nbd_opt_action
 * @export: index of the export entered, for %NBD_OPT_ENTER
 * @len: bytes of output to send
 * @why: static reason, for %NBD_OPT_FATAL
 */
struct nbd_opt_result {
	enum nbd_opt_action action;
	unsigned int export;
	size_t len;
	const char *why;
};

/* Server greeting (fixed newstyle, NO_ZEROES offered). */
void nbd_hello_encode(uint8_t out[NBD_HELLO_LEN]);

/*
 * Check the client's 32-bit flags. Return 0 and set *no_zeroes, or -1 with
 * *why set: the client is not fixed newstyle, or sets unknown flags.
 */
int nbd_client_flags_check(uint32_t flags, int *no_zeroes, const char **why);

/*
 * Decode an option header. Return 0, or -1 with *why set for a wrong magic
 * or data longer than %NBD_OPT_DATA_MAX (the caller closes the connection
 * rather than reading it).
 */
int nbd_opt_hdr_decode(const uint8_t in[NBD_OPT_HDR_LEN], uint32_t *opt,
		       uint32_t *len, const char **why);

/*
 * Answer option @opt with @len bytes of @data (len <= NBD_OPT_DATA_MAX)
 * against @nexp exports (the first is also the default export ""),
 * writing the replies to @out (NBD_OPT_OUT_MAX bytes).
 */
void nbd_opt_handle(uint32_t opt, const uint8_t *data, uint32_t len,
		    const struct nbd_export_desc *exp, unsigned int nexp,
		    int no_zeroes, uint8_t *out, struct nbd_opt_result *res);

/**
 * struct nbd_request - a decoded request header
 * @flags: command flags
 * @type: command
 * @cookie: the client's handle, echoed in the reply
 * @offset: byte offset
 * @length: byte length (of the payload, for NBD_CMD_WRITE)
 */
struct nbd_request {
	uint16_t flags;
	uint16_t type;
	uint64_t cookie;
	uint64_t offset;
	uint32_t length;
};

/* Decode a request header. Return 0, or -1 for a wrong magic. */
int nbd_request_decode(const uint8_t in[NBD_REQ_LEN], struct nbd_request *r);

/* Encode a request header (for tests and clients). */
void nbd_request_encode(uint8_t out[NBD_REQ_LEN], const struct nbd_request *r);

enum nbd_verdict {
	NBD_REQ_OK,	/* execute it */
	NBD_REQ_ERROR,	/* reply *err; a WRITE's payload is read and dropped */
	NBD_REQ_FATAL,	/* close the connection; *why says why */
};

/*
 * Validate @r against export @e: command known, flags allowed and
 * negotiated, offset and length aligned to @e->min_block, inside the
 * export, and at most @e->max_block for READ and WRITE. A WRITE claiming
 * more than @e->max_block is fatal: its payload is not read.
 */
enum nbd_verdict nbd_request_check(const struct nbd_request *r,
				   const struct nbd_export_desc *e,
				   uint32_t *err, const char **why);

/* Map a system errno to the NBD error of a reply. */
uint32_t nbd_errno(int err);

/* Encode a simple reply. */
void nbd_reply_encode(uint8_t out[NBD_REPLY_LEN], uint32_t err,
		      uint64_t cookie);

/* Big-endian helpers. */
static inline uint16_t nbd_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t nbd_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t nbd_get64(const uint8_t *p)
{
	return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4);
}

static inline void nbd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void nbd_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void nbd_put64(uint8_t *p, uint64_t v)
{
	nbd_put32(p, (uint32_t)(v >> 32));
	nbd_put32(p + 4, (uint32_t)v);
}

#endif /* HS_NBD_PROTO_H */
