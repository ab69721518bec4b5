/*
 * test_metrics.c - operational counters (core/metrics.c): shared by
 * every process through the cache, checked input from the host, gauges
 * computed from cache entries, and the TLS result counters left alone.
 */
#include <sys/wait.h>

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
#include <event2/event.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"

#include "tmpctx.h"

#define DEFER	"mtasts_filter_rcpts_total{decision=\"defer\"}"

/* The value of the sample line "series value" in the text, or -1. */
static long long
sample(const char *series)
{
	char *text, *p;
	size_t len, n = strlen(series);
	long long v = -1;

	assert_int_equal(mtasts_metrics_text(ctx, &text, &len), MTASTS_OK);
	assert_int_equal(strlen(text), len);
	for (p = text; (p = strstr(p, series)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
	free(text);
	return v;
}

static void
test_add(void **state)
{
	(void)state;
	assert_int_equal(sample(DEFER),
	    0);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_filter_rcpts_total",
	    "defer", 2), MTASTS_OK);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_filter_rcpts_total",
	    "defer", 1), MTASTS_OK);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_reports_sent_total",
	    NULL, 1), MTASTS_OK);
	assert_int_equal(sample(DEFER),
	    3);
	assert_int_equal(sample("mtasts_reports_sent_total"), 1);
	/* A value not listed in advance is shown once counted. */
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_filter_rcpts_total",
	    "error-1.x", 1), MTASTS_OK);
	assert_int_equal(sample(
	    "mtasts_filter_rcpts_total{decision=\"error-1.x\"}"), 1);
}

/* What the host passes is checked: it goes into the exposition as is. */
static void
test_hostile(void **state)
{
	static const char *const bad[] = {
		"", "Defer", "a b", "x\"y", "a\\b", "a\nb", "a}b",
		"012345678901234567890123456789012",	/* 33 bytes */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mtasts_metric_add(ctx,
		    "mtasts_filter_rcpts_total", bad[i], 1), MTASTS_EINVAL);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_filter_rcpts_total",
	    "01234567890123456789012345678901", 1), MTASTS_OK);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_no_such_total",
	    "x", 1), MTASTS_EINVAL);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_filter_rcpts_total",
	    NULL, 1), MTASTS_EINVAL);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_reports_sent_total",
	    "x", 1), MTASTS_EINVAL);
	/* Decisions are the core's to count. */
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_decisions_total",
	    "enforce", 1), MTASTS_EINVAL);
	assert_int_equal(mtasts_metric_add(NULL, "mtasts_reports_sent_total",
	    NULL, 1), MTASTS_EINVAL);
}

/* Exim forks a process per delivery that never frees its context: its
 * counts must be in the store when it exits. */
