/*
 * shared_tls.c - TLS result counts and report delivery for the fleet
 * (issue 16, docs/fleet.md; RFC 8460 §4: one report per policy domain
 * per day, whoever sent the mail).  Keys, under shared_prefix:
 *
 *   tls:<day>		hash: "<host>\n<rest of the counter key>" ->
 *			that host's count (decimal).  <host> is
 *			"hostname:cache_dir", the local counters the
 *			count comes from.  Expires after report_retention.
 *   tlspol:<domain>\t<id>	the policy text results were counted
 *			under (RFC 8460 §4.3 policy-string), set once
 *   report:<day>:<domain>	"lease <host>" while one host delivers
 *			the fleet's report (expiring), then
 *			"done <state> <host>" (kept for report_retention)
 *
 * Why each host's count and not HINCRBY: a host cannot know whether an
 * increment whose reply timed out was applied, so retrying could count
 * twice and not retrying could lose one.  A count that replaces the
 * host's previous one can be pushed any number of times: the local
 * counters are the spool, and every push (each result, and the whole
 * set before a report) makes the store right again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "cache.h"
#include "log.h"
#include "redis.h"
#include "shared.h"
#include "util.h"

#define SHARED_TLS_FIELDS_MAX	(2u * 1000 * 1000)	/* per day */
#define SHARED_TLS_DAYS_MAX	4000
#define SHARED_TLS_SCAN		"500"

static int
shared_tls_set(struct shared *s, const char *day, size_t dlen,
    const char *rest, size_t rlen, uint64_t total)
{
	char key[SHARED_KEY_MAX], d[16], num[24], *field;
	const char *argv[4] = { "HSET", key, NULL, num };
	size_t argvlen[4] = { 4, 0, 0, 0 }, hlen = strlen(s->host);
	redisReply *rp;

	if (dlen >= sizeof(d))
		return MTASTS_EINVAL;
	memcpy(d, day, dlen);
	d[dlen] = '\0';
	if ((argvlen[1] = shared_key(s, key, "tls", d)) == 0 ||
	    (field = util_malloc(hlen + 1 + rlen)) == NULL)
		return MTASTS_EINVAL;
	memcpy(field, s->host, hlen);
	field[hlen] = '\n';
	memcpy(field + hlen + 1, rest, rlen);
	argv[2] = field;
	argvlen[2] = hlen + 1 + rlen;
	argvlen[3] = (size_t)snprintf(num, sizeof(num), "%llu",
	    (unsigned long long)total);
	rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_INTEGER), 4, argv,
	    argvlen);
	util_free(field);
	if (rp == NULL)
		return MTASTS_EIO;
	redis_reply_free(rp);
	return MTASTS_OK;
}

int
shared_tls_put(struct shared *s, const char *key, size_t len,
    uint64_t total)
{
	const char *tab;

	if (s == NULL)
		return MTASTS_OK;
	if ((tab = memchr(key, '\t', len)) == NULL)
		return MTASTS_EINVAL;
	return shared_tls_set(s, key, (size_t)(tab - key), tab + 1,
	    len - (size_t)(tab - key) - 1, total);
}

static void
shared_tls_expire(struct shared *s, const char *day, size_t dlen)
{
	char key[SHARED_KEY_MAX], d[16], secs[16];
	const char *argv[3] = { "EXPIRE", key, secs };
	size_t argvlen[3] = { 6, 0, 0 };

	if (dlen >= sizeof(d))
		return;
	memcpy(d, day, dlen);
	d[dlen] = '\0';
	if ((argvlen[1] = shared_key(s, key, "tls", d)) == 0)
		return;
	argvlen[2] = (size_t)snprintf(secs, sizeof(secs), "%u",
	    s->retention + 86400);
	redis_reply_free(redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_INTEGER), 3,
	    argv, argvlen));
}

struct shared_push {
	struct shared	*s;
	struct cache	*c;
	char		 day[16];	/* last day expired */
	int		 r;
};

