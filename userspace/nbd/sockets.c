// SPDX-License-Identifier: MIT
/*
 * sockets.c: listening sockets (TCP, Unix) and accept. The listeners are
 * non-blocking (main.c polls them beside its signalfd); accepted sockets
 * are blocking, for the handshake thread, with TCP_NODELAY so that a reply
 * header is not held back behind Nagle's algorithm.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "nbd.h"

int sock_listen_tcp(const char *hostport, unsigned int *port)
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256];
	const char *p, *serv;
	size_t hl;
	int fd = -1, one = 1, ret, err = EADDRNOTAVAIL;

	if (hostport[0] == '[') {
		p = strchr(hostport, ']');
		if (!p || p[1] != ':')
			goto inval;
		hl = (size_t)(p - hostport - 1);
		if (hl >= sizeof(host))
			goto inval;
		memcpy(host, hostport + 1, hl);
		serv = p + 2;
	} else {
		p = strrchr(hostport, ':');
		if (!p)
			goto inval;
		hl = (size_t)(p - hostport);
		if (hl >= sizeof(host))
			goto inval;
		memcpy(host, hostport, hl);
		serv = p + 1;
	}
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	/*
	 * Numeric first: it needs no NSS modules, which a static binary in a
	 * minimal VM does not have; names only when that fails.
	 */
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
	ret = getaddrinfo(hl ? host : NULL, serv, &hints, &res);
	if (ret == EAI_NONAME && hl) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		ret = getaddrinfo(host, serv, &hints, &res);
	}
	if (ret) {
		errno = ret == EAI_SYSTEM ? errno : EADDRNOTAVAIL;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
			    SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 128))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = err;
		return -1;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ?
		      ((struct sockaddr_in6 *)&ss)->sin6_port :
		      ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
inval:
	errno = EINVAL;
	return -1;
}

int sock_listen_unix(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	/* A socket left by an earlier run; never remove anything else. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int sock_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC), one = 1;

	if (fd < 0)
		return -1;
	/* Fails harmlessly (EOPNOTSUPP) on a Unix socket. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}
