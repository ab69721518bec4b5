/*
 * test_policy.c - the policy file (RFC 8461 §3.2): line ends (A2.16,
 * D1), fields and values (A2.17-A2.20, D6, D8, D9), unknown and
 * duplicate fields (A2.21, A2.22, D5), required fields (A2.23, D7), size
 * (A3.29, D16), and mtasts_policy_match() (A5.38, D10).  Expectations
 * come from docs/conformance.md; rows cite items.
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

#define S(s)		s, sizeof(s) - 1
#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* Building blocks of rows. */
#define V	"version: STSv1\n"
#define ME	"mode: enforce\n"
#define MX	"mx: mail.example.com\n"
#define MA	"max_age: 604800\n"
#define AGE(x)	V ME MX "max_age: " x "\n"
#define MXP(x)	V ME MA "mx: " x "\n"
#define EXT(x)	V ME MX MA x "\n"

#define OK	MTASTS_OK
#define BAD	MTASTS_EPARSE
#define NONE	MTASTS_MODE_NONE
#define TEST	MTASTS_MODE_TESTING
#define ENF	MTASTS_MODE_ENFORCE
#define W0	""		/* no warning at all */
#define WX	NULL		/* warnings not checked */

#define RFC_EXAMPLE	"version: STSv1\nmode: enforce\n" \
	"mx: mail.example.com\nmx: *.example.net\n" \
	"mx: backupmx.example.com\nmax_age: 604800\n"
#define RFC_MX		"mail.example.com *.example.net backupmx.example.com"
#define NAME32		"a23456789012345678901234567890_."

struct row {
	const char	*in;
	size_t		 len;
	int		 status;
	enum mtasts_mode mode;
	uint32_t	 max_age;
	const char	*mx;		/* the patterns, joined by one SP */
	const char	*warn;		/* in some warning; W0: none; WX */
	int		 line;		/* line the error names, 0: none */
	const char	*item;
};

