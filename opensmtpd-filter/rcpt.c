/*
 * rcpt.c - the rcpt-to phase: resolve the recipient domain's MTA-STS
 * policy (RFC 8461 §5.1) without stalling other sessions, update the
 * enforce table, then answer.
 *
 * One query per domain is in flight at a time: recipients of a domain
 * whose policy is being resolved wait for that query (RFC 8461 §3.3
 * asks senders not to refetch needlessly).  Each request has its own
 * deadline, because smtpd has none for filters and the SMTP session is
 * paused until we answer.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <mtasts.h>

#include "filter.h"

struct lookup;

struct req {
	TAILQ_ENTRY(req)	 entry;
	struct lookup		*lk;		/* NULL once answered */
	struct event		*timer;		/* the deadline */
	char			 sid[17];
	char			 tok[17];
};
TAILQ_HEAD(reqlist, req);

struct lookup {
	LIST_ENTRY(lookup)	 entry;
	struct reqlist		 reqs;		/* waiting for the answer */
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	struct mtasts_result	*res;		/* enforce: while MX is asked */
};

/* No complete decision (RFC 8461 §5.1): the table is left as it is. */
#define RCPT_TEMPFAIL	"reject|451 4.7.5 MTA-STS: policy lookup " \
			"failed, try again later"

static LIST_HEAD(, lookup)	lookups = LIST_HEAD_INITIALIZER(lookups);
static size_t			npending;
static int			shutting_down;

static void
rcpt_answer(struct req *r, const char *verdict)
{
	io_printf("filter-result|%s|%s|%s", r->sid, r->tok, verdict);
}

static void
rcpt_free(struct req *r)
{
	if (r->lk != NULL)
		TAILQ_REMOVE(&r->lk->reqs, r, entry);
	event_free(r->timer);
	free(r);
	npending--;
	if (!shutting_down)
		io_idle();
}

/* The deadline: answer with what the table already says.  A domain in
 * it stays enforced; one not in it goes out as before (RFC 8461 §5.1
 * lets a sender that cannot fetch treat the domain as without policy). */
static void
rcpt_on_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct req	*r = arg;

	(void)fd;
	(void)ev;
	log_warnx("session %s: %s: no policy decision within %us, "
	    "proceeding", r->sid, r->lk->domain, env.deadline);
	(void)mtasts_metric_add(env.mtasts, "mtasts_filter_rcpts_total",
	    "timeout", 1);
	rcpt_answer(r, "proceed");
	rcpt_free(r);
}

/* Answer every request waiting on lk. */
static void
rcpt_answer_all(struct lookup *lk, const char *verdict)
{
	struct req	*r;

	while ((r = TAILQ_FIRST(&lk->reqs)) != NULL) {
		(void)mtasts_metric_add(env.mtasts, "mtasts_filter_rcpts_total",
		    strncmp(verdict, "reject", 6) == 0 ? "defer" : "proceed", 1);
		rcpt_answer(r, verdict);
		rcpt_free(r);
	}
}

/* ... and free it. */
static void
rcpt_finish(struct lookup *lk, const char *verdict)
{
	rcpt_answer_all(lk, verdict);
	mtasts_result_free(lk->res);
	free(lk);
}

/* Keep the table in step with the decision (enforce or not). */
static const char *
rcpt_table(const struct lookup *lk, int enforce)
{
	if (enforcedb_set(lk->domain, enforce) == -1 && enforce)
		/* The route would be opportunistic: never that for an
		 * enforce domain (§5.1: defer, do not bounce). */
		return "reject|451 4.7.5 MTA-STS: policy table unavailable,"
		    " try again later";
	return "proceed";
}

/* The MX hosts smtpd may deliver this domain's mail to: noted with
 * their addresses, so that --report can tell which domain a failed
 * outgoing session was for (smtpd reports only its address). */
static void
rcpt_note(const char *domain, const char *host)
{
	if (mtasts_mx_note(env.mtasts, domain, host) != MTASTS_OK)
		log_debug("%s: MX %s not noted for TLSRPT", domain, host);
}

