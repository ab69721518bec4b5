/*
 * alloc_fail.c - every allocation of the parsers fails once.
 *
 * Built only with -DMTASTS_ALLOC_TEST (the ASan tree), which gives
 * util_alloc_fail_at().  For n = 1, 2, ... the n-th allocation fails;
 * the call must then return MTASTS_ENOMEM with nothing leaked
 * (LeakSanitizer checks), until n is past the last allocation and the
 * call succeeds with the same result as without failures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>
#include <mtasts.h>

#include "config.h"
#include "ctx.h"
#include "fetch.h"
#include "util.h"

#include "tmpctx.h"

static const char policy[] =
    "version: STSv1\nmode: enforce\nmode: testing\nMODE: x\n"
    "mx: a.example.com\nmx: *.example.net\nmx: *.com\nmx: c.example\n"
    "mx: d.example\nmx: e.example\nmax_age: 5\n";
static const char tlsrpt[] =
    "v=TLSRPTv1; rua=mailto:a@example.com, http://x.example/, "
    "https://r.example.com/x; rua=mailto:b@example.com";

static int
try_policy(void)
{
	struct mtasts_policy *p;
	int r;

	r = mtasts_policy_parse(policy, sizeof(policy) - 1, &p, NULL, 0);
	if (r == MTASTS_OK) {
		assert_int_equal(mtasts_policy_mx_count(p), 6);
		assert_int_equal(mtasts_policy_warning_count(p), 4);
		mtasts_policy_free(p);
	} else
		assert_null(p);
	return r;
}

static int
try_tlsrpt(void)
{
	struct mtasts_tlsrpt *t;
	int r;

	r = mtasts_tlsrpt_parse(tlsrpt, sizeof(tlsrpt) - 1, &t, NULL, 0);
	if (r == MTASTS_OK) {
		assert_int_equal(mtasts_tlsrpt_rua_count(t), 3);
		assert_int_equal(mtasts_tlsrpt_warning_count(t), 1);
		mtasts_tlsrpt_free(t);
	} else
		assert_null(t);
	return r;
}

static int
try_normalize(void)
{
	char out[MTASTS_DOMAIN_MAX + 1];
	static const char u[] = "mail.b\xc3\xbc" "cher.example";

	return mtasts_domain_normalize(u, sizeof(u) - 1, out, sizeof(out),
	    NULL, 0);
}

static void
fail_each(int (*try)(void))
{
	unsigned long n;
	int r;

	for (n = 1; n < 1000; n++) {
		util_alloc_fail_at(n);
		r = try();
		util_alloc_fail_at(0);
		if (r == MTASTS_OK)
			break;
		assert_int_equal(r, MTASTS_ENOMEM);
	}
	assert_true(n > 1);		/* at least one allocation failed */
	assert_true(n < 1000);
}

static void
test_policy_enomem(void **state)
{
	(void)state;
	fail_each(try_policy);
}

static void
test_tlsrpt_enomem(void **state)
{
	(void)state;
	fail_each(try_tlsrpt);
}

static void
test_normalize_enomem(void **state)
{
	(void)state;
	fail_each(try_normalize);
}

static void
on_fetch(int status, const char *body, size_t len, const char *why,
    void *arg)
{
	int *calls = arg;

	(void)body;
	(void)len;
	(void)why;
	assert_int_equal(status, FETCH_ERROR);
	(*calls)++;
}

/* A fetch that cannot even be set up says MTASTS_ENOMEM and never calls
 * back; it used to abort() the host process (an Exim delivery). */
static void
test_fetch_enomem(void **state)
{
	struct mtasts_config fcfg;
	struct event_base *base;
	struct fetch *f;
	char err[128];
	int calls = 0, post;

	(void)state;
	memset(&fcfg, 0, sizeof(fcfg));
	assert_non_null(base = event_base_new());
	assert_int_equal(fetch_new(base, &fcfg, &f, err, sizeof(err)),
	    MTASTS_OK);
	for (post = 0; post < 2; post++) {
		/* No address: the request fails on the next loop turn. */
		util_alloc_fail_at(1);
		assert_int_equal(post ? fetch_post(f, "https://r.example/",
		    "r.example", 443, NULL, 0, "x", 1, on_fetch, &calls) :
		    fetch_policy(f, "example.com", NULL, 0, on_fetch, &calls),
		    MTASTS_ENOMEM);
		util_alloc_fail_at(0);
		event_base_loop(base, EVLOOP_NONBLOCK);
		assert_int_equal(calls, 0);

		assert_int_equal(post ? fetch_post(f, "https://r.example/",
		    "r.example", 443, NULL, 0, "x", 1, on_fetch, &calls) :
		    fetch_policy(f, "example.com", NULL, 0, on_fetch, &calls),
		    MTASTS_OK);
		assert_int_equal(calls, 0);	/* never from inside */
		event_base_loop(base, EVLOOP_NONBLOCK);
		assert_int_equal(calls, 1);
		calls = 0;
	}
	fetch_free(f);
	event_base_free(base);
}

/* The TLSA RRset noted for TLSRPT (tlsresult.c): a failed allocation
 * anywhere leaves no note and no leak, never a half one. */
static void
test_tlsa_note_enomem(void **state)
{
	char *v[] = { "3 1 1 AB", "2 0 1 CD" }, *text, err[128];
	const char *id = "tlsa-2f0860a60e434abf";	/* the SHA-256 */
	unsigned long n;
	size_t len;

	(void)state;
	for (n = 1; n < 1000; n++) {
		util_alloc_fail_at(n);
		tlsresult_tlsa_note(ctx, "enomem.example", "mx.enomem.example",
		    v, 2);
		util_alloc_fail_at(0);
		if (mtasts_tls_policy_text(ctx, "enomem.example", id, &text,
		    &len) == MTASTS_OK)
			break;
	}
	assert_true(n > 1 && n < 1000);
	assert_int_equal(len, 17);
	assert_memory_equal(text, "2 0 1 CD\n3 1 1 AB", 17);
	free(text);
	assert_int_equal(mtasts_tls_result_tlsa(ctx, "enomem.example",
	    "success", "mx.enomem.example", NULL, NULL, NULL, err,
	    sizeof(err)), MTASTS_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_enomem),
		cmocka_unit_test(test_tlsrpt_enomem),
		cmocka_unit_test(test_normalize_enomem),
		cmocka_unit_test(test_fetch_enomem),
		cmocka_unit_test_setup_teardown(test_tlsa_note_enomem,
		    tmpctx_setup, tmpctx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
