/*
 * dane.c - is DANE (RFC 7672) usable for a domain, and the query that
 * says so next to the MTA-STS decision.
 *
 * RFC 8461 §2: a sender that does DANE uses it where the recipient
 * publishes TLSA records, and MTA-STS must never replace or weaken it.
 * So when mtasts.conf names a dane_resolver (a validating resolver the
 * admin trusts: its AD bit is believed, nobody else's is), every query
 * also asks it, in parallel with the MTA-STS discovery:
 *
 *   MX RRset (with AD)          SERVFAIL, timeout    -> temporary
 *                               not authenticated    -> none
 *                               NODATA, authenticated -> the domain
 *                                 itself is the host (RFC 7672 §2.2.1)
 *   for each of the DANE_HOSTS best hosts, its A RRset (with AD):
 *                               SERVFAIL, timeout    -> temporary
 *                               not authenticated    -> none for it
 *                                 (§2.2: TLSA records of a host whose
 *                                 addresses are insecure are not used)
 *   then _25._tcp.<host> TLSA:  SERVFAIL, timeout    -> temporary
 *                               authenticated, with a DANE-TA(2) or
 *                               DANE-EE(3) record (§3.1) -> usable
 *                               anything else        -> none for it
 *
 * and the domain is temporary if any host is (a failed TLSA lookup
 * never falls back to MTA-STS alone: the MTA would defer that host),
 * else usable if any host is, else none.  mtasts_result_apply() turns
 * that and the policy into what the sender applies.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "mtasts.h"
#include "ctx.h"
#include "dns.h"
#include "log.h"
#include "result.h"
#include "util.h"

#define DANE_HOSTS	8	/* MX hosts looked at, best first */

struct dane_join {
	struct mtasts_ctx	*ctx;
	mtasts_result_cb	 cb;
	void			*arg;
	char			 domain[MTASTS_DOMAIN_MAX + 1];
	struct mtasts_result	*res;		/* from decide */
	int			 decided;	/* res is there */
	int			 abandoned;	/* decide never started */
	int			 checked;	/* dane below is final */
	enum mtasts_dane	 dane;
	char			 why[MTASTS_DANE_WHY_MAX];
	char			 host[DANE_HOSTS][MTASTS_DOMAIN_MAX + 1];
	size_t			 nhosts;
	size_t			 pending;	/* TLSA lookups out */
	size_t			 nusable, ntemp;
	char			 insecure[MTASTS_DOMAIN_MAX + 1]; /* first
					 * host with insecure addresses */
};

static void
dane_deliver(struct dane_join *j)
{
	struct mtasts_result *r = j->res;

	r->dane = j->dane;
	snprintf(r->dane_why, sizeof(r->dane_why), "%s", j->why);
	j->cb(r, j->arg);		/* r is the caller's now */
	util_free(j);
}

/* Both halves are in: the caller hears once, the join goes. */
static void
dane_done(struct dane_join *j)
{
	j->checked = 1;
	/* Most domains have no DANE: that is debug, not news. */
	log_msg(j->dane == MTASTS_DANE_TEMPORARY ? LOG_WARNING :
	    j->dane == MTASTS_DANE_USABLE ? LOG_INFO : LOG_DEBUG,
	    "%s: DANE %s: %s", j->domain, mtasts_dane_name(j->dane), j->why);
	if (j->abandoned)
		util_free(j);		/* decide never started */
	else if (j->decided)
		dane_deliver(j);
}

static void
dane_on_result(struct mtasts_result *res, void *arg)
{
	struct dane_join *j = arg;

	j->res = res;
	j->decided = 1;
	if (j->checked)
		dane_deliver(j);
}

/* "usage selector mtype HEX": DANE-TA(2) or DANE-EE(3), a known
 * selector and matching type (RFC 7672 §3.1: PKIX-TA and PKIX-EE are
 * unusable in SMTP, RFC 6698 §7.2-7.4), and data an MTA can match: a
 * SHA2-256 digest of 32 bytes, a SHA2-512 one of 64, a full
 * certificate or key of some bytes.  A record with a digest of the
 * wrong length is unusable (RFC 7671 §5.1: the MTA ignores it), so it
 * must not make DANE "usable" over an MTA-STS policy. */
static int
dane_usable(const char *rr)
{
	size_t	n, i;

	if (!(strlen(rr) > 6 && (rr[0] == '2' || rr[0] == '3') &&
	    rr[1] == ' ' && (rr[2] == '0' || rr[2] == '1') && rr[3] == ' ' &&
	    (rr[4] == '0' || rr[4] == '1' || rr[4] == '2') && rr[5] == ' '))
		return 0;
	for (i = 6; rr[i] != '\0'; i++)
		if (!isxdigit((unsigned char)rr[i]))
			return 0;
	n = i - 6;
	if (n % 2 != 0)
		return 0;
	switch (rr[4]) {
	case '1':
		return n == 64;
	case '2':
		return n == 128;
	default:
		return n >= 2;
	}
}