/* How many of the MX hosts (or, with no MX, the domain itself: RFC
 * 5321 §5.1) the policy allows; each allowed one is noted. */
static size_t
rcpt_allowed(const struct lookup *lk, int status, const char *const *hosts,
    size_t n)
{
	size_t	i, ok = 0;

	if (status == MTASTS_ENORECORD && mtasts_result_mx_allowed(lk->res,
	    lk->domain, strlen(lk->domain)) == MTASTS_OK) {
		ok = 1;
		rcpt_note(lk->domain, lk->domain);
	}
	for (i = 0; i < n; i++)
		if (mtasts_result_mx_allowed(lk->res, hosts[i],
		    strlen(hosts[i])) == MTASTS_OK) {
			ok++;
			rcpt_note(lk->domain, hosts[i]);
		}
	return ok;
}

/* RFC 8461 §4.1 at RCPT: an enforce domain none of whose MX hosts
 * matches the policy cannot be delivered to; say so now, as a
 * temporary failure (§5.1: never a bounce).  A DNS failure proceeds:
 * smtpd's "relay tls" still checks each MX's certificate. */
static void
rcpt_on_mx(int status, const char *const *hosts, size_t n, void *arg)
{
	struct lookup	*lk = arg;
	const char	*verdict;
	size_t		 ok = rcpt_allowed(lk, status, hosts, n);

	if (shutting_down)
		verdict = "proceed";
	else if (ok == 0 && status != MTASTS_ETIMEOUT) {
		log_warnx("%s: enforce policy %s allows none of its %zu MX "
		    "hosts: 451", lk->domain, mtasts_result_id(lk->res), n);
		verdict = "reject|451 4.7.5 MTA-STS: no MX host of this "
		    "domain matches its enforce policy";
		enforcedb_set(lk->domain, 1);
	} else
		verdict = rcpt_table(lk, 1);
	rcpt_finish(lk, verdict);
}

/* A testing domain, already answered: note the MX hosts its policy
 * names, for --report --probe (smtpd sends its mail unverified). */
static void
rcpt_on_testing_mx(int status, const char *const *hosts, size_t n,
    void *arg)
{
	struct lookup	*lk = arg;

	(void)rcpt_allowed(lk, status, hosts, n);
	rcpt_finish(lk, "proceed");	/* nobody waits any more */
}

static void
rcpt_on_result(struct mtasts_result *res, void *arg)
{
	struct lookup	*lk = arg;
	char		 err[MTASTS_ERRLEN];
	int		 enforce, status;

	LIST_REMOVE(lk, entry);
	lk->res = res;
	if (shutting_down) {
		rcpt_finish(lk, "proceed");
		return;
	}
	if ((status = mtasts_result_status(res)) != MTASTS_OK) {
		/* What res holds may be weaker than the policy in force:
		 * never act on it, above all never take the domain out of
		 * the enforce table (the downgrade would outlast us). */
		log_warnx("%s: no complete policy decision: %s: 451",
		    lk->domain, mtasts_strerror(status));
		rcpt_finish(lk, RCPT_TEMPFAIL);
		return;
	}
	enforce = mtasts_result_has_policy(res) &&
	    mtasts_result_mode(res) == MTASTS_MODE_ENFORCE;
	log_debug("%s: %s (%zu errors)", lk->domain,
	    mtasts_result_mode_name(res), mtasts_result_error_count(res));
	if (!enforce) {
		rcpt_answer_all(lk, rcpt_table(lk, 0));
		if (mtasts_result_has_policy(res) &&
		    mtasts_result_mode(res) == MTASTS_MODE_TESTING &&
		    mtasts_mx_query(env.mtasts, lk->domain, rcpt_on_testing_mx,
		    lk, err, sizeof(err)) == MTASTS_OK)
			return;
		rcpt_finish(lk, "proceed");
		return;
	}
	if (mtasts_mx_query(env.mtasts, lk->domain, rcpt_on_mx, lk, err,
	    sizeof(err)) != MTASTS_OK) {
		log_warnx("%s: %s", lk->domain, err);
		rcpt_finish(lk, rcpt_table(lk, 1));
	}
}

