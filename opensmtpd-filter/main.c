/*
 * main.c - filter-mtasts: MTA-STS (RFC 8461) for OpenSMTPD, as a proc
 * filter.  See filter-mtasts(8).
 *
 * smtpd runs it with stdin/stdout on a socketpair and logs its stderr;
 * if it exits, smtpd shuts down.  So it never exits on input, only on
 * startup errors, out of memory, or end of input.
 */
#include <sys/stat.h>

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

#include "filter.h"

struct filter_env	env;

static void
usage(void)
{
	fprintf(stderr, "usage: filter-mtasts [-v] [-c config] "
	    "[-d seconds] [-t enforce.db]\n"
	    "       filter-mtasts --report [--probe] [-v] [-c config]\n");
	exit(1);
}

static unsigned int
main_seconds(const char *s)
{
	char		*end;
	unsigned long	 n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 1 || n > 300)
		fatalx("-d %s: expected 1 to 300 seconds", s);
	return (unsigned int)n;
}

/* smtpd gives a socket; a file on stdin (a replay, a test) needs a
 * backend that can watch any descriptor: epoll refuses regular files. */
static struct event_base *
main_base(void)
{
	struct event_config	*ec;
	struct event_base	*base;
	struct stat		 st;

	if (fstat(STDIN_FILENO, &st) == -1 || !S_ISREG(st.st_mode))
		return event_base_new();
	if ((ec = event_config_new()) == NULL)
		return NULL;
	event_config_require_features(ec, EV_FEATURE_FDS);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

/* Options into env; the configuration file, if given, into *conf. */
static void
main_options(int argc, char *argv[], const char **conf)
{
	static const struct option	 longopts[] = {
		{ "report", no_argument, NULL, 'r' },
		{ "probe", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int				 ch;

	env.deadline = 10;
	while ((ch = getopt_long(argc, argv, "c:d:prt:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			*conf = optarg;
			break;
		case 'd':
			env.deadline = main_seconds(optarg);
			break;
		case 'p':
			env.probe = 1;
			break;
		case 'r':
			env.report = 1;
			break;
		case 't':
			env.dbpath = optarg;
			break;
		case 'v':
			env.verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (env.probe && !env.report))
		usage();
}

int
main(int argc, char *argv[])
{
	struct mtasts_config	*cfg = NULL;
	const char		*conf = NULL;
	char			 err[MTASTS_ERRLEN];

	main_options(argc, argv, &conf);
	/* stderr only: smtpd prefixes each line with the filter name. */
	log_init("", LOG_TO_STDERR | (env.verbose ? LOG_VERBOSE : 0), 0);
	/* smtpd may be gone before our last answer: EPIPE, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	mtasts_set_log(log_on_core, NULL);
	if (mtasts_config_load(conf, &cfg, err, sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	if ((env.base = main_base()) == NULL)
		fatalx("event_base_new failed");
	if (mtasts_ctx_new(env.base, cfg, 0, &env.mtasts, err,
	    sizeof(err)) != MTASTS_OK)
		fatalx("%s", err);
	if (!env.report && env.dbpath != NULL &&
	    enforcedb_init(env.dbpath) == -1)
		fatalx("%s: cannot use the enforce table", env.dbpath);
	io_init(proto_line);

	event_base_dispatch(env.base);

	rcpt_shutdown();
	report_shutdown();
	probe_shutdown();
	io_free();
	mtasts_ctx_free(env.mtasts);	/* runs pending query callbacks */
	mtasts_config_free(cfg);
	enforcedb_free();
	event_base_free(env.base);
	return 0;
}
