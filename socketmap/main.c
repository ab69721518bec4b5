/*
 * main.c - mtasts-socketmap: MTA-STS (RFC 8461) policies for Postfix's
 * smtp_tls_policy_maps over the socketmap protocol, answering as
 * postfix-mta-sts-resolver does.  See mtasts-socketmap(8).
 */
#include <sys/resource.h>

#include <errno.h>
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

struct sm_env	env;

static void
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char	msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (env.foreground)
		fprintf(stderr, "mtasts-socketmap: %s\n", msg);
	else
		syslog(prio, "%s", msg);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!env.verbose)
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}

static void
main_on_log(int prio, const char *msg, void *arg)
{
	(void)arg;
	if (prio <= LOG_NOTICE || env.verbose) {
		if (env.foreground)
			fprintf(stderr, "mtasts-socketmap: %s\n", msg);
		else
			syslog(prio, "%s", msg);
	}
}

static void
main_on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	log_info("signal %d: exiting", (int)sig);
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
}

static void
usage(void)
{
	fprintf(stderr, "usage: mtasts-socketmap [-fv] [-c config] "
	    "[-d seconds] [-l address:port] [-m seconds]\n"
	    "                        [-n connections] [-s socket]\n");
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

/* Connections are bounded by the descriptors we may open. */
static size_t
main_conns_cap(size_t want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < 64)
		return want < 16 ? want : 16;
	if (want > rl.rlim_cur - 48)
		return rl.rlim_cur - 48;
	return want;
}

int
main(int argc, char *argv[])
{
	struct mtasts_config	*cfg = NULL;
	struct event		*sigterm, *sigint, *sweep;
	struct timeval		 sweep_tv = { 0, 0 };
	const char		*conf = NULL, *tcp[8], *unixpath[8];
	size_t			 ntcp = 0, nunix = 0, i;
	char			 err[MTASTS_ERRLEN];
	int			 ch;

	env.deadline = 10;
	env.memo_ttl = 10;
	env.conns_max = 1000;
	while ((ch = getopt(argc, argv, "c:d:fl:m:n:s:v")) != -1) {
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
	if (ntcp == 0 && nunix == 0)
		tcp[ntcp++] = "127.0.0.1:8461";
	if (!env.foreground)
		openlog("mtasts-socketmap", LOG_PID | LOG_NDELAY, LOG_MAIL);
	/* Clients vanish: EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	env.conns_max = main_conns_cap(env.conns_max);
	mtasts_set_log(main_on_log, NULL);
	if (mtasts_config_load(conf, &cfg, err, sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	if ((env.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < ntcp; i++)
		listen_tcp(tcp[i]);
	for (i = 0; i < nunix; i++)
		listen_unix(unixpath[i]);
	if (!env.foreground && daemon(0, 0) == -1)
		fatalx("daemon: %s", strerror(errno));
	/* After daemon(): the context's resolver and cache live here. */
	if (event_reinit(env.base) == -1)
		fatalx("event_reinit failed");
	if (mtasts_ctx_new(env.base, cfg, 0, &env.mtasts, err,
	    sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	if ((sigterm = evsignal_new(env.base, SIGTERM, main_on_signal,
	    NULL)) == NULL || (sigint = evsignal_new(env.base, SIGINT,
	    main_on_signal, NULL)) == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL))
		fatalx("cannot handle signals");
	sweep_tv.tv_sec = env.memo_ttl > 0 ? env.memo_ttl : 60;
	if ((sweep = event_new(env.base, -1, EV_PERSIST, main_on_sweep,
	    NULL)) == NULL || event_add(sweep, &sweep_tv) == -1)
		fatalx("out of memory");
	log_info("ready: deadline %us, memo %us, at most %zu connections",
	    env.deadline, env.memo_ttl, env.conns_max);

	event_base_dispatch(env.base);

	listen_free();
	conn_shutdown();
	mtasts_ctx_free(env.mtasts);	/* runs pending query callbacks */
	answer_memo_free();
	event_free(sigterm);
	event_free(sigint);
	event_free(sweep);
	mtasts_config_free(cfg);
	event_base_free(env.base);
	return 0;
}
