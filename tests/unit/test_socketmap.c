/*
 * test_socketmap.c - mtasts-socketmap's readers of client bytes:
 * netstrings (socketmap/netstring.c) and "NAME KEY" requests with
 * Postfix's next-hop keys (socketmap/request.c).  Hostile input per
 * STYLE.md: embedded NUL, bare CR, overlong, non-ASCII, each a row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <mtasts.h>

#include "../../socketmap/netstring.h"
#include "../../socketmap/request.h"

#define S(s)		s, sizeof(s) - 1
#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

struct ns_row {
	const char	*in;
	size_t		 len;
	int		 status;
	size_t		 off, dlen, used;
	const char	*what;
};

static const struct ns_row ns_rows[] = {
	{ S("0:,"), NETSTRING_OK, 2, 0, 3, "0-length" },
	{ S("3:abc,"), NETSTRING_OK, 2, 3, 6, "one" },
	{ S("3:abc,4:defg,"), NETSTRING_OK, 2, 3, 6, "pipelined: first" },
	{ S("003:abc,"), NETSTRING_OK, 4, 3, 8, "leading zeros" },
	{ S("3:a\0c,"), NETSTRING_OK, 2, 3, 6, "NUL in data" },
	{ S("1024:"), NETSTRING_MORE, 0, 0, 0, "at the limit: wait" },
	{ S("1025:"), NETSTRING_ETOOLONG, 0, 0, 0, "over the limit" },
	{ S("99999999999999999999:"), NETSTRING_ETOOLONG, 0, 0, 0,
	    "20 digits (no overflow)" },
	{ S("0000000003:abc,"), NETSTRING_EDIGIT, 0, 0, 0,
	    "10 digits, leading zeros" },
	{ S("000000003:abc,"), NETSTRING_OK, 10, 3, 14, "9 digits" },
	{ S("10000"), NETSTRING_ETOOLONG, 0, 0, 0, "too long before ':'" },
	{ S(""), NETSTRING_MORE, 0, 0, 0, "nothing" },
	{ S("3"), NETSTRING_MORE, 0, 0, 0, "digits only" },
	{ S("3:ab"), NETSTRING_MORE, 0, 0, 0, "split data" },
	{ S("3:abc"), NETSTRING_MORE, 0, 0, 0, "split before ','" },
	{ S(":,"), NETSTRING_EDIGIT, 0, 0, 0, "no digits" },
	{ S("x:"), NETSTRING_EDIGIT, 0, 0, 0, "non-digit" },
	{ S("-1:"), NETSTRING_EDIGIT, 0, 0, 0, "sign" },
	{ S(" 3:abc,"), NETSTRING_EDIGIT, 0, 0, 0, "leading space" },
	{ S("3\r:abc,"), NETSTRING_EDIGIT, 0, 0, 0, "bare CR" },
	{ S("3:abc;"), NETSTRING_ECOMMA, 0, 0, 0, "no comma" },
	{ S("2:abc,"), NETSTRING_ECOMMA, 0, 0, 0, "length too short" },
};

static void
test_netstring_parse(void **state)
{
	const struct ns_row	*t;
	size_t			 i, off, dlen, used;
	int			 r;

	(void)state;
	for (i = 0; i < NROWS(ns_rows); i++) {
		t = &ns_rows[i];
		off = dlen = used = 0;
		r = netstring_parse(t->in, t->len, 1024, &off, &dlen, &used);
		if (r != t->status)
			print_error("row %zu (%s): got %d\n", i, t->what, r);
		assert_int_equal(r, t->status);
		assert_true(netstring_strerror(r)[0] != '\0');
		if (r != NETSTRING_OK)
			continue;
		assert_int_equal(off, t->off);
		assert_int_equal(dlen, t->dlen);
		assert_int_equal(used, t->used);
	}
}

struct rq_row {
	const char		*in;
	size_t			 len;
	enum request_kind	 kind;
	const char		*domain;	/* REQUEST_DOMAIN */
	const char		*what;
};

static const struct rq_row rq_rows[] = {
	{ S("postfix example.com"), REQUEST_DOMAIN, "example.com", "plain" },
	{ S("postfix Example.COM."), REQUEST_DOMAIN, "example.com",
	    "case, trailing dot" },
	{ S("postfix example.com:25"), REQUEST_DOMAIN, "example.com",
	    "next hop with port" },
	{ S("postfix [mx.example.com]:587"), REQUEST_DOMAIN,
	    "mx.example.com", "[host]:port" },
	{ S("postfix [mx.example.com]"), REQUEST_DOMAIN, "mx.example.com",
	    "[host]" },
	{ S("postfix b\xc3\xbc" "cher.example"), REQUEST_DOMAIN,
	    "xn--bcher-kva.example", "U-label key (SMTPUTF8)" },
	{ S("postfix b\xfc" "cher.example"), REQUEST_SKIP, NULL,
	    "Latin-1 key: not UTF-8" },
	{ S("p\xc3\xbc example.com"), REQUEST_BAD, NULL,
	    "non-ASCII map name" },
	{ S("postfix example.com\x7f"), REQUEST_BAD, NULL, "DEL" },
	{ S("tls example.com"), REQUEST_DOMAIN, "example.com", "any name" },
	{ S("postfix .example.com"), REQUEST_SKIP, NULL, "parent domain" },
	{ S("postfix [192.0.2.1]"), REQUEST_SKIP, NULL, "IPv4 literal" },
	{ S("postfix 192.0.2.1:25"), REQUEST_SKIP, NULL, "IPv4, port" },
	{ S("postfix [2001:db8::1]"), REQUEST_SKIP, NULL, "IPv6 literal" },
	{ S("postfix "), REQUEST_SKIP, NULL, "empty key" },
	{ S("postfix []:25"), REQUEST_SKIP, NULL, "empty host" },
	{ S("postfix a..b"), REQUEST_SKIP, NULL, "empty label" },
	{ S("postfix -a.example"), REQUEST_SKIP, NULL, "not LDH" },
	{ S("postfix"), REQUEST_BAD, NULL, "no key" },
	{ S(""), REQUEST_BAD, NULL, "empty" },
	{ S(" example.com"), REQUEST_BAD, NULL, "no name" },
	{ S("postfix exa\0mple.com"), REQUEST_BAD, NULL, "NUL" },
	{ S("postfix example.com\r"), REQUEST_BAD, NULL, "bare CR" },
	{ S("postfix a b"), REQUEST_BAD, NULL, "space in key" },
	{ S("n2345678901234567890123456789012345678901234567890123456789012345"
	    " example.com"), REQUEST_BAD, NULL, "name of 65" },
};

static void
test_request_parse(void **state)
{
	const struct rq_row	*t;
	struct request		 rq;
	size_t			 i;
	enum request_kind	 k;

	(void)state;
	for (i = 0; i < NROWS(rq_rows); i++) {
		t = &rq_rows[i];
		k = request_parse(t->in, t->len, &rq);
		if (k != t->kind)
			print_error("row %zu (%s): got %d '%s'\n", i, t->what,
			    k, rq.why);
		assert_int_equal(k, t->kind);
		if (k == REQUEST_DOMAIN)
			assert_string_equal(rq.domain, t->domain);
		else
			assert_true(rq.why[0] != '\0');
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netstring_parse),
		cmocka_unit_test(test_request_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
