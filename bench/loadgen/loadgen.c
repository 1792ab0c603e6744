// SPDX-License-Identifier: Apache-2.0
/*
 * loadgen: the benchmark's native TCP load generator and pod servers, run as processes of their own so that
 * the JVM that holds the service model measures nothing of its own (bench/README.md, "Connect under load").
 *
 *   loadgen client --target IP:PORT --rate R --count N [--source IP] [--inflight M] [--timeout-ms T]
 *                  [--cpu C] --out FILE
 *     Open loop: connection i is due at start + i/R (its intended start). It is opened then, or as soon as
 *     fewer than M connections are in flight; either way its latencies are measured from the intended start,
 *     so a stall of the generator or of the system counts against latency (no coordinated omission).
 *     Each connection: non-blocking connect, read the server's line to EOF, close. Per connection the file
 *     gets one line "index status errno connect_ns request_ns" (intended start -> connect completed, intended
 *     start -> EOF read; -1 when not reached); status 0 ok, 1 connect failed, 2 read failed or empty, 3 the
 *     deadline (intended start + T) passed. Then one "summary" line: counts, elapsed (first intended start
 *     to last completion), the process's own user and system CPU (getrusage), and kernel_ticks, the growth of
 *     /proc/stat's system + irq + softirq over every CPU from just before the first start to just after the
 *     last completion (USER_HZ ticks; process start and exit are outside it), and cpu_ns, this process's own
 *     time on a CPU over the same window (/proc/self/schedstat, exact).
 *
 *   loadgen serve --port P --netns NAME=PATH [--netns NAME=PATH ...] [--cpu C]
 *     Listens on 0.0.0.0:P inside each network namespace PATH, answers every connection with one line
 *     "NAME <caller address> <caller port>\n" and closes it (as PodServer does), single-threaded on epoll.
 *     Prints "ready" once every socket listens; runs until SIGTERM.
 *
 *   loadgen --version
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOADGEN_FORMAT 1
#define MAX_NETNS 64
#define EVENTS 256

enum status { ST_PENDING = -1, ST_OK = 0, ST_CONNECT_FAILED = 1, ST_READ_FAILED = 2, ST_TIMEOUT = 3 };

struct conn {
	int fd;
	int status;
	int err;
	int connected;
	long bytes;
	int64_t connect_ns;
	int64_t request_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The kernel-mode columns (system, irq, softirq) of /proc/stat's "cpu" line (every CPU), in USER_HZ ticks. */
static void kernel_ticks(long long ticks[3])
{
	long long user, nice, system, idle, iowait, irq, softirq;
	FILE *stat = fopen("/proc/stat", "r");
	ticks[0] = ticks[1] = ticks[2] = -1;
	if (!stat)
		return;
	if (fscanf(stat, "cpu %lld %lld %lld %lld %lld %lld %lld", &user, &nice, &system, &idle, &iowait, &irq,
		   &softirq) == 7) {
		ticks[0] = system;
		ticks[1] = irq;
		ticks[2] = softirq;
	}
	fclose(stat);
}

/* This thread's time on a CPU so far (/proc/self/schedstat), ns: user and kernel code, and on a kernel without
 * IRQ_TIME_ACCOUNTING the interrupts and softirqs that ran on its stack (for veths, most of a packet's path). */
static long long self_cpu_ns(void)
{
	long long ns = -1;
	FILE *stat = fopen("/proc/self/schedstat", "r");
	if (!stat)
		return -1;
	if (fscanf(stat, "%lld", &ns) != 1)
		ns = -1;
	fclose(stat);
	return ns;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen client --target IP:PORT --rate R --count N [--source IP] [--inflight M] "
		"[--timeout-ms T] [--cpu C] --out FILE\n"
		"       loadgen serve --port P --netns NAME=PATH [--netns NAME=PATH ...] [--cpu C]\n"
		"       loadgen --version\n");
	exit(2);
}

static long number(const char *text, const char *name, long min, long max)
{
	char *end;
	errno = 0;
	long value = strtol(text, &end, 10);
	if (errno || *end || value < min || value > max) {
		fprintf(stderr, "loadgen: %s: %s is not a number in %ld..%ld\n", name, text, min, max);
		exit(2);
	}
	return value;
}