/* A policy note "P\tdomain\tid": its text, set once for the fleet. */
static void
shared_tls_note(struct shared_push *p, const char *key, size_t len)
{
	char skey[SHARED_KEY_MAX], *text;
	const char *argv[4] = { "SET", skey, NULL, "NX" };
	size_t argvlen[4] = { 3, 0, 0, 2 }, tlen;
	char name[MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 4];

	if (len < 3 || len - 2 >= sizeof(name))
		return;
	memcpy(name, key + 2, len - 2);
	name[len - 2] = '\0';
	if ((argvlen[1] = shared_key(p->s, skey, "tlspol", name)) == 0 ||
	    cache_note_get(p->c, key, len, &text, &tlen) != MTASTS_OK)
		return;
	argv[2] = text;
	argvlen[2] = tlen;
	redis_reply_free(redis_cmd(p->s->r, REDIS_WANT(REDIS_REPLY_STATUS) |
	    REDIS_WANT(REDIS_REPLY_NIL), 4, argv, argvlen));
	util_free(text);
}

static int
shared_on_local(const char *key, size_t len, uint64_t n, void *arg)
{
	struct shared_push *p = arg;
	const char *tab;
	size_t dlen;

	if (len > 0 && key[0] == 'P') {
		shared_tls_note(p, key, len);
		return 0;
	}
	if (len == 0 || !UTIL_IS_DIGIT(key[0]) ||
	    (tab = memchr(key, '\t', len)) == NULL)
		return 0;		/* not a counter: our own notes */
	dlen = (size_t)(tab - key);
	if (shared_tls_set(p->s, key, dlen, tab + 1, len - dlen - 1, n) !=
	    MTASTS_OK) {
		p->r = MTASTS_EIO;
		return 1;		/* the store is gone: stop */
	}
	if (dlen < sizeof(p->day) && !util_memeq(key, dlen, p->day)) {
		memcpy(p->day, key, dlen);
		p->day[dlen] = '\0';
		shared_tls_expire(p->s, key, dlen);
	}
	return 0;
}

int
shared_tls_push(struct shared *s, struct cache *c)
{
	struct shared_push p;
	int r;

	memset(&p, 0, sizeof(p));
	p.s = s;
	p.c = c;
	p.r = MTASTS_OK;
	if ((r = cache_counter_foreach(c, shared_on_local, &p)) != MTASTS_OK)
		return r;
	return p.r;
}

/* One day's fields, "host\nrest" -> count, summed by rest. */
struct shared_field {
	char		*rest;
	uint64_t	 n;
};

struct shared_day {
	struct shared_field	*v;
	size_t			 n, size;
};

static int
shared_day_add(struct shared_day *d, const redisReply *f,
    const redisReply *v)
{
	const char *nl;
	uint64_t n = 0;
	size_t i;

	if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
	    (nl = memchr(f->str, '\n', f->len)) == NULL || v->len == 0 ||
	    v->len > 19)
		return -1;
	for (i = 0; i < v->len; i++) {
		if (!UTIL_IS_DIGIT(v->str[i]))
			return -1;
		n = n * 10 + (uint64_t)(v->str[i] - '0');
	}
	if (d->n == d->size) {
		struct shared_field *nv;
		size_t size = d->size ? d->size * 2 : 256;

		if (size > SHARED_TLS_FIELDS_MAX || (nv =
		    util_reallocarray(d->v, size, sizeof(*nv))) == NULL)
			return -1;
		d->v = nv;
		d->size = size;
	}
	if ((d->v[d->n].rest = util_strndup(nl + 1, f->len - (size_t)(nl -
	    f->str) - 1)) == NULL)
		return -1;
	d->v[d->n++].n = n;
	return 0;
}

static int
shared_field_cmp(const void *a, const void *b)
{
	return strcmp(((const struct shared_field *)a)->rest,
	    ((const struct shared_field *)b)->rest);
}

