/*
 * decide_fail.c - the decision under allocation failure and at
 * teardown.
 *
 * Built only with -DMTASTS_ALLOC_TEST (the ASan tree).  A cached,
 * fresh enforce policy is asked for by three queries at once (one
 * request, three waiters) while the n-th allocation fails, for every n
 * until a run makes no failure.  Each start either fails (MTASTS_ENOMEM,
 * no callback) or its callback runs exactly once with a result that is
 * the enforce policy or says it is incomplete (mtasts_result_status):
 * never "no policy", never a weaker mode (RFC 8461 §5.1, fail closed).
 * LeakSanitizer checks that nothing leaks.
 *
 * Then a query cut short by mtasts_ctx_free() while the policy host's
 * address lookup is half answered (A given, AAAA never: a tiny DNS
 * responder on loopback in the same loop): the callback runs once, as a
 * cancellation, and nothing is started on the freed fetcher.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include <mtasts.h>

#include "cache.h"
#include "ctx.h"
#include "util.h"

#define NWAIT		3
#define DOMAIN		"enforce.example"

static char			 dir[] = "/tmp/mtasts-test-decide.XXXXXX";
static struct mtasts_config	*cfg;
static struct event_base	*base;

struct waiter {
	int	calls;
	int	status;
	int	has_policy;
	int	mode;
	size_t	nmx;
	int	dns_oom;	/* a TXT lookup of ours ran out of memory */
};

static void
on_result(struct mtasts_result *res, void *arg)
{
	struct waiter *w = arg;
	size_t i;

	assert_non_null(res);
	w->calls++;
	w->status = mtasts_result_status(res);
	w->has_policy = mtasts_result_has_policy(res);
	w->mode = mtasts_result_mode(res);
	w->nmx = mtasts_result_mx_count(res);
	for (i = 0; i < mtasts_result_error_count(res); i++)
		if (strcmp(mtasts_result_error_type(res, i),
		    "dns-temporary") == 0 && strstr(
		    mtasts_result_error_detail(res, i), "out of memory") !=
		    NULL)
			w->dns_oom = 1;
	mtasts_result_free(res);
}

static void
seed(struct mtasts_ctx *ctx)
{
	static char *mx[] = { "mx1.enforce.example", "*.mx.example" };
	static char text[] = "version: STSv1\nmode: enforce\n"
	    "mx: mx1.enforce.example\nmx: *.mx.example\nmax_age: 86400\n";
	struct cache_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.domain, sizeof(e.domain), "%s", DOMAIN);
	snprintf(e.id, sizeof(e.id), "e1");
	e.text = text;
	e.text_len = strlen(text);
	e.mode = MTASTS_MODE_ENFORCE;
	e.max_age = 86400;
	e.mx = mx;
	e.nmx = 2;
	e.fetched_at = e.txt_checked_at = (int64_t)time(NULL);
	e.expires_at = e.fetched_at + 86400;
	assert_int_equal(cache_put(ctx->cache, &e), MTASTS_OK);
}

