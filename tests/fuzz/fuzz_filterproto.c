/*
 * fuzz_filterproto.c - filter-mtasts's reader of smtpd's filter
 * protocol (opensmtpd-filter/proto.c), fed hostile lines.  The rest of
 * the filter is replaced by recorders here.  Properties:
 *  - rcpt_start is called only with a session and a token of 1 to 16
 *    hex digits and an address taken from inside the line;
 *  - everything written back is a "register|..." line, or a
 *    "filter-result|SID|TOKEN|proceed" or "...|reject|451 ..." whose
 *    ids are valid;
 *  - a filter request naming a valid session and token gets exactly
 *    one answer (rcpt_start or filter-result), whatever its version or
 *    its other fields: smtpd has no filter timeout;
 *  - report events reach report_event only in --report mode.
 * The input is split on LF into lines, each copied to an exact-size,
 * NUL-terminated buffer as io.c hands them over.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../opensmtpd-filter/filter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct filter_env	 env;
static const char	*cur;		/* the line being read */
static size_t		 curlen;
static int		 answers;	/* for the line being read */

static int
fuzz_hexid(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && len <= 16 &&
	    strspn(s, "0123456789abcdefABCDEF") == len;
}

void
log_warnx(const char *fmt, ...)
{
	(void)fmt;
}

void
log_debug(const char *fmt, ...)
{
	(void)fmt;
}

void
fatalx(const char *fmt, ...)
{
	(void)fmt;
	abort();		/* never for input */
}

void
io_printf(const char *fmt, ...)
{
	char buf[FILTER_LINE_MAX * 2], *f[4], *p;
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strncmp(buf, "register|", 9) == 0)
		return;
	for (p = buf, i = 0; i < 4 && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '|')) != NULL)
			*p++ = '\0';
	}
	if (i != 4 || strcmp(f[0], "filter-result") != 0 ||
	    !fuzz_hexid(f[1]) || !fuzz_hexid(f[2]))
		abort();
	if (!(p == NULL && strcmp(f[3], "proceed") == 0) &&
	    !(p != NULL && strcmp(f[3], "reject") == 0 &&
	    strncmp(p, "451 ", 4) == 0))
		abort();
	answers++;
}

void
rcpt_start(const char *sid, const char *token, const char *addr,
    size_t len)
{
	if (!fuzz_hexid(sid) || !fuzz_hexid(token) || addr < cur ||
	    addr + len > cur + curlen)
		abort();
	answers++;
}

void
report_event(const char *dir, const char *event, const char *sid,
    char *params)
{
	(void)dir;
	(void)event;
	(void)params;
	if (!env.report || !fuzz_hexid(sid))
		abort();
}

/* Must the line be answered: a filter request with a session and a
 * token (fields 6 and 7), no NUL byte? */
static int
fuzz_must_answer(const char *line, size_t len)
{
	char copy[FILTER_LINE_MAX + 1], *f[7], *p = copy;
	int i;

	if (memchr(line, '\0', len) != NULL ||
	    strncmp(line, "filter|", 7) != 0)
		return 0;
	memcpy(copy, line, len + 1);
	for (i = 0; i < 7 && p != NULL; i++) {
		f[i] = p;
		if ((p = strchr(p, '|')) != NULL)
			*p++ = '\0';
	}
	return i == 7 && fuzz_hexid(f[5]) && fuzz_hexid(f[6]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	char *line;
	size_t len;
	int i;

	env.report = size > 0 && (data[0] & 1);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len <= FILTER_LINE_MAX) {
			if ((line = malloc(len + 1)) == NULL)
				abort();
			memcpy(line, p, len);
			line[len] = '\0';
			cur = line;
			curlen = len;
			answers = 0;
			i = fuzz_must_answer(line, len);
			proto_line(line, len);
			if (answers != i)
				abort();	/* none, or two */
			free(line);
		}
		p = nl + 1;
	}
	return 0;
}
