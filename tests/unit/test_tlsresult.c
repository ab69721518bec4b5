/*
 * test_tlsresult.c - TLS results for TLSRPT (RFC 8460 §4.3): counted per
 * day, domain, type, MX and address in the shared cache; every field
 * from the MTA is checked before it is stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtasts.h"
#include "ctx.h"

#include "tmpctx.h"

struct seen {
	char	 line[16][300];
	size_t	 n;
};

static int
collect(const char *day, const char *domain, const char *ptype,
    const char *pid, const char *type, const char *mx, const char *ip,
    uint64_t count, void *arg)
{
	struct seen *s = arg;

	assert_int_equal(strlen(day), 10);
	/* No policy in this test's cache (RFC 8460 §4.1 no-policy-found). */
	assert_string_equal(ptype, "no-policy-found");
	assert_string_equal(pid, "-");
	if (s->n < 16)
		snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %s %s %llu",
		    domain, type, mx, ip, (unsigned long long)count);
	return 0;
}

static void
test_count(void **state)
{
	char err[MTASTS_ERRLEN];
	struct seen s;

	(void)state;
	assert_int_equal(mtasts_tls_result(ctx, "Example.COM.", "success",
	    "MX1.example.com", "192.0.2.1", err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result(ctx, "example.com", "success",
	    "mx1.example.com.", "192.0.2.1", err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result(ctx, "example.com",
	    "certificate-host-mismatch", "mx2.example.com",
	    "2001:DB8:0::1", err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result(ctx, "example.com",
	    "starttls-not-supported", NULL, NULL, err, sizeof(err)),
	    MTASTS_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mtasts_tls_result_foreach(ctx, collect, &s),
	    MTASTS_OK);
	assert_int_equal(s.n, 3);
	/* Normalised names and addresses; one counter for two calls. */
	assert_string_equal(s.line[0], "example.com certificate-host-mismatch "
	    "mx2.example.com 2001:db8::1 1");
	assert_string_equal(s.line[1], "example.com starttls-not-supported "
	    "- - 1");
	assert_string_equal(s.line[2], "example.com success mx1.example.com "
	    "192.0.2.1 2");
}

/* Hostile input from the MTA: refused with a reason, nothing stored. */
static void
test_hostile(void **state)
{
	static const char *const bad[][4] = {
		{ "example.com", "succes", "mx.example.com", "192.0.2.1" },
		{ "example.com", "success", "mx.example.com", "192.0.2.256" },
		{ "example.com", "success", "mx.example.com", "192.0.2.1 x" },
		{ "example.com", "success", "mx example.com", "192.0.2.1" },
		{ "exa\tmple.com", "success", "mx.example.com", "192.0.2.1" },
		{ "", "success", "mx.example.com", "192.0.2.1" },
		{ "example.com", "", "mx.example.com", "192.0.2.1" },
		{ "example.com", "success", "mx.example.com\n", "::1" },
	};
	char err[MTASTS_ERRLEN], huge[5000];
	struct seen s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(mtasts_tls_result(ctx, bad[i][0], bad[i][1],
		    bad[i][2], bad[i][3], err, sizeof(err)), MTASTS_EPARSE);
		assert_true(err[0] != '\0');
	}
	memset(huge, 'a', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(mtasts_tls_result(ctx, huge, "success", NULL, NULL,
	    err, sizeof(err)), MTASTS_EPARSE);
	assert_int_equal(mtasts_tls_result(ctx, "example.com", "success",
	    huge, NULL, err, sizeof(err)), MTASTS_EPARSE);
	assert_int_equal(mtasts_tls_result(ctx, NULL, "success", NULL, NULL,
	    err, sizeof(err)), MTASTS_EPARSE);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mtasts_tls_result_foreach(ctx, collect, &s),
	    MTASTS_OK);
	assert_int_equal(s.n, 3);	/* only test_count's */
}

struct tally {
	size_t		 calls;
	size_t		 stop_at;	/* 0: never stop */
	uint64_t	 sum;
	char		 last[300];	/* keys come in order, each once */
	int		 unordered;
};

static int
tally(const char *day, const char *domain, const char *ptype,
    const char *pid, const char *type, const char *mx, const char *ip,
    uint64_t count, void *arg)
{
	struct tally *t = arg;
	char key[300];

	(void)day;
	(void)ptype;
	(void)pid;
	(void)type;
	snprintf(key, sizeof(key), "%s %s %s", domain, mx, ip);
	if (t->calls > 0 && strcmp(key, t->last) <= 0 &&
	    strncmp(domain, "bulk", 4) == 0)
		t->unordered = 1;
	snprintf(t->last, sizeof(t->last), "%s", key);
	t->calls++;
	t->sum += count;
	return t->stop_at != 0 && t->calls == t->stop_at;
}

/* More counters than the old one-list scan held (16384): the scan is
 * batched, each counter seen once, in key order, and fn can stop it. */
static void
test_many(void **state)
{
	char err[MTASTS_ERRLEN], d[64];
	struct tally t;
	unsigned i, n = 17000;

	(void)state;
	for (i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "bulk%05u.example", i);
		assert_int_equal(mtasts_tls_result(ctx, d, "success", NULL,
		    NULL, err, sizeof(err)), MTASTS_OK);
	}
	memset(&t, 0, sizeof(t));
	assert_int_equal(mtasts_tls_result_foreach(ctx, tally, &t),
	    MTASTS_OK);
	assert_int_equal(t.calls, n + 3);	/* and test_count's */
	assert_int_equal(t.sum, n + 4);
	assert_false(t.unordered);
	memset(&t, 0, sizeof(t));
	t.stop_at = 300;			/* past one batch */
	assert_int_equal(mtasts_tls_result_foreach(ctx, tally, &t),
	    MTASTS_OK);
	assert_int_equal(t.calls, 300);
}

struct exseen {
	char	 line[8][300];
	size_t	 n;
};

static int
excollect(const struct mtasts_tls_count *c, void *arg)
{
	struct exseen *s = arg;

	if (strcmp(c->domain, "ex.example") == 0 && s->n < 8)
		snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %s %s %s "
		    "%llu", c->result, c->mx, c->ip, c->sending_ip, c->helo,
		    (unsigned long long)c->count);
	return 0;
}

