/*
 * test_mxlist.c - an MX RRset as text through an enforce policy
 * (mtasts_result_mx_filter, RFC 8461 §4.1), and the output size the
 * header promises (mtasts_mx_filter_size).  U-label MX names come out
 * as A-labels, which are longer (RFC 5891 §4.4): the promise must hold
 * for them too (issue 20).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mtasts.h>

#include "cache.h"
#include "result.h"

static struct mtasts_result *
enforce(void)
{
	static char *mx[] = { "mx1.example.com", "*.example.net" };
	static char text[] = "version: STSv1\nmode: enforce\n";
	struct mtasts_result *r;
	struct cache_entry e;

	memset(&e, 0, sizeof(e));
	memcpy(e.domain, "example.com", 12);
	memcpy(e.id, "t1", 3);
	e.text = text;
	e.text_len = sizeof(text) - 1;
	e.mode = MTASTS_MODE_ENFORCE;
	e.max_age = 86400;
	e.mx = mx;
	e.nmx = 2;
	e.expires_at = INT64_MAX;
	assert_non_null(r = result_new("example.com"));
	assert_int_equal(result_set_policy(r, &e, MTASTS_SOURCE_CACHE),
	    MTASTS_OK);
	return r;
}

/* Filter list into a buffer of exactly size bytes (ASan sees overruns). */
static int
filter(const struct mtasts_result *r, const char *list, size_t size,
    char **out, size_t *na, size_t *nt)
{
	char err[MTASTS_ERRLEN];

	assert_non_null(*out = malloc(size));
	return mtasts_result_mx_filter(r, list, strlen(list), *out, size, na,
	    nt, err, sizeof(err));
}

static void
test_ascii(void **state)
{
	static const char list[] = "20 b.example.net.:10 MX1.example.com.\n"
	    "30 evil.example.org:5 a.example.net";
	struct mtasts_result *r = enforce();
	size_t na, nt, size = mtasts_mx_filter_size(list, strlen(list));
	char *out;

	(void)state;
	assert_int_equal(size, strlen(list) + 256);
	assert_int_equal(filter(r, list, size, &out, &na, &nt), MTASTS_OK);
	assert_string_equal(out, "a.example.net:mx1.example.com:"
	    "b.example.net");
	assert_int_equal(na, 3);
	assert_int_equal(nt, 4);
	free(out);
	/* No MX at all: the domain itself, which the policy does not list. */
	size = mtasts_mx_filter_size("", 0);
	assert_int_equal(filter(r, "", size, &out, &na, &nt), MTASTS_OK);
	assert_string_equal(out, "");
	assert_int_equal(nt, 1);
	free(out);
	mtasts_result_free(r);
}

/*
 * 200 MX hosts "<one CJK ideograph>.example.net": 3 UTF-8 bytes become
 * "xn--" and 3 or 4 Punycode letters, so the output outgrows len + 256
 * (the old promise).  Each is allowed by "*.example.net".
 */
static void
test_ulabels(void **state)
{
	struct mtasts_result *r = enforce();
	char list[200 * 24], *out, *p;
	size_t i, len = 0, na, nt, size;
	unsigned cp;

	(void)state;
	for (i = 0; i < 200; i++) {
		cp = 0x4e00 + (unsigned)i;
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s%c%c%c.example.net", i ? ":" : "",
		    0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f),
		    0x80 | (cp & 0x3f));
	}
	size = mtasts_mx_filter_size(list, len);
	assert_true(size >= len + 256 + 200 * 254);
	assert_int_equal(filter(r, list, size, &out, &na, &nt), MTASTS_OK);
	assert_int_equal(na, 200);
	assert_int_equal(nt, 200);
	assert_true(strlen(out) > len + 256);	/* what the old promise said */
	assert_int_equal(strncmp(out, "xn--", 4), 0);
	for (p = out, i = 0; (p = strstr(p, ".example.net")) != NULL; p++)
		i++;
	assert_int_equal(i, 200);
	free(out);
	/* A buffer too small is refused whole, never cut (fails safe). */
	assert_int_equal(filter(r, list, len + 256, &out, &na, &nt),
	    MTASTS_EINVAL);
	free(out);
	mtasts_result_free(r);
}

/* The bound for lists the filter refuses anyway. */
static void
test_size_edges(void **state)
{
	(void)state;
	assert_int_equal(mtasts_mx_filter_size(NULL, 5), 256);
	assert_int_equal(mtasts_mx_filter_size("x", 65537), 256);
	assert_int_equal(mtasts_mx_filter_size("\xc3\xbc.x:", 5),
	    5 + 256 + 254);
	assert_int_equal(mtasts_mx_filter_size("a::\n:b", 6), 6 + 256);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_ulabels),
		cmocka_unit_test(test_size_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
