/*
 * tlsrpt_json.c - RFC 8460 §4 aggregate reports from the TLS result
 * counters: one report per policy domain and UTC day, each policy the
 * results were met under with its summary and failure details.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtasts.h>

#include "cli.h"

struct tlsrpt_walk {
	const char	*date;
	json_t		*domains;	/* domain -> "type\tid" -> tally */
};

/* tally = {"ok": n, "fail": n, "fd": {"result\tmx\tip": n}} */
static json_t *
tlsrpt_tally(json_t *domains, const char *domain, const char *ptype,
    const char *pid)
{
	char key[128];
	json_t *d, *t;

	if ((d = json_object_get(domains, domain)) == NULL) {
		d = json_object();
		json_object_set_new(domains, domain, d);
	}
	snprintf(key, sizeof(key), "%s\t%s", ptype, pid);
	if ((t = json_object_get(d, key)) == NULL) {
		t = json_pack("{s:I,s:I,s:{}}", "ok", (json_int_t)0, "fail",
		    (json_int_t)0, "fd");
		json_object_set_new(d, key, t);
	}
	return t;
}

static void
tlsrpt_add(json_t *obj, const char *key, uint64_t n)
{
	json_t *v = json_object_get(obj, key);
	json_int_t have = v != NULL ? json_integer_value(v) : 0;

	json_object_set_new(obj, key, json_integer(have + (json_int_t)n));
}

static int
tlsrpt_on_count(const struct mtasts_tls_count *c, void *arg)
{
	struct tlsrpt_walk *w = arg;
	char key[1100];
	json_t *t;

	if (strcmp(c->day, w->date) != 0)
		return 0;
	t = tlsrpt_tally(w->domains, c->domain, c->policy_type,
	    c->policy_id);
	if (strcmp(c->result, "success") == 0) {
		tlsrpt_add(t, "ok", c->count);
		return 0;
	}
	tlsrpt_add(t, "fail", c->count);
	snprintf(key, sizeof(key), "%s\t%s\t%s\t%s\t%s", c->result, c->mx,
	    c->ip, c->sending_ip, c->helo);
	tlsrpt_add(json_object_get(t, "fd"), key, c->count);
	return 0;
}

/* The policy as RFC 8460 §4.5 quotes it: its lines, and for "sts" its
 * mx patterns as an array (D18).  A "tlsa" policy has lines (its TLSA
 * RRs, §4.3.1) when the MTA named them (mtasts-tlsrptd). */
static json_t *
tlsrpt_policy(struct mtasts_ctx *ctx, const char *domain, const char *ptype,
    const char *pid)
{
	struct mtasts_policy *pol;
	json_t *p, *lines, *mx;
	char *text, *s, *e;
	size_t len, i;

	p = json_pack("{s:s,s:s}", "policy-type", ptype, "policy-domain",
	    domain);
	if (strcmp(ptype, "no-policy-found") == 0 ||
	    mtasts_tls_policy_text(ctx, domain, pid, &text, &len) != MTASTS_OK)
		return p;
	lines = json_array();
	for (s = text; s < text + len; s = e + 1) {
		if ((e = memchr(s, '\n', (size_t)(text + len - s))) == NULL)
			e = text + len;
		json_array_append_new(lines, json_stringn(s, (size_t)(e - s -
		    (e > s && e[-1] == '\r'))));
	}
	json_object_set_new(p, "policy-string", lines);
	if (strcmp(ptype, "sts") == 0 &&
	    mtasts_policy_parse(text, len, &pol, NULL, 0) == MTASTS_OK) {
		mx = json_array();
		for (i = 0; i < mtasts_policy_mx_count(pol); i++)
			json_array_append_new(mx,
			    json_string(mtasts_policy_mx(pol, i)));
		json_object_set_new(p, "mx-host", mx);
		mtasts_policy_free(pol);
	}
	free(text);
	return p;
}

/* RFC 8460 §4.4 failure-details; unknown fields ("-") left out. */
static json_t *
tlsrpt_failures(json_t *fd)
{
	static const char *const names[] = { "receiving-mx-hostname",
	    "receiving-ip", "sending-mta-ip", "receiving-mx-helo" };
	char buf[1100], *f[5], *p;
	const char *key;
	json_t *arr = json_array(), *v, *o;
	int i;

	json_object_foreach(fd, key, v) {
		snprintf(buf, sizeof(buf), "%s", key);
		for (p = buf, i = 0; i < 5 && p != NULL; i++) {
			f[i] = p;
			if ((p = strchr(p, '\t')) != NULL)
				*p++ = '\0';
		}
		if (i != 5)
			continue;
		o = json_pack("{s:s,s:O}", "result-type", f[0],
		    "failed-session-count", v);
		for (i = 1; i < 5; i++)
			if (strcmp(f[i], "-") != 0)
				json_object_set_new(o, names[i - 1],
				    json_string(f[i]));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *
tlsrpt_report(struct mtasts_ctx *ctx, const struct tlsrpt_meta *m,
    const char *domain, json_t *policies)
{
	char start[32], end[32], id[400], ptype[32], *tab;
	const char *key;
	json_t *r, *arr = json_array(), *t;

	json_object_foreach(policies, key, t) {
		snprintf(ptype, sizeof(ptype), "%s", key);
		if ((tab = strchr(ptype, '\t')) != NULL)
			*tab = '\0';
		json_array_append_new(arr, json_pack("{s:o,s:{s:O,s:O},s:o}",
		    "policy", tlsrpt_policy(ctx, domain, ptype,
		    strchr(key, '\t') ? strchr(key, '\t') + 1 : "-"),
		    "summary", "total-successful-session-count",
		    json_object_get(t, "ok"), "total-failure-session-count",
		    json_object_get(t, "fail"), "failure-details",
		    tlsrpt_failures(json_object_get(t, "fd"))));
	}
	snprintf(start, sizeof(start), "%sT00:00:00Z", m->date);
	snprintf(end, sizeof(end), "%sT23:59:59Z", m->date);
	/* D21: an RFC 5322 msg-id without brackets and without ':'. */
	snprintf(id, sizeof(id), "%.4s%.2s%.2s.%s@%s", m->date, m->date + 5,
	    m->date + 8, domain, m->submitter);
	r = json_pack("{s:s,s:{s:s,s:s},s:s,s:s,s:o}",
	    "organization-name", m->org, "date-range", "start-datetime", start,
	    "end-datetime", end, "contact-info", m->contact, "report-id", id,
	    "policies", arr);
	return r;
}

/* {domain: report} for m->date: every domain with results that day. */
json_t *
tlsrpt_reports(struct mtasts_ctx *ctx, const struct tlsrpt_meta *m)
{
	struct tlsrpt_walk w = { m->date, json_object() };
	json_t *out, *v;
	const char *domain;

	if (mtasts_tls_count_foreach(ctx, tlsrpt_on_count, &w) !=
	    MTASTS_OK) {
		json_decref(w.domains);
		return NULL;
	}
	out = json_object();
	json_object_foreach(w.domains, domain, v)
		json_object_set_new(out, domain, tlsrpt_report(ctx, m, domain,
		    v));
	json_decref(w.domains);
	return out;
}