static void
shared_day_clear(struct shared_day *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		util_free(d->v[i].rest);
	util_free(d->v);
	memset(d, 0, sizeof(*d));
}

/* Walk a SCAN-like command to its end: each reply's array to fn. */
static int
shared_scan(struct shared *s, int argc, const char **argv, size_t *argvlen,
    int (*fn)(const redisReply *arr, void *arg), void *arg)
{
	char cursor[24] = "0";
	redisReply *rp;
	unsigned int rounds = 0;
	int r;

	/* argv[1] or argv[2] is the cursor ("SCAN c ...", "HSCAN k c"). */
	do {
		argv[argv[0][0] == 'H' ? 2 : 1] = cursor;
		argvlen[argv[0][0] == 'H' ? 2 : 1] = strlen(cursor);
		if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_ARRAY), argc,
		    argv, argvlen)) == NULL)
			return MTASTS_EIO;
		if (rp->elements != 2 ||
		    rp->element[0]->type != REDIS_REPLY_STRING ||
		    rp->element[0]->len >= sizeof(cursor) ||
		    rp->element[1]->type != REDIS_REPLY_ARRAY) {
			redis_garbage(s->r, argv[0], rp);
			redis_reply_free(rp);
			return MTASTS_EIO;
		}
		memcpy(cursor, rp->element[0]->str, rp->element[0]->len + 1);
		r = fn(rp->element[1], arg);
		redis_reply_free(rp);
		if (r != 0)
			return MTASTS_EIO;
		/* A server that never ends its cursor is garbage. */
		if (++rounds > 100000)
			return MTASTS_EIO;
	} while (strcmp(cursor, "0") != 0);
	return MTASTS_OK;
}

static int
shared_on_hscan(const redisReply *arr, void *arg)
{
	size_t i;

	if (arr->elements % 2 != 0)
		return -1;
	for (i = 0; i < arr->elements; i += 2)
		if (shared_day_add(arg, arr->element[i],
		    arr->element[i + 1]) != 0)
			return -1;
	return 0;
}

static int
shared_on_scan(const redisReply *arr, void *arg)
{
	struct strlist *days = arg;
	const redisReply *k;
	size_t i;

	for (i = 0; i < arr->elements; i++) {
		k = arr->element[i];
		if (k->type != REDIS_REPLY_STRING || days->n >=
		    SHARED_TLS_DAYS_MAX || strlist_add(days, k->str, k->len) !=
		    MTASTS_OK)
			return -1;
	}
	return 0;
}

static int
shared_str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One day: fields summed by counter, fn on each in key order. */
static int
shared_tls_day(struct shared *s, const char *dkey, const char *day,
    int (*fn)(const char *, size_t, uint64_t, void *), void *arg)
{
	const char *argv[6] = { "HSCAN", dkey, NULL, "COUNT",
	    SHARED_TLS_SCAN };
	size_t argvlen[6] = { 5, strlen(dkey), 0, 5, 3 }, i, j, len;
	struct shared_day d;
	char key[1200];
	uint64_t sum;
	int r, stop = 0, n;

	memset(&d, 0, sizeof(d));
	if ((r = shared_scan(s, 5, argv, argvlen, shared_on_hscan, &d)) !=
	    MTASTS_OK) {
		shared_day_clear(&d);
		return r;
	}
	qsort(d.v, d.n, sizeof(*d.v), shared_field_cmp);
	for (i = 0; i < d.n && !stop; i = j) {
		for (sum = 0, j = i; j < d.n && strcmp(d.v[j].rest,
		    d.v[i].rest) == 0; j++)
			sum = sum + d.v[j].n < sum ? UINT64_MAX :
			    sum + d.v[j].n;
		n = snprintf(key, sizeof(key), "%s\t%s", day, d.v[i].rest);
		if (n < 0 || (size_t)n >= sizeof(key))
			continue;
		len = (size_t)n;
		stop = fn(key, len, sum, arg) != 0;
	}
	shared_day_clear(&d);
	return MTASTS_OK;
}

