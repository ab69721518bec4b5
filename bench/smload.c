/*
 * smload.c - socketmap load generator and trivial responder for
 * bench/socketmap.sh (loopback only).
 *
 *   smload [-c conns] [-n requests] [-t seconds] [-k key | -f keyfile]
 *          [-m name] address:port
 *	C connections, each with one request in flight (as Postfix's
 *	smtp processes ask), until N requests or T seconds.  Keys are
 *	taken in turn from the list (every key once when -n is the list's
 *	length: the cold run).  Prints one JSON object: requests/s and
 *	latency percentiles in microseconds, and the answers by kind.
 *
 *   smload -S [-r reply] address:port
 *	The floor: answer every netstring with a fixed reply, no lookup,
 *	one thread and epoll, as the daemons measured run one event loop.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX	256
#define KEYS_MAX	100000
#define SAMPLES_MAX	4000000
#define BUF_SIZE	65536

struct lconn {
	int	 fd;
	size_t	 len;		/* bytes in buf */
	double	 sent_at;
	int	 busy;
	char	 buf[BUF_SIZE];
};

static char	*keys[KEYS_MAX];
static size_t	 nkeys;
static float	*samples;
static size_t	 nsamples;
static size_t	 kinds[5];	/* OK NOTFOUND TEMP PERM other */

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
parse_addr(const char *spec, struct sockaddr_in *sin)
{
	char		 host[64];
	const char	*colon = strrchr(spec, ':');
	size_t		 hl;

	if (colon == NULL || (hl = (size_t)(colon - spec)) >= sizeof(host)) {
		fprintf(stderr, "smload: %s: expected address:port\n", spec);
		exit(1);
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)strtoul(colon + 1, NULL, 10));
	if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		fprintf(stderr, "smload: %s: not an IPv4 address\n", host);
		exit(1);
	}
}

/* One netstring at the start of p: its data length and total length,
 * 0 if incomplete, -1 if malformed. */
static int
netstring(const char *p, size_t len, size_t *off, size_t *dlen, size_t *used)
{
	size_t	i, v = 0;

	for (i = 0; i < len && p[i] != ':'; i++) {
		if (p[i] < '0' || p[i] > '9' || i > 8)
			return -1;
		v = v * 10 + (size_t)(p[i] - '0');
	}
	if (i == len)
		return 0;
	if (i == 0 || v > BUF_SIZE - 16)
		return -1;
	if (len < i + 1 + v + 1)
		return 0;
	if (p[i + 1 + v] != ',')
		return -1;
	*off = i + 1;
	*dlen = v;
	*used = i + 1 + v + 1;
	return 1;
}

static void
count_kind(const char *p, size_t len)
{
	static const char *const names[] = { "OK ", "NOTFOUND ", "TEMP ",
	    "PERM " };
	size_t	i, l;

	for (i = 0; i < 4; i++) {
		l = strlen(names[i]);
		if (len >= l && memcmp(p, names[i], l) == 0) {
			kinds[i]++;
			return;
		}
	}
	kinds[4]++;
}

static int
cmp_float(const void *a, const void *b)
{
	float	x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static void
add_key(const char *name, const char *key)
{
	char	req[600], ns[640];
	int	n, m;

	n = snprintf(req, sizeof(req), "%s %s", name, key);
	if (n < 0 || (size_t)n >= sizeof(req))
		return;
	m = snprintf(ns, sizeof(ns), "%d:%s,", n, req);
	if (m < 0 || (size_t)m >= sizeof(ns))
		return;
	if ((keys[nkeys++] = strdup(ns)) == NULL)
		die("strdup");
}

static void
load_keys(const char *file, const char *key, const char *name)
{
	char	line[512];
	FILE	*f;
	size_t	l;

	if (file == NULL) {
		add_key(name, key);
		return;
	}
	if ((f = fopen(file, "r")) == NULL)
		die(file);
	while (nkeys < KEYS_MAX && fgets(line, sizeof(line), f) != NULL) {
		l = strcspn(line, "\r\n");
		line[l] = '\0';
		if (l == 0)
			continue;
		add_key(name, line);
	}
	fclose(f);
	if (nkeys == 0) {
		fprintf(stderr, "smload: %s: no keys\n", file);
		exit(1);
	}
}

static int
connect_to(const struct sockaddr_in *sin)
{
	int	fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1)
		die("connect");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void
send_next(struct lconn *c, size_t *next)
{
	const char	*k = keys[*next % nkeys];
	size_t		 l = strlen(k);

	(*next)++;
	c->sent_at = now();
	c->busy = 1;
	if (write(c->fd, k, l) != (ssize_t)l)
		die("write");
}

/* Read answers; 1 when this connection's request was answered. */
static int
on_readable(struct lconn *c)
{
	ssize_t	r;
	size_t	off, dlen, used;
	int	st;

	r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (r <= 0) {
		fprintf(stderr, "smload: connection closed by the server\n");
		exit(1);
	}
	c->len += (size_t)r;
	st = netstring(c->buf, c->len, &off, &dlen, &used);
	if (st == 0)
		return 0;
	if (st < 0) {
		fprintf(stderr, "smload: malformed answer\n");
		exit(1);
	}
	count_kind(c->buf + off, dlen);
	if (nsamples < SAMPLES_MAX)
		samples[nsamples++] = (float)((now() - c->sent_at) * 1e6);
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	c->busy = 0;
	return 1;
}

static void
run_load(const char *addr, int nconns, size_t total, double seconds)
{
	static struct lconn	 conns[CONNS_MAX];
	struct pollfd		 pfd[CONNS_MAX];
	struct sockaddr_in	 sin;
	size_t			 next = 0, done = 0, sent = 0;
	double			 t0, t1;
	int			 i;

	parse_addr(addr, &sin);
	if ((samples = calloc(SAMPLES_MAX, sizeof(*samples))) == NULL)
		die("calloc");
	for (i = 0; i < nconns; i++) {
		conns[i].fd = connect_to(&sin);
		pfd[i].fd = conns[i].fd;
		pfd[i].events = POLLIN;
	}
	t0 = now();
	for (i = 0; i < nconns && sent < total; i++, sent++)
		send_next(&conns[i], &next);
	while (done < sent) {
		if (poll(pfd, (nfds_t)nconns, 10000) <= 0) {
			fprintf(stderr, "smload: no answer within 10 s\n");
			exit(1);
		}
		for (i = 0; i < nconns; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!on_readable(&conns[i]))
				continue;
			done++;
			if (sent < total && now() - t0 < seconds) {
				send_next(&conns[i], &next);
				sent++;
			}
		}
	}
	t1 = now();
	qsort(samples, nsamples, sizeof(*samples), cmp_float);
	printf("{\"conns\": %d, \"requests\": %zu, \"seconds\": %.3f, "
	    "\"rps\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
	    "\"ok\": %zu, \"notfound\": %zu, \"temp\": %zu, \"perm\": %zu, "
	    "\"other\": %zu}\n", nconns, done, t1 - t0,
	    (double)done / (t1 - t0),
	    nsamples ? samples[nsamples / 2] : 0.0,
	    nsamples ? samples[nsamples * 99 / 100] : 0.0,
	    kinds[0], kinds[1], kinds[2], kinds[3], kinds[4]);
	for (i = 0; i < nconns; i++)
		close(conns[i].fd);
}

