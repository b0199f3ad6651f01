// SPDX-License-Identifier: MIT
/*
 * t-uring-register: hs_pool_uring_register() and hs_buf_uring_index() on a
 * real io_uring, driven by raw syscalls (the library does not need
 * liburing, and neither does its test).
 *
 * A pool of 1 GiB + 4 MiB has two fixed buffers (the kernel's 1 GiB
 * limit), so buffers in slabs 0, 1, 511 (end of the first piece), 512
 * (start of the second) and the last slab go through WRITE_FIXED to a
 * file and READ_FIXED back with the reported index: a wrong index or
 * offset makes the kernel fail the I/O (EFAULT) or move the wrong bytes.
 * Where 1 GiB cannot be had (a small VM), an 8 MiB pool is used and the
 * second piece is not exercised (said on stderr). Bad arguments get the
 * documented errno, and a ring made without CAP_IPC_LOCK under a 1 MiB
 * RLIMIT_MEMLOCK gets ENOMEM with nothing left registered.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "helpers.h"

#define BUF_SIZE	65536
#define SLAB		(2UL << 20)

struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	void *map[3];
	size_t map_len[3];
};

static void ring_init(struct ring *r)
{
	struct io_uring_params p;
	void *sq, *cq, *sqes;

	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0) {
		if (errno == ENOSYS || errno == EPERM)
			T_SKIP("io_uring unavailable: %s", strerror(errno));
		T_FAIL("io_uring_setup: %s", strerror(errno));
	}
	r->map_len[0] = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	r->map_len[1] = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->map_len[2] = p.sq_entries * sizeof(struct io_uring_sqe);
	sq = mmap(NULL, r->map_len[0], PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	cq = mmap(NULL, r->map_len[1], PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, r->map_len[2], PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	T_ASSERT(sq != MAP_FAILED && cq != MAP_FAILED && sqes != MAP_FAILED);
	r->sq_tail = (unsigned int *)((char *)sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)((char *)sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)((char *)sq + p.sq_off.array);
	r->cq_head = (unsigned int *)((char *)cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)((char *)cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)((char *)cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	r->sqes = sqes;
	r->map[0] = sq;
	r->map[1] = cq;
	r->map[2] = sqes;
}

/* The ring, and its pins on the pool, go with the last fd and mapping. */
static void ring_exit(struct ring *r)
{
	int i;

	for (i = 0; i < 3; i++)
		munmap(r->map[i], r->map_len[i]);
	close(r->fd);
}

/* One READ_FIXED/WRITE_FIXED, waited for; its cqe res (bytes or -errno). */
static int ring_rw_fixed(struct ring *r, int op, int fd, void *addr,
			 unsigned int len, uint64_t off, long idx)
{
	unsigned int tail = *r->sq_tail, head;
	unsigned int i = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[i];
	int res;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = (uint8_t)op;
	sqe->fd = fd;
	sqe->addr = (uint64_t)(uintptr_t)addr;
	sqe->len = len;
	sqe->off = off;
	sqe->buf_index = (uint16_t)idx;
	r->sq_array[i] = i;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) != 1)
		T_FAIL("io_uring_enter: %s", strerror(errno));
	head = *r->cq_head;
	T_ASSERT(head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE));
	res = r->cqes[head & *r->cq_mask].res;
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

static struct hs_pool *make_pool(uint64_t total)
{
	struct hs_pool_config cfg;

	hs_pool_config_init(&cfg);
	cfg.total_bytes = total;
	cfg.buf_size = BUF_SIZE;
	cfg.flags = HS_POOL_ALLOW_FALLBACK;
	cfg.name = "uring";
	return hs_pool_create(&cfg);
}