/* RFC 8460 §4.4 sending-mta-ip and receiving-mx-helo, where the MTA
 * knows them; the MX's HELO is the peer's word: dropped if it is not a
 * host name, never costing the result. */
static void
test_ex(void **state)
{
	char err[MTASTS_ERRLEN];
	struct exseen s;

	(void)state;
	assert_int_equal(mtasts_tls_result_ex(ctx, "ex.example",
	    "validation-failure", "mx.ex.example", "192.0.2.1", "198.51.100.7",
	    "MX.Ex.Example", err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_ex(ctx, "ex.example",
	    "validation-failure", "mx.ex.example", "192.0.2.1", "198.51.100.7",
	    "mx.ex.example.", err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_ex(ctx, "ex.example", "success",
	    NULL, NULL, NULL, "[192.0.2.1]", err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_ex(ctx, "ex.example", "success",
	    NULL, NULL, "", "a\r\nb", err, sizeof(err)), MTASTS_OK);
	err[0] = '\0';
	assert_int_equal(mtasts_tls_result_ex(ctx, "ex.example", "success",
	    NULL, NULL, "198.51.100.256", NULL, err, sizeof(err)),
	    MTASTS_EPARSE);
	assert_non_null(strstr(err, "sending address"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(mtasts_tls_count_foreach(ctx, excollect, &s),
	    MTASTS_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.line[0], "success - - - - 2");
	assert_string_equal(s.line[1], "validation-failure mx.ex.example "
	    "192.0.2.1 198.51.100.7 mx.ex.example 2");
}

static int
danecollect(const struct mtasts_tls_count *c, void *arg)
{
	struct exseen *s = arg;

	if (strcmp(c->domain, "dane.example") == 0 && s->n < 8)
		snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %s %s "
		    "%llu", c->policy_type, c->policy_id, c->result, c->mx,
		    (unsigned long long)c->count);
	return 0;
}

/* RFC 8461 §2: a DANE session applied the TLSA records, not a policy:
 * its results go under policy type "tlsa" (RFC 8460 §4.3.1), and so do
 * the DANE-only result types whoever records them. */
static void
test_tlsa(void **state)
{
	char err[MTASTS_ERRLEN];
	struct exseen s;

	(void)state;
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "dane.example",
	    "success", "mx.dane.example", "192.0.2.9", NULL, NULL, err,
	    sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "dane.example",
	    "validation-failure", "mx.dane.example", "192.0.2.9", NULL, NULL,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_ex(ctx, "dane.example",
	    "dnssec-invalid", "mx.dane.example", "192.0.2.9", NULL, NULL,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result(ctx, "dane.example",
	    "starttls-not-supported", "mx.dane.example", "192.0.2.9", err,
	    sizeof(err)), MTASTS_OK);
	err[0] = '\0';
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "dane.example",
	    "sts-policy-invalid", NULL, NULL, NULL, NULL, err, sizeof(err)),
	    MTASTS_EPARSE);
	assert_non_null(strstr(err, "not a DANE result"));
	memset(&s, 0, sizeof(s));
	assert_int_equal(mtasts_tls_count_foreach(ctx, danecollect, &s),
	    MTASTS_OK);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.line[0], "no-policy-found - "
	    "starttls-not-supported mx.dane.example 1");
	assert_string_equal(s.line[1], "tlsa - dnssec-invalid "
	    "mx.dane.example 1");
	assert_string_equal(s.line[2], "tlsa - success mx.dane.example 1");
	assert_string_equal(s.line[3], "tlsa - validation-failure "
	    "mx.dane.example 1");
}

static int
dane2collect(const struct mtasts_tls_count *c, void *arg)
{
	struct exseen *s = arg;

	if (strcmp(c->domain, "dane2.example") == 0 && s->n < 8)
		snprintf(s->line[s->n++], sizeof(s->line[0]), "%s %s %s %s",
		    c->policy_type, c->policy_id, c->result, c->mx);
	return 0;
}

/* RFC 8460 §4.4: a tlsa policy's policy-string is its TLSA records.
 * dane.c notes the RRset of each host it found usable; DANE results
 * for that host are counted under an id naming that RRset, whose text
 * the report quotes; a host with no note stays under "-". */
static void
test_tlsa_policy(void **state)
{
	char *v1[] = { "3 1 1 BB", "2 0 1 AA" }, *v2[] = { "2 0 1 AA",
	    "3 1 1 BB" }, *v3[] = { "3 1 1 CC" };
	char err[MTASTS_ERRLEN], id[64], *text;
	struct exseen s;
	size_t len, i;

	(void)state;
	tlsresult_tlsa_note(ctx, "dane2.example", "mx.dane2.example", v1, 2);
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "dane2.example",
	    "success", "mx.dane2.example", "192.0.2.9", NULL, NULL, err,
	    sizeof(err)), MTASTS_OK);
	/* The same RRset in another order: the same policy. */
	tlsresult_tlsa_note(ctx, "dane2.example", "mx.dane2.example", v2, 2);
	assert_int_equal(mtasts_tls_result_ex(ctx, "dane2.example",
	    "tlsa-invalid", "mx.dane2.example", "192.0.2.9", NULL, NULL, err,
	    sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "dane2.example",
	    "success", "mx2.dane2.example", "192.0.2.10", NULL, NULL, err,
	    sizeof(err)), MTASTS_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mtasts_tls_count_foreach(ctx, dane2collect, &s),
	    MTASTS_OK);
	assert_int_equal(s.n, 3);
	/* SHA-256("2 0 1 AA\n3 1 1 BB"), first 8 octets. */
	assert_string_equal(s.line[0], "tlsa - success mx2.dane2.example");
	assert_string_equal(s.line[1], "tlsa tlsa-b33b5e1abeeeb9d5 success "
	    "mx.dane2.example");
	assert_string_equal(s.line[2], "tlsa tlsa-b33b5e1abeeeb9d5 "
	    "tlsa-invalid mx.dane2.example");
	assert_int_equal(mtasts_tls_policy_text(ctx, "dane2.example",
	    "tlsa-b33b5e1abeeeb9d5", &text, &len), MTASTS_OK);
	assert_int_equal(len, 17);
	assert_memory_equal(text, "2 0 1 AA\n3 1 1 BB", 17);
	free(text);
	/* A key rollover: a new RRset, a new policy; the old text stays
	 * for the results already counted under it. */
	tlsresult_tlsa_note(ctx, "dane2.example", "mx.dane2.example", v3, 1);
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "dane2.example",
	    "success", "mx.dane2.example", "192.0.2.9", NULL, NULL, err,
	    sizeof(err)), MTASTS_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mtasts_tls_count_foreach(ctx, dane2collect, &s),
	    MTASTS_OK);
	assert_int_equal(s.n, 4);
	for (i = 0; i < s.n; i++)
		if (strncmp(s.line[i], "tlsa tlsa-", 10) == 0 &&
		    strncmp(s.line[i] + 5, "tlsa-b33b5e1abeeeb9d5", 21) != 0)
			break;
	assert_true(i < s.n);
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(s.line[i] + 5, " "),
	    s.line[i] + 5);
	assert_int_equal(strlen(id), 21);
	assert_string_equal(s.line[i] + 27, "success mx.dane2.example");
	assert_int_equal(mtasts_tls_policy_text(ctx, "dane2.example", id,
	    &text, &len), MTASTS_OK);
	assert_memory_equal(text, "3 1 1 CC", len);
	free(text);
	assert_int_equal(mtasts_tls_policy_text(ctx, "dane2.example",
	    "tlsa-b33b5e1abeeeb9d5", &text, &len), MTASTS_OK);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_ex),
		cmocka_unit_test(test_tlsa),
		cmocka_unit_test(test_tlsa_policy),
	};

	return cmocka_run_group_tests(tests, tmpctx_setup, tmpctx_teardown);
}