static void pin(long cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

static void address(const char *text, int port, struct sockaddr_in *out)
{
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, text, &out->sin_addr) != 1) {
		fprintf(stderr, "loadgen: not an IPv4 address: %s\n", text);
		exit(2);
	}
}

/* ------------------------------------------------------------------ client */

struct client {
	struct conn *conns;
	int64_t start;
	int64_t timeout_ns;
	int epfd;
	long inflight;
	long done;
	int64_t last_done;
};

static void finish(struct client *c, long i, int status, int err)
{
	struct conn *k = &c->conns[i];
	int64_t t = now_ns();
	if (status == ST_OK)
		k->request_ns = t - (c->start + (k->request_ns));
	else
		k->request_ns = -1;
	k->status = status;
	k->err = err;
	if (k->fd >= 0)
		close(k->fd); /* removes it from the epoll set */
	k->fd = -1;
	c->inflight--;
	c->done++;
	c->last_done = t;
}

static void open_one(struct client *c, long i, int64_t intended_offset, const struct sockaddr_in *target,
	const struct sockaddr_in *source)
{
	struct conn *k = &c->conns[i];
	k->request_ns = intended_offset; /* the intended start, relative to c->start, until it finishes */
	k->connect_ns = -1;
	k->status = ST_PENDING;
	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->inflight++;
	if (k->fd < 0) {
		finish(c, i, ST_CONNECT_FAILED, errno);
		return;
	}
	if (source) {
		int one = 1;
		/* the port is chosen at connect(), as without bind(): no exclusive port per socket */
		setsockopt(k->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(k->fd, (const struct sockaddr *)source, sizeof(*source))) {
			finish(c, i, ST_CONNECT_FAILED, errno);
			return;
		}
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)i };
	if (connect(k->fd, (const struct sockaddr *)target, sizeof(*target)) == 0) {
		k->connected = 1;
		k->connect_ns = now_ns() - (c->start + intended_offset);
		ev.events = EPOLLIN | EPOLLRDHUP;
	} else if (errno != EINPROGRESS) {
		finish(c, i, ST_CONNECT_FAILED, errno);
		return;
	}
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, k->fd, &ev))
		die("epoll_ctl add");
}

static void on_event(struct client *c, long i, uint32_t events)
{
	struct conn *k = &c->conns[i];
	if (k->fd < 0)
		return;
	if (!k->connected) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			finish(c, i, ST_CONNECT_FAILED, err);
			return;
		}
		if (!(events & (EPOLLOUT | EPOLLIN)))
			return;
		k->connected = 1;
		k->connect_ns = now_ns() - (c->start + k->request_ns);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)i };
		if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, k->fd, &ev))
			die("epoll_ctl mod");
		if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
			return;
	}
	char buffer[512];
	for (;;) {
		ssize_t n = read(k->fd, buffer, sizeof(buffer));
		if (n > 0) {
			k->bytes += n;
			continue;
		}
		if (n == 0) {
			finish(c, i, k->bytes > 0 ? ST_OK : ST_READ_FAILED, 0);
			return;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		if (errno == EINTR)
			continue;
		finish(c, i, ST_READ_FAILED, errno);
		return;
	}
}

