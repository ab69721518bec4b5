/*
 * main.c - mtasts-tlsrptd: the TLSRPT collector for libtlsrpt (Postfix
 * 3.10 smtp_tlsrpt_socket_name).  It reads the datagrams libtlsrpt
 * sends on a unix datagram socket and counts their sessions into the
 * results store that mtasts report builds RFC 8460 reports from.  See
 * mtasts-tlsrptd(8).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include <mtasts.h>

#include "../adapter/log.h"
#include "../adapter/stop.h"
#include "tlsrptd.h"

/* Datagrams read per wake-up, so that the flush timer and signals are
 * served under a flood. */
#define READ_BURST		512
#define EXIT_BURSTS		64	/* at exit, 32768 datagrams at most */
/* SIGTERM: exit within this, whatever the store does. */
#define EXIT_SECONDS		10
/* Kernel queue asked for: bursts wait there while sums are written. */
#define RCVBUF_WANT		(4 * 1024 * 1024)

static struct {
	struct event_base	*base;
	struct mtasts_ctx	*ctx;
	struct tally		*tally;
	struct dgram		*dg;
	char			*buf;		/* one datagram, + 1 byte */
	int			 fd;
	char			 path[108];	/* sun_path */
	int			 verbose;
	int			 foreground;
	int			 store_down;	/* the last flush failed */
	/* since the last metrics write */
	uint64_t		 counted, malformed, version, oversized;
	struct tally_stats	 st;
} env = { .fd = -1 };

/* Lines about hostile or failing input, by kind (tlsrptd.h). */
static struct lograte lograte[LR_COUNT] = {
	{ "lines about malformed datagrams", 0, 0, 0 },
	{ "lines about unknown datagram versions", 0, 0, 0 },
	{ "lines about oversized datagrams", 0, 0, 0 },
	{ "lines about results store failures", 0, 0, 0 },
	{ "lines about receive errors", 0, 0, 0 },
};

void
log_rate(enum lograte_kind kind, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lograte_vlog(&lograte[kind], lograte_now(), fmt, ap);
	va_end(ap);
}

/* From the timer, and at exit (force): the counts of ended intervals. */
static void
log_rate_flush(int force)
{
	lograte_flush_all(lograte, LR_COUNT, force);
}

/* The sums to the store, and what became of the datagrams to the
 * metrics (mtasts_tlsrptd_datagrams_total). */
static void
main_flush(void)
{
	static const char	*names[] = { "counted", "malformed",
				    "unknown-version", "oversized", "lost" };
	uint64_t		 v[5];
	size_t			 i;

	env.store_down = tally_flush(env.tally, &env.st) == -1;
	v[0] = env.counted;
	v[1] = env.malformed;
	v[2] = env.version;
	v[3] = env.oversized;
	v[4] = env.st.lost;
	for (i = 0; i < 5; i++)
		if (v[i] > 0)
			(void)mtasts_metric_add(env.ctx,
			    "mtasts_tlsrptd_datagrams_total", names[i], v[i]);
	if (env.st.sessions > 0 || env.st.lost > 0 || env.st.refused > 0)
		log_debug("%llu sessions counted, %llu lost, %llu refused",
		    (unsigned long long)env.st.sessions,
		    (unsigned long long)env.st.lost,
		    (unsigned long long)env.st.refused);
	env.counted = env.malformed = env.version = env.oversized = 0;
	memset(&env.st, 0, sizeof(env.st));
}

/* The sessions of a datagram (tally.c counts them the same way). */
static uint64_t
main_sessions(const struct dgram *dg)
{
	uint64_t	 n = 0;
	size_t		 i;

	for (i = 0; i < dg->npolicies; i++)
		n += dg->policies[i].nfailures +
		    (dg->policies[i].nfailures == 0 ||
		    !dg->policies[i].failed);
	return n;
}

