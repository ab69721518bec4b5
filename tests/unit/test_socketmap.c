/*
 * test_socketmap.c - mtasts-socketmap's readers of client bytes:
 * netstrings (socketmap/netstring.c) and "NAME KEY" requests with
 * Postfix's next-hop keys (socketmap/request.c); and its answers
 * (socketmap/attr.c), with and without Postfix 3.10's TLSRPT
 * attributes, read back the way Postfix's smtp_tls_policy.c reads
 * them.  Hostile input per STYLE.md: embedded NUL, bare CR, overlong,
 * non-ASCII, each a row.
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

#include "../../socketmap/attr.h"
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


/* postfix-tlspol's map name asks for the TLSRPT attributes. */
static void
test_request_tlsrpt(void **state)
{
	static const struct {
		const char	*in;
		int		 tlsrpt;
	} rows[] = {
		{ "QUERYwithTLSRPT example.com", 1 },
		{ "querywithtlsrpt example.com", 1 },
		{ "QUERYwithTLSRPTx example.com", 0 },
		{ "QUERY example.com", 0 },
		{ "postfix example.com", 0 },
	};
	struct request	rq;
	size_t		i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		assert_int_equal(request_parse(rows[i].in, strlen(rows[i].in),
		    &rq), REQUEST_DOMAIN);
		assert_int_equal(rq.tlsrpt, rows[i].tlsrpt);
	}
}

/*
 * Answers.  Each is also read as Postfix's tls_policy_lookup_one()
 * reads it: tokens split on blanks and commas outside braces
 * (mystrtokq), a "{ name = value }" token unbraced with its blanks
 * normalised (extpar), then "name=value" (split_nameval).
 */
static const char *const attr_names[] = { "match", "servername",
	"policy_type", "policy_domain", "policy_string", "mx_host_pattern",
	"policy_failure", NULL };

static void
attr_check_syntax(const char *reply)
{
	const char	*p = reply, *t, *eq;
	size_t		 i;
	int		 depth, known;

	if (strcmp(reply, "NOTFOUND ") == 0)
		return;
	assert_true(strncmp(reply, "OK ", 3) == 0);
	p += 3;
	for (; *p != '\0'; p++)
		/* Printable ASCII only: Postfix checks replies are UTF-8
		 * and its attribute syntax has no escapes. */
		assert_true(*p == ' ' || (*p > ' ' && *p < 127));
	p = reply + 3;
	for (t = NULL; ; ) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		t = p;
		for (depth = 0; *p != '\0' && (depth > 0 ||
		    (*p != ' ' && *p != ',')); p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}')
				depth--;
			assert_true(depth >= 0 && depth <= 1);
		}
		assert_int_equal(depth, 0);
		if (t == reply + 3 && *t != '{') {	/* the level */
			assert_true(strncmp(t, "secure ", 7) == 0 ||
			    strncmp(t, "may ", 4) == 0 ||
			    strncmp(t, "encrypt ", 8) == 0 ||
			    strncmp(t, "dane ", 5) == 0 ||
			    strcmp(t, "may") == 0 || strcmp(t, "secure") == 0);
			continue;
		}
		if (*t == '{') {
			assert_true(p[-1] == '}');
			assert_true(memchr(t + 1, '{', (size_t)(p - t - 1)) ==
			    NULL);
			t++;
			while (*t == ' ')
				t++;
		}
		eq = memchr(t, '=', (size_t)(p - t));
		assert_non_null(eq);
		for (known = 0, i = 0; attr_names[i] != NULL; i++)
			if ((size_t)(eq - t) >= strlen(attr_names[i]) &&
			    strncmp(t, attr_names[i], strlen(attr_names[i])) ==
			    0)
				known = 1;
		assert_true(known);
	}
}

struct attr_row {
	const char	*domain;
	int		 has_policy;
	enum mtasts_mode mode;
	const char	*mx[4];
	const char	*text;
	const char	*failure;
	int		 tlsrpt;
	const char	*want;
	const char	*what;
};

#define POL_E	"version: STSv1\nmode: enforce\nmx: mx1.example.com\n" \
		"mx: *.example.com\nmax_age: 604800\n"
#define STR_E	" { policy_string = version: STSv1 }" \
		" { policy_string = mode: enforce }" \
		" { policy_string = mx: mx1.example.com }" \
		" { policy_string = mx: *.example.com }" \
		" { policy_string = max_age: 604800 }"
