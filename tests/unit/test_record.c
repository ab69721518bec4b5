/*
 * test_record.c - the _mta-sts TXT record (RFC 8461 §3.1): one record's
 * syntax (checklist A1.4-A1.7, A1.11, A1.12, D3, D4) and the RRset rule
 * (A1.8, A1.10, D2, D17).  Expectations come from the checklist
 * (docs/conformance.md), item numbers in rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <mtasts.h>

/* A string literal and its length, so rows may hold NUL bytes. */
#define S(s)	s, sizeof(s) - 1
#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

#define ID32	"abcdefghijklmnopqrstuvwxyz012345"
#define NAME32	"e23456789012345678901234567890_."

struct parse_row {
	const char	*in;
	size_t		 len;
	int		 status;
	const char	*id;		/* expected id when MTASTS_OK */
	const char	*item;		/* checklist item */
};

static const struct parse_row parse_rows[] = {
	/* Valid records. */
	{ S("v=STSv1; id=20160831085700Z;"), MTASTS_OK, "20160831085700Z",
	    "A1.6 RFC 8461 §3.1 example" },
	{ S("v=STSv1;id=abc"), MTASTS_OK, "abc", "A1.6 no delim WSP" },
	{ S("v=STSv1 ;id=abc"), MTASTS_OK, "abc", "A1.6 WSP before ;" },
	{ S("v=STSv1;\tid=abc;\t "), MTASTS_OK, "abc", "A1.6 D3 final delim" },
	{ S("v=STSv1; id=abc ; "), MTASTS_OK, "abc", "A1.6 D3 WSP ; WSP" },
	{ S("v=STSv1; id=a"), MTASTS_OK, "a", "A1.5 id of 1" },
	{ S("v=STSv1; id=" ID32), MTASTS_OK, ID32, "A1.5 id of 32" },
	{ S("v=STSv1; id=AbC019"), MTASTS_OK, "AbC019", "A1.5 ALPHA/DIGIT" },
	{ S("v=STSv1; ext=foo; id=abc"), MTASTS_OK, "abc", "A1.7 order" },
	{ S("v=STSv1; id=abc; x_y-z.9=!\"#$%&'()*+,-./09:<>?@AZ[\\]^_`az{|}~"),
	    MTASTS_OK, "abc", "A1.6 A1.11 ext-value range" },
	{ S("v=STSv1; id=abc; " NAME32 "=1"), MTASTS_OK, "abc",
	    "A1.6 ext-name of 32" },
	{ S("v=STSv1; id=abc; 9=1"), MTASTS_OK, "abc", "A1.6 ext-name DIGIT" },
	{ S("v=STSv1; id=first; id=second"), MTASTS_OK, "first",
	    "A1.12 D4 first id wins" },
	{ S("v=STSv1; id=abc; id=not-an-id"), MTASTS_OK, "abc",
	    "A1.12 D4 later id ignored" },
	{ S("v=STSv1; ID=upper; id=abc"), MTASTS_OK, "abc",
	    "A1.6 %s\"id=\": ID= is an extension" },
	{ S("v=STSv1; id=abc; v=STSv2"), MTASTS_OK, "abc",
	    "A1.11 later v= is an extension" },

	/* Invalid records. */
	{ S(""), MTASTS_EPARSE, NULL, "A1.6 empty" },
	{ S("v=STSv1"), MTASTS_EPARSE, NULL, "A1.6 D2 no id" },
	{ S("v=STSv1;"), MTASTS_EPARSE, NULL, "A1.6 1*field" },
	{ S("v=STSv1; "), MTASTS_EPARSE, NULL, "A1.6 1*field" },
	{ S("v=STSv1 "), MTASTS_EPARSE, NULL, "A1.6 D3" },
	{ S("v=STSv1; id=abc "), MTASTS_EPARSE, NULL, "D3 trailing SP" },
	{ S("v=STSv1; id=abc\t"), MTASTS_EPARSE, NULL, "D3 trailing HTAB" },
	{ S(" v=STSv1; id=abc"), MTASTS_EPARSE, NULL, "A1.6 leading WSP" },
	{ S("V=STSv1; id=abc"), MTASTS_EPARSE, NULL, "A1.6 %s\"v=\"" },
	{ S("v=stsv1; id=abc"), MTASTS_EPARSE, NULL, "A1.5 only STSv1" },
	{ S("v=STSv2; id=abc"), MTASTS_EPARSE, NULL, "A1.5 only STSv1" },
	{ S("v=STSv10; id=abc"), MTASTS_EPARSE, NULL, "A1.8 v=STSv10" },
	{ S("v = STSv1; id=abc"), MTASTS_EPARSE, NULL, "A1.6 no WSP at =" },
	{ S("id=abc; v=STSv1"), MTASTS_EPARSE, NULL, "A1.7 v first" },
	{ S("v=STSv1; id="), MTASTS_EPARSE, NULL, "A1.5 empty id" },
	{ S("v=STSv1; id=" ID32 "6"), MTASTS_EPARSE, NULL, "A1.5 id of 33" },
	{ S("v=STSv1; id=abc-def"), MTASTS_EPARSE, NULL, "A1.5 id '-'" },
	{ S("v=STSv1; id=abc_def"), MTASTS_EPARSE, NULL, "A1.5 id '_'" },
	{ S("v=STSv1; id=abc.def"), MTASTS_EPARSE, NULL, "A1.5 id '.'" },
	{ S("v=STSv1; id=a b;"), MTASTS_EPARSE, NULL, "A1.5 id SP" },
	{ S("v=STSv1; id = abc"), MTASTS_EPARSE, NULL, "A1.6 no WSP at =" },
	{ S("v=STSv1; id =abc"), MTASTS_EPARSE, NULL, "A1.6 no WSP at =" },
	{ S("v=STSv1; id= abc"), MTASTS_EPARSE, NULL, "A1.6 no WSP at =" },
	{ S("v=STSv1;; id=abc"), MTASTS_EPARSE, NULL, "A1.6 empty field" },
	{ S("v=STSv1; id=abc;;"), MTASTS_EPARSE, NULL, "A1.6 empty field" },
	{ S("v=STSv1; id=abc; id="), MTASTS_EPARSE, NULL,
	    "A1.6 D4 later id must be a field" },
	{ S("v=STSv1; ID=abc"), MTASTS_EPARSE, NULL, "A1.5 A1.6 no id" },
	{ S("v=STSv1; ext=1"), MTASTS_EPARSE, NULL, "A1.5 id required" },
	{ S("v=STSv1; id=abc; ext="), MTASTS_EPARSE, NULL, "A1.6 empty ext" },
	{ S("v=STSv1; id=abc; ext=a=b"), MTASTS_EPARSE, NULL, "A1.6 '=' val" },
	{ S("v=STSv1; id=abc; ext=a b"), MTASTS_EPARSE, NULL, "A1.6 SP val" },
	{ S("v=STSv1; id=abc; _ext=1"), MTASTS_EPARSE, NULL, "A1.6 ext-name" },
	{ S("v=STSv1; id=abc; e/xt=1"), MTASTS_EPARSE, NULL, "A1.6 ext-name" },
	{ S("v=STSv1; id=abc; " NAME32 "x=1"), MTASTS_EPARSE, NULL,
	    "A1.6 ext-name of 33" },
	{ S("v=STSv1; id=abc; =1"), MTASTS_EPARSE, NULL, "A1.6 no name" },
	{ S("v=STSv1; id=abc; ext"), MTASTS_EPARSE, NULL, "A1.6 no '='" },
	{ S("v=STSv1; id=ab\0c"), MTASTS_EPARSE, NULL, "A1.4 NUL" },
	{ S("v=STSv1; id=abc\0"), MTASTS_EPARSE, NULL, "A1.4 trailing NUL" },
	{ S("v=STSv1; id=abc\r\n"), MTASTS_EPARSE, NULL, "A1.4 CRLF" },
	{ S("v=STSv1; id=abc; x=\r"), MTASTS_EPARSE, NULL, "A1.4 bare CR" },
	{ S("v=STSv1;\vid=abc"), MTASTS_EPARSE, NULL, "A1.4 VT is no WSP" },
	{ S("v=STSv1; id=abc; x=\xc3\xa9"), MTASTS_EPARSE, NULL,
	    "A1.4 non-ASCII" },
	{ S("v=STSv1; id=abc; x=\x7f"), MTASTS_EPARSE, NULL, "A1.4 DEL" },
};