/* The prefix with SCAN's glob characters escaped, then "tls:*". */
static size_t
shared_tls_match(const struct shared *s, char *out, size_t size)
{
	const char *p;
	size_t o = 0;

	for (p = s->prefix; *p != '\0' && o + 2 < size; p++) {
		if (strchr("*?[]\\", *p) != NULL)
			out[o++] = '\\';
		out[o++] = *p;
	}
	if (o + 6 >= size)
		return 0;
	memcpy(out + o, "tls:*", 6);
	return o + 5;
}

int
shared_tls_foreach(struct shared *s,
    int (*fn)(const char *key, size_t len, uint64_t n, void *arg),
    void *arg)
{
	char match[160];
	const char *argv[6] = { "SCAN", NULL, "MATCH", match, "COUNT",
	    SHARED_TLS_SCAN };
	size_t argvlen[6] = { 4, 0, 5, 0, 5, 3 }, i, plen;
	struct strlist days = { NULL, 0, 0 };
	int r;

	if ((argvlen[3] = shared_tls_match(s, match, sizeof(match))) == 0)
		return MTASTS_EINVAL;
	if ((r = shared_scan(s, 6, argv, argvlen, shared_on_scan, &days)) !=
	    MTASTS_OK) {
		strlist_clear(&days);
		return r;
	}
	qsort(days.v, days.n, sizeof(*days.v), shared_str_cmp);
	plen = strlen(s->prefix) + 4;
	for (i = 0; i < days.n && r == MTASTS_OK; i++)
		if (strlen(days.v[i]) == plen + 10 && (i == 0 ||
		    strcmp(days.v[i], days.v[i - 1]) != 0))
			r = shared_tls_day(s, days.v[i], days.v[i] + plen, fn,
			    arg);
	strlist_clear(&days);
	return r;
}

int
shared_tls_policy_text(struct shared *s, const char *domain, const char *id,
    char **text, size_t *len)
{
	char key[SHARED_KEY_MAX], name[MTASTS_DOMAIN_MAX + MTASTS_ID_MAX + 4];
	const char *argv[2] = { "GET", key };
	size_t argvlen[2] = { 3, 0 };
	redisReply *rp;
	int r = MTASTS_ENORECORD;

	snprintf(name, sizeof(name), "%s\t%s", domain, id);
	if ((argvlen[1] = shared_key(s, key, "tlspol", name)) == 0)
		return MTASTS_EINVAL;
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STRING) |
	    REDIS_WANT(REDIS_REPLY_NIL), 2, argv, argvlen)) == NULL)
		return MTASTS_EIO;
	if (rp->type == REDIS_REPLY_STRING && rp->len <= MTASTS_POLICY_MAX) {
		if ((*text = util_strndup(rp->str, rp->len)) == NULL)
			r = MTASTS_ENOMEM;
		else {
			*len = rp->len;
			r = MTASTS_OK;
		}
	}
	redis_reply_free(rp);
	return r;
}

static int
shared_on_purge_scan(const redisReply *arr, void *arg)
{
	return shared_on_scan(arr, arg);
}

int
shared_tls_purge(struct shared *s, const char *before)
{
	char match[160];
	const char *argv[6] = { "SCAN", NULL, "MATCH", match, "COUNT",
	    SHARED_TLS_SCAN };
	size_t argvlen[6] = { 4, 0, 5, 0, 5, 3 }, i, plen;
	struct strlist days = { NULL, 0, 0 };
	const char *dargv[2] = { "DEL", NULL };
	size_t dlen[2] = { 3, 0 };
	int r;

	if ((argvlen[3] = shared_tls_match(s, match, sizeof(match))) == 0)
		return MTASTS_EINVAL;
	if ((r = shared_scan(s, 6, argv, argvlen, shared_on_purge_scan,
	    &days)) != MTASTS_OK) {
		strlist_clear(&days);
		return r;
	}
	plen = strlen(s->prefix) + 4;
	for (i = 0; i < days.n; i++)
		if (strlen(days.v[i]) == plen + 10 &&
		    strcmp(days.v[i] + plen, before) < 0) {
			dargv[1] = days.v[i];
			dlen[1] = strlen(days.v[i]);
			redis_reply_free(redis_cmd(s->r,
			    REDIS_WANT(REDIS_REPLY_INTEGER), 2, dargv, dlen));
		}
	strlist_clear(&days);
	return MTASTS_OK;
}

