/*
 * test_tlsresult_add.c - mtasts_tls_result_add(): sessions counted
 * under the policy the MTA names (Postfix through libtlsrpt), with
 * that policy's text kept for the report (RFC 8460 §4.3
 * policy-string), and every field checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"
#include "util.h"

#include "tmpctx.h"

struct seen {
	char	 line[16][400];
	size_t	 n;
};

static int
collect(const struct mtasts_tls_count *c, void *arg)
{
	struct seen *s = arg;

	if (s->n < 16)
		snprintf(s->line[s->n++], sizeof(s->line[0]),
		    "%s %s %s %s %s %s %s %s %llu", c->domain,
		    c->policy_type, c->policy_id, c->result, c->mx, c->ip,
		    c->sending_ip, c->helo, (unsigned long long)c->count);
	return 0;
}

static void
walk(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(mtasts_tls_count_foreach(ctx, collect, s),
	    MTASTS_OK);
}

static void
clear(void)
{
	uint64_t removed;

	assert_int_equal(mtasts_tls_result_purge(ctx, "2999-01-01",
	    &removed), MTASTS_OK);
}

static const char sts_text[] = "version: STSv1\nmode: enforce\n"
    "mx: mx.example.com\nmax_age: 86400";

static struct mtasts_tls_tally
tally(const char *domain, const char *ptype, const char *text,
    const char *result, uint64_t count)
{
	struct mtasts_tls_tally t;

	memset(&t, 0, sizeof(t));
	t.domain = domain;
	t.policy_type = ptype;
	t.policy_text = text;
	t.policy_len = text != NULL ? strlen(text) : 0;
	t.result = result;
	t.count = count;
	return t;
}

/* sts: an id made from the text when the cache has no policy; the
 * text kept; counts added; every field normalised. */
static void
test_sts_own_text(void **state)
{
	struct mtasts_tls_tally t;
	char err[MTASTS_ERRLEN], *text;
	struct seen s;
	size_t len;

	(void)state;
	clear();
	t = tally("Example.COM.", "sts", sts_text, "success", 1000);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	t = tally("example.com", "sts", sts_text, "certificate-expired", 3);
	t.mx = "MX.example.com.";
	t.ip = "2001:DB8::0:1";
	t.sending_ip = "192.0.2.1";
	t.helo = "mx.example.com";
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	walk(&s);
	assert_int_equal(s.n, 2);
	/* 32 hex digits of SHA-256("version: STSv1\n...max_age: 86400") */
	assert_int_equal(strlen(strchr(strchr(s.line[0], ' ') + 1, ' ') + 1) >
	    32, 1);
	assert_non_null(strstr(s.line[0], " certificate-expired "
	    "mx.example.com 2001:db8::1 192.0.2.1 mx.example.com 3"));
	assert_non_null(strstr(s.line[1], " success - - - - 2000"));
	assert_memory_equal(s.line[0], "example.com sts ", 16);
	/* The same id for the same text, and the text is there. */
	assert_memory_equal(s.line[0], s.line[1], 16 + 32);
	s.line[0][16 + 32] = '\0';
	assert_int_equal(mtasts_tls_policy_text(ctx, "example.com",
	    s.line[0] + 16, &text, &len), MTASTS_OK);
	assert_int_equal(len, strlen(sts_text));
	assert_memory_equal(text, sts_text, len);
	free(text);
}

/* sts: the cache's id when it holds the same text (its CRLF lines and
 * final newline do not matter), another id for another text. */
