/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugeslabctl's internal interface: exit codes, messages, sizes, the
 * netlink request helper and the pool dump shared by the commands
 * (hugeslabctl.c: status, pools, watch, set-cap, top; ctl-persist.c:
 * create, destroy; ctl-load.c: load).
 */
#ifndef HUGESLABCTL_CTL_H
#define HUGESLABCTL_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <netlink/netlink.h>

#include <linux/hugeslab.h>
#include <linux/hugeslab_netlink.h>

#define PROG	"hugeslabctl"

/* Exit codes (hugeslabctl(8), EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_ERR = 1,		/* the request failed */
	EXIT_USAGE = 2,		/* bad command line or configuration file */
	EXIT_NOMODULE = 3,	/* no hugeslab family: module not loaded */
	EXIT_PERM = 4,		/* refused: missing privilege */
	EXIT_NOTFOUND = 5,	/* top, destroy: no such pool / stats region */
	EXIT_BUSY = 6,		/* destroy: the pool is still held */
};

void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fmt_size(uint64_t v, char *buf, size_t len);
int parse_size(const char *s, uint64_t *out);
int errno_exit(int e);

/* ---- netlink (ctl-nl.c) ---- */

struct ctl {
	struct nl_sock *sk;
	int family;
};

int ctl_open(struct ctl *c);
void ctl_close(struct ctl *c);
int ctl_request(struct ctl *c, uint8_t cmd, int flags,
		int (*fill)(struct nl_msg *msg, void *arg), void *fill_arg,
		int (*handler)(struct nlattr **tb, uint8_t cmd, void *arg),
		void *arg);
uint64_t get_u64(struct nlattr **tb, int a);
uint32_t get_u32(struct nlattr **tb, int a);

/* Attachers listed per pool; the dump may have more (nr_attachers). */
#define POOL_ROW_ATTACHERS	16

struct pool_row {
	uint64_t id;
	char name[HUGESLAB_NAME_MAX];
	uint32_t pid, uid;
	uint64_t size, slab_size;
	int32_t numa_node;
	uint32_t files, mappings, dmabufs;
	uint64_t ctime_ns;
	char nodes[64];		/* "0:4 1:2" */
	uint64_t node_id[8], node_slabs[8];
	int nr_nodes;
	uint32_t flags;		/* HUGESLAB_A_POOL_FLAGS: the CREATE flags */
	bool destroyed;		/* forced DESTROY, still held */
	uint32_t att_pid[POOL_ROW_ATTACHERS], att_uid[POOL_ROW_ATTACHERS];
	int nr_attachers;
};

struct pool_list {
	struct pool_row *rows;
	int n, cap;
};

void pool_from_attrs(struct pool_row *r, struct nlattr **tb);
/* Every pool the caller may see; 0 or a negative errno (reported). */
int pool_dump(struct ctl *c, struct pool_list *l);
/* The row of the live pool named @name, or NULL. */
const struct pool_row *pool_find(const struct pool_list *l, const char *name);
/* "1234,5678" or "-": the attached pids of @r. */
const char *fmt_attachers(const struct pool_row *r, char *buf, size_t len);
/* "yes", "no" or "destroyed". */
const char *fmt_persistent(const struct pool_row *r);

/* ---- persistent pools (ctl-persist.c) ---- */

/* What `create` and every line of a configuration file ask for. */
struct pool_spec {
	char name[HUGESLAB_NAME_MAX];
	uint64_t size;
	bool has_owner, has_group, has_mode;
	uid_t uid;
	gid_t gid;
	uint32_t mode;
	int32_t node;		/* -1: no preference */
};

void pool_spec_init(struct pool_spec *s);
/* Each returns 0, or -1 after err_msg() saying what is wrong with @v. */
int spec_set_name(struct pool_spec *s, const char *v);
int spec_set_size(struct pool_spec *s, const char *v);
int spec_set_owner(struct pool_spec *s, const char *v);
int spec_set_group(struct pool_spec *s, const char *v);
int spec_set_mode(struct pool_spec *s, const char *v);
int spec_set_node(struct pool_spec *s, const char *v);

/*
 * CREATE_NAMED with PERSISTENT (and OWNER/MODE as given).  Returns 0 or a
 * positive errno, without a message: the caller words it for its context.
 */
int pool_create_persistent(const struct pool_spec *s);
/* The meaning of @e from pool_create_persistent(), for a message. */
const char *create_strerror(int e);

int cmd_create(const struct pool_spec *s);
int cmd_destroy(const char *name, bool force);

/* ---- configuration files (ctl-load.c) ---- */

/*
 * Parse one line of a pools.conf: 0 with @s filled, 1 for a blank or
 * comment line, -1 after an error message naming @file and @lineno.
 */
int load_parse_line(const char *file, unsigned int lineno, char *line,
		    struct pool_spec *s);
int cmd_load(const char *file);

#endif /* HUGESLABCTL_CTL_H */
