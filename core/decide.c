/*
 * decide.c - the policy in force for a domain, per RFC 8461 §5.1 and the
 * caching rules of §3.1 and §3.3 (checklist A6, A7):
 *
 *   fresh cached policy        -> use it at once
 *   otherwise                  -> TXT _mta-sts.<domain>
 *     DNS temporary failure    -> unexpired cached policy, else none
 *     no record, or invalid    -> unexpired cached policy, else none
 *     id fetched and failed    -> no new fetch before retry_interval
 *     else                     -> fetch; success replaces the cache;
 *                                 failure keeps the unexpired policy
 *
 * One fetch per domain: in one process the queries share a request;
 * across processes a lease in the cache entry says who is fetching.
 *
 * Fleet mode (shared_cache, docs/fleet.md): the fleet's store is a
 * second cache level.  A fresh policy there is a cached policy (§5.1
 * step 1); a fetch takes the fleet's lease too, so one host fetches
 * and the others wait for its result (bounded); failures are rate
 * limited for the fleet (§3.3).  Whatever the store does, the decision
 * is the one made without it: every shared call that fails is a miss.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "mtasts.h"
#include "cache.h"
#include "config.h"
#include "ctx.h"
#include "dns.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "result.h"
#include "shared.h"
#include "util.h"

/* A refresh does not refetch an unchanged id fetched this recently. */
#define DECIDE_REFETCH_MIN	60

#define DECIDE_LEASE_POLL_MS	200

struct decide_waiter {
	mtasts_result_cb	 cb;
	void			*arg;
	struct mtasts_result	*res;	/* its answer, made when it came */
	struct decide_waiter	*next;
};

struct decide_req {
	struct mtasts_ctx	*ctx;
	struct decide_req	*next;		/* ctx->inflight */
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	int			 flags;		/* MTASTS_Q_* */
	struct decide_waiter	*waiters;
	struct cache_entry	 cached;	/* snapshot, if have_cached */
	int			 have_cached;
	char			 id[MTASTS_ID_MAX + 1];	/* from the TXT */
	struct mtasts_result	*res;
	struct event		*timer;		/* deferral, lease polls */
	int64_t			 now;
	int64_t			 wait_start;	/* began waiting on a lease */
	int64_t			 lease_deadline;
	int			 leased;	/* we hold the fetch lease */
	int			 cache_unknown;	/* the cache could not be read:
						 * it may hold a policy */
	int			 found;		/* another process fetched it:
						 * the answer is in cached */
	int			 shared_leased;	/* we hold the fleet's lease */
	int64_t			 retry_at;	/* id failed: no fetch before */
};

static void decide_fetch(struct decide_req *);
static void decide_fetch_fleet(struct decide_req *);
static void decide_fetch_leased(struct decide_req *);
static void decide_fallback(struct decide_req *);

static int
decide_use_cache(const struct decide_req *q)
{
	return q->ctx->cache != NULL && !(q->flags & MTASTS_Q_NOCACHE);
}

static int
decide_can_write(const struct decide_req *q)
{
	return decide_use_cache(q) && !q->ctx->closing &&
	    !(q->ctx->flags & MTASTS_CTX_RDONLY);
}

/* A cached policy still in force: fetched and not expired (§3.2). */
/* A cached policy fetched less than max_age ago (§3.2, §5.1 step 1). */
static int
decide_entry_fresh(const struct cache_entry *e, int64_t now)
{
	return e->text != NULL && now < e->expires_at;
}

static int
decide_cached_valid(const struct decide_req *q)
{
	return q->have_cached && decide_entry_fresh(&q->cached, q->now);
}

/* strict_testing (mtasts.conf(5)): a testing policy is applied as
 * enforce, for admins who want failures to defer rather than report. */
static void
decide_strict(const struct mtasts_ctx *ctx, struct mtasts_result *r)
{
	if (r == NULL || !ctx->cfg->strict_testing || !r->has_policy ||
	    r->mode != MTASTS_MODE_TESTING)
		return;
	r->mode = MTASTS_MODE_ENFORCE;
	result_add_error(r, "strict-testing", "policy mode is testing; "
	    "applied as enforce (strict_testing = yes)");
}