static int run_client(int argc, char **argv)
{
	const char *target_text = NULL, *source_text = NULL, *out_path = NULL;
	long rate = 0, count = 0, inflight_max = 1000, timeout_ms = 3000, cpu = -1;
	for (int a = 2; a < argc; a++) {
		if (a + 1 >= argc)
			usage();
		const char *name = argv[a], *value = argv[++a];
		if (!strcmp(name, "--target"))
			target_text = value;
		else if (!strcmp(name, "--source"))
			source_text = value;
		else if (!strcmp(name, "--out"))
			out_path = value;
		else if (!strcmp(name, "--rate"))
			rate = number(value, name, 1, 10000000);
		else if (!strcmp(name, "--count"))
			count = number(value, name, 1, 10000000);
		else if (!strcmp(name, "--inflight"))
			inflight_max = number(value, name, 1, 1000000);
		else if (!strcmp(name, "--timeout-ms"))
			timeout_ms = number(value, name, 1, 3600000);
		else if (!strcmp(name, "--cpu"))
			cpu = number(value, name, 0, CPU_SETSIZE - 1);
		else
			usage();
	}
	if (!target_text || !out_path || !rate || !count)
		usage();
	char host[64];
	const char *colon = strrchr(target_text, ':');
	if (!colon || (size_t)(colon - target_text) >= sizeof(host))
		usage();
	memcpy(host, target_text, (size_t)(colon - target_text));
	host[colon - target_text] = 0;
	struct sockaddr_in target, source;
	address(host, (int)number(colon + 1, "--target port", 1, 65535), &target);
	if (source_text)
		address(source_text, 0, &source);

	struct rlimit files = { .rlim_cur = (rlim_t)inflight_max + 64, .rlim_max = (rlim_t)inflight_max + 64 };
	struct rlimit have;
	if (!getrlimit(RLIMIT_NOFILE, &have) && have.rlim_cur < files.rlim_cur) {
		if (have.rlim_max < files.rlim_max)
			files.rlim_max = have.rlim_max;
		if (files.rlim_cur > files.rlim_max)
			files.rlim_cur = files.rlim_max;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	pin(cpu);
	FILE *out = fopen(out_path, "w");
	if (!out)
		die(out_path);

	struct client c = { .timeout_ns = timeout_ms * 1000000LL };
	c.conns = calloc((size_t)count, sizeof(struct conn));
	if (!c.conns)
		die("calloc");
	c.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c.epfd < 0)
		die("epoll_create1");
	const double interval = 1e9 / (double)rate;
	long next = 0, oldest = 0, late = 0, capped = 0;
	struct epoll_event events[EVENTS];
	long long before[3], after[3];
	kernel_ticks(before);
	long long cpu_before = self_cpu_ns();
	c.start = now_ns() + 1000000; /* 1 ms from now: the first connection is not late by the setup */
	c.last_done = c.start;
	while (c.done < count) {
		int64_t t = now_ns();
		while (next < count) {
			int64_t due = (int64_t)(next * interval);
			if (c.start + due > t)
				break;
			if (c.inflight >= inflight_max) {
				capped++;
				break;
			}
			if (t - (c.start + due) > 1000000)
				late++; /* opened more than 1 ms after its intended start */
			open_one(&c, next, due, &target, source_text ? &source : NULL);
			next++;
		}
		/* the oldest connection in flight has the earliest deadline: starts are in index order */
		while (oldest < next && c.conns[oldest].fd < 0)
			oldest++;
		t = now_ns();
		while (oldest < next) {
			struct conn *k = &c.conns[oldest];
			if (k->fd >= 0) {
				if (c.start + k->request_ns + c.timeout_ns > t)
					break;
				finish(&c, oldest, ST_TIMEOUT, ETIMEDOUT);
			}
			oldest++;
		}
		if (c.done >= count)
			break;
		/* sleep until the next start is due or the oldest deadline passes, whichever is first */
		int64_t wake = INT64_MAX;
		if (next < count && c.inflight < inflight_max)
			wake = c.start + (int64_t)(next * interval);
		if (oldest < next && c.conns[oldest].fd >= 0 && c.start + c.conns[oldest].request_ns + c.timeout_ns < wake)
			wake = c.start + c.conns[oldest].request_ns + c.timeout_ns;
		int64_t wait = wake == INT64_MAX ? 100000000 : wake - now_ns();
		if (wait < 0)
			wait = 0;
		struct timespec ts = { .tv_sec = wait / 1000000000, .tv_nsec = wait % 1000000000 };
		int n = epoll_pwait2(c.epfd, events, EVENTS, &ts, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_pwait2");
		}
		for (int e = 0; e < n; e++)
			on_event(&c, (long)events[e].data.u64, events[e].events);
	}
	int64_t elapsed = c.last_done - c.start;
	kernel_ticks(after);
	long long cpu_after = self_cpu_ns();

	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	long counts[4] = { 0, 0, 0, 0 };
	fprintf(out, "loadgen %d\n", LOADGEN_FORMAT);
	fprintf(out, "target %s rate %ld count %ld inflight %ld timeout_ms %ld cpu %ld source %s\n", target_text,
		rate, count, inflight_max, timeout_ms, cpu, source_text ? source_text : "-");
	fprintf(out, "# index status errno connect_ns request_ns\n");
	for (long i = 0; i < count; i++) {
		struct conn *k = &c.conns[i];
		counts[k->status]++;
		fprintf(out, "%ld %d %d %lld %lld\n", i, k->status, k->err, (long long)k->connect_ns,
			(long long)(k->status == ST_OK ? k->request_ns : -1));
	}
	fprintf(out, "summary ok %ld connect_failed %ld read_failed %ld timeouts %ld late_starts %ld "
		"inflight_capped %ld elapsed_ns %lld user_us %lld sys_us %lld kernel_ticks %lld cpu_ns %lld\n", counts[ST_OK],
		counts[ST_CONNECT_FAILED], counts[ST_READ_FAILED], counts[ST_TIMEOUT], late, capped,
		(long long)elapsed, (long long)usage.ru_utime.tv_sec * 1000000 + usage.ru_utime.tv_usec,
		(long long)usage.ru_stime.tv_sec * 1000000 + usage.ru_stime.tv_usec,
		before[0] < 0 || after[0] < 0 ? -1LL : after[0] + after[1] + after[2] - before[0] - before[1] - before[2],
		cpu_before < 0 || cpu_after < 0 ? -1LL : cpu_after - cpu_before);
	if (fclose(out))
		die(out_path);
	return 0;
}

