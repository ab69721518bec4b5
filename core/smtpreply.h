/*
 * smtpreply.h - SMTP replies (RFC 5321 §4.2) from a hostile server:
 * bounded lines, bounded replies, multi-line replies checked.
 */
#ifndef MTASTS_SMTPREPLY_H
#define MTASTS_SMTPREPLY_H

#include <stddef.h>

#include <mtasts.h>

/* RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with CRLF;
 * we take up to 1000 (the text line limit), nothing longer. */
#define SMTP_LINE_MAX		1000
#define SMTP_LINES_MAX		100		/* lines per reply */
#define SMTP_REPLY_MAX		16384		/* bytes per reply */
#define SMTP_TEXT_MAX		MTASTS_SMTP_TEXT_MAX /* text kept for messages */

enum smtp_parse {
	SMTP_MORE = 0,		/* no complete reply yet: read more */
	SMTP_DONE,		/* one reply, its last line ends at *used */
	SMTP_BAD,		/* not an SMTP reply; why says how */
};

struct smtp_reply {
	int	code;			/* 200-599 */
	size_t	nlines;
	int	starttls;		/* an EHLO keyword line "STARTTLS" */
	char	text[SMTP_TEXT_MAX];	/* first line's text, printable */
	char	why[96];		/* for SMTP_BAD */
};

/* Parse the first reply in the bytes (p, len) received so far.  Lines
 * end in CRLF (a bare LF is taken too).  SMTP_DONE fills r and *used;
 * SMTP_MORE means every line so far is fine; SMTP_BAD on a malformed
 * line, mixed codes, a line over SMTP_LINE_MAX, or a reply over
 * SMTP_LINES_MAX lines or SMTP_REPLY_MAX bytes. */
int	smtp_reply_parse(const char *p, size_t len, struct smtp_reply *r,
	    size_t *used);

#endif /* MTASTS_SMTPREPLY_H */
