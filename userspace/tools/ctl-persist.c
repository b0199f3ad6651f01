// SPDX-License-Identifier: GPL-2.0
/*
 * hugeslabctl create and destroy: persistent named pools, which live with
 * no process attached until DESTROY (HUGESLAB_CREATE_PERSISTENT), each with
 * its node HUGESLAB_POOL_DIR/NAME owned and moded as asked.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ctl.h"

/* Highest NUMA node id accepted here; the kernel checks it is online. */
#define NODE_ID_MAX	1023

void pool_spec_init(struct pool_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->node = -1;
}

int spec_set_name(struct pool_spec *s, const char *v)
{
	size_t len = strlen(v);

	/* The module's rule, plus no "." or "..": the name is a node's. */
	if (!len || len >= HUGESLAB_NAME_MAX ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789._-") != len ||
	    !strcmp(v, ".") || !strcmp(v, "..")) {
		err_msg("invalid pool name \"%s\": 1 to %d of A-Z a-z 0-9 . _ -, not \".\" or \"..\"",
			v, HUGESLAB_NAME_MAX - 1);
		return -1;
	}
	memcpy(s->name, v, len + 1);
	return 0;
}

int spec_set_size(struct pool_spec *s, const char *v)
{
	uint64_t size;

	if (parse_size(v, &size) || !size || size % HUGESLAB_SLAB_SIZE ||
	    size > HUGESLAB_MAX_POOL_SIZE) {
		err_msg("invalid size \"%s\": a non-zero multiple of 2 MiB up to 1 TiB, e.g. 64M or 1G",
			v);
		return -1;
	}
	s->size = size;
	return 0;
}

/* A decimal id without sign or junk, below (id_t)-1. */
static int parse_id(const char *v, uint32_t *out)
{
	unsigned long long n;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n >= UINT32_MAX)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

int spec_set_owner(struct pool_spec *s, const char *v)
{
	struct passwd *pw;
	uint32_t id;

	errno = 0;
	pw = parse_id(v, &id) ? getpwnam(v) : getpwuid(id);
	if (pw) {
		s->uid = pw->pw_uid;
		/* The user's primary group, unless --group says otherwise. */
		if (!s->has_group)
			s->gid = pw->pw_gid;
	} else if (!parse_id(v, &id)) {
		/* A uid without a passwd entry: the group must be given. */
		s->uid = id;
		if (!s->has_group)
			s->gid = getegid();
	} else {
		err_msg("unknown user \"%s\"%s%s", v, errno ? ": " : "",
			errno ? strerror(errno) : "");
		return -1;
	}
	s->has_owner = true;
	return 0;
}

int spec_set_group(struct pool_spec *s, const char *v)
{
	struct group *gr;
	uint32_t id;

	if (!parse_id(v, &id)) {
		s->gid = id;
	} else {
		errno = 0;
		gr = getgrnam(v);
		if (!gr) {
			err_msg("unknown group \"%s\"%s%s", v, errno ? ": " : "",
				errno ? strerror(errno) : "");
			return -1;
		}
		s->gid = gr->gr_gid;
	}
	s->has_group = true;
	return 0;
}

int spec_set_mode(struct pool_spec *s, const char *v)
{
	unsigned long m;
	char *end;

	errno = 0;
	m = strtoul(v, &end, 8);
	if (!*v || !isdigit((unsigned char)*v) || errno || *end || m > 0777) {
		err_msg("invalid mode \"%s\": octal permission bits 0 to 0777, e.g. 0660", v);
		return -1;
	}
	s->mode = (uint32_t)m;
	s->has_mode = true;
	return 0;
}

int spec_set_node(struct pool_spec *s, const char *v)
{
	uint32_t id;

	if (parse_id(v, &id) || id > NODE_ID_MAX) {
		err_msg("invalid NUMA node \"%s\": a node id 0 to %d", v, NODE_ID_MAX);
		return -1;
	}
	s->node = (int32_t)id;
	return 0;
}

