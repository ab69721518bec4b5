/*
 * shared.c - the fleet's policy cache in Redis or Valkey (issue 16,
 * docs/fleet.md), the second level behind each host's Berkeley DB
 * cache.  Keys, under shared_prefix (default "mtasts:"):
 *
 *   policy:<domain>	the policy as fetched, with its id and fetch
 *			time (shared_policy_encode); it expires with the
 *			policy (PX until fetched_at + max_age, §3.2)
 *   lease:<domain>	"host pid": one host is fetching (SET NX PX,
 *			dns_timeout + fetch_timeout); the others wait
 *   fail:<domain>	"<id> <until>": that id failed to fetch; no host
 *			fetches it again before until (§3.3 retry limit,
 *			for the fleet; PX retry_interval)
 *
 * The store is trusted no more than a disk: a stored policy is parsed
 * again, and only a fetch time and an id come from the stored bytes.
 * Anything unusable is a miss, logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtasts.h"
#include "config.h"
#include "log.h"
#include "redis.h"
#include "shared.h"
#include "util.h"

#define SHARED_MAGIC		"mtasts-policy 1\n"
#define SHARED_MAGIC_LEN	(sizeof(SHARED_MAGIC) - 1)
#define SHARED_SKEW		60	/* s: clocks of the fleet may differ */

int
shared_new(const struct mtasts_config *cfg, struct shared **out)
{
	struct redis_tls_opts tls;
	struct shared *s;
	char host[65];
	int r;

	*out = NULL;
	if (cfg->shared_cache[0] == '\0')
		return MTASTS_OK;
	if ((s = util_calloc(1, sizeof(*s))) == NULL)
		return MTASTS_ENOMEM;
	tls.ca_file = cfg->shared_ca_file;
	tls.name = cfg->shared_tls_name;
	if ((r = redis_new(cfg->shared_cache, &tls, cfg->shared_connect_timeout,
	    cfg->shared_command_timeout, &s->r)) != MTASTS_OK) {
		util_free(s);
		return r;
	}
	snprintf(s->prefix, sizeof(s->prefix), "%s", cfg->shared_prefix);
	/* The host's name and its cache directory: the local counters a
	 * count comes from (several "hosts" may share a machine). */
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(s->host, sizeof(s->host), "%s:%s", host, cfg->cache_dir);
	s->retention = cfg->report_retention;
	*out = s;
	return MTASTS_OK;
}

void
shared_free(struct shared *s)
{
	if (s == NULL)
		return;
	redis_free(s->r);
	util_free(s);
}

size_t
shared_key(const struct shared *s, char *key, const char *kind,
    const char *domain)
{
	int n;

	n = snprintf(key, SHARED_KEY_MAX, "%s%s:%s", s->prefix, kind, domain);
	return n < 0 || n >= SHARED_KEY_MAX ? 0 : (size_t)n;
}

/* A decimal number of at most 19 digits, fully consumed. */
static int
shared_num(const char *p, size_t len, int64_t *out)
{
	int64_t n = 0;
	size_t i;

	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (!UTIL_IS_DIGIT(p[i]))
			return -1;
		n = n * 10 + (p[i] - '0');
	}
	*out = n;
	return 0;
}

/* RFC 8461 §3.1: sts-id = 1*32(ALPHA / DIGIT). */
static int
shared_id(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > MTASTS_ID_MAX)
		return -1;
	for (i = 0; i < len; i++)
		if (!UTIL_IS_ALNUM((unsigned char)p[i]))
			return -1;
	return 0;
}

int
shared_policy_encode(const struct cache_entry *e, char **out, size_t *len)
{
	char head[SHARED_MAGIC_LEN + MTASTS_ID_MAX + 32];
	int n;

	*out = NULL;
	if (e->text == NULL || shared_id(e->id, strlen(e->id)) != 0 ||
	    e->fetched_at < 0 || e->text_len > MTASTS_POLICY_MAX)
		return MTASTS_EINVAL;
	n = snprintf(head, sizeof(head), "%s%s\n%lld\n", SHARED_MAGIC, e->id,
	    (long long)e->fetched_at);
	if (n < 0 || (size_t)n >= sizeof(head))
		return MTASTS_EINVAL;
	if ((*out = util_malloc((size_t)n + e->text_len)) == NULL)
		return MTASTS_ENOMEM;
	memcpy(*out, head, (size_t)n);
	memcpy(*out + n, e->text, e->text_len);
	*len = (size_t)n + e->text_len;
	return MTASTS_OK;
}

