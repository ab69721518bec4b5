/*
 * check_mx.c - mtasts check, the MX side: the MX RRset against the
 * policy's patterns (RFC 8461 §4.1), one SMTP session with STARTTLS to
 * each MX host as a sender would open it (§4.2, smtp.c), and DANE TLSA
 * presence (RFC 7672; informational, mtasts does not do DANE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "check.h"

static char *
mx_strdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL) {
		fprintf(stderr, "mtasts: out of memory\n");
		exit(EXIT_USAGE);
	}
	return d;
}

static void
mx_on_hosts(int status, const char *const *hosts, size_t n, void *arg)
{
	struct check *c = arg;
	size_t i;

	c->pending--;
	if (status == MTASTS_ENORECORD) {
		/* RFC 5321 §5.1: no MX, the domain itself (also for a
		 * null MX, which the core reports the same way). */
		c->mx_implicit = 1;
		c->mx[c->nmx++] = mx_strdup(c->domain);
		c->nmx_all = 1;
		return;
	}
	if (status != MTASTS_OK) {
		c->mx_failed = 1;
		return;
	}
	c->nmx_all = n;
	for (i = 0; i < n && c->nmx < CHECK_MX_MAX; i++)
		c->mx[c->nmx++] = mx_strdup(hosts[i]);
}

/* The first pattern of the policy that matches host, or NULL. */
static const char *
mx_pattern_for(const struct mtasts_policy *pol, const char *host)
{
	const char *p;
	size_t i;

	for (i = 0; i < mtasts_policy_mx_count(pol); i++) {
		p = mtasts_policy_mx(pol, i);
		if (mtasts_mx_match(p, strlen(p), host, strlen(host), NULL,
		    0) == MTASTS_OK)
			return p;
	}
	return NULL;
}

/* Verdict of the match: every MX fine, some, or none (§4.1, §5.1). */
static void
mx_verdict(struct check *c, size_t nmatch, const char *first_miss,
    json_t *o)
{
	int enforce = mtasts_policy_mode(c->pol) == MTASTS_MODE_ENFORCE;

	if (nmatch == c->nmx)
		check_item(c, "mx", NULL, V_PASS, o, "every MX host matches "
		    "the policy (%zu of %zu)%s", nmatch, c->nmx,
		    c->mx_implicit ? "; no MX: the domain itself" : "");
	else if (nmatch > 0)
		check_item(c, "mx", NULL, V_WARN, o, "%s matches no mx "
		    "pattern: MTA-STS senders never deliver to it (%zu of "
		    "%zu match)", first_miss, nmatch, c->nmx);
	else
		check_item(c, "mx", NULL, enforce ? V_FAIL : V_WARN, o, "no MX "
		    "host matches the policy (%s does not): %s", first_miss,
		    enforce ? "senders defer all mail (§5.1)" :
		    "senders in testing mode report failures");
}

/* 4. The MX RRset against the policy's patterns. */
void
check_mx(struct check *c)
{
	char err[MTASTS_ERRLEN] = "";
	const char *pat, *miss = NULL;
	json_t *o, *hosts;
	size_t i, nmatch = 0;

	if (mtasts_mx_query(c->ctx, c->domain, mx_on_hosts, c, err,
	    sizeof(err)) != MTASTS_OK) {
		check_item(c, "mx", NULL, V_FAIL, NULL, "%s", err);
		return;
	}
	c->pending++;
	check_wait(c);
	if (c->mx_failed) {
		check_item(c, "mx", NULL, V_FAIL, NULL, "%s: MX look-up failed "
		    "(temporary DNS failure)", c->domain);
		return;
	}
	o = json_object();
	hosts = json_array();
	for (i = 0; i < c->nmx; i++) {
		pat = c->pol != NULL ? mx_pattern_for(c->pol, c->mx[i]) : NULL;
		json_array_append_new(hosts, json_pack("{s:o,s:o}", "host",
		    cli_jstr(c->mx[i]), "pattern", pat ? cli_jstr(pat) :
		    json_null()));
		if (pat != NULL)
			nmatch++;
		else if (miss == NULL)
			miss = c->mx[i];
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "total", json_integer((json_int_t)c->nmx_all));
	if (c->pol == NULL)
		check_item(c, "mx", NULL, V_SKIP, o, "%zu MX host%s, no valid "
		    "policy to match them against", c->nmx, c->nmx == 1 ? "" :
		    "s");
	else if (mtasts_policy_mode(c->pol) == MTASTS_MODE_NONE)
		check_item(c, "mx", NULL, V_SKIP, o, "mode none: mx patterns "
		    "are not used");
	else
		mx_verdict(c, nmatch, miss, o);
}

struct addrs {
	struct check	*c;
	char		 v[CHECK_ADDR_MAX][64];
	size_t		 n;
	char		 why[160];
};

