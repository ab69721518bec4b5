/*
 * fuzz_smtpreply.c - mtasts check's SMTP reply parser (cli/smtpreply.c)
 * on hostile server bytes (RFC 5321 §4.2).
 *
 * The input is what a server sent, parsed reply after reply as
 * cli/smtp.c does (at most SMTP_REPLY_MAX bytes buffered).  Properties:
 *  - the status is MORE, DONE or BAD; BAD comes with a reason;
 *  - DONE: the reply ends with LF within the bytes given, its code is
 *    200-599 and its lines 1..SMTP_LINES_MAX, its text printable and
 *    terminated; the same bytes cut at `used' give the same reply, and
 *    cut one byte earlier give MORE (the last line is not complete);
 *  - MORE: no line-end-free run longer than SMTP_LINE_MAX at the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/smtpreply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_text(const struct smtp_reply *r)
{
	size_t i, n = strnlen(r->text, sizeof(r->text));

	if (n == sizeof(r->text))
		abort();
	for (i = 0; i < n; i++)
		if (r->text[i] < 0x20 || r->text[i] >= 0x7f)
			__builtin_trap();
}

static void
fuzz_done(const char *p, size_t len, const struct smtp_reply *r,
    size_t used)
{
	struct smtp_reply again;
	size_t used2;

	if (used == 0 || used > len || p[used - 1] != '\n' ||
	    r->code < 200 || r->code > 599 || r->nlines == 0 ||
	    r->nlines > SMTP_LINES_MAX)
		__builtin_trap();
	fuzz_check_text(r);
	if (smtp_reply_parse(p, used, &again, &used2) != SMTP_DONE ||
	    used2 != used || again.code != r->code ||
	    again.nlines != r->nlines || again.starttls != r->starttls ||
	    strcmp(again.text, r->text) != 0)
		__builtin_trap();
	if (smtp_reply_parse(p, used - 1, &again, &used2) != SMTP_MORE)
		__builtin_trap();
}

/* MORE: what follows the last line end is no longer than a line. */
static void
fuzz_more(const char *p, size_t len)
{
	size_t tail = 0;

	while (tail < len && p[len - 1 - tail] != '\n')
		tail++;
	if (tail > SMTP_LINE_MAX)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	size_t off = 0, len, used;
	char *p;
	int st;

	while (off < size) {
		len = size - off;
		if (len > SMTP_REPLY_MAX)
			len = SMTP_REPLY_MAX;
		/* Exact size: a read past the end is a heap overflow. */
		if ((p = malloc(len)) == NULL)
			abort();
		memcpy(p, data + off, len);
		st = smtp_reply_parse(p, len, &r, &used);
		if (st == SMTP_DONE)
			fuzz_done(p, len, &r, used);
		else if (st == SMTP_BAD) {
			if (r.why[0] == '\0')
				__builtin_trap();
		} else if (st != SMTP_MORE || used != 0)
			__builtin_trap();
		else
			fuzz_more(p, len);
		free(p);
		if (st != SMTP_DONE)
			break;
		off += used;
	}
	return 0;
}
