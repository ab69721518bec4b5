/*
 * smtpreply.c - one SMTP reply out of the bytes read so far (RFC 5321
 * §4.2, §4.2.1 multi-line replies, §4.5.3.1.5 lengths).  Pure: no I/O,
 * every read checked against len, so it can be fuzzed
 * (tests/fuzz/fuzz_smtpreply.c).
 */
#include <string.h>

#include "smtpreply.h"

#define SMTP_IS_DIGIT(c)	((c) >= '0' && (c) <= '9')

static int
smtp_bad(struct smtp_reply *r, const char *why)
{
	size_t n = strlen(why);

	if (n >= sizeof(r->why))
		n = sizeof(r->why) - 1;
	memcpy(r->why, why, n);
	r->why[n] = '\0';
	return SMTP_BAD;
}

/* Keep text printable: a server's bytes end up on a terminal. */
static void
smtp_keep_text(struct smtp_reply *r, const char *p, size_t len)
{
	size_t i;

	if (len >= sizeof(r->text))
		len = sizeof(r->text) - 1;
	for (i = 0; i < len; i++)
		r->text[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
	r->text[len] = '\0';
}

/* RFC 3207 §4: the EHLO keyword STARTTLS, alone on its line. */
static int
smtp_is_starttls(const char *p, size_t len)
{
	static const char kw[] = "STARTTLS";
	size_t i;

	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len != sizeof(kw) - 1)
		return 0;
	for (i = 0; i < len; i++)
		if ((p[i] & ~0x20) != kw[i])
			return 0;
	return 1;
}

/* The error in one line (without its line end), or NULL if none. */
static const char *
smtp_line_error(const struct smtp_reply *r, const char *p, size_t len)
{
	int code;

	if (len < 3 || !SMTP_IS_DIGIT(p[0]) || !SMTP_IS_DIGIT(p[1]) ||
	    !SMTP_IS_DIGIT(p[2]))
		return "line does not start with a 3-digit code";
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (code < 200 || code > 599)
		return "reply code out of range";
	if (r->nlines > 0 && code != r->code)
		return "reply code changes within a multi-line reply";
	if (len > 3 && p[3] != ' ' && p[3] != '-')
		return "code not followed by ' ' or '-'";
	return NULL;
}

/* One valid line: 1 if it is the reply's last (RFC 5321 §4.2.1). */
static int
smtp_line(struct smtp_reply *r, const char *p, size_t len)
{
	if (r->nlines == 0)
		smtp_keep_text(r, len > 4 ? p + 4 : "", len > 4 ? len - 4 : 0);
	else if (len > 4 && smtp_is_starttls(p + 4, len - 4))
		r->starttls = 1;
	r->code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	r->nlines++;
	return len == 3 || p[3] == ' ';
}

int
smtp_reply_parse(const char *p, size_t len, struct smtp_reply *r,
    size_t *used)
{
	const char *line, *lf, *why;
	size_t off = 0, n, end;

	memset(r, 0, sizeof(*r));
	*used = 0;
	while (off < len) {
		if (off >= SMTP_REPLY_MAX)
			return smtp_bad(r, "reply too long");
		if (r->nlines == SMTP_LINES_MAX)
			return smtp_bad(r, "too many lines in one reply");
		line = p + off;
		n = len - off;
		if ((lf = memchr(line, '\n', n)) == NULL) {
			if (n > SMTP_LINE_MAX)
				return smtp_bad(r, "line too long");
			return SMTP_MORE;
		}
		end = (size_t)(lf - line);	/* line length with CR */
		if (end > SMTP_LINE_MAX)
			return smtp_bad(r, "line too long");
		n = end > 0 && line[end - 1] == '\r' ? end - 1 : end;
		if ((why = smtp_line_error(r, line, n)) != NULL)
			return smtp_bad(r, why);
		off += end + 1;
		if (smtp_line(r, line, n)) {
			*used = off;
			return SMTP_DONE;
		}
	}
	return SMTP_MORE;
}
