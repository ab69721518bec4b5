/*
 * answer.c - a policy decision as a socketmap answer for Postfix's
 * smtp_tls_policy_maps.  What the policy gives is attr.c's (with
 * Postfix 3.10's TLSRPT attributes when asked); before it, with
 * dane_resolver in mtasts.conf (RFC 8461 §2: DANE, where usable, wins;
 * MTA-STS must never replace or weaken it), whatever the policy:
 *
 *   DANE usable	"OK dane-only" (socketmap_dane = dane: "OK dane"),
 *			so that Postfix does DANE itself, which a "secure"
 *			answer would turn off
 *   DANE temporary	"TEMP ...": never MTA-STS alone instead
 *
 * and "TEMP ..." for a decision the core could not complete or an
 * enforce policy without mx patterns (§5.1: defer).  See
 * docs/postfix.md for how Postfix's match= differs from RFC 8461 §4.1.
 * The memo keeps recent replies per domain and kind of answer (with
 * TLSRPT attributes or not) for memo_ttl seconds (never past the
 * policy's expiry) so that a cache hit costs no database read; the
 * shared cache stays the truth.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtasts.h>

#include "attr.h"
#include "socketmap.h"

#define MEMO_BUCKETS	4096
#define MEMO_MAX	16384		/* entries; then the memo is emptied */

/* One allocation per domain: data holds the domain, NUL, the reply,
 * NUL (10 000 domains take about 1.5 MB). */
struct memo {
	struct memo	*next;
	time_t		 expires;	/* CLOCK_MONOTONIC seconds */
	const char	*reply;		/* inside data */
	size_t		 len;
	char		 data[];	/* the domain first */
};

static struct memo	*memo[MEMO_BUCKETS];
static size_t		 nmemo;

static char *
answer_dup(const char *s, size_t *len)
{
	char	*p;

	*len = strlen(s);
	if ((p = malloc(*len + 1)) == NULL)
		fatalx("out of memory");
	memcpy(p, s, *len + 1);
	return p;
}

/* attr.c's answer for the policy part of the decision. */
static char *
answer_policy(const struct mtasts_result *res, int tlsrpt, size_t *len)
{
	struct attr_policy	 p;
	const char		**mx;
	char			*reply;
	size_t			 i;

	memset(&p, 0, sizeof(p));
	p.domain = mtasts_result_domain(res);
	p.has_policy = mtasts_result_has_policy(res);
	p.mode = mtasts_result_mode(res);
	p.nmx = mtasts_result_mx_count(res);
	p.text = mtasts_result_policy_text(res, &p.text_len);
	p.failure = mtasts_result_policy_failure(res);
	p.level = env.tlsrpt_level;
	if ((mx = calloc(p.nmx + 1, sizeof(*mx))) == NULL)
		fatalx("out of memory");
	for (i = 0; i < p.nmx; i++)
		mx[i] = mtasts_result_mx(res, i);
	p.mx = mx;
	if ((reply = attr_reply(&p, tlsrpt, len)) == NULL)
		fatalx("out of memory");
	free(mx);
	return reply;
}