static void
test_shared(void **state)
{
	long long before;
	pid_t pid;
	int st;

	(void)state;
	before = sample("mtasts_reports_failed_total");
	if ((pid = fork()) == 0) {
		struct mtasts_ctx *c;

		if (mtasts_ctx_new(NULL, cfg, 0, &c, NULL, 0) != MTASTS_OK ||
		    mtasts_metric_add(c, "mtasts_reports_failed_total", NULL,
		    5) != MTASTS_OK)
			_exit(1);
		_exit(0);	/* no mtasts_ctx_free */
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(sample("mtasts_reports_failed_total"), before + 5);
}

/* A context on the caller's loop batches: written by its timer within
 * a second, or when it is freed. */
static void
test_batched(void **state)
{
	struct event_base *base;
	struct mtasts_ctx *c;
	struct timeval tv = { 1, 500000 };
	long long before;

	(void)state;
	before = sample("mtasts_reports_generated_total");
	assert_non_null(base = event_base_new());
	assert_int_equal(mtasts_ctx_new(base, cfg, 0, &c, NULL, 0),
	    MTASTS_OK);
	assert_int_equal(mtasts_metric_add(c,
	    "mtasts_reports_generated_total", NULL, 1), MTASTS_OK);
	assert_int_equal(sample("mtasts_reports_generated_total"), before);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(sample("mtasts_reports_generated_total"),
	    before + 1);
	assert_int_equal(mtasts_metric_add(c,
	    "mtasts_reports_generated_total", NULL, 2), MTASTS_OK);
	mtasts_ctx_free(c);
	assert_int_equal(sample("mtasts_reports_generated_total"),
	    before + 3);
	event_base_free(base);
}

static int
tls_seen(const char *day, const char *domain, const char *ptype,
    const char *pid, const char *type, const char *mx, const char *ip,
    uint64_t count, void *arg)
{
	(void)day; (void)domain; (void)ptype; (void)pid; (void)mx; (void)ip;
	(void)count;
	/* Metric keys ("M\t...") are never TLS results. */
	assert_string_not_equal(type, "");
	(*(int *)arg)++;
	return 0;
}

/* TLS results count both for TLSRPT and as a metric; purging old days
 * of the former leaves the metric (a counter never goes down). */
static void
test_tls_results(void **state)
{
	char err[MTASTS_ERRLEN];
	uint64_t removed;
	int n = 0;

	(void)state;
	assert_int_equal(mtasts_tls_result(ctx, "example.com",
	    "certificate-expired", "mx.example.com", "192.0.2.1", err,
	    sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_tls_result(ctx, "example.com",
	    "certificate-expired", "mx.example.com", "192.0.2.1", err,
	    sizeof(err)), MTASTS_OK);
	assert_int_equal(sample(
	    "mtasts_tls_results_total{result=\"certificate-expired\"}"), 2);
	assert_int_equal(mtasts_tls_result_foreach(ctx, tls_seen, &n),
	    MTASTS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(mtasts_tls_result_purge(ctx, "9999-12-31", &removed),
	    MTASTS_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(sample(
	    "mtasts_tls_results_total{result=\"certificate-expired\"}"), 2);
	assert_int_equal(sample(DEFER),
	    3);
}

static void
put(const char *domain, int mode, int64_t fetched, int64_t expires,
    int64_t failed)
{
	static char text[] = "version: STSv1\nmode: enforce\nmx: *.x\n"
	    "max_age: 86400\n";
	static char mx[] = "*.x";
	static char *mxv[] = { mx };
	struct cache_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "%s", domain);
	snprintf(e.id, sizeof(e.id), "id1");
	e.text = mode < 0 ? NULL : text;
	e.text_len = mode < 0 ? 0 : strlen(text);
	e.mode = mode < 0 ? 0 : mode;
	e.mx = mode > 0 ? mxv : NULL;
	e.nmx = mode > 0 ? 1 : 0;
	e.max_age = (uint32_t)(expires - fetched);
	e.fetched_at = fetched;
	e.expires_at = expires;
	e.failed_at = failed;
	e.fail_count = failed != 0;
	assert_int_equal(cache_put(ctx->cache, &e), MTASTS_OK);
}

/* Gauges: by mode, expired, oldest, and the alert's "lapsing". */
static void
test_gauges(void **state)
{
	struct mtasts_result *r;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	/* enforce, expires in 1 h, refresh failed after the fetch */
	put("lapse.example", MTASTS_MODE_ENFORCE, now - 82800, now + 3600,
	    now - 60);
	/* enforce, expires in 1 h, never failed (refresh not tried yet) */
	put("soon.example", MTASTS_MODE_ENFORCE, now - 82800, now + 3600, 0);
	/* testing, expires in 10 h, failed */
	put("tlapse.example", MTASTS_MODE_TESTING, now - 1000, now + 36000,
	    now - 10);
	/* enforce, 2 days left, failed: not yet */
	put("later.example", MTASTS_MODE_ENFORCE, now - 5000, now + 172800,
	    now - 10);
	/* none, expiring and failed: not an alert */
	put("none.example", MTASTS_MODE_NONE, now - 90000, now + 100, now);
	put("old.example", MTASTS_MODE_ENFORCE, now - 900000, now - 1, now);
	put("nopolicy.example", -1, 0, 0, now);
	assert_int_equal(sample("mtasts_policies{mode=\"enforce\"}"), 3);
	assert_int_equal(sample("mtasts_policies{mode=\"testing\"}"), 1);
	assert_int_equal(sample("mtasts_policies{mode=\"none\"}"), 1);
	assert_int_equal(sample("mtasts_policies_expired"), 1);
	assert_int_equal(sample("mtasts_cache_entries"), 7);
	assert_in_range(sample("mtasts_policy_oldest_age_seconds"), 90000,
	    90005);
	assert_int_equal(sample("mtasts_policies_lapsing{mode=\"enforce\"}"),
	    1);
	assert_int_equal(sample("mtasts_policies_lapsing{mode=\"testing\"}"),
	    1);
	/* A decision from the cache (the blocking fast path) counts. */
	assert_int_equal(sample(
	    "mtasts_decisions_total{mode=\"enforce\",source=\"cache\"}"), 0);
	assert_int_equal(mtasts_query_wait(ctx, "soon.example", 0, &r, NULL,
	    0), MTASTS_OK);
	mtasts_result_free(r);
	assert_int_equal(sample(
	    "mtasts_decisions_total{mode=\"enforce\",source=\"cache\"}"), 1);
}

/* Keys in the store that we did not write (damage): never shown. */
static void
test_damaged(void **state)
{
	static const char *const bad[] = {
		"M\tmtasts_reports_sent_total\tx=\"a\"}evil 1\n",
		"M\tmtasts_reports_sent_total\tx=\"a",
		"M\tmtasts_reports_sent_total\tx=\"A\"",
		"M\tmtasts_reports_sent_total\tx=\"a\",",
		"M\tmtasts_reports_sent_total\t=\"a\"",
		"M\tmtasts_evil_total\t",
	};
	char *text;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cache_counter_add(ctx->cache, bad[i],
		    strlen(bad[i]), 7), MTASTS_OK);
	assert_int_equal(cache_counter_add(ctx->cache,
	    "M\tmtasts_reports_sent_total\ta=\"b\",c_d=\"e-1.f\"", 45, 7),
	    MTASTS_OK);
	assert_int_equal(mtasts_metrics_text(ctx, &text, &len), MTASTS_OK);
	assert_null(strstr(text, "evil"));
	assert_null(strstr(text, "x="));
	assert_null(strstr(text, "{=\""));
	assert_non_null(strstr(text,
	    "\nmtasts_reports_sent_total{a=\"b\",c_d=\"e-1.f\"} 7\n"));
	free(text);
}

#ifdef MTASTS_ALLOC_TEST
void	util_alloc_fail_at(unsigned long n);

/* Every allocation of the text and of a count may fail: ENOMEM, no
 * leak, no crash. */
static void
test_enomem(void **state)
{
	unsigned long n;
	char *text;
	size_t len;
	int r;

	(void)state;
	for (n = 1; n < 1000; n++) {
		util_alloc_fail_at(n);
		r = mtasts_metrics_text(ctx, &text, &len);
		util_alloc_fail_at(0);
		if (r == MTASTS_OK)
			break;
		assert_int_equal(r, MTASTS_ENOMEM);
		assert_null(text);
	}
	assert_true(n > 1 && n < 1000);
	free(text);
	util_alloc_fail_at(1);
	assert_int_equal(mtasts_metric_add(ctx, "mtasts_reports_sent_total",
	    NULL, 1), MTASTS_OK);
	util_alloc_fail_at(0);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_shared),
		cmocka_unit_test(test_batched),
		cmocka_unit_test(test_tls_results),
		cmocka_unit_test(test_gauges),
		cmocka_unit_test(test_damaged),
#ifdef MTASTS_ALLOC_TEST
		cmocka_unit_test(test_enomem),
#endif
	};

	return cmocka_run_group_tests(tests, tmpctx_setup, tmpctx_teardown);
}
