/*
 * log.h - the adapters' log, shared by filter-mtasts, table-mtasts,
 * mtasts-socketmap and mtasts-tlsrptd (each compiles the adapter/ files
 * in).  libmtasts never prints (STYLE.md): the host program owns the
 * sink, so this is adapter code, not library API.
 *
 * log.c      the sink: stderr with a prefix, and/or syslog
 * lograte.c  lines about hostile input, at most LOGRATE_LINES of a
 *            kind per LOGRATE_SECONDS, the rest counted
 *
 * lograte.c only calls log_warnx(), so a test can link it with a
 * recorder in place of log.c.
 */
#ifndef ADAPTER_LOG_H
#define ADAPTER_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#define LOG_TO_STDERR	0x01	/* to stderr, after the prefix */
#define LOG_TO_SYSLOG	0x02	/* to syslog (the caller opens it) */
#define LOG_VERBOSE	0x04	/* log_debug(), the core's info lines */

/* Where lines go from now on; prefix is kept, not copied. */
void	log_init(const char *prefix, int flags, int facility);
void	log_warnx(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...)
	    __attribute__((format(printf, 1, 2)));
/* Startup errors and out of memory only, never hostile input. */
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
/* The sink for mtasts_set_log(): notices and worse, all when verbose. */
void	log_on_core(int prio, const char *msg, void *arg);

#define LOGRATE_LINES	10	/* lines logged per kind and interval */
#define LOGRATE_SECONDS	60

/* One kind of line about hostile input. */
struct lograte {
	const char	*what;		/* "lines about malformed requests" */
	time_t		 start;		/* of the interval, the caller's clock */
	unsigned int	 lines;		/* logged in it */
	unsigned long	 dropped;	/* only counted in it */
};

/* Log one line of kind l at now, unless LOGRATE_LINES were logged in
 * this interval: then it is only counted. */
void	lograte_log(struct lograte *l, time_t now, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	lograte_vlog(struct lograte *l, time_t now, const char *,
	    va_list);
/* If the interval is over at now (or force): log how many lines were
 * only counted, and start a new one.  Call it from a timer or for each
 * input, so the count comes even when the bad input stopped. */
void	lograte_flush(struct lograte *l, time_t now, int force);
/* The daemons' clock for the above: CLOCK_MONOTONIC seconds. */
time_t	lograte_now(void);
/* lograte_flush() of each of the n kinds of a daemon's table, now. */
void	lograte_flush_all(struct lograte *l, size_t n, int force);

#endif /* ADAPTER_LOG_H */
