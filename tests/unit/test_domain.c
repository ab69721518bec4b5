/*
 * test_domain.c - mtasts_domain_normalize(): lowercase, one trailing dot
 * dropped, U-labels to A-labels (IDNA2008 via libidn2), then an LDH
 * host name with labels of 1-63 and at most 253 octets.  Policy domains
 * and MX names are A-labels (checklist A0.1, A2.19, B2.14), compared
 * without case (A5.38, D10); see mtasts.h for the contract.
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
#define BAD	MTASTS_EPARSE

#define L63	"a2345678901234567890123456789012" \
	"3456789012345678901234567890123"
#define L64	L63 "4"
/* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 octets */
#define N253	L63 "." L63 "." L63 "." \
	"a234567890123456789012345678901234567890123456789012345678901"
/* 59 ASCII letters and one u-umlaut: its A-label is over 63 octets. */
#define U60	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"\xc3\xbc"

struct row {
	const char	*in;
	size_t		 len;
	int		 status;
	const char	*out;		/* expected when MTASTS_OK */
	const char	*item;
};

static const struct row rows[] = {
	{ S("example.com"), OK, "example.com", "A0.1" },
	{ S("Example.COM"), OK, "example.com", "A5.38 lowercase" },
	{ S("example.com."), OK, "example.com", "A5.38 D10 trailing dot" },
	{ S("EXAMPLE.COM."), OK, "example.com", "A5.38 D10" },
	{ S("localhost"), OK, "localhost", "one label" },
	{ S(L63 ".example"), OK, L63 ".example", "label of 63" },
	{ S(N253), OK, N253, "253 octets" },
	{ S(N253 "."), OK, N253, "253 octets and the root dot" },
	{ S("b\xc3\xbc" "cher.example"), OK, "xn--bcher-kva.example",
	    "A2.19 U-label to A-label" },
	{ S("mail.B\xc3\xbc" "cher.EXAMPLE."), OK,
	    "mail.xn--bcher-kva.example", "A2.19 U-label, ASCII case, dot" },
	{ S("m\xc3\xbcnchen.example"), OK, "xn--mnchen-3ya.example",
	    "A2.19" },
	{ S("fa\xc3\x9f.example"), OK, "xn--fa-hia.example",
	    "IDNA2008 keeps sharp s (not 'fass')" },
	{ S("xn--bcher-kva.example"), OK, "xn--bcher-kva.example",
	    "A2.19 A-label kept" },
	{ S("XN--BCHER-KVA.Example"), OK, "xn--bcher-kva.example",
	    "A2.19 A-label lowercased" },
	{ S(""), BAD, NULL, "empty" },
	{ S("."), BAD, NULL, "root only" },
	{ S("example.com.."), BAD, NULL, "one trailing dot only" },
	{ S(".example.com"), BAD, NULL, "empty label" },
	{ S("mail..example.com"), BAD, NULL, "empty label" },
	{ S(L64 ".example"), BAD, NULL, "label of 64" },
	{ S(N253 "4"), BAD, NULL, "254 octets" },
	{ S(U60 ".example"), BAD, NULL, "A-label of more than 63" },
	{ S("exa mple.com"), BAD, NULL, "LDH: SP" },
	{ S("exa_mple.com"), BAD, NULL, "LDH: '_'" },
	{ S("-example.com"), BAD, NULL, "LDH: leading '-'" },
	{ S("example-.com"), BAD, NULL, "LDH: trailing '-'" },
	{ S("*.example.com"), BAD, NULL, "LDH: '*'" },
	{ S("example.com:25"), BAD, NULL, "A4.35 no port" },
	{ S("[192.0.2.1]"), BAD, NULL, "A4.35 no address literal" },
	{ S("example.com\0.evil"), BAD, NULL, "NUL" },
	{ S("\0"), BAD, NULL, "NUL" },
	{ S("example.com\r\n"), BAD, NULL, "CRLF" },
	{ S("\xff.example"), BAD, NULL, "not UTF-8" },
	{ S("b\xc3.example"), BAD, NULL, "truncated UTF-8" },
	{ S("\xc0\xae" "example"), BAD, NULL, "overlong UTF-8 '.'" },
	{ S("\xe2\x98\x83.example"), BAD, NULL, "IDNA2008 disallowed" },
	{ S("\xc3\xbc_x.example"), BAD, NULL, "'_' in a U-label" },
	{ S("xn--zz.example"), BAD, NULL, "A2.19 not Punycode" },
};

static void
check_row(size_t i, const struct row *t)
{
	char out[MTASTS_DOMAIN_MAX + 1], err[MTASTS_ERRLEN];
	int r;

	err[0] = '\0';
	memset(out, 'Z', sizeof(out));
	r = mtasts_domain_normalize(t->in, t->len, out, sizeof(out), err,
	    sizeof(err));
	if (r != t->status || (r == OK && strcmp(out, t->out) != 0))
		print_error("row %zu (%s): got %d '%.*s' err '%s'\n", i,
		    t->item, r, r == OK ? (int)strlen(out) : 0, out, err);
	assert_int_equal(r, t->status);
	if (r == OK)
		assert_string_equal(out, t->out);
	else
		assert_true(err[0] != '\0');
}

static void
test_domain_normalize(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++)
		check_row(i, &rows[i]);
}

/* mtasts.h: EINVAL is a bad argument from the caller. */
static void
test_domain_bad_arguments(void **state)
{
	char out[MTASTS_DOMAIN_MAX + 1], small[8], err[MTASTS_ERRLEN];

	(void)state;
	assert_int_equal(mtasts_domain_normalize(NULL, 3, out, sizeof(out),
	    err, sizeof(err)), MTASTS_EINVAL);
	assert_int_equal(mtasts_domain_normalize(S("a.b"), NULL, 10, err,
	    sizeof(err)), MTASTS_EINVAL);
	assert_int_equal(mtasts_domain_normalize(S("a.b"), out, 0, err,
	    sizeof(err)), MTASTS_EINVAL);
	/* A buffer below the documented size never overflows. */
	assert_int_not_equal(mtasts_domain_normalize(S("mail.example.com"),
	    small, sizeof(small), NULL, 0), MTASTS_OK);
	assert_int_not_equal(mtasts_domain_normalize(S("b\xc3\xbc" "cher.ex"),
	    small, sizeof(small), NULL, 0), MTASTS_OK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_normalize),
		cmocka_unit_test(test_domain_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
