/*
 * smhostile.c - hostile and legitimate socketmap clients for
 * tests/integration/socketmap-load.sh (loopback or a unix socket only;
 * every run is bounded by -t seconds and -c connections).
 *
 *   smhostile [-c conns] [-t seconds] [-i ms] [-r requests] [-k key]
 *             [-m min] [-M max] MODE ADDRESS
 *
 *   idle	connect, send nothing; hold until -t
 *   trickle	connect, send the request one byte every -i ms, again and
 *		again; hold until -t
 *   flood	connect, write -r pipelined requests each (as fast as the
 *		socket takes them), read nothing; hold until -t
 *   pipe	one connection, -r requests written at once, then the
 *		answers read; print "answers N ms M": how many came, and
 *		when the last did
 *   ask	one connection, -r requests (default 1) -i ms apart; print
 *		for each the milliseconds to its answer and the answer (or
 *		"-1 none")
 *
 * ADDRESS is HOST:PORT or a unix socket path.  A "%d" or "%0Nd" in the
 * key is replaced by a number, one more for each request, from -m up to
 * -M, then again from -m.  idle, trickle and
 * flood print "open N closed M last_close_ms L": the connections still
 * open at the end, those the server closed, and when (after the start)
 * it closed the last one.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX	2000

struct hconn {
	int	 fd;
	size_t	 sent;		/* bytes of the current request */
	long	 nreq;		/* requests written */
	long	 closed_ms;	/* -1 while open */
	char	 req[300];
	size_t	 len;
};

static struct hconn	hc[CONNS_MAX];
static int		nconns = 1, seconds = 10, interval = 1000;
static long		requests = 1;
static const char	*key = "enforce.test";
static long		serial, serial_min = 1, serial_max = 1000000000;

