/*
 * filter.h - filter-mtasts, the OpenSMTPD filter of mtasts: shared
 * declarations of its files.
 *
 * main.c	options, event loop, logging
 * io.c		bounded lines from stdin, buffered non-blocking stdout
 * proto.c	smtpd's filter protocol: handshake, requests, reports
 * rcpt.c	rcpt-to: the policy query, its deadline, the answer
 * enforcedb.c	the enforce table (a db: table for smtpd.conf)
 * report.c	--report: TLS results of outgoing sessions for TLSRPT
 * probe.c	--report --probe: TLS verdicts of unverified sessions
 */
#ifndef FILTER_H
#define FILTER_H

#include <stddef.h>

#include "../adapter/log.h"
#include <stdint.h>

struct event_base;
struct mtasts_ctx;

/* smtpd limits its own response lines to LINE_MAX (2048); requests
 * carry at most an SMTP command line.  Longer input lines are dropped
 * whole. */
#define FILTER_LINE_MAX		8192
/* Protocol fields we look at; a line has at most this many. */
#define FILTER_FIELDS_MAX	8

struct filter_env {
	struct event_base	*base;
	struct mtasts_ctx	*mtasts;
	const char		*dbpath;	/* enforce table, NULL: none */
	unsigned int		 deadline;	/* per rcpt-to, seconds */
	int			 report;	/* --report mode */
	int			 probe;		/* --probe: TLS not verified */
	int			 verbose;
};

extern struct filter_env	env;

/* log_warnx(), log_debug(), fatalx(): adapter/log.c */

/* io.c */
void	io_init(void (*online)(char *, size_t));
void	io_free(void);
void	io_idle(void);
/* Queue one line (a newline is added) for stdout. */
void	io_printf(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

/* proto.c */
void	proto_line(char *, size_t);

/* rcpt.c: answer "filter-result" for session sid/token once decided. */
void	rcpt_start(const char *sid, const char *token, const char *addr,
	    size_t len);
size_t	rcpt_pending(void);
void	rcpt_shutdown(void);

/* enforcedb.c */
int	enforcedb_init(const char *path);
/* Make sure domain is (present 1) or is not (0) in the table, writing
 * a new file if that changes it; -1 if the file could not be written. */
int	enforcedb_set(const char *domain, int present);
void	enforcedb_free(void);

/* report.c */
void	report_event(const char *dir, const char *event, const char *sid,
	    char *params);
void	report_shutdown(void);

/* probe.c: count one TLS session of domain at MX host mx, address ip,
 * with the verdict of a probe of it (run now, or at most an hour old). */
void	probe_session(const char *domain, const char *mx, const char *ip,
	    unsigned int port);
void	probe_shutdown(void);

#endif /* FILTER_H */