static void
mx_on_addrs(int status, const char *const *v, size_t n, const char *why,
    void *arg)
{
	struct addrs *a = arg;

	a->c->pending--;
	snprintf(a->why, sizeof(a->why), "%s", status == MTASTS_OK ? "" :
	    why);
	for (a->n = 0; a->n < n && a->n < CHECK_ADDR_MAX; a->n++)
		snprintf(a->v[a->n], sizeof(a->v[0]), "%s", v[a->n]);
}

static const char *const stage_names[] = { "connect", "greeting", "ehlo",
    "starttls", "tls", "done" };

/* The certificate's problems, or "" when there are none. */
static enum check_verdict
smtp_cert_verdict(const struct check *c, const struct mtasts_smtp_result *r,
    char *why, size_t size)
{
	int64_t left = r->not_after - (int64_t)time(NULL);

	why[0] = '\0';
	if (r->verify != 0 && !r->name_ok)
		snprintf(why, size, "certificate not trusted (%s, against %s) "
		    "and %s", r->verify_text, c->ca_file, r->name_err);
	else if (r->verify != 0)
		snprintf(why, size, "certificate not trusted: %s (against %s)",
		    r->verify_text, c->ca_file);
	else if (!r->name_ok)
		snprintf(why, size, "%s", r->name_err);
	if (why[0] != '\0')
		return V_FAIL;
	if (left < CHECK_EXPIRY_WARN) {
		snprintf(why, size, "certificate expires in %lld days",
		    (long long)(left / 86400));
		return V_WARN;
	}
	return V_PASS;
}

static void
smtp_item(struct check *c, const char *host, const char *addr, int rc,
    const struct mtasts_smtp_result *r)
{
	char why[1600], t[32];
	enum check_verdict v = V_FAIL;
	json_t *o = json_object();

	json_object_set_new(o, "address", cli_jstr(addr));
	json_object_set_new(o, "port", json_integer(c->port));
	json_object_set_new(o, "stage", cli_jstr(stage_names[r->stage]));
	json_object_set_new(o, "starttls", json_boolean(r->starttls));
	if (rc != 0) {
		check_item(c, "smtp", host, V_FAIL, o, "%s [%s]:%u: %s", host,
		    addr, c->port, r->error);
		return;
	}
	cli_time(r->not_after, t, sizeof(t));
	json_object_set_new(o, "tls_version", cli_jstr(r->tls_version));
	json_object_set_new(o, "cipher", cli_jstr(r->cipher));
	json_object_set_new(o, "chain_verified", json_boolean(r->verify == 0));
	json_object_set_new(o, "name_match", json_boolean(r->name_ok));
	json_object_set_new(o, "not_after", cli_jstr(t));
	v = smtp_cert_verdict(c, r, why, sizeof(why));
	if (v == V_PASS)
		snprintf(why, sizeof(why), "certificate valid for %s until %s",
		    host, t);
	check_item(c, "smtp", host, v, o, "%s [%s]:%u: STARTTLS, %s %s; %s",
	    host, addr, c->port, r->tls_version, r->cipher, why);
}

/* 5. Each MX host, its addresses one after the other until one
 * answers: the session a sender would open. */
static void
smtp_host(struct check *c, const char *host, const char *helo)
{
	char err[MTASTS_ERRLEN] = "";
	struct mtasts_smtp_probe in;
	struct mtasts_smtp_result r;
	struct addrs a;
	size_t i;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	a.c = c;
	if (mtasts_addr_query(c->ctx, host, mx_on_addrs, &a, err,
	    sizeof(err)) != MTASTS_OK) {
		check_item(c, "smtp", host, V_FAIL, NULL, "%s: %s", host, err);
		return;
	}
	c->pending++;
	check_wait(c);
	if (a.n == 0) {
		check_item(c, "smtp", host, V_FAIL, NULL, "%s: no address: %s",
		    host, a.why);
		return;
	}
	memset(&in, 0, sizeof(in));
	in.host = host;
	in.port = c->port;
	in.timeout = c->timeout;
	in.ca_file = c->ca_file;
	in.helo = helo;
	for (i = 0; i < a.n && rc != 0; i++) {
		in.addr = a.v[i];
		rc = mtasts_smtp_probe(&in, &r);
		if (rc != 0 && r.stage > MTASTS_SMTP_ST_CONNECT)
			break;		/* it answered: that is the verdict */
	}
	smtp_item(c, host, in.addr, rc, &r);
}

void
check_smtp(struct check *c)
{
	char helo[MTASTS_DOMAIN_MAX + 1];
	size_t i;

	if (c->nmx == 0) {
		check_item(c, "smtp", NULL, V_SKIP, NULL, "no MX host to "
		    "connect to");
		return;
	}
	mtasts_smtp_helo_name(helo, sizeof(helo));
	for (i = 0; i < c->nmx; i++)
		smtp_host(c, c->mx[i], helo);
	if (c->nmx_all > c->nmx)
		check_item(c, "smtp", NULL, V_SKIP, NULL, "%zu more MX hosts "
		    "not examined (at most %d)", c->nmx_all - c->nmx,
		    CHECK_MX_MAX);
}