/* ------------------------------------------------------------------ servers */

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int run_serve(int argc, char **argv)
{
	const char *paths[MAX_NETNS];
	char names[MAX_NETNS][32];
	int namespaces = 0;
	long port = 0, cpu = -1;
	for (int a = 2; a < argc; a++) {
		if (a + 1 >= argc)
			usage();
		const char *name = argv[a], *value = argv[++a];
		if (!strcmp(name, "--port"))
			port = number(value, name, 1, 65535);
		else if (!strcmp(name, "--cpu"))
			cpu = number(value, name, 0, CPU_SETSIZE - 1);
		else if (!strcmp(name, "--netns") && namespaces < MAX_NETNS) {
			const char *equals = strchr(value, '=');
			if (!equals || equals == value || (size_t)(equals - value) >= sizeof(names[0]))
				usage();
			memcpy(names[namespaces], value, (size_t)(equals - value));
			names[namespaces][equals - value] = 0;
			paths[namespaces++] = equals + 1;
		} else
			usage();
	}
	if (!port || !namespaces)
		usage();
	pin(cpu);
	struct sigaction term = { .sa_handler = on_term };
	sigaction(SIGTERM, &term, NULL);
	sigaction(SIGINT, &term, NULL);
	signal(SIGPIPE, SIG_IGN);

	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		die("/proc/self/ns/net");
	int listeners[MAX_NETNS];
	for (int p = 0; p < namespaces; p++) {
		int ns = open(paths[p], O_RDONLY | O_CLOEXEC);
		if (ns < 0)
			die(paths[p]);
		if (setns(ns, CLONE_NEWNET))
			die("setns");
		close(ns);
		/* a socket stays in the namespace it was made in */
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0)
			die("socket");
		int one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (bind(s, (struct sockaddr *)&any, sizeof(any)))
			die("bind");
		if (listen(s, 4096))
			die("listen");
		listeners[p] = s;
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)p };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev))
			die("epoll_ctl");
	}
	if (setns(home, CLONE_NEWNET))
		die("setns home");
	printf("ready\n");
	fflush(stdout);

	struct epoll_event events[EVENTS];
	while (!stopping) {
		int n = epoll_wait(epfd, events, EVENTS, 200);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int e = 0; e < n; e++) {
			int p = (int)events[e].data.u32;
			for (;;) {
				struct sockaddr_in peer;
				socklen_t len = sizeof(peer);
				int fd = accept4(listeners[p], (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
				if (fd < 0)
					break; /* EAGAIN, or an aborted connection: the next event tries again */
				char ip[INET_ADDRSTRLEN], line[96];
				inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
				int size = snprintf(line, sizeof(line), "%s %s %d\n", names[p], ip, ntohs(peer.sin_port));
				/* a fresh socket's buffer takes a line; a reset peer only loses its answer */
				if (write(fd, line, (size_t)size) < 0 && errno != EPIPE && errno != ECONNRESET)
					perror("loadgen serve: write");
				close(fd);
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("loadgen %d\n", LOADGEN_FORMAT);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "client"))
		return run_client(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return run_serve(argc, argv);
	usage();
	return 2;
}
