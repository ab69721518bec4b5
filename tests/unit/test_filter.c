/*
 * test_filter.c - filter-mtasts's protocol reader (proto.c) and its
 * --report state machine (report.c), with the filter's I/O and
 * rcpt-to handling replaced by recorders and the real core behind
 * report.c (a private cache).  What smtpd and TLSRPT rely on:
 *  - registration only after config|ready, once;
 *  - each well-formed rcpt-to request handed over with its session,
 *    token and address; any other filter phase answered "proceed";
 *    a request of an unknown protocol version, or without parameters,
 *    answered 451 (never left unanswered: smtpd would wait forever);
 *    lines without a session and token dropped, never fatal;
 *  - lines about bad input logged at most LOGLIMIT_BURST a period, then
 *    counted in one summary line;
 *  - smtp-out sessions counted as RFC 8460 results: verified TLS is
 *    success, TLS then disconnect validation-failure, an EHLO without
 *    STARTTLS starttls-not-supported, a TCP failure nothing; a failed
 *    session with no recipient named by its address's MX note; the
 *    same counts from 6.8's event order (link-tls, then the second
 *    link-identify) and 7.6's (the second link-identify, then link-tls;
 *    no link-tls at all when the certificate is refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mtasts.h"
#include "cache.h"
#include "ctx.h"
#include "../../opensmtpd-filter/filter.h"
#include "../../opensmtpd-filter/loglimit.h"

struct filter_env	env;
static size_t	nlog;			/* log_warnx calls */
static char	lastlog[512];

static char	out[64][256];		/* lines "written" to smtpd */
static size_t	nout;
static char	started[16][256];	/* rcpt_start calls */
static size_t	nstarted;

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(lastlog, sizeof(lastlog), fmt, ap);
	va_end(ap);
	nlog++;
}

void
log_debug(const char *fmt, ...)
{
	(void)fmt;
}

void
fatalx(const char *fmt, ...)
{
	(void)fmt;
	fail_msg("fatalx called");
	abort();
}

void
io_printf(const char *fmt, ...)
{
	va_list	ap;

	assert_true(nout < 64);
	va_start(ap, fmt);
	vsnprintf(out[nout++], sizeof(out[0]), fmt, ap);
	va_end(ap);
}

void
rcpt_start(const char *sid, const char *token, const char *addr,
    size_t len)
{
	assert_true(nstarted < 16);
	snprintf(started[nstarted++], sizeof(started[0]), "%s %s %.*s", sid,
	    token, (int)len, addr);
}

static void
feed(const char *line)
{
	char	buf[512];

	snprintf(buf, sizeof(buf), "%s", line);
	proto_line(buf, strlen(buf));
}

