/*
 * test_tlsrpt.c - the _smtp._tls TXT record (RFC 8460 §3): syntax and
 * rua URIs (checklist B1.1, B1.2, B1.4, D3, D19, D22) and the RRset rule
 * (B1.3, D2, D17).  Expectations come from
 * docs/conformance.md; rows cite items.
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
#define R(x)	"v=TLSRPTv1; rua=" x	/* a record with one rua */
#define A	"mailto:tlsrpt@example.com"
#define H	"https://reporting.example.com/v1/tlsrpt"

struct row {
	const char	*in;
	size_t		 len;
	int		 status;
	const char	*rua;		/* usable URIs joined by one SP */
	const char	*warn;		/* in some warning, or NULL */
	const char	*item;
};

static const struct row rows[] = {
	{ S(R(A)), OK, A, NULL, "B1.1 mailto" },
	{ S("v=TLSRPTv1;rua=" H), OK, H, NULL, "B1.1 https" },
	{ S(R(A "," H)), OK, A " " H, NULL, "B1.1 B1.2 comma list" },
	{ S(R(A " ,\t" H)), OK, A " " H, NULL, "B1.2 *WSP \",\" *WSP" },
	{ S(R(A "; ")), OK, A, NULL, "B1.2 [field-delim]" },
	{ S("v=TLSRPTv1 ;rua=" A), OK, A, NULL, "B1.2 WSP before ;" },
	{ S(R("mailto:a%21b@example.com")), OK, "mailto:a%21b@example.com",
	    NULL, "B1.2 %-encoded ! kept as written" },
	{ S(R("https://r.example.com/a%2Cb%3bc")), OK,
	    "https://r.example.com/a%2Cb%3bc", NULL,
	    "B1.2 %-encoded , ; kept as written" },
	{ S(R("https://r.example.com/r?x=1&y=2")), OK,
	    "https://r.example.com/r?x=1&y=2", NULL, "B1.2 URI with '='" },
	{ S(R("MAILTO:a@example.com")), OK, "MAILTO:a@example.com", NULL,
	    "B1.1 scheme case-insensitive (RFC 3986 §3.1)" },
	{ S(R("http://r.example.com/x," A)), OK, A, "http://r.example.com/x",
	    "B1.1 D22 http: skipped with a warning" },
	{ S(R("ftp://r.example.com/x, " A)), OK, A, "ftp://r.example.com/x",
	    "B1.1 D22 ftp: skipped with a warning" },
	{ S(R(A) "; rua=" H), OK, A " " H, NULL, "D19 rua= twice, merged" },
	{ S("v=TLSRPTv1; ext=foo; rua=" A), OK, A, NULL, "B1.4 extension" },
	{ S("v=TLSRPTv1; RUA=mailto:x@example.com; rua=" A), OK, A, NULL,
	    "B1.2 %s\"rua=\": RUA= is an extension" },

	{ S(""), BAD, NULL, NULL, "B1.2 empty" },
	{ S("v=TLSRPTv1"), BAD, NULL, NULL, "B1.2 rua required" },
	{ S("v=TLSRPTv1;"), BAD, NULL, NULL, "B1.2 rua required" },
	{ S("v=TLSRPTv1; ext=1"), BAD, NULL, NULL, "B1.2 rua required" },
	{ S("v=TLSRPTv1; RUA=" A), BAD, NULL, NULL, "B1.2 %s\"rua=\"" },
	{ S(R(A " ")), BAD, NULL, NULL, "D3 trailing WSP" },
	{ S("v=tlsrptv1; rua=" A), BAD, NULL, NULL, "B1.2 %s\"v=TLSRPTv1\"" },
	{ S("V=TLSRPTv1; rua=" A), BAD, NULL, NULL, "B1.2 %s\"v=TLSRPTv1\"" },
	{ S("v=TLSRPTv2; rua=" A), BAD, NULL, NULL, "B1.1 v=TLSRPTv1 only" },
	{ S(" v=TLSRPTv1; rua=" A), BAD, NULL, NULL, "B1.2 leading WSP" },
	{ S("v=TLSRPTv1; rua = " A), BAD, NULL, NULL, "B1.2 no WSP at =" },
	{ S(R("")), BAD, NULL, NULL, "B1.2 empty rua" },
	{ S(R(A ",")), BAD, NULL, NULL, "B1.2 trailing comma" },
	{ S(R("," A)), BAD, NULL, NULL, "B1.2 leading comma" },
	{ S(R(A ",," H)), BAD, NULL, NULL, "B1.2 empty URI" },
	{ S(R(A " " H)), BAD, NULL, NULL, "B1.2 list needs ','" },
	{ S(R("mailto:a!b@example.com")), BAD, NULL, NULL,
	    "B1.2 D22 unencoded !" },
	{ S(R("https://r.example.com/a!b")), BAD, NULL, NULL,
	    "B1.2 D22 unencoded !" },
	{ S(R("mailto:a;b@example.com")), BAD, NULL, NULL,
	    "B1.2 unencoded ; (draft -23) ends the field" },
	{ S(R(A ",mailto:a!b@example.com")), BAD, NULL, NULL,
	    "D22 one broken URI spoils the record" },
	{ S(R("https://r.example.com/%zz," A)), BAD, NULL, NULL,
	    "D22 one broken URI spoils the record" },
	{ S(R(A ",reports.example.com")), BAD, NULL, NULL,
	    "D22 one broken URI spoils the record" },
	{ S(R("mailto:a%2@example.com")), BAD, NULL, NULL, "D22 bad %" },
	{ S(R("mailto:a%zz@example.com")), BAD, NULL, NULL, "D22 bad %" },
	{ S(R("https://r.example.com/%")), BAD, NULL, NULL, "D22 bad %" },
	{ S(R("https://r.example.com/%4")), BAD, NULL, NULL, "D22 bad %" },
	{ S(R("mailto:a b@example.com")), BAD, NULL, NULL, "B1.2 SP in URI" },
	{ S(R("https://r.example.com/\"x\"")), BAD, NULL, NULL,
	    "B1.2 '\"' is no URI char" },
	{ S(R("https://r.example.com/a|b")), BAD, NULL, NULL,
	    "B1.2 '|' is no URI char" },
	{ S(R("reports.example.com")), BAD, NULL, NULL, "B1.2 not a URI" },
	{ S(R("http://r.example.com/x")), BAD, NULL, NULL,
	    "D22 no usable URI left" },
	{ S(R("m\xc3\xa9@example.com")), BAD, NULL, NULL, "B1.2 non-ASCII" },
	{ S(R(A "\0")), BAD, NULL, NULL, "B1.2 NUL" },
	{ S(R(A "\r\n")), BAD, NULL, NULL, "B1.2 CRLF" },
	{ S(R(A "; ext=")), BAD, NULL, NULL, "B1.2 empty ext-value" },
	{ S(R(A "; _x=1")), BAD, NULL, NULL, "B1.2 ext-name" },
};