struct dane_host {
	struct dane_join	*j;
	size_t			 i;	/* host index */
};

static void
dane_host_done(struct dane_join *j)
{
	if (--j->pending > 0)
		return;
	if (j->ntemp > 0)
		j->dane = MTASTS_DANE_TEMPORARY;
	else if (j->nusable > 0)
		j->dane = MTASTS_DANE_USABLE;
	else if (j->insecure[0] != '\0') {
		j->dane = MTASTS_DANE_NONE;
		util_err(j->why, sizeof(j->why), "no DNSSEC-authenticated "
		    "usable TLSA record for %zu MX host%s (%s: address "
		    "records not DNSSEC-authenticated)", j->nhosts,
		    j->nhosts == 1 ? "" : "s", j->insecure);
	} else {
		j->dane = MTASTS_DANE_NONE;
		util_err(j->why, sizeof(j->why), "no DNSSEC-authenticated "
		    "usable TLSA record for %zu MX host%s", j->nhosts,
		    j->nhosts == 1 ? "" : "s");
	}
	dane_done(j);
}

static void
dane_on_tlsa(int status, int ad, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct dane_host *h = arg;
	struct dane_join *j = h->j;
	const char *host = j->host[h->i];
	size_t i;

	util_free(h);
	if (status == DNS_TEMP) {
		/* RFC 7672 §2.2: the host cannot be used; the first
		 * failure says why. */
		if (j->ntemp++ == 0)
			util_err(j->why, sizeof(j->why), "%s: TLSA lookup "
			    "failed: %s", host, why);
	} else if (status == DNS_OK && ad) {
		for (i = 0; i < n && !dane_usable(v[i]); i++)
			;
		if (i < n && j->nusable++ == 0 && j->ntemp == 0)
			util_err(j->why, sizeof(j->why), "%s: "
			    "DNSSEC-authenticated TLSA %.5s", host, v[i]);
		/* What a TLSRPT report quotes for this host's DANE
		 * sessions (RFC 8460 §4.4 policy-string). */
		if (i < n)
			tlsresult_tlsa_note(j->ctx, j->domain, host, v, n);
	}
	dane_host_done(j);
}

/* Not even started (memory, or the context closing): we are in a
 * callback, so host i fails here. */
static void
dane_not_started(struct dane_join *j, size_t i, const char *what)
{
	if (j->ntemp++ == 0)
		util_err(j->why, sizeof(j->why), "%s: %s lookup not "
		    "started", j->host[i], what);
	dane_host_done(j);
}

static void
dane_on_addr(int status, int ad, char *const *v, size_t n,
    const char *why, void *arg)
{
	struct dane_host *h = arg;
	struct dane_join *j = h->j;
	char name[MTASTS_DOMAIN_MAX + 16];

	(void)v;
	(void)n;
	if (status == DNS_TEMP) {
		if (j->ntemp++ == 0)
			util_err(j->why, sizeof(j->why), "%s: address lookup "
			    "failed: %s", j->host[h->i], why);
	} else if (!ad) {
		/* RFC 7672 §2.2: TLSA records are used only for a host
		 * whose address records are secure; neither Postfix nor
		 * Exim do DANE with this host, so it must not take the
		 * domain off MTA-STS.  One authenticated A answer (or
		 * denial) says it for AAAA too: same owner, same zone,
		 * same CNAME chain. */
		if (j->insecure[0] == '\0')
			snprintf(j->insecure, sizeof(j->insecure), "%s",
			    j->host[h->i]);
	} else {
		snprintf(name, sizeof(name), "_25._tcp.%s", j->host[h->i]);
		if (dns_tlsa_sec(j->ctx->dane_dns, name, dane_on_tlsa, h) ==
		    MTASTS_OK)
			return;
		dane_not_started(j, h->i, "TLSA");
		util_free(h);
		return;
	}
	util_free(h);
	dane_host_done(j);
}

static void
dane_host_start(struct dane_join *j, size_t i)
{
	struct dane_host *h;

	if ((h = util_calloc(1, sizeof(*h))) != NULL) {
		h->j = j;
		h->i = i;
		if (dns_addr_sec(j->ctx->dane_dns, j->host[i], dane_on_addr,
		    h) == MTASTS_OK)
			return;
		util_free(h);
	}
	dane_not_started(j, i, "address");
}

