/*
 * ctx.h - the context shared by decide.c and ctx.c.
 */
#ifndef MTASTS_CTX_H
#define MTASTS_CTX_H

#include "mtasts.h"

struct decide_req;

struct mtasts_ctx {
	struct event_base	*base;
	int			 own_base;	/* private, for _wait */
	int			 flags;		/* MTASTS_CTX_* */
	const struct mtasts_config *cfg;
	struct dns		*dns;
	struct dns		*dane_dns;	/* dane_resolver, or NULL */
	struct fetch		*fetch;
	struct cache		*cache;		/* NULL: MTASTS_CTX_NOCACHE */
	struct shared		*shared;	/* fleet store, NULL: none */
	struct decide_req	*inflight;	/* one per domain and kind */
	int			 closing;	/* cancellations, not failures */
	struct metrics		*metrics;	/* counts not yet written */
};

void	decide_cancel_all(struct mtasts_ctx *ctx);
/* Run ctx's private loop until *done or seconds pass (ctx.c). */
int	ctx_run_until(struct mtasts_ctx *ctx, const int *done,
	    unsigned int seconds);
/* tlsresult.c: count a failed policy fetch (sts-policy-fetch-error,
 * sts-policy-invalid, sts-webpki-invalid) for TLSRPT. */
void	tlsresult_fetch_failed(struct mtasts_ctx *ctx, const char *domain,
	    const char *id, const char *type);
/* tlsresult.c: the DNSSEC-authenticated TLSA RRset v[0..n-1] of MX
 * host of domain, as dane.c found it usable: DANE results later
 * counted for that host are counted under it (RFC 8460 §4.4). */
void	tlsresult_tlsa_note(struct mtasts_ctx *ctx, const char *domain,
	    const char *host, char *const *v, size_t n);
/* decide.c: mtasts_query() without DANE; dane.c adds it. */
int	decide_query(struct mtasts_ctx *ctx, const char *domain, int flags,
	    mtasts_result_cb cb, void *arg, char *err, size_t errlen);
int	decide_cached(struct mtasts_ctx *ctx, const char *domain, int flags,
	    struct mtasts_result **out);

#endif /* MTASTS_CTX_H */