static const struct row good_rows[] = {
	{ S(RFC_EXAMPLE), OK, ENF, 604800, RFC_MX, W0, 0, "A2.20 RFC example" },
	{ S("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	    "mx: *.example.net\r\nmx: backupmx.example.com\r\n"
	    "max_age: 604800\r\n"), OK, ENF, 604800, RFC_MX, W0, 0,
	    "A2.16 D1 CRLF" },
	{ S("version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\n"
	    "max_age: 604800\n"), OK, ENF, 604800, "mail.example.com", W0, 0,
	    "D1 LF or CRLF per line" },
	{ S(V ME MX "max_age: 604800"), OK, ENF, 604800, "mail.example.com",
	    W0, 0, "A2.20 [sts-policy-term]" },
	{ S(V ME MX "max_age: 604800\r\n"), OK, ENF, 604800,
	    "mail.example.com", W0, 0, "A2.20 final CRLF" },
	{ S(MA MX ME V), OK, ENF, 604800, "mail.example.com", W0, 0,
	    "A2.20 any order, version need not be first" },
	{ S(V "mode: testing\n" MX MA), OK, TEST, 604800, "mail.example.com",
	    W0, 0, "A2.17 testing" },
	{ S(V "mode: none\n" MA), OK, NONE, 604800, "", W0, 0,
	    "A2.23 D7 none needs no mx" },
	{ S(V "mode: none\n" MX MA), OK, NONE, 604800, "mail.example.com",
	    W0, 0, "A2.17 none with mx" },
	{ S(V "mode:enforce\n" MX MA), OK, ENF, 604800, "mail.example.com",
	    W0, 0, "A2.20 ':' *WSP, no WSP" },
	{ S(V "mode:\t  enforce\n" MX MA), OK, ENF, 604800,
	    "mail.example.com", W0, 0, "A2.20 ':' *WSP" },
	{ S(V "mode: enforce \t\r\n" MX MA), OK, ENF, 604800,
	    "mail.example.com", W0, 0, "A2.20 trailing WSP" },
	{ S(AGE("0")), OK, ENF, 0, "mail.example.com", WX, 0, "A2.18 D8 0" },
	{ S(AGE("1")), OK, ENF, 1, "mail.example.com", WX, 0, "A2.18 D8" },
	{ S(AGE("31557600")), OK, ENF, 31557600, "mail.example.com", W0, 0,
	    "A2.18 D8 maximum" },
	{ S(AGE("0000086400")), OK, ENF, 86400, "mail.example.com", W0, 0,
	    "A2.18 D8 leading zeros, 10 digits" },
	{ S(MXP("MAIL.Example.COM")), OK, ENF, 604800, "mail.example.com",
	    W0, 0, "A5.38 mtasts.h: patterns lowercase" },
	{ S(MXP("xn--bcher-kva.example")), OK, ENF, 604800,
	    "xn--bcher-kva.example", W0, 0, "A2.19 A-label" },
	{ S(MXP("*.com")), OK, ENF, 604800, "*.com", "*.com", 0,
	    "A5.38 §10.4 weak pattern warns" },
	{ S(V ME MX MX MA), OK, ENF, 604800,
	    "mail.example.com mail.example.com", W0, 0, "A2.19 mx repeats" },
	{ S(EXT("foo: bar")), OK, ENF, 604800, "mail.example.com", WX, 0,
	    "A2.21 unknown field ignored" },
	{ S(EXT("note: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7")), OK, ENF,
	    604800, "mail.example.com", WX, 0, "A2.20 UTF-8 in ext value" },
	{ S(EXT("x: a b  c")), OK, ENF, 604800, "mail.example.com", WX, 0,
	    "A2.20 SP inside ext value" },
	{ S(EXT(NAME32 ": 1")), OK, ENF, 604800, "mail.example.com", WX, 0,
	    "A2.20 ext-name of 32" },
	{ S(EXT("0a_b-c.d: 1")), OK, ENF, 604800, "mail.example.com", WX, 0,
	    "A2.20 ext-name chars" },
	{ S(V ME MX MA "MODE: testing\n"), OK, ENF, 604800,
	    "mail.example.com", WX, 0, "D6 MODE: is an extension" },
	{ S(V ME MX MA "mode: testing\n"), OK, ENF, 604800,
	    "mail.example.com", "mode", 0, "A2.22 D5 first mode wins" },
	{ S(V ME MX MA "mode: enforced\n"), OK, ENF, 604800,
	    "mail.example.com", "mode", 0, "D5 any later value" },
	{ S(V ME MX MA "mode: t\xc3\xa9sting\n"), OK, ENF, 604800,
	    "mail.example.com", "mode", 0, "D5 any later value (UTF-8)" },
	{ S(V ME MX MA "version: STSv2\n"), OK, ENF, 604800,
	    "mail.example.com", "version", 0, "D5 version: STSv2 ignored" },
	{ S(V ME MX MA "max_age: 1e3\n"), OK, ENF, 604800,
	    "mail.example.com", "max_age", 0, "A2.22 D5 first max_age" },
	{ S(V ME MX "max_age: 604800\nmax_age: 86400\n"), OK, ENF, 604800,
	    "mail.example.com", "max_age", 0, "A2.22 D5 first max_age" },
};

