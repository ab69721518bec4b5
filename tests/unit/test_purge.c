/*
 * test_purge.c - the TLS results store stays bounded
 * (mtasts_tls_result_purge, report_retention): counters of days before
 * the cutoff go, in batches however many there are; later days and the
 * notes stay; a cutoff that is not a date is refused.
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
#include "cache.h"
#include "ctx.h"

#include "tmpctx.h"

static void
add(const char *day, int i)
{
	char key[128];
	int n;

	n = snprintf(key, sizeof(key), "%s\td%d.test\tsts\tid1\tsuccess\t"
	    "mx.d%d.test\t192.0.2.1", day, i, i);
	assert_int_equal(cache_counter_add(ctx->cache, key, (size_t)n, 1),
	    MTASTS_OK);
}

struct days {
	unsigned int	d1, d2, d3;
};

static int
count_day(const char *day, const char *domain, const char *ptype,
    const char *pid, const char *result, const char *mx, const char *ip,
    uint64_t n, void *arg)
{
	struct days *d = arg;

	(void)domain; (void)ptype; (void)pid; (void)result; (void)mx;
	(void)ip; (void)n;
	if (strcmp(day, "2026-01-01") == 0)
		d->d1++;
	else if (strcmp(day, "2026-01-02") == 0)
		d->d2++;
	else if (strcmp(day, "2026-02-01") == 0)
		d->d3++;
	return 0;
}

static void
test_purge_days(void **state)
{
	struct days d = { 0, 0, 0 };
	uint64_t removed = 1;
	char *val = NULL;
	size_t vlen;
	int i;

	(void)state;
	for (i = 0; i < 600; i++)	/* more than one batch */
		add("2026-01-01", i);
	for (i = 0; i < 5; i++)
		add("2026-01-02", i);
	add("2026-02-01", 0);
	assert_int_equal(cache_note_put(ctx->cache, "P\td0.test\tid1", 13,
	    "policy text", 11), MTASTS_OK);
	assert_int_equal(mtasts_tls_result_purge(ctx, "2026-01-02", &removed),
	    MTASTS_OK);
	assert_int_equal(removed, 600);
	assert_int_equal(mtasts_tls_result_foreach(ctx, count_day, &d),
	    MTASTS_OK);
	assert_int_equal(d.d1, 0);
	assert_int_equal(d.d2, 5);
	assert_int_equal(d.d3, 1);
	assert_int_equal(cache_note_get(ctx->cache, "P\td0.test\tid1", 13,
	    &val, &vlen), MTASTS_OK);
	assert_string_equal(val, "policy text");
	free(val);
	/* Again: nothing left before that day. */
	assert_int_equal(mtasts_tls_result_purge(ctx, "2026-01-02", &removed),
	    MTASTS_OK);
	assert_int_equal(removed, 0);
	/* A cutoff after everything empties the counters, not the notes. */
	assert_int_equal(mtasts_tls_result_purge(ctx, "2099-12-31", &removed),
	    MTASTS_OK);
	assert_int_equal(removed, 6);
}

static void
test_purge_bad_cutoff(void **state)
{
	static const char *const bad[] = {
		"", "2026-1-02", "2026-01-0x", "2026/01/02", "2026-01-021",
		"yesterday", "2026-01-02\t",
	};
	uint64_t removed;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mtasts_tls_result_purge(ctx, bad[i],
		    &removed), MTASTS_EPARSE);
	assert_int_equal(mtasts_tls_result_purge(ctx, NULL, &removed),
	    MTASTS_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_purge_days),
		cmocka_unit_test(test_purge_bad_cutoff),
	};

	return cmocka_run_group_tests(tests, tmpctx_setup, tmpctx_teardown);
}
