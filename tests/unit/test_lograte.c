/*
 * test_lograte.c - adapter/lograte.c, the adapters' limit on lines about
 * hostile input: LOGRATE_LINES a kind per interval, the rest counted and
 * the count logged once the interval is over (or at exit), kinds apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../adapter/log.h"

static size_t	nlog;
static char	lastlog[1024];

/* The recorder in place of adapter/log.c's sink. */
void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(lastlog, sizeof(lastlog), fmt, ap);
	va_end(ap);
	nlog++;
}

static void
test_burst_then_count(void **state)
{
	struct lograte	l = { "lines about junk", 0, 0, 0 };
	int		i;

	(void)state;
	nlog = 0;
	for (i = 0; i < 100; i++)
		lograte_log(&l, 1000 + i % 30, "junk %d", i);
	assert_int_equal(nlog, LOGRATE_LINES);
	/* The last line logged says the rest are counted, and how long:
	 * the interval began at 1000, the 10th line came at 1009. */
	assert_string_equal(lastlog, "junk 9 (more lines about junk in the "
	    "next 51s are counted, not logged)");
	lograte_flush(&l, 1000 + LOGRATE_SECONDS - 1, 0);
	assert_int_equal(nlog, LOGRATE_LINES);		/* not over yet */
	lograte_flush(&l, 1000 + LOGRATE_SECONDS, 0);
	assert_int_equal(nlog, LOGRATE_LINES + 1);
	assert_string_equal(lastlog, "90 more lines about junk not logged "
	    "in the last 60s");
	lograte_log(&l, 1000 + LOGRATE_SECONDS, "again");
	assert_int_equal(nlog, LOGRATE_LINES + 2);
	assert_string_equal(lastlog, "again");
}

/* At exit (force) the count comes at once; nothing when none dropped. */
static void
test_force_and_quiet(void **state)
{
	struct lograte	l = { "lines", 0, 0, 0 };
	int		i;

	(void)state;
	nlog = 0;
	lograte_flush(&l, 5000, 1);
	assert_int_equal(nlog, 0);
	for (i = 0; i < LOGRATE_LINES + 3; i++)
		lograte_log(&l, 5000, "x");
	lograte_flush(&l, 5001, 1);
	assert_int_equal(nlog, LOGRATE_LINES + 1);
	assert_string_equal(lastlog, "3 more lines not logged in the last 1s");
}

/* A clock set back (wall clock) starts a new interval, never a stuck
 * one; kinds are counted apart. */
static void
test_clock_back_and_kinds(void **state)
{
	struct lograte	a = { "a lines", 0, 0, 0 }, b = { "b lines", 0, 0, 0 };
	int		i;

	(void)state;
	nlog = 0;
	for (i = 0; i < LOGRATE_LINES + 5; i++)
		lograte_log(&a, 9000, "a");
	lograte_log(&b, 9000, "b");
	assert_int_equal(nlog, LOGRATE_LINES + 1);
	assert_string_equal(lastlog, "b");
	lograte_log(&a, 100, "a after the clock went back");
	assert_int_equal(nlog, LOGRATE_LINES + 3);
	assert_string_equal(lastlog, "a after the clock went back");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_count),
		cmocka_unit_test(test_force_and_quiet),
		cmocka_unit_test(test_clock_back_and_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