static void
die(const char *what)
{
	fprintf(stderr, "smhostile: %s: %s\n", what, strerror(errno));
	exit(2);
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int
dial(const char *addr)
{
	struct sockaddr_in	sin;
	struct sockaddr_un	sun;
	const char		*colon;
	char			host[64];
	int			fd;

	if (strchr(addr, '/') != NULL) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if ((colon = strrchr(addr, ':')) == NULL ||
	    (size_t)(colon - addr) >= sizeof(host))
		die("address");
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		die("address");
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		die("socket");
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next request of a connection as a netstring. */
static void
next_req(struct hconn *c)
{
	char		 k[256], data[280];
	const char	*pct, *p;
	int		 n, width = 0;

	if (serial < serial_min || serial > serial_max)
		serial = serial_min;
	if ((pct = strchr(key, '%')) != NULL) {
		for (p = pct + 1; *p >= '0' && *p <= '9'; p++)
			width = width * 10 + (*p - '0');
		if (*p != 'd' || width > 20)
			die("key");
		snprintf(k, sizeof(k), "%.*s%0*ld%s", (int)(pct - key), key,
		    width, serial++, p + 1);
	} else
		snprintf(k, sizeof(k), "%s", key);
	n = snprintf(data, sizeof(data), "postfix %s", k);
	c->len = (size_t)snprintf(c->req, sizeof(c->req), "%d:%s,", n, data);
	c->sent = 0;
}

/* One request on c and its answer, printed. */
static int
ask_one(struct hconn *c)
{
	struct pollfd	pfd;
	char		buf[2048];
	size_t		got = 0;
	long		start = now_ms(), end = start + seconds * 1000L;
	ssize_t		n;
	char		*colon;
	unsigned long	len;

	next_req(c);
	if (write(c->fd, c->req, c->len) != (ssize_t)c->len) {
		printf("-1 write: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		if (now_ms() >= end || poll(&pfd, 1, (int)(end - now_ms())) < 1)
			break;
		if ((n = read(c->fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if ((colon = strchr(buf, ':')) != NULL &&
		    (len = strtoul(buf, NULL, 10)) < sizeof(buf) &&
		    got >= (size_t)(colon - buf) + 1 + len + 1) {
			printf("%ld %s\n", now_ms() - start, buf);
			return 0;
		}
	}
	buf[got] = '\0';
	printf("-1 none%s%s\n", got > 0 ? " partial: " : "", buf);
	return 1;
}

static int
ask(const char *addr)
{
	struct hconn	c;
	long		i;
	int		rc = 0;

	if ((c.fd = dial(addr)) == -1) {
		printf("-1 connect: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < requests; i++) {
		if (i > 0)
			usleep((useconds_t)interval * 1000);
		rc |= ask_one(&c);
	}
	close(c.fd);
	return rc;
}

static int
pipe_mode(const char *addr)
{
	struct hconn	 c;
	struct pollfd	 pfd;
	char		*out, buf[65536];
	size_t		 len = 0, size, off;
	long		 i, got = 0, start = now_ms(), last = -1;
	long		 end = start + seconds * 1000L;
	ssize_t		 n;

	if ((c.fd = dial(addr)) == -1)
		die("connect");
	size = (size_t)requests * sizeof(c.req);
	if ((out = malloc(size)) == NULL)
		die("malloc");
	for (i = 0; i < requests; i++) {
		next_req(&c);
		memcpy(out + len, c.req, c.len);
		len += c.len;
	}
	for (off = 0; off < len; off += (size_t)n)
		if ((n = write(c.fd, out + off, len - off)) <= 0)
			die("write");
	free(out);
	/* Count answers by their commas: no answer holds one. */
	while (got < requests && now_ms() < end) {
		pfd.fd = c.fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - now_ms())) < 1)
			break;
		if ((n = read(c.fd, buf, sizeof(buf))) <= 0)
			break;
		for (i = 0; i < n; i++)
			if (buf[i] == ',')
				got++;
		last = now_ms() - start;
	}
	printf("answers %ld ms %ld\n", got, last);
	close(c.fd);
	return got == requests ? 0 : 1;
}

/* Write what the mode sends now; 0 when the server closed. */
static int
drive(struct hconn *c, const char *mode, long now, long *next_byte)
{
	ssize_t	n;

	if (strcmp(mode, "trickle") == 0) {
		if (now < *next_byte)
			return 1;
		if (c->sent == c->len)
			next_req(c);
		n = write(c->fd, c->req + c->sent, 1);
		if (n == 1)
			c->sent++;
		return n == 1 || errno == EAGAIN;
	}
	if (strcmp(mode, "flood") == 0) {
		while (c->nreq < requests) {
			if (c->sent == c->len)
				next_req(c);
			n = write(c->fd, c->req + c->sent, c->len - c->sent);
			if (n <= 0)
				return n < 0 && errno == EAGAIN;
			c->sent += (size_t)n;
			if (c->sent == c->len)
				c->nreq++;
		}
	}
	return 1;
}

static int
hold(const char *mode, const char *addr)
{
	struct pollfd	*pfd;
	char		 buf[4096];
	long		 start = now_ms(), end = start + seconds * 1000L;
	long		 now, next_byte = start, last_close = -1;
	int		 i, open, closed = 0;

	if ((pfd = calloc((size_t)nconns, sizeof(*pfd))) == NULL)
		die("calloc");
	for (i = 0; i < nconns; i++) {
		if ((hc[i].fd = dial(addr)) == -1)
			die("connect");
		fcntl(hc[i].fd, F_SETFL, O_NONBLOCK);
		hc[i].closed_ms = -1;
		next_req(&hc[i]);
		hc[i].sent = 0;
	}
	while ((now = now_ms()) < end) {
		for (i = 0; i < nconns; i++) {
			pfd[i].fd = hc[i].closed_ms < 0 ? hc[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			if (hc[i].closed_ms < 0 &&
			    !drive(&hc[i], mode, now, &next_byte)) {
				hc[i].closed_ms = now - start;
				pfd[i].fd = -1;
			}
		}
		if (strcmp(mode, "trickle") == 0 && now >= next_byte)
			next_byte = now + interval;
		(void)poll(pfd, (nfds_t)nconns, 50);
		for (i = 0; i < nconns; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			/* flood reads nothing, unless the server closed */
			if (strcmp(mode, "flood") == 0 &&
			    !(pfd[i].revents & (POLLHUP | POLLERR)))
				continue;
			if (read(hc[i].fd, buf, sizeof(buf)) <= 0 &&
			    errno != EAGAIN)
				hc[i].closed_ms = now_ms() - start;
		}
	}
	open = 0;
	for (i = 0; i < nconns; i++) {
		if (hc[i].closed_ms < 0)
			open++;
		else {
			closed++;
			if (hc[i].closed_ms > last_close)
				last_close = hc[i].closed_ms;
		}
		close(hc[i].fd);
	}
	printf("open %d closed %d last_close_ms %ld\n", open, closed,
	    last_close);
	free(pfd);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct rlimit	rl;
	int		ch;

	while ((ch = getopt(argc, argv, "c:i:k:M:m:r:t:")) != -1) {
		switch (ch) {
		case 'c':
			nconns = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'k':
			key = optarg;
			break;
		case 'M':
			serial_max = atol(optarg);
			break;
		case 'm':
			serial_min = atol(optarg);
			break;
		case 'r':
			requests = atol(optarg);
			break;
		case 't':
			seconds = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2 || nconns < 1 || nconns > CONNS_MAX || seconds < 1 ||
	    seconds > 600 || interval < 1 || requests < 0 ||
	    requests > 1000000) {
		fprintf(stderr, "usage: smhostile [-c conns] [-t seconds] "
		    "[-i ms] [-r requests] [-k key] [-m min] [-M max]\n"
		    "                 idle|trickle|flood|pipe|ask address\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(argv[0], "ask") == 0)
		return ask(argv[1]);
	if (strcmp(argv[0], "pipe") == 0)
		return pipe_mode(argv[1]);
	if (strcmp(argv[0], "idle") == 0 || strcmp(argv[0], "trickle") == 0 ||
	    strcmp(argv[0], "flood") == 0)
		return hold(argv[0], argv[1]);
	fprintf(stderr, "smhostile: %s: unknown mode\n", argv[0]);
	return 2;
}
