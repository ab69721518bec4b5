/*
 * check.c - mtasts check DOMAIN: is this domain's MTA-STS deployment
 * right?  For domain owners and senders alike: the _mta-sts record
 * (RFC 8461 §3.1), the policy fetch with every §3.3 rule, the policy
 * itself (§3.2), the MX hosts against it (§4.1), each MX over SMTP with
 * STARTTLS (§4.2, check_mx.c), the TLSRPT record (RFC 8460 §3), DANE
 * TLSA presence, their DNSSEC status (with dane_resolver) and what a
 * sender doing both applies (RFC 8461 §2).  One verdict per item; exit
 * 0 only when no item fails.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli.h"
#include "check.h"

const char usage_check[] =
    "usage: mtasts [-c FILE] [-v] check [--json] [--port N] DOMAIN\n"
    "Checks DOMAIN's MTA-STS deployment: _mta-sts record, policy fetch,\n"
    "policy, MX hosts, STARTTLS and certificates of each MX, TLSRPT\n"
    "record, DANE TLSA presence and DNSSEC status, the policy a sender\n"
    "applies.  Exit status: 0 no item failed, 1 some item failed, 2\n"
    "usage or configuration error.\n";

static const char *const verdict_names[] = { "pass", "warn", "fail",
    "skip" };

void
check_item(struct check *c, const char *name, const char *host,
    enum check_verdict v, json_t *extra, const char *fmt, ...)
{
	char reason[CHECK_REASON_MAX];
	json_t *o = extra != NULL ? extra : json_object();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	c->count[v]++;
	json_object_set_new(o, "check", cli_jstr(name));
	if (host != NULL)
		json_object_set_new(o, "host", cli_jstr(host));
	json_object_set_new(o, "verdict", cli_jstr(verdict_names[v]));
	json_object_set_new(o, "reason", cli_jstr(reason));
	json_array_append_new(c->items, o);
	if (!c->json) {
		printf("%-4s  %-6s  %s\n", verdict_names[v], name, reason);
		fflush(stdout);
	}
}

void
check_wait(struct check *c)
{
	/* Every look-up has its own timer (dns_timeout, fetch_timeout):
	 * each callback comes, so this loop ends. */
	while (c->pending > 0)
		if (event_base_loop(c->base, EVLOOP_ONCE) != 0)
			break;
}

/* An RRset as JSON strings (they may hold anything). */
static json_t *
rrs_json(const struct mtasts_rr *rrs, size_t n)
{
	json_t *a = json_array();
	char q[600];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(q, sizeof(q), "%.*s", (int)(rrs[i].len < 512 ?
		    rrs[i].len : 512), rrs[i].data);
		json_array_append_new(a, cli_jstr(q));
	}
	return a;
}

/* 1. _mta-sts TXT (RFC 8461 §3.1, D2: exactly one STS record) */
static void
record_on_txt(int status, const struct mtasts_rr *rrs, size_t n,
    const char *why, void *arg)
{
	struct check *c = arg;
	char id[MTASTS_ID_MAX + 1], err[MTASTS_ERRLEN] = "";
	json_t *o = json_object();

	c->pending--;
	json_object_set_new(o, "records", rrs_json(rrs, n));
	if (status == MTASTS_ENORECORD)
		check_item(c, "record", NULL, V_FAIL, o, "_mta-sts.%s: no TXT "
		    "record (%s): senders see no MTA-STS policy", c->domain,
		    why);
	else if (status != MTASTS_OK)
		check_item(c, "record", NULL, V_FAIL, o, "_mta-sts.%s: %s",
		    c->domain, why);
	else if (mtasts_record_select(rrs, n, id, err, sizeof(err)) !=
	    MTASTS_OK)
		check_item(c, "record", NULL, V_FAIL, o, "_mta-sts.%s: %s",
		    c->domain, err);
	else {
		json_object_set_new(o, "id", cli_jstr(id));
		check_item(c, "record", NULL, V_PASS, o, "_mta-sts.%s: "
		    "v=STSv1, id %s", c->domain, id);
	}
}

/* 2. the fetch, with every §3.3 rule (core/fetch.c) */
static void
policy_on_fetch(int status, const char *body, size_t len, const char *type,
    const char *why, void *arg)
{
	struct check *c = arg;
	json_t *o = json_object();

	c->pending--;
	json_object_set_new(o, "url", json_sprintf("https://mta-sts.%s"
	    "/.well-known/mta-sts.txt", c->domain));
	if (status != MTASTS_OK) {
		json_object_set_new(o, "type", cli_jstr(type));
		check_item(c, "policy", NULL, V_FAIL, o, "https://mta-sts.%s"
		    "/.well-known/mta-sts.txt: %s [%s]", c->domain, why, type);
		return;
	}
	if ((c->body = malloc(len + 1)) == NULL) {
		fprintf(stderr, "mtasts: out of memory\n");
		exit(EXIT_USAGE);
	}
	memcpy(c->body, body, len);
	c->body_len = len;
	json_object_set_new(o, "bytes", json_integer((json_int_t)len));
	check_item(c, "policy", NULL, V_PASS, o, "https://mta-sts.%s"
	    "/.well-known/mta-sts.txt: 200, text/plain, %zu bytes, "
	    "certificate valid for mta-sts.%s", c->domain, len, c->domain);
}