/* The next "\n"-terminated field at *pos, without its LF. */
static int
shared_field(const char *p, size_t len, size_t *pos, const char **f,
    size_t *flen)
{
	const char *lf;

	if (*pos >= len || (lf = memchr(p + *pos, '\n', len - *pos)) == NULL)
		return -1;
	*f = p + *pos;
	*flen = (size_t)(lf - *f);
	*pos += *flen + 1;
	return 0;
}

static int
shared_entry_fill(struct cache_entry *e, const struct mtasts_policy *pol,
    const char *body, size_t blen)
{
	size_t i, nmx = mtasts_policy_mx_count(pol);

	if ((e->text = util_strndup(body, blen)) == NULL)
		return MTASTS_ENOMEM;
	e->text_len = blen;
	if (nmx > 0 && (e->mx = util_calloc(nmx, sizeof(char *))) == NULL)
		return MTASTS_ENOMEM;
	for (i = 0; i < nmx; i++, e->nmx++) {
		const char *m = mtasts_policy_mx(pol, i);

		if ((e->mx[i] = util_strndup(m, strlen(m))) == NULL)
			return MTASTS_ENOMEM;
	}
	e->mode = (int)mtasts_policy_mode(pol);
	e->max_age = mtasts_policy_max_age(pol);
	return MTASTS_OK;
}

int
shared_policy_decode(const char *p, size_t len, const char *domain,
    int64_t now, struct cache_entry *e, char *err, size_t errlen)
{
	char perr[MTASTS_ERRLEN];
	struct mtasts_policy *pol;
	const char *f;
	size_t pos = SHARED_MAGIC_LEN, flen;
	int64_t at;
	int r;

	memset(e, 0, sizeof(*e));
	if (len < SHARED_MAGIC_LEN || memcmp(p, SHARED_MAGIC,
	    SHARED_MAGIC_LEN) != 0)
		return util_err(err, errlen, "not a stored policy"),
		    MTASTS_EPARSE;
	if (shared_field(p, len, &pos, &f, &flen) != 0 ||
	    shared_id(f, flen) != 0)
		return util_err(err, errlen, "bad policy id"), MTASTS_EPARSE;
	memcpy(e->id, f, flen);
	e->id[flen] = '\0';
	if (shared_field(p, len, &pos, &f, &flen) != 0 ||
	    shared_num(f, flen, &at) != 0 || at > now + SHARED_SKEW)
		return util_err(err, errlen, "bad fetch time"),
		    MTASTS_EPARSE;
	if (len - pos > MTASTS_POLICY_MAX)
		return util_err(err, errlen, "policy longer than %d bytes",
		    MTASTS_POLICY_MAX), MTASTS_EPARSE;
	if ((r = mtasts_policy_parse(p + pos, len - pos, &pol, perr,
	    sizeof(perr))) != MTASTS_OK)
		return util_err(err, errlen, "%s", perr), r;
	snprintf(e->domain, sizeof(e->domain), "%s", domain);
	r = shared_entry_fill(e, pol, p + pos, len - pos);
	mtasts_policy_free(pol);
	if (r != MTASTS_OK) {
		cache_entry_clear(e);
		return r;
	}
	e->fetched_at = e->txt_checked_at = at;
	e->expires_at = at + (int64_t)e->max_age;	/* D13 */
	if (e->expires_at <= now) {
		cache_entry_clear(e);
		return util_err(err, errlen, "expired"), MTASTS_ENORECORD;
	}
	return MTASTS_OK;
}

int
shared_policy_get(struct shared *s, const char *domain, int64_t now,
    struct cache_entry *e)
{
	char key[SHARED_KEY_MAX], err[MTASTS_ERRLEN];
	const char *argv[2] = { "GET", key };
	size_t argvlen[2] = { 3, 0 };
	redisReply *rp;
	int r;

	memset(e, 0, sizeof(*e));
	if (s == NULL || (argvlen[1] = shared_key(s, key, "policy",
	    domain)) == 0)
		return MTASTS_ENORECORD;
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STRING) |
	    REDIS_WANT(REDIS_REPLY_NIL), 2, argv, argvlen)) == NULL)
		return MTASTS_ENORECORD;
	r = MTASTS_ENORECORD;
	if (rp->type == REDIS_REPLY_STRING) {
		r = shared_policy_decode(rp->str, rp->len, domain, now, e, err,
		    sizeof(err));
		if (r != MTASTS_OK && r != MTASTS_ENORECORD)
			log_msg(LOG_WARNING, "%s: shared cache %s: stored "
			    "policy unusable, ignored: %s", domain,
			    redis_name(s->r), err);
		if (r != MTASTS_OK)
			r = MTASTS_ENORECORD;
	}
	redis_reply_free(rp);
	return r;
}

