/*
 * lookup.c - single look-ups outside the §5.1 decision, for a
 * deployment validator (mtasts check): a TXT RRset under a label of a
 * domain, a host's addresses, TLSA presence, and one policy fetch with
 * every §3.3 rule and no cache.  The same resolver and fetcher as the
 * decision, so the answers are the ones a sender would see.
 */
#include <stdio.h>
#include <string.h>

#include "mtasts.h"
#include "ctx.h"
#include "dns.h"
#include "fetch.h"
#include "util.h"

struct lookup {
	struct mtasts_ctx	*ctx;
	mtasts_txt_cb		 txt_cb;
	mtasts_list_cb		 list_cb;
	mtasts_fetch_cb		 fetch_cb;
	void			*arg;
	char			 domain[MTASTS_DOMAIN_MAX + 1];
};

static int
lookup_status(int dns_status)
{
	if (dns_status == DNS_OK)
		return MTASTS_OK;
	if (dns_status == DNS_NODATA)
		return MTASTS_ENORECORD;
	return MTASTS_ETIMEOUT;
}

/* A new request for "prefix.name" (prefix may be NULL) in *fqdn; name
 * is normalised, so the result is a valid name plus our own labels. */
static struct lookup *
lookup_new(struct mtasts_ctx *ctx, const char *prefix, const char *name,
    char *fqdn, size_t size, void *arg, char *err, size_t errlen)
{
	struct lookup *l;
	int n;

	if (ctx == NULL || name == NULL)
		return NULL;
	if ((l = util_calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (mtasts_domain_normalize(name, strlen(name), l->domain,
	    sizeof(l->domain), err, errlen) != MTASTS_OK) {
		util_free(l);
		return NULL;
	}
	n = snprintf(fqdn, size, "%s%s%s", prefix ? prefix : "",
	    prefix ? "." : "", l->domain);
	if (n < 0 || (size_t)n >= size || (size_t)n > MTASTS_DOMAIN_MAX) {
		util_err(err, errlen, "%s: name too long", l->domain);
		util_free(l);
		return NULL;
	}
	l->ctx = ctx;
	l->arg = arg;
	return l;
}

static void
lookup_on_txt(int status, const struct mtasts_rr *rrs, size_t n,
    const char *why, void *arg)
{
	struct lookup *l = arg;

	l->txt_cb(lookup_status(status), rrs, status == DNS_OK ? n : 0, why,
	    l->arg);
	util_free(l);
}

MTASTS_API int
mtasts_txt_query(struct mtasts_ctx *ctx, const char *label,
    const char *domain, mtasts_txt_cb cb, void *arg, char *err,
    size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 2];
	struct lookup *l;

	if (cb == NULL || (l = lookup_new(ctx, label, domain, name,
	    sizeof(name), arg, err, errlen)) == NULL)
		return MTASTS_EINVAL;
	l->txt_cb = cb;
	dns_txt(ctx->dns, name, lookup_on_txt, l);
	return MTASTS_OK;
}

static void
lookup_on_list(int status, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct lookup *l = arg;

	l->list_cb(lookup_status(status), (const char *const *)v,
	    status == DNS_OK ? n : 0, why, l->arg);
	util_free(l);
}

MTASTS_API int
mtasts_addr_query(struct mtasts_ctx *ctx, const char *host,
    mtasts_list_cb cb, void *arg, char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 2];
	struct lookup *l;

	if (cb == NULL || (l = lookup_new(ctx, NULL, host, name,
	    sizeof(name), arg, err, errlen)) == NULL)
		return MTASTS_EINVAL;
	l->list_cb = cb;
	dns_addr(ctx->dns, name, lookup_on_list, l);
	return MTASTS_OK;
}

MTASTS_API int
mtasts_tlsa_query(struct mtasts_ctx *ctx, const char *host,
    unsigned int port, mtasts_list_cb cb, void *arg, char *err,
    size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 2], prefix[16];
	struct lookup *l;

	/* RFC 6698 §3: _port._tcp.host */
	if (port == 0 || port > 65535)
		return MTASTS_EINVAL;
	snprintf(prefix, sizeof(prefix), "_%u._tcp", port);
	if (cb == NULL || (l = lookup_new(ctx, prefix, host, name,
	    sizeof(name), arg, err, errlen)) == NULL)
		return MTASTS_EINVAL;
	l->list_cb = cb;
	dns_tlsa(ctx->dns, name, lookup_on_list, l);
	return MTASTS_OK;
}

static void
lookup_on_fetch(int status, const char *body, size_t len, const char *why,
    void *arg)
{
	struct lookup *l = arg;

	l->fetch_cb(status == FETCH_OK ? MTASTS_OK : MTASTS_EIO, body, len,
	    status == FETCH_OK ? "" : status == FETCH_WEBPKI ?
	    "sts-webpki-invalid" : "sts-policy-fetch-error", why, l->arg);
	util_free(l);
}

static void
lookup_on_policy_host(int status, char *const *v, size_t n,
    const char *why, void *arg)
{
	struct lookup *l = arg;
	char msg[MTASTS_DOMAIN_MAX + 128];

	/* mtasts_ctx_free() cancels us after freeing the fetcher. */
	if (status == DNS_OK && !l->ctx->closing) {
		if (fetch_policy(l->ctx->fetch, l->domain, v, n,
		    lookup_on_fetch, l) == MTASTS_OK)
			return;
		why = "out of memory";
	}
	util_err(msg, sizeof(msg), "mta-sts.%s: %s", l->domain, why);
	l->fetch_cb(MTASTS_EIO, NULL, 0, "sts-policy-fetch-error", msg,
	    l->arg);
	util_free(l);
}

MTASTS_API int
mtasts_policy_fetch(struct mtasts_ctx *ctx, const char *domain,
    mtasts_fetch_cb cb, void *arg, char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 2];
	struct lookup *l;

	if (cb == NULL || (l = lookup_new(ctx, "mta-sts", domain, name,
	    sizeof(name), arg, err, errlen)) == NULL)
		return MTASTS_EINVAL;
	l->fetch_cb = cb;
	dns_addr(ctx->dns, name, lookup_on_policy_host, l);
	return MTASTS_OK;
}
