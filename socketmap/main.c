/*
 * main.c - mtasts-socketmap: MTA-STS (RFC 8461) policies for Postfix's
 * smtp_tls_policy_maps over the socketmap protocol, answering as
 * postfix-mta-sts-resolver does.  See mtasts-socketmap(8).
 */
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include <mtasts.h>

#include "socketmap.h"

/* Descriptors kept for the process itself: stdio, syslog, the event
 * base, listeners, the cache's files, the resolver's sockets. */
#define FD_RESERVE		32
/* The soft limit is raised to the hard one, up to this. */
#define FD_WANT			65536

struct sm_env	env;

/* Lines about clients, by kind (socketmap.h). */
static struct lograte lograte[LR_COUNT] = {
	{ "lines about refused or closed connections", 0, 0, 0 },
	{ "lines about malformed requests", 0, 0, 0 },
	{ "lines about TEMP answers (deadline, overload)", 0, 0, 0 },
	{ "lines about accept errors", 0, 0, 0 },
};

void
log_rate(enum lograte_kind kind, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	lograte_vlog(&lograte[kind], lograte_now(), fmt, ap);
	va_end(ap);
}

/* From a timer, and at exit (force): the counts of ended intervals. */
void
log_rate_flush(int force)
{
	lograte_flush_all(lograte, LR_COUNT, force);
}

/* SIGTERM, SIGINT (adapter/stop.c): if the shutdown is not over in
 * SM_EXIT_SECONDS, pending requests are dropped: Postfix sees the
 * connection close and defers. */
static void
main_on_stop(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	log_info("stop signal: answering what is pending TEMP and exiting");
	env.stopping = 1;
	/* Not loopexit: that allocates, and SIGTERM must work when
	 * memory has run out. */
	event_base_loopbreak(env.base);
}

static void
main_on_sweep(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	answer_memo_sweep();
	log_rate_flush(0);
	conn_trim();
}

/* socketmap_dane, socketmap_tlsrpt and socketmap_tlsrpt_level
 * (mtasts.conf(5)), checked by the core's parser. */
static void
main_dane_level(const struct mtasts_config *cfg)
{
	const char *key;
	char val[16];
	size_t i;

	snprintf(env.dane_level, sizeof(env.dane_level), "dane-only");
	snprintf(env.tlsrpt_level, sizeof(env.tlsrpt_level), "may");
	for (i = 0; mtasts_config_item(cfg, i, &key, val, sizeof(val)) ==
	    MTASTS_OK; i++)
		if (strcmp(key, "socketmap_dane") == 0)
			snprintf(env.dane_level, sizeof(env.dane_level), "%s",
			    val);
		else if (strcmp(key, "socketmap_tlsrpt") == 0)
			env.tlsrpt = strcmp(val, "yes") == 0;
		else if (strcmp(key, "socketmap_tlsrpt_level") == 0)
			snprintf(env.tlsrpt_level, sizeof(env.tlsrpt_level),
			    "%s", val);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mtasts-socketmap [-fv] [-c config] "
	    "[-d seconds] [-l address:port] [-M address:port]\n"
	    "                        [-m seconds] [-n connections] "
	    "[-s socket]\n");
	exit(1);
}

static unsigned long
main_number(int opt, const char *s, unsigned long lo, unsigned long hi)
{
	char		*end;
	unsigned long	 n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    n < lo || n > hi)
		fatalx("-%c %s: expected %lu to %lu", opt, s, lo, hi);
	return n;
}

/*
 * Connections and lookups are bounded by the descriptors we may open,
 * so that a storm of clients or slow domains never makes a socket or
 * a cache file fail to open (EMFILE) inside the core: each connection
 * takes one, each lookup up to two (curl tries IPv6 and IPv4 at once).
 * The soft limit is raised to the hard one first.
 */
static void
main_limits(void)
{
	struct rlimit	rl;
	size_t		budget, conns, pending;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatalx("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < FD_WANT) {
		rl.rlim_cur = rl.rlim_max < FD_WANT ? rl.rlim_max : FD_WANT;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < FD_RESERVE + 8)
		fatalx("descriptor limit %llu: at least %d needed",
		    (unsigned long long)rl.rlim_cur, FD_RESERVE + 8);
	budget = (rl.rlim_cur > FD_WANT ? FD_WANT : (size_t)rl.rlim_cur) -
	    FD_RESERVE;
	/* At most a third for connections, the rest for lookups. */
	conns = budget / 3;
	if (env.conns_max > conns) {
		log_warnx("descriptor limit %llu: at most %zu connections, "
		    "not %zu", (unsigned long long)rl.rlim_cur, conns,
		    env.conns_max);
		env.conns_max = conns;
	}
	env.lookups_max = (budget - env.conns_max) / 2;
	if (env.lookups_max > SM_LOOKUPS_MAX)
		env.lookups_max = SM_LOOKUPS_MAX;
	pending = env.lookups_max / 2;
	env.pending_max = pending < SM_PENDING_MAX ? pending : SM_PENDING_MAX;
}