#define POL_T	"version: STSv1\r\nmode: testing\r\n" \
		"mx: mx.example.com\r\nmax_age: 86400\r\n"

static const struct attr_row attr_rows[] = {
	{ "example.com", 1, MTASTS_MODE_ENFORCE,
	    { "mx1.example.com", "*.example.com" }, POL_E, NULL, 0,
	    "OK secure match=mx1.example.com:.example.com "
	    "servername=hostname", "enforce: as postfix-mta-sts-resolver" },
	{ "example.com", 1, MTASTS_MODE_ENFORCE,
	    { "mx1.example.com", "*.example.com" }, POL_E, NULL, 1,
	    "OK secure match=mx1.example.com:.example.com servername=hostname"
	    " policy_type=sts policy_domain=example.com"
	    " mx_host_pattern=mx1.example.com mx_host_pattern=*.example.com"
	    STR_E, "enforce, attributes" },
	{ "example.com", 1, MTASTS_MODE_ENFORCE,
	    { "a.example.com", "a.example.com", "*.b.example.com" }, NULL,
	    NULL, 1, "OK secure match=a.example.com:.b.example.com "
	    "servername=hostname policy_type=sts policy_domain=example.com"
	    " mx_host_pattern=a.example.com mx_host_pattern=*.b.example.com",
	    "enforce: a pattern once; no text, no policy_string" },
	{ "example.com", 1, MTASTS_MODE_TESTING, { "mx.example.com" },
	    POL_T, NULL, 0, "NOTFOUND ", "testing: Postfix's default" },
	{ "example.com", 1, MTASTS_MODE_TESTING, { "mx.example.com" },
	    POL_T, NULL, 1, "OK may policy_type=sts policy_domain=example.com"
	    " mx_host_pattern=mx.example.com"
	    " { policy_string = version: STSv1 }"
	    " { policy_string = mode: testing }"
	    " { policy_string = mx: mx.example.com }"
	    " { policy_string = max_age: 86400 }",
	    "testing, attributes: may, CRLF lines without CR" },
	{ "example.com", 1, MTASTS_MODE_NONE, { NULL },
	    "version: STSv1\nmode: none\nmax_age: 86400\n", NULL, 1,
	    "NOTFOUND ", "none: no-policy-found, Postfix's own" },
	{ "example.com", 0, MTASTS_MODE_NONE, { NULL }, NULL, NULL, 1,
	    "NOTFOUND ", "no policy" },
	{ "example.com", 0, MTASTS_MODE_NONE, { NULL }, NULL,
	    "sts-policy-fetch-error", 1, "OK may policy_type=sts "
	    "policy_domain=example.com policy_failure=sts-policy-fetch-error",
	    "fetch failed: may, policy_failure" },
	{ "example.com", 0, MTASTS_MODE_NONE, { NULL }, NULL,
	    "sts-policy-invalid", 1, "OK may policy_type=sts "
	    "policy_domain=example.com policy_failure=sts-policy-invalid",
	    "invalid policy" },
	{ "example.com", 0, MTASTS_MODE_NONE, { NULL }, NULL,
	    "sts-webpki-invalid", 1, "OK may policy_type=sts "
	    "policy_domain=example.com policy_failure=sts-webpki-invalid",
	    "policy host's certificate" },
	{ "example.com", 0, MTASTS_MODE_NONE, { NULL }, NULL,
	    "sts-webpki-invalid", 0, "NOTFOUND ",
	    "fetch failed, no attributes asked" },
	{ "example.com", 0, MTASTS_MODE_NONE, { NULL }, NULL,
	    "dns-temporary", 1, "NOTFOUND ",
	    "not a policy_failure Postfix takes" },
	{ "example.com", 1, MTASTS_MODE_TESTING, { "mx.example.com" },
	    "version: STSv1\nmode: testing\nx: {a} b\x01" "c\tz  , y\n"
	    "y: \xc3\xa9=}\n\n \t \nmax_age: 1", NULL, 1,
	    "OK may policy_type=sts policy_domain=example.com"
	    " mx_host_pattern=mx.example.com"
	    " { policy_string = version: STSv1 }"
	    " { policy_string = mode: testing }"
	    " { policy_string = x: ?a? b?c z , y }"
	    " { policy_string = y: ?" "?=? }"
	    " { policy_string = max_age: 1 }",
	    "hostile lines: braces, controls, UTF-8, blanks; blank lines" },
	{ "example.com", 1, MTASTS_MODE_ENFORCE,
	    { "mx.example.com", "a b", "{x}" }, NULL, NULL, 1,
	    "OK secure match=mx.example.com servername=hostname"
	    " policy_type=sts policy_domain=example.com"
	    " mx_host_pattern=mx.example.com",
	    "a pattern that is no token is left out (fewer hosts, not more)" },
	{ "bad domain", 1, MTASTS_MODE_TESTING, { "mx.example.com" },
	    NULL, NULL, 1, "NOTFOUND ", "a domain that is no token" },
};