/* One datagram of n bytes in env.buf (n > DGRAM_MAX: it was longer). */
static void
main_datagram(size_t n)
{
	int	r;

	if (n > DGRAM_MAX) {
		env.oversized++;
		log_rate(LR_OVERSIZED, "datagram of %zu bytes refused (at "
		    "most %d)", n, DGRAM_MAX);
		return;
	}
	switch (dgram_parse(env.dg, env.buf, n)) {
	case DGRAM_OK:
		break;
	case DGRAM_EVERSION:
		env.version++;
		log_rate(LR_VERSION, "datagram refused: %s: this collector "
		    "knows libtlsrpt's version 1", env.dg->why);
		return;
	default:
		env.malformed++;
		log_rate(LR_MALFORMED, "malformed datagram (%zu bytes) "
		    "refused: %s", n, env.dg->why);
		return;
	}
	/* Full: write the sums out now, unless the store just failed
	 * (the timer tries again each second; meanwhile what does not fit
	 * is lost, rather than each datagram waiting for the store). */
	if ((r = tally_add(env.tally, env.dg)) == -1 && !env.store_down) {
		main_flush();
		r = tally_add(env.tally, env.dg);
	}
	if (r == -1) {
		env.st.lost += main_sessions(env.dg);
		log_rate(LR_STORE, "%s: datagram not counted: %s",
		    env.dg->domain, env.store_down ? "the results store is "
		    "unavailable and the sums held meanwhile are full" :
		    "out of memory");
		return;
	}
	env.counted++;
}

/* Up to READ_BURST datagrams, then back to the loop; 1 if the socket
 * may hold more. */
static int
main_read_burst(int fd)
{
	ssize_t	n;
	int	i;

	for (i = 0; i < READ_BURST; i++) {
		/* MSG_TRUNC: the datagram's real length, to refuse it. */
		n = recv(fd, env.buf, DGRAM_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				log_rate(LR_RECV, "recv: %s", strerror(errno));
			return 0;
		}
		main_datagram((size_t)n);
	}
	return 1;
}

static void
main_on_read(evutil_socket_t fd, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	(void)main_read_burst(fd);
}

static void
main_on_timer(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	main_flush();
	log_rate_flush(0);
}

static void
main_on_stop(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	log_info("stop signal: writing the sums and exiting");
	event_base_loopbreak(env.base);
}

/*
 * The socket, made with mode (0220 by default: its owner and group
 * may send, nobody else; a datagram socket is never read through its
 * file).  The unit makes its directory set-group-ID postfix, so the
 * socket's group is postfix and Postfix's smtp(8) may write to it.
 * A stale socket from an earlier run is replaced; another file is not.
 */