static void
test_handshake_and_requests(void **state)
{
	static const struct {
		const char	*line;
		const char	*started;	/* rcpt_start, or NULL */
		const char	*answer;	/* written, or NULL */
	} rows[] = {
		{ "filter|0.6|1.0|smtp-in|rcpt-to|00000000000000a1|"
		    "00000000000000b1|u@a.test", "00000000000000a1 "
		    "00000000000000b1 u@a.test", NULL },
		{ "filter|0.7|1.0|smtp-in|rcpt-to|a2|b2|<u@b.test>",
		    "a2 b2 <u@b.test>", NULL },
		{ "filter|0.6|1.0|smtp-in|mail-from|a3|b3|x@y.test", NULL,
		    "filter-result|a3|b3|proceed" },	/* never stalled */
		/* Unknown version: tempfailed, never left unanswered. */
		{ "filter|9.9|1.0|smtp-in|rcpt-to|a4|b4|u@a.test", NULL,
		    "filter-result|a4|b4|reject|451 4.7.0 MTA-STS filter "
		    "cannot read this request; try again later" },
		{ "filter|1.0|1.0|smtp-in|mail-from|c4|d4|u@a.test", NULL,
		    "filter-result|c4|d4|reject|451 4.7.0 MTA-STS filter "
		    "cannot read this request; try again later" },
		{ "filter|0.4|1.0|smtp-in|rcpt-to|e4|f4|u@a.test", NULL,
		    "filter-result|e4|f4|reject|451 4.7.0 MTA-STS filter "
		    "cannot read this request; try again later" },
		{ "filter|0.6|1.0|smtp-in|rcpt-to|a5|b5", NULL,
		    "filter-result|a5|b5|reject|451 4.7.0 MTA-STS filter "
		    "cannot read this request; try again later" },
		{ "filter|9.9|1.0|smtp-in|rcpt-to|a5", NULL, NULL },
		{ "filter|0.6|1.0|smtp-in|rcpt-to|zz|b5|u@a.test", NULL,
		    NULL },				/* bad session id */
		{ "filter|0.6|1.0|smtp-in|rcpt-to|a6|00000000000000000|u@a",
		    NULL, NULL },			/* 17-digit token */
		{ "filter|0.6|1.0|smtp-in|rcpt-to|a7", NULL, NULL },
		{ "filter|0.6|1.0|smtp-in|rcpt-to|a8|b8|u@a|b|c",
		    "a8 b8 u@a|b|c", NULL },	/* the address keeps its |s */
		{ "garbage", NULL, NULL },
		{ "report|0.6|1.0|smtp-in|link-connect|a9|x|y|z|w", NULL,
		    NULL },				/* not --report */
	};
	size_t	i, o, s;

	(void)state;
	env.report = 0;
	feed("config|smtpd-version|6.8.0p2");
	feed("config|subsystem|smtp-in");
	assert_int_equal(nout, 0);		/* nothing before ready */
	feed("config|ready");
	assert_int_equal(nout, 2);
	assert_string_equal(out[0], "register|filter|smtp-in|rcpt-to");
	assert_string_equal(out[1], "register|ready");
	feed("config|ready");			/* twice: registered once */
	assert_int_equal(nout, 2);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		o = nout;
		s = nstarted;
		feed(rows[i].line);
		assert_int_equal(nstarted, s + (rows[i].started != NULL));
		assert_int_equal(nout, o + (rows[i].answer != NULL));
		if (rows[i].started != NULL)
			assert_string_equal(started[s], rows[i].started);
		if (rows[i].answer != NULL)
			assert_string_equal(out[o], rows[i].answer);
	}
}

/* 7.6+ names an unknown protocol at the handshake: one warning, and
 * no exit (smtpd would go down with us). */
static void
test_unknown_protocol(void **state)
{
	size_t	n;

	(void)state;
	n = nlog;
	feed("config|protocol|1.0");
	assert_int_equal(nlog, n + 1);
	assert_non_null(strstr(lastlog, "'1.0'"));
	assert_non_null(strstr(lastlog, "451"));
	n = nlog;
	feed("config|protocol|0.7");
	assert_int_equal(nlog, n);
}

/* 1000 malformed lines: LOGLIMIT_BURST logged, the rest counted and
 * summed up in one line once the period is over. */
static void
test_log_flood(void **state)
{
	size_t	i, n, o;

	(void)state;
	loglimit_flush(0);		/* a fresh period from the next line */
	n = nlog;
	o = nout;
	for (i = 0; i < 1000; i++)
		feed(i % 2 ? "garbage" : "filter|0.6|1.0|smtp-in|rcpt-to|zz|");
	assert_int_equal(nlog, n + LOGLIMIT_BURST);
	assert_int_equal(nout, o);		/* none answered */
	assert_non_null(strstr(lastlog, "counted, not logged"));
	loglimit_flush(time(NULL) + LOGLIMIT_PERIOD);
	assert_int_equal(nlog, n + LOGLIMIT_BURST + 1);
	assert_non_null(strstr(lastlog, "990 more lines about bad input"));
	/* The next period logs again. */
	feed("garbage");
	assert_int_equal(nlog, n + LOGLIMIT_BURST + 2);
	assert_non_null(strstr(lastlog, "unknown line 'garbage'"));
	loglimit_flush(0);
}

/* --report against a private cache. */
static char	dir[] = "/tmp/mtasts-test-filter.XXXXXX";