/* 3. the policy's content (§3.2) */
static void
check_lint(struct check *c)
{
	char err[MTASTS_ERRLEN] = "", extra[160] = "";
	json_t *o, *mx, *w;
	uint32_t age;
	size_t i, nw;
	enum mtasts_mode mode;

	if (c->body == NULL) {
		check_item(c, "lint", NULL, V_SKIP, NULL, "no policy fetched");
		return;
	}
	if (mtasts_policy_parse(c->body, c->body_len, &c->pol, err,
	    sizeof(err)) != MTASTS_OK) {
		check_item(c, "lint", NULL, V_FAIL, NULL, "policy invalid "
		    "[sts-policy-invalid]: %s", err);
		return;
	}
	o = json_object();
	mx = json_array();
	w = json_array();
	mode = mtasts_policy_mode(c->pol);
	age = mtasts_policy_max_age(c->pol);
	for (i = 0; i < mtasts_policy_mx_count(c->pol); i++)
		json_array_append_new(mx, cli_jstr(mtasts_policy_mx(c->pol, i)));
	nw = mtasts_policy_warning_count(c->pol);
	for (i = 0; i < nw; i++)
		json_array_append_new(w,
		    cli_jstr(mtasts_policy_warning(c->pol, i)));
	/* §3.2: max_age "in the range of weeks or greater". */
	if (age < 7 * 86400) {
		json_array_append_new(w, json_sprintf("max_age %u is under "
		    "a week", age));
		snprintf(extra, sizeof(extra), "; max_age under a week "
		    "(RFC 8461 §3.2 expects weeks or more)");
	} else if (mode == MTASTS_MODE_NONE)
		snprintf(extra, sizeof(extra), "; mode none: senders apply "
		    "no MTA-STS");
	else if (nw > 0)
		snprintf(extra, sizeof(extra), "; %s",
		    mtasts_policy_warning(c->pol, 0));
	json_object_set_new(o, "mode", cli_jstr(mtasts_mode_name(mode)));
	json_object_set_new(o, "max_age", json_integer((json_int_t)age));
	json_object_set_new(o, "mx", mx);
	json_object_set_new(o, "warnings", w);
	check_item(c, "lint", NULL, json_array_size(w) > 0 ||
	    mode == MTASTS_MODE_NONE ? V_WARN : V_PASS, o, "mode %s, "
	    "max_age %u (%u days), %zu mx pattern%s%s",
	    mtasts_mode_name(mode), age, age / 86400,
	    mtasts_policy_mx_count(c->pol),
	    mtasts_policy_mx_count(c->pol) == 1 ? "" : "s", extra);
}

/* 6. _smtp._tls TXT (RFC 8460 §3): optional, but without it nobody
 * hears about failures. */
static void
tlsrpt_on_txt(int status, const struct mtasts_rr *rrs, size_t n,
    const char *why, void *arg)
{
	struct check *c = arg;
	char err[MTASTS_ERRLEN] = "";
	struct mtasts_tlsrpt *t;
	json_t *o = json_object(), *rua = json_array();
	size_t i;

	c->pending--;
	json_object_set_new(o, "records", rrs_json(rrs, n));
	if (status == MTASTS_ENORECORD) {
		json_decref(rua);
		check_item(c, "tlsrpt", NULL, V_WARN, o, "_smtp._tls.%s: no "
		    "TLSRPT record (%s): failures will not be reported "
		    "(RFC 8460)", c->domain, why);
		return;
	}
	if (status != MTASTS_OK || mtasts_tlsrpt_select(rrs, n, &t, err,
	    sizeof(err)) != MTASTS_OK) {
		json_decref(rua);
		check_item(c, "tlsrpt", NULL, V_FAIL, o, "_smtp._tls.%s: %s",
		    c->domain, status != MTASTS_OK ? why : err);
		return;
	}
	for (i = 0; i < mtasts_tlsrpt_rua_count(t); i++)
		json_array_append_new(rua, cli_jstr(mtasts_tlsrpt_rua(t, i)));
	json_object_set_new(o, "rua", rua);
	check_item(c, "tlsrpt", NULL, mtasts_tlsrpt_warning_count(t) > 0 ?
	    V_WARN : V_PASS, o, "_smtp._tls.%s: v=TLSRPTv1, rua %s%s%s",
	    c->domain, mtasts_tlsrpt_rua(t, 0),
	    mtasts_tlsrpt_warning_count(t) > 0 ? "; " : "",
	    mtasts_tlsrpt_warning_count(t) > 0 ?
	    mtasts_tlsrpt_warning(t, 0) : "");
	mtasts_tlsrpt_free(t);
}

