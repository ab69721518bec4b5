/*
 * fuzz_netstring.c - mtasts-socketmap's readers of hostile clients:
 * socketmap/netstring.c over a stream of netstrings, then
 * socketmap/request.c on each one's data.  Properties:
 *  - a complete netstring lies inside the input, its data is at most
 *    the limit, and it is "LEN:DATA," with LEN the data's length;
 *  - the same stream fed one byte more at a time never completes a
 *    netstring earlier or differently (split reads);
 *  - a request's domain, when it has one, is a normalised name.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../socketmap/netstring.h"
#include "../../socketmap/request.h"

#define FUZZ_MAX	1024

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_frame(const char *p, size_t len, size_t off, size_t dlen,
    size_t used)
{
	char	head[16];
	int	n;

	if (used > len || off + dlen + 1 != used || dlen > FUZZ_MAX ||
	    p[used - 1] != ',' || p[off - 1] != ':')
		abort();
	n = snprintf(head, sizeof(head), "%zu", dlen);
	/* The digits may carry leading zeros: compare their value. */
	if (n <= 0 || (size_t)n > off - 1 ||
	    memcmp(p + off - 1 - (size_t)n, head, (size_t)n) != 0)
		abort();
}

/* A shorter prefix never gives a different verdict than "more". */
static void
fuzz_check_prefixes(const char *p, size_t used)
{
	size_t	i, off, dlen, u;

	for (i = 0; i < used; i++)
		if (netstring_parse(p, i, FUZZ_MAX, &off, &dlen, &u) ==
		    NETSTRING_OK)
			abort();
}

static void
fuzz_check_request(const char *p, size_t len)
{
	struct request	req;
	char		again[MTASTS_DOMAIN_MAX + 1];

	if (request_parse(p, len, &req) != REQUEST_DOMAIN)
		return;
	if (mtasts_domain_normalize(req.domain, strlen(req.domain), again,
	    sizeof(again), NULL, 0) != MTASTS_OK ||
	    strcmp(again, req.domain) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;
	size_t		 off, dlen, used, n = 0;
	int		 r;

	while (n < size) {
		r = netstring_parse(p + n, size - n, FUZZ_MAX, &off, &dlen,
		    &used);
		if (r != NETSTRING_OK)
			break;
		fuzz_check_frame(p + n, size - n, off, dlen, used);
		if (used <= 64)
			fuzz_check_prefixes(p + n, used);
		fuzz_check_request(p + n + off, dlen);
		n += used;
	}
	(void)netstring_strerror(r);
	return 0;
}
