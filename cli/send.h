/*
 * send.h - mtasts report send: the pure parts (the report mail, the
 * mailto: address, the per-report send state), kept apart from the I/O
 * so that unit tests and fuzz targets reach them.
 */
#ifndef MTASTS_CLI_SEND_H
#define MTASTS_CLI_SEND_H

#include <stddef.h>
#include <stdint.h>

/* RFC 5321 §4.5.3.1.3: a forward path holds at most 256 octets. */
#define SEND_ADDR_MAX	254

/* A mailto: rua (RFC 6068) as the one addr-spec it must name: scheme
 * "mailto:" (any case), %-escapes decoded, hfields after "?" ignored,
 * then exactly local@domain with a dot-atom local part (RFC 5322 §3.2.3)
 * and an LDH domain.  Anything else (a second address, CR, LF, quotes,
 * comments, angle brackets) is refused: it would go into a To: header.
 * 0 with the address in addr, -1 with why. */
int	send_mailto_addr(const char *uri, size_t len, char *addr, size_t size,
	    char *why, size_t whylen);

/* What the report mail says; every string printable ASCII. */
struct send_mail {
	const char	*from;		/* report_contact */
	const char	*to;		/* from send_mailto_addr() */
	const char	*org;		/* report_organization */
	const char	*domain;	/* TLS-Report-Domain */
	const char	*submitter;	/* TLS-Report-Submitter */
	const char	*report_id;	/* the JSON report-id (D21) */
	const char	*filename;	/* §5.1 name of the .json.gz */
	const char	*date;		/* YYYY-MM-DD the report covers */
	int64_t		 now;		/* Date: header */
	const unsigned char *gz;	/* the gzip report */
	size_t		 gzlen;
};

/* RFC 8460 §5.3: a multipart/report; report-type="tlsrpt" message with
 * TLS-Report-Domain, TLS-Report-Submitter, the §5.3 Subject, a text part
 * and the report as a base64 application/tlsrpt+gzip part, LF line ends
 * (for sendmail -t).  Caller frees *out.  -1 with why if a header value
 * is not printable ASCII or too long, or on ENOMEM. */
int	send_mail_build(const struct send_mail *m, char **out, size_t *len,
	    char *why, size_t whylen);

/* The state of one report file, kept next to it in NAME.state. */
enum send_phase {
	SEND_PENDING = 0,	/* not delivered yet: try at next */
	SEND_DELIVERED,		/* one endpoint accepted it (§3) */
	SEND_EXPIRED,		/* 24 h of retries failed (§5.5) */
	SEND_NORUA,		/* the domain publishes no TLSRPT record */
};

struct send_state {
	enum send_phase	 phase;
	int64_t		 first;		/* first attempt, 0: none yet */
	int64_t		 last;		/* last attempt */
	int64_t		 next;		/* not before this time */
	uint32_t	 attempts;
};

#define SEND_STATE_MAX	1024		/* bytes of a state file */
#define SEND_RETRY_SPAN	86400		/* §5.5: retry for up to 24 h */

/* Parse a state file: "mtasts-send 1" then "key value" lines (phase,
 * first, last, next, attempts), each once.  0, or -1 with why. */
int	send_state_parse(const char *p, size_t len, struct send_state *st,
	    char *why, size_t whylen);
/* The text send_state_parse() reads back; the size it needs or -1. */
int	send_state_format(const struct send_state *st, char *buf,
	    size_t size);
/* After a failed attempt at now: the next try with the delay doubling
 * from retry seconds (capped at 6 h), or SEND_EXPIRED past 24 h. */
void	send_state_failed(struct send_state *st, int64_t now,
	    unsigned int retry);
const char *send_phase_name(enum send_phase phase);

/* send.c: the begin time in a report file's name, -1 if not one. */
long long send_name_begin(const char *name);

/* retention.c: report_retention applied to results and report files. */
struct cli_global;
struct mtasts_ctx;
void	send_retention(const struct cli_global *g, struct mtasts_ctx *ctx,
	    const char *dir, long long now);

#endif /* MTASTS_CLI_SEND_H */
