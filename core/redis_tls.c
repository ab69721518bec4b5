/*
 * redis_tls.c - TLS to the fleet's store (rediss://, issue 16), through
 * hiredis' own SSL library (libhiredis_ssl, hiredis 1.x: Debian 13).
 *
 * hiredis' redisCreateSSLContext sends the server name but does not
 * check it against the certificate, so the SSL object is ours
 * (redisInitiateSSL takes it): the chain is verified (SSL_VERIFY_PEER)
 * against shared_ca_file, or the system's store when it is empty, and
 * the name (shared_tls_name, else the URL's host) is checked as a
 * DNS-ID or, for an address, an IP-ID (RFC 6125 §6, no partial
 * wildcards).  A handshake that fails is a store that is unusable: the
 * caller never falls back to plain TCP, and AUTH is sent only after it.
 *
 * The connection is made non-blocking before the handshake: a blocking
 * SSL_read waits for a whole record, so a server that drips one byte
 * at a time would stretch a command past its deadline (the socket's
 * SO_RCVTIMEO restarts with every byte).  hiredis' reads and writes then
 * return "nothing yet", and redis.c polls against one deadline.
 *
 * Built without MTASTS_REDIS_TLS (hiredis 0.14, Debian 12), rediss:// is
 * refused when the configuration is read (redis_url.c) and the calls
 * below only fail.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <hiredis.h>

#include "mtasts.h"
#include "redis.h"
#include "util.h"

#ifdef MTASTS_REDIS_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <hiredis_ssl.h>

struct redis_tls {
	SSL_CTX		*ctx;
	SSL		*ssl;		/* the connection's, owned by its
					 * redisContext; NULL none */
	int		 ip;		/* name is an address: IP-ID */
	char		 name[REDIS_HOST_MAX + 1]; /* to check */
};

int
redis_tls_new(const struct redis_url *u, const struct redis_tls_opts *opts,
    struct redis_tls **out, char *why, size_t whylen)
{
	const char *ca = opts != NULL && opts->ca_file != NULL ?
	    opts->ca_file : "";
	const char *name = opts != NULL && opts->name != NULL &&
	    opts->name[0] != '\0' ? opts->name : u->host;
	unsigned char a[sizeof(struct in6_addr)];
	struct redis_tls *t;

	*out = NULL;
	if ((t = util_calloc(1, sizeof(*t))) == NULL)
		return util_err(why, whylen, "out of memory"), -1;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->ip = inet_pton(AF_INET, t->name, a) == 1 ||
	    inet_pton(AF_INET6, t->name, a) == 1;
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		redis_tls_free(t);
		return util_err(why, whylen, "TLS: no context"), -1;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	if (ca[0] != '\0' ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL) !=
	    1 : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
		util_err(why, whylen, "TLS: cannot load the CA certificates "
		    "of %s", ca[0] != '\0' ? ca : "the system");
		ERR_clear_error();
		redis_tls_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void
redis_tls_free(struct redis_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	util_free(t);
}

/* What the peer is to be: RFC 6125 §6.4 (DNS-ID) or §6.2.1 (IP-ID). */
static int
redis_tls_expect(struct redis_tls *t, SSL *ssl)
{
	if (t->ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    t->name) == 1 ? 0 : -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, t->name) != 1 ||
	    SSL_set_tlsext_host_name(ssl, t->name) != 1)
		return -1;
	return 0;
}

/* Why the handshake failed, the certificate's verdict first. */
static void
redis_tls_why(SSL *ssl, int e, char *why, size_t whylen)
{
	unsigned long err = ERR_peek_last_error();
	long v = SSL_get_verify_result(ssl);

	if (v != X509_V_OK)
		util_err(why, whylen, "TLS: server certificate not verified: "
		    "%s", X509_verify_cert_error_string(v));
	else if (e == SSL_ERROR_SSL && err != 0)
		util_err(why, whylen, "TLS handshake: %s",
		    ERR_reason_error_string(err) != NULL ?
		    ERR_reason_error_string(err) : "failed");
	else
		util_err(why, whylen, "TLS handshake: connection closed");
	ERR_clear_error();
}

int
redis_tls_start(struct redis_tls *t, redisContext *c, int64_t deadline,
    char *why, size_t whylen)
{
	SSL *ssl;
	short ev;
	int fl, rc, e;

	t->ssl = NULL;
	if ((fl = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return util_err(why, whylen, "TLS: fcntl failed"), -1;
	c->flags &= ~REDIS_BLOCK;
	if ((ssl = SSL_new(t->ctx)) == NULL)
		return util_err(why, whylen, "TLS: out of memory"), -1;
	if (redis_tls_expect(t, ssl) != 0) {
		SSL_free(ssl);
		return util_err(why, whylen, "TLS: cannot check the name "
		    "%s", t->name), -1;
	}
	ERR_clear_error();
	if (redisInitiateSSL(c, ssl) != REDIS_OK) {
		/* Not taken: hiredis frees only what it owns. */
		redis_tls_why(ssl, SSL_ERROR_SYSCALL, why, whylen);
		SSL_free(ssl);
		return -1;
	}
	/* c owns ssl now: redisFree frees it. */
	for (;;) {
		ERR_clear_error();
		if ((rc = SSL_do_handshake(ssl)) == 1)
			break;
		e = SSL_get_error(ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			ev = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			ev = POLLOUT;
		else {
			redis_tls_why(ssl, e, why, whylen);
			return -1;
		}
		if (redis_wait(c->fd, ev, deadline) != 0)
			return util_err(why, whylen, "TLS handshake: no "
			    "answer in time"), -1;
	}
	t->ssl = ssl;
	return 0;
}

int
redis_tls_pending(struct redis_tls *t)
{
	return t != NULL && t->ssl != NULL && SSL_pending(t->ssl) > 0;
}

#else /* !MTASTS_REDIS_TLS */

int
redis_tls_new(const struct redis_url *u, const struct redis_tls_opts *opts,
    struct redis_tls **out, char *why, size_t whylen)
{
	(void)u;
	(void)opts;
	*out = NULL;
	return util_err(why, whylen, "TLS: not in this build (hiredis %d.%d "
	    "without libhiredis_ssl)", HIREDIS_MAJOR, HIREDIS_MINOR), -1;
}

void
redis_tls_free(struct redis_tls *t)
{
	(void)t;
}

int
redis_tls_start(struct redis_tls *t, redisContext *c, int64_t deadline,
    char *why, size_t whylen)
{
	(void)t;
	(void)c;
	(void)deadline;
	return util_err(why, whylen, "TLS: not in this build"), -1;
}

int
redis_tls_pending(struct redis_tls *t)
{
	(void)t;
	return 0;
}

#endif /* MTASTS_REDIS_TLS */
