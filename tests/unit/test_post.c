/*
 * test_post.c - a TLS report POST (RFC 8460 §5.4) against hostile
 * collectors: a local HTTPS server (a forked child, OpenSSL, a throwaway
 * self-signed certificate, an ephemeral port on 127.0.0.1) answers in
 * one of several ways.  Once the status line says 2xx the report is
 * delivered, whatever the body or the rest of the headers do, and at
 * once: a slow or huge answer must not count as "not delivered" (then
 * `mtasts report send' would send it again, issue 20).  A non-2xx stays
 * an error, even with a fake "HTTP/1.1 200" header after it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <mtasts.h>

#include "config.h"
#include "fetch.h"

#define FETCH_TIMEOUT	2	/* seconds, the whole exchange */

enum mode {
	M_OK,		/* 201 and a short body */
	M_SLOW_BODY,	/* 200, then the body one byte per 100 ms */
	M_BIG_BODY,	/* 200, then 64 MiB of body as fast as it goes */
	M_SLOW_HEADERS,	/* 200, then headers one per 100 ms, no end */
	M_ERR_SLOW,	/* 500, then a slow body */
	M_FAKE_2XX,	/* 500 with a header line "HTTP/1.1 200 OK" */
	M_CONTINUE,	/* 100 Continue, then nothing */
};

static EVP_PKEY *key;
static X509 *cert;

static int
setup(void **state)
{
	X509_NAME *name;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (cert = X509_new()) == NULL)
		return -1;
	X509_set_version(cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"r.example", -1, -1, 0);
	X509_set_issuer_name(cert, name);
	X509_set_pubkey(cert, key);
	return X509_sign(cert, key, EVP_sha256()) > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

static void
put(SSL *s, const char *str)
{
	if (SSL_write(s, str, (int)strlen(str)) <= 0)
		_exit(0);		/* the client went away: done */
}

static void
drip(SSL *s, const char *str)
{
	int i;

	for (i = 0; i < 100; i++) {	/* 10 s at most */
		put(s, str);
		usleep(100000);
	}
}

/* The child: one connection, read the request, answer as told. */
static void
serve(int lfd, enum mode m)
{
	static char big[65536];
	char buf[4096];
	size_t got = 0;
	SSL_CTX *ctx;
	SSL *s;
	int fd, i, n;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    (fd = accept(lfd, NULL, NULL)) < 0 || (s = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(s, fd) != 1 || SSL_accept(s) != 1)
		_exit(1);
	/* Headers and the one-byte body ("x"): until "\r\n\r\nx". */
	while (got < sizeof(buf) - 1 && (n = SSL_read(s, buf + got,
	    (int)(sizeof(buf) - 1 - got))) > 0) {
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\nx") != NULL)
			break;
	}
	switch (m) {
	case M_OK:
		put(s, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
		break;
	case M_SLOW_BODY:
		put(s, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
		drip(s, "z");
		break;
	case M_BIG_BODY:
		put(s, "HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n");
		memset(big, 'z', sizeof(big));
		for (i = 0; i < 1024; i++)
			if (SSL_write(s, big, sizeof(big)) <= 0)
				_exit(0);
		break;
	case M_SLOW_HEADERS:
		put(s, "HTTP/1.1 200 OK\r\n");
		drip(s, "X-Slow: yes\r\n");
		break;
	case M_ERR_SLOW:
		put(s, "HTTP/1.1 500 Oops\r\nContent-Length: 1000\r\n\r\n");
		drip(s, "z");
		break;
	case M_FAKE_2XX:
		put(s, "HTTP/1.1 500 Oops\r\nHTTP/1.1 200 OK\r\n"
		    "Content-Length: 0\r\n\r\n");
		break;
	case M_CONTINUE:
		put(s, "HTTP/1.1 100 Continue\r\n\r\n");
		sleep(10);
		break;
	}
	SSL_shutdown(s);
	_exit(0);
}

struct done {
	int		 calls;
	int		 status;
	char		 why[512];
};

static void
on_post(int status, const char *body, size_t len, const char *why,
    void *arg)
{
	struct done *d = arg;

	(void)body;
	(void)len;
	d->calls++;
	d->status = status;
	snprintf(d->why, sizeof(d->why), "%s", why != NULL ? why : "");
}

/* POST one byte to a collector answering with m; the seconds it took. */
static double
post(enum mode m, struct done *d)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct mtasts_config cfg;
	struct event_base *base;
	struct timespec t0, t1;
	struct fetch *f;
	char err[128], url[64], *addrs[] = { "127.0.0.1" };
	pid_t pid;
	int lfd, st;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		serve(lfd, m);
	close(lfd);

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.ca_file, sizeof(cfg.ca_file), "/nonexistent");
	cfg.connect_timeout = 2;
	cfg.fetch_timeout = FETCH_TIMEOUT;
	assert_non_null(base = event_base_new());
	assert_int_equal(fetch_new(base, &cfg, &f, err, sizeof(err)),
	    MTASTS_OK);
	snprintf(url, sizeof(url), "https://r.example:%u/tlsrpt",
	    ntohs(sa.sin_port));
	memset(d, 0, sizeof(*d));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fetch_post(f, url, "r.example", ntohs(sa.sin_port),
	    addrs, 1, "x", 1, on_post, d), MTASTS_OK);
	while (d->calls == 0)
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fetch_free(f);
	event_base_free(base);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	assert_int_equal(d->calls, 1);
	return (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* 2xx: delivered, and well before the timeout (no body is waited for). */
static void
delivered(enum mode m)
{
	struct done d;
	double s = post(m, &d);

	print_message("# mode %d: %.2f s, status %d, why '%s'\n", m, s,
	    d.status, d.why);
	assert_int_equal(d.status, FETCH_OK);
	assert_true(s < FETCH_TIMEOUT - 1);
}

static void
refused(enum mode m, const char *why)
{
	struct done d;

	post(m, &d);
	print_message("# mode %d: status %d, why '%s'\n", m, d.status, d.why);
	assert_int_equal(d.status, FETCH_ERROR);
	if (why != NULL)
		assert_non_null(strstr(d.why, why));
}

static void
test_ok(void **state)
{
	(void)state;
	delivered(M_OK);
}

static void
test_slow_body(void **state)
{
	(void)state;
	delivered(M_SLOW_BODY);
}

static void
test_big_body(void **state)
{
	(void)state;
	delivered(M_BIG_BODY);
}

static void
test_slow_headers(void **state)
{
	(void)state;
	delivered(M_SLOW_HEADERS);
}

static void
test_error_slow(void **state)
{
	(void)state;
	refused(M_ERR_SLOW, NULL);
}

static void
test_fake_2xx(void **state)
{
	(void)state;
	refused(M_FAKE_2XX, NULL);
}

static void
test_continue(void **state)
{
	(void)state;
	refused(M_CONTINUE, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_slow_body),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_slow_headers),
		cmocka_unit_test(test_error_slow),
		cmocka_unit_test(test_fake_2xx),
		cmocka_unit_test(test_continue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
