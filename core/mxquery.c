/*
 * mxquery.c - a domain's MX hosts through the context's resolver, for
 * adapters that must check RFC 8461 §4.1 before the MTA routes (the
 * OpenSMTPD filter at RCPT).  Adapters never do DNS themselves.
 */
#include <string.h>

#include "mtasts.h"
#include "ctx.h"
#include "dns.h"
#include "util.h"

struct mxquery {
	mtasts_mx_cb	 cb;
	void		*arg;
};

static void
mxquery_on_mx(int status, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct mxquery *q = arg;
	int r;

	(void)why;
	if (status == DNS_OK)
		r = MTASTS_OK;
	else if (status == DNS_NODATA)
		r = MTASTS_ENORECORD;	/* the implicit MX: the domain */
	else
		r = MTASTS_ETIMEOUT;
	q->cb(r, (const char *const *)v, r == MTASTS_OK ? n : 0, q->arg);
	util_free(q);
}

MTASTS_API int
mtasts_mx_query(struct mtasts_ctx *ctx, const char *domain, mtasts_mx_cb cb,
    void *arg, char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	struct mxquery *q;
	int r;

	if (ctx == NULL || domain == NULL || cb == NULL)
		return MTASTS_EINVAL;
	if ((r = mtasts_domain_normalize(domain, strlen(domain), name,
	    sizeof(name), err, errlen)) != MTASTS_OK)
		return r;
	if (ctx->closing)	/* inside mtasts_ctx_free: no new lookups */
		return MTASTS_ETIMEOUT;
	if ((q = util_calloc(1, sizeof(*q))) == NULL)
		return MTASTS_ENOMEM;
	q->cb = cb;
	q->arg = arg;
	if ((r = dns_mx(ctx->dns, name, mxquery_on_mx, q)) != MTASTS_OK)
		util_free(q);	/* no callback will come */
	return r;
}
