/*
 * tlsa.h - TLSA records (RFC 6698) in a raw DNS answer, for mtasts
 * check's informational DANE item.  Only presence and the three
 * parameter octets are read: mtasts does not do DANE.
 */
#ifndef MTASTS_TLSA_H
#define MTASTS_TLSA_H

#include <stddef.h>

#define TLSA_MAX	16	/* records reported per name */

struct tlsa_rr {
	unsigned char	usage;		/* certificate usage, 0-3 */
	unsigned char	selector;	/* 0 full certificate, 1 SPKI */
	unsigned char	mtype;		/* 0 exact, 1 SHA-256, 2 SHA-512 */
};

/* Walk a DNS message (p, len): the TLSA RRs of its answer section, at
 * most max of them into out, their number in *n.  0, or -1 if the
 * message is malformed (truncated, bad name compression). */
int	tlsa_parse(const unsigned char *p, size_t len, struct tlsa_rr *out,
	    size_t max, size_t *n);

#endif /* MTASTS_TLSA_H */