struct count {
	const char	*domain, *result, *mx;
	uint64_t	 n;
};

static int
count_one(const char *day, const char *domain, const char *ptype,
    const char *pid, const char *result, const char *mx, const char *ip,
    uint64_t n, void *arg)
{
	struct count *c = arg;

	(void)day;
	(void)ptype;
	(void)pid;
	(void)ip;
	if (strcmp(domain, c->domain) == 0 && strcmp(result, c->result) ==
	    0 && strcmp(mx, c->mx) == 0)
		c->n += n;
	return 0;
}

static uint64_t
counted(const char *domain, const char *result, const char *mx)
{
	struct count c = { domain, result, mx, 0 };

	assert_int_equal(mtasts_tls_result_foreach(env.mtasts, count_one, &c),
	    MTASTS_OK);
	return c.n;
}

/* One smtp-out session of protocol version v: "E|params" events, then
 * link-disconnect. */
static void
session_v(const char *v, const char *sid, const char *const *ev)
{
	char	line[512];

	/* "event|params" -> "report|...|event|sid|params" */
	for (; *ev != NULL; ev++) {
		snprintf(line, sizeof(line),
		    "report|%s|1.0|smtp-out|%.*s|%s|%s", v,
		    (int)(strchr(*ev, '|') - *ev), *ev, sid,
		    strchr(*ev, '|') + 1);
		feed(line);
	}
	snprintf(line, sizeof(line),
	    "report|%s|1.0|smtp-out|link-disconnect|%s", v, sid);
	feed(line);
}

/* smtpd 6.8 (protocol 0.6). */
static void
session(const char *sid, const char *const *ev)
{
	session_v("0.6", sid, ev);
}

