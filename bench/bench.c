/*
 * bench.c - make bench: ns/op of the parsers and matchers.
 *
 * Figures only; nothing here passes or fails.  Each case runs for about
 * 0.3 s of wall time, bounded by an iteration cap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mtasts.h>

#include "cache.h"		/* to seed the warm cache */

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

/* Warm decision: a fresh policy in the cache, answered in-process
 * (RFC 8461 §5.1 step 1) through the blocking wrapper Exim uses. */
static struct mtasts_ctx *warm_ctx;
static struct cache *warm_cache;

static void
op_warm_query(void)
{
	struct mtasts_result *r;

	sink += mtasts_query_wait(warm_ctx, "example.com", 0, &r, NULL, 0);
	sink += mtasts_result_mx_allowed(r, "mx1.example.com", 15);
	mtasts_result_free(r);
}

static void
op_warm_cache_get(void)
{
	struct cache_entry e;

	sink += cache_get(warm_cache, "example.com", &e);
	cache_entry_clear(&e);
}

static int
warm_setup(char *dir)
{
	static const char text[] = "version: STSv1\nmode: enforce\n"
	    "mx: mx1.example.com\nmax_age: 86400\n";
	char conf[300], err[MTASTS_ERRLEN];
	struct mtasts_config *cfg;
	struct cache_entry e;
	char *mx = "mx1.example.com";

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\n", dir);
	if (mtasts_config_parse(conf, strlen(conf), "bench", &cfg, err,
	    sizeof(err)) != MTASTS_OK || mtasts_ctx_new(NULL, cfg, 0,
	    &warm_ctx, err, sizeof(err)) != MTASTS_OK ||
	    cache_open(dir, 0, &warm_cache, err, sizeof(err)) != MTASTS_OK) {
		fprintf(stderr, "bench: %s\n", err);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "example.com");
	snprintf(e.id, sizeof(e.id), "id1");
	e.text = (char *)(uintptr_t)text;
	e.text_len = sizeof(text) - 1;
	e.mode = MTASTS_MODE_ENFORCE;
	e.max_age = 86400;
	e.mx = &mx;
	e.nmx = 1;
	e.fetched_at = (int64_t)time(NULL);
	e.expires_at = e.fetched_at + e.max_age;
	return cache_put(warm_cache, &e) == MTASTS_OK ? 0 : -1;
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
	char dir[] = "/tmp/mtasts-bench.XXXXXX", cmd[64];

	printf("mtasts %s bench: parsers and matchers, one core\n",
	    MTASTS_VERSION);
	bench("policy parse (3 mx, CRLF)", op_policy);
	bench("record parse", op_record);
	bench("tlsrpt record parse", op_tlsrpt);
	bench("mx match exact", op_mx_exact);
	bench("mx match wildcard", op_mx_wild);
	bench("domain normalize ASCII", op_normalize);
	bench("domain normalize IDN", op_normalize_idn);
	if (warm_setup(dir) == 0) {
		bench("cache_get (BDB, decode)", op_warm_cache_get);
		bench("warm decision (query_wait)", op_warm_query);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		sink++;
	return sink == 42 ? 1 : 0;
}