static void
dane_on_mx(int status, int ad, char *const *v, size_t n, const char *why,
    void *arg)
{
	struct dane_join *j = arg;
	size_t i;

	if (status == DNS_TEMP) {
		j->dane = MTASTS_DANE_TEMPORARY;
		util_err(j->why, sizeof(j->why), "MX lookup failed: %s", why);
		dane_done(j);
		return;
	}
	if (!ad) {
		/* RFC 7672 §2.2.1: TLSA of MX hosts found insecurely
		 * are not used; the MTA does no DANE here either. */
		j->dane = MTASTS_DANE_NONE;
		util_err(j->why, sizeof(j->why), "MX RRset not "
		    "DNSSEC-authenticated");
		dane_done(j);
		return;
	}
	if (status == DNS_NODATA)	/* §2.2.1: the domain is the host */
		snprintf(j->host[j->nhosts++], sizeof(j->host[0]), "%s",
		    j->domain);
	for (i = 0; i < n && j->nhosts < DANE_HOSTS; i++)
		if (strlen(v[i]) <= MTASTS_DOMAIN_MAX)
			snprintf(j->host[j->nhosts++], sizeof(j->host[0]),
			    "%s", v[i]);
	if (j->nhosts == 0) {
		j->dane = MTASTS_DANE_NONE;
		util_err(j->why, sizeof(j->why), "no usable MX host");
		dane_done(j);
		return;
	}
	/* Counted first: an answer may come within the loop below. */
	j->pending = j->nhosts;
	for (i = 0, n = j->nhosts; i < n; i++)
		dane_host_start(j, i);
}

/*
 * The public query: the RFC 8461 §5.1 decision (decide.c), and with a
 * dane_resolver the DANE check beside it; cb runs once, when both are
 * in.  Started DANE first, so that a failure to start it leaves nothing
 * running for the caller (decide would call back).
 */
MTASTS_API int
mtasts_query(struct mtasts_ctx *ctx, const char *domain, int flags,
    mtasts_result_cb cb, void *arg, char *err, size_t errlen)
{
	struct dane_join *j;
	int r;

	if (ctx == NULL || domain == NULL || cb == NULL)
		return MTASTS_EINVAL;
	if (ctx->dane_dns == NULL)
		return decide_query(ctx, domain, flags, cb, arg, err, errlen);
	if ((j = util_calloc(1, sizeof(*j))) == NULL)
		return MTASTS_ENOMEM;
	if ((r = mtasts_domain_normalize(domain, strlen(domain), j->domain,
	    sizeof(j->domain), err, errlen)) != MTASTS_OK) {
		util_free(j);
		return r;
	}
	j->ctx = ctx;
	j->cb = cb;
	j->arg = arg;
	if (dns_mx_sec(ctx->dane_dns, j->domain, dane_on_mx, j) !=
	    MTASTS_OK) {
		util_free(j);
		util_err(err, errlen, "%s: DANE lookup not started", domain);
		return MTASTS_ENOMEM;
	}
	if ((r = decide_query(ctx, domain, flags, dane_on_result, j, err,
	    errlen)) != MTASTS_OK)
		j->abandoned = 1;	/* freed in dane_done() */
	return r;
}

MTASTS_API const char *
mtasts_dane_name(enum mtasts_dane d)
{
	switch (d) {
	case MTASTS_DANE_NONE:
		return "none";
	case MTASTS_DANE_USABLE:
		return "usable";
	case MTASTS_DANE_TEMPORARY:
		return "temporary";
	default:
		return "unchecked";
	}
}

MTASTS_API enum mtasts_dane
mtasts_result_dane(const struct mtasts_result *r)
{
	return r->dane;
}

MTASTS_API const char *
mtasts_result_dane_why(const struct mtasts_result *r)
{
	return r->dane_why;
}

/*
 * RFC 8461 §2 and §5.1 together: DANE usable wins over any policy; a
 * DANE lookup that failed defers (postfix-tlspol does the same); an
 * incomplete answer defers (fail closed); then an enforce policy
 * applies; testing, none and no policy leave the MTA as it is.
 */
MTASTS_API enum mtasts_apply
mtasts_result_apply(const struct mtasts_result *r)
{
	if (r->status != MTASTS_OK || r->dane == MTASTS_DANE_TEMPORARY)
		return MTASTS_APPLY_DEFER;
	if (r->dane == MTASTS_DANE_USABLE)
		return MTASTS_APPLY_DANE;
	if (r->has_policy && r->mode == MTASTS_MODE_ENFORCE)
		return MTASTS_APPLY_STS;
	return MTASTS_APPLY_NONE;
}

MTASTS_API const char *
mtasts_apply_name(enum mtasts_apply a)
{
	switch (a) {
	case MTASTS_APPLY_DANE:
		return "dane";
	case MTASTS_APPLY_STS:
		return "mta-sts";
	case MTASTS_APPLY_DEFER:
		return "defer";
	default:
		return "none";
	}
}