static void
test_sts_cache_id(void **state)
{
	static char cached[] = "version: STSv1\r\nmode: enforce\r\n"
	    "mx: mx.example.com\r\nmax_age: 86400\r\n";
	static char mx[] = "mx.example.com";
	static char *mxv[] = { mx };
	struct mtasts_tls_tally t;
	char err[MTASTS_ERRLEN];
	struct cache_entry e;
	struct seen s;

	(void)state;
	clear();
	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "cached.example");
	snprintf(e.id, sizeof(e.id), "20261202");
	e.text = cached;
	e.text_len = strlen(cached);
	e.mode = MTASTS_MODE_ENFORCE;
	e.mx = mxv;
	e.nmx = 1;
	e.max_age = 86400;
	e.fetched_at = time(NULL);
	e.expires_at = e.fetched_at + 86400;
	assert_int_equal(cache_put(ctx->cache, &e), MTASTS_OK);
	t = tally("cached.example", "sts", sts_text, "success", 1);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	t = tally("cached.example", "sts", "version: STSv1\nmode: testing",
	    "success", 1);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	/* No text: the cache's policy. */
	t = tally("cached.example", "sts", NULL, "sts-policy-invalid", 1);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	walk(&s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.line[0], "cached.example sts 20261202 "
	    "sts-policy-invalid - - - - 1");
	assert_string_equal(s.line[1], "cached.example sts 20261202 "
	    "success - - - - 1");
	assert_memory_equal(s.line[2], "cached.example sts ", 19);
	assert_null(strstr(s.line[2], "20261202"));
}

/* tlsa with its TLSA RRs as text, in any order, without; no-policy-found
 * ignores a text.  One RRset is one policy, named as dane.c names the
 * RRsets it checks: "tlsa-" and 16 hex digits of the sorted records. */
static void
test_tlsa_none(void **state)
{
	struct mtasts_tls_tally t;
	char err[MTASTS_ERRLEN], *text;
	struct seen s;
	size_t len, i;

	(void)state;
	clear();
	t = tally("dane.example", "tlsa", "3 1 1 EF01\n3 1 1 ABCD",
	    "tlsa-invalid", 1);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	t = tally("dane.example", "tlsa", "3 1 1 ABCD\n3 1 1 EF01",
	    "tlsa-invalid", 1);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	t = tally("dane.example", "tlsa", NULL, "success", 2);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	t = tally("none.example", "no-policy-found", "ignored",
	    "starttls-not-supported", 1);
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	walk(&s);
	assert_int_equal(s.n, 3);
	/* "-" sorts first. */
	assert_string_equal(s.line[0], "dane.example tlsa - success "
	    "- - - - 2");
	assert_memory_equal(s.line[1] + 18, "tlsa-", 5);
	for (i = 0; i < 16; i++)
		assert_non_null(strchr("0123456789abcdef", s.line[1][23 + i]));
	assert_string_equal(s.line[1] + 18 + 21, " tlsa-invalid - - - - 2");
	assert_string_equal(s.line[2], "none.example no-policy-found - "
	    "starttls-not-supported - - - - 1");
	s.line[1][18 + 21] = '\0';
	assert_int_equal(mtasts_tls_policy_text(ctx, "dane.example",
	    s.line[1] + 18, &text, &len), MTASTS_OK);
	assert_int_equal(len, 21);
	assert_memory_equal(text, "3 1 1 ABCD\n3 1 1 EF01", 21);
	free(text);
}