static void
test_report_sessions(void **state)
{
	static const char *const ok[] = {
		"link-connect|p|pass|127.0.0.1:5000|192.0.2.10:25",
		"link-greeting|mx.a.test", "link-identify|EHLO|me",
		"protocol-server|250-STARTTLS", "link-tls|TLSv1.3:X:256",
		"link-identify|EHLO|me", "tx-rcpt|m1|ok|u@A.test", NULL,
	};
	static const char *const badcert[] = {
		"link-connect|p|pass|127.0.0.1:5001|192.0.2.10:25",
		"link-identify|EHLO|me", "protocol-server|250-STARTTLS",
		"link-tls|TLSv1.3:X:256", NULL,
	};
	static const char *const notls[] = {
		"link-connect|p|pass|127.0.0.1:5002|[2001:db8::5]:25",
		"link-identify|EHLO|me", "protocol-server|250-SIZE 100",
		"protocol-server|250 HELP", NULL,
	};
	static const char *const unknown_ip[] = {
		"link-connect|p|pass|127.0.0.1:5003|198.51.100.7:25",
		"link-tls|TLSv1.3:X:256", NULL,
	};
	static const char *const tcpfail[] = { NULL };
	/* smtpd 7.6 as seen on Debian 13 (issue 18): the EHLO after
	 * STARTTLS is reported before link-tls; a refused certificate ends
	 * the handshake, so no link-tls follows the 220. */
	static const char *const ok76[] = {
		"link-connect|p|pass|127.0.0.1:5010|192.0.2.10:25",
		"link-greeting|mx.a.test", "link-identify|EHLO|me",
		"protocol-server|250-mx.a.test Hello",
		"protocol-server|250-STARTTLS", "protocol-server|250 HELP",
		"protocol-server|220 2.0.0 Ready to start TLS",
		"link-identify|EHLO|me", "link-tls|TLSv1.3:X:256",
		"protocol-server|250-mx.a.test Hello",
		"protocol-server|250 HELP", "tx-rcpt|m1|ok|u@a.test", NULL,
	};
	static const char *const badcert76[] = {
		"link-connect|p|pass|127.0.0.1:5011|192.0.2.10:25",
		"link-greeting|mx.a.test", "link-identify|EHLO|me",
		"protocol-server|250-mx.a.test Hello",
		"protocol-server|250-STARTTLS", "protocol-server|250 HELP",
		"protocol-server|220 2.0.0 Ready to start TLS", NULL,
	};
	static const char *const notls76[] = {
		"link-connect|p|pass|127.0.0.1:5012|[2001:db8::5]:25",
		"link-greeting|mx.b.test", "link-identify|EHLO|me",
		"protocol-server|250-mx.b.test Hello",
		"protocol-server|250 HELP", NULL,
	};
	/* STARTTLS offered, then refused (454): no TLS result, as on 6.8. */
	static const char *const refused76[] = {
		"link-connect|p|pass|127.0.0.1:5013|192.0.2.10:25",
		"link-identify|EHLO|me", "protocol-server|250-STARTTLS",
		"protocol-server|250 HELP",
		"protocol-server|454 4.7.0 TLS not available", NULL,
	};
	/* 6.8 with its protocol-server lines: identify, tls, identify. */
	static const char *const ok68[] = {
		"link-connect|p|pass|127.0.0.1:5014|192.0.2.10:25",
		"link-greeting|mx.a.test", "link-identify|EHLO|me",
		"protocol-server|250-STARTTLS", "protocol-server|250 HELP",
		"protocol-server|220 2.0.0 Ready to start TLS",
		"link-tls|TLSv1.3:X:256", "link-identify|EHLO|me",
		"tx-rcpt|m1|ok|u@a.test", NULL,
	};
	struct mtasts_config *cfg;
	char conf[256], err[MTASTS_ERRLEN], val[128], cmd[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "cache_dir = %s\nresolver = "
	    "127.0.0.1:9\n", dir);
	assert_int_equal(mtasts_config_parse(conf, strlen(conf), "test", &cfg,
	    err, sizeof(err)), MTASTS_OK);
	assert_int_equal(mtasts_ctx_new(NULL, cfg, 0, &env.mtasts, err,
	    sizeof(err)), MTASTS_OK);
	/* As filter-mtasts notes them at RCPT (core/mxnote.c's format). */
	snprintf(val, sizeof(val), "a.test\tmx.a.test\t%lld",
	    (long long)time(NULL));
	assert_int_equal(cache_note_put(env.mtasts->cache, "A\t192.0.2.10", 12,
	    val, strlen(val)), MTASTS_OK);
	assert_int_equal(cache_note_put(env.mtasts->cache,
	    "A\t192.0.2.10\ta.test", 19, val, strlen(val)), MTASTS_OK);
	snprintf(val, sizeof(val), "b.test\tmx.b.test\t%lld",
	    (long long)time(NULL));
	assert_int_equal(cache_note_put(env.mtasts->cache, "A\t2001:db8::5",
	    13, val, strlen(val)), MTASTS_OK);
	env.report = 1;
	session("c1", ok);
	session("c2", badcert);
	session("c3", notls);
	session("c4", unknown_ip);
	session("c5", tcpfail);
	feed("report|0.6|1.0|smtp-out|link-disconnect|c6"); /* never seen */
	assert_int_equal(counted("a.test", "success", "mx.a.test"), 1);
	assert_int_equal(counted("a.test", "validation-failure", "mx.a.test"),
	    1);
	assert_int_equal(counted("b.test", "starttls-not-supported",
	    "mx.b.test"), 1);
	session_v("0.7", "d1", ok76);
	session_v("0.7", "d2", badcert76);
	session_v("0.7", "d3", badcert76);
	session_v("0.7", "d4", notls76);
	session_v("0.7", "d5", refused76);
	session("d6", ok68);
	assert_int_equal(counted("a.test", "success", "mx.a.test"), 3);
	assert_int_equal(counted("a.test", "validation-failure", "mx.a.test"),
	    3);
	assert_int_equal(counted("b.test", "starttls-not-supported",
	    "mx.b.test"), 2);
	report_shutdown();
	mtasts_ctx_free(env.mtasts);
	mtasts_config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_requests),
		cmocka_unit_test(test_unknown_protocol),
		cmocka_unit_test(test_log_flood),
		cmocka_unit_test(test_report_sessions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
