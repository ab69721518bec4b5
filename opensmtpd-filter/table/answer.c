/*
 * answer.c - what table-mtasts answers.  smtpd waits for each answer
 * with every other lookup of its lka process stalled, so answers come
 * from the shared cache (the policy, which filter-mtasts resolved at
 * RCPT time) and from a short-lived memo of MX RRsets; DNS is asked
 * only when the memo has nothing, with a hard deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <mtasts.h>

#include "table.h"
#include "../../adapter/log.h"

#define MEMO_SLOTS	256		/* direct-mapped, by domain hash */
#define MEMO_TTL	60		/* seconds an MX RRset is reused */
#define MEMO_HOSTS	16		/* MX hosts kept per domain */

struct memo {
	char		 domain[MTASTS_DOMAIN_MAX + 1];
	time_t		 expires;
	int		 status;	/* MTASTS_OK or MTASTS_ENORECORD */
	size_t		 n;
	char		*hosts[MEMO_HOSTS];
};

/* One MX query; it outlives a lookup that timed out. */
struct mxwait {
	int		 done;
	int		 abandoned;
	struct memo	*m;
};

static struct memo	memo[MEMO_SLOTS];

int
answer_check(struct answer_env *e, const char *domain)
{
	struct mtasts_result	*res = NULL;
	int			 r;

	r = mtasts_cache_get(e->mtasts, domain, &res);
	/* Not a host name (an address literal, say): no policy. */
	if (r == MTASTS_ENORECORD || r == MTASTS_EPARSE)
		return 0;
	if (r != MTASTS_OK)
		return -1;
	/* An expired policy is no policy (RFC 8461 §5.1); filter-mtasts
	 * refreshed it at RCPT time if the domain is still in use. */
	r = mtasts_result_has_policy(res) &&
	    mtasts_result_mode(res) == MTASTS_MODE_ENFORCE &&
	    mtasts_result_expires_at(res) > (int64_t)time(NULL);
	mtasts_result_free(res);
	return r;
}

static void
memo_clear(struct memo *m)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		free(m->hosts[i]);
	memset(m, 0, sizeof(*m));
}

static struct memo *
memo_slot(const char *domain)
{
	uint32_t	h = 2166136261u;	/* FNV-1a */

	for (; *domain != '\0'; domain++)
		h = (h ^ (uint8_t)*domain) * 16777619u;
	return &memo[h % MEMO_SLOTS];
}

static void
answer_on_mx(int status, const char *const *hosts, size_t n, void *arg)
{
	struct mxwait	*w = arg;
	size_t		 i;

	if (w->abandoned) {
		free(w);
		return;
	}
	w->done = 1;
	if (status != MTASTS_OK && status != MTASTS_ENORECORD)
		return;
	w->m->status = status;
	for (i = 0; i < n && w->m->n < MEMO_HOSTS; i++)
		if ((w->m->hosts[w->m->n] = strdup(hosts[i])) != NULL)
			w->m->n++;
	w->m->expires = time(NULL) + MEMO_TTL;
}

static void
answer_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* The memo entry for domain, asking DNS (within the deadline) if it has
 * none fresh; NULL on a DNS failure or timeout. */
static struct memo *
answer_mx(struct answer_env *e, const char *domain)
{
	struct memo	*m = memo_slot(domain);
	struct mxwait	*w;
	struct event	*ev;
	struct timeval	 tv = { (time_t)e->deadline, 0 };
	char		 err[MTASTS_ERRLEN];
	int		 late = 0;

	if (strcmp(m->domain, domain) == 0 && m->expires > time(NULL))
		return m;
	memo_clear(m);
	if (strlen(domain) >= sizeof(m->domain) ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->m = m;
	if (mtasts_mx_query(e->mtasts, domain, answer_on_mx, w, err,
	    sizeof(err)) != MTASTS_OK) {
		log_warnx("%s: %s", domain, err);
		free(w);
		return NULL;
	}
	if ((ev = evtimer_new(e->base, answer_on_deadline, &late)) == NULL ||
	    evtimer_add(ev, &tv) == -1) {
		w->abandoned = 1;	/* the callback frees it */
		if (ev != NULL)
			event_free(ev);
		return NULL;
	}
	while (!w->done && !late)
		event_base_loop(e->base, EVLOOP_ONCE);
	event_free(ev);
	if (!w->done) {
		log_warnx("%s: no MX answer within %u s", domain,
		    e->deadline);
		w->abandoned = 1;
		return NULL;
	}
	free(w);
	if (m->expires == 0)
		return NULL;		/* DNS failed */
	memcpy(m->domain, domain, strlen(domain) + 1);
	return m;
}

/* Is host (from DNS: hostile) a usable host name, and does the policy,
 * if one is in force, allow it?  The name goes into a relay URL. */
static int
answer_usable(const struct mtasts_result *pol, const char *host, char *out,
    size_t size)
{
	char	err[MTASTS_ERRLEN];

	if (mtasts_domain_normalize(host, strlen(host), out, size, err,
	    sizeof(err)) != MTASTS_OK)
		return 0;
	return pol == NULL || mtasts_result_mx_allowed(pol, out, strlen(out)) ==
	    MTASTS_OK;
}

/* The cached enforce policy of domain, expired or not: mail that was
 * routed as enforce keeps the last policy known (RFC 8461 §5.1 lets a
 * sender keep using a cached policy it cannot refresh).  0 and *pol
 * (NULL if the cache has none in enforce mode), or -1 if the cache
 * could not say (out of memory, say): then no MX may be chosen, since
 * any would do without a policy. */
static int
answer_policy(struct answer_env *e, const char *domain,
    struct mtasts_result **pol)
{
	struct mtasts_result	*res = NULL;
	int			 r;

	*pol = NULL;
	r = mtasts_cache_get(e->mtasts, domain, &res);
	if (r == MTASTS_ENORECORD || r == MTASTS_EPARSE)
		return 0;
	if (r != MTASTS_OK) {
		log_warnx("%s: cached policy unreadable: %s", domain,
		    mtasts_strerror(r));
		return -1;
	}
	if (mtasts_result_has_policy(res) &&
	    mtasts_result_mode(res) == MTASTS_MODE_ENFORCE)
		*pol = res;
	else
		mtasts_result_free(res);
	return 0;
}

int
answer_relayhost(struct answer_env *e, const char *domain, char *out,
    size_t size)
{
	struct mtasts_result	*pol;
	struct memo		*m;
	char			 host[MTASTS_DOMAIN_MAX + 1];
	size_t			 i;
	int			 found = 0;

	if ((m = answer_mx(e, domain)) == NULL ||
	    answer_policy(e, domain, &pol) == -1)
		return -1;
	if (m->status == MTASTS_ENORECORD)	/* RFC 5321 §5.1 */
		found = answer_usable(pol, domain, host, sizeof(host));
	for (i = 0; !found && i < m->n; i++)
		found = answer_usable(pol, m->hosts[i], host, sizeof(host));
	if (!found)
		log_warnx("%s: no MX host %s; mail waits (RFC 8461 §4.1, "
		    "§5.1)", domain, pol != NULL ? "matches its policy" :
		    "is a usable host name");
	mtasts_result_free(pol);
	if (!found)
		return -1;
	if ((size_t)snprintf(out, size, "smtp+tls://%s", host) >= size)
		return -1;
	return 1;
}

void
answer_shutdown(void)
{
	size_t	i;

	for (i = 0; i < MEMO_SLOTS; i++)
		memo_clear(&memo[i]);
}