static void
test_a1_record_parse(void **state)
{
	const struct parse_row *t;
	char id[MTASTS_ID_MAX + 1], err[MTASTS_ERRLEN];
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < NROWS(parse_rows); i++) {
		t = &parse_rows[i];
		err[0] = '\0';
		r = mtasts_record_parse(t->in, t->len, id, err, sizeof(err));
		if (r != t->status || (r == MTASTS_OK &&
		    strcmp(id, t->id) != 0))
			print_error("row %zu (%s): got %d id '%s' err '%s', "
			    "want %d\n", i, t->item, r, r ? "" : id, err,
			    t->status);
		assert_int_equal(r, t->status);
		if (r == MTASTS_OK)
			assert_string_equal(id, t->id);
		else	/* mtasts.h: on error a message is written */
			assert_true(err[0] != '\0');
		/* No error buffer at all must be fine too. */
		assert_int_equal(mtasts_record_parse(t->in, t->len, id, NULL,
		    0), t->status);
	}
}

struct rr_text {
	const char	*data;
	size_t		 len;
};

struct select_row {
	struct rr_text	 rr[4];
	size_t		 n;
	int		 status;
	const char	*id;
	const char	*item;
};

#define RR(s)	{ S(s) }

static const struct select_row select_rows[] = {
	{ { RR("v=STSv1; id=abc") }, 1, MTASTS_OK, "abc", "A1.8 one" },
	{ { RR("v=spf1 -all"), RR("v=STSv1; id=abc"), RR("hello") }, 3,
	    MTASTS_OK, "abc", "A1.8 others discarded" },
	{ { RR("") }, 0, MTASTS_ENORECORD, NULL, "A1.8 empty RRset" },
	{ { RR("v=spf1 -all") }, 1, MTASTS_ENORECORD, NULL, "A1.8 none" },
	{ { RR("v=STSv1 id=abc") }, 1, MTASTS_ENORECORD, NULL,
	    "D2 no ';' after v=STSv1 " },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv1; id=def") }, 2,
	    MTASTS_EMULTIPLE, NULL, "A1.8 two" },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv1 ;id=def") }, 2,
	    MTASTS_EMULTIPLE, NULL, "D2 'v=STSv1 ;' counts" },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv1") }, 2, MTASTS_EMULTIPLE,
	    NULL, "D2 bare v=STSv1 counts" },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv1\t") }, 2, MTASTS_EMULTIPLE,
	    NULL, "D2 v=STSv1 WSP end counts" },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv1; id=") }, 2,
	    MTASTS_EMULTIPLE, NULL, "A1.8 invalid one still counts" },
	{ { RR("v=STSv1") }, 1, MTASTS_EPARSE, NULL,
	    "D2 bare v=STSv1: no policy" },
	{ { RR("v=STSv1; id=bad-id"), RR("v=spf1 -all") }, 2, MTASTS_EPARSE,
	    NULL, "A1.8 the one left is invalid" },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv10; id=def") }, 2, MTASTS_OK,
	    "abc", "A1.8 D2 v=STSv10 discarded" },
	{ { RR("v=STSv1; id=abc"), RR("v=STSv1-x; id=def") }, 2, MTASTS_OK,
	    "abc", "A1.8 D2 v=STSv1-x discarded" },
	{ { RR("V=STSv1; id=def"), RR("v=STSv1; id=abc") }, 2, MTASTS_OK,
	    "abc", "D2 V=STSv1 discarded" },
	{ { RR("v=stsv1; id=def"), RR("v=STSv1; id=abc") }, 2, MTASTS_OK,
	    "abc", "D2 case-sensitive" },
	{ { RR(" v=STSv1; id=def"), RR("v=STSv1; id=abc") }, 2, MTASTS_OK,
	    "abc", "D2 leading WSP discarded" },
	{ { RR("v=STSv1;id=abc"), RR("x\0y"), RR("") }, 3, MTASTS_OK, "abc",
	    "A1.8 junk RRs discarded" },
	{ { RR("v=STSv1;"), RR("id=abc") }, 2, MTASTS_EPARSE, NULL,
	    "A1.10 D17 never joined across RRs" },
	{ { RR("v=STSv1;id=abc;"), RR("id=def") }, 2, MTASTS_OK, "abc",
	    "A1.10 D17 never joined across RRs" },
};

static void
run_select_row(size_t i, const struct select_row *t)
{
	struct mtasts_rr rrs[4];
	char id[MTASTS_ID_MAX + 1], err[MTASTS_ERRLEN];
	size_t j;
	int r;

	for (j = 0; j < t->n; j++) {
		rrs[j].data = t->rr[j].data;
		rrs[j].len = t->rr[j].len;
	}
	err[0] = '\0';
	r = mtasts_record_select(rrs, t->n, id, err, sizeof(err));
	if (r != t->status || (r == MTASTS_OK && strcmp(id, t->id) != 0))
		print_error("row %zu (%s): got %d err '%s', want %d\n", i,
		    t->item, r, err, t->status);
	assert_int_equal(r, t->status);
	if (r == MTASTS_OK)
		assert_string_equal(id, t->id);
	else
		assert_true(err[0] != '\0');
}

static void
test_a1_8_record_select(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NROWS(select_rows); i++)
		run_select_row(i, &select_rows[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a1_record_parse),
		cmocka_unit_test(test_a1_8_record_select),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
