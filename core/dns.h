/*
 * dns.h - asynchronous DNS with c-ares on a libevent loop.
 *
 * Every start call takes (cb, arg); cb runs exactly once, never from
 * inside the start call, with one of the statuses below.
 */
#ifndef MTASTS_DNS_H
#define MTASTS_DNS_H

#include <stddef.h>

struct event_base;
struct mtasts_rr;
struct dns;

enum dns_status {
	DNS_OK = 0,
	DNS_NODATA,		/* NXDOMAIN or NODATA: there is no record */
	DNS_TEMP,		/* SERVFAIL, timeout, refused: try later */
};

/* TXT: one mtasts_rr per RR of the whole RRset, in message order, its
 * strings concatenated (RFC 8461 §3.1, D17).  The array and data are
 * valid only during the callback. */
typedef void (*dns_txt_cb)(int status, const struct mtasts_rr *rrs,
    size_t n, const char *why, void *arg);
/* MX: the 64 hosts of lowest preference among all MX RRs, sorted by
 * preference (equal ones in message order), trailing dots removed.
 * A/AAAA: up to 64 text addresses.  Valid only during the callback. */
typedef void (*dns_list_cb)(int status, char *const *v, size_t n,
    const char *why, void *arg);

/* servers: c-ares CSV ("127.0.0.1:5353,[::1]:53") or "" for the
 * system's resolv.conf; timeout in seconds per query. */
int	dns_new(struct event_base *base, const char *servers,
	    unsigned int timeout, struct dns **out, char *err,
	    size_t errlen);
/* Pending callbacks run with DNS_TEMP ("cancelled") before it returns. */
void	dns_free(struct dns *d);

void	dns_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg);
void	dns_mx(struct dns *d, const char *name, dns_list_cb cb, void *arg);
void	dns_addr(struct dns *d, const char *host, dns_list_cb cb, void *arg);
/* TLSA RRs of name as "usage selector mtype" text (RFC 6698). */
void	dns_tlsa(struct dns *d, const char *name, dns_list_cb cb, void *arg);

#endif /* MTASTS_DNS_H */