static void
check_start_fail(struct check *c, const char *name, const char *err)
{
	check_item(c, name, NULL, V_FAIL, NULL, "%s", err);
}

static void
check_run(struct check *c)
{
	char err[MTASTS_ERRLEN] = "";

	if (mtasts_txt_query(c->ctx, "_mta-sts", c->domain, record_on_txt, c,
	    err, sizeof(err)) == MTASTS_OK)
		c->pending++;
	else
		check_start_fail(c, "record", err);
	check_wait(c);
	if (mtasts_policy_fetch(c->ctx, c->domain, policy_on_fetch, c, err,
	    sizeof(err)) == MTASTS_OK)
		c->pending++;
	else
		check_start_fail(c, "policy", err);
	check_wait(c);
	check_lint(c);
	check_mx(c);
	check_smtp(c);
	if (mtasts_txt_query(c->ctx, "_smtp._tls", c->domain, tlsrpt_on_txt,
	    c, err, sizeof(err)) == MTASTS_OK)
		c->pending++;
	else
		check_start_fail(c, "tlsrpt", err);
	check_wait(c);
	check_dane(c);
	check_apply(c);
}

static int
check_setup(struct check *c, const struct cli_global *g, char *err,
    size_t errlen)
{
	char t[32];

	if (cli_config_value(g, "ca_file", c->ca_file, sizeof(c->ca_file))
	    != 0 || cli_config_value(g, "connect_timeout", t, sizeof(t)) !=
	    0) {
		snprintf(err, errlen, "configuration: no ca_file or "
		    "connect_timeout");
		return -1;
	}
	c->timeout = (unsigned int)strtoul(t, NULL, 10);	/* "5s" */
	if (c->timeout == 0)
		c->timeout = 5;
	if ((c->base = event_base_new()) == NULL ||
	    (c->items = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return mtasts_ctx_new(c->base, g->cfg, MTASTS_CTX_NOCACHE, &c->ctx,
	    err, errlen) == MTASTS_OK ? 0 : -1;
}

static void
check_free(struct check *c)
{
	size_t i;

	mtasts_ctx_free(c->ctx);
	if (c->base != NULL)
		event_base_free(c->base);
	mtasts_policy_free(c->pol);
	for (i = 0; i < c->nmx; i++)
		free(c->mx[i]);
	free(c->body);
	json_decref(c->items);
}

static int
check_report(struct check *c)
{
	json_t *o;

	if (c->json) {
		o = json_object();
		json_object_set_new(o, "domain", cli_jstr(c->domain));
		json_object_set_new(o, "ok", json_boolean(c->count[V_FAIL] ==
		    0));
		json_object_set_new(o, "counts", json_pack("{s:i,s:i,s:i,s:i}",
		    "pass", c->count[V_PASS], "warn", c->count[V_WARN], "fail",
		    c->count[V_FAIL], "skip", c->count[V_SKIP]));
		json_object_set_new(o, "items", json_incref(c->items));
		cli_json_print(o);
	} else
		printf("%s: %u passed, %u warnings, %u failed, %u skipped\n",
		    c->domain, c->count[V_PASS], c->count[V_WARN],
		    c->count[V_FAIL], c->count[V_SKIP]);
	return c->count[V_FAIL] == 0 ? EXIT_VALID : EXIT_INVALID;
}

int
cmd_check(const struct cli_global *g, int argc, char **argv)
{
	char err[MTASTS_ERRLEN] = "";
	struct check c;
	struct cli_args a;
	int r;

	memset(&c, 0, sizeof(c));
	if (cli_parse_args(argc, argv, CLI_OPT_PORT, &a) != 0) {
		free(a.pos);
		return cli_usage_error(usage_check, "bad arguments");
	}
	if (a.help) {
		free(a.pos);
		fputs(usage_check, stdout);
		return EXIT_VALID;
	}
	r = a.npos != 1 ? -1 : mtasts_domain_normalize(a.pos[0],
	    strlen(a.pos[0]), c.domain, sizeof(c.domain), err, sizeof(err));
	free(a.pos);
	if (r == -1)
		return cli_usage_error(usage_check, "check needs one DOMAIN");
	if (r != MTASTS_OK)
		return cli_usage_error(usage_check, "%s", err);
	c.json = a.json;
	c.port = a.port != 0 ? (unsigned int)a.port : 25;
	/* A server that closes early must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	if (check_setup(&c, g, err, sizeof(err)) != 0) {
		fprintf(stderr, "mtasts: %s\n", err);
		check_free(&c);
		return EXIT_USAGE;
	}
	if (!c.json)
		printf("mtasts check %s\n", c.domain);
	check_run(&c);
	r = check_report(&c);
	check_free(&c);
	return r;
}