void
shared_policy_put(struct shared *s, const struct cache_entry *e,
    int64_t now)
{
	char key[SHARED_KEY_MAX], at[24], *val;
	const char *argv[5] = { "SET", key, NULL, "PX", at };
	size_t argvlen[5] = { 3, 0, 0, 2, 0 };
	redisReply *rp;

	if (s == NULL || e->expires_at <= now ||
	    (argvlen[1] = shared_key(s, key, "policy", e->domain)) == 0 ||
	    shared_policy_encode(e, &val, &argvlen[2]) != MTASTS_OK)
		return;
	argv[2] = val;
	/* Expiring keys: the store forgets a policy when it expires. */
	argvlen[4] = (size_t)snprintf(at, sizeof(at), "%lld",
	    (long long)(e->expires_at - now) * 1000);
	rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STATUS), 5, argv,
	    argvlen);
	redis_reply_free(rp);
	util_free(val);
}

int
shared_lease_take(struct shared *s, const char *domain, unsigned int ms)
{
	char key[SHARED_KEY_MAX], who[1200], px[16];
	const char *argv[6] = { "SET", key, who, "NX", "PX", px };
	size_t argvlen[6] = { 3, 0, 0, 2, 2, 0 };
	redisReply *rp;
	int r;

	if (s == NULL || (argvlen[1] = shared_key(s, key, "lease",
	    domain)) == 0)
		return -1;
	argvlen[2] = (size_t)snprintf(who, sizeof(who), "%s %ld", s->host,
	    (long)getpid());
	argvlen[5] = (size_t)snprintf(px, sizeof(px), "%u", ms);
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STATUS) |
	    REDIS_WANT(REDIS_REPLY_NIL), 6, argv, argvlen)) == NULL)
		return -1;
	r = rp->type == REDIS_REPLY_STATUS && strcmp(rp->str, "OK") == 0;
	redis_reply_free(rp);
	return r;
}

void
shared_lease_drop(struct shared *s, const char *domain)
{
	char key[SHARED_KEY_MAX];
	const char *argv[2] = { "DEL", key };
	size_t argvlen[2] = { 3, 0 };

	/* After the policy or the failure is stored: a waiter that sees
	 * the lease gone finds the answer.  A lease that outlived us
	 * (dropped late) only costs another host a fetch. */
	if (s == NULL || (argvlen[1] = shared_key(s, key, "lease",
	    domain)) == 0)
		return;
	redis_reply_free(redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_INTEGER), 2,
	    argv, argvlen));
}

void
shared_fail_put(struct shared *s, const char *domain, const char *id,
    int64_t now, unsigned int secs)
{
	char key[SHARED_KEY_MAX], val[MTASTS_ID_MAX + 24], px[16];
	const char *argv[5] = { "SET", key, val, "PX", px };
	size_t argvlen[5] = { 3, 0, 0, 2, 0 };

	if (s == NULL || secs == 0 || shared_id(id, strlen(id)) != 0 ||
	    (argvlen[1] = shared_key(s, key, "fail", domain)) == 0)
		return;
	argvlen[2] = (size_t)snprintf(val, sizeof(val), "%s %lld", id,
	    (long long)(now + secs));
	argvlen[4] = (size_t)snprintf(px, sizeof(px), "%u000", secs);
	redis_reply_free(redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STATUS), 5,
	    argv, argvlen));
}

int
shared_fail_get(struct shared *s, const char *domain, const char *id,
    int64_t *until)
{
	char key[SHARED_KEY_MAX];
	const char *argv[2] = { "GET", key }, *sp;
	size_t argvlen[2] = { 3, 0 }, idlen;
	redisReply *rp;
	int r = 0;

	if (s == NULL || (argvlen[1] = shared_key(s, key, "fail", domain)) ==
	    0)
		return 0;
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STRING) |
	    REDIS_WANT(REDIS_REPLY_NIL), 2, argv, argvlen)) == NULL)
		return 0;
	if (rp->type == REDIS_REPLY_STRING &&
	    (sp = memchr(rp->str, ' ', rp->len)) != NULL) {
		idlen = (size_t)(sp - rp->str);
		r = idlen == strlen(id) && memcmp(rp->str, id, idlen) == 0 &&
		    shared_num(sp + 1, rp->len - idlen - 1, until) == 0;
	}
	redis_reply_free(rp);
	return r;
}
