// SPDX-License-Identifier: MIT
/*
 * t-attach: another process maps the same pool as a peer view, from a file
 * descriptor received with SCM_RIGHTS (host: the fallback's memfd) and, where
 * /dev/hugeslab exists, by name. The peer writes into buffers the creator
 * got, by index; the creator sees the writes. A peer cannot get, put or ref
 * (EOPNOTSUPP); a layout that does not fit the pool is refused (EINVAL); a
 * read-only handle cannot be mapped writable (EACCES).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "helpers.h"

#define NBUFS		8
#define BUF_SIZE	2048
#define HEADROOM	128
#define TOTAL		(4UL << 20)

struct msg {
	uint32_t nr;
	uint32_t idx[NBUFS];
	char name[HS_NAME_MAX];
};

static int send_fds(int sock, const void *data, size_t len, const int *fds,
		    unsigned int nfds)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	return sendmsg(sock, &mh, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_fds(int sock, void *data, size_t len, int *fds,
		    unsigned int nfds)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { data, len };
	struct msghdr mh = { 0 };
	struct cmsghdr *c;

	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)len)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(nfds * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
	return 0;
}

static struct hs_pool *attach(const char *name, int fd, uint32_t flags)
{
	struct hs_attach_config ac;

	hs_attach_config_init(&ac);
	ac.name = name;
	ac.fd = fd;
	ac.buf_size = BUF_SIZE;
	ac.headroom = HEADROOM;
	ac.total_bytes = TOTAL;
	ac.flags = flags;
	return hs_pool_attach(&ac);
}

/* A peer refuses everything that needs the creator's store or counts. */
static void check_peer_refuses(struct hs_pool *peer, void *buf)
{
	struct hs_pool_stats st;
	struct hs_view v;
	void *bufs[2];

	T_ASSERT(hs_pool_is_peer(peer) == 1);
	T_ERR(EOPNOTSUPP, hs_get(peer));
	T_ERR(EOPNOTSUPP, hs_get_wait(peer, 1000));
	T_ERR(EOPNOTSUPP, hs_get_bulk(peer, bufs, 2));
	T_ERR(EOPNOTSUPP, hs_put(peer, buf));
	T_ERR(EOPNOTSUPP, hs_ref(peer, buf));
	T_ASSERT(hs_view_init(peer, &v, buf, 0, 16) == 0);
	T_ERR(EOPNOTSUPP, hs_view_release(peer, &v));
	T_ERR(EOPNOTSUPP, hs_thread_flush(peer));
	T_ERR(EOPNOTSUPP, hs_pool_stats(peer, &st));
	T_ERR(EOPNOTSUPP, hs_pool_leaks(peer, 0, NULL, NULL));
	T_ERR(EOPNOTSUPP, hs_pool_check(peer));
	T_ERR(EOPNOTSUPP, hs_pool_stats_path(peer));
	T_ERR(EOPNOTSUPP, hs_tag_name(peer, 1, "x"));
}

/* Write the creator's buffers through @peer, by index. */
static void write_by_index(struct hs_pool *peer, const struct msg *m,
			   const char *who)
{
	struct hs_region reg;
	uint32_t i;

	T_ASSERT(hs_pool_nr_bufs(peer) > 0);
	T_ASSERT(hs_pool_buf_size(peer) == BUF_SIZE);
	T_ASSERT(hs_pool_headroom(peer) == HEADROOM);
	T_ASSERT(hs_pool_regions(peer, &reg, 1) == 1);
	T_ASSERT(reg.len == TOTAL);
	for (i = 0; i < m->nr; i++) {
		char *b = hs_buf_at(peer, m->idx[i]);

		T_ASSERT(b != NULL);
		T_ASSERT((char *)reg.base <= b - HEADROOM &&
			 b + BUF_SIZE <= (char *)reg.base + reg.len);
		T_ASSERT(hs_buf_index(peer, b) == (long)m->idx[i]);
		/* the creator wrote the index into the headroom */
		T_ASSERT(*(uint32_t *)(b - HEADROOM) == m->idx[i]);
		snprintf(b, BUF_SIZE, "%s %u", who, m->idx[i]);
		b[BUF_SIZE - 1] = (char)m->idx[i];
	}
}

static void check_rdonly(struct hs_pool *ro, const struct msg *m)
{
	struct hs_region reg;
	char *b;

	T_ASSERT(hs_pool_regions(ro, &reg, 1) == 1);
	b = hs_buf_at(ro, m->idx[0]);
	T_ASSERT(b && *(uint32_t *)(b - HEADROOM) == m->idx[0]);
	/* the mapping cannot be made writable later */
	T_ERR(EACCES, mprotect(reg.base, reg.len, PROT_READ | PROT_WRITE));
	/* and the handle it passes on cannot be mapped writable */
	T_ERR(EACCES, attach(NULL, hs_pool_fd(ro), 0));
}

