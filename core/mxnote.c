/*
 * mxnote.c - which policy domain and MX host an MX address serves, for
 * TLSRPT (RFC 8460 §4.3) in MTAs that report a failed outgoing session
 * by address only: OpenSMTPD's smtp-out reports of a session that
 * failed before MAIL FROM carry the receiving IP but no recipient.
 *
 * An adapter that knows (domain, MX host) -- filter-mtasts at RCPT, for
 * the MX hosts an enforce policy allows -- calls mtasts_mx_note(); the
 * core resolves the host's addresses and keeps "A\t<ip>" ->
 * "<domain>\t<host>\t<unix time>" in results.db, overwriting: the latest
 * domain wins when several share an MX address.  Notes older than
 * MXNOTE_TTL are ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"
#include "dns.h"
#include "mxnote.h"
#include "util.h"

#define MXNOTE_TTL	(7 * 86400)	/* an MX address is stable */
#define MXNOTE_REDO	300		/* no new lookup of a pair before */
#define MXNOTE_MEMO	64		/* pairs remembered per process */

struct mxnote {
	struct mtasts_ctx	*ctx;
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	char			 host[MTASTS_DOMAIN_MAX + 1];
};

static struct {
	char	 pair[2 * MTASTS_DOMAIN_MAX + 2];
	time_t	 at;
} memo[MXNOTE_MEMO];

static void
mxnote_on_addr(int status, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct mxnote *q = arg;
	char key[MTASTS_DOMAIN_MAX + 80], val[2 * MTASTS_DOMAIN_MAX + 32];
	size_t i;
	int kn, vn;

	(void)why;
	vn = snprintf(val, sizeof(val), "%s\t%s\t%lld", q->domain, q->host,
	    (long long)time(NULL));
	for (i = 0; status == DNS_OK && i < n && q->ctx->cache != NULL; i++) {
		kn = snprintf(key, sizeof(key), "A\t%s", v[i]);
		if (kn < 0 || (size_t)kn >= sizeof(key))
			continue;
		(void)cache_note_set(q->ctx->cache, key, (size_t)kn, val,
		    (size_t)vn);
		kn = snprintf(key, sizeof(key), "A\t%s\t%s", v[i], q->domain);
		if (kn < 0 || (size_t)kn >= sizeof(key))
			continue;
		(void)cache_note_set(q->ctx->cache, key, (size_t)kn, val,
		    (size_t)vn);
	}
	util_free(q);
}

/* Was this pair noted by this process in the last MXNOTE_REDO s? */
static int
mxnote_recent(const char *domain, const char *host)
{
	char pair[sizeof(memo[0].pair)];
	time_t now = time(NULL);
	size_t i, h = 5381;

	snprintf(pair, sizeof(pair), "%s\t%s", domain, host);
	for (i = 0; pair[i] != '\0'; i++)
		h = h * 33 + (unsigned char)pair[i];
	h %= MXNOTE_MEMO;
	if (strcmp(memo[h].pair, pair) == 0 && now - memo[h].at < MXNOTE_REDO)
		return 1;
	memcpy(memo[h].pair, pair, strlen(pair) + 1);
	memo[h].at = now;
	return 0;
}

MTASTS_API int
mtasts_mx_note(struct mtasts_ctx *ctx, const char *domain, const char *host)
{
	struct mxnote *q;
	int r;

	if (ctx == NULL || ctx->cache == NULL || domain == NULL ||
	    host == NULL)
		return MTASTS_EINVAL;
	if (ctx->closing)	/* inside mtasts_ctx_free: no new lookups */
		return MTASTS_ETIMEOUT;
	if ((q = util_calloc(1, sizeof(*q))) == NULL)
		return MTASTS_ENOMEM;
	q->ctx = ctx;
	if ((r = mtasts_domain_normalize(domain, strlen(domain), q->domain,
	    sizeof(q->domain), NULL, 0)) != MTASTS_OK ||
	    (r = mtasts_domain_normalize(host, strlen(host), q->host,
	    sizeof(q->host), NULL, 0)) != MTASTS_OK) {
		util_free(q);
		return r;
	}
	if (mxnote_recent(q->domain, q->host)) {
		util_free(q);
		return MTASTS_OK;
	}
	if ((r = dns_addr(ctx->dns, q->host, mxnote_on_addr, q)) !=
	    MTASTS_OK)
		util_free(q);	/* no callback will come */
	return r;
}

/* "<domain>\t<host>\t<time>", read from our own database but checked
 * like any input (fuzz_mxnote). */
int
mxnote_parse(const char *v, char *domain, size_t dsize, char *host,
    size_t hsize)
{
	const char *t1, *t2;
	char *end;
	long long at;

	if ((t1 = strchr(v, '\t')) == NULL || (t2 = strchr(t1 + 1, '\t')) ==
	    NULL)
		return MTASTS_EPARSE;
	at = strtoll(t2 + 1, &end, 10);
	/* Not from the future either (a clock set back, a bad write). */
	if (*end != '\0' || at <= 0 || (long long)time(NULL) - at >
	    MXNOTE_TTL || at - (long long)time(NULL) > 300)
		return MTASTS_ENORECORD;
	if (mtasts_domain_normalize(v, (size_t)(t1 - v), domain, dsize, NULL,
	    0) != MTASTS_OK || mtasts_domain_normalize(t1 + 1,
	    (size_t)(t2 - t1 - 1), host, hsize, NULL, 0) != MTASTS_OK)
		return MTASTS_EPARSE;
	return MTASTS_OK;
}

MTASTS_API int
mtasts_mx_note_get(struct mtasts_ctx *ctx, const char *ip, const char *of,
    char *domain, size_t dsize, char *host, size_t hsize)
{
	char key[MTASTS_DOMAIN_MAX + 80], *val = NULL;
	size_t vlen;
	int kn, r;

	if (ctx == NULL || ctx->cache == NULL || ip == NULL ||
	    dsize <= MTASTS_DOMAIN_MAX || hsize <= MTASTS_DOMAIN_MAX)
		return MTASTS_EINVAL;
	if (of != NULL)
		kn = snprintf(key, sizeof(key), "A\t%s\t%s", ip, of);
	else
		kn = snprintf(key, sizeof(key), "A\t%s", ip);
	if (kn < 0 || (size_t)kn >= sizeof(key))
		return MTASTS_EPARSE;
	if ((r = cache_note_get(ctx->cache, key, (size_t)kn, &val, &vlen)) !=
	    MTASTS_OK) {
		util_free(val);
		return r;
	}
	r = mxnote_parse(val, domain, dsize, host, hsize);
	util_free(val);
	return r;
}