static void
join_rua(const struct mtasts_tlsrpt *t, char *buf, size_t size)
{
	size_t i, o = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < mtasts_tlsrpt_rua_count(t); i++) {
		n = snprintf(buf + o, size - o, "%s%s", i ? " " : "",
		    mtasts_tlsrpt_rua(t, i));
		assert_true(n >= 0 && (size_t)n < size - o);
		o += (size_t)n;
	}
}

static int
has_warning(const struct mtasts_tlsrpt *t, const char *warn)
{
	size_t i;

	if (warn == NULL)
		return 1;
	for (i = 0; i < mtasts_tlsrpt_warning_count(t); i++)
		if (strstr(mtasts_tlsrpt_warning(t, i), warn) != NULL)
			return 1;
	return 0;
}

static void
check_row(size_t i, const struct row *t)
{
	struct mtasts_tlsrpt *rec = (struct mtasts_tlsrpt *)1;
	char err[MTASTS_ERRLEN] = "", rua[512] = "";
	int r;

	r = mtasts_tlsrpt_parse(t->in, t->len, &rec, err, sizeof(err));
	if (r == MTASTS_OK)
		join_rua(rec, rua, sizeof(rua));
	if (r != t->status || (r == MTASTS_OK && (strcmp(rua, t->rua) != 0 ||
	    !has_warning(rec, t->warn))))
		print_error("row %zu (%s): got %d rua '%s' err '%s'\n", i,
		    t->item, r, rua, err);
	assert_int_equal(r, t->status);
	if (r != MTASTS_OK) {
		assert_null(rec);
		assert_true(err[0] != '\0');
		return;
	}
	assert_string_equal(rua, t->rua);
	assert_true(has_warning(rec, t->warn));
	mtasts_tlsrpt_free(rec);
}

