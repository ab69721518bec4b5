/*
 * test_mx.c - mx patterns (RFC 8461 §3.2, checklist A2.19, D9) and
 * matching MX hosts against them (§4.1, A5.38, A11.63, D10, D11).
 * Modelled on curl's unit1397.c; expectations come from
 * docs/conformance.md, rows cite items.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <mtasts.h>

#define S(s)		s, sizeof(s) - 1
#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

#define OK	MTASTS_OK
#define NO	MTASTS_ENOMATCH
#define BAD	MTASTS_EPARSE

#define L63	"a2345678901234567890123456789012" \
	"3456789012345678901234567890123"
#define L64	L63 "4"
/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets */
#define N253	L63 "." L63 "." L63 "." \
	"a234567890123456789012345678901234567890123456789012345678901"

struct check_row {
	const char	*pat;
	size_t		 len;
	int		 status;
	const char	*item;
};

static const struct check_row check_rows[] = {
	{ S("mail.example.com"), OK, "A2.19 name" },
	{ S("*.example.com"), OK, "A2.19 *. + suffix" },
	{ S("*.com"), OK, "A5.38 *.com allowed (§10.4)" },
	{ S("MAIL.EXAMPLE.COM"), OK, "A2.19 case" },
	{ S("xn--bcher-kva.example"), OK, "A2.19 A-label" },
	{ S("mx-1.example.com"), OK, "D9 LDH" },
	{ S("1mx.example.com"), OK, "D9 leading digit" },
	{ S("localhost"), OK, "D9 one label is a Domain" },
	{ S(L63 ".example"), OK, "D9 label of 63" },
	{ S(N253), OK, "D9 253 octets" },
	{ S(N253 "4"), BAD, "D9 254 octets" },
	{ S(L64 ".example"), BAD, "D9 label of 64" },
	{ S(""), BAD, "D9 empty" },
	{ S("*"), BAD, "D9 bare *" },
	{ S("*."), BAD, "D9 *. alone" },
	{ S("*.*.example.com"), BAD, "D9 two *" },
	{ S("mail.*.example.com"), BAD, "A2.20 * only first" },
	{ S("mail.example.*"), BAD, "A2.20 * only first" },
	{ S("mail*.example.com"), BAD, "D9 D11 partial" },
	{ S("*mail.example.com"), BAD, "D9 D11 partial" },
	{ S("m*l.example.com"), BAD, "D9 D11 partial" },
	{ S("**.example.com"), BAD, "D9 D11 partial" },
	{ S(".example.com"), BAD, "D9 empty label" },
	{ S("mail..example.com"), BAD, "D9 empty label" },
	{ S("mail.example.com."), BAD, "D9 trailing dot" },
	{ S("*.example.com."), BAD, "D9 trailing dot" },
	{ S("mail_1.example.com"), BAD, "D9 '_'" },
	{ S("-mail.example.com"), BAD, "D9 LDH" },
	{ S("mail-.example.com"), BAD, "D9 LDH" },
	{ S("m\xc3\xa4il.example.com"), BAD, "A2.19 D9 U-label" },
	{ S("mail.example.com:25"), BAD, "D9 port" },
	{ S("[192.0.2.1]"), BAD, "D9 address literal" },
	{ S("mail.example.com mx2.example.com"), BAD, "D9 one per line" },
	{ S("mail.example.com\0"), BAD, "D9 NUL" },
	{ S("mail.exa\0mple.com"), BAD, "D9 NUL" },
	{ S(" mail.example.com"), BAD, "D9 WSP" },
};

static void
test_d9_mx_pattern_check(void **state)
{
	const struct check_row *t;
	char err[MTASTS_ERRLEN];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < NROWS(check_rows); i++) {
		t = &check_rows[i];
		err[0] = '\0';
		r = mtasts_mx_pattern_check(t->pat, t->len, err, sizeof(err));
		if (r != t->status)
			print_error("row %zu (%s): got %d '%s'\n", i, t->item,
			    r, err);
		assert_int_equal(r, t->status);
		if (r != MTASTS_OK)
			assert_true(err[0] != '\0');
	}
}

struct match_row {
	const char	*pat;
	size_t		 plen;
	const char	*host;
	size_t		 hlen;
	int		 status;
	const char	*item;
};

