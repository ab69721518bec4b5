/*
 * cache_api.c - the cache as the public API shows it: entries as
 * results, for mtasts cache and mtasts refresh.
 */
#include <string.h>

#include "mtasts.h"
#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "result.h"

static const char *const cache_fail_types[] = {
	"none", "sts-policy-fetch-error", "sts-policy-invalid",
	"sts-webpki-invalid", "dns-temporary"
};

static struct mtasts_result *
cache_api_result(const struct cache_entry *e)
{
	struct mtasts_result *r;
	int k = e->fail_kind;

	if ((r = result_new(e->domain)) == NULL)
		return NULL;
	if (e->text != NULL &&
	    result_set_policy(r, e, MTASTS_SOURCE_CACHE) != MTASTS_OK) {
		mtasts_result_free(r);
		return NULL;
	}
	r->fail_count = e->fail_count;
	r->failed_at = e->failed_at;
	if (e->fail_count > 0 && k > CACHE_FAIL_NONE && k <= CACHE_FAIL_DNS &&
	    result_add_error(r, cache_fail_types[k], "%u consecutive "
	    "failure%s%s%s", e->fail_count, e->fail_count == 1 ? "" : "s",
	    e->failed_id[0] ? " of policy id " : "", e->failed_id) !=
	    MTASTS_OK) {
		mtasts_result_free(r);
		return NULL;
	}
	return r;
}

MTASTS_API int
mtasts_cache_get(struct mtasts_ctx *ctx, const char *domain,
    struct mtasts_result **out)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	struct cache_entry e;
	int r;

	*out = NULL;
	if (ctx->cache == NULL)
		return MTASTS_EINVAL;
	if ((r = mtasts_domain_normalize(domain, strlen(domain), name,
	    sizeof(name), NULL, 0)) != MTASTS_OK)
		return r;
	memset(&e, 0, sizeof(e));
	if ((r = cache_get(ctx->cache, name, &e)) != MTASTS_OK)
		return r;
	*out = cache_api_result(&e);
	cache_entry_clear(&e);
	return *out ? MTASTS_OK : MTASTS_ENOMEM;
}

struct cache_api_walk {
	int	(*fn)(const struct mtasts_result *, void *);
	void	*arg;
	int	 r;
};

static int
cache_api_on_entry(const struct cache_entry *e, void *arg)
{
	struct cache_api_walk *w = arg;
	struct mtasts_result *res;
	int stop;

	if ((res = cache_api_result(e)) == NULL) {
		w->r = MTASTS_ENOMEM;
		return 1;
	}
	stop = w->fn(res, w->arg);
	mtasts_result_free(res);
	return stop;
}

MTASTS_API int
mtasts_cache_foreach(struct mtasts_ctx *ctx,
    int (*fn)(const struct mtasts_result *, void *), void *arg)
{
	struct cache_api_walk w = { fn, arg, MTASTS_OK };
	int r;

	if (ctx->cache == NULL)
		return MTASTS_EINVAL;
	r = cache_foreach(ctx->cache, cache_api_on_entry, &w);
	return r != MTASTS_OK ? r : w.r;
}

MTASTS_API int
mtasts_cache_purge(struct mtasts_ctx *ctx, const char *domain)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	int r;

	if (ctx->cache == NULL || (ctx->flags & MTASTS_CTX_RDONLY))
		return MTASTS_EINVAL;
	if ((r = mtasts_domain_normalize(domain, strlen(domain), name,
	    sizeof(name), NULL, 0)) != MTASTS_OK)
		return r;
	return cache_del(ctx->cache, name);
}

MTASTS_API int
mtasts_cache_stats(struct mtasts_ctx *ctx, uint64_t *entries,
    uint64_t *bytes, uint64_t *log_files)
{
	struct cache_stats st;
	int r;

	if (ctx->cache == NULL)
		return MTASTS_EINVAL;
	memset(&st, 0, sizeof(st));
	if ((r = cache_stats(ctx->cache, &st)) != MTASTS_OK)
		return r;
	*entries = st.entries;
	*bytes = st.bytes;
	*log_files = st.log_files;
	return MTASTS_OK;
}

MTASTS_API int
mtasts_refresh_due(const struct mtasts_ctx *ctx,
    const struct mtasts_result *r, int64_t now)
{
	if (!r->has_policy)
		return 0;
	return r->expires_at - now < (int64_t)ctx->cfg->refresh_horizon ||
	    now - r->fetched_at > 86400;
}