/* The lookup for domain, or NULL with *status why (MTASTS_EPARSE:
 * not a domain, no policy can exist for it). */
static struct lookup *
rcpt_lookup(const char *domain, int *status)
{
	struct lookup	*lk;
	char		 err[MTASTS_ERRLEN] = "";

	LIST_FOREACH(lk, &lookups, entry)
		if (strcmp(lk->domain, domain) == 0)
			return lk;
	if ((lk = calloc(1, sizeof(*lk))) == NULL)
		fatalx("out of memory");
	TAILQ_INIT(&lk->reqs);
	memcpy(lk->domain, domain, strlen(domain) + 1);
	if ((*status = mtasts_query(env.mtasts, domain, 0, rcpt_on_result,
	    lk, err, sizeof(err))) != MTASTS_OK) {
		log_warnx("%s: %s", domain, err[0] != '\0' ? err :
		    mtasts_strerror(*status));
		free(lk);
		return NULL;
	}
	LIST_INSERT_HEAD(&lookups, lk, entry);
	return lk;
}

/* The policy domain of an address: after its last '@' (RFC 5321 local
 * parts may be quoted and hold '@'), normalised to lowercase A-labels.
 * 0 if there is none (no '@', an address literal, garbage). */
static int
rcpt_domain(const char *addr, size_t len, char *out, size_t size)
{
	const char	*at;
	char		 err[MTASTS_ERRLEN];

	for (at = addr + len; at > addr && at[-1] != '@'; at--)
		;
	if (at == addr)
		return 0;
	if (mtasts_domain_normalize(at, len - (size_t)(at - addr), out,
	    size, err, sizeof(err)) != MTASTS_OK) {
		log_debug("'%.64s': no policy domain: %s", at, err);
		return 0;
	}
	return 1;
}

void
rcpt_start(const char *sid, const char *tok, const char *addr, size_t len)
{
	struct lookup	*lk;
	struct req	*r;
	struct timeval	 tv = { env.deadline, 0 };
	char		 domain[MTASTS_DOMAIN_MAX + 1];
	int		 status = MTASTS_EPARSE;

	if (!rcpt_domain(addr, len, domain, sizeof(domain)) ||
	    (lk = rcpt_lookup(domain, &status)) == NULL) {
		/* Not a domain: proceed.  A lookup that cannot start: the
		 * domain may be enforce, so try again later (§5.1). */
		(void)mtasts_metric_add(env.mtasts, "mtasts_filter_rcpts_total",
		    status == MTASTS_EPARSE ? "proceed" : "defer", 1);
		io_printf("filter-result|%s|%s|%s", sid, tok,
		    status == MTASTS_EPARSE ? "proceed" : RCPT_TEMPFAIL);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->timer = evtimer_new(env.base, rcpt_on_deadline, r)) == NULL)
		fatalx("out of memory");
	memcpy(r->sid, sid, strlen(sid) + 1);	/* checked: <= 16 */
	memcpy(r->tok, tok, strlen(tok) + 1);
	r->lk = lk;
	TAILQ_INSERT_TAIL(&lk->reqs, r, entry);
	npending++;
	evtimer_add(r->timer, &tv);
}

size_t
rcpt_pending(void)
{
	return npending;
}

/* smtpd is gone: nobody to answer.  The lookups themselves end when
 * the context is freed (their callbacks run then). */
void
rcpt_shutdown(void)
{
	struct lookup	*lk;
	struct req	*r;

	shutting_down = 1;
	LIST_FOREACH(lk, &lookups, entry)
		while ((r = TAILQ_FIRST(&lk->reqs)) != NULL)
			rcpt_free(r);
}