static const struct row bad_rows[] = {
	{ S(""), BAD, 0, 0, NULL, NULL, 0, "A2 empty body" },
	{ S("\n"), BAD, 0, 0, NULL, NULL, 1, "D6 blank line" },
	{ S(V ME MX MA "\n"), BAD, 0, 0, NULL, NULL, 5, "D6 trailing blank" },
	{ S(V ME MX MA "\r\n"), BAD, 0, 0, NULL, NULL, 5, "D6 trailing CRLF" },
	{ S(V "\n" ME MX MA), BAD, 0, 0, NULL, NULL, 2, "D6 blank line" },
	{ S(V "   \n" ME MX MA), BAD, 0, 0, NULL, NULL, 2, "D6 WSP line" },
	{ S("version: STSv1\rmode: enforce\n" MX MA), BAD, 0, 0, NULL, NULL,
	    1, "A2.16 D1 bare CR" },
	{ S("version: STSv1\r\r\n" ME MX MA), BAD, 0, 0, NULL, NULL, 1,
	    "D1 CR CR LF" },
	{ S(V ME MX "max_age: 604800\r"), BAD, 0, 0, NULL, NULL, 4,
	    "D1 bare CR at the end" },
	{ S(V ME "\r\n" MX MA), BAD, 0, 0, NULL, NULL, 3, "D6 blank CRLF" },
	{ S(V " mode: enforce\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "D6 WSP at line start" },
	{ S(V "mode : enforce\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "D6 WSP before ':'" },
	{ S(V "mode enforce\n" MX MA), BAD, 0, 0, NULL, NULL, 2, "D6 no ':'" },
	{ S(EXT("foo")), BAD, 0, 0, NULL, NULL, 5, "D6 no ':'" },
	{ S(EXT(": value")), BAD, 0, 0, NULL, NULL, 5, "D6 no name" },
	{ S(EXT("ext:")), BAD, 0, 0, NULL, NULL, 5, "D6 empty ext value" },
	{ S(EXT("ext: \t ")), BAD, 0, 0, NULL, NULL, 5, "D6 empty ext" },
	{ S(EXT("ext: a\tb")), BAD, 0, 0, NULL, NULL, 5, "D6 HTAB in value" },
	{ S(EXT("ext: a\fb")), BAD, 0, 0, NULL, NULL, 5, "D6 FF in value" },
	{ S(EXT("ext: a\vb")), BAD, 0, 0, NULL, NULL, 5, "D6 VT in value" },
	{ S(EXT("ext: a\x7f")), BAD, 0, 0, NULL, NULL, 5, "D6 DEL" },
	{ S(EXT("ext: a\0b")), BAD, 0, 0, NULL, NULL, 5, "D6 NUL in value" },
	{ S(V ME MX MA "\0"), BAD, 0, 0, NULL, NULL, 5, "D6 NUL line" },
	{ S(V "mode: enforce\0\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "D6 NUL after value" },
	{ S(EXT(NAME32 "x: 1")), BAD, 0, 0, NULL, NULL, 5, "D6 name of 33" },
	{ S(EXT("_ext: 1")), BAD, 0, 0, NULL, NULL, 5, "D6 ext-name" },
	{ S(EXT("e/x: 1")), BAD, 0, 0, NULL, NULL, 5, "D6 ext-name" },
	{ S(EXT("caf\xc3\xa9: 1")), BAD, 0, 0, NULL, NULL, 5,
	    "A2.20 UTF-8 only in ext values" },
	{ S("\xef\xbb\xbf" V ME MX MA), BAD, 0, 0, NULL, NULL, 1, "D6 BOM" },
	{ S(EXT("ext: \xff")), BAD, 0, 0, NULL, NULL, 5, "A2.20 not UTF-8" },
	{ S(EXT("ext: \xc0\xaf")), BAD, 0, 0, NULL, NULL, 5,
	    "A2.20 overlong UTF-8" },
	{ S(EXT("ext: \xed\xa0\x80")), BAD, 0, 0, NULL, NULL, 5,
	    "A2.20 UTF-8 surrogate" },
	{ S(EXT("ext: a\xc3")), BAD, 0, 0, NULL, NULL, 5,
	    "A2.20 truncated UTF-8" },
	{ S(V "mode: enforc\xc3\xa9\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "A2.17 UTF-8 in mode" },
	{ S(ME MX MA), BAD, 0, 0, NULL, NULL, 0, "A2.23 no version" },
	{ S(V MX MA), BAD, 0, 0, NULL, NULL, 0, "A2.23 no mode" },
	{ S(V ME MX), BAD, 0, 0, NULL, NULL, 0, "A2.23 no max_age" },
	{ S(V ME MA), BAD, 0, 0, NULL, NULL, 0, "A2.23 enforce needs mx" },
	{ S(V "mode: testing\n" MA), BAD, 0, 0, NULL, NULL, 0,
	    "A2.23 testing needs mx" },
	{ S(V "MODE: enforce\n" MX MA), BAD, 0, 0, NULL, NULL, 0,
	    "D6 MODE: is no mode" },
	{ S("Version: STSv1\n" ME MX MA), BAD, 0, 0, NULL, NULL, 0,
	    "D6 Version: is no version" },
	{ S("version: STSv2\n" ME MX MA), BAD, 0, 0, NULL, NULL, 1,
	    "A2.17 only STSv1" },
	{ S("version: stsv1\n" ME MX MA), BAD, 0, 0, NULL, NULL, 1,
	    "A2.20 %s\"STSv1\"" },
	{ S("version: STSv1.0\n" ME MX MA), BAD, 0, 0, NULL, NULL, 1,
	    "A2.17 only STSv1" },
	{ S(V "mode: Enforce\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "A2.17 mode case-sensitive" },
	{ S(V "mode: ENFORCE\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "A2.17 mode case-sensitive" },
	{ S(V "mode: enforced\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "A2.17 mode values" },
	{ S(V "mode: en force\n" MX MA), BAD, 0, 0, NULL, NULL, 2,
	    "A2.17 mode values" },
	{ S(V ME MX MA "mode:\n"), BAD, 0, 0, NULL, NULL, 5,
	    "D5 a later duplicate must still be a field" },
	{ S(AGE("")), BAD, 0, 0, NULL, NULL, 4, "A2.18 D8 empty" },
	{ S(AGE("-1")), BAD, 0, 0, NULL, NULL, 4, "D8 sign" },
	{ S(AGE("+5")), BAD, 0, 0, NULL, NULL, 4, "D8 sign" },
	{ S(AGE("-0")), BAD, 0, 0, NULL, NULL, 4, "D8 sign" },
	{ S(AGE("86_400")), BAD, 0, 0, NULL, NULL, 4, "D8 '_'" },
	{ S(AGE("86400.0")), BAD, 0, 0, NULL, NULL, 4, "D8 '.'" },
	{ S(AGE("1e3")), BAD, 0, 0, NULL, NULL, 4, "D8 exponent" },
	{ S(AGE("0x10")), BAD, 0, 0, NULL, NULL, 4, "D8 hex" },
	{ S(AGE("86 400")), BAD, 0, 0, NULL, NULL, 4, "D8 inner space" },
	{ S(AGE("31557601")), BAD, 0, 0, NULL, NULL, 4, "A2.18 D8 > max" },
	{ S(AGE("9999999999")), BAD, 0, 0, NULL, NULL, 4, "D8 10 digits" },
	{ S(AGE("00000086400")), BAD, 0, 0, NULL, NULL, 4, "D8 11 digits" },
	{ S(AGE("18446744073709551617")), BAD, 0, 0, NULL, NULL, 4,
	    "D8 2^64+1" },
	{ S(MXP("")), BAD, 0, 0, NULL, NULL, 4, "D9 empty mx" },
	{ S(MXP("mail.example.com.")), BAD, 0, 0, NULL, NULL, 4,
	    "D9 trailing dot" },
	{ S(MXP("mail_1.example.com")), BAD, 0, 0, NULL, NULL, 4, "D9 '_'" },
	{ S(MXP("m\xc3\xa4il.example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "A2.19 D9 U-label" },
	{ S(MXP("*.*.example.com")), BAD, 0, 0, NULL, NULL, 4, "D9 two *" },
	{ S(MXP("mail*.example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "D9 D11 partial wildcard" },
	{ S(MXP("*mail.example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "D9 D11 partial wildcard" },
	{ S(MXP("mail.*.example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "D9 * not left-most" },
	{ S(MXP("*")), BAD, 0, 0, NULL, NULL, 4, "D9 bare *" },
	{ S(MXP("*.")), BAD, 0, 0, NULL, NULL, 4, "D9 *. alone" },
	{ S(MXP(".example.com")), BAD, 0, 0, NULL, NULL, 4, "D9 empty label" },
	{ S(MXP("mail..example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "D9 empty label" },
	{ S(MXP("mail.example.com:25")), BAD, 0, 0, NULL, NULL, 4, "D9 port" },
	{ S(MXP("[192.0.2.1]")), BAD, 0, 0, NULL, NULL, 4, "D9 literal" },
	{ S(MXP("a.example.com b.example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "A2.19 D9 one pattern per line" },
	{ S(MXP("a.example.com,b.example.com")), BAD, 0, 0, NULL, NULL, 4,
	    "A2.19 D9 one pattern per line" },
	{ S(MXP("-mail.example.com")), BAD, 0, 0, NULL, NULL, 4, "D9 LDH" },
	{ S(MXP("mail-.example.com")), BAD, 0, 0, NULL, NULL, 4, "D9 LDH" },
	{ S(MXP("a2345678901234567890123456789012"
	    "34567890123456789012345678901234.example.com")), BAD, 0, 0,
	    NULL, NULL, 4, "D9 label of 64" },
	{ S(V ME "mx: a.example.com\nmx: b_.example.com\nmx: c.example.com\n"
	    MA), BAD, 0, 0, NULL, NULL, 4, "D9 one bad mx spoils all" },
};

/* The patterns joined by one SP, as in the rows. */
static void
join_mx(const struct mtasts_policy *pol, char *buf, size_t size)
{
	size_t i, o = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < mtasts_policy_mx_count(pol); i++) {
		n = snprintf(buf + o, size - o, "%s%s", i ? " " : "",
		    mtasts_policy_mx(pol, i));
		assert_true(n >= 0 && (size_t)n < size - o);
		o += (size_t)n;
	}
}

/* Is warn in some warning (W0: are there none)? */
static int
has_warning(const struct mtasts_policy *pol, const char *warn)
{
	size_t i, n = mtasts_policy_warning_count(pol);

	if (warn == NULL)
		return 1;
	if (warn[0] == '\0')
		return n == 0;
	for (i = 0; i < n; i++)
		if (strstr(mtasts_policy_warning(pol, i), warn) != NULL)
			return 1;
	return 0;
}

static void
check_good(size_t i, const struct row *t)
{
	struct mtasts_policy *pol = NULL;
	char err[MTASTS_ERRLEN] = "", mx[512];
	int r;

	r = mtasts_policy_parse(t->in, t->len, &pol, err, sizeof(err));
	if (r != MTASTS_OK)
		print_error("row %zu (%s): got %d '%s'\n", i, t->item, r, err);
	assert_int_equal(r, MTASTS_OK);
	assert_non_null(pol);
	join_mx(pol, mx, sizeof(mx));
	if (mtasts_policy_mode(pol) != t->mode || strcmp(mx, t->mx) != 0 ||
	    mtasts_policy_max_age(pol) != t->max_age ||
	    !has_warning(pol, t->warn))
		print_error("row %zu (%s): mode %d max_age %u mx '%s' "
		    "warnings %zu\n", i, t->item, mtasts_policy_mode(pol),
		    mtasts_policy_max_age(pol), mx,
		    mtasts_policy_warning_count(pol));
	assert_int_equal(mtasts_policy_mode(pol), t->mode);
	assert_int_equal(mtasts_policy_max_age(pol), t->max_age);
	assert_string_equal(mx, t->mx);
	assert_true(has_warning(pol, t->warn));
	mtasts_policy_free(pol);
}

static void
check_bad(size_t i, const struct row *t)
{
	struct mtasts_policy *pol = (struct mtasts_policy *)1;
	char err[MTASTS_ERRLEN] = "", line[32];
	int r;

	r = mtasts_policy_parse(t->in, t->len, &pol, err, sizeof(err));
	snprintf(line, sizeof(line), "line %d:", t->line);
	if (r != t->status || (t->line > 0 && strstr(err, line) == NULL))
		print_error("row %zu (%s): got %d '%s', want %d at %s\n", i,
		    t->item, r, err, t->status, line);
	assert_int_equal(r, t->status);
	assert_null(pol);	/* mtasts.h: on error *out is NULL */
	assert_true(err[0] != '\0');
	if (t->line > 0)	/* mtasts.h: err names the line */
		assert_non_null(strstr(err, line));
}

static void
test_a2_policy_good(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(good_rows); i++)
		check_good(i, &good_rows[i]);
}

static void
test_a2_policy_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(bad_rows); i++)
		check_bad(i, &bad_rows[i]);
}

/* A body of exactly size bytes: a valid policy padded by an extension. */
static char *
padded_policy(size_t size)
{
	static const char head[] = V ME MX MA "pad: ";
	char *p;

	p = malloc(size);
	assert_non_null(p);
	assert_true(size > sizeof(head));
	memcpy(p, head, sizeof(head) - 1);
	memset(p + sizeof(head) - 1, 'x', size - sizeof(head));
	p[size - 1] = '\n';
	return p;
}

/* A3.29, D16: at most 65536 bytes; a 1 MiB line is refused. */
static void
test_d16_policy_size(void **state)
{
	struct mtasts_policy *pol;
	char err[MTASTS_ERRLEN];
	char *p;

	(void)state;
	p = padded_policy(MTASTS_POLICY_MAX);
	assert_int_equal(mtasts_policy_parse(p, MTASTS_POLICY_MAX, &pol,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_policy_mode(pol), MTASTS_MODE_ENFORCE);
	mtasts_policy_free(pol);
	free(p);
	p = padded_policy(MTASTS_POLICY_MAX + 1);
	assert_int_equal(mtasts_policy_parse(p, MTASTS_POLICY_MAX + 1, &pol,
	    err, sizeof(err)), MTASTS_EPARSE);
	assert_null(pol);
	free(p);
	p = padded_policy(1 << 20);
	assert_int_equal(mtasts_policy_parse(p, 1 << 20, &pol, err,
	    sizeof(err)), MTASTS_EPARSE);
	assert_null(pol);
	free(p);
}

struct match_row {
	const char	*host;
	size_t		 len;
	int		 status;
	const char	*item;
};

static const struct match_row match_rows[] = {
	{ S("mail.example.com"), MTASTS_OK, "A5.38 exact" },
	{ S("MAIL.Example.COM"), MTASTS_OK, "A5.38 D10 case" },
	{ S("mail.example.com."), MTASTS_OK, "A5.38 D10 trailing dot" },
	{ S("backupmx.example.com"), MTASTS_OK, "A5.37 any pattern" },
	{ S("mx1.example.net"), MTASTS_OK, "A5.38 *. one label" },
	{ S("example.net"), MTASTS_ENOMATCH, "A5.38 D10 not the parent" },
	{ S("a.b.example.net"), MTASTS_ENOMATCH, "A5.38 D10 not two labels" },
	{ S("example.com"), MTASTS_ENOMATCH, "A5.38 no suffix match" },
	{ S("mail.example.com.evil.net"), MTASTS_ENOMATCH, "A5.38" },
	{ S("xmail.example.com"), MTASTS_ENOMATCH, "A5.38" },
	{ S("mail.example.com\0.evil"), MTASTS_ENOMATCH, "A5.38 NUL host" },
	{ S("*.example.net"), MTASTS_ENOMATCH, "A11.63 literal *" },
	{ S(""), MTASTS_ENOMATCH, "A5.38 empty host" },
};

/* A5.37, A5.38: at least one mx pattern must match the MX host. */
static void
test_a5_policy_match(void **state)
{
	const struct match_row *t;
	struct mtasts_policy *pol;
	size_t i;
	int r;

	(void)state;
	assert_int_equal(mtasts_policy_parse(S(RFC_EXAMPLE), &pol, NULL, 0),
	    MTASTS_OK);
	for (i = 0; i < NROWS(match_rows); i++) {
		t = &match_rows[i];
		r = mtasts_policy_match(pol, t->host, t->len);
		if (r != t->status)
			print_error("row %zu (%s): got %d\n", i, t->item, r);
		assert_int_equal(r, t->status);
	}
	mtasts_policy_free(pol);
	/* D7: a "none" policy without mx has nothing to match. */
	assert_int_equal(mtasts_policy_parse(S(V "mode: none\n" MA), &pol,
	    NULL, 0), MTASTS_OK);
	assert_int_equal(mtasts_policy_match(pol, S("mail.example.com")),
	    MTASTS_ENOMATCH);
	mtasts_policy_free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a2_policy_good),
		cmocka_unit_test(test_a2_policy_bad),
		cmocka_unit_test(test_d16_policy_size),
		cmocka_unit_test(test_a5_policy_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