/* Hostile fields: refused with a reason, nothing counted. */
static void
test_hostile(void **state)
{
	static const struct {
		const char	*domain, *ptype, *text, *result, *mx, *ip,
				*sip;
		uint64_t	 count;
		int		 status;
		const char	*why;
	} bad[] = {
		{ "-x.example", "sts", NULL, "success", NULL, NULL, NULL, 1,
		    MTASTS_EPARSE, "" },
		{ "x.example", "dane", NULL, "success", NULL, NULL, NULL, 1,
		    MTASTS_EPARSE, "unknown policy type" },
		{ "x.example", "sts", NULL, "succes", NULL, NULL, NULL, 1,
		    MTASTS_EPARSE, "unknown TLS result type" },
		{ "x.example", "tlsa", NULL, "sts-webpki-invalid", NULL,
		    NULL, NULL, 1, MTASTS_EPARSE, "not a result of policy" },
		{ "x.example", "no-policy-found", NULL, "sts-policy-invalid",
		    NULL, NULL, NULL, 1, MTASTS_EPARSE, "not a result" },
		{ "x.example", "sts", NULL, "dane-required", NULL, NULL,
		    NULL, 1, MTASTS_EPARSE, "not a result of policy type" },
		{ "x.example", "sts", NULL, "success", "mx..example", NULL,
		    NULL, 1, MTASTS_EPARSE, "" },
		{ "x.example", "sts", NULL, "success", NULL, "1.2.3", NULL, 1,
		    MTASTS_EPARSE, "MX address" },
		{ "x.example", "sts", NULL, "success", NULL, NULL, "::g", 1,
		    MTASTS_EPARSE, "sending address" },
		{ "x.example", "sts", "mode: \001", "success", NULL, NULL,
		    NULL, 1, MTASTS_EPARSE, "printable UTF-8" },
		{ "x.example", "sts", "mode: \r", "success", NULL, NULL,
		    NULL, 1, MTASTS_EPARSE, "printable UTF-8" },
		{ "x.example", "sts", "mode: \xc3\x28", "success", NULL, NULL,
		    NULL, 1, MTASTS_EPARSE, "printable UTF-8" },
		{ "x.example", "sts", NULL, "success", NULL, NULL, NULL, 0,
		    MTASTS_EINVAL, "no session" },
	};
	struct mtasts_tls_tally t;
	char err[MTASTS_ERRLEN], *big;
	struct seen s;
	size_t i;

	(void)state;
	clear();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = tally(bad[i].domain, bad[i].ptype, bad[i].text,
		    bad[i].result, bad[i].count);
		t.mx = bad[i].mx;
		t.ip = bad[i].ip;
		t.sending_ip = bad[i].sip;
		err[0] = '\0';
		assert_int_equal(mtasts_tls_result_add(ctx, &t, err,
		    sizeof(err)), bad[i].status);
		assert_non_null(strstr(err, bad[i].why));
	}
	/* A text over MTASTS_POLICY_MAX; a NUL inside one. */
	assert_non_null(big = malloc(MTASTS_POLICY_MAX + 1));
	memset(big, 'a', MTASTS_POLICY_MAX + 1);
	t = tally("x.example", "sts", NULL, "success", 1);
	t.policy_text = big;
	t.policy_len = MTASTS_POLICY_MAX + 1;
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_EPARSE);
	big[5] = '\0';
	t.policy_len = 10;
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_EPARSE);
	free(big);
	assert_int_equal(mtasts_tls_result_add(ctx, NULL, err, sizeof(err)),
	    MTASTS_EINVAL);
	walk(&s);
	assert_int_equal(s.n, 0);
	/* A helo that is not a host name is dropped, not the session. */
	t = tally("x.example", "sts", NULL, "success", 1);
	t.helo = "[192.0.2.1]";
	assert_int_equal(mtasts_tls_result_add(ctx, &t, err, sizeof(err)),
	    MTASTS_OK);
	walk(&s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.line[0], "x.example sts - success - - - - 1");
}

#ifdef MTASTS_ALLOC_TEST
/* Each allocation fails once in turn: the call fails without counting
 * (a caller that tries again counts the sessions once), until it
 * succeeds.  LeakSanitizer checks nothing leaks on the way. */
static void
test_alloc_fail(void **state)
{
	struct mtasts_tls_tally t;
	char err[MTASTS_ERRLEN];
	struct seen s;
	unsigned long n;
	int r = MTASTS_ENOMEM;

	(void)state;
	clear();
	/* The policy test_sts_cache_id cached: reading it allocates. */
	t = tally("cached.example", "sts", sts_text, "certificate-expired", 5);
	t.mx = "mx.cached.example";
	for (n = 1; n < 1000 && r != MTASTS_OK; n++) {
		util_alloc_fail_at(n);
		r = mtasts_tls_result_add(ctx, &t, err, sizeof(err));
		util_alloc_fail_at(0);
		assert_int_not_equal(r, MTASTS_EPARSE);
		if (r != MTASTS_OK) {
			walk(&s);
			assert_int_equal(s.n, 0);
		}
	}
	assert_int_equal(r, MTASTS_OK);
	assert_true(n > 2);	/* some allocation did fail */
	walk(&s);
	assert_int_equal(s.n, 1);
	/* Under the cache's id, not one made from the text. */
	assert_string_equal(s.line[0], "cached.example sts 20261202 "
	    "certificate-expired mx.cached.example - - - 5");
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sts_own_text),
		cmocka_unit_test(test_sts_cache_id),
		cmocka_unit_test(test_tlsa_none),
		cmocka_unit_test(test_hostile),
#ifdef MTASTS_ALLOC_TEST
		cmocka_unit_test(test_alloc_fail),
#endif
	};

	return cmocka_run_group_tests(tests, tmpctx_setup, tmpctx_teardown);
}
