/*
 * tlsrpt_deliver.c - what `mtasts report send' needs from the network:
 * the _smtp._tls record of a policy domain (RFC 8460 §3) through the
 * context's resolver, and the POST of a report to an https rua (§5.4)
 * through the context's fetcher.  Both are the async path run on the
 * context's private loop until its one callback fires, as
 * mtasts_query_wait() does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "mtasts.h"
#include "config.h"
#include "ctx.h"
#include "dns.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

/* RFC 3986 leaves URIs unbounded; ours go into logs and state files. */
#define DELIVER_URL_MAX	2048

/* One wait; it outlives a timed-out wait, freed by the late callback. */
struct deliver_wait {
	struct mtasts_ctx	*ctx;
	int			 done;
	int			 abandoned;
	int			 status;	/* MTASTS_* */
	struct mtasts_tlsrpt	*rec;		/* query: the record */
	char			 why[MTASTS_ERRLEN];
	/* POST: kept for the second step, after the host's addresses. */
	char			 url[DELIVER_URL_MAX + 1];
	char			 host[MTASTS_DOMAIN_MAX + 1];
	unsigned int		 port;
	char			*data;
	size_t			 len;
};

/* A callback's last word: either the waiter takes it or nobody. */
static void
deliver_finish(struct deliver_wait *w, int status)
{
	if (w->abandoned) {
		mtasts_tlsrpt_free(w->rec);
		util_free(w->data);
		util_free(w);
		return;
	}
	w->status = status;
	w->done = 1;
}

/* Run the private loop until w is done or its time passed. */
static int
deliver_run(struct deliver_wait *w, const char *what, char *err,
    size_t errlen)
{
	int r;

	r = ctx_run_until(w->ctx, &w->done, w->ctx->cfg->query_timeout +
	    w->ctx->cfg->fetch_timeout);
	if (r != MTASTS_OK) {
		w->abandoned = 1;	/* freed by the callback */
		if (r == MTASTS_ETIMEOUT)
			util_err(err, errlen, "%s: no answer in time", what);
	}
	return r;
}

static void
deliver_on_txt(int status, const struct mtasts_rr *rrs, size_t n,
    const char *why, void *arg)
{
	struct deliver_wait *w = arg;
	int r;

	if (status == DNS_OK) {
		r = mtasts_tlsrpt_select(rrs, n, &w->rec, w->why,
		    sizeof(w->why));
		/* §3: no single valid record: no TLSRPT for this domain. */
		if (r == MTASTS_EPARSE || r == MTASTS_EMULTIPLE)
			r = MTASTS_ENORECORD;
	} else if (status == DNS_NODATA) {
		util_err(w->why, sizeof(w->why), "no TXT record");
		r = MTASTS_ENORECORD;
	} else {
		util_err(w->why, sizeof(w->why), "DNS: %s", why);
		r = MTASTS_ETIMEOUT;
	}
	deliver_finish(w, r);
}

MTASTS_API int
mtasts_tlsrpt_query_wait(struct mtasts_ctx *ctx, const char *domain,
    struct mtasts_tlsrpt **out, char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 1], qname[MTASTS_DOMAIN_MAX + 16];
	struct deliver_wait *w;
	int r;

	if (out == NULL || ctx == NULL || domain == NULL)
		return MTASTS_EINVAL;
	*out = NULL;
	if (!ctx->own_base)
		return MTASTS_EINVAL;	/* would run the caller's loop */
	if ((r = mtasts_domain_normalize(domain, strlen(domain), name,
	    sizeof(name), err, errlen)) != MTASTS_OK)
		return r;
	r = snprintf(qname, sizeof(qname), "_smtp._tls.%s", name);
	if (r < 0 || (size_t)r >= sizeof(qname))
		return MTASTS_EPARSE;
	if ((w = util_calloc(1, sizeof(*w))) == NULL)
		return MTASTS_ENOMEM;
	w->ctx = ctx;
	if ((r = dns_txt(ctx->dns, qname, deliver_on_txt, w)) != MTASTS_OK) {
		util_free(w);	/* no callback will come */
		util_err(err, errlen, "%s: %s", qname, mtasts_strerror(r));
		return r;
	}
	if ((r = deliver_run(w, qname, err, errlen)) != MTASTS_OK)
		return r;
	if ((r = w->status) == MTASTS_OK)
		*out = w->rec;
	else
		util_err(err, errlen, "%s: %s", qname, w->why);
	util_free(w);
	return r;
}