static void
decide_finish(struct decide_req *q)
{
	struct decide_req **pp;
	struct decide_waiter *w, *next;
	struct mtasts_result *r;

	for (pp = &q->ctx->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	decide_strict(q->ctx, q->res);
	for (w = q->waiters; w != NULL; w = next) {
		next = w->next;
		metrics_decision(q->ctx, q->res);
		/* Each callback runs exactly once, whatever memory is left:
		 * the last waiter gets the original, the others a copy into
		 * the result allocated for them in decide_add_waiter (a
		 * failed copy marks it incomplete, mtasts_result_status). */
		if (next == NULL) {
			r = q->res;
			q->res = NULL;
			mtasts_result_free(w->res);
		} else {
			r = w->res;
			result_fill(r, q->res);
		}
		w->cb(r, w->arg);
		util_free(w);
	}
	if (q->shared_leased)
		shared_lease_drop(q->ctx->shared, q->domain);
	if (q->timer != NULL)
		event_free(q->timer);
	mtasts_result_free(q->res);
	cache_entry_clear(&q->cached);
	util_free(q);
}

/* Record a failure for everyone (§3.3: at most one fetch of a failed
 * id per retry_interval, whatever process asks). */
struct decide_fail {
	const struct decide_req	*q;
	int			 kind;		/* enum cache_fail */
};

static int
decide_on_fail_update(struct cache_entry *e, int exists, void *arg)
{
	struct decide_fail *f = arg;
	const struct decide_req *q = f->q;

	(void)exists;
	e->txt_checked_at = q->now;
	e->failed_at = q->now;
	e->fail_kind = f->kind;
	e->fail_count++;
	if (f->kind != CACHE_FAIL_DNS && q->id[0] != '\0') {
		memcpy(e->failed_id, q->id, sizeof(e->failed_id));
		e->next_fetch_at = q->now + q->ctx->cfg->retry_interval;
	}
	if (e->lease_pid == (uint32_t)getpid())
		e->lease_until = e->lease_pid = 0;
	return 1;
}

/*
 * Was a failed lookup or fetch ours rather than the domain's?  c-ares and
 * curl report a socket(2) that fails for want of descriptors (EMFILE,
 * ENFILE) or kernel memory as a failure to reach the server.  If no
 * socket can be opened now either, the failure was local.
 */
static int
decide_local_failure(void)
{
	int s, e;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1) {
		close(s);
		return 0;
	}
	e = errno;
	return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

/* The RFC 8460 §4.3.2.2 type of a failure to get the policy, for
 * mtasts_result_policy_failure(); NULL for DNS trouble (no policy
 * known to exist: no-policy-found). */
static const char *
decide_failure_type(int kind)
{
	switch (kind) {
	case CACHE_FAIL_FETCH:
		return "sts-policy-fetch-error";
	case CACHE_FAIL_INVALID:
		return "sts-policy-invalid";
	case CACHE_FAIL_WEBPKI:
		return "sts-webpki-invalid";
	default:
		return NULL;
	}
}

static void
decide_fail(struct decide_req *q, int kind, const char *type,
    const char *why)
{
	struct decide_fail f = { q, kind };

	result_add_error(q->res, q->ctx->closing ? "cancelled" : type, "%s",
	    why);
	if (q->ctx->closing) {
		/* Cut short: not an answer to act on. */
		result_fail(q->res, MTASTS_ETIMEOUT);
		decide_fallback(q);
		return;
	}
	if ((kind == CACHE_FAIL_DNS && dns_why_local(why)) ||
	    decide_local_failure()) {
		/* Out of memory or descriptors here, not a failure of the
		 * domain: nothing is recorded against it (no
		 * retry_interval, no TLSRPT count), and without a cached
		 * policy the answer is incomplete, so the MTA defers
		 * (§5.1): our failure never reads as "no policy". */
		log_msg(LOG_ERR, "%s: %s: %s (a local failure, not the "
		    "domain's)", q->domain, type, why);
		result_add_error(q->res, "internal-error", "%s",
		    dns_why_local(why) ? "out of memory" : "no socket can "
		    "be opened (out of descriptors)");
		if (!decide_cached_valid(q))
			result_fail(q->res, MTASTS_EIO);
		decide_fallback(q);
		return;
	}
	log_msg(LOG_WARNING, "%s: %s: %s%s", q->domain, type, why,
	    decide_cached_valid(q) ? " (keeping the cached policy)" : "");
	q->res->failure = decide_failure_type(kind);
	metrics_fetch(q->ctx, type);
	if (decide_can_write(q)) {
		cache_update(q->ctx->cache, q->domain, decide_on_fail_update,
		    &f);
		tlsresult_fetch_failed(q->ctx, q->domain, q->id, type);
		if (kind != CACHE_FAIL_DNS && q->id[0] != '\0')
			shared_fail_put(q->ctx->shared, q->domain, q->id,
			    q->now, q->ctx->cfg->retry_interval);
	}
	decide_fallback(q);
}

/* No live policy: an unexpired cached one still applies (§3.3). */
static void
decide_fallback(struct decide_req *q)
{
	if (decide_cached_valid(q))
		result_set_policy(q->res, &q->cached, MTASTS_SOURCE_CACHE);
	else if (q->cache_unknown) {
		/* "No policy" could be weaker than what the cache holds
		 * (§3.3): incomplete, the caller defers. */
		result_add_error(q->res, "internal-error", "the cache could "
		    "not be read and no live policy was found");
		result_fail(q->res, MTASTS_EIO);
	}
	decide_finish(q);
}

/* A DNS lookup that could not even start (out of memory): our failure,
 * not the domain's, so nothing is recorded against it; a cached policy
 * still applies, and the answer is incomplete (callers defer). */
static void
decide_no_lookup(struct decide_req *q, const char *name)
{
	log_msg(LOG_ERR, "%s: cannot start the lookup of %s: out of memory",
	    q->domain, name);
	result_add_error(q->res, "internal-error", "%s: cannot start the "
	    "lookup: out of memory", name);
	result_fail(q->res, MTASTS_ENOMEM);
	decide_fallback(q);
}

/* A fetched, valid policy replaces what was cached (§3.3, §8.3). */
struct decide_new {
	const struct decide_req	*q;
	const struct mtasts_policy *pol;
	const char		*body;
	size_t			 len;
};

static int
decide_on_new_update(struct cache_entry *e, int exists, void *arg)
{
	struct decide_new *n = arg;
	const struct decide_req *q = n->q;
	struct cache_entry fresh;
	size_t i, nmx = mtasts_policy_mx_count(n->pol);

	(void)exists;
	memset(&fresh, 0, sizeof(fresh));
	memcpy(fresh.domain, q->domain, sizeof(fresh.domain));
	memcpy(fresh.id, q->id, sizeof(fresh.id));
	if ((fresh.text = util_strndup(n->body, n->len)) == NULL ||
	    (nmx > 0 && (fresh.mx = util_calloc(nmx, sizeof(char *))) ==
	    NULL)) {
		cache_entry_clear(&fresh);
		return -MTASTS_ENOMEM;
	}
	fresh.text_len = n->len;
	for (i = 0; i < nmx; i++, fresh.nmx++) {
		const char *m = mtasts_policy_mx(n->pol, i);

		if ((fresh.mx[i] = util_strndup(m, strlen(m))) == NULL) {
			cache_entry_clear(&fresh);
			return -MTASTS_ENOMEM;
		}
	}
	fresh.mode = (int)mtasts_policy_mode(n->pol);
	fresh.max_age = mtasts_policy_max_age(n->pol);
	fresh.fetched_at = fresh.txt_checked_at = q->now;
	fresh.expires_at = q->now + (int64_t)fresh.max_age;	/* D13 */
	cache_entry_clear(e);
	*e = fresh;
	return 1;
}

static void
decide_on_policy(struct decide_req *q, const char *body, size_t len)
{
	char err[MTASTS_ERRLEN];
	struct mtasts_policy *pol;
	struct cache_entry e;
	struct decide_new n;
	int r;

	if ((r = mtasts_policy_parse(body, len, &pol, err, sizeof(err))) ==
	    MTASTS_ENOMEM) {
		/* Ours, not the policy's: no failure recorded, and the
		 * answer is incomplete (it may be weaker than the policy
		 * just fetched). */
		log_msg(LOG_ERR, "%s: policy id %s: %s", q->domain, q->id,
		    mtasts_strerror(r));
		result_fail(q->res, r);
		decide_fallback(q);
		return;
	}
	if (r != MTASTS_OK) {
		decide_fail(q, CACHE_FAIL_INVALID, "sts-policy-invalid", err);
		return;
	}
	n.q = q;
	n.pol = pol;
	n.body = body;
	n.len = len;
	memset(&e, 0, sizeof(e));
	if (decide_on_new_update(&e, 0, &n) != 1) {
		log_msg(LOG_ERR, "%s: policy id %s: %s", q->domain, q->id,
		    mtasts_strerror(MTASTS_ENOMEM));
		result_fail(q->res, MTASTS_ENOMEM);
		mtasts_policy_free(pol);
		decide_fallback(q);
		return;
	}
	if (decide_can_write(q)) {
		cache_update(q->ctx->cache, q->domain, decide_on_new_update,
		    &n);
		shared_policy_put(q->ctx->shared, &e, q->now);
	}
	log_msg(LOG_INFO, "%s: policy id %s fetched: mode %s, max_age %u",
	    q->domain, q->id, mtasts_mode_name(mtasts_policy_mode(pol)),
	    mtasts_policy_max_age(pol));
	metrics_fetch(q->ctx, "success");
	result_set_policy(q->res, &e, MTASTS_SOURCE_NETWORK);
	cache_entry_clear(&e);
	mtasts_policy_free(pol);
	decide_finish(q);
}

static void
decide_on_fetch(int status, const char *body, size_t len, const char *why,
    void *arg)
{
	struct decide_req *q = arg;

	q->now = (int64_t)time(NULL);
	if (status == FETCH_OK)
		decide_on_policy(q, body, len);
	else if (status == FETCH_WEBPKI)
		decide_fail(q, CACHE_FAIL_WEBPKI, "sts-webpki-invalid", why);
	else
		decide_fail(q, CACHE_FAIL_FETCH, "sts-policy-fetch-error",
		    why);
}

static void
decide_on_addr(int status, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct decide_req *q = arg;

	/* The resolver is being freed (mtasts_ctx_free) and may still
	 * deliver what it had, say the A records without the AAAA: the
	 * fetcher is already gone, so start nothing. */
	if (q->ctx->closing) {
		decide_fail(q, CACHE_FAIL_FETCH, "cancelled",
		    "the context was freed");
		return;
	}
	if (status != DNS_OK) {
		char msg[160];

		q->now = (int64_t)time(NULL);
		util_err(msg, sizeof(msg), "mta-sts.%s: %s", q->domain, why);
		decide_fail(q, CACHE_FAIL_FETCH, "sts-policy-fetch-error",
		    msg);
		return;
	}
	if (fetch_policy(q->ctx->fetch, q->domain, v, n, decide_on_fetch,
	    q) != MTASTS_OK) {
		/* Our memory ran out, not the domain's fetch: nothing is
		 * recorded against it; a cached policy still applies. */
		q->now = (int64_t)time(NULL);
		result_add_error(q->res, "internal-error", "mta-sts.%s: "
		    "cannot start the policy fetch: out of memory", q->domain);
		/* Without the fetch the answer may be weaker than the
		 * policy the domain has: incomplete, so callers defer. */
		result_fail(q->res, MTASTS_ENOMEM);
		decide_fallback(q);
	}
}

static void
decide_fetch(struct decide_req *q)
{
	char host[MTASTS_DOMAIN_MAX + 16];

	if (q->ctx->closing) {		/* the resolver may be gone */
		decide_fail(q, CACHE_FAIL_FETCH, "cancelled",
		    "the context was freed");
		return;
	}
	snprintf(host, sizeof(host), "mta-sts.%s", q->domain);
	if (dns_addr(q->ctx->dns, host, decide_on_addr, q) != MTASTS_OK)
		decide_no_lookup(q, host);
}

/* Did another process store this very policy since we looked?  Then it
 * is the answer: no second fetch (§3.3, one fetch for everyone). */
static int
decide_fetched_meanwhile(const struct decide_req *q,
    const struct cache_entry *e)
{
	return decide_entry_fresh(e, q->now) && strcmp(e->id, q->id) == 0 &&
	    (!(q->flags & MTASTS_Q_REFRESH) ||
	    q->now - e->fetched_at < DECIDE_REFETCH_MIN);
}

/* Is another live process fetching this domain right now? */
static int
decide_on_lease_update(struct cache_entry *e, int exists, void *arg)
{
	struct decide_req *q = arg;
	uint32_t me = (uint32_t)getpid();

	(void)exists;
	if (decide_fetched_meanwhile(q, e)) {
		cache_entry_clear(&q->cached);
		if (cache_entry_copy(&q->cached, e) == MTASTS_OK)
			q->have_cached = q->found = 1;
		return 0;
	}
	if (e->lease_until > q->now && e->lease_pid != 0 &&
	    e->lease_pid != me && (kill((pid_t)e->lease_pid, 0) == 0 ||
	    errno == EPERM))
		return 0;		/* busy: not ours */
	e->lease_pid = me;
	e->lease_until = q->now + q->ctx->cfg->dns_timeout +
	    q->ctx->cfg->fetch_timeout;
	q->leased = 1;
	return 1;
}

/* The policy another process fetched for us. */
static void
decide_use_found(struct decide_req *q)
{
	result_set_policy(q->res, &q->cached, MTASTS_SOURCE_CACHE);
	decide_finish(q);
}

/* Wait for the lease holder; a timer that cannot be armed (libevent
 * out of memory) would leave the query unanswered: incomplete now. */
static void
decide_poll_again(struct decide_req *q, const struct timeval *tv)
{
	if (evtimer_add(q->timer, tv) == 0)
		return;
	result_fail(q->res, MTASTS_ENOMEM);
	decide_fallback(q);
}

static void
decide_on_lease_poll(evutil_socket_t fd, short what, void *arg)
{
	struct decide_req *q = arg;
	struct timeval tv = { 0, DECIDE_LEASE_POLL_MS * 1000 };
	struct cache_entry e;

	(void)fd;
	(void)what;
	q->now = (int64_t)time(NULL);
	memset(&e, 0, sizeof(e));
	if (cache_get(q->ctx->cache, q->domain, &e) == MTASTS_OK &&
	    e.text != NULL && strcmp(e.id, q->id) == 0 &&
	    q->now < e.expires_at && e.fetched_at >= q->wait_start) {
		/* The other process fetched it for us. */
		result_set_policy(q->res, &e, MTASTS_SOURCE_CACHE);
		cache_entry_clear(&e);
		decide_finish(q);
		return;
	}
	cache_entry_clear(&e);
	if (q->now >= q->lease_deadline ||
	    cache_update(q->ctx->cache, q->domain, decide_on_lease_update,
	    q) != MTASTS_OK || q->leased || q->found) {
		if (q->found)
			decide_use_found(q);
		else if (q->leased)
			decide_fetch_fleet(q);
		else
			decide_fallback(q);
		return;
	}
	decide_poll_again(q, &tv);
}

static void
decide_claim_and_fetch(struct decide_req *q)
{
	struct timeval tv = { 0, DECIDE_LEASE_POLL_MS * 1000 };

	if (!decide_can_write(q) || cache_update(q->ctx->cache, q->domain,
	    decide_on_lease_update, q) != MTASTS_OK || q->leased) {
		decide_fetch_fleet(q);
		return;
	}
	if (q->found) {
		decide_use_found(q);
		return;
	}
	/* Someone else is fetching: wait for their result, bounded. */
	q->wait_start = q->now;
	q->lease_deadline = q->now + q->ctx->cfg->dns_timeout +
	    q->ctx->cfg->fetch_timeout + 1;
	evtimer_assign(q->timer, q->ctx->base, decide_on_lease_poll, q);
	decide_poll_again(q, &tv);
}

/*
 * Fleet mode.  The store's copy replaces the local entry's policy (the
 * fleet fetched it: a local failure of that id is moot) and keeps our
 * own lease bookkeeping, as a fetch of ours would.
 */
static int
decide_on_shared_update(struct cache_entry *e, int exists, void *arg)
{
	const struct cache_entry *src = arg;
	struct cache_entry fresh;

	(void)exists;
	if (cache_entry_copy(&fresh, src) != MTASTS_OK)
		return -MTASTS_ENOMEM;
	if (e->lease_pid != (uint32_t)getpid()) {
		fresh.lease_pid = e->lease_pid;
		fresh.lease_until = e->lease_until;
	}
	cache_entry_clear(e);
	*e = fresh;
	return 1;
}

/* Would this copy from the store do for the query?  Fresh, and for a
 * fetch of id (need_id) that very id; for a refresh, also fetched
 * moments ago or good beyond the refresh horizon, which is what a
 * refresh would have fetched it for. */
static int
decide_shared_will_do(const struct decide_req *q, const struct cache_entry *e,
    int need_id)
{
	if (!decide_entry_fresh(e, q->now))
		return 0;
	if (!need_id)
		return 1;
	return strcmp(e->id, q->id) == 0 && (!(q->flags & MTASTS_Q_REFRESH) ||
	    q->now - e->fetched_at < DECIDE_REFETCH_MIN ||
	    e->expires_at - q->now > (int64_t)q->ctx->cfg->refresh_horizon);
}

/* Answer from the fleet's store if it has what the query needs: 1 and
 * the request is finished, or 0 and nothing changed. */
static int
decide_from_shared(struct decide_req *q, int need_id)
{
	struct cache_entry e;

	if (q->ctx->shared == NULL || !decide_use_cache(q) ||
	    shared_policy_get(q->ctx->shared, q->domain, q->now, &e) !=
	    MTASTS_OK)
		return 0;
	if (!decide_shared_will_do(q, &e, need_id)) {
		cache_entry_clear(&e);
		return 0;
	}
	/* Out of memory here leaves the answer incomplete (it defers):
	 * never weaker than the policy the fleet has. */
	if (result_set_policy(q->res, &e, MTASTS_SOURCE_SHARED) == MTASTS_OK &&
	    decide_can_write(q))
		cache_update(q->ctx->cache, q->domain, decide_on_shared_update,
		    &e);
	log_msg(LOG_DEBUG, "%s: policy id %s from the shared cache",
	    q->domain, e.id);
	cache_entry_clear(&e);
	decide_finish(q);
	return 1;
}

/* Another host's fetch of this id failed within retry_interval. */
static int
decide_shared_failed(struct decide_req *q)
{
	int64_t until;

	if (q->ctx->shared == NULL || !decide_use_cache(q) ||
	    !shared_fail_get(q->ctx->shared, q->domain, q->id, &until) ||
	    q->now >= until)
		return 0;
	q->retry_at = until;
	return 1;
}

static void
decide_rate_limited(struct decide_req *q)
{
	result_add_error(q->res, "rate-limited", "fetch of policy id %s "
	    "failed; next attempt in %llds", q->id,
	    (long long)(q->retry_at - q->now));
	/* The failure that holds the fetch back is still why there is no
	 * policy; another host's (the fleet's store) keeps no kind. */
	if (q->have_cached && strcmp(q->cached.failed_id, q->id) == 0)
		q->res->failure = decide_failure_type(q->cached.fail_kind);
	if (q->res->failure == NULL)
		q->res->failure = "sts-policy-fetch-error";
	decide_fallback(q);
}

static void
decide_on_shared_poll(evutil_socket_t fd, short what, void *arg)
{
	struct decide_req *q = arg;
	struct timeval tv = { 0, DECIDE_LEASE_POLL_MS * 1000 };
	int l;

	(void)fd;
	(void)what;
	q->now = (int64_t)time(NULL);
	if (decide_from_shared(q, 1))
		return;			/* the other host fetched it */
	if (decide_shared_failed(q)) {
		decide_rate_limited(q);	/* ... and failed */
		return;
	}
	if (q->now >= q->lease_deadline) {
		/* Bounded: what we have, else our own fetch. */
		if (decide_cached_valid(q))
			decide_fallback(q);
		else
			decide_fetch(q);
		return;
	}
	if ((l = shared_lease_take(q->ctx->shared, q->domain,
	    (q->ctx->cfg->dns_timeout + q->ctx->cfg->fetch_timeout) * 1000)) !=
	    0) {
		/* The lease ended without an answer, or the store went
		 * away: fetch, as without a store. */
		q->shared_leased = l == 1;
		decide_fetch_leased(q);
		return;
	}
	evtimer_add(q->timer, &tv);
}

/* The lease is ours: look once more, for the holder before us may
 * have stored the policy and dropped its lease between our first look
 * and our claim (bench/fleet.sh saw 10 such fetches in 10 000). */
static void
decide_fetch_leased(struct decide_req *q)
{
	if (q->shared_leased && decide_from_shared(q, 1))
		return;			/* decide_finish drops the lease */
	decide_fetch(q);
}

/* This host fetches for the fleet, unless the store has the policy or
 * another host is fetching it; a store that cannot say is no store. */
static void
decide_fetch_fleet(struct decide_req *q)
{
	struct timeval tv = { 0, DECIDE_LEASE_POLL_MS * 1000 };
	int l;

	if (q->ctx->shared == NULL || !decide_can_write(q)) {
		decide_fetch(q);
		return;
	}
	if (decide_from_shared(q, 1))
		return;
	if ((l = shared_lease_take(q->ctx->shared, q->domain,
	    (q->ctx->cfg->dns_timeout + q->ctx->cfg->fetch_timeout) * 1000)) !=
	    0) {
		q->shared_leased = l == 1;
		decide_fetch_leased(q);
		return;
	}
	q->wait_start = q->now;
	q->lease_deadline = q->now + q->ctx->cfg->dns_timeout +
	    q->ctx->cfg->fetch_timeout + 1;
	evtimer_assign(q->timer, q->ctx->base, decide_on_shared_poll, q);
	evtimer_add(q->timer, &tv);
}

static void
decide_on_txt(int status, const struct mtasts_rr *rrs, size_t n,
    const char *why, void *arg)
{
	struct decide_req *q = arg;
	char err[MTASTS_ERRLEN];
	int r;

	q->now = (int64_t)time(NULL);
	if (status == DNS_TEMP) {
		/* Never read as "MTA-STS removed" (checklist A7.50). */
		decide_fail(q, CACHE_FAIL_DNS, "dns-temporary", why);
		return;
	}
	if (status == DNS_NODATA) {
		decide_fallback(q);	/* §3.1: absence keeps the cache */
		return;
	}
	r = mtasts_record_select(rrs, n, q->id, err, sizeof(err));
	if (r == MTASTS_ENORECORD) {
		decide_fallback(q);
		return;
	}
	if (r != MTASTS_OK) {
		result_add_error(q->res, "sts-record-invalid", "%s", err);
		log_msg(LOG_NOTICE, "%s: %s", q->domain, err);
		decide_fallback(q);
		return;
	}
	if (q->have_cached && strcmp(q->cached.failed_id, q->id) == 0 &&
	    q->now < q->cached.next_fetch_at)
		q->retry_at = q->cached.next_fetch_at;
	if (q->retry_at > q->now || decide_shared_failed(q)) {
		/* §3.3: wait at least retry_interval per failed id. */
		decide_rate_limited(q);
		return;
	}
	if (decide_cached_valid(q) && strcmp(q->cached.id, q->id) == 0 &&
	    q->now - q->cached.fetched_at < DECIDE_REFETCH_MIN) {
		/* A refresh of a policy this id fetched moments ago (by any
		 * process) would learn nothing: spare the policy host. */
		decide_fallback(q);
		return;
	}
	decide_claim_and_fetch(q);
}

static void
decide_on_start(evutil_socket_t fd, short what, void *arg)
{
	struct decide_req *q = arg;
	char name[MTASTS_DOMAIN_MAX + 16];
	int r;

	(void)fd;
	(void)what;
	q->now = (int64_t)time(NULL);
	if (decide_use_cache(q) && (r = cache_get(q->ctx->cache, q->domain,
	    &q->cached)) != MTASTS_ENORECORD) {
		if (r == MTASTS_ENOMEM) {
			/* The cached policy may be there: an answer without
			 * it could be weaker, so it is incomplete. */
			result_fail(q->res, r);
			decide_finish(q);
			return;
		}
		q->have_cached = r == MTASTS_OK;
		/* Unreadable (no descriptor, the files themselves fail):
		 * a live policy is still an answer, but without one we
		 * cannot know that no cached policy applies. */
		q->cache_unknown = r != MTASTS_OK;
	}
	if (decide_cached_valid(q) && !(q->flags & MTASTS_Q_REFRESH)) {
		/* §5.1 step 1: fetched less than max_age ago. */
		result_set_policy(q->res, &q->cached, MTASTS_SOURCE_CACHE);
		decide_finish(q);
		return;
	}
	if (!(q->flags & MTASTS_Q_REFRESH) && decide_from_shared(q, 0))
		return;

	snprintf(name, sizeof(name), "_mta-sts.%s", q->domain);
	if (dns_txt(q->ctx->dns, name, decide_on_txt, q) != MTASTS_OK)
		decide_no_lookup(q, name);
}

static struct decide_req *
decide_find(struct mtasts_ctx *ctx, const char *domain, int flags)
{
	struct decide_req *q;

	for (q = ctx->inflight; q != NULL; q = q->next)
		if (q->flags == flags && strcmp(q->domain, domain) == 0)
			return q;
	return NULL;
}

/* The waiter's result is allocated now, so that its callback runs
 * whatever memory is left when the answer comes. */
static int
decide_add_waiter(struct decide_req *q, mtasts_result_cb cb, void *arg)
{
	struct decide_waiter *w, **pp;

	if ((w = util_calloc(1, sizeof(*w))) == NULL)
		return MTASTS_ENOMEM;
	if ((w->res = result_new(q->domain)) == NULL) {
		util_free(w);
		return MTASTS_ENOMEM;
	}
	w->cb = cb;
	w->arg = arg;
	for (pp = &q->waiters; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = w;
	return MTASTS_OK;
}

int
decide_query(struct mtasts_ctx *ctx, const char *domain, int flags,
    mtasts_result_cb cb, void *arg, char *err, size_t errlen)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	struct timeval tv = { 0, 0 };
	struct decide_req *q;
	int r;

	if (ctx == NULL || domain == NULL || cb == NULL)
		return MTASTS_EINVAL;
	if ((r = mtasts_domain_normalize(domain, strlen(domain), name,
	    sizeof(name), err, errlen)) != MTASTS_OK)
		return r;
	/* Queries for one domain in one process share one request. */
	if ((q = decide_find(ctx, name, flags)) != NULL)
		return decide_add_waiter(q, cb, arg);
	if ((q = util_calloc(1, sizeof(*q))) == NULL)
		return MTASTS_ENOMEM;
	q->ctx = ctx;
	q->flags = flags;
	memcpy(q->domain, name, sizeof(q->domain));
	/* The answer never comes from inside this call: from the timer,
	 * which must be armed, or the callback would never run. */
	if ((q->res = result_new(name)) == NULL ||
	    decide_add_waiter(q, cb, arg) != MTASTS_OK ||
	    (q->timer = evtimer_new(ctx->base, decide_on_start, q)) == NULL ||
	    evtimer_add(q->timer, &tv) == -1) {
		if (q->timer != NULL)
			event_free(q->timer);
		mtasts_result_free(q->res);
		if (q->waiters != NULL)
			mtasts_result_free(q->waiters->res);
		util_free(q->waiters);
		util_free(q);
		return MTASTS_ENOMEM;
	}
	q->next = ctx->inflight;
	ctx->inflight = q;
	return MTASTS_OK;
}

/*
 * The blocking wrapper's fast path: a fresh policy in the cache is the
 * answer (§5.1 step 1) and needs no event loop.  MTASTS_ENORECORD when
 * the network must be asked; then the caller takes the slow path.
 */
int
decide_cached(struct mtasts_ctx *ctx, const char *domain, int flags,
    struct mtasts_result **out)
{
	char name[MTASTS_DOMAIN_MAX + 1];
	struct cache_entry e;
	int r = MTASTS_ENORECORD;

	*out = NULL;
	if (ctx->cache == NULL || (flags & (MTASTS_Q_NOCACHE |
	    MTASTS_Q_REFRESH)) || mtasts_domain_normalize(domain,
	    strlen(domain), name, sizeof(name), NULL, 0) != MTASTS_OK ||
	    cache_get(ctx->cache, name, &e) != MTASTS_OK)
		return MTASTS_ENORECORD;
	if (decide_entry_fresh(&e, (int64_t)time(NULL))) {
		if ((*out = result_new(name)) == NULL)
			r = MTASTS_ENOMEM;
		else if ((r = result_set_policy(*out, &e,
		    MTASTS_SOURCE_CACHE)) != MTASTS_OK) {
			mtasts_result_free(*out);
			*out = NULL;
		} else {
			decide_strict(ctx, *out);
			metrics_decision(ctx, *out);
		}
	}
	cache_entry_clear(&e);
	return r;
}

/* Context going away: answer every pending query with what we have. */
void
decide_cancel_all(struct mtasts_ctx *ctx)
{
	struct decide_req *q;

	while ((q = ctx->inflight) != NULL) {
		result_add_error(q->res, "cancelled", "the context was freed");
		result_fail(q->res, MTASTS_ETIMEOUT);
		event_del(q->timer);
		decide_fallback(q);
	}
}
