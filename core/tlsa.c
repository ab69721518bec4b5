/*
 * tlsa.c - count TLSA records in a raw DNS answer (RFC 6698 §2.1 RDATA).
 * c-ares 1.18 has no TLSA parser; the message walk (RFC 1035 §4.1, every
 * read checked against len) is dnsmsg.c's, shared with TXT and MX.
 */
#include <stddef.h>

#include "dnsmsg.h"
#include "tlsa.h"

struct tlsa_walk {
	struct tlsa_rr	*out;
	size_t		 max;
	size_t		*n;
};

/* CNAMEs on the way are not TLSA records; 3 parameter octets and at
 * least one octet of data (RFC 6698 §2.1).  The walk goes on past max
 * so that a message damaged further on is an error whatever max is. */
static int
tlsa_on_rr(const unsigned char *msg, size_t len, unsigned int type,
    size_t rdoff, size_t rdlen, void *arg)
{
	struct tlsa_walk *w = arg;

	(void)len;
	if (type != DNSMSG_T_TLSA || rdlen < 4 || *w->n >= w->max)
		return 0;
	w->out[*w->n].usage = msg[rdoff];
	w->out[*w->n].selector = msg[rdoff + 1];
	w->out[*w->n].mtype = msg[rdoff + 2];
	(*w->n)++;
	return 0;
}

int
tlsa_parse(const unsigned char *p, size_t len, struct tlsa_rr *out,
    size_t max, size_t *n)
{
	struct tlsa_walk w = { out, max, n };

	*n = 0;
	return dnsmsg_answers(p, len, tlsa_on_rr, &w) == 0 ? 0 : -1;
}
