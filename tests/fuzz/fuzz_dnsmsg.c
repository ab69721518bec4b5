/*
 * fuzz_dnsmsg.c - the DNS message reader of core/dnsmsg.c (RFC 1035
 * §4.1) over a hostile answer, as dns.c uses it for TXT and MX.
 *
 * Properties: dnsmsg_answers is 0 or -1 and visits each RR's RDATA
 * inside the message; a second walk visits the same RRs.  A TXT RR
 * read into an exact-size buffer of its RDATA length gives at most
 * rdlen - 1 octets.  An MX exchange is text of %x21-7E only, shorter
 * than DNSMSG_HOST_SIZE, without empty labels (no leading, trailing
 * or doubled unescaped dot) and without a backslash that escapes
 * nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnsmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	size_t		 n;		/* class IN RRs seen */
	uint32_t	 sum;		/* of their types and offsets */
};

static void
fuzz_check_host(const char *h)
{
	size_t i, len = strlen(h);

	if (len >= DNSMSG_HOST_SIZE)
		abort();
	for (i = 0; i < len; i++) {
		if (h[i] < 0x21 || h[i] > 0x7e)
			abort();
		if (h[i] == '\\') {
			if (i + 1 == len)
				abort();
			i++;	/* "\." "\\" or the first digit of \DDD */
		} else if (h[i] == '.' && (i == 0 || i + 1 == len ||
		    h[i + 1] == '.'))
			abort();	/* an empty label */
	}
}

static int
fuzz_on_rr(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	struct walk *w = arg;
	char *buf, *host;
	unsigned int pref;
	size_t n;

	if (rdoff > len || len - rdoff < rdlen)
		abort();
	w->n++;
	w->sum += type * 31u + (uint32_t)rdoff * 7u + (uint32_t)rdlen;
	if (type == DNSMSG_T_TXT) {
		if ((buf = malloc(rdlen > 0 ? rdlen : 1)) == NULL)
			abort();
		if (dnsmsg_txt(msg, len, rdoff, rdlen, buf, &n) == 0 &&
		    (rdlen == 0 || n > rdlen - 1))
			abort();
		free(buf);
	} else if (type == DNSMSG_T_MX) {
		if ((host = malloc(DNSMSG_HOST_SIZE)) == NULL)
			abort();
		if (dnsmsg_mx(msg, len, rdoff, rdlen, &pref, host) == 0)
			fuzz_check_host(host);
		else if (host[0] != '\0' && strlen(host) >= DNSMSG_HOST_SIZE)
			abort();
		free(host);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk a = { 0, 0 }, b = { 0, 0 };
	unsigned char *p;
	int ra, rb;

	/* Exact size: a read past the end is a heap overflow. */
	if ((p = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(p, data, size);
	ra = dnsmsg_answers(p, size, fuzz_on_rr, &a);
	rb = dnsmsg_answers(p, size, fuzz_on_rr, &b);
	if ((ra != 0 && ra != -1) || ra != rb || a.n != b.n || a.sum != b.sum)
		abort();
	free(p);
	return 0;
}