int
main(int argc, char *argv[])
{
	struct mtasts_config	*cfg = NULL;
	struct event		*stop, *sweep;
	struct timeval		 sweep_tv = { 0, 0 };
	const char		*conf = NULL, *tcp[8], *unixpath[8];
	const char		*metrics = NULL;
	size_t			 ntcp = 0, nunix = 0, i;
	char			 err[MTASTS_ERRLEN];
	int			 ch;

	log_init("mtasts-socketmap: ", LOG_TO_STDERR, LOG_MAIL);
	env.deadline = 10;
	env.memo_ttl = 10;
	env.conns_max = 1000;
	while ((ch = getopt(argc, argv, "c:d:fl:M:m:n:s:v")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'd':
			env.deadline = main_number(ch, optarg, 1, 300);
			break;
		case 'f':
			env.foreground = 1;
			break;
		case 'l':
			if (ntcp == 8)
				fatalx("-l: at most 8");
			tcp[ntcp++] = optarg;
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'm':
			env.memo_ttl = main_number(ch, optarg, 0, 3600);
			break;
		case 'n':
			env.conns_max = main_number(ch, optarg, 1, 100000);
			break;
		case 's':
			if (nunix == 8)
				fatalx("-s: at most 8");
			unixpath[nunix++] = optarg;
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
	/* A unix socket by default: a TCP port on loopback is open to
	 * every local user, the socket's directory only to Postfix. */
	if (ntcp == 0 && nunix == 0)
		unixpath[nunix++] = SM_SOCKET_DEFAULT;
	if (!env.foreground)
		openlog("mtasts-socketmap", LOG_PID | LOG_NDELAY, LOG_MAIL);
	log_init("mtasts-socketmap: ", (env.foreground ? LOG_TO_STDERR :
	    LOG_TO_SYSLOG) | (env.verbose ? LOG_VERBOSE : 0), LOG_MAIL);
	/* Clients vanish: EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	main_limits();
	mtasts_set_log(log_on_core, NULL);
	if (mtasts_config_load(conf, &cfg, err, sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	main_dane_level(cfg);
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < ntcp; i++)
		listen_tcp(tcp[i]);
	for (i = 0; i < nunix; i++)
		listen_unix(unixpath[i]);
	if (metrics != NULL)
		metrics_http_start(metrics);
	if (!env.foreground && daemon(0, 0) == -1)
		fatalx("daemon: %s", strerror(errno));
	/* After daemon(): the context's resolver and cache live here. */
	if (event_reinit(env.base) == -1)
		fatalx("event_reinit failed");
	if (mtasts_ctx_new(env.base, cfg, 0, &env.mtasts, err,
	    sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	if ((stop = event_new(env.base, stop_init("mtasts-socketmap",
	    SM_EXIT_SECONDS, env.foreground), EV_READ, main_on_stop,
	    NULL)) == NULL || event_add(stop, NULL) == -1)
		fatalx("cannot handle signals");
	sweep_tv.tv_sec = env.memo_ttl > 0 && env.memo_ttl < 10 ?
	    env.memo_ttl : 10;
	if ((sweep = event_new(env.base, -1, EV_PERSIST, main_on_sweep,
	    NULL)) == NULL || event_add(sweep, &sweep_tv) == -1)
		fatalx("out of memory");
	log_info("ready: deadline %us, memo %us, at most %zu connections "
	    "and %zu lookups (%zu for pipelined requests)", env.deadline,
	    env.memo_ttl, env.conns_max, env.lookups_max, env.pending_max);

	event_base_dispatch(env.base);

	listen_free();
	metrics_http_free();
	conn_shutdown();
	mtasts_ctx_free(env.mtasts);	/* runs pending query callbacks */
	answer_memo_free();
	event_free(stop);
	event_free(sweep);
	mtasts_config_free(cfg);
	event_base_free(env.base);
	log_rate_flush(1);
	/* Done in time: the exit handlers (the sanitizers' leak check in
	 * the test build) are not cut short. */
	alarm(0);
	return 0;
}