char *
answer_from_result(const struct mtasts_result *res, int tlsrpt, size_t *len)
{
	char	buf[MTASTS_DOMAIN_MAX + 80];
	int	status;

	if ((status = mtasts_result_status(res)) != MTASTS_OK) {
		/* The library could not complete it: what it holds may be
		 * weaker than the policy in force (§5.1: defer). */
		log_warnx("%s: no complete policy decision: %s: TEMP",
		    mtasts_result_domain(res), mtasts_strerror(status));
		snprintf(buf, sizeof(buf), "TEMP %s: MTA-STS lookup "
		    "incomplete: %s", mtasts_result_domain(res),
		    mtasts_strerror(status));
		return answer_dup(buf, len);
	}
	if (mtasts_result_dane(res) == MTASTS_DANE_TEMPORARY) {
		log_warnx("%s: DANE lookup failed: %s: TEMP",
		    mtasts_result_domain(res), mtasts_result_dane_why(res));
		snprintf(buf, sizeof(buf), "TEMP %s: DANE lookup failed",
		    mtasts_result_domain(res));
		return answer_dup(buf, len);
	}
	if (mtasts_result_dane(res) == MTASTS_DANE_USABLE) {
		snprintf(buf, sizeof(buf), "OK %s", env.dane_level);
		return answer_dup(buf, len);
	}
	if (mtasts_result_has_policy(res) &&
	    mtasts_result_mode(res) == MTASTS_MODE_ENFORCE &&
	    mtasts_result_mx_count(res) == 0) {
		/* Nothing may match: fail closed (§5.1: defer). */
		snprintf(buf, sizeof(buf), "TEMP %s: enforce policy without "
		    "mx patterns", mtasts_result_domain(res));
		return answer_dup(buf, len);
	}
	return answer_policy(res, tlsrpt, len);
}

static time_t
answer_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static uint32_t
answer_hash(const char *s)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % MEMO_BUCKETS;
}

static void
answer_memo_unlink(struct memo **pp)
{
	struct memo	*m = *pp;

	*pp = m->next;
	free(m);
	nmemo--;
}

/* The memo's reply for domain, or NULL; valid until the next
 * answer_memo_put() or answer_memo_free(). */
const char *
answer_memo_get(const char *domain, size_t *len)
{
	struct memo	**pp, *m;

	for (pp = &memo[answer_hash(domain)]; (m = *pp) != NULL;
	    pp = &m->next) {
		if (strcmp(m->data, domain) != 0)
			continue;
		if (answer_now() >= m->expires) {
			answer_memo_unlink(pp);
			return NULL;
		}
		*len = m->len;
		return m->reply;
	}
	return NULL;
}

/* Remember the reply of a decision that rests on a policy (cached or
 * just fetched), until memo_ttl or the policy's expiry. */
void
answer_memo_put(const char *domain, const struct mtasts_result *res,
    const char *reply, size_t len)
{
	struct memo	**pp, *m;
	int64_t		  left;
	uint32_t	  h;
	size_t		  dlen;

	left = mtasts_result_expires_at(res) - (int64_t)time(NULL);
	if (env.memo_ttl == 0 || mtasts_result_status(res) != MTASTS_OK ||
	    !mtasts_result_has_policy(res) || left <= 0)
		return;
	if (left > env.memo_ttl)
		left = env.memo_ttl;
	h = answer_hash(domain);
	for (pp = &memo[h]; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->data, domain) == 0) {
			answer_memo_unlink(pp);
			break;
		}
	if (nmemo >= MEMO_MAX)
		answer_memo_free();
	dlen = strlen(domain);
	if ((m = malloc(sizeof(*m) + dlen + 1 + len + 1)) == NULL)
		fatalx("out of memory");
	memcpy(m->data, domain, dlen + 1);
	memcpy(m->data + dlen + 1, reply, len + 1);
	m->reply = m->data + dlen + 1;
	m->len = len;
	m->expires = answer_now() + (time_t)left;
	m->next = memo[h];
	memo[h] = m;
	nmemo++;
}

/* Drop the expired entries: the memo holds the domains asked within
 * the last memo_ttl seconds, not every domain ever asked. */
void
answer_memo_sweep(void)
{
	struct memo	**pp;
	time_t		  now = answer_now();
	size_t		  i;

	for (i = 0; i < MEMO_BUCKETS; i++)
		for (pp = &memo[i]; *pp != NULL; )
			if (now >= (*pp)->expires)
				answer_memo_unlink(pp);
			else
				pp = &(*pp)->next;
}

void
answer_memo_free(void)
{
	size_t	i;

	for (i = 0; i < MEMO_BUCKETS; i++)
		while (memo[i] != NULL)
			answer_memo_unlink(&memo[i]);
}
