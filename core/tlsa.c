/*
 * tlsa.c - count TLSA records in a raw DNS answer (RFC 1035 §4.1 message
 * format, RFC 6698 §2.1 RDATA).  c-ares 1.18 has no TLSA parser.  The
 * message is hostile: every read is checked against len.
 */
#include <stddef.h>

#include "tlsa.h"

#define TLSA_HDR	12	/* RFC 1035 §4.1.1 */

static unsigned int
tlsa_u16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* Skip one (possibly compressed) name at *off; -1 if malformed.  A
 * pointer ends the name: it is never followed, so no loop is possible. */
static int
tlsa_skip_name(const unsigned char *p, size_t len, size_t *off)
{
	size_t o = *off, labels = 0;

	while (o < len && labels++ < 128) {
		unsigned char c = p[o];

		if (c == 0) {
			*off = o + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (len - o < 2)
				return -1;
			*off = o + 2;
			return 0;
		}
		if ((c & 0xc0) != 0)
			return -1;	/* 01 and 10 are reserved */
		if (len - o - 1 < c)
			return -1;
		o += 1 + (size_t)c;
	}
	return -1;
}

int
tlsa_parse(const unsigned char *p, size_t len, struct tlsa_rr *out,
    size_t max, size_t *n)
{
	unsigned int qd, an, type, rdlen, i;
	size_t off = TLSA_HDR;

	*n = 0;
	if (p == NULL || len < TLSA_HDR)
		return -1;
	qd = tlsa_u16(p + 4);
	an = tlsa_u16(p + 6);
	for (i = 0; i < qd; i++) {
		if (tlsa_skip_name(p, len, &off) != 0 || len - off < 4)
			return -1;
		off += 4;		/* QTYPE, QCLASS */
	}
	for (i = 0; i < an; i++) {
		/* NAME, then TYPE CLASS TTL RDLENGTH: 10 octets */
		if (tlsa_skip_name(p, len, &off) != 0 || len - off < 10)
			return -1;
		type = tlsa_u16(p + off);
		rdlen = tlsa_u16(p + off + 8);
		off += 10;
		if (len - off < rdlen)
			return -1;
		/* CNAMEs on the way are not TLSA records; 3 parameter
		 * octets and at least one octet of data (RFC 6698 §2.1). */
		if (type == TLSA_TYPE && rdlen >= 4 && *n < max) {
			out[*n].usage = p[off];
			out[*n].selector = p[off + 1];
			out[*n].mtype = p[off + 2];
			(*n)++;
		}
		off += rdlen;
	}
	return 0;
}
