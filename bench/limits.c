// SPDX-License-Identifier: MIT
/*
 * limits: what the machine can do at best, for the NIC-to-disk comparison
 * (bench/sink.sh), measured the way the sink's data path uses it:
 *
 *   tcp      loopback TCP alone: one connection, sent from and received
 *            into reused 1 MiB buffers
 *   odirect  O_DIRECT 1 MiB writes alone from one reused aligned buffer to a
 *            scratch file (appended, deleted afterwards)
 *   memcpy   copying 1 MiB blocks around a 64 MiB area (what one copy per
 *            byte costs)
 *
 *   limits -f SCRATCH [-s bytes]
 *
 * Output: "limit NAME MBPS CPU_S_PER_GB" (CPU: user+system of the process).
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common.h"

#define CHUNK	(1U << 20)

static unsigned long long total = 1ULL << 30;

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void report(const char *name, double secs, double cpu)
{
	printf("limit\t%s\t%.1f\t%.3f\n", name, total / secs / 1e6,
	       cpu / (total / 1e9));
	fflush(stdout);
}

static void *tcp_sender(void *arg)
{
	int port = (int)(intptr_t)arg, fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned long long sent = 0;
	char *buf = malloc(CHUNK);

	memset(buf, 7, CHUNK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		exit(1);
	}
	while (sent < total) {
		ssize_t n = send(fd, buf, CHUNK, 0);

		if (n <= 0) {
			perror("send");
			exit(1);
		}
		sent += (unsigned long long)n;
	}
	close(fd);
	free(buf);
	return NULL;
}

static void tcp(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	unsigned long long got = 0;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd, one = 1;
	char *buf = malloc(CHUNK);
	pthread_t th;
	double t0, c0;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al)) {
		perror("listen");
		exit(1);
	}
	t0 = mono_s();
	c0 = cpu_s();
	pthread_create(&th, NULL, tcp_sender, (void *)(intptr_t)ntohs(a.sin_port));
	fd = accept(lfd, NULL, NULL);
	while (got < total) {
		ssize_t n = recv(fd, buf, CHUNK, 0);

		if (n <= 0)
			break;
		got += (unsigned long long)n;
	}
	pthread_join(th, NULL);
	report("tcp", mono_s() - t0, cpu_s() - c0);
	close(fd);
	close(lfd);
	free(buf);
}

static void odirect(const char *path)
{
	unsigned long long done = 0;
	double t0, c0;
	void *buf;
	int fd;

	if (posix_memalign(&buf, 4096, CHUNK))
		exit(1);
	memset(buf, 3, CHUNK);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	t0 = mono_s();
	c0 = cpu_s();
	while (done < total) {
		if (write(fd, buf, CHUNK) != CHUNK) {
			perror("write");
			exit(1);
		}
		done += CHUNK;
	}
	fsync(fd);
	report("odirect", mono_s() - t0, cpu_s() - c0);
	close(fd);
	unlink(path);
	free(buf);
}

static void copy(void)
{
	size_t area = 64U << 20;
	char *src = malloc(area), *dst = malloc(area);
	unsigned long long done = 0;
	size_t off = 0;
	double t0, c0;

	memset(src, 1, area);
	memset(dst, 2, area);
	t0 = mono_s();
	c0 = cpu_s();
	while (done < total) {
		memcpy(dst + off, src + ((off + (8U << 20)) % area), CHUNK);
		escape(dst);
		off = (off + CHUNK) % area;
		done += CHUNK;
	}
	report("memcpy", mono_s() - t0, cpu_s() - c0);
	free(src);
	free(dst);
}

int main(int argc, char **argv)
{
	const char *scratch = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "f:s:")) != -1) {
		if (opt == 'f')
			scratch = optarg;
		else if (opt == 's')
			total = strtoull(optarg, NULL, 0);
		else
			return 2;
	}
	if (!scratch) {
		fprintf(stderr, "usage: limits -f SCRATCH [-s bytes]\n");
		return 2;
	}
	tcp();
	odirect(scratch);
	copy();
	return 0;
}
