/*
 * bench.c - make bench: ns/op of the parsers and matchers.
 *
 * Figures only; nothing here passes or fails.  Each case runs for about
 * 0.3 s of wall time, bounded by an iteration cap.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mtasts.h>

#define BENCH_SECONDS	0.3
#define BENCH_MAX_ITERS	50000000UL

static const char policy[] =
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
    "mx: *.mx.example.net\r\nmx: backup.example.org\r\nmax_age: 1209600\r\n";
static const char record[] = "v=STSv1; id=20261124T000000Z;";
static const char tlsrpt[] =
    "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/v1";

static volatile int sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
op_policy(void)
{
	struct mtasts_policy *p;

	sink += mtasts_policy_parse(policy, sizeof(policy) - 1, &p, NULL, 0);
	mtasts_policy_free(p);
}

static void
op_record(void)
{
	char id[MTASTS_ID_MAX + 1];

	sink += mtasts_record_parse(record, sizeof(record) - 1, id, NULL, 0);
}

static void
op_tlsrpt(void)
{
	struct mtasts_tlsrpt *t;

	sink += mtasts_tlsrpt_parse(tlsrpt, sizeof(tlsrpt) - 1, &t, NULL, 0);
	mtasts_tlsrpt_free(t);
}

static void
op_mx_exact(void)
{
	sink += mtasts_mx_match("mail.example.com", 16, "MAIL.example.com.",
	    17, NULL, 0);
}

static void
op_mx_wild(void)
{
	sink += mtasts_mx_match("*.mx.example.net", 16, "a.mx.example.net",
	    16, NULL, 0);
}

static void
op_normalize(void)
{
	char out[MTASTS_DOMAIN_MAX + 1];

	sink += mtasts_domain_normalize("Mail.Example.COM.", 17, out,
	    sizeof(out), NULL, 0);
}

static void
op_normalize_idn(void)
{
	char out[MTASTS_DOMAIN_MAX + 1];
	static const char u[] = "mail.b\xc3\xbc" "cher.example";

	sink += mtasts_domain_normalize(u, sizeof(u) - 1, out, sizeof(out),
	    NULL, 0);
}

static void
bench(const char *name, void (*op)(void))
{
	unsigned long n = 0, batch = 1000, i;
	double t0 = now(), t;

	do {
		for (i = 0; i < batch; i++)
			op();
		n += batch;
		t = now() - t0;
	} while (t < BENCH_SECONDS && n < BENCH_MAX_ITERS);
	printf("%-28s %10.1f ns/op  (%lu ops)\n", name, t * 1e9 / (double)n,
	    n);
}

int
main(void)
{
	printf("mtasts %s bench: parsers and matchers, one core\n",
	    MTASTS_VERSION);
	bench("policy parse (3 mx, CRLF)", op_policy);
	bench("record parse", op_record);
	bench("tlsrpt record parse", op_tlsrpt);
	bench("mx match exact", op_mx_exact);
	bench("mx match wildcard", op_mx_wild);
	bench("domain normalize ASCII", op_normalize);
	bench("domain normalize IDN", op_normalize_idn);
	return sink == 42 ? 1 : 0;
}