static void
test_attr_reply(void **state)
{
	const struct attr_row	*t;
	struct attr_policy	 p;
	size_t			 i, len;
	char			*r;

	(void)state;
	for (i = 0; i < NROWS(attr_rows); i++) {
		t = &attr_rows[i];
		memset(&p, 0, sizeof(p));
		p.domain = t->domain;
		p.has_policy = t->has_policy;
		p.mode = t->mode;
		p.mx = t->mx;
		for (p.nmx = 0; p.nmx < 4 && t->mx[p.nmx] != NULL; p.nmx++)
			;
		p.text = t->text;
		p.text_len = t->text != NULL ? strlen(t->text) : 0;
		p.failure = t->failure;
		r = attr_reply(&p, t->tlsrpt, &len);
		assert_non_null(r);
		if (strcmp(r, t->want) != 0)
			print_error("row %zu (%s):\n got  '%s'\n want '%s'\n",
			    i, t->what, r, t->want);
		assert_string_equal(r, t->want);
		assert_int_equal(len, strlen(r));
		attr_check_syntax(r);
		free(r);
	}
}

/* socketmap_tlsrpt_level: an answer that only carries attributes
 * (testing, failed fetch) replaces the admin's own level, so it is
 * that level; an enforce answer stays "secure", no attributes
 * "NOTFOUND" (Postfix's own level applies). */
static void
test_attr_level(void **state)
{
	static const char *const mx[] = { "mx.example.com" };
	static const struct {
		const char	*level;
		int		 has_policy;
		enum mtasts_mode mode;
		int		 tlsrpt;
		const char	*want;
	} rows[] = {
		{ NULL, 1, MTASTS_MODE_TESTING, 1, "OK may policy_type=sts " },
		{ "may", 1, MTASTS_MODE_TESTING, 1, "OK may policy_type=sts " },
		{ "encrypt", 1, MTASTS_MODE_TESTING, 1,
		    "OK encrypt policy_type=sts " },
		{ "dane", 1, MTASTS_MODE_TESTING, 1,
		    "OK dane policy_type=sts " },
		{ "encrypt", 0, MTASTS_MODE_NONE, 1,
		    "OK encrypt policy_type=sts " },
		{ "dane", 0, MTASTS_MODE_NONE, 1, "OK dane policy_type=sts " },
		{ "dane", 1, MTASTS_MODE_ENFORCE, 1, "OK secure match=" },
		{ "encrypt", 1, MTASTS_MODE_TESTING, 0, "NOTFOUND " },
		{ "none", 1, MTASTS_MODE_TESTING, 1, "OK may policy_type=sts " },
	};
	struct attr_policy	 p;
	size_t			 i, len;
	char			*r;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		memset(&p, 0, sizeof(p));
		p.domain = "example.com";
		p.has_policy = rows[i].has_policy;
		p.mode = rows[i].mode;
		p.mx = mx;
		p.nmx = rows[i].has_policy ? 1 : 0;
		p.failure = "sts-policy-fetch-error";
		p.level = rows[i].level;
		r = attr_reply(&p, rows[i].tlsrpt, &len);
		assert_non_null(r);
		if (strncmp(r, rows[i].want, strlen(rows[i].want)) != 0)
			print_error("row %zu: got '%s'\n", i, r);
		assert_memory_equal(r, rows[i].want, strlen(rows[i].want));
		attr_check_syntax(r);
		free(r);
	}
}

/* A policy with thousands of mx lines (64 KiB allows ~6000): with the
 * attributes the answer would pass Postfix's socketmap_max_reply_size
 * (100000) and the mail be deferred; it is given without them, as
 * without TLSRPT: testing never stops delivery (RFC 8461 §5), enforce
 * keeps every pattern. */
