/*
 * test_sendmail.c - a TLS report as mail (cli/mail.c): the mailto: rua
 * reduced to one plain address (hostile DNS input: header injection,
 * several addresses, bad escapes; checklist B1.1, D22) and the RFC 8460
 * §5.3 message (checklist B3.18, D21).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "send.h"

struct row {
	const char	*uri;
	const char	*addr;		/* NULL: refused */
	const char	*what;
};

static const struct row rows[] = {
	{ "mailto:tlsrpt@example.com", "tlsrpt@example.com", "plain" },
	{ "MAILTO:tlsrpt@Example.COM.", "tlsrpt@example.com",
	    "scheme any case, domain normalised" },
	{ "mailto:tls%2Brpt@example.com", "tls+rpt@example.com", "escape" },
	{ "mailto:tlsrpt@example.com?subject=hi", "tlsrpt@example.com",
	    "hfields ignored" },
	{ "mailto:a.b.c@example.com", "a.b.c@example.com", "dot-atom" },
	{ "mailto:tlsrpt@example.com%0d%0aBcc:%20victim@example.net", NULL,
	    "CRLF header injection" },
	{ "mailto:tlsrpt@example.com%0aBcc:victim@example.net", NULL,
	    "LF injection" },
	{ "mailto:a@example.com%2Cb@example.net", NULL, "two addresses" },
	{ "mailto:a@example.com,b@example.net", NULL, "two addresses, raw" },
	{ "mailto:%22a%20b%22@example.com", NULL, "quoted local part" },
	{ "mailto:a(comment)@example.com", NULL, "comment" },
	{ "mailto:<a@example.com>", NULL, "angle brackets" },
	{ "mailto:a@b@example.com", NULL, "two @" },
	{ "mailto:@example.com", NULL, "no local part" },
	{ "mailto:a@", NULL, "no domain" },
	{ "mailto:a..b@example.com", NULL, "double dot" },
	{ "mailto:a@exa_mple.com", NULL, "bad domain" },
	{ "mailto:a@example.com%00", NULL, "NUL" },
	{ "mailto:a@example.com%0", NULL, "short escape" },
	{ "mailto:a@example.com%zz", NULL, "bad escape" },
	{ "mailto:a%c3%a9@example.com", NULL, "8-bit" },
	{ "https://example.com/", NULL, "not mailto" },
	{ "javascript:alert(1)", NULL, "javascript" },
};

static void
test_mailto_rows(void **state)
{
	char addr[SEND_ADDR_MAX + 1], why[128];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why[0] = '\0';
		r = send_mailto_addr(rows[i].uri, strlen(rows[i].uri), addr,
		    sizeof(addr), why, sizeof(why));
		if (rows[i].addr == NULL && (r == 0 || why[0] == '\0' ||
		    addr[0] != '\0'))
			fail_msg("%s: accepted as '%s'", rows[i].what, addr);
		if (rows[i].addr != NULL && (r != 0 ||
		    strcmp(addr, rows[i].addr) != 0))
			fail_msg("%s: got %d '%s' (%s)", rows[i].what, r, addr,
			    why);
	}
}

static void
test_mailto_long(void **state)
{
	char uri[2000], addr[SEND_ADDR_MAX + 1], why[128];

	(void)state;
	memset(uri, 'a', sizeof(uri));
	memcpy(uri, "mailto:", 7);
	memcpy(uri + 1000, "@example.com", 12);
	assert_int_equal(send_mailto_addr(uri, 1012, addr, sizeof(addr), why,
	    sizeof(why)), -1);
	/* A local part over 64 octets (RFC 5321 §4.5.3.1.1). */
	assert_int_equal(send_mailto_addr(uri, 7 + 65, addr, sizeof(addr),
	    why, sizeof(why)), -1);
}

static struct send_mail
mail_example(void)
{
	static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0, 1, 2, 3 };
	struct send_mail m;

	memset(&m, 0, sizeof(m));
	m.from = "tlsrpt@mx.example.net";
	m.to = "rua@example.com";
	m.org = "Example Org";
	m.domain = "example.com";
	m.submitter = "mx.example.net";
	m.report_id = "20261124.example.com@mx.example.net";
	m.filename = "mx.example.net!example.com!1763942400!1764028799!"
	    "1763942400.json.gz";
	m.date = "2026-11-24";
	m.now = 1764050000;
	m.gz = gz;
	m.gzlen = sizeof(gz);
	return m;
}

/* B3.18: the required headers, §5.3's Subject, the +gzip part. */
static void
test_mail_build(void **state)
{
	struct send_mail m = mail_example();
	char *msg, why[128], *body;
	size_t len;

	(void)state;
	assert_int_equal(send_mail_build(&m, &msg, &len, why, sizeof(why)),
	    0);
	assert_int_equal(strlen(msg), len);
	body = strstr(msg, "\n\n");
	assert_non_null(body);
	*body = '\0';		/* the header section alone */
	assert_non_null(strstr(msg, "\nTLS-Report-Domain: example.com\n"));
	assert_non_null(strstr(msg,
	    "\nTLS-Report-Submitter: mx.example.net\n"));
	assert_non_null(strstr(msg, "\nSubject: Report Domain: example.com "
	    "Submitter: mx.example.net Report-ID: "
	    "<20261124.example.com@mx.example.net>\n"));
	assert_non_null(strstr(msg, "To: rua@example.com\n"));
	assert_non_null(strstr(msg, "Content-Type: multipart/report; "
	    "report-type=\"tlsrpt\";"));
	assert_null(strchr(msg, '\r'));
	*body = '\n';
	assert_non_null(strstr(body, "Content-Type: application/tlsrpt+gzip"));
	assert_non_null(strstr(body, "Content-Transfer-Encoding: base64"));
	/* base64 of 1f 8b 08 00 01 02 03 */
	assert_non_null(strstr(body, "\nH4sIAAECAw==\n"));
	free(msg);
}

static void
test_mail_refuses(void **state)
{
	struct send_mail m = mail_example();
	char *msg, why[128];
	size_t len;

	(void)state;
	m.to = "a@example.com\nBcc: victim@example.net";
	assert_int_equal(send_mail_build(&m, &msg, &len, why, sizeof(why)),
	    -1);
	assert_null(msg);
	m = mail_example();
	m.submitter = "mx\r.example.net";
	assert_int_equal(send_mail_build(&m, &msg, &len, why, sizeof(why)),
	    -1);
	m = mail_example();
	m.filename = "a\"b.json.gz";
	assert_int_equal(send_mail_build(&m, &msg, &len, why, sizeof(why)),
	    -1);
}

/* Base64 lines are at most 76 characters and decode back. */
static void
test_mail_base64_lines(void **state)
{
	struct send_mail m = mail_example();
	unsigned char big[1000];
	char *msg, why[128], *p, *e;
	size_t len, i, total = 0;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	m.gz = big;
	m.gzlen = sizeof(big);
	assert_int_equal(send_mail_build(&m, &msg, &len, why, sizeof(why)),
	    0);
	p = strstr(msg, "base64\nContent-Disposition");
	assert_non_null(p);
	p = strstr(p, "\n\n") + 2;
	for (; *p != '\n'; p = e + 1) {
		e = strchr(p, '\n');
		assert_true(e - p <= 76);
		total += (size_t)(e - p);
	}
	assert_int_equal(total, (sizeof(big) + 2) / 3 * 4);
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mailto_rows),
		cmocka_unit_test(test_mailto_long),
		cmocka_unit_test(test_mail_build),
		cmocka_unit_test(test_mail_refuses),
		cmocka_unit_test(test_mail_base64_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
