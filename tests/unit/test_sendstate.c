/*
 * test_sendstate.c - the per-report send state of `mtasts report send'
 * (cli/sendstate.c): strict parsing of the state file, the round trip,
 * and the retry schedule (RFC 8460 §5.5, checklist B3.20: retry for up
 * to 24 h with exponential backoff).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "send.h"

#define S(s)		s, sizeof(s) - 1
#define GOOD		"mtasts-send 1\nphase pending\nfirst 100\nlast 200\n" \
			"next 500\nattempts 2\n"

struct row {
	const char	*in;
	size_t		 len;
	int		 ok;
	const char	*what;
};

static const struct row rows[] = {
	{ S(GOOD), 1, "all five fields" },
	{ S("mtasts-send 1\nattempts 0\nnext 0\nlast 0\nfirst 0\n"
	    "phase delivered\n"), 1, "any order" },
	{ S(""), 0, "empty" },
	{ S("mtasts-send 2\nphase pending\n"), 0, "other version" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast 1\nnext 1\n"), 0,
	    "missing field" },
	{ S(GOOD "phase delivered\n"), 0, "repeated field" },
	{ S("mtasts-send 1\nphase sent\nfirst 1\nlast 1\nnext 1\n"
	    "attempts 1\n"), 0, "unknown phase" },
	{ S("mtasts-send 1\nphase pending\nfirst -1\nlast 1\nnext 1\n"
	    "attempts 1\n"), 0, "signed number" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast 1\nnext 1\n"
	    "attempts 4294967296\n"), 0, "attempts over 32 bits" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast 1\nnext "
	    "1234567890123456789\nattempts 1\n"), 0, "19 digits" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast 1\nnext 1\n"
	    "attempts 1"), 0, "no final newline" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast 1\nnext 1\n"
	    "attempts 1\r\n"), 0, "CR" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast\0 1\nnext 1\n"
	    "attempts 1\n"), 0, "NUL" },
	{ S("mtasts-send 1\nphase  pending\nfirst 1\nlast 1\nnext 1\n"
	    "attempts 1\n"), 0, "two blanks" },
	{ S("mtasts-send 1\nphase pending\nfirst 1\nlast 1\nnext 1\n"
	    "attempts 1\nextra 1\n"), 0, "unknown field" },
};

static void
test_parse_rows(void **state)
{
	struct send_state st;
	char why[128];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why[0] = '\0';
		r = send_state_parse(rows[i].in, rows[i].len, &st, why,
		    sizeof(why));
		if ((r == 0) != rows[i].ok)
			fail_msg("%s: got %d (%s)", rows[i].what, r, why);
		if (r != 0)
			assert_true(why[0] != '\0');
	}
}

static void
test_round_trip(void **state)
{
	struct send_state st, st2;
	char buf[SEND_STATE_MAX], why[128];
	int n;

	(void)state;
	assert_int_equal(send_state_parse(S(GOOD), &st, why, sizeof(why)),
	    0);
	assert_int_equal(st.phase, SEND_PENDING);
	assert_int_equal(st.first, 100);
	assert_int_equal(st.next, 500);
	assert_int_equal(st.attempts, 2);
	n = send_state_format(&st, buf, sizeof(buf));
	assert_true(n > 0);
	assert_memory_equal(buf, GOOD, sizeof(GOOD) - 1);
	assert_int_equal(send_state_parse(buf, (size_t)n, &st2, why,
	    sizeof(why)), 0);
	assert_memory_equal(&st, &st2, sizeof(st));
	assert_int_equal(send_state_format(&st, buf, 10), -1);
}

/* B3.20: the delay doubles from report_retry, capped at 6 h; after 24 h
 * from the first attempt the report is given up. */
static void
test_backoff(void **state)
{
	struct send_state st;
	int64_t t = 1000000, delays[16] = { 0 };
	int i;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (i = 0; i < 16; i++) {
		send_state_failed(&st, t, 300);
		delays[i] = st.next - t;
		if (st.phase != SEND_PENDING)
			break;
		t = st.next;
	}
	assert_int_equal(delays[0], 300);
	assert_int_equal(delays[1], 600);
	assert_int_equal(delays[2], 1200);
	assert_int_equal(st.first, 1000000);
	assert_int_equal(st.phase, SEND_EXPIRED);
	assert_true(st.next >= st.first + SEND_RETRY_SPAN);
	assert_true(st.last < st.first + SEND_RETRY_SPAN);
	for (i = 0; i < 16 && delays[i] != 0; i++)
		assert_true(delays[i] <= 6 * 3600);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_rows),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
