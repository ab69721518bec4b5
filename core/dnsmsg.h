/*
 * dnsmsg.h - the answer section of a DNS message (RFC 1035 §4.1).
 *
 * c-ares hands dns.c the raw answer on every version we build with
 * (1.18's ares_query, 1.28+'s ares_query_dnsrec written back with
 * ares_dns_write), so this one parser serves Debian 12 and 13 alike.
 * The message is hostile: every read is checked against len.
 */
#ifndef MTASTS_DNSMSG_H
#define MTASTS_DNSMSG_H

#include <stddef.h>

#define DNSMSG_C_IN	1	/* RFC 1035 §3.2.4 */
#define DNSMSG_T_A	1	/* RFC 1035 §3.2.2 */
#define DNSMSG_T_MX	15
#define DNSMSG_T_TXT	16
#define DNSMSG_T_TLSA	52	/* RFC 6698 §7.1 */

/* A host name as text: 255 wire octets, each at most "\DDD". */
#define DNSMSG_HOST_SIZE	(255 * 4 + 1)

/* One answer RR of class IN: its type and where its RDATA lies. */
typedef int (*dnsmsg_rr_cb)(const unsigned char *msg, size_t len,
    unsigned int type, size_t rdoff, size_t rdlen, void *arg);

/* Call cb for each class IN RR of the answer section, in message order.
 * 0; -1 if the message is malformed (then cb may have run for the RRs
 * before the damage); or the first non-zero value cb returned. */
int	dnsmsg_answers(const unsigned char *msg, size_t len, dnsmsg_rr_cb cb,
	    void *arg);

/* TXT RDATA (RFC 1035 §3.3.14): its character-strings concatenated
 * (RFC 8461 §3.1, D17) into out, which has room for rdlen octets; the
 * length in *outlen.  0, or -1 if malformed. */
int	dnsmsg_txt(const unsigned char *msg, size_t len, size_t rdoff,
	    size_t rdlen, char *out, size_t *outlen);

/* MX RDATA (RFC 1035 §3.3.9): the preference, and the exchange as text
 * into host (DNSMSG_HOST_SIZE octets), without the trailing dot ("" for
 * the root, RFC 7505's null MX).  A "." or "\" inside a label is
 * escaped with "\", any other octet outside %x21-7E as "\DDD", as
 * c-ares does.  0, or -1 if malformed. */
int	dnsmsg_mx(const unsigned char *msg, size_t len, size_t rdoff,
	    size_t rdlen, unsigned int *pref, char *host);

#endif /* MTASTS_DNSMSG_H */