/* The trivial responder: epoll, one thread, a fixed answer to every
 * netstring, as cheap as a socketmap server can be. */
static void
serve(const char *addr, const char *reply)
{
	static struct lconn	 conns[CONNS_MAX];
	struct epoll_event	 ev, evs[64];
	struct sockaddr_in	 sin;
	char			 out[1024];
	int			 lfd, efd, one = 1, i, k, n, nout, fd;
	size_t			 off, dlen, used;
	ssize_t			 r;

	signal(SIGPIPE, SIG_IGN);
	parse_addr(addr, &sin);
	nout = snprintf(out, sizeof(out), "%zu:%s,", strlen(reply), reply);
	if (nout < 0 || (size_t)nout >= sizeof(out))
		exit(1);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 128) == -1)
		die("bind/listen");
	if ((efd = epoll_create1(0)) == -1)
		die("epoll_create1");
	for (i = 0; i < CONNS_MAX; i++)
		conns[i].fd = -1;
	ev.events = EPOLLIN;
	ev.data.u32 = CONNS_MAX;
	if (epoll_ctl(efd, EPOLL_CTL_ADD, lfd, &ev) == -1)
		die("epoll_ctl");
	for (;;) {
		if ((n = epoll_wait(efd, evs, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (k = 0; k < n; k++) {
			struct lconn *c;

			if (evs[k].data.u32 == CONNS_MAX) {
				if ((fd = accept(lfd, NULL, NULL)) == -1)
					continue;
				for (i = 0; i < CONNS_MAX && conns[i].fd != -1;
				    i++)
					;
				if (i == CONNS_MAX) {
					close(fd);
					continue;
				}
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
				conns[i].fd = fd;
				conns[i].len = 0;
				ev.events = EPOLLIN;
				ev.data.u32 = (uint32_t)i;
				epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev);
				continue;
			}
			c = &conns[evs[k].data.u32];
			r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r <= 0) {
				close(c->fd);	/* leaves the epoll set */
				c->fd = -1;
				continue;
			}
			c->len += (size_t)r;
			while ((i = netstring(c->buf, c->len, &off, &dlen,
			    &used)) == 1) {
				if (write(c->fd, out, (size_t)nout) != nout)
					break;
				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
			}
			if (i < 0) {
				close(c->fd);
				c->fd = -1;
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	const char	*key = "enforce.test", *file = NULL, *name = "postfix";
	const char	*reply = "OK secure match=mx1.enforce.test:"
	    ".enforce.test servername=hostname";
	size_t		 total = 100000;
	double		 seconds = 5;
	int		 ch, nconns = 1, server = 0;

	while ((ch = getopt(argc, argv, "c:f:k:m:n:r:St:")) != -1) {
		switch (ch) {
		case 'c':
			nconns = atoi(optarg);
			if (nconns < 1 || nconns > CONNS_MAX)
				exit(1);
			break;
		case 'f':
			file = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'm':
			name = optarg;
			break;
		case 'n':
			total = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			reply = optarg;
			break;
		case 'S':
			server = 1;
			break;
		case 't':
			seconds = strtod(optarg, NULL);
			break;
		default:
			fprintf(stderr, "usage: smload [-c conns] [-n requests]"
			    " [-t seconds] [-k key | -f keyfile] addr:port\n"
			    "       smload -S [-r reply] addr:port\n");
			return 1;
		}
	}
	if (optind + 1 != argc)
		return 1;
	if (server)
		serve(argv[optind], reply);
	load_keys(file, key, name);
	run_load(argv[optind], nconns, total, seconds);
	return 0;
}
