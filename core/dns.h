/*
 * dns.h - asynchronous DNS with c-ares on a libevent loop.
 *
 * Every start call takes (cb, arg); cb runs exactly once, never from
 * inside the start call, with one of the statuses below: also when the
 * request cannot be allocated (DNS_TEMP, "out of memory").  Only if
 * that happened to 32 starts in one loop turn does a start call return
 * MTASTS_ENOMEM (or MTASTS_EINVAL when called from a callback run by
 * dns_free()), and then cb never runs; otherwise it returns MTASTS_OK.
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

/* The why of a DNS_TEMP that is ours, not the domain's (out of memory
 * here, in c-ares or in reading the answer): a caller must not record
 * it against the domain, nor decide "no policy" on it. */
#define DNS_WHY_ENOMEM	"out of memory"
int	dns_why_local(const char *why);

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

int	dns_txt(struct dns *d, const char *name, dns_txt_cb cb, void *arg);
int	dns_mx(struct dns *d, const char *name, dns_list_cb cb, void *arg);
int	dns_addr(struct dns *d, const char *host, dns_list_cb cb, void *arg);
/* TLSA RRs of name as "usage selector mtype" text (RFC 6698). */
int	dns_tlsa(struct dns *d, const char *name, dns_list_cb cb, void *arg);

/*
 * For DANE (RFC 7672), on a struct dns whose servers validate DNSSEC
 * and are trusted to: the query sets AD (RFC 6840 §5.7) and ad is the
 * answer's AD bit, 1 only if the resolver authenticated the answer (a
 * NODATA too).  SERVFAIL, a validator's answer to bogus data, is
 * DNS_TEMP, never DNS_NODATA.  MX items as dns_mx gives them.
 */
typedef void (*dns_sec_cb)(int status, int ad, char *const *v, size_t n,
    const char *why, void *arg);
int	dns_mx_sec(struct dns *d, const char *name, dns_sec_cb cb, void *arg);
/* Here TLSA RRs are "usage selector mtype HEX" (RFC 6698 §2.2). */
int	dns_tlsa_sec(struct dns *d, const char *name, dns_sec_cb cb,
	    void *arg);
/* A host's A RRset (its IPv4 addresses as text), for its AD bit. */
int	dns_addr_sec(struct dns *d, const char *host, dns_sec_cb cb,
	    void *arg);

#endif /* MTASTS_DNS_H */