static void
deliver_on_post(int status, const char *body, size_t len, const char *why,
    void *arg)
{
	struct deliver_wait *w = arg;

	(void)body;
	(void)len;
	util_err(w->why, sizeof(w->why), "%s", why != NULL ? why : "");
	deliver_finish(w, status == FETCH_OK ? MTASTS_OK : MTASTS_EIO);
}

static void
deliver_on_addr(int status, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct deliver_wait *w = arg;

	if (status != DNS_OK || n == 0 || w->abandoned) {
		util_err(w->why, sizeof(w->why), "%s: no address: %s",
		    w->host, status == DNS_NODATA ? "no A or AAAA record" :
		    why);
		deliver_finish(w, MTASTS_EIO);
		return;
	}
	if (fetch_post(w->ctx->fetch, w->url, w->host, w->port, v, n,
	    w->data, w->len, deliver_on_post, w) != MTASTS_OK) {
		util_err(w->why, sizeof(w->why), "%s: out of memory", w->host);
		deliver_finish(w, MTASTS_ENOMEM);
	}
}

/* https://host[:port]/path: no user info, a domain name as host. */
static int
deliver_url(struct deliver_wait *w, const char *url, char *err,
    size_t errlen)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL;
	unsigned long p = 443;
	CURLU *u;
	int r = MTASTS_EPARSE;

	if (strlen(url) > DELIVER_URL_MAX || (u = curl_url()) == NULL)
		return util_err(err, errlen, "URL too long"), MTASTS_EPARSE;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		util_err(err, errlen, "not a URL");
	else if (strcmp(scheme, "https") != 0)	/* D22 */
		util_err(err, errlen, "scheme is not https");
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		util_err(err, errlen, "user info in the URL");
	else if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    ((p = strtoul(port, NULL, 10)) == 0 || p > 65535))
		util_err(err, errlen, "bad port");
	else if (mtasts_domain_normalize(host, strlen(host), w->host,
	    sizeof(w->host), err, errlen) == MTASTS_OK) {
		snprintf(w->url, sizeof(w->url), "%s", url);
		w->port = (unsigned int)p;
		r = MTASTS_OK;
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	return r;
}

MTASTS_API int
mtasts_tlsrpt_post_wait(struct mtasts_ctx *ctx, const char *url,
    const void *data, size_t len, char *err, size_t errlen)
{
	struct deliver_wait *w;
	int r;

	if (ctx == NULL || url == NULL || (data == NULL && len > 0))
		return MTASTS_EINVAL;
	if (!ctx->own_base)
		return MTASTS_EINVAL;
	if ((w = util_calloc(1, sizeof(*w))) == NULL)
		return MTASTS_ENOMEM;
	w->ctx = ctx;
	if ((r = deliver_url(w, url, err, errlen)) != MTASTS_OK ||
	    (w->data = util_malloc(len + 1)) == NULL) {
		util_free(w);
		return r != MTASTS_OK ? r : MTASTS_ENOMEM;
	}
	memcpy(w->data, data, len);
	w->len = len;
	if ((r = dns_addr(ctx->dns, w->host, deliver_on_addr, w)) !=
	    MTASTS_OK) {
		util_err(err, errlen, "%s: %s", w->host, mtasts_strerror(r));
		util_free(w->data);	/* no callback will come */
		util_free(w);
		return r;
	}
	if ((r = deliver_run(w, w->host, err, errlen)) != MTASTS_OK)
		return r;
	if ((r = w->status) != MTASTS_OK)
		util_err(err, errlen, "%s", w->why);
	else if (w->why[0] != '\0')	/* accepted anyway (§3) */
		log_msg(LOG_WARNING, "%s: %s (sent anyway, RFC 8460 §3)",
		    w->url, w->why);
	util_free(w->data);
	util_free(w);
	return r;
}
