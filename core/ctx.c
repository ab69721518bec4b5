/*
 * ctx.c - a context: resolver, fetcher and cache on one event base, and
 * the blocking wrapper that Exim uses.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mtasts.h"
#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "log.h"
#include "metrics.h"
#include "dns.h"
#include "fetch.h"
#include "shared.h"
#include "util.h"

MTASTS_API int
mtasts_ctx_new(struct event_base *base, const struct mtasts_config *cfg,
    int flags, struct mtasts_ctx **out, char *err, size_t errlen)
{
	struct mtasts_ctx *ctx;
	struct util_fds fds;
	int r = MTASTS_ENOMEM;

	if (out == NULL || cfg == NULL)
		return MTASTS_EINVAL;
	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* libevent, c-ares and curl (its multi wakeup socketpair) open
	 * descriptors of their own below: none may leak into a program the
	 * MTA executes later. */
	util_fds_snapshot(&fds);
	if ((ctx = util_calloc(1, sizeof(*ctx))) == NULL) {
		util_err(err, errlen, "context: out of memory");
		return MTASTS_ENOMEM;
	}
	ctx->cfg = cfg;
	log_set_level(LOG_ERR + cfg->log_level);	/* enum config_log */
	ctx->flags = flags;
	ctx->base = base;
	if (base == NULL) {
		if ((ctx->base = event_base_new()) == NULL) {
			util_err(err, errlen, "context: out of memory");
			goto fail;
		}
		ctx->own_base = 1;
	}
	/* A resolver of its own for DANE: only its AD bit is trusted. */
	if (cfg->dane_resolver[0] != '\0' && (r = dns_new(ctx->base,
	    cfg->dane_resolver, cfg->dns_timeout, &ctx->dane_dns, err,
	    errlen)) != MTASTS_OK)
		goto fail;
	if ((r = dns_new(ctx->base, cfg->resolver, cfg->dns_timeout,
	    &ctx->dns, err, errlen)) != MTASTS_OK ||
	    (r = fetch_new(ctx->base, cfg, &ctx->fetch, err, errlen)) !=
	    MTASTS_OK)
		goto fail;
	if (!(flags & MTASTS_CTX_NOCACHE) &&
	    (r = cache_open(cfg->cache_dir, (flags & MTASTS_CTX_RDONLY) ?
	    CACHE_RDONLY : 0, &ctx->cache, err, errlen)) != MTASTS_OK)
		goto fail;
	/* Fleet mode is a second level behind the local cache. */
	if (!(flags & MTASTS_CTX_NOCACHE) &&
	    (r = shared_new(cfg, &ctx->shared)) != MTASTS_OK) {
		util_err(err, errlen, "shared_cache: %s", mtasts_strerror(r));
		goto fail;
	}
	util_fds_cloexec_new(&fds);
	*out = ctx;
	return MTASTS_OK;
fail:
	/* Whatever failed says why; a part that did not (an allocation
	 * deep in it) still gets a reason, never an empty line. */
	if (err != NULL && errlen > 0 && err[0] == '\0')
		util_err(err, errlen, "context: %s", mtasts_strerror(r));
	mtasts_ctx_free(ctx);
	return r;
}

MTASTS_API void
mtasts_ctx_free(struct mtasts_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* Pending fetches and lookups call back first (as failures the
	 * cache does not record), then what waits on a timer. */
	ctx->closing = 1;
	fetch_free(ctx->fetch);
	dns_free(ctx->dns);
	decide_cancel_all(ctx);
	/* Last: each query's DANE half ends here, and its caller hears. */
	dns_free(ctx->dane_dns);
	metrics_free(ctx);		/* its last counts, then its timer */
	if (ctx->cache != NULL)
		cache_close(ctx->cache);
	shared_free(ctx->shared);
	if (ctx->own_base && ctx->base != NULL)
		event_base_free(ctx->base);
	util_free(ctx);
}

/* The waiter outlives a timed-out wait: the query still completes. */
struct ctx_wait {
	int			 done;
	int			 abandoned;
	struct mtasts_result	*res;
};

static void
ctx_on_result(struct mtasts_result *res, void *arg)
{
	struct ctx_wait *w = arg;

	if (w->abandoned) {
		mtasts_result_free(res);
		util_free(w);
		return;
	}
	w->res = res;
	w->done = 1;
}

static void
ctx_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/*
 * The blocking calls' one loop (mtasts_query_wait(), tlsrpt_deliver.c),
 * built on the async path as STYLE.md asks: run the private base until
 * the callback sets *done or seconds pass.  MTASTS_OK when done;
 * MTASTS_ETIMEOUT or MTASTS_ENOMEM (no timer) when not: the callback
 * still comes, at ctx_free() the latest, so the caller leaves its
 * waiting state to it.
 */
int
ctx_run_until(struct mtasts_ctx *ctx, const int *done, unsigned int seconds)
{
	struct timeval tv = { 0, 0 };
	struct event *deadline;

	if ((deadline = evtimer_new(ctx->base, ctx_on_deadline,
	    ctx->base)) == NULL)
		return MTASTS_ENOMEM;
	tv.tv_sec = seconds;
	evtimer_add(deadline, &tv);
	while (!*done && evtimer_pending(deadline, NULL))
		if (event_base_loop(ctx->base, EVLOOP_ONCE) != 0)
			break;
	event_free(deadline);
	return *done ? MTASTS_OK : MTASTS_ETIMEOUT;
}

MTASTS_API int
mtasts_query_wait(struct mtasts_ctx *ctx, const char *domain, int flags,
    struct mtasts_result **out, char *err, size_t errlen)
{
	struct ctx_wait *w;
	int r;

	*out = NULL;
	if (!ctx->own_base)
		return MTASTS_EINVAL;	/* would run the caller's loop */
	/* With DANE, even a fresh cached policy waits for the TLSA check. */
	if (ctx->dane_dns == NULL && (r = decide_cached(ctx, domain, flags,
	    out)) != MTASTS_ENORECORD)
		return r;
	if ((w = util_calloc(1, sizeof(*w))) == NULL)
		return MTASTS_ENOMEM;
	if ((r = mtasts_query(ctx, domain, flags, ctx_on_result, w, err,
	    errlen)) != MTASTS_OK) {
		util_free(w);
		return r;
	}
	if ((r = ctx_run_until(ctx, &w->done, ctx->cfg->query_timeout)) !=
	    MTASTS_OK) {
		w->abandoned = 1;	/* freed by ctx_on_result later */
		if (r == MTASTS_ETIMEOUT)
			util_err(err, errlen, "%s: no decision within %us",
			    domain, ctx->cfg->query_timeout);
		return r;
	}
	*out = w->res;
	util_free(w);
	return MTASTS_OK;
}