static void
main_socket(const char *path, mode_t mode)
{
	struct sockaddr_un	sun;
	struct stat		st;
	mode_t			old;
	int			want = RCVBUF_WANT;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("%s: socket path too long (at most %zu bytes)", path,
		    sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s: exists and is not a socket", path);
		if (unlink(path) == -1)
			fatalx("%s: cannot remove the old socket: %s", path,
			    strerror(errno));
	}
	if ((env.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		fatalx("socket: %s", strerror(errno));
	(void)setsockopt(env.fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	/* Never wider than mode, not even between bind and chmod. */
	old = umask(~mode & 0777);
	if (bind(env.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatalx("%s: bind: %s", path, strerror(errno));
	umask(old);
	if (chmod(path, mode) == -1)
		fatalx("%s: chmod: %s", path, strerror(errno));
	snprintf(env.path, sizeof(env.path), "%s", path);
}

/* tlsrpt_socket (mtasts.conf(5)). */
static void
main_config_socket(const struct mtasts_config *cfg, char *out, size_t size)
{
	const char	*key;
	char		 val[1024];
	size_t		 i;

	out[0] = '\0';
	for (i = 0; mtasts_config_item(cfg, i, &key, val, sizeof(val)) ==
	    MTASTS_OK; i++)
		if (strcmp(key, "tlsrpt_socket") == 0)
			snprintf(out, size, "%s", val);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mtasts-tlsrptd [-fv] [-c config] "
	    "[-m mode] [-s socket]\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct mtasts_config	*cfg = NULL;
	struct event		*rd, *stop, *timer;
	struct timeval		 tv = { 1, 0 };
	const char		*conf = NULL, *sock = NULL;
	char			 err[MTASTS_ERRLEN], path[1024], *end;
	unsigned long		 mode = 0220;
	int			 ch, i;

	log_init("mtasts-tlsrptd: ", LOG_TO_STDERR, LOG_MAIL);
	while ((ch = getopt(argc, argv, "c:fm:s:v")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'f':
			env.foreground = 1;
			break;
		case 'm':
			errno = 0;
			mode = strtoul(optarg, &end, 8);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    mode > 0777)
				fatalx("-m %s: an octal mode is needed",
				    optarg);
			break;
		case 's':
			sock = optarg;
			break;
		case 'v':
			env.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!env.foreground)
		openlog("mtasts-tlsrptd", LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_init("mtasts-tlsrptd: ", (env.foreground ? LOG_TO_STDERR :
	    LOG_TO_SYSLOG) | (env.verbose ? LOG_VERBOSE : 0), LOG_MAIL);
	mtasts_set_log(log_on_core, NULL);
	if (mtasts_config_load(conf, &cfg, err, sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	main_config_socket(cfg, path, sizeof(path));
	if (sock == NULL)
		sock = path;
	if ((env.buf = malloc(DGRAM_MAX + 1)) == NULL ||
	    (env.dg = calloc(1, sizeof(*env.dg))) == NULL ||
	    (env.dg->arena = malloc(DGRAM_ARENA(DGRAM_MAX))) == NULL)
		fatalx("out of memory");
	env.dg->size = DGRAM_ARENA(DGRAM_MAX);
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	main_socket(sock, (mode_t)mode);
	if (!env.foreground && daemon(0, 0) == -1)
		fatalx("daemon: %s", strerror(errno));
	if (event_reinit(env.base) == -1)
		fatalx("event_reinit failed");
	if (mtasts_ctx_new(env.base, cfg, 0, &env.ctx, err, sizeof(err)) !=
	    MTASTS_OK)
		fatalx("%s", err);
	if ((env.tally = tally_new(env.ctx)) == NULL)
		fatalx("out of memory");
	if ((rd = event_new(env.base, env.fd, EV_READ | EV_PERSIST,
	    main_on_read, NULL)) == NULL || event_add(rd, NULL) == -1 ||
	    (stop = event_new(env.base, stop_init("mtasts-tlsrptd",
	    EXIT_SECONDS, env.foreground), EV_READ, main_on_stop,
	    NULL)) == NULL || event_add(stop, NULL) == -1 ||
	    (timer = event_new(env.base, -1, EV_PERSIST, main_on_timer,
	    NULL)) == NULL || event_add(timer, &tv) == -1)
		fatalx("out of memory");
	log_info("ready: datagrams on %s (mode %04lo)", env.path, mode);

	event_base_dispatch(env.base);

	/* What is queued in the socket is read and counted too, not one
	 * burst only: up to the kernel's queue many times over, and in
	 * time to write the sums before the stop bound (a sender that
	 * never stops must not make us lose what we hold). */
	for (i = 0; i < EXIT_BURSTS && main_read_burst(env.fd); i++)
		;
	main_flush();
	if (env.store_down)
		log_warnx("exiting with %zu sums the results store did not "
		    "take: lost", tally_pending(env.tally));
	unlink(env.path);
	close(env.fd);
	event_free(rd);
	event_free(stop);
	event_free(timer);
	tally_free(env.tally);
	mtasts_ctx_free(env.ctx);
	mtasts_config_free(cfg);
	event_base_free(env.base);
	free(env.dg->arena);
	free(env.dg);
	free(env.buf);
	log_rate_flush(1);
	alarm(0);
	return 0;
}
