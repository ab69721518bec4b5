/*
 * shared.h - fleet mode (issue 16, docs/fleet.md): what the decision
 * and the TLS result counters ask of the fleet's shared store, behind
 * the local cache.  Every call is bounded (redis.c) and its failure
 * only ever means "the store has nothing for us": callers then decide
 * from the local cache and the network, as without a store.
 */
#ifndef MTASTS_SHARED_H
#define MTASTS_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

struct mtasts_config;
struct redis;

struct shared {
	struct redis	*r;
	char		 prefix[64];	/* shared_prefix */
	char		 host[1100];	/* "hostname:cache_dir": whose
					 * counts (shared_tls.c) */
	unsigned int	 retention;	/* report_retention, s */
};

#define SHARED_KEY_MAX		(64 + 16 + MTASTS_DOMAIN_MAX + MTASTS_ID_MAX)

/* prefix + kind + ":" + name into key (SHARED_KEY_MAX bytes); its
 * length, or 0 if it does not fit. */
size_t	shared_key(const struct shared *s, char *key, const char *kind,
	    const char *name);

/* From cfg's shared_* keys; *out NULL (and MTASTS_OK) without
 * shared_cache.  Connects on first use. */
int	shared_new(const struct mtasts_config *cfg, struct shared **out);
void	shared_free(struct shared *s);

/* The fleet's copy of domain's policy: MTASTS_OK and *e filled (clear
 * it with cache_entry_clear), else MTASTS_ENORECORD (none, expired,
 * unusable, or the store is down). */
int	shared_policy_get(struct shared *s, const char *domain, int64_t now,
	    struct cache_entry *e);
/* Store e's policy (id, fetch time, body) until it expires. */
void	shared_policy_put(struct shared *s, const struct cache_entry *e,
	    int64_t now);

/* The fleet-wide fetch lease for domain, for ms milliseconds (SET NX
 * PX): 1 ours, 0 another host holds it, -1 the store cannot say. */
int	shared_lease_take(struct shared *s, const char *domain,
	    unsigned int ms);
void	shared_lease_drop(struct shared *s, const char *domain);

/* §3.3 for the fleet: policy id failed to fetch; no host fetches it
 * again for secs.  shared_fail_get: 1 and *until if id is so marked. */
void	shared_fail_put(struct shared *s, const char *domain, const char *id,
	    int64_t now, unsigned int secs);
int	shared_fail_get(struct shared *s, const char *domain, const char *id,
	    int64_t *until);

/* The stored form of a policy, "mtasts-policy 1\n<id>\n<fetched_at>\n"
 * then the body as fetched.  shared_policy_decode treats p as hostile:
 * the body is parsed again (mtasts_policy_parse), so mode, mx and
 * max_age come from it, never from the store; a fetch time later than
 * now + 60 s or an expired policy is refused.  Exposed for the fuzzer. */
int	shared_policy_encode(const struct cache_entry *e, char **out,
	    size_t *len);
int	shared_policy_decode(const char *p, size_t len, const char *domain,
	    int64_t now, struct cache_entry *e, char *err, size_t errlen);

/*
 * TLS result counts for the fleet (shared_tls.c).  Each host's local
 * counters stay the record; the store holds, per day, each host's
 * current count of each counter ("hostname:cache_dir" names the host),
 * so that pushing again is idempotent and a push missed while the store
 * was down is made good by the next one.  The fleet's count is the sum.
 */
/* key is a local counter key "day\trest"; total its count now. */
int	shared_tls_put(struct shared *s, const char *key, size_t len,
	    uint64_t total);
/* Push every local counter and policy note (the catch-up). */
int	shared_tls_push(struct shared *s, struct cache *c);
/* The fleet's counters, summed over hosts, as "day\trest" keys in
 * order; MTASTS_EIO if the store cannot be read (then no report: a
 * partial one would be sent as the fleet's). */
int	shared_tls_foreach(struct shared *s,
	    int (*fn)(const char *key, size_t len, uint64_t n, void *arg),
	    void *arg);
/* The text of a policy results were counted under, from the store. */
int	shared_tls_policy_text(struct shared *s, const char *domain,
	    const char *id, char **text, size_t *len);
/* Forget the days before "YYYY-MM-DD". */
int	shared_tls_purge(struct shared *s, const char *before);

/* One report per policy domain per day for the fleet (RFC 8460 §4):
 * MTASTS_OK if this host is to send it (a lease, renewed by its
 * holder), MTASTS_EMULTIPLE if another host holds it or it is done,
 * MTASTS_EIO if the store cannot say (send nothing now). */
int	shared_report_claim(struct shared *s, const char *domain,
	    const char *date, unsigned int secs, char *who, size_t wholen);
/* The delivery's end ("delivered", "no-rua", "expired"), for all. */
int	shared_report_done(struct shared *s, const char *domain,
	    const char *date, const char *state);

#endif /* MTASTS_SHARED_H */