struct tlsa {
	struct check	*c;
	const char	*host;
};

static void
dane_on_tlsa(int status, const char *const *v, size_t n, const char *why,
    void *arg)
{
	struct tlsa *t = arg;
	struct check *c = t->c;
	json_t *o = json_object(), *rrs = json_array();
	size_t i;

	c->pending--;
	for (i = 0; i < n; i++)
		json_array_append_new(rrs, cli_jstr(v[i]));
	json_object_set_new(o, "tlsa", rrs);
	if (status == MTASTS_OK)
		check_item(c, "dane", t->host, V_PASS, o, "_25._tcp.%s: %zu "
		    "TLSA record%s (%s); presence only, the dnssec item "
		    "says if they count", t->host, n, n == 1 ? "" : "s",
		    v[0]);
	else if (status == MTASTS_ENORECORD)
		check_item(c, "dane", t->host, V_SKIP, o, "_25._tcp.%s: no "
		    "TLSA record (DANE not in use; informational)", t->host);
	else
		check_item(c, "dane", t->host, V_WARN, o, "_25._tcp.%s: %s",
		    t->host, why);
}

/* 8. The DNSSEC status of the TLSA records (dane_resolver) and what a
 * sender doing DANE and MTA-STS applies, from the decision itself:
 * RFC 8461 §2, DANE first. */
static void
apply_on_result(struct mtasts_result *res, void *arg)
{
	static const char *const why[] = {
		[MTASTS_APPLY_NONE] = "no enforce policy, no usable DANE",
		[MTASTS_APPLY_STS] = "enforce policy, no usable DANE",
		[MTASTS_APPLY_DANE] = "DANE is usable: MTA-STS must not "
		    "replace or weaken it (RFC 8461 section 2)",
		[MTASTS_APPLY_DEFER] = "the DANE lookup failed: senders "
		    "defer rather than fall back to MTA-STS",
	};
	struct check *c = arg;
	enum mtasts_dane d = mtasts_result_dane(res);
	enum mtasts_apply a = mtasts_result_apply(res);
	const char *name = mtasts_dane_name(d);

	c->pending--;
	if (d == MTASTS_DANE_UNCHECKED)
		check_item(c, "dnssec", NULL, V_SKIP, NULL, "DNSSEC status of "
		    "the TLSA records not checked: no dane_resolver in "
		    "mtasts.conf");
	else
		check_item(c, "dnssec", NULL, d == MTASTS_DANE_USABLE ? V_PASS :
		    d == MTASTS_DANE_TEMPORARY ? V_WARN : V_SKIP,
		    json_pack("{s:s}", "dane", name), "DANE %s: %s", name,
		    mtasts_result_dane_why(res));
	if (mtasts_result_status(res) != MTASTS_OK)
		check_item(c, "apply", NULL, V_WARN, json_pack("{s:s}",
		    "apply", "defer"), "no complete decision (%s): senders "
		    "defer", mtasts_strerror(mtasts_result_status(res)));
	else
		check_item(c, "apply", NULL, a == MTASTS_APPLY_DEFER ? V_WARN :
		    V_PASS, json_pack("{s:s}", "apply", mtasts_apply_name(a)),
		    "a sender doing DANE and MTA-STS applies %s%s: %s",
		    mtasts_apply_name(a), a == MTASTS_APPLY_DANE ||
		    a == MTASTS_APPLY_STS ? "" : " (its own TLS settings)",
		    why[a]);
	mtasts_result_free(res);
}

void
check_apply(struct check *c)
{
	char err[MTASTS_ERRLEN];

	if (mtasts_query(c->ctx, c->domain, MTASTS_Q_NOCACHE,
	    apply_on_result, c, err, sizeof(err)) == MTASTS_OK)
		c->pending++;
	else
		check_item(c, "apply", NULL, V_WARN, NULL, "%s", err);
	check_wait(c);
}

/* 7. DANE TLSA at _25._tcp.<mx> (RFC 7672 §2.2): presence only. */
void
check_dane(struct check *c)
{
	char err[MTASTS_ERRLEN];
	struct tlsa t[CHECK_MX_MAX];
	size_t i;

	for (i = 0; i < c->nmx; i++) {
		t[i].c = c;
		t[i].host = c->mx[i];
		if (mtasts_tlsa_query(c->ctx, c->mx[i], 25, dane_on_tlsa,
		    &t[i], err, sizeof(err)) == MTASTS_OK)
			c->pending++;
		else
			check_item(c, "dane", c->mx[i], V_WARN, NULL, "%s",
			    err);
	}
	check_wait(c);
}