static void
test_b1_tlsrpt_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(rows); i++)
		check_row(i, &rows[i]);
}

struct rr_text {
	const char	*data;
	size_t		 len;
};

struct select_row {
	struct rr_text	 rr[3];
	size_t		 n;
	int		 status;
	const char	*rua;
	const char	*item;
};

#define RR(s)	{ S(s) }

static const struct select_row select_rows[] = {
	{ { RR(R(A)) }, 1, OK, A, "B1.3 one" },
	{ { RR("v=spf1 -all"), RR(R(A)), RR("v=STSv1; id=1") }, 3, OK, A,
	    "B1.3 others discarded" },
	{ { RR("") }, 0, MTASTS_ENORECORD, NULL, "B1.3 empty RRset" },
	{ { RR("v=spf1 -all") }, 1, MTASTS_ENORECORD, NULL, "B1.3 none" },
	{ { RR(R(A)), RR(R(H)) }, 2, MTASTS_EMULTIPLE, NULL, "B1.3 two" },
	{ { RR(R(A)), RR("v=TLSRPTv1 ;rua=" H) }, 2, MTASTS_EMULTIPLE, NULL,
	    "B1.3 D2 WSP before ; counts" },
	{ { RR(R(A)), RR("v=TLSRPTv1") }, 2, MTASTS_EMULTIPLE, NULL,
	    "B1.3 D2 bare version counts" },
	{ { RR(R(A)), RR("v=TLSRPTv10; rua=" H) }, 2, OK, A,
	    "B1.3 D2 v=TLSRPTv10 discarded" },
	{ { RR("V=TLSRPTv1; rua=" H), RR(R(A)) }, 2, OK, A,
	    "B1.3 D2 case-sensitive" },
	{ { RR(R("http://r.example.com/")) }, 1, MTASTS_EPARSE, NULL,
	    "B1.3 D22 the one left is unusable" },
	{ { RR("v=TLSRPTv1;"), RR("rua=" A) }, 2, MTASTS_EPARSE, NULL,
	    "B1.3 D17 never joined across RRs" },
};

static void
check_select(size_t i, const struct select_row *t)
{
	struct mtasts_rr rrs[3];
	struct mtasts_tlsrpt *rec = (struct mtasts_tlsrpt *)1;
	char err[MTASTS_ERRLEN] = "";
	size_t j;
	int r;

	for (j = 0; j < t->n; j++) {
		rrs[j].data = t->rr[j].data;
		rrs[j].len = t->rr[j].len;
	}
	r = mtasts_tlsrpt_select(rrs, t->n, &rec, err, sizeof(err));
	if (r != t->status)
		print_error("row %zu (%s): got %d '%s'\n", i, t->item, r, err);
	assert_int_equal(r, t->status);
	if (r != MTASTS_OK) {
		assert_null(rec);
		assert_true(err[0] != '\0');
		return;
	}
	assert_int_equal(mtasts_tlsrpt_rua_count(rec), 1);
	assert_string_equal(mtasts_tlsrpt_rua(rec, 0), t->rua);
	mtasts_tlsrpt_free(rec);
}

static void
test_b1_3_tlsrpt_select(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(select_rows); i++)
		check_select(i, &select_rows[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b1_tlsrpt_parse),
		cmocka_unit_test(test_b1_3_tlsrpt_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