/* Round trip of @b through @fd at @foff using the index the library reports. */
static void round_trip(struct ring *r, struct hs_pool *pool, int fd,
		       char *b, uint64_t foff, long want_idx)
{
	size_t off = ~(size_t)0;
	long idx = hs_buf_uring_index(pool, b, BUF_SIZE, &off);
	struct hs_region reg;
	size_t i;
	int res;

	T_ASSERT(hs_pool_regions(pool, &reg, 1) == 1);
	if (idx != want_idx)
		T_FAIL("buffer at +%#zx: index %ld, expected %ld",
		       (size_t)(b - (char *)reg.base), idx, want_idx);
	if (off != (size_t)(b - (char *)reg.base) % HS_URING_PIECE)
		T_FAIL("buffer at +%#zx: offset %#zx",
		       (size_t)(b - (char *)reg.base), off);
	for (i = 0; i < BUF_SIZE; i++)
		b[i] = (char)(i * 7 + foff / BUF_SIZE * 131 + 1);
	res = ring_rw_fixed(r, IORING_OP_WRITE_FIXED, fd, b, BUF_SIZE, foff, idx);
	if (res != BUF_SIZE)
		T_FAIL("WRITE_FIXED index %ld at +%#zx: %d (%s)", idx,
		       (size_t)(b - (char *)reg.base), res,
		       res < 0 ? strerror(-res) : "short");
	memset(b, 0, BUF_SIZE);
	res = ring_rw_fixed(r, IORING_OP_READ_FIXED, fd, b, BUF_SIZE, foff, idx);
	if (res != BUF_SIZE)
		T_FAIL("READ_FIXED index %ld: %d (%s)", idx, res,
		       res < 0 ? strerror(-res) : "short");
	for (i = 0; i < BUF_SIZE; i++)
		if (b[i] != (char)(i * 7 + foff / BUF_SIZE * 131 + 1))
			T_FAIL("buffer at file offset %llu: byte %zu differs",
			       (unsigned long long)foff, i);
}

/* Set CAP_IPC_LOCK in the effective set on (@on) or off; 0 or -1. */
static int ipc_lock_effective(int on)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(__NR_capget, &h, d))
		return -1;
	if (on)
		d[0].effective |= d[0].permitted & (1U << CAP_IPC_LOCK);
	else
		d[0].effective &= ~(1U << CAP_IPC_LOCK);
	return (int)syscall(__NR_capset, &h, d);
}

/*
 * RLIMIT_MEMLOCK too small for the pool: ENOMEM, and nothing registered.
 * A ring created without CAP_IPC_LOCK charges fixed buffers to the
 * user's memlock limit (checked at registration), so the capability is
 * dropped from the effective set for the ring's creation only.
 */
static void check_memlock(struct hs_pool *pool)
{
	struct rlimit old, small = { 1UL << 20, 0 };
	struct ring r;

	T_ASSERT(getrlimit(RLIMIT_MEMLOCK, &old) == 0);
	small.rlim_max = old.rlim_max;
	T_ASSERT(ipc_lock_effective(0) == 0);
	T_ASSERT(setrlimit(RLIMIT_MEMLOCK, &small) == 0);
	ring_init(&r);
	T_ERR(ENOMEM, hs_pool_uring_register(pool, r.fd));
	T_ASSERT(setrlimit(RLIMIT_MEMLOCK, &old) == 0);
	T_ASSERT(ipc_lock_effective(1) == 0);
	/* The kernel took all or nothing: nothing is registered. */
	T_ERR(ENXIO, hs_pool_uring_unregister(pool, r.fd));
	ring_exit(&r);
}

