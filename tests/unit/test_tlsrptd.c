/*
 * test_tlsrptd.c - mtasts-tlsrptd's datagram parser (tlsrptd/dgram.c)
 * on libtlsrpt's format, field by field, and on hostile datagrams;
 * and its tally (tlsrptd/tally.c): sessions as RFC 8460 §4.2 counts
 * them, summed, written to a real results store.
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

#include "../../tlsrptd/tlsrptd.h"
#include "tmpctx.h"

static char	 last_log[512];

/* main.c's, recorded. */
void
log_rate(enum lograte_kind kind, const char *fmt, ...)
{
	va_list ap;

	(void)kind;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static struct dgram *
dg_new(void)
{
	struct dgram *dg;

	assert_non_null(dg = calloc(1, sizeof(*dg)));
	dg->size = DGRAM_ARENA(DGRAM_MAX);
	assert_non_null(dg->arena = malloc(dg->size));
	return dg;
}

static void
dg_free(struct dgram *dg)
{
	free(dg->arena);
	free(dg);
}

static int
parse(struct dgram *dg, const char *s)
{
	return dgram_parse(dg, s, strlen(s));
}

/* libtlsrpt 0.5.0rc1 (Debian 13): no "dpv"; every field of a failure. */
static const char rc1[] =
    "{\"d\": \"Example.COM\",\"pr\": \"v=TLSRPTv1; rua=mailto:r@example.com\","
    "\"policies\":[{\"policy-type\":2,\"policy-domain\": \"example.com\","
    "\"policy-string\":[\"version: STSv1\",\"mode: enforce\","
    "\"mx: *.mx.example.com\",\"max_age: 86400\"],"
    "\"mx-host\":[\"*.mx.example.com\"],"
    "\"failure-details\":[{\"c\":202,\"s\": \"192.0.2.1\","
    "\"n\": \"A.MX.example.com.\",\"h\": \"a.mx.example.com ESMTP\\r\\n"
    "PIPELINING\\r\\nSTARTTLS\",\"r\": \"2001:db8::25\","
    "\"a\": \"cert \\\"x\\\" \\u00e9 \xff\",\"f\": \"999 TEST\"}],"
    "\"t\":1,\"f\":1}]}";

static void
test_rc1_fields(void **state)
{
	struct dgram *dg = dg_new();
	const struct dgram_policy *p;
	const struct dgram_failure *f;

	(void)state;
	assert_int_equal(parse(dg, rc1), DGRAM_OK);
	assert_int_equal(dg->version, 0);
	assert_string_equal(dg->domain, "example.com");
	assert_int_equal(dg->npolicies, 1);
	p = &dg->policies[0];
	assert_int_equal(p->type, DGRAM_POLICY_STS);
	assert_string_equal(p->type_name, "sts");
	assert_string_equal(p->domain, "example.com");
	assert_int_equal(p->nstrings, 4);
	assert_string_equal(p->strings[2].p, "mx: *.mx.example.com");
	assert_int_equal(p->nmx, 1);
	assert_int_equal(p->failed, 1);
	assert_string_equal(p->text, "version: STSv1\nmode: enforce\n"
	    "mx: *.mx.example.com\nmax_age: 86400");
	assert_int_equal(p->text_len, strlen(p->text));
	assert_int_equal(p->nfailures, 1);
	f = &p->failures[0];
	assert_string_equal(f->result, "certificate-host-mismatch");
	assert_string_equal(f->sending_ip, "192.0.2.1");
	assert_string_equal(f->mx, "a.mx.example.com");
	/* The name in the first line of Postfix's EHLO reply. */
	assert_string_equal(f->helo, "a.mx.example.com");
	assert_string_equal(f->ip, "2001:db8::25");
	dg_free(dg);
}

/* 0.5.0 and later: "dpv": "1"; the other policy types; two blocks;
 * whitespace; escapes decoded; fields left out. */
static void
test_v1_policies(void **state)
{
	static const char s[] =
	    "{\"dpv\": \"1\",\"d\": \"example.net\",\"pr\": \"v=TLSRPTv1;\","
	    "\"policies\":[ {\"policy-type\":9,\"t\":0,\"f\":0} ,\n"
	    "{\"policy-type\":1,\"policy-domain\": \"example.net\","
	    "\"policy-string\":[\"3 1 1 AB\\tCD\",\"3 1 1 \\u00c9\\ud83d"
	    "\\ude00 \\/\\\\\"],\"failure-details\":[{\"c\":304,"
	    "\"s\": \"\",\"n\": \"[192.0.2.9]\",\"h\": \"250-mx.example.net "
	    "Hello\"},{\"c\":205}],\"t\":2,\"f\":1}]}";
	struct dgram *dg = dg_new();
	const struct dgram_policy *p;

	(void)state;
	assert_int_equal(parse(dg, s), DGRAM_OK);
	assert_int_equal(dg->version, 1);
	assert_int_equal(dg->npolicies, 2);
	p = &dg->policies[0];
	assert_string_equal(p->type_name, "no-policy-found");
	assert_null(p->domain);
	assert_null(p->text);
	assert_int_equal(p->nfailures, 0);
	assert_int_equal(p->failed, 0);
	p = &dg->policies[1];
	assert_string_equal(p->type_name, "tlsa");
	assert_string_equal(p->text, "3 1 1 AB\tCD\n3 1 1 \xc3\x89"
	    "\xf0\x9f\x98\x80 /\\");
	assert_int_equal(p->nfailures, 2);
	assert_string_equal(p->failures[0].result, "tlsa-invalid");
	assert_null(p->failures[0].sending_ip);	/* "": unknown */
	assert_null(p->failures[0].mx);		/* not a host name */
	assert_string_equal(p->failures[0].helo, "mx.example.net");
	assert_null(p->failures[0].ip);
	assert_string_equal(p->failures[1].result, "validation-failure");
	assert_null(p->failures[1].helo);
	dg_free(dg);
}

/* The EHLO name: after "250-" or "250 ", up to a blank; a literal or
 * garbage is unknown. */
static void
test_helo(void **state)
{
	static const struct {
		const char	*h;
		const char	*want;
	} cases[] = {
		{ "mx.example.org", "mx.example.org" },
		{ "MX.Example.ORG ESMTP ready", "mx.example.org" },
		{ "250 mx.example.org", "mx.example.org" },
		{ "250-mx.example.org\\r\\n250 STARTTLS", "mx.example.org" },
		{ "[192.0.2.1]", NULL },
		{ "", NULL },
		{ " mx.example.org", NULL },
		{ "-bad-.example", NULL },
	};
	struct dgram *dg = dg_new();
	char s[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(s, sizeof(s), "{\"d\": \"e.org\",\"pr\": \"\","
		    "\"policies\":[{\"policy-type\":2,\"failure-details\":"
		    "[{\"c\":201,\"h\": \"%s\"}],\"t\":1,\"f\":1}]}",
		    cases[i].h);
		assert_int_equal(parse(dg, s), DGRAM_OK);
		if (cases[i].want == NULL)
			assert_null(dg->policies[0].failures[0].helo);
		else
			assert_string_equal(dg->policies[0].failures[0].helo,
			    cases[i].want);
	}
	dg_free(dg);
}

/* Every failure code libtlsrpt knows, mapped to RFC 8460 §4.3. */
static void
test_codes(void **state)
{
	static const struct {
		int		 code;
		int		 ptype;
		const char	*result;
	} cases[] = {
		{ 201, 9, "starttls-not-supported" },
		{ 202, 2, "certificate-host-mismatch" },
		{ 203, 2, "certificate-not-trusted" },
		{ 204, 1, "certificate-expired" },
		{ 205, 1, "validation-failure" },
		{ 301, 2, "sts-policy-fetch-error" },
		{ 302, 2, "sts-policy-invalid" },
		{ 303, 2, "sts-webpki-invalid" },
		{ 304, 1, "tlsa-invalid" },
		{ 305, 1, "dnssec-invalid" },
		{ 306, 9, "dane-required" },
	};
	struct dgram *dg = dg_new();
	char s[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(s, sizeof(s), "{\"d\": \"e.org\",\"pr\": \"\","
		    "\"policies\":[{\"policy-type\":%d,\"failure-details\":"
		    "[{\"c\":%d}],\"t\":1,\"f\":1}]}", cases[i].ptype,
		    cases[i].code);
		assert_int_equal(parse(dg, s), DGRAM_OK);
		assert_string_equal(dg->policies[0].failures[0].result,
		    cases[i].result);
	}
	dg_free(dg);
}

#define HEAD	"{\"d\": \"e.org\",\"pr\": \"\",\"policies\":["
#define OKPOL	"{\"policy-type\":2,\"t\":0,\"f\":0}"

/* Hostile datagrams: refused whole, with the reason. */
static void
test_hostile(void **state)
{
	static const struct {
		const char	*s;
		int		 status;
		const char	*why;
	} bad[] = {
		{ "", DGRAM_EMALFORMED, "expected '{'" },
		{ "[]", DGRAM_EMALFORMED, "expected '{'" },
		{ "{}", DGRAM_EMALFORMED, "expected '\"'" },
		{ "{\"d\": \"e.org\"}", DGRAM_EMALFORMED, "no \"d\" or no" },
		{ HEAD "]}", DGRAM_EMALFORMED, "expected '{'" },
		{ HEAD OKPOL "]}x", DGRAM_EMALFORMED, "bytes after" },
		{ HEAD OKPOL "]", DGRAM_EMALFORMED, "expected ',' or '}'" },
		{ "{\"dpv\": \"2\"," "\"d\": \"e.org\"}", DGRAM_EVERSION,
		    "version \"2\"" },
		{ "{\"dpv\": \"10\"}", DGRAM_EVERSION, "version" },
		{ "{\"dpv\": 1}", DGRAM_EMALFORMED, "expected '\"'" },
		{ "{\"d\": \"e.org\",\"d\": \"e.org\"}", DGRAM_EMALFORMED,
		    "duplicate key \"d\"" },
		{ "{\"x\": 1}", DGRAM_EMALFORMED, "unknown key \"x\"" },
		/* A reason that quotes the datagram forges no log line. */
		{ "{\"\nJan 1 h sshd: x\": 1}", DGRAM_EMALFORMED,
		    "unknown key \"?Jan 1 h sshd: x\"" },
		{ "{\"dpv\": \"\\n2\"}", DGRAM_EVERSION, "version \"?2\"" },
		{ "{\"d\\u0022\": 1}", DGRAM_EMALFORMED, "bad key" },
		{ "{\"d\": \"e.org", DGRAM_EMALFORMED, "unterminated" },
		{ "{\"d\": \"e\x01.org\"}", DGRAM_EMALFORMED, "control byte" },
		{ "{\"d\": \"-e.org\"}", DGRAM_EMALFORMED, "not a domain" },
		{ "{\"d\": \"e.org\\u0000\"}", DGRAM_EMALFORMED, "NUL" },
		{ "{\"d\": \"e\\x.org\"}", DGRAM_EMALFORMED, "bad escape" },
		{ "{\"d\": \"e\\u12g4\"}", DGRAM_EMALFORMED, "bad \\u" },
		{ "{\"d\": \"e\\u12\"}", DGRAM_EMALFORMED, "\\u" },
		{ "{\"d\": \"\\ud800x\"}", DGRAM_EMALFORMED, "lone surrogate" },
		{ "{\"d\": \"\\udc00\"}", DGRAM_EMALFORMED, "lone surrogate" },
		{ "{\"d\": \"\\ud800\\u0041\"}", DGRAM_EMALFORMED,
		    "bad surrogate pair" },
		{ HEAD "{\"policy-type\":3,\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "unknown policy-type 3" },
		{ HEAD "{\"t\":0,\"f\":0}]}", DGRAM_EMALFORMED,
		    "without policy-type" },
		{ HEAD "{\"policy-type\":2,\"f\":0}]}", DGRAM_EMALFORMED,
		    "without policy-type, t or f" },
		{ HEAD "{\"policy-type\":2,\"t\":1,\"f\":1}]}",
		    DGRAM_EMALFORMED, "t is 1, with 0" },
		{ HEAD "{\"policy-type\":2,\"t\":0,\"f\":2}]}",
		    DGRAM_EMALFORMED, "2 out of range" },
		{ HEAD "{\"policy-type\":2,\"t\":-1,\"f\":0}]}",
		    DGRAM_EMALFORMED, "out of range" },
		{ HEAD "{\"policy-type\":02,\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "expected a number" },
		{ HEAD "{\"policy-type\":2222222222,\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "number too long" },
		{ HEAD "{\"policy-type\":2.0,\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "expected ','" },
		{ HEAD "{\"policy-type\":\"2\",\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "expected a number" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[{\"c\":999}],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED,
		    "unknown failure code 999" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[{\"c\":901}],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED,
		    "unknown failure code 901" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[{\"s\": \"\"}],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED,
		    "failure without \"c\"" },
		{ HEAD "{\"policy-type\":1,\"failure-details\":[{\"c\":303}],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED,
		    "sts-webpki-invalid under policy-type tlsa" },
		{ HEAD "{\"policy-type\":9,\"failure-details\":[{\"c\":301}],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED, "under" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[{\"c\":306}],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED,
		    "dane-required under policy-type sts" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[{\"c\":201,"
		    "\"r\": \"192.0.2.300\"}],\"t\":1,\"f\":1}]}",
		    DGRAM_EMALFORMED, "not an IP address" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[{\"c\":201,"
		    "\"s\": \"::1 \"}],\"t\":1,\"f\":1}]}",
		    DGRAM_EMALFORMED, "not an IP address" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":[\"a\\nb\"],"
		    "\"t\":0,\"f\":0}]}", DGRAM_EMALFORMED, "not a line" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":[\"\xc3\x28\"],"
		    "\"t\":0,\"f\":0}]}", DGRAM_EMALFORMED, "not a line" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":["
		    "\"\xed\xa0\x80\"],\"t\":0,\"f\":0}]}", DGRAM_EMALFORMED,
		    "not a line" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":["
		    "\"\xf8\x88\x80\x80\x80\"],\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "not a line" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":["
		    "\"\xff\xbf\xbf\"],\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "not a line" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":["
		    "\"\xc1\xbf\"],\"t\":0,\"f\":0}]}",
		    DGRAM_EMALFORMED, "not a line" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":[1],"
		    "\"t\":0,\"f\":0}]}", DGRAM_EMALFORMED, "expected '\"'" },
		{ HEAD "{\"policy-type\":2,\"policy-string\":{},"
		    "\"t\":0,\"f\":0}]}", DGRAM_EMALFORMED, "expected '['" },
		{ HEAD "{\"policy-type\":2,\"failure-details\":[[{\"c\":201}]],"
		    "\"t\":1,\"f\":1}]}", DGRAM_EMALFORMED, "expected '{'" },
		{ "{\"d\": \"e.org\",\"pr\": \"\",\"policies\":{}}",
		    DGRAM_EMALFORMED, "expected '['" },
		{ HEAD OKPOL "," OKPOL "," OKPOL "," OKPOL "," OKPOL ","
		    OKPOL "," OKPOL "," OKPOL "," OKPOL "]}", DGRAM_EMALFORMED,
		    "more than 8 policies" },
	};
	struct dgram *dg = dg_new();
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = parse(dg, bad[i].s);
		if (r != bad[i].status || strstr(dg->why, bad[i].why) == NULL)
			fail_msg("case %zu: %d (%s), wanted %d (%s)", i, r,
			    dg->why, bad[i].status, bad[i].why);
	}
	/* A NUL byte inside the datagram ends nothing: it is refused. */
	assert_int_equal(dgram_parse(dg, "{\"d\": \"e\0.org\"}", 16),
	    DGRAM_EMALFORMED);
	dg_free(dg);
}

/* Bounds: string length, counts; every prefix of a good datagram is
 * refused cleanly; an arena too small is refused, not overrun. */
static void
test_bounds(void **state)
{
	struct dgram *dg = dg_new();
	char *s;
	size_t i, n, len;

	(void)state;
	assert_non_null(s = malloc(DGRAM_MAX + 1));
	/* A TLSA record of a full 10 KB certificate is one policy-string
	 * of 20 KB: taken. */
	n = (size_t)snprintf(s, DGRAM_MAX, HEAD "{\"policy-type\":1,"
	    "\"policy-string\":[\"3 0 0 ");
	memset(s + n, 'A', 20000);
	snprintf(s + n + 20000, 64, "\"],\"t\":0,\"f\":0}]}");
	assert_int_equal(parse(dg, s), DGRAM_OK);
	/* One of DGRAM_PSTRING_MAX + 1 bytes is not. */
	n = (size_t)snprintf(s, DGRAM_MAX, HEAD "{\"policy-type\":2,"
	    "\"policy-string\":[\"");
	memset(s + n, 'a', DGRAM_PSTRING_MAX + 1);
	snprintf(s + n + DGRAM_PSTRING_MAX + 1, 64,
	    "\"],\"t\":0,\"f\":0}]}");
	assert_int_equal(parse(dg, s), DGRAM_EMALFORMED);
	assert_non_null(strstr(dg->why, "string longer than"));
	/* DGRAM_FAILURES_MAX + 1 failures. */
	n = (size_t)snprintf(s, DGRAM_MAX, HEAD "{\"policy-type\":2,"
	    "\"failure-details\":[");
	for (i = 0; i <= DGRAM_FAILURES_MAX; i++)
		n += (size_t)snprintf(s + n, DGRAM_MAX - n, "%s{\"c\":201}",
		    i > 0 ? "," : "");
	snprintf(s + n, DGRAM_MAX - n, "],\"t\":65,\"f\":1}]}");
	assert_int_equal(parse(dg, s), DGRAM_EMALFORMED);
	assert_non_null(strstr(dg->why, "more than 64 failures"));
	/* DGRAM_STRINGS_MAX + 1 policy strings. */
	n = (size_t)snprintf(s, DGRAM_MAX, HEAD "{\"policy-type\":2,"
	    "\"policy-string\":[");
	for (i = 0; i <= DGRAM_STRINGS_MAX; i++)
		n += (size_t)snprintf(s + n, DGRAM_MAX - n, "%s\"x\"",
		    i > 0 ? "," : "");
	snprintf(s + n, DGRAM_MAX - n, "],\"t\":0,\"f\":0}]}");
	assert_int_equal(parse(dg, s), DGRAM_EMALFORMED);
	assert_non_null(strstr(dg->why, "more than 1024 strings"));
	/* Policy strings over MTASTS_POLICY_MAX bytes in all. */
	n = (size_t)snprintf(s, DGRAM_MAX, HEAD "{\"policy-type\":2,"
	    "\"policy-string\":[");
	for (i = 0; i < 9; i++) {
		n += (size_t)snprintf(s + n, DGRAM_MAX - n, "%s\"",
		    i > 0 ? "," : "");
		memset(s + n, 'a', 8000);
		n += 8000;
		n += (size_t)snprintf(s + n, DGRAM_MAX - n, "\"");
	}
	snprintf(s + n, DGRAM_MAX - n, "],\"t\":0,\"f\":0}]}");
	assert_int_equal(parse(dg, s), DGRAM_EMALFORMED);
	assert_non_null(strstr(dg->why, "policy strings over 65536 bytes"));
	/* Every prefix of a good one. */
	len = strlen(rc1);
	for (i = 0; i < len; i++)
		assert_int_not_equal(dgram_parse(dg, rc1, i), DGRAM_OK);
	/* An arena the caller sized too small. */
	dg->size = DGRAM_ARENA(len) - 1;
	assert_int_equal(parse(dg, rc1), DGRAM_EMALFORMED);
	dg->size = DGRAM_ARENA(len);
	assert_int_equal(parse(dg, rc1), DGRAM_OK);
	free(s);
	dg_free(dg);
}

struct seen {
	char	 line[32][400];
	size_t	 n;
};

static int
collect(const struct mtasts_tls_count *c, void *arg)
{
	struct seen *s = arg;

	if (s->n < 32)
		snprintf(s->line[s->n++], sizeof(s->line[0]),
		    "%s %s %s %s %s %s %s %llu", c->domain, c->policy_type,
		    c->result, c->mx, c->ip, c->sending_ip, c->helo,
		    (unsigned long long)c->count);
	return 0;
}

static void
walk(struct seen *s)
{
	uint64_t removed;

	memset(s, 0, sizeof(*s));
	assert_int_equal(mtasts_tls_count_foreach(ctx, collect, s),
	    MTASTS_OK);
	assert_int_equal(mtasts_tls_result_purge(ctx, "2999-01-01",
	    &removed), MTASTS_OK);
}

/* Sessions: a success; a failure per failure detail; a failed block
 * without details is a validation-failure; sums. */
static void
test_tally_sessions(void **state)
{
	static const char *const dgs[] = {
		HEAD "{\"policy-type\":9,\"t\":0,\"f\":0}]}",
		HEAD "{\"policy-type\":9,\"t\":0,\"f\":1}]}",
		HEAD "{\"policy-type\":2,\"failure-details\":[{\"c\":201,"
		    "\"n\": \"mx.e.org\",\"r\": \"192.0.2.2\",\"s\": "
		    "\"192.0.2.1\",\"h\": \"mx.e.org\"},{\"c\":201}],\"t\":2,"
		    "\"f\":0}]}",
	};
	struct tally_stats st;
	struct tally *t;
	struct dgram *dg = dg_new();
	struct seen s;
	size_t i, k;

	(void)state;
	assert_non_null(t = tally_new(ctx));
	for (k = 0; k < 1000; k++)
		for (i = 0; i < sizeof(dgs) / sizeof(dgs[0]); i++) {
			assert_int_equal(parse(dg, dgs[i]), DGRAM_OK);
			assert_int_equal(tally_add(t, dg), 0);
		}
	assert_int_equal(tally_pending(t), 5);
	memset(&st, 0, sizeof(st));
	assert_int_equal(tally_flush(t, &st), 0);
	assert_int_equal(st.sessions, 5000);
	assert_int_equal(st.lost + st.refused, 0);
	assert_int_equal(tally_pending(t), 0);
	walk(&s);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.line[0], "e.org no-policy-found success - - - "
	    "- 1000");
	assert_string_equal(s.line[1], "e.org no-policy-found "
	    "validation-failure - - - - 1000");
	assert_string_equal(s.line[2], "e.org sts starttls-not-supported - - "
	    "- - 1000");
	assert_string_equal(s.line[3], "e.org sts starttls-not-supported "
	    "mx.e.org 192.0.2.2 192.0.2.1 mx.e.org 1000");
	assert_string_equal(s.line[4], "e.org sts success - - - - 1000");
	tally_free(t);
	dg_free(dg);
}

#ifdef MTASTS_ALLOC_TEST
static int alloc_left;

static void *
alloc_some(size_t n)
{
	return alloc_left-- > 0 ? malloc(n) : NULL;
}

/* Out of memory half way through a datagram (its second new entry):
 * nothing of it stays counted, so the caller's retry after a flush
 * counts each session once (was: the first counted twice). */
static void
test_tally_enomem(void **state)
{
	static const char dg2[] = HEAD "{\"policy-type\":2,"
	    "\"failure-details\":[{\"c\":201,\"n\": \"mx1.e.org\"},"
	    "{\"c\":201,\"n\": \"mx2.e.org\"}],\"t\":2,\"f\":0}]}";
	struct tally_stats st;
	struct tally *t;
	struct dgram *dg = dg_new();
	struct seen s;
	size_t i;

	(void)state;
	assert_non_null(t = tally_new(ctx));
	assert_int_equal(parse(dg, dg2), DGRAM_OK);
	assert_int_equal(tally_add(t, dg), 0);
	assert_int_equal(parse(dg, HEAD "{\"policy-type\":2,"
	    "\"failure-details\":[{\"c\":201,\"n\": \"mx1.e.org\"},"
	    "{\"c\":201,\"n\": \"mx3.e.org\"}],\"t\":2,\"f\":0}]}"),
	    DGRAM_OK);
	alloc_left = 0;				/* mx3's entry fails */
	tally_malloc = alloc_some;
	assert_int_equal(tally_add(t, dg), -1);
	tally_malloc = malloc;
	assert_int_equal(tally_pending(t), 3);	/* mx1, mx2, success */
	assert_int_equal(tally_add(t, dg), 0);		/* the retry */
	memset(&st, 0, sizeof(st));
	assert_int_equal(tally_flush(t, &st), 0);
	assert_int_equal(st.sessions, 6);
	walk(&s);
	/* e.org's only (an earlier test may leave example.com's) */
	assert_true(s.n >= 4);
	for (i = 4; i < s.n; i++)
		assert_false(strncmp(s.line[i], "e.org ", 6) == 0);
	assert_string_equal(s.line[0], "e.org sts starttls-not-supported "
	    "mx1.e.org - - - 2");
	assert_string_equal(s.line[1], "e.org sts starttls-not-supported "
	    "mx2.e.org - - - 1");
	assert_string_equal(s.line[2], "e.org sts starttls-not-supported "
	    "mx3.e.org - - - 1");
	assert_string_equal(s.line[3], "e.org sts success - - - - 2");
	tally_free(t);
	dg_free(dg);
}
#endif

/* Full: tally_add() refuses the datagram whole; after a flush it is
 * taken. */
static void
test_tally_full(void **state)
{
	struct tally_stats st;
	struct tally *t;
	struct dgram *dg = dg_new();
	struct seen s;
	char buf[256];
	size_t i;

	(void)state;
	assert_non_null(t = tally_new(ctx));
	for (i = 0; i < TALLY_KEYS_MAX; i++) {
		snprintf(buf, sizeof(buf), "{\"d\": \"d%zu.e.org\",\"pr\": "
		    "\"\",\"policies\":[" OKPOL "]}", i);
		assert_int_equal(parse(dg, buf), DGRAM_OK);
		assert_int_equal(tally_add(t, dg), 0);
	}
	/* An old key is still counted; a new one does not fit. */
	assert_int_equal(tally_add(t, dg), 0);
	assert_int_equal(parse(dg, HEAD OKPOL "," "{\"policy-type\":9,"
	    "\"t\":0,\"f\":0}]}"), DGRAM_OK);
	assert_int_equal(tally_add(t, dg), -1);
	assert_int_equal(tally_pending(t), TALLY_KEYS_MAX);
	memset(&st, 0, sizeof(st));
	assert_int_equal(tally_flush(t, &st), 0);
	assert_int_equal(st.sessions, TALLY_KEYS_MAX + 1);
	assert_int_equal(tally_add(t, dg), 0);
	assert_int_equal(tally_flush(t, &st), 0);
	assert_int_equal(st.sessions, TALLY_KEYS_MAX + 3);
	walk(&s);
	tally_free(t);
	dg_free(dg);
}

/* The store refuses (a read-only context): the sums are kept for the
 * next flush, logged; later datagrams add to them; the first refusal
 * ends the flush (each try may wait for the store's lock). */
static void
test_tally_store_fails(void **state)
{
	struct mtasts_ctx *ro;
	struct tally_stats st;
	struct tally *t;
	struct dgram *dg = dg_new();
	char err[MTASTS_ERRLEN];
	size_t i;

	(void)state;
	assert_int_equal(mtasts_ctx_new(NULL, cfg, MTASTS_CTX_RDONLY, &ro,
	    err, sizeof(err)), MTASTS_OK);
	assert_non_null(t = tally_new(ro));
	assert_int_equal(parse(dg, rc1), DGRAM_OK);
	for (i = 0; i < 7; i++)
		assert_int_equal(tally_add(t, dg), 0);
	assert_int_equal(parse(dg, HEAD OKPOL "]}"), DGRAM_OK);
	assert_int_equal(tally_add(t, dg), 0);
	memset(&st, 0, sizeof(st));
	last_log[0] = '\0';
	assert_int_equal(tally_flush(t, &st), -1);
	assert_int_equal(st.sessions + st.lost + st.refused, 0);
	assert_non_null(strstr(last_log, "example.com: 7 sessions not "
	    "counted yet, kept for the next write"));
	assert_int_equal(tally_pending(t), 2);
	/* Still summed into the kept entries, and found again. */
	assert_int_equal(parse(dg, rc1), DGRAM_OK);
	assert_int_equal(tally_add(t, dg), 0);
	assert_int_equal(tally_flush(t, &st), -1);
	assert_non_null(strstr(last_log, "example.com: 8 sessions"));
	assert_int_equal(tally_pending(t), 2);
	tally_free(t);
	/* The same sums through a writable store: all counted. */
	assert_non_null(t = tally_new(ctx));
	for (i = 0; i < 8; i++)
		assert_int_equal(tally_add(t, dg), 0);
	assert_int_equal(tally_flush(t, &st), 0);
	assert_int_equal(st.sessions, 8);
	tally_free(t);
	mtasts_ctx_free(ro);
	dg_free(dg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rc1_fields),
		cmocka_unit_test(test_v1_policies),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_tally_sessions),
		cmocka_unit_test(test_tally_full),
		cmocka_unit_test(test_tally_store_fails),
#ifdef MTASTS_ALLOC_TEST
		cmocka_unit_test(test_tally_enomem),
#endif
	};

	return cmocka_run_group_tests(tests, tmpctx_setup, tmpctx_teardown);
}