static void
test_attr_big(void **state)
{
	static char		 names[6000][24];
	static const char	*mx[6000];
	struct attr_policy	 p;
	size_t			 i, len;
	char			*r;

	(void)state;
	for (i = 0; i < 6000; i++) {
		/* "mx: m123.e.x" lines: 6000 fit in a 64 KiB policy */
		snprintf(names[i], sizeof(names[i]), "m%zu.e.x", i);
		mx[i] = names[i];
	}
	memset(&p, 0, sizeof(p));
	p.domain = "example.com";
	p.has_policy = 1;
	p.mx = mx;
	p.nmx = 6000;
	p.mode = MTASTS_MODE_TESTING;
	r = attr_reply(&p, 1, &len);
	assert_non_null(r);
	assert_string_equal(r, "NOTFOUND ");
	free(r);
	p.mode = MTASTS_MODE_ENFORCE;
	r = attr_reply(&p, 1, &len);
	assert_non_null(r);
	assert_true(len <= ATTR_REPLY_MAX);
	assert_memory_equal(r, "OK secure match=m0.e.x:m1.e.x:", 30);
	assert_non_null(strstr(r, ":m5999.e.x servername=hostname"));
	assert_null(strstr(r, "policy_type"));
	attr_check_syntax(r);
	free(r);
	p.nmx = 3;			/* a usual policy keeps them */
	r = attr_reply(&p, 1, &len);
	assert_non_null(strstr(r, " policy_type=sts "));
	free(r);
}

/* Every byte value in a policy line, and a policy far over the
 * budget: the syntax holds and the strings stay within it. */
static void
test_attr_hostile(void **state)
{
	static char		 text[70000];
	static const char *const mx[] = { "mx.example.com" };
	struct attr_policy	 p;
	size_t			 i, len, n;
	const char		*s;
	char			*r;

	(void)state;
	for (i = 0, n = 0; i < 256; i++) {
		text[n++] = 'k';
		text[n++] = ':';
		text[n++] = (char)i;
		text[n++] = (char)(255 - i);
		text[n++] = '\n';
	}
	while (n + 40 < sizeof(text)) {
		memcpy(text + n, "mx: padding-padding-padding.example\n", 36);
		n += 36;
	}
	memset(&p, 0, sizeof(p));
	p.domain = "example.com";
	p.has_policy = 1;
	p.mode = MTASTS_MODE_ENFORCE;
	p.mx = mx;
	p.nmx = 1;
	p.text = text;
	p.text_len = n;
	r = attr_reply(&p, 1, &len);
	assert_non_null(r);
	attr_check_syntax(r);
	s = strstr(r, " { policy_string");
	assert_non_null(s);
	assert_true(strlen(s) <= ATTR_STRINGS_MAX);
	assert_true(strlen(s) > ATTR_STRINGS_MAX - 100);
	free(r);
}

struct esc_row {
	const char	*in;
	size_t		 len;
	const char	*want;
};

static const struct esc_row esc_rows[] = {
	{ S("mode: enforce"), "mode: enforce" },
	{ S("  a\t \tb  "), "a b" },
	{ S("{x=y}"), "?x=y?" },
	{ S("a\0b"), "a?b" },
	{ S("a\rb\n"), "a?b?" },
	{ S("\x7f\x80\xff"), "???" },
	{ S(" \t "), "" },
	{ S(""), "" },
};

static void
test_attr_escape(void **state)
{
	char	buf[64];
	size_t	i, n;

	(void)state;
	for (i = 0; i < NROWS(esc_rows); i++) {
		n = attr_escape(buf, sizeof(buf), esc_rows[i].in,
		    esc_rows[i].len);
		assert_string_equal(buf, esc_rows[i].want);
		assert_int_equal(n, strlen(esc_rows[i].want));
	}
	/* A short buffer: truncated, still NUL-terminated. */
	n = attr_escape(buf, 4, "abcdef", 6);
	assert_int_equal(n, 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(attr_escape(buf, 0, "a", 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netstring_parse),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_request_tlsrpt),
		cmocka_unit_test(test_attr_reply),
		cmocka_unit_test(test_attr_level),
		cmocka_unit_test(test_attr_big),
		cmocka_unit_test(test_attr_hostile),
		cmocka_unit_test(test_attr_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