int main(void)
{
	uint64_t total = HS_URING_PIECE + 2 * SLAB;
	struct hs_pool *pool = make_pool(total);
	size_t nr, per_slab, nr_slabs, i, off;
	void **all, **byidx;
	char path[] = "t-uring-register.XXXXXX";
	struct ring r;
	char onstack;
	int fd, flags;

	if (!pool) {
		fprintf(stderr, "1 GiB + 4 MiB pool: %s; one piece only\n",
			strerror(errno));
		total = 4 * SLAB;
		pool = make_pool(total);
	}
	T_ASSERT(pool);
	/* Where /dev/hugeslab exists (the VM), the module's memory is tested. */
	if (t_have_device() && hs_pool_backend(pool) != HS_BACKEND_MODULE)
		T_FAIL("/dev/hugeslab exists but backend is %s",
		       hs_backend_name(hs_pool_backend(pool)));
	ring_init(&r);
	nr = hs_pool_nr_bufs(pool);
	nr_slabs = total / SLAB;
	per_slab = nr / nr_slabs;
	all = calloc(nr, sizeof(*all));
	byidx = calloc(nr, sizeof(*byidx));
	T_ASSERT(all && byidx);
	T_ASSERT(hs_get_bulk(pool, all, (unsigned int)nr) == 0);
	for (i = 0; i < nr; i++)
		byidx[hs_buf_index(pool, all[i])] = all[i];

	fd = mkstemp(path);
	T_ASSERT(fd >= 0);
	unlink(path);
	/* O_DIRECT where the filesystem takes it: the pages go to the disk
	 * from the pinned pool itself. */
	flags = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETFL, flags | O_DIRECT))
		fprintf(stderr, "O_DIRECT refused (%s): buffered I/O\n",
			strerror(errno));

	/* Bad arguments, before anything is registered. */
	T_ERR(EINVAL, hs_pool_uring_register(NULL, r.fd));
	T_ERR(EBADF, hs_pool_uring_register(pool, -1));
	T_ERR(EOPNOTSUPP, hs_pool_uring_register(pool, fd));
	T_ERR(ENXIO, hs_pool_uring_unregister(pool, r.fd));
	T_ERR(EINVAL, hs_pool_uring_unregister(NULL, r.fd));
	T_ERR(EBADF, hs_pool_uring_unregister(pool, -1));
	T_ERR(EINVAL, hs_buf_uring_index(NULL, byidx[0], 1, NULL));
	T_ERR(EINVAL, hs_buf_uring_index(pool, &onstack, 1, NULL));
	T_ERR(EINVAL, hs_buf_uring_index(pool, byidx[nr - 1], total, NULL));

	check_memlock(pool);
	T_ASSERT(hs_pool_uring_register(pool, r.fd) == 0);
	/* A second registration is refused and leaves the first in place. */
	T_ERR(EBUSY, hs_pool_uring_register(pool, r.fd));

	round_trip(&r, pool, fd, byidx[0], 0, 0);
	round_trip(&r, pool, fd, byidx[per_slab + 1], BUF_SIZE, 0);
	round_trip(&r, pool, fd, byidx[nr - 1], 2 * BUF_SIZE,
		   total > HS_URING_PIECE ? 1 : 0);
	if (total > HS_URING_PIECE) {
		size_t s = HS_URING_PIECE / SLAB;
		char *first = byidx[s * per_slab];
		struct hs_region reg;

		round_trip(&r, pool, fd, byidx[s * per_slab - 1],
			   3 * BUF_SIZE, 0);
		round_trip(&r, pool, fd, first, 4 * BUF_SIZE, 1);
		/* An I/O across the 1 GiB cut fits no fixed buffer. */
		T_ASSERT(hs_pool_regions(pool, &reg, 1) == 1);
		T_ERR(EINVAL, hs_buf_uring_index(pool,
			(char *)reg.base + HS_URING_PIECE - 4096, 8192, NULL));
		T_ASSERT(hs_buf_uring_index(pool, first, 0, &off) == 1);
		T_ASSERT(off == (size_t)(first - (char *)reg.base) - HS_URING_PIECE);
	}

	/* Unregistered: the kernel refuses the fixed I/O. */
	T_ASSERT(hs_pool_uring_unregister(pool, r.fd) == 0);
	T_ASSERT(ring_rw_fixed(&r, IORING_OP_READ_FIXED, fd, byidx[0],
			       BUF_SIZE, 0, 0) == -EFAULT);
	T_ERR(ENXIO, hs_pool_uring_unregister(pool, r.fd));
	/* And registers again. */
	T_ASSERT(hs_pool_uring_register(pool, r.fd) == 0);
	round_trip(&r, pool, fd, byidx[1], 5 * BUF_SIZE, 0);

	/* The ring holds pins on the pool: free it before destroying. */
	ring_exit(&r);
	close(fd);
	T_ASSERT(hs_put_bulk(pool, all, (unsigned int)nr) == 0);
	free(all);
	free(byidx);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	return T_EXIT_PASS;
}