/* /dev/hugeslab for an ioctl: -errno when it cannot be opened. */
static int open_dev(void)
{
	int fd = open(HUGESLAB_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* The message and exit code of a failed open_dev(). */
static int open_dev_fail(int e)
{
	if (e == ENOENT || e == ENODEV || e == ENXIO) {
		err_msg("no %s: is the hugeslab module loaded?", HUGESLAB_DEVICE_PATH);
		return EXIT_NOMODULE;
	}
	if (e == EACCES || e == EPERM) {
		err_msg("%s: %s: its mode and group decide who may use it",
			HUGESLAB_DEVICE_PATH, strerror(e));
		return EXIT_PERM;
	}
	err_msg("%s: %s", HUGESLAB_DEVICE_PATH, strerror(e));
	return EXIT_ERR;
}

int pool_create_persistent(const struct pool_spec *s)
{
	struct hugeslab_create_named args;
	int fd = open_dev(), ret;

	if (fd < 0)
		return -fd;
	memset(&args, 0, sizeof(args));
	args.create.size = s->size;
	args.create.numa_node = s->node;
	args.create.flags = HUGESLAB_CREATE_NAMED | HUGESLAB_CREATE_PERSISTENT;
	if (s->has_owner || s->has_group) {
		args.create.flags |= HUGESLAB_CREATE_OWNER;
		/* --group alone: the caller owns the pool, G the node. */
		args.create.uid = s->has_owner ? s->uid : geteuid();
		args.create.gid = s->gid;
	}
	if (s->has_mode) {
		args.create.flags |= HUGESLAB_CREATE_MODE;
		args.create.mode = s->mode;
	}
	memcpy(args.name, s->name, sizeof(args.name));
	ret = ioctl(fd, HUGESLAB_IOC_CREATE_NAMED, &args) ? errno : 0;
	/* The pool is persistent: closing our file leaves it alive. */
	close(fd);
	return ret;
}

const char *create_strerror(int e)
{
	switch (e) {
	case EEXIST:
		return "a pool of that name exists already (hugeslabctl pools)";
	case ENOMEM:
		return "no room: over the module's cap (max_pinned_mb), over the owner's RLIMIT_MEMLOCK, or not enough free 2 MiB pages (hugeslabctl status counts which)";
	case EPERM:
		return "persistent pools, and pools for another owner, need CAP_SYS_ADMIN (or RLIMIT_MEMLOCK is 0 without CAP_IPC_LOCK)";
	case EINVAL:
		return "refused by the module: NUMA node offline, size above the machine's memory, or a module without persistent pools";
	case ENOSPC:
		return "no free device node: the module's limit of named pools with a node is reached";
	case EINTR:
		return "interrupted by a fatal signal while the slabs were allocated";
	case ENOTTY:
		return HUGESLAB_DEVICE_PATH " is not the hugeslab device";
	}
	return strerror(e);
}

int cmd_create(const struct pool_spec *s)
{
	char buf[32];
	int e = pool_create_persistent(s);

	if (e == ENOENT || e == ENODEV || e == ENXIO || e == EACCES)
		return open_dev_fail(e);
	if (e) {
		err_msg("create %s: %s", s->name, create_strerror(e));
		return errno_exit(e);
	}
	printf("created persistent pool %s, %s, node %s/%s\n", s->name,
	       fmt_size(s->size, buf, sizeof(buf)), HUGESLAB_POOL_DIR, s->name);
	return EXIT_OK;
}

/* Who holds @name, from the netlink dump, for an EBUSY. */
static void explain_busy(const char *name)
{
	struct pool_list l = { 0 };
	const struct pool_row *r;
	struct ctl c;
	int i;

	if (ctl_open(&c))
		return;
	if (pool_dump(&c, &l))
		goto out;
	r = pool_find(&l, name);
	if (!r) {
		err_msg("pool %s is gone from the netlink dump already", name);
		goto out;
	}
	fprintf(stderr, "%s: pool %s is held by %u file(s), %u mapping(s), %u dma-buf(s):\n",
		PROG, name, r->files, r->mappings, r->dmabufs);
	for (i = 0; i < r->nr_attachers && i < POOL_ROW_ATTACHERS; i++) {
		char path[64], comm[64] = "?";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%" PRIu32 "/comm", r->att_pid[i]);
		f = fopen(path, "r");
		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = 0;
			fclose(f);
		}
		fprintf(stderr, "  pid %" PRIu32 " (%s) uid %" PRIu32 "\n",
			r->att_pid[i], comm, r->att_uid[i]);
	}
	if (r->nr_attachers > POOL_ROW_ATTACHERS)
		fprintf(stderr, "  and %d more\n", r->nr_attachers - POOL_ROW_ATTACHERS);
	fprintf(stderr, "%s: stop them, or destroy --force: the name and node go now, the holders keep the memory until they close and unmap\n",
		PROG);
out:
	free(l.rows);
	ctl_close(&c);
}

int cmd_destroy(const char *name, bool force)
{
	struct hugeslab_destroy args;
	struct pool_spec s;
	int fd, e;

	pool_spec_init(&s);
	if (spec_set_name(&s, name))
		return EXIT_USAGE;
	fd = open_dev();
	if (fd < 0)
		return open_dev_fail(-fd);
	memset(&args, 0, sizeof(args));
	memcpy(args.name, s.name, sizeof(args.name));
	args.flags = force ? HUGESLAB_DESTROY_FORCE : 0;
	e = ioctl(fd, HUGESLAB_IOC_DESTROY, &args) ? errno : 0;
	close(fd);
	switch (e) {
	case 0:
		printf("destroyed pool %s%s\n", name,
		       force ? " (holders keep their memory until they unmap)" : "");
		return EXIT_OK;
	case EBUSY:
		err_msg("destroy %s: pool still in use", name);
		explain_busy(name);
		return EXIT_BUSY;
	case ENOENT:
		err_msg("destroy %s: no live pool has that name (hugeslabctl pools)", name);
		return EXIT_NOTFOUND;
	case EINVAL:
		err_msg("destroy %s: not a persistent pool: it ends with its last file and mapping (or the module has no DESTROY)",
			name);
		return EXIT_ERR;
	case EPERM:
	case EACCES:
		err_msg("destroy %s: only the pool's owner or CAP_SYS_ADMIN may destroy it", name);
		return EXIT_PERM;
	case ENOTTY:
		err_msg("destroy %s: the loaded hugeslab module has no DESTROY (too old)", name);
		return EXIT_ERR;
	}
	err_msg("destroy %s: %s", name, strerror(e));
	return EXIT_ERR;
}