static int child(int sock)
{
	struct hs_attach_config ac;
	struct hs_pool *peer, *ro;
	int fds[2];
	struct msg m;
	char ok = 'k';

	if (recv_fds(sock, &m, sizeof(m), fds, 2))
		T_FAIL("recvmsg: %s", strerror(errno));

	/* layouts that cannot be the creator's */
	hs_attach_config_init(&ac);
	ac.fd = fds[0];
	ac.buf_size = BUF_SIZE;
	ac.headroom = HEADROOM;
	ac.total_bytes = TOTAL * 2;
	T_ERR(EINVAL, hs_pool_attach(&ac));		/* size mismatch */
	ac.total_bytes = 0;
	ac.buf_size = HS_BUF_SIZE_MIN - 1;
	T_ERR(EINVAL, hs_pool_attach(&ac));
	ac.buf_size = BUF_SIZE;
	ac.headroom = HS_SLAB_SIZE;
	T_ERR(EINVAL, hs_pool_attach(&ac));
	ac.headroom = HEADROOM;
	ac.name = "x";
	T_ERR(EINVAL, hs_pool_attach(&ac));		/* both name and fd */
	ac.name = NULL;
	ac.fd = -1;
	T_ERR(EINVAL, hs_pool_attach(&ac));		/* neither */
	ac.fd = fds[0];
	ac.flags = 1U << 31;
	T_ERR(EINVAL, hs_pool_attach(&ac));
	ac.flags = 0;
	ac.reserved[0] = 1;
	T_ERR(EINVAL, hs_pool_attach(&ac));
	T_ERR(EINVAL, hs_pool_attach(NULL));

	/* SCM_RIGHTS: the library duplicates the fd, ours can go */
	peer = attach(NULL, fds[0], 0);
	T_ASSERT(peer != NULL);
	T_ASSERT(close(fds[0]) == 0);
	T_ASSERT(hs_pool_fd(peer) >= 0);
	check_peer_refuses(peer, hs_buf_at(peer, m.idx[0]));
	write_by_index(peer, &m, "fd");
	T_ASSERT(hs_pool_destroy(peer, 0) == 0);

	if (t_have_device()) {
		T_ASSERT(close(fds[1]) == 0);
		/* by name: same memory */
		peer = attach(m.name, -1, 0);
		T_ASSERT(peer != NULL);
		T_ASSERT(hs_pool_backend(peer) == HS_BACKEND_MODULE);
		T_ASSERT(hs_pool_page_size(peer) == HS_SLAB_SIZE);
		check_peer_refuses(peer, hs_buf_at(peer, m.idx[0]));
		write_by_index(peer, &m, "name");
		T_ASSERT(hs_pool_destroy(peer, 0) == 0);
		T_ERR(ENOENT, attach("t-attach-no-such-pool", -1, 0));
		ro = attach(m.name, -1, HS_ATTACH_RDONLY);
	} else {
		/* no device: by name needs it */
		T_ERR(ENOENT, attach(m.name, -1, 0));
		/* an O_RDONLY handle of the memfd cannot be mapped writable */
		T_ERR(EACCES, attach(NULL, fds[1], 0));
		ro = attach(NULL, fds[1], HS_ATTACH_RDONLY);
		T_ASSERT(close(fds[1]) == 0);
	}
	T_ASSERT(ro != NULL);
	check_rdonly(ro, &m);
	T_ASSERT(hs_pool_destroy(ro, 0) == 0);

	if (write(sock, &ok, 1) != 1)
		T_FAIL("write: %s", strerror(errno));
	return T_EXIT_PASS;
}

int main(void)
{
	const char *who = t_have_device() ? "name" : "fd";
	void *bufs[NBUFS];
	struct hs_pool *pool;
	int sv[2], fds[2];
	char path[64], ok = 0;
	struct msg m;
	uint32_t i;
	int status;
	pid_t pid;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "t-attach.%d", (int)getpid());
	pool = t_pool_flags(TOTAL, BUF_SIZE, HEADROOM, HS_POOL_NAMED, m.name);
	T_ASSERT(hs_pool_is_peer(pool) == 0);
	fds[0] = hs_pool_fd(pool);
	if (fds[0] < 0 && errno == EOPNOTSUPP)
		T_SKIP("backend %s has no file descriptor",
		       hs_backend_name(hs_pool_backend(pool)));
	T_ASSERT(fds[0] >= 0);
	if (t_have_device()) {
		fds[1] = fds[0];	/* unused: read-only goes by name */
	} else {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
		fds[1] = open(path, O_RDONLY | O_CLOEXEC);
		T_ASSERT(fds[1] >= 0);
	}

	/* buffers the creator owns; skip a few so indices are not 0..n-1 */
	T_ASSERT(hs_get_bulk(pool, bufs, NBUFS) == 0);
	m.nr = NBUFS / 2;
	for (i = 0; i < m.nr; i++) {
		long idx = hs_buf_index(pool, bufs[2 * i + 1]);

		T_ASSERT(idx >= 0);
		m.idx[i] = (uint32_t)idx;
		*(uint32_t *)((char *)bufs[2 * i + 1] - HEADROOM) = m.idx[i];
	}

	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(child(sv[1]));
	}
	close(sv[1]);
	T_ASSERT(send_fds(sv[0], &m, sizeof(m), fds, 2) == 0);
	if (read(sv[0], &ok, 1) != 1)
		ok = 0;
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) || ok != 'k')
		T_FAIL("child failed: status 0x%x", status);
	if (!t_have_device())
		close(fds[1]);

	/* the peer's writes are in the creator's buffers */
	for (i = 0; i < m.nr; i++) {
		char want[64], *b = bufs[2 * i + 1];

		snprintf(want, sizeof(want), "%s %u", who, m.idx[i]);
		if (strcmp(b, want))
			T_FAIL("buffer %u: '%.32s', want '%s'", m.idx[i], b,
			       want);
		T_ASSERT(b[BUF_SIZE - 1] == (char)m.idx[i]);
	}
	/* the creator's pool is intact: ownership never moved */
	T_ASSERT(hs_pool_check(pool) == NBUFS);
	T_ASSERT(hs_put_bulk(pool, bufs, NBUFS) == 0);
	T_ASSERT(hs_pool_check(pool) == 0);
	T_ASSERT(hs_pool_destroy(pool, 0) == 0);
	T_ERR(EINVAL, hs_pool_fd(NULL));
	return T_EXIT_PASS;
}
