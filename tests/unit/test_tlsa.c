/*
 * test_tlsa.c - TLSA records in a raw DNS answer (core/tlsa.c), for
 * mtasts check's DANE item: RFC 1035 §4.1 message layout, RFC 6698 §2.1
 * RDATA.  Hostile answers (truncation, lying counts, reserved label
 * bits) are errors, never reads past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tlsa.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* Header: id, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT */
#define HDR(qd, an)	0x12, 0x34, 0x84, 0x00, 0, qd, 0, an, 0, 0, 0, 0
/* Question: _25._tcp.mx.t TLSA IN (offset 12) */
#define QUESTION	3, '_', '2', '5', 4, '_', 't', 'c', 'p', 2, 'm', 'x', \
			1, 't', 0, 0, 52, 0, 1
/* Answer RR header with a pointer to the question's name */
#define RR(type, rdlen)	RRC(type, 1, rdlen)
#define RRC(type, class, rdlen)	0xc0, 12, 0, type, 0, class, 0, 0, 0, 1, 0, \
			rdlen
#define TLSA311		3, 1, 1, 0xaa, 0xbb

static const unsigned char one[] = { HDR(1, 1), QUESTION, RR(52, 5),
    TLSA311 };
static const unsigned char two[] = { HDR(1, 2), QUESTION, RR(52, 5),
    TLSA311, RR(52, 4), 2, 0, 1, 0xcc };
static const unsigned char cname[] = { HDR(1, 2), QUESTION, RR(5, 2),
    0xc0, 12, RR(52, 5), TLSA311 };
static const unsigned char none[] = { HDR(1, 0), QUESTION };
static const unsigned char lying[] = { HDR(1, 3), QUESTION, RR(52, 5),
    TLSA311 };
static const unsigned char rdlen_long[] = { HDR(1, 1), QUESTION,
    RR(52, 9), TLSA311 };
static const unsigned char short_rdata[] = { HDR(1, 1), QUESTION,
    RR(52, 3), 3, 1, 1 };
static const unsigned char reserved[] = { HDR(1, 0), 0x40, 'a', 0, 0, 52,
    0, 1 };
static const unsigned char unterminated[] = { HDR(1, 0), 3, 'a', 'b',
    'c' };
/* The same record in class CH (3): the query was IN, so it is not one. */
static const unsigned char chaos[] = { HDR(1, 2), QUESTION, RRC(52, 3, 5),
    TLSA311, RR(52, 4), 2, 0, 1, 0xcc };
/* An owner name of 4 * 64 = 256 wire octets: over RFC 1035 §2.3.4's 255. */
#define L63	63, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', \
		'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', \
		'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', \
		'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', \
		'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', \
		'a', 'a', 'a'
static const unsigned char long_name[] = { HDR(0, 1), L63, L63, L63, L63,
    0, 0, 52, 0, 1, 0, 0, 0, 1, 0, 5, TLSA311 };
static const unsigned char header_short[] = { 0x12, 0x34, 0x84 };

struct tlsa_row {
	const char		*what;
	const unsigned char	*msg;
	size_t			 len;
	int			 status;
	size_t			 n;
	unsigned int		 first;	/* usage*100 + selector*10 + mtype */
};

#define ROW(w, m, st, n, f)	{ w, m, sizeof(m), st, n, f }

static const struct tlsa_row rows[] = {
	ROW("one record", one, 0, 1, 311),
	ROW("two records", two, 0, 2, 311),
	ROW("CNAME on the way is not a TLSA record", cname, 0, 1, 311),
	ROW("NODATA answer", none, 0, 0, 0),
	ROW("ANCOUNT larger than the answers", lying, -1, 1, 311),
	ROW("RDLENGTH past the end", rdlen_long, -1, 0, 0),
	ROW("RDATA without data octets is no record", short_rdata, 0, 0, 0),
	ROW("reserved label bits 01", reserved, -1, 0, 0),
	ROW("name without its root label", unterminated, -1, 0, 0),
	ROW("message shorter than a header", header_short, -1, 0, 0),
	ROW("a class CH record is not an IN one", chaos, 0, 1, 201),
	ROW("owner name longer than 255 octets", long_name, -1, 0, 0),
};

static void
test_rows(void **state)
{
	struct tlsa_rr rr[TLSA_MAX];
	size_t i, n;
	int r;

	(void)state;
	for (i = 0; i < NROWS(rows); i++) {
		r = tlsa_parse(rows[i].msg, rows[i].len, rr, TLSA_MAX, &n);
		if (r != rows[i].status || (r == 0 && n != rows[i].n))
			fail_msg("%s: got %d n=%zu", rows[i].what, r, n);
		if (r == 0 && n > 0 && (unsigned int)(rr[0].usage * 100 +
		    rr[0].selector * 10 + rr[0].mtype) != rows[i].first)
			fail_msg("%s: first record %u %u %u", rows[i].what,
			    rr[0].usage, rr[0].selector, rr[0].mtype);
	}
}

/* Room for fewer records than there are: the first ones, no more. */
static void
test_bound(void **state)
{
	struct tlsa_rr rr[1];
	size_t n;

	(void)state;
	assert_int_equal(tlsa_parse(two, sizeof(two), rr, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rr[0].usage, 3);
}

/* Every truncation of a good answer is an error, never a crash. */
static void
test_truncations(void **state)
{
	struct tlsa_rr rr[TLSA_MAX];
	size_t len, n;

	(void)state;
	for (len = 0; len < sizeof(two); len++)
		assert_int_equal(tlsa_parse(two, len, rr, TLSA_MAX, &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
