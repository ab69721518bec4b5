/*
 * fuzz_smattr.c - mtasts-socketmap's answers with Postfix 3.10's TLSRPT
 * attributes (socketmap/attr.c): the input is a policy as a hostile
 * policy host may serve it, the mx patterns are its "mx:" values (as
 * the parser would keep them, unchecked here).  Properties:
 *  - every answer is "NOTFOUND " or "OK " followed by printable ASCII
 *    and blanks only (Postfix reads UTF-8 replies, its attributes have
 *    no escapes);
 *  - split as Postfix's mystrtokq() splits it, braces balance and
 *    never nest, and every attribute is name=value;
 *  - attr_escape() is idempotent and never lengthens its input, and
 *    the policy strings stay within ATTR_STRINGS_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../socketmap/attr.h"

#define FUZZ_MX		16

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_syntax(const char *r, size_t len)
{
	const char	*p, *t, *first;
	int		 depth;

	if (strlen(r) != len)
		abort();
	if (strcmp(r, "NOTFOUND ") == 0)
		return;
	if (strncmp(r, "OK ", 3) != 0)
		abort();
	for (p = r; *p != '\0'; p++)
		if (*p != ' ' && (*p <= ' ' || *p >= 127))
			abort();
	first = p = r + 3;
	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		t = p;
		for (depth = 0; *p != '\0' && (depth > 0 ||
		    (*p != ' ' && *p != ',')); p++) {
			if (*p == '{' && ++depth > 1)
				abort();
			if (*p == '}' && --depth < 0)
				abort();
		}
		if (depth != 0)
			abort();
		if (t != first && memchr(t, '=', (size_t)(p - t)) == NULL)
			abort();
	}
	if ((t = strstr(r, " { policy_string")) != NULL &&
	    strlen(t) > ATTR_STRINGS_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*text = (const char *)data, *s, *e;
	const char		*mx[FUZZ_MX];
	char			*buf, *again, *copy[FUZZ_MX], *r;
	struct attr_policy	 p;
	size_t			 n, m, len, i, nmx = 0;
	int			 mode;

	/* The "mx: " values, as hostile as the rest. */
	for (s = text; s < text + size && nmx < FUZZ_MX; s = e + 1) {
		if ((e = memchr(s, '\n', (size_t)(text + size - s))) == NULL)
			e = text + size;
		if (e - s > 4 && memcmp(s, "mx: ", 4) == 0) {
			if ((copy[nmx] = malloc((size_t)(e - s) - 3)) == NULL)
				abort();
			memcpy(copy[nmx], s + 4, (size_t)(e - s) - 4);
			copy[nmx][(size_t)(e - s) - 4] = '\0';
			mx[nmx] = copy[nmx];
			nmx++;
		}
	}
	for (mode = MTASTS_MODE_NONE; mode <= MTASTS_MODE_ENFORCE; mode++) {
		memset(&p, 0, sizeof(p));
		p.domain = "example.com";
		p.has_policy = 1;
		p.mode = (enum mtasts_mode)mode;
		p.mx = mx;
		p.nmx = nmx;
		p.text = text;
		p.text_len = size;
		if ((r = attr_reply(&p, 1, &len)) == NULL)
			abort();
		fuzz_check_syntax(r, len);
		free(r);
	}
	for (i = 0; i < nmx; i++)
		free(copy[i]);
	if ((buf = malloc(size + 1)) == NULL ||
	    (again = malloc(size + 1)) == NULL)
		abort();
	n = attr_escape(buf, size + 1, text, size);
	m = attr_escape(again, size + 1, buf, n);
	if (n > size || m != n || memcmp(buf, again, n) != 0)
		abort();
	free(buf);
	free(again);
	return 0;
}