static const struct match_row match_rows[] = {
	{ S("mail.example.com"), S("mail.example.com"), OK, "A5.38 exact" },
	{ S("mail.example.com"), S("MAIL.Example.COM"), OK, "A5.38 D10 case" },
	{ S("MAIL.EXAMPLE.COM"), S("mail.example.com"), OK, "A5.38 D10 case" },
	{ S("mail.example.com"), S("mail.example.com."), OK,
	    "A5.38 D10 trailing dot of the host" },
	{ S("mail.example.com"), S("example.com"), NO, "A5.38" },
	{ S("example.com"), S("mail.example.com"), NO, "A5.38 no suffix" },
	{ S("mail.example.com"), S("xmail.example.com"), NO, "A5.38" },
	{ S("mail.example.com"), S("mail.example.co"), NO, "A5.38" },
	{ S("mail.example.com"), S("mail.example.com.evil.net"), NO,
	    "A5.38" },
	{ S("*.example.com"), S("mail.example.com"), OK, "A5.38 D10" },
	{ S("*.example.com"), S("MAIL.EXAMPLE.COM."), OK, "A5.38 D10" },
	{ S("*.Example.COM"), S("mail.example.com"), OK, "A5.38 D10 case" },
	{ S("*.example.com"), S(L63 ".example.com"), OK, "D10 63-octet" },
	{ S("*.example.com"), S("example.com"), NO, "A5.38 D10 not parent" },
	{ S("*.example.com"), S("foo.bar.example.com"), NO,
	    "A5.38 D10 exactly one label" },
	{ S("*.example.com"), S("mailexample.com"), NO, "D10" },
	{ S("*.example.com"), S("mail.notexample.com"), NO, "D10" },
	{ S("*.example.com"), S("mail.example.com.evil"), NO, "D10" },
	{ S("*.com"), S("abc.com"), OK, "A5.38 *.com matches abc.com" },
	{ S("*.com"), S("a.abc.com"), NO, "A5.38 D10" },
	{ S("*.com"), S("com"), NO, "A5.38 D10" },
	{ S("xn--bcher-kva.example"), S("XN--BCHER-KVA.example."), OK,
	    "A2.19 A-label, case" },
	/* A11.63: never match the literal "*.example.com". */
	{ S("*.example.com"), S("*.example.com"), BAD, "A11.63 host *" },
	{ S("*.example.com"), S(".example.com"), BAD, "A11.63 empty label" },
	/* Invalid patterns never match (A5.38 derived). */
	{ S("mail.example.com."), S("mail.example.com"), BAD, "D9 dot" },
	{ S("*.*.example.com"), S("a.b.example.com"), BAD, "D9" },
	{ S("mail*.example.com"), S("mail1.example.com"), BAD, "D11" },
	{ S("mail*.example.com"), S("mail*.example.com"), BAD, "D11" },
	{ S("*mail.example.com"), S("xmail.example.com"), BAD, "D11" },
	{ S("mail.*.com"), S("mail.example.com"), BAD, "A2.20" },
	{ S("*"), S("localhost"), BAD, "D9 bare *" },
	{ S("*."), S("a."), BAD, "D9 *." },
	{ S(""), S(""), BAD, "D9 empty" },
	{ S("mail_1.example.com"), S("mail_1.example.com"), BAD, "D9 '_'" },
	{ S("m\xc3\xa4il.example.com"), S("m\xc3\xa4il.example.com"), BAD,
	    "A2.19 D9 U-label" },
	{ S("mail.example.com:25"), S("mail.example.com"), BAD, "D9 port" },
	{ S("mail.example.com\0"), S("mail.example.com"), BAD, "D9 NUL" },
	/* Invalid hosts never match. */
	{ S("*.2.3.4"), S("1.2.3.4"), BAD, "issue 20 an IPv4 host" },
	{ S("1.2.3.4"), S("1.2.3.4."), BAD, "issue 20 an IPv4 host" },
	{ S("*.0.1"), S("127.0.1"), BAD, "issue 20 inet_aton short form" },
	{ S("*.example.0x1"), S("a.example.0x1"), BAD,
	    "issue 20 ends in a hex number" },
	{ S("*.2.3.com"), S("1.2.3.com"), OK, "issue 20 numeric labels" },
	{ S("mail.example.com"), S("mail.example.com\0.evil"), BAD,
	    "A5.38 NUL in host" },
	{ S("*.example.com"), S("a\0b.example.com"), BAD, "A5.38 NUL" },
	{ S("mail.example.com"), S("mail.example.com.."), BAD,
	    "D10 one trailing dot only" },
	{ S("*.example.com"), S(L64 ".example.com"), BAD, "label of 64" },
	{ S("*.example.com"), S("-a.example.com"), BAD, "LDH host" },
	{ S("mail.example.com"), S("."), BAD, "empty host" },
	{ S("mail.example.com"), S(""), BAD, "empty host" },
};

static void
test_a5_38_mx_match(void **state)
{
	const struct match_row *t;
	char err[MTASTS_ERRLEN];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < NROWS(match_rows); i++) {
		t = &match_rows[i];
		err[0] = '\0';
		r = mtasts_mx_match(t->pat, t->plen, t->host, t->hlen, err,
		    sizeof(err));
		if (r != t->status)
			print_error("row %zu (%s): got %d '%s'\n", i, t->item,
			    r, err);
		assert_int_equal(r, t->status);
		if (r == MTASTS_EPARSE)	/* mtasts.h: "(with err)" */
			assert_true(err[0] != '\0');
		assert_int_equal(mtasts_mx_match(t->pat, t->plen, t->host,
		    t->hlen, NULL, 0), t->status);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_d9_mx_pattern_check),
		cmocka_unit_test(test_a5_38_mx_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