static int
setup(void **state)
{
	char conf[256], err[MTASTS_ERRLEN];
	struct mtasts_ctx *ctx;

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\ndns_timeout = 1s\n", dir);
	if ((base = event_base_new()) == NULL ||
	    mtasts_config_parse(conf, strlen(conf), "test", &cfg, err,
	    sizeof(err)) != MTASTS_OK ||
	    mtasts_ctx_new(base, cfg, 0, &ctx, err, sizeof(err)) !=
	    MTASTS_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	seed(ctx);
	mtasts_ctx_free(ctx);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	mtasts_config_free(cfg);
	event_base_free(base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* One run with the n-th allocation failing (0: none); the number of
 * allocations it made. */
static unsigned long
run(unsigned long n, int *complete)
{
	struct waiter w[NWAIT];
	struct mtasts_ctx *ctx;
	struct timeval tv = { 10, 0 };
	struct event *deadline;
	int started[NWAIT], late = 0, i, pending;
	unsigned long count;

	memset(w, 0, sizeof(w));
	assert_int_equal(mtasts_ctx_new(base, cfg, 0, &ctx, NULL, 0),
	    MTASTS_OK);
	deadline = evtimer_new(base, on_deadline, &late);
	assert_non_null(deadline);
	evtimer_add(deadline, &tv);
	util_alloc_fail_at(n);
	for (i = 0; i < NWAIT; i++) {
		started[i] = mtasts_query(ctx, DOMAIN, 0, on_result, &w[i],
		    NULL, 0);
		assert_true(started[i] == MTASTS_OK ||
		    started[i] == MTASTS_ENOMEM);
	}
	for (;;) {
		for (pending = 0, i = 0; i < NWAIT; i++)
			pending += started[i] == MTASTS_OK && w[i].calls == 0;
		if (pending == 0 || late)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	count = util_alloc_count();
	util_alloc_fail_at(0);
	event_free(deadline);
	mtasts_ctx_free(ctx);
	*complete = 1;
	for (i = 0; i < NWAIT; i++) {
		if (started[i] != MTASTS_OK) {
			assert_int_equal(w[i].calls, 0);
			*complete = 0;
			continue;
		}
		/* Exactly once, before the context went away. */
		if (w[i].calls != 1)
			fail_msg("n=%lu: waiter %d called %d times", n, i,
			    w[i].calls);
		if (w[i].status != MTASTS_OK) {
			assert_int_equal(w[i].status, MTASTS_ENOMEM);
			*complete = 0;
			continue;
		}
		if (!w[i].has_policy || w[i].mode != MTASTS_MODE_ENFORCE ||
		    w[i].nmx != 2)
			fail_msg("n=%lu: waiter %d: a complete answer weaker "
			    "than the cached enforce policy (policy %d, mode "
			    "%d, %zu mx)", n, i, w[i].has_policy, w[i].mode,
			    w[i].nmx);
	}
	return count;
}

static void
test_decide_enomem(void **state)
{
	unsigned long n, total;
	int complete;

	(void)state;
	total = run(0, &complete);
	assert_true(complete);
	assert_true(total > 5);
	for (n = 1; n <= total; n++)
		run(n, &complete);
	/* The cache was not damaged by any of it. */
	run(0, &complete);
	assert_true(complete);
	printf("# decision path: %lu allocation points failed in turn\n",
	    total);
}

/* The responder: TXT for _mta-sts.<d>, A for mta-sts.<d>, AAAA never
 * (dropped, as some broken servers and middleboxes do). */
struct responder {
	int	fd;
	int	answered_a;
	int	dropped_aaaa;
	int	aaaa_empty;	/* answer AAAA with no record, not drop it */
};

static void
on_dns(evutil_socket_t fd, short what, void *arg)
{
	static const unsigned char txt[] = "\016v=STSv1; id=u1";
	struct responder *rs = arg;
	unsigned char buf[512];
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;
	size_t off = 12, rdlen;
	unsigned int qtype;
	const unsigned char *rdata;

	(void)what;
	if ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	    &flen)) < 12)
		return;
	while (off < (size_t)n && buf[off] != 0)
		off += buf[off] + 1;
	if (off + 5 > (size_t)n)
		return;
	off += 5;			/* root label, QTYPE, QCLASS */
	qtype = (unsigned int)buf[off - 4] << 8 | buf[off - 3];
	if (qtype == 28 && !rs->aaaa_empty) {	/* AAAA */
		rs->dropped_aaaa = 1;
		return;
	}
	if (qtype == 28) {		/* NODATA */
		buf[2] = 0x84 | (buf[2] & 0x01);
		buf[3] = 0;
		memset(buf + 6, 0, 6);
		sendto(fd, buf, off, 0, (struct sockaddr *)&from, flen);
		return;
	}
	if (qtype == 1) {
		rdata = (const unsigned char *)"\177\0\0\1";
		rdlen = 4;
	} else if (qtype == 16) {
		rdata = txt;
		rdlen = sizeof(txt) - 1;
	} else
		return;
	buf[2] = 0x84 | (buf[2] & 0x01);	/* QR, AA, RD as asked */
	buf[3] = 0;
	buf[6] = 0, buf[7] = 1;			/* ANCOUNT 1 */
	memset(buf + 8, 0, 4);			/* NSCOUNT, ARCOUNT */
	memcpy(buf + off, "\300\014", 2);	/* the question's name */
	buf[off + 2] = 0, buf[off + 3] = (unsigned char)qtype;
	buf[off + 4] = 0, buf[off + 5] = 1;	/* IN */
	memcpy(buf + off + 6, "\0\0\0\074", 4);	/* TTL 60 */
	buf[off + 10] = 0, buf[off + 11] = (unsigned char)rdlen;
	memcpy(buf + off + 12, rdata, rdlen);
	sendto(fd, buf, off + 12 + rdlen, 0, (struct sockaddr *)&from, flen);
	if (qtype == 1)
		rs->answered_a = 1;
}

static void
test_teardown_half_answered(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct responder rs = { -1, 0, 0, 0 };
	struct mtasts_config *c;
	struct mtasts_ctx *ctx;
	struct event *ev, *deadline;
	struct timeval tv = { 5, 0 };
	struct waiter w;
	char conf[256], err[MTASTS_ERRLEN];
	int late = 0, i;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((rs.fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	assert_int_equal(bind(rs.fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(getsockname(rs.fd, (struct sockaddr *)&sin, &slen),
	    0);
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:%u\ndns_timeout = 10s\n", dir,
	    (unsigned int)ntohs(sin.sin_port));
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "test", &c,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_ctx_new(base, c, 0, &ctx, err, sizeof(err)),
	    MTASTS_OK);
	ev = event_new(base, rs.fd, EV_READ | EV_PERSIST, on_dns, &rs);
	deadline = evtimer_new(base, on_deadline, &late);
	assert_non_null(ev);
	assert_non_null(deadline);
	event_add(ev, NULL);
	evtimer_add(deadline, &tv);
	memset(&w, 0, sizeof(w));
	assert_int_equal(mtasts_query(ctx, "uaf.example", MTASTS_Q_NOCACHE,
	    on_result, &w, NULL, 0), MTASTS_OK);
	while (!(rs.answered_a && rs.dropped_aaaa) && !late)
		event_base_loop(base, EVLOOP_ONCE);
	assert_false(late);
	/* Let c-ares read the A answer; the AAAA one never comes. */
	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	usleep(50000);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(w.calls, 0);
	mtasts_ctx_free(ctx);
	assert_int_equal(w.calls, 1);
	/* Cut short: not an answer to act on. */
	assert_int_equal(w.status, MTASTS_ETIMEOUT);
	assert_false(w.has_policy);
	event_free(ev);
	event_free(deadline);
	close(rs.fd);
	mtasts_config_free(c);
}

/* No cached policy, and the n-th allocation fails while the TXT
 * answer is read (c-ares' or ours): that is our failure, never the
 * domain's "no policy" -- the answer is incomplete and the MTA defers
 * (§5.1 allows "no policy" for the domain's DNS trouble only).  The
 * domain's own later failures (the policy host refuses: no HTTPS
 * server here) may still end in "no policy", as they should. */
static void
test_dns_enomem_uncached(void **state)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct responder rs = { -1, 0, 0, 1 };
	struct mtasts_config *c;
	struct mtasts_ctx *ctx;
	struct event *ev;
	struct waiter w;
	char conf[256], err[MTASTS_ERRLEN], d[64];
	unsigned long n;
	int r, oom = 0, spins;
	time_t t0;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((rs.fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
	assert_int_equal(bind(rs.fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(getsockname(rs.fd, (struct sockaddr *)&sin, &slen),
	    0);
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:%u\ndns_timeout = 2s\nconnect_timeout = 1s\n"
	    "fetch_timeout = 2s\n", dir, (unsigned int)ntohs(sin.sin_port));
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "test", &c,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_ctx_new(base, c, 0, &ctx, err, sizeof(err)),
	    MTASTS_OK);
	ev = event_new(base, rs.fd, EV_READ | EV_PERSIST, on_dns, &rs);
	assert_non_null(ev);
	event_add(ev, NULL);
	/* The TXT answer is read within the first allocations of a
	 * query (n = 6..12 when this was written).  Not further: n = 21
	 * fails an allocation in the fetch after which the query waits
	 * on nothing (an open bug, in the stop note). */
	for (n = 1; n <= 20; n++) {
		/* A new domain each time: nothing cached, no retry_interval. */
		snprintf(d, sizeof(d), "nc%lu.example", n);
		memset(&w, 0, sizeof(w));
		util_alloc_fail_at(n);
		r = mtasts_query(ctx, d, 0, on_result, &w, NULL, 0);
		if (r != MTASTS_OK) {
			util_alloc_fail_at(0);
			assert_int_equal(r, MTASTS_ENOMEM);
			continue;
		}
		t0 = time(NULL);
		for (spins = 0; w.calls == 0 && time(NULL) - t0 < 10; spins++)
			event_base_loop(base, EVLOOP_ONCE);
		util_alloc_fail_at(0);
		assert_int_equal(w.calls, 1);
		if (w.dns_oom) {
			oom++;
			if (w.status == MTASTS_OK && !w.has_policy)
				fail_msg("n=%lu: out of memory reading the "
				    "TXT answer decided \"no policy\"", n);
		}
	}
	/* The hook reached the TXT answer at least once. */
	assert_true(oom > 0);
	event_free(ev);
	mtasts_ctx_free(ctx);
	close(rs.fd);
	mtasts_config_free(c);
}

/* libevent's allocations fail in turn too (timers that cannot be
 * armed): through util.c's hook. */
static void *
ev_malloc(size_t size)
{
	return util_malloc(size);
}

static void *
ev_realloc(void *p, size_t size)
{
	return util_reallocarray(p, size, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_enomem),
		cmocka_unit_test(test_teardown_half_answered),
		cmocka_unit_test(test_dns_enomem_uncached),
	};

	event_set_mem_functions(ev_malloc, ev_realloc, free);
	return cmocka_run_group_tests(tests, setup, teardown);
}