int
shared_report_claim(struct shared *s, const char *domain, const char *date,
    unsigned int secs, char *who, size_t wholen)
{
	char key[SHARED_KEY_MAX], name[MTASTS_DOMAIN_MAX + 16], val[1200];
	char ex[16];
	const char *argv[6] = { "SET", key, val, "NX", "EX", ex };
	size_t argvlen[6] = { 3, 0, 0, 2, 2, 0 };
	const char *gargv[2] = { "GET", key };
	size_t gargvlen[2] = { 3, 0 };
	redisReply *rp;
	int r;

	snprintf(who, wholen, "?");
	snprintf(name, sizeof(name), "%s:%s", date, domain);
	if ((argvlen[1] = shared_key(s, key, "report", name)) == 0)
		return MTASTS_EINVAL;
	argvlen[2] = (size_t)snprintf(val, sizeof(val), "lease %s", s->host);
	argvlen[5] = (size_t)snprintf(ex, sizeof(ex), "%u", secs);
	gargvlen[1] = argvlen[1];
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STATUS) |
	    REDIS_WANT(REDIS_REPLY_NIL), 6, argv, argvlen)) == NULL)
		return MTASTS_EIO;
	r = rp->type == REDIS_REPLY_STATUS;
	redis_reply_free(rp);
	if (r)
		return MTASTS_OK;		/* the lease is ours */
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STRING) |
	    REDIS_WANT(REDIS_REPLY_NIL), 2, gargv, gargvlen)) == NULL)
		return MTASTS_EIO;
	if (rp->type == REDIS_REPLY_NIL) {
		redis_reply_free(rp);
		return MTASTS_EIO;		/* expired meanwhile: later */
	}
	snprintf(who, wholen, "%.*s", (int)(rp->len < 300 ? rp->len : 300),
	    rp->str);
	r = rp->len == argvlen[2] && memcmp(rp->str, val, rp->len) == 0;
	redis_reply_free(rp);
	if (!r)
		return MTASTS_EMULTIPLE;
	/* Ours from an earlier run: renew it. */
	argv[3] = "XX";
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STATUS) |
	    REDIS_WANT(REDIS_REPLY_NIL), 6, argv, argvlen)) == NULL)
		return MTASTS_EIO;
	r = rp->type == REDIS_REPLY_STATUS;
	redis_reply_free(rp);
	return r ? MTASTS_OK : MTASTS_EIO;
}

int
shared_report_done(struct shared *s, const char *domain, const char *date,
    const char *state)
{
	char key[SHARED_KEY_MAX], name[MTASTS_DOMAIN_MAX + 16], val[1200];
	char ex[16];
	const char *argv[5] = { "SET", key, val, "EX", ex };
	size_t argvlen[5] = { 3, 0, 0, 2, 0 };
	redisReply *rp;

	snprintf(name, sizeof(name), "%s:%s", date, domain);
	if ((argvlen[1] = shared_key(s, key, "report", name)) == 0)
		return MTASTS_EINVAL;
	argvlen[2] = (size_t)snprintf(val, sizeof(val), "done %s %s", state,
	    s->host);
	argvlen[4] = (size_t)snprintf(ex, sizeof(ex), "%u",
	    s->retention + 86400);
	if ((rp = redis_cmd(s->r, REDIS_WANT(REDIS_REPLY_STATUS), 5, argv,
	    argvlen)) == NULL)
		return MTASTS_EIO;
	redis_reply_free(rp);
	return MTASTS_OK;
}
